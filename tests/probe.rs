//! The connection check and the automatic port, against loopback servers that each play one
//! situation (aiosmtpd for the SMTP ones; bare listeners for refused, filtered, silent and
//! not-SMTP ports).

mod common;

use std::time::Duration;

use common::{
    TestServer, config_for, filtered_port, not_smtp_server, refused_port, silent_listener,
};
use mailport::config::PORT_AUTO;
use mailport::diagnose::probe::{ProbeOptions, probe};
use mailport::diagnose::report::{Outcome, PortVerdict, Report, Role, Speaks, TcpStatus};
use mailport::{Client, Config, Credentials, Kind, Message, Secret, Security};

const USER: &str = "probe-user";
const PASS: &str = "probe-pass";

fn config(host: &str, ca: Option<&TestServer>) -> Config {
    let mut config = match ca {
        Some(server) => config_for(host, server, Security::Auto),
        // Servers without TLS need no CA; the default roots are never consulted.
        None => Config::new(host),
    };
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.command = Duration::from_secs(5);
    config
}

fn credentials(pass: &str) -> Option<Credentials> {
    Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(pass),
    })
}

fn options(ports: &[(u16, Role)]) -> ProbeOptions {
    ProbeOptions {
        ports: ports.to_vec(),
        deadline: Duration::from_secs(20),
        greeting_wait: Duration::from_millis(1500),
        ..ProbeOptions::default()
    }
}

fn check(config: &Config, ports: &[(u16, Role)]) -> Report {
    probe(config, &options(ports)).expect("probe")
}

fn codes(report: &Report, port: u16) -> Vec<&'static str> {
    report.findings_for(port).map(|f| f.code).collect()
}

fn auth_server(mode: &str, extra: &[&str]) -> TestServer {
    let auth = format!("{USER}:{PASS}");
    let mut args = vec!["--mode", mode, "--auth", &auth, "--hostname", "localhost"];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// The stable name a kind has in the report's JSON.
fn kind_name(kind: Kind) -> String {
    serde_json::to_value(kind)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn healthy_servers_on_each_kind_of_port() {
    let submission = auth_server("starttls", &[]);
    let implicit = auth_server("tls", &[]);
    let alternate = auth_server("starttls", &[]);
    let relay = TestServer::start(&["--mode", "starttls", "--hostname", "localhost"]);
    // One CA per server: trust them all.
    let mut config = config("localhost", Some(&submission));
    for s in [&implicit, &alternate, &relay] {
        config.tls.ca_files.push(s.ca.clone());
    }
    config.credentials = credentials(PASS);
    let report = check(
        &config,
        &[
            (submission.port, Role::Submission),
            (implicit.port, Role::ImplicitTls),
            (alternate.port, Role::Alternate),
            (relay.port, Role::Relay),
        ],
    );
    for (server, security) in [
        (&submission, "starttls"),
        (&implicit, "tls"),
        (&alternate, "starttls"),
    ] {
        let port = report.port(server.port).unwrap();
        assert_eq!(port.verdict, PortVerdict::Works, "{}", report.to_json());
        assert_eq!(port.use_security, Some(security));
        let attempt = &port.attempts[0];
        assert_eq!(attempt.tcp.status, TcpStatus::Open);
        let tls = attempt.tls.as_ref().unwrap();
        assert_eq!(tls.verification, "trusted");
        assert!(tls.version.starts_with("TLSv1."), "{}", tls.version);
        assert!(tls.certificates[0].names.iter().any(|n| n == "localhost"));
        let after = attempt.capabilities_after_tls.as_ref().unwrap();
        assert!(after.auth.contains(&"PLAIN".to_string()), "{after:?}");
        assert!(after.size_limit.is_some());
        assert_eq!(attempt.auth.as_ref().unwrap().outcome, Outcome::Ok);
        assert!(
            codes(&report, server.port).is_empty(),
            "{:?}",
            codes(&report, server.port)
        );
    }
    // No credentials for the relay server: AUTH is not offered there, which is fine for relay,
    // but the probe was asked to use credentials, so it does not count as working.
    let relay_port = report.port(relay.port).unwrap();
    assert_eq!(relay_port.role, Role::Relay);
    let recommendation = report.recommendation.as_ref().unwrap();
    assert_eq!(recommendation.port, submission.port);
    assert_eq!(recommendation.security, "starttls");
    assert!(
        report.summary.contains("Recommendation"),
        "{}",
        report.summary
    );

    // The JSON document is versioned and complete.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["ports"].as_array().unwrap().len(), 4);
    assert_eq!(json["ports"][1]["attempts"][0]["speaks"], "implicit_tls");
    assert_eq!(json["ports"][0]["attempts"][0]["starttls"]["outcome"], "ok");
    assert_eq!(json["recommendation"]["port"], submission.port);
}

#[test]
fn relay_port_is_recommended_only_when_allowed() {
    let relay = TestServer::start(&["--mode", "starttls", "--hostname", "localhost"]);
    let config = config("localhost", Some(&relay));
    let ports = [(relay.port, Role::Relay)];
    let report = check(&config, &ports);
    assert_eq!(report.port(relay.port).unwrap().verdict, PortVerdict::Works);
    assert!(report.recommendation.is_none());
    assert!(codes(&report, relay.port).contains(&"relay_port"));
    assert!(
        report.summary.contains("only port 25"),
        "{}",
        report.summary
    );
    let mut allow = options(&ports);
    allow.allow_relay = true;
    let report = probe(&config, &allow).unwrap();
    assert_eq!(report.recommendation.unwrap().port, relay.port);
}

#[test]
fn unreachable_ports_refused_filtered_silent_dropped_not_smtp() {
    let refused = refused_port();
    let filtered = filtered_port();
    let (silent, silent_port) = silent_listener();
    let dropper = TestServer::start(&["--mode", "plain", "--drop-after-accept"]);
    let (_ssh, ssh_port) = not_smtp_server(b"SSH-2.0-OpenSSH_9.6\r\n");
    let config = config("127.0.0.1", None);
    let report = check(
        &config,
        &[
            (refused, Role::Submission),
            (filtered.port, Role::Submission),
            (silent_port, Role::Submission),
            (dropper.port, Role::Submission),
            (ssh_port, Role::Submission),
        ],
    );
    let first = |port: u16| report.port(port).unwrap().attempts[0].clone();
    assert_eq!(first(refused).tcp.status, TcpStatus::Refused);
    assert_eq!(codes(&report, refused), ["port_refused"]);
    assert_eq!(
        kind_name(first(refused).failure.unwrap().kind),
        "connect_refused"
    );

    let filtered_attempt = first(filtered.port);
    assert_eq!(filtered_attempt.tcp.status, TcpStatus::Timeout);
    assert_eq!(
        kind_name(filtered_attempt.failure.unwrap().kind),
        "connect_timeout"
    );
    assert!(codes(&report, filtered.port).contains(&"port_filtered"));

    assert_eq!(first(silent_port).speaks, Some(Speaks::Silent));
    assert!(codes(&report, silent_port).contains(&"silent"));
    assert!(silent.connections() >= 1);

    assert_eq!(first(dropper.port).speaks, Some(Speaks::Closed));
    assert!(codes(&report, dropper.port).contains(&"closed_without_greeting"));

    let ssh = first(ssh_port);
    assert_eq!(ssh.speaks, Some(Speaks::NotSmtp));
    assert_eq!(ssh.banner.as_deref(), Some("SSH-2.0-OpenSSH_9.6"));
    assert!(codes(&report, ssh_port).contains(&"not_smtp"));

    for port in [refused, filtered.port, silent_port, dropper.port, ssh_port] {
        assert_eq!(
            report.port(port).unwrap().verdict,
            PortVerdict::Unreachable,
            "{port}"
        );
    }
    assert!(report.recommendation.is_none());
    assert!(
        report.summary.contains("No port works"),
        "{}",
        report.summary
    );
}

#[test]
fn the_wrong_tls_mode_on_either_kind_of_port() {
    let implicit = TestServer::start(&["--mode", "tls", "--hostname", "localhost"]);
    let starttls = TestServer::start(&["--mode", "starttls", "--hostname", "localhost"]);
    let mut config = config("localhost", Some(&implicit));
    config.tls.ca_files.push(starttls.ca.clone());
    let report = check(
        &config,
        &[
            (implicit.port, Role::Submission),
            (starttls.port, Role::ImplicitTls),
        ],
    );
    // Implicit TLS where STARTTLS is usual: works, with security tls, and says so.
    let on_587 = report.port(implicit.port).unwrap();
    assert_eq!(on_587.attempts[0].speaks, Some(Speaks::ImplicitTls));
    assert_eq!(on_587.use_security, Some("tls"));
    assert!(codes(&report, implicit.port).contains(&"tls_on_starttls_port"));
    // Plaintext where implicit TLS is usual.
    let on_465 = report.port(starttls.port).unwrap();
    assert_eq!(on_465.attempts[0].speaks, Some(Speaks::PlaintextSmtp));
    assert_eq!(on_465.use_security, Some("starttls"));
    assert!(codes(&report, starttls.port).contains(&"plaintext_on_tls_port"));
}

#[test]
fn starttls_missing_is_reported() {
    let plain = TestServer::start(&["--mode", "plain", "--hostname", "localhost"]);
    let report = check(
        &config("localhost", Some(&plain)),
        &[(plain.port, Role::Submission)],
    );
    let port = report.port(plain.port).unwrap();
    assert_eq!(port.verdict, PortVerdict::Broken);
    assert_eq!(
        port.attempts[0].starttls.as_ref().unwrap().outcome,
        Outcome::NotOffered
    );
    assert!(codes(&report, plain.port).contains(&"starttls_missing"));
}

#[test]
fn certificate_problems_match_what_a_send_says() {
    for (flag, code, kind) in [
        (
            "--cert-expired",
            "certificate_expired",
            "certificate_expired",
        ),
        (
            "--cert-not-yet-valid",
            "certificate_not_yet_valid",
            "certificate_expired",
        ),
        (
            "--cert-self-signed",
            "certificate_self_signed",
            "certificate_untrusted",
        ),
        (
            "--untrusted",
            "certificate_untrusted",
            "certificate_untrusted",
        ),
    ] {
        let server = auth_server("starttls", &[flag]);
        let mut config = config("localhost", Some(&server));
        config.credentials = credentials(PASS);
        let report = check(&config, &[(server.port, Role::Submission)]);
        let port = report.port(server.port).unwrap();
        assert_eq!(port.verdict, PortVerdict::Broken, "{flag}");
        let attempt = &port.attempts[0];
        // The capabilities behind the bad certificate are still read...
        assert!(attempt.capabilities_after_tls.is_some(), "{flag}");
        // ...but the credentials are never sent over it.
        assert_eq!(attempt.auth.as_ref().unwrap().outcome, Outcome::Skipped);
        assert!(
            !server.events().iter().any(|e| e.contains("AUTH")),
            "{flag}: credentials sent"
        );
        assert!(
            codes(&report, server.port).contains(&code),
            "{flag}: {:?}",
            codes(&report, server.port)
        );
        let failure = attempt.failure.clone().unwrap();
        assert_eq!(kind_name(failure.kind), kind, "{flag}");

        // A send to the same server fails with the same kind, words and hint.
        let mut send_config = config.clone();
        send_config.port = server.port;
        send_config.security = Security::StartTls;
        let mut client = Client::new(send_config).unwrap();
        let mut message = Message::new();
        message
            .set_from("a@example.com")
            .unwrap()
            .add_to("b@example.com")
            .unwrap()
            .set_text("x")
            .unwrap();
        let err = client.send_message(&message).unwrap_err();
        // rustls states the verification time in seconds, which may tick between the two.
        assert_eq!(
            without_digits(&failure.message),
            without_digits(&err.message()),
            "{flag}"
        );
        assert_eq!(
            without_digits(&failure.hint),
            without_digits(err.hint()),
            "{flag}"
        );
    }
}

fn without_digits(text: &str) -> String {
    text.chars().filter(|c| !c.is_ascii_digit()).collect()
}

#[test]
fn wrong_name_certificate() {
    let server = TestServer::start(&["--mode", "tls", "--cert-name", "mail.example.net"]);
    let report = check(
        &config("localhost", Some(&server)),
        &[(server.port, Role::ImplicitTls)],
    );
    let attempt = &report.port(server.port).unwrap().attempts[0];
    assert_eq!(attempt.tls.as_ref().unwrap().verification, "name_mismatch");
    assert_eq!(
        attempt.tls.as_ref().unwrap().certificates[0].names,
        ["mail.example.net"]
    );
    assert!(codes(&report, server.port).contains(&"certificate_name_mismatch"));
}

#[test]
fn auth_offered_only_before_tls_and_auth_failure() {
    let before_only = auth_server("starttls", &["--auth-before-tls-only", "--auth-plaintext"]);
    let good = auth_server("starttls", &[]);
    let mut config = config("localhost", Some(&before_only));
    config.tls.ca_files.push(good.ca.clone());
    config.credentials = credentials("wrong password");
    let report = check(
        &config,
        &[
            (before_only.port, Role::Submission),
            (good.port, Role::Alternate),
        ],
    );
    assert!(codes(&report, before_only.port).contains(&"auth_only_before_tls"));
    let failed = &report.port(good.port).unwrap().attempts[0];
    assert_eq!(failed.auth.as_ref().unwrap().outcome, Outcome::Failed);
    assert_eq!(
        failed.auth.as_ref().unwrap().reply.as_ref().unwrap().code,
        535
    );
    assert!(codes(&report, good.port).contains(&"auth_failed"));
    assert_eq!(
        kind_name(failed.failure.as_ref().unwrap().kind),
        "auth_failed"
    );
    assert!(report.recommendation.is_none());
}

#[test]
fn a_greeting_from_another_domain_is_flagged() {
    let server = TestServer::start(&["--mode", "starttls", "--hostname", "smtp.intercept.example"]);
    let report = check(
        &config("localhost", Some(&server)),
        &[(server.port, Role::Submission)],
    );
    let greeting = report.port(server.port).unwrap().attempts[0]
        .greeting
        .clone()
        .unwrap();
    assert_eq!(
        greeting.announced_host.as_deref(),
        Some("smtp.intercept.example")
    );
    assert!(!greeting.matches_host);
    assert!(codes(&report, server.port).contains(&"greeting_names_other_domain"));
}

#[test]
fn the_envelope_test_sends_nothing() {
    let server = TestServer::start(&[
        "--mode",
        "starttls",
        "--hostname",
        "localhost",
        "--reject-rcpt",
        "nobody",
    ]);
    let config = config("localhost", Some(&server));
    let mut opts = options(&[(server.port, Role::Submission)]);
    opts.envelope = Some(("me@example.com".into(), "nobody@example.com".into()));
    let report = probe(&config, &opts).unwrap();
    let attempt = &report.port(server.port).unwrap().attempts[0];
    assert_eq!(attempt.mail_from.as_ref().unwrap().outcome, Outcome::Ok);
    assert_eq!(attempt.rcpt_to.as_ref().unwrap().outcome, Outcome::Failed);
    assert!(codes(&report, server.port).contains(&"recipient_refused"));
    assert!(
        server.events_named("RSET").len() == 1,
        "{:?}",
        server.events()
    );
    assert!(server.events_named("DATA").is_empty());
    assert!(server.messages().is_empty());
}

#[test]
fn the_recommendation_explains_the_blocked_preferred_port() {
    let filtered = filtered_port();
    let implicit = auth_server("tls", &[]);
    let mut config = config("localhost", Some(&implicit));
    config.credentials = credentials(PASS);
    let report = check(
        &config,
        &[
            (filtered.port, Role::Submission),
            (implicit.port, Role::ImplicitTls),
        ],
    );
    let r = report.recommendation.clone().unwrap();
    assert_eq!((r.port, r.security), (implicit.port, "tls"));
    assert!(r.reason.contains("timed out"), "{}", r.reason);
    assert!(r.reason.contains("implicit TLS"), "{}", r.reason);
    assert!(
        r.reason.contains("credentials were accepted"),
        "{}",
        r.reason
    );
    assert_eq!(
        report.recommendation_line(),
        format!("port={} security=tls", implicit.port)
    );
}

#[test]
fn dns_failure_is_data_and_misuse_is_an_error() {
    let report = check(
        &config("no-such-host.invalid", None),
        &[(587, Role::Submission)],
    );
    assert!(report.dns.error.is_some());
    assert_eq!(report.findings[0].code, "dns_failed");
    assert!(report.recommendation.is_none());
    let mut empty = options(&[]);
    empty.ports.clear();
    let err = probe(&config("localhost", None), &empty).unwrap_err();
    assert_eq!(err.kind(), Kind::InvalidInput);
}

// ---------------------------------------------------------------------------------------------
// automatic port

fn auto_config(server: &TestServer, candidates: Vec<(u16, Security)>) -> Config {
    let mut config = config("localhost", Some(server));
    config.port = PORT_AUTO;
    config.auto_ports = candidates;
    config.credentials = credentials(PASS);
    config
}

fn message() -> Message {
    let mut message = Message::new();
    message
        .set_from("a@example.com")
        .unwrap()
        .add_to("b@example.com")
        .unwrap()
        .set_text("hi")
        .unwrap();
    message
}

#[test]
fn auto_port_skips_a_blocked_587_and_keeps_465() {
    let filtered = filtered_port();
    let implicit = auth_server("tls", &[]);
    let refused = refused_port();
    let config = auto_config(
        &implicit,
        vec![
            (filtered.port, Security::StartTls),
            (implicit.port, Security::Tls),
            (refused, Security::StartTls),
        ],
    );
    let mut client = Client::new(config).unwrap();
    let receipt = client.send_message(&message()).unwrap();
    assert_eq!(receipt.port, implicit.port);
    assert_eq!(receipt.security, Security::Tls);
    assert_eq!(client.port(), implicit.port);
    // The choice is kept: the next message after a reconnect goes to the same port at once.
    client.close();
    let receipt = client.send_message(&message()).unwrap();
    assert_eq!(receipt.port, implicit.port);
    assert_eq!(implicit.messages().len(), 2);
    assert!(
        client
            .transcript()
            .contains("choosing a port automatically")
    );
}

#[test]
fn auto_port_prefers_the_first_that_works() {
    let first = auth_server("starttls", &[]);
    let second = auth_server("tls", &[]);
    let mut config = auto_config(
        &first,
        vec![
            (first.port, Security::StartTls),
            (second.port, Security::Tls),
        ],
    );
    config.tls.ca_files.push(second.ca.clone());
    let mut client = Client::new(config).unwrap();
    assert_eq!(client.send_message(&message()).unwrap().port, first.port);
    assert!(second.messages().is_empty());
}

#[test]
fn auto_port_with_everything_blocked_lists_what_was_tried() {
    let filtered = filtered_port();
    let refused = refused_port();
    let plain = TestServer::start(&["--mode", "plain"]);
    let config = auto_config(
        &plain,
        vec![
            (filtered.port, Security::StartTls),
            (refused, Security::Tls),
            (plain.port, Security::StartTls),
        ],
    );
    let mut client = Client::new(config).unwrap();
    let err = client.send_message(&message()).unwrap_err();
    let text = err.message();
    assert!(text.starts_with("no port worked on localhost"), "{text}");
    for port in [filtered.port, refused, plain.port] {
        assert!(
            text.contains(&format!("{port} (")),
            "{port} missing: {text}"
        );
    }
    // The most telling failure sets the kind: the plaintext server lacks STARTTLS.
    assert_eq!(err.kind(), Kind::StartTlsUnavailable);
    assert!(!err.hint().is_empty());
    assert!(plain.messages().is_empty());
}

#[test]
fn auto_port_refuses_unencrypted_modes() {
    let mut config = Config::new("localhost");
    config.port = PORT_AUTO;
    config.security = Security::None;
    assert_eq!(
        Client::new(config).err().unwrap().kind(),
        Kind::InvalidInput
    );
    assert_eq!(
        Config::from_url("smtp://host:auto").unwrap().port,
        PORT_AUTO
    );
}

#[test]
fn ipv6_attempts_are_reported_by_family() {
    if !common::ipv6_loopback_available() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let server = TestServer::start(&["--mode", "starttls", "--ipv6", "--hostname", "localhost"]);
    let report = check(
        &config("::1", Some(&server)),
        &[(server.port, Role::Submission)],
    );
    let port = report.port(server.port).unwrap();
    assert_eq!(port.attempts.len(), 1);
    assert_eq!(port.attempts[0].family, "ipv6");
    assert_eq!(port.attempts[0].address, "::1");
    assert_eq!(port.verdict, PortVerdict::Works, "{}", report.to_json());
}
