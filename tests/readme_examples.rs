//! The README's quick starts, run as a new user would run them from a fresh clone: every ```c
//! block, the ```python block and the first ```php block are taken from README.md, pointed at a
//! real local SMTP server (aiosmtpd, STARTTLS and AUTH) and run; the server must then hold the
//! message the snippet describes. A README example that stops working fails here.
//!
//! Only the test rewrites a snippet, textually, and only where it names the outside world:
//!
//! - the host `smtp.example.com` becomes `localhost`, the port (`587`, `auto`, or none) the
//!   server's port, in a URL (`smtp://…@smtp.example.com:587`) as in a host/port argument;
//! - an attachment path names a file this test created (`/srv/reports/q3.pdf` → a temporary file;
//!   a relative path is created in the child's working directory);
//! - the server's test CA is trusted through the environment (`SSL_CERT_FILE`, which mailport's
//!   system trust store honours), the password comes from `SMTP_PASSWORD` as the snippets read it
//!   (or from the URL), and the server accepts the user name the snippet logs in with.
//!
//! What the message must look like (sender, recipients, subject, text, attachment name) is read
//! from the snippet itself, and the received message is parsed by Python's `email` package.
//!
//! - C: statement blocks go into `int main(void) { … }` after their `#include` lines and
//!   `<stdio.h>`, `<stdlib.h>`, `<string.h>`; built with gcc (`-Wall -Wextra -Werror`) against the
//!   freshly built `libmailport.so` and run with `LD_LIBRARY_PATH`. A block that only defines a
//!   function (the "read an error" example) is called from a generated `main` on two real
//!   failures: a wrong password (the server's 535 must be shown) and a refused port; each must
//!   print the kind, the hint and the transcript.
//! - Python: `python3 -c <snippet>` with `PYTHONPATH=bindings/python` and `MAILPORT_LIBRARY`.
//! - PHP: the snippet after `<?php` in a file run by `php` in a temporary directory whose
//!   `vendor/autoload.php` stands in for Composer's (it loads the checkout's binding), with
//!   `MAILPORT_LIBRARY`. Skipped with a note when `php` (or its FFI extension) is missing.
//!
//! `tests/readme_c.rs` still compiles every C block on its own, without a server. A block fenced
//! with more than its language (```` ```c fragment ````) continues an earlier example and is not
//! run.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ReceivedMessage, TestServer};

/// The password the server expects when a snippet reads it from `SMTP_PASSWORD`.
const ENV_PASSWORD: &str = "readme-test-password";

/// How long one snippet (or gcc) may run before the test gives up on it.
const CHILD_DEADLINE: Duration = Duration::from_secs(120);

/// The attachment's content: a PDF-like header and every byte value, so base64 is exercised.
fn attachment_bytes() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n% mailport README example attachment\n".to_vec();
    bytes.extend(0..=255u8);
    bytes.extend(b"\n%%EOF\n");
    bytes
}

/// Parses one received message with Python's `email` package and prints what the test checks.
const INSPECT_PY: &str = r#"
import email, email.policy, json, sys
msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
def addrs(name):
    header = msg.get(name)
    return [a.addr_spec for a in header.addresses] if header is not None else []
text = msg.get_body(preferencelist=("plain",))
print(json.dumps({
    "subject": str(msg.get("Subject", "")),
    "from": addrs("From"),
    "to": addrs("To"),
    "text": text.get_content() if text is not None else None,
    "attachments": [{"filename": p.get_filename(), "hex": (p.get_payload(decode=True) or b"").hex()}
                    for p in msg.iter_attachments()],
    "defects": [type(d).__name__ for p in msg.walk() for d in p.defects],
}))
"#;

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn readme_c_examples_run() {
    // The complete program (```` ```c app.c ````) is built and run by
    // cli/tests/readme_install.rs, with the README's install and compile commands.
    let blocks = readme_blocks("c");
    assert!(
        blocks.len() >= 2,
        "expected the field-by-field and the error examples (```c) in README.md, found {}",
        blocks.len()
    );
    for block in &blocks {
        match defined_function(&block.code) {
            Some(function) => run_c_error_example(block, &function),
            None => run_c_send_example(block),
        }
    }
}

#[test]
fn readme_python_example_runs() {
    let blocks = readme_blocks("python");
    assert_eq!(
        blocks.len(),
        1,
        "expected one ```python example in README.md"
    );
    let block = &blocks[0];
    let snippet = Snippet::prepare(block, "python", true);
    let repo = repo_root();
    let (code, workdir) = (&snippet.code, &snippet.workdir);
    let mut command = Command::new(python());
    command
        .arg("-c")
        .arg(code)
        .current_dir(workdir)
        .env("PYTHONPATH", repo.join("bindings/python"));
    let run = snippet.run(command);
    snippet.check_received(&run);
    assert!(
        !run.stdout.trim().is_empty(),
        "the Python example printed no server reply\n{}",
        snippet.describe(&run)
    );
    snippet.finish();
}

#[test]
fn readme_php_example_runs() {
    let blocks = readme_blocks("php");
    assert!(!blocks.is_empty(), "expected a ```php example in README.md");
    let block = &blocks[0];
    if let Some(why) = php_unavailable() {
        eprintln!(
            "note: skipping the README PHP example (line {}): {why}",
            block.line
        );
        return;
    }
    let repo = repo_root();
    // The snippet requires Composer's vendor/autoload.php next to it: here a stand-in that loads
    // the checkout's binding, as `composer require` would install it (ComposerInstallTest tests
    // the real install). The attachment gets an absolute path.
    let snippet = Snippet::prepare(block, "php", false);
    let vendor = snippet.workdir.join("vendor");
    fs::create_dir_all(&vendor).unwrap();
    fs::write(
        vendor.join("autoload.php"),
        format!(
            "<?php\nrequire {:?};\n",
            repo.join("bindings/php/autoload.php").display().to_string()
        ),
    )
    .unwrap();
    let script = snippet.workdir.join("example.php");
    fs::write(&script, format!("<?php\n{}", snippet.code)).unwrap();
    let mut command = Command::new("php");
    command.arg(&script).current_dir(&snippet.workdir);
    let run = snippet.run(command);
    snippet.check_received(&run);
    assert!(
        run.stdout.starts_with("accepted: "),
        "the PHP example did not print \"accepted: …\"\n{}",
        snippet.describe(&run)
    );
    snippet.finish();
}

// ---------------------------------------------------------------------------------------------
// C.

/// A statement block: wrapped in `main`, built, run; the server must hold its message.
fn run_c_send_example(block: &Block) {
    let snippet = Snippet::prepare(block, "c", true);
    let (includes, body) = split_includes(&snippet.code);
    let program = format!(
        "{includes}\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n\
         int main(void) {{\n{body}\nreturn 0;\n}}\n"
    );
    let exe = build_c(&snippet.workdir, &program, block);
    let run = snippet.run(Command::new(exe));
    snippet.check_received(&run);
    assert!(
        run.stderr.trim().is_empty(),
        "the README C example at line {} reported an error\n{}",
        block.line,
        snippet.describe(&run)
    );
    if let Some(port) = run.stdout.split("(port ").nth(1) {
        let port = port.split(')').next().unwrap_or_default();
        assert_eq!(
            port,
            snippet.server.port.to_string(),
            "the receipt names another port\n{}",
            snippet.describe(&run)
        );
    }
    snippet.finish();
}

/// A block that defines a function taking `(mailport_result, const mailport_error *)`: called
/// on a refused login against the real server and on a refused port.
fn run_c_error_example(block: &Block, function: &CFunction) {
    let params: Vec<String> = function
        .params
        .split(',')
        .map(|p| {
            let p = p.trim();
            // Drop the parameter name: the type is what is left.
            let name_start = p
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            p[..name_start]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        params,
        ["mailport_result", "const mailport_error *"],
        "README C example at line {} defines {}({}); this test knows how to call a function \
         taking (mailport_result, const mailport_error *) only: teach it the new one",
        block.line,
        function.name,
        function.params
    );

    let user = "alice@example.com";
    let server = start_server(Some((user, ENV_PASSWORD)));
    let refused = common::refused_port();
    let workdir = workdir(&format!("c-{}", block.line));
    let (includes, body) = split_includes(&block.code);
    let name = &function.name;
    let port = server.port;
    let program = format!(
        r#"{includes}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

{body}

/* Generated by tests/readme_examples.rs: provoke a failure and hand it to {name}(). */
static mailport_result provoke(const char *host, unsigned port, const char *password) {{
    mailport_config *cfg = mailport_config_new();
    mailport_client *client = NULL;
    mailport_message *msg = mailport_message_new();
    mailport_error *err = NULL;
    mailport_result rc;
    if ((rc = mailport_config_set_host(cfg, host, &err)) == MAILPORT_OK
        && (rc = mailport_config_set_port(cfg, port, &err)) == MAILPORT_OK
        && (rc = mailport_config_set_credentials(cfg, "{user}", password, &err)) == MAILPORT_OK
        && (rc = mailport_client_new(cfg, &client, &err)) == MAILPORT_OK
        && (rc = mailport_message_set_from(msg, "{user}", &err)) == MAILPORT_OK
        && (rc = mailport_message_add_to(msg, "bob@example.org", &err)) == MAILPORT_OK
        && (rc = mailport_message_set_subject(msg, "never sent", &err)) == MAILPORT_OK
        && (rc = mailport_message_set_text(msg, "never sent", &err)) == MAILPORT_OK)
        rc = mailport_client_send(client, msg, NULL, &err);
    if (rc != MAILPORT_OK)
        {name}(rc, err);
    mailport_error_free(err);
    mailport_message_free(msg);
    mailport_client_free(client);
    mailport_config_free(cfg);
    return rc;
}}

int main(void) {{
    fprintf(stderr, "=== wrong password\n");
    if (provoke("localhost", {port}u, "not-the-password") == MAILPORT_OK)
        return 10;
    fprintf(stderr, "=== refused port\n");
    if (provoke("127.0.0.1", {refused}u, "{ENV_PASSWORD}") == MAILPORT_OK)
        return 11;
    return 0;
}}
"#
    );
    let exe = build_c(&workdir, &program, block);
    let run = run_child(Command::new(exe), &workdir, &server, &[]);
    let describe = || {
        format!(
            "README C example at line {}, run as:\n{program}\n--- exit status: {:?}\n\
             --- stdout ---\n{}\n--- stderr ---\n{}",
            block.line, run.status, run.stdout, run.stderr
        )
    };
    assert_eq!(run.status, Some(0), "{}", describe());
    let sections: Vec<&str> = run.stderr.split("=== ").skip(1).collect();
    assert_eq!(sections.len(), 2, "{}", describe());
    for (section, kind) in sections.iter().zip(["AUTH_FAILED", "CONNECT_REFUSED"]) {
        assert!(
            section.contains(&format!("MAILPORT_ERR_{kind}: ")),
            "expected the kind {kind} in\n{section}\n{}",
            describe()
        );
        let hint = section
            .lines()
            .find_map(|l| l.strip_prefix("what to do: "))
            .unwrap_or_default();
        assert!(
            hint.trim().len() > 10,
            "expected a hint (\"what to do: …\") in\n{section}\n{}",
            describe()
        );
        assert!(
            section.contains("transcript:"),
            "expected the transcript in\n{section}\n{}",
            describe()
        );
    }
    // The server's own words, as it sent them (the transcript's "S: 535 …" line).
    let reply = sections[0]
        .lines()
        .find_map(|l| l.strip_prefix("S: 535 "))
        .unwrap_or_else(|| panic!("no 535 reply in the transcript\n{}", describe()));
    assert!(
        sections[0]
            .lines()
            .any(|l| l == format!("server said: 535 {reply}")),
        "expected \"server said: 535 {reply}\" for the wrong password\n{}",
        describe()
    );
    assert!(
        !sections[0].contains("not-the-password"),
        "the password leaked into the output\n{}",
        describe()
    );
    assert!(
        !sections[1].contains("server said:"),
        "a refused connection has no server reply\n{}",
        describe()
    );
    assert!(
        server.messages().is_empty(),
        "the server accepted a message with a wrong password"
    );
    let _ = fs::remove_dir_all(&workdir);
}

/// Write `program` into `dir` and build it against the shared library; returns the executable.
fn build_c(dir: &Path, program: &str, block: &Block) -> PathBuf {
    let source = dir.join("example.c");
    fs::write(&source, program).unwrap();
    let exe = dir.join("example");
    let library = common::shared_library();
    let output = Command::new("gcc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg(format!("-I{}", repo_root().join("include").display()))
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", library.parent().unwrap().display()))
        .arg("-lmailport")
        .output()
        .expect("run gcc");
    assert!(
        output.status.success(),
        "the README C example at line {} does not build:\n{}\n{program}",
        block.line,
        String::from_utf8_lossy(&output.stderr)
    );
    // The library's SONAME is libmailport.so.<abi>: the loader looks for that name on
    // LD_LIBRARY_PATH, so a link to the freshly built library in `dir` provides it.
    // SAFETY: no arguments, returns a constant.
    let abi = unsafe { mailport::ffi::mailport_abi_version() };
    let soname = dir.join(format!("libmailport.so.{abi}"));
    let _ = fs::remove_file(&soname);
    std::os::unix::fs::symlink(&library, &soname).expect("symlink the SONAME");
    exe
}

/// The `#include` lines and the rest of a C block.
fn split_includes(code: &str) -> (String, String) {
    let (includes, body): (Vec<&str>, Vec<&str>) = code
        .lines()
        .partition(|l| l.trim_start().starts_with("#include"));
    (includes.join("\n"), body.join("\n"))
}

struct CFunction {
    name: String,
    params: String,
}

/// The function a C block defines at top level, if it defines one (rather than being
/// statements to paste into a function).
fn defined_function(code: &str) -> Option<CFunction> {
    const STATEMENTS: [&str; 7] = ["if", "for", "while", "switch", "do", "else", "return"];
    code.lines().find_map(|line| {
        if line.starts_with(char::is_whitespace) || !line.trim_end().ends_with('{') {
            return None;
        }
        let open = line.find('(')?;
        let head = &line[..open];
        let first = head.split_whitespace().next()?;
        if STATEMENTS.contains(&first) || head.contains('=') || head.starts_with(['#', '/', '}']) {
            return None;
        }
        let name = head.split_whitespace().last()?.trim_start_matches('*');
        let close = line.rfind(')')?;
        Some(CFunction {
            name: name.to_string(),
            params: line[open + 1..close].to_string(),
        })
    })
}

// ---------------------------------------------------------------------------------------------
// One snippet against its own server.

struct Snippet<'a> {
    block: &'a Block,
    /// The snippet as run: pointed at the server and at the attachment created for it.
    code: String,
    server: TestServer,
    workdir: PathBuf,
    expect: Expected,
    /// Environment variables the snippet reads.
    env: Vec<(String, String)>,
}

/// What the snippet says it sends, read from its own text.
#[derive(Debug)]
struct Expected {
    user: Option<String>,
    from: String,
    to: Vec<String>,
    subject: String,
    text: Option<String>,
    /// The attachment's file name, when the snippet attaches a file.
    attachment: Option<String>,
}

impl<'a> Snippet<'a> {
    /// Read what `block` sends, start a server that accepts its login, point the code at the
    /// server and create its attachment. `relative_ok`: the child runs in the work directory, so
    /// a relative attachment path can stay as written.
    fn prepare(block: &'a Block, lang: &str, relative_ok: bool) -> Snippet<'a> {
        let code = &block.code;
        let where_ = format!("README {lang} example at line {}", block.line);
        let need = |what: &str, found: Option<String>| {
            found.unwrap_or_else(|| panic!("{where_}: cannot tell its {what}:\n{code}"))
        };
        let (user, password, reads_env) = credentials(code);
        let expect = Expected {
            user: user.clone(),
            from: envelope_address(&need(
                "sender",
                literal_after_any(code, &["set_from(", "from_(", "setFrom("]),
            )),
            to: all_literals_after_any(code, &["add_to(", ".to(", "addTo("])
                .iter()
                .map(|a| envelope_address(a))
                .collect(),
            subject: need("subject", literal_after_any(code, &["ubject("])),
            text: literal_after_any(code, &["set_text(", ".text(", "setText("]),
            attachment: None,
        };
        assert!(
            !expect.to.is_empty(),
            "{where_}: cannot tell its recipients:\n{code}"
        );

        let server = start_server(user.as_deref().map(|u| (u, password.as_str())));
        let workdir = workdir(&format!("{lang}-{}", block.line));
        let mut code = point_at_server(code, server.port)
            .unwrap_or_else(|why| panic!("{where_}: {why}:\n{code}"));
        let mut expect = expect;
        if let Some((path, range)) =
            literal_range_after_any(&code, &["attach_file(", "attachFile("])
        {
            let name = Path::new(&path)
                .file_name()
                .unwrap_or_else(|| panic!("{where_}: attachment {path:?} has no file name"))
                .to_string_lossy()
                .into_owned();
            let file = workdir.join(&name);
            fs::write(&file, attachment_bytes()).unwrap();
            if Path::new(&path).is_absolute() || !relative_ok {
                let quote = &code[range.start..range.start + 1];
                let replacement = format!("{quote}{}{quote}", file.display());
                code.replace_range(range, &replacement);
            }
            expect.attachment = Some(name);
        }

        let mut env = Vec::new();
        if reads_env {
            env.push(("SMTP_PASSWORD".to_string(), ENV_PASSWORD.to_string()));
        }
        Snippet {
            block,
            code,
            server,
            workdir,
            expect,
            env,
        }
    }

    fn run(&self, command: Command) -> ChildRun {
        run_child(command, &self.workdir, &self.server, &self.env)
    }

    fn describe(&self, run: &ChildRun) -> String {
        format!(
            "README example at line {}, run as:\n{}\n--- exit status: {:?}\n--- stdout ---\n{}\n\
             --- stderr ---\n{}\n--- expected ---\n{:?}",
            self.block.line, self.code, run.status, run.stdout, run.stderr, self.expect
        )
    }

    /// The child succeeded and the server holds exactly the message the snippet describes.
    fn check_received(&self, run: &ChildRun) {
        assert_eq!(run.status, Some(0), "{}", self.describe(run));
        let messages = self.server.messages();
        assert_eq!(
            messages.len(),
            1,
            "the server should hold one message\n{}",
            self.describe(run)
        );
        let message: &ReceivedMessage = &messages[0];
        let context = || format!("received {message:?}\n{}", self.describe(run));
        assert!(message.tls, "sent without TLS: {}", context());
        assert_eq!(message.auth_user, self.expect.user, "{}", context());
        assert_eq!(message.mail_from, self.expect.from, "{}", context());
        assert_eq!(message.rcpt_tos, self.expect.to, "{}", context());

        let parsed = inspect(&message.data, &self.workdir);
        let context = || format!("parsed {parsed:#}\n{}", self.describe(run));
        assert_eq!(
            parsed["subject"],
            self.expect.subject.as_str(),
            "{}",
            context()
        );
        assert_eq!(
            parsed["from"][0],
            self.expect.from.as_str(),
            "{}",
            context()
        );
        assert_eq!(
            parsed["to"],
            serde_json::json!(self.expect.to),
            "{}",
            context()
        );
        if let Some(text) = &self.expect.text {
            let got = parsed["text"].as_str().unwrap_or_default();
            assert_eq!(got.trim_end(), text, "{}", context());
        }
        let attachments = parsed["attachments"].as_array().unwrap();
        match &self.expect.attachment {
            Some(name) => {
                assert_eq!(attachments.len(), 1, "{}", context());
                assert_eq!(attachments[0]["filename"], name.as_str(), "{}", context());
                assert_eq!(
                    attachments[0]["hex"],
                    hex(&attachment_bytes()).as_str(),
                    "the attachment's content differs: {}",
                    context()
                );
            }
            None => assert!(attachments.is_empty(), "{}", context()),
        }
        assert_eq!(parsed["defects"], serde_json::json!([]), "{}", context());
    }

    fn finish(self) {
        let _ = fs::remove_dir_all(&self.workdir);
    }
}

/// The user name a snippet logs in with, the password the server should expect, and whether the
/// snippet reads the password from `SMTP_PASSWORD`.
fn credentials(code: &str) -> (Option<String>, String, bool) {
    let reads_env = code.contains("SMTP_PASSWORD");
    // A URL with user info: smtp://user:password@host…
    if let Some(url) = string_literals(code)
        .into_iter()
        .find(|s| s.contains("://") && s.contains('@'))
    {
        let rest = url.split("://").nth(1).unwrap();
        let userinfo = &rest[..rest.rfind('@').unwrap()];
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let password = if password.is_empty() {
            ENV_PASSWORD.to_string()
        } else {
            percent_decode(password)
        };
        return (Some(percent_decode(user)), password, reads_env);
    }
    let user = literal_after_any(
        code,
        &[
            "set_credentials(",
            "username=",
            "username:",
            "setCredentials(",
        ],
    );
    (user, ENV_PASSWORD.to_string(), reads_env)
}

/// Point a snippet at `localhost:port`: the host `smtp.example.com` becomes `localhost`, and
/// the port it names (`587`, `auto`, or none) becomes `port`.
fn point_at_server(code: &str, port: u16) -> Result<String, String> {
    const HOST: &str = "smtp.example.com";
    let port_text = port.to_string();
    let mut out = code.to_string();
    let mut ported = false;

    // In URLs: …@smtp.example.com[:587|:auto] → …@localhost:PORT.
    for literal in string_literals(code) {
        if literal.contains("://") && literal.contains(HOST) {
            let at = literal.find(HOST).unwrap();
            let after = &literal[at + HOST.len()..];
            let old_port_len = after.strip_prefix(':').map_or(0, |p| {
                1 + p
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(p.len())
            });
            let new = format!(
                "{}localhost:{port}{}",
                &literal[..at],
                &after[old_port_len..]
            );
            out = out.replacen(&literal, &new, 1);
            ported = true;
        }
    }

    // Port arguments: set_port(cfg, 587 / port="auto" / port: 'auto' / port = 465.
    for prefix in ["set_port(", "port=", "port =", "port:"] {
        let mut from = 0;
        while let Some(found) = out[from..].find(prefix) {
            let mut at = from + found + prefix.len();
            if prefix == "set_port(" {
                match out[at..].find(',') {
                    Some(comma) => at += comma + 1,
                    None => break,
                }
            }
            at += out[at..].len() - out[at..].trim_start().len();
            let rest = &out[at..];
            let len = if rest.starts_with(['"', '\'']) {
                rest[1..].find(&rest[..1]).map_or(0, |end| end + 2)
            } else {
                rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len())
            };
            let value = rest[..len].trim_matches(['"', '\'']);
            let is_port = value.eq_ignore_ascii_case("auto")
                || value.ends_with("PORT_AUTO")
                || (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()));
            if is_port {
                out.replace_range(at..at + len, &port_text);
                ported = true;
                from = at + port_text.len();
            } else {
                from = at;
            }
        }
    }

    // No port at all (the default, 587): add one after a named host argument.
    if !ported {
        for (named, sep) in [("host=", "port="), ("host: ", "port: ")] {
            if let Some((value, range)) = literal_range_after_any(&out, &[named])
                && value == HOST
                && out[..range.start].ends_with(named)
            {
                out.insert_str(range.end, &format!(", {sep}{port}"));
                ported = true;
                break;
            }
        }
    }
    if !ported {
        return Err(format!(
            "cannot tell where it names the port, so cannot point it at port {port}"
        ));
    }
    if !code.contains(HOST) {
        return Err(format!("it does not name the host {HOST}"));
    }
    Ok(out.replace(HOST, "localhost"))
}

// ---------------------------------------------------------------------------------------------
// Servers, children, files.

/// A STARTTLS server with AUTH for `user:password` (or none), announcing itself as localhost.
fn start_server(auth: Option<(&str, &str)>) -> TestServer {
    let auth = auth.map(|(user, password)| format!("{user}:{password}"));
    let mut args = vec!["--mode", "starttls", "--hostname", "localhost"];
    if let Some(auth) = &auth {
        args.extend(["--auth", auth]);
    }
    // "localhost" may resolve to ::1 as well as 127.0.0.1: listen on both when possible.
    if common::ipv6_loopback_available() {
        args.push("--dual");
    }
    TestServer::start(&args)
}

struct ChildRun {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `command` with the test CA trusted through `SSL_CERT_FILE`, the library named by
/// `MAILPORT_LIBRARY` and found on `LD_LIBRARY_PATH`, and `env`; at most [`CHILD_DEADLINE`].
fn run_child(
    mut command: Command,
    workdir: &Path,
    server: &TestServer,
    env: &[(String, String)],
) -> ChildRun {
    let stdout_path = workdir.join("stdout.txt");
    let stderr_path = workdir.join("stderr.txt");
    command
        .env("SSL_CERT_FILE", &server.ca)
        .env_remove("SSL_CERT_DIR")
        .env("MAILPORT_LIBRARY", common::shared_library())
        .env("LD_LIBRARY_PATH", workdir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path).unwrap())
        .stderr(fs::File::create(&stderr_path).unwrap());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let deadline = Instant::now() + CHILD_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the example") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    ChildRun {
        status,
        stdout: fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: fs::read_to_string(&stderr_path).unwrap_or_default(),
    }
}

/// Parse a received message with Python's `email` package (see [`INSPECT_PY`]).
fn inspect(data: &[u8], workdir: &Path) -> serde_json::Value {
    let eml = workdir.join("received.eml");
    fs::write(&eml, data).unwrap();
    let output = Command::new(python())
        .arg("-c")
        .arg(INSPECT_PY)
        .arg(&eml)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python could not parse the received message:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(data)
    );
    serde_json::from_slice(&output.stdout).expect("inspect output is JSON")
}

/// Why the PHP example cannot run here, if it cannot.
fn php_unavailable() -> Option<String> {
    match Command::new("php").arg("-m").output() {
        Err(e) => Some(format!("php is not installed ({e})")),
        Ok(out) if !out.status.success() => Some("`php -m` failed".into()),
        Ok(out) => {
            let modules = String::from_utf8_lossy(&out.stdout);
            if modules.lines().any(|m| m.trim() == "FFI") {
                None
            } else {
                Some("php has no FFI extension".into())
            }
        }
    }
}

fn python() -> String {
    std::env::var("MAILPORT_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory for one example: its program, attachment and output.
fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("readme-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Reading README.md and snippets.

struct Block {
    /// 1-based line of the block's first line of code in README.md.
    line: usize,
    code: String,
}

/// Every fenced block of `lang` in README.md, in order.
fn readme_blocks(lang: &str) -> Vec<Block> {
    let readme = fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let mut blocks = Vec::new();
    // Inside a fence: Some(the block, when it is one of `lang`); outside: None.
    let mut fence: Option<Option<Block>> = None;
    for (i, line) in readme.lines().enumerate() {
        let marker = line.trim_start().strip_prefix("```");
        match (&mut fence, marker) {
            (None, Some(info)) => {
                fence = Some((info.trim() == lang).then(|| Block {
                    line: i + 2,
                    code: String::new(),
                }));
            }
            (Some(_), Some(_)) => blocks.extend(fence.take().flatten()),
            (Some(Some(block)), None) => {
                block.code.push_str(line);
                block.code.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// The string literal (C, Python or PHP; "…" or '…') starting at `s[0]`: its value with
/// backslash escapes resolved, and its length in bytes including the quotes.
fn literal_at(s: &str) -> Option<(String, usize)> {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut value = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c if c == quote => return Some((value, i + 1)),
            c => value.push(c),
        }
    }
    None
}

/// The first string literal after the first occurrence of any of `markers`, with its byte range.
fn literal_range_after_any(
    code: &str,
    markers: &[&str],
) -> Option<(String, std::ops::Range<usize>)> {
    let at = markers
        .iter()
        .filter_map(|m| code.find(m).map(|i| i + m.len()))
        .min()?;
    let start = at + code[at..].find(['"', '\''])?;
    let (value, len) = literal_at(&code[start..])?;
    Some((value, start..start + len))
}

fn literal_after_any(code: &str, markers: &[&str]) -> Option<String> {
    literal_range_after_any(code, markers).map(|(value, _)| value)
}

/// The first string literal after every occurrence of any of `markers`, in code order.
fn all_literals_after_any(code: &str, markers: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for marker in markers {
        for (i, _) in code.match_indices(marker) {
            if let Some((value, range)) = literal_range_after_any(&code[i..], &[marker]) {
                found.push((i + range.start, value));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, v)| v).collect()
}

/// Every string literal in `code`, as written (quotes and escapes included).
fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find(['"', '\'']) {
        let start = at + found;
        match literal_at(&code[start..]) {
            Some((_, len)) => {
                out.push(code[start..start + len].to_string());
                at = start + len;
            }
            None => at = start + 1,
        }
    }
    out
}

/// The envelope address in `Name <addr>` (or the whole text when there are no brackets).
fn envelope_address(mailbox: &str) -> String {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => mailbox[open + 1..close].to_string(),
        _ => mailbox.trim().to_string(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("percent-decoded UTF-8")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn snippets_are_pointed_at_the_server_in_every_form() {
    let cases = [
        (
            r#"url("smtp://a%40b.c:pw@smtp.example.com:587", x)"#,
            r#"url("smtp://a%40b.c:pw@localhost:2500", x)"#,
        ),
        (
            r#"url("smtp://smtp.example.com:auto")"#,
            r#"url("smtp://localhost:2500")"#,
        ),
        (
            r#"url("smtp://smtp.example.com")"#,
            r#"url("smtp://localhost:2500")"#,
        ),
        (
            r#"set_host(cfg, "smtp.example.com", &e); set_port(cfg, MAILPORT_PORT_AUTO, &e);"#,
            r#"set_host(cfg, "localhost", &e); set_port(cfg, 2500, &e);"#,
        ),
        (
            r#"Config(host="smtp.example.com", port="auto")"#,
            r#"Config(host="localhost", port=2500)"#,
        ),
        (
            r#"Config(host="smtp.example.com", user="u")"#,
            r#"Config(host="localhost", port=2500, user="u")"#,
        ),
        (
            "Config(host: 'smtp.example.com', port: 465)",
            "Config(host: 'localhost', port: 2500)",
        ),
        (
            "Config(host: 'smtp.example.com')",
            "Config(host: 'localhost', port: 2500)",
        ),
    ];
    for (code, expected) in cases {
        assert_eq!(
            point_at_server(code, 2500).as_deref(),
            Ok(expected),
            "{code}"
        );
    }
    assert!(point_at_server(r#"set_host(cfg, "smtp.example.com")"#, 2500).is_err());
    assert!(point_at_server(r#"Config(host="other.example", port=587)"#, 2500).is_err());
    assert_eq!(
        credentials(r#"from_url("smtp://alice%40example.com:s%3Acret@smtp.example.com:587")"#),
        (
            Some("alice@example.com".to_string()),
            "s:cret".to_string(),
            false
        )
    );
    assert_eq!(
        all_literals_after_any(
            r#"add_to(m, "\"Doe, Bob\" <b@x.org>"); add_to(m, 'c@x.org')"#,
            &["add_to("]
        ),
        [r#""Doe, Bob" <b@x.org>"#, "c@x.org"]
    );
}
