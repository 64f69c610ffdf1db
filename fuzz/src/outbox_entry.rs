//! The outbox's entry format (docs/outbox.md): an entry file is its header as one JSON line,
//! then the message. Properties: the spool's reader takes arbitrary bytes without panicking;
//! what it accepts is written back by the spool's writer to a line it reads back equal; a
//! message description in it builds and renders, or fails with an error; and a record (the
//! `.json` beside each entry) survives the same round trip.

use mailport::__fuzz::{entry_header_line, read_entry_header};
use mailport::outbox::{EntryHeader, Record};

pub fn check(data: &[u8]) {
    match read_entry_header(data) {
        Err(why) => assert!(!why.is_empty()),
        Ok((header, offset)) => {
            let offset = usize::try_from(offset).expect("offset fits");
            assert!(offset > 0 && offset <= data.len());
            assert_eq!(
                data[offset - 1],
                b'\n',
                "the message starts after the header line"
            );
            round_trip(&header);
            if let Some(description) = &header.description {
                // Files named in a description are read at rendering: the fuzzer must not
                // make the target read the machine's files.
                let no_files = description.attachments.is_empty()
                    && description
                        .wp_mail
                        .as_ref()
                        .is_none_or(|w| w.attachments.is_empty() && w.embeds.is_empty());
                if no_files {
                    if let Ok(message) = description.build(header.created) {
                        let _ = message.to_bytes();
                    }
                }
            }
        }
    }
    if let Ok(record) = serde_json::from_slice::<Record>(data) {
        let written = serde_json::to_vec_pretty(&record).expect("a record serialises");
        let again: Record = serde_json::from_slice(&written).expect("a written record reads");
        assert_eq!(again, record);
    }
}

/// What the writer writes, the reader reads back to a header the writer writes the same way.
/// (Not always an equal header: `"headers": ""` in a wp_mail call is not written, and reads
/// back as the empty list, which means the same.)
fn round_trip(header: &EntryHeader) {
    let line = entry_header_line(header).expect("a header serialises");
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
    let mut file = line.clone();
    file.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
    let (again, offset) = read_entry_header(&file).expect("the written line reads back");
    assert_eq!(offset, line.len() as u64);
    let line_again = entry_header_line(&again).expect("a header serialises");
    assert_eq!(
        String::from_utf8_lossy(&line_again),
        String::from_utf8_lossy(&line),
        "written, read and written again"
    );
    assert_eq!(
        (&again.id, again.created, again.format),
        (&header.id, header.created, header.format)
    );
}
