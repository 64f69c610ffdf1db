//! A throwaway MariaDB (Debian's `mariadb-server`) for the outbox's database store, started by
//! `tests/servers/mariadb_server.py` on a unix socket in a temporary directory, networking off.
//! The launcher stops it and removes its directory when this process lets go of its stdin (on
//! drop, or when the test process ends however it ends).
//!
//! A test includes it with `#[path = "common/mariadb.rs"] mod mariadb;` beside `mod common;`
//! (not from common/mod.rs, which the CLI's tests include without the mysql crate).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql::prelude::Queryable;

/// mariadb-install-db and the first start; generous for a loaded CI machine.
const READY_DEADLINE: Duration = Duration::from_secs(120);

pub struct TestDatabase {
    pub socket: PathBuf,
    pub database: String,
    pub user: String,
    pub password: String,
    /// With TLS ([`TestDatabase::start_tls`]): the TCP port on 127.0.0.1, and the CA's PEM file.
    pub port: Option<u16>,
    pub ca: Option<PathBuf>,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    lines: Mutex<mpsc::Receiver<String>>,
}

#[derive(serde::Deserialize)]
struct Ready {
    socket: PathBuf,
    database: String,
    user: String,
    password: String,
    port: Option<u16>,
    ca: Option<PathBuf>,
}

impl TestDatabase {
    /// A MariaDB of its own (for a test that stops and starts it).
    pub fn start() -> TestDatabase {
        TestDatabase::launch(&[])
    }

    /// A MariaDB that also listens on 127.0.0.1 with TLS, its certificate for `name`; over TCP
    /// the user must use TLS.
    pub fn start_tls(name: &str) -> TestDatabase {
        TestDatabase::launch(&["--tls", name])
    }

    fn launch(args: &[&str]) -> TestDatabase {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Short: a unix socket path has at most 107 bytes.
        let dir = std::env::temp_dir().join(format!(
            "mailport-db-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/servers/mariadb_server.py");
        let mut child = Command::new(crate::common::python())
            .arg("-u")
            .arg(&script)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let ready = wait_for(&rx, "READY ").unwrap_or_else(|why| {
            let _ = child.kill();
            panic!(
                "the test MariaDB did not start: {why} (it needs Debian's mariadb-server: \
                 apt-get install mariadb-server)"
            )
        });
        let ready: Ready = serde_json::from_str(&ready).expect("READY line");
        TestDatabase {
            socket: ready.socket,
            database: ready.database,
            user: ready.user,
            password: ready.password,
            port: ready.port,
            ca: ready.ca,
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            lines: Mutex::new(rx),
        }
    }

    /// The MariaDB this test binary shares between its tests (each uses its own table).
    pub fn shared() -> &'static TestDatabase {
        static SHARED: OnceLock<TestDatabase> = OnceLock::new();
        SHARED.get_or_init(TestDatabase::start)
    }

    /// The outbox URL of `table` in this database, over its socket.
    pub fn url(&self, table: &str) -> String {
        format!(
            "mysql://{}:{}@localhost/{}?socket={}&table={table}",
            self.user,
            self.password,
            self.database,
            self.socket.display()
        )
    }

    /// A connection of the test's own, for SQL as another program would write it.
    pub fn conn(&self) -> mysql::Conn {
        let options = mysql::OptsBuilder::new()
            .socket(Some(self.socket.to_string_lossy().into_owned()))
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .db_name(Some(self.database.clone()))
            .prefer_socket(false);
        mysql::Conn::new(options).expect("connect to the test MariaDB")
    }

    /// Run one statement.
    pub fn execute(&self, sql: &str) {
        self.conn()
            .query_drop(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of the first row of `sql` (`None` for no row, or NULL).
    pub fn value<T: mysql::prelude::FromValue>(&self, sql: &str) -> Option<T> {
        self.conn()
            .query_first::<Option<T>, _>(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .flatten()
    }

    /// Stop the server (its data stays).
    pub fn stop(&self) {
        self.command("stop", "STOPPED");
    }

    /// Start it again on the same data.
    pub fn restart(&self) {
        self.command("start", "READY ");
    }

    fn command(&self, command: &str, answer: &str) {
        let mut stdin = self.stdin.lock().unwrap();
        let pipe = stdin.as_mut().expect("the launcher's stdin");
        writeln!(pipe, "{command}").expect("write to the launcher");
        pipe.flush().expect("flush");
        wait_for(&self.lines.lock().unwrap(), answer)
            .unwrap_or_else(|why| panic!("the test MariaDB did not {command}: {why}"));
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // EOF: the launcher stops mariadbd and removes its directory.
        drop(self.stdin.lock().unwrap().take());
        let _ = self.child.lock().unwrap().wait();
    }
}

/// The rest of the first line starting with `prefix`.
fn wait_for(lines: &mpsc::Receiver<String>, prefix: &str) -> Result<String, String> {
    let until = std::time::Instant::now() + READY_DEADLINE;
    loop {
        match lines.recv_timeout(until.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return Ok(rest.to_string());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!("no {prefix:?} line within {READY_DEADLINE:?}"));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the launcher exited (its error is above)".into());
            }
        }
    }
}
