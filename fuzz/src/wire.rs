//! Properties of bytes meant for the wire, shared by the header and MIME targets.

/// RFC 5322 §2.1.1: at most 998 octets on a line, CRLF not counted.
pub const HARD_LIMIT: usize = 998;

/// Every line ends in CRLF: no bare CR, no bare LF, and the text ends with CRLF (unless empty).
pub fn assert_crlf_only(text: &[u8], what: &str) {
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'\r' => assert!(
                text.get(i + 1) == Some(&b'\n'),
                "{what}: bare CR at byte {i}: {:?}",
                String::from_utf8_lossy(text)
            ),
            b'\n' => assert!(
                i > 0 && text[i - 1] == b'\r',
                "{what}: bare LF at byte {i}: {:?}",
                String::from_utf8_lossy(text)
            ),
            _ => {}
        }
    }
    assert!(
        text.is_empty() || text.ends_with(b"\r\n"),
        "{what}: does not end with CRLF: {:?}",
        String::from_utf8_lossy(text)
    );
}

/// No line longer than 998 octets without its CRLF.
pub fn assert_line_lengths(text: &[u8], what: &str) {
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(
            line.len() <= HARD_LIMIT,
            "{what}: line {n} is {} octets long (the limit is {HARD_LIMIT}): {:?}",
            line.len(),
            String::from_utf8_lossy(&line[..line.len().min(120)])
        );
    }
}

/// A rendered header field `Name: value CRLF`: CRLF only, lines within 998 octets, every line
/// after the first a continuation (starting with SP or HTAB, so a CR or LF can only ever be
/// folding), and no line that is only whitespace (obsolete syntax, and an empty one would end
/// the header section).
pub fn assert_header_field(field: &str, name: &str) {
    let what = format!("header {name}");
    assert_crlf_only(field.as_bytes(), &what);
    assert_line_lengths(field.as_bytes(), &what);
    assert!(
        field.starts_with(&format!("{name}:")),
        "{what}: does not start with its name: {field:?}"
    );
    let body = field.strip_suffix("\r\n").unwrap_or(field);
    for (n, line) in body.split("\r\n").enumerate() {
        if n > 0 {
            assert!(
                line.starts_with([' ', '\t']),
                "{what}: line {n} is not a continuation: {field:?}"
            );
            assert!(
                !line.trim_matches([' ', '\t']).is_empty(),
                "{what}: line {n} is only whitespace: {field:?}"
            );
        }
    }
}

/// Text cut to a length an assertion message can show.
pub fn shown(text: &str) -> String {
    if text.len() <= 300 {
        return format!("{text:?}");
    }
    let mut end = 300;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &text[..end], text.len())
}

/// Check that mail-parser decoded `field` to `value`. Exactly, except for one deviation of
/// that decoder: it turns a tab, and the whitespace that starts a continuation line, into one
/// space (RFC 5322 §2.2.3 unfolds by removing only the CRLF; Python's email keeps both). Where
/// the field has either, runs of whitespace are compared as one space; everything else exactly.
pub fn assert_decodes_to(decoded: &str, value: &str, field: &str) {
    if decoded == value {
        return;
    }
    let deviation = field.contains('\t')
        || field
            .split("\r\n")
            .skip(1)
            .any(|line| !line.is_empty() && !line.starts_with(' ') || line.starts_with("  "));
    assert!(
        deviation,
        "decoded {} from {}, expected {}",
        shown(decoded),
        shown(field),
        shown(value)
    );
    assert_eq!(
        collapse_whitespace(decoded),
        collapse_whitespace(value),
        "decoded {} from {}",
        shown(decoded),
        shown(field)
    );
}

/// The text with every run of spaces and tabs made one space.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c == ' ' || c == '\t' {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// The whole field `name` (its folded lines, CRLF included) in a message's header section.
pub fn header_field(message: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    let head = text.split("\r\n\r\n").next()?;
    let mut field: Option<String> = None;
    for line in head.split("\r\n") {
        match &mut field {
            Some(f) if line.starts_with([' ', '\t']) => {
                f.push_str(line);
                f.push_str("\r\n");
            }
            Some(_) => break,
            None if line
                .split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name)) =>
            {
                field = Some(format!("{line}\r\n"));
            }
            None => {}
        }
    }
    field
}
