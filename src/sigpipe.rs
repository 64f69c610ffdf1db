//! Writing to sockets without SIGPIPE, in hosts that never asked for it to be ignored.
//!
//! A Rust program ignores SIGPIPE before `main`, but mailport runs inside php-fpm, Python and C
//! daemons, which keep the default disposition: a write to a connection the peer has reset
//! kills the whole process. Changing the host's disposition is not ours to do (it is process-
//! wide, and the host may rely on it), so every write the library makes asks the kernel not to
//! raise the signal instead:
//!
//! - our own sockets write with `send`/`sendmsg` and `MSG_NOSIGNAL` ([`NoSigpipe`]), including
//!   the TLS records rustls gathers with `write_vectored` — std's `TcpStream::write_vectored`
//!   is a plain `writev`, which *does* raise SIGPIPE;
//! - the OAuth token endpoint's client (ureq) gets a TLS connector that writes the same way
//!   ([`crate::oauth`]);
//! - the outbox's MariaDB client owns its socket, so its calls run under [`Blocked`]: SIGPIPE
//!   is blocked in the calling thread only, a SIGPIPE the call caused is taken off the thread's
//!   pending set, and the mask is restored — what libpq does (`pq_block_sigpipe`). The EPIPE
//!   the write returns is still reported as an error of the call.

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

/// The flag that keeps `send` from raising SIGPIPE where the platform has one; macOS and iOS
/// have none and get `SO_NOSIGPIPE` on the socket instead ([`prepare`]).
#[cfg(not(any(target_os = "macos", target_os = "ios")))]
const NO_SIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(any(target_os = "macos", target_os = "ios"))]
const NO_SIGNAL: libc::c_int = 0;

/// Set up a new socket for writing without SIGPIPE: `SO_NOSIGPIPE` where `MSG_NOSIGNAL` does
/// not exist, nothing elsewhere.
pub(crate) fn prepare(sock: &TcpStream) -> io::Result<()> {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        let on: libc::c_int = 1;
        // SAFETY: a valid socket and a pointer to an int of the size given.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NOSIGPIPE,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let _ = sock;
    Ok(())
}

/// A writer over a borrowed socket whose every write is a `send`/`sendmsg` with
/// `MSG_NOSIGNAL`: a reset connection is an `EPIPE`/`ECONNRESET` error, never a signal.
pub(crate) struct NoSigpipe<'a>(pub &'a TcpStream);

impl Write for NoSigpipe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send(self.0, buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        send_vectored(self.0, bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `send(2)` without SIGPIPE.
pub(crate) fn send(sock: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let n = unsafe { libc::send(sock.as_raw_fd(), buf.as_ptr().cast(), buf.len(), NO_SIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `sendmsg(2)` of several buffers at once (one system call for rustls's queued records),
/// without SIGPIPE.
pub(crate) fn send_vectored(sock: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // IOV_MAX is 1024 on Linux and the BSDs; rustls never queues nearly that many.
    let count = bufs.len().min(1024);
    // SAFETY: an all-zero msghdr is a valid "no address, no control data" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix; sendmsg only reads through it.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = count as _;
    // SAFETY: msg points at `count` iovecs borrowed from `bufs`, alive for the call.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, NO_SIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// SIGPIPE blocked in this thread while the value lives, for code whose writes we do not make
/// ourselves. Nothing about the process's disposition changes, and other threads are not
/// affected. On drop, a SIGPIPE raised meanwhile (and not already pending before) is consumed,
/// then the thread's previous mask is restored.
pub(crate) struct Blocked {
    previous: libc::sigset_t,
    was_pending: bool,
    changed: bool,
}

impl Blocked {
    pub(crate) fn new() -> Blocked {
        // SAFETY: sigset_t is plain data, initialised by sigemptyset/pthread_sigmask/sigpending
        // before it is read; the calls only write through the pointers given.
        unsafe {
            let mut pipe: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            let mut pending: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut pipe);
            libc::sigaddset(&mut pipe, libc::SIGPIPE);
            let changed = libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut previous) == 0;
            let was_pending = libc::sigpending(&mut pending) == 0
                && libc::sigismember(&pending, libc::SIGPIPE) == 1;
            Blocked {
                previous,
                was_pending,
                changed,
            }
        }
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        if !self.changed {
            return;
        }
        // SAFETY: as in `new`; sigtimedwait with a zero timeout never blocks.
        unsafe {
            let mut pending: libc::sigset_t = std::mem::zeroed();
            let raised = libc::sigpending(&mut pending) == 0
                && libc::sigismember(&pending, libc::SIGPIPE) == 1;
            // A SIGPIPE pending before we blocked belongs to the host: leave it.
            if raised && !self.was_pending {
                let mut pipe: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut pipe);
                libc::sigaddset(&mut pipe, libc::SIGPIPE);
                let zero = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                while libc::sigtimedwait(&pipe, std::ptr::null_mut(), &zero) == -1
                    && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {
                }
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{Shutdown, TcpListener};

    /// A connection whose peer is gone: the next writes fail with EPIPE or ECONNRESET.
    fn reset_connection() -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sock = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (far, _) = listener.accept().unwrap();
        drop(far);
        // Until our bytes meet the closed socket (which answers RST) a write still succeeds.
        let mut buf = [0u8; 1];
        let _ = (&sock).read(&mut buf);
        sock
    }

    fn sigpipe_pending() -> bool {
        // SAFETY: sigpending initialises the set that sigismember then reads.
        unsafe {
            let mut pending: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut pending);
            libc::sigismember(&pending, libc::SIGPIPE) == 1
        }
    }

    #[test]
    fn writes_to_a_reset_connection_are_errors_not_signals() {
        // The test harness ignores SIGPIPE like every Rust program, so a raised SIGPIPE would
        // go unnoticed: with it blocked, one raised stays pending, where the check sees it.
        let sock = reset_connection();
        let _blocked = Blocked::new();
        let mut failed = 0;
        for _ in 0..20 {
            let bufs = [IoSlice::new(b"MAIL FROM:<a@b>\r\n"), IoSlice::new(b"x")];
            let v = send_vectored(&sock, &bufs);
            let s = NoSigpipe(&sock).write(b"RCPT TO:<c@d>\r\n");
            failed += usize::from(v.is_err()) + usize::from(s.is_err());
        }
        assert!(failed > 0, "writes to a closed connection kept succeeding");
        assert!(!sigpipe_pending(), "a write raised SIGPIPE");
        let _ = sock.shutdown(Shutdown::Both);
    }

    #[test]
    fn a_sigpipe_raised_under_the_guard_is_consumed() {
        let sock = reset_connection();
        {
            let _blocked = Blocked::new();
            for _ in 0..20 {
                // A plain writev, as rustls does through std: raises SIGPIPE (now blocked).
                let _ = (&sock).write_vectored(&[IoSlice::new(b"x")]);
            }
            assert!(
                sigpipe_pending(),
                "std's writev raised no SIGPIPE: nothing was tested"
            );
        }
        assert!(
            !sigpipe_pending(),
            "the SIGPIPE was left pending after the guard"
        );
    }
}
