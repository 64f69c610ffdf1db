//! Shared by the tests that run the built binary (`mod support;`): fresh directories, Python
//! helpers and a running `mailport capture` on free loopback ports.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod background;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mailport");
/// How long a server may take to get ready, to announce a message, or to answer.
pub const WAIT: Duration = Duration::from_secs(20);

/// Longest a single run of the binary may take before the test fails (and the process is killed).
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// What one run of the binary did.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn expect(&self, status: i32) -> &Run {
        assert_eq!(
            self.status, status,
            "expected exit status {status}, got {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        );
        self
    }

    /// Assert that standard error mentions each of `needles`.
    pub fn stderr_says(&self, needles: &[&str]) -> &Run {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "{needle:?} not in stderr:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// Run `mailport args…` with `env` added and the variables in `unset` removed, `stdin` as
/// standard input (nothing when `None`); killed, and the test failed, after [`RUN_LIMIT`].
pub fn run_mailport(
    args: &[&str],
    env: &[(&str, &str)],
    unset: &[&str],
    stdin: Option<&[u8]>,
) -> Run {
    let started = Instant::now();
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in unset {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let input = input.to_vec();
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "mailport {args:?} still running after {RUN_LIMIT:?}; stderr so far:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        status: status.code().expect("exited normally, not by a signal"),
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
        elapsed: started.elapsed(),
    }
}

/// Read `stream` to its end on a thread of its own; the text, once joined.
pub fn drain(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// Read `stream` line by line on a thread of its own into the text returned, which grows as
/// lines come (for a failure message while the process still runs), each line also sent to
/// `lines` when given.
pub fn gather(
    stream: impl Read + Send + 'static,
    lines: Option<Sender<String>>,
) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
    });
    text
}

/// A fresh, empty directory under the target's temporary directory, named after the test binary
/// (`capture-…`, `e2e-…`).
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{}-{name}-{}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run `script` with Python (`MAILPORT_TEST_PYTHON`, else `python3`) and `args`; its standard
/// output, once it has succeeded.
pub fn python(script: &str, args: &[&str]) -> String {
    let python = std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is needed for these tests");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The SHA-256 of a file, in hex, computed by Python so that these tests need no hashing crate.
pub fn sha256_file(path: &Path) -> String {
    let path = path.to_str().expect("UTF-8 path");
    python(
        "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
        &[path],
    )
    .trim()
    .to_string()
}

/// A running `mailport capture`: killed on drop, and its directory removed unless the test is
/// failing.
pub struct Capture {
    pub child: Child,
    pub starttls: u16,
    pub tls: u16,
    pub ca: PathBuf,
    pub dir: PathBuf,
    /// Standard output, a line at a time (the READY line already taken).
    pub stdout: Receiver<String>,
    /// Standard error so far.
    pub stderr: Arc<Mutex<String>>,
}

impl Capture {
    /// `mailport capture --dir DIR` on free ports with `extra` options, and with
    /// `MAILPORT_CAPTURE_AUTH` set to `auth_env` (unset when `None`); returns once it is READY.
    pub fn start_with(dir: &Path, extra: &[&str], auth_env: Option<&str>) -> Capture {
        let mut command = Command::new(BIN);
        command
            .args(["capture", "--dir"])
            .arg(dir)
            .args(["--starttls-port", "0", "--tls-port", "0"])
            .args(extra);
        match auth_env {
            Some(auth) => command.env("MAILPORT_CAPTURE_AUTH", auth),
            None => command.env_remove("MAILPORT_CAPTURE_AUTH"),
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, stdout) = channel();
        let out = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = gather(child.stderr.take().unwrap(), None);
        let ready = stdout
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no READY line; stderr: {}", stderr.lock().unwrap()));
        let field = |key: &str| {
            ready
                .split(' ')
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {ready:?}"))
                .to_string()
        };
        assert!(ready.starts_with("READY "), "{ready}");
        let capture = Capture {
            starttls: field("starttls=").parse().unwrap(),
            tls: field("tls=").parse().unwrap(),
            ca: PathBuf::from(field("ca=")),
            dir: PathBuf::from(field("dir=")),
            child,
            stdout,
            stderr,
        };
        assert_eq!(capture.ca, capture.dir.join("ca.pem"));
        assert_eq!(
            capture.dir.canonicalize().unwrap(),
            dir.canonicalize().unwrap()
        );
        capture
    }

    /// The next `stored …` line on standard output.
    pub fn next_stored(&self) -> String {
        loop {
            let line = self
                .stdout
                .recv_timeout(WAIT)
                .expect("no 'stored' announcement");
            if line.starts_with("stored ") {
                return line;
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
