//! A scripted SMTP peer on loopback for the session's unit tests: it plays the misbehaviours a
//! real server package will not produce on demand (response injection, dripping, lying,
//! hanging up), and records what the client sent.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::client::{Client, Envelope};
use crate::config::{Config, Security};

/// One step of a scripted server.
pub(super) enum Step_ {
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
pub(super) use Step_::*;

pub(super) struct Peer {
    pub(super) port: u16,
    pub(super) handle: JoinHandle<Vec<Vec<u8>>>,
}

/// Serve `connections` scripts, one per accepted connection. Returns, per `Hear` step, the
/// bytes of the first read that delivered them (so tests can check coalescing), then all.
pub(super) fn peer(connections: Vec<Vec<Step_>>) -> Peer {
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

pub(super) fn client(port: u16, tweak: impl FnOnce(&mut Config)) -> Client {
    let mut config = Config::new("127.0.0.1");
    config.port = port;
    config.security = Security::None;
    config.helo_name = Some("client.test".into());
    config.timeouts.command = Duration::from_secs(5);
    tweak(&mut config);
    Client::new(config).unwrap()
}

pub(super) fn envelope(to: &[&str]) -> Envelope {
    Envelope::new("a@example.com", to.iter().map(|s| s.to_string()).collect()).unwrap()
}
