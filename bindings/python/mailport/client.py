"""Client: one configuration, one reusable SMTP session; Receipt: what the server said."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field
from typing import Iterable, Optional, Tuple, Union

from . import _ffi
from ._constants import Security, security_or_int
from ._ffi import call, data_bytes, enc, lib
from .config import Config
from .errors import RejectedRecipient
from .message import Message


@dataclass(frozen=True)
class Receipt:
    """What the server said when it accepted a message (read from the C receipt, which is freed
    at once).

    ``reply_code`` (usually 250), ``enhanced_status`` ("2.0.0" or None), ``server_reply`` (often
    with the queue id), ``accepted`` (the recipients the server took), ``rejected`` (refused
    recipients, only with ``allow_partial_recipients``), ``port`` (the port used: with
    ``port="auto"`` the one chosen), ``security`` (in effect: never AUTO; OPPORTUNISTIC means
    STARTTLS was offered and used), ``tls_version`` / ``tls_cipher`` (None when not encrypted),
    ``size`` (bytes submitted), ``message_id`` (with brackets; None for ``send_raw``),
    ``tls_resumed`` (the TLS session was resumed from an earlier connection).
    """

    reply_code: int
    enhanced_status: Optional[str]
    server_reply: str
    accepted: Tuple[str, ...]
    rejected: Tuple[RejectedRecipient, ...]
    port: int
    security: Union[Security, int]
    tls_version: Optional[str]
    tls_cipher: Optional[str]
    size: int
    message_id: Optional[str] = field(default=None)
    tls_resumed: bool = field(default=False)

    @property
    def encrypted(self) -> bool:
        return self.tls_version is not None


def _take_receipt(receipt) -> Receipt:
    t = _ffi._text
    try:
        return Receipt(
            reply_code=int(lib.mailport_receipt_reply_code(receipt)),
            enhanced_status=t(lib.mailport_receipt_enhanced_status(receipt)) or None,
            server_reply=t(lib.mailport_receipt_server_reply(receipt)),
            accepted=tuple(
                t(lib.mailport_receipt_accepted(receipt, i))
                for i in range(lib.mailport_receipt_accepted_count(receipt))
            ),
            rejected=tuple(
                RejectedRecipient(
                    t(lib.mailport_receipt_rejected_address(receipt, i)),
                    int(lib.mailport_receipt_rejected_reply_code(receipt, i)),
                    t(lib.mailport_receipt_rejected_reply(receipt, i)),
                )
                for i in range(lib.mailport_receipt_rejected_count(receipt))
            ),
            port=int(lib.mailport_receipt_port(receipt)),
            security=security_or_int(int(lib.mailport_receipt_security(receipt))),
            tls_version=t(lib.mailport_receipt_tls_version(receipt)) or None,
            tls_cipher=t(lib.mailport_receipt_tls_cipher(receipt)) or None,
            size=int(lib.mailport_receipt_size(receipt)),
            tls_resumed=bool(lib.mailport_receipt_tls_resumed(receipt)),
            message_id=t(lib.mailport_receipt_message_id(receipt)) or None,
        )
    finally:
        lib.mailport_receipt_free(receipt)


class Client(_ffi.Handle):
    """An SMTP client: a copy of a Config and one session, opened on first use, kept open
    between messages and reopened when the server dropped it.

    ``Client(config)``, ``Client("smtps://user:pass@smtp.example.com")`` or
    ``Client(host=..., username=..., password=...)`` (the keywords of :class:`Config`). No
    network I/O happens until the first call that needs the server. ``close()`` (or leaving a
    ``with`` block) says QUIT and frees the client.

    Thread safety: a Client is used by one thread at a time; calls from several threads are
    serialized by a lock (make one client per thread to send in parallel). ctypes releases the
    GIL during each C call, so other Python threads run while the client waits for the server.
    """

    _free_name = "mailport_client_free"

    def __init__(self, config: Union[Config, str, None] = None, **options) -> None:
        own_config = None
        if config is None:
            config = own_config = Config(**options)
        elif isinstance(config, str):
            config = own_config = Config.from_url(config, **options)
        elif not isinstance(config, Config):
            raise TypeError(f"Client() takes a Config or a URL, not {type(config).__name__}")
        elif options:
            raise TypeError("give either a Config or keywords for one, not both")
        try:
            out = ctypes.POINTER(_ffi._native.Client)()
            call(lib.mailport_client_new, config._handle(), ctypes.byref(out))
            # The client holds a copy of the config's log callback pointer: keep the ctypes
            # function object alive until mailport_client_free has returned.
            super().__init__(out, config._log)
        finally:
            if own_config is not None:
                own_config.close()
        self._lock = threading.RLock()
        self._busy = False

    def _enter(self):
        """Take the client for one C call; refuse a call from the client's own log callback."""
        self._lock.acquire()
        if self._busy:
            self._lock.release()
            raise RuntimeError(
                "a mailport Client cannot be used from its own log callback (or re-entered "
                "while a call on it is in progress)"
            )
        self._busy = True
        try:
            return self._handle()
        except BaseException:
            self._busy = False
            self._lock.release()
            raise

    def _leave(self) -> None:
        self._busy = False
        self._lock.release()

    def send(self, message: Message) -> Receipt:
        """Send a message: connect if needed, MAIL FROM, RCPT TO for each of To, Cc and Bcc,
        DATA. Returns only after the server's final 2xx: the message is then the server's
        responsibility. Raises a :class:`MailportError` subclass otherwise."""
        if not isinstance(message, Message):
            raise TypeError(f"send() takes a mailport.Message, not {type(message).__name__}")
        receipt = ctypes.POINTER(_ffi._native.Receipt)()
        client = self._enter()
        try:
            call(lib.mailport_client_send, client, message._handle(), ctypes.byref(receipt))
        except BaseException:
            if receipt:  # the call succeeded, a log callback raised: do not leak the receipt
                lib.mailport_receipt_free(receipt)
            raise
        finally:
            self._leave()
        return _take_receipt(receipt)

    def send_raw(self, envelope_from: str, recipients: Union[str, Iterable[str]], data) -> Receipt:
        """Send an already formatted RFC 5322 message (bytes or str) to an explicit envelope.
        ``recipients`` is one address or a list; Bcc recipients belong here, not in a header."""
        if isinstance(recipients, (str, bytes)):
            recipients = [recipients]
        encoded = [enc(r, f"recipient {i + 1}") for i, r in enumerate(recipients)]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        payload = data_bytes(data, "data")
        sender = enc(envelope_from, "envelope_from")
        receipt = ctypes.POINTER(_ffi._native.Receipt)()
        client = self._enter()
        try:
            call(
                lib.mailport_client_send_raw,
                client,
                sender,
                array,
                len(encoded),
                payload,
                len(payload),
                ctypes.byref(receipt),
            )
        except BaseException:
            if receipt:
                lib.mailport_receipt_free(receipt)
            raise
        finally:
            self._leave()
        return _take_receipt(receipt)

    def noop(self) -> None:
        """Check that the server answers (NOOP), connecting first if needed."""
        self._simple(lib.mailport_client_noop)

    def reset(self) -> None:
        """Abort a transaction in progress (RSET); does nothing without a connection."""
        self._simple(lib.mailport_client_reset)

    def quit(self) -> None:
        """Say QUIT and close the connection; the client stays usable (a later send connects
        again). ``close()`` also frees the client."""
        self._simple(lib.mailport_client_close)

    def _simple(self, function) -> None:
        client = self._enter()
        try:
            call(function, client)
        finally:
            self._leave()

    @property
    def port(self) -> Optional[int]:
        """The TCP port in use: the configured one, or with ``port="auto"`` the one chosen on
        first use; None while that choice has not been made."""
        client = self._enter()
        try:
            return int(lib.mailport_client_port(client)) or None
        finally:
            self._leave()

    def transcript(self) -> str:
        """The redacted transcript of recent sessions (about 64 KiB): "C: " sent, "S: "
        received, "* " notes, one line each. Never holds credentials; message bodies only with
        ``transcript_bodies=True``."""
        client = self._enter()
        try:
            owned = lib.mailport_client_transcript_copy(client)
            if owned:
                try:
                    return ctypes.string_at(owned).decode("utf-8", "replace")
                finally:
                    lib.mailport_string_free(owned)
            # NULL: unusable client or internal error; the copy-out form says which.
            data = _ffi.copy_out(lib.mailport_client_transcript, client, nul=True, error_out=False)
            return data.decode("utf-8", "replace")
        finally:
            self._leave()

    def close(self) -> None:
        """Say QUIT (bounded by the command timeout) and free the client. Idempotent."""
        if self._ptr is None:
            return
        with self._lock:
            if self._busy:
                raise RuntimeError("a mailport Client cannot be closed from its own log callback")
            super().close()


__all__ = ["Client", "Receipt"]
