//! Submission speed against the peers, measured in one run on loopback.
//!
//! Run: `cargo bench --bench submission` (see `benches/README.md`). It first builds
//! `target/release/mailport` and `target/release/libmailport.so` (`cargo build --release -p
//! mailport -p mailport-cli`; `MAILPORT_BENCH_NO_BUILD=1` skips that), then starts
//! `mailport capture --discard --auth bench:secret` as the sink: PIPELINING, CHUNKING,
//! STARTTLS and AUTH, every message received and acknowledged, nothing written to disk.
//!
//! Scenarios, each a median of `MAILPORT_BENCH_RUNS` (5) runs with the min–max spread; the
//! senders take turns within each round so that noise falls on all of them alike:
//! - S1: `MAILPORT_BENCH_MESSAGES` (2000) small messages over one STARTTLS + AUTH connection:
//!   messages/s and the sender's CPU time per message.
//! - S2: the same with `MAILPORT_BENCH_RTT_MESSAGES` (200) messages through a proxy in this
//!   process that delays each direction by half of `MAILPORT_BENCH_RTT_MS` (10): messages/s and
//!   round trips per message (elapsed / (messages × RTT)).
//! - S3: `MAILPORT_BENCH_CONNECTIONS` (100) messages, each on a new connection (connect,
//!   STARTTLS, AUTH, one message, QUIT): connections/s and TLS sessions resumed.
//!
//! Senders: mailport in this process (Rust `Client`), Python's smtplib, and mailport from Python
//! (the ctypes binding in `bindings/python` on `libmailport.so`), each Python sender in a child
//! process that times itself and reports its own CPU time (`getrusage`), so interpreter start-up
//! and imports are not counted. Every sender builds each message (From, To, Subject with its
//! number, Date, Message-ID, a short text) before sending it, as an application does.
//!
//! `MAILPORT_BENCH_QUICK=1` is a smoke run (small counts, one round). Benchmarks report; they
//! never fail on a figure.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use mailport::{Client, Config, Credentials, Message, Secret, Security};

const USER: &str = "bench";
const PASSWORD: &str = "secret";
const TEXT: &str = "Hello,\n\nthis is a small message from the submission benchmark: a few lines \
                    of plain text, like a password reset or an order confirmation.\n\n-- \nbench\n";

fn main() {
    let settings = Settings::from_env();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir();
    build(root, &target);
    let release = target.join("release");
    let binary = release.join("mailport");
    let library = release.join("libmailport.so");
    let python = Python::new(root, &library);

    let dir =
        std::env::temp_dir().join(format!("mailport-bench-submission-{}", std::process::id()));
    let mut sink = Sink::start(&binary, &dir);
    let mut sent = 0u64;

    println!(
        "mailport submission benchmark: {} rounds, sink `mailport capture --discard` on 127.0.0.1 \
         (STARTTLS + AUTH PLAIN, PIPELINING, CHUNKING), {} CPUs",
        settings.runs,
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Err(why) = &python.usable {
        println!("Python senders skipped: {why}");
    }

    // A short warm-up of every sender (not measured).
    let warm = 20.min(settings.messages);
    mailport_one_connection(&sink, sink.starttls, warm);
    sent += warm as u64;
    for mode in ["smtplib-one", "mailport-one"] {
        if python.run(mode, &sink, sink.starttls, warm).is_some() {
            sent += warm as u64;
        }
    }

    // S1: one connection, loopback.
    let n = settings.messages;
    let mut s1 = vec![
        Row::new("mailport (Rust Client)", false),
        Row::new("smtplib (Python)", true),
        Row::new("mailport from Python (ctypes)", false),
    ];
    for _ in 0..settings.runs {
        s1[0].push(sink.measure(|| mailport_one_connection(&sink, sink.starttls, n)));
        if let Some(s) = sink.measure_opt(|| python.run("smtplib-one", &sink, sink.starttls, n)) {
            s1[1].push(s);
        }
        if let Some(s) = sink.measure_opt(|| python.run("mailport-one", &sink, sink.starttls, n)) {
            s1[2].push(s);
        }
    }
    sent += s1.iter().map(|r| r.samples.len() as u64).sum::<u64>() * n as u64;
    print_table(
        &format!("S1: {n} small messages over one STARTTLS + AUTH connection, loopback"),
        &s1,
        n,
        Metric::Cpu,
    );

    // S2: one connection at a simulated round-trip time.
    let rtt = settings.rtt;
    let proxy = DelayProxy::start(SocketAddr::from(([127, 0, 0, 1], sink.starttls)), rtt / 2);
    let measured_rtt = probe_rtt(proxy.port);
    let n = settings.rtt_messages;
    let mut s2 = vec![
        Row::new("mailport (Rust Client)", false),
        Row::new("smtplib (Python)", true),
        Row::new("mailport from Python (ctypes)", false),
    ];
    for _ in 0..settings.runs {
        s2[0].push(sink.measure(|| mailport_one_connection(&sink, proxy.port, n)));
        if let Some(s) = sink.measure_opt(|| python.run("smtplib-one", &sink, proxy.port, n)) {
            s2[1].push(s);
        }
        if let Some(s) = sink.measure_opt(|| python.run("mailport-one", &sink, proxy.port, n)) {
            s2[2].push(s);
        }
    }
    sent += s2.iter().map(|r| r.samples.len() as u64).sum::<u64>() * n as u64;
    print_table(
        &format!(
            "S2: {n} small messages over one STARTTLS + AUTH connection, {} ms round trip \
             through the delay proxy (measured: {:.2} ms per NOOP)",
            rtt.as_secs_f64() * 1e3,
            measured_rtt.as_secs_f64() * 1e3
        ),
        &s2,
        n,
        Metric::RoundTrips(rtt),
    );

    // S3: a new connection per message, loopback.
    let n = settings.connections;
    let mut s3 = vec![
        Row::new("mailport, new Client per message", false),
        Row::new("mailport, one Client, close() after each", false),
        Row::new("smtplib, new SMTP per message", true),
        Row::new("mailport from Python, new Client per msg", false),
        Row::new("mailport persistent, new Client per msg *", false),
        Row::new("mailport from Python, persistent *", false),
    ];
    for _ in 0..settings.runs {
        s3[0].push(sink.measure(|| mailport_new_client_each(&sink, n, false)));
        s3[1].push(sink.measure(|| mailport_reconnect_each(&sink, n)));
        if let Some(s) = sink.measure_opt(|| python.run("smtplib-each", &sink, sink.starttls, n)) {
            s3[2].push(s);
        }
        if let Some(s) = sink.measure_opt(|| python.run("mailport-each", &sink, sink.starttls, n)) {
            s3[3].push(s);
        }
        // The receipts tell about the pooled session's first handshake, not this run's.
        let mut pooled = sink.measure(|| mailport_new_client_each(&sink, n, true));
        pooled.resumed = None;
        s3[4].push(pooled);
        mailport::pool::clear();
        if let Some(s) =
            sink.measure_opt(|| python.run("mailport-persistent", &sink, sink.starttls, n))
        {
            s3[5].push(s);
        }
    }
    sent += s3.iter().map(|r| r.samples.len() as u64).sum::<u64>() * n as u64;
    print_table(
        &format!("S3: {n} messages, each on a new STARTTLS + AUTH connection, loopback"),
        &s3,
        n,
        Metric::Resumed,
    );
    println!(
        "  * persistent mode is not a new connection per message: the first client opens the \
         session and every later client takes it back from the process-wide pool (what a \
         php-fpm worker gets across requests); shown for comparison."
    );

    let (messages, line) = sink.stop();
    println!(
        "\nsink: {} (the senders reported {sent})",
        line.as_deref().unwrap_or("no total printed")
    );
    if messages != Some(sent) {
        println!("warning: the sink's count differs from what the senders reported");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Counts and rounds, from the environment.
struct Settings {
    messages: usize,
    rtt_messages: usize,
    connections: usize,
    runs: usize,
    rtt: Duration,
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::var("MAILPORT_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
        let get = |name: &str, normal: usize, smoke: usize| -> usize {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&v| v > 0)
                .unwrap_or(if quick { smoke } else { normal })
        };
        Settings {
            messages: get("MAILPORT_BENCH_MESSAGES", 2000, 100),
            rtt_messages: get("MAILPORT_BENCH_RTT_MESSAGES", 200, 10),
            connections: get("MAILPORT_BENCH_CONNECTIONS", 100, 10),
            runs: get("MAILPORT_BENCH_RUNS", 5, 1),
            rtt: Duration::from_millis(get("MAILPORT_BENCH_RTT_MS", 10, 10) as u64),
        }
    }
}

/// The target directory this bench was built in: the binary is `<target>/release/deps/…`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Build the command line (the sink) and the shared library (for Python) in release mode.
fn build(root: &Path, target: &Path) {
    if std::env::var_os("MAILPORT_BENCH_NO_BUILD").is_some() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "building the sink and libmailport.so: cargo build --release -p mailport -p mailport-cli"
    );
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "mailport", "-p", "mailport-cli"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .expect("cannot run cargo");
    assert!(status.success(), "cargo build --release failed");
}

// ---------------------------------------------------------------------------------------------
// The sink

/// `mailport capture --discard` on free loopback ports.
struct Sink {
    child: Child,
    starttls: u16,
    ca: PathBuf,
    lines: Receiver<String>,
}

impl Sink {
    fn start(binary: &Path, dir: &Path) -> Sink {
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build --release -p mailport-cli`",
            binary.display()
        );
        let mut child = Command::new(binary)
            .args([
                "capture",
                "--discard",
                "--starttls-port",
                "0",
                "--tls-port",
                "0",
            ])
            .args([
                "--auth",
                &format!("{USER}:{PASSWORD}"),
                "--idle-timeout",
                "600",
            ])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start mailport capture");
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("mailport capture printed no READY line");
        let field = |key: &str| {
            ready
                .split(' ')
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {ready:?}"))
                .to_string()
        };
        Sink {
            starttls: field("starttls=").parse().expect("port"),
            ca: PathBuf::from(field("ca=")),
            child,
            lines,
        }
    }

    /// CPU time (user + system) the sink has used so far.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name (which is in parentheses): utime and stime are the
        // 12th and 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<u64> = after
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|f| f.parse().ok())
            .collect();
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Duration::from_secs_f64(fields.iter().sum::<u64>() as f64 / ticks)
    }

    /// Run a measurement and add the sink's CPU time during it.
    fn measure(&self, run: impl FnOnce() -> Sample) -> Sample {
        self.measure_opt(|| Some(run())).expect("sample")
    }

    fn measure_opt(&self, run: impl FnOnce() -> Option<Sample>) -> Option<Sample> {
        let before = self.cpu();
        let mut sample = run()?;
        sample.sink_cpu = Some(self.cpu().saturating_sub(before));
        Some(sample)
    }

    /// SIGTERM, then the total line: (messages, line).
    fn stop(&mut self) -> (Option<u64>, Option<String>) {
        // SAFETY: kill with a child's pid that has not been reaped yet (we still hold `child`).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
        let mut total = None;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            if line.starts_with("mailport capture: discarded") {
                total = Some(line);
            }
        }
        let messages = total
            .as_deref()
            .and_then(|l| l.split_whitespace().nth(3)?.parse().ok());
        (messages, total)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Samples and tables

#[derive(Clone, Copy, Default)]
struct Sample {
    /// Wall-clock time of the whole run (connect to QUIT).
    secs: f64,
    /// The sender's CPU time (user + system), when known.
    cpu: Option<Duration>,
    /// The sink's CPU time during the run.
    sink_cpu: Option<Duration>,
    /// TLS sessions resumed, when the sender can tell.
    resumed: Option<u64>,
}

struct Row {
    name: &'static str,
    /// A peer (not mailport): every row gets a ratio to it.
    peer: bool,
    samples: Vec<Sample>,
}

impl Row {
    fn new(name: &'static str, peer: bool) -> Row {
        Row {
            name,
            peer,
            samples: Vec::new(),
        }
    }

    fn push(&mut self, sample: Sample) {
        self.samples.push(sample);
    }

    /// Operations per second for each run.
    fn rates(&self, n: usize) -> Vec<f64> {
        self.samples.iter().map(|s| n as f64 / s.secs).collect()
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// The scenario's own column.
enum Metric {
    Cpu,
    RoundTrips(Duration),
    Resumed,
}

fn rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn print_table(title: &str, rows: &[Row], n: usize, metric: Metric) {
    println!("\n{title}");
    let per = match metric {
        Metric::Resumed => "conn/s",
        _ => "msg/s",
    };
    let metric_head = match metric {
        Metric::Cpu => "CPU µs/msg",
        Metric::RoundTrips(_) => "RTT/msg",
        Metric::Resumed => "TLS resumed",
    };
    let peers: Vec<&Row> = rows
        .iter()
        .filter(|r| r.peer && !r.samples.is_empty())
        .collect();
    let mut head = format!(
        "| {:<42} | {:>7} | {:>15} | {:>11} | {:>14} |",
        "sender", per, "min–max", metric_head, "sink CPU µs/msg"
    );
    for peer in &peers {
        head.push_str(&format!(" {:>18} |", format!("vs {}", short(peer.name))));
    }
    println!("{head}");
    let dashes: String = head
        .chars()
        .map(|c| if c == '|' { '|' } else { '-' })
        .collect();
    println!("{dashes}");
    for row in rows {
        let rates = row.rates(n);
        let Some(med) = median(&rates) else {
            println!("| {:<42} | (no result)", row.name);
            continue;
        };
        let (lo, hi) = min_max(&rates);
        let per_op = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e6 / n as f64);
        let own = match metric {
            Metric::Cpu => {
                let cpu: Vec<f64> = row.samples.iter().filter_map(|s| per_op(s.cpu)).collect();
                median(&cpu).map_or("-".into(), |v| format!("{v:.0}"))
            }
            Metric::RoundTrips(rtt) => {
                let rts: Vec<f64> = row
                    .samples
                    .iter()
                    .map(|s| s.secs / (n as f64 * rtt.as_secs_f64()))
                    .collect();
                median(&rts).map_or("-".into(), |v| format!("{v:.2}"))
            }
            Metric::Resumed => {
                let resumed: Vec<f64> = row
                    .samples
                    .iter()
                    .filter_map(|s| s.resumed.map(|r| r as f64))
                    .collect();
                median(&resumed).map_or("n/a".into(), |v| format!("{v:.0}/{n}"))
            }
        };
        let sink: Vec<f64> = row
            .samples
            .iter()
            .filter_map(|s| per_op(s.sink_cpu))
            .collect();
        let sink = median(&sink).map_or("-".into(), |v| format!("{v:.0}"));
        let mut line = format!(
            "| {:<42} | {:>7} | {:>15} | {:>11} | {:>14} |",
            row.name,
            rate(med),
            format!("{}–{}", rate(lo), rate(hi)),
            own,
            sink
        );
        for peer in &peers {
            let ratio = median(&peer.rates(n)).map_or(f64::NAN, |p| med / p);
            line.push_str(&format!(" {:>18} |", format!("{ratio:.2}x")));
        }
        println!("{line}");
    }
    for row in rows.iter().filter(|r| !r.peer) {
        let Some(med) = median(&row.rates(n)) else {
            continue;
        };
        for peer in &peers {
            if let Some(p) = median(&peer.rates(n)) {
                println!("  {} / {}: {:.1}x", row.name, short(peer.name), med / p);
            }
        }
    }
}

/// A peer's name without its explanation.
fn short(name: &str) -> &str {
    name.split([' ', ',']).next().unwrap_or(name)
}

// ---------------------------------------------------------------------------------------------
// mailport in this process

fn config(sink: &Sink, port: u16, persistent: bool) -> Config {
    let mut config = Config::new("127.0.0.1");
    config.port = port;
    config.security = Security::StartTls;
    config.helo_name = Some("bench.example".into());
    config.credentials = Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(PASSWORD),
    });
    config.tls.ca_files = vec![sink.ca.clone()];
    config.tls.webpki_roots = false;
    config.tls.system_roots = false;
    config.persistent = persistent;
    config
}

fn message(i: usize) -> Message {
    let mut message = Message::new();
    message
        .set_from("Bench <bench@example.com>")
        .expect("from")
        .add_to("sink@example.com")
        .expect("to")
        .set_subject(&format!("message {i}"))
        .expect("subject")
        .set_text(TEXT)
        .expect("text");
    message
}

/// CPU time (user + system) of the calling thread: the client does its I/O on it.
fn thread_cpu() -> Duration {
    #[cfg(target_os = "linux")]
    let who = libc::RUSAGE_THREAD;
    #[cfg(not(target_os = "linux"))]
    let who = libc::RUSAGE_SELF;
    // SAFETY: an all-zero rusage is a valid value of a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    unsafe { libc::getrusage(who, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Time `run` and the CPU time this thread spent in it.
fn timed(run: impl FnOnce() -> Option<u64>) -> Sample {
    let cpu = thread_cpu();
    let started = Instant::now();
    let resumed = run();
    Sample {
        secs: started.elapsed().as_secs_f64(),
        cpu: Some(thread_cpu().saturating_sub(cpu)),
        sink_cpu: None,
        resumed,
    }
}

/// One client, `n` messages on its session.
fn mailport_one_connection(sink: &Sink, port: u16, n: usize) -> Sample {
    timed(|| {
        let mut client = Client::new(config(sink, port, false)).expect("client");
        for i in 0..n {
            client.send_message(&message(i)).expect("send");
        }
        client.close();
        None
    })
}

fn resumed(receipt: &mailport::Receipt) -> u64 {
    u64::from(receipt.tls.as_ref().is_some_and(|t| t.resumed))
}

/// A new `Client` for every message (its own TLS configuration, so no resumption), or with
/// `persistent` a new client taking the pooled session back.
fn mailport_new_client_each(sink: &Sink, n: usize, persistent: bool) -> Sample {
    timed(|| {
        let mut count = 0;
        for i in 0..n {
            let mut client = Client::new(config(sink, sink.starttls, persistent)).expect("client");
            count += resumed(&client.send_message(&message(i)).expect("send"));
            client.close();
        }
        Some(count)
    })
}

/// One client that closes its session after every message: each message reconnects, resuming
/// the TLS session from the client's cache.
fn mailport_reconnect_each(sink: &Sink, n: usize) -> Sample {
    timed(|| {
        let mut client = Client::new(config(sink, sink.starttls, false)).expect("client");
        let mut count = 0;
        for i in 0..n {
            count += resumed(&client.send_message(&message(i)).expect("send"));
            client.close();
        }
        Some(count)
    })
}

// ---------------------------------------------------------------------------------------------
// Python senders

const PYTHON_SENDER: &str = r#"
import resource, ssl, sys, time
mode, port, ca, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
USER, PASSWORD = "bench", "secret"
TEXT = sys.argv[5]

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

resumed = -1
if mode.startswith("smtplib"):
    import smtplib
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    def build(i):
        m = EmailMessage()
        m["From"] = "Bench <bench@example.com>"
        m["To"] = "sink@example.com"
        m["Subject"] = "message %d" % i
        m["Date"] = formatdate()
        m["Message-ID"] = make_msgid(domain="bench.example")
        m.set_content(TEXT)
        return m

    start, cpu0 = time.perf_counter(), cpu()
    context = ssl.create_default_context(cafile=ca)

    def connect():
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example", timeout=120)
        s.starttls(context=context)
        s.login(USER, PASSWORD)
        return s

    if mode == "smtplib-one":
        s = connect()
        for i in range(n):
            s.send_message(build(i))
        s.quit()
    elif mode == "smtplib-each":
        resumed = 0
        for i in range(n):
            s = connect()
            s.send_message(build(i))
            resumed += int(s.sock.session_reused)
            s.quit()
    else:
        raise SystemExit("unknown mode " + mode)
else:
    import mailport

    def build(i):
        return (mailport.Message().from_("Bench <bench@example.com>").to("sink@example.com")
                .subject("message %d" % i).text(TEXT))

    options = dict(host="127.0.0.1", port=port, security="starttls", username=USER,
                   password=PASSWORD, helo_name="bench.example", ca_file=ca,
                   webpki_roots=False, system_roots=False)
    start, cpu0 = time.perf_counter(), cpu()
    if mode == "mailport-one":
        with mailport.Client(mailport.Config(**options)) as client:
            for i in range(n):
                client.send(build(i))
    elif mode in ("mailport-each", "mailport-persistent"):
        config = mailport.Config(persistent=(mode == "mailport-persistent"), **options)
        for i in range(n):
            with mailport.Client(config) as client:
                client.send(build(i))
    else:
        raise SystemExit("unknown mode " + mode)
print(time.perf_counter() - start, cpu() - cpu0, resumed)
"#;

struct Python {
    program: String,
    root: PathBuf,
    library: PathBuf,
    /// Why the Python senders cannot run, if they cannot.
    usable: Result<(), String>,
}

impl Python {
    fn new(root: &Path, library: &Path) -> Python {
        let mut python = Python {
            program: std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into()),
            root: root.to_path_buf(),
            library: library.to_path_buf(),
            usable: Ok(()),
        };
        python.usable = python
            .command()
            .args(["-c", "import mailport, smtplib, ssl"])
            .output()
            .map_err(|e| format!("{}: {e}", python.program))
            .and_then(|out| {
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
                }
            });
        python
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .env("PYTHONPATH", self.root.join("bindings/python"))
            .env("MAILPORT_LIBRARY", &self.library)
            .stdin(Stdio::null());
        command
    }

    /// Run a sender in a child process; it reports its own time and CPU.
    fn run(&self, mode: &str, sink: &Sink, port: u16, n: usize) -> Option<Sample> {
        self.usable.as_ref().ok()?;
        let out = self
            .command()
            .args(["-c", PYTHON_SENDER, mode, &port.to_string()])
            .arg(&sink.ca)
            .args([&n.to_string(), TEXT])
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "python sender {mode} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace();
        let secs: f64 = fields.next()?.parse().ok()?;
        let cpu: f64 = fields.next()?.parse().ok()?;
        let resumed: i64 = fields.next()?.parse().ok()?;
        Some(Sample {
            secs,
            cpu: Some(Duration::from_secs_f64(cpu.max(0.0))),
            sink_cpu: None,
            resumed: u64::try_from(resumed).ok(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The delay proxy

/// A loopback TCP forwarder that delays each direction by `one_way`: every chunk read is
/// written to the other side once `one_way` has passed since it was read, in order. One thread
/// per direction of each connection, each with a queue of timestamped chunks; it waits for
/// either more input or the next chunk's time (`ppoll`, nanosecond timeout), never per byte.
/// Only data is delayed: the TCP handshake with the proxy is immediate.
struct DelayProxy {
    port: u16,
}

impl DelayProxy {
    fn start(upstream: SocketAddr, one_way: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the delay proxy");
        let port = listener.local_addr().expect("proxy address").port();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                thread::spawn(move || pump(client, server2, one_way));
                thread::spawn(move || pump(server, client2, one_way));
            }
        });
        DelayProxy { port }
    }
}

/// Forward `from` to `to`, each chunk `delay` after it was read; at end of input, forward what
/// is queued and shut `to`'s write side.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = true;
    loop {
        let now = Instant::now();
        while queue.front().is_some_and(|(due, _)| *due <= now) {
            let (_, chunk) = queue.pop_front().expect("front");
            if to.write_all(&chunk).is_err() {
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
        let wait = queue
            .front()
            .map(|(due, _)| due.saturating_duration_since(now));
        if !open {
            match wait {
                Some(wait) => thread::sleep(wait),
                None => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
            }
            continue;
        }
        match readable(&from, wait) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => open = false,
        }
        match from.read(&mut buf) {
            Ok(0) | Err(_) => open = false,
            Ok(n) => queue.push_back((Instant::now() + delay, buf[..n].to_vec())),
        }
    }
}

/// Wait until `stream` has input (or end of file), at most `timeout` (`None`: no limit).
fn readable(stream: &TcpStream, timeout: Option<Duration>) -> std::io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    #[cfg(target_os = "linux")]
    let ready = {
        let spec = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs() as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let spec_ptr = spec.as_ref().map_or(std::ptr::null(), |s| s as *const _);
        // SAFETY: `fd` is one valid pollfd, `spec_ptr` is null or points to a timespec that
        // outlives the call, and a null signal mask leaves the mask unchanged.
        unsafe { libc::ppoll(&mut fd, 1, spec_ptr, std::ptr::null()) }
    };
    #[cfg(not(target_os = "linux"))]
    let ready = {
        // Millisecond resolution elsewhere: rounded up, so a chunk is never early.
        let ms = timeout.map_or(-1, |t| {
            t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        // SAFETY: `fd` is one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut fd, 1, ms) }
    };
    match ready {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// The round trip through the proxy, as a client sees it: the median NOOP.
fn probe_rtt(port: u16) -> Duration {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("greeting");
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        writer.write_all(b"NOOP\r\n").expect("NOOP");
        line.clear();
        reader.read_line(&mut line).expect("NOOP reply");
        times.push(started.elapsed().as_secs_f64());
    }
    let _ = writer.write_all(b"QUIT\r\n");
    Duration::from_secs_f64(median(&times).unwrap_or(0.0))
}
