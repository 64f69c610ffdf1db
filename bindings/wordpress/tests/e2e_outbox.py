"""The outbox part of the plugin's end-to-end test (run by e2e.py): wp_mail() in a request that
cannot use FFI writes the call into the outbox table and returns true; a send that fails for a
reason that may pass is queued instead of failed; `wp mailport outbox run` delivers them, the
attachments copied at enqueue (the originals are gone by then), and removes those copies. A
writer SIGKILLed before its INSERT queues nothing and its copy is cleaned up; after it, the row
is whole and sent.
"""

import json
import os
import socket
import time

NO_FFI = ["-d", "ffi.enable=0"]


def closed_port():
    """A loopback port nothing listens on: a server that is down."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def queued(rows):
    return [r for r in rows if r["state"] == "queued"]


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
    # The table also logs the mail sent at once before (finished rows): only queued ones count.
    rows = queued((res or {}).get("rows", []))
    ok(len(rows) == 1 and rows[0]["id"] == queued_id,
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
    ok(len(queued((res or {}).get("rows", []))) == 2, "server down: a second queued row", res and res.get("rows"))

    # 2b. A server that accepts and never answers: the page waits MAILPORT_DIRECT_BUDGET, not
    # the full timeouts, and the mail is queued.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        hung = dict(base, MAILPORT_PORT=silent.getsockname()[1], MAILPORT_DIRECT_BUDGET=2)
        res, _ = wp.run("outbox_queue", hung, {"form": "plain", "to": "later@example.net", "subject": "Server hangs"})
        ok(res is not None and res.get("returned") is True and res.get("mode") == "direct-then-queue"
           and "after 2.0 s" in (res.get("because") or ""),
           "server that never answers: queued after the direct budget (a timeout), wp_mail() returned true",
           res and {k: res.get(k) for k in ("returned", "mode", "because")})
    finally:
        silent.close()
    hung_rows = len(queued((res or {}).get("rows", [])))

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
    ok(len(queued((res or {}).get("rows", []))) == hung_rows + 1, "no FFI: the refused mail wrote no row",
       res and res.get("rows"))
    ids = [r["id"] for r in queued((res or {}).get("rows", []))]

    # 5. The worker: wp mailport outbox run delivers all four, then list and show.
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
        ok(not run["halted"] and any(k == "success" and m.startswith("outbox run: 4 sent") for k, m in run["output"]),
           "WP-CLI: `wp mailport outbox run` sent the four queued mails", run["output"])
        lines = [m for k, m in listed["output"] if k == "line"]
        records = {r["id"]: r for r in (json.loads(lines[0]) if lines else [])}
        ok(all(records.get(i, {}).get("state") == "sent" for i in ids) and len(ids) == 4,
           "WP-CLI: `list --format=json` shows the four queued entries sent", records)
        logged = [r for r in records.values() if r["id"] not in ids]
        ok(logged and all(r["state"] in ("sent", "failed") and r["attempts"] for r in logged)
           and any(r.get("subject") == "New contact form submission" and r["state"] == "sent" for r in logged),
           "WP-CLI: the mail sent at once earlier is in the log too, finished, with its attempt",
           [(r["id"], r["state"], r.get("subject")) for r in logged])
        lines = [m for k, m in shown["output"] if k == "line"]
        ok(not shown["halted"] and lines and json.loads(lines[0]).get("id") == queued_id,
           "WP-CLI: `show ID` prints the record", shown["output"])
        ok(retried["halted"] and any(k == "error" and "nothing to retry" in m for k, m in retried["output"]),
           "WP-CLI: `retry` of a sent entry is refused, saying why", retried["output"])
    ok(res is not None and not res.get("folders"), "WP-CLI: the run removed the copied attachments",
       res and res.get("folders"))

    msgs = messages(server)[before:]
    if ok(len(msgs) == 4, "outbox: four messages reached the server", f"{len(msgs)} new"):
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

    run_killed_writer(wp, server, base, checks, messages, parse_message, leaf_parts)


def run_killed_writer(wp, server, base, checks, messages, parse_message, leaf_parts):
    """The queue writer SIGKILLed (an OOM kill, a php-fpm worker past its request_terminate_timeout):
    before its INSERT nothing is queued and wp_mail() never returned true, and the attachment copy
    it left behind is removed once it is an hour old; after its INSERT the row is whole and sent."""
    ok = checks.check
    uploads = os.path.join(wp.tmp, "wp-content", "uploads", "mailport-outbox")
    attachment = os.path.join(wp.tmp, "killed-upload.bin")
    payload = os.urandom(1 << 20)
    with open(attachment, "wb") as f:
        f.write(payload)
    before = len(messages(server))

    def subjects(state):
        return [json.loads(r["description"])["wp_mail"]["subject"] for r in (state or {}).get("rows", [])
                if r.get("description")]

    res, proc = wp.run("outbox_queue_killed", base, {
        "at": "before_insert", "to": "killed@example.net", "subject": "Killed before its row",
        "attachment": attachment}, php_settings=NO_FFI)
    ok(res is None and proc is not None and proc.returncode == -9,
       "killed writer: the process died by SIGKILL just before its INSERT", proc and proc.returncode)
    state, _ = wp.run("outbox_state", base)
    orphans = sorted((state or {}).get("folders", {}))
    ok("Killed before its row" not in subjects(state) and len(orphans) == 1,
       "killed writer: no row (nothing queued, nothing half-written), the attachment's copy left",
       {"subjects": subjects(state), "folders": orphans})
    res, _ = wp.run("outbox_cleanup", base)
    ok(res is not None and res.get("removed") == 0 and sorted(res.get("folders", {})) == orphans,
       "killed writer: a copy without a row is kept for an hour (its row may be being written)", res)
    if orphans:
        old = time.time() - 2 * 3600
        os.utime(os.path.join(uploads, orphans[0]), (old, old))
    res, _ = wp.run("outbox_cleanup", base)
    ok(res is not None and res.get("removed") == 1 and not res.get("folders"),
       "killed writer: the worker's cleanup removes the orphaned copy once it is an hour old", res)

    res, proc = wp.run("outbox_queue_killed", base, {
        "at": "after_insert", "to": "killed@example.net", "subject": "Killed after its row",
        "attachment": attachment}, php_settings=NO_FFI)
    ok(res is None and proc is not None and proc.returncode == -9,
       "killed writer: the process died by SIGKILL just after its INSERT", proc and proc.returncode)
    res, _ = wp.run("outbox_cli", base, {"runs": [["run", [], {}]]})
    runs = (res or {}).get("runs", [])
    ok(runs and any(k == "success" and m.startswith("outbox run: 1 sent") for k, m in runs[0]["output"]),
       "killed writer: the row written before the kill is whole, and the worker sends it", runs)
    arrived = [parse_message(p)[1] for p in messages(server)[before:]]
    ok([str(m["Subject"]) for m in arrived] == ["Killed after its row"]
       and [p.get_payload(decode=True) for p in leaf_parts(arrived[0]) if p.get_filename()] == [payload],
       "killed writer: only the mail whose row was written arrives, its attachment intact",
       [str(m["Subject"]) for m in arrived])


class Webhook:
    """A loopback HTTP server that keeps the JSON bodies POSTed to it (the alert webhook)."""

    def __init__(self):
        import http.server
        import threading
        bodies = self.bodies = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                bodies.append(json.loads(self.rfile.read(length) or b"null"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # "localhost": the e2e site sets WP_HTTP_BLOCK_EXTERNAL, which lets only it through.
        self.url = f"http://localhost:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def run_backup_and_alerts(wp, server, base, checks, messages, parse_message):
    """The primary connection down: queued mail goes out through the backup, and the admin is
    told once (mail through the backup, the webhook); when the primary works again, once more.
    A connection check asked for from a request without FFI is run by the worker."""
    ok = checks.check
    hook = Webhook()
    try:
        primary_down = dict(base, MAILPORT_PORT=closed_port(),
                            MAILPORT_BACKUP_HOST="localhost", MAILPORT_BACKUP_PORT=server["port"],
                            MAILPORT_BACKUP_SECURITY="starttls", MAILPORT_BACKUP_USER=base["MAILPORT_USER"],
                            MAILPORT_BACKUP_PASSWORD=base["MAILPORT_PASSWORD"],
                            MAILPORT_ALERT_WEBHOOK=hook.url)
        before = len(messages(server))
        for n in (1, 2):
            res, _ = wp.run("outbox_queue", primary_down, {"form": "plain", "to": "buyer@example.net",
                                                           "subject": f"While the primary is down {n}"},
                            php_settings=NO_FFI)
            ok(res is not None and res.get("returned") is True, f"backup: mail {n} queued", res and res.get("returned"))
        res, _ = wp.run("outbox_cli", primary_down, {"runs": [["run", [], {"format": "json"}]]})
        lines = [m for k, m in ((res or {}).get("runs") or [{}])[0].get("output", []) if k == "line"]
        summary = json.loads(lines[0]) if lines else {}
        ok(summary.get("sent") == 2 and summary.get("via_backup") == 2,
           "backup: the worker delivered both through the backup connection", summary)
        new = [parse_message(p) for p in messages(server)[before:]]
        subjects = sorted(str(m["Subject"]) for _, m in new)
        alerts = [(r, m) for r, m in new if "failing" in str(m["Subject"])]
        ok(len(alerts) == 1 and alerts[0][0]["rcpt_tos"] == ["admin@example.com"],
           "alerts: one mail to the site admin that delivery is failing (through the backup)", subjects)
        ok(len(hook.bodies) == 1 and hook.bodies[0].get("event") == "failing" and hook.bodies[0].get("connection") == 0,
           "alerts: one webhook POST, the primary failing", hook.bodies)

        # Another run, the primary still down: no second alert.
        res, _ = wp.run("outbox_queue", primary_down, {"form": "plain", "to": "buyer@example.net",
                                                       "subject": "Still down"}, php_settings=NO_FFI)
        wp.run("outbox_cli", primary_down, {"runs": [["run", [], {}]]})
        ok(len(hook.bodies) == 1, "alerts: nothing more while it stays down (never one per message)", hook.bodies)

        # The primary back: one "works again".
        primary_up = dict(primary_down, MAILPORT_PORT=server["port"])
        wp.run("outbox_queue", primary_up, {"form": "plain", "to": "buyer@example.net", "subject": "Back"},
               php_settings=NO_FFI)
        before = len(messages(server))
        wp.run("outbox_cli", primary_up, {"runs": [["run", [], {}]]})
        new = [parse_message(p) for p in messages(server)[before:]]
        ok(any("works again" in str(m["Subject"]) for _, m in new) and len(hook.bodies) == 2
           and hook.bodies[1].get("event") == "recovered",
           "alerts: one mail and one webhook POST when the primary works again",
           {"subjects": [str(m["Subject"]) for _, m in new], "hook": hook.bodies})
    finally:
        hook.close()

    # A connection check asked for where the library cannot run: the next worker run does it.
    res, _ = wp.run("outbox_request_check", base, {}, php_settings=NO_FFI)
    ok(res is not None and res.get("requested") is True, "check: asked for from a request without FFI", res)
    res, _ = wp.run("outbox_cli", base, {"runs": [["run", [], {}]]})
    last = (res or {}).get("last_check") or {}
    report = json.loads(last["json"]) if last.get("json") else {}
    ok(bool(report.get("recommendation")) and report["recommendation"].get("port") == server["port"]
       and (res or {}).get("check_requested") is False,
       "check: the worker ran it, and the report recommends the working port", last)
