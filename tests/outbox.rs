//! The outbox on a spool directory, against aiosmtpd: delivery, deferral with backoff, permanent
//! refusals, backup connections, held entries, message descriptions, corrupt entries, and the
//! events an alerting hook hears.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, config_for, refused_port, unique_temp_dir};
use mailport::outbox::{
    AttemptOutcome, DescribedFile, Description, EntryId, Event, Filter, Outbox, Policy,
    RecipientState, RunOptions, State,
};
use mailport::{Config, Credentials, Envelope, Message, Secret, Security};

const USER: &str = "outbox-user";
const PASSWORD: &str = "outbox-Pa55";

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

fn plain(server: &TestServer) -> Config {
    config_for("127.0.0.1", server, Security::None)
}

fn authenticated(server: &TestServer, password: &str) -> Config {
    let mut config = config_for("localhost", server, Security::StartTls);
    config.credentials = Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(password),
    });
    config
}

fn message(subject: &str, to: &str) -> Message {
    let mut m = Message::new();
    m.set_from("Shop <shop@example.com>").unwrap();
    m.add_to(to).unwrap();
    m.set_subject(subject).unwrap();
    m.set_text(&format!("{subject}\n")).unwrap();
    m
}

/// A policy that retries at once, so a test can run again without waiting.
fn impatient() -> Policy {
    Policy {
        min_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        ..Policy::default()
    }
}

fn all(outbox: &Outbox) -> RunOptions {
    let _ = outbox;
    RunOptions::default()
}

type Heard = Arc<Mutex<Vec<Event>>>;

fn listen(outbox: &mut Outbox) -> Heard {
    let heard: Heard = Arc::default();
    let sink = heard.clone();
    outbox.set_event_handler(Some(Arc::new(move |event: &Event| {
        sink.lock().unwrap().push(event.clone());
    })));
    heard
}

fn subject_of(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn an_enqueued_message_is_delivered_once_with_its_fixed_message_id() {
    let server = TestServer::start(&["--mode", "plain", "--queue-id"]);
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let heard = listen(&mut outbox);
    let id = outbox
        .enqueue(&message("order 1", "ann@example.org"))
        .unwrap();
    let queued = outbox.get(&id).unwrap();
    assert_eq!(queued.state, State::Queued);
    let message_id = queued.message_id.clone().unwrap();

    let summary = outbox.run(&all(&outbox)).unwrap();
    assert_eq!(summary.sent, 1, "{summary:?}");
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, ["ann@example.org"]);
    assert!(
        String::from_utf8_lossy(&got[0].data).contains(&format!("Message-ID: {message_id}")),
        "the Message-ID fixed at enqueue is the one sent"
    );

    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Sent);
    assert_eq!(record.delivered_by, Some(0));
    assert_eq!(record.recipients[0].state, RecipientState::Sent);
    let attempt = record.attempts.last().unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Sent);
    assert_eq!(attempt.reply_code, Some(250));
    assert_eq!(attempt.queue_id, got[0].queue_id, "{attempt:?}");

    // A second run finds nothing to do.
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 0);
    assert_eq!(server.messages().len(), 1);
    let states: Vec<(Option<State>, State)> = heard
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        [(None, State::Queued), (Some(State::Queued), State::Sent)]
    );
}

#[test]
fn a_transient_refusal_defers_with_doubling_backoff_then_gives_up() {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    outbox.set_policy(Policy {
        min_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(150),
        ..Policy::default()
    });
    let id = outbox
        .enqueue(&message("later", "busy@example.org"))
        .unwrap();
    let summary = outbox.run(&all(&outbox)).unwrap();
    assert_eq!(summary.deferred, 1, "{summary:?}");
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Deferred);
    assert_eq!(record.retries, 1);
    let attempt = record.attempts.last().unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Transient);
    assert_eq!(attempt.reply_code, Some(450));
    let wait = record.due - attempt.at;
    assert!((59..=61).contains(&wait), "first backoff 60 s, got {wait}");
    // Not due yet: a run leaves it alone.
    assert_eq!(outbox.run(&all(&outbox)).unwrap(), Default::default());
    assert_eq!(server.events_named("RCPT").len(), 1);

    // Due now, and out of its lifetime: it fails, saying why.
    outbox.set_policy(Policy {
        lifetime: Duration::ZERO,
        ..impatient()
    });
    outbox.retry(&id).unwrap();
    let summary = outbox.run(&all(&outbox)).unwrap();
    assert_eq!(summary.failed, 1, "{summary:?}");
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Failed);
    assert_eq!(record.recipients[0].state, RecipientState::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.starts_with("gave up after 0 seconds"), "{reason}");
    assert!(server.messages().is_empty());
}

#[test]
fn the_backoff_doubles_up_to_its_cap() {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let spool = Spool::new();
    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    outbox.set_policy(Policy {
        min_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(150),
        ..Policy::default()
    });
    let id = outbox
        .enqueue(&message("later", "busy@example.org"))
        .unwrap();
    let mut waits = Vec::new();
    for _ in 0..3 {
        outbox.run(&all(&outbox)).unwrap();
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
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 1);
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
    outbox.run(&all(&outbox)).unwrap();
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Deferred);
    assert_eq!(record.pending(), ["busy@example.org"]);
    assert_eq!(server.messages()[0].rcpt_tos, ["ann@example.org"]);
    // The next attempt asks for busy@ only (and is refused again).
    outbox.run(&all(&outbox)).unwrap();
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
    let summary = outbox.run(&all(&outbox)).unwrap();
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
fn a_refused_login_holds_the_entry_until_the_settings_change_or_a_retry() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let spool = Spool::new();
    let wrong = authenticated(&server, "wrong-password");
    let outbox = Outbox::spool(&spool.0, vec![wrong.clone()]).unwrap();
    let id = outbox.enqueue(&message("held", "ann@example.org")).unwrap();
    assert_eq!(outbox.run(&all(&outbox)).unwrap().held, 1);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Held);
    assert_eq!(
        record.attempts.last().unwrap().outcome,
        AttemptOutcome::Configuration
    );
    assert!(
        !fs::read_to_string(spool.0.join(format!("queue/{id}.json")))
            .unwrap()
            .contains("wrong-password")
    );
    // The same settings: it stays held.
    assert_eq!(outbox.run(&all(&outbox)).unwrap(), Default::default());
    // A retry releases it (and it is held again, the password still being wrong).
    outbox.retry(&id).unwrap();
    assert_eq!(outbox.run(&all(&outbox)).unwrap().held, 1);

    // Other settings release it at once: here the password alone, now right.
    let fixed = authenticated(&server, PASSWORD);
    let outbox = Outbox::spool(&spool.0, vec![fixed]).unwrap();
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 1);
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.messages()[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn a_message_description_is_rendered_once_and_every_attempt_sends_the_same_message() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let mut down = plain(&server);
    down.port = refused_port();
    let mut outbox = Outbox::spool(&spool.0, vec![down]).unwrap();
    outbox.set_policy(impatient());
    let files = unique_temp_dir();
    fs::create_dir_all(&files).unwrap();
    let invoice = files.join("invoice.pdf");
    fs::write(&invoice, b"%PDF-1.4 invoice").unwrap();
    let description = Description {
        from: "Shop <shop@example.com>".into(),
        to: vec!["ann@example.org".into()],
        subject: Some("Your invoice".into()),
        text: Some("Attached.".into()),
        attachments: vec![DescribedFile {
            path: invoice.clone(),
            name: Some("Invoice 42.pdf".into()),
            ..DescribedFile::default()
        }],
        ..Description::default()
    };
    let id = outbox.enqueue_description(&description).unwrap();
    assert_eq!(
        outbox.get(&id).unwrap().message_id,
        None,
        "not rendered yet"
    );
    // The first attempt renders it (and fails to connect).
    assert_eq!(outbox.run(&all(&outbox)).unwrap().deferred, 1);
    let record = outbox.get(&id).unwrap();
    let message_id = record
        .message_id
        .clone()
        .expect("fixed at the first attempt");
    assert_eq!(record.recipients[0].address, "ann@example.org");
    // The rendering is kept: the file may go.
    fs::remove_dir_all(&files).unwrap();

    let mut outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    outbox.set_policy(impatient());
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 1);
    let got = server.messages();
    let text = String::from_utf8_lossy(&got[0].data);
    assert!(
        text.contains(&format!("Message-ID: {message_id}")),
        "{text}"
    );
    assert!(text.contains("Invoice 42.pdf"), "{text}");
    assert_eq!(subject_of(&got[0].data), "Your invoice");
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
    assert_eq!(outbox.run(&all(&outbox)).unwrap().failed, 1);
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
    let summary = outbox.run(&all(&outbox)).unwrap();
    assert_eq!(summary.sent, 1, "{summary:?}");
    assert_eq!(outbox.get(&good).unwrap().state, State::Sent);
    let reason = fs::read_to_string(spool.0.join(format!("quarantine/{bad}.reason"))).unwrap();
    assert!(reason.contains("cannot be read"), "{reason}");
    assert!(!spool.0.join(format!("queue/{bad}.entry")).exists());
}

#[test]
fn raw_messages_keep_their_envelope_and_cancel_and_prune_work() {
    let server = TestServer::start(&["--mode", "plain"]);
    let spool = Spool::new();
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let envelope = Envelope::new("bounce@example.com", vec!["hidden@example.org".into()]).unwrap();
    let raw = outbox
        .enqueue_raw(&envelope, b"Subject: raw\nFrom: a@example.com\n\nbody\n")
        .unwrap();
    let cancelled = outbox
        .enqueue(&message("never", "ann@example.org"))
        .unwrap();
    assert_eq!(outbox.cancel(&cancelled).unwrap().state, State::Cancelled);
    assert!(outbox.cancel(&cancelled).is_err(), "already cancelled");
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "bounce@example.com");
    assert_eq!(got[0].rcpt_tos, ["hidden@example.org"]);
    assert_eq!(subject_of(&got[0].data), "raw");
    assert!(
        outbox.retry(&raw).is_err(),
        "a sent entry cannot be retried"
    );

    let listed = outbox
        .list(&Filter {
            states: vec![State::Sent, State::Cancelled],
            limit: None,
        })
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(outbox.prune(Duration::from_secs(3600)).unwrap(), 0);
    assert_eq!(
        outbox.prune(Duration::ZERO).unwrap(),
        0,
        "not older than now"
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(outbox.prune(Duration::ZERO).unwrap(), 2);
    assert!(outbox.list(&Filter::default()).unwrap().is_empty());
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
    let summary = outbox.run(&all(&outbox)).unwrap();
    assert_eq!(
        summary.deferred,
        5,
        "{summary:?} {:?}",
        outbox.list(&Filter::default()).unwrap()[0]
    );

    let server = TestServer::start(&["--mode", "plain", "--port", &port_text]);
    let summary = outbox.run(&all(&outbox)).unwrap();
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
    outbox.run(&all(&outbox)).unwrap();
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
    outbox.run(&all(&outbox)).unwrap();
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
    assert_eq!(outbox.run(&all(&outbox)).unwrap().held, 2);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Held);
    assert!(record.reason.unwrap().contains("no-such-ca.pem"));
    assert_eq!(outbox.get(&other).unwrap().state, State::Held);
    // Fixed settings release it.
    let outbox = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 2);
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
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 2);
}

#[test]
fn a_retry_by_another_process_is_seen_by_a_long_running_outbox() {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let spool = Spool::new();
    let worker = Outbox::spool(&spool.0, vec![plain(&server)]).unwrap();
    let id = worker
        .enqueue(&message("later", "busy@example.org"))
        .unwrap();
    assert_eq!(worker.run(&all(&worker)).unwrap().deferred, 1);
    // Deferred for 5 minutes; the worker would not look at it again before then...
    assert_eq!(worker.run(&all(&worker)).unwrap(), Default::default());
    // ...but a user retries it from elsewhere (another Outbox, as another process would).
    std::thread::sleep(Duration::from_millis(20));
    Outbox::spool(&spool.0, vec![]).unwrap().retry(&id).unwrap();
    assert_eq!(
        worker.run(&all(&worker)).unwrap().deferred,
        1,
        "tried again"
    );
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
    assert_eq!(outbox.run(&all(&outbox)).unwrap().failed, 1);
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
    assert_eq!(outbox.run(&all(&outbox)).unwrap().sent, 1);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Sent);
    assert_eq!(record.recipients[0].state, RecipientState::Sent);
    assert_eq!(subject_of(&server.messages()[0].data), "again");
}
