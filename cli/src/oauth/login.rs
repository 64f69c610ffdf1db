//! `mailport oauth login`: the terminal side of a first login. The protocol (device grant,
//! PKCE, `state`, polling) is the library's `mailport::oauth::login`; this file tells the user
//! what to do, listens on 127.0.0.1 for the loopback redirect, and keeps the refresh token.

use std::io::{IsTerminal, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use mailport::oauth::login::{AuthorizationRequest, Flow, Login, Redirect, Tokens};
use mailport::{Api, Provider, Secret};

use super::flags::ProviderArg;
use super::token_file;
use crate::shared::{Refusal, parse_seconds, password_from_env};

/// A request to the loopback listener larger than this is not a browser's redirect.
const MAX_REQUEST: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FlowArg {
    /// Device authorization (RFC 8628): type a code on the provider's page, in any browser on
    /// any device. Microsoft's default.
    Device,
    /// Loopback redirect with PKCE (RFC 8252): a browser on this machine comes back to
    /// http://127.0.0.1. Google's default (its device flow does not allow Gmail).
    Loopback,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("destination").args(["output", "print"]).required(true)))]
#[command(after_help = AFTER_HELP)]
pub struct LoginArgs {
    /// Whose accounts: microsoft (Microsoft 365, Outlook.com), google (Gmail, Workspace), or
    /// custom (give its endpoints' URLs).
    #[arg(long, value_enum, value_name = "PROVIDER")]
    provider: ProviderArg,
    /// The application (client) id of your app registration.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// Read the app registration's client secret from the environment variable VAR (Google's
    /// "Desktop app" clients have one; leave it out for a public client).
    #[arg(long, value_name = "VAR")]
    client_secret_env: Option<String>,
    /// Microsoft's tenant: the directory id or a domain of it, or common, organizations,
    /// consumers [default: common].
    #[arg(long, value_name = "ID")]
    tenant: Option<String>,
    /// The scope to ask for [default: the provider's SMTP scope, with openid email to learn
    /// the account's name].
    #[arg(long, value_name = "SCOPE")]
    scope: Option<String>,
    /// The token endpoint (required for custom; overrides the preset).
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,
    /// The device authorization endpoint (overrides the preset; for custom, it selects the
    /// device flow).
    #[arg(long, value_name = "URL")]
    device_authorization_url: Option<String>,
    /// The authorization endpoint of the loopback flow (overrides the preset).
    #[arg(long, value_name = "URL")]
    authorization_url: Option<String>,
    /// Which flow to run [default: device for microsoft, loopback for google; for custom,
    /// device when --device-authorization-url is given].
    #[arg(long, value_enum, value_name = "FLOW")]
    flow: Option<FlowArg>,
    /// Also trust the certificates in this PEM file (a private CA) for the endpoints;
    /// repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_files: Vec<PathBuf>,
    /// The account to sign in with, suggested on the provider's page (login_hint).
    #[arg(long, value_name = "ADDR")]
    user: Option<String>,
    /// Write the refresh token into FILE (created or replaced, mode 0600).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the refresh token on standard output (and nothing else there).
    #[arg(long)]
    print: bool,
    /// Give up when the sign-in is not finished within this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "900")]
    timeout: Duration,
    /// Do not try to open a browser for the loopback flow (the page's address is printed
    /// either way).
    #[arg(long)]
    no_browser: bool,
}

const AFTER_HELP: &str = "\
The refresh token is as good as a password for sending as the account: keep the file
private. Then send with:
  mailport send --server smtp.office365.com:587 --user you@example.com \\
    --oauth-provider microsoft --oauth-client-id ID --oauth-refresh-token-file FILE ...
Exit status: 0 signed in; 2 usage; 3 invalid input (a file, an empty variable);
4 the provider could not be reached; 6 the sign-in was refused, expired or not finished.";

pub fn run(args: LoginArgs) -> ExitCode {
    match login(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Cli(refusal)) => {
            refusal.print();
            refusal.status
        }
        Err(Failure::Library(error)) => crate::shared::report_error(&error),
    }
}

enum Failure {
    Cli(Refusal),
    Library(mailport::Error),
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        Failure::Cli(refusal)
    }
}

impl From<mailport::Error> for Failure {
    fn from(error: mailport::Error) -> Failure {
        Failure::Library(error)
    }
}

fn login(args: &LoginArgs) -> Result<(), Failure> {
    let settings = settings(args)?;
    if let Some(path) = &args.output {
        check_output(path)?;
    }
    let flow = match args.flow {
        Some(FlowArg::Device) => Flow::Device,
        Some(FlowArg::Loopback) => Flow::Loopback,
        None => settings.default_flow()?,
    };
    let deadline = Instant::now() + args.timeout;
    let tokens = match flow {
        Flow::Device => device(&settings, deadline)?,
        Flow::Loopback => loopback(&settings, deadline, !args.no_browser)?,
    };
    let Some(refresh) = &tokens.refresh_token else {
        return Err(no_refresh_token(args.provider).into());
    };
    match &args.output {
        Some(path) => token_file::write(path, refresh.expose()).map_err(|e| {
            Refusal::input(
                format!(
                    "--output {}: the refresh token could not be written ({e})",
                    path.display()
                ),
                "Give a file in a directory you can write to, then sign in again.",
            )
        })?,
        None => {
            let mut out = std::io::stdout().lock();
            let printed = writeln!(out, "{}", refresh.expose()).and_then(|()| out.flush());
            if let Err(e) = printed {
                return Err(Refusal::input(
                    format!("--print: standard output could not be written ({e})"),
                    "",
                )
                .into());
            }
        }
    }
    eprint!("{}", next_steps(args, &tokens));
    Ok(())
}

/// The library's login settings from the flags.
fn settings(args: &LoginArgs) -> Result<Login, Refusal> {
    if args.tenant.is_some() && args.provider != ProviderArg::Microsoft {
        return Err(Refusal::usage(
            format!(
                "--tenant is Microsoft's setting, not {}'s",
                args.provider.as_str()
            ),
            "Leave out --tenant, or use --provider microsoft.",
        ));
    }
    if args.provider == ProviderArg::Custom && args.token_url.is_none() {
        return Err(Refusal::usage(
            "--provider custom needs --token-url URL (the provider's token endpoint)",
            "Give the token endpoint, and --device-authorization-url or --authorization-url for the flow.",
        ));
    }
    let mut login = Login::new(args.provider.into(), args.client_id.trim());
    login.api = Api::Cli;
    login.tenant = args.tenant.clone();
    login.scope = args.scope.clone();
    login.token_url = args.token_url.clone();
    login.device_authorization_url = args.device_authorization_url.clone();
    login.authorization_url = args.authorization_url.clone();
    login.login_hint = args.user.clone();
    login.tls.ca_files = args.ca_files.clone();
    if let Some(var) = &args.client_secret_env {
        login.client_secret = Some(password_from_env(
            var,
            &format!("--client-secret-env {var}"),
            &format!(
                "Put the client secret in it first (export {var}=...), or leave out --client-secret-env for a public client."
            ),
        )?);
    }
    login.validate().map_err(|e| {
        Refusal::input(
            e.message(),
            "Copy the values from the app registration (Microsoft Entra admin center, or Google Cloud console > Credentials).",
        )
    })?;
    Ok(login)
}

/// Refuse an output path the token could not be written to before the user signs in for
/// nothing: a symbolic link, a directory, or a missing directory.
fn check_output(path: &Path) -> Result<(), Refusal> {
    let bad = |why: &str| {
        Refusal::input(
            format!("--output {}: {why}", path.display()),
            "Give the path of a regular file (it is created with mode 0600, or replaced).",
        )
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(bad(
                "it is a symbolic link, and a refresh token is not written through one",
            ));
        }
        if meta.is_dir() {
            return Err(bad("it is a directory"));
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad(&format!(
            "the directory {} does not exist",
            dir.display()
        )));
    }
    Ok(())
}

fn device(login: &Login, deadline: Instant) -> Result<Tokens, Failure> {
    let mut device = login.start_device()?;
    eprintln!(
        "To sign in at {}, open {} in a browser (on any device) and enter the code {}",
        login.provider.display_name(),
        device.verification_uri,
        device.user_code
    );
    if let Some(complete) = &device.verification_uri_complete {
        eprintln!("(or open {complete}, which has the code filled in)");
    }
    let left = device
        .expires_at
        .min(deadline)
        .saturating_duration_since(Instant::now());
    eprintln!(
        "Waiting for the sign-in (the code works for {})...",
        minutes(left)
    );
    Ok(login.wait_for_device(&mut device, Some(deadline))?)
}

fn minutes(d: Duration) -> String {
    let m = d.as_secs().div_ceil(60);
    if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

fn loopback(login: &Login, deadline: Instant, browser: bool) -> Result<Tokens, Failure> {
    // RFC 8252 §7.3 and §8.3: the loopback IP literal (not "localhost", which may resolve
    // elsewhere), on a port of the system's choosing.
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| {
        Refusal::input(
            format!("cannot listen on 127.0.0.1 for the browser's redirect: {e}"),
            "Use the device flow (--flow device) where the provider has one.",
        )
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| Refusal::input(format!("cannot read the listener's port: {e}"), ""))?
        .port();
    let request = login.authorization_request(&format!("http://127.0.0.1:{port}/"))?;
    eprintln!(
        "To sign in at {}, open this page in a browser on this machine:",
        login.provider.display_name()
    );
    eprintln!("  {}", request.url);
    if browser {
        open_browser(&request.url);
    }
    eprintln!("Waiting for the browser to come back to http://127.0.0.1:{port}/ ...");
    let code = wait_for_redirect(&listener, &request, deadline)?;
    Ok(login.exchange_code(&request, &code)?)
}

/// Hand the page to the desktop's browser, where there is a desktop; nothing depends on it.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return;
    };
    if !std::io::stderr().is_terminal() {
        return;
    }
    if let Ok(mut child) = Command::new(opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        std::thread::spawn(move || child.wait());
    }
}

/// Serve the listener until the browser brings the answer to `request`, or `deadline`.
fn wait_for_redirect(
    listener: &TcpListener,
    request: &AuthorizationRequest,
    deadline: Instant,
) -> Result<Secret, Failure> {
    listener
        .set_nonblocking(true)
        .map_err(|e| Refusal::input(format!("cannot wait for the redirect: {e}"), ""))?;
    let (heads, arrived) = std::sync::mpsc::channel::<(TcpStream, Option<String>)>();
    loop {
        if Instant::now() >= deadline {
            return Err(Refusal {
                message: "the browser did not come back with the sign-in before --timeout".into(),
                hint: "Open the page printed above in a browser on this machine and finish the sign-in, or give more time with --timeout SECONDS.".into(),
                status: crate::exit::for_kind(mailport::Kind::OAuthInvalidGrant),
            }
            .into());
        }
        // Requests are read on threads of their own: a browser opens speculative connections
        // that send nothing, and waiting on one must not hold up the redirect behind it.
        match listener.accept() {
            Ok((stream, _)) => {
                let heads = heads.clone();
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let target = read_request_target(&mut stream);
                    let _ = heads.send((stream, target));
                });
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                return Err(
                    Refusal::input(format!("the redirect listener failed: {e}"), "").into(),
                );
            }
        }
        match arrived.recv_timeout(Duration::from_millis(50)) {
            Ok((stream, target)) => {
                if let Some(code) = serve(stream, target, request)? {
                    return Ok(code);
                }
            }
            Err(_) => continue,
        }
    }
}

/// One browser request: the answer to ours (its code), an error answer, or something else.
fn serve(
    mut stream: TcpStream,
    target: Option<String>,
    request: &AuthorizationRequest,
) -> Result<Option<Secret>, Failure> {
    let Some(target) = target else {
        respond(
            &mut stream,
            "400 Bad Request",
            "This is not a request mailport understands.",
        );
        return Ok(None);
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if path != "/" {
        respond(&mut stream, "404 Not Found", "Nothing here.");
        return Ok(None);
    }
    match request.read_redirect(query) {
        Ok(Redirect::Code(code)) => {
            respond(
                &mut stream,
                "200 OK",
                "Signed in. You can close this page and go back to the terminal.",
            );
            Ok(Some(code))
        }
        Ok(Redirect::Unrelated) => {
            respond(
                &mut stream,
                "400 Bad Request",
                "This is not the answer to the sign-in mailport started; use the page it printed.",
            );
            Ok(None)
        }
        Err(error) => {
            respond(
                &mut stream,
                "200 OK",
                "The sign-in did not succeed. The terminal says why and what to do.",
            );
            Err(error.into())
        }
    }
}

/// The target of `GET /…?… HTTP/1.1`, once the request's head has arrived (within 10 s).
fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_REQUEST {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(head).ok()?;
    let mut words = text.lines().next()?.split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Some(target.to_string()),
        _ => None,
    }
}

fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mailport</title></head><body><p>{text}</p></body></html>"
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn no_refresh_token(provider: ProviderArg) -> Refusal {
    Refusal {
        message: "the sign-in succeeded, but the provider returned no refresh token".into(),
        hint: match provider {
            ProviderArg::Microsoft => {
                "Microsoft returns one only for the offline_access scope: leave out --scope, or include offline_access in it."
            }
            ProviderArg::Google => {
                "Google returns one only on consent with access_type=offline (mailport asks for it); remove the app's access at https://myaccount.google.com/permissions and sign in again."
            }
            ProviderArg::Custom => {
                "Ask for the scope that grants offline access at this provider (often offline_access) with --scope."
            }
        }
        .into(),
        status: crate::exit::for_kind(mailport::Kind::OAuthEndpoint),
    }
}

/// What to tell the user after the sign-in: who signed in, where the token is, and the
/// options that use it.
fn next_steps(args: &LoginArgs, tokens: &Tokens) -> String {
    let provider = Provider::from(args.provider);
    let account = tokens.account.clone().or_else(|| args.user.clone());
    let mut out = match &account {
        Some(account) => format!("Signed in at {} as {account}.\n", provider.display_name()),
        None => format!("Signed in at {}.\n", provider.display_name()),
    };
    let file = match &args.output {
        Some(path) => {
            out += &format!(
                "The refresh token is in {} (mode 0600); it is as good as a password for sending as this account.\n",
                path.display()
            );
            path.display().to_string()
        }
        None => {
            out += "The refresh token is on standard output; keep it in a file only you can read (chmod 600).\n";
            "FILE".into()
        }
    };
    let mut oauth = format!(
        "--user {} --oauth-provider {} --oauth-client-id {}",
        account.as_deref().unwrap_or("you@example.com"),
        args.provider.as_str(),
        args.client_id.trim()
    );
    if let Some(tenant) = &args.tenant {
        oauth += &format!(" --oauth-tenant {tenant}");
    }
    if let Some(url) = &args.token_url {
        oauth += &format!(" --oauth-token-url {url}");
    }
    if let Some(var) = &args.client_secret_env {
        oauth += &format!(" --oauth-client-secret-env {var}");
    }
    oauth += &format!(" --oauth-refresh-token-file {file}");
    let server = match args.provider {
        ProviderArg::Microsoft => "smtp.office365.com",
        ProviderArg::Google => "smtp.gmail.com",
        ProviderArg::Custom => "SERVER",
    };
    out += &format!(
        "Send with:\n  mailport send --server {server}:587 {oauth} --from ... --to ...\n\
         Test it without sending (it refreshes the token once):\n  mailport check {server} {oauth}\n"
    );
    out += match args.provider {
        ProviderArg::Microsoft => {
            "Microsoft retires a refresh token left unused for 90 days: a scheduled `mailport check` keeps it alive on a quiet site.\n"
        }
        ProviderArg::Google => {
            "Google retires a refresh token unused for 6 months, and after 7 days while the app's consent screen is in \"Testing\": publish the app for a lasting token.\n"
        }
        ProviderArg::Custom => "",
    };
    out
}
