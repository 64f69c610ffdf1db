//! Message data as sent after DATA: line ends normalised to CRLF (RFC 5321 §2.3.8), leading
//! dots doubled (§4.5.2, "transparency"), and the `CRLF . CRLF` end of data appended.
//!
//! # SMTP smuggling
//!
//! Servers disagree on what ends the data: some also accept `LF . LF` or `CR . CR`
//! (SEC Consult, "SMTP Smuggling", 2023). If a bare LF or CR from a message reached the wire, a
//! receiving server could see the end of data inside the message, and read what follows as
//! new SMTP commands: a second message, with a forged sender, "authenticated" by our session.
//! So no bare CR or LF ever leaves this encoder: every CRLF, lone CR and lone LF of the input
//! becomes CRLF, after which dot-stuffing guarantees that no line of the message is a lone
//! dot, whatever the receiver's idea of a line end.

/// Encodes message data for the wire, over input split into chunks anywhere.
///
/// ```
/// use mailport::smtp::data::DataEncoder;
///
/// let mut encoder = DataEncoder::new();
/// let mut wire = Vec::new();
/// encoder.encode(b"Subject: hi\n\n.hidden\r", &mut wire);
/// encoder.encode(b"\nbye", &mut wire);
/// encoder.finish(&mut wire);
/// assert_eq!(wire, b"Subject: hi\r\n\r\n..hidden\r\nbye\r\n.\r\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DataEncoder {
    /// The last input byte was a CR: it becomes CRLF, together with the LF that may follow.
    /// Kept pending rather than written so a CRLF split across two chunks stays one line end.
    pending_cr: bool,
    /// Some byte of the current line has been written; false at the start of a line.
    in_line: bool,
    /// BDAT (RFC 3030) counts bytes instead of looking for a dot line: no dot-stuffing there.
    counted: bool,
}

impl DataEncoder {
    pub fn new() -> DataEncoder {
        DataEncoder::default()
    }

    /// For BDAT chunks: line ends normalised (no bare CR or LF reaches the wire there either),
    /// dots left alone, and no end-of-data line.
    pub fn for_bdat() -> DataEncoder {
        DataEncoder {
            counted: true,
            ..DataEncoder::default()
        }
    }

    /// Append the wire form of `input`, the next piece of the message, to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        // Every line end may grow by one byte, and so may a leading dot; most input has few.
        out.reserve(input.len() + input.len() / 32 + 2);
        let mut rest = input;
        while let Some(&first) = rest.first() {
            if self.pending_cr {
                self.end_line(out);
                if first == b'\n' {
                    // The LF of a CRLF: that line end is already written.
                    rest = &rest[1..];
                    continue;
                }
            }
            if !self.in_line && first == b'.' && !self.counted {
                out.push(b'.');
            }
            // Copy the run up to the next line end in one go.
            let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
            if run > 0 {
                out.extend_from_slice(&rest[..run]);
                self.in_line = true;
            }
            match rest.get(run) {
                Some(b'\r') => self.pending_cr = true,
                Some(_) => self.end_line(out),
                None => {}
            }
            rest = rest.get(run + 1..).unwrap_or_default();
        }
    }

    /// Append the end of data to `out`: the last line's CRLF when missing, then `.` CRLF.
    /// The encoder is then ready for another message.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr || self.in_line {
            self.end_line(out);
        }
        if !self.counted {
            out.extend_from_slice(b".\r\n");
        }
        *self = DataEncoder {
            counted: self.counted,
            ..DataEncoder::default()
        };
    }

    fn end_line(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.pending_cr = false;
        self.in_line = false;
    }
}

/// The size of `message` as RFC 1870 (SIZE) counts it: line ends as the encoder sends them
/// (every CRLF, lone CR and lone LF is two bytes), a final line end added when missing, and no
/// dot-stuffing.
pub fn message_size(message: &[u8]) -> u64 {
    let mut size = 0u64;
    let mut rest = message;
    while let Some(run) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        size += run as u64 + 2;
        let crlf = rest[run] == b'\r' && rest.get(run + 1) == Some(&b'\n');
        rest = &rest[run + 1 + usize::from(crlf)..];
    }
    if !rest.is_empty() {
        size += rest.len() as u64 + 2;
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_size_is_the_length_of_the_bdat_form() {
        let inputs: [&[u8]; 9] = [
            b"",
            b"a",
            b"a\r\n",
            b"a\nb\rc\r\n",
            b"\r\r\n\n",
            b"Subject: x\n\n.dot\n..two\nend",
            b"\r",
            b"no end\r\nlast",
            b"\xc3\xa9\n\r\n",
        ];
        for input in inputs {
            let mut encoder = DataEncoder::for_bdat();
            let mut out = Vec::new();
            encoder.encode(input, &mut out);
            encoder.finish(&mut out);
            assert_eq!(message_size(input), out.len() as u64, "{input:?}");
        }
    }

    #[test]
    fn bdat_mode_normalises_line_ends_but_keeps_dots() {
        let mut encoder = DataEncoder::for_bdat();
        let mut out = Vec::new();
        encoder.encode(b".a\n..b\r", &mut out);
        encoder.encode(b"\nc", &mut out);
        encoder.finish(&mut out);
        assert_eq!(out, b".a\r\n..b\r\nc\r\n");
    }

    fn encode_whole(input: &[u8]) -> Vec<u8> {
        encode_chunks(&[input])
    }

    fn encode_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut encoder = DataEncoder::new();
        let mut out = Vec::new();
        for chunk in chunks {
            encoder.encode(chunk, &mut out);
        }
        encoder.finish(&mut out);
        out
    }

    /// A plain restatement of the rules, byte by byte, to check the encoder against.
    fn reference(input: &[u8]) -> Vec<u8> {
        let mut normalised = Vec::new();
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\r' if input.get(i + 1) == Some(&b'\n') => {
                    normalised.push(b'\n');
                    i += 1;
                }
                b'\r' => normalised.push(b'\n'),
                b => normalised.push(b),
            }
            i += 1;
        }
        if !normalised.is_empty() && normalised.last() != Some(&b'\n') {
            normalised.push(b'\n');
        }
        let mut out = Vec::new();
        for line in normalised.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                out.push(b'.');
            }
            out.extend_from_slice(&line[..line.len() - 1]);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    /// Every CR is followed by LF and every LF preceded by CR.
    fn assert_no_bare_cr_or_lf(wire: &[u8]) {
        for (i, &b) in wire.iter().enumerate() {
            if b == b'\r' {
                assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i} in {wire:?}");
            }
            if b == b'\n' {
                assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i} in {wire:?}");
            }
        }
    }

    /// The data ends exactly once: no line but the last is a lone dot.
    fn assert_single_terminator(wire: &[u8]) {
        assert!(wire.ends_with(b".\r\n"), "{wire:?}");
        assert!(wire == b".\r\n" || wire.ends_with(b"\r\n.\r\n"), "{wire:?}");
        let lines: Vec<&[u8]> = wire.split(|&b| b == b'\n').collect();
        let body_lines = &lines[..lines.len() - 2];
        for line in body_lines {
            assert_ne!(*line, b".\r", "end of data inside the body of {wire:?}");
        }
    }

    const TRICKY: &[&[u8]] = &[
        b"",
        b".",
        b"..",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\r",
        b"\r\r\n\n",
        b".\r\n",
        b"a\r\n.\r\nMAIL FROM:<evil@example.com>\r\n",
        b"a\n.\nMAIL FROM:<evil@example.com>\n",
        b"a\r.\rb",
        b"a\r\n.\nb\r.\r\n.",
        b"Subject: x\r\n\r\n.line\r\nmid.dle\r\n..two\r\n",
        b"no final newline",
        b"ends with cr\r",
        b"\r\n\r\n.\r\n\r\n",
        b".\r.\n.\r\n.",
        b"caf\xc3\xa9\x00\xff\r\n.\xff",
    ];

    #[test]
    fn dot_stuffing() {
        assert_eq!(encode_whole(b".start"), b"..start\r\n.\r\n");
        assert_eq!(encode_whole(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(encode_whole(b"a\n.b\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(encode_whole(b"a\r.b"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(encode_whole(b"..two"), b"...two\r\n.\r\n");
        assert_eq!(
            encode_whole(b"not.at.start.\r\n"),
            b"not.at.start.\r\n.\r\n"
        );
        assert_eq!(encode_whole(b"a .b"), b"a .b\r\n.\r\n");
    }

    #[test]
    fn end_of_data_inside_the_body_is_neutralised() {
        let wire = encode_whole(b"Hi\r\n.\r\nQUIT\r\n");
        assert_eq!(wire, b"Hi\r\n..\r\nQUIT\r\n.\r\n");
        assert_single_terminator(&wire);
    }

    #[test]
    fn smuggling_attempts_cannot_end_the_data() {
        // The 2023 SMTP smuggling payloads: end of data spelt with bare LF or CR.
        for payload in [
            &b"Hi\n.\nMAIL FROM:<ceo@example.com>\nRCPT TO:<x@example.org>\nDATA\nforged\n.\n"[..],
            b"Hi\r\n.\nMAIL FROM:<ceo@example.com>\r\n",
            b"Hi\n.\r\nMAIL FROM:<ceo@example.com>\r\n",
            b"Hi\r.\rMAIL FROM:<ceo@example.com>\r",
            b"Hi\r\n.\rMAIL FROM:<ceo@example.com>\r\n",
            b"Hi\r\n\x00.\r\n",
        ] {
            let wire = encode_whole(payload);
            assert_no_bare_cr_or_lf(&wire);
            assert_single_terminator(&wire);
            assert_eq!(wire, reference(payload), "{payload:?}");
        }
        assert_eq!(
            encode_whole(b"Hi\n.\nMAIL FROM:<ceo@example.com>\n"),
            b"Hi\r\n..\r\nMAIL FROM:<ceo@example.com>\r\n.\r\n"
        );
    }

    #[test]
    fn line_ends_are_normalised() {
        assert_eq!(encode_whole(b"a\nb\rc\r\nd"), b"a\r\nb\r\nc\r\nd\r\n.\r\n");
        // LF CR is two line ends, CR CR LF too.
        assert_eq!(encode_whole(b"a\n\rb"), b"a\r\n\r\nb\r\n.\r\n");
        assert_eq!(encode_whole(b"a\r\r\nb"), b"a\r\n\r\nb\r\n.\r\n");
    }

    #[test]
    fn empty_body() {
        assert_eq!(encode_whole(b""), b".\r\n");
        assert_eq!(encode_chunks(&[b"", b""]), b".\r\n");
    }

    #[test]
    fn body_without_final_newline() {
        assert_eq!(encode_whole(b"last line"), b"last line\r\n.\r\n");
        assert_eq!(encode_whole(b"ends with cr\r"), b"ends with cr\r\n.\r\n");
        assert_eq!(
            encode_whole(b"ends with crlf\r\n"),
            b"ends with crlf\r\n.\r\n"
        );
        assert_eq!(encode_whole(b"ends with lf\n"), b"ends with lf\r\n.\r\n");
    }

    #[test]
    fn cr_and_lf_split_across_chunks() {
        assert_eq!(encode_chunks(&[b"a\r", b"\nb"]), b"a\r\nb\r\n.\r\n");
        assert_eq!(encode_chunks(&[b"a\r", b"", b"\n.b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(encode_chunks(&[b"a\r", b".b"]), b"a\r\n..b\r\n.\r\n");
        assert_eq!(encode_chunks(&[b"a\r\n", b".", b"."]), b"a\r\n...\r\n.\r\n");
        assert_eq!(encode_chunks(&[b"a", b".b"]), b"a.b\r\n.\r\n");
    }

    #[test]
    fn every_split_gives_the_same_wire() {
        for &input in TRICKY {
            let whole = encode_whole(input);
            assert_eq!(whole, reference(input), "{input:?}");
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                assert_eq!(encode_chunks(&[a, b]), whole, "{input:?} split at {at}");
            }
            for at in 0..=input.len() {
                for end in at..=input.len() {
                    let chunks = [&input[..at], &input[at..end], &input[end..]];
                    assert_eq!(encode_chunks(&chunks), whole, "{input:?} at {at}, {end}");
                }
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(encode_chunks(&bytes), whole, "{input:?} byte by byte");
        }
    }

    #[test]
    fn exhaustive_short_inputs_match_the_reference() {
        // Every string of up to 6 bytes over the bytes that matter, split everywhere.
        let alphabet = [b'.', b'\r', b'\n', b'a'];
        for len in 0..=6u32 {
            for n in 0..4usize.pow(len) {
                let input: Vec<u8> = (0..len).map(|i| alphabet[n / 4usize.pow(i) % 4]).collect();
                let whole = encode_whole(&input);
                assert_eq!(whole, reference(&input), "{input:?}");
                assert_no_bare_cr_or_lf(&whole);
                assert_single_terminator(&whole);
                for at in 0..=input.len() {
                    let (a, b) = input.split_at(at);
                    assert_eq!(encode_chunks(&[a, b]), whole, "{input:?} split at {at}");
                }
            }
        }
    }

    #[test]
    fn output_never_has_bare_cr_or_lf() {
        for &input in TRICKY {
            let wire = encode_whole(input);
            assert_no_bare_cr_or_lf(&wire);
            assert_single_terminator(&wire);
        }
    }

    #[test]
    fn finish_resets_the_encoder() {
        let mut encoder = DataEncoder::new();
        let mut out = Vec::new();
        encoder.encode(b"first\r", &mut out);
        encoder.finish(&mut out);
        encoder.encode(b".second", &mut out);
        encoder.finish(&mut out);
        assert_eq!(out, b"first\r\n.\r\n..second\r\n.\r\n");
    }

    #[test]
    fn large_input_in_uneven_chunks() {
        let mut input = Vec::new();
        for i in 0..2000 {
            input.extend_from_slice(match i % 5 {
                0 => &b".dot line\r\n"[..],
                1 => b"plain line\n",
                2 => b"cr line\r",
                3 => b"\r\n",
                _ => b"x.y.z",
            });
        }
        let whole = encode_whole(&input);
        assert_eq!(whole, reference(&input));
        for size in [1, 2, 3, 7, 64, 1000] {
            let chunks: Vec<&[u8]> = input.chunks(size).collect();
            assert_eq!(encode_chunks(&chunks), whole, "chunks of {size}");
        }
    }
}
