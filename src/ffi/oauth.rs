//! `mailport_config_set_oauth_*`: OAuth 2.0 token sources through the C ABI (a refresh grant
//! with its provider, tenant, token URL, scope and rotation callback; the caller's token
//! callback), and the choice of the SASL mechanism.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::error::mailport_error;
use super::mailport_result;
use crate::address;
use crate::config::{Config, Credentials, Secret};
use crate::oauth::{
    CallbackToken, Provider, RefreshGrant, TokenCallback, TokenRequest, TokenSource,
};
use crate::smtp::auth::Mechanism;

/// The identity provider of a refresh grant; passed as `uint32_t` to
/// `mailport_config_set_oauth_refresh`.
///
/// Functions: mailport_config_set_oauth_refresh, mailport_config_set_oauth_tenant,
/// mailport_config_set_oauth_token_url, mailport_config_set_oauth_scope,
/// mailport_config_set_oauth_rotation_callback, mailport_config_set_oauth_token_callback,
/// mailport_config_set_auth_mechanism.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_oauth_provider {
    /// Google (Gmail, Workspace): token endpoint `https://oauth2.googleapis.com/token`, scope
    /// `https://mail.google.com/`.
    MAILPORT_OAUTH_PROVIDER_GOOGLE = 1,
    /// Microsoft 365 and Outlook.com: token endpoint
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` (tenant `common` unless
    /// set with `mailport_config_set_oauth_tenant`), scope
    /// `https://outlook.office.com/SMTP.Send offline_access`.
    MAILPORT_OAUTH_PROVIDER_MICROSOFT = 2,
    /// Any other RFC 6749 token endpoint: set its URL with `mailport_config_set_oauth_token_url`;
    /// no scope is sent unless set with `mailport_config_set_oauth_scope`.
    MAILPORT_OAUTH_PROVIDER_CUSTOM = 3,
}

fn provider_from(value: u32) -> Result<Provider, mailport_error> {
    match value {
        1 => Ok(Provider::Google),
        2 => Ok(Provider::Microsoft),
        3 => Ok(Provider::Custom),
        _ => Err(crate::Error::invalid_input(format!(
            "provider: unknown provider {value} (expected a MAILPORT_OAUTH_PROVIDER_* value, 1-3)"
        ))
        .into()),
    }
}

/// The refresh grant of `config`, or `MAILPORT_ERR_INVALID_STATE` naming `function`.
fn refresh_grant<'a>(
    config: &'a mut Config,
    function: &str,
) -> Result<&'a mut RefreshGrant, mailport_error> {
    match &mut config.credentials {
        Some(Credentials::OAuth2 {
            token: TokenSource::Refresh(grant),
            ..
        }) => Ok(grant),
        _ => Err(mailport_error::new(
            mailport_result::MAILPORT_ERR_INVALID_STATE,
            format!("{function}: this config has no OAuth refresh grant"),
            "Call mailport_config_set_oauth_refresh first: the tenant, token URL, scope and rotation callback belong to its refresh grant.",
        )),
    }
}

/// Log in with an OAuth 2.0 refresh grant (RFC 6749 §6): mailport exchanges `refresh_token`
/// for access tokens at the provider's token endpoint when AUTH is due, caches them for every
/// client of the process until shortly before they expire (at most 5 minutes, a quarter of
/// their life), and uses AUTH XOAUTH2 (or OAUTHBEARER where only that is offered). A token the
/// server refuses is refreshed once and AUTH tried again on a new connection, never more.
///
/// Replaces any earlier credentials. When the endpoint rotates the refresh token (Microsoft
/// does), the new one goes to the rotation callback (`mailport_config_set_oauth_rotation_callback`):
/// store it, as configs made later in other processes need it. In this process a config still
/// made with the old one keeps working. The token endpoint's certificate is verified like the
/// SMTP server's (the same roots and CA files). A failed refresh fails the send with
/// `MAILPORT_ERR_OAUTH_INVALID_GRANT`, `_INVALID_CLIENT`, `_ENDPOINT_UNREACHABLE`, `_SCOPE` or
/// `_ENDPOINT`; an empty token is never sent.
///
/// **Ownership:** the strings are copied; the copies of the secret and the refresh token are
/// wiped when the config (and each client copied from it) is freed.
///
/// **NULL:** `cfg`, `username`, `client_id` and `refresh_token` must not be NULL;
/// `client_secret` is NULL for a public client (a native or device app registration has no
/// secret). `error_out` may be NULL. A NULL refresh token is reported as missing.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for an unknown
/// provider, an empty client id or refresh token, a string that is not UTF-8 or holds a
/// control character. A custom provider's missing token URL is reported by
/// `mailport_client_new`.
///
/// **Thread safety:** as every config setter: nobody else may use `cfg` during the call.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; the strings
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth_refresh(
    cfg: *mut super::mailport_config,
    username: *const c_char,
    provider: u32,
    client_id: *const c_char,
    client_secret: *const c_char,
    refresh_token: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        let username = arg_credential!(username, "username", "user name");
        let provider = provider_from(provider)?;
        let client_id = arg_credential!(client_id, "client_id", "OAuth client id");
        let client_secret = if client_secret.is_null() {
            None
        } else {
            Some(arg_str!(client_secret, "client_secret"))
        };
        let refresh_token = arg_credential!(refresh_token, "refresh_token", "OAuth refresh token");
        address::check_no_controls(username, "username")?;
        let grant = RefreshGrant::new(
            provider,
            client_id,
            client_secret.map(Secret::new),
            Secret::new(refresh_token),
        );
        // Checks the id, secret and token now; the URL waits for a custom provider's setter.
        if let Err(e) = grant.validate() {
            if !(provider == Provider::Custom && e.message().starts_with("oauth token url")) {
                return Err(e.into());
            }
        }
        config.credentials = Some(Credentials::OAuth2 {
            username: username.to_string(),
            token: TokenSource::Refresh(grant),
        });
    })
}

/// Set the Microsoft tenant of the refresh grant: the directory (tenant) id, a domain such as
/// `contoso.onmicrosoft.com`, or `common` (the default), `organizations`, `consumers`.
///
/// **Ownership:** `tenant` is copied.
///
/// **NULL:** `cfg` and `tenant` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `tenant` holds
/// anything but letters, digits, '-', '.', '_'; `MAILPORT_ERR_INVALID_STATE` when the config has
/// no refresh grant (call `mailport_config_set_oauth_refresh` first).
///
/// **Thread safety:** nobody else may use `cfg` during the call.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `tenant`
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth_tenant(
    cfg: *mut super::mailport_config,
    tenant: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        let tenant = arg_str!(tenant, "tenant");
        crate::oauth::provider::check_tenant(tenant)?;
        refresh_grant(config, "mailport_config_set_oauth_tenant")?.tenant =
            Some(tenant.to_string());
    })
}

/// Set the token endpoint's URL: required for `MAILPORT_OAUTH_PROVIDER_CUSTOM`, and overriding
/// the preset of Google or Microsoft otherwise (a proxy, a test server).
///
/// **Ownership:** `url` is copied.
///
/// **NULL:** `cfg` and `url` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `url` is not an
/// absolute `https://` URL (plain `http://` is accepted for loopback only) or holds a user
/// name or password; `MAILPORT_ERR_INVALID_STATE` when the config has no refresh grant.
///
/// **Thread safety:** nobody else may use `cfg` during the call.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `url` NULL
/// or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth_token_url(
    cfg: *mut super::mailport_config,
    url: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        let url = arg_str!(url, "url");
        crate::oauth::provider::check_token_url(url)?;
        refresh_grant(config, "mailport_config_set_oauth_token_url")?.token_url =
            Some(url.to_string());
    })
}

/// Set the scope asked for at each refresh (space-separated), replacing the provider's preset.
/// Only needed for a custom provider, or an app registered with other scopes.
///
/// **Ownership:** `scope` is copied.
///
/// **NULL:** `cfg` and `scope` must not be NULL. `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `scope` is
/// empty or holds a control character; `MAILPORT_ERR_INVALID_STATE` when the config has no
/// refresh grant.
///
/// **Thread safety:** nobody else may use `cfg` during the call.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `scope` NULL
/// or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth_scope(
    cfg: *mut super::mailport_config,
    scope: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        let scope = arg_str!(scope, "scope");
        address::check_no_controls(scope, "oauth scope")?;
        if scope.trim().is_empty() {
            return Err(crate::Error::invalid_input(
                "oauth scope: empty (leave it unset to use the provider's preset)",
            )
            .into());
        }
        refresh_grant(config, "mailport_config_set_oauth_scope")?.scope = Some(scope.to_string());
    })
}

/// Receives a refresh token the token endpoint rotated. `user_data` is the pointer given to
/// `mailport_config_set_oauth_rotation_callback`; `username` the account; `refresh_token` the
/// new refresh token, NUL-terminated UTF-8, valid (and then wiped) only until the callback
/// returns: copy it into the place the old one was stored (encrypted like a password).
///
/// It runs on the thread sending (or checking) when the refresh happens, during that call,
/// possibly on several threads at once when clients share the config; it must not unwind
/// across mailport and must not free `user_data` while any client made from the config lives.
pub type mailport_oauth_rotation_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        username: *const c_char,
        refresh_token: *const c_char,
    ),
>;

/// A C function pointer and its user data, callable from any thread the caller allows.
struct UserCallback<F> {
    callback: F,
    user_data: *mut c_void,
}

// SAFETY: mailport never dereferences `user_data`; it only passes it back to the callback. The
// callbacks' C contract (on their typedefs) makes the caller responsible for the function and
// its user data being usable from whichever thread sends, concurrently when clients share them,
// like the log callback's.
unsafe impl<F> Send for UserCallback<F> {}
// SAFETY: as above; a shared reference only reads the two pointers.
unsafe impl<F> Sync for UserCallback<F> {}

/// A rotation callback's target.
type Rotation = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char);

/// A token callback's target.
type Token =
    unsafe extern "C" fn(*mut c_void, *const c_char, bool, *mut mailport_oauth_token) -> i32;

// The closures below call these methods rather than the fields, so that they capture the whole
// `UserCallback` (which is Send and Sync), not its raw pointer on its own.
impl UserCallback<Rotation> {
    fn call(&self, username: &CString, refresh_token: &Zeroizing<Vec<u8>>) {
        // SAFETY: the caller's contract: the function takes these NUL-terminated strings,
        // valid for the duration of the call, and its own user data.
        unsafe {
            (self.callback)(
                self.user_data,
                username.as_ptr(),
                refresh_token.as_ptr().cast::<c_char>(),
            )
        };
    }
}

impl UserCallback<Token> {
    fn call(
        &self,
        username: &CString,
        previous_refused: bool,
        out: &mut mailport_oauth_token,
    ) -> i32 {
        // SAFETY: the caller's contract: the function takes these arguments, `out` valid and
        // exclusively its own for the duration of the call.
        unsafe { (self.callback)(self.user_data, username.as_ptr(), previous_refused, out) }
    }
}

/// Set (or, with NULL, remove) the function that receives each rotated refresh token of the
/// config's refresh grant. Without one, a rotated token is kept in this process only and the
/// transcript says so: the next process would start from a refresh token the endpoint retired.
///
/// **Ownership:** `user_data` stays the caller's; mailport only passes it back.
///
/// **NULL:** `cfg` must not be NULL; `callback` NULL removes it; `user_data` may be NULL.
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_STATE` when the config has no
/// refresh grant (call `mailport_config_set_oauth_refresh` first).
///
/// **Thread safety:** nobody else may use `cfg` during the call; see
/// `mailport_oauth_rotation_callback` for the callback's own.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `callback`
/// NULL or a function with that signature, callable with `user_data` for as long as any client
/// made from the config lives; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth_rotation_callback(
    cfg: *mut super::mailport_config,
    callback: mailport_oauth_rotation_callback,
    user_data: *mut c_void,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        let grant = refresh_grant(config, "mailport_config_set_oauth_rotation_callback")?;
        grant.on_rotation = callback.map(|callback| {
            let target: UserCallback<Rotation> = UserCallback {
                callback,
                user_data,
            };
            Arc::new(move |username: &str, token: &str| {
                let (Ok(user), Ok(token)) = (CString::new(username), CString::new(token)) else {
                    return; // validated on the way in and out: no interior NUL
                };
                let token = Zeroizing::new(token.into_bytes_with_nul());
                target.call(&user, &token);
            }) as Arc<crate::oauth::RotationFn>
        });
    })
}

/// What a token callback fills in: the token (`mailport_oauth_token_set`) or the reason it has
/// none (`mailport_oauth_token_fail`). Owned by mailport; valid only during the callback.
///
/// Functions: mailport_oauth_token_set, mailport_oauth_token_fail.
#[derive(Default)]
pub struct mailport_oauth_token {
    token: Option<Secret>,
    expires_in: Option<Duration>,
    failure: Option<String>,
}

/// Asked for an access token each time a connection authenticates. `user_data` is the pointer
/// given to `mailport_config_set_oauth_token_callback`; `username` the account;
/// `previous_refused` is true when the server refused the token this callback gave for the
/// previous attempt (then give a new one: refresh it, do not return the cached one). Call
/// `mailport_oauth_token_set(out, token, expires_in_seconds)` and return 0, or call
/// `mailport_oauth_token_fail(out, reason)` (or return non-zero) when there is no token: the
/// send fails with `MAILPORT_ERR_OAUTH_CALLBACK` and the reason.
///
/// It runs on the sending thread, during the send, possibly on several threads at once when
/// clients share the config; `out` is valid only until it returns. It must not unwind across
/// mailport nor use the client that is calling it.
pub type mailport_oauth_token_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        username: *const c_char,
        previous_refused: bool,
        out: *mut mailport_oauth_token,
    ) -> i32,
>;

/// Log in with access tokens the caller's `callback` gives (AUTH XOAUTH2, or OAUTHBEARER where
/// only that is offered): for applications that keep their own OAuth flow. The callback is
/// asked each time a connection authenticates; when the server refuses its token, it is asked
/// once more with `previous_refused` set, on a new connection. A session authenticated with a
/// token whose lifetime the callback gave is not reused past it.
///
/// Replaces any earlier credentials.
///
/// **Ownership:** `username` is copied; `user_data` stays the caller's.
///
/// **NULL:** `cfg`, `username` and `callback` must not be NULL; `user_data` may be NULL.
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `username` is
/// not UTF-8 or holds a control character.
///
/// **Thread safety:** nobody else may use `cfg` during the call; see
/// `mailport_oauth_token_callback` for the callback's own.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `username`
/// NULL or NUL-terminated; `callback` NULL or a function with that signature, callable with
/// `user_data` for as long as any client made from the config lives; `error_out` NULL or valid
/// for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_oauth_token_callback(
    cfg: *mut super::mailport_config,
    username: *const c_char,
    callback: mailport_oauth_token_callback,
    user_data: *mut c_void,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        let username = arg_credential!(username, "username", "user name");
        address::check_no_controls(username, "username")?;
        let Some(callback) = callback else {
            return Err(mailport_error::new(
                mailport_result::MAILPORT_ERR_NULL_ARGUMENT,
                "callback is NULL",
                "Pass the function that returns an access token (or use mailport_config_set_oauth2_token for a fixed one).",
            ));
        };
        let target: UserCallback<Token> = UserCallback {
            callback,
            user_data,
        };
        let source = TokenCallback::new(move |request: &TokenRequest<'_>| {
            let user = CString::new(request.username)
                .map_err(|_| "the user name holds a NUL character".to_string())?;
            let mut out = mailport_oauth_token::default();
            let rc = target.call(&user, request.previous_refused, &mut out);
            match (rc, out.failure, out.token) {
                (_, Some(reason), _) => Err(reason),
                (0, None, Some(token)) => Ok(CallbackToken {
                    token,
                    expires_in: out.expires_in,
                }),
                (0, None, None) => {
                    Err("it returned 0 without calling mailport_oauth_token_set".to_string())
                }
                (rc, None, _) => Err(format!("it returned {rc}")),
            }
        });
        config.credentials = Some(Credentials::OAuth2 {
            username: username.to_string(),
            token: TokenSource::Callback(source),
        });
    })
}

/// From inside a token callback: give the access token, and its lifetime in seconds (0 when
/// unknown; the server's refusal then tells when it ended).
///
/// **Ownership:** `token` is copied (and the copy wiped after use); `out` stays mailport's.
///
/// **NULL:** `out` and `token` must not be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` when `token` is
/// empty, not UTF-8, or holds a space or control character (the send then fails with
/// `MAILPORT_ERR_OAUTH_CALLBACK` saying so, even if the callback returns 0).
///
/// **Thread safety:** only on the thread running the callback, during it.
///
/// # Safety
///
/// `out` must be NULL or the pointer the callback received; `token` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_oauth_token_set(
    out: *mut mailport_oauth_token,
    token: *const c_char,
    expires_in_seconds: u64,
) -> mailport_result {
    ffi_boundary!({
        // SAFETY: the caller passes the callback's `out` (or NULL).
        let Some(out) = (unsafe { out.as_mut() }) else {
            return mailport_result::MAILPORT_ERR_NULL_ARGUMENT;
        };
        if token.is_null() {
            out.failure = Some("it passed a NULL token to mailport_oauth_token_set".into());
            return mailport_result::MAILPORT_ERR_NULL_ARGUMENT;
        }
        // SAFETY: non-NULL and NUL-terminated by the caller's contract.
        let text = unsafe { std::ffi::CStr::from_ptr(token) }.to_str();
        let problem = match text {
            Err(_) => Some("it gave a token that is not UTF-8"),
            Ok("") => Some("it gave an empty token"),
            Ok(t) if t.chars().any(|c| c.is_control() || c == ' ') => {
                Some("it gave a token with a space or control character")
            }
            Ok(_) => None,
        };
        match (problem, text) {
            (None, Ok(text)) => {
                out.token = Some(Secret::new(text));
                out.expires_in =
                    (expires_in_seconds > 0).then(|| Duration::from_secs(expires_in_seconds));
                mailport_result::MAILPORT_OK
            }
            (problem, _) => {
                out.failure = Some(problem.unwrap_or("it gave an unusable token").into());
                mailport_result::MAILPORT_ERR_INVALID_ARGUMENT
            }
        }
    })
}

/// From inside a token callback: say why there is no token. The send fails with
/// `MAILPORT_ERR_OAUTH_CALLBACK` and this reason in its message (never put a secret in it).
///
/// **Ownership:** `message` is copied; `out` stays mailport's.
///
/// **NULL:** `out` must not be NULL; `message` may be NULL ("no reason given").
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT` when `out` is NULL.
///
/// **Thread safety:** only on the thread running the callback, during it.
///
/// # Safety
///
/// `out` must be NULL or the pointer the callback received; `message` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_oauth_token_fail(
    out: *mut mailport_oauth_token,
    message: *const c_char,
) -> mailport_result {
    ffi_boundary!({
        // SAFETY: the caller passes the callback's `out` (or NULL).
        let Some(out) = (unsafe { out.as_mut() }) else {
            return mailport_result::MAILPORT_ERR_NULL_ARGUMENT;
        };
        let reason = if message.is_null() {
            "no reason given".to_string()
        } else {
            // SAFETY: non-NULL and NUL-terminated by the caller's contract.
            unsafe { std::ffi::CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        };
        out.failure = Some(reason);
        mailport_result::MAILPORT_OK
    })
}

/// Choose the SASL mechanism: "xoauth2", "oauthbearer", "plain" or "login" (any case), or
/// NULL for the automatic choice (the default: PLAIN, then LOGIN for a password; XOAUTH2, then
/// OAUTHBEARER for a token). A server that does not offer the chosen one fails the send with
/// `MAILPORT_ERR_AUTH_UNAVAILABLE`.
///
/// **Ownership:** `mechanism` is only read.
///
/// **NULL:** `cfg` must not be NULL; `mechanism` NULL restores the automatic choice.
/// `error_out` may be NULL.
///
/// **Errors:** `MAILPORT_ERR_NULL_ARGUMENT`; `MAILPORT_ERR_INVALID_ARGUMENT` for an unknown
/// mechanism. One that cannot carry the credentials (PLAIN with a token) is reported by
/// `mailport_client_new`.
///
/// **Thread safety:** nobody else may use `cfg` during the call.
///
/// # Safety
///
/// `cfg` must be NULL or a live config that no other thread uses during the call; `mechanism`
/// NULL or NUL-terminated; `error_out` NULL or valid for writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_config_set_auth_mechanism(
    cfg: *mut super::mailport_config,
    mechanism: *const c_char,
    error_out: *mut *mut mailport_error,
) -> mailport_result {
    setter!(cfg.0, error_out, |config| {
        config.auth_mechanism = if mechanism.is_null() {
            None
        } else {
            let name = arg_str!(mechanism, "mechanism");
            Some(Mechanism::parse(name).ok_or_else(|| {
                crate::Error::invalid_input(format!(
                    "auth mechanism: unknown mechanism {name:?} (expected xoauth2, oauthbearer, plain or login, or NULL for the automatic choice)"
                ))
            })?)
        };
    })
}
