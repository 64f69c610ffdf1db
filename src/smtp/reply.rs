//! SMTP replies: the reply grammar of RFC 5321 §4.2, enhanced status codes of RFC 3463 as
//! announced by ENHANCEDSTATUSCODES (RFC 2034), and an incremental parser for them.
//!
//! A reply is one or more lines that all carry the same three-digit code; every line but the
//! last has a `-` after the code:
//!
//! ```text
//! 250-mail.example.com
//! 250-PIPELINING
//! 250 SIZE 35882577
//! ```
//!
//! [`parse_reply`] is pure: it looks at the bytes received so far and says whether a complete
//! reply is there, how many bytes it took, or why the bytes can never form one. It never asks
//! for more input than its limits allow, so a hostile or broken server cannot make the client
//! buffer without bound.

use std::fmt;

use crate::error::{Error, Kind, Result};

/// Longest accepted reply line in bytes, line end included.
///
/// RFC 5321 §4.5.3.1.5 limits reply lines to 512 octets; real servers stay well within that,
/// but a few send longer text. Eight times the RFC limit is a wide margin that still caps memory.
pub const MAX_LINE: usize = 4096;

/// Most lines accepted in one reply. The longest real EHLO replies have about twenty.
pub const MAX_LINES: usize = 256;

/// Most bytes accepted for one reply, all lines and line ends included.
pub const MAX_REPLY: usize = 64 * 1024;

/// How much of an offending line an error message quotes.
const SHOWN: usize = 64;

/// An enhanced status code `class.subject.detail` (RFC 3463), e.g. 5.7.8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl EnhancedStatus {
    /// Read an enhanced status code at the start of `text`, as servers that announce
    /// ENHANCEDSTATUSCODES put it (RFC 2034 §4). Its class must agree with the reply code, so
    /// text that merely starts with a number ("2.0 is fine") is not mistaken for one.
    fn detect(code: u16, text: &str) -> Option<EnhancedStatus> {
        let token = text.trim_start().split_ascii_whitespace().next()?;
        let mut parts = token.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let number = |part: &str| -> Option<u16> {
            if (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return None,
        };
        if u16::from(class) != code / 100 {
            return None;
        }
        Some(EnhancedStatus {
            class,
            subject: number(subject)?,
            detail: number(detail)?,
        })
    }
}

/// One complete (possibly multi-line) server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    enhanced: Option<EnhancedStatus>,
    lines: Vec<String>,
}

impl Reply {
    /// A reply with `code` and the text of each line (what follows `250-` or `250 `).
    ///
    /// An enhanced status code at the start of the first line is detected and made available
    /// through [`Reply::enhanced`]; the text itself is kept unchanged.
    pub fn new(code: u16, lines: Vec<String>) -> Reply {
        let enhanced = lines
            .first()
            .and_then(|first| EnhancedStatus::detect(code, first));
        Reply {
            code,
            enhanced,
            lines,
        }
    }

    /// The three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code (RFC 3463) at the start of the first line, if there is one.
    pub fn enhanced(&self) -> Option<EnhancedStatus> {
        self.enhanced
    }

    /// The text of each line, without code and separator (an enhanced code is not stripped).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// All lines' text joined by `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The whole reply on one line for messages: `550 5.1.1 no such user / second line`.
    pub fn one_line(&self) -> String {
        let text = self.lines.join(" / ");
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {text}", self.code)
        }
    }

    /// 2xx: the command succeeded.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 3xx: the server waits for more (354 after DATA, 334 during AUTH).
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }

    /// 4xx: a temporary failure; the same command may succeed later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: a permanent failure; repeating the command unchanged will fail again.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

fn protocol(message: String) -> Error {
    Error::new(Kind::Protocol, message)
}

/// The start of a line, decoded for an error message.
fn shown(line: &[u8]) -> String {
    let end = line.len().min(SHOWN);
    let mut text = String::from_utf8_lossy(&line[..end]).into_owned();
    if end < line.len() {
        text.push('…');
    }
    text
}

/// Check the reply code at the start of `line`, which may still be incomplete.
///
/// Returns the code once all three digits are present. Checking a partial line lets garbage
/// (a TLS record, an HTTP banner) be refused as soon as it arrives instead of after a timeout.
fn reply_code(line: &[u8]) -> Result<Option<u16>> {
    // RFC 5321 §4.2: the first digit is 2 to 5, the second 0 to 5.
    let allowed = [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9'];
    for (byte, range) in line.iter().zip(&allowed) {
        if !range.contains(byte) {
            return Err(protocol(format!(
                "malformed reply line {:?}: expected a three-digit code from 200 to 559",
                shown(line)
            )));
        }
    }
    match line {
        [a, b, c, ..] => Ok(Some(
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        )),
        _ => Ok(None),
    }
}

/// Check that a partial line (no line end yet) could still become a valid one.
fn check_partial(line: &[u8], code: Option<u16>, used: usize) -> Result<()> {
    // The limits count the line end, which is at least one more byte.
    if line.len() >= MAX_LINE {
        return Err(protocol(format!(
            "reply line longer than {MAX_LINE} bytes: {:?}",
            shown(line)
        )));
    }
    if used + line.len() >= MAX_REPLY {
        return Err(protocol(format!("reply longer than {MAX_REPLY} bytes")));
    }
    if let Some(this) = reply_code(line)? {
        check_same_code(code, this)?;
    }
    if let Some(&sep) = line.get(3) {
        if !matches!(sep, b'-' | b' ' | b'\r') {
            return Err(missing_separator(line));
        }
    }
    Ok(())
}

fn check_same_code(expected: Option<u16>, this: u16) -> Result<()> {
    match expected {
        Some(code) if code != this => Err(protocol(format!(
            "multi-line reply mixes codes {code} and {this}"
        ))),
        _ => Ok(()),
    }
}

fn missing_separator(line: &[u8]) -> Error {
    protocol(format!(
        "malformed reply line {:?}: expected ' ', '-' or the line end after the code",
        shown(line)
    ))
}

/// Text a server chose, made safe to show: control characters (a bare CR, ESC, NUL, …) become
/// escapes such as `\r` and `\u{1b}`, so a hostile server, or anyone in the middle of a
/// plaintext session, cannot forge log lines or send escape sequences to a terminal.
pub(crate) fn printable(text: &str) -> String {
    if !text.contains(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parse the first complete reply in `buf`, the bytes received so far.
///
/// Returns `Ok(None)` when more bytes are needed, `Ok(Some((reply, consumed)))` when a reply is
/// complete (`consumed` bytes belong to it; what follows is the next reply, with pipelining), or
/// a [`Kind::Protocol`] error when the bytes can never form a valid reply: a malformed line,
/// codes that differ between lines, or a reply beyond [`MAX_LINE`], [`MAX_LINES`] or
/// [`MAX_REPLY`]. The limits are enforced on incomplete input too.
///
/// Lines end in CRLF; a bare LF is accepted as well (only when reading: what we send is always
/// CRLF). Text that is not UTF-8 is decoded lossily, trailing whitespace is trimmed, and control
/// characters are escaped ([`printable`]).
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>> {
    let mut code = None;
    let mut lines = Vec::new();
    let mut used = 0;
    loop {
        let rest = &buf[used..];
        // Never look further than one line may reach: with a huge buffer, the search stays
        // bounded, and a line without an end within the limit is refused right here.
        let window = &rest[..rest.len().min(MAX_LINE)];
        let Some(lf) = window.iter().position(|&b| b == b'\n') else {
            check_partial(rest, code, used)?;
            return Ok(None);
        };
        let line_len = lf + 1;
        if used + line_len > MAX_REPLY {
            return Err(protocol(format!("reply longer than {MAX_REPLY} bytes")));
        }
        let line = &rest[..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let this = reply_code(line)?.ok_or_else(|| {
            protocol(format!(
                "malformed reply line {:?}: too short for a reply code",
                shown(line)
            ))
        })?;
        check_same_code(code, this)?;
        code = Some(this);
        used += line_len;

        let (last, text) = match line.get(3) {
            None => (true, &[][..]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => return Err(missing_separator(line)),
        };
        lines.push(printable(String::from_utf8_lossy(text).trim_end()));
        if last {
            return Ok(Some((Reply::new(this, lines), used)));
        }
        if lines.len() == MAX_LINES {
            // Another line is announced, and it would be one too many.
            return Err(protocol(format!("reply has more than {MAX_LINES} lines")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12.7: a bare CR, ESC or BEL in reply text is escaped, so it can neither forge a
    /// log line nor drive a terminal.
    #[test]
    fn control_characters_in_reply_text_are_escaped() {
        let input = b"550-5.1.1 first\rforged\r\n550 second\x1b[2J\x1b]0;t\x07\x00end\r\n";
        let (reply, used) = parse_reply(input).unwrap().unwrap();
        assert_eq!(used, input.len());
        assert_eq!(
            reply.lines(),
            [
                "5.1.1 first\\rforged",
                "second\\u{1b}[2J\\u{1b}]0;t\\u{7}\\u{0}end"
            ]
        );
        assert!(
            !reply.one_line().contains(char::is_control),
            "{}",
            reply.one_line()
        );
        assert_eq!(
            reply.enhanced().map(|e| e.to_string()).as_deref(),
            Some("5.1.1")
        );
    }

    fn parse(input: &[u8]) -> (Reply, usize) {
        parse_reply(input)
            .expect("valid reply")
            .expect("complete reply")
    }

    fn parse_err(input: &[u8]) -> String {
        match parse_reply(input) {
            Err(e) => {
                assert_eq!(e.kind(), Kind::Protocol, "{e}");
                e.message()
            }
            Ok(other) => panic!("expected an error for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn single_line() {
        let (reply, used) = parse(b"220 mail.example.com ESMTP Postfix\r\n");
        assert_eq!(used, 36);
        assert_eq!(reply.code(), 220);
        assert_eq!(reply.lines(), ["mail.example.com ESMTP Postfix"]);
        assert_eq!(reply.text(), "mail.example.com ESMTP Postfix");
        assert_eq!(reply.one_line(), "220 mail.example.com ESMTP Postfix");
        assert_eq!(reply.enhanced(), None);
    }

    #[test]
    fn multi_line_ehlo() {
        let input = b"250-smtp.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
        let (reply, used) = parse(input);
        assert_eq!(used, input.len());
        assert_eq!(reply.code(), 250);
        assert_eq!(
            reply.lines(),
            [
                "smtp.example.com Hello",
                "PIPELINING",
                "SIZE 10240000",
                "8BITMIME"
            ]
        );
        assert_eq!(
            reply.text(),
            "smtp.example.com Hello\nPIPELINING\nSIZE 10240000\n8BITMIME"
        );
        assert_eq!(
            reply.one_line(),
            "250 smtp.example.com Hello / PIPELINING / SIZE 10240000 / 8BITMIME"
        );
    }

    #[test]
    fn code_only_lines() {
        let (reply, used) = parse(b"250\r\n");
        assert_eq!((reply.code(), used), (250, 5));
        assert_eq!(reply.lines(), [""]);
        assert_eq!(reply.one_line(), "250");

        let (reply, _) = parse(b"250 \r\n");
        assert_eq!(reply.lines(), [""]);

        let (reply, _) = parse(b"250-\r\n250 ok\r\n");
        assert_eq!(reply.lines(), ["", "ok"]);
    }

    #[test]
    fn codes_must_match_across_lines() {
        let message = parse_err(b"250-first\r\n251 second\r\n");
        assert!(message.contains("250 and 251"), "{message}");
        // Detected as soon as the second line's code has arrived.
        parse_err(b"250-first\r\n251");
    }

    #[test]
    fn bad_codes() {
        for input in [
            &b"abc hello\r\n"[..],
            b"099 hello\r\n",
            b"600 hello\r\n",
            b"2x0 hello\r\n",
            b"160 hello\r\n",
            b"260 hello\r\n",
            b"25\r\n",
            b"\r\n",
        ] {
            parse_err(input);
        }
    }

    #[test]
    fn bad_codes_are_refused_before_the_line_ends() {
        parse_err(b"abc");
        parse_err(b"6");
        parse_err(b"2x");
        // A TLS record where a greeting was expected: refused at once, not after a timeout.
        parse_err(&[0x16, 0x03, 0x03, 0x00, 0x4a]);
        parse_err(b"HTTP/1.1 400 Bad Request");
    }

    #[test]
    fn missing_separator() {
        parse_err(b"250x\r\n");
        parse_err(b"250xhello\r\n");
        parse_err(b"2500 ok\r\n");
        parse_err(b"250x");
        parse_err(b"250\rx\r\n");
        // Not yet known: the next byte may be the LF.
        assert!(parse_reply(b"250\r").unwrap().is_none());
    }

    #[test]
    fn over_long_lines() {
        // Exactly at the limit, line end included: accepted.
        let mut at_limit = b"250 ".to_vec();
        at_limit.resize(MAX_LINE - 2, b'a');
        at_limit.extend_from_slice(b"\r\n");
        assert_eq!(at_limit.len(), MAX_LINE);
        let (reply, used) = parse(&at_limit);
        assert_eq!(used, MAX_LINE);
        assert_eq!(reply.lines()[0].len(), MAX_LINE - 6);

        // One byte over: refused.
        let mut over = b"250 ".to_vec();
        over.resize(MAX_LINE - 1, b'a');
        over.extend_from_slice(b"\r\n");
        parse_err(&over);

        let mut complete = b"250 ".to_vec();
        complete.resize(5000, b'a');
        complete.extend_from_slice(b"\r\n");
        assert!(parse_err(&complete).contains("longer than"));
    }

    #[test]
    fn over_long_incomplete_lines() {
        let mut partial = b"250 ".to_vec();
        partial.resize(5000, b'a');
        assert!(parse_err(&partial).contains("longer than"));

        // A partial line that could still end within the limit is just incomplete.
        partial.truncate(MAX_LINE - 1);
        assert!(parse_reply(&partial).unwrap().is_none());
        partial.push(b'a');
        parse_err(&partial);

        // The same on a later line of a multi-line reply.
        let mut later = b"250-first\r\n250 ".to_vec();
        later.resize(later.len() + MAX_LINE, b'a');
        parse_err(&later);
    }

    #[test]
    fn too_many_lines() {
        let mut input = Vec::new();
        for _ in 0..MAX_LINES - 1 {
            input.extend_from_slice(b"250-x\r\n");
        }
        let mut ok = input.clone();
        ok.extend_from_slice(b"250 x\r\n");
        assert_eq!(parse(&ok).0.lines().len(), MAX_LINES);

        // The 256th line announces another: refused without waiting for it.
        input.extend_from_slice(b"250-x\r\n");
        assert!(parse_err(&input).contains("more than"));
    }

    #[test]
    fn total_size_limit() {
        // 20 lines of 4000 bytes stay within MAX_LINE and MAX_LINES but exceed MAX_REPLY.
        let mut line = b"250-".to_vec();
        line.resize(3998, b'a');
        line.extend_from_slice(b"\r\n");
        let mut input = Vec::new();
        while input.len() < MAX_REPLY {
            input.extend_from_slice(&line);
        }
        assert!(parse_err(&input).contains("reply longer than"));
        // Also while the reply is still incomplete.
        let partial = &input[..MAX_REPLY];
        assert!(parse_err(partial).contains("reply longer than"));
        let partial = &input[..MAX_REPLY - 100];
        assert!(parse_reply(partial).unwrap().is_none());
    }

    #[test]
    fn bare_lf_is_accepted() {
        let input = b"250-first\n250 second\n";
        let (reply, used) = parse(input);
        assert_eq!(used, input.len());
        assert_eq!(reply.lines(), ["first", "second"]);

        let (reply, used) = parse(b"250\n");
        assert_eq!((reply.code(), used), (250, 4));
    }

    #[test]
    fn partial_input_then_complete() {
        let full = b"250-one\r\n250 two\r\n";
        for end in 0..full.len() {
            assert!(
                parse_reply(&full[..end]).unwrap().is_none(),
                "prefix of {end} bytes"
            );
        }
        let (reply, used) = parse(full);
        assert_eq!(used, full.len());
        assert_eq!(reply.lines(), ["one", "two"]);
    }

    #[test]
    fn pipelined_replies_one_after_the_other() {
        let input =
            b"250 2.1.0 Ok\r\n250-2.1.5 Ok\r\n250 more\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
        let mut rest = &input[..];
        let mut codes = Vec::new();
        while !rest.is_empty() {
            let (reply, used) = parse(rest);
            codes.push(reply.code());
            rest = &rest[used..];
        }
        assert_eq!(codes, [250, 250, 354]);
        // A complete reply followed by the start of another.
        let (reply, used) = parse(b"250 ok\r\n55");
        assert_eq!((reply.code(), used), (250, 8));
    }

    #[test]
    fn enhanced_status_detection() {
        let reply = Reply::new(535, vec!["5.7.8 Authentication failed".into()]);
        let status = reply.enhanced().unwrap();
        assert_eq!(
            status,
            EnhancedStatus {
                class: 5,
                subject: 7,
                detail: 8
            }
        );
        assert_eq!(status.to_string(), "5.7.8");
        // The text is kept as sent.
        assert_eq!(reply.lines(), ["5.7.8 Authentication failed"]);

        let (reply, _) = parse(b"250-2.0.0 first\r\n250 second\r\n");
        assert_eq!(reply.enhanced().unwrap().to_string(), "2.0.0");
        let (reply, _) = parse(b"452 4.5.3 Too many recipients\r\n");
        assert_eq!(reply.enhanced().unwrap().to_string(), "4.5.3");
        let reply = Reply::new(550, vec!["5.1.10 RESOLVER.ADR.RecipientNotFound".into()]);
        assert_eq!(reply.enhanced().unwrap().detail, 10);
        let reply = Reply::new(250, vec!["2.0.0".into()]);
        assert_eq!(reply.enhanced().unwrap().to_string(), "2.0.0");
        let reply = Reply::new(554, vec!["5.123.999 odd but valid".into()]);
        assert_eq!(reply.enhanced().unwrap().to_string(), "5.123.999");
    }

    #[test]
    fn enhanced_status_absence() {
        for (code, text) in [
            (250, "2.0 is fine"),
            (250, "mail.example.com Hello"),
            (250, "5.7.8 class differs from the code"),
            (550, "3.1.1 class 3 does not exist"),
            (550, "5.1.1234 detail too long"),
            (550, "5.1. empty detail"),
            (550, "5.1.1. trailing dot"),
            (550, "5.1.1.1 four parts"),
            (550, "5.1.1x glued text"),
            (550, "5.a.1 letters"),
            (550, ""),
        ] {
            let reply = Reply::new(code, vec![text.into()]);
            assert_eq!(reply.enhanced(), None, "{code} {text}");
        }
        assert_eq!(Reply::new(250, vec![]).enhanced(), None);
        // Only the first line counts.
        let reply = Reply::new(250, vec!["hello".into(), "2.0.0 ok".into()]);
        assert_eq!(reply.enhanced(), None);
    }

    #[test]
    fn lossy_utf8_and_trimming() {
        let (reply, _) = parse(b"550 caf\xc3\xa9 \xff\xfe bad \t \r\n");
        assert_eq!(reply.lines(), ["café \u{fffd}\u{fffd} bad"]);
    }

    #[test]
    fn classes() {
        let r = |code| Reply::new(code, vec![]);
        assert!(r(250).is_positive() && !r(250).is_intermediate());
        assert!(r(354).is_intermediate() && !r(354).is_positive());
        assert!(r(421).is_transient() && !r(421).is_permanent());
        assert!(r(554).is_permanent() && !r(554).is_transient());
    }

    #[test]
    fn one_line_and_display() {
        let reply = Reply::new(550, vec!["5.1.1 no such user".into(), "second line".into()]);
        assert_eq!(reply.one_line(), "550 5.1.1 no such user / second line");
        assert_eq!(reply.to_string(), reply.one_line());
        assert_eq!(Reply::new(221, vec![]).one_line(), "221");
    }

    #[test]
    fn empty_input_is_incomplete() {
        assert!(parse_reply(b"").unwrap().is_none());
    }
}
