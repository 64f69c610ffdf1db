//! The client handle: one configuration, one reusable SMTP session.
//!
//! Like PHPMailer's `SMTPKeepAlive`, a client keeps its session open between messages. When the
//! server has dropped an idle session, the next send reconnects; when a reused session turns out
//! dead before the server could have taken a message (nothing acknowledged, and the end of the
//! message not yet written), the message is sent again on a fresh connection — never after, so
//! no recipient can get it twice. A reply lost after the end of the message went out leaves the
//! outcome unknown, and the error says so.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{Config, Credentials, PORT_AUTO, Security};
use crate::error::hint;
use crate::error::{Error, RejectedRecipient, Result};
use crate::message::Message;
use crate::smtp::reply::Reply;
use crate::smtp::session::{Outgoing, Session};
use crate::tls::{self, TlsInfo};
use crate::transcript::{Direction, Transcript};

/// Who a message is from and to, as told to the server (MAIL FROM / RCPT TO). It may differ from
/// the message's From/To headers; Bcc recipients appear only here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    from: String,
    to: Vec<String>,
}

impl Envelope {
    /// `from` may be empty (the null reverse path `<>`, used for bounces); `to` must not be.
    pub fn new(from: impl Into<String>, to: Vec<String>) -> Result<Envelope> {
        let from = from.into();
        crate::address::check_envelope_address(&from, "envelope sender", true)?;
        if to.is_empty() {
            return Err(Error::invalid_input("recipients: at least one is needed"));
        }
        for (i, address) in to.iter().enumerate() {
            crate::address::check_envelope_address(
                address,
                &format!("recipient {}", i + 1),
                false,
            )?;
        }
        Ok(Envelope { from, to })
    }

    pub fn from(&self) -> &str {
        &self.from
    }

    pub fn to(&self) -> &[String] {
        &self.to
    }
}

/// What the server said when it accepted a message.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The final reply after the message data; its text usually carries the queue id.
    pub reply: Reply,
    /// Recipients the server accepted.
    pub accepted: Vec<String>,
    /// Recipients the server refused (only non-empty with `allow_partial_recipients`).
    pub rejected: Vec<RejectedRecipient>,
    pub port: u16,
    /// The security mode in effect (never `Auto`).
    pub security: Security,
    /// TLS details when the connection was encrypted.
    pub tls: Option<TlsInfo>,
    /// Message size in bytes as read from the caller: line ends as given, before dot-stuffing.
    pub size: u64,
    /// The Message-ID of a message built with [`Message`]; `None` for raw messages.
    pub message_id: Option<String>,
}

/// An SMTP client. Keeps its session open between messages and reconnects when needed.
/// Used by one thread at a time; separate clients work in parallel.
pub struct Client {
    config: Config,
    helo_name: String,
    tls_config: Arc<rustls::ClientConfig>,
    session: Option<Session>,
    transcript: Transcript,
    /// With the automatic port: the port and security chosen on first use, kept for good.
    chosen: Option<(u16, Security)>,
    /// With persistent connections: where this client's session goes when it is closed.
    pool_key: Option<crate::pool::Key>,
}

impl Client {
    /// Validate `config` and prepare TLS (trust anchors are loaded here, so a missing CA file
    /// fails now). No network I/O happens until the first send.
    pub fn new(config: Config) -> Result<Client> {
        config.validate()?;
        let helo_name = config
            .helo_name
            .clone()
            .unwrap_or_else(crate::address::default_helo_name);
        let tls_config = tls::shared_client_config(&config.tls)?;
        let pool_key = config
            .persistent
            .then(|| crate::pool::Key::new(&config, &helo_name, &tls_config));
        if config.effective_security() != Security::None {
            tls::server_name(&config.host, &config.tls)?;
        }
        let transcript = Transcript::new(config.sink.clone());
        Ok(Client {
            config,
            helo_name,
            tls_config,
            session: None,
            transcript,
            chosen: None,
            pool_key,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Submit a message read from `message`. `size`, when known, is declared to servers that
    /// advertise SIZE, and a message over their limit is refused before it is sent; count its
    /// line ends as CRLF, as they are sent ([`crate::smtp::data::message_size`]).
    ///
    /// Succeeds only when the server accepted the message (its final 2xx reply).
    pub fn send(
        &mut self,
        envelope: &Envelope,
        message: &mut dyn Read,
        size: Option<u64>,
    ) -> Result<Receipt> {
        self.transcript.set_mark();
        self.deliver(envelope, message, size, None, false)
    }

    /// Submit a composed message: the envelope comes from its From (or envelope sender) and its
    /// To, Cc and Bcc; attachments are streamed from their files while sending.
    pub fn send_message(&mut self, message: &Message) -> Result<Receipt> {
        self.send_message_with_progress(message, &mut |_, _| {})
    }

    /// [`Client::send_message`], calling `progress(bytes_sent, total_bytes)` as the message
    /// goes out (for progress bars; called on this thread, about every 64 KiB).
    pub fn send_message_with_progress(
        &mut self,
        message: &Message,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Receipt> {
        self.transcript.set_mark();
        // Cheap checks before connecting: a message that cannot be sent needs no connection.
        if let Err(e) = message.check_sendable() {
            return Err(self.finish(e));
        }
        self.drop_dead_session();
        let smtputf8 = match self.session() {
            Ok((session, _)) => session.extensions().smtputf8,
            Err(e) => return Err(self.finish(e)),
        };
        let mut prepared = match message.prepare(smtputf8) {
            Ok(p) => p,
            Err(e) => return Err(self.finish(e)),
        };
        let envelope = Envelope {
            from: std::mem::take(&mut prepared.envelope_from),
            to: std::mem::take(&mut prepared.recipients),
        };
        let total = prepared.size;
        let mut counted = Counted {
            inner: &mut prepared.stream,
            sent: 0,
            total,
            progress,
        };
        let mut receipt = self.deliver(
            &envelope,
            &mut counted,
            Some(total),
            Some(prepared.eight_bit),
            prepared.utf8,
        )?;
        receipt.message_id = Some(prepared.message_id);
        Ok(receipt)
    }

    /// Submit a message rendered earlier ([`Message::prepare`] output kept by the outbox), with
    /// what rendering found out about it.
    pub(crate) fn send_rendered(
        &mut self,
        envelope: &Envelope,
        message: &mut dyn Read,
        size: u64,
        eight_bit: bool,
        utf8_headers: bool,
    ) -> Result<Receipt> {
        self.transcript.set_mark();
        self.deliver(envelope, message, Some(size), Some(eight_bit), utf8_headers)
    }

    /// Submit a message held in memory. Bare CR and LF line endings are sent as CRLF.
    pub fn send_bytes(&mut self, envelope: &Envelope, message: &[u8]) -> Result<Receipt> {
        let mut reader = message;
        self.transcript.set_mark();
        self.deliver(
            envelope,
            &mut reader,
            Some(crate::smtp::data::message_size(message)),
            Some(!message.is_ascii()),
            false,
        )
    }

    fn deliver(
        &mut self,
        envelope: &Envelope,
        message: &mut dyn Read,
        size: Option<u64>,
        eight_bit: Option<bool>,
        utf8_headers: bool,
    ) -> Result<Receipt> {
        let budget = Instant::now() + self.config.timeouts.send_total;
        let mut retried = false;
        let mut source = Replayable::new(message);
        loop {
            let reused = self.drop_dead_session();
            if !reused && !retried {
                // Only a reused session is ever retried: nothing needs keeping.
                source.stop_keeping();
            }
            let (session, transcript) = match self.session() {
                Ok(s) => s,
                Err(e) => return Err(self.finish(e)),
            };
            let outgoing = Outgoing {
                from: envelope.from(),
                to: envelope.to(),
                body: &mut source,
                size,
                eight_bit,
                utf8_headers,
            };
            match session.transaction(outgoing, transcript, budget) {
                Ok(delivered) => {
                    let receipt = Receipt {
                        reply: delivered.reply,
                        accepted: delivered.accepted,
                        rejected: delivered.rejected,
                        port: session.port(),
                        security: session.security(),
                        tls: session.tls_info(),
                        size: delivered.size,
                        message_id: None,
                    };
                    self.drop_unusable_session();
                    return Ok(receipt);
                }
                Err(failure) => {
                    self.drop_unusable_session();
                    if reused && failure.retry_safe && !retried && source.rewind() {
                        retried = true;
                        self.session = None;
                        self.transcript.record(
                            Direction::Info,
                            "the reused connection had gone away before the server accepted anything; reconnecting and sending again",
                        );
                        continue;
                    }
                    return Err(self.finish(failure.error));
                }
            }
        }
    }

    /// The open session and the transcript, connecting first when there is no session.
    fn session(&mut self) -> Result<(&mut Session, &mut Transcript)> {
        let Client {
            config,
            helo_name,
            tls_config,
            session,
            transcript,
            chosen,
            ..
        } = self;
        if session.is_none() {
            let budget = Instant::now() + config.timeouts.send_total;
            let opened = match *chosen {
                None if config.port == PORT_AUTO => {
                    let (opened, choice) =
                        choose_port(config, tls_config, helo_name, transcript, budget)?;
                    *chosen = Some(choice);
                    opened
                }
                None => Session::open(config, tls_config, helo_name, transcript, budget)?,
                Some((port, security)) => {
                    let mut fixed = config.clone();
                    fixed.port = port;
                    fixed.security = security;
                    Session::open(&fixed, tls_config, helo_name, transcript, budget)?
                }
            };
            *session = Some(opened);
        }
        let session = session
            .as_mut()
            .ok_or_else(|| Error::new(crate::error::Kind::ConnectionClosed, "no session"))?;
        Ok((session, transcript))
    }

    /// The port in use: the configured one, or the automatic choice once made (0 before).
    pub fn port(&self) -> u16 {
        self.chosen.map_or(self.config.port, |(port, _)| port)
    }

    /// The security mode in use on [`Client::port`].
    pub fn security(&self) -> Security {
        match self.chosen {
            Some((_, security)) => security,
            None => self.config.effective_security(),
        }
    }

    /// Take a pooled session when persistent and none is open; forget a kept session the server
    /// closed while it was idle. Returns whether a session is being reused.
    fn drop_dead_session(&mut self) -> bool {
        if let (None, Some(key)) = (&self.session, &self.pool_key) {
            if let Some((pooled, chosen)) =
                crate::pool::take(key, &self.config, &mut self.transcript)
            {
                self.session = Some(pooled);
                self.chosen = self.chosen.or(chosen);
            }
        }
        match &self.session {
            Some(s) if s.inherited() => {
                self.transcript.record(
                    Direction::Info,
                    "the open connection was made before fork() by the parent process, which \
                     keeps using it; opening a new one",
                );
                // Dropped, not QUIT: only this process's copy of the socket is closed.
                self.session = None;
                false
            }
            Some(s) if s.token_expired() => {
                self.transcript.record(
                    Direction::Info,
                    "the OAuth2 access token of this connection is past its life; reconnecting with a fresh one",
                );
                if let Some(mut old) = self.session.take() {
                    old.quit(&mut self.transcript);
                }
                false
            }
            Some(s) if s.went_away_while_idle() => {
                self.transcript.record(
                    Direction::Info,
                    "the server closed the idle connection; reconnecting",
                );
                self.session = None;
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    fn drop_unusable_session(&mut self) {
        if self.session.as_ref().is_some_and(|s| !s.is_usable()) {
            self.session = None;
        }
    }

    /// Attach the hint and this operation's transcript to an error on its way out.
    fn finish(&self, mut error: Error) -> Error {
        if error.hint().is_empty() {
            let context = hint::Context {
                host: &self.config.host,
                port: self.port(),
                security: self.security(),
                helo_name: &self.helo_name,
                credentials: self.config.credentials.as_ref().map(Credentials::kind),
                api: self.config.api,
            };
            let hint = hint::hint(&error, &context);
            error.set_hint(hint);
        }
        error.set_transcript(self.transcript.since_mark());
        error
    }

    /// Check the connection is alive (connecting first if needed).
    pub fn noop(&mut self) -> Result<Reply> {
        self.transcript.set_mark();
        self.drop_dead_session();
        let budget = Instant::now() + self.config.timeouts.send_total;
        let result = match self.session() {
            Ok((session, transcript)) => session.noop(transcript, budget),
            Err(e) => Err(e),
        };
        self.drop_unusable_session();
        result.map_err(|e| self.finish(e))
    }

    /// Abort any transaction in progress (RSET) on an open connection; nothing to do without one.
    pub fn reset(&mut self) -> Result<()> {
        self.transcript.set_mark();
        let budget = Instant::now() + self.config.timeouts.send_total;
        let result = match self.session.as_mut() {
            Some(session) => session.reset(&mut self.transcript, budget).map(|_| ()),
            None => Ok(()),
        };
        self.drop_unusable_session();
        result.map_err(|e| self.finish(e))
    }

    /// Say QUIT and close the connection; a later send reconnects.
    /// With persistent connections, the session goes back to the process-wide pool instead.
    pub fn close(&mut self) {
        if let Some(mut session) = self.session.take() {
            match &self.pool_key {
                Some(key) if session.is_usable() && !session.went_away_while_idle() => {
                    crate::pool::put(key.clone(), session, self.chosen);
                }
                _ => session.quit(&mut self.transcript),
            }
        }
    }

    /// Whether a session is open (it may still have been closed by the server since).
    pub fn is_connected(&self) -> bool {
        self.session.is_some()
    }

    /// The redacted transcript of this client's recent sessions.
    pub fn transcript(&self) -> String {
        self.transcript.text()
    }
}

/// The caller's message, with what was read of it kept while a retry may still need it: the
/// first BDAT chunk goes out together with the envelope, so a reused connection found dead (or
/// answering 421 to MAIL) has already consumed up to a chunk of a reader that cannot be read
/// again. A message that outgrew [`Replayable::KEEP`] is not retried.
struct Replayable<'a> {
    inner: &'a mut dyn Read,
    kept: Vec<u8>,
    /// While replaying: how much of `kept` was given out again.
    replayed: usize,
    keeping: bool,
    overflowed: bool,
}

impl<'a> Replayable<'a> {
    /// More than one BDAT chunk (1 MiB) and the read that completes it.
    const KEEP: usize = 2 * 1024 * 1024;

    fn new(inner: &'a mut dyn Read) -> Replayable<'a> {
        Replayable {
            inner,
            kept: Vec::new(),
            replayed: 0,
            keeping: true,
            overflowed: false,
        }
    }

    fn stop_keeping(&mut self) {
        self.keeping = false;
        self.overflowed = true;
        self.kept = Vec::new();
    }

    /// Start again from the first byte; false when that is no longer possible.
    fn rewind(&mut self) -> bool {
        self.replayed = 0;
        !self.overflowed
    }
}

impl Read for Replayable<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.replayed < self.kept.len() {
            let n = buf.len().min(self.kept.len() - self.replayed);
            buf[..n].copy_from_slice(&self.kept[self.replayed..self.replayed + n]);
            self.replayed += n;
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        if self.keeping {
            if self.kept.len() + n > Self::KEEP {
                self.stop_keeping();
            } else {
                self.kept.extend_from_slice(&buf[..n]);
                self.replayed = self.kept.len();
            }
        }
        Ok(n)
    }
}

/// A reader that reports how much of the message has been read (and so handed to the socket).
struct Counted<'a> {
    inner: &'a mut dyn Read,
    sent: u64,
    total: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        (self.progress)(self.sent, self.total);
        Ok(n)
    }
}

/// The automatic port: open a session on every candidate at once and keep the most preferred
/// one that fully works (connects, encrypts with a trusted certificate, authenticates). A less
/// preferred success waits until every more preferred candidate has failed.
fn choose_port(
    config: &Config,
    tls_config: &Arc<rustls::ClientConfig>,
    helo_name: &str,
    transcript: &mut Transcript,
    budget: Instant,
) -> Result<(Session, (u16, Security))> {
    let candidates = config.auto_candidates();
    transcript.record(
        Direction::Info,
        &format!(
            "choosing a port automatically among {}",
            candidates
                .iter()
                .map(|(p, s)| format!("{p} ({})", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    for (index, &(port, security)) in candidates.iter().enumerate() {
        let mut candidate = config.clone();
        candidate.port = port;
        candidate.security = security;
        // Other threads must not call the caller's log callback: lines are replayed below.
        candidate.sink = None;
        let tls_config = tls_config.clone();
        let helo_name = helo_name.to_string();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut lines = Transcript::new(None);
            let result = Session::open(&candidate, &tls_config, &helo_name, &mut lines, budget);
            if let Err(std::sync::mpsc::SendError((_, Ok(mut unwanted), mut lines))) =
                tx.send((index, result, lines))
            {
                unwanted.quit(&mut lines);
            }
        });
    }
    drop(tx);
    let mut results: Vec<Option<(Result<Session>, Transcript)>> =
        (0..candidates.len()).map(|_| None).collect();
    for next in 0..candidates.len() {
        while results[next].is_none() {
            match rx.recv() {
                Ok((index, result, lines)) => results[index] = Some((result, lines)),
                // Every thread answers (each open is bounded by the budget); this is a panic.
                Err(_) => break,
            }
        }
        let Some((result, lines)) = results[next].take() else {
            break;
        };
        transcript.absorb(&lines);
        match result {
            Ok(session) => {
                let (port, security) = candidates[next];
                transcript.record(
                    Direction::Info,
                    &format!("using port {port} ({})", security.as_str()),
                );
                for (result, lines) in results.into_iter().flatten() {
                    if let Ok(mut other) = result {
                        let mut lines = lines;
                        other.quit(&mut lines);
                    }
                }
                return Ok((session, (port, security)));
            }
            Err(error) => results[next] = Some((Err(error), Transcript::new(None))),
        }
    }
    Err(no_port_worked(config, helo_name, &candidates, results))
}

/// One error for a failed automatic choice: the most telling failure, and every port's story.
fn no_port_worked(
    config: &Config,
    helo_name: &str,
    candidates: &[(u16, Security)],
    results: Vec<Option<(Result<Session>, Transcript)>>,
) -> Error {
    use crate::error::Kind;
    let errors: Vec<(u16, Security, Error)> = candidates
        .iter()
        .zip(results)
        .filter_map(|(&(port, security), r)| match r {
            Some((Err(e), _)) => Some((port, security, e)),
            _ => None,
        })
        .collect();
    let network_level = |k: Kind| {
        matches!(
            k,
            Kind::ConnectRefused
                | Kind::ConnectTimeout
                | Kind::ConnectUnreachable
                | Kind::Timeout
                | Kind::ConnectionClosed
                | Kind::Dns
        )
    };
    let listed: Vec<String> = errors
        .iter()
        .map(|(port, security, e)| format!("{port} ({}): {}", security.as_str(), e.message()))
        .collect();
    let message = format!("no port worked on {}: {}", config.host, listed.join("; "));
    let all_filtered = !errors.is_empty()
        && errors
            .iter()
            .all(|(_, _, e)| matches!(e.kind(), Kind::ConnectTimeout));
    let telling = errors
        .iter()
        .position(|(_, _, e)| !network_level(e.kind()))
        .unwrap_or(0);
    let Some((port, security, error)) = errors.into_iter().nth(telling) else {
        return Error::new(Kind::Io, message);
    };
    let mut combined = Error::new(error.kind(), message);
    if let Some(reply) = error.reply() {
        combined = combined.with_reply(reply.clone());
    }
    let hint = if all_filtered {
        format!(
            "Every submission port timed out: outbound mail traffic from this machine is filtered (common on cloud hosts). Ask your host to allow outbound {}, or use your mail provider's HTTP API.",
            candidates
                .iter()
                .map(|(p, _)| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        hint::hint(
            &error,
            &hint::Context {
                host: &config.host,
                port,
                security,
                helo_name,
                credentials: config.credentials.as_ref().map(Credentials::kind),
                api: config.api,
            },
        )
    };
    combined.set_hint(hint);
    combined
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn a_replayable_message_starts_again_only_while_all_of_it_was_kept() {
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut inner = &data[..];
        let mut source = Replayable::new(&mut inner);
        let mut first = vec![0; 100_000];
        source.read_exact(&mut first).unwrap();
        assert!(source.rewind());
        let mut all = Vec::new();
        source.read_to_end(&mut all).unwrap();
        assert_eq!(all, data, "the kept part, then the rest");

        let big = vec![7u8; Replayable::KEEP + 1];
        let mut inner = &big[..];
        let mut source = Replayable::new(&mut inner);
        std::io::copy(&mut source, &mut std::io::sink()).unwrap();
        assert!(!source.rewind(), "more than KEEP was read: no retry");

        let mut inner = &data[..];
        let mut source = Replayable::new(&mut inner);
        source.stop_keeping();
        source.read_exact(&mut first).unwrap();
        assert!(!source.rewind());
    }

    #[test]
    fn the_automatic_ports_error_hint_names_the_ehlo_name_in_use() {
        let config = Config::new("mail.example.com");
        let candidates = [(587, Security::StartTls), (465, Security::Tls)];
        let results = vec![
            Some((
                Err(Error::new(Kind::ConnectRefused, "refused")),
                Transcript::new(None),
            )),
            Some((
                Err(Error::new(Kind::Ehlo, "EHLO refused")),
                Transcript::new(None),
            )),
        ];
        let error = no_port_worked(&config, "host.example.net", &candidates, results);
        assert_eq!(error.kind(), Kind::Ehlo, "the telling failure");
        assert!(
            error.message().contains("587 (starttls): refused"),
            "{}",
            error.message()
        );
        assert!(
            error.hint().contains("\"host.example.net\""),
            "{}",
            error.hint()
        );
    }
}
