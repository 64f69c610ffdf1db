//! The byte stream under a session: TCP, optionally wrapped in TLS, with every read and write
//! bounded by a deadline.
//!
//! rustls's own `StreamOwned` loops on the socket until a whole record arrives, so a server that
//! drips one byte at a time could hold it past any deadline; here each socket operation is
//! bounded by the time left, and the deadline is checked between them. The socket timeouts
//! that bound them are remembered and set again only when an operation needs a shorter one
//! ([`TIMEOUT_TOLERANCE`]), so a busy connection costs no `setsockopt` per message.
//!
//! Every write goes through [`crate::sigpipe`] (`send`/`sendmsg` with `MSG_NOSIGNAL`): a server
//! that resets the connection while we write is an error of the send, not a SIGPIPE that kills a
//! host process which kept the default disposition.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use rustls::pki_types::ServerName;

use crate::error::{Error, Kind, Result};
use crate::sigpipe::{self, NoSigpipe};
use crate::tls::{self, TlsInfo};
use crate::transcript::{Direction, Transcript};

/// A connection: TCP, and the TLS state once encrypted.
pub(crate) struct Stream {
    sock: Socket,
    tls: Option<Box<ClientConnection>>,
}

/// How far past its deadline a socket operation may return: a socket timeout that was set for
/// an earlier operation is kept as long as it ends no later than this after the current one's
/// deadline. It is what spares a `setsockopt` per read and per write on a busy connection:
/// each message gets a fresh deadline a few microseconds later than the last one, so the
/// timeout set for the first still fits. Small beside any timeout a user can set (they are
/// whole seconds in practice), large beside the time a small message takes. (The kernel's
/// timer granularity, a few milliseconds, comes on top, as it always did.)
pub(crate) const TIMEOUT_TOLERANCE: Duration = Duration::from_millis(20);

/// A TCP socket with the timeouts last set on it, so they are set again only when an operation
/// needs a shorter one (or a longer one, after the shorter one ran out early).
///
/// Invariant: `read_timeout`/`write_timeout` are what SO_RCVTIMEO/SO_SNDTIMEO hold now, or
/// `None` when that is not known (a socket that has just been wrapped). Nothing else may set
/// them on this socket: a `try_clone` shares them, so a clone that reads or writes with its own
/// timeouts may only be used once this socket is given up (as the implicit-TLS probe does).
pub(crate) struct Socket {
    tcp: TcpStream,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl From<TcpStream> for Socket {
    fn from(tcp: TcpStream) -> Socket {
        Socket {
            tcp,
            read_timeout: None,
            write_timeout: None,
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Read,
    Write,
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

/// `WouldBlock` is what a socket timeout looks like on Unix.
fn normalise(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::WouldBlock {
        timed_out()
    } else {
        err
    }
}

impl Socket {
    fn cached(&mut self, op: Op) -> &mut Option<Duration> {
        match op {
            Op::Read => &mut self.read_timeout,
            Op::Write => &mut self.write_timeout,
        }
    }

    fn set_timeout(&mut self, op: Op, timeout: Duration) -> io::Result<()> {
        match op {
            Op::Read => self.tcp.set_read_timeout(Some(timeout))?,
            Op::Write => self.tcp.set_write_timeout(Some(timeout))?,
        }
        *self.cached(op) = Some(timeout);
        Ok(())
    }

    /// Before an operation: make sure the socket's timeout cannot carry it more than
    /// [`TIMEOUT_TOLERANCE`] past `deadline`. No system call when the one already set fits.
    fn arm(&mut self, op: Op, deadline: Instant) -> io::Result<()> {
        let left = time_left(deadline)?;
        match *self.cached(op) {
            Some(set) if set <= left + TIMEOUT_TOLERANCE => Ok(()),
            _ => self.set_timeout(op, left),
        }
    }

    /// After the socket's timeout ran out (EAGAIN): the deadline is reached, or the timeout
    /// was one set earlier and shorter than the time left, which then becomes the timeout.
    fn rearm(&mut self, op: Op, deadline: Instant) -> io::Result<()> {
        let left = time_left(deadline)?;
        self.set_timeout(op, left)
    }

    /// Run one blocking socket operation (a read or a write, possibly through rustls) so that
    /// it ends by `deadline` (+ [`TIMEOUT_TOLERANCE`]): a timeout that ran out early and an
    /// interrupted call are retried with the time left.
    fn within<T>(
        &mut self,
        op: Op,
        deadline: Instant,
        mut call: impl FnMut(&mut TcpStream) -> io::Result<T>,
    ) -> io::Result<T> {
        self.arm(op, deadline)?;
        loop {
            match call(&mut self.tcp) {
                Ok(done) => return Ok(done),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.arm(op, deadline)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.rearm(op, deadline)?,
                Err(e) => return Err(e),
            }
        }
    }

    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        self.within(Op::Read, deadline, |tcp| tcp.read(buf))
    }

    /// Write all of `data` without SIGPIPE.
    fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            let n = self.within(Op::Write, deadline, |tcp| sigpipe::send(tcp, rest))?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Write all of `parts`, in order, in as few `sendmsg` calls as the socket allows (one,
    /// unless its buffer fills), without SIGPIPE.
    fn write_all_vectored(
        &mut self,
        parts: &mut [IoSlice<'_>],
        deadline: Instant,
    ) -> io::Result<()> {
        let mut rest = parts;
        IoSlice::advance_slices(&mut rest, 0);
        while !rest.is_empty() {
            let n = self.within(Op::Write, deadline, |tcp| sigpipe::send_vectored(tcp, rest))?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut rest, n);
        }
        Ok(())
    }

    /// Send what rustls has queued, all of it.
    fn write_tls(&mut self, conn: &mut ClientConnection, deadline: Instant) -> io::Result<()> {
        while conn.wants_write() {
            let n = self.within(Op::Write, deadline, |tcp| {
                conn.write_tls(&mut NoSigpipe(tcp))
            })?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Whether the peer has closed the connection or sent something: one non-blocking peek,
    /// which leaves the socket's mode and its bytes as they were.
    fn peer_has_spoken(&self) -> bool {
        let mut byte = 0u8;
        loop {
            // SAFETY: a valid socket and a one-byte buffer that outlives the call.
            let n = unsafe {
                libc::recv(
                    self.tcp.as_raw_fd(),
                    (&mut byte as *mut u8).cast(),
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                return true; // 0 = closed, 1 = unsolicited bytes
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return false,
                // A pending error (a reset): as good as gone.
                _ => return true,
            }
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
    sock: &'a mut Socket,
    deadline: Instant,
    first: &'a mut Vec<u8>,
}

impl Read for Recorder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(buf, self.deadline).map_err(normalise)?;
        let room = 64usize.saturating_sub(self.first.len());
        self.first.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

impl Stream {
    /// A plaintext stream over `sock`.
    pub(crate) fn plain(sock: TcpStream) -> Stream {
        Stream {
            sock: sock.into(),
            tls: None,
        }
    }

    /// Run a TLS handshake over `sock` and return the encrypted stream.
    pub(crate) fn handshake(
        sock: impl Into<Socket>,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        host: &str,
        port: u16,
        deadline: Instant,
    ) -> Result<Stream> {
        let mut sock = sock.into();
        let mut conn = ClientConnection::new(config, name)
            .map_err(|e| Error::new(Kind::TlsHandshake, "could not start TLS").with_source(e))?;
        let mut first = Vec::new();
        let result = (|| -> io::Result<()> {
            while conn.is_handshaking() {
                sock.write_tls(&mut conn, deadline).map_err(normalise)?;
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
                        let _ = conn.write_tls(&mut NoSigpipe(&sock.tcp));
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
            }
            sock.write_tls(&mut conn, deadline).map_err(normalise)
        })();
        match result {
            Ok(()) => Ok(Stream {
                sock,
                tls: Some(Box::new(conn)),
            }),
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
        self.tls.is_some()
    }

    pub(crate) fn tls_info(&self) -> Option<TlsInfo> {
        self.tls.as_deref().map(tls::info)
    }

    /// Take the socket back for a STARTTLS upgrade (with the timeouts known to be set on it).
    /// Only valid on a plain stream.
    pub(crate) fn into_plain(self) -> Option<Socket> {
        match self.tls {
            None => Some(self.sock),
            Some(_) => None,
        }
    }

    /// The TCP socket of a plain stream.
    pub(crate) fn plain_socket(&self) -> Option<&TcpStream> {
        match self.tls {
            None => Some(&self.sock.tcp),
            Some(_) => None,
        }
    }

    /// Read whatever arrives first, waiting at most until `deadline` (+ [`TIMEOUT_TOLERANCE`]).
    /// `Ok(0)` is end of stream. On a plain stream this is one `recv` straight into `buf`.
    pub(crate) fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        match &mut self.tls {
            None => self.sock.read(buf, deadline).map_err(normalise),
            Some(conn) => read_tls(&mut self.sock, conn, buf, deadline),
        }
    }

    /// Write all of `data` within `deadline` (+ [`TIMEOUT_TOLERANCE`]). Callers give a whole
    /// command group or data chunk at once: on TLS, data up to a record's size (16 KiB) becomes
    /// one record, and whatever the call produced leaves in one `sendmsg` where the socket
    /// takes it.
    pub(crate) fn write_all(&mut self, data: &[u8], deadline: Instant) -> io::Result<()> {
        match &mut self.tls {
            None => self.sock.write_all(data, deadline).map_err(normalise),
            Some(conn) => write_all_tls(&mut self.sock, conn, data, deadline).map_err(normalise),
        }
    }

    /// Write `head` then `data` as if they were one buffer: one `sendmsg` on a plain stream,
    /// and on TLS one record when together they fit in one (16 KiB), so a command group and a
    /// small message leave as one flight without being copied together first.
    pub(crate) fn write_all_parts(
        &mut self,
        head: &[u8],
        data: &[u8],
        deadline: Instant,
    ) -> io::Result<()> {
        let mut parts = [IoSlice::new(head), IoSlice::new(data)];
        match &mut self.tls {
            None => self
                .sock
                .write_all_vectored(&mut parts, deadline)
                .map_err(normalise),
            Some(conn) => {
                let mut rest = &mut parts[..];
                IoSlice::advance_slices(&mut rest, 0);
                while !rest.is_empty() {
                    let n = conn.writer().write_vectored(rest)?;
                    IoSlice::advance_slices(&mut rest, n);
                    // As in `write_all_tls`: flush only when rustls's buffer is full.
                    if n == 0 || !rest.is_empty() {
                        self.sock.write_tls(conn, deadline).map_err(normalise)?;
                    }
                }
                self.sock.write_tls(conn, deadline).map_err(normalise)
            }
        }
    }

    /// Whether rustls holds something from the server that was not read: plaintext, or its
    /// close_notify. No system call.
    pub(crate) fn holds_unread(&self) -> bool {
        // rustls wants no more input only while it holds plaintext not yet read, or after the
        // server's close_notify.
        self.tls.as_ref().is_some_and(|conn| !conn.wants_read())
    }

    /// Whether the server has closed the connection or sent something unasked (usually a 421
    /// before closing) while it sat idle. Such a connection must not be reused. One
    /// non-blocking peek at the socket (`recv` with `MSG_PEEK | MSG_DONTWAIT`).
    pub(crate) fn peer_has_spoken(&self) -> bool {
        self.holds_unread() || self.sock.peer_has_spoken()
    }

    /// Close without ceremony (after QUIT, or when the session is broken).
    pub(crate) fn shutdown(&mut self, deadline: Instant) {
        if let Some(conn) = &mut self.tls {
            conn.send_close_notify();
            let _ = self.sock.write_tls(conn, deadline);
        }
        let _ = self.sock.tcp.shutdown(Shutdown::Both);
    }
}

fn read_tls(
    sock: &mut Socket,
    conn: &mut ClientConnection,
    buf: &mut [u8],
    deadline: Instant,
) -> io::Result<usize> {
    loop {
        match conn.reader().read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let n = sock
            .within(Op::Read, deadline, |tcp| conn.read_tls(tcp))
            .map_err(normalise)?;
        let processed = conn.process_new_packets();
        // Alerts and post-handshake messages (key updates) may need sending either way.
        if conn.wants_write() {
            sock.write_tls(conn, deadline).map_err(normalise)?;
        }
        processed.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if n == 0 {
            // The reader now reports either a clean close (Ok(0)) or UnexpectedEof.
            return match conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                other => other,
            };
        }
    }
}

fn write_all_tls(
    sock: &mut Socket,
    conn: &mut ClientConnection,
    data: &[u8],
    deadline: Instant,
) -> io::Result<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let n = conn.writer().write(rest)?;
        rest = &rest[n..];
        // rustls frames as many full records as the plaintext allows; flushing only when
        // its buffer is full keeps small groups in one record and one segment.
        if n == 0 || !rest.is_empty() {
            sock.write_tls(conn, deadline)?;
        }
    }
    sock.write_tls(conn, deadline)
}

#[cfg(test)]
mod tests {
    //! The deadlines with remembered socket timeouts, against loopback peers. The only timed
    //! checks are "not before the deadline" (what the code guarantees by construction) and
    //! "well within the deadline plus a generous margin" (a loaded machine is slow, not wrong).

    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// Far more than the tolerance: a loaded machine may be slow, but an operation that waited
    /// for a timeout set long before would overshoot by much more than this.
    const MARGIN: Duration = Duration::from_secs(5);
    const LONG: Duration = Duration::from_secs(60);

    fn pair() -> (Stream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (far, _) = listener.accept().unwrap();
        (Stream::plain(near), far)
    }

    /// Arm `stream`'s socket with a long timeout, as a session's first command does.
    fn arm_long(stream: &mut Stream, op: Op) {
        stream.sock.arm(op, Instant::now() + LONG).unwrap();
        let set = stream.sock.cached(op).unwrap();
        assert!(set > LONG - MARGIN, "{set:?}");
    }

    #[test]
    fn a_timeout_is_set_once_while_it_fits_and_shortened_when_it_does_not() {
        let (mut stream, _far) = pair();
        arm_long(&mut stream, Op::Read);
        let first = stream.sock.read_timeout.unwrap();
        // The next operations' deadlines are a little later or the same: nothing is set again.
        for _ in 0..3 {
            stream.sock.arm(Op::Read, Instant::now() + LONG).unwrap();
            assert_eq!(stream.sock.read_timeout, Some(first));
        }
        let on_socket = stream.sock.tcp.read_timeout().unwrap().unwrap();
        assert!(
            on_socket.abs_diff(first) < Duration::from_millis(1),
            "{on_socket:?}"
        );
        // A deadline sooner than the timeout allows: set to the time left, on the socket too.
        stream
            .sock
            .arm(Op::Read, Instant::now() + Duration::from_secs(2))
            .unwrap();
        let shorter = stream.sock.read_timeout.unwrap();
        assert!(shorter <= Duration::from_secs(2), "{shorter:?}");
        let on_socket = stream.sock.tcp.read_timeout().unwrap().unwrap();
        assert!(on_socket <= Duration::from_secs(2), "{on_socket:?}");
        // Writes have their own.
        assert_eq!(stream.sock.write_timeout, None);
        arm_long(&mut stream, Op::Write);
        assert_eq!(stream.sock.read_timeout, Some(shorter));
    }

    #[test]
    fn a_timeout_that_runs_out_before_the_deadline_is_renewed_with_the_time_left() {
        let (mut stream, mut far) = pair();
        // A short timeout left over from an earlier operation (the greeting's short wait).
        stream
            .sock
            .arm(Op::Read, Instant::now() + Duration::from_millis(50))
            .unwrap();
        let answer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            far.write_all(b"250 late but in time\r\n").unwrap();
            far
        });
        let mut buf = [0u8; 64];
        let n = stream
            .read(&mut buf, Instant::now() + Duration::from_secs(30))
            .unwrap();
        assert_eq!(&buf[..n], b"250 late but in time\r\n");
        let far = answer.join().unwrap();

        // Silent peer: the read ends at the deadline, not at the old timeout, and not long after.
        stream
            .sock
            .arm(Op::Read, Instant::now() + Duration::from_millis(50))
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(400);
        let err = stream.read(&mut buf, deadline).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(Instant::now() >= deadline, "gave up before the deadline");
        assert!(Instant::now() < deadline + MARGIN);
        drop(far);
    }

    #[test]
    fn a_dripping_peer_is_cut_off_at_the_deadline_despite_a_long_timeout_set_earlier() {
        let (mut stream, mut far) = pair();
        arm_long(&mut stream, Op::Read);
        let drip = thread::spawn(move || {
            for _ in 0..200 {
                if far.write_all(b"x").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        });
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut buf = [0u8; 64];
        let err = loop {
            match stream.read(&mut buf, deadline) {
                Ok(0) => panic!("the peer closed early"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(Instant::now() < deadline + MARGIN);
        stream.shutdown(Instant::now());
        drop(stream);
        drip.join().unwrap();
    }

    #[test]
    fn a_write_to_a_peer_that_stopped_reading_ends_at_its_deadline_not_at_an_earlier_timeout() {
        let (mut stream, far) = pair();
        arm_long(&mut stream, Op::Write);
        let data = vec![b'x'; 64 * 1024 * 1024];
        let deadline = Instant::now() + Duration::from_millis(300);
        let err = stream.write_all(&data, deadline).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(Instant::now() < deadline + MARGIN);
        let err = stream
            .write_all_parts(b"BDAT 1 LAST\r\n", &data, deadline)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        drop(far);
    }

    #[test]
    fn the_idle_check_peeks_without_consuming_or_blocking() {
        let (stream, mut far) = pair();
        assert!(!stream.peer_has_spoken(), "nothing was sent");
        far.write_all(b"421 4.4.2 idle too long\r\n").unwrap();
        // The peek may run before the bytes arrive on a loaded machine: wait for them.
        let waited = Instant::now();
        while !stream.peer_has_spoken() {
            assert!(waited.elapsed() < MARGIN, "the 421 never showed");
            thread::sleep(Duration::from_millis(5));
        }
        // Still there, for the reply parser; and the socket still blocks (with its timeout).
        let mut stream = stream;
        let mut buf = [0u8; 64];
        let n = stream
            .read(&mut buf, Instant::now() + Duration::from_secs(10))
            .unwrap();
        assert_eq!(&buf[..n], b"421 4.4.2 idle too long\r\n");
        drop(far);
        let waited = Instant::now();
        while !stream.peer_has_spoken() {
            assert!(waited.elapsed() < MARGIN, "the close never showed");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn head_then_data_arrive_as_one_stream_and_empty_parts_write_nothing() {
        let (mut stream, mut far) = pair();
        stream
            .write_all_parts(
                b"MAIL FROM:<a@b>\r\nBDAT 5 LAST\r\n",
                b"hello",
                Instant::now() + LONG,
            )
            .unwrap();
        stream
            .write_all_parts(b"", b"", Instant::now() + LONG)
            .unwrap();
        drop(stream);
        let mut all = Vec::new();
        far.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"MAIL FROM:<a@b>\r\nBDAT 5 LAST\r\nhello");
    }
}
