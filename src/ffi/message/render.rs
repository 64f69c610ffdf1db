//! The message's RFC 5322 bytes.

use super::mailport_message;
use crate::ffi::boundary::copy_out_bytes;
use crate::ffi::error::{mailport_error, mailport_result};

/// Render the message as RFC 5322 bytes (headers, a blank line, the MIME body, CRLF line
/// endings) into `buf`, as it would be sent to a server without SMTPUTF8: for dry runs, tests
/// and `.eml` files. Bcc recipients do not appear.
///
/// Copy-out convention for bytes: writes at most `len` bytes and **no terminating NUL** (the
/// output is data, not a C string: keep the length), and always stores the full length in
/// `*out_n` once the message is rendered (0 if it could not be). A buffer of exactly `*out_n`
/// bytes is enough. Call once with `buf` = NULL and `len` = 0 to learn the size, then with a
/// buffer of that size. When the buffer is too small, its `len` bytes hold the start of the
/// message.
///
/// Each call renders the message afresh, reading attachment files into memory. Unless the Date
/// and Message-ID were set (`mailport_message_set_date`, `mailport_message_set_message_id`),
/// they and the MIME boundaries differ between calls, and the length can change by a byte if
/// the date changes between the sizing call and the copy: call again while
/// `MAILPORT_ERR_BUFFER_TOO_SMALL` comes back.
///
/// **Ownership:** `message` is only read; the bytes are copied into the caller's buffer.
///
/// **NULL:** `message` must not be NULL; `buf` may be NULL only when `len` is 0; `out_n` may be
/// NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_BUFFER_TOO_SMALL` when the message did
/// not fit (including the sizing call); `MAILPORT_ERR_INVALID_ARGUMENT` when the message has no
/// From, or an address cannot be written without SMTPUTF8 (a non-ASCII local part);
/// `MAILPORT_ERR_ATTACHMENT` or `MAILPORT_ERR_IO` when an attachment file cannot be read.
///
/// **Thread safety:** several threads may render (or send) the same message at once, provided
/// nobody changes it meanwhile.
///
/// # Safety
///
/// `message` must be NULL or a live message that nobody changes during the call; `buf` NULL or
/// writable for `len` bytes; `out_n` NULL or valid for writing one `size_t`; `error_out` NULL or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_render(
    message: *const mailport_message,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        if !out_n.is_null() {
            // SAFETY: this function's contract makes a non-NULL `out_n` valid for writes.
            unsafe { *out_n = 0 };
        }
        let message = &arg_ref!(message, "message").0;
        if buf.is_null() && len != 0 {
            return Err(mailport_error::null_argument("buf"));
        }
        let bytes = message.to_bytes()?;
        // SAFETY: guaranteed by this function's contract (`buf` is non-NULL when `len` > 0).
        match unsafe { copy_out_bytes(&bytes, buf, len, out_n) } {
            mailport_result::MAILPORT_OK => Ok(()),
            _ => Err(mailport_error::buffer_too_small("the message", bytes.len(), len)),
        }
    })
}
