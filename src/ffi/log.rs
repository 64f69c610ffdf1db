//! The log callback: its C type, the event kinds, and the adapter that implements the core's
//! `transcript::Sink` on top of a C function pointer and its userdata.

use std::ffi::{c_char, c_void};

use crate::transcript::{Direction, Sink};

/// What a log event is; passed to a `mailport_log_callback` (set with
/// `mailport_config_set_log_callback`) as its `uint32_t kind`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_log_kind {
    /// Something mailport did or decided: connecting, TLS established, reconnecting.
    MAILPORT_LOG_INFO = 0,
    /// A line mailport sent to the server ("C:" in transcripts), already redacted.
    MAILPORT_LOG_SENT = 1,
    /// A line received from the server ("S:" in transcripts).
    MAILPORT_LOG_RECEIVED = 2,
}

impl mailport_log_kind {
    fn from_direction(direction: Direction) -> mailport_log_kind {
        match direction {
            Direction::Info => mailport_log_kind::MAILPORT_LOG_INFO,
            Direction::Sent => mailport_log_kind::MAILPORT_LOG_SENT,
            Direction::Received => mailport_log_kind::MAILPORT_LOG_RECEIVED,
        }
    }
}

/// A function that receives each transcript event as it happens.
///
/// `userdata` is the pointer given to `mailport_config_set_log_callback`, passed through
/// untouched. `kind` is a `mailport_log_kind` value (new kinds may be added: ignore unknown
/// ones). `text` is one line without CR/LF, NUL-terminated, `len` bytes long (not counting the
/// NUL), UTF-8, already redacted: AUTH payloads never appear and message bodies are replaced by
/// their size unless `mailport_config_set_transcript_bodies` enabled them.
///
/// The callback runs synchronously on the thread that called `mailport_client_send_raw`,
/// `_noop`, `_reset`, `_close` or `_free`, only during that call. `text` is valid only until the
/// callback returns: copy it to keep it. The callback must not call any function on the client
/// that is calling it, and must not unwind (C++ exceptions, longjmp) across mailport. When
/// several clients made from configs with the same callback run on different threads, the
/// callback runs on those threads concurrently and must be thread-safe.
pub type mailport_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, kind: u32, text: *const c_char, len: usize)>;

/// The core `Sink` that forwards events to a C callback.
pub(crate) struct CallbackSink {
    callback: unsafe extern "C" fn(*mut c_void, u32, *const c_char, usize),
    userdata: *mut c_void,
}

impl CallbackSink {
    pub(crate) fn new(
        callback: unsafe extern "C" fn(*mut c_void, u32, *const c_char, usize),
        userdata: *mut c_void,
    ) -> CallbackSink {
        CallbackSink { callback, userdata }
    }
}

// SAFETY: mailport never dereferences `userdata`; it only passes it back to the callback. The
// C contract of `mailport_config_set_log_callback` (restated on `mailport_log_callback`) makes
// the caller responsible for the callback and userdata being usable from whichever thread runs
// the client, and concurrently when clients sharing them run in parallel — the same rule as
// hyper's `UserDataPointer`.
unsafe impl Send for CallbackSink {}
// SAFETY: as above; `&CallbackSink` only ever reads the two pointers.
unsafe impl Sync for CallbackSink {}

impl Sink for CallbackSink {
    fn event(&self, direction: Direction, text: &str) {
        let kind = mailport_log_kind::from_direction(direction) as u32;
        // NUL-terminated copy for printf users; `len` lets binary-safe consumers see past an
        // interior NUL, should one ever appear.
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        // SAFETY: the pointers satisfy the documented callback contract: `text` is valid and
        // NUL-terminated for the duration of the call, `userdata` is the caller's own value.
        unsafe {
            (self.callback)(
                self.userdata,
                kind,
                bytes.as_ptr().cast::<c_char>(),
                text.len(),
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::sync::Mutex;

    unsafe extern "C" fn collect(
        userdata: *mut c_void,
        kind: u32,
        text: *const c_char,
        len: usize,
    ) {
        // SAFETY: the test passes a `Mutex<Vec<…>>` as userdata and mailport passes a valid text.
        unsafe {
            let seen = &*(userdata as *const Mutex<Vec<(u32, String, usize)>>);
            let text = CStr::from_ptr(text).to_str().unwrap().to_string();
            seen.lock().unwrap().push((kind, text, len));
        }
    }

    #[test]
    fn events_reach_the_callback_with_kind_text_and_length() {
        let seen: Mutex<Vec<(u32, String, usize)>> = Mutex::new(Vec::new());
        let sink = CallbackSink::new(collect, &seen as *const _ as *mut c_void);
        sink.event(Direction::Sent, "EHLO client.example");
        sink.event(Direction::Received, "250 ok");
        sink.event(Direction::Info, "connected");
        let seen = seen.into_inner().unwrap();
        assert_eq!(
            seen,
            [
                (1, "EHLO client.example".to_string(), 19),
                (2, "250 ok".to_string(), 6),
                (0, "connected".to_string(), 9),
            ]
        );
    }
}
