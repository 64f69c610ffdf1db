//! TLS for SMTP submission: implicit TLS on port 465 (RFC 8314) and the STARTTLS upgrade
//! (RFC 3207) share one rustls client configuration built here.
//!
//! # Trust policy
//!
//! The server must prove who it is. Its certificate chain has to lead to a trust anchor and its
//! certificate has to name the host we connected to (or [`TlsOptions::server_name`]); nothing
//! falls back to an unauthenticated connection on its own. The trust anchors are the union of:
//!
//! * the operating system's store ([`TlsOptions::system_roots`]), found by `rustls-native-certs`
//!   the way each platform keeps it: the keychain on macOS, the certificate store on Windows,
//!   and on Linux and the BSDs the CA bundle (or directory) where that system's OpenSSL looks,
//!   or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set. It is read once per process; certificates in
//!   it that cannot be parsed are skipped, and a machine without one is not an error;
//! * Mozilla's root program, compiled in through `webpki-roots` ([`TlsOptions::webpki_roots`]),
//!   as the fallback: it is used when the system store is off, or on but empty (a minimal
//!   container without `ca-certificates`). A system store that exists is followed as it is,
//!   so a root its administrator removed or added counts here too;
//! * every certificate in [`TlsOptions::ca_files`] and [`TlsOptions::ca_pem`], for private CAs.
//!   These are the caller's explicit choice, so an unreadable file or a bad certificate in them
//!   is an error rather than silently ignored.
//!
//! [`TlsOptions::dangerous_accept_invalid_certs`] accepts any certificate, for throwaway test
//! servers: the connection is still encrypted and the handshake signatures are still checked
//! against the presented key, but nobody vouches for that key, so an active attacker can read
//! everything, credentials included.
//!
//! Only TLS 1.2 and 1.3 are offered. RFC 8997 updates RFC 8314 so that mail submission uses
//! TLS 1.2 or later (RFC 8996 deprecates TLS 1.0 and 1.1 everywhere), and rustls does not
//! implement the older versions anyway. TLS 1.2 stays because many deployed submission servers
//! still do not speak 1.3.
//!
//! Handshake failures are classified ([`handshake_error`]) into the certificate kinds of
//! [`Kind`] so that the caller can tell "expired" from "wrong name" from "unknown CA"; the
//! helpers [`looks_like_plaintext_smtp`] and [`looks_like_tls`] spot the other common mistake,
//! a client and a server disagreeing about whether the port starts in TLS.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;

use once_cell::sync::Lazy;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConfig, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConnection, DigitallySignedStruct, HandshakeKind, ProtocolVersion,
    RootCertStore, SignatureScheme,
};

use crate::config::TlsOptions;
use crate::error::{Error, Kind, Result};

/// What was negotiated on an encrypted connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// e.g. "TLSv1.3"
    pub version: String,
    /// e.g. "TLS13_AES_256_GCM_SHA384"
    pub cipher: String,
    /// Whether the session was resumed from an earlier connection (an abbreviated handshake).
    pub resumed: bool,
}

/// How many TLS sessions one client configuration remembers for resumption.
pub(crate) const SESSION_CACHE_SIZE: usize = 256;

/// How many distinct TLS settings keep a shared configuration: a process uses one or two; the
/// bound only stops one that cycles through settings from growing without end.
const SHARED_CONFIGS: usize = 16;

/// The client configuration for `options`, shared by every client of the process with the same
/// options and the same CA files on disk, so that they share one session cache: a new client —
/// each PHP request makes its own — resumes the TLS session an earlier one opened, and the trust
/// anchors are parsed once rather than per client. A CA file that changed on disk (size or
/// modification time) gets a new configuration.
pub fn shared_client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let stamps: Vec<_> = options
        .ca_files
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .ok()
                .map(|m| (m.len(), m.modified().ok()))
        })
        .collect();
    let key = format!("{options:?} {stamps:?}");
    let lock = || {
        SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some((_, config)) = lock().iter().find(|(k, _)| *k == key) {
        return Ok(config.clone());
    }
    // Built outside the lock: reading the system store can take a while.
    let config = client_config(options)?;
    let mut shared = lock();
    if let Some((_, existing)) = shared.iter().find(|(k, _)| *k == key) {
        return Ok(existing.clone());
    }
    if shared.len() >= SHARED_CONFIGS {
        shared.remove(0);
    }
    shared.push((key, config.clone()));
    Ok(config)
}

/// (the options and CA file stamps, their configuration)
type Shared = Vec<(String, Arc<ClientConfig>)>;

static SHARED: Lazy<std::sync::Mutex<Shared>> = Lazy::new(|| {
    crate::fork::protect_locks();
    Default::default()
});

/// The shared configurations' lock, for [`crate::fork`] to hold across `fork()`.
pub(crate) fn hold_for_fork() -> Box<dyn std::any::Any> {
    Box::new(
        SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    )
}

/// Build the rustls client configuration for `options`.
///
/// Each call makes a new configuration with its own session cache; clients take theirs from
/// [`shared_client_config`], so that connections resume sessions across clients.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| {
            Error::new(Kind::TlsHandshake, "could not set up TLS 1.2 and 1.3").with_source(e)
        })?;

    let mut config = if options.dangerous_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(root_store(options)?)
            .with_no_client_auth()
    };
    config.resumption = Resumption::store(crate::fork::tls_session_store());
    config.enable_sni = true;
    config.alpn_protocols = Vec::new();
    Ok(Arc::new(config))
}

/// The trust anchors `options` asks for; an error when there are none.
pub(crate) fn root_store(options: &TlsOptions) -> Result<RootCertStore> {
    let empty = RootCertStore::empty();
    let system = if options.system_roots {
        &*SYSTEM_ROOTS
    } else {
        &empty
    };
    anchors(options, system)
}

/// The anchors of `options` given the system's (a parameter, so tests need not depend on the
/// machine).
fn anchors(options: &TlsOptions, system: &RootCertStore) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    store.roots.extend(system.roots.iter().cloned());
    if options.webpki_roots && store.is_empty() {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in &options.ca_files {
        let pem = std::fs::read(path).map_err(|e| {
            Error::invalid_input(format!("CA file {}: cannot read it: {e}", path.display()))
                .with_source(e)
        })?;
        add_user_pem(&mut store, &pem, &format!("CA file {}", path.display()))?;
    }
    for (i, pem) in options.ca_pem.iter().enumerate() {
        add_user_pem(&mut store, pem, &format!("ca_pem #{}", i + 1))?;
    }
    if store.is_empty() {
        return Err(Error::invalid_input(
            "no trust anchors: Mozilla's roots are off, the system store is off or empty, and \
             no CA file or PEM data was given, so no server certificate could ever be verified",
        ));
    }
    Ok(store)
}

/// Add every certificate of a caller-supplied PEM blob; `what` names it in errors.
fn add_user_pem(store: &mut RootCertStore, pem: &[u8], what: &str) -> Result<()> {
    let mut found = 0usize;
    for (i, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = item.map_err(|e| {
            Error::invalid_input(format!(
                "{what}: certificate #{} is not valid PEM: {e}",
                i + 1
            ))
            .with_source(e)
        })?;
        store.add(der).map_err(|e| {
            Error::invalid_input(format!(
                "{what}: certificate #{} cannot be used as a trust anchor: {e}",
                i + 1
            ))
            .with_source(e)
        })?;
        found += 1;
    }
    if found == 0 {
        return Err(Error::invalid_input(format!(
            "no PEM certificate found in {what} (expected \"-----BEGIN CERTIFICATE-----\" blocks)"
        )));
    }
    Ok(())
}

/// The operating system's trust anchors, loaded on first use and kept for the process. Best
/// effort: what cannot be read or parsed is skipped (`rustls-native-certs` reports such errors
/// next to the certificates it did find), and duplicates are dropped.
static SYSTEM_ROOTS: Lazy<RootCertStore> = Lazy::new(|| {
    let found = rustls_native_certs::load_native_certs();
    let mut seen = HashSet::new();
    let unique = found
        .certs
        .into_iter()
        .filter(|der| seen.insert(der.clone()));
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(unique);
    store
});

/// The name the server's certificate is verified against: `options.server_name` when set,
/// otherwise `host`. IP literals, with or without the brackets of a URL, become IP names.
pub fn server_name(host: &str, options: &TlsOptions) -> Result<ServerName<'static>> {
    let (value, what) = match &options.server_name {
        Some(name) => (name.as_str(), "tls server_name"),
        None => (host, "host"),
    };
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::from(ip));
    }
    ServerName::try_from(bare.to_string()).map_err(|e| {
        Error::invalid_input(format!(
            "{what} {value:?} is neither a valid DNS name nor an IP address, so it cannot be \
             checked against a TLS certificate"
        ))
        .with_source(e)
    })
}

/// A failed handshake with `host`:`port`, as a send reports it.
pub fn handshake_failure(err: &io::Error, host: &str, port: u16) -> Error {
    let mut error = handshake_error(err, host);
    error.prefix_message(&format!("TLS handshake with {host} port {port}"));
    error
}

/// Classify a failed handshake with `host`. rustls errors arrive wrapped in an
/// [`io::ErrorKind::InvalidData`] error; anything else is a network error.
pub fn handshake_error(err: &io::Error, host: &str) -> Error {
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        let kind = match err.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Kind::Timeout,
            _ => Kind::Io,
        };
        let message = match kind {
            Kind::Timeout => "the TLS handshake did not complete in time".to_string(),
            _ => format!("the TLS handshake failed: {err}"),
        };
        return Error::new(kind, message).with_source(io::Error::new(err.kind(), err.to_string()));
    };
    let (kind, message) = classify(tls, host);
    Error::new(kind, message).with_source(tls.clone())
}

fn classify(err: &rustls::Error, host: &str) -> (Kind, String) {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(cert) => classify_certificate(cert, host),
        E::AlertReceived(alert) => {
            let name = alert_name(*alert);
            let why = match alert {
                rustls::AlertDescription::HandshakeFailure
                | rustls::AlertDescription::ProtocolVersion
                | rustls::AlertDescription::InsufficientSecurity => {
                    ": no TLS version or cipher suite in common (mailport needs TLS 1.2 or newer)"
                }
                rustls::AlertDescription::UnrecognisedName => {
                    ": the server does not know the name we asked for (check the host, or the TLS server name if one is set)"
                }
                _ => "",
            };
            (
                Kind::TlsHandshake,
                format!("the server aborted the handshake with the TLS alert {name}{why}"),
            )
        }
        E::PeerIncompatible(_) => (
            Kind::TlsHandshake,
            format!(
                "the server's TLS is incompatible with ours ({err}); mailport needs TLS 1.2 or newer"
            ),
        ),
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. }
        | E::PeerSentOversizedRecord
        | E::DecryptError => (
            Kind::TlsHandshake,
            format!("the server did not answer with valid TLS ({err})"),
        ),
        E::NoCertificatesPresented => (
            Kind::TlsHandshake,
            format!("the server presented no certificate for {host}"),
        ),
        _ => (Kind::TlsHandshake, format!("TLS failed: {err}")),
    }
}

fn classify_certificate(err: &CertificateError, host: &str) -> (Kind, String) {
    use CertificateError as C;
    match err {
        C::ExpiredContext { not_after, .. } => (
            Kind::CertificateExpired,
            format!(
                "the certificate for {host} expired on {}",
                format_time(*not_after)
            ),
        ),
        C::Expired => (
            Kind::CertificateExpired,
            format!("the certificate for {host} has expired"),
        ),
        C::NotValidYetContext { not_before, .. } => (
            Kind::CertificateExpired,
            format!(
                "the certificate for {host} is not valid before {} (check this machine's clock)",
                format_time(*not_before)
            ),
        ),
        C::NotValidYet => (
            Kind::CertificateExpired,
            format!("the certificate for {host} is not valid yet (check this machine's clock)"),
        ),
        C::NotValidForNameContext {
            expected,
            presented,
        } => {
            const SHOWN: usize = 10;
            let names: Vec<&str> = presented.iter().filter_map(|p| presented_name(p)).collect();
            let valid_for = if names.is_empty() {
                "no DNS name or IP address at all".to_string()
            } else {
                let mut list = names[..names.len().min(SHOWN)].join(", ");
                if names.len() > SHOWN {
                    list.push_str(&format!(" and {} more", names.len() - SHOWN));
                }
                list
            };
            (
                Kind::CertificateNameMismatch,
                format!(
                    "the certificate is not valid for {}: it is valid for {valid_for}",
                    expected.to_str()
                ),
            )
        }
        C::NotValidForName => (
            Kind::CertificateNameMismatch,
            format!("the certificate is not valid for {host}"),
        ),
        C::UnknownIssuer | C::BadSignature => (
            Kind::CertificateUntrusted,
            format!(
                "the certificate for {host} is not trusted: it is self-signed or issued by a CA \
                 that is not trusted"
            ),
        ),
        C::Revoked => (
            Kind::CertificateUntrusted,
            format!("the certificate for {host} has been revoked"),
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => (
            Kind::CertificateUntrusted,
            format!("the certificate for {host} is not issued for TLS servers ({err})"),
        ),
        C::BadEncoding => (
            Kind::CertificateUntrusted,
            format!("the certificate for {host} is malformed"),
        ),
        _ => (
            Kind::CertificateUntrusted,
            format!("the certificate for {host} is not acceptable: {err}"),
        ),
    }
}

/// A subject name as rustls-webpki reports it in `NotValidForNameContext::presented`, which is
/// the `Debug` form of its `GeneralName` (`DnsName("mx.example")`, `IpAddress(192.0.2.1)`),
/// reduced to the bare name; `None` for kinds that can never match a server name (directory
/// names, URIs, unsupported ones). A plain string is returned unchanged.
fn presented_name(presented: &str) -> Option<&str> {
    if let Some(dns) = presented
        .strip_prefix("DnsName(\"")
        .and_then(|p| p.strip_suffix("\")"))
    {
        return Some(dns);
    }
    if let Some(ip) = presented
        .strip_prefix("IpAddress(")
        .and_then(|p| p.strip_suffix(')'))
    {
        return Some(ip);
    }
    let other_kind = [
        "DirectoryName",
        "UniformResourceIdentifier(",
        "Unsupported(",
    ]
    .iter()
    .any(|kind| presented.starts_with(kind));
    (!other_kind).then_some(presented)
}

/// An alert's RFC 8446 name, e.g. "handshake_failure".
fn alert_name(alert: rustls::AlertDescription) -> String {
    let Some(camel) = alert.as_str() else {
        return format!("{alert:?}");
    };
    let mut name = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

/// "2024-03-01 12:00:00 UTC".
fn format_time(time: UnixTime) -> String {
    let t = crate::time::CivilTime::from_unix(time.as_secs() as i64);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// What was negotiated on `conn` (after its handshake).
pub fn info(conn: &ClientConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| {
            let suite = s.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_string)
        })
        .unwrap_or_default();
    TlsInfo {
        version,
        cipher,
        resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
    }
}

/// Whether bytes a TLS client received look like a plaintext SMTP reply ("220 mail ESMTP", "554
/// no service", ...): three ASCII digits, the first 2–5, then a space, a dash or a line end.
pub fn looks_like_plaintext_smtp(first_bytes: &[u8]) -> bool {
    match first_bytes {
        [a, b, c, sep, ..] => {
            (b'2'..=b'5').contains(a)
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && matches!(sep, b' ' | b'-' | b'\r' | b'\n')
        }
        _ => false,
    }
}

/// Whether bytes a plaintext client received start like a TLS record: a content type from
/// change_cipher_spec (0x14) to application_data (0x17), then a 3.x record version.
pub fn looks_like_tls(first_bytes: &[u8]) -> bool {
    matches!(first_bytes, [0x14..=0x17, 0x03, 0x00..=0x04, ..])
}

/// A verifier that accepts any certificate but still checks the handshake signatures against
/// the presented key, so the session is encrypted end to end with *somebody*, just nobody
/// authenticated. Installed only by `dangerous_accept_invalid_certs`.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use rustls::ServerConnection;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::server::ServerConfig;

    /// A self-signed CA made by `trustme` (valid 2000–3000); only its parsing matters here.
    pub(crate) const CA_1: &str = "-----BEGIN CERTIFICATE-----
MIIByDCCAW+gAwIBAgIUJM51OTq3l5LK4MudwJvIon5U8B0wCgYIKoZIzj0EAwIw
QDEXMBUGA1UECgwOdHJ1c3RtZSB2MS4yLjExJTAjBgNVBAsMHFRlc3RpbmcgQ0Eg
I1Q2RHBnQnJPNWFMNUJDVE4wIBcNMDAwMTAxMDAwMDAwWhgPMzAwMDAxMDEwMDAw
MDBaMEAxFzAVBgNVBAoMDnRydXN0bWUgdjEuMi4xMSUwIwYDVQQLDBxUZXN0aW5n
IENBICNUNkRwZ0JyTzVhTDVCQ1ROMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
ROCLxm8aLMUORTdrOt8ppMY3hZMZfkbGXp9SYn95YrHHZHKT0x36az1kgCC4CwV6
xgFN8yF+8UsRjedkQW9d2KNFMEMwHQYDVR0OBBYEFBBpdd7f96BR/yHZkkxSlgrn
ItFLMBIGA1UdEwEB/wQIMAYBAf8CAQkwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49
BAMCA0cAMEQCIEQipS55QpMVpJDrlj6Y2TqteMeQMbMzPMu/TN7f4zWpAiBRBSSk
Nw9fVfQb8asY+cGVxUW9KiOdmFIp1844b8vg/w==
-----END CERTIFICATE-----
";

    /// A second, unrelated trustme CA.
    const CA_2: &str = "-----BEGIN CERTIFICATE-----
MIIByTCCAW+gAwIBAgIUCoIbf+sqphwYMbcA8/dkWQs1zA4wCgYIKoZIzj0EAwIw
QDEXMBUGA1UECgwOdHJ1c3RtZSB2MS4yLjExJTAjBgNVBAsMHFRlc3RpbmcgQ0Eg
I0xfNm52VnNsdEtYSUUyWlQwIBcNMDAwMTAxMDAwMDAwWhgPMzAwMDAxMDEwMDAw
MDBaMEAxFzAVBgNVBAoMDnRydXN0bWUgdjEuMi4xMSUwIwYDVQQLDBxUZXN0aW5n
IENBICNMXzZudlZzbHRLWElFMlpUMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
y1n+e0vM1dTypPueCGYJ3ufYyiQo34Jrvs+EVar9EIPVVuud1gGYrZecDl/pJzfG
AbuekWP7c18V5ZNvA9AJz6NFMEMwHQYDVR0OBBYEFGxjk/eAiFG8Y9bSciD/VX3+
2QbTMBIGA1UdEwEB/wQIMAYBAf8CAQkwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49
BAMCA0gAMEUCIClU/LKBOxOIHVkp/NutB8TzAWfE0SSq1et031LNNwlNAiEAgWFJ
iWcoCW2+ITvwrTN+q370dNvgxoos0rO4prsU4QE=
-----END CERTIFICATE-----
";

    /// A PEM section that claims to be a certificate but whose DER is garbage.
    const BAD_DER: &str = "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n";

    /// A PEM section whose base64 is broken.
    const BAD_BASE64: &str =
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";

    /// A temporary directory, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("mailport-tls-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn only_user_ca(pems: &[&str]) -> TlsOptions {
        TlsOptions {
            webpki_roots: false,
            system_roots: false,
            ca_pem: pems.iter().map(|p| p.as_bytes().to_vec()).collect(),
            ..TlsOptions::default()
        }
    }

    fn config_error(options: &TlsOptions) -> Error {
        match client_config(options) {
            Ok(_) => panic!("expected an error for {options:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn config_builds_with_defaults() {
        let config = client_config(&TlsOptions::default()).unwrap();
        assert!(config.enable_sni);
        assert!(config.alpn_protocols.is_empty());
        assert!(!root_store(&TlsOptions::default()).unwrap().is_empty());
    }

    #[test]
    fn config_with_only_a_user_ca() {
        client_config(&only_user_ca(&[CA_1])).unwrap();
        let store = root_store(&only_user_ca(&[&format!("{CA_1}{CA_2}")])).unwrap();
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn ca_file_is_read() {
        let dir = TempDir::new("cafile");
        let path = dir.write("ca.pem", CA_1);
        let options = TlsOptions {
            webpki_roots: false,
            system_roots: false,
            ca_files: vec![path],
            ..TlsOptions::default()
        };
        assert_eq!(root_store(&options).unwrap().len(), 1);
    }

    #[test]
    fn missing_ca_file_names_the_path() {
        let options = TlsOptions {
            ca_files: vec![PathBuf::from("/nonexistent/mailport/private-ca.pem")],
            ..TlsOptions::default()
        };
        let err = config_error(&options);
        assert_eq!(err.kind(), Kind::InvalidInput);
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/mailport/private-ca.pem"),
            "{text}"
        );
        assert!(text.contains("No such file"), "{text}");
    }

    #[test]
    fn ca_file_without_certificates() {
        let dir = TempDir::new("nocert");
        let path = dir.write("notes.pem", "this is not a certificate\n");
        let options = TlsOptions {
            ca_files: vec![path.clone()],
            ..TlsOptions::default()
        };
        let err = config_error(&options);
        assert_eq!(err.kind(), Kind::InvalidInput);
        let text = err.to_string();
        assert!(text.contains("no PEM certificate found"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
    }

    #[test]
    fn invalid_certificates_in_user_pem_are_errors() {
        for bad in [BAD_DER, BAD_BASE64] {
            let err = config_error(&only_user_ca(&[CA_1, bad]));
            assert_eq!(err.kind(), Kind::InvalidInput);
            assert!(err.to_string().contains("ca_pem #2"), "{err}");
        }
    }

    #[test]
    fn no_trust_anchors_is_an_error() {
        let err = config_error(&only_user_ca(&[]));
        assert_eq!(err.kind(), Kind::InvalidInput);
        assert!(err.to_string().contains("no trust anchors"), "{err}");
    }

    #[test]
    fn dangerous_mode_needs_no_roots() {
        let options = TlsOptions {
            dangerous_accept_invalid_certs: true,
            ..only_user_ca(&[])
        };
        client_config(&options).unwrap();
    }

    #[test]
    fn mozillas_roots_are_the_fallback_when_the_system_store_is_empty() {
        let mozilla = webpki_roots::TLS_SERVER_ROOTS.len();
        let defaults = TlsOptions::default();
        // No system store (a container without ca-certificates): Mozilla's roots.
        let store = anchors(&defaults, &RootCertStore::empty()).unwrap();
        assert_eq!(store.len(), mozilla);
        // A system store: it alone, as its administrator keeps it.
        let mut system = RootCertStore::empty();
        system.add_parsable_certificates(
            CertificateDer::pem_slice_iter(CA_1.as_bytes()).map(|c| c.unwrap()),
        );
        let store = anchors(&defaults, &system).unwrap();
        assert_eq!(store.len(), 1);
        // The system store off: Mozilla's roots, with a private CA on top.
        let options = TlsOptions {
            system_roots: false,
            ca_pem: vec![CA_2.as_bytes().to_vec()],
            ..TlsOptions::default()
        };
        assert_eq!(root_store(&options).unwrap().len(), mozilla + 1);
        // A private CA is added to the system's roots, never instead of them.
        let options = TlsOptions {
            ca_pem: vec![CA_2.as_bytes().to_vec()],
            ..TlsOptions::default()
        };
        assert_eq!(anchors(&options, &system).unwrap().len(), 2);
        // Mozilla's roots off and no system store: nothing but the private CA.
        let options = TlsOptions {
            webpki_roots: false,
            ..options
        };
        assert_eq!(anchors(&options, &RootCertStore::empty()).unwrap().len(), 1);
    }

    #[test]
    fn system_store_of_this_machine() {
        let started = std::time::Instant::now();
        let count = SYSTEM_ROOTS.len();
        eprintln!("system store: {count} roots in {:?}", started.elapsed());
        let from_env = std::env::var_os("SSL_CERT_FILE").is_some()
            || std::env::var_os("SSL_CERT_DIR").is_some();
        let debian_bundle = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
        if !from_env && debian_bundle.is_file() {
            assert!(
                count > 0,
                "{} exists but gave no roots",
                debian_bundle.display()
            );
        }
        // Whatever the machine has, the defaults trust something.
        assert!(!root_store(&TlsOptions::default()).unwrap().is_empty());
    }

    #[test]
    fn server_names() {
        let default = TlsOptions::default();
        let name = server_name("mail.example.com", &default).unwrap();
        assert!(matches!(&name, ServerName::DnsName(d) if d.as_ref() == "mail.example.com"));
        for ip in ["192.0.2.7", "::1", "[::1]", "[2001:db8::25]"] {
            let name = server_name(ip, &default).unwrap();
            assert!(matches!(name, ServerName::IpAddress(_)), "{ip}: {name:?}");
        }
        assert_eq!(
            server_name("[::1]", &default).unwrap().to_str(),
            std::borrow::Cow::<str>::Borrowed("::1")
        );
        for junk in [
            "",
            "bad name",
            "exa_mple..com",
            "[::1",
            "mail.example.com:587",
        ] {
            let err = server_name(junk, &default).unwrap_err();
            assert_eq!(err.kind(), Kind::InvalidInput, "{junk}");
            assert!(err.to_string().contains(&format!("{junk:?}")), "{err}");
        }

        let with_override = TlsOptions {
            server_name: Some("smtp.provider.net".into()),
            ..TlsOptions::default()
        };
        let name = server_name("10.1.2.3", &with_override).unwrap();
        assert_eq!(name.to_str(), "smtp.provider.net");
        let bad_override = TlsOptions {
            server_name: Some("no spaces".into()),
            ..TlsOptions::default()
        };
        let err = server_name("mail.example.com", &bad_override).unwrap_err();
        assert!(
            err.to_string().contains("server_name \"no spaces\""),
            "{err}"
        );
    }

    fn tls_failure(err: impl Into<rustls::Error>) -> Error {
        let err = io::Error::new(io::ErrorKind::InvalidData, err.into());
        handshake_error(&err, "mail.example.com")
    }

    fn unix(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn expired_certificates() {
        for cert in [
            CertificateError::Expired,
            CertificateError::NotValidYet,
            CertificateError::ExpiredContext {
                time: unix(1_735_689_600),
                not_after: unix(1_709_294_400),
            },
            CertificateError::NotValidYetContext {
                time: unix(0),
                not_before: unix(1_709_294_400),
            },
        ] {
            let err = tls_failure(cert.clone());
            assert_eq!(err.kind(), Kind::CertificateExpired, "{cert:?}");
            assert!(err.to_string().contains("mail.example.com"), "{err}");
            let source = std::error::Error::source(&err).unwrap();
            assert!(source.downcast_ref::<rustls::Error>().is_some());
        }
        let err = tls_failure(CertificateError::ExpiredContext {
            time: unix(1_735_689_600),
            not_after: unix(1_709_294_400),
        });
        assert!(
            err.to_string()
                .contains("certificate for mail.example.com expired on 2024-03-01 12:00:00 UTC"),
            "{err}"
        );
    }

    #[test]
    fn name_mismatch() {
        let err = tls_failure(CertificateError::NotValidForName);
        assert_eq!(err.kind(), Kind::CertificateNameMismatch);
        let err = tls_failure(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("mail.example.com").unwrap(),
            // rustls-webpki fills `presented` with the Debug form of each subject name.
            presented: vec![
                "DnsName(\"*.hosting.example\")".into(),
                "DirectoryName".into(),
                "IpAddress(192.0.2.1)".into(),
                "hosting.example".into(),
            ],
        });
        assert_eq!(err.kind(), Kind::CertificateNameMismatch);
        assert!(
            err.to_string().contains(
                "not valid for mail.example.com: it is valid for *.hosting.example, 192.0.2.1, \
                 hosting.example"
            ),
            "{err}"
        );
    }

    #[test]
    fn untrusted_certificates() {
        for cert in [
            CertificateError::UnknownIssuer,
            CertificateError::BadSignature,
            CertificateError::UnhandledCriticalExtension,
            CertificateError::InvalidPurpose,
            CertificateError::Revoked,
            CertificateError::BadEncoding,
            CertificateError::ApplicationVerificationFailure,
        ] {
            let err = tls_failure(cert.clone());
            assert_eq!(err.kind(), Kind::CertificateUntrusted, "{cert:?}");
        }
        let err = tls_failure(CertificateError::UnknownIssuer);
        let text = err.to_string();
        assert!(
            text.contains("self-signed or issued by a CA that is not trusted"),
            "{text}"
        );
        // The setting is named by the hint, in the caller's API (crate::error::names).
        assert!(!text.contains("ca_file"), "{text}");
    }

    #[test]
    fn other_handshake_failures() {
        use rustls::{AlertDescription, ContentType, InvalidMessage};
        let cases: Vec<rustls::Error> = vec![
            rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType),
            rustls::Error::InappropriateMessage {
                expect_types: vec![ContentType::Handshake],
                got_type: ContentType::ApplicationData,
            },
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
            rustls::Error::DecryptError,
            rustls::Error::General("boom".into()),
        ];
        for case in cases {
            let err = tls_failure(case.clone());
            assert_eq!(err.kind(), Kind::TlsHandshake, "{case:?}");
        }
        let err = tls_failure(rustls::Error::AlertReceived(
            AlertDescription::ProtocolVersion,
        ));
        assert!(err.to_string().contains("alert protocol_version"), "{err}");
    }

    #[test]
    fn network_failures_during_the_handshake() {
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "timed out");
        assert_eq!(handshake_error(&timeout, "h").kind(), Kind::Timeout);
        let blocked = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(handshake_error(&blocked, "h").kind(), Kind::Timeout);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(handshake_error(&reset, "h").kind(), Kind::Io);
        // InvalidData that is not from rustls is not a TLS error either.
        let other = io::Error::new(io::ErrorKind::InvalidData, "bad utf-8");
        assert_eq!(handshake_error(&other, "h").kind(), Kind::Io);
    }

    #[test]
    fn time_formatting() {
        assert_eq!(format_time(unix(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(unix(951_782_400)), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(unix(4_102_444_799)), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn plaintext_and_tls_sniffing() {
        for smtp in [
            &b"220 mail.example.com ESMTP Postfix\r\n"[..],
            b"220-mail.example.com welcome\r\n",
            b"554 no service\r\n",
            b"421\r\n",
        ] {
            assert!(looks_like_plaintext_smtp(smtp), "{smtp:?}");
            assert!(!looks_like_tls(smtp), "{smtp:?}");
        }
        for not_smtp in [
            &b""[..],
            b"220",
            b"22 x",
            b"HTTP/1.1 400",
            b"\x16\x03\x03\x00\x7a\x02",
            b"abc ",
            b"999 ",
        ] {
            assert!(!looks_like_plaintext_smtp(not_smtp), "{not_smtp:?}");
        }
        for tls in [
            &b"\x16\x03\x01\x02\x00"[..],
            b"\x16\x03\x03\x00\x7a",
            b"\x15\x03\x03\x00\x02\x02\x28",
            b"\x17\x03\x03",
        ] {
            assert!(looks_like_tls(tls), "{tls:?}");
            assert!(!looks_like_plaintext_smtp(tls), "{tls:?}");
        }
        for not_tls in [
            &b""[..],
            b"\x16\x03",
            b"\x18\x03\x03",
            b"\x16\x02\x00",
            b"220 ",
        ] {
            assert!(!looks_like_tls(not_tls), "{not_tls:?}");
        }
    }

    // ---- End to end: real handshakes against a rustls server on 127.0.0.1. ----

    /// Certificates made by trustme at test time.
    struct Pems {
        ca: String,
        chain: String,
        key: String,
        expired_chain: String,
        expired_key: String,
    }

    const GENERATE: &str = r#"
import datetime, trustme
ca = trustme.CA()
leaf = ca.issue_cert("localhost", "127.0.0.1")
old = ca.issue_cert(
    "localhost",
    not_before=datetime.datetime(2000, 1, 1),
    not_after=datetime.datetime(2001, 1, 1),
)
def section(name, data):
    print("==" + name + "==")
    print(data.decode(), end="")
section("ca", ca.cert_pem.bytes())
section("chain", b"".join(p.bytes() for p in leaf.cert_chain_pems))
section("key", leaf.private_key_pem.bytes())
section("expired_chain", b"".join(p.bytes() for p in old.cert_chain_pems))
section("expired_key", old.private_key_pem.bytes())
"#;

    /// Fresh PEMs from `python3 -c "import trustme"`, or `None` (with a message) when python3
    /// or trustme is missing.
    fn pems() -> Option<&'static Pems> {
        static PEMS: Lazy<Option<Pems>> = Lazy::new(|| {
            let output = match std::process::Command::new("python3")
                .args(["-c", GENERATE])
                .output()
            {
                Ok(output) => output,
                Err(e) => {
                    eprintln!("SKIPPED: cannot run python3 ({e}); `pip install trustme` to run");
                    return None;
                }
            };
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() {
                if stderr.contains("No module named") {
                    eprintln!("SKIPPED: python3 has no trustme module: `pip install trustme`");
                    return None;
                }
                panic!("generating test certificates failed: {stderr}");
            }
            let text = String::from_utf8(output.stdout).unwrap();
            let mut sections = std::collections::HashMap::new();
            let mut current = None;
            for line in text.lines() {
                if let Some(name) = line.strip_prefix("==").and_then(|l| l.strip_suffix("==")) {
                    current = Some(name.to_string());
                    continue;
                }
                let body: &mut String = sections.entry(current.clone().unwrap()).or_default();
                body.push_str(line);
                body.push('\n');
            }
            let mut take = |name: &str| sections.remove(name).unwrap();
            Some(Pems {
                ca: take("ca"),
                chain: take("chain"),
                key: take("key"),
                expired_chain: take("expired_chain"),
                expired_key: take("expired_key"),
            })
        });
        PEMS.as_ref()
    }

    fn server_config(
        chain: &str,
        key: &str,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ServerConfig> {
        let chain = CertificateDer::pem_slice_iter(chain.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }

    const ALL: &[&rustls::SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    const GREETING: &[u8] = b"220 localhost ESMTP test\r\n";
    const IO_TIMEOUT: Duration = Duration::from_secs(10);

    enum Serve {
        Tls(Arc<ServerConfig>),
        /// Answer like a plaintext SMTP server.
        Plaintext,
    }

    /// Serve `connections` connections one after the other on an ephemeral loopback port. A TLS
    /// server sends the greeting once its handshake succeeds, then waits for the client to close.
    fn spawn_server(serve: Serve, connections: usize) -> (u16, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((mut sock, _)) = listener.accept() else {
                    return;
                };
                sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
                let mut buf = [0u8; 4096];
                match &serve {
                    Serve::Plaintext => {
                        let _ = sock.write_all(GREETING);
                        while matches!(sock.read(&mut buf), Ok(n) if n > 0) {}
                    }
                    Serve::Tls(config) => {
                        let mut conn = ServerConnection::new(config.clone()).unwrap();
                        let mut failed = false;
                        while conn.is_handshaking() && !failed {
                            failed = conn.complete_io(&mut sock).is_err();
                        }
                        if failed {
                            continue;
                        }
                        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
                        let _ = tls.write_all(GREETING);
                        while matches!(tls.read(&mut buf), Ok(n) if n > 0) {}
                    }
                }
            }
        });
        (port, handle)
    }

    /// Handshake with 127.0.0.1:`port` verifying `name`, read the greeting, close politely.
    fn connect(config: &Arc<ClientConfig>, name: &str, port: u16) -> Result<TlsInfo> {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let name = server_name(name, &TlsOptions::default())?;
        let host = name.to_str().into_owned();
        let mut conn = ClientConnection::new(config.clone(), name).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)
                .map_err(|e| handshake_error(&e, &host))?;
        }
        let negotiated = info(&conn);
        let mut greeting = Vec::new();
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let mut byte = [0u8; 1];
        while !greeting.ends_with(b"\r\n") {
            tls.read_exact(&mut byte).unwrap();
            greeting.push(byte[0]);
        }
        assert_eq!(greeting, GREETING);
        conn.send_close_notify();
        let _ = conn.complete_io(&mut sock);
        Ok(negotiated)
    }

    fn trusting(pems: &Pems) -> Arc<ClientConfig> {
        client_config(&TlsOptions {
            webpki_roots: false,
            system_roots: false,
            ca_pem: vec![pems.ca.clone().into_bytes()],
            ..TlsOptions::default()
        })
        .unwrap()
    }

    fn webpki_only() -> TlsOptions {
        TlsOptions {
            webpki_roots: true,
            system_roots: false,
            ..TlsOptions::default()
        }
    }

    #[test]
    fn e2e_trusted_certificate_and_resumption() {
        let Some(pems) = pems() else { return };
        let (port, server) =
            spawn_server(Serve::Tls(server_config(&pems.chain, &pems.key, ALL)), 3);
        let client = trusting(pems);

        let first = connect(&client, "localhost", port).unwrap();
        assert_eq!(first.version, "TLSv1.3");
        assert!(first.cipher.starts_with("TLS13_"), "{first:?}");
        assert!(!first.resumed);

        // The same configuration remembers the session: the next connection resumes it.
        let second = connect(&client, "localhost", port).unwrap();
        assert!(second.resumed, "{second:?}");

        // The certificate also names 127.0.0.1, checked as an IP address (no SNI).
        let by_ip = connect(&client, "127.0.0.1", port).unwrap();
        assert_eq!(by_ip.version, "TLSv1.3");
        server.join().unwrap();
    }

    #[test]
    fn e2e_tls12_server() {
        let Some(pems) = pems() else { return };
        let tls12 = &[&rustls::version::TLS12];
        let (port, server) =
            spawn_server(Serve::Tls(server_config(&pems.chain, &pems.key, tls12)), 1);
        let negotiated = connect(&trusting(pems), "localhost", port).unwrap();
        assert_eq!(negotiated.version, "TLSv1.2");
        assert!(
            negotiated.cipher.starts_with("TLS_ECDHE_"),
            "{negotiated:?}"
        );
        server.join().unwrap();
    }

    #[test]
    fn e2e_name_mismatch() {
        let Some(pems) = pems() else { return };
        let (port, server) =
            spawn_server(Serve::Tls(server_config(&pems.chain, &pems.key, ALL)), 1);
        let err = connect(&trusting(pems), "other.example", port).unwrap_err();
        assert_eq!(err.kind(), Kind::CertificateNameMismatch, "{err}");
        let text = err.to_string();
        assert!(text.contains("not valid for other.example"), "{text}");
        assert!(
            text.contains("it is valid for localhost, 127.0.0.1"),
            "{text}"
        );
        server.join().unwrap();
    }

    #[test]
    fn e2e_untrusted_ca() {
        let Some(pems) = pems() else { return };
        let (port, server) =
            spawn_server(Serve::Tls(server_config(&pems.chain, &pems.key, ALL)), 1);
        let client = client_config(&webpki_only()).unwrap();
        let err = connect(&client, "localhost", port).unwrap_err();
        assert_eq!(err.kind(), Kind::CertificateUntrusted, "{err}");
        assert!(err.to_string().contains("not trusted"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn e2e_expired_certificate() {
        let Some(pems) = pems() else { return };
        let config = server_config(&pems.expired_chain, &pems.expired_key, ALL);
        let (port, server) = spawn_server(Serve::Tls(config), 1);
        let err = connect(&trusting(pems), "localhost", port).unwrap_err();
        assert_eq!(err.kind(), Kind::CertificateExpired, "{err}");
        assert!(err.to_string().contains("expired on 2001-01-01"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn e2e_dangerous_mode_still_encrypts() {
        let Some(pems) = pems() else { return };
        let (port, server) =
            spawn_server(Serve::Tls(server_config(&pems.chain, &pems.key, ALL)), 1);
        let client = client_config(&TlsOptions {
            dangerous_accept_invalid_certs: true,
            ..webpki_only()
        })
        .unwrap();
        let negotiated = connect(&client, "wrong.example", port).unwrap();
        assert_eq!(negotiated.version, "TLSv1.3");
        server.join().unwrap();
    }

    #[test]
    fn e2e_plaintext_server() {
        // No certificates needed: the server never speaks TLS.
        let (port, server) = spawn_server(Serve::Plaintext, 1);
        let client = client_config(&webpki_only()).unwrap();
        let err = connect(&client, "localhost", port).unwrap_err();
        assert_eq!(err.kind(), Kind::TlsHandshake, "{err}");
        server.join().unwrap();
    }
}
