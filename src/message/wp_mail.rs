//! WordPress's `wp_mail()` semantics: the same arguments, the same header rules, a [`Message`]
//! out.
//!
//! WordPress (wp-includes/pluggable.php) turns `wp_mail($to, $subject, $message, $headers,
//! $attachments, $embeds)` into PHPMailer calls. We follow its rules so a plugin that routes
//! `wp_mail()` through mailport changes nothing a site relies on, with three deliberate
//! differences where WordPress is plainly wrong:
//!
//! - Address lists are split on commas outside quotes, angle brackets and comments, so
//!   `"Doe, John" <j@x>` stays one recipient (WordPress splits it into `"Doe` and `John" <j@x>`).
//! - An invalid address is an error naming it (WordPress's PHPMailer drops it silently and
//!   sends to the rest).
//! - Header names are matched case-insensitively when deciding which of a repeated header
//!   wins (WordPress keeps `X-Tag` and `x-tag` as two headers).

use std::path::PathBuf;

use crate::address::{Mailbox, parse_mailbox_list};
use crate::error::{Error, InvalidAddress, Kind, Result};
use crate::message::{Charset, Message};

/// The arguments of one `wp_mail()` call.
#[derive(Debug, Clone, Default)]
pub struct WpMail {
    /// Each item may itself be a comma-separated list (WordPress accepts a string or an array).
    pub to: Vec<String>,
    pub subject: String,
    pub message: String,
    /// One header per element, as WordPress's array form (an element holding a line break is
    /// refused when the call is parsed); [`WpMail::add_headers`] adds the string form.
    pub headers: Vec<String>,
    /// Paths, each with an optional display name (WordPress's string array keys).
    pub attachments: Vec<(Option<String>, PathBuf)>,
    /// Inline files by Content-ID, referenced from HTML as `cid:key` (WordPress 6.9).
    pub embeds: Vec<(String, PathBuf)>,
}

/// What the site supplies when a call leaves it out.
#[derive(Debug, Clone)]
pub struct WpDefaults {
    /// The site's host name: From defaults to `wordpress@<site_domain>` (without `www.`).
    pub site_domain: String,
    /// Overrides the `wordpress@…` default sender.
    pub from_email: Option<String>,
    pub from_name: String,
    pub charset: String,
    pub content_type: String,
}

impl Default for WpDefaults {
    fn default() -> WpDefaults {
        WpDefaults {
            site_domain: "localhost".to_string(),
            from_email: None,
            from_name: "WordPress".to_string(),
            charset: "UTF-8".to_string(),
            content_type: "text/plain".to_string(),
        }
    }
}

/// A `wp_mail()` call after WordPress's header parsing, before the message is built: the place
/// where the `wp_mail_from`, `wp_mail_from_name`, `wp_mail_content_type` and `wp_mail_charset`
/// filters apply, so every field is public.
#[derive(Debug, Clone, Default)]
pub struct WpParsed {
    pub from_email: String,
    pub from_name: String,
    pub content_type: String,
    pub charset: String,
    /// Set by a multipart Content-Type's boundary (then `message` is already MIME).
    pub boundary: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub reply_to: Vec<String>,
    /// Headers passed through, one per name (the last one given wins), in first-seen order.
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub message: String,
    pub attachments: Vec<(Option<String>, PathBuf)>,
    pub embeds: Vec<(String, PathBuf)>,
}

impl WpMail {
    /// Add one element of WordPress's array form of `$headers`: exactly one header, trimmed.
    /// An element with a line break inside is refused (see [`one_header`]).
    pub fn add_header(&mut self, header: &str) -> Result<()> {
        let header = one_header(header)?;
        if !header.is_empty() {
            self.headers.push(header.to_string());
        }
        Ok(())
    }

    /// Add WordPress's string form of `$headers`: lines separated by LF or CRLF.
    pub fn add_headers(&mut self, headers: &str) {
        self.headers.extend(
            headers
                .replace("\r\n", "\n")
                .split('\n')
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }

    /// Apply WordPress's header rules and defaults. Fails only for a header element with a
    /// line break inside.
    pub fn parse(&self, defaults: &WpDefaults) -> Result<WpParsed> {
        let mut parsed = WpParsed {
            from_email: String::new(),
            from_name: defaults.from_name.clone(),
            content_type: defaults.content_type.clone(),
            charset: defaults.charset.clone(),
            to: self.to.clone(),
            subject: self.subject.clone(),
            message: self.message.clone(),
            attachments: self.attachments.clone(),
            embeds: self.embeds.clone(),
            ..WpParsed::default()
        };
        let mut from = None;
        for line in &self.headers {
            let line = one_header(line)?;
            let Some((name, content)) = line.split_once(':') else {
                // WordPress reads a boundary from a continuation line of a folded Content-Type.
                if let Some(b) = boundary_in(line) {
                    parsed.boundary = Some(b);
                }
                continue;
            };
            let (name, content) = (name.trim(), content.trim());
            match name.to_ascii_lowercase().as_str() {
                "from" if !content.is_empty() => from = Some(content.to_string()),
                "from" => {}
                "content-type" => {
                    let mut pieces = content.split(';');
                    let media = pieces.next().unwrap_or("").trim();
                    if !media.is_empty() {
                        parsed.content_type = media.to_string();
                    }
                    for param in pieces {
                        if let Some((key, value)) = param.split_once('=') {
                            let value = value.trim().trim_matches(['"', '\'']).trim().to_string();
                            match key.trim().to_ascii_lowercase().as_str() {
                                "charset" => parsed.charset = value,
                                "boundary" => parsed.boundary = Some(value),
                                _ => {}
                            }
                        }
                    }
                }
                "cc" => parsed.cc.push(content.to_string()),
                "bcc" => parsed.bcc.push(content.to_string()),
                "reply-to" => parsed.reply_to.push(content.to_string()),
                // PHPMailer writes these itself; WordPress drops them.
                "mime-version" | "x-mailer" => {}
                _ => match parsed
                    .headers
                    .iter_mut()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    Some(existing) => existing.1 = content.to_string(),
                    None => parsed.headers.push((name.to_string(), content.to_string())),
                },
            }
        }
        match from.as_deref().map(Mailbox::parse) {
            Some(Ok(mailbox)) => {
                parsed.from_email = mailbox.address();
                if let Some(name) = mailbox.name() {
                    parsed.from_name = name.to_string();
                }
            }
            // Kept as written, so building reports it as the invalid From it is.
            Some(Err(_)) => parsed.from_email = from.unwrap_or_default(),
            None => {
                parsed.from_email = defaults.from_email.clone().unwrap_or_else(|| {
                    let site = defaults.site_domain.trim();
                    format!("wordpress@{}", site.strip_prefix("www.").unwrap_or(site))
                })
            }
        }
        Ok(parsed)
    }
}

/// One element of WordPress's `$headers` array, trimmed as core trims it.
///
/// WordPress core never splits an array element (wp-includes/pluggable.php, `wp_mail()`:
/// `$tempheaders = $headers` for an array, then one `explode( ':', trim( $header ), 2 )` per
/// element), and PHPMailer refuses a value that still holds CR or LF (`addCustomHeader`,
/// `addAnAddress`), silently dropping that header or address. Contact-form plugins rely on this
/// when they put a visitor's name into `"Reply-To: $name <$email>"`: splitting the element on
/// its line breaks would let the visitor add Bcc recipients through the site's account. The
/// element is refused with an error naming the header, where core drops it silently, as
/// mailport does for every invalid input.
fn one_header(element: &str) -> Result<&str> {
    let header = element.trim();
    if !header.contains(['\r', '\n']) {
        return Ok(header);
    }
    let name = header
        .split_once(':')
        .map_or("(no name)", |(name, _)| name.trim());
    let name: String = name.chars().take(64).collect();
    Err(Error::invalid_input(format!(
        "wp_mail: header {name:?} of the headers array contains a line break: an array element \
         is exactly one header, so it was refused and the message not sent (a form field put \
         into a header could otherwise add recipients)"
    )))
}

fn boundary_in(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("boundary=")?;
    let value = line[at + "boundary=".len()..]
        .trim()
        .replace(['"', '\''], "");
    (!value.is_empty()).then_some(value)
}

impl WpParsed {
    /// Build the message. Every invalid address is reported, each with the field it came from,
    /// in one error; a missing attachment or embed names its path.
    pub fn build(&self) -> Result<Message> {
        let mut message = Message::new();
        let mut invalid = Vec::new();
        let mut check = |field: &str, input: &str, result: Result<Mailbox>| match result {
            Ok(m) => Some(m),
            Err(e) => {
                invalid.push(InvalidAddress {
                    field: field.to_string(),
                    input: input.to_string(),
                    reason: e.message(),
                });
                None
            }
        };

        let name = Some(self.from_name.trim()).filter(|n| !n.is_empty());
        let from = check(
            "From",
            &self.from_email,
            Mailbox::new(name, self.from_email.trim()),
        );
        let mut lists: [(&str, &[String], Vec<Mailbox>); 4] = [
            ("To", &self.to, Vec::new()),
            ("Cc", &self.cc, Vec::new()),
            ("Bcc", &self.bcc, Vec::new()),
            ("Reply-To", &self.reply_to, Vec::new()),
        ];
        for (field, inputs, out) in lists.iter_mut() {
            for input in inputs.iter() {
                for (text, parsed) in parse_mailbox_list(input) {
                    out.extend(check(field, &text, parsed));
                }
            }
        }
        if !invalid.is_empty() {
            let listed: Vec<String> = invalid
                .iter()
                .map(|i| format!("{} {:?}: {}", i.field, i.input, i.reason))
                .collect();
            return Err(Error::new(
                Kind::InvalidAddress,
                format!(
                    "wp_mail: {} invalid address{}: {}",
                    invalid.len(),
                    if invalid.len() == 1 { "" } else { "es" },
                    listed.join("; ")
                ),
            )
            .with_invalid_addresses(invalid));
        }
        let [(_, _, to), (_, _, cc), (_, _, bcc), (_, _, reply_to)] = lists;
        if to.is_empty() && cc.is_empty() && bcc.is_empty() {
            return Err(Error::invalid_input(
                "wp_mail: no recipient (to, Cc or Bcc) was given",
            ));
        }
        message.from = from;
        message.to = to;
        message.cc = cc;
        message.bcc = bcc;
        message.reply_to = reply_to;
        message.set_subject(&self.subject)?;
        message.set_charset(Charset::parse(&self.charset)?)?;

        let media = self.content_type.trim().to_ascii_lowercase();
        match (&self.boundary, media.as_str()) {
            (Some(boundary), m) if m.starts_with("multipart/") => {
                let content_type = format!("{media}; boundary=\"{boundary}\"");
                message.set_mime_body(&content_type, self.message.as_bytes())?;
            }
            (_, "text/html") => {
                message.set_html(&self.message)?;
            }
            (_, m) if m.starts_with("text/") => {
                message.set_text_as(m, &self.message)?;
            }
            _ => {
                return Err(Error::invalid_input(format!(
                    "wp_mail: Content-Type {:?} is not a text type (or multipart with a boundary)",
                    self.content_type
                )));
            }
        }

        for (name, value) in &self.headers {
            pass_through(&mut message, name, value)?;
        }
        for (name, path) in &self.attachments {
            let name = name.as_deref().filter(|n| !n.trim().is_empty());
            message.attach_file(path, name, None)?;
        }
        for (cid, path) in &self.embeds {
            message.embed_file(cid, path, None)?;
        }
        Ok(message)
    }
}

/// A header WordPress would hand to PHPMailer's addCustomHeader. Ones that mailport writes
/// from the message's fields are applied to those fields instead of being duplicated.
fn pass_through(message: &mut Message, name: &str, value: &str) -> Result<()> {
    match name.to_ascii_lowercase().as_str() {
        "to" => {
            message.add_to(value)?;
        }
        "sender" => {
            message.set_sender(value)?;
        }
        "return-path" => {
            message
                .set_envelope_from(value.trim().trim_start_matches('<').trim_end_matches('>'))?;
        }
        "message-id" => {
            message.set_message_id(value)?;
        }
        "subject" if message.subject().is_none_or(str::is_empty) => {
            message.set_subject(value)?;
        }
        // The Date is the time of sending and the transfer encoding is chosen from the content.
        "subject" | "date" | "content-transfer-encoding" | "content-disposition" => {}
        _ => {
            message.add_header(name, value)?;
        }
    }
    Ok(())
}

/// `wp_mail()` in one call: parse with WordPress's rules, then build.
pub fn wp_mail(mail: &WpMail, defaults: &WpDefaults) -> Result<Message> {
    mail.parse(defaults)?.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> WpDefaults {
        WpDefaults {
            site_domain: "www.example.org".into(),
            ..WpDefaults::default()
        }
    }

    fn call(to: &[&str], headers: &str) -> WpMail {
        let mut mail = WpMail {
            to: to.iter().map(|s| s.to_string()).collect(),
            subject: "Hello".into(),
            message: "Body".into(),
            ..WpMail::default()
        };
        mail.add_headers(headers);
        mail
    }

    fn addresses(list: &[Mailbox]) -> Vec<String> {
        list.iter().map(|m| m.to_string()).collect()
    }

    /// What a plugin writes, and the envelope and headers WordPress semantics give.
    struct Case {
        what: &'static str,
        to: &'static [&'static str],
        headers: &'static str,
        from: &'static str,
        to_out: &'static [&'static str],
        cc: &'static [&'static str],
        bcc: &'static [&'static str],
        reply_to: &'static [&'static str],
        html: bool,
        custom: &'static [(&'static str, &'static str)],
    }

    const CASES: &[Case] = &[
        Case {
            what: "no headers: WordPress's default sender without www.",
            to: &["admin@example.org"],
            headers: "",
            from: "WordPress <wordpress@example.org>",
            to_out: &["admin@example.org"],
            cc: &[],
            bcc: &[],
            reply_to: &[],
            html: false,
            custom: &[],
        },
        Case {
            what: "a comma-separated to string, display names included",
            to: &["a@example.com, Bob <b@example.com>,c@example.com"],
            headers: "",
            from: "WordPress <wordpress@example.org>",
            to_out: &["a@example.com", "Bob <b@example.com>", "c@example.com"],
            cc: &[],
            bcc: &[],
            reply_to: &[],
            html: false,
            custom: &[],
        },
        Case {
            what: "a quoted display name with a comma stays one recipient (WordPress splits it)",
            to: &["\"Doe, John\" <john@example.com>"],
            headers: "Cc: \"Roe, Jane\" <jane@example.com>, x@example.com",
            from: "WordPress <wordpress@example.org>",
            to_out: &["\"Doe, John\" <john@example.com>"],
            cc: &["\"Roe, Jane\" <jane@example.com>", "x@example.com"],
            bcc: &[],
            reply_to: &[],
            html: false,
            custom: &[],
        },
        Case {
            what: "From with a name, lower-case header names, CRLF separators",
            to: &["a@example.com"],
            headers: "from: Shop Team <shop@example.com>\r\ncc: c@example.com\r\nbcc: b1@example.com, b2@example.com\r\nreply-to: help@example.com",
            from: "Shop Team <shop@example.com>",
            to_out: &["a@example.com"],
            cc: &["c@example.com"],
            bcc: &["b1@example.com", "b2@example.com"],
            reply_to: &["help@example.com"],
            html: false,
            custom: &[],
        },
        Case {
            what: "a bare From address keeps the default name; repeated Cc headers add up",
            to: &["a@example.com"],
            headers: "From: shop@example.com\nCc: c1@example.com\nCc: c2@example.com",
            from: "WordPress <shop@example.com>",
            to_out: &["a@example.com"],
            cc: &["c1@example.com", "c2@example.com"],
            bcc: &[],
            reply_to: &[],
            html: false,
            custom: &[],
        },
        Case {
            what: "From with a quoted name",
            to: &["a@example.com"],
            headers: "From: \"My Blog\" <blog@example.com>",
            from: "My Blog <blog@example.com>",
            to_out: &["a@example.com"],
            cc: &[],
            bcc: &[],
            reply_to: &[],
            html: false,
            custom: &[],
        },
        Case {
            what: "text/html makes an HTML body; MIME-Version and X-Mailer dropped; last of a name wins",
            to: &["a@example.com"],
            headers: "Content-Type: text/html; charset=UTF-8\nMIME-Version: 1.0\nX-Mailer: PHPMailer\nX-Tag: one\nX-Other: o\nx-tag: two",
            from: "WordPress <wordpress@example.org>",
            to_out: &["a@example.com"],
            cc: &[],
            bcc: &[],
            reply_to: &[],
            html: true,
            custom: &[("X-Tag", "two"), ("X-Other", "o")],
        },
        Case {
            what: "lines without a colon are ignored; values are trimmed",
            to: &["  a@example.com  "],
            headers: "garbage line\n  X-Priority :  1  \n",
            from: "WordPress <wordpress@example.org>",
            to_out: &["a@example.com"],
            cc: &[],
            bcc: &[],
            reply_to: &[],
            html: false,
            custom: &[("X-Priority", "1")],
        },
        Case {
            what: "a to list given as an array of strings",
            to: &["a@example.com", "B <b@example.com>"],
            headers: "Reply-To: r1@example.com, R Two <r2@example.com>",
            from: "WordPress <wordpress@example.org>",
            to_out: &["a@example.com", "B <b@example.com>"],
            cc: &[],
            bcc: &[],
            reply_to: &["r1@example.com", "R Two <r2@example.com>"],
            html: false,
            custom: &[],
        },
    ];

    #[test]
    fn wordpress_header_table() {
        for case in CASES {
            let message = wp_mail(&call(case.to, case.headers), &site())
                .unwrap_or_else(|e| panic!("{}: {}", case.what, e.message()));
            let what = case.what;
            assert_eq!(message.from().unwrap().to_string(), case.from, "{what}");
            assert_eq!(addresses(message.to()), case.to_out, "{what}");
            assert_eq!(addresses(message.cc()), case.cc, "{what}");
            assert_eq!(addresses(message.bcc()), case.bcc, "{what}");
            assert_eq!(addresses(message.reply_to()), case.reply_to, "{what}");
            assert_eq!(message.html.is_some(), case.html, "{what}");
            assert_eq!(message.text.is_some(), !case.html, "{what}");
            let custom: Vec<(&str, &str)> = message
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            assert_eq!(custom, case.custom, "{what}");
            assert_eq!(message.subject(), Some("Hello"), "{what}");
            // The envelope: From's address, every recipient once, Bcc included.
            let prepared = message.prepare(false).unwrap();
            let from_address = message.from().unwrap().address();
            assert_eq!(prepared.envelope_from, from_address, "{what}");
            let expected: Vec<String> = message
                .to()
                .iter()
                .chain(message.cc())
                .chain(message.bcc())
                .map(|m| m.address())
                .collect();
            assert_eq!(prepared.recipients, expected, "{what}");
        }
    }

    #[test]
    fn the_array_form_of_headers_is_the_same_as_the_string_form() {
        let mut as_list = call(&["a@example.com"], "");
        as_list.add_header("From: Shop <shop@example.com>").unwrap();
        // Plugins often end array elements with CRLF; core trims it.
        as_list.add_header("Cc: c@example.com\r\n").unwrap();
        let as_string = call(
            &["a@example.com"],
            "From: Shop <shop@example.com>\nCc: c@example.com",
        );
        let a = wp_mail(&as_list, &site()).unwrap();
        let b = wp_mail(&as_string, &site()).unwrap();
        assert_eq!(a.from(), b.from());
        assert_eq!(a.cc(), b.cc());
    }

    /// Issue 12.1: a contact form that puts a visitor's name into one array element must not
    /// let the visitor add headers or recipients.
    #[test]
    fn an_array_element_with_a_line_break_is_refused_not_split() {
        let name =
            "Visitor <v@x.example>\nBcc: victim1@evil.example, victim2@evil.example\nX-Note: ";
        for element in [
            format!("Reply-To: {name} <visitor@example.com>"),
            format!(
                "Reply-To: {} <visitor@example.com>",
                name.replace('\n', "\r\n")
            ),
            format!(
                "Reply-To: {} <visitor@example.com>",
                name.replace('\n', "\r")
            ),
            "X-Form: a\nBcc: victim@evil.example".to_string(),
            "Subject\nBcc: victim@evil.example".to_string(),
        ] {
            let mut mail = call(&["owner@example.com"], "From: Site <site@example.com>");
            let err = mail.add_header(&element).unwrap_err();
            assert_eq!(err.kind(), Kind::InvalidInput, "{element:?}");
            assert!(err.message().contains("line break"), "{}", err.message());
            assert!(!err.message().contains("evil"), "{}", err.message());
            let message = wp_mail(&mail, &site()).unwrap();
            let prepared = message.prepare(false).unwrap();
            assert_eq!(prepared.recipients, ["owner@example.com"], "{element:?}");
        }
        let mut mail = call(&["owner@example.com"], "");
        let err = mail
            .add_header(&format!("Reply-To: {name} <visitor@example.com>"))
            .unwrap_err();
        assert!(err.message().contains("\"Reply-To\""), "{}", err.message());
        // The same element put straight into the list is refused when the call is parsed.
        mail.headers
            .push(format!("Reply-To: {name} <visitor@example.com>"));
        let err = wp_mail(&mail, &site()).unwrap_err();
        assert!(err.message().contains("\"Reply-To\""), "{}", err.message());
    }

    #[test]
    fn the_string_form_still_splits_lines_as_core_does() {
        let mail = call(
            &["owner@example.com"],
            "Reply-To: v@x.example\nBcc: hidden@example.com",
        );
        let message = wp_mail(&mail, &site()).unwrap();
        assert_eq!(addresses(message.bcc()), ["hidden@example.com"]);
    }

    #[test]
    fn invalid_addresses_are_each_reported_with_their_field() {
        let mail = call(
            &["good@example.com, not-an-address"],
            "Cc: also@bad@example.com\nBcc: fine@example.com\nReply-To: <unclosed@example.com",
        );
        let err = wp_mail(&mail, &site()).unwrap_err();
        assert_eq!(err.kind(), Kind::InvalidAddress);
        let fields: Vec<(&str, &str)> = err
            .invalid_addresses()
            .iter()
            .map(|i| (i.field.as_str(), i.input.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("To", "not-an-address"),
                ("Cc", "also@bad@example.com"),
                ("Reply-To", "<unclosed@example.com"),
            ]
        );
        assert!(
            err.message().contains("3 invalid addresses"),
            "{}",
            err.message()
        );
        assert!(err.invalid_addresses().iter().all(|i| !i.reason.is_empty()));
    }

    #[test]
    fn an_invalid_from_header_is_reported_not_replaced_by_the_default() {
        let err = wp_mail(&call(&["a@example.com"], "From: Shop <shop@>"), &site()).unwrap_err();
        assert_eq!(err.invalid_addresses()[0].field, "From");
    }

    #[test]
    fn no_recipient_is_an_error() {
        let err = wp_mail(&call(&[], ""), &site()).unwrap_err();
        assert!(err.message().contains("no recipient"), "{}", err.message());
    }

    #[test]
    fn content_type_charset_and_boundary() {
        let parsed = call(
            &["a@example.com"],
            "Content-Type: text/plain; charset=\"ISO-8859-1\"",
        )
        .parse(&site())
        .unwrap();
        assert_eq!(parsed.content_type, "text/plain");
        assert_eq!(parsed.charset, "ISO-8859-1");
        assert_eq!(parsed.build().unwrap().charset, Charset::Latin1);

        let mut multipart = call(
            &["a@example.com"],
            "Content-Type: multipart/alternative;\n\tboundary=\"b-42\"",
        );
        multipart.message =
            "--b-42\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b-42--\r\n".into();
        let parsed = multipart.parse(&site()).unwrap();
        assert_eq!(parsed.content_type, "multipart/alternative");
        assert_eq!(parsed.boundary.as_deref(), Some("b-42"));
        let message = parsed.build().unwrap();
        let mime = message.mime_body.as_ref().unwrap();
        assert_eq!(
            mime.content_type,
            "multipart/alternative; boundary=\"b-42\""
        );

        let err = call(
            &["a@example.com"],
            "Content-Type: text/plain; charset=KOI8-R",
        )
        .parse(&site())
        .unwrap()
        .build()
        .unwrap_err();
        assert!(err.message().contains("KOI8-R"), "{}", err.message());
    }

    #[test]
    fn filters_see_and_change_the_parsed_values() {
        let mut parsed = call(&["a@example.com"], "").parse(&site()).unwrap();
        assert_eq!(parsed.from_email, "wordpress@example.org");
        assert_eq!(parsed.from_name, "WordPress");
        assert_eq!(parsed.content_type, "text/plain");
        assert_eq!(parsed.charset, "UTF-8");
        // What wp_mail_from / wp_mail_from_name / wp_mail_content_type filters would do.
        parsed.from_email = "noreply@example.net".into();
        parsed.from_name = "Site, Inc.".into();
        parsed.content_type = "text/html".into();
        let message = parsed.build().unwrap();
        assert_eq!(
            message.from().unwrap().to_string(),
            "\"Site, Inc.\" <noreply@example.net>"
        );
        assert!(message.html.is_some());
    }

    #[test]
    fn headers_mailport_writes_itself_are_applied_not_duplicated() {
        let mail = call(
            &["a@example.com"],
            "Message-ID: <abc@example.com>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nReturn-Path: <bounce@example.com>\nSender: robot@example.com\nContent-Transfer-Encoding: 8bit",
        );
        let message = wp_mail(&mail, &site()).unwrap();
        assert_eq!(message.message_id.as_deref(), Some("<abc@example.com>"));
        assert!(message.headers().is_empty(), "{:?}", message.headers());
        assert_eq!(
            message.sender.as_ref().unwrap().address(),
            "robot@example.com"
        );
        assert_eq!(
            message.prepare(false).unwrap().envelope_from,
            "bounce@example.com"
        );
    }

    #[test]
    fn attachments_and_embeds() {
        let dir = std::env::temp_dir().join(format!("mailport-wp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("report.pdf");
        std::fs::write(&file, b"%PDF").unwrap();
        let mut mail = call(&["a@example.com"], "");
        mail.attachments = vec![
            (None, file.clone()),
            (Some("Renamed.pdf".into()), file.clone()),
        ];
        mail.embeds = vec![("logo".into(), file.clone())];
        let message = wp_mail(&mail, &site()).unwrap();
        let names: Vec<&str> = message
            .attachments
            .iter()
            .map(|a| a.filename.as_str())
            .collect();
        assert_eq!(names, ["report.pdf", "Renamed.pdf", "report.pdf"]);
        assert_eq!(message.attachments[2].content_id.as_deref(), Some("logo"));

        mail.attachments = vec![(None, dir.join("missing.pdf"))];
        let err = wp_mail(&mail, &site()).unwrap_err();
        assert_eq!(err.kind(), Kind::Attachment);
        assert!(err.message().contains("missing.pdf"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
