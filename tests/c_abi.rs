//! The C API from C: builds `tests/c/*.c` with gcc against the cdylib and runs each against a
//! real aiosmtpd server (STARTTLS), under valgrind when it is installed, or under AddressSanitizer
//! or ThreadSanitizer with `.ci/sanitize.sh` (see `common/c_program.rs`).
//!
//! - `first_hour.c` meets an unset password, an untrusted CA and STARTTLS on an implicit-TLS
//!   port, and checks that each error says so in C's words;
//! - `send.c` sends through setters and through a connection URL, checks receipts, the error
//!   paths (NULL and invalid arguments, a refused recipient, a wrong password), the log callback,
//!   the copy-out transcript, and four threads sending at once with a client each.
//! - `message.c` builds a message with every kind of field and two attachments, renders it,
//!   sends it and a cloned variant with `mailport_client_send`, checks that header injection is
//!   refused at the setter, and builds WordPress `wp_mail()` calls (an invalid Cc, then one that
//!   is sent).
//! - `render.c` renders through every C entry point (copy-out, owned `mailport_bytes`, a file
//!   descriptor, a callback) and meets their errors (/dev/full, a pipe whose reader is gone with
//!   SIGPIPE at its default, a callback that stops, a negative fd); a second run without
//!   valgrind measures the peak RSS growth of a message with a 25 MiB attachment: measured
//!   without rendering it, streamed to a file in <= 16 MB, rendered to bytes in <= 1.3x its size.
//! - `probe.c` runs the connection check (`mailport_probe`) on a refused port and a STARTTLS
//!   server, reads the report through every accessor and prints its JSON, which is checked
//!   here; and checks that misuse (a NULL config, bad options) is an error of the call.
//!
//! - `reload.c` loads the library with `dlopen()`, sends through a persistent client, and
//!   `dlclose()`s it, twice, as PHP's `FFI::cdef` does per request: the pooled session must
//!   survive (the library is never unloaded), so the server sees one connection.
//! - `pool.c` sends through a persistent client that allows partial delivery and logs bodies,
//!   then through one that does neither on the pooled session: its settings, not the first
//!   client's, must apply.
//! - `outbox.c` enqueues a built and a raw message into an outbox whose primary connection is
//!   down, delivers them through the backup (one deferred by a 450), reads the records through
//!   every accessor, counts the events its callback hears (and finds them in the run's summary),
//!   retries and cancels the deferred entry, and checks that misuse is an error naming the
//!   argument.
//!
//! - `oauth.c` sends with a refresh grant against tests/servers/oauth_server.py (the rotated
//!   refresh token reaches its rotation callback), with a token callback told when its token
//!   was refused, and meets a failing callback and invalid_grant with their codes and hints.
//!
//! - `sigpipe.c` keeps SIGPIPE at its default action (death) and sends a 16 MiB message
//!   through a proxy that cuts the connection mid-DATA, in plaintext and over TLS: it must get
//!   a connection error back and exit normally.
//! - `fork.c` forks after sending through the persistent pool: the child connects anew and
//!   never resumes the parent's TLS session, the parent's pooled session keeps working, and
//!   `mailport_pool_drain` QUITs each process's own sessions only.
//!
//! Each program frees every object, so valgrind's leak check covers every `_free` path.

#[path = "common/c_program.rs"]
mod c_program;
mod common;
#[path = "common/oauth_server.rs"]
mod oauth_server;
#[path = "common/oauth_smtp.rs"]
mod oauth_smtp;

use oauth_smtp::OAuthSmtp;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;

use c_program::{Link, build_c_program, run_c_program, scratch_dir};

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
        "--hostile-text",
    ]);
    let dir = scratch_dir("send");
    let exe = build_c_program("send", &c_program::library(), &dir, Link::Library);
    let args = [
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);

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

#[test]
fn c_program_gets_errors_in_c_words() {
    let server = common::TestServer::start(&["--mode", "tls", "--hostname", "localhost"]);
    let dir = scratch_dir("first_hour");
    let exe = build_c_program("first_hour", &c_program::library(), &dir, Link::Library);
    let args = ["localhost".to_string(), server.port.to_string()];
    let stdout = run_c_program(&exe, &args);
    assert!(stdout.contains("FIRST_HOUR_OK"), "{stdout}");
    assert!(server.messages().is_empty());
}

#[test]
fn c_program_builds_and_sends_messages() {
    let server = common::TestServer::start(&["--mode", "starttls"]);
    let dir = scratch_dir("message");
    let exe = build_c_program("message", &c_program::library(), &dir, Link::Library);
    let attachment = dir.join("report.csv");
    let csv = "id,name\n1,Zo\u{eb}\n2,Ann\n";
    std::fs::write(&attachment, csv).unwrap();
    let args = [
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
        attachment.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);

    assert!(
        stdout.contains("MESSAGES_SENT 3"),
        "the program did not report 3 messages sent"
    );
    let message_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MESSAGE_ID "))
        .expect("the program printed the receipt's Message-ID");
    let messages = server.messages();
    assert_eq!(messages.len(), 3, "messages the server received");

    // The built message: envelope from From, To + Cc + Bcc as recipients, no Bcc in the data.
    let first = &messages[0];
    let data = String::from_utf8(first.data.clone()).expect("7-bit message");
    assert_eq!(first.mail_from, "zoe@example.org");
    assert_eq!(
        first.rcpt_tos,
        [
            "alice@example.org",
            "carol@example.org",
            "dan@example.org",
            "hidden-bcc@example.org"
        ]
    );
    assert!(first.tls, "sent over STARTTLS");
    assert!(!data.contains("Bcc"), "no Bcc header:\n{data}");
    assert!(
        !data.contains("hidden-bcc"),
        "the Bcc address is not in the data"
    );
    assert!(
        data.contains(&format!("\r\nMessage-ID: {message_id}\r\n")),
        "the receipt's Message-ID {message_id} is the one sent:\n{data}"
    );
    assert!(
        data.contains("\r\nTo: Alice <alice@example.org>\r\n"),
        "{data}"
    );
    assert!(
        data.contains("\r\nCc: carol@example.org, \"Doe, Dan\" <dan@example.org>\r\n"),
        "{data}"
    );
    assert!(
        data.contains("\r\nReply-To: replies@example.org\r\n"),
        "{data}"
    );
    assert!(
        data.contains("\r\nFrom: =?UTF-8?"),
        "encoded display name: {data}"
    );
    assert!(
        data.contains("\r\nSubject: =?UTF-8?"),
        "encoded subject: {data}"
    );
    assert!(
        data.contains("\r\nX-Mailport-Test: message.c\r\n"),
        "{data}"
    );
    assert!(!data.contains("X-Removed"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    assert!(data.contains("filename=report.csv") || data.contains("filename=\"report.csv\""));
    assert!(data.contains("blob.bin"), "{data}");
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    assert!(
        data.contains(&b64(csv.as_bytes())),
        "the file, base64:\n{data}"
    );
    assert!(
        data.contains(&b64(b"\x00\x01\xffmail\x00\x80\n")),
        "the bytes attachment, base64:\n{data}"
    );

    // The variant made with mailport_message_clone: one more recipient, its own Message-ID.
    let variant = &messages[1];
    let data = String::from_utf8_lossy(&variant.data);
    assert_eq!(variant.rcpt_tos.len(), 5);
    assert!(variant.rcpt_tos.contains(&"dave@example.org".to_string()));
    assert!(
        data.contains("\r\nMessage-ID: <variant-1@example.org>\r\n"),
        "{data}"
    );
    assert!(
        data.contains("Tue, 14 Nov 2023") || data.contains("Wed, 15 Nov 2023"),
        "{data}"
    );
    assert!(!data.contains("Bcc"), "{data}");

    // The wp_mail() message: WordPress's default sender with the filtered name, HTML, a Bcc.
    let wp = &messages[2];
    let data = String::from_utf8_lossy(&wp.data);
    assert_eq!(wp.mail_from, "wordpress@blog.example");
    // The refused headers array element added no recipient (issue 12.1); the good one is sent.
    assert_eq!(wp.rcpt_tos, ["wp-to@example.org", "wp-bcc@example.org"]);
    assert!(data.contains("\r\nX-Array-Element: one\r\n"), "{data}");
    assert!(!data.contains("evil.example"), "{data}");
    assert!(
        data.contains("\r\nFrom: Filtered Name <wordpress@blog.example>\r\n"),
        "{data}"
    );
    assert!(data.contains("Content-Type: text/html"), "{data}");
    assert!(!data.contains("Bcc") && !data.contains("wp-bcc"), "{data}");
}

#[test]
fn c_program_renders_to_bytes_a_descriptor_and_a_callback() {
    let dir = scratch_dir("render");
    let exe = build_c_program("render", &c_program::library(), &dir, Link::Library);
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let stdout = run_c_program(&exe, &["check".into(), work.display().to_string()]);
    assert!(stdout.contains("RENDER_OK"), "{stdout}");
}

/// A memory bound, not a timing: valgrind and the sanitizers change the process's memory, so
/// this runs the plain build only.
#[test]
fn a_25_mib_attachment_streams_to_a_file_in_bounded_memory() {
    if c_program::sanitizer().is_some() {
        eprintln!("skipped under a sanitizer: it changes the memory being measured");
        return;
    }
    let dir = scratch_dir("render_memory");
    let exe = build_c_program("render", &c_program::library(), &dir, Link::Library);
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let stdout =
        c_program::run_c_program_with(&exe, &["memory".into(), work.display().to_string()], false);
    assert!(stdout.contains("RENDER_OK"), "{stdout}");
    assert!(stdout.contains("RSS_GROWTH_KB to_fd"), "{stdout}");
}

#[test]
fn c_program_checks_the_ports_of_a_server() {
    let server = common::TestServer::start(&["--mode", "starttls", "--hostname", "localhost"]);
    let refused = common::refused_port();
    let dir = scratch_dir("probe");
    let exe = build_c_program("probe", &c_program::library(), &dir, Link::Library);
    let args = [
        refused.to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);

    let json = stdout
        .split_once("JSON_BEGIN\n")
        .and_then(|(_, rest)| rest.split_once("\nJSON_END\n"))
        .map(|(json, _)| json)
        .expect("the program printed the report's JSON between JSON_BEGIN and JSON_END");
    let report: serde_json::Value = serde_json::from_str(json).expect("the report is JSON");
    assert_eq!(report["schema"], 1);
    assert_eq!(report["host"], "localhost");
    let ports = report["ports"].as_array().expect("ports is an array");
    assert_eq!(ports.len(), 2, "{json}");

    // The refused port: every attempt (one per address family of localhost) was refused.
    assert_eq!(ports[0]["port"], refused);
    let attempts = ports[0]["attempts"].as_array().expect("attempts");
    assert!(!attempts.is_empty(), "{json}");
    for attempt in attempts {
        assert_eq!(attempt["tcp"]["status"], "refused", "{json}");
    }
    assert_ne!(ports[0]["verdict"], "works", "{json}");

    // The server works with STARTTLS and is recommended.
    assert_eq!(ports[1]["port"], server.port);
    assert_eq!(ports[1]["verdict"], "works", "{json}");
    assert_eq!(ports[1]["use_security"], "starttls", "{json}");
    assert_eq!(report["recommendation"]["port"], server.port, "{json}");
    assert_eq!(report["recommendation"]["security"], "starttls", "{json}");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "port_refused" && f["port"] == refused),
        "a port_refused finding for {refused}: {json}"
    );
    assert!(
        stdout.contains(&format!(
            "\nRECOMMENDATION port={} security=starttls\n",
            server.port
        )),
        "the recommendation line"
    );
}

#[test]
fn a_pooled_session_survives_dlclose_and_dlopen_of_the_library() {
    let server = common::TestServer::start(&["--mode", "starttls", "--auth", "user:secret"]);
    let dir = scratch_dir("reload");
    let library = c_program::library();
    // Not linked against the library: a DT_NEEDED entry would keep it loaded whatever dlclose()
    // does.
    let exe = build_c_program("reload", &library, &dir, Link::DlopenOnly);
    let args = [
        library.display().to_string(),
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);
    assert!(stdout.contains("MESSAGES_SENT 2"), "{stdout}");
    assert_eq!(server.messages().len(), 2);
    assert_eq!(
        server.connections(),
        1,
        "the second load of the library did not find the pooled session"
    );
}

#[test]
fn a_pooled_session_sends_with_the_settings_of_the_c_client_that_took_it() {
    let server = common::TestServer::start(&[
        "--mode",
        "starttls",
        "--auth",
        "user:secret",
        "--reject-rcpt",
        "nobody",
    ]);
    let dir = scratch_dir("pool");
    let exe = build_c_program("pool", &c_program::library(), &dir, Link::Library);
    let args = [
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);
    assert!(stdout.contains("MESSAGES_SENT 2"), "{stdout}");
    let messages = server.messages();
    let recipients: Vec<&[String]> = messages.iter().map(|m| m.rcpt_tos.as_slice()).collect();
    assert_eq!(
        recipients,
        [["rcpt@example.org"], ["rcpt@example.org"]],
        "A's message and B's second, nothing of B's first"
    );
    assert_eq!(server.connections(), 1, "B took A's session");
}

#[test]
fn c_program_queues_delivers_and_inspects_through_the_outbox() {
    let server =
        common::TestServer::start(&["--mode", "plain", "--queue-id", "--tempfail-rcpt", "busy"]);
    let refused = common::refused_port();
    let dir = scratch_dir("outbox");
    let exe = build_c_program("outbox", &c_program::library(), &dir, Link::Library);
    let spool = dir.join("spool");
    let args = [
        spool.display().to_string(),
        "127.0.0.1".to_string(),
        server.port.to_string(),
        refused.to_string(),
    ];
    let stdout = run_c_program(&exe, &args);
    assert!(stdout.contains("MESSAGES_SENT 1"), "{stdout}");
    // Enqueued twice, sent, deferred, retried, cancelled; one alert for the primary.
    assert!(stdout.contains("EVENTS 6 1"), "{stdout}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "only the order was delivered");
    assert_eq!(messages[0].rcpt_tos, ["ann@example.org"]);
    assert_eq!(messages[0].mail_from, "shop@example.com");
    let queue_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("QUEUE_ID "))
        .expect("the program printed the attempt's queue id");
    assert_eq!(messages[0].queue_id.as_deref(), Some(queue_id));
    // busy@ was asked once (then retried and cancelled before a second run could ask again).
    assert_eq!(server.events_named("RCPT").len(), 2);
    // The spool holds the two finished records.
    let done = std::fs::read_dir(spool.join("done")).unwrap().count();
    assert!(done >= 2, "{done} files in done/");
}

#[test]
fn c_program_uses_oauth_refresh_grants_and_token_callbacks() {
    let token_endpoint = oauth_server::OAuthServer::start(&[
        "--client",
        "mailport-app:client-secret-c",
        "--refresh-token",
        "site@example.test:rt-c-initial",
        "--rotate",
    ]);
    let server = token_endpoint.smtp_server(&["--oauth", "site@example.test:cb-token-1"]);
    let dir = scratch_dir("oauth");
    let exe = build_c_program("oauth", &c_program::library(), &dir, Link::Library);
    let args = [
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
        token_endpoint.token_url(),
        token_endpoint.ca.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);
    assert!(stdout.contains("ROTATED 1"), "{stdout}");
    assert!(stdout.contains("OAUTH_OK"), "{stdout}");
    assert_eq!(
        server.messages().len(),
        2,
        "the refresh grant's and the callback's"
    );
    assert_eq!(token_endpoint.refreshes(), 1);
}

/// A proxy in front of `upstream` that forwards both ways and, once `limit` bytes have come
/// from the client, closes both connections with the client's bytes still unread (so its
/// kernel answers the client's next segments with RST): a server that goes away in the middle
/// of a large message. Runs until the test ends.
fn cutting_proxy(upstream: u16, limit: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            let (client_r, mut server_w) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            // Server to client, until the server side is closed.
            std::thread::spawn(move || {
                let (mut server_r, mut client_w) = (server, client);
                let mut buf = [0u8; 16 * 1024];
                while let Ok(n) = server_r.read(&mut buf) {
                    if n == 0 || client_w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            // Client to server, until `limit`; then close everything.
            std::thread::spawn(move || {
                let mut client_r = client_r;
                let mut buf = [0u8; 16 * 1024];
                let mut seen = 0;
                while seen < limit {
                    match client_r.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            seen += n;
                            if server_w.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                // The other thread's read of the server ends, and it drops its halves.
                let _ = server_w.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

/// Run tests/c/sigpipe.c against a server behind [`cutting_proxy`].
fn survives_a_cut_mid_data(mode: &str, server_mode: &str) {
    let server = common::TestServer::start(&["--mode", server_mode]);
    // Past the greeting, EHLO, MAIL, RCPT, DATA and, with TLS, the handshake: inside the body.
    let port = cutting_proxy(server.port, 256 * 1024);
    let dir = scratch_dir(&format!("sigpipe-{mode}"));
    let exe = build_c_program("sigpipe", &c_program::library(), &dir, Link::Library);
    let mut args = vec!["127.0.0.1".to_string(), port.to_string(), mode.to_string()];
    if mode == "tls" {
        args.push(server.ca.display().to_string());
    }
    // No valgrind here: what is checked is how the process ends, which valgrind would report
    // as its own exit.
    // Without cargo's LD_LIBRARY_PATH, so the library next to the program is the one loaded.
    let output = Command::new(&exe)
        .env_remove("LD_LIBRARY_PATH")
        .args(&args)
        .output()
        .expect("run sigpipe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    {
        use std::os::unix::process::ExitStatusExt;
        assert_ne!(
            output.status.signal(),
            Some(libc::SIGPIPE),
            "the host process was killed by SIGPIPE ({mode}):\n{stdout}{stderr}"
        );
    }
    assert!(
        output.status.success(),
        "tests/c/sigpipe.c failed ({mode}, {:?}):\n{stdout}{stderr}",
        output.status
    );
    assert!(stdout.contains("SURVIVED MAILPORT_ERR_"), "{stdout}");
    assert!(server.messages().is_empty(), "a cut message was delivered");
}

#[test]
fn a_c_host_with_default_sigpipe_survives_a_server_closing_mid_data_in_plaintext() {
    survives_a_cut_mid_data("plain", "plain");
}

#[test]
fn a_c_host_with_default_sigpipe_survives_a_server_closing_mid_data_over_tls() {
    survives_a_cut_mid_data("tls", "tls");
}

#[test]
fn a_forked_c_child_never_uses_the_parents_connection_or_tls_session() {
    let server = common::TestServer::start(&["--mode", "starttls"]);
    let dir = scratch_dir("fork");
    let exe = build_c_program("fork", &c_program::library(), &dir, Link::Library);
    let args = [
        "127.0.0.1".to_string(),
        server.port.to_string(),
        server.ca.display().to_string(),
    ];
    let stdout = run_c_program(&exe, &args);
    assert!(stdout.contains("FORK_OK"), "{stdout}");
    let conn_of = |rcpt: &str| {
        server
            .messages()
            .iter()
            .find(|m| m.rcpt_tos == [rcpt.to_string()])
            .unwrap_or_else(|| panic!("{rcpt} got no message"))
            .conn
    };
    let parent = conn_of("parent-1@example.org");
    assert_eq!(
        conn_of("parent-2@example.org"),
        parent,
        "the pooled session"
    );
    let child = conn_of("child@example.org");
    assert_ne!(child, parent, "the child made its own connection");
    let quits = |conn: u64| {
        server
            .events_named("QUIT")
            .iter()
            .filter(|e| e.starts_with(&format!("{conn} ")))
            .count()
    };
    // Once, by the parent's final drain; never by the child.
    assert_eq!(quits(parent), 1, "QUITs on the parent's connection");
    assert_eq!(quits(child), 1, "the child's drain QUIT its own session");
}
