//! One client connection: a plaintext or TLS stream with an input buffer (so pipelined commands
//! are read together and answered in order) and an output buffer that is flushed whenever the
//! server is about to wait for input.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

const READ_SIZE: usize = 16 * 1024;

pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// Only while switching from plaintext to TLS.
    Gone,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(t) => Some(&t.sock),
            Stream::Gone => None,
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
            Stream::Gone => Err(gone()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
            Stream::Gone => Err(gone()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
            Stream::Gone => Ok(()),
        }
    }
}

/// What [`Conn::read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A command line without its line ending.
    Text(Vec<u8>),
    /// A line longer than the limit (it has been read and thrown away).
    TooLong,
    /// A TLS record (a ClientHello) where a plaintext command was expected.
    TlsHello,
}

/// Where [`Conn::read_data`] is within the current line of the message.
#[derive(Clone, Copy)]
enum DataState {
    LineStart,
    /// A dot at the start of a line.
    Dot,
    /// A dot and CR at the start of a line.
    DotCr,
    Middle,
    /// A CR (not at the start of a line).
    Cr,
}

pub(super) struct Conn {
    stream: Stream,
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

/// Whether an I/O error is a read or write timeout.
pub(super) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Conn {
    pub fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            input: Vec::with_capacity(READ_SIZE),
            pos: 0,
            output: Vec::with_capacity(1024),
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// The negotiated protocol version and cipher suite, for the trace header.
    pub fn tls_description(&self) -> Option<String> {
        let Stream::Tls(t) = &self.stream else {
            return None;
        };
        let version = match t.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "TLS".to_string(),
        };
        match t.conn.negotiated_cipher_suite() {
            Some(suite) => Some(format!("{version}, {:?}", suite.suite())),
            None => Some(version),
        }
    }

    /// Queue a reply line (or several, already joined with CRLF) without its final CRLF.
    pub fn reply(&mut self, text: &str) {
        self.output.extend_from_slice(text.as_bytes());
        self.output.extend_from_slice(b"\r\n");
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.output.is_empty() {
            let result = self.stream.write_all(&self.output);
            self.output.clear();
            result?;
        }
        self.stream.flush()
    }

    /// Throw away input that has been received but not read (plaintext sent after STARTTLS
    /// must never be taken as if it had come over TLS).
    pub fn discard_input(&mut self) {
        self.input.clear();
        self.pos = 0;
    }

    /// Upgrade a plaintext connection to TLS and complete the handshake.
    pub fn start_tls(&mut self, config: Arc<ServerConfig>) -> io::Result<()> {
        self.flush()?;
        self.discard_input();
        let tcp = match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(tcp) => tcp,
            other => {
                self.stream = other;
                return Err(io::Error::other("already using TLS"));
            }
        };
        let conn = ServerConnection::new(config).map_err(io::Error::other)?;
        let mut tls = Box::new(StreamOwned::new(conn, tcp));
        handshake(&mut tls)?;
        self.stream = Stream::Tls(tls);
        Ok(())
    }

    /// Read more input into the buffer, flushing pending replies first.
    fn fill(&mut self) -> io::Result<()> {
        self.flush()?;
        if self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        } else if self.pos > 0 {
            self.input.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.input.len();
        self.input.resize(old + READ_SIZE, 0);
        let result = loop {
            match self.stream.read(&mut self.input[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match result {
            Ok(n) => n,
            Err(e) => {
                self.input.truncate(old);
                return Err(e);
            }
        };
        self.input.truncate(old + n);
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection",
            ));
        }
        Ok(())
    }

    /// Read one command line of at most `max` bytes (CRLF or a bare LF ends it). On a plaintext
    /// connection, a TLS record at the start of a line is reported as [`Line::TlsHello`].
    pub fn read_line(&mut self, max: usize) -> io::Result<Line> {
        let mut discarding = false;
        loop {
            let pending = &self.input[self.pos..];
            if !discarding
                && matches!(self.stream, Stream::Plain(_))
                && pending.first() == Some(&0x16)
            {
                return Ok(Line::TlsHello);
            }
            if let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let start = self.pos;
                let end = start + i;
                self.pos = end + 1;
                if discarding {
                    return Ok(Line::TooLong);
                }
                let mut line = &self.input[start..end];
                if let Some(stripped) = line.strip_suffix(b"\r") {
                    line = stripped;
                }
                if line.len() > max {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Text(line.to_vec()));
            }
            if pending.len() > max + 1 {
                discarding = true;
                self.pos = self.input.len();
            }
            self.fill()?;
        }
    }

    /// Read a DATA message up to the `<CRLF>.<CRLF>` that ends it, undoing dot-stuffing, and
    /// hand it to `sink` piece by piece. Only CRLF-dot-CRLF ends the data: a bare LF or CR
    /// around the dot does not (no SMTP smuggling through this server).
    pub fn read_data(&mut self, sink: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        let mut state = DataState::LineStart;
        let mut out: Vec<u8> = Vec::with_capacity(READ_SIZE);
        loop {
            if self.pos == self.input.len() {
                if !out.is_empty() {
                    sink(&out);
                    out.clear();
                }
                self.fill()?;
            }
            let b = self.input[self.pos];
            self.pos += 1;
            state = match state {
                DataState::LineStart if b == b'.' => DataState::Dot,
                DataState::Dot if b == b'\r' => DataState::DotCr,
                DataState::DotCr if b == b'\n' => {
                    if !out.is_empty() {
                        sink(&out);
                    }
                    return Ok(());
                }
                DataState::DotCr => {
                    // ".\r" then something else: a stuffed line starting with CR.
                    out.push(b'\r');
                    after_byte(&mut out, b, DataState::Cr)
                }
                // The leading dot of a stuffed line is dropped.
                DataState::Dot | DataState::LineStart | DataState::Middle => {
                    after_byte(&mut out, b, DataState::Middle)
                }
                DataState::Cr => after_byte(&mut out, b, DataState::Cr),
            };
        }
    }

    /// Read exactly `n` bytes (a BDAT chunk) and hand them to `sink` piece by piece.
    pub fn read_exact_to(&mut self, mut n: u64, sink: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        while n > 0 {
            if self.pos == self.input.len() {
                self.fill()?;
            }
            let available = (self.input.len() - self.pos) as u64;
            let take = available.min(n) as usize;
            sink(&self.input[self.pos..self.pos + take]);
            self.pos += take;
            n -= take as u64;
        }
        Ok(())
    }

    /// Send what is queued and close: TLS close_notify, then shut the socket down.
    pub fn close(mut self) {
        let _ = self.flush();
        if let Stream::Tls(t) = &mut self.stream {
            t.conn.send_close_notify();
            while t.conn.wants_write() {
                if !matches!(t.conn.write_tls(&mut t.sock), Ok(n) if n > 0) {
                    break;
                }
            }
        }
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

/// Push `b` as message content; the next state follows from it (`cr_state` after a CR).
fn after_byte(out: &mut Vec<u8>, b: u8, cr_state: DataState) -> DataState {
    out.push(b);
    match b {
        b'\r' => DataState::Cr,
        b'\n' if matches!(cr_state, DataState::Cr) => DataState::LineStart,
        _ => DataState::Middle,
    }
}

/// Complete a TLS handshake (bounded by the socket's timeouts).
pub(super) fn handshake(tls: &mut StreamOwned<ServerConnection, TcpStream>) -> io::Result<()> {
    while tls.conn.is_handshaking() {
        let (read, written) = tls.conn.complete_io(&mut tls.sock)?;
        if read == 0 && written == 0 && tls.conn.is_handshaking() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection during the TLS handshake",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connection whose peer has already sent `bytes` and closed.
    fn conn_with(bytes: &[u8]) -> Conn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.write_all(bytes).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        // Keep the client's read side open until the test ends.
        std::mem::forget(client);
        Conn::new(Stream::Plain(server))
    }

    fn data(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut conn = conn_with(bytes);
        let mut got = Vec::new();
        conn.read_data(&mut |b| got.extend_from_slice(b)).unwrap();
        let mut rest = Vec::new();
        while let Ok(Line::Text(l)) = conn.read_line(100) {
            rest.extend_from_slice(&l);
            rest.push(b'|');
        }
        (got, rest)
    }

    #[test]
    fn data_is_unstuffed_and_ends_only_at_crlf_dot_crlf() {
        let (got, rest) = data(b"a\r\n..b\r\n.\r\nQUIT\r\n");
        assert_eq!(got, b"a\r\n.b\r\n");
        assert_eq!(rest, b"QUIT|");
        let (got, _) = data(b".\r\n");
        assert_eq!(got, b"");
        let (got, _) = data(b"x\n.\nstill\r.\rdata\r\n.\r\n");
        assert_eq!(got, b"x\n.\nstill\r.\rdata\r\n");
        let (got, _) = data(b"..\r\n.x\r\n.\rz\r\n.\r\n");
        assert_eq!(got, b".\r\nx\r\n\rz\r\n");
    }

    #[test]
    fn lines_pipelined_too_long_and_tls() {
        let mut long = vec![b'A'; 5000];
        long.extend_from_slice(b"\r\nNOOP\nRSET\r\n");
        let mut conn = conn_with(&long);
        assert_eq!(conn.read_line(4096).unwrap(), Line::TooLong);
        assert_eq!(conn.read_line(4096).unwrap(), Line::Text(b"NOOP".to_vec()));
        assert_eq!(conn.read_line(4096).unwrap(), Line::Text(b"RSET".to_vec()));
        assert!(conn.read_line(4096).is_err());
        let mut conn = conn_with(b"\x16\x03\x01\x02\x00");
        assert_eq!(conn.read_line(4096).unwrap(), Line::TlsHello);
    }

    #[test]
    fn exact_chunks() {
        let mut conn = conn_with(b"0123456789NOOP\r\n");
        let mut got = Vec::new();
        conn.read_exact_to(10, &mut |b| got.extend_from_slice(b))
            .unwrap();
        assert_eq!(got, b"0123456789");
        assert_eq!(conn.read_line(100).unwrap(), Line::Text(b"NOOP".to_vec()));
    }
}
