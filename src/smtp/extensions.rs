//! Server capabilities from the EHLO reply (RFC 5321 §4.1.1.1).
//!
//! Recognised extensions: SIZE (RFC 1870), PIPELINING (RFC 2920), 8BITMIME (RFC 6152),
//! SMTPUTF8 (RFC 6531), ENHANCEDSTATUSCODES (RFC 2034), CHUNKING (RFC 3030), DSN (RFC 3461),
//! AUTH (RFC 4954) and STARTTLS (RFC 3207). Anything else is kept verbatim for reports.
//!
//! Capabilities are only as trustworthy as the channel they came over: the session discards
//! those learnt before STARTTLS (RFC 3207 §4.2), because an attacker in the path could have
//! added or removed any of them.

use crate::smtp::auth::Mechanism;
use crate::smtp::reply::Reply;

/// What the server said it supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The first word of the EHLO/HELO reply: the name the server gives itself.
    pub server_name: String,
    /// SIZE: `Some(0)` when supported without a fixed limit, `Some(n)` for a limit of n bytes.
    pub size: Option<u64>,
    pub pipelining: bool,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub starttls: bool,
    pub enhanced_status_codes: bool,
    pub chunking: bool,
    pub dsn: bool,
    /// The AUTH mechanisms this client knows, in the server's order, without duplicates.
    pub auth: Vec<Mechanism>,
    /// The other AUTH mechanisms offered (CRAM-MD5, GSSAPI, …), upper-cased, without duplicates.
    pub auth_other: Vec<String>,
    /// Unrecognised capability lines, verbatim.
    pub other: Vec<String>,
}

impl Extensions {
    /// Read the capabilities from a 250 reply to EHLO.
    ///
    /// The first line carries the server name; each following line is a keyword
    /// (case-insensitive) and its parameters. The pre-RFC `AUTH=PLAIN LOGIN` form, still sent
    /// by some servers next to the standard one, is understood too.
    pub fn from_ehlo(reply: &Reply) -> Extensions {
        let mut ext = Extensions {
            server_name: server_name(reply),
            ..Extensions::default()
        };
        for line in reply.lines().iter().skip(1) {
            ext.add_line(line);
        }
        ext
    }

    /// The (absent) capabilities of a server that only answered HELO.
    pub fn from_helo(reply: &Reply) -> Extensions {
        Extensions {
            server_name: server_name(reply),
            ..Extensions::default()
        }
    }

    fn add_line(&mut self, line: &str) {
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else {
            return;
        };
        // "AUTH=PLAIN LOGIN": the first parameter is glued to the keyword by '='.
        let (keyword, glued) = match first.split_once('=') {
            Some((keyword, param)) => (keyword, Some(param).filter(|p| !p.is_empty())),
            None => (first, None),
        };
        let params: Vec<&str> = glued.into_iter().chain(words).collect();
        match keyword.to_ascii_uppercase().as_str() {
            // RFC 1870 §4: the parameter is optional; absent or 0 means no fixed limit. A value
            // that is not a number still announces the extension, so treat it the same way.
            "SIZE" => {
                let limit = params.first().and_then(|p| p.parse().ok()).unwrap_or(0);
                self.size = Some(limit);
            }
            "PIPELINING" => self.pipelining = true,
            "8BITMIME" => self.eight_bit_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "STARTTLS" => self.starttls = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            "CHUNKING" => self.chunking = true,
            "DSN" => self.dsn = true,
            "AUTH" => {
                for name in params {
                    self.add_mechanism(name);
                }
            }
            _ => self.other.push(line.trim().to_string()),
        }
    }

    fn add_mechanism(&mut self, name: &str) {
        match Mechanism::parse(name) {
            Some(m) if !self.auth.contains(&m) => self.auth.push(m),
            Some(_) => {}
            None => {
                let name = name.to_ascii_uppercase();
                if !self.auth_other.contains(&name) {
                    self.auth_other.push(name);
                }
            }
        }
    }

    /// The SIZE limit in bytes, when the server declares a positive one.
    pub fn max_size(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0)
    }

    /// The supported capability keywords, for logs and reports:
    /// `["SIZE=35882577", "PIPELINING", "AUTH=PLAIN,LOGIN", …]`.
    ///
    /// Recognised capabilities come first in a fixed order, then the keywords of unrecognised
    /// ones in the server's order.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        match self.size {
            Some(0) => names.push("SIZE".to_string()),
            Some(n) => names.push(format!("SIZE={n}")),
            None => {}
        }
        let flags = [
            (self.pipelining, "PIPELINING"),
            (self.eight_bit_mime, "8BITMIME"),
            (self.smtputf8, "SMTPUTF8"),
            (self.starttls, "STARTTLS"),
            (self.enhanced_status_codes, "ENHANCEDSTATUSCODES"),
            (self.chunking, "CHUNKING"),
            (self.dsn, "DSN"),
        ];
        names.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, name)| name.to_string()),
        );
        if !self.auth.is_empty() || !self.auth_other.is_empty() {
            let mechanisms: Vec<&str> = self
                .auth
                .iter()
                .map(|m| m.as_str())
                .chain(self.auth_other.iter().map(String::as_str))
                .collect();
            names.push(format!("AUTH={}", mechanisms.join(",")));
        }
        names.extend(
            self.other
                .iter()
                .filter_map(|line| line.split_ascii_whitespace().next())
                .map(str::to_string),
        );
        names
    }
}

fn server_name(reply: &Reply) -> String {
    reply
        .lines()
        .first()
        .and_then(|line| line.split_ascii_whitespace().next())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::parse_reply;

    fn ehlo(wire: &str) -> Extensions {
        let (reply, used) = parse_reply(wire.as_bytes()).unwrap().unwrap();
        assert_eq!(used, wire.len(), "one whole reply");
        Extensions::from_ehlo(&reply)
    }

    #[test]
    fn postfix() {
        let ext = ehlo(
            "250-mail.example.org\r\n\
             250-PIPELINING\r\n\
             250-SIZE 10240000\r\n\
             250-VRFY\r\n\
             250-ETRN\r\n\
             250-STARTTLS\r\n\
             250-AUTH PLAIN LOGIN\r\n\
             250-AUTH=PLAIN LOGIN\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-8BITMIME\r\n\
             250-DSN\r\n\
             250-SMTPUTF8\r\n\
             250 CHUNKING\r\n",
        );
        assert_eq!(
            ext,
            Extensions {
                server_name: "mail.example.org".into(),
                size: Some(10240000),
                pipelining: true,
                eight_bit_mime: true,
                smtputf8: true,
                starttls: true,
                enhanced_status_codes: true,
                chunking: true,
                dsn: true,
                auth: vec![Mechanism::Plain, Mechanism::Login],
                auth_other: vec![],
                other: vec!["VRFY".into(), "ETRN".into()],
            }
        );
        assert_eq!(ext.max_size(), Some(10240000));
        assert_eq!(
            ext.names(),
            [
                "SIZE=10240000",
                "PIPELINING",
                "8BITMIME",
                "SMTPUTF8",
                "STARTTLS",
                "ENHANCEDSTATUSCODES",
                "CHUNKING",
                "DSN",
                "AUTH=PLAIN,LOGIN",
                "VRFY",
                "ETRN"
            ]
        );
    }

    #[test]
    fn gmail_before_and_after_starttls() {
        let before = ehlo(
            "250-smtp.gmail.com at your service, [203.0.113.7]\r\n\
             250-SIZE 35882577\r\n\
             250-8BITMIME\r\n\
             250-STARTTLS\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-PIPELINING\r\n\
             250-CHUNKING\r\n\
             250 SMTPUTF8\r\n",
        );
        assert_eq!(before.server_name, "smtp.gmail.com");
        assert!(before.starttls && before.auth.is_empty());
        assert_eq!(before.max_size(), Some(35882577));

        let after = ehlo(
            "250-smtp.gmail.com at your service, [203.0.113.7]\r\n\
             250-SIZE 35882577\r\n\
             250-8BITMIME\r\n\
             250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-PIPELINING\r\n\
             250-CHUNKING\r\n\
             250 SMTPUTF8\r\n",
        );
        assert!(!after.starttls);
        assert_eq!(
            after.auth,
            [
                Mechanism::Login,
                Mechanism::Plain,
                Mechanism::XOAuth2,
                Mechanism::OAuthBearer
            ]
        );
        assert_eq!(after.auth_other, ["PLAIN-CLIENTTOKEN", "XOAUTH"]);
        assert!(after.other.is_empty());
        assert!(
            after
                .names()
                .contains(&"AUTH=LOGIN,PLAIN,XOAUTH2,OAUTHBEARER,PLAIN-CLIENTTOKEN,XOAUTH".into())
        );
    }

    #[test]
    fn exchange_office365() {
        let ext = ehlo(
            "250-AM0PR01CA0123.outlook.office365.com Hello [203.0.113.7]\r\n\
             250-SIZE 157286400\r\n\
             250-PIPELINING\r\n\
             250-DSN\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-AUTH LOGIN XOAUTH2\r\n\
             250-8BITMIME\r\n\
             250-BINARYMIME\r\n\
             250-CHUNKING\r\n\
             250 SMTPUTF8\r\n",
        );
        assert_eq!(ext.server_name, "AM0PR01CA0123.outlook.office365.com");
        assert_eq!(ext.auth, [Mechanism::Login, Mechanism::XOAuth2]);
        assert_eq!(ext.other, ["BINARYMIME"]);
        assert!(ext.dsn && ext.chunking && ext.pipelining);

        // On-premises Exchange: proprietary keywords, GSSAPI/NTLM next to LOGIN.
        let ext = ehlo(
            "250-exch01.corp.example.com Hello [10.0.0.5]\r\n\
             250-SIZE\r\n\
             250-PIPELINING\r\n\
             250-DSN\r\n\
             250-ENHANCEDSTATUSCODES\r\n\
             250-STARTTLS\r\n\
             250-X-ANONYMOUSTLS\r\n\
             250-AUTH NTLM LOGIN\r\n\
             250-X-EXPS GSSAPI NTLM\r\n\
             250-8BITMIME\r\n\
             250-BINARYMIME\r\n\
             250-CHUNKING\r\n\
             250 XRDST\r\n",
        );
        assert_eq!(ext.size, Some(0));
        assert_eq!(ext.max_size(), None);
        assert_eq!(ext.auth, [Mechanism::Login]);
        assert_eq!(ext.auth_other, ["NTLM"]);
        assert_eq!(
            ext.other,
            [
                "X-ANONYMOUSTLS",
                "X-EXPS GSSAPI NTLM",
                "BINARYMIME",
                "XRDST"
            ]
        );
        let names = ext.names();
        assert_eq!(names[0], "SIZE");
        assert!(names.contains(&"AUTH=LOGIN,NTLM".into()), "{names:?}");
        assert!(names.contains(&"X-EXPS".into()), "{names:?}");
    }

    #[test]
    fn aiosmtpd() {
        let ext = ehlo(
            "250-testhost\r\n\
             250-SIZE 33554432\r\n\
             250-8BITMIME\r\n\
             250-SMTPUTF8\r\n\
             250-AUTH LOGIN PLAIN\r\n\
             250 HELP\r\n",
        );
        assert_eq!(ext.server_name, "testhost");
        assert_eq!(ext.auth, [Mechanism::Login, Mechanism::Plain]);
        assert_eq!(ext.other, ["HELP"]);
        assert!(!ext.pipelining && !ext.starttls);
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let ext = ehlo(
            "250-host\r\n250-pipelining\r\n250-Size 1000\r\n250-auth plain cram-md5\r\n250 starttls\r\n",
        );
        assert!(ext.pipelining && ext.starttls);
        assert_eq!(ext.size, Some(1000));
        assert_eq!(ext.auth, [Mechanism::Plain]);
        assert_eq!(ext.auth_other, ["CRAM-MD5"]);
    }

    #[test]
    fn size_forms() {
        let size = |line: &str| ehlo(&format!("250-h\r\n250 {line}\r\n")).size;
        assert_eq!(size("SIZE 35882577"), Some(35882577));
        assert_eq!(size("SIZE"), Some(0));
        assert_eq!(size("SIZE 0"), Some(0));
        assert_eq!(size("SIZE unlimited"), Some(0));
        assert_eq!(size("SIZE=1000"), Some(1000));
        assert_eq!(size("PIPELINING"), None);
        assert_eq!(ehlo("250-h\r\n250 SIZE 0\r\n").max_size(), None);
    }

    #[test]
    fn old_auth_form_and_duplicates() {
        let ext = ehlo(
            "250-h\r\n250-AUTH=LOGIN PLAIN\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 AUTH= cram-md5 XOAUTH2\r\n",
        );
        assert_eq!(
            ext.auth,
            [Mechanism::Login, Mechanism::Plain, Mechanism::XOAuth2]
        );
        assert_eq!(ext.auth_other, ["CRAM-MD5"]);
    }

    #[test]
    fn server_name_and_blank_lines() {
        let ext = ehlo("250-mx.example.net ESMTP ready\r\n250-\r\n250 8BITMIME\r\n");
        assert_eq!(ext.server_name, "mx.example.net");
        assert!(ext.eight_bit_mime);
        assert!(ext.other.is_empty());

        let ext = ehlo("250\r\n");
        assert_eq!(ext, Extensions::default());
    }

    #[test]
    fn helo_supports_nothing() {
        let reply = Reply::new(250, vec!["old.example.com Hello there".into()]);
        let ext = Extensions::from_helo(&reply);
        assert_eq!(
            ext,
            Extensions {
                server_name: "old.example.com".into(),
                ..Extensions::default()
            }
        );
        assert!(ext.names().is_empty());
        assert_eq!(ext.max_size(), None);
    }
}
