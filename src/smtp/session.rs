//! One SMTP session: connect, greet, secure, authenticate, then any number of mail transactions.
//!
//! Implements RFC 5321 (SMTP), RFC 3207 (STARTTLS), RFC 8314 (implicit TLS), RFC 4954 (AUTH),
//! RFC 2920 (PIPELINING), RFC 1870 (SIZE), RFC 6152 (8BITMIME) and RFC 6531 (SMTPUTF8).
//!
//! Security decisions live here and are never traded for convenience:
//! - with STARTTLS required, a server that does not offer it, refuses it, or fails the handshake
//!   ends the session: nothing continues in plaintext;
//! - bytes the server sends after its STARTTLS reply and before the handshake are refused, never
//!   read as replies (response injection, "NO STARTTLS", USENIX Security 2021);
//! - capabilities learnt before TLS are forgotten once it is up (RFC 3207 §4.2);
//! - credentials are never sent unencrypted unless the caller asked for exactly that.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, Credentials, Security, Timeouts};
use crate::error::{Error, Kind, RejectedRecipient, Result, Step};
use crate::smtp::auth::{self, Mechanism};
use crate::smtp::command::Command;
use crate::smtp::data::DataEncoder;
use crate::smtp::extensions::Extensions;
use crate::smtp::reply::{Reply, parse_reply};
use crate::smtp::stream::{self, Stream};
use crate::tls::{self, TlsInfo};
use crate::transcript::{Direction, Transcript};

/// RFC 4954 §4: an AUTH command line with its initial response may be up to 12288 octets.
const MAX_AUTH_LINE: usize = 12288;
/// Message data is written in chunks of about this size (one write each; the last chunk carries
/// the terminator).
const DATA_CHUNK: usize = 256 * 1024;
/// Message data per BDAT command: big enough that the per-chunk reply costs little, small
/// enough to bound memory.
const BDAT_CHUNK: usize = 1024 * 1024;
/// With PIPELINING, how many BDAT replies may be outstanding while later chunks are sent.
const BDAT_WINDOW: usize = 4;
/// QUIT is a courtesy: never wait long for its answer.
const QUIT_WAIT: Duration = Duration::from_secs(2);
/// After a silent greeting, how long to wait for a TLS answer to our probing ClientHello.
const TLS_PROBE_WAIT: Duration = Duration::from_secs(3);

/// A failed transaction, and whether sending it again on a fresh connection is safe: true only
/// when the server cannot have taken the message (nothing was acknowledged, and the end of the
/// message never went out whole), so a retry can never deliver a duplicate.
pub(crate) struct TxFailure {
    pub error: Error,
    pub retry_safe: bool,
}

impl From<Error> for TxFailure {
    fn from(error: Error) -> TxFailure {
        TxFailure {
            error,
            retry_safe: false,
        }
    }
}

/// What the server answered to a whole transaction.
pub(crate) struct Delivered {
    pub reply: Reply,
    pub accepted: Vec<String>,
    pub rejected: Vec<RejectedRecipient>,
    pub size: u64,
}

/// The message of one transaction.
pub(crate) struct Outgoing<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub body: &'a mut dyn Read,
    /// Size in bytes, when known in advance.
    pub size: Option<u64>,
    /// Whether the body holds 8-bit bytes, when known in advance.
    pub eight_bit: Option<bool>,
    /// Whether the headers carry UTF-8 addresses (RFC 6532), which needs SMTPUTF8 even when the
    /// envelope is ASCII.
    pub utf8_headers: bool,
}

/// Replies worth reporting, recorded as a session is established.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observations {
    pub greeting: Option<Reply>,
    /// Capabilities announced before TLS (plaintext connections only).
    pub extensions_plain: Option<Extensions>,
    /// Capabilities announced over TLS (after STARTTLS, or on an implicit-TLS port).
    pub extensions_tls: Option<Extensions>,
}

/// What the client holding a session decides for itself, as opposed to what shaped the
/// connection (the pool's key). A pooled session serves clients whose settings differ, so it
/// takes those of each client that takes it ([`Session::serve`]), never keeping an earlier one's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    timeouts: Timeouts,
    transcript_bodies: bool,
    allow_partial_recipients: bool,
}

impl Settings {
    pub(crate) fn of(config: &Config) -> Settings {
        Settings {
            timeouts: config.timeouts,
            transcript_bodies: config.transcript_bodies,
            allow_partial_recipients: config.allow_partial_recipients,
        }
    }
}

pub(crate) struct Session {
    stream: Option<Stream>,
    received: Vec<u8>,
    extensions: Extensions,
    observed: Observations,
    host: String,
    port: u16,
    security: Security,
    settings: Settings,
    /// When the connection was made: the pool bounds a session's age, not only its idle time.
    opened: Instant,
}

fn io_failure(err: io::Error, step: Step, what: &str, waited: Duration) -> Error {
    match err.kind() {
        io::ErrorKind::TimedOut => Error::new(
            Kind::Timeout,
            format!(
                "no answer from the server {what} after {:.1} s",
                waited.as_secs_f64()
            ),
        ),
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Error::new(
            Kind::ConnectionClosed,
            format!("the server closed the connection {what}"),
        )
        .with_source(err),
        _ => Error::new(Kind::Io, format!("network error {what}")).with_source(err),
    }
    .at_step(step)
}

impl Session {
    /// Connect and bring the session to the point where mail can be sent: greeting, EHLO,
    /// STARTTLS when due, EHLO again, AUTH when credentials are set.
    pub(crate) fn open(
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        helo_name: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<Session> {
        let security = config.effective_security();
        let sock = stream::connect(
            &config.host,
            config.port,
            config.timeouts.connect,
            budget,
            transcript,
        )
        .map_err(|e| e.at_step(Step::Connect))?;
        let stream = if security == Security::Tls {
            let name = tls::server_name(&config.host, &config.tls)?;
            let deadline = (Instant::now() + config.timeouts.command).min(budget);
            let stream = Stream::handshake(
                sock,
                tls_config.clone(),
                name,
                &config.host,
                config.port,
                deadline,
            )
            .map_err(|e| e.at_step(Step::TlsHandshake))?;
            log_tls(transcript, &stream);
            stream
        } else {
            Stream::Plain(sock)
        };
        let mut session = Session::attach(stream, Vec::new(), config);
        let result = session.establish(config, tls_config, helo_name, transcript, budget);
        if let Err(e) = result {
            session.quit(transcript);
            return Err(e);
        }
        Ok(session)
    }

    /// A session over a connection made elsewhere (the connection check makes its own, to see
    /// what a port speaks first). `received` holds bytes already read from it.
    pub(crate) fn attach(stream: Stream, received: Vec<u8>, config: &Config) -> Session {
        Session {
            stream: Some(stream),
            received,
            extensions: Extensions::default(),
            observed: Observations::default(),
            host: config.host.clone(),
            port: config.port,
            security: config.effective_security(),
            settings: Settings::of(config),
            opened: Instant::now(),
        }
    }

    pub(crate) fn opened(&self) -> Instant {
        self.opened
    }

    /// From now on, send with `settings`: those of the client that has just taken the session.
    pub(crate) fn serve(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// What the server said on the way to a usable session, kept even when a later step failed.
    pub(crate) fn observations(&self) -> &Observations {
        &self.observed
    }

    /// Greeting, EHLO, STARTTLS when due, EHLO again, AUTH when credentials are set.
    pub(crate) fn establish(
        &mut self,
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        helo_name: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        let deadline = self.deadline(budget);
        let greeting =
            match self.receive_reply(transcript, deadline, Step::Greeting, "for its greeting") {
                Ok(reply) => reply,
                Err(e) if e.kind() == Kind::Timeout && self.security != Security::Tls => {
                    return Err(self.explain_silent_server(e, config, tls_config, budget));
                }
                Err(e) => {
                    self.break_connection();
                    return Err(e);
                }
            };
        self.observed.greeting = Some(greeting.clone());
        if greeting.code() != 220 {
            let why = if greeting.code() == 554 {
                "the server refuses service to this client"
            } else {
                "unexpected greeting"
            };
            return Err(Error::from_reply(Kind::Greeting, why, greeting).at_step(Step::Greeting));
        }
        self.hello(helo_name, transcript, budget)?;

        match self.security {
            Security::StartTls | Security::Opportunistic if self.extensions.starttls => {
                self.start_tls(config, tls_config, helo_name, transcript, budget)?;
            }
            Security::StartTls => {
                return Err(Error::new(
                    Kind::StartTlsUnavailable,
                    format!(
                        "{} port {} does not offer STARTTLS, and encryption is required",
                        self.host, self.port
                    ),
                )
                .at_step(Step::StartTls));
            }
            Security::Opportunistic => transcript.record(
                Direction::Info,
                "STARTTLS not offered; continuing without encryption (opportunistic mode)",
            ),
            _ => {}
        }

        if let Some(credentials) = &config.credentials {
            self.authenticate(
                credentials,
                config.dangerous_allow_plaintext_auth,
                transcript,
                budget,
            )?;
        }
        Ok(())
    }

    /// A command's deadline: the per-command timeout, within the overall budget.
    fn deadline(&self, budget: Instant) -> Instant {
        (Instant::now() + self.settings.timeouts.command).min(budget)
    }

    fn stream(&mut self) -> Result<&mut Stream> {
        self.stream
            .as_mut()
            .ok_or_else(|| Error::new(Kind::ConnectionClosed, "the connection is no longer usable"))
    }

    /// Whether the session can carry another transaction.
    pub(crate) fn is_usable(&self) -> bool {
        self.stream.is_some()
    }

    pub(crate) fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn security(&self) -> Security {
        self.security
    }

    pub(crate) fn tls_info(&self) -> Option<TlsInfo> {
        self.stream.as_ref().and_then(Stream::tls_info)
    }

    /// True when the server closed the connection or spoke unasked while it was idle.
    pub(crate) fn went_away_while_idle(&self) -> bool {
        !self.received.is_empty() || self.stream.as_ref().is_none_or(Stream::peer_has_spoken)
    }

    /// Drop the connection at once. Used when the session's state is unknown, and to abort a
    /// DATA phase without ending it: a server never delivers unterminated data (RFC 5321 §4.1.1.4).
    fn break_connection(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            stream.shutdown(Instant::now() + QUIT_WAIT);
        }
        self.received.clear();
    }

    /// Write a group of commands in one write.
    fn send(
        &mut self,
        commands: &[Command<'_>],
        transcript: &mut Transcript,
        budget: Instant,
        step: Step,
    ) -> Result<()> {
        let mut wire = String::new();
        for command in commands {
            transcript.record(Direction::Sent, &command.redacted());
            wire.push_str(&command.to_line());
        }
        let deadline = self.deadline(budget);
        let started = Instant::now();
        let result = self.stream()?.write_all(wire.as_bytes(), deadline);
        result.map_err(|e| {
            self.break_connection();
            io_failure(e, step, "while sending", started.elapsed())
        })
    }

    /// Read one reply, waiting until `budget` at most (and the command timeout).
    fn read_reply(
        &mut self,
        transcript: &mut Transcript,
        budget: Instant,
        step: Step,
        what: &str,
    ) -> Result<Reply> {
        self.read_reply_until(transcript, self.deadline(budget), step, what)
    }

    fn read_reply_until(
        &mut self,
        transcript: &mut Transcript,
        deadline: Instant,
        step: Step,
        what: &str,
    ) -> Result<Reply> {
        let result = self.receive_reply(transcript, deadline, step, what);
        if result.is_err() {
            // After a failed read the session's state is unknown: never reuse it.
            self.break_connection();
        }
        result
    }

    /// Read one reply; on failure the connection is left as it is, for the caller to decide.
    fn receive_reply(
        &mut self,
        transcript: &mut Transcript,
        deadline: Instant,
        step: Step,
        what: &str,
    ) -> Result<Reply> {
        let started = Instant::now();
        loop {
            match parse_reply(&self.received) {
                Ok(Some((reply, used))) => {
                    self.received.drain(..used);
                    log_reply(transcript, &reply);
                    if reply.code() == 421 {
                        // The server is closing the channel (RFC 5321 §3.8): never reuse it.
                        self.break_connection();
                    }
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => {
                    let err = if tls::looks_like_tls(&self.received) {
                        Error::new(
                            Kind::TlsOnPlaintextPort,
                            format!(
                                "{} port {} answered with TLS where plaintext SMTP was expected",
                                self.host, self.port
                            ),
                        )
                    } else {
                        e
                    };
                    return Err(err.at_step(step));
                }
            }
            // Here, not before the loop: pipelined replies usually arrive in one read, and the
            // replies after the first are then parsed without zeroing a buffer for each.
            let mut buf = [0u8; 8192];
            match self.stream()?.read(&mut buf, deadline) {
                Ok(0) => {
                    return Err(Error::new(
                        Kind::ConnectionClosed,
                        format!("the server closed the connection while we waited {what}"),
                    )
                    .at_step(step));
                }
                Ok(n) => self.received.extend_from_slice(&buf[..n]),
                Err(e) => {
                    return Err(io_failure(
                        e,
                        step,
                        &format!("while we waited {what}"),
                        started.elapsed(),
                    ));
                }
            }
        }
    }

    fn command(
        &mut self,
        command: Command<'_>,
        transcript: &mut Transcript,
        budget: Instant,
        step: Step,
        what: &str,
    ) -> Result<Reply> {
        self.send(std::slice::from_ref(&command), transcript, budget, step)?;
        self.read_reply(transcript, budget, step, what)
    }

    /// A server that accepts the connection but never greets is most often an implicit-TLS
    /// port reached in plaintext. Offer it a TLS hello: if TLS answers, say so precisely.
    fn explain_silent_server(
        &mut self,
        timeout: Error,
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        budget: Instant,
    ) -> Error {
        let speaks_tls = (|| -> Option<bool> {
            let name = tls::server_name(&config.host, &config.tls).ok()?;
            let mut conn = rustls::ClientConnection::new(tls_config.clone(), name).ok()?;
            let mut hello = Vec::new();
            conn.write_tls(&mut hello).ok()?;
            let now = Instant::now();
            let deadline = (now + TLS_PROBE_WAIT).min(budget.max(now + Duration::from_millis(500)));
            let stream = self.stream.as_mut()?;
            stream.write_all(&hello, deadline).ok()?;
            let mut answer = [0u8; 5];
            let n = stream.read(&mut answer, deadline).ok()?;
            Some(tls::looks_like_tls(&answer[..n]))
        })()
        .unwrap_or(false);
        self.break_connection();
        if speaks_tls {
            Error::new(
                Kind::TlsOnPlaintextPort,
                format!(
                    "{} port {} sent no SMTP greeting but answered a TLS hello: it expects implicit TLS",
                    self.host, self.port
                ),
            )
            .at_step(Step::Greeting)
        } else {
            timeout
        }
    }

    fn observe_extensions(&mut self) {
        let encrypted = self.stream.as_ref().is_some_and(Stream::is_tls);
        let slot = if encrypted {
            &mut self.observed.extensions_tls
        } else {
            &mut self.observed.extensions_plain
        };
        *slot = Some(self.extensions.clone());
    }

    /// EHLO, or HELO when the server does not know EHLO.
    fn hello(&mut self, name: &str, transcript: &mut Transcript, budget: Instant) -> Result<()> {
        let reply = self.command(
            Command::Ehlo(name),
            transcript,
            budget,
            Step::Ehlo,
            "for the EHLO reply",
        )?;
        if reply.code() == 250 {
            self.extensions = Extensions::from_ehlo(&reply);
            self.observe_extensions();
            return Ok(());
        }
        if !reply.is_permanent() || !self.is_usable() {
            return Err(
                Error::from_reply(Kind::Ehlo, "the server refused EHLO", reply).at_step(Step::Ehlo),
            );
        }
        let helo = self.command(
            Command::Helo(name),
            transcript,
            budget,
            Step::Ehlo,
            "for the HELO reply",
        )?;
        if helo.code() == 250 {
            self.extensions = Extensions::from_helo(&helo);
            self.observe_extensions();
            return Ok(());
        }
        Err(
            Error::from_reply(Kind::Ehlo, "the server refused both EHLO and HELO", helo)
                .at_step(Step::Ehlo),
        )
    }

    fn start_tls(
        &mut self,
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        helo_name: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        let reply = self.command(
            Command::StartTls,
            transcript,
            budget,
            Step::StartTls,
            "for the STARTTLS reply",
        )?;
        if reply.code() != 220 {
            if self.security == Security::Opportunistic && self.is_usable() {
                transcript.record(
                    Direction::Info,
                    "STARTTLS refused; continuing without encryption (opportunistic mode)",
                );
                return Ok(());
            }
            return Err(
                Error::from_reply(Kind::StartTls, "the server refused STARTTLS", reply)
                    .at_step(Step::StartTls),
            );
        }
        if !self.received.is_empty() {
            let extra = self.received.len();
            self.break_connection();
            return Err(Error::new(
                Kind::StartTls,
                format!(
                    "the server sent {extra} unexpected bytes after its STARTTLS reply; they were refused (possible response injection)"
                ),
            )
            .at_step(Step::StartTls));
        }
        let sock = self
            .stream
            .take()
            .and_then(Stream::into_plain)
            .ok_or_else(|| {
                Error::new(
                    Kind::StartTls,
                    "STARTTLS on an already encrypted connection",
                )
            })?;
        let name = tls::server_name(&config.host, &config.tls)?;
        let deadline = self.deadline(budget);
        let stream = Stream::handshake(
            sock,
            tls_config.clone(),
            name,
            &self.host,
            self.port,
            deadline,
        )
        .map_err(|e| e.at_step(Step::TlsHandshake))?;
        log_tls(transcript, &stream);
        self.stream = Some(stream);
        // RFC 3207 §4.2: forget everything learnt in plaintext; only post-TLS capabilities count.
        self.extensions = Extensions::default();
        self.hello(helo_name, transcript, budget)
    }

    pub(crate) fn authenticate(
        &mut self,
        credentials: &Credentials,
        allow_plaintext: bool,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        let user = credentials.username().to_string();
        let encrypted = self.stream.as_ref().is_some_and(Stream::is_tls);
        if !encrypted && !allow_plaintext {
            return Err(Error::new(
                Kind::AuthUnavailable,
                format!(
                    "refusing to send the credentials of {user:?} over an unencrypted connection"
                ),
            )
            .at_step(Step::Auth));
        }
        if self.extensions.auth.is_empty() && self.extensions.auth_other.is_empty() {
            return Err(Error::new(
                Kind::AuthUnavailable,
                format!(
                    "{} port {} does not offer authentication (no AUTH in its EHLO reply)",
                    self.host, self.port
                ),
            )
            .at_step(Step::Auth));
        }
        let Some(mechanism) = auth::choose(&self.extensions.auth, credentials) else {
            let offered: Vec<&str> = self
                .extensions
                .auth
                .iter()
                .map(|m| m.as_str())
                .chain(self.extensions.auth_other.iter().map(String::as_str))
                .collect();
            let with = match credentials {
                Credentials::Password { .. } => "a password (PLAIN or LOGIN)",
                Credentials::OAuth2 { .. } => "an OAuth2 token (XOAUTH2)",
            };
            return Err(Error::new(
                Kind::AuthUnavailable,
                format!(
                    "the server offers AUTH {}, none of which works with {with}",
                    offered.join(" ")
                ),
            )
            .at_step(Step::Auth));
        };
        let what = "for the AUTH reply";
        let mut detail = None;
        let reply = match mechanism {
            Mechanism::Plain | Mechanism::XOAuth2 => {
                let response = auth::initial_response(mechanism, credentials)?
                    .ok_or_else(|| Error::new(Kind::AuthUnavailable, "no initial response"))?;
                let line_len = "AUTH  \r\n".len() + mechanism.as_str().len() + response.len();
                let mut reply = if line_len <= MAX_AUTH_LINE {
                    let command = Command::Auth {
                        mechanism,
                        initial_response: Some(&response),
                    };
                    self.command(command, transcript, budget, Step::Auth, what)?
                } else {
                    let command = Command::Auth {
                        mechanism,
                        initial_response: None,
                    };
                    let first = self.command(command, transcript, budget, Step::Auth, what)?;
                    if first.code() == 334 {
                        self.command(
                            Command::AuthResponse(&response),
                            transcript,
                            budget,
                            Step::Auth,
                            what,
                        )?
                    } else {
                        first
                    }
                };
                if reply.code() == 334 {
                    // XOAUTH2 reports a bad token as a 334 challenge with a JSON body; an empty
                    // response then fetches the final error (any other mechanism: cancel).
                    if mechanism == Mechanism::XOAuth2 {
                        detail = reply
                            .lines()
                            .first()
                            .and_then(|c| auth::decode_xoauth2_failure(c));
                        reply = self.command(
                            Command::AuthResponse(""),
                            transcript,
                            budget,
                            Step::Auth,
                            what,
                        )?;
                    } else {
                        reply = self.command(
                            Command::AuthResponse("*"),
                            transcript,
                            budget,
                            Step::Auth,
                            what,
                        )?;
                    }
                }
                reply
            }
            Mechanism::Login => {
                let command = Command::Auth {
                    mechanism,
                    initial_response: None,
                };
                let mut reply = self.command(command, transcript, budget, Step::Auth, what)?;
                let mut step = 0;
                while reply.code() == 334 {
                    let challenge = reply.lines().first().map(String::as_str).unwrap_or("");
                    let response = match auth::login_step(challenge, step, credentials) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = self.command(
                                Command::AuthResponse("*"),
                                transcript,
                                budget,
                                Step::Auth,
                                what,
                            );
                            return Err(e.at_step(Step::Auth));
                        }
                    };
                    reply = self.command(
                        Command::AuthResponse(&response),
                        transcript,
                        budget,
                        Step::Auth,
                        what,
                    )?;
                    step += 1;
                }
                reply
            }
        };
        if reply.code() == 235 {
            transcript.record(
                Direction::Info,
                &format!("authenticated as {user:?} with {}", mechanism.as_str()),
            );
            return Ok(());
        }
        let mut message = format!(
            "the server rejected the credentials of {user:?} ({})",
            mechanism.as_str()
        );
        if let Some(detail) = detail {
            message.push_str(&format!(": {detail}"));
        }
        Err(Error::from_reply(Kind::AuthFailed, message, reply).at_step(Step::Auth))
    }

    /// Run one mail transaction: MAIL, RCPT for each recipient, DATA, the message.
    pub(crate) fn transaction(
        &mut self,
        message: Outgoing<'_>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<Delivered, TxFailure> {
        let ext = &self.extensions;
        if let (Some(size), Some(max)) = (message.size, ext.max_size()) {
            if size > max {
                return Err(too_large(size, max).into());
            }
        }
        let needs_utf8 = std::iter::once(message.from)
            .chain(message.to.iter().map(String::as_str))
            .find(|a| crate::address::needs_smtputf8(a));
        if message.utf8_headers && !ext.smtputf8 {
            return Err(Error::invalid_input(
                "the message has UTF-8 addresses in its headers and the server does not support SMTPUTF8",
            )
            .into());
        }
        if let Some(address) = needs_utf8 {
            if !ext.smtputf8 {
                return Err(Error::invalid_input(format!(
                    "address {address:?} is not ASCII and the server does not support SMTPUTF8"
                ))
                .into());
            }
        }
        if message.eight_bit == Some(true) && !ext.eight_bit_mime {
            return Err(Error::invalid_input(
                "the message contains 8-bit bytes but the server does not offer 8BITMIME; encode the body (quoted-printable or base64)",
            )
            .into());
        }
        let mail = Command::MailFrom {
            address: message.from,
            size: message.size.filter(|_| ext.size.is_some()),
            eight_bit_mime: ext.eight_bit_mime && message.eight_bit != Some(false),
            smtputf8: needs_utf8.is_some() || message.utf8_headers,
        };
        let rcpts: Vec<Command<'_>> = message
            .to
            .iter()
            .map(|address| Command::RcptTo { address })
            .collect();

        if self.extensions.chunking {
            return self.transaction_bdat(mail, &rcpts, message, transcript, budget);
        }
        let (accepted, rejected) = if self.extensions.pipelining {
            self.envelope_pipelined(mail, &rcpts, message.to, true, transcript, budget)?
        } else {
            self.envelope_stepwise(mail, &rcpts, message.to, true, transcript, budget)?
        };
        self.send_body(message.body, message.size, transcript, budget)
            .map(|(reply, size)| Delivered {
                reply,
                accepted,
                rejected,
                size,
            })
            .map_err(TxFailure::from)
    }

    /// PIPELINING (RFC 2920): MAIL, every RCPT and DATA in one write, then the replies in order.
    fn envelope_pipelined(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        to: &[String],
        data: bool,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<(Vec<String>, Vec<RejectedRecipient>), TxFailure> {
        let mut group = Vec::with_capacity(rcpts.len() + 2);
        group.push(mail);
        group.extend_from_slice(rcpts);
        if data {
            group.push(Command::Data);
        }
        // Nothing is acknowledged yet: a dead connection here is safe to retry on a new one.
        self.send(&group, transcript, budget, Step::MailFrom)
            .map_err(retry_safe)?;
        let (mail_reply, rcpt_replies) = self.envelope_replies(to, transcript, budget)?;
        let data_reply = if data {
            Some(self.read_reply(transcript, budget, Step::Data, "for the DATA reply")?)
        } else {
            None
        };
        let in_data = data_reply.as_ref().is_some_and(|r| r.code() == 354);

        let error = match (
            self.envelope_verdict(to, mail_reply, rcpt_replies),
            data_reply,
        ) {
            (Ok(lists), None) => return Ok(lists),
            (Ok(lists), Some(_)) if in_data => return Ok(lists),
            (Ok(_), Some(data_reply)) => reply_error(
                Kind::Data,
                "the server refused DATA",
                data_reply,
                Step::Data,
            ),
            (Err(e), _) => e,
        };
        if in_data {
            // The server is already waiting for the message, and ending the data, even empty,
            // would deliver it: drop the connection instead, which discards the transaction.
            transcript.record(
                Direction::Info,
                "aborting the transaction by closing the connection (the server was already waiting for data)",
            );
            self.break_connection();
        } else {
            self.reset_after_failure(transcript, budget);
        }
        Err(error.into())
    }

    /// What the replies to a pipelined MAIL and its RCPTs decide: the sender refused, or the
    /// recipients' verdict (accepted and refused lists, or the error when too many were refused).
    fn envelope_verdict(
        &self,
        to: &[String],
        mail_reply: Reply,
        rcpt_replies: Vec<Reply>,
    ) -> Result<(Vec<String>, Vec<RejectedRecipient>)> {
        if !mail_reply.is_positive() {
            return Err(reply_error(
                Kind::MailFrom,
                "the server rejected the sender",
                mail_reply,
                Step::MailFrom,
            ));
        }
        let (accepted, rejected) = split_recipients(to, rcpt_replies);
        self.recipients_verdict(accepted, rejected)
    }

    /// The replies to a pipelined MAIL and its RCPTs. Until the MAIL reply arrives nothing is
    /// acknowledged, so a dead connection (or a 421) is safe to retry on a new one.
    fn envelope_replies(
        &mut self,
        to: &[String],
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<(Reply, Vec<Reply>), TxFailure> {
        let mail_reply = self
            .read_reply(
                transcript,
                budget,
                Step::MailFrom,
                "for the MAIL FROM reply",
            )
            .map_err(retry_safe)?;
        if mail_reply.code() == 421 {
            return Err(retry_safe(reply_error(
                Kind::MailFrom,
                "the server is closing the connection",
                mail_reply,
                Step::MailFrom,
            )));
        }
        let mut rcpt_replies = Vec::with_capacity(to.len());
        for address in to {
            let what = format!("for the RCPT TO reply for {address}");
            rcpt_replies.push(self.read_reply(transcript, budget, Step::RcptTo, &what)?);
        }
        Ok((mail_reply, rcpt_replies))
    }

    /// Without PIPELINING: one command, one reply.
    fn envelope_stepwise(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        to: &[String],
        data: bool,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<(Vec<String>, Vec<RejectedRecipient>), TxFailure> {
        let mail_reply = self
            .command(
                mail,
                transcript,
                budget,
                Step::MailFrom,
                "for the MAIL FROM reply",
            )
            .map_err(retry_safe)?;
        if !mail_reply.is_positive() {
            let closing = mail_reply.code() == 421;
            let error = reply_error(
                Kind::MailFrom,
                "the server rejected the sender",
                mail_reply,
                Step::MailFrom,
            );
            if closing {
                return Err(retry_safe(error));
            }
            self.reset_after_failure(transcript, budget);
            return Err(error.into());
        }
        let mut replies = Vec::with_capacity(rcpts.len());
        for (command, address) in rcpts.iter().zip(to) {
            let what = format!("for the RCPT TO reply for {address}");
            replies.push(self.command(command.clone(), transcript, budget, Step::RcptTo, &what)?);
        }
        let (accepted, rejected) = split_recipients(to, replies);
        let lists = match self.recipients_verdict(accepted, rejected) {
            Ok(lists) => lists,
            Err(e) => {
                self.reset_after_failure(transcript, budget);
                return Err(e.into());
            }
        };
        if !data {
            return Ok(lists);
        }
        let data_reply = self.command(
            Command::Data,
            transcript,
            budget,
            Step::Data,
            "for the DATA reply",
        )?;
        if data_reply.code() != 354 {
            self.reset_after_failure(transcript, budget);
            return Err(reply_error(
                Kind::Data,
                "the server refused DATA",
                data_reply,
                Step::Data,
            )
            .into());
        }
        Ok(lists)
    }

    fn recipients_verdict(
        &self,
        accepted: Vec<String>,
        rejected: Vec<RejectedRecipient>,
    ) -> Result<(Vec<String>, Vec<RejectedRecipient>)> {
        if rejected.is_empty() || (self.settings.allow_partial_recipients && !accepted.is_empty()) {
            return Ok((accepted, rejected));
        }
        let listed: Vec<String> = rejected
            .iter()
            .map(|r| format!("{} ({})", r.address, r.reply.one_line()))
            .collect();
        let message = if accepted.is_empty() {
            format!("the server rejected every recipient: {}", listed.join("; "))
        } else {
            format!(
                "the server rejected {} of {} recipients, so nothing was sent: {}",
                rejected.len(),
                rejected.len() + accepted.len(),
                listed.join("; ")
            )
        };
        Err(Error::new(Kind::RecipientsRejected, message)
            .with_rejected(rejected)
            .at_step(Step::RcptTo))
    }

    /// CHUNKING (RFC 3030): the message goes in BDAT chunks of counted bytes, so no
    /// dot-stuffing and no end-of-data line. With PIPELINING and one recipient (or partial
    /// delivery allowed), MAIL, RCPT and the first chunk go out in one write: a small message
    /// costs one round trip. With several recipients the envelope is settled first, because a
    /// chunk marked LAST would deliver to the accepted ones even if another was refused.
    fn transaction_bdat(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        message: Outgoing<'_>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<Delivered, TxFailure> {
        let to = message.to;
        let mut body = Body::new(message.body, message.size, DataEncoder::for_bdat());
        let mut chunk = Vec::with_capacity(BDAT_CHUNK + 64 * 1024);
        let one_flight =
            self.extensions.pipelining && (to.len() == 1 || self.settings.allow_partial_recipients);
        let (accepted, rejected) = if one_flight {
            self.next_chunk(&mut body, &mut chunk)?;
            let last = body.done;
            let mut wire = Vec::with_capacity(chunk.len() + 512);
            for command in std::iter::once(&mail).chain(rcpts) {
                transcript.record(Direction::Sent, &command.redacted());
                wire.extend_from_slice(command.to_line().as_bytes());
            }
            self.append_chunk(&mut wire, &chunk, last, transcript);
            // A write that failed did not deliver the whole chunk, and a chunk the server does
            // not have whole is never delivered: safe to retry on a new connection.
            self.write_data(&wire, transcript, budget)
                .map_err(retry_safe)?;
            let replies = self.envelope_replies(to, transcript, budget).and_then(
                |(mail_reply, rcpt_replies)| {
                    let chunk_reply = self.read_chunk_reply(transcript, budget, last)?;
                    Ok((mail_reply, rcpt_replies, chunk_reply))
                },
            );
            let (mail_reply, rcpt_replies, chunk_reply) = match replies {
                // The whole message went out with the envelope: without the server's answer,
                // never send it again. An answer that did arrive decides as usual: a 421 to
                // MAIL opened no transaction, so that stays safe to retry.
                Err(failure) if last && failure.error.reply().is_none() => {
                    return Err(outcome_unknown(failure.error).into());
                }
                other => other?,
            };
            let lists = match self.envelope_verdict(to, mail_reply, rcpt_replies) {
                Ok(lists) => lists,
                Err(e) => {
                    // The chunk was refused with the envelope; nothing was delivered.
                    self.reset_after_failure(transcript, budget);
                    return Err(e.into());
                }
            };
            if !chunk_reply.is_positive() {
                self.reset_after_failure(transcript, budget);
                return Err(message_refused(chunk_reply).into());
            }
            if last {
                return Ok(Delivered {
                    reply: chunk_reply,
                    accepted: lists.0,
                    rejected: lists.1,
                    size: body.size,
                });
            }
            lists
        } else if self.extensions.pipelining {
            self.envelope_pipelined(mail, rcpts, to, false, transcript, budget)?
        } else {
            self.envelope_stepwise(mail, rcpts, to, false, transcript, budget)?
        };
        // With PIPELINING, chunks go out without waiting for each reply; a few replies may be
        // outstanding (they are small, so neither side's buffers fill up meanwhile).
        let window = if self.extensions.pipelining {
            BDAT_WINDOW
        } else {
            0
        };
        let mut outstanding = 0usize;
        loop {
            chunk.clear();
            self.next_chunk(&mut body, &mut chunk)?;
            let last = body.done;
            let mut wire = Vec::with_capacity(chunk.len() + 32);
            self.append_chunk(&mut wire, &chunk, last, transcript);
            self.write_data(&wire, transcript, budget)?;
            outstanding += 1;
            while outstanding > window || (last && outstanding > 0) {
                outstanding -= 1;
                let is_final = last && outstanding == 0;
                let reply = self
                    .read_chunk_reply(transcript, budget, is_final)
                    .map_err(|e| if last { outcome_unknown(e) } else { e })?;
                if !reply.is_positive() {
                    // Later chunks are refused too, LAST included (RFC 3030 §2): collect their
                    // replies, then start over. The refusal stands if they never come.
                    for _ in 0..outstanding {
                        if self.read_chunk_reply(transcript, budget, false).is_err() {
                            break;
                        }
                    }
                    self.reset_after_failure(transcript, budget);
                    return Err(message_refused(reply).into());
                }
                if is_final {
                    return Ok(Delivered {
                        reply,
                        accepted,
                        rejected,
                        size: body.size,
                    });
                }
            }
        }
    }

    /// Fill `chunk` with the next BDAT_CHUNK bytes or so of the message (all of the rest when
    /// it ends sooner), checking the size limit and 8BITMIME as DATA does.
    fn next_chunk(&mut self, body: &mut Body<'_>, chunk: &mut Vec<u8>) -> Result<()> {
        while chunk.len() < BDAT_CHUNK && self.read_piece(body, chunk)? {}
        Ok(())
    }

    /// Read the next piece of the message, check it, and append its wire form to `out`.
    /// Returns false at the end, after the encoder's end of data was appended. Every failure
    /// drops the connection: unterminated DATA, or chunks without LAST, are discarded.
    fn read_piece(&mut self, body: &mut Body<'_>, out: &mut Vec<u8>) -> Result<bool> {
        if body.done {
            return Ok(false);
        }
        let n = loop {
            match body.source.read(&mut body.input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.break_connection();
                    return Err(body_read_error(e));
                }
                Ok(n) => break n,
            }
        };
        if n == 0 {
            body.encoder.finish(out);
            body.done = true;
            return Ok(false);
        }
        body.size += n as u64;
        if let Some(max) = self.extensions.max_size().filter(|&m| body.size > m) {
            self.break_connection();
            return Err(too_large(
                body.declared.unwrap_or(body.size).max(body.size),
                max,
            ));
        }
        let piece = &body.input[..n];
        if !self.extensions.eight_bit_mime && !piece.is_ascii() {
            self.break_connection();
            return Err(Error::invalid_input(
                "the message contains 8-bit bytes but the server does not offer 8BITMIME; nothing was sent (encode the body as quoted-printable or base64)",
            )
            .at_step(Step::Data));
        }
        body.encoder.encode(piece, out);
        Ok(true)
    }

    fn append_chunk(
        &self,
        wire: &mut Vec<u8>,
        chunk: &[u8],
        last: bool,
        transcript: &mut Transcript,
    ) {
        let command = if last {
            format!("BDAT {} LAST", chunk.len())
        } else {
            format!("BDAT {}", chunk.len())
        };
        transcript.record(Direction::Sent, &command);
        if !self.settings.transcript_bodies {
            transcript.record(
                Direction::Sent,
                &format!("<message: {} bytes>", chunk.len()),
            );
        }
        wire.extend_from_slice(command.as_bytes());
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(chunk);
    }

    fn read_chunk_reply(
        &mut self,
        transcript: &mut Transcript,
        budget: Instant,
        last: bool,
    ) -> Result<Reply> {
        if last {
            // The last chunk's reply waits for the server to take the message: the DATA timeout.
            let deadline = (Instant::now() + self.settings.timeouts.data_end).min(budget);
            self.read_reply_until(
                transcript,
                deadline,
                Step::Data,
                "for the reply to the message",
            )
        } else {
            self.read_reply(transcript, budget, Step::Data, "for the BDAT reply")
        }
    }

    /// Stream the message after a 354, then read the final reply.
    fn send_body(
        &mut self,
        body: &mut dyn Read,
        declared: Option<u64>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<(Reply, u64)> {
        let mut body = Body::new(body, declared, DataEncoder::new());
        let mut wire = Vec::with_capacity(DATA_CHUNK + 2 * body.input.len());
        while self.read_piece(&mut body, &mut wire)? {
            if wire.len() >= DATA_CHUNK {
                self.write_data(&wire, transcript, budget)?;
                wire.clear();
            }
        }
        let size = body.size;
        self.write_data(&wire, transcript, budget)?;
        if !self.settings.transcript_bodies {
            transcript.record(Direction::Sent, &format!("<message: {size} bytes>"));
        }
        transcript.record(Direction::Sent, ".");
        let deadline = (Instant::now() + self.settings.timeouts.data_end).min(budget);
        let reply = self
            .read_reply_until(
                transcript,
                deadline,
                Step::Data,
                "for the reply to the message",
            )
            .map_err(outcome_unknown)?;
        if reply.is_positive() {
            return Ok((reply, size));
        }
        Err(message_refused(reply))
    }

    fn write_data(
        &mut self,
        wire: &[u8],
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        if self.settings.transcript_bodies {
            let text = String::from_utf8_lossy(wire);
            for line in text.split("\r\n").filter(|l| !l.is_empty() && *l != ".") {
                transcript.record(Direction::Sent, line);
            }
        }
        let deadline = self.deadline(budget);
        let started = Instant::now();
        let result = self.stream()?.write_all(wire, deadline);
        result.map_err(|e| {
            self.break_connection();
            io_failure(
                e,
                Step::Data,
                "while sending the message",
                started.elapsed(),
            )
        })
    }

    fn reset_after_failure(&mut self, transcript: &mut Transcript, budget: Instant) {
        if self.is_usable() {
            let ok = self
                .command(
                    Command::Rset,
                    transcript,
                    budget,
                    Step::Other,
                    "for the RSET reply",
                )
                .is_ok_and(|r| r.is_positive());
            if !ok {
                self.break_connection();
            }
        }
    }

    /// RSET: abandon any transaction in progress.
    /// Ask whether the server would take mail from `from` to `to` (MAIL FROM, RCPT TO), then
    /// RSET: nothing is sent. The RCPT reply is `None` when MAIL FROM was refused.
    pub(crate) fn try_envelope(
        &mut self,
        from: &str,
        to: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<(Reply, Option<Reply>)> {
        let mail = Command::MailFrom {
            address: from,
            size: None,
            eight_bit_mime: false,
            smtputf8: crate::address::needs_smtputf8(from) || crate::address::needs_smtputf8(to),
        };
        let mail_reply = self.command(
            mail,
            transcript,
            budget,
            Step::MailFrom,
            "for the MAIL FROM reply",
        )?;
        let rcpt_reply = if mail_reply.is_positive() {
            let rcpt = Command::RcptTo { address: to };
            Some(self.command(
                rcpt,
                transcript,
                budget,
                Step::RcptTo,
                "for the RCPT TO reply",
            )?)
        } else {
            None
        };
        self.reset(transcript, budget)?;
        Ok((mail_reply, rcpt_reply))
    }

    pub(crate) fn reset(&mut self, transcript: &mut Transcript, budget: Instant) -> Result<Reply> {
        let reply = self.command(
            Command::Rset,
            transcript,
            budget,
            Step::Other,
            "for the RSET reply",
        )?;
        if reply.is_positive() {
            Ok(reply)
        } else {
            self.break_connection();
            Err(Error::from_reply(
                Kind::Protocol,
                "the server refused RSET",
                reply,
            ))
        }
    }

    /// NOOP: check the server is still there.
    pub(crate) fn noop(&mut self, transcript: &mut Transcript, budget: Instant) -> Result<Reply> {
        let reply = self.command(
            Command::Noop,
            transcript,
            budget,
            Step::Other,
            "for the NOOP reply",
        )?;
        if reply.is_positive() {
            Ok(reply)
        } else {
            Err(Error::from_reply(
                Kind::Protocol,
                "the server refused NOOP",
                reply,
            ))
        }
    }

    /// QUIT politely, waiting briefly for the answer, and close.
    pub(crate) fn quit(&mut self, transcript: &mut Transcript) {
        if self.is_usable() {
            let budget = Instant::now() + QUIT_WAIT.min(self.settings.timeouts.command);
            let _ = self.command(
                Command::Quit,
                transcript,
                budget,
                Step::Other,
                "for the QUIT reply",
            );
        }
        self.break_connection();
    }
}

/// The message being read and encoded for the wire (after DATA, or in BDAT chunks).
struct Body<'a> {
    source: &'a mut dyn Read,
    declared: Option<u64>,
    encoder: DataEncoder,
    input: Vec<u8>,
    size: u64,
    done: bool,
}

/// The most message data read from the caller at a time.
const BODY_BUFFER: usize = 64 * 1024;

impl<'a> Body<'a> {
    fn new(source: &'a mut dyn Read, declared: Option<u64>, encoder: DataEncoder) -> Body<'a> {
        // A small message of known size gets a buffer its size (plus room to see the end): a
        // zeroed 64 KiB per message was a third of the CPU time of sending short messages.
        let capacity = declared.map_or(BODY_BUFFER, |size| {
            usize::try_from(size).map_or(BODY_BUFFER, |size| (size + 1).clamp(512, BODY_BUFFER))
        });
        Body {
            source,
            declared,
            encoder,
            input: vec![0u8; capacity],
            size: 0,
            done: false,
        }
    }
}

fn body_read_error(e: io::Error) -> Error {
    let attachment = e
        .get_ref()
        .is_some_and(|inner| inner.is::<crate::message::mime::AttachmentChanged>());
    let kind = if attachment {
        Kind::Attachment
    } else {
        Kind::Io
    };
    Error::new(
        kind,
        "reading the message failed; the transfer was abandoned and nothing was delivered",
    )
    .with_source(e)
    .at_step(Step::Data)
}

fn message_refused(reply: Reply) -> Error {
    let kind = if reply.code() == 552 {
        Kind::MessageTooLarge
    } else {
        Kind::Data
    };
    reply_error(kind, "the server rejected the message", reply, Step::Data)
}

/// A failure once the end of the message went out (the final dot, or the chunk marked LAST):
/// without the server's reply, nobody knows whether it took the message before the connection
/// failed. Sending it again could deliver it twice, so it is not; the caller is told to check.
fn outcome_unknown(mut error: Error) -> Error {
    if error.reply().is_some() {
        return error;
    }
    error.prefix_message(
        "the server may or may not have accepted the message, which had been sent in full; it was not sent again",
    );
    error.set_hint(
        "The whole message reached the server, but its answer was lost, so the message may have been delivered. Check the recipient's mailbox or the server's log before sending it again: sending it again blindly may deliver it twice.".to_string(),
    );
    error
}

fn retry_safe(error: Error) -> TxFailure {
    TxFailure {
        error,
        retry_safe: true,
    }
}

fn reply_error(kind: Kind, message: &str, reply: Reply, step: Step) -> Error {
    Error::from_reply(kind, message, reply).at_step(step)
}

fn too_large(size: u64, max: u64) -> Error {
    Error::new(
        Kind::MessageTooLarge,
        format!("the message is {size} bytes; the server accepts at most {max}"),
    )
    .at_step(Step::MailFrom)
}

fn split_recipients(to: &[String], replies: Vec<Reply>) -> (Vec<String>, Vec<RejectedRecipient>) {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (address, reply) in to.iter().zip(replies) {
        if reply.is_positive() {
            accepted.push(address.clone());
        } else {
            rejected.push(RejectedRecipient {
                address: address.clone(),
                reply,
            });
        }
    }
    (accepted, rejected)
}

fn log_reply(transcript: &mut Transcript, reply: &Reply) {
    let lines = reply.lines();
    if lines.is_empty() {
        transcript.record(Direction::Received, &reply.code().to_string());
    }
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 < lines.len() { '-' } else { ' ' };
        transcript.record(Direction::Received, &format!("{}{sep}{line}", reply.code()));
    }
}

fn log_tls(transcript: &mut Transcript, stream: &Stream) {
    if let Some(info) = stream.tls_info() {
        transcript.record(
            Direction::Info,
            &format!("TLS established: {} {}", info.version, info.cipher),
        );
    }
}

#[cfg(test)]
mod tests {
    //! Session behaviour against scripted peers on loopback: the misbehaviours a real server
    //! package will not produce on demand (response injection, dripping, lying, hanging up).

    use super::*;
    use crate::client::{Client, Envelope};
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::thread::{self, JoinHandle};

    /// One step of a scripted server.
    enum Step_ {
        /// Send these bytes in one write.
        Say(&'static str),
        /// Read until this many CRLF-terminated lines have arrived; record what arrived.
        Hear(usize),
        /// Read until this text has arrived.
        HearUntil(&'static str),
        /// Send one byte every `ms` milliseconds, `n` times.
        Drip(u64, usize),
        /// Wait for the client to hang up; record what arrived meanwhile.
        HearToEnd,
    }
    use Step_::*;

    struct Peer {
        port: u16,
        handle: JoinHandle<Vec<Vec<u8>>>,
    }

    /// Serve `connections` scripts, one per accepted connection. Returns, per `Hear` step, the
    /// bytes of the first read that delivered them (so tests can check coalescing), then all.
    fn peer(connections: Vec<Vec<Step_>>) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let mut heard = Vec::new();
            for script in connections {
                let (mut sock, _) = listener.accept().unwrap();
                sock.set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut pending: Vec<u8> = Vec::new();
                for step in script {
                    match step {
                        Say(text) => sock.write_all(text.as_bytes()).unwrap(),
                        Drip(ms, n) => {
                            for _ in 0..n {
                                if sock.write_all(b"x").is_err() {
                                    break;
                                }
                                thread::sleep(Duration::from_millis(ms));
                            }
                        }
                        Hear(lines) => {
                            let mut first_read = Vec::new();
                            while pending.windows(2).filter(|w| w == b"\r\n").count() < lines {
                                let got = read_some(&mut sock);
                                assert!(!got.is_empty(), "client hung up early");
                                if first_read.is_empty() {
                                    first_read = got.clone();
                                }
                                pending.extend_from_slice(&got);
                            }
                            heard.push(first_read);
                            pending.clear();
                        }
                        HearUntil(text) => {
                            let mut all = std::mem::take(&mut pending);
                            while !String::from_utf8_lossy(&all).contains(text) {
                                let got = read_some(&mut sock);
                                assert!(!got.is_empty(), "client hung up before {text:?}");
                                all.extend_from_slice(&got);
                            }
                            heard.push(all);
                        }
                        HearToEnd => {
                            let mut all = std::mem::take(&mut pending);
                            loop {
                                let got = read_some(&mut sock);
                                if got.is_empty() {
                                    break;
                                }
                                all.extend_from_slice(&got);
                            }
                            heard.push(all);
                        }
                    }
                }
            }
            heard
        });
        Peer { port, handle }
    }

    fn read_some(sock: &mut TcpStream) -> Vec<u8> {
        let mut buf = [0u8; 65536];
        match sock.read(&mut buf) {
            Ok(n) => buf[..n].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    fn client(port: u16, tweak: impl FnOnce(&mut Config)) -> Client {
        let mut config = Config::new("127.0.0.1");
        config.port = port;
        config.security = Security::None;
        config.helo_name = Some("client.test".into());
        config.timeouts.command = Duration::from_secs(5);
        tweak(&mut config);
        Client::new(config).unwrap()
    }

    fn envelope(to: &[&str]) -> Envelope {
        Envelope::new("a@example.com", to.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    const EHLO_PIPELINING: &str = "250-test.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

    const EHLO_CHUNKING: &str =
        "250-test.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n";

    #[test]
    fn chunking_sends_a_small_message_to_one_recipient_in_one_write() {
        let peer = peer(vec![vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            HearUntil("\r\n.line\r\n"),
            Say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 queued as 42\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(peer.port, |_| {});
        let receipt = c
            .send_bytes(&envelope(&["b@example.com"]), b"Subject: x\n\n.line\n")
            .unwrap();
        assert_eq!(receipt.reply.code(), 250);
        drop(c);
        let heard = peer.handle.join().unwrap();
        let flight = String::from_utf8(heard[1].clone()).unwrap();
        // One write: envelope, BDAT with the exact count, the data with its dot untouched.
        assert_eq!(
            flight,
            "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: x\r\n\r\n.line\r\n"
        );
    }

    #[test]
    fn chunking_settles_several_recipients_before_any_data() {
        let peer = peer(vec![vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            Hear(3),
            Say("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n"),
            Hear(1),
            Say("250 reset\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(peer.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["b@example.com", "nobody@example.com"]), b"x\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::RecipientsRejected);
        drop(c);
        let heard = peer.handle.join().unwrap();
        let all: String = heard.iter().map(|h| String::from_utf8_lossy(h)).collect();
        assert!(
            !all.contains("BDAT"),
            "data was sent despite a refused recipient: {all}"
        );
        assert!(all.contains("RSET"), "{all}");
    }

    #[test]
    fn chunking_pipelines_a_large_message_in_bounded_chunks() {
        let message: Vec<u8> = b"Subject: big\r\n\r\n"
            .iter()
            .copied()
            .chain((0..2_500_000).map(|i| if i % 100 == 99 { b'\n' } else { b'a' }))
            .collect();
        let peer = peer(vec![vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            HearUntil("BDAT "),
            Say("250 ok\r\n250 ok\r\n250 chunk\r\n"),
            // Pipelined: the later chunks arrive without waiting for their replies.
            HearUntil(" LAST\r\n"),
            Say("250 chunk\r\n250 2.0.0 queued\r\n"),
            HearToEnd,
        ]]);
        let mut c = client(peer.port, |_| {});
        let receipt = c
            .send_bytes(&envelope(&["b@example.com"]), &message)
            .unwrap();
        assert_eq!(receipt.reply.one_line(), "250 2.0.0 queued");
        let sizes: Vec<(usize, bool)> = c
            .transcript()
            .lines()
            .filter_map(|l| l.strip_prefix("C: BDAT "))
            .map(|rest| {
                let mut words = rest.split(' ');
                (
                    words.next().unwrap().parse().unwrap(),
                    words.next() == Some("LAST"),
                )
            })
            .collect();
        assert_eq!(sizes.len(), 3, "{sizes:?}");
        assert!(
            sizes.iter().all(|&(n, _)| n <= BDAT_CHUNK + 70 * 1024),
            "{sizes:?}"
        );
        assert_eq!(sizes.iter().filter(|(_, last)| *last).count(), 1);
        assert!(sizes[2].1, "the last chunk is marked LAST");
        let total: usize = sizes.iter().map(|(n, _)| n).sum();
        assert_eq!(total, message.len() + 25_000, "every LF became CRLF");
        drop(c);
        peer.handle.join().unwrap();
    }

    #[test]
    fn pipelined_group_is_one_write_and_replies_match_commands() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(5), // MAIL, RCPT x3, DATA
            Say(
                "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n",
            ),
            HearUntil("\r\n.\r\n"),
            Say("250 2.0.0 queued as ABC123\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(p.port, |c| c.allow_partial_recipients = true);
        let receipt = c
            .send_bytes(
                &envelope(&["x@a.test", "bad@a.test", "y@a.test"]),
                b"Subject: t\r\n\r\nbody\r\n",
            )
            .unwrap();
        assert_eq!(receipt.accepted, vec!["x@a.test", "y@a.test"]);
        assert_eq!(receipt.rejected.len(), 1);
        assert_eq!(receipt.rejected[0].address, "bad@a.test");
        assert_eq!(receipt.rejected[0].reply.code(), 550);
        assert!(receipt.reply.text().contains("ABC123"));
        drop(c);
        let heard = p.handle.join().unwrap();
        let group = String::from_utf8_lossy(&heard[1]);
        assert_eq!(
            group,
            "MAIL FROM:<a@example.com>\r\nRCPT TO:<x@a.test>\r\nRCPT TO:<bad@a.test>\r\nRCPT TO:<y@a.test>\r\nDATA\r\n",
            "the whole group must arrive in one read"
        );
        let body = String::from_utf8_lossy(&heard[2]);
        assert_eq!(
            body, "Subject: t\r\n\r\nbody\r\n.\r\n",
            "body and terminator in one write"
        );
    }

    #[test]
    fn a_refused_recipient_after_354_drops_the_connection_instead_of_ending_data() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(4),
            Say("250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"),
            HearToEnd,
        ]]);
        let mut c = client(p.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["bad@a.test", "y@a.test"]), b"hello\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::RecipientsRejected);
        assert_eq!(err.rejected_recipients()[0].address, "bad@a.test");
        assert!(!c.is_connected());
        let heard = p.handle.join().unwrap();
        let after = String::from_utf8_lossy(&heard[2]);
        assert!(!after.contains('.'), "nothing may end the data: {after:?}");
        assert!(!after.contains("hello"));
    }

    #[test]
    fn bytes_injected_after_the_starttls_reply_are_refused() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say("250-test.example\r\n250 STARTTLS\r\n"),
            Hear(1),
            Say("220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n"),
            HearToEnd,
        ]]);
        let mut c = client(p.port, |c| {
            c.security = Security::StartTls;
            c.tls.dangerous_accept_invalid_certs = true;
        });
        let err = c
            .send_bytes(&envelope(&["x@a.test"]), b"hi\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::StartTls, "{err}");
        assert!(err.message().contains("injection"), "{err}");
        let heard = p.handle.join().unwrap();
        assert!(
            heard[2].is_empty(),
            "nothing more may be sent: {:?}",
            heard[2]
        );
    }

    #[test]
    fn a_dripping_server_cannot_outlast_the_reply_deadline() {
        let p = peer(vec![vec![Say("220-"), Drip(100, 60)]]);
        let mut c = client(p.port, |c| c.timeouts.command = Duration::from_secs(1));
        let started = Instant::now();
        let err = c
            .send_bytes(&envelope(&["x@a.test"]), b"hi\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::Timeout, "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        drop(c);
        p.handle.join().unwrap();
    }

    #[test]
    fn an_endless_reply_line_is_a_protocol_error() {
        let long: &'static str = Box::leak(format!("220 {}", "x".repeat(10_000)).into_boxed_str());
        let p = peer(vec![vec![Say(long), HearToEnd]]);
        let mut c = client(p.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["x@a.test"]), b"hi\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::Protocol, "{err}");
        drop(c);
        p.handle.join().unwrap();
    }

    #[test]
    fn a_server_hanging_up_during_data_is_never_success() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say("250 test.example\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("354 go\r\n"),
            HearUntil("\r\n.\r\n"),
        ]]);
        let mut c = client(p.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["x@a.test"]), b"hi\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::ConnectionClosed, "{err}");
        assert!(err.is_transient());
        p.handle.join().unwrap();
    }

    #[test]
    fn ehlo_refused_falls_back_to_helo() {
        let p = peer(vec![vec![
            Say("220 old.example SMTP\r\n"),
            Hear(1),
            Say("502 5.5.2 command not recognised\r\n"),
            Hear(1),
            Say("250 old.example\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("354 go\r\n"),
            HearUntil("\r\n.\r\n"),
            Say("250 queued\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(p.port, |_| {});
        c.send_bytes(&envelope(&["x@a.test"]), b"hi\r\n").unwrap();
        drop(c);
        let heard = p.handle.join().unwrap();
        assert_eq!(heard[1], b"HELO client.test\r\n");
        assert_eq!(
            heard[2], b"MAIL FROM:<a@example.com>\r\n",
            "no ESMTP parameters after HELO"
        );
    }

    #[test]
    fn a_reused_connection_answering_421_is_retried_on_a_fresh_one() {
        let first = vec![
            Say("220 a ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(3),
            Say("250 ok\r\n250 ok\r\n354 go\r\n"),
            HearUntil("\r\n.\r\n"),
            Say("250 queued 1\r\n"),
            Hear(3),
            Say("421 4.4.2 idle too long, closing\r\n"),
            HearToEnd,
        ];
        let second = vec![
            Say("220 a ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(3),
            Say("250 ok\r\n250 ok\r\n354 go\r\n"),
            HearUntil("\r\n.\r\n"),
            Say("250 queued 2\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ];
        let p = peer(vec![first, second]);
        let mut c = client(p.port, |_| {});
        let e = envelope(&["x@a.test"]);
        assert!(
            c.send_bytes(&e, b"one\r\n")
                .unwrap()
                .reply
                .text()
                .contains("queued 1")
        );
        let r = c.send_bytes(&e, b"two\r\n").unwrap();
        assert!(r.reply.text().contains("queued 2"));
        assert!(c.transcript().contains("reconnecting and sending again"));
        drop(c);
        p.handle.join().unwrap();
    }

    #[test]
    fn transcript_redacts_auth_and_bodies() {
        let p = peer(vec![vec![
            Say("220 a ESMTP\r\n"),
            Hear(1),
            Say("250-a\r\n250 AUTH PLAIN LOGIN\r\n"),
            Hear(1),
            Say("235 ok\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("354 go\r\n"),
            HearUntil("\r\n.\r\n"),
            Say("250 queued\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(p.port, |c| {
            c.dangerous_allow_plaintext_auth = true;
            c.credentials = Some(Credentials::Password {
                username: "me".into(),
                password: crate::config::Secret::new("hunter2"),
            });
        });
        c.send_bytes(&envelope(&["x@a.test"]), b"secret body\r\n")
            .unwrap();
        let text = c.transcript();
        assert!(text.contains("C: AUTH PLAIN <redacted>"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("AG1lAGh1bnRlcjI="),
            "{text}"
        );
        assert!(
            !text.contains("secret body") && text.contains("<message: 13 bytes>"),
            "{text}"
        );
        drop(c);
        p.handle.join().unwrap();
    }
}
