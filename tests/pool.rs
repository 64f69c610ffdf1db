//! Persistent mode: the process-wide pool hands a session only to a client whose server, login,
//! trust and permissions are those it was opened with, and the session then sends with that
//! client's own settings, never with those of a client that used it before.
//!
//! Each test starts its own server, so its pooled sessions (keyed by port) are its own.

mod common;

use std::time::{Duration, Instant};

use common::scripted::{Failure, Script, ScriptedServer};
use common::{TestServer, config_for};
use mailport::{Client, Config, Credentials, Envelope, Kind, Secret, Security};

const FROM: &str = "sender@example.org";
const TO: &str = "rcpt@example.net";
/// Refused by both test servers (aiosmtpd with `--reject-rcpt nobody`, and the scripted one).
const REFUSED: &str = "nobody@example.net";
const USER: &str = "alice";
const PASSWORD: &str = "c0rrect-h0rse-9731";

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(FROM, to.iter().map(|s| s.to_string()).collect()).expect("envelope")
}

fn persistent(server: &TestServer, security: Security) -> Config {
    let mut config = config_for("127.0.0.1", server, security);
    config.credentials = Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(PASSWORD),
    });
    config.persistent = true;
    config
}

fn reused(client: &Client) -> bool {
    client.transcript().contains("reusing a pooled connection")
}

#[test]
fn a_pooled_session_sends_with_the_recipient_and_transcript_settings_of_its_new_client() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        &auth,
        "--reject-rcpt",
        "nobody",
    ]);
    let mut lenient = persistent(&server, Security::StartTls);
    lenient.allow_partial_recipients = true;
    lenient.transcript_bodies = true;
    let mut a = Client::new(lenient).unwrap();
    let receipt = a
        .send_bytes(
            &envelope(&[TO, REFUSED]),
            b"Subject: a\r\n\r\nbody of A\r\n",
        )
        .unwrap();
    assert_eq!(receipt.rejected.len(), 1, "A allows partial delivery");
    assert!(a.transcript().contains("body of A"), "A logs bodies");
    drop(a);

    // B takes A's session from the pool, with the defaults: all recipients or none, no bodies.
    let mut b = Client::new(persistent(&server, Security::StartTls)).unwrap();
    let err = b
        .send_bytes(
            &envelope(&[TO, REFUSED]),
            b"Subject: b\r\n\r\nbody of B\r\n",
        )
        .unwrap_err();
    assert!(reused(&b), "{}", b.transcript());
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{err}");
    assert_eq!(
        server.messages().len(),
        1,
        "B's message went to part of its recipients"
    );
    b.send_bytes(&envelope(&[TO]), b"Subject: c\r\n\r\nsecond body of B\r\n")
        .unwrap();
    let transcript = b.transcript();
    assert!(!transcript.contains("body of B"), "{transcript}");
    assert!(transcript.contains("<message: "), "{transcript}");
    assert_eq!(server.messages().len(), 2);
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_pooled_session_waits_for_replies_as_long_as_its_new_client_says() {
    let server = ScriptedServer::start(Script {
        pipelining: true,
        fail: Some((2, Failure::Silence)),
        ..Script::default()
    });
    let mut config = Config::new("127.0.0.1");
    config.port = server.port();
    config.security = Security::None;
    config.helo_name = Some("client.test".into());
    config.persistent = true;
    let mut patient = config.clone();
    patient.timeouts.data_end = Duration::from_secs(30);
    Client::new(patient)
        .unwrap()
        .send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();

    // B takes the session and gives the server 1 s to take its message.
    config.timeouts.data_end = Duration::from_secs(1);
    let mut b = Client::new(config).unwrap();
    let started = Instant::now();
    let err = b
        .send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap_err();
    assert!(reused(&b), "{}", b.transcript());
    assert_eq!(err.kind(), Kind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "B waited {:?}, as long as A would have",
        started.elapsed()
    );
}

#[test]
fn a_session_authenticated_in_plaintext_serves_only_clients_that_allow_it() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "plain", "--auth", &auth, "--auth-plaintext"]);
    let mut allowing = persistent(&server, Security::None);
    allowing.dangerous_allow_plaintext_auth = true;
    Client::new(allowing)
        .unwrap()
        .send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();

    let mut b = Client::new(persistent(&server, Security::None)).unwrap();
    let err = b
        .send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap_err();
    assert!(!reused(&b), "{}", b.transcript());
    assert_eq!(err.kind(), Kind::AuthUnavailable, "{err}");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_changed_ca_file_gives_a_new_session() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    // Only for its CA, which did not sign `server`'s certificate.
    let other = TestServer::start(&["--mode", "plain"]);
    let dir = common::unique_temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::copy(&server.ca, &ca).unwrap();
    let mut config = persistent(&server, Security::StartTls);
    config.tls.ca_files = vec![ca.clone()];

    let mut a = Client::new(config.clone()).unwrap();
    a.send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();
    drop(a);
    let mut same = Client::new(config.clone()).unwrap();
    same.send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap();
    assert!(reused(&same), "the same CA file: the same session");
    drop(same);

    // The operator replaces the CA: the server's certificate is no longer trusted.
    std::fs::copy(&other.ca, &ca).unwrap();
    let mut c = Client::new(config).unwrap();
    let err = c
        .send_bytes(&envelope(&[TO]), b"Subject: c\r\n\r\nc\r\n")
        .unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!reused(&c), "{}", c.transcript());
    assert_eq!(err.kind(), Kind::CertificateUntrusted, "{err}");
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn an_automatic_port_choice_serves_only_clients_with_the_same_candidates() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let mut config = persistent(&server, Security::StartTls);
    config.port = mailport::config::PORT_AUTO;
    config.auto_ports = vec![(server.port, Security::StartTls)];
    Client::new(config.clone())
        .unwrap()
        .send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();

    // B allows only a port where nothing listens: A's choice is not one B would make.
    config.auto_ports = vec![(common::refused_port(), Security::StartTls)];
    let mut b = Client::new(config).unwrap();
    let err = b
        .send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap_err();
    assert!(!reused(&b), "{}", b.transcript());
    assert_eq!(err.kind(), Kind::ConnectRefused, "{err}");
    assert_eq!(server.messages().len(), 1);
}
