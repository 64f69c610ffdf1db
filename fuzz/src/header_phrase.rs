//! Display names (phrase: atoms, quoted-strings, RFC 2047 encoded-words) in an address list
//! folded between and inside items. Property: a field of CRLF lines within 998 octets whose
//! line breaks are all folding, and from which an independent parser (mail-parser) reads every
//! mailbox back with its name and address.

use arbitrary::{Arbitrary, Unstructured};
use mail_parser::MessageParser;
use mailport::message::header;

use super::wire::{assert_header_field, shown};

#[derive(Arbitrary, Debug)]
struct Input {
    utf8: bool,
    /// The display names, one per line (a line break is no part of a name: the builder refuses
    /// it). Last, so a seed is a flag byte, then the names.
    names: String,
}

pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let names: Vec<&str> = input.names.split('\n').collect();
    if names.len() > 8
        || names
            .iter()
            .any(|n| header::check_value(n, "name").is_err())
    {
        return;
    }
    let addresses: Vec<String> = (0..names.len())
        .map(|i| format!("user{i}@example.com"))
        .collect();
    let items: Vec<String> = names
        .iter()
        .zip(&addresses)
        .map(|(name, address)| header::mailbox(Some(name), address, input.utf8))
        .collect();
    let field = header::address_list("To", &items);
    assert_header_field(&field, "To");
    if !input.utf8 {
        assert!(
            field.is_ascii(),
            "not ASCII without SMTPUTF8: {}",
            shown(&field)
        );
    }
    let raw = format!("{field}\r\n");
    let message = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    let list: Vec<_> = message.to().map(|a| a.iter().collect()).unwrap_or_default();
    assert_eq!(list.len(), items.len(), "mailboxes in {}", shown(&field));
    for ((addr, name), address) in list.iter().zip(&names).zip(&addresses) {
        assert_eq!(
            addr.address(),
            Some(address.as_str()),
            "in {}",
            shown(&field)
        );
        let expected = (!name.is_empty()).then_some(*name);
        assert_eq!(addr.name(), expected, "name from {}", shown(&field));
    }
}
