//! The delay proxy: simulates a round-trip time on loopback.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use crate::table::median;

/// A loopback TCP forwarder that delays each direction by `one_way`: every chunk read is
/// written to the other side once `one_way` has passed since it was read, in order. One thread
/// per direction of each connection, each with a queue of timestamped chunks; it waits for
/// either more input or the next chunk's time (`ppoll`, nanosecond timeout), never per byte.
/// Only data is delayed: the TCP handshake with the proxy is immediate.
pub struct DelayProxy {
    pub port: u16,
}

impl DelayProxy {
    pub fn start(upstream: SocketAddr, one_way: Duration) -> DelayProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the delay proxy");
        let port = listener.local_addr().expect("proxy address").port();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                thread::spawn(move || pump(client, server2, one_way));
                thread::spawn(move || pump(server, client2, one_way));
            }
        });
        DelayProxy { port }
    }
}

/// Forward `from` to `to`, each chunk `delay` after it was read; at end of input, forward what
/// is queued and shut `to`'s write side.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let mut queue: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = true;
    loop {
        let now = Instant::now();
        while queue.front().is_some_and(|(due, _)| *due <= now) {
            let (_, chunk) = queue.pop_front().expect("front");
            if to.write_all(&chunk).is_err() {
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
        let wait = queue
            .front()
            .map(|(due, _)| due.saturating_duration_since(now));
        if !open {
            match wait {
                Some(wait) => thread::sleep(wait),
                None => {
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
            }
            continue;
        }
        match readable(&from, wait) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(_) => open = false,
        }
        match from.read(&mut buf) {
            Ok(0) | Err(_) => open = false,
            Ok(n) => queue.push_back((Instant::now() + delay, buf[..n].to_vec())),
        }
    }
}

/// Wait until `stream` has input (or end of file), at most `timeout` (`None`: no limit).
fn readable(stream: &TcpStream, timeout: Option<Duration>) -> std::io::Result<bool> {
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    #[cfg(target_os = "linux")]
    let ready = {
        let spec = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs() as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let spec_ptr = spec.as_ref().map_or(std::ptr::null(), |s| s as *const _);
        // SAFETY: `fd` is one valid pollfd, `spec_ptr` is null or points to a timespec that
        // outlives the call, and a null signal mask leaves the mask unchanged.
        unsafe { libc::ppoll(&mut fd, 1, spec_ptr, std::ptr::null()) }
    };
    #[cfg(not(target_os = "linux"))]
    let ready = {
        // Millisecond resolution elsewhere: rounded up, so a chunk is never early.
        let ms = timeout.map_or(-1, |t| {
            t.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
        });
        // SAFETY: `fd` is one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut fd, 1, ms) }
    };
    match ready {
        n if n > 0 => Ok(true),
        0 => Ok(false),
        _ => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// The round trip through the proxy, as a client sees it: the median NOOP.
pub fn probe_rtt(port: u16) -> Duration {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the proxy");
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("greeting");
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        writer.write_all(b"NOOP\r\n").expect("NOOP");
        line.clear();
        reader.read_line(&mut line).expect("NOOP reply");
        times.push(started.elapsed().as_secs_f64());
    }
    let _ = writer.write_all(b"QUIT\r\n");
    Duration::from_secs_f64(median(&times).unwrap_or(0.0))
}
