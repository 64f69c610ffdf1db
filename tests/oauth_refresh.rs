//! OAuth 2.0 refresh grants end to end: tokens from a real token endpoint over TLS
//! (tests/servers/oauth_server.py) checked by an SMTP server through that endpoint's
//! introspection (aiosmtpd with --oauth-introspect), so nothing is taken on mailport's word.
//!
//! Covers the process-wide cache, rotation reaching the callback, the refresh of a refused token
//! (once, never in a loop), expiry during a persistent session's life, each failure of the token
//! endpoint with its kind and hint, the token callback, the endpoint's certificate, and that no
//! token, refresh token or secret appears in any transcript or error.

mod common;
#[path = "common/oauth_server.rs"]
mod oauth_server;
#[path = "common/oauth_smtp.rs"]
mod oauth_smtp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestServer, config_for};
use mailport::oauth::{CallbackToken, TokenRequest};
use mailport::smtp::auth::Mechanism;
use mailport::{
    Client, Config, Credentials, Envelope, Error, Kind, Provider, RefreshGrant, Secret, Security,
    TokenCallback, TokenSource,
};
use oauth_server::OAuthServer;
use oauth_smtp::OAuthSmtp;
use serde_json::json;

const USER: &str = "site@example.test";
const REFRESH: &str = "rt-initial-5f1c2a9d";
const CLIENT: &str = "mailport-app";
const CLIENT_SECRET: &str = "client-secret-9c1e77";

fn envelope() -> Envelope {
    Envelope::new(USER, vec!["ann@example.org".into()]).unwrap()
}

const MESSAGE: &[u8] =
    b"From: site@example.test\r\nTo: ann@example.org\r\nSubject: oauth\r\n\r\nHi.\r\n";

/// A token endpoint knowing our client and refresh token, with `extra` flags.
fn endpoint(extra: &[&str]) -> OAuthServer {
    let client = format!("{CLIENT}:{CLIENT_SECRET}");
    let refresh = format!("{USER}:{REFRESH}");
    let mut args = vec!["--client", &client, "--refresh-token", &refresh];
    args.extend_from_slice(extra);
    OAuthServer::start(&args)
}

fn grant(endpoint: &OAuthServer, refresh_token: &str) -> RefreshGrant {
    let mut grant = RefreshGrant::new(
        Provider::Google,
        CLIENT,
        Some(Secret::new(CLIENT_SECRET)),
        Secret::new(refresh_token),
    );
    // A preset pointed at the local endpoint, as the spec allows.
    grant.token_url = Some(endpoint.token_url());
    grant
}

fn config(smtp: &TestServer, endpoint: &OAuthServer, grant: RefreshGrant) -> Config {
    let mut config = config_for("127.0.0.1", smtp, Security::StartTls);
    endpoint.trust(&mut config);
    config.credentials = Some(Credentials::OAuth2 {
        username: USER.into(),
        token: TokenSource::Refresh(grant),
    });
    config
}

/// Every secret the endpoint handed out or was given, for the no-leak checks.
fn secrets(endpoint: &OAuthServer) -> Vec<String> {
    let state = endpoint.state();
    let mut all = vec![REFRESH.to_string(), CLIENT_SECRET.to_string()];
    for what in ["access_tokens", "refresh_tokens"] {
        all.extend(state[what].as_object().unwrap().keys().cloned());
    }
    all
}

fn assert_no_secret(texts: &[&str], secrets: &[String]) {
    for text in texts {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
    }
}

fn assert_error_clean(error: &Error, client: &Client, endpoint: &OAuthServer, extra: &[&str]) {
    let mut all = secrets(endpoint);
    all.extend(extra.iter().map(|s| s.to_string()));
    let message = error.message();
    let shown = error.to_string();
    let debug = format!("{error:?}");
    assert_no_secret(
        &[
            &message,
            &shown,
            &debug,
            error.hint(),
            error.transcript(),
            &client.transcript(),
        ],
        &all,
    );
}

#[test]
fn a_refresh_grant_sends_and_keeps_every_secret_out_of_the_transcript() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let mut client = Client::new(config(&smtp, &endpoint, grant(&endpoint, REFRESH))).unwrap();
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(smtp.messages()[0].auth_user.as_deref(), Some(USER));
    assert_eq!(endpoint.refreshes(), 1);
    let form = &endpoint.state()["last_form"];
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["client_id"], CLIENT);
    assert_eq!(
        form["scope"], "https://mail.google.com/",
        "the Google preset's scope"
    );
    let transcript = client.transcript();
    assert!(
        transcript.contains("refreshing the OAuth2 access token"),
        "{transcript}"
    );
    assert!(
        transcript.contains("AUTH XOAUTH2 <redacted>"),
        "{transcript}"
    );
    assert_no_secret(
        &[&transcript, &format!("{:?}", client.config())],
        &secrets(&endpoint),
    );
}

#[test]
fn two_clients_share_one_refresh() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
    let mut first = Client::new(config.clone()).unwrap();
    let mut second = Client::new(config).unwrap();
    first.send_bytes(&envelope(), MESSAGE).unwrap();
    second.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!(
        endpoint.refreshes(),
        1,
        "the second client used the cached token"
    );
    assert!(
        second
            .transcript()
            .contains("using the cached OAuth2 access token")
    );
}

#[test]
fn a_pooled_session_is_not_reused_after_its_token_expired() {
    let endpoint = endpoint(&["--access-lifetime", "3"]);
    let smtp = endpoint.smtp_server(&[]);
    let mut config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
    config.persistent = true;
    {
        let mut client = Client::new(config.clone()).unwrap();
        client.send_bytes(&envelope(), MESSAGE).unwrap();
        // Dropped: the session goes to the pool.
    }
    // Within the token's life, the pooled session serves the next client, even one whose
    // rotation callback is another (a php-fpm request makes its own for the same grant).
    {
        let mut other = grant(&endpoint, REFRESH);
        other.on_rotation = Some(Arc::new(|_: &str, _: &str| {}));
        let mut next = config.clone();
        next.credentials = Some(Credentials::OAuth2 {
            username: USER.into(),
            token: TokenSource::Refresh(other),
        });
        let mut client = Client::new(next).unwrap();
        client.send_bytes(&envelope(), MESSAGE).unwrap();
        assert!(client.transcript().contains("reusing a pooled connection"));
    }
    assert_eq!(smtp.connections(), 1);
    std::thread::sleep(Duration::from_millis(3500));
    let mut client = Client::new(config).unwrap();
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    assert!(!client.transcript().contains("reusing a pooled connection"));
    assert_eq!(smtp.connections(), 2, "a new connection for the new token");
    assert_eq!(endpoint.refreshes(), 2);
    assert_eq!(smtp.messages().len(), 3);
}

#[test]
fn a_kept_session_reconnects_once_its_token_expired() {
    let endpoint = endpoint(&["--access-lifetime", "3"]);
    let smtp = endpoint.smtp_server(&[]);
    let mut client = Client::new(config(&smtp, &endpoint, grant(&endpoint, REFRESH))).unwrap();
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    assert!(
        client.transcript().contains("past its life"),
        "{}",
        client.transcript()
    );
    assert_eq!(smtp.connections(), 2);
    assert_eq!(endpoint.refreshes(), 2);
}

#[test]
fn a_rotated_refresh_token_reaches_the_callback_and_old_configs_keep_working() {
    let endpoint = endpoint(&["--rotate"]);
    let smtp = endpoint.smtp_server(&[]);
    let rotated: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut with_callback = grant(&endpoint, REFRESH);
    let seen = rotated.clone();
    with_callback.on_rotation = Some(Arc::new(move |user: &str, token: &str| {
        seen.lock()
            .unwrap()
            .push((user.to_string(), token.to_string()));
    }));
    let mut client = Client::new(config(&smtp, &endpoint, with_callback.clone())).unwrap();
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    let first = rotated.lock().unwrap().clone();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, USER);
    let new_refresh = first[0].1.clone();
    assert_ne!(new_refresh, REFRESH);
    let live: Vec<String> = endpoint.state()["refresh_tokens"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        live,
        std::slice::from_ref(&new_refresh),
        "the old refresh token was retired"
    );

    // The access token dies at the endpoint; a config still made with the old refresh token
    // (the site's storage lagging) refreshes with the rotated one the cache keeps.
    endpoint.control(json!({"expire_access": "all"}));
    let mut old = Client::new(config(&smtp, &endpoint, with_callback)).unwrap();
    old.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(endpoint.refreshes(), 2);
    assert_eq!(rotated.lock().unwrap().len(), 2, "the second rotation too");
    assert_eq!(smtp.messages().len(), 2);
    let mut all = secrets(&endpoint);
    all.push(new_refresh);
    assert_no_secret(&[&client.transcript(), &old.transcript()], &all);
}

#[test]
fn a_refused_token_is_refreshed_once_and_authentication_retried_on_a_new_connection() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
    Client::new(config.clone())
        .unwrap()
        .send_bytes(&envelope(), MESSAGE)
        .unwrap();
    let revoked = endpoint.access_tokens().pop().unwrap();
    endpoint.control(json!({"revoke_access": revoked}));
    let mut client = Client::new(config).unwrap();
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(endpoint.refreshes(), 2);
    assert_eq!(smtp.messages().len(), 2);
    let transcript = client.transcript();
    assert!(
        transcript.contains("trying once more with a new token"),
        "{transcript}"
    );
    let mut all = secrets(&endpoint);
    all.push(revoked);
    assert_no_secret(&[&transcript], &all);
}

#[test]
fn a_second_refusal_fails_without_a_loop() {
    let issuer = endpoint(&[]);
    // The SMTP server asks another endpoint, which knows none of the issuer's tokens.
    let stranger = endpoint(&[]);
    let smtp = stranger.smtp_server(&[]);
    let mut client = Client::new(config(&smtp, &issuer, grant(&issuer, REFRESH))).unwrap();
    let error = client.send_bytes(&envelope(), MESSAGE).unwrap_err();
    assert_eq!(error.kind(), Kind::AuthFailed, "{error}");
    assert_eq!(
        issuer.refreshes(),
        2,
        "one refresh, then one more after the refusal"
    );
    assert_eq!(smtp.events_named("AUTH").len(), 2, "{:?}", smtp.events());
    assert!(
        error.hint().contains("OAuth2 access token"),
        "{}",
        error.hint()
    );
    assert_error_clean(&error, &client, &issuer, &[]);
}

#[test]
fn each_failure_of_the_token_endpoint_has_its_kind_and_hint() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let cases = [
        (
            "invalid_grant",
            Kind::OAuthInvalidGrant,
            "consent again",
            false,
        ),
        (
            "invalid_client",
            Kind::OAuthInvalidClient,
            "app registration",
            false,
        ),
        ("invalid_scope", Kind::OAuthScope, "scope", false),
        (
            "error500",
            Kind::OAuthEndpointUnreachable,
            "Trying again later",
            true,
        ),
        (
            "stall",
            Kind::OAuthEndpointUnreachable,
            "Trying again later",
            true,
        ),
    ];
    for (mode, kind, hint, transient) in cases {
        endpoint.control(json!({"mode": mode}));
        let mut config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
        // The stall is bounded by the command timeout.
        config.timeouts.command = Duration::from_secs(2);
        let mut client = Client::new(config).unwrap();
        let error = client.send_bytes(&envelope(), MESSAGE).unwrap_err();
        assert_eq!(error.kind(), kind, "{mode}: {error}");
        assert!(error.hint().contains(hint), "{mode}: {}", error.hint());
        assert_eq!(error.is_transient(), transient, "{mode}");
        assert!(
            error.message().contains(&endpoint.token_url()),
            "{mode}: {error}"
        );
        assert!(smtp.messages().is_empty());
        assert_error_clean(&error, &client, &endpoint, &[]);
    }
    // The endpoint's own words reach the message (Microsoft's AADSTS codes say the most).
    endpoint.control(json!({"mode": "invalid_grant"}));
    let error = Client::new(config(&smtp, &endpoint, grant(&endpoint, REFRESH)))
        .unwrap()
        .send_bytes(&envelope(), MESSAGE)
        .unwrap_err();
    assert!(error.message().contains("AADSTS70008"), "{error}");
    assert!(
        error.hint().contains("mailport oauth login"),
        "{}",
        error.hint()
    );
    assert!(
        error.hint().contains("`TokenSource::Refresh"),
        "{}",
        error.hint()
    );
}

#[test]
fn an_unknown_refresh_token_is_invalid_grant_and_a_public_client_sends_no_secret() {
    let endpoint = OAuthServer::start(&["--refresh-token", &format!("{USER}:{REFRESH}")]);
    let smtp = endpoint.smtp_server(&[]);
    let mut public = RefreshGrant::new(
        Provider::Microsoft,
        "mailport-test",
        None,
        Secret::new(REFRESH),
    );
    public.token_url = Some(endpoint.token_url());
    Client::new(config(&smtp, &endpoint, public.clone()))
        .unwrap()
        .send_bytes(&envelope(), MESSAGE)
        .unwrap();
    let form = &endpoint.state()["last_form"];
    assert!(form.get("client_secret").is_none(), "{form}");
    assert_eq!(
        form["scope"],
        "https://outlook.office.com/SMTP.Send offline_access"
    );

    public.refresh_token = Secret::new("rt-never-issued-0000");
    let mut client = Client::new(config(&smtp, &endpoint, public)).unwrap();
    let error = client.send_bytes(&envelope(), MESSAGE).unwrap_err();
    assert_eq!(error.kind(), Kind::OAuthInvalidGrant, "{error}");
    assert!(error.message().contains("Microsoft"), "{error}");
    assert_error_clean(&error, &client, &endpoint, &["rt-never-issued-0000"]);
}

#[test]
fn a_token_without_the_smtp_scope_is_reported_as_such() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&["--oauth-require-scope", "https://mail.google.com/"]);
    let mut narrow = grant(&endpoint, REFRESH);
    narrow.scope = Some("email profile".into());
    let mut client = Client::new(config(&smtp, &endpoint, narrow)).unwrap();
    let error = client.send_bytes(&envelope(), MESSAGE).unwrap_err();
    assert_eq!(error.kind(), Kind::OAuthScope, "{error}");
    assert!(
        error.message().contains("without https://mail.google.com/"),
        "{error}"
    );
    assert_eq!(
        endpoint.refreshes(),
        1,
        "another refresh would not add the scope"
    );
    assert_error_clean(&error, &client, &endpoint, &[]);
}

#[test]
fn the_endpoints_certificate_is_verified_like_the_smtp_servers() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let mut config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
    config.tls.ca_files.retain(|ca| *ca != endpoint.ca);
    let mut client = Client::new(config).unwrap();
    let error = client.send_bytes(&envelope(), MESSAGE).unwrap_err();
    assert_eq!(error.kind(), Kind::CertificateUntrusted, "{error}");
    assert!(error.message().contains(&endpoint.token_url()), "{error}");
    assert!(error.hint().contains("token endpoint"), "{}", error.hint());
    assert!(
        error.hint().contains("config.tls.ca_files"),
        "{}",
        error.hint()
    );
    assert_eq!(endpoint.refreshes(), 0);
}

#[test]
fn a_token_callback_is_told_when_its_token_was_refused() {
    let smtp = TestServer::start(&[
        "--mode",
        "starttls",
        "--oauth",
        "site@example.test:at-good-1",
    ]);
    let calls: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let seen = calls.clone();
    let callback = TokenCallback::new(move |request: &TokenRequest<'_>| {
        seen.lock()
            .unwrap()
            .push((request.username.to_string(), request.previous_refused));
        let token = if request.previous_refused {
            "at-good-1"
        } else {
            "at-stale-0"
        };
        Ok(CallbackToken {
            token: Secret::new(token),
            expires_in: Some(Duration::from_secs(3600)),
        })
    });
    let mut config = config_for("127.0.0.1", &smtp, Security::StartTls);
    config.credentials = Some(Credentials::OAuth2 {
        username: USER.into(),
        token: TokenSource::Callback(callback),
    });
    let mut client = Client::new(config).unwrap();
    client.send_bytes(&envelope(), MESSAGE).unwrap();
    assert_eq!(
        *calls.lock().unwrap(),
        [(USER.to_string(), false), (USER.to_string(), true)]
    );
    assert_no_secret(
        &[&client.transcript()],
        &["at-good-1".into(), "at-stale-0".into()],
    );

    let failing = TokenCallback::new(|_: &TokenRequest<'_>| Err("the vault is sealed".to_string()));
    let mut config = config_for("127.0.0.1", &smtp, Security::StartTls);
    config.credentials = Some(Credentials::OAuth2 {
        username: USER.into(),
        token: TokenSource::Callback(failing),
    });
    let error = Client::new(config)
        .unwrap()
        .send_bytes(&envelope(), MESSAGE)
        .unwrap_err();
    assert_eq!(error.kind(), Kind::OAuthCallback, "{error}");
    assert!(error.message().contains("the vault is sealed"), "{error}");
}

#[test]
fn the_mechanism_can_be_chosen() {
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let mut config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
    config.auth_mechanism = Some(Mechanism::OAuthBearer);
    Client::new(config.clone())
        .unwrap()
        .send_bytes(&envelope(), MESSAGE)
        .unwrap();
    assert_eq!(smtp.events_named("AUTH"), ["1 AUTH OAUTHBEARER"]);
    config.auth_mechanism = Some(Mechanism::Plain);
    let error = Client::new(config)
        .err()
        .expect("PLAIN cannot carry a token");
    assert_eq!(error.kind(), Kind::InvalidInput);
    assert!(error.message().contains("auth mechanism: PLAIN"), "{error}");
}

#[test]
fn the_connection_check_tests_the_refresh_without_sending() {
    use mailport::diagnose::probe::{ProbeOptions, probe};
    let endpoint = endpoint(&[]);
    let smtp = endpoint.smtp_server(&[]);
    let config = config(&smtp, &endpoint, grant(&endpoint, REFRESH));
    let options = ProbeOptions::with_ports(&[smtp.port]);
    let report = probe(&config, &options).unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "oauth_refresh_ok")
        .unwrap_or_else(|| panic!("{:#?}", report.findings));
    assert!(
        finding.message.contains("usable for"),
        "{}",
        finding.message
    );
    assert!(smtp.messages().is_empty());
    assert!(endpoint.refreshes() >= 1);

    endpoint.control(json!({"mode": "invalid_grant"}));
    let report = probe(&config, &options).unwrap();
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "oauth_refresh_failed")
        .unwrap_or_else(|| panic!("{:#?}", report.findings));
    assert!(
        finding.message.contains("oauth_invalid_grant"),
        "{}",
        finding.message
    );
    assert!(finding.hint.contains("consent again"), "{}", finding.hint);
    assert_no_secret(&[&report.to_json()], &secrets(&endpoint));
}
