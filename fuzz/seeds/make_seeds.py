#!/usr/bin/env python3
"""Write the hand-made seed inputs into fuzz/corpus/<target>/ (run from anywhere).

Seeds are the shapes real servers and callers produce; the fuzzer mutates from them. Files are
named seed-*, so they are told apart from the inputs a fuzz run adds (named by their SHA-1).
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "corpus"

POSTFIX_EHLO = (b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
                b"250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
                b"250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n")
POSTFIX_EHLO_TLS = (b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                    b"250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
                    b"250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n")
AIOSMTPD_EHLO = (b"250-localhost\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                 b"250-STARTTLS\r\n250 HELP\r\n")
GMAIL_EHLO = (b"250-smtp.gmail.com at your service, [203.0.113.7]\r\n250-SIZE 35882577\r\n"
              b"250-8BITMIME\r\n250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n"
              b"250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n")
EXCHANGE_EHLO = (b"250-SN4PR0201CA0001.outlook.office365.com Hello [203.0.113.7]\r\n"
                 b"250-SIZE 157286400\r\n250-PIPELINING\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n"
                 b"250-AUTH LOGIN XOAUTH2\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n"
                 b"250 SMTPUTF8\r\n")
ODD_EHLO = (b"250-x\n250-size\n250-AUTH cram-md5 gssapi PLAIN plain\n250-AUTH=LOGIN\n"
            b"250-SIZE 0\n250-SIZE -1\n250-SIZE 99999999999999999999999\n250 starttls\n")

seeds = {
    "reply": {
        "greeting": b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n",
        "postfix-ehlo": POSTFIX_EHLO,
        "gmail-ehlo": GMAIL_EHLO,
        "auth-failed": b"535 5.7.8 Error: authentication failed: authentication failure\r\n",
        "gmail-auth": (b"535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
                       b"535 5.7.8  https://support.google.com/mail/?p=BadCredentials x1sm.1 - gsmtp\r\n"),
        "pipelined": (b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.com>: Recipient "
                      b"address rejected: User unknown in local recipient table\r\n354 End data with "
                      b"<CR><LF>.<CR><LF>\r\n"),
        "queued": b"250 2.0.0 Ok: queued as 4XyZ1b2C3d\r\n",
        "bare-lf": b"250-first\n250 second\n",
        "code-only": b"250\r\n",
        "mixed-codes": b"250-a\r\n251 b\r\n",
        "partial": b"250-PIPELINING\r\n250-SIZE",
        "controls": b"550-5.1.1 first\rforged\r\n550 second\x1b[2J\x00end\r\n",
        "latin1": b"554 5.7.1 Zur\xfcckgewiesen\r\n",
        "long-line": b"250 " + b"x" * 4100 + b"\r\n",
        "intermediate": b"334 VXNlcm5hbWU6\r\n",
        "temp": b"421 4.7.0 Try again later, closing connection.\r\n",
    },
    "ehlo": {
        "postfix": POSTFIX_EHLO,
        "postfix-tls": POSTFIX_EHLO_TLS,
        "aiosmtpd": AIOSMTPD_EHLO,
        "gmail": GMAIL_EHLO,
        "exchange": EXCHANGE_EHLO,
        "odd": ODD_EHLO,
        "helo-only": b"250 mail.example.com\r\n",
    },
    "mailbox": {
        "plain": b"john@example.com",
        "named": b"John Doe <john@example.com>",
        "quoted-name": b'"Doe, John" <john@example.com>',
        "comment": b"john@example.com (John Doe)",
        "nested-comment": b"Name (a (nested) comment) <a@b.example>",
        "quoted-local": b'"odd local"@example.com',
        "idn": "Jürgen <jürgen@bücher.example>".encode(),
        "idn-domain": "user@münchen.de".encode(),
        "literal": b"postmaster@[127.0.0.1]",
        "ipv6-literal": b"root@[IPv6:::1]",
        "list": b'a@example.com, "B, b" <b@example.com>; c@example.com',
        "group": b"Team: a@example.com, b@example.com;, undisclosed-recipients:;",
        "encoded-word": b"=?UTF-8?B?w4lsaXNl?= <elise@example.com>",
        "escaped": b'"a\\"b\\\\c" <x@example.com>',
        "crlf-injection": b"a@b.example\r\nBcc: x@evil.example",
        "unbalanced": b'"John <j@example.com>',
        "two-addresses": b"<a@example.com> <b@example.com>",
        "parts": b"Name\x00user@example.com",
        "emoji": "🦀 Crab <krabbe@example.com>".encode(),
        "long-local": b"a" * 70 + b"@example.com",
    },
    "header_unstructured": {
        "ascii": b"\x00\x00Hello world",
        "german": "\x00\x00Grüße aus Köln, schöne Woche!".encode(),
        "cyrillic": "\x00\x00Привет, мир: тема письма".encode(),
        "cjk": "\x00\x00日本語の件名です".encode(),
        "emoji": "\x00\x00Rust 🦀 and mail 📧".encode(),
        "looks-encoded": b"\x00\x00=?UTF-8?B?SGk=?= is not encoded",
        "leading-space": b"\x00\x00   leading and trailing   ",
        "tabs": b"\x00\x00a\tb\t\tc",
        "long-word": b"\x00\x01" + b"x" * 1200,
        "long-text": b"\x00\x00" + b"word " * 300,
        "utf8": "\x01\x00Grüße 🦀 日本".encode(),
        "wide-spaces": b"\x00\x00a" + b" " * 60 + b"b",
    },
    "header_phrase": {
        "atoms": b"\x00John Smith",
        "specials": b"\x00Doe, John\nO'Brien\nMr. X (boss)",
        "non-ascii": "\x00Émile de la Tour\nJürgen Groß".encode(),
        "quotes": b'\x00say "hi"\nback\\slash',
        "looks-encoded": b"\x00=?UTF-8?Q?x?=",
        "long": b"\x00" + b"a" * 1200,
        "spaces": b"\x00  two  spaces  \n\t tab",
        "empty": b"\x00\nx",
        "utf8": "\x01日本 太郎\n\"Doe, Jürgen\"".encode(),
        "many": b"\x00" + b"\n".join(b"Name %d" % i for i in range(8)),
    },
    "header_params": {
        "token": b"report.pdf",
        "quoted": b"a b.pdf\x00x;y",
        "non-ascii": "€ rechnung.pdf\x00日本語.txt".encode(),
        "long": ("ü" * 200).encode() + b"\x00" + b"a" * 300,
        "controls": b"tab\there\x00bell\x07",
        "quotes": b'say "hi".txt\x00back\\slash',
    },
    "url": {
        "smtp": b"smtp://mail.example.com",
        "smtps": b"smtps://user%40example.com:p%3Ass@mail.example.com",
        "starttls": b"smtp+starttls://mail.example.com:2525",
        "plain": b"smtp+plain://127.0.0.1:1025",
        "ipv6": b"smtp://[::1]:25",
        "user-only": b"smtp://apikey@smtp.sendgrid.net:587/",
        "no-host": b"smtp://me:hunter22",
        "bad-port": b"smtp://x:99999",
        "path": b"smtp://x/path?query#frag",
        "crlf": b"smtp://a%0d%0ab@x",
        "idn": "smtp://mail.bücher.example".encode(),
        "upper": b"SMTPS://MAIL.EXAMPLE.COM:465",
        "at-in-password": b"smtps://me:p@ss@mail.example.com",
    },
    "mime": {
        "empty": b"",
        "text": b"\x01\x00" + b"Hello" * 20,
        "bytes": bytes(range(256)),
    },
    "ffi": {
        "zeros": bytes(64),
        "ramp": bytes(range(256)),
    },
}

# Entry files in the spool's format: the header as one JSON line, then the message.
def entry(header, body=b""):
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body

ID = "1780000000000-0123456789abcdef"
seeds["outbox_entry"] = {
    "rendered": entry({"format": 1, "id": ID, "created": 1780000000,
                       "envelope_from": "a@example.com", "recipients": ["b@example.com"],
                       "message_id": "<x@example.com>", "subject": "Hi", "size": 44},
                      b"Subject: Hi\r\nFrom: a@example.com\r\n\r\nHello\r\n"),
    "description": entry({"format": 1, "id": ID, "created": 1780000000,
                          "description": {"from": "A <a@example.com>", "to": ["b@example.com"],
                                          "subject": "Grüße", "text": "Hello\n", "html": "<p>Hi</p>",
                                          "headers": [["X-Tag", "one"]], "date": 1780000000}}),
    "wp-mail": entry({"format": 1, "id": ID, "created": 1780000000,
                      "description": {"wp_mail": {"to": ["b@example.com, c@example.com"],
                                                  "subject": "Site", "message": "Body",
                                                  "headers": "From: WP <wp@example.com>\nCc: d@example.com",
                                                  "site_domain": "www.example.com"}}}),
    "both-forms": entry({"format": 1, "id": ID, "created": 1,
                         "description": {"from": "a@example.com", "wp_mail": {"to": ["b@example.com"]}}}),
    "future-format": entry({"format": 99, "id": ID, "created": 1}),
    "format-zero": entry({"format": 0, "id": ID, "created": 1}),
    "no-newline": json.dumps({"format": 1, "id": ID, "created": 1}).encode(),
    "unknown-field": entry({"format": 1, "id": ID, "created": 1,
                            "description": {"from": "a@example.com", "bogus": 1}}),
    "record": json.dumps({"id": ID, "state": "deferred", "created": 1780000000, "due": 1780000300,
                          "envelope_from": "a@example.com",
                          "recipients": [{"address": "b@example.com", "state": "pending"}],
                          "attempts": [], "size": 10, "retries": 1}).encode(),
}

for target, files in seeds.items():
    directory = ROOT / target
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / f"seed-{name}").write_bytes(data)
print("seeds written under", ROOT)
