//! Checks on the values that end up inside SMTP commands: envelope addresses, host names, the
//! EHLO name, user names.
//!
//! Anything placed on a command line is checked here first, because a CR or LF in it would let a
//! caller's input inject extra SMTP commands (RFC 5321 §4.1.1; "SMTP command injection").

use crate::error::{Error, Result};

pub mod mailbox;
pub use mailbox::{Mailbox, parse_mailbox_list};

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
const MAX_PATH: usize = 256;
/// RFC 5321 §4.5.3.1.1 and .2.
const MAX_LOCAL_PART: usize = 64;
const MAX_DOMAIN: usize = 255;

/// Refuse CR, LF, NUL and other control characters in `value`, naming `field`.
pub fn check_no_controls(value: &str, field: &str) -> Result<()> {
    if let Some((at, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
        let what = match c {
            '\r' | '\n' => "a line break",
            '\0' => "a NUL byte",
            _ => "a control character",
        };
        return Err(Error::invalid_input(format!(
            "{field} contains {what} at byte {at}"
        )));
    }
    Ok(())
}

/// A host name or IP literal to connect to.
pub fn check_host(host: &str, field: &str) -> Result<()> {
    if host.is_empty() {
        return Err(Error::invalid_input(format!("{field} is empty")));
    }
    check_no_controls(host, field)?;
    if host.contains([' ', '/', '@']) {
        return Err(Error::invalid_input(format!(
            "{field} {host:?} is not a host name (it contains a space, '/' or '@')"
        )));
    }
    Ok(())
}

/// The name announced in EHLO/HELO: a domain or an address literal, on one line.
pub fn check_helo_name(name: &str) -> Result<()> {
    check_host(name, "helo name")?;
    if !name.is_ascii() {
        return Err(Error::invalid_input(format!(
            "helo name {name:?} must be ASCII (use the punycode form)"
        )));
    }
    Ok(())
}

/// Validate an envelope address (the part inside `<…>` of MAIL FROM or RCPT TO).
///
/// `field` names the argument in errors. The empty reverse path (`""`, sent as `<>`) is allowed
/// only for the sender, where it marks bounces.
pub fn check_envelope_address(address: &str, field: &str, allow_empty: bool) -> Result<()> {
    if address.is_empty() {
        if allow_empty {
            return Ok(());
        }
        return Err(Error::invalid_input(format!("{field} is empty")));
    }
    check_no_controls(address, field)?;
    if address.len() > MAX_PATH {
        return Err(Error::invalid_input(format!(
            "{field} is {} bytes long; SMTP allows {MAX_PATH}",
            address.len()
        )));
    }
    let (local, domain) = address
        .rsplit_once('@')
        .ok_or_else(|| Error::invalid_input(format!("{field} {address:?} has no '@'")))?;
    if !local.starts_with('"') && address.contains(['<', '>', ' ', '\t']) {
        return Err(Error::invalid_input(format!(
            "{field} {address:?} must be a bare address like user@example.com, without <>, spaces or a display name"
        )));
    }
    if local.is_empty() {
        return Err(Error::invalid_input(format!(
            "{field} {address:?} has an empty local part"
        )));
    }
    if local.len() > MAX_LOCAL_PART {
        return Err(Error::invalid_input(format!(
            "{field} {address:?}: the part before '@' is longer than {MAX_LOCAL_PART} bytes"
        )));
    }
    check_local_part(local).map_err(|what| {
        Error::invalid_input(format!(
            "{field} {address:?} has an invalid local part: {what}"
        ))
    })?;
    check_domain(domain, field, address)
}

/// RFC 5321 §4.1.2 Local-part: one dot-atom, or one quoted string with nothing outside its
/// quotes. Anything looser lets text after a closing quote reach the command line, where a
/// server reads it as ESMTP parameters (`"a"@x> NOTIFY=NEVER ORCPT=…"@y`).
fn check_local_part(local: &str) -> std::result::Result<(), &'static str> {
    let Some(quoted) = local.strip_prefix('"') else {
        return if local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(mailbox::is_atext))
        {
            Ok(())
        } else {
            Err(
                "unquoted, it is words of letters, digits and !#$%&'*+-/=?^_`{|}~ joined by single dots",
            )
        };
    };
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            // quoted-pairSMTP: a backslash escapes one printable ASCII character.
            '\\' if !matches!(chars.next(), Some(' '..='~')) => {
                return Err("a '\\' in its quotes escapes no printable character");
            }
            '"' if chars.as_str().is_empty() => return Ok(()),
            '"' => return Err("there is text outside its quotes (quote all of it or none)"),
            // Control characters were refused before; the rest is qtextSMTP (RFC 6531 adds
            // non-ASCII).
            _ => {}
        }
    }
    Err("its opening quote is never closed")
}

fn check_domain(domain: &str, field: &str, address: &str) -> Result<()> {
    let bad = || Error::invalid_input(format!("{field} {address:?} has an invalid domain"));
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return Err(bad());
    }
    if let Some(literal) = domain.strip_prefix('[') {
        let inner = literal.strip_suffix(']').ok_or_else(bad)?;
        let ok = inner.parse::<std::net::Ipv4Addr>().is_ok()
            || inner
                .strip_prefix("IPv6:")
                .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok());
        return if ok { Ok(()) } else { Err(bad()) };
    }
    for label in domain.split('.') {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || !c.is_ascii())
        {
            return Err(bad());
        }
    }
    // What IDNA refuses (an "xn--" label that decodes to a disallowed character, a joiner)
    // cannot be sent either way.
    mailbox::ascii_domain(domain, address)?;
    Ok(())
}

/// Whether an address needs the SMTPUTF8 extension (RFC 6531) to be sent as is.
pub fn needs_smtputf8(address: &str) -> bool {
    !address.is_ascii()
}

/// This machine's host name, for EHLO; `localhost.localdomain` when unknown or unusable.
pub fn default_helo_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is a valid writable buffer of the given length; gethostname NUL-terminates
    // on success when the name fits, and we also bound the search by the buffer length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if let Ok(name) = std::str::from_utf8(&buf[..end]) {
            if !name.is_empty() && check_helo_name(name).is_ok() {
                // A bare name like "web01" is not a domain; RFC 5321 wants a FQDN or a literal,
                // and some servers refuse single labels.
                if name.contains('.') {
                    return name.to_string();
                }
                return format!("{name}.localdomain");
            }
        }
    }
    "localhost.localdomain".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses() {
        for ok in [
            "a@b",
            "first.last@example.com",
            "\"odd local\"@example.com",
            "x@[127.0.0.1]",
            "x@[IPv6:::1]",
            "用户@例子.测试",
        ] {
            check_envelope_address(ok, "to", false).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b\r\nRCPT TO:<evil@x>",
            "Name <a@b>",
            "a b@c",
            ".a@b",
            "a..b@c",
            "a@-b.com",
            "a@b..com",
            "a@[1.2.3]",
        ] {
            assert!(
                check_envelope_address(bad, "to", false).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(check_envelope_address("", "from", true).is_ok());
    }

    /// Issue 12.3: text after a quoted local part's closing quote would reach the command line
    /// as ESMTP parameters (`RCPT TO:<"a"@evil.example> NOTIFY=NEVER ORCPT=…"@victim.example>`),
    /// and defeat an application's "ends with @victim.example" check.
    #[test]
    fn quoted_local_parts_are_one_quoted_string() {
        for ok in [
            "\"a\"@victim.example",
            "\"with space\"@victim.example",
            "\"a\\\"b\"@victim.example",
            "\"a@b\"@victim.example",
            "\"\"@victim.example",
        ] {
            check_envelope_address(ok, "to", false).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (field, allow_empty, attack) in [
            (
                "recipient",
                false,
                "\"a\"@evil.example> NOTIFY=NEVER ORCPT=rfc822;x\"@victim.example",
            ),
            (
                "envelope sender",
                true,
                "\"a\"@evil.example> RET=FULL ENVID=x\"@victim.example",
            ),
            ("recipient", false, "\"a\"b\"@victim.example"),
            ("recipient", false, "\"a\"\"b\"@victim.example"),
            ("recipient", false, "\"unclosed@victim.example"),
            ("recipient", false, "\"a\\\"@victim.example"),
            ("recipient", false, "a\"b@victim.example"),
            ("recipient", false, "a>b@victim.example"),
            ("recipient", false, "a=b> NOTIFY=NEVER@victim.example"),
        ] {
            let err = check_envelope_address(attack, field, allow_empty).unwrap_err();
            assert!(err.message().starts_with(field), "{attack}: {err}");
            if attack.starts_with('"') {
                assert!(err.message().contains("local part"), "{attack}: {err}");
            }
        }
        let err = check_envelope_address("user@xn--a.example", "to", false).unwrap_err();
        assert!(err.message().contains("internationalised"), "{err}");
    }

    #[test]
    fn control_characters_are_named() {
        let e = check_no_controls("abc\ndef", "subject").unwrap_err();
        assert_eq!(e.message(), "subject contains a line break at byte 3");
        let e = check_no_controls("a\0", "username").unwrap_err();
        assert!(e.message().contains("NUL"));
    }

    #[test]
    fn helo_default_is_usable() {
        let name = default_helo_name();
        check_helo_name(&name).unwrap();
        assert!(name.contains('.'));
    }
}
