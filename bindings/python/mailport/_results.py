"""What the C API hands back, as plain immutable Python values: :class:`Receipt` (a send) and
:class:`Report` with :class:`Recommendation` and :class:`Finding` (a connection check). ``_ffi``
reads them from the C objects, which are freed at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple, Union

from ._constants import Security
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


__all__ = ["Receipt", "Report", "Recommendation", "Finding"]
