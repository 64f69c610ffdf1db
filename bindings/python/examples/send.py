#!/usr/bin/env python3
"""Send one message with mailport, printing the receipt, or the error and its hint.

    python3 examples/send.py --server smtp://me%40example.com@smtp.example.com \\
        --from "Me <me@example.com>" --to you@example.org --subject Report \\
        --text "The report is attached." --attach q3.pdf

The password comes from $SMTP_PASSWORD (never from the command line). Try it locally against
mailport's capture server (cargo run -p mailport-cli -- capture --dir ./mail) or any SMTP server
on loopback with --server smtp+plain://127.0.0.1:2525.
"""

import argparse
import os
import sys

try:
    import mailport
except ImportError as error:  # the library search failed: the message lists where it looked
    sys.exit(str(error))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server", required=True, help="smtp://, smtps://, smtp+starttls:// or smtp+plain:// URL"
    )
    parser.add_argument("--user", help="user name (or put it in the URL)")
    parser.add_argument("--from", dest="from_", required=True)
    parser.add_argument("--to", action="append", required=True, help="repeatable")
    parser.add_argument("--subject", default="")
    parser.add_argument("--text", default="")
    parser.add_argument("--html")
    parser.add_argument("--attach", action="append", default=[], help="a file; repeatable")
    parser.add_argument("--ca-file", help="PEM file of a private CA to trust")
    parser.add_argument(
        "--transcript", action="store_true", help="print the SMTP session as it happens"
    )
    args = parser.parse_args()

    options = {}
    password = os.environ.get("SMTP_PASSWORD")
    if args.user:
        options["username"] = args.user
    if password is not None:
        options["password"] = password
    if args.ca_file:
        options["ca_file"] = args.ca_file
    if args.transcript:
        options["log"] = lambda kind, line: print(
            {mailport.LogKind.SENT: "C:", mailport.LogKind.RECEIVED: "S:"}.get(kind, "*"),
            line,
            file=sys.stderr,
        )

    try:
        with (
            mailport.Config.from_url(args.server, **options) as config,
            mailport.Client(config) as client,
        ):
            message = (
                mailport.Message()
                .from_(args.from_)
                .to(args.to)
                .subject(args.subject)
                .text(args.text)
            )
            if args.html:
                message.html(args.html)
            for path in args.attach:
                message.attach_file(path)
            receipt = client.send(message)
    except mailport.MailportError as error:
        print(f"not sent: {error}", file=sys.stderr)  # the message, then "hint: ..."
        if error.rejected:
            for address, code, reply in error.rejected:
                print(f"  refused {address}: {code} {reply}", file=sys.stderr)
        return 1

    print(f"sent {receipt.message_id} to {', '.join(receipt.accepted)} on port {receipt.port}")
    print(f"server: {receipt.reply_code} {receipt.server_reply}")
    print(f"encryption: {receipt.tls_version or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
