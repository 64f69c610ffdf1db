"""The header's enums, mirrored. ``tests/test_constants.py`` checks every member against
``include/mailport.h`` in both directions, so the values cannot drift.

The C name of a member is ``MAILPORT_`` + the class's prefix + the member's name:
``ErrorCode.ERR_AUTH_FAILED`` is ``MAILPORT_ERR_AUTH_FAILED``, ``Security.TLS`` is
``MAILPORT_SECURITY_TLS``.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """``enum mailport_result``: the result of every fallible C function (``e.code``)."""

    OK = 0
    ERR_NULL_ARGUMENT = 1
    ERR_INVALID_ARGUMENT = 2
    ERR_BUFFER_TOO_SMALL = 3
    ERR_INVALID_STATE = 4
    ERR_DNS = 20
    ERR_CONNECT_REFUSED = 21
    ERR_CONNECT_UNREACHABLE = 22
    ERR_CONNECT_TIMEOUT = 23
    ERR_TIMEOUT = 24
    ERR_CONNECTION_CLOSED = 25
    ERR_IO = 26
    ERR_TLS_HANDSHAKE = 40
    ERR_CERT_UNTRUSTED = 41
    ERR_CERT_EXPIRED = 42
    ERR_CERT_NAME_MISMATCH = 43
    ERR_PLAINTEXT_ON_TLS_PORT = 44
    ERR_TLS_ON_PLAINTEXT_PORT = 45
    ERR_STARTTLS_UNAVAILABLE = 46
    ERR_STARTTLS = 47
    ERR_AUTH_UNAVAILABLE = 60
    ERR_AUTH_FAILED = 61
    ERR_GREETING = 80
    ERR_EHLO = 81
    ERR_MAIL_FROM = 82
    ERR_RECIPIENTS_REJECTED = 83
    ERR_DATA = 84
    ERR_MESSAGE_TOO_LARGE = 85
    ERR_PROTOCOL = 86
    ERR_INVALID_ADDRESS = 100
    ERR_ATTACHMENT = 101
    ERR_PANIC = 199


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


#: ``MAILPORT_PORT_AUTO``: choose the port automatically on first use (``Config(port="auto")``).
PORT_AUTO = 0

#: Python enum -> (C enum type name, member prefix), for the header cross-check.
C_ENUMS = {
    ErrorCode: ("mailport_result", "MAILPORT_"),
    Security: ("mailport_security", "MAILPORT_SECURITY_"),
    LogKind: ("mailport_log_kind", "MAILPORT_LOG_"),
    ProbeFlag: ("mailport_probe_flag", "MAILPORT_PROBE_"),
    WpValue: ("mailport_wp_value", "MAILPORT_WP_"),
    AddressField: ("mailport_address_field", "MAILPORT_FIELD_"),
}

#: The words ``Config(security=...)`` accepts.
SECURITY_NAMES = {
    "auto": Security.AUTO,
    "starttls": Security.STARTTLS,
    "tls": Security.TLS,
    "opportunistic": Security.OPPORTUNISTIC,
    "none": Security.NONE,
}


def security_or_int(value: int):
    try:
        return Security(value)
    except ValueError:
        return value
