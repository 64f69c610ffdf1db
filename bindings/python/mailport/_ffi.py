"""The module that calls the shared library, as wasmtime-py's ``_ffi.py``: it declares every C
function of ``include/mailport.h`` (``FUNCTIONS``: restype and argtypes, compared with the header
name by name and type by type by ``tests/test_ffi.py``) on the library ``_loader`` found and
checked, and is the way the other modules reach them:

- ``call(name, *args)``: a fallible function; ``error_out`` is appended and a failure raised as
  the exception of its kind (the one error path);
- ``call_out(name, *args)``: a fallible function whose parameter before ``error_out`` is
  ``T **out``; returns the new ``T *``, which the caller owns;
- ``invoke(name, *args)``: a function that cannot fail (constructors, getters);
- ``copy_out(name, *args, nul=...)``: a function that copies into the caller's buffer;
- ``call_id(name, *args)``: an outbox enqueue, which copies the new entry's id into a buffer of
  ``OUTBOX_ID_SIZE`` bytes; returns the id;
- ``take_error``, ``take_receipt``, ``take_report``, ``take_outbox_record``,
  ``take_outbox_records``, ``take_outbox_summary``, ``transcript``: read a C object into Python
  values and free it, calling the getters directly (no layer per call: the send path's cost is
  measured).

Also here: argument encoding (``enc``: the NUL check), ``Handle`` (wasmtime-py's ``Managed``) and
the log-callback and outbox-event trampolines. Nothing here is public API.

Which file is loaded (``$MAILPORT_LIBRARY``, else the library bundled in the package as
``libmailport.so.1``, else a checkout's ``target/`` when the package runs from that checkout,
else the system's ``libmailport.so.1`` by SONAME) and the ABI check are ``_loader``'s: its
docstring has the rules.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
import weakref
from ctypes import (
    byref,
    c_char_p,
    c_size_t,
    c_uint16,
    c_uint32,
)

from . import _loader, _results
from ._constants import (
    OUTBOX_ID_SIZE,
    ErrorCode,
    LogKind,
    OutboxEventKind,
    OutboxState,
    outbox_state_or_int,
    security_or_int,
)
from ._declarations import (  # noqa: F401 - part of this module's interface
    Bytes,
    Client,
    Config,
    ERR,
    Error,
    FUNCTIONS,
    LOG_CALLBACK,
    Message,
    OAUTH_ROTATION_CALLBACK,
    OAUTH_TOKEN_CALLBACK,
    OUTBOX_EVENT_CALLBACK,
    OauthToken,
    Outbox,
    OutboxRecord,
    OutboxRecords,
    OutboxSummary,
    P,
    ProbeOptions,
    RESULT,
    Receipt,
    Report,
    WRITE_CALLBACK,
    WpMail,
)
from .errors import (
    HandleError,
    InvalidAddress,
    InvalidArgumentError,
    MailportError,
    RejectedRecipient,
    exception_class,
)

# Finding and loading the library, and its ABI check, are ``_loader``'s.
ABI_VERSION = _loader.ABI_VERSION
ENV_VAR = _loader.ENV_VAR
check_abi = _loader.check_abi


# -- loading --------------------------------------------------------------------------------------


def _declare(library: ctypes.CDLL, path: str) -> dict:
    """Give every function of ``FUNCTIONS`` its restype and argtypes; return name -> function."""
    functions = {}
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            function = getattr(library, name)
        except AttributeError:
            missing.append(name)
            continue
        function.restype = restype
        function.argtypes = argtypes
        functions[name] = function
    if missing:
        raise ImportError(
            f"mailport: the library at {path} (ABI {ABI_VERSION}) lacks "
            + ", ".join(missing)
            + "; it is older than this binding. Install the library and the package from the "
            "same mailport release (a wheel bundles a matching library)."
        )
    return functions


lib, LIBRARY_PATH = _loader.load()
#: name -> the declared ctypes function, where ``call``, ``call_out`` and ``invoke`` look it up.
_functions = _declare(lib, LIBRARY_PATH)

_ErrorPointer = P(Error)

#: The function freeing each kind of object ``call_out`` returns.
_FREE = {
    Bytes: "mailport_bytes_free",
    Config: "mailport_config_free",
    Client: "mailport_client_free",
    Message: "mailport_message_free",
    Receipt: "mailport_receipt_free",
    Report: "mailport_report_free",
    Outbox: "mailport_outbox_free",
    OutboxRecord: "mailport_outbox_record_free",
    OutboxRecords: "mailport_outbox_records_free",
    OutboxSummary: "mailport_outbox_summary_free",
}


# -- calls ----------------------------------------------------------------------------------------


def invoke(name: str, *args):
    """Call a function that cannot fail (a constructor, a getter) and return what it returns."""
    return _functions[name](*args)


def call(name: str, *args) -> None:
    """Call a fallible C function, appending the ``error_out`` parameter; raise on failure.

    The single error path: the error object is read into an exception and freed before raising,
    and an exception a log callback raised during the call is re-raised here (see ``_LogState``).
    """
    err = _ErrorPointer()
    capture = _log_state.begin()
    try:
        code = _functions[name](*args, byref(err))
    finally:
        pending, cause = _log_state.end(capture)
    if code != 0:
        error = take_error(code, err)
        if cause is not None:
            # What the token callback raised is why the library failed: the error says so in
            # its message, and the traceback shows where.
            error.__cause__ = cause
        if pending is not None:
            raise pending from error
        raise error
    if err:  # never on success, but never leak either
        lib.mailport_error_free(err)
    if pending is not None:
        _note(
            pending,
            "raised by a callback (log, on_event or oauth_rotation_callback); the mailport call "
            "itself succeeded",
        )
        raise pending


def _note(exc: BaseException, note: str) -> None:
    add_note = getattr(exc, "add_note", None)  # Python 3.11+
    if add_note is not None:
        add_note(note)


def call_out(name: str, *args):
    """``call`` for a function whose last parameter before ``error_out`` is ``T **out``: return
    the new ``T *``, which the caller owns. When the call succeeded but a log callback raised,
    the object is freed before the exception propagates."""
    out = FUNCTIONS[name][1][-2]._type_()  # argtypes[-2] is P(P(T))
    try:
        call(name, *args, byref(out))
    except BaseException:
        if out:
            _functions[_FREE[type(out)._type_]](out)
        raise
    return out


def call_size(name: str, *args) -> int:
    """``call`` for a function whose last parameter before ``error_out`` is ``size_t *out``:
    return the count it wrote."""
    n = c_size_t(0)
    call(name, *args, byref(n))
    return n.value


def copy_out(name: str, *args, nul: bool, error_out: bool = True) -> bytes:
    """Run a copy-out function ``(…, buf, len, size_t *out_n[, error_out])`` until the whole
    output fits: a sizing call with ``NULL, 0``, then a buffer of the reported size (plus the NUL
    for text). Loops while ``MAILPORT_ERR_BUFFER_TOO_SMALL`` comes back (a rendered Date may
    change length between calls)."""
    function = _functions[name]
    size = 0
    for _ in range(16):
        n = c_size_t(0)
        capacity = size + (1 if nul else 0)
        buf = ctypes.create_string_buffer(capacity) if capacity else None
        if error_out:
            err = _ErrorPointer()
            code = function(*args, buf, capacity, byref(n), byref(err))
        else:
            err = None
            code = function(*args, buf, capacity, byref(n))
        if code == ErrorCode.OK:
            if err:
                lib.mailport_error_free(err)
            if buf is None:
                return b""
            return buf.raw[: n.value]
        if code == ErrorCode.BUFFER_TOO_SMALL:
            if err:
                lib.mailport_error_free(err)
            size = n.value
            continue
        if err is None:
            raise error_from_code(code)
        raise take_error(code, err)
    raise error_from_code(ErrorCode.BUFFER_TOO_SMALL, "the output kept changing size")


# -- rendering ------------------------------------------------------------------------------------


def _render_at(message, target, size: int) -> tuple:
    """One ``mailport_message_render`` call into ``target`` (``size`` bytes; ``None, 0`` sizes):
    ``(code, bytes needed)`` for ``OK`` and ``BUFFER_TOO_SMALL``, any other code raised."""
    needed = c_size_t(0)
    err = _ErrorPointer()
    code = _functions["mailport_message_render"](message, target, size, byref(needed), byref(err))
    if code not in (ErrorCode.OK, ErrorCode.BUFFER_TOO_SMALL):
        raise take_error(code, err)
    if err:
        lib.mailport_error_free(err)
    return code, needed.value


def rendered_size(message) -> int:
    """The sizing call of ``mailport_message_render`` (``NULL, 0``): no attachment is read."""
    return _render_at(message, None, 0)[1]


def render_into(message, buffer) -> int:
    """``mailport_message_render`` straight into the caller's writable buffer: no copy."""
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(
            f"render_into needs a writable buffer (bytearray, mmap, memoryview), not "
            f"{type(buffer).__name__}"
        ) from None
    with view:
        if view.readonly or not view.c_contiguous:
            raise TypeError(
                "render_into needs a writable, contiguous buffer (a bytearray, not bytes)"
            )
        size = view.nbytes
        target = (ctypes.c_char * size).from_buffer(view.cast("B")) if size else None
        try:
            code, needed = _render_at(message, target, size)
        finally:
            del target  # releases the buffer's export, so a bytearray can be resized again
    if code == ErrorCode.BUFFER_TOO_SMALL:
        raise invalid_argument(
            f"buffer holds {size} bytes but the message is {needed}; it holds the start "
            "of the message",
            f"pass a buffer of at least {needed} bytes (rendered_size())",
        )
    return needed


def render_to_fd(message, fd: int) -> int:
    """``mailport_message_render_to_fd``: mailport writes to the descriptor itself."""
    written = ctypes.c_uint64(0)
    call("mailport_message_render_to_fd", message, fd, byref(written))
    return written.value


def render_to_writer(message, write) -> int:
    """``mailport_message_render_to_callback`` with ``write(bytes)`` called for each piece.

    Each piece is copied into a ``bytes`` (``string_at``) rather than lent as a view of
    mailport's buffer: the writer may keep what it is given (a list, ``BytesIO``'s internal
    reuse), and the buffer is rewritten by the next piece. An exception from ``write`` stops the
    rendering (the callback returns 1) and is raised here, chained to mailport's error.
    """
    raised = []

    def each_piece(_user_data, data, size):
        try:
            view = memoryview(ctypes.string_at(data, size))
            while view:  # a raw stream may take fewer bytes than offered
                n = write(view)
                view = view[len(view) if n is None else n :]
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller below
            raised.append(exc)
            return 1

    trampoline = WRITE_CALLBACK(each_piece)
    written = ctypes.c_uint64(0)
    try:
        call("mailport_message_render_to_callback", message, trampoline, None, byref(written))
    except MailportError as error:
        if raised:
            raise raised[0] from error
        raise
    return written.value


# -- reading C objects into Python values ---------------------------------------------------------


def _bytes_filler():
    """CPython's own way for native code to make a ``bytes``: ``PyBytes_FromStringAndSize(NULL,
    n)`` gives a new object whose storage the caller fills before anyone else sees it (C
    extensions do exactly this). ``None`` where ctypes has no ``pythonapi`` (PyPy)."""
    api = getattr(ctypes, "pythonapi", None)
    if api is None or sys.implementation.name != "cpython":
        return None
    new = api.PyBytes_FromStringAndSize
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
    storage = api.PyBytes_AsString
    storage.restype = ctypes.c_void_p
    storage.argtypes = [ctypes.py_object]
    return new, storage


_BYTES_FILLER = _bytes_filler()


def render_bytes(message) -> bytes:
    """The message as one ``bytes``, rendered by mailport straight into that object's storage:
    no native buffer, no copy, memory peaks at the message's size. The sizing call reads no
    attachment; if the message then grows (an attachment file changed between the two calls)
    or the interpreter is not CPython, it falls back to ``mailport_message_render_bytes`` and
    one copy."""
    size = rendered_size(message)
    if _BYTES_FILLER is not None and size > 1:
        new, storage = _BYTES_FILLER
        out = new(None, size)
        target = (ctypes.c_char * size).from_address(storage(out))
        code, needed = _render_at(message, target, size)
        if code == ErrorCode.OK:
            # Shorter only if an attachment shrank since the sizing call: one copy then.
            return out if needed == size else out[:needed]
    return take_bytes(call_out("mailport_message_render_bytes", message))


def take_bytes(owned) -> bytes:
    """A ``mailport_bytes`` as one Python ``bytes`` object, then freed.

    ``ctypes.string_at`` is the single copy: CPython's ``bytes`` must own its storage, so the
    only way to skip it would be a ``memoryview`` pinning mailport's buffer until the last view
    dies, which would make ``render()`` return something that is not ``bytes``. The native
    buffer is freed before this returns, so the peak is twice the message only for the copy.
    """
    try:
        data = _functions["mailport_bytes_data"](owned)
        size = _functions["mailport_bytes_len"](owned)
        return ctypes.string_at(data, size) if size else b""
    finally:
        _functions["mailport_bytes_free"](owned)


def _text(raw) -> str:
    """A borrowed ``const char *`` result (bytes or None) as str."""
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace")


def result_name(code: int) -> str:
    return _text(lib.mailport_result_name(code))


def result_str(code: int) -> str:
    return _text(lib.mailport_result_str(code))


def error_from_code(code: int, message: str = "") -> MailportError:
    """An exception for a code that came without an error object."""
    return exception_class(code)(message or result_str(code), code=code, name=result_name(code))


def invalid_argument(message: str, hint: str = "") -> InvalidArgumentError:
    """An ``INVALID_ARGUMENT`` error found by the binding itself, before any C call."""
    return InvalidArgumentError(
        message,
        code=ErrorCode.INVALID_ARGUMENT,
        name=result_name(ErrorCode.INVALID_ARGUMENT),
        hint=hint,
    )


def take_error(code: int, err) -> MailportError:
    """Read a ``mailport_error *`` into an exception and free it. ``err`` may be NULL."""
    if not err:
        return error_from_code(code)
    try:
        code = int(lib.mailport_error_code(err)) or code
        invalid = tuple(
            InvalidAddress(
                _text(lib.mailport_error_invalid_address_field(err, i)),
                _text(lib.mailport_error_invalid_address_input(err, i)),
                _text(lib.mailport_error_invalid_address_reason(err, i)),
            )
            for i in range(lib.mailport_error_invalid_address_count(err))
        )
        reply_code = int(lib.mailport_error_reply_code(err))
        return exception_class(code)(
            _text(lib.mailport_error_message(err)) or result_str(code),
            code=code,
            name=result_name(code),
            hint=_text(lib.mailport_error_hint(err)),
            reply_code=reply_code or None,
            enhanced_status=_text(lib.mailport_error_enhanced_status(err)) or None,
            server_reply=_text(lib.mailport_error_server_reply(err)),
            transient=bool(lib.mailport_error_is_transient(err)),
            outcome_unknown=bool(lib.mailport_error_outcome_unknown(err)),
            transcript=_text(lib.mailport_error_transcript(err)),
            rejected=_rejected(
                err,
                lib.mailport_error_rejected_count,
                lib.mailport_error_rejected_address,
                lib.mailport_error_rejected_reply_code,
                lib.mailport_error_rejected_reply,
            ),
            invalid_addresses=invalid,
        )
    finally:
        lib.mailport_error_free(err)


def _rejected(handle, count, address, reply_code, reply) -> tuple:
    """The refused recipients of an error or a receipt, read with its four readers (the
    functions are passed, not named, so that every C name stays written out)."""
    return tuple(
        RejectedRecipient(
            _text(address(handle, i)), int(reply_code(handle, i)), _text(reply(handle, i))
        )
        for i in range(count(handle))
    )


def take_receipt(receipt) -> _results.Receipt:
    """A ``mailport_receipt *`` as a :class:`Receipt`, read on first use and freed then (or when
    the receipt is dropped unread)."""
    return _results.Receipt._deferred(_read_receipt, receipt, lib.mailport_receipt_free)


def _read_receipt(receipt) -> dict:
    t = _text
    return dict(
        reply_code=int(lib.mailport_receipt_reply_code(receipt)),
        enhanced_status=t(lib.mailport_receipt_enhanced_status(receipt)) or None,
        server_reply=t(lib.mailport_receipt_server_reply(receipt)),
        accepted=tuple(
            t(lib.mailport_receipt_accepted(receipt, i))
            for i in range(lib.mailport_receipt_accepted_count(receipt))
        ),
        rejected=_rejected(
            receipt,
            lib.mailport_receipt_rejected_count,
            lib.mailport_receipt_rejected_address,
            lib.mailport_receipt_rejected_reply_code,
            lib.mailport_receipt_rejected_reply,
        ),
        port=int(lib.mailport_receipt_port(receipt)),
        security=security_or_int(int(lib.mailport_receipt_security(receipt))),
        tls_version=t(lib.mailport_receipt_tls_version(receipt)) or None,
        tls_cipher=t(lib.mailport_receipt_tls_cipher(receipt)) or None,
        size=int(lib.mailport_receipt_size(receipt)),
        tls_resumed=bool(lib.mailport_receipt_tls_resumed(receipt)),
        message_id=t(lib.mailport_receipt_message_id(receipt)) or None,
    )


def take_report(report) -> _results.Report:
    """Read a ``mailport_report *`` into a :class:`Report` and free it."""
    t = _text
    try:
        text = t(lib.mailport_report_json(report))
        data = json.loads(text) if text else {}
        findings = []
        for i in range(lib.mailport_report_finding_count(report)):
            findings.append(
                _results.Finding(
                    code=t(lib.mailport_report_finding_code(report, i)),
                    message=t(lib.mailport_report_finding_message(report, i)),
                    hint=t(lib.mailport_report_finding_hint(report, i)),
                    port=int(lib.mailport_report_finding_port(report, i)) or None,
                    severity=t(lib.mailport_report_finding_severity(report, i)) or None,
                )
            )
        ok = bool(lib.mailport_report_ok(report))
        recommendation = None
        port = int(lib.mailport_report_recommended_port(report))
        if port:
            recommendation = _results.Recommendation(
                port=port,
                security=security_or_int(int(lib.mailport_report_recommended_security(report))),
                reason=t(lib.mailport_report_recommendation_reason(report)),
                line=t(lib.mailport_report_recommendation(report)),
            )
        return _results.Report(
            ok=ok,
            summary=t(lib.mailport_report_summary(report)),
            recommendation=recommendation,
            findings=tuple(findings),
            json=text,
            data=data,
        )
    finally:
        lib.mailport_report_free(report)


def _outbox_event(kind, id_, from_state, to_state, connection, server, message):
    """An :class:`OutboxEvent` from the callback's arguments or a summary's JSON event."""
    try:
        kind = OutboxEventKind(kind)
    except ValueError:
        pass  # a kind newer than this binding
    state_change = kind == OutboxEventKind.STATE_CHANGED
    return _results.OutboxEvent(
        kind=kind,
        id=id_ if state_change else None,
        from_state=outbox_state_or_int(from_state) if state_change and from_state else None,
        to_state=outbox_state_or_int(to_state) if state_change else None,
        connection=None if state_change else connection,
        server=None if state_change else server,
        message=message or None,
    )


_STATE_NAMES = {str(state): state for state in OutboxState}
_EVENT_KINDS = {str(kind): kind for kind in OutboxEventKind}


def outbox_event_from_json(event: dict):
    """An event of a run summary's JSON (states and kinds by name) as an OutboxEvent."""
    return _outbox_event(
        _EVENT_KINDS.get(event.get("kind"), -1),
        event.get("id"),
        _STATE_NAMES.get(event.get("from"), OutboxState.NONE),
        _STATE_NAMES.get(event.get("to"), OutboxState.NONE),
        event.get("connection"),
        event.get("server"),
        event.get("message"),
    )


def read_outbox_record(r, data=None) -> _results.OutboxRecord:
    """Read a ``mailport_outbox_record *`` (owned or lent by a list) into an OutboxRecord.
    ``data``: its JSON document, when the caller has it already (from the list's JSON)."""
    t = _text
    recipients = tuple(
        _results.OutboxRecipient(
            address=t(lib.mailport_outbox_record_recipient_address(r, i)),
            state=t(lib.mailport_outbox_record_recipient_state(r, i)),
            reply=t(lib.mailport_outbox_record_recipient_reply(r, i)) or None,
        )
        for i in range(lib.mailport_outbox_record_recipient_count(r))
    )
    attempts = tuple(
        _results.OutboxAttempt(
            at=int(lib.mailport_outbox_record_attempt_at(r, i)),
            connection=int(lib.mailport_outbox_record_attempt_connection(r, i)),
            server=t(lib.mailport_outbox_record_attempt_server(r, i)),
            outcome=t(lib.mailport_outbox_record_attempt_outcome(r, i)),
            kind=t(lib.mailport_outbox_record_attempt_kind(r, i)) or None,
            message=t(lib.mailport_outbox_record_attempt_message(r, i)),
            reply_code=int(lib.mailport_outbox_record_attempt_reply_code(r, i)) or None,
            enhanced_status=t(lib.mailport_outbox_record_attempt_enhanced_status(r, i)) or None,
            queue_id=t(lib.mailport_outbox_record_attempt_queue_id(r, i)) or None,
            transcript=t(lib.mailport_outbox_record_attempt_transcript(r, i)) or None,
        )
        for i in range(lib.mailport_outbox_record_attempt_count(r))
    )
    delivered_by = int(lib.mailport_outbox_record_delivered_by(r))
    if data is None:
        text = t(lib.mailport_outbox_record_json(r))
        data = json.loads(text) if text else {}
    return _results.OutboxRecord(
        id=t(lib.mailport_outbox_record_id(r)),
        state=outbox_state_or_int(int(lib.mailport_outbox_record_state(r))),
        created=int(lib.mailport_outbox_record_created(r)),
        due=int(lib.mailport_outbox_record_due(r)),
        message_id=t(lib.mailport_outbox_record_message_id(r)) or None,
        envelope_from=t(lib.mailport_outbox_record_envelope_from(r)),
        size=int(lib.mailport_outbox_record_size(r)),
        retries=int(lib.mailport_outbox_record_retries(r)),
        reason=t(lib.mailport_outbox_record_reason(r)) or None,
        maybe_delivered=bool(lib.mailport_outbox_record_maybe_delivered(r)),
        delivered_by=delivered_by if delivered_by >= 0 else None,
        recipients=recipients,
        attempts=attempts,
        data=data,
    )


def take_outbox_record(record) -> _results.OutboxRecord:
    """Read an owned ``mailport_outbox_record *`` and free it."""
    try:
        return read_outbox_record(record)
    finally:
        lib.mailport_outbox_record_free(record)


def take_outbox_records(records) -> list:
    """Read a ``mailport_outbox_records *`` into a list of OutboxRecord and free it. The list's
    JSON is read once, each record's document taken from it."""
    try:
        text = _text(lib.mailport_outbox_records_json(records))
        documents = json.loads(text) if text else []
        return [
            read_outbox_record(lib.mailport_outbox_records_record(records, i), documents[i])
            for i in range(lib.mailport_outbox_records_count(records))
        ]
    finally:
        lib.mailport_outbox_records_free(records)


def take_outbox_summary(summary) -> _results.OutboxSummary:
    """Read a ``mailport_outbox_summary *`` into an OutboxSummary and free it."""
    try:
        text = _text(lib.mailport_outbox_summary_json(summary))
        data = json.loads(text) if text else {}
        return _results.OutboxSummary(
            sent=int(lib.mailport_outbox_summary_sent(summary)),
            deferred=int(lib.mailport_outbox_summary_deferred(summary)),
            failed=int(lib.mailport_outbox_summary_failed(summary)),
            held=int(lib.mailport_outbox_summary_held(summary)),
            via_backup=int(lib.mailport_outbox_summary_via_backup(summary)),
            events=tuple(outbox_event_from_json(e) for e in data.get("events", ())),
            json=text,
        )
    finally:
        lib.mailport_outbox_summary_free(summary)


def call_id(name: str, *args) -> str:
    """Call an outbox enqueue function: ``args`` are the arguments before the id buffer; the
    buffer (``OUTBOX_ID_SIZE`` bytes, checked by the library before anything is stored) is
    appended. Returns the new entry's id. When the entry went in but a callback raised, the
    exception says which entry it was."""
    buf = ctypes.create_string_buffer(OUTBOX_ID_SIZE)
    try:
        call(name, *args, buf, OUTBOX_ID_SIZE, None)
    except BaseException as exc:
        if buf.value:
            _note(exc, f"the message was enqueued all the same, as outbox entry {_text(buf.value)}")
        raise
    return _text(buf.value)


def transcript(client) -> str:
    """A client's transcript: the owned copy, or on NULL the copy-out form, which says why."""
    owned = lib.mailport_client_transcript_copy(client)
    if owned:
        try:
            return ctypes.string_at(owned).decode("utf-8", "replace")
        finally:
            lib.mailport_string_free(owned)
    data = copy_out("mailport_client_transcript", client, nul=True, error_out=False)
    return data.decode("utf-8", "replace")


# -- arguments ------------------------------------------------------------------------------------


def enc(value, name: str) -> bytes:
    """A text argument as NUL-terminated UTF-8: str (or bytes) -> bytes.

    The only check made here: a NUL inside the string, which C would silently truncate at.
    Everything else (line breaks, invalid UTF-8, ...) is checked by the library."""
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise invalid_argument(
                f"{name} is not valid Unicode text: {error.reason} at index {error.start}"
            ) from None
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    at = data.find(b"\0")
    if at >= 0:
        raise invalid_argument(
            f"{name} contains a NUL byte at byte {at}",
            hint="C strings end at the first NUL, so mailport refuses text that contains one "
            "rather than cut it short; remove the NUL character",
        )
    return data


def enc_opt(value, name: str):
    return None if value is None else enc(value, name)


def enc_path(value, name: str) -> bytes:
    """A file path (str, bytes or os.PathLike) for the library."""
    return enc(os.fspath(value), name)


def data_bytes(value, name: str) -> bytes:
    """Binary input (attachments, PEM): bytes-like, or str encoded as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{name} must be bytes, not {type(value).__name__}")


def seconds_to_ms(value, name: str) -> int:
    """A duration in seconds (int or float) as whole milliseconds, at least 1 when positive; 0
    and negative values become 0, which the library refuses with a message naming the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if value <= 0:
        return 0
    return max(1, round(value * 1000))


def strings(values: list):
    """A ``const char *const *`` array of encoded strings (keep it alive during the call)."""
    return (c_char_p * len(values))(*values)


def uint16s(values: list):
    """A ``const uint16_t *`` array (the values are checked by the caller)."""
    return (c_uint16 * len(values))(*values)


def config_array(pointers: list):
    """A ``const mailport_config *const *`` array of config handles (keep it alive during the
    call)."""
    return (P(Config) * len(pointers))(*pointers)


def call_size(name: str, *args) -> int:
    """``call`` for a function whose parameter before ``error_out`` is ``size_t *out``."""
    n = c_size_t(0)
    call(name, *args, byref(n))
    return int(n.value)


def uint32s(values: list):
    """A ``const uint32_t *`` array (the values are checked by the caller), or None when empty."""
    return (c_uint32 * len(values))(*values) if values else None


# -- handles and the log callback -----------------------------------------------------------------


class Handle:
    """Base of every object that owns a C handle (wasmtime-py's ``Managed``).

    ``close()`` frees the C object and is idempotent; a ``weakref.finalize`` frees it when the
    object is garbage-collected without ``close()`` (a backstop, not a substitute: a Client's
    QUIT then happens whenever the collector runs). Any use after ``close()`` raises
    :class:`HandleError`, a ``ValueError``.
    """

    _free_name = ""  # the C function that frees this handle

    def __init__(self, ptr, *keepalive) -> None:
        if not ptr:
            raise MemoryError(f"mailport could not create a {type(self).__name__}")
        self._ptr = ptr
        # What a log callback raised while the handle was freed (a Client's QUIT): close()
        # re-raises it; when the collector frees the handle nobody is there to take it.
        self._free_box = box = []
        # The finalizer holds the pointer and whatever C may still call (log callbacks) until
        # the free function has returned; it must not hold self.
        self._finalizer = weakref.finalize(self, _free_handle, self._free_name, ptr, keepalive, box)

    def _handle(self):
        ptr = self._ptr
        if ptr is None:
            raise HandleError(f"this mailport.{type(self).__name__} is closed")
        return ptr

    # A copy would share the C pointer and free it twice: refuse, as PHP refuses clone.
    def __copy__(self):
        raise HandleError(f"a mailport.{type(self).__name__} cannot be copied")

    def __deepcopy__(self, memo):
        raise HandleError(f"a mailport.{type(self).__name__} cannot be copied")

    def __reduce__(self):
        raise HandleError(f"a mailport.{type(self).__name__} cannot be pickled")

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def close(self) -> None:
        """Free the C object now. Calling it again does nothing."""
        if self._ptr is None:
            return
        self._ptr = None
        self._finalizer()
        if self._free_box:
            pending = self._free_box.pop()
            _note(pending, f"raised by the log callback while the {type(self).__name__} closed")
            raise pending

    def __enter__(self):
        self._handle()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else "open"
        return f"<mailport.{type(self).__name__} {state}>"


def _free_handle(free_name: str, ptr, keepalive, box) -> None:
    capture = _log_state.begin()
    try:
        _functions[free_name](ptr)
    finally:
        pending, _cause = _log_state.end(capture)
        if pending is not None:
            box.append(pending)
    del keepalive


class _LogState(threading.local):
    """Per thread: the exception a log callback (or an outbox's event callback) raised during
    the current C call.

    Both callbacks run synchronously on the thread that called into the library, during that
    call, so a thread-local slot is exactly "this call". The trampoline stores the first
    exception there instead of letting it reach ctypes (which would print and drop it); ``call``
    re-raises it once the C function has returned.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.pending = None
        # What an OAuth token callback raised: the library already failed the call for it
        # (MAILPORT_ERR_OAUTH_CALLBACK), so it becomes that error's __cause__, not re-raised.
        self.cause = None

    def begin(self) -> int:
        self.depth += 1
        return self.depth

    def end(self, depth: int):
        """``(pending, cause)`` once the outermost call returns, else ``(None, None)``."""
        self.depth = depth - 1
        if self.depth == 0:
            pending, self.pending = self.pending, None
            cause, self.cause = self.cause, None
            return pending, cause
        return None, None

    @property
    def in_call(self) -> bool:
        """Whether this thread is inside a mailport call made through ``call``: false on a
        thread the library started itself, where nobody is there to receive an exception."""
        return self.depth > 0

    def store(self, exc: BaseException) -> None:
        if self.pending is None:
            self.pending = exc

    def store_cause(self, exc: BaseException) -> None:
        if self.cause is None:
            self.cause = exc


_log_state = _LogState()


def make_log_trampoline(function):
    """A ``mailport_log_callback`` calling ``function(kind, line)``, where kind is a
    :class:`LogKind` (or an int for kinds newer than this binding) and line a str; for None,
    the NULL callback (no logging).

    Exceptions (even KeyboardInterrupt) never cross into C: the first one is stored and
    re-raised when the C call returns."""
    if function is None:
        return LOG_CALLBACK()

    def trampoline(_userdata, kind, text, length):
        try:
            line = ctypes.string_at(text, length).decode("utf-8", "replace") if text else ""
            try:
                kind = LogKind(kind)
            except ValueError:
                pass
            function(kind, line)
        except BaseException as exc:  # noqa: BLE001 - must not unwind into C
            _log_state.store(exc)

    return LOG_CALLBACK(trampoline)


def make_event_trampoline(function, guard=None):
    """A ``mailport_outbox_event_callback`` calling ``function(event)`` with an
    :class:`OutboxEvent`; for None, the NULL callback. ``guard``: a context manager entered
    around each call (the outbox marks its callback as running).

    Exceptions (even KeyboardInterrupt) never cross into C: the first one is stored and
    re-raised when the C call returns, as for the log callback."""
    if function is None:
        return OUTBOX_EVENT_CALLBACK()

    def trampoline(_userdata, kind, id_, from_state, to_state, connection, server, text):
        try:
            event = _outbox_event(
                kind, _text(id_), from_state, to_state, connection, _text(server), _text(text)
            )
            if guard is None:
                function(event)
            else:
                with guard():
                    function(event)
        except BaseException as exc:  # noqa: BLE001 - must not unwind into C
            _log_state.store(exc)

    return OUTBOX_EVENT_CALLBACK(trampoline)
