//! The local OAuth 2.0 authorization server for the tests (`tests/servers/oauth_server.py`:
//! HTTPS on 127.0.0.1 with a throwaway CA, the token endpoint, introspection and its control
//! endpoint), stopped when its handle is dropped, and a tiny HTTPS client (Python's urllib,
//! verifying against the server's CA) for the requests a test makes itself, including the
//! user's browser, which must see a redirect rather than follow it.
//!
//! A test includes it with `#[path = "common/oauth_server.rs"] mod oauth_server;` beside
//! `mod common;` (as `common/mariadb.rs`); the CLI's tests include both by path
//! (`#[path = "../../tests/common/oauth_server.rs"]`).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::Launched;

use serde_json::{Value, json};

/// trustme's CA and the first bind; generous for a loaded CI machine.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// One HTTPS request, described as JSON on stdin so that no token is on a command line:
/// {"method", "url", "ca", "form" | "json", "redirects"}. Prints {"status", "location", "body"}
/// (the body parsed as JSON when it is JSON, else as text). HTTP errors are answers, not
/// failures; with "redirects": false a redirect is one too (its Location in "location").
const HTTPS_REQUEST: &str = r#"
import json, ssl, sys, urllib.error, urllib.parse, urllib.request
spec = json.load(sys.stdin)
context = ssl.create_default_context(cafile=spec["ca"])
handlers = [urllib.request.HTTPSHandler(context=context)]
if not spec.get("redirects", True):
    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    handlers.append(Keep)
opener = urllib.request.build_opener(*handlers)
headers = {}
data = None
if "form" in spec:
    data = urllib.parse.urlencode(spec["form"]).encode()
    headers["Content-Type"] = "application/x-www-form-urlencoded"
elif "json" in spec:
    data = json.dumps(spec["json"]).encode()
    headers["Content-Type"] = "application/json"
request = urllib.request.Request(spec["url"], data=data, headers=headers, method=spec["method"])
try:
    with opener.open(request, timeout=30) as response:
        status, headers, raw = response.status, response.headers, response.read()
except urllib.error.HTTPError as e:
    status, headers, raw = e.code, e.headers, e.read()
try:
    body = json.loads(raw)
except ValueError:
    body = raw.decode("utf-8", "replace")
print(json.dumps({"status": status, "location": headers.get("Location"), "body": body}))
"#;

/// What a browser's request got.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The Location of a redirect, which was not followed.
    pub location: Option<String>,
    /// The body as text (JSON as it was sent).
    pub body: String,
}

/// A running oauth_server.py; stopped (and its directory removed) on drop.
pub struct OAuthServer {
    pub port: u16,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA (PEM) that issued the server's certificate.
    pub ca: PathBuf,
    pub dir: PathBuf,
    launched: Launched<Ready>,
}

#[derive(Clone, serde::Deserialize)]
struct Ready {
    port: u16,
    url: String,
    ca: PathBuf,
    dir: PathBuf,
}

impl OAuthServer {
    /// Start the server with the launcher's options (`--refresh-token USER:TOKEN`,
    /// `--client ID:SECRET`, `--access-lifetime S`, `--rotate`, ...).
    pub fn start(args: &[&str]) -> OAuthServer {
        let dir = crate::common::unique_temp_dir();
        let mut all: Vec<OsString> = vec!["--max-lifetime".into(), "600".into()];
        all.extend(args.iter().map(OsString::from));
        match crate::common::launch::<Ready>("oauth_server.py", &dir, &all, START_DEADLINE) {
            Ok(launched) => {
                let Ready { port, url, ca, dir } = launched.ready.clone();
                OAuthServer {
                    port,
                    url,
                    ca,
                    dir,
                    launched,
                }
            }
            Err(failure) => failure.panic(
                "the OAuth test server",
                &[(
                    "TRUSTME-MISSING",
                    "the OAuth test server needs trustme (pip install trustme)",
                )],
            ),
        }
    }

    /// The RFC 7662 introspection endpoint, which Dovecot's oauth2 passdb calls.
    pub fn introspection_url(&self) -> String {
        format!("{}/introspect", self.url)
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    /// `https://127.0.0.1:<port>` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The CA's path, for a command line.
    pub fn ca_str(&self) -> &str {
        self.ca.to_str().expect("a UTF-8 temporary directory")
    }

    /// One HTTPS request to `path`, verified against the server's CA: (status, JSON body).
    pub fn request(&self, method: &str, path: &str, body: Option<(&str, Value)>) -> (u16, Value) {
        let mut spec = json!({"method": method, "url": self.at(path), "ca": self.ca});
        if let Some((kind, value)) = body {
            spec[kind] = value;
        }
        let answer = self.exchange(&spec, &format!("{method} {path}"));
        (
            answer["status"].as_u64().unwrap() as u16,
            answer["body"].clone(),
        )
    }

    /// A browser's GET of `url` (this server's pages, or the loopback listener a login
    /// redirects to), trusting the server's CA and not following a redirect: the login under
    /// test must get the redirect's target itself.
    pub fn browse(&self, url: &str) -> Answer {
        let spec = json!({"method": "GET", "url": url, "ca": self.ca, "redirects": false});
        let answer = self.exchange(&spec, &format!("GET {url}"));
        Answer {
            status: answer["status"].as_u64().unwrap() as u16,
            location: answer["location"].as_str().map(str::to_string),
            body: match &answer["body"] {
                Value::String(text) => text.clone(),
                json => json.to_string(),
            },
        }
    }

    /// Run HTTPS_REQUEST with `spec`; its answer as JSON. `what` names the request in a
    /// failure.
    fn exchange(&self, spec: &Value, what: &str) -> Value {
        let python = crate::common::python();
        let mut child = Command::new(&python)
            .args(["-c", HTTPS_REQUEST])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(spec.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "HTTPS {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: {e}: {:?}", out.stdout))
    }

    /// A refresh-token grant for the public client `client_id` (RFC 6749 §6): the token
    /// response; panics unless the server issued a token.
    pub fn refresh(&self, client_id: &str, refresh_token: &str) -> Value {
        let form = json!({
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": refresh_token,
        });
        let (status, body) = self.request("POST", "/token", Some(("form", form)));
        assert_eq!(
            status, 200,
            "the token endpoint refused the refresh: {body}"
        );
        assert!(body["access_token"].is_string(), "{body}");
        body
    }

    /// Orders to the control endpoint (`{"revoke_access": T}`, `{"expire_access": "all"}`,
    /// `{"mode": M}`, ...): the state after them.
    pub fn control(&self, orders: Value) -> Value {
        let (status, body) = self.request("POST", "/control", Some(("json", orders)));
        assert_eq!(status, 200, "{body}");
        body
    }

    /// What the server knows: grants counted, live tokens, the last form (secrets redacted).
    pub fn state(&self) -> Value {
        let (status, body) = self.request("GET", "/state", None);
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The live refresh tokens of `user`.
    pub fn refresh_tokens_of(&self, user: &str) -> Vec<String> {
        let state = self.state();
        state["refresh_tokens"]
            .as_object()
            .expect("the state's refresh_tokens")
            .iter()
            .filter(|(_, owner)| owner.as_str() == Some(user))
            .map(|(token, _)| token.clone())
            .collect()
    }

    /// The server's request log: method, path, grant and outcome, one line a request.
    pub fn requests_log(&self) -> String {
        fs::read_to_string(self.dir.join("requests.log")).unwrap_or_default()
    }

    /// Wait until the request log has a line containing `needle` (the log is written by the
    /// server's handler thread, after it answered).
    pub fn wait_for_request(&self, needle: &str) {
        crate::common::wait_until(
            Duration::from_secs(10),
            || self.requests_log().lines().any(|l| l.contains(needle)),
            || {
                format!(
                    "no request {needle:?} in the OAuth server's log:\n{}",
                    self.requests_log()
                )
            },
        );
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        self.launched.stop(Duration::from_secs(10), &self.dir);
    }
}
