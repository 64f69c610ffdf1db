//! A TCP proxy that injects one fault into the first connection it carries, at a chosen byte of
//! one direction of the session: reset it (RST), close it (FIN), stall it (stop forwarding), or
//! split and delay the writes from there on. Later connections pass through untouched, so a
//! client's next send shows whether it opened a new one.
//!
//! Positions are not raw stream offsets but a unit and a byte within it, because a TLS session
//! is not the same bytes twice: an ECDSA signature is 70 to 72 bytes long, so every record after
//! the server's CertificateVerify may move. The proxy frames both directions as it forwards
//! them: plaintext SMTP line by line (commands, reply lines, message lines), TLS record by
//! record (the 5-byte header gives the length), switching at STARTTLS. A position inside a TLS
//! record beyond the length it has in this session is clamped to its last byte.
//!
//! The first connection's units are recorded, in the order the proxy read them (a shared
//! sequence over both directions): a client speaking without PIPELINING sends its next command
//! only after the whole reply to the previous one, so that order tells which command every
//! server byte answers, even inside TLS where the bytes say nothing.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dir {
    /// From the client (mailport) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::ToServer => "client→server",
            Dir::ToClient => "server→client",
        }
    }
}

/// What happens to the connection at the fault's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Send a TCP reset to the client (SO_LINGER 0, then close) and close the server side.
    Reset,
    /// Close cleanly: a FIN to the client, and the server side closed.
    Close,
    /// Stop reading and forwarding in both directions, and keep the connection open until the
    /// client gives up.
    Stall,
    /// Forward the bytes before the position in one write, then the next [`SPLIT_BYTES`]
    /// one write each with a short sleep in between, then carry on: a session must survive it.
    Split,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Reset, Action::Close, Action::Stall, Action::Split];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Reset => "reset",
            Action::Close => "close",
            Action::Stall => "stall",
            Action::Split => "split",
        }
    }
}

/// How many bytes after a split position go out one write at a time.
pub const SPLIT_BYTES: usize = 24;
const SPLIT_SLEEP: Duration = Duration::from_micros(300);

/// One fault: at byte `byte` of unit `unit` (both counted from 0) of direction `dir`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub dir: Dir,
    pub unit: usize,
    pub byte: usize,
    pub action: Action,
}

/// How a session starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Plaintext SMTP, switching to TLS records after STARTTLS and its reply.
    Smtp,
    /// TLS records from the first byte (implicit TLS).
    Tls,
}

/// A unit of the first connection, as read.
#[derive(Clone, Debug)]
pub struct Unit {
    pub dir: Dir,
    /// Its index among the units of its direction.
    pub index: usize,
    /// Bytes, TLS record header included.
    pub len: usize,
    /// The TLS record's content type (22 handshake, 20 change_cipher_spec, 23 application
    /// data, 21 alert); `None` for a plaintext line.
    pub tls_type: Option<u8>,
    /// A plaintext line, as sent (CRLF removed).
    pub text: Option<String>,
    /// Position in the shared read order: when the unit's first byte was read.
    pub started: u64,
    /// … and when its last byte was read (before it was forwarded).
    pub finished: u64,
}

/// Splits one direction of a session into units.
struct Framer {
    dir: Dir,
    tls: bool,
    /// A STARTTLS command was seen (client side), or its reply is due (server side).
    starttls: bool,
    current: Vec<u8>,
    /// For a TLS record: its whole length once the header is in.
    expected: Option<usize>,
    index: usize,
    started: u64,
}

impl Framer {
    fn new(dir: Dir, framing: Framing) -> Framer {
        Framer {
            dir,
            tls: framing == Framing::Tls,
            starttls: false,
            current: Vec::new(),
            expected: None,
            index: 0,
            started: 0,
        }
    }

    /// The length the current unit will have, when already known (TLS records only).
    fn known_len(&self) -> Option<usize> {
        self.expected
    }

    /// Take one byte; returns the unit it completed, if any. `seq` orders units across both
    /// directions; `peer_starttls` is the other direction's STARTTLS flag.
    fn push(&mut self, byte: u8, seq: &mut u64, peer_starttls: bool) -> Option<Unit> {
        if self.current.is_empty() {
            *seq += 1;
            self.started = *seq;
        }
        self.current.push(byte);
        let done = if self.tls {
            if self.current.len() == 5 {
                let len = u16::from_be_bytes([self.current[3], self.current[4]]) as usize;
                self.expected = Some(5 + len);
            }
            self.expected == Some(self.current.len())
        } else {
            byte == b'\n'
        };
        if !done {
            return None;
        }
        *seq += 1;
        let bytes = std::mem::take(&mut self.current);
        self.expected = None;
        let (tls_type, text) = if self.tls {
            (Some(bytes[0]), None)
        } else {
            let line = String::from_utf8_lossy(&bytes)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            match self.dir {
                Dir::ToServer if line.eq_ignore_ascii_case("STARTTLS") => {
                    self.starttls = true;
                    self.tls = true;
                }
                // The reply to STARTTLS: its last line ends the plaintext.
                Dir::ToClient if peer_starttls && line.as_bytes().get(3) != Some(&b'-') => {
                    self.tls = true;
                }
                _ => {}
            }
            (None, Some(line))
        };
        let unit = Unit {
            dir: self.dir,
            index: self.index,
            len: bytes.len(),
            tls_type,
            text,
            started: self.started,
            finished: *seq,
        };
        self.index += 1;
        Some(unit)
    }

    /// Whether the next byte is at `fault`'s position (checked before it is taken).
    fn at(&self, fault: &Fault) -> bool {
        if fault.dir != self.dir || fault.unit != self.index {
            return false;
        }
        let at = self.current.len();
        match self.known_len() {
            Some(len) => at == fault.byte.min(len - 1),
            None => at == fault.byte,
        }
    }
}

/// What the proxy saw of its first connection.
#[derive(Default)]
struct Shared {
    units: Vec<Unit>,
    /// When the fault was injected.
    fired: Option<Instant>,
}

/// A running proxy to `upstream`, on 127.0.0.1:<ephemeral>; stopped on drop.
pub struct FaultProxy {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Forward to `upstream`, framing sessions as `framing`, with `fault` in the first
    /// connection (`None`: record it only). `drip`: forward every byte of every connection in
    /// its own write, this long apart.
    pub fn start(
        upstream: SocketAddr,
        framing: Framing,
        fault: Option<Fault>,
        drip: Option<Duration>,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let accepted = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, shared, stop) = (accepted.clone(), shared.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut pumps = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let n = accepted.fetch_add(1, Ordering::SeqCst);
                            let Ok(server) = TcpStream::connect(upstream) else {
                                continue; // the client sees the connection close
                            };
                            let pump = Pump {
                                framing,
                                fault: if n == 0 { fault } else { None },
                                record: (n == 0).then(|| shared.clone()),
                                drip,
                                stop: stop.clone(),
                            };
                            pumps.push(std::thread::spawn(move || pump.run(client, server)));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                for pump in pumps {
                    let _ = pump.join();
                }
            })
        };
        FaultProxy {
            port,
            accepted,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// How many connections clients made to the proxy.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// When the fault was injected, if it was.
    pub fn fired(&self) -> Option<Instant> {
        self.shared.lock().unwrap().fired
    }

    /// The first connection's units so far, in the order they were read.
    pub fn units(&self) -> Vec<Unit> {
        let mut units = self.shared.lock().unwrap().units.clone();
        units.sort_by_key(|u| u.started);
        units
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Carries one connection, both directions in one thread (poll), so that a reset can close the
/// client's socket for good: it has no other descriptor.
struct Pump {
    framing: Framing,
    fault: Option<Fault>,
    record: Option<Arc<Mutex<Shared>>>,
    drip: Option<Duration>,
    stop: Arc<AtomicBool>,
}

impl Pump {
    fn run(self, client: TcpStream, server: TcpStream) {
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let mut framers = [
            Framer::new(Dir::ToServer, self.framing),
            Framer::new(Dir::ToClient, self.framing),
        ];
        let mut seq = 0u64;
        let mut buf = vec![0u8; 16 * 1024];
        // Split: the bytes of the current read still to go out one at a time.
        let mut split_left = 0usize;
        let mut fired = false;
        // Whether the server's end is still read. Once it is done, that is passed on to the
        // client as a half close, so that what the client still sends (its TLS close_notify)
        // gets through, as it would without the proxy.
        let mut server_open = true;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let Some(readable) = poll2(Some(&client), server_open.then_some(&server), 50) else {
                return;
            };
            for (side, dir) in [(0usize, Dir::ToServer), (1, Dir::ToClient)] {
                if !readable[side] {
                    continue;
                }
                let (from, to) = if side == 0 {
                    (&client, &server)
                } else {
                    (&server, &client)
                };
                let n = match (&*from).read(&mut buf) {
                    Ok(0) | Err(_) if side == 1 => {
                        server_open = false;
                        let _ = client.shutdown(Shutdown::Write);
                        continue;
                    }
                    // The client is gone: nothing is waiting for the server any more.
                    Ok(0) | Err(_) => {
                        let _ = server.shutdown(Shutdown::Both);
                        return;
                    }
                    Ok(n) => n,
                };
                let chunk = &buf[..n];
                let mut sent = 0usize;
                for i in 0..n {
                    let fire = self
                        .fault
                        .filter(|f| !fired && f.dir == dir && framers[side].at(f));
                    if let Some(fault) = fire {
                        fired = true;
                        if write_all(to, &chunk[sent..i]).is_err() {
                            return;
                        }
                        sent = i;
                        self.mark_fired();
                        match fault.action {
                            Action::Reset => {
                                set_linger_zero(&client);
                                drop(client);
                                drop(server);
                                return;
                            }
                            Action::Close => {
                                close_cleanly(client, server);
                                return;
                            }
                            Action::Stall => {
                                wait_until_gone(&client, &self.stop);
                                return;
                            }
                            Action::Split => {
                                std::thread::sleep(SPLIT_SLEEP);
                                split_left = SPLIT_BYTES;
                            }
                        }
                    }
                    let peer = framers[1 - side].starttls;
                    if let Some(unit) = framers[side].push(chunk[i], &mut seq, peer) {
                        if let Some(shared) = &self.record {
                            shared.lock().unwrap().units.push(unit);
                        }
                    }
                    if split_left > 0 || self.drip.is_some() {
                        if write_all(to, &chunk[sent..=i]).is_err() {
                            return;
                        }
                        sent = i + 1;
                        split_left = split_left.saturating_sub(1);
                        std::thread::sleep(self.drip.unwrap_or(SPLIT_SLEEP));
                    }
                }
                if write_all(to, &chunk[sent..]).is_err() {
                    return;
                }
            }
        }
    }

    fn mark_fired(&self) {
        if let Some(shared) = &self.record {
            shared.lock().unwrap().fired = Some(Instant::now());
        }
    }
}

fn write_all(mut to: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    to.write_all(bytes)
}

/// Close as a server does: a FIN first (the client's next read sees the end of the stream),
/// then the socket is closed, and what the client sends after that is answered with a reset by
/// the kernel, as it would be by a server that closed. What the client had sent before is read
/// first: unread bytes would turn the close itself into a reset.
fn close_cleanly(client: TcpStream, server: TcpStream) {
    let _ = client.shutdown(Shutdown::Write);
    drop(server);
    if client.set_nonblocking(true).is_ok() {
        // Bounded: a client in the middle of a large message keeps sending.
        let mut sink = [0u8; 16 * 1024];
        for _ in 0..16 {
            if !matches!((&client).read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
    }
}

/// A stall: nothing is read or forwarded any more, in either direction (the client's writes
/// fill the socket buffers and block, as with a server that hangs), until the client closes
/// its end or the proxy stops.
fn wait_until_gone(client: &TcpStream, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let mut fd = libc::pollfd {
            fd: client.as_raw_fd(),
            // Only the peer's close: data waiting to be read must not wake the loop.
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one live pollfd, and its count.
        let rc = unsafe { libc::poll(&mut fd, 1, 50) };
        if rc > 0 && fd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0 {
            return;
        }
    }
}

/// SO_LINGER {on, 0 s}: closing the socket now sends a RST instead of a FIN.
fn set_linger_zero(sock: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor `sock` owns, with a pointer to a live `linger` and its
    // exact size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

/// Which of the two sockets (those not `None`) has something to read or hung up,
/// waiting up to `ms`; `None` when poll itself fails.
fn poll2(a: Option<&TcpStream>, b: Option<&TcpStream>, ms: i32) -> Option<[bool; 2]> {
    let mut fds = [
        libc::pollfd {
            fd: a.map_or(-1, AsRawFd::as_raw_fd),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            // A negative descriptor is skipped by poll(2).
            fd: b.map_or(-1, AsRawFd::as_raw_fd),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is a live array of two pollfd, and its length is passed with it.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return (e.kind() == io::ErrorKind::Interrupted).then_some([false, false]);
    }
    let ready = |f: &libc::pollfd| f.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    Some([ready(&fds[0]), ready(&fds[1])])
}
