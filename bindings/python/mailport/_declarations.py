"""The C declarations of ``include/mailport.h`` as ctypes sees them: the opaque handle types,
the callback types, and ``FUNCTIONS`` (every function's restype and argtypes, compared with the
header name by name and type by type by ``tests/test_ffi.py``). ``_ffi`` declares them on the
loaded library; nothing here loads anything.
"""

from __future__ import annotations

import ctypes
import re
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


class Outbox(ctypes.Structure):
    pass


class OutboxRecord(ctypes.Structure):
    pass


class OutboxRecords(ctypes.Structure):
    pass


class OutboxSummary(ctypes.Structure):
    pass


class Bytes(ctypes.Structure):
    """``struct mailport_bytes``: a rendered message mailport hands over (``take_bytes``)."""


class OauthToken(ctypes.Structure):
    """``struct mailport_oauth_token``: what a token callback fills in (mailport's, not ours)."""


P = POINTER
ERR = P(P(Error))  # mailport_error **error_out, the last parameter of every fallible function
RESULT = c_int  # enum mailport_result (a plain C enum: int-sized)

#: ``typedef void (*mailport_log_callback)(void *userdata, uint32_t kind, const char *text,
#: size_t len)``; ``text`` is taken as a raw pointer and read with ``ctypes.string_at(text, len)``.
LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_uint32, c_void_p, c_size_t)

#: ``typedef void (*mailport_outbox_event_callback)(void *userdata, uint32_t kind, const char *id,
#: uint32_t from_state, uint32_t to_state, size_t connection, const char *server,
#: const char *text)``; the strings arrive as bytes (ctypes copies them).
OUTBOX_EVENT_CALLBACK = CFUNCTYPE(
    None, c_void_p, c_uint32, c_char_p, c_uint32, c_uint32, c_size_t, c_char_p, c_char_p
)

#: ``typedef void (*mailport_oauth_rotation_callback)(void *user_data, const char *username,
#: const char *refresh_token)``; the strings arrive as bytes (ctypes copies them).
OAUTH_ROTATION_CALLBACK = CFUNCTYPE(None, c_void_p, c_char_p, c_char_p)

#: ``typedef int32_t (*mailport_oauth_token_callback)(void *user_data, const char *username,
#: bool previous_refused, struct mailport_oauth_token *out)``.
OAUTH_TOKEN_CALLBACK = CFUNCTYPE(ctypes.c_int32, c_void_p, c_char_p, c_bool, POINTER(OauthToken))

#: ``typedef int (*mailport_write_callback)(void *user_data, const uint8_t *data, size_t len)``;
#: ``data`` is taken as a raw pointer and read with ``ctypes.string_at(data, len)``.
WRITE_CALLBACK = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)

# How a C type of the header is declared (``FUNCTIONS`` follows it; tests/test_ffi.py checks each
# prototype of include/mailport.h against it):
#   const char *  (input, NUL-terminated)  -> c_char_p (bytes or None)
#   const char *  (borrowed output)        -> c_char_p (ctypes copies it into bytes at once)
#   char *        (owned output)           -> c_void_p (an address, freed by mailport_string_free)
#   char * / uint8_t *  (caller's buffer)  -> P(c_char) (a ctypes.create_string_buffer; the
#                                             parameter is named buf or *_buf)
#   const void *        (bytes + length)   -> c_char_p (bytes; NUL bytes allowed, the length says)
#   struct mailport_x *                    -> P(X), the handle class above; ** for out-params
#: C type, as the header spells it (white space folded) -> ctypes type; ``char *`` is in
#: ``ctype_for``, since the parameter's name decides it.
C_TYPES = {
    "void": None,
    "bool": c_bool,
    "uint16_t": c_uint16,
    "uint32_t": c_uint32,
    "uint64_t": c_uint64,
    "int64_t": c_int64,
    "size_t": c_size_t,
    "enum mailport_result": RESULT,
    "void *": c_void_p,
    "size_t *": P(c_size_t),
    "uint64_t *": P(c_uint64),
    "int": c_int,
    "const uint8_t *": c_void_p,
    "const char *": c_char_p,
    "const void *": c_char_p,
    "uint8_t *": P(c_char),
    "const uint16_t *": P(c_uint16),
    "const uint32_t *": P(c_uint32),
    "const char *const *": P(c_char_p),
    "mailport_log_callback": LOG_CALLBACK,
    "mailport_outbox_event_callback": OUTBOX_EVENT_CALLBACK,
    "mailport_oauth_rotation_callback": OAUTH_ROTATION_CALLBACK,
    "mailport_oauth_token_callback": OAUTH_TOKEN_CALLBACK,
    "mailport_write_callback": WRITE_CALLBACK,
}

_HANDLE = re.compile(r"(?:const )?struct mailport_(\w+) (\*+)")


def ctype_for(c_type: str, name: str = ""):
    """The ctypes type for ``c_type`` as include/mailport.h spells it, for the parameter
    ``name`` (or a return value when empty), by the conventions above."""
    t = re.sub(r"\s*(\*+)", r" \1", " ".join(c_type.split())).strip()
    if t == "char *":
        return P(c_char) if name == "buf" or name.endswith("_buf") else c_void_p
    if t in C_TYPES:
        return C_TYPES[t]
    # A handle, or an array of handles (`const struct mailport_config *const *`).
    m = _HANDLE.fullmatch(t.replace("*const *", "**"))
    if m:
        result = globals()["".join(part.capitalize() for part in m.group(1).split("_"))]
        for _ in m.group(2):
            result = P(result)
        return result
    raise ValueError(f"no ctypes mapping for the C type {c_type!r}: add one to C_TYPES")


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
    "mailport_error_outcome_unknown": (c_bool, [P(Error)]),
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
    "mailport_config_set_binding": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_persistent": (RESULT, [P(Config), c_bool, c_uint32, ERR]),
    "mailport_config_set_transcript_bodies": (RESULT, [P(Config), c_bool, ERR]),
    "mailport_config_set_log_callback": (RESULT, [P(Config), LOG_CALLBACK, c_void_p, ERR]),
    # OAuth 2.0 token sources and the SASL mechanism
    "mailport_config_set_oauth_refresh": (
        RESULT,
        [P(Config), c_char_p, c_uint32, c_char_p, c_char_p, c_char_p, ERR],
    ),
    "mailport_config_set_oauth_tenant": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_oauth_token_url": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_oauth_scope": (RESULT, [P(Config), c_char_p, ERR]),
    "mailport_config_set_oauth_rotation_callback": (
        RESULT,
        [P(Config), OAUTH_ROTATION_CALLBACK, c_void_p, ERR],
    ),
    "mailport_config_set_oauth_token_callback": (
        RESULT,
        [P(Config), c_char_p, OAUTH_TOKEN_CALLBACK, c_void_p, ERR],
    ),
    "mailport_oauth_token_set": (RESULT, [P(OauthToken), c_char_p, c_uint64]),
    "mailport_oauth_token_fail": (RESULT, [P(OauthToken), c_char_p]),
    "mailport_config_set_auth_mechanism": (RESULT, [P(Config), c_char_p, ERR]),
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
    "mailport_message_render_bytes": (RESULT, [P(Message), P(P(Bytes)), ERR]),
    "mailport_bytes_data": (c_void_p, [P(Bytes)]),
    "mailport_bytes_len": (c_size_t, [P(Bytes)]),
    "mailport_bytes_free": (None, [P(Bytes)]),
    "mailport_message_render_to_fd": (RESULT, [P(Message), c_int, P(c_uint64), ERR]),
    "mailport_message_render_to_callback": (
        RESULT,
        [P(Message), WRITE_CALLBACK, c_void_p, P(c_uint64), ERR],
    ),
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
    # pool
    "mailport_pool_drain": (RESULT, [c_uint32, P(c_size_t), ERR]),
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
    # outbox
    "mailport_outbox_open": (RESULT, [c_char_p, P(P(Config)), c_size_t, P(P(Outbox)), ERR]),
    "mailport_outbox_free": (None, [P(Outbox)]),
    "mailport_outbox_set_min_backoff_ms": (RESULT, [P(Outbox), c_uint64, ERR]),
    "mailport_outbox_set_max_backoff_ms": (RESULT, [P(Outbox), c_uint64, ERR]),
    "mailport_outbox_set_lifetime_ms": (RESULT, [P(Outbox), c_uint64, ERR]),
    "mailport_outbox_set_retry_unknown": (RESULT, [P(Outbox), c_bool, ERR]),
    "mailport_outbox_set_keep_sent": (RESULT, [P(Outbox), c_bool, ERR]),
    "mailport_outbox_set_keep_transcripts": (RESULT, [P(Outbox), c_bool, ERR]),
    "mailport_outbox_set_event_callback": (
        RESULT,
        [P(Outbox), OUTBOX_EVENT_CALLBACK, c_void_p, ERR],
    ),
    "mailport_outbox_enqueue": (
        RESULT,
        [P(Outbox), P(Message), P(c_char), c_size_t, P(c_size_t), ERR],
    ),
    "mailport_outbox_enqueue_raw": (
        RESULT,
        [
            P(Outbox),
            c_char_p,
            P(c_char_p),
            c_size_t,
            c_char_p,
            c_size_t,
            P(c_char),
            c_size_t,
            P(c_size_t),
            ERR,
        ],
    ),
    "mailport_outbox_run": (RESULT, [P(Outbox), c_size_t, c_uint64, P(P(OutboxSummary)), ERR]),
    "mailport_outbox_list": (
        RESULT,
        [P(Outbox), P(c_uint32), c_size_t, c_size_t, P(P(OutboxRecords)), ERR],
    ),
    "mailport_outbox_get": (RESULT, [P(Outbox), c_char_p, P(P(OutboxRecord)), ERR]),
    "mailport_outbox_retry": (RESULT, [P(Outbox), c_char_p, P(P(OutboxRecord)), ERR]),
    "mailport_outbox_cancel": (RESULT, [P(Outbox), c_char_p, P(P(OutboxRecord)), ERR]),
    "mailport_outbox_prune": (RESULT, [P(Outbox), c_uint64, P(c_size_t), ERR]),
    # outbox record
    "mailport_outbox_record_id": (c_char_p, [P(OutboxRecord)]),
    "mailport_outbox_record_state": (c_uint32, [P(OutboxRecord)]),
    "mailport_outbox_record_created": (c_int64, [P(OutboxRecord)]),
    "mailport_outbox_record_due": (c_int64, [P(OutboxRecord)]),
    "mailport_outbox_record_message_id": (c_char_p, [P(OutboxRecord)]),
    "mailport_outbox_record_envelope_from": (c_char_p, [P(OutboxRecord)]),
    "mailport_outbox_record_size": (c_uint64, [P(OutboxRecord)]),
    "mailport_outbox_record_retries": (c_uint32, [P(OutboxRecord)]),
    "mailport_outbox_record_reason": (c_char_p, [P(OutboxRecord)]),
    "mailport_outbox_record_maybe_delivered": (c_bool, [P(OutboxRecord)]),
    "mailport_outbox_record_delivered_by": (c_int64, [P(OutboxRecord)]),
    "mailport_outbox_record_recipient_count": (c_size_t, [P(OutboxRecord)]),
    "mailport_outbox_record_recipient_address": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_recipient_state": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_recipient_reply": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_count": (c_size_t, [P(OutboxRecord)]),
    "mailport_outbox_record_attempt_at": (c_int64, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_connection": (c_size_t, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_server": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_outcome": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_kind": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_message": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_reply_code": (c_uint16, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_enhanced_status": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_queue_id": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_attempt_transcript": (c_char_p, [P(OutboxRecord), c_size_t]),
    "mailport_outbox_record_json": (c_char_p, [P(OutboxRecord)]),
    "mailport_outbox_record_free": (None, [P(OutboxRecord)]),
    "mailport_outbox_records_count": (c_size_t, [P(OutboxRecords)]),
    "mailport_outbox_records_record": (P(OutboxRecord), [P(OutboxRecords), c_size_t]),
    "mailport_outbox_records_json": (c_char_p, [P(OutboxRecords)]),
    "mailport_outbox_records_free": (None, [P(OutboxRecords)]),
    # outbox summary
    "mailport_outbox_summary_sent": (c_size_t, [P(OutboxSummary)]),
    "mailport_outbox_summary_deferred": (c_size_t, [P(OutboxSummary)]),
    "mailport_outbox_summary_failed": (c_size_t, [P(OutboxSummary)]),
    "mailport_outbox_summary_held": (c_size_t, [P(OutboxSummary)]),
    "mailport_outbox_summary_via_backup": (c_size_t, [P(OutboxSummary)]),
    "mailport_outbox_summary_json": (c_char_p, [P(OutboxSummary)]),
    "mailport_outbox_summary_free": (None, [P(OutboxSummary)]),
}
