//! The database store: one table in MariaDB (10.6 or later) or MySQL (8.0 or later), so that
//! every web server of a site that shares a database shares one queue.
//!
//! ```text
//! mysql://USER:PASSWORD@HOST[:PORT]/DATABASE[?PARAMETERS]        TCP (port 3306 by default)
//! mysql://USER:PASSWORD@localhost/DATABASE?socket=/run/mysqld/mysqld.sock   a local socket
//! mariadb://…                                                   the same
//!
//! table=NAME            the table (default mailport_outbox)
//! prefix=PREFIX         the table is PREFIX + mailport_outbox (wp_ → wp_mailport_outbox)
//! socket=PATH           connect to this unix socket instead of HOST:PORT
//! ssl-mode=MODE         disabled (default), verify_ca, or verify_identity: TLS (rustls) to the
//!                       database, verifying its certificate chain, and also its name
//! ssl-ca=PATH           a PEM file of CA certificates to trust besides the usual web roots
//!                       (implies ssl-mode=verify_identity unless another mode is given)
//! connect-timeout=SECS  how long a connection may take (default 10)
//! ```
//!
//! User name and password are percent-decoded. Errors name the database, its host or socket and
//! the table, never the password. docs/outbox.md documents the table, which the library creates
//! when it is missing, and the row a process without the library inserts to enqueue.
//!
//! A worker claims entries in one short transaction: `SELECT … FOR UPDATE SKIP LOCKED` finds due
//! entries that no other claim is looking at, an `UPDATE` marks them `sending` under its lease
//! (owner, expiry), and the commit makes the claim visible. Only the lease's owner may save an
//! entry back (the owner is in the `UPDATE`'s condition), so a worker that lost its lease to
//! another never overwrites that worker's work. An entry whose worker died is claimed again once
//! its lease has expired.

use std::io::{Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mysql::prelude::Queryable;
use mysql::{IsolationLevel, Params, Pool, PooledConn, Row, TxOpts, Value};

use crate::error::{Error, Kind, Result};
use crate::outbox::description::Description;
use crate::outbox::entry::{EntryHeader, Rendered, now};
use crate::outbox::record::{EntryId, Lease, Record, State};
use crate::outbox::store::{Claimed, Filter, Store, Want};

mod location;
mod writer;

pub(crate) use location::Location;
use writer::Writer;

/// The table's name when the URL names none.
pub(crate) const DEFAULT_TABLE: &str = "mailport_outbox";
/// The state of a row that cannot be read; the `reason` column says why.
const QUARANTINED: &str = "quarantined";
/// MySQL's error for a table that does not exist.
const ER_NO_SUCH_TABLE: u16 = 1146;
/// MySQL's error for a READ COMMITTED write under `binlog_format=STATEMENT`.
const ER_BINLOG_STMT_MODE_AND_ROW_ENGINE: u16 = 1665;

/// Messages up to this size are read with their claim (a batch holds at most 32 of them).
const PREFETCH: usize = 256 * 1024;

/// A message read with its claim is sent without asking the row again only while the claim
/// has this many seconds left.
const LEASE_MARGIN: i64 = 60;

/// The columns every query reads, in this order (see [`Columns::from_row`]).
const COLUMNS: &str = "`id`, `state`, `created`, `due`, `lease_owner`, `lease_expires`, \
                       `held_settings`, `format`, `header`, `description`, `record`, `reason`";

/// The SQL of each statement, with the table's name in it.
struct Sql {
    create: String,
    check: String,
    insert: String,
    claim: String,
    select_one: String,
    select_one_for_update: String,
    body: String,
    rendering: String,
    save: Arc<str>,
    save_dropping_body: Arc<str>,
    write: String,
    write_dropping_body: String,
    quarantine: String,
    release: Arc<str>,
    expire: Arc<str>,
    prune: String,
}

impl Sql {
    fn new(table: &str) -> Sql {
        let t = format!("`{table}`");
        let write_set = "`state` = ?, `due` = ?, `lease_owner` = ?, `lease_expires` = ?, \
                         `held_settings` = ?, `record` = ?, `reason` = ?, `updated` = ?";
        Sql {
            create: create_table(table),
            check: format!("SELECT {COLUMNS}, `body`, `updated`, `pending` FROM {t} LIMIT 0"),
            insert: format!(
                "INSERT INTO {t} (`id`, `state`, `created`, `due`, `format`, `header`, \
                 `description`, `body`, `updated`) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)"
            ),
            // Oldest first through the (pending, id) index, so that LIMIT stops the scan (and the
            // row locks) after the first rows that qualify, and SKIP LOCKED passes over the rows
            // that another worker's claim is looking at.
            // A message small enough comes with the claim, which saves a round trip per entry.
            claim: format!(
                "SELECT {COLUMNS}, CASE WHEN LENGTH(`body`) <= {PREFETCH} THEN `body` END \
                 FROM {t} FORCE INDEX (`mailport_claim`) \
                 WHERE `pending` = 1 AND `id` > ? AND ( \
                   (`state` IN ('queued', 'deferred') AND `due` <= ?) \
                   OR (`state` = 'sending' AND (`lease_expires` IS NULL OR `lease_expires` < ?)) \
                   OR (`state` = 'held' AND NOT (`held_settings` <=> ?)) \
                   OR `state` NOT IN ('queued', 'deferred', 'sending', 'held')) \
                 ORDER BY `pending`, `id` LIMIT ? FOR UPDATE SKIP LOCKED"
            ),
            select_one: format!("SELECT {COLUMNS} FROM {t} WHERE `id` = ?"),
            select_one_for_update: format!(
                "SELECT {COLUMNS}, `body` IS NOT NULL OR (`header` IS NULL AND \
                 `description` IS NOT NULL) FROM {t} WHERE `id` = ? FOR UPDATE"
            ),
            body: format!(
                "SELECT `body` FROM {t} WHERE `id` = ? AND `state` = 'sending' AND `lease_owner` = ?"
            ),
            rendering: format!(
                "UPDATE {t} SET `header` = ?, `body` = ?, `updated` = ? \
                 WHERE `id` = ? AND `state` = 'sending' AND `lease_owner` = ?"
            ),
            save: format!(
                "UPDATE {t} SET {write_set} \
                 WHERE `id` = ? AND `state` = 'sending' AND `lease_owner` = ?"
            )
            .into(),
            save_dropping_body: format!(
                "UPDATE {t} SET {write_set}, `body` = NULL, `description` = NULL \
                 WHERE `id` = ? AND `state` = 'sending' AND `lease_owner` = ?"
            )
            .into(),
            write: format!("UPDATE {t} SET {write_set} WHERE `id` = ?"),
            write_dropping_body: format!(
                "UPDATE {t} SET {write_set}, `body` = NULL, `description` = NULL WHERE `id` = ?"
            ),
            quarantine: format!(
                "UPDATE {t} SET `state` = '{QUARANTINED}', `reason` = ?, `lease_owner` = NULL, \
                 `lease_expires` = NULL, `updated` = ? WHERE `id` = ?"
            ),
            release: format!(
                "UPDATE {t} SET `state` = ?, `due` = ?, `lease_owner` = NULL, \
                 `lease_expires` = NULL WHERE `id` = ? AND `state` = 'sending' AND `lease_owner` = ?"
            )
            .into(),
            expire: format!(
                "UPDATE {t} SET `lease_expires` = 0 \
                 WHERE `id` = ? AND `state` = 'sending' AND `lease_owner` = ?"
            )
            .into(),
            prune: format!(
                "DELETE FROM {t} WHERE `pending` = 0 \
                 AND `state` IN ('sent', 'failed', 'cancelled') AND `updated` < ?"
            ),
        }
    }
}

/// The table, as docs/outbox.md shows it.
pub(crate) fn create_table(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS `{table}` (\n\
        \x20 `id` CHAR(30) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,\n\
        \x20 `state` VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'queued',\n\
        \x20 `created` BIGINT NOT NULL,\n\
        \x20 `due` BIGINT NOT NULL DEFAULT 0,\n\
        \x20 `lease_owner` VARCHAR(255) NULL DEFAULT NULL,\n\
        \x20 `lease_expires` BIGINT NULL DEFAULT NULL,\n\
        \x20 `held_settings` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,\n\
        \x20 `format` INT NOT NULL DEFAULT 1,\n\
        \x20 `header` LONGTEXT NULL,\n\
        \x20 `description` LONGTEXT NULL,\n\
        \x20 `body` LONGBLOB NULL,\n\
        \x20 `record` LONGTEXT NULL,\n\
        \x20 `reason` TEXT NULL,\n\
        \x20 `updated` BIGINT NOT NULL DEFAULT 0,\n\
        \x20 `pending` TINYINT GENERATED ALWAYS AS \
        (`state` NOT IN ('sent', 'failed', 'cancelled', 'quarantined')) STORED,\n\
        \x20 PRIMARY KEY (`id`),\n\
        \x20 KEY `mailport_claim` (`pending`, `id`)\n\
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    )
}

pub(crate) struct Database {
    /// Dropped by hand, under [`crate::sigpipe::Blocked`]: closing its connections writes.
    pool: std::mem::ManuallyDrop<Pool>,
    /// Commits the records of finished entries while the worker sends the next message.
    writer: Writer,
    location: Location,
    sql: Sql,
    /// The server's `max_allowed_packet`: a row's message and JSON must fit in one packet.
    max_packet: u64,
    /// Claims use READ COMMITTED (row locks only on the rows claimed) unless the server refused
    /// it (binary logging by statement): then REPEATABLE READ.
    repeatable_read: AtomicBool,
}

/// The proof of a claim: the lease's owner, in the `UPDATE`s' conditions. A claim dropped
/// without being saved (the run stopped on an error) is given back at once rather than when its
/// lease expires: to its state before the claim if its message was never read for sending, else
/// with its lease expired, so that the next worker sends it again flagged `maybe_delivered`.
struct DatabaseClaim {
    owner: String,
    id: String,
    /// The state and due time before the claim.
    was: State,
    due: i64,
    pool: Pool,
    release: Arc<str>,
    expire: Arc<str>,
    /// The message, when it came with the claim, and until when the claim holds.
    message: Option<Arc<[u8]>>,
    lease_until: i64,
    /// Whether the message was read for sending: an attempt may have begun.
    read: AtomicBool,
    /// Whether a save ended the claim.
    saved: AtomicBool,
}

impl Drop for DatabaseClaim {
    fn drop(&mut self) {
        if self.saved.load(Ordering::Relaxed) {
            return;
        }
        let _quiet = crate::sigpipe::Blocked::new();
        let Ok(mut conn) = self.pool.get_conn() else {
            return; // The lease expires instead.
        };
        let _ = if self.read.load(Ordering::Relaxed) || self.was == State::Sending {
            conn.exec_drop(&*self.expire, (self.id.as_str(), self.owner.as_str()))
        } else {
            conn.exec_drop(
                &*self.release,
                (
                    self.was.as_str(),
                    self.due,
                    self.id.as_str(),
                    self.owner.as_str(),
                ),
            )
        };
    }
}

/// A row's columns, as read.
struct Columns {
    id: String,
    state: String,
    created: i64,
    due: i64,
    lease_owner: Option<String>,
    lease_expires: Option<i64>,
    held_settings: Option<String>,
    format: i64,
    header: Option<Vec<u8>>,
    description: Option<Vec<u8>>,
    record: Option<Vec<u8>>,
    reason: Option<String>,
}

impl Columns {
    /// The columns of [`COLUMNS`], or why they cannot be read (then the row is quarantined).
    fn from_row(row: &mut Row) -> std::result::Result<Columns, (Option<String>, String)> {
        let id: Option<String> = take(row, 0).ok().flatten();
        let id_for = id.clone();
        let fail = |what: &str, e: String| (id_for.clone(), format!("its {what} {e}"));
        let id = id.ok_or_else(|| fail("id", "is missing".into()))?;
        Ok(Columns {
            state: take::<String>(row, 1)
                .map_err(|e| fail("state", e))?
                .unwrap_or_default(),
            created: take(row, 2)
                .map_err(|e| fail("created time", e))?
                .unwrap_or(0),
            due: take(row, 3).map_err(|e| fail("due time", e))?.unwrap_or(0),
            lease_owner: take(row, 4).map_err(|e| fail("lease owner", e))?,
            lease_expires: take(row, 5).map_err(|e| fail("lease expiry", e))?,
            held_settings: take(row, 6).map_err(|e| fail("held settings", e))?,
            format: take(row, 7).map_err(|e| fail("format", e))?.unwrap_or(0),
            header: take(row, 8).map_err(|e| fail("header", e))?,
            description: take(row, 9).map_err(|e| fail("description", e))?,
            record: take(row, 10).map_err(|e| fail("record", e))?,
            reason: take::<Vec<u8>>(row, 11)
                .map_err(|e| fail("reason", e))?
                .map(|r| String::from_utf8_lossy(&r).into_owned()),
            id,
        })
    }

    /// The entry's header and record, with the scheduling columns (state, due, lease, held
    /// settings) over what the record says: those columns are the truth, and a row written by
    /// another program has no record yet.
    fn entry(&self) -> std::result::Result<(EntryHeader, Record), String> {
        let id = EntryId::parse(&self.id)
            .ok_or_else(|| format!("its id is not of the form {}", EntryId::FORM))?;
        let header = match (&self.header, &self.description) {
            (Some(header), _) => {
                let header: EntryHeader = serde_json::from_slice(header)
                    .map_err(|e| format!("its header cannot be read: {e}"))?;
                if header.id != id {
                    return Err(format!("its header names another entry, {}", header.id));
                }
                header
            }
            (None, Some(description)) => {
                let description: Description = serde_json::from_slice(description)
                    .map_err(|e| format!("its description cannot be read: {e}"))?;
                EntryHeader {
                    // The row's format, so that a newer writer's row is refused, not misread.
                    format: u32::try_from(self.format).unwrap_or(0),
                    ..EntryHeader::described(id.clone(), self.created, description)
                }
            }
            (None, None) => return Err("it has neither a header nor a description".into()),
        };
        header.check_format().map_err(|e| e.message())?;
        let mut record = match &self.record {
            Some(record) => {
                let record: Record = serde_json::from_slice(record)
                    .map_err(|e| format!("its record cannot be read: {e}"))?;
                if record.id != id {
                    return Err(format!("its record names another entry, {}", record.id));
                }
                record
            }
            None => header.first_record(),
        };
        record.state = parse_state(&self.state)
            .ok_or_else(|| format!("its state {:?} is not one this library knows", self.state))?;
        record.due = self.due;
        record.lease = match (&self.lease_owner, self.lease_expires) {
            (Some(owner), expires) if record.state == State::Sending => Some(Lease {
                owner: owner.clone(),
                expires: expires.unwrap_or(0),
            }),
            _ => None,
        };
        record.held_settings = self.held_settings.clone();
        Ok((header, record))
    }
}

/// Column `index` of `row` as a `T`, `None` for NULL, or why it is not a `T`.
fn take<T: mysql::prelude::FromValue>(
    row: &mut Row,
    index: usize,
) -> std::result::Result<Option<T>, String> {
    match row.take_opt::<Value, _>(index) {
        None => Err("is missing".into()),
        Some(Err(e)) => Err(format!("cannot be read: {e}")),
        Some(Ok(Value::NULL)) => Ok(None),
        Some(Ok(value)) => mysql::from_value_opt::<T>(value)
            .map(Some)
            .map_err(|e| format!("cannot be read: {e}")),
    }
}

fn parse_state(text: &str) -> Option<State> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

/// What one save or write puts in the scheduling columns and the record.
fn write_params(record: &Record, updated: i64) -> Result<Vec<Value>> {
    let mut record = record.clone();
    if record.state != State::Sending {
        record.lease = None;
    }
    let json = serde_json::to_vec(&record).map_err(|e| {
        Error::new(
            Kind::Io,
            format!("outbox: cannot write the record of {}: {e}", record.id),
        )
    })?;
    Ok(vec![
        Value::from(record.state.as_str()),
        Value::from(record.due),
        Value::from(record.lease.as_ref().map(|l| l.owner.clone())),
        Value::from(record.lease.as_ref().map(|l| l.expires)),
        Value::from(record.held_settings.clone()),
        Value::from(json),
        Value::from(record.reason.clone()),
        Value::from(updated),
    ])
}

impl Database {
    /// Connect to the database at `url` and create its table if it is missing.
    pub(crate) fn open(url: &str) -> Result<Database> {
        let _quiet = crate::sigpipe::Blocked::new();
        let location = Location::parse(url)?;
        let pool =
            Pool::new(location.options()).map_err(|e| error(&location, "cannot connect", e))?;
        let max_packet = pool
            .get_conn()
            .and_then(|mut conn| conn.query_first::<u64, _>("SELECT @@max_allowed_packet"))
            .map_err(|e| error(&location, "cannot connect", e))?
            .unwrap_or(16 * 1024 * 1024);
        let database = Database {
            writer: Writer::new(pool.clone(), location.clone()),
            pool: std::mem::ManuallyDrop::new(pool),
            max_packet,
            sql: Sql::new(&location.table),
            location,
            repeatable_read: AtomicBool::new(false),
        };
        let mut conn = database.conn()?;
        // Created only when missing, so that a user without the CREATE privilege can use a
        // table made for it.
        match conn.query_drop(&database.sql.check) {
            Err(mysql::Error::MySqlError(e)) if e.code == ER_NO_SUCH_TABLE => {
                conn.query_drop(&database.sql.create)
                    .map_err(|e| database.error("cannot create the table", e))?;
            }
            _ => {}
        }
        conn.query_drop(&database.sql.check).map_err(|e| {
            database.error(
                "cannot read the table (docs/outbox.md shows the columns it must have)",
                e,
            )
        })?;
        Ok(database)
    }

    fn error(&self, what: &str, e: mysql::Error) -> Error {
        error(&self.location, what, e)
    }

    fn conn(&self) -> Result<PooledConn> {
        self.pool
            .get_conn()
            .map_err(|e| self.error("cannot connect", e))
    }

    fn quarantine(
        &self,
        conn: &mut impl Queryable,
        id: &str,
        reason: &str,
    ) -> std::result::Result<(), mysql::Error> {
        conn.exec_drop(
            &self.sql.quarantine,
            Params::Positional(vec![reason.into(), now().into(), id.into()]),
        )
    }

    /// One claim transaction.
    fn claim_once(
        &self,
        level: IsolationLevel,
        want: &Want<'_>,
    ) -> std::result::Result<Vec<Claimed>, mysql::Error> {
        let mut conn = self.pool.get_conn()?;
        let mut tx = conn.start_transaction(TxOpts::default().set_isolation_level(Some(level)))?;
        let mut claimed = Vec::new();
        let mut after = String::new();
        // Rows in `skip` are passed over; look further until `limit` are found or none are left.
        let page = want.limit.max(1) as u64;
        loop {
            let rows: Vec<Row> = tx.exec(
                &self.sql.claim,
                Params::Positional(vec![
                    after.clone().into(),
                    want.now.into(),
                    want.now.into(),
                    want.settings.into(),
                    page.into(),
                ]),
            )?;
            let found = rows.len() as u64;
            let from = after.clone();
            for mut row in rows {
                let columns = match Columns::from_row(&mut row) {
                    Ok(columns) => columns,
                    Err((Some(id), reason)) => {
                        after = id.clone();
                        self.quarantine(&mut tx, &id, &reason)?;
                        continue;
                    }
                    Err((None, _)) => continue,
                };
                after = columns.id.clone();
                let message = take::<Vec<u8>>(&mut row, 12).ok().flatten();
                let skipped = EntryId::parse(&columns.id).is_some_and(|id| want.skip.contains(&id));
                if skipped || claimed.len() >= want.limit {
                    continue;
                }
                let (header, mut record) = match columns.entry() {
                    Ok(entry) => entry,
                    Err(reason) => {
                        self.quarantine(&mut tx, &columns.id, &reason)?;
                        continue;
                    }
                };
                let was = record.state;
                if was.is_final() {
                    continue;
                }
                if was == State::Sending {
                    // Its worker's lease ran out: the message may already have gone out.
                    record.maybe_delivered = true;
                }
                record.state = State::Sending;
                record.lease = Some(Lease {
                    owner: want.owner.to_string(),
                    expires: want.lease_until,
                });
                claimed.push(Claimed {
                    header,
                    record,
                    was,
                    token: Box::new(DatabaseClaim {
                        owner: want.owner.to_string(),
                        id: columns.id.clone(),
                        was,
                        due: columns.due,
                        pool: (*self.pool).clone(),
                        release: self.sql.release.clone(),
                        expire: self.sql.expire.clone(),
                        message: message.map(Arc::from),
                        lease_until: want.lease_until,
                        read: AtomicBool::new(false),
                        saved: AtomicBool::new(false),
                    }),
                });
            }
            if claimed.len() >= want.limit || found < page || after == from {
                break;
            }
        }
        if !claimed.is_empty() {
            let marks = vec!["?"; claimed.len()].join(", ");
            let mut params: Vec<Value> =
                vec![want.owner.into(), want.lease_until.into(), want.now.into()];
            params.extend(claimed.iter().map(|c| Value::from(c.record.id.as_str())));
            tx.exec_drop(
                format!(
                    "UPDATE `{}` SET `state` = 'sending', `lease_owner` = ?, \
                     `lease_expires` = ?, `updated` = ? WHERE `id` IN ({marks})",
                    self.location.table
                ),
                Params::Positional(params),
            )?;
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// The row of `id` for a change (locked until `tx` ends), with whether its message is kept.
    fn locked_row(&self, tx: &mut mysql::Transaction<'_>, id: &EntryId) -> Result<(Columns, bool)> {
        let row: Option<Row> = tx
            .exec_first(&self.sql.select_one_for_update, (id.as_str(),))
            .map_err(|e| self.error(&format!("cannot read entry {id}"), e))?;
        let mut row = row.ok_or_else(|| no_entry(id))?;
        let has_message = take::<i64>(&mut row, 12).ok().flatten().unwrap_or(0) != 0;
        let columns = Columns::from_row(&mut row).map_err(|(_, reason)| corrupt(id, &reason))?;
        Ok((columns, has_message))
    }

    fn claim_token<'a>(&self, claimed: &'a Claimed) -> Result<&'a DatabaseClaim> {
        claimed
            .token
            .downcast_ref::<DatabaseClaim>()
            .ok_or_else(|| Error::new(Kind::Io, "outbox: a claim from another store"))
    }

    /// An error unless a row of `size` bytes of message and JSON fits in one packet (with room
    /// for the rest of the statement).
    fn check_size(&self, id: &EntryId, size: usize) -> Result<()> {
        let size = size as u64;
        if size.saturating_add(64 * 1024) <= self.max_packet {
            return Ok(());
        }
        Err(Error::new(
            Kind::MessageTooLarge,
            format!(
                "{}: entry {id} is {size} bytes, more than the database takes in one row \
                 (its max_allowed_packet is {} bytes): raise max_allowed_packet on the server, \
                 or send so large a message directly",
                self.location.describe(),
                self.max_packet
            ),
        ))
    }

    fn lost(&self, id: &EntryId) -> Error {
        lost(&self.location, id.as_str())
    }
}

fn lost(location: &Location, id: &str) -> Error {
    Error::new(
        Kind::Io,
        format!(
            "{}: this worker's claim on entry {id} was lost (its lease expired and another \
             worker took it over, or a user changed it); what this attempt did is not saved",
            location.describe()
        ),
    )
}

impl Drop for Database {
    fn drop(&mut self) {
        let _quiet = crate::sigpipe::Blocked::new();
        // SAFETY: the pool is dropped once, here, and `self` is not used after.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.pool) };
    }
}

impl Store for Database {
    fn enqueue(&self, header: &EntryHeader, body: &mut dyn Read) -> Result<()> {
        // The MariaDB client writes to its socket itself: no SIGPIPE for the host (crate::sigpipe).
        let _quiet = crate::sigpipe::Blocked::new();
        let (header_json, description_json, body) = match &header.description {
            Some(description) => {
                let json = serde_json::to_vec(description).map_err(|e| {
                    Error::invalid_input(format!("outbox: cannot write the description: {e}"))
                })?;
                (None, Some(json), None)
            }
            None => {
                let json = serde_json::to_vec(header).map_err(|e| {
                    Error::invalid_input(format!("outbox: cannot write the header: {e}"))
                })?;
                let mut bytes = Vec::new();
                body.read_to_end(&mut bytes).map_err(|e| {
                    Error::new(
                        Kind::Io,
                        format!("outbox: cannot read the message to enqueue: {e}"),
                    )
                    .with_source(e)
                })?;
                (Some(json), None, Some(bytes))
            }
        };
        let size = header_json.as_ref().map_or(0, Vec::len)
            + description_json.as_ref().map_or(0, Vec::len)
            + body.as_ref().map_or(0, Vec::len);
        self.check_size(&header.id, size)?;
        let params = vec![
            Value::from(header.id.as_str()),
            Value::from(header.created),
            Value::from(header.created),
            Value::from(header.format),
            Value::from(header_json),
            Value::from(description_json),
            Value::from(body),
            Value::from(now()),
        ];
        // One INSERT: the row is there whole, committed, or not at all.
        self.conn()?
            .exec_drop(&self.sql.insert, Params::Positional(params))
            .map_err(|e| self.error(&format!("cannot enqueue entry {}", header.id), e))
    }

    fn claim(&self, want: &Want<'_>) -> Result<Vec<Claimed>> {
        let _quiet = crate::sigpipe::Blocked::new();
        if want.limit == 0 {
            return Ok(Vec::new());
        }
        loop {
            let repeatable = self.repeatable_read.load(Ordering::Relaxed);
            let level = if repeatable {
                IsolationLevel::RepeatableRead
            } else {
                IsolationLevel::ReadCommitted
            };
            match self.claim_once(level, want) {
                Ok(claimed) => return Ok(claimed),
                Err(mysql::Error::MySqlError(e))
                    if !repeatable && e.code == ER_BINLOG_STMT_MODE_AND_ROW_ENGINE =>
                {
                    self.repeatable_read.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(self.error("cannot claim entries", e)),
            }
        }
    }

    fn body(&self, claimed: &Claimed) -> Result<Box<dyn Read + Send>> {
        let _quiet = crate::sigpipe::Blocked::new();
        let token = self.claim_token(claimed)?;
        token.read.store(true, Ordering::Relaxed);
        if let Some(message) = &token.message {
            // Still this worker's when the claim has time left; past that, the row says.
            if now() < token.lease_until.saturating_sub(LEASE_MARGIN) {
                return Ok(Box::new(Cursor::new(message.clone())));
            }
        }
        let owner = &token.owner;
        let id = &claimed.header.id;
        let body: Option<Option<Vec<u8>>> = self
            .conn()?
            .exec_first(&self.sql.body, (id.as_str(), owner.as_str()))
            .map_err(|e| self.error(&format!("cannot read the message of entry {id}"), e))?;
        match body {
            Some(Some(bytes)) => Ok(Box::new(Cursor::new(bytes))),
            Some(None) => Err(Error::new(
                Kind::Io,
                format!(
                    "{}: entry {id} has no message (its body is NULL)",
                    self.location.describe()
                ),
            )),
            None => Err(self.lost(id)),
        }
    }

    fn store_rendering(&self, claimed: &mut Claimed, mut rendered: Rendered) -> Result<()> {
        let _quiet = crate::sigpipe::Blocked::new();
        let owner = self.claim_token(claimed)?.owner.clone();
        let id = claimed.header.id.clone();
        let json = serde_json::to_vec(&rendered.header).map_err(|e| {
            Error::new(
                Kind::Io,
                format!("outbox: cannot write the header of {id}: {e}"),
            )
        })?;
        let mut bytes = Vec::new();
        rendered.stream.read_to_end(&mut bytes).map_err(|e| {
            Error::new(Kind::Io, format!("outbox: cannot render entry {id}: {e}")).with_source(e)
        })?;
        let mut conn = self.conn()?;
        if let Err(too_large) = self.check_size(&id, json.len() + bytes.len()) {
            // It can never be sent from here: set it aside, saying why, and stop this run.
            let reason = format!("its rendering cannot be stored: {}", too_large.message());
            self.quarantine(&mut conn, id.as_str(), &reason)
                .map_err(|e| self.error(&format!("cannot quarantine entry {id}"), e))?;
            return Err(too_large);
        }
        conn.exec_drop(
            &self.sql.rendering,
            Params::Positional(vec![
                json.into(),
                bytes.into(),
                now().into(),
                id.as_str().into(),
                owner.into(),
            ]),
        )
        .map_err(|e| self.error(&format!("cannot store the rendering of entry {id}"), e))?;
        if conn.affected_rows() == 0 {
            return Err(self.lost(&id));
        }
        claimed.header = rendered.header;
        Ok(())
    }

    fn save(&self, claimed: &mut Claimed, keep_body: bool) -> Result<()> {
        let _quiet = crate::sigpipe::Blocked::new();
        let owner = self.claim_token(claimed)?.owner.clone();
        let record = &claimed.record;
        let mut params = write_params(record, now())?;
        params.push(record.id.as_str().into());
        params.push(owner.into());
        let sql = if record.state.is_final() && !keep_body {
            &self.sql.save_dropping_body
        } else {
            &self.sql.save
        };
        if record.state != State::Sending {
            // The claim ends here: committed by the writer while this worker goes on.
            self.writer.submit(writer::Save {
                id: record.id.as_str().to_string(),
                sql: sql.clone(),
                params,
            })?;
            self.claim_token(claimed)?
                .saved
                .store(true, Ordering::Relaxed);
            return Ok(());
        }
        let mut conn = self.conn()?;
        conn.exec_drop(&**sql, Params::Positional(params))
            .map_err(|e| self.error(&format!("cannot save entry {}", record.id), e))?;
        if conn.affected_rows() == 0 {
            return Err(self.lost(&record.id));
        }
        Ok(())
    }

    fn list(&self, filter: &Filter) -> Result<Vec<Record>> {
        let _quiet = crate::sigpipe::Blocked::new();
        drop(self.writer.settle()?);
        let mut sql = format!(
            "SELECT {COLUMNS} FROM `{}` WHERE `state` <> '{QUARANTINED}'",
            self.location.table
        );
        let mut params: Vec<Value> = Vec::new();
        if !filter.states.is_empty() {
            let marks = vec!["?"; filter.states.len()].join(", ");
            sql.push_str(&format!(" AND `state` IN ({marks})"));
            params.extend(filter.states.iter().map(|s| Value::from(s.as_str())));
        }
        sql.push_str(" ORDER BY `id`");
        if let Some(limit) = filter.limit {
            sql.push_str(" LIMIT ?");
            params.push((limit as u64).into());
        }
        let rows: Vec<Row> = self
            .conn()?
            .exec(sql, Params::Positional(params))
            .map_err(|e| self.error("cannot list entries", e))?;
        // A row that cannot be read is left out here; the next claim quarantines it.
        Ok(rows
            .into_iter()
            .filter_map(|mut row| {
                let columns = Columns::from_row(&mut row).ok()?;
                columns.entry().ok().map(|(_, record)| record)
            })
            .collect())
    }

    fn get(&self, id: &EntryId) -> Result<Record> {
        let _quiet = crate::sigpipe::Blocked::new();
        drop(self.writer.settle()?);
        let row: Option<Row> = self
            .conn()?
            .exec_first(&self.sql.select_one, (id.as_str(),))
            .map_err(|e| self.error(&format!("cannot read entry {id}"), e))?;
        let mut row = row.ok_or_else(|| no_entry(id))?;
        let columns = Columns::from_row(&mut row).map_err(|(_, reason)| corrupt(id, &reason))?;
        if columns.state == QUARANTINED {
            return Err(quarantined(id, columns.reason.as_deref()));
        }
        columns
            .entry()
            .map(|(_, record)| record)
            .map_err(|reason| corrupt(id, &reason))
    }

    fn update(
        &self,
        id: &EntryId,
        change: &mut dyn FnMut(&mut Record) -> Result<()>,
    ) -> Result<Record> {
        let _quiet = crate::sigpipe::Blocked::new();
        drop(self.writer.settle()?);
        let mut conn = self.conn()?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .map_err(|e| self.error("cannot start a transaction", e))?;
        let (columns, has_message) = self.locked_row(&mut tx, id)?;
        if columns.state == QUARANTINED {
            return Err(quarantined(id, columns.reason.as_deref()));
        }
        let (_, mut record) = columns.entry().map_err(|reason| corrupt(id, &reason))?;
        let now = now();
        if record.state == State::Sending && record.lease.as_ref().is_some_and(|l| l.expires >= now)
        {
            return Err(Error::new(
                Kind::Io,
                format!("outbox entry {id} is being sent now; try again when it is done"),
            ));
        }
        let was_final = record.state.is_final();
        change(&mut record)?;
        if was_final && !record.state.is_final() && !has_message {
            return Err(Error::invalid_input(format!(
                "outbox entry {id}: its message was not kept, so it cannot be sent again"
            )));
        }
        if !record.state.is_final() {
            record.lease = None;
        }
        let mut params = write_params(&record, now)?;
        params.push(id.as_str().into());
        // Given up by a user: its message goes, as a spool's does.
        let sql = if record.state.is_final() && !was_final {
            &self.sql.write_dropping_body
        } else {
            &self.sql.write
        };
        tx.exec_drop(sql, Params::Positional(params))
            .map_err(|e| self.error(&format!("cannot save entry {id}"), e))?;
        tx.commit()
            .map_err(|e| self.error(&format!("cannot save entry {id}"), e))?;
        Ok(record)
    }

    fn prune(&self, before: i64) -> Result<usize> {
        let _quiet = crate::sigpipe::Blocked::new();
        drop(self.writer.settle()?);
        let mut conn = self.conn()?;
        conn.exec_drop(&self.sql.prune, (before,))
            .map_err(|e| self.error("cannot prune", e))?;
        Ok(usize::try_from(conn.affected_rows()).unwrap_or(usize::MAX))
    }

    fn sync(&self) -> Result<()> {
        let _quiet = crate::sigpipe::Blocked::new();
        // Durable once committed, as the server's settings make commits (InnoDB's default
        // flushes the log at each one).
        self.writer.flush()
    }
}

/// A database error with where it happened; the password never appears (the URL is not
/// repeated, and a server or driver message that happened to hold it is cleaned).
fn error(location: &Location, what: &str, e: mysql::Error) -> Error {
    let mut cause = match &e {
        mysql::Error::DriverError(e) => e.to_string(),
        mysql::Error::MySqlError(e) => e.to_string(),
        mysql::Error::IoError(e) => e.to_string(),
        mysql::Error::CodecError(e) => e.to_string(),
        mysql::Error::TlsError(e) => e.to_string(),
        e => e.to_string(),
    };
    if let Some(password) = location.password.as_deref().filter(|p| p.len() >= 3) {
        cause = cause.replace(password, "********");
    }
    Error::new(
        Kind::Io,
        format!("{}: {what}: {cause}", location.describe()),
    )
}

fn no_entry(id: &EntryId) -> Error {
    Error::invalid_input(format!("outbox: there is no entry {id}"))
}

fn corrupt(id: &EntryId, reason: &str) -> Error {
    Error::new(
        Kind::Io,
        format!("outbox entry {id} cannot be read: {reason} (the next run quarantines it)"),
    )
}

fn quarantined(id: &EntryId, reason: Option<&str>) -> Error {
    Error::new(
        Kind::Io,
        format!(
            "outbox entry {id} was quarantined: {}",
            reason.unwrap_or("no reason recorded")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_show_the_table_the_library_creates() {
        let docs = include_str!("../../../docs/outbox.md");
        assert!(
            docs.contains(&create_table(DEFAULT_TABLE)),
            "docs/outbox.md must show create_table(\"{DEFAULT_TABLE}\") as it is:\n{}",
            create_table(DEFAULT_TABLE)
        );
    }

    #[test]
    fn row_states_read_as_record_states() {
        assert_eq!(parse_state("queued"), Some(State::Queued));
        assert_eq!(parse_state("held"), Some(State::Held));
        assert_eq!(parse_state(QUARANTINED), None);
    }
}
