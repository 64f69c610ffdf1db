//! Writing captured messages: a hidden temporary file in the capture directory that becomes
//! `<time>-<n>-<random>.eml` only once the whole message is in and synced, and is removed on
//! every other path (size limit, RSET, disconnect, timeout, server stop, panic).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mailport::time::CivilTime;

/// Temporary files start with this (hidden, and never ending in `.eml`).
pub(super) const PARTIAL_PREFIX: &str = ".mailport-partial-";

/// `20261130T064012Z`, for file names.
pub(super) fn compact(t: &CivilTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Random bytes from the TLS provider's generator.
pub(super) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut bytes).is_err() {
        // Only used for names and serial numbers: fall back to the clock, still unique enough.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            .to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = nanos[i % nanos.len()] ^ (i as u8);
        }
    }
    bytes
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    random_bytes::<8>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Counts messages for file names (`…-<n>-…`), process-wide so that two servers in one process
/// sharing a directory still never pick the same name.
static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A message being received: a hidden temporary file in the capture directory. Dropping it
/// without [`Pending::commit`] removes the file.
pub(super) struct Pending {
    writer: Option<BufWriter<File>>,
    temp: PathBuf,
    /// The final name (without directory).
    name: String,
    dir: PathBuf,
}

impl Pending {
    /// Create the temporary file and give the message its final name (used in the trace header).
    pub fn create(dir: &Path, now: &CivilTime) -> io::Result<Pending> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}-{}.eml", compact(now), random_suffix());
        let temp = dir.join(format!(
            "{PARTIAL_PREFIX}{}-{}.tmp",
            std::process::id(),
            random_suffix()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(Pending {
            writer: Some(BufWriter::with_capacity(64 * 1024, file)),
            temp,
            name,
            dir: dir.to_path_buf(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    #[cfg(test)]
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.write_all(bytes),
            None => Err(io::Error::other("message file already closed")),
        }
    }

    /// Sync the file, move it to its final name and sync the directory. Returns the final path.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| io::Error::other("message file already closed"))?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let path = self.dir.join(&self.name);
        // The name carries a random part: a clash means something else wrote it; never replace.
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", path.display()),
            ));
        }
        fs::rename(&self.temp, &path)?;
        // The rename is done: from here on the file is no longer ours to remove.
        self.temp = PathBuf::new();
        sync_dir(&self.dir);
        Ok(path)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        drop(self.writer.take());
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Check that files can be created in `dir` (and remove the one created).
pub(super) fn probe_writable(dir: &Path) -> io::Result<()> {
    let temp = dir.join(format!(
        "{PARTIAL_PREFIX}{}-{}.tmp",
        std::process::id(),
        random_suffix()
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    fs::remove_file(&temp)
}

/// Make a rename in `dir` durable (best effort: not every platform can sync a directory).
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Remove temporary files left in `dir` by capture servers that were killed (SIGKILL, power
/// loss) mid-message. Files of a process that is still running are left alone.
pub(super) fn sweep_stale_partials(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PARTIAL_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    // Without a cheap portable check, assume it is: leaving a stray hidden file is harmless,
    // removing a live server's message is not.
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn calendar() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_020_812); // 2026-11-30 06:40:12 UTC
        let u = CivilTime::at(t);
        assert_eq!(compact(&u), "20261130T064012Z");
        assert_eq!(u.rfc5322(0), "Mon, 30 Nov 2026 06:40:12 +0000");
        assert_eq!(
            CivilTime::at(UNIX_EPOCH).rfc5322(0),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(compact(&CivilTime::at(leap)), "20000229T000000Z");
    }

    #[test]
    fn pending_is_removed_unless_committed() {
        let dir = std::env::temp_dir().join(format!("mailport-store-{}", random_suffix()));
        fs::create_dir_all(&dir).unwrap();
        let mut p = Pending::create(&dir, &CivilTime::at(SystemTime::now())).unwrap();
        p.write(b"abc").unwrap();
        let temp = p.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(p);
        assert!(!temp.exists());
        let mut p = Pending::create(&dir, &CivilTime::at(SystemTime::now())).unwrap();
        p.write(b"hello").unwrap();
        let path = p.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with(".eml")
        );
        let names: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
