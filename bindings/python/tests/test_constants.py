"""The mirrored constants against include/mailport.h, and the code -> exception mapping."""

from __future__ import annotations

import re

import pytest

import mailport
from mailport import _constants, _ffi
from mailport.errors import EXCEPTIONS


def header_enums(header: str) -> dict:
    """enum type name -> {MEMBER_NAME: value}, for every ``typedef enum`` of the header."""
    enums = {}
    for m in re.finditer(r"typedef enum (\w+) \{(.*?)\} \1;", header, re.S):
        body = re.sub(r"/\*.*?\*/", "", m.group(2), flags=re.S)
        members = dict(
            (name, int(value)) for name, value in re.findall(r"\b(MAILPORT_\w+)\s*=\s*(\d+)", body)
        )
        enums[m.group(1)] = members
    return enums


def test_every_header_enum_is_mirrored(header_text):
    enums = header_enums(header_text)
    mirrored = {c_name for c_name, _ in _constants.C_ENUMS.values()} | {
        "mailport_port",
        "mailport_outbox_id_size",
    }
    assert set(enums) == mirrored, f"enums in the header: {sorted(enums)}"


@pytest.mark.parametrize("py_enum", list(_constants.C_ENUMS), ids=lambda e: e.__name__)
def test_enum_members_match_the_header_both_ways(header_text, py_enum):
    c_name, _ = _constants.C_ENUMS[py_enum]
    in_header = header_enums(header_text)[c_name]
    in_python = {_constants.c_name(member): int(member) for member in py_enum}
    assert in_python == in_header


def test_port_auto(header_text):
    assert header_enums(header_text)["mailport_port"] == {"MAILPORT_PORT_AUTO": mailport.PORT_AUTO}


def test_outbox_id_size(header_text):
    assert header_enums(header_text)["mailport_outbox_id_size"] == {
        "MAILPORT_OUTBOX_ID_SIZE": mailport.OUTBOX_ID_SIZE
    }


def test_result_names_come_from_the_library(header_text):
    for name, value in header_enums(header_text)["mailport_result"].items():
        assert _ffi.result_name(value) == name
        assert _ffi.result_str(value)


def test_every_error_code_has_its_own_exception_class():
    for code in mailport.ErrorCode:
        if code == mailport.ErrorCode.OK:
            continue
        cls = EXCEPTIONS.get(code)
        assert cls is not None, f"{code.name} has no exception class"
        assert issubclass(cls, mailport.MailportError)
        assert cls is not mailport.MailportError, code.name


@pytest.mark.parametrize(
    "code, classes",
    [
        ("NULL_ARGUMENT", (mailport.InvalidArgumentError, ValueError)),
        ("INVALID_ARGUMENT", (mailport.InvalidArgumentError, ValueError)),
        (
            "INVALID_ADDRESS",
            (mailport.InvalidAddressError, mailport.InvalidArgumentError, ValueError),
        ),
        ("ATTACHMENT", (mailport.AttachmentError, OSError)),
        ("DNS", (mailport.ConnectError, ConnectionError)),
        ("CONNECT_REFUSED", (mailport.ConnectError, ConnectionRefusedError)),
        ("CONNECT_UNREACHABLE", (mailport.ConnectError, ConnectionError)),
        (
            "CONNECT_TIMEOUT",
            (mailport.ConnectTimeoutError, mailport.ConnectError, TimeoutError),
        ),
        ("TIMEOUT", (mailport.ServerTimeoutError, TimeoutError)),
        ("CONNECTION_CLOSED", (mailport.ConnectionClosedError, ConnectionError)),
        ("IO", (mailport.NetworkError, OSError)),
        ("TLS_HANDSHAKE", (mailport.TlsError,)),
        ("CERT_UNTRUSTED", (mailport.CertificateError, mailport.TlsError)),
        ("CERT_EXPIRED", (mailport.CertificateError,)),
        ("CERT_NAME_MISMATCH", (mailport.CertificateError,)),
        ("PLAINTEXT_ON_TLS_PORT", (mailport.TlsModeError, mailport.TlsError)),
        ("STARTTLS_UNAVAILABLE", (mailport.StartTlsError, mailport.TlsError)),
        ("AUTH_FAILED", (mailport.AuthenticationError,)),
        ("AUTH_UNAVAILABLE", (mailport.AuthenticationError,)),
        ("GREETING", (mailport.GreetingError,)),
        ("MAIL_FROM", (mailport.SenderRejectedError,)),
        ("RECIPIENTS_REJECTED", (mailport.RecipientsRejectedError,)),
        ("DATA", (mailport.MessageRejectedError,)),
        ("MESSAGE_TOO_LARGE", (mailport.MessageTooLargeError, mailport.MessageRejectedError)),
        ("PROTOCOL", (mailport.ProtocolError,)),
        ("OAUTH_INVALID_GRANT", (mailport.OAuthInvalidGrantError, mailport.OAuthError)),
        ("OAUTH_INVALID_CLIENT", (mailport.OAuthInvalidClientError, mailport.OAuthError)),
        (
            "OAUTH_ENDPOINT_UNREACHABLE",
            (mailport.OAuthEndpointUnreachableError, mailport.OAuthError, ConnectionError),
        ),
        ("OAUTH_SCOPE", (mailport.OAuthScopeError, mailport.OAuthError)),
        ("OAUTH_ENDPOINT", (mailport.OAuthEndpointError, mailport.OAuthError)),
        ("OAUTH_CALLBACK", (mailport.OAuthCallbackError, mailport.OAuthError)),
        ("PANIC", (mailport.InternalError, RuntimeError)),
        ("INVALID_STATE", (mailport.InternalError,)),
    ],
)
def test_exception_classes_inherit_the_fitting_builtins(code, classes):
    error = _ffi.error_from_code(mailport.ErrorCode[code])
    for cls in classes:
        assert isinstance(error, cls), f"{code}: not a {cls.__name__}"
    assert error.code == mailport.ErrorCode[code]
    assert error.name == "MAILPORT_ERR_" + code
    assert str(error)  # the library's sentence for the code
    assert not isinstance(error, mailport.HandleError)


def test_error_str_repr_and_pickle():
    import pickle

    error = mailport.AuthenticationError(
        "the server rejected the credentials",
        code=61,
        name="MAILPORT_ERR_AUTH_FAILED",
        hint="check the password",
        reply_code=535,
    )
    assert str(error) == "the server rejected the credentials\nhint: check the password"
    assert "AuthenticationError" in repr(error) and "MAILPORT_ERR_AUTH_FAILED" in repr(error)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is mailport.AuthenticationError
    assert (again.reply_code, again.hint, str(again)) == (535, "check the password", str(error))
    assert str(mailport.MailportError("no hint")) == "no hint"
    # OSError-derived classes keep the message as their str, not "[Errno ...]".
    assert str(mailport.ConnectRefusedError("refused", code=21)) == "refused"
