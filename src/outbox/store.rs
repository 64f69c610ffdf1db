//! The storage interface of the outbox: what a spool directory and a database table both do.
//!
//! A store keeps entries durable and hands each one to one worker at a time. Everything about
//! delivery (what to send, what a reply means, when to try again) is decided in
//! [`super::deliver`], never here.

use std::collections::HashSet;
use std::io::Read;

use crate::error::Result;
use crate::outbox::entry::{EntryHeader, Rendered};
use crate::outbox::record::{EntryId, Record, State};

/// An entry a worker holds: no other worker gets it until it is saved in a final or waiting
/// state, the worker's process ends, or (in a database) its lease expires.
pub(crate) struct Claimed {
    pub header: EntryHeader,
    pub record: Record,
    /// The state it had before this claim.
    pub was: State,
    /// What proves the claim to the store (an open, locked file; a lease owner).
    pub(crate) token: Box<dyn std::any::Any + Send>,
}

/// Which entries [`Store::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these states (all when empty).
    pub states: Vec<State>,
    /// At most this many, oldest first (all when `None`).
    pub limit: Option<usize>,
}

impl Filter {
    pub(crate) fn admits(&self, state: State) -> bool {
        self.states.is_empty() || self.states.contains(&state)
    }
}

/// What a worker asks [`Store::claim`] for: up to `limit` entries that are due at `now` (queued
/// or deferred with `due` reached, sending under a lease that expired, or held under connection
/// settings other than `settings`), oldest first, for `owner` until `lease_until`; never those in
/// `skip` (the ones this run already tried).
#[derive(Clone, Copy)]
pub(crate) struct Want<'a> {
    pub owner: &'a str,
    pub settings: &'a str,
    pub skip: &'a HashSet<EntryId>,
    pub now: i64,
    pub lease_until: i64,
    pub limit: usize,
}

pub(crate) trait Store: Send + Sync {
    /// Store a new entry; return only once it is durable (it survives a crash of the machine).
    fn enqueue(&self, header: &EntryHeader, body: &mut dyn Read) -> Result<()>;

    /// Claim what `want` asks for. Entries that cannot be read are quarantined with the reason
    /// and skipped.
    fn claim(&self, want: &Want<'_>) -> Result<Vec<Claimed>>;

    /// The rendered message of a claimed entry, and its size.
    fn body(&self, claimed: &Claimed) -> Result<Box<dyn Read + Send>>;

    /// Keep the rendering of a claimed message description, so that every attempt sends the
    /// same bytes; the claim's header becomes the rendered one.
    fn store_rendering(&self, claimed: &mut Claimed, rendered: Rendered) -> Result<()>;

    /// Save the record of a claimed entry. A state other than `sending` ends the claim; a final
    /// one moves the entry to the records (its body dropped when `keep_body` is false).
    fn save(&self, claimed: &mut Claimed, keep_body: bool) -> Result<()>;

    /// Every entry's record that `filter` admits, oldest first.
    fn list(&self, filter: &Filter) -> Result<Vec<Record>>;

    /// One entry's record.
    fn get(&self, id: &EntryId) -> Result<Record>;

    /// Change an entry no worker holds: `change` gets its record and says whether to save it.
    /// Used by retry and cancel; fails when a worker is sending it now.
    fn update(
        &self,
        id: &EntryId,
        change: &mut dyn FnMut(&mut Record) -> Result<()>,
    ) -> Result<Record>;

    /// Remove the records of entries in a final state last touched before `before` (Unix
    /// seconds); returns how many.
    fn prune(&self, before: i64) -> Result<usize>;

    /// Make saved records durable (the spool syncs them in batches rather than one by one).
    fn sync(&self) -> Result<()>;
}
