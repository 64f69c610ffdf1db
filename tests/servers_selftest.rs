//! Self-test of the loopback servers for connection checks (tests/common and the situation
//! options of tests/servers/aiosmtpd_server.py): each test proves that one server plays its
//! situation, with raw std sockets and, for TLS details, Python's `ssl`, `smtplib` and
//! `cryptography` (the same interpreter that runs aiosmtpd). Independent of the mailport client.
//! Also the OAuth test server (tests/servers/oauth_server.py) and the Dovecot that checks its
//! tokens (tests/servers/dovecot_server.py, which needs root and `dovecot-core`), spoken to over
//! HTTPS and Dovecot's auth socket, and the launchers' refusal of inconsistent options.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;
#[path = "common/oauth_server.rs"]
mod oauth_server;

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    FilteredPort, TestServer, command, filtered_port, ipv6_loopback_available, not_smtp_server,
    refused_port, reply, silent_listener,
};
use dovecot::Dovecot;
use oauth_server::OAuthServer;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// helpers

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn server_addr(server: &TestServer) -> SocketAddr {
    server.addr().parse().expect("socket address")
}

/// The greeting line of the SMTP server at `addr`.
fn greeting(addr: SocketAddr) -> String {
    let mut r = BufReader::new(connect(addr));
    let lines = reply(&mut r);
    assert!(lines[0].starts_with("220 "), "{addr}: {lines:?}");
    lines[0].clone()
}

/// Everything the peer sends until it closes (`Ok`), or what came before an error.
fn read_until_close(stream: &mut TcpStream, bound: Duration) -> (Vec<u8>, Option<ErrorKind>) {
    stream.set_read_timeout(Some(bound)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, None),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Some(e.kind())),
        }
    }
}

fn is_timeout(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Nothing arrives on `stream` within `wait`.
fn assert_silent(stream: &mut TcpStream, wait: Duration, what: &str) {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Err(e) if is_timeout(e.kind()) => {}
        Ok(0) => panic!("{what}: the connection was closed, expected silence"),
        Ok(n) => panic!("{what}: got {:?}, expected silence", &buf[..n]),
        Err(e) => panic!("{what}: {e}, expected silence"),
    }
}

/// Run `code` with the test Python (`MAILPORT_TEST_PYTHON` or python3) and parse the JSON it
/// prints last.
fn python_json(code: &str, args: &[&str]) -> Value {
    let python = std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python snippet {args:?} failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("python printed {stdout:?}: {e}\n--- stderr ---\n{stderr}"))
}

/// Fetches the server certificate without verification (implicit TLS, or STARTTLS through
/// smtplib), describes it, checks whether ca.pem signed it, then verifies it for real against
/// ca.pem alone (OpenSSL's verify_code: 0 = ok, 9 = not yet valid, 10 = expired,
/// 18 = self-signed leaf, 20 = unknown issuer).
const CERT_INFO: &str = r#"
import json, smtplib, socket, ssl, sys, time
from cryptography import x509
host, port, mode, ca_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def handshake(ctx):
    if mode == "tls":
        raw = socket.create_connection((host, port), timeout=10)
        return ctx.wrap_socket(raw, server_hostname=host)
    smtp = smtplib.SMTP(host, port, timeout=10)
    smtp.ehlo("selftest.example")
    smtp.starttls(context=ctx)
    return smtp.sock

insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
insecure.check_hostname = False
insecure.verify_mode = ssl.CERT_NONE
cert = x509.load_der_x509_certificate(handshake(insecure).getpeercert(binary_form=True))
with open(ca_path, "rb") as f:
    ca = x509.load_pem_x509_certificate(f.read())

def issued_by(issuer):
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:
        return False

try:
    handshake(ssl.create_default_context(cafile=ca_path))
    verify_code, verify_message = 0, ""
except ssl.SSLCertVerificationError as e:
    verify_code, verify_message = e.verify_code, e.verify_message

san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
print(json.dumps({
    "now": int(time.time()),
    "not_before": int(cert.not_valid_before_utc.timestamp()),
    "not_after": int(cert.not_valid_after_utc.timestamp()),
    "subject": cert.subject.rfc4514_string(),
    "issuer": cert.issuer.rfc4514_string(),
    "ca_subject": ca.subject.rfc4514_string(),
    "signed_by_ca": issued_by(ca),
    "self_signed": issued_by(cert),
    "is_ca": cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca,
    "dns": san.get_values_for_type(x509.DNSName),
    "ips": [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
    "verify_code": verify_code,
    "verify_message": verify_message,
}))
"#;

fn cert_info(server: &TestServer, host: &str, mode: &str) -> Value {
    let port = server.port.to_string();
    let ca = server.ca.to_str().expect("utf-8 path");
    python_json(CERT_INFO, &[host, &port, mode, ca])
}

const DAY: i64 = 86_400;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// connection-level situations (tests/common, no Python)

#[test]
fn refused_port_refuses_at_once() {
    let port = refused_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for attempt in 0..2 {
        let start = Instant::now();
        let err = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .expect_err("nothing listens on the refused port");
        assert_eq!(
            err.kind(),
            ErrorKind::ConnectionRefused,
            "attempt {attempt}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "refusal is immediate"
        );
    }
}

#[test]
fn filtered_port_times_out() {
    let filtered: FilteredPort = filtered_port();
    assert_eq!(filtered.host, "127.0.0.1");
    let addr = filtered.addr();
    assert_eq!(addr.port(), filtered.port);
    // Twice: the queue stays full (a timed-out SYN leaves nothing behind).
    for attempt in 0..2 {
        let start = Instant::now();
        let err = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .expect_err("the SYN should get no answer");
        let elapsed = start.elapsed();
        assert_eq!(
            err.kind(),
            ErrorKind::TimedOut,
            "attempt {attempt}: {err} ({})",
            FilteredPort::MECHANISM
        );
        assert!(
            elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2500),
            "attempt {attempt}: gave up after {elapsed:?}, the 1 s timeout should have ended it"
        );
    }
}

#[test]
fn several_filtered_ports_coexist() {
    let ports: Vec<FilteredPort> = (0..3).map(|_| filtered_port()).collect();
    let handles: Vec<_> = ports
        .iter()
        .map(|p| {
            let addr = p.addr();
            std::thread::spawn(move || TcpStream::connect_timeout(&addr, Duration::from_secs(1)))
        })
        .collect();
    for handle in handles {
        let err = handle.join().unwrap().expect_err("filtered");
        assert_eq!(err.kind(), ErrorKind::TimedOut);
    }
}

#[test]
fn silent_listener_accepts_and_never_sends() {
    let (listener, port) = silent_listener();
    assert_eq!(listener.port(), port);
    let mut stream = connect(SocketAddr::from(([127, 0, 0, 1], port)));
    // The client may even talk first: still nothing comes back.
    stream.write_all(b"EHLO client.test\r\n").unwrap();
    assert_silent(&mut stream, Duration::from_secs(1), "silent listener");
    assert_eq!(listener.connections(), 1);
    // Held open until the listener goes away; then the client sees the close.
    drop(listener);
    let (got, err) = read_until_close(&mut stream, Duration::from_secs(5));
    assert!(got.is_empty(), "{got:?}");
    assert!(
        err.is_none_or(|k| !is_timeout(k)),
        "still open after drop: {err:?}"
    );
}

#[test]
fn not_smtp_server_sends_its_banner_and_closes() {
    let ssh = b"SSH-2.0-OpenSSH_9.6\r\n";
    let http = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    for banner in [&ssh[..], &http[..]] {
        let (server, port) = not_smtp_server(banner);
        assert_eq!(server.port(), port);
        let mut stream = connect(server.addr());
        let mut first = vec![0u8; banner.len()];
        stream.read_exact(&mut first).expect("banner");
        assert_eq!(first, banner);
        // A client that answers anyway (an SMTP client sending EHLO) then reads a clean EOF.
        stream.write_all(b"EHLO client.test\r\n").unwrap();
        let (rest, err) = read_until_close(&mut stream, Duration::from_secs(5));
        assert!(rest.is_empty(), "{rest:?}");
        assert_eq!(err, None, "expected EOF");
        // Every connection gets the banner.
        let mut again = connect(server.addr());
        let (all, err) = read_until_close(&mut again, Duration::from_secs(5));
        assert_eq!((all.as_slice(), err), (banner, None));
        assert_eq!(server.connections(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// aiosmtpd situations

#[test]
fn drop_after_accept_closes_without_a_byte() {
    for mode in ["plain", "starttls", "tls"] {
        let server = TestServer::start(&["--mode", mode, "--drop-after-accept"]);
        let mut stream = connect(server_addr(&server));
        let (got, err) = read_until_close(&mut stream, Duration::from_secs(5));
        assert!(
            got.is_empty(),
            "{mode}: got {:?}",
            String::from_utf8_lossy(&got)
        );
        assert_eq!(err, None, "{mode}: expected EOF");
        assert_eq!(server.connections(), 1, "{mode}");
        assert_eq!(server.events(), ["1 CONNECT", "1 CLOSE"], "{mode}");
    }
}

#[test]
fn greeting_host_names_greeting_and_ehlo() {
    let name = "mx.greeting.example";
    for flag in ["--greeting-host", "--hostname"] {
        let server = TestServer::start(&["--mode", "starttls", flag, name]);
        let mut r = BufReader::new(connect(server_addr(&server)));
        let greet = reply(&mut r);
        assert!(greet[0].starts_with(&format!("220 {name} ")), "{greet:?}");
        let ehlo = command(&mut r, "EHLO client.test");
        assert_eq!(ehlo[0], format!("250-{name}"), "{ehlo:?}");
        assert!(ehlo.iter().any(|l| l.ends_with("STARTTLS")), "{ehlo:?}");
        let helo = command(&mut r, "HELO client.test");
        assert_eq!(helo, [format!("250 {name}")]);
    }
    // The default is unchanged.
    let server = TestServer::start(&[]);
    assert!(greeting(server_addr(&server)).starts_with("220 aiosmtpd.test "));
}

#[test]
fn tls_mode_where_starttls_is_expected_stays_silent_then_fails() {
    let server = TestServer::start(&["--mode", "tls"]);
    let mut stream = connect(server_addr(&server));
    // A STARTTLS/plain client waits for "220": the server waits for a ClientHello.
    assert_silent(
        &mut stream,
        Duration::from_millis(700),
        "implicit TLS server",
    );
    // Plaintext where a ClientHello belongs fails the handshake: no SMTP reply, then a close.
    stream.write_all(b"EHLO client.test\r\n").unwrap();
    let (got, err) = read_until_close(&mut stream, Duration::from_secs(5));
    assert!(
        err.is_none_or(|k| !is_timeout(k)),
        "the server should close: {err:?}"
    );
    assert!(
        !got.starts_with(b"2") && !got.starts_with(b"5"),
        "an SMTP reply from an implicit TLS port: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(server.connections(), 1);
}

/// A TLS handshake (Python ssl) against the port: the error it fails with, or "" on success.
const TLS_HANDSHAKE: &str = r#"
import json, socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    ctx.wrap_socket(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10))
    print(json.dumps({"error": ""}))
except (ssl.SSLError, OSError) as e:
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"#;

#[test]
fn plaintext_modes_where_implicit_tls_is_expected_greet_in_clear() {
    for mode in ["plain", "starttls"] {
        let server = TestServer::start(&["--mode", mode]);
        // A TLS client writes its ClientHello first; the server greets in plaintext anyway.
        let mut stream = connect(server_addr(&server));
        stream
            .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
            .unwrap();
        let mut first = [0u8; 4];
        stream.read_exact(&mut first).expect("greeting");
        assert_eq!(&first, b"220 ", "{mode}");
        // And a real TLS handshake fails on it.
        let port = server.port.to_string();
        let out = python_json(TLS_HANDSHAKE, &["127.0.0.1", &port]);
        let error = out["error"].as_str().unwrap();
        assert!(error.starts_with("SSLError"), "{mode}: {out}");
    }
    // Control: the same handshake succeeds against implicit TLS.
    let server = TestServer::start(&["--mode", "tls"]);
    let port = server.port.to_string();
    assert_eq!(
        python_json(TLS_HANDSHAKE, &["127.0.0.1", &port])["error"],
        ""
    );
}

#[test]
fn default_certificate_verifies_against_ca_pem() {
    for mode in ["starttls", "tls"] {
        let server = TestServer::start(&["--mode", mode]);
        let info = cert_info(&server, "127.0.0.1", mode);
        assert_eq!(info["verify_code"], 0, "{mode}: {info}");
        assert_eq!(info["signed_by_ca"], true, "{mode}: {info}");
        assert_eq!(info["self_signed"], false, "{mode}: {info}");
        assert_eq!(info["is_ca"], false, "{mode}: {info}");
        assert_eq!(info["dns"], serde_json::json!(["localhost"]), "{info}");
        assert_eq!(
            info["ips"],
            serde_json::json!(["127.0.0.1", "::1"]),
            "{info}"
        );
        let n = info["now"].as_i64().unwrap();
        assert!(info["not_before"].as_i64().unwrap() < n);
        assert!(info["not_after"].as_i64().unwrap() > n);
    }
}

#[test]
fn cert_expired_is_only_valid_in_the_past() {
    for mode in ["starttls", "tls"] {
        let server = TestServer::start(&["--mode", mode, "--cert-expired"]);
        let info = cert_info(&server, "127.0.0.1", mode);
        let (before, after) = (
            info["not_before"].as_i64().unwrap(),
            info["not_after"].as_i64().unwrap(),
        );
        let now = now();
        assert!(after < now - DAY / 2, "{mode}: not expired: {info}");
        assert!(before < after, "{info}");
        assert_eq!(info["signed_by_ca"], true, "{mode}: {info}");
        assert_eq!(info["verify_code"], 10, "{mode}: {info}"); // X509_V_ERR_CERT_HAS_EXPIRED
    }
}

#[test]
fn cert_not_yet_valid_starts_in_the_future() {
    for mode in ["starttls", "tls"] {
        let server = TestServer::start(&["--mode", mode, "--cert-not-yet-valid"]);
        let info = cert_info(&server, "127.0.0.1", mode);
        let (before, after) = (
            info["not_before"].as_i64().unwrap(),
            info["not_after"].as_i64().unwrap(),
        );
        assert!(before > now() + DAY / 2, "{mode}: already valid: {info}");
        assert!(after > before, "{info}");
        assert_eq!(info["signed_by_ca"], true, "{mode}: {info}");
        assert_eq!(info["verify_code"], 9, "{mode}: {info}"); // X509_V_ERR_CERT_NOT_YET_VALID
    }
}

#[test]
fn cert_self_signed_is_its_own_issuer_and_ca_pem_did_not_sign_it() {
    for mode in ["starttls", "tls"] {
        let server = TestServer::start(&["--mode", mode, "--cert-self-signed"]);
        let info = cert_info(&server, "127.0.0.1", mode);
        assert_eq!(info["issuer"], info["subject"], "{mode}: {info}");
        assert_eq!(info["self_signed"], true, "{mode}: {info}");
        assert_eq!(info["is_ca"], false, "{mode}: {info}");
        assert_eq!(info["signed_by_ca"], false, "{mode}: {info}");
        assert_ne!(info["ca_subject"], info["subject"], "{mode}: {info}");
        assert_eq!(
            info["ips"],
            serde_json::json!(["127.0.0.1", "::1"]),
            "{info}"
        );
        let n = info["now"].as_i64().unwrap();
        assert!(info["not_before"].as_i64().unwrap() < n, "{info}");
        assert!(info["not_after"].as_i64().unwrap() > n, "{info}");
        // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        assert_eq!(info["verify_code"], 18, "{mode}: {info}");
    }
    // Combined with a validity option.
    let server = TestServer::start(&["--mode", "tls", "--cert-self-signed", "--cert-expired"]);
    let info = cert_info(&server, "127.0.0.1", "tls");
    assert_eq!(info["self_signed"], true, "{info}");
    assert!(info["not_after"].as_i64().unwrap() < now(), "{info}");
}

#[test]
fn untrusted_and_cert_name_still_work() {
    let server = TestServer::start(&["--mode", "tls", "--untrusted"]);
    let info = cert_info(&server, "127.0.0.1", "tls");
    assert_eq!(info["signed_by_ca"], false, "{info}");
    assert_eq!(info["self_signed"], false, "{info}");
    // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    assert_eq!(info["verify_code"], 20, "{info}");

    let server = TestServer::start(&["--mode", "starttls", "--cert-name", "other.example"]);
    let info = cert_info(&server, "127.0.0.1", "starttls");
    assert_eq!(info["dns"], serde_json::json!(["other.example"]), "{info}");
    assert_eq!(info["ips"], serde_json::json!([]), "{info}");
    assert_eq!(info["signed_by_ca"], true, "{info}");
    assert_ne!(info["verify_code"], 0, "a name mismatch: {info}");
}

/// EHLO keywords (lower case) before and after STARTTLS, and whether AUTH before TLS works.
const AUTH_PROBE: &str = r#"
import json, smtplib, ssl, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, port, timeout=10)
s.ehlo("selftest.example")
before = sorted(s.esmtp_features)
auth_before = s.esmtp_features.get("auth", "")
s.starttls(context=ctx)
s.ehlo("selftest.example")
after = sorted(s.esmtp_features)
s.quit()
login_before_tls = None
if auth_before:
    s = smtplib.SMTP(host, port, timeout=10)
    s.ehlo("selftest.example")
    login_before_tls = s.login(user, password)[0]
    s.quit()
print(json.dumps({"before": before, "after": after, "auth_before": auth_before,
                  "login_before_tls": login_before_tls}))
"#;

#[test]
fn auth_before_tls_only_advertises_auth_in_plaintext_only() {
    let server = TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        "alice:pw-1234",
        "--auth-before-tls-only",
    ]);
    let port = server.port.to_string();
    let out = python_json(AUTH_PROBE, &["127.0.0.1", &port, "alice", "pw-1234"]);
    assert!(has_kw(&out["before"], "auth"), "{out}");
    assert!(has_kw(&out["before"], "starttls"), "{out}");
    assert!(!has_kw(&out["after"], "auth"), "{out}");
    assert!(!has_kw(&out["after"], "starttls"), "{out}");
    assert!(has_kw(&out["after"], "size"), "the rest stays: {out}");
    assert_eq!(out["login_before_tls"], 235, "{out}");
    assert!(
        server.events().iter().any(|e| e.ends_with("TLS TLSv1.3")),
        "{:?}",
        server.events()
    );

    // Control: a normal STARTTLS server with --auth does the opposite.
    let server = TestServer::start(&["--mode", "starttls", "--auth", "alice:pw-1234"]);
    let port = server.port.to_string();
    let out = python_json(AUTH_PROBE, &["127.0.0.1", &port, "alice", "pw-1234"]);
    assert!(!has_kw(&out["before"], "auth"), "{out}");
    assert!(has_kw(&out["after"], "auth"), "{out}");
}

fn has_kw(list: &Value, kw: &str) -> bool {
    list.as_array().unwrap().iter().any(|v| v == kw)
}

#[test]
fn ipv6_listens_on_ipv6_loopback_only() {
    if !ipv6_loopback_available() {
        eprintln!("skipped: no IPv6 loopback (::1) on this host");
        return;
    }
    let server = TestServer::start(&["--ipv6"]);
    assert_eq!(server.host, "::1");
    assert_eq!(server.hosts, ["::1"]);
    assert_eq!(server.addr(), format!("[::1]:{}", server.port));
    assert!(greeting(server_addr(&server)).starts_with("220 "));
    assert_eq!(server.connections(), 1);

    // Implicit TLS over ::1 verifies: the default certificate names IP ::1.
    let server = TestServer::start(&["--ipv6", "--mode", "tls"]);
    let info = cert_info(&server, "::1", "tls");
    assert_eq!(info["verify_code"], 0, "{info}");
}

#[test]
fn dual_listens_on_both_loopbacks_with_one_port() {
    if !ipv6_loopback_available() {
        eprintln!("skipped: no IPv6 loopback (::1) on this host");
        return;
    }
    let server = TestServer::start(&["--dual"]);
    assert_eq!(server.host, "127.0.0.1");
    assert_eq!(server.hosts, ["127.0.0.1", "::1"]);
    let addrs = server.addrs();
    assert_eq!(addrs.len(), 2);
    assert!(addrs.iter().all(|a| a.port() == server.port), "{addrs:?}");
    for addr in &addrs {
        assert!(greeting(*addr).starts_with("220 "), "{addr}");
    }
    assert_eq!(server.connections(), 2);

    let server = TestServer::start(&["--dual", "--mode", "starttls"]);
    for host in ["127.0.0.1", "::1"] {
        let info = cert_info(&server, host, "starttls");
        assert_eq!(info["verify_code"], 0, "{host}: {info}");
    }
}

#[test]
fn launcher_rejects_inconsistent_situations() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/aiosmtpd_server.py");
    let python = std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = std::env::temp_dir().join(format!("mailport-selftest-{}", std::process::id()));
    for args in [
        &["--auth-before-tls-only"][..],
        &["--mode", "tls", "--auth", "u:p", "--auth-before-tls-only"],
        &["--mode", "starttls", "--auth-before-tls-only"],
        &["--cert-expired"],
        &["--mode", "tls", "--cert-expired", "--cert-not-yet-valid"],
        &["--ipv6", "--dual"],
        &["--drop-after-accept", "--hang", "greeting"],
    ] {
        let out = Command::new(&python)
            .arg(&script)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .output()
            .expect("run the launcher");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} should be a usage error"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("READY"),
            "{args:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// the OAuth server (tests/servers/oauth_server.py) and the Dovecot that checks its tokens
// (tests/servers/dovecot_server.py): Dovecot's auth protocol spoken here, without Postfix

/// One AUTH over Dovecot's auth socket (the protocol Postfix speaks, VERSION 1.2): the reply
/// line (`OK\t1\tuser=...`, or `CONT\t1\t<challenge>` for a refused bearer token).
fn dovecot_auth(socket: &std::path::Path, mechanism: &str, initial_response: &[u8]) -> String {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "VERSION\t1\t2\nCPID\t{}\n", std::process::id()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap() > 0,
            "Dovecot closed the auth socket during the handshake"
        );
        if line == "DONE\n" {
            break;
        }
    }
    writeln!(
        stream,
        "AUTH\t1\t{mechanism}\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.1\tsecured\t\
         resp={}",
        common::base64_encode(initial_response)
    )
    .unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    line.trim_end().to_string()
}

#[test]
fn oauth_server_introspects_the_tokens_it_issued_until_revoked() {
    let server = OAuthServer::start(&["--refresh-token", "u@example.test:rt-selftest"]);
    let introspect = |token: &str| {
        let (status, body) = server.request(
            "POST",
            "/introspect",
            Some(("form", serde_json::json!({ "token": token }))),
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    assert_eq!(
        introspect("at-never-issued"),
        serde_json::json!({"active": false})
    );
    let answer = server.refresh("mailport-test", "rt-selftest");
    let token = answer["access_token"].as_str().unwrap();
    let active = introspect(token);
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["username"], "u@example.test", "{active}");
    server.control(serde_json::json!({ "revoke_access": token }));
    assert_eq!(introspect(token), serde_json::json!({"active": false}));
    // The request log says what happened and holds no token.
    let log = server.requests_log();
    assert!(log.contains("POST /token refresh_token ok"), "{log}");
    assert!(
        !log.contains(token) && !log.contains("rt-selftest"),
        "{log}"
    );
}

#[test]
fn dovecot_accepts_an_active_token_for_its_user_only_and_logs_no_token() {
    let server = OAuthServer::start(&["--refresh-token", "u@example.test:rt-selftest"]);
    let dovecot = Dovecot::start(&server, &["xoauth2", "oauthbearer"]);
    assert_eq!(dovecot.ready.mechanisms, ["XOAUTH2", "OAUTHBEARER"]);
    let token = server.refresh("mailport-test", "rt-selftest")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let socket = &dovecot.ready.socket;
    let xoauth2 = |user: &str, token: &str| {
        format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes()
    };
    let oauthbearer = |user: &str, token: &str| {
        format!("n,a={user},\x01auth=Bearer {token}\x01\x01").into_bytes()
    };
    let ok = "OK\t1\tuser=u@example.test";
    let reply = dovecot_auth(socket, "XOAUTH2", &xoauth2("u@example.test", &token));
    assert!(reply.starts_with(ok), "{reply}");
    let reply = dovecot_auth(
        socket,
        "OAUTHBEARER",
        &oauthbearer("u@example.test", &token),
    );
    assert!(reply.starts_with(ok), "{reply}");
    // A token of someone else, and a token the OAuth server does not know: the error challenge
    // ({"status":"401",...} for XOAUTH2, "invalid_token" for OAUTHBEARER).
    let reply = dovecot_auth(socket, "XOAUTH2", &xoauth2("other@example.test", &token));
    assert!(reply.starts_with("CONT\t1\t"), "{reply}");
    let reply = dovecot_auth(socket, "XOAUTH2", &xoauth2("u@example.test", "at-forged"));
    let challenge = reply
        .strip_prefix("CONT\t1\t")
        .unwrap_or_else(|| panic!("{reply}"));
    let decoded = python_json(
        "import base64,sys;print(base64.b64decode(sys.argv[1]).decode())",
        &[challenge],
    );
    assert_eq!(decoded["status"], "401", "{decoded}");
    let reply = dovecot_auth(
        socket,
        "OAUTHBEARER",
        &oauthbearer("u@example.test", "at-forged"),
    );
    assert!(reply.starts_with("CONT\t1\t"), "{reply}");

    dovecot.wait_for_log("Username 'other@example.test' did not match 'u@example.test'");
    dovecot.wait_for_log("Provided token is not valid");
    let log = dovecot.log();
    assert!(!log.contains(&token) && !log.contains("at-forged"), "{log}");
}

#[test]
fn dovecot_and_postfix_launchers_reject_inconsistent_options() {
    let server = OAuthServer::start(&[]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers");
    let python = common::python();
    let dir = std::env::temp_dir().join(format!("mailport-selftest-dv-{}", std::process::id()));
    let url = server.introspection_url();
    let ca = server.ca.to_str().unwrap();
    let missing = dir.join("missing.pem");
    let missing = missing.to_str().unwrap();
    for (script, args) in [
        (
            "dovecot_server.py",
            vec![
                "--introspection-url",
                &url,
                "--ca-file",
                ca,
                "--mechanisms",
                "plain",
            ],
        ),
        (
            "dovecot_server.py",
            vec![
                "--introspection-url",
                &url,
                "--ca-file",
                ca,
                "--mechanisms",
                ",",
            ],
        ),
        (
            "dovecot_server.py",
            vec![
                "--introspection-url",
                "http://127.0.0.1:1/introspect",
                "--ca-file",
                ca,
            ],
        ),
        (
            "dovecot_server.py",
            vec!["--introspection-url", &url, "--ca-file", missing],
        ),
        ("dovecot_server.py", vec!["--ca-file", ca]),
        (
            "postfix_server.py",
            vec!["--relay-port", "1", "--dovecot-auth", missing],
        ),
    ] {
        let out = Command::new(&python)
            .arg(root.join(script))
            .arg("--dir")
            .arg(&dir)
            .args(&args)
            .output()
            .expect("run the launcher");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{script} {args:?} should be a usage error: {stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("READY"),
            "{script} {args:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
