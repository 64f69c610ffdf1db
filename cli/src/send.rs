//! `mailport send`: compose a message from the command line and submit it, saying precisely
//! what went wrong when it fails (and exiting with the failing phase's status).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mailport::config::PORT_AUTO;
use mailport::{Client, Config, Message, Receipt, Security, Timeouts};

use crate::shared::{LoginArgs, Refusal, SecurityArg, parse_seconds, parse_server};

/// Messages at least this large get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 1024 * 1024;

#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
#[command(group(clap::ArgGroup::new("recipients").args(["to", "cc", "bcc"]).required(true).multiple(true)))]
pub struct SendArgs {
    /// The server, with an optional port: smtp.example.com, smtp.example.com:465, [::1]:2525.
    /// Without a port (or with :auto) the first of 587, 465 and 2525 that works is used.
    #[arg(long, value_name = "HOST[:PORT]", value_parser = parse_server)]
    server: (String, u16),
    /// How to secure the connection (auto: implicit TLS on 465, STARTTLS required elsewhere,
    /// opportunistic on 25).
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
    security: SecurityArg,
    #[command(flatten)]
    login: LoginArgs,
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
    /// Give up after this many seconds in all (connecting included); connecting waits at most
    /// 10 s and each reply 60 s, or SECONDS when less. Default: 300.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<Duration>,
    /// Print the session transcript (passwords and message content left out) to standard error
    /// after the attempt, whether it succeeded or not.
    #[arg(long)]
    transcript: bool,
    /// Let the automatic port choice fall back to port 25 (meant for server-to-server relay).
    #[arg(long)]
    allow_relay: bool,
}

pub fn run(args: SendArgs) -> ExitCode {
    let mut message = match compose(&args) {
        Ok(message) => message,
        Err(failure) => return failure.report(),
    };
    let credentials = match args.login.credentials() {
        Ok(credentials) => credentials,
        Err(refusal) => {
            refusal.print();
            return refusal.status;
        }
    };
    // Standard input is read last: the password prompt (on the terminal) comes first.
    if args.text_file.as_deref() == Some("-") {
        if let Err(failure) = text_from_stdin(&mut message) {
            return failure.report();
        }
    }
    let mut config = config(&args);
    config.credentials = credentials;
    let mut client = match Client::new(config) {
        Ok(client) => client,
        Err(error) => {
            let status = crate::shared::report_error(&error);
            if args.server.1 == PORT_AUTO
                && matches!(
                    args.security,
                    SecurityArg::None | SecurityArg::Opportunistic
                )
            {
                eprintln!(
                    "(--security {} needs a port: --server HOST:PORT)",
                    Security::from(args.security).as_str()
                );
            }
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

fn config(args: &SendArgs) -> Config {
    let (host, port) = &args.server;
    let mut config = Config::new(host.clone());
    config.port = *port;
    config.security = args.security.into();
    config.helo_name = args.login.helo.clone();
    config.tls.ca_files = args.login.ca_files.clone();
    config.allow_relay = args.allow_relay;
    if let Some(total) = args.timeout {
        config.timeouts = timeouts(total);
    }
    config
}

/// The limits for an attempt that must end within `total`: each wait keeps its default unless
/// that is longer than the whole.
fn timeouts(total: Duration) -> Timeouts {
    let default = Timeouts::default();
    Timeouts {
        connect: default.connect.min(total),
        command: default.command.min(total),
        data_end: default.data_end.min(total),
        send_total: total,
    }
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
