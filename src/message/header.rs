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

mod params;

pub(crate) use params::is_token;
#[cfg(test)]
use params::{is_attr_char, plain_param_len, write_params_in_segments};
pub use params::{with_params, write_with_params};

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

#[cfg(test)]
mod tests;
