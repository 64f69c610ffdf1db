//! The outbox scenarios every store must pass (a spool directory, `tests/outbox.rs`; a MariaDB
//! table, `tests/outbox_database.rs`), against aiosmtpd: delivery with the Message-ID fixed at
//! enqueue, deferral then giving up, an entry held on refused credentials, raw messages with
//! cancel and prune, a description rendered once. Each store checks, through [`Store`], what
//! it keeps in its own form (a secret never; the columns PHP reads).
//!
//! A test file includes it with `#[path = "common/outbox_scenarios.rs"] #[macro_use] mod
//! scenarios;` beside `mod common;`, and runs the set with `outbox_scenarios!(its store)`, which
//! makes one `#[test]` per scenario.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{TestServer, config_for, refused_port, unique_temp_dir};
use mailport::outbox::{
    AttemptOutcome, DescribedFile, Description, EntryId, Event, Filter, Outbox, Policy,
    RecipientState, RunOptions, State,
};
use mailport::{Config, Credentials, Envelope, Message, Secret, Security};

pub const USER: &str = "outbox-user";
pub const PASSWORD: &str = "outbox-Pa55";

/// Where an outbox keeps its entries.
pub trait Store {
    /// An outbox on the store `name` (a spool directory, a table) delivering through
    /// `connections`. The same name opens the same store again, as another process or another
    /// machine of the site would.
    fn open(&self, name: &str, connections: Vec<Config>) -> Outbox;
    /// What the store keeps of entry `id`, as text: no secret may be in it.
    fn stored_text(&self, name: &str, id: &EntryId) -> String;
    /// The entry's row, for a store whose columns are read without the library (PHP); `None`
    /// for a store without rows.
    fn row(&self, name: &str, id: &EntryId) -> Option<Row>;
    /// How many entries the store holds, counted in its own form; `None` where it is not
    /// counted apart from the outbox's own list.
    fn count(&self, name: &str) -> Option<usize>;
}

/// The columns of an entry's row that the scenarios check.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub state: Option<String>,
    pub lease_owner: Option<String>,
    /// Whether the message itself is kept.
    pub body: bool,
    /// Whether the rendered header is kept (a description is rendered at the first attempt).
    pub header: bool,
}

/// One `#[test]` per scenario, on the store `$store` (an expression, evaluated by each test).
macro_rules! outbox_scenarios {
    ($store:expr) => {
        outbox_scenarios!(@each $store,
            an_enqueued_message_is_delivered_once_with_its_fixed_message_id => delivered_once,
            a_transient_refusal_defers_with_backoff_then_gives_up => deferred_then_given_up,
            a_refused_login_holds_the_entry_until_the_settings_change_or_a_retry
                => held_on_refused_login,
            raw_messages_keep_their_envelope_and_cancel_and_prune_work => raw_cancel_and_prune,
            a_description_is_rendered_once_and_every_attempt_sends_the_same_message
                => description_rendered_once
        );
    };
    (@each $store:expr, $($test:ident => $scenario:ident),+) => {
        $(
            #[test]
            fn $test() {
                scenarios::$scenario(&$store);
            }
        )+
    };
}

pub fn plain(server: &TestServer) -> Config {
    config_for("127.0.0.1", server, Security::None)
}

/// STARTTLS and AUTH as `USER` with `password`.
pub fn authenticated(server: &TestServer, password: &str) -> Config {
    let mut config = config_for("localhost", server, Security::StartTls);
    config.credentials = Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(password),
    });
    config
}

pub fn message(subject: &str, to: &str) -> Message {
    let mut m = Message::new();
    m.set_from("Shop <shop@example.com>").unwrap();
    m.add_to(to).unwrap();
    m.set_subject(subject).unwrap();
    m.set_text(&format!("{subject}\n")).unwrap();
    m
}

/// A policy that retries at once, so a test can run again without waiting.
pub fn impatient() -> Policy {
    Policy {
        min_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        ..Policy::default()
    }
}

pub fn all() -> RunOptions {
    RunOptions::default()
}

pub type Heard = Arc<Mutex<Vec<Event>>>;

/// Record every event `outbox` emits.
pub fn listen(outbox: &mut Outbox) -> Heard {
    let heard: Heard = Arc::default();
    let sink = heard.clone();
    outbox.set_event_handler(Some(Arc::new(move |event: &Event| {
        sink.lock().unwrap().push(event.clone());
    })));
    heard
}

fn header_of(data: &[u8], name: &str) -> String {
    String::from_utf8_lossy(data)
        .lines()
        .find_map(|l| l.strip_prefix(name).map(str::to_string))
        .unwrap_or_default()
}

pub fn subject_of(data: &[u8]) -> String {
    header_of(data, "Subject: ")
}

pub fn message_id_of(data: &[u8]) -> String {
    header_of(data, "Message-ID: ")
}

fn state_column(store: &dyn Store, name: &str, id: &EntryId) -> Option<Option<String>> {
    store.row(name, id).map(|row| row.state)
}

pub fn delivered_once(store: &dyn Store) {
    let name = "t_delivered";
    let server = TestServer::start(&["--mode", "plain", "--queue-id"]);
    let mut outbox = store.open(name, vec![plain(&server)]);
    let heard = listen(&mut outbox);
    let id = outbox
        .enqueue(&message("order 1", "ann@example.org"))
        .unwrap();
    let queued = outbox.get(&id).unwrap();
    assert_eq!(queued.state, State::Queued);
    let message_id = queued.message_id.clone().unwrap();
    if let Some(state) = state_column(store, name, &id) {
        assert_eq!(state.as_deref(), Some("queued"));
    }

    let summary = outbox.run(&all()).unwrap();
    assert_eq!(summary.sent, 1, "{summary:?}");
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, ["ann@example.org"]);
    assert_eq!(
        message_id_of(&got[0].data),
        message_id,
        "the Message-ID fixed at enqueue is the one sent"
    );

    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Sent);
    assert_eq!(record.lease, None);
    assert_eq!(record.delivered_by, Some(0));
    assert_eq!(record.recipients[0].state, RecipientState::Sent);
    let attempt = record.attempts.last().unwrap();
    assert_eq!(attempt.outcome, AttemptOutcome::Sent);
    assert_eq!(attempt.reply_code, Some(250));
    assert_eq!(attempt.queue_id, got[0].queue_id, "{attempt:?}");
    // The columns say the same as the record; a sent message's body is not kept by default.
    if let Some(row) = store.row(name, &id) {
        let expected = Row {
            state: Some("sent".into()),
            lease_owner: None,
            body: false,
            header: row.header,
        };
        assert_eq!(row, expected);
    }

    // A second run finds nothing to do.
    assert_eq!(outbox.run(&all()).unwrap().sent, 0);
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

/// An outbox on the store `name` whose one entry's recipient the server refuses for now (450),
/// backing off from 60 s, doubling up to 150 s.
pub fn busy(store: &dyn Store, name: &str) -> (TestServer, Outbox, EntryId) {
    let server = TestServer::start(&["--mode", "plain", "--tempfail-rcpt", "busy"]);
    let mut outbox = store.open(name, vec![plain(&server)]);
    outbox.set_policy(Policy {
        min_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(150),
        ..Policy::default()
    });
    let id = outbox
        .enqueue(&message("later", "busy@example.org"))
        .unwrap();
    (server, outbox, id)
}

pub fn deferred_then_given_up(store: &dyn Store) {
    let name = "t_deferred";
    let (server, mut outbox, id) = busy(store, name);
    let summary = outbox.run(&all()).unwrap();
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
    assert_eq!(outbox.run(&all()).unwrap(), Default::default());
    assert_eq!(server.events_named("RCPT").len(), 1);

    // Due now, and out of its lifetime: it fails, saying why.
    outbox.set_policy(Policy {
        lifetime: Duration::ZERO,
        ..impatient()
    });
    outbox.retry(&id).unwrap();
    let summary = outbox.run(&all()).unwrap();
    assert_eq!(summary.failed, 1, "{summary:?}");
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Failed);
    assert_eq!(record.recipients[0].state, RecipientState::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.starts_with("gave up after 0 seconds"), "{reason}");
    assert!(server.messages().is_empty());

    // A failed entry keeps its message, so that it can be retried.
    if let Some(row) = store.row(name, &id) {
        assert!(row.body, "{row:?}");
    }
    let again = outbox.retry(&id).unwrap();
    assert_eq!(again.state, State::Queued);
    assert_eq!(again.pending(), ["busy@example.org"]);
    if let Some(state) = state_column(store, name, &id) {
        assert_eq!(state.as_deref(), Some("queued"));
    }
}

pub fn held_on_refused_login(store: &dyn Store) {
    let name = "t_held";
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let outbox = store.open(name, vec![authenticated(&server, "wrong-password")]);
    let id = outbox.enqueue(&message("held", "ann@example.org")).unwrap();
    assert_eq!(outbox.run(&all()).unwrap().held, 1);
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Held);
    assert!(record.held_settings.is_some());
    assert_eq!(
        record.attempts.last().unwrap().outcome,
        AttemptOutcome::Configuration
    );
    let stored = store.stored_text(name, &id);
    assert!(
        !stored.is_empty() && !stored.contains("wrong-password"),
        "{stored}"
    );
    // The same settings: it stays held.
    assert_eq!(outbox.run(&all()).unwrap(), Default::default());
    // A retry releases it (and it is held again, the password still being wrong).
    outbox.retry(&id).unwrap();
    assert_eq!(outbox.run(&all()).unwrap().held, 1);

    // Other settings (here the password, now right, from another machine of the site)
    // release it at once.
    let mut fixed = authenticated(&server, PASSWORD);
    fixed.helo_name = Some("fixed.client.test".into());
    let other = store.open(name, vec![fixed]);
    assert_eq!(other.run(&all()).unwrap().sent, 1);
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.messages()[0].auth_user.as_deref(), Some(USER));
}

pub fn raw_cancel_and_prune(store: &dyn Store) {
    let name = "t_prune";
    let server = TestServer::start(&["--mode", "plain"]);
    let outbox = store.open(name, vec![plain(&server)]);
    let envelope = Envelope::new("bounce@example.com", vec!["hidden@example.org".into()]).unwrap();
    let raw = outbox
        .enqueue_raw(&envelope, b"Subject: raw\nFrom: a@example.com\n\nbody\n")
        .unwrap();
    // Ids order by the millisecond: the raw one is the oldest.
    std::thread::sleep(Duration::from_millis(5));
    let cancelled = outbox
        .enqueue(&message("never", "ann@example.org"))
        .unwrap();
    assert_eq!(outbox.cancel(&cancelled).unwrap().state, State::Cancelled);
    assert!(outbox.cancel(&cancelled).is_err(), "already cancelled");
    assert!(outbox.retry(&cancelled).is_err(), "a cancelled entry stays");
    if let Some(row) = store.row(name, &cancelled) {
        assert!(!row.body, "a cancelled entry's message is not kept");
    }
    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
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
    let first = outbox
        .list(&Filter {
            states: vec![],
            limit: Some(1),
        })
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, raw, "oldest first");
    assert_eq!(outbox.prune(Duration::from_secs(3600)).unwrap(), 0);
    // Ages are whole seconds: prune(ZERO) takes what ended in an earlier second, which a
    // loaded machine may already have reached here. After a second it must take both.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(outbox.prune(Duration::ZERO).unwrap(), 2);
    assert!(outbox.list(&Filter::default()).unwrap().is_empty());
    if let Some(count) = store.count(name) {
        assert_eq!(count, 0);
    }
    let missing = outbox.get(&raw).unwrap_err().message();
    assert!(missing.contains("no entry"), "{missing}");
}

pub fn description_rendered_once(store: &dyn Store) {
    let name = "t_described";
    let server = TestServer::start(&["--mode", "plain"]);
    let mut down = plain(&server);
    down.port = refused_port();
    let mut outbox = store.open(name, vec![down]);
    outbox.set_policy(impatient());
    let files = unique_temp_dir();
    std::fs::create_dir_all(&files).unwrap();
    let invoice = files.join("invoice.pdf");
    std::fs::write(&invoice, b"%PDF-1.4 invoice").unwrap();
    let id = outbox
        .enqueue_description(&Description {
            from: "Shop <shop@example.com>".into(),
            to: vec!["ann@example.org".into()],
            subject: Some("Your invoice".into()),
            text: Some("Attached.".into()),
            attachments: vec![DescribedFile {
                path: invoice,
                name: Some("Invoice 42.pdf".into()),
                ..DescribedFile::default()
            }],
            ..Description::default()
        })
        .unwrap();
    assert_eq!(
        outbox.get(&id).unwrap().message_id,
        None,
        "not rendered yet"
    );
    if let Some(row) = store.row(name, &id) {
        assert!(!row.header, "not rendered yet");
    }
    // The first attempt renders it (and fails to connect).
    assert_eq!(outbox.run(&all()).unwrap().deferred, 1);
    let record = outbox.get(&id).unwrap();
    let message_id = record
        .message_id
        .clone()
        .expect("fixed at the first attempt");
    assert_eq!(record.recipients[0].address, "ann@example.org");
    // The rendering is kept: the file may go.
    std::fs::remove_dir_all(&files).unwrap();

    let mut outbox = store.open(name, vec![plain(&server)]);
    outbox.set_policy(impatient());
    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
    let got = server.messages();
    assert_eq!(message_id_of(&got[0].data), message_id);
    assert!(
        String::from_utf8_lossy(&got[0].data).contains("Invoice 42.pdf"),
        "the attachment kept from the first rendering"
    );
    assert_eq!(subject_of(&got[0].data), "Your invoice");
}
