//! What the listeners and every session share: the settings and discard counter of a capture
//! server, and the [`Stored`] report of each message it keeps. Depends on no other part of the
//! server, so that `server` (which starts sessions) and `session` both use it without a cycle.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A message the server stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The `.eml` file.
    pub path: PathBuf,
    /// The envelope sender (MAIL FROM), without angle brackets; empty for `<>`.
    pub from: String,
    /// The envelope recipients (RCPT TO), without angle brackets.
    pub to: Vec<String>,
    /// The message size as received (after dot-unstuffing, without the added trace headers).
    pub size: u64,
    /// "none", "starttls" or "implicit".
    pub tls: &'static str,
    /// The authenticated user, if any.
    pub user: Option<String>,
}

/// What every connection needs to know.
pub(super) struct Settings {
    pub dir: PathBuf,
    pub auth: Option<(String, String)>,
    pub max_size: u64,
    pub idle_timeout: Option<Duration>,
    pub tls: Arc<rustls::ServerConfig>,
    pub tls_port: u16,
    pub on_stored: Box<dyn Fn(&Stored) + Send + Sync>,
    /// Accept messages without storing them (and without calling `on_stored`); count them in
    /// `discarded`.
    pub discard: bool,
    pub discarded: Discarded,
}

/// Messages accepted and thrown away in discard mode.
#[derive(Default)]
pub(super) struct Discarded {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Discarded {
    pub fn add(&self, size: u64) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(size, Ordering::Relaxed);
    }

    /// (messages, bytes) so far.
    pub fn total(&self) -> (u64, u64) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}
