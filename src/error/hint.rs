//! Plain-language hints: for each failure, what the user should do next.
//!
//! A failed send and the connection check explain the same fault with the same words,
//! so both come here. The hints follow the port rules of the project: 587 with STARTTLS for
//! submission, 465 when encryption must start at the first byte, 2525 when both are blocked,
//! 25 only for relaying between servers.

use crate::config::Security;
use crate::error::{Error, Kind, Step};
use crate::smtp::reply::Reply;

/// What the hint may refer to.
pub struct Context<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The mode in effect (not `Auto`).
    pub security: Security,
    pub helo_name: &'a str,
}

const OTHER_PORTS: &str = "use the submission port 587 with STARTTLS, or 465 with implicit TLS; 2525 is a common alternative when both are blocked";

/// What to do about an address that cannot be parsed; needs no connection context.
pub const ADDRESS_HINT: &str = "Write addresses as user@example.com or Name <user@example.com>; put a display name that contains a comma in double quotes.";

/// The next step for the user, in plain words; empty when the message says it all.
pub fn hint(error: &Error, cx: &Context<'_>) -> String {
    let code = error.reply().map(|r| r.code()).unwrap_or(0);
    let transient = error.reply().is_some_and(Reply::is_transient);
    let (host, port) = (cx.host, cx.port);
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
            "The certificate of {host} is self-signed or issued by a CA this machine does not trust. If you run the server with a private CA, give its certificate as a CA file; do not turn verification off outside tests."
        ),
        Kind::CertificateExpired => format!(
            "The certificate of {host} is expired or not yet valid. Check this machine's clock; if it is right, the provider must renew the certificate."
        ),
        Kind::CertificateNameMismatch => format!(
            "The certificate is not valid for {host:?}. Connect with the host name your provider documents (the one in the certificate), not an IP address or an alias."
        ),
        Kind::PlaintextOnTlsPort => format!(
            "Port {port} speaks plain SMTP and expects STARTTLS, not implicit TLS. Set security to STARTTLS (usually with port 587), or use port 465 for implicit TLS."
        ),
        Kind::TlsOnPlaintextPort => format!(
            "Port {port} expects implicit TLS from the first byte (like port 465). Set security to TLS for this port, or use port 587 with STARTTLS."
        ),
        Kind::Greeting if code == 554 => "The server refuses to talk to this machine (554 in its greeting). Its IP address may be on a block list, or the provider only accepts mail from its own network.".to_string(),
        Kind::Greeting => format!(
            "The server's greeting was unexpected: check that {host} port {port} is an SMTP server."
        ),
        Kind::Ehlo => format!(
            "The server refused the name {:?} this machine announces. Set the HELO name to a real, resolvable host name.",
            cx.helo_name
        ),
        Kind::StartTlsUnavailable => format!(
            "The server on port {port} does not offer STARTTLS, so mailport stopped before sending anything in plaintext. Use port 465 with implicit TLS if the provider offers it. If the provider documents STARTTLS here, something on the network may be stripping it (some hosts intercept outbound SMTP)."
        ),
        Kind::StartTls => "The STARTTLS upgrade failed, so mailport stopped rather than continue unencrypted. Try implicit TLS on port 465, or ask the provider.".to_string(),
        Kind::AuthUnavailable if cx.security == Security::None || error.message().contains("unencrypted") =>
            "mailport never sends a password over an unencrypted connection. Use STARTTLS (port 587) or implicit TLS (port 465); for a trusted relay on loopback only, the option named 'dangerous allow plaintext auth' permits it.".to_string(),
        Kind::AuthUnavailable =>
            "The server does not offer a login method mailport can use on this port. Submission ports (587, 465) offer AUTH; port 25 often does not. If the relay accepts this machine by IP address, remove the credentials.".to_string(),
        Kind::AuthFailed if transient => "The server could not check the credentials right now (temporary failure). Try again later.".to_string(),
        Kind::AuthFailed if code == 534 || code == 538 => "The server wants a different login method: for Gmail and Microsoft 365, create an app password or use OAuth2 (XOAUTH2) instead of the account password.".to_string(),
        Kind::AuthFailed => "The user name or password was rejected. Check both; with Gmail, Outlook or Microsoft 365 and two-step verification, use an app password (or OAuth2), not the account password.".to_string(),
        Kind::MailFrom if transient => "The server refused the sender for now (temporary). Try again later.".to_string(),
        Kind::MailFrom if code == 530 => "The server requires authentication before accepting mail: set a user name and password.".to_string(),
        Kind::MailFrom => "The server refused the sender address. Most providers accept only the address of the account you log in with (or its verified aliases) as the envelope sender.".to_string(),
        Kind::RecipientsRejected if error.is_transient() => "The server refused recipients for now (a 4xx reply, often greylisting or a rate limit). Try again later.".to_string(),
        Kind::RecipientsRejected => "Check the refused addresses. 550 / 5.1.1 means the mailbox does not exist; 'relay denied' or 5.7.1 means this server will not forward mail for you: log in (AUTH) or use the provider's submission server. The option to allow partial delivery sends to the accepted recipients anyway.".to_string(),
        Kind::Data if transient => "The server did not accept the message for now (temporary). Try again later.".to_string(),
        Kind::Data => "The server rejected the message itself — usually a spam, virus or policy filter; its reply says why.".to_string(),
        Kind::MessageTooLarge => "Make the message smaller: compress or drop attachments, or send a link to large files.".to_string(),
        Kind::Timeout if error.step() == Some(Step::Greeting) => format!(
            "The server accepted the connection but never greeted. Port {port} may expect implicit TLS (set security to TLS, as on port 465), or the server is overloaded."
        ),
        Kind::Timeout => "The server stopped answering. Try again later; if the server is known to be slow, raise the timeouts.".to_string(),
        Kind::Protocol => format!(
            "The server did not follow the SMTP protocol. Check that {host} port {port} is a mail server; if it is, report the transcript to its operator."
        ),
        Kind::ConnectionClosed => "The server closed the connection. Try again; if it keeps happening, the server may be limiting or blocking this machine.".to_string(),
        Kind::Io => "A network error interrupted the session. Trying again may help.".to_string(),
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
