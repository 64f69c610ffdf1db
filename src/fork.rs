//! What a process that calls `fork()` after using mailport gets in the child.
//!
//! php-fpm's master forks its workers after preloading, Python's `multiprocessing` forks by
//! default on Linux before 3.14, and C daemons fork per job. The child starts with a copy of
//! everything the parent had: the persistent pool's sessions (the parent's sockets and their TLS
//! state), the TLS session caches, the OAuth token cache — and every lock exactly as it was,
//! including those another thread of the parent held at that instant, whose holder does not
//! exist in the child. What the library does about each:
//!
//! - **Sockets**: a session remembers the process that connected it
//!   ([`crate::smtp::session::Session::inherited`]). In a child it is never written to and never
//!   shut down (that would end the parent's connection too); the child closes its copy of the
//!   descriptor and connects anew. The pool drops the inherited sessions the first time the
//!   child touches it ([`crate::pool`]).
//! - **TLS resumption**: the session caches are per process ([`ProcessLocal`]): a child never
//!   resumes a session or redeems a ticket the parent obtained (a TLS 1.3 ticket is for one
//!   use, and a resumed session would share keys derived for the parent).
//! - **Random bytes**: the per-thread pools of random bytes for Message-IDs and boundaries are
//!   thrown away in the child ([`crate::random`]), so parent and child never hand out the same
//!   bytes (nor the same Message-ID).
//! - **Locks**: the pool's, the shared TLS configurations' and the token cache's map are held
//!   across `fork()` by `pthread_atfork` handlers ([`protect_locks`]), so the child finds each
//!   one unlocked and the data under it consistent. Those locks are only ever held for memory
//!   operations, never across I/O or a callback, so the handlers wait microseconds. A token
//!   cache *entry* is held for a whole refresh (an HTTPS request), too long to make `fork()`
//!   wait for: the child instead forgets an entry that was being refreshed at the instant of the
//!   fork ([`crate::oauth`]'s cache) and refreshes on its own when it needs a token.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Once};

use rustls::NamedGroup;
use rustls::client::{
    ClientSessionMemoryCache, ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::pki_types::ServerName;

/// This process's id, as [`std::process::id`] but without a `getpid` system call each time:
/// a session asks on every read and write whether it was inherited across `fork()`, and the
/// pool on every take and put. The id is kept in a page marked `MADV_WIPEONFORK`, which the
/// kernel gives every child zeroed however it was made (`fork`, `_Fork`, a raw `clone`, with
/// or without `pthread_atfork` handlers), so a child always reads its own id. Where the kernel
/// has no such pages (Linux before 4.14, other systems) it asks the kernel every time.
pub(crate) fn process_id() -> u32 {
    static CACHE: once_cell::sync::Lazy<Option<&'static AtomicU32>> =
        once_cell::sync::Lazy::new(|| {
            // SAFETY: the mapping is zeroed, page-aligned (so aligned for a u32), never unmapped,
            // and used only as this one atomic; zero is a valid AtomicU32.
            wipe_on_fork_mapping(std::mem::size_of::<AtomicU32>())
                .map(|memory| unsafe { &*memory.as_ptr().cast::<AtomicU32>() })
        });
    let Some(cell) = *CACHE else {
        return std::process::id();
    };
    match cell.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            cell.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// A zeroed private mapping of `len` bytes that children of `fork()` get zeroed
/// (`MADV_WIPEONFORK`), or `None` where the kernel refuses either (before Linux 4.14, and
/// elsewhere than Linux). The caller owns it (`munmap` with the same `len`).
pub(crate) fn wipe_on_fork_mapping(len: usize) -> Option<std::ptr::NonNull<u8>> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches
        // no existing memory; the result is checked before use.
        let memory = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if memory == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: `memory` is the mapping of `len` bytes just made.
        let wiped = unsafe { libc::madvise(memory, len, libc::MADV_WIPEONFORK) } == 0;
        if !wiped {
            // SAFETY: as above; nothing else refers to it.
            unsafe { libc::munmap(memory, len) };
            return None;
        }
        std::ptr::NonNull::new(memory.cast::<u8>())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = len;
        None
    }
}

/// Register the `pthread_atfork` handlers (once per process; a child inherits them).
///
/// Called by each lock's first user. The handlers stay registered for good; glibc removes them
/// if the library is unloaded (`dlclose`), as it does for every handler a shared object
/// registered.
pub(crate) fn protect_locks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: the three handlers are `extern "C"` functions that live as long as the
        // library; pthread_atfork only stores them.
        unsafe {
            libc::pthread_atfork(Some(prepare), Some(release), Some(child));
        }
    });
}

thread_local! {
    /// The guards `prepare` took, held by the forking thread until `fork()` returns.
    static HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Before `fork()`: take every process-wide lock, always in this order (no code path holds one
/// while taking another, so this cannot deadlock with one that runs concurrently).
extern "C" fn prepare() {
    let guards: Vec<Box<dyn Any>> = vec![
        crate::pool::hold_for_fork(),
        crate::tls::hold_for_fork(),
        crate::oauth::hold_for_fork(),
    ];
    HELD.with(|held| *held.borrow_mut() = guards);
}

/// After `fork()`, in the parent: give the locks back.
extern "C" fn release() {
    HELD.with(|held| {
        // Released in the reverse order of taking.
        while held.borrow_mut().pop().is_some() {}
    });
}

/// After `fork()`, in the child: give the locks back (the data under them is consistent, since
/// we held them), then, still the only thread, drop what the parent's other threads were in the
/// middle of.
extern "C" fn child() {
    release();
    crate::oauth::after_fork_in_child();
    crate::random::after_fork_in_child();
}

/// A value of which each process has its own: the first use in a process makes a new one, and
/// what a forked child inherited is never used again, nor dropped (its locks may be held by a
/// thread that does not exist in the child, and its data be half-changed by it). The new value
/// keeps a pointer to the inherited one, so that the child's copy of that memory stays
/// reachable (leak checkers count it as held, which it is) at the cost of once per fork.
pub(crate) struct ProcessLocal<T> {
    current: AtomicPtr<Slot<T>>,
    make: fn() -> T,
    /// Owns `T`s: Send and Sync only as `T` is.
    _owns: std::marker::PhantomData<T>,
}

struct Slot<T> {
    pid: u32,
    value: T,
    /// The slot this one replaced in a forked child; never freed (see [`ProcessLocal`]).
    _inherited: *mut Slot<T>,
}

impl<T> ProcessLocal<T> {
    pub(crate) fn new(make: fn() -> T) -> ProcessLocal<T> {
        ProcessLocal {
            current: AtomicPtr::new(Box::into_raw(Box::new(Slot {
                pid: std::process::id(),
                value: make(),
                _inherited: std::ptr::null_mut(),
            }))),
            make,
            _owns: std::marker::PhantomData,
        }
    }

    /// This process's value.
    pub(crate) fn get(&self) -> &T {
        let pid = std::process::id();
        let seen = self.current.load(Ordering::Acquire);
        // SAFETY: `current` always points at a live slot: one is replaced only in a process
        // other than the one that made it, and the replaced one is kept, never freed; the last
        // is freed in `drop`, when nothing can borrow `self`.
        let slot = unsafe { &*seen };
        if slot.pid == pid {
            return &slot.value;
        }
        let fresh = Box::into_raw(Box::new(Slot {
            pid,
            value: (self.make)(),
            _inherited: seen,
        }));
        match self
            .current
            .compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: just allocated, and now the current slot (see above).
            Ok(_) => unsafe { &(*fresh).value },
            Err(winner) => {
                // Another thread of this (child) process replaced it first: use that one.
                // SAFETY: `fresh` was never shared; `winner` is current (see above).
                unsafe {
                    drop(Box::from_raw(fresh));
                    &(*winner).value
                }
            }
        }
    }
}

impl<T> Drop for ProcessLocal<T> {
    fn drop(&mut self) {
        let last = *self.current.get_mut();
        // SAFETY: the current slot is owned by `self`; the ones it replaced stay allocated.
        let slot = unsafe { &*last };
        if slot.pid == std::process::id() {
            // SAFETY: as above, and nothing borrows `self` any more.
            drop(unsafe { Box::from_raw(last) });
        }
    }
}

impl<T> std::fmt::Debug for ProcessLocal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessLocal").finish_non_exhaustive()
    }
}

// SAFETY: the raw pointers are owned by the `ProcessLocal` as its `T`s are (PhantomData<T>
// gives the auto traits that follow `T`); sharing one hands out `&T` (needs `T: Sync`) and may
// make a `T` on one thread that is dropped on another (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for ProcessLocal<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for ProcessLocal<T> {}

/// rustls's in-memory session cache, one per process: a child of `fork()` starts with an empty
/// one and never resumes a session or redeems a ticket its parent obtained (see
/// the module docs). A TLS 1.3 ticket is meant for one use, and two processes resuming from the
/// same state would share keying material derived for one.
#[derive(Debug)]
struct PerProcessSessions(ProcessLocal<ClientSessionMemoryCache>);

fn session_cache() -> ClientSessionMemoryCache {
    ClientSessionMemoryCache::new(crate::tls::SESSION_CACHE_SIZE)
}

impl ClientSessionStore for PerProcessSessions {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.0.get().set_kx_hint(server_name, group)
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.0.get().kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.0.get().set_tls12_session(server_name, value)
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.0.get().tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.0.get().remove_tls12_session(server_name)
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        self.0.get().insert_tls13_ticket(server_name, value)
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        self.0.get().take_tls13_ticket(server_name)
    }
}

/// The session store of a new rustls client configuration: [`PerProcessSessions`].
pub(crate) fn tls_session_store() -> Arc<dyn ClientSessionStore> {
    Arc::new(PerProcessSessions(ProcessLocal::new(session_cache)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The child reports what `process_id` says and what the kernel says, through a pipe.
    fn ids_seen_by_a_child(fork: impl FnOnce() -> libc::pid_t) -> (u32, u32) {
        let mut fds = [0; 2];
        // SAFETY: a pipe into a live array of two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let pid = fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ids = [process_id(), std::process::id()];
            // SAFETY: writes 8 bytes from a live array; then ends the child at once, running
            // nothing of the parent's.
            unsafe {
                libc::write(fds[1], ids.as_ptr().cast(), 8);
                libc::_exit(0);
            }
        }
        let mut ids = [0u32; 2];
        // SAFETY: the parent closes its write end, reads 8 bytes into a live array, reaps the
        // child once.
        unsafe {
            libc::close(fds[1]);
            assert_eq!(libc::read(fds[0], ids.as_mut_ptr().cast(), 8), 8);
            libc::close(fds[0]);
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
        (ids[0], ids[1])
    }

    #[test]
    fn a_child_reads_its_own_process_id_however_it_was_forked() {
        assert_eq!(process_id(), std::process::id(), "kept in the parent");
        // SAFETY: the child only calls process_id, writes to a pipe and _exits.
        let (kept, real) = ids_seen_by_a_child(|| unsafe { libc::fork() });
        assert_eq!(kept, real);
        // A raw clone runs no pthread_atfork handler (as `_Fork`): only the wiped page tells.
        #[cfg(target_os = "linux")]
        {
            // SAFETY: clone with only SIGCHLD is fork without glibc's handlers; the child does
            // as above.
            let (kept, real) = ids_seen_by_a_child(|| unsafe {
                libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) as libc::pid_t
            });
            assert_eq!(kept, real, "the child read its parent's id");
            assert_ne!(real, std::process::id());
        }
    }

    #[test]
    fn a_process_local_value_is_made_once_per_process() {
        let local = ProcessLocal::new(|| std::sync::Mutex::new(0u32));
        *local.get().lock().unwrap() += 1;
        *local.get().lock().unwrap() += 1;
        assert_eq!(*local.get().lock().unwrap(), 2, "same process, same value");
        // Pretend the value was made by the parent of a fork, and that one of the parent's
        // other threads held its lock at that instant.
        let inherited = Box::into_raw(Box::new(Slot {
            pid: std::process::id().wrapping_add(1),
            value: std::sync::Mutex::new(7u32),
            _inherited: std::ptr::null_mut(),
        }));
        // SAFETY: just allocated; the guard is forgotten, so the lock stays held.
        std::mem::forget(unsafe { (*inherited).value.lock().unwrap() });
        let old = local.current.swap(inherited, Ordering::AcqRel);
        // SAFETY: `old` was the current value and nothing borrows it any more.
        drop(unsafe { Box::from_raw(old) });
        assert_eq!(
            *local.get().lock().unwrap(),
            0,
            "a value another process made is replaced by a new one, not waited for"
        );
        // The inherited value is kept, not dropped (it could not be, safely, in a real child).
    }
}
