//! Header fields: validation, folding (RFC 5322), encoded-words for non-ASCII text (RFC 2047),
//! parameter values (RFC 2231) and the Date field.
//!
//! Every function that renders a field returns it whole, as `Name: value\r\n` with continuation
//! lines starting with whitespace. Lines are kept to 78 octets where the content allows and never
//! exceed 998 octets.
//!
//! Encoded-words use Q when it is at most half as long again as B for the text at hand, so
//! mostly-ASCII text such as German stays readable, and B otherwise (Cyrillic, CJK, emoji). The Q
//! alphabet is the restrictive one of RFC 2047 §5(3), so the same words are valid in unstructured
//! text and in phrases.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};
use crate::time::CivilTime;

/// Longest header field name accepted: a name must leave room for ": " and a value on a
/// 78-octet line.
const MAX_NAME_LEN: usize = 76;
/// The line length RFC 5322 §2.1.1 asks for.
const SOFT_LIMIT: usize = 78;
/// The line length RFC 5322 §2.1.1 requires (without CRLF).
const HARD_LIMIT: usize = 998;
/// Longest encoded-word (RFC 2047 §2).
const MAX_EW: usize = 75;
/// `=?UTF-8?Q?` plus `?=`.
const EW_OVERHEAD: usize = 12;
/// Smallest encoded-word worth starting on a partly filled line; also enough for any one
/// character (four bytes as Q take 12 characters).
const MIN_EW: usize = EW_OVERHEAD + 12;
/// Longest whitespace run kept verbatim between words; longer runs go inside an encoded-word so a
/// continuation line never starts with a huge indent.
const MAX_PLAIN_WS: usize = 40;
/// Longest run without a space that a phrase may keep readable; longer ones are encoded so that
/// `address_list` can always fold the mailbox below 998 octets.
const MAX_PHRASE_RUN: usize = 900;

/// Check a header field name: 1 to 76 printable ASCII characters (33..=126) other than `:`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_input("header name is empty"));
    }
    if let Some((at, c)) = name
        .char_indices()
        .find(|&(_, c)| !matches!(c, '!'..='9' | ';'..='~'))
    {
        return Err(Error::invalid_input(format!(
            "header name {name:?} contains the invalid character {c:?} at byte {at}: \
             only printable ASCII other than ':' is allowed"
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_input(format!(
            "header name {name:?} is {} characters long: at most {MAX_NAME_LEN} are allowed",
            name.len()
        )));
    }
    Ok(())
}

/// Check a header value: no CR, LF, NUL or other control character except TAB. `field` names the
/// header in the error, e.g. "header Subject contains a line break at byte 5".
pub fn check_value(value: &str, field: &str) -> Result<()> {
    for (at, b) in value.bytes().enumerate() {
        let problem = match b {
            b'\r' | b'\n' => "a line break".to_string(),
            0 => "a NUL byte".to_string(),
            b'\t' => continue,
            0..=31 | 127 => format!("the control character 0x{b:02X}"),
            _ => continue,
        };
        return Err(Error::invalid_input(format!(
            "header {field} contains {problem} at byte {at}"
        )));
    }
    Ok(())
}

/// A whole unstructured header field (Subject, Comments, custom fields) as `Name: value\r\n`,
/// folded at whitespace.
///
/// Without `utf8`, words holding non-ASCII become RFC 2047 encoded-words of at most 75
/// characters, split between characters; adjacent such words share one run of encoded-words with
/// their spaces encoded inside, since decoders drop whitespace between encoded-words. Words that
/// could be mistaken for encoded-words (`=?`), control characters, leading and trailing
/// whitespace (which parsers strip) and whitespace runs longer than 40 are encoded too, so decoders return exactly
/// `value`. A word too long to fit a 998-octet line is encoded so it can be split.
///
/// With `utf8` (an SMTPUTF8 session, RFC 6532) non-ASCII is written raw and only folded.
///
/// `name` is written as given: check it with [`check_name`].
///
/// `email-encoding` (0.4.2) has no unstructured-field encoder to compare with: its
/// `rfc2047::encode` turns one whole string into encoded-words (see `encoded_word` for why we do
/// not use it for that either); lettre chooses the words to encode and folds in its own code.
pub fn unstructured(name: &str, value: &str, utf8: bool) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 4);
    write_unstructured(&mut out, name, value, utf8);
    out
}

/// [`unstructured`], appended to `out`.
pub fn write_unstructured(out: &mut String, name: &str, value: &str, utf8: bool) {
    if unstructured_is_plain(name, value, utf8) {
        let mut folder = Folder::new(out, name);
        for piece in Pieces::new(value, is_unstructured_ws) {
            folder.place(piece.ws, piece.word);
        }
        folder.finish();
    } else {
        write_unstructured_encoded(out, name, value, utf8);
    }
}

fn is_unstructured_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// The longest word the first piece of an unstructured value may be.
fn first_room(name: &str) -> usize {
    HARD_LIMIT - MAX_PLAIN_WS - (name.len() + 2).min(HARD_LIMIT / 2)
}

/// Whether no piece of `value` needs an encoded-word, as most values (ASCII words, single
/// spaces): then [`write_unstructured`] only folds them, word by word, with no list of pieces
/// or runs to build. Only the last piece can have an empty word (trailing whitespace), so
/// `word.is_empty()` stands for "last and empty" here.
fn unstructured_is_plain(name: &str, value: &str, utf8: bool) -> bool {
    let first_room = first_room(name);
    Pieces::new(value, is_unstructured_ws)
        .enumerate()
        .all(|(k, piece)| {
            let (ws_bad, word_bad) =
                unstructured_piece(k, piece, piece.word.is_empty(), first_room, utf8);
            !ws_bad && !word_bad
        })
}

/// [`write_unstructured`] for any value: the words that need it become encoded-words.
fn write_unstructured_encoded(out: &mut String, name: &str, value: &str, utf8: bool) {
    let first_room = first_room(name);
    let is_ws = is_unstructured_ws;
    let pieces: Vec<Piece<'_>> = Pieces::new(value, is_ws).collect();
    let last = pieces.len().saturating_sub(1);
    let mut encode = vec![false; pieces.len()];
    for (k, piece) in pieces.iter().enumerate() {
        let (ws_bad, word_bad) = unstructured_piece(
            k,
            *piece,
            k == last && piece.word.is_empty(),
            first_room,
            utf8,
        );
        if ws_bad || word_bad {
            encode[k] = true;
        }
        if ws_bad && k > 0 {
            encode[k - 1] = true;
        }
    }
    // Only a single space survives between plain text and an encoded-word: decoders such as
    // mail-parser turn any other whitespace there into one space (found by fuzzing). Words
    // joined by other whitespace to an encoded neighbour are encoded with it, in turn.
    let mut changed = true;
    while changed {
        changed = false;
        for k in 1..pieces.len() {
            if pieces[k].ws != " " && encode[k] != encode[k - 1] {
                encode[k] = true;
                encode[k - 1] = true;
                changed = true;
            }
        }
    }

    let mut folder = Folder::new(out, name);
    for run in runs(&pieces, &encode) {
        match run {
            Run::Plain { ws, word: "" } => {
                // Unreachable today (trailing whitespace is encoded); were it written plain, it
                // would stay on the last line: a line of only whitespace is obsolete syntax.
                folder.push(ws);
            }
            Run::Plain { ws, word } => folder.place(ws, word),
            Run::Encoded { ws, text } => folder.place_encoded(ws, &text),
        }
    }
    folder.finish();
}

/// Whether the whitespace and the word of piece `k` of an unstructured value must be encoded;
/// `trailing` when it is the last piece and holds only whitespace.
fn unstructured_piece(
    k: usize,
    piece: Piece<'_>,
    trailing: bool,
    first_room: usize,
    utf8: bool,
) -> (bool, bool) {
    // Whitespace that ends the value goes inside an encoded-word like leading whitespace:
    // parsers (mail-parser, found by fuzzing) and relaying MTAs strip it from a line's end.
    let ws_bad = if k == 0 {
        !piece.ws.is_empty()
    } else {
        piece.ws.len() > MAX_PLAIN_WS || trailing
    };
    // Budget for a word on its own line, leaving room for trailing whitespace.
    let room = if k == 0 {
        first_room
    } else {
        HARD_LIMIT - MAX_PLAIN_WS - piece.ws.len().min(MAX_PLAIN_WS)
    };
    let word_bad = piece.word.len() > room
        || looks_encoded(piece.word)
        || if piece.word.is_ascii() {
            piece.word.bytes().any(|b| b.is_ascii_control())
        } else {
            piece
                .word
                .chars()
                .any(|c| c.is_control() || !utf8 && !c.is_ascii())
        };
    (ws_bad, word_bad)
}

/// Whether `text` holds `=?`, which decoders take for the start of an encoded-word.
fn looks_encoded(text: &str) -> bool {
    text.as_bytes().windows(2).any(|w| w == b"=?")
}

/// The display-name phrase of a mailbox.
///
/// Written as is when it is atext words separated by single spaces; as a quoted-string (with `"`
/// and `\` escaped) when it is ASCII with specials such as `,` `.` `@` `(`; with RFC 2047
/// encoded-words for the words that need them when it holds non-ASCII and `utf8` is false
/// (ASCII atext words between them stay readable). With `utf8`, non-ASCII is written raw, quoted
/// when needed. Names holding control characters or `=?` are always encoded, so a decoder gets
/// the name back and the header cannot be split.
///
/// RFC 2047 decoders get every name back exactly. Python 3.11's `display_name` deviates in two
/// cases that no encoding avoids: it puts a space between adjacent encoded-words (needed for a
/// run of non-ASCII text longer than about 45 bytes) and collapses whitespace runs and tabs inside
/// encoded-words to one space.
///
/// Not `email_encoding::headers::quoted_string::encode` (0.4.2, issue 13). It encodes any name
/// with a character outside letters, digits, space, `-_.\"` as one base64 run: `O'Brien` →
/// `=?utf-8?b?TydCcmllbg==?=`, `Doe, John` → `=?utf-8?b?RG9lLCBKb2hu?=` (we write `O'Brien` and
/// `"Doe, John"`), `Émile de la Tour` all in base64; it quotes `John Smith`, writes nothing at all
/// for an empty name, leaves `"a".repeat(1200)` as one 1200-octet atom (past the 998-octet line
/// limit), and folds long encoded names itself (`"Ünïcödé ".repeat(10)` comes back with
/// `?=\r\n =?utf-8?b?` inside), whereas a phrase here has no line break and `address_list` folds
/// the field: with the crate's output inside, a To field got an empty line, which ends the header
/// section. `phrases`, `mailboxes`, `address_lists_fold_between_items`,
/// `address_lists_split_long_items`, `random_values_round_trip` and `python_decodes_what_we_write`
/// fail with it.
pub fn phrase(name: &str, utf8: bool) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    write_phrase(&mut out, name, utf8);
    out
}

/// [`phrase`], appended to `out`.
pub fn write_phrase(out: &mut String, name: &str, utf8: bool) {
    let is_atext = |c: char| {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || utf8 && !c.is_ascii()
    };
    let forces_encoding = looks_encoded(name)
        || if name.is_ascii() {
            name.bytes().any(|b| b.is_ascii_control())
        } else {
            name.chars()
                .any(|c| c.is_control() || !utf8 && !c.is_ascii())
        };
    if !forces_encoding {
        let atoms = !name.is_empty()
            && name
                .split(' ')
                .all(|w| !w.is_empty() && w.len() <= MAX_PHRASE_RUN && w.chars().all(is_atext));
        if atoms {
            out.push_str(name);
            return;
        }
        let start = out.len();
        push_quoted(out, name);
        if longest_run_without_space(&out[start..]) <= MAX_PHRASE_RUN {
            return;
        }
        out.truncate(start);
    }

    let pieces: Vec<Piece<'_>> = Pieces::new(name, |c| c == ' ').collect();
    let last = pieces.len().saturating_sub(1);
    let mut encode = vec![false; pieces.len()];
    for (k, piece) in pieces.iter().enumerate() {
        // Phrase parsers collapse and trim whitespace between words, so only single spaces
        // between two words survive outside an encoded-word.
        let ws_bad = if k == 0 {
            !piece.ws.is_empty()
        } else {
            piece.ws != " " || k == last && piece.word.is_empty()
        };
        let word_bad = piece.word.len() > MAX_PHRASE_RUN
            || looks_encoded(piece.word)
            || !piece.word.chars().all(is_atext);
        if ws_bad || word_bad {
            encode[k] = true;
        }
        if ws_bad && k > 0 {
            encode[k - 1] = true;
        }
    }
    out.reserve(name.len() * 2);
    for run in runs(&pieces, &encode) {
        match run {
            Run::Plain { ws, word } => {
                out.push_str(ws);
                out.push_str(word);
            }
            Run::Encoded { ws, text } => {
                out.push_str(ws);
                let encoding = WordEncoding::for_text(&text);
                let mut rest = text.as_str();
                let mut first = true;
                while !rest.is_empty() {
                    if !first {
                        out.push(' ');
                    }
                    first = false;
                    rest = push_encoded_word(out, rest, encoding, MAX_EW);
                }
            }
        }
    }
}

/// `phrase <address>`, or just `address` when `name` is `None` or empty. `address` is inserted as
/// given.
pub fn mailbox(name: Option<&str>, address: &str, utf8: bool) -> String {
    let mut out = String::new();
    write_mailbox(&mut out, name, address, utf8);
    out
}

/// [`mailbox`], appended to `out`.
pub fn write_mailbox(out: &mut String, name: Option<&str>, address: &str, utf8: bool) {
    match name {
        Some(name) if !name.is_empty() => {
            out.reserve(name.len() + address.len() + 3);
            write_phrase(out, name, utf8);
            out.push_str(" <");
            out.push_str(address);
            out.push('>');
        }
        _ => out.push_str(address),
    }
}

/// An address-list header field such as `To: m1, m2,\r\n m3\r\n` from items already rendered
/// with [`mailbox`], folded between items so lines stay within 78 octets where possible. An item
/// too long for a line is folded at its own spaces.
pub fn address_list(name: &str, mailboxes: &[String]) -> String {
    let mut out = String::new();
    let mut folder = Folder::new(&mut out, name);
    for (i, item) in mailboxes.iter().enumerate() {
        address_item(&mut folder, item, i == 0, i + 1 < mailboxes.len());
    }
    folder.finish();
    out
}

/// [`address_list`] appended to `out`, each item rendered by `render` into `scratch` (cleared
/// first, reused for every item), so that a list costs no allocation of its own. An error from
/// `render` is returned as is, with the field half written.
pub(crate) fn write_address_list<T>(
    out: &mut String,
    name: &str,
    items: &[T],
    scratch: &mut String,
    mut render: impl FnMut(&T, &mut String) -> Result<()>,
) -> Result<()> {
    let mut folder = Folder::new(out, name);
    for (i, item) in items.iter().enumerate() {
        scratch.clear();
        render(item, scratch)?;
        address_item(&mut folder, scratch, i == 0, i + 1 < items.len());
    }
    folder.finish();
    Ok(())
}

/// Place one rendered mailbox of an address list: `more` when a comma follows it.
fn address_item(folder: &mut Folder<'_>, item: &str, first: bool, more: bool) {
    let comma = usize::from(more);
    let ws = if first { "" } else { " " };
    if folder.line_len + ws.len() + item.len() + comma <= SOFT_LIMIT {
        folder.push(ws);
        folder.push(item);
    } else if !folder.at_start && 1 + item.len() + comma <= SOFT_LIMIT {
        folder.fold(ws);
        folder.push(item);
    } else {
        // Spaces inside a mailbox separate words or sit inside a quoted-string, where
        // folding whitespace is allowed too; escaped spaces are not split.
        for (j, piece) in split_item(item).into_iter().enumerate() {
            if j == 0 && !piece.ws.is_empty() {
                // Leading spaces are part of the item; folding before them would change it.
                folder.push(ws);
                folder.push(piece.ws);
                folder.push(piece.word);
            } else if j == 0 {
                folder.place(ws, piece.word);
            } else {
                folder.place(piece.ws, piece.word);
            }
        }
    }
    folder.at_start = false;
    if more {
        folder.push(",");
    }
}

/// A header field with a value and parameters, such as Content-Type or Content-Disposition:
/// `Content-Type: text/plain; charset=utf-8\r\n`,
/// `Content-Disposition: attachment; filename="a b.pdf"\r\n`.
///
/// A parameter value that is a token is written as is, other ASCII as a quoted-string. Non-ASCII
/// values, values with control characters or `=?` (which parsers would take for an RFC 2047
/// encoded-word), and values too long for one line use RFC 2231:
/// `filename*=UTF-8''%E2%82%AC.pdf`, split into `filename*0*=…; filename*1*=…` sections as
/// needed, never inside a character (Python decodes each section on its own). The field folds
/// between parameters. `name`, `value` and the parameter names are written as given.
pub fn with_params(name: &str, value: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(name.len() + value.len() + 40);
    write_with_params(&mut out, name, value, params);
    out
}

/// [`with_params`], appended to `out`.
pub fn write_with_params(out: &mut String, name: &str, value: &str, params: &[(&str, &str)]) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    let mut line_len = name.len() + 2 + value.len();
    // Parameters that are short tokens or quoted-strings (charset=utf-8, name="a b.pdf") are one
    // segment each, written straight from the value; others take the general way.
    if !params
        .iter()
        .all(|&(attr, val)| plain_param_len(attr, val).is_some())
    {
        write_params_in_segments(out, line_len, params);
        return;
    }
    for (i, &(attr, val)) in params.iter().enumerate() {
        let len = plain_param_len(attr, val).unwrap_or(0);
        let semicolon = usize::from(i + 1 < params.len());
        line_len = param_separator(out, line_len, len + semicolon);
        out.push_str(attr);
        out.push('=');
        if is_token(val) {
            out.push_str(val);
        } else {
            push_quoted(out, val);
        }
        line_len += len;
    }
    out.push_str("\r\n");
}

/// The parameters of [`write_with_params`] for any values, as the segments [`param_segments`]
/// makes; `line_len` is the length of the line written so far.
fn write_params_in_segments(out: &mut String, mut line_len: usize, params: &[(&str, &str)]) {
    let mut segments = Vec::new();
    for &(attr, val) in params {
        param_segments(attr, val, &mut segments);
    }
    for (i, segment) in segments.iter().enumerate() {
        let semicolon = usize::from(i + 1 < segments.len());
        line_len = param_separator(out, line_len, segment.len() + semicolon);
        out.push_str(segment);
        line_len += segment.len();
    }
    out.push_str("\r\n");
}

/// Write `; ` before a segment of `len` octets (its `;` included) when it fits the line, else
/// fold; returns the line's length after the separator.
fn param_separator(out: &mut String, line_len: usize, len: usize) -> usize {
    if line_len + 2 + len <= SOFT_LIMIT {
        out.push_str("; ");
        line_len + 2
    } else {
        out.push_str(";\r\n ");
        1
    }
}

/// RFC 5322 date-time in the local time zone, e.g. `Mon, 30 Nov 2026 05:35:58 +0100`; UTC
/// (`+0000`) when the local time cannot be determined.
pub fn date(time: std::time::SystemTime) -> String {
    let mut out = String::with_capacity(32);
    write_date(&mut out, time);
    out
}

/// [`date`], appended to `out`.
pub fn write_date(out: &mut String, time: std::time::SystemTime) {
    let secs = crate::time::unix_seconds(time);
    match local_date(secs) {
        Some((local, offset)) => local.write_rfc5322(out, offset),
        None => CivilTime::from_unix(secs).write_rfc5322(out, 0),
    }
}

/// The local civil time at `secs` and its offset from UTC in minutes.
#[cfg(unix)]
fn local_date(secs: i64) -> Option<(CivilTime, i64)> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `libc::tm` is a plain C struct of integers and (on some systems) a `tm_zone`
    // pointer, for all of which zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers come from live references for the duration of the call;
    // `localtime_r` writes only into `tm` and does not keep either pointer.
    let result = unsafe { libc::localtime_r(&t, &mut tm) };
    if result.is_null() {
        return None;
    }
    #[allow(
        clippy::useless_conversion,
        reason = "tm_gmtoff is a C long, only 32 bits wide on some targets"
    )]
    let offset = i64::from(tm.tm_gmtoff);
    if offset.abs() >= 24 * 3600 {
        return None;
    }
    let local = CivilTime {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
    };
    Some((local, offset.div_euclid(60)))
}

#[cfg(not(unix))]
fn local_date(_secs: i64) -> Option<(CivilTime, i64)> {
    None
}

/// A word and the whitespace before it; the last piece may hold only trailing whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece<'a> {
    ws: &'a str,
    word: &'a str,
}

/// The pieces of a text, made as they are needed.
struct Pieces<'a, F> {
    rest: &'a str,
    is_ws: F,
}

impl<'a, F: Fn(char) -> bool> Pieces<'a, F> {
    fn new(text: &'a str, is_ws: F) -> Self {
        Pieces { rest: text, is_ws }
    }
}

impl<'a, F: Fn(char) -> bool> Iterator for Pieces<'a, F> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        let ws_end = rest.find(|c| !(self.is_ws)(c)).unwrap_or(rest.len());
        let after = &rest[ws_end..];
        let word_end = after.find(&self.is_ws).unwrap_or(after.len());
        self.rest = &after[word_end..];
        Some(Piece {
            ws: &rest[..ws_end],
            word: &after[..word_end],
        })
    }
}

/// Split a rendered mailbox at spaces that may become folds: not after a backslash, which would
/// turn the quoted-pair into a quoted CR, and not at trailing spaces, which would leave a line of
/// only whitespace.
fn split_item(item: &str) -> Vec<Piece<'_>> {
    let bytes = item.as_bytes();
    let mut pieces = Vec::new();
    let mut ws_start = 0usize;
    let mut word_start = bytes.iter().position(|&b| b != b' ').unwrap_or(0);
    let mut i = word_start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b' ' => {
                let Some(end) = bytes[i..].iter().position(|&b| b != b' ').map(|p| i + p) else {
                    break;
                };
                pieces.push(Piece {
                    ws: &item[ws_start..word_start],
                    word: &item[word_start..i],
                });
                ws_start = i;
                word_start = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    pieces.push(Piece {
        ws: &item[ws_start..word_start],
        word: &item[word_start..],
    });
    pieces
}

enum Run<'a> {
    /// A word written as is, after its whitespace.
    Plain { ws: &'a str, word: &'a str },
    /// Text to encode, after whitespace that stays outside the encoded-words.
    Encoded { ws: &'a str, text: String },
}

/// Group consecutive pieces marked for encoding, with the whitespace between them, into one run.
/// The first run's leading whitespace goes inside when it starts the value, since parsers strip
/// it outside.
fn runs<'a>(pieces: &[Piece<'a>], encode: &[bool]) -> Vec<Run<'a>> {
    let mut out = Vec::new();
    let mut k = 0usize;
    while k < pieces.len() {
        let piece = pieces[k];
        if !encode[k] {
            out.push(Run::Plain {
                ws: piece.ws,
                word: piece.word,
            });
            k += 1;
            continue;
        }
        let mut text = String::new();
        let ws = if k == 0 {
            text.push_str(piece.ws);
            ""
        } else {
            piece.ws
        };
        text.push_str(piece.word);
        k += 1;
        while k < pieces.len() && encode[k] {
            text.push_str(pieces[k].ws);
            text.push_str(pieces[k].word);
            k += 1;
        }
        out.push(Run::Encoded { ws, text });
    }
    out
}

/// Builds one header field at the end of `out`, tracking the length of its current line.
struct Folder<'a> {
    out: &'a mut String,
    line_len: usize,
    /// Nothing written after `Name: ` yet: the first item never folds, as that would leave the
    /// first line empty.
    at_start: bool,
}

impl<'a> Folder<'a> {
    fn new(out: &'a mut String, name: &str) -> Self {
        out.push_str(name);
        out.push_str(": ");
        Folder {
            line_len: name.len() + 2,
            out,
            at_start: true,
        }
    }

    fn push(&mut self, text: &str) {
        self.out.push_str(text);
        self.line_len += text.len();
    }

    /// End the line; the next starts with `ws` (a single space when there is none to keep).
    fn fold(&mut self, ws: &str) {
        self.out.push_str("\r\n");
        self.line_len = 0;
        self.push(if ws.is_empty() { " " } else { ws });
    }

    /// Write `ws` and `word` on this line if they fit in 78 octets, else fold before `ws`.
    fn place(&mut self, ws: &str, word: &str) {
        if self.at_start || self.line_len + ws.len() + word.len() <= SOFT_LIMIT {
            self.push(ws);
        } else {
            self.fold(ws);
        }
        self.push(word);
        self.at_start = false;
    }

    /// Write `text` as encoded-words after `ws`, filling the current line first when enough of
    /// it is left.
    fn place_encoded(&mut self, ws: &str, text: &str) {
        let encoding = WordEncoding::for_text(text);
        let mut rest = text;
        let mut ws = ws;
        while !rest.is_empty() {
            let room = SOFT_LIMIT.saturating_sub(self.line_len + ws.len());
            let max = if room >= MIN_EW {
                self.push(ws);
                room.min(MAX_EW)
            } else if self.at_start {
                self.push(ws);
                MAX_EW
            } else {
                self.fold(ws);
                SOFT_LIMIT
                    .saturating_sub(self.line_len)
                    .clamp(MIN_EW, MAX_EW)
            };
            let start = self.out.len();
            rest = push_encoded_word(self.out, rest, encoding, max);
            self.line_len += self.out.len() - start;
            self.at_start = false;
            // Decoders ignore whitespace between encoded-words: this space only separates them.
            ws = " ";
        }
    }

    fn finish(self) {
        self.out.push_str("\r\n");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordEncoding {
    Q,
    B,
}

impl WordEncoding {
    /// Q unless it is more than half as long again as B (roughly: unless most bytes are
    /// non-ASCII), so Latin-script text such as German or French stays readable while Cyrillic,
    /// CJK and emoji take the compact B.
    fn for_text(text: &str) -> Self {
        let q: usize = text.bytes().map(q_width).sum();
        let b = text.len().div_ceil(3) * 4;
        if q * 2 <= b * 3 {
            WordEncoding::Q
        } else {
            WordEncoding::B
        }
    }
}

/// Characters RFC 2047 §5(3) lets Q carry literally in a phrase; the strictest of its contexts.
fn q_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'!' | b'*' | b'+' | b'-' | b'/')
}

fn q_width(b: u8) -> usize {
    if q_literal(b) || b == b' ' { 1 } else { 3 }
}

/// The longest prefix of `text`, in whole characters and at least one, that fits an encoded-word
/// of at most `max` characters: appends the encoded-word to `word` and returns the rest.
///
/// Not `email_encoding::headers::rfc2047::encode` (0.4.2, issue 13). It writes B only, as
/// `=?utf-8?b?…?=`: no Q, so `Grüße Jürgen` becomes `=?utf-8?b?R3LDvMOfZSBKw7xyZ2Vu?=` where we
/// write (and `unstructured_non_ascii` asserts) `=?UTF-8?Q?Gr=C3=BC=C3=9Fe_J=C3=BCrgen?=`, and
/// `Jürgen Müller` in `phrases` likewise. Its words are valid (each at most 72 characters, never
/// splitting a character, and Python decodes them: `python_decodes_what_we_write` passes with
/// it), but German or French text would lose its readable Q form. It also folds between words
/// itself, at 76 columns through its `EmailWriter`, where [`Folder`] places words by the rules
/// above.
fn push_encoded_word<'t>(
    word: &mut String,
    text: &'t str,
    encoding: WordEncoding,
    max: usize,
) -> &'t str {
    let budget = max.saturating_sub(EW_OVERHEAD);
    let mut end = 0usize;
    let mut q_len = 0usize;
    for (at, c) in text.char_indices() {
        let next = at + c.len_utf8();
        let width = match encoding {
            WordEncoding::Q => q_len + text[at..next].bytes().map(q_width).sum::<usize>(),
            WordEncoding::B => next.div_ceil(3) * 4,
        };
        if width > budget && end > 0 {
            break;
        }
        end = next;
        q_len = width;
    }
    let (head, tail) = text.split_at(end);
    word.reserve(max);
    match encoding {
        WordEncoding::Q => {
            word.push_str("=?UTF-8?Q?");
            for b in head.bytes() {
                if q_literal(b) {
                    word.push(char::from(b));
                } else if b == b' ' {
                    word.push('_');
                } else {
                    push_hex(word, '=', b);
                }
            }
        }
        WordEncoding::B => {
            word.push_str("=?UTF-8?B?");
            STANDARD.encode_string(head, word);
        }
    }
    word.push_str("?=");
    tail
}

fn push_hex(out: &mut String, marker: char, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(marker);
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_quoted(&mut out, text);
    out
}

/// `text` as a quoted-string, `"` and `\\` escaped.
fn push_quoted(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    let mut start = 0usize;
    for (i, b) in text.bytes().enumerate() {
        if b == b'"' || b == b'\\' {
            out.push_str(&text[start..i]);
            out.push('\\');
            // The escaped character starts the next slice.
            start = i;
        }
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// The length of `text` as a quoted-string.
fn quoted_len(text: &str) -> usize {
    text.len() + 2 + text.bytes().filter(|&b| b == b'"' || b == b'\\').count()
}

fn longest_run_without_space(text: &str) -> usize {
    text.split(' ').map(str::len).max().unwrap_or(0)
}

/// RFC 2045 token: printable ASCII except space and tspecials.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| {
            matches!(b, 33..=126)
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                )
        })
}

/// RFC 5987 attr-char, the subset of RFC 2231 attribute-char that needs no escaping anywhere.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// Longest parameter segment: it must fit a continuation line with its leading space and
/// trailing `;`.
const MAX_SEGMENT: usize = SOFT_LIMIT - 2;

/// The length of `attr=value` when the parameter is one segment with the value as a token or a
/// quoted-string (as [`param_segments`] would write it), else `None`.
fn plain_param_len(attr: &str, value: &str) -> Option<usize> {
    let plain_ok = value.bytes().all(|b| matches!(b, b' ' | 33..=126)) && !looks_encoded(value);
    if !plain_ok {
        return None;
    }
    let len = attr.len()
        + 1
        + if is_token(value) {
            value.len()
        } else {
            quoted_len(value)
        };
    (len <= MAX_SEGMENT).then_some(len)
}

/// Render one parameter as one or more `attr=value` segments.
///
/// Not `email_encoding::headers::rfc2231::encode` (0.4.2, issue 13). It quotes every ASCII value,
/// tokens too (`charset="utf-8"`, `size="12345"`; `params` asserts `charset=utf-8`); it folds
/// before every encoded value and numbers even a single section
/// (`attachment;\r\n filename*0*=utf-8''%E2%82%AC.pdf` where `params` asserts
/// `attachment; filename*=UTF-8''%E2%82%AC.pdf`); it splits a long ASCII value by raw length and
/// escapes afterwards, so 100 × `"` gives a 135-octet continuation line; and it panics on an
/// attribute name that is not ASCII letters and digits, such as RFC 2183's `creation-date`, a
/// panic this C-ABI library must not have. With it `params` fails on the quoting, and
/// `params_long_and_non_ascii` and `random_values_round_trip` on the lower-case `utf-8''`.
fn param_segments(attr: &str, value: &str, out: &mut Vec<String>) {
    // A quoted value holding `=?` would be read as an encoded-word by the many parsers that
    // decode RFC 2047 inside quoted parameters (mail-parser, found by fuzzing; Thunderbird and
    // Python for filenames), so it goes RFC 2231-encoded, where `=` and `?` are escaped.
    let plain_ok = value.bytes().all(|b| matches!(b, b' ' | 33..=126)) && !value.contains("=?");
    if plain_ok {
        let plain = if is_token(value) {
            format!("{attr}={value}")
        } else {
            format!("{attr}={}", quote(value))
        };
        if plain.len() <= MAX_SEGMENT {
            out.push(plain);
            return;
        }
    }

    const CHARSET: &str = "UTF-8''";
    let encoded_len: usize = value
        .bytes()
        .map(|b| if is_attr_char(b) { 1 } else { 3 })
        .sum();
    if attr.len() + 2 + CHARSET.len() + encoded_len <= MAX_SEGMENT {
        let mut segment = format!("{attr}*={CHARSET}");
        percent_encode(value, &mut segment);
        out.push(segment);
        return;
    }

    let mut rest = value;
    let mut section = 0usize;
    while !rest.is_empty() {
        let mut segment = format!("{attr}*{section}*=");
        if section == 0 {
            segment.push_str(CHARSET);
        }
        let budget = MAX_SEGMENT.saturating_sub(segment.len());
        let mut end = 0usize;
        let mut width = 0usize;
        for (at, c) in rest.char_indices() {
            let next = at + c.len_utf8();
            let w: usize = rest[at..next]
                .bytes()
                .map(|b| if is_attr_char(b) { 1 } else { 3 })
                .sum();
            if width + w > budget && end > 0 {
                break;
            }
            width += w;
            end = next;
        }
        percent_encode(&rest[..end], &mut segment);
        out.push(segment);
        rest = &rest[end..];
        section += 1;
    }
}

fn percent_encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if is_attr_char(b) {
            out.push(char::from(b));
        } else {
            push_hex(out, '%', b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// Check the syntax every rendered field must have, returning its lines.
    fn assert_field_shape(field: &str) -> Vec<&str> {
        let body = field
            .strip_suffix("\r\n")
            .unwrap_or_else(|| panic!("no final CRLF: {field:?}"));
        let lines: Vec<&str> = body.split("\r\n").collect();
        for (i, line) in lines.iter().enumerate() {
            assert!(
                line.len() <= HARD_LIMIT,
                "line {i} is {} octets",
                line.len()
            );
            assert!(!line.contains(['\r', '\n']), "bare CR or LF: {field:?}");
            if i > 0 {
                assert!(
                    line.starts_with([' ', '\t']),
                    "continuation without whitespace: {field:?}"
                );
                assert!(
                    !line.trim_start_matches([' ', '\t']).is_empty(),
                    "whitespace-only line: {field:?}"
                );
            }
            for token in line.split([' ', '\t']) {
                if token.starts_with("=?") && token.ends_with("?=") {
                    assert!(token.len() <= MAX_EW, "encoded-word too long: {token}");
                }
            }
        }
        lines
    }

    fn assert_soft_limit(field: &str) {
        for line in assert_field_shape(field) {
            assert!(line.len() <= SOFT_LIMIT, "{} octets: {line:?}", line.len());
        }
    }

    fn decode_encoded_word(token: &str) -> Option<Vec<u8>> {
        let inner = token.strip_prefix("=?UTF-8?")?.strip_suffix("?=")?;
        let (encoding, text) = inner.split_once('?')?;
        match encoding {
            "B" => Some(STANDARD.decode(text).expect("valid base64")),
            "Q" => {
                let bytes = text.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < bytes.len() {
                    match bytes[i] {
                        b'_' => out.push(b' '),
                        b'=' => {
                            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                            out.push(u8::from_str_radix(hex, 16).unwrap());
                            i += 2;
                        }
                        b => {
                            assert!(q_literal(b), "{b:?} must be encoded in {token}");
                            out.push(b);
                        }
                    }
                    i += 1;
                }
                Some(out)
            }
            other => panic!("unknown encoding {other}"),
        }
    }

    /// RFC 2047 decoding of text: whitespace between adjacent encoded-words is dropped.
    fn decode_words(text: &str) -> String {
        let mut out = Vec::new();
        let mut pending_ws = "";
        let mut previous_encoded = false;
        let mut rest = text;
        while !rest.is_empty() {
            let ws_end = rest.find(|c| c != ' ' && c != '\t').unwrap_or(rest.len());
            pending_ws = &rest[..ws_end];
            rest = &rest[ws_end..];
            if rest.is_empty() {
                break;
            }
            let word_end = rest.find([' ', '\t']).unwrap_or(rest.len());
            let word = &rest[..word_end];
            rest = &rest[word_end..];
            match decode_encoded_word(word) {
                Some(decoded) => {
                    if !previous_encoded {
                        out.extend_from_slice(pending_ws.as_bytes());
                    }
                    out.extend_from_slice(&decoded);
                    previous_encoded = true;
                }
                None => {
                    out.extend_from_slice(pending_ws.as_bytes());
                    out.extend_from_slice(word.as_bytes());
                    previous_encoded = false;
                }
            }
            pending_ws = "";
        }
        out.extend_from_slice(pending_ws.as_bytes());
        String::from_utf8(out).expect("decoded text is UTF-8")
    }

    /// Unfold a field and decode its unstructured value the way RFC 5322 and 2047 readers do.
    fn decode_unstructured(field: &str) -> (String, String) {
        let unfolded = field.strip_suffix("\r\n").unwrap().replace("\r\n", "");
        let (name, value) = unfolded.split_once(':').unwrap();
        (
            name.to_string(),
            decode_words(value.trim_start_matches([' ', '\t'])),
        )
    }

    fn decode_phrase(phrase: &str) -> String {
        if let Some(inner) = phrase.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap() } else { c });
            }
            out
        } else {
            decode_words(phrase)
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("Subject").is_ok());
        assert!(check_name("X-Mailer-Info_2").is_ok());
        assert!(check_name(&"X".repeat(76)).is_ok());
        let long = check_name(&"X".repeat(77)).unwrap_err();
        assert!(long.message().contains("77"), "{long}");
        assert!(check_name("").is_err());
        let colon = check_name("Sub:ject").unwrap_err();
        assert!(colon.message().contains("Sub:ject"), "{colon}");
        assert!(colon.message().contains("':'"), "{colon}");
        for bad in ["Sub ject", "Subj\u{e9}ct", "A\tB", "A\r\nB", "\u{7f}"] {
            let err = check_name(bad).unwrap_err();
            assert!(err.message().contains("invalid character"), "{err}");
        }
    }

    #[test]
    fn values_are_checked() {
        assert!(check_value("Hello\tworld ünïcödé", "Subject").is_ok());
        assert!(check_value("", "Subject").is_ok());
        let err = check_value("Hello\r\nBcc: x@y", "Subject").unwrap_err();
        assert_eq!(
            err.message(),
            "header Subject contains a line break at byte 5"
        );
        let err = check_value("a\nb", "X-Note").unwrap_err();
        assert!(err.message().contains("X-Note"));
        let err = check_value("nul\0", "Subject").unwrap_err();
        assert_eq!(
            err.message(),
            "header Subject contains a NUL byte at byte 3"
        );
        let err = check_value("esc\x1b", "Subject").unwrap_err();
        assert!(err.message().contains("0x1B"), "{err}");
        assert!(check_value("del\x7f", "Subject").is_err());
    }

    #[test]
    fn unstructured_ascii() {
        assert_eq!(
            unstructured("Subject", "Hello, world", false),
            "Subject: Hello, world\r\n"
        );
        assert_eq!(unstructured("Subject", "", false), "Subject: \r\n");
        let value = "The quick brown fox jumps over the lazy dog ".repeat(6);
        let value = value.trim_end();
        let field = unstructured("Subject", value, false);
        assert_soft_limit(&field);
        assert!(!field.contains("=?"), "{field}");
        assert!(field.matches("\r\n").count() > 2, "{field}");
        assert_eq!(decode_unstructured(&field).1, value);
    }

    /// Found by fuzzing (fuzz/regressions/header_unstructured/): mail-parser drops whitespace at
    /// the end of a field, so it goes inside an encoded-word and no line ends in whitespace.
    #[test]
    fn unstructured_encodes_trailing_whitespace() {
        for (value, utf8) in [("   leading and trailing   ", false), ("Grüße \t ", true)] {
            let field = unstructured("Subject", value, utf8);
            assert_field_shape(&field);
            assert!(
                !field.ends_with(" \r\n") && !field.ends_with("\t\r\n"),
                "{field:?}"
            );
            assert_eq!(decode_unstructured(&field).1, value, "{field:?}");
        }
    }

    /// Found by fuzzing (fuzz/regressions/header_params/): mail-parser decoded an encoded-word
    /// look-alike inside a quoted filename.
    #[test]
    fn params_that_look_encoded_use_rfc2231() {
        let field = with_params(
            "Content-Disposition",
            "attachment",
            &[("filename", "=?a?q?b?=")],
        );
        assert_eq!(
            field,
            "Content-Disposition: attachment; filename*=UTF-8''%3D%3Fa%3Fq%3Fb%3F%3D\r\n"
        );
        let field = with_params("Content-Type", "text/plain", &[("name", "a=b?.txt")]);
        assert_eq!(field, "Content-Type: text/plain; name=\"a=b?.txt\"\r\n");
    }

    /// Found by fuzzing (fuzz/regressions/header_unstructured/, mime/): mail-parser turned the
    /// whitespace between plain text and an encoded-word into one space.
    #[test]
    fn only_a_single_space_separates_plain_text_from_an_encoded_word() {
        for (value, field) in [
            ("a    =?x?=", "Subject: =?UTF-8?Q?a____=3D=3Fx=3F=3D?=\r\n"),
            (
                "a\tb\tc Grüße d",
                "Subject: a\tb\tc =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= d\r\n",
            ),
            ("a\tGrüße", "Subject: =?UTF-8?B?YQlHcsO8w59l?=\r\n"),
            (
                "plain words Grüße plain",
                "Subject: plain words =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= plain\r\n",
            ),
        ] {
            assert_eq!(unstructured("Subject", value, false), field);
            assert_eq!(decode_unstructured(field).1, value);
        }
    }

    #[test]
    fn unstructured_keeps_whitespace_exactly() {
        for value in [
            "a  b\tc",
            "trailing ",
            " leading",
            "\tleading tab",
            "   ",
            "both  ends  ",
            &format!("wide{}gap", " ".repeat(100)),
            &format!("{} long runs", "x ".repeat(60)),
        ] {
            let field = unstructured("Subject", value, false);
            assert_field_shape(&field);
            assert_eq!(decode_unstructured(&field).1, value, "{field:?}");
        }
        // Plain ASCII stays readable, whatever its whitespace inside; whitespace at either end
        // forces an encoded-word, which takes in the words joined to it by other whitespace
        // than a single space.
        assert_eq!(
            unstructured("Subject", "a  b\tc", false),
            "Subject: a  b\tc\r\n"
        );
        assert_eq!(
            unstructured("Subject", "a  b c ", false),
            "Subject: a  b =?UTF-8?Q?c_?=\r\n"
        );
        assert_eq!(
            unstructured("Subject", "a  b\tc ", false),
            "Subject: =?UTF-8?Q?a__b=09c_?=\r\n"
        );
    }

    #[test]
    fn unstructured_non_ascii() {
        let cases = [
            "Grüße aus Köln",
            "Привет, как дела? Это длинная тема письма на русском языке, которая не помещается",
            "日本語のテキストです、とても長い件名になるかもしれません。日本語のテキストです、とても長い件名。",
            "😀 emoji 🎉 party 👨‍👩‍👧‍👦 family",
            "Re: [list] Ünïcödé in the middle of a long subject line that keeps going and going",
            "mixed ascii words, then ümlauts ünd äccents, then ascii again at the end of it all",
        ];
        for value in cases {
            let field = unstructured("Subject", value, false);
            assert!(field.is_ascii(), "{field}");
            assert_soft_limit(&field);
            let (name, decoded) = decode_unstructured(&field);
            assert_eq!(name, "Subject");
            assert_eq!(decoded, value, "{field}");
        }
        // Readable ASCII words stay outside the encoded-words.
        let field = unstructured("Subject", "Hello Jürgen, how are you", false);
        assert!(field.starts_with("Subject: Hello =?UTF-8?"), "{field}");
        assert!(field.ends_with("?= how are you\r\n"), "{field}");
        // Adjacent non-ASCII words share one run with the space encoded inside.
        let field = unstructured("Subject", "Grüße Jürgen", false);
        assert_eq!(
            field,
            "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_J=C3=BCrgen?=\r\n"
        );
        let field = unstructured("Subject", "日本", false);
        assert_eq!(field, "Subject: =?UTF-8?B?5pel5pys?=\r\n");
    }

    #[test]
    fn unstructured_never_splits_characters() {
        let value = "€".repeat(200);
        let field = unstructured("Subject", &value, false);
        assert_soft_limit(&field);
        let unfolded = field.replace("\r\n", "");
        for token in unfolded.split(' ').filter(|t| t.starts_with("=?")) {
            let bytes = decode_encoded_word(token).unwrap();
            assert!(
                String::from_utf8(bytes).is_ok(),
                "{token} splits a character"
            );
        }
        assert_eq!(decode_unstructured(&field).1, value);
    }

    #[test]
    fn unstructured_encodes_lookalikes_and_controls() {
        let value = "=?utf-8?q?not_encoded?= literal";
        let field = unstructured("Subject", value, false);
        assert!(!field.contains("=?utf-8?q?"), "{field}");
        assert_eq!(decode_unstructured(&field).1, value);
        let value = "price=?unknown";
        assert_eq!(
            decode_unstructured(&unstructured("Subject", value, false)).1,
            value
        );
        // A caller that skipped check_value still cannot inject a header.
        let value = "hello\r\nBcc: victim@example.com";
        let field = unstructured("Subject", value, false);
        assert_eq!(field.matches("\r\n").count(), 1, "{field}");
        assert_eq!(decode_unstructured(&field).1, value);
    }

    #[test]
    fn unstructured_long_words() {
        let word = "a".repeat(300);
        let value = format!("start {word} end");
        let field = unstructured("Subject", &value, false);
        let lines = assert_field_shape(&field);
        assert!(lines.iter().any(|l| *l == format!(" {word}")), "{field}");
        assert_eq!(decode_unstructured(&field).1, value);

        for len in [950, 990, 997, 998, 1200, 5000] {
            let word = "b".repeat(len);
            for value in [word.clone(), format!("x {word} y")] {
                let field = unstructured("Subject", &value, false);
                assert_field_shape(&field);
                assert_eq!(decode_unstructured(&field).1, value, "len {len}");
            }
        }
    }

    #[test]
    fn unstructured_utf8_is_raw() {
        let value = "Grüße aus Köln, 日本語 😀";
        let field = unstructured("Subject", value, true);
        assert_eq!(field, format!("Subject: {value}\r\n"));
        let value = "ünïcödé ".repeat(20);
        let field = unstructured("Subject", value.trim_end(), true);
        assert!(!field.contains("=?"), "{field}");
        assert_soft_limit(&field);
        assert_eq!(decode_unstructured(&field).1, value.trim_end());
        // Lookalikes still need encoding, so a reader does not decode them.
        let field = unstructured("Subject", "=?x?= ü", true);
        assert_eq!(decode_unstructured(&field).1, "=?x?= ü");
        assert!(field.contains(" ü\r\n"), "{field}");
    }

    #[test]
    fn unstructured_long_name() {
        let name = "X-".to_string() + &"N".repeat(74);
        for value in ["short", "ünïcödé", &"word ".repeat(40)] {
            let field = unstructured(&name, value, false);
            assert_field_shape(&field);
            assert_eq!(
                decode_unstructured(&field),
                (name.clone(), value.to_string())
            );
        }
    }

    #[test]
    fn phrases() {
        assert_eq!(phrase("John Smith", false), "John Smith");
        assert_eq!(phrase("O'Brien", false), "O'Brien");
        assert_eq!(phrase("Doe, John", false), "\"Doe, John\"");
        assert_eq!(phrase("John Q. Public", false), "\"John Q. Public\"");
        assert_eq!(phrase("a \"b\" \\c", false), "\"a \\\"b\\\" \\\\c\"");
        assert_eq!(phrase("two  spaces", false), "\"two  spaces\"");
        assert_eq!(phrase(" padded ", false), "\" padded \"");
        assert_eq!(phrase("", false), "\"\"");
        assert_eq!(phrase("Jürgen Müller", true), "Jürgen Müller");
        assert_eq!(phrase("Müller, Jürgen", true), "\"Müller, Jürgen\"");
        assert_eq!(
            phrase("Jürgen Müller", false),
            "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?="
        );
        // ASCII words between encoded ones stay readable.
        assert_eq!(
            phrase("Émile de la Tour", false),
            "=?UTF-8?Q?=C3=89mile?= de la Tour"
        );
        for name in [
            "李小龙",
            "Ünïcödé, with comma",
            "😀 Emoji Person",
            "=?utf-8?q?fake?=",
            "Line\r\nBreak",
            " Émile ",
            "Émile  Zola",
            "tab\tname",
            &"长".repeat(100),
            &"Ünïcödé ".repeat(30),
        ] {
            for utf8 in [false, true] {
                let rendered = phrase(name, utf8);
                assert!(!rendered.contains(['\r', '\n']), "{rendered}");
                if !utf8 {
                    assert!(rendered.is_ascii(), "{rendered}");
                }
                for token in rendered.split(' ') {
                    assert!(token.len() <= MAX_EW || !token.starts_with("=?"), "{token}");
                }
                assert_eq!(decode_phrase(&rendered), name, "{rendered}");
            }
        }
        let long = "a.".repeat(600);
        let rendered = phrase(&long, false);
        assert!(longest_run_without_space(&rendered) <= MAX_PHRASE_RUN);
        assert_eq!(decode_phrase(&rendered), long);
    }

    #[test]
    fn mailboxes() {
        assert_eq!(mailbox(None, "a@b.example", false), "a@b.example");
        assert_eq!(mailbox(Some(""), "a@b.example", false), "a@b.example");
        assert_eq!(
            mailbox(Some("Ann"), "a@b.example", false),
            "Ann <a@b.example>"
        );
        assert_eq!(
            mailbox(Some("Doe, Ann"), "a@b.example", false),
            "\"Doe, Ann\" <a@b.example>"
        );
        assert_eq!(
            mailbox(Some("Zoë"), "zoë@bücher.example", true),
            "Zoë <zoë@bücher.example>"
        );
    }

    #[test]
    fn address_lists_fold_between_items() {
        let items: Vec<String> = (0..12)
            .map(|i| {
                mailbox(
                    Some(&format!("Person {i}")),
                    &format!("p{i}@example.com"),
                    false,
                )
            })
            .collect();
        let field = address_list("To", &items);
        assert_soft_limit(&field);
        assert!(
            field.starts_with("To: Person 0 <p0@example.com>, Person 1"),
            "{field}"
        );
        let unfolded = field.replace("\r\n", "");
        assert_eq!(unfolded, format!("To: {}", items.join(", ")));
        assert_eq!(
            address_list("Cc", &["a@b.example".to_string()]),
            "Cc: a@b.example\r\n"
        );
        for line in field.strip_suffix("\r\n").unwrap().split("\r\n") {
            assert!(line.ends_with(',') || line.ends_with('>'), "{line:?}");
        }
    }

    #[test]
    fn address_lists_split_long_items() {
        let long_name = "Ünïcödé ".repeat(30);
        let quoted = format!("{}, {}", "Name".repeat(10), "Other ".repeat(30));
        let items = vec![
            mailbox(Some(long_name.trim_end()), "long@example.com", false),
            mailbox(Some(&quoted), "q@example.com", false),
            mailbox(Some("a\\ b"), "slash@example.com", false),
            "x@example.com".to_string(),
        ];
        let field = address_list("To", &items);
        let lines = assert_field_shape(&field);
        assert!(lines.iter().all(|l| l.len() <= SOFT_LIMIT), "{field}");
        assert_eq!(
            field.replace("\r\n", ""),
            format!("To: {}\r\n", items.join(", ")).replace("\r\n", "")
        );
        // No fold lands after a backslash, where it would become part of a quoted-pair.
        assert!(!field.contains("\\\r\n"), "{field}");
    }

    fn decode_param(field: &str, attr: &str) -> String {
        let unfolded = field.strip_suffix("\r\n").unwrap().replace("\r\n", "");
        let mut sections: Vec<(usize, String)> = Vec::new();
        for part in unfolded.split(';').skip(1) {
            let (key, value) = part.trim().split_once('=').unwrap();
            if key == attr {
                return decode_phrase(value);
            }
            let Some(rest) = key.strip_prefix(attr).and_then(|k| k.strip_prefix('*')) else {
                continue;
            };
            let index = if rest.is_empty() {
                0
            } else {
                rest.strip_suffix('*').unwrap().parse().unwrap()
            };
            sections.push((index, value.to_string()));
        }
        sections.sort();
        let joined: String = sections.into_iter().map(|(_, v)| v).collect();
        let encoded = joined.strip_prefix("UTF-8''").unwrap();
        let mut bytes = Vec::new();
        let raw = encoded.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                assert!(is_attr_char(raw[i]), "{:?} unescaped", raw[i] as char);
                bytes.push(raw[i]);
                i += 1;
            }
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn params() {
        assert_eq!(
            with_params("Content-Type", "text/plain", &[("charset", "utf-8")]),
            "Content-Type: text/plain; charset=utf-8\r\n"
        );
        assert_eq!(
            with_params(
                "Content-Disposition",
                "attachment",
                &[("filename", "a b.pdf")]
            ),
            "Content-Disposition: attachment; filename=\"a b.pdf\"\r\n"
        );
        assert_eq!(
            with_params("Content-Disposition", "inline", &[]),
            "Content-Disposition: inline\r\n"
        );
        assert_eq!(
            with_params(
                "Content-Disposition",
                "attachment",
                &[("filename", "€.pdf")]
            ),
            "Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC.pdf\r\n"
        );
        assert_eq!(
            with_params("Content-Type", "multipart/mixed", &[("boundary", "=_b=")]),
            "Content-Type: multipart/mixed; boundary=\"=_b=\"\r\n"
        );
        assert_eq!(
            with_params("X", "y", &[("q", "say \"hi\\\"")]),
            "X: y; q=\"say \\\"hi\\\\\\\"\"\r\n"
        );
        assert_eq!(with_params("X", "y", &[("e", "")]), "X: y; e=\"\"\r\n");
    }

    #[test]
    fn params_long_and_non_ascii() {
        for value in [
            "résumé.pdf".to_string(),
            format!("{}.pdf", "x".repeat(300)),
            format!("{}.txt", "日本語のファイル名".repeat(8)),
            "ünï".repeat(60),
            "tab\there; and \"quotes\" and % and '".to_string(),
            format!("{} spaces.pdf", "long name with ".repeat(8)),
        ] {
            let field = with_params(
                "Content-Disposition",
                "attachment",
                &[("filename", &value), ("size", "12345")],
            );
            assert_soft_limit(&field);
            assert_eq!(decode_param(&field, "filename"), value, "{field}");
            assert!(field.ends_with("; size=12345\r\n") || field.ends_with(";\r\n size=12345\r\n"));
        }
        let field = with_params("Content-Type", "text/plain", &[("name", &"€".repeat(40))]);
        assert!(field.contains("name*0*=UTF-8''%E2%82%AC"), "{field}");
        assert!(field.contains("name*1*=%E2%82%AC"), "{field}");
    }

    #[test]
    fn utc_dates() {
        let utc_date = |secs| CivilTime::from_unix(secs).rfc5322(0);
        assert_eq!(utc_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(utc_date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
        assert_eq!(utc_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(utc_date(1_796_016_958), "Mon, 30 Nov 2026 05:35:58 +0000");
        assert_eq!(utc_date(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 +0000");
    }

    #[test]
    fn local_date_has_rfc5322_shape() {
        let text = date(UNIX_EPOCH + Duration::from_secs(1_796_016_958));
        let parts: Vec<&str> = text.split(' ').collect();
        assert_eq!(parts.len(), 6, "{text}");
        assert!(parts[0].ends_with(','), "{text}");
        assert_eq!(parts[1].len(), 2, "{text}");
        assert_eq!(parts[4].len(), 8, "{text}");
        assert!(
            parts[5].starts_with(['+', '-']) && parts[5].len() == 5,
            "{text}"
        );
        // Before the epoch works too.
        let before = date(UNIX_EPOCH - Duration::from_millis(500));
        assert!(
            before.contains("1969") || before.contains("1970"),
            "{before}"
        );
    }

    /// Deterministic pseudo-random strings built from the pieces that stress folding and
    /// encoding, so failures reproduce.
    fn random_texts(count: usize) -> Vec<String> {
        const PARTS: [&str; 22] = [
            "a",
            "word",
            "Ünïcödé",
            " ",
            "  ",
            "\t",
            "ü",
            "日本",
            "😀",
            "=?",
            "?=",
            "\"",
            "\\",
            ",",
            ".",
            "_",
            "=",
            "\r\n",
            "(x)",
            "%",
            "'",
            "\u{7f}",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let mut text = String::new();
                let parts = next() % 40;
                for _ in 0..parts {
                    let r = next();
                    if r % 50 == 0 {
                        text.push_str(&"z".repeat((r % 1500) as usize));
                    } else {
                        text.push_str(PARTS[(r % PARTS.len() as u64) as usize]);
                    }
                }
                text
            })
            .collect()
    }

    /// Values the shortcuts take: ASCII words (some long) joined by a little whitespace.
    fn plain_texts(count: usize) -> Vec<String> {
        const WORDS: [&str; 9] = ["a", "word", "x.y", "(x)", "%", "'", "\"q\"", "=", "?"];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let mut text = String::new();
                for k in 0..next() % 30 {
                    if k > 0 {
                        text.push_str([" ", " ", " ", "  ", "\t", " \t "][(next() % 6) as usize]);
                    }
                    let r = next();
                    if r % 20 == 0 {
                        text.push_str(&"z".repeat((r % 120) as usize + 1));
                    } else {
                        text.push_str(WORDS[(r % WORDS.len() as u64) as usize]);
                    }
                }
                text
            })
            .collect()
    }

    #[test]
    fn the_shortcuts_write_what_the_general_way_writes() {
        let mut plain = 0;
        for text in random_texts(2000).into_iter().chain(plain_texts(2000)) {
            for (name, utf8) in [
                ("Subject", false),
                ("Subject", true),
                ("X-A-Longer-Name", false),
            ] {
                if unstructured_is_plain(name, &text, utf8) {
                    plain += 1;
                    let mut general = String::new();
                    write_unstructured_encoded(&mut general, name, &text, utf8);
                    assert_eq!(unstructured(name, &text, utf8), general, "{text:?}");
                }
            }
            let params = [("name", text.as_str()), ("charset", "utf-8")];
            if params.iter().all(|&(a, v)| plain_param_len(a, v).is_some()) {
                let mut general = "Content-Type: text/plain".to_string();
                let line_len = general.len();
                write_params_in_segments(&mut general, line_len, &params);
                assert_eq!(with_params("Content-Type", "text/plain", &params), general);
            }
        }
        assert!(plain > 4000, "the shortcut was taken {plain} times");
    }

    #[test]
    fn random_values_round_trip() {
        for text in random_texts(2000) {
            for utf8 in [false, true] {
                let field = unstructured("Subject", &text, utf8);
                assert_field_shape(&field);
                assert_eq!(decode_unstructured(&field).1, text, "{field:?}");
                if !utf8 {
                    assert!(field.is_ascii(), "{field:?}");
                }
                let rendered = phrase(&text, utf8);
                assert!(!rendered.contains(['\r', '\n']), "{rendered:?}");
                assert_eq!(decode_phrase(&rendered), text, "{rendered:?}");
                let item = mailbox(Some(&text), "a@example.com", utf8);
                let field = address_list("To", &[item.clone(), item.clone()]);
                assert_field_shape(&field);
                assert_eq!(field.replace("\r\n", ""), format!("To: {item}, {item}"));
            }
            let field = with_params("Content-Type", "text/plain", &[("name", &text)]);
            assert_field_shape(&field);
            assert_eq!(decode_param(&field, "name"), text, "{field:?}");
        }
    }

    fn python3_available() -> bool {
        Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Feed header fields to Python's email package and compare what it decodes with the
    /// originals. Each record is `kind base64(field) base64(expected)`.
    fn python_check(records: &[(&str, String, String)]) {
        const SCRIPT: &str = r#"
import sys, base64, email, email.policy, email.utils, datetime
from email.parser import BytesParser
failures = 0
for n, line in enumerate(sys.stdin.read().splitlines()):
    kind, raw, expected = line.split(' ')
    raw = base64.b64decode(raw)
    expected = base64.b64decode(expected).decode('utf-8')
    if kind == 'subject8':
        msg = email.message_from_string(raw.decode('utf-8') + '\r\n', policy=email.policy.default)
    else:
        msg = BytesParser(policy=email.policy.default).parsebytes(raw + b'\r\n')
    if kind in ('subject', 'subject8'):
        got = [str(msg['X-Test'])]
        want = [expected]
    elif kind == 'mailbox':
        address = msg['To'].addresses[0]
        got = [address.display_name, address.addr_spec, str(len(msg['To'].addresses))]
        want = expected.split('\0')
    elif kind == 'filename':
        # get_filename() strips surrounding whitespace by design; the parsed parameter keeps it.
        got = [msg.get_filename(), msg['Content-Disposition'].params['filename']]
        want = [expected.strip(), expected]
    elif kind == 'date':
        parsed = email.utils.parsedate_to_datetime(str(msg['Date']))
        local = datetime.datetime.fromtimestamp(int(expected)).astimezone()
        got = [str(int(parsed.timestamp())), str(msg['Date'])]
        want = [expected, email.utils.format_datetime(local)]
    if got != want or msg.defects or any(msg[k].defects for k in msg.keys()):
        failures += 1
        print('FAIL', kind, repr(raw), 'got', repr(got), 'want', repr(want),
              [msg[k].defects for k in msg.keys()])
print('checked', n + 1, 'failures', failures)
"#;
        let mut input = String::new();
        for (kind, field, expected) in records {
            input.push_str(&format!(
                "{kind} {} {}\n",
                STANDARD.encode(field),
                STANDARD.encode(expected)
            ));
        }
        let mut child = Command::new("python3")
            .args(["-c", SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn python3");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "python failed: {}{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.ends_with(&format!("checked {} failures 0\n", records.len())),
            "{stdout}"
        );
    }

    #[test]
    fn python_decodes_what_we_write() {
        if !python3_available() {
            eprintln!("python3 not found; skipping");
            return;
        }
        let mut records = Vec::new();

        let subjects = [
            "Hello, world".to_string(),
            "Grüße aus Köln — schöne Grüße an alle".to_string(),
            "😀 emoji test 🎉 party 👨‍👩‍👧‍👦".to_string(),
            "日本語のテキストです、とても長い件名になるかもしれません。日本語のテキストです、とても長い件名になるかもしれません。".to_string(),
            "Привет, как дела? Это длинная тема письма на русском языке".to_string(),
            "word ".repeat(50).trim_end().to_string(),
            "=?utf-8?q?not_encoded?= literal text".to_string(),
            "=?UTF-8?B?SGVsbG8=?=".to_string(),
            "a".repeat(1200),
            format!("x {} y", "b".repeat(2000)),
            format!("start {} end", "c".repeat(300)),
            " leading space".to_string(),
            "trailing space ".to_string(),
            "  multiple   spaces\tand tab".to_string(),
            "Re: [list] Ünïcödé in the middle of a long subject line that keeps going and going"
                .to_string(),
            "mixed ascii ümlaut and more ascii words at the end of the line to force folding"
                .to_string(),
            "€".repeat(100),
            "ü_under_score=equals?question".to_string(),
            String::new(),
        ];
        for value in &subjects {
            records.push((
                "subject",
                unstructured("X-Test", value, false),
                value.clone(),
            ));
        }
        for value in random_texts(300) {
            let field = unstructured("X-Test", &value, false);
            records.push(("subject", field, value));
        }
        for value in [
            "Grüße aus Köln, 日本語 😀",
            "ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé",
        ] {
            records.push((
                "subject8",
                unstructured("X-Test", value, true),
                value.to_string(),
            ));
        }

        let names = [
            "Jürgen Müller",
            "Doe, John",
            "O'Brien (Sales)",
            "José \"Pepe\" García",
            "back\\slash",
            "李小龙",
            "A. B. Çelik",
            "plain name",
            "=?utf-8?q?fake?=",
            "  padded  ",
            "Émilie von und zu Großherzogtum Sachsen-Weimar-Eisenach",
            "Ünïcödé, with comma",
            "😀 Emoji Person",
            "user@example.com",
            "<angle>",
        ];
        for name in names {
            let address = "someone@example.com";
            let field = address_list(
                "To",
                &[
                    mailbox(Some(name), address, false),
                    mailbox(Some("Second"), "second@example.com", false),
                ],
            );
            records.push(("mailbox", field, format!("{name}\0{address}\u{0}2")));
        }

        let filenames = [
            "résumé.pdf".to_string(),
            "€.pdf".to_string(),
            "a b.pdf".to_string(),
            format!("{}.pdf", "x".repeat(300)),
            format!("{}.txt", "日本語のファイル名".repeat(8)),
            "quote\"and\\back.txt".to_string(),
            "semi;colon=equals.txt".to_string(),
            "ünï".repeat(60),
            format!("{} spaces.pdf", "long name with ".repeat(8)),
        ];
        for name in &filenames {
            let field = with_params(
                "Content-Disposition",
                "attachment",
                &[("filename", name), ("size", "1024")],
            );
            records.push(("filename", field, name.clone()));
        }

        for name in random_texts(200).into_iter().filter(|n| !n.is_empty()) {
            let field = with_params("Content-Disposition", "attachment", &[("filename", &name)]);
            records.push(("filename", field, name));
        }

        for secs in [0u64, 951_782_400, 1_796_016_958] {
            let field = format!("Date: {}\r\n", date(UNIX_EPOCH + Duration::from_secs(secs)));
            records.push(("date", field, secs.to_string()));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let field = format!("Date: {}\r\n", date(UNIX_EPOCH + Duration::from_secs(now)));
        records.push(("date", field, now.to_string()));

        for (_, field, _) in &records {
            assert_field_shape(field);
        }
        python_check(&records);
    }
}
