//! README.md's C section, followed as a newcomer would: its commands and its program are read
//! from README.md, not restated here.
//!
//! - Install: `cargo cinstall` into `$HOME/.local` (HOME pointed at a fresh directory, so the
//!   README's own line installs into it), then the layout a C library is expected to have: the
//!   versioned file and its SONAME links, the static library, the headers, `mailport.pc`.
//! - Build: the README's `cc` line with pkg-config, in a folder with the README's `app.c`; the
//!   program links to `libmailport.so.1` and runs with no `LD_LIBRARY_PATH` (the rpath), and,
//!   built without the rpath, fails to load until `LD_LIBRARY_PATH` names the prefix, as the
//!   README says.
//! - Static: the README's line linking `libmailport.a` gives a program that loads no libmailport.
//! - Try: the README's `mailport capture` set-up and its `./app` line (ports and the CA's folder
//!   made the capture's own) send a message that the capture server stores.
//! - Without installing: the README's `cargo build` and `cc` lines against the checkout.
//!
//! `cargo cinstall` needs cargo-c; .ci/run installs it, so CI always runs the install test.
//! Without it the test says so and passes.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::Capture;

/// The cargo-c version .ci/run installs and the README names.
const CARGO_C_VERSION: &str = "0.10.24";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is in the repository")
        .to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("read README.md")
}

/// The text of the README block fenced as ```` ```INFO ````.
fn block(readme: &str, info: &str) -> String {
    let fence = format!("```{info}\n");
    let start = readme
        .find(&fence)
        .unwrap_or_else(|| panic!("README.md has no block fenced ```{info}"))
        + fence.len();
    let len = readme[start..].find("```").expect("the block is closed");
    readme[start..start + len].to_string()
}

/// The command lines of a shell block: comments after `#` and blank lines left out.
fn commands(block: &str) -> Vec<String> {
    block
        .lines()
        .map(|l| match l.find("  #").or_else(|| l.find("   #")) {
            Some(at) => l[..at].trim_end().to_string(),
            None => l.trim_end().to_string(),
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The ABI version of the library this test was built with.
fn abi() -> u32 {
    // SAFETY: no arguments; returns a constant.
    unsafe { mailport::ffi::mailport_abi_version() }
}

fn have_cargo_c() -> bool {
    Command::new("cargo")
        .args(["cinstall", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `script` with bash (`set -euo pipefail` first) in `dir`, with `env` added; panics with
/// the output unless it exits 0.
fn bash(script: &str, dir: &Path, env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new("bash");
    command
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(dir)
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("PKG_CONFIG_PATH");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("run bash");
    assert!(
        out.status.success(),
        "this failed ({:?}):\n{script}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `HOME` for the README's commands is a scratch folder; cargo and rustup keep finding their
/// own homes (taken from the real `HOME` when they are not set).
fn home_env(home: &Path) -> Vec<(&'static str, PathBuf)> {
    let real = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real.join(".cargo"));
    let mut env = vec![("HOME", home.to_path_buf()), ("CARGO_HOME", cargo_home)];
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real.join(".rustup"));
    if rustup_home.is_dir() {
        env.push(("RUSTUP_HOME", rustup_home));
    }
    env
}

fn refs<'a>(env: &'a [(&'static str, PathBuf)]) -> Vec<(&'static str, &'a Path)> {
    env.iter().map(|(k, v)| (*k, v.as_path())).collect()
}

/// `readelf -d FILE`.
fn dynamic_section(file: &Path) -> String {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(file)
        .output()
        .expect("readelf (binutils) is needed");
    assert!(out.status.success(), "readelf -d {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run the README's `./app` line of the "try it" block against `capture`, in `work`, with no
/// `LD_LIBRARY_PATH` unless `library_path` is given; checks the message arrived.
fn send_to_capture(work: &Path, app: &str, library_path: Option<&Path>) {
    let readme = readme();
    let try_block = commands(&block(&readme, "sh c-try"));
    let [capture_line, app_line] = &try_block[..] else {
        panic!("the c-try block should be the capture line and the ./app line: {try_block:?}");
    };
    assert!(
        capture_line.starts_with("mailport capture --dir ./mail --starttls-port 2525 "),
        "unexpected capture line: {capture_line}"
    );
    let auth = capture_line
        .split_once("--auth ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .expect("the capture line has --auth USER:PASSWORD");
    assert!(
        app_line.contains("./app smtp://")
            && app_line.contains("127.0.0.1:2525")
            && app_line.contains("SMTP_CA_FILE=./mail/ca.pem"),
        "unexpected ./app line: {app_line}"
    );

    let dir = support::temp_dir("capture");
    let capture = Capture::start_with(&dir, &["--auth", auth], None);
    let line = app_line
        .replace("127.0.0.1:2525", &format!("127.0.0.1:{}", capture.starttls))
        .replace("./mail/ca.pem", &capture.ca.display().to_string())
        .replacen("./app", &format!("./{app}"), 1);
    let env: Vec<(&str, &Path)> = library_path
        .map(|p| ("LD_LIBRARY_PATH", p))
        .into_iter()
        .collect();
    let out = bash(&line, work, &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("accepted: ") && stdout.contains("Message accepted"),
        "{app}: {stdout}"
    );

    let stored = capture.next_stored();
    let user = auth.split(':').next().unwrap();
    assert!(
        stored.contains("to=<bob@example.org>") && stored.ends_with(&format!("auth={user}")),
        "{stored}"
    );
    let eml = std::fs::read_dir(&capture.dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "eml"))
        .expect("an .eml file in the capture folder");
    let text = std::fs::read_to_string(eml).unwrap();
    assert!(text.contains("Subject: Hello from C"), "{text}");
    assert!(text.contains("Sent with libmailport."), "{text}");
}

#[test]
fn readme_c_install_with_cargo_c_then_pkg_config_build_and_send() {
    let readme = readme();
    let install = commands(&block(&readme, "sh c-install"));
    let pin = format!("cargo install cargo-c --version {CARGO_C_VERSION} --locked");
    assert_eq!(install[0], pin, "the README's first C install step");
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(
        ci.contains(&format!("CARGO_C_VERSION={CARGO_C_VERSION}")),
        ".ci/run must install the cargo-c the README names"
    );
    if !have_cargo_c() {
        eprintln!(
            "SKIPPED: cargo-c is not installed ({pin}; .ci/run installs it), so the README's \
             C install is not tried"
        );
        return;
    }

    let home = support::temp_dir("home");
    let work = support::temp_dir("work");
    std::fs::write(work.join("app.c"), block(&readme, "c app.c")).unwrap();
    let env = home_env(&home);
    // The README's steps after installing cargo-c, from the checkout; then its cc line, in the
    // folder with app.c (PKG_CONFIG_PATH carries over, as in the reader's shell).
    let build = commands(&block(&readme, "sh c-build"));
    let cc = build
        .iter()
        .find(|l| l.starts_with("cc app.c"))
        .expect("a cc line in the c-build block");
    assert!(
        cc.contains("$(pkg-config --cflags --libs mailport)"),
        "the README compiles with pkg-config: {cc}"
    );
    // The block's other line sends to smtp.example.com: shown, not run (no network in tests).
    assert!(build.iter().any(|l| l.contains("./app smtp://")));
    let script = format!(
        "cd '{}'\n{}\ncd '{}'\n{cc}\n",
        repo().display(),
        install[1..].join("\n"),
        work.display()
    );
    bash(&script, &work, &refs(&env));

    // What a C library's install is expected to hold.
    let prefix = home.join(".local");
    let lib = prefix.join("lib");
    let abi = abi();
    let soname = format!("libmailport.so.{abi}");
    let real: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{soname}."))
        })
        .collect();
    let [real] = &real[..] else {
        panic!(
            "expected one {soname}.MINOR.PATCH in {}: {real:?}",
            lib.display()
        );
    };
    assert!(
        !real.is_symlink(),
        "{} is the library itself",
        real.display()
    );
    for link in [soname.clone(), "libmailport.so".to_string()] {
        let path = lib.join(&link);
        assert!(path.is_symlink(), "{link} is a link");
        assert_eq!(
            std::fs::canonicalize(&path).unwrap(),
            std::fs::canonicalize(real).unwrap(),
            "{link} leads to {}",
            real.display()
        );
    }
    assert!(lib.join("libmailport.a").is_file(), "the static library");
    for header in ["mailport.h", "mailport_ffi.h"] {
        assert_eq!(
            std::fs::read(prefix.join("include/mailport").join(header)).unwrap(),
            std::fs::read(repo().join("include").join(header)).unwrap(),
            "the installed {header} is the committed one"
        );
    }
    let pc = std::fs::read_to_string(lib.join("pkgconfig/mailport.pc")).unwrap();
    assert!(pc.contains("Cflags: -I${includedir}/mailport"), "{pc}");
    assert!(pc.contains("Libs: -L${libdir} -lmailport"), "{pc}");

    let library = dynamic_section(real);
    assert!(
        library.contains(&format!("Library soname: [{soname}]")),
        "SONAME:\n{library}"
    );
    assert!(
        !library.contains("RPATH") && !library.contains("RUNPATH"),
        "the installed library carries no rpath:\n{library}"
    );
    let program = dynamic_section(&work.join("app"));
    assert!(
        program.contains(&format!("Shared library: [{soname}]")),
        "app loads the library by its SONAME:\n{program}"
    );
    assert!(
        program.contains(&lib.display().to_string()),
        "the README's -Wl,-rpath recorded the prefix:\n{program}"
    );

    // The README's program, with no LD_LIBRARY_PATH, sends through a local capture server.
    send_to_capture(&work, "app", None);

    // Without the rpath the loader does not search $HOME/.local/lib, as the README warns; with
    // LD_LIBRARY_PATH, as it says, it runs.
    let pkg_config = [("PKG_CONFIG_PATH", lib.join("pkgconfig"))];
    bash(
        "cc app.c -o app-no-rpath $(pkg-config --cflags --libs mailport)",
        &work,
        &refs(&pkg_config),
    );
    let bare = Command::new(work.join("app-no-rpath"))
        .args(["smtp://dev@127.0.0.1:1", "bob@example.org"])
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(
        !bare.status.success()
            && String::from_utf8_lossy(&bare.stderr)
                .contains(&format!("{soname}: cannot open shared object file")),
        "without rpath or LD_LIBRARY_PATH the loader should not find {soname}: {}",
        String::from_utf8_lossy(&bare.stderr)
    );
    send_to_capture(&work, "app-no-rpath", Some(&lib));

    // The README's static link, in a folder of its own (its line writes ./app too): the program
    // needs no libmailport at all.
    let static_dir = work.join("static");
    std::fs::create_dir_all(&static_dir).unwrap();
    std::fs::write(static_dir.join("app.c"), block(&readme, "c app.c")).unwrap();
    let static_line = commands(&block(&readme, "sh c-static"));
    let [static_line] = &static_line[..] else {
        panic!("the c-static block is one cc line: {static_line:?}");
    };
    bash(static_line, &static_dir, &refs(&pkg_config));
    let program = dynamic_section(&static_dir.join("app"));
    assert!(
        !program.contains("libmailport"),
        "the static build loads no libmailport:\n{program}"
    );
    send_to_capture(&static_dir, "app", None);

    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn readme_c_without_installing_builds_against_the_checkout_and_sends() {
    let readme = readme();
    let dev = commands(&block(&readme, "sh c-dev"));
    let (assignment, rest) = dev.split_first().expect("lines in the c-dev block");
    assert!(
        assignment.starts_with("MAILPORT_SRC="),
        "the block starts by naming the checkout: {assignment}"
    );
    let work = support::temp_dir("dev");
    std::fs::write(work.join("app.c"), block(&readme, "c app.c")).unwrap();
    let repo = repo();
    bash(&rest.join("\n"), &work, &[("MAILPORT_SRC", &repo)]);

    let link = repo.join(format!("target/debug/libmailport.so.{}", abi()));
    assert_eq!(
        std::fs::read_link(&link).ok().as_deref(),
        Some(Path::new("libmailport.so")),
        "cargo build leaves the SONAME link {}",
        link.display()
    );
    send_to_capture(&work, "app", None);
    let _ = std::fs::remove_dir_all(&work);
}
