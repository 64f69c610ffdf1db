//! The outbox on a MariaDB table (a real mariadbd, started by the test on a unix socket), against
//! aiosmtpd: the scenarios every store passes (common/outbox_scenarios.rs: delivery, deferral,
//! held entries, cancel and prune, a description rendered once) with the columns PHP reads, and
//! the table's own: a description row inserted by plain SQL as PHP would, corrupt rows
//! quarantined, leases taken over only once expired, a worker that lost its lease, the database
//! going away, and four worker processes draining 10,000 entries with each Message-ID arriving
//! once.

mod common;
// Not in common/mod.rs: the CLI's tests include that module too, without the mysql crate.
#[path = "common/mariadb.rs"]
mod mariadb;
#[path = "common/outbox_scenarios.rs"]
#[macro_use]
mod scenarios;

use std::time::Duration;

use common::TestServer;
use mailport::outbox::{EntryId, Filter, Outbox, State};
use mailport::{Config, Envelope, Security};
use mariadb::TestDatabase;
use scenarios::{Row, Store, all, message, message_id_of, plain, subject_of};

/// The scenarios' stores: one table a name, in the shared test database.
struct Tables;

impl Store for Tables {
    fn open(&self, name: &str, connections: Vec<Config>) -> Outbox {
        Outbox::open(&db().url(name), connections).unwrap()
    }

    fn stored_text(&self, name: &str, id: &EntryId) -> String {
        db().value::<String>(&format!(
            "SELECT CONCAT_WS(' ', `held_settings`, `record`) FROM `{name}` WHERE `id` = '{id}'"
        ))
        .unwrap_or_default()
    }

    fn row(&self, name: &str, id: &EntryId) -> Option<Row> {
        let id = id.as_str();
        Some(Row {
            state: column(name, id, "state"),
            lease_owner: column(name, id, "lease_owner"),
            body: column(name, id, "body").is_some(),
            header: column(name, id, "header").is_some(),
        })
    }

    fn count(&self, name: &str) -> Option<usize> {
        db().value::<i64>(&format!("SELECT COUNT(*) FROM `{name}`"))
            .map(|n| n as usize)
    }
}

outbox_scenarios!(Tables);

fn db() -> &'static TestDatabase {
    TestDatabase::shared()
}

/// An id as a PHP writer makes one: `sprintf('%013d-%s', ms, bin2hex(random_bytes(8)))`.
fn php_id(ms: u64, random: u64) -> String {
    format!("{ms:013}-{random:016x}")
}

fn column(table: &str, id: &str, column: &str) -> Option<String> {
    db().value(&format!(
        "SELECT CAST(`{column}` AS CHAR) FROM `{table}` WHERE `id` = '{id}'"
    ))
}

#[test]
fn a_description_row_inserted_by_plain_sql_is_rendered_once_and_sent() {
    // What a PHP request without the library does: one INSERT into the site's prefixed table.
    let server = TestServer::start(&["--mode", "plain"]);
    let url = format!(
        "mysql://{}:{}@localhost/{}?socket={}&prefix=wp_",
        db().user,
        db().password,
        db().database,
        db().socket.display()
    );
    let outbox = Outbox::open(&url, vec![plain(&server)]).unwrap();
    let id = php_id(1_764_979_200_123, 0x0123_4567_89ab_cdef);
    db().execute(&format!(
        "INSERT INTO `wp_mailport_outbox` (`id`, `created`, `description`) VALUES \
         ('{id}', UNIX_TIMESTAMP(), \
         '{{\"from\":\"Shop <shop@example.com>\",\"to\":[\"ann@example.org\"],\
         \"subject\":\"Welcome from PHP\",\"text\":\"Hello \\u00e9t\\u00e9\"}}')"
    ));
    let id = EntryId::parse(&id).unwrap();
    let queued = outbox.get(&id).unwrap();
    assert_eq!(queued.state, State::Queued);
    assert_eq!(queued.message_id, None, "not rendered yet");

    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, ["ann@example.org"]);
    assert_eq!(subject_of(&got[0].data), "Welcome from PHP");
    let record = outbox.get(&id).unwrap();
    assert_eq!(record.state, State::Sent);
    assert_eq!(
        record.message_id.as_deref(),
        Some(&*message_id_of(&got[0].data))
    );
    assert_eq!(record.recipients[0].address, "ann@example.org");
    assert!(column("wp_mailport_outbox", id.as_str(), "header").is_some());
}

#[test]
fn a_wp_mail_row_written_by_the_plugin_is_rendered_with_wordpress_rules_and_sent() {
    // What the WordPress plugin writes when the request cannot use the library: the wp_mail()
    // call itself, with the site's defaults and what WordPress's filters returned.
    let server = TestServer::start(&["--mode", "plain"]);
    let outbox = Outbox::open(&db().url("t_wp_mail"), vec![plain(&server)]).unwrap();
    let files = common::unique_temp_dir();
    std::fs::create_dir_all(&files).unwrap();
    let invoice = files.join("invoice.pdf");
    std::fs::write(&invoice, b"%PDF-1.4 invoice").unwrap();
    let id = php_id(1_764_979_200_456, 0x0fed_cba9_8765_4321);
    let description = serde_json::json!({
        "wp_mail": {
            "to": ["ann@example.org"],
            "subject": "Order 42",
            "message": "Thank you for your order.",
            "headers": "From: Shop <orders@shop.example>\r\nCc: carl@example.org",
            "attachments": [{"path": invoice, "name": "Invoice 42.pdf"}],
            "site_domain": "www.shop.example",
            "from_name": "The Shop"
        }
    });
    let mut conn = db().conn();
    use mysql::prelude::Queryable;
    conn.exec_drop(
        "INSERT INTO `t_wp_mail` (`id`, `created`, `description`) VALUES (?, UNIX_TIMESTAMP(), ?)",
        (id.as_str(), description.to_string()),
    )
    .unwrap();
    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "orders@shop.example");
    assert_eq!(got[0].rcpt_tos, ["ann@example.org", "carl@example.org"]);
    let text = String::from_utf8_lossy(&got[0].data);
    assert!(
        text.contains("From: The Shop <orders@shop.example>"),
        "{text}"
    );
    assert!(text.contains("Invoice 42.pdf"), "{text}");
    assert_eq!(subject_of(&got[0].data), "Order 42");
    let _ = std::fs::remove_dir_all(&files);
}

#[test]
fn corrupt_rows_are_quarantined_with_a_reason_and_the_run_goes_on() {
    let server = TestServer::start(&["--mode", "plain"]);
    let outbox = Outbox::open(&db().url("t_corrupt"), vec![plain(&server)]).unwrap();
    let description = r#"{"from":"shop@example.com","to":["ann@example.org"],"text":"x"}"#;
    let cases = [
        (
            php_id(1, 1),
            "'{not json', X'41'".to_string(),
            "NULL",
            "'queued'",
            "header cannot be read",
        ),
        (
            "not-an-id".to_string(),
            "NULL, NULL".to_string(),
            description,
            "'queued'",
            "its id is not of the form",
        ),
        (
            php_id(3, 3),
            "NULL, NULL".to_string(),
            description,
            "'QUEUED'",
            "state \"QUEUED\"",
        ),
        (
            php_id(4, 4),
            "NULL, NULL".to_string(),
            r#"{"from":"shop@example.com","too":["ann@example.org"]}"#,
            "'queued'",
            "description cannot be read",
        ),
        (
            php_id(5, 5),
            "NULL, NULL".to_string(),
            "NULL",
            "'queued'",
            "neither a header nor a description",
        ),
    ];
    for (id, header_and_body, description, state, _) in &cases {
        let description = if *description == "NULL" {
            "NULL".to_string()
        } else {
            format!("'{description}'")
        };
        db().execute(&format!(
            "INSERT INTO `t_corrupt` (`id`, `state`, `created`, `header`, `body`, `description`) \
             VALUES ('{id}', {state}, UNIX_TIMESTAMP(), {header_and_body}, {description})"
        ));
    }
    // A record that cannot be read, on an entry that can.
    let broken_record = outbox
        .enqueue(&message("record", "bob@example.org"))
        .unwrap();
    db().execute(&format!(
        "UPDATE `t_corrupt` SET `record` = '{{broken' WHERE `id` = '{broken_record}'"
    ));
    let good = outbox.enqueue(&message("good", "ann@example.org")).unwrap();

    let summary = outbox.run(&all()).unwrap();
    assert_eq!(summary.sent, 1, "{summary:?}");
    assert_eq!(outbox.get(&good).unwrap().state, State::Sent);
    assert_eq!(subject_of(&server.messages()[0].data), "good");
    for (id, _, _, _, says) in &cases {
        assert_eq!(
            column("t_corrupt", id, "state").as_deref(),
            Some("quarantined"),
            "{id}"
        );
        let reason = column("t_corrupt", id, "reason").unwrap();
        assert!(reason.contains(says), "{id}: {reason}");
    }
    let reason = column("t_corrupt", broken_record.as_str(), "reason").unwrap();
    assert!(reason.contains("record cannot be read"), "{reason}");
    let error = outbox.get(&broken_record).unwrap_err().message();
    assert!(error.contains("quarantined"), "{error}");
    // Quarantined rows are not listed, and a second run leaves them be.
    assert_eq!(outbox.list(&Filter::default()).unwrap().len(), 1);
    assert_eq!(outbox.run(&all()).unwrap(), Default::default());
}

#[test]
fn an_expired_lease_is_taken_over_and_a_live_one_is_not() {
    let server = TestServer::start(&["--mode", "plain"]);
    let outbox = Outbox::open(&db().url("t_lease"), vec![plain(&server)]).unwrap();
    let dead = outbox.enqueue(&message("dead", "ann@example.org")).unwrap();
    let live = outbox.enqueue(&message("live", "bob@example.org")).unwrap();
    // Two claims by other workers: one died ten seconds after its lease ran out, one is sending.
    db().execute(&format!(
        "UPDATE `t_lease` SET `state` = 'sending', `lease_owner` = 'dead.example:1:00000001', \
         `lease_expires` = UNIX_TIMESTAMP() - 10 WHERE `id` = '{dead}'"
    ));
    db().execute(&format!(
        "UPDATE `t_lease` SET `state` = 'sending', `lease_owner` = 'live.example:2:00000002', \
         `lease_expires` = UNIX_TIMESTAMP() + 600 WHERE `id` = '{live}'"
    ));
    let record = outbox.get(&live).unwrap();
    assert_eq!(record.state, State::Sending);
    assert_eq!(record.lease.unwrap().owner, "live.example:2:00000002");

    assert_eq!(outbox.run(&all()).unwrap().sent, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(subject_of(&got[0].data), "dead");
    let taken = outbox.get(&dead).unwrap();
    assert_eq!(taken.state, State::Sent);
    assert!(taken.maybe_delivered, "its first worker may have sent it");
    let held = outbox.get(&live).unwrap();
    assert_eq!(held.state, State::Sending);
    assert_eq!(
        column("t_lease", live.as_str(), "lease_owner").as_deref(),
        Some("live.example:2:00000002")
    );
    for error in [outbox.retry(&live), outbox.cancel(&live)] {
        let error = error.unwrap_err().message();
        assert!(error.contains("being sent now"), "{error}");
    }
}

#[test]
fn a_worker_that_lost_its_lease_does_not_overwrite_the_new_owner() {
    // A server that accepts and says nothing until the test hangs up: the worker waits for the
    // greeting while its lease is taken over, however slow the machine.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hang_up, hung_up) = std::sync::mpsc::channel::<()>();
    let (accepted_tx, accepted) = std::sync::mpsc::channel::<()>();
    let server = std::thread::spawn(move || {
        let (connection, _) = listener.accept().unwrap();
        let _ = accepted_tx.send(());
        let _ = hung_up.recv();
        drop(connection);
    });
    let mut config = Config::new("127.0.0.1");
    config.port = port;
    config.security = Security::None;
    config.timeouts.command = Duration::from_secs(60);
    let outbox = Outbox::open(&db().url("t_lost"), vec![config]).unwrap();
    let id = outbox.enqueue(&message("lost", "ann@example.org")).unwrap();
    // Ids order by the millisecond: this one is tried first.
    std::thread::sleep(Duration::from_millis(5));
    let others: Vec<EntryId> = (0..2)
        .map(|n| {
            outbox
                .enqueue(&message(&format!("other {n}"), "bob@example.org"))
                .unwrap()
        })
        .collect();
    let error = std::thread::scope(|scope| {
        let worker = scope.spawn(|| outbox.run(&all()));
        // Its lease is taken only once the worker waits for the greeting: before, it would
        // notice at once, without connecting.
        accepted
            .recv_timeout(Duration::from_secs(20))
            .expect("the worker never connected");
        assert_eq!(
            column("t_lost", id.as_str(), "state").as_deref(),
            Some("sending")
        );
        db().execute(&format!(
            "UPDATE `t_lost` SET `lease_owner` = 'thief.example:3:00000003', \
             `lease_expires` = UNIX_TIMESTAMP() + 600 WHERE `id` = '{id}'"
        ));
        hang_up.send(()).unwrap();
        worker.join().unwrap().unwrap_err().message()
    });
    server.join().unwrap();
    assert!(error.contains("was lost"), "{error}");
    assert!(error.contains(id.as_str()), "{error}");
    assert_eq!(
        column("t_lost", id.as_str(), "state").as_deref(),
        Some("sending")
    );
    assert_eq!(
        column("t_lost", id.as_str(), "lease_owner").as_deref(),
        Some("thief.example:3:00000003")
    );
    assert_eq!(
        column("t_lost", id.as_str(), "record"),
        None,
        "nothing of the attempt saved"
    );
    // The run stops once the lost claim is known (its record is committed while the worker
    // goes on): the entries it had claimed are free again at once, not when their lease
    // expires, untried or deferred (the server is gone), and none is said to be delivered.
    for other in &others {
        let record = outbox.get(other).unwrap();
        assert!(
            matches!(record.state, State::Queued | State::Deferred),
            "{other}: {record:?}"
        );
        assert_eq!(record.lease, None, "{other}");
        assert!(!record.maybe_delivered, "{other}");
    }
}

#[test]
fn enqueue_fails_clearly_while_the_database_is_down_and_writes_nothing() {
    let db = TestDatabase::start();
    let url = db.url("t_down");
    let outbox = Outbox::open(&url, vec![]).unwrap();
    outbox
        .enqueue(&message("before", "ann@example.org"))
        .unwrap();
    db.stop();

    let error = outbox
        .enqueue(&message("during", "ann@example.org"))
        .unwrap_err()
        .message();
    let socket = db.socket.display().to_string();
    assert!(error.contains(&socket), "names the socket: {error}");
    assert!(error.contains("outbox database mailport"), "{error}");
    assert!(!error.contains(&db.password), "{error}");
    let error = Outbox::open(&url, vec![]).err().unwrap().message();
    assert!(
        error.contains(&socket) && error.contains("cannot connect"),
        "{error}"
    );
    assert!(!error.contains(&db.password), "{error}");

    db.restart();
    let subjects: Vec<String> = outbox
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(
        subjects.len(),
        1,
        "only the entry enqueued before: {subjects:?}"
    );
    // The same outbox works again once the database is back.
    outbox
        .enqueue(&message("after", "ann@example.org"))
        .unwrap();
    assert_eq!(db.value::<i64>("SELECT COUNT(*) FROM `t_down`"), Some(2));
}

#[test]
fn a_wrong_password_or_a_missing_socket_is_named_without_the_password() {
    let secret = "Wr0ng-Secret-42";
    let url = format!(
        "mysql://{}:{secret}@localhost/{}?socket={}",
        db().user,
        db().database,
        db().socket.display()
    );
    let error = Outbox::open(&url, vec![]).err().unwrap().message();
    assert!(error.contains("Access denied"), "{error}");
    assert!(
        error.contains(&db().socket.display().to_string()),
        "{error}"
    );
    assert!(!error.contains(secret), "{error}");

    let url = format!("mariadb://shop:{secret}@localhost/site?socket=/nonexistent/mysqld.sock");
    let error = Outbox::open(&url, vec![]).err().unwrap().message();
    assert!(error.contains("/nonexistent/mysqld.sock"), "{error}");
    assert!(!error.contains(secret), "{error}");

    let error = Outbox::open(
        &format!("mysql://shop:{secret}@db.example/site?tabel=x"),
        vec![],
    )
    .err()
    .unwrap()
    .message();
    assert!(error.contains("unknown parameter"), "{error}");
    assert!(!error.contains(secret), "{error}");
}

#[test]
fn a_message_larger_than_the_server_takes_fails_at_enqueue_and_writes_nothing() {
    let outbox = Outbox::open(&db().url("t_large"), vec![]).unwrap();
    let limit: i64 = db().value("SELECT @@max_allowed_packet").unwrap();
    let envelope = Envelope::new("shop@example.com", vec!["ann@example.org".into()]).unwrap();
    let mut raw = b"Subject: large\r\n\r\n".to_vec();
    raw.resize(usize::try_from(limit).unwrap() + 1024, b'x');
    let error = outbox.enqueue_raw(&envelope, &raw).unwrap_err();
    assert_eq!(error.kind(), mailport::Kind::MessageTooLarge);
    let error = error.message();
    assert!(error.contains("outbox database mailport"), "{error}");
    assert!(error.contains("max_allowed_packet"), "{error}");
    assert_eq!(db().value::<i64>("SELECT COUNT(*) FROM `t_large`"), Some(0));
    // The outbox goes on working.
    outbox
        .enqueue(&message("small", "ann@example.org"))
        .unwrap();
    assert_eq!(db().value::<i64>("SELECT COUNT(*) FROM `t_large`"), Some(1));
}

#[test]
fn tls_to_the_database_verifies_its_certificate_with_rustls() {
    let db = TestDatabase::start_tls("db.test");
    let (port, ca) = (db.port.unwrap(), db.ca.clone().unwrap());
    let url = |parameters: &str| {
        format!(
            "mysql://{}:{}@127.0.0.1:{port}/{}?table=t_tls&{parameters}",
            db.user, db.password, db.database
        )
    };
    let open = |parameters: &str| Outbox::open(&url(parameters), vec![]);
    // The certificate names db.test, not 127.0.0.1: the chain is checked, the name is not.
    let outbox = open(&format!("ssl-mode=verify_ca&ssl-ca={}", ca.display())).unwrap();
    let id = outbox
        .enqueue(&message("over TLS", "ann@example.org"))
        .unwrap();
    assert_eq!(outbox.get(&id).unwrap().state, State::Queued);

    for (parameters, says) in [
        // The user must use TLS over TCP: without it the server refuses the login.
        (String::new(), "Access denied"),
        // The name is checked too: 127.0.0.1 is not db.test.
        (format!("ssl-ca={}", ca.display()), "certificate"),
        // A CA the client does not know.
        ("ssl-mode=verify_ca".to_string(), "certificate"),
    ] {
        let error = open(&parameters).err().unwrap().message();
        assert!(error.contains(says), "{parameters}: {error}");
        assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
        assert!(!error.contains(&db.password), "{error}");
    }
}
