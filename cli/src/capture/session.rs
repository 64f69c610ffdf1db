//! The SMTP dialogue with one client (RFC 5321, with PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
//! ENHANCEDSTATUSCODES, CHUNKING, STARTTLS and AUTH PLAIN/LOGIN).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls::{ServerConnection, StreamOwned};

use super::conn::{Conn, Line, Stream, handshake, is_timeout};
use super::settings::{Settings, Stored};
use super::store::Pending;
use mailport::time::CivilTime;

/// Longest command line (RFC 5321 asks for at least 512; clients' parameters can be long).
pub(super) const MAX_COMMAND: usize = 4096;
/// Longest AUTH response line (RFC 4954 §4: at least 12288).
const MAX_AUTH_LINE: usize = 12288;
/// Recipients per message (RFC 5321 §4.5.3.1.8 asks for at least 100).
const MAX_RECIPIENTS: usize = 1000;
/// Unrecognised or malformed commands tolerated on one connection.
const MAX_ERRORS: u32 = 20;
/// Failed AUTH attempts tolerated on one connection.
const MAX_AUTH_FAILURES: u32 = 3;
/// The name this server gives itself.
const HOST: &str = "localhost";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// A message being received, by DATA or by BDAT chunks.
struct Body {
    /// The file being written; always `None` in discard mode.
    pending: Option<Pending>,
    name: String,
    /// Discard mode: count the bytes, store nothing.
    discard: bool,
    size: u64,
    too_big: bool,
    failed: Option<String>,
}

impl Body {
    fn add(&mut self, bytes: &[u8], max_size: u64) {
        self.size += bytes.len() as u64;
        if max_size > 0 && self.size > max_size {
            // Over the limit: keep reading to the end of the data, store nothing.
            self.too_big = true;
            self.pending = None;
            return;
        }
        if let Some(pending) = self.pending.as_mut()
            && let Err(e) = pending.write(bytes)
        {
            self.failed = Some(e.to_string());
            self.pending = None;
        }
    }
}

struct Transaction {
    from: String,
    smtputf8: bool,
    to: Vec<String>,
    /// Set by the first BDAT.
    chunks: Option<Body>,
}

struct Session<'a> {
    conn: Conn,
    settings: &'a Settings,
    peer: SocketAddr,
    /// "none", "starttls" or "implicit".
    tls: &'static str,
    helo: Option<String>,
    esmtp: bool,
    user: Option<String>,
    tx: Option<Transaction>,
    errors: u32,
    auth_failures: u32,
}

/// Talk SMTP with one client until it quits, breaks the connection or idles out.
pub(super) fn serve(stream: TcpStream, peer: SocketAddr, implicit_tls: bool, settings: &Settings) {
    let conn = if implicit_tls {
        let tls = match ServerConnection::new(settings.tls.clone()) {
            Ok(tls) => tls,
            Err(_) => return,
        };
        let mut tls = Box::new(StreamOwned::new(tls, stream));
        if handshake(&mut tls).is_err() {
            // Plaintext on the TLS port, an untrusting client, a scanner: nothing to say.
            let _ = tls.sock.shutdown(std::net::Shutdown::Both);
            return;
        }
        Conn::new(Stream::Tls(tls))
    } else {
        Conn::new(Stream::Plain(stream))
    };
    let mut session = Session {
        conn,
        settings,
        peer,
        tls: if implicit_tls { "implicit" } else { "none" },
        helo: None,
        esmtp: false,
        user: None,
        tx: None,
        errors: 0,
        auth_failures: 0,
    };
    if let Err(e) = session.run()
        && is_timeout(&e)
    {
        session
            .conn
            .reply("421 4.4.2 localhost Idle timeout, closing connection");
    }
    // Whatever happened, a message in progress is removed before the connection ends.
    session.tx = None;
    session.conn.close();
}

impl Session<'_> {
    fn run(&mut self) -> io::Result<()> {
        self.conn
            .reply(&format!("220 {HOST} ESMTP mailport capture ready"));
        loop {
            let flow = match self.conn.read_line(MAX_COMMAND)? {
                Line::Text(line) => self.command(&line)?,
                Line::TooLong => self.error(&format!(
                    "500 5.5.2 Line too long (the limit is {MAX_COMMAND} bytes)"
                )),
                Line::TlsHello => {
                    self.conn.reply(&format!(
                        "500 5.5.2 TLS handshake on the plaintext port: say STARTTLS first, or use the implicit-TLS port {}",
                        self.settings.tls_port
                    ));
                    Flow::Close
                }
            };
            if flow == Flow::Close {
                return Ok(());
            }
        }
    }

    /// Reply with an error that counts towards the per-connection limit.
    fn error(&mut self, reply: &str) -> Flow {
        self.errors += 1;
        if self.errors > MAX_ERRORS {
            self.conn
                .reply("421 4.7.0 localhost Too many errors, closing connection");
            return Flow::Close;
        }
        self.conn.reply(reply);
        Flow::Continue
    }

    fn reply(&mut self, reply: &str) -> io::Result<Flow> {
        self.conn.reply(reply);
        Ok(Flow::Continue)
    }

    fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let (verb, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
        let arg = trim(arg);
        match verb.as_str() {
            "EHLO" => self.hello(arg, true),
            "HELO" => self.hello(arg, false),
            "STARTTLS" => self.starttls(arg),
            "AUTH" => self.auth(arg),
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => self.data(arg),
            "BDAT" => self.bdat(arg),
            "RSET" => {
                if !arg.is_empty() {
                    return Ok(self.error("501 5.5.4 Syntax: RSET"));
                }
                self.tx = None;
                self.reply("250 2.0.0 OK")
            }
            "NOOP" => self.reply("250 2.0.0 OK"),
            "QUIT" => {
                self.conn.reply("221 2.0.0 localhost Bye");
                Ok(Flow::Close)
            }
            "VRFY" => {
                if arg.is_empty() {
                    return Ok(self.error("501 5.5.4 Syntax: VRFY <address>"));
                }
                self.reply("252 2.5.2 Cannot VRFY the user, but will accept mail for it")
            }
            "EXPN" => self.reply("502 5.5.1 EXPN is not supported"),
            "HELP" => self.reply(
                "214-2.0.0 mailport capture: a local SMTP server that stores every message as an .eml file\r\n\
                 214-2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n\
                 214 2.0.0 End of HELP",
            ),
            _ => Ok(self.error("500 5.5.2 Command not recognized")),
        }
    }

    fn hello(&mut self, arg: &[u8], esmtp: bool) -> io::Result<Flow> {
        let name = arg.split(|&b| b == b' ').next().unwrap_or_default();
        if name.is_empty() {
            let verb = if esmtp { "EHLO" } else { "HELO" };
            return Ok(self.error(&format!("501 5.5.4 Syntax: {verb} <hostname>")));
        }
        let name = printable(&String::from_utf8_lossy(name));
        self.tx = None;
        let greeting = format!("{HOST} Hello {name} [{}]", self.peer.ip());
        self.helo = Some(name);
        self.esmtp = esmtp;
        if !esmtp {
            return self.reply(&format!("250 {greeting}"));
        }
        let mut lines = vec![greeting, "PIPELINING".to_string()];
        lines.push(format!("SIZE {}", self.settings.max_size));
        lines.extend(["8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"].map(String::from));
        if !self.conn.is_tls() {
            lines.push("STARTTLS".into());
        } else if self.settings.auth.is_some() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        lines.push("HELP".into());
        let last = lines.len() - 1;
        let text: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect();
        self.reply(&text.join("\r\n"))
    }

    fn starttls(&mut self, arg: &[u8]) -> io::Result<Flow> {
        if self.conn.is_tls() {
            return Ok(self.error("503 5.5.1 TLS is already active"));
        }
        if !arg.is_empty() {
            return Ok(self.error("501 5.5.4 Syntax: STARTTLS"));
        }
        self.conn.reply("220 2.0.0 Ready to start TLS");
        self.conn.start_tls(self.settings.tls.clone())?;
        // RFC 3207 §4.2: everything learned before TLS is forgotten.
        self.tls = "starttls";
        self.helo = None;
        self.esmtp = false;
        self.user = None;
        self.tx = None;
        Ok(Flow::Continue)
    }

    fn auth(&mut self, arg: &[u8]) -> io::Result<Flow> {
        let Some((user, password)) = self.settings.auth.clone() else {
            return self
                .reply("502 5.5.1 AUTH is not available (the capture server runs without --auth)");
        };
        if !self.conn.is_tls() {
            return self.reply("538 5.7.11 Encryption required for requested authentication mechanism: say STARTTLS first");
        }
        if self.helo.is_none() {
            return Ok(self.error("503 5.5.1 Send EHLO first"));
        }
        if self.user.is_some() {
            return Ok(self.error("503 5.5.1 Already authenticated"));
        }
        if self.tx.is_some() {
            return Ok(self.error("503 5.5.1 AUTH is not allowed during a mail transaction"));
        }
        let arg = String::from_utf8_lossy(arg).into_owned();
        let mut words = arg.split_ascii_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        if words.next().is_some() {
            return Ok(self.error("501 5.5.4 Syntax: AUTH <mechanism> [initial-response]"));
        }
        let given = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => match self.challenge("")? {
                        Some(r) => r,
                        None => return Ok(Flow::Continue),
                    },
                };
                let Some(decoded) = self.decode(&response) else {
                    return Ok(Flow::Continue);
                };
                let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
                match parts.as_slice() {
                    [authzid, authcid, passwd] if authzid.is_empty() || authzid == authcid => {
                        (authcid.to_vec(), passwd.to_vec())
                    }
                    [_, _, _] => (Vec::new(), Vec::new()),
                    _ => {
                        return Ok(self.error("501 5.5.2 Malformed AUTH PLAIN response"));
                    }
                }
            }
            "LOGIN" => {
                let username = match initial {
                    Some(r) => r,
                    None => match self.challenge("VXNlcm5hbWU6")? {
                        Some(r) => r,
                        None => return Ok(Flow::Continue),
                    },
                };
                let Some(username) = self.decode(&username) else {
                    return Ok(Flow::Continue);
                };
                let Some(passwd) = self.challenge("UGFzc3dvcmQ6")? else {
                    return Ok(Flow::Continue);
                };
                let Some(passwd) = self.decode(&passwd) else {
                    return Ok(Flow::Continue);
                };
                (username, passwd)
            }
            "" => return Ok(self.error("501 5.5.4 Syntax: AUTH <mechanism> [initial-response]")),
            _ => {
                return Ok(self.error(
                    "504 5.5.4 Unrecognized authentication type (PLAIN and LOGIN are offered)",
                ));
            }
        };
        let user_ok = same(&given.0, user.as_bytes());
        let password_ok = same(&given.1, password.as_bytes());
        if user_ok && password_ok {
            self.user = Some(user);
            return self.reply("235 2.7.0 Authentication successful");
        }
        self.auth_failures += 1;
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.conn.reply(
                "421 4.7.0 localhost Too many failed authentication attempts, closing connection",
            );
            return Ok(Flow::Close);
        }
        self.reply("535 5.7.8 Authentication credentials invalid")
    }

    /// Send a 334 challenge and read the client's answer; `None` when the exchange ended
    /// (cancelled or malformed, and already answered).
    fn challenge(&mut self, challenge: &str) -> io::Result<Option<String>> {
        self.conn.reply(&format!("334 {challenge}"));
        match self.conn.read_line(MAX_AUTH_LINE)? {
            Line::Text(line) if line == b"*" => {
                self.conn.reply("501 5.0.0 Authentication cancelled");
                Ok(None)
            }
            Line::Text(line) => Ok(Some(String::from_utf8_lossy(&line).trim().to_string())),
            Line::TooLong | Line::TlsHello => {
                self.conn
                    .reply("500 5.5.6 Authentication exchange line is too long");
                Ok(None)
            }
        }
    }

    fn decode(&mut self, text: &str) -> Option<Vec<u8>> {
        if text == "=" {
            return Some(Vec::new());
        }
        match BASE64.decode(text) {
            Ok(bytes) => Some(bytes),
            Err(_) => {
                self.error("501 5.5.2 Cannot decode the response (base64 expected)");
                None
            }
        }
    }

    /// Checks common to MAIL and the commands of a transaction; `Some(reply)` when refused.
    fn may_send(&self) -> Option<&'static str> {
        if self.helo.is_none() {
            return Some("503 5.5.1 Send EHLO or HELO first");
        }
        if self.settings.auth.is_some() && self.user.is_none() {
            return Some(if self.conn.is_tls() {
                "530 5.7.0 Authentication required"
            } else {
                "530 5.7.0 Authentication required: say STARTTLS, then AUTH"
            });
        }
        None
    }

    fn mail(&mut self, arg: &[u8]) -> io::Result<Flow> {
        if let Some(refusal) = self.may_send() {
            return Ok(self.error(refusal));
        }
        if self.tx.is_some() {
            return Ok(self.error("503 5.5.1 Sender already specified (RSET first)"));
        }
        let Some((address, params)) = parse_path(arg, "FROM:") else {
            return Ok(self.error("501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"));
        };
        if !params.is_empty() && !self.esmtp {
            return Ok(self.error("555 5.5.4 MAIL parameters need EHLO"));
        }
        let mut smtputf8 = false;
        for (key, value) in &params {
            match (key.to_ascii_uppercase().as_str(), value.as_deref()) {
                ("SIZE", Some(v)) => {
                    let Ok(size) = v.parse::<u64>() else {
                        return Ok(self.error("501 5.5.4 SIZE needs a number"));
                    };
                    if self.settings.max_size > 0 && size > self.settings.max_size {
                        return self.reply(&format!(
                            "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                            self.settings.max_size
                        ));
                    }
                }
                ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => {}
                ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {}
                ("SMTPUTF8", None) => smtputf8 = true,
                ("AUTH", Some(_)) => {}
                _ => {
                    return Ok(self.error(&format!("555 5.5.4 Unsupported MAIL parameter {key}")));
                }
            }
        }
        if let Err(refusal) = check_address(&address, smtputf8, true) {
            return Ok(self.error(refusal));
        }
        self.tx = Some(Transaction {
            from: address,
            smtputf8,
            to: Vec::new(),
            chunks: None,
        });
        self.reply("250 2.1.0 Sender OK")
    }

    fn rcpt(&mut self, arg: &[u8]) -> io::Result<Flow> {
        let Some(tx) = self.tx.as_ref() else {
            return Ok(self.error("503 5.5.1 Need MAIL before RCPT"));
        };
        if tx.chunks.is_some() {
            return Ok(self.error("503 5.5.1 RCPT is not allowed after BDAT"));
        }
        let smtputf8 = tx.smtputf8;
        let count = tx.to.len();
        let Some((address, params)) = parse_path(arg, "TO:") else {
            return Ok(self.error("501 5.5.4 Syntax: RCPT TO:<address>"));
        };
        if let Some((key, _)) = params.first() {
            return Ok(self.error(&format!("555 5.5.4 Unsupported RCPT parameter {key}")));
        }
        if let Err(refusal) = check_address(&address, smtputf8, false) {
            return Ok(self.error(refusal));
        }
        if count >= MAX_RECIPIENTS {
            return self.reply(&format!(
                "452 4.5.3 Too many recipients (at most {MAX_RECIPIENTS} per message)"
            ));
        }
        if let Some(tx) = self.tx.as_mut() {
            tx.to.push(address);
        }
        self.reply("250 2.1.5 Recipient OK")
    }

    /// Why DATA or BDAT cannot start a message now.
    fn may_transfer(&self) -> Option<&'static str> {
        match &self.tx {
            None => Some("503 5.5.1 Need MAIL and RCPT first"),
            Some(tx) if tx.to.is_empty() => Some("554 5.5.1 No valid recipients"),
            Some(_) => None,
        }
    }

    fn data(&mut self, arg: &[u8]) -> io::Result<Flow> {
        if !arg.is_empty() {
            return Ok(self.error("501 5.5.4 Syntax: DATA"));
        }
        if let Some(refusal) = self.may_transfer() {
            return Ok(self.error(refusal));
        }
        if self.tx.as_ref().is_some_and(|tx| tx.chunks.is_some()) {
            return Ok(self.error("503 5.5.1 DATA is not allowed after BDAT"));
        }
        let mut body = match self.start_body() {
            Ok(body) => body,
            Err(e) => {
                self.tx = None;
                return self.reply(&format!("451 4.3.0 Cannot store the message: {e}"));
            }
        };
        self.conn.reply("354 End data with <CR><LF>.<CR><LF>");
        let max = self.settings.max_size;
        self.conn.read_data(&mut |bytes| body.add(bytes, max))?;
        self.finish(body)
    }

    fn bdat(&mut self, arg: &[u8]) -> io::Result<Flow> {
        let arg = String::from_utf8_lossy(arg);
        let mut words = arg.split_ascii_whitespace();
        let size = words.next().and_then(|w| {
            w.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| w.parse::<u64>().ok())
                .flatten()
        });
        let last = match words.next() {
            None => false,
            Some(w) if w.eq_ignore_ascii_case("LAST") => true,
            Some(_) => {
                self.conn.reply(
                    "501 5.5.4 Syntax: BDAT <size> [LAST]; closing, as the chunk cannot be skipped",
                );
                return Ok(Flow::Close);
            }
        };
        let (Some(size), None) = (size, words.next()) else {
            self.conn.reply(
                "501 5.5.4 Syntax: BDAT <size> [LAST]; closing, as the chunk cannot be skipped",
            );
            return Ok(Flow::Close);
        };
        // A refused chunk is still read (RFC 3030 §2): its bytes are data, not commands.
        if let Some(refusal) = self.may_transfer() {
            self.conn.read_exact_to(size, &mut |_| {})?;
            return Ok(self.error(refusal));
        }
        let mut body = match self.tx.as_mut().and_then(|tx| tx.chunks.take()) {
            Some(body) => body,
            None => match self.start_body() {
                Ok(body) => body,
                Err(e) => {
                    self.conn.read_exact_to(size, &mut |_| {})?;
                    self.tx = None;
                    return self.reply(&format!("451 4.3.0 Cannot store the message: {e}"));
                }
            },
        };
        let max = self.settings.max_size;
        self.conn
            .read_exact_to(size, &mut |bytes| body.add(bytes, max))?;
        if last || body.too_big || body.failed.is_some() {
            return self.finish(body);
        }
        if let Some(tx) = self.tx.as_mut() {
            tx.chunks = Some(body);
        }
        self.reply(&format!("250 2.0.0 {size} octets received"))
    }

    /// Create the message file and write the trace headers (in discard mode: neither).
    fn start_body(&mut self) -> io::Result<Body> {
        if self.settings.discard {
            return Ok(Body {
                pending: None,
                name: String::new(),
                discard: true,
                size: 0,
                too_big: false,
                failed: None,
            });
        }
        let now = CivilTime::at(std::time::SystemTime::now());
        let mut pending = Pending::create(&self.settings.dir, &now)?;
        let name = pending.name().to_string();
        pending.write(self.trace_headers(&name, &now).as_bytes())?;
        Ok(Body {
            pending: Some(pending),
            name,
            discard: false,
            size: 0,
            too_big: false,
            failed: None,
        })
    }

    /// End the transaction: store the message (or say why not).
    fn finish(&mut self, body: Body) -> io::Result<Flow> {
        let Some(tx) = self.tx.take() else {
            return self.reply("503 5.5.1 No transaction");
        };
        if body.too_big {
            return self.reply(&format!(
                "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                self.settings.max_size
            ));
        }
        if let Some(e) = body.failed {
            return self.reply(&format!("451 4.3.0 Cannot store the message: {e}"));
        }
        if body.discard {
            self.settings.discarded.add(body.size);
            return self.reply("250 2.0.0 Message accepted, discarded");
        }
        let Some(pending) = body.pending else {
            return self.reply("451 4.3.0 Cannot store the message");
        };
        let path = match pending.commit() {
            Ok(path) => path,
            Err(e) => return self.reply(&format!("451 4.3.0 Cannot store the message: {e}")),
        };
        let stored = Stored {
            path,
            from: tx.from,
            to: tx.to,
            size: body.size,
            tls: self.tls,
            user: self.user.clone(),
        };
        (self.settings.on_stored)(&stored);
        self.reply(&format!(
            "250 2.0.0 Message accepted, stored as {}",
            body.name
        ))
    }

    /// `Return-Path`, one `X-Mailport-Rcpt` per envelope recipient, and `Received`.
    fn trace_headers(&self, name: &str, now: &CivilTime) -> String {
        let Some(tx) = self.tx.as_ref() else {
            return String::new();
        };
        let mut headers = format!("Return-Path: <{}>\r\n", tx.from);
        for rcpt in &tx.to {
            headers.push_str(&format!("X-Mailport-Rcpt: <{rcpt}>\r\n"));
        }
        let ip = match self.peer.ip() {
            IpAddr::V4(ip) => format!("[{ip}]"),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(v4) => format!("[{v4}]"),
                None => format!("[IPv6:{ip}]"),
            },
        };
        let mut protocol = String::from(match (tx.smtputf8, self.esmtp) {
            (true, _) => "UTF8SMTP",
            (false, true) => "ESMTP",
            (false, false) => "SMTP",
        });
        if protocol != "SMTP" {
            if self.conn.is_tls() {
                protocol.push('S');
            }
            if self.user.is_some() {
                protocol.push('A');
            }
        }
        let mut notes = Vec::new();
        if let Some(tls) = self.conn.tls_description() {
            notes.push(tls);
        }
        if let Some(user) = &self.user {
            notes.push(format!("authenticated as {}", comment_safe(user)));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        headers.push_str(&format!(
            "Received: from {} ({ip})\r\n\tby {HOST} (mailport capture) with {protocol}{notes}\r\n\tid {}; {}\r\n",
            self.helo.as_deref().unwrap_or("unknown"),
            name.trim_end_matches(".eml"),
            now.rfc5322(0)
        ));
        headers
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

/// Control characters replaced, for text that goes into a header.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Text safe inside a header comment.
fn comment_safe(text: &str) -> String {
    printable(text)
        .chars()
        .map(|c| {
            if matches!(c, '(' | ')' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Compare without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

type Params = Vec<(String, Option<String>)>;

/// Parse `FROM:<path> params` (or `TO:`): the address and the ESMTP parameters.
fn parse_path(arg: &[u8], keyword: &str) -> Option<(String, Params)> {
    let arg = std::str::from_utf8(arg).ok()?;
    if !arg.get(..keyword.len())?.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let close = rest.find('>')?;
    let mut address = &rest[..close];
    // A source route (`<@a,@b:user@c>`) is ignored (RFC 5321 §4.1.1.3).
    if address.starts_with('@') {
        address = &address[address.find(':')? + 1..];
    }
    let params = rest[close + 1..]
        .split_ascii_whitespace()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p.to_string(), None),
        })
        .collect();
    if !rest[close + 1..].is_empty() && !rest[close + 1..].starts_with(' ') {
        return None;
    }
    Some((address.to_string(), params))
}

fn check_address(address: &str, smtputf8: bool, sender: bool) -> Result<(), &'static str> {
    if address.chars().any(|c| c.is_control()) {
        return Err("501 5.1.7 Control characters in the address");
    }
    if address.len() > 256 {
        return Err("553 5.1.7 Address too long");
    }
    if !address.is_ascii() && !smtputf8 {
        return Err("553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter");
    }
    if sender {
        if !address.is_empty() && !address.contains('@') {
            return Err("553 5.1.7 Bad sender address syntax");
        }
    } else if address.is_empty() {
        return Err("501 5.1.3 Empty recipient address");
    } else if !address.contains('@') && !address.eq_ignore_ascii_case("postmaster") {
        return Err("553 5.1.3 Bad recipient address syntax");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let (a, p) = parse_path(b"FROM:<a@b> SIZE=12 BODY=8BITMIME", "FROM:").unwrap();
        assert_eq!(a, "a@b");
        assert_eq!(
            p,
            vec![
                ("SIZE".to_string(), Some("12".to_string())),
                ("BODY".to_string(), Some("8BITMIME".to_string()))
            ]
        );
        assert_eq!(parse_path(b"from: <>", "FROM:").unwrap().0, "");
        assert_eq!(parse_path(b"TO:<@x,@y:u@z>", "TO:").unwrap().0, "u@z");
        assert!(parse_path(b"TO:u@z", "TO:").is_none());
        assert!(parse_path(b"FROM<a@b>", "FROM:").is_none());
        assert!(parse_path(b"TO:<a@b>x", "TO:").is_none());
        assert!(parse_path("FRÖÖ:<a@b>".as_bytes(), "FROM:").is_none());
        assert!(parse_path(b"FR", "FROM:").is_none());
    }

    #[test]
    fn addresses_and_secrets() {
        assert!(check_address("", false, true).is_ok());
        assert!(check_address("", false, false).is_err());
        assert!(check_address("Postmaster", false, false).is_ok());
        assert!(check_address("ü@x", false, false).is_err());
        assert!(check_address("ü@x", true, false).is_ok());
        assert!(check_address("a\r@x", true, false).is_err());
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
        assert_eq!(trim(b"  x y \t"), b"x y");
        assert_eq!(trim(b"   "), b"");
    }
}
