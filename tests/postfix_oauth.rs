//! OAuth 2.0 bearer tokens checked by real servers we did not write: Postfix (SMTP AUTH after
//! STARTTLS, relaying only for an authenticated client) hands each AUTH XOAUTH2 or OAUTHBEARER
//! to Dovecot, whose `oauth2` passdb asks the test's OAuth server whether the token is active
//! (RFC 7662 introspection over TLS). The tokens themselves come from that server's token
//! endpoint, by a refresh-token grant, as a site's would from Google or Microsoft.
//!
//!   mailport ──STARTTLS, AUTH──▶ Postfix ──auth socket──▶ Dovecot ──HTTPS /introspect──▶ OAuth server
//!                                   └──relay──▶ aiosmtpd (the sink that records what arrived)
//!
//! Each test starts its own stack (`common/oauth_server.rs`, `common/dovecot.rs`,
//! `common/postfix.rs`), all on 127.0.0.1, in temporary directories, stopped on drop.
//!
//! Requires root and the Debian packages `postfix` and `dovecot-core`, plus python3 with
//! aiosmtpd and trustme (as every integration test). Without them the tests fail, saying what
//! to install.

mod common;
#[path = "common/dovecot.rs"]
mod dovecot;
#[path = "common/oauth_server.rs"]
mod oauth_server;
#[path = "common/postfix.rs"]
mod postfix;

use dovecot::Dovecot;
use mailport::{
    Client, Config, Credentials, Envelope, Error, Kind, Provider, Receipt, RefreshGrant, Secret,
    Security, TokenSource,
};
use oauth_server::OAuthServer;
use postfix::{Options, Postfix};

/// The mailbox the tokens are issued for, and the SASL user name mailport announces.
const USER: &str = "site@example.test";
const REFRESH_TOKEN: &str = "rt-site-0b7e3c1d9a";
/// The oauth server's default public client.
const CLIENT_ID: &str = "mailport-test";
const TO: &str = "ann@example.org";

/// The oauth server, Dovecot and Postfix, in the order they must start; dropped in reverse
/// (Postfix, then Dovecot, then the OAuth server), so no server outlives what it depends on.
struct Stack {
    postfix: Postfix,
    dovecot: Dovecot,
    oauth: OAuthServer,
}

impl Stack {
    /// Everything up, Dovecot offering `mechanisms` ("xoauth2", "oauthbearer").
    fn start(mechanisms: &[&str]) -> Stack {
        let refresh = format!("{USER}:{REFRESH_TOKEN}");
        let oauth = OAuthServer::start(&["--refresh-token", &refresh]);
        let dovecot = Dovecot::start(&oauth, mechanisms);
        let postfix = Postfix::start(Options {
            starttls: true,
            dovecot_auth: Some(dovecot.ready.socket.clone()),
            ..Options::default()
        });
        Stack {
            postfix,
            dovecot,
            oauth,
        }
    }

    /// A fresh access token from the token endpoint (refresh-token grant).
    fn access_token(&self) -> String {
        let answer = self.oauth.refresh(CLIENT_ID, REFRESH_TOKEN);
        answer["access_token"].as_str().unwrap().to_string()
    }

    /// A client for Postfix's submission service: STARTTLS verified against Postfix's CA,
    /// AUTH with `token` for [`USER`].
    fn client(&self, token: &str) -> Client {
        let mut config = self.postfix.config(Security::StartTls);
        set_access_token(&mut config, token);
        Client::new(config).expect("Client::new")
    }

    /// Every log a token could leak into: Postfix's, Dovecot's, the OAuth server's.
    fn server_logs(&self) -> [(&'static str, String); 3] {
        [
            ("Postfix's maillog", self.postfix.log()),
            ("Dovecot's log", self.dovecot.log()),
            ("the OAuth server's request log", self.oauth.requests_log()),
        ]
    }

    fn assert_no_token_in_logs(&self, token: &str) {
        for (name, log) in self.server_logs() {
            assert!(!log.contains(token), "the token is in {name}:\n{log}");
            assert!(
                !log.contains(REFRESH_TOKEN),
                "the refresh token is in {name}:\n{log}"
            );
        }
    }
}

/// A fixed access token (the refresh grant's own test builds its config itself).
fn set_access_token(config: &mut Config, token: &str) {
    config.credentials = Some(Credentials::OAuth2 {
        username: USER.into(),
        token: mailport::TokenSource::Fixed(Secret::new(token)),
    });
}

fn envelope() -> Envelope {
    Envelope::new(USER, vec![TO.into()]).expect("envelope")
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: <{USER}>\r\nTo: <{TO}>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@client.test>\
         \r\n\r\nSent with an OAuth 2.0 token.\r\n"
    )
    .into_bytes()
}

fn send_ok(client: &mut Client, subject: &str) -> Receipt {
    client
        .send_bytes(&envelope(), &message(subject))
        .unwrap_or_else(|e| panic!("send failed: {}", describe(&e)))
}

fn send_err(client: &mut Client, subject: &str) -> Error {
    match client.send_bytes(&envelope(), &message(subject)) {
        Ok(receipt) => panic!(
            "expected an error, got {receipt:?}\n--- transcript ---\n{}",
            client.transcript()
        ),
        Err(err) => err,
    }
}

fn describe(err: &Error) -> String {
    format!(
        "{err:?}\nhint: {}\n--- transcript ---\n{}",
        err.hint(),
        err.transcript()
    )
}

/// The AUTH keyword's mechanisms in each EHLO reply of the transcript, in order (empty where
/// an EHLO reply had no AUTH line).
fn auth_offers(transcript: &str) -> Vec<Vec<String>> {
    let mut offers = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in transcript.lines() {
        if line.starts_with("C: EHLO ") {
            offers.extend(current.take());
            current = Some(Vec::new());
        } else if let (Some(reply), Some(mechs)) = (line.strip_prefix("S: 250"), current.as_mut()) {
            if let Some(list) = reply[1..].strip_prefix("AUTH ") {
                mechs.extend(list.split(' ').map(str::to_string));
            }
        } else if line.starts_with("C: ") {
            offers.extend(current.take());
        }
    }
    offers.extend(current);
    offers
}

/// The text mailport shows for an error, everywhere a token must not appear.
fn error_texts(err: &Error) -> [String; 4] {
    [
        err.message(),
        err.hint().to_string(),
        err.transcript().to_string(),
        format!("{err:?} {err}"),
    ]
}

// ---------------------------------------------------------------------------------------------
// accepted tokens, with each mechanism

#[test]
fn an_xoauth2_token_is_checked_by_dovecot_and_the_message_relayed() {
    let stack = Stack::start(&["xoauth2", "oauthbearer"]);
    assert_eq!(stack.dovecot.ready.mechanisms, ["XOAUTH2", "OAUTHBEARER"]);
    let token = stack.access_token();
    let mut client = stack.client(&token);
    let receipt = send_ok(&mut client, "xoauth2");
    assert_eq!(receipt.accepted, [TO]);
    assert_eq!(receipt.security, Security::StartTls);

    let transcript = client.transcript();
    // AUTH only after STARTTLS (smtpd_tls_auth_only), then both of Dovecot's mechanisms.
    assert_eq!(
        auth_offers(&transcript),
        [
            vec![],
            vec!["XOAUTH2".to_string(), "OAUTHBEARER".to_string()]
        ],
        "{transcript}"
    );
    assert!(
        transcript.contains("C: AUTH XOAUTH2 <redacted>"),
        "{transcript}"
    );
    assert!(transcript.contains("S: 235 "), "{transcript}");
    assert!(!transcript.contains(&token), "{transcript}");

    let got = stack.postfix.delivered(1);
    assert_eq!(got[0].mail_from, USER);
    assert_eq!(got[0].rcpt_tos, [TO]);
    // Postfix relayed it because Dovecot said who the token belongs to.
    stack
        .postfix
        .wait_for_log(&format!("sasl_method=XOAUTH2, sasl_username={USER}"));
    // Dovecot asked the OAuth server, which found the token active.
    stack.oauth.wait_for_request("POST /introspect  active");
    stack.assert_no_token_in_logs(&token);
}

#[test]
fn an_oauthbearer_token_goes_where_dovecot_offers_only_oauthbearer() {
    let stack = Stack::start(&["oauthbearer"]);
    assert_eq!(stack.dovecot.ready.mechanisms, ["OAUTHBEARER"]);
    let token = stack.access_token();
    let mut client = stack.client(&token);
    send_ok(&mut client, "oauthbearer");

    let transcript = client.transcript();
    assert_eq!(
        auth_offers(&transcript),
        [vec![], vec!["OAUTHBEARER".to_string()]],
        "{transcript}"
    );
    assert!(
        transcript.contains("C: AUTH OAUTHBEARER <redacted>"),
        "{transcript}"
    );
    assert!(!transcript.contains(&token), "{transcript}");

    stack.postfix.delivered(1);
    stack
        .postfix
        .wait_for_log(&format!("sasl_method=OAUTHBEARER, sasl_username={USER}"));
    stack.oauth.wait_for_request("POST /introspect  active");
    stack.assert_no_token_in_logs(&token);
}

// ---------------------------------------------------------------------------------------------
// refused tokens

/// A token the OAuth server no longer vouches for is refused by Dovecot: mailport reports
/// AuthFailed with Postfix's 535 and the mechanism's decoded error challenge, and the token
/// appears nowhere. Nothing more is relayed: the sink still has the `delivered` messages sent
/// before.
fn assert_refused(
    stack: &Stack,
    token: &str,
    mechanism: &str,
    challenge_status: &str,
    delivered: usize,
) {
    let mut client = stack.client(token);
    let err = send_err(&mut client, "refused");
    assert_eq!(err.kind(), Kind::AuthFailed, "{}", describe(&err));
    let reply = err.reply().unwrap_or_else(|| panic!("{}", describe(&err)));
    assert_eq!(reply.code(), 535, "{}", describe(&err));
    // Postfix's reply is the error's; the message has the error Dovecot's challenge carried
    // (XOAUTH2: "401", OAUTHBEARER: "invalid_token"), decoded by mailport.
    let message = err.message();
    assert!(
        reply.one_line().contains("5.7.8") && reply.one_line().contains("authentication failed"),
        "Postfix's reply: {reply:?}"
    );
    assert!(
        message.contains(mechanism) && message.contains(challenge_status),
        "{message}\n{}",
        describe(&err)
    );
    for text in error_texts(&err).iter().chain([&client.transcript()]) {
        assert!(!text.contains(token), "the token leaked: {text}");
    }
    let transcript = err.transcript();
    assert!(
        !transcript.lines().any(|l| l.starts_with("C: MAIL FROM:")),
        "{transcript}"
    );
    stack.postfix.delivered(delivered);
    stack.dovecot.wait_for_log(&format!(
        "oauth2({USER},127.0.0.1): oauth2 failed: Introspection failed: Provided token is not valid"
    ));
    stack
        .postfix
        .wait_for_log(&format!("SASL {mechanism} authentication failed"));
    stack.oauth.wait_for_request("POST /introspect  inactive");
    stack.assert_no_token_in_logs(token);
}

#[test]
fn a_revoked_token_is_refused_by_dovecot_with_auth_failed_for_both_mechanisms() {
    for (mechanism, status) in [("XOAUTH2", "\"401\""), ("OAUTHBEARER", "\"invalid_token\"")] {
        let stack = Stack::start(&[&mechanism.to_lowercase()]);
        let token = stack.access_token();
        // The same token works until the OAuth server revokes it.
        send_ok(&mut stack.client(&token), "before revocation");
        stack.postfix.delivered(1);
        stack
            .oauth
            .control(serde_json::json!({ "revoke_access": token }));
        assert_refused(&stack, &token, mechanism, status, 1);
    }
}

#[test]
fn an_expired_token_is_refused_and_a_refreshed_one_is_accepted() {
    let stack = Stack::start(&["xoauth2", "oauthbearer"]);
    let token = stack.access_token();
    let state = stack
        .oauth
        .control(serde_json::json!({ "expire_access": "all" }));
    assert_eq!(state["access_tokens"][&token]["expired"], true, "{state}");
    assert_refused(&stack, &token, "XOAUTH2", "\"401\"", 0);

    // What a site does next: a refresh-token grant, and the new token goes through.
    let fresh = stack.access_token();
    assert_ne!(fresh, token);
    send_ok(&mut stack.client(&fresh), "after refresh");
    stack.postfix.delivered(1);
    assert_eq!(stack.oauth.state()["grants"]["refresh_token"], 2);
    stack.assert_no_token_in_logs(&fresh);
}

/// The library's own refresh grant, checked by a server we did not write: the token it fetches
/// is accepted by Dovecot, and when the server refuses the cached one (revoked at the endpoint),
/// the library drops it, refreshes once and logs in again on a new connection.
#[test]
fn the_librarys_refresh_grant_is_accepted_and_a_refused_token_refreshed_once() {
    let stack = Stack::start(&["xoauth2", "oauthbearer"]);
    let mut config = stack.postfix.config(Security::StartTls);
    config.tls.ca_files.push(stack.oauth.ca.clone());
    let mut grant = RefreshGrant::new(
        Provider::Custom,
        CLIENT_ID,
        None,
        Secret::new(REFRESH_TOKEN),
    );
    grant.token_url = Some(stack.oauth.token_url());
    config.credentials = Some(Credentials::OAuth2 {
        username: USER.into(),
        token: TokenSource::Refresh(grant),
    });

    let mut first = Client::new(config.clone()).unwrap();
    send_ok(&mut first, "refresh grant");
    stack.postfix.delivered(1);
    assert_eq!(stack.oauth.state()["grants"]["refresh_token"], 1);
    let cached: Vec<String> = stack.oauth.state()["access_tokens"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(cached.len(), 1);
    drop(first);

    // The cached token is revoked: Dovecot refuses it, the library refreshes once.
    stack
        .oauth
        .control(serde_json::json!({ "revoke_access": cached[0] }));
    let mut second = Client::new(config).unwrap();
    send_ok(&mut second, "after a refused token");
    stack.postfix.delivered(2);
    assert_eq!(stack.oauth.state()["grants"]["refresh_token"], 2);
    let transcript = second.transcript();
    assert!(transcript.contains("S: 535"), "{transcript}");
    assert!(transcript.contains("S: 235"), "{transcript}");
    stack.assert_no_token_in_logs(&cached[0]);
    assert!(!transcript.contains(&cached[0]), "{transcript}");
    assert!(!transcript.contains(REFRESH_TOKEN), "{transcript}");
}

// ---------------------------------------------------------------------------------------------
// the submission service itself

#[test]
fn without_auth_postfix_refuses_to_relay() {
    let stack = Stack::start(&["xoauth2", "oauthbearer"]);
    let mut client = Client::new(stack.postfix.config(Security::StartTls)).unwrap();
    let err = send_err(&mut client, "anonymous");
    assert_eq!(err.kind(), Kind::RecipientsRejected, "{}", describe(&err));
    let rejected = err.rejected_recipients();
    assert_eq!(rejected.len(), 1, "{}", describe(&err));
    assert_eq!(rejected[0].address, TO);
    assert_eq!(rejected[0].reply.code(), 554, "{}", describe(&err));
    let reply = rejected[0].reply.one_line();
    assert!(
        reply.contains("5.7.1") && reply.contains("Access denied"),
        "{}",
        describe(&err)
    );
    assert!(
        !err.transcript().contains("C: AUTH"),
        "{}",
        err.transcript()
    );
    stack.postfix.assert_nothing_delivered();
    stack
        .postfix
        .wait_for_log("Recipient address rejected: Access denied");
}
