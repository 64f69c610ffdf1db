//! The per-message I/O path seen from the server's side of real servers on loopback: a
//! message's whole flight (MAIL, RCPT, BDAT and a small body) is one TLS record, and a pooled
//! session the server gave up on while it was idle is replaced before anything is sent on it.
//!
//! The record test needs Postfix (the Debian package `postfix`, run as root, as
//! `tests/postfix.rs`); the pool test needs aiosmtpd (`pip install aiosmtpd trustme`).

mod common;
#[path = "common/postfix.rs"]
mod postfix;

use std::time::Duration;

use common::TestServer;
use common::fault_proxy::{Dir, FaultProxy, Framing, Unit};
use mailport::{Client, Envelope, Security};
use postfix::{Options, Postfix};

const FROM: &str = "sender@example.org";
const TO: &str = "rcpt@example.net";

fn envelope() -> Envelope {
    Envelope::new(FROM, vec![TO.to_string()]).expect("envelope")
}

/// About 1 KB of text, different for each message.
fn small_message(i: usize) -> Vec<u8> {
    let mut body = format!("From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: flight {i}\r\n\r\n");
    while body.len() < 1024 {
        body.push_str("The quick brown fox jumps over the lazy dog, once more.\r\n");
    }
    body.into_bytes()
}

/// The client's lines of `verb` in the transcript, without the "C: " prefix.
fn sent<'a>(transcript: &'a str, verb: &str) -> Vec<&'a str> {
    transcript
        .lines()
        .filter_map(|l| l.strip_prefix("C: "))
        .filter(|l| l.starts_with(verb))
        .collect()
}

#[test]
fn each_small_message_leaves_as_one_tls_record_with_its_commands() {
    const MESSAGES: usize = 3;
    let postfix = Postfix::start(Options {
        starttls: true,
        ..Options::default()
    });
    let upstream = format!("127.0.0.1:{}", postfix.ready.port).parse().unwrap();
    let proxy = FaultProxy::start(upstream, Framing::Smtp, None, None);
    let mut config = postfix.config(Security::StartTls);
    config.port = proxy.port;
    let mut client = Client::new(config).expect("Client::new");
    let mut tls_version = String::new();
    for i in 0..MESSAGES {
        let receipt = client
            .send_bytes(&envelope(), &small_message(i))
            .unwrap_or_else(|e| panic!("message {i}: {e}\n{}", client.transcript()));
        tls_version = receipt.tls.expect("TLS").version;
    }
    let transcript = client.transcript();
    client.close();
    postfix.delivered(MESSAGES);

    // The flights' plaintext, from what the client says it sent: its command lines, CRLF
    // included, and the BDAT chunk.
    let (mails, rcpts, bdats) = (
        sent(&transcript, "MAIL FROM:"),
        sent(&transcript, "RCPT TO:"),
        sent(&transcript, "BDAT "),
    );
    assert_eq!(
        (mails.len(), rcpts.len(), bdats.len()),
        (MESSAGES, MESSAGES, MESSAGES),
        "{transcript}"
    );
    let flights: Vec<usize> = (0..MESSAGES)
        .map(|i| {
            let chunk: usize = bdats[i]
                .strip_prefix("BDAT ")
                .and_then(|rest| rest.strip_suffix(" LAST"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("one chunk, marked LAST: {}", bdats[i]));
            mails[i].len() + 2 + rcpts[i].len() + 2 + bdats[i].len() + 2 + chunk
        })
        .collect();

    // The client's encrypted records, in the order the proxy read them (both directions).
    let units: Vec<Unit> = proxy.units();
    let client_app = |u: &Unit| u.dir == Dir::ToServer && u.tls_type == Some(23);
    let big: Vec<usize> = units
        .iter()
        .enumerate()
        .filter(|(_, u)| client_app(u) && u.len > 1024)
        .map(|(at, _)| at)
        .collect();
    let shown = || {
        units
            .iter()
            .map(|u| format!("{} {:?} {} bytes", u.dir.as_str(), u.tls_type, u.len))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(big.len(), MESSAGES, "one record per message:\n{}", shown());
    for (i, &at) in big.iter().enumerate() {
        // Nothing else of the client's between the server's previous reply and this record,
        // nor after it until the server answers: the whole flight is this one record.
        assert_eq!(
            units[at - 1].dir,
            Dir::ToClient,
            "message {i}:\n{}",
            shown()
        );
        assert_eq!(
            units[at + 1].dir,
            Dir::ToClient,
            "message {i}:\n{}",
            shown()
        );
        if tls_version == "TLSv1.3" {
            // The 5-byte header, the plaintext, its content-type byte and the 16-byte AEAD
            // tag: exactly the commands and the chunk, nothing split off.
            assert_eq!(units[at].len, 5 + flights[i] + 1 + 16, "message {i}");
        }
    }
}

#[test]
fn a_pooled_session_the_server_closed_while_idle_is_replaced_before_anything_is_sent() {
    // aiosmtpd answers a session silent for a second with a 421 and closes it.
    let server = TestServer::start(&["--mode", "plain", "--idle-timeout", "1"]);
    let mut config = common::config_for("127.0.0.1", &server, Security::None);
    config.persistent = true;
    let mut first = Client::new(config.clone()).expect("Client::new");
    first.send_bytes(&envelope(), &small_message(0)).unwrap();
    first.close();
    assert_eq!(mailport::pool::idle_count(), 1);
    // Long past the server's idle timeout (and the session's "recently active" interval).
    std::thread::sleep(Duration::from_secs(3));
    let mut second = Client::new(config).expect("Client::new");
    second
        .send_bytes(&envelope(), &small_message(1))
        .unwrap_or_else(|e| panic!("{e}\n{}", second.transcript()));
    let transcript = second.transcript();
    assert!(
        transcript.contains("the server closed the idle connection; reconnecting"),
        "{transcript}"
    );
    assert!(!transcript.contains("sending again"), "{transcript}");
    second.close();
    mailport::pool::clear();
    assert_eq!(server.messages().len(), 2, "each message exactly once");
    assert_eq!(server.connections(), 2);
}
