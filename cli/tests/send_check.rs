//! `mailport send` and `mailport check`, run as the built binary against aiosmtpd (a server we
//! did not write), through the root crate's test support. What the server received is parsed
//! by Python's `email` package (`tests/servers/inspect_eml.py`).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::TestServer;
use serde_json::Value;
use support::Run;

const USER: &str = "mailer";
const PASSWORD: &str = "s3cret-Pa55w0rd";
const PASSWORD_VAR: &str = "MAILPORT_TEST_SMTP_PASSWORD";
/// Log in as `USER` with the password from `PASSWORD_VAR`.
const LOGIN: [&str; 4] = ["--user", USER, "--password-env", PASSWORD_VAR];
/// The envelope of most test messages: one sender, one recipient.
const ENVELOPE: [&str; 4] = ["--from", "sender@example.com", "--to", "to@example.com"];

/// Run `mailport args…` with `env` added (and the test password variable only when given),
/// `stdin` as standard input (nothing when `None`).
fn mailport_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    support::run_mailport(args, env, &[PASSWORD_VAR], stdin)
}

fn mailport(args: &[&str]) -> Run {
    mailport_with(args, &[], None)
}

/// The password in its environment variable, as `--password-env` expects it.
fn with_password(password: &str) -> [(&str, &str); 1] {
    [(PASSWORD_VAR, password)]
}

/// A STARTTLS server (certificate for localhost) with AUTH, plus `extra` options.
fn starttls_server(extra: &[&str]) -> TestServer {
    let mut args = vec![
        "--mode",
        "starttls",
        "--auth",
        "mailer:s3cret-Pa55w0rd",
        "--hostname",
        "localhost",
        "--queue-id",
    ];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// `--server localhost:PORT --ca-file CA` and the other options every send against `server`
/// needs, followed by `rest`.
fn send_args(server: &TestServer, rest: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "send",
        "--server",
        &format!("localhost:{}", server.port),
        "--ca-file",
        path_str(&server.ca),
        "--helo",
        "client.test",
        "--timeout",
        "30",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A file in a fresh directory of this test process, removed with the directory at exit of the
/// test (best effort).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "mailport-cli-test-{}-{name}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The message as Python's `email` package sees it (see `tests/servers/inspect_eml.py`).
fn inspect(data: &[u8]) -> Value {
    let dir = TempDir::new("inspect");
    let file = dir.file("message.eml", data);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/servers/inspect_eml.py");
    let python = std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python)
        .arg(&script)
        .arg(&file)
        .output()
        .expect("run inspect_eml.py");
    assert!(
        output.status.success(),
        "inspect_eml.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("inspect_eml.py prints JSON")
}

/// The decoded value of the first header called `name`.
fn header(parsed: &Value, name: &str) -> Option<String> {
    parsed["headers"].as_array()?.iter().find_map(|h| {
        (h[0].as_str()?.eq_ignore_ascii_case(name)).then(|| h[1].as_str().unwrap_or("").into())
    })
}

/// Every non-multipart part, depth first.
fn leaves(node: &Value) -> Vec<&Value> {
    match node["parts"].as_array() {
        Some(parts) => parts.iter().flat_map(leaves).collect(),
        None => vec![node],
    }
}

/// The text of the first part of `media_type` that is not an attachment.
fn body(parsed: &Value, media_type: &str) -> Option<String> {
    leaves(&parsed["structure"])
        .into_iter()
        .find(|p| p["type"] == media_type && p["filename"].is_null())
        .and_then(|p| p["text"].as_str().map(str::to_string))
}

/// Line endings as sent over SMTP, for comparing bodies.
fn crlf(text: &str) -> String {
    String::from_utf8(common::crlf_normalise(text.as_bytes())).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    let dir = TempDir::new("sha");
    support::sha256_file(&dir.file("data", data))
}

// ---------------------------------------------------------------------------------------------
// send: the message arrives as composed

#[test]
fn send_starttls_with_auth_delivers_everything() {
    let server = starttls_server(&[]);
    let files = TempDir::new("starttls");
    let text = "Hello from the command line.\nSecond line, with ümlauts.\n";
    let text_file = files.file("body.txt", text.as_bytes());
    let attachment: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let attach_file = files.file("report.bin", &attachment);
    let args = send_args(
        &server,
        &[
            "--security",
            "starttls",
            "--user",
            USER,
            "--password-env",
            PASSWORD_VAR,
            "--from",
            "Sender Name <sender@example.com>",
            "--to",
            "to@example.com",
            "--cc",
            "cc@example.com",
            "--bcc",
            "hidden@example.com",
            "--subject",
            "Quarterly report ✓",
            "--text-file",
            path_str(&text_file),
            "--attach",
            path_str(&attach_file),
            "--header",
            "X-Campaign: spring",
            "--header",
            "List-Unsubscribe:<mailto:unsubscribe@example.com>",
        ],
    );
    let run = mailport_with(&strs(&args), &with_password(PASSWORD), None);
    run.expect(0);
    let line = run.stdout.trim();
    assert!(line.starts_with("sent: 250 "), "{line}");
    assert!(line.contains(&format!("port {}", server.port)), "{line}");
    assert!(
        line.contains("STARTTLS") && line.contains("TLSv1."),
        "{line}"
    );
    assert!(line.contains("Message-ID <"), "{line}");
    assert_eq!(run.stdout.lines().count(), 1, "one line on success");

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some(USER));
    assert_eq!(m.helo.as_deref(), Some("client.test"));
    assert_eq!(m.mail_from, "sender@example.com");
    assert_eq!(
        m.rcpt_tos,
        ["to@example.com", "cc@example.com", "hidden@example.com"]
    );
    // The queue id the server announced is the one printed.
    let queue_id = m.queue_id.as_deref().expect("--queue-id");
    assert!(line.contains(queue_id), "{line}");

    let parsed = inspect(&m.data);
    assert_eq!(
        header(&parsed, "Subject").as_deref(),
        Some("Quarterly report ✓")
    );
    assert_eq!(
        header(&parsed, "From").as_deref(),
        Some("Sender Name <sender@example.com>")
    );
    assert_eq!(header(&parsed, "To").as_deref(), Some("to@example.com"));
    assert_eq!(header(&parsed, "Cc").as_deref(), Some("cc@example.com"));
    assert_eq!(header(&parsed, "X-Campaign").as_deref(), Some("spring"));
    assert_eq!(
        header(&parsed, "List-Unsubscribe").as_deref(),
        Some("<mailto:unsubscribe@example.com>")
    );
    // Bcc: in the envelope only.
    assert_eq!(header(&parsed, "Bcc"), None);
    assert!(
        !String::from_utf8_lossy(&m.data).contains("hidden@example.com"),
        "the Bcc address leaked into the message"
    );
    assert_eq!(
        body(&parsed, "text/plain").map(|t| crlf(&t)),
        Some(crlf(text))
    );
    let attached = leaves(&parsed["structure"])
        .into_iter()
        .find(|p| p["filename"] == "report.bin")
        .unwrap_or_else(|| panic!("no attachment in {parsed:#}"));
    assert_eq!(attached["size"], 5000);
    assert_eq!(attached["sha256"], sha256_hex(&attachment).as_str());
    assert_eq!(parsed["defects"], serde_json::json!([]));
}

#[test]
fn send_implicit_tls_with_html_alternative() {
    let server = TestServer::start(&["--mode", "tls", "--hostname", "localhost"]);
    let files = TempDir::new("tls");
    let text_file = files.file("body.txt", b"Plain version\n");
    let html_file = files.file("body.html", b"<p>HTML <b>version</b></p>\n");
    let args = send_args(
        &server,
        &[
            &["--security", "tls"][..],
            &ENVELOPE,
            &["--subject", "implicit", "--text-file", path_str(&text_file)],
            &["--html-file", path_str(&html_file)],
        ]
        .concat(),
    );
    let run = mailport(&strs(&args));
    run.expect(0);
    assert!(run.stdout.contains("implicit TLS"), "{}", run.stdout);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].tls);
    let parsed = inspect(&messages[0].data);
    assert_eq!(header(&parsed, "Subject").as_deref(), Some("implicit"));
    assert_eq!(parsed["structure"]["type"], "multipart/alternative");
    assert_eq!(
        body(&parsed, "text/plain").map(|t| crlf(&t)),
        Some(crlf("Plain version\n"))
    );
    assert_eq!(
        body(&parsed, "text/html").map(|t| crlf(&t)),
        Some(crlf("<p>HTML <b>version</b></p>\n"))
    );
}

#[test]
fn send_without_encryption_to_a_plain_server() {
    let server = TestServer::start(&["--mode", "plain"]);
    let files = TempDir::new("plain");
    let text_file = files.file("body.txt", b"no TLS here\n");
    let args = send_args(
        &server,
        &[
            &["--security", "none"][..],
            &ENVELOPE,
            &["--subject", "plain", "--text-file", path_str(&text_file)],
        ]
        .concat(),
    );
    let run = mailport(&strs(&args));
    run.expect(0);
    assert!(run.stdout.contains("no encryption"), "{}", run.stdout);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert!(!messages[0].tls);
    let parsed = inspect(&messages[0].data);
    assert_eq!(header(&parsed, "Subject").as_deref(), Some("plain"));
    assert_eq!(
        body(&parsed, "text/plain").map(|t| crlf(&t)),
        Some(crlf("no TLS here\n"))
    );
}

#[test]
fn send_reads_the_text_from_stdin() {
    let server = starttls_server(&[]);
    let text = "piped in\nfrom standard input\n";
    let args = send_args(
        &server,
        &[&ENVELOPE[..], &["--subject", "stdin", "--text-file", "-"]].concat(),
    );
    let run = mailport_with(&strs(&args), &[], Some(text.as_bytes()));
    run.expect(0);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let parsed = inspect(&messages[0].data);
    assert_eq!(
        body(&parsed, "text/plain").map(|t| crlf(&t)),
        Some(crlf(text))
    );
}

// ---------------------------------------------------------------------------------------------
// send: each failing phase has its exit status and says what to do

#[test]
fn wrong_password_exits_6_with_the_hint() {
    let server = starttls_server(&[]);
    let args = send_args(&server, &[LOGIN, ENVELOPE].concat());
    let run = mailport_with(&strs(&args), &with_password("not-the-password"), None);
    run.expect(6)
        .stderr_says(&["error: ", "server said: 535", "hint: ", "password"]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(server.messages().is_empty());
}

#[test]
fn refused_port_exits_4() {
    let port = common::refused_port();
    let run = mailport(&[
        "send",
        "--server",
        &format!("127.0.0.1:{port}"),
        "--from",
        "sender@example.com",
        "--to",
        "to@example.com",
        "--timeout",
        "10",
    ]);
    run.expect(4).stderr_says(&["refused", "hint: "]);
}

#[test]
fn implicit_tls_against_a_starttls_server_exits_5() {
    let server = starttls_server(&[]);
    let args = send_args(&server, &[&["--security", "tls"][..], &ENVELOPE].concat());
    mailport(&strs(&args))
        .expect(5)
        .stderr_says(&["hint: ", "STARTTLS"]);
    assert!(server.messages().is_empty());
}

#[test]
fn starttls_against_an_implicit_tls_server_exits_5_and_names_the_flag() {
    let server = TestServer::start(&["--mode", "tls", "--hostname", "localhost"]);
    // --timeout 300: the greeting wait (5 s), not a reply timeout, ends it.
    let mut args = send_args(
        &server,
        &[&["--security", "starttls"][..], &ENVELOPE].concat(),
    );
    let at = args.iter().position(|a| a == "--timeout").unwrap();
    args[at + 1] = "300".into();
    mailport(&strs(&args)).expect(5).stderr_says(&[
        "expects implicit TLS",
        "hint: ",
        "--security tls",
    ]);
    assert!(server.messages().is_empty());
}

#[test]
fn rejected_recipient_exits_8_and_is_listed() {
    let server = starttls_server(&["--reject-rcpt", "nobody"]);
    let args = send_args(
        &server,
        &[&ENVELOPE[..], &["--to", "nobody@example.com"]].concat(),
    );
    let run = mailport(&strs(&args));
    run.expect(8).stderr_says(&["rejected recipients:"]);
    let listed = run
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("nobody@example.com"))
        .unwrap_or_else(|| panic!("nobody@example.com not listed:\n{}", run.stderr));
    assert!(listed.contains("550"), "{listed}");
    assert!(server.messages().is_empty(), "nothing is delivered");
}

/// A hostile server's reply with a bare CR and terminal escapes reaches the terminal escaped
/// (issue 12.7), in "server said:" and the list of rejected recipients.
#[test]
fn control_characters_in_a_reply_never_reach_the_terminal() {
    let server = starttls_server(&["--reject-rcpt", "nobody", "--hostile-text"]);
    let args = send_args(
        &server,
        &[
            &ENVELOPE[..],
            &["--to", "nobody@example.com", "--transcript"],
        ]
        .concat(),
    );
    let run = mailport(&strs(&args));
    run.expect(8)
        .stderr_says(&["rejected\\r* forged: delivered\\u{1b}[2J"]);
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains(['\r', '\u{1b}', '\u{7}']), "{output:?}");
    }
}

#[test]
fn temporarily_refused_recipient_says_so() {
    let server = starttls_server(&["--tempfail-rcpt", "busy"]);
    let args = send_args(
        &server,
        &["--from", "sender@example.com", "--to", "busy@example.com"],
    );
    mailport(&strs(&args))
        .expect(8)
        .stderr_says(&["450", "temporary"]);
}

#[test]
fn invalid_address_exits_3_before_connecting() {
    let server = starttls_server(&[]);
    let args = send_args(
        &server,
        &[
            "--from",
            "sender@example.com",
            "--to",
            "fine@example.com, broken@@example.com",
        ],
    );
    mailport(&strs(&args))
        .expect(3)
        .stderr_says(&["invalid addresses:", "broken@@example.com"]);
    let args = send_args(&server, &["--from", "no-at-sign", "--to", "to@example.com"]);
    mailport(&strs(&args)).expect(3);
    assert_eq!(
        server.connections(),
        0,
        "nothing was sent, nothing connected"
    );
}

#[test]
fn bad_headers_and_files_exit_3() {
    let server = starttls_server(&[]);
    let files = TempDir::new("bad");
    let missing = files.0.join("does-not-exist.pdf");
    for rest in [
        vec!["--header", "No colon here"],
        vec!["--header", "Subject: managed by mailport"],
        vec!["--header", "X-Bad Name: value"],
        vec!["--attach", path_str(&missing)],
        vec!["--text-file", path_str(&missing)],
    ] {
        let all = [&ENVELOPE[..], &rest].concat();
        let run = mailport(&strs(&send_args(&server, &all)));
        run.expect(3);
        assert!(run.stderr.contains("error: "), "{rest:?}: {}", run.stderr);
    }
    let not_utf8 = files.file("latin1.txt", b"caf\xe9\n");
    let args = send_args(
        &server,
        &[&ENVELOPE[..], &["--text-file", path_str(&not_utf8)]].concat(),
    );
    mailport(&strs(&args)).expect(3).stderr_says(&["UTF-8"]);
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_password_that_cannot_be_read_exits_3() {
    let server = starttls_server(&[]);
    // --password-env names a variable that is not set.
    let args = send_args(&server, &[LOGIN, ENVELOPE].concat());
    mailport(&strs(&args))
        .expect(3)
        .stderr_says(&[PASSWORD_VAR, "not set"]);
    // --user alone, and standard input is not a terminal: nothing to prompt on.
    let args = send_args(&server, &[&["--user", USER][..], &ENVELOPE].concat());
    mailport(&strs(&args))
        .expect(3)
        .stderr_says(&["--password-env"]);
    assert_eq!(server.connections(), 0);
    // A password given as a plain argument is not even a flag.
    let password = ["--user", USER, "--password", PASSWORD];
    let args = send_args(&server, &[password, ENVELOPE].concat());
    mailport(&strs(&args)).expect(2);
}

#[test]
fn the_transcript_shows_the_session_but_never_the_password() {
    let server = starttls_server(&[]);
    let base = [
        &LOGIN[..],
        &ENVELOPE,
        &["--subject", "with transcript", "--transcript"],
    ]
    .concat();
    let plain_auth = common::base64_encode(format!("\0{USER}\0{PASSWORD}").as_bytes());
    let login_password = common::base64_encode(PASSWORD.as_bytes());
    for (password, status) in [(PASSWORD, 0), ("wrong-Pa55w0rd", 6)] {
        let run = mailport_with(
            &strs(&send_args(&server, &base)),
            &with_password(password),
            None,
        );
        run.expect(status).stderr_says(&[
            "C: EHLO client.test",
            "S: 220 ",
            "C: STARTTLS",
            "C: AUTH ",
        ]);
        for secret in [password, plain_auth.as_str(), login_password.as_str()] {
            assert!(
                !run.stderr.contains(secret) && !run.stdout.contains(secret),
                "the transcript shows a secret ({secret}):\n{}",
                run.stderr
            );
        }
        if status == 0 {
            assert!(run.stderr.contains("C: DATA"), "{}", run.stderr);
            // The transcript goes to stderr; stdout keeps its one line.
            assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
        }
    }
    // Without the flag: no transcript.
    let without: Vec<&str> = base
        .iter()
        .copied()
        .filter(|a| *a != "--transcript")
        .collect();
    let run = mailport_with(
        &strs(&send_args(&server, &without)),
        &with_password(PASSWORD),
        None,
    );
    run.expect(0);
    assert!(!run.stderr.contains("C: EHLO"), "{}", run.stderr);
}

#[test]
fn timeout_bounds_a_silent_server() {
    let server = TestServer::start(&["--mode", "starttls", "--hang", "greeting"]);
    let run = mailport(&[
        "send",
        "--server",
        &format!("127.0.0.1:{}", server.port),
        "--security",
        "starttls",
        "--from",
        "sender@example.com",
        "--to",
        "to@example.com",
        "--timeout",
        "1.5",
    ]);
    run.expect(10);
    assert!(
        run.elapsed < Duration::from_secs(15),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn help_documents_the_exit_statuses() {
    for sub in ["send", "check"] {
        let run = mailport(&[sub, "--help"]);
        run.expect(0);
        assert!(run.stdout.contains("Exit status:"), "{sub}: {}", run.stdout);
        assert!(
            run.stdout.contains("11  check: no port works"),
            "{sub}: {}",
            run.stdout
        );
    }
    let run = mailport(&["send", "--help"]);
    for flag in [
        "--server",
        "--security",
        "--user",
        "--password-env",
        "--ca-file",
        "--from",
        "--to",
        "--cc",
        "--bcc",
        "--subject",
        "--text-file",
        "--html-file",
        "--attach",
        "--header",
        "--timeout",
        "--transcript",
        "--helo",
        "--allow-relay",
    ] {
        assert!(run.stdout.contains(flag), "send --help lacks {flag}");
    }
    let run = mailport(&["check", "--help"]);
    for flag in [
        "--ports",
        "--user",
        "--password-env",
        "--ca-file",
        "--json",
        "--timeout",
        "--allow-relay",
        "--from",
        "--to",
    ] {
        assert!(run.stdout.contains(flag), "check --help lacks {flag}");
    }
}

// ---------------------------------------------------------------------------------------------
// check

/// `mailport check 127.0.0.1` of a STARTTLS server's port (its CA trusted) and of a refused
/// port, with `extra` options: the server, the refused port and the run.
fn check_with_a_refused_port(extra: &[&str]) -> (TestServer, u16, Run) {
    let server = starttls_server(&[]);
    let refused = common::refused_port();
    let ports = format!("{},{refused}", server.port);
    let ca = path_str(&server.ca);
    let run = mailport(
        &[
            &["check", "127.0.0.1", "--ports", &ports, "--ca-file", ca],
            extra,
        ]
        .concat(),
    );
    (server, refused, run)
}

/// The table row of `port` in `mailport check`'s output.
fn row(out: &str, port: u16) -> &str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(&port.to_string()))
        .unwrap_or_else(|| panic!("no row for {port}:\n{out}"))
}

#[test]
fn check_prints_a_table_and_recommends_the_working_port() {
    let (server, refused, run) =
        check_with_a_refused_port(&["--helo", "client.test", "--timeout", "20"]);
    run.expect(0);
    let out = &run.stdout;
    assert!(!out.contains('\x1b'), "no colours in a pipe:\n{out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("PORT"))
        .unwrap_or_else(|| panic!("no table header:\n{out}"));
    // Every column, in order, and nothing else.
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>().join(" "),
        "PORT REACHABLE SPEAKS TLS CERTIFICATE AUTH VERDICT",
        "{header}"
    );
    let good = row(out, server.port);
    assert!(good.contains("open"), "{good}");
    assert!(good.contains("SMTP"), "{good}");
    assert!(good.contains("TLSv1.3 trusted"), "{good}");
    assert!(good.contains("localhost until "), "{good}");
    assert!(good.contains("PLAIN") && good.contains("LOGIN"), "{good}");
    assert!(good.trim_end().ends_with("works"), "{good}");
    let bad = row(out, refused);
    assert!(bad.contains("refused"), "{bad}");
    assert!(bad.trim_end().ends_with("unreachable"), "{bad}");
    // Columns line up: every cell of the verdict column starts where its header does.
    let at = header.find("VERDICT").unwrap();
    assert_eq!(good.find("works"), Some(at), "\n{header}\n{good}");
    assert_eq!(bad.find("unreachable"), Some(at), "\n{header}\n{bad}");
    assert!(out.contains("Findings:"), "{out}");
    assert!(
        out.contains(&format!("port {refused} refused the connection")),
        "{out}"
    );
    let last = out.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with(&format!("Use port {} (STARTTLS): ", server.port)),
        "{last}"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn check_with_credentials_reports_auth() {
    let server = starttls_server(&[]);
    let ports = server.port.to_string();
    let args = |password: &str| {
        mailport_with(
            &[
                "check",
                "localhost",
                "--ports",
                &ports,
                "--ca-file",
                path_str(&server.ca),
                "--user",
                USER,
                "--password-env",
                PASSWORD_VAR,
                "--timeout",
                "20",
            ],
            &with_password(password),
            None,
        )
    };
    let run = args(PASSWORD);
    run.expect(0);
    assert!(
        run.stdout.contains("credentials were accepted"),
        "{}",
        run.stdout
    );
    let run = args("wrong");
    run.expect(11);
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&ports))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(row.contains("refused") && row.contains("broken"), "{row}");
    assert!(!run.stdout.contains("wrong"), "the password is never shown");
}

#[test]
fn check_json_is_the_report_document() {
    let (server, refused, run) = check_with_a_refused_port(&["--json", "--timeout", "20"]);
    run.expect(0);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", run.stdout));
    assert_eq!(report["schema"], 1);
    assert_eq!(report["host"], "127.0.0.1");
    let ports = report["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 2);
    assert_eq!(ports[0]["port"], server.port);
    assert_eq!(ports[0]["verdict"], "works");
    assert_eq!(ports[1]["port"], refused);
    assert_eq!(ports[1]["verdict"], "unreachable");
    assert_eq!(report["recommendation"]["port"], server.port);
    assert_eq!(report["recommendation"]["security"], "starttls");
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    // Nothing works: still the document, and status 11.
    let run = mailport(&[
        "check",
        "127.0.0.1",
        "--ports",
        &refused.to_string(),
        "--json",
    ]);
    run.expect(11);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(report["recommendation"].is_null());
}

#[test]
fn check_exits_11_when_no_port_works() {
    let refused = common::refused_port();
    let filtered = common::filtered_port();
    let ports = format!("{},{refused}", filtered.port);
    let run = mailport(&["check", "127.0.0.1", "--ports", &ports, "--timeout", "2"]);
    run.expect(11);
    assert!(
        run.elapsed < Duration::from_secs(15),
        "--timeout 2 took {:?}",
        run.elapsed
    );
    let out = &run.stdout;
    assert!(row(out, filtered.port).contains("timed out"), "{out}");
    assert!(row(out, refused).contains("refused"), "{out}");
    assert!(
        !out.lines().any(|l| l.trim_end().ends_with(" works")),
        "{out}"
    );
    assert!(out.contains("No port works"), "{out}");
}

#[test]
fn check_refuses_invalid_input() {
    // A port both after the host and with --ports.
    mailport(&["check", "127.0.0.1:25", "--ports", "587"]).expect(3);
    // An envelope address that cannot be one.
    mailport(&[
        "check",
        "127.0.0.1",
        "--ports",
        &common::refused_port().to_string(),
        "--from",
        "not an address",
        "--to",
        "to@example.com",
    ])
    .expect(3);
    // --password-env with the variable missing.
    mailport(&[
        "check",
        "127.0.0.1",
        "--user",
        USER,
        "--password-env",
        PASSWORD_VAR,
    ])
    .expect(3);
    // Not a port number, and --from without --to: usage errors.
    mailport(&["check", "127.0.0.1", "--ports", "587,0"]).expect(2);
    mailport(&["check", "127.0.0.1", "--from", "a@example.com"]).expect(2);
}
