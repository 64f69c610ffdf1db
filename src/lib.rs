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
mod sigpipe;
pub mod smtp;
pub mod time;
pub mod tls;
pub mod transcript;

pub use client::{Client, Envelope, Receipt};
pub use config::{Config, Credentials, Secret, Security, Timeouts, TlsOptions};
pub use error::names::Api;
pub use error::{Error, InvalidAddress, Kind, Result};
pub use message::Message;
pub use oauth::{Provider, RefreshGrant, TokenCallback, TokenSource};
