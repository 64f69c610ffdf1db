//! A plaintext client (STARTTLS, or `auto` on a port other than 465) against a port that speaks
//! implicit TLS: such a server waits for a TLS hello and never greets, the most common
//! misconfiguration of all. The send must name the cause after the short greeting wait, not
//! after the whole command timeout; a server that is merely slow to greet must still work.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use common::{TestServer, config_for};
use mailport::{Client, Config, Envelope, Error, Kind, Security};

/// A liveness bound: far below the 10-minute command timeout the tests set, so a send that
/// waited for it instead of the greeting wait fails here instead of hanging.
const LIVENESS: Duration = Duration::from_secs(60);

/// Send in a thread; the error, or a panic once `LIVENESS` has passed.
fn send_err(config: Config) -> Error {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let envelope = Envelope::new("a@example.org", vec!["b@example.net".into()]).unwrap();
        let result = Client::new(config)
            .and_then(|mut c| c.send_bytes(&envelope, b"Subject: x\r\n\r\nx\r\n"));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(LIVENESS) {
        Ok(Ok(receipt)) => panic!("expected an error, got {receipt:?}"),
        Ok(Err(error)) => error,
        Err(_) => panic!("the send did not return within {LIVENESS:?}"),
    }
}

#[test]
fn starttls_and_auto_on_an_implicit_tls_port_fail_after_the_greeting_wait() {
    let server = TestServer::start(&["--mode", "tls"]);
    // `auto` on a port other than 465 means STARTTLS.
    for security in [Security::StartTls, Security::Auto, Security::None] {
        let mut config = config_for("127.0.0.1", &server, security);
        config.timeouts.command = Duration::from_secs(600);
        config.timeouts.send_total = Duration::from_secs(600);
        let error = send_err(config);
        let context = format!("{security:?}: {error:?}\n{}", error.transcript());
        assert_eq!(error.kind(), Kind::TlsOnPlaintextPort, "{context}");
        assert!(
            error.message().contains("within 5 s") && error.message().contains("implicit TLS"),
            "{context}"
        );
        assert!(
            error.transcript().contains("no greeting after 5 s"),
            "{context}"
        );
        // A Rust caller is told the Rust way to fix it.
        assert!(
            error.hint().contains("Security::Tls"),
            "{security:?}: {}",
            error.hint()
        );
    }
    assert!(server.messages().is_empty());
}

#[test]
fn the_command_line_names_its_own_flag_in_the_hint() {
    let server = TestServer::start(&["--mode", "tls"]);
    let mut config = config_for("127.0.0.1", &server, Security::StartTls);
    config.api = mailport::Api::Cli;
    let error = send_err(config);
    assert_eq!(error.kind(), Kind::TlsOnPlaintextPort, "{error:?}");
    assert!(error.hint().contains("--security tls"), "{}", error.hint());
}

/// One line from the client, without its line end.
fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

#[test]
fn a_server_that_greets_late_is_waited_for() {
    // The first connection is greeted only once the client has given up its TLS hello on a
    // second one: ordered by events, so the test needs no clock.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (session, _) = listener.accept().unwrap();
        let (mut probe, _) = listener.accept().unwrap();
        let mut hello = Vec::new();
        // The client sends its hello, hears nothing, and closes the probe connection.
        probe.read_to_end(&mut hello).unwrap();
        assert_eq!(hello.first(), Some(&0x16), "a TLS handshake record");

        let mut out = session.try_clone().unwrap();
        let mut reader = BufReader::new(session);
        let mut say = |text: &str| out.write_all(format!("{text}\r\n").as_bytes()).unwrap();
        say("220 slow.test ESMTP");
        assert!(line(&mut reader).starts_with("EHLO "));
        say("250 slow.test");
        assert!(line(&mut reader).starts_with("MAIL FROM:"));
        say("250 ok");
        assert!(line(&mut reader).starts_with("RCPT TO:"));
        say("250 ok");
        assert_eq!(line(&mut reader), "DATA");
        say("354 go on");
        while line(&mut reader) != "." {}
        say("250 queued as 1");
        let _ = line(&mut reader);
        say("221 bye");
    });
    let mut config = Config::new("127.0.0.1");
    config.port = port;
    config.security = Security::None;
    config.helo_name = Some("client.test".into());
    let envelope = Envelope::new("a@example.org", vec!["b@example.net".into()]).unwrap();
    let mut client = Client::new(config).unwrap();
    let receipt = client
        .send_bytes(&envelope, b"Subject: x\r\n\r\nx\r\n")
        .unwrap_or_else(|e| panic!("{e:?}\n{}", e.transcript()));
    assert!(
        receipt.reply.one_line().contains("queued as 1"),
        "{receipt:?}"
    );
    client.close();
    server.join().unwrap();
}
