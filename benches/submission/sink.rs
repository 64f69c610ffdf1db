//! The sink: `mailport capture --discard` on free loopback ports.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::Duration;

use crate::table::Sample;
use crate::{PASSWORD, USER};

/// `mailport capture --discard` on free loopback ports.
pub struct Sink {
    child: Child,
    pub starttls: u16,
    /// The implicit-TLS port.
    pub tls: u16,
    pub ca: PathBuf,
    lines: Receiver<String>,
}

impl Sink {
    /// `cpu`: the one CPU the sink runs on (see `pin.rs`), or anywhere.
    pub fn start(binary: &Path, dir: &Path, cpu: Option<usize>) -> Sink {
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build --release -p mailport-cli`",
            binary.display()
        );
        let mut command = Command::new(binary);
        if let Some(cpu) = cpu {
            crate::pin::pin(&mut command, cpu);
        }
        let mut child = command
            .args([
                "capture",
                "--discard",
                "--starttls-port",
                "0",
                "--tls-port",
                "0",
            ])
            .args([
                "--auth",
                &format!("{USER}:{PASSWORD}"),
                "--idle-timeout",
                "600",
                // S4's 25 MiB attachment is about 34 MiB once encoded.
                "--max-size",
                "64M",
            ])
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start mailport capture");
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("mailport capture printed no READY line");
        let field = |key: &str| {
            ready
                .split(' ')
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {ready:?}"))
                .to_string()
        };
        Sink {
            starttls: field("starttls=").parse().expect("port"),
            tls: field("tls=").parse().expect("port"),
            ca: PathBuf::from(field("ca=")),
            child,
            lines,
        }
    }

    /// CPU time (user + system) the sink has used so far, to the nanosecond: the kernel's
    /// CPU-time clock of the sink's process, which counts its threads that have ended too
    /// (the sink runs a thread per connection). Where that clock cannot be read, `/proc`'s
    /// figure in clock ticks (10 ms).
    fn cpu(&self) -> Duration {
        self.cpu_clock().unwrap_or_else(|| self.cpu_ticks())
    }

    fn cpu_clock(&self) -> Option<Duration> {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `clock` is a valid place for one clockid_t; the pid is our unreaped child's.
        if unsafe { libc::clock_getcpuclockid(self.child.id() as libc::pid_t, &mut clock) } != 0 {
            return None;
        }
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec for the duration of the call.
        if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
            return None;
        }
        Some(Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }

    fn cpu_ticks(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name (which is in parentheses): utime and stime are the
        // 12th and 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<u64> = after
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|f| f.parse().ok())
            .collect();
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Duration::from_secs_f64(fields.iter().sum::<u64>() as f64 / ticks)
    }

    /// Run a measurement and add the sink's CPU time during it.
    pub fn measure(&self, run: impl FnOnce() -> Result<Sample, String>) -> Result<Sample, String> {
        let before = self.cpu();
        let mut sample = run()?;
        sample.sink_cpu = Some(self.cpu().saturating_sub(before));
        Ok(sample)
    }

    /// SIGTERM, then the total line: (messages, line).
    pub fn stop(&mut self) -> (Option<u64>, Option<String>) {
        // SAFETY: kill with a child's pid that has not been reaped yet (we still hold `child`).
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
        let mut total = None;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            if line.starts_with("mailport capture: discarded") {
                total = Some(line);
            }
        }
        let messages = total
            .as_deref()
            .and_then(|l| l.split_whitespace().nth(3)?.parse().ok());
        (messages, total)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
