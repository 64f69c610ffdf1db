//! The per-message CPU of composing and rendering a small message, without a network: builds
//! the benchmark's 1 KB message (From, To, Subject, a text body; Date and Message-ID generated)
//! N times, prepares it as for a send and reads the stream, and prints the CPU time, heap
//! allocations and bytes allocated per message.
//!
//! `cargo run --release --example render_loop [N [whole]]` (default 100,000; `whole` runs only the
//! build + send path phase, for instruction counts under `valgrind --tool=callgrind`). A measuring aid for
//! docs/performance/cpu-path.md, not a test: it asserts nothing about time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;

use mailport::Message;

/// Counts every allocation (and reallocation, which may move) so the loop can report them. The
/// counts are per thread, in plain cells: atomic counters would add a locked instruction to
/// every allocation and inflate the CPU time measured.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // `try_with`: nothing is counted while the thread's locals are torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = ALLOCATED.try_with(|n| n.set(n.get() + bytes as u64));
}

fn counted() -> (u64, u64) {
    (ALLOCATIONS.with(Cell::get), ALLOCATED.with(Cell::get))
}

// SAFETY: forwards every call to the system allocator unchanged; counting allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The submission benchmark's body (benches/submission/main.rs `TEXT`).
const TEXT: &str = "Hello,\n\nthis is a small message from the submission benchmark: a few \
                    lines of plain text, like a password reset or an order confirmation.\n\n\
                    -- \nbench\n";

/// Read a message as a session does: into one reused buffer (its body input), piece by piece.
fn read_all(mut stream: impl Read, input: &mut [u8]) -> usize {
    let mut total = 0;
    loop {
        match stream.read(input).expect("render") {
            0 => return total,
            n => total += std::hint::black_box(n),
        }
    }
}

fn build(subject: &str) -> Message {
    let mut message = Message::new();
    message
        .set_from("Bench <bench@example.com>")
        .and_then(|m| m.add_to("sink@example.com"))
        .and_then(|m| m.set_subject(subject))
        .and_then(|m| m.set_text(TEXT))
        .expect("the benchmark's message is valid");
    message
}

/// CPU time of this thread: the machine is shared, so wall time would count other processes.
fn cpu_nanos() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

struct Phase {
    nanos: u128,
    allocations: u64,
    bytes: u64,
}

fn measure(n: u64, mut step: impl FnMut(u64)) -> Phase {
    let (allocations, bytes) = counted();
    let start = cpu_nanos();
    for i in 0..n {
        step(i);
    }
    let nanos = cpu_nanos() - start;
    let (allocations_after, bytes_after) = counted();
    Phase {
        nanos,
        allocations: allocations_after - allocations,
        bytes: bytes_after - bytes,
    }
}

fn report(label: &str, n: u64, phase: &Phase) {
    println!(
        "{label:<18} {:>8.0} ns CPU/msg {:>6.1} allocations/msg {:>7.0} bytes allocated/msg",
        phase.nanos as f64 / n as f64,
        phase.allocations as f64 / n as f64,
        phase.bytes as f64 / n as f64,
    );
}

fn main() {
    let n: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("render_loop: N must be a whole number of messages, got {arg:?}");
            std::process::exit(2)
        }),
        None => 100_000,
    };
    let subjects: Vec<String> = (0..n.min(1000)).map(|i| format!("message {i}")).collect();
    let subject = |i: u64| subjects[(i % subjects.len() as u64) as usize].as_str();

    // Warm up lazily initialised state (the random source, the local time zone).
    let mut input = vec![0u8; 64 * 1024];
    let size = read_all(
        build("warm-up").prepare(false).expect("prepare").stream,
        &mut input,
    );

    let only_whole = std::env::args().nth(2).as_deref() == Some("whole");
    let n_parts = if only_whole { 0 } else { n };
    let built = measure(n_parts, |i| {
        std::hint::black_box(build(subject(i)));
    });
    let message = build("message 0");
    let rendered = measure(n_parts, |_| {
        let prepared = message.prepare(false).expect("prepare");
        read_all(prepared.stream, &mut input);
    });
    let whole = measure(n, |i| {
        let prepared = build(subject(i)).prepare(false).expect("prepare");
        read_all(prepared.stream, &mut input);
    });
    println!("{n} messages of {size} bytes");
    if !only_whole {
        report("build", n, &built);
        report("prepare + read", n, &rendered);
    }
    report("build + send path", n, &whole);
}
