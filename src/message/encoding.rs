//! Body transfer encodings (RFC 2045): choosing one for a text body, CRLF normalisation,
//! quoted-printable, and streaming base64 in 76-character lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A Content-Transfer-Encoding this crate writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEncoding {
    /// The body is sent as is: short lines of ASCII text.
    SevenBit,
    /// RFC 2045 §6.7: readable for mostly-ASCII text.
    QuotedPrintable,
    /// RFC 2045 §6.8: compact for binary or mostly non-ASCII content.
    Base64,
}

impl TransferEncoding {
    /// The value of the Content-Transfer-Encoding header field.
    pub fn name(self) -> &'static str {
        match self {
            TransferEncoding::SevenBit => "7bit",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
        }
    }
}

/// Longest line (without CRLF) that 7bit may carry; RFC 5322 recommends 78.
const MAX_7BIT_LINE: usize = 78;

/// Pick the encoding for a text body (already CRLF-normalised).
///
/// 7bit when every byte is ASCII, there is no NUL or control byte other than TAB/CR/LF (CR and
/// LF only as CRLF pairs) and no line exceeds 78 octets; base64 when the text holds NUL or other
/// control bytes, or when more than a third of the bytes are non-ASCII (Cyrillic, CJK…);
/// quoted-printable otherwise (long lines, bare CR or LF, some non-ASCII).
///
/// Not `email_encoding::body::Encoding::choose` (0.4.2, issue 13): with `supports_utf8` false it
/// judges only line length and how much needs escaping, so it answers `SevenBit` for
/// `b"nul\0byte"`, `b"bell\x07"`, `b"del\x7f"` and `b"esc\x1b[0m"` (NUL and control bytes in a
/// 7bit body) and for `b"bare\nline feed"` and `b"bare\rreturn"` (bare line ends, the shape SMTP
/// smuggling needs); its 7bit line limit is below the 78 octets RFC 5322 allows, so 78 × `a`
/// becomes `QuotedPrintable`; and it picks `Base64` for `"Grüße aus Köln\r\n"`, which we keep
/// readable as quoted-printable. `choose_seven_bit`, `choose_quoted_printable`, `choose_base64`
/// and tests/message.rs `transfer_encodings_follow_the_content` fail with it.
pub fn choose_for_text(text: &[u8]) -> TransferEncoding {
    let mut non_ascii = 0usize;
    let mut bare_line_end = false;
    let mut long_line = false;
    let mut line_start = 0usize;
    let mut i = 0usize;
    while i < text.len() {
        let b = text[i];
        match b {
            b'\r' if text.get(i + 1) == Some(&b'\n') => {
                long_line |= i - line_start > MAX_7BIT_LINE;
                i += 2;
                line_start = i;
                continue;
            }
            b'\r' | b'\n' => bare_line_end = true,
            b'\t' => {}
            0..=31 | 127 => return TransferEncoding::Base64,
            128..=255 => non_ascii += 1,
            _ => {}
        }
        i += 1;
    }
    long_line |= text.len() - line_start > MAX_7BIT_LINE;
    if non_ascii > 0 && non_ascii.saturating_mul(3) > text.len() {
        TransferEncoding::Base64
    } else if non_ascii > 0 || bare_line_end || long_line {
        TransferEncoding::QuotedPrintable
    } else {
        TransferEncoding::SevenBit
    }
}

/// Turn every bare LF, bare CR and CRLF into CRLF.
///
/// Neither `email-encoding` nor `quoted_printable` offers this (issue 13): the latter's text mode
/// escapes a bare CR or LF as `=0D`/`=0A` instead of making it a line break.
pub fn normalize_crlf(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + text.len() / 32 + 2);
    let mut start = 0usize;
    // Text between line ends is copied a run at a time.
    while let Some(at) = memchr::memchr2(b'\r', b'\n', &bytes[start..]).map(|p| start + p) {
        out.push_str(&text[start..at]);
        out.push_str("\r\n");
        start = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
            at + 2
        } else {
            at + 1
        };
    }
    out.push_str(&text[start..]);
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Longest quoted-printable output line, without CRLF (RFC 2045 §6.7 rule 5).
const QP_LINE: usize = 76;

/// Quoted-printable (RFC 2045 §6.7) for CRLF text, appended to `out`.
///
/// CRLF stays a hard line break; longer lines are soft-broken with `=\r\n` so no encoded line
/// exceeds 76 characters, and an `=XX` sequence is never split. `=`, control characters other than
/// TAB, and 8-bit bytes become `=XX` (uppercase hex); bare CR and LF too. A space or tab before a
/// line break or at the end of the text is encoded. A `.` at the start of an output line becomes
/// `=2E` and the `F` of `From ` there becomes `=46`, so the output survives SMTP dot handling and
/// mbox `>From` munging untouched. The output always ends with CRLF: one is appended when the
/// input does not end with CRLF (an empty input therefore yields a single CRLF).
///
/// Not `quoted_printable::encode` (0.5.2, issue 13; `email-encoding` has no quoted-printable of
/// its own and points at that crate). It writes the same bytes for every other case our tests
/// cover (escapes, trailing whitespace, bare CR/LF, soft breaks at 76), but it has no rule for a
/// line start: `".\r\n"` stays `".\r\n"`, `"From me"` stays `"From me"`, and 75 × `a` then
/// `".bbbbbbbbbb"` gives `aaa…a=\r\n.bbbbbbbbbb`, a dot at the start of a line after its own soft
/// break. `qp_dot_and_from_at_line_start`, `qp_shape_and_round_trip_on_noise` and
/// `qp_round_trip_through_python` fail with it. Escaping afterwards would widen lines past 76 and
/// need the wrapping redone, i.e. this encoder again; it also returns a new buffer per body where
/// this one appends to the message's.
pub fn quoted_printable(text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + text.len() / 8 + 2);
    let mut rest = text;
    loop {
        let (line, next) = match find_crlf(rest) {
            Some(end) => (&rest[..end], Some(&rest[end + 2..])),
            None => (rest, None),
        };
        qp_line(line, out);
        out.extend_from_slice(b"\r\n");
        match next {
            // Text ending in CRLF is complete: no empty line follows it.
            Some(next) if !next.is_empty() => rest = next,
            _ => break,
        }
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    let mut from = 0usize;
    while let Some(pos) = memchr::memchr(b'\r', &bytes[from..]) {
        let at = from + pos;
        if bytes.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether the byte at `i` of a hard line must be written as `=XX` when it lands at output column
/// `col`.
fn qp_needs_escape(line: &[u8], i: usize, col: usize) -> bool {
    match line[i] {
        b' ' | b'\t' => i + 1 == line.len(),
        b'=' => true,
        b'.' => col == 0,
        b'F' => col == 0 && line[i + 1..].starts_with(b"rom "),
        33..=126 => false,
        _ => true,
    }
}

/// Whether `b` is written as it is anywhere past column 0 of an output line, unless it is
/// whitespace ending the hard line: printable ASCII but `=`, space and tab.
fn qp_plain(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 33..=60 | 62..=126)
}

/// Whether a hard line comes out of [`qp_line`] unchanged: it fits an output line and no byte
/// needs escaping where it stands (no `=`, control or 8-bit byte, no whitespace at its end, no
/// `.` or `From ` at its start). Most lines of a mostly-ASCII text are such lines.
fn qp_verbatim(line: &[u8]) -> bool {
    line.len() <= QP_LINE
        && line.iter().all(|&b| qp_plain(b))
        && !matches!(line.last(), Some(b' ' | b'\t'))
        && line.first() != Some(&b'.')
        && !line.starts_with(b"From ")
}

/// Encode one hard line (without its CRLF), soft-breaking as needed; writes no final CRLF.
fn qp_line(line: &[u8], out: &mut Vec<u8>) {
    if qp_verbatim(line) {
        out.extend_from_slice(line);
        return;
    }
    qp_line_escaped(line, out);
}

/// [`qp_line`] byte by byte.
fn qp_line_escaped(line: &[u8], out: &mut Vec<u8>) {
    let mut col = 0usize;
    let mut i = 0usize;
    while i < line.len() {
        // Bytes written as they are, before the column where a soft break must be considered,
        // go out as one slice. Only the byte at column 0 depends on where it stands ('.' and
        // "From "); past it, a byte is written as it is when `qp_plain` says so, except
        // whitespace ending the line.
        let limit = line.len().min(i + (QP_LINE - 1).saturating_sub(col));
        let mut end = i;
        if col == 0 && end < limit && !qp_needs_escape(line, end, 0) {
            end += 1;
        }
        if col > 0 || end > i {
            let from = end;
            while end < limit && qp_plain(line[end]) {
                end += 1;
            }
            if end == line.len() && end > from && matches!(line[end - 1], b' ' | b'\t') {
                end -= 1;
            }
        }
        if end > i {
            out.extend_from_slice(&line[i..end]);
            col += end - i;
            i = end;
            continue;
        }
        let mut width = if qp_needs_escape(line, i, col) { 3 } else { 1 };
        if col + width > QP_LINE - 1 && !qp_rest_fits(line, i, col) {
            out.extend_from_slice(b"=\r\n");
            col = 0;
            // Column 0 may turn a '.' or 'F' into an escape.
            width = if qp_needs_escape(line, i, col) { 3 } else { 1 };
        }
        let b = line[i];
        if width == 3 {
            out.extend_from_slice(&[
                b'=',
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0x0f)],
            ]);
        } else {
            out.push(b);
        }
        col += width;
        i += 1;
    }
}

/// Whether the bytes from `i` to the end of the line fit on the current output line without a soft
/// break, which needs no room for a trailing '='. Only the last couple of bytes can qualify, so the
/// look-ahead is bounded.
fn qp_rest_fits(line: &[u8], i: usize, col: usize) -> bool {
    let mut width = col;
    for j in i..line.len() {
        width += if qp_needs_escape(line, j, width) {
            3
        } else {
            1
        };
        if width > QP_LINE {
            return false;
        }
    }
    true
}

/// Base64 characters per output line (RFC 2045 §6.8).
const B64_LINE_CHARS: usize = 76;
/// Input bytes that fill exactly one output line.
const B64_LINE_BYTES: usize = B64_LINE_CHARS / 4 * 3;

/// Exact encoded size of `n` bytes in base64 lines of 76 characters, each ending in CRLF (0 for
/// `n` = 0).
pub fn base64_encoded_len(n: u64) -> u64 {
    let chars = n.div_ceil(3) * 4;
    let lines = chars.div_ceil(B64_LINE_CHARS as u64);
    chars + 2 * lines
}

/// Streaming base64 in 76-character CRLF lines: any split of the input into chunks gives the same
/// output as encoding it all at once.
///
/// The encoding itself is the `base64` crate's; this adds only the line breaks across chunks.
/// `email_encoding::body::base64::encode` (0.4.2, issue 13) gives the same bytes for a whole input
/// (the `base64_*` tests pass with it once the final CRLF it leaves off is added), but it is not
/// streaming: every call ends in a partial line and padding, so attachments read from disk in
/// chunks of any length (mime.rs) would have to be regrouped into multiples of 57 bytes first,
/// which is what this type does. It also writes to a `fmt::Write` (a `String`, copied into our
/// byte buffer) and brings `base64` 0.23 beside the 0.22 we use.
#[derive(Debug, Clone, Default)]
pub struct Base64Lines {
    /// Input bytes that do not yet make a whole 3-byte group.
    pending: [u8; 2],
    pending_len: usize,
    /// Characters already on the current output line; always a multiple of 4, below 76.
    col: usize,
}

impl Base64Lines {
    /// An encoder at the start of its output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encode `input`, appending complete 4-character groups to `out`; up to two bytes are held
    /// back until more input or [`finish`](Self::finish).
    pub fn encode(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        if self.pending_len > 0 {
            let need = 3 - self.pending_len;
            if input.len() < need {
                self.pending[self.pending_len..self.pending_len + input.len()]
                    .copy_from_slice(input);
                self.pending_len += input.len();
                return;
            }
            let mut group = [0u8; 3];
            group[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
            group[self.pending_len..].copy_from_slice(&input[..need]);
            input = &input[need..];
            self.pending_len = 0;
            self.put_groups(&group, out);
        }

        // Top up a partly filled line so the bulk below can write whole lines.
        if self.col > 0 {
            let room = (B64_LINE_CHARS - self.col) / 4 * 3;
            let take = room.min(input.len() / 3 * 3);
            self.put_groups(&input[..take], out);
            input = &input[take..];
        }

        if self.col == 0 && input.len() >= B64_LINE_BYTES {
            let lines = input.len() / B64_LINE_BYTES;
            let start = out.len();
            out.resize(start + lines * (B64_LINE_CHARS + 2), 0);
            let dest = &mut out[start..];
            for (src, line) in input
                .chunks_exact(B64_LINE_BYTES)
                .zip(dest.chunks_exact_mut(B64_LINE_CHARS + 2))
            {
                let written = STANDARD
                    .encode_slice(src, &mut line[..B64_LINE_CHARS])
                    .expect("a line buffer holds 76 characters");
                debug_assert_eq!(written, B64_LINE_CHARS);
                line[B64_LINE_CHARS] = b'\r';
                line[B64_LINE_CHARS + 1] = b'\n';
            }
            input = &input[lines * B64_LINE_BYTES..];
        }

        let whole = input.len() / 3 * 3;
        self.put_groups(&input[..whole], out);
        let tail = &input[whole..];
        self.pending[..tail.len()].copy_from_slice(tail);
        self.pending_len = tail.len();
    }

    /// Write whole 3-byte groups that fit on the current line, ending the line when it fills.
    fn put_groups(&mut self, groups: &[u8], out: &mut Vec<u8>) {
        debug_assert_eq!(groups.len() % 3, 0);
        debug_assert!(self.col + groups.len() / 3 * 4 <= B64_LINE_CHARS);
        if groups.is_empty() {
            return;
        }
        self.put_encoded(groups, out);
        if self.col == B64_LINE_CHARS {
            out.extend_from_slice(b"\r\n");
            self.col = 0;
        }
    }

    fn put_encoded(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let len = bytes.len().div_ceil(3) * 4;
        let start = out.len();
        out.resize(start + len, 0);
        let written = STANDARD
            .encode_slice(bytes, &mut out[start..])
            .expect("the buffer was sized for the encoded length");
        debug_assert_eq!(written, len);
        self.col += len;
    }

    /// Flush the held-back bytes with padding and end the last line with CRLF; writes nothing if
    /// nothing was fed.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.pending_len > 0 {
            let pending = self.pending;
            self.put_encoded(&pending[..self.pending_len], out);
        }
        if self.col > 0 {
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Base64 of `input` in 76-character CRLF lines, appended to `out`.
pub fn base64_lines(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(usize::try_from(base64_encoded_len(input.len() as u64)).unwrap_or(0));
    let mut encoder = Base64Lines::new();
    encoder.encode(input, out);
    encoder.finish(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn qp(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        quoted_printable(text, &mut out);
        out
    }

    fn qp_str(text: &str) -> String {
        String::from_utf8(qp(text.as_bytes())).unwrap()
    }

    /// Reference decoder for the subset this crate writes.
    fn qp_decode(encoded: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < encoded.len() {
            match encoded[i] {
                b'=' if encoded[i + 1..].starts_with(b"\r\n") => i += 3,
                b'=' => {
                    let hex = std::str::from_utf8(&encoded[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    fn assert_qp_shape(encoded: &[u8]) {
        assert!(encoded.ends_with(b"\r\n"));
        let text = std::str::from_utf8(encoded).expect("quoted-printable is ASCII");
        for line in text.split("\r\n") {
            assert!(line.len() <= 76, "line too long ({}): {line:?}", line.len());
            assert!(!line.starts_with('.'), "line starts with a dot: {line:?}");
            assert!(
                !line.starts_with("From "),
                "line starts with From: {line:?}"
            );
            assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            assert!(line.bytes().all(|b| (32..127).contains(&b) || b == b'\t'));
        }
    }

    /// Deterministic pseudo-random bytes, so failures reproduce.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn names() {
        assert_eq!(TransferEncoding::SevenBit.name(), "7bit");
        assert_eq!(TransferEncoding::QuotedPrintable.name(), "quoted-printable");
        assert_eq!(TransferEncoding::Base64.name(), "base64");
    }

    #[test]
    fn choose_seven_bit() {
        assert_eq!(choose_for_text(b""), TransferEncoding::SevenBit);
        assert_eq!(
            choose_for_text(b"Hello,\r\n\tworld.\r\n"),
            TransferEncoding::SevenBit
        );
        let line = [b'a'; 78];
        assert_eq!(choose_for_text(&line), TransferEncoding::SevenBit);
        let mut text = line.to_vec();
        text.extend_from_slice(b"\r\n");
        text.extend_from_slice(&line);
        assert_eq!(choose_for_text(&text), TransferEncoding::SevenBit);
    }

    #[test]
    fn choose_quoted_printable() {
        let long = [b'a'; 79];
        assert_eq!(choose_for_text(&long), TransferEncoding::QuotedPrintable);
        let mut text = long.to_vec();
        text.extend_from_slice(b"\r\nshort\r\n");
        assert_eq!(choose_for_text(&text), TransferEncoding::QuotedPrintable);
        assert_eq!(
            choose_for_text("Grüße aus Köln\r\n".as_bytes()),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(
            choose_for_text(b"bare\nline feed"),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(
            choose_for_text(b"bare\rreturn"),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(
            choose_for_text(b"ends\r"),
            TransferEncoding::QuotedPrintable
        );
    }

    #[test]
    fn choose_base64() {
        assert_eq!(
            choose_for_text("Привет, мир\r\n".as_bytes()),
            TransferEncoding::Base64
        );
        assert_eq!(
            choose_for_text("你好世界".as_bytes()),
            TransferEncoding::Base64
        );
        assert_eq!(choose_for_text(b"nul\0byte"), TransferEncoding::Base64);
        assert_eq!(choose_for_text(b"bell\x07"), TransferEncoding::Base64);
        assert_eq!(choose_for_text(b"del\x7f"), TransferEncoding::Base64);
        assert_eq!(choose_for_text(b"esc\x1b[0m"), TransferEncoding::Base64);
    }

    #[test]
    fn normalize_line_ends() {
        assert_eq!(normalize_crlf(""), "");
        assert_eq!(normalize_crlf("a"), "a");
        assert_eq!(normalize_crlf("a\nb"), "a\r\nb");
        assert_eq!(normalize_crlf("a\rb"), "a\r\nb");
        assert_eq!(normalize_crlf("a\r\nb"), "a\r\nb");
        assert_eq!(normalize_crlf("\n\r\r\n\r"), "\r\n\r\n\r\n\r\n");
        assert_eq!(normalize_crlf("\n\n"), "\r\n\r\n");
        assert_eq!(normalize_crlf("é\nü\r"), "é\r\nü\r\n");
    }

    #[test]
    fn qp_basics() {
        assert_eq!(qp_str(""), "\r\n");
        assert_eq!(qp_str("hello"), "hello\r\n");
        assert_eq!(qp_str("hello\r\n"), "hello\r\n");
        assert_eq!(qp_str("a\r\n\r\nb"), "a\r\n\r\nb\r\n");
        assert_eq!(qp_str("1+1=2"), "1+1=3D2\r\n");
        assert_eq!(qp_str("€"), "=E2=82=AC\r\n");
        assert_eq!(qp_str("tab\there"), "tab\there\r\n");
        assert_eq!(
            qp_str("trailing \r\nspace\t"),
            "trailing=20\r\nspace=09\r\n"
        );
        assert_eq!(qp_str("a\nb\rc"), "a=0Ab=0Dc\r\n");
        assert_eq!(qp_str(" "), "=20\r\n");
    }

    #[test]
    fn qp_dot_and_from_at_line_start() {
        assert_eq!(qp_str(".\r\n"), "=2E\r\n");
        assert_eq!(qp_str("a.b\r\n.hidden"), "a.b\r\n=2Ehidden\r\n");
        assert_eq!(qp_str("From me"), "=46rom me\r\n");
        assert_eq!(qp_str("From"), "From\r\n");
        assert_eq!(qp_str("Fromage"), "Fromage\r\n");
        assert_eq!(qp_str("x From me"), "x From me\r\n");
        // A soft break must not leave a dot or "From " at the start of the next line.
        let text = format!("{}.{}", "a".repeat(75), "b".repeat(10));
        let encoded = qp(text.as_bytes());
        assert_qp_shape(&encoded);
        assert_eq!(qp_decode(&encoded), format!("{text}\r\n").into_bytes());
        let text = format!("{}From here", "a".repeat(75));
        let encoded = qp(text.as_bytes());
        assert_qp_shape(&encoded);
        assert_eq!(qp_decode(&encoded), format!("{text}\r\n").into_bytes());
    }

    #[test]
    fn qp_soft_breaks() {
        let text = "a".repeat(76);
        assert_eq!(qp_str(&text), format!("{text}\r\n"));
        let text = "a".repeat(77);
        assert_eq!(
            qp_str(&text),
            format!("{}=\r\n{}\r\n", "a".repeat(75), "aa")
        );
        // An escape is never split by the soft break.
        let text = format!("{}é", "a".repeat(74));
        let encoded = qp_str(&text);
        assert_eq!(encoded, format!("{}=\r\n=C3=A9\r\n", "a".repeat(74)));
        // The last escape may use column 76, since no soft break follows it.
        let text = format!("{}=", "a".repeat(73));
        assert_eq!(qp_str(&text), format!("{}=3D\r\n", "a".repeat(73)));
        let text = format!("{}ab ", "a".repeat(71));
        assert_eq!(qp_str(&text), format!("{}ab=20\r\n", "a".repeat(71)));
    }

    #[test]
    fn lines_copied_in_slices_are_what_the_byte_by_byte_encoder_writes() {
        // Every line the shortcut takes, and the lines just outside it, against the byte-by-byte
        // encoder: short lines of the characters that matter at each position.
        let alphabet: &[u8] = b"aF.= \t\x7f\xc3rom~!";
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for len in 0..=4 {
            let mut index = vec![0usize; len];
            loop {
                lines.push(index.iter().map(|&i| alphabet[i]).collect());
                let Some(k) = index.iter().rposition(|&i| i + 1 < alphabet.len()) else {
                    break;
                };
                index[k] += 1;
                index[k + 1..].fill(0);
            }
        }
        for len in [74usize, 75, 76, 77, 78, 150] {
            for last in [b'a', b' ', b'=', b'.'] {
                let mut line = vec![b'x'; len - 1];
                line.push(last);
                lines.push(line.clone());
                line[0] = b'.';
                lines.push(line);
            }
        }
        // Around the soft-break column: whitespace, dots and "From " landing at the end of an
        // output line, at the start of the next one, or ending the hard line.
        for pos in 60..160 {
            for tail in [
                &b" "[..],
                b"\t",
                b".",
                b"From x",
                b"=",
                b" a",
                b"\t\t",
                b". ",
            ] {
                for after in 0..3 {
                    let mut line = vec![b'a'; pos];
                    line.extend_from_slice(tail);
                    line.extend(std::iter::repeat_n(b'b', after));
                    lines.push(line);
                }
            }
        }
        lines.push(b"From me".to_vec());
        lines.push(b"Fro".to_vec());
        lines.push(b"xFrom me".to_vec());
        for seed in 0..40 {
            let noise = noise(400, seed);
            lines.extend(noise.split(|&b| b == b'\n').map(|l| {
                l.iter()
                    .map(|&b| b" .Fa=rom\tz\r\x80"[usize::from(b) % 12])
                    .collect()
            }));
        }
        let mut taken = 0;
        for line in &lines {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            qp_line(line, &mut fast);
            qp_line_byte_by_byte(line, &mut slow);
            assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(line));
            taken += usize::from(qp_verbatim(line));
        }
        assert!(taken > 1000, "the shortcut was taken {taken} times");
    }

    /// The encoder of one hard line as it was before lines were copied in slices: the reference
    /// the faster one must match byte for byte.
    fn qp_line_byte_by_byte(line: &[u8], out: &mut Vec<u8>) {
        let mut col = 0usize;
        for i in 0..line.len() {
            let mut width = if qp_needs_escape(line, i, col) { 3 } else { 1 };
            if col + width > QP_LINE - 1 && !qp_rest_fits(line, i, col) {
                out.extend_from_slice(b"=\r\n");
                col = 0;
                width = if qp_needs_escape(line, i, col) { 3 } else { 1 };
            }
            let b = line[i];
            if width == 3 {
                out.extend_from_slice(&[
                    b'=',
                    HEX_UPPER[usize::from(b >> 4)],
                    HEX_UPPER[usize::from(b & 0x0f)],
                ]);
            } else {
                out.push(b);
            }
            col += width;
        }
    }

    #[test]
    fn qp_shape_and_round_trip_on_noise() {
        for seed in 0..40 {
            let mut text = noise(3000, seed);
            // Bias towards printable text with spaces, dots and line breaks.
            for (i, b) in text.iter_mut().enumerate() {
                if i % 3 != 0 {
                    *b = b" .Fa=rom\tz"[usize::from(*b) % 10];
                }
            }
            let encoded = qp(&text);
            assert_qp_shape(&encoded);
            let mut expected = text.clone();
            if !expected.ends_with(b"\r\n") {
                expected.extend_from_slice(b"\r\n");
            }
            assert_eq!(qp_decode(&encoded), expected, "seed {seed}");
        }
    }

    #[test]
    fn qp_round_trip_through_python() {
        if Command::new("python3").arg("--version").output().is_err() {
            eprintln!("python3 not found; skipping");
            return;
        }
        let mut text = Vec::new();
        text.extend_from_slice("Grüße aus Köln — ça va? 1+1=2 \r\n".as_bytes());
        text.extend_from_slice(b".leading dot\r\nFrom the start\r\n");
        text.extend_from_slice(format!("{}\r\n", "long line ".repeat(30)).as_bytes());
        text.extend_from_slice(format!("{}é\r\n", "x".repeat(74)).as_bytes());
        text.extend_from_slice(b"tab at end\t\r\ntrailing space \r\n\r\n");
        text.extend_from_slice(&noise(500, 7));
        text.extend_from_slice(b"\r\n");
        let encoded = qp(&text);
        assert_qp_shape(&encoded);

        let script = r#"
import sys, quopri, email, email.policy
data = sys.stdin.buffer.read()
enc_len = int.from_bytes(data[:4], 'big')
encoded, original = data[4:4 + enc_len], data[4 + enc_len:]
assert quopri.decodestring(encoded) == original, 'quopri'
msg = email.message_from_bytes(
    b'Content-Type: application/octet-stream\r\n'
    b'Content-Transfer-Encoding: quoted-printable\r\n\r\n' + encoded,
    policy=email.policy.default)
assert msg.get_payload(decode=True) == original, 'email'
print('ok')
"#;
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn python3");
        let mut input = (encoded.len() as u32).to_be_bytes().to_vec();
        input.extend_from_slice(&encoded);
        input.extend_from_slice(&text);
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "python: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
    }

    /// What the base64 crate gives, wrapped at 76 with CRLF.
    fn reference_base64(input: &[u8]) -> Vec<u8> {
        let plain = STANDARD.encode(input);
        let mut out = Vec::new();
        for line in plain.as_bytes().chunks(76) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn base64_len_matches_output() {
        for n in 0..500u64 {
            let input = noise(n as usize, n);
            let mut out = Vec::new();
            base64_lines(&input, &mut out);
            assert_eq!(base64_encoded_len(n), out.len() as u64, "n = {n}");
            assert_eq!(out, reference_base64(&input), "n = {n}");
        }
        assert_eq!(base64_encoded_len(0), 0);
        assert_eq!(base64_encoded_len(57), 78);
        assert_eq!(base64_encoded_len(58), 78 + 6);
    }

    #[test]
    fn base64_streaming_equals_one_shot() {
        for len in [
            0usize, 1, 2, 3, 56, 57, 58, 113, 114, 115, 1000, 4096, 10_007,
        ] {
            let input = noise(len, len as u64 + 1);
            let expected = reference_base64(&input);
            let mut one_shot = Vec::new();
            base64_lines(&input, &mut one_shot);
            assert_eq!(one_shot, expected, "len {len}");
            for chunk in [1usize, 2, 3, 4, 5, 19, 56, 57, 58, 100, 1000] {
                let mut out = Vec::new();
                let mut encoder = Base64Lines::new();
                for piece in input.chunks(chunk) {
                    encoder.encode(piece, &mut out);
                }
                encoder.encode(&[], &mut out);
                encoder.finish(&mut out);
                assert_eq!(out, expected, "len {len}, chunk {chunk}");
            }
            // Irregular chunk sizes that cross line and group boundaries differently.
            let mut out = Vec::new();
            let mut encoder = Base64Lines::default();
            let mut rest = &input[..];
            let mut step = 0usize;
            while !rest.is_empty() {
                let take = [1, 2, 3, 57, 58, 1000, 7, 131][step % 8].min(rest.len());
                encoder.encode(&rest[..take], &mut out);
                rest = &rest[take..];
                step += 1;
            }
            encoder.finish(&mut out);
            assert_eq!(out, expected, "len {len}, mixed chunks");
        }
    }

    #[test]
    fn base64_empty_writes_nothing() {
        let mut out = Vec::new();
        Base64Lines::new().finish(&mut out);
        assert!(out.is_empty());
        base64_lines(b"", &mut out);
        assert!(out.is_empty());
        base64_lines(b"a", &mut out);
        assert_eq!(out, b"YQ==\r\n");
    }
}
