"""Plumbing shared by every handle: the one error path (``call``), string encoding with the NUL
check, the copy-out loop, the handle base class, and the log-callback trampoline."""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from ctypes import POINTER, byref

from . import _native
from ._constants import ErrorCode, LogKind
from .errors import (
    HandleError,
    InvalidAddress,
    InvalidArgumentError,
    MailportError,
    RejectedRecipient,
    exception_class,
)

lib = _native.lib


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


def take_error(code: int, err) -> MailportError:
    """Read a ``mailport_error *`` into an exception and free it. ``err`` may be NULL."""
    if not err:
        return error_from_code(code)
    try:
        code = int(lib.mailport_error_code(err)) or code
        rejected = tuple(
            RejectedRecipient(
                _text(lib.mailport_error_rejected_address(err, i)),
                int(lib.mailport_error_rejected_reply_code(err, i)),
                _text(lib.mailport_error_rejected_reply(err, i)),
            )
            for i in range(lib.mailport_error_rejected_count(err))
        )
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
            transcript=_text(lib.mailport_error_transcript(err)),
            rejected=rejected,
            invalid_addresses=invalid,
        )
    finally:
        lib.mailport_error_free(err)


def call(function, *args) -> None:
    """Call a fallible C function, appending the ``error_out`` parameter; raise on failure.

    The single error path: the error object is read into an exception and freed before raising,
    and an exception a log callback raised during the call is re-raised here (see ``_LogState``).
    """
    err = POINTER(_native.Error)()
    capture = _log_state.begin()
    try:
        code = function(*args, byref(err))
    finally:
        pending = _log_state.end(capture)
    if code != 0:
        error = take_error(code, err)
        if pending is not None:
            raise pending from error
        raise error
    if err:  # never on success, but never leak either
        lib.mailport_error_free(err)
    if pending is not None:
        _note(pending, "raised by the log callback; the mailport call itself succeeded")
        raise pending


def _note(exc: BaseException, note: str) -> None:
    add_note = getattr(exc, "add_note", None)  # Python 3.11+
    if add_note is not None:
        add_note(note)


def copy_out(function, *args, nul: bool, error_out: bool = True) -> bytes:
    """Run a copy-out function ``(…, buf, len, size_t *out_n[, error_out])`` until the whole
    output fits: a sizing call with ``NULL, 0``, then a buffer of the reported size (plus the NUL
    for text). Loops while ``MAILPORT_ERR_BUFFER_TOO_SMALL`` comes back (a rendered Date may
    change length between calls)."""
    size = 0
    for _ in range(16):
        n = ctypes.c_size_t(0)
        capacity = size + (1 if nul else 0)
        buf = ctypes.create_string_buffer(capacity) if capacity else None
        if error_out:
            err = POINTER(_native.Error)()
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


def enc(value, name: str) -> bytes:
    """A text argument as NUL-terminated UTF-8: str (or bytes) -> bytes.

    The only check made here: a NUL inside the string, which C would silently truncate at.
    Everything else (line breaks, invalid UTF-8, ...) is checked by the library."""
    if isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise InvalidArgumentError(
                f"{name} is not valid Unicode text: {error.reason} at index {error.start}",
                code=ErrorCode.INVALID_ARGUMENT,
                name=result_name(ErrorCode.INVALID_ARGUMENT),
            ) from None
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    at = data.find(b"\0")
    if at >= 0:
        raise InvalidArgumentError(
            f"{name} contains a NUL byte at byte {at}",
            code=ErrorCode.INVALID_ARGUMENT,
            name=result_name(ErrorCode.INVALID_ARGUMENT),
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
        getattr(lib, free_name)(ptr)
    finally:
        pending = _log_state.end(capture)
        if pending is not None:
            box.append(pending)
    del keepalive


class _LogState(threading.local):
    """Per thread: the exception a log callback raised during the current C call.

    The log callback runs synchronously on the thread that called into the client, during that
    call, so a thread-local slot is exactly "this call". The trampoline stores the first
    exception there instead of letting it reach ctypes (which would print and drop it); ``call``
    re-raises it once the C function has returned.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.pending = None

    def begin(self) -> int:
        self.depth += 1
        return self.depth

    def end(self, depth: int):
        self.depth = depth - 1
        if self.depth == 0:
            pending, self.pending = self.pending, None
            return pending
        return None

    def store(self, exc: BaseException) -> None:
        if self.pending is None:
            self.pending = exc


_log_state = _LogState()


def make_log_trampoline(function):
    """A ``mailport_log_callback`` calling ``function(kind, line)``, where kind is a
    :class:`LogKind` (or an int for kinds newer than this binding) and line a str.

    Exceptions (even KeyboardInterrupt) never cross into C: the first one is stored and
    re-raised when the C call returns."""

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

    return _native.LOG_CALLBACK(trampoline)
