//! OAuth 2.0 access tokens for AUTH XOAUTH2 and OAUTHBEARER: where a token comes from
//! ([`TokenSource`]), how a refresh token is exchanged for one at a token endpoint (RFC 6749 §6),
//! and the process-wide cache every client shares.
//!
//! The failures that make OAuth mail stop silently are each made explicit here: a refresh token
//! the endpoint rotated is handed to the caller's rotation callback (and kept in the cache, so
//! configs still holding the old one keep working in this process); a failed refresh is an
//! error of its own kind with a hint, never an empty bearer token sent to the server; a token
//! the server refuses is dropped and refreshed once, never in a loop. Tokens, refresh tokens
//! and client secrets never appear in a transcript, a log line or an error.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, Secret};
use crate::error::{Error, Kind, Result};
use crate::transcript::{Direction, Transcript};

mod cache;
mod endpoint;
mod http;
pub mod login;
pub mod provider;

pub(crate) use cache::{after_fork_in_child, hold_for_fork};

pub use provider::Provider;

/// Where the access token for AUTH XOAUTH2/OAUTHBEARER comes from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TokenSource {
    /// A token the caller obtained and keeps fresh itself; used as given, never refreshed.
    Fixed(Secret),
    /// A refresh token exchanged for access tokens at the provider's token endpoint, cached
    /// process-wide until shortly before they expire.
    Refresh(RefreshGrant),
    /// The caller's function, asked for a token each time a connection authenticates.
    Callback(TokenCallback),
}

impl TokenSource {
    /// Whether a refused token can be replaced by another (a fixed one cannot).
    pub(crate) fn renewable(&self) -> bool {
        !matches!(self, TokenSource::Fixed(_))
    }

    /// What identifies the source without its access token, for the connection pool: two
    /// configs with the same source share sessions whichever token authenticated them.
    /// Holds the refresh token: keep it wiped (the pool's key is).
    pub(crate) fn identity(&self) -> String {
        match self {
            TokenSource::Fixed(token) => format!("fixed:{}", token.expose()),
            TokenSource::Refresh(grant) => format!(
                "refresh:{}\0{}\0{}",
                grant.token_url().unwrap_or_default(),
                grant.client_id,
                grant.refresh_token.expose()
            ),
            TokenSource::Callback(callback) => format!("callback:{:p}", Arc::as_ptr(&callback.0)),
        }
    }
}

/// Receives a rotated refresh token: `(username, new_refresh_token)`. Store it where the old
/// one was kept (encrypted like a password): the old one may stop working at any time.
pub type RotationFn = dyn Fn(&str, &str) + Send + Sync;

/// A refresh token grant (RFC 6749 §6) against a token endpoint.
#[derive(Clone)]
pub struct RefreshGrant {
    pub provider: Provider,
    /// Microsoft's directory (tenant) id or domain; `common` when `None`.
    pub tenant: Option<String>,
    /// The token endpoint, overriding the provider's preset; required for [`Provider::Custom`].
    pub token_url: Option<String>,
    pub client_id: String,
    /// `None` for a public client (a native or device app registration has no secret).
    pub client_secret: Option<Secret>,
    /// The refresh token as configured. After a rotation the cache holds the newer one.
    pub refresh_token: Secret,
    /// The scope asked for, overriding the provider's preset (see [`Provider::default_scope`]).
    pub scope: Option<String>,
    /// Called with each new refresh token the endpoint returns (rotation).
    pub on_rotation: Option<Arc<RotationFn>>,
}

impl RefreshGrant {
    pub fn new(
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
        refresh_token: Secret,
    ) -> RefreshGrant {
        RefreshGrant {
            provider,
            tenant: None,
            token_url: None,
            client_id: client_id.into(),
            client_secret,
            refresh_token,
            scope: None,
            on_rotation: None,
        }
    }

    /// The token endpoint: the one set, else the provider's preset.
    pub fn token_url(&self) -> Result<String> {
        if let Some(url) = &self.token_url {
            return Ok(url.clone());
        }
        match self.provider.token_url(self.tenant.as_deref()) {
            Some(url) => Ok(url),
            None => Err(Error::invalid_input(
                "oauth token url: the custom provider needs the token endpoint's URL",
            )),
        }
    }

    /// The scope to ask for: the one set, else the provider's preset, else none.
    pub fn effective_scope(&self) -> Option<&str> {
        self.scope.as_deref().or(self.provider.default_scope())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: &str| {
            Error::invalid_input(format!(
                "{what} is empty: copy it from the app registration (or from `mailport oauth login`)"
            ))
        };
        if self.client_id.trim().is_empty() {
            return Err(bad("oauth client id"));
        }
        crate::address::check_no_controls(&self.client_id, "oauth client id")?;
        if self.refresh_token.expose().is_empty() {
            return Err(bad("oauth refresh token"));
        }
        crate::address::check_no_controls(self.refresh_token.expose(), "oauth refresh token")?;
        if let Some(secret) = &self.client_secret {
            crate::address::check_no_controls(secret.expose(), "oauth client secret")?;
        }
        if let Some(tenant) = &self.tenant {
            provider::check_tenant(tenant)?;
        }
        if let Some(scope) = &self.scope {
            crate::address::check_no_controls(scope, "oauth scope")?;
        }
        provider::check_token_url(&self.token_url()?)
    }
}

impl PartialEq for RefreshGrant {
    fn eq(&self, other: &RefreshGrant) -> bool {
        let same_callback = match (&self.on_rotation, &other.on_rotation) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.provider == other.provider
            && self.tenant == other.tenant
            && self.token_url == other.token_url
            && self.client_id == other.client_id
            && self.client_secret == other.client_secret
            && self.refresh_token == other.refresh_token
            && self.scope == other.scope
            && same_callback
    }
}

impl Eq for RefreshGrant {}

impl fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshGrant")
            .field("provider", &self.provider)
            .field("tenant", &self.tenant)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field(
                "on_rotation",
                &self.on_rotation.as_ref().map(|_| "<callback>"),
            )
            .finish()
    }
}

/// What a token callback is asked.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub username: &'a str,
    /// The server refused the token the callback gave last time: give a new one (refresh it),
    /// not the same one again.
    pub previous_refused: bool,
}

/// What a token callback answers: the access token and, when known, how long it stays valid.
pub struct CallbackToken {
    pub token: Secret,
    pub expires_in: Option<Duration>,
}

/// The signature of a token callback; `Err` carries the caller's reason, for the error.
pub type TokenFn =
    dyn Fn(&TokenRequest<'_>) -> std::result::Result<CallbackToken, String> + Send + Sync;

/// The caller's token function. Two sources are the same only when they share the function.
#[derive(Clone)]
pub struct TokenCallback(pub Arc<TokenFn>);

impl TokenCallback {
    pub fn new(
        f: impl Fn(&TokenRequest<'_>) -> std::result::Result<CallbackToken, String>
        + Send
        + Sync
        + 'static,
    ) -> TokenCallback {
        TokenCallback(Arc::new(f))
    }
}

impl PartialEq for TokenCallback {
    fn eq(&self, other: &TokenCallback) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TokenCallback {}

impl fmt::Debug for TokenCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCallback(<callback>)")
    }
}

/// An access token ready for AUTH.
pub(crate) struct Resolved {
    pub token: Secret,
    /// Until when it may be used: a session it authenticated is not reused after that.
    pub usable_until: Option<Instant>,
    /// The scope the endpoint says it granted, when it said.
    pub granted_scope: Option<String>,
}

/// How long before its expiry a token stops being used: a quarter of its lifetime, at most
/// five minutes, so a token is never sent in its last moments (clocks and queues differ).
pub(crate) fn usable_for(lifetime: Duration) -> Duration {
    lifetime - (lifetime / 4).min(Duration::from_secs(5 * 60))
}

/// The access token `source` gives for `username` now. `previous_refused`: the server refused
/// the last one (the retry after a refusal).
pub(crate) fn resolve(
    username: &str,
    source: &TokenSource,
    config: &Config,
    previous_refused: bool,
    transcript: &mut Transcript,
    budget: Instant,
) -> Result<Resolved> {
    match source {
        TokenSource::Fixed(token) => Ok(Resolved {
            token: token.clone(),
            usable_until: None,
            granted_scope: None,
        }),
        TokenSource::Refresh(grant) => cache::access_token(
            username,
            grant,
            config,
            cache::Want::Cached,
            transcript,
            budget,
        ),
        TokenSource::Callback(callback) => {
            let request = TokenRequest {
                username,
                previous_refused,
            };
            transcript.record(
                Direction::Info,
                &format!(
                    "asking the token callback for an OAuth2 access token{}",
                    if previous_refused {
                        " (the server refused the previous one)"
                    } else {
                        ""
                    }
                ),
            );
            let answer = (callback.0)(&request).map_err(|why| {
                Error::new(
                    Kind::OAuthCallback,
                    format!(
                        "the OAuth2 token callback failed for {username:?}: {}",
                        clean(&why)
                    ),
                )
            })?;
            let token = answer.token.expose();
            if token.is_empty() {
                return Err(Error::new(
                    Kind::OAuthCallback,
                    format!("the OAuth2 token callback returned an empty token for {username:?}"),
                ));
            }
            if token.chars().any(|c| c.is_control() || c == ' ') {
                return Err(Error::new(
                    Kind::OAuthCallback,
                    format!(
                        "the OAuth2 token callback returned a token with a space or control character for {username:?}: an access token is one word"
                    ),
                ));
            }
            Ok(Resolved {
                usable_until: answer
                    .expires_in
                    .filter(|d| !d.is_zero())
                    .map(|d| Instant::now() + usable_for(d)),
                token: answer.token,
                granted_scope: None,
            })
        }
    }
}

/// The server refused `token`, which `source` gave: forget it, so the next request refreshes.
pub(crate) fn refused(source: &TokenSource, token: &Secret) {
    if let TokenSource::Refresh(grant) = source {
        cache::forget(grant, token);
    }
}

/// For the connection check: refresh now, whatever the cache holds, so that a refresh token
/// that stopped working is found before mail is due. Returns the new token's lifetime.
pub(crate) fn check_refresh(
    username: &str,
    grant: &RefreshGrant,
    config: &Config,
    transcript: &mut Transcript,
    budget: Instant,
) -> Result<Option<Duration>> {
    cache::access_token(
        username,
        grant,
        config,
        cache::Want::Fresh,
        transcript,
        budget,
    )
    .map(|r| {
        r.usable_until
            .map(|u| u.saturating_duration_since(Instant::now()))
    })
}

/// Whether a token granted `granted` lacks the scope the provider's SMTP server needs.
pub(crate) fn lacks_smtp_scope(grant: &RefreshGrant, granted: Option<&str>) -> bool {
    let (Some(needed), Some(granted)) = (grant.provider.smtp_scope(), granted) else {
        return false;
    };
    !granted
        .split_whitespace()
        .any(|s| s == needed || s.ends_with(&format!("/{needed}")))
}

/// Text from outside (an endpoint's error_description, a callback's reason) made safe for one
/// line of an error: no control characters, bounded length.
pub(crate) fn clean(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    match trimmed.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &trimmed[..at]),
        None => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_retired_before_it_expires() {
        assert_eq!(
            usable_for(Duration::from_secs(3600)),
            Duration::from_secs(3300)
        );
        assert_eq!(usable_for(Duration::from_secs(4)), Duration::from_secs(3));
    }

    #[test]
    fn scope_check() {
        let mut grant = RefreshGrant::new(Provider::Microsoft, "id", None, Secret::new("r"));
        assert!(!lacks_smtp_scope(
            &grant,
            Some("https://outlook.office.com/SMTP.Send https://outlook.office.com/User.Read")
        ));
        assert!(lacks_smtp_scope(
            &grant,
            Some("https://outlook.office.com/IMAP.AccessAsUser.All")
        ));
        assert!(!lacks_smtp_scope(&grant, None));
        grant.provider = Provider::Google;
        assert!(!lacks_smtp_scope(&grant, Some("https://mail.google.com/")));
        assert!(lacks_smtp_scope(&grant, Some("email profile")));
    }

    #[test]
    fn debug_redacts() {
        let mut grant = RefreshGrant::new(
            Provider::Google,
            "client-1",
            Some(Secret::new("csecret")),
            Secret::new("1//refresh"),
        );
        grant.on_rotation = Some(Arc::new(|_, _| {}));
        let text = format!("{:?}", TokenSource::Refresh(grant));
        assert!(
            !text.contains("csecret") && !text.contains("1//refresh"),
            "{text}"
        );
        assert!(text.contains("client-1"));
    }
}
