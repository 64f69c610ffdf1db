//! The MIME renderer fed arbitrary message descriptions (addresses, subject, text and HTML
//! bodies, extra headers, attachments and inline parts, a caller-built MIME body, a charset),
//! built through the public builder. Properties: whatever the setters accept renders (a bad
//! value fails at its setter, never at send time); the message is CRLF only with no line over
//! 998 octets; after DATA encoding the end-of-data line occurs only at the end; and an
//! independent parser (mail-parser) reads back the subject, the bodies and every attachment's
//! bytes.

use std::io::Read;

use arbitrary::{Arbitrary, Unstructured};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailport::message::{Charset, Message};
use mailport::smtp::data::DataEncoder;

use super::wire::{assert_crlf_only, assert_decodes_to, assert_line_lengths, header_field, shown};

/// Media types for attachments: binary ones, whose bytes must come back exactly, and text
/// ones, which a parser decodes by their charset (only checked to render).
const MEDIA_TYPES: [&str; 6] = [
    "application/octet-stream",
    "image/png",
    "application/pdf",
    "text/plain",
    "text/calendar",
    "message/rfc822",
];

#[derive(Arbitrary, Debug)]
struct Description {
    from_name: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    headers: Vec<(String, String)>,
    attachments: Vec<Part>,
    mime_body: Option<(String, Vec<u8>)>,
    charset: u8,
}

#[derive(Arbitrary, Debug)]
struct Part {
    filename: String,
    media_type: u8,
    custom_type: String,
    content_id: Option<String>,
    data: Vec<u8>,
}

/// An attachment the builder accepted, to be found again in the parsed message.
struct Expected {
    data: Vec<u8>,
    binary: bool,
}

pub fn check(data: &[u8]) {
    let Ok(d) = Description::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut m = Message::new();
    if m.set_from_parts(d.from_name.as_deref(), "sender@example.com")
        .is_err()
    {
        m.set_from("sender@example.com").expect("a plain From");
    }
    for list in &d.to {
        let _ = m.add_to(list);
    }
    for list in &d.cc {
        let _ = m.add_cc(list);
    }
    if m.recipients().is_empty() {
        m.add_to("rcpt@example.com").expect("a plain To");
    }
    m.set_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000));
    let subject = d.subject.filter(|s| m.set_subject(s).is_ok());
    let mut headers = 0;
    for (name, value) in &d.headers {
        headers += usize::from(m.add_header(name, value).is_ok());
    }
    let text = d.text.filter(|t| m.set_text(t).is_ok());
    let html = d.html.filter(|h| m.set_html(h).is_ok());
    let mime_body = d
        .mime_body
        .filter(|(ctype, body)| m.set_mime_body(ctype, body).is_ok());
    let mut expected = Vec::new();
    for part in d.attachments.iter().take(8) {
        let media_type = match MEDIA_TYPES.get(usize::from(part.media_type)) {
            Some(t) => Some(*t),
            None if part.media_type == 255 => None,
            None => Some(part.custom_type.as_str()),
        };
        let added = match &part.content_id {
            Some(cid) => m.embed_bytes(cid, &part.filename, media_type, part.data.clone()),
            None => m.attach_bytes(&part.filename, media_type, part.data.clone()),
        };
        if added.is_ok() {
            let binary = media_type.is_some_and(|t| MEDIA_TYPES[..3].contains(&t));
            expected.push(Expected {
                data: part.data.clone(),
                binary,
            });
        }
    }
    let charset = [Charset::Utf8, Charset::UsAscii, Charset::Latin1][usize::from(d.charset % 3)];
    let latin1 = m.set_charset(charset).is_ok() && charset == Charset::Latin1;

    // Every value was checked by its setter: rendering cannot fail now. An address with a
    // non-ASCII local part has no form without SMTPUTF8 (to_bytes' documented error): such a
    // message is rendered as for a server that offers it, with UTF-8 headers.
    let needs_utf8 = m
        .to()
        .iter()
        .chain(m.cc())
        .chain(m.bcc())
        .chain(m.reply_to())
        .chain(m.from())
        .any(|mb| mb.needs_smtputf8());
    let (bytes, utf8) = if needs_utf8 {
        let mut prepared = m
            .prepare(true)
            .unwrap_or_else(|e| panic!("the builder took the message but it does not render: {e}"));
        let mut bytes = Vec::new();
        prepared
            .stream
            .read_to_end(&mut bytes)
            .expect("an in-memory message reads");
        (bytes, prepared.utf8)
    } else {
        let bytes = m
            .to_bytes()
            .unwrap_or_else(|e| panic!("the builder took the message but it does not render: {e}"));
        (bytes, false)
    };
    assert_crlf_only(&bytes, "message");
    assert_line_lengths(&bytes, "message");
    assert!(
        bytes.is_ascii() || utf8 || mime_body.as_ref().is_some_and(|(_, b)| !b.is_ascii()),
        "8-bit bytes in a message without SMTPUTF8 or an 8-bit MIME body"
    );
    check_dot_safe(&bytes);

    let parsed = MessageParser::default()
        .parse(&bytes)
        .unwrap_or_else(|| panic!("mail-parser reads no message from {}", lossy(&bytes)));
    if let Some(subject) = &subject {
        let decoded = parsed.subject().unwrap_or_default();
        let field = header_field(&bytes, "Subject").expect("a Subject field");
        assert_decodes_to(decoded, subject, &field);
    }
    if mime_body.is_some() {
        // The caller's own MIME: what it holds is the caller's business.
        return;
    }
    let leaves: Vec<_> = parsed
        .parts
        .iter()
        .filter(|p| !matches!(p.body, PartType::Multipart(_)))
        .collect();
    let texts: Vec<String> = leaves
        .iter()
        .filter_map(|p| match &p.body {
            PartType::Text(t) | PartType::Html(t) if p.attachment_name().is_none() => {
                Some(unify_line_ends(t))
            }
            _ => None,
        })
        .collect();
    for body in text.iter().chain(&html) {
        // mail-parser reads ISO-8859-1 as windows-1252, as the WHATWG encoding standard (and so
        // browsers and mail clients) do: the C1 controls U+0080..U+009F come back as other
        // characters. What the message carries is right; the reader differs.
        if latin1 && body.contains(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
            continue;
        }
        let body = unify_line_ends(body);
        assert!(
            texts
                .iter()
                .any(|t| t == &body || t.trim_end_matches('\n') == body.trim_end_matches('\n')),
            "body {} not among the parsed bodies {texts:?}",
            shown(&body)
        );
    }
    let mut found: Vec<&[u8]> = leaves
        .iter()
        .filter(|p| p.attachment_name().is_some() || p.content_id().is_some())
        .map(|p| p.contents())
        .collect();
    assert!(
        found.len() >= expected.len(),
        "{} attachments made, {} parsed back, headers {headers}",
        expected.len(),
        found.len()
    );
    for e in expected.iter().filter(|e| e.binary) {
        let at = found
            .iter()
            .position(|f| *f == e.data.as_slice())
            .unwrap_or_else(|| panic!("attachment of {} bytes not parsed back", e.data.len()));
        found.remove(at);
    }
}

/// After DATA's dot-stuffing, `CRLF . CRLF` appears once: at the end.
fn check_dot_safe(bytes: &[u8]) {
    let mut wire = Vec::new();
    let mut encoder = DataEncoder::new();
    encoder.encode(bytes, &mut wire);
    encoder.finish(&mut wire);
    assert_crlf_only(&wire, "DATA");
    let end = wire
        .windows(5)
        .position(|w| w == b"\r\n.\r\n")
        .expect("an end of data");
    assert_eq!(end + 5, wire.len(), "end of data inside the message");
    assert!(!wire.starts_with(b".\r\n"), "a message that is only a dot");
}

fn unify_line_ends(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn lossy(bytes: &[u8]) -> String {
    shown(&String::from_utf8_lossy(bytes))
}
