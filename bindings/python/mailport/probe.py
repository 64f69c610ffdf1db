"""probe(): check a server's ports the way a send would connect; Report: what was found."""

from __future__ import annotations

import ctypes
import json as _json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from . import _ffi
from ._constants import ProbeFlag, Security, security_or_int
from ._ffi import call, enc, lib
from .config import Config, _invalid


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


def _take_report(report) -> Report:
    t = _ffi._text
    try:
        text = t(lib.mailport_report_json(report))
        data = _json.loads(text) if text else {}
        findings = []
        for i in range(lib.mailport_report_finding_count(report)):
            findings.append(
                Finding(
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
            recommendation = Recommendation(
                port=port,
                security=security_or_int(int(lib.mailport_report_recommended_security(report))),
                reason=t(lib.mailport_report_recommendation_reason(report)),
                line=t(lib.mailport_report_recommendation(report)),
            )
        return Report(
            ok=ok,
            summary=t(lib.mailport_report_summary(report)),
            recommendation=recommendation,
            findings=tuple(findings),
            json=text,
            data=data,
        )
    finally:
        lib.mailport_report_free(report)


class _ProbeOptions(_ffi.Handle):
    _free_name = "mailport_probe_options_free"


def probe(
    config: Union[Config, str],
    ports: Optional[Iterable[int]] = None,
    *,
    deadline: Optional[float] = None,
    greeting_wait: Optional[float] = None,
    envelope: Optional[Tuple[str, str]] = None,
    skip_auth: bool = False,
    allow_relay: bool = False,
) -> Report:
    """Check the config's server on each port, concurrently, and report what each does, which
    one to use and why. Nothing is sent.

    ``config`` is a :class:`Config` or a URL. ``ports`` in order of preference (default 587,
    465, 2525, 25): each is checked for what its number calls for (465 implicit TLS, others
    STARTTLS). ``deadline`` (seconds, default 30) bounds the whole check; ``greeting_wait``
    (default 5) is how long a silent port may wait before it is offered TLS. ``envelope``
    ``(from, to)`` also asks each working port whether it would take that envelope (then RSET).
    ``skip_auth`` does not try the config's credentials; ``allow_relay`` lets port 25 be
    recommended.

    A port that does not work is data in the report, not an exception: only misuse (no host, a
    missing CA file) raises. Blocks until the check ends (the GIL is released meanwhile).
    """
    own = None
    if isinstance(config, str):
        config = own = Config.from_url(config)
    try:
        with _ProbeOptions(lib.mailport_probe_options_new()) as options:
            opts = options._handle()
            if ports is not None:
                values = [int(p) for p in ports]
                array = (ctypes.c_uint16 * len(values))()
                for i, port in enumerate(values):
                    if not 0 <= port <= 0xFFFF:
                        raise _invalid(f"port {port} is not a TCP port (1-65535)")
                    array[i] = port
                call(lib.mailport_probe_options_set_ports, opts, array, len(values))
            if deadline is not None:
                ms = _ffi.seconds_to_ms(deadline, "deadline")
                call(lib.mailport_probe_options_set_deadline_ms, opts, min(ms, 0xFFFFFFFF))
            if greeting_wait is not None:
                ms = _ffi.seconds_to_ms(greeting_wait, "greeting_wait")
                call(lib.mailport_probe_options_set_greeting_wait_ms, opts, min(ms, 0xFFFFFFFF))
            flags = (ProbeFlag.SKIP_AUTH if skip_auth else 0) | (
                ProbeFlag.ALLOW_RELAY if allow_relay else 0
            )
            call(lib.mailport_probe_options_set_flags, opts, int(flags))
            if envelope is not None:
                sender, recipient = envelope
                call(
                    lib.mailport_probe_options_set_envelope,
                    opts,
                    enc(sender, "envelope from"),
                    enc(recipient, "envelope to"),
                )
            report = ctypes.POINTER(_ffi._native.Report)()
            call(lib.mailport_probe, config._handle(), opts, ctypes.byref(report))
        return _take_report(report)
    finally:
        if own is not None:
            own.close()


__all__ = ["probe", "Report", "Recommendation", "Finding"]
