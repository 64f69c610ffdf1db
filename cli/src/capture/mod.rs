//! `mailport capture`: a local SMTP server for development and tests. Every message it receives
//! is stored as an `.eml` file (with trace headers naming the envelope, so Bcc recipients show)
//! and announced on one line of standard output.
//!
//! Two ports: plaintext with STARTTLS, and implicit TLS, both with a certificate issued by a
//! local CA that is kept in the capture directory and reused on the next start, so clients can
//! trust `ca.pem` once. AUTH (PLAIN, LOGIN) is offered over TLS only and required when `--auth`
//! is given.
//!
//! With `--discard` (a sink for benchmarks) messages are received and acknowledged exactly the
//! same way, but nothing is written and nothing is announced: they are only counted, and the
//! total is printed on exit.

mod ca;
mod conn;
mod server;
mod session;
mod settings;
mod store;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use server::Server;
use settings::{Discarded, Settings};

pub use settings::Stored;

/// How to run a capture server.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Where messages and the CA (`ca.pem`, `ca-key.pem`) are kept; created when missing.
    pub dir: PathBuf,
    /// The address to listen on (loopback by default).
    pub bind: IpAddr,
    /// Plaintext port offering STARTTLS; 0 picks a free port.
    pub starttls_port: u16,
    /// Implicit-TLS port; 0 picks a free port.
    pub tls_port: u16,
    /// When set, clients must authenticate (over TLS) with this user name and password.
    pub auth: Option<(String, String)>,
    /// Largest message accepted, in bytes; 0 means no limit.
    pub max_size: u64,
    /// A connection that sends nothing for this long is closed with 421; zero means never.
    pub idle_timeout: Duration,
    /// Accept and acknowledge messages as usual but store nothing: no `.eml` file is written
    /// and `on_stored` is never called; [`Capture::discarded`] counts them. The CA is still
    /// kept in `dir`.
    pub discard: bool,
}

/// 25 MiB.
pub const DEFAULT_MAX_SIZE: u64 = 25 * 1024 * 1024;

impl CaptureOptions {
    /// 127.0.0.1, any free ports, no AUTH, 25 MiB, 60 s idle timeout, messages stored.
    pub fn new(dir: PathBuf) -> Self {
        CaptureOptions {
            dir,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            starttls_port: 0,
            tls_port: 0,
            auth: None,
            max_size: DEFAULT_MAX_SIZE,
            idle_timeout: Duration::from_secs(60),
            discard: false,
        }
    }
}

/// A running capture server. Stops when [`Capture::stop`] is called or when dropped.
pub struct Capture {
    server: Server,
    starttls_port: u16,
    tls_port: u16,
    ca_file: PathBuf,
    ca_created: bool,
    dir: PathBuf,
}

impl Capture {
    /// Create the directory and CA as needed, bind both ports and start serving. `on_stored` is
    /// called (on the connection's thread) after each message is safely on disk and before the
    /// client is told it was accepted.
    pub fn start(
        options: CaptureOptions,
        on_stored: impl Fn(&Stored) + Send + Sync + 'static,
    ) -> Result<Capture, String> {
        std::fs::create_dir_all(&options.dir)
            .map_err(|e| format!("cannot create {}: {e}", options.dir.display()))?;
        let dir = std::path::absolute(&options.dir)
            .map_err(|e| format!("{}: {e}", options.dir.display()))?;
        store::sweep_stale_partials(&dir);
        // Fail now, not on the first message, when the directory cannot take files.
        store::probe_writable(&dir)
            .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        let ca = ca::load_or_create(&dir)?;
        let tls = ca::server_config(&ca, Some(options.bind))?;
        if options.starttls_port != 0 && options.starttls_port == options.tls_port {
            return Err(format!(
                "the STARTTLS and TLS ports must differ (both are {})",
                options.tls_port
            ));
        }
        let listen = |port: u16, what: &str| {
            let addr = SocketAddr::new(options.bind, port);
            let listener = TcpListener::bind(addr)
                .map_err(|e| format!("cannot listen on {addr} for {what}: {e}"))?;
            let port = listener
                .local_addr()
                .map_err(|e| format!("cannot listen on {addr} for {what}: {e}"))?
                .port();
            Ok::<_, String>((listener, port))
        };
        let (plain, starttls_port) = listen(options.starttls_port, "STARTTLS")?;
        let (implicit, tls_port) = listen(options.tls_port, "implicit TLS")?;
        let settings = Settings {
            dir: dir.clone(),
            auth: options.auth,
            max_size: options.max_size,
            idle_timeout: Some(options.idle_timeout).filter(|d| !d.is_zero()),
            tls,
            tls_port,
            on_stored: Box::new(on_stored),
            discard: options.discard,
            discarded: Discarded::default(),
        };
        let server = Server::start(settings, plain, implicit)?;
        Ok(Capture {
            server,
            starttls_port,
            tls_port,
            ca_file: ca.path,
            ca_created: ca.created,
            dir,
        })
    }

    pub fn starttls_port(&self) -> u16 {
        self.starttls_port
    }

    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// `DIR/ca.pem`: the certificate clients should trust.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The capture directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// In discard mode, the messages accepted so far and their total size in bytes (as
    /// received); (0, 0) otherwise.
    pub fn discarded(&self) -> (u64, u64) {
        self.server.discarded()
    }

    /// Stop accepting, end open connections (a message still being received is discarded,
    /// never left half-written) and wait for them.
    pub fn stop(mut self) {
        self.server.stop();
    }
}

/// `mailport capture` arguments.
#[derive(clap::Args)]
#[command(after_help = "\
Every message is stored in DIR as an .eml file, with Return-Path, X-Mailport-Rcpt (one per
envelope recipient, so Bcc shows) and Received headers added, and announced on one line.
The certificate comes from a local CA kept in DIR (ca.pem, ca-key.pem) and reused on every
start: point clients at DIR/ca.pem (e.g. --ca-file DIR/ca.pem).
With --discard nothing is stored or announced; the total is printed on exit.
The first line of output is machine-readable: READY starttls=PORT tls=PORT ca=PATH dir=PATH")]
pub struct CaptureArgs {
    /// Directory for the .eml files and the local CA (created when missing)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// Port for plaintext SMTP with STARTTLS (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = 2525)]
    pub starttls_port: u16,

    /// Port for implicit TLS (0: any free port)
    #[arg(long, value_name = "PORT", default_value_t = 4650)]
    pub tls_port: u16,

    /// Address to listen on; anything but loopback lets other machines send to it
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Require AUTH PLAIN/LOGIN (over TLS) with this user name and password
    #[arg(
        long,
        value_name = "USER:PASS",
        env = "MAILPORT_CAPTURE_AUTH",
        hide_env_values = true,
        value_parser = parse_auth
    )]
    pub auth: Option<(String, String)>,

    /// Largest message accepted, in bytes (K, M, G: 1024-based; 0: no limit)
    #[arg(long, value_name = "BYTES", default_value = "25M", value_parser = parse_size)]
    pub max_size: u64,

    /// Close a connection that sends nothing for this many seconds (0: never)
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub idle_timeout: u64,

    /// Accept and acknowledge messages but store nothing and print no line per message (a sink
    /// for benchmarks); print how many were discarded on exit
    #[arg(long)]
    pub discard: bool,
}

fn parse_auth(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((user, pass)) if !user.is_empty() && !pass.is_empty() => {
            if text.chars().any(char::is_control) {
                return Err("control characters are not allowed".into());
            }
            Ok((user.to_string(), pass.to_string()))
        }
        _ => Err("expected USER:PASS, both non-empty".into()),
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &t[digits.len()..];
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 1000000, 512K, 25M, 1G)"))?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use K, M or G)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

fn human_size(n: u64) -> String {
    match n {
        0 => "no limit".into(),
        n if n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The one line printed for a stored message.
pub fn announcement(stored: &Stored) -> String {
    let name = stored
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let to: Vec<String> = stored.to.iter().map(|r| format!("<{r}>")).collect();
    let security = match stored.tls {
        "starttls" => "TLS (STARTTLS)",
        "implicit" => "TLS (implicit)",
        _ => "plaintext",
    };
    let mut line = format!(
        "stored {name}  from=<{}> to={}  {} bytes  {security}",
        stored.from,
        to.join(","),
        stored.size
    );
    if let Some(user) = &stored.user {
        line.push_str(&format!(" auth={user}"));
    }
    line
}

/// Run until interrupted (SIGINT, SIGTERM, SIGHUP): print the ports, the CA and one line per
/// stored message.
pub fn run(args: CaptureArgs) -> ExitCode {
    if !args.bind.is_loopback() {
        eprintln!(
            "warning: listening on {} rather than loopback: other machines that can reach this one can send mail to this capture server{}",
            args.bind,
            if args.auth.is_none() {
                " (and no --auth is set)"
            } else {
                ""
            }
        );
    }
    // Installed before anything is bound, so that a signal at any point stops the server
    // cleanly (open connections end, a message being received is removed).
    let (tx, rx) = std::sync::mpsc::channel();
    let stop_signal = match ctrlc::set_handler(move || {
        let _ = tx.send(());
    }) {
        Ok(()) => Some(rx),
        Err(e) => {
            eprintln!("warning: cannot handle Ctrl-C ({e}); stop the server by killing it");
            None
        }
    };
    let mut options = CaptureOptions::new(args.dir);
    options.bind = args.bind;
    options.starttls_port = args.starttls_port;
    options.tls_port = args.tls_port;
    options.auth = args.auth;
    options.max_size = args.max_size;
    options.idle_timeout = Duration::from_secs(args.idle_timeout);
    options.discard = args.discard;
    let discard = args.discard;
    let auth_user = options.auth.as_ref().map(|(user, _)| user.clone());
    let (max_size, idle) = (options.max_size, args.idle_timeout);
    let mut capture = match Capture::start(options, |stored| {
        // A closed stdout must not take the server down: the message is stored either way.
        let _ = writeln!(std::io::stdout().lock(), "{}", announcement(stored));
    }) {
        Ok(capture) => capture,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The name to give clients: the certificate holds localhost, 127.0.0.1, ::1 and the address
    // listened on.
    let host = match args.bind {
        ip if ip.is_unspecified() || ip == IpAddr::V4(Ipv4Addr::LOCALHOST) => "localhost".into(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let dir = capture.dir().display().to_string();
    let ca = capture.ca_file().display().to_string();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "READY starttls={} tls={} ca={ca} dir={dir}",
        capture.starttls_port(),
        capture.tls_port()
    );
    let _ = writeln!(
        out,
        "mailport capture: {} {dir}\n  STARTTLS:     {}  (smtp+starttls://{host}:{})\n  implicit TLS: {}  (smtps://{host}:{})\n  CA certificate: {ca} (pass it as --ca-file){}\n  AUTH: {}\n  max size {}, idle timeout {}\nPress Ctrl-C to stop.",
        if discard {
            "discarding messages (nothing is stored), CA in"
        } else {
            "storing messages in"
        },
        SocketAddr::new(args.bind, capture.starttls_port()),
        capture.starttls_port(),
        SocketAddr::new(args.bind, capture.tls_port()),
        capture.tls_port(),
        if capture.ca_created {
            ", created now"
        } else {
            ", reused"
        },
        match &auth_user {
            Some(user) => format!("required over TLS (user {user})"),
            None => "not required (not offered)".to_string(),
        },
        human_size(max_size),
        if idle == 0 {
            "none".to_string()
        } else {
            format!("{idle} s")
        }
    );
    drop(out);

    match stop_signal {
        Some(rx) => {
            let _ = rx.recv();
        }
        None => loop {
            std::thread::park();
        },
    }
    eprintln!("mailport capture: stopping");
    capture.server.stop();
    if discard {
        // Counted once the connections have ended: every message that got its 250 is included.
        let (messages, bytes) = capture.discarded();
        let _ = writeln!(
            std::io::stdout().lock(),
            "mailport capture: discarded {messages} message{} ({bytes} bytes)",
            if messages == 1 { "" } else { "s" }
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("25M"), Ok(25 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("0"), Ok(0));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert_eq!(human_size(25 << 20), "25 MiB");
        assert_eq!(
            parse_auth("me:p:w"),
            Ok(("me".to_string(), "p:w".to_string()))
        );
        assert!(parse_auth("me").is_err());
        assert!(parse_auth(":pw").is_err());
    }

    #[test]
    fn api_start_send_stop() {
        let dir = std::env::temp_dir().join(format!(
            "mailport-capture-api-{}",
            u64::from_le_bytes(store::random_bytes::<8>())
        ));
        let mut options = CaptureOptions::new(dir.clone());
        options.auth = Some(("me".into(), "pw".into()));
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let capture = Capture::start(options, move |s: &Stored| {
            let _ = tx.lock().unwrap().send(s.clone());
        })
        .unwrap();
        assert_ne!(capture.starttls_port(), 0);
        assert_ne!(capture.tls_port(), capture.starttls_port());
        assert_eq!(capture.ca_file(), capture.dir().join("ca.pem"));

        let mut config = mailport::Config::new("localhost");
        config.port = capture.tls_port();
        config.security = mailport::Security::Tls;
        config.tls.ca_files = vec![capture.ca_file().to_path_buf()];
        config.tls.webpki_roots = false;
        config.tls.system_roots = false;
        config.credentials = Some(mailport::Credentials::Password {
            username: "me".into(),
            password: mailport::Secret::new("pw"),
        });
        let mut client = mailport::Client::new(config).unwrap();
        let envelope =
            mailport::Envelope::new("a@example.com", vec!["b@example.com".into()]).unwrap();
        let body = b"Subject: hi\r\n\r\n.leading dot\r\n";
        client.send_bytes(&envelope, body).unwrap();
        client.close();
        let stored = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(stored.from, "a@example.com");
        assert_eq!(stored.to, vec!["b@example.com".to_string()]);
        assert_eq!(stored.tls, "implicit");
        assert_eq!(stored.user.as_deref(), Some("me"));
        assert_eq!(stored.size, body.len() as u64);
        let content = std::fs::read(&stored.path).unwrap();
        assert!(content.ends_with(body));
        assert!(announcement(&stored).contains("TLS (implicit) auth=me"));
        capture.stop();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
