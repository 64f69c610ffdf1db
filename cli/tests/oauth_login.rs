//! `mailport oauth login`, run as the built binary against the local OAuth server
//! (tests/servers/oauth_server.py, TLS with a CA made at test time): the device grant with the
//! test approving the code as the user would, the loopback redirect with PKCE with the test
//! playing the browser, the refresh token written 0600 or printed, and the refusals.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../../tests/common/oauth_server.rs"]
mod oauth_server;
mod support;

use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use oauth_server::OAuthServer;
use serde_json::json;
use support::Run;
use support::background::{Background, spawn};

const ACCOUNT: &str = "ann@example.test";
const SECRET_VAR: &str = "MAILPORT_TEST_CLIENT_SECRET";
const SECRET: &str = "GOCSPX-client-secret-42";

/// `oauth login` against `server` for `provider`, its endpoints pointed at the server, and
/// `rest`.
fn login_args(server: &OAuthServer, provider: &str, rest: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "oauth",
        "login",
        "--provider",
        provider,
        "--token-url",
        &server.at("/token"),
        "--ca-file",
        server.ca_str(),
        "--timeout",
        "60",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The user code the device flow shows ("... and enter the code ABCD1234").
fn user_code(login: &Background) -> String {
    login.find_line(|line| {
        line.split_once("enter the code ")
            .map(|(_, code)| code.trim().to_string())
    })
}

/// The authorization URL the loopback flow prints, indented on a line of its own.
fn authorization_url(login: &Background) -> String {
    login.find_line(|line| {
        let line = line.trim();
        (line.starts_with("https://") && line.contains("code_challenge=")).then(|| line.to_string())
    })
}

/// A login with the loopback flow and PKCE at `provider` (`extra` added), played as far as the
/// browser goes on its own: the running login, the authorization URL it printed, and where
/// the provider's redirect sends the browser back (the login's loopback listener), not followed.
struct Redirected {
    login: Background,
    url: String,
    back: String,
}

fn loopback_login(
    server: &OAuthServer,
    provider: &str,
    client_id: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Redirected {
    let authorize = server.at("/authorize");
    let mut rest = vec![
        "--client-id",
        client_id,
        "--authorization-url",
        &authorize,
        "--print",
    ];
    rest.extend_from_slice(extra);
    let login = spawn(&strs(&login_args(server, provider, &rest)), env);
    let url = authorization_url(&login);
    let consent = server.browse(&url);
    assert_eq!(consent.status, 302, "{consent:?}");
    let back = consent.location.expect("a Location");
    assert!(back.starts_with("http://127.0.0.1:"), "{back}");
    Redirected { login, url, back }
}

fn device_login(server: &OAuthServer, output: &Path) -> Background {
    let args = login_args(
        server,
        "microsoft",
        &[
            "--client-id",
            "mailport-test",
            "--device-authorization-url",
            &server.at("/devicecode"),
            "--user",
            ACCOUNT,
            "--output",
            output.to_str().unwrap(),
        ],
    );
    spawn(&strs(&args), &[])
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

fn no_secrets(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stderr.contains(secret),
            "a secret in stderr:\n{}",
            run.stderr
        );
    }
}

#[test]
fn device_flow_writes_the_refresh_token_0600() {
    let server = OAuthServer::start(&[]);
    let dir = support::temp_dir("device");
    let output = dir.join("refresh-token");
    let login = device_login(&server, &output);
    let code = user_code(&login);
    let approved = server.browse(&server.at(&format!(
        "/device?user_code={code}&approve=1&user={ACCOUNT}"
    )));
    assert_eq!(approved.status, 200, "{}", approved.body);
    let run = login.finish();
    run.expect(0);
    assert_eq!(run.stdout, "", "nothing on stdout with --output");
    assert_eq!(mode(&output), 0o600);
    let token = std::fs::read_to_string(&output).unwrap();
    let live = server.refresh_tokens_of(ACCOUNT);
    assert_eq!(live, vec![token.trim().to_string()]);
    run.stderr_says(&[
        &format!("Signed in at Microsoft as {ACCOUNT}"),
        "--oauth-provider microsoft --oauth-client-id mailport-test",
        &format!("--oauth-refresh-token-file {}", output.display()),
        "mode 0600",
    ]);
    no_secrets(&run, &[token.trim()]);
    let state = server.state();
    assert_eq!(state["grants"]["device_code"], 1);
    // The preset's SMTP scope went with the request (the test server grants it as asked).
    let scope = state["access_tokens"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["scope"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        scope.contains("https://outlook.office.com/SMTP.Send offline_access"),
        "{scope}"
    );
}

#[test]
fn loopback_flow_with_pkce_prints_the_token() {
    let server = OAuthServer::start(&["--client", &format!("desktop-app:{SECRET}")]);
    // The browser: the provider consents at once and redirects to the loopback listener.
    let Redirected { login, url, back } = loopback_login(
        &server,
        "google",
        "desktop-app",
        &["--client-secret-env", SECRET_VAR, "--user", ACCOUNT],
        &[(SECRET_VAR, SECRET)],
    );
    assert!(
        url.contains("access_type=offline") && url.contains("prompt=consent"),
        "{url}"
    );
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let page = server.browse(&back);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Signed in"), "{}", page.body);
    let run = login.finish();
    run.expect(0);
    let live = server.refresh_tokens_of(ACCOUNT);
    assert_eq!(live.len(), 1);
    assert_eq!(
        run.stdout,
        format!("{}\n", live[0]),
        "only the token on stdout"
    );
    run.stderr_says(&[
        "Signed in at Google as",
        "--oauth-provider google",
        "--oauth-client-secret-env MAILPORT_TEST_CLIENT_SECRET",
    ]);
    no_secrets(&run, &[&live[0], SECRET]);
    assert_eq!(server.state()["grants"]["authorization_code"], 1);
}

#[test]
fn a_forged_redirect_is_ignored_and_the_real_one_accepted() {
    let server = OAuthServer::start(&[]);
    let Redirected { login, back, .. } =
        loopback_login(&server, "custom", "mailport-test", &[], &[]);
    // A browser's speculative connection that never sends a request must not hold up the
    // others: it stays open for the rest of the test.
    let port_part = back.split('?').next().unwrap();
    let listener_addr = port_part
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let _silent = std::net::TcpStream::connect(&listener_addr).unwrap();
    // Another page sending its own code to the listener: wrong state, not used.
    let forged = server.browse(&format!("{port_part}?code=ac-forged&state=not-ours"));
    assert_eq!(forged.status, 400);
    let bare = server.browse(port_part);
    assert_eq!(bare.status, 400, "a request without the answer is not it");
    let favicon = server.browse(&format!("{port_part}favicon.ico"));
    assert_eq!(favicon.status, 404);
    assert_eq!(server.browse(&back).status, 200);
    let run = login.finish();
    run.expect(0);
    assert_eq!(run.stdout.lines().count(), 1);
}

#[test]
fn a_refused_consent_ends_the_login_with_a_clear_error() {
    let server = OAuthServer::start(&[]);
    let dir = support::temp_dir("denied");
    let output = dir.join("token");
    // Device flow: the user refuses on the provider's page.
    let login = device_login(&server, &output);
    let code = user_code(&login);
    server.browse(&server.at(&format!("/device?user_code={code}&approve=0")));
    let run = login.finish();
    run.expect(6).stderr_says(&[
        "access_denied",
        "consent was not given",
        "Run the login again",
    ]);
    assert!(!output.exists(), "no file without a token");

    // Loopback flow: the provider redirects back with error=access_denied.
    server.control(json!({"mode": "deny"}));
    let Redirected { login, back, .. } =
        loopback_login(&server, "google", "mailport-test", &[], &[]);
    assert!(back.contains("error=access_denied"), "{back}");
    let page = server.browse(&back);
    assert!(page.body.contains("did not succeed"), "{}", page.body);
    let run = login.finish();
    run.expect(6)
        .stderr_says(&["access_denied", "Run the login again"]);
    assert_eq!(run.stdout, "");
}

#[test]
fn an_expired_device_code_ends_the_login_with_a_clear_error() {
    let server = OAuthServer::start(&[]);
    let dir = support::temp_dir("expired");
    let login = device_login(&server, &dir.join("token"));
    user_code(&login);
    server.control(json!({"expire_devices": "all"}));
    let run = login.finish();
    run.expect(6)
        .stderr_says(&["the code expired", "Run the login again"]);

    // Our own limit, before the provider's: it names the flag that sets it.
    let dev = server.at("/devicecode");
    let token = server.at("/token");
    let args = [
        "oauth",
        "login",
        "--provider",
        "microsoft",
        "--client-id",
        "mailport-test",
        "--device-authorization-url",
        &dev,
        "--token-url",
        &token,
        "--ca-file",
        server.ca_str(),
        "--timeout",
        "1",
        "--print",
    ];
    let run = spawn(&args, &[]).finish();
    run.expect(6)
        .stderr_says(&["not finished within the time allowed", "--timeout SECONDS"]);
}

#[test]
fn an_unreachable_endpoint_exits_4_with_a_hint() {
    // A port nothing listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("https://127.0.0.1:{port}");
    let run = support::run_mailport(
        &[
            "oauth",
            "login",
            "--provider",
            "microsoft",
            "--client-id",
            "mailport-test",
            "--device-authorization-url",
            &format!("{base}/devicecode"),
            "--token-url",
            &format!("{base}/token"),
            "--print",
        ],
        &[],
        &[],
        None,
    );
    run.expect(4).stderr_says(&[
        "the connection failed",
        "Check that this machine can reach 127.0.0.1",
    ]);
    assert_eq!(run.stdout, "");
}

#[test]
fn the_endpoint_refusing_the_client_says_what_to_check() {
    let server = OAuthServer::start(&[]);
    let dir = support::temp_dir("client");
    let args = login_args(
        &server,
        "microsoft",
        &[
            "--client-id",
            "unknown-client",
            "--device-authorization-url",
            &server.at("/devicecode"),
            "--output",
            dir.join("t").to_str().unwrap(),
        ],
    );
    let run = spawn(&strs(&args), &[]).finish();
    run.expect(6)
        .stderr_says(&["invalid_client", "--client-id", "Allow public client flows"]);
}

#[test]
fn bad_options_are_refused_before_anything_is_asked() {
    let server = OAuthServer::start(&[]);
    let dir = support::temp_dir("bad");
    let out = dir.join("t");
    let out = out.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["oauth", "login", "--client-id", "mailport-test"];
        args.extend_from_slice(extra);
        support::run_mailport(&args, &[], &["DISPLAY"], None)
    };
    // Neither --output nor --print.
    run(&["--provider", "microsoft"]).expect(2);
    run(&["--provider", "microsoft", "--print", "--output", out]).expect(2);
    run(&["--provider", "custom", "--print"])
        .expect(2)
        .stderr_says(&["--token-url"]);
    run(&["--provider", "google", "--tenant", "contoso", "--print"])
        .expect(2)
        .stderr_says(&["--tenant is Microsoft's setting"]);
    run(&[
        "--provider",
        "custom",
        "--token-url",
        &server.at("/token"),
        "--print",
    ])
    .expect(3)
    .stderr_says(&["--device-authorization-url", "--authorization-url"]);
    run(&["--provider", "google", "--flow", "device", "--print"])
        .expect(3)
        .stderr_says(&["Gmail scope", "--flow loopback"]);
    run(&[
        "--provider",
        "microsoft",
        "--client-secret-env",
        "MAILPORT_TEST_UNSET_VAR",
        "--print",
    ])
    .expect(3)
    .stderr_says(&["MAILPORT_TEST_UNSET_VAR is not set"]);
    run(&[
        "--provider",
        "microsoft",
        "--token-url",
        "http://example.com/token",
        "--print",
    ])
    .expect(3)
    .stderr_says(&["https"]);
    let target = dir.join("elsewhere");
    std::fs::write(&target, "").unwrap();
    let link = dir.join("link");
    symlink(&target, &link).unwrap();
    run(&[
        "--provider",
        "microsoft",
        "--output",
        link.to_str().unwrap(),
    ])
    .expect(3)
    .stderr_says(&["symbolic link"]);
    run(&["--provider", "microsoft", "--output", "/nonexistent-dir/t"])
        .expect(3)
        .stderr_says(&["does not exist"]);
    // None of these reached the server.
    assert_eq!(server.state()["grants"]["device_code"], 0);
}
