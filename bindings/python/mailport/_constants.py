"""The header's enums, mirrored. ``tests/test_constants.py`` checks every member against
``include/mailport.h`` in both directions, so the values cannot drift.

A member has the name of its C value without the prefix the class stands for (:func:`c_name`
puts it back): ``ErrorCode.AUTH_FAILED`` is ``MAILPORT_ERR_AUTH_FAILED`` (``ErrorCode.OK`` is
``MAILPORT_OK``), ``Security.TLS`` is ``MAILPORT_SECURITY_TLS``. The PHP binding uses the same
names (``ErrorCode::AUTH_FAILED``, ``Security::TLS``).
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """``enum mailport_result``: the result of every fallible C function (``e.code``)."""

    OK = 0
    NULL_ARGUMENT = 1
    INVALID_ARGUMENT = 2
    BUFFER_TOO_SMALL = 3
    INVALID_STATE = 4
    DNS = 20
    CONNECT_REFUSED = 21
    CONNECT_UNREACHABLE = 22
    CONNECT_TIMEOUT = 23
    TIMEOUT = 24
    CONNECTION_CLOSED = 25
    IO = 26
    TLS_HANDSHAKE = 40
    CERT_UNTRUSTED = 41
    CERT_EXPIRED = 42
    CERT_NAME_MISMATCH = 43
    PLAINTEXT_ON_TLS_PORT = 44
    TLS_ON_PLAINTEXT_PORT = 45
    STARTTLS_UNAVAILABLE = 46
    STARTTLS = 47
    AUTH_UNAVAILABLE = 60
    AUTH_FAILED = 61
    GREETING = 80
    EHLO = 81
    MAIL_FROM = 82
    RECIPIENTS_REJECTED = 83
    DATA = 84
    MESSAGE_TOO_LARGE = 85
    PROTOCOL = 86
    INVALID_ADDRESS = 100
    ATTACHMENT = 101
    OAUTH_INVALID_GRANT = 120
    OAUTH_INVALID_CLIENT = 121
    OAUTH_ENDPOINT_UNREACHABLE = 122
    OAUTH_SCOPE = 123
    OAUTH_ENDPOINT = 124
    OAUTH_CALLBACK = 125
    PANIC = 199


class Security(enum.IntEnum):
    """``enum mailport_security``: how the connection is secured."""

    AUTO = 0
    STARTTLS = 1
    TLS = 2
    OPPORTUNISTIC = 3
    NONE = 4


class LogKind(enum.IntEnum):
    """``enum mailport_log_kind``: what a transcript line passed to a ``log`` callback is."""

    INFO = 0
    SENT = 1
    RECEIVED = 2


class ProbeFlag(enum.IntFlag):
    """``enum mailport_probe_flag``: options of :func:`mailport.probe`."""

    SKIP_AUTH = 1
    ALLOW_RELAY = 2


class WpValue(enum.IntEnum):
    """``enum mailport_wp_value``: the values WordPress's filters may change."""

    FROM_EMAIL = 0
    FROM_NAME = 1
    CONTENT_TYPE = 2
    CHARSET = 3


class AddressField(enum.IntEnum):
    """``enum mailport_address_field``: the header a ``(name, address)`` pair is added to."""

    TO = 1
    CC = 2
    BCC = 3
    REPLY_TO = 4


class OutboxState(enum.IntEnum):
    """``enum mailport_outbox_state``: where an outbox entry stands. ``str()`` gives the name
    the records' JSON uses ("queued", "deferred", ...)."""

    NONE = 0
    QUEUED = 1
    SENDING = 2
    SENT = 3
    DEFERRED = 4
    FAILED = 5
    HELD = 6
    CANCELLED = 7

    def __str__(self) -> str:
        return self.name.lower()


class OutboxEventKind(enum.IntEnum):
    """``enum mailport_outbox_event_kind``: what an :class:`OutboxEvent` is."""

    STATE_CHANGED = 0
    CONNECTION_FAILING = 1
    CONNECTION_RECOVERED = 2

    def __str__(self) -> str:
        return self.name.lower()


class OAuthProvider(enum.IntEnum):
    """``enum mailport_oauth_provider``: whose token endpoint a refresh grant uses
    (``Config(oauth_provider=...)`` takes a member or its name in lower case)."""

    GOOGLE = 1
    MICROSOFT = 2
    CUSTOM = 3

    def __str__(self) -> str:
        return self.name.lower()


#: ``MAILPORT_PORT_AUTO``: choose the port automatically on first use (``Config(port="auto")``).
PORT_AUTO = 0

#: ``MAILPORT_OUTBOX_ID_SIZE``: the bytes of an outbox entry id and its NUL.
OUTBOX_ID_SIZE = 31

#: Python enum -> (C enum type name, member prefix), for the header cross-check.
C_ENUMS = {
    ErrorCode: ("mailport_result", "MAILPORT_ERR_"),
    Security: ("mailport_security", "MAILPORT_SECURITY_"),
    LogKind: ("mailport_log_kind", "MAILPORT_LOG_"),
    ProbeFlag: ("mailport_probe_flag", "MAILPORT_PROBE_"),
    WpValue: ("mailport_wp_value", "MAILPORT_WP_"),
    AddressField: ("mailport_address_field", "MAILPORT_FIELD_"),
    OutboxState: ("mailport_outbox_state", "MAILPORT_OUTBOX_STATE_"),
    OutboxEventKind: ("mailport_outbox_event_kind", "MAILPORT_OUTBOX_EVENT_"),
    OAuthProvider: ("mailport_oauth_provider", "MAILPORT_OAUTH_PROVIDER_"),
}


def c_name(member: enum.Enum) -> str:
    """The header's name of a member: ``MAILPORT_ERR_AUTH_FAILED`` for ``ErrorCode.AUTH_FAILED``."""
    if member is ErrorCode.OK:
        return "MAILPORT_OK"
    return C_ENUMS[type(member)][1] + member.name


#: The words ``Config(security=...)`` accepts.
SECURITY_NAMES = {
    "auto": Security.AUTO,
    "starttls": Security.STARTTLS,
    "tls": Security.TLS,
    "opportunistic": Security.OPPORTUNISTIC,
    "none": Security.NONE,
}


#: The words ``Config(oauth_provider=...)`` accepts.
OAUTH_PROVIDERS = {str(provider): provider for provider in OAuthProvider}

#: The words ``Config(auth_mechanism=...)`` accepts; "auto" is the library's choice from what
#: the server offers (PLAIN then LOGIN for a password, XOAUTH2 then OAUTHBEARER for a token).
AUTH_MECHANISMS = ("auto", "xoauth2", "oauthbearer", "plain", "login")


def security_or_int(value: int):
    try:
        return Security(value)
    except ValueError:
        return value


def outbox_state_or_int(value: int):
    try:
        return OutboxState(value)
    except ValueError:
        return value  # a state newer than this binding
