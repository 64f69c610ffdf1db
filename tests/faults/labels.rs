//! What each unit of a recorded session is, for the fault matrix: the phase (offset class) it
//! belongs to, and what a fault there must do to the send that is under way.
//!
//! Client units are read from the session itself: plaintext lines name their command, and inside
//! TLS the client's records come in a fixed order (its handshake, then one record per command
//! written: this client speaks without PIPELINING to aiosmtpd, which does not offer it). A server
//! unit answers the last client unit read before it started (see `fault_proxy`).

use mailport::error::Step;

use crate::common::fault_proxy::{Dir, Framing, Unit};

/// The phase a byte belongs to: the rows of the fault matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Greeting,
    Ehlo,
    /// STARTTLS, its reply, the TLS handshake (and the server's session tickets).
    Tls,
    Auth,
    /// MAIL, RCPT, DATA and their replies.
    Envelope,
    /// The message, through the final dot.
    Body,
    /// The server's reply to the message.
    FinalReply,
    /// The second message, from a second client, over the pooled connection.
    PooledEnvelope,
    PooledBody,
    PooledFinalReply,
    /// QUIT when the pool is drained, its reply, and the TLS close_notify.
    Quit,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Greeting => "greeting",
            Class::Ehlo => "EHLO",
            Class::Tls => "STARTTLS / TLS handshake",
            Class::Auth => "AUTH",
            Class::Envelope => "MAIL / RCPT / DATA",
            Class::Body => "DATA body",
            Class::FinalReply => "final reply",
            Class::PooledEnvelope => "pooled: MAIL / RCPT / DATA",
            Class::PooledBody => "pooled: DATA body",
            Class::PooledFinalReply => "pooled: final reply",
            Class::Quit => "QUIT (pool drained)",
        }
    }
}

/// Which operation a fault at the unit interrupts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg {
    /// The first client's send (it opens the connection).
    First,
    /// The second client's send, over the connection the first one left in the pool.
    Second,
    /// Draining the pool (QUIT).
    Quit,
}

#[derive(Clone, Debug)]
pub struct Label {
    pub class: Class,
    pub seg: Seg,
    /// The steps the failed send may name: the client may notice a fault while writing the
    /// unit or, after writing on, while waiting for the reply.
    pub steps: Vec<Step>,
    /// The whole message went out before the failure: the error must say the outcome is unknown.
    pub outcome_unknown: bool,
    /// A failure here on a reused connection is retried on a new one (nothing acknowledged yet).
    pub retry_safe: bool,
    /// The unit comes as the connection closes and may be lost in the race between the two
    /// ends' closes (a TLS close_notify), so a fault there may never fire.
    pub may_not_fire: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Ehlo,
    StartTls,
    ClientHello,
    ChangeCipherSpec,
    Finished,
    Auth,
    Mail,
    Rcpt,
    Data,
    Body,
    Quit,
    CloseNotify,
}

/// The client's records after its TLS handshake, one per write, in order.
const TLS_COMMANDS_PIPELINED: [Cmd; 8] = [
    Cmd::Ehlo,
    Cmd::Auth,
    // MAIL, RCPT and DATA in one write (RFC 2920).
    Cmd::Mail,
    Cmd::Body,
    Cmd::Mail,
    Cmd::Body,
    Cmd::Quit,
    Cmd::CloseNotify,
];

/// The same without PIPELINING: one command per write.
const TLS_COMMANDS: [Cmd; 12] = [
    Cmd::Ehlo,
    Cmd::Auth,
    Cmd::Mail,
    Cmd::Rcpt,
    Cmd::Data,
    Cmd::Body,
    Cmd::Mail,
    Cmd::Rcpt,
    Cmd::Data,
    Cmd::Body,
    Cmd::Quit,
    Cmd::CloseNotify,
];

/// Label every unit of a session recorded by `fault_proxy`: the first client sends a message,
/// a second one sends another over the pooled connection, and the pool is drained.
/// `pipelining`: the server offered PIPELINING, so MAIL, RCPT and DATA went in one write.
/// Returns (client units' labels, server units' labels), by unit index.
pub fn label(
    units: &[Unit],
    framing: Framing,
    pipelining: bool,
) -> Result<(Vec<Label>, Vec<Label>), String> {
    let client: Vec<&Unit> = units.iter().filter(|u| u.dir == Dir::ToServer).collect();
    let server: Vec<&Unit> = units.iter().filter(|u| u.dir == Dir::ToClient).collect();
    let cmds = client_commands(&client, pipelining)?;
    // How many messages were complete before each client unit, and through it: a plaintext
    // message ends with its "." line, a TLS one with its record.
    let mut done_before = Vec::with_capacity(client.len());
    let mut done_through = Vec::with_capacity(client.len());
    let mut done = 0;
    for (unit, cmd) in client.iter().zip(&cmds) {
        done_before.push(done);
        if *cmd == Cmd::Body && unit.text.as_deref().is_none_or(|t| t == ".") {
            done += 1;
        }
        done_through.push(done);
    }
    let client_labels: Vec<Label> = cmds
        .iter()
        .zip(&done_before)
        .map(|(cmd, before)| client_label(*cmd, *before, framing, pipelining))
        .collect();
    // With PIPELINING, the replies to a group come one after the other: the n-th complete reply
    // answers the group's n-th command (MAIL, RCPT, DATA). Counted per group, which starts
    // at its MAIL (plaintext lines) or is one record (TLS).
    let group_of = |at: usize| (0..=at).rev().find(|&i| cmds[i] == Cmd::Mail).unwrap_or(at);
    let mut group: Option<usize> = None;
    let mut replies_in_group = 0usize;

    // The server's units: each answers the client unit that finished last before it started.
    let after_finished_greeting = framing == Framing::Tls;
    let mut server_labels = Vec::new();
    let mut quit_replies = 0;
    for (i, unit) in server.iter().enumerate() {
        let answered = client
            .iter()
            .rposition(|c| c.finished < unit.started)
            .map(|at| (at, cmds[at]));
        let bodies_before = answered.map_or(0, |(at, _)| done_through[at]);
        let label = match answered {
            None => match framing {
                Framing::Smtp => plain(Class::Greeting, Seg::First, Step::Greeting),
                Framing::Tls => plain(Class::Tls, Seg::First, Step::TlsHandshake),
            },
            Some((_, Cmd::Ehlo)) => plain(Class::Ehlo, Seg::First, Step::Ehlo),
            Some((_, Cmd::StartTls)) => plain(Class::Tls, Seg::First, Step::StartTls),
            Some((_, Cmd::ClientHello | Cmd::ChangeCipherSpec)) => {
                plain(Class::Tls, Seg::First, Step::TlsHandshake)
            }
            Some((_, Cmd::Finished)) if after_finished_greeting => {
                // Implicit TLS: the session tickets, then the greeting, its last record before
                // the client's EHLO. The client is waiting for the greeting throughout.
                let next_is_later = server
                    .get(i + 1)
                    .is_none_or(|next| answered_by(&client, next) != answered_by(&client, unit));
                let class = if next_is_later {
                    Class::Greeting
                } else {
                    Class::Tls
                };
                plain(class, Seg::First, Step::Greeting)
            }
            // STARTTLS: the session tickets arrive while the client waits for its EHLO reply.
            Some((_, Cmd::Finished)) => plain(Class::Tls, Seg::First, Step::Ehlo),
            Some((_, Cmd::Auth)) => plain(Class::Auth, Seg::First, Step::Auth),
            Some((at, Cmd::Mail | Cmd::Rcpt | Cmd::Data)) if pipelining => {
                if group != Some(group_of(at)) {
                    group = Some(group_of(at));
                    replies_in_group = 0;
                }
                let ordinal = replies_in_group;
                let complete = unit
                    .text
                    .as_deref()
                    .is_none_or(|line| line.as_bytes().get(3) != Some(&b'-'));
                if complete {
                    replies_in_group += 1;
                }
                let step = match ordinal {
                    0 => Step::MailFrom,
                    1 => Step::RcptTo,
                    _ => Step::Data,
                };
                if bodies_before == 0 {
                    plain(Class::Envelope, Seg::First, step)
                } else {
                    let mut l = plain(Class::PooledEnvelope, Seg::Second, step);
                    l.retry_safe = ordinal == 0;
                    l
                }
            }
            Some((_, cmd @ (Cmd::Mail | Cmd::Rcpt | Cmd::Data))) => {
                let step = match cmd {
                    Cmd::Mail => Step::MailFrom,
                    Cmd::Rcpt => Step::RcptTo,
                    _ => Step::Data,
                };
                if bodies_before == 0 {
                    plain(Class::Envelope, Seg::First, step)
                } else {
                    let mut l = plain(Class::PooledEnvelope, Seg::Second, step);
                    l.retry_safe = cmd == Cmd::Mail;
                    l
                }
            }
            Some((_, Cmd::Body)) => {
                let (class, seg) = if bodies_before == 1 {
                    (Class::FinalReply, Seg::First)
                } else {
                    (Class::PooledFinalReply, Seg::Second)
                };
                let mut l = plain(class, seg, Step::Data);
                l.outcome_unknown = true;
                l
            }
            Some((_, Cmd::Quit | Cmd::CloseNotify)) => {
                quit_replies += 1;
                let mut l = plain(Class::Quit, Seg::Quit, Step::Other);
                l.may_not_fire = quit_replies > 1;
                l
            }
        };
        server_labels.push(label);
    }
    Ok((client_labels, server_labels))
}

fn answered_by(client: &[&Unit], unit: &Unit) -> Option<usize> {
    client.iter().rposition(|c| c.finished < unit.started)
}

fn plain(class: Class, seg: Seg, step: Step) -> Label {
    Label {
        class,
        seg,
        steps: vec![step],
        outcome_unknown: false,
        retry_safe: false,
        may_not_fire: false,
    }
}

fn client_label(cmd: Cmd, bodies_before: usize, framing: Framing, pipelining: bool) -> Label {
    let second = bodies_before > 0;
    let envelope = |step: Step| {
        if second {
            plain(Class::PooledEnvelope, Seg::Second, step)
        } else {
            plain(Class::Envelope, Seg::First, step)
        }
    };
    match cmd {
        Cmd::Ehlo => plain(Class::Ehlo, Seg::First, Step::Ehlo),
        Cmd::StartTls => plain(Class::Tls, Seg::First, Step::StartTls),
        Cmd::ClientHello => plain(Class::Tls, Seg::First, Step::TlsHandshake),
        Cmd::ChangeCipherSpec | Cmd::Finished => {
            // Written at the end of the client's handshake, which then goes on to wait for the
            // greeting (implicit TLS) or to send EHLO (STARTTLS).
            let next = match framing {
                Framing::Tls => Step::Greeting,
                Framing::Smtp => Step::Ehlo,
            };
            let mut l = plain(Class::Tls, Seg::First, Step::TlsHandshake);
            l.steps.push(next);
            l
        }
        Cmd::Auth => plain(Class::Auth, Seg::First, Step::Auth),
        // The whole group went out in one write, so the client waits for the MAIL reply first,
        // wherever in the group the connection broke: nothing acknowledged yet.
        Cmd::Mail | Cmd::Rcpt | Cmd::Data if pipelining => {
            let mut l = envelope(Step::MailFrom);
            l.retry_safe = second;
            l
        }
        Cmd::Mail => {
            let mut l = envelope(Step::MailFrom);
            l.retry_safe = second;
            l
        }
        Cmd::Rcpt => envelope(Step::RcptTo),
        Cmd::Data => envelope(Step::Data),
        Cmd::Body => {
            let mut l = if second {
                plain(Class::PooledBody, Seg::Second, Step::Data)
            } else {
                plain(Class::Body, Seg::First, Step::Data)
            };
            l.outcome_unknown = true;
            l
        }
        Cmd::Quit => plain(Class::Quit, Seg::Quit, Step::Other),
        // Sent as the client closes; a reset caused by the server's own close_notify arriving
        // at a socket already shut can discard it before the proxy reads it.
        Cmd::CloseNotify => {
            let mut l = plain(Class::Quit, Seg::Quit, Step::Other);
            l.may_not_fire = true;
            l
        }
    }
}

/// What each client unit is.
fn client_commands(client: &[&Unit], pipelining: bool) -> Result<Vec<Cmd>, String> {
    let mut cmds = Vec::new();
    let mut in_body = false;
    let mut hello_seen = false;
    let mut finished_seen = false;
    let expected: &[Cmd] = if pipelining {
        &TLS_COMMANDS_PIPELINED
    } else {
        &TLS_COMMANDS
    };
    let mut app = expected.iter();
    for unit in client {
        let cmd = match (&unit.text, unit.tls_type) {
            (Some(line), _) if in_body => {
                in_body = line != ".";
                Cmd::Body
            }
            (Some(line), _) => {
                let verb = line
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                match verb.as_str() {
                    "EHLO" | "HELO" => Cmd::Ehlo,
                    "STARTTLS" => Cmd::StartTls,
                    "AUTH" => Cmd::Auth,
                    "MAIL" => Cmd::Mail,
                    "RCPT" => Cmd::Rcpt,
                    "DATA" => {
                        in_body = true;
                        Cmd::Data
                    }
                    "QUIT" => Cmd::Quit,
                    _ => return Err(format!("unexpected client line {line:?}")),
                }
            }
            (None, Some(22)) if !hello_seen => {
                hello_seen = true;
                Cmd::ClientHello
            }
            (None, Some(20)) => Cmd::ChangeCipherSpec,
            // TLS 1.3: the client's first encrypted record is its Finished.
            (None, Some(23)) if !finished_seen => {
                finished_seen = true;
                Cmd::Finished
            }
            (None, Some(23 | 21)) => *app.next().ok_or_else(|| {
                format!(
                    "more client records than the {} expected after the handshake",
                    expected.len()
                )
            })?,
            (None, other) => {
                return Err(format!(
                    "unexpected client TLS record type {other:?} (only TLS 1.3 is labelled)"
                ));
            }
        };
        cmds.push(cmd);
    }
    // The client's close_notify may go unseen: the server can close first.
    let left: Vec<&Cmd> = app.collect();
    if hello_seen && !(left.is_empty() || left == [&Cmd::CloseNotify]) {
        return Err(format!(
            "fewer client records than the {} expected after the handshake",
            expected.len()
        ));
    }
    Ok(cmds)
}
