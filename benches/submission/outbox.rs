//! S6: the outbox on a spool directory and on MariaDB, beside a direct send in the same run and
//! to the same sink: how fast messages are made durable (enqueue: each synced to disk, or
//! committed, before it returns), and how fast workers deliver them (drain), as messages per
//! second.
//!
//! In process, on threads: enqueue from 1 and from 16 threads (a web server's workers), drain
//! by 1 and by 4 workers, each an `Outbox` of its own on the same store, so the entries are
//! shared out by their claims (`flock`, or `SELECT … FOR UPDATE SKIP LOCKED`) as between
//! processes. MariaDB is Debian's mariadbd on a unix socket, started by
//! tests/servers/mariadb_server.py.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use mailport::outbox::{Outbox, RunOptions};
use mailport::{Client, Config, Credentials, Message, Secret, Security};

use crate::sink::Sink;
use crate::{PASSWORD, TEXT, USER};

fn config(sink: &Sink) -> Config {
    let mut config = Config::new("127.0.0.1");
    config.port = sink.starttls;
    config.security = Security::StartTls;
    config.helo_name = Some("bench.example".into());
    config.credentials = Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(PASSWORD),
    });
    config.tls.ca_files = vec![sink.ca.clone()];
    config.tls.webpki_roots = false;
    config.tls.system_roots = false;
    config
}

fn message(i: usize) -> Message {
    let mut m = Message::new();
    m.set_from("Bench <bench@example.com>").expect("from");
    m.add_to("sink@example.com").expect("to");
    m.set_subject(&format!("outbox message {i}"))
        .expect("subject");
    m.set_text(TEXT).expect("text");
    m
}

/// Messages per second of one measurement.
fn rate(n: usize, started: Instant) -> f64 {
    n as f64 / started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let mid = values[values.len() / 2];
    (mid, values[0], values[values.len() - 1])
}

fn enqueue(location: &str, n: usize, threads: usize) -> Result<f64, String> {
    let outbox = Arc::new(Outbox::open(location, vec![]).map_err(|e| e.to_string())?);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let outbox = outbox.clone();
            std::thread::spawn(move || -> Result<(), String> {
                for i in (t..n).step_by(threads) {
                    outbox.enqueue(&message(i)).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "an enqueue thread panicked")??;
    }
    Ok(rate(n, started))
}

fn drain(location: &str, sink: &Sink, n: usize, workers: usize) -> Result<f64, String> {
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let outbox = Outbox::open(location, vec![config(sink)]);
            std::thread::spawn(move || -> Result<usize, String> {
                let outbox = outbox.map_err(|e| e.to_string())?;
                let summary = outbox
                    .run(&RunOptions::default())
                    .map_err(|e| e.to_string())?;
                Ok(summary.sent)
            })
        })
        .collect();
    let mut sent = 0;
    for handle in handles {
        sent += handle.join().map_err(|_| "a worker panicked")??;
    }
    if sent != n {
        return Err(format!("the workers sent {sent} of {n} entries"));
    }
    Ok(rate(n, started))
}

fn direct(sink: &Sink, n: usize) -> Result<f64, String> {
    let mut client = Client::new(config(sink)).map_err(|e| e.to_string())?;
    let started = Instant::now();
    for i in 0..n {
        client
            .send_message(&message(i))
            .map_err(|e| e.to_string())?;
    }
    let rate = rate(n, started);
    client.close();
    Ok(rate)
}

/// A throwaway mariadbd (tests/servers/mariadb_server.py) and the outbox URL of a table in it.
struct Database {
    child: Child,
    url: String,
}

impl Database {
    fn start(root: &Path, dir: &Path) -> Result<Database, String> {
        let mut child = Command::new("python3")
            .arg(root.join("tests/servers/mariadb_server.py"))
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start mariadb_server.py: {e}"))?;
        let mut line = String::new();
        let out = child.stdout.take().ok_or("no stdout")?;
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let ready: serde_json::Value = line
            .strip_prefix("READY ")
            .and_then(|json| serde_json::from_str(json).ok())
            .ok_or_else(|| format!("mariadb did not start (install mariadb-server): {line:?}"))?;
        let field = |key: &str| ready[key].as_str().unwrap_or_default().to_string();
        let url = format!(
            "mysql://{}:{}@localhost/{}?socket={}",
            field("user"),
            field("password"),
            field("database"),
            field("socket")
        );
        Ok(Database { child, url })
    }

    fn table(&self, name: &str) -> String {
        format!("{}&table={name}", self.url)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // EOF on its stdin stops mariadbd and removes its directory.
        drop(self.child.stdin.take().map(|mut stdin| stdin.flush()));
        let _ = self.child.wait();
    }
}

/// Run S6 and print its table; returns how many rows had no result, and adds the messages
/// delivered to `sent`.
pub fn s6(n: usize, runs: usize, sink: &Sink, root: &Path, dir: &Path, sent: &mut u64) -> usize {
    let database = Database::start(root, &dir.join("mariadb"));
    let mut rows: Vec<(&str, Vec<f64>, Option<String>)> = [
        "direct send (Client, one connection)",
        "spool: enqueue, 1 thread (durable)",
        "spool: enqueue, 16 threads (durable)",
        "spool: drain, 1 worker",
        "spool: drain, 4 workers",
        "MariaDB: enqueue, 1 thread (committed)",
        "MariaDB: enqueue, 16 threads (committed)",
        "MariaDB: drain, 1 worker",
        "MariaDB: drain, 4 workers",
    ]
    .into_iter()
    .map(|name| (name, Vec::new(), None))
    .collect();
    for round in 0..runs {
        let mut record = |row: usize, result: Result<f64, String>| match result {
            Ok(value) => rows[row].1.push(value),
            Err(why) => rows[row].2 = Some(why),
        };
        record(0, direct(sink, n));
        *sent += n as u64;
        for (threads, workers, first_row) in [(1, 1, 1), (16, 4, 2)] {
            let mut measure = |location: Result<String, String>, row: usize| {
                let location = match location {
                    Ok(location) => location,
                    Err(why) => {
                        record(row, Err(why.clone()));
                        record(row + 2, Err(why));
                        return;
                    }
                };
                record(row, enqueue(&location, n, threads));
                let drained = drain(&location, sink, n, workers);
                if drained.is_ok() {
                    *sent += n as u64;
                }
                record(row + 2, drained);
            };
            let spool = dir.join(format!("outbox-{round}-{threads}"));
            measure(Ok(spool.display().to_string()), first_row);
            let _ = std::fs::remove_dir_all(&spool);
            let table = database
                .as_ref()
                .map(|db| db.table(&format!("bench_{round}_{threads}")))
                .map_err(Clone::clone);
            measure(table, first_row + 4);
        }
    }
    println!(
        "\nS6: the outbox on a spool directory ({}) and on MariaDB (a unix socket), {n} messages \
         to the sink, median of {runs}\n",
        dir.display()
    );
    println!("| | messages/s (min–max) | vs direct send |");
    println!("|---|---|---|");
    let direct_rate = (!rows[0].1.is_empty()).then(|| median(rows[0].1.clone()).0);
    let mut skipped = 0;
    for (name, values, why) in rows {
        if values.is_empty() {
            skipped += 1;
            println!(
                "| {name} | skipped: {} | |",
                why.unwrap_or_else(|| "no result".into())
            );
            continue;
        }
        let (mid, low, high) = median(values);
        let ratio = direct_rate.map_or(String::new(), |d| format!("{:.2}×", mid / d));
        println!("| {name} | {mid:.0} ({low:.0}–{high:.0}) | {ratio} |");
    }
    skipped
}
