"""Handles (close, context managers, finalizers, use after close), the log callback (lifetime,
exceptions), and threads."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import weakref

import pytest
from conftest import BINDING

import mailport


def config_for(server, **options) -> mailport.Config:
    return mailport.Config(
        host="127.0.0.1", port=server.port, security="none", command_timeout=5, **options
    )


def message(subject="s") -> mailport.Message:
    return mailport.Message().from_("a@example.com").to("b@example.org").subject(subject).text("t")


@pytest.mark.parametrize(
    "make",
    [
        lambda: mailport.Config(host="127.0.0.1"),
        lambda: mailport.Message(),
        lambda: mailport.Client(host="127.0.0.1"),
        lambda: mailport.WpMail(),
    ],
    ids=["Config", "Message", "Client", "WpMail"],
)
def test_double_close_is_harmless_and_use_after_close_is_clear(make):
    handle = make()
    assert not handle.closed
    assert "open" in repr(handle)
    handle.close()
    handle.close()
    assert handle.closed
    assert "closed" in repr(handle)
    use = {
        mailport.Config: lambda h: h.update(host="x.example"),
        mailport.Message: lambda h: h.subject("x"),
        mailport.Client: lambda h: h.noop(),
        mailport.WpMail: lambda h: h.add_to("a@example.org"),
    }[type(handle)]
    with pytest.raises(mailport.HandleError) as info:
        use(handle)
    assert isinstance(info.value, ValueError)
    assert f"mailport.{type(handle).__name__} is closed" in str(info.value)
    with pytest.raises(mailport.HandleError):
        with handle:
            pass


def test_closed_handles_cannot_be_passed_on(plain_server):
    msg = message()
    msg.close()
    with mailport.Client(config_for(plain_server)) as client:
        with pytest.raises(mailport.HandleError):
            client.send(msg)
    config = config_for(plain_server)
    config.close()
    with pytest.raises(mailport.HandleError):
        mailport.Client(config)
    with pytest.raises(mailport.HandleError):
        mailport.probe(config)


def test_context_managers_close(plain_server):
    with config_for(plain_server) as config:
        with mailport.Client(config) as client, message() as msg:
            client.send(msg)
        assert client.closed and msg.closed
        assert not config.closed
    assert config.closed
    # The client said QUIT when it was closed.
    assert " QUIT" in plain_server.wait_for_event("QUIT")


def test_config_may_be_closed_while_its_client_lives(plain_server):
    lines = []
    config = config_for(plain_server, log=lambda kind, line: lines.append(line))
    client = mailport.Client(config)
    config.close()  # the client holds a copy, and keeps the log callback alive
    del config
    gc.collect()
    client.send(message())
    client.close()
    assert any(line.startswith("EHLO") for line in lines)


def test_finalizer_frees_without_close(plain_server):
    client = mailport.Client(config_for(plain_server))
    client.noop()  # open a connection: freeing it says QUIT
    finalizer = client._finalizer
    ref = weakref.ref(client)
    assert finalizer.alive
    del client
    gc.collect()
    assert ref() is None
    assert not finalizer.alive
    assert " QUIT" in plain_server.wait_for_event("QUIT")

    for make in (mailport.Message, mailport.WpMail, lambda: mailport.Config(host="h.example")):
        handle = make()
        finalizer = handle._finalizer
        del handle
        gc.collect()
        assert not finalizer.alive


def test_finalizers_at_interpreter_exit(plain_server):
    # Objects never closed are freed at exit (weakref.finalize's atexit), a live client says QUIT,
    # and the interpreter exits cleanly.
    code = f"""
import mailport
config = mailport.Config(host="127.0.0.1", port={plain_server.port}, security="none",
                         log=lambda kind, line: None)
client = mailport.Client(config)
client.noop()
message = mailport.Message().subject("never sent")
print("done")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BINDING, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr == ""
    assert " QUIT" in plain_server.wait_for_event("QUIT")


def test_log_callback_receives_the_transcript(plain_server):
    events = []
    config = config_for(plain_server, log=lambda kind, line: events.append((kind, line)))
    assert config.log is not None
    with mailport.Client(config) as client:
        client.send(message())
    kinds = {kind for kind, _ in events}
    assert {mailport.LogKind.INFO, mailport.LogKind.SENT, mailport.LogKind.RECEIVED} <= kinds
    assert (mailport.LogKind.SENT, "DATA") in events
    assert any(
        kind == mailport.LogKind.RECEIVED and line.startswith("250") for kind, line in events
    )
    assert all("\n" not in line and "\r" not in line for _, line in events)
    # Turning it off
    config.set_log(None)
    assert config.log is None
    before = len(events)
    with mailport.Client(config) as client:
        client.noop()
    assert len(events) == before


class CallbackBoom(Exception):
    pass


def test_exception_in_the_callback_is_reraised_after_the_call(plain_server):
    calls = []
    raise_on = {"EHLO"}

    def log(kind, line):
        calls.append(line)
        if line.split(" ")[0] in raise_on:
            raise CallbackBoom(f"from the log callback at {line}")

    client = mailport.Client(config_for(plain_server, log=log))
    with pytest.raises(CallbackBoom, match="at EHLO"):
        client.send(message("sent anyway"))
    # The send itself went through: the exception did not unwind through C, the callback went
    # on being called, and only the first exception was kept.
    assert plain_server.only_message()["email"]["Subject"] == "sent anyway"
    assert "DATA" in calls[calls.index(next(c for c in calls if c.startswith("EHLO"))) :]
    # The interpreter and the client are fine.
    client.noop()
    client.reset()
    assert "C: NOOP" in client.transcript()
    # An exception raised while the client says QUIT comes out of close(), which still frees it.
    raise_on = {"QUIT"}
    with pytest.raises(CallbackBoom, match="at QUIT"):
        client.close()
    assert client.closed
    client.close()


def test_exception_in_the_callback_with_a_failed_call(refused_port):
    def log(kind, line):
        raise KeyError("callback bug")

    config = mailport.Config(host="127.0.0.1", port=refused_port, security="none", log=log)
    with mailport.Client(config) as client:
        with pytest.raises(KeyError) as info:
            client.noop()
    # The mailport error is kept as the cause.
    assert isinstance(info.value.__cause__, mailport.ConnectError)


def test_callback_cannot_reenter_its_client(plain_server):
    holder = {}

    def log(kind, line):
        if kind == mailport.LogKind.SENT and line == "NOOP":
            holder["client"].noop()

    holder["client"] = client = mailport.Client(config_for(plain_server, log=log))
    with pytest.raises(RuntimeError, match="own log callback"):
        client.noop()
    client.close()


def test_clients_in_threads(start_server):
    server = start_server("--mode", "plain")
    config = config_for(server)
    errors = []

    def worker(n):
        try:
            with mailport.Client(config) as client:
                for i in range(3):
                    client.send(message(f"thread {n} message {i}"))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(server.messages()) == 12
    config.close()


def test_one_client_shared_by_threads_is_serialized(plain_server):
    client = mailport.Client(config_for(plain_server))
    errors = []

    def worker(n):
        try:
            for i in range(3):
                client.send(message(f"{n}-{i}"))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    client.close()
    assert not errors
    assert len(plain_server.messages()) == 9


def test_handles_cannot_be_copied_or_pickled():
    # A copy would share the C pointer, and both finalizers would free it.
    import copy
    import ctypes
    import pickle

    with mailport.Config(host="smtp.example.com") as config:
        for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(mailport.HandleError):
                attempt(config)
    # A Message copies through the C library: each copy owns its own object.
    with mailport.Message().subject("one") as message:
        for copied in (copy.copy(message), copy.deepcopy(message)):
            with copied:
                assert ctypes.addressof(copied._handle().contents) != ctypes.addressof(
                    message._handle().contents
                )
        with pytest.raises(mailport.HandleError):
            pickle.dumps(message)
