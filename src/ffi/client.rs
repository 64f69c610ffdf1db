//! `mailport_client_*`: the session handle.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

use super::boundary::{Out, copy_out};
use super::config::mailport_config;
use super::error::{mailport_error, mailport_result};
use super::message::mailport_message;
use super::receipt::mailport_receipt;
use super::version::owned_string;
use crate::client::{Client, Envelope};

/// An SMTP client: one configuration, one reusable session.
///
/// Made by `mailport_client_new` from a copy of a config. No network I/O happens until the first
/// call that needs the server; the session then stays open between messages (RSET in between)
/// and is reopened when it was closed or dropped. `mailport_client_free` says QUIT.
///
/// If a call on the client fails internally (`MAILPORT_ERR_PANIC`), the client refuses every
/// further call with `MAILPORT_ERR_INVALID_STATE`, except `mailport_client_free`.
///
/// **Thread safety:** a client may be moved between threads but must be used by one thread at
/// a time; there is no internal locking. Separate clients work in parallel, and may share the
/// config they were made from. The log callback runs on the calling thread, during the call.
///
/// Functions: mailport_client_new, mailport_client_send, mailport_client_send_raw,
/// mailport_client_noop, mailport_client_reset, mailport_client_close, mailport_client_port,
/// mailport_client_transcript, mailport_client_transcript_copy, mailport_client_free.
pub struct mailport_client {
    inner: Client,
    /// Set while a call runs and cleared when it returns normally: a call that panicked leaves
    /// it set, and the client is then refused (its state may be inconsistent).
    poisoned: AtomicBool,
}

#[cfg(test)]
thread_local! {
    /// Test-only: make the next client operation on this thread panic inside
    /// `mailport_client::with`, where the client is marked busy, so that the panic poisons it.
    /// (The boundary's own hook, `PANIC_IN_NEXT_CALL`, fires before that, when the call borrows
    /// the client.)
    static PANIC_IN_NEXT_OPERATION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl mailport_client {
    /// Run `f` on the core client unless the client is poisoned; poison it if `f` panics.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Client) -> Result<T, mailport_error>,
    ) -> Result<T, mailport_error> {
        if self.poisoned.swap(true, Ordering::Relaxed) {
            return Err(mailport_error::invalid_state());
        }
        #[cfg(test)]
        super::boundary::test_panic_point(&PANIC_IN_NEXT_OPERATION, "a client call");
        let result = f(&mut self.inner);
        self.poisoned.store(false, Ordering::Relaxed);
        result
    }

    fn check(&self) -> Result<&Client, mailport_error> {
        if self.poisoned.load(Ordering::Relaxed) {
            Err(mailport_error::invalid_state())
        } else {
            Ok(&self.inner)
        }
    }
}

/// Create a client from a copy of `cfg`.
///
/// Checks the whole configuration and prepares TLS (reading CA files and PEM data); no network
/// I/O happens until the first send. The config is copied: it may be changed, reused or freed
/// right away without affecting the client.
///
/// **Ownership:** `cfg` is only read. On success `*client_out` receives a new client that the
/// caller frees with `mailport_client_free`.
///
/// **NULL:** `cfg` and `client_out` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when the host is not
/// set or a value is invalid, or a CA file is missing, unreadable or holds no certificate (the
/// message names the value or file).
///
/// **Thread safety:** several threads may make clients from the same config at once, provided
/// nobody changes the config meanwhile.
///
/// # Safety
///
/// `cfg` must be NULL or a live config not being changed during the call; `client_out` and
/// `error_out` must each be NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_new(
    cfg: *const mailport_config,
    client_out: *mut *mut mailport_client,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_client> = out_arg!(client_out);
        out.require("client_out")?;
        let config = &arg_ref!(cfg, "cfg").0;
        if config.host.is_empty() {
            return Err(mailport_error::invalid_argument(
                "host is not set: call mailport_config_set_host or use mailport_config_from_url",
            ));
        }
        let inner = Client::new(config.clone())?;
        out.set(mailport_client { inner, poisoned: AtomicBool::new(false) });
        Ok(())
    })
}

/// Send a message built with `mailport_message_*` (or `mailport_wp_mail_build`).
///
/// The envelope comes from the message: MAIL FROM is its envelope sender
/// (`mailport_message_set_envelope_from`) or else its From address, and RCPT TO each of its To,
/// Cc and Bcc addresses once. Bcc addresses appear in no header. The message is checked (a From,
/// at least one recipient, attachment files still readable) before connecting, then connects if
/// needed and is rendered for this server: with SMTPUTF8 when the server offers it and an
/// address needs it, otherwise with internationalised domains in punycode. Attachment files are
/// read while the message is sent, never held in memory. Returns `MAILPORT_OK` only after the
/// server's final 2xx reply to the data: the message is then the server's responsibility.
///
/// **Ownership:** `message` is only read (borrowed for the call): it may be sent again, changed
/// or freed afterwards. On success `*receipt_out` (if not NULL) receives a new receipt, whose
/// `mailport_receipt_message_id` is the Message-ID sent; the caller frees it with
/// `mailport_receipt_free`.
///
/// **NULL:** `client` and `message` must not be NULL. `receipt_out` may be NULL (no receipt
/// wanted); `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when the message
/// has no From or no recipient; `MAILPORT_ERR_INVALID_ADDRESS` when an address cannot be used
/// with this server (a non-ASCII local part without SMTPUTF8); `MAILPORT_ERR_ATTACHMENT` when an
/// attachment file vanished, became unreadable or changed size while being sent (nothing is
/// delivered then); `MAILPORT_ERR_INVALID_STATE`; any network, TLS, authentication or SMTP code.
/// `MAILPORT_ERR_RECIPIENTS_REJECTED` lists each refused address in the error object.
///
/// **Thread safety:** not while another thread uses the same client. Several clients may send
/// the same message from several threads at once, provided nobody changes it meanwhile. The log
/// callback runs on this thread during the call.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread uses during the call; `message`
/// NULL or a live message that nobody changes during the call; `receipt_out` and `error_out`
/// each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_send(
    client: *mut mailport_client,
    message: *const mailport_message,
    receipt_out: *mut *mut mailport_receipt,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_receipt> = out_arg!(receipt_out);
        let client = arg_mut!(client, "client");
        let message = &arg_ref!(message, "message").0;
        let receipt = client.with(|c| Ok(c.send_message(message)?))?;
        out.set(receipt.into());
        Ok(())
    })
}

/// Send an already formatted RFC 5322 message (headers, blank line, body) to the given envelope.
///
/// Connects if needed, then MAIL FROM, RCPT TO for each recipient, DATA. Returns `MAILPORT_OK`
/// only after the server's final 2xx reply to the data: the message is then the server's
/// responsibility. The message is sent as given (line endings normalised to CRLF and lines
/// starting with "." escaped); it is not parsed, so Bcc recipients belong in `recipients` and
/// not in a header. To send a message built with `mailport_message_*`, use
/// `mailport_client_send`, which takes the envelope from the message.
///
/// **Ownership:** every argument is only read. On success `*receipt_out` (if not NULL) receives
/// a new receipt that the caller frees with `mailport_receipt_free`.
///
/// **NULL:** `client`, `envelope_from` and each of the `recipient_count` entries of
/// `recipients` must not be NULL. `message` may be NULL only when `message_len` is 0.
/// `receipt_out` may be NULL (no receipt wanted); `error_out` may be NULL. `envelope_from` may
/// be "" for the null reverse path ("<>", bounces), which some servers refuse.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for an invalid or
/// missing address (the message names it); `MAILPORT_ERR_INVALID_STATE`; any network, TLS,
/// authentication or SMTP code. `MAILPORT_ERR_RECIPIENTS_REJECTED` lists each refused address in
/// the error object.
///
/// **Thread safety:** not while another thread uses the same client. The log callback runs on
/// this thread during the call.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread uses during the call;
/// `envelope_from` NULL or NUL-terminated; `recipients` NULL or readable for `recipient_count`
/// pointers, each NULL or NUL-terminated; `message` NULL or readable for `message_len` bytes;
/// `receipt_out` and `error_out` each NULL or valid for writing one pointer. None of them may
/// change during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_send_raw(
    client: *mut mailport_client,
    envelope_from: *const c_char,
    recipients: *const *const c_char,
    recipient_count: usize,
    message: *const std::ffi::c_void,
    message_len: usize,
    receipt_out: *mut *mut mailport_receipt,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_receipt> = out_arg!(receipt_out);
        let client = arg_mut!(client, "client");
        let from = arg_str!(envelope_from, "envelope_from");
        let to: Vec<String> = arg_str_array!(recipients, recipient_count, "recipients")
            .into_iter()
            .map(str::to_string)
            .collect();
        let message = arg_bytes!(message, message_len, "message");
        let receipt = client.with(|c| {
            let envelope = Envelope::new(from, to)?;
            Ok(c.send_bytes(&envelope, message)?)
        })?;
        out.set(receipt.into());
        Ok(())
    })
}

/// Check that the server answers (NOOP), connecting first if needed.
///
/// **NULL:** `client` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`, `MAILPORT_ERR_INVALID_STATE`, and any network, TLS,
/// authentication or SMTP code.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_noop(
    client: *mut mailport_client,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        arg_mut!(client, "client").with(|c| Ok(c.noop().map(drop)?))
    })
}

/// Abort any transaction in progress (RSET) on an open connection; does nothing when none is
/// open.
///
/// **NULL:** `client` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`, `MAILPORT_ERR_INVALID_STATE`, and network or SMTP
/// codes.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_reset(
    client: *mut mailport_client,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        arg_mut!(client, "client").with(|c| Ok(c.reset()?))
    })
}

/// Say QUIT and close the connection, if one is open. The client stays usable: a later send
/// connects again. QUIT is bounded by the command timeout; a server that does not answer is
/// simply disconnected.
///
/// **NULL:** `client` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`, `MAILPORT_ERR_INVALID_STATE`.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_close(
    client: *mut mailport_client,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        arg_mut!(client, "client").with(|c| {
            c.close();
            Ok(())
        })
    })
}

/// Return the TCP port the client uses: the configured one, or, with `MAILPORT_PORT_AUTO`, the
/// port chosen automatically on first use (kept for the client's life). 0 while an automatic
/// choice has not been made yet (before the first send, or when every port failed).
///
/// **NULL:** `client` may be NULL: returns 0. Also returns 0 for a client that is unusable
/// after an internal error (`MAILPORT_ERR_INVALID_STATE`).
///
/// **Thread safety:** not while another thread uses the same client.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread changes during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_port(client: *const mailport_client) -> u16 {
    getter!(client, 0, |c| c.check().map_or(0, Client::port))
}

/// Copy the client's redacted transcript (recent sessions, bounded to about 64 KiB) into `buf`.
///
/// One line per event: "C: " sent, "S: " received, "* " mailport's own notes, each ending in
/// "\n". Credentials never appear; message bodies only if enabled with
/// `mailport_config_set_transcript_bodies`.
///
/// Copy-out convention: writes at most `len` bytes including a terminating NUL (when `len > 0`),
/// cutting at a UTF-8 character boundary, and always stores the full length (without the NUL)
/// in `*out_n`. Call once with `buf` = NULL and `len` = 0 to learn the size, then with a buffer
/// of `*out_n + 1` bytes. `mailport_client_transcript_copy` does both in one call.
///
/// **Ownership:** the text is copied into the caller's buffer.
///
/// **NULL:** `client` must not be NULL; `buf` may be NULL only when `len` is 0; `out_n` may be
/// NULL.
///
/// **Errors** (returned; there is no error object): `MAILPORT_ERR_NULL_ARGUMENT`,
/// `MAILPORT_ERR_BUFFER_TOO_SMALL` when the text and its NUL did not fit (including the sizing
/// call), `MAILPORT_ERR_INVALID_STATE`, `MAILPORT_ERR_PANIC`.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread changes during the call; `buf`
/// NULL or writable for `len` bytes; `out_n` NULL or valid for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_transcript(
    client: *const mailport_client,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> mailport_result {
    ffi_boundary!({
        // SAFETY: guaranteed by this function's contract.
        let Some(client) = (unsafe { client.as_ref() }) else {
            return mailport_result::MAILPORT_ERR_NULL_ARGUMENT;
        };
        let Ok(inner) = client.check() else {
            return mailport_result::MAILPORT_ERR_INVALID_STATE;
        };
        // SAFETY: guaranteed by this function's contract.
        unsafe { copy_out(&inner.transcript(), buf, len, out_n) }
    })
}

/// Return a copy of the client's redacted transcript (see `mailport_client_transcript`) as a
/// new string.
///
/// **Ownership:** the string belongs to the caller, who frees it with `mailport_string_free`.
///
/// **NULL:** returns NULL when `client` is NULL or unusable (`MAILPORT_ERR_INVALID_STATE`), or on
/// an internal error. Returns "" (not NULL) when the transcript is empty.
///
/// # Safety
///
/// `client` must be NULL or a live client that no other thread changes during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_transcript_copy(
    client: *const mailport_client,
) -> *mut c_char {
    ffi_boundary!({
        // SAFETY: guaranteed by this function's contract.
        match unsafe { client.as_ref() }.map(mailport_client::check) {
            Some(Ok(inner)) => owned_string(inner.transcript()),
            _ => std::ptr::null_mut(),
        }
    })
}

/// Close the connection (QUIT, bounded by the command timeout) and free the client.
///
/// **Ownership:** takes back `client`.
///
/// **NULL:** `client` may be NULL (nothing happens).
///
/// # Safety
///
/// `client` must be NULL or a client from mailport that has not been freed, and that no other
/// thread is using. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_client_free(client: *mut mailport_client) {
    ffi_boundary!({
        if !client.is_null() {
            // SAFETY: the caller passes a client mailport boxed and has not freed yet. Dropping
            // the core client says QUIT; the memory is released even if that panics.
            drop(unsafe { Box::from_raw(client) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::test_support::{run, text};
    use crate::ffi::{
        mailport_config_free, mailport_config_new, mailport_config_set_host,
        mailport_config_set_port,
    };

    use std::ptr;

    use mailport_result::*;

    /// A client for a port where nothing listens (no I/O happens before a send).
    fn client() -> *mut mailport_client {
        // SAFETY: plain sequence of valid calls.
        unsafe {
            let cfg = mailport_config_new();
            assert_eq!(
                run(|e| mailport_config_set_host(cfg, c"127.0.0.1".as_ptr(), e)).0,
                MAILPORT_OK
            );
            assert_eq!(run(|e| mailport_config_set_port(cfg, 9, e)).0, MAILPORT_OK);
            let mut client = ptr::null_mut();
            let (rc, m) = run(|e| mailport_client_new(cfg, &mut client, e));
            assert_eq!(rc, MAILPORT_OK, "{m}");
            mailport_config_free(cfg);
            client
        }
    }

    #[test]
    fn null_arguments_are_reported_by_name() {
        let null = ptr::null_mut();
        let to = [c"a@example.org".as_ptr()];
        let mut receipt: *mut mailport_receipt = ptr::dangling_mut();
        let mut client_out: *mut mailport_client = ptr::dangling_mut();
        // SAFETY: NULL handles are the case under test; every other pointer is valid.
        unsafe {
            let (rc, m) = run(|e| mailport_client_new(ptr::null(), &mut client_out, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "cfg must not be NULL")
            );
            assert!(client_out.is_null());
            let (rc, m) = run(|e| {
                mailport_client_send_raw(
                    null,
                    c"me@example.org".as_ptr(),
                    to.as_ptr(),
                    1,
                    ptr::null(),
                    0,
                    &mut receipt,
                    e,
                )
            });
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "client must not be NULL")
            );
            assert!(receipt.is_null());
            for call in [
                mailport_client_noop,
                mailport_client_reset,
                mailport_client_close,
            ] {
                let (rc, m) = run(|e| call(null, e));
                assert_eq!(
                    (rc, m.as_str()),
                    (MAILPORT_ERR_NULL_ARGUMENT, "client must not be NULL")
                );
            }
            let mut n = 7;
            assert_eq!(
                mailport_client_transcript(null, ptr::null_mut(), 0, &mut n),
                MAILPORT_ERR_NULL_ARGUMENT
            );
            assert!(mailport_client_transcript_copy(null).is_null());
            assert_eq!(mailport_client_port(null), 0);
            mailport_client_free(null);
        }
    }

    #[test]
    fn a_config_without_host_is_refused() {
        // SAFETY: valid calls.
        unsafe {
            let cfg = mailport_config_new();
            let mut client: *mut mailport_client = ptr::dangling_mut();
            let (rc, m) = run(|e| mailport_client_new(cfg, &mut client, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with("host is not set"), "{m}");
            assert!(client.is_null());
            let (rc, m) = run(|e| mailport_client_new(cfg, ptr::null_mut(), e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "client_out must not be NULL")
            );
            mailport_config_free(cfg);
        }
    }

    #[test]
    fn the_port_is_the_configured_one_or_the_automatic_choice() {
        use crate::ffi::{mailport_config_set_security, mailport_port, mailport_security};
        let fixed = client();
        // SAFETY: plain sequence of valid calls; every object is freed once.
        unsafe {
            assert_eq!(mailport_client_port(fixed), 9);
            mailport_client_free(fixed);

            let cfg = mailport_config_new();
            let auto = mailport_port::MAILPORT_PORT_AUTO as u32;
            assert_eq!(
                run(|e| mailport_config_set_host(cfg, c"127.0.0.1".as_ptr(), e)).0,
                MAILPORT_OK
            );
            assert_eq!(
                run(|e| mailport_config_set_port(cfg, auto, e)).0,
                MAILPORT_OK
            );
            let mut client = ptr::null_mut();
            let (rc, m) = run(|e| mailport_client_new(cfg, &mut client, e));
            assert_eq!(rc, MAILPORT_OK, "{m}");
            assert_eq!(
                mailport_client_port(client),
                0,
                "no choice before the first send"
            );
            mailport_client_free(client);

            // The automatic choice only picks encrypted ports: the config check refuses it with
            // security none or opportunistic, when the client is made.
            for security in [
                mailport_security::MAILPORT_SECURITY_NONE,
                mailport_security::MAILPORT_SECURITY_OPPORTUNISTIC,
            ] {
                let rc = run(|e| mailport_config_set_security(cfg, security as u32, e)).0;
                assert_eq!(rc, MAILPORT_OK);
                client = ptr::dangling_mut();
                let (rc, m) = run(|e| mailport_client_new(cfg, &mut client, e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{security:?}");
                assert!(m.contains("automatic choice"), "{m}");
                assert!(client.is_null());
            }
            mailport_config_free(cfg);
        }
    }

    #[test]
    fn send_arguments_are_checked_before_any_io() {
        let client = client();
        // SAFETY: `client` is live; arrays and strings are valid or deliberately NULL/bad.
        unsafe {
            let two = [c"a@example.org".as_ptr(), ptr::null()];
            let (rc, m) = run(|e| {
                mailport_client_send_raw(
                    client,
                    c"me@example.org".as_ptr(),
                    two.as_ptr(),
                    2,
                    ptr::null(),
                    0,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "recipients[1] must not be NULL")
            );

            let (rc, m) = run(|e| {
                mailport_client_send_raw(
                    client,
                    c"me@\xffexample.org".as_ptr(),
                    two.as_ptr(),
                    1,
                    ptr::null(),
                    0,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.starts_with("envelope_from is not valid UTF-8"), "{m}");

            let (rc, m) = run(|e| {
                mailport_client_send_raw(
                    client,
                    c"me@example.org".as_ptr(),
                    two.as_ptr(),
                    1,
                    ptr::null(),
                    5,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL")
            );

            let bad = [c"not an address\r\nRCPT TO:<x@y>".as_ptr()];
            let (rc, m) = run(|e| {
                mailport_client_send_raw(
                    client,
                    c"me@example.org".as_ptr(),
                    bad.as_ptr(),
                    1,
                    b"x".as_ptr().cast(),
                    1,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.contains("recipient 1"), "{m}");

            // Nothing was sent, so the transcript is empty: sizing call, then exact fit.
            let mut n = usize::MAX;
            assert_eq!(
                mailport_client_transcript(client, ptr::null_mut(), 0, &mut n),
                MAILPORT_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(n, 0);
            let mut buf = [1 as c_char; 1];
            assert_eq!(
                mailport_client_transcript(client, buf.as_mut_ptr(), 1, &mut n),
                MAILPORT_OK
            );
            assert_eq!(buf[0], 0);
            let copy = mailport_client_transcript_copy(client);
            assert_eq!(text(copy), "");
            crate::ffi::mailport_string_free(copy);
            mailport_client_free(client);
        }
    }

    #[test]
    fn send_checks_its_arguments_and_the_message_before_any_io() {
        use crate::ffi::{
            mailport_message, mailport_message_add_bcc, mailport_message_free,
            mailport_message_new, mailport_message_set_from,
        };
        let client = client();
        // SAFETY: `client` and `message` are live until freed at the end; other pointers are
        // valid out locations or deliberately NULL.
        unsafe {
            let message: *mut mailport_message = mailport_message_new();
            let mut receipt: *mut mailport_receipt = ptr::dangling_mut();
            let (rc, m) = run(|e| mailport_client_send(ptr::null_mut(), message, &mut receipt, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "client must not be NULL")
            );
            assert!(receipt.is_null(), "receipt_out is NULLed on entry");
            let (rc, m) = run(|e| mailport_client_send(client, ptr::null(), &mut receipt, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL")
            );

            // Nothing listens on the client's port: these fail before connecting.
            let (rc, m) = run(|e| mailport_client_send(client, message, &mut receipt, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.contains("no From"), "{m}");
            let e = ptr::null_mut();
            assert_eq!(
                mailport_message_set_from(message, c"me@example.org".as_ptr(), e),
                MAILPORT_OK
            );
            let (rc, m) = run(|e| mailport_client_send(client, message, ptr::null_mut(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(m.contains("no recipients"), "{m}");

            // A sendable message goes as far as connecting.
            assert_eq!(
                mailport_message_add_bcc(message, c"b@example.org".as_ptr(), e),
                MAILPORT_OK
            );
            let (rc, _) = run(|e| mailport_client_send(client, message, &mut receipt, e));
            assert_eq!(rc, MAILPORT_ERR_CONNECT_REFUSED);
            assert!(receipt.is_null());

            // A panicking send poisons the client like every other call.
            PANIC_IN_NEXT_OPERATION.with(|p| p.set(true));
            let (rc, _) = run(|e| mailport_client_send(client, message, &mut receipt, e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);
            let (rc, _) = run(|e| mailport_client_send(client, message, &mut receipt, e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_STATE);
            mailport_message_free(message);
            mailport_client_free(client);
        }
    }

    #[test]
    fn a_panic_poisons_the_client_until_it_is_freed() {
        let client = client();
        PANIC_IN_NEXT_OPERATION.with(|p| p.set(true));
        // SAFETY: `client` is live until the free at the end.
        unsafe {
            let (rc, m) = run(|e| mailport_client_noop(client, e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);
            assert!(m.contains("test-only panic inside a client call"), "{m}");
            for call in [
                mailport_client_noop,
                mailport_client_reset,
                mailport_client_close,
            ] {
                let (rc, m) = run(|e| call(client, e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_STATE);
                assert!(m.contains("free it"), "{m}");
            }
            let to = [c"a@example.org".as_ptr()];
            let (rc, _) = run(|e| {
                mailport_client_send_raw(
                    client,
                    c"".as_ptr(),
                    to.as_ptr(),
                    1,
                    ptr::null(),
                    0,
                    ptr::null_mut(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_INVALID_STATE);
            let mut n = 0;
            assert_eq!(
                mailport_client_transcript(client, ptr::null_mut(), 0, &mut n),
                MAILPORT_ERR_INVALID_STATE
            );
            assert!(mailport_client_transcript_copy(client).is_null());
            assert_eq!(mailport_client_port(client), 0);
            mailport_client_free(client);
        }
    }
}
