//! OAuth 2.0 bearer tokens against aiosmtpd (tests/servers/aiosmtpd_server.py --oauth, which
//! checks the token): XOAUTH2 where it is offered, OAUTHBEARER (RFC 7628) where only it is, the
//! server's error challenge decoded into the error, and the token in no transcript or error.

mod common;

use common::{TestServer, config_for};
use mailport::{Client, Credentials, Envelope, Kind, Secret, Security};

const USER: &str = "site@example.com";
const TOKEN: &str = "ya29.a0-test-token-8f3c1b";

fn client(server: &TestServer, token: &str) -> Client {
    let mut config = config_for("127.0.0.1", server, Security::StartTls);
    config.credentials = Some(Credentials::OAuth2 {
        username: USER.into(),
        token: mailport::TokenSource::Fixed(Secret::new(token)),
    });
    Client::new(config).unwrap()
}

fn envelope() -> Envelope {
    Envelope::new("site@example.com", vec!["ann@example.org".into()]).unwrap()
}

const MESSAGE: &[u8] =
    b"From: site@example.com\r\nTo: ann@example.org\r\nSubject: token\r\n\r\nHi.\r\n";

fn server(mechs: &str) -> TestServer {
    let oauth = format!("{USER}:{TOKEN}");
    TestServer::start(&[
        "--mode",
        "starttls",
        "--oauth",
        &oauth,
        "--oauth-mechs",
        mechs,
    ])
}

#[test]
fn a_token_goes_with_xoauth2_where_it_is_offered() {
    let server = server("XOAUTH2,OAUTHBEARER");
    let mut c = client(&server, TOKEN);
    c.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(server.events_named("AUTH"), ["1 AUTH XOAUTH2"]);
    assert_eq!(server.messages()[0].auth_user.as_deref(), Some(USER));
    assert!(!c.transcript().contains(TOKEN), "{}", c.transcript());
}

#[test]
fn a_token_goes_with_oauthbearer_where_only_it_is_offered() {
    let server = server("OAUTHBEARER");
    let mut c = client(&server, TOKEN);
    c.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(server.events_named("AUTH"), ["1 AUTH OAUTHBEARER"]);
    assert_eq!(server.messages()[0].auth_user.as_deref(), Some(USER));
    let transcript = c.transcript();
    assert!(
        transcript.contains("AUTH OAUTHBEARER <redacted>"),
        "{transcript}"
    );
    assert!(!transcript.contains(TOKEN), "{transcript}");
}

#[test]
fn a_refused_token_reports_the_servers_challenge_and_never_the_token() {
    for (mechs, status) in [("XOAUTH2", "\"401\""), ("OAUTHBEARER", "\"invalid_token\"")] {
        let server = server(mechs);
        let stale = "ya29.expired-token-77aa";
        let mut c = client(&server, stale);
        let error = c.send_bytes(&envelope(), MESSAGE).unwrap_err();
        assert_eq!(error.kind(), Kind::AuthFailed, "{mechs}: {error}");
        assert_eq!(
            error.reply().map(|r| r.code()),
            Some(535),
            "{mechs}: {error}"
        );
        let message = error.message();
        assert!(
            message.contains(mechs) && message.contains(status),
            "{mechs}: {message}"
        );
        for text in [
            message.as_str(),
            error.transcript(),
            &c.transcript(),
            error.hint(),
        ] {
            assert!(!text.contains(stale), "{mechs}: the token leaked: {text}");
        }
        assert!(server.messages().is_empty());
    }
}
