"""mailport: submit email to an SMTP server, securely by default, with errors that say what to do.

A thin ctypes binding over libmailport's C ABI (``include/mailport.h``)::

    import mailport

    config = mailport.Config(host="smtp.example.com", username="me@example.com", password="…")
    message = (mailport.Message()
               .from_("Me <me@example.com>").to("you@example.org")
               .subject("Hello").text("Hi!").attach_file("report.pdf"))
    with mailport.Client(config) as client:
        receipt = client.send(message)

Every failure raises a :class:`MailportError` subclass with a ``hint``. Handles (Config, Message,
Client, Outbox) free their C object on ``close()``, at the end of a ``with`` block, or when
collected.

:class:`Outbox` keeps messages durable on disk until they are delivered or explained:
``Outbox.open("/var/spool/app", [config]).enqueue(message)`` now, ``outbox.run()`` later.

Thread safety: a Client is used by one thread at a time (calls are serialized by a lock); make
one per thread to send in parallel. Configs and Messages may be read by many threads at once but
not changed meanwhile. An Outbox may be used by several threads at once. Receipts, reports,
outbox records and exceptions are plain immutable Python objects. The
GIL is released during every C call, so a slow server does not stall other threads.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

from . import _ffi
from ._constants import (
    OUTBOX_ID_SIZE,
    PORT_AUTO,
    ErrorCode,
    LogKind,
    OAuthProvider,
    OutboxEventKind,
    OutboxState,
    ProbeFlag,
    Security,
    WpValue,
)
from ._results import (
    OutboxAttempt,
    OutboxEvent,
    OutboxRecipient,
    OutboxRecord,
    OutboxSummary,
)
from .client import Client, Receipt
from .config import Config
from .errors import (
    AttachmentError,
    AuthenticationError,
    CertificateError,
    ConnectError,
    ConnectionClosedError,
    ConnectRefusedError,
    ConnectTimeoutError,
    DnsError,
    GreetingError,
    HandleError,
    InternalError,
    InvalidAddress,
    InvalidAddressError,
    InvalidArgumentError,
    InvalidStateError,
    MailportError,
    MessageRejectedError,
    MessageTooLargeError,
    NetworkError,
    OAuthCallbackError,
    OAuthEndpointError,
    OAuthEndpointUnreachableError,
    OAuthError,
    OAuthInvalidClientError,
    OAuthInvalidGrantError,
    OAuthScopeError,
    ProtocolError,
    RecipientsRejectedError,
    RejectedRecipient,
    SenderRejectedError,
    ServerTimeoutError,
    StartTlsError,
    TlsError,
    TlsModeError,
)
from .message import Message
from .outbox import Outbox
from .probe import Finding, Recommendation, Report, probe
from .wp import WpMail, wp_mail

__version__ = "0.1.0"

#: The ABI generation this binding speaks; the loaded library's is checked at import.
ABI_VERSION = _ffi.ABI_VERSION
#: Where the shared library was loaded from.
LIBRARY_PATH = _ffi.LIBRARY_PATH


def library_version() -> str:
    """The loaded library's version string, e.g. "mailport/0.1.0 rustls/0.23.x ring"."""
    return _ffi.invoke("mailport_version").decode("utf-8", "replace")


def send_mail(
    *,
    from_,
    to,
    subject: str = "",
    text: Optional[str] = None,
    html: Optional[str] = None,
    server: Optional[str] = None,
    host: Optional[str] = None,
    port=None,
    user: Optional[str] = None,
    password: Optional[str] = None,
    cc=None,
    bcc=None,
    reply_to=None,
    headers: Optional[Mapping[str, str]] = None,
    attachments: Iterable = (),
    config: Optional[Config] = None,
    **config_options,
) -> Receipt:
    """Send one message in one call (what ``smtplib.SMTP(...).send_message(...)`` does).

    The server is a URL (``server="smtps://user:pass@smtp.example.com"``), or ``host`` with
    ``port``, ``user`` and ``password``, or a ready ``config``; other keywords (``security``,
    ``ca_file``, timeouts, ...) go to :class:`Config`. The message is ``from_``, ``to`` (and
    ``cc``, ``bcc``, ``reply_to``: an address, a comma-separated list, a ``(name, address)``
    pair, or a list), ``subject``, ``text`` and/or ``html``, ``headers`` (a dict of extra
    headers) and ``attachments`` (paths, or ``(filename, bytes[, content_type])`` tuples).

    Returns the :class:`Receipt`; raises a :class:`MailportError` subclass on failure.
    """
    if sum(x is not None for x in (server, host, config)) != 1:
        raise TypeError("send_mail() needs exactly one of server=, host= or config=")
    credentials = {}
    if user is not None:
        credentials["username"] = user
    if password is not None:
        credentials["password"] = password
    with Message(
        from_=from_,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        subject=subject,
        text=text,
        html=html,
        headers=headers,
        attachments=attachments,
    ) as message:
        if config is not None:
            if credentials or port is not None or config_options:
                raise TypeError("send_mail(config=...) takes no other server settings")
            client = Client(config)
        elif server is not None:
            client = Client(server, port=port, **credentials, **config_options)
        else:
            client = Client(host=host, port=port, **credentials, **config_options)
        with client:
            return client.send(message)


def drain_pool(timeout: float = 5.0) -> int:
    """Say QUIT on every idle session of the persistent pool (``persistent=True`` configs) and
    close it, within ``timeout`` seconds in all: for a worker that is shutting down (an atexit
    handler, a SIGTERM handler, gunicorn's ``worker_exit``, Celery's ``worker_process_shutdown``),
    so servers see a polite end instead of connections cut by the exit.

    Each QUIT waits for its reply at most 2 s and never past ``timeout``; sessions left when the
    time is spent are closed without QUIT, and ``timeout=0`` closes them all at once. Sessions in
    use by an open Client are not touched. In a child of ``fork()`` (multiprocessing's "fork"
    start method), the sessions inherited from the parent are the parent's: they are never
    written to and not counted. Returns how many sessions were closed.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
    if not 0 <= timeout <= 4_294_967:
        raise ValueError(
            f"timeout must be between 0 and 4294967 seconds, not {timeout!r} "
            "(0 closes every idle session at once without QUIT)"
        )
    return _ffi.call_size("mailport_pool_drain", round(timeout * 1000))


__all__ = [
    # handles and results
    "Config",
    "Message",
    "Client",
    "Receipt",
    "probe",
    "Report",
    "Recommendation",
    "Finding",
    "send_mail",
    "drain_pool",
    "wp_mail",
    "WpMail",
    "Outbox",
    "OutboxRecord",
    "OutboxRecipient",
    "OutboxAttempt",
    "OutboxEvent",
    "OutboxSummary",
    # constants
    "ErrorCode",
    "Security",
    "LogKind",
    "ProbeFlag",
    "WpValue",
    "OutboxState",
    "OutboxEventKind",
    "OAuthProvider",
    "PORT_AUTO",
    "OUTBOX_ID_SIZE",
    "ABI_VERSION",
    "LIBRARY_PATH",
    "library_version",
    # exceptions
    "MailportError",
    "HandleError",
    "InvalidArgumentError",
    "InvalidAddressError",
    "InvalidAddress",
    "AttachmentError",
    "ConnectError",
    "DnsError",
    "ConnectRefusedError",
    "ConnectTimeoutError",
    "ServerTimeoutError",
    "ConnectionClosedError",
    "NetworkError",
    "TlsError",
    "CertificateError",
    "TlsModeError",
    "StartTlsError",
    "AuthenticationError",
    "GreetingError",
    "SenderRejectedError",
    "RecipientsRejectedError",
    "RejectedRecipient",
    "MessageRejectedError",
    "MessageTooLargeError",
    "ProtocolError",
    "OAuthError",
    "OAuthInvalidGrantError",
    "OAuthInvalidClientError",
    "OAuthEndpointUnreachableError",
    "OAuthScopeError",
    "OAuthEndpointError",
    "OAuthCallbackError",
    "InternalError",
    "InvalidStateError",
]
