//! The mailbox and address-list parser (display names, quoted local parts, comments, groups,
//! IDNA domains): whatever it accepts is a mailbox that survives its own rendering, converts
//! for a server without SMTPUTF8 into ASCII, and comes back whole from an independent parser
//! once written into a header.

use mail_parser::MessageParser;
use mailport::address::{Mailbox, parse_mailbox_list};
use mailport::message::header;

pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Mailbox::parse(text) {
        check_mailbox(&m, text);
    }
    for (entry, parsed) in parse_mailbox_list(text) {
        assert!(
            !entry.is_empty() || parsed.is_err(),
            "an empty entry parsed: {parsed:?}"
        );
        if let Ok(m) = parsed {
            check_mailbox(&m, &entry);
        }
    }
    // The C ABI's set_from_parts / add_mailbox_parts: a name and a bare address, split at the
    // first NUL of the input.
    if let Some((name, address)) = text.split_once('\0') {
        if let Ok(m) = Mailbox::new(Some(name), address) {
            check_mailbox(&m, text);
        }
    }
}

fn check_mailbox(m: &Mailbox, input: &str) {
    assert!(
        !m.local().is_empty() && !m.domain().is_empty(),
        "{m:?} from {input:?}"
    );
    for part in [m.local(), m.domain()].into_iter().chain(m.name()) {
        assert!(
            !part.contains(|c: char| c.is_control()),
            "control character in {m:?} from {input:?}"
        );
    }
    if let Some(name) = m.name() {
        assert!(!name.is_empty(), "an empty name is no name: {input:?}");
        assert_eq!(name.trim(), name, "name not trimmed: {input:?}");
        assert!(!name.contains("  "), "whitespace not collapsed in {name:?}");
    }
    // Display is what logs and the C ABI show: it parses back to the same mailbox.
    let shown = m.to_string();
    let again = Mailbox::parse(&shown)
        .unwrap_or_else(|e| panic!("{shown:?} (from {input:?}) does not parse back: {e}"));
    assert_eq!(&again, m, "{shown:?} from {input:?}");

    assert_eq!(
        m.envelope(true).expect("with SMTPUTF8 any mailbox goes"),
        m.address()
    );
    let Ok(ascii) = m.envelope(false) else {
        return;
    };
    assert!(
        ascii.is_ascii(),
        "envelope without SMTPUTF8 is not ASCII: {ascii:?}"
    );
    let ascii_box = Mailbox::parse(&ascii)
        .unwrap_or_else(|e| panic!("the ASCII form {ascii:?} of {input:?} does not parse: {e}"));
    assert_eq!(ascii_box.local(), m.local());

    // Written into a header as the renderer does, an independent parser reads the same
    // address (dot-atom local parts at a domain name: the forms it does not rewrite) and name.
    let item = header::mailbox(m.name(), &ascii, false);
    let field = header::address_list("To", &[item]);
    super::wire::assert_header_field(&field, "To");
    assert!(field.is_ascii(), "{field:?}");
    // mail-parser decodes an encoded-word even inside an address, which RFC 2047 §5 rules out
    // ("An 'encoded-word' MUST NOT appear in any portion of an 'addr-spec'"): a local part
    // such as `=?U8?B?w8l8U?=?B?w8iaa` is a valid dot-atom that it would read differently.
    let plain =
        !m.local().starts_with('"') && !m.domain().starts_with('[') && !m.local().contains("=?");
    if !plain {
        return;
    }
    let raw = format!("{field}\r\n");
    let parsed = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    let addr = parsed
        .to()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("no To address in {field:?} from {input:?}"));
    assert_eq!(
        addr.address(),
        Some(ascii.as_str()),
        "{field:?} from {input:?}"
    );
    assert_eq!(addr.name(), m.name(), "{field:?} from {input:?}");
}
