//! The process-wide cache of access tokens obtained with refresh grants.
//!
//! Every client of the process (the persistent pool's sessions, the outbox's workers, each PHP
//! request of a php-fpm worker) shares it, so a token is fetched once per lifetime rather than
//! once per connection: token endpoints rate-limit, and Microsoft's throttles hard.
//!
//! An entry is keyed by the token URL, the client id and the refresh token *as first
//! configured*, and keeps the *current* refresh token: after the endpoint rotates it, configs
//! still made with the old one (the site reads its settings at each request, and its storage may
//! lag behind the rotation callback) find the entry and use the new one. Each entry has its own
//! lock, held while refreshing, so concurrent clients needing a token make one request and the
//! rest wait for its answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use super::{RefreshGrant, Resolved, endpoint, usable_for};
use crate::config::{Config, Secret};
use crate::error::{Result, Step};
use crate::transcript::{Direction, Transcript};

/// The lifetime assumed for a token whose response gave none (RFC 6749 makes `expires_in`
/// optional): short, so an unknown lifetime is never trusted long; a refused token is refreshed
/// anyway.
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// At most this many grants are remembered; a process uses one or two.
const MAX_ENTRIES: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// A cached token while it is usable, else a new one.
    Cached,
    /// A new one, whatever the cache holds (the connection check's refresh test).
    Fresh,
}

struct Access {
    token: Secret,
    usable_until: Instant,
    scope: Option<String>,
}

struct Entry {
    /// The refresh token to use now: the configured one until the endpoint rotates it.
    refresh_token: Secret,
    access: Option<Access>,
}

/// SHA-256 of what identifies a grant: the refresh token is not kept as a key in the clear.
type Key = [u8; 32];

static CACHE: Lazy<Mutex<HashMap<Key, Arc<Mutex<Entry>>>>> = Lazy::new(|| {
    crate::fork::protect_locks();
    Default::default()
});

/// The map's lock, for [`crate::fork`] to hold across `fork()`.
pub(crate) fn hold_for_fork() -> Box<dyn std::any::Any> {
    Box::new(CACHE.lock().unwrap_or_else(|p| p.into_inner()))
}

/// In a child of `fork()`, right after it (the only thread, and the map consistent, since the
/// forking thread held its lock): an entry whose own lock is held belonged to a refresh in
/// flight in another thread of the parent, which does not exist here and will never release it.
/// Forget such an entry — the child refreshes with the grant it is given when it needs a token —
/// rather than leave every client of the child that uses the grant waiting for ever. The
/// entries nobody held are kept: their tokens are as good in the child as in the parent.
pub(crate) fn after_fork_in_child() {
    forget_held(&mut CACHE.lock().unwrap_or_else(|p| p.into_inner()));
}

fn forget_held(map: &mut HashMap<Key, Arc<Mutex<Entry>>>) {
    map.retain(|_, entry| !matches!(entry.try_lock(), Err(std::sync::TryLockError::WouldBlock)));
}

fn key(grant: &RefreshGrant) -> Key {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        grant.token_url().unwrap_or_default().as_str(),
        &grant.client_id,
        grant.refresh_token.expose(),
    ] {
        ctx.update(part.as_bytes());
        ctx.update(b"\0");
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

fn entry(grant: &RefreshGrant) -> Arc<Mutex<Entry>> {
    let mut map = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key(grant)) {
        map.clear();
    }
    map.entry(key(grant))
        .or_insert_with(|| {
            Arc::new(Mutex::new(Entry {
                refresh_token: grant.refresh_token.clone(),
                access: None,
            }))
        })
        .clone()
}

/// An access token for `grant`, from the cache or the endpoint.
pub(crate) fn access_token(
    username: &str,
    grant: &RefreshGrant,
    config: &Config,
    want: Want,
    transcript: &mut Transcript,
    budget: Instant,
) -> Result<Resolved> {
    let url = grant.token_url()?;
    let entry = entry(grant);
    // Held across the request: the others needing this grant's token wait for its answer.
    let mut entry = entry.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if want == Want::Cached {
        if let Some(access) = entry.access.as_ref().filter(|a| a.usable_until > now) {
            transcript.record(
                Direction::Info,
                &format!(
                    "using the cached OAuth2 access token from {url} (usable for {} s more)",
                    access.usable_until.duration_since(now).as_secs()
                ),
            );
            return Ok(Resolved {
                token: access.token.clone(),
                usable_until: Some(access.usable_until),
                granted_scope: access.scope.clone(),
            });
        }
    }
    entry.access = None;
    transcript.record(
        Direction::Info,
        &format!(
            "refreshing the OAuth2 access token of {username:?} at {url} (client id {:?})",
            grant.client_id
        ),
    );
    let granted = endpoint::refresh(grant, &entry.refresh_token, config, budget)
        .map_err(|e| e.at_step(Step::Auth))?;
    let lifetime = granted.expires_in.filter(|d| !d.is_zero());
    let usable_until = Instant::now() + usable_for(lifetime.unwrap_or(UNKNOWN_LIFETIME));
    transcript.record(
        Direction::Info,
        &match lifetime {
            Some(d) => format!("got an OAuth2 access token valid for {} s", d.as_secs()),
            None => format!(
                "got an OAuth2 access token without a lifetime; using it for at most {} s",
                usable_for(UNKNOWN_LIFETIME).as_secs()
            ),
        },
    );
    let rotated = granted
        .refresh_token
        .filter(|new| *new != entry.refresh_token);
    if let Some(new) = &rotated {
        entry.refresh_token = new.clone();
    }
    entry.access = Some(Access {
        token: granted.access_token.clone(),
        usable_until,
        scope: granted.scope.clone(),
    });
    // The callback runs without the entry's lock: it may take its time storing the token, and
    // a callback that sends mail itself must not deadlock on this grant.
    drop(entry);
    if let Some(new) = rotated {
        match &grant.on_rotation {
            Some(callback) => {
                transcript.record(
                    Direction::Info,
                    "the token endpoint rotated the refresh token; handing the new one to the rotation callback",
                );
                callback(username, new.expose());
            }
            None => transcript.record(
                Direction::Info,
                "the token endpoint rotated the refresh token, and no rotation callback is set: the new one is kept in this process only; store it, or the next process starts with the old one",
            ),
        }
    }
    Ok(Resolved {
        token: granted.access_token,
        usable_until: Some(usable_until),
        granted_scope: granted.scope,
    })
}

/// Forget `token` if it is still the cached one (another client may have refreshed already).
pub(crate) fn forget(grant: &RefreshGrant, token: &Secret) {
    let entry = entry(grant);
    let mut entry = entry.lock().unwrap_or_else(|p| p.into_inner());
    if entry.access.as_ref().is_some_and(|a| a.token == *token) {
        entry.access = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::Provider;

    fn grant(refresh_token: &str) -> RefreshGrant {
        let mut grant = RefreshGrant::new(
            Provider::Custom,
            "fork-test-client",
            None,
            Secret::new(refresh_token),
        );
        grant.token_url = Some("https://fork-test.invalid/token".into());
        grant
    }

    #[test]
    fn a_forked_child_forgets_the_entries_a_vanished_thread_was_refreshing() {
        let (busy, idle) = (grant("fork-test-busy"), grant("fork-test-idle"));
        let fresh = |grant: &RefreshGrant| {
            Arc::new(Mutex::new(Entry {
                refresh_token: grant.refresh_token.clone(),
                access: None,
            }))
        };
        // A map of its own: the process-wide one is shared with tests running meanwhile.
        let mut map = HashMap::new();
        let held = fresh(&busy);
        // What a thread of the parent holds during a refresh, at the instant of the fork: in
        // the child nobody will ever release it.
        std::mem::forget(held.lock().unwrap());
        map.insert(key(&busy), held);
        let kept = fresh(&idle);
        map.insert(key(&idle), kept.clone());
        forget_held(&mut map);
        assert!(
            !map.contains_key(&key(&busy)),
            "the held entry is forgotten"
        );
        assert!(
            map.get(&key(&idle)).is_some_and(|e| Arc::ptr_eq(e, &kept)),
            "an entry nobody held is kept, with its tokens"
        );
    }
}
