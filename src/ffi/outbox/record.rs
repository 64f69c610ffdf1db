//! `mailport_outbox_record_*` and `mailport_outbox_records_*`: what the outbox keeps of each entry.

use super::*;

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
impl crate::ffi::boundary::PanicDefault for *const mailport_outbox_record {
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
    pub(super) records: Box<[mailport_outbox_record]>,
    pub(super) json: OnceLock<CString>,
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
