//! `mailport_message_*`: the message a caller builds, sends with `mailport_client_send` and
//! renders with `mailport_message_render`.

use super::boundary::Out;
use super::error::{mailport_error, mailport_result};
use crate::message::Message;

/// An email message: addresses, subject, text and HTML bodies, attachments, extra headers.
///
/// Made empty by `mailport_message_new`, or by `mailport_wp_mail_build`. Sent with
/// `mailport_client_send`, which only borrows it: a message can be sent any number of times, and
/// `mailport_message_clone` makes variants. `mailport_message_render` gives its RFC 5322 bytes.
///
/// Every setter checks its value when it is called, and the error names the field: a bad
/// address fails in `mailport_message_add_to`, a line break in a header value in
/// `mailport_message_add_header`, never later at send time. A setter that fails leaves the
/// message unchanged. `set_` functions replace, `add_` functions append. Only what concerns the
/// whole message (a From, at least one recipient) is checked when it is rendered or sent.
///
/// Strings are NUL-terminated UTF-8 and are copied. Attachment files are referenced by path:
/// checked when attached, read while the message is sent or rendered, never held in memory.
///
/// **Thread safety:** may be read from many threads at once (several clients sending it,
/// `mailport_message_render`, `mailport_message_clone`), but must not be changed while anyone
/// reads it. If a call on it fails internally (`MAILPORT_ERR_PANIC`), free it.
///
/// Functions: mailport_message_new, mailport_message_clone, mailport_message_free,
/// mailport_message_set_from, mailport_message_set_from_parts, mailport_message_set_sender,
/// mailport_message_add_reply_to, mailport_message_add_to, mailport_message_add_cc,
/// mailport_message_add_bcc, mailport_message_add_mailbox_parts,
/// mailport_message_set_envelope_from, mailport_message_set_subject, mailport_message_set_date,
/// mailport_message_set_message_id, mailport_message_add_header, mailport_message_remove_header,
/// mailport_message_set_text, mailport_message_set_text_as, mailport_message_set_html,
/// mailport_message_set_mime_body, mailport_message_set_charset, mailport_message_attach_file,
/// mailport_message_attach_bytes, mailport_message_embed_file, mailport_message_embed_bytes,
/// mailport_message_render, mailport_message_render_bytes, mailport_message_render_to_fd,
/// mailport_message_render_to_callback.
pub struct mailport_message(pub(crate) Message);

/// An optional string argument: NULL is `None`; invalid UTF-8 is an error naming it.
macro_rules! arg_opt_str {
    ($p:expr, $name:expr) => {
        if $p.is_null() {
            None
        } else {
            Some(arg_str!($p, $name))
        }
    };
}

/// Create an empty message: no From, no recipients, no body, UTF-8 text.
///
/// **Ownership:** the new message belongs to the caller; free it with `mailport_message_free`.
///
/// **NULL:** returns NULL only if an internal error occurred.
///
/// **Thread safety:** may be called from any thread.
///
/// # Safety
///
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_new() -> *mut mailport_message {
    ffi_boundary!({ Box::into_raw(Box::new(mailport_message(Message::new()))) })
}

/// Make an independent copy of `message`, for example to send variants of one message.
///
/// Everything is copied: changing either message afterwards does not affect the other.
/// Attachments held in memory are shared between the copies (they never change); file
/// attachments are still read from their paths when each copy is sent.
///
/// **Ownership:** `message` is only read. On success `*message_out` receives a new message that
/// the caller frees with `mailport_message_free`.
///
/// **NULL:** `message` and `message_out` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** several threads may clone (or send) the same message at once, provided
/// nobody changes it meanwhile.
///
/// # Safety
///
/// `message` must be NULL or a live message that nobody changes during the call; `message_out`
/// and `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_clone(
    message: *const mailport_message,
    message_out: *mut *mut mailport_message,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_message> = out_arg!(message_out);
        out.require("message_out")?;
        let message = &arg_ref!(message, "message").0;
        out.set(mailport_message(message.clone()));
        Ok(())
    })
}

/// Free a message. Receipts of its sends are unaffected.
///
/// **Ownership:** takes back `message`.
///
/// **NULL:** `message` may be NULL (nothing happens).
///
/// # Safety
///
/// `message` must be NULL or a message from mailport that has not been freed, and that no other
/// thread is using. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_free(message: *mut mailport_message) {
    ffi_boundary!({
        if !message.is_null() {
            // SAFETY: the caller passes a message mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(message) });
        }
    })
}

/// The headers `mailport_message_add_mailbox_parts` adds to, passed as its `uint32_t field`.
///
/// Functions: mailport_message_add_mailbox_parts.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mailport_address_field {
    MAILPORT_FIELD_TO = 1,
    MAILPORT_FIELD_CC = 2,
    /// Receives the message, appears in no header.
    MAILPORT_FIELD_BCC = 3,
    MAILPORT_FIELD_REPLY_TO = 4,
}

// Declared in the order mailport.h lists the functions.
mod addresses;
mod content;
mod parts;
mod render;

pub use addresses::*;
pub use content::*;
pub use parts::*;
pub use render::*;

#[cfg(test)]
mod tests;
