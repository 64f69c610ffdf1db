//! What the server sent and the session has not parsed yet: one buffer per session, reused for
//! every reply and read into directly.
//!
//! The buffer is zeroed once, when the session starts (or when a reply outgrows it), never per
//! read: a reply is read by one `recv` into the free space after the bytes kept, with no copy on
//! a plain connection (rustls copies the decrypted bytes into it on a TLS one). Pipelined
//! replies (MAIL, RCPT, BDAT) arrive together and are parsed from it one after the other.

use crate::smtp::reply::MAX_REPLY;

/// Room for every reply of a busy session (EHLO's is the longest, well under 1 KiB usually).
const INITIAL: usize = 8 * 1024;
/// A reply is refused beyond [`MAX_REPLY`] bytes, so the buffer never needs more than that and
/// one read's worth.
const MOST: usize = MAX_REPLY + INITIAL;

pub(super) struct Received {
    /// Initialised throughout; `start..end` is what was read and not yet consumed.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Received {
    /// A buffer holding `already`: bytes read from the connection before the session took it.
    pub(super) fn new(already: Vec<u8>) -> Received {
        let end = already.len();
        let mut buf = already;
        buf.resize(end.max(INITIAL), 0);
        Received { buf, start: 0, end }
    }

    /// The bytes read and not consumed yet.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(super) fn len(&self) -> usize {
        self.end - self.start
    }

    /// Drop the first `n` bytes (a parsed reply).
    pub(super) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            // The usual case after the last reply of a group: the next read gets the whole
            // buffer, and nothing is ever moved.
            self.start = 0;
            self.end = 0;
        }
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// The free space to read into, after moving what is kept to the front or growing the
    /// buffer when it is full. `None` when a reply already fills [`MOST`] bytes (the parser
    /// refuses it before that).
    pub(super) fn spare(&mut self) -> Option<&mut [u8]> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.buf.len() < MOST {
                let grown = (self.buf.len() * 2).min(MOST);
                self.buf.resize(grown, 0);
            } else {
                return None;
            }
        }
        Some(&mut self.buf[self.end..])
    }

    /// `n` bytes were read into [`Received::spare`].
    pub(super) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(received: &mut Received, data: &[u8]) {
        let spare = received.spare().unwrap();
        spare[..data.len()].copy_from_slice(data);
        received.filled(data.len());
    }

    #[test]
    fn replies_are_parsed_in_place_and_the_buffer_is_reused() {
        let mut r = Received::new(Vec::new());
        let at = r.buf.as_ptr();
        read(&mut r, b"250 ok\r\n250 ok\r\n25");
        assert_eq!(r.bytes(), b"250 ok\r\n250 ok\r\n25");
        r.consume(8);
        r.consume(8);
        assert_eq!(r.bytes(), b"25");
        read(&mut r, b"0 queued\r\n");
        assert_eq!(r.bytes(), b"250 queued\r\n");
        r.consume(12);
        assert!(r.is_empty());
        assert_eq!(r.spare().unwrap().len(), INITIAL, "all of it free again");
        assert_eq!(r.buf.as_ptr(), at, "no new allocation");
    }

    #[test]
    fn kept_bytes_move_to_the_front_and_a_long_reply_grows_the_buffer_up_to_a_bound() {
        let mut r = Received::new(b"220 hi\r\n".to_vec());
        assert_eq!(r.len(), 8);
        let fill = vec![b'x'; INITIAL - 8];
        read(&mut r, &fill);
        r.consume(8);
        // Full, with 8 bytes consumed at the front: they are reclaimed, not grown into.
        assert_eq!(r.spare().unwrap().len(), 8);
        assert_eq!(r.buf.len(), INITIAL);
        assert_eq!(r.bytes(), &fill[..]);
        read(&mut r, b"12345678");
        // Full with nothing consumed: it grows, up to MOST and no further.
        let mut rounds = 0;
        while let Some(spare) = r.spare() {
            let n = spare.len();
            r.filled(n);
            rounds += 1;
            assert!(rounds < 10);
        }
        assert_eq!(r.len(), MOST);
    }
}
