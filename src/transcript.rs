//! The session transcript: every line sent and received, redacted.
//!
//! Redaction happens where the line is produced (the session knows which lines carry AUTH
//! payloads or message bodies); this module keeps a bounded copy for callers that cannot take a
//! callback (PHP) and forwards each event to an optional [`Sink`].

use std::collections::VecDeque;
use std::sync::Arc;

/// Where a transcript line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// Something mailport did or decided (connecting, TLS established, reconnecting).
    Info,
    /// A line sent to the server.
    Sent,
    /// A line received from the server.
    Received,
}

impl Direction {
    fn prefix(self) -> &'static str {
        match self {
            Direction::Info => "* ",
            Direction::Sent => "C: ",
            Direction::Received => "S: ",
        }
    }
}

/// Receives transcript events as they happen, on the thread that called `send`.
pub trait Sink: Send + Sync {
    fn event(&self, direction: Direction, text: &str);
}

/// How much of the transcript is kept for reading back: enough for several sessions, bounded
/// so a long-lived client does not grow without limit.
const KEPT_BYTES: usize = 64 * 1024;

/// A bounded record of transcript events plus an optional live sink.
#[derive(Clone, Default)]
pub struct Transcript {
    lines: VecDeque<(Direction, String)>,
    bytes: usize,
    sink: Option<Arc<dyn Sink>>,
    mark: usize,
    dropped: usize,
    /// The storage of the last line pushed out, for the next line: a long-lived client records
    /// several lines per message, and would otherwise allocate one and free one for each.
    spare: Option<String>,
}

/// The largest line storage kept for reuse: reused storage keeps its capacity, so a long line's
/// must not end up holding a short one for good.
const SPARE_CAPACITY: usize = 256;

impl Transcript {
    pub fn new(sink: Option<Arc<dyn Sink>>) -> Transcript {
        Transcript {
            sink,
            ..Transcript::default()
        }
    }

    /// Record one event. `text` must already be redacted and carry no line ending.
    pub fn record(&mut self, direction: Direction, text: &str) {
        self.record_with(direction, |line| line.push_str(text));
    }

    /// [`Transcript::record`] of the line `write` appends to an empty string, which reuses the
    /// storage of a line pushed out before when there is one.
    pub(crate) fn record_with(&mut self, direction: Direction, write: impl FnOnce(&mut String)) {
        let mut line = self.spare.take().unwrap_or_default();
        line.clear();
        write(&mut line);
        if let Some(sink) = &self.sink {
            sink.event(direction, &line);
        }
        self.bytes += line_len(direction, &line);
        self.lines.push_back((direction, line));
        while self.bytes > KEPT_BYTES && self.lines.len() > 1 {
            if let Some((direction, old)) = self.lines.pop_front() {
                self.bytes -= line_len(direction, &old);
                self.dropped += 1;
                if old.capacity() <= SPARE_CAPACITY {
                    self.spare = Some(old);
                }
            }
        }
    }

    /// Remember the current position, so [`Transcript::since_mark`] returns one operation's lines.
    pub fn set_mark(&mut self) {
        self.mark = self.dropped + self.lines.len();
    }

    /// The lines recorded since the last [`Transcript::set_mark`], one per line.
    pub fn since_mark(&self) -> String {
        let skip = self.mark.saturating_sub(self.dropped);
        join(self.lines.iter().skip(skip))
    }

    /// Everything still kept, one line each.
    pub fn text(&self) -> String {
        join(self.lines.iter())
    }

    /// Record every line of `other` (made on another thread, without a sink) here, in order,
    /// so the sink sees them on this thread.
    pub(crate) fn absorb(&mut self, other: &Transcript) {
        for (direction, text) in &other.lines {
            self.record(*direction, text);
        }
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.bytes = 0;
        self.mark = 0;
        self.dropped = 0;
    }
}

/// A line's length as [`Transcript::text`] shows it: prefix, text, newline.
fn line_len(direction: Direction, text: &str) -> usize {
    direction.prefix().len() + text.len() + 1
}

fn join<'a>(lines: impl Iterator<Item = &'a (Direction, String)>) -> String {
    let mut out = String::new();
    for (direction, text) in lines {
        out.push_str(direction.prefix());
        out.push_str(text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Mutex<Vec<(Direction, String)>>);
    impl Sink for Collect {
        fn event(&self, direction: Direction, text: &str) {
            self.0.lock().unwrap().push((direction, text.to_string()));
        }
    }

    #[test]
    fn records_forwards_and_bounds() {
        let sink = Arc::new(Collect(Mutex::new(Vec::new())));
        let mut t = Transcript::new(Some(sink.clone()));
        t.record(Direction::Sent, "EHLO me");
        t.set_mark();
        t.record(Direction::Received, "250 ok");
        assert_eq!(t.text(), "C: EHLO me\nS: 250 ok\n");
        assert_eq!(t.since_mark(), "S: 250 ok\n");
        assert_eq!(sink.0.lock().unwrap().len(), 2);
        for _ in 0..10_000 {
            t.record(Direction::Info, "0123456789");
        }
        assert!(t.text().len() <= KEPT_BYTES);
        assert!(t.since_mark().len() <= KEPT_BYTES);
    }

    #[test]
    fn lines_written_into_reused_storage_read_back_as_recorded() {
        // Lines of every length up to 400 (some longer than the storage kept for reuse), each
        // written into the storage of a line pushed out before, once the transcript is full.
        let mut t = Transcript::new(None);
        let mut expected = std::collections::VecDeque::new();
        for i in 0..20_000usize {
            let text: String =
                std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), i * 7 % 400).collect();
            t.record_with(Direction::Received, |line| line.push_str(&text));
            expected.push_back(format!("S: {text}\n"));
        }
        let kept = t.text();
        let mut tail = String::new();
        for line in expected.iter().rev() {
            if tail.len() + line.len() > kept.len() {
                break;
            }
            tail.insert_str(0, line);
        }
        assert_eq!(kept, tail);
        assert!(
            t.spare
                .as_ref()
                .is_none_or(|s| s.capacity() <= SPARE_CAPACITY)
        );
    }

    #[test]
    fn absorbed_lines_reach_the_sink_with_their_direction() {
        let mut other = Transcript::new(None);
        other.record(Direction::Info, "connecting");
        other.record(Direction::Sent, "EHLO me");
        other.record(Direction::Received, "C: looks like a prefix");
        let sink = Arc::new(Collect(Mutex::new(Vec::new())));
        let mut t = Transcript::new(Some(sink.clone()));
        t.absorb(&other);
        assert_eq!(
            *sink.0.lock().unwrap(),
            [
                (Direction::Info, "connecting".to_string()),
                (Direction::Sent, "EHLO me".to_string()),
                (Direction::Received, "C: looks like a prefix".to_string()),
            ]
        );
        assert_eq!(t.text(), other.text());
    }
}
