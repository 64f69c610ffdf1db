//! The command line end to end: `demo` from a clean build, `send` into `capture` in each
//! security mode, and `check` against `capture` and closed ports — all through the built binary.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::{BIN, Capture, python, sha256_file, temp_dir};

const USER: &str = "e2e";
const PASSWORD: &str = "e2e-secret";
/// Log in as `USER` with the password from `E2E_PASSWORD`.
const LOGIN: [&str; 4] = ["--user", USER, "--password-env", "E2E_PASSWORD"];

impl Capture {
    /// `mailport capture` on free ports, with its logins (when `auth`) from the environment.
    fn start(dir: &Path, auth: bool) -> Capture {
        let auth = auth.then(|| format!("{USER}:{PASSWORD}"));
        Capture::start_with(dir, &[], auth.as_deref())
    }

    /// The path of the next stored message, from its announcement line.
    fn next_stored_path(&self) -> PathBuf {
        let line = self.next_stored();
        let rest = line.strip_prefix("stored ").unwrap();
        self.dir.join(rest.split_whitespace().next().unwrap())
    }
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run mailport")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Python's email package reads the stored file: the subject, the first text part and the
/// SHA-256 of each attachment, one per line.
fn python_view(eml: &Path) -> String {
    let script = r#"
import email, email.policy, hashlib, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(m["Subject"])
print(m.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n").strip())
for part in m.iter_attachments():
    print(part.get_filename(), hashlib.sha256(part.get_payload(decode=True)).hexdigest())
"#;
    python(script, &[eml.to_str().unwrap()])
}

fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn demo_succeeds_and_shows_the_table_the_transcript_and_the_stored_file() {
    let dir = temp_dir("demo");
    let out = run(&["demo", "--dir", dir.to_str().unwrap()], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("VERDICT"), "{stdout}");
    let rows = stdout.lines().filter(|l| l.ends_with("  works")).count();
    assert_eq!(rows, 2, "{stdout}");
    assert!(stdout.contains("C: STARTTLS"), "{stdout}");
    assert!(stdout.contains("C: AUTH PLAIN <redacted>"), "{stdout}");
    // The demo prints its throwaway credentials once; the transcript never carries them.
    for line in stdout.lines().filter(|l| l.trim_start().starts_with("C: ")) {
        assert!(
            !line.contains("demo-password") && !line.contains("ZGVtbw"),
            "{line}"
        );
    }
    let stored = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/') && l.ends_with(".eml"))
        .expect("the stored file's path");
    let view = python_view(Path::new(stored));
    assert!(
        view.starts_with("Hello from mailport — it works ✓\n"),
        "{view}"
    );
    assert!(view.contains("mailport-demo-report.csv "), "{view}");
}

/// Entries of `dir` whose name starts with "mailport-demo-".
fn demo_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("mailport-demo-"))
        })
        .collect()
}

#[test]
fn demo_removes_its_temporary_directory_unless_asked_to_keep_it() {
    let tmp = temp_dir("demo-tmpdir");
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    let out = run(&["demo"], &env);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("`mailport demo --keep` keeps it"),
        "{stdout}"
    );
    assert_eq!(demo_dirs(&tmp), Vec::<PathBuf>::new(), "{stdout}");

    let out = run(&["demo", "--keep"], &env);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let kept = demo_dirs(&tmp);
    assert_eq!(kept.len(), 1, "{stdout}");
    assert!(
        stdout.contains(&format!("Kept: {}", kept[0].display())),
        "{stdout}"
    );
    let stored = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/') && l.ends_with(".eml"))
        .expect("the stored file's path");
    assert!(Path::new(stored).is_file(), "{stored}");
}

#[test]
fn an_interrupted_demo_removes_its_temporary_directory() {
    use std::io::{BufRead, BufReader};
    let tmp = temp_dir("demo-interrupted");
    let mut child = Command::new(BIN)
        .arg("demo")
        .env("TMPDIR", &tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Once the first step is announced the directory exists and the handler is installed.
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("== 1."), "{first}");
    assert_eq!(demo_dirs(&tmp).len(), 1);
    // SAFETY: kill() with a child's pid and a signal number has no memory effects.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    for _ in lines {}
    let out = child.wait_with_output().unwrap();
    let (status, stderr) = (out.status, text(&out.stderr));
    // The demo may have finished before the signal arrived: then it cleaned up on its own.
    assert!(
        status.code() == Some(130) || status.success(),
        "{status:?} {stderr}"
    );
    assert_eq!(demo_dirs(&tmp), Vec::<PathBuf>::new(), "{stderr}");
}

fn send_args<'a>(
    server: &'a str,
    security: &'a str,
    body: &'a str,
    attach: &'a str,
) -> Vec<&'a str> {
    vec![
        "send",
        "--server",
        server,
        "--security",
        security,
        "--from",
        "Sender <sender@example.com>",
        "--to",
        "to@example.net",
        "--bcc",
        "hidden@example.org",
        "--subject",
        "Grüße from the e2e test",
        "--text-file",
        body,
        "--attach",
        attach,
        "--timeout",
        "20",
    ]
}

#[test]
fn send_into_capture_with_each_security_mode() {
    let dir = temp_dir("send");
    let body = dir.join("body.txt");
    std::fs::write(
        &body,
        "Hello through the capture server.\n.\nwith a dot line\n",
    )
    .unwrap();
    let attachment = dir.join("data.bin");
    std::fs::write(
        &attachment,
        (0..50_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();

    let with_auth = Capture::start(&temp_dir("capture-auth"), true);
    let without_auth = Capture::start(&temp_dir("capture-plain"), false);
    let cases = [
        ("starttls", &with_auth, with_auth.starttls, true),
        ("tls", &with_auth, with_auth.tls, true),
        ("none", &without_auth, without_auth.starttls, false),
        ("opportunistic", &without_auth, without_auth.starttls, false),
    ];
    for (security, capture, port, auth) in cases {
        let server = format!("localhost:{port}");
        let mut args = send_args(
            &server,
            security,
            body.to_str().unwrap(),
            attachment.to_str().unwrap(),
        );
        let ca = capture.ca.to_str().unwrap().to_string();
        args.extend(["--ca-file", &ca]);
        if auth {
            args.extend(LOGIN);
        }
        let out = run(&args, &[("E2E_PASSWORD", PASSWORD)]);
        assert!(
            out.status.success(),
            "{security}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).starts_with("sent: 250"), "{security}");
        let eml = capture.next_stored_path();
        let view = python_view(&eml);
        let expected = format!(
            "Grüße from the e2e test\nHello through the capture server.\n.\nwith a dot line\ndata.bin {}\n",
            sha256_file(&attachment)
        );
        assert_eq!(view, expected, "{security}");
        let raw = text(&std::fs::read(&eml).unwrap());
        // Bcc reaches the server only in the envelope (capture records it in its trace header).
        assert!(
            raw.contains("X-Mailport-Rcpt: hidden@example.org")
                || raw.contains("X-Mailport-Rcpt: <hidden@example.org>"),
            "{security}"
        );
        assert!(!raw.contains("Bcc:"), "{security}");
    }
}

#[test]
fn exit_statuses_for_a_wrong_password_and_a_refused_port() {
    let dir = temp_dir("exit");
    let body = dir.join("body.txt");
    std::fs::write(&body, "x\n").unwrap();
    let capture = Capture::start(&temp_dir("capture-exit"), true);
    let ca = capture.ca.to_str().unwrap().to_string();
    let server = format!("localhost:{}", capture.starttls);
    let base = [
        &["send", "--server", &server, "--ca-file", &ca][..],
        &LOGIN,
        &[
            "--from",
            "a@example.com",
            "--to",
            "b@example.com",
            "--text-file",
            body.to_str().unwrap(),
        ],
    ]
    .concat();
    let out = run(&base, &[("E2E_PASSWORD", "not the password")]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("hint:"), "{}", text(&out.stderr));

    let refused = format!("127.0.0.1:{}", refused_port());
    let mut args = base.to_vec();
    args[2] = &refused;
    let out = run(&args, &[("E2E_PASSWORD", PASSWORD)]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn check_against_capture_and_closed_ports() {
    let capture = Capture::start(&temp_dir("capture-check"), true);
    let closed = refused_port();
    let ports = format!("{},{},{closed}", capture.starttls, capture.tls);
    let ca = capture.ca.to_str().unwrap().to_string();
    let out = run(
        &[
            &["check", "localhost", "--ports", &ports, "--ca-file", &ca][..],
            &LOGIN,
            &["--timeout", "20"],
        ]
        .concat(),
        &[("E2E_PASSWORD", PASSWORD)],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let row = |port: u16| {
        stdout
            .lines()
            .find(|l| l.starts_with(&port.to_string()))
            .unwrap_or_else(|| panic!("no row for {port}: {stdout}"))
            .to_string()
    };
    assert!(row(capture.starttls).ends_with("works"), "{stdout}");
    assert!(
        row(capture.starttls).contains("TLSv1.3 trusted"),
        "{stdout}"
    );
    assert!(row(capture.tls).contains("implicit TLS"), "{stdout}");
    assert!(row(capture.tls).ends_with("works"), "{stdout}");
    assert!(row(closed).contains("refused"), "{stdout}");
    assert!(row(closed).ends_with("unreachable"), "{stdout}");
    assert!(
        stdout.contains(&format!("Use port {} (STARTTLS)", capture.starttls)),
        "{stdout}"
    );

    // Only closed ports: no port works.
    let out = run(
        &[
            "check",
            "127.0.0.1",
            "--ports",
            &closed.to_string(),
            "--timeout",
            "10",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(11), "{}", text(&out.stdout));
}

#[test]
fn a_large_message_goes_to_capture_in_bdat_chunks_and_arrives_intact() {
    let dir = temp_dir("bdat");
    let body = dir.join("body.txt");
    std::fs::write(&body, "Three megabytes attached.\n").unwrap();
    let attachment = dir.join("big.bin");
    std::fs::write(
        &attachment,
        (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let capture = Capture::start(&temp_dir("capture-bdat"), true);
    let server = format!("localhost:{}", capture.starttls);
    let ca = capture.ca.to_str().unwrap().to_string();
    let mut args = send_args(
        &server,
        "starttls",
        body.to_str().unwrap(),
        attachment.to_str().unwrap(),
    );
    args.extend(["--ca-file", &ca, "--transcript"]);
    args.extend(LOGIN);
    let out = run(&args, &[("E2E_PASSWORD", PASSWORD)]);
    let transcript = text(&out.stderr);
    assert!(out.status.success(), "{}{transcript}", text(&out.stdout));
    // CHUNKING is offered: several BDAT chunks, the last one marked, and no DATA.
    let chunks: Vec<&str> = transcript
        .lines()
        .filter(|l| l.contains("C: BDAT "))
        .collect();
    assert!(chunks.len() >= 4, "{transcript}");
    assert!(chunks.last().unwrap().ends_with(" LAST"), "{transcript}");
    assert!(!transcript.contains("C: DATA"), "{transcript}");
    let view = python_view(&capture.next_stored_path());
    assert!(
        view.ends_with(&format!("big.bin {}\n", sha256_file(&attachment))),
        "{view}"
    );
}
