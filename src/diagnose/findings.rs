//! The connection check's judgement: from what was recorded on each port, whether it works,
//! the findings (each with a stable code, a severity and a hint), the recommended port, and the
//! summary. Probing itself is in [`super::probe`].

use crate::config::{Config, Security};
use crate::diagnose::probe::{ProbeOptions, hint_for};
use crate::diagnose::report::*;
use crate::error::{Error, Kind};

fn works(attempt: &Attempt, config: &Config, options: &ProbeOptions) -> bool {
    let trusted = attempt
        .tls
        .as_ref()
        .is_some_and(|t| t.verification == "trusted");
    let greeted = attempt
        .greeting
        .as_ref()
        .is_some_and(|g| g.reply.code == 220);
    let authenticated = !(options.try_auth && config.credentials.is_some())
        || attempt
            .auth
            .as_ref()
            .is_some_and(|a| a.outcome == Outcome::Ok);
    let envelope_ok = options.envelope.is_none()
        || attempt
            .rcpt_to
            .as_ref()
            .is_some_and(|r| r.outcome == Outcome::Ok);
    attempt.tcp.status == TcpStatus::Open
        && greeted
        && trusted
        && attempt.failure.is_none()
        && authenticated
        && envelope_ok
}

pub(super) fn port_report(
    port: u16,
    role: Role,
    attempts: Vec<Attempt>,
    config: &Config,
    options: &ProbeOptions,
) -> PortReport {
    let working = attempts.iter().find(|a| works(a, config, options));
    let reachable = attempts
        .iter()
        .any(|a| matches!(a.speaks, Some(Speaks::PlaintextSmtp | Speaks::ImplicitTls)));
    let verdict = if working.is_some() {
        PortVerdict::Works
    } else if reachable {
        PortVerdict::Broken
    } else {
        PortVerdict::Unreachable
    };
    let use_security = working.map(|a| {
        if a.speaks == Some(Speaks::ImplicitTls) {
            "tls"
        } else {
            "starttls"
        }
    });
    let summary = port_summary(&attempts, working, config, options);
    PortReport {
        port,
        role,
        expected: role.expected_security().as_str(),
        verdict,
        use_security,
        summary,
        attempts,
    }
}

/// The most informative attempt of a port: one that works, else one that got furthest.
fn best(attempts: &[Attempt]) -> Option<&Attempt> {
    attempts.iter().max_by_key(|a| {
        (
            a.failure.is_none(),
            a.tls.is_some(),
            a.greeting.is_some(),
            a.speaks.is_some(),
            a.tcp.status == TcpStatus::Open,
        )
    })
}

fn port_summary(
    attempts: &[Attempt],
    working: Option<&Attempt>,
    config: &Config,
    options: &ProbeOptions,
) -> String {
    if let Some(a) = working {
        let mode = if a.speaks == Some(Speaks::ImplicitTls) {
            "implicit TLS"
        } else {
            "STARTTLS"
        };
        let mut text = format!("works with {mode} and a valid certificate");
        if let Some(tls) = &a.tls {
            text += &format!(" ({})", tls.version);
        }
        if options.try_auth && config.credentials.is_some() {
            text += "; the credentials were accepted";
        } else if let Some(caps) = &a.capabilities_after_tls {
            if !caps.auth.is_empty() {
                text += &format!("; AUTH {}", caps.auth.join(" "));
            }
        }
        return text;
    }
    let Some(a) = best(attempts) else {
        return "not checked".into();
    };
    match (a.tcp.status, a.speaks) {
        (TcpStatus::Timeout, _) => "connection timed out: filtered by a firewall".into(),
        (TcpStatus::Refused, _) => "connection refused: nothing listens there".into(),
        (TcpStatus::Unreachable, _) => "unreachable".into(),
        (TcpStatus::Open, Some(Speaks::Closed)) => {
            "closes the connection without a greeting".into()
        }
        (TcpStatus::Open, Some(Speaks::Silent)) => "accepts connections but says nothing".into(),
        (TcpStatus::Open, Some(Speaks::NotSmtp)) => "does not speak SMTP".into(),
        _ => a
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_else(|| "does not work".into()),
    }
}

pub(super) fn port_findings(
    port: &PortReport,
    config: &Config,
    options: &ProbeOptions,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut add = |code: &'static str, severity: Severity, message: String, hint: String| {
        if !out.iter().any(|f| f.code == code) {
            out.push(Finding {
                code,
                severity,
                port: Some(port.port),
                message,
                hint,
            });
        }
    };
    let p = port.port;
    let expected = port.role.expected_security();
    let host = &config.host;
    let failure_hint = |a: &Attempt| {
        a.failure
            .as_ref()
            .map(|f| f.hint.clone())
            .unwrap_or_default()
    };
    if port.role == Role::Relay && port.verdict == PortVerdict::Works && !options.allow_relay {
        add(
            "relay_port",
            Severity::Info,
            format!("port {p} works, but it is meant for server-to-server relay"),
            "Applications should submit on 587 (STARTTLS) or 465 (implicit TLS); many providers refuse or throttle submission on 25.".into(),
        );
    }
    for a in &port.attempts {
        match a.tcp.status {
            TcpStatus::Timeout => add(
                "port_filtered",
                if port.role == Role::Relay {
                    Severity::Info
                } else {
                    Severity::Error
                },
                format!("{host} port {p} did not answer: outbound connections to it look filtered"),
                failure_hint(a),
            ),
            TcpStatus::Refused => add(
                "port_refused",
                Severity::Error,
                format!("{host} port {p} refused the connection: nothing listens there"),
                failure_hint(a),
            ),
            _ => {}
        }
        match a.speaks {
            Some(Speaks::ImplicitTls) if expected == Security::StartTls => {
                let error = Error::new(
                    Kind::TlsOnPlaintextPort,
                    format!("port {p} speaks implicit TLS, where STARTTLS is usual"),
                );
                add(
                    "tls_on_starttls_port",
                    Severity::Warning,
                    error.message(),
                    hint_for(&error, config, p, Security::StartTls),
                );
            }
            Some(Speaks::PlaintextSmtp) if expected == Security::Tls => {
                let error = Error::new(
                    Kind::PlaintextOnTlsPort,
                    format!("port {p} speaks plaintext SMTP, where implicit TLS is usual"),
                );
                add(
                    "plaintext_on_tls_port",
                    Severity::Warning,
                    error.message(),
                    hint_for(&error, config, p, Security::Tls),
                );
            }
            Some(Speaks::Closed) => add(
                "closed_without_greeting",
                Severity::Error,
                format!("port {p} accepts connections and closes them without a greeting"),
                "The server refuses this client (an IP block list or a connection limit), or something in between cuts the connection. Try another port, or ask the provider whether your address is blocked.".into(),
            ),
            Some(Speaks::Silent) => add(
                "silent",
                Severity::Error,
                format!("port {p} accepts connections but never speaks, not even TLS"),
                failure_hint(a),
            ),
            Some(Speaks::NotSmtp) => add(
                "not_smtp",
                Severity::Error,
                format!(
                    "port {p} answers with something that is not SMTP: {:?}",
                    a.banner.as_deref().unwrap_or("")
                ),
                "Another service listens on this port; check the port number.".into(),
            ),
            _ => {}
        }
        if let Some(starttls) = &a.starttls {
            match starttls.outcome {
                Outcome::NotOffered => {
                    let error = Error::new(
                        Kind::StartTlsUnavailable,
                        format!(
                            "port {p} does not offer STARTTLS: mail and passwords would travel unencrypted"
                        ),
                    );
                    add(
                        "starttls_missing",
                        Severity::Error,
                        error.message(),
                        hint_for(&error, config, p, Security::StartTls),
                    );
                }
                Outcome::Failed => add(
                    "starttls_failed",
                    Severity::Error,
                    format!(
                        "STARTTLS on port {p} failed: {}",
                        starttls.detail.as_deref().unwrap_or("")
                    ),
                    failure_hint(a),
                ),
                _ => {}
            }
        }
        if let Some(tls) = &a.tls {
            let code = match tls.verification {
                "expired" => Some("certificate_expired"),
                "not_yet_valid" => Some("certificate_not_yet_valid"),
                "name_mismatch" => Some("certificate_name_mismatch"),
                "self_signed" => Some("certificate_self_signed"),
                "untrusted_issuer" | "revoked" | "other" => Some("certificate_untrusted"),
                _ => None,
            };
            // The attempt's failure is the send's own error for this certificate.
            let failure = a.failure.as_ref().filter(|f| {
                matches!(
                    f.kind,
                    Kind::CertificateUntrusted
                        | Kind::CertificateExpired
                        | Kind::CertificateNameMismatch
                )
            });
            if let (Some(code), Some(failure)) = (code, failure) {
                add(
                    code,
                    Severity::Error,
                    format!("port {p}: {}", failure.message),
                    failure.hint.clone(),
                );
            }
        }
        let auth_before = a
            .capabilities_before_tls
            .as_ref()
            .is_some_and(|c| !c.auth.is_empty());
        let auth_after = a
            .capabilities_after_tls
            .as_ref()
            .is_some_and(|c| !c.auth.is_empty());
        if auth_before && !auth_after {
            add(
                "auth_only_before_tls",
                Severity::Error,
                format!("port {p} offers AUTH only before TLS, where passwords would travel in the clear"),
                "The server is misconfigured: it should offer AUTH after STARTTLS, not before. mailport never sends credentials unencrypted; use another port (465) or ask the provider to fix the server.".into(),
            );
        } else if a.capabilities_after_tls.is_some()
            && !auth_after
            && config.credentials.is_some()
            && options.try_auth
        {
            add(
                "auth_not_offered",
                Severity::Error,
                format!("port {p} offers no AUTH, so the credentials cannot be used"),
                "This port may be for relay only; use the provider's submission port (587 or 465)."
                    .into(),
            );
        }
        if let Some(auth) = &a.auth {
            if auth.outcome == Outcome::Failed {
                // Only an AuthFailed error is the server's refusal; any other kind stopped the
                // login before or around it (an OAuth2 token that could not be had from the
                // endpoint or the caller's callback, a dropped connection), and its detail says why.
                let what = match (auth.kind, &auth.reply, &auth.detail) {
                    (Some(Kind::AuthFailed), Some(r), _) => {
                        format!("the server refused the credentials ({} {})", r.code, r.text)
                    }
                    (Some(Kind::AuthFailed), None, Some(detail)) => {
                        format!("the server refused the credentials: {detail}")
                    }
                    (Some(Kind::AuthFailed), None, None) => {
                        "the server refused the credentials".to_string()
                    }
                    (_, _, Some(detail)) => format!("could not log in: {detail}"),
                    (_, _, None) => "could not log in".to_string(),
                };
                add(
                    "auth_failed",
                    Severity::Error,
                    format!("port {p}: {what}"),
                    failure_hint(a),
                );
            }
        }
        if let Some(g) = &a.greeting {
            if !g.matches_host {
                add(
                    "greeting_names_other_domain",
                    Severity::Warning,
                    format!(
                        "port {p} greets as {:?}, not as {host}: something between you and the server may be intercepting mail traffic",
                        g.announced_host.as_deref().unwrap_or("")
                    ),
                    "Hosting providers and some networks redirect outbound SMTP to their own servers. If the certificate does not match either, that is what happens; use a port they do not intercept (465 or 2525) or ask them.".into(),
                );
            }
        }
        if let Some(mail) = &a.mail_from {
            if mail.outcome == Outcome::Failed {
                add(
                    "sender_refused",
                    Severity::Error,
                    format!(
                        "port {p}: the sender was refused ({})",
                        mail.reply
                            .as_ref()
                            .map(|r| r.text.clone())
                            .unwrap_or_default()
                    ),
                    "Use a From address the account may send as.".into(),
                );
            }
        }
        if let Some(rcpt) = &a.rcpt_to {
            if rcpt.outcome == Outcome::Failed {
                add(
                    "recipient_refused",
                    Severity::Error,
                    format!(
                        "port {p}: the recipient was refused ({})",
                        rcpt.reply
                            .as_ref()
                            .map(|r| r.text.clone())
                            .unwrap_or_default()
                    ),
                    "Check the recipient address; some servers only relay for authenticated users."
                        .into(),
                );
            }
        }
    }
    out
}

pub(super) fn recommend(ports: &[PortReport], options: &ProbeOptions) -> Option<Recommendation> {
    let chosen = ports.iter().find(|p| {
        p.verdict == PortVerdict::Works && (p.role != Role::Relay || options.allow_relay)
    })?;
    let mut reasons: Vec<String> = Vec::new();
    for p in ports.iter().take_while(|p| p.port != chosen.port) {
        let why = match p.attempts.iter().map(|a| a.tcp.status).next() {
            Some(TcpStatus::Timeout) => format!(
                "{} timed out: outbound {} looks filtered by your host or network",
                p.port,
                if p.role == Role::Relay {
                    "relay"
                } else {
                    "submission"
                }
            ),
            _ => format!("{} {}", p.port, p.summary),
        };
        reasons.push(why);
    }
    let use_security = chosen.use_security.unwrap_or("starttls");
    let mode = if use_security == "tls" {
        "implicit TLS"
    } else {
        "STARTTLS"
    };
    let auth = if chosen.summary.contains("credentials were accepted") {
        ", and the credentials were accepted"
    } else {
        ""
    };
    reasons.push(format!(
        "{} works with {mode} and a valid certificate{auth}; use {}",
        chosen.port, chosen.port
    ));
    Some(Recommendation {
        port: chosen.port,
        security: use_security,
        reason: reasons.join("; "),
    })
}

pub(super) fn summary(report: &Report) -> String {
    let mut text = String::new();
    let ports: Vec<String> = report.ports.iter().map(|p| p.port.to_string()).collect();
    if let Some(error) = &report.dns.error {
        return format!(
            "{error}. Nothing could be checked: check the server name for typos, and this machine's DNS."
        );
    }
    text += &format!(
        "Checked {} ({}) on ports {} in {:.1} s.\n",
        report.host,
        report.dns.addresses.join(", "),
        ports.join(", "),
        report.elapsed_ms as f64 / 1000.0
    );
    for p in &report.ports {
        text += &format!("- {}: {}\n", p.port, p.summary);
    }
    for f in report.findings.iter().filter(|f| {
        f.severity >= Severity::Warning && !matches!(f.code, "port_filtered" | "port_refused")
    }) {
        text += &format!("- {}\n", f.message);
    }
    match &report.recommendation {
        Some(r) => text += &format!("Recommendation: {}.", r.reason),
        None => {
            let relay_only = report
                .ports
                .iter()
                .any(|p| p.role == Role::Relay && p.verdict == PortVerdict::Works);
            if relay_only {
                text += "No submission port works; only port 25 does, which is meant for server-to-server relay. If your provider accepts submission there, allow relay explicitly; otherwise ask your host to open 587 or 465.";
            } else {
                text += "No port works. ";
                let all_filtered = report.ports.iter().all(|p| {
                    p.attempts
                        .iter()
                        .all(|a| a.tcp.status == TcpStatus::Timeout)
                });
                if all_filtered {
                    text += "Every port timed out: this machine's outbound mail traffic is filtered. Ask your host to allow outbound 587 or 465, or use your provider's HTTP API.";
                } else {
                    text += "See the findings above for what to fix.";
                }
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The auth_failed finding's message for a port whose one attempt ended its AUTH with `auth`.
    fn auth_finding(auth: StepResult) -> String {
        let mut attempt = Attempt::new("ipv4", "127.0.0.1".into());
        attempt.auth = Some(auth);
        let port = PortReport {
            port: 587,
            role: Role::Submission,
            expected: "starttls",
            verdict: PortVerdict::Broken,
            use_security: None,
            summary: String::new(),
            attempts: vec![attempt],
        };
        let findings = port_findings(&port, &Config::new("smtp.example.com"), &Default::default());
        let finding = findings.iter().find(|f| f.code == "auth_failed").unwrap();
        finding.message.clone()
    }

    fn failed(kind: Kind, reply: Option<ReplyInfo>, detail: &str) -> StepResult {
        StepResult {
            outcome: Outcome::Failed,
            reply,
            detail: Some(detail.into()),
            kind: Some(kind),
        }
    }

    #[test]
    fn the_auth_failed_finding_follows_the_error_kind() {
        let reply = ReplyInfo {
            code: 535,
            enhanced_status: Some("5.7.8".into()),
            text: "5.7.8 bad credentials".into(),
        };
        let refused = auth_finding(failed(Kind::AuthFailed, Some(reply.clone()), "rejected"));
        assert_eq!(
            refused,
            "port 587: the server refused the credentials (535 5.7.8 bad credentials)"
        );
        // A refusal without a final reply (a challenge the mechanism cannot answer) is still
        // the server's.
        let unanswered = auth_finding(failed(Kind::AuthFailed, None, "no answer to the challenge"));
        assert_eq!(
            unanswered,
            "port 587: the server refused the credentials: no answer to the challenge"
        );
        // The token never reached the server: the caller's callback failed.
        let callback = auth_finding(failed(Kind::OAuthCallback, None, "the vault is sealed"));
        assert_eq!(callback, "port 587: could not log in: the vault is sealed");
        // A token refused for its scope is explained by the scope, whatever the server replied.
        let scope = auth_finding(failed(
            Kind::OAuthScope,
            Some(reply),
            "granted without SMTP",
        ));
        assert_eq!(scope, "port 587: could not log in: granted without SMTP");
    }
}
