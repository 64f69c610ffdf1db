//! The system trust store is the one the platform has: here, on Linux, `SSL_CERT_FILE` names it
//! (as OpenSSL and rustls-native-certs read it). A certificate from a CA in that file is trusted
//! without any CA file of the caller's, and is not trusted once the system store is off.
//!
//! The store is read once per process, so the check runs in a child process (this test binary
//! again, running `child_sends_through_the_system_store`) started with the variable set.

mod common;

use std::process::Command;
use std::time::Duration;

use common::TestServer;
use mailport::{Client, Config, Envelope, Kind, Security};

/// Set only in the child: the port of the server whose CA is in `SSL_CERT_FILE`.
const PORT_VARIABLE: &str = "MAILPORT_TEST_SYSTEM_ROOTS_PORT";

#[test]
fn the_system_store_named_by_ssl_cert_file_is_trusted() {
    let server = TestServer::start(&["--mode", "starttls"]);
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_sends_through_the_system_store",
            "--nocapture",
        ])
        .env("SSL_CERT_FILE", &server.ca)
        .env_remove("SSL_CERT_DIR")
        .env(PORT_VARIABLE, server.port.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the check: {stdout}"
    );
    assert_eq!(
        server.messages().len(),
        1,
        "one message, through the system store"
    );
}

#[test]
fn child_sends_through_the_system_store() {
    let Ok(port) = std::env::var(PORT_VARIABLE) else {
        return; // Not the child: the test above starts it.
    };
    let config = || {
        let mut config = Config::new("127.0.0.1");
        config.port = port.parse().unwrap();
        config.security = Security::StartTls;
        config.helo_name = Some("client.test".into());
        config.timeouts.connect = Duration::from_secs(5);
        config.timeouts.command = Duration::from_secs(10);
        config
    };
    let envelope = Envelope::new("a@example.org", vec!["b@example.net".into()]).unwrap();
    let message = b"Subject: system roots\r\n\r\nx\r\n";

    // The defaults: no CA file; the system store (the server's CA), Mozilla's as fallback.
    let default = config();
    assert!(default.tls.ca_files.is_empty() && default.tls.system_roots);
    let mut client = Client::new(default).unwrap();
    client
        .send_bytes(&envelope, message)
        .unwrap_or_else(|e| panic!("{e:?}\n{}", e.transcript()));
    client.close();

    // Without the system store, Mozilla's roots do not know the server's CA.
    let mut mozilla_only = config();
    mozilla_only.tls.system_roots = false;
    let error = Client::new(mozilla_only)
        .unwrap()
        .send_bytes(&envelope, message)
        .unwrap_err();
    assert_eq!(error.kind(), Kind::CertificateUntrusted, "{error:?}");
}
