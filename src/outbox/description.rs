//! The message description: what the builder takes, as JSON, for a process without the library
//! to enqueue by writing a file or a row (docs/outbox.md, "The message description"). Two forms:
//! the builder's fields (`from`, `to`, `subject`, `text`, …), or a `wp_mail()` call as
//! WordPress had it after its filters (`wp_mail`), rendered with the same rules as a direct
//! `wp_mail()` through the library, so that a queued mail and a sent one are the same message.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::{Message, WpDefaults, WpMail};

/// A message described by what the builder takes. Every address field accepts what
/// [`Message::add_to`] accepts (one mailbox or a comma-separated list). Either `from` (with the
/// other builder fields) or `wp_mail` is given, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Extra headers, `[name, value]`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<DescribedFile>,
    /// A `wp_mail()` call instead of the fields above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wp_mail: Option<WpMailCall>,
    /// The Message-ID with its angle brackets; one is generated at the first attempt if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Unix seconds for the Date header; the enqueue time if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
}

/// A file of a description: an attachment, or an inline part when `content_id` is set. The
/// path must stay readable until the entry is sent (the library copies files into its own
/// store; another writer must do likewise).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescribedFile {
    pub path: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
}

/// A `wp_mail()` call, as the WordPress plugin writes it when a web request cannot use the
/// library: the arguments after the `wp_mail` filter, what the site supplies as defaults, and
/// what WordPress's `wp_mail_from`, `wp_mail_from_name`, `wp_mail_content_type` and
/// `wp_mail_charset` filters returned where it differs from the call (the filters run in the
/// request that sent the mail, where plugins set them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WpMailCall {
    /// `$to`: each element one address or a comma-separated list.
    pub to: Vec<String>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub message: String,
    /// `$headers` in either of WordPress's forms.
    #[serde(default, skip_serializing_if = "WpHeaders::is_empty")]
    pub headers: WpHeaders,
    /// `$attachments`, copied where they stay until sent; `name` is the array key WordPress 6.x
    /// takes as the file's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<DescribedFile>,
    /// `$embeds` (WordPress 6.9): inline files, each with its `content_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<DescribedFile>,
    /// The site's host name: the default sender is `wordpress@` it (without `www.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_domain: Option<String>,
    /// The default sender, when the site sets one (the plugin's From setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_from_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_from_name: Option<String>,
    /// The blog's charset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_charset: Option<String>,
    /// What the filters returned, where it differs from the parsed call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
}

/// WordPress's `$headers`: a string of lines, or an array of one header per element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WpHeaders {
    Text(String),
    List(Vec<String>),
}

impl Default for WpHeaders {
    fn default() -> WpHeaders {
        WpHeaders::List(Vec::new())
    }
}

impl WpHeaders {
    fn is_empty(&self) -> bool {
        match self {
            WpHeaders::Text(text) => text.is_empty(),
            WpHeaders::List(list) => list.is_empty(),
        }
    }
}

impl Description {
    /// Its subject, for logs and screens.
    pub fn subject_line(&self) -> Option<String> {
        match &self.wp_mail {
            Some(call) => Some(call.subject.clone()),
            None => self.subject.clone(),
        }
    }

    /// The message it describes, with its Date fixed at `created` unless it names one.
    pub fn build(&self, created: i64) -> Result<Message> {
        let mut m = match &self.wp_mail {
            Some(call) => {
                self.check_only_wp_mail()?;
                call.build()?
            }
            None => self.build_fields()?,
        };
        if let Some(envelope_from) = &self.envelope_from {
            m.set_envelope_from(envelope_from)?;
        }
        if let Some(id) = &self.message_id {
            m.set_message_id(id)?;
        }
        let date = self.date.unwrap_or(created);
        let date = u64::try_from(date)
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap_or(UNIX_EPOCH);
        m.set_date(date);
        Ok(m)
    }

    fn check_only_wp_mail(&self) -> Result<()> {
        let fields = [
            ("from", !self.from.is_empty()),
            ("to", !self.to.is_empty()),
            ("cc", !self.cc.is_empty()),
            ("bcc", !self.bcc.is_empty()),
            ("reply_to", !self.reply_to.is_empty()),
            ("subject", self.subject.is_some()),
            ("text", self.text.is_some()),
            ("html", self.html.is_some()),
            ("headers", !self.headers.is_empty()),
            ("attachments", !self.attachments.is_empty()),
        ];
        let both: Vec<&str> = fields
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
        if both.is_empty() {
            return Ok(());
        }
        Err(Error::invalid_input(format!(
            "the message description has both wp_mail and {}: a wp_mail() call carries its \
             own addresses, subject, body, headers and attachments",
            both.join(", ")
        )))
    }

    fn build_fields(&self) -> Result<Message> {
        if self.from.is_empty() {
            return Err(Error::invalid_input(
                "the message description has no sender: give from (or a wp_mail call)",
            ));
        }
        let mut m = Message::new();
        m.set_from(&self.from)?;
        for (list, add) in [
            (
                &self.to,
                Message::add_to as for<'a> fn(&'a mut Message, &str) -> Result<&'a mut Message>,
            ),
            (&self.cc, Message::add_cc),
            (&self.bcc, Message::add_bcc),
            (&self.reply_to, Message::add_reply_to),
        ] {
            for entry in list {
                add(&mut m, entry)?;
            }
        }
        if let Some(subject) = &self.subject {
            m.set_subject(subject)?;
        }
        if let Some(text) = &self.text {
            m.set_text(text)?;
        }
        if let Some(html) = &self.html {
            m.set_html(html)?;
        }
        for (name, value) in &self.headers {
            m.add_header(name, value)?;
        }
        for file in &self.attachments {
            let media_type = file.content_type.as_deref();
            match &file.content_id {
                Some(cid) => m.embed_file(cid, &file.path, media_type)?,
                None => m.attach_file(&file.path, file.name.as_deref(), media_type)?,
            };
        }
        Ok(m)
    }
}

impl WpMailCall {
    /// Build as a direct `wp_mail()` through the library does: WordPress's header rules and
    /// defaults, then what the filters returned.
    pub fn build(&self) -> Result<Message> {
        let mut call = WpMail {
            to: self.to.clone(),
            subject: self.subject.clone(),
            message: self.message.clone(),
            ..WpMail::default()
        };
        match &self.headers {
            WpHeaders::Text(text) => call.add_headers(text),
            WpHeaders::List(list) => {
                for header in list {
                    call.add_header(header)?;
                }
            }
        }
        for file in &self.attachments {
            if file.content_id.is_some() || file.content_type.is_some() {
                return Err(Error::invalid_input(format!(
                    "wp_mail attachment {}: WordPress's attachments have a path and a name only \
                     (inline files are embeds)",
                    file.path.display()
                )));
            }
            call.attachments
                .push((file.name.clone(), file.path.clone()));
        }
        for file in &self.embeds {
            let Some(cid) = &file.content_id else {
                return Err(Error::invalid_input(format!(
                    "wp_mail embed {}: it has no content_id (the HTML refers to it as cid:…)",
                    file.path.display()
                )));
            };
            call.embeds.push((cid.clone(), file.path.clone()));
        }
        let mut defaults = WpDefaults {
            from_email: self.default_from_email.clone(),
            ..WpDefaults::default()
        };
        if let Some(domain) = &self.site_domain {
            defaults.site_domain = domain.clone();
        }
        if let Some(name) = &self.default_from_name {
            defaults.from_name = name.clone();
        }
        if let Some(charset) = &self.default_charset {
            defaults.charset = charset.clone();
        }
        let mut parsed = call.parse(&defaults)?;
        for (filtered, field) in [
            (&self.from_email, &mut parsed.from_email),
            (&self.from_name, &mut parsed.from_name),
            (&self.content_type, &mut parsed.content_type),
            (&self.charset, &mut parsed.charset),
        ] {
            if let Some(value) = filtered {
                field.clone_from(value);
            }
        }
        parsed.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::wp_mail;

    fn call(headers: WpHeaders) -> WpMailCall {
        WpMailCall {
            to: vec!["ann@example.org, bob@example.org".into()],
            subject: "Your order".into(),
            message: "Thank you.\n".into(),
            headers,
            site_domain: Some("www.shop.example".into()),
            ..WpMailCall::default()
        }
    }

    fn described(call: WpMailCall) -> Description {
        Description {
            wp_mail: Some(call),
            message_id: Some("<fixed@shop.example>".into()),
            ..Description::default()
        }
    }

    /// What the plugin's direct send builds for the same call.
    fn direct(headers: &str) -> Vec<u8> {
        let mut mail = WpMail {
            to: vec!["ann@example.org, bob@example.org".into()],
            subject: "Your order".into(),
            message: "Thank you.\n".into(),
            ..WpMail::default()
        };
        mail.add_headers(headers);
        let defaults = WpDefaults {
            site_domain: "www.shop.example".into(),
            ..WpDefaults::default()
        };
        let mut m = wp_mail(&mail, &defaults).unwrap();
        m.set_message_id("<fixed@shop.example>").unwrap();
        m.set_date(UNIX_EPOCH + Duration::from_secs(1_764_979_200));
        m.to_bytes().unwrap()
    }

    #[test]
    fn a_wp_mail_call_builds_what_a_direct_wp_mail_builds() {
        let headers = "From: Shop <orders@shop.example>\r\nCc: carl@example.org\nContent-Type: text/plain; charset=ISO-8859-1";
        for form in [
            WpHeaders::Text(headers.into()),
            WpHeaders::List(
                headers
                    .replace("\r\n", "\n")
                    .split('\n')
                    .map(str::to_string)
                    .collect(),
            ),
        ] {
            let built = described(call(form)).build(1_764_979_200).unwrap();
            assert_eq!(
                String::from_utf8(built.to_bytes().unwrap()).unwrap(),
                String::from_utf8(direct(headers)).unwrap()
            );
        }
        let bytes = direct("");
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("From: WordPress <wordpress@shop.example>"),
            "{text}"
        );
    }

    #[test]
    fn what_the_filters_returned_wins_over_the_call() {
        let mut filtered = call(WpHeaders::Text("From: Shop <orders@shop.example>".into()));
        filtered.from_email = Some("noreply@shop.example".into());
        filtered.from_name = Some("The Shop".into());
        filtered.content_type = Some("text/html".into());
        let text =
            String::from_utf8(described(filtered).build(0).unwrap().to_bytes().unwrap()).unwrap();
        assert!(
            text.contains("From: The Shop <noreply@shop.example>"),
            "{text}"
        );
        assert!(text.contains("Content-Type: text/html"), "{text}");
    }

    #[test]
    fn a_header_element_with_a_line_break_is_refused_as_in_a_direct_send() {
        let bad = call(WpHeaders::List(vec![
            "Reply-To: x@example.org\r\nBcc: victim@example.net".into(),
        ]));
        let e = described(bad).build(0).unwrap_err().message();
        assert!(e.contains("Reply-To"), "{e}");
    }

    #[test]
    fn the_json_forms_read_back_and_mixing_the_two_forms_is_refused() {
        let json = r#"{"wp_mail":{"to":["ann@example.org"],"subject":"Hi","message":"Hello",
            "headers":"Cc: bob@example.org","attachments":[{"path":"/tmp/a.pdf","name":"A.pdf"}],
            "site_domain":"shop.example"}}"#;
        let d: Description = serde_json::from_str(json).unwrap();
        let call = d.wp_mail.as_ref().unwrap();
        assert_eq!(call.headers, WpHeaders::Text("Cc: bob@example.org".into()));
        assert_eq!(call.attachments[0].name.as_deref(), Some("A.pdf"));
        let again: Description = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(again, d);
        let list: Description = serde_json::from_str(
            r#"{"wp_mail":{"to":["a@example.org"],"headers":["Cc: b@example.org"]}}"#,
        )
        .unwrap();
        assert_eq!(
            list.wp_mail.unwrap().headers,
            WpHeaders::List(vec!["Cc: b@example.org".into()])
        );

        let mixed = Description {
            from: "shop@example.com".into(),
            subject: Some("x".into()),
            wp_mail: Some(WpMailCall {
                to: vec!["ann@example.org".into()],
                ..WpMailCall::default()
            }),
            ..Description::default()
        };
        let e = mixed.build(0).unwrap_err().message();
        assert!(e.contains("both wp_mail and from, subject"), "{e}");
        let e = Description::default().build(0).unwrap_err().message();
        assert!(e.contains("no sender"), "{e}");
        assert!(serde_json::from_str::<Description>(r#"{"wp_mail":{"to":[],"bogus":1}}"#).is_err());
    }

    #[test]
    fn an_embed_needs_its_content_id_and_an_attachment_takes_none() {
        let mut c = call(WpHeaders::default());
        c.embeds = vec![DescribedFile {
            path: "/tmp/logo.png".into(),
            ..DescribedFile::default()
        }];
        let e = described(c).build(0).unwrap_err().message();
        assert!(e.contains("content_id"), "{e}");
        let mut c = call(WpHeaders::default());
        c.attachments = vec![DescribedFile {
            path: "/tmp/a.pdf".into(),
            content_id: Some("a".into()),
            ..DescribedFile::default()
        }];
        let e = described(c).build(0).unwrap_err().message();
        assert!(e.contains("embeds"), "{e}");
    }
}
