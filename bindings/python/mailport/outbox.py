"""Outbox: a durable queue of messages, delivered (or explained) by ``run()``, never lost."""

from __future__ import annotations

import datetime
import threading
from contextlib import contextmanager
from typing import Callable, Iterable, List, Optional, Union

from . import _ffi
from ._constants import OutboxState
from ._ffi import call, call_out, data_bytes, enc, invalid_argument
from ._results import OutboxEvent, OutboxRecord, OutboxSummary
from .config import Config
from .message import Message

EventFunction = Callable[[OutboxEvent], None]

#: A state argument: an :class:`OutboxState`, its number, or its name ("deferred").
States = Union[OutboxState, int, str, Iterable[Union[OutboxState, int, str]]]

_UNSET = object()


class Outbox(_ffi.Handle):
    """A durable outbox on a spool directory (C: ``mailport_outbox``).

    ``Outbox.open("/var/spool/myapp", connections=[config, backup])`` (or ``Outbox(...)``, the
    same) opens or creates the spool (or, where the library supports it, a ``mysql://`` table
    shared by several machines) and copies the connection configs (a :class:`Config` or a URL
    each): the first is the primary, the others are backups tried at once when it fails for
    a reason a retry may cure. :meth:`enqueue` returns the entry's id once the message is
    durable on disk; :meth:`run` (here, in a worker, or from cron) delivers what is due and
    records every attempt: a transient failure defers the entry with doubling backoff until its
    lifetime is over, a permanent refusal fails the recipients refused, a configuration problem
    (credentials refused, certificate not trusted) holds it until the settings change or it is
    retried. Any number of outboxes, in this process or others, may work on one spool.

    Policy keywords (also :meth:`set_policy`; durations in seconds or as ``timedelta``):
    ``min_backoff`` (default 300, doubling with each failure), ``max_backoff`` (3600),
    ``lifetime`` (5 days), ``retry_unknown`` (True: a message whose answer was lost after it
    went out in full is sent again, with the same Message-ID), ``keep_sent`` (False: a sent
    message's body is dropped, its record kept), ``keep_transcripts`` (False).

    ``on_event=function`` is called with an :class:`OutboxEvent` on each state change of an
    entry and when a connection starts failing or recovers (not for every message): for
    alerting. It runs on the thread calling the outbox, during the call; an exception it raises
    does not interrupt the call: it is kept and raised when the call returns (after the message
    was enqueued, or the run finished). It may call :meth:`get` and :meth:`list` on this outbox,
    no other method. A run's events are also in its :class:`OutboxSummary`.

    Thread safety: every method may be called from several threads at once (several runs share
    out the entries), except :meth:`set_policy`, ``on_event`` and :meth:`close`, which wait
    until no call is in progress. The GIL is released during each C call.
    """

    _free_name = "mailport_outbox_free"

    def __init__(
        self,
        location,
        connections: Iterable[Union[Config, str]] = (),
        *,
        on_event: Optional[EventFunction] = None,
        **policy,
    ) -> None:
        configs, own = [], []
        try:
            for i, config in enumerate(connections):
                if isinstance(config, str):
                    config = Config.from_url(config)
                    own.append(config)
                elif not isinstance(config, Config):
                    raise TypeError(
                        f"connections[{i}] must be a Config or a URL, not {type(config).__name__}"
                    )
                configs.append(config)
            out = call_out(
                "mailport_outbox_open",
                _ffi.enc_path(location, "location"),
                _ffi.config_array([c._handle() for c in configs]),
                len(configs),
            )
            # The outbox's clients hold copies of the configs' callback pointers (log, OAuth): keep the
            # ctypes function objects alive until mailport_outbox_free has returned.
            super().__init__(out, [c._callbacks() for c in configs])
        finally:
            for config in own:
                config.close()
        self._gate = _Gate()
        self._on_event = None  # (function, CFUNCTYPE object) while a callback is set
        self.set_policy(**policy)
        if on_event is not None:
            self.on_event = on_event

    @classmethod
    def open(cls, location, connections: Iterable[Union[Config, str]] = (), **options) -> "Outbox":
        """Open (or create) the outbox at ``location``; the same as ``Outbox(...)``."""
        return cls(location, connections, **options)

    def set_policy(
        self,
        *,
        min_backoff=None,
        max_backoff=None,
        lifetime=None,
        retry_unknown: Optional[bool] = None,
        keep_sent: Optional[bool] = None,
        keep_transcripts: Optional[bool] = None,
    ) -> "Outbox":
        """Change the delivery policy (see the class); ``None`` leaves a setting as it is.
        Times are kept in whole seconds. Returns self."""
        with self._gate.exclusive(self) as outbox:
            for value, setter, name in (
                (min_backoff, "mailport_outbox_set_min_backoff_ms", "min_backoff"),
                (max_backoff, "mailport_outbox_set_max_backoff_ms", "max_backoff"),
                (lifetime, "mailport_outbox_set_lifetime_ms", "lifetime"),
            ):
                if value is not None:
                    call(setter, outbox, _duration_ms(value, name))
            for value, setter in (
                (retry_unknown, "mailport_outbox_set_retry_unknown"),
                (keep_sent, "mailport_outbox_set_keep_sent"),
                (keep_transcripts, "mailport_outbox_set_keep_transcripts"),
            ):
                if value is not None:
                    call(setter, outbox, bool(value))
        return self

    @property
    def on_event(self) -> Optional[EventFunction]:
        """The event callback (see the class), or None; assign to change it."""
        return self._on_event[0] if self._on_event else None

    @on_event.setter
    def on_event(self, function: Optional[EventFunction]) -> None:
        if function is not None and not callable(function):
            raise TypeError(f"on_event must be callable, not {type(function).__name__}")
        trampoline = _ffi.make_event_trampoline(function, self._gate.in_callback)
        with self._gate.exclusive(self) as outbox:
            call("mailport_outbox_set_event_callback", outbox, trampoline, None)
            self._on_event = None if function is None else (function, trampoline)

    def enqueue(self, message: Message) -> str:
        """Store ``message`` for delivery and return its entry id once it is durable. It is
        checked and rendered now: its Date and Message-ID are fixed and attachment files are
        copied into the spool, so every attempt sends the same message and the files may go.
        Raises (and stores nothing) when it has no From or recipient or a file is unreadable."""
        if not isinstance(message, Message):
            raise TypeError(f"enqueue() takes a mailport.Message, not {type(message).__name__}")
        with self._gate.call(self) as outbox:
            return _ffi.call_id("mailport_outbox_enqueue", outbox, message._handle())

    def enqueue_raw(self, sender: str, recipients: Union[str, Iterable[str]], data) -> str:
        """Store an already formatted RFC 5322 message (bytes or str) for the envelope
        ``sender`` (MAIL FROM; "" for the null sender) and ``recipients`` (one address or a
        list; Bcc recipients belong here, not in a header). Returns the entry id."""
        if isinstance(recipients, (str, bytes)):
            recipients = [recipients]
        encoded = [enc(r, f"recipient {i + 1}") for i, r in enumerate(recipients)]
        payload = data_bytes(data, "data")
        with self._gate.call(self) as outbox:
            return _ffi.call_id(
                "mailport_outbox_enqueue_raw",
                outbox,
                enc(sender, "sender"),
                _ffi.strings(encoded),
                len(encoded),
                payload,
                len(payload),
            )

    def run(self, limit: Optional[int] = None, deadline=None) -> OutboxSummary:
        """Deliver what is due (queued, deferred whose time has come, held under other
        settings), oldest first, each over the connections in order, and record what came of
        it. ``limit``: at most that many entries; ``deadline`` (seconds or ``timedelta``): claim
        no new entry after that long. What the servers do is recorded, not raised: only a
        spool that cannot be read or written, or an outbox without connections, raises."""
        limit_value = 0 if limit is None else _count(limit, "limit")
        deadline_ms = 0 if deadline is None else max(1, _duration_ms(deadline, "deadline"))
        with self._gate.call(self) as outbox:
            summary = call_out("mailport_outbox_run", outbox, limit_value, deadline_ms)
        return _ffi.take_outbox_summary(summary)

    def list(
        self, states: Optional[States] = None, limit: Optional[int] = None
    ) -> List[OutboxRecord]:
        """The records of the entries in ``states`` (one or several; all when None), oldest
        first, at most ``limit`` of them."""
        values = [] if states is None else [_state(s) for s in _as_list(states)]
        limit_value = 0 if limit is None else _count(limit, "limit")
        with self._gate.call(self, reading=True) as outbox:
            records = call_out(
                "mailport_outbox_list", outbox, _ffi.uint32s(values), len(values), limit_value
            )
        return _ffi.take_outbox_records(records)

    def get(self, id: str) -> OutboxRecord:
        """The record of the entry ``id``; InvalidArgumentError when there is none."""
        with self._gate.call(self, reading=True) as outbox:
            record = call_out("mailport_outbox_get", outbox, enc(id, "id"))
        return _ffi.take_outbox_record(record)

    def retry(self, id: str) -> OutboxRecord:
        """Try a deferred, held or failed entry again at the next run (a failed one also to the
        recipients that failed); returns its new record."""
        return self._change("mailport_outbox_retry", id)

    def cancel(self, id: str) -> OutboxRecord:
        """Give up on an entry not sent yet; returns its new record."""
        return self._change("mailport_outbox_cancel", id)

    def _change(self, name: str, id: str) -> OutboxRecord:
        with self._gate.call(self) as outbox:
            record = call_out(name, outbox, enc(id, "id"))
        return _ffi.take_outbox_record(record)

    def prune(self, older_than) -> int:
        """Remove the records of sent, failed and cancelled entries last touched more than
        ``older_than`` (seconds or ``timedelta``) ago; returns how many went."""
        ms = _duration_ms(older_than, "older_than")
        with self._gate.call(self) as outbox:
            return _ffi.call_size("mailport_outbox_prune", outbox, ms)

    def close(self) -> None:
        """Free the outbox (nothing on disk changes). Idempotent."""
        if self._ptr is None:
            return
        with self._gate.exclusive(self, closing=True):
            super().close()


class _Gate:
    """Who is using an outbox: calls run side by side (the C outbox allows it); the setters and
    close() wait until none is in progress, as the C API requires. The event callback runs
    inside a call: from it, only the reading methods may be used. It holds no reference to the
    outbox (the trampoline holds the gate), so the outbox is freed when it is dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._calls = 0
        self._local = threading.local()

    def _in_callback(self) -> int:
        return getattr(self._local, "callback", 0)

    @contextmanager
    def in_callback(self):
        self._local.callback = self._in_callback() + 1
        try:
            yield
        finally:
            self._local.callback -= 1

    @contextmanager
    def call(self, owner: Outbox, reading: bool = False):
        if self._in_callback() and not reading:
            raise RuntimeError(
                "an Outbox's on_event callback may only call get() and list() on it"
            )
        outbox = owner._handle()
        with self._cond:
            self._calls += 1
        try:
            yield outbox
        finally:
            with self._cond:
                self._calls -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self, owner: Outbox, closing: bool = False):
        if self._in_callback():
            what = "closed" if closing else "changed"
            raise RuntimeError(f"an Outbox cannot be {what} from its own on_event callback")
        with self._cond:
            self._cond.wait_for(lambda: self._calls == 0)
            yield None if closing else owner._handle()


def _duration_ms(value, name: str) -> int:
    """Seconds (int or float) or a timedelta as whole milliseconds; negative values refused."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if value < 0:
        raise invalid_argument(f"{name} must not be negative, got {value}")
    return min(round(value * 1000), 0xFFFFFFFFFFFFFFFF)


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value <= 0:
        raise invalid_argument(f"{name} must be at least 1, got {value}")
    return value


def _as_list(states) -> list:
    if isinstance(states, (str, int)):
        return [states]
    return list(states)


def _state(value) -> int:
    if isinstance(value, str):
        try:
            state = OutboxState[value.upper()]
        except KeyError:
            state = None
        if state is None or state is OutboxState.NONE:
            names = ", ".join(str(s) for s in OutboxState if s is not OutboxState.NONE)
            raise invalid_argument(f"state must be one of {names}, not {value!r}") from None
        return int(state)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a state must be an OutboxState or its name, not {type(value).__name__}")
    if not 0 <= value <= 0xFFFFFFFF:
        raise invalid_argument(f"{value} is not an outbox state")
    return int(value)  # unknown numbers are refused by the library


__all__ = ["Outbox", "OutboxRecord", "OutboxEvent", "OutboxSummary", "OutboxState"]
