//! Plain-language hints: for each failure, what the user should do next.
//!
//! A failed send and the connection check explain the same fault with the same words,
//! so both come here. The hints follow the port rules of the project: 587 with STARTTLS for
//! submission, 465 when encryption must start at the first byte, 2525 when both are blocked,
//! 25 only for relaying between servers.

use crate::config::{CredentialKind, Security};
use crate::error::names::Api;
use crate::error::{Error, Kind, Step};
use crate::smtp::reply::Reply;

/// What the hint may refer to.
pub struct Context<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The mode in effect (not `Auto`).
    pub security: Security,
    pub helo_name: &'a str,
    /// What the client logs in with, if it does: a refused OAuth2 token and a refused password
    /// call for different fixes.
    pub credentials: Option<CredentialKind>,
    /// Whose names settings are given in.
    pub api: Api,
}

const OTHER_PORTS: &str = "use the submission port 587 with STARTTLS, or 465 with implicit TLS; 2525 is a common alternative when both are blocked";

/// What to do about an address that cannot be parsed; needs no connection context.
pub const ADDRESS_HINT: &str = "Write addresses as user@example.com or Name <user@example.com>; put a display name that contains a comma in double quotes.";

/// The next step for the user, in plain words; empty when the message says it all.
pub fn hint(error: &Error, cx: &Context<'_>) -> String {
    // Set where the error was made, by what knew more than this context (the OAuth token
    // endpoint's certificate names the endpoint, not the SMTP host).
    if !error.hint().is_empty() {
        return error.hint().to_string();
    }
    let code = error.reply().map(|r| r.code()).unwrap_or(0);
    let transient = error.reply().is_some_and(Reply::is_transient);
    let (host, port, api) = (cx.host, cx.port, cx.api);
    match error.kind() {
        Kind::InvalidInput => String::new(),
        Kind::InvalidAddress if error.message().contains("SMTPUTF8") => format!(
            "The server {host} cannot take addresses with non-ASCII characters before the '@' (it does not offer SMTPUTF8). Ask the recipient for an ASCII address, or send through a server that supports SMTPUTF8."
        ),
        Kind::InvalidAddress => ADDRESS_HINT.to_string(),
        Kind::Attachment => {
            "Check that the file exists, that this process may read it, and that nothing rewrites it while the message is being sent.".to_string()
        }
        Kind::Dns => format!(
            "Check the server name {host:?} for typos. If it is right, this machine's DNS resolver is not answering."
        ),
        Kind::ConnectRefused => format!(
            "Nothing accepts connections on {host} port {port}. Check the host and port: {OTHER_PORTS}."
        ),
        Kind::ConnectTimeout if port == 25 => format!(
            "Port 25 is blocked by most ISPs and cloud hosts (AWS, Google Cloud, Azure, DigitalOcean…) to stop spam, and it is meant for server-to-server relay. To send from an application, {OTHER_PORTS}."
        ),
        Kind::ConnectTimeout => format!(
            "The connection to port {port} timed out: a firewall is probably dropping it (many hosts filter outbound mail ports). Try another port — {OTHER_PORTS} — or ask your host to open port {port}."
        ),
        Kind::ConnectUnreachable => format!(
            "There is no network route to {host}. Check this machine's network connection (and IPv6 setup if the server has only IPv6 addresses)."
        ),
        Kind::TlsHandshake => "The TLS handshake failed. mailport requires TLS 1.2 or newer; the server may only offer older versions, or its TLS setup is broken. Ask the provider, or try their other port (465 or 587).".to_string(),
        Kind::CertificateUntrusted => format!(
            "The certificate of {host} is self-signed or issued by a CA this machine does not trust. If you run the server with a private CA, add the CA's certificate (a PEM file) with {}; do not turn verification off outside tests.",
            api.ca_file()
        ),
        Kind::CertificateExpired => format!(
            "The certificate of {host} is expired or not yet valid. Check this machine's clock; if it is right, the provider must renew the certificate."
        ),
        Kind::CertificateNameMismatch => format!(
            "The certificate is not valid for {host:?}. Connect with the host name your provider documents (the one in the certificate), not an IP address or an alias{}.",
            api.tls_server_name().map(|s| format!(", or name the certificate's host with {s}")).unwrap_or_default()
        ),
        Kind::PlaintextOnTlsPort => format!(
            "Port {port} speaks plain SMTP and expects STARTTLS, not implicit TLS. Use {} (usually with {}), or {} with {} for implicit TLS.",
            api.security(Security::StartTls),
            api.port(587),
            api.port(465),
            api.security(Security::Tls)
        ),
        Kind::TlsOnPlaintextPort => format!(
            "Port {port} expects implicit TLS from the first byte (like port 465). Use {} for this port, or {} with {}.",
            api.security(Security::Tls),
            api.port(587),
            api.security(Security::StartTls)
        ),
        Kind::Greeting if code == 554 => "The server refuses to talk to this machine (554 in its greeting). Its IP address may be on a block list, or the provider only accepts mail from its own network.".to_string(),
        Kind::Greeting => format!(
            "The server's greeting was unexpected: check that {host} port {port} is an SMTP server."
        ),
        Kind::Ehlo => format!(
            "The server refused the name {:?} this machine announces. Set {} to a real, resolvable host name.",
            cx.helo_name,
            api.helo_name()
        ),
        Kind::StartTlsUnavailable => format!(
            "The server on port {port} does not offer STARTTLS, so mailport stopped before sending anything in plaintext. Use {} with {} if the provider offers implicit TLS. If the provider documents STARTTLS here, something on the network may be stripping it (some hosts intercept outbound SMTP).",
            api.port(465),
            api.security(Security::Tls)
        ),
        Kind::StartTls => "The STARTTLS upgrade failed, so mailport stopped rather than continue unencrypted. Try implicit TLS on port 465, or ask the provider.".to_string(),
        Kind::AuthUnavailable if cx.security == Security::None || error.message().contains("unencrypted") =>
            format!(
                "mailport never sends a password over an unencrypted connection. Use STARTTLS (port 587) or implicit TLS (port 465){}.",
                api.dangerous_allow_plaintext_auth()
                    .map(|s| format!("; for a trusted relay on loopback only, {s} permits it"))
                    .unwrap_or_default()
            ),
        Kind::AuthUnavailable =>
            "The server does not offer a login method mailport can use on this port. Submission ports (587, 465) offer AUTH; port 25 often does not. If the relay accepts this machine by IP address, remove the credentials.".to_string(),
        Kind::AuthFailed if transient => "The server could not check the credentials right now (temporary failure). Try again later.".to_string(),
        Kind::AuthFailed if cx.credentials == Some(CredentialKind::OAuth2) => format!(
            "The server refused the OAuth2 access token. A token lives about an hour: let mailport refresh it ({}) or give a fresh one; if a fresh token is refused too, it lacks the SMTP scope, the account has SMTP AUTH turned off (Microsoft 365: the mailbox's \"Authenticated SMTP\" setting), or the user name is not the token's account.",
            api.oauth_refresh()
        ),
        Kind::AuthFailed if code == 534 || code == 538 => "The server wants a different login method: for Gmail and Microsoft 365, create an app password or use OAuth2 (XOAUTH2) instead of the account password.".to_string(),
        Kind::AuthFailed => "The user name or password was rejected. Check both; with Gmail, Outlook or Microsoft 365 and two-step verification, use an app password (or OAuth2), not the account password.".to_string(),
        Kind::MailFrom if transient => "The server refused the sender for now (temporary). Try again later.".to_string(),
        Kind::MailFrom if code == 530 => format!(
            "The server requires authentication before accepting mail: set a user name and password ({}).",
            api.credentials()
        ),
        Kind::MailFrom => "The server refused the sender address. Most providers accept only the address of the account you log in with (or its verified aliases) as the envelope sender.".to_string(),
        Kind::RecipientsRejected if error.is_transient() => "The server refused recipients for now (a 4xx reply, often greylisting or a rate limit). Try again later.".to_string(),
        Kind::RecipientsRejected => format!(
            "Check the refused addresses. 550 / 5.1.1 means the mailbox does not exist; 'relay denied' or 5.7.1 means this server will not forward mail for you: log in (AUTH) or use the provider's submission server.{}",
            api.allow_partial_recipients()
                .map(|s| format!(" {s} sends to the accepted recipients anyway."))
                .unwrap_or_default()
        ),
        Kind::Data if transient => "The server did not accept the message for now (temporary). Try again later.".to_string(),
        Kind::Data => "The server rejected the message itself — usually a spam, virus or policy filter; its reply says why.".to_string(),
        Kind::MessageTooLarge => "Make the message smaller: compress or drop attachments, or send a link to large files.".to_string(),
        Kind::Timeout if error.step() == Some(Step::Greeting) => format!(
            "The server accepted the connection but never greeted. Port {port} may expect implicit TLS ({}, as on port 465), or the server is overloaded.",
            api.security(Security::Tls)
        ),
        Kind::Timeout => format!(
            "The server stopped answering. Try again later; if the server is known to be slow, raise {}.",
            api.command_timeout()
        ),
        Kind::Protocol => format!(
            "The server did not follow the SMTP protocol. Check that {host} port {port} is a mail server; if it is, report the transcript to its operator."
        ),
        Kind::ConnectionClosed => "The server closed the connection. Try again; if it keeps happening, the server may be limiting or blocking this machine.".to_string(),
        Kind::Io => "A network error interrupted the session. Trying again may help.".to_string(),
        Kind::OAuthInvalidGrant => format!(
            "The refresh token no longer works: it was revoked (password change, consent withdrawn, an admin), expired unused (Microsoft: 90 days; Google: 6 months, or 7 days while the app's consent screen is in \"Testing\"), or belongs to another client id. The user must consent again: {}{}.",
            api.oauth_consent(),
            api.oauth_new_refresh_token()
                .map(|s| format!(", then give the new refresh token with {s}"))
                .unwrap_or_default()
        ),
        Kind::OAuthInvalidClient => format!(
            "The token endpoint refused the client id or secret. Copy both again from the app registration (Google Cloud console: Credentials; Microsoft Entra: App registrations, Certificates & secrets — a client secret expires there too) into {}. A public client (device login) has no secret: leave it unset.",
            api.oauth_client()
        ),
        Kind::OAuthEndpointUnreachable => format!(
            "The token endpoint could not be reached or failed for now; nothing was sent. Trying again later may work (an outbox retries by itself). If it persists, check this machine's outbound HTTPS (port 443) and the token URL ({}).",
            api.oauth_token_url()
        ),
        Kind::OAuthScope => format!(
            "The token does not carry the scope SMTP needs: Google `https://mail.google.com/`, Microsoft `https://outlook.office.com/SMTP.Send` (with offline_access). Add it to the app registration's API permissions{}, and consent again: {}.",
            api.oauth_scope()
                .map(|s| format!(", set it with {s} if you changed it"))
                .unwrap_or_default(),
            api.oauth_consent()
        ),
        Kind::OAuthEndpoint => format!(
            "The token endpoint refused the request or did not answer with a token. Check the provider, tenant and token URL ({}); its error, quoted in the message, says what it wants.",
            api.oauth_token_url()
        ),
        Kind::OAuthCallback => format!(
            "Your token callback ({}) did not give a token; its reason is in the message. Make it return a current access token (and its lifetime), or signal the failure with a message.",
            api.oauth_token_callback()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(port: u16) -> Context<'static> {
        Context {
            host: "smtp.example.com",
            port,
            security: Security::StartTls,
            helo_name: "client.example.org",
            credentials: Some(CredentialKind::Password),
            api: Api::Rust,
        }
    }

    #[test]
    fn port_25_timeout_suggests_submission_ports() {
        let e = Error::new(Kind::ConnectTimeout, "timed out");
        let h = hint(&e, &cx(25));
        assert!(
            h.contains("blocked") && h.contains("587") && h.contains("465") && h.contains("2525"),
            "{h}"
        );
    }

    #[test]
    fn hints_name_settings_in_the_callers_api() {
        let untrusted = Error::new(Kind::CertificateUntrusted, "x");
        let on_465 = Error::new(Kind::TlsOnPlaintextPort, "x");
        for (api, ca_file, tls) in [
            (
                Api::C,
                "mailport_config_add_ca_file",
                "MAILPORT_SECURITY_TLS",
            ),
            (Api::Python, "ca_file=", "security=\"tls\""),
            (Api::Php, "caFile", "security: 'tls'"),
            (Api::Cli, "--ca-file", "--security tls"),
            (Api::Rust, "config.tls.ca_files", "Security::Tls"),
        ] {
            let cx = Context { api, ..cx(465) };
            let h = hint(&untrusted, &cx);
            assert!(h.contains(ca_file), "{api:?}: {h}");
            let h = hint(&on_465, &cx);
            assert!(h.contains(tls), "{api:?}: {h}");
        }
        // The command line has no plaintext-AUTH switch: its hint does not invent one.
        let plaintext = Error::new(Kind::AuthUnavailable, "over an unencrypted connection");
        let cli = Context {
            api: Api::Cli,
            ..cx(25)
        };
        assert!(!hint(&plaintext, &cli).contains("dangerous"));
        let c = Context {
            api: Api::C,
            ..cx(25)
        };
        assert!(hint(&plaintext, &c).contains("mailport_config_dangerous_allow_plaintext_auth"));
    }

    #[test]
    fn wordpress_hints_name_the_plugins_settings() {
        let wp = |port| Context {
            api: Api::WordPress,
            ..cx(port)
        };
        let h = hint(&Error::new(Kind::CertificateUntrusted, "x"), &wp(587));
        assert!(h.contains("MAILPORT_CA_FILE in wp-config.php"), "{h}");
        let h = hint(&Error::new(Kind::PlaintextOnTlsPort, "x"), &wp(465));
        assert!(
            h.contains("Use Security \"STARTTLS\" (usually with Port 587), or Port 465 with Security \"TLS from the first byte\""),
            "{h}"
        );
        let h = hint(&Error::new(Kind::Timeout, "x"), &wp(587));
        assert!(
            h.contains("raise MAILPORT_TIMEOUT (seconds) in wp-config.php"),
            "{h}"
        );

        // Consenting again is the whole fix: Connect stores the new refresh token.
        let h = hint(&Error::new(Kind::OAuthInvalidGrant, "x"), &wp(587));
        assert!(
            h.contains("\"Connect with Google\" or \"Connect with Microsoft\""),
            "{h}"
        );
        assert!(
            !h.contains("give the new refresh token") && !h.contains("oauthRefreshToken"),
            "{h}"
        );
        let h = hint(&Error::new(Kind::OAuthScope, "x"), &wp(587));
        assert!(
            !h.contains("set it with") && h.contains("Connect with Google"),
            "{h}"
        );
        let h = hint(&Error::new(Kind::OAuthInvalidClient, "x"), &wp(587));
        assert!(
            h.contains("OAuth client id and OAuth client secret on Settings > Mailport"),
            "{h}"
        );

        // No field or constant sends a password in plaintext or drops refused recipients.
        let h = hint(
            &Error::new(Kind::AuthUnavailable, "over an unencrypted connection"),
            &wp(25),
        );
        assert!(!h.contains("dangerous") && !h.contains("permits it"), "{h}");
        let h = hint(&Error::new(Kind::RecipientsRejected, "x"), &wp(587));
        assert!(
            !h.contains("allow") && h.ends_with("submission server."),
            "{h}"
        );

        // PHP keeps its own names, and its refresh token still has to be given back.
        let php = Context {
            api: Api::Php,
            ..cx(587)
        };
        let h = hint(&Error::new(Kind::OAuthInvalidGrant, "x"), &php);
        assert!(
            h.contains("give the new refresh token with oauthRefreshToken"),
            "{h}"
        );
        let h = hint(&Error::new(Kind::OAuthScope, "x"), &php);
        assert!(
            h.contains("set it with oauthScope if you changed it"),
            "{h}"
        );
    }

    #[test]
    fn a_refused_login_is_explained_by_the_kind_of_credentials() {
        // The server's words are the same for both: only what was sent tells the fix apart.
        let refused = Error::from_reply(
            Kind::AuthFailed,
            "the server rejected the credentials",
            Reply::new(535, vec!["5.7.8 Authentication credentials invalid".into()]),
        );
        let with = |credentials| Context {
            credentials,
            ..cx(587)
        };
        let h = hint(&refused, &with(Some(CredentialKind::OAuth2)));
        assert!(
            h.contains("refused the OAuth2 access token") && h.contains("TokenSource::Refresh"),
            "{h}"
        );
        for credentials in [Some(CredentialKind::Password), None] {
            let h = hint(&refused, &with(credentials));
            assert!(
                h.contains("user name or password was rejected"),
                "{credentials:?}: {h}"
            );
        }
        // A mechanism named in the message no longer decides it.
        let named = Error::new(Kind::AuthFailed, "rejected (XOAUTH2)");
        let h = hint(&named, &with(Some(CredentialKind::Password)));
        assert!(!h.contains("OAuth2 access token"), "{h}");
    }

    #[test]
    fn plaintext_on_465_points_to_starttls() {
        let e = Error::new(Kind::PlaintextOnTlsPort, "x");
        let h = hint(&e, &cx(465));
        assert!(h.contains("STARTTLS") && h.contains("587"), "{h}");
    }

    #[test]
    fn every_kind_but_invalid_input_has_a_hint() {
        use Kind::*;
        for kind in [
            Dns,
            ConnectRefused,
            ConnectUnreachable,
            ConnectTimeout,
            TlsHandshake,
            CertificateUntrusted,
            CertificateExpired,
            CertificateNameMismatch,
            PlaintextOnTlsPort,
            TlsOnPlaintextPort,
            Greeting,
            Ehlo,
            StartTlsUnavailable,
            StartTls,
            AuthUnavailable,
            AuthFailed,
            MailFrom,
            RecipientsRejected,
            Data,
            MessageTooLarge,
            Timeout,
            Protocol,
            ConnectionClosed,
            Io,
        ] {
            assert!(
                !hint(&Error::new(kind, "x"), &cx(587)).is_empty(),
                "{kind:?}"
            );
        }
    }
}
