//! Setters of the message's addresses: From, Sender, Reply-To, To, Cc, Bcc and the envelope sender.

use std::ffi::c_char;

use super::mailport_message;
use crate::ffi::error::{mailport_error, mailport_result};
use crate::message::AddressField;

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
