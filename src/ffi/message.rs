//! `mailport_message_*`: the message a caller builds, sends with `mailport_client_send` and
//! renders with `mailport_message_render`.

use std::ffi::c_char;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::boundary::{Out, copy_out_bytes};
use super::error::{mailport_error, mailport_result};
use crate::message::{AddressField, Charset, Message};

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
/// mailport_message_render.
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

/// Set the author (From): `a@example.org`, `Name <a@example.org>` or
/// `"Last, First" <a@example.org>`.
///
/// Replaces an earlier From. A non-ASCII display name is encoded (RFC 2047) when the message is
/// rendered. Unless `mailport_message_set_envelope_from` says otherwise, this address is also
/// the envelope sender (MAIL FROM), which receives bounces.
///
/// **Ownership:** `mailbox` is copied.
///
/// **NULL:** `message` and `mailbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `mailbox` is
/// not UTF-8; `MAILPORT_ERR_INVALID_ADDRESS` when it is not exactly one valid mailbox, or
/// contains a line break or control character (the message names From and says why).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `mailbox` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_from(
    message: *mut mailport_message,
    mailbox: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_from(arg_str!(mailbox, "mailbox"))?;
    })
}

/// Set the author (From) from a display name and a bare address, with no quoting to get right:
/// the name may contain commas, quotes, '@' or non-ASCII characters.
///
/// Replaces an earlier From, like `mailport_message_set_from`.
///
/// **Ownership:** both strings are copied.
///
/// **NULL:** `message` and `address` must not be NULL; `name` may be NULL (no display name).
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8; `MAILPORT_ERR_INVALID_ADDRESS` when `address` is not a valid address or either string
/// contains a line break or control character (the message names From).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `name`
/// and `address` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_from_parts(
    message: *mut mailport_message,
    name: *const c_char,
    address: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let name = arg_opt_str!(name, "name");
        m.set_from_parts(name, arg_str!(address, "address"))?;
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

/// Add one mailbox to To, Cc, Bcc or Reply-To from a display name and a bare address, with no
/// quoting to get right: the name may contain commas, quotes, '@' or non-ASCII characters.
///
/// `field` is a `mailport_address_field` value. Appends, like `mailport_message_add_to`.
///
/// **Ownership:** both strings are copied.
///
/// **NULL:** `message` and `address` must not be NULL; `name` may be NULL (no display name).
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8 or `field` is not a `mailport_address_field` value; `MAILPORT_ERR_INVALID_ADDRESS` when
/// `address` is not a valid address or either string contains a line break or control character
/// (the message names the field, and `mailport_error_invalid_address_*` describe it).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `name`
/// and `address` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_add_mailbox_parts(
    message: *mut mailport_message,
    field: u32,
    name: *const c_char,
    address: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let field = match field {
            1 => AddressField::To,
            2 => AddressField::Cc,
            3 => AddressField::Bcc,
            4 => AddressField::ReplyTo,
            _ => {
                return Err(mailport_error::invalid_argument(format!(
                    "field: unknown field {field} (expected a MAILPORT_FIELD_* value, 1-4)"
                )));
            }
        };
        let name = arg_opt_str!(name, "name");
        m.add_mailbox_parts(field, name, arg_str!(address, "address"))?;
    })
}

/// Set the Sender header: who actually sent the message on the author's behalf (a secretary, a
/// list, a web application sending as its user). Usually not needed.
///
/// **Ownership:** `mailbox` is copied.
///
/// **NULL:** `message` and `mailbox` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `mailbox` is
/// not UTF-8; `MAILPORT_ERR_INVALID_ADDRESS` when it is not exactly one valid mailbox (the
/// message names Sender).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `mailbox` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_sender(
    message: *mut mailport_message,
    mailbox: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_sender(arg_str!(mailbox, "mailbox"))?;
    })
}

/// Add one or more Reply-To addresses: a mailbox, or a comma-separated list of them
/// (`a@example.org, "Doe, J" <j@example.org>`; commas inside quotes, angle brackets and comments
/// do not separate).
///
/// **Ownership:** `mailboxes` is copied.
///
/// **NULL:** `message` and `mailboxes` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `mailboxes` is
/// not UTF-8 or holds no address; `MAILPORT_ERR_INVALID_ADDRESS` when any entry is invalid:
/// then none is added, and `mailport_error_invalid_address_count` and its siblings list each bad
/// entry with the field "Reply-To".
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `mailboxes` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_add_reply_to(
    message: *mut mailport_message,
    mailboxes: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.add_reply_to(arg_str!(mailboxes, "mailboxes"))?;
    })
}

/// Add one or more To recipients: a mailbox, or a comma-separated list of them (commas inside
/// quotes, angle brackets and comments do not separate).
///
/// Each recipient also goes into the envelope (RCPT TO) when the message is sent; an address
/// given in several of To, Cc and Bcc is sent to once.
///
/// **Ownership:** `mailboxes` is copied.
///
/// **NULL:** `message` and `mailboxes` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `mailboxes` is
/// not UTF-8 or holds no address; `MAILPORT_ERR_INVALID_ADDRESS` when any entry is invalid
/// (including a line break, which could otherwise inject SMTP commands or headers): then none is
/// added, and `mailport_error_invalid_address_count` and its siblings list each bad entry with
/// the field "To".
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `mailboxes` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_add_to(
    message: *mut mailport_message,
    mailboxes: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.add_to(arg_str!(mailboxes, "mailboxes"))?;
    })
}

/// Add one or more Cc recipients: a mailbox, or a comma-separated list of them. Same rules as
/// `mailport_message_add_to`.
///
/// **Ownership:** `mailboxes` is copied.
///
/// **NULL:** `message` and `mailboxes` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `mailboxes` is
/// not UTF-8 or holds no address; `MAILPORT_ERR_INVALID_ADDRESS` when any entry is invalid: then
/// none is added, and the error lists each bad entry with the field "Cc".
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `mailboxes` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_add_cc(
    message: *mut mailport_message,
    mailboxes: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.add_cc(arg_str!(mailboxes, "mailboxes"))?;
    })
}

/// Add one or more Bcc recipients: a mailbox, or a comma-separated list of them. They receive
/// the message but appear in no header (when there is no To or Cc either, the message says
/// "To: undisclosed-recipients:;"). Same rules as `mailport_message_add_to`.
///
/// **Ownership:** `mailboxes` is copied.
///
/// **NULL:** `message` and `mailboxes` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `mailboxes` is
/// not UTF-8 or holds no address; `MAILPORT_ERR_INVALID_ADDRESS` when any entry is invalid: then
/// none is added, and the error lists each bad entry with the field "Bcc".
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `mailboxes` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_add_bcc(
    message: *mut mailport_message,
    mailboxes: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.add_bcc(arg_str!(mailboxes, "mailboxes"))?;
    })
}

/// Set the envelope sender (MAIL FROM, which the receiving server records as Return-Path and
/// sends bounces to) when it should differ from From. "" is the null sender "<>" (for
/// bounces and auto-replies), which some servers refuse.
///
/// **Ownership:** `address` is copied.
///
/// **NULL:** `message` and `address` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `address` is
/// not UTF-8; `MAILPORT_ERR_INVALID_ADDRESS` when it is not a valid address (the message names
/// the envelope sender).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `address` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_envelope_from(
    message: *mut mailport_message,
    address: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_envelope_from(arg_str!(address, "address"))?;
    })
}

/// Set the Subject. Any Unicode text; non-ASCII words are encoded (RFC 2047) when the message is
/// rendered, and long subjects are folded.
///
/// **Ownership:** `subject` is copied.
///
/// **NULL:** `message` and `subject` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `subject` is
/// not UTF-8 or contains a line break or another control character except TAB (the message
/// names Subject and the byte offset).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `subject` NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_subject(
    message: *mut mailport_message,
    subject: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_subject(arg_str!(subject, "subject"))?;
    })
}

/// The earliest and latest Date accepted: 1900-01-01T00:00:00Z (RFC 5322 has no earlier year)
/// and 9999-12-31T23:59:59Z (four-digit years).
const DATE_RANGE: std::ops::RangeInclusive<i64> = -2_208_988_800..=253_402_300_799;

/// Set the Date header, in seconds since 1970-01-01T00:00:00Z (a `time_t`). Without it, the Date
/// is the time the message is sent (or rendered).
///
/// The date is written in this machine's local time zone, with its offset.
///
/// **NULL:** `message` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when the time is
/// before the year 1900 or after 9999.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_date(
    message: *mut mailport_message,
    unix_seconds: i64,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        if !DATE_RANGE.contains(&unix_seconds) {
            return Err(mailport_error::invalid_argument(format!(
                "date: {unix_seconds} seconds since 1970 is outside the years 1900-9999"
            )));
        }
        let offset = Duration::from_secs(unix_seconds.unsigned_abs());
        let date = if unix_seconds >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(offset)
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(offset)
        }
        .ok_or_else(|| {
            mailport_error::invalid_argument(format!(
                "date: {unix_seconds} seconds since 1970 cannot be represented on this system"
            ))
        })?;
        m.set_date(date);
    })
}

/// Set the Message-ID, `<unique-part@domain>` (the angle brackets are optional). Without it, a
/// random one under the From address's domain is generated each time the message is sent; the
/// receipt reports it (`mailport_receipt_message_id`).
///
/// Setting one lets a retry of the same message keep its identity (receivers then recognise a
/// duplicate); a message sent twice with the same Message-ID may be shown once.
///
/// **Ownership:** `id` is copied.
///
/// **NULL:** `message` and `id` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `id` is not
/// UTF-8, contains a line break or control character, or is not of the form `left@right` in
/// printable ASCII without spaces, quotes, commas or brackets.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `id`
/// NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_message_id(
    message: *mut mailport_message,
    id: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_message_id(arg_str!(id, "id"))?;
    })
}

/// Add a header of your own (`X-Campaign`, `List-Unsubscribe`, `In-Reply-To`, ...), after the
/// ones mailport writes. Adding a name twice gives two headers. A non-ASCII value is encoded
/// (RFC 2047) and a long one folded when the message is rendered.
///
/// Headers mailport writes itself from the message's fields (From, Sender, Reply-To, To, Cc,
/// Bcc, Subject, Date, Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding,
/// Content-Disposition, Return-Path) are refused, and the error names the function to use
/// instead.
///
/// **Ownership:** both strings are copied.
///
/// **NULL:** `message`, `name` and `value` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8, `name` is empty, too long or has a character other than printable ASCII without ':',
/// `value` contains a line break or control character except TAB (the message names the
/// header), or the header is one mailport writes itself.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `name`
/// and `value` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_add_header(
    message: *mut mailport_message,
    name: *const c_char,
    value: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.add_header(arg_str!(name, "name"), arg_str!(value, "value"))?;
    })
}

/// Remove every header added with `mailport_message_add_header` under `name` (compared without
/// regard to case) and return how many were removed.
///
/// **NULL:** returns 0 when `message` or `name` is NULL, or `name` is not UTF-8.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `name`
/// NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_remove_header(
    message: *mut mailport_message,
    name: *const c_char,
) -> usize {
    ffi_boundary!({
        // SAFETY: guaranteed by this function's contract.
        let Ok(message) = (unsafe { super::boundary::arg_mut(message, "message") }) else {
            return 0;
        };
        // SAFETY: guaranteed by this function's contract.
        match unsafe { super::boundary::arg_str(name, "name") } {
            Ok(name) => message.0.remove_header(name),
            Err(_) => 0,
        }
    })
}

/// Set the plain-text body (`text/plain`). With an HTML body too, both are sent as
/// `multipart/alternative` and the reader's program shows one. Replaces an earlier text body
/// and any body set with `mailport_message_set_mime_body`.
///
/// Line endings may be LF or CRLF; they are sent as CRLF. The transfer encoding (7bit,
/// quoted-printable or base64) is chosen from the content.
///
/// **Ownership:** `text` is copied.
///
/// **NULL:** `message` and `text` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `text` is not
/// UTF-8, or has a character the message's charset cannot hold (see
/// `mailport_message_set_charset`).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `text`
/// NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_text(
    message: *mut mailport_message,
    text: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_text(arg_str!(text, "text"))?;
    })
}

/// Set a text body of another text type (`text/calendar`, `text/markdown`, ...), in place of
/// the plain-text body. Same rules as `mailport_message_set_text`.
///
/// **Ownership:** both strings are copied.
///
/// **NULL:** `message`, `media_type` and `text` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8, `media_type` is not a valid `text/...` type (parameters such as charset are not
/// accepted: the charset is the message's), or `text` has a character the charset cannot hold.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `media_type` and `text` NULL or NUL-terminated; `error_out` NULL or valid for writing one
/// pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_text_as(
    message: *mut mailport_message,
    media_type: *const c_char,
    text: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_text_as(arg_str!(media_type, "media_type"), arg_str!(text, "text"))?;
    })
}

/// Set the HTML body (`text/html`). With a text body too, both are sent as
/// `multipart/alternative`; images it shows as `<img src="cid:ID">` are added with
/// `mailport_message_embed_file` or `mailport_message_embed_bytes`. Replaces an earlier HTML
/// body and any body set with `mailport_message_set_mime_body`.
///
/// **Ownership:** `html` is copied.
///
/// **NULL:** `message` and `html` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `html` is not
/// UTF-8, or has a character the message's charset cannot hold.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `html`
/// NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_html(
    message: *mut mailport_message,
    html: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        m.set_html(arg_str!(html, "html"))?;
    })
}

/// Set a body that is already in MIME form, sent as is under `content_type` (for example
/// `multipart/alternative; boundary="b1"` with the parts written by the caller, as WordPress
/// plugins do). It replaces the text and HTML bodies; attachments added to the message are still
/// sent, around it.
///
/// Line endings may be LF or CRLF; they are sent as CRLF.
///
/// **Ownership:** `content_type` and the `len` bytes at `body` are copied.
///
/// **NULL:** `message` and `content_type` must not be NULL; `body` may be NULL only when `len` is
/// 0. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `content_type`
/// is not UTF-8, contains a line break, is not a valid media type, or is multipart without a
/// boundary; or when the body is not UTF-8 text, contains a NUL byte, or has a line longer than
/// 998 bytes (SMTP's limit). Non-ASCII text needs a server with 8BITMIME.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `content_type` NULL or NUL-terminated; `body` NULL or readable for `len` bytes; `error_out`
/// NULL or valid for writing one pointer. None of them may change during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_mime_body(
    message: *mut mailport_message,
    content_type: *const c_char,
    body: *const std::ffi::c_void,
    len: usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let content_type = arg_str!(content_type, "content_type");
        m.set_mime_body(content_type, arg_bytes!(body, len, "body"))?;
    })
}

/// Set the character set text and HTML bodies are sent in: "UTF-8" (the default), "US-ASCII" or
/// "ISO-8859-1" (case-insensitive; "utf8", "ascii", "latin1" are accepted too).
///
/// UTF-8 holds every character; choose another only for a receiver that needs it. The bodies
/// already set, and those set later, must fit the charset.
///
/// **Ownership:** `label` is only read.
///
/// **NULL:** `message` and `label` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `label` is not
/// UTF-8 or not one of the supported charsets, or a body already set has a character the
/// charset cannot hold (the charset is then left as it was).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `label`
/// NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_set_charset(
    message: *mut mailport_message,
    label: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let charset = Charset::parse(arg_str!(label, "label"))?;
        m.set_charset(charset)?;
    })
}

/// Attach a file by path. It is opened here to check that it exists and is a readable regular
/// file, then read and encoded (base64) while the message is sent, in chunks: its size does not
/// matter. If it changes size before it is sent, the send fails and nothing is delivered.
///
/// **Ownership:** the strings are copied; the file is not (it must still be there when the
/// message is sent or rendered).
///
/// **NULL:** `message` and `path` must not be NULL. `filename` may be NULL: the file's own name
/// is shown. `content_type` may be NULL (or ""): guessed from the file name's extension,
/// `application/octet-stream` when unknown. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8, `path` or `filename` contains a line break or control character, `filename` is empty,
/// or `content_type` is not a valid media type; `MAILPORT_ERR_ATTACHMENT` when the file does not
/// exist, cannot be opened or is not a regular file (the message names the path).
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call; `path`,
/// `filename` and `content_type` NULL or NUL-terminated; `error_out` NULL or valid for writing
/// one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_attach_file(
    message: *mut mailport_message,
    path: *const c_char,
    filename: *const c_char,
    content_type: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let path = arg_str!(path, "path");
        let filename = arg_opt_str!(filename, "filename");
        let content_type = arg_opt_str!(content_type, "content_type");
        m.attach_file(Path::new(path), filename, content_type)?;
    })
}

/// Attach `len` bytes held in memory under `filename`.
///
/// **Ownership:** the strings and the bytes are copied: the caller may free `data` right away.
///
/// **NULL:** `message` and `filename` must not be NULL. `content_type` may be NULL (or ""):
/// guessed from `filename`'s extension, `application/octet-stream` when unknown. `data` may be
/// NULL only when `len` is 0 (an empty attachment). `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8, `filename` is empty or contains a line break or control character, or `content_type`
/// is not a valid media type.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `filename` and `content_type` NULL or NUL-terminated; `data` NULL or readable for `len` bytes;
/// `error_out` NULL or valid for writing one pointer. None of them may change during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_attach_bytes(
    message: *mut mailport_message,
    filename: *const c_char,
    content_type: *const c_char,
    data: *const std::ffi::c_void,
    len: usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let filename = arg_str!(filename, "filename");
        let content_type = arg_opt_str!(content_type, "content_type");
        let data = arg_bytes!(data, len, "data");
        m.attach_bytes(filename, content_type, data)?;
    })
}

/// Add a file (usually an image) that the HTML body shows inline as `<img src="cid:ID">`, where
/// ID is `content_id`. Read while the message is sent, like `mailport_message_attach_file`.
///
/// **Ownership:** the strings are copied; the file is not.
///
/// **NULL:** `message`, `content_id` and `path` must not be NULL. `content_type` may be NULL
/// (or ""): guessed from the file name's extension. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8, `content_id` is empty or has characters other than ASCII letters, digits and
/// `. _ - @ ...` (angle brackets around it are dropped), `path` contains a control character,
/// or `content_type` is not a valid media type; `MAILPORT_ERR_ATTACHMENT` when the file does not
/// exist, cannot be opened or is not a regular file.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `content_id`, `path` and `content_type` NULL or NUL-terminated; `error_out` NULL or valid for
/// writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_embed_file(
    message: *mut mailport_message,
    content_id: *const c_char,
    path: *const c_char,
    content_type: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let content_id = arg_str!(content_id, "content_id");
        let path = arg_str!(path, "path");
        let content_type = arg_opt_str!(content_type, "content_type");
        m.embed_file(content_id, Path::new(path), content_type)?;
    })
}

/// Add `len` bytes held in memory (usually an image) that the HTML body shows inline as
/// `<img src="cid:ID">`, where ID is `content_id`; `filename` names it for readers that save it.
///
/// **Ownership:** the strings and the bytes are copied: the caller may free `data` right away.
///
/// **NULL:** `message`, `content_id` and `filename` must not be NULL. `content_type` may be NULL
/// (or ""): guessed from `filename`'s extension. `data` may be NULL only when `len` is 0.
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8, `content_id` is empty or has characters other than ASCII letters, digits and
/// `. _ - @ ...`, `filename` is empty or contains a line break or control character, or
/// `content_type` is not a valid media type.
///
/// # Safety
///
/// `message` must be NULL or a live message that no other thread uses during the call;
/// `content_id`, `filename` and `content_type` NULL or NUL-terminated; `data` NULL or readable
/// for `len` bytes; `error_out` NULL or valid for writing one pointer. None of them may change
/// during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_message_embed_bytes(
    message: *mut mailport_message,
    content_id: *const c_char,
    filename: *const c_char,
    content_type: *const c_char,
    data: *const std::ffi::c_void,
    len: usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(message.0, error_out, |m| {
        let content_id = arg_str!(content_id, "content_id");
        let filename = arg_str!(filename, "filename");
        let content_type = arg_opt_str!(content_type, "content_type");
        let data = arg_bytes!(data, len, "data");
        m.embed_bytes(content_id, filename, content_type, data)?;
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::boundary::PANIC_IN_NEXT_CALL;
    use crate::ffi::test_support::{run, text};
    use crate::ffi::{
        mailport_error_free, mailport_error_invalid_address_count,
        mailport_error_invalid_address_field, mailport_error_invalid_address_input,
    };

    use std::ptr;

    use mailport_result::*;

    /// A message freed on drop.
    struct Msg(*mut mailport_message);
    impl Msg {
        fn new() -> Msg {
            // SAFETY: no arguments.
            let m = unsafe { mailport_message_new() };
            assert!(!m.is_null());
            Msg(m)
        }
        fn get(&self) -> &Message {
            // SAFETY: the pointer is live until drop.
            unsafe { &(*self.0).0 }
        }
        /// The message's state, to check that a failed setter changed nothing.
        fn state(&self) -> String {
            format!("{:?}", self.get())
        }
        fn render(&self) -> Vec<u8> {
            let mut n = 0;
            // SAFETY: `self.0` is live; the sizing call writes nothing.
            let rc = unsafe {
                mailport_message_render(self.0, ptr::null_mut(), 0, &mut n, ptr::null_mut())
            };
            assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
            let mut buf = vec![0u8; n];
            let mut n2 = 0;
            // SAFETY: `buf` is writable for `n` bytes.
            let (rc, m) = run(|e| unsafe {
                mailport_message_render(self.0, buf.as_mut_ptr(), n, &mut n2, e)
            });
            assert_eq!(rc, MAILPORT_OK, "{m}");
            assert_eq!(n2, n);
            buf
        }
    }
    impl Drop for Msg {
        fn drop(&mut self) {
            // SAFETY: made by mailport, freed once.
            unsafe { mailport_message_free(self.0) };
        }
    }

    type Call<'a> = Box<dyn Fn(*mut *mut mailport_error) -> mailport_result + 'a>;

    /// Every fallible setter with `message` and valid other arguments (all strings `s`).
    fn every_setter<'a>(
        message: *mut mailport_message,
        s: *const c_char,
    ) -> Vec<(&'a str, Call<'a>)> {
        let data = b"x".as_ptr();
        // SAFETY: in every closure, the caller passes a live message or NULL, `s` is a
        // NUL-terminated string, `data` is readable for 1 byte.
        unsafe {
            vec![
                (
                    "set_from",
                    Box::new(move |e| mailport_message_set_from(message, s, e)),
                ),
                (
                    "set_from_parts",
                    Box::new(move |e| mailport_message_set_from_parts(message, s, s, e)),
                ),
                (
                    "set_sender",
                    Box::new(move |e| mailport_message_set_sender(message, s, e)),
                ),
                (
                    "add_reply_to",
                    Box::new(move |e| mailport_message_add_reply_to(message, s, e)),
                ),
                (
                    "add_to",
                    Box::new(move |e| mailport_message_add_to(message, s, e)),
                ),
                (
                    "add_cc",
                    Box::new(move |e| mailport_message_add_cc(message, s, e)),
                ),
                (
                    "add_bcc",
                    Box::new(move |e| mailport_message_add_bcc(message, s, e)),
                ),
                (
                    "add_mailbox_parts",
                    Box::new(move |e| mailport_message_add_mailbox_parts(message, 1, s, s, e)),
                ),
                (
                    "set_envelope_from",
                    Box::new(move |e| mailport_message_set_envelope_from(message, s, e)),
                ),
                (
                    "set_subject",
                    Box::new(move |e| mailport_message_set_subject(message, s, e)),
                ),
                (
                    "set_date",
                    Box::new(move |e| mailport_message_set_date(message, 0, e)),
                ),
                (
                    "set_message_id",
                    Box::new(move |e| mailport_message_set_message_id(message, s, e)),
                ),
                (
                    "add_header",
                    Box::new(move |e| mailport_message_add_header(message, s, s, e)),
                ),
                (
                    "set_text",
                    Box::new(move |e| mailport_message_set_text(message, s, e)),
                ),
                (
                    "set_text_as",
                    Box::new(move |e| mailport_message_set_text_as(message, s, s, e)),
                ),
                (
                    "set_html",
                    Box::new(move |e| mailport_message_set_html(message, s, e)),
                ),
                (
                    "set_mime_body",
                    Box::new(move |e| {
                        mailport_message_set_mime_body(message, s, data.cast(), 1, e)
                    }),
                ),
                (
                    "set_charset",
                    Box::new(move |e| mailport_message_set_charset(message, s, e)),
                ),
                (
                    "attach_file",
                    Box::new(move |e| mailport_message_attach_file(message, s, s, s, e)),
                ),
                (
                    "attach_bytes",
                    Box::new(move |e| {
                        mailport_message_attach_bytes(message, s, s, data.cast(), 1, e)
                    }),
                ),
                (
                    "embed_file",
                    Box::new(move |e| mailport_message_embed_file(message, s, s, s, e)),
                ),
                (
                    "embed_bytes",
                    Box::new(move |e| {
                        mailport_message_embed_bytes(message, s, s, s, data.cast(), 1, e)
                    }),
                ),
            ]
        }
    }

    #[test]
    fn a_null_message_is_named_by_every_function() {
        let null = ptr::null_mut();
        for (name, call) in every_setter(null, c"x".as_ptr()) {
            let (rc, m) = run(call);
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL"),
                "{name}"
            );
            // Without an error object, the code still comes back.
        }
        // SAFETY: NULL message and NULL error_out are the cases under test.
        unsafe {
            let rc = mailport_message_set_subject(null, c"x".as_ptr(), ptr::null_mut());
            assert_eq!(rc, MAILPORT_ERR_NULL_ARGUMENT);
            let mut n = 7;
            let (rc, m) =
                run(|e| mailport_message_render(ptr::null(), ptr::null_mut(), 0, &mut n, e));
            assert_eq!(
                (rc, m.as_str(), n),
                (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL", 0)
            );
            let mut out: *mut mailport_message = ptr::dangling_mut();
            let (rc, m) = run(|e| mailport_message_clone(ptr::null(), &mut out, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "message must not be NULL")
            );
            assert!(out.is_null(), "message_out is NULLed on entry");
            assert_eq!(mailport_message_remove_header(null, c"X-A".as_ptr()), 0);
            mailport_message_free(null);
        }
    }

    #[test]
    fn null_and_non_utf8_strings_are_named() {
        let msg = Msg::new();
        let m = msg.0;
        let ok = c"ok@example.org".as_ptr();
        let null = ptr::null();
        let bad = c"b\xffd".as_ptr();
        // SAFETY: `m` is live; strings are NUL-terminated or NULL; data readable for 1 byte.
        let cases: Vec<(&str, Call)> = unsafe {
            let d = b"x".as_ptr();
            vec![
                (
                    "mailbox",
                    Box::new(move |e| mailport_message_set_from(m, null, e)),
                ),
                (
                    "mailbox",
                    Box::new(move |e| mailport_message_set_from(m, bad, e)),
                ),
                (
                    "name",
                    Box::new(move |e| mailport_message_set_from_parts(m, bad, ok, e)),
                ),
                (
                    "address",
                    Box::new(move |e| mailport_message_set_from_parts(m, ok, null, e)),
                ),
                (
                    "mailbox",
                    Box::new(move |e| mailport_message_set_sender(m, null, e)),
                ),
                (
                    "mailboxes",
                    Box::new(move |e| mailport_message_add_reply_to(m, bad, e)),
                ),
                (
                    "mailboxes",
                    Box::new(move |e| mailport_message_add_to(m, null, e)),
                ),
                (
                    "mailboxes",
                    Box::new(move |e| mailport_message_add_to(m, bad, e)),
                ),
                (
                    "mailboxes",
                    Box::new(move |e| mailport_message_add_cc(m, null, e)),
                ),
                (
                    "mailboxes",
                    Box::new(move |e| mailport_message_add_bcc(m, bad, e)),
                ),
                (
                    "address",
                    Box::new(move |e| mailport_message_set_envelope_from(m, null, e)),
                ),
                (
                    "subject",
                    Box::new(move |e| mailport_message_set_subject(m, null, e)),
                ),
                (
                    "subject",
                    Box::new(move |e| mailport_message_set_subject(m, bad, e)),
                ),
                (
                    "id",
                    Box::new(move |e| mailport_message_set_message_id(m, null, e)),
                ),
                (
                    "name",
                    Box::new(move |e| mailport_message_add_header(m, null, ok, e)),
                ),
                (
                    "value",
                    Box::new(move |e| mailport_message_add_header(m, ok, bad, e)),
                ),
                (
                    "text",
                    Box::new(move |e| mailport_message_set_text(m, null, e)),
                ),
                (
                    "media_type",
                    Box::new(move |e| mailport_message_set_text_as(m, null, ok, e)),
                ),
                (
                    "text",
                    Box::new(move |e| mailport_message_set_text_as(m, ok, bad, e)),
                ),
                (
                    "html",
                    Box::new(move |e| mailport_message_set_html(m, bad, e)),
                ),
                (
                    "content_type",
                    Box::new(move |e| mailport_message_set_mime_body(m, null, d.cast(), 1, e)),
                ),
                (
                    "body",
                    Box::new(move |e| mailport_message_set_mime_body(m, ok, ptr::null(), 3, e)),
                ),
                (
                    "label",
                    Box::new(move |e| mailport_message_set_charset(m, null, e)),
                ),
                (
                    "path",
                    Box::new(move |e| mailport_message_attach_file(m, null, null, null, e)),
                ),
                (
                    "filename",
                    Box::new(move |e| mailport_message_attach_file(m, ok, bad, null, e)),
                ),
                (
                    "content_type",
                    Box::new(move |e| mailport_message_attach_file(m, ok, null, bad, e)),
                ),
                (
                    "filename",
                    Box::new(move |e| mailport_message_attach_bytes(m, null, null, d.cast(), 1, e)),
                ),
                (
                    "data",
                    Box::new(move |e| {
                        mailport_message_attach_bytes(m, ok, null, ptr::null(), 1, e)
                    }),
                ),
                (
                    "content_id",
                    Box::new(move |e| mailport_message_embed_file(m, null, ok, null, e)),
                ),
                (
                    "path",
                    Box::new(move |e| mailport_message_embed_file(m, ok, bad, null, e)),
                ),
                (
                    "filename",
                    Box::new(move |e| {
                        mailport_message_embed_bytes(m, ok, null, null, d.cast(), 1, e)
                    }),
                ),
                (
                    "data",
                    Box::new(move |e| {
                        mailport_message_embed_bytes(m, ok, ok, null, ptr::null(), 2, e)
                    }),
                ),
            ]
        };
        let before = msg.state();
        for (i, (name, call)) in cases.into_iter().enumerate() {
            let (rc, text) = run(call);
            match rc {
                MAILPORT_ERR_NULL_ARGUMENT => {
                    assert_eq!(text, format!("{name} must not be NULL"), "case {i}")
                }
                MAILPORT_ERR_INVALID_ARGUMENT => assert!(
                    text.starts_with(&format!("{name} is not valid UTF-8")),
                    "case {i}: {text}"
                ),
                other => panic!("case {i} ({name}): unexpected {other:?}: {text}"),
            }
            assert_eq!(msg.state(), before, "case {i} ({name}) changed the message");
        }
        // SAFETY: `m` is live; the name is NULL or not UTF-8: nothing to remove.
        unsafe {
            assert_eq!(mailport_message_remove_header(m, ptr::null()), 0);
            assert_eq!(mailport_message_remove_header(m, bad), 0);
        }
    }

    #[test]
    fn line_breaks_are_refused_by_every_setter_naming_the_field() {
        let msg = Msg::new();
        let m = msg.0;
        let dir = std::env::temp_dir().join(format!("mailport-ffi-msg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("report.pdf");
        std::fs::write(&file, b"%PDF-1.4").unwrap();
        let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
        let path = path.as_ptr();
        let inject = c"a@example.org\r\nRCPT TO:<x@example.org>".as_ptr();
        let hdr = c"v\r\nBcc: x@example.org".as_ptr();
        let ok = c"ok@example.org".as_ptr();
        let d = b"x".as_ptr();
        // SAFETY: `m` is live; strings are NUL-terminated; `d` readable for 1 byte.
        let cases: Vec<(mailport_result, &str, Call)> = unsafe {
            vec![
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "From",
                    Box::new(move |e| mailport_message_set_from(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "From",
                    Box::new(move |e| mailport_message_set_from_parts(m, hdr, ok, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "From",
                    Box::new(move |e| mailport_message_set_from_parts(m, ptr::null(), inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "Cc",
                    Box::new(move |e| mailport_message_add_mailbox_parts(m, 2, hdr, ok, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "Reply-To",
                    Box::new(move |e| {
                        mailport_message_add_mailbox_parts(m, 4, ptr::null(), inject, e)
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "field",
                    Box::new(move |e| mailport_message_add_mailbox_parts(m, 9, ptr::null(), ok, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "Sender",
                    Box::new(move |e| mailport_message_set_sender(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "Reply-To",
                    Box::new(move |e| mailport_message_add_reply_to(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "To",
                    Box::new(move |e| mailport_message_add_to(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "Cc",
                    Box::new(move |e| mailport_message_add_cc(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "Bcc",
                    Box::new(move |e| mailport_message_add_bcc(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ADDRESS,
                    "envelope sender",
                    Box::new(move |e| mailport_message_set_envelope_from(m, inject, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "Subject",
                    Box::new(move |e| mailport_message_set_subject(m, hdr, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "Message-ID",
                    Box::new(move |e| {
                        mailport_message_set_message_id(m, c"<a@b>\r\nBcc: x@y".as_ptr(), e)
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "X-Tag",
                    Box::new(move |e| mailport_message_add_header(m, c"X-Tag".as_ptr(), hdr, e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "header name",
                    Box::new(move |e| {
                        mailport_message_add_header(m, c"X-A\r\nBcc".as_ptr(), ok, e)
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "Content-Type",
                    Box::new(move |e| {
                        mailport_message_set_mime_body(
                            m,
                            c"text/plain\r\nBcc: x".as_ptr(),
                            d.cast(),
                            1,
                            e,
                        )
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "content type",
                    Box::new(move |e| {
                        mailport_message_set_text_as(m, c"text/plain\r\nBcc: x".as_ptr(), ok, e)
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "charset",
                    Box::new(move |e| {
                        mailport_message_set_charset(m, c"utf-8\r\nX: y".as_ptr(), e)
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "attachment filename",
                    Box::new(move |e| mailport_message_attach_file(m, path, hdr, ptr::null(), e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "attachment path",
                    Box::new(move |e| {
                        mailport_message_attach_file(
                            m,
                            c"/tmp/a\nb".as_ptr(),
                            ptr::null(),
                            ptr::null(),
                            e,
                        )
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "content type",
                    Box::new(move |e| {
                        mailport_message_attach_file(
                            m,
                            path,
                            ptr::null(),
                            c"text/plain\r\nX: y".as_ptr(),
                            e,
                        )
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "attachment filename",
                    Box::new(move |e| {
                        mailport_message_attach_bytes(m, hdr, ptr::null(), d.cast(), 1, e)
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "Content-ID",
                    Box::new(move |e| mailport_message_embed_file(m, hdr, path, ptr::null(), e)),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "Content-ID",
                    Box::new(move |e| {
                        mailport_message_embed_bytes(
                            m,
                            hdr,
                            c"a.png".as_ptr(),
                            ptr::null(),
                            d.cast(),
                            1,
                            e,
                        )
                    }),
                ),
                (
                    MAILPORT_ERR_INVALID_ARGUMENT,
                    "attachment filename",
                    Box::new(move |e| {
                        mailport_message_embed_bytes(
                            m,
                            c"logo".as_ptr(),
                            hdr,
                            ptr::null(),
                            d.cast(),
                            1,
                            e,
                        )
                    }),
                ),
            ]
        };
        let before = msg.state();
        for (i, (expected, field, call)) in cases.into_iter().enumerate() {
            let (rc, text) = run(call);
            assert_eq!(rc, expected, "case {i} ({field}): {text}");
            assert!(
                text.to_lowercase().contains(&field.to_lowercase()),
                "case {i}: {text:?} does not name {field:?}"
            );
            assert_eq!(
                msg.state(),
                before,
                "case {i} ({field}) changed the message"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invalid_list_entries_are_listed_and_nothing_is_added() {
        let msg = Msg::new();
        let mut err = ptr::null_mut();
        // SAFETY: `msg.0` is live; `err` receives the error, freed below.
        unsafe {
            let rc = mailport_message_add_to(
                msg.0,
                c"good@example.org, a@b\r\nRCPT TO:<x@y>, \"Doe, J\" <j@example.org>".as_ptr(),
                &mut err,
            );
            assert_eq!(rc, MAILPORT_ERR_INVALID_ADDRESS);
            assert_eq!(mailport_error_invalid_address_count(err), 1);
            assert_eq!(text(mailport_error_invalid_address_field(err, 0)), "To");
            assert!(text(mailport_error_invalid_address_input(err, 0)).contains("RCPT TO"));
            mailport_error_free(err);
        }
        assert!(msg.get().to().is_empty(), "a failed add_to adds nothing");
    }

    #[test]
    fn other_invalid_values_are_refused() {
        let msg = Msg::new();
        let m = msg.0;
        // SAFETY: `m` is live; strings are NUL-terminated.
        unsafe {
            for bad in [i64::MIN, -2_208_988_801, 253_402_300_800, i64::MAX] {
                let (rc, text) = run(|e| mailport_message_set_date(m, bad, e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{bad}");
                assert!(text.starts_with("date:"), "{text}");
            }
            let (rc, text) = run(|e| mailport_message_set_charset(m, c"koi8-r".as_ptr(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(text.contains("koi8-r"), "{text}");
            let (rc, text) = run(|e| {
                mailport_message_attach_file(
                    m,
                    c"/nonexistent/mailport.pdf".as_ptr(),
                    ptr::null(),
                    ptr::null(),
                    e,
                )
            });
            assert_eq!(rc, MAILPORT_ERR_ATTACHMENT);
            assert!(text.contains("/nonexistent/mailport.pdf"), "{text}");
            let (rc, text) =
                run(|e| mailport_message_add_header(m, c"Subject".as_ptr(), c"x".as_ptr(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            assert!(text.contains("set_subject"), "{text}");
            let (rc, _) = run(|e| mailport_message_add_to(m, c"".as_ptr(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
            // Latin-1 cannot hold the euro sign: the charset stays UTF-8.
            assert_eq!(
                run(|e| mailport_message_set_text(m, c"5 \xe2\x82\xac".as_ptr(), e)).0,
                MAILPORT_OK
            );
            let (rc, text) = run(|e| mailport_message_set_charset(m, c"latin1".as_ptr(), e));
            assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT, "{text}");
            assert_eq!(msg.get().charset, Charset::Utf8);
        }
    }

    #[test]
    fn a_message_is_built_rendered_and_cloned() {
        let msg = Msg::new();
        let m = msg.0;
        // SAFETY: `m` is live; strings are NUL-terminated; data readable for its length.
        unsafe {
            let ok = |rc: mailport_result| assert_eq!(rc, MAILPORT_OK);
            let e = ptr::null_mut();
            ok(mailport_message_set_from_parts(
                m,
                c"Zo\xc3\xab, Sender".as_ptr(),
                c"zoe@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_add_to(
                m,
                c"A <a@example.org>, b@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_add_cc(m, c"c@example.org".as_ptr(), e));
            ok(mailport_message_add_bcc(
                m,
                c"hidden@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_add_reply_to(
                m,
                c"replies@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_set_sender(
                m,
                c"app@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_set_envelope_from(
                m,
                c"bounces@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_set_subject(
                m,
                c"Gr\xc3\xbc\xc3\x9fe".as_ptr(),
                e,
            ));
            ok(mailport_message_set_date(m, 1_700_000_000, e));
            ok(mailport_message_set_message_id(
                m,
                c"fixed-1@example.org".as_ptr(),
                e,
            ));
            ok(mailport_message_add_header(
                m,
                c"X-Tag".as_ptr(),
                c"one".as_ptr(),
                e,
            ));
            ok(mailport_message_add_header(
                m,
                c"x-tag".as_ptr(),
                c"two".as_ptr(),
                e,
            ));
            ok(mailport_message_add_header(
                m,
                c"X-Keep".as_ptr(),
                c"yes".as_ptr(),
                e,
            ));
            assert_eq!(mailport_message_remove_header(m, c"X-TAG".as_ptr()), 2);
            assert_eq!(mailport_message_remove_header(m, c"X-TAG".as_ptr()), 0);
            ok(mailport_message_set_text(m, c"Hello".as_ptr(), e));
            ok(mailport_message_set_html(
                m,
                c"<p>Hello <img src=\"cid:logo\"></p>".as_ptr(),
                e,
            ));
            ok(mailport_message_attach_bytes(
                m,
                c"notes.txt".as_ptr(),
                ptr::null(),
                b"abc".as_ptr().cast(),
                3,
                e,
            ));
            ok(mailport_message_attach_bytes(
                m,
                c"empty.bin".as_ptr(),
                c"".as_ptr(),
                ptr::null(),
                0,
                e,
            ));
            ok(mailport_message_embed_bytes(
                m,
                c"<logo>".as_ptr(),
                c"logo.png".as_ptr(),
                ptr::null(),
                b"\x89PNG".as_ptr().cast(),
                4,
                e,
            ));

            let mut out = ptr::null_mut();
            let (rc, _) = run(|e| mailport_message_clone(m, &mut out, e));
            assert_eq!(rc, MAILPORT_OK);
            let copy = Msg(out);
            let (rc, text) = run(|e| mailport_message_clone(m, ptr::null_mut(), e));
            assert_eq!(
                (rc, text.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "message_out must not be NULL")
            );
            ok(mailport_message_add_to(
                copy.0,
                c"only-in-copy@example.org".as_ptr(),
                e,
            ));
            assert_eq!(msg.get().to().len(), 2, "the original is unchanged");
            assert_eq!(copy.get().to().len(), 3);

            let bytes = msg.render();
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(text.starts_with("Date: "), "{text}");
            assert!(
                text.contains("Message-ID: <fixed-1@example.org>\r\n"),
                "{text}"
            );
            assert!(
                text.contains("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"),
                "encoded subject: {text}"
            );
            assert!(
                text.contains("From: =?UTF-8?") && text.contains("<zoe@example.org>\r\n"),
                "encoded display name: {text}"
            );
            assert!(
                text.contains("X-Keep: yes\r\n") && !text.contains("X-Tag"),
                "{text}"
            );
            assert!(
                !text.contains("hidden@example.org"),
                "Bcc never appears: {text}"
            );
            assert!(
                !text.contains("bounces@"),
                "the envelope sender is not a header"
            );
            assert!(text.contains("multipart/"), "{text}");
            assert!(
                text.contains("notes.txt") && text.contains("Content-ID: <logo>"),
                "{text}"
            );
            assert!(!text.contains("only-in-copy"), "{text}");
            assert!(
                String::from_utf8(copy.render())
                    .unwrap()
                    .contains("only-in-copy@example.org")
            );
        }
    }

    #[test]
    fn render_copies_out_bytes_without_a_nul() {
        let msg = Msg::new();
        let m = msg.0;
        // SAFETY: `m` is live; buffers are writable for the lengths passed.
        unsafe {
            // No From: nothing to render, and *out_n says 0.
            let mut n = 99;
            let (rc, text) = run(|e| mailport_message_render(m, ptr::null_mut(), 0, &mut n, e));
            assert_eq!((rc, n), (MAILPORT_ERR_INVALID_ARGUMENT, 0));
            assert!(text.contains("no From"), "{text}");

            let e = ptr::null_mut();
            assert_eq!(
                mailport_message_set_from(m, c"a@example.org".as_ptr(), e),
                MAILPORT_OK
            );
            assert_eq!(
                mailport_message_add_to(m, c"b@example.org".as_ptr(), e),
                MAILPORT_OK
            );
            assert_eq!(mailport_message_set_date(m, 0, e), MAILPORT_OK);
            assert_eq!(
                mailport_message_set_message_id(m, c"<x@example.org>".as_ptr(), e),
                MAILPORT_OK
            );
            assert_eq!(mailport_message_set_text(m, c"Hi".as_ptr(), e), MAILPORT_OK);

            // A NULL buffer with a length is refused by name.
            let (rc, text) = run(|e| mailport_message_render(m, ptr::null_mut(), 10, &mut n, e));
            assert_eq!(
                (rc, text.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "buf must not be NULL")
            );

            // The sizing call.
            let (rc, text) = run(|e| mailport_message_render(m, ptr::null_mut(), 0, &mut n, e));
            assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
            assert!(n > 100, "{n}");
            assert!(
                text.contains(&format!("is {n} bytes, buf holds 0")),
                "{text}"
            );

            // Too small by one: the start is written, the length reported.
            let mut small = vec![0x55u8; n - 1];
            let mut n2 = 0;
            let (rc, _) =
                run(|e| mailport_message_render(m, small.as_mut_ptr(), n - 1, &mut n2, e));
            assert_eq!((rc, n2), (MAILPORT_ERR_BUFFER_TOO_SMALL, n));
            assert!(small.starts_with(b"Date: "));

            // Exactly the length: success, and nothing written past it (no NUL).
            let mut buf = vec![0x55u8; n + 1];
            let (rc, _) = run(|e| mailport_message_render(m, buf.as_mut_ptr(), n, &mut n2, e));
            assert_eq!((rc, n2), (MAILPORT_OK, n));
            assert_eq!(buf[n], 0x55, "no terminating NUL is written");
            assert_eq!(&buf[..n - 1], &small[..], "the truncated copy is a prefix");
            assert!(buf[..n].ends_with(b"\r\n"));
            // With the Date and Message-ID fixed, rendering is repeatable except for the MIME
            // boundaries, which this single-part message has none of.
            assert_eq!(msg.render(), &buf[..n]);

            // out_n may be NULL.
            let rc =
                mailport_message_render(m, buf.as_mut_ptr(), n, ptr::null_mut(), ptr::null_mut());
            assert_eq!(rc, MAILPORT_OK);
        }
    }

    #[test]
    fn panics_never_escape_and_leave_the_message_usable() {
        let msg = Msg::new();
        let m = msg.0;
        // SAFETY: `m` is live; strings are NUL-terminated.
        unsafe {
            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let (rc, text) = run(|e| mailport_message_set_subject(m, c"x".as_ptr(), e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);
            assert!(
                text.contains("test-only panic inside a message call"),
                "{text}"
            );
            assert!(msg.get().subject().is_none());

            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let mut n = 5;
            let (rc, _) = run(|e| mailport_message_render(m, ptr::null_mut(), 0, &mut n, e));
            assert_eq!((rc, n), (MAILPORT_ERR_PANIC, 0));

            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let mut out: *mut mailport_message = ptr::dangling_mut();
            let (rc, _) = run(|e| mailport_message_clone(m, &mut out, e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);
            assert!(out.is_null());

            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            assert_eq!(mailport_message_remove_header(m, c"X-A".as_ptr()), 0);

            // Without an error object the code still comes back.
            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let rc = mailport_message_add_to(m, c"a@example.org".as_ptr(), ptr::null_mut());
            assert_eq!(rc, MAILPORT_ERR_PANIC);

            let (rc, _) = run(|e| mailport_message_set_subject(m, c"after".as_ptr(), e));
            assert_eq!(rc, MAILPORT_OK);
            assert_eq!(msg.get().subject(), Some("after"));
        }
    }

    #[test]
    fn every_setter_succeeds_with_good_values() {
        // Guards the list in `every_setter`: each entry must be a real setter, so the NULL test
        // above covers them all. Here each is called with a value that suits it.
        let msg = Msg::new();
        let m = msg.0;
        let dir = std::env::temp_dir().join(format!("mailport-ffi-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.txt");
        std::fs::write(&file, b"file contents").unwrap();
        let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
        let p = path.as_ptr();
        let a = c"a@example.org".as_ptr();
        let d = b"x".as_ptr();
        // SAFETY: `m` is live; strings NUL-terminated; `d` readable for 1 byte.
        let calls: Vec<Call> = unsafe {
            vec![
                Box::new(move |e| mailport_message_set_from(m, a, e)),
                Box::new(move |e| mailport_message_set_from_parts(m, ptr::null(), a, e)),
                Box::new(move |e| mailport_message_set_sender(m, a, e)),
                Box::new(move |e| mailport_message_add_reply_to(m, a, e)),
                Box::new(move |e| mailport_message_add_to(m, a, e)),
                Box::new(move |e| mailport_message_add_cc(m, a, e)),
                Box::new(move |e| mailport_message_add_bcc(m, a, e)),
                Box::new(move |e| mailport_message_add_mailbox_parts(m, 1, ptr::null(), a, e)),
                Box::new(move |e| mailport_message_set_envelope_from(m, c"".as_ptr(), e)),
                Box::new(move |e| mailport_message_set_subject(m, c"s".as_ptr(), e)),
                Box::new(move |e| mailport_message_set_date(m, -2_208_988_800, e)),
                Box::new(move |e| mailport_message_set_message_id(m, c"<i@d>".as_ptr(), e)),
                Box::new(move |e| {
                    mailport_message_add_header(m, c"X-A".as_ptr(), c"b".as_ptr(), e)
                }),
                Box::new(move |e| mailport_message_set_text(m, c"t".as_ptr(), e)),
                Box::new(move |e| {
                    mailport_message_set_text_as(m, c"text/markdown".as_ptr(), c"*t*".as_ptr(), e)
                }),
                Box::new(move |e| mailport_message_set_html(m, c"<b>h</b>".as_ptr(), e)),
                Box::new(move |e| {
                    mailport_message_set_mime_body(m, c"text/plain".as_ptr(), d.cast(), 1, e)
                }),
                Box::new(move |e| mailport_message_set_charset(m, c"US-ASCII".as_ptr(), e)),
                Box::new(move |e| mailport_message_attach_file(m, p, ptr::null(), ptr::null(), e)),
                Box::new(move |e| {
                    mailport_message_attach_file(m, p, c"b.csv".as_ptr(), c"text/csv".as_ptr(), e)
                }),
                Box::new(move |e| {
                    mailport_message_attach_bytes(m, c"c.bin".as_ptr(), ptr::null(), d.cast(), 1, e)
                }),
                Box::new(move |e| {
                    mailport_message_embed_file(m, c"img1".as_ptr(), p, ptr::null(), e)
                }),
                Box::new(move |e| {
                    mailport_message_embed_bytes(
                        m,
                        c"img2".as_ptr(),
                        c"i.png".as_ptr(),
                        ptr::null(),
                        d.cast(),
                        1,
                        e,
                    )
                }),
            ]
        };
        assert_eq!(calls.len(), every_setter(ptr::null_mut(), a).len() + 1);
        for (i, call) in calls.into_iter().enumerate() {
            let (rc, text) = run(call);
            assert_eq!(rc, MAILPORT_OK, "call {i}: {text}");
        }
        let rendered = String::from_utf8(msg.render()).unwrap();
        assert!(
            rendered.contains("filename=\"a.txt\"") || rendered.contains("a.txt"),
            "{rendered}"
        );
        assert!(rendered.contains("b.csv"), "{rendered}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
