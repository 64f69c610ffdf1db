//! CHUNKING (RFC 3030): the message in BDAT chunks of counted bytes, pipelined when the server
//! allows it, instead of DATA.

use std::time::Instant;

use super::body::Body;
use super::transaction::{
    Delivered, Outgoing, TxFailure, message_refused, outcome_unknown, retry_safe,
};
use super::{Session, record_and_write};
use crate::error::{Result, Step};
use crate::smtp::command::{Command, push_decimal};
use crate::smtp::data::DataEncoder;
use crate::smtp::reply::Reply;
use crate::transcript::{Direction, Transcript};

/// Message data per BDAT command: big enough that the per-chunk reply costs little, small
/// enough to bound memory.
const BDAT_CHUNK: usize = 1024 * 1024;
/// With PIPELINING, how many BDAT replies may be outstanding while later chunks are sent.
const BDAT_WINDOW: usize = 4;
/// The largest chunk buffer a session keeps for its next message: a small message's, grown a
/// little, not a megabyte a large one needed.
pub(super) const KEPT_CHUNK: usize = 256 * 1024;

/// Text this module composed from ASCII only.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("<not ASCII>")
}

impl Session {
    /// CHUNKING (RFC 3030): the message goes in BDAT chunks of counted bytes, so no
    /// dot-stuffing and no end-of-data line. With PIPELINING and one recipient (or partial
    /// delivery allowed), MAIL, RCPT and the first chunk go out in one write: a small message
    /// costs one round trip. With several recipients the envelope is settled first, because a
    /// chunk marked LAST would deliver to the accepted ones even if another was refused.
    pub(super) fn transaction_bdat(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        message: Outgoing<'_>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<Delivered, TxFailure> {
        // The session's chunk buffer, reused from one message to the next; one a large message
        // grew is not kept, so an idle session holds little.
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.clear();
        let result = self.bdat_with(mail, rcpts, message, &mut chunk, transcript, budget);
        if chunk.capacity() <= KEPT_CHUNK {
            self.chunk = chunk;
        }
        result
    }

    fn bdat_with(
        &mut self,
        mail: Command<'_>,
        rcpts: &[Command<'_>],
        message: Outgoing<'_>,
        chunk: &mut Vec<u8>,
        transcript: &mut Transcript,
        budget: Instant,
    ) -> std::result::Result<Delivered, TxFailure> {
        let to = message.to;
        let mut body = Body::new(message.body, message.size, DataEncoder::for_bdat());
        let one_flight =
            self.extensions.pipelining && (to.len() == 1 || self.settings.allow_partial_recipients);
        let (accepted, rejected) = if one_flight {
            self.next_chunk(&mut body, chunk)?;
            let last = body.done;
            // The envelope, the BDAT command and the chunk in one write (one TLS record for a
            // small message), the commands in the session's reused buffer.
            let mut head = std::mem::take(&mut self.wire);
            head.clear();
            for command in std::iter::once(&mail).chain(rcpts) {
                record_and_write(command, &mut head, transcript);
            }
            self.bdat_command(&mut head, chunk.len(), last, transcript);
            // A write that failed did not deliver the whole chunk, and a chunk the server does
            // not have whole is never delivered: safe to retry on a new connection.
            let written = self.write_flight(&head, chunk, transcript, budget);
            self.wire = head;
            written.map_err(retry_safe)?;
            let replies = self.envelope_replies(to, transcript, budget).and_then(
                |(mail_reply, rcpt_replies)| {
                    let chunk_reply = self.read_chunk_reply(transcript, budget, last)?;
                    Ok((mail_reply, rcpt_replies, chunk_reply))
                },
            );
            let (mail_reply, rcpt_replies, chunk_reply) = match replies {
                // The whole message went out with the envelope: without the server's answer,
                // never send it again. An answer that did arrive decides as usual: a 421 to
                // MAIL opened no transaction, so that stays safe to retry.
                Err(failure) if last && failure.error.reply().is_none() => {
                    return Err(outcome_unknown(failure.error).into());
                }
                other => other?,
            };
            let lists = match self.envelope_verdict(to, mail_reply, rcpt_replies) {
                Ok(lists) => lists,
                Err(e) => {
                    // The chunk was refused with the envelope; nothing was delivered.
                    self.reset_after_failure(transcript, budget);
                    return Err(e.into());
                }
            };
            if !chunk_reply.is_positive() {
                self.reset_after_failure(transcript, budget);
                return Err(message_refused(chunk_reply).into());
            }
            if last {
                return Ok(Delivered {
                    reply: chunk_reply,
                    accepted: lists.0,
                    rejected: lists.1,
                    size: body.size,
                });
            }
            lists
        } else if self.extensions.pipelining {
            self.envelope_pipelined(mail, rcpts, to, false, transcript, budget)?
        } else {
            self.envelope_stepwise(mail, rcpts, to, false, transcript, budget)?
        };
        // With PIPELINING, chunks go out without waiting for each reply; a few replies may be
        // outstanding (they are small, so neither side's buffers fill up meanwhile).
        let window = if self.extensions.pipelining {
            BDAT_WINDOW
        } else {
            0
        };
        let mut outstanding = 0usize;
        loop {
            chunk.clear();
            self.next_chunk(&mut body, chunk)?;
            let last = body.done;
            let mut head = std::mem::take(&mut self.wire);
            head.clear();
            self.bdat_command(&mut head, chunk.len(), last, transcript);
            let written = self.write_flight(&head, chunk, transcript, budget);
            self.wire = head;
            written?;
            outstanding += 1;
            while outstanding > window || (last && outstanding > 0) {
                outstanding -= 1;
                let is_final = last && outstanding == 0;
                let reply = self
                    .read_chunk_reply(transcript, budget, is_final)
                    .map_err(|e| if last { outcome_unknown(e) } else { e })?;
                if !reply.is_positive() {
                    // Later chunks are refused too, LAST included (RFC 3030 §2): collect their
                    // replies, then start over. The refusal stands if they never come.
                    for _ in 0..outstanding {
                        if self.read_chunk_reply(transcript, budget, false).is_err() {
                            break;
                        }
                    }
                    self.reset_after_failure(transcript, budget);
                    return Err(message_refused(reply).into());
                }
                if is_final {
                    return Ok(Delivered {
                        reply,
                        accepted,
                        rejected,
                        size: body.size,
                    });
                }
            }
        }
    }

    /// Fill `chunk` with the next BDAT_CHUNK bytes or so of the message (all of the rest when
    /// it ends sooner), checking the size limit and 8BITMIME as DATA does.
    fn next_chunk(&mut self, body: &mut Body<'_>, chunk: &mut Vec<u8>) -> Result<()> {
        while chunk.len() < BDAT_CHUNK && self.read_piece(body, chunk)? {}
        Ok(())
    }

    /// Append `BDAT n [LAST]` to `wire` and record it (and, unless bodies are recorded, a note
    /// of the chunk's size: the chunk itself is not in `wire`).
    fn bdat_command(
        &self,
        wire: &mut Vec<u8>,
        size: usize,
        last: bool,
        transcript: &mut Transcript,
    ) {
        let at = wire.len();
        wire.extend_from_slice(b"BDAT ");
        push_decimal(wire, size as u64);
        if last {
            wire.extend_from_slice(b" LAST");
        }
        transcript.record(Direction::Sent, ascii(&wire[at..]));
        wire.extend_from_slice(b"\r\n");
        if !self.settings.transcript_bodies {
            // Composed past the end of the command and cut off again: no allocation for it.
            let end = wire.len();
            wire.extend_from_slice(b"<message: ");
            push_decimal(wire, size as u64);
            wire.extend_from_slice(b" bytes>");
            transcript.record(Direction::Sent, ascii(&wire[end..]));
            wire.truncate(end);
        }
    }

    fn read_chunk_reply(
        &mut self,
        transcript: &mut Transcript,
        budget: Instant,
        last: bool,
    ) -> Result<Reply> {
        if last {
            // The last chunk's reply waits for the server to take the message: the DATA timeout.
            let deadline = (Instant::now() + self.settings.timeouts.data_end).min(budget);
            self.read_reply_until(
                transcript,
                deadline,
                Step::Data,
                "for the reply to the message",
            )
        } else {
            self.read_reply(transcript, budget, Step::Data, "for the BDAT reply")
        }
    }
}

#[cfg(test)]
mod tests {
    //! BDAT against scripted peers on loopback.

    use super::super::scripted::*;
    use super::*;
    use crate::error::Kind;

    const EHLO_CHUNKING: &str =
        "250-test.example\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n";

    #[test]
    fn chunking_sends_a_small_message_to_one_recipient_in_one_write() {
        let peer = peer(vec![vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            HearUntil("\r\n.line\r\n"),
            Say("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 queued as 42\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(peer.port, |_| {});
        let receipt = c
            .send_bytes(&envelope(&["b@example.com"]), b"Subject: x\n\n.line\n")
            .unwrap();
        assert_eq!(receipt.reply.code(), 250);
        drop(c);
        let heard = peer.handle.join().unwrap();
        let flight = String::from_utf8(heard[1].clone()).unwrap();
        // One write: envelope, BDAT with the exact count, the data with its dot untouched.
        assert_eq!(
            flight,
            "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT 21 LAST\r\nSubject: x\r\n\r\n.line\r\n"
        );
    }

    #[test]
    fn a_421_met_as_the_reply_to_mail_of_a_one_flight_message_is_sent_again_on_a_new_connection() {
        // The second message follows the first at once, so the session is reused without
        // asking the socket first: the server's 421 is read as the reply to its MAIL, and
        // although the whole message (BDAT LAST) went out with it, the server took nothing.
        let first = vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            HearUntil("one\r\n"),
            Say("250 ok\r\n250 ok\r\n250 queued 1\r\n"),
            HearUntil("two\r\n"),
            Say("421 4.4.2 test.example closing the connection\r\n"),
            HearToEnd,
        ];
        let second = vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            HearUntil("two\r\n"),
            Say("250 ok\r\n250 ok\r\n250 queued 2\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ];
        let peer = peer(vec![first, second]);
        let mut c = client(peer.port, |_| {});
        let e = envelope(&["b@example.com"]);
        let one = c.send_bytes(&e, b"one\n").unwrap();
        assert_eq!(one.reply.one_line(), "250 queued 1");
        let two = c.send_bytes(&e, b"two\n").unwrap();
        assert_eq!(two.reply.one_line(), "250 queued 2");
        assert!(
            c.transcript().contains("reconnecting and sending again"),
            "{}",
            c.transcript()
        );
        drop(c);
        let heard = peer.handle.join().unwrap();
        // The whole message went to the first connection, answered with the 421, then again
        // to the second.
        for at in [2, 5] {
            let flight = String::from_utf8_lossy(&heard[at]);
            assert!(flight.ends_with("BDAT 5 LAST\r\ntwo\r\n"), "{flight}");
        }
    }

    #[test]
    fn chunking_settles_several_recipients_before_any_data() {
        let peer = peer(vec![vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            Hear(3),
            Say("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n"),
            Hear(1),
            Say("250 reset\r\n"),
            Hear(1),
            Say("221 bye\r\n"),
        ]]);
        let mut c = client(peer.port, |_| {});
        let err = c
            .send_bytes(&envelope(&["b@example.com", "nobody@example.com"]), b"x\n")
            .unwrap_err();
        assert_eq!(err.kind(), Kind::RecipientsRejected);
        drop(c);
        let heard = peer.handle.join().unwrap();
        let all: String = heard.iter().map(|h| String::from_utf8_lossy(h)).collect();
        assert!(
            !all.contains("BDAT"),
            "data was sent despite a refused recipient: {all}"
        );
        assert!(all.contains("RSET"), "{all}");
    }

    #[test]
    fn chunking_pipelines_a_large_message_in_bounded_chunks() {
        let message: Vec<u8> = b"Subject: big\r\n\r\n"
            .iter()
            .copied()
            .chain((0..2_500_000).map(|i| if i % 100 == 99 { b'\n' } else { b'a' }))
            .collect();
        let peer = peer(vec![vec![
            Say("220 hi\r\n"),
            Hear(1),
            Say(EHLO_CHUNKING),
            HearUntil("BDAT "),
            Say("250 ok\r\n250 ok\r\n250 chunk\r\n"),
            // Pipelined: the later chunks arrive without waiting for their replies.
            HearUntil(" LAST\r\n"),
            Say("250 chunk\r\n250 2.0.0 queued\r\n"),
            HearToEnd,
        ]]);
        let mut c = client(peer.port, |_| {});
        let receipt = c
            .send_bytes(&envelope(&["b@example.com"]), &message)
            .unwrap();
        assert_eq!(receipt.reply.one_line(), "250 2.0.0 queued");
        let sizes: Vec<(usize, bool)> = c
            .transcript()
            .lines()
            .filter_map(|l| l.strip_prefix("C: BDAT "))
            .map(|rest| {
                let mut words = rest.split(' ');
                (
                    words.next().unwrap().parse().unwrap(),
                    words.next() == Some("LAST"),
                )
            })
            .collect();
        assert_eq!(sizes.len(), 3, "{sizes:?}");
        assert!(
            sizes.iter().all(|&(n, _)| n <= BDAT_CHUNK + 70 * 1024),
            "{sizes:?}"
        );
        assert_eq!(sizes.iter().filter(|(_, last)| *last).count(), 1);
        assert!(sizes[2].1, "the last chunk is marked LAST");
        let total: usize = sizes.iter().map(|(n, _)| n).sum();
        assert_eq!(total, message.len() + 25_000, "every LF became CRLF");
        drop(c);
        peer.handle.join().unwrap();
    }
}
