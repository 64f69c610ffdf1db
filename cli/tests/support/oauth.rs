//! The local OAuth server (`tests/servers/oauth_server.py`, TLS on 127.0.0.1) for the OAuth
//! tests of the built binary, an HTTP client for playing the user's browser (Python's urllib,
//! trusting the server's CA, never following a redirect), and `mailport` run in the
//! background so a test can act while it waits (approve a device code, follow a redirect).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use serde_json::Value;

use super::{BIN, RUN_LIMIT, Run, WAIT, drain, python, temp_dir};

/// A running oauth_server.py: stopped (stdin closed, then killed) on drop.
pub struct OAuthServer {
    child: Child,
    _stdin: ChildStdin,
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// The CA certificate (PEM) to trust.
    pub ca: PathBuf,
    pub dir: PathBuf,
}

impl OAuthServer {
    /// Start the server with `args` (see its docstring) in a fresh directory.
    pub fn start(args: &[&str]) -> OAuthServer {
        let dir = temp_dir("oauth");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/servers/oauth_server.py");
        let python = std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(python)
            .arg("-u")
            .arg(&script)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs tests/servers/oauth_server.py");
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, rx) = channel();
        let out = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let ready = loop {
            match rx.recv_timeout(WAIT) {
                Ok(line) if line.starts_with("READY ") => break line,
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "oauth_server.py did not get ready (trustme installed?):\n{}",
                        stderr.join().unwrap_or_default()
                    );
                }
            }
        };
        let json: Value = serde_json::from_str(&ready["READY ".len()..]).unwrap();
        OAuthServer {
            child,
            _stdin: stdin,
            url: json["url"].as_str().unwrap().to_string(),
            ca: PathBuf::from(json["ca"].as_str().unwrap()),
            dir,
        }
    }

    pub fn ca_str(&self) -> &str {
        self.ca.to_str().unwrap()
    }

    /// `URL` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// POST /control with `orders` (JSON); the state it answers.
    pub fn control(&self, orders: &str) -> Value {
        let answer = http(&self.ca, "POST", &self.at("/control"), orders);
        assert_eq!(answer.status, 200, "{}", answer.body);
        serde_json::from_str(&answer.body).unwrap()
    }

    /// GET /state.
    pub fn state(&self) -> Value {
        serde_json::from_str(&http(&self.ca, "GET", &self.at("/state"), "").body).unwrap()
    }

    /// The live refresh tokens of `user`.
    pub fn refresh_tokens_of(&self, user: &str) -> Vec<String> {
        let state = self.state();
        state["refresh_tokens"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, u)| u.as_str() == Some(user))
            .map(|(t, _)| t.clone())
            .collect()
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What an HTTP request got.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The Location header of a redirect.
    pub location: Option<String>,
    pub body: String,
}

/// One request with Python's urllib, trusting `ca` for https, not following redirects.
pub fn http(ca: &Path, method: &str, url: &str, body: &str) -> Answer {
    const SCRIPT: &str = r#"
import json, ssl, sys, urllib.error, urllib.request
ca, method, url, body = sys.argv[1:5]
class Keep(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
context = ssl.create_default_context(cafile=ca)
opener = urllib.request.build_opener(Keep, urllib.request.HTTPSHandler(context=context))
data = body.encode() if method == "POST" else None
request = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
try:
    r = opener.open(request, timeout=30)
    status, headers, data = r.status, r.headers, r.read()
except urllib.error.HTTPError as e:
    status, headers, data = e.code, e.headers, e.read()
print(json.dumps({"status": status, "location": headers.get("Location"),
                  "body": data.decode("utf-8", "replace")}))
"#;
    let out = python(SCRIPT, &[ca.to_str().unwrap(), method, url, body]);
    let json: Value = serde_json::from_str(out.trim()).unwrap();
    Answer {
        status: json["status"].as_u64().unwrap() as u16,
        location: json["location"].as_str().map(str::to_string),
        body: json["body"].as_str().unwrap_or_default().to_string(),
    }
}

/// `mailport` running in the background, its standard error readable line by line.
pub struct Background {
    child: Child,
    started: Instant,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    stdout: thread::JoinHandle<String>,
    args: Vec<String>,
}

/// Start `mailport args…` with `env` added; no standard input, no DISPLAY (no browser).
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Background {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("run the mailport binary");
    let stdout = drain(child.stdout.take().unwrap());
    let err = child.stderr.take().unwrap();
    let (tx, lines) = channel();
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
            let _ = tx.send(line);
        }
    });
    Background {
        child,
        started: Instant::now(),
        lines,
        stderr,
        stdout,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

impl Background {
    /// The first line of standard error for which `pick` gives something.
    pub fn find_line<T>(&self, pick: impl Fn(&str) -> Option<T>) -> T {
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => {
                    if let Some(found) = pick(&line) {
                        return found;
                    }
                }
                Err(_) => panic!(
                    "mailport {:?}: the line looked for never came; stderr so far:\n{}",
                    self.args,
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// Wait for the end (killed, and the test failed, after the run limit).
    pub fn finish(mut self) -> Run {
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if self.started.elapsed() > RUN_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "mailport {:?} still running; stderr:\n{}",
                    self.args,
                    self.stderr.lock().unwrap()
                );
            }
            thread::sleep(std::time::Duration::from_millis(20));
        };
        let stdout = self.stdout.join().unwrap();
        // The reader thread ends with the pipe; give it the last lines.
        let deadline = Instant::now() + WAIT;
        while self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
        {}
        let stderr = self.stderr.lock().unwrap().clone();
        Run {
            status: status.code().expect("exited, not killed by a signal"),
            stdout,
            stderr,
            elapsed: self.started.elapsed(),
        }
    }
}
