"""Fixtures: real SMTP servers (aiosmtpd via tests/servers/aiosmtpd_server.py at the repository
root) and OAuth 2.0 token endpoints (tests/servers/oauth_server.py) on 127.0.0.1, with
certificates made at test time, and a port nothing listens on.

The package under test is the source tree beside this directory (not an installed copy); the
shared library is found by its usual search (``$MAILPORT_LIBRARY``, else ``target/…``)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import selectors
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BINDING = Path(__file__).resolve().parents[1]
REPO = BINDING.parents[1]
SERVER_SCRIPT = REPO / "tests" / "servers" / "aiosmtpd_server.py"
OAUTH_SCRIPT = REPO / "tests" / "servers" / "oauth_server.py"
HEADER = REPO / "include" / "mailport.h"

sys.path.insert(0, str(BINDING))

READY_TIMEOUT = 30.0


class SmtpServer:
    """A running aiosmtpd: ``port``, ``host``, ``ca`` (the CA to trust), ``dir``."""

    def __init__(self, process: subprocess.Popen, info: dict, stderr_path: Path) -> None:
        self.process = process
        self.port = int(info["port"])
        self.host = info.get("host", "127.0.0.1")
        self.ca = info["ca"]
        self.dir = Path(info["dir"])
        self.stderr_path = stderr_path

    def messages(self) -> list:
        """Every accepted message, in order: the JSON record plus ``data`` (bytes) and
        ``email`` (parsed with the email package's modern policy)."""
        records = []
        for path in sorted(self.dir.glob("msg-*.json"), key=lambda p: int(p.stem.split("-")[1])):
            record = json.loads(path.read_text())
            record["data"] = base64.b64decode(record["data_b64"])
            record["email"] = email.message_from_bytes(record["data"], policy=email.policy.default)
            records.append(record)
        return records

    def only_message(self) -> dict:
        messages = self.messages()
        assert len(messages) == 1, f"expected one message, the server has {len(messages)}"
        return messages[0]

    def events(self) -> str:
        path = self.dir / "events.log"
        return path.read_text() if path.exists() else ""

    def wait_for_event(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if needle in events or time.monotonic() > deadline:
                return events
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # EOF on stdin: the server exits
            except OSError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _start_server(directory: Path, args) -> SmtpServer:
    process, info, stderr_path = start_ready_process(SERVER_SCRIPT, directory, args)
    return SmtpServer(process, info, stderr_path)


def start_ready_process(script: Path, directory: Path, args):
    """Run one of tests/servers/*.py with ``--dir directory`` and ``args`` until it prints its
    ``READY {json}`` line; return (process, that JSON, the stderr file). It exits when its stdin
    closes."""
    directory.mkdir(parents=True, exist_ok=True)
    python = os.environ.get("MAILPORT_TEST_PYTHON", sys.executable)
    stderr_path = directory.parent / (directory.name + ".stderr")
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [python, str(script), "--dir", str(directory), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + READY_TIMEOUT
    line = b""
    try:
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    finally:
        selector.close()
    if not line.startswith(b"READY "):
        process.kill()
        process.wait()
        raise RuntimeError(
            f"the test server {script.name} did not start ({' '.join(map(str, args))}): "
            f"stdout {line!r}, stderr:\n{stderr_path.read_text(errors='replace')}\n"
            "It needs aiosmtpd and trustme: python3 -m pip install aiosmtpd trustme"
        )
    return process, json.loads(line[len(b"READY ") :]), stderr_path


@pytest.fixture
def start_server(tmp_path):
    """``start_server("--mode", "starttls", "--auth", "user:pw")`` -> SmtpServer, stopped at
    teardown."""
    servers = []

    def start(*args) -> SmtpServer:
        server = _start_server(tmp_path / f"smtp{len(servers)}", args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class OAuthEndpoint:
    """A running tests/servers/oauth_server.py: ``url``, ``ca`` (its CA), ``dir``; ``control``
    and ``state`` call its /control and /state."""

    def __init__(self, process: subprocess.Popen, info: dict) -> None:
        self.process = process
        self.url = info["url"]
        self.ca = info["ca"]
        self.dir = Path(info["dir"])
        self._context = ssl.create_default_context(cafile=self.ca)

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def introspect_url(self) -> str:
        return self.url + "/introspect"

    def _request(self, path: str, body=None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self._context, timeout=10) as response:
            return json.load(response)

    def control(self, **settings) -> dict:
        """POST /control, e.g. ``control(mode="invalid_grant")``, ``control(revoke_refresh=T)``."""
        return self._request("/control", settings)

    def state(self) -> dict:
        return self._request("/state")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


@pytest.fixture
def start_oauth(tmp_path):
    """``start_oauth("--rotate", "--client", "id:secret", ...)`` -> OAuthEndpoint (its flags:
    tests/servers/oauth_server.py), stopped at teardown."""
    endpoints = []

    def start(*args) -> OAuthEndpoint:
        directory = tmp_path / f"oauth{len(endpoints)}"
        process, info, _ = start_ready_process(OAUTH_SCRIPT, directory, args)
        endpoint = OAuthEndpoint(process, info)
        endpoints.append(endpoint)
        return endpoint

    yield start
    for endpoint in endpoints:
        endpoint.stop()


@pytest.fixture
def plain_server(start_server) -> SmtpServer:
    return start_server("--mode", "plain")


@pytest.fixture
def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def header_text() -> str:
    return HEADER.read_text()
