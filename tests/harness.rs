//! Self-test of the aiosmtpd test harness (tests/common, tests/servers/aiosmtpd_server.py),
//! independent of the mailport client: raw sockets only.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{TestServer, command, free_port, reply};

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).expect("connect to aiosmtpd");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn ehlo_keywords(lines: &[String]) -> Vec<String> {
    lines[1..]
        .iter()
        .map(|l| l[4..].split(' ').next().unwrap().to_ascii_uppercase())
        .collect()
}

#[test]
fn every_mode_reports_ready() {
    for mode in ["plain", "starttls", "tls"] {
        let server = TestServer::start(&["--mode", mode]);
        assert_ne!(server.port, 0);
        assert!(server.dir.is_dir(), "{mode}: {}", server.dir.display());
        let ca = std::fs::read_to_string(&server.ca).expect("ca.pem");
        assert!(ca.contains("BEGIN CERTIFICATE"), "{mode}: {ca}");
        assert!(server.ca.starts_with(&server.dir));
        // Something listens: a TCP connection is accepted.
        let stream = connect(&server);
        drop(stream);
    }
}

#[test]
fn plain_mode_greets_and_accepts_a_message() {
    let server = TestServer::start(&["--mode", "plain", "--queue-id"]);
    let mut r = BufReader::new(connect(&server));
    let greeting = reply(&mut r);
    assert!(greeting[0].starts_with("220 "), "{greeting:?}");
    let ehlo = command(&mut r, "EHLO harness.test");
    assert!(ehlo[0].starts_with("250-"), "{ehlo:?}");
    let keywords = ehlo_keywords(&ehlo);
    assert!(!keywords.contains(&"STARTTLS".into()), "{ehlo:?}");
    assert!(!keywords.contains(&"AUTH".into()), "{ehlo:?}");
    assert!(keywords.contains(&"8BITMIME".into()), "{ehlo:?}");
    assert!(keywords.contains(&"SMTPUTF8".into()), "{ehlo:?}");
    assert!(keywords.contains(&"SIZE".into()), "{ehlo:?}");
    assert!(command(&mut r, "MAIL FROM:<a@example.org> SIZE=20")[0].starts_with("250"));
    assert!(command(&mut r, "RCPT TO:<b@example.org>")[0].starts_with("250"));
    assert!(command(&mut r, "RCPT TO:<c@example.org>")[0].starts_with("250"));
    assert!(command(&mut r, "DATA")[0].starts_with("354"));
    r.get_mut()
        .write_all(b"Subject: x\r\n\r\n..dot\r\nline\r\n.\r\n")
        .unwrap();
    let done = reply(&mut r);
    assert!(done[0].starts_with("250 2.0.0 Ok: queued as "), "{done:?}");
    assert!(command(&mut r, "QUIT")[0].starts_with("221"));

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.n, 1);
    assert_eq!(m.conn, 1);
    assert_eq!(m.mail_from, "a@example.org");
    assert_eq!(m.rcpt_tos, ["b@example.org", "c@example.org"]);
    assert_eq!(m.data, b"Subject: x\r\n\r\n.dot\r\nline\r\n");
    assert_eq!(m.mail_options, ["SIZE=20"]);
    assert_eq!(m.helo.as_deref(), Some("harness.test"));
    assert!(!m.tls);
    assert_eq!(m.auth_user, None);
    let queue_id = m.queue_id.as_deref().expect("queue id recorded");
    assert!(done[0].ends_with(queue_id), "{done:?} vs {queue_id}");
    assert_eq!(server.connections(), 1);
    assert_eq!(server.events_named("RCPT").len(), 2);
    assert_eq!(server.events_named("QUIT").len(), 1);
}

#[test]
fn starttls_mode_offers_starttls_and_no_auth_without_credentials() {
    let server = TestServer::start(&["--mode", "starttls"]);
    let mut r = BufReader::new(connect(&server));
    assert!(reply(&mut r)[0].starts_with("220 "));
    let ehlo = command(&mut r, "EHLO harness.test");
    let keywords = ehlo_keywords(&ehlo);
    assert!(keywords.contains(&"STARTTLS".into()), "{ehlo:?}");
    assert!(!keywords.contains(&"AUTH".into()), "{ehlo:?}");
    assert!(command(&mut r, "STARTTLS")[0].starts_with("220"));
}

#[test]
fn auth_plaintext_is_advertised_only_when_asked() {
    let server = TestServer::start(&["--auth", "u:p", "--auth-plaintext", "--auth-mechs", "LOGIN"]);
    let mut r = BufReader::new(connect(&server));
    reply(&mut r);
    let ehlo = command(&mut r, "EHLO harness.test");
    assert!(ehlo.iter().any(|l| l == "250-AUTH LOGIN"), "{ehlo:?}");
    let bad = command(&mut r, "AUTH PLAIN AHUAcA==");
    assert!(bad[0].starts_with("504"), "{bad:?}");
    assert!(command(&mut r, "AUTH LOGIN dQ==")[0].starts_with("334"));
    let ok = command(&mut r, "cA==");
    assert!(ok[0].starts_with("235"), "{ok:?}");
    // The server logs the mechanism, never the credentials.
    let auth = server.events_named("AUTH");
    assert_eq!(auth, ["1 AUTH PLAIN", "1 AUTH LOGIN"]);
    assert!(!server.events().join("\n").contains("dQ=="));
}

#[test]
fn implicit_tls_mode_does_not_speak_plaintext_first() {
    let server = TestServer::start(&["--mode", "tls"]);
    let mut stream = connect(&server);
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 16];
    // The server waits for a ClientHello: no plaintext greeting arrives.
    match stream.read(&mut buf) {
        Ok(0) => panic!("tls server closed the connection"),
        Ok(n) => panic!("tls server sent plaintext {:?}", &buf[..n]),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
}

#[test]
fn recipient_rules_and_size() {
    let server = TestServer::start(&[
        "--reject-rcpt",
        "bad",
        "--tempfail-rcpt",
        "later",
        "--size",
        "1000",
    ]);
    let mut r = BufReader::new(connect(&server));
    reply(&mut r);
    let ehlo = command(&mut r, "EHLO harness.test");
    assert!(ehlo.iter().any(|l| l == "250-SIZE 1000"), "{ehlo:?}");
    command(&mut r, "MAIL FROM:<a@example.org>");
    let bad = command(&mut r, "RCPT TO:<bad@example.org>");
    assert_eq!(
        bad,
        ["550 5.1.1 <bad@example.org>: Recipient address rejected"]
    );
    let later = command(&mut r, "RCPT TO:<later@example.org>");
    assert!(later[0].starts_with("450 4.2.0 "), "{later:?}");
    assert!(command(&mut r, "RSET")[0].starts_with("250"));
    let big = command(&mut r, "MAIL FROM:<a@example.org> SIZE=5000");
    assert!(big[0].starts_with("552"), "{big:?}");
}

#[test]
fn hang_greeting_accepts_and_stays_silent() {
    let server = TestServer::start(&["--hang", "greeting"]);
    let mut stream = connect(&server);
    stream
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(stream.read(&mut buf).is_err(), "expected silence");
    assert_eq!(server.connections(), 1);
}

#[test]
fn hang_rcpt_never_answers() {
    let server = TestServer::start(&["--hang", "rcpt"]);
    let mut r = BufReader::new(connect(&server));
    reply(&mut r);
    command(&mut r, "EHLO harness.test");
    command(&mut r, "MAIL FROM:<a@example.org>");
    r.get_mut()
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    r.get_mut()
        .write_all(b"RCPT TO:<b@example.org>\r\n")
        .unwrap();
    let mut line = String::new();
    assert!(r.read_line(&mut line).is_err(), "got {line:?}");
}

#[test]
fn close_after_drops_the_idle_connection() {
    let server = TestServer::start(&["--close-after", "1"]);
    let mut r = BufReader::new(connect(&server));
    reply(&mut r);
    command(&mut r, "EHLO harness.test");
    command(&mut r, "MAIL FROM:<a@example.org>");
    command(&mut r, "RCPT TO:<b@example.org>");
    command(&mut r, "DATA");
    r.get_mut().write_all(b"hi\r\n.\r\n").unwrap();
    assert!(reply(&mut r)[0].starts_with("250"));
    let start = Instant::now();
    let mut rest = Vec::new();
    let n = r.read_to_end(&mut rest).expect("EOF, not an error");
    assert_eq!(n, 0, "{rest:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    let _ = r.get_ref().shutdown(Shutdown::Both);
    assert_eq!(server.events_named("CLOSE").len(), 1);
}

#[test]
fn free_port_is_refused() {
    let port = free_port();
    assert_ne!(port, 0);
    let err = TcpStream::connect(("127.0.0.1", port)).expect_err("nothing listens");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}
