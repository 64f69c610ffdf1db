//! The public ways to get a message's bytes, each rendering the message once.
//!
//! [`Message::to_bytes`] fills one buffer of the exact size (known before any attachment is
//! read), [`Message::render_into`] fills a caller's buffer, and [`Message::write_to`] /
//! [`Message::write_to_fd`] stream into a writer in bounded memory: attachments are read and
//! base64-encoded a chunk at a time, so a 25 MiB attachment costs about 140 KB of buffers.
//! [`Message::rendered_size`] measures without encoding any attachment.
//!
//! Read failures (an attachment that vanished or changed) and write failures (the writer's)
//! are told apart: the first is [`Kind::Attachment`] or [`Kind::Io`] naming the attachment, the
//! second [`Kind::Io`] saying how many bytes were written before it.

use std::io::{self, Write};

use crate::error::{Error, Kind, Result};
use crate::message::Message;
use crate::message::mime::{AttachmentChanged, MessageStream};

impl Message {
    /// The message as bytes, as it would go to a server without SMTPUTF8 (for dry runs, tests
    /// and `.eml` files). Rendered once, into a buffer allocated at its final size.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let prepared = self.render_with(false)?;
        // The size is exact, so the vector never grows (a 25 MiB message is not copied while
        // doubling); an absurd size on a 32-bit target just starts empty.
        let mut out = Vec::with_capacity(usize::try_from(prepared.size).unwrap_or(0));
        pump(prepared.stream, &mut out, &mut 0)?;
        Ok(out)
    }

    /// The exact length [`to_bytes`](Message::to_bytes) and the other renderings would give for
    /// the message as it is now. Headers and text parts are rendered to measure them; attachments
    /// are not read (base64 of a known length has a known length). Date, Message-ID and MIME
    /// boundaries have fixed widths, so the length does not change between renderings unless the
    /// message, or an attachment file, changes.
    pub fn rendered_size(&self) -> Result<u64> {
        Ok(self.render_with(false)?.size)
    }

    /// Render into `buf`, as much as fits, and return the message's full length: when it is
    /// larger than `buf.len()`, `buf` holds the start of the message and rendering stopped there
    /// (nothing past the buffer's end is encoded).
    pub fn render_into(&self, buf: &mut [u8]) -> Result<u64> {
        let prepared = self.render_with(false)?;
        let mut stream = prepared.stream;
        let mut filled = 0usize;
        while filled < buf.len() {
            let Some(chunk) = stream
                .next_chunk()
                .map_err(|e| read_error(e, filled as u64))?
            else {
                break;
            };
            let n = chunk.len().min(buf.len() - filled);
            buf[filled..filled + n].copy_from_slice(&chunk[..n]);
            filled += n;
        }
        Ok(prepared.size)
    }

    /// Stream the message into `out` (as [`to_bytes`](Message::to_bytes) would render it) and
    /// return the number of bytes written. Memory stays bounded whatever the attachments' size.
    /// `out` is flushed at the end. On failure `out` holds a prefix of the message.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<u64> {
        self.write_to_counted(out, &mut 0)
    }

    /// [`write_to`](Message::write_to), with the count of bytes written kept in `written` also
    /// when it fails (the C API reports it).
    pub(crate) fn write_to_counted(&self, out: &mut dyn Write, written: &mut u64) -> Result<u64> {
        *written = 0;
        let prepared = self.render_with(false)?;
        pump(prepared.stream, out, written)
    }

    /// Stream the message into a file descriptor the caller owns (a file, a pipe, a socket):
    /// [`write_to`](Message::write_to) with `write(2)`. The descriptor is not closed, and its
    /// offset advances. A non-blocking descriptor is waited on with `poll` when it is full.
    ///
    /// SIGPIPE is blocked in this thread during the call (a pipe whose reader is gone gives an
    /// `EPIPE` error, never the signal), and the previous signal mask is restored.
    #[cfg(unix)]
    pub fn write_to_fd(&self, fd: std::os::fd::RawFd) -> Result<u64> {
        self.write_to_fd_counted(fd, &mut 0)
    }

    /// [`write_to_fd`](Message::write_to_fd), with the count of bytes written kept in `written`
    /// also when it fails.
    #[cfg(unix)]
    pub(crate) fn write_to_fd_counted(
        &self,
        fd: std::os::fd::RawFd,
        written: &mut u64,
    ) -> Result<u64> {
        *written = 0;
        if fd < 0 {
            return Err(Error::invalid_input(format!(
                "fd is {fd}; pass an open file descriptor (0 or more)"
            )));
        }
        let _blocked = crate::sigpipe::Blocked::new();
        self.write_to_counted(&mut FdWriter(fd), written)
    }
}

/// Copy the whole stream into `out`: the loop every streaming entry point shares. `written`
/// counts the bytes `out` accepted, also when a write fails halfway through a chunk.
fn pump(mut stream: MessageStream, out: &mut dyn Write, written: &mut u64) -> Result<u64> {
    *written = 0;
    loop {
        let chunk = match stream.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => return Err(read_error(e, *written)),
        };
        let mut rest = chunk;
        while !rest.is_empty() {
            match out.write(rest) {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "the writer took no bytes");
                    return Err(write_error(e, *written));
                }
                Ok(n) => {
                    *written += n as u64;
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(write_error(e, *written)),
            }
        }
    }
    out.flush().map_err(|e| write_error(e, *written))?;
    Ok(*written)
}

fn read_error(e: io::Error, written: u64) -> Error {
    let changed = e
        .get_ref()
        .is_some_and(|inner| inner.is::<AttachmentChanged>());
    let kind = if changed { Kind::Attachment } else { Kind::Io };
    Error::new(
        kind,
        format!("reading an attachment failed after {written} bytes of the message were written"),
    )
    .with_source(e)
}

fn write_error(e: io::Error, written: u64) -> Error {
    let hint = match errno(&e) {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
            "The disk (or the user's quota) is full: free some space or write somewhere else."
        }
        Some(libc::EPIPE) => {
            "The reading end of the pipe or socket was closed before the whole message was written."
        }
        Some(libc::EBADF) => "The file descriptor is not open for writing.",
        _ => "",
    };
    let mut error = Error::new(
        Kind::Io,
        format!("writing the message failed after {written} bytes"),
    )
    .with_source(e);
    error.set_hint(hint.to_string());
    error
}

/// `write(2)` on a descriptor the caller owns; errors name the descriptor and the errno.
#[cfg(unix)]
struct FdWriter(std::os::fd::RawFd);

#[cfg(unix)]
impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            // SAFETY: the pointer and length describe `buf`, alive for the call; `write` does
            // not keep it. The descriptor is the caller's; a closed one gives EBADF.
            let n = unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(code) if code == libc::EAGAIN || code == libc::EWOULDBLOCK => {
                    self.wait_writable()?
                }
                _ => return Err(fd_error(self.0, e)),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
impl FdWriter {
    /// A non-blocking descriptor that is full: wait until it takes bytes again.
    fn wait_writable(&self) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.0,
            events: libc::POLLOUT,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd, alive for the call.
            if unsafe { libc::poll(&mut pfd, 1, -1) } >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(fd_error(self.0, e));
            }
        }
    }
}

/// "writing to fd 5 failed with ENOSPC: No space left on device (os error 28)": the
/// descriptor, the errno's name and its text.
#[cfg(unix)]
fn fd_error(fd: std::os::fd::RawFd, e: io::Error) -> io::Error {
    let code = e.raw_os_error().unwrap_or(0);
    let name = match code {
        libc::EPIPE => "EPIPE",
        libc::ENOSPC => "ENOSPC",
        libc::EDQUOT => "EDQUOT",
        libc::EBADF => "EBADF",
        libc::EIO => "EIO",
        libc::EFBIG => "EFBIG",
        libc::EINVAL => "EINVAL",
        libc::ECONNRESET => "ECONNRESET",
        libc::EISDIR => "EISDIR",
        _ => "an error",
    };
    io::Error::new(
        e.kind(),
        FdError {
            code,
            text: format!("writing to fd {fd} failed with {name}: {e}"),
        },
    )
}

/// A write error on a caller's descriptor whose text names the descriptor; `code` keeps the
/// errno, which `io::Error::new` would otherwise hide from `raw_os_error`.
#[derive(Debug)]
struct FdError {
    code: i32,
    text: String,
}

impl std::fmt::Display for FdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for FdError {}

/// The errno behind a write error, whether plain or wrapped by [`fd_error`].
fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<FdError>())
            .map(|fd| fd.code)
    })
}

#[cfg(test)]
mod tests;
