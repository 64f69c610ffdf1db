"""What the C API hands back, as plain immutable Python values: :class:`Receipt` (a send),
:class:`Report` with :class:`Recommendation` and :class:`Finding` (a connection check), and the
outbox's :class:`OutboxRecord` (with :class:`OutboxRecipient` and :class:`OutboxAttempt`),
:class:`OutboxSummary` and :class:`OutboxEvent`. ``_ffi`` reads them from the C objects, which
are freed at once (a receipt's on first use: see :class:`Receipt`)."""

from __future__ import annotations

import json as _json
import threading
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Optional, Tuple, Union

from ._constants import OutboxEventKind, OutboxState, Security
from .errors import RejectedRecipient


@dataclass(frozen=True)
class Receipt:
    """What the server said when it accepted a message.

    ``reply_code`` (usually 250), ``enhanced_status`` ("2.0.0" or None), ``server_reply`` (often
    with the queue id), ``accepted`` (the recipients the server took), ``rejected`` (refused
    recipients, only with ``allow_partial_recipients``), ``port`` (the port used: with
    ``port="auto"`` the one chosen), ``security`` (in effect: never AUTO; OPPORTUNISTIC means
    STARTTLS was offered and used), ``tls_version`` / ``tls_cipher`` (None when not encrypted),
    ``size`` (bytes submitted), ``message_id`` (with brackets; None for ``send_raw``),
    ``tls_resumed`` (the TLS session was resumed from an earlier connection).

    A receipt from :meth:`Client.send` reads these from the C receipt when one is first used
    (then frees it), or frees it unread when the receipt is dropped: reading all of them is a
    dozen foreign calls, about a quarter of a message's CPU from Python, and most callers look
    at none. It is a plain value either way (compared, hashed, printed and pickled by its
    fields).
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
    # No defaults: a default is a class attribute, which would answer before __getattr__ reads
    # a deferred receipt.
    message_id: Optional[str]
    tls_resumed: bool

    @classmethod
    def _deferred(cls, read, native, free) -> "Receipt":
        """A receipt whose fields ``read(native)`` gives (a dict) on first use, ``free(native)``
        called after reading, or when the receipt is dropped unread."""
        receipt = object.__new__(cls)
        object.__setattr__(receipt, "_native", (read, native, free))
        return receipt

    def __getattr__(self, name):
        # Called only for an attribute the instance lacks: a field of a deferred receipt.
        if name.startswith("__") or name == "_native":
            raise AttributeError(name)
        with _DEFERRED_READ:
            pending = self.__dict__.pop("_native", None)
            if pending is not None:
                read, native, free = pending
                try:
                    values = read(native)
                finally:
                    free(native)
                for key, value in values.items():
                    object.__setattr__(self, key, value)
        return object.__getattribute__(self, name)

    def __del__(self):
        pending = self.__dict__.pop("_native", None)
        if pending is not None:
            try:
                pending[2](pending[1])
            except Exception:  # noqa: BLE001 - interpreter shutdown: the library may be gone
                pass

    def __getstate__(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def encrypted(self) -> bool:
        return self.tls_version is not None


#: Held while a deferred receipt is read, so that two threads using one receipt read it once.
_DEFERRED_READ = threading.Lock()


@dataclass(frozen=True)
class Recommendation:
    """The port to use and why: ``port``, ``security`` (STARTTLS or TLS), ``reason`` in plain
    words, and ``line``, the machine-readable form ("port=465 security=tls")."""

    port: int
    security: Union[Security, int]
    reason: str
    line: str

    def __str__(self) -> str:
        return self.line


@dataclass(frozen=True)
class Finding:
    """A problem or note: ``code`` ("port_refused", "certificate_expired", ... see
    docs/report-schema.md), ``message``, ``hint``, ``port`` (None for findings about the host)
    and ``severity`` ("info", "warning" or "error")."""

    code: str
    message: str
    hint: str
    port: Optional[int]
    severity: Optional[str] = None


@dataclass(frozen=True)
class Report:
    """The result of :func:`probe`, read from the C report (freed at once).

    ``ok`` (some port works), ``summary`` (a few sentences for people), ``recommendation``
    (:class:`Recommendation`, or None when no port works), ``findings``, ``json`` (the whole
    check as a JSON document, docs/report-schema.md) and ``data`` (that document parsed).
    """

    ok: bool
    summary: str
    recommendation: Optional[Recommendation]
    findings: Tuple[Finding, ...]
    json: str
    data: Dict[str, Any] = field(repr=False)

    def __str__(self) -> str:
        return self.summary

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class OutboxRecipient:
    """One recipient of an outbox entry: ``address``, ``state`` ("pending": the next attempt
    sends to it; "sent": a server accepted it; "failed": refused for good, or out of time) and
    ``reply``, the server's reply that settled it ("550 5.1.1 no such user"), or None."""

    address: str
    state: str
    reply: Optional[str]


@dataclass(frozen=True)
class OutboxAttempt:
    """One try at delivering an entry over one connection: ``at`` (Unix seconds), ``connection``
    (its index in the outbox's list, 0 the primary), ``server`` ("host:port"), ``outcome``
    ("sent", "transient", "permanent", "configuration" or "unknown"), ``kind`` (the error's
    kind, "connect_refused", "auth_failed", ..., or None), ``message`` (the error or the final
    reply in words), ``reply_code``, ``enhanced_status``, ``queue_id`` (the id the server gave
    the message: what to search its logs for) and ``transcript`` (only when the outbox keeps
    them), each None when absent."""

    at: int
    connection: int
    server: str
    outcome: str
    kind: Optional[str]
    message: str
    reply_code: Optional[int]
    enhanced_status: Optional[str]
    queue_id: Optional[str]
    transcript: Optional[str]


@dataclass(frozen=True)
class OutboxRecord:
    """Everything the outbox knows about one entry, as of when it was read.

    ``id``; ``state`` (an :class:`OutboxState`); ``created`` and ``due`` (Unix seconds: enqueue,
    next attempt); ``message_id`` (fixed at enqueue; None for a raw message); ``envelope_from``;
    ``size`` (bytes); ``retries`` (times deferred); ``reason`` (why it is failed, held,
    deferred or cancelled, or None); ``maybe_delivered`` (an attempt lost the server's answer
    after the whole message went out); ``delivered_by`` (the index of the connection that
    delivered it, or None); ``recipients`` and ``attempts``; ``data``, the record as the JSON
    document the spool keeps (docs/outbox.md), and ``json``, that document as text.
    """

    id: str
    state: Union[OutboxState, int]
    created: int
    due: int
    message_id: Optional[str]
    envelope_from: str
    size: int
    retries: int
    reason: Optional[str]
    maybe_delivered: bool
    delivered_by: Optional[int]
    recipients: Tuple[OutboxRecipient, ...]
    attempts: Tuple[OutboxAttempt, ...]
    data: Dict[str, Any] = field(repr=False, compare=False)

    @property
    def json(self) -> str:
        return _json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)

    @property
    def pending(self) -> Tuple[str, ...]:
        """The recipients a next attempt sends to."""
        return tuple(r.address for r in self.recipients if r.state == "pending")


@dataclass(frozen=True)
class OutboxEvent:
    """What the outbox's ``on_event`` callback hears, and what a run's summary lists.

    ``kind`` (an :class:`OutboxEventKind`). A state change has ``id``, ``from_state`` (None for
    an entry just enqueued), ``to_state`` (:class:`OutboxState`) and ``message`` (the last
    attempt's words, when an attempt caused it). A connection event (only when a connection
    starts failing or recovers, not for every message) has ``connection`` (its index, 0 the
    primary), ``server`` ("host:port") and, when failing, ``message`` (why). Absent values are
    None.
    """

    kind: Union[OutboxEventKind, int]
    id: Optional[str] = None
    from_state: Optional[Union[OutboxState, int]] = None
    to_state: Optional[Union[OutboxState, int]] = None
    connection: Optional[int] = None
    server: Optional[str] = None
    message: Optional[str] = None

    def __str__(self) -> str:
        if self.kind == OutboxEventKind.STATE_CHANGED:
            text = f"{self.id}: {self.from_state or 'new'} -> {self.to_state}"
        else:
            text = f"connection {self.connection} ({self.server}) {self.kind}"
        return f"{text}: {self.message}" if self.message else text


@dataclass(frozen=True)
class OutboxSummary:
    """What :meth:`Outbox.run` did: how many entries ended ``sent``, ``deferred``, ``failed``
    and ``held``, how many went out ``via_backup``, every :class:`OutboxEvent` of the run in
    order (``events``: the ``on_event`` callback is optional) and ``json``, the C summary's
    document."""

    sent: int
    deferred: int
    failed: int
    held: int
    via_backup: int
    events: Tuple[OutboxEvent, ...]
    json: str = field(repr=False)


__all__ = [
    "Receipt",
    "Report",
    "Recommendation",
    "Finding",
    "OutboxRecord",
    "OutboxRecipient",
    "OutboxAttempt",
    "OutboxEvent",
    "OutboxSummary",
]
