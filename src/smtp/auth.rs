//! SASL authentication for SMTP (RFC 4954) with the mechanisms a submission client needs:
//! PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login) and Google's XOAUTH2 (also spoken by
//! Microsoft 365).
//!
//! This module only builds and reads the SASL payloads; the session decides when to send them,
//! and refuses to send any over an unencrypted connection unless told to. None of these
//! mechanisms protects the secret by itself: TLS does.
//!
//! Every buffer that holds a secret, raw or base64-encoded, is [`Zeroizing`], so credentials do
//! not linger in freed memory after the exchange.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::config::Credentials;
use crate::error::{Error, Kind, Result};

/// Decodes server challenges whether or not they carry their `=` padding: some servers omit it.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A SASL mechanism this client can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616: user name and password in one message.
    Plain,
    /// The LOGIN draft: user name and password in answer to two challenges.
    Login,
    /// Google's XOAUTH2: an OAuth 2.0 bearer token.
    XOAuth2,
}

impl Mechanism {
    /// The name as it appears in EHLO and AUTH.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// The mechanism named `name` (case-insensitive), if it is one this client supports.
    pub fn parse(name: &str) -> Option<Mechanism> {
        [Mechanism::Plain, Mechanism::Login, Mechanism::XOAuth2]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mechanism to use with `credentials`, among those the server `offered`.
///
/// A password goes with PLAIN when offered, else LOGIN. Both send the password itself, merely
/// base64-encoded, so neither is safer than the other: TLS is what protects them. PLAIN wins
/// because it takes one round trip where LOGIN takes three, and because it is standardised
/// (RFC 4616) while LOGIN never was. An OAuth2 token can only go with XOAUTH2.
pub fn choose(offered: &[Mechanism], credentials: &Credentials) -> Option<Mechanism> {
    let preference: &[Mechanism] = match credentials {
        Credentials::Password { .. } => &[Mechanism::Plain, Mechanism::Login],
        Credentials::OAuth2 { .. } => &[Mechanism::XOAuth2],
    };
    preference.iter().copied().find(|m| offered.contains(m))
}

/// The initial response sent with `AUTH <mechanism>` (RFC 4954 §4), base64-encoded.
///
/// - PLAIN: `\0user\0password` (RFC 4616 §2), with an empty authorization identity so the
///   server derives it from the user name;
/// - XOAUTH2: `user=<user>\x01auth=Bearer <token>\x01\x01`;
/// - LOGIN: `None`, it has no initial response.
///
/// Credentials that do not fit the mechanism (a token for PLAIN, a password for XOAUTH2) give a
/// [`Kind::AuthUnavailable`] error.
pub fn initial_response(
    mechanism: Mechanism,
    credentials: &Credentials,
) -> Result<Option<Zeroizing<String>>> {
    match (mechanism, credentials) {
        (Mechanism::Plain, Credentials::Password { username, password }) => {
            let message = concat_secret(&["\0", username, "\0", password.expose()]);
            Ok(Some(encode_secret(&message)))
        }
        (Mechanism::XOAuth2, Credentials::OAuth2 { username, token }) => {
            let message = concat_secret(&[
                "user=",
                username,
                "\x01auth=Bearer ",
                token.expose(),
                "\x01\x01",
            ]);
            Ok(Some(encode_secret(&message)))
        }
        (Mechanism::Login, Credentials::Password { .. }) => Ok(None),
        (mechanism, credentials) => Err(mismatch(mechanism, credentials)),
    }
}

/// The answer to the LOGIN challenge of `step` (0 for the first), base64-encoded.
///
/// The challenge names what it asks for ("Username:" or "Password:", base64-encoded); a
/// challenge that cannot be decoded or names something else is answered by its position:
/// first the user name, then the password. A third challenge is refused with
/// [`Kind::AuthFailed`]: LOGIN has nothing more to give, and answering on would risk sending
/// the password in reply to whatever the server asks.
pub fn login_step(
    challenge_b64: &str,
    step: usize,
    credentials: &Credentials,
) -> Result<Zeroizing<String>> {
    let Credentials::Password { username, password } = credentials else {
        return Err(mismatch(Mechanism::Login, credentials));
    };
    if step >= 2 {
        return Err(Error::new(
            Kind::AuthFailed,
            "AUTH LOGIN: the server asked for more than a user name and password",
        ));
    }
    let wants_user = match login_prompt(challenge_b64) {
        Some(Prompt::User) => true,
        Some(Prompt::Password) => false,
        None => step == 0,
    };
    Ok(if wants_user {
        encode_secret(username.as_bytes())
    } else {
        encode_secret(password.expose().as_bytes())
    })
}

/// The error detail in an XOAUTH2 failure challenge.
///
/// An XOAUTH2 server answers a bad token with `334 <base64 JSON>` (e.g.
/// `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`); the client then
/// sends an empty line and receives the final 5xx. Returns the decoded JSON text, or `None`
/// when the challenge is empty or not base64.
pub fn decode_xoauth2_failure(challenge_b64: &str) -> Option<String> {
    let bytes = LENIENT.decode(challenge_b64.trim()).ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    (!text.is_empty()).then_some(text)
}

enum Prompt {
    User,
    Password,
}

/// What a LOGIN challenge asks for, going by its text.
fn login_prompt(challenge_b64: &str) -> Option<Prompt> {
    let bytes = LENIENT.decode(challenge_b64.trim()).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text
        .trim_matches(|c: char| c.is_whitespace() || c == ':' || c == '\0')
        .to_ascii_lowercase();
    match text.as_str() {
        "username" | "user name" | "user" => Some(Prompt::User),
        "password" => Some(Prompt::Password),
        _ => None,
    }
}

fn mismatch(mechanism: Mechanism, credentials: &Credentials) -> Error {
    let (needs, holds) = match credentials {
        Credentials::Password { .. } => ("an OAuth2 token", "a password"),
        Credentials::OAuth2 { .. } => ("a password", "an OAuth2 token"),
    };
    Error::new(
        Kind::AuthUnavailable,
        format!(
            "AUTH {}: needs {needs}, but the credentials hold {holds}",
            mechanism.as_str()
        ),
    )
}

/// Concatenate `parts` into one wiped-on-drop buffer.
fn concat_secret(parts: &[&str]) -> Zeroizing<Vec<u8>> {
    // Sized up front: a Vec that grows leaves unwiped copies of its old contents behind.
    let len = parts.iter().map(|p| p.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// Base64-encode `raw` straight into a wiped-on-drop buffer.
fn encode_secret(raw: &[u8]) -> Zeroizing<String> {
    // `encode_slice` into a buffer sized up front: `Engine::encode` would go through an
    // intermediate stack buffer and a growing String, leaving unwiped copies of the secret.
    let len = base64::encoded_len(raw.len(), true).expect("credentials far below usize::MAX");
    let mut buf = Zeroizing::new(vec![0u8; len]);
    let written = STANDARD
        .encode_slice(raw, &mut buf)
        .expect("buffer sized by encoded_len");
    debug_assert_eq!(written, len);
    // Move the bytes (not a copy) into the String; the emptied Vec left behind holds nothing.
    let bytes = std::mem::take(&mut *buf);
    Zeroizing::new(String::from_utf8(bytes).expect("base64 output is ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn password(user: &str, pass: &str) -> Credentials {
        Credentials::Password {
            username: user.into(),
            password: Secret::new(pass),
        }
    }

    fn oauth2(user: &str, token: &str) -> Credentials {
        Credentials::OAuth2 {
            username: user.into(),
            token: Secret::new(token),
        }
    }

    fn b64(text: &str) -> String {
        STANDARD.encode(text)
    }

    fn decoded(b64: &str) -> Vec<u8> {
        STANDARD.decode(b64).unwrap()
    }

    #[test]
    fn mechanism_names() {
        for m in [Mechanism::Plain, Mechanism::Login, Mechanism::XOAuth2] {
            assert_eq!(Mechanism::parse(m.as_str()), Some(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::parse("Login"), Some(Mechanism::Login));
        assert_eq!(Mechanism::parse("xoauth2"), Some(Mechanism::XOAuth2));
        assert_eq!(Mechanism::parse("CRAM-MD5"), None);
        assert_eq!(Mechanism::parse("OAUTHBEARER"), None);
        assert_eq!(Mechanism::parse(""), None);
    }

    #[test]
    fn choose_prefers_plain_for_passwords() {
        use Mechanism::*;
        let pw = password("u", "p");
        assert_eq!(choose(&[Login, Plain], &pw), Some(Plain));
        assert_eq!(choose(&[XOAuth2, Login], &pw), Some(Login));
        assert_eq!(choose(&[XOAuth2], &pw), None);
        assert_eq!(choose(&[], &pw), None);
    }

    #[test]
    fn choose_only_xoauth2_for_tokens() {
        use Mechanism::*;
        let token = oauth2("u", "t");
        assert_eq!(choose(&[Plain, Login, XOAuth2], &token), Some(XOAuth2));
        assert_eq!(choose(&[Plain, Login], &token), None);
    }

    #[test]
    fn plain_known_answers() {
        let response = initial_response(Mechanism::Plain, &password("test", "test"))
            .unwrap()
            .unwrap();
        assert_eq!(response.as_str(), "AHRlc3QAdGVzdA==");

        // RFC 4616 §4 example, with an empty authorization identity.
        let response = initial_response(Mechanism::Plain, &password("tim", "tanstaaftanstaaf"))
            .unwrap()
            .unwrap();
        assert_eq!(response.as_str(), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
        assert_eq!(decoded(&response), b"\0tim\0tanstaaftanstaaf");
    }

    #[test]
    fn plain_with_empty_password() {
        let response = initial_response(Mechanism::Plain, &password("user", ""))
            .unwrap()
            .unwrap();
        assert_eq!(decoded(&response), b"\0user\0");
    }

    #[test]
    fn non_ascii_credentials_are_utf8() {
        let response = initial_response(Mechanism::Plain, &password("jürgen", "pässwörd€"))
            .unwrap()
            .unwrap();
        assert_eq!(decoded(&response), "\0jürgen\0pässwörd€".as_bytes());

        let creds = password("jürgen", "pässwörd€");
        let user = login_step(&b64("Username:"), 0, &creds).unwrap();
        assert_eq!(decoded(&user), "jürgen".as_bytes());
        let pass = login_step(&b64("Password:"), 1, &creds).unwrap();
        assert_eq!(pass.as_str(), "cMOkc3N3w7ZyZOKCrA==");
    }

    #[test]
    fn xoauth2_encoding() {
        // Google's documented example.
        let creds = oauth2(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        );
        let response = initial_response(Mechanism::XOAuth2, &creds)
            .unwrap()
            .unwrap();
        assert_eq!(
            response.as_str(),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52\
             YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        assert_eq!(
            decoded(&response),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
    }

    #[test]
    fn login_has_no_initial_response() {
        let response = initial_response(Mechanism::Login, &password("u", "p")).unwrap();
        assert!(response.is_none());
    }

    #[test]
    fn mismatched_credentials_are_refused() {
        for (mechanism, creds) in [
            (Mechanism::Plain, oauth2("u", "t")),
            (Mechanism::Login, oauth2("u", "t")),
            (Mechanism::XOAuth2, password("u", "p")),
        ] {
            let err = initial_response(mechanism, &creds).unwrap_err();
            assert_eq!(err.kind(), Kind::AuthUnavailable, "{mechanism}");
            assert!(err.message().contains(mechanism.as_str()), "{err}");
        }
        let err = login_step(&b64("Username:"), 0, &oauth2("u", "t")).unwrap_err();
        assert_eq!(err.kind(), Kind::AuthUnavailable);
    }

    #[test]
    fn login_answers_the_prompt() {
        let creds = password("alice", "s3cret");
        // The usual challenges, "VXNlcm5hbWU6" and "UGFzc3dvcmQ6".
        let user = login_step("VXNlcm5hbWU6", 0, &creds).unwrap();
        assert_eq!(user.as_str(), b64("alice"));
        let pass = login_step("UGFzc3dvcmQ6", 1, &creds).unwrap();
        assert_eq!(pass.as_str(), b64("s3cret"));

        // Case, missing colon, "User Name", surrounding space, missing padding.
        for prompt in [
            "username:",
            "USERNAME",
            "User Name",
            "User Name:",
            " Username: ",
        ] {
            let user = login_step(&b64(prompt), 1, &creds).unwrap();
            assert_eq!(user.as_str(), b64("alice"), "{prompt:?}");
        }
        for prompt in ["password:", "PASSWORD", "Password"] {
            let pass = login_step(&b64(prompt), 0, &creds).unwrap();
            assert_eq!(pass.as_str(), b64("s3cret"), "{prompt:?}");
        }
        let unpadded = b64("Username").trim_end_matches('=').to_string();
        assert_ne!(unpadded, b64("Username"));
        let user = login_step(&unpadded, 1, &creds).unwrap();
        assert_eq!(user.as_str(), b64("alice"));
    }

    #[test]
    fn login_falls_back_on_the_step() {
        let creds = password("alice", "s3cret");
        for challenge in ["", "!!not base64!!", &b64("Who are you?")] {
            let first = login_step(challenge, 0, &creds).unwrap();
            assert_eq!(first.as_str(), b64("alice"), "{challenge:?}");
            let second = login_step(challenge, 1, &creds).unwrap();
            assert_eq!(second.as_str(), b64("s3cret"), "{challenge:?}");
        }
    }

    #[test]
    fn login_refuses_a_third_challenge() {
        let creds = password("alice", "s3cret");
        for step in [2, 3, 100] {
            let err = login_step(&b64("Password:"), step, &creds).unwrap_err();
            assert_eq!(err.kind(), Kind::AuthFailed);
            assert!(
                err.message().contains("more than a user name and password"),
                "{err}"
            );
        }
    }

    #[test]
    fn xoauth2_failure_detail() {
        let json = r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        assert_eq!(decode_xoauth2_failure(&b64(json)).as_deref(), Some(json));
        // Google's actual challenge text.
        assert_eq!(
            decode_xoauth2_failure(
                "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K"
            )
            .as_deref(),
            Some(
                r#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#
            )
        );
        assert_eq!(decode_xoauth2_failure(""), None);
        assert_eq!(decode_xoauth2_failure("not base64!"), None);
    }

    #[test]
    fn encode_secret_matches_the_engine() {
        for len in 0..20 {
            let raw: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(encode_secret(&raw).as_str(), STANDARD.encode(&raw));
        }
    }
}
