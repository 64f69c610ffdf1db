//! The capture server's certificates: a local CA kept in the capture directory (so clients that
//! trust `ca.pem` keep trusting it across restarts) and a fresh leaf for `localhost`,
//! `127.0.0.1` and `::1` on every start.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use mailport::time::CivilTime;

use super::store::{random_bytes, sync_dir};

pub(super) const CA_FILE: &str = "ca.pem";
pub(super) const CA_KEY_FILE: &str = "ca-key.pem";

/// The CA's subject. Leaves name it as their issuer, so it must never change: a CA made by an
/// earlier start is rebuilt from its key and this name.
const CA_COMMON_NAME: &str = "mailport capture local CA";
const CA_ORGANIZATION: &str = "mailport";

/// The CA loaded or created in a capture directory.
pub(super) struct Ca {
    key: KeyPair,
    /// The CA certificate as stored in `ca.pem` (what clients trust).
    der: CertificateDer<'static>,
    pub path: PathBuf,
    pub created: bool,
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, CA_ORGANIZATION);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn serial() -> SerialNumber {
    let mut bytes = random_bytes::<16>();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// Valid from yesterday until `days` from now.
fn set_validity(params: &mut CertificateParams, days: u64) {
    let ymd = |t: SystemTime| {
        let u = CivilTime::at(t);
        rcgen::date_time_ymd(u.year as i32, u.month as u8, u.day as u8)
    };
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    params.not_before = ymd(now.checked_sub(day).unwrap_or(now));
    params.not_after = ymd(now + day * days as u32);
}

/// Load `DIR/ca.pem` and `DIR/ca-key.pem`, or create both when neither exists.
pub(super) fn load_or_create(dir: &Path) -> Result<Ca, String> {
    let cert_path = dir.join(CA_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => load(&cert_path, &key_path),
        (false, false) => create(dir, &cert_path, &key_path),
        (true, false) => Err(format!(
            "{} exists but its key {} does not: remove {} to make a new CA (clients that trusted it will need the new one)",
            cert_path.display(),
            key_path.display(),
            cert_path.display()
        )),
        (false, true) => Err(format!(
            "{} exists but the CA certificate {} does not: remove {} to make a new CA",
            key_path.display(),
            cert_path.display(),
            key_path.display()
        )),
    }
}

fn load(cert_path: &Path, key_path: &Path) -> Result<Ca, String> {
    let key_pem = fs::read_to_string(key_path)
        .map_err(|e| format!("cannot read {}: {e}", key_path.display()))?;
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| format!("{} is not a usable private key: {e}", key_path.display()))?;
    let der = CertificateDer::from_pem_file(cert_path)
        .map_err(|e| format!("{} is not a PEM certificate: {e}", cert_path.display()))?;
    warn_if_key_readable(key_path);
    Ok(Ca {
        key,
        der,
        path: cert_path.to_path_buf(),
        created: false,
    })
}

#[cfg(unix)]
fn warn_if_key_readable(key_path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(key_path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: {} can be read by other users (mode {:o}); chmod 600 it",
            key_path.display(),
            meta.permissions().mode() & 0o777
        );
    }
}

#[cfg(not(unix))]
fn warn_if_key_readable(_key_path: &Path) {}

fn create(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<Ca, String> {
    let key = KeyPair::generate().map_err(|e| format!("cannot generate the CA key: {e}"))?;
    let mut params = ca_params();
    params.serial_number = Some(serial());
    set_validity(&mut params, 3650);
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot make the CA certificate: {e}"))?;
    // Key first (mode 0600 from the start), then the certificate, each through a temporary file
    // so that a crash never leaves half a file behind.
    write_atomically(dir, key_path, key.serialize_pem().as_bytes(), true)?;
    write_atomically(dir, cert_path, cert.pem().as_bytes(), false)?;
    Ok(Ca {
        key,
        der: cert.der().clone(),
        path: cert_path.to_path_buf(),
        created: true,
    })
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8], secret: bool) -> Result<(), String> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let result = options
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    sync_dir(dir);
    Ok(())
}

/// A fresh server certificate signed by the CA, and a rustls server configuration using it.
///
/// The leaf names `localhost`, `127.0.0.1` and `::1`, plus `extra_ip` (the address listened
/// on) when it is a specific address other than those. It is checked against `ca.pem` before use, so a CA
/// directory that does not hold a matching pair is reported at start, not by every client.
pub(super) fn server_config(
    ca: &Ca,
    extra_ip: Option<IpAddr>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let issuer = ca_params()
        .self_signed(&ca.key)
        .map_err(|e| format!("cannot load the CA: {e}"))?;
    let leaf_key = KeyPair::generate().map_err(|e| format!("cannot generate a key: {e}"))?;
    let mut names = vec![
        SanType::DnsName("localhost".try_into().map_err(|e| format!("{e}"))?),
        SanType::IpAddress(IpAddr::from([127, 0, 0, 1])),
        SanType::IpAddress(IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1])),
    ];
    if let Some(ip) = extra_ip.filter(|ip| !ip.is_unspecified())
        && !names.contains(&SanType::IpAddress(ip))
    {
        names.push(SanType::IpAddress(ip));
    }
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    dn.push(DnType::OrganizationName, CA_ORGANIZATION);
    params.distinguished_name = dn;
    params.subject_alt_names = names;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(serial());
    set_validity(&mut params, 365);
    let leaf = params
        .signed_by(&leaf_key, &issuer, &ca.key)
        .map_err(|e| format!("cannot make the server certificate: {e}"))?;
    let leaf_der = leaf.der().clone();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    check_chain(&ca.der, &leaf_der, &provider).map_err(|e| {
        format!(
            "{} and {} do not form a CA this server can use ({e}): remove both to make a new CA",
            ca.path.display(),
            CA_KEY_FILE
        )
    })?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(vec![leaf_der], key)
        .map_err(|e| format!("TLS setup: {e}"))?;
    Ok(Arc::new(config))
}

/// Verify `leaf` for `localhost` against `ca` alone, as a client trusting `ca.pem` would.
fn check_chain(
    ca: &CertificateDer<'static>,
    leaf: &CertificateDer<'static>,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).map_err(|e| e.to_string())?;
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!(
            "mailport-ca-{}",
            u64::from_le_bytes(random_bytes::<8>())
        ));
        fs::create_dir_all(&dir).unwrap();
        let first = load_or_create(&dir).unwrap();
        assert!(first.created);
        server_config(&first, None).unwrap();
        let pem = fs::read(dir.join(CA_FILE)).unwrap();
        let second = load_or_create(&dir).unwrap();
        assert!(!second.created);
        server_config(&second, Some(IpAddr::from([192, 0, 2, 1]))).unwrap();
        assert_eq!(fs::read(dir.join(CA_FILE)).unwrap(), pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A key that does not belong to the certificate is caught at start.
        fs::write(
            dir.join(CA_KEY_FILE),
            KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        let mismatched = load_or_create(&dir).unwrap();
        assert!(server_config(&mismatched, None).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
