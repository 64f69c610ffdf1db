//! The message a caller composes: addresses, subject, bodies, attachments, extra headers.
//!
//! Every setter checks its value when it is set, so a bad address or a header with a line break
//! fails at the call that brought it, naming the field, not later at send time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::address::{Mailbox, parse_mailbox_list};
use crate::error::hint::ADDRESS_HINT;
use crate::error::{Error, InvalidAddress, Kind, Result};
use crate::message::{content_type, header};

/// Headers that mailport writes itself from the message's fields; setting them as custom headers
/// would duplicate or contradict them.
const MANAGED: &[(&str, &str)] = &[
    ("from", "set_from"),
    ("sender", "set_sender"),
    ("reply-to", "add_reply_to"),
    ("to", "add_to"),
    ("cc", "add_cc"),
    ("bcc", "add_bcc"),
    ("subject", "set_subject"),
    ("date", "set_date"),
    ("message-id", "set_message_id"),
    ("mime-version", "nothing: it is always 1.0"),
    ("content-type", "set_text, set_html or set_mime_body"),
    (
        "content-transfer-encoding",
        "nothing: it is chosen from the content",
    ),
    ("content-disposition", "attach_file or attach_bytes"),
    ("return-path", "set_envelope_from"),
];

/// The character set text bodies are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    #[default]
    Utf8,
    UsAscii,
    Latin1,
}

impl Charset {
    /// Parse a charset label as it appears in a Content-Type header (case-insensitive aliases).
    pub fn parse(label: &str) -> Result<Charset> {
        match label.trim().trim_matches('"').to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            "us-ascii" | "ascii" => Ok(Charset::UsAscii),
            "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" => Ok(Charset::Latin1),
            _ => Err(Error::invalid_input(format!(
                "charset {label:?} is not supported; use UTF-8 (or US-ASCII, ISO-8859-1)"
            ))),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::UsAscii => "us-ascii",
            Charset::Latin1 => "iso-8859-1",
        }
    }

    /// [`Charset::encode`] of a text the caller no longer needs: UTF-8 takes its bytes as they
    /// are, without a copy.
    pub(crate) fn encode_owned(self, text: String, field: &str) -> Result<Vec<u8>> {
        match self {
            Charset::Utf8 => Ok(text.into_bytes()),
            _ => self.encode(&text, field),
        }
    }

    /// Whether every character of `text` fits this charset; the error names the first that
    /// does not (as [`Charset::encode`]'s), without making the encoded copy.
    pub(crate) fn check(self, text: &str, field: &str) -> Result<()> {
        let limit = match self {
            Charset::Utf8 => return Ok(()),
            Charset::UsAscii => 0x7f,
            Charset::Latin1 => 0xff,
        };
        match text.chars().find(|&c| u32::from(c) > limit) {
            None => Ok(()),
            Some(c) => Err(self.unencodable(c, field)),
        }
    }

    fn unencodable(self, c: char, field: &str) -> Error {
        Error::invalid_input(format!(
            "{field} contains {c:?}, which charset {} cannot hold; use UTF-8",
            self.label()
        ))
    }

    /// The text in this charset, or an error naming the first character it cannot hold.
    pub(crate) fn encode(self, text: &str, field: &str) -> Result<Vec<u8>> {
        let limit = match self {
            Charset::Utf8 => return Ok(text.as_bytes().to_vec()),
            Charset::UsAscii => 0x7f,
            Charset::Latin1 => 0xff,
        };
        text.chars()
            .map(|c| {
                u8::try_from(u32::from(c))
                    .ok()
                    .filter(|&b| u32::from(b) <= limit)
                    .ok_or_else(|| self.unencodable(c, field))
            })
            .collect()
    }
}

/// A text body part: `text/plain`, `text/html` or another `text/*` type.
#[derive(Debug, Clone)]
pub(crate) struct TextPart {
    pub media_type: String,
    pub text: String,
}

/// A body the caller built as MIME already (WordPress's multipart Content-Type with a boundary).
#[derive(Debug, Clone)]
pub(crate) struct MimeBody {
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Where an attachment's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Bytes(Arc<[u8]>),
    /// Read (and encoded) in chunks while sending; `len` is the size seen when it was attached.
    File {
        path: PathBuf,
        len: u64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub filename: String,
    pub media_type: String,
    /// Set for inline parts referenced from HTML as `cid:…`.
    pub content_id: Option<String>,
    pub source: Source,
}

/// An email message. Build it with the setters, then hand it to
/// [`Client::send_message`](crate::Client::send_message); it can be sent any number of times.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub(crate) from: Option<Mailbox>,
    pub(crate) sender: Option<Mailbox>,
    pub(crate) reply_to: Vec<Mailbox>,
    pub(crate) to: Vec<Mailbox>,
    pub(crate) cc: Vec<Mailbox>,
    pub(crate) bcc: Vec<Mailbox>,
    /// `Some(None)` is the null reverse path `<>`.
    pub(crate) envelope_from: Option<Option<Mailbox>>,
    pub(crate) subject: Option<String>,
    pub(crate) date: Option<SystemTime>,
    pub(crate) message_id: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) text: Option<TextPart>,
    pub(crate) html: Option<TextPart>,
    pub(crate) mime_body: Option<MimeBody>,
    pub(crate) charset: Charset,
    pub(crate) attachments: Vec<Attachment>,
}

/// An address error that names `field` and lists `input` as the invalid address.
fn invalid_address(mut e: Error, field: &str, input: &str) -> Error {
    let invalid = InvalidAddress {
        field: field.to_string(),
        input: input.trim().to_string(),
        reason: e.message(),
    };
    e.prefix_message(field);
    e.set_hint(ADDRESS_HINT.to_string());
    e.with_kind(Kind::InvalidAddress)
        .with_invalid_addresses(vec![invalid])
}

fn one_mailbox(value: &str, field: &str) -> Result<Mailbox> {
    Mailbox::parse(value).map_err(|e| invalid_address(e, field, value))
}

/// A mailbox from a display name and a bare address; a bad one fails naming `field`.
fn mailbox_from_parts(name: Option<&str>, address: &str, field: &str) -> Result<Mailbox> {
    Mailbox::new(name, address).map_err(|e| invalid_address(e, field, address))
}

/// The headers that hold a list of mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressField {
    To,
    Cc,
    /// Recipients that appear in no header.
    Bcc,
    ReplyTo,
}

impl AddressField {
    pub fn header_name(self) -> &'static str {
        match self {
            AddressField::To => "To",
            AddressField::Cc => "Cc",
            AddressField::Bcc => "Bcc",
            AddressField::ReplyTo => "Reply-To",
        }
    }
}

/// Every mailbox of a comma-separated list; a bad entry fails the whole call, naming it.
fn mailbox_list(value: &str, field: &str) -> Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut invalid = Vec::new();
    for (text, parsed) in parse_mailbox_list(value) {
        match parsed {
            Ok(m) => out.push(m),
            Err(e) => {
                bad.push(format!("{text:?} ({})", e.message()));
                invalid.push(InvalidAddress {
                    field: field.to_string(),
                    input: text,
                    reason: e.message(),
                });
            }
        }
    }
    if !bad.is_empty() {
        let mut error = Error::new(
            Kind::InvalidAddress,
            format!("{field}: invalid address: {}", bad.join("; ")),
        )
        .with_invalid_addresses(invalid);
        error.set_hint(ADDRESS_HINT.to_string());
        return Err(error);
    }
    if out.is_empty() {
        return Err(Error::invalid_input(format!("{field}: no address given")));
    }
    Ok(out)
}

impl Message {
    pub fn new() -> Message {
        Message::default()
    }

    /// The author: `a@b`, `Name <a@b>` or `"Last, First" <a@b>`.
    pub fn set_from(&mut self, mailbox: &str) -> Result<&mut Self> {
        self.from = Some(one_mailbox(mailbox, "From")?);
        Ok(self)
    }

    /// The author as a display name and a bare address (the name may contain anything printable).
    pub fn set_from_parts(&mut self, name: Option<&str>, address: &str) -> Result<&mut Self> {
        self.from = Some(mailbox_from_parts(name, address, "From")?);
        Ok(self)
    }

    /// Add one mailbox to To, Cc, Bcc or Reply-To from a display name and a bare address, with
    /// no quoting to get right: the name may contain commas, quotes, '@' or any Unicode.
    pub fn add_mailbox_parts(
        &mut self,
        field: AddressField,
        name: Option<&str>,
        address: &str,
    ) -> Result<&mut Self> {
        let mailbox = mailbox_from_parts(name, address, field.header_name())?;
        match field {
            AddressField::To => self.to.push(mailbox),
            AddressField::Cc => self.cc.push(mailbox),
            AddressField::Bcc => self.bcc.push(mailbox),
            AddressField::ReplyTo => self.reply_to.push(mailbox),
        }
        Ok(self)
    }

    /// The Sender header: who actually sent the message on the author's behalf.
    pub fn set_sender(&mut self, mailbox: &str) -> Result<&mut Self> {
        self.sender = Some(one_mailbox(mailbox, "Sender")?);
        Ok(self)
    }

    /// Add one or more (comma-separated) Reply-To addresses.
    pub fn add_reply_to(&mut self, mailboxes: &str) -> Result<&mut Self> {
        self.reply_to.extend(mailbox_list(mailboxes, "Reply-To")?);
        Ok(self)
    }

    /// Add one or more (comma-separated) To recipients.
    pub fn add_to(&mut self, mailboxes: &str) -> Result<&mut Self> {
        self.to.extend(mailbox_list(mailboxes, "To")?);
        Ok(self)
    }

    /// Add one or more (comma-separated) Cc recipients.
    pub fn add_cc(&mut self, mailboxes: &str) -> Result<&mut Self> {
        self.cc.extend(mailbox_list(mailboxes, "Cc")?);
        Ok(self)
    }

    /// Add one or more (comma-separated) Bcc recipients: they receive the message but appear in
    /// no header.
    pub fn add_bcc(&mut self, mailboxes: &str) -> Result<&mut Self> {
        self.bcc.extend(mailbox_list(mailboxes, "Bcc")?);
        Ok(self)
    }

    /// The envelope sender (MAIL FROM, which becomes Return-Path and receives bounces) when it
    /// should differ from From. An empty string is the null sender `<>`.
    pub fn set_envelope_from(&mut self, address: &str) -> Result<&mut Self> {
        self.envelope_from = Some(if address.trim().is_empty() {
            None
        } else {
            Some(one_mailbox(address, "envelope sender")?)
        });
        Ok(self)
    }

    pub fn set_subject(&mut self, subject: &str) -> Result<&mut Self> {
        header::check_value(subject, "Subject")?;
        self.subject = Some(subject.to_string());
        Ok(self)
    }

    /// The Date header; the time of sending when not set.
    pub fn set_date(&mut self, date: SystemTime) -> &mut Self {
        self.date = Some(date);
        self
    }

    /// A Message-ID of your own (`<id@domain>`, brackets optional); one is generated when not set.
    pub fn set_message_id(&mut self, id: &str) -> Result<&mut Self> {
        header::check_value(id, "Message-ID")?;
        let inner = id.trim();
        let inner = inner
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(inner);
        let valid = inner.split_once('@').is_some_and(|(l, r)| {
            !l.is_empty()
                && !r.is_empty()
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"<>\"\\ ,;".contains(&b))
        });
        if !valid {
            return Err(Error::invalid_input(format!(
                "Message-ID {id:?} must look like <unique-part@domain> (ASCII, no spaces)"
            )));
        }
        self.message_id = Some(format!("<{inner}>"));
        Ok(self)
    }

    /// Add a header of your own (`X-Campaign`, `List-Unsubscribe`, …). Headers mailport writes
    /// itself (From, To, Subject, Content-Type, …) are refused, naming the setter to use.
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<&mut Self> {
        header::check_name(name)?;
        header::check_value(value, &format!("header {name}"))?;
        let lower = name.to_ascii_lowercase();
        if let Some((_, instead)) = MANAGED.iter().find(|(n, _)| *n == lower) {
            return Err(Error::invalid_input(format!(
                "header {name} is written by mailport; use {instead}"
            )));
        }
        self.headers.push((name.to_string(), value.to_string()));
        Ok(self)
    }

    /// Remove every custom header of this name (case-insensitive); returns how many were removed.
    pub fn remove_header(&mut self, name: &str) -> usize {
        let before = self.headers.len();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before - self.headers.len()
    }

    /// The plain-text body. With an HTML body too, both go out as `multipart/alternative`.
    pub fn set_text(&mut self, text: &str) -> Result<&mut Self> {
        self.set_text_as("text/plain", text)
    }

    /// A text body of another `text/*` type (`text/calendar`, `text/markdown`, …).
    pub fn set_text_as(&mut self, media_type: &str, text: &str) -> Result<&mut Self> {
        content_type::check(media_type)?;
        let lower = media_type.to_ascii_lowercase();
        if !lower.starts_with("text/") {
            return Err(Error::invalid_input(format!(
                "body type {media_type:?} is not text/*; attach other content instead"
            )));
        }
        self.charset.check(text, "the text body")?;
        self.text = Some(TextPart {
            media_type: lower,
            text: text.to_string(),
        });
        self.mime_body = None;
        Ok(self)
    }

    /// The HTML body. Images it references as `cid:name` are added with [`Message::embed_file`].
    pub fn set_html(&mut self, html: &str) -> Result<&mut Self> {
        self.charset.check(html, "the HTML body")?;
        self.html = Some(TextPart {
            media_type: "text/html".to_string(),
            text: html.to_string(),
        });
        self.mime_body = None;
        Ok(self)
    }

    /// A body already in MIME form, sent as is under `content_type` (for example
    /// `multipart/alternative; boundary="b1"` with the parts written by the caller). It replaces
    /// the text and HTML bodies. Lines must be at most 998 octets; 8-bit bytes need a server
    /// with 8BITMIME.
    pub fn set_mime_body(&mut self, content_type: &str, body: &[u8]) -> Result<&mut Self> {
        header::check_value(content_type, "Content-Type")?;
        let at = content_type.find(';').unwrap_or(content_type.len());
        let (media_type, params) = content_type.split_at(at);
        let media_type = media_type.trim();
        content_type::check(media_type)?;
        content_type::check_parameters(content_type, params)?;
        if content_type.trim().len() > content_type::MAX_FIELD {
            return Err(Error::invalid_input(format!(
                "Content-Type is {} octets long; it is sent as given, on one header line, which \
                 holds at most {} after the field's name",
                content_type.trim().len(),
                content_type::MAX_FIELD
            )));
        }
        if media_type.to_ascii_lowercase().starts_with("multipart/")
            && !content_type.to_ascii_lowercase().contains("boundary=")
        {
            return Err(Error::invalid_input(format!(
                "Content-Type {content_type:?} is multipart but names no boundary"
            )));
        }
        if body.contains(&0) {
            return Err(Error::invalid_input(
                "the MIME body contains a NUL byte, which SMTP cannot carry",
            ));
        }
        let text = std::str::from_utf8(body).map_err(|_| {
            Error::invalid_input("the MIME body is not UTF-8 text; encode binary parts as base64")
        })?;
        let crlf = crate::message::encoding::normalize_crlf(text);
        if let Some(n) = crlf.split("\r\n").position(|l| l.len() > 998) {
            return Err(Error::invalid_input(format!(
                "line {} of the MIME body is longer than 998 octets, which SMTP forbids",
                n + 1
            )));
        }
        self.mime_body = Some(MimeBody {
            content_type: content_type.trim().to_string(),
            body: crlf.into_bytes(),
        });
        self.text = None;
        self.html = None;
        Ok(self)
    }

    /// The charset text bodies are sent in (UTF-8 unless set).
    pub fn set_charset(&mut self, charset: Charset) -> Result<&mut Self> {
        for part in self.text.iter().chain(self.html.iter()) {
            charset.check(&part.text, "the body")?;
        }
        self.charset = charset;
        Ok(self)
    }

    /// Attach a file. It is read and encoded while the message is sent, never held in memory,
    /// so its size does not matter. `filename` defaults to the file's own name and
    /// `media_type` to a guess from the name's extension. A missing or unreadable file fails
    /// here, naming the path.
    pub fn attach_file(
        &mut self,
        path: impl AsRef<Path>,
        filename: Option<&str>,
        media_type: Option<&str>,
    ) -> Result<&mut Self> {
        let attachment = file_attachment(path.as_ref(), filename, media_type, None)?;
        self.attachments.push(attachment);
        Ok(self)
    }

    /// Attach bytes held in memory under `filename`.
    pub fn attach_bytes(
        &mut self,
        filename: &str,
        media_type: Option<&str>,
        data: impl Into<Arc<[u8]>>,
    ) -> Result<&mut Self> {
        let attachment = Attachment {
            filename: check_filename(filename)?,
            media_type: media_type_for(filename, media_type)?,
            content_id: None,
            source: Source::Bytes(data.into()),
        };
        self.attachments.push(attachment);
        Ok(self)
    }

    /// Add an inline file (usually an image) that the HTML body shows as `<img src="cid:ID">`.
    pub fn embed_file(
        &mut self,
        content_id: &str,
        path: impl AsRef<Path>,
        media_type: Option<&str>,
    ) -> Result<&mut Self> {
        let cid = check_content_id(content_id)?;
        let attachment = file_attachment(path.as_ref(), None, media_type, Some(cid))?;
        self.attachments.push(attachment);
        Ok(self)
    }

    /// Add inline bytes that the HTML body shows as `<img src="cid:ID">`.
    pub fn embed_bytes(
        &mut self,
        content_id: &str,
        filename: &str,
        media_type: Option<&str>,
        data: impl Into<Arc<[u8]>>,
    ) -> Result<&mut Self> {
        let attachment = Attachment {
            filename: check_filename(filename)?,
            media_type: media_type_for(filename, media_type)?,
            content_id: Some(check_content_id(content_id)?),
            source: Source::Bytes(data.into()),
        };
        self.attachments.push(attachment);
        Ok(self)
    }

    pub fn from(&self) -> Option<&Mailbox> {
        self.from.as_ref()
    }

    pub fn to(&self) -> &[Mailbox] {
        &self.to
    }

    pub fn cc(&self) -> &[Mailbox] {
        &self.cc
    }

    pub fn bcc(&self) -> &[Mailbox] {
        &self.bcc
    }

    pub fn reply_to(&self) -> &[Mailbox] {
        &self.reply_to
    }

    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Custom headers in the order they were added.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Every recipient (To, Cc, Bcc), each address once.
    pub fn recipients(&self) -> Vec<&Mailbox> {
        let all = || self.to.iter().chain(&self.cc).chain(&self.bcc);
        let count = self.to.len() + self.cc.len() + self.bcc.len();
        // A message's few ASCII recipients are compared with each other in place: cheaper than
        // a set of lower-cased copies, and the same answer (ASCII lower-casing; the domain holds
        // no '@', so equal addresses have equal parts).
        if count <= 16 && all().all(|m| m.local().is_ascii() && m.domain().is_ascii()) {
            let mut out: Vec<&Mailbox> = Vec::with_capacity(count);
            for m in all() {
                let seen = out.iter().any(|k| {
                    k.local().eq_ignore_ascii_case(m.local())
                        && k.domain().eq_ignore_ascii_case(m.domain())
                });
                if !seen {
                    out.push(m);
                }
            }
            return out;
        }
        let mut seen = std::collections::HashSet::new();
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .filter(|m| seen.insert(m.address().to_lowercase()))
            .collect()
    }
}

fn check_filename(filename: &str) -> Result<String> {
    header::check_value(filename, "attachment filename")?;
    let name = filename.trim();
    if name.is_empty() {
        return Err(Error::invalid_input("attachment filename is empty"));
    }
    Ok(name.to_string())
}

fn media_type_for(filename: &str, given: Option<&str>) -> Result<String> {
    match given.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            content_type::check(t)?;
            Ok(t.to_ascii_lowercase())
        }
        None => Ok(content_type::guess(filename).to_string()),
    }
}

fn check_content_id(cid: &str) -> Result<String> {
    header::check_value(cid, "Content-ID")?;
    let inner = cid.trim().trim_start_matches('<').trim_end_matches('>');
    if inner.is_empty()
        || !inner
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"\\ ,;:()[]".contains(&b))
    {
        return Err(Error::invalid_input(format!(
            "Content-ID {cid:?} must be ASCII letters, digits and . _ - @ (it is referenced as cid:{inner})"
        )));
    }
    Ok(inner.to_string())
}

fn file_attachment(
    path: &Path,
    filename: Option<&str>,
    media_type: Option<&str>,
    content_id: Option<String>,
) -> Result<Attachment> {
    let shown = path.display().to_string();
    header::check_value(&shown, "attachment path").map_err(|_| {
        Error::invalid_input(format!(
            "attachment path {shown:?} contains a control character"
        ))
    })?;
    let file = File::open(path).map_err(|e| {
        Error::new(
            Kind::Attachment,
            format!("attachment {shown}: cannot open it ({e})"),
        )
    })?;
    let meta = file.metadata().map_err(|e| {
        Error::new(
            Kind::Attachment,
            format!("attachment {shown}: cannot read its size ({e})"),
        )
    })?;
    if !meta.is_file() {
        return Err(Error::new(
            Kind::Attachment,
            format!("attachment {shown} is not a regular file"),
        ));
    }
    let own_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_string());
    let filename = check_filename(filename.unwrap_or(&own_name))?;
    Ok(Attachment {
        media_type: media_type_for(&filename, media_type)?,
        filename,
        content_id,
        source: Source::File {
            path: path.to_path_buf(),
            len: meta.len(),
        },
    })
}
