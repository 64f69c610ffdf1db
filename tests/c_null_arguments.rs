//! Every exported C function called with NULL for each of its pointer arguments, the others
//! real: a required argument gives `MAILPORT_ERR_NULL_ARGUMENT` with an error naming it, an
//! optional one what the function's documentation promises, and nothing crashes or leaks.
//!
//! The C program is generated at test time from `include/mailport.h` by
//! `tests/c/gen_null_calls.py` (fixtures in `tests/c/null_fixtures.h`), so a function added to
//! the header is covered without touching this test; the generator refuses a function whose
//! **NULL:** paragraph does not say whether each pointer may be NULL, and this test fails if any
//! symbol of `tests/abi/symbols.txt` (the library's exports, checked by `tests/header.rs`) was
//! not called. It runs under valgrind, or AddressSanitizer with `.ci/sanitize.sh`.

#[path = "common/c_program.rs"]
mod c_program;
mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use c_program::{Link, build_source, library, run_c_program, scratch_dir};

#[test]
fn every_exported_function_handles_null_in_each_pointer_argument() {
    // STARTTLS with its own CA, and XOAUTH2 offered so a send reaches the token callback (the
    // only place a mailport_oauth_token exists).
    let server = common::TestServer::start(&[
        "--mode",
        "starttls",
        "--oauth",
        "nulltest@example.org:null-test-token",
    ]);
    let refused = common::refused_port();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = scratch_dir("null_calls");

    let source = dir.join("null_calls.c");
    let generated = Command::new(common::python())
        .arg(repo.join("tests/c/gen_null_calls.py"))
        .arg(repo.join("include/mailport.h"))
        .arg(&source)
        .output()
        .expect("run python3 tests/c/gen_null_calls.py");
    assert!(
        generated.status.success(),
        "the generator refused the header:\n{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    println!("{}", String::from_utf8_lossy(&generated.stdout));

    let exe = build_source(&source, &library(), &dir, Link::Library);
    let spool = dir.join("spool");
    let attachment = dir.join("notes.txt");
    std::fs::write(&attachment, "an attachment for the NULL test\n").unwrap();
    let args = [
        server.port.to_string(),
        server.ca.display().to_string(),
        spool.display().to_string(),
        attachment.display().to_string(),
        refused.to_string(),
    ];
    let stdout = run_c_program(&exe, &args);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("NULL_CALLS ") && l.ends_with(" 0")),
        "the program reports its calls and no failure"
    );

    let called: BTreeSet<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CALLED "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let symbols = std::fs::read_to_string(repo.join("tests/abi/symbols.txt")).unwrap();
    let exported: BTreeSet<&str> = symbols
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let missing: Vec<_> = exported.difference(&called).collect();
    assert!(
        missing.is_empty(),
        "exported functions the generated program never called: {missing:?}"
    );
    let unknown: Vec<_> = called.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "called functions missing from tests/abi/symbols.txt: {unknown:?}"
    );
}
