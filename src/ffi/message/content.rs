//! Setters of the message's headers and bodies: Subject, Date, Message-ID, extra headers, text,
//! HTML, a caller's MIME body and the charset.

use std::ffi::c_char;
use std::time::{Duration, SystemTime};

use super::mailport_message;
use crate::ffi::error::{mailport_error, mailport_result};
use crate::message::Charset;

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
        let Ok(message) = (unsafe { crate::ffi::boundary::arg_mut(message, "message") }) else {
            return 0;
        };
        // SAFETY: guaranteed by this function's contract.
        match unsafe { crate::ffi::boundary::arg_str(name, "name") } {
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
/// is not UTF-8, contains a line break, is not a valid media type (a type or subtype over 127
/// characters included), has parameters that are not ASCII `name=value` pairs, is longer than
/// the 984 octets its header line holds, or is multipart without a boundary; or when the body is not UTF-8 text, contains a NUL byte, or has a line longer than
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
