//! `mailport outbox`: deliver what an outbox holds (`run`), look at it (`list`, `show`), and
//! change it (`retry`, `cancel`, `prune`); and `mailport send --outbox`, which puts a message
//! in one. Every behaviour is the library's ([`mailport::outbox`]); this module parses the
//! command line, prints, and picks the exit status.

mod duration;
mod print;
mod run;

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use mailport::outbox::{EntryId, Filter, Outbox, Record, State};
use mailport::{Config, Error, Kind, Message};

use crate::exit::{ENTRY_STATE, NO_SUCH_ENTRY, OUTBOX_STORE};

pub use duration::parse_duration;

#[derive(clap::Args, Debug)]
pub struct OutboxArgs {
    #[command(subcommand)]
    command: OutboxCommand,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum OutboxCommand {
    /// Deliver what is due, over the primary connection and then each --backup in order.
    Run(run::RunArgs),
    /// List the entries: id, state, when created, the next attempt, recipients, last words.
    List(ListArgs),
    /// Print one entry in full: its recipients, every attempt and the server's replies.
    Show(EntryArgs),
    /// Try a deferred, held or failed entry again at the next run.
    Retry(EntryArgs),
    /// Give up on an entry that was not sent yet.
    Cancel(EntryArgs),
    /// Remove the records of sent, failed and cancelled entries older than --older-than.
    Prune(PruneArgs),
}

/// Where the outbox is: `--spool DIR` or `--database URL`, one of the two.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Location {
    /// The spool directory (created if missing).
    #[arg(long, value_name = "DIR", value_parser = parse_spool)]
    spool: Option<String>,
    /// A MariaDB/MySQL outbox table: mysql://USER@HOST/DATABASE or mariadb://... (the user's
    /// password from MAILPORT_DATABASE_PASSWORD, never in the URL)
    // Checked when the outbox is opened, not by clap: clap's error would quote the whole URL,
    // password included.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

impl Location {
    /// Open the outbox, a `--database` value checked here (a mysql:// or mariadb:// URL) with
    /// an error of our own, which does not quote it.
    fn open(&self, connections: Vec<Config>) -> Result<Outbox, ExitCode> {
        match (&self.spool, &self.database) {
            (_, Some(url)) => {
                if let Err(why) = parse_database(url) {
                    eprintln!("error: --database: {why}");
                    return Err(ExitCode::from(crate::exit::USAGE));
                }
                open(url, connections)
            }
            (Some(dir), None) => open(dir, connections),
            (None, None) => open("", connections),
        }
    }
}

/// `outbox list`.
#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
pub struct ListArgs {
    #[command(flatten)]
    location: Location,
    /// Only entries in this state (repeatable, or comma-separated): queued, sending, sent,
    /// deferred, failed, held or cancelled.
    #[arg(long, value_name = "STATE", value_delimiter = ',', value_parser = parse_state)]
    state: Vec<State>,
    /// At most N entries, oldest first.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print the records as a JSON array.
    #[arg(long)]
    json: bool,
}

/// `outbox show|retry|cancel ID`.
#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
pub struct EntryArgs {
    /// The entry's id, as `send --outbox` and `outbox list` print it.
    #[arg(value_name = "ID", value_parser = parse_id)]
    id: EntryId,
    #[command(flatten)]
    location: Location,
    /// Print the entry's record as JSON.
    #[arg(long)]
    json: bool,
}

/// `outbox prune`.
#[derive(clap::Args, Debug)]
#[command(after_help = crate::exit::HELP)]
pub struct PruneArgs {
    #[command(flatten)]
    location: Location,
    /// Remove what was finished (sent, failed, cancelled) longer ago than this: 30d, 12h, 90m,
    /// 3600 (seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    older_than: Duration,
    /// Print {"removed": N}.
    #[arg(long)]
    json: bool,
}

/// Every state, in the order an entry goes through them.
const STATES: [State; 7] = [
    State::Queued,
    State::Sending,
    State::Sent,
    State::Deferred,
    State::Failed,
    State::Held,
    State::Cancelled,
];

/// `--state NAME`: a state by its record name.
fn parse_state(text: &str) -> Result<State, String> {
    let text = text.trim();
    STATES
        .into_iter()
        .find(|state| state.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            let names: Vec<&str> = STATES.iter().map(|s| s.as_str()).collect();
            format!("not a state: give one of {}", names.join(", "))
        })
}

fn parse_spool(text: &str) -> Result<String, String> {
    if text.contains("://") {
        return Err("give a directory; for a database URL use --database".into());
    }
    if text.trim().is_empty() {
        return Err("the directory is empty".into());
    }
    Ok(text.to_string())
}

/// The environment variable holding the database user's password: a password in the URL would
/// show in `ps` and in shell histories.
pub const DATABASE_PASSWORD_ENV: &str = "MAILPORT_DATABASE_PASSWORD";

fn parse_database(text: &str) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    if !(lower.starts_with("mysql://") || lower.starts_with("mariadb://")) {
        return Err("give a mysql:// or mariadb:// URL; for a spool directory use --spool".into());
    }
    if database_userinfo(text).is_some_and(|userinfo| userinfo.contains(':')) {
        return Err(format!(
            "a password in the URL would show in `ps`: write mysql://USER@HOST/DATABASE and put \
             the password in {DATABASE_PASSWORD_ENV}"
        ));
    }
    Ok(text.to_string())
}

/// The `user[:password]` of a database URL, if it has one.
fn database_userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    authority.rsplit_once('@').map(|(userinfo, _)| userinfo)
}

/// A database URL with the password from [`DATABASE_PASSWORD_ENV`] put in after its user.
fn with_database_password(url: &str) -> String {
    let Some(password) = std::env::var_os(DATABASE_PASSWORD_ENV) else {
        return url.to_string();
    };
    let Some(userinfo) = database_userinfo(url).filter(|u| !u.contains(':')) else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("mysql", url));
    let encoded: String = password
        .to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let after = &rest[userinfo.len()..];
    format!("{scheme}://{userinfo}:{encoded}{after}")
}

fn parse_id(text: &str) -> Result<EntryId, String> {
    EntryId::parse(text.trim()).ok_or_else(|| {
        "not an entry id: give one as `mailport outbox list` prints it, \
         e.g. 1764979200000-0123456789abcdef"
            .to_string()
    })
}

pub fn run(args: OutboxArgs) -> ExitCode {
    match args.command {
        OutboxCommand::Run(args) => run::run(args),
        OutboxCommand::List(args) => list(args),
        OutboxCommand::Show(args) => show(args),
        OutboxCommand::Retry(args) => change(args, Change::Retry),
        OutboxCommand::Cancel(args) => change(args, Change::Cancel),
        OutboxCommand::Prune(args) => prune(args),
    }
}

/// `send --outbox LOCATION`: store the message and print its id (or its record as JSON).
pub fn enqueue(location: &str, message: &Message, json: bool) -> ExitCode {
    let outbox = match open(location, Vec::new()) {
        Ok(outbox) => outbox,
        Err(status) => return status,
    };
    let id = match outbox.enqueue(message) {
        Ok(id) => id,
        Err(error) => return failure(&error),
    };
    if json {
        match outbox.get(&id) {
            Ok(record) => print_json(&record),
            Err(error) => return failure(&error),
        }
    } else {
        println!("{id}");
    }
    ExitCode::SUCCESS
}

/// Open the outbox at `location` with `connections` (already validated). Any failure is the
/// store's: status 12.
fn open(location: &str, connections: Vec<Config>) -> Result<Outbox, ExitCode> {
    let database = location.contains("://") || location.contains('@');
    if database {
        if let Err(why) = parse_database(location) {
            eprintln!("error: {why}");
            return Err(ExitCode::from(crate::exit::USAGE));
        }
    }
    let opened = if database {
        Outbox::open(&with_database_password(location), connections)
    } else {
        Outbox::open(location, connections)
    };
    opened.map_err(|error| {
        eprintln!("error: {}", error.message());
        if !error.hint().is_empty() {
            eprintln!("hint: {}", error.hint());
        }
        if database {
            eprintln!(
                "hint: the database user's password is read from {DATABASE_PASSWORD_ENV}, never from the URL."
            );
        } else if error.kind() == Kind::Io {
            eprintln!(
                "hint: the outbox {location} must be a directory this user can create or write."
            );
        }
        ExitCode::from(OUTBOX_STORE)
    })
}

/// Print a library error met while using an outbox; the store's own failures (reading or
/// writing it) exit with 12, the others with the status of their kind (a message that cannot
/// be built, 3).
fn failure(error: &Error) -> ExitCode {
    if error.kind() == Kind::Io {
        eprintln!("error: {}", error.message());
        if !error.hint().is_empty() {
            eprintln!("hint: {}", error.hint());
        }
        ExitCode::from(OUTBOX_STORE)
    } else {
        crate::shared::report_error(error)
    }
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

fn list(args: ListArgs) -> ExitCode {
    let outbox = match args.location.open(Vec::new()) {
        Ok(outbox) => outbox,
        Err(status) => return status,
    };
    let filter = Filter {
        states: args.state,
        limit: args.limit,
    };
    let records = match outbox.list(&filter) {
        Ok(records) => records,
        Err(error) => return failure(&error),
    };
    if args.json {
        print_json(&records);
    } else if records.is_empty() {
        println!("no entries");
    } else {
        print!("{}", print::table(&records, now()));
    }
    ExitCode::SUCCESS
}

/// The entry `id`, or the exit status when there is none (13) or it cannot be read (12).
fn find(outbox: &Outbox, id: &EntryId) -> Result<Record, ExitCode> {
    outbox.get(id).map_err(|error| {
        eprintln!("error: {}", error.message());
        // A store reports a missing entry as invalid input, its own failures as I/O.
        if error.kind() == Kind::Io {
            ExitCode::from(OUTBOX_STORE)
        } else {
            eprintln!("hint: `mailport outbox list` shows the entries there are.");
            ExitCode::from(NO_SUCH_ENTRY)
        }
    })
}

fn show(args: EntryArgs) -> ExitCode {
    let outbox = match args.location.open(Vec::new()) {
        Ok(outbox) => outbox,
        Err(status) => return status,
    };
    let record = match find(&outbox, &args.id) {
        Ok(record) => record,
        Err(status) => return status,
    };
    if args.json {
        print_json(&record);
    } else {
        print!("{}", print::record(&record, now()));
    }
    ExitCode::SUCCESS
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Retry,
    Cancel,
}

fn change(args: EntryArgs, change: Change) -> ExitCode {
    let outbox = match args.location.open(Vec::new()) {
        Ok(outbox) => outbox,
        Err(status) => return status,
    };
    if let Err(status) = find(&outbox, &args.id) {
        return status;
    }
    let result = match change {
        Change::Retry => outbox.retry(&args.id),
        Change::Cancel => outbox.cancel(&args.id),
    };
    let record = match result {
        Ok(record) => record,
        Err(error) => {
            eprintln!("error: {}", error.message());
            // Refused because of its state (invalid input), or because a worker holds it now
            // (the store says so with an I/O error, and the record says `sending`).
            let busy = error.kind() == Kind::Io
                && outbox
                    .get(&args.id)
                    .is_ok_and(|record| record.state == State::Sending);
            return if error.kind() != Kind::Io || busy {
                ExitCode::from(ENTRY_STATE)
            } else {
                ExitCode::from(OUTBOX_STORE)
            };
        }
    };
    if args.json {
        print_json(&record);
    } else if change == Change::Retry {
        println!(
            "{}: {}; the next `mailport outbox run` tries it",
            record.id,
            record.state.as_str()
        );
    } else {
        println!("{}: {}", record.id, record.state.as_str());
    }
    ExitCode::SUCCESS
}

fn prune(args: PruneArgs) -> ExitCode {
    let outbox = match args.location.open(Vec::new()) {
        Ok(outbox) => outbox,
        Err(status) => return status,
    };
    let removed = match outbox.prune(args.older_than) {
        Ok(removed) => removed,
        Err(error) => return failure(&error),
    };
    if args.json {
        print_json(&serde_json::json!({ "removed": removed }));
    } else {
        println!(
            "removed {removed} {} (sent, failed or cancelled) last active more than {} ago",
            if removed == 1 { "entry" } else { "entries" },
            duration::human(args.older_than.as_secs())
        );
    }
    ExitCode::SUCCESS
}

/// Unix seconds now.
fn now() -> i64 {
    mailport::time::unix_seconds(std::time::SystemTime::now())
}
