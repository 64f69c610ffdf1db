//! `mailport check HOST`: probe a server's mail ports and say which one to use, and why the
//! others do not work. Exits 0 when some port works, 11 when none does.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use mailport::Config;
use mailport::config::PORT_AUTO;
use mailport::diagnose::probe::{ProbeOptions, probe};
use mailport::diagnose::report::{
    Attempt, Outcome, PortReport, PortVerdict, Report, Severity, Speaks, TcpStatus,
};

use crate::shared::{LoginArgs, Refusal, parse_seconds, parse_server};
use crate::table::{Cell, Colour, colours_wanted, paint, wrap};

/// The ports checked when none are given, most preferred first.
const DEFAULT_PORTS: [u16; 4] = [587, 465, 2525, 25];

/// Findings' hints: indented under their message, wrapped to stay readable.
const HINT_INDENT: &str = "           ";
const HINT_WIDTH: usize = 88;

#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
pub struct CheckArgs {
    /// The server to check: smtp.example.com, an IP address, or HOST:PORT to check one port.
    #[arg(value_name = "HOST")]
    host: String,
    /// The ports to check, most preferred first [default: 587,465,2525,25].
    #[arg(long, value_name = "PORT,...", value_delimiter = ',', value_parser = parse_port)]
    ports: Vec<u16>,
    #[command(flatten)]
    login: LoginArgs,
    /// Print the report as JSON (schema 1, see docs/report-schema.md) and nothing else.
    #[arg(long)]
    json: bool,
    /// Finish the whole check within this many seconds; a port still busy then is reported as
    /// timed out.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "30")]
    timeout: Duration,
    /// Let port 25 be recommended (it is meant for server-to-server relay).
    #[arg(long)]
    allow_relay: bool,
    /// With --to: ask whether the server would accept this sender (MAIL FROM, then RSET;
    /// nothing is sent).
    #[arg(long, value_name = "ADDR", requires = "to")]
    from: Option<String>,
    /// With --from: ask whether the server would accept this recipient (RCPT TO).
    #[arg(long, value_name = "ADDR", requires = "from")]
    to: Option<String>,
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("{text:?} is not a port (1-65535)"))
}

pub fn run(args: CheckArgs) -> ExitCode {
    let (host, ports) = match target(&args) {
        Ok(target) => target,
        Err(refusal) => {
            refusal.print();
            return refusal.status;
        }
    };
    let mut config = Config::new(host);
    config.api = mailport::Api::Cli;
    if let Err(refusal) = args.login.apply(&mut config) {
        refusal.print();
        return refusal.status;
    }
    config.helo_name = args.login.helo.clone();
    config.tls.ca_files = args.login.ca_files.clone();
    config.allow_relay = args.allow_relay;
    let mut options = ProbeOptions::with_ports(&ports);
    options.deadline = args.timeout;
    options.greeting_wait = options.greeting_wait.min(args.timeout / 3);
    options.allow_relay = args.allow_relay;
    options.envelope = args.from.clone().zip(args.to.clone());
    let report = match probe(&config, &options) {
        Ok(report) => report,
        Err(error) => return crate::shared::report_error(&error),
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", render(&report));
    }
    let refresh_failed = report
        .findings
        .iter()
        .any(|f| f.code == "oauth_refresh_failed");
    if crate::oauth::flags::rotation_failed() {
        ExitCode::from(crate::exit::INVALID_INPUT)
    } else if refresh_failed {
        // A refresh token that stopped working fails the check even when the ports work: this
        // is what a scheduled check of a quiet site is for.
        ExitCode::from(crate::exit::OAUTH_REFRESH_FAILED)
    } else if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::exit::NO_PORT_WORKS)
    }
}

/// The host to check and its ports: `HOST:PORT` checks that one port.
fn target(args: &CheckArgs) -> Result<(String, Vec<u16>), Refusal> {
    let (host, port) = parse_server(&args.host).map_err(|why| {
        Refusal::input(
            format!("{:?}: {why}", args.host),
            "Give the server's host name, e.g. mailport check smtp.example.com",
        )
    })?;
    let ports = match (port, args.ports.is_empty()) {
        (PORT_AUTO, true) => DEFAULT_PORTS.to_vec(),
        (PORT_AUTO, false) => args.ports.clone(),
        (port, true) => vec![port],
        (port, false) => {
            return Err(Refusal::input(
                format!("{} names port {port}, and --ports names others", args.host),
                "Give the ports either after the host or with --ports, not both.",
            ));
        }
    };
    Ok((host, ports))
}

/// The report for people: a table with one row per port, the findings with their hints, and the
/// recommendation. Coloured only when standard output is a terminal.
pub fn render(report: &Report) -> String {
    render_with(report, colours_wanted(std::io::stdout().is_terminal()))
}

fn render_with(report: &Report, colour: bool) -> String {
    let mut out = String::new();
    if report.dns.error.is_none() {
        out += &format!(
            "{} ({}), checked in {:.1} s\n\n",
            report.host,
            report.dns.addresses.join(", "),
            report.elapsed_ms as f64 / 1000.0
        );
    }
    if !report.ports.is_empty() {
        let rows: Vec<Vec<Cell>> = report.ports.iter().map(row).collect();
        out += &crate::table::render(
            &[
                "PORT",
                "REACHABLE",
                "SPEAKS",
                "TLS",
                "CERTIFICATE",
                "AUTH",
                "VERDICT",
            ],
            &rows,
            colour,
        );
    }
    if !report.findings.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out += "Findings:\n";
        for finding in &report.findings {
            let (label, c) = match finding.severity {
                Severity::Error => ("error", Some(Colour::Red)),
                Severity::Warning => ("warning", Some(Colour::Yellow)),
                Severity::Info => ("info", None),
            };
            let pad = " ".repeat("warning".len() - label.len());
            out += &format!("  {}{pad}  {}\n", paint(label, c, colour), finding.message);
            for line in wrap(&finding.hint, HINT_WIDTH) {
                out += &format!("{HINT_INDENT}{line}\n");
            }
        }
    }
    out.push('\n');
    match &report.recommendation {
        Some(r) => {
            let mode = if r.security == "tls" {
                "implicit TLS"
            } else {
                "STARTTLS"
            };
            let line = format!("Use port {} ({mode}): {}.", r.port, r.reason);
            out += &paint(&line, Some(Colour::Green), colour);
        }
        None if report.dns.error.is_some() => {
            // The finding above says why and what to do.
            out += &paint("Nothing could be checked.", Some(Colour::Red), colour);
        }
        None => {
            // The summary ends with what to do when nothing works.
            let last = report.summary.lines().last().unwrap_or("No port works.");
            out += &paint(last, Some(Colour::Red), colour);
        }
    }
    out.push('\n');
    out
}

fn row(port: &PortReport) -> Vec<Cell> {
    let verdict = match port.verdict {
        PortVerdict::Works => Cell::coloured("works", Some(Colour::Green)),
        PortVerdict::Broken => Cell::coloured("broken", Some(Colour::Yellow)),
        PortVerdict::Unreachable => Cell::coloured("unreachable", Some(Colour::Red)),
    };
    let Some(a) = shown_attempt(port) else {
        return vec![
            Cell::new(port.port.to_string()),
            Cell::new("not checked"),
            Cell::new("-"),
            Cell::new("-"),
            Cell::new("-"),
            Cell::new("-"),
            verdict,
        ];
    };
    vec![
        Cell::new(port.port.to_string()),
        Cell::new(reachable(a)),
        Cell::new(speaks(a)),
        Cell::new(tls(a)),
        Cell::new(certificate(a)),
        Cell::new(auth(a)),
        verdict,
    ]
}

/// The attempt a port's row shows: one that works, else the one that got furthest.
fn shown_attempt(port: &PortReport) -> Option<&Attempt> {
    port.attempts.iter().max_by_key(|a| {
        (
            a.failure.is_none() && a.tcp.status == TcpStatus::Open,
            a.tls.is_some(),
            a.greeting.is_some(),
            a.speaks.is_some(),
            a.tcp.status == TcpStatus::Open,
        )
    })
}

fn reachable(a: &Attempt) -> String {
    match a.tcp.status {
        TcpStatus::Open => format!("open {} ms", a.tcp.elapsed_ms),
        TcpStatus::Refused => "refused".into(),
        TcpStatus::Timeout => "timed out".into(),
        TcpStatus::Unreachable => "unreachable".into(),
        TcpStatus::Error => "error".into(),
        TcpStatus::Skipped => "not tried".into(),
    }
}

fn speaks(a: &Attempt) -> String {
    match a.speaks {
        Some(Speaks::PlaintextSmtp) => "SMTP",
        Some(Speaks::ImplicitTls) => "implicit TLS",
        Some(Speaks::Closed) => "closes at once",
        Some(Speaks::Silent) => "nothing",
        Some(Speaks::NotSmtp) => "not SMTP",
        None => "-",
    }
    .into()
}

fn tls(a: &Attempt) -> String {
    if let Some(t) = &a.tls {
        let verification = t.verification.replace('_', " ");
        return if t.version.is_empty() {
            verification
        } else {
            format!("{} {verification}", t.version)
        };
    }
    if let Some(starttls) = &a.starttls {
        return match starttls.outcome {
            Outcome::NotOffered => "no STARTTLS".into(),
            Outcome::Failed => "STARTTLS failed".into(),
            _ => "-".into(),
        };
    }
    if a.speaks == Some(Speaks::ImplicitTls) {
        return "handshake failed".into();
    }
    "-".into()
}

fn certificate(a: &Attempt) -> String {
    let Some(leaf) = a.tls.as_ref().and_then(|t| t.certificates.first()) else {
        return "-".into();
    };
    let common_name = leaf
        .subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="));
    let name = common_name
        .or(leaf.names.first().map(String::as_str))
        .unwrap_or(&leaf.subject);
    let until = leaf.not_after.get(..10).unwrap_or(&leaf.not_after);
    format!("{name} until {until}")
}

fn auth(a: &Attempt) -> String {
    if let Some(step) = &a.auth {
        return match step.outcome {
            Outcome::Ok => "ok",
            Outcome::Failed => "refused",
            Outcome::Skipped => "not tried",
            Outcome::NotOffered => "not offered",
        }
        .into();
    }
    if let Some(caps) = &a.capabilities_after_tls {
        return if caps.auth.is_empty() {
            "none".into()
        } else {
            caps.auth.join(" ")
        };
    }
    if let Some(caps) = &a.capabilities_before_tls {
        return if caps.auth.is_empty() {
            "none".into()
        } else {
            format!("{} (no TLS)", caps.auth.join(" "))
        };
    }
    "-".into()
}
