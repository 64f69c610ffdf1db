//! The refresh token file: read at the start of `send`/`check`, written by `oauth login` and
//! rewritten whenever the provider rotates the token.
//!
//! A refresh token is as good as a password for sending mail as its account, so the file is
//! created with mode 0600 and never written through a symbolic link (which could point it at a
//! file others can read). It is replaced atomically — a temporary file in the same directory,
//! fsync, rename, fsync of the directory — because a rotated token that is half written, or
//! lost in a crash after the provider retired the old one, locks the site out until someone
//! signs in again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use mailport::Secret;

use crate::shared::Refusal;

/// Read the refresh token in `path` (`flag` names the option, for messages): one line, no
/// spaces. Warns on standard error when others may read the file.
pub fn read(path: &Path, flag: &str) -> Result<Secret, Refusal> {
    let shown = path.display();
    let text = fs::read(path).map_err(|e| {
        Refusal::input(
            format!("{flag} {shown}: cannot read it ({e})"),
            "Give the file `mailport oauth login --output FILE` wrote (run it first if there is none).",
        )
    })?;
    let text = String::from_utf8(text).map_err(|_| {
        Refusal::input(
            format!("{flag} {shown}: the file is not text, so it holds no refresh token"),
            "Run `mailport oauth login --output FILE` to write a new one.",
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Refusal::input(
            format!("{flag} {shown}: the file is empty"),
            "Run `mailport oauth login --output FILE` to sign in and write the refresh token into it.",
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // Never quote the content: it may be a token with a stray line after it.
        return Err(Refusal::input(
            format!(
                "{flag} {shown}: the file holds more than one word; a refresh token is a single line without spaces"
            ),
            "Put only the refresh token in the file, or write it anew with `mailport oauth login --output FILE`.",
        ));
    }
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        eprintln!(
            "warning: {flag} {shown} is a symbolic link: a rotated refresh token cannot be written through it, so give the real file's path"
        );
    }
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: {flag} {shown}: others can read the refresh token (mode {mode:04o}); restrict it with: chmod 600 {shown}"
            );
        }
    }
    Ok(Secret::new(token))
}

/// Write `token` into `path` atomically with mode 0600, refusing a symbolic link at `path`.
pub fn write(path: &Path, token: &str) -> io::Result<()> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is a symbolic link, and a refresh token is not written through one (give the real file's path)",
            ));
        }
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is a directory",
            ));
        }
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let temp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(token.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        // The rename itself must reach the disk, or a crash can bring back the old token.
        File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mailport-token-file-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn written_0600_and_read_back() {
        let d = dir("rw");
        let path = d.join("refresh-token");
        write(&path, "rt-one").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(read(&path, "--x").ok().unwrap().expose(), "rt-one");
        write(&path, "rt-two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "rt-two\n");
        // No temporary file left behind.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn refuses_a_symlink_and_bad_content() {
        let d = dir("bad");
        let target = d.join("elsewhere");
        fs::write(&target, "x").unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write(&link, "rt").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "x");
        let empty = d.join("empty");
        fs::write(&empty, "\n").unwrap();
        assert!(read(&empty, "--x").err().unwrap().message.contains("empty"));
        let two = d.join("two");
        fs::write(&two, "secret-one\nsecret-two\n").unwrap();
        let refusal = read(&two, "--x").err().unwrap();
        assert!(!refusal.message.contains("secret"), "{}", refusal.message);
        assert!(read(&d.join("missing"), "--x").is_err());
        let _ = fs::remove_dir_all(&d);
    }
}
