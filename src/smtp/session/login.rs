//! AUTH: the SASL exchange of a session, with the OAuth2 token fetched when it is due.
//!
//! A token from a refresh grant or a callback is obtained only once the session knows it will
//! send it (encrypted, AUTH offered, a mechanism that carries it), so a misconfigured port never
//! costs a request to the token endpoint. A token the server refuses is dropped from the cache;
//! [`worth_a_new_token`] tells [`Session::open`] whether one more try with a new token is due.

use std::time::Instant;

use super::{Session, Stream};
use crate::config::{Config, Credentials};
use crate::error::{Error, Kind, Result, Step};
use crate::oauth::{self, TokenSource};
use crate::smtp::auth;
use crate::smtp::command::Command;
use crate::transcript::{Direction, Transcript};

/// Whether `error`, from opening a session with `config`, is a refused OAuth2 token that
/// another token from the same source may cure.
pub(super) fn worth_a_new_token(config: &Config, error: &Error) -> bool {
    let renewable = matches!(
        &config.credentials,
        Some(Credentials::OAuth2 { token, .. }) if token.renewable()
    );
    renewable && error.kind() == Kind::AuthFailed && !error.is_transient()
}

impl Session {
    /// Log in with `credentials`. `previous_refused`: the server refused the OAuth2 token of
    /// the previous attempt (a token callback is told so).
    pub(crate) fn authenticate(
        &mut self,
        config: &Config,
        credentials: &Credentials,
        allow_plaintext: bool,
        previous_refused: bool,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        let user = credentials.username().to_string();
        let encrypted = self.stream.as_ref().is_some_and(Stream::is_tls);
        if !encrypted && !allow_plaintext {
            return Err(Error::new(
                Kind::AuthUnavailable,
                format!(
                    "refusing to send the credentials of {user:?} over an unencrypted connection"
                ),
            )
            .at_step(Step::Auth));
        }
        if self.extensions.auth.is_empty() && self.extensions.auth_other.is_empty() {
            return Err(Error::new(
                Kind::AuthUnavailable,
                format!(
                    "{} port {} does not offer authentication (no AUTH in its EHLO reply)",
                    self.host, self.port
                ),
            )
            .at_step(Step::Auth));
        }
        let chosen = match config.auth_mechanism {
            Some(wanted) => self.extensions.auth.contains(&wanted).then_some(wanted),
            None => auth::choose(&self.extensions.auth, credentials),
        };
        let Some(mechanism) = chosen else {
            let offered: Vec<&str> = self
                .extensions
                .auth
                .iter()
                .map(|m| m.as_str())
                .chain(self.extensions.auth_other.iter().map(String::as_str))
                .collect();
            let wanted = match config.auth_mechanism {
                Some(wanted) => format!("{wanted}, the mechanism set,"),
                None => format!("none of which works with {}", auth::describe(credentials)),
            };
            let message = match config.auth_mechanism {
                Some(_) => format!(
                    "the server offers AUTH {} but not {wanted}",
                    offered.join(" ")
                ),
                None => format!("the server offers AUTH {}, {wanted}", offered.join(" ")),
            };
            return Err(Error::new(Kind::AuthUnavailable, message).at_step(Step::Auth));
        };

        // A token from a refresh grant or a callback: fetched now that it will be sent.
        let (source, resolved) = match credentials {
            Credentials::OAuth2 { token, .. } if token.renewable() => {
                let resolved =
                    oauth::resolve(&user, token, config, previous_refused, transcript, budget)
                        .map_err(|e| e.at_step(Step::Auth))?;
                (Some(token), Some(resolved))
            }
            _ => (None, None),
        };
        let fetched;
        let credentials = match &resolved {
            Some(resolved) => {
                fetched = Credentials::OAuth2 {
                    username: user.clone(),
                    token: TokenSource::Fixed(resolved.token.clone()),
                };
                &fetched
            }
            None => credentials,
        };

        let result = self.exchange(mechanism, credentials, &user, transcript, budget);
        match (result, source, resolved) {
            (Ok(()), _, resolved) => {
                self.auth_usable_until = resolved.and_then(|r| r.usable_until);
                Ok(())
            }
            (Err(error), Some(source), Some(resolved)) if error.kind() == Kind::AuthFailed => {
                if !error.is_transient() {
                    oauth::refused(source, &resolved.token);
                }
                Err(scope_error(
                    error,
                    source,
                    resolved.granted_scope.as_deref(),
                ))
            }
            (Err(error), _, _) => Err(error),
        }
    }

    /// One SASL exchange with `credentials`, whose token (if any) is at hand.
    fn exchange(
        &mut self,
        mechanism: auth::Mechanism,
        credentials: &Credentials,
        user: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        let what = "for the AUTH reply";
        let mut exchange = auth::Exchange::start(mechanism, credentials)?;
        let mut reply = self.command(exchange.command(), transcript, budget, Step::Auth, what)?;
        while let Some(answer) = exchange.answer(&reply) {
            let response = match answer {
                Ok(response) => response,
                Err(e) => {
                    // The mechanism has no answer: cancel the exchange, and say why.
                    let cancel = Command::AuthResponse("*");
                    let _ = self.command(cancel, transcript, budget, Step::Auth, what);
                    return Err(e.at_step(Step::Auth));
                }
            };
            let command = Command::AuthResponse(&response);
            reply = self.command(command, transcript, budget, Step::Auth, what)?;
        }
        if reply.code() == 235 {
            transcript.record(
                Direction::Info,
                &format!("authenticated as {user:?} with {}", mechanism.as_str()),
            );
            return Ok(());
        }
        let mut message = format!(
            "the server rejected the credentials of {user:?} ({})",
            mechanism.as_str()
        );
        if let Some(detail) = exchange.detail() {
            message.push_str(&format!(": {}", oauth::clean(detail)));
        }
        Err(Error::from_reply(Kind::AuthFailed, message, reply).at_step(Step::Auth))
    }
}

/// A refused token from a refresh grant whose granted scope lacks what SMTP needs: that is the
/// cause, and another refresh with the same scope will not cure it.
fn scope_error(error: Error, source: &TokenSource, granted: Option<&str>) -> Error {
    match source {
        TokenSource::Refresh(grant) if oauth::lacks_smtp_scope(grant, granted) => {
            let needed = grant.provider.smtp_scope().unwrap_or_default();
            let mut message = error.message();
            message.push_str(&format!(
                "; the token was granted the scope {:?}, without {needed}",
                granted.unwrap_or_default()
            ));
            let mut scoped = Error::new(Kind::OAuthScope, message).at_step(Step::Auth);
            if let Some(reply) = error.reply() {
                scoped = scoped.with_reply(reply.clone());
            }
            scoped
        }
        _ => error,
    }
}
