//! A private Postfix instance for the tests (`tests/servers/postfix_server.py`: its own
//! main.cf/master.cf, queue and data directories in a temp directory, smtpd on 127.0.0.1 only,
//! stopped on drop) that relays every accepted message to an aiosmtpd started by `tests/common`
//! on 127.0.0.1, so a test sees exactly what Postfix accepted and delivered.
//!
//! A test includes it with `#[path = "common/postfix.rs"] mod postfix;` beside `mod common;`
//! (as `common/mariadb.rs`): only the tests that start Postfix need it.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{Launched, ReceivedMessage, TestServer};
use mailport::{Client, Config, Security};

/// How long Postfix may take to start (it runs `postfix check` first).
pub const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long a message accepted by Postfix may take to reach the sink, and the queue to drain.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// A private Postfix instance

#[derive(Default)]
pub struct Options {
    /// Postfix's message_size_limit (None: its default, 10240000).
    pub size_limit: Option<u64>,
    /// EHLO keywords Postfix leaves out of its reply (smtpd_discard_ehlo_keywords), e.g.
    /// "size" (the limit is then enforced by Postfix alone), "pipelining", "chunking".
    pub discard_ehlo: Vec<&'static str>,
    /// Recipients Postfix refuses with 550 at RCPT TO.
    pub reject: Vec<&'static str>,
    /// Offer STARTTLS with a certificate from a throwaway CA.
    pub starttls: bool,
    /// SMTP AUTH through this Dovecot auth socket (`tests/servers/dovecot_server.py`), as a
    /// submission service: relaying needs AUTH; with `starttls`, AUTH only after STARTTLS.
    pub dovecot_auth: Option<PathBuf>,
}

/// A running private Postfix that relays to its own aiosmtpd sink; stopped on drop.
pub struct Postfix {
    /// Where it listens and keeps its files, as the launcher reported them.
    pub ready: Ready,
    launched: Launched<Ready>,
    /// Where Postfix delivers: dropped after Postfix has stopped.
    pub sink: TestServer,
}

#[derive(Clone, serde::Deserialize)]
pub struct Ready {
    pub port: u16,
    /// The instance's directory (configuration, queue, log).
    pub dir: PathBuf,
    pub queue_dir: PathBuf,
    pub maillog: PathBuf,
    /// The CA that issued smtpd's certificate (with `starttls`).
    pub ca: Option<PathBuf>,
    pub version: String,
}

impl Postfix {
    pub fn start(options: Options) -> Postfix {
        let sink = TestServer::start(&["--mode", "plain", "--queue-id"]);
        let dir = crate::common::unique_temp_dir();
        let mut args: Vec<OsString> = vec![
            "--relay-port".into(),
            sink.port.to_string().into(),
            // Far above any test's length: a leaked instance does not outlive the run by much.
            "--max-lifetime".into(),
            "600".into(),
        ];
        if let Some(limit) = options.size_limit {
            args.extend(["--message-size-limit".into(), limit.to_string().into()]);
        }
        for keyword in &options.discard_ehlo {
            args.extend(["--discard-ehlo".into(), keyword.into()]);
        }
        for address in &options.reject {
            args.extend(["--reject-rcpt".into(), address.into()]);
        }
        if options.starttls {
            args.push("--starttls".into());
        }
        if let Some(socket) = &options.dovecot_auth {
            args.extend(["--dovecot-auth".into(), socket.into()]);
        }
        match crate::common::launch::<Ready>("postfix_server.py", &dir, &args, START_DEADLINE) {
            Ok(launched) => Postfix {
                ready: launched.ready.clone(),
                launched,
                sink,
            },
            Err(failure) => failure.panic(
                "the private Postfix",
                &[
                    (
                        "POSTFIX-MISSING",
                        "Postfix is not installed. These tests need the Debian package `postfix` \
                         (as root: DEBIAN_FRONTEND=noninteractive apt-get install -y postfix).",
                    ),
                    (
                        "NOT-ROOT",
                        "these tests start a private Postfix, which needs root.",
                    ),
                ],
            ),
        }
    }

    /// Postfix's own log of this instance.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.ready.maillog).unwrap_or_default()
    }

    /// Queue files not yet delivered (or bounced): incoming, active, deferred, hold, maildrop.
    pub fn queued(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for queue in [
            "maildrop", "incoming", "active", "deferred", "hold", "corrupt",
        ] {
            collect_files(&self.ready.queue_dir.join(queue), &mut found);
        }
        found
    }

    /// Wait until `n` messages arrived at the sink and Postfix's queue is empty, then return
    /// every message the sink received (exactly `n`, or the test fails).
    pub fn delivered(&self, n: usize) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        loop {
            let got = self.sink.messages();
            let queued = self.queued();
            if got.len() >= n && queued.is_empty() {
                assert_eq!(
                    got.len(),
                    n,
                    "the sink got more messages than expected: {got:#?}\n--- maillog ---\n{}",
                    self.log()
                );
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "after {DELIVERY_DEADLINE:?}: {} of {n} messages delivered, queue files {queued:?}\
                 \n--- maillog ---\n{}",
                got.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Assert that Postfix holds and delivered nothing: its queue is empty (so anything it had
    /// accepted would already be at the sink) and the sink got no message.
    pub fn assert_nothing_delivered(&self) {
        let got = self.delivered(0);
        assert!(got.is_empty());
    }

    /// Wait until Postfix's log (written asynchronously by its postlogd) contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        crate::common::wait_until(
            Duration::from_secs(10),
            || self.log().contains(needle),
            || format!("{needle:?} not in Postfix's log:\n{}", self.log()),
        );
    }

    pub fn config(&self, security: Security) -> Config {
        let mut config = Config::new("127.0.0.1");
        config.port = self.ready.port;
        config.security = security;
        config.helo_name = Some("client.test".into());
        // With plaintext, any trust anchor will do (a config without one is refused): the
        // sink's unrelated CA.
        config.tls.ca_files = vec![
            self.ready
                .ca
                .clone()
                .unwrap_or_else(|| self.sink.ca.clone()),
        ];
        config.tls.webpki_roots = false;
        config.tls.system_roots = false;
        config.timeouts.connect = Duration::from_secs(5);
        config.timeouts.command = Duration::from_secs(10);
        config.timeouts.data_end = Duration::from_secs(20);
        config.timeouts.send_total = Duration::from_secs(60);
        config
    }

    pub fn client(&self, tweak: impl FnOnce(&mut Config)) -> Client {
        let mut config = self.config(Security::None);
        tweak(&mut config);
        Client::new(config).expect("Client::new")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- Postfix {} maillog ({}) ---\n{}",
                self.ready.version,
                self.ready.maillog.display(),
                self.log()
            );
        }
        // EOF on its stdin: the launcher stops Postfix, waits for the master to exit and
        // removes the directory.
        self.launched.stop(Duration::from_secs(30), &self.ready.dir);
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}
