//! The unstructured header encoder (Subject, custom fields): RFC 2047 encoded-words and
//! folding. Property: a field of CRLF lines within 998 octets whose every line break is
//! folding, ASCII unless SMTPUTF8, and that an independent decoder (mail-parser) turns back
//! into exactly the value given.

use arbitrary::{Arbitrary, Unstructured};
use mail_parser::MessageParser;
use mailport::message::header;

use super::wire::{assert_decodes_to, assert_header_field, shown};

#[derive(Arbitrary, Debug)]
struct Input {
    utf8: bool,
    custom_name: bool,
    /// Last, so that it takes the rest of the input: a seed is two flag bytes, then the text.
    value: String,
}

pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    // The builder refuses these before they reach the encoder.
    if header::check_value(&input.value, "Subject").is_err() {
        return;
    }
    let name = if input.custom_name {
        "X-Fuzz-Header"
    } else {
        "Subject"
    };
    let field = header::unstructured(name, &input.value, input.utf8);
    assert_header_field(&field, name);
    if !input.utf8 {
        assert!(
            field.is_ascii(),
            "not ASCII without SMTPUTF8: {}",
            shown(&field)
        );
    }
    // mail-parser decodes encoded-words in the fields it knows, not in custom ones: decode
    // the same folded value as a Subject.
    let raw = format!("Subject{}\r\n", &field[name.len()..]);
    let message = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    let decoded = message.subject().unwrap_or_default();
    assert_decodes_to(decoded, &input.value, &field);
}
