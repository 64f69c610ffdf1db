//! First login: obtaining the refresh token that a [`RefreshGrant`](super::RefreshGrant) then
//! uses, by one of the two grants a program without a web server of its own can run.
//!
//! - The device authorization grant (RFC 8628): the program asks the provider for a user code,
//!   the user types it on the provider's page in any browser (on any device), and the program
//!   polls the token endpoint until the user has consented. Microsoft supports it for SMTP.
//! - The authorization code grant with PKCE over a loopback redirect (RFC 8252 §7.3, RFC 7636
//!   S256): the user opens the authorization URL, the provider redirects the browser to
//!   `http://127.0.0.1:PORT/` where the caller listens, and the code it brings is exchanged.
//!   Google needs it: its device grant does not allow the Gmail scope.
//!
//! This module runs the protocol (requests, PKCE, `state`, polling rules, error words); the
//! caller does the talking to the user and, for the loopback grant, the listening — the command
//! line does both in `mailport oauth login`. Codes, verifiers and tokens are [`Secret`]s and
//! never appear in an error.

use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::Provider;
use super::http::{Answer, post_form};
use crate::config::{Config, Secret, TlsOptions};
use crate::error::names::Api;
use crate::error::{Error, Kind, Result};

/// RFC 8628 §3.4's grant type.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 8628 §3.5: the interval when the provider names none, and what `slow_down` adds.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A device code is given up on after this long whatever its `expires_in` says (Microsoft's is
/// 15 minutes): a login left waiting longer has been forgotten.
pub const DEVICE_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// The scopes added to a preset's SMTP scope at login, so that the provider returns an ID token
/// naming the account that consented (shown to the user; never trusted for anything else).
const IDENTITY_SCOPES: &str = "openid email";

/// Which grant a login runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// RFC 8628: a user code typed on the provider's page; the program polls.
    Device,
    /// RFC 8252 + RFC 7636: the browser is redirected to a listener on 127.0.0.1.
    Loopback,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Device => "device",
            Flow::Loopback => "loopback",
        }
    }
}

/// A first login at one provider, for one client (app registration).
#[derive(Clone)]
pub struct Login {
    pub provider: Provider,
    /// Microsoft's tenant (directory id or domain, `common`, `organizations`, `consumers`);
    /// `common` when `None`.
    pub tenant: Option<String>,
    pub client_id: String,
    /// `None` for a public client. Google's "Desktop app" clients have a secret that is sent
    /// with the code exchange (Google does not treat it as confidential).
    pub client_secret: Option<Secret>,
    /// The scope to ask for; by default the preset's SMTP scope plus `openid email`.
    pub scope: Option<String>,
    /// Overrides of the preset endpoints (required for [`Provider::Custom`]).
    pub token_url: Option<String>,
    pub device_authorization_url: Option<String>,
    pub authorization_url: Option<String>,
    /// The account to suggest on the provider's sign-in page (`login_hint`).
    pub login_hint: Option<String>,
    /// How the endpoints' certificates are verified: as for SMTP.
    pub tls: TlsOptions,
    /// Connecting to an endpoint waits at most this long.
    pub connect_timeout: Duration,
    /// One request (connecting included) waits at most this long.
    pub request_timeout: Duration,
    /// Which API's names the hints use.
    pub api: Api,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("provider", &self.provider)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("token_url", &self.token_url)
            .field("device_authorization_url", &self.device_authorization_url)
            .field("authorization_url", &self.authorization_url)
            .finish_non_exhaustive()
    }
}

/// What a successful login obtained.
pub struct Tokens {
    pub access_token: Secret,
    /// `None` when the provider returned none (Google without `access_type=offline`, a scope
    /// without `offline_access` at Microsoft): the login did not achieve its purpose.
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<Duration>,
    /// The scope granted, when the provider said.
    pub scope: Option<String>,
    /// The account that consented, from the ID token's `email` / `preferred_username` /
    /// `upn` claim when the provider returned one. For display only: not verified.
    pub account: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("account", &self.account)
            .finish()
    }
}

/// A device authorization in progress (RFC 8628 §3.2).
pub struct DeviceAuthorization {
    device_code: Secret,
    /// What the user types on the verification page.
    pub user_code: String,
    pub verification_uri: String,
    /// The page with the code already filled in, when the provider gives one.
    pub verification_uri_complete: Option<String>,
    /// The provider's own instructions, when it gives them (Microsoft does).
    pub message: Option<String>,
    /// When the user code stops working.
    pub expires_at: Instant,
    /// How long to wait between polls; grows by 5 s at each `slow_down`.
    pub interval: Duration,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &self.device_code)
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// What one poll of the token endpoint found.
#[derive(Debug)]
pub enum DevicePoll {
    /// The user has not finished yet: poll again after the interval.
    Pending,
    /// Polling too fast: the interval has been raised by 5 s.
    SlowDown,
    Done(Tokens),
}

/// An authorization request with PKCE (RFC 7636) for the loopback redirect.
pub struct AuthorizationRequest {
    /// Open this in a browser.
    pub url: String,
    pub redirect_uri: String,
    /// The `state` the redirect must bring back (RFC 6749 §10.12: it ties the answer to this
    /// request, so another page cannot feed its own code to the listener).
    pub state: String,
    verifier: Secret,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// What the browser brought to the redirect URI.
#[derive(Debug)]
pub enum Redirect {
    /// The authorization code, for [`Login::exchange_code`].
    Code(Secret),
    /// A request that is not the answer to ours (no `state`, no `code`, a favicon): ignore it
    /// and keep listening.
    Unrelated,
}

impl Login {
    /// A login at `provider` for the app registration `client_id`, with the defaults: the
    /// preset endpoints and scope, system and Mozilla roots, 10 s to connect, 60 s a request.
    pub fn new(provider: Provider, client_id: impl Into<String>) -> Login {
        Login {
            provider,
            tenant: None,
            client_id: client_id.into(),
            client_secret: None,
            scope: None,
            token_url: None,
            device_authorization_url: None,
            authorization_url: None,
            login_hint: None,
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            api: Api::Rust,
        }
    }

    fn tenant(&self) -> &str {
        self.tenant
            .as_deref()
            .unwrap_or(super::provider::DEFAULT_TENANT)
    }

    /// The token endpoint: the override, else the preset.
    pub fn token_url(&self) -> Result<String> {
        if let Some(url) = &self.token_url {
            return Ok(url.clone());
        }
        self.provider
            .token_url(Some(self.tenant()))
            .ok_or_else(|| missing(self.api, "the token endpoint", "token_url"))
    }

    /// The device authorization endpoint: the override, else Microsoft's. Google has none
    /// usable for mail (its device grant refuses the Gmail scope).
    pub fn device_authorization_url(&self) -> Option<String> {
        if let Some(url) = &self.device_authorization_url {
            return Some(url.clone());
        }
        match self.provider {
            Provider::Microsoft => Some(format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/devicecode",
                self.tenant()
            )),
            _ => None,
        }
    }

    /// The authorization endpoint: the override, else the preset.
    pub fn authorization_url(&self) -> Option<String> {
        if let Some(url) = &self.authorization_url {
            return Some(url.clone());
        }
        match self.provider {
            Provider::Google => Some("https://accounts.google.com/o/oauth2/v2/auth".into()),
            Provider::Microsoft => Some(format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/authorize",
                self.tenant()
            )),
            _ => None,
        }
    }

    /// The scope asked for: the one set, else the preset's SMTP scope with `openid email`.
    pub fn scope(&self) -> Option<String> {
        if let Some(scope) = &self.scope {
            return Some(scope.clone());
        }
        self.provider
            .default_scope()
            .map(|smtp| format!("{smtp} {IDENTITY_SCOPES}"))
    }

    /// The grant to run when the caller does not choose: the device grant where there is a
    /// device endpoint and Google is not the provider, else the loopback redirect.
    pub fn default_flow(&self) -> Result<Flow> {
        match self.provider {
            Provider::Google if self.device_authorization_url.is_none() => Ok(Flow::Loopback),
            _ if self.device_authorization_url().is_some() => Ok(Flow::Device),
            _ if self.authorization_url().is_some() => Ok(Flow::Loopback),
            _ => Err(Error::invalid_input(format!(
                "oauth login: the custom provider needs the URL of its device authorization endpoint ({}) or of its authorization endpoint ({})",
                self.api_name("device_authorization_url"),
                self.api_name("authorization_url")
            ))),
        }
    }

    fn api_name(&self, field: &str) -> String {
        match self.api {
            Api::Cli => format!("--{}", field.replace('_', "-")),
            _ => field.to_string(),
        }
    }

    /// Check the settings before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.client_id.trim().is_empty() {
            return Err(Error::invalid_input(
                "oauth login: the client id is empty: copy the application (client) id from the app registration",
            ));
        }
        crate::address::check_no_controls(&self.client_id, "oauth client id")?;
        if let Some(secret) = &self.client_secret {
            crate::address::check_no_controls(secret.expose(), "oauth client secret")?;
        }
        if let Some(tenant) = &self.tenant {
            super::provider::check_tenant(tenant)?;
        }
        if let Some(scope) = &self.scope {
            if scope.trim().is_empty() {
                return Err(Error::invalid_input(
                    "oauth scope: empty (leave it out to use the provider's SMTP scope)",
                ));
            }
            crate::address::check_no_controls(scope, "oauth scope")?;
        }
        if let Some(hint) = &self.login_hint {
            crate::address::check_no_controls(hint, "oauth login hint")?;
        }
        super::provider::check_token_url(&self.token_url()?)?;
        for url in [
            self.device_authorization_url.as_deref(),
            self.authorization_url.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            super::provider::check_token_url(url).map_err(|e| {
                Error::invalid_input(e.message().replace("oauth token url", "oauth endpoint url"))
            })?;
        }
        Ok(())
    }

    /// The settings ureq's client takes from a [`Config`]: trust and timeouts.
    fn http_config(&self) -> Config {
        let mut config = Config::new("oauth-login");
        config.tls = self.tls.clone();
        config.timeouts.connect = self.connect_timeout;
        config.timeouts.command = self.request_timeout;
        config.api = self.api;
        config
    }

    fn post(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer> {
        let body = Zeroizing::new(encode_form(form));
        post_form(
            url,
            body.as_bytes(),
            &self.http_config(),
            Instant::now() + self.request_timeout,
        )
        .map_err(|mut error| {
            if error.hint().is_empty() && error.kind() == Kind::OAuthEndpointUnreachable {
                error.set_hint(format!(
                    "Check that this machine can reach {} over HTTPS (network, firewall, proxy), then run the login again.",
                    url::Url::parse(url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_else(|| url.to_string())
                ));
            }
            error
        })
    }

    /// The client's credentials in a form (RFC 6749 §2.3.1, in the body).
    fn client_fields<'a>(&'a self, form: &mut Vec<(&'a str, &'a str)>) {
        form.push(("client_id", &self.client_id));
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
    }

    /// Ask for a user code (RFC 8628 §3.1).
    pub fn start_device(&self) -> Result<DeviceAuthorization> {
        self.validate()?;
        let Some(url) = self.device_authorization_url() else {
            return Err(self.no_device_endpoint());
        };
        let scope = self.scope();
        let mut form = Vec::new();
        self.client_fields(&mut form);
        if let Some(scope) = &scope {
            form.push(("scope", scope));
        }
        let started = Instant::now();
        let answer = self.post(&url, &form)?;
        if answer.status != 200 {
            return Err(self.endpoint_refusal(&url, &answer, "device authorization"));
        }
        let json: serde_json::Value = serde_json::from_str(&answer.body).map_err(|_| {
            not_json(
                &url,
                answer.status,
                "a device authorization (device_code, user_code)",
            )
        })?;
        let text = |field: &str| json.get(field).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(device_code), Some(user_code)) = (text("device_code"), text("user_code")) else {
            return Err(not_json(
                &url,
                answer.status,
                "a device authorization (device_code, user_code)",
            ));
        };
        // RFC 8628 says verification_uri; early Microsoft and Google said verification_url.
        let Some(verification_uri) = text("verification_uri").or_else(|| text("verification_url"))
        else {
            return Err(not_json(
                &url,
                answer.status,
                "a device authorization with a verification_uri",
            ));
        };
        let seconds = |field: &str| json.get(field).and_then(|v| v.as_u64());
        let expires_in = Duration::from_secs(seconds("expires_in").unwrap_or(900));
        Ok(DeviceAuthorization {
            device_code: Secret::new(device_code),
            user_code: super::clean(&user_code),
            verification_uri: super::clean(&verification_uri),
            verification_uri_complete: text("verification_uri_complete").map(|u| super::clean(&u)),
            message: text("message").map(|m| super::clean(&m)),
            expires_at: started + expires_in.min(DEVICE_MAX_WAIT),
            interval: seconds("interval")
                .filter(|&s| s > 0)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_INTERVAL),
        })
    }

    fn no_device_endpoint(&self) -> Error {
        let mut error = Error::invalid_input(match self.provider {
            Provider::Google => {
                "oauth login: Google's device flow does not allow the Gmail scope (https://mail.google.com/), so it cannot be used for SMTP".to_string()
            }
            _ => format!(
                "oauth login: no device authorization endpoint for the {} provider",
                self.provider.as_str()
            ),
        });
        error.set_hint(match self.api {
            Api::Cli => "Use the loopback redirect (--flow loopback), or give the device endpoint with --device-authorization-url URL.".into(),
            _ => "Use the loopback redirect flow, or set the device authorization endpoint's URL.".into(),
        });
        error
    }

    /// Ask the token endpoint once whether the user has consented (RFC 8628 §3.4, §3.5).
    /// `authorization_pending` is [`DevicePoll::Pending`]; `slow_down` raises the interval by
    /// 5 s and is [`DevicePoll::SlowDown`]; `access_denied` and `expired_token` end the login
    /// with an error of kind [`Kind::OAuthInvalidGrant`].
    pub fn poll_device(&self, device: &mut DeviceAuthorization) -> Result<DevicePoll> {
        let url = self.token_url()?;
        let mut form = vec![
            ("grant_type", DEVICE_GRANT),
            ("device_code", device.device_code.expose()),
        ];
        self.client_fields(&mut form);
        let answer = self.post(&url, &form)?;
        if answer.status == 200 {
            return self.tokens(&url, &answer).map(DevicePoll::Done);
        }
        match error_code(&answer).as_deref() {
            Some("authorization_pending") => Ok(DevicePoll::Pending),
            Some("slow_down") => {
                device.interval += SLOW_DOWN_STEP;
                Ok(DevicePoll::SlowDown)
            }
            Some("expired_token") => Err(self.consent_error(
                "the code expired before the sign-in was finished".into(),
                "Run the login again and finish the sign-in within the time shown.",
            )),
            Some("access_denied") => Err(self.consent_error(
                "the sign-in was refused (access_denied): consent was not given".into(),
                "Run the login again and accept the permissions asked for; if the organisation requires it, an administrator must first grant consent to the app.",
            )),
            _ => Err(self.endpoint_refusal(&url, &answer, "token")),
        }
    }

    /// Poll until the user has consented, the code expires, or `deadline` passes, sleeping the
    /// provider's interval between polls (RFC 8628 §3.5).
    pub fn wait_for_device(
        &self,
        device: &mut DeviceAuthorization,
        deadline: Option<Instant>,
    ) -> Result<Tokens> {
        let end = deadline.map_or(device.expires_at, |d| d.min(device.expires_at));
        loop {
            let next = Instant::now() + device.interval;
            if next > end {
                if end < device.expires_at {
                    return Err(self.consent_error(
                        "the sign-in was not finished within the time allowed".into(),
                        match self.api {
                            Api::Cli => "Run the login again and finish the sign-in sooner, or allow more time with --timeout SECONDS.",
                            _ => "Run the login again and finish the sign-in sooner, or allow more time.",
                        },
                    ));
                }
                return Err(self.consent_error(
                    format!(
                        "the code {} expired before the sign-in was finished",
                        device.user_code
                    ),
                    "Run the login again and finish the sign-in within the time shown.",
                ));
            }
            std::thread::sleep(device.interval);
            match self.poll_device(device)? {
                DevicePoll::Done(tokens) => return Ok(tokens),
                DevicePoll::Pending | DevicePoll::SlowDown => {}
            }
        }
    }

    /// An authorization request for the loopback redirect to `redirect_uri`
    /// (`http://127.0.0.1:PORT/`), with a fresh PKCE verifier and `state`.
    pub fn authorization_request(&self, redirect_uri: &str) -> Result<AuthorizationRequest> {
        self.validate()?;
        let Some(endpoint) = self.authorization_url() else {
            return Err(missing(
                self.api,
                "the authorization endpoint",
                "authorization_url",
            ));
        };
        let mut url = url::Url::parse(&endpoint).map_err(|e| {
            Error::invalid_input(format!(
                "oauth authorization url: {endpoint:?} is not a URL: {e}"
            ))
        })?;
        let verifier = Secret::new(random_token(32)?);
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.expose().as_bytes(),
        ));
        let state = random_token(16)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(scope) = self.scope() {
                query.append_pair("scope", &scope);
            }
            if let Some(hint) = &self.login_hint {
                query.append_pair("login_hint", hint);
            }
            if self.provider == Provider::Google {
                // Without these Google returns no refresh token (offline), or none on a second
                // login by the same account (consent).
                query
                    .append_pair("access_type", "offline")
                    .append_pair("prompt", "consent");
            }
        }
        Ok(AuthorizationRequest {
            url: url.into(),
            redirect_uri: redirect_uri.to_string(),
            state,
            verifier,
        })
    }

    /// Exchange the code the redirect brought (RFC 6749 §4.1.3 with the PKCE verifier).
    pub fn exchange_code(&self, request: &AuthorizationRequest, code: &Secret) -> Result<Tokens> {
        let url = self.token_url()?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", request.redirect_uri.as_str()),
            ("code_verifier", request.verifier.expose()),
        ];
        self.client_fields(&mut form);
        let answer = self.post(&url, &form)?;
        if answer.status != 200 {
            return Err(self.endpoint_refusal(&url, &answer, "token"));
        }
        self.tokens(&url, &answer)
    }

    /// A successful token response (RFC 6749 §5.1).
    fn tokens(&self, url: &str, answer: &Answer) -> Result<Tokens> {
        let json: serde_json::Value = serde_json::from_str(&answer.body)
            .map_err(|_| not_json(url, answer.status, "a token response"))?;
        let text = |field: &str| {
            json.get(field)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let Some(access_token) = text("access_token") else {
            return Err(not_json(
                url,
                answer.status,
                "a token response (access_token)",
            ));
        };
        Ok(Tokens {
            access_token: Secret::new(access_token),
            refresh_token: text("refresh_token").map(Secret::new),
            expires_in: json
                .get("expires_in")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .map(Duration::from_secs),
            scope: text("scope").map(|s| super::clean(&s)),
            account: text("id_token").and_then(|t| account_from_id_token(&t)),
        })
    }

    fn consent_error(&self, what: String, hint: &str) -> Error {
        let mut error = Error::new(
            Kind::OAuthInvalidGrant,
            format!("oauth login at {}: {what}", self.provider.display_name()),
        );
        error.set_hint(hint.into());
        error
    }

    /// An error answer (RFC 6749 §5.2) or anything else that is not what was asked for.
    fn endpoint_refusal(&self, url: &str, answer: &Answer, asked: &str) -> Error {
        if answer.status >= 500 || answer.status == 429 {
            let mut error = Error::new(
                Kind::OAuthEndpointUnreachable,
                format!(
                    "OAuth {asked} endpoint {url} answered HTTP {}",
                    answer.status
                ),
            );
            error.set_hint(
                "The provider has a temporary problem: try the login again in a few minutes."
                    .into(),
            );
            return error;
        }
        let Some(code) = error_code(answer) else {
            return not_json(url, answer.status, "an OAuth answer");
        };
        let description = error_description(answer)
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        let (kind, hint) = match code.as_str() {
            "invalid_client" | "unauthorized_client" => (
                Kind::OAuthInvalidClient,
                match self.api {
                    Api::Cli => {
                        "Check --client-id against the app registration, and give its secret with --client-secret-env VAR if it has one (leave it out for a public client). At Microsoft, the device flow needs \"Allow public client flows\" turned on in the app's Authentication settings."
                    }
                    _ => {
                        "Check the client id against the app registration, and its secret if it has one (none for a public client)."
                    }
                },
            ),
            "invalid_scope" => (
                Kind::OAuthScope,
                "The app registration must be allowed the SMTP scope (Microsoft: the SMTP.Send permission of Office 365 Exchange Online; Google: https://mail.google.com/).",
            ),
            "invalid_grant" => (
                Kind::OAuthInvalidGrant,
                "The code was refused (used already, expired, or from another request): run the login again.",
            ),
            _ => (Kind::OAuthEndpoint, ""),
        };
        let mut error = Error::new(
            kind,
            format!(
                "OAuth {asked} endpoint {url} refused the request ({}){description}",
                super::clean(&code)
            ),
        );
        error.set_hint(hint.into());
        error
    }
}

impl AuthorizationRequest {
    /// Read the query of a request to the redirect URI (`code=…&state=…`, or `error=…`).
    /// The answer to this request gives [`Redirect::Code`]; an error answer with our `state`
    /// (consent refused, a misconfigured client) is an error; any other request is
    /// [`Redirect::Unrelated`] — a code with the wrong `state` included, which is not ours to
    /// use.
    pub fn read_redirect(&self, query: &str) -> Result<Redirect> {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "code" => code = Some(Secret::new(value.into_owned())),
                "state" => state = Some(value.into_owned()),
                "error" => error = Some(value.into_owned()),
                "error_description" => description = Some(value.into_owned()),
                _ => {}
            }
        }
        // `state` is no secret (it travelled in the URL); it only has to match.
        let ours = state.as_deref() == Some(self.state.as_str());
        if !ours {
            return Ok(Redirect::Unrelated);
        }
        if let Some(error) = error {
            let description = description
                .map(|d| format!(": {}", super::clean(&d)))
                .unwrap_or_default();
            let (kind, what, hint) = match error.as_str() {
                "access_denied" => (
                    Kind::OAuthInvalidGrant,
                    "the sign-in was refused (access_denied): consent was not given",
                    "Run the login again and accept the permissions asked for; if the organisation requires it, an administrator must first grant consent to the app.",
                ),
                "unauthorized_client" | "invalid_client" => (
                    Kind::OAuthInvalidClient,
                    "the provider does not know this client or does not allow it this grant",
                    "Check the client id, and that the app registration allows a redirect to http://127.0.0.1 (Google: a \"Desktop app\" client; Microsoft: the \"Mobile and desktop applications\" platform with http://localhost).",
                ),
                "invalid_scope" => (
                    Kind::OAuthScope,
                    "the scope asked for was refused",
                    "The app registration must be allowed the SMTP scope.",
                ),
                _ => (Kind::OAuthEndpoint, "the authorization failed", ""),
            };
            let mut error = Error::new(
                kind,
                format!(
                    "oauth login: {what} ({}){description}",
                    super::clean(&error)
                ),
            );
            error.set_hint(hint.into());
            return Err(error);
        }
        match code {
            Some(code) if !code.expose().is_empty() => Ok(Redirect::Code(code)),
            _ => Ok(Redirect::Unrelated),
        }
    }
}

/// `field=value&…`, each percent-encoded (application/x-www-form-urlencoded).
fn encode_form(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// `bytes` random bytes, base64url without padding: a PKCE verifier (43 characters from 32
/// bytes, RFC 7636 §4.1) or a `state`.
fn random_token(bytes: usize) -> Result<String> {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    crate::random::fill_secret(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(&*buf))
}

/// The `error` of an RFC 6749 §5.2 answer.
fn error_code(answer: &Answer) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(&answer.body).ok()?;
    json.get("error")?.as_str().map(str::to_string)
}

fn error_description(answer: &Answer) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(&answer.body).ok()?;
    json.get("error_description")?
        .as_str()
        .map(super::clean)
        .filter(|d| !d.is_empty())
}

fn not_json(url: &str, status: u16, expected: &str) -> Error {
    Error::new(
        Kind::OAuthEndpoint,
        format!(
            "OAuth endpoint {url} answered HTTP {status} with something that is not {expected}"
        ),
    )
}

fn missing(api: Api, what: &str, field: &str) -> Error {
    let name = match api {
        Api::Cli => format!("--{}", field.replace('_', "-")),
        _ => field.to_string(),
    };
    Error::invalid_input(format!(
        "oauth login: the custom provider needs the URL of {what} ({name})"
    ))
}

/// The account an ID token (a JWT) names. Its signature is not checked: the name is only
/// shown to the user, who has just signed in, and nothing is decided on it.
fn account_from_id_token(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["email", "preferred_username", "upn"]
        .iter()
        .find_map(|claim| claims.get(*claim)?.as_str().map(super::clean))
        .filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google() -> Login {
        let mut login = Login::new(Provider::Google, "client-1.apps.googleusercontent.com");
        login.client_secret = Some(Secret::new("GOCSPX-secret"));
        login
    }

    #[test]
    fn presets_and_flows() {
        let mut ms = Login::new(Provider::Microsoft, "id");
        assert_eq!(ms.default_flow().unwrap(), Flow::Device);
        assert_eq!(
            ms.device_authorization_url().unwrap(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
        );
        ms.tenant = Some("contoso.onmicrosoft.com".into());
        assert_eq!(
            ms.authorization_url().unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        assert_eq!(
            ms.token_url().unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            ms.scope().unwrap(),
            "https://outlook.office.com/SMTP.Send offline_access openid email"
        );
        let g = google();
        assert_eq!(g.default_flow().unwrap(), Flow::Loopback);
        assert!(g.device_authorization_url().is_none());
        assert!(
            g.start_device()
                .unwrap_err()
                .message()
                .contains("Gmail scope")
        );
        let mut custom = Login::new(Provider::Custom, "id");
        custom.api = Api::Cli;
        let e = custom.default_flow().unwrap_err();
        assert!(
            e.message().contains("--device-authorization-url"),
            "{}",
            e.message()
        );
        assert!(custom.scope().is_none());
        custom.authorization_url = Some("https://idp.example/authorize".into());
        assert_eq!(custom.default_flow().unwrap(), Flow::Loopback);
        custom.device_authorization_url = Some("https://idp.example/device".into());
        assert_eq!(custom.default_flow().unwrap(), Flow::Device);
    }

    #[test]
    fn authorization_request_carries_pkce_and_state() {
        let login = google();
        let request = login
            .authorization_request("http://127.0.0.1:5555/")
            .unwrap();
        let url = url::Url::parse(&request.url).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["redirect_uri"], "http://127.0.0.1:5555/");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["access_type"], "offline");
        assert_eq!(query["state"], request.state);
        let expected = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            request.verifier.expose().as_bytes(),
        ));
        assert_eq!(query["code_challenge"], expected);
        assert_eq!(request.verifier.expose().len(), 43);
        assert!(!request.url.contains(request.verifier.expose()));
        assert!(!request.url.contains("GOCSPX"));
        let other = login
            .authorization_request("http://127.0.0.1:5555/")
            .unwrap();
        assert_ne!(other.state, request.state);
    }

    #[test]
    fn redirects() {
        let request = google()
            .authorization_request("http://127.0.0.1:5555/")
            .unwrap();
        let state = request.state.clone();
        match request
            .read_redirect(&format!("code=ac-1&state={state}"))
            .unwrap()
        {
            Redirect::Code(code) => assert_eq!(code.expose(), "ac-1"),
            other => panic!("{other:?}"),
        }
        // Another page's code (wrong state), or a favicon request, is not ours.
        assert!(matches!(
            request.read_redirect("code=ac-evil&state=forged").unwrap(),
            Redirect::Unrelated
        ));
        assert!(matches!(
            request.read_redirect("").unwrap(),
            Redirect::Unrelated
        ));
        let denied = request
            .read_redirect(&format!(
                "error=access_denied&error_description=The+user+refused&state={state}"
            ))
            .unwrap_err();
        assert_eq!(denied.kind(), Kind::OAuthInvalidGrant);
        assert!(
            denied.message().contains("access_denied"),
            "{}",
            denied.message()
        );
    }

    #[test]
    fn id_token_names_the_account() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"email":"ann@example.com","sub":"1"}"#);
        assert_eq!(
            account_from_id_token(&format!("eyJhbGciOiJub25lIn0.{claims}.sig")).as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(account_from_id_token("not-a-jwt"), None);
    }

    #[test]
    fn debug_redacts() {
        let login = google();
        let text = format!("{login:?}");
        assert!(!text.contains("GOCSPX"), "{text}");
    }
}
