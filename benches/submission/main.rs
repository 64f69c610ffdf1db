//! Submission speed and memory against the peers, measured in one run on loopback.
//!
//! Run: `cargo bench --bench submission` (see `BENCHMARKS.md`). It first builds
//! `target/release/mailport` and `target/release/libmailport.so` (`cargo build --release -p
//! mailport -p mailport-cli`; `MAILPORT_BENCH_NO_BUILD=1` skips that), then starts
//! `mailport capture --discard --auth bench:secret` as the sink: PIPELINING, CHUNKING,
//! STARTTLS, implicit TLS and AUTH, every message received and acknowledged, nothing written.
//!
//! Senders, each a child process that times itself (`senders.rs`): mailport from Rust, C,
//! Python and PHP; the peers lettre, Python's smtplib and PHPMailer; and the reference client
//! and renderer (`reference.rs`), the protocol's floor, to which every row of S1, S2 and S7 is
//! also compared (issue 19's targets are such ratios).
//!
//! Scenarios, each a median of `MAILPORT_BENCH_RUNS` (5) rounds with the min–max spread; the
//! senders take turns within each round so that noise falls on all of them alike:
//! - S1: `MAILPORT_BENCH_MESSAGES` (2000) small messages over one STARTTLS + AUTH connection:
//!   messages/s, the sender's and the sink's CPU time per message, and system calls per message
//!   from a counting pass under strace (`syscalls.rs`, `MAILPORT_BENCH_STRACE_MESSAGES`).
//! - S2: the same with `MAILPORT_BENCH_RTT_MESSAGES` (200) messages through a proxy that delays
//!   each direction by half of `MAILPORT_BENCH_RTT_MS` (10): messages/s and round trips per
//!   message.
//! - S3: `MAILPORT_BENCH_CONNECTIONS` (100) messages, each on a new connection: connections/s
//!   and TLS sessions resumed.
//! - S4: one message with a `MAILPORT_BENCH_ATTACHMENT_MB` (25) MiB attachment read from a file,
//!   over implicit TLS: seconds and the sender's peak memory growth.
//! - S5: `MAILPORT_BENCH_REQUESTS` (100) sequential requests to WordPress under PHP's built-in
//!   server, each sending one message with wp_mail(): through PHPMailer (WordPress's own, set up
//!   for SMTP as the SMTP plugins do), through the mailport plugin, and through the plugin in
//!   persistent mode; on loopback and at the simulated round-trip time.
//! - S6: the outbox on a spool directory and on MariaDB: enqueue (durable) from 1 and 16 threads
//!   and drain by 1 and 4 workers, `MAILPORT_BENCH_MESSAGES` each, beside a direct send in the
//!   same run.
//! - S7: one message with a `MAILPORT_BENCH_ATTACHMENT_MB` (25) MiB attachment rendered, nothing
//!   sent: in memory from Rust, C, Python and PHP, streamed to a file from Rust
//!   (`Message::write_to`) and C (`mailport_message_render_to_fd`), against the reference
//!   renderer: time, peak memory growth and the output's size.
//!
//! `MAILPORT_BENCH_QUICK=1` is a smoke run (small counts, one round). Benchmarks report; they
//! never fail on a figure.

mod outbox;
mod pin;
mod proxy;
mod reference;
mod rust_sender;
mod senders;
mod sink;
mod syscalls;
mod table;
mod wordpress;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use proxy::{DelayProxy, probe_rtt};
use senders::{
    LETTRE, MAILPORT_C, MAILPORT_PHP, MAILPORT_PYTHON, MAILPORT_RUST, PHPMAILER, Programs,
    REFERENCE, SMTPLIB, Sender,
};
use sink::Sink;
use table::{Metric, Row, Sample, print_table};

pub const USER: &str = "bench";
pub const PASSWORD: &str = "secret";
pub const TEXT: &str = "Hello,\n\nthis is a small message from the submission benchmark: a few \
                        lines of plain text, like a password reset or an order confirmation.\n\n\
                        -- \nbench\n";

fn main() {
    if let Some(status) = rust_sender::child_main() {
        std::process::exit(status);
    }
    let settings = Settings::from_env();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir();
    build(root, &target);
    let release = target.join("release");
    let library = release.join("libmailport.so");
    let dir =
        std::env::temp_dir().join(format!("mailport-bench-submission-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    let cpus = pin::cpus();
    let sink = Sink::start(
        &release.join("mailport"),
        &dir.join("sink"),
        cpus.map(|c| c.0),
    );
    let mut bench = Bench {
        programs: Programs::new(root, &release, &library, cpus.map(|c| c.1)),
        sink,
        sent: 0,
    };

    println!(
        "mailport submission benchmark: {} rounds, sink `mailport capture --discard` on 127.0.0.1 \
         (STARTTLS and implicit TLS, AUTH PLAIN, PIPELINING, CHUNKING), {} CPUs{}",
        settings.runs,
        thread::available_parallelism().map_or(0, |n| n.get()),
        cpus.map_or(String::new(), |(sink, senders)| format!(
            "; the sink on CPU {sink}, the senders on CPU {senders} (S1 also on CPU {sink}; \
             benches/submission/pin.rs)"
        )),
    );

    // Each sender's unmeasured warm-up, which also tells whether it can run here.
    let everyone = [
        MAILPORT_RUST,
        MAILPORT_C,
        MAILPORT_PYTHON,
        MAILPORT_PHP,
        LETTRE,
        SMTPLIB,
        PHPMAILER,
        REFERENCE,
    ];
    let mut unusable: Vec<(Sender, String)> = Vec::new();
    for sender in everyone {
        let port = bench.sink.starttls;
        if let Err(why) = bench.run(sender, "one", port, 20.min(settings.messages), None) {
            println!("skipped: {why}");
            unusable.push((sender, why));
        }
    }
    let skip = |sender: Sender| {
        unusable
            .iter()
            .find(|(s, _)| s.program == sender.program && s.lib == sender.lib)
            .map(|(_, why)| why.clone())
    };

    // Rows without a result, over all scenarios: a sender that cannot run makes the run fail
    // at the end (after every table), so CI's smoke run catches a broken sender.
    let mut skipped = 0;

    // S1: one connection, loopback.
    let one_connection = || {
        vec![
            Entry::new("mailport (Rust Client)", MAILPORT_RUST, "one", false),
            Entry::new("mailport from C", MAILPORT_C, "one", false),
            Entry::new(
                "mailport from Python (ctypes)",
                MAILPORT_PYTHON,
                "one",
                false,
            ),
            Entry::new("mailport from PHP (FFI)", MAILPORT_PHP, "one", false),
            // Each of lettre's messages waits out a 40 ms delayed ACK: see BENCHMARKS.md.
            Entry::new("lettre (Rust, pooled transport) †", LETTRE, "one", true)
                .at_most(LETTRE_CAP),
            Entry::new("smtplib (Python)", SMTPLIB, "one", true),
            Entry::new(
                "PHPMailer (SMTPKeepAlive, tcp_nodelay)",
                PHPMAILER,
                "one",
                true,
            ),
            Entry::new(
                "reference client (pipelined BDAT) ‡",
                REFERENCE,
                "one",
                true,
            )
            .reference(),
        ]
    };
    let port = bench.sink.starttls;
    // S1 itself, in both placements (pin.rs): each sender on the sink's CPU, where the two take
    // turns and a message costs its work; then on a CPU of its own, where each wakes the other
    // across CPUs, as a client and its server on two machines do.
    if settings.wants("S1") {
        let n = settings.messages;
        let placements: Vec<(Option<usize>, &str)> = match cpus {
            Some((sink, senders)) => vec![
                (Some(sink), "sender and sink on one CPU"),
                (Some(senders), "sender and sink on two CPUs"),
            ],
            None => vec![(None, "placement left to the scheduler")],
        };
        let mut counted: Option<Vec<Option<String>>> = None;
        let mut notes = None;
        for (i, (cpu, placement)) in placements.into_iter().enumerate() {
            bench.programs.cpu = cpu;
            let mut s1 = bench.scenario(one_connection(), settings.runs, port, n, None, &skip);
            if i == 0 {
                let breakdown = bench.count_syscalls(
                    one_connection(),
                    &mut s1,
                    port,
                    settings.strace_messages,
                    &dir,
                );
                skipped += breakdown.failed;
                counted = Some(s1.iter().map(|row| row.syscalls.clone()).collect());
                notes = Some(breakdown);
            } else if let Some(counted) = &counted {
                // System calls do not depend on the placement: counted once.
                for (row, syscalls) in s1.iter_mut().zip(counted) {
                    row.syscalls.clone_from(syscalls);
                }
            }
            skipped += print_table(
                &format!(
                    "S1: {n} small messages over one STARTTLS + AUTH connection, loopback, \
                     {placement}"
                ),
                &s1,
                Metric::Cpu,
            );
        }
        bench.programs.cpu = cpus.map(|c| c.1);
        let breakdown = notes.expect("S1 ran in at least one placement");
        println!(
            "  † {} messages per run: lettre 0.11 leaves Nagle's algorithm on, and each message waits \
             for the sink's delayed ACK (40 ms), so its rate does not depend on the count.",
            LETTRE_CAP.min(n)
        );
        println!(
            "  ‡ the protocol's floor (benches/submission/reference.rs): std TcpStream + rustls \
             (ring), per message MAIL + RCPT + `BDAT n LAST` + the body in one write and one \
             read for the three replies; its message is rendered once and two counters patched."
        );
        println!(
            "  CPU ×ref, sink CPU ×ref: the row's CPU time per message over the reference's \
             (1.00x is the floor). {}",
            breakdown.heading
        );
        for line in &breakdown.lines {
            println!("    {line}");
        }
    }

    // S2 and S5 go through the delay proxy.
    let rtt = settings.rtt;
    let upstream = std::net::SocketAddr::from(([127, 0, 0, 1], bench.sink.starttls));
    let proxy = DelayProxy::start(upstream, rtt / 2);

    // S2: one connection at a simulated round-trip time.
    if settings.wants("S2") {
        let measured_rtt = probe_rtt(proxy.port);
        let n = settings.rtt_messages;
        let s2 = bench.scenario(one_connection(), settings.runs, proxy.port, n, None, &skip);
        skipped += print_table(
            &format!(
                "S2: {n} small messages over one STARTTLS + AUTH connection, {} ms round trip \
                 through the delay proxy (measured: {:.2} ms per NOOP)",
                rtt.as_secs_f64() * 1e3,
                measured_rtt.as_secs_f64() * 1e3
            ),
            &s2,
            Metric::RoundTrips(rtt),
        );
    }

    // S3: a new connection per message, loopback.
    if settings.wants("S3") {
        let n = settings.connections;
        let s3_entries = vec![
            Entry::new(
                "mailport, new Client per message",
                MAILPORT_RUST,
                "each",
                false,
            ),
            Entry::new(
                "mailport, one Client, close() after each",
                MAILPORT_RUST,
                "reconnect",
                false,
            ),
            Entry::new(
                "mailport from C, new client per message",
                MAILPORT_C,
                "each",
                false,
            ),
            Entry::new(
                "mailport from Python, new Client per msg",
                MAILPORT_PYTHON,
                "each",
                false,
            ),
            Entry::new(
                "mailport from PHP, new Client per message",
                MAILPORT_PHP,
                "each",
                false,
            ),
            Entry::new("lettre, new transport per message", LETTRE, "each", true),
            Entry::new("smtplib, new SMTP per message", SMTPLIB, "each", true),
            Entry::new(
                "PHPMailer, new PHPMailer per message",
                PHPMAILER,
                "each",
                true,
            ),
            Entry::new(
                "mailport persistent, new Client per msg *",
                MAILPORT_RUST,
                "persistent",
                false,
            ),
            Entry::new(
                "mailport from C, persistent *",
                MAILPORT_C,
                "persistent",
                false,
            ),
            Entry::new(
                "mailport from Python, persistent *",
                MAILPORT_PYTHON,
                "persistent",
                false,
            ),
            Entry::new(
                "mailport from PHP, persistent *",
                MAILPORT_PHP,
                "persistent",
                false,
            ),
        ];
        let s3 = bench.scenario(s3_entries, settings.runs, port, n, None, &skip);
        skipped += print_table(
            &format!("S3: {n} messages, each on a new STARTTLS + AUTH connection, loopback"),
            &s3,
            Metric::Resumed,
        );
        println!(
            "  * persistent mode is not a new connection per message: the first client opens the \
             session and every later client in the process takes it back from the process-wide \
             pool (what a php-fpm worker gets across requests); shown for comparison."
        );
    }

    // S4: one large attachment over implicit TLS.
    if settings.wants("S4") {
        let attachment = dir.join("attachment.bin");
        write_random_file(&attachment, settings.attachment_mib << 20);
        let s4_entries = vec![
            Entry::new("mailport (Rust Client)", MAILPORT_RUST, "attach", false),
            Entry::new("mailport from C", MAILPORT_C, "attach", false),
            Entry::new(
                "mailport from Python (ctypes)",
                MAILPORT_PYTHON,
                "attach",
                false,
            ),
            Entry::new("mailport from PHP (FFI)", MAILPORT_PHP, "attach", false),
            Entry::new("lettre (Rust)", LETTRE, "attach", true),
            Entry::new("smtplib (Python)", SMTPLIB, "attach", true),
            Entry::new("PHPMailer", PHPMAILER, "attach", true),
        ];
        let tls = bench.sink.tls;
        let s4 = bench.scenario(s4_entries, settings.runs, tls, 1, Some(&attachment), &skip);
        skipped += print_table(
            &format!(
                "S4: one message with a {} MiB attachment read from a file, implicit TLS, loopback \
                 (RSS growth: peak resident memory minus resident memory before connecting)",
                settings.attachment_mib
            ),
            &s4,
            Metric::Memory,
        );
        let _ = std::fs::remove_file(&attachment);
    }

    // S5: WordPress requests.
    if settings.wants("S5") {
        skipped += s5(
            &settings,
            root,
            &library,
            &bench.sink,
            &proxy,
            &mut bench.sent,
        );
    }

    // S6: the outbox.
    if settings.wants("S6") {
        skipped += outbox::s6(
            settings.messages,
            settings.runs,
            &bench.sink,
            root,
            &dir,
            &mut bench.sent,
        );
    }

    // S7: rendering a message with a large attachment, nothing sent.
    if settings.wants("S7") {
        skipped += s7(&settings, &mut bench, &dir);
    }

    let sent = bench.sent;
    let (messages, line) = bench.sink.stop();
    println!(
        "\nsink: {} (the senders reported {sent})",
        line.as_deref().unwrap_or("no total printed")
    );
    let _ = std::fs::remove_dir_all(&dir);
    let mut failures = Vec::new();
    if messages != Some(sent) {
        failures.push("the sink's count differs from what the senders reported".to_string());
    }
    if skipped > 0 {
        failures.push(format!(
            "{skipped} rows have no result (see `skipped:` above)"
        ));
    }
    if !failures.is_empty() {
        eprintln!("\nbenchmark incomplete: {}", failures.join("; "));
        std::process::exit(1);
    }
}

/// lettre's messages per run in S1 and S2: each waits out a 40 ms delayed ACK.
const LETTRE_CAP: usize = 200;

/// One row of a scenario: a sender in a mode.
struct Entry {
    row: Row,
    sender: Sender,
    mode: &'static str,
    /// At most this many messages per run, for a sender whose rate is set by a timer.
    cap: Option<usize>,
}

impl Entry {
    fn new(name: &'static str, sender: Sender, mode: &'static str, peer: bool) -> Entry {
        Entry {
            row: Row::new(name, peer),
            sender,
            mode,
            cap: None,
        }
    }

    fn reference(mut self) -> Entry {
        self.row = self.row.reference();
        self
    }

    fn at_most(mut self, cap: usize) -> Entry {
        self.cap = Some(cap);
        self
    }
}

struct Bench {
    programs: Programs,
    sink: Sink,
    /// Messages the senders reported sent, checked against the sink's count at the end.
    sent: u64,
}

impl Bench {
    fn run(
        &mut self,
        sender: Sender,
        mode: &str,
        port: u16,
        n: usize,
        attachment: Option<&Path>,
    ) -> Result<Sample, String> {
        let sample = self.sink.measure(|| {
            self.programs
                .run(sender, mode, port, &self.sink.ca, n, attachment)
        })?;
        self.sent += n as u64;
        Ok(Sample { ops: n, ..sample })
    }

    /// `runs` rounds; in each round every entry runs once, in turn.
    fn scenario(
        &mut self,
        mut entries: Vec<Entry>,
        runs: usize,
        port: u16,
        n: usize,
        attachment: Option<&Path>,
        skip: &dyn Fn(Sender) -> Option<String>,
    ) -> Vec<Row> {
        for entry in &mut entries {
            entry.row.skipped = skip(entry.sender);
        }
        for _ in 0..runs {
            for entry in entries.iter_mut().filter(|e| e.row.skipped.is_none()) {
                let n = entry.cap.map_or(n, |cap| cap.min(n));
                let result = self.run(entry.sender, entry.mode, port, n, attachment);
                entry.row.record(result);
            }
        }
        entries.into_iter().map(|e| e.row).collect()
    }
}

/// What the counting pass found: a failure count, the heading and one breakdown line per row.
struct Breakdown {
    failed: usize,
    heading: String,
    lines: Vec<String>,
}

impl Bench {
    /// The counting pass (`syscalls.rs`): each row's sender under strace with `n` and `2n`
    /// messages (at most half its cap and the cap), apart from the timed rounds; fills each
    /// row's `syscalls` column. Without strace the column says `n/a`. The messages count
    /// towards the sink's total like any others.
    fn count_syscalls(
        &mut self,
        entries: Vec<Entry>,
        rows: &mut [Row],
        port: u16,
        n: usize,
        dir: &Path,
    ) -> Breakdown {
        let mut breakdown = Breakdown {
            failed: 0,
            heading: String::new(),
            lines: Vec::new(),
        };
        if let Err(why) = syscalls::available() {
            breakdown.heading = format!("syscalls/msg: n/a, {why}.");
            for row in rows.iter_mut() {
                row.syscalls = Some("n/a".into());
            }
            return breakdown;
        }
        breakdown.heading = format!(
            "syscalls/msg: strace -f -c over a run of 2N messages minus one of N, over N \
             (N = {n}; lettre: at most {}), in a pass apart from the timed rounds:",
            LETTRE_CAP / 2
        );
        for (entry, row) in entries.iter().zip(rows.iter_mut()) {
            if row.samples.is_empty() {
                continue; // skipped already: said in its row
            }
            let n = entry.cap.map_or(n, |cap| n.min(cap / 2)).max(1);
            match self.strace(entry.sender, entry.mode, port, n, dir) {
                Ok(per) => {
                    row.syscalls = Some(format!("{:.1}", per.total()));
                    breakdown.lines.push(format!(
                        "{}: {:.1} = {}",
                        row.name,
                        per.total(),
                        per.breakdown()
                    ));
                }
                Err(why) => {
                    row.syscalls = Some("failed".into());
                    breakdown.lines.push(format!("{}: failed: {why}", row.name));
                    breakdown.failed += 1;
                }
            }
        }
        breakdown
    }

    fn strace(
        &mut self,
        sender: Sender,
        mode: &str,
        port: u16,
        n: usize,
        dir: &Path,
    ) -> Result<syscalls::PerMessage, String> {
        let mut counts = Vec::new();
        for count in [n, 2 * n] {
            let summary = dir.join(format!("strace-{count}.txt"));
            let wrapper = syscalls::wrapper(&summary);
            let ca = self.sink.ca.clone();
            self.programs
                .run_wrapped(sender, mode, port, &ca, count, None, &wrapper)?;
            self.sent += count as u64;
            let text = std::fs::read_to_string(&summary)
                .map_err(|e| format!("{}: {e}", summary.display()))?;
            let _ = std::fs::remove_file(&summary);
            counts.push(syscalls::parse(&text)?);
        }
        Ok(syscalls::PerMessage::between(&counts[0], &counts[1], n))
    }
}

/// S7: one message with a large attachment rendered, in memory and streamed to a file, against
/// the reference renderer; each measurement in a child of its own, for its peak memory.
fn s7(settings: &Settings, bench: &mut Bench, dir: &Path) -> usize {
    let attachment = dir.join("render-attachment.bin");
    write_random_file(&attachment, settings.attachment_mib << 20);
    let mut entries = vec![
        Entry::new(
            "mailport (Rust Message::to_bytes)",
            MAILPORT_RUST,
            "render",
            false,
        ),
        Entry::new(
            "mailport from C (message_render)",
            MAILPORT_C,
            "render",
            false,
        ),
        Entry::new(
            "mailport from Python (render())",
            MAILPORT_PYTHON,
            "render",
            false,
        ),
        Entry::new(
            "mailport from PHP (render())",
            MAILPORT_PHP,
            "render",
            false,
        ),
        Entry::new(
            "reference renderer (one pre-sized Vec)",
            REFERENCE,
            "render",
            false,
        )
        .reference(),
        Entry::new(
            "mailport streamed to a file (Rust write_to)",
            MAILPORT_RUST,
            "stream",
            false,
        ),
        Entry::new(
            "mailport from C, to a file (render_to_fd)",
            MAILPORT_C,
            "stream",
            false,
        ),
    ];
    for _ in 0..settings.runs {
        for entry in entries.iter_mut() {
            if entry.row.skipped.is_some() || entry.row.pending.is_some() {
                continue;
            }
            let ca = bench.sink.ca.clone();
            let result = bench
                .programs
                .run(entry.sender, entry.mode, 0, &ca, 1, Some(&attachment))
                .map(|sample| Sample { ops: 1, ..sample });
            entry.row.record(result);
        }
    }
    let rows: Vec<Row> = entries.into_iter().map(|e| e.row).collect();
    let _ = std::fs::remove_file(&attachment);
    let skipped = print_table(
        &format!(
            "S7: one message with a {} MiB attachment rendered, nothing sent (peak MiB: peak \
             resident memory minus resident memory before rendering)",
            settings.attachment_mib
        ),
        &rows,
        Metric::Render,
    );
    println!(
        "  peak/output: the peak memory growth over the output's size; time ×ref: the row's time \
         over the reference renderer's (1.00x is the floor)."
    );
    skipped
}

/// S5: sequential WordPress requests, each sending one message with wp_mail().
fn s5(
    settings: &Settings,
    root: &Path,
    library: &Path,
    sink: &Sink,
    proxy: &DelayProxy,
    sent: &mut u64,
) -> usize {
    use wordpress::{Mode, WordPress};
    let n = settings.requests;
    let title = |where_: &str| {
        format!(
            "S5: {n} sequential requests to WordPress (PHP's built-in server, opcache), each \
             sending one message with wp_mail(); {where_}"
        )
    };
    let wordpress = match WordPress::start(root, library, &sink.ca) {
        Ok(wordpress) => wordpress,
        Err(why) => {
            println!("\n{}\n  skipped: {why}", title("not run"));
            return 1;
        }
    };
    let modes = [
        ("WordPress without mail (baseline)", Mode::NoMail, false),
        (
            "PHPMailer (wp_mail + phpmailer_init SMTP)",
            Mode::PhpMailer,
            true,
        ),
        ("mailport plugin", Mode::Mailport, false),
        (
            "mailport plugin, MAILPORT_PERSISTENT",
            Mode::MailportPersistent,
            false,
        ),
    ];
    let rtt_ms = settings.rtt.as_secs_f64() * 1e3;
    let mut skipped = 0;
    for (port, where_) in [
        (sink.starttls, "loopback".to_string()),
        (
            proxy.port,
            format!("{rtt_ms:.0} ms round trip through the delay proxy"),
        ),
    ] {
        let mut rows: Vec<Row> = modes
            .iter()
            .map(|(name, _, peer)| Row::new(name, *peer))
            .collect();
        // A first request per mode (unmeasured) fills opcache and, in persistent mode, the pool.
        for (row, (_, mode, _)) in rows.iter_mut().zip(&modes) {
            match wordpress.request(*mode, port, 0) {
                Ok(_) => *sent += u64::from(*mode != Mode::NoMail),
                Err(why) => row.skipped = Some(why),
            }
        }
        for _ in 0..settings.runs {
            for (row, (_, mode, _)) in rows.iter_mut().zip(&modes) {
                if row.skipped.is_some() {
                    continue;
                }
                let mut total = Duration::ZERO;
                let mut failed = None;
                for i in 1..=n {
                    match wordpress.request(*mode, port, i) {
                        Ok(elapsed) => {
                            total += elapsed;
                            *sent += u64::from(*mode != Mode::NoMail);
                        }
                        Err(why) => {
                            failed = Some(why);
                            break;
                        }
                    }
                }
                row.record(match failed {
                    None => Ok(Sample {
                        ops: n,
                        secs: total.as_secs_f64(),
                        ..Sample::default()
                    }),
                    Some(why) => Err(why),
                });
            }
        }
        skipped += print_table(&title(&where_), &rows, Metric::PerRequest);
        let ms = |row: &Row| {
            table::median(&row.samples.iter().map(|s| s.secs).collect::<Vec<_>>())
                .map(|secs| secs * 1e3 / n as f64)
        };
        if let (Some(base), Some(peer)) = (ms(&rows[0]), ms(&rows[1])) {
            for row in &rows[2..] {
                if let Some(own) = ms(row) {
                    println!(
                        "  sending alone (request minus the baseline): {} {:.2} ms vs \
                         PHPMailer {:.2} ms: {:.1}x",
                        row.name,
                        own - base,
                        peer - base,
                        (peer - base) / (own - base)
                    );
                }
            }
        }
    }
    skipped
}

/// `len` bytes that do not compress, written to `path`: an attachment like a photo or a PDF.
fn write_random_file(path: &Path, len: usize) {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    data.truncate(len);
    std::fs::write(path, data).expect("write the attachment");
}

/// Counts, rounds and scenarios, from the environment.
struct Settings {
    /// `MAILPORT_BENCH_SCENARIOS`, e.g. `S1,S4`; all when unset.
    scenarios: Option<Vec<String>>,
    messages: usize,
    rtt_messages: usize,
    connections: usize,
    attachment_mib: usize,
    requests: usize,
    runs: usize,
    rtt: Duration,
    /// S1's counting pass under strace: N (and 2N) messages per sender.
    strace_messages: usize,
}

impl Settings {
    fn wants(&self, scenario: &str) -> bool {
        self.scenarios
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s == scenario))
    }

    fn from_env() -> Settings {
        let quick = std::env::var("MAILPORT_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
        let get = |name: &str, normal: usize, smoke: usize| -> usize {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&v| v > 0)
                .unwrap_or(if quick { smoke } else { normal })
        };
        let scenarios = std::env::var("MAILPORT_BENCH_SCENARIOS").ok().map(|list| {
            list.split(',')
                .map(|s| s.trim().to_ascii_uppercase())
                .collect()
        });
        Settings {
            scenarios,
            messages: get("MAILPORT_BENCH_MESSAGES", 2000, 100),
            rtt_messages: get("MAILPORT_BENCH_RTT_MESSAGES", 200, 10),
            connections: get("MAILPORT_BENCH_CONNECTIONS", 100, 10),
            attachment_mib: get("MAILPORT_BENCH_ATTACHMENT_MB", 25, 2),
            requests: get("MAILPORT_BENCH_REQUESTS", 100, 5),
            runs: get("MAILPORT_BENCH_RUNS", 5, 1),
            rtt: Duration::from_millis(get("MAILPORT_BENCH_RTT_MS", 10, 10) as u64),
            strace_messages: get("MAILPORT_BENCH_STRACE_MESSAGES", 500, 10),
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

/// Build the command line (the sink) and the shared library in release mode.
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
