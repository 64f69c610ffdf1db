//! `mailport send` and `mailport check` with OAuth 2.0, run as the built binary: the access
//! tokens come from the local OAuth server (tests/servers/oauth_server.py, TLS), and aiosmtpd
//! accepts only the tokens that server's introspection says are live — so a token is checked
//! by a server, not by the test. The refresh token file is rewritten when the token rotates;
//! no token or secret appears in any output.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/oauth_server.rs"]
mod oauth_server;
mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::TestServer;
use oauth_server::OAuthServer;
use serde_json::json;
use support::Run;

const ACCOUNT: &str = "ann@example.test";
const FIRST_REFRESH: &str = "rt-first-refresh-token-0123456789";
const SECRET_VAR: &str = "MAILPORT_TEST_OAUTH_CLIENT_SECRET";
const SECRET: &str = "client-secret-9876543210";
const TOKEN_VAR: &str = "MAILPORT_TEST_OAUTH_ACCESS_TOKEN";
const MS_SCOPE: &str = "https://outlook.office.com/SMTP.Send offline_access";

/// aiosmtpd with STARTTLS, checking bearer tokens at `oauth`'s introspection endpoint.
fn smtp_server(oauth: &OAuthServer) -> TestServer {
    TestServer::start(&[
        "--mode",
        "starttls",
        "--hostname",
        "localhost",
        "--oauth-introspect",
        &oauth.at("/introspect"),
        "--oauth-ca",
        oauth.ca_str(),
    ])
}

/// The token endpoint with `FIRST_REFRESH` valid for `ACCOUNT`, and `extra` options.
fn oauth_server(extra: &[&str]) -> OAuthServer {
    let refresh = format!("{ACCOUNT}:{FIRST_REFRESH}");
    let mut args = vec!["--refresh-token", refresh.as_str()];
    args.extend_from_slice(extra);
    OAuthServer::start(&args)
}

/// A refresh token file holding `FIRST_REFRESH`, mode 0600.
fn token_file(name: &str) -> PathBuf {
    let dir = support::temp_dir(name);
    let path = dir.join("refresh-token");
    std::fs::write(&path, format!("{FIRST_REFRESH}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `send` to `smtp` trusting both CAs, with `rest`.
fn send(smtp: &TestServer, oauth: &OAuthServer, rest: &[&str], env: &[(&str, &str)]) -> Run {
    let server = format!("localhost:{}", smtp.port);
    let mut args = vec![
        "send",
        "--server",
        &server,
        "--ca-file",
        s(&smtp.ca),
        "--ca-file",
        oauth.ca_str(),
        "--timeout",
        "30",
        "--from",
        ACCOUNT,
        "--to",
        "to@example.com",
        "--subject",
        "OAuth",
        "--transcript",
    ];
    args.extend_from_slice(rest);
    support::run_mailport(&args, env, &[SECRET_VAR, TOKEN_VAR, "DISPLAY"], None)
}

/// The refresh grant's flags for the custom provider at `oauth`, with the token file.
fn custom_grant(oauth: &OAuthServer, file: &Path) -> Vec<String> {
    [
        "--user",
        ACCOUNT,
        "--oauth-provider",
        "custom",
        "--oauth-token-url",
        &oauth.at("/token"),
        "--oauth-client-id",
        "mailport-test",
        "--oauth-refresh-token-file",
        s(file),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Every token the OAuth server knows of (live or retired ones we saw), and `also`: none may
/// appear in `run`'s output.
fn no_tokens(run: &Run, oauth: &OAuthServer, also: &[&str]) {
    let state = oauth.state();
    let mut secrets: Vec<String> = also.iter().map(|s| s.to_string()).collect();
    secrets.extend(state["refresh_tokens"].as_object().unwrap().keys().cloned());
    secrets.extend(state["access_tokens"].as_object().unwrap().keys().cloned());
    for secret in &secrets {
        assert!(
            !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
            "a token or secret in the output:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn send_with_a_refresh_token_file_that_rotates() {
    let oauth = oauth_server(&["--rotate"]);
    let smtp = smtp_server(&oauth);
    let file = token_file("rotate");
    let run = send(&smtp, &oauth, &strs(&custom_grant(&oauth, &file)), &[]);
    run.expect(0)
        .stderr_says(&["AUTH XOAUTH2", "now holds it (mode 0600)"]);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].auth_user.as_deref(), Some(ACCOUNT));
    // The rotated token replaced the first one, which the server retired.
    let live = oauth.refresh_tokens_of(ACCOUNT);
    assert_eq!(live.len(), 1);
    assert_ne!(live[0], FIRST_REFRESH);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{}\n", live[0])
    );
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);

    // The next run reads the new token and works again.
    let run = send(&smtp, &oauth, &strs(&custom_grant(&oauth, &file)), &[]);
    run.expect(0);
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!(oauth.state()["grants"]["refresh_token"], 2);
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);
}

#[test]
fn a_rotated_token_that_cannot_be_saved_fails_the_run() {
    let oauth = oauth_server(&["--rotate"]);
    let smtp = smtp_server(&oauth);
    let real = token_file("unsaved");
    let link = real.with_file_name("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = send(&smtp, &oauth, &strs(&custom_grant(&oauth, &link)), &[]);
    // The mail went out, but the new token is lost: the run must not look like a success.
    run.expect(3).stderr_says(&[
        "is a symbolic link",
        "could not be written",
        "mailport oauth login",
    ]);
    assert!(run.stdout.contains("sent:"), "{}", run.stdout);
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        format!("{FIRST_REFRESH}\n")
    );
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);
}

#[test]
fn send_with_the_microsoft_preset_pointed_at_the_local_endpoint() {
    let oauth = oauth_server(&["--client", &format!("ms-app:{SECRET}")]);
    let smtp = smtp_server(&oauth);
    let file = token_file("microsoft");
    let run = send(
        &smtp,
        &oauth,
        &[
            "--user",
            ACCOUNT,
            "--oauth-provider",
            "microsoft",
            "--oauth-tenant",
            "contoso.onmicrosoft.com",
            "--oauth-token-url",
            &oauth.at("/token"),
            "--oauth-client-id",
            "ms-app",
            "--oauth-client-secret-env",
            SECRET_VAR,
            "--oauth-refresh-token-file",
            s(&file),
            "--auth-mechanism",
            "oauthbearer",
        ],
        &[(SECRET_VAR, SECRET)],
    );
    run.expect(0).stderr_says(&["AUTH OAUTHBEARER"]);
    let state = oauth.state();
    assert_eq!(state["last_form"]["scope"], MS_SCOPE);
    assert_eq!(state["last_form"]["client_id"], "ms-app");
    // Without rotation the file is left as it was.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{FIRST_REFRESH}\n")
    );
    no_tokens(&run, &oauth, &[FIRST_REFRESH, SECRET]);
}

#[test]
fn send_with_a_fixed_access_token_from_the_environment() {
    let oauth = oauth_server(&[]);
    let smtp = TestServer::start(&[
        "--mode",
        "starttls",
        "--hostname",
        "localhost",
        "--oauth",
        &format!("{ACCOUNT}:at-fixed-token-42"),
    ]);
    let args = ["--user", ACCOUNT, "--oauth-access-token-env", TOKEN_VAR];
    let run = send(&smtp, &oauth, &args, &[(TOKEN_VAR, "at-fixed-token-42")]);
    run.expect(0);
    assert_eq!(smtp.messages()[0].auth_user.as_deref(), Some(ACCOUNT));
    no_tokens(&run, &oauth, &["at-fixed-token-42"]);
    let run = send(&smtp, &oauth, &args, &[(TOKEN_VAR, "at-wrong-token")]);
    run.expect(6);
    no_tokens(&run, &oauth, &["at-wrong-token"]);
    let run = send(&smtp, &oauth, &args, &[(TOKEN_VAR, "")]);
    run.expect(3)
        .stderr_says(&["--oauth-access-token-env", "is empty"]);
}

#[test]
fn a_revoked_refresh_token_says_to_sign_in_again() {
    let oauth = oauth_server(&[]);
    let smtp = smtp_server(&oauth);
    let file = token_file("revoked");
    oauth.control(json!({"revoke_refresh": FIRST_REFRESH}));
    let run = send(&smtp, &oauth, &strs(&custom_grant(&oauth, &file)), &[]);
    run.expect(6)
        .stderr_says(&["invalid_grant", "mailport oauth login"]);
    assert!(smtp.messages().is_empty());
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);
}

#[test]
fn check_tests_a_refresh_without_sending() {
    let oauth = oauth_server(&[]);
    let smtp = smtp_server(&oauth);
    let file = token_file("check");
    let ports = smtp.port.to_string();
    let check = || {
        let mut args = vec![
            "check".to_string(),
            "localhost".into(),
            "--ports".into(),
            ports.clone(),
            "--ca-file".into(),
            s(&smtp.ca).into(),
            "--ca-file".into(),
            oauth.ca_str().into(),
            "--timeout".into(),
            "20".into(),
        ];
        args.extend(custom_grant(&oauth, &file));
        support::run_mailport(&strs(&args), &[], &["DISPLAY"], None)
    };
    let run = check();
    run.expect(0);
    assert!(
        run.stdout.contains("refresh token") && run.stdout.contains("works"),
        "{}",
        run.stdout
    );
    assert!(oauth.state()["grants"]["refresh_token"].as_u64().unwrap() >= 1);
    assert!(smtp.messages().is_empty(), "a check sends nothing");
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);

    oauth.control(json!({"mode": "invalid_grant"}));
    let run = check();
    run.expect(6);
    assert!(
        run.stdout.contains("oauth_invalid_grant") && run.stdout.contains("mailport oauth login"),
        "{}",
        run.stdout
    );
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);
}

#[test]
fn bad_oauth_options_are_refused_before_connecting() {
    let oauth = oauth_server(&[]);
    let file = token_file("bad");
    let token_url = oauth.at("/token");
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "send",
            "--server",
            "localhost:9",
            "--from",
            ACCOUNT,
            "--to",
            "to@example.com",
            "--user",
            ACCOUNT,
        ];
        args.extend_from_slice(extra);
        support::run_mailport(&args, env, &[SECRET_VAR, TOKEN_VAR, "DISPLAY"], None)
    };
    let grant = |provider: &'static str| {
        vec![
            "--oauth-provider",
            provider,
            "--oauth-client-id",
            "mailport-test",
            "--oauth-refresh-token-file",
            s(&file),
        ]
    };
    run(&grant("custom"), &[])
        .expect(2)
        .stderr_says(&["--oauth-provider custom needs --oauth-token-url"]);
    let mut google_tenant = grant("google");
    google_tenant.extend(["--oauth-tenant", "contoso"]);
    run(&google_tenant, &[])
        .expect(2)
        .stderr_says(&["--oauth-tenant is Microsoft's setting"]);
    // A password and OAuth both; OAuth without its client id (clap names the missing flag).
    let mut both = grant("microsoft");
    both.extend(["--password-env", SECRET_VAR]);
    run(&both, &[(SECRET_VAR, "x")]).expect(2);
    run(&["--oauth-provider", "microsoft"], &[])
        .expect(2)
        .stderr_says(&["--oauth-client-id"]);
    run(
        &["--auth-mechanism", "xoauth2", "--password-env", SECRET_VAR],
        &[(SECRET_VAR, "x")],
    )
    .expect(2)
    .stderr_says(&["--auth-mechanism xoauth2 needs an OAuth 2.0 token"]);
    let mut secret = grant("microsoft");
    secret.extend(["--oauth-client-secret-env", SECRET_VAR]);
    run(&secret, &[(SECRET_VAR, "")])
        .expect(3)
        .stderr_says(&["--oauth-client-secret-env", "is empty"]);
    run(
        &[
            "--oauth-provider",
            "custom",
            "--oauth-token-url",
            &token_url,
            "--oauth-client-id",
            "mailport-test",
            "--oauth-refresh-token-file",
            "/nonexistent/refresh-token",
        ],
        &[],
    )
    .expect(3)
    .stderr_says(&["cannot read it", "mailport oauth login"]);
    let empty = file.with_file_name("empty");
    std::fs::write(&empty, "").unwrap();
    let mut args = grant("microsoft");
    args[5] = s(&empty);
    run(&args, &[]).expect(3).stderr_says(&["is empty"]);
    // Readable by others: a warning, and the send goes on (to a port where nothing listens).
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut custom = grant("custom");
    custom.extend(["--oauth-token-url", &token_url, "--ca-file", oauth.ca_str()]);
    let run = run(&custom, &[]);
    run.stderr_says(&["others can read the refresh token (mode 0644)", "chmod 600"]);
    // The token is asked for only once the server offers AUTH: nothing listens there.
    run.expect(4);
    no_tokens(&run, &oauth, &[FIRST_REFRESH]);
    assert_eq!(oauth.state()["grants"]["refresh_token"], 0);
}
