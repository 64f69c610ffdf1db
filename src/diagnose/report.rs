//! The connection check's report: what each port did, what is wrong, and which port to use.
//!
//! The JSON form is versioned ([`SCHEMA`]) and documented in `docs/report-schema.md`; bindings
//! read it with their language's JSON parser, so no struct layout is mirrored across languages.

use serde::Serialize;

use crate::config::Security;
use crate::error::Kind;

/// Version of the JSON document; bumped when a field changes meaning or disappears (adding a
/// field does not bump it).
pub const SCHEMA: u32 = 1;

/// What a port is conventionally for, which sets what it is expected to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 587: message submission with STARTTLS (RFC 6409).
    Submission,
    /// 465: submission with implicit TLS (RFC 8314).
    ImplicitTls,
    /// 2525: the unofficial STARTTLS alternative when 587 and 465 are blocked.
    Alternate,
    /// 25: server-to-server relay, usually blocked for applications.
    Relay,
}

impl Role {
    /// The conventional role of a port number (anything unknown is treated like 587).
    pub fn for_port(port: u16) -> Role {
        match port {
            465 => Role::ImplicitTls,
            25 => Role::Relay,
            2525 => Role::Alternate,
            _ => Role::Submission,
        }
    }

    /// The security a client should use on a port of this role.
    pub fn expected_security(self) -> Security {
        match self {
            Role::ImplicitTls => Security::Tls,
            _ => Security::StartTls,
        }
    }
}

/// How a TCP connection attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpStatus {
    Open,
    Refused,
    /// No answer: usually a firewall dropping the packets.
    Timeout,
    Unreachable,
    Error,
    /// Not tried: the overall deadline had passed.
    Skipped,
}

/// What the port speaks once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaks {
    /// A plaintext SMTP greeting (STARTTLS may follow).
    PlaintextSmtp,
    /// Silent until we offered TLS, then TLS (implicit TLS).
    ImplicitTls,
    /// Accepted and closed the connection without a word.
    Closed,
    /// Accepted, then said nothing, not even to a TLS hello.
    Silent,
    /// Something that is not SMTP (the banner is in the attempt).
    NotSmtp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tcp {
    pub status: TcpStatus,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyInfo {
    pub code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enhanced_status: Option<String>,
    pub text: String,
}

impl From<&crate::smtp::reply::Reply> for ReplyInfo {
    fn from(reply: &crate::smtp::reply::Reply) -> ReplyInfo {
        ReplyInfo {
            code: reply.code(),
            enhanced_status: reply.enhanced().map(|e| e.to_string()),
            // The code has its own field; the text is the reply's lines as the server wrote them.
            text: reply.lines().join(" / "),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Greeting {
    pub reply: ReplyInfo,
    /// The host name the server announces (first word after the code).
    pub announced_host: Option<String>,
    /// False when the announced name belongs to another domain than the one we asked for,
    /// which hosts that intercept outbound SMTP give away this way.
    pub matches_host: bool,
}

/// Capabilities from one EHLO reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Every keyword as announced (e.g. `["PIPELINING", "SIZE 35882577", "STARTTLS"]`).
    pub extensions: Vec<String>,
    pub starttls: bool,
    pub auth: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<u64>,
    pub pipelining: bool,
    pub smtputf8: bool,
    pub eight_bit_mime: bool,
    pub chunking: bool,
}

impl From<&crate::smtp::extensions::Extensions> for Capabilities {
    fn from(ext: &crate::smtp::extensions::Extensions) -> Capabilities {
        let mut auth: Vec<String> = ext.auth.iter().map(|m| m.as_str().to_string()).collect();
        auth.extend(ext.auth_other.iter().cloned());
        Capabilities {
            extensions: ext.names(),
            starttls: ext.starttls,
            auth,
            size_limit: ext.max_size(),
            pipelining: ext.pipelining,
            smtputf8: ext.smtputf8,
            eight_bit_mime: ext.eight_bit_mime,
            chunking: ext.chunking,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    pub self_signed: bool,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tls {
    /// How TLS started: `implicit` (port 465 style) or `starttls`.
    pub mode: &'static str,
    pub version: String,
    pub cipher: String,
    /// `trusted`, `expired`, `not_yet_valid`, `name_mismatch`, `self_signed`,
    /// `untrusted_issuer`, `revoked` or `other`.
    pub verification: &'static str,
    /// The server's certificate chain, leaf first.
    pub certificates: Vec<Certificate>,
}

/// The outcome of one optional step (STARTTLS, AUTH, the envelope test).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    /// Not attempted, and `detail` says why.
    Skipped,
    NotOffered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The kind of the error that ended the step, when one did: it tells a refusal by the
    /// server from a failure before the server was asked (an OAuth2 token that could not be had).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
}

/// The error a send through this port would raise: the same kind, words and hint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Serialized as its stable snake_case name (`connect_timeout`, `certificate_expired`, …).
    pub kind: Kind,
    pub message: String,
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplyInfo>,
}

/// One connection to one address of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    pub address: String,
    pub tcp: Tcp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaks: Option<Speaks>,
    /// The first bytes of a port that does not speak SMTP, made printable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<Greeting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities_before_tls: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starttls: Option<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities_after_tls: Option<Capabilities>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcpt_to: Option<StepResult>,
    /// The first failure on this connection, as a send would report it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Something worth telling, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier: `port_filtered`, `port_refused`, `tls_on_starttls_port`,
    /// `plaintext_on_tls_port`, `starttls_missing`, `starttls_failed`, `certificate_expired`,
    /// `certificate_not_yet_valid`, `certificate_name_mismatch`, `certificate_self_signed`,
    /// `certificate_untrusted`, `auth_only_before_tls`, `auth_not_offered`, `auth_failed`,
    /// `greeting_names_other_domain`, `closed_without_greeting`, `silent`, `not_smtp`,
    /// `relay_port`, `sender_refused`, `recipient_refused`, `dns_failed`, `oauth_refresh_ok`,
    /// `oauth_refresh_failed` (a refresh grant's test refresh, made without sending anything).
    pub code: &'static str,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub message: String,
    pub hint: String,
}

/// Whether a port can be used to submit mail, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortVerdict {
    /// Connects, encrypts with a trusted certificate, and authenticates when credentials were
    /// given.
    Works,
    /// Reachable and speaks SMTP, but something stops submission (see the findings).
    Broken,
    /// Nothing reachable: refused, filtered, unreachable, silent or not SMTP.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortReport {
    pub port: u16,
    pub role: Role,
    /// The security the role calls for: `starttls` or `tls`.
    pub expected: &'static str,
    pub verdict: PortVerdict,
    /// The security to configure for this port, when it works: `starttls` or `tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_security: Option<&'static str>,
    /// One line for people: "works with STARTTLS, certificate valid, AUTH PLAIN LOGIN".
    pub summary: String,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dns {
    pub addresses: Vec<String>,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommendation {
    pub port: u16,
    /// `starttls` or `tls`.
    pub security: &'static str,
    /// Why, in plain words, naming what failed on the preferred ports.
    pub reason: String,
}

/// The whole connection check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: u32,
    pub host: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub elapsed_ms: u64,
    pub dns: Dns,
    pub ports: Vec<PortReport>,
    pub findings: Vec<Finding>,
    pub recommendation: Option<Recommendation>,
    /// A few sentences for people: what works, what does not and why, what to use.
    pub summary: String,
}

impl Report {
    /// The versioned JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Serializing plain data cannot fail; say so in JSON if it ever does.
            format!("{{\"schema\":{SCHEMA},\"error\":{:?}}}", e.to_string())
        })
    }

    /// Whether some port works.
    pub fn ok(&self) -> bool {
        self.recommendation.is_some()
    }

    /// `port=465 security=tls`, or an empty string when nothing works.
    pub fn recommendation_line(&self) -> String {
        self.recommendation
            .as_ref()
            .map(|r| format!("port={} security={}", r.port, r.security))
            .unwrap_or_default()
    }

    pub fn port(&self, port: u16) -> Option<&PortReport> {
        self.ports.iter().find(|p| p.port == port)
    }

    pub fn findings_for(&self, port: u16) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.port == Some(port))
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-11-30T06:12:44Z`).
pub(crate) fn rfc3339(unix: i64) -> String {
    crate::time::CivilTime::from_unix(unix).rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_483_164), "2025-11-30T06:12:44Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-86_400), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn roles() {
        assert_eq!(Role::for_port(465).expected_security(), Security::Tls);
        assert_eq!(Role::for_port(587).expected_security(), Security::StartTls);
        assert_eq!(Role::for_port(25), Role::Relay);
        assert_eq!(Role::for_port(2525), Role::Alternate);
    }
}
