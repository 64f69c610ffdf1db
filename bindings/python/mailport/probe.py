"""probe(): check a server's ports the way a send would connect; Report: what was found."""

from __future__ import annotations

from typing import Iterable, Optional, Tuple, Union

from . import _ffi
from ._constants import ProbeFlag
from ._ffi import call, call_out, enc, invalid_argument
from ._results import Finding, Recommendation, Report
from .config import Config


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
        with _ProbeOptions(_ffi.invoke("mailport_probe_options_new")) as options:
            opts = options._handle()
            if ports is not None:
                values = [int(p) for p in ports]
                for port in values:
                    if not 0 <= port <= 0xFFFF:
                        raise invalid_argument(f"port {port} is not a TCP port (1-65535)")
                call("mailport_probe_options_set_ports", opts, _ffi.uint16s(values), len(values))
            if deadline is not None:
                ms = _ffi.seconds_to_ms(deadline, "deadline")
                call("mailport_probe_options_set_deadline_ms", opts, min(ms, 0xFFFFFFFF))
            if greeting_wait is not None:
                ms = _ffi.seconds_to_ms(greeting_wait, "greeting_wait")
                call("mailport_probe_options_set_greeting_wait_ms", opts, min(ms, 0xFFFFFFFF))
            flags = (ProbeFlag.SKIP_AUTH if skip_auth else 0) | (
                ProbeFlag.ALLOW_RELAY if allow_relay else 0
            )
            call("mailport_probe_options_set_flags", opts, int(flags))
            if envelope is not None:
                sender, recipient = envelope
                call(
                    "mailport_probe_options_set_envelope",
                    opts,
                    enc(sender, "envelope from"),
                    enc(recipient, "envelope to"),
                )
            report = call_out("mailport_probe", config._handle(), opts)
        return _ffi.take_report(report)
    finally:
        if own is not None:
            own.close()


__all__ = ["probe", "Report", "Recommendation", "Finding"]
