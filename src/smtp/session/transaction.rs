//! One mail transaction (RFC 5321 §3.3): MAIL FROM and RCPT TO, one at a time or pipelined
//! (RFC 2920), what the replies to the envelope decide, then DATA and the message; and what a
//! failed transaction means for sending it again.

use std::io::Read;
use std::time::Instant;

use super::Session;
use super::body::Body;
use crate::error::{Error, Kind, RejectedRecipient, Result, Step};
use crate::smtp::command::Command;
use crate::smtp::data::DataEncoder;
use crate::smtp::reply::Reply;
use crate::transcript::{Direction, Transcript};

/// Message data is written in chunks of about this size (one write each; the last chunk carries
/// the terminator).
const DATA_CHUNK: usize = 256 * 1024;

/// A failed transaction, and whether sending it again on a fresh connection is safe: true only
/// when the server cannot have taken the message (nothing was acknowledged, and the end of the
/// message never went out whole), so a retry can never deliver a duplicate.
pub(crate) struct TxFailure {
    pub error: Error,
    pub retry_safe: bool,
}

impl From<Error> for TxFailure {
    fn from(error: Error) -> TxFailure {
        TxFailure {
            error,
            retry_safe: false,
        }
    }
}

/// What the server answered to a whole transaction.
pub(crate) struct Delivered {
    pub reply: Reply,
    pub accepted: Vec<String>,
    pub rejected: Vec<RejectedRecipient>,
    pub size: u64,
}

/// The message of one transaction.
pub(crate) struct Outgoing<'a> {
    pub from: &'a str,
    pub to: &'a [String],
    pub body: &'a mut dyn Read,
    /// Size in bytes, when known in advance.
    pub size: Option<u64>,
    /// Whether the body holds 8-bit bytes, when known in advance.
    pub eight_bit: Option<bool>,
    /// Whether the headers carry UTF-8 addresses (RFC 6532), which needs SMTPUTF8 even when the
    /// envelope is ASCII.
    pub utf8_headers: bool,
}

impl Session {
    /// Run one mail transaction: MAIL, RCPT for each recipient, DATA, the message.
    pub(crate) fn transaction(
        &mut self,
        message: Outgoing<'_>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<Delivered, TxFailure> {
        let ext = &self.extensions;
        if let (Some(size), Some(max)) = (message.size, ext.max_size()) {
            if size > max {
                return Err(too_large(size, max).into());
            }
        }
        let needs_utf8 = std::iter::once(message.from)
            .chain(message.to.iter().map(String::as_str))
            .find(|a| crate::address::needs_smtputf8(a));
        if message.utf8_headers && !ext.smtputf8 {
            return Err(Error::invalid_input(
                "the message has UTF-8 addresses in its headers and the server does not support SMTPUTF8",
            )
            .into());
        }
        if let Some(address) = needs_utf8 {
            if !ext.smtputf8 {
                return Err(Error::invalid_input(format!(
                    "address {address:?} is not ASCII and the server does not support SMTPUTF8"
                ))
                .into());
            }
        }
        if message.eight_bit == Some(true) && !ext.eight_bit_mime {
            return Err(Error::invalid_input(
                "the message contains 8-bit bytes but the server does not offer 8BITMIME; encode the body (quoted-printable or base64)",
            )
            .into());
        }
        let mail = Command::MailFrom {
            address: message.from,
            size: message.size.filter(|_| ext.size.is_some()),
            eight_bit_mime: ext.eight_bit_mime && message.eight_bit != Some(false),
            smtputf8: needs_utf8.is_some() || message.utf8_headers,
        };
        let rcpts: Vec<Command<'_>> = message
            .to
            .iter()
            .map(|address| Command::RcptTo { address })
            .collect();

        if self.extensions.chunking {
            return self.transaction_bdat(mail, &rcpts, message, transcript, budget);
        }
        let (accepted, rejected) = if self.extensions.pipelining {
            self.envelope_pipelined(mail, &rcpts, message.to, true, transcript, budget)?
        } else {
            self.envelope_stepwise(mail, &rcpts, message.to, true, transcript, budget)?
        };
        self.send_body(message.body, message.size, transcript, budget)
            .map(|(reply, size)| Delivered {
                reply,
                accepted,
                rejected,
                size,
            })
            .map_err(TxFailure::from)
    }

    /// PIPELINING (RFC 2920): MAIL, every RCPT and DATA in one write, then the replies in order.
    pub(super) fn envelope_pipelined(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        to: &[String],
        data: bool,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<(Vec<String>, Vec<RejectedRecipient>), TxFailure> {
        let mut group = Vec::with_capacity(rcpts.len() + 2);
        group.push(mail);
        group.extend_from_slice(rcpts);
        if data {
            group.push(Command::Data);
        }
        // Nothing is acknowledged yet: a dead connection here is safe to retry on a new one.
        self.send(&group, transcript, budget, Step::MailFrom)
            .map_err(retry_safe)?;
        let (mail_reply, rcpt_replies) = self.envelope_replies(to, transcript, budget)?;
        let data_reply = if data {
            Some(self.read_reply(transcript, budget, Step::Data, "for the DATA reply")?)
        } else {
            None
        };
        let in_data = data_reply.as_ref().is_some_and(|r| r.code() == 354);

        let error = match (
            self.envelope_verdict(to, mail_reply, rcpt_replies),
            data_reply,
        ) {
            (Ok(lists), None) => return Ok(lists),
            (Ok(lists), Some(_)) if in_data => return Ok(lists),
            (Ok(_), Some(data_reply)) => reply_error(
                Kind::Data,
                "the server refused DATA",
                data_reply,
                Step::Data,
            ),
            (Err(e), _) => e,
        };
        if in_data {
            // The server is already waiting for the message, and ending the data, even empty,
            // would deliver it: drop the connection instead, which discards the transaction.
            transcript.record(
                Direction::Info,
                "aborting the transaction by closing the connection (the server was already waiting for data)",
            );
            self.break_connection();
        } else {
            self.reset_after_failure(transcript, budget);
        }
        Err(error.into())
    }

    /// What the replies to a pipelined MAIL and its RCPTs decide: the sender refused, or the
    /// recipients' verdict (accepted and refused lists, or the error when too many were refused).
    pub(super) fn envelope_verdict(
        &self,
        to: &[String],
        mail_reply: Reply,
        rcpt_replies: Vec<Reply>,
    ) -> Result<(Vec<String>, Vec<RejectedRecipient>)> {
        if !mail_reply.is_positive() {
            return Err(reply_error(
                Kind::MailFrom,
                "the server rejected the sender",
                mail_reply,
                Step::MailFrom,
            ));
        }
        let (accepted, rejected) = split_recipients(to, rcpt_replies);
        self.recipients_verdict(accepted, rejected)
    }

    /// The replies to a pipelined MAIL and its RCPTs. Until the MAIL reply arrives nothing is
    /// acknowledged, so a dead connection (or a 421) is safe to retry on a new one.
    pub(super) fn envelope_replies(
        &mut self,
        to: &[String],
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<(Reply, Vec<Reply>), TxFailure> {
        let mail_reply = self
            .read_reply(
                transcript,
                budget,
                Step::MailFrom,
                "for the MAIL FROM reply",
            )
            .map_err(retry_safe)?;
        if mail_reply.code() == 421 {
            return Err(retry_safe(reply_error(
                Kind::MailFrom,
                "the server is closing the connection",
                mail_reply,
                Step::MailFrom,
            )));
        }
        let mut rcpt_replies = Vec::with_capacity(to.len());
        for address in to {
            let what = format!("for the RCPT TO reply for {address}");
            rcpt_replies.push(self.read_reply(transcript, budget, Step::RcptTo, &what)?);
        }
        Ok((mail_reply, rcpt_replies))
    }

    /// Without PIPELINING: one command, one reply.
    pub(super) fn envelope_stepwise(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        to: &[String],
        data: bool,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<(Vec<String>, Vec<RejectedRecipient>), TxFailure> {
        let mail_reply = self
            .command(
                mail,
                transcript,
                budget,
                Step::MailFrom,
                "for the MAIL FROM reply",
            )
            .map_err(retry_safe)?;
        if !mail_reply.is_positive() {
            let closing = mail_reply.code() == 421;
            let error = reply_error(
                Kind::MailFrom,
                "the server rejected the sender",
                mail_reply,
                Step::MailFrom,
            );
            if closing {
                return Err(retry_safe(error));
            }
            self.reset_after_failure(transcript, budget);
            return Err(error.into());
        }
        let mut replies = Vec::with_capacity(rcpts.len());
        for (command, address) in rcpts.iter().zip(to) {
            let what = format!("for the RCPT TO reply for {address}");
            replies.push(self.command(command.clone(), transcript, budget, Step::RcptTo, &what)?);
        }
        let (accepted, rejected) = split_recipients(to, replies);
        let lists = match self.recipients_verdict(accepted, rejected) {
            Ok(lists) => lists,
            Err(e) => {
                self.reset_after_failure(transcript, budget);
                return Err(e.into());
            }
        };
        if !data {
            return Ok(lists);
        }
        let data_reply = self.command(
            Command::Data,
            transcript,
            budget,
            Step::Data,
            "for the DATA reply",
        )?;
        if data_reply.code() != 354 {
            self.reset_after_failure(transcript, budget);
            return Err(reply_error(
                Kind::Data,
                "the server refused DATA",
                data_reply,
                Step::Data,
            )
            .into());
        }
        Ok(lists)
    }

    fn recipients_verdict(
        &self,
        accepted: Vec<String>,
        rejected: Vec<RejectedRecipient>,
    ) -> Result<(Vec<String>, Vec<RejectedRecipient>)> {
        if rejected.is_empty() || (self.settings.allow_partial_recipients && !accepted.is_empty()) {
            return Ok((accepted, rejected));
        }
        let listed: Vec<String> = rejected
            .iter()
            .map(|r| format!("{} ({})", r.address, r.reply.one_line()))
            .collect();
        let message = if accepted.is_empty() {
            format!("the server rejected every recipient: {}", listed.join("; "))
        } else {
            format!(
                "the server rejected {} of {} recipients, so nothing was sent: {}",
                rejected.len(),
                rejected.len() + accepted.len(),
                listed.join("; ")
            )
        };
        Err(Error::new(Kind::RecipientsRejected, message)
            .with_rejected(rejected)
            .at_step(Step::RcptTo))
    }

    /// Stream the message after a 354, then read the final reply.
    fn send_body(
        &mut self,
        body: &mut dyn Read,
        declared: Option<u64>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<(Reply, u64)> {
        let mut body = Body::new(body, declared, DataEncoder::new());
        // The session's chunk buffer (see `transaction_bdat`), not a new 256 KiB per message.
        let mut wire = std::mem::take(&mut self.chunk);
        wire.clear();
        let written = self.send_data(&mut body, &mut wire, transcript, budget);
        if wire.capacity() <= super::bdat::KEPT_CHUNK {
            self.chunk = wire;
        }
        written?;
        let size = body.size;
        if !self.settings.transcript_bodies {
            transcript.record(Direction::Sent, &format!("<message: {size} bytes>"));
        }
        transcript.record(Direction::Sent, ".");
        let deadline = (Instant::now() + self.settings.timeouts.data_end).min(budget);
        let reply = self
            .read_reply_until(
                transcript,
                deadline,
                Step::Data,
                "for the reply to the message",
            )
            .map_err(outcome_unknown)?;
        if reply.is_positive() {
            return Ok((reply, size));
        }
        Err(message_refused(reply))
    }

    /// The message after DATA, dot-stuffed, in writes of about [`DATA_CHUNK`], the last one
    /// ending with the terminator.
    fn send_data(
        &mut self,
        body: &mut Body<'_>,
        wire: &mut Vec<u8>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        while self.read_piece(body, wire)? {
            if wire.len() >= DATA_CHUNK {
                self.write_data(wire, transcript, budget)?;
                wire.clear();
            }
        }
        self.write_data(wire, transcript, budget)
    }

    pub(super) fn reset_after_failure(&mut self, transcript: &mut Transcript, budget: Instant) {
        if self.is_usable() {
            let ok = self
                .command(
                    Command::Rset,
                    transcript,
                    budget,
                    Step::Other,
                    "for the RSET reply",
                )
                .is_ok_and(|r| r.is_positive());
            if !ok {
                self.break_connection();
            }
        }
    }

    /// RSET: abandon any transaction in progress.
    /// Ask whether the server would take mail from `from` to `to` (MAIL FROM, RCPT TO), then
    /// RSET: nothing is sent. The RCPT reply is `None` when MAIL FROM was refused.
    pub(crate) fn try_envelope(
        &mut self,
        from: &str,
        to: &str,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<(Reply, Option<Reply>)> {
        let mail = Command::MailFrom {
            address: from,
            size: None,
            eight_bit_mime: false,
            smtputf8: crate::address::needs_smtputf8(from) || crate::address::needs_smtputf8(to),
        };
        let mail_reply = self.command(
            mail,
            transcript,
            budget,
            Step::MailFrom,
            "for the MAIL FROM reply",
        )?;
        let rcpt_reply = if mail_reply.is_positive() {
            let rcpt = Command::RcptTo { address: to };
            Some(self.command(
                rcpt,
                transcript,
                budget,
                Step::RcptTo,
                "for the RCPT TO reply",
            )?)
        } else {
            None
        };
        self.reset(transcript, budget)?;
        Ok((mail_reply, rcpt_reply))
    }
}

pub(super) fn message_refused(reply: Reply) -> Error {
    let kind = if reply.code() == 552 {
        Kind::MessageTooLarge
    } else {
        Kind::Data
    };
    reply_error(kind, "the server rejected the message", reply, Step::Data)
}

/// A failure once the end of the message went out (the final dot, or the chunk marked LAST):
/// without the server's reply, nobody knows whether it took the message before the connection
/// failed. Sending it again could deliver it twice, so it is not; the caller is told to check.
pub(super) fn outcome_unknown(mut error: Error) -> Error {
    if error.reply().is_some() {
        return error;
    }
    error.mark_outcome_unknown();
    error.prefix_message(
        "the server may or may not have accepted the message, which had been sent in full; it was not sent again",
    );
    error.set_hint(
        "The whole message reached the server, but its answer was lost, so the message may have been delivered. Check the recipient's mailbox or the server's log before sending it again: sending it again blindly may deliver it twice.".to_string(),
    );
    error
}

pub(super) fn retry_safe(error: Error) -> TxFailure {
    TxFailure {
        error,
        retry_safe: true,
    }
}

fn reply_error(kind: Kind, message: &str, reply: Reply, step: Step) -> Error {
    Error::from_reply(kind, message, reply).at_step(step)
}

pub(super) fn too_large(size: u64, max: u64) -> Error {
    Error::new(
        Kind::MessageTooLarge,
        format!("the message is {size} bytes; the server accepts at most {max}"),
    )
    .at_step(Step::MailFrom)
}

fn split_recipients(to: &[String], replies: Vec<Reply>) -> (Vec<String>, Vec<RejectedRecipient>) {
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (address, reply) in to.iter().zip(replies) {
        if reply.is_positive() {
            accepted.push(address.clone());
        } else {
            rejected.push(RejectedRecipient {
                address: address.clone(),
                reply,
            });
        }
    }
    (accepted, rejected)
}

#[cfg(test)]
mod tests {
    //! The envelope and DATA against scripted peers on loopback.

    use super::super::scripted::*;
    use crate::error::Kind;

    const EHLO_PIPELINING: &str = "250-test.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

    #[test]
    fn pipelined_group_is_one_write_and_replies_match_commands() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(5), // MAIL, RCPT x3, DATA
            Say(
                "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n",
            ),
            HearUntil("\r\n.\r\n"),
            Say("250 2.0.0 queued as ABC123\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(p.port, |c| c.allow_partial_recipients = true);
        let receipt = c
            .send_bytes(
                &envelope(&["x@a.test", "bad@a.test", "y@a.test"]),
                b"Subject: t\r\n\r\nbody\r\n",
            )
            .unwrap();
        assert_eq!(receipt.accepted, vec!["x@a.test", "y@a.test"]);
        assert_eq!(receipt.rejected.len(), 1);
        assert_eq!(receipt.rejected[0].address, "bad@a.test");
        assert_eq!(receipt.rejected[0].reply.code(), 550);
        assert!(receipt.reply.text().contains("ABC123"));
        drop(c);
        let heard = p.handle.join().unwrap();
        let group = String::from_utf8_lossy(&heard[1]);
        assert_eq!(
            group,
            "MAIL FROM:<a@example.com>\r\nRCPT TO:<x@a.test>\r\nRCPT TO:<bad@a.test>\r\nRCPT TO:<y@a.test>\r\nDATA\r\n",
            "the whole group must arrive in one read"
        );
        let body = String::from_utf8_lossy(&heard[2]);
        assert_eq!(
            body, "Subject: t\r\n\r\nbody\r\n.\r\n",
            "body and terminator in one write"
        );
    }

    #[test]
    fn a_refused_recipient_after_354_drops_the_connection_instead_of_ending_data() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(4),
            Say("250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"),
            HearToEnd,
        ]]);
        let mut c = client(p.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["bad@a.test", "y@a.test"]), b"hello\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::RecipientsRejected);
        assert_eq!(err.rejected_recipients()[0].address, "bad@a.test");
        assert!(!c.is_connected());
        let heard = p.handle.join().unwrap();
        let after = String::from_utf8_lossy(&heard[2]);
        assert!(!after.contains('.'), "nothing may end the data: {after:?}");
        assert!(!after.contains("hello"));
    }

    #[test]
    fn a_server_hanging_up_during_data_is_never_success() {
        let p = peer(vec![vec![
            Say("220 test.example ESMTP\r\n"),
            Hear(1),
            Say("250 test.example\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("250 ok\r\n"),
            Hear(1),
            Say("354 go\r\n"),
            HearUntil("\r\n.\r\n"),
        ]]);
        let mut c = client(p.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["x@a.test"]), b"hi\r\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::ConnectionClosed, "{err}");
        assert!(err.is_transient());
        p.handle.join().unwrap();
    }

    /// A greeting, EHLO with PIPELINING, and one message's pipelined MAIL/RCPT/DATA and its
    /// data, then `rest` (from the server's final reply on).
    fn one_message(rest: Vec<Step_>) -> Vec<Step_> {
        let mut steps = vec![
            Say("220 a ESMTP\r\n"),
            Hear(1),
            Say(EHLO_PIPELINING),
            Hear(3),
            Say("250 ok\r\n250 ok\r\n354 go\r\n"),
            HearUntil("\r\n.\r\n"),
        ];
        steps.extend(rest);
        steps
    }

    #[test]
    fn an_idle_session_with_a_421_waiting_is_not_used() {
        // The server gives up on the idle connection with a 421 a moment after its reply; the
        // next message comes later than RECENTLY_ACTIVE, so the socket is asked first and the
        // session is replaced before anything is written to it.
        let first = one_message(vec![
            Say("250 queued 1\r\n"),
            Say("421 4.4.2 idle too long, closing\r\n"),
            HearToEnd,
        ]);
        let second = one_message(vec![Say("250 queued 2\r\n"), Hear(1), Say("221 bye\r\n")]);
        let p = peer(vec![first, second]);
        let mut c = client(p.port, |_| {});
        let e = envelope(&["x@a.test"]);
        c.send_bytes(&e, b"one\r\n").unwrap();
        std::thread::sleep(super::super::RECENTLY_ACTIVE * 3);
        let r = c.send_bytes(&e, b"two\r\n").unwrap();
        assert!(r.reply.text().contains("queued 2"));
        let text = c.transcript();
        assert!(
            text.contains("the server closed the idle connection; reconnecting"),
            "{text}"
        );
        assert!(!text.contains("sending again"), "{text}");
        drop(c);
        let heard = p.handle.join().unwrap();
        assert!(
            !String::from_utf8_lossy(&heard[3]).contains("MAIL"),
            "nothing may be sent after the 421: {:?}",
            String::from_utf8_lossy(&heard[3])
        );
    }

    #[test]
    fn a_server_hanging_up_right_after_its_reply_gets_the_next_message_on_a_new_connection() {
        // Sent at once, the next group meets the closed connection (not asked first: the
        // session was active a moment ago); nothing was acknowledged, so it goes again.
        let first = one_message(vec![Say("250 queued 1\r\n")]);
        let second = one_message(vec![Say("250 queued 2\r\n"), Hear(1), Say("221 bye\r\n")]);
        let p = peer(vec![first, second]);
        let mut c = client(p.port, |_| {});
        let e = envelope(&["x@a.test"]);
        c.send_bytes(&e, b"one\r\n").unwrap();
        let r = c.send_bytes(&e, b"two\r\n").unwrap();
        assert!(r.reply.text().contains("queued 2"), "{}", c.transcript());
        drop(c);
        p.handle.join().unwrap();
    }

    #[test]
    fn a_reused_connection_answering_421_is_retried_on_a_fresh_one() {
        let first = one_message(vec![
            Say("250 queued 1\r\n"),
            Hear(3),
            Say("421 4.4.2 idle too long, closing\r\n"),
            HearToEnd,
        ]);
        let second = one_message(vec![Say("250 queued 2\r\n"), Hear(1), Say("221 bye\r\n")]);
        let p = peer(vec![first, second]);
        let mut c = client(p.port, |_| {});
        let e = envelope(&["x@a.test"]);
        assert!(
            c.send_bytes(&e, b"one\r\n")
                .unwrap()
                .reply
                .text()
                .contains("queued 1")
        );
        let r = c.send_bytes(&e, b"two\r\n").unwrap();
        assert!(r.reply.text().contains("queued 2"));
        assert!(c.transcript().contains("reconnecting and sending again"));
        drop(c);
        p.handle.join().unwrap();
    }
}
