"""The declaration table against include/mailport.h (the library search and ABI check are
test_loader.py's)."""

from __future__ import annotations

import ctypes
import re
from ctypes import c_char_p, c_size_t, c_uint32, c_void_p

import pytest
from conftest import BINDING

import mailport
from mailport import _ffi
from mailport._declarations import ctype_for

PROTOTYPE = re.compile(r"^\w[\w\s\*]*\bmailport_\w+\(", re.M)


def header_prototypes(header: str) -> dict:
    """name -> (return type, [parameter types]) for every function prototype in the header."""
    prototypes = {}
    for match in PROTOTYPE.finditer(header):
        end = header.index(");", match.start())
        text = " ".join(header[match.start() : end].split())
        head, params = text.split("(", 1)
        name = re.search(r"(mailport_\w+)$", head).group(1)
        restype = head[: -len(name)].strip()
        types = []
        if params.strip() not in ("", "void"):
            for param in params.split(","):
                param = param.strip()
                pname = re.search(r"(\w+)$", param).group(1)
                types.append((param[: -len(pname)].strip(), pname))
        prototypes[name] = (restype, types)
    return prototypes


def test_every_header_function_is_declared_and_vice_versa(header_text):
    in_header = set(header_prototypes(header_text))
    in_table = set(_ffi.FUNCTIONS)
    assert len(in_header) > 100, "the prototype regex no longer matches the header"
    undeclared = sorted(in_header - in_table)
    unknown = sorted(in_table - in_header)
    assert not undeclared, f"functions in mailport.h without a declaration in _ffi: {undeclared}"
    assert not unknown, f"declarations in _ffi of functions not in mailport.h: {unknown}"


def test_declared_types_match_the_header(header_text):
    problems = []
    for name, (restype, params) in header_prototypes(header_text).items():
        declared_restype, declared_args = _ffi.FUNCTIONS[name]
        if ctype_for(restype) is not declared_restype:
            problems.append(f"{name}: returns {restype!r}, declared {declared_restype}")
        if len(params) != len(declared_args):
            problems.append(
                f"{name}: {len(params)} parameters in the header, {len(declared_args)} declared"
            )
            continue
        for i, ((ctype, pname), declared) in enumerate(zip(params, declared_args)):
            if ctype_for(ctype, pname) is not declared:
                problems.append(f"{name}: parameter {i} is {ctype!r}, declared {declared}")
    assert not problems, "\n".join(problems)


def _package_sources() -> dict:
    return {path.name: path.read_text() for path in (BINDING / "mailport").glob("*.py")}


def test_only_ffi_touches_the_library():
    for name, text in _package_sources().items():
        # _loader finds the library, _declarations spells out its functions, _ffi calls them
        if name in ("_ffi.py", "_loader.py", "_declarations.py"):
            continue
        assert not re.search(r"^\s*(import ctypes|from ctypes)", text, re.M), name
        assert not re.search(r"\blib\b|_ffi\.(FUNCTIONS|_functions)\b", text), name


def test_every_function_named_is_declared_and_every_declared_one_is_called():
    """Modules name C functions as strings (``call("mailport_x", ...)``); _ffi's readers call
    ``lib.mailport_x`` directly. A misspelt name would only fail when that line runs."""
    named, called = set(), set()
    for name, text in _package_sources().items():
        # Enum type names ("mailport_result"), and the table that declares the functions.
        if name in ("_constants.py", "_declarations.py"):
            continue
        if name == "_ffi.py":
            called |= set(re.findall(r"\b(?:lib|library)\.(mailport_\w+)", text))
        if name == "_loader.py":  # the ABI check and version of the library being loaded
            called |= set(re.findall(r"\blibrary\.(mailport_\w+)", text))
        named |= set(re.findall(r"\"(mailport_\w+)\"", text))
    assert not named - set(_ffi.FUNCTIONS), "named but not declared"
    assert not set(_ffi.FUNCTIONS) - named - called, "declared but never called"


def test_loaded_functions_carry_the_declarations():
    for name, (restype, argtypes) in _ffi.FUNCTIONS.items():
        function = getattr(_ffi.lib, name)
        assert function.restype is restype, name
        assert list(function.argtypes) == argtypes, name


def test_log_callback_typedef_matches(header_text):
    m = re.search(r"typedef void \(\*mailport_log_callback\)\(([^)]*)\);", header_text)
    assert m, "mailport_log_callback typedef not found"
    params = [p.strip() for p in m.group(1).split(",")]
    assert params == ["void *userdata", "uint32_t kind", "const char *text", "size_t len"]
    assert _ffi.LOG_CALLBACK._restype_ is None
    # text is taken as a raw pointer and read with string_at(text, len): binary-safe.
    assert _ffi.LOG_CALLBACK._argtypes_ == (c_void_p, c_uint32, c_void_p, c_size_t)


def test_outbox_event_callback_typedef_matches(header_text):
    m = re.search(r"typedef void \(\*mailport_outbox_event_callback\)\(([^)]*)\);", header_text)
    assert m, "mailport_outbox_event_callback typedef not found"
    params = [" ".join(p.split()) for p in m.group(1).split(",")]
    assert params == [
        "void *userdata",
        "uint32_t kind",
        "const char *id",
        "uint32_t from_state",
        "uint32_t to_state",
        "size_t connection",
        "const char *server",
        "const char *text",
    ]
    assert _ffi.OUTBOX_EVENT_CALLBACK._restype_ is None
    assert _ffi.OUTBOX_EVENT_CALLBACK._argtypes_ == (
        c_void_p,
        c_uint32,
        c_char_p,
        c_uint32,
        c_uint32,
        c_size_t,
        c_char_p,
        c_char_p,
    )


def test_abi_version_matches_header_and_library(header_text):
    m = re.search(r"#define MAILPORT_ABI_VERSION (\d+)", header_text)
    assert int(m.group(1)) == mailport.ABI_VERSION == _ffi.lib.mailport_abi_version()
    assert mailport.library_version().startswith("mailport/")


def test_result_texts():
    assert mailport._ffi.result_name(61) == "MAILPORT_ERR_AUTH_FAILED"
    assert mailport._ffi.result_str(61)
    assert mailport._ffi.result_name(12345) == "MAILPORT_ERR_UNKNOWN"


def test_free_functions_accept_null():
    for name in (
        "mailport_string_free",
        "mailport_error_free",
        "mailport_config_free",
        "mailport_message_free",
        "mailport_client_free",
        "mailport_receipt_free",
        "mailport_report_free",
        "mailport_probe_options_free",
        "mailport_wp_mail_free",
        "mailport_outbox_free",
        "mailport_outbox_record_free",
        "mailport_outbox_records_free",
        "mailport_outbox_summary_free",
    ):
        getattr(_ffi.lib, name)(None)


def test_ctypes_refuses_mixed_up_handles():
    message = _ffi.lib.mailport_message_new()
    try:
        with pytest.raises(ctypes.ArgumentError):
            _ffi.lib.mailport_config_free(message)
    finally:
        _ffi.lib.mailport_message_free(message)
