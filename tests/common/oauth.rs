//! The local OAuth 2.0 token endpoint for tests: `tests/servers/oauth_server.py` over TLS on
//! 127.0.0.1 with a CA made at start (see its docstring), and the aiosmtpd server checking the
//! tokens it issued through its introspection endpoint.
//!
//! Included with `#[path = "common/oauth.rs"] mod oauth;` next to `mod common;`.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mailport::{Config, TlsOptions};

use super::common::{TestServer, python, unique_temp_dir, wait_ready};

/// A running oauth_server.py, stopped (and its directory removed) on drop.
pub struct OAuthServer {
    pub url: String,
    /// The CA (PEM) that signed the endpoint's certificate.
    pub ca: PathBuf,
    pub dir: PathBuf,
    child: Child,
    agent: ureq::Agent,
}

impl OAuthServer {
    /// Start the server with `args` (see its `--help`).
    pub fn start(args: &[&str]) -> OAuthServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/oauth_server.py");
        let dir = unique_temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut child = Command::new(python())
            .arg("-u")
            .arg(&script)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            // It exits when its stdin closes, i.e. when this process goes away.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("cannot run python3 tests/servers/oauth_server.py");
        let stdout = child.stdout.take().unwrap();
        let (json, _) = wait_ready(stdout, Duration::from_secs(20)).unwrap_or_else(|(why, out)| {
            let _ = child.kill();
            let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            panic!("oauth_server.py did not start: {why}\n{out}\n{stderr}")
        });
        let ready: serde_json::Value = serde_json::from_str(&json).unwrap();
        let url = ready["url"].as_str().unwrap().to_string();
        let ca = PathBuf::from(ready["ca"].as_str().unwrap());
        let tls = mailport::tls::client_config(&TlsOptions {
            ca_files: vec![ca.clone()],
            webpki_roots: false,
            system_roots: false,
            ..TlsOptions::default()
        })
        .unwrap();
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls)
            .timeout(Duration::from_secs(10))
            .build();
        OAuthServer {
            url,
            ca,
            dir,
            child,
            agent,
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    pub fn introspect_url(&self) -> String {
        format!("{}/introspect", self.url)
    }

    /// POST /control with `json`; answers the state.
    pub fn control(&self, json: serde_json::Value) -> serde_json::Value {
        let body = self
            .agent
            .post(&format!("{}/control", self.url))
            .set("Content-Type", "application/json")
            .send_string(&json.to_string())
            .expect("POST /control")
            .into_string()
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// GET /state.
    pub fn state(&self) -> serde_json::Value {
        let body = self
            .agent
            .get(&format!("{}/state", self.url))
            .call()
            .expect("GET /state")
            .into_string()
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// How many refresh grants the endpoint answered (successful or not).
    pub fn refreshes(&self) -> u64 {
        self.state()["grants"]["refresh_token"].as_u64().unwrap()
    }

    /// The access tokens currently live.
    pub fn access_tokens(&self) -> Vec<String> {
        self.state()["access_tokens"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// Trust this endpoint's CA in `config` (besides what it trusts already).
    pub fn trust(&self, config: &mut Config) {
        config.tls.ca_files.push(self.ca.clone());
    }

    /// An aiosmtpd server (STARTTLS) that accepts the tokens this endpoint says are active.
    pub fn smtp_server(&self, extra: &[&str]) -> TestServer {
        let introspect = self.introspect_url();
        let ca = self.ca.display().to_string();
        let mut args = vec![
            "--mode",
            "starttls",
            "--oauth-introspect",
            &introspect,
            "--oauth-ca",
            &ca,
        ];
        args.extend_from_slice(extra);
        TestServer::start(&args)
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
