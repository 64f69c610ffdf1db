//! `mailport_wp_mail_*`: WordPress's `wp_mail()` arguments and site defaults, parsed with
//! WordPress's header rules and built into a `mailport_message`.

use std::ffi::c_char;
use std::path::PathBuf;

use super::boundary::{Out, copy_out};
use super::error::{mailport_error, mailport_result};
use super::message::mailport_message;
use crate::message::{WpDefaults, WpMail, WpParsed};

/// The values WordPress's filters may change after the headers are parsed: the `which` argument
/// of `mailport_wp_mail_parsed_value` and `mailport_wp_mail_override`, passed as `uint32_t`.
///
/// Functions: mailport_wp_mail_parsed_value, mailport_wp_mail_override.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_wp_value {
    /// The sender's address: a From header's, else the default (`wp_mail_from` filter).
    MAILPORT_WP_FROM_EMAIL = 0,
    /// The sender's display name: a From header's, else the default (`wp_mail_from_name`).
    MAILPORT_WP_FROM_NAME = 1,
    /// The media type, e.g. "text/plain" or "text/html": a Content-Type header's, else the
    /// default (`wp_mail_content_type`).
    MAILPORT_WP_CONTENT_TYPE = 2,
    /// The charset, e.g. "UTF-8": a Content-Type header's charset parameter, else the default
    /// (`wp_mail_charset`).
    MAILPORT_WP_CHARSET = 3,
}

impl mailport_wp_value {
    const ALL: [mailport_wp_value; 4] = [
        mailport_wp_value::MAILPORT_WP_FROM_EMAIL,
        mailport_wp_value::MAILPORT_WP_FROM_NAME,
        mailport_wp_value::MAILPORT_WP_CONTENT_TYPE,
        mailport_wp_value::MAILPORT_WP_CHARSET,
    ];

    /// The value named by a C `which` argument, or `MAILPORT_ERR_INVALID_ARGUMENT`.
    fn from_u32(which: u32) -> Result<mailport_wp_value, mailport_error> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| *v as u32 == which)
            .ok_or_else(|| {
                mailport_error::invalid_argument(format!(
                    "which: unknown value {which} (expected a MAILPORT_WP_* value, 0-3)"
                ))
            })
    }

    /// The field of a parsed call this value is.
    fn field(self, parsed: &mut WpParsed) -> &mut String {
        match self {
            mailport_wp_value::MAILPORT_WP_FROM_EMAIL => &mut parsed.from_email,
            mailport_wp_value::MAILPORT_WP_FROM_NAME => &mut parsed.from_name,
            mailport_wp_value::MAILPORT_WP_CONTENT_TYPE => &mut parsed.content_type,
            mailport_wp_value::MAILPORT_WP_CHARSET => &mut parsed.charset,
        }
    }
}

/// One `wp_mail()` call: its arguments, the site's defaults, and the values WordPress's filters
/// replaced. For a WordPress plugin that routes `wp_mail()` through mailport.
///
/// Fill it with the call's arguments (`mailport_wp_mail_add_to`, `_set_subject`, `_set_message`,
/// `_add_headers`, `_add_attachment`, `_add_embed`) and the site's defaults (`_set_site_domain`,
/// `_set_default_from`, `_set_default_charset`, `_set_default_content_type`). Then run the
/// filters: read each value with `mailport_wp_mail_parsed_value` (WordPress's header parsing
/// applied to the arguments and defaults), pass it through `apply_filters()`, and hand the result
/// back with `mailport_wp_mail_override`. `mailport_wp_mail_build` finally makes the message.
///
/// Inputs are only checked for NULL and UTF-8 when they are set; WordPress's rules apply, and
/// every other check is made, when the message is built. Differences from WordPress:
/// `"Doe, John" <j@x>` stays one recipient; an invalid address is an error naming it (WordPress
/// drops it silently); header names are compared without regard to case.
///
/// **Thread safety:** may be read from many threads at once, but must not be changed while
/// anyone reads it.
///
/// Functions: mailport_wp_mail_new, mailport_wp_mail_free, mailport_wp_mail_add_to,
/// mailport_wp_mail_set_subject, mailport_wp_mail_set_message, mailport_wp_mail_add_headers,
/// mailport_wp_mail_add_header, mailport_wp_mail_add_attachment, mailport_wp_mail_add_embed,
/// mailport_wp_mail_set_site_domain, mailport_wp_mail_set_default_from,
/// mailport_wp_mail_set_default_charset, mailport_wp_mail_set_default_content_type,
/// mailport_wp_mail_parsed_value, mailport_wp_mail_override, mailport_wp_mail_build.
pub struct mailport_wp_mail {
    mail: WpMail,
    defaults: WpDefaults,
    /// Indexed by `mailport_wp_value`: what the filters returned, used instead of the parsed
    /// value.
    overrides: [Option<String>; 4],
}

impl mailport_wp_mail {
    /// WordPress's parsing, then the filters' values.
    fn parsed(&self) -> crate::error::Result<WpParsed> {
        let mut parsed = self.mail.parse(&self.defaults)?;
        for (which, value) in mailport_wp_value::ALL.iter().zip(&self.overrides) {
            if let Some(value) = value {
                *which.field(&mut parsed) = value.clone();
            }
        }
        Ok(parsed)
    }
}

/// Create an empty `wp_mail()` call with WordPress's defaults: site domain "localhost" (so From
/// is `wordpress@localhost` until `mailport_wp_mail_set_site_domain`), sender name "WordPress",
/// charset "UTF-8", content type "text/plain".
///
/// **Ownership:** the new object belongs to the caller; free it with `mailport_wp_mail_free`.
///
/// **NULL:** returns NULL only if an internal error occurred.
///
/// **Thread safety:** may be called from any thread.
///
/// # Safety
///
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_new() -> *mut mailport_wp_mail {
    ffi_boundary!({
        Box::into_raw(Box::new(mailport_wp_mail {
            mail: WpMail::default(),
            defaults: WpDefaults::default(),
            overrides: Default::default(),
        }))
    })
}

/// Free a `wp_mail()` call. Messages built from it are unaffected.
///
/// **Ownership:** takes back `wp`.
///
/// **NULL:** `wp` may be NULL (nothing happens).
///
/// # Safety
///
/// `wp` must be NULL or an object from `mailport_wp_mail_new` that has not been freed, and that
/// no other thread is using. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_free(wp: *mut mailport_wp_mail) {
    ffi_boundary!({
        if !wp.is_null() {
            // SAFETY: the caller passes an object mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(wp) });
        }
    })
}

/// Add to `$to`: one address or a comma-separated list (commas inside quotes, angle brackets and
/// comments do not separate). Call once per element for WordPress's array form.
///
/// **Ownership:** `to` is copied.
///
/// **NULL:** `wp` and `to` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `to` is not
/// UTF-8. Addresses are checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `to` NULL or a
/// NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_add_to(
    wp: *mut mailport_wp_mail,
    to: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.mail.to.push(arg_str!(to, "to").to_string());
    })
}

/// Set `$subject`, replacing an earlier one.
///
/// **Ownership:** `subject` is copied.
///
/// **NULL:** `wp` and `subject` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `subject` is not
/// UTF-8. A line break in it is refused by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `subject` NULL
/// or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_set_subject(
    wp: *mut mailport_wp_mail,
    subject: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.mail.subject = arg_str!(subject, "subject").to_string();
    })
}

/// Set `$message`, the body, replacing an earlier one. It is plain text, HTML or, with a
/// multipart Content-Type header that names a boundary, MIME parts written by the caller,
/// depending on the content type in effect.
///
/// **Ownership:** `message` is copied.
///
/// **NULL:** `wp` and `message` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `message` is not
/// UTF-8.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `message` NULL
/// or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_set_message(
    wp: *mut mailport_wp_mail,
    message: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.mail.message = arg_str!(message, "message").to_string();
    })
}

/// Add to `$headers` in WordPress's string form: `Name: value` lines separated by LF or CRLF
/// (empty lines are ignored). For the array form, call `mailport_wp_mail_add_header` once per
/// element instead: an element is one header, never split.
///
/// WordPress's rules apply when the call is parsed: From, Content-Type (with its charset and
/// boundary), Cc, Bcc and Reply-To set those fields (Cc, Bcc and Reply-To may repeat and hold
/// lists); MIME-Version and X-Mailer are dropped; any other header is passed through, the last
/// of a name winning.
///
/// **Ownership:** `headers` is copied.
///
/// **NULL:** `wp` and `headers` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `headers` is not
/// UTF-8. Names and values are checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `headers` NULL
/// or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_add_headers(
    wp: *mut mailport_wp_mail,
    headers: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.mail.add_headers(arg_str!(headers, "headers"));
    })
}

/// Add one element of WordPress's array form of `$headers`: exactly one `Name: value` header.
///
/// Surrounding whitespace (a trailing CRLF) is trimmed, as WordPress does. An element with a
/// line break left inside is refused rather than split into several headers: WordPress never
/// splits an array element, and contact-form plugins rely on that when a visitor's input goes
/// into one (`"Reply-To: $name <$email>"`); splitting would let the visitor add Bcc recipients.
/// The same rules as `mailport_wp_mail_add_headers` apply when the call is parsed.
///
/// **Ownership:** `header` is copied.
///
/// **NULL:** `wp` and `header` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `header` is not
/// UTF-8 or holds CR or LF inside (the error names the header; nothing is added).
///
/// **Thread safety:** `wp` must not be used by another thread during the call.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `header` NULL
/// or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_add_header(
    wp: *mut mailport_wp_mail,
    header: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.mail.add_header(arg_str!(header, "header"))?;
    })
}

/// Add a file to `$attachments`, shown as `name` (WordPress's string array keys) or by its own
/// file name.
///
/// **Ownership:** the strings are copied; the file must exist when the message is built and
/// still be there when it is sent.
///
/// **NULL:** `wp` and `path` must not be NULL; `name` may be NULL (or ""): the file's own name.
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8. A missing file is reported by `mailport_wp_mail_build` (`MAILPORT_ERR_ATTACHMENT`).
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `path` and
/// `name` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_add_attachment(
    wp: *mut mailport_wp_mail,
    path: *const c_char,
    name: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        let path = PathBuf::from(arg_str!(path, "path"));
        let name = if name.is_null() {
            None
        } else {
            Some(arg_str!(name, "name").to_string())
        };
        w.mail.attachments.push((name, path));
    })
}

/// Add an inline file to `$embeds` (WordPress 6.9), shown by the HTML body as
/// `<img src="cid:CONTENT_ID">`.
///
/// **Ownership:** the strings are copied; the file must exist when the message is built.
///
/// **NULL:** `wp`, `content_id` and `path` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8. The Content-ID and the file are checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `content_id`
/// and `path` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_add_embed(
    wp: *mut mailport_wp_mail,
    content_id: *const c_char,
    path: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        let content_id = arg_str!(content_id, "content_id").to_string();
        let path = PathBuf::from(arg_str!(path, "path"));
        w.mail.embeds.push((content_id, path));
    })
}

/// Set the site's host name (WordPress's `network_home_url()` host). Without a From header or a
/// default sender, From is `wordpress@<domain>`, with a leading "www." removed. Default:
/// "localhost".
///
/// **Ownership:** `domain` is copied.
///
/// **NULL:** `wp` and `domain` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `domain` is not
/// UTF-8. The resulting address is checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `domain` NULL
/// or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_set_site_domain(
    wp: *mut mailport_wp_mail,
    domain: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.defaults.site_domain = arg_str!(domain, "domain").to_string();
    })
}

/// Set the sender used when the call has no From header: `email` instead of
/// `wordpress@<site domain>`, and `name` instead of "WordPress".
///
/// **Ownership:** the strings are copied.
///
/// **NULL:** `wp` must not be NULL. `email` may be NULL: `wordpress@<site domain>`. `name` may be
/// NULL: "WordPress". `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8. The address is checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `email` and
/// `name` NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_set_default_from(
    wp: *mut mailport_wp_mail,
    email: *const c_char,
    name: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        let email = if email.is_null() {
            None
        } else {
            Some(arg_str!(email, "email").to_string())
        };
        let name = if name.is_null() {
            WpDefaults::default().from_name
        } else {
            arg_str!(name, "name").to_string()
        };
        w.defaults.from_email = email;
        w.defaults.from_name = name;
    })
}

/// Set the charset used when no Content-Type header names one (WordPress's `blog_charset`
/// option). Default: "UTF-8".
///
/// **Ownership:** `charset` is copied.
///
/// **NULL:** `wp` and `charset` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `charset` is not
/// UTF-8. Whether mailport supports it is checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `charset` NULL
/// or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_set_default_charset(
    wp: *mut mailport_wp_mail,
    charset: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.defaults.charset = arg_str!(charset, "charset").to_string();
    })
}

/// Set the content type used when no Content-Type header gives one. Default: "text/plain".
///
/// **Ownership:** `content_type` is copied.
///
/// **NULL:** `wp` and `content_type` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `content_type`
/// is not UTF-8. It is checked by `mailport_wp_mail_build`.
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `content_type`
/// NULL or a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_set_default_content_type(
    wp: *mut mailport_wp_mail,
    content_type: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        w.defaults.content_type = arg_str!(content_type, "content_type").to_string();
    })
}

/// Copy one value of the parsed call into `buf`: what WordPress's header parsing gives for
/// `which` (a `mailport_wp_value`), from the arguments and defaults set so far. This is the value
/// to pass to the matching WordPress filter (`wp_mail_from`, `wp_mail_from_name`,
/// `wp_mail_content_type`, `wp_mail_charset`). Overrides do not change it.
///
/// Copy-out convention: writes at most `len` bytes including a terminating NUL (when `len > 0`),
/// cutting at a UTF-8 character boundary, and always stores the full length (without the NUL)
/// in `*out_n`. Call once with `buf` = NULL and `len` = 0 to learn the size, then with a buffer
/// of `*out_n + 1` bytes.
///
/// **Ownership:** the text is copied into the caller's buffer.
///
/// **NULL:** `wp` must not be NULL; `buf` may be NULL only when `len` is 0; `out_n` may be NULL.
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `which` is not a
/// `mailport_wp_value`; `MAILPORT_ERR_BUFFER_TOO_SMALL` when the text and its NUL did not fit
/// (including the sizing call).
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread changes during the call; `buf` NULL
/// or writable for `len` bytes; `out_n` NULL or valid for writing one `size_t`; `error_out` NULL
/// or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_parsed_value(
    wp: *const mailport_wp_mail,
    which: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        if !out_n.is_null() {
            // SAFETY: this function's contract makes a non-NULL `out_n` valid for writes.
            unsafe { *out_n = 0 };
        }
        let wp = arg_ref!(wp, "wp");
        let which = mailport_wp_value::from_u32(which)?;
        if buf.is_null() && len != 0 {
            return Err(mailport_error::null_argument("buf"));
        }
        let mut parsed = wp.mail.parse(&wp.defaults)?;
        let value = which.field(&mut parsed);
        // SAFETY: guaranteed by this function's contract (`buf` is non-NULL when `len` > 0).
        match unsafe { copy_out(value, buf, len, out_n) } {
            mailport_result::MAILPORT_OK => Ok(()),
            _ => Err(mailport_error::buffer_too_small(
                "the value with its NUL",
                value.len() + 1,
                len,
            )),
        }
    })
}

/// Use `value` for `which` (a `mailport_wp_value`) instead of the parsed value when the message
/// is built: what the WordPress filter returned. Replaces an earlier override of the same value;
/// a NULL `value` removes it.
///
/// **Ownership:** `value` is copied.
///
/// **NULL:** `wp` must not be NULL; `value` may be NULL (back to the parsed value). `error_out`
/// may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `which` is not a
/// `mailport_wp_value` or `value` is not UTF-8. The value itself is checked by
/// `mailport_wp_mail_build` (an invalid From address gives `MAILPORT_ERR_INVALID_ADDRESS` with
/// the field "From").
///
/// # Safety
///
/// `wp` must be NULL or a live object that no other thread uses during the call; `value` NULL or
/// a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_override(
    wp: *mut mailport_wp_mail,
    which: u32,
    value: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(wp, error_out, |w| {
        let which = mailport_wp_value::from_u32(which)?;
        let value = if value.is_null() {
            None
        } else {
            Some(arg_str!(value, "value").to_string())
        };
        w.overrides[which as usize] = value;
    })
}

/// Build the message the way `wp_mail()` would: WordPress's header parsing, then the overrides,
/// then every check.
///
/// Recipients come from `$to` and the Cc, Bcc and Reply-To headers; From from the From header,
/// the defaults or the override; the body is text, HTML or the caller's MIME parts according to
/// the content type; headers WordPress passes through are added; attachments and embeds are
/// checked to exist. Every invalid address of the whole call is reported at once.
///
/// **Ownership:** `wp` is only read, and can be built again. On success `*message_out` receives a
/// new message that the caller sends with `mailport_client_send` and frees with
/// `mailport_message_free`.
///
/// **NULL:** `wp` and `message_out` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ADDRESS` when any address (From,
/// To, Cc, Bcc, Reply-To) is invalid: `mailport_error_invalid_address_count` and its siblings
/// list each with its field; `MAILPORT_ERR_INVALID_ARGUMENT` when there is no recipient, the
/// subject or a header has a line break, the content type is not text (or multipart with a
/// boundary), or the charset is not supported; `MAILPORT_ERR_ATTACHMENT` when an attachment or
/// embed file is missing or unreadable (the message names the path).
///
/// **Thread safety:** several threads may build from the same object at once, provided nobody
/// changes it meanwhile.
///
/// # Safety
///
/// `wp` must be NULL or a live object that nobody changes during the call; `message_out` and
/// `error_out` each NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_wp_mail_build(
    wp: *const mailport_wp_mail,
    message_out: *mut *mut mailport_message,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_message> = out_arg!(message_out);
        out.require("message_out")?;
        let wp = arg_ref!(wp, "wp");
        out.set(mailport_message(wp.parsed()?.build()?));
        Ok(())
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
        mailport_error_invalid_address_reason, mailport_error_message, mailport_message_free,
        mailport_message_render,
    };
    use crate::message::Message;

    use std::ptr;

    use mailport_result::*;
    use mailport_wp_value::*;

    /// A `wp_mail()` call freed on drop.
    struct Wp(*mut mailport_wp_mail);
    impl Wp {
        fn new() -> Wp {
            // SAFETY: no arguments.
            let wp = unsafe { mailport_wp_mail_new() };
            assert!(!wp.is_null());
            Wp(wp)
        }
        fn ok(&self, call: impl FnOnce(*mut mailport_wp_mail) -> mailport_result) -> &Wp {
            assert_eq!(call(self.0), MAILPORT_OK);
            self
        }
        /// The parsed value through the copy-out API (sizing call, then the copy).
        fn value(&self, which: mailport_wp_value) -> String {
            let mut n = usize::MAX;
            // SAFETY: `self.0` is live; the sizing call writes nothing.
            let rc = unsafe {
                mailport_wp_mail_parsed_value(
                    self.0,
                    which as u32,
                    ptr::null_mut(),
                    0,
                    &mut n,
                    ptr::null_mut(),
                )
            };
            assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
            let mut buf = vec![0x55 as c_char; n + 1];
            let mut n2 = 0;
            // SAFETY: `buf` is writable for n + 1 bytes.
            let (rc, m) = run(|e| unsafe {
                mailport_wp_mail_parsed_value(
                    self.0,
                    which as u32,
                    buf.as_mut_ptr(),
                    n + 1,
                    &mut n2,
                    e,
                )
            });
            assert_eq!((rc, n2), (MAILPORT_OK, n), "{m}");
            text(buf.as_ptr())
        }
        /// Build; the message (Rust side) or the error's code and message.
        fn build(&self) -> Result<Message, (mailport_result, String)> {
            let mut out: *mut mailport_message = ptr::dangling_mut();
            // SAFETY: `self.0` is live; `out` is a valid out location.
            let (rc, m) = run(|e| unsafe { mailport_wp_mail_build(self.0, &mut out, e) });
            if rc != MAILPORT_OK {
                assert!(out.is_null(), "message_out stays NULL on failure");
                return Err((rc, m));
            }
            // SAFETY: `out` is a new message from mailport, freed here.
            unsafe {
                let message = (*out).0.clone();
                mailport_message_free(out);
                Ok(message)
            }
        }
    }
    impl Drop for Wp {
        fn drop(&mut self) {
            // SAFETY: made by mailport, freed once.
            unsafe { mailport_wp_mail_free(self.0) };
        }
    }

    type Call = Box<dyn Fn(*mut *mut mailport_error) -> mailport_result>;

    fn e() -> *mut *mut mailport_error {
        ptr::null_mut()
    }

    #[test]
    fn defaults_give_wordpress_at_the_site() {
        let wp = Wp::new();
        // SAFETY: in every closure, `w` is live; strings are NUL-terminated.
        unsafe {
            wp.ok(|w| mailport_wp_mail_add_to(w, c"a@example.org".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_subject(w, c"Hi".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_message(w, c"Body".as_ptr(), e()));
        }
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "wordpress@localhost");
        assert_eq!(wp.value(MAILPORT_WP_FROM_NAME), "WordPress");
        assert_eq!(wp.value(MAILPORT_WP_CONTENT_TYPE), "text/plain");
        assert_eq!(wp.value(MAILPORT_WP_CHARSET), "UTF-8");

        // SAFETY: as above.
        unsafe {
            wp.ok(|w| mailport_wp_mail_set_site_domain(w, c"www.blog.example".as_ptr(), e()));
        }
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "wordpress@blog.example");
        let message = wp.build().unwrap();
        assert_eq!(message.from().unwrap().address(), "wordpress@blog.example");
        assert_eq!(message.from().unwrap().name(), Some("WordPress"));
        assert_eq!(message.subject(), Some("Hi"));

        // SAFETY: as above.
        unsafe {
            wp.ok(|w| {
                mailport_wp_mail_set_default_from(
                    w,
                    c"site@example.org".as_ptr(),
                    c"My Site".as_ptr(),
                    e(),
                )
            })
            .ok(|w| mailport_wp_mail_set_default_content_type(w, c"text/html".as_ptr(), e()))
            .ok(|w| mailport_wp_mail_set_default_charset(w, c"iso-8859-1".as_ptr(), e()));
        }
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "site@example.org");
        assert_eq!(wp.value(MAILPORT_WP_FROM_NAME), "My Site");
        assert_eq!(wp.value(MAILPORT_WP_CONTENT_TYPE), "text/html");
        assert_eq!(wp.value(MAILPORT_WP_CHARSET), "iso-8859-1");
        let message = wp.build().unwrap();
        assert_eq!(message.from().unwrap().name(), Some("My Site"));
        assert!(message.html.is_some() && message.text.is_none());

        // NULL email and name go back to WordPress's own defaults.
        // SAFETY: as above.
        unsafe {
            wp.ok(|w| mailport_wp_mail_set_default_from(w, ptr::null(), ptr::null(), e()));
        }
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "wordpress@blog.example");
        assert_eq!(wp.value(MAILPORT_WP_FROM_NAME), "WordPress");
    }

    #[test]
    fn headers_are_parsed_and_overrides_win_at_build() {
        let dir = std::env::temp_dir().join(format!("mailport-ffi-wp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("invoice.pdf");
        std::fs::write(&file, b"%PDF-1.4").unwrap();
        let path = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
        // WordPress's string form: CRLF or LF, empty lines ignored, the last X-Order wins.
        const HEADERS: &std::ffi::CStr = c"From: Shop <shop@example.org>\r\n\
            Content-Type: text/html; charset=UTF-8\nCc: c@example.org\n\nX-Order: 1\nx-order: 2";
        const TO: &std::ffi::CStr = c"a@example.org, \"Doe, J\" <j@example.org>";
        let wp = Wp::new();
        // SAFETY: in every closure, `w` is live; strings are NUL-terminated.
        unsafe {
            wp.ok(|w| mailport_wp_mail_add_to(w, TO.as_ptr(), e()))
                .ok(|w| mailport_wp_mail_add_to(w, c"third@example.org".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_subject(w, c"Order".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_message(w, c"<p>Thanks</p>".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_add_headers(w, HEADERS.as_ptr(), e()))
                .ok(|w| mailport_wp_mail_add_headers(w, c"Bcc: hidden@example.org".as_ptr(), e()))
                .ok(|w| {
                    mailport_wp_mail_add_attachment(
                        w,
                        path.as_ptr(),
                        c"Invoice 7.pdf".as_ptr(),
                        e(),
                    )
                })
                .ok(|w| mailport_wp_mail_add_attachment(w, path.as_ptr(), ptr::null(), e()))
                .ok(|w| mailport_wp_mail_add_embed(w, c"logo".as_ptr(), path.as_ptr(), e()));
        }
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "shop@example.org");
        assert_eq!(wp.value(MAILPORT_WP_FROM_NAME), "Shop");
        assert_eq!(wp.value(MAILPORT_WP_CONTENT_TYPE), "text/html");
        assert_eq!(wp.value(MAILPORT_WP_CHARSET), "UTF-8");

        let message = wp.build().unwrap();
        assert_eq!(message.to().len(), 3);
        assert_eq!(message.to()[1].name(), Some("Doe, J"));
        assert_eq!(message.cc().len(), 1);
        assert_eq!(message.bcc().len(), 1);
        assert_eq!(
            message.headers(),
            [("X-Order".to_string(), "2".to_string())]
        );
        assert_eq!(message.attachments.len(), 3);
        assert_eq!(message.attachments[0].filename, "Invoice 7.pdf");
        assert_eq!(message.attachments[1].filename, "invoice.pdf");

        // The filters change all four values.
        // SAFETY: in every closure, as above.
        unsafe {
            wp.ok(|w| {
                mailport_wp_mail_override(
                    w,
                    MAILPORT_WP_FROM_EMAIL as u32,
                    c"noreply@example.org".as_ptr(),
                    e(),
                )
            })
            .ok(|w| {
                mailport_wp_mail_override(
                    w,
                    MAILPORT_WP_FROM_NAME as u32,
                    c"Caf\xc3\xa9 Shop".as_ptr(),
                    e(),
                )
            })
            .ok(|w| {
                mailport_wp_mail_override(
                    w,
                    MAILPORT_WP_CONTENT_TYPE as u32,
                    c"text/plain".as_ptr(),
                    e(),
                )
            })
            .ok(|w| {
                mailport_wp_mail_override(w, MAILPORT_WP_CHARSET as u32, c"us-ascii".as_ptr(), e())
            });
        }
        // The parsed values are what WordPress parsed, not the overrides.
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "shop@example.org");
        let message = wp.build().unwrap();
        assert_eq!(message.from().unwrap().address(), "noreply@example.org");
        assert_eq!(message.from().unwrap().name(), Some("Café Shop"));
        assert!(message.text.is_some() && message.html.is_none());
        assert_eq!(message.charset, crate::message::Charset::UsAscii);

        // Removing an override goes back to the parsed value; a bad override fails the build.
        // SAFETY: in every closure, as above.
        unsafe {
            wp.ok(|w| {
                mailport_wp_mail_override(w, MAILPORT_WP_FROM_EMAIL as u32, ptr::null(), e())
            })
            .ok(|w| {
                mailport_wp_mail_override(w, MAILPORT_WP_CHARSET as u32, c"klingon".as_ptr(), e())
            });
        }
        let (rc, m) = wp.build().unwrap_err();
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("klingon"), "{m}");
        // SAFETY: as above.
        unsafe {
            wp.ok(|w| mailport_wp_mail_override(w, MAILPORT_WP_CHARSET as u32, ptr::null(), e()));
        }
        assert_eq!(
            wp.build().unwrap().from().unwrap().address(),
            "shop@example.org"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invalid_addresses_are_listed_with_their_fields() {
        let wp = Wp::new();
        // SAFETY: in every closure, `w` is live; strings are NUL-terminated.
        unsafe {
            wp.ok(|w| mailport_wp_mail_add_to(w, c"ok@example.org, bad-to".as_ptr(), e()))
                .ok(|w| {
                    mailport_wp_mail_add_headers(
                        w,
                        c"Cc: good@example.org, not valid@@x".as_ptr(),
                        e(),
                    )
                })
                .ok(|w| {
                    mailport_wp_mail_override(
                        w,
                        MAILPORT_WP_FROM_EMAIL as u32,
                        c"nobody".as_ptr(),
                        e(),
                    )
                });
        }
        let mut out: *mut mailport_message = ptr::dangling_mut();
        let mut err = ptr::null_mut();
        // SAFETY: `wp.0` is live; `out` and `err` are valid out locations; `err` freed below.
        unsafe {
            let rc = mailport_wp_mail_build(wp.0, &mut out, &mut err);
            assert_eq!(rc, MAILPORT_ERR_INVALID_ADDRESS);
            assert!(out.is_null());
            let message = text(mailport_error_message(err));
            assert!(message.contains("3 invalid addresses"), "{message}");
            assert_eq!(mailport_error_invalid_address_count(err), 3);
            let listed: Vec<(String, String)> = (0..3)
                .map(|i| {
                    assert!(!text(mailport_error_invalid_address_reason(err, i)).is_empty());
                    (
                        text(mailport_error_invalid_address_field(err, i)),
                        text(mailport_error_invalid_address_input(err, i)),
                    )
                })
                .collect();
            assert_eq!(
                listed,
                [
                    ("From".to_string(), "nobody".to_string()),
                    ("To".to_string(), "bad-to".to_string()),
                    ("Cc".to_string(), "not valid@@x".to_string()),
                ]
            );
            assert_eq!(text(mailport_error_invalid_address_field(err, 3)), "");
            mailport_error_free(err);
        }
        // A line break in a header value is refused at build, naming the header.
        let wp = Wp::new();
        // SAFETY: in every closure, as above.
        unsafe {
            wp.ok(|w| mailport_wp_mail_add_to(w, c"ok@example.org".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_subject(w, c"Hi\r\nBcc: x@example.org".as_ptr(), e()));
        }
        let (rc, m) = wp.build().unwrap_err();
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("Subject") && m.contains("line break"), "{m}");
        // No recipient at all.
        let wp = Wp::new();
        let (rc, m) = wp.build().unwrap_err();
        assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
        assert!(m.contains("no recipient"), "{m}");
        // A missing attachment names its path.
        // SAFETY: in every closure, as above.
        unsafe {
            wp.ok(|w| mailport_wp_mail_add_to(w, c"ok@example.org".as_ptr(), e()))
                .ok(|w| {
                    mailport_wp_mail_add_attachment(
                        w,
                        c"/nonexistent/x.pdf".as_ptr(),
                        ptr::null(),
                        e(),
                    )
                });
        }
        let (rc, m) = wp.build().unwrap_err();
        assert_eq!(rc, MAILPORT_ERR_ATTACHMENT);
        assert!(m.contains("/nonexistent/x.pdf"), "{m}");
    }

    #[test]
    fn null_and_non_utf8_arguments_are_named() {
        let null_wp = ptr::null_mut();
        let s = c"x".as_ptr();
        let mut out: *mut mailport_message = ptr::dangling_mut();
        // SAFETY: NULL handles are the case under test; other arguments are valid.
        unsafe {
            let calls: Vec<Call> = vec![
                Box::new(move |e| mailport_wp_mail_add_to(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_set_subject(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_set_message(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_add_headers(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_add_attachment(null_wp, s, s, e)),
                Box::new(move |e| mailport_wp_mail_add_embed(null_wp, s, s, e)),
                Box::new(move |e| mailport_wp_mail_set_site_domain(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_set_default_from(null_wp, s, s, e)),
                Box::new(move |e| mailport_wp_mail_set_default_charset(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_set_default_content_type(null_wp, s, e)),
                Box::new(move |e| mailport_wp_mail_override(null_wp, 0, s, e)),
                Box::new(move |e| {
                    mailport_wp_mail_parsed_value(
                        null_wp,
                        0,
                        ptr::null_mut(),
                        0,
                        ptr::null_mut(),
                        e,
                    )
                }),
            ];
            for (i, call) in calls.into_iter().enumerate() {
                let (rc, m) = run(call);
                assert_eq!(
                    (rc, m.as_str()),
                    (MAILPORT_ERR_NULL_ARGUMENT, "wp must not be NULL"),
                    "#{i}"
                );
            }
            let (rc, m) = run(|e| mailport_wp_mail_build(ptr::null(), &mut out, e));
            assert_eq!(
                (rc, m.as_str()),
                (MAILPORT_ERR_NULL_ARGUMENT, "wp must not be NULL")
            );
            assert!(out.is_null());
            mailport_wp_mail_free(ptr::null_mut());
        }

        let wp = Wp::new();
        let w = wp.0;
        let null = ptr::null();
        let bad = c"\xc3(".as_ptr();
        // SAFETY: `w` is live; strings are NUL-terminated or NULL.
        unsafe {
            let cases: Vec<(&str, Call)> = vec![
                ("to", Box::new(move |e| mailport_wp_mail_add_to(w, null, e))),
                ("to", Box::new(move |e| mailport_wp_mail_add_to(w, bad, e))),
                (
                    "subject",
                    Box::new(move |e| mailport_wp_mail_set_subject(w, bad, e)),
                ),
                (
                    "message",
                    Box::new(move |e| mailport_wp_mail_set_message(w, null, e)),
                ),
                (
                    "headers",
                    Box::new(move |e| mailport_wp_mail_add_headers(w, bad, e)),
                ),
                (
                    "path",
                    Box::new(move |e| mailport_wp_mail_add_attachment(w, null, s, e)),
                ),
                (
                    "name",
                    Box::new(move |e| mailport_wp_mail_add_attachment(w, s, bad, e)),
                ),
                (
                    "content_id",
                    Box::new(move |e| mailport_wp_mail_add_embed(w, null, s, e)),
                ),
                (
                    "path",
                    Box::new(move |e| mailport_wp_mail_add_embed(w, s, bad, e)),
                ),
                (
                    "domain",
                    Box::new(move |e| mailport_wp_mail_set_site_domain(w, null, e)),
                ),
                (
                    "email",
                    Box::new(move |e| mailport_wp_mail_set_default_from(w, bad, s, e)),
                ),
                (
                    "name",
                    Box::new(move |e| mailport_wp_mail_set_default_from(w, s, bad, e)),
                ),
                (
                    "charset",
                    Box::new(move |e| mailport_wp_mail_set_default_charset(w, null, e)),
                ),
                (
                    "content_type",
                    Box::new(move |e| mailport_wp_mail_set_default_content_type(w, bad, e)),
                ),
                (
                    "value",
                    Box::new(move |e| mailport_wp_mail_override(w, 1, bad, e)),
                ),
                (
                    "message_out",
                    Box::new(move |e| mailport_wp_mail_build(w, ptr::null_mut(), e)),
                ),
                (
                    "buf",
                    Box::new(move |e| {
                        mailport_wp_mail_parsed_value(w, 1, ptr::null_mut(), 4, ptr::null_mut(), e)
                    }),
                ),
            ];
            for (i, (name, call)) in cases.into_iter().enumerate() {
                let (rc, m) = run(call);
                match rc {
                    MAILPORT_ERR_NULL_ARGUMENT => {
                        assert_eq!(m, format!("{name} must not be NULL"), "#{i}")
                    }
                    MAILPORT_ERR_INVALID_ARGUMENT => {
                        assert!(
                            m.starts_with(&format!("{name} is not valid UTF-8")),
                            "#{i}: {m}"
                        )
                    }
                    other => panic!("#{i} ({name}): unexpected {other:?}: {m}"),
                }
            }
        }
        // A failed setter changed nothing.
        assert!(wp.build().is_err_and(|(_, m)| m.contains("no recipient")));
        assert_eq!(wp.value(MAILPORT_WP_FROM_EMAIL), "wordpress@localhost");
    }

    #[test]
    fn which_is_validated_and_values_copy_out() {
        let wp = Wp::new();
        let w = wp.0;
        // SAFETY: `w` is live; buffers are writable for the lengths passed.
        unsafe {
            for bad in [4, 99, u32::MAX] {
                let (rc, m) = run(|e| mailport_wp_mail_override(w, bad, c"x".as_ptr(), e));
                assert_eq!(rc, MAILPORT_ERR_INVALID_ARGUMENT);
                assert!(m.starts_with(&format!("which: unknown value {bad}")), "{m}");
                let mut n = 9;
                let (rc, m) =
                    run(|e| mailport_wp_mail_parsed_value(w, bad, ptr::null_mut(), 0, &mut n, e));
                assert_eq!((rc, n), (MAILPORT_ERR_INVALID_ARGUMENT, 0));
                assert!(m.contains("MAILPORT_WP_"), "{m}");
            }
            // "wordpress@localhost" is 19 bytes: a 19-byte buffer truncates (the NUL needs one
            // more), reports the length, and stays NUL-terminated.
            let mut buf = [0x55 as c_char; 19];
            let mut n = 0;
            let (rc, m) = run(|e| {
                mailport_wp_mail_parsed_value(w, 0, buf.as_mut_ptr(), buf.len(), &mut n, e)
            });
            assert_eq!((rc, n), (MAILPORT_ERR_BUFFER_TOO_SMALL, 19));
            assert!(m.contains("buf holds 19"), "{m}");
            assert_eq!(text(buf.as_ptr()), "wordpress@localhos");
            let mut buf = [0x55 as c_char; 20];
            let (rc, _) = run(|e| {
                mailport_wp_mail_parsed_value(w, 0, buf.as_mut_ptr(), buf.len(), ptr::null_mut(), e)
            });
            assert_eq!(rc, MAILPORT_OK);
            assert_eq!(text(buf.as_ptr()), "wordpress@localhost");
        }
    }

    #[test]
    fn a_built_message_renders_and_panics_never_escape() {
        let wp = Wp::new();
        // SAFETY: in every closure, `w` is live; strings are NUL-terminated.
        unsafe {
            wp.ok(|w| mailport_wp_mail_add_to(w, c"a@example.org".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_subject(w, c"R\xc3\xa9sum\xc3\xa9".as_ptr(), e()))
                .ok(|w| mailport_wp_mail_set_message(w, c"Hello".as_ptr(), e()));
        }
        let mut message = ptr::null_mut();
        // SAFETY: `wp.0` is live; `message` is freed below.
        unsafe {
            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let (rc, m) = run(|e| mailport_wp_mail_build(wp.0, &mut message, e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);
            assert!(m.contains("test-only panic inside a wp call"), "{m}");
            assert!(message.is_null());

            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let (rc, _) = run(|e| mailport_wp_mail_set_subject(wp.0, c"x".as_ptr(), e));
            assert_eq!(rc, MAILPORT_ERR_PANIC);

            PANIC_IN_NEXT_CALL.with(|p| p.set(true));
            let mut n = 3;
            let (rc, _) =
                run(|e| mailport_wp_mail_parsed_value(wp.0, 0, ptr::null_mut(), 0, &mut n, e));
            assert_eq!((rc, n), (MAILPORT_ERR_PANIC, 0));

            let (rc, m) = run(|e| mailport_wp_mail_build(wp.0, &mut message, e));
            assert_eq!(rc, MAILPORT_OK, "{m}");
            let mut n = 0;
            let rc = mailport_message_render(message, ptr::null_mut(), 0, &mut n, ptr::null_mut());
            assert_eq!(rc, MAILPORT_ERR_BUFFER_TOO_SMALL);
            let mut buf = vec![0u8; n];
            let rc = mailport_message_render(message, buf.as_mut_ptr(), n, &mut n, ptr::null_mut());
            assert_eq!(rc, MAILPORT_OK);
            let rendered = String::from_utf8(buf).unwrap();
            assert!(
                rendered.contains("From: WordPress <wordpress@localhost>\r\n"),
                "{rendered}"
            );
            assert!(rendered.contains("Subject: =?"), "{rendered}");
            mailport_message_free(message);
        }
    }
}
