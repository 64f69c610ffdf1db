//! Which CPU each side runs on: the sink on one, every sender on another, and in S1 also on
//! the sink's.
//!
//! Left to the scheduler, a sender and the sink sometimes shared a CPU and sometimes not, and
//! that alone moved the CPU figures threefold between runs: a message cost the reference client
//! about 7 µs of CPU when both sides took turns on one CPU, and about 25 µs when each woke the
//! other across CPUs (the wake-ups, not the work). Which of the two a round got was chance, so
//! the ratios to the reference compared rounds of different kinds. Pinned, every round is of
//! one kind, and S1 shows both: on one CPU a message costs its work, which the CPU ratios are
//! about; on two, each side waits for the other as a client and its server on two machines do,
//! and the rates converge on the round trip.

use std::process::Command;

/// The two CPUs used, `(sink, senders)`: the first two this process may run on. `None` with
/// fewer than two, where nothing is pinned.
pub fn cpus() -> Option<(usize, usize)> {
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return None;
        }
        set
    };
    // SAFETY: CPU_ISSET reads the set it is given, for indices below CPU_SETSIZE.
    let mut allowed =
        (0..libc::CPU_SETSIZE as usize).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) });
    Some((allowed.next()?, allowed.next()?))
}

/// Run `command`'s process (and every thread and child it makes) on `cpu` only.
pub fn pin(command: &mut Command, cpu: usize) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the closure runs in the forked child before exec and makes one system call
    // (async-signal-safe); it touches no lock and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
