//! What the OAuth refresh tests add to `common/oauth_server.rs`: an aiosmtpd server that checks
//! bearer tokens through the token endpoint's introspection, trusting the endpoint's CA in a
//! config, and the counts read from the endpoint's state.
//!
//! A test includes it after `mod common;` and
//! `#[path = "common/oauth_server.rs"] mod oauth_server;` with
//! `#[path = "common/oauth_smtp.rs"] mod oauth_smtp;`.

#![allow(dead_code)] // each test binary uses a different part of this module

use mailport::Config;

use crate::common::TestServer;
use crate::oauth_server::OAuthServer;

pub trait OAuthSmtp {
    /// An aiosmtpd server (STARTTLS) accepting the tokens this endpoint says are active, with
    /// `extra` flags.
    fn smtp_server(&self, extra: &[&str]) -> TestServer;
    /// Trust this endpoint's CA in `config`, besides what it trusts already.
    fn trust(&self, config: &mut Config);
    /// How many refresh grants the endpoint granted.
    fn refreshes(&self) -> u64;
    /// The access tokens currently live.
    fn access_tokens(&self) -> Vec<String>;
}

impl OAuthSmtp for OAuthServer {
    fn smtp_server(&self, extra: &[&str]) -> TestServer {
        let introspect = self.introspection_url();
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

    fn trust(&self, config: &mut Config) {
        config.tls.ca_files.push(self.ca.clone());
    }

    fn refreshes(&self) -> u64 {
        self.state()["grants"]["refresh_token"].as_u64().unwrap()
    }

    fn access_tokens(&self) -> Vec<String> {
        self.state()["access_tokens"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }
}
