//! The reference client and the reference renderer: the floor the protocol allows, shown beside
//! mailport and the peers so that every run has its own ceiling (issue 19).
//!
//! The client (`--sender reference one …`) is std's `TcpStream` and rustls with ring: greeting,
//! EHLO, STARTTLS, EHLO and AUTH PLAIN once; then per message exactly what PIPELINING and
//! CHUNKING require and nothing else: `MAIL FROM`, `RCPT TO`, `BDAT n LAST` and the body handed
//! to rustls in one `write` (one TLS record, one `writev`), and one `read` that normally holds
//! the three replies. It checks reply codes only. Its message is rendered once, with the same
//! headers and text as the other senders' messages; per message it overwrites two fixed-width
//! counters in place (the Subject's number and the Message-ID's), so the bytes, their length and
//! the `BDAT` command stay the same size and nothing is allocated.
//!
//! The renderer (`--sender reference render …`) writes one message with a file attached into
//! one `Vec` sized in advance from the file's length: a minimal header, the text part, and the
//! file base64-encoded in 76-character CRLF lines as it is read in 57 KiB steps. Its peak memory
//! is about the output's size.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::rust_sender::Job;
use crate::{PASSWORD, USER};

/// Modes: `one` (S1, S2: N messages over one STARTTLS + AUTH connection) and `render` (S7: one
/// message with the attachment rendered in memory). Returns the output size for `render`.
pub fn run(mode: &str, job: &Job) -> Result<Option<u64>, String> {
    match mode {
        "one" => send(job).map(|()| None),
        "render" => render(job.attachment()?, job.text).map(Some),
        other => Err(format!("reference: unknown mode {other}")),
    }
}

/// Width of the counters patched into each message: enough for any run's count.
const COUNTER: usize = 8;

fn send(job: &Job) -> Result<(), String> {
    let mut conn = Connection::open(job)?;
    let message = Template::new(job.text);
    let len = message.bytes.len();
    let mut flight = format!(
        "MAIL FROM:<bench@example.com>\r\nRCPT TO:<sink@example.com>\r\nBDAT {len} LAST\r\n"
    )
    .into_bytes();
    let body_at = flight.len();
    flight.extend_from_slice(&message.bytes);
    for i in 0..job.n {
        message.number(i, &mut flight[body_at..]);
        conn.write(&flight)?;
        for (what, code) in ["MAIL", "RCPT", "BDAT"].iter().zip(conn.replies(3)?) {
            if !(200..300).contains(&code) {
                return Err(format!("message {i}: {what} answered {code}"));
            }
        }
    }
    conn.write(b"QUIT\r\n")?;
    // The reply to QUIT is not waited for: the sink counts the message at BDAT's reply.
    Ok(())
}

/// One message's bytes with the positions of the counters that make each message unique.
struct Template {
    bytes: Vec<u8>,
    subject_at: usize,
    id_at: usize,
}

impl Template {
    fn new(text: &str) -> Template {
        let zeros = "0".repeat(COUNTER);
        let head = format!(
            "Date: {}\r\nFrom: Bench <bench@example.com>\r\nTo: sink@example.com\r\nSubject: message ",
            rfc5322_date(SystemTime::now())
        );
        let subject_at = head.len();
        let middle = format!("{zeros}\r\nMessage-ID: <");
        let id_at = subject_at + middle.len();
        let unique = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let tail = format!(
            "{zeros}.{unique:x}.{}@bench.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{}",
            std::process::id(),
            crlf(text)
        );
        Template {
            bytes: [head, middle, tail].concat().into_bytes(),
            subject_at,
            id_at,
        }
    }

    /// Write message number `i` into `out`, a copy of `self.bytes`.
    fn number(&self, i: usize, out: &mut [u8]) {
        let mut digits = [b'0'; COUNTER];
        let mut rest = i;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out[self.subject_at..self.subject_at + COUNTER].copy_from_slice(&digits);
        out[self.id_at..self.id_at + COUNTER].copy_from_slice(&digits);
    }
}

/// `text` with CRLF line endings and a final CRLF.
fn crlf(text: &str) -> String {
    let mut out: String = text.lines().flat_map(|l| [l, "\r\n"]).collect();
    if out.is_empty() {
        out.push_str("\r\n");
    }
    out
}

/// `Sun, 06 Dec 2026 08:08:25 +0000`.
fn rfc5322_date(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let days = (secs / 86_400) as i64;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {h:02}:{m:02}:{s:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

/// The socket, and once STARTTLS is done the TLS session over it.
struct Connection {
    socket: TcpStream,
    tls: Option<ClientConnection>,
    /// Received bytes from the socket, reused for every read.
    wire: Vec<u8>,
    /// Reply text received but not yet consumed.
    replies: Vec<u8>,
}

impl Connection {
    fn open(job: &Job) -> Result<Connection, String> {
        let socket = TcpStream::connect(("127.0.0.1", job.port))
            .map_err(|e| format!("connect to 127.0.0.1:{}: {e}", job.port))?;
        socket.set_nodelay(true).map_err(|e| e.to_string())?;
        // Once per connection: the bench's own timeout is the backstop, this only stops a
        // silent sink from holding the child for ten minutes.
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let mut conn = Connection {
            socket,
            tls: None,
            wire: vec![0; 64 * 1024],
            replies: Vec::with_capacity(4096),
        };
        conn.expect("greeting", 220)?;
        conn.write(b"EHLO bench.example\r\n")?;
        conn.expect("EHLO", 250)?;
        conn.write(b"STARTTLS\r\n")?;
        conn.expect("STARTTLS", 220)?;
        conn.tls = Some(handshake(&mut conn.socket, job.ca)?);
        conn.write(b"EHLO bench.example\r\n")?;
        conn.expect("EHLO after STARTTLS", 250)?;
        let token = STANDARD.encode(format!("\0{USER}\0{PASSWORD}"));
        conn.write(format!("AUTH PLAIN {token}\r\n").as_bytes())?;
        conn.expect("AUTH PLAIN", 235)?;
        Ok(conn)
    }

    fn expect(&mut self, what: &str, code: u16) -> Result<(), String> {
        match self.replies(1)?[..] {
            [got] if got == code => Ok(()),
            ref got => Err(format!("{what}: expected {code}, got {got:?}")),
        }
    }

    /// Send `data`: in TLS, one record (rustls makes one per `write` up to 16 KiB) and one
    /// `writev` of it.
    fn write(&mut self, data: &[u8]) -> Result<(), String> {
        let err = |e: std::io::Error| format!("write: {e}");
        match &mut self.tls {
            None => self.socket.write_all(data).map_err(err),
            Some(tls) => {
                tls.writer().write_all(data).map_err(err)?;
                while tls.wants_write() {
                    tls.write_tls(&mut self.socket).map_err(err)?;
                }
                Ok(())
            }
        }
    }

    /// Read until `n` complete replies have arrived; their codes. A multiline reply is its
    /// `ddd-` lines and the final `ddd ` line.
    fn replies(&mut self, n: usize) -> Result<Vec<u16>, String> {
        let mut codes = Vec::with_capacity(n);
        loop {
            // Take every complete reply already received.
            let mut consumed = 0;
            while codes.len() < n {
                let rest = &self.replies[consumed..];
                let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                    break;
                };
                let line = &rest[..end];
                consumed += end + 2;
                if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
                    return Err(format!(
                        "not an SMTP reply: {:?}",
                        String::from_utf8_lossy(line)
                    ));
                }
                if line.get(3) != Some(&b'-') {
                    let code = line[..3]
                        .iter()
                        .fold(0, |c, d| c * 10 + u16::from(d - b'0'));
                    codes.push(code);
                }
            }
            if codes.len() == n {
                // A partial reply after the last complete one stays for the next call.
                self.replies.drain(..consumed);
                return Ok(codes);
            }
            // Only whole replies were taken: keep the partial line and read more.
            codes.clear();
            self.receive()?;
        }
    }

    /// One `read` from the socket, decrypted into `replies` when in TLS.
    fn receive(&mut self) -> Result<(), String> {
        let got = self
            .socket
            .read(&mut self.wire)
            .map_err(|e| format!("read: {e}"))?;
        if got == 0 {
            return Err("the server closed the connection".into());
        }
        match &mut self.tls {
            None => self.replies.extend_from_slice(&self.wire[..got]),
            Some(tls) => {
                let mut input = &self.wire[..got];
                while !input.is_empty() {
                    tls.read_tls(&mut input).map_err(|e| format!("TLS: {e}"))?;
                    tls.process_new_packets().map_err(|e| format!("TLS: {e}"))?;
                }
                match tls.reader().read_to_end(&mut self.replies) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(format!("TLS: {e}")),
                }
            }
        }
        Ok(())
    }
}

/// TLS 1.3 (or 1.2) with the sink's CA as the only root; ring as the provider.
fn handshake(socket: &mut TcpStream, ca: &Path) -> Result<ClientConnection, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))? {
        let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let mut tls = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    while tls.is_handshaking() {
        tls.complete_io(socket)
            .map_err(|e| format!("TLS handshake: {e}"))?;
    }
    Ok(tls)
}

/// Base64 input per output line: 57 bytes make 76 characters.
const LINE_IN: usize = 57;
/// The file is read this many lines at a time.
const STEP: usize = LINE_IN * 1024;

/// The reference renderer: returns the output's length, having held it all in memory.
fn render(attachment: &Path, text: &str) -> Result<u64, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", attachment.display());
    let mut file = std::fs::File::open(attachment).map_err(fail)?;
    let size = file.metadata().map_err(fail)?.len() as usize;
    let boundary = "=_reference_boundary_0123456789";
    let head = format!(
        "Date: {}\r\nFrom: Bench <bench@example.com>\r\nTo: sink@example.com\r\n\
         Subject: message 0\r\nMessage-ID: <0.{}@bench.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{}\
         --{boundary}\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"attachment.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        rfc5322_date(SystemTime::now()),
        std::process::id(),
        crlf(text)
    );
    let tail = format!("--{boundary}--\r\n");
    let lines = size.div_ceil(LINE_IN);
    let encoded = size.div_ceil(3) * 4 + lines * 2;
    let mut out = Vec::with_capacity(head.len() + encoded + tail.len());
    out.extend_from_slice(head.as_bytes());
    let mut chunk = vec![0u8; STEP];
    let mut line = [0u8; 78];
    loop {
        let got = read_full(&mut file, &mut chunk).map_err(fail)?;
        for input in chunk[..got].chunks(LINE_IN) {
            let n = STANDARD
                .encode_slice(input, &mut line)
                .map_err(|e| e.to_string())?;
            line[n..n + 2].copy_from_slice(b"\r\n");
            out.extend_from_slice(&line[..n + 2]);
        }
        if got < STEP {
            break;
        }
    }
    out.extend_from_slice(tail.as_bytes());
    let out = std::hint::black_box(out);
    Ok(out.len() as u64)
}

/// Fill `buf` unless the file ends first; how many bytes were read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
