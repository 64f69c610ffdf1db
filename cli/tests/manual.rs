//! `mailport completions SHELL` and `mailport man`, run as the built binary: each shell's
//! script names the subcommands and is valid for that shell where it is installed, the manual
//! page renders with `man -l`, `--dir` writes a page per subcommand, and mistakes are refused with
//! a message that says what to do.

mod support;

use std::process::Command;

use support::{Run, run_mailport};

fn mailport(args: &[&str]) -> Run {
    run_mailport(args, &[], &[], None)
}

/// Every subcommand a user can type, which each completion script must offer.
const SUBCOMMANDS: [&str; 8] = [
    "send",
    "check",
    "capture",
    "demo",
    "outbox",
    "oauth",
    "completions",
    "man",
];

fn have(tool: &str, version_flag: &str) -> bool {
    Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completions_name_every_subcommand_and_option_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let run = mailport(&["completions", shell]);
        run.expect(0);
        for sub in SUBCOMMANDS {
            assert!(
                run.stdout.contains(sub),
                "{shell} completions do not offer `{sub}`:\n{}",
                run.stdout
            );
        }
        // A flag of a subcommand, so the script covers more than the first level.
        assert!(
            run.stdout.contains("starttls-port"),
            "{shell} completions do not offer `capture --starttls-port`"
        );
        // The second level: `oauth login` and its options.
        for flag in ["device-authorization-url", "oauth-refresh-token-file"] {
            assert!(
                run.stdout.contains(flag),
                "{shell} completions do not offer --{flag}"
            );
        }
    }
}

#[test]
fn bash_completion_script_is_valid_bash_and_completes_subcommands() {
    let run = mailport(&["completions", "bash"]);
    run.expect(0);
    let dir = support::temp_dir("bash");
    let script = dir.join("mailport.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    // Source it and ask the completion function what `mailport ou<TAB>` completes to, as bash
    // would after `complete -F`.
    let probe = format!(
        "source '{}' && COMP_WORDS=(mailport ou) && COMP_CWORD=1 && COMP_LINE='mailport ou' \
         && COMP_POINT=11 && _mailport mailport ou mailport && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.lines().any(|l| l == "outbox"),
        "bash did not complete `mailport ou` to `outbox`: status {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zsh_and_fish_scripts_parse_where_the_shell_is_installed() {
    for (shell, check) in [("zsh", ["-n"]), ("fish", ["--no-execute"])] {
        if !have(shell, "--version") {
            eprintln!("{shell} is not installed: its script's syntax is not checked");
            continue;
        }
        let run = mailport(&["completions", shell]);
        run.expect(0);
        let dir = support::temp_dir(shell);
        let script = dir.join("script");
        std::fs::write(&script, &run.stdout).unwrap();
        let out = Command::new(shell)
            .args(check)
            .arg(&script)
            .output()
            .expect("run the shell");
        assert!(
            out.status.success(),
            "{shell} rejects its completion script:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_list_of_shells() {
    let run = mailport(&["completions", "tcsh"]);
    run.expect(2).stderr_says(&["tcsh", "bash", "zsh", "fish"]);
    assert!(run.stdout.is_empty(), "nothing is printed on stdout");
    // And no shell at all: the usage says what is missing.
    mailport(&["completions"])
        .expect(2)
        .stderr_says(&["<SHELL>"]);
}

#[test]
fn the_manual_page_has_its_sections_and_renders_with_man() {
    let run = mailport(&["man"]);
    run.expect(0);
    let page = &run.stdout;
    for section in [
        ".TH mailport 1",
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH SUBCOMMANDS",
        ".SH VERSION",
    ] {
        assert!(
            page.contains(section),
            "no {section:?} in the page:\n{page}"
        );
    }
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("mailport\\-{sub}")),
            "the page does not list `{sub}`"
        );
    }

    if !have("man", "--version") {
        eprintln!("man is not installed: the page is checked as roff text only");
        return;
    }
    let dir = support::temp_dir("man");
    let file = dir.join("mailport.1");
    std::fs::write(&file, page).unwrap();
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .expect("run man -l");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "man -l failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for heading in ["NAME", "SYNOPSIS", "SUBCOMMANDS"] {
        assert!(
            text.lines().any(|l| l.trim() == heading),
            "man shows no {heading} heading:\n{text}"
        );
    }
    assert!(
        text.contains("mailport-send"),
        "man shows no mailport-send:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let dir = support::temp_dir("man-dir");
    let run = mailport(&["man", "--dir", dir.to_str().unwrap()]);
    run.expect(0);
    for page in [
        "mailport.1",
        "mailport-send.1",
        "mailport-capture.1",
        "mailport-outbox.1",
        "mailport-oauth.1",
        "mailport-oauth-login.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page))
            .unwrap_or_else(|e| panic!("{page} was not written: {e}"));
        assert!(text.contains(".SH NAME"), "{page} has no NAME section");
    }
    // The subcommand's own options are on its page.
    let send = std::fs::read_to_string(dir.join("mailport-send.1")).unwrap();
    assert!(
        send.contains("password\\-env"),
        "mailport-send.1 lacks --password-env"
    );
    assert!(
        send.contains("oauth\\-refresh\\-token\\-file"),
        "mailport-send.1 lacks --oauth-refresh-token-file"
    );
    let login = std::fs::read_to_string(dir.join("mailport-oauth-login.1")).unwrap();
    assert!(
        login.contains("client\\-id") && login.contains("\\-\\-print"),
        "mailport-oauth-login.1 lacks its options"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn man_dir_that_does_not_exist_is_refused_and_nothing_is_created() {
    let parent = support::temp_dir("man-missing");
    let missing = parent.join("man1");
    let run = mailport(&["man", "--dir", missing.to_str().unwrap()]);
    run.expect(3)
        .stderr_says(&["is not a directory", "mkdir -p"]);
    assert!(!missing.exists(), "--dir created {}", missing.display());
    let _ = std::fs::remove_dir_all(&parent);
}
