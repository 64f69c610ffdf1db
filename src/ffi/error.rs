//! `mailport_result` codes, the `mailport_error` object and its accessors,
//! `mailport_result_str` / `mailport_result_name`.

use std::ffi::{CStr, CString, c_char};

use crate::error::{Error, Kind};
use crate::smtp::reply::Reply;

/// The result of every fallible mailport function. `MAILPORT_OK` (0) is success.
///
/// Values are stable and append-only: a retired code stays reserved. They come in blocks:
/// 1-19 caller misuse, 20-39 network, 40-59 TLS, 60-79 authentication, 80-99 SMTP replies,
/// 100-119 message building, 120-139 OAuth tokens, 199 internal error. Functions that take a code take it
/// as `uint32_t`. `mailport_result_str` gives a sentence for each code and
/// `mailport_result_name` its name; the error object (`mailport_error`) has the details.
///
/// Functions: mailport_result_str, mailport_result_name, mailport_error_code.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mailport_result {
    /// Success.
    MAILPORT_OK = 0,
    /// A required pointer argument was NULL. The error message names the parameter. Fix the
    /// calling code.
    MAILPORT_ERR_NULL_ARGUMENT = 1,
    /// An argument or configuration value was invalid: not UTF-8, a control character or line
    /// break, an unknown mode, a malformed address or URL, an out-of-range number. The message
    /// names the field. Fix the value; retrying unchanged will fail again.
    MAILPORT_ERR_INVALID_ARGUMENT = 2,
    /// The caller's buffer was too small; the text was truncated (and NUL-terminated). `*out_n`
    /// holds the full length: allocate `*out_n + 1` bytes and call again (`*out_n` bytes for
    /// binary output, which has no NUL: `mailport_message_render`).
    MAILPORT_ERR_BUFFER_TOO_SMALL = 3,
    /// The handle cannot be used: an earlier call on it failed internally (see
    /// `MAILPORT_ERR_PANIC`). Free it and create a new one.
    MAILPORT_ERR_INVALID_STATE = 4,
    /// The server's host name could not be resolved. Check the spelling and this machine's DNS.
    MAILPORT_ERR_DNS = 20,
    /// The server refused the TCP connection: nothing listens on that port. Check the port
    /// number (587, 465, 25 or 2525) and that the server is running.
    MAILPORT_ERR_CONNECT_REFUSED = 21,
    /// The network or host is unreachable from here. Check connectivity, routes and IPv6/IPv4.
    MAILPORT_ERR_CONNECT_UNREACHABLE = 22,
    /// The TCP connection timed out. The port is usually blocked by a firewall or the hosting
    /// provider (port 25 often is); try another port.
    MAILPORT_ERR_CONNECT_TIMEOUT = 23,
    /// The server stopped answering within the configured time during the session. Retry later
    /// or raise the command/data timeouts. If its answer to a message sent in full was lost,
    /// the server may have accepted it: the error's message says so, and the message was not
    /// sent again; check whether it arrived before sending it again.
    MAILPORT_ERR_TIMEOUT = 24,
    /// The server closed the connection unexpectedly. Often transient; retry later. If its
    /// answer to a message sent in full was lost, the server may have accepted it: the error's
    /// message says so, and the message was not sent again; check before sending it again.
    MAILPORT_ERR_CONNECTION_CLOSED = 25,
    /// Another input/output error; the message carries the operating system's description.
    MAILPORT_ERR_IO = 26,
    /// The TLS handshake failed for a reason other than the certificate (no common protocol
    /// version or cipher, a broken TLS stack). See the message for the TLS alert.
    MAILPORT_ERR_TLS_HANDSHAKE = 40,
    /// The server's certificate does not chain to a trusted root (self-signed or private CA).
    /// Add the CA with `mailport_config_add_ca_file`/`_add_ca_pem`.
    MAILPORT_ERR_CERT_UNTRUSTED = 41,
    /// The server's certificate has expired or is not yet valid. The server operator must renew
    /// it; also check this machine's clock.
    MAILPORT_ERR_CERT_EXPIRED = 42,
    /// The server's certificate is not valid for the host name connected to. Connect by the name
    /// on the certificate, or set it with `mailport_config_set_tls_server_name`.
    MAILPORT_ERR_CERT_NAME_MISMATCH = 43,
    /// Implicit TLS was used but the server answered in plaintext SMTP: the port expects
    /// STARTTLS (587, 25). Use `MAILPORT_SECURITY_STARTTLS` or port 465.
    MAILPORT_ERR_PLAINTEXT_ON_TLS_PORT = 44,
    /// Plaintext SMTP was used but the server speaks TLS from the first byte (port 465). Use
    /// `MAILPORT_SECURITY_TLS`.
    MAILPORT_ERR_TLS_ON_PLAINTEXT_PORT = 45,
    /// STARTTLS was required but the server does not offer it. Use implicit TLS (port 465) or
    /// ask the server operator to enable STARTTLS.
    MAILPORT_ERR_STARTTLS_UNAVAILABLE = 46,
    /// The server refused STARTTLS or misbehaved around it. See the server reply.
    MAILPORT_ERR_STARTTLS = 47,
    /// Credentials were given but cannot be used on this connection: the server offers no
    /// supported AUTH mechanism, or the connection is not encrypted. See the hint.
    MAILPORT_ERR_AUTH_UNAVAILABLE = 60,
    /// The server rejected the credentials (typically reply 535). Check the user name and
    /// password; many providers require an app password or OAuth2.
    MAILPORT_ERR_AUTH_FAILED = 61,
    /// The server did not greet, sent a malformed greeting, or refused service (554). See the
    /// server reply.
    MAILPORT_ERR_GREETING = 80,
    /// The server refused both EHLO and HELO. Check the HELO name.
    MAILPORT_ERR_EHLO = 81,
    /// The server rejected the envelope sender (MAIL FROM), often because the account may not
    /// send as that address. See the server reply.
    MAILPORT_ERR_MAIL_FROM = 82,
    /// The server rejected one or more recipients; the error lists each address with its reply.
    /// Nothing was sent unless partial delivery was allowed.
    MAILPORT_ERR_RECIPIENTS_REJECTED = 83,
    /// The server refused the DATA command or rejected the message content (spam, policy). See
    /// the server reply.
    MAILPORT_ERR_DATA = 84,
    /// The message is larger than the server accepts (its SIZE limit). Send a smaller message.
    MAILPORT_ERR_MESSAGE_TOO_LARGE = 85,
    /// The server violated the SMTP protocol (malformed or oversized reply). See the transcript.
    MAILPORT_ERR_PROTOCOL = 86,
    /// An address could not be parsed or used: no '@', a bad domain, a display name with a
    /// comma left unquoted, or a non-ASCII local part for a server without SMTPUTF8. The message
    /// names each one; `mailport_error_invalid_address_count` lists them.
    MAILPORT_ERR_INVALID_ADDRESS = 100,
    /// An attachment file is missing or unreadable (found when it is attached, or when sending
    /// starts), or it changed size while being sent (the transfer was abandoned, nothing was
    /// delivered). The message names the path.
    MAILPORT_ERR_ATTACHMENT = 101,
    /// The OAuth token endpoint no longer accepts the refresh token (`invalid_grant`): it
    /// expired unused, was revoked, or belongs to another client id. The user must consent
    /// again (`mailport oauth login`, or the application's own consent flow) and the new refresh
    /// token be configured. Retrying unchanged will fail again.
    MAILPORT_ERR_OAUTH_INVALID_GRANT = 120,
    /// The OAuth token endpoint refused the client id or client secret (`invalid_client`).
    /// Copy them again from the app registration.
    MAILPORT_ERR_OAUTH_INVALID_CLIENT = 121,
    /// The OAuth token endpoint could not be reached or failed (network, TLS, timeout, HTTP 5xx
    /// or 429). Nothing was sent; transient: retry later.
    MAILPORT_ERR_OAUTH_ENDPOINT_UNREACHABLE = 122,
    /// The scope was refused (`invalid_scope`), or the token lacks the scope SMTP needs. Fix the
    /// app registration's permissions or the scope, then consent again.
    MAILPORT_ERR_OAUTH_SCOPE = 123,
    /// The OAuth token endpoint refused the request otherwise, or answered without a token.
    /// See the message for the endpoint's error.
    MAILPORT_ERR_OAUTH_ENDPOINT = 124,
    /// The caller's OAuth token callback failed (`mailport_oauth_token_fail`, a non-zero
    /// return, or no token set). See the message for its reason.
    MAILPORT_ERR_OAUTH_CALLBACK = 125,
    /// A bug in mailport was caught (a Rust panic) before it could reach the caller. The message
    /// says what happened; please report it. A client on which this happened refuses further
    /// use (`MAILPORT_ERR_INVALID_STATE`); free it.
    MAILPORT_ERR_PANIC = 199,
}

use mailport_result::*;

/// Generates everything else about the result codes from one table, `CODE => c"description",`
/// in value order: `mailport_result::ALL`, `from_u32`, `name` (the variant's own spelling, so
/// it cannot be misspelt) and `description`.
///
/// Why the enum above is still written out by hand: cbindgen reads the source and does not
/// expand macros, so an enum made by a macro would vanish from `mailport.h`. (rustls-ffi's
/// `u32_enum_builder!` makes its enum that way and has cbindgen expand it with `parse.expand`,
/// which runs a nightly compiler in a nested cargo build: not something build.rs can do.) The
/// enum and the table cannot drift apart: `name` and `description` are exhaustive matches over
/// the table, so a variant the table lacks does not compile, nor does an entry that is not a
/// variant; `ALL` comes from the same table, so it holds every code.
macro_rules! result_codes {
    ($($code:ident => $description:literal,)*) => {
        impl mailport_result {
            /// Every code, in value order.
            pub(crate) const ALL: [mailport_result; [$(stringify!($code)),*].len()] =
                [$($code),*];

            /// The code with this value, if there is one.
            pub(crate) fn from_u32(value: u32) -> Option<mailport_result> {
                Self::ALL.iter().copied().find(|c| *c as u32 == value)
            }

            /// The C name, e.g. `"MAILPORT_ERR_AUTH_FAILED"`, NUL-terminated.
            pub(crate) fn name(self) -> &'static CStr {
                match self {
                    $($code => const { static_c_str(concat!(stringify!($code), "\0")) },)*
                }
            }

            /// One sentence on what the code means, NUL-terminated.
            pub(crate) fn description(self) -> &'static CStr {
                match self {
                    $($code => $description,)*
                }
            }
        }
    };
}

result_codes! {
    MAILPORT_OK => c"success",
    MAILPORT_ERR_NULL_ARGUMENT => c"a required argument was NULL",
    MAILPORT_ERR_INVALID_ARGUMENT => c"an argument or configuration value was invalid",
    MAILPORT_ERR_BUFFER_TOO_SMALL => c"the buffer was too small; the text was truncated",
    MAILPORT_ERR_INVALID_STATE => c"the handle is unusable after an internal error; free it",
    MAILPORT_ERR_DNS => c"the server's host name could not be resolved",
    MAILPORT_ERR_CONNECT_REFUSED => c"the server refused the connection",
    MAILPORT_ERR_CONNECT_UNREACHABLE => c"the server's network is unreachable",
    MAILPORT_ERR_CONNECT_TIMEOUT =>
        c"connecting timed out (the port is probably blocked by a firewall)",
    MAILPORT_ERR_TIMEOUT => c"the server did not answer in time",
    MAILPORT_ERR_CONNECTION_CLOSED => c"the server closed the connection unexpectedly",
    MAILPORT_ERR_IO => c"an input/output error occurred",
    MAILPORT_ERR_TLS_HANDSHAKE => c"the TLS handshake failed",
    MAILPORT_ERR_CERT_UNTRUSTED => c"the server's certificate is not trusted",
    MAILPORT_ERR_CERT_EXPIRED => c"the server's certificate is expired or not yet valid",
    MAILPORT_ERR_CERT_NAME_MISMATCH => c"the server's certificate does not match the host name",
    MAILPORT_ERR_PLAINTEXT_ON_TLS_PORT =>
        c"implicit TLS was expected but the server answered in plaintext",
    MAILPORT_ERR_TLS_ON_PLAINTEXT_PORT => c"plaintext SMTP was expected but the server speaks TLS",
    MAILPORT_ERR_STARTTLS_UNAVAILABLE => c"STARTTLS is required but the server does not offer it",
    MAILPORT_ERR_STARTTLS => c"the STARTTLS upgrade failed",
    MAILPORT_ERR_AUTH_UNAVAILABLE => c"no acceptable way to authenticate on this connection",
    MAILPORT_ERR_AUTH_FAILED => c"the server rejected the credentials",
    MAILPORT_ERR_GREETING => c"the server's greeting was missing or refused service",
    MAILPORT_ERR_EHLO => c"the server refused EHLO and HELO",
    MAILPORT_ERR_MAIL_FROM => c"the server rejected the sender address",
    MAILPORT_ERR_RECIPIENTS_REJECTED => c"the server rejected one or more recipients",
    MAILPORT_ERR_DATA => c"the server rejected the message",
    MAILPORT_ERR_MESSAGE_TOO_LARGE => c"the message is larger than the server accepts",
    MAILPORT_ERR_PROTOCOL => c"the server violated the SMTP protocol",
    MAILPORT_ERR_INVALID_ADDRESS => c"invalid email address",
    MAILPORT_ERR_ATTACHMENT => c"attachment file missing, unreadable or changed",
    MAILPORT_ERR_OAUTH_INVALID_GRANT =>
        c"the OAuth refresh token expired or was revoked; the user must consent again",
    MAILPORT_ERR_OAUTH_INVALID_CLIENT => c"the OAuth token endpoint refused the client id or secret",
    MAILPORT_ERR_OAUTH_ENDPOINT_UNREACHABLE =>
        c"the OAuth token endpoint could not be reached or failed",
    MAILPORT_ERR_OAUTH_SCOPE => c"the OAuth token lacks the scope SMTP needs",
    MAILPORT_ERR_OAUTH_ENDPOINT => c"the OAuth token endpoint refused the request",
    MAILPORT_ERR_OAUTH_CALLBACK => c"the OAuth token callback failed",
    MAILPORT_ERR_PANIC => c"internal error in mailport (please report it)",
}

/// A `&CStr` from a NUL-terminated literal, checked at compile time (in a `const` block).
const fn static_c_str(text: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(text.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("not a NUL-terminated string without interior NUL"),
    }
}

impl mailport_result {
    /// The code for a core error kind. Exhaustive on purpose: a new kind must get a code here
    /// before the crate compiles.
    pub(crate) fn from_kind(kind: Kind) -> mailport_result {
        match kind {
            Kind::InvalidInput => MAILPORT_ERR_INVALID_ARGUMENT,
            Kind::InvalidAddress => MAILPORT_ERR_INVALID_ADDRESS,
            Kind::Attachment => MAILPORT_ERR_ATTACHMENT,
            Kind::Dns => MAILPORT_ERR_DNS,
            Kind::ConnectRefused => MAILPORT_ERR_CONNECT_REFUSED,
            Kind::ConnectUnreachable => MAILPORT_ERR_CONNECT_UNREACHABLE,
            Kind::ConnectTimeout => MAILPORT_ERR_CONNECT_TIMEOUT,
            Kind::TlsHandshake => MAILPORT_ERR_TLS_HANDSHAKE,
            Kind::CertificateUntrusted => MAILPORT_ERR_CERT_UNTRUSTED,
            Kind::CertificateExpired => MAILPORT_ERR_CERT_EXPIRED,
            Kind::CertificateNameMismatch => MAILPORT_ERR_CERT_NAME_MISMATCH,
            Kind::PlaintextOnTlsPort => MAILPORT_ERR_PLAINTEXT_ON_TLS_PORT,
            Kind::TlsOnPlaintextPort => MAILPORT_ERR_TLS_ON_PLAINTEXT_PORT,
            Kind::Greeting => MAILPORT_ERR_GREETING,
            Kind::Ehlo => MAILPORT_ERR_EHLO,
            Kind::StartTlsUnavailable => MAILPORT_ERR_STARTTLS_UNAVAILABLE,
            Kind::StartTls => MAILPORT_ERR_STARTTLS,
            Kind::AuthUnavailable => MAILPORT_ERR_AUTH_UNAVAILABLE,
            Kind::AuthFailed => MAILPORT_ERR_AUTH_FAILED,
            Kind::MailFrom => MAILPORT_ERR_MAIL_FROM,
            Kind::RecipientsRejected => MAILPORT_ERR_RECIPIENTS_REJECTED,
            Kind::Data => MAILPORT_ERR_DATA,
            Kind::MessageTooLarge => MAILPORT_ERR_MESSAGE_TOO_LARGE,
            Kind::Timeout => MAILPORT_ERR_TIMEOUT,
            Kind::Protocol => MAILPORT_ERR_PROTOCOL,
            Kind::ConnectionClosed => MAILPORT_ERR_CONNECTION_CLOSED,
            Kind::Io => MAILPORT_ERR_IO,
            Kind::OAuthInvalidGrant => MAILPORT_ERR_OAUTH_INVALID_GRANT,
            Kind::OAuthInvalidClient => MAILPORT_ERR_OAUTH_INVALID_CLIENT,
            Kind::OAuthEndpointUnreachable => MAILPORT_ERR_OAUTH_ENDPOINT_UNREACHABLE,
            Kind::OAuthScope => MAILPORT_ERR_OAUTH_SCOPE,
            Kind::OAuthEndpoint => MAILPORT_ERR_OAUTH_ENDPOINT,
            Kind::OAuthCallback => MAILPORT_ERR_OAUTH_CALLBACK,
        }
    }
}

/// A C string made from Rust text; an interior NUL (which C cannot carry) becomes U+FFFD.
pub(crate) fn c_text(text: impl AsRef<str>) -> CString {
    let text = text.as_ref();
    CString::new(text).unwrap_or_else(|_| {
        CString::new(text.replace('\0', "\u{FFFD}")).expect("NUL bytes were replaced")
    })
}

/// The parts of a server reply the C API exposes: code, enhanced status ("5.7.8" or ""), and
/// the reply text verbatim.
pub(crate) fn reply_parts(reply: &Reply) -> (u16, CString, CString) {
    let enhanced = reply.enhanced().map(|e| e.to_string()).unwrap_or_default();
    (reply.code(), c_text(enhanced), c_text(reply.text()))
}

/// A recipient the server refused, as the C API exposes it (shared by errors and receipts).
#[derive(Debug)]
pub(crate) struct RejectedC {
    pub(crate) address: CString,
    pub(crate) reply_code: u16,
    pub(crate) reply: CString,
}

impl RejectedC {
    pub(crate) fn list(rejected: &[crate::error::RejectedRecipient]) -> Vec<RejectedC> {
        rejected
            .iter()
            .map(|r| {
                let (reply_code, _, reply) = reply_parts(&r.reply);
                RejectedC {
                    address: c_text(&r.address),
                    reply_code,
                    reply,
                }
            })
            .collect()
    }
}

/// An address a message could not be built with, as the C API exposes it.
#[derive(Debug)]
pub(crate) struct InvalidAddressC {
    pub(crate) field: CString,
    pub(crate) input: CString,
    pub(crate) reason: CString,
}

impl InvalidAddressC {
    pub(crate) fn list(invalid: &[crate::error::InvalidAddress]) -> Vec<InvalidAddressC> {
        invalid
            .iter()
            .map(|i| InvalidAddressC {
                field: c_text(&i.field),
                input: c_text(&i.input),
                reason: c_text(&i.reason),
            })
            .collect()
    }
}

/// The details of a failed call: code, message, hint, the server's reply, the rejected
/// recipients, the invalid addresses and the transcript up to the failure.
///
/// Created by mailport when a fallible function fails and the caller passed a non-NULL
/// `error_out`; owned by the caller and freed with `mailport_error_free`. Immutable: every
/// accessor may be called from any thread, and the strings it returns are borrowed from the
/// error, never NULL, NUL-terminated UTF-8, and valid until the error is freed.
///
/// Functions: mailport_error_code, mailport_error_message, mailport_error_hint,
/// mailport_error_reply_code, mailport_error_enhanced_status, mailport_error_server_reply,
/// mailport_error_is_transient, mailport_error_outcome_unknown, mailport_error_transcript,
/// mailport_error_rejected_count,
/// mailport_error_rejected_address, mailport_error_rejected_reply_code,
/// mailport_error_rejected_reply, mailport_error_invalid_address_count,
/// mailport_error_invalid_address_field, mailport_error_invalid_address_input,
/// mailport_error_invalid_address_reason, mailport_error_free.
#[derive(Debug)]
pub struct mailport_error {
    code: mailport_result,
    message: CString,
    hint: CString,
    reply_code: u16,
    enhanced_status: CString,
    server_reply: CString,
    transient: bool,
    outcome_unknown: bool,
    transcript: CString,
    // Boxed slices rather than vectors keep the error small: it travels in every `Result` of
    // the boundary (clippy's result_large_err).
    rejected: Box<[RejectedC]>,
    invalid: Box<[InvalidAddressC]>,
}

impl mailport_error {
    /// An error raised by the C layer itself (no server reply, no transcript).
    pub(crate) fn new(code: mailport_result, message: impl AsRef<str>, hint: &str) -> Self {
        mailport_error {
            code,
            message: c_text(message),
            hint: c_text(hint),
            reply_code: 0,
            enhanced_status: CString::default(),
            server_reply: CString::default(),
            transient: false,
            outcome_unknown: false,
            transcript: CString::default(),
            rejected: Box::default(),
            invalid: Box::default(),
        }
    }

    pub(crate) fn null_argument(name: impl std::fmt::Display) -> Self {
        Self::new(
            MAILPORT_ERR_NULL_ARGUMENT,
            format!("{name} must not be NULL"),
            "pass a valid pointer; see the function's documentation for which arguments may be NULL",
        )
    }

    /// A NULL user name, password or token: the value is missing, most often because the
    /// environment variable it was read from (`getenv` returns NULL) is not set.
    pub(crate) fn missing_credential(param: &str, what: &str) -> Self {
        Self::new(
            MAILPORT_ERR_NULL_ARGUMENT,
            format!(
                "the {what} is missing ({param} is NULL): was the environment variable that \
                 should hold it set?"
            ),
            &format!(
                "getenv() returns NULL for a variable that is not set: set it where the program \
                 runs (for a service, in its unit or pool configuration, not only in your shell), \
                 or check for NULL before passing the {what}"
            ),
        )
    }

    pub(crate) fn invalid_argument(message: impl AsRef<str>) -> Self {
        Self::new(MAILPORT_ERR_INVALID_ARGUMENT, message, "")
    }

    /// The caller's buffer could not hold `what`, which is `needed` bytes long.
    pub(crate) fn buffer_too_small(what: &str, needed: usize, len: usize) -> Self {
        Self::new(
            MAILPORT_ERR_BUFFER_TOO_SMALL,
            format!("buf is too small: {what} is {needed} bytes, buf holds {len}"),
            &format!("call again with a buffer of at least {needed} bytes"),
        )
    }

    pub(crate) fn invalid_state() -> Self {
        Self::new(
            MAILPORT_ERR_INVALID_STATE,
            "client is unusable after an internal error; free it",
            "free this client with mailport_client_free and create a new one",
        )
    }

    pub(crate) fn panic(payload: &str) -> Self {
        Self::new(
            MAILPORT_ERR_PANIC,
            format!("internal error in mailport (a Rust panic: {payload}); please report this"),
            "this is a bug in mailport, not in your code or the server: please report it with \
             this message; a client on which it happened must be freed",
        )
    }

    pub(crate) fn code(&self) -> mailport_result {
        self.code
    }

    #[cfg(test)]
    pub(crate) fn message_text(&self) -> &str {
        self.message.to_str().unwrap_or("")
    }
}

impl From<Error> for mailport_error {
    fn from(error: Error) -> mailport_error {
        let (reply_code, enhanced_status, server_reply) = match error.reply() {
            Some(reply) => reply_parts(reply),
            None => (0, CString::default(), CString::default()),
        };
        mailport_error {
            code: mailport_result::from_kind(error.kind()),
            message: c_text(error.message()),
            hint: c_text(error.hint()),
            reply_code,
            enhanced_status,
            server_reply,
            transient: error.is_transient(),
            outcome_unknown: error.outcome_unknown(),
            transcript: c_text(error.transcript()),
            rejected: RejectedC::list(error.rejected_recipients()).into(),
            invalid: InvalidAddressC::list(error.invalid_addresses()).into(),
        }
    }
}

/// Describe a result code in one sentence, e.g. "the server rejected the credentials".
///
/// For log lines and messages when no error object is at hand (curl's `curl_easy_strerror`).
///
/// **Ownership:** the returned string is static: never freed, valid for the life of the process.
///
/// **NULL:** never returns NULL; an unknown code gives "unknown error".
///
/// **Thread safety:** may be called from any thread at any time.
///
/// # Safety
///
/// None: any value is accepted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_result_str(code: u32) -> *const c_char {
    ffi_boundary!({
        mailport_result::from_u32(code)
            .map_or(c"unknown error", mailport_result::description)
            .as_ptr()
    })
}

/// Name a result code, e.g. "MAILPORT_ERR_AUTH_FAILED", so bindings need not mirror the names.
///
/// **Ownership:** the returned string is static: never freed, valid for the life of the process.
///
/// **NULL:** never returns NULL; an unknown code gives "MAILPORT_ERR_UNKNOWN".
///
/// **Thread safety:** may be called from any thread at any time.
///
/// # Safety
///
/// None: any value is accepted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_result_name(code: u32) -> *const c_char {
    ffi_boundary!({
        mailport_result::from_u32(code)
            .map_or(c"MAILPORT_ERR_UNKNOWN", mailport_result::name)
            .as_ptr()
    })
}

/// Return the result code of an error.
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** `err` may be NULL (no error): returns `MAILPORT_OK`.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_code(err: *const mailport_error) -> mailport_result {
    getter!(err, MAILPORT_OK, |e| e.code)
}

/// Return what went wrong, in one line, with the causes appended ("...: caused by: ...").
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_message(err: *const mailport_error) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e.message.as_ptr())
}

/// Return the next step in plain words (e.g. "port 587 looks blocked; try 465"), or "".
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_hint(err: *const mailport_error) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e.hint.as_ptr())
}

/// Return the SMTP reply code that caused the error (e.g. 535), or 0 when no reply did.
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** `err` may be NULL: returns 0.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_reply_code(err: *const mailport_error) -> u16 {
    getter!(err, 0, |e| e.reply_code)
}

/// Return the enhanced status code of the server's reply (RFC 3463, e.g. "5.7.8"), or "".
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_enhanced_status(
    err: *const mailport_error,
) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e.enhanced_status.as_ptr())
}

/// Return the text of the server's reply, verbatim (lines joined by "\n"), or "" without one.
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_server_reply(err: *const mailport_error) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e.server_reply.as_ptr())
}

/// Return whether retrying later, unchanged, may succeed: a 4xx reply, a timeout, a dropped or
/// refused connection. Permanent failures (5xx replies, bad arguments, certificates) give false.
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** `err` may be NULL: returns false.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_is_transient(err: *const mailport_error) -> bool {
    getter!(err, false, |e| e.transient)
}

/// Return whether the whole message went out and the connection failed before the server's
/// final answer (it timed out, or the connection dropped, while mailport waited for it): the
/// server may have accepted it, and sending it again may deliver it twice. mailport never
/// resends such a message by itself; check whether it arrived first. (An outbox resends it with
/// the same Message-ID unless told not to: `mailport_outbox_set_retry_unknown`.)
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** `err` may be NULL: returns false.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_outcome_unknown(err: *const mailport_error) -> bool {
    getter!(err, false, |e| e.outcome_unknown)
}

/// Return the redacted session transcript up to the failure, one line per event ("C: ...",
/// "S: ...", "* ..."), or "" when no session was involved. Credentials and message bodies are
/// never in it (unless bodies were enabled with `mailport_config_set_transcript_bodies`).
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Never returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_transcript(err: *const mailport_error) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e.transcript.as_ptr())
}

/// Return how many recipients the server refused (for `MAILPORT_ERR_RECIPIENTS_REJECTED`).
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** `err` may be NULL: returns 0.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_rejected_count(err: *const mailport_error) -> usize {
    getter!(err, 0, |e| e.rejected.len())
}

/// Return the address of the `index`-th refused recipient (0-based).
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** returns NULL when `err` is NULL or `index` is out of range.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_rejected_address(
    err: *const mailport_error,
    index: usize,
) -> *const c_char {
    getter!(err, std::ptr::null(), |e| e
        .rejected
        .get(index)
        .map_or(std::ptr::null(), |r| r.address.as_ptr()))
}

/// Return the reply code the server gave the `index`-th refused recipient (e.g. 550).
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** returns 0 when `err` is NULL or `index` is out of range.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_rejected_reply_code(
    err: *const mailport_error,
    index: usize,
) -> u16 {
    getter!(err, 0, |e| e
        .rejected
        .get(index)
        .map_or(0, |r| r.reply_code))
}

/// Return the reply text the server gave the `index`-th refused recipient, verbatim.
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** returns NULL when `err` is NULL or `index` is out of range.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_rejected_reply(
    err: *const mailport_error,
    index: usize,
) -> *const c_char {
    getter!(err, std::ptr::null(), |e| e
        .rejected
        .get(index)
        .map_or(std::ptr::null(), |r| r.reply.as_ptr()))
}

/// Return how many addresses a message could not be built with (for
/// `MAILPORT_ERR_INVALID_ADDRESS`): every invalid entry of a list given to one call, or, from
/// `mailport_wp_mail_build`, every invalid address of the whole `wp_mail()` call. 0 when the
/// error is about something else.
///
/// **Ownership:** borrows `err`.
///
/// **NULL:** `err` may be NULL: returns 0.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_invalid_address_count(err: *const mailport_error) -> usize {
    getter!(err, 0, |e| e.invalid.len())
}

/// Return the field the `index`-th invalid address (0-based) was given in: "From", "To", "Cc",
/// "Bcc" or "Reply-To".
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_invalid_address_field(
    err: *const mailport_error,
    index: usize,
) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e
        .invalid
        .get(index)
        .map_or(c"".as_ptr(), |i| i.field.as_ptr()))
}

/// Return the `index`-th invalid address (0-based) as it was given (one entry of a
/// comma-separated list).
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_invalid_address_input(
    err: *const mailport_error,
    index: usize,
) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e
        .invalid
        .get(index)
        .map_or(c"".as_ptr(), |i| i.input.as_ptr()))
}

/// Return why the `index`-th invalid address (0-based) cannot be used, in plain words.
///
/// **Ownership:** borrowed from `err`, valid until `mailport_error_free(err)`.
///
/// **NULL:** `err` may be NULL: returns "". Returns "" when `index` is out of range. Never
/// returns NULL.
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_invalid_address_reason(
    err: *const mailport_error,
    index: usize,
) -> *const c_char {
    getter!(err, c"".as_ptr(), |e| e
        .invalid
        .get(index)
        .map_or(c"".as_ptr(), |i| i.reason.as_ptr()))
}

/// Free an error object.
///
/// **Ownership:** takes back the error; every string borrowed from it becomes invalid.
///
/// **NULL:** `err` may be NULL (nothing happens).
///
/// # Safety
///
/// `err` must be NULL or an error from mailport that has not been freed. Must not be called
/// twice with the same value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mailport_error_free(err: *mut mailport_error) {
    ffi_boundary!({
        if !err.is_null() {
            // SAFETY: the caller passes an error mailport boxed and has not freed yet.
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    fn text(p: *const c_char) -> &'static str {
        assert!(!p.is_null());
        // SAFETY: the pointers under test are static strings.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    #[test]
    fn every_code_has_a_name_and_a_description() {
        let codes = &mailport_result::ALL;
        let mut seen = std::collections::HashSet::new();
        for &code in codes {
            assert!(seen.insert(code as u32), "duplicate value {}", code as u32);
            assert_eq!(mailport_result::from_u32(code as u32), Some(code));
            // SAFETY: any value is accepted.
            let (name, description) = unsafe {
                (
                    mailport_result_name(code as u32),
                    mailport_result_str(code as u32),
                )
            };
            assert_eq!(text(name), format!("{code:?}"));
            let description = text(description);
            assert!(!description.is_empty() && description != "unknown error");
        }
        assert_eq!(seen.len(), 38);
        for unknown in [5, 19, 27, 102, 198, 200, u32::MAX] {
            assert_eq!(mailport_result::from_u32(unknown), None);
            // SAFETY: any value is accepted.
            unsafe {
                assert_eq!(text(mailport_result_str(unknown)), "unknown error");
                assert_eq!(text(mailport_result_name(unknown)), "MAILPORT_ERR_UNKNOWN");
            }
        }
    }

    #[test]
    fn every_kind_maps_to_its_block() {
        use Kind::*;
        for (kind, code) in [
            (InvalidInput, 2),
            (InvalidAddress, 100),
            (Attachment, 101),
            (Dns, 20),
            (ConnectRefused, 21),
            (ConnectUnreachable, 22),
            (ConnectTimeout, 23),
            (Timeout, 24),
            (ConnectionClosed, 25),
            (Io, 26),
            (TlsHandshake, 40),
            (CertificateUntrusted, 41),
            (CertificateExpired, 42),
            (CertificateNameMismatch, 43),
            (PlaintextOnTlsPort, 44),
            (TlsOnPlaintextPort, 45),
            (StartTlsUnavailable, 46),
            (StartTls, 47),
            (AuthUnavailable, 60),
            (AuthFailed, 61),
            (Greeting, 80),
            (Ehlo, 81),
            (MailFrom, 82),
            (RecipientsRejected, 83),
            (Data, 84),
            (MessageTooLarge, 85),
            (Protocol, 86),
            (OAuthInvalidGrant, 120),
            (OAuthInvalidClient, 121),
            (OAuthEndpointUnreachable, 122),
            (OAuthScope, 123),
            (OAuthEndpoint, 124),
            (OAuthCallback, 125),
        ] {
            assert_eq!(mailport_result::from_kind(kind) as u32, code, "{kind:?}");
        }
    }

    #[test]
    fn accessors_on_null_are_neutral() {
        // SAFETY: NULL is documented as allowed for every accessor.
        unsafe {
            let null = ptr::null();
            assert_eq!(mailport_error_code(null), MAILPORT_OK);
            assert_eq!(text(mailport_error_message(null)), "");
            assert_eq!(text(mailport_error_hint(null)), "");
            assert_eq!(mailport_error_reply_code(null), 0);
            assert_eq!(text(mailport_error_enhanced_status(null)), "");
            assert_eq!(text(mailport_error_server_reply(null)), "");
            assert!(!mailport_error_is_transient(null));
            assert!(!mailport_error_outcome_unknown(null));
            assert_eq!(text(mailport_error_transcript(null)), "");
            assert_eq!(mailport_error_rejected_count(null), 0);
            assert!(mailport_error_rejected_address(null, 0).is_null());
            assert_eq!(mailport_error_rejected_reply_code(null, 0), 0);
            assert!(mailport_error_rejected_reply(null, 0).is_null());
            assert_eq!(mailport_error_invalid_address_count(null), 0);
            assert_eq!(text(mailport_error_invalid_address_field(null, 0)), "");
            assert_eq!(text(mailport_error_invalid_address_input(null, 0)), "");
            assert_eq!(text(mailport_error_invalid_address_reason(null, 0)), "");
            mailport_error_free(ptr::null_mut());
        }
    }

    #[test]
    fn core_errors_carry_reply_and_rejections() {
        let reply = Reply::new(550, vec!["no such user".to_string()]);
        let error =
            Error::new(Kind::RecipientsRejected, "recipients rejected").with_rejected(vec![
                crate::error::RejectedRecipient {
                    address: "nobody@example.org".to_string(),
                    reply: reply.clone(),
                },
            ]);
        let err = Box::into_raw(Box::new(mailport_error::from(error)));
        // SAFETY: `err` is a live boxed error until the free at the end.
        unsafe {
            assert_eq!(mailport_error_code(err), MAILPORT_ERR_RECIPIENTS_REJECTED);
            assert_eq!(text(mailport_error_message(err)), "recipients rejected");
            assert_eq!(mailport_error_rejected_count(err), 1);
            assert_eq!(
                text(mailport_error_rejected_address(err, 0)),
                "nobody@example.org"
            );
            assert_eq!(mailport_error_rejected_reply_code(err, 0), 550);
            assert!(text(mailport_error_rejected_reply(err, 0)).contains("no such user"));
            assert!(mailport_error_rejected_address(err, 1).is_null());
            assert!(mailport_error_rejected_reply(err, 1).is_null());
            assert_eq!(mailport_error_rejected_reply_code(err, 1), 0);
            assert!(!mailport_error_is_transient(err));
            mailport_error_free(err);
        }

        let auth = Error::from_reply(
            Kind::AuthFailed,
            "authentication failed",
            Reply::new(
                535,
                vec!["5.7.8 Authentication credentials invalid".to_string()],
            ),
        );
        let err = Box::into_raw(Box::new(mailport_error::from(auth)));
        // SAFETY: as above.
        unsafe {
            assert_eq!(mailport_error_code(err), MAILPORT_ERR_AUTH_FAILED);
            assert_eq!(mailport_error_reply_code(err), 535);
            assert!(text(mailport_error_server_reply(err)).contains("credentials invalid"));
            mailport_error_free(err);
        }
    }

    #[test]
    fn invalid_addresses_are_listed_with_their_field() {
        let error = crate::message::Message::new()
            .add_cc("ok@example.org, not an address, also@bad@example.org")
            .map(drop)
            .unwrap_err();
        let err = Box::into_raw(Box::new(mailport_error::from(error)));
        // SAFETY: `err` is a live boxed error until the free at the end.
        unsafe {
            assert_eq!(mailport_error_code(err), MAILPORT_ERR_INVALID_ADDRESS);
            assert_eq!(mailport_error_invalid_address_count(err), 2);
            for i in 0..2 {
                assert_eq!(text(mailport_error_invalid_address_field(err, i)), "Cc");
                assert!(!text(mailport_error_invalid_address_reason(err, i)).is_empty());
            }
            assert_eq!(
                text(mailport_error_invalid_address_input(err, 0)),
                "not an address"
            );
            assert_eq!(
                text(mailport_error_invalid_address_input(err, 1)),
                "also@bad@example.org"
            );
            assert_eq!(text(mailport_error_invalid_address_field(err, 2)), "");
            assert_eq!(text(mailport_error_invalid_address_input(err, 2)), "");
            assert_eq!(text(mailport_error_invalid_address_reason(err, 2)), "");
            assert_eq!(
                text(mailport_error_invalid_address_field(err, usize::MAX)),
                ""
            );
            // Not about recipients the server refused.
            assert_eq!(mailport_error_rejected_count(err), 0);
            mailport_error_free(err);
        }
    }

    #[test]
    fn interior_nul_is_replaced() {
        assert_eq!(c_text("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }
}
