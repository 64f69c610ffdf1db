//! The identity providers mailport knows, and what each needs for SMTP: the token endpoint and
//! the scope that lets a token log in to the provider's SMTP server.

use crate::error::{Error, Result};

/// Whose token endpoint issues the access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Google (Gmail, Google Workspace): `https://oauth2.googleapis.com/token`, scope
    /// `https://mail.google.com/` (the only scope Gmail's SMTP accepts).
    Google,
    /// Microsoft Entra ID (Microsoft 365, Outlook.com):
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`, scope
    /// `https://outlook.office.com/SMTP.Send offline_access`.
    Microsoft,
    /// Any other RFC 6749 token endpoint: its URL must be given; no scope unless set.
    Custom,
}

/// Microsoft's tenant when none is given: work and personal accounts alike.
pub const DEFAULT_TENANT: &str = "common";

impl Provider {
    /// The name as every API spells it: `google`, `microsoft`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Microsoft => "microsoft",
            Provider::Custom => "custom",
        }
    }

    /// The provider called `name` (case-insensitive).
    pub fn parse(name: &str) -> Result<Provider> {
        match name.to_ascii_lowercase().as_str() {
            "google" | "gmail" => Ok(Provider::Google),
            "microsoft" | "microsoft365" | "outlook" | "office365" => Ok(Provider::Microsoft),
            "custom" => Ok(Provider::Custom),
            _ => Err(Error::invalid_input(format!(
                "oauth provider: unknown provider {name:?} (expected google, microsoft or custom)"
            ))),
        }
    }

    /// The provider's own name, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
            Provider::Custom => "the identity provider",
        }
    }

    /// The token endpoint of the preset; `None` for [`Provider::Custom`].
    pub fn token_url(self, tenant: Option<&str>) -> Option<String> {
        match self {
            Provider::Google => Some("https://oauth2.googleapis.com/token".into()),
            Provider::Microsoft => Some(format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                tenant.unwrap_or(DEFAULT_TENANT)
            )),
            Provider::Custom => None,
        }
    }

    /// The scope asked for when refreshing: the one SMTP needs. Microsoft's `offline_access`
    /// keeps a refresh token coming back with each refresh.
    pub fn default_scope(self) -> Option<&'static str> {
        match self {
            Provider::Google => Some("https://mail.google.com/"),
            Provider::Microsoft => Some("https://outlook.office.com/SMTP.Send offline_access"),
            Provider::Custom => None,
        }
    }

    /// The scope a token must hold to log in to the provider's SMTP server, when known.
    pub(crate) fn smtp_scope(self) -> Option<&'static str> {
        match self {
            Provider::Google => Some("https://mail.google.com/"),
            Provider::Microsoft => Some("SMTP.Send"),
            Provider::Custom => None,
        }
    }
}

/// Check a Microsoft tenant: a GUID, a domain (`contoso.onmicrosoft.com`), or `common`,
/// `organizations`, `consumers`. It goes into the token URL's path, so only those characters.
pub(crate) fn check_tenant(tenant: &str) -> Result<()> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 253
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "oauth tenant: {tenant:?} is not a tenant id (expected a directory GUID, a domain such as contoso.onmicrosoft.com, or common, organizations, consumers)"
        )))
    }
}

/// Check a token endpoint URL: absolute `https://`, with a host (plain `http://` only to
/// loopback, where nothing crosses a network).
pub(crate) fn check_token_url(url: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::invalid_input(format!(
            "oauth token url: {why} (expected https://host/path, e.g. https://oauth2.googleapis.com/token)"
        ))
    };
    crate::address::check_no_controls(url, "oauth token url")?;
    let parsed = url::Url::parse(url).map_err(|e| bad(&format!("{url:?} is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    match parsed.scheme() {
        "https" => {}
        "http" if matches!(host, "127.0.0.1" | "[::1]" | "localhost") => {}
        _ => return Err(bad(&format!("{url:?} does not use https"))),
    }
    if host.is_empty() {
        return Err(bad(&format!("{url:?} has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("a user name or password in the URL is not allowed"));
    }
    if parsed.fragment().is_some() {
        return Err(bad("a fragment (#...) is not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        assert_eq!(
            Provider::Microsoft
                .token_url(Some("contoso.onmicrosoft.com"))
                .unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            Provider::Microsoft.token_url(None).unwrap(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(Provider::Custom.token_url(None), None);
        for p in [Provider::Google, Provider::Microsoft, Provider::Custom] {
            assert_eq!(Provider::parse(p.as_str()).unwrap(), p);
        }
        assert!(
            Provider::parse("yahoo")
                .unwrap_err()
                .message()
                .contains("google, microsoft")
        );
    }

    #[test]
    fn tenants_and_urls() {
        check_tenant("8eaef023-2b34-4da1-9baa-8bc8c9d6a490").unwrap();
        check_tenant("common").unwrap();
        for bad in ["", "a/b", "x?y", "a b"] {
            assert!(check_tenant(bad).is_err(), "{bad:?}");
        }
        check_token_url("https://oauth2.googleapis.com/token").unwrap();
        check_token_url("https://127.0.0.1:8443/token").unwrap();
        check_token_url("http://127.0.0.1:8080/token").unwrap();
        for bad in [
            "http://example.com/token",
            "ftp://x/y",
            "token",
            "https://user:pw@example.com/token",
        ] {
            let err = check_token_url(bad).unwrap_err();
            assert!(err.message().starts_with("oauth token url:"), "{err}");
        }
    }
}
