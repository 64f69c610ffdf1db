"""mailport.Outbox against real aiosmtpd servers: enqueue, run, records, deferral, retry and
cancel, backup connections and their alerts, the on_event callback and its exceptions, the
ambiguous send, pruning, and misuse."""

from __future__ import annotations

import copy
import datetime
import threading
import time

import pytest

import mailport
from mailport import OutboxEventKind, OutboxState

FROM = "Shop <shop@example.com>"


def plain(server_or_port, **options) -> mailport.Config:
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.port
    return mailport.Config(
        host="127.0.0.1",
        port=port,
        security="none",
        connect_timeout=5,
        command_timeout=5,
        **options,
    )


def order(subject="order 1", to="ann@example.org") -> mailport.Message:
    return mailport.Message().from_(FROM).to(to).subject(subject).text(f"{subject}\n")


@pytest.fixture
def spool(tmp_path):
    return tmp_path / "spool"


def test_an_enqueued_message_is_delivered_and_its_record_tells_how(start_server, spool):
    server = start_server("--mode", "plain", "--queue-id")
    events = []
    with plain(server) as config, mailport.Outbox.open(
        spool, [config], on_event=events.append, keep_transcripts=True
    ) as outbox:
        id = outbox.enqueue(order())
        assert len(id) == mailport.OUTBOX_ID_SIZE - 1
        queued = outbox.get(id)
        assert queued.state is OutboxState.QUEUED
        assert queued.message_id.startswith("<")
        assert queued.envelope_from == "shop@example.com"
        assert [(r.address, r.state) for r in queued.recipients] == [("ann@example.org", "pending")]
        assert queued.pending == ("ann@example.org",)
        assert queued.attempts == () and queued.delivered_by is None

        summary = outbox.run()
        assert (summary.sent, summary.deferred, summary.failed, summary.held) == (1, 0, 0, 0)
        assert summary.via_backup == 0
        record = outbox.get(id)

    received = server.only_message()
    assert received["email"]["Message-ID"] == queued.message_id, "fixed at enqueue"
    assert record.state is OutboxState.SENT
    assert record.delivered_by == 0 and not record.maybe_delivered
    assert record.recipients[0].state == "sent"
    assert record.recipients[0].reply.startswith("250")
    (attempt,) = record.attempts
    assert (attempt.outcome, attempt.reply_code, attempt.kind) == ("sent", 250, None)
    assert attempt.queue_id == received["queue_id"]
    assert attempt.server == f"127.0.0.1:{server.port}"
    assert "RCPT TO:<ann@example.org>" in attempt.transcript
    assert record.data["state"] == "sent" and record.data["id"] == id
    assert '"state":"sent"' in record.json
    assert record.created <= attempt.at

    # The callback heard the enqueue and the delivery; the summary lists the run's events.
    assert [(e.kind, e.id, e.from_state, e.to_state) for e in events] == [
        (OutboxEventKind.STATE_CHANGED, id, None, OutboxState.QUEUED),
        (OutboxEventKind.STATE_CHANGED, id, OutboxState.QUEUED, OutboxState.SENT),
    ]
    assert events[1].message.startswith("250")
    assert summary.events == (events[1],)
    assert str(events[1]).startswith(f"{id}: queued -> sent: 250")


def test_a_deferred_entry_can_be_retried_and_cancelled(start_server, spool):
    server = start_server("--mode", "plain", "--tempfail-rcpt", "busy")
    with mailport.Outbox(spool, [f"smtp+plain://127.0.0.1:{server.port}"],
                         min_backoff=60, max_backoff=datetime.timedelta(minutes=2)) as outbox:
        raw = b"From: shop@example.com\r\nSubject: later\r\n\r\nlater\r\n"
        id = outbox.enqueue_raw("shop@example.com", "busy@example.org", raw)
        summary = outbox.run(limit=10, deadline=30)
        assert summary.deferred == 1, summary
        record = outbox.get(id)
        assert record.state is OutboxState.DEFERRED
        assert record.retries == 1 and record.message_id is None
        assert 59 <= record.due - record.attempts[-1].at <= 61, "60 s backoff"
        assert "450" in record.reason
        assert record.attempts[-1].reply_code == 450
        assert record.attempts[-1].outcome == "transient"
        assert record.recipients[0].reply.startswith("450")
        # Not due yet: another run leaves it alone.
        assert outbox.run().deferred == 0

        assert outbox.retry(id).state is OutboxState.QUEUED
        cancelled = outbox.cancel(id)
        assert cancelled.state is OutboxState.CANCELLED and cancelled.reason == "cancelled"
        with pytest.raises(mailport.InvalidArgumentError, match="nothing to retry"):
            outbox.retry(id)
        with pytest.raises(mailport.InvalidArgumentError, match="already cancelled"):
            outbox.cancel(id)
        assert [r.id for r in outbox.list("cancelled")] == [id]
        assert [r.id for r in outbox.list([OutboxState.CANCELLED, "sent"], limit=1)] == [id]
        assert outbox.list(states=OutboxState.QUEUED) == []
    assert server.messages() == []


def test_a_backup_delivers_while_the_primary_is_down_and_one_alert_fires(
    start_server, refused_port, spool
):
    backup = start_server("--mode", "plain")
    events = []
    with mailport.Outbox(spool, [plain(refused_port), plain(backup)]) as outbox:
        outbox.on_event = events.append
        assert outbox.on_event == events.append
        first = outbox.enqueue(order("one"))
        outbox.enqueue(order("two", "bob@example.org"))
        summary = outbox.run()
        record = outbox.get(first)
    assert (summary.sent, summary.via_backup) == (2, 2), summary
    assert len(backup.messages()) == 2
    assert record.delivered_by == 1
    assert [(a.connection, a.outcome, a.kind) for a in record.attempts] == [
        (0, "transient", "connect_refused"),
        (1, "sent", None),
    ]
    failing = [e for e in events if e.kind is OutboxEventKind.CONNECTION_FAILING]
    assert len(failing) == 1, "one alert for the primary, not one per message"
    assert (failing[0].connection, failing[0].server) == (0, f"127.0.0.1:{refused_port}")
    assert "refused" in failing[0].message and failing[0].id is None
    assert [e for e in summary.events if e.kind is OutboxEventKind.CONNECTION_FAILING] == failing


def test_an_exception_in_on_event_is_raised_after_the_call_which_still_happened(spool):
    def boom(event):
        raise ValueError(f"alerting failed for {event.id}")

    with mailport.Outbox(spool, on_event=boom) as outbox:
        with pytest.raises(ValueError, match="alerting failed") as info:
            outbox.enqueue(order())
        (entry,) = outbox.list()
        assert entry.state is OutboxState.QUEUED, "the message went in all the same"
        notes = getattr(info.value, "__notes__", [])
        if hasattr(info.value, "add_note"):  # Python 3.11+
            assert any(entry.id in note for note in notes), notes
        outbox.on_event = None
        assert outbox.cancel(entry.id).state is OutboxState.CANCELLED


def test_on_event_may_read_the_outbox_but_not_change_it(spool):
    seen = []

    def look(event):
        seen.append(outbox.get(event.id).state)
        outbox.cancel(event.id)  # refused: raised after the enqueue returns

    with mailport.Outbox(spool, on_event=look) as outbox:
        with pytest.raises(RuntimeError, match="may only call get"):
            outbox.enqueue(order())
        with pytest.raises(RuntimeError, match="cannot be changed from its own on_event"):
            outbox.on_event = lambda event: outbox.set_policy(keep_sent=True)
            outbox.enqueue(order("two"))
    assert seen == [OutboxState.QUEUED]


def test_a_lost_answer_fails_the_entry_as_maybe_delivered_when_told_not_to_resend(
    start_server, spool
):
    server = start_server("--mode", "plain", "--hang", "data")
    config = plain(server, data_timeout=1)
    with mailport.Outbox(spool, [config], retry_unknown=False) as outbox:
        id = outbox.enqueue(order())
        assert outbox.run().failed == 1
        record = outbox.get(id)
    assert record.state is OutboxState.FAILED
    assert record.maybe_delivered
    assert record.attempts[-1].outcome == "unknown"
    assert "may have been delivered" in record.reason

    # A direct send says the same on its exception.
    with mailport.Client(config) as client, pytest.raises(mailport.MailportError) as info:
        client.send(order())
    assert info.value.outcome_unknown is True
    config.close()


def test_prune_removes_old_finished_records_only(plain_server, spool):
    with plain(plain_server) as config, mailport.Outbox(spool, [config]) as outbox:
        sent = outbox.enqueue_raw("shop@example.com", ["bob@example.org"], "Subject: raw\n\nbody\n")
        outbox.run()
        received = plain_server.only_message()
        assert received["rcpt_tos"] == ["bob@example.org"]
        assert received["data"] == b"Subject: raw\r\n\r\nbody\r\n", "sent as given, CRLF"
        waiting = outbox.enqueue(order("two"))
        assert outbox.prune(3600) == 0
        time.sleep(1.1)
        assert outbox.prune(0) == 1
        assert [r.id for r in outbox.list()] == [waiting]
        with pytest.raises(mailport.InvalidArgumentError, match="no entry"):
            outbox.get(sent)


def test_several_threads_enqueue_while_a_run_delivers(plain_server, spool):
    with plain(plain_server) as config, mailport.Outbox(spool, [config]) as outbox:
        ids, errors = [], []

        def enqueue(n):
            try:
                for i in range(3):
                    ids.append(outbox.enqueue(order(f"t{n}-{i}")))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=enqueue, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        first = outbox.run()
        for t in threads:
            t.join()
        rest = outbox.run()
    assert errors == []
    assert len(set(ids)) == 9
    assert first.sent + rest.sent == 9
    assert len(plain_server.messages()) == 9


def test_misuse_is_refused_with_clear_errors(spool, plain_server):
    with pytest.raises(TypeError, match=r"connections\[0\]"):
        mailport.Outbox(spool, [42])
    with pytest.raises(mailport.InvalidArgumentError, match="host is not set"):
        mailport.Outbox(spool, [mailport.Config()])
    with pytest.raises(mailport.InvalidArgumentError, match="location is empty"):
        mailport.Outbox("")
    with pytest.raises(mailport.InvalidArgumentError, match="must not be negative"):
        mailport.Outbox(spool, min_backoff=-1)
    outbox = mailport.Outbox(spool)
    with pytest.raises(mailport.InvalidArgumentError, match="no connection"):
        outbox.run()
    with pytest.raises(mailport.InvalidArgumentError, match="not an outbox entry id"):
        outbox.get("../../etc/passwd")
    with pytest.raises(mailport.InvalidArgumentError, match="contains a NUL"):
        outbox.get("x\0y")
    with pytest.raises(mailport.InvalidArgumentError, match="state must be one of"):
        outbox.list("lost")
    with pytest.raises(mailport.InvalidArgumentError, match="not an entry state"):
        outbox.list(99)
    with pytest.raises(mailport.InvalidArgumentError, match="at least 1"):
        outbox.list(limit=0)
    with pytest.raises(mailport.InvalidArgumentError, match="no From"):
        outbox.enqueue(mailport.Message().to("ann@example.org"))
    with pytest.raises(TypeError):
        outbox.enqueue("not a message")
    with pytest.raises(TypeError):
        outbox.on_event = "not callable"
    with pytest.raises(mailport.HandleError):
        copy.copy(outbox)
    assert outbox.list() == [], "nothing was enqueued by the failures"
    outbox.close()
    outbox.close()
    assert outbox.closed
    with pytest.raises(mailport.HandleError, match="closed"):
        outbox.list()
