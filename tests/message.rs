//! Messages built by mailport, checked by parsers and servers we did not write: Python's
//! standard `email` package (tests/servers/inspect_eml.py) and aiosmtpd.

mod common;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use common::TestServer;
use mailport::message::{WpDefaults, WpMail, wp_mail};
use mailport::{Client, Config, Kind, Message, Security};
use serde_json::Value;

fn scratch(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("mailport-msgtest-{}-{tag}-{n}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn header<'a>(parsed: &'a Value, name: &str) -> Vec<&'a str> {
    parsed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
        .collect()
}

fn addresses(parsed: &Value, field: &str) -> Vec<(String, String)> {
    parsed["addresses"][field]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap().to_string(),
                        a["addr"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The tree of content types, e.g. "mixed[alternative[plain,related[html,png]],pdf]".
fn shape(node: &Value) -> String {
    let ty = node["type"].as_str().unwrap();
    let sub = ty.split('/').nth(1).unwrap();
    match node["parts"].as_array() {
        Some(parts) => format!(
            "{sub}[{}]",
            parts.iter().map(shape).collect::<Vec<_>>().join(",")
        ),
        None => sub.to_string(),
    }
}

fn leaves(node: &Value) -> Vec<&Value> {
    match node["parts"].as_array() {
        Some(parts) => parts.iter().flat_map(leaves).collect(),
        None => vec![node],
    }
}

fn assert_wire_clean(parsed: &Value) {
    assert_eq!(parsed["defects"], serde_json::json!([]), "parser defects");
    let lines = &parsed["lines"];
    assert!(
        lines["max"].as_u64().unwrap() <= 998,
        "line too long: {lines}"
    );
    assert_eq!(lines["bare_lf"], 0, "bare LF");
    assert_eq!(lines["bare_cr"], 0, "bare CR");
}

/// Text as compared: line endings as LF (the wire has CRLF, Python keeps it), no final newline
/// (a body always ends with one on the wire).
fn strip_final_newline(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    s.strip_suffix('\n').unwrap_or(&s).to_string()
}

/// A message from `from` to `to` with a text body.
fn simple(from: &str, to: &str, text: &str) -> Message {
    let mut message = Message::new();
    message
        .set_from(from)
        .unwrap()
        .add_to(to)
        .unwrap()
        .set_text(text)
        .unwrap();
    message
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

fn binary_blob(len: usize) -> Vec<u8> {
    // Every byte value, NUL and CR/LF among them, in a pattern that is not periodic in 3.
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn a_full_message_round_trips_through_pythons_email_parser() {
    let dir = scratch("full");
    let report = dir.join("Jahresübersicht 2026 – final.pdf");
    let report_bytes = binary_blob(100_003);
    fs::write(&report, &report_bytes).unwrap();
    let logo = dir.join("logo.png");
    fs::write(&logo, PNG).unwrap();

    let subject = "Grüße aus Köln — 会议纪要 📎 and a long ASCII tail that has to be folded somewhere sensible";
    let text = "Hallo Jörg,\n\nsee the attachment.\n.\n..a line starting with dots\nFrom the desk of Ann\n";
    let html = "<p>Hallo <b>Jörg</b>,</p><p><img src=\"cid:logo\"></p>";
    let mut message = Message::new();
    message
        .set_from("\"Müller, Jörg\" <joerg@example.com>")
        .unwrap()
        .add_to("Ann Example <ann@example.net>, \"Doe, John\" <john@example.org>")
        .unwrap()
        .add_cc("佐藤 <sato@example.jp>")
        .unwrap()
        .add_bcc("hidden@example.com")
        .unwrap()
        .add_reply_to("replies@example.com")
        .unwrap()
        .set_subject(subject)
        .unwrap()
        .set_text(text)
        .unwrap()
        .set_html(html)
        .unwrap()
        .add_header("X-Campaign", "Frühling ✿")
        .unwrap()
        .embed_file("logo", &logo, None)
        .unwrap()
        .attach_file(&report, None, None)
        .unwrap()
        .attach_bytes("notes.txt", None, b"plain notes\n".to_vec())
        .unwrap();

    let raw = message.to_bytes().unwrap();
    assert!(
        raw.is_ascii(),
        "a message for a server without SMTPUTF8 must be 7-bit"
    );
    let parsed = common::inspect_eml(&raw);
    assert_wire_clean(&parsed);

    assert_eq!(header(&parsed, "Subject"), [subject]);
    assert_eq!(header(&parsed, "X-Campaign"), ["Frühling ✿"]);
    assert_eq!(header(&parsed, "MIME-Version"), ["1.0"]);
    assert!(
        header(&parsed, "Bcc").is_empty(),
        "Bcc must not appear in headers"
    );
    assert_eq!(header(&parsed, "Date").len(), 1);
    let id = header(&parsed, "Message-ID");
    assert!(
        id[0].starts_with('<') && id[0].ends_with("@example.com>"),
        "{id:?}"
    );
    assert_eq!(
        addresses(&parsed, "from"),
        [("Müller, Jörg".into(), "joerg@example.com".into())]
    );
    assert_eq!(
        addresses(&parsed, "to"),
        [
            ("Ann Example".into(), "ann@example.net".into()),
            ("Doe, John".into(), "john@example.org".into())
        ]
    );
    assert_eq!(
        addresses(&parsed, "cc"),
        [("佐藤".into(), "sato@example.jp".into())]
    );
    assert_eq!(
        addresses(&parsed, "reply-to"),
        [(String::new(), "replies@example.com".into())]
    );

    assert_eq!(
        shape(&parsed["structure"]),
        "mixed[alternative[plain,related[html,png]],pdf,plain]"
    );
    let parts = leaves(&parsed["structure"]);
    assert_eq!(
        strip_final_newline(parts[0]["text"].as_str().unwrap()),
        strip_final_newline(text)
    );
    assert_eq!(parts[0]["charset"], "utf-8");
    assert_eq!(
        strip_final_newline(parts[1]["text"].as_str().unwrap()),
        html
    );
    assert_eq!(parts[2]["cid"], "<logo>");
    assert_eq!(parts[2]["disposition"], "inline");
    assert_eq!(parts[2]["sha256"], common::sha256_hex(PNG));
    assert_eq!(parts[3]["filename"], "Jahresübersicht 2026 – final.pdf");
    assert_eq!(parts[3]["disposition"], "attachment");
    assert_eq!(parts[3]["sha256"], common::sha256_hex(&report_bytes));
    assert_eq!(parts[3]["size"], report_bytes.len());
    assert_eq!(parts[4]["filename"], "notes.txt");
    assert_eq!(parts[4]["text"], "plain notes\n");
}

#[test]
fn transfer_encodings_follow_the_content() {
    let cases: [(&str, String, &str); 5] = [
        ("short ASCII", "Hello\nworld\n".into(), "7bit"),
        (
            "a long ASCII line",
            format!("{}\n", "word ".repeat(400)),
            "quoted-printable",
        ),
        (
            "some non-ASCII",
            "Grüße aus Köln\n".into(),
            "quoted-printable",
        ),
        (
            "mostly non-ASCII",
            "Привет, как дела? Всё хорошо.\n".repeat(5),
            "base64",
        ),
        ("a control byte", "bell \u{7} here\n".into(), "base64"),
    ];
    for (what, text, expected) in cases {
        let message = simple("a@example.com", "b@example.com", &text);
        let raw = message.to_bytes().unwrap();
        let parsed = common::inspect_eml(&raw);
        assert_wire_clean(&parsed);
        let part = &parsed["structure"];
        assert_eq!(part["cte"], expected, "{what}");
        assert_eq!(
            strip_final_newline(part["text"].as_str().unwrap()),
            strip_final_newline(&text),
            "{what}"
        );
    }
}

#[test]
fn injection_through_every_field_is_refused_and_names_the_field() {
    let dir = scratch("inject");
    let good = dir.join("ok.txt");
    fs::write(&good, "x").unwrap();
    let mut m = Message::new();
    let checks: Vec<(&str, mailport::Result<()>)> = vec![
        ("From", m.set_from("a@b.com\r\nBcc: victim@x.com").map(drop)),
        (
            "display name",
            m.set_from_parts(Some("Evil\r\nBcc: victim@x.com"), "a@b.com")
                .map(drop),
        ),
        (
            "To",
            m.add_to("a@b.com>\r\nRCPT TO:<victim@x.com").map(drop),
        ),
        ("Cc", m.add_cc("x@y.com\nBcc: v@x.com").map(drop)),
        ("Bcc", m.add_bcc("x@y.com\0").map(drop)),
        ("Reply-To", m.add_reply_to("x@y.com\r\n").map(drop)),
        ("Sender", m.set_sender("x@y.com\rX: y").map(drop)),
        (
            "envelope sender",
            m.set_envelope_from("x@y.com\r\nRSET").map(drop),
        ),
        (
            "Subject",
            m.set_subject("hi\r\nBcc: victim@x.com").map(drop),
        ),
        (
            "header X-A",
            m.add_header("X-A", "v\r\nBcc: victim@x.com").map(drop),
        ),
        ("header name", m.add_header("X-A\r\nBcc", "v").map(drop)),
        ("header name", m.add_header("X A", "v").map(drop)),
        ("header name", m.add_header("X:A", "v").map(drop)),
        (
            "Message-ID",
            m.set_message_id("<a@b>\r\nBcc: v@x").map(drop),
        ),
        (
            "filename",
            m.attach_file(&good, Some("a.txt\r\nContent-Type: text/html"), None)
                .map(drop),
        ),
        (
            "filename",
            m.attach_bytes("a\n.txt", None, b"x".to_vec()).map(drop),
        ),
        (
            "content type",
            m.attach_bytes("a.txt", Some("text/plain\r\nX: y"), b"x".to_vec())
                .map(drop),
        ),
        (
            "Content-ID",
            m.embed_bytes("lo\r\ngo", "a.png", None, b"x".to_vec())
                .map(drop),
        ),
        (
            "attachment path",
            m.attach_file(dir.join("a\nb.txt"), None, None).map(drop),
        ),
    ];
    for (field, result) in checks {
        let err = result.expect_err(field);
        assert!(
            matches!(err.kind(), Kind::InvalidInput | Kind::InvalidAddress),
            "{field}: {:?}",
            err.kind()
        );
        let text = err.message().to_lowercase();
        assert!(
            text.contains(&field.to_lowercase()),
            "error for {field} does not name it: {text}"
        );
    }
    // Nothing of the refused values stuck to the message.
    assert!(m.from().is_none() && m.to().is_empty() && m.headers().is_empty());
}

#[test]
fn a_missing_attachment_is_refused_naming_its_path() {
    let mut m = Message::new();
    let err = m
        .attach_file("/nonexistent/dir/report.pdf", None, None)
        .unwrap_err();
    assert_eq!(err.kind(), Kind::Attachment);
    assert!(
        err.message().contains("/nonexistent/dir/report.pdf"),
        "{}",
        err.message()
    );
}

// ---------------------------------------------------------------------------------------------
// through aiosmtpd

fn config(server: &TestServer, security: Security) -> Config {
    common::config_for("127.0.0.1", server, security)
}

#[test]
fn sent_messages_arrive_byte_correct_with_bcc_only_in_the_envelope() {
    let server = TestServer::start(&["--mode", "starttls", "--pipelining"]);
    let dir = scratch("sent");
    let blob = binary_blob(1_000_000);
    let path = dir.join("data.bin");
    fs::write(&path, &blob).unwrap();
    let text = format!(
        ".\n..\n.leading dot\nend\n{}\n{}\n",
        "x".repeat(2500),
        "y ".repeat(700)
    );
    let mut message = Message::new();
    message
        .set_from("Sender <sender@example.com>")
        .unwrap()
        .set_envelope_from("bounces@example.com")
        .unwrap()
        .add_to("to@example.net")
        .unwrap()
        .add_cc("cc@example.net")
        .unwrap()
        .add_bcc("secret@example.org")
        .unwrap()
        .set_subject("dots and long lines")
        .unwrap()
        .set_text(&text)
        .unwrap()
        .attach_file(&path, None, None)
        .unwrap();
    let expected = message.clone();

    let mut client = Client::new(config(&server, Security::StartTls)).unwrap();
    let receipt = client.send_message(&message).unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.mail_from, "bounces@example.com");
    assert_eq!(
        got.rcpt_tos,
        ["to@example.net", "cc@example.net", "secret@example.org"]
    );
    assert!(got.mail_options.iter().any(|o| o.starts_with("SIZE=")));
    assert_eq!(
        receipt.size,
        got.data.len() as u64,
        "declared size is exact"
    );
    let parsed = common::inspect_eml(&got.data);
    assert_wire_clean(&parsed);
    assert!(
        !String::from_utf8_lossy(&got.data).contains("secret@"),
        "Bcc leaked"
    );
    assert_eq!(
        header(&parsed, "Message-ID"),
        [receipt.message_id.as_deref().unwrap()]
    );
    let parts = leaves(&parsed["structure"]);
    assert_eq!(
        strip_final_newline(parts[0]["text"].as_str().unwrap()),
        strip_final_newline(&text)
    );
    assert_eq!(parts[1]["sha256"], common::sha256_hex(&blob));
    assert_eq!(parts[1]["type"], "application/octet-stream");
    drop(expected);
}

#[test]
fn idn_domains_become_punycode_without_smtputf8_and_a_utf8_local_part_is_refused() {
    let server = TestServer::start(&["--mode", "plain", "--hide", "SMTPUTF8"]);
    let mut client = Client::new(config(&server, Security::None)).unwrap();
    let message = simple("Jörg <joerg@bücher.example>", "info@münchen.example", "hi");
    client.send_message(&message).unwrap();
    let got = &server.messages()[0];
    assert_eq!(got.mail_from, "joerg@xn--bcher-kva.example");
    assert_eq!(got.rcpt_tos, ["info@xn--mnchen-3ya.example"]);
    assert!(!got.mail_options.iter().any(|o| o == "SMTPUTF8"));
    let parsed = common::inspect_eml(&got.data);
    assert_eq!(
        addresses(&parsed, "to"),
        [(String::new(), "info@xn--mnchen-3ya.example".into())]
    );

    let unicode_local = simple("a@example.com", "用户@例子.测试", "hi");
    let before = server.events_named("MAIL").len();
    let err = client.send_message(&unicode_local).unwrap_err();
    assert_eq!(err.kind(), Kind::InvalidAddress);
    assert!(err.message().contains("SMTPUTF8"), "{}", err.message());
    assert!(
        err.message().contains("用户@例子.测试"),
        "{}",
        err.message()
    );
    assert_eq!(
        server.events_named("MAIL").len(),
        before,
        "nothing was sent"
    );
}

#[test]
fn a_utf8_local_part_goes_out_with_smtputf8_when_offered() {
    let server = TestServer::start(&["--mode", "plain"]);
    let mut client = Client::new(config(&server, Security::None)).unwrap();
    let mut message = Message::new();
    message
        .set_from("a@example.com")
        .unwrap()
        .add_to("Ünïcode <用户@例子.测试>")
        .unwrap()
        .set_subject("Привет")
        .unwrap()
        .set_text("hi")
        .unwrap();
    client.send_message(&message).unwrap();
    let got = &server.messages()[0];
    assert_eq!(got.rcpt_tos, ["用户@例子.测试"]);
    assert!(
        got.mail_options.iter().any(|o| o == "SMTPUTF8"),
        "{:?}",
        got.mail_options
    );
    let parsed = common::inspect_eml(&got.data);
    assert_eq!(
        addresses(&parsed, "to"),
        [("Ünïcode".into(), "用户@例子.测试".into())]
    );
    assert_eq!(header(&parsed, "Subject"), ["Привет"]);
}

#[test]
fn an_attachment_that_vanished_or_changed_is_never_partly_sent() {
    let server = TestServer::start(&["--mode", "plain"]);
    let mut client = Client::new(config(&server, Security::None)).unwrap();
    let dir = scratch("vanish");
    let path = dir.join("gone.pdf");
    fs::write(&path, binary_blob(10_000)).unwrap();
    let with_attachment = || {
        let mut message = simple("a@example.com", "b@example.com", "see attached");
        message.attach_file(&path, None, None).unwrap();
        message
    };
    let message = with_attachment();

    fs::remove_file(&path).unwrap();
    let err = client.send_message(&message).unwrap_err();
    assert_eq!(err.kind(), Kind::Attachment);
    assert!(err.message().contains("gone.pdf"), "{}", err.message());
    assert!(server.events_named("MAIL").is_empty(), "nothing was sent");

    // Shorter than when it was attached: the transfer is abandoned without the final dot.
    fs::write(&path, binary_blob(500_000)).unwrap();
    let message = with_attachment();
    fs::write(&path, binary_blob(1_000)).unwrap();
    let err = client.send_message(&message).unwrap_err();
    assert_eq!(err.kind(), Kind::Attachment);
    assert!(err.message().contains("gone.pdf"), "{}", err.message());
    assert!(err.message().contains("shrank"), "{}", err.message());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.messages().is_empty(),
        "a partial message was delivered"
    );

    // And the client recovers on a fresh connection.
    fs::write(&path, binary_blob(500_000)).unwrap();
    client.send_message(&message).unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn eight_bit_mime_bodies_are_refused_by_servers_without_8bitmime() {
    let server = TestServer::start(&["--mode", "plain", "--hide", "8BITMIME"]);
    let mut client = Client::new(config(&server, Security::None)).unwrap();
    let mut message = Message::new();
    message
        .set_from("a@example.com")
        .unwrap()
        .add_to("b@example.com")
        .unwrap()
        .set_mime_body(
            "multipart/alternative; boundary=\"b1\"",
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n--b1--\r\n".as_bytes(),
        )
        .unwrap();
    let err = client.send_message(&message).unwrap_err();
    assert!(err.message().contains("8BITMIME"), "{}", err.message());
    assert!(server.messages().is_empty());

    // The builder's own bodies are 7-bit, so the same text goes through.
    let message = simple("a@example.com", "b@example.com", "Grüße");
    client.send_message(&message).unwrap();
    let got = &server.messages()[0];
    assert!(got.data.is_ascii());
    assert!(!got.mail_options.iter().any(|o| o.contains("8BITMIME")));
}

#[test]
fn wp_mail_through_aiosmtpd() {
    let server = TestServer::start(&["--mode", "starttls"]);
    let dir = scratch("wp");
    let invoice = dir.join("inv-42.pdf");
    fs::write(&invoice, binary_blob(4096)).unwrap();
    let logo = dir.join("logo.png");
    fs::write(&logo, PNG).unwrap();
    let mut mail = WpMail {
        to: vec!["\"Doe, John\" <john@example.com>, ann@example.com".into()],
        subject: "Your order #42".into(),
        message: "<p>Thanks!</p><img src=\"cid:logo\">".into(),
        attachments: vec![(Some("Invoice 42.pdf".into()), invoice.clone())],
        embeds: vec![("logo".into(), logo)],
        ..WpMail::default()
    };
    mail.add_headers(
        "From: Shop <shop@example.com>\r\nContent-Type: text/html; charset=UTF-8\nCc: boss@example.com\nBcc: audit@example.com\nX-Mailer: PHPMailer 6\nX-Order: 41\nx-order: 42\n",
    );
    let defaults = WpDefaults {
        site_domain: "www.example.com".into(),
        ..WpDefaults::default()
    };
    let message = wp_mail(&mail, &defaults).unwrap();
    let mut client = Client::new(config(&server, Security::StartTls)).unwrap();
    client.send_message(&message).unwrap();
    let got = &server.messages()[0];
    assert_eq!(got.mail_from, "shop@example.com");
    assert_eq!(
        got.rcpt_tos,
        [
            "john@example.com",
            "ann@example.com",
            "boss@example.com",
            "audit@example.com"
        ]
    );
    let parsed = common::inspect_eml(&got.data);
    assert_wire_clean(&parsed);
    assert_eq!(
        addresses(&parsed, "to"),
        [
            ("Doe, John".into(), "john@example.com".into()),
            (String::new(), "ann@example.com".into())
        ]
    );
    assert_eq!(
        addresses(&parsed, "from"),
        [("Shop".into(), "shop@example.com".into())]
    );
    assert!(header(&parsed, "X-Mailer").is_empty());
    assert_eq!(header(&parsed, "X-Order"), ["42"]);
    assert_eq!(shape(&parsed["structure"]), "mixed[related[html,png],pdf]");
    let parts = leaves(&parsed["structure"]);
    assert_eq!(parts[2]["filename"], "Invoice 42.pdf");
    assert_eq!(parts[1]["cid"], "<logo>");
}

#[test]
fn dot_stuffing_is_undone_by_the_server_and_the_bytes_match_exactly() {
    let server = TestServer::start(&["--mode", "plain", "--pipelining"]);
    let mut message = Message::new();
    message
        .set_from("a@example.com")
        .unwrap()
        .add_to("b@example.com")
        .unwrap()
        .set_subject("dots")
        .unwrap()
        .set_date(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .set_message_id("<fixed-1@example.com>")
        .unwrap()
        .set_text(".\n..\n.leading dot\n...\nend.\n.")
        .unwrap();
    let expected = message.to_bytes().unwrap();
    let as_text = String::from_utf8(expected.clone()).unwrap();
    assert!(
        as_text.contains("7bit\r\n\r\n.\r\n..\r\n.leading dot\r\n...\r\nend.\r\n.\r\n"),
        "the body must go out as 7bit so the dots reach the wire: {as_text}"
    );
    let mut client = Client::new(config(&server, Security::None)).unwrap();
    client.send_message(&message).unwrap();
    assert_eq!(server.messages()[0].data, expected);
}

#[test]
fn refused_injections_never_reach_the_server() {
    let server = TestServer::start(&["--mode", "plain", "--pipelining"]);
    let mut message = Message::new();
    let attempts = [
        message
            .set_from("a@example.com>\r\nRCPT TO:<victim@evil.test>")
            .is_err(),
        message
            .add_to("b@example.com\r\nBcc: victim@evil.test")
            .is_err(),
        message.set_subject("s\r\nBcc: victim@evil.test").is_err(),
        message
            .add_header("X-Id", "1\nBcc: victim@evil.test")
            .is_err(),
        message
            .attach_bytes("a.txt\r\nBcc: victim@evil.test", None, b"x".to_vec())
            .is_err(),
    ];
    assert!(attempts.iter().all(|refused| *refused));
    message
        .set_from("a@example.com")
        .unwrap()
        .add_to("b@example.com")
        .unwrap()
        .set_text("clean")
        .unwrap();
    let mut client = Client::new(config(&server, Security::None)).unwrap();
    client.send_message(&message).unwrap();
    let got = &server.messages()[0];
    assert_eq!(got.rcpt_tos, ["b@example.com"]);
    assert!(!String::from_utf8_lossy(&got.data).contains("victim"));
    assert!(server.events().iter().all(|e| !e.contains("victim")));
}
