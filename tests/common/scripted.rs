//! A small SMTP server played by the test itself, for what aiosmtpd will not do on demand:
//! CHUNKING (BDAT), and failing at the worst moment for a client, once a whole message has
//! arrived and before the reply that says whether it was taken.
//!
//! It accepts any number of connections on 127.0.0.1, any AUTH, any sender, and every recipient
//! but those containing "nobody" (550). Like a real server with PIPELINING, it holds its replies
//! while more commands are already waiting to be read, so a pipelined group gets its replies in
//! one write, and a server that fails after the group has sent none of them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::AcceptLoop;

/// What the server does once a given message has arrived in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Close the connection without a word: the replies of the pipelined group and of the
    /// message are never sent.
    HangUp,
    /// Keep the connection open and never reply again, until the client hangs up.
    Silence,
    /// Answer the MAIL of that message's transaction (the first time only) with 421, read the
    /// rest of its pipelined group, send the replies and close: no transaction was opened, so
    /// the message was not taken.
    Closing,
}

/// How the server behaves.
#[derive(Clone, Copy, Debug, Default)]
pub struct Script {
    pub pipelining: bool,
    pub chunking: bool,
    /// `(n, failure)`: after the n-th message in all (counting from 1, across connections) has
    /// arrived, fail this way instead of replying ([`Failure::Closing`]: at its MAIL).
    pub fail: Option<(usize, Failure)>,
}

/// A running scripted server; it stops accepting on drop.
pub struct ScriptedServer {
    accept: AcceptLoop,
    messages: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl ScriptedServer {
    pub fn start(script: Script) -> ScriptedServer {
        let messages: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let received = messages.clone();
        let closed_once = Arc::new(AtomicBool::new(false));
        let accept = AcceptLoop::spawn(move |stream| {
            let received = received.clone();
            let closed_once = closed_once.clone();
            std::thread::spawn(move || serve(stream, script, &received, &closed_once));
        });
        ScriptedServer { accept, messages }
    }

    pub fn port(&self) -> u16 {
        self.accept.addr.port()
    }

    /// How many connections it accepted so far.
    pub fn connections(&self) -> usize {
        self.accept.accepted.load(Ordering::SeqCst)
    }

    /// Every message that arrived in full, in order, whatever the server did next: as DATA
    /// carried it (dot-stuffing removed, without the final dot) or as its BDAT chunks together.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many of the messages that arrived contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains(text))
            .count()
    }
}

fn serve(
    stream: TcpStream,
    script: Script,
    received: &Mutex<Vec<Vec<u8>>>,
    closed_once: &AtomicBool,
) {
    // A client that vanished, or a test that ended: this connection has nothing left to do.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut replies = String::from("220 scripted.test ESMTP\r\n");
    let mut chunks = Vec::new();
    let mut closing = false;
    loop {
        // Answer only when no command waits to be read: pipelined replies go out together.
        if reader.buffer().is_empty() && !replies.is_empty() {
            if writer.write_all(replies.as_bytes()).is_err() {
                return;
            }
            replies.clear();
        }
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or_default();
        let message = match verb {
            "EHLO" => {
                replies.push_str("250-scripted.test\r\n");
                if script.pipelining {
                    replies.push_str("250-PIPELINING\r\n");
                }
                if script.chunking {
                    replies.push_str("250-CHUNKING\r\n");
                }
                replies.push_str("250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
                None
            }
            "MAIL"
                if script.fail.is_some_and(|(at, failure)| {
                    failure == Failure::Closing
                        && at == received.lock().unwrap_or_else(|e| e.into_inner()).len() + 1
                }) && !closed_once.swap(true, Ordering::SeqCst) =>
            {
                replies.push_str("421 4.3.2 closing, try again\r\n");
                closing = true;
                None
            }
            "RCPT" | "BDAT" | "DATA" if closing => {
                if verb == "BDAT" {
                    let size: usize = upper
                        .split(' ')
                        .nth(1)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                    let mut chunk = vec![0u8; size];
                    if reader.read_exact(&mut chunk).is_err() {
                        return;
                    }
                }
                replies.push_str("503 5.5.1 no transaction\r\n");
                if reader.buffer().is_empty() {
                    let _ = writer.write_all(replies.as_bytes());
                    return;
                }
                None
            }
            "HELO" | "MAIL" | "RSET" | "NOOP" => {
                replies.push_str("250 ok\r\n");
                None
            }
            "AUTH" => {
                replies.push_str("235 2.7.0 ok\r\n");
                None
            }
            "RCPT" if upper.contains("NOBODY") => {
                replies.push_str("550 5.1.1 no such user\r\n");
                None
            }
            "RCPT" => {
                replies.push_str("250 ok\r\n");
                None
            }
            "DATA" => {
                replies.push_str("354 go ahead\r\n");
                if writer.write_all(replies.as_bytes()).is_err() {
                    return;
                }
                replies.clear();
                let mut data = Vec::new();
                loop {
                    let mut line = Vec::new();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == b".\r\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
                    data.extend_from_slice(unstuffed);
                }
                Some(data)
            }
            "BDAT" => {
                let mut words = upper.split(' ').skip(1);
                let size: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let last = words.next() == Some("LAST");
                let mut chunk = vec![0u8; size];
                if reader.read_exact(&mut chunk).is_err() {
                    return;
                }
                chunks.extend_from_slice(&chunk);
                if last {
                    Some(std::mem::take(&mut chunks))
                } else {
                    replies.push_str("250 2.0.0 chunk ok\r\n");
                    None
                }
            }
            "QUIT" => {
                let _ = writer.write_all(format!("{replies}221 bye\r\n").as_bytes());
                return;
            }
            _ => {
                replies.push_str("500 5.5.2 unknown command\r\n");
                None
            }
        };
        let Some(message) = message else { continue };
        let n = {
            let mut all = received.lock().unwrap_or_else(|e| e.into_inner());
            all.push(message);
            all.len()
        };
        match script.fail {
            Some((at, Failure::HangUp)) if at == n => return,
            Some((at, Failure::Silence)) if at == n => {
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
                return;
            }
            _ => replies.push_str(&format!("250 2.0.0 queued as {n}\r\n")),
        }
    }
}
