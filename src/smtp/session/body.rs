//! The message on its way to the wire: read from the caller piece by piece, checked against
//! what the server accepts (SIZE, 8BITMIME), encoded for DATA or BDAT, and written out.

use std::io::{self, Read};
use std::time::Instant;

use super::transaction::too_large;
use super::{Session, io_failure};
use crate::error::{Error, Kind, Result, Step};
use crate::smtp::data::DataEncoder;
use crate::transcript::{Direction, Transcript};

/// The message being read and encoded for the wire (after DATA, or in BDAT chunks).
pub(super) struct Body<'a> {
    source: &'a mut dyn Read,
    declared: Option<u64>,
    encoder: DataEncoder,
    pub(super) input: Vec<u8>,
    pub(super) size: u64,
    pub(super) done: bool,
}

/// The most message data read from the caller at a time.
const BODY_BUFFER: usize = 64 * 1024;

impl<'a> Body<'a> {
    pub(super) fn new(
        source: &'a mut dyn Read,
        declared: Option<u64>,
        encoder: DataEncoder,
    ) -> Body<'a> {
        // A small message of known size gets a buffer its size (plus room to see the end): a
        // zeroed 64 KiB per message was a third of the CPU time of sending short messages.
        let capacity = declared.map_or(BODY_BUFFER, |size| {
            usize::try_from(size).map_or(BODY_BUFFER, |size| (size + 1).clamp(512, BODY_BUFFER))
        });
        Body {
            source,
            declared,
            encoder,
            input: vec![0u8; capacity],
            size: 0,
            done: false,
        }
    }
}

fn body_read_error(e: io::Error) -> Error {
    let attachment = e
        .get_ref()
        .is_some_and(|inner| inner.is::<crate::message::mime::AttachmentChanged>());
    let kind = if attachment {
        Kind::Attachment
    } else {
        Kind::Io
    };
    Error::new(
        kind,
        "reading the message failed; the transfer was abandoned and nothing was delivered",
    )
    .with_source(e)
    .at_step(Step::Data)
}

impl Session {
    /// Read the next piece of the message, check it, and append its wire form to `out`.
    /// Returns false at the end, after the encoder's end of data was appended. Every failure
    /// drops the connection: unterminated DATA, or chunks without LAST, are discarded.
    pub(super) fn read_piece(&mut self, body: &mut Body<'_>, out: &mut Vec<u8>) -> Result<bool> {
        if body.done {
            return Ok(false);
        }
        let n = loop {
            match body.source.read(&mut body.input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.break_connection();
                    return Err(body_read_error(e));
                }
                Ok(n) => break n,
            }
        };
        if n == 0 {
            body.encoder.finish(out);
            body.done = true;
            return Ok(false);
        }
        body.size += n as u64;
        if let Some(max) = self.extensions.max_size().filter(|&m| body.size > m) {
            self.break_connection();
            return Err(too_large(
                body.declared.unwrap_or(body.size).max(body.size),
                max,
            ));
        }
        let piece = &body.input[..n];
        if !self.extensions.eight_bit_mime && !piece.is_ascii() {
            self.break_connection();
            return Err(Error::invalid_input(
                "the message contains 8-bit bytes but the server does not offer 8BITMIME; nothing was sent (encode the body as quoted-printable or base64)",
            )
            .at_step(Step::Data));
        }
        body.encoder.encode(piece, out);
        Ok(true)
    }

    pub(super) fn write_data(
        &mut self,
        wire: &[u8],
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        self.write_flight(&[], wire, transcript, budget)
    }

    /// Write `head` (commands, already recorded) and `data` (message data, recorded here when
    /// bodies are) in one flight: one write, one TLS record when they fit in one.
    pub(super) fn write_flight(
        &mut self,
        head: &[u8],
        data: &[u8],
        transcript: &mut Transcript,
        budget: Instant,
    ) -> Result<()> {
        if self.settings.transcript_bodies {
            let text = String::from_utf8_lossy(data);
            for line in text.split("\r\n").filter(|l| !l.is_empty() && *l != ".") {
                transcript.record(Direction::Sent, line);
            }
        }
        let deadline = self.deadline(budget);
        let started = Instant::now();
        let result = self.stream()?.write_all_parts(head, data, deadline);
        result.map_err(|e| {
            self.break_connection();
            io_failure(
                e,
                Step::Data,
                "while sending the message",
                started.elapsed(),
            )
        })
    }
}
