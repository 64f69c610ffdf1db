//! The outbox's events: the C callback, and the events a run collects for its summary.

use super::*;

/// The C callback and its userdata, called for each core [`Event`].
pub(super) struct EventCallback {
    pub(super) callback: unsafe extern "C" fn(
        *mut c_void,
        u32,
        *const c_char,
        u32,
        u32,
        usize,
        *const c_char,
        *const c_char,
    ),
    pub(super) userdata: *mut c_void,
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
    pub(super) fn deliver(&self, event: &Event) {
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
    pub(super) static RUNS: RefCell<Vec<(u64, Vec<Event>)>> = const { RefCell::new(Vec::new()) };
}

/// Tells outboxes apart in [`RUNS`].
pub(super) static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Collects the events of one run of one outbox on this thread, from `start` until dropped.
pub(super) struct Collecting(u64);

impl Collecting {
    pub(super) fn start(token: u64) -> Collecting {
        RUNS.with(|runs| runs.borrow_mut().push((token, Vec::new())));
        Collecting(token)
    }

    pub(super) fn heard(token: u64, event: &Event) {
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

    pub(super) fn take(&self) -> Vec<Event> {
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
