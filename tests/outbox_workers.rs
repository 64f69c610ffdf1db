//! Workers as separate processes on one spool (and, killed, on one MariaDB table). Four of them drain 10,000 entries with each
//! message arriving exactly once. A worker killed with SIGKILL at each step of a delivery loses
//! nothing, and sends a message a second time only in the window SMTP cannot close (after the
//! server's final reply, before the worker recorded it), where the record says it may have
//! been delivered.
//!
//! Each case enqueues a message, starts a worker process (this test binary again, running only
//! `worker_process`) against a server that stalls at one step, kills the worker there, then
//! delivers what is left with a fresh outbox against a working server, and counts the message
//! (by its Message-ID) at both servers.

mod common;
// Not in common/mod.rs: the CLI's tests include that module too, without the mysql crate.
#[path = "common/mariadb.rs"]
#[allow(
    dead_code,
    reason = "shared with tests/outbox_database.rs, which uses all of it"
)]
mod mariadb;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, unique_temp_dir};
use mailport::outbox::{Outbox, Policy, RunOptions, State};
use mailport::{Config, Message, Security};

/// Where the server stops answering, for the worker to be killed there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stall {
    /// Accept the connection and never greet: the worker has claimed the entry.
    Greeting,
    /// Read half of the message and wait.
    MidData,
    /// Read the whole message and never reply (the ambiguous window, server side).
    BeforeReply,
    /// Take the message (count it) and have the worker killed before it reads the 250: the
    /// window between the server's final reply and the worker's record of it.
    AfterReply,
    /// Before its 250, lock the entry's row (the database case), so that the worker reads the
    /// reply and its record then waits for the database: killed there, it is the window widened
    /// by one commit of the records (src/outbox/database/writer.rs).
    RecordWaiting,
    /// No stall: a working server.
    None,
}

/// Called by the server before its final 250, for [`Stall::RecordWaiting`].
type BeforeReply = Arc<dyn Fn() + Send + Sync>;

struct Server {
    port: u16,
    /// Message-IDs of the messages this server accepted with its final 250.
    accepted: Arc<Mutex<Vec<String>>>,
    /// Set when a connection reached the stall.
    stalled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start(stall: Stall) -> Server {
        Server::start_with(stall, Arc::new(|| {}))
    }

    fn start_with(stall: Stall, before_reply: BeforeReply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
        let stalled = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (a, s, st, c) = (
            accepted.clone(),
            stalled.clone(),
            stop.clone(),
            connections.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let (a, s, st, b) = (a.clone(), s.clone(), st.clone(), before_reply.clone());
                std::thread::spawn(move || serve(stream, stall, &a, &s, &st, &*b));
            }
        });
        Server {
            port,
            accepted,
            stalled,
            stop,
            connections,
        }
    }

    fn wait_stalled(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.stalled.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the worker never reached the stall"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn count(&self, message_id: &str) -> usize {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .filter(|id| id.as_str() == message_id)
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    stream: TcpStream,
    stall: Stall,
    accepted: &Mutex<Vec<String>>,
    stalled: &AtomicBool,
    stop: &AtomicBool,
    before_reply: &(dyn Fn() + Send + Sync),
) {
    let hold = |stalled: &AtomicBool| {
        stalled.store(true, Ordering::SeqCst);
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    if stall == Stall::Greeting {
        return hold(stalled);
    }
    let mut say = |text: &str| writer.write_all(text.as_bytes()).is_ok();
    if !say("220 crash.test ESMTP\r\n") {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let ok = match verb.as_str() {
            "EHLO" => say("250-crash.test\r\n250 8BITMIME\r\n"),
            "MAIL" | "RCPT" | "RSET" | "NOOP" => say("250 ok\r\n"),
            "QUIT" => {
                let _ = say("221 bye\r\n");
                return;
            }
            "DATA" => {
                if !say("354 go ahead\r\n") {
                    return;
                }
                let mut data = Vec::new();
                let mut lines = 0;
                loop {
                    let mut l = Vec::new();
                    if reader.read_until(b'\n', &mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    lines += 1;
                    if stall == Stall::MidData && lines == 5 {
                        return hold(stalled);
                    }
                    if l == b".\r\n" {
                        break;
                    }
                    data.extend_from_slice(&l);
                }
                if stall == Stall::BeforeReply {
                    return hold(stalled);
                }
                let text = String::from_utf8_lossy(&data);
                let id = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Message-ID: "))
                    .unwrap_or("")
                    .to_string();
                accepted.lock().unwrap().push(id);
                if stall == Stall::AfterReply {
                    // Taken: the 250 would reach a worker that is already dead.
                    hold(stalled);
                    let _ = say("250 2.0.0 queued\r\n");
                    return;
                }
                if stall == Stall::RecordWaiting {
                    before_reply();
                    let replied = say("250 2.0.0 queued\r\n");
                    stalled.store(true, Ordering::SeqCst);
                    replied
                } else {
                    say("250 2.0.0 queued\r\n")
                }
            }
            _ => say("500 unknown\r\n"),
        };
        if !ok {
            return;
        }
    }
}

fn config(port: u16) -> Config {
    let mut config = Config::new("127.0.0.1");
    config.port = port;
    config.security = Security::None;
    config.helo_name = Some("worker.test".into());
    config.timeouts.command = Duration::from_secs(30);
    config.timeouts.data_end = Duration::from_secs(30);
    config
}

/// A short lease, so that in a database a killed worker's entry is taken over soon.
const LEASE: Duration = Duration::from_secs(1);

fn policy() -> Policy {
    Policy {
        min_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        lease: LEASE,
        ..Policy::default()
    }
}

/// Not a test of its own: the worker process the other tests start and kill.
#[test]
fn worker_process() {
    let (Ok(spool), Ok(port)) = (
        std::env::var("MAILPORT_CRASH_SPOOL"),
        std::env::var("MAILPORT_CRASH_PORT"),
    ) else {
        return;
    };
    let mut outbox = Outbox::open(&spool, vec![config(port.parse().unwrap())]).unwrap();
    outbox.set_policy(policy());
    outbox.run(&RunOptions::default()).unwrap();
}

fn start_worker(spool: impl AsRef<std::ffi::OsStr>, port: u16) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker_process", "--test-threads=1", "--quiet"])
        .env("MAILPORT_CRASH_SPOOL", spool)
        .env("MAILPORT_CRASH_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

struct Case {
    /// How many times the message arrived, counting both servers.
    delivered: usize,
    maybe_delivered: bool,
}

/// Where the entries live for a case: a new spool, or a new table of the shared database.
enum Store {
    Spool,
    Database,
}

fn kill_at(stall: Stall) -> Case {
    kill_in(Store::Spool, stall)
}

fn kill_in(store: Store, stall: Stall) -> Case {
    static TABLES: AtomicUsize = AtomicUsize::new(0);
    let spool = unique_temp_dir();
    let location = match store {
        Store::Spool => spool.display().to_string(),
        Store::Database => mariadb::TestDatabase::shared().url(&format!(
            "killed_{}_{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::SeqCst)
        )),
    };
    let table = location
        .split("table=")
        .nth(1)
        .and_then(|t| t.split('&').next())
        .unwrap_or_default()
        .to_string();
    let locker = (stall == Stall::RecordWaiting).then(|| RowLocker::new(&table));
    let first = match &locker {
        Some(locker) => Server::start_with(stall, locker.hook()),
        None => Server::start(stall),
    };
    let outbox = Outbox::open(&location, vec![]).unwrap();
    let mut m = Message::new();
    m.set_from("shop@example.com").unwrap();
    m.add_to("ann@example.org").unwrap();
    m.set_subject(&format!("killed at {stall:?}")).unwrap();
    m.set_text(&"a line of the message\n".repeat(40)).unwrap();
    let id = outbox.enqueue(&m).unwrap();
    let message_id = outbox.get(&id).unwrap().message_id.unwrap();

    let mut worker = start_worker(&location, first.port);
    first.wait_stalled();
    if let Some(locker) = &locker {
        // The worker has the 250; kill it once its record waits for the row.
        locker.wait_for_a_waiting_update();
    }
    worker.kill().unwrap();
    drop(locker);
    let status = worker.wait().unwrap();
    assert!(!status.success(), "the worker was killed: {status:?}");
    let mut stderr = String::new();
    worker
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    // Nothing is lost: the entry is still there, and a fresh worker delivers it.
    let left = outbox.get(&id).unwrap();
    assert!(
        matches!(left.state, State::Sending | State::Sent),
        "{stall:?}: {left:?}\n{stderr}"
    );
    let second = Server::start(Stall::None);
    if matches!(store, Store::Database) {
        // The dead worker's lease must run out first.
        std::thread::sleep(LEASE + Duration::from_millis(1100));
    }
    let mut recovery = Outbox::open(&location, vec![config(second.port)]).unwrap();
    recovery.set_policy(policy());
    recovery.run(&RunOptions::default()).unwrap();
    let record = recovery.get(&id).unwrap();
    assert_eq!(record.state, State::Sent, "{stall:?}: {record:?}");
    assert!(first.connections.load(Ordering::SeqCst) >= 1);
    let _ = std::fs::remove_dir_all(&spool);
    Case {
        delivered: first.count(&message_id) + second.count(&message_id),
        maybe_delivered: record.maybe_delivered,
    }
}

#[test]
fn a_worker_killed_after_its_claim_loses_nothing() {
    let case = kill_at(Stall::Greeting);
    assert_eq!(case.delivered, 1);
}

#[test]
fn a_worker_killed_mid_data_loses_nothing_and_sends_once() {
    let case = kill_at(Stall::MidData);
    assert_eq!(case.delivered, 1);
}

#[test]
fn a_worker_killed_while_the_server_holds_its_reply_sends_once_and_says_it_may_have() {
    // This server never took the message; a real one might have: the record says so.
    let case = kill_at(Stall::BeforeReply);
    assert_eq!(case.delivered, 1);
    assert!(case.maybe_delivered);
}

#[test]
fn a_worker_killed_between_the_final_reply_and_its_record_is_the_one_duplicate_flagged() {
    // The documented window: the server took the message, the worker died before recording
    // it. The message goes again (the outbox's default), and the record says it may have been
    // delivered before.
    let case = kill_at(Stall::AfterReply);
    assert_eq!(case.delivered, 2);
    assert!(case.maybe_delivered);
}

/// Four worker processes drain 10,000 entries from `location`: each Message-ID arrives once,
/// every record shows one attempt and no doubt.
fn four_workers_drain_ten_thousand(location: &str) {
    const ENTRIES: usize = 10_000;
    const WORKERS: usize = 4;
    const ENQUEUERS: usize = 16;
    let server = TestServer::start(&["--mode", "plain"]);
    let outbox = Arc::new(Outbox::open(location, vec![]).unwrap());
    let started = Instant::now();
    let threads: Vec<_> = (0..ENQUEUERS)
        .map(|t| {
            let outbox = outbox.clone();
            std::thread::spawn(move || {
                for n in (t..ENTRIES).step_by(ENQUEUERS) {
                    let mut m = Message::new();
                    m.set_from("shop@example.com").unwrap();
                    m.add_to("ann@example.org").unwrap();
                    m.set_subject(&format!("entry {n}")).unwrap();
                    m.set_text("x\n").unwrap();
                    outbox.enqueue(&m).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let enqueued = started.elapsed();

    let started = Instant::now();
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|_| start_worker(location, server.port))
        .collect();
    for worker in &mut workers {
        let status = worker.wait().unwrap();
        assert!(status.success(), "a worker failed: {status:?}");
    }
    eprintln!(
        "{ENTRIES} entries: enqueued by {ENQUEUERS} threads in {:.1} s, drained by {WORKERS} \
         workers in {:.1} s",
        enqueued.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    let mut counts = std::collections::HashMap::new();
    for message in server.messages() {
        let text = String::from_utf8_lossy(&message.data).into_owned();
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap_or("")
            .to_string();
        *counts.entry(id).or_insert(0usize) += 1;
    }
    assert_eq!(counts.len(), ENTRIES, "every message arrived");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let sent = outbox
        .list(&mailport::outbox::Filter {
            states: vec![State::Sent],
            limit: None,
        })
        .unwrap();
    assert_eq!(sent.len(), ENTRIES);
    assert!(
        sent.iter()
            .all(|r| !r.maybe_delivered && r.attempts.len() == 1)
    );
}

#[test]
fn four_workers_drain_ten_thousand_spool_entries_and_each_message_arrives_once() {
    let spool = unique_temp_dir();
    four_workers_drain_ten_thousand(&spool.display().to_string());
    let _ = std::fs::remove_dir_all(&spool);
}

#[test]
fn four_workers_drain_ten_thousand_rows_of_one_table_and_each_message_arrives_once() {
    four_workers_drain_ten_thousand(&mariadb::TestDatabase::shared().url("workers"));
}

/// Not a test of its own: enqueues into a spool on a tiny file system (see the test below).
#[test]
fn enqueue_process() {
    let (Ok(spool), Ok(phase)) = (
        std::env::var("MAILPORT_FULL_SPOOL"),
        std::env::var("MAILPORT_FULL_PHASE"),
    ) else {
        return;
    };
    let outbox = Outbox::spool(&spool, vec![]).unwrap();
    let message = |size: usize| {
        let mut m = Message::new();
        m.set_from("shop@example.com").unwrap();
        m.add_to("ann@example.org").unwrap();
        m.attach_bytes("big.bin", None, vec![7u8; size]).unwrap();
        m
    };
    let leftovers = || {
        // tmp/ and its subdirectories hold no file.
        let mut dirs = vec![Path::new(&spool).join("tmp")];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                if entry.path().is_dir() {
                    dirs.push(entry.path());
                } else {
                    files.push(entry.path());
                }
            }
        }
        assert!(
            files.is_empty(),
            "half-written files left in tmp/: {files:?}"
        );
    };
    match phase.as_str() {
        "full" => {
            outbox.enqueue(&message(1000)).unwrap();
            let err = outbox.enqueue(&message(400_000)).unwrap_err();
            let text = err.message();
            assert!(text.contains("No space left on device"), "{text}");
            assert!(text.contains(&spool), "{text}");
            leftovers();
            assert_eq!(outbox.list(&Default::default()).unwrap().len(), 1);
            // Space for a small one is still there: the failed one freed its bytes.
            outbox.enqueue(&message(1000)).unwrap();
        }
        "read-only" => {
            let err = outbox.enqueue(&message(10)).unwrap_err();
            assert!(err.message().contains("Read-only file system"), "{err}");
            assert_eq!(outbox.list(&Default::default()).unwrap().len(), 2);
        }
        other => panic!("unknown phase {other}"),
    }
    println!("PHASE-OK {phase}");
}

/// A full disk, then a read-only one: enqueue fails naming the spool and the cause, and
/// nothing half-written stays. The spool lives on a 256 KiB tmpfs in a mount namespace of its
/// own (`unshare`), so the test needs no privileges and leaves no mount behind.
#[test]
fn enqueue_on_a_full_or_read_only_disk_fails_clearly_and_leaves_nothing() {
    let mount = unique_temp_dir();
    std::fs::create_dir_all(&mount).unwrap();
    let spool = mount.join("spool");
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "set -e; mount -t tmpfs -o size=256k tmpfs '{m}'; \
         MAILPORT_FULL_PHASE=full '{exe}' --exact enqueue_process --nocapture --test-threads=1; \
         mount -o remount,ro '{m}'; \
         MAILPORT_FULL_PHASE=read-only '{exe}' --exact enqueue_process --nocapture --test-threads=1",
        m = mount.display(),
        exe = exe.display()
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env("MAILPORT_FULL_SPOOL", &spool)
        .output()
        .expect("unshare (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("PHASE-OK full"), "{stdout}\n{stderr}");
    assert!(stdout.contains("PHASE-OK read-only"), "{stdout}\n{stderr}");
    let _ = std::fs::remove_dir_all(&mount);
}

/// Holds the row of the one entry of a table locked, from the server's hook until dropped.
struct RowLocker {
    lock: std::sync::mpsc::SyncSender<()>,
    locked: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
    release: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    table: String,
}

impl RowLocker {
    fn new(table: &str) -> RowLocker {
        use mysql::prelude::Queryable;
        let (lock, lock_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let (locked_tx, locked) = std::sync::mpsc::sync_channel::<()>(1);
        let (release, release_rx) = std::sync::mpsc::sync_channel::<()>(1);
        let sql = format!("SELECT `id` FROM `{table}` FOR UPDATE");
        let thread = std::thread::spawn(move || {
            let mut conn = mariadb::TestDatabase::shared().conn();
            if lock_rx.recv().is_err() {
                return;
            }
            let mut tx = conn.start_transaction(mysql::TxOpts::default()).unwrap();
            tx.query_drop(&sql).unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv();
            tx.rollback().unwrap();
        });
        RowLocker {
            lock,
            locked: Arc::new(Mutex::new(locked)),
            release: Some(release),
            thread: Some(thread),
            table: table.to_string(),
        }
    }

    /// For the server: lock the row, and return once it is locked.
    fn hook(&self) -> BeforeReply {
        let (lock, locked) = (self.lock.clone(), self.locked.clone());
        Arc::new(move || {
            lock.send(()).unwrap();
            locked.lock().unwrap().recv().unwrap();
        })
    }

    fn wait_for_a_waiting_update(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let waiting = format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
             WHERE `INFO` LIKE 'UPDATE `{}`%' AND `STATE` = 'Updating'",
            self.table
        );
        while mariadb::TestDatabase::shared().value::<i64>(&waiting) != Some(1) {
            assert!(
                Instant::now() < deadline,
                "the worker's record never waited for the row"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RowLocker {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn in_a_database_a_killed_worker_loses_nothing_and_sends_twice_only_in_the_window() {
    for stall in [Stall::Greeting, Stall::MidData, Stall::BeforeReply] {
        let case = kill_in(Store::Database, stall);
        assert_eq!(case.delivered, 1, "{stall:?}");
    }
    let case = kill_in(Store::Database, Stall::AfterReply);
    assert_eq!(case.delivered, 2);
    assert!(case.maybe_delivered);
    // The worker read the 250 and its record waited for the database (records are committed
    // while the worker goes on): the same window, one commit wider.
    let case = kill_in(Store::Database, Stall::RecordWaiting);
    assert_eq!(case.delivered, 2);
    assert!(case.maybe_delivered);
}
