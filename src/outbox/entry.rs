//! What an entry holds, fixed when it is enqueued: the envelope and the rendered message, or a
//! message description that the library renders at the first attempt. docs/outbox.md documents
//! both forms, so that a process without the library (a PHP request where FFI is off) can
//! enqueue by writing a file or a row.

use std::io::{self, BufRead, BufReader, Read};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::Message;
use crate::outbox::description::Description;
use crate::outbox::record::{EntryId, Recipient, RecipientState, Record, State};

/// The version of the entry format written here; readers refuse newer ones.
pub(crate) const FORMAT: u32 = 1;

/// The longest header line read (a description carries the whole text and HTML).
pub(crate) const MAX_HEADER: u64 = 64 * 1024 * 1024;

/// The immutable part of an entry (the first line of a spool file, the columns of a row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHeader {
    pub format: u32,
    pub id: EntryId,
    /// Unix seconds.
    pub created: i64,
    /// MAIL FROM (empty for the null sender); for a description, filled in when it is rendered.
    #[serde(default)]
    pub envelope_from: String,
    /// RCPT TO; for a description, filled in when it is rendered.
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The Subject, for logs and screens (a raw message's, as its header says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The headers carry raw UTF-8 (RFC 6532): the server must offer SMTPUTF8.
    #[serde(default)]
    pub utf8: bool,
    /// The body holds 8-bit bytes: the server must offer 8BITMIME.
    #[serde(default)]
    pub eight_bit: bool,
    /// Size of the rendered message in bytes (CRLF line ends, as sent).
    #[serde(default)]
    pub size: u64,
    /// Instead of a rendered message: what to build it from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
}

impl EntryHeader {
    /// The record of an entry that has not been tried yet.
    pub(crate) fn first_record(&self) -> Record {
        Record {
            id: self.id.clone(),
            state: State::Queued,
            created: self.created,
            due: self.created,
            message_id: self.message_id.clone(),
            subject: self.subject.clone(),
            envelope_from: self.envelope_from.clone(),
            recipients: self
                .recipients
                .iter()
                .map(|address| Recipient {
                    address: address.clone(),
                    state: RecipientState::Pending,
                    reply: None,
                })
                .collect(),
            attempts: Vec::new(),
            delivered_by: None,
            maybe_delivered: false,
            lease: None,
            size: self.size,
            retries: 0,
            held_settings: None,
            reason: None,
        }
    }

    /// The header of a message description, not rendered yet.
    pub(crate) fn described(id: EntryId, created: i64, description: Description) -> EntryHeader {
        EntryHeader {
            format: FORMAT,
            id,
            created,
            envelope_from: String::new(),
            recipients: Vec::new(),
            message_id: description.message_id.clone(),
            subject: description.subject_line(),
            utf8: false,
            eight_bit: false,
            size: 0,
            description: Some(description),
        }
    }

    pub(crate) fn check_format(&self) -> Result<()> {
        if self.format == 0 || self.format > FORMAT {
            return Err(Error::invalid_input(format!(
                "outbox entry {}: format {} is not one this library reads (1 to {FORMAT})",
                self.id, self.format
            )));
        }
        Ok(())
    }
}

/// The first line of an entry file: the header as one JSON object, then LF (docs/outbox.md).
/// JSON escapes every control character inside strings, so the line holds no other LF.
pub(crate) fn header_line(header: &EntryHeader) -> io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(header).map_err(io::Error::other)?;
    line.push(b'\n');
    Ok(line)
}

/// Read the header line at the start of an entry file (the spool's, or one another process
/// wrote): the header, and the offset where the message starts. A line without its LF within
/// [`MAX_HEADER`] bytes, or that is not an entry header, is `InvalidData`.
pub(crate) fn read_header_line(file: impl Read) -> io::Result<(EntryHeader, u64)> {
    let mut reader = BufReader::new(file.take(MAX_HEADER));
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the header line is not complete",
        ));
    }
    let header: EntryHeader =
        serde_json::from_slice(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok((header, line.len() as u64))
}

/// The Subject header of a formatted message, unfolded, as written (for logs and screens).
pub(crate) fn subject_of(message: &[u8]) -> Option<String> {
    let head = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| message.windows(2).position(|w| w == b"\n\n"))
        .map_or(message, |end| &message[..end]);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("subject") {
            continue;
        }
        let mut subject = value.trim().to_string();
        while let Some(next) = lines.next_if(|l| l.starts_with([' ', '\t'])) {
            subject.push(' ');
            subject.push_str(next.trim());
        }
        return Some(subject.chars().take(998).collect());
    }
    None
}

/// A rendered message: its envelope, fixed Message-ID and Date, and a stream of its bytes.
pub(crate) struct Rendered {
    pub header: EntryHeader,
    pub stream: Box<dyn Read + Send>,
}

/// Render `message` for the outbox: the Date and Message-ID are fixed now, so that every
/// attempt sends the same message. Rendered for a server without SMTPUTF8 when the message
/// allows it (addresses in their ASCII form), else with raw UTF-8 headers.
pub(crate) fn render(message: &Message, id: EntryId, created: i64) -> Result<Rendered> {
    // Dated at enqueue, so that every attempt sends the same bytes; copied only to date it.
    let message = match message.date {
        Some(_) => std::borrow::Cow::Borrowed(message),
        None => {
            let mut dated = message.clone();
            let secs = u64::try_from(created).unwrap_or(0);
            dated.set_date(UNIX_EPOCH + Duration::from_secs(secs));
            std::borrow::Cow::Owned(dated)
        }
    };
    let prepared = match message.prepare(false) {
        Ok(prepared) => prepared,
        Err(ascii_error) => match message.prepare(true) {
            Ok(prepared) if prepared.utf8 => prepared,
            _ => return Err(ascii_error),
        },
    };
    Ok(Rendered {
        header: EntryHeader {
            format: FORMAT,
            id,
            created,
            envelope_from: prepared.envelope_from,
            recipients: prepared.recipients,
            message_id: Some(prepared.message_id),
            subject: message.subject.clone(),
            utf8: prepared.utf8,
            eight_bit: prepared.eight_bit,
            size: prepared.size,
            description: None,
        },
        stream: Box::new(prepared.stream),
    })
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    crate::time::unix_seconds(SystemTime::now())
}

/// Unix milliseconds now, for entry ids.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
