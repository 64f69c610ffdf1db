//! What `send`, `check` and `outbox run` share: the server and timeout syntax, the connection
//! options, how the password is obtained, and how a failure is told.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use mailport::config::PORT_AUTO;
use mailport::{Config, Credentials, Error, Secret, Security, Timeouts};

/// `--security`: the five modes of [`Security`], by their library names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SecurityArg {
    /// By port: 465 implicit TLS, 25 opportunistic, anything else STARTTLS required.
    Auto,
    /// STARTTLS required: abort when the server does not offer it.
    Starttls,
    /// Implicit TLS from the first byte (port 465, "SMTPS").
    Tls,
    /// STARTTLS when offered, plaintext otherwise (relay on port 25); never a password in clear.
    Opportunistic,
    /// No encryption at all.
    None,
}

impl From<SecurityArg> for Security {
    fn from(arg: SecurityArg) -> Security {
        match arg {
            SecurityArg::Auto => Security::Auto,
            SecurityArg::Starttls => Security::StartTls,
            SecurityArg::Tls => Security::Tls,
            SecurityArg::Opportunistic => Security::Opportunistic,
            SecurityArg::None => Security::None,
        }
    }
}

/// Login and trust options, the same for `send` and `check`.
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// Log in as NAME (AUTH). The password comes from --password-env, or is asked for on the
    /// terminal without echo; it is never taken as an argument.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from the environment variable VAR (e.g. SMTP_PASSWORD).
    #[arg(long, value_name = "VAR", requires = "user")]
    pub password_env: Option<String>,
    /// Also trust the certificates in this PEM file (a private CA); repeatable. Mozilla's roots
    /// and the system's stay trusted. It applies to the OAuth token endpoint too.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
    #[command(flatten)]
    pub oauth: crate::oauth::flags::OAuthArgs,
    /// The name to announce in EHLO (default: this machine's host name).
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
}

/// How to reach a server: the same for `send` and `outbox run` (whose `--server` is required;
/// `send` needs it unless it puts the message in an outbox).
#[derive(clap::Args, Debug)]
pub struct ConnectionArgs {
    /// The server, with an optional port: smtp.example.com, smtp.example.com:465, [::1]:2525.
    /// Without a port (or with :auto) the first of 587, 465 and 2525 that works is used.
    #[arg(long, value_name = "HOST[:PORT]", value_parser = parse_server)]
    pub server: Option<(String, u16)>,
    /// How to secure the connection (auto: implicit TLS on 465, STARTTLS required elsewhere,
    /// opportunistic on 25).
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
    pub security: SecurityArg,
    #[command(flatten)]
    pub login: LoginArgs,
    /// Give up after this many seconds in all (connecting included); connecting waits at most
    /// 10 s and each reply 60 s, or SECONDS when less. Default: 300.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Let the automatic port choice fall back to port 25 (meant for server-to-server relay).
    #[arg(long)]
    pub allow_relay: bool,
}

impl ConnectionArgs {
    /// The settings for `--server` (without credentials: see [`LoginArgs::credentials`]), or
    /// `None` when no server was given.
    pub fn config(&self) -> Option<Config> {
        let (host, port) = self.server.as_ref()?;
        let mut config = Config::new(host.clone());
        config.port = *port;
        config.security = self.security.into();
        self.apply_common(&mut config);
        Some(config)
    }

    /// The options that apply to every connection: trust, EHLO name, timeouts, relay, and the
    /// command line's names for settings in hints.
    pub fn apply_common(&self, config: &mut Config) {
        config.api = mailport::Api::Cli;
        config.helo_name = self.login.helo.clone();
        config.tls.ca_files = self.login.ca_files.clone();
        config.allow_relay = self.allow_relay;
        config.timeouts = timeouts(self.timeout.unwrap_or(COMMAND_LINE_TIMEOUTS.send_total));
    }

    /// After a failure to set up the connection: a note when the security mode needs a port.
    pub fn explain_port_needed(&self) {
        if self.server.as_ref().is_some_and(|s| s.1 == PORT_AUTO)
            && matches!(
                self.security,
                SecurityArg::None | SecurityArg::Opportunistic
            )
        {
            eprintln!(
                "(--security {} needs a port: --server HOST:PORT)",
                Security::from(self.security).as_str()
            );
        }
    }
}

/// The command line's limits. The library's defaults end a send within 45 s, for web
/// requests; someone at a terminal (or a cron job) can wait for a slow server or a large
/// attachment on a slow line, as RFC 5321 §4.5.3.2 expects of a client.
const COMMAND_LINE_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(10),
    command: Duration::from_secs(60),
    data_end: Duration::from_secs(120),
    send_total: Duration::from_secs(300),
};

/// The limits for an attempt that must end within `total`: each wait keeps the command line's
/// limit unless that is longer than the whole.
fn timeouts(total: Duration) -> Timeouts {
    let default = COMMAND_LINE_TIMEOUTS;
    Timeouts {
        connect: default.connect.min(total),
        command: default.command.min(total),
        data_end: default.data_end.min(total),
        send_total: total,
    }
}

/// A failure found by the command line itself, with its exit status.
pub struct Refusal {
    pub message: String,
    pub hint: String,
    pub status: ExitCode,
}

impl Refusal {
    /// Invalid input (status 3).
    pub fn input(message: impl Into<String>, hint: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            hint: hint.into(),
            status: ExitCode::from(crate::exit::INVALID_INPUT),
        }
    }

    /// Options that do not go together, or one that needs another (status 2, like clap's).
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            hint: hint.into(),
            status: ExitCode::from(crate::exit::USAGE),
        }
    }

    pub fn print(&self) {
        eprintln!("error: {}", self.message);
        if !self.hint.is_empty() {
            eprintln!("hint: {}", self.hint);
        }
    }
}

impl LoginArgs {
    /// The credentials and the SASL mechanism to use, asking for the password when needed.
    pub fn apply(&self, config: &mut Config) -> Result<(), Refusal> {
        config.auth_mechanism = self.oauth.mechanism()?;
        config.credentials = self.credentials()?;
        Ok(())
    }

    /// The credentials to use: OAuth when its options are given, else a password (asked for
    /// on the terminal when --password-env is not given).
    fn credentials(&self) -> Result<Option<Credentials>, Refusal> {
        let Some(user) = &self.user else {
            return Ok(None);
        };
        if let Some(credentials) = self.oauth.credentials(user)? {
            return Ok(Some(credentials));
        }
        let password = match &self.password_env {
            Some(var) => password_from_env(
                var,
                &format!("--password-env {var}"),
                &format!(
                    "Set it first (export {var}=...), or leave out --password-env to be asked for the password on the terminal."
                ),
            )?,
            None => prompt_password(user)?,
        };
        Ok(Some(Credentials::Password {
            username: user.clone(),
            password,
        }))
    }
}

/// The password in the environment variable `var`; `label` starts each message (what asked
/// for it) and `if_unset` is the hint when the variable is not set.
pub fn password_from_env(var: &str, label: &str, if_unset: &str) -> Result<Secret, Refusal> {
    match std::env::var(var) {
        Ok(value) if value.is_empty() => Err(Refusal::input(
            format!("{label}: the environment variable {var} is empty"),
            format!("Put the password in {var} (e.g. export {var}=...) before running mailport."),
        )),
        Ok(value) => Ok(Secret::new(value)),
        Err(std::env::VarError::NotPresent) => Err(Refusal::input(
            format!("{label}: the environment variable {var} is not set"),
            if_unset,
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(Refusal::input(
            format!("{label}: the value of {var} is not valid UTF-8"),
            "",
        )),
    }
}

fn prompt_password(user: &str) -> Result<Secret, Refusal> {
    if !std::io::stdin().is_terminal() {
        return Err(Refusal::input(
            format!("--user {user} needs a password, and there is no terminal to ask for it on"),
            "Put the password in an environment variable and name it with --password-env VAR (e.g. --password-env SMTP_PASSWORD).",
        ));
    }
    match rpassword::prompt_password(format!("Password for {user}: ")) {
        Ok(password) => Ok(Secret::new(password)),
        Err(e) => Err(Refusal::input(
            format!("could not read the password from the terminal: {e}"),
            "Use --password-env VAR instead.",
        )),
    }
}

/// `--server HOST[:PORT]`: a host name or IP address (IPv6 in brackets when a port follows),
/// and a port number or `auto` ([`PORT_AUTO`], the default).
pub fn parse_server(text: &str) -> Result<(String, u16), String> {
    let text = text.trim();
    if text.contains("://") {
        return Err("give HOST or HOST:PORT (e.g. smtp.example.com:587), not a URL".into());
    }
    let parse_port = |p: &str| -> Result<u16, String> {
        if p.eq_ignore_ascii_case("auto") {
            return Ok(PORT_AUTO);
        }
        p.parse::<u16>()
            .ok()
            .filter(|&n| n != 0)
            .ok_or_else(|| format!("{p:?} is not a port (1-65535, or auto)"))
    };
    let (host, port) = if let Some(inner) = text.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or("missing ']' after the IPv6 address")?;
        match after {
            "" => (host, PORT_AUTO),
            _ => match after.strip_prefix(':') {
                Some(p) => (host, parse_port(p)?),
                None => return Err(format!("unexpected {after:?} after the IPv6 address")),
            },
        }
    } else if text.matches(':').count() > 1 {
        // A bare IPv6 address: a port needs the brackets.
        (text, PORT_AUTO)
    } else {
        match text.split_once(':') {
            Some((host, p)) => (host, parse_port(p)?),
            None => (text, PORT_AUTO),
        }
    };
    if host.is_empty() {
        return Err("the host name is empty".into());
    }
    Ok((host.to_string(), port))
}

/// `--timeout SECONDS`: a positive number of seconds, fractions allowed.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{text:?}: give more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Print a library error: what went wrong, the server's reply, the addresses concerned, and
/// what to do. Returns the exit status for its phase.
pub fn report_error(error: &Error) -> ExitCode {
    eprintln!("error: {}", error.message());
    if let Some(reply) = error.reply() {
        eprintln!("server said: {}", reply.one_line());
    }
    let rejected = error.rejected_recipients();
    if !rejected.is_empty() {
        eprintln!("rejected recipients:");
        for r in rejected {
            eprintln!("  {}: {}", r.address, r.reply.one_line());
        }
    }
    let invalid = error.invalid_addresses();
    if !invalid.is_empty() {
        eprintln!("invalid addresses:");
        for a in invalid {
            eprintln!("  {} {:?}: {}", a.field, a.input, a.reason);
        }
    }
    if !error.hint().is_empty() {
        eprintln!("hint: {}", error.hint());
    }
    // Only the server's own word (a 4xx reply) makes a failure temporary here: a refused or
    // filtered port rarely fixes itself.
    let server_replied = error.reply().is_some() || !rejected.is_empty();
    if server_replied && error.is_transient() {
        eprintln!("The server called this a temporary failure: trying again later may succeed.");
    }
    crate::exit::for_kind(error.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        assert_eq!(
            parse_server("smtp.example.com").unwrap(),
            ("smtp.example.com".into(), PORT_AUTO)
        );
        assert_eq!(
            parse_server("smtp.example.com:587").unwrap(),
            ("smtp.example.com".into(), 587)
        );
        assert_eq!(
            parse_server("smtp.example.com:auto").unwrap(),
            ("smtp.example.com".into(), PORT_AUTO)
        );
        assert_eq!(parse_server("[::1]:2525").unwrap(), ("::1".into(), 2525));
        assert_eq!(parse_server("[::1]").unwrap(), ("::1".into(), PORT_AUTO));
        assert_eq!(parse_server("::1").unwrap(), ("::1".into(), PORT_AUTO));
        assert!(parse_server("host:0").is_err());
        assert!(parse_server("host:70000").is_err());
        assert!(parse_server("host:").is_err());
        assert!(parse_server(":25").is_err());
        assert!(parse_server("[::1").is_err());
        assert!(parse_server("[::1]x").is_err());
        assert!(parse_server("smtp://host").is_err());
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_seconds("30").unwrap(), Duration::from_secs(30));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("x").is_err());
    }
}
