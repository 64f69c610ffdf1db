//! The connection check: connect to a server's mail ports the way a send would, and record what
//! each one does, so a user learns which port works and why the others do not.
//!
//! Every port is probed in its own thread, all under one deadline. On each port and address
//! family the probe connects, listens for a greeting (a silent port is offered a TLS hello, which
//! is how implicit TLS is recognised), then runs the same session code a send uses: EHLO,
//! STARTTLS, EHLO again, and AUTH when asked. Certificates are verified as a send would verify
//! them; an invalid one is recorded and the check goes on to read the capabilities behind it, but
//! credentials are never sent over a connection whose certificate failed. Failures are data in
//! the report, explained by the same words a failed send would use.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Config, Credentials, Security};
use crate::diagnose::certificate::{CertificateInfo, RecordingTls};
use crate::diagnose::findings::{port_findings, port_report, recommend, summary};
use crate::diagnose::report::*;
use crate::error::hint;
use crate::error::{Error, Kind, Result};
use crate::smtp::session::Session;
use crate::smtp::stream::Stream;
use crate::tls;
use crate::transcript::Transcript;

/// What to check, and how long to take at most.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Ports in order of preference, each with the role that says what it should speak.
    pub ports: Vec<(u16, Role)>,
    /// The whole check ends by then; a port still busy is reported as timed out.
    pub deadline: Duration,
    /// How long a port may stay silent before it is offered a TLS hello.
    pub greeting_wait: Duration,
    /// Try the config's credentials (only over TLS with a trusted certificate).
    pub try_auth: bool,
    /// Ask whether MAIL FROM and RCPT TO would be accepted (then RSET: nothing is sent).
    pub envelope: Option<(String, String)>,
    /// Let port 25 be recommended: it is meant for server-to-server relay.
    pub allow_relay: bool,
}

impl Default for ProbeOptions {
    fn default() -> ProbeOptions {
        ProbeOptions {
            ports: [587, 465, 2525, 25]
                .into_iter()
                .map(|p| (p, Role::for_port(p)))
                .collect(),
            deadline: Duration::from_secs(30),
            greeting_wait: Duration::from_secs(5),
            try_auth: true,
            envelope: None,
            allow_relay: false,
        }
    }
}

impl ProbeOptions {
    /// The given ports, each with the role its number conventionally has.
    pub fn with_ports(ports: &[u16]) -> ProbeOptions {
        ProbeOptions {
            ports: ports.iter().map(|&p| (p, Role::for_port(p))).collect(),
            ..ProbeOptions::default()
        }
    }
}

/// Check `config.host` on every port of `options`. Fails only on misuse (an invalid config or
/// options); a port that does not work is data in the report.
pub fn probe(config: &Config, options: &ProbeOptions) -> Result<Report> {
    crate::address::check_host(&config.host, "host")?;
    // A config that allows relay for sending allows recommending it too.
    let allowed;
    let options = if config.allow_relay && !options.allow_relay {
        allowed = ProbeOptions {
            allow_relay: true,
            ..options.clone()
        };
        &allowed
    } else {
        options
    };
    if options.ports.is_empty() {
        return Err(Error::invalid_input(
            "ports: give at least one port to check",
        ));
    }
    if let Some(zero) = options.ports.iter().find(|(p, _)| *p == 0) {
        return Err(Error::invalid_input(format!(
            "ports: {} is not a valid port",
            zero.0
        )));
    }
    if let Some((from, to)) = &options.envelope {
        crate::address::check_envelope_address(from, "sender to try", true)?;
        crate::address::check_envelope_address(to, "recipient to try", false)?;
    }
    let recording = RecordingTls::new(&config.tls)?;
    let started = Instant::now();
    let started_at = SystemTime::now();
    let deadline = started + options.deadline;
    let helo_name = config
        .helo_name
        .clone()
        .unwrap_or_else(crate::address::default_helo_name);
    // Resolved once: every hint below would otherwise look the host name up again.
    let resolved = Config {
        helo_name: Some(helo_name.clone()),
        ..config.clone()
    };
    let config = &resolved;

    // Before the ports: their AUTH then uses the token this refresh put in the cache.
    let oauth_finding = options
        .try_auth
        .then(|| oauth_refresh_finding(config, deadline))
        .flatten();
    let (dns, addresses) = resolve(&config.host, deadline);
    let mut ports = Vec::new();
    if !addresses.is_empty() {
        let (tx, rx) = mpsc::channel();
        for (index, &(port, role)) in options.ports.iter().enumerate() {
            let job = PortJob {
                config: config.clone(),
                helo_name: helo_name.clone(),
                recording: recording.clone(),
                addresses: addresses.clone(),
                port,
                role,
                greeting_wait: options.greeting_wait,
                try_auth: options.try_auth,
                envelope: options.envelope.clone(),
                deadline,
            };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = tx.send((index, job.run()));
            });
        }
        drop(tx);
        let mut done: Vec<Option<Vec<Attempt>>> = vec![None; options.ports.len()];
        // Each attempt bounds its own waits by the deadline; the margin covers closing.
        let patience = deadline + Duration::from_secs(3);
        while done.iter().any(Option::is_none) {
            let left = patience.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((index, attempts)) => done[index] = Some(attempts),
                Err(_) => break,
            }
        }
        for (&(port, role), attempts) in options.ports.iter().zip(done) {
            let attempts = attempts.unwrap_or_else(|| vec![overdue(port)]);
            ports.push(port_report(port, role, attempts, config, options));
        }
    }

    let mut findings = Vec::new();
    if let Some(error) = &dns.error {
        findings.push(Finding {
            code: "dns_failed",
            severity: Severity::Error,
            port: None,
            message: error.clone(),
            hint: hint_for(
                &Error::new(Kind::Dns, error.clone()),
                config,
                options.ports[0].0,
                Security::StartTls,
            ),
        });
    }
    findings.extend(oauth_finding);
    for port in &ports {
        findings.extend(port_findings(port, config, options));
    }
    let recommendation = recommend(&ports, options);
    let mut report = Report {
        schema: SCHEMA,
        host: config.host.clone(),
        started: rfc3339(crate::time::unix_seconds(started_at)),
        elapsed_ms: started.elapsed().as_millis() as u64,
        dns,
        ports,
        findings,
        recommendation,
        summary: String::new(),
    };
    report.summary = summary(&report);
    Ok(report)
}

/// With a refresh grant, refresh once (nothing is sent) and say how it went: a refresh token
/// that stopped working is found by the check of a quiet site before its mail is due.
fn oauth_refresh_finding(config: &Config, deadline: Instant) -> Option<Finding> {
    let Some(crate::config::Credentials::OAuth2 {
        username,
        token: crate::oauth::TokenSource::Refresh(grant),
    }) = &config.credentials
    else {
        return None;
    };
    let url = grant.token_url().unwrap_or_default();
    let mut transcript = Transcript::new(None);
    let result = crate::oauth::check_refresh(username, grant, config, &mut transcript, deadline);
    Some(match result {
        Ok(lifetime) => Finding {
            code: "oauth_refresh_ok",
            severity: Severity::Info,
            port: None,
            message: format!(
                "the refresh token of {username:?} works: {url} issued an access token{}",
                lifetime
                    .map(|d| format!(" usable for {} s", d.as_secs()))
                    .unwrap_or_default()
            ),
            hint: String::new(),
        },
        Err(error) => Finding {
            code: "oauth_refresh_failed",
            severity: Severity::Error,
            port: None,
            message: format!(
                "refreshing the OAuth2 access token failed ({}): {}",
                serde_json::to_value(error.kind())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                error.message()
            ),
            hint: hint_for(&error, config, config.port, config.effective_security()),
        },
    })
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// Resolve in a thread, because the system resolver has no timeout of its own.
fn resolve(host: &str, deadline: Instant) -> (Dns, Vec<SocketAddr>) {
    let started = Instant::now();
    let lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send((lookup.as_str(), 0).to_socket_addrs().map(Vec::from_iter));
    });
    let result = rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the resolver did not answer in time",
            ))
        });
    let elapsed_ms = ms(started);
    match result {
        Ok(addresses) if !addresses.is_empty() => (
            Dns {
                addresses: addresses.iter().map(|a| a.ip().to_string()).collect(),
                elapsed_ms,
                error: None,
            },
            addresses,
        ),
        Ok(_) => (
            Dns {
                addresses: Vec::new(),
                elapsed_ms,
                error: Some(format!("{host} has no IPv4 or IPv6 address")),
            },
            Vec::new(),
        ),
        Err(e) => (
            Dns {
                addresses: Vec::new(),
                elapsed_ms,
                error: Some(format!("could not resolve {host}: {e}")),
            },
            Vec::new(),
        ),
    }
}

fn overdue(port: u16) -> Attempt {
    let mut attempt = Attempt::new("ipv4", format!("port {port}"));
    attempt.tcp = Tcp {
        status: TcpStatus::Timeout,
        elapsed_ms: 0,
        detail: Some("the check's deadline passed before this port answered".into()),
    };
    attempt
}

impl Attempt {
    pub(super) fn new(family: &'static str, address: String) -> Attempt {
        Attempt {
            family,
            address,
            tcp: Tcp {
                status: TcpStatus::Skipped,
                elapsed_ms: 0,
                detail: None,
            },
            speaks: None,
            banner: None,
            greeting: None,
            capabilities_before_tls: None,
            starttls: None,
            tls: None,
            capabilities_after_tls: None,
            auth: None,
            mail_from: None,
            rcpt_to: None,
            failure: None,
            elapsed_ms: 0,
        }
    }
}

struct PortJob {
    config: Config,
    helo_name: String,
    recording: RecordingTls,
    addresses: Vec<SocketAddr>,
    port: u16,
    role: Role,
    greeting_wait: Duration,
    try_auth: bool,
    envelope: Option<(String, String)>,
    deadline: Instant,
}

impl PortJob {
    /// One attempt per address family: the first address of each, as a client would use.
    fn run(self) -> Vec<Attempt> {
        let v4 = self.addresses.iter().find(|a| a.is_ipv4()).copied();
        let v6 = self.addresses.iter().find(|a| a.is_ipv6()).copied();
        let mut handles = Vec::new();
        let job = std::sync::Arc::new(self);
        for address in [v4, v6].into_iter().flatten() {
            let address = SocketAddr::new(address.ip(), job.port);
            let job = job.clone();
            handles.push(std::thread::spawn(move || job.attempt(address)));
        }
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    }

    fn config_for(&self, security: Security) -> Config {
        let mut config = self.config.clone();
        config.port = self.port;
        config.security = security;
        config.credentials = None;
        config.sink = None;
        config
    }

    fn attempt(&self, address: SocketAddr) -> Attempt {
        let started = Instant::now();
        let family = if address.is_ipv4() { "ipv4" } else { "ipv6" };
        let mut attempt = Attempt::new(family, address.ip().to_string());
        let mut transcript = Transcript::new(None);
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            attempt.tcp.detail = Some("the check's deadline had passed".into());
            return attempt;
        }
        let Some(mut sock) = self.connect(address, left, started, &mut attempt) else {
            attempt.elapsed_ms = ms(started);
            return attempt;
        };
        // A port meant for implicit TLS gets the TLS hello at once rather than after the
        // greeting wait; if it greets in plaintext instead, look again on a new connection.
        if self.role == Role::ImplicitTls {
            if !self.try_implicit_tls(sock, &mut attempt, &mut transcript) {
                attempt.elapsed_ms = ms(started);
                return attempt;
            }
            attempt = Attempt::new(family, address.ip().to_string());
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.connect(address, left, Instant::now(), &mut attempt) {
                Some(again) => sock = again,
                None => {
                    attempt.elapsed_ms = ms(started);
                    return attempt;
                }
            }
        }

        match self.first_words(&sock) {
            FirstWords::Bytes(first) if tls::looks_like_plaintext_smtp(&first) => {
                attempt.speaks = Some(Speaks::PlaintextSmtp);
                // Upgrade when offered, and carry on without it to see what the port offers.
                let config = self.config_for(Security::Opportunistic);
                let session = Session::attach(Stream::Plain(sock), first, &config);
                self.converse(session, config, None, &mut attempt, &mut transcript);
            }
            FirstWords::Bytes(first) => {
                attempt.speaks = Some(Speaks::NotSmtp);
                attempt.banner = Some(printable(&first));
                let error = Error::new(
                    Kind::Protocol,
                    format!(
                        "{} port {} does not speak SMTP (it said {:?})",
                        self.config.host,
                        self.port,
                        printable(&first)
                    ),
                );
                attempt.failure = Some(self.failure(&error, self.role.expected_security()));
            }
            FirstWords::Closed => {
                attempt.speaks = Some(Speaks::Closed);
                let error = Error::new(
                    Kind::ConnectionClosed,
                    format!(
                        "{} port {} accepted the connection and closed it without a greeting",
                        self.config.host, self.port
                    ),
                );
                attempt.failure = Some(self.failure(&error, self.role.expected_security()));
            }
            FirstWords::Silence => {
                self.try_implicit_tls(sock, &mut attempt, &mut transcript);
            }
            FirstWords::Failed(e) => {
                let error = Error::new(Kind::Io, "reading the greeting failed").with_source(e);
                attempt.failure = Some(self.failure(&error, self.role.expected_security()));
            }
        }
        attempt.elapsed_ms = ms(started);
        attempt
    }

    /// Connect within the connect timeout, recording the TCP result in `attempt`.
    fn connect(
        &self,
        address: SocketAddr,
        left: Duration,
        started: Instant,
        attempt: &mut Attempt,
    ) -> Option<TcpStream> {
        match TcpStream::connect_timeout(&address, self.config.timeouts.connect.min(left)) {
            Ok(sock) => {
                let _ = sock.set_nodelay(true);
                // Best effort, like TCP_NODELAY: only macOS needs it (crate::sigpipe).
                let _ = crate::sigpipe::prepare(&sock);
                attempt.tcp = Tcp {
                    status: TcpStatus::Open,
                    elapsed_ms: ms(started),
                    detail: None,
                };
                Some(sock)
            }
            Err(e) => {
                let status = match e.kind() {
                    io::ErrorKind::ConnectionRefused => TcpStatus::Refused,
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TcpStatus::Timeout,
                    io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
                        TcpStatus::Unreachable
                    }
                    _ => TcpStatus::Error,
                };
                attempt.tcp = Tcp {
                    status,
                    elapsed_ms: ms(started),
                    detail: Some(e.to_string()),
                };
                let (kind, what) = match status {
                    TcpStatus::Refused => (Kind::ConnectRefused, "refused the connection"),
                    TcpStatus::Timeout => (
                        Kind::ConnectTimeout,
                        "did not answer (connection timed out)",
                    ),
                    TcpStatus::Unreachable => (Kind::ConnectUnreachable, "could not be reached"),
                    _ => (Kind::Io, "could not be reached"),
                };
                let error = Error::new(
                    kind,
                    format!("{} port {} {what}", self.config.host, self.port),
                )
                .with_source(e);
                attempt.failure = Some(self.failure(&error, self.role.expected_security()));
                None
            }
        }
    }

    /// Read whatever the server says first, within the greeting wait.
    fn first_words(&self, mut sock: &TcpStream) -> FirstWords {
        let wait = self
            .greeting_wait
            .min(self.deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(1));
        if let Err(e) = sock.set_read_timeout(Some(wait)) {
            return FirstWords::Failed(e);
        }
        let mut buf = [0u8; 512];
        let result = loop {
            match sock.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let _ = sock.set_read_timeout(None);
        match result {
            Ok(0) => FirstWords::Closed,
            Ok(n) => FirstWords::Bytes(buf[..n].to_vec()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                FirstWords::Silence
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => FirstWords::Closed,
            Err(e) => FirstWords::Failed(e),
        }
    }

    /// Offer TLS (to a silent port, or at once to a port meant for implicit TLS). Returns true
    /// when the port answered with a plaintext greeting instead, so nothing was recorded.
    fn try_implicit_tls(
        &self,
        sock: TcpStream,
        attempt: &mut Attempt,
        transcript: &mut Transcript,
    ) -> bool {
        let config = self.config_for(Security::Tls);
        let name = match tls::server_name(&config.host, &config.tls) {
            Ok(name) => name,
            Err(e) => {
                attempt.failure = Some(self.failure(&e, Security::Tls));
                return false;
            }
        };
        let (tls_config, recording) = self.recording.connection();
        let deadline = (Instant::now() + config.timeouts.command).min(self.deadline);
        match Stream::handshake(sock, tls_config, name, &config.host, self.port, deadline) {
            Ok(stream) => {
                attempt.speaks = Some(Speaks::ImplicitTls);
                let observed = recording.take();
                let certificate_error = observed
                    .as_ref()
                    .and_then(|o| o.send_error(&self.config.host, self.port));
                attempt.tls = Some(tls_details("implicit", &stream, observed));
                let session = Session::attach(stream, Vec::new(), &config);
                self.converse(session, config, certificate_error, attempt, transcript);
            }
            Err(error) if error.kind() == Kind::PlaintextOnTlsPort => return true,
            Err(error) => {
                let answered = recording.take().is_some()
                    || !matches!(error.kind(), Kind::Timeout | Kind::ConnectionClosed);
                if answered {
                    attempt.speaks = Some(Speaks::ImplicitTls);
                    attempt.failure = Some(self.failure(&error, Security::Tls));
                } else {
                    attempt.speaks = Some(Speaks::Silent);
                    let error = Error::new(
                        Kind::Greeting,
                        format!(
                            "{} port {} accepted the connection but sent no greeting, and did not answer a TLS hello either",
                            self.config.host, self.port
                        ),
                    );
                    attempt.failure = Some(self.failure(&error, self.role.expected_security()));
                }
            }
        }
        false
    }

    /// The session part: greeting, EHLO, STARTTLS, EHLO, then AUTH and the envelope if asked.
    fn converse(
        &self,
        mut session: Session,
        config: Config,
        mut certificate_error: Option<Error>,
        attempt: &mut Attempt,
        transcript: &mut Transcript,
    ) {
        let (tls_config, recording) = self.recording.connection();
        let result = session.establish(
            &config,
            &tls_config,
            &self.helo_name,
            transcript,
            self.deadline,
            false,
        );
        let observed = session.observations().clone();
        if let Some(greeting) = &observed.greeting {
            let announced = greeting
                .lines()
                .first()
                .and_then(|l| l.split_whitespace().next())
                .map(str::to_string);
            attempt.greeting = Some(Greeting {
                reply: greeting.into(),
                matches_host: announced
                    .as_deref()
                    .is_none_or(|name| same_domain(name, &self.config.host)),
                announced_host: announced,
            });
        }
        attempt.capabilities_before_tls = observed.extensions_plain.as_ref().map(Into::into);
        attempt.capabilities_after_tls = observed.extensions_tls.as_ref().map(Into::into);
        if attempt.speaks == Some(Speaks::PlaintextSmtp) {
            let offered = observed
                .extensions_plain
                .as_ref()
                .is_some_and(|e| e.starttls);
            attempt.starttls = Some(if !offered {
                StepResult {
                    outcome: Outcome::NotOffered,
                    reply: None,
                    detail: None,
                    kind: None,
                }
            } else if observed.extensions_tls.is_some() || session.tls_info().is_some() {
                StepResult {
                    outcome: Outcome::Ok,
                    reply: None,
                    detail: None,
                    kind: None,
                }
            } else {
                StepResult {
                    outcome: Outcome::Failed,
                    reply: result
                        .as_ref()
                        .err()
                        .and_then(|e| e.reply())
                        .map(Into::into),
                    detail: result.as_ref().err().map(Error::message),
                    kind: result.as_ref().err().map(Error::kind),
                }
            });
            if let Some(observed_tls) = recording.take() {
                certificate_error = observed_tls.send_error(&self.config.host, self.port);
                attempt.tls = Some(tls_details_from(
                    "starttls",
                    session.tls_info(),
                    Some(observed_tls),
                ));
            }
        }
        let security = if attempt.speaks == Some(Speaks::ImplicitTls) {
            Security::Tls
        } else {
            Security::StartTls
        };
        // A send would have stopped at the certificate, before anything that followed.
        if let Some(error) = &certificate_error {
            attempt.failure = Some(self.failure(error, security));
        }
        if let Err(error) = &result {
            attempt.failure.get_or_insert(self.failure(error, security));
            session.quit(transcript);
            return;
        }
        let encrypted_and_trusted = attempt
            .tls
            .as_ref()
            .is_some_and(|t| t.verification == "trusted");
        if let (true, Some(credentials)) = (self.try_auth, &self.config.credentials) {
            attempt.auth = Some(if !encrypted_and_trusted {
                StepResult {
                    outcome: Outcome::Skipped,
                    reply: None,
                    detail: Some(if attempt.tls.is_some() {
                        "the certificate is not trusted, so the credentials were not sent".into()
                    } else {
                        "the connection is not encrypted, so the credentials were not sent".into()
                    }),
                    kind: None,
                }
            } else {
                match session.authenticate(
                    &self.config,
                    credentials,
                    false,
                    false,
                    transcript,
                    self.deadline,
                ) {
                    Ok(()) => StepResult {
                        outcome: Outcome::Ok,
                        reply: None,
                        detail: None,
                        kind: None,
                    },
                    Err(error) => {
                        let outcome = if error.kind() == Kind::AuthUnavailable {
                            Outcome::NotOffered
                        } else {
                            Outcome::Failed
                        };
                        let step = StepResult {
                            outcome,
                            reply: error.reply().map(Into::into),
                            detail: Some(error.message()),
                            kind: Some(error.kind()),
                        };
                        attempt
                            .failure
                            .get_or_insert(self.failure(&error, security));
                        step
                    }
                }
            });
        }
        let authenticated = attempt
            .auth
            .as_ref()
            .is_none_or(|a| a.outcome == Outcome::Ok);
        if let (Some((from, to)), true) = (&self.envelope, authenticated && session.is_usable()) {
            match session.try_envelope(from, to, transcript, self.deadline) {
                Ok((mail, rcpt)) => {
                    attempt.mail_from = Some(step_from_reply(&mail));
                    attempt.rcpt_to = rcpt.as_ref().map(step_from_reply);
                }
                Err(error) => {
                    attempt
                        .failure
                        .get_or_insert(self.failure(&error, security));
                }
            }
        }
        session.quit(transcript);
    }

    /// The error as a send would report it: its words and the same hint.
    fn failure(&self, error: &Error, security: Security) -> Failure {
        Failure {
            kind: error.kind(),
            message: error.message(),
            hint: hint_for(error, &self.config, self.port, security),
            reply: error.reply().map(Into::into),
        }
    }
}

enum FirstWords {
    Bytes(Vec<u8>),
    Closed,
    Silence,
    Failed(io::Error),
}

fn step_from_reply(reply: &crate::smtp::reply::Reply) -> StepResult {
    StepResult {
        outcome: if reply.is_positive() {
            Outcome::Ok
        } else {
            Outcome::Failed
        },
        reply: Some(reply.into()),
        detail: None,
        kind: None,
    }
}

/// `config.helo_name` is set by [`probe`], so no host name lookup happens here.
pub(super) fn hint_for(error: &Error, config: &Config, port: u16, security: Security) -> String {
    hint::hint(
        error,
        &hint::Context {
            host: &config.host,
            port,
            security,
            helo_name: config.helo_name.as_deref().unwrap_or_default(),
            credentials: config.credentials.as_ref().map(Credentials::kind),
            api: config.api,
        },
    )
}

fn certificate(info: &CertificateInfo) -> Certificate {
    Certificate {
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        names: info.names.clone(),
        not_before: rfc3339(info.not_before),
        not_after: rfc3339(info.not_after),
        self_signed: info.self_signed,
        sha256: info.sha256.clone(),
    }
}

fn tls_details(
    mode: &'static str,
    stream: &Stream,
    observed: Option<crate::diagnose::certificate::Observed>,
) -> Tls {
    tls_details_from(mode, stream.tls_info(), observed)
}

fn tls_details_from(
    mode: &'static str,
    info: Option<tls::TlsInfo>,
    observed: Option<crate::diagnose::certificate::Observed>,
) -> Tls {
    let (version, cipher) = info.map(|i| (i.version, i.cipher)).unwrap_or_default();
    let (verification, certificates) = match observed {
        Some(o) => (
            o.verdict.as_str(),
            o.chain.iter().map(certificate).collect(),
        ),
        None => ("other", Vec::new()),
    };
    Tls {
        mode,
        version,
        cipher,
        verification,
        certificates,
    }
}

/// Whether a name a server announces belongs to the domain we asked for. Interceptors answer
/// with their own name; a provider's own servers share its registered domain.
fn same_domain(announced: &str, host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return true;
    }
    let base = |name: &str| -> String {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        labels[labels.len().saturating_sub(2)..].join(".")
    };
    base(announced) == base(host)
}

fn printable(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names() {
        let kind_name = |kind: Kind| serde_json::to_value(kind).unwrap();
        assert_eq!(kind_name(Kind::ConnectTimeout), "connect_timeout");
        assert_eq!(kind_name(Kind::Dns), "dns");
        assert_eq!(kind_name(Kind::TlsOnPlaintextPort), "tls_on_plaintext_port");
    }

    #[test]
    fn domains() {
        assert!(same_domain("mx1.mail.example.com", "smtp.example.com"));
        assert!(!same_domain("smtp.intercept.example", "smtp.example.com"));
        assert!(same_domain("anything", "127.0.0.1"));
        assert!(same_domain("localhost", "localhost"));
    }

    #[test]
    fn printable_banners() {
        assert_eq!(printable(b"SSH-2.0-OpenSSH_9.6\r\n"), "SSH-2.0-OpenSSH_9.6");
        assert_eq!(printable(b"\x00\x01HTTP"), "HTTP");
    }
}
