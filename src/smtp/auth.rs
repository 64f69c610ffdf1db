//! SASL authentication for SMTP (RFC 4954) with the mechanisms a submission client needs:
//! PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), Google's XOAUTH2 (also spoken by
//! Microsoft 365) and OAUTHBEARER (RFC 7628), the standard form of the same bearer token.
//!
//! Each mechanism is a response function: given the credentials, it says what to send with
//! `AUTH <mechanism>` (its initial response) and how to answer each 334 challenge of the server.
//! An `Exchange` runs one conversation with it, without I/O: the session sends what it says
//! and reads the replies, the same short loop for every mechanism, and refuses to send
//! credentials over an unencrypted connection unless told to. None of these mechanisms protects
//! the secret by itself: TLS does.
//!
//! Adding a mechanism takes a variant of [`Mechanism`] with its name, its place in the
//! preference of [`choose`], and its response function.
//!
//! Every buffer that holds a secret, raw or base64-encoded, is [`Zeroizing`], so credentials do
//! not linger in freed memory after the exchange.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::config::{Credentials, Secret};
use crate::error::{Error, Kind, Result};
use crate::oauth::TokenSource;
use crate::smtp::command::Command;
use crate::smtp::reply::Reply;

/// RFC 4954 §4: an AUTH command line with its initial response may be up to 12288 octets.
const MAX_AUTH_LINE: usize = 12288;

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
    /// RFC 7628's OAUTHBEARER: the bearer token in a GS2 header.
    OAuthBearer,
}

impl Mechanism {
    const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ];

    /// The name as it appears in EHLO and AUTH.
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism named `name` (case-insensitive), if it is one this client supports.
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// What to send: the initial response when `challenge` is `None` (see [`initial_response`]),
    /// else the answer to that challenge.
    pub(crate) fn response(
        self,
        credentials: &Credentials,
        challenge: Option<&Challenge<'_>>,
    ) -> Result<Answer> {
        match self {
            Mechanism::Plain => plain(credentials, challenge),
            Mechanism::Login => login(credentials, challenge),
            Mechanism::XOAuth2 => xoauth2(credentials, challenge),
            Mechanism::OAuthBearer => oauthbearer(credentials, challenge),
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A server challenge: a 334 reply in the middle of an exchange.
pub(crate) struct Challenge<'a> {
    /// The text after `334 `, base64 as the server sent it (empty when there is none).
    pub text: &'a str,
    /// How many challenges of this exchange the mechanism answered before this one.
    pub answered: usize,
}

/// What a mechanism sends.
pub(crate) enum Answer {
    /// This base64 payload; the server may challenge again.
    Send(Zeroizing<String>),
    /// This payload, the last of the exchange: the server's next reply ends it, whatever it
    /// is. `detail` is what the challenge said went wrong, for the error should the exchange
    /// fail. (As an initial response, it is sent like [`Answer::Send`].)
    Last {
        payload: &'static str,
        detail: Option<String>,
    },
    /// Nothing: a mechanism without an initial response waits for the server's first
    /// challenge. Never an answer to a challenge.
    Wait,
}

/// The mechanisms that can carry `credentials`, best first.
///
/// A password goes with PLAIN when offered, else LOGIN. Both send the password itself, merely
/// base64-encoded, so neither is safer than the other: TLS is what protects them. PLAIN wins
/// because it takes one round trip where LOGIN takes three, and because it is standardised
/// (RFC 4616) while LOGIN never was. An OAuth2 token goes with XOAUTH2, which Google and
/// Microsoft 365 both offer, else with OAUTHBEARER (RFC 7628), which servers that follow the
/// standard (Dovecot, Gmail too) offer: the same token either way.
fn preference(credentials: &Credentials) -> &'static [Mechanism] {
    match credentials {
        Credentials::Password { .. } => &[Mechanism::Plain, Mechanism::Login],
        Credentials::OAuth2 { .. } => &[Mechanism::XOAuth2, Mechanism::OAuthBearer],
    }
}

/// The mechanism to use with `credentials`, among those the server `offered`: the first on
/// offer of those that can carry them, best first (see `preference`).
pub fn choose(offered: &[Mechanism], credentials: &Credentials) -> Option<Mechanism> {
    preference(credentials)
        .iter()
        .copied()
        .find(|m| offered.contains(m))
}

/// What `credentials` are and which mechanisms could carry them, for an error:
/// `a password (PLAIN or LOGIN)`.
pub(crate) fn describe(credentials: &Credentials) -> String {
    let what = match credentials {
        Credentials::Password { .. } => "a password",
        Credentials::OAuth2 { .. } => "an OAuth2 token",
    };
    let names: Vec<&str> = preference(credentials).iter().map(|m| m.as_str()).collect();
    format!("{what} ({})", names.join(" or "))
}

/// One SASL exchange (RFC 4954 §4) without its I/O: the AUTH command that starts it, then the
/// answer to each 334 challenge, until a reply ends it.
pub(crate) struct Exchange<'a> {
    mechanism: Mechanism,
    credentials: &'a Credentials,
    /// The initial response, when it fits on the AUTH line.
    initial: Option<Zeroizing<String>>,
    /// The initial response when it does not fit: sent in answer to the server's first
    /// challenge, which is empty (RFC 4954 §4).
    held_back: Option<Zeroizing<String>>,
    /// How many challenges the mechanism has answered.
    answered: usize,
    /// The last answer went out: the next reply ends the exchange.
    ended: bool,
    /// What a challenge said went wrong.
    detail: Option<String>,
}

impl<'a> Exchange<'a> {
    pub(crate) fn start(
        mechanism: Mechanism,
        credentials: &'a Credentials,
    ) -> Result<Exchange<'a>> {
        let response = initial_response(mechanism, credentials)?;
        let fits = response.as_ref().is_none_or(|response| {
            "AUTH  \r\n".len() + mechanism.as_str().len() + response.len() <= MAX_AUTH_LINE
        });
        let (initial, held_back) = if fits {
            (response, None)
        } else {
            (None, response)
        };
        Ok(Exchange {
            mechanism,
            credentials,
            initial,
            held_back,
            answered: 0,
            ended: false,
            detail: None,
        })
    }

    /// `AUTH <mechanism>`, with the initial response when it fits on the line.
    pub(crate) fn command(&self) -> Command<'_> {
        Command::Auth {
            mechanism: self.mechanism,
            initial_response: self.initial.as_deref().map(String::as_str),
        }
    }

    /// What to send in answer to `reply`, or `None` when `reply` ends the exchange: anything but
    /// a 334 challenge, or whatever follows the last answer. An error means the mechanism has
    /// no answer: the exchange is to be cancelled, and fails with it.
    pub(crate) fn answer(&mut self, reply: &Reply) -> Option<Result<Zeroizing<String>>> {
        if reply.code() != 334 {
            return None;
        }
        if let Some(response) = self.held_back.take() {
            return Some(Ok(response));
        }
        if self.ended {
            return None;
        }
        let challenge = Challenge {
            text: reply.lines().first().map_or("", String::as_str),
            answered: self.answered,
        };
        self.answered += 1;
        let answer = self.mechanism.response(self.credentials, Some(&challenge));
        Some(answer.and_then(|answer| match answer {
            Answer::Send(response) => Ok(response),
            Answer::Last { payload, detail } => {
                self.ended = true;
                self.detail = detail;
                Ok(Zeroizing::new(payload.to_string()))
            }
            Answer::Wait => Err(Error::new(
                Kind::AuthFailed,
                format!(
                    "AUTH {}: no answer to the server's challenge",
                    self.mechanism
                ),
            )),
        }))
    }

    /// What a challenge said went wrong (XOAUTH2's error), if one did.
    pub(crate) fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// PLAIN (RFC 4616 §2): `\0user\0password`, with an empty authorization identity so the
/// server derives it from the user name. It says everything at once, so a challenge after it is
/// answered by cancelling the exchange.
fn plain(credentials: &Credentials, challenge: Option<&Challenge<'_>>) -> Result<Answer> {
    let Credentials::Password { username, password } = credentials else {
        return Err(mismatch(Mechanism::Plain, credentials));
    };
    Ok(match challenge {
        None => {
            let message = concat_secret(&["\0", username, "\0", password.expose()]);
            Answer::Send(encode_secret(&message))
        }
        Some(_) => Answer::Last {
            payload: "*",
            detail: None,
        },
    })
}

/// LOGIN: no initial response, then the user name and the password in answer to the server's
/// challenges ([`login_step`]).
fn login(credentials: &Credentials, challenge: Option<&Challenge<'_>>) -> Result<Answer> {
    match (challenge, credentials) {
        (None, Credentials::Password { .. }) => Ok(Answer::Wait),
        (None, _) => Err(mismatch(Mechanism::Login, credentials)),
        (Some(challenge), _) => {
            login_step(challenge.text, challenge.answered, credentials).map(Answer::Send)
        }
    }
}

/// XOAUTH2: `user=<user>\x01auth=Bearer <token>\x01\x01`. The server reports a bad token as a
/// 334 challenge with a JSON body ([`decode_xoauth2_failure`]); an empty response then fetches
/// the final error.
fn xoauth2(credentials: &Credentials, challenge: Option<&Challenge<'_>>) -> Result<Answer> {
    let Some((username, token)) = bearer(credentials) else {
        return Err(mismatch(Mechanism::XOAuth2, credentials));
    };
    Ok(match challenge {
        None => {
            let message = concat_secret(&[
                "user=",
                username,
                "\x01auth=Bearer ",
                token.expose(),
                "\x01\x01",
            ]);
            Answer::Send(encode_secret(&message))
        }
        Some(challenge) => Answer::Last {
            payload: "",
            detail: decode_xoauth2_failure(challenge.text),
        },
    })
}

/// OAUTHBEARER (RFC 7628 §3.1): the GS2 header `n,a=<user>,` then `\x01auth=Bearer
/// <token>\x01\x01`. A refused token comes back as a 334 challenge with a JSON body (RFC 7628
/// §3.2.2, the same form as XOAUTH2's); the client answers it with a lone `\x01` (§3.2.3) and
/// receives the final error.
fn oauthbearer(credentials: &Credentials, challenge: Option<&Challenge<'_>>) -> Result<Answer> {
    let Some((username, token)) = bearer(credentials) else {
        return Err(mismatch(Mechanism::OAuthBearer, credentials));
    };
    Ok(match challenge {
        None => {
            let user = gs2_saslname(username);
            let message = concat_secret(&[
                "n,a=",
                &user,
                ",\x01auth=Bearer ",
                token.expose(),
                "\x01\x01",
            ]);
            Answer::Send(encode_secret(&message))
        }
        Some(challenge) => Answer::Last {
            // base64 of the lone 0x01.
            payload: "AQ==",
            detail: decode_xoauth2_failure(challenge.text),
        },
    })
}

/// The user name and the access token of OAuth2 credentials whose token is at hand. The session
/// fetches a refreshed or callback token before AUTH and hands the exchange a fixed one.
fn bearer(credentials: &Credentials) -> Option<(&str, &Secret)> {
    match credentials {
        Credentials::OAuth2 {
            username,
            token: TokenSource::Fixed(token),
        } => Some((username, token)),
        _ => None,
    }
}

/// Check that `mechanism`, chosen by the caller, can carry `credentials`.
pub(crate) fn check_mechanism_fits(mechanism: Mechanism, credentials: &Credentials) -> Result<()> {
    if preference(credentials).contains(&mechanism) {
        return Ok(());
    }
    let names: Vec<&str> = preference(credentials).iter().map(|m| m.as_str()).collect();
    Err(Error::invalid_input(format!(
        "auth mechanism: {mechanism} cannot carry {} (use {}, or leave the mechanism to the automatic choice)",
        match credentials {
            Credentials::Password { .. } => "a password",
            Credentials::OAuth2 { .. } => "an OAuth2 token",
        },
        names.join(" or ").to_ascii_lowercase()
    )))
}

/// A user name as a GS2 `saslname` (RFC 5801 §4): `=` and `,` are written `=3D` and `=2C`.
fn gs2_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The initial response sent with `AUTH <mechanism>` (RFC 4954 §4), base64-encoded, or `None`
/// for a mechanism that has none (LOGIN). Credentials that do not fit the mechanism (a token for
/// PLAIN, a password for XOAUTH2) give a [`Kind::AuthUnavailable`] error.
pub fn initial_response(
    mechanism: Mechanism,
    credentials: &Credentials,
) -> Result<Option<Zeroizing<String>>> {
    Ok(match mechanism.response(credentials, None)? {
        Answer::Send(response) => Some(response),
        Answer::Last { payload, .. } => Some(Zeroizing::new(payload.to_string())),
        Answer::Wait => None,
    })
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

/// The error detail in an XOAUTH2 or OAUTHBEARER failure challenge.
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

    fn password(user: &str, pass: &str) -> Credentials {
        Credentials::Password {
            username: user.into(),
            password: Secret::new(pass),
        }
    }

    fn oauth2(user: &str, token: &str) -> Credentials {
        Credentials::OAuth2 {
            username: user.into(),
            token: TokenSource::Fixed(Secret::new(token)),
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
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::parse(m.as_str()), Some(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(Mechanism::parse("plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::parse("Login"), Some(Mechanism::Login));
        assert_eq!(Mechanism::parse("xoauth2"), Some(Mechanism::XOAuth2));
        assert_eq!(Mechanism::parse("CRAM-MD5"), None);
        assert_eq!(
            Mechanism::parse("oauthbearer"),
            Some(Mechanism::OAuthBearer)
        );
        assert_eq!(Mechanism::parse("XOAUTH"), None);
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
    fn choose_xoauth2_then_oauthbearer_for_tokens() {
        use Mechanism::*;
        let token = oauth2("u", "t");
        assert_eq!(choose(&[Plain, Login, XOAuth2], &token), Some(XOAuth2));
        assert_eq!(choose(&[OAuthBearer, XOAuth2], &token), Some(XOAuth2));
        assert_eq!(choose(&[Plain, OAuthBearer], &token), Some(OAuthBearer));
        assert_eq!(choose(&[Plain, Login], &token), None);
        assert_eq!(choose(&[OAuthBearer], &password("u", "p")), None);
    }

    #[test]
    fn oauthbearer_encoding() {
        // RFC 7628 §4.1's example, without its optional host and port.
        let creds = oauth2(
            "user@example.com",
            "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        );
        let response = initial_response(Mechanism::OAuthBearer, &creds)
            .unwrap()
            .unwrap();
        assert_eq!(
            decoded(&response),
            b"n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        // A user name's '=' and ',' are escaped in the GS2 header.
        let odd = initial_response(Mechanism::OAuthBearer, &oauth2("a=b,c", "t"))
            .unwrap()
            .unwrap();
        assert_eq!(decoded(&odd), b"n,a=a=3Db=2Cc,\x01auth=Bearer t\x01\x01");
    }

    #[test]
    fn exchange_answers_an_oauthbearer_error_with_a_lone_kvsep() {
        let creds = oauth2("u", "t");
        let mut exchange = Exchange::start(Mechanism::OAuthBearer, &creds).unwrap();
        assert_eq!(exchange.command().redacted(), "AUTH OAUTHBEARER <redacted>");
        let json = r#"{"status":"invalid_token","scope":"example_scope"}"#;
        let error = reply(&format!("334 {}\r\n", b64(json)));
        let kvsep = exchange.answer(&error).unwrap().unwrap();
        assert_eq!(decoded(&kvsep), b"\x01");
        assert_eq!(exchange.detail(), Some(json));
        assert!(exchange.answer(&reply("334 again\r\n")).is_none());
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

    fn reply(text: &str) -> Reply {
        crate::smtp::reply::parse_reply(text.as_bytes())
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn exchange_answers_an_xoauth2_error_once() {
        let creds = oauth2("u", "t");
        let mut exchange = Exchange::start(Mechanism::XOAuth2, &creds).unwrap();
        assert_eq!(exchange.command().redacted(), "AUTH XOAUTH2 <redacted>");
        let json = r#"{"status":"401"}"#;
        let error = reply(&format!("334 {}\r\n", b64(json)));
        let empty = exchange.answer(&error).unwrap().unwrap();
        assert_eq!(empty.as_str(), "");
        assert_eq!(exchange.detail(), Some(json));
        // Whatever follows the empty answer ends the exchange, another challenge included.
        assert!(exchange.answer(&reply("334 again\r\n")).is_none());
    }

    #[test]
    fn exchange_holds_back_an_initial_response_too_long_for_the_line() {
        let creds = oauth2("u", &"t".repeat(MAX_AUTH_LINE));
        let mut exchange = Exchange::start(Mechanism::XOAuth2, &creds).unwrap();
        assert_eq!(exchange.command().to_line(), "AUTH XOAUTH2\r\n");
        let initial = exchange.answer(&reply("334 \r\n")).unwrap().unwrap();
        assert_eq!(
            Some(initial),
            initial_response(Mechanism::XOAuth2, &creds).unwrap()
        );
        let cancel = exchange.answer(&reply("334 \r\n")).unwrap().unwrap();
        assert_eq!(cancel.as_str(), "");
        assert!(exchange.answer(&reply("535 no\r\n")).is_none());
    }

    #[test]
    fn exchange_cancels_plain_and_a_third_login_challenge() {
        let creds = password("alice", "s3cret");
        let mut plain = Exchange::start(Mechanism::Plain, &creds).unwrap();
        assert_eq!(plain.command().redacted(), "AUTH PLAIN <redacted>");
        assert_eq!(
            plain.answer(&reply("334 \r\n")).unwrap().unwrap().as_str(),
            "*"
        );
        assert!(plain.answer(&reply("334 \r\n")).is_none());

        let mut login = Exchange::start(Mechanism::Login, &creds).unwrap();
        assert_eq!(login.command().to_line(), "AUTH LOGIN\r\n");
        let challenge = reply("334 UGFzc3dvcmQ6\r\n");
        let first = login.answer(&challenge).unwrap().unwrap();
        assert_eq!(first.as_str(), b64("s3cret"));
        login.answer(&challenge).unwrap().unwrap();
        let err = login.answer(&challenge).unwrap().unwrap_err();
        assert_eq!(err.kind(), Kind::AuthFailed);
        assert!(login.answer(&reply("235 ok\r\n")).is_none());
    }

    #[test]
    fn encode_secret_matches_the_engine() {
        for len in 0..20 {
            let raw: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(encode_secret(&raw).as_str(), STANDARD.encode(&raw));
        }
    }
}
