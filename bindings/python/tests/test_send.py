"""Sending through real aiosmtpd servers: plaintext, STARTTLS, implicit TLS, AUTH, attachments,
Unicode, raw messages, URLs and the one-call helper."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib

import pytest

import mailport

FROM = "Alice <alice@example.com>"
TO = "bob@example.org"


def plain_config(server, **options) -> mailport.Config:
    return mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="none",
        connect_timeout=5,
        command_timeout=5,
        **options,
    )


def content(part) -> str:
    """A text part's decoded content with LF line endings (7bit parts keep the wire's CRLF)."""
    return part.get_content().replace("\r\n", "\n")


def simple_message(subject="hello") -> mailport.Message:
    return mailport.Message().from_(FROM).to(TO).subject(subject).text("Hello, Bob.\n")


def test_a_receipt_is_read_on_first_use_and_is_a_plain_value(plain_server, monkeypatch):
    import copy
    import dataclasses
    import pickle
    import threading

    from mailport import _ffi

    reads, frees = [], []
    read, free = _ffi._read_receipt, _ffi.lib.mailport_receipt_free
    monkeypatch.setattr(_ffi, "_read_receipt", lambda r: reads.append(1) or read(r))
    monkeypatch.setattr(_ffi.lib, "mailport_receipt_free", lambda r: frees.append(1) or free(r))
    with plain_config(plain_server) as config, mailport.Client(config) as client:
        client.send(simple_message("dropped unread"))
        assert (reads, frees) == ([], [1]), "a receipt dropped unread is freed, not read"
        receipt = client.send(simple_message("read"))
        other = client.send(simple_message("read too"))
    assert (reads, frees) == ([], [1])
    # Eight threads touch the receipt at once: it is read once.
    barrier = threading.Barrier(8)
    seen = []

    def use():
        barrier.wait()
        seen.append((receipt.reply_code, receipt.message_id))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (reads, frees) == ([1], [1, 1]) and len(set(seen)) == 1
    assert seen[0][0] == 250 and seen[0][1].startswith("<")
    # A value like any dataclass, the other receipt read by comparison, copy, pickle and repr.
    assert receipt != other and receipt == copy.copy(receipt)
    assert pickle.loads(pickle.dumps(other)) == other and hash(other) == hash(copy.deepcopy(other))
    assert dataclasses.asdict(receipt)["accepted"] == (TO,) and "reply_code=250" in repr(other)
    assert dataclasses.replace(receipt, port=1).port == 1
    assert (reads, frees) == ([1, 1], [1, 1, 1])
    assert "_native" not in vars(receipt)
    with pytest.raises(AttributeError):
        receipt.no_such_field  # noqa: B018


def test_plaintext_send(plain_server):
    with plain_config(plain_server) as config, mailport.Client(config) as client:
        receipt = client.send(simple_message("plain"))
        assert client.port == plain_server.port
    assert receipt.reply_code == 250
    assert receipt.accepted == (TO,)
    assert receipt.rejected == ()
    assert receipt.port == plain_server.port
    assert receipt.security == mailport.Security.NONE
    assert receipt.tls_version is None and not receipt.encrypted
    assert receipt.size > 0
    assert receipt.message_id.startswith("<") and receipt.message_id.endswith("@example.com>")

    received = plain_server.only_message()
    assert received["mail_from"] == "alice@example.com"
    assert received["rcpt_tos"] == [TO]
    assert received["tls"] is False
    msg = received["email"]
    assert msg["Subject"] == "plain"
    assert msg["From"] == FROM
    assert msg["Message-ID"] == receipt.message_id
    assert content(msg) == "Hello, Bob.\n"


def test_starttls_send(start_server):
    server = start_server("--mode", "starttls", "--require-starttls")
    config = mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        command_timeout=5,
    )
    with mailport.Client(config) as client:
        receipt = client.send(simple_message("starttls"))
    config.close()
    assert receipt.security == mailport.Security.STARTTLS
    assert receipt.tls_version and receipt.tls_version.startswith("TLSv1.")
    assert receipt.tls_cipher
    received = server.only_message()
    assert received["tls"] is True
    assert received["email"]["Subject"] == "starttls"


def test_implicit_tls_send_trusting_the_server_ca(start_server):
    server = start_server("--mode", "tls")
    with open(server.ca, "rb") as f:
        pem = f.read()
    # The CA given in memory (ca_pem) rather than by path; TLS from the first byte.
    client = mailport.Client(
        host="127.0.0.1", port=server.port, security="tls", ca_pem=pem, command_timeout=5
    )
    with client:
        receipt = client.send(simple_message("implicit"))
    assert receipt.security == mailport.Security.TLS
    assert receipt.encrypted
    assert server.only_message()["tls"] is True


def test_untrusted_certificate_is_a_certificate_error(start_server):
    server = start_server("--mode", "tls")
    # Its CA is not given: the certificate chains to nothing trusted.
    client = mailport.Client(host="127.0.0.1", port=server.port, security="tls", command_timeout=5)
    with client, pytest.raises(mailport.CertificateError) as info:
        client.send(simple_message())
    assert info.value.name == "MAILPORT_ERR_CERT_UNTRUSTED"
    assert isinstance(info.value, mailport.TlsError)
    assert info.value.hint
    assert server.messages() == []


def test_auth_ok_and_the_password_never_appears(start_server):
    server = start_server("--mode", "starttls", "--auth", "user:s3cret-pw")
    lines = []
    config = mailport.Config(
        host="127.0.0.1",
        port=server.port,
        ca_file=server.ca,
        username="user",
        password="s3cret-pw",
        command_timeout=5,
        log=lambda kind, line: lines.append(line),
    )
    with mailport.Client(config) as client:
        client.send(simple_message("auth"))
        transcript = client.transcript()
    assert server.only_message()["auth_user"] == "user"
    assert "AUTH PLAIN <redacted>" in transcript
    assert "AUTH PLAIN <redacted>" in lines
    secret_forms = ["s3cret-pw", base64.b64encode(b"\0user\0s3cret-pw").decode()]
    for text in [transcript, *lines]:
        for secret in secret_forms:
            assert secret not in text


def test_auth_wrong_password(start_server):
    server = start_server("--mode", "starttls", "--auth", "user:right")
    config = mailport.Config(
        host="127.0.0.1",
        port=server.port,
        ca_file=server.ca,
        username="user",
        password="wrong-pw",
        command_timeout=5,
    )
    with mailport.Client(config) as client, pytest.raises(mailport.AuthenticationError) as info:
        client.send(simple_message())
    error = info.value
    assert error.code == mailport.ErrorCode.AUTH_FAILED
    assert error.name == "MAILPORT_ERR_AUTH_FAILED"
    assert error.reply_code == 535
    assert error.enhanced_status == "5.7.8"
    assert "535" not in error.server_reply or error.server_reply  # the reply text, verbatim
    assert error.hint
    assert str(error) == f"{error.message}\nhint: {error.hint}"
    assert error.transient is False
    assert "AUTH PLAIN <redacted>" in error.transcript
    assert "wrong-pw" not in error.transcript and "wrong-pw" not in str(error)
    assert base64.b64encode(b"\0user\0wrong-pw").decode() not in error.transcript
    assert server.messages() == []


def test_attachments_file_and_bytes(plain_server, tmp_path):
    report = tmp_path / "report.pdf"
    report_bytes = bytes(range(256)) * 40 + b"%%EOF"
    report.write_bytes(report_bytes)
    blob = b"\x00\x01\x02binary\xff" * 100
    message = (
        simple_message("attachments")
        .html("<p>See <img src='cid:logo'></p>")
        .attach_file(report)
        .attach_bytes(blob, "data.bin", "application/x-test")
        .attach_bytes("a,b\n1,2\n", "table.csv")
        .embed_bytes("logo", b"\x89PNG fake", "logo.png", "image/png")
    )
    with mailport.Client(plain_config(plain_server)) as client:
        client.send(message)
    msg = plain_server.only_message()["email"]
    attachments = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(attachments) >= {"report.pdf", "data.bin", "table.csv"}
    assert attachments["report.pdf"].get_content_type() == "application/pdf"
    assert attachments["report.pdf"].get_content() == report_bytes
    assert (
        hashlib.sha256(attachments["data.bin"].get_content()).digest()
        == hashlib.sha256(blob).digest()
    )
    assert attachments["data.bin"].get_content_type() == "application/x-test"
    assert attachments["table.csv"].get_content_type() == "text/csv"
    inline = [p for p in msg.walk() if p.get("Content-ID") == "<logo>"]
    assert len(inline) == 1 and inline[0].get_content() == b"\x89PNG fake"
    assert content(msg.get_body(("html",))).strip() == "<p>See <img src='cid:logo'></p>"
    assert content(msg.get_body(("plain",))) == "Hello, Bob.\n"


def test_unicode_subject_names_and_bodies(plain_server):
    subject = "Grüße aus Köln — 日本語の件名 ✓"
    message = (
        mailport.Message()
        .from_("juergen@example.com", name="Jürgen Müller")
        .to(('Doe, Jöhn "JJ"', "john@example.org"), "Zoë <zoe@example.org>")
        .cc(("Ünal, Ayşe", "ayse@example.org"))
        .bcc("hidden@example.org")
        .reply_to(("Support, Team", "support@example.com"))
        .subject(subject)
        .text("Ça va? Ünïcödé ✓\n")
        .html("<p>Ça va? ✓</p>")
        .attach_bytes(b"x", "résumé façade.txt")
    )
    with mailport.Client(plain_config(plain_server)) as client:
        receipt = client.send(message)
    assert set(receipt.accepted) == {
        "john@example.org",
        "zoe@example.org",
        "ayse@example.org",
        "hidden@example.org",
    }
    received = plain_server.only_message()
    msg = received["email"]
    assert msg["Subject"] == subject
    assert msg["From"].addresses[0].display_name == "Jürgen Müller"
    to = msg["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [
        ('Doe, Jöhn "JJ"', "john@example.org"),
        ("Zoë", "zoe@example.org"),
    ]
    assert msg["Cc"].addresses[0].display_name == "Ünal, Ayşe"
    assert msg["Reply-To"].addresses[0].display_name == "Support, Team"
    assert "Bcc" not in msg and b"hidden@" not in received["data"]
    assert content(msg.get_body(("plain",))) == "Ça va? Ünïcödé ✓\n"
    assert [p.get_filename() for p in msg.iter_attachments()] == ["résumé façade.txt"]
    # The message on the wire is 7-bit.
    assert max(received["data"]) < 128


def test_render_copy_headers_date_and_message_id():
    message = (
        simple_message("render")
        .date(1_700_000_000)
        .message_id("<fixed.1@example.com>")
        .header("X-Campaign", "spring")
        .header("X-Campaign", "summer")
        .sender("robot@example.com")
        .envelope_from("bounces@example.com")
    )
    first = message.render()
    assert first == message.render()  # date and id fixed: deterministic apart from boundaries
    msg = email.message_from_bytes(first, policy=email.policy.default)
    assert msg["Message-ID"] == "<fixed.1@example.com>"
    assert msg.get_all("X-Campaign") == ["spring", "summer"]
    assert msg["Sender"] == "robot@example.com"
    assert b"\r\n" in first and b"bounces@" not in first
    assert message.remove_header("x-campaign") == 2
    assert message.remove_header("X-Campaign") == 0

    variant = message.copy().subject("variant")
    assert (
        email.message_from_bytes(variant.render(), policy=email.policy.default)["Subject"]
        == "variant"
    )
    assert (
        email.message_from_bytes(message.render(), policy=email.policy.default)["Subject"]
        == "render"
    )
    variant.close()
    message.close()


def test_message_constructor_keywords_and_text_as(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("notes")
    message = mailport.Message(
        from_=("Ann", "ann@example.com"),
        to=["x@example.org", ("Y, Z", "y@example.org")],
        subject="kw",
        headers={"X-One": "1"},
        attachments=[path, ("inline.bin", b"\x00\x01")],
    ).text("BEGIN:VCALENDAR\nEND:VCALENDAR\n", media_type="text/calendar")
    msg = email.message_from_bytes(message.render(), policy=email.policy.default)
    assert msg["X-One"] == "1"
    assert [a.addr_spec for a in msg["To"].addresses] == ["x@example.org", "y@example.org"]
    assert [p.get_content_type() for p in msg.iter_parts()][0] == "text/calendar"
    names = sorted(p.get_filename() for p in msg.iter_attachments() if p.get_filename())
    assert names == ["inline.bin", "notes.txt"]


def test_send_raw(plain_server):
    data = (
        b"From: a@example.com\r\nTo: b@example.org\r\nSubject: raw\r\n\r\n.leading dot\r\nbody\r\n"
    )
    with mailport.Client(plain_config(plain_server)) as client:
        receipt = client.send_raw("a@example.com", ["b@example.org", "c@example.org"], data)
        again = client.send_raw("a@example.com", "d@example.org", data.decode())
    assert receipt.accepted == ("b@example.org", "c@example.org")
    assert receipt.message_id is None
    assert again.accepted == ("d@example.org",)
    first, second = plain_server.messages()
    assert first["rcpt_tos"] == ["b@example.org", "c@example.org"]
    assert first["data"].replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")
    assert second["conn"] == first["conn"]  # the session was reused


def test_noop_reset_quit_and_reconnect(plain_server):
    with mailport.Client(plain_config(plain_server)) as client:
        client.noop()
        client.reset()
        client.quit()
        client.send(simple_message("after quit"))  # connects again
        transcript = client.transcript()
    assert "C: NOOP" in transcript and "C: QUIT" in transcript
    assert plain_server.only_message()["conn"] == 2


def test_partial_recipients(start_server):
    server = start_server("--reject-rcpt", "nobody")
    config = plain_config(server, allow_partial_recipients=True)
    message = simple_message().to("nobody@example.org")
    with mailport.Client(config) as client:
        receipt = client.send(message)
    assert receipt.accepted == (TO,)
    assert len(receipt.rejected) == 1
    rejected = receipt.rejected[0]
    assert (rejected.address, rejected.reply_code) == ("nobody@example.org", 550)
    assert rejected.reply
    assert server.only_message()["rcpt_tos"] == [TO]


def test_config_from_url(plain_server):
    url = f"smtp+plain://127.0.0.1:{plain_server.port}"
    with mailport.Config.from_url(url, command_timeout=5) as config:
        with mailport.Client(config) as client:
            client.send(simple_message("url"))
    with mailport.Client(url) as client:  # a URL straight to the client
        client.send(simple_message("url2"))
    assert [m["email"]["Subject"] for m in plain_server.messages()] == ["url", "url2"]
    with pytest.raises(mailport.InvalidArgumentError) as info:
        mailport.Config.from_url("http://example.com")
    assert isinstance(info.value, ValueError)


def test_send_mail_one_call(start_server, tmp_path):
    server = start_server("--mode", "starttls", "--auth", "me:pw")
    path = tmp_path / "a.txt"
    path.write_text("attached")
    receipt = mailport.send_mail(
        server=f"smtp://127.0.0.1:{server.port}",
        user="me",
        password="pw",
        ca_file=server.ca,
        from_=("Me, Myself", "me@example.com"),
        to=["you@example.org", "them@example.org"],
        cc="cc@example.org",
        subject="one call",
        text="plain",
        html="<b>html</b>",
        headers={"X-Mailer-Test": "yes"},
        attachments=[path, ("b.bin", b"\x00\x01")],
    )
    assert receipt.reply_code == 250
    received = server.only_message()
    assert received["auth_user"] == "me"
    assert sorted(received["rcpt_tos"]) == ["cc@example.org", "them@example.org", "you@example.org"]
    msg = received["email"]
    assert msg["From"].addresses[0].display_name == "Me, Myself"
    assert msg["X-Mailer-Test"] == "yes"
    assert sorted(p.get_filename() for p in msg.iter_attachments()) == ["a.txt", "b.bin"]

    receipt = mailport.send_mail(
        host="127.0.0.1",
        port=server.port,
        ca_file=server.ca,
        user="me",
        password="pw",
        from_="me@example.com",
        to="you@example.org",
        subject="host form",
        text="x",
    )
    assert receipt.security == mailport.Security.STARTTLS
    with pytest.raises(TypeError):
        mailport.send_mail(from_="a@b.c", to="d@e.f")  # no server


def test_port_auto_and_security_words():
    config = mailport.Config(host="127.0.0.1", port="auto", security="starttls")
    with mailport.Client(config) as client:
        assert client.port is None  # not chosen before the first use
    config.update(port=mailport.PORT_AUTO, security=mailport.Security.TLS)
    with pytest.raises(mailport.InvalidArgumentError):
        config.update(security="sometimes")
    with pytest.raises(mailport.InvalidArgumentError):
        config.update(port=70000)
    with pytest.raises(mailport.InvalidArgumentError):
        config.update(security=99)
    with pytest.raises(mailport.InvalidArgumentError):
        config.update(connect_timeout=0)
    config.close()


def test_url_user_with_a_separate_password(start_server):
    password = "p@ss:w/rd%?#"
    server = start_server("--mode", "starttls", "--auth", f"me@example.com:{password}")
    url = f"smtp://me%40example.com@127.0.0.1:{server.port}"
    with mailport.Client(url, password=password, ca_file=server.ca) as client:
        client.send(simple_message("url user"))
    assert server.only_message()["auth_user"] == "me@example.com"
    # No user in the URL: the library says what is missing.
    with pytest.raises(mailport.InvalidArgumentError, match="no user name"):
        mailport.Config.from_url(f"smtp://127.0.0.1:{server.port}", password=password)


def test_example_script(start_server, tmp_path):
    import os
    import subprocess
    import sys

    from conftest import BINDING

    server = start_server("--mode", "starttls", "--auth", "me:pw")
    attachment = tmp_path / "notes.txt"
    attachment.write_text("notes")
    env = dict(os.environ, SMTP_PASSWORD="pw", PYTHONPATH=str(BINDING))
    result = subprocess.run(
        [
            sys.executable,
            str(BINDING / "examples" / "send.py"),
            "--server",
            f"smtp://me@127.0.0.1:{server.port}",
            "--ca-file",
            server.ca,
            "--from",
            "Me <me@example.com>",
            "--to",
            "you@example.org",
            "--subject",
            "example",
            "--text",
            "hello",
            "--attach",
            str(attachment),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "sent <" in result.stdout and "TLSv1." in result.stdout
    assert server.only_message()["email"]["Subject"] == "example"

    env["SMTP_PASSWORD"] = "wrong"
    result = subprocess.run(
        [
            sys.executable,
            str(BINDING / "examples" / "send.py"),
            "--server",
            f"smtp://me@127.0.0.1:{server.port}",
            "--ca-file",
            server.ca,
            "--from",
            "me@example.com",
            "--to",
            "you@example.org",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "not sent: " in result.stderr and "\nhint: " in result.stderr


def test_persistent_clients_share_one_connection(start_server):
    """Like php-fpm workers' requests: each client is new, the pooled session is reused."""
    server = start_server("--mode", "starttls")
    config = mailport.Config(
        host="127.0.0.1",
        port=server.port,
        security="starttls",
        ca_file=server.ca,
        command_timeout=5,
        persistent=True,
        pool_idle_timeout=30,
    )
    for i in range(3):
        with mailport.Client(config) as client:
            client.send(simple_message(f"persistent {i}"))
    config.close()
    assert len(server.messages()) == 3
    assert server.events().count(" CONNECT") == 1
