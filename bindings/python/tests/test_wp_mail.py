"""wp_mail(): WordPress's arguments and header rules, through the mailport_wp_mail_* functions."""

from __future__ import annotations

import email
import email.policy

import pytest

import mailport


def parse(message: mailport.Message):
    return email.message_from_bytes(message.render(), policy=email.policy.default)


HEADERS = (
    'From: "Doe, Jane" <jane@example.org>\r\n'
    'Cc: "Roe, Rick" <rick@example.org>, carl@example.org\n'
    "X-Tag: 1\n"
    "x-tag: 2\n"
    "\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/html; charset=UTF-8\n"
)


def test_wp_mail_header_string_and_quoted_comma_names(plain_server):
    message = mailport.wp_mail(
        '"Smith, Ann" <ann@example.org>, bob@example.org',
        "Hello from WordPress",
        "<p>Hi <b>there</b></p>",
        HEADERS,
        site_domain="www.example.net",
    )
    msg = parse(message)
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Smith, Ann", "ann@example.org"),
        ("", "bob@example.org"),
    ]
    assert msg["From"].addresses[0].display_name == "Doe, Jane"
    assert msg["From"].addresses[0].addr_spec == "jane@example.org"
    assert [a.display_name for a in msg["Cc"].addresses] == ["Roe, Rick", ""]
    assert msg.get_all("X-Tag") == ["2"]  # names compared without regard to case; last wins
    assert len(msg.get_all("MIME-Version")) == 1
    assert msg.get_content_type() == "text/html"
    assert msg.get_content().strip() == "<p>Hi <b>there</b></p>"

    config = mailport.Config(host="127.0.0.1", port=plain_server.port, security="none")
    with mailport.Client(config) as client, message:
        receipt = client.send(message)
    assert sorted(receipt.accepted) == [
        "ann@example.org",
        "bob@example.org",
        "carl@example.org",
        "rick@example.org",
    ]
    received = plain_server.only_message()
    assert received["mail_from"] == "jane@example.org"


def test_wp_mail_defaults_list_headers_attachments_and_embeds(tmp_path):
    report = tmp_path / "report-2026.pdf"
    report.write_bytes(b"%PDF-1.4 fake")
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG fake")
    message = mailport.wp_mail(
        ["first@example.org", "second@example.org"],
        "Subject",
        "plain body",
        ["Bcc: hidden@example.org", "Reply-To: help@example.net"],
        {"Quarterly report.pdf": str(report)},
        embeds={"logo": str(logo)},
        site_domain="www.example.net",
    )
    msg = parse(message)
    assert str(msg["From"]) == "WordPress <wordpress@example.net>"
    assert [a.addr_spec for a in msg["To"].addresses] == ["first@example.org", "second@example.org"]
    assert "Bcc" not in msg
    assert msg["Reply-To"].addresses[0].addr_spec == "help@example.net"
    assert [p.get_filename() for p in msg.iter_attachments() if p.get_filename()] == [
        "Quarterly report.pdf"
    ]
    assert any(p.get("Content-ID") == "<logo>" for p in msg.walk())

    # A list of paths shows each file under its own name; one string holds one path per line.
    for attachments in ([str(report)], f"{report}\n"):
        msg = parse(mailport.wp_mail("a@example.org", "s", "m", "", attachments))
        assert [p.get_filename() for p in msg.iter_attachments()] == ["report-2026.pdf"]


def test_wp_mail_site_defaults_and_filters():
    message = mailport.wp_mail(
        "a@example.org",
        "s",
        "m",
        site_domain="example.net",
        default_from="site@example.net",
        default_from_name="My Site",
        charset="ISO-8859-1",
        filters={
            "wp_mail_from_name": lambda name: f"{name} (notifications)",
            mailport.WpValue.FROM_EMAIL: lambda address: address.replace("site@", "noreply@"),
        },
    )
    msg = parse(message)
    assert msg["From"].addresses[0].display_name == "My Site (notifications)"
    assert msg["From"].addresses[0].addr_spec == "noreply@example.net"
    assert msg.get_content_charset().lower() == "iso-8859-1"
    with pytest.raises(KeyError):
        mailport.wp_mail("a@example.org", "s", "m", filters={"wp_mail_subject": str})


def test_wp_mail_step_by_step():
    with mailport.WpMail() as wp:
        wp.add_to("a@example.org").set_subject("s").set_message("<p>x</p>")
        wp.add_headers('From: "Doe, Jane" <jane@example.org>\nContent-Type: text/html')
        assert wp.parsed(mailport.WpValue.FROM_EMAIL) == "jane@example.org"
        assert wp.parsed(mailport.WpValue.FROM_NAME) == "Doe, Jane"
        assert wp.parsed(mailport.WpValue.CONTENT_TYPE) == "text/html"
        assert wp.parsed(mailport.WpValue.CHARSET) == "UTF-8"
        wp.override(mailport.WpValue.CONTENT_TYPE, "text/plain")
        assert wp.parsed(mailport.WpValue.CONTENT_TYPE) == "text/html"  # parsed, not overridden
        first = parse(wp.build())
        wp.override(mailport.WpValue.CONTENT_TYPE, None)
        second = parse(wp.build())
    assert first.get_content_type() == "text/plain"
    assert second.get_content_type() == "text/html"
    with pytest.raises(mailport.InvalidArgumentError):
        mailport.WpMail().parsed(99)


def test_wp_mail_reports_every_invalid_address(tmp_path):
    with pytest.raises(mailport.InvalidAddressError) as info:
        mailport.wp_mail(
            "good@example.org, broken", "s", "m", "Cc: also broken\nBcc: ok@example.org"
        )
    fields = [(a.field, a.input) for a in info.value.invalid_addresses]
    assert ("To", "broken") in fields
    assert ("Cc", "also broken") in fields
    assert isinstance(info.value, ValueError)

    with pytest.raises(mailport.AttachmentError):
        mailport.wp_mail("a@example.org", "s", "m", "", [str(tmp_path / "missing.pdf")])


# A contact form plugin that puts the visitor's name into one element of the headers list.
INJECTED_NAME = (
    "Visitor <v@x.example>\nBcc: victim1@evil.example, victim2@evil.example\nX-Note: "
)


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_wp_mail_a_headers_list_item_with_a_line_break_adds_no_recipient(plain_server, line_break):
    name = INJECTED_NAME.replace("\n", line_break)
    headers = ["From: Site <site@example.org>", f"Reply-To: {name} <visitor@example.org>"]
    with pytest.raises(mailport.InvalidArgumentError) as caught:
        mailport.wp_mail("owner@example.org", "Contact form", "Hello", headers)
    assert '"Reply-To"' in str(caught.value) and "line break" in str(caught.value)
    assert "evil" not in str(caught.value)

    # The same header added step by step is refused too, and nothing of it remains.
    with mailport.WpMail() as wp:
        wp.add_to("owner@example.org").add_header("From: Site <site@example.org>")
        with pytest.raises(mailport.InvalidArgumentError):
            wp.add_header(headers[1])
        # Core trims each item, so a trailing CRLF is fine.
        wp.add_header("X-Form: contact\r\n")
        message = wp.build()
    config = mailport.Config(host="127.0.0.1", port=plain_server.port, security="none")
    with mailport.Client(config) as client, message:
        receipt = client.send(message)
    assert list(receipt.accepted) == ["owner@example.org"]
    received = plain_server.only_message()
    assert received["rcpt_tos"] == ["owner@example.org"]
    assert b"evil.example" not in received["data"]
    assert b"\r\nX-Form: contact\r\n" in received["data"]


def test_wp_mail_the_header_string_is_still_split_into_lines(plain_server):
    message = mailport.wp_mail(
        "owner@example.org", "s", "b", "Reply-To: v@x.example\nBcc: hidden@example.org"
    )
    assert parse(message)["Reply-To"].addresses[0].addr_spec == "v@x.example"
    config = mailport.Config(host="127.0.0.1", port=plain_server.port, security="none")
    with mailport.Client(config) as client, message:
        receipt = client.send(message)
    assert list(receipt.accepted) == ["owner@example.org", "hidden@example.org"]
