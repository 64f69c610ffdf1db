"""Each kind of failure raises its exception class, with the details of the C error object."""

from __future__ import annotations

import time

import pytest

import mailport


def config_for(server_or_port, **options) -> mailport.Config:
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.port
    settings = dict(
        host="127.0.0.1", port=port, security="none", connect_timeout=5, command_timeout=5
    )
    settings.update(options)
    return mailport.Config(**settings)


def message() -> mailport.Message:
    return mailport.Message().from_("a@example.com").to("b@example.org").subject("s").text("t")


def test_refused_port_is_a_connect_error(refused_port):
    with mailport.Client(config_for(refused_port)) as client:
        with pytest.raises(mailport.ConnectError) as info:
            client.send(message())
    error = info.value
    assert isinstance(error, ConnectionError)
    assert isinstance(error, ConnectionRefusedError)
    assert isinstance(error, mailport.MailportError)
    assert error.code == mailport.ErrorCode.CONNECT_REFUSED == 21
    assert error.name == "MAILPORT_ERR_CONNECT_REFUSED"
    assert error.transient is True
    assert error.reply_code is None and error.enhanced_status is None
    assert str(refused_port) in error.message
    assert error.hint and str(error).endswith("\nhint: " + error.hint)
    # smtplib-style code catching OSError still works.
    assert isinstance(error, OSError)


def test_a_name_and_address_pair_is_checked_by_the_library_naming_its_field():
    msg = mailport.Message()
    with pytest.raises(mailport.InvalidAddressError) as info:
        msg.cc(("Doe, John", "not an address"))
    assert [(e.field, e.input) for e in info.value.invalid_addresses] == [("Cc", "not an address")]
    # A line break in the name would inject a header: refused, nothing added.
    with pytest.raises(mailport.InvalidAddressError) as info:
        msg.reply_to(("Help\r\nBcc: x@evil.example", "h@example.org"))
    assert info.value.invalid_addresses[0].field == "Reply-To"
    msg.from_("a@example.org").to(("Doe, John", "j@example.org"))
    assert b"Cc:" not in msg.render() and b"evil" not in msg.render()


def test_invalid_address_lists_each_entry():
    msg = mailport.Message()
    with pytest.raises(mailport.InvalidAddressError) as info:
        msg.to("ok@example.org, not an address, Doe, John <j@example.org>")
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, mailport.InvalidArgumentError)
    assert error.code == 100
    fields = {entry.field for entry in error.invalid_addresses}
    inputs = [entry.input for entry in error.invalid_addresses]
    assert fields == {"To"}
    assert inputs == ["not an address", "Doe"]  # an unquoted comma splits the display name
    assert all(entry.reason for entry in error.invalid_addresses)
    # (field, input, reason) tuples
    field, text, reason = error.invalid_addresses[0]
    assert field == "To"

    with pytest.raises(mailport.InvalidAddressError) as info:
        msg.from_("nobody")
    assert info.value.message.startswith("From:")
    with pytest.raises(mailport.InvalidAddressError):
        msg.cc("@example.org")


def test_missing_attachment_is_an_attachment_error(tmp_path):
    missing = tmp_path / "no-such-file.pdf"
    with pytest.raises(mailport.AttachmentError) as info:
        message().attach_file(missing)
    error = info.value
    assert isinstance(error, OSError)
    assert error.code == mailport.ErrorCode.ATTACHMENT
    assert str(missing) in error.message


def test_attachment_removed_before_sending(plain_server, tmp_path):
    path = tmp_path / "gone.txt"
    path.write_text("soon gone")
    msg = message().attach_file(path)
    path.unlink()
    with mailport.Client(config_for(plain_server)) as client:
        with pytest.raises(mailport.AttachmentError):
            client.send(msg)
    assert plain_server.messages() == []


def test_rejected_recipient(start_server):
    server = start_server("--reject-rcpt", "nobody")
    msg = message().to("nobody@example.org")
    with mailport.Client(config_for(server)) as client:
        with pytest.raises(mailport.RecipientsRejectedError) as info:
            client.send(msg)
    error = info.value
    assert error.code == 83
    assert [(r.address, r.reply_code) for r in error.rejected] == [("nobody@example.org", 550)]
    address, code, reply = error.rejected[0]
    assert "5.1.1" in reply
    assert error.transient is False
    assert "RCPT TO:<nobody@example.org>" in error.transcript
    assert server.messages() == []  # nothing sent unless partial delivery is allowed


def test_control_characters_in_a_reply_are_escaped_everywhere(start_server):
    # A hostile server's reply with a bare CR and terminal escapes (issue 12.7): the log
    # callback, the error and the transcript show them escaped, never raw.
    server = start_server("--reject-rcpt", "nobody", "--hostile-text")
    lines = []
    config = config_for(server).set_log(lambda kind, line: lines.append(line))
    with mailport.Client(config) as client:
        with pytest.raises(mailport.RecipientsRejectedError) as info:
            client.send(message().to("nobody@example.org"))
        transcript = client.transcript()
    error = info.value
    reply = error.rejected[0].reply
    assert "rejected\\r* forged: delivered\\u{1b}[2J" in reply, reply
    shown = [str(error), error.message, reply, error.transcript, transcript, *lines]
    for text in shown:
        assert not any(c in text for c in "\r\x1b\x07"), repr(text)
    assert any("forged" in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_temporary_rejection_is_transient(start_server):
    server = start_server("--tempfail-rcpt", "b@")
    with mailport.Client(config_for(server)) as client:
        with pytest.raises(mailport.RecipientsRejectedError) as info:
            client.send(message())
    assert info.value.transient is True
    assert info.value.rejected[0].reply_code == 450


def test_silent_server_times_out(start_server):
    server = start_server("--hang", "greeting")
    started = time.monotonic()
    with mailport.Client(config_for(server, command_timeout=0.5, send_timeout=10)) as client:
        with pytest.raises(TimeoutError) as info:
            client.send(message())
    assert time.monotonic() - started < 15
    error = info.value
    assert isinstance(error, mailport.ServerTimeoutError)
    assert error.code == mailport.ErrorCode.TIMEOUT
    assert error.transient is True
    assert "greeting" in error.message


def test_server_hanging_after_data(start_server):
    server = start_server("--hang", "data")
    with mailport.Client(config_for(server, data_timeout=0.5)) as client:
        with pytest.raises(mailport.ServerTimeoutError):
            client.send(message())


def test_dropped_connection(start_server):
    server = start_server("--drop-after-accept")
    with mailport.Client(config_for(server)) as client:
        with pytest.raises(mailport.ConnectionClosedError) as info:
            client.send(message())
    assert isinstance(info.value, ConnectionError)
    assert info.value.transient


def test_wrong_tls_mode_and_missing_starttls(plain_server):
    with mailport.Client(config_for(plain_server, security="tls")) as client:
        with pytest.raises(mailport.TlsModeError) as info:
            client.send(message())
    assert info.value.name == "MAILPORT_ERR_PLAINTEXT_ON_TLS_PORT"
    assert isinstance(info.value, mailport.TlsError)
    with mailport.Client(config_for(plain_server, security="starttls")) as client:
        with pytest.raises(mailport.StartTlsError):
            client.send(message())
    assert plain_server.messages() == []


def test_credentials_are_not_sent_over_plaintext(start_server):
    server = start_server("--auth", "u:p", "--auth-plaintext")
    with mailport.Client(config_for(server, username="u", password="p")) as client:
        with pytest.raises(mailport.AuthenticationError) as info:
            client.send(message())
    assert info.value.name == "MAILPORT_ERR_AUTH_UNAVAILABLE"
    # ... unless explicitly allowed
    config = config_for(server, username="u", password="p", dangerous_allow_plaintext_auth=True)
    with mailport.Client(config) as client:
        client.send(message())
    assert server.only_message()["auth_user"] == "u"


def test_message_too_large(start_server):
    server = start_server("--size", "200")
    with mailport.Client(config_for(server)) as client:
        with pytest.raises(mailport.MessageTooLargeError) as info:
            client.send(message().text("x" * 1000))
    assert isinstance(info.value, mailport.MessageRejectedError)


def test_message_without_from_or_recipient():
    with pytest.raises(mailport.InvalidArgumentError):
        mailport.Message().to("b@example.org").render()
    with mailport.Client(host="127.0.0.1", port=1) as client:
        with pytest.raises(mailport.InvalidArgumentError):  # checked before connecting
            client.send(mailport.Message().from_("a@example.com").text("x"))


def test_header_injection_is_refused():
    with pytest.raises(mailport.InvalidArgumentError) as info:
        message().subject("hello\r\nBcc: victim@example.org")
    assert "Subject" in str(info.value) or "subject" in str(info.value)
    with pytest.raises(mailport.InvalidArgumentError):
        message().header("X-Evil", "a\nb")
    with pytest.raises(mailport.InvalidArgumentError) as info:
        message().header("From", "x@example.org")  # mailport writes it: use from_()
    assert info.value.hint or "from" in info.value.message.lower()


def test_a_url_without_its_host_never_echoes_the_password():
    # smtp://user:password without "@host" puts the password where the port goes (issue 12.4).
    for url in ("smtp://me:hunter2", "smtps://me:hunter2/", "smtp://me:0123"):
        with pytest.raises(mailport.InvalidArgumentError) as info:
            mailport.Config.from_url(url)
        for text in (str(info.value), repr(info.value), info.value.message, info.value.hint):
            assert "hunter2" not in text and "0123" not in text, (url, text)
        assert "smtp://user:password@host:port" in info.value.message


# ESMTP parameters smuggled after a quoted local part (issue 12.3): the application's check
# "the recipient ends with @victim.example" passes, but the server would read NOTIFY/ORCPT.
SMUGGLED_RCPT = '"a"@evil.example> NOTIFY=NEVER ORCPT=rfc822;x"@victim.example'
SMUGGLED_MAIL = '"a"@evil.example> RET=FULL ENVID=x"@victim.example'


def test_smtp_parameters_in_a_raw_envelope_are_refused(plain_server):
    config = mailport.Config(host="127.0.0.1", port=plain_server.port, security="none")
    data = b"Subject: x\r\n\r\nx\r\n"
    with mailport.Client(config) as client:
        with pytest.raises(mailport.InvalidArgumentError) as info:
            client.send_raw("a@example.org", [SMUGGLED_RCPT], data)
        assert "recipient 1" in str(info.value) and "local part" in str(info.value)
        with pytest.raises(mailport.InvalidArgumentError) as info:
            client.send_raw(SMUGGLED_MAIL, ["b@victim.example"], data)
        assert "envelope sender" in str(info.value)
        # A well-formed quoted local part still goes out.
        client.send_raw("a@example.org", ['"odd local"@victim.example'], data)
    assert plain_server.only_message()["rcpt_tos"] == ['"odd local"@victim.example']


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: message().subject("a\0b"), "subject"),
        (lambda: message().text("body\0tail"), "text"),
        (lambda: message().to("x@example.org\0y@example.org"), "to"),
        (lambda: message().header("X-A", "1\x002"), "header X-A"),
        (lambda: message().attach_bytes(b"ok", "a\0b.txt"), "filename"),
        (lambda: mailport.Config(host="smtp.example.com\0.evil"), "host"),
        (lambda: mailport.Config(username="u", password="p\0w"), "password"),
        (lambda: mailport.Config.from_url("smtp://a\0b"), "url"),
        (lambda: mailport.wp_mail("a@example.org", "s\0", "m"), "subject"),
    ],
)
def test_nul_in_a_string_is_refused_naming_the_parameter(build, name):
    with pytest.raises(mailport.InvalidArgumentError) as info:
        build()
    error = info.value
    assert isinstance(error, ValueError)
    assert error.message.startswith(f"{name} contains a NUL byte at byte ")
    assert error.code == mailport.ErrorCode.INVALID_ARGUMENT
    assert error.hint


def test_nul_in_binary_data_is_fine():
    data = b"\0\0binary\0"
    raw = message().attach_bytes(data, "zeros.bin").render()
    assert b"AABiaW5hcnkA" in raw  # base64 of the bytes, NULs included


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError):
        message().subject(42)
    with pytest.raises(TypeError):
        mailport.Config(port=3.5)
    with pytest.raises(TypeError):
        message().to(object())
    with pytest.raises(TypeError):
        mailport.Client(object())


def test_a_missing_password_is_named_before_anything_is_sent():
    # os.environ.get() of a variable that is not set gives None.
    with pytest.raises(mailport.InvalidArgumentError) as info:
        mailport.Config(host="127.0.0.1", username="me", password=None)
    assert "the password is missing" in info.value.message
    assert "environment variable" in info.value.message
    assert "os.environ.get()" in info.value.hint


def test_hints_name_python_keywords(start_server):
    server = start_server("--mode", "tls")
    # A CA this machine does not trust: the hint says ca_file=, not the C function.
    config = config_for(server, security="tls", webpki_roots=True, system_roots=True)
    with mailport.Client(config) as client:
        with pytest.raises(mailport.CertificateError) as info:
            client.send(message())
    assert info.value.name == "MAILPORT_ERR_CERT_UNTRUSTED"
    assert "ca_file=" in info.value.hint and "mailport_config" not in info.value.hint
    # STARTTLS against the implicit-TLS port: the greeting wait (5 s), not the ten-minute
    # command timeout, ends it, and the hint says security="tls".
    config = config_for(server, security="starttls", command_timeout=600, send_timeout=600)
    with mailport.Client(config) as client:
        with pytest.raises(mailport.TlsModeError) as info:
            client.send(message())
    assert info.value.name == "MAILPORT_ERR_TLS_ON_PLAINTEXT_PORT"
    assert 'security="tls"' in info.value.hint, info.value.hint
    assert server.messages() == []
