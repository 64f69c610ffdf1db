//! Random bytes: for identifiers (Message-IDs, MIME boundaries, outbox entry ids), drawn from
//! the operating system 4 KiB at a time; for secrets (OAuth PKCE verifiers and `state`), drawn
//! from it on each call.
//!
//! One `getrandom` per message was one of the two system calls beyond the protocol's floor on a
//! busy connection (issue 19). Each thread keeps a pool of bytes from the same source rustls
//! uses for keys (ring's `SystemRandom`) and hands out pieces of it; no byte is handed out twice.
//!
//! A forked child must never hand out what its parent buffered: the two would make the same
//! Message-IDs. Two things see to it. The `pthread_atfork` child handler ([`crate::fork`]) counts
//! forks, and a pool filled before the latest fork is thrown away. And on Linux the pool lives
//! in a page marked `MADV_WIPEONFORK`, which the kernel hands to a child zeroed, so a pool is
//! found empty even after a fork that runs no handlers (`_Fork`, a raw `clone`).
//!
//! Identifiers need to be unique, not secret: if the operating system's generator fails, they
//! fall back to time, a counter and the process id. Secrets never do; they come straight from
//! the operating system, so they never sit in a pool either.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use ring::rand::SecureRandom as _;

/// The pool's memory: one page, the first 64 bytes for its flag, the rest for 252 Message-IDs'
/// worth of bytes drawn from the operating system per refill.
const PAGE_BYTES: usize = 4096;
const POOL_OFFSET: usize = 64;
const POOL_SIZE: usize = PAGE_BYTES - POOL_OFFSET;

/// Forks seen by the `pthread_atfork` child handler; a pool remembers the value it was filled at.
/// A count rather than [`crate::fork::process_id`]: process ids are reused, so a grandchild can
/// be given the id of a parent that has exited, and would then take the pool it inherited
/// (through a child that never drew a byte) for its own. The count only grows down a line of
/// forks.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Called in the child after `fork()` by [`crate::fork`]'s handler: every pool filled before is
/// stale.
pub(crate) fn after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// The operating system's generator: ring's, which rustls uses for keys (the `getrandom` system
/// call on Linux).
fn os_fill(buf: &mut [u8]) -> bool {
    // `SystemRandom` is a zero-sized handle: making one costs nothing.
    ring::rand::SystemRandom::new().fill(buf).is_ok()
}

/// Fill `buf` with bytes for an identifier: unique across processes and threads, unpredictable
/// while the operating system's generator works (see the module docs for when it does not).
pub(crate) fn fill(buf: &mut [u8]) {
    if buf.len() > POOL_SIZE / 4 {
        // Large requests gain nothing from the pool and would drain it.
        if !os_fill(buf) {
            fallback(buf);
        }
        return;
    }
    let pooled = POOL.try_with(|pool| match pool.try_borrow_mut() {
        Ok(mut pool) => pool.take(buf),
        // Only a fill re-entered from a signal handler on this thread: leave the pool alone.
        Err(_) => false,
    });
    if !matches!(pooled, Ok(true)) && !os_fill(buf) {
        fallback(buf);
    }
}

/// Fill `buf` with bytes for a secret, straight from the operating system's generator; an error
/// when it fails, never a weaker substitute.
pub(crate) fn fill_secret(buf: &mut [u8]) -> crate::error::Result<()> {
    if os_fill(buf) {
        Ok(())
    } else {
        Err(crate::error::Error::new(
            crate::error::Kind::Io,
            "the system's random number generator failed",
        ))
    }
}

/// Append `bytes` random bytes to `out` as lower-case hex (Message-IDs, boundaries).
pub(crate) fn push_hex(out: &mut String, bytes: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len());
        fill(&mut buf[..n]);
        out.reserve(2 * n);
        for &b in &buf[..n] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        left -= n;
    }
}

/// `bytes` random bytes as lower-case hex.
pub(crate) fn hex(bytes: usize) -> String {
    let mut out = String::with_capacity(2 * bytes);
    push_hex(&mut out, bytes);
    out
}

/// Uniqueness without the operating system's generator: time, a counter and the process id.
fn fallback(buf: &mut [u8]) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut mixed = [0u8; 28];
    mixed[..16].copy_from_slice(&t.to_le_bytes());
    mixed[16..24].copy_from_slice(&n.to_le_bytes());
    mixed[24..].copy_from_slice(&std::process::id().to_le_bytes());
    for (i, b) in buf.iter_mut().enumerate() {
        *b = mixed[i % mixed.len()] ^ (i / mixed.len()) as u8;
    }
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::new());
}

/// One thread's unused random bytes: `page[used..]`, valid only while `filled` is set and
/// `forks` is the current count.
struct Pool {
    page: Page,
    used: usize,
    forks: u64,
}

impl Pool {
    fn new() -> Pool {
        // The handler that counts forks must be in place before a pool holds anything.
        crate::fork::protect_locks();
        Pool {
            page: Page::new(),
            used: POOL_SIZE,
            forks: 0,
        }
    }

    /// Hand out `buf.len()` unused bytes, refilling first when needed; false when the operating
    /// system's generator failed (nothing is handed out then).
    fn take(&mut self, buf: &mut [u8]) -> bool {
        let forks = FORKS.load(Ordering::Relaxed);
        let (filled, bytes) = self.page.parts();
        if !*filled || self.forks != forks || POOL_SIZE - self.used < buf.len() {
            *filled = false;
            if !os_fill(bytes) {
                return false;
            }
            *filled = true;
            self.used = 0;
            self.forks = forks;
        }
        let piece = &mut bytes[self.used..self.used + buf.len()];
        buf.copy_from_slice(piece);
        // Handed out once: zero it so no copy outlives its use longer than needed.
        piece.fill(0);
        self.used += buf.len();
        true
    }
}

/// The pool's memory: a flag and `POOL_SIZE` bytes. On Linux an anonymous mapping marked
/// `MADV_WIPEONFORK`, so that a child sees the flag cleared whatever way it was forked.
struct Page {
    memory: std::ptr::NonNull<u8>,
    mapped: bool,
}

impl Page {
    fn new() -> Page {
        #[cfg(target_os = "linux")]
        if let Some(memory) = crate::fork::wipe_on_fork_mapping(PAGE_BYTES) {
            return Page {
                memory,
                mapped: true,
            };
        }
        let boxed: Box<[u8]> = vec![0u8; PAGE_BYTES].into_boxed_slice();
        let memory = std::ptr::NonNull::new(Box::into_raw(boxed).cast::<u8>())
            .expect("a Box's pointer is never null");
        Page {
            memory,
            mapped: false,
        }
    }

    /// The flag (set while the bytes are a fresh draw) and the bytes.
    fn parts(&mut self) -> (&mut bool, &mut [u8]) {
        // SAFETY: `memory` holds `PAGE_BYTES` bytes owned by this `Page` and borrowed mutably
        // through `self`; the flag's byte is only ever 0 or 1 (zeroed memory, or written as a
        // bool), so it is a valid bool; the two slices do not overlap.
        unsafe {
            let flag = &mut *self.memory.as_ptr().cast::<bool>();
            let bytes =
                std::slice::from_raw_parts_mut(self.memory.as_ptr().add(POOL_OFFSET), POOL_SIZE);
            (flag, bytes)
        }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        if self.mapped {
            #[cfg(target_os = "linux")]
            // SAFETY: the mapping made in `map`, unused from here on.
            unsafe {
                libc::munmap(self.memory.as_ptr().cast(), PAGE_BYTES);
            }
        } else {
            // SAFETY: the Box made in `new`, of `PAGE_BYTES` bytes, unused from here on.
            drop(unsafe {
                Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                    self.memory.as_ptr(),
                    PAGE_BYTES,
                ))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_many_threads_are_unique() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..5_000)
                        .map(|_| {
                            let mut id = [0u8; 16];
                            fill(&mut id);
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for thread in threads {
            for id in thread.join().unwrap() {
                assert!(seen.insert(id), "an id was handed out twice");
            }
        }
        assert_eq!(seen.len(), 40_000);
    }

    #[test]
    fn pieces_of_every_size_come_out_of_the_pool_and_past_it() {
        let mut seen = std::collections::HashSet::new();
        for len in [1usize, 7, 16, 31, 1024, 1025, 5000] {
            for _ in 0..50 {
                let mut buf = vec![0u8; len];
                fill(&mut buf);
                if len >= 16 {
                    assert!(seen.insert(buf.clone()), "len {len}: repeated");
                    assert!(buf.iter().any(|&b| b != 0), "len {len}: all zero");
                }
            }
        }
        let hex = hex(40);
        assert_eq!(hex.len(), 80);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let mut secret = [0u8; 32];
        fill_secret(&mut secret).unwrap();
        assert_ne!(secret, [0u8; 32]);
    }

    /// Ids the child of a fork draws, read back by the parent through a pipe.
    fn ids_from_child(count: usize, fork: impl FnOnce() -> libc::pid_t) -> Vec<[u8; 16]> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a live array of two ints.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let pid = fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // The child: no allocation, no lock (another test thread of the parent may have
            // held one at the fork), only the pool, the pipe and _exit.
            for _ in 0..count {
                let mut id = [0u8; 16];
                fill(&mut id);
                // SAFETY: writes 16 bytes from a live array to the pipe's write end.
                unsafe { libc::write(fds[1], id.as_ptr().cast(), 16) };
            }
            // SAFETY: ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: the parent's copy of the write end, no longer needed.
        unsafe { libc::close(fds[1]) };
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 256];
        loop {
            // SAFETY: reads into a live buffer of the length given.
            let n = unsafe { libc::read(fds[0], chunk.as_mut_ptr().cast(), chunk.len()) };
            if n <= 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n as usize]);
        }
        // SAFETY: the read end, no longer needed; the child is reaped once.
        unsafe {
            libc::close(fds[0]);
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        }
        assert_eq!(bytes.len(), count * 16, "the child wrote every id");
        bytes
            .chunks(16)
            .map(|c| c.try_into().expect("16 bytes"))
            .collect()
    }

    fn parent_and_child_ids_differ(fork: impl FnOnce() -> libc::pid_t) {
        // The pool holds bytes when the fork happens.
        let mut first = [0u8; 16];
        fill(&mut first);
        let child = ids_from_child(20, fork);
        let parent: Vec<[u8; 16]> = (0..20)
            .map(|_| {
                let mut id = [0u8; 16];
                fill(&mut id);
                id
            })
            .collect();
        let parent: std::collections::HashSet<_> = parent.into_iter().collect();
        for id in &child {
            assert!(
                !parent.contains(id),
                "the child handed out the parent's buffered bytes"
            );
            assert_ne!(*id, first);
        }
    }

    #[test]
    fn a_forked_child_never_hands_out_the_parents_buffered_bytes() {
        // SAFETY: see `ids_from_child` for what the child does.
        parent_and_child_ids_differ(|| unsafe { libc::fork() });
    }

    /// A fork that runs no `pthread_atfork` handler (a raw `clone`, as `_Fork` does): only
    /// `MADV_WIPEONFORK` protects the pool.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_child_forked_without_handlers_never_hands_out_the_parents_buffered_bytes() {
        // SAFETY: clone with only SIGCHLD is fork without glibc's handlers; see `ids_from_child`
        // for what the child does.
        parent_and_child_ids_differ(|| unsafe {
            libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) as libc::pid_t
        });
    }
}
