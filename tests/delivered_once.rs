//! A message is never delivered twice: once the end of a message is on the wire (the final dot
//! after DATA, or the chunk marked LAST), the server may have taken it whatever becomes of its
//! reply, so a lost reply is reported as an unknown outcome and the message is never sent
//! again on a fresh connection. Each server here reads the whole message on a session that has
//! already carried one, then hangs up without a word (or says nothing more); it would accept the
//! message again on any later connection.

mod common;

use common::scripted::{Failure, Script, ScriptedServer};
use std::time::Duration;

use mailport::{Client, Config, Envelope, Error, Kind, Security};

const FIRST: &str = "the first message";
const SECOND: &str = "the second message";

fn config(server: &ScriptedServer) -> Config {
    let mut config = Config::new("127.0.0.1");
    config.port = server.port();
    config.security = Security::None;
    config.helo_name = Some("client.test".into());
    // A silent server is given up on soon (the one-flight waits for its MAIL reply first).
    config.timeouts.command = Duration::from_secs(2);
    config.timeouts.data_end = Duration::from_secs(1);
    config
}

fn message(text: &str, size: usize) -> Vec<u8> {
    let mut message = format!("Subject: {text}\r\n\r\n{text}\r\n").into_bytes();
    while message.len() < size {
        message.extend_from_slice(&[b'x'; 76]);
        message.extend_from_slice(b"\r\n");
    }
    message
}

/// Send two messages of `size` bytes on one session (one client, or two through the pool), the
/// server hanging up once the second has arrived; the second's error and the client's
/// transcript.
fn second_message_lost(server: &ScriptedServer, size: usize, pooled: bool) -> (Error, String) {
    let mut config = config(server);
    config.persistent = pooled;
    let to = Envelope::new("a@example.org", vec!["b@example.net".into()]).unwrap();
    let mut first = Client::new(config.clone()).unwrap();
    first.send_bytes(&to, &message(FIRST, size)).unwrap();
    let mut second = if pooled {
        drop(first);
        Client::new(config).unwrap()
    } else {
        first
    };
    match second.send_bytes(&to, &message(SECOND, size)) {
        Ok(receipt) => panic!(
            "the second message was sent again: {receipt:?}\n{}",
            second.transcript()
        ),
        Err(error) => (error, second.transcript()),
    }
}

/// The second message arrived once, on the first connection, and the error says that it may
/// have been delivered and was not sent again.
fn assert_reported_not_resent(server: &ScriptedServer, error: &Error, transcript: &str) {
    assert_eq!(server.count(SECOND), 1, "{transcript}");
    assert_eq!(server.connections(), 1, "reconnected:\n{transcript}");
    assert!(!transcript.contains("sending again"), "{transcript}");
    assert!(
        matches!(error.kind(), Kind::ConnectionClosed | Kind::Timeout),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("may or may not have accepted the message"),
        "{text}"
    );
    assert!(text.contains("it was not sent again"), "{text}");
    assert!(error.outcome_unknown(), "{text}");
    assert!(
        error.hint().contains("before sending it again"),
        "{}",
        error.hint()
    );
}

fn hang_up_after_the_second(pipelining: bool, chunking: bool) -> ScriptedServer {
    ScriptedServer::start(Script {
        pipelining,
        chunking,
        fail: Some((2, Failure::HangUp)),
    })
}

fn silent_after_the_second(pipelining: bool, chunking: bool) -> ScriptedServer {
    ScriptedServer::start(Script {
        pipelining,
        chunking,
        fail: Some((2, Failure::Silence)),
    })
}

#[test]
fn a_one_flight_bdat_whose_replies_are_lost_is_not_sent_again() {
    // MAIL, RCPT and BDAT LAST with the message go out in one write: no reply came at all.
    let server = hang_up_after_the_second(true, true);
    let (error, transcript) = second_message_lost(&server, 0, false);
    assert!(transcript.contains(" LAST"), "{transcript}");
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn a_one_flight_bdat_on_a_pooled_session_whose_replies_are_lost_is_not_sent_again() {
    let server = hang_up_after_the_second(true, true);
    let (error, transcript) = second_message_lost(&server, 0, true);
    assert!(
        transcript.contains("reusing a pooled connection"),
        "{transcript}"
    );
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn bdat_chunks_whose_last_reply_is_lost_are_not_sent_again() {
    // Over a megabyte: several chunks, pipelined, the last marked LAST.
    let server = hang_up_after_the_second(true, true);
    let (error, transcript) = second_message_lost(&server, 2_500_000, false);
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn bdat_chunks_without_pipelining_whose_last_reply_is_lost_are_not_sent_again() {
    let server = hang_up_after_the_second(false, true);
    let (error, transcript) = second_message_lost(&server, 1_500_000, false);
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn data_whose_final_reply_is_lost_is_not_sent_again() {
    let server = hang_up_after_the_second(true, false);
    let (error, transcript) = second_message_lost(&server, 0, false);
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn data_without_pipelining_whose_final_reply_is_lost_is_not_sent_again() {
    let server = hang_up_after_the_second(false, false);
    let (error, transcript) = second_message_lost(&server, 0, true);
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn data_whose_final_reply_never_comes_is_not_sent_again() {
    let server = silent_after_the_second(true, false);
    let (error, transcript) = second_message_lost(&server, 0, true);
    assert_eq!(error.kind(), Kind::Timeout, "{error}");
    assert_reported_not_resent(&server, &error, &transcript);
}

#[test]
fn a_one_flight_bdat_whose_replies_never_come_is_not_sent_again() {
    let server = silent_after_the_second(true, true);
    let (error, transcript) = second_message_lost(&server, 0, false);
    assert_eq!(error.kind(), Kind::Timeout, "{error}");
    assert_reported_not_resent(&server, &error, &transcript);
}

/// The one safe retry after the end went out: the server answered 421 to MAIL, so no
/// transaction was opened and the LAST chunk belonged to none. The message goes out again on a
/// fresh connection and arrives once.
#[test]
fn a_one_flight_bdat_refused_with_421_at_mail_is_sent_again_once() {
    let server = ScriptedServer::start(Script {
        pipelining: true,
        chunking: true,
        fail: Some((2, Failure::Closing)),
    });
    let to = Envelope::new("a@example.org", vec!["b@example.net".into()]).unwrap();
    let mut client = Client::new(config(&server)).unwrap();
    client.send_bytes(&to, &message(FIRST, 100)).unwrap();
    let receipt = client
        .send_bytes(&to, &message(SECOND, 100))
        .unwrap_or_else(|e| panic!("{e}\n{}", client.transcript()));
    assert_eq!(receipt.reply.code(), 250);
    assert_eq!(server.count(SECOND), 1, "{}", client.transcript());
    assert_eq!(server.connections(), 2);
    assert!(
        client.transcript().contains("421 4.3.2"),
        "{}",
        client.transcript()
    );
}
