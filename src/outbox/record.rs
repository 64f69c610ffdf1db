//! What the outbox keeps about each message: its state, its recipients' states and its attempts.
//! Stores write these as JSON (docs/outbox.md), so every field here is part of a documented
//! format: add fields with defaults, never rename one.

use serde::{Deserialize, Serialize};

/// An entry's identifier: the enqueue time in milliseconds and 64 random bits, so that sorting
/// by id is sorting by enqueue order and two processes never pick the same one.
///
/// Read from a file or a row only in that form too: an id is used in paths and messages, and a
/// file another program wrote must not name `../x` or carry text into a reason.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EntryId(String);

impl TryFrom<String> for EntryId {
    type Error = String;

    fn try_from(text: String) -> Result<EntryId, String> {
        if EntryId::well_formed(&text) {
            Ok(EntryId(text))
        } else {
            Err(format!("an entry id is not of the form {}", EntryId::FORM))
        }
    }
}

impl From<EntryId> for String {
    fn from(id: EntryId) -> String {
        id.0
    }
}

impl EntryId {
    /// Why a text is not an id (it is not quoted: it may be anything a file held).
    pub(crate) const FORM: &str =
        "13 digits, '-', 16 lowercase hex digits (milliseconds since 1970 and 64 random bits)";

    pub(crate) fn new(now_ms: i64, random: u64) -> EntryId {
        EntryId(format!("{now_ms:013}-{random:016x}"))
    }

    /// Accept an id given by a user (a command line, a binding) only in the form [`EntryId::new`]
    /// makes, so that it can name nothing but an entry (no path separators, no SQL).
    pub fn parse(text: &str) -> Option<EntryId> {
        EntryId::well_formed(text).then(|| EntryId(text.to_string()))
    }

    fn well_formed(text: &str) -> bool {
        text.split_once('-').is_some_and(|(ms, random)| {
            ms.len() == 13
                && ms.bytes().all(|b| b.is_ascii_digit())
                && random.len() == 16
                && random
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its first attempt.
    Queued,
    /// A worker holds it (its lease says which, and until when).
    Sending,
    /// Every recipient was accepted by a server (or refused for good: see `recipients`).
    Sent,
    /// A transient failure: the next attempt is at `due`.
    Deferred,
    /// Refused for good, or out of time: nothing more will be tried.
    Failed,
    /// A configuration problem that will not cure itself (credentials refused, certificate not
    /// trusted, sender not allowed): kept, and tried again by `retry` or when the connection
    /// settings change.
    Held,
    /// Cancelled by a user before it was sent.
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Deferred => "deferred",
            State::Failed => "failed",
            State::Held => "held",
            State::Cancelled => "cancelled",
        }
    }

    /// Whether nothing more will happen to the entry unless a user asks.
    pub fn is_final(self) -> bool {
        matches!(self, State::Sent | State::Failed | State::Cancelled)
    }
}

/// One recipient of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub address: String,
    pub state: RecipientState,
    /// The server's reply that settled it (`550 5.1.1 no such user`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not yet accepted: the next attempt sends to it.
    Pending,
    /// Accepted by a server.
    Sent,
    /// Refused for good (5xx), or still pending when the entry ran out of time.
    Failed,
}

/// One try at delivering an entry over one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Unix seconds.
    pub at: i64,
    /// The index of the connection in the outbox's list (0 is the primary).
    pub connection: usize,
    /// Its server, `host:port`.
    pub server: String,
    /// What came of it.
    pub outcome: AttemptOutcome,
    /// The error's kind (`connect_timeout`, `recipients_rejected`, …) when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The error or the final reply, in words.
    pub message: String,
    /// What to do about the error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhanced_status: Option<String>,
    /// The queue id a server put in its final reply (`250 2.0.0 Ok: queued as 4Xk2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// The redacted transcript of the attempt, when the outbox keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The server accepted the message for the recipients it did not refuse.
    Sent,
    /// Nothing was delivered; worth trying again (on the next connection at once).
    Transient,
    /// The server refused the message or recipients for good.
    Permanent,
    /// The configuration must change first (see [`State::Held`]).
    Configuration,
    /// The connection was lost after the whole message went out and before the server's
    /// answer: it may have been delivered.
    Unknown,
}

/// Who holds an entry, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// `host:pid:random`, unique per worker.
    pub owner: String,
    /// Unix seconds; after it, any worker may take the entry over.
    pub expires: i64,
}

/// Everything known about an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: EntryId,
    pub state: State,
    /// Unix seconds of enqueue.
    pub created: i64,
    /// Unix seconds of the next attempt (for `queued` and `deferred`).
    pub due: i64,
    /// The Message-ID every attempt carries (fixed at enqueue, or at the first attempt for a
    /// message description that gave none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The Subject, for logs and screens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// MAIL FROM; empty for the null sender.
    pub envelope_from: String,
    pub recipients: Vec<Recipient>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// The connection that delivered it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_by: Option<usize>,
    /// Set when an attempt ended in the ambiguous moment: it may have been delivered already.
    #[serde(default)]
    pub maybe_delivered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Message size in bytes.
    pub size: u64,
    /// How many times it was deferred (the backoff doubles with each).
    #[serde(default)]
    pub retries: u32,
    /// For a held entry: the connection settings it was held under (without secrets). Other
    /// settings release it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_settings: Option<String>,
    /// Why the entry is failed, held or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Record {
    /// Recipients a next attempt sends to.
    pub fn pending(&self) -> Vec<String> {
        self.recipients
            .iter()
            .filter(|r| r.state == RecipientState::Pending)
            .map(|r| r.address.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_parse_only_their_own_form() {
        let a = EntryId::new(1_764_979_200_000, 0xffff_ffff_ffff_ffff);
        let b = EntryId::new(1_764_979_200_001, 0);
        assert!(a < b);
        assert_eq!(EntryId::parse(a.as_str()), Some(a.clone()));
        for bad in [
            "",
            "../../etc/passwd",
            "1764979200000-0000000000000000x",
            "1764979200000-000000000000000G",
            "1764979200000_0000000000000000",
            "176497920000-0000000000000000",
            "1764979200000-0000000000000000'; DROP TABLE x; --",
        ] {
            assert_eq!(EntryId::parse(bad), None, "{bad}");
            // Read from JSON (a spool file, a row's header) the same way, without quoting it.
            let json = serde_json::to_string(bad).unwrap();
            let e = serde_json::from_str::<EntryId>(&json)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("an entry id is not of the form 13 digits"),
                "{e}"
            );
            assert!(bad.is_empty() || !e.contains(bad), "{e}");
        }
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{a}\""));
        assert_eq!(serde_json::from_str::<EntryId>(&json).unwrap(), a);
    }
}
