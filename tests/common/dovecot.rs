//! A private Dovecot (`tests/servers/dovecot_server.py`) that only authenticates: its `oauth2`
//! passdb checks XOAUTH2 and OAUTHBEARER bearer tokens by introspection at the test's OAuth
//! server, and Postfix (`common/postfix.rs` with `dovecot_auth`) asks it over its auth socket.
//! Stopped on drop; its log is printed when the test fails.
//!
//! A test includes it with `#[path = "common/dovecot.rs"] mod dovecot;` beside `mod common;`
//! and `#[path = "common/oauth_server.rs"] mod oauth_server;`.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::Launched;

use crate::oauth_server::OAuthServer;

/// Dovecot's first start writes its auth token secret; generous for a loaded CI machine.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A running private Dovecot; stopped (and its directory removed) on drop.
pub struct Dovecot {
    pub ready: Ready,
    launched: Launched<Ready>,
}

#[derive(Clone, serde::Deserialize)]
pub struct Ready {
    /// The auth socket for Postfix (smtpd_sasl_path).
    pub socket: PathBuf,
    pub dir: PathBuf,
    /// dovecot.log: auth_verbose, no token values.
    pub log: PathBuf,
    /// The mechanisms the auth process announced ("XOAUTH2", "OAUTHBEARER").
    pub mechanisms: Vec<String>,
    pub version: String,
}

impl Dovecot {
    /// Start Dovecot offering `mechanisms` (among "xoauth2" and "oauthbearer"), checking tokens
    /// at `oauth`'s introspection endpoint.
    pub fn start(oauth: &OAuthServer, mechanisms: &[&str]) -> Dovecot {
        let dir = crate::common::unique_temp_dir();
        let args: Vec<OsString> = vec![
            "--introspection-url".into(),
            oauth.introspection_url().into(),
            "--ca-file".into(),
            oauth.ca.clone().into(),
            "--mechanisms".into(),
            mechanisms.join(" ").into(),
            "--max-lifetime".into(),
            "600".into(),
        ];
        match crate::common::launch::<Ready>("dovecot_server.py", &dir, &args, START_DEADLINE) {
            Ok(launched) => Dovecot {
                ready: launched.ready.clone(),
                launched,
            },
            Err(failure) => failure.panic(
                "the private Dovecot",
                &[
                    (
                        "DOVECOT-MISSING",
                        "Dovecot is not installed. These tests need the Debian package \
                         `dovecot-core` (as root: DEBIAN_FRONTEND=noninteractive apt-get install -y \
                         dovecot-core).",
                    ),
                    (
                        "NOT-ROOT",
                        "these tests start a private Dovecot, which needs root.",
                    ),
                ],
            ),
        }
    }

    /// Dovecot's log of this instance.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.ready.log).unwrap_or_default()
    }

    /// Wait until Dovecot's log (written by its log process) contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        crate::common::wait_until(
            Duration::from_secs(10),
            || self.log().contains(needle),
            || format!("{needle:?} not in Dovecot's log:\n{}", self.log()),
        );
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- Dovecot {} log ({}) ---\n{}",
                self.ready.version,
                self.ready.log.display(),
                self.log()
            );
        }
        // EOF on its stdin: the launcher stops Dovecot and removes the directory.
        self.launched.stop(Duration::from_secs(30), &self.ready.dir);
    }
}
