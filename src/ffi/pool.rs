//! `mailport_pool_drain`: the process-wide pool of persistent sessions, for worker shutdown.
//!
//! Functions: mailport_pool_drain.

use super::error::{mailport_error, mailport_result};

/// Say QUIT on every idle session of the persistent pool and close it, waiting at most
/// `timeout_ms` in all: for a worker that is about to exit (a php-fpm child at the end of its
/// `pm.max_requests`, a Python service on SIGTERM, a C daemon's shutdown), so that servers see
/// a polite end rather than connections cut by the exit (some servers count those against the
/// client).
///
/// Sessions are QUIT one after another, each waiting for its reply at most as long as a QUIT
/// usually takes (2 s) and never past the `timeout_ms` budget; a session whose turn comes after
/// the budget is spent is closed without QUIT. `timeout_ms` 0 closes every idle session at once
/// without QUIT. Sessions in use by a client are not touched: they go back to the pool when
/// their client is closed or freed, and a later drain closes them. The pool stays usable: later
/// persistent clients connect anew.
///
/// In a child of `fork()`, the sessions inherited from the parent belong to the parent: they
/// are never written to (no QUIT) and not counted; the child only closes its copies of their
/// sockets, which leaves the parent's connections untouched.
///
/// **Ownership:** nothing to free. `*closed_out` receives how many sessions were closed.
///
/// **NULL:** `closed_out` may be NULL (the count is not wanted). `error_out` may be NULL.
///
/// **Errors:** none but `MAILPORT_ERR_PANIC`: a QUIT that fails (the server had already gone)
/// still closes its session, and counts as closed.
///
/// **Thread safety:** may be called from any thread at any time, also while other threads
/// send: their sessions are not affected.
///
/// # Safety
///
/// `closed_out` must be NULL or valid for writing one `size_t`; `error_out` NULL or valid for
/// writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_pool_drain(
    timeout_ms: u32,
    closed_out: *mut usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    if !closed_out.is_null() {
        // SAFETY: the caller guarantees a non-NULL `closed_out` is valid for writes.
        unsafe { *closed_out = 0 };
    }
    ffi_boundary!(error_out => {
        let closed =
            crate::pool::drain(std::time::Duration::from_millis(u64::from(timeout_ms)));
        if !closed_out.is_null() {
            // SAFETY: as above.
            unsafe { *closed_out = closed };
        }
        Ok(())
    })
}
