//! The message's RFC 5322 bytes: copied into a caller's buffer, handed over as an owned
//! `mailport_bytes`, or streamed to a file descriptor or a callback. Each renders once.

use std::ffi::{c_int, c_void};
use std::io::{self, Write};
use std::ptr;

use super::mailport_message;
use crate::ffi::boundary::Out;
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
/// The sizing call renders only the headers and text parts: attachments are measured, not read
/// (base64 of a known length has a known length). The filling call renders once, straight into
/// `buf`, with no copy held by mailport; it stops encoding once `buf` is full. Unless the Date
/// and Message-ID were set (`mailport_message_set_date`, `mailport_message_set_message_id`),
/// they and the MIME boundaries differ between calls, but their widths are fixed, so the length
/// stays the same unless the message or an attachment file changes in between: still, call
/// again while `MAILPORT_ERR_BUFFER_TOO_SMALL` comes back. To get the bytes without a second
/// call, use `mailport_message_render_bytes`; to write them to a file or a socket in bounded
/// memory, `mailport_message_render_to_fd` or `mailport_message_render_to_callback`.
///
/// **Ownership:** `message` is only read; the bytes are written into the caller's buffer.
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
        let target: &mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: `buf` is non-NULL and writable for `len` bytes (this function's contract).
            unsafe { std::slice::from_raw_parts_mut(buf, len) }
        };
        let size = message.render_into(target)?;
        // A size that does not fit in memory cannot fit in any buffer either.
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if !out_n.is_null() {
            // SAFETY: as above.
            unsafe { *out_n = size };
        }
        if size > len {
            return Err(mailport_error::buffer_too_small("the message", size, len));
        }
        Ok(())
    })
}

/// Bytes that mailport rendered and handed over: read them with `mailport_bytes_data` and
/// `mailport_bytes_len`, free them with `mailport_bytes_free`.
///
/// Made by `mailport_message_render_bytes`. Immutable: may be read from any thread.
///
/// Functions: mailport_bytes_data, mailport_bytes_len, mailport_bytes_free.
pub struct mailport_bytes(Vec<u8>);

/// Render the message once into bytes that the caller then owns: what
/// `mailport_message_render` gives, without the sizing call and without a copy (the buffer is
/// allocated at its final size and filled in place). For a large message written to a file or
/// a socket, `mailport_message_render_to_fd` uses bounded memory instead.
///
/// **Ownership:** `message` is only read. On success `*bytes_out` receives a new
/// `mailport_bytes` that the caller frees with `mailport_bytes_free`.
///
/// **NULL:** `message` and `bytes_out` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when the message has
/// no From, or an address cannot be written without SMTPUTF8; `MAILPORT_ERR_ATTACHMENT` or
/// `MAILPORT_ERR_IO` when an attachment file cannot be read or changed since it was attached.
///
/// **Thread safety:** several threads may render (or send) the same message at once, provided
/// nobody changes it meanwhile.
///
/// # Safety
///
/// `message` must be NULL or a live message that nobody changes during the call; `bytes_out`
/// and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_render_bytes(
    message: *const mailport_message,
    bytes_out: *mut *mut mailport_bytes,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_bytes> = out_arg!(bytes_out);
        out.require("bytes_out")?;
        let message = &arg_ref!(message, "message").0;
        out.set(mailport_bytes(message.to_bytes()?));
        Ok(())
    })
}

/// The first byte of `bytes`; `mailport_bytes_len` bytes are readable from there (no NUL
/// follows: the message is data, not a C string).
///
/// **Ownership:** borrowed from `bytes`, valid until `mailport_bytes_free`.
///
/// **NULL:** returns NULL when `bytes` is NULL. Never NULL otherwise (a non-NULL pointer even
/// when the length is 0).
///
/// **Thread safety:** may be called from any thread.
///
/// # Safety
///
/// `bytes` must be NULL or a `mailport_bytes` from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_bytes_data(bytes: *const mailport_bytes) -> *const u8 {
    // Not `getter!`: a `*const u8` panic default would clash with `*const c_char`'s where
    // `char` is unsigned. Nothing here can panic; the guard is for form.
    std::panic::catch_unwind(|| {
        // SAFETY: the caller passes NULL or a live `mailport_bytes` (this function's contract).
        match unsafe { bytes.as_ref() } {
            Some(b) => b.0.as_ptr(),
            None => ptr::null(),
        }
    })
    .unwrap_or(ptr::null())
}

/// The number of bytes in `bytes`.
///
/// **NULL:** returns 0 when `bytes` is NULL.
///
/// **Thread safety:** may be called from any thread.
///
/// # Safety
///
/// `bytes` must be NULL or a `mailport_bytes` from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_bytes_len(bytes: *const mailport_bytes) -> usize {
    getter!(bytes, 0, |b| b.0.len())
}

/// Free bytes from `mailport_message_render_bytes`; pointers from `mailport_bytes_data` become
/// invalid.
///
/// **Ownership:** takes back `bytes`.
///
/// **NULL:** `bytes` may be NULL (nothing happens).
///
/// # Safety
///
/// `bytes` must be NULL or a `mailport_bytes` from mailport that has not been freed, and that
/// no other thread is reading. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_bytes_free(bytes: *mut mailport_bytes) {
    ffi_boundary!({
        if !bytes.is_null() {
            // SAFETY: the caller passes bytes mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(bytes) });
        }
    })
}

/// Render the message straight into a file descriptor the caller owns (a file, a pipe, a
/// socket), in bounded memory: attachments are read and base64-encoded a chunk at a time, so a
/// 25 MiB attachment costs about 140 KB of buffers, not the message. The bytes are those of
/// `mailport_message_render`.
///
/// `fd` is written with `write(2)` from its current offset and is not closed; a non-blocking
/// descriptor is waited on with `poll` when full. SIGPIPE is blocked in the calling thread
/// during the call, so a pipe or socket whose reader is gone gives an `EPIPE` error, never the
/// signal (the thread's signal mask is restored on return).
///
/// **Ownership:** `message` is only read; `fd` stays the caller's.
///
/// **NULL:** `message` must not be NULL. `out_written` may be NULL; when not, it receives the
/// number of bytes written, also on failure (then the descriptor holds that prefix of the
/// message). `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `fd` is
/// negative, the message has no From, or an address cannot be written without SMTPUTF8;
/// `MAILPORT_ERR_IO` when a write fails (the message names the descriptor and the errno, e.g.
/// "writing to fd 5 failed with ENOSPC: No space left on device", and how many bytes were
/// written) or an attachment cannot be read; `MAILPORT_ERR_ATTACHMENT` when an attachment file
/// changed since it was attached.
///
/// **Thread safety:** several threads may render (or send) the same message at once, provided
/// nobody changes it meanwhile; writes to one descriptor from several threads interleave.
///
/// # Safety
///
/// `message` must be NULL or a live message that nobody changes during the call; `out_written`
/// NULL or valid for writing one `uint64_t`; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_render_to_fd(
    message: *const mailport_message,
    fd: c_int,
    out_written: *mut u64,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let mut counted = Counted::new(out_written);
        let message = &arg_ref!(message, "message").0;
        let result = message.write_to_fd_counted(fd, &mut counted.n);
        counted.store();
        result?;
        Ok(())
    })
}

/// A function that receives the rendered message piece by piece, in order, from
/// `mailport_message_render_to_callback`.
///
/// `user_data` is the pointer given to `mailport_message_render_to_callback`, passed through
/// untouched. `data` points at `len` bytes (never 0) of the message, valid only until the
/// callback returns: write or copy them. Return 0 to go on; any other value stops the rendering,
/// and `mailport_message_render_to_callback` fails with `MAILPORT_ERR_IO` naming that value.
///
/// The callback runs synchronously on the thread that called
/// `mailport_message_render_to_callback`, only during that call. It must not change the message
/// and must not unwind (C++ exceptions, longjmp) across mailport.
pub type mailport_write_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, data: *const u8, len: usize) -> c_int>;

/// Render the message and hand its bytes to `callback` piece by piece, in bounded memory (as
/// `mailport_message_render_to_fd` does), for destinations that are not a file descriptor: a
/// compressor, a hash, a language runtime's stream. The bytes are those of
/// `mailport_message_render`, in pieces of at most about 80 KB.
///
/// **Ownership:** `message` is only read; `user_data` is passed to the callback untouched.
///
/// **NULL:** `message` and `callback` must not be NULL; `user_data` may be NULL (it is only
/// passed to the callback). `out_written` may be NULL; when not, it receives the number of
/// bytes the callback accepted, also on failure. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when the message has
/// no From, or an address cannot be written without SMTPUTF8; `MAILPORT_ERR_IO` when the callback
/// returned non-zero (the message gives its value and how many bytes it had accepted) or an
/// attachment cannot be read; `MAILPORT_ERR_ATTACHMENT` when an attachment file changed since it
/// was attached.
///
/// **Thread safety:** the callback runs on the calling thread. Several threads may render (or
/// send) the same message at once, provided nobody changes it meanwhile.
///
/// # Safety
///
/// `message` must be NULL or a live message that nobody changes during the call; `callback`
/// NULL or a function with the `mailport_write_callback` signature, safe to call with
/// `user_data`; `out_written` NULL or valid for writing one `uint64_t`; `error_out` NULL or
/// valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_render_to_callback(
    message: *const mailport_message,
    callback: mailport_write_callback,
    user_data: *mut c_void,
    out_written: *mut u64,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let mut counted = Counted::new(out_written);
        let message = &arg_ref!(message, "message").0;
        let Some(callback) = callback else {
            return Err(mailport_error::null_argument("callback"));
        };
        let mut writer = CallbackWriter { callback, user_data };
        let result = message.write_to_counted(&mut writer, &mut counted.n);
        counted.store();
        result?;
        Ok(())
    })
}

/// An `out_written` parameter: 0 on entry, the count on return whatever the outcome.
struct Counted {
    out: *mut u64,
    n: u64,
}

impl Counted {
    fn new(out: *mut u64) -> Counted {
        let counted = Counted { out, n: 0 };
        counted.store();
        counted
    }

    fn store(&self) {
        if !self.out.is_null() {
            // SAFETY: the exported functions' contracts make a non-NULL `out_written` valid for
            // writing one `uint64_t`.
            unsafe { *self.out = self.n };
        }
    }
}

/// The core's `Write` on top of a C write callback.
struct CallbackWriter {
    callback: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> c_int,
    user_data: *mut c_void,
}

impl Write for CallbackWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // SAFETY: the caller of mailport_message_render_to_callback promised a callback that is
        // safe to call with `user_data`; `buf` is valid for `len` bytes during the call.
        let rc = unsafe { (self.callback)(self.user_data, buf.as_ptr(), buf.len()) };
        if rc != 0 {
            return Err(io::Error::other(format!(
                "the write callback returned {rc}, which stops the rendering"
            )));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
