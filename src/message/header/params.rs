//! Header fields with parameters (Content-Type, Content-Disposition): tokens, quoted-strings
//! and RFC 2231 for the rest.

use super::{SOFT_LIMIT, looks_encoded, push_hex, push_quoted, quote, quoted_len};

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
pub(super) fn write_params_in_segments(
    out: &mut String,
    mut line_len: usize,
    params: &[(&str, &str)],
) {
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

/// RFC 2045 token: printable ASCII except space and tspecials.
pub(crate) fn is_token(text: &str) -> bool {
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
pub(super) fn is_attr_char(b: u8) -> bool {
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
pub(super) fn plain_param_len(attr: &str, value: &str) -> Option<usize> {
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
