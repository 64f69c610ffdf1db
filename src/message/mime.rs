//! Turning a [`Message`] into RFC 5322 / MIME bytes, produced as a stream.
//!
//! Headers, text parts and boundaries are small and rendered up front; attachments are read and
//! base64-encoded chunk by chunk while the connection takes them, so a 100 MB file costs a few
//! hundred kilobytes of memory, not the file plus its encoded copy. The exact size is known before
//! the first byte is sent (base64 of a known length has a known length), so servers that
//! advertise SIZE can refuse an oversized message before it is transferred.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::address::Mailbox;
use crate::error::{Error, Kind, Result};
use crate::message::builder::{Attachment, Message, Source, TextPart};
use crate::message::encoding::{self, Base64Lines, TransferEncoding};
use crate::message::header;

/// Input read per step of an attachment: a whole number of base64 lines (57 bytes each).
const READ_CHUNK: usize = 57 * 1024;

/// A message made ready for one server: the envelope, the byte stream and what it needs.
pub struct Prepared {
    /// MAIL FROM (empty for the null sender).
    pub envelope_from: String,
    /// RCPT TO, each recipient once, Bcc included.
    pub recipients: Vec<String>,
    /// The Message-ID header's value, with angle brackets.
    pub message_id: String,
    /// Exact size of the stream in bytes.
    pub size: u64,
    /// Whether headers carry raw UTF-8 (RFC 6532), which needs SMTPUTF8 and 8BITMIME.
    pub utf8: bool,
    /// Whether the body holds 8-bit bytes (a caller's MIME body), which needs 8BITMIME.
    pub eight_bit: bool,
    /// The message itself.
    pub stream: MessageStream,
}

enum Segment {
    Bytes(Vec<u8>),
    Base64(Arc<[u8]>),
    File { file: File, path: PathBuf, len: u64 },
}

impl Segment {
    fn size(&self) -> u64 {
        match self {
            Segment::Bytes(b) => b.len() as u64,
            Segment::Base64(b) => encoding::base64_encoded_len(b.len() as u64),
            Segment::File { len, .. } => encoding::base64_encoded_len(*len),
        }
    }
}

/// The message bytes, produced on demand. Reading it fails (and the send is abandoned without
/// the end-of-data mark, so the server discards it) if an attachment file changed size since it
/// was attached.
pub struct MessageStream {
    segments: VecDeque<Segment>,
    /// Progress in the segment at the front.
    read_so_far: u64,
    offset_in_bytes: usize,
    encoder: Option<Base64Lines>,
    input: Vec<u8>,
    output: Vec<u8>,
    output_pos: usize,
}

impl MessageStream {
    fn new(segments: Vec<Segment>) -> MessageStream {
        MessageStream {
            segments: segments.into(),
            read_so_far: 0,
            offset_in_bytes: 0,
            encoder: None,
            input: Vec::new(),
            output: Vec::new(),
            output_pos: 0,
        }
    }

    /// Make more output; false at the end of the message.
    fn refill(&mut self) -> io::Result<bool> {
        self.output.clear();
        self.output_pos = 0;
        loop {
            let Some(front) = self.segments.front_mut() else {
                return Ok(false);
            };
            match front {
                Segment::Bytes(bytes) => {
                    let bytes = std::mem::take(bytes);
                    self.segments.pop_front();
                    if bytes.is_empty() {
                        continue;
                    }
                    self.output = bytes;
                    return Ok(true);
                }
                Segment::Base64(data) => {
                    let start = self.offset_in_bytes;
                    let end = (start + READ_CHUNK).min(data.len());
                    let encoder = self.encoder.get_or_insert_with(Base64Lines::new);
                    encoder.encode(&data[start..end], &mut self.output);
                    self.offset_in_bytes = end;
                    if end == data.len() {
                        if let Some(encoder) = self.encoder.take() {
                            encoder.finish(&mut self.output);
                        }
                        self.offset_in_bytes = 0;
                        self.segments.pop_front();
                    }
                    if !self.output.is_empty() {
                        return Ok(true);
                    }
                }
                Segment::File { file, path, len } => {
                    let expected = *len;
                    let remaining = expected - self.read_so_far;
                    if self.input.len() != READ_CHUNK {
                        self.input = vec![0; READ_CHUNK];
                    }
                    let want = (remaining.min(READ_CHUNK as u64)) as usize;
                    let n = if want == 0 {
                        // At the expected end: the file must end here too.
                        let mut probe = [0u8; 1];
                        read_retrying(file, &mut probe)?
                    } else {
                        read_retrying(file, &mut self.input[..want])?
                    };
                    if want == 0 {
                        if n != 0 {
                            return Err(changed(path, expected, "grew"));
                        }
                        if let Some(encoder) = self.encoder.take() {
                            encoder.finish(&mut self.output);
                        }
                        self.read_so_far = 0;
                        self.segments.pop_front();
                        if !self.output.is_empty() {
                            return Ok(true);
                        }
                        continue;
                    }
                    if n == 0 {
                        return Err(changed(path, expected, "shrank"));
                    }
                    self.read_so_far += n as u64;
                    let encoder = self.encoder.get_or_insert_with(Base64Lines::new);
                    encoder.encode(&self.input[..n], &mut self.output);
                    if !self.output.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

impl MessageStream {
    /// The next piece of the message, borrowed from the stream's own buffer (no copy into a
    /// caller's buffer, unlike `read`); `None` at the end.
    pub(crate) fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        if self.output_pos == self.output.len() && !self.refill()? {
            return Ok(None);
        }
        let start = self.output_pos;
        self.output_pos = self.output.len();
        Ok(Some(&self.output[start..]))
    }
}

fn read_retrying(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// An attachment file that changed while it was being sent; the session reports it as an
/// attachment error rather than a network one.
#[derive(Debug)]
pub(crate) struct AttachmentChanged(String);

impl std::fmt::Display for AttachmentChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AttachmentChanged {}

fn changed(path: &std::path::Path, expected: u64, how: &str) -> io::Error {
    io::Error::other(AttachmentChanged(format!(
        "attachment {} {how} while it was being sent (it had {expected} bytes when attached)",
        path.display()
    )))
}

impl Read for MessageStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.output_pos == self.output.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.output.len() - self.output_pos);
        buf[..n].copy_from_slice(&self.output[self.output_pos..self.output_pos + n]);
        self.output_pos += n;
        Ok(n)
    }
}

/// A MIME entity before it is flattened into segments.
enum Node {
    Leaf {
        headers: String,
        content: Segment,
    },
    Multipart {
        subtype: &'static str,
        parts: Vec<Node>,
    },
}

struct Renderer {
    boundary_seed: String,
    boundaries: usize,
}

impl Renderer {
    fn boundary(&mut self) -> String {
        self.boundaries += 1;
        // "=_" cannot appear in quoted-printable or base64 output, so no part can contain it.
        format!("=_mailport_{}_{}", self.boundary_seed, self.boundaries)
    }

    fn flatten(&mut self, node: Node, top_headers: &str, out: &mut Vec<Segment>) {
        match node {
            Node::Leaf { headers, content } => {
                push_bytes(out, format!("{top_headers}{headers}\r\n").into_bytes());
                out.push(content);
            }
            Node::Multipart { subtype, parts } => {
                let boundary = self.boundary();
                let head = header::with_params(
                    "Content-Type",
                    &format!("multipart/{subtype}"),
                    &[("boundary", &boundary)],
                );
                push_bytes(out, format!("{top_headers}{head}\r\n").into_bytes());
                for part in parts {
                    push_bytes(out, format!("--{boundary}\r\n").into_bytes());
                    self.flatten(part, "", out);
                    // Every part ends in CRLF; this CRLF belongs to the next delimiter.
                    push_bytes(out, b"\r\n".to_vec());
                }
                push_bytes(out, format!("--{boundary}--\r\n").into_bytes());
            }
        }
    }

    fn text_leaf(&self, part: &TextPart, charset: crate::message::Charset) -> Result<Node> {
        let text = encoding::normalize_crlf(&part.text);
        let mut bytes = charset.encode(&text, "the body")?;
        if !bytes.ends_with(b"\r\n") {
            bytes.extend_from_slice(b"\r\n");
        }
        let chosen = encoding::choose_for_text(&bytes);
        let content = match chosen {
            TransferEncoding::SevenBit => Segment::Bytes(bytes),
            TransferEncoding::QuotedPrintable => {
                let mut out = Vec::with_capacity(bytes.len() * 11 / 10);
                encoding::quoted_printable(&bytes, &mut out);
                Segment::Bytes(out)
            }
            TransferEncoding::Base64 => Segment::Base64(bytes.into()),
        };
        let headers = header::with_params(
            "Content-Type",
            &part.media_type,
            &[("charset", charset.label())],
        ) + &format!("Content-Transfer-Encoding: {}\r\n", chosen.name());
        Ok(Node::Leaf { headers, content })
    }

    fn attachment_leaf(&self, attachment: &Attachment) -> Result<Node> {
        let disposition = if attachment.content_id.is_some() {
            "inline"
        } else {
            "attachment"
        };
        let mut headers = header::with_params(
            "Content-Type",
            &attachment.media_type,
            &[("name", &attachment.filename)],
        );
        headers += &header::with_params(
            "Content-Disposition",
            disposition,
            &[("filename", &attachment.filename)],
        );
        if let Some(cid) = &attachment.content_id {
            headers += &format!("Content-ID: <{cid}>\r\n");
        }
        headers += "Content-Transfer-Encoding: base64\r\n";
        let content = match &attachment.source {
            Source::Bytes(data) => Segment::Base64(data.clone()),
            Source::File { path, len } => {
                let file = File::open(path).map_err(|e| {
                    Error::new(
                        Kind::Attachment,
                        format!(
                            "attachment {}: cannot open it ({e}); nothing was sent",
                            path.display()
                        ),
                    )
                })?;
                Segment::File {
                    file,
                    path: path.clone(),
                    len: *len,
                }
            }
        };
        Ok(Node::Leaf { headers, content })
    }

    fn mime_body_leaf(&self, message: &Message) -> Option<Node> {
        message.mime_body.as_ref().map(|mime| {
            let eight_bit = !mime.body.is_ascii();
            let mut body = mime.body.clone();
            if !body.ends_with(b"\r\n") {
                body.extend_from_slice(b"\r\n");
            }
            let encoding = if eight_bit { "8bit" } else { "7bit" };
            Node::Leaf {
                headers: format!(
                    "Content-Type: {}\r\nContent-Transfer-Encoding: {encoding}\r\n",
                    mime.content_type
                ),
                content: Segment::Bytes(body),
            }
        })
    }

    /// text, HTML (with its inline parts in multipart/related), then attachments around them.
    fn body(&self, message: &Message) -> Result<Node> {
        let (inline, attached): (Vec<&Attachment>, Vec<&Attachment>) = message
            .attachments
            .iter()
            .partition(|a| a.content_id.is_some());
        let inline_nodes = inline
            .iter()
            .map(|a| self.attachment_leaf(a))
            .collect::<Result<Vec<_>>>()?;
        let with_inline = |node: Node, inline_nodes: Vec<Node>| {
            if inline_nodes.is_empty() {
                node
            } else {
                let mut parts = vec![node];
                parts.extend(inline_nodes);
                Node::Multipart {
                    subtype: "related",
                    parts,
                }
            }
        };
        let text = message
            .text
            .as_ref()
            .map(|t| self.text_leaf(t, message.charset))
            .transpose()?;
        let html = message
            .html
            .as_ref()
            .map(|h| self.text_leaf(h, message.charset))
            .transpose()?;
        let main = match (self.mime_body_leaf(message), text, html) {
            (Some(mime), _, _) => with_inline(mime, inline_nodes),
            (None, Some(text), Some(html)) => Node::Multipart {
                subtype: "alternative",
                parts: vec![text, with_inline(html, inline_nodes)],
            },
            (None, None, Some(html)) => with_inline(html, inline_nodes),
            (None, Some(text), None) => with_inline(text, inline_nodes),
            (None, None, None) => {
                let empty = TextPart {
                    media_type: "text/plain".into(),
                    text: String::new(),
                };
                with_inline(self.text_leaf(&empty, message.charset)?, inline_nodes)
            }
        };
        if attached.is_empty() {
            return Ok(main);
        }
        let mut parts = vec![main];
        for attachment in attached {
            parts.push(self.attachment_leaf(attachment)?);
        }
        Ok(Node::Multipart {
            subtype: "mixed",
            parts,
        })
    }
}

fn push_bytes(out: &mut Vec<Segment>, bytes: Vec<u8>) {
    if let Some(Segment::Bytes(last)) = out.last_mut() {
        last.extend_from_slice(&bytes);
    } else {
        out.push(Segment::Bytes(bytes));
    }
}

/// Fill `buf` from the same random source rustls uses for keys (Message-IDs, boundaries,
/// outbox entry ids).
pub(crate) fn random_bytes(buf: &mut [u8]) {
    // Building a provider allocates its whole list of algorithms: keep the one random source.
    static RANDOM: once_cell::sync::Lazy<&'static dyn rustls::crypto::SecureRandom> =
        once_cell::sync::Lazy::new(|| rustls::crypto::ring::default_provider().secure_random);
    if RANDOM.fill(buf).is_ok() {
        return;
    }
    // Uniqueness, not secrecy, is what matters here: time, a counter and the process still
    // give it.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = [
        t.to_le_bytes().as_slice(),
        &n.to_le_bytes(),
        &std::process::id().to_le_bytes(),
    ]
    .concat();
    for (i, b) in buf.iter_mut().enumerate() {
        *b = mixed[i % mixed.len()] ^ (i / mixed.len()) as u8;
    }
}

/// Random hex for Message-IDs and boundaries.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    random_bytes(&mut buf);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.iter()
        .flat_map(|b| {
            [
                HEX[usize::from(b >> 4)] as char,
                HEX[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}

impl Message {
    /// Whether the message can be sent at all (a From, a recipient, attachment files still
    /// there), without rendering it. Returns the From mailbox.
    pub fn check_sendable(&self) -> Result<&Mailbox> {
        let from = self
            .from
            .as_ref()
            .ok_or_else(|| Error::invalid_input("the message has no From address"))?;
        if self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty() {
            return Err(Error::invalid_input(
                "the message has no recipients (To, Cc or Bcc)",
            ));
        }
        for attachment in &self.attachments {
            if let Source::File { path, .. } = &attachment.source {
                std::fs::metadata(path).map_err(|e| {
                    Error::new(
                        Kind::Attachment,
                        format!(
                            "attachment {}: cannot read it ({e}); nothing was sent",
                            path.display()
                        ),
                    )
                })?;
            }
        }
        Ok(from)
    }

    /// Make the message ready for a server: `smtputf8` says whether the server offers SMTPUTF8.
    ///
    /// Without it, internationalised domains are converted to punycode and a non-ASCII local
    /// part is an error; with it, and only when some address needs it, headers are written in
    /// UTF-8 (RFC 6532). Attachment files are opened here, so a file that vanished since it was
    /// attached fails before anything is sent.
    pub fn prepare(&self, smtputf8: bool) -> Result<Prepared> {
        let from = self.check_sendable()?;
        let recipients = self.recipients();
        let all_addresses = || {
            std::iter::once(from)
                .chain(self.sender.iter())
                .chain(&self.reply_to)
                .chain(recipients.iter().copied())
                .chain(self.envelope_from.iter().flatten())
        };
        let utf8 = smtputf8 && all_addresses().any(Mailbox::needs_smtputf8);
        let address = |m: &Mailbox| {
            m.envelope(utf8)
                .map_err(|e| e.with_kind(Kind::InvalidAddress))
        };
        let envelope_from = match &self.envelope_from {
            Some(None) => String::new(),
            Some(Some(m)) => address(m)?,
            None => address(from)?,
        };
        let recipients = recipients
            .into_iter()
            .map(address)
            .collect::<Result<Vec<_>>>()?;
        let mut rendered = self.render_with(utf8).map_err(|e| match e.kind() {
            Kind::InvalidInput if e.message().contains("SMTPUTF8") => {
                e.with_kind(Kind::InvalidAddress)
            }
            _ => e,
        })?;
        rendered.recipients = recipients;
        rendered.envelope_from = envelope_from;
        Ok(rendered)
    }

    /// Render headers and small parts, open attachment files, and measure the whole: the
    /// bytes themselves come from the stream (see `render.rs` for the public entry points).
    pub(crate) fn render_with(&self, utf8: bool) -> Result<Prepared> {
        let from = self
            .from
            .as_ref()
            .ok_or_else(|| Error::invalid_input("the message has no From address"))?;
        let render_mailbox = |m: &Mailbox| -> Result<String> {
            Ok(header::mailbox(m.name(), &m.envelope(utf8)?, utf8))
        };
        let render_list =
            |list: &[Mailbox]| -> Result<Vec<String>> { list.iter().map(render_mailbox).collect() };
        let from_address = from.envelope(utf8)?;
        let message_id = match &self.message_id {
            Some(id) => id.clone(),
            None => {
                let domain = from_address
                    .rsplit_once('@')
                    .map_or("localhost", |(_, d)| d);
                format!("<{}@{domain}>", random_hex(16))
            }
        };

        let mut head = String::with_capacity(1024);
        head += &format!(
            "Date: {}\r\n",
            header::date(self.date.unwrap_or_else(SystemTime::now))
        );
        head += &header::address_list("From", &[render_mailbox(from)?]);
        if let Some(sender) = &self.sender {
            head += &header::address_list("Sender", &[render_mailbox(sender)?]);
        }
        if !self.reply_to.is_empty() {
            head += &header::address_list("Reply-To", &render_list(&self.reply_to)?);
        }
        if !self.to.is_empty() {
            head += &header::address_list("To", &render_list(&self.to)?);
        }
        if !self.cc.is_empty() {
            head += &header::address_list("Cc", &render_list(&self.cc)?);
        }
        if self.to.is_empty() && self.cc.is_empty() {
            // Only Bcc: say so rather than leave the header out, as mail clients do.
            head += "To: undisclosed-recipients:;\r\n";
        }
        if let Some(subject) = &self.subject {
            head += &header::unstructured("Subject", subject, utf8);
        }
        head += &format!("Message-ID: {message_id}\r\n");
        for (name, value) in &self.headers {
            head += &header::unstructured(name, value, utf8);
        }
        head += "MIME-Version: 1.0\r\n";

        let mut renderer = Renderer {
            boundary_seed: random_hex(12),
            boundaries: 0,
        };
        let body = renderer.body(self)?;
        let mut segments = Vec::new();
        renderer.flatten(body, &head, &mut segments);
        let size = segments.iter().map(Segment::size).sum();
        let eight_bit = self.mime_body.as_ref().is_some_and(|m| !m.body.is_ascii());
        Ok(Prepared {
            envelope_from: String::new(),
            recipients: Vec::new(),
            message_id,
            size,
            utf8,
            eight_bit: eight_bit || utf8,
            stream: MessageStream::new(segments),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> Message {
        let mut m = Message::new();
        m.set_from("a@example.com")
            .unwrap()
            .add_to("b@example.com")
            .unwrap();
        m
    }

    fn text_of(m: &Message) -> String {
        String::from_utf8(m.to_bytes().unwrap()).unwrap()
    }

    #[test]
    fn mailboxes_added_by_parts_need_no_quoting_and_bad_ones_name_their_field() {
        use crate::message::AddressField;
        let mut m = Message::new();
        m.set_from("a@example.com")
            .unwrap()
            .add_mailbox_parts(AddressField::To, Some("Doe, \"JD\" John"), "j@x.com")
            .unwrap()
            .add_mailbox_parts(AddressField::Cc, Some("Support"), "s@x.com")
            .unwrap()
            .add_mailbox_parts(AddressField::Bcc, None, "hidden@x.com")
            .unwrap()
            .add_mailbox_parts(AddressField::ReplyTo, Some("Help Desk"), "h@x.com")
            .unwrap();
        let text = text_of(&m);
        assert!(
            text.contains("To: \"Doe, \\\"JD\\\" John\" <j@x.com>\r\n"),
            "{text}"
        );
        assert!(text.contains("Cc: Support <s@x.com>\r\n"), "{text}");
        assert!(text.contains("Reply-To: Help Desk <h@x.com>\r\n"), "{text}");
        assert!(!text.contains("hidden"), "Bcc is in no header: {text}");
        let recipients: Vec<String> = m.recipients().iter().map(|r| r.to_string()).collect();
        assert_eq!(recipients.len(), 3, "{recipients:?}");

        let err = m
            .add_mailbox_parts(AddressField::Cc, Some("x"), "not an address")
            .unwrap_err();
        assert_eq!(err.kind(), crate::error::Kind::InvalidAddress);
        assert!(err.message().starts_with("Cc"), "{}", err.message());
        assert_eq!(err.invalid_addresses()[0].field, "Cc");
        let err = m
            .add_mailbox_parts(AddressField::To, Some("a\r\nBcc: x@y"), "j@x.com")
            .unwrap_err();
        assert_eq!(err.kind(), crate::error::Kind::InvalidAddress);
        assert_eq!(m.recipients().len(), 3, "a failed call adds nothing");
    }

    #[test]
    fn the_declared_size_is_exact_and_reads_of_any_size_give_the_same_bytes() {
        let dir = std::env::temp_dir().join(format!("mailport-mime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("data.bin");
        for len in [0usize, 1, 2, 3, 56, 57, 58, 200_000] {
            std::fs::write(&file, vec![0xA5u8; len]).unwrap();
            let mut m = basic();
            m.set_text("hello").unwrap();
            m.attach_file(&file, None, None).unwrap();
            m.attach_bytes("b.bin", None, vec![1u8; len]).unwrap();
            m.set_message_id("<fixed@example.com>").unwrap();
            let prepared = m.prepare(false).unwrap();
            let size = prepared.size;
            let mut whole = Vec::new();
            let mut stream = prepared.stream;
            stream.read_to_end(&mut whole).unwrap();
            assert_eq!(whole.len() as u64, size, "len {len}");
            // One byte at a time: the same structure (boundaries are random per render, so
            // compare lengths and the line discipline).
            let mut stream = m.prepare(false).unwrap().stream;
            let mut trickle = Vec::new();
            let mut byte = [0u8; 1];
            while stream.read(&mut byte).unwrap() == 1 {
                trickle.push(byte[0]);
            }
            assert_eq!(trickle.len(), whole.len());
            for line in whole.split(|&b| b == b'\n') {
                assert!(line.len() <= 999);
            }
            assert!(!whole.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_bcc_recipients_leave_no_trace_in_the_headers() {
        let mut m = Message::new();
        m.set_from("a@example.com")
            .unwrap()
            .add_bcc("hidden@example.com")
            .unwrap();
        let text = text_of(&m);
        assert!(text.contains("To: undisclosed-recipients:;\r\n"));
        assert!(!text.contains("hidden"));
        assert_eq!(m.prepare(false).unwrap().recipients, ["hidden@example.com"]);
    }

    #[test]
    fn header_order_and_an_empty_body() {
        let mut m = basic();
        m.set_subject("s").unwrap().add_header("X-A", "1").unwrap();
        let text = text_of(&m);
        let names: Vec<&str> = text
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .split("\r\n")
            .filter(|l| !l.starts_with(' '))
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Date",
                "From",
                "To",
                "Subject",
                "Message-ID",
                "X-A",
                "MIME-Version",
                "Content-Type",
                "Content-Transfer-Encoding"
            ]
        );
        assert!(
            text.ends_with("Content-Transfer-Encoding: 7bit\r\n\r\n\r\n"),
            "{text}"
        );
    }

    #[test]
    fn duplicate_recipients_are_sent_once() {
        let mut m = basic();
        m.add_cc("B@example.com")
            .unwrap()
            .add_bcc("b@example.com")
            .unwrap();
        assert_eq!(m.prepare(false).unwrap().recipients, ["b@example.com"]);
    }

    #[test]
    fn messages_without_from_or_recipients_are_refused_before_connecting() {
        let mut m = Message::new();
        assert!(m.check_sendable().unwrap_err().message().contains("From"));
        m.set_from("a@example.com").unwrap();
        assert!(
            m.check_sendable()
                .unwrap_err()
                .message()
                .contains("recipients")
        );
    }

    #[test]
    fn managed_headers_are_refused_with_the_setter_to_use() {
        let mut m = basic();
        let err = m.add_header("content-type", "text/html").unwrap_err();
        assert!(err.message().contains("set_html"), "{}", err.message());
        let err = m.add_header("Bcc", "x@example.com").unwrap_err();
        assert!(err.message().contains("add_bcc"), "{}", err.message());
    }

    #[test]
    fn a_bad_single_address_is_listed_with_its_field() {
        let err = Message::new().set_from("Bob <bob@>").unwrap_err();
        assert_eq!(err.kind(), Kind::InvalidAddress);
        let invalid = err.invalid_addresses();
        assert_eq!(invalid.len(), 1);
        assert_eq!(invalid[0].field, "From");
        assert_eq!(invalid[0].input, "Bob <bob@>");
        assert!(err.hint().contains("double quotes"));
    }

    #[test]
    fn message_ids_are_unique_and_on_the_from_domain() {
        let m = basic();
        let a = m.prepare(false).unwrap().message_id;
        let b = m.prepare(false).unwrap().message_id;
        assert_ne!(a, b);
        assert!(a.ends_with("@example.com>"));
    }
}
