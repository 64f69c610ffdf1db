//! `mailport capture`, tested from outside: the built binary is started on free loopback ports and
//! spoken to by clients we did not write (Python's smtplib and ssl), by the mailport library, and
//! by raw sockets for the byte-level cases (pipelining, BDAT, garbage, disconnects, timeouts).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::{BIN, WAIT, python, temp_dir};

/// A running `mailport capture`.
type Server = support::Capture;

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        Server::start_with(dir, extra, None)
    }

    /// No further announcement within a short while.
    fn assert_no_more_stored(&self) {
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(300)) {
            assert!(!line.starts_with("stored "), "unexpected: {line}");
        }
    }

    /// The stored messages, sorted by name.
    fn emls(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        v.sort();
        v
    }

    /// Files that are neither the CA nor stored messages (temporary files, partial messages).
    fn strays(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "ca.pem" && n != "ca-key.pem" && !n.ends_with(".eml"))
            .collect()
    }

    fn raw(&self) -> Raw {
        Raw::connect(self.starttls)
    }

    fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A hand-driven SMTP connection.
struct Raw {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut raw = Raw { stream, reader };
        let (code, text) = raw.reply();
        assert_eq!(code, 220, "{text}");
        raw
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// One reply: its code and its lines joined with newlines.
    fn reply(&mut self) -> (u16, String) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).unwrap();
            assert!(n > 0, "connection closed; got so far {lines:?}");
            assert!(line.ends_with("\r\n"), "{line:?}");
            let line = line.trim_end().to_string();
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line);
            if !more {
                break;
            }
        }
        let code = lines[0][..3].parse().unwrap();
        (code, lines.join("\n"))
    }

    /// Send a command and expect a reply starting with `expected` (code and enhanced code).
    fn cmd(&mut self, command: &str, expected: &str) -> String {
        self.send(format!("{command}\r\n").as_bytes());
        let (_, text) = self.reply();
        assert!(
            text.starts_with(expected),
            "{command:?}: expected {expected:?}, got {text:?}"
        );
        text
    }

    /// Whether the server closed the connection (reading returns end of file).
    fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

/// A stored file split into the trace headers the server added and the message as sent.
struct Eml {
    trace: Vec<String>,
    message: Vec<u8>,
}

fn read_eml(path: &Path) -> Eml {
    let bytes = std::fs::read(path).unwrap();
    let mut trace: Vec<String> = Vec::new();
    let mut pos = 0;
    while let Some(end) = bytes[pos..].windows(2).position(|w| w == b"\r\n") {
        let line = std::str::from_utf8(&bytes[pos..pos + end]).unwrap_or("");
        let ours = ["Return-Path: ", "X-Mailport-Rcpt: ", "Received: "]
            .iter()
            .any(|p| line.starts_with(p));
        if ours {
            trace.push(line.to_string());
        } else if line.starts_with('\t') && !trace.is_empty() {
            let last = trace.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        } else {
            break;
        }
        pos += end + 2;
    }
    Eml {
        trace,
        message: bytes[pos..].to_vec(),
    }
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Ann <from@example.com>\r\nTo: to@example.com\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.com>\r\n\r\nHello.\r\n.leading dot\r\n..two dots\r\n.\r\nx\r\nend\r\n"
    )
    .into_bytes()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

const SMTPLIB_STARTTLS: &str = r#"
import smtplib, ssl, sys
port, ca, msgfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = open(msgfile, 'rb').read()
s = smtplib.SMTP('localhost', port, timeout=20)
s.ehlo('client.example')
f = s.esmtp_features
assert 'starttls' in f and 'auth' not in f, f
code, msg = s.docmd('AUTH', 'PLAIN AHVzZXIAczNjcmV0')
assert code == 538 and msg.startswith(b'5.7.11'), (code, msg)
code, msg = s.mail('from@example.com')
assert code == 530 and msg.startswith(b'5.7.0'), (code, msg)
s.starttls(context=ssl.create_default_context(cafile=ca))
s.ehlo('client.example')
f = s.esmtp_features
for k in ['pipelining', 'size', '8bitmime', 'smtputf8', 'enhancedstatuscodes', 'chunking', 'auth']:
    assert k in f, (k, f)
assert 'starttls' not in f, f
assert f['auth'].split() == ['PLAIN', 'LOGIN'], f['auth']
assert int(f['size']) == 26214400, f['size']
code, msg = s.docmd('STARTTLS')
assert code == 503, (code, msg)
code, msg = s.mail('from@example.com')
assert code == 530 and msg.startswith(b'5.7.0'), (code, msg)
s.login('user', 's3cret')
refused = s.sendmail('from@example.com', ['to@example.com', 'bcc@example.com'], raw)
assert refused == {}, refused
s.quit()
print('ok')
"#;

#[test]
fn starttls_auth_and_bcc_with_python_smtplib() {
    let dir = temp_dir("starttls");
    let server = Server::start(&dir, &["--auth", "user:s3cret"]);
    let raw = message("starttls");
    let msg_file = dir.join("message.txt.in");
    std::fs::write(&msg_file, &raw).unwrap();
    let out = python(
        SMTPLIB_STARTTLS,
        &[
            &server.starttls.to_string(),
            server.ca.to_str().unwrap(),
            msg_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.trim(), "ok");
    std::fs::remove_file(&msg_file).unwrap();

    let line = server.next_stored();
    let emls = server.emls();
    assert_eq!(emls.len(), 1);
    let name = file_name(&emls[0]);
    assert_eq!(
        line,
        format!(
            "stored {name}  from=<from@example.com> to=<to@example.com>,<bcc@example.com>  {} bytes  TLS (STARTTLS) auth=user",
            raw.len()
        )
    );
    // 20261130T064012Z-<n>-<random>.eml
    let parts: Vec<&str> = name.trim_end_matches(".eml").split('-').collect();
    assert_eq!(parts.len(), 3, "{name}");
    assert_eq!(parts[0].len(), 16);
    assert!(parts[0].ends_with('Z') && parts[0].as_bytes()[8] == b'T');
    assert!(parts[1].parse::<u64>().is_ok());

    let eml = read_eml(&emls[0]);
    assert_eq!(
        eml.message, raw,
        "the stored message differs from the one sent"
    );
    assert_eq!(eml.trace[0], "Return-Path: <from@example.com>");
    assert_eq!(eml.trace[1], "X-Mailport-Rcpt: <to@example.com>");
    assert_eq!(eml.trace[2], "X-Mailport-Rcpt: <bcc@example.com>");
    let received = &eml.trace[3];
    assert!(
        received.starts_with("Received: from client.example ([127.0.0.1]) by localhost"),
        "{received}"
    );
    assert!(received.contains(" with ESMTPSA "), "{received}");
    assert!(received.contains("authenticated as user"), "{received}");
    assert!(
        received.contains(&format!("id {}", name.trim_end_matches(".eml"))),
        "{received}"
    );
    assert_eq!(eml.trace.len(), 4);
    assert!(server.strays().is_empty(), "{:?}", server.strays());
}

const SMTPLIB_AUTH_CASES: &str = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)

def session():
    s = smtplib.SMTP('localhost', port, timeout=20)
    s.starttls(context=ctx)
    s.ehlo('client.example')
    return s

# Wrong password: 535, nothing stored, and MAIL is still refused.
s = session()
try:
    s.login('user', 'wrong')
    raise SystemExit('a wrong password was accepted')
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535 and e.smtp_error.startswith(b'5.7.8'), e
code, msg = s.mail('from@example.com')
assert code == 530, (code, msg)
# The third failure ends the connection.
for _ in range(2):
    s.user, s.password = 'user', 'wrong again'
    try:
        code, msg = s.auth('PLAIN', s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        code = e.smtp_code
    except smtplib.SMTPServerDisconnected:
        code = 421
print('third failure', code)

# LOGIN with an initial response (smtplib's default), then a message.
s = session()
s.user, s.password = 'user', 's3cret'
code, msg = s.auth('LOGIN', s.auth_login)
assert code == 235 and msg.startswith(b'2.7.0'), (code, msg)
code, msg = s.docmd('AUTH', 'PLAIN AHVzZXIAczNjcmV0')
assert code == 503, (code, msg)
s.sendmail('login@example.com', ['to@example.com'], b'Subject: login\r\n\r\nbody\r\n')
s.quit()

# LOGIN without an initial response, and PLAIN with an empty initial challenge.
s = session()
s.user, s.password = 'user', 's3cret'
code, msg = s.auth('LOGIN', s.auth_login, initial_response_ok=False)
assert code == 235, (code, msg)
s.quit()
s = session()
s.user, s.password = 'user', 's3cret'
code, msg = s.auth('PLAIN', s.auth_plain, initial_response_ok=False)
assert code == 235, (code, msg)
s.quit()

# A cancelled exchange and an unknown mechanism.
s = session()
code, msg = s.docmd('AUTH', 'LOGIN')
assert code == 334, (code, msg)
code, msg = s.docmd('*')
assert code == 501, (code, msg)
code, msg = s.docmd('AUTH', 'CRAM-MD5')
assert code == 504, (code, msg)
s.quit()
print('ok')
"#;

#[test]
fn auth_required_wrong_password_and_login_variants() {
    let dir = temp_dir("auth");
    let server = Server::start(&dir, &["--auth", "user:s3cret"]);
    let out = python(
        SMTPLIB_AUTH_CASES,
        &[&server.starttls.to_string(), server.ca.to_str().unwrap()],
    );
    assert!(out.contains("third failure 421"), "{out}");
    assert!(out.trim_end().ends_with("ok"), "{out}");
    let line = server.next_stored();
    assert!(line.contains("from=<login@example.com>"), "{line}");
    assert!(line.ends_with("TLS (STARTTLS) auth=user"), "{line}");
    server.assert_no_more_stored();
    assert_eq!(
        server.emls().len(),
        1,
        "only the authenticated message is stored"
    );
}

const SMTPLIB_IMPLICIT: &str = r#"
import smtplib, ssl, sys, socket
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
s = smtplib.SMTP_SSL('localhost', port, context=ctx, timeout=20)
s.ehlo('tls.example')
f = s.esmtp_features
assert 'starttls' not in f and 'auth' not in f, f
code, msg = s.docmd('STARTTLS')
assert code == 503 and msg.startswith(b'5.5.1'), (code, msg)
s.sendmail('from@example.com', ['to@example.com'], sys.stdin.buffer.read())
s.quit()

# The certificate names localhost, 127.0.0.1 and ::1, and nothing else.
for name in ['localhost', '127.0.0.1', '::1']:
    with socket.create_connection(('127.0.0.1', port), timeout=20) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as tls:
            assert tls.version() in ('TLSv1.2', 'TLSv1.3'), tls.version()
try:
    with socket.create_connection(('127.0.0.1', port), timeout=20) as sock:
        ctx.wrap_socket(sock, server_hostname='example.com')
    raise SystemExit('the certificate verified for example.com')
except ssl.SSLCertVerificationError:
    pass
# Without the CA, the certificate is not trusted.
try:
    with socket.create_connection(('127.0.0.1', port), timeout=20) as sock:
        ssl.create_default_context(cafile=None, capath='/nonexistent').wrap_socket(sock, server_hostname='localhost')
    raise SystemExit('verified without the CA')
except ssl.SSLCertVerificationError:
    pass
print('ok')
"#;

#[test]
fn implicit_tls_with_smtp_ssl_and_certificate_names() {
    let dir = temp_dir("implicit");
    let server = Server::start(&dir, &[]);
    let raw = message("implicit");
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SMTPLIB_IMPLICIT)
        .args([&server.tls.to_string(), server.ca.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = server.next_stored();
    assert!(line.ends_with("bytes  TLS (implicit)"), "{line}");
    let emls = server.emls();
    assert_eq!(emls.len(), 1);
    let eml = read_eml(&emls[0]);
    assert_eq!(eml.message, raw);
    assert!(eml.trace[2].contains(" with ESMTPS "), "{:?}", eml.trace);
    assert!(eml.trace[2].contains("TLS1."), "{:?}", eml.trace);
}

const PEER_CERT: &str = r#"
import ssl, socket, sys, hashlib
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(('127.0.0.1', port), timeout=20) as sock:
    with ctx.wrap_socket(sock, server_hostname='localhost') as tls:
        print(hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest())
"#;

#[test]
fn ca_is_kept_and_reused_across_restarts() {
    let dir = temp_dir("ca");
    let mut first = Server::start(&dir, &[]);
    let ca_pem = std::fs::read(&first.ca).unwrap();
    let key_pem = std::fs::read(dir.join("ca-key.pem")).unwrap();
    assert!(String::from_utf8_lossy(&ca_pem).contains("BEGIN CERTIFICATE"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ca-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "ca-key.pem must be private");
    }
    let leaf1 = python(
        PEER_CERT,
        &[&first.tls.to_string(), first.ca.to_str().unwrap()],
    );
    assert!(first.terminate().success());

    let second = Server::start(&dir, &[]);
    assert_eq!(std::fs::read(&second.ca).unwrap(), ca_pem, "the CA changed");
    assert_eq!(std::fs::read(dir.join("ca-key.pem")).unwrap(), key_pem);
    // Clients that kept the old ca.pem still trust the new server certificate...
    let saved = dir.join("trusted-ca.pem.saved");
    std::fs::write(&saved, &ca_pem).unwrap();
    let leaf2 = python(
        PEER_CERT,
        &[&second.tls.to_string(), saved.to_str().unwrap()],
    );
    // ...which is a fresh one.
    assert_ne!(leaf1, leaf2);
    // The STARTTLS port serves it too.
    let out = python(
        r#"
import smtplib, ssl, sys
s = smtplib.SMTP('localhost', int(sys.argv[1]), timeout=20)
s.starttls(context=ssl.create_default_context(cafile=sys.argv[2]))
s.quit()
print('ok')
"#,
        &[&second.starttls.to_string(), saved.to_str().unwrap()],
    );
    assert_eq!(out.trim(), "ok");
}

fn library_config(server: &Server, host: &str, port: u16) -> mailport::Config {
    let mut config = mailport::Config::new(host);
    config.port = port;
    config.tls.ca_files = vec![server.ca.clone()];
    config.tls.webpki_roots = false;
    config.tls.system_roots = false;
    config.helo_name = Some("lib.example".into());
    config.credentials = Some(mailport::Credentials::Password {
        username: "lib".into(),
        password: mailport::Secret::new("pw"),
    });
    config
}

#[test]
fn mailport_library_client_over_starttls_and_implicit_tls() {
    let dir = temp_dir("library");
    let server = Server::start(&dir, &["--auth", "lib:pw"]);

    // STARTTLS with a composed message with a Bcc recipient.
    let mut config = library_config(&server, "localhost", server.starttls);
    config.security = mailport::Security::StartTls;
    let mut client = mailport::Client::new(config).unwrap();
    let mut m = mailport::Message::new();
    m.set_from("Lib <lib@example.com>").unwrap();
    m.add_to("to@example.com").unwrap();
    m.add_bcc("hidden@example.com").unwrap();
    m.set_subject("from the library").unwrap();
    m.set_text("Hello from mailport.\n.a line starting with a dot\n")
        .unwrap();
    let receipt = client.send_message(&m).unwrap();
    assert_eq!(receipt.reply.code(), 250);
    client.close();
    let line = server.next_stored();
    assert!(
        line.contains("from=<lib@example.com> to=<to@example.com>,<hidden@example.com>"),
        "{line}"
    );
    assert!(line.ends_with("TLS (STARTTLS) auth=lib"), "{line}");
    let emls = server.emls();
    assert_eq!(emls.len(), 1);
    let eml = read_eml(&emls[0]);
    assert!(
        eml.trace
            .contains(&"X-Mailport-Rcpt: <hidden@example.com>".to_string())
    );
    let text = String::from_utf8_lossy(&eml.message);
    assert!(!text.contains("hidden@example.com"), "Bcc leaked: {text}");
    assert!(text.contains(".a line starting with a dot"), "{text}");
    assert_eq!(eml.message.len() as u64, receipt.size);

    // Implicit TLS to 127.0.0.1, raw bytes: stored exactly.
    let mut config = library_config(&server, "127.0.0.1", server.tls);
    config.security = mailport::Security::Tls;
    let mut client = mailport::Client::new(config).unwrap();
    let raw = message("library");
    let envelope = mailport::Envelope::new(
        "lib@example.com",
        vec!["a@example.com".into(), "b@example.com".into()],
    )
    .unwrap();
    client.send_bytes(&envelope, &raw).unwrap();
    // The session is kept: a second message on it.
    client.send_bytes(&envelope, &raw).unwrap();
    client.close();
    for _ in 0..2 {
        let line = server.next_stored();
        assert!(line.ends_with("TLS (implicit) auth=lib"), "{line}");
    }
    let emls = server.emls();
    assert_eq!(emls.len(), 3);
    let newest: Vec<Eml> = emls
        .iter()
        .map(|p| read_eml(p))
        .filter(|e| {
            e.trace
                .iter()
                .any(|t| t == "X-Mailport-Rcpt: <b@example.com>")
        })
        .collect();
    assert_eq!(newest.len(), 2);
    for eml in newest {
        assert_eq!(eml.message, raw);
        assert!(eml.trace.last().unwrap().contains("from lib.example"));
    }

    // Without the CA the library refuses the certificate.
    let mut config = library_config(&server, "localhost", server.tls);
    config.security = mailport::Security::Tls;
    config.tls.ca_files.clear();
    config.tls.webpki_roots = true;
    let mut client = mailport::Client::new(config).unwrap();
    let err = client.send_bytes(&envelope, &raw).unwrap_err();
    assert_eq!(err.kind(), mailport::Kind::CertificateUntrusted, "{err}");
    assert_eq!(server.emls().len(), 3);
}

#[test]
fn pipelined_commands_data_and_bdat_on_a_raw_socket() {
    let dir = temp_dir("pipelining");
    let server = Server::start(&dir, &[]);
    let mut c = server.raw();
    // Everything up to DATA in one write.
    c.send(
        b"EHLO raw.example\r\nMAIL FROM:<a@example.com> BODY=8BITMIME\r\n\
          RCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n",
    );
    let (code, ehlo) = c.reply();
    assert_eq!(code, 250);
    for ext in [
        "PIPELINING",
        "SIZE 26214400",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "STARTTLS",
    ] {
        assert!(ehlo.lines().any(|l| &l[4..] == ext), "{ext} in {ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    for expected in ["250 2.1.0", "250 2.1.5", "250 2.1.5", "354"] {
        let (_, text) = c.reply();
        assert!(text.starts_with(expected), "{expected}: {text}");
    }
    // The message, its end, and a whole BDAT transaction plus QUIT, in one write. The chunks
    // hold a line with a lone dot, which BDAT must not treat as the end.
    c.send(
        b"line one\r\n..dot stuffed\r\n.\r\n\
          MAIL FROM:<a@example.com>\r\nRCPT TO:<d@example.com>\r\n\
          BDAT 9\r\nchunk one\
          BDAT 12 LAST\r\n\r\n.\r\n..end\r\n\
          NOOP\r\nQUIT\r\n",
    );
    let stored_reply = c.reply().1;
    assert!(
        stored_reply.starts_with("250 2.0.0 Message accepted"),
        "{stored_reply}"
    );
    for expected in [
        "250 2.1.0",
        "250 2.1.5",
        "250 2.0.0 9 octets",
        "250 2.0.0 Message accepted",
        "250 2.0.0",
        "221 2.0.0",
    ] {
        let (_, text) = c.reply();
        assert!(text.starts_with(expected), "{expected}: {text}");
    }
    assert!(c.is_closed());

    let first = server.next_stored();
    let second = server.next_stored();
    let data_message = b"line one\r\n.dot stuffed\r\n";
    let bdat_message = b"chunk one\r\n.\r\n..end\r\n";
    assert!(
        first.contains(&format!(
            "from=<a@example.com> to=<b@example.com>,<c@example.com>  {} bytes  plaintext",
            data_message.len()
        )),
        "{first}"
    );
    assert!(
        second.contains(&format!(
            "to=<d@example.com>  {} bytes  plaintext",
            bdat_message.len()
        )),
        "{second}"
    );
    let emls = server.emls();
    assert_eq!(emls.len(), 2);
    let bodies: Vec<Eml> = emls.iter().map(|p| read_eml(p)).collect();
    let data = bodies
        .iter()
        .find(|e| e.trace.iter().any(|t| t.contains("<b@example.com>")))
        .unwrap();
    assert_eq!(data.message, data_message);
    assert!(data.trace.last().unwrap().contains(" with ESMTP "));
    let bdat = bodies
        .iter()
        .find(|e| e.trace.iter().any(|t| t.contains("<d@example.com>")))
        .unwrap();
    assert_eq!(bdat.message, bdat_message);
}

const PYTHON_BDAT_OVER_TLS: &str = r#"
import socket, ssl, sys, base64
port, ca = int(sys.argv[1]), sys.argv[2]
sock = socket.create_connection(('127.0.0.1', port), timeout=20)
f = sock.makefile('rb')

def reply(f):
    lines = []
    while True:
        line = f.readline().decode()
        assert line.endswith('\r\n'), repr(line)
        lines.append(line)
        if line[3] == ' ':
            return int(line[:3]), ''.join(lines)

assert reply(f)[0] == 220
# A command pipelined after STARTTLS in plaintext must be thrown away, never run as if it had
# come over TLS (the STARTTLS command injection attack).
sock.sendall(b'EHLO py.example\r\nSTARTTLS\r\nNOOP injected\r\n')
assert reply(f)[0] == 250
code, text = reply(f)
assert code == 220, text
tls = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname='localhost')
f = tls.makefile('rb')
tls.sendall(b'HELP\r\n')
code, text = reply(f)
assert code == 214, ('the injected command was run', text)
auth = base64.b64encode(b'\0user\0pw').decode()
chunk1 = b'Subject: bdat\r\n\r\n'
chunk2 = b'first line\r\n.\r\nafter a dot line\r\n'
tls.sendall(('EHLO py.example\r\nAUTH PLAIN %s\r\nMAIL FROM:<py@example.com>\r\nRCPT TO:<x@example.com>\r\n' % auth).encode()
            + b'BDAT %d\r\n' % len(chunk1) + chunk1 + b'BDAT %d LAST\r\n' % len(chunk2) + chunk2 + b'QUIT\r\n')
code, text = reply(f)
assert code == 250 and 'CHUNKING' in text and 'AUTH PLAIN LOGIN' in text, text
for expected in [235, 250, 250, 250, 250, 221]:
    code, text = reply(f)
    assert code == expected, (expected, text)
sys.stdout.buffer.write(chunk1 + chunk2)
"#;

#[test]
fn bdat_over_starttls_with_python_ssl() {
    let dir = temp_dir("bdat-tls");
    let server = Server::start(&dir, &["--auth", "user:pw"]);
    let sent = python(
        PYTHON_BDAT_OVER_TLS,
        &[&server.starttls.to_string(), server.ca.to_str().unwrap()],
    );
    let line = server.next_stored();
    assert!(line.ends_with("TLS (STARTTLS) auth=user"), "{line}");
    let emls = server.emls();
    assert_eq!(emls.len(), 1);
    let eml = read_eml(&emls[0]);
    assert_eq!(eml.message, sent.as_bytes());
    assert!(eml.trace.last().unwrap().contains(" with ESMTPSA "));
}

#[test]
fn protocol_replies_and_sequence_errors() {
    let dir = temp_dir("protocol");
    let server = Server::start(&dir, &["--max-size", "100000"]);
    let mut c = server.raw();
    c.cmd("MAIL FROM:<a@example.com>", "503 5.5.1");
    c.cmd("FOO bar", "500 5.5.2");
    c.cmd("EHLO", "501 5.5.4");
    c.cmd("HELO old.example", "250 localhost");
    c.cmd("MAIL FROM:<a@example.com> SIZE=10", "555 5.5.4");
    c.cmd("RCPT TO:<b@example.com>", "503 5.5.1");
    c.cmd("DATA", "503 5.5.1");
    c.cmd("VRFY bob", "252 2.5.2");
    c.cmd("EXPN list", "502 5.5.1");
    c.cmd("NOOP", "250 2.0.0");
    let help = c.cmd("HELP", "214-2.0.0");
    assert!(help.contains("BDAT"), "{help}");
    c.cmd("AUTH PLAIN AGEAYg==", "502 5.5.1");
    c.cmd("STARTTLS now", "501 5.5.4");
    c.cmd("EHLO new.example", "250-localhost");
    c.cmd("MAIL FROM:<a@example.com> SIZE=100001", "552 5.3.4");
    c.cmd("MAIL FROM:<a@example.com> RET=FULL", "555 5.5.4");
    c.cmd("MAIL FROM:a@example.com", "501 5.5.4");
    c.cmd("MAIL FROM:<jö@example.com>", "553 5.6.7");
    c.cmd("MAIL FROM:<jö@example.com> SMTPUTF8", "250 2.1.0");
    c.cmd("MAIL FROM:<a@example.com>", "503 5.5.1");
    c.cmd("DATA", "554 5.5.1");
    c.cmd("RCPT TO:<>", "501 5.1.3");
    c.cmd("RCPT TO:<x@example.com> NOTIFY=NEVER", "555 5.5.4");
    c.cmd("RCPT TO:<Postmaster>", "250 2.1.5");
    c.cmd("RSET", "250 2.0.0");
    c.cmd("RCPT TO:<b@example.com>", "503 5.5.1");
    // BDAT without a transaction: the chunk is still read, not taken as commands.
    c.send(b"BDAT 6\r\nQUIT\r\n");
    let (code, text) = c.reply();
    assert_eq!(code, 503, "{text}");
    c.cmd("NOOP", "250 2.0.0");
    // 1000 recipients, then 452 (pipelined).
    let mut batch = String::from("MAIL FROM:<many@example.com>\r\n");
    for i in 0..1001 {
        batch.push_str(&format!("RCPT TO:<r{i}@example.com>\r\n"));
    }
    c.send(batch.as_bytes());
    assert_eq!(c.reply().0, 250);
    for _ in 0..1000 {
        assert_eq!(c.reply().0, 250);
    }
    let (code, text) = c.reply();
    assert_eq!(code, 452, "{text}");
    assert!(text.starts_with("452 4.5.3"), "{text}");
    c.send(b"DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\n");
    assert_eq!(c.reply().0, 354);
    let (code, text) = c.reply();
    assert_eq!(code, 250, "{text}");
    let line = server.next_stored();
    assert!(line.contains("<r999@example.com>  "), "{}", &line[..80]);
    let eml = read_eml(&server.emls()[0]);
    assert_eq!(
        eml.trace
            .iter()
            .filter(|t| t.starts_with("X-Mailport-Rcpt:"))
            .count(),
        1000
    );
    // SMTPUTF8 is named in the trace header.
    c.send(
        "MAIL FROM:<jö@example.com> SMTPUTF8\r\nRCPT TO:<ü@example.com>\r\nDATA\r\nSubject: ü\r\n\r\nü\r\n.\r\n"
            .as_bytes(),
    );
    for code in [250, 250, 354, 250] {
        assert_eq!(c.reply().0, code);
    }
    let line = server.next_stored();
    assert!(
        line.contains("from=<jö@example.com> to=<ü@example.com>"),
        "{line}"
    );
    let eml = server
        .emls()
        .iter()
        .map(|p| read_eml(p))
        .find(|e| e.trace.iter().any(|t| t.contains("ü@example.com")))
        .unwrap();
    assert!(eml.trace.last().unwrap().contains(" with UTF8SMTP "));
    c.cmd("QUIT", "221 2.0.0");
    assert!(c.is_closed());
}

#[test]
fn size_limit_refuses_with_552_and_stores_nothing() {
    let dir = temp_dir("size");
    let server = Server::start(&dir, &["--max-size", "1000"]);
    // smtplib declares SIZE= and is refused at MAIL.
    let out = python(
        r#"
import smtplib, sys
s = smtplib.SMTP('localhost', int(sys.argv[1]), timeout=20)
try:
    s.sendmail('a@example.com', ['b@example.com'], b'Subject: big\r\n\r\n' + b'x' * 2000 + b'\r\n')
    raise SystemExit('accepted')
except smtplib.SMTPSenderRefused as e:
    assert e.smtp_code == 552 and e.smtp_error.startswith(b'5.3.4'), e
s.quit()
print('ok')
"#,
        &[&server.starttls.to_string()],
    );
    assert_eq!(out.trim(), "ok");

    // Without SIZE=, the limit is enforced while reading; the connection stays usable.
    let mut c = server.raw();
    c.cmd("EHLO big.example", "250");
    c.cmd("MAIL FROM:<a@example.com>", "250");
    c.cmd("RCPT TO:<b@example.com>", "250");
    c.cmd("DATA", "354");
    let big = format!("Subject: big\r\n\r\n{}\r\n", "y".repeat(3000));
    c.send(big.as_bytes());
    c.cmd(".", "552 5.3.4");
    // BDAT too: the whole chunk is read, then 552.
    c.cmd("MAIL FROM:<a@example.com>", "250");
    c.cmd("RCPT TO:<b@example.com>", "250");
    c.send(b"BDAT 600\r\n");
    c.send(&[b'z'; 600]);
    assert!(c.reply().1.starts_with("250 2.0.0 600 octets"));
    c.send(b"BDAT 600 LAST\r\n");
    c.send(&[b'z'; 600]);
    assert!(c.reply().1.starts_with("552 5.3.4"));
    // The failed transaction is gone: a BDAT already in the pipeline is read and refused.
    c.send(b"BDAT 4 LAST\r\nzzzz");
    assert!(c.reply().1.starts_with("503 5.5.1"));
    // A small message still works on the same connection.
    c.cmd("MAIL FROM:<a@example.com>", "250");
    c.cmd("RCPT TO:<b@example.com>", "250");
    c.cmd("DATA", "354");
    let small = b"Subject: small\r\n\r\nok\r\n";
    c.send(small);
    c.cmd(".", "250 2.0.0");
    let line = server.next_stored();
    assert!(
        line.contains(&format!("  {} bytes  plaintext", small.len())),
        "{line}"
    );
    server.assert_no_more_stored();
    assert_eq!(server.emls().len(), 1);
    assert!(server.strays().is_empty(), "{:?}", server.strays());
}

#[test]
fn discard_mode_acknowledges_and_counts_but_stores_nothing() {
    let dir = temp_dir("discard");
    let mut server = Server::start(&dir, &["--discard", "--max-size", "1000"]);
    // Pipelined DATA and BDAT transactions, answered exactly as when storing.
    let mut c = server.raw();
    let data_message = b"Subject: data\r\n\r\nline\r\n..dot\r\n";
    c.send(
        b"EHLO discard.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n",
    );
    for expected in ["250", "250 2.1.0", "250 2.1.5", "354"] {
        let (_, text) = c.reply();
        assert!(text.starts_with(expected), "{expected}: {text}");
    }
    c.send(data_message);
    c.send(
        b".\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.com>\r\n\
          BDAT 9\r\nchunk one\
          BDAT 5 LAST\r\n.\r\nx\n",
    );
    for expected in [
        "250 2.0.0 Message accepted",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.0.0 9 octets received",
        "250 2.0.0 Message accepted",
    ] {
        let (_, text) = c.reply();
        assert!(text.starts_with(expected), "{expected}: {text}");
    }
    // The size limit still holds: an oversized message is refused, not counted.
    c.cmd("MAIL FROM:<a@example.com>", "250");
    c.cmd("RCPT TO:<b@example.com>", "250");
    c.send(b"BDAT 1200 LAST\r\n");
    c.send(&[b'z'; 1200]);
    assert!(c.reply().1.starts_with("552 5.3.4"));
    c.cmd("QUIT", "221");

    // The library over implicit TLS: two messages on one session.
    let mut config = library_config(&server, "127.0.0.1", server.tls);
    config.security = mailport::Security::Tls;
    config.credentials = None;
    let mut client = mailport::Client::new(config).unwrap();
    let envelope =
        mailport::Envelope::new("lib@example.com", vec!["d@example.com".into()]).unwrap();
    let raw = message("discarded");
    for _ in 0..2 {
        let receipt = client.send_bytes(&envelope, &raw).unwrap();
        assert_eq!(receipt.reply.code(), 250);
    }
    client.close();

    server.assert_no_more_stored();
    assert!(server.emls().is_empty());
    assert!(server.strays().is_empty(), "{:?}", server.strays());
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    // Everything up to the end of its output (the channel closes at end of file).
    let mut rest = Vec::new();
    while let Ok(line) = server.stdout.recv_timeout(WAIT) {
        rest.push(line);
    }
    let total = 2 * raw.len() + b"Subject: data\r\n\r\nline\r\n.dot\r\n".len() + 9 + 5;
    let expected = format!("mailport capture: discarded 4 messages ({total} bytes)");
    assert_eq!(rest.last(), Some(&expected), "{rest:?}");
    assert!(!rest.iter().any(|l| l.starts_with("stored ")), "{rest:?}");
}

#[test]
fn client_disconnecting_mid_message_leaves_nothing() {
    let dir = temp_dir("disconnect");
    let server = Server::start(&dir, &[]);
    for bdat in [false, true] {
        let mut c = server.raw();
        c.cmd("EHLO gone.example", "250");
        c.cmd("MAIL FROM:<a@example.com>", "250");
        c.cmd("RCPT TO:<b@example.com>", "250");
        if bdat {
            c.send(b"BDAT 1000000 LAST\r\n");
        } else {
            c.cmd("DATA", "354");
        }
        c.send(b"Subject: partial\r\n\r\n");
        c.send(&vec![b'p'; 200_000]);
        // The message is being written to a temporary file...
        wait_until("a temporary file", || !server.strays().is_empty());
        // ...which goes away with the client.
        c.stream.shutdown(Shutdown::Both).unwrap();
        drop(c);
        wait_until("the temporary file to be removed", || {
            server.strays().is_empty()
        });
    }
    server.assert_no_more_stored();
    assert!(server.emls().is_empty());
}

#[test]
fn garbage_tls_hello_and_long_lines_do_not_stop_the_server() {
    let dir = temp_dir("garbage");
    let server = Server::start(&dir, &[]);

    // Binary garbage, then a 10 KB command line: refused, and the session goes on.
    let mut c = server.raw();
    c.send(b"\x00\x01\xff\xfe garbage \x7f\r\n");
    let (code, _) = c.reply();
    assert_eq!(code, 500);
    let long = format!("EHLO {}\r\n", "a".repeat(10 * 1024));
    c.send(long.as_bytes());
    let (code, text) = c.reply();
    assert_eq!(code, 500, "{text}");
    assert!(text.contains("too long"), "{text}");
    c.cmd("NOOP", "250");
    // Twenty more errors and the server hangs up.
    let mut last = 0;
    for _ in 0..30 {
        c.send(b"BOGUS\r\n");
        let (code, _) = c.reply();
        last = code;
        if code == 421 {
            break;
        }
    }
    assert_eq!(last, 421);
    assert!(c.is_closed());

    // A TLS ClientHello on the plaintext port: the handshake fails, the server says why.
    let out = python(
        r#"
import socket, ssl, sys
sock = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
try:
    ssl.create_default_context().wrap_socket(sock, server_hostname='localhost')
    raise SystemExit('handshake succeeded')
except (ssl.SSLError, ConnectionError, OSError) as e:
    print('refused', type(e).__name__)
"#,
        &[&server.starttls.to_string()],
    );
    assert!(out.starts_with("refused"), "{out}");
    let mut c = TcpStream::connect(("127.0.0.1", server.starttls)).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    // A real ClientHello prefix (handshake record, TLS 1.0 record version).
    c.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])
        .unwrap();
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    assert!(
        text.contains("500 5.5.2 TLS handshake on the plaintext port"),
        "{text}"
    );

    // Plaintext SMTP and junk on the implicit-TLS port, and a connection that hangs up at once.
    let mut t = TcpStream::connect(("127.0.0.1", server.tls)).unwrap();
    t.set_read_timeout(Some(WAIT)).unwrap();
    t.write_all(b"EHLO plain.example\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = t.read_to_end(&mut buf);
    drop(TcpStream::connect(("127.0.0.1", server.starttls)).unwrap());
    drop(TcpStream::connect(("127.0.0.1", server.tls)).unwrap());
    // A line that never ends, cut off mid-way.
    let mut c = TcpStream::connect(("127.0.0.1", server.starttls)).unwrap();
    c.write_all(&vec![b'x'; 100_000]).unwrap();
    drop(c);

    // After all that, a normal message goes through.
    let out = python(
        r#"
import smtplib, ssl, sys
s = smtplib.SMTP('localhost', int(sys.argv[1]), timeout=20)
s.starttls(context=ssl.create_default_context(cafile=sys.argv[2]))
s.sendmail('a@example.com', ['b@example.com'], b'Subject: after\r\n\r\nstill here\r\n')
s.quit()
print('ok')
"#,
        &[&server.starttls.to_string(), server.ca.to_str().unwrap()],
    );
    assert_eq!(out.trim(), "ok");
    assert!(server.next_stored().contains("TLS (STARTTLS)"));
    assert_eq!(server.emls().len(), 1);
}

#[test]
fn idle_timeout_closes_with_421() {
    let dir = temp_dir("idle");
    let server = Server::start(&dir, &["--idle-timeout", "1"]);
    let started = Instant::now();
    let mut c = server.raw();
    let (code, text) = c.reply();
    assert_eq!(code, 421, "{text}");
    assert!(text.starts_with("421 4.4.2"), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(c.is_closed());

    // Idle in the middle of a message: 421, and the partial message is gone.
    let mut c = server.raw();
    c.cmd("EHLO slow.example", "250");
    c.cmd("MAIL FROM:<a@example.com>", "250");
    c.cmd("RCPT TO:<b@example.com>", "250");
    c.cmd("DATA", "354");
    c.send(b"Subject: slow\r\n\r\nhalf");
    let (code, _) = c.reply();
    assert_eq!(code, 421);
    assert!(c.is_closed());
    wait_until("no stray files", || server.strays().is_empty());
    assert!(server.emls().is_empty());
}

#[test]
fn connections_beyond_the_cap_get_421() {
    let dir = temp_dir("cap");
    let server = Server::start(&dir, &[]);
    let mut open: Vec<Raw> = (0..100).map(|_| server.raw()).collect();
    let mut extra = TcpStream::connect(("127.0.0.1", server.starttls)).unwrap();
    extra.set_read_timeout(Some(WAIT)).unwrap();
    let mut text = String::new();
    let _ = extra.read_to_string(&mut text);
    assert!(text.starts_with("421 4.3.2"), "{text:?}");
    // The open ones still work, and a slot freed is a slot available.
    open[0].cmd("NOOP", "250");
    open.pop().unwrap().cmd("QUIT", "221");
    wait_until("a free slot", || {
        let mut c = TcpStream::connect(("127.0.0.1", server.starttls)).unwrap();
        c.set_read_timeout(Some(WAIT)).unwrap();
        let mut b = [0u8; 3];
        c.read_exact(&mut b).is_ok() && &b == b"220"
    });
}

#[test]
fn sigterm_stops_cleanly_without_partial_files() {
    let dir = temp_dir("sigterm");
    let mut server = Server::start(&dir, &[]);
    let mut c = server.raw();
    c.cmd("EHLO term.example", "250");
    c.cmd("MAIL FROM:<a@example.com>", "250");
    c.cmd("RCPT TO:<b@example.com>", "250");
    c.cmd("DATA", "354");
    c.send(b"Subject: interrupted\r\n\r\nsome of it");
    wait_until("a temporary file", || !server.strays().is_empty());
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(server.strays().is_empty(), "{:?}", server.strays());
    assert!(server.emls().is_empty());
    assert!(server.stderr.lock().unwrap().contains("stopping"));
    assert!(c.is_closed());
}

#[test]
fn command_line_flags_and_errors() {
    let help = Command::new(BIN)
        .args(["capture", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for flag in [
        "--dir",
        "--starttls-port",
        "--tls-port",
        "--bind",
        "--auth",
        "--max-size",
        "--idle-timeout",
        "--discard",
        "[default: 2525]",
        "[default: 4650]",
        "[default: 127.0.0.1]",
        "[default: 25M]",
        "[default: 60]",
        "READY starttls=PORT tls=PORT ca=PATH dir=PATH",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let dir = temp_dir("flags");
    for bad in [
        &["--auth", "no-colon"][..],
        &["--max-size", "12X"],
        &["--bind", "not-an-ip"],
    ] {
        let out = Command::new(BIN)
            .args(["capture", "--dir"])
            .arg(&dir)
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    // A port already in use is reported, not a panic.
    let server = Server::start(&dir, &[]);
    let out = Command::new(BIN)
        .args(["capture", "--dir"])
        .arg(&dir)
        .args([
            "--starttls-port",
            &server.starttls.to_string(),
            "--tls-port",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on 127.0.0.1:"), "{err}");
    // Half a CA is refused rather than silently replaced.
    let half = temp_dir("half-ca");
    std::fs::write(half.join("ca.pem"), "not a CA").unwrap();
    let out = Command::new(BIN)
        .args(["capture", "--dir"])
        .arg(&half)
        .args(["--starttls-port", "0", "--tls-port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ca-key.pem"));
    assert_eq!(std::fs::read(half.join("ca.pem")).unwrap(), b"not a CA");
    let _ = std::fs::remove_dir_all(&half);
}

#[test]
fn other_loopback_addresses_are_in_the_certificate() {
    let script = r#"
import smtplib, ssl, sys
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP_SSL(host, port, context=ssl.create_default_context(cafile=ca), timeout=20)
s.sendmail('a@example.com', ['b@example.com'], b'Subject: loopback\r\n\r\nhi\r\n')
s.quit()
print('ok')
"#;
    let mut addresses = vec!["127.0.0.2"];
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        addresses.push("::1");
    }
    for address in addresses {
        let dir = temp_dir("loopback");
        let server = Server::start(&dir, &["--bind", address]);
        let out = python(
            script,
            &[
                address,
                &server.tls.to_string(),
                server.ca.to_str().unwrap(),
            ],
        );
        assert_eq!(out.trim(), "ok", "{address}");
        assert!(server.next_stored().contains("TLS (implicit)"));
        assert!(
            server.stderr.lock().unwrap().is_empty(),
            "a loopback address needs no warning"
        );
    }
}
