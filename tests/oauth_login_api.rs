//! `mailport::oauth::login`, the first login's protocol as a binding would use it, against the
//! local OAuth server over TLS (tests/servers/oauth_server.py): the device grant's polling rules
//! (authorization_pending, slow_down adding 5 s, the caller's deadline) and the authorization
//! code grant with PKCE (the redirect read back, the code exchanged once and only once).

mod common;
#[path = "common/oauth_server.rs"]
mod oauth_server;

use std::time::{Duration, Instant};

use mailport::oauth::login::{DevicePoll, Login, Redirect};
use mailport::{Kind, Provider, TlsOptions};
use oauth_server::OAuthServer;

fn login(server: &OAuthServer, provider: Provider) -> Login {
    let mut login = Login::new(provider, "mailport-test");
    login.token_url = Some(server.token_url());
    login.device_authorization_url = Some(format!("{}/devicecode", server.url));
    login.authorization_url = Some(format!("{}/authorize", server.url));
    login.tls.ca_files = vec![server.ca.clone()];
    login
}

/// A browser that trusts the server's CA and does not follow redirects.
fn browser(server: &OAuthServer) -> ureq::Agent {
    let tls = mailport::tls::client_config(&TlsOptions {
        ca_files: vec![server.ca.clone()],
        webpki_roots: false,
        system_roots: false,
        ..TlsOptions::default()
    })
    .unwrap();
    ureq::AgentBuilder::new()
        .tls_config(tls)
        .redirects(0)
        .timeout(Duration::from_secs(10))
        .build()
}

#[test]
fn device_grant_polling_rules() {
    let server = OAuthServer::start(&["--device-interval", "2"]);
    let login = login(&server, Provider::Microsoft);
    let mut device = login.start_device().unwrap();
    assert_eq!(device.interval, Duration::from_secs(2));
    assert!(!device.user_code.is_empty());
    assert!(device.verification_uri.ends_with("/device"));
    assert!(matches!(
        login.poll_device(&mut device).unwrap(),
        DevicePoll::Pending
    ));
    // At once again, faster than the interval: slow_down, and 5 s more between polls.
    assert!(matches!(
        login.poll_device(&mut device).unwrap(),
        DevicePoll::SlowDown
    ));
    assert_eq!(device.interval, Duration::from_secs(7));
    // The caller's deadline comes before the next poll would: it ends the wait at once.
    let started = Instant::now();
    let error = login
        .wait_for_device(&mut device, Some(Instant::now() + Duration::from_secs(1)))
        .unwrap_err();
    assert_eq!(error.kind(), Kind::OAuthInvalidGrant);
    assert!(
        error
            .message()
            .contains("not finished within the time allowed")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no poll was due"
    );

    // Approved: the next poll gets the tokens.
    let (status, _) = server.request(
        "GET",
        &format!(
            "/device?user_code={}&approve=1&user=bob@example.test",
            device.user_code
        ),
        None,
    );
    assert_eq!(status, 200);
    device.interval = Duration::from_millis(1);
    let tokens = login.wait_for_device(&mut device, None).unwrap();
    assert!(tokens.refresh_token.is_some());
    assert!(tokens.expires_in.is_some());
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains(tokens.access_token.expose()),
        "Debug redacts: {debug}"
    );
}

#[test]
fn authorization_code_with_pkce_is_exchanged_once() {
    let server = OAuthServer::start(&[]);
    let login = login(&server, Provider::Google);
    let request = login.authorization_request("http://127.0.0.1:9/").unwrap();
    let answer = browser(&server).get(&request.url).call();
    let response = match answer {
        Err(ureq::Error::Status(302, response)) => response,
        Ok(response) if response.status() == 302 => response,
        other => panic!("expected a 302, got {other:?}"),
    };
    let location = response.header("Location").unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let Redirect::Code(code) = request.read_redirect(query).unwrap() else {
        panic!("the redirect to our request is not unrelated: {location}");
    };
    let tokens = login.exchange_code(&request, &code).unwrap();
    assert!(tokens.refresh_token.is_some());
    assert_eq!(server.state()["grants"]["authorization_code"], 1);
    // A code works once (RFC 6749 §4.1.2).
    let again = login.exchange_code(&request, &code).unwrap_err();
    assert_eq!(again.kind(), Kind::OAuthInvalidGrant);
    assert!(!again.message().contains(code.expose()));
    // Another request's verifier does not match this code's challenge.
    let other = login.authorization_request("http://127.0.0.1:9/").unwrap();
    let response = match browser(&server).get(&other.url).call() {
        Err(ureq::Error::Status(302, response)) => response,
        Ok(response) => response,
        Err(e) => panic!("{e}"),
    };
    let location = response.header("Location").unwrap().to_string();
    let Redirect::Code(code) = other
        .read_redirect(location.split_once('?').unwrap().1)
        .unwrap()
    else {
        panic!("no code in {location}");
    };
    let mismatch = login.exchange_code(&request, &code).unwrap_err();
    assert_eq!(mismatch.kind(), Kind::OAuthInvalidGrant);
    assert!(
        mismatch.message().contains("PKCE"),
        "{}",
        mismatch.message()
    );
}
