//! mailport: SMTP submission the way a mail plugin needs it — secure by default, fast, and
//! explicit about what went wrong.
//!
//! The core is synchronous: a [`Client`] built from a [`Config`] submits messages over one
//! SMTP session, upgraded with STARTTLS or wrapped in implicit TLS, authenticated, pipelined
//! when the server allows it. Every failure is an [`Error`] whose [`error::Kind`] names the phase
//! and whose hint says what to do. The C ABI lives in [`ffi`] and only translates.

pub mod address;
pub mod client;
pub mod config;
pub mod diagnose;
pub mod error;
pub mod ffi;
mod fork;
pub mod message;
pub mod oauth;
pub mod outbox;
pub mod pool;
mod random;
mod sigpipe;
pub mod smtp;
pub mod time;
pub mod tls;
pub mod transcript;

/// What the fuzz targets (fuzz/) reach that is not public API: the outbox entry file's reader
/// and writer, which only the spool uses. Behind the `fuzzing` feature, so no build that ships
/// has it; nothing here is stable.
#[cfg(any(feature = "fuzzing", test))]
#[doc(hidden)]
pub mod __fuzz {
    use crate::outbox::EntryHeader;
    use crate::outbox::entry;

    /// The spool's reader of an entry file's header line, then its format check: the header
    /// and the offset of the message, or why the file is refused.
    pub fn read_entry_header(file: &[u8]) -> Result<(EntryHeader, u64), String> {
        let (header, offset) = entry::read_header_line(file).map_err(|e| e.to_string())?;
        header.check_format().map_err(|e| e.message())?;
        Ok((header, offset))
    }

    /// The spool's writer of an entry file's header line.
    pub fn entry_header_line(header: &EntryHeader) -> std::io::Result<Vec<u8>> {
        entry::header_line(header)
    }
}

// The fuzz targets' properties, compiled into the unit tests: they replay every committed fuzz
// input (fuzz/corpus/, fuzz/regressions/) on stable, without libFuzzer. Written against the
// public API as the fuzz crate sees it, hence `mailport::` paths resolving to this crate.
#[cfg(test)]
extern crate self as mailport;
#[cfg(test)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz_properties;

pub use client::{Client, Envelope, Receipt};
pub use config::{Config, Credentials, Secret, Security, Timeouts, TlsOptions};
pub use error::names::Api;
pub use error::{Error, InvalidAddress, Kind, Result};
pub use message::Message;
pub use oauth::{Provider, RefreshGrant, TokenCallback, TokenSource};
