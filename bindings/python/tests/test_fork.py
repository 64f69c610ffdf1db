"""fork() after using the persistent pool and the TLS session cache (multiprocessing's "fork"
start method, what a pre-forking server does): the child never writes to the parent's
connection nor resumes the parent's TLS sessions, and the parent's pooled session still works.
Also ``drain_pool()`` for worker shutdown."""

from __future__ import annotations

import multiprocessing
import re

import pytest

import mailport

TO = "bob@example.org"


def config(server, persistent=True) -> mailport.Config:
    return mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        command_timeout=10,
        persistent=persistent,
        pool_idle_timeout=60,
    )


def raw(subject: str) -> bytes:
    return f"Subject: {subject}\r\n\r\nbody\r\n".encode()


def send(server, subject: str, persistent=True) -> str:
    """Send one message with a new client; return its transcript."""
    with config(server, persistent) as cfg, mailport.Client(cfg) as client:
        client.send_raw("alice@example.com", [TO], raw(subject))
        return client.transcript()


def _child(server_port: int, ca: str, results) -> None:
    class Server:
        port = server_port

    Server.ca = ca
    try:
        transcript = send(Server, "child")
        # The child's own session is QUIT; the inherited one is neither QUIT nor counted.
        drained = mailport.drain_pool(5)
        results.put(("ok", transcript, drained))
    except BaseException as exc:  # reported to the parent, which asserts
        results.put(("error", repr(exc), -1))


def by_subject(server) -> dict:
    return {m["email"]["subject"]: m for m in server.messages()}


def quits_on(server, conn: int) -> int:
    return len(re.findall(rf"^{conn} QUIT$", server.events(), re.M))


def test_a_forked_child_connects_anew_and_the_parents_pooled_session_survives(start_server):
    server = start_server("--mode", "starttls")
    mailport.drain_pool(5)  # what earlier tests left in this process's pool
    send(server, "parent before fork")  # the session goes to the pool; TLS tickets are cached

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_child, args=(server.port, server.ca, results))
    child.start()
    status, transcript, drained = results.get(timeout=60)
    child.join(60)
    assert status == "ok", transcript
    assert child.exitcode == 0
    assert "reusing a pooled connection" not in transcript, "the child used the parent's socket"
    assert "connected to 127.0.0.1" in transcript, "the child made its own connection"
    assert drained == 1, "the child's drain counts its own session only"

    # The parent's pooled session was not touched by the child: no QUIT on it, and it sends.
    after = send(server, "parent after fork")
    assert "reusing a pooled connection" in after

    # A new connection in the parent resumes TLS from the parent's cache ...
    send(server, "parent new connection", persistent=False)

    messages = by_subject(server)
    parent_conn = messages["parent before fork"]["conn"]
    assert messages["parent after fork"]["conn"] == parent_conn
    assert messages["child"]["conn"] != parent_conn
    assert quits_on(server, parent_conn) == 0, "someone said QUIT on the parent's connection"
    assert quits_on(server, messages["child"]["conn"]) == 1, "the child's drain said QUIT"
    assert messages["parent new connection"]["tls_resumed"], (
        "the parent did not resume TLS: the check below would prove nothing"
    )
    # ... but the child never resumed a session the parent had obtained.
    assert not messages["child"]["tls_resumed"], "the child resumed the parent's TLS session"
    mailport.drain_pool(5)


def test_drain_pool_quits_every_idle_session(start_server):
    server = start_server("--mode", "starttls")
    mailport.drain_pool(5)
    # Two clients at once: two connections, both pooled when the clients close.
    with config(server) as cfg, mailport.Client(cfg) as a, mailport.Client(cfg) as b:
        a.send_raw("alice@example.com", [TO], raw("a"))
        b.send_raw("alice@example.com", [TO], raw("b"))
    assert quits_on(server, 1) + quits_on(server, 2) == 0, "closing a persistent client QUITs"

    assert mailport.drain_pool(5) == 2
    events = server.wait_for_event("2 QUIT")
    assert quits_on(server, 1) == 1 and quits_on(server, 2) == 1, events
    assert mailport.drain_pool() == 0, "the pool is empty"

    # The pool stays usable: the next persistent client connects anew.
    transcript = send(server, "after drain")
    assert "reusing a pooled connection" not in transcript
    assert mailport.drain_pool(0) == 1, "timeout=0 still closes (without waiting)"


def test_drain_pool_refuses_a_bad_timeout():
    with pytest.raises(ValueError, match="timeout must be between 0 and 4294967 seconds"):
        mailport.drain_pool(-1)
    with pytest.raises(TypeError, match="number of seconds"):
        mailport.drain_pool("5")
