//! The server certificate as the connection check sees it.
//!
//! A normal send aborts the handshake when the certificate is not acceptable, and then nothing
//! more can be learned about the server. The connection check wants both: the verdict of the
//! real verifier (the same roots and checks as a send) and everything after the handshake
//! (the capabilities the server announces inside TLS). [`RecordingTls`] builds a client
//! configuration whose verifier runs the normal verification, writes the presented chain and
//! the verdict into a [`Recording`], and then lets the handshake go on. Whether anything may be
//! sent over such a connection is for the probe to decide; unless the verdict is
//! [`Verdict::Trusted`] the peer may be anyone, so credentials must not be.
//!
//! The certificate fields come from a small DER reader of our own rather than an X.509 crate:
//! only a handful of fields are needed, and a full parser would add about ten crates to a
//! library that ships as a C shared object. Everything security-relevant is still decided by
//! rustls-webpki; this reader only describes what was presented, and it rejects what it does
//! not understand instead of guessing.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConfig, Resumption, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, Der, ServerName, TrustAnchor, UnixTime};
use rustls::{
    CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme, SupportedCipherSuite,
};

use crate::config::TlsOptions;
use crate::error::{Error, Kind, Result};
use crate::smtp::reply::printable;
use crate::time::CivilTime;

/// What the verifier concluded about the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Trusted,
    Expired,
    NotYetValid,
    NameMismatch,
    /// The end-entity certificate signed itself and is not a trust anchor.
    SelfSigned,
    UntrustedIssuer,
    Revoked,
    /// Any other rejection, in the verifier's own words.
    Other(String),
}

impl Verdict {
    /// A stable lowercase name, for reports and the C ABI.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Trusted => "trusted",
            Verdict::Expired => "expired",
            Verdict::NotYetValid => "not_yet_valid",
            Verdict::NameMismatch => "name_mismatch",
            Verdict::SelfSigned => "self_signed",
            Verdict::UntrustedIssuer => "untrusted_issuer",
            Verdict::Revoked => "revoked",
            Verdict::Other(_) => "other",
        }
    }

    /// The error a normal send (with verification on) would have raised for this verdict, or
    /// `None` for [`Verdict::Trusted`].
    ///
    /// Built by [`crate::tls::handshake_error`] itself, so the kind and the words are those of
    /// a failed send. The verdict does not keep the dates or names of the certificate, so the
    /// message is the short form ("has expired", not "expired on ..."); the probe has those
    /// details in [`Observed::chain`].
    pub fn to_error(&self, host: &str) -> Option<Error> {
        let cert = match self {
            Verdict::Trusted => return None,
            Verdict::Expired => CertificateError::Expired,
            Verdict::NotYetValid => CertificateError::NotValidYet,
            Verdict::NameMismatch => CertificateError::NotValidForName,
            Verdict::SelfSigned | Verdict::UntrustedIssuer => CertificateError::UnknownIssuer,
            Verdict::Revoked => CertificateError::Revoked,
            // The send path would print rustls's debug form of an opaque error here; the text
            // we kept is the readable part of it, in the send path's catch-all sentence.
            Verdict::Other(text) => {
                return Some(
                    Error::new(
                        Kind::CertificateUntrusted,
                        format!("the certificate for {host} is not acceptable: {text}"),
                    )
                    .with_source(text.clone()),
                );
            }
        };
        let err = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(cert),
        );
        Some(crate::tls::handshake_error(&err, host))
    }
}

/// Details of a certificate for people to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// RFC 4514 form, most specific attribute first: "CN=mail.example.com, O=Example".
    pub subject: String,
    pub issuer: String,
    /// The subjectAltName DNS names and IP addresses; the subject's CN only when there is no
    /// subjectAltName extension (verifiers ignore the CN, so a name listed only there does not
    /// make the certificate valid for it).
    pub names: Vec<String>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Lowercase hex without separators or sign padding.
    pub serial: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
    /// Whether the issuer name is byte for byte the subject name.
    pub self_signed: bool,
}

/// Read the fields of a DER certificate. An error of kind [`Kind::InvalidInput`] when it is not
/// a well-formed X.509 certificate.
pub fn certificate_info(der: &[u8]) -> Result<CertificateInfo> {
    let fields = parse_certificate(der).map_err(|what| {
        Error::invalid_input(format!("not a well-formed X.509 certificate: {what}"))
    })?;
    let names = match fields.alt_names {
        Some(names) => names,
        None => fields.common_names,
    };
    Ok(CertificateInfo {
        subject: fields.subject,
        issuer: fields.issuer,
        names,
        not_before: fields.not_before,
        not_after: fields.not_after,
        serial: fields.serial,
        sha256: sha256_hex(der),
        self_signed: fields.self_signed,
    })
}

/// One TLS connection's observation: the chain the server presented and the verdict.
#[derive(Debug, Clone)]
pub struct Observed {
    /// End-entity certificate first, then the others in the order the server sent them. A
    /// certificate that cannot be read still has an entry, so positions stay meaningful: its
    /// `subject` says why, its `sha256` identifies it, and the other fields are empty.
    pub chain: Vec<CertificateInfo>,
    pub verdict: Verdict,
    /// The verifier's own error, which carries the details (dates, names) a send reports.
    pub error: Option<rustls::Error>,
}

impl Observed {
    /// The error a send would have raised at this handshake with `host`:`port` (the same kind
    /// and words), or `None` when the certificate is trusted.
    pub fn send_error(&self, host: &str, port: u16) -> Option<Error> {
        let error = self.error.as_ref()?;
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, error.clone());
        Some(crate::tls::handshake_failure(&wrapped, host, port))
    }
}

/// Client configurations for the connection check: each verifies the server's certificate
/// like a send would, records what it saw, and accepts the certificate anyway.
///
/// Built once per probe run; cheap to clone.
#[derive(Debug, Clone)]
pub struct RecordingTls {
    inner: Arc<WebPkiServerVerifier>,
    name_override: Option<ServerName<'static>>,
    template: Arc<ClientConfig>,
}

impl RecordingTls {
    /// Errors are those [`crate::tls::client_config`] and [`crate::tls::server_name`] would
    /// raise for `options` (an unreadable CA file, no trust anchors, a bad `server_name`).
    ///
    /// With `dangerous_accept_invalid_certs` a send ignores the trust anchors, so broken or
    /// missing ones do not stop the probe either: the certificate is checked against the
    /// anchors that could be loaded, or against none, and the verdict says what is wrong.
    pub fn new(options: &TlsOptions) -> Result<RecordingTls> {
        let roots = match crate::tls::root_store(options) {
            Ok(roots) => roots,
            Err(_) if options.dangerous_accept_invalid_certs => lenient_roots(options),
            Err(e) => return Err(e),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| {
                Error::new(
                    Kind::TlsHandshake,
                    "could not set up certificate verification",
                )
                .with_source(e)
            })?;
        let name_override = options
            .server_name
            .as_deref()
            .map(|name| crate::tls::server_name(name, options))
            .transpose()?;

        let verifier = RecordingVerifier {
            inner: inner.clone(),
            name_override: name_override.clone(),
            slot: Recording::default(),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| {
                Error::new(Kind::TlsHandshake, "could not set up TLS 1.2 and 1.3").with_source(e)
            })?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // A resumed session skips certificate verification, which would leave the recording
        // empty; the probe makes few connections, so full handshakes cost nothing.
        config.resumption = Resumption::disabled();
        config.enable_sni = true;
        config.alpn_protocols = Vec::new();
        Ok(RecordingTls {
            inner,
            name_override,
            template: Arc::new(config),
        })
    }

    /// A fresh config and the slot its verifier fills during the handshake. Use the config
    /// for one connection: a second handshake would overwrite the recording.
    pub fn connection(&self) -> (Arc<ClientConfig>, Recording) {
        let recording = Recording::default();
        let mut config = ClientConfig::clone(&self.template);
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(RecordingVerifier {
                inner: self.inner.clone(),
                name_override: self.name_override.clone(),
                slot: recording.clone(),
            }));
        (Arc::new(config), recording)
    }
}

/// Where a probe connection's verifier leaves its [`Observed`].
#[derive(Debug, Clone, Default)]
pub struct Recording(Arc<Mutex<Option<Observed>>>);

impl Recording {
    /// The observation, once: `None` before the server's certificate arrived (or after an
    /// earlier `take`).
    pub fn take(&self) -> Option<Observed> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn put(&self, observed: Observed) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(observed);
    }
}

/// The probe's verifier: the normal verifier's verdict goes into `slot`, and the certificate is
/// accepted whatever it was. Handshake signatures are still checked by the normal verifier, so
/// the peer must hold the key of the certificate it presented.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    /// `TlsOptions::server_name`, applied here too so the verdict matches a send even when the
    /// probe opens the connection under the plain host name.
    name_override: Option<ServerName<'static>>,
    slot: Recording,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let name = self.name_override.as_ref().unwrap_or(server_name);
        let result =
            self.inner
                .verify_server_cert(end_entity, intermediates, name, ocsp_response, now);
        let chain: Vec<CertificateInfo> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|der| describe(der))
            .collect();
        let (verdict, error) = match result {
            Ok(_) => (Verdict::Trusted, None),
            Err(err) => (verdict_for(&err, chain[0].self_signed), Some(err)),
        };
        self.slot.put(Observed {
            chain,
            verdict,
            error,
        });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Translate the verifier's rejection. `self_signed` is about the end-entity certificate.
fn verdict_for(err: &rustls::Error, self_signed: bool) -> Verdict {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = err else {
        return Verdict::Other(err.to_string());
    };
    let untrusted = if self_signed {
        Verdict::SelfSigned
    } else {
        Verdict::UntrustedIssuer
    };
    match cert {
        C::Expired | C::ExpiredContext { .. } => Verdict::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => Verdict::NotYetValid,
        C::NotValidForName | C::NotValidForNameContext { .. } => Verdict::NameMismatch,
        C::Revoked => Verdict::Revoked,
        // A bad signature means the named issuer did not sign it, which is as untrusted as an
        // unknown issuer (the send path says the same); for a self-signed certificate it
        // usually means a different certificate with the same name was pinned.
        C::UnknownIssuer | C::BadSignature => untrusted,
        // `openssl req -x509` marks its certificates as CAs, and webpki refuses a CA as the
        // server certificate before it looks for an issuer; for a self-signed one the real
        // problem is still that nobody vouches for it.
        C::Other(other) if self_signed && other.to_string() == "CaUsedAsEndEntity" => untrusted,
        C::Other(other) => Verdict::Other(other.to_string()),
        other => Verdict::Other(other.to_string()),
    }
}

/// [`certificate_info`], or a stand-in that says why it could not be read.
fn describe(der: &[u8]) -> CertificateInfo {
    certificate_info(der).unwrap_or_else(|e| CertificateInfo {
        subject: format!("(unreadable certificate: {})", e.message()),
        issuer: String::new(),
        names: Vec::new(),
        not_before: 0,
        not_after: 0,
        serial: String::new(),
        sha256: sha256_hex(der),
        self_signed: false,
    })
}

/// The anchors of `options` that load, each source on its own so that one broken CA file costs
/// only itself; a store that trusts nothing when none load.
fn lenient_roots(options: &TlsOptions) -> RootCertStore {
    let nothing = TlsOptions {
        webpki_roots: false,
        system_roots: false,
        ca_files: Vec::new(),
        ca_pem: Vec::new(),
        ..options.clone()
    };
    let mut sources = vec![TlsOptions {
        webpki_roots: options.webpki_roots,
        system_roots: options.system_roots,
        ..nothing.clone()
    }];
    sources.extend(options.ca_files.iter().map(|path| TlsOptions {
        ca_files: vec![path.clone()],
        ..nothing.clone()
    }));
    sources.extend(options.ca_pem.iter().map(|pem| TlsOptions {
        ca_pem: vec![pem.clone()],
        ..nothing.clone()
    }));
    let mut store = RootCertStore::empty();
    for source in &sources {
        if let Ok(roots) = crate::tls::root_store(source) {
            store.roots.extend(roots.roots);
        }
    }
    if store.is_empty() {
        unmatchable_roots()
    } else {
        store
    }
}

/// The name of the one anchor in [`unmatchable_roots`]; no real certificate names it as issuer.
const UNMATCHABLE_ANCHOR: &str = "mailport: no trust anchors";

/// A store whose single anchor no real certificate chains to. webpki refuses an empty store,
/// and with this one it still runs every other check (dates, key usage), then reports an
/// unknown issuer, which is the truth when nothing is trusted.
fn unmatchable_roots() -> RootCertStore {
    let text = UNMATCHABLE_ANCHOR.as_bytes();
    // SET { SEQUENCE { OID 2.5.4.3 (CN), UTF8String text } }, the contents of a Name.
    let mut attribute = vec![0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, text.len() as u8];
    attribute.extend_from_slice(text);
    let mut subject = vec![0x31, attribute.len() as u8 + 2, 0x30, attribute.len() as u8];
    subject.extend_from_slice(&attribute);
    let mut store = RootCertStore::empty();
    store.roots.push(TrustAnchor {
        subject: Der::from(subject),
        // Never used: no certificate's issuer matches the subject above.
        subject_public_key_info: Der::from(Vec::new()),
        name_constraints: None,
    });
    store
}

/// SHA-256 from ring, reached through rustls so that ring need not be a direct dependency.
fn sha256_hex(data: &[u8]) -> String {
    let hash = match rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256 {
        SupportedCipherSuite::Tls13(suite) => suite.common.hash_provider.hash(data),
        SupportedCipherSuite::Tls12(suite) => suite.common.hash_provider.hash(data),
    };
    hex(hash.as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

// ---- A minimal DER reader for the fields above. ----

/// Why a certificate could not be read; becomes part of an error message.
type ParseResult<T> = std::result::Result<T, &'static str>;

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const NUMERIC_STRING: u8 = 0x12;
const PRINTABLE_STRING: u8 = 0x13;
const TELETEX_STRING: u8 = 0x14;
const IA5_STRING: u8 = 0x16;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VISIBLE_STRING: u8 = 0x1a;
const UNIVERSAL_STRING: u8 = 0x1c;
const BMP_STRING: u8 = 0x1e;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// Context tags of TBSCertificate: [0] version, [1] and [2] unique ids, [3] extensions.
const VERSION: u8 = 0xa0;
const ISSUER_UID: u8 = 0x81;
const SUBJECT_UID: u8 = 0x82;
const EXTENSIONS: u8 = 0xa3;
/// GeneralName choices: [2] dNSName and [7] iPAddress, both primitive.
const DNS_NAME: u8 = 0x82;
const IP_ADDRESS: u8 = 0x87;

/// 2.5.29.17, subjectAltName.
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// 2.5.4.3, commonName.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Attribute types with a conventional short name (RFC 4514 and common practice).
const ATTRIBUTE_NAMES: &[(&[u8], &str)] = &[
    (OID_COMMON_NAME, "CN"),
    (&[0x55, 0x04, 0x04], "SN"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "STREET"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x0c], "title"),
    (&[0x55, 0x04, 0x0f], "businessCategory"),
    (&[0x55, 0x04, 0x11], "postalCode"),
    (&[0x55, 0x04, 0x2a], "GN"),
    (&[0x55, 0x04, 0x61], "organizationIdentifier"),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "emailAddress",
    ),
    (
        &[
            0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x01,
        ],
        "jurisdictionL",
    ),
    (
        &[
            0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x02,
        ],
        "jurisdictionST",
    ),
    (
        &[
            0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x03,
        ],
        "jurisdictionC",
    ),
];

/// One DER element.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    contents: &'a [u8],
    /// Tag, length and contents: what DER comparisons and `#hex` values need.
    encoded: &'a [u8],
}

/// Reads consecutive DER elements from a byte string.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { rest: data }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn read(&mut self) -> ParseResult<Tlv<'a>> {
        let data = self.rest;
        let (&tag, after_tag) = data.split_first().ok_or("truncated")?;
        // X.509 uses only low tag numbers; anything else here means we are lost.
        if tag & 0x1f == 0x1f {
            return Err("unexpected multi-byte tag");
        }
        let (&first, after_length) = after_tag.split_first().ok_or("truncated")?;
        let (len, after_length) = if first < 0x80 {
            (usize::from(first), after_length)
        } else {
            let count = usize::from(first & 0x7f);
            // 0 would be BER's indefinite length; more than 4 bytes is no certificate.
            if count == 0 || count > 4 || count > after_length.len() {
                return Err("bad length");
            }
            let (bytes, rest) = after_length.split_at(count);
            let len = bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            (len, rest)
        };
        if len > after_length.len() {
            return Err("truncated");
        }
        let header = data.len() - after_length.len();
        let (encoded, rest) = data.split_at(header + len);
        self.rest = rest;
        Ok(Tlv {
            tag,
            contents: &encoded[header..],
            encoded,
        })
    }

    fn expect(&mut self, tag: u8, what: &'static str) -> ParseResult<Tlv<'a>> {
        let tlv = self.read().map_err(|_| what)?;
        if tlv.tag != tag {
            return Err(what);
        }
        Ok(tlv)
    }

    fn optional(&mut self, tag: u8) -> ParseResult<Option<Tlv<'a>>> {
        if self.rest.first() == Some(&tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The fields of a certificate before the names are chosen.
struct Fields {
    subject: String,
    issuer: String,
    /// `None` without a subjectAltName extension.
    alt_names: Option<Vec<String>>,
    common_names: Vec<String>,
    not_before: i64,
    not_after: i64,
    serial: String,
    self_signed: bool,
}

fn parse_certificate(der: &[u8]) -> ParseResult<Fields> {
    let mut outer = Reader::new(der);
    let certificate = outer.expect(SEQUENCE, "not a DER SEQUENCE")?;
    if !outer.is_empty() {
        return Err("trailing bytes after the certificate");
    }
    let tbs = Reader::new(certificate.contents).expect(SEQUENCE, "no tbsCertificate")?;
    let mut tbs = Reader::new(tbs.contents);
    tbs.optional(VERSION)?;
    let serial = tbs.expect(INTEGER, "no serial number")?;
    tbs.expect(SEQUENCE, "no signature algorithm")?;
    let issuer = tbs.expect(SEQUENCE, "no issuer")?;
    let validity = tbs.expect(SEQUENCE, "no validity")?;
    let subject = tbs.expect(SEQUENCE, "no subject")?;
    tbs.expect(SEQUENCE, "no subject public key")?;
    tbs.optional(ISSUER_UID)?;
    tbs.optional(SUBJECT_UID)?;
    let extensions = tbs.optional(EXTENSIONS)?;
    if !tbs.is_empty() {
        return Err("unexpected field in tbsCertificate");
    }

    let mut validity = Reader::new(validity.contents);
    let not_before = parse_time(validity.read()?).ok_or("bad notBefore")?;
    let not_after = parse_time(validity.read()?).ok_or("bad notAfter")?;

    let alt_names = match extensions {
        Some(extensions) => subject_alt_names(extensions.contents)?,
        None => None,
    };
    Ok(Fields {
        subject: format_name(subject.contents)?,
        issuer: format_name(issuer.contents)?,
        alt_names,
        common_names: common_names(subject.contents)?,
        not_before,
        not_after,
        serial: serial_hex(serial.contents)?,
        self_signed: issuer.encoded == subject.encoded,
    })
}

/// The serial as printed by most tools: the bytes of the INTEGER without its sign padding.
fn serial_hex(contents: &[u8]) -> ParseResult<String> {
    if contents.is_empty() {
        return Err("empty serial number");
    }
    let mut bytes = contents;
    while bytes.len() > 1 && bytes[0] == 0 {
        bytes = &bytes[1..];
    }
    Ok(hex(bytes))
}

/// The DNS names and IP addresses of the subjectAltName extension in `extensions` (the
/// contents of the `[3]` field), `None` when it has none.
fn subject_alt_names(extensions: &[u8]) -> ParseResult<Option<Vec<String>>> {
    let list = Reader::new(extensions).expect(SEQUENCE, "bad extensions")?;
    let mut list = Reader::new(list.contents);
    let mut found: Option<Vec<String>> = None;
    while !list.is_empty() {
        let extension = list.expect(SEQUENCE, "bad extension")?;
        let mut extension = Reader::new(extension.contents);
        let id = extension.expect(OID, "bad extension id")?;
        extension.optional(BOOLEAN)?;
        let value = extension.expect(OCTET_STRING, "bad extension value")?;
        if id.contents != OID_SUBJECT_ALT_NAME {
            continue;
        }
        let general_names = Reader::new(value.contents).expect(SEQUENCE, "bad subjectAltName")?;
        let mut general_names = Reader::new(general_names.contents);
        let names = found.get_or_insert_with(Vec::new);
        while !general_names.is_empty() {
            let name = general_names.read()?;
            match name.tag {
                DNS_NAME => names.push(printable(&String::from_utf8_lossy(name.contents))),
                IP_ADDRESS => names.push(ip_text(name.contents)),
                // Email addresses, URIs and directory names cannot match a server name.
                _ => {}
            }
        }
    }
    Ok(found)
}

fn ip_text(bytes: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    format!("#{}", hex(bytes))
}

/// The attributes of a Name (its contents): one list per RDN, in DER order.
fn name_attributes(name: &[u8]) -> ParseResult<Vec<Vec<(Tlv<'_>, Tlv<'_>)>>> {
    let mut rdns = Reader::new(name);
    let mut out = Vec::new();
    while !rdns.is_empty() {
        let rdn = rdns.expect(SET, "bad name")?;
        let mut attributes = Reader::new(rdn.contents);
        let mut rdn = Vec::new();
        while !attributes.is_empty() {
            let attribute = attributes.expect(SEQUENCE, "bad name attribute")?;
            let mut attribute = Reader::new(attribute.contents);
            let kind = attribute.expect(OID, "bad name attribute type")?;
            let value = attribute.read()?;
            rdn.push((kind, value));
        }
        out.push(rdn);
    }
    Ok(out)
}

/// A Name (its contents) in RFC 4514 form: RDNs from last to first, joined with ", ", the
/// attributes of a multi-valued RDN joined with "+".
fn format_name(name: &[u8]) -> ParseResult<String> {
    let rdns = name_attributes(name)?;
    let parts: Vec<String> = rdns
        .iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|(kind, value)| {
                    let value = match string_value(value) {
                        Some(text) => escape_dn_value(&text),
                        // RFC 4514: a value that is not a string is shown as its DER in hex.
                        None => format!("#{}", hex(value.encoded)),
                    };
                    format!("{}={value}", attribute_name(kind.contents))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Ok(parts.join(", "))
}

/// The CN values of a Name (its contents), most specific first.
fn common_names(name: &[u8]) -> ParseResult<Vec<String>> {
    let rdns = name_attributes(name)?;
    Ok(rdns
        .iter()
        .rev()
        .flatten()
        .filter(|(kind, _)| kind.contents == OID_COMMON_NAME)
        .filter_map(|(_, value)| string_value(value))
        .map(|text| printable(&text))
        .collect())
}

fn attribute_name(oid: &[u8]) -> String {
    ATTRIBUTE_NAMES
        .iter()
        .find(|(known, _)| *known == oid)
        .map_or_else(|| dotted_oid(oid), |(_, name)| (*name).to_string())
}

/// "1.2.840.113549", or `#hex` of the contents when they are not a valid OID.
fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut current: u64 = 0;
    for (i, &b) in oid.iter().enumerate() {
        if current > u64::MAX >> 7 {
            return format!("#{}", hex(oid));
        }
        current = (current << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(current);
            current = 0;
        } else if i + 1 == oid.len() {
            return format!("#{}", hex(oid));
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return format!("#{}", hex(oid));
    };
    let (a, b) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut text = format!("{a}.{b}");
    for arc in rest {
        text.push_str(&format!(".{arc}"));
    }
    text
}

/// The text of a directory string, `None` for other types or invalid encodings.
fn string_value(value: &Tlv<'_>) -> Option<String> {
    let bytes = value.contents;
    match value.tag {
        UTF8_STRING => String::from_utf8(bytes.to_vec()).ok(),
        PRINTABLE_STRING | IA5_STRING | VISIBLE_STRING | NUMERIC_STRING => bytes
            .is_ascii()
            .then(|| bytes.iter().map(|&b| b as char).collect()),
        // T.61 in theory; in certificates it is Latin-1 in practice.
        TELETEX_STRING => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        BMP_STRING => {
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<std::result::Result<String, _>>()
                .ok()
        }
        UNIVERSAL_STRING => {
            if bytes.len() % 4 != 0 {
                return None;
            }
            bytes
                .chunks_exact(4)
                .map(|quad| {
                    char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]))
                })
                .collect()
        }
        _ => None,
    }
}

/// RFC 4514 escaping of an attribute value, plus `\hh` escapes for control characters so the
/// result is safe to print.
fn escape_dn_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('\\');
                out.push_str(&hex(&[b]));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A UTCTime or GeneralizedTime in the DER form RFC 5280 requires (seconds, "Z"), as Unix
/// seconds.
fn parse_time(time: Tlv<'_>) -> Option<i64> {
    let text = time.contents;
    let (year, rest) = match time.tag {
        UTC_TIME if text.len() == 13 => {
            let yy = digits(&text[..2])?;
            // RFC 5280: two-digit years 50–99 are 19xx, 00–49 are 20xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 15 => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if rest[10] != b'Z' {
        return None;
    }
    let two = |at: usize| digits(&rest[at..at + 2]).and_then(|n| u32::try_from(n).ok());
    CivilTime {
        year,
        month: two(0)?,
        day: two(2)?,
        hour: two(4)?,
        minute: two(6)?,
        second: two(8)?,
    }
    .to_unix()
}

fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::OnceLock;
    use std::time::Duration;

    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    use rustls::server::ServerConfig;
    use rustls::{ClientConnection, ServerConnection, SupportedProtocolVersion};
    use serde_json::Value;

    /// A trustme CA (valid 2000–3000), for the tests that need no Python.
    use crate::tls::tests::CA_1 as TRUSTME_CA;

    fn der_of(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn fields_of_a_known_certificate() {
        let info = certificate_info(&der_of(TRUSTME_CA)).unwrap();
        let subject = "OU=Testing CA #T6DpgBrO5aL5BCTN, O=trustme v1.2.1";
        assert_eq!(info.subject, subject);
        assert_eq!(info.issuer, subject);
        assert!(info.self_signed);
        // No subjectAltName and no CN.
        assert!(info.names.is_empty());
        assert_eq!(info.not_before, 946_684_800); // 2000-01-01, a UTCTime
        assert_eq!(info.not_after, 32_503_680_000); // 3000-01-01, a GeneralizedTime
        assert_eq!(info.serial, "24ce75393ab79792cae0cb9dc09bc8a27e54f01d");
        // Computed with Python's cryptography: cert.fingerprint(hashes.SHA256()).hex().
        assert_eq!(
            info.sha256,
            "2443807061152043e8a85d486cdf5482f7042b7ab82301d9fbbd3891bcfc7d7c"
        );
    }

    #[test]
    fn malformed_certificates_are_errors_not_panics() {
        for junk in [
            &b""[..],
            b"\x30",
            b"\x30\x80\x00\x00",
            b"\x30\x03\x02\x01",
            b"hello",
        ] {
            let err = certificate_info(junk).unwrap_err();
            assert_eq!(err.kind(), Kind::InvalidInput, "{junk:?}");
            assert!(err.to_string().contains("X.509"), "{err}");
        }
        let der = der_of(TRUSTME_CA);
        // Every truncation, and every single-byte corruption: never a panic, and a truncated
        // certificate is never mistaken for a whole one.
        for len in 0..der.len() {
            assert!(certificate_info(&der[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..der.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = der.clone();
                bad[i] ^= flip;
                let _ = certificate_info(&bad);
            }
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(certificate_info(&trailing).is_err());
    }

    #[test]
    fn times() {
        let time = |tag, text: &str| {
            parse_time(Tlv {
                tag,
                contents: text.as_bytes(),
                encoded: &[],
            })
        };
        assert_eq!(time(UTC_TIME, "700101000000Z"), Some(0));
        assert_eq!(time(UTC_TIME, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(UTC_TIME, "500101000000Z"), Some(-631_152_000));
        assert_eq!(time(UTC_TIME, "000229000000Z"), Some(951_782_400));
        assert_eq!(
            time(GENERALIZED_TIME, "20240301120000Z"),
            Some(1_709_294_400)
        );
        assert_eq!(
            time(GENERALIZED_TIME, "19000101000000Z"),
            Some(-2_208_988_800)
        );
        for bad in [
            (UTC_TIME, "010229000000Z"), // 2001 is no leap year
            (UTC_TIME, "241301000000Z"), // month 13
            (UTC_TIME, "240101240000Z"), // hour 24
            (UTC_TIME, "2401010000Z"),   // no seconds
            (UTC_TIME, "240101000000+0100"),
            (GENERALIZED_TIME, "20240101000000.5Z"),
            (GENERALIZED_TIME, "2024010100000aZ"),
            (OCTET_STRING, "20240101000000Z"),
        ] {
            assert_eq!(time(bad.0, bad.1), None, "{bad:?}");
        }
    }

    #[test]
    fn distinguished_name_values_are_escaped() {
        assert_eq!(escape_dn_value("Example, Inc."), "Example\\, Inc.");
        assert_eq!(
            escape_dn_value("#1 +a; <b> \"c\" \\"),
            "\\#1 \\+a\\; \\<b\\> \\\"c\\\" \\\\"
        );
        assert_eq!(escape_dn_value(" padded "), "\\ padded\\ ");
        assert_eq!(escape_dn_value("line\r\nbreak"), "line\\0d\\0abreak");
        assert_eq!(escape_dn_value("Müller"), "Müller");
        assert_eq!(printable("evil\n.example"), "evil\\n.example");
    }

    #[test]
    fn object_identifiers() {
        assert_eq!(attribute_name(&[0x55, 0x04, 0x03]), "CN");
        assert_eq!(
            dotted_oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        assert_eq!(dotted_oid(&[0x88, 0x37, 0x03]), "2.999.3");
        assert_eq!(dotted_oid(&[0x2a, 0x86]), "#2a86");
        assert_eq!(dotted_oid(&[]), "#");
        assert_eq!(dotted_oid(&[0xff; 12]), format!("#{}", "ff".repeat(12)));
    }

    #[test]
    fn the_placeholder_anchor_has_a_readable_name() {
        let store = unmatchable_roots();
        assert_eq!(
            format_name(store.roots[0].subject.as_ref()).unwrap(),
            format!("CN={UNMATCHABLE_ANCHOR}")
        );
    }

    #[test]
    fn verdict_names() {
        let all = [
            (Verdict::Trusted, "trusted"),
            (Verdict::Expired, "expired"),
            (Verdict::NotYetValid, "not_yet_valid"),
            (Verdict::NameMismatch, "name_mismatch"),
            (Verdict::SelfSigned, "self_signed"),
            (Verdict::UntrustedIssuer, "untrusted_issuer"),
            (Verdict::Revoked, "revoked"),
            (Verdict::Other("x".into()), "other"),
        ];
        for (verdict, name) in all {
            assert_eq!(verdict.as_str(), name);
        }
    }

    #[test]
    fn verdict_errors_are_those_of_a_send() {
        let host = "mail.example.com";
        let send = |cert: CertificateError| {
            let err = io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(cert),
            );
            crate::tls::handshake_error(&err, host)
        };
        assert!(Verdict::Trusted.to_error(host).is_none());
        let cases = [
            (
                Verdict::Expired,
                Kind::CertificateExpired,
                CertificateError::Expired,
            ),
            (
                Verdict::NotYetValid,
                Kind::CertificateExpired,
                CertificateError::NotValidYet,
            ),
            (
                Verdict::NameMismatch,
                Kind::CertificateNameMismatch,
                CertificateError::NotValidForName,
            ),
            (
                Verdict::SelfSigned,
                Kind::CertificateUntrusted,
                CertificateError::UnknownIssuer,
            ),
            (
                Verdict::UntrustedIssuer,
                Kind::CertificateUntrusted,
                CertificateError::UnknownIssuer,
            ),
            (
                Verdict::Revoked,
                Kind::CertificateUntrusted,
                CertificateError::Revoked,
            ),
        ];
        for (verdict, kind, cert) in cases {
            let err = verdict.to_error(host).unwrap();
            assert_eq!(err.kind(), kind, "{verdict:?}");
            assert_eq!(err.message(), send(cert).message(), "{verdict:?}");
            assert!(err.message().contains(host), "{err}");
        }
        let err = Verdict::Other("CaUsedAsEndEntity".into())
            .to_error(host)
            .unwrap();
        assert_eq!(err.kind(), Kind::CertificateUntrusted);
        assert_eq!(
            err.message(),
            "the certificate for mail.example.com is not acceptable: CaUsedAsEndEntity"
        );
    }

    #[test]
    fn verifier_errors_become_verdicts() {
        use rustls::OtherError;
        let cert = |e: CertificateError| rustls::Error::InvalidCertificate(e);
        let ca_as_leaf = || {
            cert(CertificateError::Other(OtherError(Arc::new(
                io::Error::other("CaUsedAsEndEntity"),
            ))))
        };
        assert_eq!(verdict_for(&ca_as_leaf(), true), Verdict::SelfSigned);
        assert_eq!(
            verdict_for(&ca_as_leaf(), false),
            Verdict::Other("CaUsedAsEndEntity".into())
        );
        assert_eq!(
            verdict_for(&cert(CertificateError::BadSignature), false),
            Verdict::UntrustedIssuer
        );
        assert_eq!(
            verdict_for(&cert(CertificateError::BadEncoding), false),
            Verdict::Other("BadEncoding".into())
        );
        assert_eq!(
            verdict_for(&rustls::Error::General("boom".into()), false),
            Verdict::Other("unexpected error: boom".into())
        );
    }

    #[test]
    fn setup_errors_are_those_of_client_config() {
        let none = TlsOptions {
            webpki_roots: false,
            system_roots: false,
            ..TlsOptions::default()
        };
        let err = RecordingTls::new(&none).unwrap_err();
        assert_eq!(err.kind(), Kind::InvalidInput);
        assert!(err.to_string().contains("no trust anchors"), "{err}");

        let bad_name = TlsOptions {
            server_name: Some("no spaces".into()),
            ..TlsOptions::default()
        };
        assert_eq!(
            RecordingTls::new(&bad_name).unwrap_err().kind(),
            Kind::InvalidInput
        );

        // A send ignores the anchors in dangerous mode, so the probe must not fail on them.
        let dangerous = TlsOptions {
            dangerous_accept_invalid_certs: true,
            ca_files: vec!["/nonexistent/mailport/ca.pem".into()],
            ..none
        };
        let tls = RecordingTls::new(&dangerous).unwrap();
        let (_config, recording) = tls.connection();
        assert!(recording.take().is_none());
    }

    // ---- Real handshakes with a rustls server on 127.0.0.1. ----

    /// Certificates made at test time by trustme and cryptography, with the facts Python
    /// computed about them (sha256, serial, dates) to check the DER reader against.
    const GENERATE: &str = r#"
import datetime, ipaddress, json, trustme
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()

def facts(cert):
    n = cert.serial_number
    return {
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "serial": n.to_bytes((n.bit_length() + 7) // 8 or 1, "big").hex(),
        "not_before": int(cert.not_valid_before_utc.timestamp()),
        "not_after": int(cert.not_valid_after_utc.timestamp()),
    }

def leaf(issued):
    chain = [p.bytes().decode() for p in issued.cert_chain_pems]
    cert = x509.load_pem_x509_certificate(chain[0].encode())
    return dict(chain="".join(chain), key=issued.private_key_pem.bytes().decode(), **facts(cert))

def self_signed(name, key, ca, san=True, subject=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = subject or x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mailport, Test"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
    cert = b.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return dict(chain=pem(cert), key=key_pem, **facts(cert))

root = trustme.CA()
inter = root.create_child_ca()
other = trustme.CA()
odd_subject = x509.Name([
    x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "test")]),
    x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Müller & Söhne")]),
    x509.RelativeDistinguishedName([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Mail"),
        x509.NameAttribute(NameOID.COMMON_NAME, "nosan.test"),
    ]),
    x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "postmaster@nosan.test")]),
    x509.RelativeDistinguishedName([x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4"), " #x+y ")]),
])
print(json.dumps({
    "ca": root.cert_pem.bytes().decode(),
    "other_ca": other.cert_pem.bytes().decode(),
    "good": leaf(inter.issue_cert("mail.test", "127.0.0.1", common_name="mail.test")),
    "expired": leaf(root.issue_cert("mail.test", common_name="mail.test",
        not_before=datetime.datetime(2000, 1, 1), not_after=datetime.datetime(2001, 1, 1))),
    "future": leaf(root.issue_cert("mail.test", common_name="mail.test",
        not_before=datetime.datetime(2990, 1, 1), not_after=datetime.datetime(2999, 1, 1))),
    "self_signed": self_signed("selfsigned.test", rsa.generate_private_key(65537, 2048), ca=False),
    "self_signed_ca": self_signed("selfsigned.test", ec.generate_private_key(ec.SECP256R1()), ca=True),
    "no_san": self_signed("nosan.test", ec.generate_private_key(ec.SECP256R1()), ca=False, san=False, subject=odd_subject),
}))
"#;

    /// One leaf and what Python knows about it.
    struct Leaf {
        chain: String,
        key: String,
        sha256: String,
        serial: String,
        not_before: i64,
        not_after: i64,
    }

    struct Pems {
        ca: String,
        other_ca: String,
        good: Leaf,
        expired: Leaf,
        future: Leaf,
        self_signed: Leaf,
        self_signed_ca: Leaf,
        no_san: Leaf,
    }

    /// The certificates, generated once per test run; `None` (with a note) when python3,
    /// trustme or cryptography is missing.
    fn pems() -> Option<&'static Pems> {
        static PEMS: OnceLock<Option<Pems>> = OnceLock::new();
        PEMS.get_or_init(|| {
            let output = match std::process::Command::new("python3")
                .args(["-c", GENERATE])
                .output()
            {
                Ok(output) => output,
                Err(e) => {
                    eprintln!("SKIPPED: cannot run python3 ({e}); install it with trustme");
                    return None;
                }
            };
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                if stderr.contains("No module named") {
                    eprintln!("SKIPPED: `pip install trustme cryptography` to run: {stderr}");
                    return None;
                }
                panic!("generating test certificates failed: {stderr}");
            }
            let json: Value = serde_json::from_slice(&output.stdout).unwrap();
            let text = |v: &Value| v.as_str().unwrap().to_string();
            let leaf = |name: &str| {
                let v = &json[name];
                Leaf {
                    chain: text(&v["chain"]),
                    key: text(&v["key"]),
                    sha256: text(&v["sha256"]),
                    serial: text(&v["serial"]),
                    not_before: v["not_before"].as_i64().unwrap(),
                    not_after: v["not_after"].as_i64().unwrap(),
                }
            };
            Some(Pems {
                ca: text(&json["ca"]),
                other_ca: text(&json["other_ca"]),
                good: leaf("good"),
                expired: leaf("expired"),
                future: leaf("future"),
                self_signed: leaf("self_signed"),
                self_signed_ca: leaf("self_signed_ca"),
                no_san: leaf("no_san"),
            })
        })
        .as_ref()
    }

    const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
    const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
    const GREETING: &[u8] = b"220 mail.test ESMTP\r\n";
    const IO_TIMEOUT: Duration = Duration::from_secs(10);

    /// Trust only `ca`.
    fn trusting(ca: &str) -> TlsOptions {
        TlsOptions {
            webpki_roots: false,
            system_roots: false,
            ca_pem: vec![ca.as_bytes().to_vec()],
            ..TlsOptions::default()
        }
    }

    /// What the client saw of one connection.
    struct Seen {
        observed: Observed,
        version: String,
        resumed: bool,
    }

    /// Serve `leaf` for `connections` connections on a loopback port, and connect to it as
    /// `name` with configs from `tls` (a fresh one per connection unless `reuse`). Each
    /// handshake must complete and carry application data both ways.
    fn handshakes(
        tls: &RecordingTls,
        leaf: &Leaf,
        versions: &'static [&'static SupportedProtocolVersion],
        name: &str,
        connections: usize,
        reuse: bool,
    ) -> Vec<Seen> {
        let chain = CertificateDer::pem_slice_iter(leaf.chain.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = Arc::new(
            ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(versions)
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for _ in 0..connections {
                let (mut sock, _) = listener.accept().unwrap();
                sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                let mut conn = ServerConnection::new(server_config.clone()).unwrap();
                while conn.is_handshaking() {
                    conn.complete_io(&mut sock).unwrap();
                }
                let mut tls = rustls::Stream::new(&mut conn, &mut sock);
                tls.write_all(GREETING).unwrap();
                let mut echo = [0u8; 4];
                tls.read_exact(&mut echo).unwrap();
                assert_eq!(&echo, b"EHLO");
                let mut rest = Vec::new();
                let _ = tls.read_to_end(&mut rest);
            }
        });

        let shared = tls.connection();
        let mut seen = Vec::new();
        for _ in 0..connections {
            let (config, recording) = if reuse {
                shared.clone()
            } else {
                tls.connection()
            };
            let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
            sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            let server_name = ServerName::try_from(name.to_string()).unwrap();
            let mut conn = ClientConnection::new(config, server_name).unwrap();
            while conn.is_handshaking() {
                conn.complete_io(&mut sock).unwrap();
            }
            let info = crate::tls::info(&conn);
            let mut stream = rustls::Stream::new(&mut conn, &mut sock);
            let mut greeting = vec![0u8; GREETING.len()];
            stream.read_exact(&mut greeting).unwrap();
            assert_eq!(greeting, GREETING);
            stream.write_all(b"EHLO").unwrap();
            conn.send_close_notify();
            conn.complete_io(&mut sock).unwrap();
            let observed = recording.take().expect("the verifier recorded nothing");
            assert!(recording.take().is_none(), "take() empties the slot");
            seen.push(Seen {
                observed,
                version: info.version,
                resumed: info.resumed,
            });
        }
        server.join().unwrap();
        seen
    }

    /// One TLS 1.3 handshake with a fresh config.
    fn observe(options: &TlsOptions, leaf: &Leaf, name: &str) -> Observed {
        let tls = RecordingTls::new(options).unwrap();
        let mut seen = handshakes(&tls, leaf, BOTH, name, 1, false);
        let seen = seen.remove(0);
        assert_eq!(seen.version, "TLSv1.3");
        seen.observed
    }

    /// The end-entity fields Python knows.
    fn assert_leaf_facts(info: &CertificateInfo, leaf: &Leaf) {
        assert_eq!(info.sha256, leaf.sha256);
        assert_eq!(info.serial, leaf.serial);
        assert_eq!(info.not_before, leaf.not_before);
        assert_eq!(info.not_after, leaf.not_after);
    }

    #[test]
    fn e2e_trusted_chain() {
        let Some(pems) = pems() else { return };
        let observed = observe(&trusting(&pems.ca), &pems.good, "mail.test");
        assert_eq!(observed.verdict, Verdict::Trusted);
        assert_eq!(observed.chain.len(), 2, "{observed:?}");
        let (leaf, intermediate) = (&observed.chain[0], &observed.chain[1]);
        assert_leaf_facts(leaf, &pems.good);
        assert!(
            leaf.subject.starts_with("CN=mail.test, OU=Testing cert #"),
            "{leaf:?}"
        );
        assert!(leaf.subject.ends_with(", O=trustme v1.2.1"), "{leaf:?}");
        assert_eq!(leaf.names, ["mail.test", "127.0.0.1"]);
        assert!(!leaf.self_signed);
        assert_eq!(leaf.issuer, intermediate.subject);
        assert!(
            intermediate.subject.starts_with("OU=Testing CA #"),
            "{intermediate:?}"
        );
        assert!(!intermediate.self_signed);
        assert_eq!(intermediate.sha256.len(), 64);
    }

    #[test]
    fn e2e_tls12_and_no_resumption() {
        let Some(pems) = pems() else { return };
        let tls = RecordingTls::new(&trusting(&pems.ca)).unwrap();
        for seen in handshakes(&tls, &pems.good, TLS12, "mail.test", 2, false) {
            assert_eq!(seen.version, "TLSv1.2");
            assert!(!seen.resumed);
            assert_eq!(seen.observed.verdict, Verdict::Trusted);
        }
        // Even one config used twice never resumes, so its verifier runs every time.
        for seen in handshakes(&tls, &pems.good, BOTH, "mail.test", 2, true) {
            assert!(!seen.resumed);
            assert_eq!(seen.observed.verdict, Verdict::Trusted);
        }
    }

    #[test]
    fn e2e_expired() {
        let Some(pems) = pems() else { return };
        let observed = observe(&trusting(&pems.ca), &pems.expired, "mail.test");
        assert_eq!(observed.verdict, Verdict::Expired);
        assert_leaf_facts(&observed.chain[0], &pems.expired);
        assert_eq!(observed.chain[0].not_after, 978_307_200); // 2001-01-01
        let err = observed.verdict.to_error("mail.test").unwrap();
        assert_eq!(err.kind(), Kind::CertificateExpired);
    }

    #[test]
    fn e2e_not_yet_valid() {
        let Some(pems) = pems() else { return };
        let observed = observe(&trusting(&pems.ca), &pems.future, "mail.test");
        assert_eq!(observed.verdict, Verdict::NotYetValid);
        assert_leaf_facts(&observed.chain[0], &pems.future);
        assert_eq!(observed.chain[0].not_before, 32_188_147_200); // 2990-01-01
        let err = observed.verdict.to_error("mail.test").unwrap();
        assert_eq!(err.kind(), Kind::CertificateExpired);
    }

    #[test]
    fn e2e_name_mismatch() {
        let Some(pems) = pems() else { return };
        let observed = observe(&trusting(&pems.ca), &pems.good, "other.test");
        assert_eq!(observed.verdict, Verdict::NameMismatch);
        assert_eq!(observed.chain[0].names, ["mail.test", "127.0.0.1"]);
        let err = observed.verdict.to_error("other.test").unwrap();
        assert_eq!(err.kind(), Kind::CertificateNameMismatch);

        // The server_name option wins over the name the connection was opened with, as in a
        // send.
        let with_override = TlsOptions {
            server_name: Some("mail.test".into()),
            ..trusting(&pems.ca)
        };
        let observed = observe(&with_override, &pems.good, "other.test");
        assert_eq!(observed.verdict, Verdict::Trusted);
    }

    #[test]
    fn e2e_untrusted_issuer() {
        let Some(pems) = pems() else { return };
        let observed = observe(&trusting(&pems.other_ca), &pems.good, "mail.test");
        assert_eq!(observed.verdict, Verdict::UntrustedIssuer);
        assert!(!observed.chain[0].self_signed);
        assert_leaf_facts(&observed.chain[0], &pems.good);
        let err = observed.verdict.to_error("mail.test").unwrap();
        assert_eq!(err.kind(), Kind::CertificateUntrusted);
    }

    #[test]
    fn e2e_self_signed() {
        let Some(pems) = pems() else { return };
        // An RSA key, so RSA handshake signatures are checked too.
        let observed = observe(&trusting(&pems.ca), &pems.self_signed, "selfsigned.test");
        assert_eq!(observed.verdict, Verdict::SelfSigned);
        assert_eq!(observed.chain.len(), 1);
        let leaf = &observed.chain[0];
        assert_leaf_facts(leaf, &pems.self_signed);
        assert!(leaf.self_signed);
        assert_eq!(leaf.subject, "CN=selfsigned.test, O=Mailport\\, Test, C=DE");
        assert_eq!(leaf.issuer, leaf.subject);
        assert_eq!(leaf.names, ["selfsigned.test", "::1"]);
        let err = observed.verdict.to_error("selfsigned.test").unwrap();
        assert_eq!(err.kind(), Kind::CertificateUntrusted);

        // Marked as a CA, as `openssl req -x509` does: webpki refuses it for that before it
        // looks for an issuer, but the verdict is still that it signed itself.
        let observed = observe(&trusting(&pems.ca), &pems.self_signed_ca, "selfsigned.test");
        assert_eq!(observed.verdict, Verdict::SelfSigned);
        assert_leaf_facts(&observed.chain[0], &pems.self_signed_ca);

        // Pinned through ca_pem, the (non-CA) self-signed certificate is its own anchor.
        let observed = observe(
            &trusting(&pems.self_signed.chain),
            &pems.self_signed,
            "selfsigned.test",
        );
        assert_eq!(observed.verdict, Verdict::Trusted);
    }

    #[test]
    fn e2e_dangerous_mode_still_reports() {
        let Some(pems) = pems() else { return };
        let dangerous = |options: TlsOptions| TlsOptions {
            dangerous_accept_invalid_certs: true,
            ..options
        };
        let observed = observe(&dangerous(trusting(&pems.ca)), &pems.good, "other.test");
        assert_eq!(observed.verdict, Verdict::NameMismatch);
        let observed = observe(&dangerous(trusting(&pems.ca)), &pems.good, "mail.test");
        assert_eq!(observed.verdict, Verdict::Trusted);

        // A broken CA file costs only itself.
        let broken = dangerous(TlsOptions {
            ca_files: vec!["/nonexistent/mailport/ca.pem".into()],
            ..trusting(&pems.ca)
        });
        let observed = observe(&broken, &pems.good, "mail.test");
        assert_eq!(observed.verdict, Verdict::Trusted);

        // No anchors at all: the usual setup for a throwaway test server.
        let nothing = dangerous(TlsOptions {
            webpki_roots: false,
            system_roots: false,
            ..TlsOptions::default()
        });
        let observed = observe(&nothing, &pems.self_signed, "selfsigned.test");
        assert_eq!(observed.verdict, Verdict::SelfSigned);
        let observed = observe(&nothing, &pems.good, "mail.test");
        assert_eq!(observed.verdict, Verdict::UntrustedIssuer);
        let observed = observe(&nothing, &pems.expired, "mail.test");
        assert_eq!(observed.verdict, Verdict::Expired);
    }

    #[test]
    fn names_without_subject_alt_name() {
        let Some(pems) = pems() else { return };
        let info = certificate_info(&der_of(&pems.no_san.chain)).unwrap();
        assert_leaf_facts(&info, &pems.no_san);
        assert_eq!(
            info.subject,
            "1.2.3.4=\\ #x\\+y\\ , emailAddress=postmaster@nosan.test, OU=Mail+CN=nosan.test, \
             O=Müller & Söhne, DC=test"
        );
        assert!(info.self_signed);
        // No subjectAltName: the CN stands in.
        assert_eq!(info.names, ["nosan.test"]);
    }
}
