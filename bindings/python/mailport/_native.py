"""The only module that touches the shared library: finding it, checking its ABI version, and
declaring every C function of ``include/mailport.h`` (argtypes and restype).

Nothing here is public API. ``lib`` is the loaded ``ctypes.CDLL``; ``FUNCTIONS`` is the declaration
table that ``tests/test_header.py`` compares with the header, name by name and type by type.

Search order (the first library that loads wins):

1. ``$MAILPORT_LIBRARY``, an exact path. When it is set nothing else is tried: a library you named
   that does not load is an error, not a reason to pick another one.
2. Beside this package (a wheel that bundles ``libmailport.so``).
3. When this package is ``bindings/python/mailport`` of a mailport checkout, that checkout's
   ``target/release/libmailport.so`` and ``target/debug/libmailport.so``, the newer first (where
   ``cargo build`` ran). No other ``target/`` directory is looked at.
4. The system loader: ``ctypes.util.find_library("mailport")``, then the SONAME
   ``libmailport.so.1`` and ``libmailport.so`` (``LD_LIBRARY_PATH``, ``ldconfig``).

``ImportError`` lists every path tried and why each failed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_bool,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

#: The ABI generation this binding was written for (``MAILPORT_ABI_VERSION`` in the header).
ABI_VERSION = 1

#: The environment variable naming the exact path of the library to load.
ENV_VAR = "MAILPORT_LIBRARY"


# Opaque handle types: distinct classes so that a config can never be passed where a client is
# expected (ctypes checks POINTER types), as wasmtime-py does.
class Config(ctypes.Structure):
    pass


class Client(ctypes.Structure):
    pass


class Error(ctypes.Structure):
    pass


class Message(ctypes.Structure):
    pass


class ProbeOptions(ctypes.Structure):
    pass


class Receipt(ctypes.Structure):
    pass


class Report(ctypes.Structure):
    pass


class WpMail(ctypes.Structure):
    pass


P = POINTER
ERR = P(P(Error))  # mailport_error **error_out, the last parameter of every fallible function
RESULT = c_int  # enum mailport_result (a plain C enum: int-sized)

#: ``typedef void (*mailport_log_callback)(void *userdata, uint32_t kind, const char *text,
#: size_t len)``; ``text`` is taken as a raw pointer and read with ``ctypes.string_at(text, len)``.
LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_uint32, c_void_p, c_size_t)

# Conventions for the table:
#   const char *  (input, NUL-terminated)  -> c_char_p (bytes or None)
#   const char *  (borrowed output)        -> c_char_p (ctypes copies it into bytes at once)
#   char *        (owned output)           -> c_void_p (an address, freed by mailport_string_free)
#   char * / uint8_t *  (caller's buffer)  -> P(c_char) (a ctypes.create_string_buffer)
#   const void *        (bytes + length)   -> c_char_p (bytes; NUL bytes allowed, the length says)
#: name -> (restype, argtypes)
FUNCTIONS = {
    # library
    "mailport_version": (c_char_p, []),
    "mailport_abi_version": (c_uint32, []),
    "mailport_string_free": (None, [c_void_p]),
    "mailport_result_str": (c_char_p, [c_uint32]),
    "mailport_result_name": (c_char_p, [c_uint32]),
    # error
    "mailport_error_code": (RESULT, [P(Error)]),
    "mailport_error_message": (c_char_p, [P(Error)]),
    "mailport_error_hint": (c_char_p, [P(Error)]),
    "mailport_error_reply_code": (c_uint16, [P(Error)]),
    "mailport_error_enhanced_status": (c_char_p, [P(Error)]),
    "mailport_error_server_reply": (c_char_p, [P(Error)]),
    "mailport_error_is_transient": (c_bool, [P(Error)]),
    "mailport_error_transcript": (c_char_p, [P(Error)]),
    "mailport_error_rejected_count": (c_size_t, [P(Error)]),
    "mailport_error_rejected_address": (c_char_p, [P(Error), c_size_t]),
    "mailport_error_rejected_reply_code": (c_uint16, [P(Error), c_size_t]),
    "mailport_error_rejected_reply": (c_char_p, [P(Error), c_size_t]),
    "mailport_error_invalid_address_count": (c_size_t, [P(Error)]),
    "mailport_error_invalid_address_field": (c_char_p, [P(Error), c_size_t]),
    "mailport_error_invalid_address_input": (c_char_p, [P(Error), c_size_t]),
    "mailport_error_invalid_address_reason": (c_char_p, [P(Error), c_size_t]),
    "mailport_error_free": (None, [P(Error)]),
    # config
    "mailport_config_new": (P(Config), []),
    "mailport_config_from_url": (RESULT, [c_char_p, P(P(Config)), ERR]),
    "mailport_config_free": (None, [P(Config)]),
    "mailport_config_set_host": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_port": (RESULT, [P(Config), c_uint32, ERR]),
    "mailport_config_set_security": (RESULT, [P(Config), c_uint32, ERR]),
    "mailport_config_set_credentials": (RESULT, [P(Config), c_char_p, c_char_p, ERR]),
    "mailport_config_set_password": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_oauth2_token": (RESULT, [P(Config), c_char_p, c_char_p, ERR]),
    "mailport_config_set_helo_name": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_connect_timeout_ms": (RESULT, [P(Config), c_uint64, ERR]),
    "mailport_config_set_command_timeout_ms": (RESULT, [P(Config), c_uint64, ERR]),
    "mailport_config_set_data_timeout_ms": (RESULT, [P(Config), c_uint64, ERR]),
    "mailport_config_set_send_timeout_ms": (RESULT, [P(Config), c_uint64, ERR]),
    "mailport_config_add_ca_file": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_add_ca_pem": (RESULT, [P(Config), c_char_p, c_size_t, ERR]),
    "mailport_config_set_webpki_roots": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_system_roots": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_tls_server_name": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_dangerous_accept_invalid_certs": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_dangerous_allow_plaintext_auth": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_allow_partial_recipients": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_allow_relay": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_persistent": (RESULT, [P(Config), c_bool, c_uint32, ERR]),
    "mailport_config_set_transcript_bodies": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_log_callback": (RESULT, [P(Config), LOG_CALLBACK, c_void_p, ERR]),
    # message
    "mailport_message_new": (P(Message), []),
    "mailport_message_clone": (RESULT, [P(Message), P(P(Message)), ERR]),
    "mailport_message_free": (None, [P(Message)]),
    "mailport_message_set_from": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_set_from_parts": (RESULT, [P(Message), c_char_p, c_char_p, ERR]),
    "mailport_message_set_sender": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_add_reply_to": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_add_to": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_add_cc": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_add_bcc": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_add_mailbox_parts": (
        RESULT,
        [P(Message), c_uint32, c_char_p, c_char_p, ERR],
    ),
    "mailport_message_set_envelope_from": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_set_subject": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_set_date": (RESULT, [P(Message), c_int64, ERR]),
    "mailport_message_set_message_id": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_add_header": (RESULT, [P(Message), c_char_p, c_char_p, ERR]),
    "mailport_message_remove_header": (c_size_t, [P(Message), c_char_p]),
    "mailport_message_set_text": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_set_text_as": (RESULT, [P(Message), c_char_p, c_char_p, ERR]),
    "mailport_message_set_html": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_set_mime_body": (RESULT, [P(Message), c_char_p, c_char_p, c_size_t, ERR]),
    "mailport_message_set_charset": (RESULT, [P(Message), c_char_p, ERR]),
    "mailport_message_attach_file": (RESULT, [P(Message), c_char_p, c_char_p, c_char_p, ERR]),
    "mailport_message_attach_bytes": (
        RESULT,
        [P(Message), c_char_p, c_char_p, c_char_p, c_size_t, ERR],
    ),
    "mailport_message_embed_file": (RESULT, [P(Message), c_char_p, c_char_p, c_char_p, ERR]),
    "mailport_message_embed_bytes": (
        RESULT,
        [P(Message), c_char_p, c_char_p, c_char_p, c_char_p, c_size_t, ERR],
    ),
    "mailport_message_render": (RESULT, [P(Message), P(c_char), c_size_t, P(c_size_t), ERR]),
    # wp_mail
    "mailport_wp_mail_new": (P(WpMail), []),
    "mailport_wp_mail_free": (None, [P(WpMail)]),
    "mailport_wp_mail_add_to": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_set_subject": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_set_message": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_add_header": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_add_headers": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_add_attachment": (RESULT, [P(WpMail), c_char_p, c_char_p, ERR]),
    "mailport_wp_mail_add_embed": (RESULT, [P(WpMail), c_char_p, c_char_p, ERR]),
    "mailport_wp_mail_set_site_domain": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_set_default_from": (RESULT, [P(WpMail), c_char_p, c_char_p, ERR]),
    "mailport_wp_mail_set_default_charset": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_set_default_content_type": (RESULT, [P(WpMail), c_char_p, ERR]),
    "mailport_wp_mail_parsed_value": (
        RESULT,
        [P(WpMail), c_uint32, P(c_char), c_size_t, P(c_size_t), ERR],
    ),
    "mailport_wp_mail_override": (RESULT, [P(WpMail), c_uint32, c_char_p, ERR]),
    "mailport_wp_mail_build": (RESULT, [P(WpMail), P(P(Message)), ERR]),
    # client
    "mailport_client_new": (RESULT, [P(Config), P(P(Client)), ERR]),
    "mailport_client_send": (RESULT, [P(Client), P(Message), P(P(Receipt)), ERR]),
    "mailport_client_send_raw": (
        RESULT,
        [P(Client), c_char_p, P(c_char_p), c_size_t, c_char_p, c_size_t, P(P(Receipt)), ERR],
    ),
    "mailport_client_noop": (RESULT, [P(Client), ERR]),
    "mailport_client_reset": (RESULT, [P(Client), ERR]),
    "mailport_client_close": (RESULT, [P(Client), ERR]),
    "mailport_client_port": (c_uint16, [P(Client)]),
    "mailport_client_transcript": (RESULT, [P(Client), P(c_char), c_size_t, P(c_size_t)]),
    "mailport_client_transcript_copy": (c_void_p, [P(Client)]),
    "mailport_client_free": (None, [P(Client)]),
    # receipt
    "mailport_receipt_reply_code": (c_uint16, [P(Receipt)]),
    "mailport_receipt_enhanced_status": (c_char_p, [P(Receipt)]),
    "mailport_receipt_server_reply": (c_char_p, [P(Receipt)]),
    "mailport_receipt_accepted_count": (c_size_t, [P(Receipt)]),
    "mailport_receipt_accepted": (c_char_p, [P(Receipt), c_size_t]),
    "mailport_receipt_rejected_count": (c_size_t, [P(Receipt)]),
    "mailport_receipt_rejected_address": (c_char_p, [P(Receipt), c_size_t]),
    "mailport_receipt_rejected_reply_code": (c_uint16, [P(Receipt), c_size_t]),
    "mailport_receipt_rejected_reply": (c_char_p, [P(Receipt), c_size_t]),
    "mailport_receipt_port": (c_uint16, [P(Receipt)]),
    "mailport_receipt_security": (c_uint32, [P(Receipt)]),
    "mailport_receipt_tls_version": (c_char_p, [P(Receipt)]),
    "mailport_receipt_tls_cipher": (c_char_p, [P(Receipt)]),
    "mailport_receipt_tls_resumed": (c_bool, [P(Receipt)]),
    "mailport_receipt_size": (c_uint64, [P(Receipt)]),
    "mailport_receipt_message_id": (c_char_p, [P(Receipt)]),
    "mailport_receipt_free": (None, [P(Receipt)]),
    # probe
    "mailport_probe_options_new": (P(ProbeOptions), []),
    "mailport_probe_options_free": (None, [P(ProbeOptions)]),
    "mailport_probe_options_set_ports": (RESULT, [P(ProbeOptions), P(c_uint16), c_size_t, ERR]),
    "mailport_probe_options_set_deadline_ms": (RESULT, [P(ProbeOptions), c_uint32, ERR]),
    "mailport_probe_options_set_greeting_wait_ms": (RESULT, [P(ProbeOptions), c_uint32, ERR]),
    "mailport_probe_options_set_flags": (RESULT, [P(ProbeOptions), c_uint32, ERR]),
    "mailport_probe_options_set_envelope": (RESULT, [P(ProbeOptions), c_char_p, c_char_p, ERR]),
    "mailport_probe": (RESULT, [P(Config), P(ProbeOptions), P(P(Report)), ERR]),
    # report
    "mailport_report_ok": (c_bool, [P(Report)]),
    "mailport_report_summary": (c_char_p, [P(Report)]),
    "mailport_report_recommendation": (c_char_p, [P(Report)]),
    "mailport_report_recommendation_reason": (c_char_p, [P(Report)]),
    "mailport_report_recommended_port": (c_uint16, [P(Report)]),
    "mailport_report_recommended_security": (c_uint32, [P(Report)]),
    "mailport_report_json": (c_char_p, [P(Report)]),
    "mailport_report_finding_count": (c_size_t, [P(Report)]),
    "mailport_report_finding_code": (c_char_p, [P(Report), c_size_t]),
    "mailport_report_finding_message": (c_char_p, [P(Report), c_size_t]),
    "mailport_report_finding_hint": (c_char_p, [P(Report), c_size_t]),
    "mailport_report_finding_severity": (c_char_p, [P(Report), c_size_t]),
    "mailport_report_finding_port": (c_uint16, [P(Report), c_size_t]),
    "mailport_report_free": (None, [P(Report)]),
}


def _library_file_names() -> tuple[str, ...]:
    if sys.platform == "darwin":
        return ("libmailport.dylib",)
    if sys.platform == "win32":
        return ("mailport.dll",)
    return ("libmailport.so",)


def _candidates():
    """Yield (label, path) for each file to try, in order, ``$MAILPORT_LIBRARY`` aside."""
    names = _library_file_names()
    here = Path(__file__).resolve().parent
    for name in names:
        yield "beside the package", str(here / name)
    # Only the target/ of the checkout this package is part of. Walking up, or ../../../target of
    # any copy, would load a target/ planted above a package installed under a directory others
    # can write to (/tmp/x/site-packages/mailport: /tmp/target).
    if here.parent.name != "python" or here.parent.parent.name != "bindings":
        return
    target = here.parent.parent.parent / "target"
    builds = [target / profile / name for profile in ("release", "debug") for name in names]
    # The most recently built first: a stale release build must not hide a fresh debug one.
    builds.sort(key=lambda p: p.stat().st_mtime if p.is_file() else 0.0, reverse=True)
    for path in builds:
        yield "build directory", str(path)


def _system_candidates():
    found = ctypes.util.find_library("mailport")
    if found:
        yield "system loader (ctypes.util.find_library)", found
    else:
        yield "system loader (ctypes.util.find_library)", None
    if sys.platform not in ("darwin", "win32"):
        yield "system loader (dlopen)", f"libmailport.so.{ABI_VERSION}"
        yield "system loader (dlopen)", "libmailport.so"
    elif sys.platform == "darwin":
        yield "system loader (dlopen)", "libmailport.dylib"
    else:
        yield "system loader", "mailport.dll"


def _load() -> tuple[ctypes.CDLL, str]:
    tried: list[str] = []
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        try:
            return ctypes.CDLL(explicit), explicit
        except OSError as error:
            raise ImportError(
                f"mailport: cannot load the library ${ENV_VAR} names, {explicit!r}: {error}\n"
                f"Unset {ENV_VAR} to search the usual places, or point it at a built "
                "libmailport (cargo build -p mailport)."
            ) from None
    tried.append(f"  ${ENV_VAR}: not set")
    for label, path in _candidates():
        if not os.path.isfile(path):
            tried.append(f"  {label}: {path}: not found")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as error:
            tried.append(f"  {label}: {path}: {error}")
    for label, name in _system_candidates():
        if name is None:
            tried.append(f"  {label}: no libmailport found")
            continue
        try:
            return ctypes.CDLL(name), name
        except OSError as error:
            tried.append(f"  {label}: {name}: {error}")
    raise ImportError(
        "mailport: cannot find the mailport shared library. Tried, in order:\n"
        + "\n".join(tried)
        + f"\nBuild it with `cargo build -p mailport` in the mailport checkout, or set {ENV_VAR} "
        "to the path of libmailport.so."
    )


def check_abi(found: int, path: str, expected: int = ABI_VERSION) -> None:
    """Raise ImportError unless the library's ABI generation is the one this binding speaks."""
    if found != expected:
        raise ImportError(
            f"mailport: the library at {path} has ABI version {found}, but this Python binding "
            f"was written for ABI version {expected}. Use the binding from the same mailport "
            "checkout or release as the library (or rebuild the library: cargo build -p mailport)."
        )


def _declare(library: ctypes.CDLL, path: str) -> None:
    try:
        abi = library.mailport_abi_version
    except AttributeError:
        raise ImportError(
            f"mailport: {path} does not export mailport_abi_version(); it is not libmailport, "
            "or it is too old for this binding."
        ) from None
    abi.restype = c_uint32
    abi.argtypes = []
    check_abi(abi(), path)
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            function = getattr(library, name)
        except AttributeError:
            missing.append(name)
            continue
        function.restype = restype
        function.argtypes = argtypes
    if missing:
        raise ImportError(
            f"mailport: the library at {path} (ABI {ABI_VERSION}) lacks "
            + ", ".join(missing)
            + "; it does not match this binding. Rebuild it: cargo build -p mailport."
        )


lib, LIBRARY_PATH = _load()
_declare(lib, LIBRARY_PATH)
