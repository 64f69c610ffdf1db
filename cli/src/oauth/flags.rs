//! The OAuth 2.0 options of `send`, `check` and `outbox run`: where the access token comes from
//! (a fixed token in an environment variable, or a refresh token in a file exchanged at the
//! provider's token endpoint) and which SASL mechanism carries it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mailport::smtp::auth::Mechanism;
use mailport::{Credentials, Provider, RefreshGrant, TokenSource};

use super::token_file;
use crate::shared::{Refusal, password_from_env};

/// `--auth-mechanism`: the SASL mechanisms an OAuth 2.0 token can go with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MechanismArg {
    /// Google's and Microsoft's mechanism.
    Xoauth2,
    /// RFC 7628, the standard one.
    Oauthbearer,
}

impl From<MechanismArg> for Mechanism {
    fn from(arg: MechanismArg) -> Mechanism {
        match arg {
            MechanismArg::Xoauth2 => Mechanism::XOAuth2,
            MechanismArg::Oauthbearer => Mechanism::OAuthBearer,
        }
    }
}

/// `--oauth-provider` and `oauth login --provider`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderArg {
    /// Gmail and Google Workspace.
    Google,
    /// Microsoft 365, Exchange Online and Outlook.com.
    Microsoft,
    /// Another OAuth 2.0 provider: give its token endpoint's URL.
    Custom,
}

impl From<ProviderArg> for Provider {
    fn from(arg: ProviderArg) -> Provider {
        match arg {
            ProviderArg::Google => Provider::Google,
            ProviderArg::Microsoft => Provider::Microsoft,
            ProviderArg::Custom => Provider::Custom,
        }
    }
}

impl ProviderArg {
    pub fn as_str(self) -> &'static str {
        Provider::from(self).as_str()
    }
}

/// Where --help lists these options.
const HEADING: &str = "OAuth 2.0 (instead of a password)";

#[derive(clap::Args, Debug)]
pub struct OAuthArgs {
    /// The SASL mechanism for the OAuth 2.0 token [default: XOAUTH2 where the server offers it,
    /// else OAUTHBEARER].
    #[arg(long, value_enum, value_name = "MECHANISM", help_heading = HEADING)]
    pub auth_mechanism: Option<MechanismArg>,
    /// Log in as --user with the OAuth 2.0 access token in the environment variable VAR, used
    /// as it is (never refreshed: it stops working when it expires, usually within an hour).
    #[arg(
        long,
        value_name = "VAR",
        help_heading = HEADING,
        requires = "user",
        conflicts_with_all = ["password_env", "oauth_provider"]
    )]
    pub oauth_access_token_env: Option<String>,
    /// Log in as --user with OAuth 2.0 access tokens that mailport obtains from this provider's
    /// token endpoint with the refresh token in --oauth-refresh-token-file (written by
    /// `mailport oauth login`).
    #[arg(
        long,
        value_enum,
        value_name = "PROVIDER",
        help_heading = HEADING,
        requires_all = ["user", "oauth_client_id", "oauth_refresh_token_file"],
        conflicts_with = "password_env"
    )]
    pub oauth_provider: Option<ProviderArg>,
    /// The token endpoint (required with --oauth-provider custom; overrides the preset of
    /// google and microsoft).
    #[arg(long, value_name = "URL", requires = "oauth_provider", help_heading = HEADING)]
    pub oauth_token_url: Option<String>,
    /// Microsoft's tenant: the directory id or a domain of it (contoso.onmicrosoft.com), or
    /// common, organizations, consumers [default: common].
    #[arg(long, value_name = "ID", requires = "oauth_provider", help_heading = HEADING)]
    pub oauth_tenant: Option<String>,
    /// The application (client) id of the app registration.
    #[arg(long, value_name = "ID", requires = "oauth_provider", help_heading = HEADING)]
    pub oauth_client_id: Option<String>,
    /// Read the app registration's client secret from the environment variable VAR (leave it
    /// out for a public client).
    #[arg(long, value_name = "VAR", requires = "oauth_provider", help_heading = HEADING)]
    pub oauth_client_secret_env: Option<String>,
    /// The file holding the refresh token; when the provider rotates the token, the file is
    /// rewritten in place (mode 0600) with the new one.
    #[arg(long, value_name = "FILE", requires = "oauth_provider", help_heading = HEADING)]
    pub oauth_refresh_token_file: Option<PathBuf>,
}

/// A rotated refresh token that could not be written: the run must not end as a success,
/// since the file now holds a token the provider may already have retired.
static ROTATION_FAILURE: Mutex<Option<String>> = Mutex::new(None);

impl OAuthArgs {
    /// Whether any OAuth token source was given.
    pub fn wanted(&self) -> bool {
        self.oauth_access_token_env.is_some() || self.oauth_provider.is_some()
    }

    /// The mechanism asked for, refused when there is no token for it.
    pub fn mechanism(&self) -> Result<Option<Mechanism>, Refusal> {
        match self.auth_mechanism {
            Some(m) if !self.wanted() => Err(Refusal::usage(
                format!(
                    "--auth-mechanism {} needs an OAuth 2.0 token",
                    Mechanism::from(m).as_str().to_ascii_lowercase()
                ),
                "Add --oauth-access-token-env VAR, or --oauth-provider with its client id and refresh token file; for a password leave out --auth-mechanism.",
            )),
            m => Ok(m.map(Mechanism::from)),
        }
    }

    /// The OAuth credentials for `user`, or `None` without OAuth options.
    pub fn credentials(&self, user: &str) -> Result<Option<Credentials>, Refusal> {
        if let Some(var) = &self.oauth_access_token_env {
            let token = password_from_env(
                var,
                &format!("--oauth-access-token-env {var}"),
                &format!("Put the access token in it first (export {var}=...)."),
            )?;
            return Ok(Some(Credentials::OAuth2 {
                username: user.to_string(),
                token: TokenSource::Fixed(token),
            }));
        }
        let Some(provider) = self.oauth_provider else {
            return Ok(None);
        };
        // clap's `requires` makes both present.
        let (Some(client_id), Some(file)) = (&self.oauth_client_id, &self.oauth_refresh_token_file)
        else {
            return Err(Refusal::usage(
                "--oauth-provider needs --oauth-client-id and --oauth-refresh-token-file",
                "",
            ));
        };
        if provider == ProviderArg::Custom && self.oauth_token_url.is_none() {
            return Err(Refusal::usage(
                "--oauth-provider custom needs --oauth-token-url URL (the provider's token endpoint)",
                "Give the token endpoint's URL, e.g. --oauth-token-url https://idp.example.com/oauth2/token.",
            ));
        }
        if self.oauth_tenant.is_some() && provider != ProviderArg::Microsoft {
            return Err(Refusal::usage(
                format!(
                    "--oauth-tenant is Microsoft's setting, not {}'s",
                    provider.as_str()
                ),
                "Leave out --oauth-tenant, or use --oauth-provider microsoft.",
            ));
        }
        if client_id.trim().is_empty() {
            return Err(Refusal::input(
                "--oauth-client-id is empty",
                "Copy the application (client) id from the app registration.",
            ));
        }
        let secret = match &self.oauth_client_secret_env {
            Some(var) => Some(password_from_env(
                var,
                &format!("--oauth-client-secret-env {var}"),
                &format!(
                    "Put the client secret in it first (export {var}=...), or leave out --oauth-client-secret-env for a public client."
                ),
            )?),
            None => None,
        };
        let refresh = token_file::read(file, "--oauth-refresh-token-file")?;
        let mut grant = RefreshGrant::new(provider.into(), client_id.trim(), secret, refresh);
        grant.tenant = self.oauth_tenant.clone();
        grant.token_url = self.oauth_token_url.clone();
        let path = file.clone();
        grant.on_rotation = Some(Arc::new(move |_user: &str, token: &str| {
            save_rotated(&path, token)
        }));
        Ok(Some(Credentials::OAuth2 {
            username: user.to_string(),
            token: TokenSource::Refresh(grant),
        }))
    }
}

/// The rotation callback: write the new refresh token over the old one, and say so.
fn save_rotated(path: &std::path::Path, token: &str) {
    match token_file::write(path, token) {
        Ok(()) => eprintln!(
            "note: the provider issued a new refresh token; {} now holds it (mode 0600)",
            path.display()
        ),
        Err(e) => {
            let message = format!(
                "the provider issued a new refresh token, and it could not be written to {} ({e})",
                path.display()
            );
            eprintln!("error: {message}");
            if let Ok(mut slot) = ROTATION_FAILURE.lock() {
                *slot = Some(message);
            }
        }
    }
}

/// After the run: when a rotated refresh token was lost, say what to do and fail the run.
pub fn rotation_failed() -> bool {
    let failure = ROTATION_FAILURE.lock().ok().and_then(|slot| slot.clone());
    if failure.is_some() {
        eprintln!(
            "hint: the old refresh token may stop working at any time; make the file's directory writable, then sign in again with `mailport oauth login --output FILE`."
        );
    }
    failure.is_some()
}
