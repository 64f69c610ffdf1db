//! The C API from C: builds `tests/c/send.c` with gcc against the cdylib and runs it against a
//! real aiosmtpd server (STARTTLS + AUTH), under valgrind when it is installed.
//!
//! The program sends through setters and through a connection URL, checks receipts, the error
//! paths (NULL and invalid arguments, a refused recipient, a wrong password), the log callback,
//! the copy-out transcript, and four threads sending at once with a client each; it frees every
//! object, so valgrind's leak check covers every `_free` path.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Build `tests/c/<name>.c` into `dir`, linked against `library`.
///
/// The library's SONAME is `libmailport.so.<abi>`, so the loader looks for that file name: a
/// symlink to the freshly built library in `dir` (on the rpath) provides it without touching
/// `target/`.
fn build_c_program(name: &str, library: &Path, dir: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = library.parent().expect("library directory");
    // SAFETY: no arguments.
    let abi = unsafe { mailport::ffi::mailport_abi_version() };
    let soname = dir.join(format!("libmailport.so.{abi}"));
    let _ = std::fs::remove_file(&soname);
    std::os::unix::fs::symlink(library, &soname).expect("symlink the SONAME");

    let exe = dir.join(name);
    let output = Command::new("gcc")
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-g",
            "-O1",
        ])
        .arg(format!("-I{}", repo.join("include").display()))
        .arg(repo.join("tests/c").join(format!("{name}.c")))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib_dir.display()))
        .args(["-lmailport", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", dir.display()))
        .output()
        .expect("run gcc");
    assert!(
        output.status.success(),
        "gcc failed to build tests/c/{name}.c:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

#[test]
fn c_program_sends_through_the_shared_library() {
    let server = common::TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        "user:secret",
        "--queue-id",
        "--reject-rcpt",
        "nobody",
    ]);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c_abi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let exe = build_c_program("send", &common::shared_library(), &dir);

    let args = [
        exe.display().to_string(),
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
    ];
    let valgrind = have("valgrind");
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
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/c/valgrind.supp")
                .display()
        ));
        c.args(&args);
        c
    } else {
        eprintln!("valgrind is not installed: running tests/c/send.c without the leak check");
        let mut c = Command::new(&args[0]);
        c.args(&args[1..]);
        c
    };
    let output = command.output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    match output.status.code() {
        Some(0) => {}
        Some(99) if valgrind => panic!("valgrind found memory errors or leaks:\n{stderr}"),
        other => panic!("tests/c/send.c failed (exit {other:?}):\n{stderr}"),
    }
    if valgrind {
        println!("valgrind: no memory errors, no definite or indirect leaks");
    }

    // 2 from the setters client (one before and one after close), 1 via the URL, 4 threads x 3.
    let expected = 2 + 1 + 4 * 3;
    assert!(
        stdout.contains(&format!("MESSAGES_SENT {expected}")),
        "the program did not report {expected} messages sent"
    );
    let messages = server.messages();
    assert_eq!(messages.len(), expected, "messages the server received");
    let first = &messages[0];
    assert_eq!(first.rcpt_tos, ["a@example.org", "b@example.org"]);
    assert_eq!(first.auth_user.as_deref(), Some("user"));
    assert!(first.tls, "sent over STARTTLS");
    assert_eq!(first.helo.as_deref(), Some("client.example.org"));
    // Every thread's messages arrived, whatever the interleaving.
    for thread in 0..4 {
        for msg in 0..3 {
            let rcpt = format!("thread{thread}-msg{msg}@example.org");
            assert!(
                messages.iter().any(|m| m.rcpt_tos == [rcpt.clone()]),
                "{rcpt} was not delivered"
            );
        }
    }
}
