//! The names of settings in hints, in the words of the API the caller configures mailport with.
//!
//! A C programmer told to set `ca_file` (the Python keyword) has to guess the function; a
//! hint is only useful if it can be typed as written. So hints refer to a setting through
//! [`Api`], which renders it as the caller's API spells it: `mailport_config_add_ca_file` in C,
//! `ca_file=` in Python, `caFile` in PHP, `--ca-file` on the command line, the field in Rust.
//! The WordPress plugin reaches the library through the PHP binding, but its users configure it
//! on Settings > Mailport and in wp-config.php, never with PHP arguments: its hints name those.

use crate::config::Security;

/// The API a configuration was made through, which decides how hints name settings.
///
/// Rust callers get Rust names ([`Config::new`](crate::Config::new) sets [`Api::Rust`]); the C
/// ABI sets [`Api::C`], and the Python and PHP bindings (and the WordPress plugin, on top of the
/// PHP binding) declare themselves with `mailport_config_set_binding`.
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
    /// The WordPress plugin: the fields of Settings > Mailport and the `MAILPORT_*` constants
    /// of wp-config.php it reads.
    WordPress,
}

impl Api {
    /// The binding named `name` ("c", "python", "php", "wordpress"), as
    /// `mailport_config_set_binding` takes it.
    pub fn from_binding_name(name: &str) -> Option<Api> {
        match name {
            "c" => Some(Api::C),
            "python" => Some(Api::Python),
            "php" => Some(Api::Php),
            "wordpress" => Some(Api::WordPress),
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
            Api::WordPress => "MAILPORT_CA_FILE in wp-config.php",
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
            // The option texts of the screen's Security list; "opportunistic" is not on it, only
            // a value its constant accepts.
            Api::WordPress => match security {
                Security::Auto => "Security \"Automatic, by port\"".to_string(),
                Security::StartTls => "Security \"STARTTLS\"".to_string(),
                Security::Tls => "Security \"TLS from the first byte\"".to_string(),
                Security::None => "Security \"None\"".to_string(),
                Security::Opportunistic => {
                    "define('MAILPORT_SECURITY', 'opportunistic') in wp-config.php".to_string()
                }
            },
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
            Api::WordPress => format!("Port {port}"),
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
            // No field or constant: the plugin's documented hook for settings without one.
            Api::WordPress => "the HELO name ($config->setHeloName() in a mailport_config action)",
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
            Api::WordPress => "MAILPORT_TIMEOUT (seconds) in wp-config.php",
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
            Api::WordPress => "User name and Password on Settings > Mailport",
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
            Api::WordPress => {
                "Sign-in set to Google or Microsoft 365 on Settings > Mailport, connected with \"Connect with Google\" or \"Connect with Microsoft\""
            }
        }
    }

    /// Where the caller puts the new refresh token after consenting again; `None` where the
    /// consent flow stores it itself (the WordPress plugin's Connect button).
    pub fn oauth_new_refresh_token(self) -> Option<&'static str> {
        match self {
            Api::WordPress => None,
            api => Some(api.oauth_refresh()),
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
            Api::WordPress => "OAuth client id and OAuth client secret on Settings > Mailport",
        }
    }

    /// The setting for the OAuth2 scope; `None` where the API has none (the WordPress plugin
    /// always asks for its provider's preset scope).
    pub fn oauth_scope(self) -> Option<&'static str> {
        match self {
            Api::Rust => Some("`RefreshGrant::scope`"),
            Api::C => Some("mailport_config_set_oauth_scope"),
            Api::Python => Some("oauth_scope="),
            Api::Php => Some("oauthScope"),
            Api::Cli => Some("--oauth-provider (its preset scope)"),
            Api::WordPress => None,
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
            Api::WordPress => {
                "Sign-in and Microsoft tenant on Settings > Mailport, or MAILPORT_OAUTH_TOKEN_URL in wp-config.php where it is set"
            }
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
            // The plugin sets no callback itself: only a mailport_config action can have.
            Api::WordPress => "$config->setOAuthTokenCallback() in a mailport_config action",
        }
    }

    /// How the user consents again, giving a new refresh token.
    pub fn oauth_consent(self) -> &'static str {
        match self {
            Api::WordPress => {
                "on Settings > Mailport, click \"Connect with Google\" or \"Connect with Microsoft\" (\"Reconnect with …\" while an account is connected) and sign in with the mailbox the site sends from; the plugin stores the new refresh token itself"
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
            Api::Cli | Api::WordPress => None,
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
            // The plugin never sets it: as with PHPMailer, a refused recipient fails wp_mail().
            Api::Cli | Api::WordPress => None,
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
            Api::WordPress => Some("$config->setTlsServerName() in a mailport_config action"),
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
        assert_eq!(Api::from_binding_name("wordpress"), Some(Api::WordPress));
        assert_eq!(Api::from_binding_name("Python"), None);
        assert_eq!(Api::from_binding_name("WordPress"), None);
    }

    /// Every wording of the WordPress plugin, so that none falls back to a PHP argument.
    fn wordpress_wordings() -> Vec<String> {
        let wp = Api::WordPress;
        let mut all = vec![
            wp.ca_file().to_string(),
            wp.port(465),
            wp.helo_name().to_string(),
            wp.command_timeout().to_string(),
            wp.credentials().to_string(),
            wp.oauth_refresh().to_string(),
            wp.oauth_client().to_string(),
            wp.oauth_token_url().to_string(),
            wp.oauth_token_callback().to_string(),
            wp.oauth_consent().to_string(),
        ];
        all.extend(
            [
                Security::Auto,
                Security::StartTls,
                Security::Tls,
                Security::Opportunistic,
                Security::None,
            ]
            .map(|s| wp.security(s)),
        );
        all.extend(wp.tls_server_name().map(str::to_string));
        all
    }

    #[test]
    fn wordpress_names_its_screen_and_wp_config_not_php_arguments() {
        let wp = Api::WordPress;
        assert_eq!(wp.ca_file(), "MAILPORT_CA_FILE in wp-config.php");
        assert_eq!(wp.port(587), "Port 587");
        assert_eq!(
            wp.security(Security::Tls),
            "Security \"TLS from the first byte\""
        );
        assert_eq!(wp.security(Security::StartTls), "Security \"STARTTLS\"");
        assert!(wp.command_timeout().starts_with("MAILPORT_TIMEOUT "));
        assert!(wp.credentials().contains("User name and Password"));
        assert!(
            wp.oauth_client()
                .contains("OAuth client id and OAuth client secret")
        );
        assert!(wp.oauth_consent().contains("\"Connect with Google\""));
        assert!(wp.oauth_consent().contains("\"Connect with Microsoft\""));
        assert!(wp.oauth_refresh().contains("Sign-in"));
        assert!(wp.oauth_token_url().contains("MAILPORT_OAUTH_TOKEN_URL"));
        for php in [
            Api::Php.ca_file(),
            "security: ",
            "port: ",
            "oauthRefreshToken",
        ]
        .into_iter()
        .chain([
            Api::Php.helo_name(),
            Api::Php.command_timeout(),
            Api::Php.oauth_scope().unwrap(),
            Api::Php.oauth_token_url(),
        ]) {
            for wording in wordpress_wordings() {
                assert!(!wording.contains(php), "{wording:?} names the PHP {php:?}");
            }
        }
    }

    #[test]
    fn wordpress_names_only_constants_the_plugin_reads() {
        // The constants bindings/wordpress/mailport reads that a hint may name.
        const READ: [&str; 4] = [
            "MAILPORT_CA_FILE",
            "MAILPORT_TIMEOUT",
            "MAILPORT_OAUTH_TOKEN_URL",
            "MAILPORT_SECURITY",
        ];
        for wording in wordpress_wordings() {
            for word in wording.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("MAILPORT_") {
                    assert!(READ.contains(&word), "{wording:?} names {word}");
                }
            }
        }
    }

    #[test]
    fn wordpress_has_no_setting_where_the_plugin_offers_none() {
        let wp = Api::WordPress;
        assert_eq!(wp.dangerous_allow_plaintext_auth(), None);
        assert_eq!(wp.allow_partial_recipients(), None);
        assert_eq!(wp.oauth_scope(), None);
        // Connect stores the new refresh token itself: nothing for the admin to give.
        assert_eq!(wp.oauth_new_refresh_token(), None);
        assert_eq!(
            Api::Php.oauth_new_refresh_token(),
            Some("oauthRefreshToken")
        );
        // The hook the plugin documents for settings without a field or constant.
        assert_eq!(
            wp.helo_name(),
            "the HELO name ($config->setHeloName() in a mailport_config action)"
        );
        assert!(
            wp.tls_server_name()
                .unwrap()
                .contains("mailport_config action")
        );
    }

    #[test]
    fn php_consent_no_longer_assumes_wordpress() {
        assert!(!Api::Php.oauth_consent().contains("WordPress"));
        assert!(Api::Php.oauth_consent().contains("mailport oauth login"));
    }
}
