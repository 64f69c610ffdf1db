"""Persistent mode: a pooled session sends with the settings of the client that took it, never
with those of the client that opened it."""

from __future__ import annotations

import pytest

import mailport

TO = "bob@example.org"
REFUSED = "nobody@example.org"


def persistent_config(server, **options) -> mailport.Config:
    return mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        command_timeout=5,
        persistent=True,
        pool_idle_timeout=30,
        **options,
    )


def message(body: str) -> bytes:
    return f"Subject: pool\r\n\r\n{body}\r\n".encode()


def test_a_pooled_session_sends_with_the_settings_of_the_client_that_took_it(start_server):
    server = start_server("--mode", "starttls", "--reject-rcpt", "nobody")
    lenient = persistent_config(server, allow_partial_recipients=True, transcript_bodies=True)
    with mailport.Client(lenient) as a:
        receipt = a.send_raw("alice@example.com", [TO, REFUSED], message("body of A"))
        assert [r.address for r in receipt.rejected] == [REFUSED]
        assert "body of A" in a.transcript()
    lenient.close()

    # B takes A's session with the defaults: all recipients or none, no bodies logged.
    strict = persistent_config(server)
    with mailport.Client(strict) as b:
        with pytest.raises(mailport.RecipientsRejectedError):
            b.send_raw("alice@example.com", [TO, REFUSED], message("body of B"))
        b.send_raw("alice@example.com", [TO], message("second body of B"))
        transcript = b.transcript()
    strict.close()
    assert "reusing a pooled connection" in transcript
    assert "body of B" not in transcript
    assert "<message: " in transcript
    assert [m["rcpt_tos"] for m in server.messages()] == [[TO], [TO]]
    assert server.events().count(" CONNECT") == 1
