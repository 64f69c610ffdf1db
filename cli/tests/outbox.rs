//! The outbox from the command line: `mailport send --outbox` and `mailport outbox run|list|show|
//! retry|cancel|prune`, run as the built binary against aiosmtpd (tests/servers/, through the
//! root crate's test support).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, refused_port, unique_temp_dir};
use serde_json::Value;
use support::{BIN, Run, drain};

const USER: &str = "mailer";
const PASSWORD: &str = "b4ckup-Pa55";
const BACKUP_PASSWORD_1: &str = "MAILPORT_BACKUP_PASSWORD_1";

/// Run `mailport args…` with `env` added and no backup password unless `env` gives one.
fn mailport_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    support::run_mailport(args, env, &[BACKUP_PASSWORD_1], None)
}

fn mailport(args: &[&str]) -> Run {
    mailport_with(args, &[])
}

/// A spool directory removed at the end of the test (kept when it fails, to look at).
struct Spool(PathBuf);

impl Spool {
    fn new() -> Spool {
        Spool(unique_temp_dir())
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 path")
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `mailport send args… --from shop@example.com --to ann@example.org`.
fn send(args: &[&str]) -> Run {
    let mut all = vec!["send"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--from", "shop@example.com", "--to", "ann@example.org"]);
    mailport(&all)
}

/// `mailport send --outbox SPOOL` of a message to `to`; its entry id.
fn enqueue(spool: &Spool, subject: &str, to: &str) -> String {
    let run = mailport(&[
        "send",
        "--outbox",
        spool.path(),
        "--from",
        "Shop <shop@example.com>",
        "--to",
        to,
        "--subject",
        subject,
        "--header",
        "X-Order: 42",
    ]);
    run.expect(0);
    let id = run.stdout.trim().to_string();
    assert!(is_entry_id(&id), "{:?}", run.stdout);
    id
}

/// The form of an entry id: 13 digits, a dash, 16 hex digits.
fn is_entry_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(ms, random)| {
        ms.len() == 13
            && ms.bytes().all(|b| b.is_ascii_digit())
            && random.len() == 16
            && random.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// `outbox run --spool SPOOL --server SERVER --security none --timeout 20`, then `extra`.
fn run_args(spool: &Spool, server: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "outbox",
        "run",
        "--spool",
        spool.path(),
        "--server",
        server,
        "--security",
        "none",
        "--timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    args.into_iter().map(str::to_string).collect()
}

/// `outbox run --spool SPOOL` through the plain server `server`, plus `extra`.
fn run_plain(spool: &Spool, server: &TestServer, extra: &[&str]) -> Run {
    let target = format!("127.0.0.1:{}", server.port);
    let mut more = vec!["--helo", "client.test"];
    more.extend_from_slice(extra);
    mailport(&refs(&run_args(spool, &target, &more)))
}

/// `args` as the `&str`s [`mailport`] takes.
fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", run.stdout, run.stderr))
}

fn show_json(spool: &Spool, id: &str) -> Value {
    json(mailport(&["outbox", "show", id, "--spool", spool.path(), "--json"]).expect(0))
}

/// `outbox show ID`, which must mention each of `needles`.
fn show_says(spool: &Spool, id: &str, needles: &[&str]) {
    let page = mailport(&["outbox", "show", id, "--spool", spool.path()]);
    page.expect(0);
    for needle in needles {
        assert!(page.stdout.contains(needle), "{needle:?}:\n{}", page.stdout);
    }
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

#[test]
fn send_outbox_then_run_delivers_the_message_as_composed() {
    let server = TestServer::start(&["--mode", "plain", "--queue-id"]);
    let spool = Spool::new();
    let id = enqueue(&spool, "Order 42", "ann@example.org");
    // Nothing was sent yet: the message waits in the spool.
    assert!(server.messages().is_empty());
    assert_eq!(server.connections(), 0);
    let queued = show_json(&spool, &id);
    assert_eq!(queued["state"], "queued");
    let message_id = queued["message_id"].as_str().unwrap().to_string();

    let run = run_plain(&spool, &server, &[]);
    run.expect(0);
    assert_eq!(
        run.stdout.trim(),
        "outbox run: 1 sent, 0 deferred, 0 failed, 0 held"
    );
    // Standard error is not a terminal here: a plain line per entry.
    assert!(
        run.stderr.contains(&format!("{id} sent: 250")),
        "{}",
        run.stderr
    );
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "shop@example.com");
    assert_eq!(got[0].rcpt_tos, ["ann@example.org"]);
    assert_eq!(got[0].helo.as_deref(), Some("client.test"));
    let data = String::from_utf8_lossy(&got[0].data);
    assert_eq!(header(&data, "Subject"), Some("Order 42"));
    assert_eq!(header(&data, "X-Order"), Some("42"));
    assert_eq!(header(&data, "Message-ID"), Some(message_id.as_str()));

    let sent = show_json(&spool, &id);
    assert_eq!(sent["state"], "sent");
    assert_eq!(sent["delivered_by"], 0);
    assert_eq!(
        sent["attempts"][0]["queue_id"],
        got[0].queue_id.as_deref().unwrap()
    );
    show_says(
        &spool,
        &id,
        &[
            "state:        sent",
            "ann@example.org",
            "primary (127.0.0.1:",
            "queue id ",
        ],
    );

    // Nothing is left to do.
    let again = run_plain(&spool, &server, &["--once", "--json"]);
    assert_eq!(json(again.expect(0))["sent"], 0);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn send_outbox_json_prints_the_queued_record() {
    let spool = Spool::new();
    let run = send(&[
        "--outbox",
        spool.path(),
        "--json",
        "--bcc",
        "audit@example.org",
    ]);
    let record = json(run.expect(0));
    assert!(is_entry_id(record["id"].as_str().unwrap()), "{record}");
    assert_eq!(record["state"], "queued");
    assert_eq!(record["envelope_from"], "shop@example.com");
    let recipients: Vec<&str> = record["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(recipients, ["ann@example.org", "audit@example.org"]);
    // --outbox needs no server, and takes no connection option; --json goes with --outbox.
    send(&["--outbox", spool.path(), "--server", "127.0.0.1:25"])
        .expect(2)
        .stderr_says(&["--server", "--outbox"]);
    send(&["--json", "--server", "127.0.0.1:25"])
        .expect(2)
        .stderr_says(&["--outbox"]);
}

#[test]
fn a_refused_primary_delivers_via_the_backup_and_the_summary_says_so() {
    let auth = format!("{USER}:{PASSWORD}");
    let backup = TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        &auth,
        "--hostname",
        "localhost",
    ]);
    let spool = Spool::new();
    let first = enqueue(&spool, "one", "ann@example.org");
    enqueue(&spool, "two", "bob@example.org");
    let refused = refused_port();
    let primary = format!("127.0.0.1:{refused}");
    let backup_url = format!("smtp+starttls://{USER}@localhost:{}", backup.port);
    let ca = backup.ca.to_str().unwrap();
    let args = |extra: &[&str]| {
        let mut more = vec!["--backup", backup_url.as_str(), "--ca-file", ca];
        more.extend_from_slice(extra);
        run_args(&spool, &primary, &more)
    };

    // Without its password in MAILPORT_BACKUP_PASSWORD_1: refused before anything is tried.
    mailport(&refs(&args(&[])))
        .expect(3)
        .stderr_says(&[BACKUP_PASSWORD_1, "backup 1"]);
    assert_eq!(backup.connections(), 0);

    // One entry (--limit 1): a plain summary.
    let limited = args(&["--limit", "1"]);
    let run = mailport_with(&refs(&limited), &[(BACKUP_PASSWORD_1, PASSWORD)]);
    run.expect(0).stderr_says(&[&format!(
        "connection primary (127.0.0.1:{refused}) is failing"
    )]);
    assert_eq!(
        run.stdout.trim(),
        "outbox run: 1 sent (1 via a backup connection), 0 deferred, 0 failed, 0 held"
    );
    // The rest: the JSON summary.
    let rest = args(&["--json"]);
    let run = mailport_with(&refs(&rest), &[(BACKUP_PASSWORD_1, PASSWORD)]);
    let summary = json(run.expect(0));
    assert_eq!(summary["sent"], 1, "{summary}");
    assert_eq!(summary["via_backup"], 1, "{summary}");
    assert_eq!(summary["passes"], 1, "{summary}");
    assert_eq!(summary["stopped_by_signal"], false, "{summary}");

    let got = backup.messages();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|m| m.tls && m.auth_user.as_deref() == Some(USER))
    );
    let record = show_json(&spool, &first);
    assert_eq!(record["delivered_by"], 1);
    assert_eq!(record["attempts"][0]["kind"], "connect_refused");
    show_says(&spool, &first, &["delivered by: backup 1"]);
}

#[test]
fn a_backup_url_with_a_password_or_a_password_without_a_user_is_refused() {
    let spool = Spool::new();
    let base = |backup: &str| run_args(&spool, "127.0.0.1:2525", &["--backup", backup]);
    mailport(&refs(&base("smtp://me:secret@backup.example.com:587")))
        .expect(2)
        .stderr_says(&["password in the URL", "MAILPORT_BACKUP_PASSWORD_N"]);
    mailport(&refs(&base("backup.example.com")))
        .expect(2)
        .stderr_says(&["--backup"]);
    mailport_with(
        &refs(&base("smtp+plain://127.0.0.1:2526")),
        &[(BACKUP_PASSWORD_1, "x")],
    )
    .expect(3)
    .stderr_says(&[BACKUP_PASSWORD_1, "no user name"]);
}

#[test]
fn a_temporary_refusal_is_deferred_and_list_show_retry_cancel_work() {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let spool = Spool::new();
    let id = enqueue(&spool, "later", "busy@example.org");
    let summary = json(run_plain(&spool, &server, &["--json"]).expect(0));
    assert_eq!(summary["deferred"], 1, "{summary}");
    assert_eq!(summary["sent"], 0, "{summary}");

    // The table: the entry, deferred for 5 minutes (the default backoff), and why.
    let list = mailport(&["outbox", "list", "--spool", spool.path()]);
    list.expect(0);
    let mut lines = list.stdout.lines();
    let head = lines.next().unwrap();
    assert!(
        head.starts_with("ID  ") && head.contains("NEXT ATTEMPT") && head.ends_with("LAST ATTEMPT"),
        "{head}"
    );
    let row = lines.next().expect("one row");
    assert!(row.starts_with(&id), "{row}");
    for needle in ["deferred", "busy@example.org", "450"] {
        assert!(row.contains(needle), "{needle:?} not in {row:?}");
    }
    // The five-minute backoff, shown as "in 5m" or, when `list` ran a second after the
    // attempt (a loaded machine), "in 4m 59s".
    assert!(
        row.contains("in 5m") || row.contains("in 4m 5"),
        "no five-minute backoff in {row:?}"
    );
    assert_eq!(lines.next(), None);
    let deferred = mailport(&[
        "outbox",
        "list",
        "--spool",
        spool.path(),
        "--state",
        "deferred",
        "--json",
    ]);
    let deferred = json(deferred.expect(0));
    assert_eq!(deferred.as_array().unwrap().len(), 1);
    assert_eq!(deferred[0]["id"], id.as_str());
    let sent = mailport(&[
        "outbox",
        "list",
        "--spool",
        spool.path(),
        "--state",
        "sent,failed",
        "--json",
    ]);
    assert_eq!(json(sent.expect(0)), Value::Array(vec![]));
    let none = mailport(&["outbox", "list", "--spool", spool.path(), "--state", "held"]);
    assert_eq!(none.expect(0).stdout, "no entries\n");

    // show: the attempt and the server's reply.
    show_says(
        &spool,
        &id,
        &[
            "state:        deferred, next attempt",
            "retries:      1",
            "busy@example.org  pending  450",
            "1. ",
            "temporary failure",
            "reply 450",
        ],
    );

    // retry: due now; the next run tries it again (and it is deferred again).
    let retried = mailport(&["outbox", "retry", &id, "--spool", spool.path()]);
    assert!(
        retried.expect(0).stdout.contains("queued"),
        "{}",
        retried.stdout
    );
    let summary = json(run_plain(&spool, &server, &["--json"]).expect(0));
    assert_eq!(summary["deferred"], 1, "{summary}");
    assert_eq!(server.events_named("RCPT").len(), 2);
    let record = show_json(&spool, &id);
    assert_eq!(record["retries"], 2);
    assert_eq!(record["attempts"].as_array().unwrap().len(), 2);

    // cancel, then neither cancel nor retry: status 14.
    let cancelled = mailport(&["outbox", "cancel", &id, "--spool", spool.path(), "--json"]);
    assert_eq!(json(cancelled.expect(0))["state"], "cancelled");
    mailport(&["outbox", "cancel", &id, "--spool", spool.path()])
        .expect(14)
        .stderr_says(&["already cancelled"]);
    mailport(&["outbox", "retry", &id, "--spool", spool.path()])
        .expect(14)
        .stderr_says(&["nothing to retry"]);
    // A cancelled entry is not tried.
    let summary = json(run_plain(&spool, &server, &["--json"]).expect(0));
    assert_eq!(summary["deferred"], 0, "{summary}");
    assert_eq!(server.events_named("RCPT").len(), 2);

    // An id that names no entry: 13; one that is not an id at all: 2.
    let unknown = "1764979200000-0123456789abcdef";
    for command in ["show", "retry", "cancel"] {
        mailport(&["outbox", command, unknown, "--spool", spool.path()])
            .expect(13)
            .stderr_says(&["no entry", unknown]);
    }
    mailport(&[
        "outbox",
        "show",
        "../../etc/passwd",
        "--spool",
        spool.path(),
    ])
    .expect(2)
    .stderr_says(&["not an entry id"]);
}

#[test]
fn prune_removes_what_finished_longer_ago_than_asked() {
    let spool = Spool::new();
    let finished = enqueue(&spool, "never", "ann@example.org");
    let waiting = enqueue(&spool, "waiting", "bob@example.org");
    mailport(&["outbox", "cancel", &finished, "--spool", spool.path()]).expect(0);
    let prune = |older_than: &str, extra: &[&str]| {
        let mut args = vec!["outbox", "prune", "--spool", spool.path()];
        args.extend_from_slice(&["--older-than", older_than]);
        args.extend_from_slice(extra);
        mailport(&args)
    };
    assert_eq!(
        prune("30d", &[]).expect(0).stdout.trim(),
        "removed 0 entries (sent, failed or cancelled) last active more than 30d ago"
    );
    // Records keep whole seconds: one second later the cancelled entry is older than 0s.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(json(prune("0", &["--json"]).expect(0))["removed"], 1);
    let left = json(mailport(&["outbox", "list", "--spool", spool.path(), "--json"]).expect(0));
    let ids: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [waiting.as_str()], "a queued entry is never pruned");
}

#[test]
fn bad_durations_and_locations_get_clear_errors_and_their_status() {
    let spool = Spool::new();
    let run_with = |extra: &[&str]| mailport(&refs(&run_args(&spool, "127.0.0.1:2525", extra)));
    for (flag, value) in [
        ("--min-backoff", "5x"),
        ("--max-backoff", "1.5h"),
        ("--lifetime", "5 days"),
        ("--min-backoff", "-1m"),
    ] {
        run_with(&[&format!("{flag}={value}")])
            .expect(2)
            .stderr_says(&[flag, "is not a duration", "30s, 5m, 1h, 5d"]);
    }
    run_with(&["--lifetime", "9999d"])
        .expect(2)
        .stderr_says(&["too long"]);
    run_with(&["--min-backoff", "2h", "--max-backoff", "1h"])
        .expect(2)
        .stderr_says(&["--min-backoff", "--max-backoff"]);
    run_with(&["--once", "--watch"]).expect(2);
    mailport(&[
        "outbox",
        "prune",
        "--spool",
        spool.path(),
        "--older-than",
        "30 days",
    ])
    .expect(2)
    .stderr_says(&["--older-than", "is not a duration"]);
    // Durations that are fine: the run starts (and finds nothing to do).
    let run = run_with(&[
        "--min-backoff",
        "30s",
        "--max-backoff",
        "90",
        "--lifetime",
        "5d",
        "--json",
    ]);
    assert_eq!(json(run.expect(0))["sent"], 0);

    // A spool where a file stands: status 12, naming the path.
    let dir = unique_temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("not-a-directory");
    std::fs::write(&file, b"x").unwrap();
    let file = file.to_str().unwrap();
    for args in [
        vec!["outbox", "list", "--spool", file],
        vec!["outbox", "prune", "--spool", file, "--older-than", "1d"],
        vec![
            "send",
            "--outbox",
            file,
            "--from",
            "a@example.com",
            "--to",
            "b@example.org",
        ],
    ] {
        mailport(&args)
            .expect(12)
            .stderr_says(&["outbox spool", file, "cannot create"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    // A URL for --spool, a path for --database: usage errors.
    mailport(&["outbox", "list", "--spool", "mysql://db.example.com/mail"])
        .expect(2)
        .stderr_says(&["--database"]);
    mailport(&["outbox", "list", "--database", spool.path()])
        .expect(2)
        .stderr_says(&["mysql://"]);
    mailport(&["outbox", "list"]).expect(2);
    mailport(&[
        "outbox",
        "list",
        "--spool",
        spool.path(),
        "--database",
        "mysql://db/mail",
    ])
    .expect(2);
}

#[test]
fn outbox_help_documents_the_flags_and_the_exit_statuses() {
    let run = mailport(&["outbox", "run", "--help"]);
    run.expect(0);
    for needle in [
        "--spool",
        "--database",
        "--once",
        "--watch",
        "--limit",
        "--min-backoff",
        "--max-backoff",
        "--lifetime",
        "--server",
        "--security",
        "--user",
        "--password-env",
        "--ca-file",
        "--backup",
        "MAILPORT_BACKUP_PASSWORD_1",
        "--json",
        "12  outbox",
        "13  outbox",
        "14  outbox",
        "11  check: no port works",
    ] {
        assert!(
            run.stdout.contains(needle),
            "outbox run --help lacks {needle}"
        );
    }
    for (sub, flags) in [
        ("list", &["--state", "--limit", "--json"][..]),
        ("show", &["<ID>", "--json"][..]),
        ("retry", &["<ID>"][..]),
        ("cancel", &["<ID>"][..]),
        ("prune", &["--older-than"][..]),
    ] {
        let run = mailport(&["outbox", sub, "--help"]);
        run.expect(0);
        for needle in flags
            .iter()
            .chain(&["--spool", "--database", "Exit status:"])
        {
            assert!(
                run.stdout.contains(needle),
                "outbox {sub} --help lacks {needle}"
            );
        }
    }
    let run = mailport(&["send", "--help"]);
    assert!(run.expect(0).stdout.contains("--outbox <DIR|URL>"));
}

/// Send SIGTERM to `pid`.
fn terminate(pid: u32) {
    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: kill(2) with a pid this test spawned and has not reaped yet.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

#[test]
fn watch_delivers_what_is_enqueued_while_it_runs_and_stops_cleanly_on_sigterm() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let early = enqueue(&spool, "before", "ann@example.org");
    let mut child = Command::new(BIN)
        .args(["outbox", "run", "--watch", "--spool", spool.path()])
        .args(["--server", &format!("127.0.0.1:{}", server.port)])
        .args(["--security", "none", "--timeout", "20"])
        .env_remove(BACKUP_PASSWORD_1)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let wait_for = |count: usize| {
        let started = Instant::now();
        while server.messages().len() < count {
            assert!(
                started.elapsed() < support::WAIT,
                "{count} message(s) not delivered in time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(1);
    // Enqueued while it waits: sent at its next pass (every 5 s).
    let late = enqueue(&spool, "while watching", "bob@example.org");
    wait_for(2);
    assert_eq!(show_json(&spool, &late)["state"], "sent");
    terminate(child.id());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("--watch did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert_eq!(
        status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.starts_with("outbox run: 2 sent, 0 deferred, 0 failed, 0 held in "),
        "{stdout}"
    );
    for needle in [
        format!("{early} sent: 250"),
        format!("{late} sent: 250"),
        "stopping once the entries being sent are done".to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle:?} not in:\n{stderr}");
    }
    assert_eq!(server.messages().len(), 2);
}

/// A throwaway mariadbd (tests/servers/mariadb_server.py); stopped when its stdin closes.
struct Database {
    child: std::process::Child,
    /// `mysql://USER@localhost/DATABASE?socket=…`, without the password.
    url: String,
    password: String,
}

impl Database {
    fn start() -> Database {
        use std::io::BufRead;
        let dir = unique_temp_dir();
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/servers/mariadb_server.py"
            ))
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 tests/servers/mariadb_server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(line.strip_prefix("READY ").expect(&line)).unwrap();
        let field = |key: &str| ready[key].as_str().unwrap().to_string();
        Database {
            url: format!(
                "mysql://{}@localhost/{}?socket={}&table=cli_outbox",
                field("user"),
                field("database"),
                field("socket")
            ),
            password: field("password"),
            child,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn a_database_outbox_takes_its_password_from_the_environment_never_the_url() {
    let db = Database::start();
    let server = TestServer::start(&["--mode", "plain"]);
    let env = [("MAILPORT_DATABASE_PASSWORD", db.password.as_str())];
    let sent = mailport_with(
        &[
            "send",
            "--outbox",
            &db.url,
            "--from",
            "shop@example.com",
            "--to",
            "ann@example.org",
            "--subject",
            "from the database",
        ],
        &env,
    );
    sent.expect(0);
    let id = sent.stdout.trim().to_string();
    assert!(is_entry_id(&id), "{}", sent.stdout);
    let target = format!("127.0.0.1:{}", server.port);
    mailport_with(
        &[
            "outbox",
            "run",
            "--database",
            &db.url,
            "--server",
            &target,
            "--security",
            "none",
            "--helo",
            "client.test",
        ],
        &env,
    )
    .expect(0);
    assert_eq!(server.messages().len(), 1);

    // A password written into the URL is refused before anything is opened.
    let with_password = db.url.replacen("@", &format!(":{}@", db.password), 1);
    let refused = mailport_with(&["outbox", "list", "--database", &with_password], &env);
    refused
        .expect(2)
        .stderr_says(&["MAILPORT_DATABASE_PASSWORD"]);
    assert!(!refused.stderr.contains(&db.password), "{}", refused.stderr);
    // A wrong one: the store's status, and the password nowhere.
    let wrong = mailport_with(
        &["outbox", "list", "--database", &db.url],
        &[("MAILPORT_DATABASE_PASSWORD", "not-the-Pa55")],
    );
    wrong.expect(12);
    assert!(!wrong.stderr.contains("not-the-Pa55"), "{}", wrong.stderr);
}
