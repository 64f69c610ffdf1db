//! The token endpoint's request and answer: a refresh token grant (RFC 6749 §6), the token
//! response (§5.1), and the error response (§5.2) classified into an error kind.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::{RefreshGrant, clean, http};
use crate::config::{Config, Secret};
use crate::error::{Error, Kind, Result};

/// A successful token response.
pub(crate) struct Granted {
    pub access_token: Secret,
    pub expires_in: Option<Duration>,
    /// A new refresh token: the endpoint rotated it.
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
}

/// Exchange `refresh_token` (the current one for `grant`) for an access token.
pub(crate) fn refresh(
    grant: &RefreshGrant,
    refresh_token: &Secret,
    config: &Config,
    budget: Instant,
) -> Result<Granted> {
    let url = grant.token_url()?;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "refresh_token");
    form.append_pair("refresh_token", refresh_token.expose());
    form.append_pair("client_id", &grant.client_id);
    if let Some(secret) = &grant.client_secret {
        form.append_pair("client_secret", secret.expose());
    }
    if let Some(scope) = grant.effective_scope() {
        form.append_pair("scope", scope);
    }
    let form = Zeroizing::new(form.finish());
    let answer = http::post_form(&url, form.as_bytes(), config, budget)?;
    let secrets = [
        Some(refresh_token.expose()),
        grant.client_secret.as_ref().map(Secret::expose),
    ];
    interpret(&url, grant, answer.status, &answer.body, &secrets)
}

/// Read the endpoint's answer. `secrets` are never echoed, even if the endpoint echoes them.
pub(crate) fn interpret(
    url: &str,
    grant: &RefreshGrant,
    status: u16,
    body: &str,
    secrets: &[Option<&str>],
) -> Result<Granted> {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(serde_json::Value::as_str)
    };
    let client = &grant.client_id;
    if status == 200 {
        let Some(access) = field("access_token").filter(|t| !t.is_empty()) else {
            return Err(Error::new(
                Kind::OAuthEndpoint,
                format!(
                    "OAuth token endpoint {url} answered HTTP 200 without an access token (the answer is {}); check the token URL",
                    if json.is_some() {
                        "JSON without access_token"
                    } else {
                        "not JSON"
                    }
                ),
            ));
        };
        if let Some(kind) = field("token_type") {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(Error::new(
                    Kind::OAuthEndpoint,
                    format!(
                        "OAuth token endpoint {url} issued a {:?} token; SMTP needs a Bearer token",
                        clean(kind)
                    ),
                ));
            }
        }
        if access.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::new(
                Kind::OAuthEndpoint,
                format!(
                    "OAuth token endpoint {url} issued an access token with a space or control character"
                ),
            ));
        }
        let expires_in = json
            .as_ref()
            .and_then(|j| j.get("expires_in"))
            .and_then(|v| {
                // RFC 6749 says a number; some endpoints send it as a string.
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
        return Ok(Granted {
            access_token: Secret::new(access),
            expires_in: expires_in.map(Duration::from_secs),
            refresh_token: field("refresh_token")
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            scope: field("scope").map(str::to_string),
        });
    }
    let code = field("error").map(clean);
    let description = field("error_description")
        .map(|d| redact(&clean(d), secrets))
        .filter(|d| !d.is_empty());
    let said = match (&code, &description) {
        (Some(code), Some(d)) => format!("{code}: {d}"),
        (Some(code), None) => code.clone(),
        (None, _) => "no OAuth error code".to_string(),
    };
    let provider = grant.provider.display_name();
    let (kind, what) = match code.as_deref() {
        Some("invalid_grant") => (
            Kind::OAuthInvalidGrant,
            format!(
                "{provider} no longer accepts the refresh token (expired, revoked, or issued to another client)"
            ),
        ),
        Some("invalid_client" | "unauthorized_client") => (
            Kind::OAuthInvalidClient,
            format!("{provider} refused the client credentials of client id {client:?}"),
        ),
        Some("invalid_scope") => (
            Kind::OAuthScope,
            format!(
                "{provider} refused the scope {:?}",
                grant.effective_scope().unwrap_or("")
            ),
        ),
        Some("temporarily_unavailable" | "server_error") => (
            Kind::OAuthEndpointUnreachable,
            "the token endpoint could not answer for now".to_string(),
        ),
        _ if status >= 500 || status == 429 || status == 408 => (
            Kind::OAuthEndpointUnreachable,
            format!("the token endpoint failed with HTTP {status}"),
        ),
        // A 401 without a code is how some endpoints refuse client authentication (§5.2).
        None if status == 401 => (
            Kind::OAuthInvalidClient,
            format!("{provider} refused the client credentials of client id {client:?}"),
        ),
        _ => (
            Kind::OAuthEndpoint,
            format!("the token endpoint refused the refresh request with HTTP {status}"),
        ),
    };
    Err(Error::new(
        kind,
        format!("OAuth token endpoint {url}: {what} ({said})"),
    ))
}

/// Replace any secret an endpoint echoed.
fn redact(text: &str, secrets: &[Option<&str>]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().flatten().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::Provider;

    fn grant() -> RefreshGrant {
        RefreshGrant::new(
            Provider::Microsoft,
            "app-1",
            Some(Secret::new("s3cr3t")),
            Secret::new("rt-old"),
        )
    }

    fn err(status: u16, body: &str) -> Error {
        match interpret(
            "https://x/token",
            &grant(),
            status,
            body,
            &[Some("rt-old"), Some("s3cr3t")],
        ) {
            Ok(_) => panic!("{status} {body} was taken as a token"),
            Err(e) => e,
        }
    }

    #[test]
    fn token_response() {
        let g = interpret(
            "u",
            &grant(),
            200,
            r#"{"access_token":"at-1","token_type":"Bearer","expires_in":"3599","refresh_token":"rt-new","scope":"https://outlook.office.com/SMTP.Send"}"#,
            &[],
        )
        .unwrap();
        assert_eq!(g.access_token.expose(), "at-1");
        assert_eq!(g.expires_in, Some(Duration::from_secs(3599)));
        assert_eq!(g.refresh_token.unwrap().expose(), "rt-new");
        assert!(g.scope.unwrap().contains("SMTP.Send"));
    }

    #[test]
    fn errors_by_kind() {
        let cases = [
            (
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS70008: expired"}"#,
                Kind::OAuthInvalidGrant,
            ),
            (
                401,
                r#"{"error":"invalid_client"}"#,
                Kind::OAuthInvalidClient,
            ),
            (
                400,
                r#"{"error":"unauthorized_client"}"#,
                Kind::OAuthInvalidClient,
            ),
            (400, r#"{"error":"invalid_scope"}"#, Kind::OAuthScope),
            (503, "<html>down</html>", Kind::OAuthEndpointUnreachable),
            (429, "", Kind::OAuthEndpointUnreachable),
            (
                400,
                r#"{"error":"temporarily_unavailable"}"#,
                Kind::OAuthEndpointUnreachable,
            ),
            (400, r#"{"error":"invalid_request"}"#, Kind::OAuthEndpoint),
            (404, "not found", Kind::OAuthEndpoint),
            (200, r#"{"token_type":"Bearer"}"#, Kind::OAuthEndpoint),
            (200, "<html>login</html>", Kind::OAuthEndpoint),
            (
                200,
                r#"{"access_token":"a","token_type":"mac"}"#,
                Kind::OAuthEndpoint,
            ),
        ];
        for (status, body, kind) in cases {
            let e = err(status, body);
            assert_eq!(e.kind(), kind, "{status} {body}: {e}");
            assert!(e.message().contains("https://x/token"), "{e}");
        }
        assert!(
            err(
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS70008: expired"}"#
            )
            .message()
            .contains("AADSTS70008")
        );
    }

    #[test]
    fn echoed_secrets_are_redacted() {
        let e = err(
            400,
            r#"{"error":"invalid_grant","error_description":"token rt-old for s3cr3t\nis bad"}"#,
        );
        let text = e.message();
        assert!(
            !text.contains("rt-old") && !text.contains("s3cr3t"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }
}
