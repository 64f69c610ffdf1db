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
