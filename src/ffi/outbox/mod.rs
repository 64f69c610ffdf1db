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

use events::{Collecting, EventCallback, NEXT_TOKEN};

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

/// What `mailport_outbox_get`, `_retry` and `_cancel` share: `act` on the entry `id`, then its
/// record as `act` left it into `*record_out`, which `get` requires (`record_required`) and the
/// others let be NULL.
///
/// # Safety
///
/// `outbox` must be NULL or a live outbox whose setters no thread calls meanwhile; `id` NULL
/// or NUL-terminated; `record_out` and `error_out` each NULL or valid for writing one pointer.
unsafe fn entry_call(
    outbox: *const mailport_outbox,
    id: *const c_char,
    record_out: *mut *mut mailport_outbox_record,
    record_required: bool,
    error_out: *mut *mut mailport_error,
    act: fn(&Outbox, &EntryId) -> crate::error::Result<Record>,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_outbox_record> = out_arg!(record_out);
        if record_required {
            out.require("record_out")?;
        }
        let outbox = arg_ref!(outbox, "outbox");
        let id = entry_id(arg_str!(id, "id"))?;
        out.set(act(&outbox.inner, &id)?.into());
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
    // SAFETY: this function's contract is entry_call's.
    unsafe { entry_call(outbox, id, record_out, true, error_out, Outbox::get) }
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
    // SAFETY: this function's contract is entry_call's.
    unsafe { entry_call(outbox, id, record_out, false, error_out, Outbox::retry) }
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
    // SAFETY: this function's contract is entry_call's.
    unsafe { entry_call(outbox, id, record_out, false, error_out, Outbox::cancel) }
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

// The records and the summaries, in the header after the outbox functions (cbindgen keeps
// the order it reads them in).
mod events;
mod record;
mod summary;

pub use record::*;
pub use summary::*;

#[cfg(test)]
mod tests;
