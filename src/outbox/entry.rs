//! What an entry holds, fixed when it is enqueued: the envelope and the rendered message, or a
//! message description that the library renders at the first attempt. docs/outbox.md documents
//! both forms, so that a process without the library (a PHP request where FFI is off) can
//! enqueue by writing a file or a row.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::Message;
use crate::outbox::record::{EntryId, Recipient, RecipientState, Record, State};

/// The version of the entry format written here; readers refuse newer ones.
pub(crate) const FORMAT: u32 = 1;

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

/// A message described by what the builder takes. Every address field accepts what
/// [`Message::add_to`] accepts (one mailbox or a comma-separated list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    pub from: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Extra headers, `[name, value]`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<DescribedFile>,
    /// The Message-ID with its angle brackets; one is generated at the first attempt if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Unix seconds for the Date header; the enqueue time if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
}

/// A file of a description: an attachment, or an inline part when `content_id` is set. The
/// path must stay readable until the entry is sent (the library copies files into its own
/// store; another writer must do likewise).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribedFile {
    pub path: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
}

impl Description {
    /// The message it describes, with its Date fixed at `created` unless it names one.
    pub fn build(&self, created: i64) -> Result<Message> {
        let mut m = Message::new();
        m.set_from(&self.from)?;
        for (list, add) in [
            (
                &self.to,
                Message::add_to as for<'a> fn(&'a mut Message, &str) -> Result<&'a mut Message>,
            ),
            (&self.cc, Message::add_cc),
            (&self.bcc, Message::add_bcc),
            (&self.reply_to, Message::add_reply_to),
        ] {
            for entry in list {
                add(&mut m, entry)?;
            }
        }
        if let Some(envelope_from) = &self.envelope_from {
            m.set_envelope_from(envelope_from)?;
        }
        if let Some(subject) = &self.subject {
            m.set_subject(subject)?;
        }
        match (&self.text, &self.html) {
            (Some(text), Some(html)) => {
                m.set_text(text)?;
                m.set_html(html)?;
            }
            (Some(text), None) => {
                m.set_text(text)?;
            }
            (None, Some(html)) => {
                m.set_html(html)?;
            }
            (None, None) => {}
        }
        for (name, value) in &self.headers {
            m.add_header(name, value)?;
        }
        for file in &self.attachments {
            let media_type = file.content_type.as_deref();
            match &file.content_id {
                Some(cid) => m.embed_file(cid, &file.path, media_type)?,
                None => m.attach_file(&file.path, file.name.as_deref(), media_type)?,
            };
        }
        if let Some(id) = &self.message_id {
            m.set_message_id(id)?;
        }
        let date = self.date.unwrap_or(created);
        let date = u64::try_from(date)
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap_or(UNIX_EPOCH);
        m.set_date(date);
        Ok(m)
    }
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
