//! End-to-end tests of the mailport client against a real SMTP server we did not write:
//! aiosmtpd (PyPI), started per test on 127.0.0.1 by `tests/servers/aiosmtpd_server.py`, with a
//! CA and certificates generated at start by trustme. Each test checks both what the client
//! reports and what the server actually received.

mod common;

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{TestServer, base64_encode, config_for, crlf_normalise, free_port};
use mailport::transcript::{Direction, Sink};
use mailport::{Client, Config, Credentials, Envelope, Error, Kind, Receipt, Secret, Security};

const FROM: &str = "sender@example.org";
const TO: &str = "rcpt@example.net";
const USER: &str = "alice";
const PASSWORD: &str = "c0rrect-h0rse-9731";

/// A liveness bound for calls that must give up on a silent server: far above the configured
/// timeouts (2 s), far below "hangs forever".
const LIVENESS: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// helpers

fn config(server: &TestServer, security: Security) -> Config {
    config_for("127.0.0.1", server, security)
}

fn password(pass: &str) -> Option<Credentials> {
    Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(pass),
    })
}

fn client(config: Config) -> Client {
    Client::new(config).expect("Client::new")
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(FROM, to.iter().map(|s| s.to_string()).collect()).expect("envelope")
}

fn message(tag: &str) -> Vec<u8> {
    format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: {tag}\r\nMessage-ID: <{tag}@client.test>\r\n\
         \r\nHello from the {tag} test.\r\nSecond line.\r\n"
    )
    .into_bytes()
}

/// A CRLF message of exactly `size` bytes.
fn message_of_size(size: usize) -> Vec<u8> {
    let mut body = b"Subject: sized\r\n\r\n".to_vec();
    while body.len() < size {
        let left = size - body.len();
        let line_len = left.min(78);
        if line_len <= 2 {
            // Too little room for a line: pad the previous one instead.
            body.truncate(body.len() - 2);
            body.extend(std::iter::repeat_n(b'y', line_len));
            body.extend_from_slice(b"\r\n");
        } else {
            body.extend(std::iter::repeat_n(b'x', line_len - 2));
            body.extend_from_slice(b"\r\n");
        }
    }
    assert_eq!(body.len(), size);
    body
}

/// The error of a send that must fail.
fn send_err(client: &mut Client, envelope: &Envelope, body: &[u8]) -> Error {
    match client.send_bytes(envelope, body) {
        Ok(receipt) => panic!(
            "expected an error, got {receipt:?}\n--- transcript ---\n{}",
            client.transcript()
        ),
        Err(err) => err,
    }
}

fn send_ok(client: &mut Client, envelope: &Envelope, body: &[u8]) -> Receipt {
    match client.send_bytes(envelope, body) {
        Ok(receipt) => receipt,
        Err(err) => panic!("send failed: {}", describe(&err)),
    }
}

/// Send on another thread and give up after `bound`: a client that hangs fails the test
/// instead of hanging it. Returns the error and how long the send took.
fn send_err_within(config: Config, to: &str, body: Vec<u8>, bound: Duration) -> (Error, Duration) {
    let envelope = envelope(&[to]);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let start = Instant::now();
        let result = Client::new(config).and_then(|mut c| c.send_bytes(&envelope, &body));
        let _ = tx.send((result, start.elapsed()));
    });
    match rx.recv_timeout(bound) {
        Ok((Ok(receipt), _)) => panic!("expected an error, got {receipt:?}"),
        Ok((Err(err), elapsed)) => (err, elapsed),
        Err(_) => panic!("the send did not return within the {bound:?} liveness bound"),
    }
}

/// The 2 s timeout under test, not one of the 10 s others, ended the wait (generous slack: this
/// checks which limit applied, not speed).
fn assert_short_timeout_applied(elapsed: Duration, what: &str) {
    assert!(
        elapsed < Duration::from_secs(8),
        "{what}: took {elapsed:?}; the 2 s timeout under test should have ended it"
    );
}

fn describe(err: &Error) -> String {
    format!(
        "{err:?}\nhint: {}\n--- transcript ---\n{}",
        err.hint(),
        err.transcript()
    )
}

/// Lines the client sent whose command verb is `verb`.
fn sent_commands(transcript: &str, verb: &str) -> usize {
    transcript
        .lines()
        .filter_map(|l| l.strip_prefix("C: "))
        .filter(|l| {
            l.split(' ')
                .next()
                .is_some_and(|v| v.eq_ignore_ascii_case(verb))
        })
        .count()
}

/// Every form in which a password could leak into a transcript or message.
fn secret_forms(user: &str, pass: &str) -> Vec<String> {
    vec![
        pass.to_string(),
        base64_encode(format!("\0{user}\0{pass}").as_bytes()),
        base64_encode(format!("{user}\0{user}\0{pass}").as_bytes()),
        base64_encode(pass.as_bytes()),
    ]
}

fn assert_no_secret(what: &str, text: &str, pass: &str) {
    for form in secret_forms(USER, pass) {
        assert!(
            !text.contains(&form),
            "{what} leaks the password (as {form:?}):\n{text}"
        );
    }
}

fn assert_tls_version(version: &str) {
    assert!(
        version == "TLSv1.3" || version == "TLSv1.2",
        "unexpected TLS version {version:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. plaintext

#[test]
fn plaintext_send_delivers_exact_bytes_and_envelope() {
    let server = TestServer::start(&["--mode", "plain", "--queue-id"]);
    let mut c = client(config(&server, Security::None));
    // Mixed line endings and no final line ending: the server must get CRLF throughout.
    let body = b"From: <sender@example.org>\r\nSubject: plain\r\n\r\nunix line\nmac line\rlast";
    let receipt = send_ok(&mut c, &envelope(&[TO]), body);
    assert_eq!(receipt.security, Security::None);
    assert!(receipt.tls.is_none(), "{receipt:?}");
    assert_eq!(receipt.port, server.port);
    assert_eq!(receipt.accepted, [TO]);
    assert!(receipt.rejected.is_empty());
    assert_eq!(receipt.reply.code(), 250);

    let got = server.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m.mail_from, FROM);
    assert_eq!(m.rcpt_tos, [TO]);
    assert_eq!(
        String::from_utf8_lossy(&m.data),
        String::from_utf8_lossy(&crlf_normalise(body))
    );
    assert!(!m.tls);
    assert_eq!(m.auth_user, None);
    assert_eq!(m.helo.as_deref(), Some("client.test"));
    let queue_id = m.queue_id.as_deref().expect("queue id");
    assert!(
        receipt.reply.one_line().contains(queue_id),
        "the receipt should carry the server's final reply: {:?} vs queue id {queue_id}",
        receipt.reply
    );
}

// 2. STARTTLS

#[test]
fn starttls_send_is_encrypted_and_connects_by_name() {
    let server = TestServer::start(&["--mode", "starttls"]);
    // "localhost": every resolved address is tried (::1, where nothing listens, may come first).
    let mut c = client(config_for("localhost", &server, Security::StartTls));
    let receipt = send_ok(&mut c, &envelope(&[TO]), &message("starttls"));
    assert_eq!(receipt.security, Security::StartTls);
    let tls = receipt
        .tls
        .as_ref()
        .expect("receipt.tls for a STARTTLS session");
    assert_tls_version(&tls.version);
    assert!(!tls.cipher.is_empty(), "{tls:?}");

    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "the server got the message in plaintext");
    assert_eq!(got[0].tls_version.as_deref(), Some(tls.version.as_str()));
    assert_eq!(got[0].data, message("starttls"));
    // The upgrade happened and EHLO was repeated on the encrypted channel.
    assert_eq!(server.events_named("STARTTLS").len(), 1);
    assert_eq!(
        server.events_named("EHLO").len(),
        2,
        "{:?}",
        server.events()
    );
}

#[test]
fn starttls_reports_the_negotiated_tls12_version() {
    let server = TestServer::start(&["--mode", "starttls", "--tls-max", "1.2"]);
    // 127.0.0.1 is in the certificate as an IP address.
    let mut c = client(config(&server, Security::StartTls));
    let receipt = send_ok(&mut c, &envelope(&[TO]), &message("tls12"));
    let tls = receipt.tls.expect("tls info");
    assert_eq!(tls.version, "TLSv1.2");
    assert_eq!(server.messages()[0].tls_version.as_deref(), Some("TLSv1.2"));
}

#[test]
fn opportunistic_uses_tls_when_offered_and_plaintext_otherwise() {
    let tls_server = TestServer::start(&["--mode", "starttls"]);
    let mut c = client(config(&tls_server, Security::Opportunistic));
    let receipt = send_ok(&mut c, &envelope(&[TO]), &message("opportunistic-tls"));
    assert!(receipt.tls.is_some(), "{receipt:?}");
    assert!(tls_server.messages()[0].tls);

    let plain_server = TestServer::start(&["--mode", "plain"]);
    let mut c = client(config(&plain_server, Security::Opportunistic));
    let receipt = send_ok(&mut c, &envelope(&[TO]), &message("opportunistic-plain"));
    assert!(receipt.tls.is_none(), "{receipt:?}");
    assert!(!plain_server.messages()[0].tls);
}

// 3. implicit TLS

#[test]
fn implicit_tls_send() {
    let server = TestServer::start(&["--mode", "tls"]);
    let mut c = client(config_for("localhost", &server, Security::Tls));
    let receipt = send_ok(&mut c, &envelope(&[TO]), &message("implicit"));
    assert_eq!(receipt.security, Security::Tls);
    let tls = receipt.tls.expect("receipt.tls for implicit TLS");
    assert_tls_version(&tls.version);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(got[0].tls_version.as_deref(), Some(tls.version.as_str()));
    assert_eq!(got[0].data, message("implicit"));
    assert!(server.events_named("STARTTLS").is_empty());
}

// 4. AUTH PLAIN

#[test]
fn auth_plain_over_starttls() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let mut cfg = config(&server, Security::StartTls);
    cfg.credentials = password(PASSWORD);
    let mut c = client(cfg);
    send_ok(&mut c, &envelope(&[TO]), &message("auth-plain"));
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert!(got[0].tls);
    // AUTH came after STARTTLS, and with PLAIN (preferred when both are offered).
    let events = server.events();
    let tls_at = events.iter().position(|e| e.ends_with(" STARTTLS"));
    let auth_at = events.iter().position(|e| e.contains(" AUTH "));
    assert!(tls_at < auth_at && tls_at.is_some(), "{events:?}");
    assert_eq!(server.events_named("AUTH"), ["1 AUTH PLAIN"]);
    assert_no_secret("the transcript", &c.transcript(), PASSWORD);
}

#[test]
fn auth_failure_is_permanent_and_redacted() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let wrong = "Wr0ng-pass-5521";
    let mut cfg = config(&server, Security::StartTls);
    cfg.credentials = password(wrong);
    let mut c = client(cfg);
    let err = send_err(&mut c, &envelope(&[TO]), &message("auth-fail"));
    assert_eq!(err.kind(), Kind::AuthFailed, "{}", describe(&err));
    assert_eq!(
        err.reply().map(|r| r.code()),
        Some(535),
        "{}",
        describe(&err)
    );
    assert!(!err.is_transient());
    assert_no_secret("the error transcript", err.transcript(), wrong);
    assert_no_secret("the client transcript", &c.transcript(), wrong);
    assert_no_secret("the error", &format!("{err} {err:?} {}", err.hint()), wrong);
    assert!(server.messages().is_empty());
    assert!(
        server.events_named("MAIL").is_empty(),
        "{:?}",
        server.events()
    );
}

// 5. AUTH LOGIN

#[test]
fn auth_login_when_plain_is_not_offered() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        &auth,
        "--auth-mechs",
        "LOGIN",
    ]);
    let mut cfg = config(&server, Security::StartTls);
    cfg.credentials = password(PASSWORD);
    let mut c = client(cfg);
    send_ok(&mut c, &envelope(&[TO]), &message("auth-login"));
    let transcript = c.transcript();
    assert!(transcript.contains("AUTH LOGIN"), "{transcript}");
    assert_no_secret("the transcript", &transcript, PASSWORD);
    assert_eq!(server.events_named("AUTH"), ["1 AUTH LOGIN"]);
    assert_eq!(server.messages()[0].auth_user.as_deref(), Some(USER));
}

// 6. STARTTLS required but not offered

#[test]
fn required_starttls_not_offered_aborts_before_anything_is_sent() {
    let server = TestServer::start(&["--mode", "plain", "--no-starttls-offer"]);
    let mut cfg = config(&server, Security::StartTls);
    cfg.credentials = password(PASSWORD);
    let mut c = client(cfg);
    let err = send_err(&mut c, &envelope(&[TO]), &message("no-starttls"));
    assert_eq!(err.kind(), Kind::StartTlsUnavailable, "{}", describe(&err));
    assert!(server.messages().is_empty());
    assert!(
        server.events_named("AUTH").is_empty(),
        "{:?}",
        server.events()
    );
    assert!(
        server.events_named("MAIL").is_empty(),
        "{:?}",
        server.events()
    );
    assert_eq!(sent_commands(err.transcript(), "AUTH"), 0);
    assert_no_secret("the transcript", &c.transcript(), PASSWORD);
}

#[test]
fn auto_security_on_a_submission_port_requires_starttls() {
    // Security::Auto on a port other than 25/465 means STARTTLS required.
    let server = TestServer::start(&["--mode", "plain"]);
    let mut c = client(config(&server, Security::Auto));
    let err = send_err(&mut c, &envelope(&[TO]), &message("auto"));
    assert_eq!(err.kind(), Kind::StartTlsUnavailable, "{}", describe(&err));
    assert!(server.messages().is_empty());
}

// 7. credentials over plaintext

#[test]
fn credentials_are_never_sent_in_plaintext_by_default() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "plain", "--auth", &auth, "--auth-plaintext"]);
    let mut cfg = config(&server, Security::None);
    cfg.credentials = password(PASSWORD);
    let mut c = client(cfg);
    let err = send_err(&mut c, &envelope(&[TO]), &message("plain-auth-refused"));
    assert_eq!(err.kind(), Kind::AuthUnavailable, "{}", describe(&err));
    assert_eq!(
        sent_commands(err.transcript(), "AUTH"),
        0,
        "{}",
        describe(&err)
    );
    assert_eq!(sent_commands(&c.transcript(), "AUTH"), 0);
    assert!(
        server.events_named("AUTH").is_empty(),
        "{:?}",
        server.events()
    );
    assert!(server.messages().is_empty());
}

#[test]
fn plaintext_auth_when_explicitly_allowed() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "plain", "--auth", &auth, "--auth-plaintext"]);
    let mut cfg = config(&server, Security::None);
    cfg.credentials = password(PASSWORD);
    cfg.dangerous_allow_plaintext_auth = true;
    let mut c = client(cfg);
    send_ok(&mut c, &envelope(&[TO]), &message("plain-auth"));
    let got = server.messages();
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert!(!got[0].tls);
    assert_no_secret("the transcript", &c.transcript(), PASSWORD);
}

#[test]
fn plaintext_auth_allowed_but_server_offers_no_auth() {
    // aiosmtpd with auth_require_tls (the default) does not offer AUTH before TLS.
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "plain", "--auth", &auth]);
    let mut cfg = config(&server, Security::None);
    cfg.credentials = password(PASSWORD);
    cfg.dangerous_allow_plaintext_auth = true;
    let mut c = client(cfg);
    let err = send_err(&mut c, &envelope(&[TO]), &message("no-auth-offered"));
    assert_eq!(err.kind(), Kind::AuthUnavailable, "{}", describe(&err));
    assert!(server.messages().is_empty());
}

// 8. certificates

#[test]
fn wrong_certificate_name_is_refused() {
    let server = TestServer::start(&["--mode", "starttls", "--cert-name", "other.example"]);
    let mut c = client(config_for("localhost", &server, Security::StartTls));
    let err = send_err(&mut c, &envelope(&[TO]), &message("wrong-name"));
    assert_eq!(
        err.kind(),
        Kind::CertificateNameMismatch,
        "{}",
        describe(&err)
    );
    assert!(!err.is_transient());
    assert!(server.messages().is_empty());
    assert!(
        server.events_named("MAIL").is_empty(),
        "{:?}",
        server.events()
    );

    let tls_server = TestServer::start(&["--mode", "tls", "--cert-name", "other.example"]);
    let mut c = client(config(&tls_server, Security::Tls));
    let err = send_err(&mut c, &envelope(&[TO]), &message("wrong-name-ip"));
    assert_eq!(
        err.kind(),
        Kind::CertificateNameMismatch,
        "{}",
        describe(&err)
    );
    assert!(tls_server.messages().is_empty());

    // Control: the same certificate verifies when the expected name is given.
    let mut cfg = config(&tls_server, Security::Tls);
    cfg.tls.server_name = Some("other.example".into());
    send_ok(&mut client(cfg), &envelope(&[TO]), &message("server-name"));
    assert_eq!(tls_server.messages().len(), 1);
}

#[test]
fn untrusted_certificate_is_refused() {
    let server = TestServer::start(&["--mode", "tls", "--untrusted"]);
    let mut c = client(config_for("localhost", &server, Security::Tls));
    let err = send_err(&mut c, &envelope(&[TO]), &message("untrusted"));
    assert_eq!(err.kind(), Kind::CertificateUntrusted, "{}", describe(&err));
    assert!(!err.is_transient());
    assert!(server.messages().is_empty());
    assert!(
        server.events_named("EHLO").is_empty(),
        "{:?}",
        server.events()
    );

    let starttls = TestServer::start(&["--mode", "starttls", "--untrusted"]);
    let mut c = client(config(&starttls, Security::StartTls));
    let err = send_err(&mut c, &envelope(&[TO]), &message("untrusted-starttls"));
    assert_eq!(err.kind(), Kind::CertificateUntrusted, "{}", describe(&err));
    assert!(starttls.messages().is_empty());
    assert!(starttls.events_named("MAIL").is_empty());

    // Control: the explicit opt-out accepts the same server.
    let mut cfg = config(&server, Security::Tls);
    cfg.tls.dangerous_accept_invalid_certs = true;
    send_ok(
        &mut client(cfg),
        &envelope(&[TO]),
        &message("accept-invalid"),
    );
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn default_trust_store_does_not_trust_a_private_ca() {
    // Without ca_files, a trustme CA is in neither webpki-roots nor the system store.
    let server = TestServer::start(&["--mode", "tls"]);
    let mut cfg = config_for("localhost", &server, Security::Tls);
    cfg.tls = Default::default();
    let err = send_err(
        &mut client(cfg),
        &envelope(&[TO]),
        &message("default-roots"),
    );
    assert_eq!(err.kind(), Kind::CertificateUntrusted, "{}", describe(&err));
    assert!(server.messages().is_empty());
}

// 9. wrong kind of port

#[test]
fn implicit_tls_client_against_a_plaintext_server() {
    let server = TestServer::start(&["--mode", "plain"]);
    let mut cfg = config(&server, Security::Tls);
    cfg.timeouts.command = Duration::from_secs(2);
    let (err, _) = send_err_within(cfg, TO, message("tls-on-plain"), LIVENESS);
    assert_eq!(err.kind(), Kind::PlaintextOnTlsPort, "{}", describe(&err));
    let hint = err.hint().to_ascii_lowercase();
    assert!(
        hint.contains("starttls") || hint.contains("587"),
        "hint should point to STARTTLS/587: {hint:?}"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn plaintext_clients_against_an_implicit_tls_server() {
    let server = TestServer::start(&["--mode", "tls"]);
    for security in [Security::None, Security::StartTls] {
        let mut cfg = config(&server, security);
        cfg.timeouts.command = Duration::from_secs(2);
        let (err, elapsed) = send_err_within(cfg, TO, message("plain-on-tls"), LIVENESS);
        assert_short_timeout_applied(elapsed, "plaintext client against implicit TLS");
        // The client offers a TLS hello to a server that stays silent, so it can say exactly
        // what the port speaks.
        assert_eq!(
            err.kind(),
            Kind::TlsOnPlaintextPort,
            "{security:?}: {}",
            describe(&err)
        );
        let hint = err.hint().to_ascii_lowercase();
        assert!(
            hint.contains("implicit") && hint.contains("465"),
            "{security:?}: hint should point to implicit TLS/465: {hint:?}"
        );
    }
    assert!(server.messages().is_empty());
}

#[test]
fn nothing_listening_is_connect_refused() {
    let mut cfg = Config::new("127.0.0.1");
    cfg.port = free_port();
    cfg.security = Security::None;
    cfg.timeouts.connect = Duration::from_secs(5);
    let (err, _) = send_err_within(cfg, TO, message("refused"), LIVENESS);
    assert_eq!(err.kind(), Kind::ConnectRefused, "{}", describe(&err));
    assert!(err.is_transient());
}

// 10. recipients

const GOOD1: &str = "good1@example.net";
const GOOD2: &str = "good2@example.net";
const BAD: &str = "bad@example.net";

#[test]
fn a_rejected_recipient_aborts_the_message_by_default() {
    let server = TestServer::start(&["--reject-rcpt", "bad"]);
    let mut c = client(config(&server, Security::None));
    let err = send_err(
        &mut c,
        &envelope(&[GOOD1, BAD, GOOD2]),
        &message("rejected"),
    );
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    let rejected = err.rejected_recipients();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].address, BAD);
    assert_eq!(rejected[0].reply.code(), 550);
    assert!(!err.is_transient());
    assert!(server.messages().is_empty());
    assert!(
        server.events_named("DATA").is_empty(),
        "{:?}",
        server.events()
    );

    // The session is still usable afterwards.
    send_ok(&mut c, &envelope(&[GOOD1]), &message("after-reject"));
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_tos, [GOOD1]);
}

#[test]
fn partial_recipients_deliver_to_the_accepted_ones() {
    for pipelining in [false, true] {
        let mut args = vec!["--reject-rcpt", "bad"];
        if pipelining {
            args.push("--pipelining");
        }
        let server = TestServer::start(&args);
        let mut cfg = config(&server, Security::None);
        cfg.allow_partial_recipients = true;
        let mut c = client(cfg);
        let receipt = send_ok(&mut c, &envelope(&[GOOD1, BAD, GOOD2]), &message("partial"));
        assert_eq!(receipt.accepted, [GOOD1, GOOD2], "pipelining={pipelining}");
        assert_eq!(receipt.rejected.len(), 1, "{receipt:?}");
        assert_eq!(receipt.rejected[0].address, BAD);
        assert_eq!(receipt.rejected[0].reply.code(), 550);
        let got = server.messages();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].rcpt_tos, [GOOD1, GOOD2]);
        assert_eq!(got[0].data, message("partial"));
    }
}

#[test]
fn partial_recipients_with_none_accepted_is_an_error() {
    let server = TestServer::start(&["--reject-rcpt", "bad"]);
    let mut cfg = config(&server, Security::None);
    cfg.allow_partial_recipients = true;
    let err = send_err(
        &mut client(cfg),
        &envelope(&[BAD, "bad2@example.net"]),
        b"x\r\n",
    );
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    assert_eq!(err.rejected_recipients().len(), 2);
    assert!(server.messages().is_empty());
}

#[test]
fn a_temporarily_failed_recipient_is_transient() {
    let server = TestServer::start(&["--tempfail-rcpt", "later"]);
    let mut c = client(config(&server, Security::None));
    let err = send_err(
        &mut c,
        &envelope(&["later@example.net"]),
        &message("tempfail"),
    );
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    assert!(err.is_transient(), "{}", describe(&err));
    assert_eq!(err.rejected_recipients()[0].reply.code(), 450);
    assert!(server.messages().is_empty());
}

// 11. a server that stops answering

#[test]
fn silent_after_data_times_out() {
    let server = TestServer::start(&["--hang", "data"]);
    let mut cfg = config(&server, Security::None);
    cfg.timeouts.data_end = Duration::from_secs(2);
    cfg.timeouts.command = Duration::from_secs(10);
    let (err, elapsed) = send_err_within(cfg, TO, message("hang-data"), LIVENESS);
    assert_short_timeout_applied(elapsed, "silent after DATA");
    assert_eq!(err.kind(), Kind::Timeout, "{}", describe(&err));
    assert!(err.is_transient());
    assert!(
        elapsed >= Duration::from_secs(1),
        "gave up too early: {elapsed:?}"
    );
    // The whole message was transmitted before the silence.
    assert_eq!(server.events_named("DATA").len(), 1);
}

#[test]
fn silent_after_rcpt_times_out() {
    let server = TestServer::start(&["--hang", "rcpt"]);
    let mut cfg = config(&server, Security::None);
    cfg.timeouts.command = Duration::from_secs(2);
    let (err, elapsed) = send_err_within(cfg, TO, message("hang-rcpt"), LIVENESS);
    assert_short_timeout_applied(elapsed, "silent after RCPT");
    assert_eq!(err.kind(), Kind::Timeout, "{}", describe(&err));
    assert!(server.messages().is_empty());
}

#[test]
fn silent_greeting_times_out() {
    let server = TestServer::start(&["--hang", "greeting"]);
    let mut cfg = config(&server, Security::None);
    cfg.timeouts.command = Duration::from_secs(2);
    let (err, elapsed) = send_err_within(cfg, TO, message("hang-greeting"), LIVENESS);
    assert_short_timeout_applied(elapsed, "silent greeting");
    assert_eq!(err.kind(), Kind::Timeout, "{}", describe(&err));
    assert!(err.is_transient());
    assert_eq!(server.connections(), 1);
}

#[test]
fn send_total_bounds_a_whole_send() {
    // Every single wait is allowed 10 s, but the whole send only 3 s.
    let server = TestServer::start(&["--hang", "data"]);
    let mut cfg = config(&server, Security::None);
    cfg.timeouts.send_total = Duration::from_secs(3);
    let (err, elapsed) = send_err_within(cfg, TO, message("send-total"), LIVENESS);
    assert_eq!(err.kind(), Kind::Timeout, "{}", describe(&err));
    assert!(
        elapsed < Duration::from_secs(8),
        "send_total (3 s) was not enforced: {elapsed:?}"
    );
}

// 12. one handle, several messages

#[test]
fn one_client_reuses_its_session() {
    let server = TestServer::start(&["--mode", "plain"]);
    let mut c = client(config(&server, Security::None));
    for i in 0..5 {
        send_ok(&mut c, &envelope(&[TO]), &message(&format!("reuse-{i}")));
        if i == 2 {
            assert_eq!(c.noop().expect("noop").code(), 250);
        }
    }
    assert!(c.is_connected());
    let got = server.messages();
    assert_eq!(got.len(), 5);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.data, message(&format!("reuse-{i}")));
        assert_eq!(m.conn, 1, "message {i} came over another connection");
    }
    let transcript = c.transcript();
    assert_eq!(sent_commands(&transcript, "EHLO"), 1, "{transcript}");
    assert_eq!(
        transcript
            .lines()
            .filter(|l| l.starts_with("S: 220"))
            .count(),
        1,
        "{transcript}"
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(server.events_named("EHLO").len(), 1);

    c.close();
    assert!(!c.is_connected());
    assert_eq!(
        server.events_named("QUIT").len(),
        1,
        "{:?}",
        server.events()
    );
    // A send after close() reconnects.
    send_ok(&mut c, &envelope(&[TO]), &message("after-close"));
    assert_eq!(server.connections(), 2);
    assert_eq!(server.messages().len(), 6);
}

#[test]
fn one_client_reuses_its_tls_session() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let mut cfg = config(&server, Security::StartTls);
    cfg.credentials = password(PASSWORD);
    let mut c = client(cfg);
    for i in 0..3 {
        send_ok(
            &mut c,
            &envelope(&[TO]),
            &message(&format!("tls-reuse-{i}")),
        );
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.events_named("STARTTLS").len(), 1);
    assert_eq!(server.events_named("AUTH").len(), 1);
    assert!(
        server
            .messages()
            .iter()
            .all(|m| m.tls && m.auth_user.as_deref() == Some(USER))
    );
}

// 13. reconnect after the server dropped the idle session

#[test]
fn reconnects_after_the_server_closed_the_session() {
    let server = TestServer::start(&["--close-after", "1"]);
    let mut c = client(config(&server, Security::None));
    send_ok(&mut c, &envelope(&[TO]), &message("before-drop"));
    // The server closes 0.1 s after its reply; wait until it has.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.events_named("CLOSE").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    send_ok(&mut c, &envelope(&[TO]), &message("after-drop"));
    let got = server.messages();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].data, message("before-drop"));
    assert_eq!(got[1].data, message("after-drop"));
    assert_eq!((got[0].conn, got[1].conn), (1, 2));
    assert_eq!(server.connections(), 2);
}

#[test]
fn reconnects_after_the_server_idle_timeout() {
    // aiosmtpd's own idle timeout closes a session that stays silent for 1 s.
    let server = TestServer::start(&["--mode", "starttls", "--idle-timeout", "1"]);
    let mut c = client(config(&server, Security::StartTls));
    send_ok(&mut c, &envelope(&[TO]), &message("idle-1"));
    std::thread::sleep(Duration::from_millis(1800));
    send_ok(&mut c, &envelope(&[TO]), &message("idle-2"));
    let got = server.messages();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].data, message("idle-2"));
    assert!(got.iter().all(|m| m.tls));
    assert_eq!(server.connections(), 2);
}

// 14. URL configuration

#[test]
fn config_from_url_end_to_end() {
    let server = TestServer::start(&["--mode", "plain"]);
    let cfg = Config::from_url(&format!("smtp+plain://127.0.0.1:{}", server.port)).expect("url");
    let mut c = client(cfg);
    send_ok(&mut c, &envelope(&[TO]), &message("url"));
    assert_eq!(server.messages()[0].data, message("url"));
}

#[test]
fn config_from_url_with_percent_encoded_credentials() {
    let pass = "p@ss:w%rd";
    let auth = format!("{USER}:{pass}");
    let server = TestServer::start(&["--mode", "tls", "--auth", &auth]);
    let url = format!("smtps://{USER}:p%40ss%3Aw%25rd@localhost:{}", server.port);
    let mut cfg = Config::from_url(&url).expect("url");
    cfg.tls.ca_files = vec![server.ca.clone()];
    let mut c = client(cfg);
    send_ok(&mut c, &envelope(&[TO]), &message("url-auth"));
    let got = server.messages();
    assert_eq!(got[0].auth_user.as_deref(), Some(USER));
    assert!(got[0].tls);
    assert_no_secret("the transcript", &c.transcript(), pass);
}

// 15. parallel clients

#[test]
fn parallel_clients_each_deliver() {
    let server = TestServer::start(&["--mode", "starttls"]);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let cfg = config(&server, Security::StartTls);
            scope.spawn(move || {
                let mut c = client(cfg);
                for i in 0..3 {
                    send_ok(
                        &mut c,
                        &envelope(&[TO]),
                        &message(&format!("thread-{t}-{i}")),
                    );
                }
            });
        }
    });
    let got = server.messages();
    assert_eq!(got.len(), 12);
    let mut bodies: Vec<Vec<u8>> = got.iter().map(|m| m.data.clone()).collect();
    bodies.sort();
    let mut expected: Vec<Vec<u8>> = (0..4)
        .flat_map(|t| (0..3).map(move |i| message(&format!("thread-{t}-{i}"))))
        .collect();
    expected.sort();
    assert_eq!(bodies, expected);
    assert!(got.iter().all(|m| m.tls));
    assert_eq!(server.connections(), 4);
}

// 16. SIZE

#[test]
fn size_limit_is_enforced_before_sending() {
    let server = TestServer::start(&["--size", "1000"]);
    let mut c = client(config(&server, Security::None));
    let err = send_err(&mut c, &envelope(&[TO]), &message_of_size(5000));
    assert_eq!(err.kind(), Kind::MessageTooLarge, "{}", describe(&err));
    assert!(!err.is_transient());
    assert!(server.messages().is_empty());
    assert!(
        server.events_named("MAIL").is_empty(),
        "{:?}",
        server.events()
    );
    assert!(server.events_named("DATA").is_empty());

    let body = message_of_size(500);
    let receipt = send_ok(&mut c, &envelope(&[TO]), &body);
    assert_eq!(receipt.size, 500);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, body);
    let declared: Vec<u64> = got[0]
        .mail_options
        .iter()
        .filter_map(|o| o.strip_prefix("SIZE=")?.parse().ok())
        .collect();
    assert_eq!(
        declared.len(),
        1,
        "MAIL FROM should carry SIZE=: {:?}",
        got[0].mail_options
    );
    assert!((500..=1000).contains(&declared[0]), "SIZE={}", declared[0]);
}

#[test]
fn size_limit_applies_to_send_with_a_known_size() {
    let server = TestServer::start(&["--size", "1000"]);
    let mut c = client(config(&server, Security::None));
    let body = message_of_size(5000);
    let err = match c.send(&envelope(&[TO]), &mut &body[..], Some(5000)) {
        Ok(r) => panic!("expected MessageTooLarge, got {r:?}"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), Kind::MessageTooLarge, "{}", describe(&err));
    assert!(server.messages().is_empty());
    // Streaming without a declared size: the server sees too much data and refuses it.
    let err = match c.send(&envelope(&[TO]), &mut &body[..], None) {
        Ok(r) => panic!("expected a refusal, got {r:?}"),
        Err(e) => e,
    };
    assert!(
        matches!(err.kind(), Kind::MessageTooLarge | Kind::Data),
        "{}",
        describe(&err)
    );
    assert!(server.messages().is_empty());
}

// 17. dot-stuffing and line endings

#[test]
fn dots_and_line_endings_survive_end_to_end() {
    let server = TestServer::start(&["--mode", "plain"]);
    let mut c = client(config(&server, Security::None));
    let body: &[u8] = b"Subject: dots\r\n\r\n\
        .leading dot\n\
        ..two dots\r\n\
        .\n\
        bare cr line\rnext line\n\
        \n.\n\
        after the lone dot\r\n\
        . dot space\r\n\
        .\r\n\
        the end\n.";
    send_ok(&mut c, &envelope(&[TO]), body);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&got[0].data),
        String::from_utf8_lossy(&crlf_normalise(body)),
        "the server must receive every line, un-stuffed, with CRLF endings"
    );
    // Still in sync: a second message goes through on the same connection.
    send_ok(&mut c, &envelope(&[TO]), &message("after-dots"));
    assert_eq!(server.messages().len(), 2);
    assert_eq!(server.connections(), 1);
}

#[test]
fn utf8_addresses_and_8bit_body() {
    let server = TestServer::start(&["--mode", "plain"]);
    let mut c = client(config(&server, Security::None));
    let to = "j\u{f6}rg@b\u{fc}cher.example";
    let body = "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\
                Content-Transfer-Encoding: 8bit\r\n\r\nGr\u{fc}\u{df}e, J\u{f6}rg \u{2603}\r\n";
    let env = Envelope::new(FROM, vec![to.to_string()]).expect("utf-8 envelope");
    send_ok(&mut c, &env, body.as_bytes());
    let got = server.messages();
    assert_eq!(got[0].rcpt_tos, [to]);
    assert_eq!(got[0].data, body.as_bytes());
    assert!(
        got[0].mail_options.iter().any(|o| o == "SMTPUTF8"),
        "a non-ASCII address needs MAIL FROM ... SMTPUTF8: {:?}",
        got[0].mail_options
    );
}

// 18. transcript sink

#[derive(Default)]
struct Collect(Mutex<Vec<(Direction, String)>>);

impl Sink for Collect {
    fn event(&self, direction: Direction, text: &str) {
        self.0.lock().unwrap().push((direction, text.to_string()));
    }
}

#[test]
fn transcript_sink_sees_both_directions_without_secrets() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let sink = Arc::new(Collect::default());
    let mut cfg = config(&server, Security::StartTls);
    cfg.credentials = password(PASSWORD);
    cfg.sink = Some(sink.clone());
    let mut c = client(cfg);
    send_ok(&mut c, &envelope(&[TO]), &message("sink"));
    let events = sink.0.lock().unwrap().clone();
    let sent: Vec<&str> = events
        .iter()
        .filter(|(d, _)| *d == Direction::Sent)
        .map(|(_, t)| t.as_str())
        .collect();
    let received: Vec<&str> = events
        .iter()
        .filter(|(d, _)| *d == Direction::Received)
        .map(|(_, t)| t.as_str())
        .collect();
    assert!(sent.iter().any(|t| t.starts_with("EHLO ")), "{sent:?}");
    assert!(sent.iter().any(|t| t.starts_with("STARTTLS")), "{sent:?}");
    assert!(sent.iter().any(|t| t.starts_with("MAIL FROM:")), "{sent:?}");
    assert!(
        received.iter().any(|t| t.starts_with("220")),
        "{received:?}"
    );
    assert!(
        received.iter().any(|t| t.starts_with("235")),
        "{received:?}"
    );
    for (_, text) in &events {
        assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
    }
    let all: Vec<String> = events.iter().map(|(d, t)| format!("{d:?} {t}")).collect();
    assert_no_secret("the sink", &all.join("\n"), PASSWORD);
    // The kept transcript is the same stream.
    let transcript = c.transcript();
    for t in &sent {
        assert!(
            transcript.contains(&format!("C: {t}")),
            "{t:?} missing from\n{transcript}"
        );
    }
}

#[test]
fn reconnects_resume_the_tls_session_in_the_servers_view() {
    for mode in ["tls", "starttls"] {
        let server = TestServer::start(&["--mode", mode]);
        let security = if mode == "tls" {
            Security::Tls
        } else {
            Security::StartTls
        };
        let mut c = client(config(&server, security));
        let first = c
            .send_bytes(&envelope(&[TO]), b"Subject: 1\r\n\r\none\r\n")
            .unwrap();
        // A new connection from the same client: the session cache offers the ticket.
        c.close();
        let second = c
            .send_bytes(&envelope(&[TO]), b"Subject: 2\r\n\r\ntwo\r\n")
            .unwrap();
        let received = server.messages();
        assert_eq!(received.len(), 2, "{mode}");
        assert_ne!(
            received[0].conn, received[1].conn,
            "{mode}: two connections"
        );
        assert!(
            !received[0].tls_resumed,
            "{mode}: the first handshake is a full one"
        );
        assert!(
            received[1].tls_resumed,
            "{mode}: the server saw no resumption"
        );
        assert!(!first.tls.unwrap().resumed, "{mode}");
        assert!(
            second.tls.unwrap().resumed,
            "{mode}: the receipt says resumed"
        );
    }
}

#[test]
fn a_new_client_with_the_same_tls_settings_resumes_the_tls_session() {
    let server = TestServer::start(&["--mode", "starttls"]);
    // Two clients, as two PHP requests of one php-fpm worker make them, without persistent mode.
    for i in 0..2 {
        let mut c = client(config(&server, Security::StartTls));
        let body = format!("Subject: {i}\r\n\r\nclient {i}\r\n");
        let receipt = c.send_bytes(&envelope(&[TO]), body.as_bytes()).unwrap();
        assert_eq!(receipt.tls.unwrap().resumed, i == 1, "client {i}");
    }
    let received = server.messages();
    assert_eq!(received.len(), 2);
    assert!(
        !received[0].tls_resumed,
        "the first handshake is a full one"
    );
    assert!(
        received[1].tls_resumed,
        "the server saw no resumption from the second client"
    );
}

#[test]
fn no_rset_or_noop_between_messages_on_a_healthy_connection() {
    let server = TestServer::start(&["--mode", "starttls", "--pipelining"]);
    let mut c = client(config(&server, Security::StartTls));
    for i in 0..3 {
        let body = format!("Subject: {i}\r\n\r\nbody {i}\r\n");
        c.send_bytes(&envelope(&[TO]), body.as_bytes()).unwrap();
    }
    assert_eq!(server.messages().len(), 3);
    assert_eq!(server.connections(), 1);
    assert!(
        server.events_named("RSET").is_empty(),
        "{:?}",
        server.events()
    );
    assert!(
        server.events_named("NOOP").is_empty(),
        "{:?}",
        server.events()
    );
}

fn persistent(server: &TestServer, pass: &str) -> Config {
    let mut config = config(server, Security::StartTls);
    config.credentials = password(pass);
    config.persistent = true;
    config
}

#[test]
fn persistent_clients_reuse_the_authenticated_session() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    for i in 0..3 {
        // A new client each time, as each PHP request of a php-fpm worker makes its own.
        let mut c = client(persistent(&server, PASSWORD));
        let body = format!("Subject: {i}\r\n\r\nrequest {i}\r\n");
        c.send_bytes(&envelope(&[TO]), body.as_bytes()).unwrap();
        if i > 0 {
            assert!(c.transcript().contains("reusing a pooled connection"));
        }
    }
    assert_eq!(server.messages().len(), 3);
    assert_eq!(server.connections(), 1, "one connection for three clients");
    assert_eq!(server.events_named("AUTH").len(), 1, "authenticated once");
}

#[test]
fn pooled_sessions_are_never_shared_across_credentials() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let mut good = client(persistent(&server, PASSWORD));
    good.send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();
    drop(good);
    // Other credentials: the pooled session (authenticated as USER) must not serve them.
    let mut other = client(persistent(&server, "another password"));
    let err = other
        .send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap_err();
    assert_eq!(err.kind(), Kind::AuthFailed);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn idle_pooled_sessions_expire() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let mut config = persistent(&server, PASSWORD);
    config.pool_idle_timeout = Duration::from_millis(200);
    client(config.clone())
        .send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    client(config)
        .send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap();
    assert_eq!(
        server.connections(),
        2,
        "the expired session was not reused"
    );
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn a_pooled_session_the_server_dropped_is_replaced_without_a_duplicate() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        &auth,
        "--idle-timeout",
        "0.5",
    ]);
    client(persistent(&server, PASSWORD))
        .send_bytes(&envelope(&[TO]), b"Subject: a\r\n\r\na\r\n")
        .unwrap();
    // The server drops the idle pooled connection.
    std::thread::sleep(Duration::from_millis(1200));
    let mut c = client(persistent(&server, PASSWORD));
    c.send_bytes(&envelope(&[TO]), b"Subject: b\r\n\r\nb\r\n")
        .unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 2, "each message exactly once");
    assert_ne!(received[0].conn, received[1].conn);
}

#[test]
fn concurrent_persistent_clients_never_share_a_session() {
    let auth = format!("{USER}:{PASSWORD}");
    let server = TestServer::start(&["--mode", "starttls", "--auth", &auth]);
    let config = persistent(&server, PASSWORD);
    // Four threads, like four php-fpm workers' requests at once, each making new clients.
    std::thread::scope(|scope| {
        for t in 0..4 {
            let config = config.clone();
            scope.spawn(move || {
                for i in 0..5 {
                    let mut c = client(config.clone());
                    let body = format!("Subject: {t}-{i}\r\n\r\nthread {t} message {i}\r\n");
                    c.send_bytes(&envelope(&[TO]), body.as_bytes()).unwrap();
                }
            });
        }
    });
    let received = server.messages();
    let mut subjects: Vec<String> = received
        .iter()
        .map(|m| {
            let data = String::from_utf8_lossy(&m.data);
            let subject = data.lines().find(|l| l.starts_with("Subject: "));
            subject.unwrap_or_default().to_string()
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(received.len(), 20, "every message once");
    assert_eq!(subjects.len(), 20, "no message twice: {subjects:?}");
    // A session used by two threads at once would interleave two transactions and fail; one
    // in use is never handed to another thread, so at most four sessions ever exist.
    assert!(
        server.connections() <= 4,
        "{} connections",
        server.connections()
    );
    assert_eq!(
        server.events_named("AUTH").len(),
        server.connections(),
        "each session authenticated once"
    );
}
