//! The greeting: waiting for it, and telling a port that expects implicit TLS (and so never
//! greets a plaintext client) from a server that is merely slow to greet.

use std::sync::Arc;
use std::time::Instant;

use super::Session;
use crate::config::{Config, GREETING_WAIT, Security};
use crate::error::{Error, Kind, Result, Step};
use crate::smtp::reply::Reply;
use crate::smtp::stream::Stream;
use crate::tls;
use crate::transcript::{Direction, Transcript};

/// After a silent greeting, how long to wait for a TLS answer to our probing ClientHello
/// (connecting included).
const TLS_PROBE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Where the TLS hello that asks a silent port whether it expects implicit TLS is sent.
#[derive(Clone, Copy)]
enum Probe {
    NewConnection,
    ThisConnection,
}

impl Session {
    /// Wait for the greeting. A plaintext connection that stays silent for [`GREETING_WAIT`]
    /// is most often an implicit-TLS port (465) reached with STARTTLS: such a server waits for
    /// a TLS hello and never greets, and waiting the whole command timeout for nothing turns
    /// a misconfiguration into a hung web request. So after the short wait a TLS hello goes to
    /// the same address on a second connection; if TLS answers, the send fails at once and says
    /// so. Otherwise the server is merely slow (Postfix's postscreen delays its greeting on
    /// purpose, and drops clients that talk first, hence the second connection) and the wait
    /// goes on up to the command timeout.
    pub(super) fn receive_greeting(
        &mut self,
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<Reply> {
        const WHAT: &str = "for its greeting";
        let deadline = self.deadline(budget);
        if self.security == Security::Tls {
            return self.receive_reply(transcript, deadline, Step::Greeting, WHAT);
        }
        let started = Instant::now();
        let short = (started + GREETING_WAIT).min(deadline);
        let mut checked = false;
        if short < deadline {
            match self.receive_reply(transcript, short, Step::Greeting, WHAT) {
                Err(e) if e.kind() == Kind::Timeout && self.received.is_empty() => {
                    checked = true;
                    transcript.record(
                        Direction::Info,
                        &format!(
                            "no greeting after {} s; asking a second connection whether port {} \
                             expects implicit TLS",
                            GREETING_WAIT.as_secs(),
                            self.port
                        ),
                    );
                    if self.answers_tls_hello(Probe::NewConnection, config, tls_config, budget) {
                        return Err(self.implicit_tls_port());
                    }
                }
                // Part of a greeting came: the server speaks; let it finish.
                Err(e) if e.kind() == Kind::Timeout => {}
                other => return other,
            }
        }
        match self.receive_reply(transcript, deadline, Step::Greeting, WHAT) {
            Err(e) if e.kind() == Kind::Timeout => {
                // The session is given up now, so its own connection may take the hello.
                if !checked
                    && self.received.is_empty()
                    && self.answers_tls_hello(Probe::ThisConnection, config, tls_config, budget)
                {
                    return Err(self.implicit_tls_port());
                }
                Err(Error::new(
                    Kind::Timeout,
                    format!(
                        "no answer from the server {WHAT} after {:.1} s",
                        started.elapsed().as_secs_f64()
                    ),
                )
                .at_step(Step::Greeting))
            }
            other => other,
        }
    }

    fn implicit_tls_port(&self) -> Error {
        Error::new(
            Kind::TlsOnPlaintextPort,
            format!(
                "{} port {} sent no SMTP greeting within {} s but answered a TLS hello: it \
                 expects implicit TLS, not {}",
                self.host,
                self.port,
                GREETING_WAIT.as_secs(),
                match self.security {
                    Security::None => "plaintext SMTP",
                    _ => "STARTTLS",
                }
            ),
        )
        .at_step(Step::Greeting)
    }

    /// Whether the server answers a TLS ClientHello, sent on `probe`: a new connection to the
    /// address this session is connected to while the session may still be greeted (see
    /// [`Session::receive_greeting`]), or the session's own once it is being given up.
    fn answers_tls_hello(
        &self,
        probe: Probe,
        config: &Config,
        tls_config: &Arc<rustls::ClientConfig>,
        budget: Instant,
    ) -> bool {
        let Some(sock) = self.stream.as_ref().and_then(Stream::plain_socket) else {
            return false;
        };
        (|| -> Option<bool> {
            let now = Instant::now();
            let deadline = (now + TLS_PROBE_WAIT).min(budget);
            let wait = deadline
                .checked_duration_since(now)
                .filter(|w| !w.is_zero())?;
            let name = tls::server_name(&config.host, &config.tls).ok()?;
            let mut conn = rustls::ClientConnection::new(tls_config.clone(), name).ok()?;
            let mut hello = Vec::new();
            conn.write_tls(&mut hello).ok()?;
            let socket = match probe {
                Probe::NewConnection => {
                    std::net::TcpStream::connect_timeout(&sock.peer_addr().ok()?, wait).ok()?
                }
                Probe::ThisConnection => sock.try_clone().ok()?,
            };
            let mut stream = Stream::plain(socket);
            stream.write_all(&hello, deadline).ok()?;
            let mut answer = [0u8; 5];
            let n = stream.read(&mut answer, deadline).ok()?;
            Some(tls::looks_like_tls(&answer[..n]))
        })()
        .unwrap_or(false)
    }
}
