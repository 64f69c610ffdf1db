//! `mailport_outbox_*` (the durable outbox), its event callback, the records it keeps
//! (`mailport_outbox_record_*`, `mailport_outbox_records_*`) and what a run did
//! (`mailport_outbox_summary_*`).

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::boundary::{Out, copy_out};
use super::config::mailport_config;
use super::error::{c_text, mailport_error, mailport_result};
use super::message::mailport_message;
use crate::client::Envelope;
use crate::config::Config;
use crate::outbox::{
    Attempt, AttemptOutcome, EntryId, Event, Filter, Outbox, Recipient, RecipientState, Record,
    RunOptions, RunSummary, State,
};

/// Where an outbox entry stands: `mailport_outbox_record_state`, the `from_state` and
/// `to_state` of a `mailport_outbox_event_callback`, and the states `mailport_outbox_list`
/// filters by, all as `uint32_t`. The names in the records' JSON are the member names in lower
/// case ("queued", "deferred", ...). New states may be added.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_outbox_state {
    /// No state: the `from_state` of the event of an entry just enqueued, and what the record
    /// accessors return for a NULL record.
    MAILPORT_OUTBOX_STATE_NONE = 0,
    /// Waiting for its first attempt (or retried, waiting for the next).
    MAILPORT_OUTBOX_STATE_QUEUED = 1,
    /// A worker holds it and is sending it now.
    MAILPORT_OUTBOX_STATE_SENDING = 2,
    /// Every recipient was accepted by a server, or refused for good (see its recipients).
    MAILPORT_OUTBOX_STATE_SENT = 3,
    /// A transient failure: the next attempt is at `mailport_outbox_record_due`.
    MAILPORT_OUTBOX_STATE_DEFERRED = 4,
    /// Refused for good, or out of time: nothing more will be tried unless it is retried.
    MAILPORT_OUTBOX_STATE_FAILED = 5,
    /// A configuration problem time will not cure (credentials refused, certificate not
    /// trusted): tried again when the connections' settings change, or when it is retried.
    MAILPORT_OUTBOX_STATE_HELD = 6,
    /// Cancelled by a user before it was sent.
    MAILPORT_OUTBOX_STATE_CANCELLED = 7,
}

impl mailport_outbox_state {
    fn from_core(state: State) -> mailport_outbox_state {
        use mailport_outbox_state::*;
        match state {
            State::Queued => MAILPORT_OUTBOX_STATE_QUEUED,
            State::Sending => MAILPORT_OUTBOX_STATE_SENDING,
            State::Sent => MAILPORT_OUTBOX_STATE_SENT,
            State::Deferred => MAILPORT_OUTBOX_STATE_DEFERRED,
            State::Failed => MAILPORT_OUTBOX_STATE_FAILED,
            State::Held => MAILPORT_OUTBOX_STATE_HELD,
            State::Cancelled => MAILPORT_OUTBOX_STATE_CANCELLED,
        }
    }

    fn to_core(value: u32) -> Option<State> {
        Some(match value {
            1 => State::Queued,
            2 => State::Sending,
            3 => State::Sent,
            4 => State::Deferred,
            5 => State::Failed,
            6 => State::Held,
            7 => State::Cancelled,
            _ => return None,
        })
    }
}

/// What an outbox event is: the `uint32_t kind` of a `mailport_outbox_event_callback`. New
/// kinds may be added: ignore unknown ones.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_outbox_event_kind {
    /// An entry changed state: enqueued (from `MAILPORT_OUTBOX_STATE_NONE`), sent, deferred,
    /// failed, held, retried or cancelled. `id`, `from_state`, `to_state` and `text` (the last
    /// attempt's words, when an attempt caused the change) are set.
    MAILPORT_OUTBOX_EVENT_STATE_CHANGED = 0,
    /// A connection that worked (or was not tried yet) failed: said once when it starts
    /// failing, not for every message. `connection`, `server` and `text` (why) are set.
    MAILPORT_OUTBOX_EVENT_CONNECTION_FAILING = 1,
    /// A connection that was failing worked again. `connection` and `server` are set.
    MAILPORT_OUTBOX_EVENT_CONNECTION_RECOVERED = 2,
}

/// The size of a buffer that holds an entry id and its NUL, for `mailport_outbox_enqueue` and
/// `mailport_outbox_enqueue_raw`: ids are 30 ASCII characters, the enqueue time in
/// milliseconds and 64 random bits in hex ("1764979200000-0123456789abcdef").
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_outbox_id_size {
    MAILPORT_OUTBOX_ID_SIZE = 31,
}

/// The length of an entry id, without its NUL.
const ID_LEN: usize = mailport_outbox_id_size::MAILPORT_OUTBOX_ID_SIZE as usize - 1;

/// A function that hears each outbox event as it happens: for alerting on failed or held
/// entries and on a connection that starts failing or recovers.
///
/// `userdata` is the pointer given to `mailport_outbox_set_event_callback`, passed through
/// untouched. `kind` is a `mailport_outbox_event_kind` value (ignore unknown ones). For a state
/// change, `id` is the entry's id, `from_state` and `to_state` are `mailport_outbox_state`
/// values, `connection` is 0 and `server` is "". For a connection event, `id` is "",
/// `from_state` and `to_state` are `MAILPORT_OUTBOX_STATE_NONE`, `connection` is the index of
/// the connection in the list given to `mailport_outbox_open` (0 is the primary) and `server`
/// its "host:port". `text` says why in plain words, or is "". Every string is NUL-terminated
/// UTF-8, never NULL, and valid only until the callback returns: copy it to keep it.
///
/// The callback runs synchronously on the thread that called `mailport_outbox_enqueue`,
/// `_enqueue_raw`, `_run`, `_retry` or `_cancel`, during that call, after the change is saved.
/// It may call `mailport_outbox_get` and `mailport_outbox_list` on the outbox that is calling
/// it, and no other function on it. It must not unwind (C++ exceptions, longjmp) across
/// mailport. When several threads use the outbox, it runs on those threads concurrently and
/// must be thread-safe. The same events are in the summary of each run
/// (`mailport_outbox_summary_json`), so the callback is optional.
pub type mailport_outbox_event_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        kind: u32,
        id: *const c_char,
        from_state: u32,
        to_state: u32,
        connection: usize,
        server: *const c_char,
        text: *const c_char,
    ),
>;

/// The C callback and its userdata, called for each core [`Event`].
struct EventCallback {
    callback: unsafe extern "C" fn(
        *mut c_void,
        u32,
        *const c_char,
        u32,
        u32,
        usize,
        *const c_char,
        *const c_char,
    ),
    userdata: *mut c_void,
}

// SAFETY: mailport never dereferences `userdata`; it only passes it back to the callback. The
// contract of `mailport_outbox_set_event_callback` (restated on
// `mailport_outbox_event_callback`) makes the caller responsible for the callback and userdata
// being usable from whichever thread uses the outbox, concurrently when several do: the rule of
// the log callback (`CallbackSink`) and of hyper's `UserDataPointer`.
unsafe impl Send for EventCallback {}
// SAFETY: as above; `&EventCallback` only ever reads the two pointers.
unsafe impl Sync for EventCallback {}

impl EventCallback {
    fn deliver(&self, event: &Event) {
        use mailport_outbox_event_kind::*;
        let none = mailport_outbox_state::MAILPORT_OUTBOX_STATE_NONE as u32;
        let (kind, id, from, to, connection, server, text) = match event {
            Event::StateChanged {
                id,
                from,
                to,
                message,
            } => (
                MAILPORT_OUTBOX_EVENT_STATE_CHANGED,
                id.as_str(),
                from.map_or(none, |s| mailport_outbox_state::from_core(s) as u32),
                mailport_outbox_state::from_core(*to) as u32,
                0,
                "",
                message.as_deref().unwrap_or(""),
            ),
            Event::ConnectionFailing {
                connection,
                server,
                message,
            } => (
                MAILPORT_OUTBOX_EVENT_CONNECTION_FAILING,
                "",
                none,
                none,
                *connection,
                server.as_str(),
                message.as_str(),
            ),
            Event::ConnectionRecovered { connection, server } => (
                MAILPORT_OUTBOX_EVENT_CONNECTION_RECOVERED,
                "",
                none,
                none,
                *connection,
                server.as_str(),
                "",
            ),
        };
        let (id, server, text) = (c_text(id), c_text(server), c_text(text));
        // SAFETY: the pointers satisfy the documented callback contract: each string is valid
        // and NUL-terminated for the duration of the call, `userdata` is the caller's own value.
        unsafe {
            (self.callback)(
                self.userdata,
                kind as u32,
                id.as_ptr(),
                from,
                to,
                connection,
                server.as_ptr(),
                text.as_ptr(),
            )
        };
    }
}

thread_local! {
    /// The runs in progress on this thread, each with the outbox's token and the events heard
    /// so far: `mailport_outbox_run` puts them in its summary. The core calls the event handler
    /// on the thread that runs, so a thread-local list keeps concurrent runs apart.
    static RUNS: RefCell<Vec<(u64, Vec<Event>)>> = const { RefCell::new(Vec::new()) };
}

/// Tells outboxes apart in [`RUNS`].
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Collects the events of one run of one outbox on this thread, from `start` until dropped.
struct Collecting(u64);

impl Collecting {
    fn start(token: u64) -> Collecting {
        RUNS.with(|runs| runs.borrow_mut().push((token, Vec::new())));
        Collecting(token)
    }

    fn heard(token: u64, event: &Event) {
        RUNS.with(|runs| {
            if let Some((_, events)) = runs
                .borrow_mut()
                .iter_mut()
                .rev()
                .find(|(t, _)| *t == token)
            {
                events.push(event.clone());
            }
        });
    }

    fn take(&self) -> Vec<Event> {
        RUNS.with(|runs| {
            runs.borrow_mut()
                .iter_mut()
                .rev()
                .find(|(t, _)| *t == self.0)
                .map(|(_, events)| std::mem::take(events))
                .unwrap_or_default()
        })
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        RUNS.with(|runs| {
            let mut runs = runs.borrow_mut();
            if let Some(at) = runs.iter().rposition(|(t, _)| *t == self.0) {
                runs.remove(at);
            }
        });
    }
}

/// A durable outbox: a message handed to it is delivered or explained, never lost.
///
/// Made by `mailport_outbox_open` on a spool directory, with copies of the configs of the
/// connections to deliver through (the first is the primary, the others are backups tried at
/// once when it fails for a reason a retry may cure). `mailport_outbox_enqueue` returns only
/// once the message is durable on disk; `mailport_outbox_run` delivers what is due and records
/// each attempt. A transient failure defers an entry with doubling backoff until its lifetime
/// is over; a permanent refusal fails the recipients the server refused; a configuration
/// problem (credentials refused, certificate not trusted) holds it until the connections'
/// settings change or it is retried. A connection lost after the whole message went out may
/// have delivered it (`mailport_outbox_record_maybe_delivered`): by default it is sent again
/// with the same Message-ID (see `mailport_outbox_set_retry_unknown`). Any number of outboxes,
/// in this process or others, may work on one spool: each entry is held by one worker at a
/// time, and a worker that dies frees its entries at once.
///
/// The policy setters start from the defaults: backoff 5 minutes doubling to at most 1 hour,
/// a lifetime of 5 days, ambiguous sends retried, sent messages' bodies dropped, no
/// transcripts kept. Times are kept in whole seconds.
///
/// **Thread safety:** `mailport_outbox_enqueue`, `_enqueue_raw`, `_run`, `_list`, `_get`,
/// `_retry`, `_cancel` and `_prune` may be called from several threads at once on one outbox
/// (several runs share out the entries); the setters must not be called while any other call
/// on the outbox is in progress. The event callback runs on the calling thread, during the
/// call.
///
/// Functions: mailport_outbox_open, mailport_outbox_free, mailport_outbox_set_min_backoff_ms,
/// mailport_outbox_set_max_backoff_ms, mailport_outbox_set_lifetime_ms,
/// mailport_outbox_set_retry_unknown, mailport_outbox_set_keep_sent,
/// mailport_outbox_set_keep_transcripts, mailport_outbox_set_event_callback,
/// mailport_outbox_enqueue, mailport_outbox_enqueue_raw, mailport_outbox_run,
/// mailport_outbox_list, mailport_outbox_get, mailport_outbox_retry, mailport_outbox_cancel,
/// mailport_outbox_prune.
pub struct mailport_outbox {
    inner: Outbox,
    /// This outbox's key in [`RUNS`].
    token: u64,
}

impl mailport_outbox {
    /// Install the core event handler: it collects events for a run's summary and calls the C
    /// callback, when one is set.
    fn listen(&mut self, callback: Option<EventCallback>) {
        let token = self.token;
        self.inner
            .set_event_handler(Some(Arc::new(move |event: &Event| {
                Collecting::heard(token, event);
                if let Some(callback) = &callback {
                    callback.deliver(event);
                }
            })));
    }
}

/// One recipient of a record, as the C API exposes it.
struct RecipientC {
    address: CString,
    state: &'static CStr,
    reply: CString,
}

impl From<&Recipient> for RecipientC {
    fn from(r: &Recipient) -> RecipientC {
        RecipientC {
            address: c_text(&r.address),
            state: match r.state {
                RecipientState::Pending => c"pending",
                RecipientState::Sent => c"sent",
                RecipientState::Failed => c"failed",
            },
            reply: c_text(r.reply.as_deref().unwrap_or("")),
        }
    }
}

/// One attempt of a record, as the C API exposes it.
struct AttemptC {
    at: i64,
    connection: usize,
    server: CString,
    outcome: &'static CStr,
    kind: CString,
    message: CString,
    reply_code: u16,
    enhanced_status: CString,
    queue_id: CString,
    transcript: CString,
}

impl From<&Attempt> for AttemptC {
    fn from(a: &Attempt) -> AttemptC {
        let text = |s: &Option<String>| c_text(s.as_deref().unwrap_or(""));
        AttemptC {
            at: a.at,
            connection: a.connection,
            server: c_text(&a.server),
            outcome: match a.outcome {
                AttemptOutcome::Sent => c"sent",
                AttemptOutcome::Transient => c"transient",
                AttemptOutcome::Permanent => c"permanent",
                AttemptOutcome::Configuration => c"configuration",
                AttemptOutcome::Unknown => c"unknown",
            },
            kind: text(&a.kind),
            message: c_text(&a.message),
            reply_code: a.reply_code.unwrap_or(0),
            enhanced_status: text(&a.enhanced_status),
            queue_id: text(&a.queue_id),
            transcript: text(&a.transcript),
        }
    }
}

/// Everything the outbox knows about one entry: its state, recipients and attempts.
///
/// Returned by `mailport_outbox_get`, `_retry` and `_cancel` (owned by the caller, freed with
/// `mailport_outbox_record_free`), and lent by `mailport_outbox_records_record` (owned by the
/// list: never freed on its own). A snapshot: it does not change when the entry does. Immutable:
/// every accessor may be called from any thread; the strings it returns are borrowed from the
/// record, never NULL unless stated, NUL-terminated UTF-8, valid until the record (or its list)
/// is freed. Times are Unix seconds. Recipients and attempts are numbered from 0; an index out
/// of range gives NULL, 0 or "" as each accessor says.
///
/// Functions: mailport_outbox_record_id, mailport_outbox_record_state,
/// mailport_outbox_record_created, mailport_outbox_record_due,
/// mailport_outbox_record_message_id, mailport_outbox_record_envelope_from,
/// mailport_outbox_record_size, mailport_outbox_record_retries, mailport_outbox_record_reason,
/// mailport_outbox_record_maybe_delivered, mailport_outbox_record_delivered_by,
/// mailport_outbox_record_recipient_count, mailport_outbox_record_recipient_address,
/// mailport_outbox_record_recipient_state, mailport_outbox_record_recipient_reply,
/// mailport_outbox_record_attempt_count, mailport_outbox_record_attempt_at,
/// mailport_outbox_record_attempt_connection, mailport_outbox_record_attempt_server,
/// mailport_outbox_record_attempt_outcome, mailport_outbox_record_attempt_kind,
/// mailport_outbox_record_attempt_message, mailport_outbox_record_attempt_reply_code,
/// mailport_outbox_record_attempt_enhanced_status, mailport_outbox_record_attempt_queue_id,
/// mailport_outbox_record_attempt_transcript, mailport_outbox_record_json,
/// mailport_outbox_record_free.
pub struct mailport_outbox_record {
    record: Record,
    id: CString,
    message_id: CString,
    envelope_from: CString,
    reason: CString,
    recipients: Box<[RecipientC]>,
    attempts: Box<[AttemptC]>,
    /// Made on the first `mailport_outbox_record_json`.
    json: OnceLock<CString>,
}

impl From<Record> for mailport_outbox_record {
    fn from(record: Record) -> mailport_outbox_record {
        mailport_outbox_record {
            id: c_text(record.id.as_str()),
            message_id: c_text(record.message_id.as_deref().unwrap_or("")),
            envelope_from: c_text(&record.envelope_from),
            reason: c_text(record.reason.as_deref().unwrap_or("")),
            recipients: record.recipients.iter().map(RecipientC::from).collect(),
            attempts: record.attempts.iter().map(AttemptC::from).collect(),
            json: OnceLock::new(),
            record,
        }
    }
}

impl mailport_outbox_record {
    fn recipient(&self, index: usize) -> Option<&RecipientC> {
        self.recipients.get(index)
    }

    fn attempt(&self, index: usize) -> Option<&AttemptC> {
        self.attempts.get(index)
    }
}

/// A record lent by a list is never NULL unless the list is, so a panicking lookup gives NULL.
impl super::boundary::PanicDefault for *const mailport_outbox_record {
    fn panic_default() -> *const mailport_outbox_record {
        std::ptr::null()
    }
}

/// The records `mailport_outbox_list` found, oldest first.
///
/// Owned by the caller and freed with `mailport_outbox_records_free`, which also frees every
/// record lent by `mailport_outbox_records_record`. Immutable: may be read from any thread.
///
/// Functions: mailport_outbox_records_count, mailport_outbox_records_record,
/// mailport_outbox_records_json, mailport_outbox_records_free.
pub struct mailport_outbox_records {
    records: Box<[mailport_outbox_record]>,
    json: OnceLock<CString>,
}

/// What a run did: how many entries ended sent, deferred, failed or held, how many went out
/// over a backup connection, and every event of the run.
///
/// Returned by `mailport_outbox_run`; owned by the caller and freed with
/// `mailport_outbox_summary_free`. Immutable: may be read from any thread; the JSON string is
/// borrowed from the summary and valid until it is freed.
///
/// Functions: mailport_outbox_summary_sent, mailport_outbox_summary_deferred,
/// mailport_outbox_summary_failed, mailport_outbox_summary_held,
/// mailport_outbox_summary_via_backup, mailport_outbox_summary_json,
/// mailport_outbox_summary_free.
pub struct mailport_outbox_summary {
    counts: RunSummary,
    json: CString,
}

/// An event as the summary's JSON gives it.
fn event_json(event: &Event) -> serde_json::Value {
    match event {
        Event::StateChanged {
            id,
            from,
            to,
            message,
        } => serde_json::json!({
            "kind": "state_changed",
            "id": id,
            "from": from.map(State::as_str),
            "to": to.as_str(),
            "message": message,
        }),
        Event::ConnectionFailing {
            connection,
            server,
            message,
        } => serde_json::json!({
            "kind": "connection_failing",
            "connection": connection,
            "server": server,
            "message": message,
        }),
        Event::ConnectionRecovered { connection, server } => serde_json::json!({
            "kind": "connection_recovered",
            "connection": connection,
            "server": server,
        }),
    }
}

impl mailport_outbox_summary {
    fn new(counts: RunSummary, events: &[Event]) -> mailport_outbox_summary {
        let json = serde_json::json!({
            "sent": counts.sent,
            "deferred": counts.deferred,
            "failed": counts.failed,
            "held": counts.held,
            "via_backup": counts.via_backup,
            "events": events.iter().map(event_json).collect::<Vec<_>>(),
        });
        mailport_outbox_summary {
            counts,
            json: c_text(json.to_string()),
        }
    }
}

/// An entry id argument, in the only form the outbox makes.
fn entry_id(text: &str) -> Result<EntryId, mailport_error> {
    EntryId::parse(text).ok_or_else(|| {
        mailport_error::invalid_argument(format!(
            "id: {text:?} is not an outbox entry id (13 digits, '-', 16 hex digits, as \
             mailport_outbox_enqueue gives them)"
        ))
    })
}

/// A duration in milliseconds, any value.
fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Check an entry id buffer before anything is enqueued: it must hold a whole id and its NUL,
/// or nothing is done (so a too small buffer never loses the id of a message that went in).
/// Sets `*id_n` (when not NULL) to the id's length.
///
/// # Safety
///
/// `id_n` must be NULL or valid for writing one `size_t`.
unsafe fn check_id_buffer(
    id_buf: *mut c_char,
    id_len: usize,
    id_n: *mut usize,
) -> Result<(), mailport_error> {
    if !id_n.is_null() {
        // SAFETY: guaranteed by the caller.
        unsafe { *id_n = ID_LEN };
    }
    if id_buf.is_null() && id_len != 0 {
        return Err(mailport_error::null_argument("id_buf"));
    }
    if id_len <= ID_LEN {
        return Err(mailport_error::new(
            mailport_result::MAILPORT_ERR_BUFFER_TOO_SMALL,
            format!(
                "id_buf is too small: an entry id and its NUL take {} bytes, id_buf holds \
                 {id_len}; nothing was enqueued",
                ID_LEN + 1
            ),
            "pass a buffer of MAILPORT_OUTBOX_ID_SIZE bytes",
        ));
    }
    Ok(())
}

/// Hand the id of an entry just enqueued to the caller's buffer, checked by
/// [`check_id_buffer`].
///
/// # Safety
///
/// As for `copy_out`; `id_buf` was checked to hold more than [`ID_LEN`] bytes.
unsafe fn give_id(id: &EntryId, id_buf: *mut c_char, id_len: usize, id_n: *mut usize) {
    debug_assert_eq!(id.as_str().len(), ID_LEN);
    // SAFETY: guaranteed by the caller; the id fits, so nothing is cut.
    unsafe { copy_out(id.as_str(), id_buf, id_len, id_n) };
}

/// Copies of the configs of the `count` connections at `connections`, each checked as a client
/// would check it (a bad one is named by its index).
///
/// # Safety
///
/// A non-NULL `connections` must be readable for `count` pointers, each NULL or a live config
/// that nobody changes during the call.
unsafe fn connection_configs(
    connections: *const *const mailport_config,
    count: usize,
) -> Result<Vec<Config>, mailport_error> {
    if connections.is_null() {
        return if count == 0 {
            Ok(Vec::new())
        } else {
            Err(mailport_error::null_argument("connections"))
        };
    }
    if count > isize::MAX as usize / size_of::<*const mailport_config>() {
        return Err(mailport_error::invalid_argument(format!(
            "connections: count {count} is too large"
        )));
    }
    // SAFETY: non-NULL, size checked, readable for `count` pointers as the caller guarantees.
    let items = unsafe { std::slice::from_raw_parts(connections, count) };
    let mut configs = Vec::with_capacity(count);
    for (i, &p) in items.iter().enumerate() {
        let name = format!("connections[{i}]");
        let config = &arg_ref!(p, &name).0;
        if config.host.is_empty() {
            return Err(mailport_error::invalid_argument(format!(
                "{name}: host is not set: call mailport_config_set_host or use \
                 mailport_config_from_url"
            )));
        }
        config.validate().map_err(|mut e| {
            e.prefix_message(&name);
            e
        })?;
        configs.push(config.clone());
    }
    Ok(configs)
}

/// Open the outbox at `location`, delivering through copies of `count` connection configs.
///
/// `location` is a spool directory, created if missing (with `queue/`, `done/`, `tmp/` and
/// `quarantine/` inside; docs/outbox.md describes them), or a `mysql://` or `mariadb://` URL of
/// a table shared by several machines, which may hold the database's password: it never
/// appears in an error. `connections[0]` is the primary
/// connection, the others are backups in order; each is checked as `mailport_client_new` checks
/// a config. No connection is needed to enqueue or inspect: `count` may be 0 (then
/// `mailport_outbox_run` fails). Each config's log callback, if set, hears the sessions of
/// `mailport_outbox_run`. No network I/O happens here.
///
/// **Ownership:** `location` and the configs are copied: they may be changed or freed right
/// away. On success `*outbox_out` receives a new outbox that the caller frees with
/// `mailport_outbox_free`.
///
/// **NULL:** `location` and `outbox_out` must not be NULL, nor any of the `count` entries of
/// `connections`; `connections` itself may be NULL only when `count` is 0. `error_out` may be
/// NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `location` is
/// empty or not UTF-8, a database URL this build cannot use, or a config has no host or an
/// invalid value (the message names `connections[i]`); `MAILPORT_ERR_IO` when the spool
/// directory cannot be created or written (the message names the path); a network code when
/// the database cannot be reached.
///
/// **Thread safety:** several threads may open outboxes from the same configs at once,
/// provided nobody changes them meanwhile.
///
/// # Safety
///
/// `location` must be NULL or NUL-terminated; `connections` NULL or readable for `count`
/// pointers, each NULL or a live config not changed during the call; `outbox_out` and
/// `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_open(
    location: *const c_char,
    connections: *const *const mailport_config,
    count: usize,
    outbox_out: *mut *mut mailport_outbox,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox> = out_arg!(outbox_out);
        out.require("outbox_out")?;
        let location = arg_str!(location, "location");
        if location.is_empty() {
            return Err(mailport_error::invalid_argument(
                "location is empty: give the path of a spool directory",
            ));
        }
        // SAFETY: guaranteed by this function's contract.
        let configs = unsafe { connection_configs(connections, count) }?;
        let mut outbox = mailport_outbox {
            inner: Outbox::open(location, configs)?,
            token: NEXT_TOKEN.fetch_add(1, Ordering::Relaxed),
        };
        outbox.listen(None);
        out.set(outbox);
        Ok(())
    })
}

/// Free an outbox. Nothing on disk changes: entries stay in the spool for the next outbox.
///
/// **Ownership:** takes back `outbox`.
///
/// **NULL:** `outbox` may be NULL (nothing happens).
///
/// # Safety
///
/// `outbox` must be NULL or an outbox from mailport that has not been freed, and that no other
/// thread is using. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_free(outbox: *mut mailport_outbox) {
    ffi_boundary!({
        if !outbox.is_null() {
            // SAFETY: the caller passes an outbox mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(outbox) });
        }
    })
}

/// Set the wait after an entry's first transient failure, in milliseconds (default 300000, 5
/// minutes); it doubles with each failure after, up to `mailport_outbox_set_max_backoff_ms`. 0
/// tries again in the next run. Kept in whole seconds (rounded down).
///
/// **NULL:** `outbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_min_backoff_ms(
    outbox: *mut mailport_outbox,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox.inner, error_out, |o| {
        let mut policy = o.policy().clone();
        policy.min_backoff = millis(ms);
        o.set_policy(policy);
    })
}

/// Set the longest wait between two attempts, in milliseconds (default 3600000, 1 hour). Kept
/// in whole seconds (rounded down).
///
/// **NULL:** `outbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_max_backoff_ms(
    outbox: *mut mailport_outbox,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox.inner, error_out, |o| {
        let mut policy = o.policy().clone();
        policy.max_backoff = millis(ms);
        o.set_policy(policy);
    })
}

/// Set how long after it was enqueued an entry that keeps failing transiently is given up, in
/// milliseconds (default 432000000, 5 days, as RFC 5321 §4.5.4.1 asks). The attempt that finds
/// it out of time fails it and its pending recipients, saying so in the reason. Kept in whole
/// seconds (rounded down).
///
/// **NULL:** `outbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_lifetime_ms(
    outbox: *mut mailport_outbox,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox.inner, error_out, |o| {
        let mut policy = o.policy().clone();
        policy.lifetime = millis(ms);
        o.set_policy(policy);
    })
}

/// Choose whether an entry is sent again after the one ambiguous failure: the connection lost
/// after the whole message went out, before the server's answer (`mailport_error_outcome_unknown`
/// of a direct send). Default: true; the Message-ID stays the same, so receivers can drop a
/// duplicate. False: such an entry fails at once, its record marked
/// `mailport_outbox_record_maybe_delivered`.
///
/// **NULL:** `outbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_retry_unknown(
    outbox: *mut mailport_outbox,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox.inner, error_out, |o| {
        let mut policy = o.policy().clone();
        policy.retry_unknown = enabled;
        o.set_policy(policy);
    })
}

/// Choose whether a sent entry keeps its message (for inspection or resending) or only its
/// record. Default: false. Failed entries always keep theirs, so they can be retried.
///
/// **NULL:** `outbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_keep_sent(
    outbox: *mut mailport_outbox,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox.inner, error_out, |o| {
        let mut policy = o.policy().clone();
        policy.keep_sent = enabled;
        o.set_policy(policy);
    })
}

/// Choose whether each attempt keeps its redacted transcript in the record
/// (`mailport_outbox_record_attempt_transcript`). Default: false. Credentials never appear;
/// message bodies only when a config enabled them (`mailport_config_set_transcript_bodies`).
///
/// **NULL:** `outbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_keep_transcripts(
    outbox: *mut mailport_outbox,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox.inner, error_out, |o| {
        let mut policy = o.policy().clone();
        policy.keep_transcripts = enabled;
        o.set_policy(policy);
    })
}

/// Set the function that hears each event of this outbox (see `mailport_outbox_event_callback`
/// for its contract), with the `userdata` passed back to it. A NULL `callback` turns it off.
///
/// Events: every state change of an entry (enqueued, sent, deferred, failed, held, retried,
/// cancelled), and a connection event only when a connection starts failing or recovers, not
/// for every message. The events of a run are also in its summary
/// (`mailport_outbox_summary_json`), so the callback is optional.
///
/// **Ownership:** `userdata` is not touched by mailport, only passed back; it must stay valid
/// while the outbox may call it (until the callback is replaced or `mailport_outbox_free`
/// returns).
///
/// **NULL:** `outbox` must not be NULL. `callback` may be NULL (no callback); `userdata` may be
/// NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** not while another call on the outbox is in progress. The callback runs on
/// the thread calling into the outbox; when several threads do, it runs concurrently and must
/// be thread-safe.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox that no other thread uses during the call; `callback`
/// NULL or a function with the `mailport_outbox_event_callback` signature that honours its
/// contract; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_set_event_callback(
    outbox: *mut mailport_outbox,
    callback: mailport_outbox_event_callback,
    userdata: *mut c_void,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(outbox, error_out, |o| {
        o.listen(callback.map(|callback| EventCallback { callback, userdata }));
    })
}

/// Store `message` for delivery and copy its entry id into `id_buf`; return only once it is
/// durable (written and synced to disk).
///
/// The message is checked (a From, at least one recipient, attachment files readable) and
/// rendered now: its Date and Message-ID are fixed, attachment files are read into the spool,
/// so every attempt sends the same bytes and the files may go once this returns. The envelope
/// comes from the message, as for `mailport_client_send`. The entry is then queued: the next
/// `mailport_outbox_run` (of this or any outbox on the same spool) sends it. The event callback
/// hears the change to `MAILPORT_OUTBOX_STATE_QUEUED`.
///
/// The id is always `MAILPORT_OUTBOX_ID_SIZE` - 1 (30) bytes: `id_buf` must hold
/// `MAILPORT_OUTBOX_ID_SIZE` bytes, or nothing is enqueued and `MAILPORT_ERR_BUFFER_TOO_SMALL`
/// comes back (so the sizing call of the copy-out convention, `id_buf` NULL and `id_len` 0,
/// enqueues nothing). `*id_n` (when not NULL) receives the id's length.
///
/// **Ownership:** `message` is only read: it may be changed, sent or freed afterwards. The id is
/// copied into the caller's buffer, NUL-terminated.
///
/// **NULL:** `outbox` and `message` must not be NULL; `id_buf` only with `id_len` 0 (see above);
/// `id_n` and `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_BUFFER_TOO_SMALL` (nothing enqueued);
/// `MAILPORT_ERR_INVALID_ARGUMENT` when the message has no From or no recipient;
/// `MAILPORT_ERR_ATTACHMENT` when an attachment file cannot be read; `MAILPORT_ERR_IO` when the
/// spool cannot be written (the message names the path). On any error nothing was enqueued.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters). Several
/// threads may enqueue the same message at once, provided nobody changes it meanwhile.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile; `message`
/// NULL or a live message that nobody changes during the call; `id_buf` NULL or writable for
/// `id_len` bytes; `id_n` NULL or valid for writing one `size_t`; `error_out` NULL or valid for
/// writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_enqueue(
    outbox: *mut mailport_outbox,
    message: *const mailport_message,
    id_buf: *mut c_char,
    id_len: usize,
    id_n: *mut usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let outbox = arg_ref!(outbox, "outbox");
        let message = &arg_ref!(message, "message").0;
        // SAFETY: guaranteed by this function's contract.
        unsafe { check_id_buffer(id_buf, id_len, id_n) }?;
        let id = outbox.inner.enqueue(message)?;
        // SAFETY: guaranteed by this function's contract; the buffer was checked above.
        unsafe { give_id(&id, id_buf, id_len, id_n) };
        Ok(())
    })
}

/// Store an already formatted RFC 5322 message (headers, blank line, body) for delivery to the
/// given envelope, and copy its entry id into `id_buf`; return only once it is durable.
///
/// As `mailport_client_send_raw` sends it: line endings normalised to CRLF as it is sent, Bcc
/// recipients belong in `recipients` and not in a header, and there is no Message-ID the outbox
/// knows of (`mailport_outbox_record_message_id` is ""). The id buffer works as for
/// `mailport_outbox_enqueue`.
///
/// **Ownership:** every argument is only read; the message bytes are copied into the spool.
///
/// **NULL:** `outbox`, `envelope_from` and each of the `recipient_count` entries of
/// `recipients` must not be NULL; `message` only with `message_len` 0; `id_buf` only with
/// `id_len` 0; `id_n` and `error_out` may be NULL. `envelope_from` may be "" for the null
/// reverse path.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_BUFFER_TOO_SMALL` (nothing enqueued);
/// `MAILPORT_ERR_INVALID_ARGUMENT` for an invalid or missing address (the message names it);
/// `MAILPORT_ERR_IO` when the spool cannot be written. On any error nothing was enqueued.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters).
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile;
/// `envelope_from` NULL or NUL-terminated; `recipients` NULL or readable for `recipient_count`
/// pointers, each NULL or NUL-terminated; `message` NULL or readable for `message_len` bytes;
/// `id_buf` NULL or writable for `id_len` bytes; `id_n` NULL or valid for writing one `size_t`;
/// `error_out` NULL or valid for writing one pointer. None of the inputs may change during the
/// call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_enqueue_raw(
    outbox: *mut mailport_outbox,
    envelope_from: *const c_char,
    recipients: *const *const c_char,
    recipient_count: usize,
    message: *const c_void,
    message_len: usize,
    id_buf: *mut c_char,
    id_len: usize,
    id_n: *mut usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let outbox = arg_ref!(outbox, "outbox");
        let from = arg_str!(envelope_from, "envelope_from");
        let to: Vec<String> = arg_str_array!(recipients, recipient_count, "recipients")
            .into_iter()
            .map(str::to_string)
            .collect();
        let message = arg_bytes!(message, message_len, "message");
        // SAFETY: guaranteed by this function's contract.
        unsafe { check_id_buffer(id_buf, id_len, id_n) }?;
        let envelope = Envelope::new(from, to)?;
        let id = outbox.inner.enqueue_raw(&envelope, message)?;
        // SAFETY: guaranteed by this function's contract; the buffer was checked above.
        unsafe { give_id(&id, id_buf, id_len, id_n) };
        Ok(())
    })
}

/// Deliver what is due: claim entries oldest first and send each over the connections in
/// order, reusing one session per connection for the run, and save what came of each attempt.
///
/// Due entries are those queued, deferred whose time has come, held under other connection
/// settings, or left sending by a worker that died. Each is tried at most once per run.
/// Whatever the servers do is recorded in the entries, not returned as an error: a run that
/// could not send anything still returns `MAILPORT_OK`, and its summary says how each entry
/// ended. The event callback hears every state change and connection health change as it
/// happens; the summary holds them all too.
///
/// `limit` stops after that many entries (0: no limit); `deadline_ms` stops claiming new
/// entries after that many milliseconds (0: none), finishing the entries being sent.
///
/// **Ownership:** on success `*summary_out` (if not NULL) receives a new summary that the
/// caller frees with `mailport_outbox_summary_free`.
///
/// **NULL:** `outbox` must not be NULL. `summary_out` may be NULL (no summary wanted);
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when the outbox has
/// no connection; `MAILPORT_ERR_IO` when the spool cannot be read or written (entries already
/// handled keep what happened to them).
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters), including
/// other runs, which take other entries. Blocks the calling thread while it sends. Config log
/// callbacks and the event callback run on this thread during the call.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile;
/// `summary_out` and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_run(
    outbox: *mut mailport_outbox,
    limit: usize,
    deadline_ms: u64,
    summary_out: *mut *mut mailport_outbox_summary,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox_summary> = out_arg!(summary_out);
        let outbox = arg_ref!(outbox, "outbox");
        let options = RunOptions {
            limit: (limit != 0).then_some(limit),
            deadline: (deadline_ms != 0).then(|| millis(deadline_ms)),
            stop: None,
        };
        let collecting = Collecting::start(outbox.token);
        let counts = outbox.inner.run(&options)?;
        let events = collecting.take();
        out.set(mailport_outbox_summary::new(counts, &events));
        Ok(())
    })
}

/// List the records of the entries in the given states, oldest first: queued, in flight and
/// finished ones alike (until `mailport_outbox_prune` removes finished ones).
///
/// `states` holds `state_count` `mailport_outbox_state` values (not
/// `MAILPORT_OUTBOX_STATE_NONE`); none (`state_count` 0) lists every state. `limit` keeps the
/// oldest that many (0: all).
///
/// **Ownership:** `states` is only read. On success `*records_out` receives a new list that the
/// caller frees with `mailport_outbox_records_free`.
///
/// **NULL:** `outbox` and `records_out` must not be NULL; `states` may be NULL only when
/// `state_count` is 0. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for a value that is
/// not a state (the message names `states[i]`); `MAILPORT_ERR_IO` when the spool cannot be read.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters), and from
/// its event callback.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile; `states`
/// NULL or readable for `state_count` values; `records_out` and `error_out` each NULL or valid
/// for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_list(
    outbox: *const mailport_outbox,
    states: *const u32,
    state_count: usize,
    limit: usize,
    records_out: *mut *mut mailport_outbox_records,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox_records> = out_arg!(records_out);
        out.require("records_out")?;
        let outbox = arg_ref!(outbox, "outbox");
        let values: &[u32] = if states.is_null() {
            if state_count != 0 {
                return Err(mailport_error::null_argument("states"));
            }
            &[]
        } else {
            if state_count > isize::MAX as usize / size_of::<u32>() {
                return Err(mailport_error::invalid_argument(format!(
                    "states: count {state_count} is too large"
                )));
            }
            // SAFETY: non-NULL, size checked, and the caller guarantees `states` is readable
            // for `state_count` values that stay unchanged during the call.
            unsafe { std::slice::from_raw_parts(states, state_count) }
        };
        let states = values
            .iter()
            .enumerate()
            .map(|(i, &value)| {
                mailport_outbox_state::to_core(value).ok_or_else(|| {
                    mailport_error::invalid_argument(format!(
                        "states[{i}]: {value} is not an entry state (expected a \
                         MAILPORT_OUTBOX_STATE_* value, 1-7)"
                    ))
                })
            })
            .collect::<Result<Vec<State>, _>>()?;
        let filter = Filter {
            states,
            limit: (limit != 0).then_some(limit),
        };
        let records = outbox.inner.list(&filter)?;
        out.set(mailport_outbox_records {
            records: records.into_iter().map(mailport_outbox_record::from).collect(),
            json: OnceLock::new(),
        });
        Ok(())
    })
}

/// Read the record of the entry `id`.
///
/// **Ownership:** `id` is only read. On success `*record_out` receives a new record that the
/// caller frees with `mailport_outbox_record_free`.
///
/// **NULL:** `outbox`, `id` and `record_out` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `id` is not an
/// entry id, or no entry has it (pruned, or never enqueued here); `MAILPORT_ERR_IO` when the
/// spool cannot be read.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters), and from
/// its event callback.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile; `id` NULL
/// or NUL-terminated; `record_out` and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_get(
    outbox: *const mailport_outbox,
    id: *const c_char,
    record_out: *mut *mut mailport_outbox_record,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox_record> = out_arg!(record_out);
        out.require("record_out")?;
        let outbox = arg_ref!(outbox, "outbox");
        let id = entry_id(arg_str!(id, "id"))?;
        out.set(outbox.inner.get(&id)?.into());
        Ok(())
    })
}

/// Try a deferred, held or failed entry again now: it is queued, due at once, to its
/// recipients still pending (for a failed entry, also to those that failed). The event callback
/// hears the change.
///
/// **Ownership:** `id` is only read. On success `*record_out` (if not NULL) receives the new
/// record, which the caller frees with `mailport_outbox_record_free`.
///
/// **NULL:** `outbox` and `id` must not be NULL. `record_out` and `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `id` is not an
/// entry id, no entry has it, the entry is sent or cancelled, or its message was not kept;
/// `MAILPORT_ERR_IO` when a worker is sending it right now (try again when it is done), or the
/// spool cannot be written.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters).
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile; `id` NULL
/// or NUL-terminated; `record_out` and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_retry(
    outbox: *mut mailport_outbox,
    id: *const c_char,
    record_out: *mut *mut mailport_outbox_record,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox_record> = out_arg!(record_out);
        let outbox = arg_ref!(outbox, "outbox");
        let id = entry_id(arg_str!(id, "id"))?;
        out.set(outbox.inner.retry(&id)?.into());
        Ok(())
    })
}

/// Give up on an entry that was not sent yet (queued, deferred, held): it becomes cancelled and
/// is never sent. The event callback hears the change.
///
/// **Ownership:** `id` is only read. On success `*record_out` (if not NULL) receives the new
/// record, which the caller frees with `mailport_outbox_record_free`.
///
/// **NULL:** `outbox` and `id` must not be NULL. `record_out` and `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `id` is not an
/// entry id, no entry has it, or it is already sent, failed or cancelled; `MAILPORT_ERR_IO` when
/// a worker is sending it right now, or the spool cannot be written.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters).
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile; `id` NULL
/// or NUL-terminated; `record_out` and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_cancel(
    outbox: *mut mailport_outbox,
    id: *const c_char,
    record_out: *mut *mut mailport_outbox_record,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox_record> = out_arg!(record_out);
        let outbox = arg_ref!(outbox, "outbox");
        let id = entry_id(arg_str!(id, "id"))?;
        out.set(outbox.inner.cancel(&id)?.into());
        Ok(())
    })
}

/// Remove the records (and kept messages) of sent, failed and cancelled entries whose last
/// attempt, or enqueue, is more than `older_than_ms` milliseconds ago (kept in whole seconds).
/// Entries still to be sent are never removed.
///
/// **Ownership:** `*removed_out` (if not NULL) receives how many entries went.
///
/// **NULL:** `outbox` must not be NULL. `removed_out` and `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_IO` when the spool cannot be read.
///
/// **Thread safety:** may run alongside other calls on the outbox (not its setters).
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile;
/// `removed_out` NULL or valid for writing one `size_t`; `error_out` NULL or valid for writing
/// one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_prune(
    outbox: *mut mailport_outbox,
    older_than_ms: u64,
    removed_out: *mut usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        if !removed_out.is_null() {
            // SAFETY: this function's contract makes a non-NULL `removed_out` valid for writes.
            unsafe { *removed_out = 0 };
        }
        let outbox = arg_ref!(outbox, "outbox");
        let removed = outbox.inner.prune(millis(older_than_ms))?;
        if !removed_out.is_null() {
            // SAFETY: as above.
            unsafe { *removed_out = removed };
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Records.

/// Return the entry's id (30 characters), or "".
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** `record` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_id(
    record: *const mailport_outbox_record,
) -> *const c_char {
    getter!(record, c"".as_ptr(), |r| r.id.as_ptr())
}

/// Return where the entry stands, a `mailport_outbox_state` value.
///
/// **NULL:** `record` may be NULL: returns `MAILPORT_OUTBOX_STATE_NONE` (0).
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_state(
    record: *const mailport_outbox_record,
) -> u32 {
    getter!(
        record,
        0,
        |r| mailport_outbox_state::from_core(r.record.state) as u32
    )
}

/// Return when the entry was enqueued, in Unix seconds.
///
/// **NULL:** `record` may be NULL: returns 0.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_created(
    record: *const mailport_outbox_record,
) -> i64 {
    getter!(record, 0, |r| r.record.created)
}

/// Return when the next attempt is due, in Unix seconds (for queued and deferred entries; for
/// others, the last time it was).
///
/// **NULL:** `record` may be NULL: returns 0.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_due(record: *const mailport_outbox_record) -> i64 {
    getter!(record, 0, |r| r.record.due)
}

/// Return the Message-ID every attempt sends, angle brackets included, fixed at enqueue; ""
/// for a raw message.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** `record` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_message_id(
    record: *const mailport_outbox_record,
) -> *const c_char {
    getter!(record, c"".as_ptr(), |r| r.message_id.as_ptr())
}

/// Return the envelope sender (MAIL FROM), "" for the null sender.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** `record` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_envelope_from(
    record: *const mailport_outbox_record,
) -> *const c_char {
    getter!(record, c"".as_ptr(), |r| r.envelope_from.as_ptr())
}

/// Return the size of the message in bytes, as sent.
///
/// **NULL:** `record` may be NULL: returns 0.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_size(record: *const mailport_outbox_record) -> u64 {
    getter!(record, 0, |r| r.record.size)
}

/// Return how many times the entry was deferred (the backoff doubles with each).
///
/// **NULL:** `record` may be NULL: returns 0.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_retries(
    record: *const mailport_outbox_record,
) -> u32 {
    getter!(record, 0, |r| r.record.retries)
}

/// Return why the entry is failed, held, deferred or cancelled, in plain words, or "".
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** `record` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_reason(
    record: *const mailport_outbox_record,
) -> *const c_char {
    getter!(record, c"".as_ptr(), |r| r.reason.as_ptr())
}

/// Return whether an attempt ended in the ambiguous moment (the connection lost after the whole
/// message went out, before the server's answer): the message may have been delivered already.
///
/// **NULL:** `record` may be NULL: returns false.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_maybe_delivered(
    record: *const mailport_outbox_record,
) -> bool {
    getter!(record, false, |r| r.record.maybe_delivered)
}

/// Return the index of the connection that delivered the entry (0 is the primary), or -1 when
/// none did.
///
/// **NULL:** `record` may be NULL: returns -1.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_delivered_by(
    record: *const mailport_outbox_record,
) -> i64 {
    getter!(record, -1, |r| r
        .record
        .delivered_by
        .map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX)))
}

/// Return how many recipients the entry has.
///
/// **NULL:** `record` may be NULL: returns 0.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_recipient_count(
    record: *const mailport_outbox_record,
) -> usize {
    getter!(record, 0, |r| r.recipients.len())
}

/// Return the address of the `index`-th recipient.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_recipient_address(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .recipient(index)
        .map_or(std::ptr::null(), |x| x.address.as_ptr()))
}

/// Return where the `index`-th recipient stands: "pending" (the next attempt sends to it),
/// "sent" (a server accepted it) or "failed" (refused for good, or out of time).
///
/// **Ownership:** static.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_recipient_state(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .recipient(index)
        .map_or(std::ptr::null(), |x| x.state.as_ptr()))
}

/// Return the server's reply that settled the `index`-th recipient ("550 5.1.1 no such user"),
/// or "" when none did yet.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_recipient_reply(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .recipient(index)
        .map_or(std::ptr::null(), |x| x.reply.as_ptr()))
}

/// Return how many attempts the entry has had, one per connection tried, oldest first.
///
/// **NULL:** `record` may be NULL: returns 0.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_count(
    record: *const mailport_outbox_record,
) -> usize {
    getter!(record, 0, |r| r.attempts.len())
}

/// Return when the `index`-th attempt ended, in Unix seconds.
///
/// **NULL:** returns 0 when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_at(
    record: *const mailport_outbox_record,
    index: usize,
) -> i64 {
    getter!(record, 0, |r| r.attempt(index).map_or(0, |a| a.at))
}

/// Return the index of the connection the `index`-th attempt used (0 is the primary).
///
/// **NULL:** returns 0 when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_connection(
    record: *const mailport_outbox_record,
    index: usize,
) -> usize {
    getter!(record, 0, |r| r.attempt(index).map_or(0, |a| a.connection))
}

/// Return the server of the `index`-th attempt, "host:port" ("" when the message could not even
/// be built).
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_server(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.server.as_ptr()))
}

/// Return what came of the `index`-th attempt: "sent", "transient" (nothing delivered; worth
/// trying again), "permanent" (refused for good), "configuration" (the settings must change
/// first) or "unknown" (the answer was lost after the whole message went out).
///
/// **Ownership:** static.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_outcome(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.outcome.as_ptr()))
}

/// Return the kind of error that ended the `index`-th attempt, as a stable name
/// ("connect_refused", "auth_failed", "recipients_rejected", ...), or "" when it did not fail.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_kind(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.kind.as_ptr()))
}

/// Return the error, or the server's final reply, of the `index`-th attempt in words.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_message(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.message.as_ptr()))
}

/// Return the reply code that ended the `index`-th attempt (250, 450, 550, ...), or 0 when no
/// reply did.
///
/// **NULL:** returns 0 when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_reply_code(
    record: *const mailport_outbox_record,
    index: usize,
) -> u16 {
    getter!(record, 0, |r| r.attempt(index).map_or(0, |a| a.reply_code))
}

/// Return the enhanced status code of that reply ("5.1.1"), or "".
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_enhanced_status(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.enhanced_status.as_ptr()))
}

/// Return the queue id the server put in its final reply to the `index`-th attempt
/// ("250 2.0.0 Ok: queued as 4Xk2" gives "4Xk2"), or "": what to search the server's logs for.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_queue_id(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.queue_id.as_ptr()))
}

/// Return the redacted transcript of the `index`-th attempt, or "" when the outbox did not keep
/// it (see `mailport_outbox_set_keep_transcripts`).
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** returns NULL when `record` is NULL or `index` is out of range.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_attempt_transcript(
    record: *const mailport_outbox_record,
    index: usize,
) -> *const c_char {
    getter!(record, std::ptr::null(), |r| r
        .attempt(index)
        .map_or(std::ptr::null(), |a| a.transcript.as_ptr()))
}

/// Return the whole record as a JSON object, the form the spool keeps it in (docs/outbox.md):
/// `{"id", "state", "created", "due", "message_id", "envelope_from", "recipients": [{"address",
/// "state", "reply"}], "attempts": [{"at", "connection", "server", "outcome", "kind",
/// "message", "reply_code", "enhanced_status", "queue_id", "transcript"}], "delivered_by",
/// "maybe_delivered", "size", "retries", "reason", ...}`. Absent values are left out; fields may
/// be added, never renamed.
///
/// **Ownership:** borrowed from `record`, valid until it (or its list) is freed.
///
/// **NULL:** `record` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `record` must be NULL or a record from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_json(
    record: *const mailport_outbox_record,
) -> *const c_char {
    getter!(record, c"".as_ptr(), |r| r
        .json
        .get_or_init(|| c_text(serde_json::to_string(&r.record).unwrap_or_default()))
        .as_ptr())
}

/// Free a record returned by `mailport_outbox_get`, `_retry` or `_cancel`. Never free a record
/// lent by `mailport_outbox_records_record`: its list owns it.
///
/// **Ownership:** takes back the record; every string borrowed from it becomes invalid.
///
/// **NULL:** `record` may be NULL (nothing happens).
///
/// # Safety
///
/// `record` must be NULL or a record from mailport, owned by the caller, that has not been
/// freed. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_record_free(record: *mut mailport_outbox_record) {
    ffi_boundary!({
        if !record.is_null() {
            // SAFETY: the caller passes a record mailport boxed, owned by the caller and not
            // freed yet.
            drop(unsafe { Box::from_raw(record) });
        }
    })
}

/// Return how many records the list holds.
///
/// **NULL:** `records` may be NULL: returns 0.
///
/// # Safety
///
/// `records` must be NULL or a list from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_records_count(
    records: *const mailport_outbox_records,
) -> usize {
    getter!(records, 0, |l| l.records.len())
}

/// Return the `index`-th record of the list (0 is the oldest), to read with the
/// `mailport_outbox_record_*` accessors.
///
/// **Ownership:** borrowed from `records`, valid until `mailport_outbox_records_free(records)`;
/// never pass it to `mailport_outbox_record_free`.
///
/// **NULL:** returns NULL when `records` is NULL or `index` is out of range.
///
/// # Safety
///
/// `records` must be NULL or a list from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_records_record(
    records: *const mailport_outbox_records,
    index: usize,
) -> *const mailport_outbox_record {
    getter!(records, std::ptr::null(), |l| l
        .records
        .get(index)
        .map_or(std::ptr::null(), |r| r
            as *const mailport_outbox_record))
}

/// Return the whole list as a JSON array of records (see `mailport_outbox_record_json`).
///
/// **Ownership:** borrowed from `records`, valid until `mailport_outbox_records_free(records)`.
///
/// **NULL:** `records` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `records` must be NULL or a list from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_records_json(
    records: *const mailport_outbox_records,
) -> *const c_char {
    getter!(records, c"".as_ptr(), |l| l
        .json
        .get_or_init(|| {
            let all: Vec<&Record> = l.records.iter().map(|r| &r.record).collect();
            c_text(serde_json::to_string(&all).unwrap_or_default())
        })
        .as_ptr())
}

/// Free a list of records, and every record it lent.
///
/// **Ownership:** takes back the list; every record and string borrowed from it becomes
/// invalid.
///
/// **NULL:** `records` may be NULL (nothing happens).
///
/// # Safety
///
/// `records` must be NULL or a list from mailport that has not been freed. Must not be called
/// twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_records_free(records: *mut mailport_outbox_records) {
    ffi_boundary!({
        if !records.is_null() {
            // SAFETY: the caller passes a list mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(records) });
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Summaries.

/// Return how many entries of the run ended sent.
///
/// **NULL:** `summary` may be NULL: returns 0.
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_sent(
    summary: *const mailport_outbox_summary,
) -> usize {
    getter!(summary, 0, |s| s.counts.sent)
}

/// Return how many entries of the run ended deferred (a transient failure: tried again later).
///
/// **NULL:** `summary` may be NULL: returns 0.
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_deferred(
    summary: *const mailport_outbox_summary,
) -> usize {
    getter!(summary, 0, |s| s.counts.deferred)
}

/// Return how many entries of the run ended failed (refused for good, or out of time).
///
/// **NULL:** `summary` may be NULL: returns 0.
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_failed(
    summary: *const mailport_outbox_summary,
) -> usize {
    getter!(summary, 0, |s| s.counts.failed)
}

/// Return how many entries of the run ended held (a configuration problem).
///
/// **NULL:** `summary` may be NULL: returns 0.
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_held(
    summary: *const mailport_outbox_summary,
) -> usize {
    getter!(summary, 0, |s| s.counts.held)
}

/// Return how many entries of the run were delivered over a backup connection, the primary
/// having failed.
///
/// **NULL:** `summary` may be NULL: returns 0.
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_via_backup(
    summary: *const mailport_outbox_summary,
) -> usize {
    getter!(summary, 0, |s| s.counts.via_backup)
}

/// Return the summary as a JSON object with every event of the run, in order:
/// `{"sent", "deferred", "failed", "held", "via_backup", "events": [...]}`, each event
/// `{"kind": "state_changed", "id", "from", "to", "message"}` (states by name, `from` null for
/// an entry just enqueued, `message` null without one), `{"kind": "connection_failing",
/// "connection", "server", "message"}` or `{"kind": "connection_recovered", "connection",
/// "server"}`. What the event callback heard during the run, for callers without one.
///
/// **Ownership:** borrowed from `summary`, valid until `mailport_outbox_summary_free(summary)`.
///
/// **NULL:** `summary` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_json(
    summary: *const mailport_outbox_summary,
) -> *const c_char {
    getter!(summary, c"".as_ptr(), |s| s.json.as_ptr())
}

/// Free a run summary.
///
/// **Ownership:** takes back the summary; the string borrowed from it becomes invalid.
///
/// **NULL:** `summary` may be NULL (nothing happens).
///
/// # Safety
///
/// `summary` must be NULL or a summary from mailport that has not been freed. Must not be
/// called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_outbox_summary_free(summary: *mut mailport_outbox_summary) {
    ffi_boundary!({
        if !summary.is_null() {
            // SAFETY: the caller passes a summary mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(summary) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::test_support::{run, text};
    use crate::ffi::{
        mailport_config_free, mailport_config_new, mailport_message_add_to, mailport_message_free,
        mailport_message_new, mailport_message_set_from, mailport_message_set_subject,
    };

    use std::path::PathBuf;
    use std::ptr;
    use std::sync::Mutex;

    use mailport_result::*;

    /// A spool directory removed on drop.
    struct Spool(PathBuf);
    impl Spool {
        fn new(name: &str) -> Spool {
            let dir = std::env::temp_dir()
                .join(format!("mailport-ffi-outbox-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Spool(dir)
        }
        fn c(&self) -> CString {
            CString::new(self.0.to_str().unwrap()).unwrap()
        }
    }
    impl Drop for Spool {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// An outbox without connections (enough to enqueue and inspect).
    fn open(spool: &Spool) -> *mut mailport_outbox {
        let mut outbox = ptr::null_mut();
        let location = spool.c();
        // SAFETY: valid arguments; no connections.
        let (rc, m) = run(|e| unsafe {
            mailport_outbox_open(location.as_ptr(), ptr::null(), 0, &mut outbox, e)
        });
        assert_eq!(rc, MAILPORT_OK, "{m}");
        outbox
    }

    fn message() -> *mut mailport_message {
        // SAFETY: plain sequence of valid calls.
        unsafe {
            let m = mailport_message_new();
            let e = ptr::null_mut();
            assert_eq!(
                mailport_message_set_from(m, c"shop@example.com".as_ptr(), e),
                MAILPORT_OK
            );
            assert_eq!(
                mailport_message_add_to(m, c"ann@example.org".as_ptr(), e),
                MAILPORT_OK
            );
            assert_eq!(
                mailport_message_set_subject(m, c"order 1".as_ptr(), e),
                MAILPORT_OK
            );
            m
        }
    }

    fn enqueue(outbox: *mut mailport_outbox, m: *const mailport_message) -> String {
        let mut id = [0 as c_char; mailport_outbox_id_size::MAILPORT_OUTBOX_ID_SIZE as usize];
        let mut n = 0;
        // SAFETY: `id` is writable for its length.
        let (rc, msg) = run(|e| unsafe {
            mailport_outbox_enqueue(outbox, m, id.as_mut_ptr(), id.len(), &mut n, e)
        });
        assert_eq!(rc, MAILPORT_OK, "{msg}");
        assert_eq!(n, ID_LEN);
        text(id.as_ptr())
    }

    type Heard = Mutex<Vec<(u32, String, u32, u32, usize, String, String)>>;

    unsafe extern "C" fn hear(
        userdata: *mut c_void,
        kind: u32,
        id: *const c_char,
        from_state: u32,
        to_state: u32,
        connection: usize,
        server: *const c_char,
        message: *const c_char,
    ) {
        // SAFETY: the test passes a `Heard` as userdata and mailport passes valid strings.
        let heard = unsafe { &*(userdata as *const Heard) };
        heard.lock().unwrap().push((
            kind,
            text(id),
            from_state,
            to_state,
            connection,
            text(server),
            text(message),
        ));
    }

    #[test]
    fn null_arguments_are_reported_by_name() {
        let spool = Spool::new("null");
        let outbox = open(&spool);
        let m = message();
        let null_outbox: *mut mailport_outbox = ptr::null_mut();
        let mut id = [0 as c_char; 31];
        let mut record: *mut mailport_outbox_record = ptr::dangling_mut();
        let mut records: *mut mailport_outbox_records = ptr::dangling_mut();
        let mut opened: *mut mailport_outbox = ptr::dangling_mut();
        // SAFETY: NULL arguments are the case under test; the others are valid.
        unsafe {
            let (rc, msg) =
                run(|e| mailport_outbox_open(ptr::null(), ptr::null(), 0, &mut opened, e));
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "location must not be NULL")
            );
            assert!(opened.is_null(), "outbox_out is NULLed on entry");
            let location = spool.c();
            let (rc, msg) = run(|e| {
                mailport_outbox_open(location.as_ptr(), ptr::null(), 0, ptr::null_mut(), e)
            });
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "outbox_out must not be NULL")
            );
            let (rc, msg) =
                run(|e| mailport_outbox_open(location.as_ptr(), ptr::null(), 2, &mut opened, e));
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "connections must not be NULL")
            );
            let configs = [ptr::null::<mailport_config>()];
            let (rc, msg) = run(|e| {
                mailport_outbox_open(location.as_ptr(), configs.as_ptr(), 1, &mut opened, e)
            });
            assert_eq!(
                (rc, msg.as_str()),
                (
                    MAILPORT_ERR_NULL_ARGUMENT,
                    "connections[0] must not be NULL"
                )
            );
            let (rc, msg) = run(|e| {
                mailport_outbox_enqueue(null_outbox, m, id.as_mut_ptr(), 31, ptr::null_mut(), e)
            });
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "outbox must not be NULL")
            );
            let (rc, msg) = run(|e| {
                mailport_outbox_enqueue(
                    outbox,
                    ptr::null(),
                    id.as_mut_ptr(),
                    31,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL")
            );
            let (rc, msg) = run(|e| mailport_outbox_get(outbox, ptr::null(), &mut record, e));
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "id must not be NULL")
            );
            assert!(record.is_null());
            let (rc, msg) =
                run(|e| mailport_outbox_list(outbox, ptr::null(), 1, 0, &mut records, e));
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "states must not be NULL")
            );
            assert!(records.is_null());
            let (rc, msg) =
                run(|e| mailport_outbox_list(outbox, ptr::null(), 0, 0, ptr::null_mut(), e));
            assert_eq!(
                (rc, msg.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "records_out must not be NULL")
            );
            for call in [mailport_outbox_retry, mailport_outbox_cancel] {
                let (rc, msg) = run(|e| call(null_outbox, c"x".as_ptr(), ptr::null_mut(), e));
                assert_eq!(
                    (rc, msg.as_str()),
                    (MAILPORT_ERR_NULL_ARGUMENT, "outbox must not be NULL")
                );
            }
            let mut removed = 7;
            let (rc, _) = run(|e| mailport_outbox_prune(null_outbox, 0, &mut removed, e));
            assert_eq!((rc, removed), (MAILPORT_ERR_NULL_ARGUMENT, 0));
            let (rc, _) = run(|e| mailport_outbox_run(null_outbox, 0, 0, ptr::null_mut(), e));
            assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
            for setter in [
                mailport_outbox_set_min_backoff_ms,
                mailport_outbox_set_max_backoff_ms,
                mailport_outbox_set_lifetime_ms,
            ] {
                assert_eq!(
                    run(|e| setter(null_outbox, 1, e)).0,
                    MAILPORT_ERR_NULL_ARGUMENT
                );
            }
            for setter in [
                mailport_outbox_set_retry_unknown,
                mailport_outbox_set_keep_sent,
                mailport_outbox_set_keep_transcripts,
            ] {
                assert_eq!(
                    run(|e| setter(null_outbox, true, e)).0,
                    MAILPORT_ERR_NULL_ARGUMENT
                );
            }
            let (rc, _) =
                run(|e| mailport_outbox_set_event_callback(null_outbox, None, ptr::null_mut(), e));
            assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);

            // Accessors on NULL are neutral.
            let r = ptr::null();
            assert_eq!(text(mailport_outbox_record_id(r)), "");
            assert_eq!(mailport_outbox_record_state(r), 0);
            assert_eq!(mailport_outbox_record_created(r), 0);
            assert_eq!(mailport_outbox_record_due(r), 0);
            assert_eq!(text(mailport_outbox_record_message_id(r)), "");
            assert_eq!(text(mailport_outbox_record_envelope_from(r)), "");
            assert_eq!(mailport_outbox_record_size(r), 0);
            assert_eq!(mailport_outbox_record_retries(r), 0);
            assert_eq!(text(mailport_outbox_record_reason(r)), "");
            assert!(!mailport_outbox_record_maybe_delivered(r));
            assert_eq!(mailport_outbox_record_delivered_by(r), -1);
            assert_eq!(mailport_outbox_record_recipient_count(r), 0);
            assert!(mailport_outbox_record_recipient_address(r, 0).is_null());
            assert!(mailport_outbox_record_recipient_state(r, 0).is_null());
            assert!(mailport_outbox_record_recipient_reply(r, 0).is_null());
            assert_eq!(mailport_outbox_record_attempt_count(r), 0);
            assert_eq!(mailport_outbox_record_attempt_at(r, 0), 0);
            assert_eq!(mailport_outbox_record_attempt_connection(r, 0), 0);
            assert_eq!(mailport_outbox_record_attempt_reply_code(r, 0), 0);
            for getter in [
                mailport_outbox_record_attempt_server,
                mailport_outbox_record_attempt_outcome,
                mailport_outbox_record_attempt_kind,
                mailport_outbox_record_attempt_message,
                mailport_outbox_record_attempt_enhanced_status,
                mailport_outbox_record_attempt_queue_id,
                mailport_outbox_record_attempt_transcript,
            ] {
                assert!(getter(r, 0).is_null());
            }
            assert_eq!(text(mailport_outbox_record_json(r)), "");
            assert_eq!(mailport_outbox_records_count(ptr::null()), 0);
            assert!(mailport_outbox_records_record(ptr::null(), 0).is_null());
            assert_eq!(text(mailport_outbox_records_json(ptr::null())), "");
            let s = ptr::null();
            assert_eq!(mailport_outbox_summary_sent(s), 0);
            assert_eq!(mailport_outbox_summary_deferred(s), 0);
            assert_eq!(mailport_outbox_summary_failed(s), 0);
            assert_eq!(mailport_outbox_summary_held(s), 0);
            assert_eq!(mailport_outbox_summary_via_backup(s), 0);
            assert_eq!(text(mailport_outbox_summary_json(s)), "");
            mailport_outbox_record_free(ptr::null_mut());
            mailport_outbox_records_free(ptr::null_mut());
            mailport_outbox_summary_free(ptr::null_mut());
            mailport_outbox_free(ptr::null_mut());
            mailport_message_free(m);
            mailport_outbox_free(outbox);
        }
    }

    #[test]
    fn bad_values_are_refused_and_name_what_is_wrong() {
        let spool = Spool::new("bad");
        let outbox = open(&spool);
        // SAFETY: valid handles and strings; the values are what is under test.
        unsafe {
            let mut opened: *mut mailport_outbox = ptr::dangling_mut();
            let (rc, msg) =
                run(|e| mailport_outbox_open(c"".as_ptr(), ptr::null(), 0, &mut opened, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.starts_with("location is empty"), "{msg}");
            let cfg = mailport_config_new();
            let configs = [cfg.cast_const()];
            let location = spool.c();
            let (rc, msg) = run(|e| {
                mailport_outbox_open(location.as_ptr(), configs.as_ptr(), 1, &mut opened, e)
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.starts_with("connections[0]: host is not set"), "{msg}");
            assert!(opened.is_null());
            mailport_config_free(cfg);

            let mut record: *mut mailport_outbox_record = ptr::dangling_mut();
            for bad in [
                c"".as_ptr(),
                c"../../etc/passwd".as_ptr(),
                c"1764979200000-0123".as_ptr(),
            ] {
                let (rc, msg) = run(|e| mailport_outbox_get(outbox, bad, &mut record, e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
                assert!(msg.contains("is not an outbox entry id"), "{msg}");
            }
            let (rc, msg) = run(|e| {
                mailport_outbox_get(
                    outbox,
                    c"1764979200000-0123456789abcdef".as_ptr(),
                    &mut record,
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.contains("there is no entry"), "{msg}");
            assert!(record.is_null());

            let states = [3u32, 0];
            let mut records: *mut mailport_outbox_records = ptr::dangling_mut();
            let (rc, msg) =
                run(|e| mailport_outbox_list(outbox, states.as_ptr(), 2, 0, &mut records, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(
                msg.starts_with("states[1]: 0 is not an entry state"),
                "{msg}"
            );

            // No connection: a run cannot deliver.
            let (rc, msg) = run(|e| mailport_outbox_run(outbox, 0, 0, ptr::null_mut(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.contains("no connection"), "{msg}");
            mailport_outbox_free(outbox);
        }
    }

    #[test]
    fn a_small_id_buffer_enqueues_nothing() {
        let spool = Spool::new("small");
        let outbox = open(&spool);
        let m = message();
        // SAFETY: valid handles; the buffers are what is under test.
        unsafe {
            let mut n = 0;
            let (rc, _) =
                run(|e| mailport_outbox_enqueue(outbox, m, ptr::null_mut(), 0, &mut n, e));
            assert_eq!((rc, n), (MAILPORT_ERR_BUFFER_TOO_SMALL, 30));
            let mut id = [0x55 as c_char; 30];
            let (rc, msg) = run(|e| {
                mailport_outbox_enqueue(outbox, m, id.as_mut_ptr(), 30, ptr::null_mut(), e)
            });
            assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
            assert!(msg.contains("nothing was enqueued"), "{msg}");
            assert_eq!(id[0], 0x55, "nothing written");
            let (rc, _) = run(|e| {
                mailport_outbox_enqueue(outbox, m, ptr::null_mut(), 31, ptr::null_mut(), e)
            });
            assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
            let to = [c"a@example.org".as_ptr()];
            let (rc, _) = run(|e| {
                mailport_outbox_enqueue_raw(
                    outbox,
                    c"me@example.org".as_ptr(),
                    to.as_ptr(),
                    1,
                    b"x".as_ptr().cast(),
                    1,
                    id.as_mut_ptr(),
                    3,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
            let mut records = ptr::null_mut();
            assert_eq!(
                run(|e| mailport_outbox_list(outbox, ptr::null(), 0, 0, &mut records, e)).0,
                MAILPORT_OK
            );
            assert_eq!(
                mailport_outbox_records_count(records),
                0,
                "nothing was enqueued"
            );
            assert_eq!(text(mailport_outbox_records_json(records)), "[]");
            mailport_outbox_records_free(records);
            mailport_message_free(m);
            mailport_outbox_free(outbox);
        }
    }

    #[test]
    fn enqueue_get_list_cancel_and_the_events_they_cause() {
        let spool = Spool::new("cycle");
        let outbox = open(&spool);
        let heard: Heard = Mutex::new(Vec::new());
        let m = message();
        // SAFETY: valid handles; `heard` outlives the outbox.
        unsafe {
            let userdata = &heard as *const Heard as *mut c_void;
            assert_eq!(
                run(|e| mailport_outbox_set_event_callback(outbox, Some(hear), userdata, e)).0,
                MAILPORT_OK
            );
            for setter in [
                mailport_outbox_set_min_backoff_ms,
                mailport_outbox_set_lifetime_ms,
            ] {
                assert_eq!(run(|e| setter(outbox, 0, e)).0, MAILPORT_OK);
            }
            assert_eq!(
                run(|e| mailport_outbox_set_keep_sent(outbox, true, e)).0,
                MAILPORT_OK
            );
            let policy = (*outbox).inner.policy();
            assert_eq!(
                (policy.min_backoff, policy.lifetime),
                (Duration::ZERO, Duration::ZERO)
            );
            assert!(policy.keep_sent);

            let first = enqueue(outbox, m);
            let to = [c"hidden@example.org".as_ptr()];
            let raw = b"Subject: raw\r\n\r\nbody\r\n";
            let mut id = [0 as c_char; 31];
            let (rc, msg) = run(|e| {
                mailport_outbox_enqueue_raw(
                    outbox,
                    c"bounce@example.com".as_ptr(),
                    to.as_ptr(),
                    1,
                    raw.as_ptr().cast(),
                    raw.len(),
                    id.as_mut_ptr(),
                    id.len(),
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_OK, "{msg}");
            let second = text(id.as_ptr());
            assert!(first < second, "ids sort by enqueue order");

            let first_c = CString::new(first.clone()).unwrap();
            let mut record = ptr::null_mut();
            assert_eq!(
                run(|e| mailport_outbox_get(outbox, first_c.as_ptr(), &mut record, e)).0,
                MAILPORT_OK
            );
            assert_eq!(text(mailport_outbox_record_id(record)), first);
            assert_eq!(
                mailport_outbox_record_state(record),
                mailport_outbox_state::MAILPORT_OUTBOX_STATE_QUEUED as u32
            );
            assert!(text(mailport_outbox_record_message_id(record)).starts_with('<'));
            assert_eq!(
                text(mailport_outbox_record_envelope_from(record)),
                "shop@example.com"
            );
            assert_eq!(mailport_outbox_record_recipient_count(record), 1);
            assert_eq!(
                text(mailport_outbox_record_recipient_address(record, 0)),
                "ann@example.org"
            );
            assert_eq!(
                text(mailport_outbox_record_recipient_state(record, 0)),
                "pending"
            );
            assert_eq!(text(mailport_outbox_record_recipient_reply(record, 0)), "");
            assert!(mailport_outbox_record_recipient_address(record, 1).is_null());
            assert_eq!(mailport_outbox_record_attempt_count(record), 0);
            assert_eq!(mailport_outbox_record_delivered_by(record), -1);
            assert!(mailport_outbox_record_size(record) > 0);
            assert!(mailport_outbox_record_created(record) <= mailport_outbox_record_due(record));
            let json: serde_json::Value =
                serde_json::from_str(&text(mailport_outbox_record_json(record))).unwrap();
            assert_eq!(json["id"], first.as_str());
            assert_eq!(json["state"], "queued");
            mailport_outbox_record_free(record);

            // Cancel the first; the second stays queued.
            let mut cancelled = ptr::null_mut();
            assert_eq!(
                run(|e| mailport_outbox_cancel(outbox, first_c.as_ptr(), &mut cancelled, e)).0,
                MAILPORT_OK
            );
            assert_eq!(
                mailport_outbox_record_state(cancelled),
                mailport_outbox_state::MAILPORT_OUTBOX_STATE_CANCELLED as u32
            );
            assert_eq!(text(mailport_outbox_record_reason(cancelled)), "cancelled");
            mailport_outbox_record_free(cancelled);
            let (rc, msg) =
                run(|e| mailport_outbox_cancel(outbox, first_c.as_ptr(), ptr::null_mut(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.contains("already cancelled"), "{msg}");
            let (rc, msg) =
                run(|e| mailport_outbox_retry(outbox, first_c.as_ptr(), ptr::null_mut(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(msg.contains("nothing to retry"), "{msg}");

            let queued = [mailport_outbox_state::MAILPORT_OUTBOX_STATE_QUEUED as u32];
            let mut records = ptr::null_mut();
            assert_eq!(
                run(|e| mailport_outbox_list(outbox, queued.as_ptr(), 1, 0, &mut records, e)).0,
                MAILPORT_OK
            );
            assert_eq!(mailport_outbox_records_count(records), 1);
            let only = mailport_outbox_records_record(records, 0);
            assert_eq!(text(mailport_outbox_record_id(only)), second);
            assert_eq!(
                text(mailport_outbox_record_envelope_from(only)),
                "bounce@example.com"
            );
            assert_eq!(text(mailport_outbox_record_message_id(only)), "");
            assert!(mailport_outbox_records_record(records, 1).is_null());
            let all: serde_json::Value =
                serde_json::from_str(&text(mailport_outbox_records_json(records))).unwrap();
            assert_eq!(all.as_array().unwrap().len(), 1);
            mailport_outbox_records_free(records);
            assert_eq!(
                run(|e| mailport_outbox_list(outbox, ptr::null(), 0, 1, &mut records, e)).0,
                MAILPORT_OK
            );
            assert_eq!(mailport_outbox_records_count(records), 1, "limit 1");
            assert_eq!(
                text(mailport_outbox_record_id(mailport_outbox_records_record(
                    records, 0
                ))),
                first
            );
            mailport_outbox_records_free(records);

            let mut removed = 9;
            assert_eq!(
                run(|e| mailport_outbox_prune(outbox, 3_600_000, &mut removed, e)).0,
                MAILPORT_OK
            );
            assert_eq!(removed, 0, "nothing that old");

            // Off again: later changes are not heard.
            assert_eq!(
                run(|e| mailport_outbox_set_event_callback(outbox, None, ptr::null_mut(), e)).0,
                MAILPORT_OK
            );
            let second_c = CString::new(second.clone()).unwrap();
            assert_eq!(
                run(|e| mailport_outbox_cancel(outbox, second_c.as_ptr(), ptr::null_mut(), e)).0,
                MAILPORT_OK
            );
            mailport_message_free(m);
            mailport_outbox_free(outbox);
        }
        let (queued, cancelled) = (
            mailport_outbox_state::MAILPORT_OUTBOX_STATE_QUEUED as u32,
            mailport_outbox_state::MAILPORT_OUTBOX_STATE_CANCELLED as u32,
        );
        let heard: Vec<(u32, String, u32, u32)> = heard
            .into_inner()
            .unwrap()
            .into_iter()
            .map(|(kind, id, from, to, connection, server, _)| {
                assert_eq!((kind, connection, server.as_str()), (0, 0, ""));
                (kind, id, from, to)
            })
            .collect();
        let ids: Vec<&str> = heard.iter().map(|h| h.1.as_str()).collect();
        assert_eq!(heard.len(), 3, "{heard:?}");
        assert_eq!((heard[0].2, heard[0].3), (0, queued));
        assert_eq!((heard[1].2, heard[1].3), (0, queued));
        assert_eq!((heard[2].2, heard[2].3), (queued, cancelled));
        assert_eq!(ids[0], ids[2]);
    }

    #[test]
    fn events_go_to_the_run_of_their_own_outbox() {
        let event = Event::StateChanged {
            id: EntryId::parse("1764979200000-0123456789abcdef").unwrap(),
            from: Some(State::Queued),
            to: State::Sent,
            message: Some("250 ok".into()),
        };
        let outer = Collecting::start(1);
        Collecting::heard(1, &event);
        Collecting::heard(2, &event);
        {
            let inner = Collecting::start(2);
            Collecting::heard(2, &event);
            assert_eq!(inner.take().len(), 1);
        }
        Collecting::heard(1, &event);
        assert_eq!(outer.take().len(), 2);
        drop(outer);
        RUNS.with(|runs| assert!(runs.borrow().is_empty()));
        let summary = mailport_outbox_summary::new(
            RunSummary {
                sent: 1,
                ..RunSummary::default()
            },
            &[
                event,
                Event::ConnectionFailing {
                    connection: 1,
                    server: "mx:25".into(),
                    message: "refused".into(),
                },
                Event::ConnectionRecovered {
                    connection: 1,
                    server: "mx:25".into(),
                },
            ],
        );
        let json: serde_json::Value = serde_json::from_str(summary.json.to_str().unwrap()).unwrap();
        assert_eq!(json["sent"], 1);
        assert_eq!(json["events"][0]["kind"], "state_changed");
        assert_eq!(json["events"][0]["from"], "queued");
        assert_eq!(json["events"][0]["to"], "sent");
        assert_eq!(json["events"][1]["kind"], "connection_failing");
        assert_eq!(json["events"][1]["connection"], 1);
        assert_eq!(json["events"][2]["kind"], "connection_recovered");
    }
}
