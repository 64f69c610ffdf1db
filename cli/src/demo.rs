//! `mailport demo`: everything at once, with no configuration — a capture server on free
//! loopback ports, the connection check against it, and a message with an HTML part and an
//! attachment sent through STARTTLS and AUTH.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use mailport::diagnose::probe::{ProbeOptions, probe};
use mailport::diagnose::report::Role;
use mailport::{Client, Config, Credentials, Message, Secret, Security};

use crate::capture::{Capture, CaptureOptions, Stored};

const USER: &str = "demo";
const PASSWORD: &str = "demo-password";

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where the capture server keeps its CA and the messages; kept afterwards. Default: a new
    /// temporary directory, removed when the demo ends (see --keep).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Keep the temporary directory (the CA and the stored message) and print where it is.
    #[arg(long)]
    keep: bool,
}

/// Held while the capture server starts, which creates its directory (again, if the Ctrl-C
/// handler has just removed it); the handler takes it before removing the directory.
static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The demo's temporary directory, removed when the demo ends however it ends: on return,
/// on an error, and on Ctrl-C (the handler removes it before the process exits).
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn create(keep: bool) -> Result<Scratch, Failure> {
        let path = std::env::temp_dir().join(format!(
            "mailport-demo-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        ));
        create_dir(&path)?;
        if !keep {
            let on_signal = path.clone();
            // Without the handler a Ctrl-C would leave the directory behind; the demo still
            // works, so a failure to install it is only worth a note.
            if let Err(e) = ctrlc::set_handler(move || {
                // Held until the process is gone: nothing creates the directory again.
                let _creating = CREATING.lock();
                let _ = remove(&on_signal);
                std::process::exit(130);
            }) {
                eprintln!(
                    "note: cannot handle Ctrl-C ({e}); an interrupted demo leaves {} behind",
                    path.display()
                );
            }
        }
        Ok(Scratch { path, keep })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            println!(
                "Kept: {} (the CA and the stored message)",
                self.path.display()
            );
        } else if let Err(e) = remove(&self.path) {
            eprintln!("note: could not remove {}: {e}", self.path.display());
        }
    }
}

/// Remove `dir` and everything in it. On Ctrl-C the capture server may still be storing a
/// file in it, which makes one pass fail (the directory is not empty when it is removed), so a
/// few passes are made; a missing directory counts as removed.
fn remove(dir: &std::path::Path) -> std::io::Result<()> {
    let mut passes = 0;
    loop {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if passes < 10 => passes += 1,
            other => return other,
        }
    }
}

fn create_dir(dir: &std::path::Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        (
            format!("cannot create {}: {e}", dir.display()),
            ExitCode::from(3),
        )
    })
}

pub fn run(args: DemoArgs) -> ExitCode {
    match demo(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((message, status)) => {
            eprintln!("demo failed: {message}");
            status
        }
    }
}

type Failure = (String, ExitCode);

fn fail(error: mailport::Error) -> Failure {
    let mut text = error.message();
    if !error.hint().is_empty() {
        text += &format!("\nhint: {}", error.hint());
    }
    (text, crate::exit::for_kind(error.kind()))
}

fn demo(args: DemoArgs) -> Result<(), Failure> {
    // Declared first, so it is dropped last: after the capture server has stopped using it.
    let scratch;
    let removed_at_end = args.dir.is_none() && !args.keep;
    let dir = match args.dir {
        Some(dir) => {
            create_dir(&dir)?;
            dir
        }
        None => {
            scratch = Scratch::create(args.keep)?;
            scratch.path.clone()
        }
    };

    println!("== 1. A capture server on this machine");
    let mut options = CaptureOptions::new(dir.clone());
    options.auth = Some((USER.into(), PASSWORD.into()));
    let (stored_tx, stored_rx) = mpsc::channel::<Stored>();
    let stored_tx = std::sync::Mutex::new(stored_tx);
    let creating = CREATING.lock();
    let capture = Capture::start(options, move |stored: &Stored| {
        if let Ok(tx) = stored_tx.lock() {
            let _ = tx.send(stored.clone());
        }
    });
    drop(creating);
    let capture = capture.map_err(|e| {
        (
            format!("the capture server did not start: {e}"),
            ExitCode::from(1),
        )
    })?;
    println!(
        "   STARTTLS on 127.0.0.1:{}, implicit TLS on 127.0.0.1:{}, AUTH {USER}/{PASSWORD}",
        capture.starttls_port(),
        capture.tls_port()
    );
    println!(
        "   its certificate comes from a local CA: {}",
        capture.ca_file().display()
    );

    let mut config = Config::new("localhost");
    config.api = mailport::Api::Cli;
    config.tls.ca_files = vec![capture.ca_file().to_path_buf()];
    config.credentials = Some(Credentials::Password {
        username: USER.into(),
        password: Secret::new(PASSWORD),
    });
    config.helo_name = Some("demo.localhost".into());
    config.timeouts.connect = Duration::from_secs(5);

    println!();
    println!("== 2. The connection check (what `mailport check` prints)");
    let checked = probe(
        &config,
        &ProbeOptions {
            ports: vec![
                (capture.starttls_port(), Role::Submission),
                (capture.tls_port(), Role::ImplicitTls),
            ],
            deadline: Duration::from_secs(20),
            greeting_wait: Duration::from_secs(2),
            ..ProbeOptions::default()
        },
    )
    .map_err(fail)?;
    print!("{}", crate::check::render(&checked));

    println!();
    println!("== 3. A message with an HTML part and an attachment, through STARTTLS and AUTH");
    let attachment = dir.join("mailport-demo-report.csv");
    std::fs::write(
        &attachment,
        "port,security,verdict\n587,starttls,submission\n465,tls,submission\n2525,starttls,fallback\n25,opportunistic,relay\n",
    )
    .map_err(|e| (format!("cannot write {}: {e}", attachment.display()), ExitCode::from(3)))?;
    let mut message = Message::new();
    message
        .set_from("mailport demo <demo@localhost>")
        .and_then(|m| m.add_to("You <you@localhost>"))
        .and_then(|m| m.set_subject("Hello from mailport — it works ✓"))
        .and_then(|m| {
            m.set_text("This message came through STARTTLS and AUTH to a local capture server.\n")
        })
        .and_then(|m| {
            m.set_html("<p>This message came through <b>STARTTLS</b> and <b>AUTH</b> to a local capture server.</p>")
        })
        .and_then(|m| m.attach_file(&attachment, None, None))
        .map_err(fail)?;
    config.port = capture.starttls_port();
    config.security = Security::StartTls;
    let mut client = Client::new(config).map_err(fail)?;
    let result = client.send_message(&message);
    println!("   transcript (passwords and the message body are never shown):");
    for line in client.transcript().lines() {
        println!("   {line}");
    }
    let receipt = result.map_err(fail)?;
    client.close();
    println!("   sent: {}", receipt.reply.one_line());

    println!();
    println!("== 4. What the capture server stored");
    let stored = stored_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| {
            (
                "the capture server did not announce the message".to_string(),
                ExitCode::from(1),
            )
        })?;
    println!("   {}", stored.path.display());
    if removed_at_end {
        println!("   (removed when the demo ends: `mailport demo --keep` keeps it)");
    }
    println!(
        "   from {}  to {}  {} bytes  TLS: {}  user: {}",
        stored.from,
        stored.to.join(", "),
        stored.size,
        stored.tls,
        stored.user.as_deref().unwrap_or("-")
    );
    println!();
    println!(
        "Next: `mailport check smtp.your-provider.com --user you@example.com --password-env SMTP_PASSWORD` tells you which port works for your own provider."
    );
    capture.stop();
    Ok(())
}
