//! The outbox on a spool directory, against aiosmtpd: the scenarios every store passes
//! (common/outbox_scenarios.rs), and the spool's own: backoff, permanent refusals, backup
//! connections, corrupt entries, the events an alerting hook hears, stop requests.

mod common;
#[path = "common/outbox_scenarios.rs"]
#[macro_use]
mod scenarios;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, refused_port, unique_temp_dir};
use mailport::Config;
use mailport::outbox::{
    AttemptOutcome, DescribedFile, Description, EntryId, Event, Filter, Outbox, Policy,
    RecipientState, RunOptions, State,
};
use scenarios::{Row, Store, all, impatient, listen, message, plain, subject_of};

struct Spool(PathBuf);

impl Spool {
    fn new() -> Spool {
        Spool(unique_temp_dir())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The scenarios' stores: one spool directory a name, under one directory of the test's.
struct Spools(Spool);

impl Store for Spools {
    fn open(&self, name: &str, connections: Vec<Config>) -> Outbox {
        Outbox::spool(self.0.0.join(name), connections).unwrap()
    }

    fn stored_text(&self, name: &str, id: &EntryId) -> String {
        fs::read_to_string(self.0.0.join(format!("{name}/queue/{id}.json"))).unwrap()
    }

    fn row(&self, _name: &str, _id: &EntryId) -> Option<Row> {
        None
    }

    fn count(&self, _name: &str) -> Option<usize> {
        None
    }
}

outbox_scenarios!(Spools(Spool::new()));

#[test]
fn the_backoff_doubles_up_to_its_cap() {
    let spools = Spools(Spool::new());
    let (_server, outbox, id) = scenarios::busy(&spools, "backoff");
    let mut waits = Vec::new();
    for _ in 0..3 {
        outbox.run(&all()).unwrap();
        let record = outbox.get(&id).unwrap();
        waits.push(record.due - record.attempts.last().unwrap().at);
        // Make it due again without touching its retry count.
        outbox.retry(&id).unwrap();
    }
    let rounded: Vec<i64> = waits.iter().map(|w| (w + 5) / 10 * 10).collect();
    assert_eq!(rounded, [60, 120, 150], "{waits:?}");
}

#[test]
fn a_permanently_refused_recipient_fails_alone() {
    let server = TestServer::start(&["--mode", "plain", "--reject-rcpt", "nobody"]);
    let spool = Spool::new();
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let mut m = message("two", "ann@example.org");
    m.add_cc("nobody@example.org").unwrap();
    let id = outbox.enqueue(&m).unwrap();
    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Sent);
    let states: Vec<(&str, RecipientState)> = record
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.state))
        .collect();
    assert_eq!(
        states,
        [
            ("ann@example.org", RecipientState::Sent),
            ("nobody@example.org", RecipientState::Failed)
        ]
    );
    let refused = record.recipients[1].reply.as_deref().unwrap();
    assert!(refused.starts_with("550 5.1.1"), "{refused}");
    assert_eq!(server.messages()[0].rcpt_tos, ["ann@example.org"]);
}

#[test]
fn a_retry_goes_only_to_the_recipients_still_pending() {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    outbox.set_policy(impatient());
    let mut m = message("split", "ann@example.org");
    m.add_to("busy@example.org").unwrap();
    let id = outbox.enqueue(&m).unwrap();
    outbox.run(&all()).unwrap();
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Deferred);
    assert_eq!(record.pending(), ["busy@example.org"]);
    assert_eq!(server.messages()[0].rcpt_tos, ["ann@example.org"]);
    // The next attempt asks for busy@ only (and is refused again).
    outbox.run(&all()).unwrap();
    let rcpts = server.events_named("RCPT");
    assert_eq!(rcpts.len(), 3, "{rcpts:?}");
    assert!(rcpts[2].contains("busy@example.org"), "{rcpts:?}");
}

#[test]
fn a_backup_connection_delivers_when_the_primary_is_down_and_the_alert_still_fires() {
    let backup = TestServer::start(&["--mode", "plain"]);
    let mut primary = plain(&backup);
    primary.port = refused_port();
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![primary, plain(&backup)]).unwrap();
    let heard = listen(&mut outbox);
    let first = outbox.enqueue(&message("one", "ann@example.org")).unwrap();
    outbox.enqueue(&message("two", "bob@example.org")).unwrap();
    let summary = outbox.run(&all()).unwrap();
    assert_eq!((summary.sent, summary.via_backup), (2, 2), "{summary:?}");
    assert_eq!(backup.messages().len(), 2);

    let record = outbox.get(&first).unwrap();
    assert_eq!(record.delivered_by, Some(1));
    let outcomes: Vec<(usize, AttemptOutcome)> = record
        .attempts
        .iter()
        .map(|a| (a.connection, a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [(0, AttemptOutcome::Transient), (1, AttemptOutcome::Sent)]
    );
    assert_eq!(record.attempts[0].kind.as_deref(), Some("connect_refused"));
    // One alert for the primary, not one per message.
    let failing: Vec<usize> = heard
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::ConnectionFailing { connection, .. } => Some(*connection),
            _ => None,
        })
        .collect();
    assert_eq!(failing, [0]);
}

#[test]
fn a_description_that_cannot_be_built_fails_with_the_reason() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let files = unique_temp_dir();
    fs::create_dir_all(&files).unwrap();
    let gone = files.join("gone.pdf");
    fs::write(&gone, b"x").unwrap();
    let id = outbox
        .enqueue_description(&Description {
            from: "shop@example.com".into(),
            to: vec!["ann@example.org".into()],
            attachments: vec![DescribedFile {
                path: gone.clone(),
                ..DescribedFile::default()
            }],
            ..Description::default()
        })
        .unwrap();
    fs::remove_dir_all(&files).unwrap();
    assert_eq!(outbox.run(&all()).unwrap().failed, 1);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("description cannot be built"), "{reason}");
    assert!(reason.contains("gone.pdf"), "{reason}");
    assert!(server.messages().is_empty());
}

#[test]
fn a_corrupt_entry_is_quarantined_with_a_reason_and_the_run_goes_on() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let good = outbox.enqueue(&message("good", "ann@example.org")).unwrap();
    let bad = EntryId::parse("0000000000001-0123456789abcdef").unwrap();
    fs::write(
        spool.0.join(format!("queue/{bad}.entry")),
        b"{not json\nwhatever",
    )
    .unwrap();
    let summary = outbox.run(&all()).unwrap();
    assert_eq!(summary.sent, 1, "{summary:?}");
    assert_eq!(outbox.get(&good).unwrap().state, State::Sent);
    let reason = fs::read_to_string(spool.0.join(format!("quarantine/{bad}.reason"))).unwrap();
    assert!(reason.contains("cannot be read"), "{reason}");
    assert!(!spool.0.join(format!("queue/{bad}.entry")).exists());
}

#[test]
fn an_entry_whose_header_id_is_not_an_id_is_quarantined_without_quoting_it() {
    // Written by another program (docs/outbox.md): its header's id must be an id, not a path.
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let bad = EntryId::parse("0000000000002-0123456789abcdef").unwrap();
    fs::write(
        spool.0.join(format!("queue/{bad}.entry")),
        concat!(
            r#"{"format":1,"id":"../../x\nInjected: line","created":1,"#,
            r#""envelope_from":"a@example.org","recipients":["b@example.org"],"size":5}"#,
            "\nHi\r\n\r\n",
        ),
    )
    .unwrap();
    let summary = outbox.run(&all()).unwrap();
    assert_eq!(summary.sent, 0, "{summary:?}");
    assert!(server.messages().is_empty());
    let reason = fs::read_to_string(spool.0.join(format!("quarantine/{bad}.reason"))).unwrap();
    assert!(
        reason.contains("an entry id is not of the form"),
        "{reason}"
    );
    assert!(
        !reason.contains("../") && !reason.contains("Injected"),
        "{reason}"
    );
    assert!(!spool.0.join(format!("queue/{bad}.entry")).exists());
}

#[test]
fn enqueue_into_a_spool_that_cannot_be_written_fails_clearly_and_leaves_nothing() {
    // A regular file where the spool's queue directory should be.
    let spool = Spool::new();
    fs::create_dir_all(&spool.0).unwrap();
    fs::write(spool.0.join("queue"), b"not a directory").unwrap();
    let err = Outbox::spool(&spool.0, vec![]).err().unwrap();
    assert!(err.message().contains("outbox spool"), "{err}");
    assert!(err.message().contains("queue"), "{err}");
}

/// The files of a spool directory, for checks that nothing half-written stays.
#[allow(dead_code)]
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_server_down_then_back_gets_everything_in_enqueue_order() {
    let port = common::free_port();
    let port_text = port.to_string();
    let spool = Spool::new();
    let down = {
        let server = TestServer::start(&["--mode", "plain", "--port", &port_text]);
        let mut config = plain(&server);
        // Plaintext: the server's CA file, gone with it, is not needed.
        config.tls.ca_files.clear();
        config.tls.webpki_roots = true;
        config
        // The server stops here: its port refuses connections.
    };
    let mut outbox = Outbox::spool(&spool.0, vec![down]).unwrap();
    outbox.set_policy(impatient());
    let subjects: Vec<String> = (1..=5).map(|n| format!("order {n}")).collect();
    for subject in &subjects {
        outbox
            .enqueue(&message(subject, "ann@example.org"))
            .unwrap();
    }
    let summary = outbox.run(&all()).unwrap();
    assert_eq!(
        summary.deferred,
        5,
        "{summary:?} {:?}",
        outbox.list(&Filter::default()).unwrap()[0]
    );

    let server = TestServer::start(&["--mode", "plain", "--port", &port_text]);
    let summary = outbox.run(&all()).unwrap();
    assert_eq!(summary.sent, 5, "{summary:?}");
    let got: Vec<String> = server
        .messages()
        .iter()
        .map(|m| subject_of(&m.data))
        .collect();
    assert_eq!(got, subjects, "in enqueue order");
    assert_eq!(server.connections(), 1, "one session for the run");
}

#[test]
fn transcripts_and_sent_bodies_are_kept_only_when_asked() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let dropped = outbox
        .enqueue(&message("dropped", "ann@example.org"))
        .unwrap();
    outbox.run(&all()).unwrap();
    // The sent message's body is gone (its entry file, if it carries the record, is cut to
    // its header line).
    let left = fs::read(spool.0.join(format!("done/{dropped}.entry"))).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&left).contains("Subject: dropped"),
        "{}",
        String::from_utf8_lossy(&left)
    );
    assert_eq!(outbox.get(&dropped).unwrap().state, State::Sent);
    assert!(
        outbox.get(&dropped).unwrap().attempts[0]
            .transcript
            .is_none()
    );

    outbox.set_policy(Policy {
        keep_sent: true,
        keep_transcripts: true,
        ..Policy::default()
    });
    let kept = outbox.enqueue(&message("kept", "ann@example.org")).unwrap();
    outbox.run(&all()).unwrap();
    let kept_file = fs::read(spool.0.join(format!("done/{kept}.entry"))).unwrap();
    assert!(String::from_utf8_lossy(&kept_file).contains("Subject: kept"));
    let transcript = outbox.get(&kept).unwrap().attempts[0]
        .transcript
        .clone()
        .unwrap();
    assert!(
        transcript.contains("MAIL FROM:<shop@example.com>"),
        "{transcript}"
    );
}

#[test]
fn a_connection_that_cannot_be_set_up_holds_the_entry_instead_of_failing_it() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let mut broken = plain(&server);
    broken.tls.ca_files = vec![spool.0.join("no-such-ca.pem")];
    let outbox = Outbox::spool(&spool.0, vec![broken]).unwrap();
    let id = outbox.enqueue(&message("held", "ann@example.org")).unwrap();
    let other = outbox
        .enqueue(&message("held too", "bob@example.org"))
        .unwrap();
    assert_eq!(outbox.run(&all()).unwrap().held, 2);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Held);
    assert!(record.reason.unwrap().contains("no-such-ca.pem"));
    assert_eq!(outbox.get(&other).unwrap().state, State::Held);
    // Fixed settings release it.
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    assert_eq!(outbox.run(&all()).unwrap().sent, 2);
}

#[test]
fn a_stop_request_ends_the_run_after_the_entry_being_sent_and_hands_the_rest_back() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    outbox.set_event_handler(Some(Arc::new(move |event: &Event| {
        if matches!(
            event,
            Event::StateChanged {
                to: State::Sent,
                ..
            }
        ) {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })));
    let ids: Vec<EntryId> = (1..=3)
        .map(|n| {
            outbox
                .enqueue(&message(&format!("m{n}"), "ann@example.org"))
                .unwrap()
        })
        .collect();
    let summary = outbox
        .run(&RunOptions {
            stop: Some(stop.clone()),
            ..RunOptions::default()
        })
        .unwrap();
    assert_eq!(summary.sent, 1, "{summary:?}");
    let states: Vec<State> = ids.iter().map(|id| outbox.get(id).unwrap().state).collect();
    assert_eq!(states, [State::Sent, State::Queued, State::Queued]);
    stop.store(false, std::sync::atomic::Ordering::SeqCst);
    outbox.set_event_handler(None);
    assert_eq!(outbox.run(&all()).unwrap().sent, 2);
}

#[test]
fn a_retry_by_another_process_is_seen_by_a_long_running_outbox() {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let spool = Spool::new();
    let worker = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let id = worker
        .enqueue(&message("later", "busy@example.org"))
        .unwrap();
    assert_eq!(worker.run(&all()).unwrap().deferred, 1);
    // Deferred for 5 minutes; the worker would not look at it again before then...
    assert_eq!(worker.run(&all()).unwrap(), Default::default());
    // ...but a user retries it from elsewhere (another Outbox, as another process would).
    std::thread::sleep(Duration::from_millis(20));
    Outbox::spool(&spool.0, vec![]).unwrap().retry(&id).unwrap();
    assert_eq!(worker.run(&all()).unwrap().deferred, 1, "tried again");
    assert_eq!(server.events_named("RCPT").len(), 2);
}

#[test]
fn a_failed_entry_keeps_its_message_and_a_retry_sends_it() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let mut down = plain(&server);
    down.port = refused_port();
    let mut outbox = Outbox::spool(&spool.0, vec![down]).unwrap();
    outbox.set_policy(Policy {
        lifetime: Duration::ZERO,
        ..impatient()
    });
    let id = outbox
        .enqueue(&message("again", "ann@example.org"))
        .unwrap();
    assert_eq!(outbox.run(&all()).unwrap().failed, 1);
    assert_eq!(outbox.get(&id).unwrap().state, State::Failed);
    assert_eq!(
        outbox
            .list(&Filter {
                states: vec![State::Failed],
                limit: None
            })
            .unwrap()
            .len(),
        1
    );

    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    assert_eq!(outbox.retry(&id).unwrap().state, State::Queued);
    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Sent);
    assert_eq!(record.recipients[0].state, RecipientState::Sent);
    assert_eq!(subject_of(&server.messages()[0].data), "again");
}
