//! A private Dovecot (`tests/servers/dovecot_server.py`) that only authenticates: its `oauth2`
//! passdb checks XOAUTH2 and OAUTHBEARER bearer tokens by introspection at the test's OAuth
//! server, and Postfix (`common/postfix.rs` with `dovecot_auth`) asks it over its auth socket.
//! Stopped on drop; its log is printed when the test fails.
//!
//! A test includes it with `#[path = "common/dovecot.rs"] mod dovecot;` beside `mod common;`
//! and `#[path = "common/oauth_server.rs"] mod oauth_server;`.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::oauth_server::OAuthServer;

/// Dovecot's first start writes its auth token secret; generous for a loaded CI machine.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A running private Dovecot; stopped (and its directory removed) on drop.
pub struct Dovecot {
    pub ready: Ready,
    /// The launcher stops Dovecot when its stdin closes.
    stdin: Option<ChildStdin>,
    child: Child,
}

#[derive(serde::Deserialize)]
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
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/dovecot_server.py");
        let dir = crate::common::unique_temp_dir();
        let stderr_path = PathBuf::from(format!("{}.dovecot-stderr", dir.display()));
        let stderr = fs::File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        let python = crate::common::python();
        let mut child = Command::new(&python)
            .arg("-u")
            .arg(&script)
            .arg("--dir")
            .arg(&dir)
            .arg("--introspection-url")
            .arg(oauth.introspection_url())
            .arg("--ca-file")
            .arg(&oauth.ca)
            .arg("--mechanisms")
            .arg(mechanisms.join(" "))
            .args(["--max-lifetime", "600"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", script.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (failure, other) = match crate::common::wait_ready(stdout, START_DEADLINE) {
            Ok((line, other)) => match serde_json::from_str::<Ready>(&line) {
                Ok(ready) => {
                    let _ = fs::remove_file(&stderr_path);
                    return Dovecot {
                        ready,
                        stdin,
                        child,
                    };
                }
                Err(e) => (format!("bad READY line {line:?}: {e}"), other),
            },
            Err(failed) => failed,
        };
        drop(stdin);
        let status = crate::common::wait_or_kill(&mut child, Duration::from_secs(30));
        let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
        let _ = fs::remove_file(&stderr_path);
        let _ = fs::remove_dir_all(&dir);
        if stderr.contains("DOVECOT-MISSING") {
            panic!(
                "Dovecot is not installed. These tests need the Debian package `dovecot-core` \
                 (as root: DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-core).\n\
                 {stderr}"
            );
        }
        if stderr.contains("NOT-ROOT") {
            panic!("these tests start a private Dovecot, which needs root.\n{stderr}");
        }
        panic!(
            "the private Dovecot did not start: {failure} (launcher exit status {status:?})\n\
             --- launcher stdout ---\n{other}--- launcher stderr ---\n{stderr}"
        );
    }

    /// Dovecot's log of this instance.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.ready.log).unwrap_or_default()
    }

    /// Wait until Dovecot's log (written by its log process) contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not in Dovecot's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
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
        drop(self.stdin.take());
        crate::common::wait_or_kill(&mut self.child, Duration::from_secs(30));
        let _ = fs::remove_dir_all(&self.ready.dir);
    }
}
