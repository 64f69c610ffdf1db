//! The spool directory: the outbox's embedded store, one machine, no server.
//!
//! ```text
//! DIR/queue/ID.entry   the entry: its header as one JSON line, then the rendered message
//!                      (or only the header, for a message description)
//! DIR/queue/ID.eml     a description's rendering, in the same form, written at its first attempt
//! DIR/queue/ID.json    its record, once it has one (an entry without is queued, untried)
//! DIR/done/ID.json     the records of sent, failed and cancelled entries (with .entry and .eml
//!                      while their message is kept)
//! DIR/quarantine/      entries that could not be read, each with ID.reason
//! DIR/tmp/             files being written; they become visible only by rename
//! ```
//!
//! An entry appears in `queue/` by one rename, after its data and then the directory were
//! synced: it is there whole or not at all. A worker claims an entry by an exclusive `flock` on
//! its `.entry` file, which the kernel releases when the worker's process ends, however it
//! ends: a killed worker's entries are free again at once. The spool is for one machine (`flock`
//! is not reliable over network file systems); several machines share a database instead.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::{Error, Kind, Result};
use crate::outbox::entry::{self, EntryHeader, Rendered};
use crate::outbox::record::{EntryId, Lease, Record, State};
use crate::outbox::store::{Claimed, Filter, Store, Want};

/// Until when an entry waits (Unix seconds), and its record's modification time then.
type Waiting = (i64, Option<SystemTime>);

/// The subdirectories of `tmp/` that new entries are written in (an entry id's last digit).
const SHARDS: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f",
];

/// Files in `tmp/` older than this were left by a writer that died.
const STALE_TMP_SECS: u64 = 3600;

pub(crate) struct Spool {
    dir: PathBuf,
    queue: PathBuf,
    done: PathBuf,
    tmp: PathBuf,
    quarantine: PathBuf,
    /// Entries this process saw waiting (deferred, held), until when it need not look again,
    /// and their record's modification time then: a run over a long queue reads each waiting
    /// record once, not once per batch, and a `retry` by another process (a new record) is
    /// seen at once.
    waiting: Mutex<HashMap<EntryId, Waiting>>,
}

/// The proof of a claim: the `.entry` file, open and locked, and where the message is.
struct SpoolClaim {
    lock: File,
    body: PathBuf,
    body_offset: u64,
}

impl Spool {
    /// Open the spool in `dir`, creating it (and its subdirectories) if needed.
    pub(crate) fn open(dir: &Path) -> Result<Spool> {
        let spool = Spool {
            dir: dir.to_path_buf(),
            queue: dir.join("queue"),
            done: dir.join("done"),
            tmp: dir.join("tmp"),
            quarantine: dir.join("quarantine"),
            waiting: Mutex::new(HashMap::new()),
        };
        for sub in [&spool.queue, &spool.done, &spool.tmp, &spool.quarantine] {
            fs::create_dir_all(sub).map_err(|e| spool.io("create", sub, e))?;
        }
        for shard in SHARDS {
            let sub = spool.tmp.join(shard);
            fs::create_dir_all(&sub).map_err(|e| spool.io("create", &sub, e))?;
        }
        spool.remove_stale_tmp();
        Ok(spool)
    }

    fn io(&self, what: &str, path: &Path, e: io::Error) -> Error {
        Error::new(
            Kind::Io,
            format!(
                "outbox spool {}: cannot {what} {}: {e}",
                self.dir.display(),
                path.display()
            ),
        )
        .with_source(e)
    }

    fn remove_stale_tmp(&self) {
        let shards = SHARDS.iter().map(|shard| self.tmp.join(shard));
        let entries = std::iter::once(self.tmp.clone())
            .chain(shards)
            .filter_map(|dir| fs::read_dir(dir).ok())
            .flatten();
        for entry in entries.flatten().filter(|e| e.path().is_file()) {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > STALE_TMP_SECS);
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Write `header` and `body` to a new file in `tmp/`, synced; the caller renames it.
    fn write_entry_file(
        &self,
        header: &EntryHeader,
        body: &mut dyn Read,
        suffix: &str,
    ) -> Result<PathBuf> {
        // Creating files in one directory takes its lock in turn: entries written at the same
        // time go to one of 16 directories (by the id's last digit), so they are created in
        // parallel.
        let shard = header.id.as_str().get(29..).unwrap_or("0");
        let tmp =
            self.tmp
                .join(shard)
                .join(format!("{}.{suffix}.{}", header.id, std::process::id()));
        let result = (|| -> io::Result<()> {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(&entry::header_line(header)?)?;
            io::copy(body, &mut file)?;
            file.sync_data()
        })();
        match result {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(self.io("write", &tmp, e))
            }
        }
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.io("sync", dir, e))
    }

    /// Write `record` as `dir/ID.json` by rename, so a reader sees the old or the new one.
    fn write_record(&self, dir: &Path, record: &Record) -> Result<()> {
        let path = dir.join(format!("{}.json", record.id));
        let tmp = self
            .tmp
            .join(format!("{}.json.{}", record.id, std::process::id()));
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| {
            Error::new(
                Kind::Io,
                format!("outbox: cannot write the record of {}: {e}", record.id),
            )
        })?;
        fs::write(&tmp, bytes)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                self.io("write", &path, e)
            })
    }

    fn read_record(path: &Path) -> io::Result<Option<Record>> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The header line of an entry file, and where the message starts.
    fn read_header(file: &File) -> io::Result<(EntryHeader, u64)> {
        entry::read_header_line(file)
    }

    /// The ids of the entries in `dir` (by their `.entry` or `.json` files), oldest first.
    fn ids(&self, dir: &Path, extension: &str) -> Result<Vec<EntryId>> {
        let mut ids: Vec<EntryId> = fs::read_dir(dir)
            .map_err(|e| self.io("read", dir, e))?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                EntryId::parse(name.strip_suffix(extension)?)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn paths(&self, dir: &Path, id: &EntryId) -> [PathBuf; 3] {
        ["entry", "eml", "json"].map(|ext| dir.join(format!("{id}.{ext}")))
    }

    /// Move an unreadable entry aside with the reason, so a run goes on without it.
    fn quarantine(&self, id: &EntryId, reason: &str) {
        for path in self.paths(&self.queue, id) {
            if let Some(name) = path.file_name() {
                let _ = fs::rename(&path, self.quarantine.join(name));
            }
        }
        let _ = fs::write(self.quarantine.join(format!("{id}.reason")), reason);
    }

    /// Try to claim one entry: lock it, and read its header and record.
    fn try_claim(&self, id: &EntryId, now: i64, settings: &str) -> Result<Option<Claimed>> {
        let entry_path = self.queue.join(format!("{id}.entry"));
        let file = match OpenOptions::new().read(true).write(true).open(&entry_path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("open", &entry_path, e)),
        };
        if !try_lock(&file) {
            return Ok(None);
        }
        // Locked: but a worker that finished it may have removed it meanwhile.
        match (file.metadata(), fs::metadata(&entry_path)) {
            (Ok(held), Ok(now_there)) if held.ino() == now_there.ino() => {}
            _ => return Ok(None),
        }
        let [_, eml_path, record_path] = self.paths(&self.queue, id);
        if self.done.join(format!("{id}.json")).exists() {
            // Its worker recorded the end and died before clearing the queue: finish that.
            self.clear_queue_files(id, None);
            return Ok(None);
        }
        if attribute_record(&file).is_some_and(|r| r.state.is_final()) {
            // Its outcome is on it already: the move to done/ was cut short.
            self.clear_queue_files(id, Some(self.done.as_path()));
            return Ok(None);
        }
        let (header, body, offset) = match self.rendering(&file, &entry_path, &eml_path) {
            Ok(found) => found,
            Err(e) => {
                self.quarantine(id, &format!("its message cannot be read: {e}"));
                return Ok(None);
            }
        };
        if &header.id != id {
            self.quarantine(
                id,
                &format!("its header names another entry, {}", header.id),
            );
            return Ok(None);
        }
        if let Err(e) = header.check_format() {
            self.quarantine(id, &e.message());
            return Ok(None);
        }
        let mut record = match Self::read_record(&record_path) {
            Ok(Some(record)) => record,
            Ok(None) => header.first_record(),
            Err(e) => {
                self.quarantine(id, &format!("its record cannot be read: {e}"));
                return Ok(None);
            }
        };
        if let Some(lease) = claim_mark(&file) {
            // Marked by a worker that no longer holds the lock: it stopped while sending.
            record.state = State::Sending;
            record.lease = Some(lease);
        }
        let due = match record.state {
            State::Queued | State::Deferred => record.due <= now,
            // Locked by nobody: whoever was sending it is gone.
            State::Sending => true,
            // Held under other connection settings: the change may have cured it.
            State::Held => record.held_settings.as_deref() != Some(settings),
            State::Sent | State::Failed | State::Cancelled => false,
        };
        if !due {
            let until = if record.state == State::Held {
                i64::MAX
            } else {
                record.due
            };
            let seen = self.record_mtime(id);
            self.lock_waiting().insert(id.clone(), (until, seen));
            return Ok(None);
        }
        Ok(Some(Claimed {
            header,
            was: record.state,
            record,
            token: Box::new(SpoolClaim {
                lock: file,
                body,
                body_offset: offset,
            }),
        }))
    }

    /// The header and the message of an entry: its rendering when it has one.
    fn rendering(
        &self,
        entry: &File,
        entry_path: &Path,
        eml_path: &Path,
    ) -> io::Result<(EntryHeader, PathBuf, u64)> {
        match File::open(eml_path) {
            Ok(eml) => {
                let (header, offset) = Self::read_header(&eml)?;
                Ok((header, eml_path.to_path_buf(), offset))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (header, offset) = Self::read_header(entry)?;
                Ok((header, entry_path.to_path_buf(), offset))
            }
            Err(e) => Err(e),
        }
    }

    fn record_mtime(&self, id: &EntryId) -> Option<SystemTime> {
        fs::metadata(self.queue.join(format!("{id}.json")))
            .and_then(|m| m.modified())
            .ok()
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, HashMap<EntryId, Waiting>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remove an entry's files from `queue/`, moving its message to `keep_in` if given.
    fn clear_queue_files(&self, id: &EntryId, keep_in: Option<&Path>) {
        let [entry, eml, json] = self.paths(&self.queue, id);
        let _ = fs::remove_file(json);
        for path in [eml, entry] {
            match (keep_in, path.file_name()) {
                (Some(dir), Some(name)) => {
                    let _ = fs::rename(&path, dir.join(name));
                }
                _ => {
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }

    /// Take the maintenance lock: retry, cancel and prune never run at the same time.
    fn maintenance(&self) -> Result<File> {
        let path = self.dir.join("maintenance.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.io("open", &path, e))?;
        // SAFETY: flock on a descriptor this function owns; a blocking exclusive lock.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(self.io("lock", &path, io::Error::last_os_error()));
        }
        Ok(file)
    }
}

/// The extended attribute that marks an entry file as being sent, holding the lease as JSON.
const CLAIM_MARK: &std::ffi::CStr = c"user.mailport.claim";

/// Mark the (locked) entry `file` as claimed under `lease`; false where the file system keeps
/// no user attributes.
fn mark_claimed(file: &File, lease: &Lease) -> bool {
    let Ok(value) = serde_json::to_vec(lease) else {
        return false;
    };
    // SAFETY: a descriptor `file` owns, a NUL-terminated name, and a buffer of `value.len()`
    // bytes, all valid for the duration of the call.
    let rc = unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            CLAIM_MARK.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    rc == 0
}

/// The lease in an entry file's claim mark, if it has one.
fn claim_mark(file: &File) -> Option<Lease> {
    let mut buf = [0u8; 512];
    // SAFETY: a descriptor `file` owns, a NUL-terminated name, and a writable buffer of
    // `buf.len()` bytes, all valid for the duration of the call.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            CLAIM_MARK.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).ok()?;
    serde_json::from_slice(buf.get(..n)?).ok()
}

/// Remove the claim mark (nothing to do where there is none).
fn clear_mark(file: &File) {
    // SAFETY: a descriptor `file` owns and a NUL-terminated name, valid during the call.
    unsafe { libc::fremovexattr(file.as_raw_fd(), CLAIM_MARK.as_ptr()) };
}

/// The extended attribute that carries a finished entry's record on its entry file.
const RECORD_ATTRIBUTE: &std::ffi::CStr = c"user.mailport.record";

/// Put `record` on the entry `file`; false when the file system keeps no user attributes or
/// the record is too large for one (then it goes to a file of its own).
fn set_attribute_record(file: &File, record: &Record) -> bool {
    let Ok(value) = serde_json::to_vec(record) else {
        return false;
    };
    // SAFETY: a descriptor `file` owns, a NUL-terminated name, and a buffer of `value.len()`
    // bytes, all valid for the duration of the call.
    let rc = unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            RECORD_ATTRIBUTE.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    rc == 0
}

/// The record on an entry file, if it carries one.
fn attribute_record(file: &File) -> Option<Record> {
    // SAFETY: asking for the size only: a descriptor `file` owns, a NUL-terminated name, and a
    // NULL buffer of length 0.
    let size = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            RECORD_ATTRIBUTE.as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    let mut buf = vec![0u8; usize::try_from(size).ok()?];
    // SAFETY: a descriptor `file` owns, a NUL-terminated name, and a writable buffer of
    // `buf.len()` bytes, all valid for the duration of the call.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            RECORD_ATTRIBUTE.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    serde_json::from_slice(buf.get(..usize::try_from(n).ok()?)?).ok()
}

fn clear_attribute_record(file: &File) {
    // SAFETY: a descriptor `file` owns and a NUL-terminated name, valid during the call.
    unsafe { libc::fremovexattr(file.as_raw_fd(), RECORD_ATTRIBUTE.as_ptr()) };
}

/// An exclusive lock on `file` if nobody holds one.
fn try_lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor `file` owns for the duration of the call.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

impl Store for Spool {
    fn enqueue(&self, header: &EntryHeader, body: &mut dyn Read) -> Result<()> {
        let tmp = self.write_entry_file(header, body, "entry")?;
        let path = self.queue.join(format!("{}.entry", header.id));
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(self.io("move into the queue", &tmp, e));
        }
        self.sync_dir(&self.queue)
    }

    fn claim(&self, want: &Want<'_>) -> Result<Vec<Claimed>> {
        let Want {
            owner,
            settings,
            skip,
            now,
            lease_until,
            limit,
        } = *want;
        let mut claimed = Vec::new();
        for id in self.ids(&self.queue, ".entry")? {
            if claimed.len() >= limit {
                break;
            }
            if skip.contains(&id) {
                continue;
            }
            let waits = self.lock_waiting().get(&id).copied();
            if let Some((until, seen)) = waits {
                if until > now && self.record_mtime(&id) == seen {
                    continue;
                }
            }
            if let Some(mut claim) = self.try_claim(&id, now, settings)? {
                if claim.record.state == State::Sending {
                    // Its worker stopped mid-way: the message may already have gone out.
                    claim.record.maybe_delivered = true;
                }
                claim.record.state = State::Sending;
                let lease = Lease {
                    owner: owner.to_string(),
                    expires: lease_until,
                };
                // An attribute on the locked entry file says it is being sent; only where the
                // file system has none is the record written for that (a new file each time).
                let marked = mark_claimed(&token(&claim)?.lock, &lease);
                claim.record.lease = Some(lease);
                if !marked {
                    self.write_record(&self.queue, &claim.record)?;
                }
                claimed.push(claim);
            }
        }
        Ok(claimed)
    }

    fn body(&self, claimed: &Claimed) -> Result<Box<dyn Read + Send>> {
        let claim = token(claimed)?;
        let mut file = File::open(&claim.body).map_err(|e| self.io("open", &claim.body, e))?;
        file.seek(SeekFrom::Start(claim.body_offset))
            .map_err(|e| self.io("read", &claim.body, e))?;
        Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
    }

    fn store_rendering(&self, claimed: &mut Claimed, mut rendered: Rendered) -> Result<()> {
        let id = claimed.header.id.clone();
        let tmp = self.write_entry_file(&rendered.header, &mut rendered.stream, "eml")?;
        let path = self.queue.join(format!("{id}.eml"));
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.io("move into the queue", &tmp, e)
        })?;
        self.sync_dir(&self.queue)?;
        let file = File::open(&path).map_err(|e| self.io("open", &path, e))?;
        let (header, offset) = Self::read_header(&file).map_err(|e| self.io("read", &path, e))?;
        let claim = token_mut(claimed)?;
        claim.body = path;
        claim.body_offset = offset;
        claimed.header = header;
        Ok(())
    }

    fn save(&self, claimed: &mut Claimed, keep_body: bool) -> Result<()> {
        let record = &claimed.record;
        let lock = &token(claimed)?.lock;
        if !record.state.is_final() {
            self.write_record(&self.queue, record)?;
            clear_mark(lock);
            if matches!(record.state, State::Deferred | State::Held) {
                let until = if record.state == State::Held {
                    i64::MAX
                } else {
                    record.due
                };
                let seen = self.record_mtime(&record.id);
                self.lock_waiting().insert(record.id.clone(), (until, seen));
            }
            return Ok(());
        }
        // The record in done/ first: once it is there, the entry is finished even if the
        // queue's files outlive a crash (the next claim clears them).
        clear_mark(lock);
        if set_attribute_record(lock, record) {
            // The outcome travels with the entry file (no new file): a sent body is cut off.
            if !keep_body {
                let claim = token(claimed)?;
                if claim.body.extension().is_some_and(|e| e == "entry") {
                    let _ = claim.lock.set_len(claim.body_offset);
                }
                let _ = fs::remove_file(self.queue.join(format!("{}.eml", record.id)));
            }
            self.clear_queue_files(&record.id, Some(self.done.as_path()));
        } else {
            // The record in done/ first: once it is there, the entry is finished even if the
            // queue's files outlive a crash (the next claim clears them).
            self.write_record(&self.done, record)?;
            self.clear_queue_files(&record.id, keep_body.then_some(self.done.as_path()));
        }
        self.lock_waiting().remove(&record.id);
        Ok(())
    }

    fn list(&self, filter: &Filter) -> Result<Vec<Record>> {
        let mut records = Vec::new();
        for id in self.ids(&self.queue, ".entry")? {
            if let Some(record) = self.queued_record(&id)? {
                records.push(record);
            }
        }
        for id in self.done_ids()? {
            if let Ok(Some(record)) = self.done_record(&id) {
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        records.retain(|r| filter.admits(r.state));
        if let Some(limit) = filter.limit {
            records.truncate(limit);
        }
        Ok(records)
    }

    fn get(&self, id: &EntryId) -> Result<Record> {
        if let Some(record) = self.queued_record(id)? {
            return Ok(record);
        }
        self.done_record(id)?.ok_or_else(|| no_entry(id))
    }

    fn update(
        &self,
        id: &EntryId,
        change: &mut dyn FnMut(&mut Record) -> Result<()>,
    ) -> Result<Record> {
        let _maintenance = self.maintenance()?;
        let entry_path = self.queue.join(format!("{id}.entry"));
        if let Ok(file) = File::open(&entry_path) {
            if !try_lock(&file) {
                return Err(Error::new(
                    Kind::Io,
                    format!("outbox entry {id} is being sent now; try again when it is done"),
                ));
            }
            let mut record = self.queued_record(id)?.ok_or_else(|| no_entry(id))?;
            change(&mut record)?;
            clear_mark(&file);
            self.lock_waiting().remove(id);
            if record.state.is_final() {
                self.write_record(&self.done, &record)?;
                self.clear_queue_files(id, None);
            } else {
                self.write_record(&self.queue, &record)?;
            }
            return Ok(record);
        }
        let done_json = self.done.join(format!("{id}.json"));
        let mut record = self.done_record(id)?.ok_or_else(|| no_entry(id))?;
        change(&mut record)?;
        if record.state.is_final() {
            self.write_record(&self.done, &record)?;
            return Ok(record);
        }
        // Back to the queue: only with its message.
        let [entry, eml, _] = self.paths(&self.done, id);
        if !entry.exists() {
            return Err(Error::invalid_input(format!(
                "outbox entry {id}: its message was not kept, so it cannot be sent again"
            )));
        }
        self.write_record(&self.queue, &record)?;
        if let Ok(file) = File::open(&entry) {
            // Queued again: its outcome no longer stands.
            clear_attribute_record(&file);
        }
        for path in [eml, entry] {
            if let Some(name) = path.file_name() {
                match fs::rename(&path, self.queue.join(name)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(self.io("move back into the queue", &path, e));
                    }
                    _ => {}
                }
            }
        }
        let _ = fs::remove_file(&done_json);
        Ok(record)
    }

    fn prune(&self, before: i64) -> Result<usize> {
        let _maintenance = self.maintenance()?;
        let mut removed = 0;
        for id in self.done_ids()? {
            let Ok(Some(record)) = self.done_record(&id) else {
                continue;
            };
            let last = record.attempts.last().map_or(record.created, |a| a.at);
            if record.state.is_final() && last < before {
                for path in self.paths(&self.done, &id) {
                    let _ = fs::remove_file(path);
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn sync(&self) -> Result<()> {
        // Records live in files and in attributes of entry files: sync the whole file system
        // the spool is on, which covers both (and costs one journal commit, like a directory
        // sync).
        #[cfg(target_os = "linux")]
        {
            let dir = File::open(&self.dir).map_err(|e| self.io("open", &self.dir, e))?;
            // SAFETY: syncfs on a descriptor `dir` owns for the duration of the call.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(self.io("sync", &self.dir, io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        for dir in [&self.queue, &self.done] {
            self.sync_dir(dir)?;
        }
        Ok(())
    }
}

impl Spool {
    /// The record of an entry in `queue/`: its own, or the first one from its header.
    /// The ids of finished entries: by their record file, or their entry file carrying it.
    fn done_ids(&self) -> Result<Vec<EntryId>> {
        let mut ids = self.ids(&self.done, ".json")?;
        ids.extend(self.ids(&self.done, ".entry")?);
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// A finished entry's record: its file, or the attribute of its entry file.
    fn done_record(&self, id: &EntryId) -> Result<Option<Record>> {
        let [entry, _, json] = self.paths(&self.done, id);
        match Self::read_record(&json) {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(e) => return Err(self.io("read", &json, e)),
        }
        Ok(File::open(&entry).ok().and_then(|f| attribute_record(&f)))
    }

    /// The record of an entry in `queue/`: its own, or the first one from its header; shown as
    /// `sending` under the lease of a claim mark.
    fn queued_record(&self, id: &EntryId) -> Result<Option<Record>> {
        let [entry, _, json] = self.paths(&self.queue, id);
        let file = match File::open(&entry) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("open", &entry, e)),
        };
        let mut record = match Self::read_record(&json) {
            Ok(Some(record)) => record,
            Ok(None) => Self::read_header(&file)
                .map_err(|e| self.io("read", &entry, e))?
                .0
                .first_record(),
            Err(e) => return Err(self.io("read", &json, e)),
        };
        if let Some(lease) = claim_mark(&file) {
            record.state = State::Sending;
            record.lease = Some(lease);
        }
        Ok(Some(record))
    }
}

fn token(claimed: &Claimed) -> Result<&SpoolClaim> {
    claimed
        .token
        .downcast_ref::<SpoolClaim>()
        .ok_or_else(|| Error::new(Kind::Io, "outbox: a claim from another store"))
}

fn token_mut(claimed: &mut Claimed) -> Result<&mut SpoolClaim> {
    claimed
        .token
        .downcast_mut::<SpoolClaim>()
        .ok_or_else(|| Error::new(Kind::Io, "outbox: a claim from another store"))
}

fn no_entry(id: &EntryId) -> Error {
    Error::invalid_input(format!("outbox: there is no entry {id}"))
}
