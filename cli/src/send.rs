//! `mailport send`: compose a message from the command line and submit it, saying precisely
//! what went wrong when it fails (and exiting with the failing phase's status); or, with
//! `--outbox`, put it in an outbox for `mailport outbox run` to deliver.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use mailport::{Client, Message, Receipt, Security};

use crate::shared::{ConnectionArgs, Refusal};

/// Messages at least this large get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 1024 * 1024;

#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
#[command(group(clap::ArgGroup::new("recipients").args(["to", "cc", "bcc"]).required(true).multiple(true)))]
#[command(mut_arg("server", |arg| arg.required_unless_present("outbox")))]
pub struct SendArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The author: you@example.com or "Your Name <you@example.com>".
    #[arg(long, value_name = "ADDR")]
    from: String,
    /// A recipient (repeatable; each may also be a comma-separated list).
    #[arg(long, value_name = "ADDR")]
    to: Vec<String>,
    /// A recipient shown in the Cc header (repeatable).
    #[arg(long, value_name = "ADDR")]
    cc: Vec<String>,
    /// A hidden recipient: in the envelope only, in no header (repeatable).
    #[arg(long, value_name = "ADDR")]
    bcc: Vec<String>,
    /// The Subject header.
    #[arg(long, value_name = "TEXT")]
    subject: Option<String>,
    /// The plain-text body, read from this file (UTF-8); "-" reads standard input.
    #[arg(long, value_name = "PATH|-")]
    text_file: Option<String>,
    /// An HTML body, read from this file (UTF-8); with --text-file too, both are sent as
    /// alternatives.
    #[arg(long, value_name = "PATH")]
    html_file: Option<PathBuf>,
    /// Attach this file (repeatable); its type is guessed from its name.
    #[arg(long, value_name = "PATH")]
    attach: Vec<PathBuf>,
    /// Add a header of your own, 'Name: value' (repeatable), e.g. 'X-Campaign: spring'.
    #[arg(long, value_name = "'Name: value'")]
    header: Vec<String>,
    /// Print the session transcript (passwords and message content left out) to standard error
    /// after the attempt, whether it succeeded or not.
    #[arg(long)]
    transcript: bool,
    /// Put the message in this outbox instead of sending it, and print its entry id: a spool
    /// directory (created if missing) or a mysql:// or mariadb:// URL. No connection is made;
    /// `mailport outbox run` delivers it.
    #[arg(
        long,
        value_name = "DIR|URL",
        conflicts_with_all = [
            "server", "security", "user", "password_env", "ca_files", "helo", "timeout",
            "transcript", "allow_relay", "auth_mechanism", "oauth_access_token_env",
            "oauth_provider", "oauth_token_url", "oauth_tenant", "oauth_client_id",
            "oauth_client_secret_env", "oauth_refresh_token_file",
        ]
    )]
    outbox: Option<String>,
    /// With --outbox: print the entry's record as JSON instead of its id.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SendArgs) -> ExitCode {
    // Not clap's `requires`: --server's conflict with --outbox would silence it.
    if args.json && args.outbox.is_none() {
        eprintln!("error: --json goes with --outbox (it prints the queued entry's record)");
        return ExitCode::from(crate::exit::USAGE);
    }
    let mut message = match compose(&args) {
        Ok(message) => message,
        Err(failure) => return failure.report(),
    };
    if let Some(location) = &args.outbox {
        if args.text_file.as_deref() == Some("-") {
            if let Err(failure) = text_from_stdin(&mut message) {
                return failure.report();
            }
        }
        return crate::outbox::enqueue(location, &message, args.json);
    }
    // clap requires --server without --outbox.
    let Some(mut config) = args.connection.config() else {
        eprintln!("error: --server is required (or --outbox to queue the message)");
        return ExitCode::from(2);
    };
    if let Err(refusal) = args.connection.login.apply(&mut config) {
        refusal.print();
        return refusal.status;
    }
    // Standard input is read last: the password prompt (on the terminal) comes first.
    if args.text_file.as_deref() == Some("-") {
        if let Err(failure) = text_from_stdin(&mut message) {
            return failure.report();
        }
    }
    let mut client = match Client::new(config) {
        Ok(client) => client,
        Err(error) => {
            let status = crate::shared::report_error(&error);
            args.connection.explain_port_needed();
            return status;
        }
    };
    let result = send_with_progress(&mut client, &message);
    client.close();
    let status = match &result {
        Ok(receipt) => {
            println!("sent: {}", describe(receipt));
            ExitCode::SUCCESS
        }
        Err(error) => crate::shared::report_error(error),
    };
    if args.transcript {
        eprintln!("--- transcript ---");
        eprint!("{}", client.transcript());
        eprintln!("--- end of transcript ---");
    }
    if crate::oauth::flags::rotation_failed() && status == ExitCode::SUCCESS {
        return ExitCode::from(crate::exit::INVALID_INPUT);
    }
    status
}

/// Why the message could not even be built.
enum ComposeFailure {
    Library(mailport::Error),
    Cli(Refusal),
}

impl ComposeFailure {
    fn report(self) -> ExitCode {
        match self {
            ComposeFailure::Library(error) => crate::shared::report_error(&error),
            ComposeFailure::Cli(refusal) => {
                refusal.print();
                refusal.status
            }
        }
    }
}

impl From<mailport::Error> for ComposeFailure {
    fn from(error: mailport::Error) -> ComposeFailure {
        ComposeFailure::Library(error)
    }
}

impl From<Refusal> for ComposeFailure {
    fn from(refusal: Refusal) -> ComposeFailure {
        ComposeFailure::Cli(refusal)
    }
}

fn compose(args: &SendArgs) -> Result<Message, ComposeFailure> {
    let mut message = Message::new();
    message.set_from(&args.from)?;
    for to in &args.to {
        message.add_to(to)?;
    }
    for cc in &args.cc {
        message.add_cc(cc)?;
    }
    for bcc in &args.bcc {
        message.add_bcc(bcc)?;
    }
    if let Some(subject) = &args.subject {
        message.set_subject(subject)?;
    }
    for header in &args.header {
        let Some((name, value)) = header.split_once(':') else {
            return Err(Refusal::input(
                format!("--header {header:?}: expected 'Name: value'"),
                "Write the header name, a colon, then the value: --header 'X-Campaign: spring'.",
            )
            .into());
        };
        message.add_header(name.trim(), value.trim())?;
    }
    if let Some(path) = &args.html_file {
        message.set_html(&read_text(path, "--html-file")?)?;
    }
    for path in &args.attach {
        message.attach_file(path, None, None)?;
    }
    match args.text_file.as_deref() {
        // Read by `run`, after the password prompt.
        Some("-") | None => {}
        Some(path) => {
            message.set_text(&read_text(Path::new(path), "--text-file")?)?;
        }
    }
    Ok(message)
}

fn text_from_stdin(message: &mut Message) -> Result<(), ComposeFailure> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
        Refusal::input(
            format!("--text-file -: reading standard input failed: {e}"),
            "",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Refusal::input(
            "--text-file -: standard input is not UTF-8 text",
            "Convert it first (e.g. iconv -t UTF-8), or send it as an attachment with --attach.",
        )
    })?;
    message.set_text(&text)?;
    Ok(())
}

fn read_text(path: &Path, flag: &str) -> Result<String, Refusal> {
    let bytes = std::fs::read(path).map_err(|e| {
        Refusal::input(
            format!("{flag} {}: cannot read it ({e})", path.display()),
            "",
        )
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Refusal::input(
            format!("{flag} {}: the file is not UTF-8 text", path.display()),
            "Convert it first (e.g. iconv -t UTF-8), or send it as an attachment with --attach.",
        )
    })
}

/// Send, with a progress bar on a terminal for large messages.
fn send_with_progress(client: &mut Client, message: &Message) -> mailport::Result<Receipt> {
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let result = client.send_message_with_progress(message, &mut |sent, total| {
        if !terminal || total < PROGRESS_MIN_BYTES {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "sending [{wide_bar}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        bar.set_position(sent);
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// `250 2.0.0 Ok: queued as X  (port 587, STARTTLS, TLSv1.3, Message-ID <..>)`.
fn describe(receipt: &Receipt) -> String {
    let mut details = vec![format!("port {}", receipt.port)];
    details.push(
        match (receipt.security, &receipt.tls) {
            (Security::Tls, _) => "implicit TLS",
            (Security::None, _) => "no encryption",
            (_, Some(_)) => "STARTTLS",
            (_, None) => "no encryption (STARTTLS not offered)",
        }
        .to_string(),
    );
    if let Some(tls) = &receipt.tls {
        details.push(tls.version.clone());
    }
    if let Some(id) = &receipt.message_id {
        details.push(format!("Message-ID {id}"));
    }
    format!("{}  ({})", receipt.reply.one_line(), details.join(", "))
}
