"""The outbox part of the plugin's end-to-end test (run by e2e.py): wp_mail() in a request that
cannot use FFI writes the call into the outbox table and returns true; a send that fails for a
reason that may pass is queued instead of failed; `wp mailport outbox run` delivers them, the
attachments copied at enqueue (the originals are gone by then), and removes those copies.
"""

import json
import os
import socket

NO_FFI = ["-d", "ffi.enable=0"]


def closed_port():
    """A loopback port nothing listens on: a server that is down."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_outbox_scenarios(wp, server, base, checks, messages, parse_message, leaf_parts):
    ok = checks.check
    attachment = os.path.join(wp.tmp, "queued-upload.pdf")
    payload = b"%PDF-1.4\n% queued attachment\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
    with open(attachment, "wb") as f:
        f.write(payload)
    before = len(messages(server))

    # 1. A web request without FFI: the mail is queued, wp_mail() returns true.
    res, _ = wp.run("outbox_queue", base, {
        "to": "owner@example.net", "subject": "Queued without FFI", "attachment": attachment},
        php_settings=NO_FFI)
    ok(res is not None and res.get("returned") is True and res.get("ffi_usable") is False
       and res.get("mode") == "queue",
       "no FFI: wp_mail() returned true, the mail queued", res and {k: res.get(k) for k in ("returned", "ffi_usable", "mode")})
    events = (res or {}).get("events", [])
    hooks = [e["hook"] for e in events]
    queued_id = None
    if ok(hooks == ["wp_mail_succeeded"], "no FFI: wp_mail_succeeded fired", hooks):
        queued_id = events[0]["arg"].get("mailport_queued")
        ok(isinstance(queued_id, str) and len(queued_id) == 30,
           "no FFI: wp_mail_succeeded's data names the outbox entry (mailport_queued)", events[0]["arg"])
    rows = (res or {}).get("rows", [])
    ok(len(rows) == 1 and rows[0]["id"] == queued_id and rows[0]["state"] == "queued",
       "no FFI: one queued row in wp_mailport_outbox", rows)
    if rows:
        description = json.loads(rows[0]["description"])
        call = description.get("wp_mail", {})
        ok(call.get("subject") == "Queued without FFI" and "X-Mailport-E2E: wp_mail filter applied" in call.get("headers", []),
           "no FFI: the row holds the wp_mail() call, after the wp_mail filter", call)
        files = call.get("attachments", [])
        ok(len(files) == 1 and files[0].get("name") == "queued-upload.pdf"
           and files[0]["path"].startswith(os.path.join(wp.tmp, "wp-content", "uploads", "mailport-outbox", queued_id)),
           "no FFI: the attachment was copied into uploads/mailport-outbox/<id>/", files)
    docs = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "outbox.md")).read()
    create = docs.split("```sql\n", 1)[1].split("\n```", 1)[0].replace("`mailport_outbox`", "`wp_mailport_outbox`")
    ok((res or {}).get("create_sql") == create,
       "no FFI: the plugin creates the table with the library's statement (docs/outbox.md)",
       res and res.get("create_sql"))
    ok((res or {}).get("protected") is True, "no FFI: the copies' folder has .htaccess and index.php", res and res.get("protected"))
    ok(len(messages(server)) == before, "no FFI: nothing reached the server yet")
    # WordPress (or the form plugin) deletes its temporary upload once the request is over.
    os.unlink(attachment)

    # 2. FFI works but the server is down: queued instead of failed.
    down = dict(base, MAILPORT_PORT=closed_port())
    res, _ = wp.run("outbox_queue", down, {"form": "plain", "to": "later@example.net", "subject": "Server down"})
    ok(res is not None and res.get("returned") is True and res.get("mode") == "direct-then-queue",
       "server down: wp_mail() returned true (direct-then-queue)", res and {k: res.get(k) for k in ("returned", "mode", "because")})
    ok(bool((res or {}).get("because")), "server down: mailport_queued got the send's failure", res and res.get("because"))
    ok(len((res or {}).get("rows", [])) == 2, "server down: a second row", res and res.get("rows"))

    # 3. MAILPORT_DELIVERY=direct where FFI is off: queued too, never lost.
    res, _ = wp.run("outbox_queue", dict(base, MAILPORT_DELIVERY="direct"),
                    {"form": "plain", "to": "direct@example.net", "subject": "Direct without FFI"},
                    php_settings=NO_FFI)
    ok(res is not None and res.get("returned") is True and res.get("mode") == "queue",
       "MAILPORT_DELIVERY=direct without FFI: queued", res and {k: res.get(k) for k in ("returned", "mode")})

    # 4. A header element smuggling a second header: refused, nothing written.
    res, _ = wp.run("outbox_queue", base, {
        "form": "plain", "to": "owner@example.net", "subject": "Smuggled",
        "headers": ["Reply-To: Eve <eve@example.org>\r\nBcc: victim@example.net"]}, php_settings=NO_FFI)
    hooks = [e["hook"] for e in (res or {}).get("events", [])]
    ok(res is not None and res.get("returned") is False and hooks == ["wp_mail_failed"]
       and "Reply-To" in json.dumps(res["events"][0]["arg"]),
       "no FFI: a header element with a line break is refused, naming it", res and res.get("events"))
    ok(len((res or {}).get("rows", [])) == 3, "no FFI: the refused mail wrote no row", res and res.get("rows"))

    # 5. The worker: wp mailport outbox run delivers all three, then list and show.
    res, _ = wp.run("outbox_cli", base, {"runs": [
        ["run", [], {}],
        ["list", [], {"format": "json"}],
        ["show", [queued_id or "0000000000000-0000000000000000"], {}],
        ["retry", [queued_id or "0000000000000-0000000000000000"], {}],
    ]})
    ok(res is not None and res.get("registered") == "Mailport_Outbox_Command",
       "WP-CLI: `wp mailport outbox` registered", res and res.get("registered"))
    ok(res is not None and res.get("url_has_socket") is True,
       "WP-CLI: the outbox URL comes from DB_HOST (localhost:/path/to/socket)", res and res.get("url_has_socket"))
    runs = (res or {}).get("runs", [])
    if ok(len(runs) == 4, "WP-CLI: run, list, show and retry ran", runs):
        run, listed, shown, retried = runs
        ok(not run["halted"] and any(k == "success" and m.startswith("outbox run: 3 sent") for k, m in run["output"]),
           "WP-CLI: `wp mailport outbox run` sent the three queued mails", run["output"])
        lines = [m for k, m in listed["output"] if k == "line"]
        records = json.loads(lines[0]) if lines else []
        ok(len(records) == 3 and all(r["state"] == "sent" for r in records),
           "WP-CLI: `list --format=json` shows three sent entries", records)
        lines = [m for k, m in shown["output"] if k == "line"]
        ok(not shown["halted"] and lines and json.loads(lines[0]).get("id") == queued_id,
           "WP-CLI: `show ID` prints the record", shown["output"])
        ok(retried["halted"] and any(k == "error" and "nothing to retry" in m for k, m in retried["output"]),
           "WP-CLI: `retry` of a sent entry is refused, saying why", retried["output"])
    ok(res is not None and not res.get("folders"), "WP-CLI: the run removed the copied attachments",
       res and res.get("folders"))

    msgs = messages(server)[before:]
    if ok(len(msgs) == 3, "outbox: three messages reached the server", f"{len(msgs)} new"):
        by_subject = {}
        for path in msgs:
            rec, msg = parse_message(path)
            by_subject[str(msg["Subject"])] = (rec, msg)
        rec, msg = by_subject.get("Queued without FFI", (None, None))
        if ok(msg is not None, "outbox: the contact form arrived", sorted(by_subject)):
            ok(sorted(rec["rcpt_tos"]) == ["owner@example.net", "team@example.com"] and rec["mail_from"] == "forms@example.com",
               "outbox: envelope as a direct send (To + Cc, From's address)", rec)
            ok(str(msg["Reply-To"]).startswith("Visitor") and msg["Message-ID"] is not None,
               "outbox: headers as a direct send", {k: str(msg[k]) for k in ("From", "Reply-To", "Message-ID")})
            att = [p for p in leaf_parts(msg) if p.get_filename() == "queued-upload.pdf"]
            ok(len(att) == 1 and att[0].get_payload(decode=True) == payload,
               "outbox: the attachment arrived intact although the original was deleted", [p.get_filename() for p in leaf_parts(msg)])
        ok("Server down" in by_subject and "Direct without FFI" in by_subject,
           "outbox: the mail queued while the server was down arrived once it was back", sorted(by_subject))
