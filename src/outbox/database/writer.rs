//! Saves committed in the background. A worker hands the record of each entry it finished to a
//! writer thread and goes on to its next message while the database commits that record; the
//! writer commits every save waiting for it in one transaction, so that one flush of the redo log
//! serves a group. Committed one by one, each message waited for its own flush and for two round
//! trips, and a worker drained at a fraction of the direct-send rate (BENCHMARKS.md, S6).
//!
//! What this costs: a worker killed between the server's reply and the commit of its record
//! leaves the entry under its lease, and it is sent again, flagged "may have been delivered",
//! when the lease expires: the window SMTP cannot close, widened by the time of one commit.
//! [`Writer::flush`] waits until everything handed over is committed, and reports a save that
//! failed (a claim lost to another worker, a database that went away).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use mysql::prelude::Queryable;
use mysql::{Params, Pool, PooledConn, TxOpts, Value};

use crate::error::{Error, Kind, Result};

use super::{Location, error};

/// At most this many saves in one transaction: a group is committed while the next one forms.
const GROUP: usize = 64;
/// Saves handed over and not yet committed, at most: a worker that gets this far ahead of the
/// database waits for it.
const BACKLOG: usize = 256;

/// One `UPDATE` of an entry's row, conditioned on the claim (its owner).
pub(super) struct Save {
    pub id: String,
    pub sql: Arc<str>,
    pub params: Vec<Value>,
}

pub(super) struct Writer {
    pool: Pool,
    location: Location,
    shared: Arc<Shared>,
    /// The thread and its queue, started with the first save.
    running: Mutex<Option<Running>>,
}

struct Running {
    saves: SyncSender<Save>,
    thread: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

#[derive(Default)]
pub(super) struct Progress {
    handed_over: u64,
    /// Committed, or given up on with `failure` set.
    done: u64,
    /// The first failure not yet reported to a caller.
    failure: Option<Error>,
}

impl Shared {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Writer {
    pub(super) fn new(pool: Pool, location: Location) -> Writer {
        Writer {
            pool,
            location,
            shared: Arc::default(),
            running: Mutex::new(None),
        }
    }

    /// Hand `save` to the writer, then fail with the failure of an earlier save not yet
    /// reported, if there is one: `save` is made all the same (its message went out), and the
    /// run stops.
    pub(super) fn submit(&self, save: Save) -> Result<()> {
        let saves = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if running.is_none() {
                *running = Some(self.start()?);
            }
            running.as_ref().map(|r| r.saves.clone())
        };
        let Some(saves) = saves else {
            return Err(self.stopped());
        };
        self.shared.progress().handed_over += 1;
        let sent = match saves.try_send(save) {
            Ok(()) => Ok(()),
            // The writer is behind: wait for room.
            Err(TrySendError::Full(save)) => saves.send(save).map_err(|_| ()),
            Err(TrySendError::Disconnected(_)) => Err(()),
        };
        let mut progress = self.shared.progress();
        if sent.is_err() {
            progress.done += 1;
            self.shared.changed.notify_all();
            return Err(self.stopped());
        }
        match progress.failure.take() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// Wait until every save handed over so far is committed; the first that failed since the
    /// last report is the error.
    pub(super) fn flush(&self) -> Result<()> {
        match self.settle()?.failure.take() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// Wait until every save handed over so far is done (so that this process reads its own
    /// writes), leaving a failure for [`Writer::flush`] to report.
    pub(super) fn settle(&self) -> Result<MutexGuard<'_, Progress>> {
        let mut progress = self.shared.progress();
        let target = progress.handed_over;
        while progress.done < target {
            let finished = self
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .is_none_or(|r| r.thread.is_finished());
            if finished {
                return Err(self.stopped());
            }
            progress = self
                .shared
                .changed
                .wait_timeout(progress, std::time::Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(progress)
    }

    fn stopped(&self) -> Error {
        Error::new(
            Kind::Io,
            format!(
                "{}: the thread that saves records stopped; the entries it held stay claimed \
                 until their leases expire, then are sent again",
                self.location.describe()
            ),
        )
    }

    fn start(&self) -> Result<Running> {
        let (saves, queue) = sync_channel(BACKLOG);
        let pool = self.pool.clone();
        let location = self.location.clone();
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("mailport-outbox-writer".into())
            .spawn(move || {
                // Our own thread, writing to the database for its whole life: SIGPIPE stays
                // blocked in it rather than kill a host with the default disposition.
                let _quiet = crate::sigpipe::Blocked::new();
                write(&pool, &location, &shared, &queue)
            })
            .map_err(|e| {
                Error::new(
                    Kind::Io,
                    format!(
                        "{}: cannot start the thread that saves records: {e}",
                        self.location.describe()
                    ),
                )
                .with_source(e)
            })?;
        Ok(Running { saves, thread })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Running { saves, thread }) = running {
            // The queue closes; the thread commits what it holds and ends.
            drop(saves);
            let _ = thread.join();
        }
    }
}

/// The writer thread: commit what is waiting, in groups, until the queue closes.
fn write(pool: &Pool, location: &Location, shared: &Shared, queue: &Receiver<Save>) {
    let mut conn: Option<PooledConn> = None;
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match queue.try_recv() {
                Ok(save) => group.push(save),
                Err(_) => break,
            }
        }
        let count = group.len() as u64;
        let result = commit(pool, &mut conn, location, group);
        if result.is_err() {
            conn = None; // Perhaps broken: the next group takes a fresh one.
        }
        let mut progress = shared.progress();
        progress.done += count;
        if let Err(e) = result {
            progress.failure.get_or_insert(e);
        }
        shared.changed.notify_all();
    }
}

/// Commit `group` in one transaction. A save whose claim was lost matches no row: the others
/// are committed, and the lost one is the error.
fn commit(
    pool: &Pool,
    conn: &mut Option<PooledConn>,
    location: &Location,
    group: Vec<Save>,
) -> Result<()> {
    let first = group.first().map(|s| s.id.clone()).unwrap_or_default();
    let failed = |e: mysql::Error| {
        error(
            location,
            &format!("cannot save entry {first} and the ones after it"),
            e,
        )
    };
    let conn = match conn {
        Some(conn) => conn,
        None => conn.insert(pool.get_conn().map_err(failed)?),
    };
    let mut tx = conn.start_transaction(TxOpts::default()).map_err(failed)?;
    let mut lost = Vec::new();
    for save in group {
        tx.exec_drop(&*save.sql, Params::Positional(save.params))
            .map_err(|e| error(location, &format!("cannot save entry {}", save.id), e))?;
        if tx.affected_rows() == 0 {
            lost.push(save.id);
        }
    }
    tx.commit().map_err(failed)?;
    match lost.first() {
        None => Ok(()),
        Some(id) => Err(super::lost(location, id)),
    }
}
