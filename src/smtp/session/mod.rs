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
//!
//! The session is six files, one concern each: this one establishes it (connect, greeting,
//! EHLO, STARTTLS, AUTH) and carries commands and replies; `transaction.rs` runs a mail
//! transaction (the envelope, DATA, what the server answered); `bdat.rs` sends the message in
//! BDAT chunks instead (CHUNKING); `body.rs` reads and encodes the message for either;
//! `greeting.rs` waits for the greeting (and tells an implicit-TLS port reached without TLS);
//! `received.rs` holds what the server sent until it is parsed.
//!
//! On a busy connection a message costs two system calls: one write of its whole flight and
//! one read of the replies (`docs/performance/io-path.md`). Buffers are the session's, reused
//! from one message to the next, and a busy session is not asked whether it is still alive.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, Security, Timeouts};
use crate::error::{Error, Kind, Result, Step};
use crate::fork::process_id;
use crate::smtp::command::Command;
use crate::smtp::extensions::Extensions;
use crate::smtp::reply::{Reply, parse_reply};
use crate::smtp::stream::{self, Stream};
use crate::tls::{self, TlsInfo};
use crate::transcript::{Direction, Transcript};
use received::Received;

mod bdat;
mod body;
mod greeting;
mod login;
mod received;
#[cfg(test)]
mod scripted;
mod transaction;

pub(crate) use transaction::Outgoing;

/// QUIT is a courtesy: never wait long for its answer.
const QUIT_WAIT: Duration = Duration::from_secs(2);
/// A session whose last reply arrived less than this long ago is reused without first asking
/// the socket whether the server has hung up meanwhile (a `recv` per message on a busy
/// connection). Servers close idle connections after seconds to minutes (Postfix: 300 s), not
/// within a moment of a reply; one that ends the session right after a reply sends 421 first,
/// which is read as the reply to the next MAIL and replaced like any dead pooled session.
const RECENTLY_ACTIVE: Duration = Duration::from_millis(100);

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
    received: Received,
    /// The commands of the group being sent, reused from one group to the next.
    wire: Vec<u8>,
    /// The BDAT chunk being sent, reused from one message to the next.
    chunk: Vec<u8>,
    /// When the last reply was parsed (see [`RECENTLY_ACTIVE`]).
    last_reply: Option<Instant>,
    extensions: Extensions,
    observed: Observations,
    host: String,
    port: u16,
    security: Security,
    settings: Settings,
    /// When the connection was made: the pool bounds a session's age, not only its idle time.
    opened: Instant,
    /// Until when the OAuth2 token it authenticated with may be used: the session is not reused
    /// after that, so that a token past its life never stands behind a send.
    auth_usable_until: Option<Instant>,
    /// The process that made the connection. After `fork()` the child holds a copy of the
    /// socket (and of the TLS state) that belongs to the parent: the child never writes to it,
    /// never shuts it down (that would cut the parent's connection too), only closes its copy.
    pid: u32,
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
    ///
    /// An OAuth2 token the server refuses, when its source can give another (a refresh grant,
    /// a callback), is replaced once and AUTH tried again on a new connection (servers count
    /// failed logins per connection and may drop it); never a second time.
    pub(crate) fn open(
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        helo_name: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<Session> {
        match Session::open_once(config, tls_config, helo_name, transcript, budget, false) {
            Err(error) if login::worth_a_new_token(config, &error) => {
                transcript.record(
                    Direction::Info,
                    "the server refused the OAuth2 access token; trying once more with a new token on a new connection",
                );
                Session::open_once(config, tls_config, helo_name, transcript, budget, true)
            }
            other => other,
        }
    }

    fn open_once(
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        helo_name: &str,
        transcript: &mut Transcript,
        budget: Instant,
        previous_refused: bool,
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
            Stream::plain(sock)
        };
        let mut session = Session::attach(stream, Vec::new(), config);
        let result = session.establish(
            config,
            tls_config,
            helo_name,
            transcript,
            budget,
            previous_refused,
        );
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
            received: Received::new(received),
            wire: Vec::with_capacity(512),
            chunk: Vec::new(),
            last_reply: None,
            extensions: Extensions::default(),
            observed: Observations::default(),
            host: config.host.clone(),
            port: config.port,
            security: config.effective_security(),
            settings: Settings::of(config),
            opened: Instant::now(),
            auth_usable_until: None,
            pid: process_id(),
        }
    }

    /// Whether the connection was made by another process, of which this one is a fork.
    pub(crate) fn inherited(&self) -> bool {
        self.pid != process_id()
    }

    pub(crate) fn opened(&self) -> Instant {
        self.opened
    }

    /// Whether the OAuth2 token the session authenticated with is past its usable life.
    pub(crate) fn token_expired(&self) -> bool {
        self.auth_usable_until
            .is_some_and(|until| Instant::now() >= until)
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
    /// `previous_refused`: the server refused the OAuth2 token of the previous attempt.
    pub(crate) fn establish(
        &mut self,
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        helo_name: &str,
        transcript: &mut Transcript,
        budget: Instant,
        previous_refused: bool,
    ) -> Result<()> {
        let greeting = match self.receive_greeting(config, tls_config, transcript, budget) {
            Ok(reply) => reply,
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
                config,
                credentials,
                config.dangerous_allow_plaintext_auth,
                previous_refused,
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
        if self.inherited() {
            self.break_connection();
            return Err(Error::new(
                Kind::ConnectionClosed,
                "the connection belongs to the process this one was forked from; it is left to \
                 that process",
            ));
        }
        self.stream
            .as_mut()
            .ok_or_else(|| Error::new(Kind::ConnectionClosed, "the connection is no longer usable"))
    }

    /// Whether the session can carry another transaction.
    pub(crate) fn is_usable(&self) -> bool {
        self.stream.is_some() && !self.inherited()
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
    ///
    /// Asking the socket costs a system call, so a session whose last reply came within
    /// [`RECENTLY_ACTIVE`] is taken as alive without asking: if the server did hang up in that
    /// moment, the next transaction's first reply (a 421, or the end of the connection before
    /// anything was acknowledged) has it replaced and the message sent again over a new one.
    pub(crate) fn went_away_while_idle(&self) -> bool {
        let Some(stream) = &self.stream else {
            return true;
        };
        if self.inherited() || !self.received.is_empty() || stream.holds_unread() {
            return true;
        }
        let recent = self
            .last_reply
            .is_some_and(|at| at.elapsed() < RECENTLY_ACTIVE);
        !recent && stream.peer_has_spoken()
    }

    /// Drop the connection at once. Used when the session's state is unknown, and to abort a
    /// DATA phase without ending it: a server never delivers unterminated data (RFC 5321 §4.1.1.4).
    fn break_connection(&mut self) {
        if let Some(mut stream) = self.stream.take() {
            // A forked child only closes its copy of the descriptor: a shutdown() or a TLS
            // close_notify would end the parent's connection.
            if !self.inherited() {
                stream.shutdown(Instant::now() + QUIT_WAIT);
            }
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
        let mut wire = std::mem::take(&mut self.wire);
        wire.clear();
        for command in commands {
            record_and_write(command, &mut wire, transcript);
        }
        let deadline = self.deadline(budget);
        let started = Instant::now();
        let result = self
            .stream()
            .map(|stream| stream.write_all(&wire, deadline));
        self.wire = wire;
        result?.map_err(|e| {
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
            match parse_reply(self.received.bytes()) {
                Ok(Some((reply, used))) => {
                    self.received.consume(used);
                    self.last_reply = Some(Instant::now());
                    log_reply(transcript, &reply);
                    if reply.code() == 421 {
                        // The server is closing the channel (RFC 5321 §3.8): never reuse it.
                        self.break_connection();
                    }
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => {
                    let err = if tls::looks_like_tls(self.received.bytes()) {
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
            // One read for what has arrived: pipelined replies usually come together, and the
            // ones after the first are then parsed from the buffer without another read.
            self.stream()?;
            let Some(spare) = self.received.spare() else {
                // Unreachable in practice: the parser refuses a reply this long first.
                return Err(Error::new(
                    Kind::Protocol,
                    format!(
                        "the server's reply is longer than the {} bytes read so far",
                        self.received.len()
                    ),
                )
                .at_step(step));
            };
            let Some(stream) = self.stream.as_mut() else {
                return Err(Error::new(
                    Kind::ConnectionClosed,
                    "the connection is no longer usable",
                ));
            };
            match stream.read(spare, deadline) {
                Ok(0) => {
                    return Err(Error::new(
                        Kind::ConnectionClosed,
                        format!("the server closed the connection while we waited {what}"),
                    )
                    .at_step(step));
                }
                Ok(n) => self.received.filled(n),
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

    /// RSET: abandon any transaction in progress.
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
        self.quit_by(Instant::now() + QUIT_WAIT, transcript);
    }

    /// QUIT, waiting for the answer until `deadline` at the latest (and never longer than a
    /// QUIT usually takes), and close. Past `deadline` already: close without QUIT. A session
    /// inherited across fork() is closed without a word (see [`Session::inherited`]).
    pub(crate) fn quit_by(&mut self, deadline: Instant, transcript: &mut Transcript) {
        let now = Instant::now();
        if self.is_usable() && deadline > now {
            let budget = deadline
                .min(now + QUIT_WAIT)
                .min(now + self.settings.timeouts.command);
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

/// Append `command`'s wire form to `wire` and record it in the transcript: the line as sent,
/// or its redacted form when it carries a SASL payload.
fn record_and_write(command: &Command<'_>, wire: &mut Vec<u8>, transcript: &mut Transcript) {
    let at = wire.len();
    command.write_line(wire);
    if command.carries_secret() {
        transcript.record(Direction::Sent, &command.redacted());
    } else {
        // The line is built from `&str` arguments and ASCII, so it is UTF-8.
        let line = &wire[at..wire.len() - 2];
        transcript.record(
            Direction::Sent,
            std::str::from_utf8(line).unwrap_or("<a command that is not UTF-8>"),
        );
    }
}

fn log_reply(transcript: &mut Transcript, reply: &Reply) {
    // Written straight into the transcript's line, not through `format!`: a busy connection
    // logs three replies per message.
    let code = reply.code();
    let push_code = |out: &mut String| {
        if (100..1000).contains(&code) {
            for digit in [code / 100, code / 10 % 10, code % 10] {
                out.push(char::from(b'0' + digit as u8));
            }
        } else {
            use std::fmt::Write as _;
            let _ = write!(out, "{code}");
        }
    };
    let lines = reply.lines();
    if lines.is_empty() {
        transcript.record_with(Direction::Received, push_code);
    }
    for (i, line) in lines.iter().enumerate() {
        transcript.record_with(Direction::Received, |out| {
            push_code(out);
            out.push(if i + 1 < lines.len() { '-' } else { ' ' });
            out.push_str(line);
        });
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
    //! Establishing a session and reading replies, against scripted peers on loopback: the
    //! misbehaviours a real server package will not produce on demand (response injection,
    //! dripping, lying).

    use super::scripted::*;
    use super::*;

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
            c.credentials = Some(crate::config::Credentials::Password {
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
