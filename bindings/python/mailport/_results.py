"""What the C API hands back, as plain immutable Python values: :class:`Receipt` (a send),
:class:`Report` with :class:`Recommendation` and :class:`Finding` (a connection check), and the
outbox's :class:`OutboxRecord` (with :class:`OutboxRecipient` and :class:`OutboxAttempt`),
:class:`OutboxSummary` and :class:`OutboxEvent`. ``_ffi`` reads them from the C objects, which
are freed at once."""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple, Union

from ._constants import OutboxEventKind, OutboxState, Security
from .errors import RejectedRecipient


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
