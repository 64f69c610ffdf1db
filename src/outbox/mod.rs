//! The outbox: a message handed to it is delivered or explained, never lost.
//!
//! [`Outbox::enqueue`] returns only once the message is durable in a store: a spool directory on
//! one machine, or a MariaDB/MySQL table that several machines share (docs/outbox.md documents
//! both, and the entry format). [`Outbox::run`] delivers
//! what is due over the outbox's connections, in order: the primary, then each backup at once
//! when one fails for a reason a retry may cure. Each entry keeps its attempts; a transient
//! failure defers it with exponential backoff until its lifetime is over, a permanent refusal
//! fails what the server refused, and a configuration problem holds it until the settings
//! change or a user retries it. Any number of workers may run on one store: each entry is held
//! by one at a time, and a worker that dies leaves its entries to the others.

mod database;
mod deliver;
pub mod description;
pub mod entry;
pub mod record;
mod spool;
mod store;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client::Envelope;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::message::Message;

pub use description::{DescribedFile, Description, WpHeaders, WpMailCall};
pub use entry::EntryHeader;
pub use record::{
    Attempt, AttemptOutcome, EntryId, Lease, Recipient, RecipientState, Record, State,
};
pub use store::Filter;

use entry::{FORMAT, now, now_ms};
use store::Store;

/// When to try again and when to give up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The wait after the first transient failure; it doubles with each one after.
    pub min_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// How long after enqueue a message that keeps failing transiently is given up.
    pub lifetime: Duration,
    /// Send again after the one ambiguous failure (the connection lost after the whole message
    /// went out, before the server's answer). SMTP cannot tell whether the server took it; the
    /// fixed Message-ID lets receivers drop a duplicate. Off: such an entry fails, marked as
    /// possibly delivered.
    pub retry_unknown: bool,
    /// Keep a sent message's body (for inspection or resending); off, only its record is kept.
    pub keep_sent: bool,
    /// Keep each attempt's redacted transcript in the record.
    pub keep_transcripts: bool,
    /// How long a worker's claim on an entry lasts before others may take it over (a spool
    /// frees the entries of a dead worker at once; a database waits for the lease).
    pub lease: Duration,
}

impl Default for Policy {
    /// 5 minutes doubling to at most 1 hour, for 5 days. Postfix retries after 300 s, doubling
    /// to 4,000 s, for 5 days (RFC 5321 §4.5.4.1 asks for at least 4-5 days): the same start
    /// and lifetime, with a cap of an hour so that a site learns within the hour that its
    /// provider is back.
    fn default() -> Policy {
        Policy {
            min_backoff: Duration::from_secs(5 * 60),
            max_backoff: Duration::from_secs(60 * 60),
            lifetime: Duration::from_secs(5 * 24 * 3600),
            retry_unknown: true,
            keep_sent: false,
            keep_transcripts: false,
            lease: Duration::from_secs(15 * 60),
        }
    }
}

/// What a run may do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop claiming new entries after this long (entries being sent are finished).
    pub deadline: Option<Duration>,
    /// Stop after this many entries.
    pub limit: Option<usize>,
    /// Set from another thread (a signal handler) to stop after the entry being sent; the
    /// entries claimed but not yet tried are handed back as they were.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub sent: usize,
    pub deferred: usize,
    pub failed: usize,
    pub held: usize,
    /// Entries that ended where they were tried on a backup connection after the primary failed.
    pub via_backup: usize,
}

/// What the event callback hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An entry changed state (enqueued: from `None`).
    StateChanged {
        id: EntryId,
        from: Option<State>,
        to: State,
        /// The last attempt's words, when an attempt caused the change.
        message: Option<String>,
    },
    /// A connection that worked (or was not tried yet) failed.
    ConnectionFailing {
        connection: usize,
        server: String,
        message: String,
    },
    /// A connection that was failing worked again.
    ConnectionRecovered { connection: usize, server: String },
}

/// The callback for [`Event`]s; it runs on the thread that enqueues or runs.
pub type EventHandler = Arc<dyn Fn(&Event) + Send + Sync>;

/// A durable outbox over a store and an ordered list of connections.
pub struct Outbox {
    store: Box<dyn Store>,
    connections: Vec<Config>,
    policy: Policy,
    owner: String,
    on_event: Option<EventHandler>,
    /// Per connection: whether its last use failed (for the health events).
    failing: Mutex<Vec<bool>>,
}

impl Outbox {
    /// An outbox at `location`: a `mysql://` or `mariadb://` URL names a database table shared
    /// by several machines ([`Outbox::database`]), anything else a spool directory
    /// ([`Outbox::spool`]).
    pub fn open(location: &str, connections: Vec<Config>) -> Result<Outbox> {
        let lower = location.to_ascii_lowercase();
        if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            return Outbox::database(location, connections);
        }
        Outbox::spool(location, connections)
    }

    /// An outbox on a MariaDB (10.6 or later) or MySQL (8.0 or later) table, shared by every
    /// machine that reaches the database: `mysql://user:password@host:port/database`, or
    /// `mysql://user:password@localhost/database?socket=/run/mysqld/mysqld.sock`, with
    /// `table=NAME` or `prefix=wp_` to name the table (`mailport_outbox` by default), and
    /// `ssl-mode=verify_identity` (or `ssl-ca=PATH`) for TLS to the database. The table is
    /// created if it is missing; docs/outbox.md documents it. Fails, naming the database and
    /// its host or socket but never the password, when the database cannot be reached.
    pub fn database(url: &str, connections: Vec<Config>) -> Result<Outbox> {
        Outbox::with_store(Box::new(database::Database::open(url)?), connections)
    }

    /// An outbox on the spool directory `dir` (created if missing), delivering through
    /// `connections`: the first is the primary, the others are backups in order. No connection
    /// is needed to enqueue or inspect.
    pub fn spool(dir: impl AsRef<Path>, connections: Vec<Config>) -> Result<Outbox> {
        Outbox::with_store(Box::new(spool::Spool::open(dir.as_ref())?), connections)
    }

    fn with_store(store: Box<dyn Store>, connections: Vec<Config>) -> Result<Outbox> {
        for config in &connections {
            config.validate()?;
        }
        Ok(Outbox {
            store,
            failing: Mutex::new(vec![false; connections.len()]),
            connections,
            policy: Policy::default(),
            owner: owner_name(),
            on_event: None,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn set_policy(&mut self, policy: Policy) -> &mut Self {
        self.policy = policy;
        self
    }

    /// Call `handler` on every state change and connection health change.
    pub fn set_event_handler(&mut self, handler: Option<EventHandler>) -> &mut Self {
        self.on_event = handler;
        self
    }

    fn emit(&self, event: Event) {
        if let Some(handler) = &self.on_event {
            handler(&event);
        }
    }

    fn new_id(&self) -> EntryId {
        // Within one millisecond, this process's entries still sort in enqueue order: the top
        // 16 bits of the random part count them.
        static SEQUENCE: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
        let mut random = [0u8; 8];
        crate::random::fill(&mut random);
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let random = (u64::from(sequence) << 48) | (u64::from_le_bytes(random) >> 16);
        EntryId::new(now_ms(), random)
    }

    /// Store `message` for delivery and return its id once it is durable. Its Date and
    /// Message-ID are fixed now (attachments are read now, too), so every attempt sends the
    /// same message.
    pub fn enqueue(&self, message: &Message) -> Result<EntryId> {
        let id = self.new_id();
        let mut rendered = entry::render(message, id.clone(), now())?;
        self.store.enqueue(&rendered.header, &mut rendered.stream)?;
        self.enqueued(&id);
        Ok(id)
    }

    /// Store an already formatted message for `envelope`.
    pub fn enqueue_raw(&self, envelope: &Envelope, message: &[u8]) -> Result<EntryId> {
        let id = self.new_id();
        let header = EntryHeader {
            format: FORMAT,
            id: id.clone(),
            created: now(),
            envelope_from: envelope.from().to_string(),
            recipients: envelope.to().to_vec(),
            message_id: None,
            subject: entry::subject_of(message),
            utf8: false,
            eight_bit: !message.is_ascii(),
            size: crate::smtp::data::message_size(message),
            description: None,
        };
        // Line ends are normalised as it is sent, and `size` counts them as sent.
        self.store.enqueue(&header, &mut &message[..])?;
        self.enqueued(&id);
        Ok(id)
    }

    /// Store a message description, to be rendered at its first attempt (the form a process
    /// without the library writes; see docs/outbox.md). It is checked now by building it once.
    pub fn enqueue_description(&self, description: &Description) -> Result<EntryId> {
        let created = now();
        description.build(created)?.check_sendable()?;
        let id = self.new_id();
        let header = EntryHeader::described(id.clone(), created, description.clone());
        self.store.enqueue(&header, &mut std::io::empty())?;
        self.enqueued(&id);
        Ok(id)
    }

    fn enqueued(&self, id: &EntryId) {
        self.emit(Event::StateChanged {
            id: id.clone(),
            from: None,
            to: State::Queued,
            message: None,
        });
    }

    /// Deliver what is due: claim entries oldest first and send each over the connections,
    /// reusing one session per connection for the whole run.
    pub fn run(&self, options: &RunOptions) -> Result<RunSummary> {
        deliver::run(self, options)
    }

    /// The records `filter` admits, oldest first.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Record>> {
        self.store.list(filter)
    }

    pub fn get(&self, id: &EntryId) -> Result<Record> {
        self.store.get(id)
    }

    /// Try a deferred, held or failed entry again now, to its recipients still pending (a
    /// failed entry: to those that failed too). Fails for a sent or cancelled entry, and for
    /// one being sent right now.
    pub fn retry(&self, id: &EntryId) -> Result<Record> {
        let before = self.store.get(id)?.state;
        let record = self.store.update(id, &mut |record| {
            match record.state {
                State::Sent | State::Cancelled => {
                    return Err(Error::invalid_input(format!(
                        "outbox entry {}: it is {}, there is nothing to retry",
                        record.id,
                        record.state.as_str()
                    )));
                }
                State::Failed => {
                    for recipient in &mut record.recipients {
                        if recipient.state == RecipientState::Failed {
                            recipient.state = RecipientState::Pending;
                        }
                    }
                }
                _ => {}
            }
            record.state = State::Queued;
            record.due = now();
            record.reason = None;
            record.held_settings = None;
            Ok(())
        })?;
        self.emit(Event::StateChanged {
            id: id.clone(),
            from: Some(before),
            to: record.state,
            message: None,
        });
        Ok(record)
    }

    /// Give up on an entry that was not sent yet.
    pub fn cancel(&self, id: &EntryId) -> Result<Record> {
        let before = self.store.get(id)?.state;
        let record = self.store.update(id, &mut |record| {
            if record.state.is_final() {
                return Err(Error::invalid_input(format!(
                    "outbox entry {}: it is already {}",
                    record.id,
                    record.state.as_str()
                )));
            }
            record.state = State::Cancelled;
            record.reason = Some("cancelled".to_string());
            Ok(())
        })?;
        self.emit(Event::StateChanged {
            id: id.clone(),
            from: Some(before),
            to: State::Cancelled,
            message: None,
        });
        Ok(record)
    }

    /// Remove the records of sent, failed and cancelled entries older than `older_than`;
    /// returns how many went.
    pub fn prune(&self, older_than: Duration) -> Result<usize> {
        let age = i64::try_from(older_than.as_secs()).unwrap_or(i64::MAX);
        self.store.prune(now().saturating_sub(age))
    }
}

/// `host:pid:random`: unique per worker, readable in a record.
fn owner_name() -> String {
    let mut random = [0u8; 4];
    crate::random::fill(&mut random);
    format!(
        "{}:{}:{:08x}",
        crate::address::default_helo_name(),
        std::process::id(),
        u32::from_le_bytes(random)
    )
}
