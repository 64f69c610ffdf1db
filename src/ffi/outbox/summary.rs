//! `mailport_outbox_summary_*`: what a run did.

use super::*;

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
    pub(super) json: CString,
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
    pub(super) fn new(counts: RunSummary, events: &[Event]) -> mailport_outbox_summary {
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
