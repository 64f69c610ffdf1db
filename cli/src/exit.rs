//! Exit statuses: which phase failed, so scripts can react without parsing text.

use std::process::ExitCode;

use mailport::Kind;

/// Printed at the end of `--help`.
pub const HELP: &str = "\
Exit status:
  0   success (check: some port works)
  1   unexpected internal error
  2   usage error: a bad flag or argument
  3   invalid input, refused before anything was sent: an address, header, file or
      option, or a password that could not be read (--password-env VAR not set, or
      no terminal to ask on)
  4   connection: the host name did not resolve, the port refused or timed out, or
      no port worked; or the OAuth token endpoint could not be reached
  5   TLS: the handshake failed; the certificate is untrusted, expired or for
      another name; TLS mode mismatch; STARTTLS missing or refused
  6   authentication: no usable AUTH, or the credentials were refused; or the
      OAuth token endpoint refused the refresh token (sign in again with
      `mailport oauth login`), the client or the scope
  7   the server refused the sender (MAIL FROM)
  8   the server refused one or more recipients (RCPT TO)
  9   the server refused the message (DATA, size limit)
  10  the server stopped answering, closed the connection, or broke the protocol
  11  check: no port works (check exits with 0, 2, 3, 11, or 6 when the test
      refresh of an OAuth refresh token failed)
  12  outbox: the spool directory or database cannot be opened, read or written
  13  outbox: there is no entry with that ID
  14  outbox: the entry's state does not allow it (retry of a sent or cancelled
      entry, cancel of a finished one, an entry being sent right now)
  outbox run exits 0 once its passes are done (or, with --watch, when stopped by
  SIGINT or SIGTERM), whatever became of each message: the summary says.
  With --oauth-refresh-token-file, a rotated refresh token that could not be
  written back makes send, check and outbox run exit 3 (the mail may have gone).";

/// The exit status for a failed operation of this kind.
pub fn for_kind(kind: Kind) -> ExitCode {
    ExitCode::from(match kind {
        Kind::InvalidInput | Kind::InvalidAddress | Kind::Attachment => 3,
        Kind::Dns | Kind::ConnectRefused | Kind::ConnectUnreachable | Kind::ConnectTimeout => 4,
        Kind::TlsHandshake
        | Kind::CertificateUntrusted
        | Kind::CertificateExpired
        | Kind::CertificateNameMismatch
        | Kind::PlaintextOnTlsPort
        | Kind::TlsOnPlaintextPort
        | Kind::StartTlsUnavailable
        | Kind::StartTls => 5,
        Kind::AuthUnavailable
        | Kind::AuthFailed
        | Kind::OAuthInvalidGrant
        | Kind::OAuthInvalidClient
        | Kind::OAuthScope
        | Kind::OAuthEndpoint
        | Kind::OAuthCallback => 6,
        Kind::OAuthEndpointUnreachable => 4,
        Kind::MailFrom => 7,
        Kind::RecipientsRejected => 8,
        Kind::Data | Kind::MessageTooLarge => 9,
        Kind::Greeting
        | Kind::Ehlo
        | Kind::Timeout
        | Kind::Protocol
        | Kind::ConnectionClosed
        | Kind::Io => 10,
        _ => 1,
    })
}

/// Status 11: the connection check found no working port.
pub const NO_PORT_WORKS: u8 = 11;
/// Status 6: the connection check's OAuth refresh failed.
pub const OAUTH_REFRESH_FAILED: u8 = 6;
/// Status 3, for input errors found by the command line itself.
pub const INVALID_INPUT: u8 = 3;
/// Status 12: the outbox's store cannot be opened, read or written.
pub const OUTBOX_STORE: u8 = 12;
/// Status 13: no outbox entry with the ID given.
pub const NO_SUCH_ENTRY: u8 = 13;
/// Status 14: the entry's state does not allow the change asked for.
pub const ENTRY_STATE: u8 = 14;
/// Status 2, for usage errors found after clap's parsing (e.g. two flags that disagree).
pub const USAGE: u8 = 2;
