//! The C ABI: opaque handles, result codes, error objects and the callback adapter.
//!
//! This module only translates between C and the core: it converts arguments, calls the core,
//! and converts results back. The generated header `include/mailport.h` is its C face.
//!
//! # Conventions (normative for every exported function)
//!
//! - **Results.** Every fallible function returns a [`mailport_result`] (`MAILPORT_OK` = 0) and
//!   takes `mailport_error **error_out` as its last parameter. `error_out` may be NULL. When it is
//!   not, `*error_out` is set to NULL on entry and receives a new error object on failure, freed
//!   with `mailport_error_free`.
//! - **Ownership.** No function takes ownership of an argument. Every pointer returned by a
//!   `_new` or through an `**out` parameter belongs to the caller and is freed with the matching
//!   `_free`. Every `_free` accepts NULL; freeing twice is undefined behaviour. Every non-NULL
//!   `**out` is set to NULL on entry and written only on success.
//! - **Strings in** are NUL-terminated UTF-8. NULL gives `MAILPORT_ERR_NULL_ARGUMENT`, invalid
//!   UTF-8 gives `MAILPORT_ERR_INVALID_ARGUMENT`; both name the parameter.
//! - **Strings out** are either *borrowed* from an immutable object (errors, receipts, reports;
//!   valid until that object is freed, never NULL unless stated), *copied out* of a mutable
//!   handle into the caller's buffer (`buf, len, *out_n`; NUL-terminated text, or bytes without
//!   a NUL for `mailport_message_render`), or *owned* by the caller and freed with
//!   `mailport_string_free` (`mailport_bytes_free` for the bytes of
//!   `mailport_message_render_bytes`). Each function's documentation says which.
//! - **Panics** never cross the boundary: a panic becomes `MAILPORT_ERR_PANIC` (or a neutral
//!   value for infallible getters), and a client whose call panicked refuses further use.
//! - **Threads.** Functions without a handle (and `mailport_probe`) may be called from any
//!   thread. A config, a message, probe options or a wp_mail call may be read by many threads at
//!   once but not mutated meanwhile. A client may move between threads but is used by one thread
//!   at a time; separate clients work in parallel. An outbox may be used by several threads at
//!   once, except through its setters. Errors, receipts, reports, outbox records and run
//!   summaries are immutable and may be read from any thread. Callbacks run on the calling
//!   thread, during the call.

#![allow(non_camel_case_types)]

#[macro_use]
mod boundary;

// cbindgen writes the header in declaration order, so the modules are declared in the order a
// reader of mailport.h should meet them; the blank lines keep rustfmt from sorting them.
mod version;

mod error;

mod config;
mod log;
mod oauth;

mod message;

mod wp_mail;

mod client;
mod receipt;

mod pool;

mod probe;

mod outbox;

#[cfg(test)]
mod test_support;

pub use client::*;
pub use config::*;
pub use error::*;
pub use log::*;
pub use message::*;
pub use oauth::*;
pub use outbox::*;
pub use pool::*;
pub use probe::*;
pub use receipt::*;
pub use version::*;
pub use wp_mail::*;
