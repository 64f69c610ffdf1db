//! System calls per message: a counting pass per sender, apart from the timed rounds, under
//! `strace -f -c` (the Debian package `strace`).
//!
//! Each sender runs twice under strace, with N and with 2N messages; the calls of the first
//! run are subtracted from the second's and divided by N. Start-up, the connection, the
//! handshake, AUTH and QUIT cost the same in both runs and cancel out, so what remains is the
//! cost of a message on a busy connection. strace stops the sender at every call, so these runs
//! are slow and their figures are not used: only their counts.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether strace can trace here: installed, and ptrace allowed (a container may refuse it).
pub fn available() -> Result<(), String> {
    let status = Command::new("strace")
        .args(["-f", "-c", "-o", "/dev/null", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("strace: {e} (Debian: apt-get install strace)"))?;
    if status.success() {
        Ok(())
    } else {
        Err("strace cannot trace here (is ptrace allowed?)".into())
    }
}

/// The command line that runs a program under strace, its summary written to `summary`.
pub fn wrapper(summary: &Path) -> Vec<OsString> {
    ["strace", "-f", "-c", "-o"]
        .into_iter()
        .map(OsString::from)
        .chain([summary.as_os_str().to_owned()])
        .collect()
}

/// Calls and failed calls per system call name.
pub type Counts = BTreeMap<String, (u64, u64)>;

/// Read strace's `-c` summary: `% time  seconds  usecs/call  calls  [errors]  syscall` lines
/// between dashed rules, then a `total` line (left out: the sum is ours to make).
pub fn parse(summary: &str) -> Result<Counts, String> {
    let mut counts = Counts::new();
    for line in summary.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some((&name, numbers)) = fields.split_last() else {
            continue;
        };
        if name == "total" || name == "syscall" || name.starts_with('-') {
            continue;
        }
        let number = |i: usize| -> Result<u64, String> {
            numbers[i]
                .parse()
                .map_err(|_| format!("unexpected strace summary line: {line:?}"))
        };
        let (calls, errors) = match numbers.len() {
            4 => (number(3)?, 0),
            5 => (number(3)?, number(4)?),
            _ => return Err(format!("unexpected strace summary line: {line:?}")),
        };
        let entry = counts.entry(name.to_string()).or_default();
        entry.0 += calls;
        entry.1 += errors;
    }
    if counts.is_empty() {
        return Err("strace wrote no summary".into());
    }
    Ok(counts)
}

/// System calls per message: (calls, failed calls) per name, largest first.
pub struct PerMessage {
    pub calls: Vec<(String, f64, f64)>,
}

impl PerMessage {
    /// The difference between a run of `2n` messages and one of `n`, divided by `n`.
    pub fn between(small: &Counts, large: &Counts, n: usize) -> PerMessage {
        let mut calls: Vec<(String, f64, f64)> = large
            .keys()
            .chain(small.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|name| {
                let (c1, e1) = small.get(name).copied().unwrap_or_default();
                let (c2, e2) = large.get(name).copied().unwrap_or_default();
                let per = |a: u64, b: u64| (b as f64 - a as f64) / n as f64;
                (name.clone(), per(c1, c2), per(e1, e2))
            })
            // Calls that do not grow with the count (start-up noise, a timer) round to none.
            .filter(|(_, calls, _)| calls.abs() >= 0.05)
            .collect();
        calls.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        PerMessage { calls }
    }

    pub fn total(&self) -> f64 {
        self.calls.iter().map(|(_, calls, _)| calls).sum()
    }

    /// `4.0 ioctl, 3.0 recvfrom (2.0 failed), …`
    pub fn breakdown(&self) -> String {
        if self.calls.is_empty() {
            return "none".into();
        }
        self.calls
            .iter()
            .map(|(name, calls, errors)| {
                if *errors >= 0.05 {
                    format!("{calls:.1} {name} ({errors:.1} failed)")
                } else {
                    format!("{calls:.1} {name}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
