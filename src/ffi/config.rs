//! `mailport_config_*`: the mutable value object a client is made from.

use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::boundary::Out;
use super::error::mailport_error;
use super::log::{CallbackSink, mailport_log_callback};
use crate::address;
use crate::config::{Config, Credentials, PORT_AUTO, Secret, Security};
use crate::error::names::Api;

/// How the connection to the server is secured; passed as `uint32_t` to
/// `mailport_config_set_security` and returned by `mailport_receipt_security`.
///
/// Functions: mailport_config_set_security.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_security {
    /// Pick by port: 465 uses implicit TLS; 25 uses STARTTLS when offered (opportunistic);
    /// any other port (587, 2525, ...) requires STARTTLS. The default.
    MAILPORT_SECURITY_AUTO = 0,
    /// STARTTLS is required: if the server does not offer it or the upgrade fails, nothing is
    /// sent.
    MAILPORT_SECURITY_STARTTLS = 1,
    /// Implicit TLS from the first byte ("SMTPS", port 465).
    MAILPORT_SECURITY_TLS = 2,
    /// STARTTLS when offered, plaintext otherwise; for relaying on port 25. Credentials are
    /// still never sent over plaintext; the receipt says whether TLS was used.
    MAILPORT_SECURITY_OPPORTUNISTIC = 3,
    /// No encryption. Credentials are refused unless
    /// `mailport_config_dangerous_allow_plaintext_auth` is set.
    MAILPORT_SECURITY_NONE = 4,
}

impl mailport_security {
    pub(crate) fn from_core(security: Security) -> mailport_security {
        match security {
            Security::Auto => mailport_security::MAILPORT_SECURITY_AUTO,
            Security::StartTls => mailport_security::MAILPORT_SECURITY_STARTTLS,
            Security::Tls => mailport_security::MAILPORT_SECURITY_TLS,
            Security::Opportunistic => mailport_security::MAILPORT_SECURITY_OPPORTUNISTIC,
            Security::None => mailport_security::MAILPORT_SECURITY_NONE,
        }
    }

    fn to_core(value: u32) -> Option<Security> {
        Some(match value {
            0 => Security::Auto,
            1 => Security::StartTls,
            2 => Security::Tls,
            3 => Security::Opportunistic,
            4 => Security::None,
            _ => return None,
        })
    }
}

/// Special values of `mailport_config_set_port`'s `uint32_t port`, besides 1-65535.
///
/// Functions: mailport_config_set_port.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_port {
    /// Choose the port automatically on first use: try 587 with STARTTLS, 465 with implicit
    /// TLS and 2525 with STARTTLS (and 25 with STARTTLS after
    /// `mailport_config_set_allow_relay`), keep the most preferred one that fully works for the
    /// client's life. `mailport_client_port` and `mailport_receipt_port` say which.
    MAILPORT_PORT_AUTO = 0,
}

// The C constant is the core's value.
const _: () = assert!(mailport_port::MAILPORT_PORT_AUTO as u16 == PORT_AUTO);

/// Everything a client needs to know: server, security, credentials, trust, timeouts, logging.
///
/// A mutable value object. `mailport_config_new` gives the safe defaults: port 587, security
/// `MAILPORT_SECURITY_AUTO` (so STARTTLS required), certificates verified against the system's
/// trust store (Mozilla's roots where it has none), credentials never sent over plaintext, connect timeout 10 s, command
/// timeout 30 s, end-of-data timeout 40 s, whole-send timeout 45 s (below the 60 s after which
/// web servers and proxies give up on a request), EHLO name from this machine's host name. The host has no default: set it before making a client.
///
/// Each setter has the same fallible shape and replaces the previous value. Values are checked
/// where they are set when the check needs no other setting, and the whole configuration again
/// by `mailport_client_new`, which copies it: the config may be freed or reused right away.
///
/// **Thread safety:** may be read from many threads at once (for example by concurrent
/// `mailport_client_new` calls), but must not be changed while anyone reads it.
///
/// Functions: mailport_config_new, mailport_config_from_url, mailport_config_free,
/// mailport_config_set_host, mailport_config_set_port, mailport_config_set_security,
/// mailport_config_set_credentials, mailport_config_set_password, mailport_config_set_oauth2_token,
/// mailport_config_set_helo_name, mailport_config_set_connect_timeout_ms,
/// mailport_config_set_command_timeout_ms, mailport_config_set_data_timeout_ms,
/// mailport_config_set_send_timeout_ms, mailport_config_add_ca_file, mailport_config_add_ca_pem,
/// mailport_config_set_webpki_roots, mailport_config_set_system_roots,
/// mailport_config_set_tls_server_name, mailport_config_dangerous_accept_invalid_certs,
/// mailport_config_dangerous_allow_plaintext_auth, mailport_config_set_allow_partial_recipients,
/// mailport_config_set_transcript_bodies, mailport_config_set_log_callback,
/// mailport_config_set_allow_relay, mailport_config_set_persistent, mailport_config_set_binding.
pub struct mailport_config(pub(crate) Config);

/// A config made through the C ABI: hints name C functions until a binding says otherwise
/// (`mailport_config_set_binding`).
fn c_config(mut config: Config) -> Config {
    config.api = Api::C;
    config
}

/// Create a configuration with the safe defaults and no host.
///
/// Set the host (`mailport_config_set_host`) before `mailport_client_new`, which otherwise fails
/// with `MAILPORT_ERR_INVALID_ARGUMENT` "host is not set". `mailport_config_from_url` is the
/// one-call alternative.
///
/// **Ownership:** the new config belongs to the caller; free it with `mailport_config_free`.
///
/// **NULL:** returns NULL only if an internal error occurred.
///
/// # Safety
///
/// None.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_new() -> *mut mailport_config {
    ffi_boundary!({ Box::into_raw(Box::new(mailport_config(c_config(Config::new(""))))) })
}

/// Create a configuration from a connection URL.
///
/// Forms: `smtp://host[:port]` (security auto, port 587 by default), `smtps://host[:port]`
/// (implicit TLS, port 465), `smtp+starttls://host[:port]` (STARTTLS required, port 587),
/// `smtp+plain://host[:port]` (no encryption), each optionally with `user[:password]@` before
/// the host (percent-encoded: `me%40example.org:p%40ss@host`), and `[::1]` for IPv6. The port
/// `auto` (`smtp://host:auto`) asks for the automatic choice (see `mailport_config_set_port`).
/// Everything else has the defaults of `mailport_config_new` and can be changed with the
/// setters.
///
/// **Ownership:** `url` is only read. On success `*config_out` receives a new config that the
/// caller frees with `mailport_config_free`.
///
/// **NULL:** `url` and `config_out` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for invalid UTF-8, an
/// unknown scheme, a bad port, a path or query, or control characters (the message says which).
///
/// # Safety
///
/// `url` must be NULL or a NUL-terminated string. `config_out` and `error_out` must each be NULL
/// or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_from_url(
    url: *const c_char,
    config_out: *mut *mut mailport_config,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    ffi_boundary!(error_out => {
        let out: Out<mailport_config> = out_arg!(config_out);
        out.require("config_out")?;
        let url = arg_str!(url, "url");
        out.set(mailport_config(c_config(Config::from_url(url)?)));
        Ok(())
    })
}

/// Free a configuration. Clients made from it are unaffected (they hold a copy).
///
/// **Ownership:** takes back `cfg`.
///
/// **NULL:** `cfg` may be NULL (nothing happens).
///
/// # Safety
///
/// `cfg` must be NULL or a config from mailport that has not been freed, and that no other
/// thread is using. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_free(cfg: *mut mailport_config) {
    ffi_boundary!({
        if !cfg.is_null() {
            // SAFETY: the caller passes a config mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(cfg) });
        }
    })
}

/// Set the server's host name or IP address (IPv6 without brackets).
///
/// **Ownership:** `host` is copied.
///
/// **NULL:** `cfg` and `host` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `host` is not
/// UTF-8, is empty, or contains a control character, space, '/' or '@'.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `host` NULL or
/// a NUL-terminated string; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_host(
    cfg: *mut mailport_config,
    host: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let host = arg_str!(host, "host");
        address::check_host(host, "host")?;
        config.host = host.to_string();
    })
}

/// Set the server's TCP port (1-65535), or `MAILPORT_PORT_AUTO` (0). Without it: 587, or the
/// URL's port (`smtp://host:auto` means automatic).
///
/// 0 (`MAILPORT_PORT_AUTO`) tries 587/STARTTLS, 465/TLS and 2525/STARTTLS (and 25/STARTTLS
/// after `mailport_config_set_allow_relay`) on first use, all at once, and keeps the most
/// preferred one, in that order, that fully works (connects, encrypts with a trusted
/// certificate, accepts the credentials) for the client's life; the receipt
/// (`mailport_receipt_port`, `mailport_receipt_security`) and `mailport_client_port` say which.
/// When none works, the error lists every port and why it failed. With security
/// `MAILPORT_SECURITY_STARTTLS` or `MAILPORT_SECURITY_TLS` only the ports of that mode are tried;
/// with `MAILPORT_SECURITY_OPPORTUNISTIC` or `MAILPORT_SECURITY_NONE`, `mailport_client_new`
/// refuses the automatic choice (it only picks encrypted ports).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `port` is above
/// 65535.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_port(
    cfg: *mut mailport_config,
    port: u32,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.port = u16::try_from(port).map_err(|_| {
            mailport_error::invalid_argument(format!(
                "port: {port} is not a valid port (expected 1-65535, or 0 for MAILPORT_PORT_AUTO)"
            ))
        })?;
    })
}

/// Set how the connection is secured: a `mailport_security` value.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for a value that is
/// not a `mailport_security` constant.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_security(
    cfg: *mut mailport_config,
    security: u32,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.security = mailport_security::to_core(security).ok_or_else(|| {
            mailport_error::invalid_argument(format!(
                "security: unknown mode {security} (expected a MAILPORT_SECURITY_* value, 0-4)"
            ))
        })?;
    })
}

/// Log in with a user name and password (AUTH PLAIN or LOGIN, whichever the server offers).
///
/// Replaces any earlier credentials or OAuth2 token. Credentials are only ever sent over an
/// encrypted connection unless `mailport_config_dangerous_allow_plaintext_auth` is set. The
/// password never appears in transcripts, errors or logs.
///
/// **Ownership:** both strings are copied; the copy of the password is wiped when the config
/// (and each client copied from it) is freed.
///
/// **NULL:** `cfg`, `username` and `password` must not be NULL. `error_out` may be NULL. A NULL
/// user name or password (most often `getenv()` of a variable that is not set) is reported as
/// missing: "the password is missing (password is NULL): was the environment variable that
/// should hold it set?".
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8 or contains a control character.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; the strings
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_credentials(
    cfg: *mut mailport_config,
    username: *const c_char,
    password: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let username = arg_credential!(username, "username", "user name");
        let password = arg_credential!(password, "password", "password");
        address::check_no_controls(username, "username")?;
        address::check_no_controls(password, "password")?;
        config.credentials = Some(Credentials::Password {
            username: username.to_string(),
            password: Secret::new(password),
        });
    })
}

/// Set the password for the user name the config already has: the `user@` of a URL given to
/// `mailport_config_from_url`, or earlier credentials. So a password need not be written into
/// (and percent-encoded in) a URL.
///
/// **Ownership:** `password` is copied; the copy is wiped when the config (and each client copied
/// from it) is freed.
///
/// **NULL:** `cfg` and `password` must not be NULL. `error_out` may be NULL. A NULL password
/// is reported as missing, as by `mailport_config_set_credentials`.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `password` is
/// not UTF-8 or contains a control character, or when the config has no user name (or logs in
/// with an OAuth2 token): use `mailport_config_set_credentials` then.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `password`
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_password(
    cfg: *mut mailport_config,
    password: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.set_password(arg_credential!(password, "password", "password"))?;
    })
}

/// Log in with an OAuth 2.0 bearer token obtained by the caller (AUTH XOAUTH2, or OAUTHBEARER
/// where the server offers only that).
///
/// Replaces any earlier credentials. The token is never sent over plaintext and never appears
/// in transcripts, errors or logs.
///
/// **Ownership:** both strings are copied; the token copy is wiped when freed.
///
/// **NULL:** `cfg`, `username` and `token` must not be NULL. `error_out` may be NULL. A NULL
/// user name or token is reported as missing, as by `mailport_config_set_credentials`.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when a string is not
/// UTF-8 or contains a control character.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; the strings
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth2_token(
    cfg: *mut mailport_config,
    username: *const c_char,
    token: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let username = arg_credential!(username, "username", "user name");
        let token = arg_credential!(token, "token", "OAuth2 token");
        address::check_no_controls(username, "username")?;
        address::check_no_controls(token, "oauth2 token")?;
        config.credentials = Some(Credentials::OAuth2 {
            username: username.to_string(),
            token: crate::oauth::TokenSource::Fixed(Secret::new(token)),
        });
    })
}

/// Set the name announced in EHLO/HELO (a domain, ASCII). Without it: this machine's host name.
///
/// **Ownership:** `name` is copied.
///
/// **NULL:** `cfg` and `name` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `name` is empty,
/// not ASCII, or contains a control character, space, '/' or '@'.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `name` NULL
/// or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_helo_name(
    cfg: *mut mailport_config,
    name: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let name = arg_str!(name, "name");
        address::check_helo_name(name)?;
        config.helo_name = Some(name.to_string());
    })
}

/// A timeout in milliseconds, which must be more than zero.
fn timeout(ms: u64, what: &str) -> Result<Duration, mailport_error> {
    if ms == 0 {
        return Err(mailport_error::invalid_argument(format!(
            "{what}: must be more than zero milliseconds"
        )));
    }
    Ok(Duration::from_millis(ms))
}

/// Set how long each TCP connection attempt may take, in milliseconds (default 10000).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `ms` is 0.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_connect_timeout_ms(
    cfg: *mut mailport_config,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.timeouts.connect = timeout(ms, "connect timeout")?;
    })
}

/// Set how long to wait for each reply (greeting, commands, TLS handshake), in milliseconds
/// (default 30000).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `ms` is 0.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_command_timeout_ms(
    cfg: *mut mailport_config,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.timeouts.command = timeout(ms, "command timeout")?;
    })
}

/// Set how long to wait for the server's reply after the message data, in milliseconds
/// (default 40000; servers scan the message before answering).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `ms` is 0.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_data_timeout_ms(
    cfg: *mut mailport_config,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.timeouts.data_end = timeout(ms, "data timeout")?;
    })
}

/// Set the limit for one whole send, connection included, in milliseconds (default 45000, below
/// the 60 s after which web servers and proxies give up on a request).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `ms` is 0.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_send_timeout_ms(
    cfg: *mut mailport_config,
    ms: u64,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.timeouts.send_total = timeout(ms, "send timeout")?;
    })
}

/// Also trust the certificates in a PEM file (a private CA). May be called several times.
///
/// The file is read when the client is made: `mailport_client_new` reports a missing or
/// unreadable file, or one without certificates, by name.
///
/// **Ownership:** `path` is copied.
///
/// **NULL:** `cfg` and `path` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `path` is not
/// UTF-8 or is empty.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `path` NULL
/// or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_add_ca_file(
    cfg: *mut mailport_config,
    path: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let path = arg_str!(path, "path");
        if path.is_empty() {
            return Err(mailport_error::invalid_argument("path is empty"));
        }
        config.tls.ca_files.push(PathBuf::from(path));
    })
}

/// Also trust the certificates in PEM data held in memory. May be called several times.
///
/// The data is parsed when the client is made: `mailport_client_new` reports data without
/// certificates.
///
/// **Ownership:** the `len` bytes at `pem` are copied.
///
/// **NULL:** `cfg` and `pem` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `len` is 0.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `pem` NULL or
/// readable for `len` bytes; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_add_ca_pem(
    cfg: *mut mailport_config,
    pem: *const std::ffi::c_void,
    len: usize,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        if pem.is_null() {
            return Err(mailport_error::null_argument("pem"));
        }
        let pem = arg_bytes!(pem, len, "pem");
        if pem.is_empty() {
            return Err(mailport_error::invalid_argument("pem is empty"));
        }
        config.tls.ca_pem.push(pem.to_vec());
    })
}

/// Choose whether Mozilla's root certificates (built in) are trusted. Default: true. With the
/// system store on (`mailport_config_set_system_roots`) they are its fallback only: used when
/// the system has no trusted certificates at all (a container without `ca-certificates`).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_webpki_roots(
    cfg: *mut mailport_config,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.tls.webpki_roots = enabled;
    })
}

/// Choose whether the operating system's certificate store is trusted. Default: true. It is
/// found as each platform keeps it: the keychain on macOS, the certificate store on Windows, the
/// CA bundle of the system's OpenSSL on Linux and the BSDs, or `SSL_CERT_FILE` / `SSL_CERT_DIR`
/// when either is set; it is read once per process.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_system_roots(
    cfg: *mut mailport_config,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.tls.system_roots = enabled;
    })
}

/// Verify the server's certificate against `name` instead of the host connected to (for
/// example when connecting by IP address).
///
/// **Ownership:** `name` is copied.
///
/// **NULL:** `cfg` and `name` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `name` is not a
/// host name (empty, not UTF-8, control characters, space, '/' or '@').
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `name` NULL
/// or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_tls_server_name(
    cfg: *mut mailport_config,
    name: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let name = arg_str!(name, "name");
        address::check_host(name, "tls server name")?;
        config.tls.server_name = Some(name.to_string());
    })
}

/// DANGEROUS: accept any server certificate without verifying it. Default: false.
///
/// Anyone on the network path can then read the mail and the credentials. Only for tests
/// against throwaway servers; prefer `mailport_config_add_ca_file` for a private CA.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_dangerous_accept_invalid_certs(
    cfg: *mut mailport_config,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.tls.dangerous_accept_invalid_certs = enabled;
    })
}

/// DANGEROUS: send credentials even over an unencrypted connection. Default: false.
///
/// Only for loopback servers and trusted relays on a private network.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_dangerous_allow_plaintext_auth(
    cfg: *mut mailport_config,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.dangerous_allow_plaintext_auth = enabled;
    })
}

/// Choose whether a message is delivered to the recipients the server accepted when it refused
/// others. Default: false (one refusal aborts the message with
/// `MAILPORT_ERR_RECIPIENTS_REJECTED` and nothing is sent). When true, the receipt lists the
/// refused recipients; a send where every recipient is refused still fails.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_allow_partial_recipients(
    cfg: *mut mailport_config,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.allow_partial_recipients = enabled;
    })
}

/// Choose whether the automatic port choice (`MAILPORT_PORT_AUTO`) may fall back to port 25,
/// after 587, 465 and 2525. Default: false. Port 25 is meant for server-to-server relay: most
/// ISPs and clouds block it, and many providers refuse or throttle submission there. Has no
/// effect with a fixed port; it also lets `mailport_probe` recommend port 25 (as
/// `MAILPORT_PROBE_ALLOW_RELAY` does).
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_allow_relay(
    cfg: *mut mailport_config,
    allow: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.allow_relay = allow;
    })
}

/// Keep connections for reuse across clients (persistent mode, for long-lived PHP and Python
/// workers). With `persistent`, a client made from this config hands its authenticated session
/// to a process-wide pool when it is freed or closed, instead of saying QUIT; the next client
/// with the same host, port, security, credentials, EHLO name, TLS settings (and CA files
/// unchanged on disk) and permission for plaintext AUTH in the same process takes it back and
/// skips connecting, TLS and AUTH, then sends with its own settings (partial recipients,
/// transcript bodies, timeouts). A session serves one client at a time; one idle for longer than
/// `idle_timeout_ms` (default 60000), or opened more than five minutes ago, is closed; one the
/// server has dropped is replaced by a fresh connection, and a message is never sent twice.
/// Clients of such configs also share one TLS session cache, so new connections resume TLS.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when
/// `idle_timeout_ms` is 0.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_persistent(
    cfg: *mut mailport_config,
    persistent: bool,
    idle_timeout_ms: u32,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        if idle_timeout_ms == 0 {
            return Err(mailport_error::invalid_argument(
                "idle_timeout_ms: must be more than zero",
            ));
        }
        config.persistent = persistent;
        config.pool_idle_timeout = std::time::Duration::from_millis(u64::from(idle_timeout_ms));
    })
}

/// Choose whether message bodies appear in transcripts and log events. Default: false (each
/// body is replaced by its size). Bodies may hold personal data: enable only for debugging.
///
/// **NULL:** `cfg` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `error_out`
/// NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_transcript_bodies(
    cfg: *mut mailport_config,
    enabled: bool,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.transcript_bodies = enabled;
    })
}

/// Set the function that receives each transcript event (see `mailport_log_callback` for its
/// contract), with the `userdata` passed back to it. A NULL `callback` turns logging off.
///
/// The pair is copied into every client made from this config afterwards. The same events are
/// always kept in the client's transcript (`mailport_client_transcript`) and in errors, so the
/// callback is optional.
///
/// **Ownership:** `userdata` is not touched by mailport, only passed back; it must stay valid
/// while any client made from this config may log (until `mailport_client_free` returns).
///
/// **NULL:** `cfg` must not be NULL. `callback` may be NULL (logging off); `userdata` may be
/// NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`.
///
/// **Thread safety:** the callback runs on the thread calling into the client. If clients
/// sharing it run on several threads, it runs concurrently and must be thread-safe.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `callback`
/// NULL or a function with the `mailport_log_callback` signature that honours its contract;
/// `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_log_callback(
    cfg: *mut mailport_config,
    callback: mailport_log_callback,
    userdata: *mut c_void,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.sink = callback.map(|cb| {
            Arc::new(CallbackSink::new(cb, userdata)) as Arc<dyn crate::transcript::Sink>
        });
    })
}

/// Declare the language binding that made this config, so that error hints name settings in
/// that binding's words: `"python"` (`ca_file=`, `security="tls"`), `"php"` (`caFile`,
/// `security: 'tls'`), `"wordpress"` (the WordPress plugin, on top of the PHP binding: the fields
/// of Settings > Mailport and the `MAILPORT_*` constants of wp-config.php, such as
/// `MAILPORT_CA_FILE`) or `"c"` (`mailport_config_add_ca_file`, the default of
/// `mailport_config_new` and `mailport_config_from_url`). Clients made from the config, and
/// connection checks run with it, use these names. Only bindings and applications built on them
/// call this; C programs need not.
///
/// **Ownership:** `binding` is only read.
///
/// **NULL:** `cfg` and `binding` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for a name other
/// than `"c"`, `"python"`, `"php"` and `"wordpress"`; the config is then unchanged.
///
/// **Thread safety:** like every setter, not while another thread reads `cfg`.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `binding`
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_binding(
    cfg: *mut mailport_config,
    binding: *const c_char,
    error_out: *mut *mut mailport_error,
) -> super::mailport_result {
    setter!(cfg.0, error_out, |config| {
        let name = arg_str!(binding, "binding");
        config.api = Api::from_binding_name(name).ok_or_else(|| {
            mailport_error::invalid_argument(format!(
                "binding: unknown binding {name:?} (expected \"c\", \"python\", \"php\" or \"wordpress\")"
            ))
        })?;
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
