//! `mailport outbox run`: deliver what is due, once or for as long as it is left running, with
//! a progress line while it works and a summary at the end.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use mailport::outbox::{Event, Outbox, Policy, RunOptions, RunSummary, State};
use mailport::{Config, Secret};

use super::Location;
use super::duration::parse_duration;
use super::print::{clean, connection_name};
use crate::exit::{INVALID_INPUT, USAGE};
use crate::shared::{ConnectionArgs, password_from_env, report_error};

/// Backup N (counted from 1, in the order of the `--backup` flags) logs in with the password in
/// the environment variable named this, followed by N.
pub const BACKUP_PASSWORD_PREFIX: &str = "MAILPORT_BACKUP_PASSWORD_";

/// With --watch: how long to wait between passes. A pass claims whatever is due by then, so an
/// entry's due time (or one enqueued by another process) is met within this.
const POLL: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
#[command(mut_arg("server", |arg| arg.required(true)))]
pub struct RunArgs {
    #[command(flatten)]
    location: Location,
    /// One pass over what is due, then exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep running: a pass, then another every 5 seconds (entries enqueued meanwhile and
    /// entries coming due are sent then), until SIGINT or SIGTERM; the entry being sent is
    /// finished first (the others it had claimed are handed back), then the summary is printed
    /// and the status is 0. A second signal stops at once (status 130).
    #[arg(long)]
    watch: bool,
    /// At most N entries per pass.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// The wait after an entry's first temporary failure; it doubles with each one after.
    /// Durations: 30s, 5m, 1h, 5d, or a number of seconds.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    min_backoff: Duration,
    /// The longest wait between two attempts of an entry.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    max_backoff: Duration,
    /// How long after it was queued an entry that keeps failing temporarily is given up (failed).
    #[arg(long, value_name = "DURATION", default_value = "5d", value_parser = parse_duration)]
    lifetime: Duration,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// A backup connection, tried at once when the primary (--server) fails for a reason a
    /// retry may cure; repeatable, tried in order. The URL is smtp://HOST[:PORT] (security
    /// auto, port 587), smtps:// (implicit TLS, 465), smtp+starttls:// or smtp+plain://; to log
    /// in write smtp://USER@HOST:PORT and put the password of the first --backup in
    /// MAILPORT_BACKUP_PASSWORD_1, of the second in MAILPORT_BACKUP_PASSWORD_2, and so on (a
    /// password in the URL is refused: it would show in `ps`). --ca-file, --helo, --timeout and
    /// --allow-relay apply to the backups too.
    #[arg(long, value_name = "URL", value_parser = parse_backup)]
    backup: Vec<String>,
    /// Print the summary as JSON (standard output): {"sent", "deferred", "failed", "held",
    /// "via_backup", "passes", "stopped_by_signal"}.
    #[arg(long)]
    json: bool,
}

/// `--backup URL`: a URL [`Config::from_url`] takes, without a password.
fn parse_backup(text: &str) -> Result<String, String> {
    Config::from_url(text).map_err(|e| e.message())?;
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    if rest
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    {
        return Err(format!(
            "a password in the URL would show in `ps` and in shell history: write \
             smtp://USER@HOST:PORT and put the password in {BACKUP_PASSWORD_PREFIX}N \
             (N = 1 for the first --backup, 2 for the second, ...)"
        ));
    }
    Ok(text.to_string())
}

pub fn run(args: RunArgs) -> ExitCode {
    if args.min_backoff > args.max_backoff {
        eprintln!(
            "error: --min-backoff {}s is longer than --max-backoff {}s",
            args.min_backoff.as_secs(),
            args.max_backoff.as_secs()
        );
        return ExitCode::from(USAGE);
    }
    let connections = match connections(&args) {
        Ok(connections) => connections,
        Err(status) => return status,
    };
    let policy = Policy {
        min_backoff: args.min_backoff,
        max_backoff: args.max_backoff,
        lifetime: args.lifetime,
        ..Policy::default()
    };
    let limit = args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let progress = Arc::new(Progress::new(std::io::stderr().is_terminal()));
    let stop = Stop::install(progress.bar.clone());
    let handler = {
        let progress = progress.clone();
        Arc::new(move |event: &Event| progress.event(event))
    };

    let mut total = RunSummary::default();
    let mut passes = 0usize;
    let mut outbox = match args.location.open(connections) {
        Ok(outbox) => outbox,
        Err(status) => {
            progress.clear();
            return status;
        }
    };
    outbox.set_policy(policy);
    outbox.set_event_handler(Some(handler));
    let failed = loop {
        match pass(&outbox, limit, &stop) {
            Ok(summary) => {
                add(&mut total, &summary);
                passes += 1;
            }
            Err(error) => {
                progress.clear();
                break Some(super::failure(&error));
            }
        }
        if !args.watch || stop.requested() {
            break None;
        }
        progress.idle();
        if stop.wait(POLL) {
            break None;
        }
    };
    progress.clear();
    if failed.is_none() || passes > 0 {
        print_summary(&total, passes, stop.requested(), args.json);
    }
    if crate::oauth::flags::rotation_failed() {
        return ExitCode::from(INVALID_INPUT);
    }
    failed.unwrap_or(ExitCode::SUCCESS)
}

/// The primary connection from the `send`-like options, then each backup.
fn connections(args: &RunArgs) -> Result<Vec<Config>, ExitCode> {
    let refused = |refusal: crate::shared::Refusal| {
        refusal.print();
        refusal.status
    };
    let Some(mut primary) = args.connection.config() else {
        eprintln!("error: --server is required");
        return Err(ExitCode::from(USAGE));
    };
    args.connection.login.apply(&mut primary).map_err(refused)?;
    primary.validate().map_err(|error| {
        let status = report_error(&error);
        args.connection.explain_port_needed();
        status
    })?;
    let mut connections = vec![primary];
    for (index, url) in args.backup.iter().enumerate() {
        let n = index + 1;
        let mut config = Config::from_url(url).map_err(|error| report_error(&error))?;
        args.connection.apply_common(&mut config);
        let var = format!("{BACKUP_PASSWORD_PREFIX}{n}");
        let label = format!("--backup {url} (backup {n})");
        let has_user = config.credentials.is_some();
        if has_user {
            let password: Secret = password_from_env(
                &var,
                &label,
                &format!(
                    "Backup {n} logs in: put its password in {var} (export {var}=...; for a \
                     service, in its EnvironmentFile)."
                ),
            )
            .map_err(refused)?;
            config
                .set_password(password.expose())
                .map_err(|error| report_error(&error))?;
        } else if std::env::var_os(&var).is_some() {
            eprintln!(
                "error: {label}: {var} holds a password, but the URL has no user name to log in with"
            );
            eprintln!("hint: write the URL as smtp://USER@HOST:PORT, or unset {var}.");
            return Err(ExitCode::from(INVALID_INPUT));
        }
        config.validate().map_err(|error| report_error(&error))?;
        connections.push(config);
    }
    Ok(connections)
}

/// One pass: deliver what is due (at most `limit` entries); a stop signal ends it after the
/// entry being sent.
fn pass(outbox: &Outbox, limit: Option<usize>, stop: &Stop) -> mailport::Result<RunSummary> {
    outbox.run(&RunOptions {
        deadline: None,
        limit,
        stop: Some(stop.flag.clone()),
    })
}

fn add(total: &mut RunSummary, more: &RunSummary) {
    total.sent += more.sent;
    total.deferred += more.deferred;
    total.failed += more.failed;
    total.held += more.held;
    total.via_backup += more.via_backup;
}

fn print_summary(total: &RunSummary, passes: usize, stopped: bool, json: bool) {
    if json {
        super::print_json(&serde_json::json!({
            "sent": total.sent,
            "deferred": total.deferred,
            "failed": total.failed,
            "held": total.held,
            "via_backup": total.via_backup,
            "passes": passes,
            "stopped_by_signal": stopped,
        }));
        return;
    }
    let backup = match total.via_backup {
        0 => String::new(),
        1 => " (1 via a backup connection)".to_string(),
        n => format!(" ({n} via a backup connection)"),
    };
    let passes = if passes == 1 {
        String::new()
    } else {
        format!(" in {passes} passes")
    };
    println!(
        "outbox run: {} sent{backup}, {} deferred, {} failed, {} held{passes}",
        total.sent, total.deferred, total.failed, total.held
    );
}

/// SIGINT and SIGTERM (and SIGHUP): the first asks to stop after the entry being sent, a second
/// stops at once.
struct Stop {
    signals: Option<Receiver<()>>,
    /// Set by the signal handler itself, so a run in progress sees it.
    flag: Arc<AtomicBool>,
}

impl Stop {
    /// The handler says what it does above the progress line `bar` (on a terminal).
    fn install(bar: Option<ProgressBar>) -> Stop {
        let (tx, rx) = std::sync::mpsc::channel();
        let count = AtomicUsize::new(0);
        let flag = Arc::new(AtomicBool::new(false));
        let set = flag.clone();
        let installed = ctrlc::set_handler(move || {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                set.store(true, Ordering::SeqCst);
                let note =
                    "stopping once the entries being sent are done (a second signal stops at once)";
                match &bar {
                    Some(bar) => bar.println(note),
                    None => eprintln!("{note}"),
                }
                let _ = tx.send(());
            } else {
                eprintln!("stopped");
                std::process::exit(130);
            }
        });
        match installed {
            Ok(()) => Stop {
                signals: Some(rx),
                flag,
            },
            Err(e) => {
                eprintln!("warning: cannot handle signals ({e}); a signal stops mailport at once");
                Stop {
                    signals: None,
                    flag,
                }
            }
        }
    }

    /// Whether a stop was asked for.
    fn requested(&self) -> bool {
        if !self.flag.load(Ordering::SeqCst)
            && self
                .signals
                .as_ref()
                .is_some_and(|rx| rx.try_recv().is_ok())
        {
            self.flag.store(true, Ordering::SeqCst);
        }
        self.flag.load(Ordering::SeqCst)
    }

    /// Wait `wait`, or less when a stop is asked for; returns whether it was.
    fn wait(&self, wait: Duration) -> bool {
        if self.requested() {
            return true;
        }
        match &self.signals {
            Some(rx) => match rx.recv_timeout(wait) {
                Ok(()) => {
                    self.flag.store(true, Ordering::SeqCst);
                    true
                }
                Err(RecvTimeoutError::Timeout) => false,
                // The handler is gone: sleep instead.
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(wait);
                    false
                }
            },
            None => {
                std::thread::sleep(wait);
                false
            }
        }
    }
}

/// Counts of what the run did, as the events tell it.
#[derive(Default)]
struct Counts {
    handled: usize,
    sent: usize,
    deferred: usize,
    failed: usize,
    held: usize,
}

/// The progress line: on a terminal, one line on standard error rewritten as entries are
/// handled; otherwise a plain line per entry (and per connection failing or recovering).
struct Progress {
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
}

impl Progress {
    fn new(terminal: bool) -> Progress {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
                bar.set_style(style);
            }
            bar.set_message("outbox run: looking for due entries");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            counts: Mutex::new(Counts::default()),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A line that stays: above the progress line on a terminal.
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn event(&self, event: &Event) {
        match event {
            Event::StateChanged {
                id,
                from: Some(_),
                to,
                message,
            } => {
                let status = {
                    let mut counts = self.counts();
                    counts.handled += 1;
                    match to {
                        State::Sent => counts.sent += 1,
                        State::Deferred => counts.deferred += 1,
                        State::Failed => counts.failed += 1,
                        State::Held => counts.held += 1,
                        _ => {}
                    }
                    format!(
                        "outbox run: {} handled: {} sent, {} deferred, {} failed, {} held",
                        counts.handled, counts.sent, counts.deferred, counts.failed, counts.held
                    )
                };
                let words = message
                    .as_deref()
                    .map(|m| format!(": {}", clean(m)))
                    .unwrap_or_default();
                match &self.bar {
                    Some(bar) => bar.set_message(format!("{status} | {id} {}", to.as_str())),
                    None => eprintln!("{id} {}{words}", to.as_str()),
                }
            }
            // Enqueued, retried or cancelled: not by this run.
            Event::StateChanged { from: None, .. } => {}
            Event::ConnectionFailing {
                connection,
                server,
                message,
            } => self.line(&format!(
                "connection {} ({}) is failing: {}",
                connection_name(*connection),
                clean(server),
                clean(message)
            )),
            Event::ConnectionRecovered { connection, server } => self.line(&format!(
                "connection {} ({}) works again",
                connection_name(*connection),
                clean(server)
            )),
        }
    }

    /// Between two passes of --watch.
    fn idle(&self) {
        if let Some(bar) = &self.bar {
            let counts = self.counts();
            bar.set_message(format!(
                "outbox run --watch: {} handled ({} sent, {} deferred, {} failed, {} held); \
                 waiting for due entries (Ctrl-C stops)",
                counts.handled, counts.sent, counts.deferred, counts.failed, counts.held
            ));
        }
    }

    /// Remove the progress line (before the summary or an error).
    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
