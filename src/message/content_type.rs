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

/// Check a caller-given media type: `type/subtype`, tokens only, parameters not included.
pub fn check(media_type: &str) -> crate::error::Result<()> {
    use crate::message::header::is_token;
    match media_type.split_once('/') {
        Some((t, s)) if is_token(t) && is_token(s) => Ok(()),
        _ => Err(crate::error::Error::invalid_input(format!(
            "content type {media_type:?} is not of the form type/subtype (e.g. application/pdf)"
        ))),
    }
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
    fn checks() {
        assert!(check("application/pdf").is_ok());
        assert!(check("text/plain; charset=utf-8").is_err());
        assert!(check("text").is_err());
        assert!(check("text/pl\r\nain").is_err());
    }
}
