//! `mailport` run in the background, so that a test can act while it waits (approve a device
//! code, play the browser that follows a redirect), its standard error read line by line.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use super::{BIN, RUN_LIMIT, Run, WAIT, drain, gather};

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
    let (tx, lines) = channel();
    let stderr = gather(child.stderr.take().unwrap(), Some(tx));
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
