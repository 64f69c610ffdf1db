//! The one error type of mailport.
//!
//! Its [`Kind`] names the phase that failed, so callers (and the C ABI, which maps each kind to a
//! stable code) can react without parsing text. An error carries the server's reply when there was
//! one, whether retrying later may help, a plain-language hint, and the redacted transcript up to
//! the failure.

use std::fmt;

use crate::smtp::reply::Reply;

pub mod hint;
pub mod names;

/// What went wrong, by phase. Serialized (in the connection check's report) as its stable
/// snake_case name: `connect_timeout`, `certificate_expired`, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// A caller-supplied value was invalid (CR/LF in a header or command argument, bad option).
    InvalidInput,
    /// An address could not be parsed or used (no '@', bad domain, a non-ASCII local part for a
    /// server without SMTPUTF8). The message names it; [`Error::invalid_addresses`] lists them.
    InvalidAddress,
    /// An attachment file is missing or unreadable, or changed while it was being sent.
    Attachment,
    /// The host name could not be resolved.
    Dns,
    /// The server actively refused the TCP connection (nothing listens on that port).
    ConnectRefused,
    /// The network or host is unreachable.
    ConnectUnreachable,
    /// The TCP connection timed out: the port is usually filtered by a firewall.
    ConnectTimeout,
    /// The TLS handshake failed for a reason other than the certificate.
    TlsHandshake,
    /// The server's certificate does not chain to a trusted root (or is self-signed).
    CertificateUntrusted,
    /// The server's certificate is expired or not yet valid.
    CertificateExpired,
    /// The server's certificate is not valid for the host name we connected to.
    CertificateNameMismatch,
    /// Implicit TLS was expected, but the server answered in plaintext SMTP.
    PlaintextOnTlsPort,
    /// Plaintext SMTP was expected, but the server spoke TLS (or waited silently for a TLS hello).
    TlsOnPlaintextPort,
    /// The server's greeting was missing, malformed, or refused service.
    Greeting,
    /// Both EHLO and HELO were refused.
    Ehlo,
    /// STARTTLS was required but the server does not offer it.
    StartTlsUnavailable,
    /// STARTTLS was refused, or the server misbehaved around it.
    StartTls,
    /// Credentials were given but no acceptable way to use them exists on this connection.
    AuthUnavailable,
    /// The server rejected the credentials.
    AuthFailed,
    /// The server rejected the envelope sender (MAIL FROM).
    MailFrom,
    /// The server rejected one or more recipients (RCPT TO).
    RecipientsRejected,
    /// The server refused the DATA command or rejected the message content.
    Data,
    /// The message is larger than the server accepts (its SIZE limit).
    MessageTooLarge,
    /// The server did not answer within the configured time.
    Timeout,
    /// The server violated the protocol (malformed or oversized reply, unexpected bytes).
    Protocol,
    /// The server closed the connection unexpectedly.
    ConnectionClosed,
    /// Another I/O error.
    Io,
    /// The OAuth token endpoint no longer accepts the refresh token (`invalid_grant`: expired,
    /// revoked, or issued to another client): the user must consent again.
    #[serde(rename = "oauth_invalid_grant")]
    OAuthInvalidGrant,
    /// The OAuth token endpoint refused the client id or secret (`invalid_client`).
    #[serde(rename = "oauth_invalid_client")]
    OAuthInvalidClient,
    /// The OAuth token endpoint could not be reached or failed (network, timeout, HTTP 5xx or
    /// 429): transient.
    #[serde(rename = "oauth_endpoint_unreachable")]
    OAuthEndpointUnreachable,
    /// The scope was refused (`invalid_scope`), or the token lacks the scope SMTP needs.
    #[serde(rename = "oauth_scope")]
    OAuthScope,
    /// The OAuth token endpoint refused the request otherwise, or answered with no token.
    #[serde(rename = "oauth_endpoint")]
    OAuthEndpoint,
    /// The caller's OAuth token callback failed or returned no usable token.
    #[serde(rename = "oauth_callback")]
    OAuthCallback,
}

impl Kind {
    /// Whether the failure is in setting up a session (connecting, TLS, the greeting, EHLO,
    /// STARTTLS, AUTH): one of the connection, not of a message sent over it.
    pub(crate) fn is_session_setup(self) -> bool {
        matches!(
            self,
            Kind::Dns
                | Kind::ConnectRefused
                | Kind::ConnectUnreachable
                | Kind::ConnectTimeout
                | Kind::TlsHandshake
                | Kind::CertificateUntrusted
                | Kind::CertificateExpired
                | Kind::CertificateNameMismatch
                | Kind::PlaintextOnTlsPort
                | Kind::TlsOnPlaintextPort
                | Kind::Greeting
                | Kind::Ehlo
                | Kind::StartTlsUnavailable
                | Kind::StartTls
                | Kind::AuthUnavailable
                | Kind::AuthFailed
                | Kind::OAuthInvalidGrant
                | Kind::OAuthInvalidClient
                | Kind::OAuthEndpointUnreachable
                | Kind::OAuthScope
                | Kind::OAuthEndpoint
                | Kind::OAuthCallback
        )
    }

    /// Whether retrying later, unchanged, may succeed when no server reply says otherwise.
    fn transient_without_reply(self) -> bool {
        matches!(
            self,
            Kind::ConnectRefused
                | Kind::ConnectUnreachable
                | Kind::ConnectTimeout
                | Kind::Timeout
                | Kind::ConnectionClosed
                | Kind::Io
                | Kind::Dns
                | Kind::OAuthEndpointUnreachable
        )
    }

    /// Short lowercase name of the phase, as used in messages and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::InvalidInput => "invalid input",
            Kind::InvalidAddress => "invalid address",
            Kind::Attachment => "attachment",
            Kind::Dns => "dns",
            Kind::ConnectRefused => "connection refused",
            Kind::ConnectUnreachable => "network unreachable",
            Kind::ConnectTimeout => "connect timed out",
            Kind::TlsHandshake => "tls handshake",
            Kind::CertificateUntrusted => "certificate untrusted",
            Kind::CertificateExpired => "certificate expired",
            Kind::CertificateNameMismatch => "certificate name mismatch",
            Kind::PlaintextOnTlsPort => "plaintext answer on a tls port",
            Kind::TlsOnPlaintextPort => "tls answer on a plaintext port",
            Kind::Greeting => "greeting",
            Kind::Ehlo => "ehlo",
            Kind::StartTlsUnavailable => "starttls unavailable",
            Kind::StartTls => "starttls",
            Kind::AuthUnavailable => "auth unavailable",
            Kind::AuthFailed => "auth failed",
            Kind::MailFrom => "mail from",
            Kind::RecipientsRejected => "recipients rejected",
            Kind::Data => "data",
            Kind::MessageTooLarge => "message too large",
            Kind::Timeout => "timeout",
            Kind::Protocol => "protocol",
            Kind::ConnectionClosed => "connection closed",
            Kind::Io => "i/o",
            Kind::OAuthInvalidGrant => "oauth invalid grant",
            Kind::OAuthInvalidClient => "oauth invalid client",
            Kind::OAuthEndpointUnreachable => "oauth endpoint unreachable",
            Kind::OAuthScope => "oauth scope",
            Kind::OAuthEndpoint => "oauth endpoint",
            Kind::OAuthCallback => "oauth callback",
        }
    }
}

/// A recipient the server refused, with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecipient {
    pub address: String,
    pub reply: Reply,
}

/// A caller-supplied address that could not be used, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAddress {
    /// The field it was given in: `To`, `Cc`, `Bcc`, `Reply-To`, `From`.
    pub field: String,
    /// The text as given.
    pub input: String,
    /// Why it is invalid, in plain words.
    pub reason: String,
}

/// The error of every fallible mailport operation. Boxed inside, so results stay small.
pub struct Error(Box<Inner>);

struct Inner {
    kind: Kind,
    message: String,
    reply: Option<Reply>,
    hint: String,
    rejected: Vec<RejectedRecipient>,
    invalid: Vec<InvalidAddress>,
    transcript: String,
    step: Option<Step>,
    outcome_unknown: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The step of a session in which an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    Connect,
    TlsHandshake,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    Other,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::TlsHandshake => "tls",
            Step::Greeting => "greeting",
            Step::Ehlo => "ehlo",
            Step::StartTls => "starttls",
            Step::Auth => "auth",
            Step::MailFrom => "mail",
            Step::RcptTo => "rcpt",
            Step::Data => "data",
            Step::Other => "other",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            reply: None,
            hint: String::new(),
            rejected: Vec::new(),
            invalid: Vec::new(),
            transcript: String::new(),
            step: None,
            outcome_unknown: false,
            source: None,
        }))
    }

    /// An error caused by an unacceptable server reply.
    pub fn from_reply(kind: Kind, message: impl Into<String>, reply: Reply) -> Error {
        Error::new(kind, message).with_reply(reply)
    }

    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(Kind::InvalidInput, message)
    }

    pub fn with_reply(mut self, reply: Reply) -> Error {
        self.0.reply = Some(reply);
        self
    }

    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Error {
        self.0.source = Some(source.into());
        self
    }

    pub(crate) fn with_rejected(mut self, rejected: Vec<RejectedRecipient>) -> Error {
        self.0.rejected = rejected;
        self
    }

    pub(crate) fn with_kind(mut self, kind: Kind) -> Error {
        self.0.kind = kind;
        self
    }

    pub(crate) fn with_invalid_addresses(mut self, invalid: Vec<InvalidAddress>) -> Error {
        self.0.invalid = invalid;
        self
    }

    /// Record the step the error happened in, unless a more precise one is already known.
    pub(crate) fn at_step(mut self, step: Step) -> Error {
        self.0.step.get_or_insert(step);
        self
    }

    pub(crate) fn set_hint(&mut self, hint: String) {
        self.0.hint = hint;
    }

    pub(crate) fn set_transcript(&mut self, transcript: String) {
        self.0.transcript = transcript;
    }

    pub(crate) fn mark_outcome_unknown(&mut self) {
        self.0.outcome_unknown = true;
    }

    pub(crate) fn prefix_message(&mut self, prefix: &str) {
        self.0.message = format!("{prefix}: {}", self.0.message);
    }

    pub fn kind(&self) -> Kind {
        self.0.kind
    }

    /// What went wrong, in one line, with the causes appended.
    pub fn message(&self) -> String {
        let mut text = self.0.message.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self
            .0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static));
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !text.contains(&c_text) {
                text.push_str(": caused by: ");
                text.push_str(&c_text);
            }
            cause = c.source();
        }
        text
    }

    /// The session step that failed, when the error came from a session.
    pub fn step(&self) -> Option<Step> {
        self.0.step
    }

    /// The server reply that caused this error, if any.
    pub fn reply(&self) -> Option<&Reply> {
        self.0.reply.as_ref()
    }

    /// What the user should do next, in plain words; empty when there is nothing useful to say.
    pub fn hint(&self) -> &str {
        &self.0.hint
    }

    /// Recipients the server refused (for [`Kind::RecipientsRejected`]).
    pub fn rejected_recipients(&self) -> &[RejectedRecipient] {
        &self.0.rejected
    }

    /// Each address a message could not be built with, when that is why it failed.
    pub fn invalid_addresses(&self) -> &[InvalidAddress] {
        &self.0.invalid
    }

    /// The redacted session transcript up to the failure.
    pub fn transcript(&self) -> &str {
        &self.0.transcript
    }

    /// Whether the whole message went out and the connection failed before the server's answer:
    /// the server may have taken it, and sending it again may deliver it twice. mailport never
    /// resends it by itself; an outbox does only when its policy says so.
    pub fn outcome_unknown(&self) -> bool {
        self.0.outcome_unknown
    }

    /// Whether trying again later, unchanged, may succeed: a 4xx reply or a network failure.
    pub fn is_transient(&self) -> bool {
        if let Some(reply) = &self.0.reply {
            return reply.is_transient();
        }
        if let Some(first) = self.0.rejected.first() {
            return self.0.rejected.iter().all(|r| r.reply.is_transient())
                && first.reply.is_transient();
        }
        self.0.kind.transient_without_reply()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())?;
        if let Some(reply) = &self.0.reply {
            if !self.0.message.contains(&reply.code().to_string()) {
                write!(f, " (server said: {})", reply.one_line())?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("message", &self.message())
            .field("reply", &self.0.reply)
            .field("hint", &self.0.hint)
            .field("rejected", &self.0.rejected)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}
