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

/// A MIME entity before it is flattened into segments. Leaves borrow from the message: their
/// headers and content are written straight into the output when it is flattened.
enum Node<'m> {
    Leaf {
        headers: LeafHeaders<'m>,
        content: Content<'m>,
    },
    Multipart {
        /// `multipart/…`.
        media_type: &'static str,
        parts: Vec<Node<'m>>,
    },
}

/// What a leaf's header fields say.
enum LeafHeaders<'m> {
    Text {
        media_type: &'m str,
        charset: &'static str,
        encoding: TransferEncoding,
    },
    Attachment(&'m Attachment),
    /// A caller's MIME body under its own Content-Type.
    Mime {
        content_type: &'m str,
        eight_bit: bool,
    },
}

impl LeafHeaders<'_> {
    fn write(&self, out: &mut String) {
        match self {
            LeafHeaders::Text {
                media_type,
                charset,
                encoding,
            } => {
                header::write_with_params(out, "Content-Type", media_type, &[("charset", charset)]);
                out.push_str("Content-Transfer-Encoding: ");
                out.push_str(encoding.name());
                out.push_str("\r\n");
            }
            LeafHeaders::Attachment(attachment) => {
                let disposition = if attachment.content_id.is_some() {
                    "inline"
                } else {
                    "attachment"
                };
                header::write_with_params(
                    out,
                    "Content-Type",
                    &attachment.media_type,
                    &[("name", &attachment.filename)],
                );
                header::write_with_params(
                    out,
                    "Content-Disposition",
                    disposition,
                    &[("filename", &attachment.filename)],
                );
                if let Some(cid) = &attachment.content_id {
                    out.push_str("Content-ID: <");
                    out.push_str(cid);
                    out.push_str(">\r\n");
                }
                out.push_str("Content-Transfer-Encoding: base64\r\n");
            }
            LeafHeaders::Mime {
                content_type,
                eight_bit,
            } => {
                out.push_str("Content-Type: ");
                out.push_str(content_type);
                out.push_str("\r\nContent-Transfer-Encoding: ");
                out.push_str(if *eight_bit { "8bit" } else { "7bit" });
                out.push_str("\r\n");
            }
        }
    }
}

/// A leaf's content.
enum Content<'m> {
    /// A text body in its charset, CRLF-terminated, to be written in this transfer encoding.
    Text(Vec<u8>, TransferEncoding),
    /// A caller's MIME body, written as is (with a final CRLF when it lacks one).
    Mime(&'m [u8]),
    /// An attachment's base64.
    Segment(Segment),
}

/// The segments a message is made of, with the bytes at the end still growing: headers,
/// boundaries and text bodies are written straight into one buffer.
struct Output {
    segments: Vec<Segment>,
    bytes: Vec<u8>,
}

impl Output {
    fn push(&mut self, segment: Segment) {
        if !self.bytes.is_empty() {
            self.segments
                .push(Segment::Bytes(std::mem::take(&mut self.bytes)));
        }
        self.segments.push(segment);
    }

    fn finish(mut self) -> Vec<Segment> {
        if !self.bytes.is_empty() {
            self.segments.push(Segment::Bytes(self.bytes));
        }
        self.segments
    }
}

struct Renderer {
    /// Drawn with the first boundary: a message without multipart needs no randomness for it.
    boundary_seed: String,
    boundaries: usize,
    /// Where each leaf's header fields are written before they join the output.
    scratch: String,
}

impl Renderer {
    fn boundary(&mut self) -> String {
        if self.boundary_seed.is_empty() {
            self.boundary_seed = crate::random::hex(12);
        }
        self.boundaries += 1;
        // "=_" cannot appear in quoted-printable or base64 output, so no part can contain it.
        let mut boundary = String::with_capacity(48);
        boundary.push_str("=_mailport_");
        boundary.push_str(&self.boundary_seed);
        boundary.push('_');
        push_decimal(&mut boundary, self.boundaries);
        boundary
    }

    /// Write `node` (after the header fields already in `out`) and its content.
    fn flatten(&mut self, node: Node<'_>, out: &mut Output) {
        match node {
            Node::Leaf { headers, content } => {
                self.scratch.clear();
                headers.write(&mut self.scratch);
                self.scratch.push_str("\r\n");
                out.bytes.extend_from_slice(self.scratch.as_bytes());
                match content {
                    Content::Text(bytes, TransferEncoding::SevenBit) => {
                        out.bytes.extend_from_slice(&bytes);
                    }
                    Content::Text(bytes, TransferEncoding::QuotedPrintable) => {
                        encoding::quoted_printable(&bytes, &mut out.bytes);
                    }
                    Content::Text(bytes, TransferEncoding::Base64) => {
                        out.push(Segment::Base64(bytes.into()));
                    }
                    Content::Mime(body) => {
                        out.bytes.extend_from_slice(body);
                        if !body.ends_with(b"\r\n") {
                            out.bytes.extend_from_slice(b"\r\n");
                        }
                    }
                    Content::Segment(segment) => out.push(segment),
                }
            }
            Node::Multipart { media_type, parts } => {
                let boundary = self.boundary();
                self.scratch.clear();
                header::write_with_params(
                    &mut self.scratch,
                    "Content-Type",
                    media_type,
                    &[("boundary", &boundary)],
                );
                self.scratch.push_str("\r\n");
                out.bytes.extend_from_slice(self.scratch.as_bytes());
                for part in parts {
                    out.bytes.extend_from_slice(b"--");
                    out.bytes.extend_from_slice(boundary.as_bytes());
                    out.bytes.extend_from_slice(b"\r\n");
                    self.flatten(part, out);
                    // Every part ends in CRLF; this CRLF belongs to the next delimiter.
                    out.bytes.extend_from_slice(b"\r\n");
                }
                out.bytes.extend_from_slice(b"--");
                out.bytes.extend_from_slice(boundary.as_bytes());
                out.bytes.extend_from_slice(b"--\r\n");
            }
        }
    }

    fn text_leaf<'m>(
        &self,
        media_type: &'m str,
        text: &str,
        charset: crate::message::Charset,
    ) -> Result<Node<'m>> {
        let text = encoding::normalize_crlf(text);
        let mut bytes = charset.encode_owned(text, "the body")?;
        if !bytes.ends_with(b"\r\n") {
            bytes.extend_from_slice(b"\r\n");
        }
        let encoding = encoding::choose_for_text(&bytes);
        Ok(Node::Leaf {
            headers: LeafHeaders::Text {
                media_type,
                charset: charset.label(),
                encoding,
            },
            content: Content::Text(bytes, encoding),
        })
    }

    fn attachment_leaf<'m>(&self, attachment: &'m Attachment) -> Result<Node<'m>> {
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
        Ok(Node::Leaf {
            headers: LeafHeaders::Attachment(attachment),
            content: Content::Segment(content),
        })
    }

    fn mime_body_leaf<'m>(&self, message: &'m Message) -> Option<Node<'m>> {
        message.mime_body.as_ref().map(|mime| Node::Leaf {
            headers: LeafHeaders::Mime {
                content_type: &mime.content_type,
                eight_bit: !mime.body.is_ascii(),
            },
            content: Content::Mime(&mime.body),
        })
    }

    /// text, HTML (with its inline parts in multipart/related), then attachments around them.
    fn body<'m>(&self, message: &'m Message) -> Result<Node<'m>> {
        let (inline, attached): (Vec<&Attachment>, Vec<&Attachment>) = message
            .attachments
            .iter()
            .partition(|a| a.content_id.is_some());
        let inline_nodes = inline
            .iter()
            .map(|a| self.attachment_leaf(a))
            .collect::<Result<Vec<_>>>()?;
        let with_inline = |node: Node<'m>, inline_nodes: Vec<Node<'m>>| {
            if inline_nodes.is_empty() {
                node
            } else {
                let mut parts = vec![node];
                parts.extend(inline_nodes);
                Node::Multipart {
                    media_type: "multipart/related",
                    parts,
                }
            }
        };
        let text = message
            .text
            .as_ref()
            .map(|t| self.text_leaf(&t.media_type, &t.text, message.charset))
            .transpose()?;
        let html = message
            .html
            .as_ref()
            .map(|h| self.text_leaf(&h.media_type, &h.text, message.charset))
            .transpose()?;
        let main = match (self.mime_body_leaf(message), text, html) {
            (Some(mime), _, _) => with_inline(mime, inline_nodes),
            (None, Some(text), Some(html)) => Node::Multipart {
                media_type: "multipart/alternative",
                parts: vec![text, with_inline(html, inline_nodes)],
            },
            (None, None, Some(html)) => with_inline(html, inline_nodes),
            (None, Some(text), None) => with_inline(text, inline_nodes),
            (None, None, None) => with_inline(
                self.text_leaf("text/plain", "", message.charset)?,
                inline_nodes,
            ),
        };
        if attached.is_empty() {
            return Ok(main);
        }
        let mut parts = vec![main];
        for attachment in attached {
            parts.push(self.attachment_leaf(attachment)?);
        }
        Ok(Node::Multipart {
            media_type: "multipart/mixed",
            parts,
        })
    }

    /// A guess at the bytes the header fields and text bodies will take, to size the output once.
    fn estimate(message: &Message) -> usize {
        let text = |t: &Option<TextPart>| t.as_ref().map_or(0, |t| t.text.len() * 9 / 8 + 160);
        let addresses = message.to.len() + message.cc.len() + message.reply_to.len() + 2;
        512 + message.subject.as_ref().map_or(0, String::len)
            + message
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 4)
                .sum::<usize>()
            + 64 * addresses
            + text(&message.text)
            + text(&message.html)
            + message.mime_body.as_ref().map_or(0, |m| m.body.len() + 80)
            + 320 * message.attachments.len()
    }
}

/// `n` in decimal.
fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// A mailbox as an address list's item: `phrase <address>` or `address`, with the address in
/// its form for this server.
fn render_mailbox(m: &Mailbox, utf8: bool, out: &mut String) -> Result<()> {
    match m.name() {
        Some(name) if !name.is_empty() => {
            header::write_phrase(out, name, utf8);
            out.push_str(" <");
            m.push_envelope(out, utf8)?;
            out.push('>');
        }
        _ => m.push_envelope(out, utf8)?,
    }
    Ok(())
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
        // The From address first: its error is the first a bad message reports.
        let mut scratch = String::with_capacity(128);
        from.push_envelope(&mut scratch, utf8)?;
        let message_id = match &self.message_id {
            Some(id) => id.clone(),
            None => {
                let domain = scratch.rsplit_once('@').map_or("localhost", |(_, d)| d);
                let mut id = String::with_capacity(36 + domain.len());
                id.push('<');
                crate::random::push_hex(&mut id, 16);
                id.push('@');
                id.push_str(domain);
                id.push('>');
                id
            }
        };

        // Every header field is written into this one buffer, which then takes the body too.
        let mut head = String::with_capacity(Renderer::estimate(self));
        head.push_str("Date: ");
        header::write_date(&mut head, self.date.unwrap_or_else(SystemTime::now));
        head.push_str("\r\n");
        let mut list = |head: &mut String, name: &str, list: &[Mailbox]| {
            header::write_address_list(head, name, list, &mut scratch, |m, out| {
                render_mailbox(m, utf8, out)
            })
        };
        list(&mut head, "From", std::slice::from_ref(from))?;
        if let Some(sender) = &self.sender {
            list(&mut head, "Sender", std::slice::from_ref(sender))?;
        }
        if !self.reply_to.is_empty() {
            list(&mut head, "Reply-To", &self.reply_to)?;
        }
        if !self.to.is_empty() {
            list(&mut head, "To", &self.to)?;
        }
        if !self.cc.is_empty() {
            list(&mut head, "Cc", &self.cc)?;
        }
        if self.to.is_empty() && self.cc.is_empty() {
            // Only Bcc: say so rather than leave the header out, as mail clients do.
            head.push_str("To: undisclosed-recipients:;\r\n");
        }
        if let Some(subject) = &self.subject {
            header::write_unstructured(&mut head, "Subject", subject, utf8);
        }
        head.push_str("Message-ID: ");
        head.push_str(&message_id);
        head.push_str("\r\n");
        for (name, value) in &self.headers {
            header::write_unstructured(&mut head, name, value, utf8);
        }
        head.push_str("MIME-Version: 1.0\r\n");

        let mut renderer = Renderer {
            boundary_seed: String::new(),
            boundaries: 0,
            scratch,
        };
        let body = renderer.body(self)?;
        let mut output = Output {
            segments: Vec::new(),
            bytes: head.into_bytes(),
        };
        renderer.flatten(body, &mut output);
        let segments = output.finish();
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
    fn no_caller_written_media_type_or_content_type_makes_a_line_over_998_octets() {
        // Found by the mime fuzz target: a 1,150-character media type went out on one line.
        let longest = format!("application/{}", "x".repeat(127));
        let mut m = basic();
        m.attach_bytes("a.bin", Some(&longest), vec![1, 2, 3])
            .unwrap();
        m.set_text_as(&format!("text/{}", "x".repeat(127)), "hi")
            .unwrap();
        let text = text_of(&m);
        assert!(text.split("\r\n").all(|l| l.len() <= 998), "{text}");
        let too_long = format!("application/{}", "x".repeat(128));
        let err = m
            .attach_bytes("b.bin", Some(&too_long), vec![1])
            .unwrap_err();
        assert!(err.message().contains("RFC 6838"), "{err}");
        assert!(
            m.set_text_as(&format!("text/{}", "x".repeat(128)), "hi")
                .is_err()
        );

        // A caller-written Content-Type goes out as given: it must fit its line.
        let fits = format!("multipart/mixed; boundary=b1; x={}", "y".repeat(984 - 32));
        assert_eq!(fits.len(), 984);
        let body = b"--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n";
        let mut m = basic();
        m.set_mime_body(&fits, body).unwrap();
        let text = text_of(&m);
        assert!(text.split("\r\n").all(|l| l.len() <= 998), "{text}");
        let over = format!("{fits}y");
        let err = m.set_mime_body(&over, body).unwrap_err();
        assert!(err.message().contains("985 octets long"), "{err}");
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
    fn recipients_are_the_same_few_or_many_ascii_or_not() {
        // The reference: each address once, compared lower-cased.
        fn reference(m: &Message) -> Vec<String> {
            let mut seen = std::collections::HashSet::new();
            m.to.iter()
                .chain(&m.cc)
                .chain(&m.bcc)
                .map(|m| m.address())
                .filter(|a| seen.insert(a.to_lowercase()))
                .collect()
        }
        for count in [1usize, 3, 8, 16, 17, 40] {
            for unicode in [false, true] {
                let mut m = basic();
                for i in 0..count {
                    let local = if unicode && i == 2 { "jürgen" } else { "user" };
                    m.add_cc(&format!("{local}{}@Example.com", i % 5)).unwrap();
                    m.add_bcc(&format!("{}{}@EXAMPLE.COM", local.to_uppercase(), i % 7))
                        .unwrap();
                }
                let got: Vec<String> = m.recipients().iter().map(|r| r.address()).collect();
                assert_eq!(got, reference(&m), "{count} {unicode}");
            }
        }
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
