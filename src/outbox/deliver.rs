//! Delivering what is due: one entry at a time over the connections in order, and what each
//! outcome means for the entry (the delivery policy).

use std::hash::{Hash, Hasher};
use std::time::Instant;

use crate::client::{Client, Envelope, Receipt};
use crate::config::{Config, Credentials};
use crate::error::{Error, Kind, Step};
use crate::oauth::TokenSource;
use crate::outbox::entry::{self, now};
use crate::outbox::record::{Attempt, AttemptOutcome, RecipientState, State};
use crate::outbox::store::{Claimed, Want};
use crate::outbox::{Event, Outbox, RunOptions, RunSummary};

/// Entries claimed at a time: enough to keep a session busy, few enough that other workers find
/// work and a deadline is not overrun by much.
const BATCH: usize = 32;

/// How often records are synced to disk during a run (and once at its end). Each sync commits
/// the file system's journal, which costs milliseconds: once per entry it would make the drain
/// rate the disk's. A crash of the machine (not of the worker) in between can lose the records
/// of that last second, and those messages are sent again: the ambiguous window, widened.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// What a failed attempt means for the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Nothing delivered; a retry (or another connection) may work.
    Transient,
    /// The server refused the message (or recipients) for good.
    Permanent,
    /// The connection's settings are wrong; another connection may work, time will not help.
    Configuration,
    /// The whole message went out and the answer was lost.
    Unknown,
}

fn classify(error: &Error) -> Verdict {
    if error.outcome_unknown() {
        return Verdict::Unknown;
    }
    let permanent_reply = error.reply().is_some_and(|r| r.is_permanent());
    match error.kind() {
        Kind::RecipientsRejected => {
            if error
                .rejected_recipients()
                .iter()
                .all(|r| r.reply.is_permanent())
            {
                Verdict::Permanent
            } else {
                Verdict::Transient
            }
        }
        Kind::InvalidAddress | Kind::InvalidInput | Kind::Attachment | Kind::MessageTooLarge => {
            Verdict::Permanent
        }
        Kind::Data if permanent_reply => Verdict::Permanent,
        // A sender the account may not use, a login refused, a greeting refusing this host.
        Kind::MailFrom | Kind::AuthFailed | Kind::Greeting | Kind::Ehlo if permanent_reply => {
            Verdict::Configuration
        }
        Kind::AuthUnavailable
        | Kind::CertificateUntrusted
        | Kind::CertificateExpired
        | Kind::CertificateNameMismatch
        | Kind::StartTlsUnavailable
        | Kind::PlaintextOnTlsPort
        | Kind::TlsOnPlaintextPort
        // The refresh token expired or was revoked, the client id or secret is wrong, the scope
        // is missing, the endpoint refuses the request: like a refused password, only the admin
        // can cure these (consent again, fix the app registration). An unreachable endpoint or
        // a failed token callback is left to the retries.
        | Kind::OAuthInvalidGrant
        | Kind::OAuthInvalidClient
        | Kind::OAuthScope
        | Kind::OAuthEndpoint => Verdict::Configuration,
        _ => Verdict::Transient,
    }
}

/// The error's hint, when it has one, for the record.
fn hint_of(error: &Error) -> Option<String> {
    let hint = error.hint();
    (!hint.is_empty()).then(|| hint.to_string())
}

/// Whether a failure is the connection's (so later messages of the run skip it) rather than
/// this message's.
fn connection_level(error: &Error) -> bool {
    match error.step() {
        Some(step) => matches!(
            step,
            Step::Connect
                | Step::TlsHandshake
                | Step::Greeting
                | Step::Ehlo
                | Step::StartTls
                | Step::Auth
        ),
        None => error.kind().is_session_setup(),
    }
}

/// What identifies the connection settings: entries held under other settings are tried again.
/// A password counts by 8 bits of its SHA-256 only: the fingerprint is stored with held entries
/// (whoever reads the database or the spool sees it), and 8 bits are too few to confirm a guess
/// at the password (one wrong guess in 256 matches them), while a changed password releases the
/// entries 255 times in 256 (the 256th waits for `retry`). OAuth tokens do not count: they change
/// at every refresh.
pub(super) fn settings_fingerprint(connections: &[Config]) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for c in connections {
        let user = c.credentials.as_ref().map(|c| match c {
            Credentials::Password { username, password } => {
                format!("password:{username}:{}", password_tag(password.expose()))
            }
            // A fixed or callback token changes at every refresh: only the user counts. A
            // refresh grant counts by its endpoint, client and (as a password) 8 bits of its
            // refresh token: consenting again releases what invalid_grant held.
            Credentials::OAuth2 {
                username,
                token: TokenSource::Refresh(grant),
            } => format!(
                "oauth2:{username}:{}:{}:{}",
                grant.token_url().unwrap_or_default(),
                grant.client_id,
                password_tag(grant.refresh_token.expose())
            ),
            Credentials::OAuth2 { username, .. } => format!("oauth2:{username}"),
        });
        (
            c.host.to_ascii_lowercase(),
            c.port,
            c.security.as_str(),
            user,
            &c.helo_name,
            format!("{:?}", c.tls),
            c.dangerous_allow_plaintext_auth,
        )
            .hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// The first byte of the password's SHA-256 (see [`settings_fingerprint`]).
fn password_tag(password: &str) -> u8 {
    let digest = ring::digest::digest(&ring::digest::SHA256, password.as_bytes());
    digest.as_ref()[0]
}

/// The queue id in a server's final reply, where it gives one: `250 2.0.0 Ok: queued as 4Xk2`
/// (Postfix), `250 OK id=1rT6Jx-0004nq-2V` (Exim).
fn queue_id(text: &str) -> Option<String> {
    let after = |marker: &str| {
        let at = text.find(marker)? + marker.len();
        let id: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '@'))
            .collect();
        (!id.is_empty()).then_some(id)
    };
    after("queued as ").or_else(|| after("id="))
}

struct Run<'a> {
    outbox: &'a Outbox,
    settings: String,
    clients: Vec<Option<Client>>,
    /// Per connection: the failure that put it out of this run, and what it meant.
    down: Vec<Option<(String, Verdict)>>,
    summary: RunSummary,
}

pub(super) fn run(outbox: &Outbox, options: &RunOptions) -> crate::error::Result<RunSummary> {
    if outbox.connections.is_empty() {
        return Err(Error::invalid_input(
            "outbox: no connection to deliver through; give at least one",
        ));
    }
    let started = Instant::now();
    let mut run = Run {
        outbox,
        settings: settings_fingerprint(&outbox.connections),
        clients: outbox.connections.iter().map(|_| None).collect(),
        down: vec![None; outbox.connections.len()],
        summary: RunSummary::default(),
    };
    let delivered = run.deliver_due(options, started);
    // What was saved is made durable even when the run stopped on an error.
    let synced = outbox.store.sync();
    delivered.and(synced)?;
    Ok(run.summary)
}

impl Run<'_> {
    fn deliver_due(&mut self, options: &RunOptions, started: Instant) -> crate::error::Result<()> {
        let outbox = self.outbox;
        let mut handled = 0usize;
        // Each entry once per run, even when its backoff is zero.
        let mut tried = std::collections::HashSet::new();
        let mut last_sync = Instant::now();
        loop {
            if options.deadline.is_some_and(|d| started.elapsed() >= d) {
                break;
            }
            let limit = match options.limit {
                Some(limit) if handled >= limit => break,
                Some(limit) => BATCH.min(limit - handled),
                None => BATCH,
            };
            let now = now();
            let lease = i64::try_from(outbox.policy.lease.as_secs()).unwrap_or(i64::MAX);
            let claims = outbox.store.claim(&Want {
                owner: &outbox.owner,
                settings: &self.settings,
                skip: &tried,
                now,
                lease_until: now.saturating_add(lease),
                limit,
            })?;
            if claims.is_empty() {
                break;
            }
            let stopped = || {
                options
                    .stop
                    .as_ref()
                    .is_some_and(|stop| stop.load(std::sync::atomic::Ordering::SeqCst))
            };
            for mut claimed in claims {
                if stopped() {
                    // Handed back untried, as it was.
                    claimed.record.state = match claimed.was {
                        State::Sending => State::Queued,
                        was => was,
                    };
                    claimed.record.lease = None;
                    outbox.store.save(&mut claimed, true)?;
                    continue;
                }
                tried.insert(claimed.header.id.clone());
                self.deliver(&mut claimed)?;
                handled += 1;
            }
            if stopped() {
                break;
            }
            if last_sync.elapsed() >= SYNC_EVERY {
                outbox.store.sync()?;
                last_sync = Instant::now();
            }
        }
        Ok(())
    }

    fn client(&mut self, index: usize) -> crate::error::Result<&mut Client> {
        if self.clients[index].is_none() {
            let mut config = self.outbox.connections[index].clone();
            // The outbox settles each recipient on its own: a refusal fails that one only.
            config.allow_partial_recipients = true;
            config.persistent = false;
            self.clients[index] = Some(Client::new(config)?);
        }
        self.clients[index]
            .as_mut()
            .ok_or_else(|| Error::new(Kind::Io, "outbox: no client"))
    }

    fn server(&self, index: usize) -> String {
        let c = &self.outbox.connections[index];
        format!("{}:{}", c.host, c.port)
    }

    /// Deliver one claimed entry and save what came of it. Only the store's own failures are
    /// errors here: whatever the servers do is recorded.
    fn deliver(&mut self, claimed: &mut Claimed) -> crate::error::Result<()> {
        let was = claimed.was;
        let policy = self.outbox.policy.clone();
        if !self.render(claimed)? {
            return self.finish(claimed, was);
        }
        let mut last: Option<Verdict> = None;
        let mut all_configuration = true;
        for index in 0..self.outbox.connections.len() {
            let pending = claimed.record.pending();
            if pending.is_empty() {
                break;
            }
            if let Some((why, verdict)) = self.down[index].clone() {
                let server = self.server(index);
                self.record_skip(claimed, index, &server, &why, verdict);
                last = Some(verdict);
                all_configuration &= verdict == Verdict::Configuration;
                continue;
            }
            let envelope = match Envelope::new(claimed.record.envelope_from.clone(), pending) {
                Ok(envelope) => envelope,
                Err(e) => {
                    self.record_failure(claimed, index, &e, Verdict::Permanent);
                    last = Some(Verdict::Permanent);
                    break;
                }
            };
            let mut body = self.outbox.store.body(claimed)?;
            let header = &claimed.header;
            let result = match self.client(index) {
                Ok(client) => client.send_rendered(
                    &envelope,
                    &mut body,
                    header.size,
                    header.eight_bit,
                    header.utf8,
                ),
                // A connection that cannot even be set up (a CA file missing, say) is a
                // configuration problem, whatever the error's kind.
                Err(error) => {
                    self.record_failure(claimed, index, &error, Verdict::Configuration);
                    self.health(index, Some(&error));
                    self.down[index] = Some((error.message(), Verdict::Configuration));
                    last = Some(Verdict::Configuration);
                    continue;
                }
            };
            match result {
                Ok(receipt) => {
                    self.record_receipt(claimed, index, &receipt, policy.keep_transcripts);
                    self.health(index, None);
                    last = None;
                    break;
                }
                Err(error) => {
                    let verdict = classify(&error);
                    self.record_failure(claimed, index, &error, verdict);
                    if connection_level(&error)
                        && matches!(verdict, Verdict::Transient | Verdict::Configuration)
                    {
                        self.health(index, Some(&error));
                        self.down[index] = Some((error.message(), verdict));
                    }
                    all_configuration &= verdict == Verdict::Configuration;
                    last = Some(verdict);
                    if matches!(verdict, Verdict::Permanent | Verdict::Unknown) {
                        break;
                    }
                }
            }
        }
        self.settle(claimed, last, all_configuration);
        self.finish(claimed, was)
    }

    /// Render the entry's message description, when it is one, once; false when it cannot be
    /// (the entry then failed).
    fn render(&mut self, claimed: &mut Claimed) -> crate::error::Result<bool> {
        let Some(description) = claimed.header.description.clone() else {
            return Ok(true);
        };
        let (id, created) = (claimed.header.id.clone(), claimed.header.created);
        let rendered = description
            .build(created)
            .and_then(|message| entry::render(&message, id, created));
        match rendered {
            Ok(rendered) => {
                self.outbox.store.store_rendering(claimed, rendered)?;
                let fresh = claimed.header.first_record();
                let record = &mut claimed.record;
                record.envelope_from = fresh.envelope_from;
                record.recipients = fresh.recipients;
                record.message_id = fresh.message_id;
                record.subject = fresh.subject;
                record.size = fresh.size;
                Ok(true)
            }
            Err(error) => {
                let message = format!("the message description cannot be built: {error}");
                claimed.record.attempts.push(Attempt {
                    at: now(),
                    connection: 0,
                    server: String::new(),
                    outcome: AttemptOutcome::Permanent,
                    kind: Some(kind_name(error.kind())),
                    message: message.clone(),
                    hint: hint_of(&error),
                    reply_code: None,
                    enhanced_status: None,
                    queue_id: None,
                    transcript: None,
                });
                claimed.record.state = State::Failed;
                claimed.record.reason = Some(message);
                Ok(false)
            }
        }
    }

    fn record_receipt(
        &mut self,
        claimed: &mut Claimed,
        index: usize,
        receipt: &Receipt,
        keep: bool,
    ) {
        let record = &mut claimed.record;
        for recipient in &mut record.recipients {
            if receipt.accepted.contains(&recipient.address) {
                recipient.state = RecipientState::Sent;
                recipient.reply = Some(receipt.reply.one_line());
            } else if let Some(refused) = receipt
                .rejected
                .iter()
                .find(|r| r.address == recipient.address)
            {
                if refused.reply.is_permanent() {
                    recipient.state = RecipientState::Failed;
                }
                recipient.reply = Some(refused.reply.one_line());
            }
        }
        record.delivered_by = Some(index);
        let transcript = keep.then(|| self.clients[index].as_ref().map(Client::transcript));
        record.attempts.push(Attempt {
            at: now(),
            connection: index,
            server: self.server(index),
            outcome: AttemptOutcome::Sent,
            kind: None,
            message: receipt.reply.one_line(),
            hint: None,
            reply_code: Some(receipt.reply.code()),
            enhanced_status: receipt.reply.enhanced().map(|e| e.to_string()),
            queue_id: queue_id(&receipt.reply.text()),
            transcript: transcript.flatten(),
        });
    }

    fn record_failure(
        &mut self,
        claimed: &mut Claimed,
        index: usize,
        error: &Error,
        verdict: Verdict,
    ) {
        let record = &mut claimed.record;
        match verdict {
            Verdict::Permanent => {
                let rejected = error.rejected_recipients();
                for recipient in &mut record.recipients {
                    if recipient.state != RecipientState::Pending {
                        continue;
                    }
                    if let Some(refused) = rejected.iter().find(|r| r.address == recipient.address)
                    {
                        recipient.reply = Some(refused.reply.one_line());
                        if refused.reply.is_permanent() {
                            recipient.state = RecipientState::Failed;
                        }
                    } else if rejected.is_empty() {
                        recipient.state = RecipientState::Failed;
                        recipient.reply = error.reply().map(|r| r.one_line());
                    }
                }
            }
            Verdict::Transient => {
                for refused in error.rejected_recipients() {
                    if let Some(recipient) = record
                        .recipients
                        .iter_mut()
                        .find(|r| r.address == refused.address)
                    {
                        recipient.reply = Some(refused.reply.one_line());
                        if refused.reply.is_permanent() {
                            recipient.state = RecipientState::Failed;
                        }
                    }
                }
            }
            Verdict::Unknown => record.maybe_delivered = true,
            Verdict::Configuration => {}
        }
        let outcome = match verdict {
            Verdict::Transient => AttemptOutcome::Transient,
            Verdict::Permanent => AttemptOutcome::Permanent,
            Verdict::Configuration => AttemptOutcome::Configuration,
            Verdict::Unknown => AttemptOutcome::Unknown,
        };
        let transcript = (self.outbox.policy.keep_transcripts && !error.transcript().is_empty())
            .then(|| error.transcript().to_string());
        // Refused recipients carry their own replies: the first one stands for the attempt.
        let reply = error
            .reply()
            .or_else(|| error.rejected_recipients().first().map(|r| &r.reply));
        record.attempts.push(Attempt {
            at: now(),
            connection: index,
            server: self.server(index),
            outcome,
            kind: Some(kind_name(error.kind())),
            message: error.message(),
            hint: hint_of(error),
            reply_code: reply.map(|r| r.code()),
            enhanced_status: reply.and_then(|r| r.enhanced()).map(|e| e.to_string()),
            queue_id: None,
            transcript,
        });
    }

    fn record_skip(
        &mut self,
        claimed: &mut Claimed,
        index: usize,
        server: &str,
        why: &str,
        verdict: Verdict,
    ) {
        claimed.record.attempts.push(Attempt {
            at: now(),
            connection: index,
            server: server.to_string(),
            outcome: if verdict == Verdict::Configuration {
                AttemptOutcome::Configuration
            } else {
                AttemptOutcome::Transient
            },
            kind: None,
            message: format!("not tried: it failed earlier in this run: {why}"),
            hint: None,
            reply_code: None,
            enhanced_status: None,
            queue_id: None,
            transcript: None,
        });
    }

    /// The entry's state from its recipients and the last verdict.
    fn settle(&mut self, claimed: &mut Claimed, last: Option<Verdict>, all_configuration: bool) {
        let policy = &self.outbox.policy;
        let record = &mut claimed.record;
        record.lease = None;
        let pending = record
            .recipients
            .iter()
            .any(|r| r.state == RecipientState::Pending);
        let any_sent = record
            .recipients
            .iter()
            .any(|r| r.state == RecipientState::Sent);
        if !pending {
            record.state = if any_sent { State::Sent } else { State::Failed };
            if record.state == State::Failed && record.reason.is_none() {
                record.reason = record.attempts.last().map(|a| a.message.clone());
            }
            return;
        }
        let last_words = record.attempts.last().map(|a| a.message.clone());
        match last {
            Some(Verdict::Configuration) if all_configuration => {
                record.state = State::Held;
                record.held_settings = Some(self.settings.clone());
                record.reason = last_words;
                return;
            }
            Some(Verdict::Unknown) if !policy.retry_unknown => {
                give_up(
                    record,
                    "the connection was lost before the server's answer: it may have been delivered, and the outbox does not resend such messages",
                );
                return;
            }
            Some(Verdict::Permanent) => {
                // Refused for good, though some recipients are still pending (a message the
                // server will not take at all): nothing more to try.
                let words = last_words.unwrap_or_default();
                give_up(record, &words);
                return;
            }
            _ => {}
        }
        let now = now();
        let lifetime = i64::try_from(policy.lifetime.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(record.created) >= lifetime {
            let words = format!(
                "gave up after {}: {}",
                human(policy.lifetime.as_secs()),
                last_words.unwrap_or_default()
            );
            give_up(record, &words);
            return;
        }
        let backoff = policy
            .min_backoff
            .saturating_mul(1u32.checked_shl(record.retries.min(31)).unwrap_or(u32::MAX))
            .min(policy.max_backoff);
        record.retries = record.retries.saturating_add(1);
        record.state = State::Deferred;
        record.due = now.saturating_add(i64::try_from(backoff.as_secs()).unwrap_or(i64::MAX));
        record.reason = last_words;
    }

    /// Save the entry and tell the event handler.
    fn finish(&mut self, claimed: &mut Claimed, was: State) -> crate::error::Result<()> {
        let state = claimed.record.state;
        let keep_body = match state {
            State::Sent => self.outbox.policy.keep_sent,
            // Failed entries can be retried: their message stays.
            _ => true,
        };
        self.outbox.store.save(claimed, keep_body)?;
        let summary = &mut self.summary;
        match state {
            State::Sent => summary.sent += 1,
            State::Deferred => summary.deferred += 1,
            State::Failed => summary.failed += 1,
            State::Held => summary.held += 1,
            _ => {}
        }
        if claimed.record.delivered_by.is_some_and(|i| i > 0) {
            summary.via_backup += 1;
        }
        self.outbox.emit(Event::StateChanged {
            id: claimed.record.id.clone(),
            from: Some(was),
            to: state,
            message: claimed.record.attempts.last().map(|a| a.message.clone()),
        });
        Ok(())
    }

    /// Tell the event handler when a connection starts failing or recovers (not on every
    /// message).
    fn health(&mut self, index: usize, failure: Option<&Error>) {
        let mut failing = self
            .outbox
            .failing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let was = failing[index];
        failing[index] = failure.is_some();
        drop(failing);
        match (was, failure) {
            (false, Some(error)) => self.outbox.emit(Event::ConnectionFailing {
                connection: index,
                server: self.server(index),
                message: error.message(),
            }),
            (true, None) => self.outbox.emit(Event::ConnectionRecovered {
                connection: index,
                server: self.server(index),
            }),
            _ => {}
        }
    }
}

fn give_up(record: &mut crate::outbox::record::Record, reason: &str) {
    for recipient in &mut record.recipients {
        if recipient.state == RecipientState::Pending {
            recipient.state = RecipientState::Failed;
        }
    }
    record.state = State::Failed;
    record.reason = Some(reason.to_string());
}

fn kind_name(kind: Kind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// "5 days", "1 hour", "90 seconds".
fn human(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 && s > 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 && s > 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 && s > 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids_are_read_from_the_usual_final_replies() {
        assert_eq!(
            queue_id("2.0.0 Ok: queued as 4Xk2Lq0bQz").as_deref(),
            Some("4Xk2Lq0bQz")
        );
        assert_eq!(
            queue_id("OK id=1rT6Jx-0004nq-2V").as_deref(),
            Some("1rT6Jx-0004nq-2V")
        );
        assert_eq!(queue_id("2.0.0 OK"), None);
    }

    #[test]
    fn oauth_failures_are_held_for_the_admin_or_retried() {
        for (kind, verdict) in [
            (Kind::OAuthInvalidGrant, Verdict::Configuration),
            (Kind::OAuthInvalidClient, Verdict::Configuration),
            (Kind::OAuthScope, Verdict::Configuration),
            (Kind::OAuthEndpoint, Verdict::Configuration),
            (Kind::OAuthEndpointUnreachable, Verdict::Transient),
            (Kind::OAuthCallback, Verdict::Transient),
        ] {
            let error = Error::new(kind, "token").at_step(Step::Auth);
            assert_eq!(classify(&error), verdict, "{kind:?}");
            assert!(connection_level(&error), "{kind:?} is the connection's");
        }
    }

    #[test]
    fn a_refresh_grant_counts_in_the_settings_fingerprint() {
        use crate::oauth::{Provider, RefreshGrant};
        let with = |token: &str| {
            let mut c = Config::new("smtp.example.com");
            c.credentials = Some(Credentials::OAuth2 {
                username: "u@example.com".into(),
                token: TokenSource::Refresh(RefreshGrant::new(
                    Provider::Google,
                    "id",
                    None,
                    crate::config::Secret::new(token),
                )),
            });
            settings_fingerprint(&[c])
        };
        // The same grant, the same settings; consenting again (a new refresh token) releases
        // held entries, as a changed password does (255 times in 256).
        assert_eq!(with("rt-1"), with("rt-1"));
        let changed = ["rt-2", "rt-3", "rt-4"]
            .iter()
            .filter(|t| with(t) != with("rt-1"));
        assert!(changed.count() >= 2);
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(human(5 * 86_400), "5 days");
        assert_eq!(human(3_600), "1 hour");
        assert_eq!(human(90), "90 seconds");
    }
}
