//! The fault matrix: a real server (aiosmtpd) behind a fault-injecting proxy
//! (`common/fault_proxy.rs`), in each security mode (plaintext, STARTTLS, implicit TLS), with
//! AUTH. A session is recorded first: one client sends a message, a second client sends another
//! over the connection the first left in the persistent pool, and the pool is drained (QUIT).
//! Then, for every byte of that session in each direction, the same runs again with one fault at
//! that byte of the first connection: a reset, a clean close, a stall, or split and delayed
//! writes. Each run checks:
//!
//! - the send the fault interrupts fails with the documented kind (`connection_closed` for a
//!   reset or a close, `timeout` for a stall) and names the step the byte belongs to, computed
//!   from the recording; after the whole message went out, the error says the outcome is unknown;
//! - a split never fails anything;
//! - no send outlasts its configured deadline (send timeout plus a margin for scheduling);
//! - no panic, and no success the server did not give: a send succeeds only when the fault came
//!   after its final reply, and every message reported sent is at the server exactly once, every
//!   one reported failed (outcome known) is not there at all;
//! - the connection is never reused after a failure: the next send opens a new connection
//!   (counted at the proxy); a pooled connection found dead before anything was acknowledged is
//!   replaced and the message sent over the new one.
//!
//! The three matrix tests are `#[ignore]`d in a plain `cargo test` (they take about a minute
//! each); `.ci/run` runs them in a step of their own: `cargo test --test faults --
//! --include-ignored`. By default a sample of the bytes runs: the first two and the last two
//! bytes of each unit (a line, or a TLS record: so every phase boundary ±1) and every 7th byte
//! of a line, every 61st of a record in between. `MAILPORT_FAULTS_FULL=1` runs every byte.
//! `MAILPORT_FAULTS_REPORT=<file>` appends the matrix (markdown) to that file;
//! `MAILPORT_FAULTS_UNITS=1` prints the recorded session, unit by unit, with each one's label.
//! docs/hardening/faults.md has the results.

mod common;
#[path = "faults/labels.rs"]
mod labels;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::TestServer;
use common::fault_proxy::{Action, Dir, Fault, FaultProxy, Framing, SPLIT_BYTES, Unit};
use labels::{Class, Label, Seg};
use mailport::error::Step;
use mailport::{Client, Config, Credentials, Envelope, Kind, Secret, Security};

const USER: &str = "alice";
const PASSWORD: &str = "c0rrect-h0rse-9731";
const FROM: &str = "sender@example.org";
const TO: &str = "rcpt@example.net";

/// How many runs go at once. Each keeps at most one session in the process-wide pool (32 at
/// most), and each makes its own TLS configuration: fewer than the 16 the library keeps shared,
/// so the clients of one run always find theirs (the pool matches it).
const PARALLEL: usize = 12;
/// Stall runs: short deadlines, so that a stall costs little.
const STALL_COMMAND: Duration = Duration::from_millis(300);
const STALL_TOTAL: Duration = Duration::from_secs(5);
/// Other runs: nothing should wait at all; a hang would show as a run this long.
const NORMAL_COMMAND: Duration = Duration::from_secs(10);
const NORMAL_TOTAL: Duration = Duration::from_secs(20);
/// What a send may take beyond its send timeout: thread scheduling on a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);
/// Stall runs are run again (twice at most) when they fail: a loaded machine can miss a 300 ms
/// deadline before the fault. A real failure fails every time; the reruns are reported.
const STALL_ATTEMPTS: usize = 3;

/// Every test here drains the process-wide pool: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy)]
struct Mode {
    name: &'static str,
    server_mode: &'static str,
    security: Security,
    framing: Framing,
    /// The server offers PIPELINING: MAIL, RCPT and DATA go in one write.
    pipelining: bool,
}

const PLAIN: Mode = Mode {
    name: "plaintext",
    server_mode: "plain",
    security: Security::None,
    framing: Framing::Smtp,
    pipelining: false,
};
const STARTTLS: Mode = Mode {
    name: "STARTTLS",
    server_mode: "starttls",
    security: Security::StartTls,
    framing: Framing::Smtp,
    pipelining: false,
};
const STARTTLS_PIPELINING: Mode = Mode {
    name: "STARTTLS with PIPELINING",
    server_mode: "starttls",
    security: Security::StartTls,
    framing: Framing::Smtp,
    pipelining: true,
};
const IMPLICIT_TLS: Mode = Mode {
    name: "implicit TLS",
    server_mode: "tls",
    security: Security::Tls,
    framing: Framing::Tls,
    pipelining: false,
};

#[test]
#[ignore = "the fault matrix, about a minute a mode: .ci/run's fault step runs it (cargo test --test faults -- --include-ignored)"]
fn faults_at_every_byte_of_a_plaintext_session() {
    fault_matrix(PLAIN);
}

#[test]
#[ignore = "the fault matrix, about a minute a mode: .ci/run's fault step runs it (cargo test --test faults -- --include-ignored)"]
fn faults_at_every_byte_of_a_starttls_session() {
    fault_matrix(STARTTLS);
}

#[test]
#[ignore = "the fault matrix, about a minute a mode: .ci/run's fault step runs it (cargo test --test faults -- --include-ignored)"]
fn faults_at_every_byte_of_an_implicit_tls_session() {
    fault_matrix(IMPLICIT_TLS);
}

/// The envelope as one write (RFC 2920), the path taken with most real servers.
#[test]
#[ignore = "the fault matrix, about a minute a mode: .ci/run's fault step runs it (cargo test --test faults -- --include-ignored)"]
fn faults_at_every_byte_of_a_pipelined_starttls_session() {
    fault_matrix(STARTTLS_PIPELINING);
}

struct Env {
    mode: Mode,
    server: TestServer,
    upstream: SocketAddr,
    ca_pem: Vec<u8>,
}

impl Env {
    fn start(mode: Mode) -> Env {
        let auth = format!("{USER}:{PASSWORD}");
        let mut args = vec!["--mode", mode.server_mode, "--auth", &auth];
        if mode.security == Security::None {
            args.push("--auth-plaintext");
        }
        if mode.pipelining {
            args.push("--pipelining");
        }
        let server = TestServer::start(&args);
        let upstream = server.addr().parse().expect("server address");
        let ca_pem = std::fs::read(&server.ca).expect("server CA");
        Env {
            mode,
            server,
            upstream,
            ca_pem,
        }
    }

    /// A client configuration through `proxy`. `run` makes its TLS settings its own (a comment
    /// before the CA certificate): its own TLS session cache, so that its first connection is a
    /// full handshake, as recorded, whatever other runs left in theirs.
    fn config(&self, proxy: &FaultProxy, run: u64, short: bool) -> Config {
        let mut config = Config::new("127.0.0.1");
        config.port = proxy.port;
        config.security = self.mode.security;
        config.helo_name = Some("client.test".into());
        config.tls.webpki_roots = false;
        config.tls.system_roots = false;
        let mut pem = format!("# fault run {run}\n").into_bytes();
        pem.extend_from_slice(&self.ca_pem);
        config.tls.ca_pem = vec![pem];
        config.credentials = Some(Credentials::Password {
            username: USER.into(),
            password: Secret::new(PASSWORD),
        });
        config.dangerous_allow_plaintext_auth = self.mode.security == Security::None;
        config.persistent = true;
        config.timeouts.connect = Duration::from_secs(5);
        let (command, total) = if short {
            (STALL_COMMAND, STALL_TOTAL)
        } else {
            (NORMAL_COMMAND, NORMAL_TOTAL)
        };
        config.timeouts.command = command;
        config.timeouts.data_end = command;
        config.timeouts.send_total = total;
        config
    }
}

/// One send's result, as the checks need it.
#[derive(Debug, Clone)]
struct Sent {
    message_id: String,
    result: Result<(), (Kind, Option<Step>, bool, String)>,
    elapsed: Duration,
    limit: Duration,
    /// Connections the proxy had accepted once the send returned.
    connections: usize,
    /// The client took a session from the pool.
    pooled: bool,
    /// … and found it dead, and sent over a new connection.
    retried: bool,
}

/// What one run did, before the pool is drained.
struct Run {
    proxy: FaultProxy,
    first: Sent,
    second: Sent,
    /// After a failed second send: a third, which must open a new connection.
    third: Option<Sent>,
}

fn message(id: &str) -> Vec<u8> {
    let mut text = format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: fault matrix\r\nMessage-ID: {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    );
    for i in 0..6 {
        text.push_str(&format!(
            "Line {i} of a small message, long enough to span a few segments.\r\n"
        ));
    }
    text.push_str(".leading dot, stuffed on the wire\r\n");
    text.into_bytes()
}

fn send(client: &mut Client, proxy: &FaultProxy, id: String, limit: Duration) -> Sent {
    let envelope = Envelope::new(FROM, vec![TO.into()]).expect("envelope");
    let started = Instant::now();
    let result = client.send_bytes(&envelope, &message(&id));
    let elapsed = started.elapsed();
    Sent {
        message_id: id,
        result: result.map(|_| ()).map_err(|e| {
            (
                e.kind(),
                e.step(),
                e.outcome_unknown(),
                format!("{e}\n{}", e.transcript()),
            )
        }),
        elapsed,
        limit,
        connections: proxy.connections(),
        pooled: client.transcript().contains("reusing a pooled connection"),
        retried: client.transcript().contains("sending again"),
    }
}

/// The first client sends, then a second one over what the first left in the pool, and after a
/// failure of the second, a third.
fn run(
    env: &Env,
    fault: Option<Fault>,
    drip: Option<Duration>,
    label: Option<&Label>,
    n: u64,
) -> Run {
    let proxy = FaultProxy::start(env.upstream, env.mode.framing, fault, drip);
    // Short deadlines only for the operation the stall interrupts: an earlier one under load
    // must not miss a 300 ms deadline before the fault is reached.
    let stall = fault.is_some_and(|f| f.action == Action::Stall);
    let first_short = stall && label.is_some_and(|l| l.seg == Seg::First);
    let later_short = stall && label.is_some_and(|l| l.seg != Seg::First);
    let first_config = env.config(&proxy, n, first_short);
    let second_config = env.config(&proxy, n, later_short);
    let third_config = env.config(&proxy, n, false);
    let limit = |c: &Config| c.timeouts.send_total + MARGIN;
    // All made now, back to back, so they share one TLS configuration (the pool's key).
    let mut a = Client::new(first_config.clone()).expect("client");
    let mut b = Client::new(second_config.clone()).expect("client");
    let mut c = Client::new(third_config.clone()).expect("client");
    let first = send(
        &mut a,
        &proxy,
        format!("<f{n:08}-a@faults.test>"),
        limit(&first_config),
    );
    drop(a);
    let second = send(
        &mut b,
        &proxy,
        format!("<f{n:08}-b@faults.test>"),
        limit(&second_config),
    );
    drop(b);
    let third = second.result.is_err().then(|| {
        send(
            &mut c,
            &proxy,
            format!("<f{n:08}-c@faults.test>"),
            limit(&third_config),
        )
    });
    drop(c);
    Run {
        proxy,
        first,
        second,
        third,
    }
}

/// Drain the pool (QUIT every idle session), bounded: each QUIT waits its command timeout at most.
fn drain(sessions: usize) -> Result<Duration, String> {
    let started = Instant::now();
    mailport::pool::clear();
    let took = started.elapsed();
    let limit = (NORMAL_COMMAND.min(Duration::from_secs(2)) + MARGIN) * sessions.max(1) as u32;
    if took > limit {
        return Err(format!("draining the pool took {took:?}, over {limit:?}"));
    }
    Ok(took)
}

/// A run's outcome for the matrix: "kind @ step", or "sent".
fn outcome(sent: &Sent) -> String {
    match &sent.result {
        Ok(()) if sent.retried => "sent (retried on a new connection)".into(),
        Ok(()) => "sent".into(),
        Err((kind, step, unknown, _)) => format!(
            "{} @ {}{}",
            kind.as_str(),
            step.map_or("?", Step::as_str),
            if *unknown { " (outcome unknown)" } else { "" }
        ),
    }
}

fn within_limit(sent: &Sent, what: &str) -> Result<(), String> {
    if sent.elapsed > sent.limit {
        return Err(format!(
            "{what} took {:?}, over its deadline plus margin {:?}",
            sent.elapsed, sent.limit
        ));
    }
    Ok(())
}

fn expect_sent(sent: &Sent, what: &str) -> Result<(), String> {
    match &sent.result {
        Ok(()) => Ok(()),
        Err((kind, step, _, text)) => Err(format!(
            "{what} failed ({} @ {:?}) but must succeed: {text}",
            kind.as_str(),
            step
        )),
    }
}

fn expect_failure(sent: &Sent, label: &Label, action: Action, what: &str) -> Result<(), String> {
    let want_kind = match action {
        Action::Stall => Kind::Timeout,
        _ => Kind::ConnectionClosed,
    };
    match &sent.result {
        Ok(()) => Err(format!(
            "{what} succeeded, but the fault came before the server's final reply was through"
        )),
        Err((kind, step, unknown, text)) => {
            if *kind != want_kind {
                return Err(format!(
                    "{what}: kind {kind:?}, expected {want_kind:?}: {text}"
                ));
            }
            if !step.is_some_and(|s| label.steps.contains(&s)) {
                return Err(format!(
                    "{what}: step {step:?}, expected one of {:?}: {text}",
                    label.steps
                ));
            }
            if *unknown != label.outcome_unknown {
                return Err(format!(
                    "{what}: outcome_unknown {unknown}, expected {}: {text}",
                    label.outcome_unknown
                ));
            }
            Ok(())
        }
    }
}

/// Judge a run against its unit's label. `Ok(outcome)`: what the interrupted operation did.
fn judge(run: &Run, fault: &Fault, label: &Label) -> Result<String, String> {
    within_limit(&run.first, "the first send")?;
    within_limit(&run.second, "the second send")?;
    if let Some(third) = &run.third {
        within_limit(third, "the third send")?;
    }
    if run.proxy.fired().is_none() && !label.may_not_fire {
        return Err(format!(
            "the fault never fired: the session did not reach it (first: {}, second: {})",
            outcome(&run.first),
            outcome(&run.second)
        ));
    }
    if fault.action == Action::Split {
        expect_sent(&run.first, "the first send")?;
        expect_sent(&run.second, "the second send")?;
        if !run.second.pooled || run.second.connections != 1 {
            return Err(format!(
                "split writes: {} connections, expected the pooled one reused",
                run.second.connections
            ));
        }
        return Ok("sent".into());
    }
    match label.seg {
        Seg::First => {
            expect_failure(&run.first, label, fault.action, "the first send")?;
            expect_sent(&run.second, "the send after the failure")?;
            if run.second.pooled || run.second.connections != 2 {
                return Err(format!(
                    "after a failed send, the next one must open a new connection, not take one \
                     from the pool (took one: {}, connections: {})",
                    run.second.pooled, run.second.connections
                ));
            }
            Ok(outcome(&run.first))
        }
        Seg::Second => {
            expect_sent(&run.first, "the first send")?;
            if label.retry_safe {
                expect_sent(&run.second, "the second send")?;
                if !run.second.pooled || !run.second.retried || run.second.connections != 2 {
                    return Err(format!(
                        "the dead pooled connection must be replaced and the message sent again \
                         over a new one (retried: {}, connections: {})",
                        run.second.retried, run.second.connections
                    ));
                }
                return Ok(outcome(&run.second));
            }
            expect_failure(&run.second, label, fault.action, "the second send")?;
            let third = run.third.as_ref().expect("a third send after a failure");
            expect_sent(third, "the send after the failure")?;
            if third.pooled || third.connections != 2 {
                return Err(format!(
                    "after a failed send, the next one must open a new connection, not take one \
                     from the pool (took one: {}, connections: {})",
                    third.pooled, third.connections
                ));
            }
            Ok(outcome(&run.second))
        }
        Seg::Quit => {
            expect_sent(&run.first, "the first send")?;
            expect_sent(&run.second, "the second send")?;
            if !run.second.pooled || run.second.connections != 1 {
                return Err(format!(
                    "{} connections, expected the pooled one reused",
                    run.second.connections
                ));
            }
            Ok("drained".into())
        }
    }
}

struct Job {
    fault: Fault,
    label: Label,
    n: u64,
}

/// The bytes of a unit of `len` bytes that are tried: all of them with MAILPORT_FAULTS_FULL=1;
/// otherwise the first two, the last two, and every `stride`-th.
fn positions(len: usize, tls: bool, full: bool) -> Vec<usize> {
    if full {
        return (0..len).collect();
    }
    let stride = if tls { 61 } else { 7 };
    (0..len)
        .filter(|&b| b < 2 || b + 2 >= len || b % stride == 0)
        .collect()
}

fn fault_matrix(mode: Mode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let full = std::env::var("MAILPORT_FAULTS_FULL").is_ok_and(|v| v == "1");
    let started = Instant::now();
    let env = Env::start(mode);
    mailport::pool::clear();

    // The recording, and the same session with every byte in its own write.
    let recorded = run(&env, None, None, None, 0);
    expect_sent(&recorded.first, "recording: the first send").unwrap();
    expect_sent(&recorded.second, "recording: the second send").unwrap();
    assert_eq!(
        recorded.second.connections, 1,
        "recording: the pooled connection is reused"
    );
    drain(1).unwrap();
    let units = recorded.proxy.units();
    drop(recorded);
    let (client_labels, server_labels) = labels::label(&units, mode.framing, mode.pipelining)
        .unwrap_or_else(|e| panic!("{e}\nrecorded units:\n{}", describe(&units)));
    if std::env::var_os("MAILPORT_FAULTS_UNITS").is_some() {
        for unit in &units {
            let label = match unit.dir {
                Dir::ToServer => &client_labels[unit.index],
                Dir::ToClient => &server_labels[unit.index],
            };
            println!("{} -> {label:?}", describe(std::slice::from_ref(unit)));
        }
    }

    let dripped = run(&env, None, Some(Duration::from_micros(100)), None, 1);
    expect_sent(&dripped.first, "byte by byte: the first send").unwrap();
    expect_sent(&dripped.second, "byte by byte: the second send").unwrap();
    assert_eq!(
        dripped.second.connections, 1,
        "byte by byte: the pooled connection is reused"
    );
    drain(1).unwrap();
    drop(dripped);

    let mut jobs = Vec::new();
    let mut n = 10u64;
    for action in Action::ALL {
        for unit in &units {
            let label = match unit.dir {
                Dir::ToServer => &client_labels[unit.index],
                Dir::ToClient => &server_labels[unit.index],
            };
            for byte in positions(unit.len, unit.tls_type.is_some(), full) {
                jobs.push(Job {
                    fault: Fault {
                        dir: unit.dir,
                        unit: unit.index,
                        byte,
                        action,
                    },
                    label: label.clone(),
                    n,
                });
                n += 1;
            }
        }
    }
    let total_jobs = jobs.len();

    let mut matrix: BTreeMap<(Class, Action), BTreeMap<String, usize>> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut reruns: Vec<String> = Vec::new();
    let mut sends: Vec<Sent> = Vec::new();
    let mut pending: Vec<(Job, usize)> = jobs.into_iter().map(|j| (j, 1)).collect();
    while !pending.is_empty() {
        let mut again = Vec::new();
        for batch in pending.chunks(PARALLEL) {
            let runs: Vec<std::thread::Result<Run>> = std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|(job, _)| {
                        let env = &env;
                        s.spawn(move || run(env, Some(job.fault), None, Some(&job.label), job.n))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join()).collect()
            });
            let drained = drain(batch.len());
            for ((job, attempt), run) in batch.iter().zip(runs) {
                let verdict = match (&run, &drained) {
                    (Err(panic), _) => Err(format!("panicked: {}", panic_text(panic))),
                    (Ok(_), Err(e)) => Err(e.clone()),
                    (Ok(run), Ok(_)) => judge(run, &job.fault, &job.label),
                };
                let describe_job = format!(
                    "{} {} at {} unit {} byte {} ({}, run {})",
                    mode.name,
                    job.fault.action.as_str(),
                    job.fault.dir.as_str(),
                    job.fault.unit,
                    job.fault.byte,
                    job.label.class.as_str(),
                    job.n
                );
                match verdict {
                    Ok(result) => {
                        *matrix
                            .entry((job.label.class, job.fault.action))
                            .or_default()
                            .entry(result)
                            .or_default() += 1;
                        if let Ok(run) = run {
                            sends.push(run.first.clone());
                            sends.push(run.second.clone());
                            sends.extend(run.third.clone());
                        }
                    }
                    Err(why) if job.fault.action == Action::Stall && *attempt < STALL_ATTEMPTS => {
                        reruns.push(format!("{describe_job}: {why}"));
                        again.push((
                            Job {
                                fault: job.fault,
                                label: job.label.clone(),
                                n: job.n + 1_000_000 * *attempt as u64,
                            },
                            attempt + 1,
                        ));
                    }
                    Err(why) => failures.push(format!("{describe_job}: {why}")),
                }
            }
        }
        pending = again;
    }

    // At the server: every message reported sent arrived exactly once; none reported failed
    // (with a known outcome) arrived at all.
    let mut arrived: BTreeMap<String, usize> = BTreeMap::new();
    for m in env.server.messages() {
        if let Some(id) = message_id(&m.data) {
            *arrived.entry(id).or_default() += 1;
        }
    }
    for sent in &sends {
        let count = arrived.get(&sent.message_id).copied().unwrap_or(0);
        match &sent.result {
            Ok(()) if count != 1 => failures.push(format!(
                "{} was reported sent and arrived {count} times",
                sent.message_id
            )),
            Err((_, _, false, _)) if count != 0 => failures.push(format!(
                "{} was reported failed (outcome known) and arrived {count} times",
                sent.message_id
            )),
            _ => {}
        }
    }

    let report = report(
        mode,
        &units,
        &matrix,
        total_jobs,
        &reruns,
        started.elapsed(),
        full,
    );
    println!("{report}");
    if let Ok(path) = std::env::var("MAILPORT_FAULTS_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        writeln!(file, "{report}").unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {total_jobs} fault runs went wrong; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

fn message_id(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .map(|id| id.trim().to_string())
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(not a string)".into())
}

fn describe(units: &[Unit]) -> String {
    units
        .iter()
        .map(|u| {
            format!(
                "{} #{} {} bytes {:?} {:?} [{}..{}]",
                u.dir.as_str(),
                u.index,
                u.len,
                u.tls_type,
                u.text,
                u.started,
                u.finished
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn report(
    mode: Mode,
    units: &[Unit],
    matrix: &BTreeMap<(Class, Action), BTreeMap<String, usize>>,
    jobs: usize,
    reruns: &[String],
    took: Duration,
    full: bool,
) -> String {
    let bytes = |dir: Dir| {
        units
            .iter()
            .filter(|u| u.dir == dir)
            .map(|u| u.len)
            .sum::<usize>()
    };
    let mut out = format!(
        "### {} ({})\n\nSession: {} bytes client→server, {} bytes server→client, {} units. \
         {} runs ({} positions × 4 faults), {:.0} s, {} stall reruns. Split: the bytes before \
         the position in one write, the next {SPLIT_BYTES} one write each.\n\n\
         | offset class | fault | runs | outcome (kind @ step) |\n|---|---|---|---|\n",
        mode.name,
        if full { "every byte" } else { "sampled" },
        bytes(Dir::ToServer),
        bytes(Dir::ToClient),
        units.len(),
        jobs,
        jobs / 4,
        took.as_secs_f64(),
        reruns.len(),
    );
    for ((class, action), outcomes) in matrix {
        let runs: usize = outcomes.values().sum();
        let listed: Vec<String> = outcomes.iter().map(|(o, c)| format!("{o} ×{c}")).collect();
        out.push_str(&format!(
            "| {} | {} | {runs} | {} |\n",
            class.as_str(),
            action.as_str(),
            listed.join("; ")
        ));
    }
    for rerun in reruns.iter().take(10) {
        out.push_str(&format!("\nrerun: {rerun}"));
    }
    out
}

/// A fault in the middle of a message larger than the socket buffers can hold: the client is
/// still writing it when the connection fails, so the end of the message never went out and
/// the failure is a known one (not "outcome unknown"), at the DATA step; the message never
/// arrives, and the next send opens a new connection.
#[test]
fn a_fault_in_the_middle_of_a_large_message_fails_it_with_a_known_outcome() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for mode in [PLAIN, STARTTLS, IMPLICIT_TLS] {
        let env = Env::start(mode);
        mailport::pool::clear();
        // Where the message starts, from a recording of the small session.
        let recorded = run(&env, None, None, None, 0);
        expect_sent(&recorded.first, "recording").unwrap();
        drain(1).unwrap();
        let units = recorded.proxy.units();
        drop(recorded);
        let (client_labels, _) = labels::label(&units, mode.framing, mode.pipelining).unwrap();
        let body = client_labels
            .iter()
            .position(|l| l.class == Class::Body)
            .expect("a body in the recording");
        // About 160 KB into the message: 2,000 lines of plaintext, or 10 TLS records.
        let into = if mode.framing == Framing::Smtp && mode.security == Security::None {
            2_000
        } else {
            10
        };
        let mut large = message("<large@faults.test>");
        let line =
            b"A line of a large message, sent again and again to fill the socket buffers.\r\n";
        while large.len() < 20 * 1024 * 1024 {
            large.extend_from_slice(line);
        }
        for (n, action) in [Action::Reset, Action::Close, Action::Stall]
            .into_iter()
            .enumerate()
        {
            let fault = Fault {
                dir: Dir::ToServer,
                unit: body + into,
                byte: 3,
                action,
            };
            let proxy = FaultProxy::start(env.upstream, mode.framing, Some(fault), None);
            let config = env.config(&proxy, 100 + n as u64, action == Action::Stall);
            let mut a = Client::new(config.clone()).expect("client");
            let mut b = Client::new(config.clone()).expect("client");
            let envelope = Envelope::new(FROM, vec![TO.into()]).expect("envelope");
            let started = Instant::now();
            let err = a
                .send_bytes(&envelope, &large)
                .expect_err("the fault fails the send");
            let took = started.elapsed();
            let what = format!("{}: {}", mode.name, action.as_str());
            assert!(proxy.fired().is_some(), "{what}: the fault never fired");
            let want = if action == Action::Stall {
                Kind::Timeout
            } else {
                Kind::ConnectionClosed
            };
            assert_eq!(err.kind(), want, "{what}: {err}");
            assert_eq!(err.step(), Some(Step::Data), "{what}: {err}");
            assert!(
                !err.outcome_unknown(),
                "{what}: the message never went out whole: {err}"
            );
            assert!(
                took <= config.timeouts.send_total + MARGIN,
                "{what}: took {took:?}"
            );
            drop(a);
            let sent = send(
                &mut b,
                &proxy,
                format!("<large-{n}-next@faults.test>"),
                NORMAL_TOTAL,
            );
            expect_sent(&sent, &what).unwrap();
            assert_eq!(
                sent.connections, 2,
                "{what}: the next send opens a new connection"
            );
            drop(b);
            drain(1).unwrap();
        }
        let arrived: Vec<String> = env
            .server
            .messages()
            .iter()
            .filter_map(|m| message_id(&m.data))
            .collect();
        assert!(
            !arrived.iter().any(|id| id == "<large@faults.test>"),
            "{}: a message that failed half-way arrived",
            mode.name
        );
    }
}
