//! Persistent connections: a process-wide pool of authenticated SMTP sessions.
//!
//! A WordPress site sends mail from short PHP requests served by long-lived php-fpm workers.
//! With [`Config::persistent`](crate::Config::persistent) a client hands its session to this pool
//! when it is closed, and the next client in the same process with the same server, port,
//! security, credentials, permission for plaintext authentication and TLS trust takes it back
//! instead of connecting, handshaking and authenticating again — the way PHP's persistent
//! database connections work. A session is owned by one client at a time (it is moved out of the
//! pool) and sends with that client's own settings (recipients, transcript, timeouts), sessions
//! idle for longer than the configured time are closed, and a pooled session that turns out dead
//! is replaced by a fresh one under the client's usual no-duplicate rule.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use crate::config::{Config, Credentials, PORT_AUTO, Security};
use crate::fork::process_id;
use crate::smtp::session::{Session, Settings};
use crate::transcript::Transcript;

/// At most this many idle sessions per key, and in all: enough for a worker's burst, bounded so
/// a process never hoards connections a server counts against its limits.
const PER_KEY: usize = 4;
const TOTAL: usize = 32;

/// A session this old is closed rather than handed out, however recently it was used: a busy
/// worker would otherwise keep one connection for good, and with it what was settled when it
/// was opened (the server's address, the certificate it showed, the capabilities it announced,
/// a login since revoked or a password since changed). Five minutes is about how long servers
/// let a client sit idle (Postfix: 300 s), and spares the handshake and login for all but one
/// message in a few hundred of a steady stream.
const MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// What must match for a session to be reused: everything that shaped it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Key {
    host: String,
    port: u16,
    security: Security,
    /// With the automatic port, the candidates the choice is made among: a client that allows
    /// fewer ports must not get a session on one it excludes.
    candidates: Vec<(u16, Security)>,
    helo_name: String,
    /// The user and the secret: a session authenticated as one user must never serve another.
    credentials: Option<(String, String)>,
    /// A session that sent credentials unencrypted serves only clients that allow that.
    plaintext_auth: bool,
    tls: SameTls,
}

/// The TLS configuration a session was opened with, equal only to itself:
/// [`crate::tls::shared_client_config`] gives clients the same one for the same options and CA
/// files, and a new one once a CA file changed on disk, so a session is never reused under
/// trust other than the one that verified it.
#[derive(Clone)]
struct SameTls(Arc<rustls::ClientConfig>);

impl PartialEq for SameTls {
    fn eq(&self, other: &SameTls) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SameTls {}

impl Key {
    pub(crate) fn new(
        config: &Config,
        helo_name: &str,
        tls_config: &Arc<rustls::ClientConfig>,
    ) -> Key {
        let credentials = config.credentials.as_ref().map(|c| match c {
            Credentials::Password { username, password } => (
                format!("password:{username}"),
                password.expose().to_string(),
            ),
            // The token's source, not the access token: sessions authenticated with
            // successive tokens of one refresh grant serve the same clients.
            Credentials::OAuth2 { username, token } => {
                (format!("oauth2:{username}"), token.identity())
            }
        });
        let candidates = if config.port == PORT_AUTO {
            config.auto_candidates()
        } else {
            Vec::new()
        };
        Key {
            host: config.host.to_ascii_lowercase(),
            port: config.port,
            security: config.security,
            candidates,
            helo_name: helo_name.to_string(),
            credentials,
            plaintext_auth: config.dangerous_allow_plaintext_auth,
            tls: SameTls(tls_config.clone()),
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if let Some((_, secret)) = &mut self.credentials {
            zeroize::Zeroize::zeroize(secret);
        }
    }
}

struct Idle {
    key: Key,
    session: Session,
    /// The automatic port's choice the session was opened with.
    chosen: Option<(u16, Security)>,
    since: Instant,
    /// When the session was opened.
    opened: Instant,
}

struct Pool {
    idle: Vec<Idle>,
    /// The process the sessions in `idle` belong to (see [`crate::fork`]).
    pid: u32,
}

static POOL: Lazy<Mutex<Pool>> = Lazy::new(|| {
    crate::fork::protect_locks();
    Mutex::new(Pool {
        idle: Vec::new(),
        pid: process_id(),
    })
});

fn lock() -> std::sync::MutexGuard<'static, Pool> {
    // A panic while holding the lock leaves plain data behind: keep using it.
    let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pid = process_id();
    if pool.pid != pid {
        // The first use in a forked child: the sessions are the parent's. Dropping one closes
        // this process's copy of its socket and nothing else — no QUIT, no shutdown, no TLS
        // close_notify — so the parent's connection is untouched.
        pool.pid = pid;
        pool.idle.clear();
    }
    pool
}

/// The pool's lock, for [`crate::fork`] to hold across `fork()`.
pub(crate) fn hold_for_fork() -> Box<dyn std::any::Any> {
    Box::new(POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// Take an idle session for `key`, set to send with `config`'s own settings, closing the
/// sessions idle for longer than its `pool_idle_timeout` or older than [`MAX_AGE`].
pub(crate) fn take(
    key: &Key,
    config: &Config,
    transcript: &mut Transcript,
) -> Option<(Session, Option<(u16, Security)>)> {
    let max_idle = config.pool_idle_timeout;
    let (expired, found) = {
        let mut pool = lock();
        let now = Instant::now();
        let (expired, kept): (Vec<Idle>, Vec<Idle>) =
            std::mem::take(&mut pool.idle).into_iter().partition(|i| {
                now.duration_since(i.since) > max_idle
                    || now.duration_since(i.opened) > MAX_AGE
                    || !i.session.is_usable()
                    || i.session.token_expired()
            });
        pool.idle = kept;
        // The most recently used first: the likeliest to be alive.
        let found = pool
            .idle
            .iter()
            .rposition(|i| i.key == *key)
            .map(|at| pool.idle.remove(at));
        (expired, found)
    };
    // Say QUIT outside the lock: it waits on the network.
    for mut idle in expired {
        idle.session.quit(&mut Transcript::new(None));
    }
    found.map(|mut idle| {
        idle.session.serve(Settings::of(config));
        transcript.record(
            crate::transcript::Direction::Info,
            &format!(
                "reusing a pooled connection (idle for {:.1} s)",
                idle.since.elapsed().as_secs_f64()
            ),
        );
        (idle.session, idle.chosen)
    })
}

/// Keep `session` for the next client with the same key; QUIT it when the pool is full or the
/// session too old.
pub(crate) fn put(key: Key, session: Session, chosen: Option<(u16, Security)>) {
    let refused = {
        let mut pool = lock();
        let same = pool.idle.iter().filter(|i| i.key == key).count();
        let now = Instant::now();
        let opened = session.opened();
        if same >= PER_KEY || pool.idle.len() >= TOTAL || now.duration_since(opened) > MAX_AGE {
            Some(session)
        } else {
            pool.idle.push(Idle {
                key,
                session,
                chosen,
                since: now,
                opened,
            });
            None
        }
    };
    if let Some(mut session) = refused {
        session.quit(&mut Transcript::new(None));
    }
}

/// Close every pooled session (tests, and processes that want to drop them before exiting).
pub fn clear() {
    drain(Duration::from_secs(2));
}

/// QUIT every idle session and close it, for a worker that is shutting down: the servers see a
/// polite end rather than a dropped connection (some count those against the client), and
/// nothing is left for the process's exit to cut. All within `timeout`: a session whose turn
/// comes after it is closed without QUIT, and none waits for its reply longer than a QUIT
/// usually takes. Sessions in use by a client are not touched; they come back to the pool when
/// their client is closed. Returns how many sessions were closed.
///
/// In a child of `fork()`, the sessions inherited from the parent are the parent's: they are
/// not QUIT (the child's copy of each socket is closed, which the parent does not notice) and
/// not counted.
pub fn drain(timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    let idle = std::mem::take(&mut lock().idle);
    let closed = idle.len();
    // Outside the lock: QUIT waits on the network, and clients may take and put meanwhile.
    for mut i in idle {
        i.session.quit_by(deadline, &mut Transcript::new(None));
    }
    closed
}

/// How many sessions are idle in the pool.
pub fn idle_count() -> usize {
    lock().idle.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::stream::Stream;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread::JoinHandle;

    /// A session over a loopback connection, and its far end: a thread that answers one line
    /// and tells whether it was QUIT.
    fn session(config: &Config) -> (Session, JoinHandle<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (far, _) = listener.accept().unwrap();
        let far_end = std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(&far).read_line(&mut line);
            let _ = (&far).write_all(b"221 bye\r\n");
            line == "QUIT\r\n"
        });
        (
            Session::attach(Stream::plain(sock), Vec::new(), config),
            far_end,
        )
    }

    #[test]
    fn a_session_past_the_age_limit_is_closed_instead_of_handed_out() {
        // A host of its own: no other test's sessions share the key.
        let mut config = Config::new("age-limit.test");
        config.persistent = true;
        let tls = crate::tls::shared_client_config(&config.tls).unwrap();
        let key = Key::new(&config, "client.test", &tls);
        for (age, handed_out) in [
            (MAX_AGE - Duration::from_secs(10), true),
            (MAX_AGE + Duration::from_secs(1), false),
        ] {
            let (session, far_end) = session(&config);
            let now = Instant::now();
            let opened = now.checked_sub(age).expect("the machine is up for minutes");
            // Used a moment ago: only its age can disqualify it.
            lock().idle.push(Idle {
                key: key.clone(),
                session,
                chosen: None,
                since: now,
                opened,
            });
            let taken = take(&key, &config, &mut Transcript::new(None));
            assert_eq!(taken.is_some(), handed_out, "opened {age:?} ago");
            drop(taken);
            assert_eq!(far_end.join().unwrap(), !handed_out, "QUIT said");
        }
    }
}
