//! Building and running the C test programs (`tests/c/*.c`) against the shared library, under
//! valgrind by default or under a sanitizer when `.ci/sanitize.sh` asks for one.
//!
//! - Normal runs link the library this test run built and run the program under valgrind's
//!   memcheck when it is installed (leaks and invalid accesses fatal).
//! - With `MAILPORT_C_SANITIZER=address` or `=thread` and `MAILPORT_C_LIBRARY` naming a library
//!   built with the same sanitizer (`.ci/sanitize.sh` builds them into `target/asan` and
//!   `target/tsan`), the program is compiled with `-fsanitize=...` and linked against that
//!   library instead, and runs without valgrind (the two cannot be combined): any sanitizer
//!   report makes it exit non-zero.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

/// The sanitizer the C programs run under, from `MAILPORT_C_SANITIZER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sanitizer {
    Address,
    Thread,
}

/// `MAILPORT_C_SANITIZER`, or None for a normal (valgrind) run. Panics on a value it does not
/// know, rather than silently running without the sanitizer that was asked for.
pub fn sanitizer() -> Option<Sanitizer> {
    match std::env::var("MAILPORT_C_SANITIZER").as_deref() {
        Err(_) | Ok("") => None,
        Ok("address") => Some(Sanitizer::Address),
        Ok("thread") => Some(Sanitizer::Thread),
        Ok(other) => panic!("MAILPORT_C_SANITIZER={other:?}: use \"address\" or \"thread\""),
    }
}

/// The library the C programs load: `MAILPORT_C_LIBRARY` under a sanitizer, else the one this
/// test run built.
pub fn library() -> PathBuf {
    match sanitizer() {
        None => crate::common::shared_library(),
        Some(s) => {
            let path = std::env::var_os("MAILPORT_C_LIBRARY").unwrap_or_else(|| {
                panic!(
                    "MAILPORT_C_SANITIZER is set ({s:?}): set MAILPORT_C_LIBRARY to a \
                     libmailport.so built with that sanitizer (.ci/sanitize.sh does both)"
                )
            });
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "MAILPORT_C_LIBRARY={} is not a file",
                path.display()
            );
            path
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// How a program gets the library.
#[derive(Clone, Copy)]
pub enum Link {
    Library,
    /// Only `dlopen()`: a DT_NEEDED entry would keep the library loaded whatever `dlclose()`
    /// does.
    DlopenOnly,
}

/// A fresh directory for one test's program and files.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c_abi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Build the C file `source` into `dir`, linked against `library` (or with `dlopen` only).
///
/// The library's SONAME is `libmailport.so.<abi>`, so the loader looks for that file name: a
/// symlink to `library` in `dir` (on the rpath) provides it without touching `target/`.
pub fn build_source(source: &Path, library: &Path, dir: &Path, link: Link) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = library.parent().expect("library directory");
    // SAFETY: no arguments.
    let abi = unsafe { mailport::ffi::mailport_abi_version() };
    let soname = dir.join(format!("libmailport.so.{abi}"));
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(library, &soname).expect("symlink the SONAME");

    let name = source.file_stem().expect("a file name").to_string_lossy();
    let exe = dir.join(&*name);
    let mut gcc = Command::new("gcc");
    gcc.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-g",
        "-O1",
    ]);
    gcc.arg(format!("-I{}", repo.join("include").display()))
        .arg(format!("-I{}", repo.join("tests/c").display()));
    // Frame pointers give the sanitizers' reports whole stacks through the C frames.
    match sanitizer() {
        None => {
            gcc.arg(source);
        }
        Some(Sanitizer::Address) => {
            // gcc's own runtime (libasan, with LeakSanitizer) serves the Rust library too.
            gcc.args(["-fsanitize=address", "-fno-omit-frame-pointer"])
                .arg(source);
        }
        Some(Sanitizer::Thread) => {
            // gcc 12's libtsan lacks three entry points rustc's LLVM calls; tsan_shims.c
            // provides them (see there). -fno-builtin keeps its memcpy() calls real calls, for
            // libtsan to intercept; the test programs do not mind.
            gcc.args(["-fsanitize=thread", "-fno-omit-frame-pointer"])
                .arg(source)
                .arg(repo.join("tests/c/tsan_shims.c"))
                .arg("-fno-builtin")
                // Exported, so that a library loaded with dlopen() (reload.c) finds them too.
                .arg("-rdynamic");
        }
    }
    gcc.arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib_dir.display()))
        .args(match link {
            Link::Library => ["-lmailport", "-lpthread"],
            Link::DlopenOnly => ["-ldl", "-lpthread"],
        })
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        // DT_RPATH, not DT_RUNPATH: searched before LD_LIBRARY_PATH, which `cargo test` points
        // at target/debug, where a libmailport.so.1 from the last `cargo build` would otherwise
        // win over the library chosen here (the sanitized one, or this test run's fresh one).
        .arg("-Wl,--disable-new-dtags");
    let output = gcc.output().expect("run gcc");
    assert!(
        output.status.success(),
        "gcc failed to build {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Build `tests/c/<name>.c` into `dir` (see [`build_source`]).
pub fn build_c_program(name: &str, library: &Path, dir: &Path, link: Link) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(format!("{name}.c"));
    build_source(&source, library, dir, link)
}

/// Check, with the dynamic loader's own listing, that `exe` loads the libmailport.so.1 beside
/// it (the sanitized library under a sanitizer): had `cargo test`'s LD_LIBRARY_PATH won, a
/// sanitizer run would silently check an uninstrumented library (and ThreadSanitizer, seeing
/// none of its atomics, report its every hand-over between threads as a race).
fn assert_loads_its_own_library(exe: &Path) {
    let dir = exe.parent().expect("the program's directory");
    let listing = Command::new(exe)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("list the program's libraries");
    let listing = String::from_utf8_lossy(&listing.stdout);
    if let Some(line) = listing.lines().find(|l| l.contains("libmailport.so")) {
        assert!(
            line.contains(&format!("=> {}/", dir.display())),
            "{} loads the wrong libmailport: {line}",
            exe.display()
        );
    }
}

/// The exit code valgrind and the sanitizers are told to use when they find something, so it
/// is told apart from the program's own failures (1) and usage errors (2).
const FINDINGS_EXIT: i32 = 99;

/// Run a built C program with `args` under valgrind or the sanitizer (see the module doc);
/// panic unless it exits 0. Returns its stdout.
pub fn run_c_program(exe: &Path, args: &[String]) -> String {
    run_c_program_with(exe, args, true)
}

/// As [`run_c_program`]; `valgrind: false` runs a normal build without valgrind (for a program
/// that measures its own memory, which valgrind would distort, or that would take hours under
/// it).
pub fn run_c_program_with(exe: &Path, args: &[String], valgrind: bool) -> String {
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let suppressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let sanitizer = sanitizer();
    let valgrind = valgrind && sanitizer.is_none() && have("valgrind");
    let mut command = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99",
            "--quiet",
        ]);
        // Narrow suppressions for memcheck's false definedness reports on ring's AES-GCM
        // assembly; see the file for why. Leaks and invalid accesses are still fatal.
        c.arg(format!(
            "--suppressions={}",
            suppressions.join("valgrind.supp").display()
        ));
        c.arg(exe);
        c
    } else {
        if sanitizer.is_none() {
            eprintln!("running {name} without valgrind: no leak check in this run");
        }
        Command::new(exe)
    };
    match sanitizer {
        None => {}
        Some(Sanitizer::Address) => {
            // detect_leaks: LeakSanitizer too, as valgrind's leak check would.
            command.env(
                "ASAN_OPTIONS",
                format!(
                    "detect_leaks=1:abort_on_error=0:exitcode={FINDINGS_EXIT}:\
                     detect_stack_use_after_return=1:strict_string_checks=1"
                ),
            );
        }
        Some(Sanitizer::Thread) => {
            command.env(
                "TSAN_OPTIONS",
                format!("exitcode={FINDINGS_EXIT}:halt_on_error=0:second_deadlock_stack=1"),
            );
        }
    }
    // For the same reason, and for valgrind's own child: only the rpath decides which
    // libmailport.so.1 the program loads.
    command.env_remove("LD_LIBRARY_PATH");
    assert_loads_its_own_library(exe);
    let started = std::time::Instant::now();
    let output = command.args(args).output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let how = match (sanitizer, valgrind) {
        (Some(s), _) => format!("{s:?}Sanitizer"),
        (None, true) => "valgrind".into(),
        (None, false) => "no checker".into(),
    };
    println!(
        "--- {name} ({how}, {:.1} s) stdout ---\n{stdout}--- {name} stderr ---\n{stderr}",
        started.elapsed().as_secs_f64()
    );
    match output.status.code() {
        Some(0) => {}
        Some(FINDINGS_EXIT) if how != "no checker" => {
            panic!("{how} found memory errors, leaks or races in {name}:\n{stderr}")
        }
        other => panic!("{name} failed (exit {other:?}):\n{stderr}"),
    }
    stdout
}
