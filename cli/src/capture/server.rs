//! The listeners: one thread per port accepting connections, one thread per connection, at most
//! [`MAX_CONNECTIONS`] at once, and a clean stop that ends every connection (removing any
//! message still in progress) before it returns.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::session;
use super::settings::Settings;

/// Connections served at once; the next one is told 421 and closed.
pub(super) const MAX_CONNECTIONS: usize = 100;

pub(super) struct Shared {
    pub settings: Settings,
    stopping: AtomicBool,
    /// Open connections (a clone of each socket, to shut it down on stop).
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        // A panicking connection thread cannot leave the map inconsistent: use it anyway.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) struct Server {
    shared: Arc<Shared>,
    /// The accepting threads and the address each listens on.
    acceptors: Vec<(JoinHandle<()>, SocketAddr)>,
}

impl Server {
    /// Serve `plain` (plaintext + STARTTLS) and `implicit` (TLS from the first byte).
    pub fn start(
        settings: Settings,
        plain: TcpListener,
        implicit: TcpListener,
    ) -> Result<Server, String> {
        let shared = Arc::new(Shared {
            settings,
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        });
        let mut server = Server {
            shared: shared.clone(),
            acceptors: Vec::new(),
        };
        for (listener, implicit_tls, name) in [
            (plain, false, "capture-starttls"),
            (implicit, true, "capture-tls"),
        ] {
            // A blocking accept answers a new client at once; stop() wakes it by connecting.
            let addr = listener
                .local_addr()
                .map_err(|e| format!("cannot set up the listener: {e}"))?;
            let shared = shared.clone();
            let handle = thread::Builder::new()
                .name(name.into())
                .spawn(move || accept_loop(&listener, &shared, implicit_tls))
                .map_err(|e| format!("cannot start a thread: {e}"))?;
            server.acceptors.push((handle, addr));
        }
        Ok(server)
    }

    /// Stop accepting, end every open connection (their messages in progress are removed)
    /// and wait for them to finish.
    pub fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        for (handle, addr) in self.acceptors.drain(..) {
            wake_and_join(handle, addr);
        }
        for stream in self.shared.connections().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.shared.connections().is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Server {
    /// (messages, bytes) accepted and thrown away in discard mode.
    pub fn discarded(&self) -> (u64, u64) {
        self.shared.settings.discarded.total()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// End an accepting thread blocked in `accept`: connect to its address until it notices that
/// the server is stopping. Should that fail for several seconds, the thread is left behind
/// rather than blocking the stop (it ends with the process, and accepts nobody meanwhile).
fn wake_and_join(handle: JoinHandle<()>, addr: SocketAddr) {
    let wake = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return;
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_millis(200));
        let waited = Instant::now();
        while !handle.is_finished() && waited.elapsed() < Duration::from_millis(100) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = handle.join();
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, implicit_tls: bool) {
    loop {
        let accepted = listener.accept();
        // Whoever connected once the server is stopping (the wake-up included) is turned away.
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => admit(stream, peer, shared, implicit_tls),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // Out of file descriptors and the like: wait for connections to end.
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Removes a connection from the table when its thread ends, however it ends.
struct Registered {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.connections().remove(&self.id);
    }
}

fn admit(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>, implicit_tls: bool) {
    let idle = shared.settings.idle_timeout;
    let ready = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(idle))
        .and_then(|()| stream.set_write_timeout(Some(idle.unwrap_or(Duration::from_secs(60)))));
    if ready.is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    {
        let mut connections = shared.connections();
        if connections.len() >= MAX_CONNECTIONS {
            drop(connections);
            if !implicit_tls {
                let _ = (&stream)
                    .write_all(b"421 4.3.2 localhost Too many connections, try again later\r\n");
            }
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        connections.insert(id, clone);
    }
    let registered = Registered {
        shared: shared.clone(),
        id,
    };
    // Should the thread not start, the closure (and with it the registration) is dropped.
    let _ = thread::Builder::new()
        .name(format!("capture-conn-{id}"))
        .spawn(move || {
            let registered = registered;
            session::serve(stream, peer, implicit_tls, &registered.shared.settings);
        });
}
