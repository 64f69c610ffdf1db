//! The byte stream under a session: TCP, optionally wrapped in TLS, with every read and write
//! bounded by a deadline.
//!
//! rustls's own `StreamOwned` loops on the socket until a whole record arrives, so a server that
//! drips one byte at a time could hold it past any deadline; here each socket operation gets
//! only the time left, and the deadline is checked between them.
//!
//! Every write goes through [`crate::sigpipe`] (`send`/`sendmsg` with `MSG_NOSIGNAL`): a server
//! that resets the connection while we write is an error of the send, not a SIGPIPE that kills a
//! host process which kept the default disposition.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use rustls::pki_types::ServerName;

use crate::error::{Error, Kind, Result};
use crate::sigpipe::{self, NoSigpipe};
use crate::tls::{self, TlsInfo};
use crate::transcript::{Direction, Transcript};

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

pub(crate) struct TlsStream {
    conn: ClientConnection,
    sock: TcpStream,
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "deadline reached")
}

fn time_left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(timed_out())
    } else {
        Ok(left)
    }
}

/// `WouldBlock` is what a socket read timeout looks like on Unix.
fn normalise(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::WouldBlock {
        timed_out()
    } else {
        err
    }
}

fn read_socket(sock: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
    sock.set_read_timeout(Some(time_left(deadline)?))?;
    loop {
        match sock.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(normalise),
        }
    }
}

/// Resolve `host` and connect to each address in turn until one answers.
///
/// Every address gets its own `per_attempt` time, all within `deadline`. Addresses come in the
/// order the system resolver prefers (RFC 6724), IPv6 and IPv4 alike.
pub(crate) fn connect(
    host: &str,
    port: u16,
    per_attempt: Duration,
    deadline: Instant,
    transcript: &mut Transcript,
) -> Result<TcpStream> {
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (lookup_host, port)
        .to_socket_addrs()
        .map_err(|e| Error::new(Kind::Dns, format!("could not resolve {host}")).with_source(e))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::new(
            Kind::Dns,
            format!("{host} has no IPv4 or IPv6 address"),
        ));
    }
    let mut failures: Vec<(SocketAddr, io::Error)> = Vec::new();
    for addr in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            failures.push((*addr, timed_out()));
            break;
        }
        transcript.record(Direction::Info, &format!("connecting to {addr}"));
        match TcpStream::connect_timeout(addr, per_attempt.min(left)) {
            Ok(sock) => {
                // Commands and data are written in whole groups; Nagle would only delay the
                // last segment of each group by a delayed-ACK round (40 ms on Linux).
                sock.set_nodelay(true).map_err(|e| {
                    Error::new(Kind::Io, "could not set TCP_NODELAY").with_source(e)
                })?;
                sigpipe::prepare(&sock).map_err(|e| {
                    Error::new(Kind::Io, "could not set SO_NOSIGPIPE").with_source(e)
                })?;
                transcript.record(Direction::Info, &format!("connected to {addr}"));
                return Ok(sock);
            }
            Err(e) => {
                transcript.record(Direction::Info, &format!("{addr}: {e}"));
                failures.push((*addr, normalise(e)));
            }
        }
    }
    Err(connect_error(host, port, failures))
}

fn connect_error(host: &str, port: u16, failures: Vec<(SocketAddr, io::Error)>) -> Error {
    use io::ErrorKind as E;
    let any = |kinds: &[E]| failures.iter().any(|(_, e)| kinds.contains(&e.kind()));
    // The most telling failure wins: a timeout means a filter somewhere, which is what the user
    // needs to hear about even if another address of the same host refused.
    let (kind, what) = if any(&[E::TimedOut]) {
        (Kind::ConnectTimeout, "timed out")
    } else if failures
        .iter()
        .all(|(_, e)| e.kind() == E::ConnectionRefused)
    {
        (Kind::ConnectRefused, "was refused")
    } else if any(&[
        E::NetworkUnreachable,
        E::HostUnreachable,
        E::AddrNotAvailable,
    ]) {
        (Kind::ConnectUnreachable, "failed: network unreachable")
    } else {
        (Kind::Io, "failed")
    };
    let details: Vec<String> = failures
        .iter()
        .map(|(addr, e)| format!("{}: {}", addr.ip(), e))
        .collect();
    Error::new(
        kind,
        format!(
            "connection to {host} port {port} {what} ({})",
            details.join("; ")
        ),
    )
}

/// Reads from a socket while remembering the first bytes, so a failed TLS handshake can tell
/// whether the server was speaking plaintext SMTP instead.
struct Recorder<'a> {
    sock: &'a mut TcpStream,
    deadline: Instant,
    first: &'a mut Vec<u8>,
}

impl Read for Recorder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_socket(self.sock, buf, self.deadline)?;
        let room = 64usize.saturating_sub(self.first.len());
        self.first.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

impl Stream {
    /// Run a TLS handshake over `sock` and return the encrypted stream.
    pub(crate) fn handshake(
        mut sock: TcpStream,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        host: &str,
        port: u16,
        deadline: Instant,
    ) -> Result<Stream> {
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| Error::new(Kind::TlsHandshake, "could not start TLS").with_source(e))?;
        let mut first = Vec::new();
        let result = (|| -> io::Result<()> {
            while conn.is_handshaking() {
                while conn.wants_write() {
                    sock.set_write_timeout(Some(time_left(deadline)?))?;
                    conn.write_tls(&mut NoSigpipe(&sock)).map_err(normalise)?;
                }
                if !conn.is_handshaking() {
                    break;
                }
                if conn.wants_read() {
                    let mut recorder = Recorder {
                        sock: &mut sock,
                        deadline,
                        first: &mut first,
                    };
                    if conn.read_tls(&mut recorder)? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "server closed the connection during the TLS handshake",
                        ));
                    }
                    if let Err(e) = conn.process_new_packets() {
                        // Send the alert that explains the failure to the server, best effort.
                        let _ = conn.write_tls(&mut NoSigpipe(&sock));
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
            }
            while conn.wants_write() {
                sock.set_write_timeout(Some(time_left(deadline)?))?;
                conn.write_tls(&mut NoSigpipe(&sock)).map_err(normalise)?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(Stream::Tls(Box::new(TlsStream { conn, sock }))),
            Err(e) if tls::looks_like_plaintext_smtp(&first) => {
                let shown = String::from_utf8_lossy(&first);
                let shown = shown.lines().next().unwrap_or("").trim();
                Err(Error::new(
                    Kind::PlaintextOnTlsPort,
                    format!(
                        "expected TLS on {host} port {port}, but the server answered in plaintext SMTP ({shown:?})"
                    ),
                )
                .with_source(e))
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Error::new(
                Kind::Timeout,
                format!("TLS handshake with {host} port {port} did not complete in time"),
            )),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
            {
                Err(Error::new(
                    Kind::ConnectionClosed,
                    format!("{host} port {port} closed the connection during the TLS handshake"),
                )
                .with_source(e))
            }
            Err(e) => Err(tls::handshake_failure(&e, host, port)),
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    pub(crate) fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(t) => Some(tls::info(&t.conn)),
        }
    }

    /// Take the TCP socket back for a STARTTLS upgrade. Only valid on a plain stream.
    pub(crate) fn into_plain(self) -> Option<TcpStream> {
        match self {
            Stream::Plain(sock) => Some(sock),
            Stream::Tls(_) => None,
        }
    }

    fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(sock) => sock,
            Stream::Tls(t) => &t.sock,
        }
    }

    /// Read whatever arrives first, waiting at most until `deadline`. `Ok(0)` is end of stream.
    pub(crate) fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        match self {
            Stream::Plain(sock) => read_socket(sock, buf, deadline),
            Stream::Tls(t) => t.read(buf, deadline),
        }
    }

    /// Write all of `data` (one call per command group or data chunk), within `deadline`.
    pub(crate) fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        match self {
            Stream::Plain(sock) => {
                sock.set_write_timeout(Some(time_left(deadline)?))?;
                let mut rest = data;
                while !rest.is_empty() {
                    match sigpipe::send(sock, rest) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => rest = &rest[n..],
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(normalise(e)),
                    }
                    if !rest.is_empty() {
                        sock.set_write_timeout(Some(time_left(deadline)?))?;
                    }
                }
                Ok(())
            }
            Stream::Tls(t) => t.write_all(data, deadline),
        }
    }

    /// Whether the server has closed the connection or sent something unasked (usually a 421
    /// before closing) while it sat idle. Such a connection must not be reused.
    pub(crate) fn peer_has_spoken(&self) -> bool {
        let sock = self.socket();
        if sock.set_nonblocking(true).is_err() {
            return true;
        }
        let mut byte = [0u8; 1];
        let spoken = match sock.peek(&mut byte) {
            Ok(_) => true, // 0 = closed, >0 = unsolicited bytes
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        let restored = sock.set_nonblocking(false).is_ok();
        spoken || !restored
    }

    /// Close without ceremony (after QUIT, or when the session is broken).
    pub(crate) fn shutdown(&mut self, deadline: Instant) {
        if let Stream::Tls(t) = self {
            t.conn.send_close_notify();
            let _ = t.flush(deadline);
        }
        let _ = self.socket().shutdown(Shutdown::Both);
    }
}

impl TlsStream {
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            self.sock.set_read_timeout(Some(time_left(deadline)?))?;
            let n = loop {
                match self.conn.read_tls(&mut self.sock) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other.map_err(normalise)?,
                }
            };
            let processed = self.conn.process_new_packets();
            // Alerts and post-handshake messages (key updates) may need sending either way.
            if self.conn.wants_write() {
                self.flush(deadline)?;
            }
            processed.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if n == 0 {
                // The reader now reports either a clean close (Ok(0)) or UnexpectedEof.
                return match self.conn.reader().read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                    other => other,
                };
            }
        }
    }

    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.conn.writer().write(rest)?;
            rest = &rest[n..];
            // rustls frames as many full records as the plaintext allows; flushing only when
            // its buffer is full keeps small groups in one record and one segment.
            if n == 0 || !rest.is_empty() {
                self.flush(deadline)?;
            }
        }
        self.flush(deadline)
    }

    fn flush(&mut self, deadline: Instant) -> io::Result<()> {
        while self.conn.wants_write() {
            self.sock.set_write_timeout(Some(time_left(deadline)?))?;
            match self.conn.write_tls(&mut NoSigpipe(&self.sock)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(normalise(e)),
            }
        }
        Ok(())
    }
}
