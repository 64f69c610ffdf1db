"""Client: one configuration, one reusable SMTP session; Receipt: what the server said."""

from __future__ import annotations

import threading
from typing import Iterable, Optional, Union

from . import _ffi
from ._ffi import call, call_out, data_bytes, enc
from ._results import Receipt
from .config import Config
from .message import Message


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
            out = call_out("mailport_client_new", config._handle())
            # The client holds copies of the config's callback pointers (log, OAuth): keep the
            # ctypes function objects alive until mailport_client_free has returned.
            super().__init__(out, config._callbacks())
        finally:
            if own_config is not None:
                own_config.close()
        self._lock = threading.RLock()
        self._busy = False

    def send(self, message: Message) -> Receipt:
        """Send a message: connect if needed, MAIL FROM, RCPT TO for each of To, Cc and Bcc,
        DATA. Returns only after the server's final 2xx: the message is then the server's
        responsibility. Raises a :class:`MailportError` subclass otherwise."""
        if not isinstance(message, Message):
            raise TypeError(f"send() takes a mailport.Message, not {type(message).__name__}")
        with _InUse(self) as client:
            receipt = call_out("mailport_client_send", client, message._handle())
        return _ffi.take_receipt(receipt)

    def send_raw(self, envelope_from: str, recipients: Union[str, Iterable[str]], data) -> Receipt:
        """Send an already formatted RFC 5322 message (bytes or str) to an explicit envelope.
        ``recipients`` is one address or a list; Bcc recipients belong here, not in a header."""
        if isinstance(recipients, (str, bytes)):
            recipients = [recipients]
        encoded = [enc(r, f"recipient {i + 1}") for i, r in enumerate(recipients)]
        array = _ffi.strings(encoded)
        payload = data_bytes(data, "data")
        sender = enc(envelope_from, "envelope_from")
        with _InUse(self) as client:
            receipt = call_out(
                "mailport_client_send_raw",
                client,
                sender,
                array,
                len(encoded),
                payload,
                len(payload),
            )
        return _ffi.take_receipt(receipt)

    def noop(self) -> None:
        """Check that the server answers (NOOP), connecting first if needed."""
        self._simple("mailport_client_noop")

    def reset(self) -> None:
        """Abort a transaction in progress (RSET); does nothing without a connection."""
        self._simple("mailport_client_reset")

    def quit(self) -> None:
        """Say QUIT and close the connection; the client stays usable (a later send connects
        again). ``close()`` also frees the client."""
        self._simple("mailport_client_close")

    def _simple(self, name: str) -> None:
        with _InUse(self) as client:
            call(name, client)

    @property
    def port(self) -> Optional[int]:
        """The TCP port in use: the configured one, or with ``port="auto"`` the one chosen on
        first use; None while that choice has not been made."""
        with _InUse(self) as client:
            return int(_ffi.invoke("mailport_client_port", client)) or None

    def transcript(self) -> str:
        """The redacted transcript of recent sessions (about 64 KiB): "C: " sent, "S: "
        received, "* " notes, one line each. Never holds credentials; message bodies only with
        ``transcript_bodies=True``."""
        with _InUse(self) as client:
            return _ffi.transcript(client)

    def close(self) -> None:
        """Say QUIT (bounded by the command timeout) and free the client. Idempotent."""
        if self._ptr is None:
            return
        with self._lock:
            if self._busy:
                raise RuntimeError("a mailport Client cannot be closed from its own log callback")
            super().close()


class _InUse:
    """``with _InUse(client) as ptr:``: the client's C pointer for one call. Calls from several
    threads are serialized by the client's lock; a call from the client's own log callback (the
    same thread, during a call) is refused. A class rather than a generator: it is on the send
    path."""

    __slots__ = ("client",)

    def __init__(self, client: Client) -> None:
        self.client = client

    def __enter__(self):
        client = self.client
        client._lock.acquire()
        if client._busy:
            client._lock.release()
            raise RuntimeError(
                "a mailport Client cannot be used from its own log callback (or re-entered "
                "while a call on it is in progress)"
            )
        try:
            ptr = client._handle()
        except BaseException:
            client._lock.release()
            raise
        client._busy = True
        return ptr

    def __exit__(self, *exc_info) -> None:
        client = self.client
        client._busy = False
        client._lock.release()


__all__ = ["Client", "Receipt"]
