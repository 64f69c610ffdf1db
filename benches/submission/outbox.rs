//! S6: the outbox on a spool directory, beside a direct send in the same run and to the same
//! sink: how fast messages are made durable (enqueue, each synced to disk before it returns),
//! and how fast workers deliver them (drain), as messages per second.
//!
//! In process, on threads: enqueue from 1 and from 16 threads (a web server's workers), drain
//! by 1 and by 4 workers, each an `Outbox` of its own on the same spool, so the entries are
//! shared out by their `flock` claims as between processes.

use std::path::Path;
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

fn enqueue(spool: &Path, n: usize, threads: usize) -> Result<f64, String> {
    let outbox = Arc::new(Outbox::spool(spool, vec![]).map_err(|e| e.to_string())?);
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

fn drain(spool: &Path, sink: &Sink, n: usize, workers: usize) -> Result<f64, String> {
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let outbox = Outbox::spool(spool, vec![config(sink)]);
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

/// Run S6 and print its table; returns how many rows had no result, and adds the messages
/// delivered to `sent`.
pub fn s6(n: usize, runs: usize, sink: &Sink, dir: &Path, sent: &mut u64) -> usize {
    let mut rows: Vec<(&str, Vec<f64>, Option<String>)> = [
        "direct send (Client, one connection)",
        "enqueue, 1 thread (durable)",
        "enqueue, 16 threads (durable)",
        "drain, 1 worker",
        "drain, 4 workers",
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
        for (threads, enqueue_row, workers, drain_row) in [(1, 1, 1, 3), (16, 2, 4, 4)] {
            let spool = dir.join(format!("outbox-{round}-{threads}"));
            record(enqueue_row, enqueue(&spool, n, threads));
            let drained = drain(&spool, sink, n, workers);
            if drained.is_ok() {
                *sent += n as u64;
            }
            record(drain_row, drained);
            let _ = std::fs::remove_dir_all(&spool);
        }
    }
    println!(
        "\nS6: the outbox on a spool directory ({}), {n} messages to the sink, median of {runs}\n",
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
