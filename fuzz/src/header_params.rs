//! Header parameters (Content-Disposition / Content-Type): tokens, quoted-strings and RFC 2231
//! extended and continued values. Property: a field of CRLF lines within 998 octets, all
//! breaks folding, ASCII, and an independent parser (mail-parser) reads every value back.

use arbitrary::{Arbitrary, Unstructured};
use mail_parser::{MessageParser, MimeHeaders};
use mailport::message::header;

use super::wire::{assert_header_field, shown};

const ATTRIBUTES: [&str; 3] = ["filename", "name", "x-fuzz"];

#[derive(Arbitrary, Debug)]
struct Input {
    /// The parameter values, separated by NUL (any other character, control characters
    /// included, may be in a value: they go RFC 2231-encoded).
    values: String,
}

pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let values: Vec<&str> = input.values.split('\0').collect();
    if values.len() > ATTRIBUTES.len() {
        return;
    }
    let params: Vec<(&str, &str)> = ATTRIBUTES.iter().copied().zip(values).collect();
    let name = "Content-Disposition";
    let field = header::with_params(name, "attachment", &params);
    assert_header_field(&field, name);
    assert!(field.is_ascii(), "not ASCII: {}", shown(&field));
    let raw = format!("{field}\r\n");
    let message = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a message");
    let disposition = message
        .content_disposition()
        .unwrap_or_else(|| panic!("no disposition read from {}", shown(&field)));
    assert_eq!(disposition.ctype(), "attachment");
    for (attr, value) in params {
        // mail-parser drops a parameter whose value is empty (`filename=""`, valid RFC 2045).
        if value.is_empty() && disposition.attribute(attr).is_none() {
            continue;
        }
        assert_eq!(
            disposition.attribute(attr),
            Some(value),
            "{attr} from {}",
            shown(&field)
        );
    }
}
