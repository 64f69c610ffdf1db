//! Attachments and inline parts, from files or from memory.

use std::ffi::c_char;
use std::path::Path;

use super::mailport_message;
use crate::ffi::error::{mailport_error, mailport_result};

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
