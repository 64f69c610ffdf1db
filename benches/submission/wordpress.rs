//! S5's WordPress: `benches/wordpress/serve.py` runs a throwaway WordPress (Debian's
//! /usr/share/wordpress, MariaDB on a unix socket, the mailport plugin) under PHP's built-in
//! server, one long-lived PHP process with opcache; `request` times one HTTP request to its
//! endpoint, which loads WordPress and calls wp_mail() once (see
//! `benches/wordpress/mailport-bench.php`). Needs python3, php-cli (FFI, opcache, mysqli:
//! php-mysql), mariadb-server and wordpress; when one is missing `start` says which.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

/// SMTP credentials of the sink (`mailport capture --auth bench:secret`).
const USER: &str = "bench";
const PASSWORD: &str = "secret";
/// How long serve.py may take to be ready: MariaDB's first start and wp_install().
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long one request may take (connect, and each read or write).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long serve.py may take to stop PHP and MariaDB after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What one request does after loading WordPress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Nothing: the cost of a WordPress request by itself.
    NoMail,
    /// wp_mail() through WordPress's bundled PHPMailer, set up for SMTP in `phpmailer_init` as
    /// WP Mail SMTP, Post SMTP and FluentSMTP do (STARTTLS, AUTH, the sink's CA); the mailport
    /// plugin is not loaded.
    PhpMailer,
    /// wp_mail() through the mailport plugin (MAILPORT_* constants): a new SMTP session each time.
    Mailport,
    /// The same with MAILPORT_PERSISTENT: the session stays in the PHP process between requests.
    MailportPersistent,
}

impl Mode {
    /// The endpoint's `mode=` value.
    fn query(self) -> &'static str {
        match self {
            Mode::NoMail => "none",
            Mode::PhpMailer => "phpmailer",
            Mode::Mailport => "mailport",
            Mode::MailportPersistent => "persistent",
        }
    }

    /// The body of a successful answer.
    fn expected(self) -> &'static str {
        match self {
            Mode::NoMail => "loaded",
            _ => "sent",
        }
    }
}

/// The running serve.py (and through it PHP and MariaDB); stopped on drop.
pub struct WordPress {
    child: Child,
    /// serve.py stops when this closes, so it never outlives the bench.
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    path: String,
    errors: PathBuf,
}

impl WordPress {
    /// Start serve.py; Err(reason) when it cannot (e.g. WordPress or MariaDB missing) so the
    /// bench can print why and skip S5.
    pub fn start(root: &Path, library: &Path, ca: &Path) -> Result<WordPress, String> {
        let script = root.join("benches/wordpress/serve.py");
        if !script.is_file() {
            return Err(format!("{} is missing", script.display()));
        }
        let python = std::env::var_os("MAILPORT_TEST_PYTHON").unwrap_or_else(|| "python3".into());
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--library")
            .arg(library)
            .arg("--ca")
            .arg(ca)
            .args(["--user", USER, "--password", PASSWORD])
            .env_remove("PHP_CLI_SERVER_WORKERS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.to_string_lossy()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut wordpress = WordPress {
            child,
            stdin,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            path: String::new(),
            errors: PathBuf::new(),
        };
        // On an early return, dropping `wordpress` stops serve.py.
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "serve.py was not ready after {} s",
                    START_TIMEOUT.as_secs()
                ));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = wordpress.child.wait().map_err(|e| e.to_string())?;
                return Err(format!("serve.py exited ({status}) before it was ready"));
            }
        };
        let Some(ready) = line.strip_prefix("READY ") else {
            return Err(line.strip_prefix("FAIL ").unwrap_or(&line).to_string());
        };
        let field = |key: &str| ready.split(' ').find_map(|w| w.strip_prefix(key));
        let url = field("url=").ok_or_else(|| format!("no url in {line:?}"))?;
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("not an http URL: {url}"))?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        wordpress.addr = host
            .parse()
            .map_err(|e| format!("bad address in {url}: {e}"))?;
        wordpress.path = if path.is_empty() { "/" } else { path }.to_string();
        wordpress.errors = field("errors=").map(PathBuf::from).unwrap_or_default();
        Ok(wordpress)
    }

    /// One HTTP/1.1 GET (Connection: close) over a std TcpStream with a timeout; Ok(elapsed)
    /// only for status 200 and body "sent" (or the `none` mode's marker). `elapsed` runs from
    /// before connecting until the server closed the connection after its answer.
    pub fn request(&self, mode: Mode, smtp_port: u16, number: usize) -> Result<Duration, String> {
        let request = format!(
            "GET {}?mode={}&port={smtp_port}&n={number} HTTP/1.1\r\nHost: {}\r\n\
             User-Agent: mailport-bench\r\nConnection: close\r\n\r\n",
            self.path,
            mode.query(),
            self.addr
        );
        let what = format!("{mode:?} request {number}");
        let started = Instant::now();
        let mut stream = TcpStream::connect_timeout(&self.addr, REQUEST_TIMEOUT)
            .map_err(|e| format!("{what}: connect to {}: {e}", self.addr))?;
        stream
            .set_read_timeout(Some(REQUEST_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| format!("{what}: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("{what}: send: {e}"))?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .map_err(|e| format!("{what}: read: {e}"))?;
        let elapsed = started.elapsed();

        let (status, body) = parse_response(&response).map_err(|e| format!("{what}: {e}"))?;
        let body = String::from_utf8_lossy(&body);
        if status == 200 && body.trim() == mode.expected() {
            Ok(elapsed)
        } else {
            Err(format!("{what}: HTTP {status}: {}", body.trim()))
        }
    }

    /// What PHP logged (warnings and errors) since serve.py started.
    #[allow(dead_code)]
    pub fn php_errors(&self) -> Vec<String> {
        std::fs::read_to_string(&self.errors)
            .map(|text| text.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

impl Drop for WordPress {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: kill() takes no pointers; the pid is our own child's, not yet waited for,
            // so it cannot have been reused.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                // PHP and MariaDB get SIGTERM from the kernel when serve.py dies
                // (PR_SET_PDEATHSIG); only its temporary directory stays behind.
                eprintln!(
                    "serve.py did not stop within {} s; killing it",
                    STOP_TIMEOUT.as_secs()
                );
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// (status, body) of an HTTP/1.1 response read to the end (chunked or not).
fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("incomplete response ({} bytes)", response.len()))?;
    let head = String::from_utf8_lossy(&response[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
        })
    });
    let body = &response[end + 4..];
    if !chunked {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if rest.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}
