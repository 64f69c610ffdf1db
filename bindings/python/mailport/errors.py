"""Exceptions: one class per kind of failure, each also the built-in exception that fits.

Every exception raised for a failed C call is a :class:`MailportError` carrying what the C error
object said (code, message, hint, the server's reply, the transcript, refused recipients, invalid
addresses); the C object is read and freed at once. ``EXCEPTIONS`` maps each result code to its
class, and a test checks that every code of the header has a class.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

from ._constants import ErrorCode


class RejectedRecipient(NamedTuple):
    """A recipient the server refused: ``(address, reply_code, reply)``."""

    address: str
    reply_code: int
    reply: str


class InvalidAddress(NamedTuple):
    """An address that could not be used: ``(field, input, reason)``; field is "From", "To",
    "Cc", "Bcc" or "Reply-To"."""

    field: str
    input: str
    reason: str


class MailportError(Exception):
    """A mailport call failed.

    Attributes: ``code`` (int, an :class:`ErrorCode`), ``name`` ("MAILPORT_ERR_AUTH_FAILED"),
    ``message`` (one line, causes appended), ``hint`` (the next step in plain words, or ""),
    ``reply_code`` (the SMTP reply that caused it, e.g. 535, or None), ``enhanced_status``
    ("5.7.8" or None), ``server_reply`` (its text, or ""), ``transient`` (whether retrying later
    unchanged may work), ``outcome_unknown`` (the whole message went out and the connection
    failed before the server's answer: it may have been delivered, so check before sending it
    again), ``transcript`` (the redacted session up to the failure, or ""),
    ``rejected`` (list of :class:`RejectedRecipient`) and ``invalid_addresses`` (list of
    :class:`InvalidAddress`).

    ``str(e)`` is the message, followed by ``"\\nhint: "`` and the hint when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        name: str = "",
        hint: str = "",
        reply_code: Optional[int] = None,
        enhanced_status: Optional[str] = None,
        server_reply: str = "",
        transient: bool = False,
        outcome_unknown: bool = False,
        transcript: str = "",
        rejected: Tuple[RejectedRecipient, ...] = (),
        invalid_addresses: Tuple[InvalidAddress, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.name = name
        self.hint = hint
        self.reply_code = reply_code
        self.enhanced_status = enhanced_status
        self.server_reply = server_reply
        self.transient = transient
        self.outcome_unknown = outcome_unknown
        self.transcript = transcript
        self.rejected = list(rejected)
        self.invalid_addresses = list(invalid_addresses)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name or self.code}: {self.message!r})"

    def __reduce__(self):
        # Keyword-only attributes: rebuild from the message and restore the rest (pickle, copy).
        return (_rebuild, (type(self), self.message), dict(self.__dict__))


def _rebuild(cls, message):
    return cls(message)


class HandleError(ValueError):
    """A Config, Message, Client or WpMail was used after ``close()`` (like a closed file)."""


class InvalidArgumentError(MailportError, ValueError):
    """An argument was invalid (not UTF-8, a NUL or line break, an unknown mode, a malformed URL,
    an out-of-range number); the message names it. Codes 1 and 2."""


class InvalidAddressError(InvalidArgumentError):
    """An address could not be parsed or used; ``invalid_addresses`` lists each. Code 100."""


class AttachmentError(MailportError, OSError):
    """An attachment file is missing or unreadable, or changed size while sent. Code 101."""


class ConnectError(MailportError, ConnectionError):
    """The connection could not be made: DNS, refused, unreachable, timed out. Codes 20-23."""


class DnsError(ConnectError):
    """The server's host name could not be resolved. Code 20."""


class ConnectRefusedError(ConnectError, ConnectionRefusedError):
    """Nothing listens on that port. Code 21."""


class ConnectTimeoutError(ConnectError, TimeoutError):
    """The TCP connection timed out: the port is usually filtered. Code 23."""


class ServerTimeoutError(MailportError, TimeoutError):
    """The server stopped answering during the session. Code 24."""


class ConnectionClosedError(MailportError, ConnectionError):
    """The server closed the connection unexpectedly. Code 25."""


class NetworkError(MailportError, OSError):
    """Another input/output error, with the operating system's description. Code 26."""


class TlsError(MailportError):
    """TLS could not be established: handshake, wrong TLS mode, STARTTLS. Codes 40-47."""


class CertificateError(TlsError):
    """The server's certificate is untrusted, expired or for another name. Codes 41-43."""


class TlsModeError(TlsError):
    """The port speaks the other TLS mode (STARTTLS vs implicit TLS). Codes 44, 45."""


class StartTlsError(TlsError):
    """STARTTLS was required but is not offered, or failed. Codes 46, 47."""


class AuthenticationError(MailportError):
    """Authentication failed (535) or cannot be used on this connection. Codes 60, 61."""


class GreetingError(MailportError):
    """The server did not greet, refused service, or refused EHLO and HELO. Codes 80, 81."""


class SenderRejectedError(MailportError):
    """The server rejected the envelope sender (MAIL FROM). Code 82."""


class RecipientsRejectedError(MailportError):
    """The server rejected recipients; ``rejected`` lists each with its reply. Code 83."""


class MessageRejectedError(MailportError):
    """The server refused DATA or the message content. Code 84."""


class MessageTooLargeError(MessageRejectedError):
    """The message exceeds the server's SIZE limit. Code 85."""


class ProtocolError(MailportError):
    """The server violated the SMTP protocol. Code 86."""


class OAuthError(MailportError):
    """Signing in with OAuth 2.0 failed before the SMTP server was asked: the token endpoint or
    the ``oauth_token_callback`` gave no usable access token. Codes 120-125. (A token the SMTP
    server itself refuses is an :class:`AuthenticationError`.)"""


class OAuthInvalidGrantError(OAuthError):
    """The token endpoint no longer accepts the refresh token (``invalid_grant``): it expired
    unused, was revoked, or belongs to another client id. The user must consent again (the
    hint says how) and the new refresh token be given as ``oauth_refresh_token=``. Code 120."""


class OAuthInvalidClientError(OAuthError):
    """The token endpoint refused ``oauth_client_id=`` or ``oauth_client_secret=``
    (``invalid_client``). Code 121."""


class OAuthEndpointUnreachableError(OAuthError, ConnectionError):
    """The token endpoint could not be reached or failed (network, TLS, timeout, HTTP 5xx or
    429). Nothing was sent; ``transient`` is True: retry later. Code 122."""


class OAuthScopeError(OAuthError):
    """The scope was refused (``invalid_scope``), or the token lacks the scope SMTP needs.
    Code 123."""


class OAuthEndpointError(OAuthError):
    """The token endpoint refused the request otherwise, or answered without a token; the
    message has the endpoint's error. Code 124."""


class OAuthCallbackError(OAuthError):
    """The ``oauth_token_callback`` gave no token: it raised (the exception is this one's
    ``__cause__`` when raised in this thread), or returned something that is not a token.
    Code 125."""


class InternalError(MailportError, RuntimeError):
    """A bug in mailport was caught (a Rust panic). Please report it. Code 199."""


class InvalidStateError(InternalError):
    """The client is unusable after an internal error: close it and make a new one. Code 4."""


E = ErrorCode
#: result code -> exception class. Codes missing here (none, today) raise MailportError.
EXCEPTIONS = {
    E.NULL_ARGUMENT: InvalidArgumentError,
    E.INVALID_ARGUMENT: InvalidArgumentError,
    E.BUFFER_TOO_SMALL: InternalError,  # the binding sizes its buffers; seeing it is a bug
    E.INVALID_STATE: InvalidStateError,
    E.DNS: DnsError,
    E.CONNECT_REFUSED: ConnectRefusedError,
    E.CONNECT_UNREACHABLE: ConnectError,
    E.CONNECT_TIMEOUT: ConnectTimeoutError,
    E.TIMEOUT: ServerTimeoutError,
    E.CONNECTION_CLOSED: ConnectionClosedError,
    E.IO: NetworkError,
    E.TLS_HANDSHAKE: TlsError,
    E.CERT_UNTRUSTED: CertificateError,
    E.CERT_EXPIRED: CertificateError,
    E.CERT_NAME_MISMATCH: CertificateError,
    E.PLAINTEXT_ON_TLS_PORT: TlsModeError,
    E.TLS_ON_PLAINTEXT_PORT: TlsModeError,
    E.STARTTLS_UNAVAILABLE: StartTlsError,
    E.STARTTLS: StartTlsError,
    E.AUTH_UNAVAILABLE: AuthenticationError,
    E.AUTH_FAILED: AuthenticationError,
    E.GREETING: GreetingError,
    E.EHLO: GreetingError,
    E.MAIL_FROM: SenderRejectedError,
    E.RECIPIENTS_REJECTED: RecipientsRejectedError,
    E.DATA: MessageRejectedError,
    E.MESSAGE_TOO_LARGE: MessageTooLargeError,
    E.PROTOCOL: ProtocolError,
    E.INVALID_ADDRESS: InvalidAddressError,
    E.ATTACHMENT: AttachmentError,
    E.OAUTH_INVALID_GRANT: OAuthInvalidGrantError,
    E.OAUTH_INVALID_CLIENT: OAuthInvalidClientError,
    E.OAUTH_ENDPOINT_UNREACHABLE: OAuthEndpointUnreachableError,
    E.OAUTH_SCOPE: OAuthScopeError,
    E.OAUTH_ENDPOINT: OAuthEndpointError,
    E.OAUTH_CALLBACK: OAuthCallbackError,
    E.PANIC: InternalError,
}
del E


def exception_class(code: int) -> type:
    return EXCEPTIONS.get(code, MailportError)
