//! SMTP commands and their exact wire form: RFC 5321 §4.1 (EHLO, HELO, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT), with the MAIL parameters of SIZE (RFC 1870), BODY=8BITMIME (RFC 6152) and
//! SMTPUTF8 (RFC 6531), AUTH (RFC 4954) and STARTTLS (RFC 3207).
//!
//! A command knows two forms: [`Command::to_line`], the bytes sent, and [`Command::redacted`],
//! what the transcript shows. SASL payloads carry credentials (base64 is an encoding, not
//! protection), so the redacted form and `Debug` never contain them.

use std::fmt;

use crate::smtp::auth::Mechanism;

/// Shown in place of a secret.
const REDACTED: &str = "<redacted>";

/// One SMTP command. Arguments must already be valid: no CR or LF, addresses checked.
#[derive(Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// EHLO with the client's name.
    Ehlo(&'a str),
    /// HELO, for servers that do not know EHLO.
    Helo(&'a str),
    StartTls,
    /// AUTH, with the base64 initial response when sent on the same line (RFC 4954 §4).
    Auth {
        mechanism: Mechanism,
        initial_response: Option<&'a str>,
    },
    /// A base64 answer to a 334 challenge; `*` cancels the exchange, empty answers with nothing.
    AuthResponse(&'a str),
    /// MAIL FROM; an empty address is the null reverse-path `<>` (bounces).
    MailFrom {
        address: &'a str,
        /// SIZE=n, the message size declared in advance (RFC 1870).
        size: Option<u64>,
        /// BODY=8BITMIME (RFC 6152).
        eight_bit_mime: bool,
        /// SMTPUTF8 (RFC 6531): the envelope or headers hold non-ASCII addresses.
        smtputf8: bool,
    },
    RcptTo {
        address: &'a str,
    },
    Data,
    Rset,
    Noop,
    Quit,
}

impl Command<'_> {
    /// The command as sent, CRLF included.
    pub fn to_line(&self) -> String {
        let mut line = Vec::new();
        self.write_line(&mut line);
        String::from_utf8(line).expect("commands are built from str and ASCII")
    }

    /// Append the command as sent, CRLF included, to `out`: the session writes a whole group
    /// into one buffer it reuses, so the commands of a busy session are built without an
    /// allocation (or a `format!`) each.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        self.debug_check_arguments();
        match self {
            Command::MailFrom {
                address,
                size,
                eight_bit_mime,
                smtputf8,
            } => {
                out.extend_from_slice(b"MAIL FROM:<");
                out.extend_from_slice(address.as_bytes());
                out.push(b'>');
                if let Some(size) = size {
                    out.extend_from_slice(b" SIZE=");
                    push_decimal(out, *size);
                }
                if *eight_bit_mime {
                    out.extend_from_slice(b" BODY=8BITMIME");
                }
                if *smtputf8 {
                    out.extend_from_slice(b" SMTPUTF8");
                }
            }
            Command::RcptTo { address } => {
                out.extend_from_slice(b"RCPT TO:<");
                out.extend_from_slice(address.as_bytes());
                out.push(b'>');
            }
            // Once or a few times a session: not worth a form of their own.
            other => out.extend_from_slice(other.render(false).as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Whether the line carries a SASL payload, so the transcript must show
    /// [`Command::redacted`] rather than the line sent.
    pub fn carries_secret(&self) -> bool {
        let shown = |payload: &str| matches!(payload, "" | "=" | "*");
        match self {
            Command::Auth {
                initial_response: Some(response),
                ..
            } => !shown(response),
            Command::AuthResponse(response) => !shown(response),
            _ => false,
        }
    }

    /// The command for the transcript, without CRLF, with SASL payloads replaced by
    /// `<redacted>` (`AUTH PLAIN <redacted>`).
    ///
    /// Payloads that cannot hold a secret are shown as they are: an empty response (`=` as an
    /// initial response) and the cancelling `*`, which is not base64 and so never an encoded
    /// credential.
    pub fn redacted(&self) -> String {
        self.render(true)
    }

    /// The line without CRLF, with or without its SASL payload.
    fn render(&self, redact: bool) -> String {
        let payload = |payload: &'_ str| -> String {
            if redact && !matches!(payload, "" | "=" | "*") {
                REDACTED.to_string()
            } else {
                payload.to_string()
            }
        };
        match self {
            Command::Ehlo(name) => format!("EHLO {name}"),
            Command::Helo(name) => format!("HELO {name}"),
            Command::StartTls => "STARTTLS".to_string(),
            Command::Auth {
                mechanism,
                initial_response: None,
            } => format!("AUTH {}", mechanism.as_str()),
            // RFC 4954 §4: an empty initial response is sent as a single "=", since nothing
            // after the mechanism name means "no initial response".
            Command::Auth {
                mechanism,
                initial_response: Some(""),
            } => format!("AUTH {} =", mechanism.as_str()),
            Command::Auth {
                mechanism,
                initial_response: Some(response),
            } => format!("AUTH {} {}", mechanism.as_str(), payload(response)),
            Command::AuthResponse(response) => payload(response),
            Command::MailFrom {
                address,
                size,
                eight_bit_mime,
                smtputf8,
            } => {
                let mut line = format!("MAIL FROM:<{address}>");
                if let Some(size) = size {
                    line.push_str(&format!(" SIZE={size}"));
                }
                if *eight_bit_mime {
                    line.push_str(" BODY=8BITMIME");
                }
                if *smtputf8 {
                    line.push_str(" SMTPUTF8");
                }
                line
            }
            Command::RcptTo { address } => format!("RCPT TO:<{address}>"),
            Command::Data => "DATA".to_string(),
            Command::Rset => "RSET".to_string(),
            Command::Noop => "NOOP".to_string(),
            Command::Quit => "QUIT".to_string(),
        }
    }

    /// Callers validate arguments (an address or name with CR or LF would let its author inject
    /// commands); this catches a caller that forgot, in debug builds.
    fn debug_check_arguments(&self) {
        let argument = match self {
            Command::Ehlo(arg) | Command::Helo(arg) | Command::AuthResponse(arg) => *arg,
            Command::Auth {
                initial_response, ..
            } => initial_response.unwrap_or(""),
            Command::MailFrom { address, .. } | Command::RcptTo { address } => *address,
            Command::StartTls | Command::Data | Command::Rset | Command::Noop | Command::Quit => "",
        };
        debug_assert!(
            !argument.contains(['\r', '\n']),
            "CR or LF in an SMTP command argument"
        );
    }
}

/// Append `n` in decimal, without the formatting machinery (a MAIL SIZE or a BDAT count per
/// message).
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The redacted form: secrets never reach logs through `{:?}`.
impl fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({:?})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(address: &str, size: Option<u64>, eight_bit_mime: bool, smtputf8: bool) -> Command<'_> {
        Command::MailFrom {
            address,
            size,
            eight_bit_mime,
            smtputf8,
        }
    }

    #[test]
    fn simple_commands() {
        for (command, wire) in [
            (
                Command::Ehlo("client.example.com"),
                "EHLO client.example.com\r\n",
            ),
            (Command::Helo("[192.0.2.1]"), "HELO [192.0.2.1]\r\n"),
            (Command::StartTls, "STARTTLS\r\n"),
            (Command::Data, "DATA\r\n"),
            (Command::Rset, "RSET\r\n"),
            (Command::Noop, "NOOP\r\n"),
            (Command::Quit, "QUIT\r\n"),
            (
                Command::RcptTo {
                    address: "bob@example.org",
                },
                "RCPT TO:<bob@example.org>\r\n",
            ),
        ] {
            assert_eq!(command.to_line(), wire);
            // Nothing secret here: the transcript shows the line as sent.
            assert_eq!(command.redacted(), wire.trim_end_matches("\r\n"));
        }
    }

    #[test]
    fn mail_from_parameters() {
        assert_eq!(
            mail("a@b", None, false, false).to_line(),
            "MAIL FROM:<a@b>\r\n"
        );
        assert_eq!(
            mail("a@b", Some(123), true, true).to_line(),
            "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8\r\n"
        );
        assert_eq!(
            mail("a@b", Some(0), false, false).to_line(),
            "MAIL FROM:<a@b> SIZE=0\r\n"
        );
        assert_eq!(
            mail("a@b", None, true, false).to_line(),
            "MAIL FROM:<a@b> BODY=8BITMIME\r\n"
        );
        assert_eq!(
            mail("jö@bücher.example", None, false, true).to_line(),
            "MAIL FROM:<jö@bücher.example> SMTPUTF8\r\n"
        );
        assert_eq!(mail("", None, false, false).to_line(), "MAIL FROM:<>\r\n");
        assert_eq!(
            mail("a@b", Some(42), true, false).redacted(),
            "MAIL FROM:<a@b> SIZE=42 BODY=8BITMIME"
        );
    }

    #[test]
    fn auth_forms() {
        let plain = Command::Auth {
            mechanism: Mechanism::Plain,
            initial_response: Some("AHRlc3QAdGVzdA=="),
        };
        assert_eq!(plain.to_line(), "AUTH PLAIN AHRlc3QAdGVzdA==\r\n");
        assert_eq!(plain.redacted(), "AUTH PLAIN <redacted>");

        let login = Command::Auth {
            mechanism: Mechanism::Login,
            initial_response: None,
        };
        assert_eq!(login.to_line(), "AUTH LOGIN\r\n");
        assert_eq!(login.redacted(), "AUTH LOGIN");

        let xoauth2 = Command::Auth {
            mechanism: Mechanism::XOAuth2,
            initial_response: Some("dXNlcj0..."),
        };
        assert_eq!(xoauth2.to_line(), "AUTH XOAUTH2 dXNlcj0...\r\n");
        assert_eq!(xoauth2.redacted(), "AUTH XOAUTH2 <redacted>");

        // RFC 4954 §4: an empty initial response is sent as "=".
        let empty = Command::Auth {
            mechanism: Mechanism::Plain,
            initial_response: Some(""),
        };
        assert_eq!(empty.to_line(), "AUTH PLAIN =\r\n");
        assert_eq!(empty.redacted(), "AUTH PLAIN =");
    }

    #[test]
    fn auth_responses() {
        let secret = Command::AuthResponse("czNjcmV0");
        assert_eq!(secret.to_line(), "czNjcmV0\r\n");
        assert_eq!(secret.redacted(), "<redacted>");

        let empty = Command::AuthResponse("");
        assert_eq!(empty.to_line(), "\r\n");
        assert_eq!(empty.redacted(), "");

        let cancel = Command::AuthResponse("*");
        assert_eq!(cancel.to_line(), "*\r\n");
        assert_eq!(cancel.redacted(), "*");
    }

    #[test]
    fn debug_is_redacted() {
        let secret = "AHRlc3QAaHVudGVyMg==";
        for command in [
            Command::Auth {
                mechanism: Mechanism::Plain,
                initial_response: Some(secret),
            },
            Command::AuthResponse(secret),
        ] {
            let debug = format!("{command:?}");
            assert!(!debug.contains(secret), "{debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
            let pretty = format!("{command:#?}");
            assert!(!pretty.contains(secret), "{pretty}");
        }
        assert_eq!(
            format!("{:?}", Command::RcptTo { address: "a@b" }),
            r#"Command("RCPT TO:<a@b>")"#
        );
    }

    #[test]
    fn lines_are_appended_to_a_reused_buffer_as_render_spells_them() {
        let commands = [
            Command::Ehlo("client.example"),
            Command::StartTls,
            mail("a@b", Some(18_446_744_073_709_551_615), true, true),
            mail("", Some(0), false, false),
            Command::RcptTo { address: "c@d" },
            Command::Data,
            Command::Auth {
                mechanism: Mechanism::Plain,
                initial_response: Some(""),
            },
            Command::AuthResponse("czNjcmV0"),
            Command::Quit,
        ];
        let mut wire = b"kept".to_vec();
        let mut expected = b"kept".to_vec();
        for command in &commands {
            command.write_line(&mut wire);
            expected.extend_from_slice(command.render(false).as_bytes());
            expected.extend_from_slice(b"\r\n");
        }
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(
            commands[2].to_line(),
            "MAIL FROM:<a@b> SIZE=18446744073709551615 BODY=8BITMIME SMTPUTF8\r\n"
        );
    }

    #[test]
    fn only_lines_with_a_sasl_payload_carry_a_secret() {
        for (command, secret) in [
            (Command::AuthResponse("czNjcmV0"), true),
            (
                Command::Auth {
                    mechanism: Mechanism::Plain,
                    initial_response: Some("AHRlc3QAdGVzdA=="),
                },
                true,
            ),
            (Command::AuthResponse("*"), false),
            (Command::AuthResponse(""), false),
            (
                Command::Auth {
                    mechanism: Mechanism::Plain,
                    initial_response: Some(""),
                },
                false,
            ),
            (
                Command::Auth {
                    mechanism: Mechanism::Login,
                    initial_response: None,
                },
                false,
            ),
            (mail("a@b", Some(1), false, false), false),
            (Command::RcptTo { address: "c@d" }, false),
        ] {
            assert_eq!(command.carries_secret(), secret, "{command:?}");
            // What the transcript shows equals the line sent exactly when there is no secret.
            let line = command.to_line();
            assert_eq!(
                command.redacted() == line.trim_end_matches("\r\n"),
                !secret,
                "{command:?}"
            );
        }
    }

    #[test]
    fn decimals() {
        for n in [0u64, 7, 10, 1024, 99_999, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "CR or LF")]
    fn line_breaks_in_arguments_are_caught_in_debug_builds() {
        let _ = Command::RcptTo {
            address: "a@b>\r\nDATA",
        }
        .to_line();
    }
}
