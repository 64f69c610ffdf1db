//! mailport's CHUNKING (RFC 3030, BDAT) and PIPELINING (RFC 2920) paths against Postfix, a
//! real SMTP server we did not write, from the Debian package `postfix` (3.7 on bookworm; BDAT
//! and CHUNKING since 3.4, advertised by default).
//!
//! Every test starts its own private Postfix instance (`tests/common/postfix.rs`, which runs
//! `tests/servers/postfix_server.py`: its own main.cf/master.cf, queue and data directories in a
//! temp directory, smtpd on 127.0.0.1 only, stopped on drop) that relays every accepted message to an aiosmtpd started by
//! `tests/common` on 127.0.0.1, so a test sees exactly what Postfix accepted and delivered. No
//! DNS, no other address: the relay host is a bracketed IP literal.
//!
//! Requires root and the Debian package `postfix` (plus python3 with aiosmtpd and trustme, as
//! every integration test). Without Postfix the tests fail, saying what to install.

mod common;
#[path = "common/postfix.rs"]
mod postfix;

use std::collections::BTreeSet;

use common::crlf_normalise;
use mailport::{Client, Envelope, Error, Kind, Message, Receipt, Security};
use postfix::{Options, Postfix};

const FROM: &str = "sender@example.org";
const TO: &str = "rcpt@example.net";
const REFUSED: &str = "refused@example.com";

// ---------------------------------------------------------------------------------------------
// helpers

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(FROM, to.iter().map(|s| s.to_string()).collect()).expect("envelope")
}

fn send_ok(client: &mut Client, envelope: &Envelope, body: &[u8]) -> Receipt {
    client
        .send_bytes(envelope, body)
        .unwrap_or_else(|e| panic!("send failed: {}", describe(&e)))
}

fn send_err(client: &mut Client, envelope: &Envelope, body: &[u8]) -> Error {
    match client.send_bytes(envelope, body) {
        Ok(receipt) => panic!(
            "expected an error, got {receipt:?}\n--- transcript ---\n{}",
            client.transcript()
        ),
        Err(err) => err,
    }
}

fn describe(err: &Error) -> String {
    format!(
        "{err:?}\nhint: {}\n--- transcript ---\n{}",
        err.hint(),
        err.transcript()
    )
}

/// A message whose delivery through Postfix can be compared byte for byte: mixed line endings
/// (sent as CRLF), a line that is a lone dot and one that starts with dots (BDAT sends them as
/// they are; Postfix's DATA to the sink stuffs them and aiosmtpd unstuffs them), 8-bit UTF-8.
fn tricky_message(tag: &str) -> Vec<u8> {
    format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: {tag}\r\nMessage-ID: <{tag}@client.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Hello from the {tag} test.\n.\n..two dots\rGrüße aus Köln\r\nlast line without end"
    )
    .into_bytes()
}

/// Postfix prepends exactly one `Received:` header (folded over several lines) and changes
/// nothing else. Returns (that header, the rest).
fn split_received(data: &[u8]) -> (String, Vec<u8>) {
    assert!(
        data.starts_with(b"Received: from "),
        "expected Postfix's Received: header first:\n{}",
        String::from_utf8_lossy(&data[..data.len().min(400)])
    );
    let mut end = 0;
    loop {
        let line_end = data[end..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| end + p + 2)
            .expect("CRLF-terminated header");
        end = line_end;
        if !matches!(data.get(end), Some(b' ' | b'\t')) {
            break;
        }
    }
    let header = String::from_utf8_lossy(&data[..end]).into_owned();
    let rest = data[end..].to_vec();
    assert!(
        !rest.starts_with(b"Received:"),
        "more than one Received: header: Postfix is not the only hop?\n{header}"
    );
    (header, rest)
}

/// The queue id in Postfix's final reply ("250 2.0.0 Ok: queued as 4dLk7R0Qh1z9sRy").
fn queue_id(receipt: &Receipt) -> String {
    let text = receipt.reply.one_line();
    text.rsplit_once("queued as ")
        .map(|(_, id)| id.trim().to_string())
        .unwrap_or_else(|| panic!("no queue id in Postfix's reply {text:?}"))
}

/// The lines mailport sent (without the "C: " prefix).
fn sent(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter_map(|l| l.strip_prefix("C: "))
        .collect()
}

/// Where the (first) MAIL FROM is among the commands sent.
fn mail_from_at(commands: &[&str]) -> usize {
    commands
        .iter()
        .position(|c| c.starts_with("MAIL FROM:"))
        .expect("no MAIL FROM was sent")
}

/// The BDAT commands sent, as (size, LAST).
fn bdat_chunks(transcript: &str) -> Vec<(u64, bool)> {
    sent(transcript)
        .into_iter()
        .filter_map(|l| l.strip_prefix("BDAT "))
        .map(|rest| {
            let mut words = rest.split(' ');
            let size = words.next().unwrap().parse().expect("BDAT size");
            let last = match words.next() {
                None => false,
                Some("LAST") => true,
                Some(other) => panic!("unexpected BDAT argument {other:?}"),
            };
            (size, last)
        })
        .collect()
}

fn count_sent(transcript: &str, verb: &str) -> usize {
    sent(transcript)
        .into_iter()
        .filter(|l| {
            l.split(' ')
                .next()
                .is_some_and(|v| v.eq_ignore_ascii_case(verb))
        })
        .count()
}

/// The keywords of the last EHLO reply in the transcript ("PIPELINING", "SIZE 10240000", ...).
fn ehlo_keywords(transcript: &str) -> Vec<String> {
    let lines: Vec<&str> = transcript.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("C: EHLO "))
        .unwrap_or_else(|| panic!("no EHLO in the transcript:\n{transcript}"));
    let mut keywords = Vec::new();
    for line in &lines[start + 1..] {
        let Some(reply) = line.strip_prefix("S: ") else {
            continue;
        };
        assert!(reply.starts_with("250"), "EHLO refused: {reply}");
        keywords.push(reply[4..].to_string());
        if reply.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    }
    // The first line is the server's name.
    keywords.remove(0);
    keywords
}

/// Index of the first transcript line for which `pred` holds.
fn position(transcript: &str, what: &str, pred: impl Fn(&str) -> bool) -> usize {
    transcript
        .lines()
        .position(pred)
        .unwrap_or_else(|| panic!("{what} not in the transcript:\n{transcript}"))
}

/// Deterministic bytes that do not compress or repeat within a chunk (xorshift64).
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A CRLF message of about `size` bytes with 76-character lines.
fn message_of_size(size: usize, tag: &str) -> Vec<u8> {
    let mut body = format!("From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: {tag}\r\n\r\n").into_bytes();
    let mut n = 0u64;
    while body.len() < size {
        n += 1;
        body.extend_from_slice(format!("{n:08} {}\r\n", "z".repeat(66)).as_bytes());
    }
    body
}

// ---------------------------------------------------------------------------------------------
// 1. what Postfix offers

#[test]
fn postfix_advertises_chunking_and_pipelining() {
    let postfix = Postfix::start(Options::default());
    let (major, minor) = postfix
        .ready
        .version
        .split_once('.')
        .map(|(a, b)| {
            let minor = b.split('.').next().unwrap_or("0");
            (a.parse::<u32>().unwrap(), minor.parse::<u32>().unwrap())
        })
        .expect("Postfix version");
    assert!(
        (major, minor) >= (3, 4),
        "Postfix {} predates BDAT support (3.4)",
        postfix.ready.version
    );

    let mut client = postfix.client(|_| {});
    client
        .noop()
        .unwrap_or_else(|e| panic!("NOOP: {}", describe(&e)));
    let transcript = client.transcript();
    let keywords = ehlo_keywords(&transcript);
    for wanted in [
        "PIPELINING",
        "CHUNKING",
        "8BITMIME",
        "SMTPUTF8",
        "SIZE 10240000",
    ] {
        assert!(
            keywords.iter().any(|k| k == wanted),
            "{wanted} missing from Postfix's EHLO reply {keywords:?}\n{transcript}"
        );
    }
    assert!(
        transcript.contains("S: 220 postfix.test ESMTP Postfix"),
        "not our private instance?\n{transcript}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. one recipient: envelope and BDAT LAST in one flight

#[test]
fn one_recipient_goes_out_as_one_flight_ending_in_bdat_last_and_arrives_exactly() {
    let postfix = Postfix::start(Options::default());
    let mut client = postfix.client(|_| {});
    let body = tricky_message("one-flight");
    let wire = crlf_normalise(&body);
    let receipt = send_ok(&mut client, &envelope(&[TO]), &body);
    assert_eq!(receipt.accepted, [TO]);
    assert!(receipt.rejected.is_empty());
    assert_eq!(receipt.reply.code(), 250, "{:?}", receipt.reply);
    // The size as submitted, before line ends became CRLF.
    assert_eq!(receipt.size, body.len() as u64);
    let id = queue_id(&receipt);

    let transcript = client.transcript();
    let commands = sent(&transcript);
    let from = mail_from_at(&commands);
    // RFC 1870: the declared size counts line ends as the CRLFs that are sent.
    assert_eq!(
        commands[from],
        format!("MAIL FROM:<{FROM}> SIZE={} BODY=8BITMIME", wire.len()),
        "{transcript}"
    );
    assert_eq!(
        commands[from + 1..from + 3],
        [
            format!("RCPT TO:<{TO}>").as_str(),
            format!("BDAT {} LAST", wire.len()).as_str(),
        ],
        "{transcript}"
    );
    assert_eq!(count_sent(&transcript, "DATA"), 0, "{transcript}");
    assert_eq!(bdat_chunks(&transcript), [(wire.len() as u64, true)]);
    // Pipelined: the BDAT went out before Postfix answered MAIL FROM.
    let bdat = position(&transcript, "BDAT", |l| l.starts_with("C: BDAT "));
    let mail_reply = position(&transcript, "the MAIL FROM reply", |l| {
        l.starts_with("S: 250 2.1.0")
    });
    assert!(bdat < mail_reply, "{transcript}");

    let got = postfix.delivered(1);
    let m = &got[0];
    assert_eq!(m.mail_from, FROM);
    assert_eq!(m.rcpt_tos, [TO]);
    let (received, content) = split_received(&m.data);
    assert!(
        received.contains("by postfix.test (Postfix) with ESMTP id ")
            && received.contains(&format!("id {id}")),
        "{received}"
    );
    assert_eq!(
        String::from_utf8_lossy(&content),
        String::from_utf8_lossy(&wire)
    );
    assert_eq!(content, wire, "the bytes Postfix delivered differ");
}

// ---------------------------------------------------------------------------------------------
// 3. several recipients: the envelope is settled before BDAT

#[test]
fn several_recipients_are_settled_first_then_one_bdat_last() {
    let postfix = Postfix::start(Options::default());
    let mut client = postfix.client(|_| {});
    let to = ["a@example.net", "b@example.net", "c@example.org"];
    let body = tricky_message("several");
    let wire = crlf_normalise(&body);
    let receipt = send_ok(&mut client, &envelope(&to), &body);
    assert_eq!(receipt.accepted, to);
    assert!(receipt.rejected.is_empty());
    queue_id(&receipt);

    let transcript = client.transcript();
    let commands = sent(&transcript);
    let from = mail_from_at(&commands);
    let rcpts: Vec<String> = to.iter().map(|t| format!("RCPT TO:<{t}>")).collect();
    assert_eq!(commands[from + 1..from + 4], rcpts, "{transcript}");
    assert_eq!(commands[from + 4], format!("BDAT {} LAST", wire.len()));
    assert_eq!(count_sent(&transcript, "DATA"), 0, "{transcript}");
    // MAIL and every RCPT in one flight, and BDAT only after the last RCPT reply.
    let lines: Vec<&str> = transcript.lines().collect();
    let last_rcpt = lines
        .iter()
        .rposition(|l| l.starts_with("C: RCPT TO:"))
        .unwrap();
    let first_reply = lines
        .iter()
        .position(|l| l.starts_with("S: 250 2.1.0"))
        .unwrap();
    assert!(last_rcpt < first_reply, "not pipelined:\n{transcript}");
    let bdat = position(&transcript, "BDAT", |l| l.starts_with("C: BDAT "));
    let rcpt_replies = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("S: 250 2.1.5"))
        .map(|(i, _)| i)
        .collect::<Vec<_>>();
    assert_eq!(rcpt_replies.len(), 3, "{transcript}");
    assert!(rcpt_replies.iter().all(|&i| i < bdat), "{transcript}");

    let got = postfix.delivered(1);
    let m = &got[0];
    assert_eq!(m.mail_from, FROM);
    let rcpts: BTreeSet<&str> = m.rcpt_tos.iter().map(String::as_str).collect();
    assert_eq!(rcpts, to.into_iter().collect());
    assert_eq!(split_received(&m.data).1, wire);
}

// ---------------------------------------------------------------------------------------------
// 4. a recipient Postfix refuses

#[test]
fn a_refused_recipient_aborts_the_whole_message_by_default() {
    let postfix = Postfix::start(Options {
        reject: vec![REFUSED],
        ..Options::default()
    });
    let mut client = postfix.client(|_| {});
    let to = ["a@example.net", REFUSED, "b@example.net"];
    let err = send_err(&mut client, &envelope(&to), &tricky_message("refused"));
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    let rejected = err.rejected_recipients();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].address, REFUSED);
    assert_eq!(rejected[0].reply.code(), 550);
    assert!(
        rejected[0]
            .reply
            .one_line()
            .contains("refused by the test's access map"),
        "{:?}",
        rejected[0].reply
    );
    assert!(err.message().contains(REFUSED), "{}", err.message());
    let transcript = err.transcript();
    assert_eq!(
        count_sent(transcript, "BDAT"),
        0,
        "data was sent despite a refused recipient:\n{transcript}"
    );
    assert_eq!(count_sent(transcript, "DATA"), 0, "{transcript}");
    assert_eq!(count_sent(transcript, "RSET"), 1, "{transcript}");
    postfix.assert_nothing_delivered();
    // (Logged with the queue id, not NOQUEUE: the valid first recipient opened a queue file,
    // which RSET discarded.)
    postfix.wait_for_log("reject: RCPT from");
    postfix.wait_for_log("to=<refused@example.com>");

    // The session is still good after RSET: the next message goes through on it.
    let receipt = send_ok(
        &mut client,
        &envelope(&["a@example.net"]),
        &tricky_message("after"),
    );
    assert_eq!(receipt.accepted, ["a@example.net"]);
    assert_eq!(
        client
            .transcript()
            .lines()
            .filter(|l| l.starts_with("C: EHLO"))
            .count(),
        1,
        "the second message should reuse the connection"
    );
    let got = postfix.delivered(1);
    assert_eq!(got[0].rcpt_tos, ["a@example.net"]);
    assert_eq!(
        split_received(&got[0].data).1,
        crlf_normalise(&tricky_message("after"))
    );
}

#[test]
fn a_refused_recipient_with_partial_delivery_allowed_still_delivers_to_the_others() {
    let postfix = Postfix::start(Options {
        reject: vec![REFUSED],
        ..Options::default()
    });
    let mut client = postfix.client(|c| c.allow_partial_recipients = true);
    let to = ["a@example.net", REFUSED, "b@example.net"];
    let body = tricky_message("partial");
    let wire = crlf_normalise(&body);
    let receipt = send_ok(&mut client, &envelope(&to), &body);
    assert_eq!(receipt.accepted, ["a@example.net", "b@example.net"]);
    assert_eq!(receipt.rejected.len(), 1, "{receipt:?}");
    assert_eq!(receipt.rejected[0].address, REFUSED);
    assert_eq!(receipt.rejected[0].reply.code(), 550);
    assert_eq!(receipt.reply.code(), 250);
    queue_id(&receipt);

    // Partial delivery allowed: MAIL, every RCPT and BDAT LAST in one flight.
    let transcript = client.transcript();
    let bdat = position(&transcript, "BDAT", |l| l.starts_with("C: BDAT "));
    let mail_reply = position(&transcript, "the MAIL FROM reply", |l| {
        l.starts_with("S: 250 2.1.0")
    });
    assert!(bdat < mail_reply, "{transcript}");
    assert_eq!(bdat_chunks(&transcript), [(wire.len() as u64, true)]);

    let got = postfix.delivered(1);
    let rcpts: BTreeSet<&str> = got[0].rcpt_tos.iter().map(String::as_str).collect();
    assert_eq!(
        rcpts,
        ["a@example.net", "b@example.net"].into_iter().collect()
    );
    assert_eq!(split_received(&got[0].data).1, wire);
}

#[test]
fn a_single_refused_recipient_fails_as_a_recipient_error_though_bdat_went_out_with_it() {
    let postfix = Postfix::start(Options {
        reject: vec![REFUSED],
        ..Options::default()
    });
    let mut client = postfix.client(|_| {});
    let err = send_err(&mut client, &envelope(&[REFUSED]), &tricky_message("alone"));
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    assert_eq!(err.rejected_recipients().len(), 1);
    assert_eq!(err.rejected_recipients()[0].address, REFUSED);
    assert_eq!(err.rejected_recipients()[0].reply.code(), 550);
    // One recipient: the chunk went out with the envelope, and Postfix refused it too.
    let transcript = err.transcript();
    assert_eq!(count_sent(transcript, "BDAT"), 1, "{transcript}");
    let lines: Vec<&str> = transcript.lines().collect();
    let bdat = lines.iter().position(|l| l.starts_with("C: BDAT")).unwrap();
    let chunk_reply = lines[bdat..]
        .iter()
        .filter(|l| l.starts_with("S: "))
        .nth(2)
        .expect("a reply to BDAT");
    assert!(
        chunk_reply.starts_with("S: 554"),
        "Postfix should refuse a chunk without valid recipients:\n{transcript}"
    );

    // A large message: only its first chunk (not LAST) goes out with the envelope, then
    // mailport stops and resets.
    let large = message_of_size(2_500_000, "large and refused");
    let err = send_err(&mut client, &envelope(&[REFUSED]), &large);
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    let chunks = bdat_chunks(err.transcript());
    assert_eq!(chunks.len(), 1, "{}", err.transcript());
    assert!(!chunks[0].1, "{}", err.transcript());
    assert_eq!(
        count_sent(err.transcript(), "RSET"),
        1,
        "{}",
        err.transcript()
    );
    postfix.assert_nothing_delivered();

    // And the connection is still in step with Postfix.
    let body = tricky_message("after refusals");
    send_ok(&mut client, &envelope(&[TO]), &body);
    let got = postfix.delivered(1);
    assert_eq!(split_received(&got[0].data).1, crlf_normalise(&body));
}

// ---------------------------------------------------------------------------------------------
// 5. a large message in several chunks

#[test]
fn a_large_attachment_goes_in_several_pipelined_bdat_chunks_and_arrives_intact() {
    let postfix = Postfix::start(Options::default());
    let attachment = pseudo_random(3 * 1024 * 1024, 0x5eed);
    let text = "The attachment is 3 MiB of pseudo-random bytes.\n.\nEnd.\n";
    let mut message = Message::new();
    message
        .set_from(FROM)
        .unwrap()
        .add_to(TO)
        .unwrap()
        .set_subject("large attachment over BDAT")
        .unwrap()
        .set_text(text)
        .unwrap()
        .attach_bytes("random.bin", None, attachment.clone())
        .unwrap();

    let mut client = postfix.client(|_| {});
    let receipt = client
        .send_message(&message)
        .unwrap_or_else(|e| panic!("send failed: {}", describe(&e)));
    assert_eq!(receipt.accepted, [TO]);
    queue_id(&receipt);
    let transcript = client.transcript();
    let chunks = bdat_chunks(&transcript);
    assert!(chunks.len() >= 4, "{chunks:?}\n{transcript}");
    assert!(chunks[..chunks.len() - 1].iter().all(|&(_, last)| !last));
    assert!(chunks.last().unwrap().1, "the last chunk must be LAST");
    assert!(
        chunks.iter().all(|&(n, _)| n <= 1024 * 1024 + 64 * 1024),
        "{chunks:?}"
    );
    assert_eq!(
        chunks.iter().map(|&(n, _)| n).sum::<u64>(),
        receipt.size,
        "{chunks:?}"
    );
    assert_eq!(count_sent(&transcript, "DATA"), 0);
    // Pipelined chunks: after the first (which went with the envelope), the next ones go out
    // before Postfix has answered the second.
    let lines: Vec<&str> = transcript.lines().collect();
    let bdats: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("C: BDAT "))
        .collect();
    let replies_between =
        |a: usize, b: usize| lines[a..b].iter().filter(|l| l.starts_with("S: ")).count();
    assert_eq!(
        replies_between(bdats[1], bdats[2]),
        0,
        "the third chunk waited for the second's reply:\n{transcript}"
    );

    let got = postfix.delivered(1);
    let (_, content) = split_received(&got[0].data);
    assert_eq!(content.len() as u64, receipt.size, "declared size is exact");
    let parsed = common::inspect_eml(&content);
    let defects = parsed["defects"].as_array().map_or(0, Vec::len);
    assert_eq!(defects, 0, "{}", parsed["defects"]);
    let parts = &parsed["structure"]["parts"];
    assert_eq!(parsed["structure"]["type"], "multipart/mixed");
    assert_eq!(parts[0]["type"], "text/plain");
    assert_eq!(
        parts[0]["text"].as_str().unwrap().replace("\r\n", "\n"),
        text
    );
    assert_eq!(parts[1]["filename"], "random.bin");
    assert_eq!(parts[1]["size"], attachment.len());
    assert_eq!(parts[1]["sha256"], common::sha256_hex(&attachment));
    let ids: Vec<&str> = parsed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| {
            h[0].as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("Message-ID"))
        })
        .filter_map(|h| h[1].as_str())
        .collect();
    assert_eq!(ids, [receipt.message_id.as_deref().unwrap()]);

    // The same message rendered once and sent as bytes on the same connection: byte-exact.
    let raw = message.to_bytes().unwrap();
    let receipt = send_ok(&mut client, &envelope(&[TO]), &raw);
    let first = bdat_chunks(&transcript).len();
    let chunks = bdat_chunks(&client.transcript());
    assert!(chunks.len() >= first + 4, "{chunks:?}");
    let got = postfix.delivered(2);
    let content = split_received(&got[1].data).1;
    assert_eq!(content.len() as u64, receipt.size);
    assert!(
        content == raw,
        "the 4 MB message changed on its way through Postfix"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Postfix's message_size_limit

#[test]
fn a_message_over_the_advertised_size_is_refused_before_anything_is_sent() {
    let postfix = Postfix::start(Options {
        size_limit: Some(1_000_000),
        ..Options::default()
    });
    let body = message_of_size(1_500_000, "too big");
    let mut client = postfix.client(|_| {});
    let err = send_err(&mut client, &envelope(&[TO]), &body);
    assert_eq!(err.kind(), Kind::MessageTooLarge, "{}", describe(&err));
    assert!(err.message().contains("1000000"), "{}", err.message());
    let transcript = err.transcript();
    assert!(
        ehlo_keywords(&client.transcript()).contains(&"SIZE 1000000".to_string()),
        "{transcript}"
    );
    assert_eq!(count_sent(transcript, "MAIL"), 0, "{transcript}");
    assert_eq!(count_sent(transcript, "BDAT"), 0, "{transcript}");

    // Size not known in advance: mailport counts while reading and stops before sending.
    let mut client = postfix.client(|_| {});
    let mut reader = &body[..];
    let err = match client.send(&envelope(&[TO]), &mut reader, None) {
        Ok(receipt) => panic!("expected an error, got {receipt:?}"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), Kind::MessageTooLarge, "{}", describe(&err));
    let transcript = err.transcript();
    assert_eq!(count_sent(transcript, "BDAT"), 0, "{transcript}");

    // Under the limit as given (LF line ends) but over it once every line end is a CRLF: the
    // declared size counts CRLFs, so this is refused before sending too.
    let mut lf_only = b"Subject: lf\n\n".to_vec();
    lf_only.extend(b"12345678\n".repeat(105_000));
    assert!(lf_only.len() < 1_000_000 && mailport::smtp::data::message_size(&lf_only) > 1_000_000);
    let mut client = postfix.client(|_| {});
    let err = send_err(&mut client, &envelope(&[TO]), &lf_only);
    assert_eq!(err.kind(), Kind::MessageTooLarge, "{}", describe(&err));
    let transcript = err.transcript();
    assert_eq!(count_sent(transcript, "MAIL"), 0, "{transcript}");
    postfix.assert_nothing_delivered();
}

#[test]
fn a_message_over_postfixs_unadvertised_limit_is_refused_by_postfix_as_too_large() {
    let postfix = Postfix::start(Options {
        size_limit: Some(1_500_000),
        discard_ehlo: vec!["size"],
        ..Options::default()
    });
    let mut client = postfix.client(|_| {});
    assert!(
        client.noop().is_ok() && !client.transcript().contains("SIZE"),
        "{}",
        client.transcript()
    );
    let body = message_of_size(3_200_000, "too big for postfix");
    let err = send_err(&mut client, &envelope(&[TO]), &body);
    assert_eq!(err.kind(), Kind::MessageTooLarge, "{}", describe(&err));
    let reply = err.reply().expect("Postfix's reply");
    assert_eq!(reply.code(), 552, "{reply:?}");
    let transcript = err.transcript();
    let chunks = bdat_chunks(transcript);
    assert!(chunks.len() >= 3, "{chunks:?}\n{transcript}");
    assert!(chunks.last().unwrap().1, "{transcript}");
    // 1.5 MB: the first 1 MiB chunk fits, so Postfix refuses a later one, while more chunks
    // are in flight (pipelined): mailport must read a reply for every chunk, then RSET.
    let lines: Vec<&str> = transcript.lines().collect();
    let first_bdat = lines.iter().position(|l| l.starts_with("C: BDAT")).unwrap();
    let replies: Vec<&str> = lines[first_bdat..]
        .iter()
        .filter(|l| l.starts_with("S: "))
        .copied()
        .collect();
    // MAIL, RCPT, then one reply per chunk, then the RSET reply.
    assert_eq!(replies.len(), 2 + chunks.len() + 1, "{transcript}");
    assert!(replies[2].starts_with("S: 250"), "{transcript}");
    assert!(
        replies[3].starts_with("S: 552 5.3.4"),
        "the second chunk crosses the limit:\n{transcript}"
    );
    assert_eq!(count_sent(transcript, "RSET"), 1, "{transcript}");
    postfix.assert_nothing_delivered();

    // Postfix and mailport agree on where the transaction stands: the next message on the
    // same client goes through.
    let small = tricky_message("after too big");
    let receipt = send_ok(&mut client, &envelope(&[TO]), &small);
    assert_eq!(receipt.reply.code(), 250);
    let got = postfix.delivered(1);
    assert_eq!(split_received(&got[0].data).1, crlf_normalise(&small));
}

// ---------------------------------------------------------------------------------------------
// 7. one extension without the other

#[test]
fn chunking_without_pipelining_waits_for_every_reply() {
    let postfix = Postfix::start(Options {
        discard_ehlo: vec!["pipelining"],
        reject: vec![REFUSED],
        ..Options::default()
    });
    let mut client = postfix.client(|c| c.allow_partial_recipients = true);
    let attachment = pseudo_random(2 * 1024 * 1024, 7);
    let mut message = Message::new();
    message
        .set_from(FROM)
        .unwrap()
        .add_to(TO)
        .unwrap()
        .add_cc(REFUSED)
        .unwrap()
        .set_subject("no pipelining")
        .unwrap()
        .set_text("stepwise")
        .unwrap()
        .attach_bytes("data.bin", None, attachment.clone())
        .unwrap();
    let receipt = client
        .send_message(&message)
        .unwrap_or_else(|e| panic!("send failed: {}", describe(&e)));
    assert_eq!(receipt.accepted, [TO]);
    assert_eq!(receipt.rejected.len(), 1);
    assert_eq!(receipt.rejected[0].address, REFUSED);
    let transcript = client.transcript();
    let keywords = ehlo_keywords(&transcript);
    assert!(
        keywords.iter().any(|k| k == "CHUNKING") && !keywords.iter().any(|k| k == "PIPELINING"),
        "{keywords:?}"
    );
    let chunks = bdat_chunks(&transcript);
    assert!(chunks.len() >= 3, "{chunks:?}");
    assert!(chunks.last().unwrap().1);
    // Lock step: after MAIL FROM, every command waits for the reply to the one before.
    let lines: Vec<&str> = transcript.lines().collect();
    let mail = lines
        .iter()
        .position(|l| l.starts_with("C: MAIL FROM:"))
        .unwrap();
    let mut waiting = false;
    for line in &lines[mail..] {
        if line.starts_with("C: <message") {
            continue;
        }
        if line.starts_with("C: ") {
            assert!(
                !waiting,
                "{line} sent before the previous reply:\n{transcript}"
            );
            waiting = true;
        } else if line.starts_with("S: ") {
            waiting = false;
        }
    }

    let got = postfix.delivered(1);
    assert_eq!(got[0].rcpt_tos, [TO]);
    let (_, content) = split_received(&got[0].data);
    assert_eq!(content.len() as u64, receipt.size);
    let parsed = common::inspect_eml(&content);
    let parts = &parsed["structure"]["parts"];
    assert_eq!(parts[1]["sha256"], common::sha256_hex(&attachment));
}

#[test]
fn pipelining_without_chunking_sends_the_envelope_and_data_in_one_flight() {
    let postfix = Postfix::start(Options {
        discard_ehlo: vec!["chunking"],
        ..Options::default()
    });
    let mut client = postfix.client(|_| {});
    let body = tricky_message("pipelined data");
    let receipt = send_ok(&mut client, &envelope(&[TO, "second@example.net"]), &body);
    assert_eq!(receipt.accepted, [TO, "second@example.net"]);
    let transcript = client.transcript();
    assert_eq!(count_sent(&transcript, "BDAT"), 0, "{transcript}");
    let commands = sent(&transcript);
    let from = mail_from_at(&commands);
    assert_eq!(
        commands[from + 1..from + 4],
        [
            format!("RCPT TO:<{TO}>").as_str(),
            "RCPT TO:<second@example.net>",
            "DATA"
        ],
        "{transcript}"
    );
    let data = position(&transcript, "DATA", |l| l == "C: DATA");
    let mail_reply = position(&transcript, "the MAIL FROM reply", |l| {
        l.starts_with("S: 250 2.1.0")
    });
    assert!(data < mail_reply, "not pipelined:\n{transcript}");
    // The dot lines were stuffed by mailport and unstuffed by Postfix: exact bytes again.
    let got = postfix.delivered(1);
    assert_eq!(split_received(&got[0].data).1, crlf_normalise(&body));
}

// ---------------------------------------------------------------------------------------------
// 8. STARTTLS

#[test]
fn starttls_verified_against_the_test_ca_then_bdat() {
    let postfix = Postfix::start(Options {
        starttls: true,
        ..Options::default()
    });
    let mut client = Client::new(postfix.config(Security::StartTls)).unwrap();
    let body = tricky_message("starttls");
    let receipt = send_ok(&mut client, &envelope(&[TO]), &body);
    assert_eq!(receipt.security, Security::StartTls);
    let tls = receipt.tls.as_ref().expect("TLS info");
    assert!(
        matches!(tls.version.as_str(), "TLSv1.3" | "TLSv1.2"),
        "{tls:?}"
    );
    let transcript = client.transcript();
    assert_eq!(count_sent(&transcript, "STARTTLS"), 1, "{transcript}");
    assert_eq!(count_sent(&transcript, "EHLO"), 2, "{transcript}");
    let keywords = ehlo_keywords(&transcript);
    assert!(
        keywords.iter().any(|k| k == "CHUNKING")
            && keywords.iter().any(|k| k == "PIPELINING")
            && !keywords.iter().any(|k| k == "STARTTLS"),
        "EHLO after TLS: {keywords:?}"
    );
    assert_eq!(
        bdat_chunks(&transcript),
        [(crlf_normalise(&body).len() as u64, true)]
    );

    let got = postfix.delivered(1);
    let (received, content) = split_received(&got[0].data);
    assert!(
        received.contains("with ESMTPS id"),
        "Postfix did not see TLS: {received}"
    );
    assert_eq!(content, crlf_normalise(&body));

    // Trusting another CA (the sink's), the certificate is not trusted, and nothing is sent.
    let mut config = postfix.config(Security::StartTls);
    config.tls.ca_files = vec![postfix.sink.ca.clone()];
    let mut untrusting = Client::new(config).unwrap();
    let err = send_err(&mut untrusting, &envelope(&[TO]), &body);
    assert_eq!(err.kind(), Kind::CertificateUntrusted, "{}", describe(&err));
    assert_eq!(count_sent(err.transcript(), "MAIL"), 0);
    postfix.delivered(1);
}
