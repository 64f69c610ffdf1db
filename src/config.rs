//! Client configuration: where to connect, how to secure it, who to log in as, how long to wait.
//!
//! Defaults are the safe ones: port 587 with STARTTLS required, certificates verified against
//! the system's trust store (Mozilla's roots where it has none), credentials never sent over
//! plaintext.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::names::Api;
use crate::error::{Error, Result};
pub use crate::oauth::TokenSource;
use crate::smtp::auth::Mechanism;
use crate::transcript::Sink;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Security {
    /// Pick by port: 465 → [`Security::Tls`]; 25 → [`Security::Opportunistic`];
    /// anything else (587, 2525, …) → [`Security::StartTls`].
    #[default]
    Auto,
    /// STARTTLS is required: if the server does not offer it, or the upgrade fails, abort.
    StartTls,
    /// Implicit TLS from the first byte (port 465, "SMTPS").
    Tls,
    /// STARTTLS when the server offers it, plaintext otherwise. Meant for relaying on port 25.
    /// Credentials are still never sent over plaintext.
    Opportunistic,
    /// No encryption at all.
    None,
}

impl Security {
    /// The mode actually used on `port`.
    pub fn resolve(self, port: u16) -> Security {
        match self {
            Security::Auto => match port {
                465 => Security::Tls,
                25 => Security::Opportunistic,
                _ => Security::StartTls,
            },
            other => other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::Auto => "auto",
            Security::StartTls => "starttls",
            Security::Tls => "tls",
            Security::Opportunistic => "opportunistic",
            Security::None => "none",
        }
    }

    pub fn parse(text: &str) -> Result<Security> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Security::Auto),
            "starttls" => Ok(Security::StartTls),
            "tls" | "ssl" | "implicit" | "smtps" => Ok(Security::Tls),
            "opportunistic" => Ok(Security::Opportunistic),
            "none" | "plain" | "plaintext" => Ok(Security::None),
            _ => Err(Error::invalid_input(format!(
                "security: unknown mode {text:?} (expected auto, starttls, tls, opportunistic or none)"
            ))),
        }
    }
}

/// A secret string: never printed, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the client authenticates with.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Credentials {
    /// A user name and password, for AUTH PLAIN or LOGIN.
    Password { username: String, password: Secret },
    /// An OAuth 2.0 bearer token, for AUTH XOAUTH2 (or OAUTHBEARER, RFC 7628, where the server
    /// offers only that): a fixed token, a refresh grant, or the caller's callback
    /// ([`TokenSource`]).
    OAuth2 {
        username: String,
        token: TokenSource,
    },
}

impl Credentials {
    pub fn username(&self) -> &str {
        match self {
            Credentials::Password { username, .. } | Credentials::OAuth2 { username, .. } => {
                username
            }
        }
    }

    pub fn kind(&self) -> CredentialKind {
        match self {
            Credentials::Password { .. } => CredentialKind::Password,
            Credentials::OAuth2 { .. } => CredentialKind::OAuth2,
        }
    }
}

/// Which kind of [`Credentials`] a client logs in with, without the secret: a refused login
/// means a wrong password for one and a stale or unfit token for the other.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CredentialKind {
    Password,
    OAuth2,
}

/// Time limits. A server that stops talking can never hang the caller longer than these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For each TCP connection attempt (each resolved address gets its own).
    pub connect: Duration,
    /// For each command's reply, the greeting and the TLS handshake.
    pub command: Duration,
    /// For the reply after the message data (servers scan the message before answering).
    pub data_end: Duration,
    /// For one whole `send`, connection included.
    pub send_total: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        // Most mail is sent from inside a web request, and nginx, Apache and load balancers
        // give up on a request after 60 s with a 504 the application never sees. So a whole
        // send ends well before that (45 s, leaving time for the rest of the request), and the
        // application gets the error and can say what went wrong. Connect: long enough for a
        // slow handshake across the world, short enough that a filtered port is reported
        // quickly. A reply normally takes well under a second; 30 s still covers a loaded
        // server. After the data, servers scan the message (spam, viruses) first: 40 s. RFC
        // 5321 §4.5.3.2 allows minutes per step, which suits relays, not a page being served;
        // batch senders (the outbox, the command line) raise these.
        Timeouts {
            connect: Duration::from_secs(10),
            command: Duration::from_secs(30),
            data_end: Duration::from_secs(40),
            send_total: Duration::from_secs(45),
        }
    }
}

/// How long a plaintext connection (STARTTLS, opportunistic, none) waits for the server's
/// greeting before mailport checks, on a second connection, whether the port expects implicit
/// TLS instead: 5 s, as the connection check waits. A server that answers that TLS hello fails
/// the send at once with [`Kind::TlsOnPlaintextPort`](crate::Kind::TlsOnPlaintextPort) rather
/// than after the whole command timeout; one that does not is only slow, and mailport waits
/// for its greeting up to [`Timeouts::command`].
pub const GREETING_WAIT: Duration = Duration::from_secs(5);

/// Where the TLS trust anchors come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust Mozilla's root program (webpki-roots): when `system_roots` is on, only as its
    /// fallback, if the system store has no certificates at all. On by default.
    pub webpki_roots: bool,
    /// Trust the operating system's certificate store, found as each platform keeps it
    /// (`rustls-native-certs`; `SSL_CERT_FILE`/`SSL_CERT_DIR` when set). On by default.
    pub system_roots: bool,
    /// Extra PEM files whose certificates are trusted (a private CA).
    pub ca_files: Vec<PathBuf>,
    /// Extra PEM data whose certificates are trusted.
    pub ca_pem: Vec<Vec<u8>>,
    /// Skip certificate verification entirely. Only for testing against throwaway servers.
    pub dangerous_accept_invalid_certs: bool,
    /// Name to verify the certificate against, when it differs from the host connected to.
    pub server_name: Option<String>,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions {
            webpki_roots: true,
            system_roots: true,
            ca_files: Vec::new(),
            ca_pem: Vec::new(),
            dangerous_accept_invalid_certs: false,
            server_name: None,
        }
    }
}

/// Everything a [`crate::Client`] needs to know. Cheap to clone.
#[derive(Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<Credentials>,
    /// The SASL mechanism to use; `None` picks the best the server offers for the credentials
    /// (PLAIN, then LOGIN for a password; XOAUTH2, then OAUTHBEARER for a token).
    pub auth_mechanism: Option<Mechanism>,
    /// The name sent in EHLO/HELO; `None` uses this machine's host name.
    pub helo_name: Option<String>,
    pub timeouts: Timeouts,
    pub tls: TlsOptions,
    /// Send credentials even over an unencrypted connection. For loopback and trusted relays only.
    pub dangerous_allow_plaintext_auth: bool,
    /// Deliver to the recipients the server accepted even when it refused some (the receipt lists
    /// the refused ones). Off by default: then a single refusal aborts the whole message.
    pub allow_partial_recipients: bool,
    /// Pass message bodies to the transcript (they are replaced by their size otherwise).
    pub transcript_bodies: bool,
    /// Receives every transcript event as it happens.
    pub sink: Option<Arc<dyn Sink>>,
    /// With `port` [`PORT_AUTO`]: the ports to try, in order of preference, each with its
    /// security. The first that fully works (connects, encrypts with a trusted certificate,
    /// authenticates) is kept for the client's life.
    pub auto_ports: Vec<(u16, Security)>,
    /// Let the automatic choice fall back to port 25, which is meant for server-to-server relay.
    pub allow_relay: bool,
    /// Keep the authenticated session in a process-wide pool when the client is closed, for
    /// the next client with the same settings (long-lived PHP and Python workers). Off by
    /// default.
    pub persistent: bool,
    /// How long a pooled session may stay idle before it is closed. However busy, a session is
    /// closed once five minutes old, so none outlives a change on the server side for long.
    pub pool_idle_timeout: Duration,
    /// The API the caller configures mailport through: hints name settings in its words
    /// (`mailport_config_add_ca_file` for C, `ca_file=` for Python, ...). Rust by default.
    pub api: Api,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials)
            .field("auth_mechanism", &self.auth_mechanism)
            .field("helo_name", &self.helo_name)
            .field("timeouts", &self.timeouts)
            .field("tls", &self.tls)
            .field(
                "dangerous_allow_plaintext_auth",
                &self.dangerous_allow_plaintext_auth,
            )
            .field("allow_partial_recipients", &self.allow_partial_recipients)
            .field("transcript_bodies", &self.transcript_bodies)
            .field("sink", &self.sink.as_ref().map(|_| "<callback>"))
            .field("auto_ports", &self.auto_ports)
            .field("allow_relay", &self.allow_relay)
            .field("persistent", &self.persistent)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("api", &self.api)
            .finish()
    }
}

/// The submission port, used when none is given.
pub const DEFAULT_PORT: u16 = 587;

/// The `port` value that asks for the automatic choice among [`Config::auto_ports`].
pub const PORT_AUTO: u16 = 0;

/// The automatic choice's preference: 587 with STARTTLS, 465 with implicit TLS, 2525 with
/// STARTTLS (port 25 only with [`Config::allow_relay`]).
pub const AUTO_PORTS: [(u16, Security); 3] = [
    (587, Security::StartTls),
    (465, Security::Tls),
    (2525, Security::StartTls),
];

impl Config {
    /// A configuration for `host` on port 587 with every default.
    pub fn new(host: impl Into<String>) -> Config {
        Config {
            host: host.into(),
            port: DEFAULT_PORT,
            security: Security::Auto,
            credentials: None,
            auth_mechanism: None,
            helo_name: None,
            timeouts: Timeouts::default(),
            tls: TlsOptions::default(),
            dangerous_allow_plaintext_auth: false,
            allow_partial_recipients: false,
            transcript_bodies: false,
            sink: None,
            auto_ports: AUTO_PORTS.to_vec(),
            allow_relay: false,
            persistent: false,
            // Below the 300 s after which servers such as Postfix drop an idle client.
            pool_idle_timeout: Duration::from_secs(60),
            api: Api::Rust,
        }
    }

    /// The (port, security) pairs the automatic choice tries, in order, honouring an explicit
    /// security mode.
    pub fn auto_candidates(&self) -> Vec<(u16, Security)> {
        let mut candidates = self.auto_ports.clone();
        if self.allow_relay && !candidates.iter().any(|(p, _)| *p == 25) {
            candidates.push((25, Security::StartTls));
        }
        match self.security {
            Security::StartTls | Security::Tls => {
                candidates.retain(|(_, s)| *s == self.security);
            }
            _ => {}
        }
        candidates
    }

    /// Parse `smtp://`, `smtps://` or `smtp+starttls://[user[:password]@]host[:port]`.
    ///
    /// `smtp://` means STARTTLS when offered on port 25 and required elsewhere (the `auto` rule),
    /// `smtps://` implicit TLS (default port 465), `smtp+starttls://` STARTTLS required, and
    /// `smtp+plain://` no encryption. User and password are percent-decoded.
    pub fn from_url(url: &str) -> Result<Config> {
        let bad = |why: &str| Error::invalid_input(format!("url: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host, e.g. smtp://mail.example.com:587"))?;
        let (security, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (Security::Auto, DEFAULT_PORT),
            "smtps" => (Security::Tls, 465),
            "smtp+starttls" => (Security::StartTls, DEFAULT_PORT),
            "smtp+plain" => (Security::None, DEFAULT_PORT),
            other => {
                return Err(bad(&format!(
                    "unknown scheme {other:?} (expected smtp, smtps, smtp+starttls or smtp+plain)"
                )));
            }
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains(['/', '?', '#']) {
            return Err(bad("a path, query or fragment is not allowed"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport).map_err(|why| bad(&why))?;
        let mut config = Config::new(host);
        config.security = security;
        config.port = port.unwrap_or(default_port);
        if let Some(userinfo) = userinfo {
            let (user, pass) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            let username = percent_decode(user).map_err(|why| bad(&why))?;
            let password = percent_decode(pass.unwrap_or("")).map_err(|why| bad(&why))?;
            if username.is_empty() {
                return Err(bad("empty user name before '@'"));
            }
            config.credentials = Some(Credentials::Password {
                username,
                password: Secret::new(password),
            });
        }
        config.validate()?;
        Ok(config)
    }

    /// The security mode used on the configured port.
    pub fn effective_security(&self) -> Security {
        self.security.resolve(self.port)
    }

    /// Set the password for the user name the config already has (from a URL's `user@`, or
    /// earlier credentials), so that a password need not be written into a URL.
    pub fn set_password(&mut self, password: &str) -> Result<()> {
        crate::address::check_no_controls(password, "password")?;
        match &mut self.credentials {
            Some(Credentials::Password { password: kept, .. }) => {
                *kept = Secret::new(password);
                Ok(())
            }
            Some(Credentials::OAuth2 { .. }) => Err(Error::invalid_input(
                "password: this config logs in with an OAuth2 token; set a user name and password together instead",
            )),
            None => Err(Error::invalid_input(
                "password: this config has no user name to go with it; set the user name and password together, or use a URL with user@",
            )),
        }
    }

    /// Check the values a caller may have set field by field.
    pub fn validate(&self) -> Result<()> {
        crate::address::check_host(&self.host, "host")?;
        if self.port == PORT_AUTO {
            if matches!(self.security, Security::Opportunistic | Security::None) {
                return Err(Error::invalid_input(
                    "port: the automatic choice needs security auto, starttls or tls (it only picks encrypted ports)",
                ));
            }
            if self.auto_candidates().is_empty() {
                return Err(Error::invalid_input(
                    "port: the automatic choice has no port to try (auto_ports is empty for this security mode)",
                ));
            }
            if let Some((port, _)) = self.auto_ports.iter().find(|(p, _)| *p == PORT_AUTO) {
                return Err(Error::invalid_input(format!(
                    "auto_ports: {port} is not a valid port"
                )));
            }
        }
        if let Some(name) = &self.helo_name {
            crate::address::check_helo_name(name)?;
        }
        if let Some(creds) = &self.credentials {
            crate::address::check_no_controls(creds.username(), "username")?;
            match creds {
                Credentials::Password { password, .. } => {
                    crate::address::check_no_controls(password.expose(), "password")?;
                }
                Credentials::OAuth2 { token, .. } => match token {
                    TokenSource::Fixed(token) => {
                        crate::address::check_no_controls(token.expose(), "oauth2 token")?;
                    }
                    TokenSource::Refresh(grant) => grant.validate()?,
                    TokenSource::Callback(_) => {}
                },
            }
            if let Some(mechanism) = self.auth_mechanism {
                crate::smtp::auth::check_mechanism_fits(mechanism, creds)?;
            }
        }
        for (name, value) in [
            ("connect timeout", self.timeouts.connect),
            ("command timeout", self.timeouts.command),
            ("data timeout", self.timeouts.data_end),
            ("send timeout", self.timeouts.send_total),
        ] {
            if value.is_zero() {
                return Err(Error::invalid_input(format!(
                    "{name}: must be more than zero"
                )));
            }
        }
        Ok(())
    }
}

/// Split `host[:port]`. Errors never quote the port text: when a URL lacks its `@host`,
/// `smtp://user:password` puts the password where the port belongs.
fn split_host_port(text: &str) -> std::result::Result<(String, Option<u16>), String> {
    let parse_port = |p: &str| {
        if p.eq_ignore_ascii_case("auto") {
            return Ok(PORT_AUTO);
        }
        // A port is written without leading zeros; "0123" is more likely a forgotten host's
        // password than port 123.
        let canonical = !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit());
        let port = p.parse::<u16>().ok().filter(|_| canonical);
        port.ok_or_else(|| {
            "what follows the last ':' is not a port (1-65535 or auto); if it is a password, \
             the URL lacks its host: write smtp://user:password@host:port"
                .to_string()
        })
    };
    if let Some(inner) = text.strip_prefix('[') {
        let (addr, after) = inner
            .split_once(']')
            .ok_or_else(|| "missing ']' after an IPv6 address".to_string())?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if after.is_empty() => None,
            None => return Err("only ':port' may follow the IPv6 address".to_string()),
        };
        // Brackets hold an IPv6 address and nothing else (RFC 3986 §3.2.2); anything else
        // there would reach DNS as a host name no resolver has.
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("what is in brackets is not an IPv6 address, e.g. \
                        smtp://[2001:db8::1]:587"
                .to_string());
        }
        return Ok((addr.to_string(), port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, p)) => (host, Some(parse_port(p)?)),
        None => (text, None),
    };
    // Outside brackets a ':' can only be the port's: `smtp://fe80::1` would otherwise connect
    // to host "fe80:" on port 1 (RFC 3986 §3.2.2 brackets IPv6 addresses for this reason).
    if host.contains([':', '[', ']']) {
        // Not quoted: in `smtp://me:secret:587` the "host" is the user and the password.
        return Err(
            "the host holds a ':' or a bracket: an IPv6 address is written in \
                    brackets, e.g. smtp://[2001:db8::1]:587, and a password needs its host \
                    after it (smtp://user:password@host:port)"
                .to_string(),
        );
    }
    Ok((host.to_string(), port))
}

fn percent_decode(text: &str) -> std::result::Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent escapes do not form UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_security_follows_the_port() {
        assert_eq!(Security::Auto.resolve(465), Security::Tls);
        assert_eq!(Security::Auto.resolve(587), Security::StartTls);
        assert_eq!(Security::Auto.resolve(2525), Security::StartTls);
        assert_eq!(Security::Auto.resolve(25), Security::Opportunistic);
        assert_eq!(Security::None.resolve(465), Security::None);
    }

    #[test]
    fn url_forms() {
        let c = Config::from_url("smtps://me%40x.org:p%3Ass@mail.example.com").unwrap();
        assert_eq!(c.port, 465);
        assert_eq!(c.security, Security::Tls);
        match c.credentials.unwrap() {
            Credentials::Password { username, password } => {
                assert_eq!(username, "me@x.org");
                assert_eq!(password.expose(), "p:ss");
            }
            other => panic!("{other:?}"),
        }
        let c = Config::from_url("smtp+starttls://mail.example.com:2525").unwrap();
        assert_eq!((c.port, c.security), (2525, Security::StartTls));
        let c = Config::from_url("smtp://[::1]:25").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("::1", 25));
        assert_eq!(c.effective_security(), Security::Opportunistic);
        assert!(Config::from_url("http://x").is_err());
        assert!(Config::from_url("smtp://x:0").is_err());
        assert!(Config::from_url("smtp://x:99999").is_err());
        assert!(Config::from_url("smtp://x/path").is_err());
        assert!(Config::from_url("smtp://a%0d%0ab@x").is_err());
    }

    /// Found by the url fuzz target (issue 18): outside brackets, every ':' but the port's was
    /// taken as part of the host, so `smtp://fe80::1` meant host "fe80:" on port 1.
    #[test]
    fn an_ipv6_address_without_brackets_is_refused() {
        for url in [
            "smtp://fe80::1",
            "smtp://::1:25",
            "smtp://::[)1]:25",
            "smtp://a]:25",
        ] {
            let e = Config::from_url(url).unwrap_err();
            assert!(e.message().contains("in brackets"), "{url}: {e}");
        }
        for url in [
            "smtp://[iii[iii]:25",
            "smtp://[mail.example.com]",
            "smtp://[]:25",
        ] {
            let e = Config::from_url(url).unwrap_err();
            assert!(e.message().contains("not an IPv6 address"), "{url}: {e}");
        }
        let e = Config::from_url("smtp://me:hunter2:587").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let c = Config::from_url("smtp://[fe80::1]").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("fe80::1", 587));
    }

    /// Issue 12.4: a URL that lacks its `@host` puts the password where the port belongs.
    #[test]
    fn a_url_without_its_host_never_echoes_the_password() {
        for url in [
            "smtp://me:hunter2",
            "smtp://me:hunter2/",
            "smtps://me:hunter2",
            "smtp://me:0123",
            "smtp://me:99999",
            "smtp://[::1]hunter2",
            "smtp://[::1]:hunter2",
        ] {
            let err = Config::from_url(url).unwrap_err();
            let text = err.message();
            for secret in ["hunter2", "0123", "99999"] {
                assert!(!text.contains(secret), "{url}: {text}");
            }
            assert!(text.starts_with("url: "), "{url}: {text}");
        }
        let err = Config::from_url("smtp://me:hunter2").unwrap_err();
        assert!(
            err.message().contains("smtp://user:password@host:port"),
            "{err}"
        );
        // A plain host:port is what it looks like.
        let c = Config::from_url("smtp://mailhog:1025").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("mailhog", 1025));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Config::from_url("smtp://user:hunter2@example.com").unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
