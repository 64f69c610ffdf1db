//! The names of settings in hints, in the words of the API the caller configures mailport with.
//!
//! A C programmer told to set `ca_file` (the Python keyword) has to guess the function; a
//! hint is only useful if it can be typed as written. So hints refer to a setting through
//! [`Api`], which renders it as the caller's API spells it: `mailport_config_add_ca_file` in C,
//! `ca_file=` in Python, `caFile` in PHP, `--ca-file` on the command line, the field in Rust.

use crate::config::Security;

/// The API a configuration was made through, which decides how hints name settings.
///
/// Rust callers get Rust names ([`Config::new`](crate::Config::new) sets [`Api::Rust`]); the C
/// ABI sets [`Api::C`], and the Python and PHP bindings declare themselves with
/// `mailport_config_set_binding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Api {
    #[default]
    Rust,
    C,
    Python,
    Php,
    /// The `mailport` command line.
    Cli,
}

impl Api {
    /// The binding named `name` ("c", "python", "php"), as `mailport_config_set_binding` takes it.
    pub fn from_binding_name(name: &str) -> Option<Api> {
        match name {
            "c" => Some(Api::C),
            "python" => Some(Api::Python),
            "php" => Some(Api::Php),
            _ => None,
        }
    }

    /// How to add a private CA's PEM file to the trusted roots.
    pub fn ca_file(self) -> &'static str {
        match self {
            Api::Rust => "`config.tls.ca_files`",
            Api::C => "mailport_config_add_ca_file",
            Api::Python => "ca_file=",
            Api::Php => "caFile",
            Api::Cli => "--ca-file",
        }
    }

    /// The security mode set to `security`, e.g. `security="tls"` or
    /// `mailport_config_set_security(cfg, MAILPORT_SECURITY_TLS)`.
    pub fn security(self, security: Security) -> String {
        let name = security.as_str();
        match self {
            Api::Rust => format!("`config.security = Security::{security:?}`"),
            Api::C => format!(
                "mailport_config_set_security(cfg, MAILPORT_SECURITY_{})",
                name.to_ascii_uppercase()
            ),
            Api::Python => format!("security=\"{name}\""),
            Api::Php => format!("security: '{name}'"),
            Api::Cli => format!("--security {name}"),
        }
    }

    /// The port set to `port`.
    pub fn port(self, port: u16) -> String {
        match self {
            Api::Rust => format!("`config.port = {port}`"),
            Api::C => format!("mailport_config_set_port(cfg, {port})"),
            Api::Python => format!("port={port}"),
            Api::Php => format!("port: {port}"),
            Api::Cli => format!("--server HOST:{port}"),
        }
    }

    /// The setting for the name announced in EHLO.
    pub fn helo_name(self) -> &'static str {
        match self {
            Api::Rust => "`config.helo_name`",
            Api::C => "mailport_config_set_helo_name",
            Api::Python => "helo_name=",
            Api::Php => "heloName",
            Api::Cli => "--helo",
        }
    }

    /// The setting for how long one reply may take.
    pub fn command_timeout(self) -> &'static str {
        match self {
            Api::Rust => "`config.timeouts.command`",
            Api::C => "mailport_config_set_command_timeout_ms",
            Api::Python => "command_timeout=",
            Api::Php => "commandTimeoutMs",
            Api::Cli => "--timeout",
        }
    }

    /// The setting for the user name and password.
    pub fn credentials(self) -> &'static str {
        match self {
            Api::Rust => "`config.credentials`",
            Api::C => "mailport_config_set_credentials",
            Api::Python => "username= and password=",
            Api::Php => "username and password",
            Api::Cli => "--user and --password-env",
        }
    }

    /// The setting for an OAuth2 refresh grant (provider, client and refresh token).
    pub fn oauth_refresh(self) -> &'static str {
        match self {
            Api::Rust => "`TokenSource::Refresh(RefreshGrant { .. })`",
            Api::C => "mailport_config_set_oauth_refresh",
            Api::Python => "oauth_refresh_token=",
            Api::Php => "oauthRefreshToken",
            Api::Cli => "--oauth-refresh-token-file",
        }
    }

    /// The settings for the OAuth2 client's id and secret.
    pub fn oauth_client(self) -> &'static str {
        match self {
            Api::Rust => "`RefreshGrant::client_id` and `client_secret`",
            Api::C => "the client_id and client_secret of mailport_config_set_oauth_refresh",
            Api::Python => "oauth_client_id= and oauth_client_secret=",
            Api::Php => "oauthClientId and oauthClientSecret",
            Api::Cli => "--oauth-client-id and --oauth-client-secret-env",
        }
    }

    /// The settings for the OAuth2 scope, the tenant and the token endpoint.
    pub fn oauth_scope(self) -> &'static str {
        match self {
            Api::Rust => "`RefreshGrant::scope`",
            Api::C => "mailport_config_set_oauth_scope",
            Api::Python => "oauth_scope=",
            Api::Php => "oauthScope",
            Api::Cli => "--oauth-provider (its preset scope)",
        }
    }

    /// The setting for the OAuth2 token endpoint's URL.
    pub fn oauth_token_url(self) -> &'static str {
        match self {
            Api::Rust => "`RefreshGrant::token_url`",
            Api::C => "mailport_config_set_oauth_token_url",
            Api::Python => "oauth_token_url=",
            Api::Php => "oauthTokenUrl",
            Api::Cli => "--oauth-token-url",
        }
    }

    /// The setting for the caller's OAuth2 token callback.
    pub fn oauth_token_callback(self) -> &'static str {
        match self {
            Api::Rust => "`TokenSource::Callback`",
            Api::C => "mailport_config_set_oauth_token_callback",
            Api::Python => "oauth_token_callback=",
            Api::Php => "oauthTokenCallback",
            Api::Cli => "--oauth-access-token-env",
        }
    }

    /// How the user consents again, giving a new refresh token.
    pub fn oauth_consent(self) -> &'static str {
        match self {
            Api::Php => {
                "in WordPress, open the mailport settings and click \"Connect with Google\" or \"Connect with Microsoft\" again (elsewhere, run `mailport oauth login --provider google|microsoft --client-id ID --output FILE`)"
            }
            _ => {
                "run `mailport oauth login --provider google|microsoft --client-id ID [--tenant ID] --output FILE` (or your application's own consent flow) and sign in"
            }
        }
    }

    /// The setting that sends credentials over plaintext; `None` where the API has none (the
    /// command line deliberately offers no way to do it).
    pub fn dangerous_allow_plaintext_auth(self) -> Option<&'static str> {
        match self {
            Api::Rust => Some("`config.dangerous_allow_plaintext_auth`"),
            Api::C => Some("mailport_config_dangerous_allow_plaintext_auth"),
            Api::Python => Some("dangerous_allow_plaintext_auth=True"),
            Api::Php => Some("dangerousAllowPlaintextAuth: true"),
            Api::Cli => None,
        }
    }

    /// The setting that delivers to the accepted recipients when some were refused; `None`
    /// where the API has none.
    pub fn allow_partial_recipients(self) -> Option<&'static str> {
        match self {
            Api::Rust => Some("`config.allow_partial_recipients`"),
            Api::C => Some("mailport_config_set_allow_partial_recipients"),
            Api::Python => Some("allow_partial_recipients=True"),
            Api::Php => Some("allowPartialRecipients: true"),
            Api::Cli => None,
        }
    }

    /// The setting for the name a certificate is checked against; `None` where the API has
    /// none.
    pub fn tls_server_name(self) -> Option<&'static str> {
        match self {
            Api::Rust => Some("`config.tls.server_name`"),
            Api::C => Some("mailport_config_set_tls_server_name"),
            Api::Python => Some("tls_server_name="),
            Api::Php => Some("tlsServerName"),
            Api::Cli => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_names_the_ca_file_its_own_way() {
        let names: Vec<_> = [Api::Rust, Api::C, Api::Python, Api::Php, Api::Cli]
            .iter()
            .map(|api| api.ca_file())
            .collect();
        assert_eq!(
            names,
            [
                "`config.tls.ca_files`",
                "mailport_config_add_ca_file",
                "ca_file=",
                "caFile",
                "--ca-file"
            ]
        );
    }

    #[test]
    fn security_values_are_written_as_each_api_takes_them() {
        assert_eq!(
            Api::C.security(Security::StartTls),
            "mailport_config_set_security(cfg, MAILPORT_SECURITY_STARTTLS)"
        );
        assert_eq!(Api::Python.security(Security::Tls), "security=\"tls\"");
        assert_eq!(Api::Php.security(Security::Tls), "security: 'tls'");
        assert_eq!(Api::Cli.security(Security::Tls), "--security tls");
        assert_eq!(
            Api::Rust.security(Security::StartTls),
            "`config.security = Security::StartTls`"
        );
    }

    #[test]
    fn binding_names() {
        assert_eq!(Api::from_binding_name("python"), Some(Api::Python));
        assert_eq!(Api::from_binding_name("php"), Some(Api::Php));
        assert_eq!(Api::from_binding_name("c"), Some(Api::C));
        assert_eq!(Api::from_binding_name("Python"), None);
    }
}
