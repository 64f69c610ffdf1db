//! Every sender runs as a child process with one command-line protocol (see
//! `benches/peers/README.md`):
//!
//! `<program> LIB MODE PORT CA N TEXT [ATTACHMENT]` prints `seconds cpu_seconds resumed
//! rss_growth_kib`, timed by the sender itself from before it connects until after QUIT, so
//! interpreter start-up and imports are left out.
//!
//! The programs: the bench binary itself (`--sender`, for mailport's Rust `Client` and lettre),
//! `benches/peers/sender.c` compiled against `libmailport.so`, `benches/peers/sender.py`
//! (smtplib and the Python binding) and `benches/peers/sender.php` (PHPMailer and the PHP
//! binding).

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::table::Sample;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Rust,
    C,
    Python,
    Php,
}

/// A library driven by one of the programs.
#[derive(Clone, Copy)]
pub struct Sender {
    pub program: Program,
    pub lib: &'static str,
}

pub const MAILPORT_RUST: Sender = Sender {
    program: Program::Rust,
    lib: "mailport",
};
pub const MAILPORT_C: Sender = Sender {
    program: Program::C,
    lib: "mailport",
};
pub const MAILPORT_PYTHON: Sender = Sender {
    program: Program::Python,
    lib: "mailport",
};
pub const MAILPORT_PHP: Sender = Sender {
    program: Program::Php,
    lib: "mailport",
};
pub const LETTRE: Sender = Sender {
    program: Program::Rust,
    lib: "lettre",
};
pub const SMTPLIB: Sender = Sender {
    program: Program::Python,
    lib: "smtplib",
};
pub const PHPMAILER: Sender = Sender {
    program: Program::Php,
    lib: "phpmailer",
};
/// The reference client and renderer (`reference.rs`): the protocol's floor, not a library.
pub const REFERENCE: Sender = Sender {
    program: Program::Rust,
    lib: "reference",
};

/// How a failed run's reason starts when the mode cannot run against this build of the library
/// yet (a child printed `skipped: WHY`): the row says so, and it does not fail the bench.
pub const PENDING: &str = "pending: ";

/// A sender that runs longer than this is killed: nothing in the bench may hang.
const TIMEOUT: Duration = Duration::from_secs(600);

pub struct Programs {
    /// The CPU every sender is pinned to (`pin.rs`); S1 changes it between its two placements.
    pub cpu: Option<usize>,
    root: PathBuf,
    library: PathBuf,
    /// The compiled C sender, or why it could not be built.
    c_sender: Result<PathBuf, String>,
    python: String,
    php: String,
}

impl Programs {
    /// Compile the C sender against `library` (`libmailport.so` in `release`).
    /// `cpu`: the one CPU every sender runs on (see `pin.rs`), or anywhere.
    pub fn new(root: &Path, release: &Path, library: &Path, cpu: Option<usize>) -> Programs {
        Programs {
            cpu,
            root: root.to_path_buf(),
            library: library.to_path_buf(),
            c_sender: compile_c(root, release),
            python: std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into()),
            php: std::env::var("MAILPORT_TEST_PHP").unwrap_or_else(|_| "php".into()),
        }
    }

    /// The command that runs `program`, under `wrapper` (a program and its arguments that runs
    /// the rest of the command line, e.g. strace) when that is not empty.
    fn command(&self, program: Program, wrapper: &[OsString]) -> Result<Command, String> {
        let peers = self.root.join("benches/peers");
        let (exe, args): (OsString, Vec<OsString>) = match program {
            Program::Rust => {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                (exe.into(), vec!["--sender".into()])
            }
            Program::C => (
                self.c_sender.as_ref().map_err(Clone::clone)?.into(),
                Vec::new(),
            ),
            Program::Python => (
                self.python.clone().into(),
                vec![peers.join("sender.py").into()],
            ),
            Program::Php => (
                self.php.clone().into(),
                ["-d", "ffi.enable=1", "-d", "memory_limit=-1"]
                    .into_iter()
                    .map(OsString::from)
                    .chain([peers.join("sender.php").into()])
                    .collect(),
            ),
        };
        let mut command = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        command.args(args);
        if let Some(cpu) = self.cpu {
            crate::pin::pin(&mut command, cpu);
        }
        if program == Program::Python {
            command.env("PYTHONPATH", self.root.join("bindings/python"));
        }
        command
            .env("MAILPORT_LIBRARY", &self.library)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(command)
    }

    /// Run one sender once; `Err` says why it failed (its own error output).
    pub fn run(
        &self,
        sender: Sender,
        mode: &str,
        port: u16,
        ca: &Path,
        n: usize,
        attachment: Option<&Path>,
    ) -> Result<Sample, String> {
        self.run_wrapped(sender, mode, port, ca, n, attachment, &[])
    }

    /// `run`, under `wrapper` (see `command`).
    #[allow(clippy::too_many_arguments)]
    pub fn run_wrapped(
        &self,
        sender: Sender,
        mode: &str,
        port: u16,
        ca: &Path,
        n: usize,
        attachment: Option<&Path>,
        wrapper: &[OsString],
    ) -> Result<Sample, String> {
        let mut command = self.command(sender.program, wrapper)?;
        command
            .args([sender.lib, mode, &port.to_string()])
            .arg(ca)
            .args([&n.to_string(), crate::TEXT]);
        if let Some(path) = attachment {
            command.arg(path);
        }
        let (status, stdout, stderr) = run_bounded(command)?;
        if !status {
            let stderr = stderr.trim();
            let last = stderr.lines().last().unwrap_or("no error output");
            return Err(format!("{} {mode} failed: {last}", sender.lib));
        }
        if let Some(why) = stdout.trim().strip_prefix("skipped: ") {
            return Err(format!("{PENDING}{why}"));
        }
        parse(&stdout).ok_or_else(|| format!("{} {mode}: unexpected output {stdout:?}", sender.lib))
    }
}

/// `seconds cpu_seconds resumed rss_growth_kib [output_bytes]`, a negative figure meaning
/// unknown; the render modes add the fifth.
fn parse(line: &str) -> Option<Sample> {
    let fields: Vec<f64> = line
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let (secs, cpu, resumed, rss, output) = match fields[..] {
        [secs, cpu, resumed, rss] => (secs, cpu, resumed, rss, -1.0),
        [secs, cpu, resumed, rss, output] => (secs, cpu, resumed, rss, output),
        _ => return None,
    };
    let known = |v: f64| (v >= 0.0).then_some(v);
    Some(Sample {
        ops: 0,
        secs,
        cpu: known(cpu).map(Duration::from_secs_f64),
        sink_cpu: None,
        resumed: known(resumed).map(|r| r as u64),
        rss_growth_kib: known(rss).map(|r| r as u64),
        output_bytes: known(output).map(|o| o as u64),
    })
}

/// Run `command` to completion, killing it after `TIMEOUT`: (success, stdout, stderr).
fn run_bounded(mut command: Command) -> Result<(bool, String, String), String> {
    let mut child = command.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("killed after {} s", TIMEOUT.as_secs()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e.to_string()),
        }
    };
    Ok((
        status.success(),
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    ))
}

/// Build `benches/peers/sender.c` against the release `libmailport.so`. The library's SONAME is
/// `libmailport.so.1`, which cargo does not create, so the sender's run path is a directory with
/// that link.
fn compile_c(root: &Path, release: &Path) -> Result<PathBuf, String> {
    let dir = release.join("bench-peers");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let soname = dir.join("libmailport.so.1");
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(release.join("libmailport.so"), &soname)
        .map_err(|e| format!("{}: {e}", soname.display()))?;
    let output = dir.join("sender-c");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let result = Command::new(&compiler)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("benches/peers/sender.c"))
        .arg("-o")
        .arg(&output)
        .arg("-L")
        .arg(release)
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .arg("-lmailport")
        .output()
        .map_err(|e| format!("{compiler}: {e}"))?;
    if result.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "cannot compile benches/peers/sender.c: {}",
            String::from_utf8_lossy(&result.stderr).trim()
        ))
    }
}
