//! Media types guessed from file extensions, for attachments whose type the caller did not give.
//!
//! The table covers what mail actually carries (office documents, images, archives, calendars);
//! anything else is `application/octet-stream`, which every client offers to save.

use std::path::Path;

const TABLE: &[(&str, &str)] = &[
    ("7z", "application/x-7z-compressed"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("bz2", "application/x-bzip2"),
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("eml", "message/rfc822"),
    ("epub", "application/epub+zip"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("heic", "image/heic"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("ics", "text/calendar"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("m4a", "audio/mp4"),
    ("md", "text/markdown"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ogg", "audio/ogg"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("rar", "application/vnd.rar"),
    ("rtf", "application/rtf"),
    ("svg", "image/svg+xml"),
    ("tar", "application/x-tar"),
    ("tgz", "application/gzip"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("txt", "text/plain"),
    ("vcf", "text/vcard"),
    ("wav", "audio/wav"),
    ("webm", "video/webm"),
    ("webp", "image/webp"),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("xml", "application/xml"),
    ("zip", "application/zip"),
];

/// The media type for a file name, from its extension (case-insensitive).
pub fn guess(file_name: &str) -> &'static str {
    Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .and_then(|ext| {
            let ext = ext.to_ascii_lowercase();
            TABLE
                .binary_search_by(|(known, _)| known.cmp(&ext.as_str()))
                .ok()
                .map(|i| TABLE[i].1)
        })
        .unwrap_or("application/octet-stream")
}

/// The longest type or subtype name (RFC 6838 §4.2): a media type then always fits on a header
/// line, which cannot be folded inside it.
const MAX_NAME: usize = 127;

/// Check a caller-given media type: `type/subtype`, tokens of at most 127 characters each,
/// parameters not included.
pub fn check(media_type: &str) -> crate::error::Result<()> {
    use crate::message::header::is_token;
    match media_type.split_once('/') {
        Some((t, s)) if is_token(t) && is_token(s) => {
            if t.len() > MAX_NAME || s.len() > MAX_NAME {
                return Err(crate::error::Error::invalid_input(format!(
                    "content type {:?}… is {} characters long; a type and a subtype have at \
                     most {MAX_NAME} each (RFC 6838)",
                    media_type.chars().take(40).collect::<String>(),
                    media_type.len()
                )));
            }
            Ok(())
        }
        _ => Err(crate::error::Error::invalid_input(format!(
            "content type {media_type:?} is not of the form type/subtype (e.g. application/pdf)"
        ))),
    }
}

/// The longest caller-written Content-Type value: it goes out as given, on one line of at most
/// 998 octets with its `Content-Type: ` name.
pub const MAX_FIELD: usize = 998 - "Content-Type: ".len();

/// Check the parameters of a caller-written Content-Type field, the text after its media type:
/// `; name=value` pairs, each value a token or a quoted-string (RFC 2045 §5.1; an unquoted
/// value may also hold the `=`, `/` and the like that hand-written boundaries do), in ASCII. A
/// non-ASCII value must be written RFC 2231-encoded (`name*=utf-8''…`), since the field goes out
/// as given and a server without SMTPUTF8 takes no 8-bit header.
pub fn check_parameters(field: &str, params: &str) -> crate::error::Result<()> {
    use crate::message::header::is_token;
    let bad = |what: &str| {
        crate::error::Error::invalid_input(format!(
            "Content-Type {field:?}: {what}; parameters are written `; name=value` or \
             `; name=\"quoted value\"` in ASCII (a non-ASCII value RFC 2231-encoded, \
             name*=utf-8''…)"
        ))
    };
    if !params.is_ascii() {
        return Err(bad("a parameter holds a non-ASCII character"));
    }
    let mut rest = params.trim_start();
    while !rest.is_empty() {
        rest = rest
            .strip_prefix(';')
            .ok_or_else(|| bad("parameters must be separated by ';'"))?
            .trim_start();
        if rest.is_empty() {
            break; // a trailing ';' is harmless and common
        }
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("a parameter has no '='"))?;
        if !is_token(name.trim()) {
            return Err(bad("a parameter's name is not a token"));
        }
        let after = after.trim_start();
        let value_end = if let Some(quoted) = after.strip_prefix('"') {
            let mut escaped = false;
            let close = quoted
                .char_indices()
                .find(|&(_, c)| {
                    let end = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    end
                })
                .map(|(i, _)| i)
                .ok_or_else(|| bad("a quoted value is not closed"))?;
            close + 2
        } else {
            let end = after.find([';', ' ', '\t']).unwrap_or(after.len());
            // Strictly a token; but `boundary=----=_Part_1` (a '=' unquoted) is common in
            // hand-written wp_mail() headers and every reader takes it, so only what would
            // change the field's meaning is refused.
            let value = &after[..end];
            if value.is_empty() || value.contains(|c: char| c == '"' || c.is_ascii_control()) {
                return Err(bad(
                    "a parameter's value is empty or neither a token nor quoted",
                ));
            }
            end
        };
        rest = after[value_end..].trim_start();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn guesses() {
        assert_eq!(guess("report.PDF"), "application/pdf");
        assert_eq!(guess("/tmp/photo.jpeg"), "image/jpeg");
        assert_eq!(guess("noext"), "application/octet-stream");
        assert_eq!(guess("archive.unknown"), "application/octet-stream");
        assert_eq!(guess("übersicht.xlsx").len(), 65);
    }

    #[test]
    fn parameters_are_pairs_of_ascii_tokens_or_quoted_strings() {
        let ok = [
            "",
            "; boundary=\"b1\"",
            "; boundary=b1; charset=utf-8",
            " ;  charset = utf-8 ;",
            "; boundary=\"a; b=\\\"c\\\"\"",
            "; name*=utf-8''%C3%A9t%C3%A9.txt",
            "; boundary=----=_NextPart_000_0012",
        ];
        for params in ok {
            assert!(check_parameters("x", params).is_ok(), "{params:?}");
        }
        // Found by the mime fuzz target: text after the media type was written as given, 8-bit
        // header bytes included, to a server that never agreed to them.
        let bad = [
            ";Hellll###\u{c5187}",
            "; name=été.txt",
            "; boundary",
            "; boundary=\"open",
            "; =x",
            "; a=",
            "; a=b\"c",
            "; a=b c=d",
            "boundary=b1",
        ];
        for params in bad {
            let err = check_parameters("x", params).unwrap_err().message();
            assert!(err.contains("parameter"), "{params:?}: {err}");
        }
    }

    #[test]
    fn checks() {
        assert!(check("application/pdf").is_ok());
        assert!(check("text/plain; charset=utf-8").is_err());
        assert!(check("text").is_err());
        assert!(check("text/pl\r\nain").is_err());
        // Found by the mime fuzz target: a media type too long for any header line.
        let long = format!("application/{}", "x".repeat(MAX_NAME));
        assert!(check(&long).is_ok());
        let too_long = format!("application/{}", "x".repeat(MAX_NAME + 1));
        let err = check(&too_long).unwrap_err().message();
        assert!(err.contains("RFC 6838") && err.len() < 200, "{err}");
        assert!(check(&format!("{}/pdf", "a".repeat(MAX_NAME + 1))).is_err());
    }
}
