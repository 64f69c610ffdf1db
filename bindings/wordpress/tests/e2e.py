#!/usr/bin/env python3
"""End-to-end test of the mailport WordPress plugin: real WordPress, real MariaDB, real SMTP server.

Run through tests/run-e2e.sh (from anywhere). What it does, all inside one temporary directory
that is removed at the end (with every process it started), as root or not, without touching
any root-owned configuration:

  1. a throwaway MariaDB: mariadb-install-db into <tmp>/mysql, mariadbd on <tmp>/mysqld.sock with
     --skip-networking; an --init-file creates the database and its user;
  2. SMTP servers: tests/servers/aiosmtpd_server.py --mode starttls --auth user:pass (the main
     one), the same in --mode tls, and one whose certificate the client is not told to trust;
  3. WordPress from Debian's package (/usr/share/wordpress) loaded by tests/wp-bootstrap.php in
     place of wp-config.php, WP_CONTENT_DIR in <tmp>/wp-content, the plugin symlinked into its
     plugins directory; wp_install() and activate_plugin() on the first run;
  4. steps, each a fresh `php tests/scenario.php STEP` (a "request") with its own wp-config
     constants; this script checks each step's result and the message the server received;
  5. the plugin zip (package.sh, libmailport bundled) installed by WordPress's Plugin_Upgrader
     into an empty plugins directory and activated; it sends, and copies of it with a damaged
     library or one of another ABI are refused with a notice and a Site Health result.

Steps 1 and 3 (and the process bookkeeping) live in tests/wpenv.py, which the WordPress
benchmark's server (benches/wordpress/serve.py) shares.

Prints one PASS/FAIL line per check and exits 1 if any failed (2 when the setup itself failed).

Environment:
  MAILPORT_E2E_KEEP=1        keep the temporary directory (its path is printed)
  MAILPORT_E2E_LIBRARY=PATH  libmailport to use (default: <repo>/target/debug/libmailport.so, or
                             $CARGO_TARGET_DIR/debug/...); run-e2e.sh builds it first
  MAILPORT_E2E_ABSPATH=DIR   another WordPress tree (default /usr/share/wordpress/)
  MAILPORT_E2E_VERBOSE=1     show the PHP processes' stderr even when they succeed
"""

import base64
import email
import email.policy
import glob
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# The throwaway MariaDB and WordPress (shared with benches/wordpress/serve.py).
from wpenv import PLUGIN_ROOT, REPO, Processes, SetupError, WordPress, check_wordpress, start_mariadb
from e2e_outbox import run_backup_and_alerts, run_outbox_scenarios

SMTP_SERVER = os.path.join(REPO, "tests", "servers", "aiosmtpd_server.py")

SMTP_USER = "user"
SMTP_PASS = "pass"


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, ok, what, detail=None):
        if ok:
            self.passed += 1
            print(f"PASS {what}", flush=True)
        else:
            self.failed += 1
            extra = f": {detail}" if detail is not None else ""
            print(f"FAIL {what}{extra}", flush=True)
        return ok


def start_smtp(tmp, procs, name, extra):
    d = os.path.join(tmp, name)
    log = os.path.join(tmp, f"{name}.stderr")
    errf = open(log, "w")
    proc = procs.start(name, [sys.executable, SMTP_SERVER, "--dir", d] + extra,
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf, text=True)
    errf.close()
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.wait(timeout=5)
        with open(log, errors="replace") as f:
            raise SetupError(f"{name} did not start: {line!r}\n{f.read()}")
    return json.loads(line[len("READY "):])


def messages(server):
    return sorted(glob.glob(os.path.join(server["dir"], "msg-*.json")),
                  key=lambda p: int(os.path.basename(p)[4:-5]))


def parse_message(path):
    with open(path) as f:
        rec = json.load(f)
    msg = email.message_from_bytes(base64.b64decode(rec["data_b64"]), policy=email.policy.default)
    return rec, msg


def leaf_parts(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def run_scenarios(wp, server, implicit, untrusted, checks, tmp, procs):
    """server: STARTTLS + AUTH (the main one); implicit: implicit TLS + AUTH; untrusted: STARTTLS
    with a certificate from a CA the client is not given."""
    ok = checks.check

    # --- install + activate ------------------------------------------------------------------
    res, _ = wp.run("install", installing=True)
    if not ok(res is not None and res.get("ok"), "WordPress installed and plugin activated",
              res):
        return
    ok("mailport/mailport.php" in (res.get("active_plugins") or []),
       "mailport/mailport.php is in active_plugins", res.get("active_plugins"))

    # --- not configured: WordPress keeps sending --------------------------------------------
    res, _ = wp.run("unconfigured")
    ok(res is not None and res.get("plugin_loaded"),
       "unconfigured: plugin loaded (mailport_send_test_mail, mailport_check_connection exist)", res)
    ok(res is not None and res.get("pre_wp_mail", "missing") is None,
       "unconfigured: pre_wp_mail returns null (WordPress sends as usual)", res)

    base = {
        "MAILPORT_HOST": "localhost",
        "MAILPORT_PORT": server["port"],
        "MAILPORT_SECURITY": "starttls",
        "MAILPORT_USER": SMTP_USER,
        "MAILPORT_PASSWORD": SMTP_PASS,
        "MAILPORT_CA_FILE": server["ca"],
        "MAILPORT_TIMEOUT": 10,
        "MAILPORT_LIBRARY": wp.library,
    }

    # --- the contact form ---------------------------------------------------------------------
    attachment = os.path.join(tmp, "visitor-upload.pdf")
    payload = b"%PDF-1.4\n% mailport e2e attachment\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
    with open(attachment, "wb") as f:
        f.write(payload)
    before = len(messages(server))
    res, _ = wp.run("contact_form", base, {
        "to": "owner@example.net", "subject": "New contact form submission",
        "attachment": attachment})
    ok(res is not None and res.get("returned") is True, "contact form: wp_mail() returned true", res)
    events = (res or {}).get("events", [])
    hooks = [e["hook"] for e in events]
    ok(hooks == ["wp_mail_succeeded"], "contact form: wp_mail_succeeded fired (and nothing else)", hooks)
    if "wp_mail_succeeded" in hooks:
        data = events[hooks.index("wp_mail_succeeded")]["arg"]
        ok(isinstance(data, dict) and data.get("subject") == "New contact form submission"
           and "owner@example.net" in json.dumps(data.get("to")),
           "contact form: wp_mail_succeeded received the mail data (to, subject, ...)", data)
    msgs = messages(server)
    if ok(len(msgs) == before + 1, "contact form: exactly one message reached the server",
          f"{len(msgs) - before} new"):
        rec, msg = parse_message(msgs[-1])
        ok(rec["tls"] is True, "contact form: delivered over TLS (STARTTLS)", rec.get("tls"))
        ok(rec["auth_user"] == SMTP_USER, "contact form: authenticated as the configured user",
           rec.get("auth_user"))
        ok(sorted(rec["rcpt_tos"]) == ["owner@example.net", "team@example.com"],
           "contact form: envelope recipients are To + Cc", rec["rcpt_tos"])
        ok(rec["mail_from"] == "forms@example.com", "contact form: envelope sender is the From header's address",
           rec["mail_from"])
        frm = msg["From"]
        ok(frm is not None and frm.addresses[0].addr_spec == "forms@example.com"
           and frm.addresses[0].display_name == "Contact Form",
           "contact form: From: Contact Form <forms@example.com>", str(frm))
        rt = msg["Reply-To"]
        ok(rt is not None and rt.addresses[0].addr_spec == "visitor@example.org"
           and rt.addresses[0].display_name == "Visitor",
           "contact form: Reply-To: Visitor <visitor@example.org>", str(rt))
        cc = msg["Cc"]
        ok(cc is not None and [a.addr_spec for a in cc.addresses] == ["team@example.com"],
           "contact form: Cc header", str(cc))
        ok(msg["To"] is not None and "owner@example.net" in str(msg["To"]), "contact form: To header",
           str(msg["To"]))
        ok(str(msg["Subject"]) == "New contact form submission", "contact form: Subject", str(msg["Subject"]))
        ok(str(msg.get("X-Mailport-E2E", "")) == "wp_mail filter applied",
           "contact form: headers added by a `wp_mail` filter are sent (pre_wp_mail got the filtered atts)",
           msg.get("X-Mailport-E2E"))
        parts = leaf_parts(msg)
        html = [p for p in parts if p.get_content_type() == "text/html" and p.get_content_disposition() != "attachment"]
        ok(len(html) == 1 and "<h1>New message</h1>" in html[0].get_content()
           and "Grüße" in html[0].get_content() and (html[0].get_content_charset() or "").lower() == "utf-8",
           "contact form: HTML body (text/html; charset=utf-8, content intact)",
           [(p.get_content_type(), p.get_content_charset()) for p in parts])
        att = [p for p in parts if p.get_filename() == "visitor-upload.pdf"]
        ok(len(att) == 1 and att[0].get_payload(decode=True) == payload,
           "contact form: attachment visitor-upload.pdf intact",
           [(p.get_content_type(), p.get_filename()) for p in parts])
        ok(not msg.defects and all(not p.defects for p in msg.walk()),
           "contact form: the message parses without defects", [p.defects for p in msg.walk()])

    # --- wrong password -----------------------------------------------------------------------
    before = len(messages(server))
    res, _ = wp.run("contact_form", dict(base, MAILPORT_PASSWORD="wrong-password"), {
        "to": "owner@example.net", "subject": "New contact form submission",
        "attachment": attachment})
    ok(res is not None and res.get("returned") is False, "wrong password: wp_mail() returned false", res)
    events = (res or {}).get("events", [])
    hooks = [e["hook"] for e in events]
    ok(hooks == ["wp_mail_failed"], "wrong password: wp_mail_failed fired (and nothing else)", hooks)
    if "wp_mail_failed" in hooks:
        err = events[hooks.index("wp_mail_failed")]["arg"]
        data = err.get("data") if isinstance(err, dict) else None
        ok(isinstance(err, dict) and err.get("class") == "WP_Error" and err.get("code") == "wp_mail_failed"
           and bool(err.get("message")),
           "wrong password: a WP_Error('wp_mail_failed', message, data)", err)
        data = data if isinstance(data, dict) else {}
        ok(data.get("reply_code") == 535, "wrong password: data.reply_code is 535", data.get("reply_code"))
        ok(isinstance(data.get("hint"), str) and data["hint"].strip() != "",
           "wrong password: data.hint is not empty", data.get("hint"))
        ok(bool(data.get("transcript")), "wrong password: data.transcript is not empty",
           data.get("transcript"))
        ok(bool(data.get("mailport_code")), "wrong password: data.mailport_code is set", data.get("mailport_code"))
        ok("enhanced_status" in data and "server_reply" in data,
           "wrong password: data has enhanced_status and server_reply",
           {k: data.get(k) for k in ("enhanced_status", "server_reply")})
        ok(data.get("subject") == "New contact form submission" and "to" in data,
           "wrong password: data carries the mail data too", sorted(data))
        ok("wrong-password" not in json.dumps(err), "wrong password: the password appears nowhere in the error")
    ok(len(messages(server)) == before, "wrong password: nothing reached the server")

    # --- a visitor's name with line breaks in a headers array element (issue 12.1) ------------
    before = len(messages(server))
    injected = "Visitor <v@x.example>\nBcc: victim1@evil.example, victim2@evil.example\nX-Note: "
    res, _ = wp.run("contact_form", base, {
        "to": "owner@example.net", "subject": "New contact form submission",
        "attachment": attachment, "visitor_name": injected})
    ok(res is not None and res.get("returned") is False,
       "header injection: wp_mail() returned false", res)
    events = (res or {}).get("events", [])
    hooks = [e["hook"] for e in events]
    err = events[0]["arg"] if hooks == ["wp_mail_failed"] else {}
    data = err.get("data") if isinstance(err, dict) and isinstance(err.get("data"), dict) else {}
    ok(hooks == ["wp_mail_failed"] and data.get("mailport_code") == "MAILPORT_ERR_INVALID_ARGUMENT"
       and '"Reply-To"' in str(err.get("message")) and "line break" in str(err.get("message")),
       "header injection: wp_mail_failed names the Reply-To header", err)
    ok(len(messages(server)) == before,
       "header injection: nothing reached the server (no RCPT TO the victims)")

    # --- wp_mail_from / wp_mail_from_name filters --------------------------------------------
    before = len(messages(server))
    res, _ = wp.run("from_filter", base, {
        "to": "owner@example.net", "filtered_from": "filtered@example.net",
        "filtered_name": "Filtered Sender"})
    ok(res is not None and res.get("returned") is True, "from filter: wp_mail() returned true", res)
    seen = (res or {}).get("filters_saw", {})
    ok(seen.get("wp_mail_from") == "original@example.com" and seen.get("wp_mail_from_name") == "Original",
       "from filter: wp_mail_from/wp_mail_from_name received the parsed From", seen)
    msgs = messages(server)
    if ok(len(msgs) == before + 1, "from filter: one message reached the server", f"{len(msgs) - before} new"):
        rec, msg = parse_message(msgs[-1])
        frm = msg["From"]
        ok(frm is not None and frm.addresses[0].addr_spec == "filtered@example.net"
           and frm.addresses[0].display_name == "Filtered Sender",
           "from filter: From header is the filtered sender", str(frm))
        ok(rec["mail_from"] == "filtered@example.net", "from filter: the envelope sender follows",
           rec["mail_from"])
        ok(msg.get_content_type() == "text/plain", "from filter: plain text body by default",
           msg.get_content_type())

    # --- two mails in one request: the client is kept for the request ---------------------------
    before = len(messages(server))
    res, _ = wp.run("two_mails", dict(base, MAILPORT_PHP_BINDING=os.path.join(REPO, "bindings", "php")),
                    {"to": "owner@example.net"})
    ok(res is not None and res.get("returned") == [True, True], "two mails: both wp_mail() calls returned true "
       "(binding found through MAILPORT_PHP_BINDING)", res)
    msgs = messages(server)
    if ok(len(msgs) == before + 2, "two mails: two messages reached the server", f"{len(msgs) - before} new"):
        conns = [parse_message(m)[0]["conn"] for m in msgs[-2:]]
        ok(conns[0] == conns[1], "two mails: one SMTP session for both (client kept in a static)", conns)

    # --- failures that never reach the server -------------------------------------------------
    def failed_with(name, constants, to, expect_code, extra=None, hint=True):
        before = len(messages(server))
        res, _ = wp.run("plain_send", constants, {"to": to})
        ok(res is not None and res.get("returned") is False, f"{name}: wp_mail() returned false", res)
        events = (res or {}).get("events", [])
        hooks = [e["hook"] for e in events]
        data = events[0]["arg"].get("data", {}) if hooks == ["wp_mail_failed"] else {}
        ok(hooks == ["wp_mail_failed"] and data.get("mailport_code") == expect_code
           and (bool(data.get("hint")) or not hint),
           f"{name}: wp_mail_failed with mailport_code {expect_code}" + (" and a hint" if hint else ""),
           {"hooks": hooks, "data": {k: data.get(k) for k in ("mailport_code", "hint")},
            "message": events[0]["arg"].get("message") if events else None})
        if extra:
            extra(data)
        ok(len(messages(server)) == before, f"{name}: nothing reached the server")

    failed_with("invalid address", base, "not an address", "MAILPORT_ERR_INVALID_ADDRESS",
                lambda d: ok(any(a.get("field") == "To" for a in d.get("invalid_addresses", [])),
                             "invalid address: data.invalid_addresses names the To field",
                             d.get("invalid_addresses")), hint=False)
    failed_with("binding missing", dict(base, MAILPORT_PHP_BINDING=os.path.join(tmp, "no-such-binding")),
                "owner@example.net", "MAILPORT_PLUGIN_ERROR")
    failed_with("library missing", dict(base, MAILPORT_LIBRARY=os.path.join(tmp, "no-such-libmailport.so")),
                "owner@example.net", "MAILPORT_LIBRARY_UNAVAILABLE")
    failed_with("bad MAILPORT_SECURITY", dict(base, MAILPORT_SECURITY="ssl-please"),
                "owner@example.net", "MAILPORT_ERR_INVALID_ARGUMENT")

    # --- MAILPORT_FROM / MAILPORT_FORCE_FROM / MAILPORT_ENVELOPE_SENDER ---------------------------
    before = len(messages(server))
    forced = dict(base, MAILPORT_FROM="site@example.com", MAILPORT_FROM_NAME="Example Site",
                  MAILPORT_FORCE_FROM=True, MAILPORT_ENVELOPE_SENDER="bounces@example.com")
    res, _ = wp.run("contact_form", forced, {
        "to": "owner@example.net", "subject": "Forced sender", "attachment": attachment})
    ok(res is not None and res.get("returned") is True, "forced from: wp_mail() returned true", res)
    msgs = messages(server)
    if ok(len(msgs) == before + 1, "forced from: one message reached the server", f"{len(msgs) - before} new"):
        rec, msg = parse_message(msgs[-1])
        frm = msg["From"]
        ok(frm is not None and frm.addresses[0].addr_spec == "site@example.com"
           and frm.addresses[0].display_name == "Example Site",
           "forced from: MAILPORT_FORCE_FROM replaces the plugin's From", str(frm))
        ok(rec["mail_from"] == "bounces@example.com", "forced from: MAILPORT_ENVELOPE_SENDER is the envelope sender",
           rec["mail_from"])
        ok(str(msg.get("Return-Path", "")) in ("", "<bounces@example.com>", "bounces@example.com"),
           "forced from: no conflicting Return-Path header", msg.get("Return-Path"))

    # --- mailport_check_connection() / mailport_send_test_mail() ------------------------------
    res, _ = wp.run("check", base)
    report = (res or {}).get("report")
    ok(isinstance(report, dict) and report.get("ok") is True,
       "mailport_check_connection(): the report says OK", report)

    res, _ = wp.run("check", dict(base, MAILPORT_PASSWORD="wrong-password"))
    report = (res or {}).get("report")
    ok(isinstance(report, dict) and report.get("ok") is False,
       "mailport_check_connection() with a wrong password: the report says not OK", report)

    before = len(messages(server))
    res, _ = wp.run("test_mail", base, {"to": "admin@example.net"})
    ok(res is not None and res.get("returned") is True, "mailport_send_test_mail(): returned true", res)
    msgs = messages(server)
    if ok(len(msgs) == before + 1, "mailport_send_test_mail(): one message reached the server",
          f"{len(msgs) - before} new"):
        rec, msg = parse_message(msgs[-1])
        ok(rec["rcpt_tos"] == ["admin@example.net"] and rec["tls"] is True,
           "mailport_send_test_mail(): to the given address, over TLS", rec)

    # --- implicit TLS (MAILPORT_SECURITY 'tls', "SSL" on port 465) ------------------------------
    before = len(messages(implicit))
    res, _ = wp.run("plain_send", dict(base, MAILPORT_PORT=str(implicit["port"]), MAILPORT_SECURITY="tls",
                                       MAILPORT_CA_FILE=[implicit["ca"]], MAILPORT_TIMEOUT="5"),
                    {"to": "owner@example.net"})
    ok(res is not None and res.get("returned") is True,
       "implicit TLS: wp_mail() returned true (MAILPORT_PORT as a string, MAILPORT_CA_FILE as a list)", res)
    msgs = messages(implicit)
    if ok(len(msgs) == before + 1, "implicit TLS: one message reached the server", f"{len(msgs) - before} new"):
        rec, _msg = parse_message(msgs[-1])
        ok(rec["tls"] is True and rec["auth_user"] == SMTP_USER, "implicit TLS: encrypted and authenticated",
           {k: rec.get(k) for k in ("tls", "auth_user")})

    # --- a server whose certificate we do not trust -------------------------------------------
    before = len(messages(untrusted))
    res, _ = wp.run("contact_form", dict(base, MAILPORT_PORT=untrusted["port"]), {
        "to": "owner@example.net", "subject": "Untrusted", "attachment": attachment})
    ok(res is not None and res.get("returned") is False,
       "untrusted certificate: wp_mail() returned false", res)
    hooks = [e["hook"] for e in (res or {}).get("events", [])]
    code = (res or {}).get("events", [{}])[0].get("arg", {}).get("data", {}).get("mailport_code") if hooks else None
    ok(hooks == ["wp_mail_failed"] and code == "MAILPORT_ERR_CERT_UNTRUSTED",
       "untrusted certificate: wp_mail_failed fired with MAILPORT_ERR_CERT_UNTRUSTED", [hooks, code])
    ok(len(messages(untrusted)) == before, "untrusted certificate: nothing was sent")
    # The plugin declares itself to the library ("wordpress"): the hint names the constant an
    # admin writes in wp-config.php, not the PHP binding's caFile argument or addCaFile().
    err = (res or {}).get("events", [{}])[0].get("arg", {}) if hooks else {}
    hint = str((err.get("data") or {}).get("hint", ""))
    ok("MAILPORT_CA_FILE in wp-config.php" in hint and "caFile" not in hint and "addCaFile" not in hint,
       "untrusted certificate: wp_mail_failed's hint names MAILPORT_CA_FILE, not a PHP argument", hint)
    res, _ = wp.run("logged", base, {"subject": "Untrusted"})
    attempt = (res or {}).get("attempt") or {}
    hint = str(attempt.get("hint", ""))
    ok(attempt.get("kind") == "cert_untrusted" and "MAILPORT_CA_FILE in wp-config.php" in hint
       and "caFile" not in hint,
       "untrusted certificate: the Email log's hint names MAILPORT_CA_FILE in wp-config.php", attempt)

    zip_path = run_cli_and_uninstall(wp, server, base, checks, procs)
    run_zip_install(wp, server, base, zip_path, checks)


def run_cli_and_uninstall(wp, server, base, checks, procs):
    ok = checks.check

    # --- the packaged plugin (package.sh: the Composer package, library included, in
    # vendor/mailport; the zip is installed by run_zip_install) --------------------------------
    packaged = os.path.realpath(os.path.join(wp.tmp, "plugins-packaged"))
    r = subprocess.run([os.path.join(PLUGIN_ROOT, "package.sh"), packaged],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    zip_path = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else None
    if ok(r.returncode == 0 and zip_path == os.path.join(packaged, f"mailport-{plugin_version()}.zip")
          and os.path.isfile(zip_path),
          "package.sh made the plugin zip and a self-contained plugin directory", r.stdout + r.stderr[-3000:]):
        attachment = os.path.join(wp.tmp, "visitor-upload.pdf")
        before = len(messages(server))
        res, _ = wp.run("contact_form", base, {
            "to": "owner@example.net", "subject": "Packaged", "attachment": attachment},
            plugin_dir=packaged)
        ok(res is not None and res.get("returned") is True, "packaged plugin: wp_mail() returned true", res)
        binding = (res or {}).get("binding_file") or ""
        plugin_file = (res or {}).get("plugin_file") or ""
        ok(plugin_file.startswith(packaged + os.sep) and binding.startswith(
            os.path.join(packaged, "mailport", "vendor", "mailport") + os.sep),
           "packaged plugin: the copied plugin used its vendor/mailport binding (not the checkout's)",
           {"plugin": plugin_file, "binding": binding})
        ok(len(messages(server)) == before + 1, "packaged plugin: the message reached the server")

    # --- the binding preloaded (opcache.preload, as php-fpm and Apache use it) ------------------
    # The CLI with opcache.enable_cli: preload.php declares the Mailport classes and the FFI scope
    # comes from ffi.preload (the header bin/mailport-ffi-header.php writes; needed when PHP
    # runs as root, which requires opcache.preload_user). No MAILPORT_LIBRARY constant: the
    # library is the one chosen at "server start".
    binding = os.path.join(REPO, "bindings", "php")
    header = os.path.join(wp.tmp, "mailport-ffi-preload.h")
    r = subprocess.run(["php", os.path.join(binding, "bin", "mailport-ffi-header.php"), header,
                        f"--library={wp.library}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if ok(r.returncode == 0, "preloaded: bin/mailport-ffi-header.php wrote the ffi.preload header", r.stdout):
        settings = ["-d", "opcache.enable=1", "-d", "opcache.enable_cli=1",
                    "-d", f"opcache.preload={os.path.join(binding, 'preload.php')}",
                    "-d", f"ffi.preload={header}"]
        if os.getuid() == 0:
            settings += ["-d", "opcache.preload_user=root"]
        constants = {k: v for k, v in base.items() if k != "MAILPORT_LIBRARY"}
        before = len(messages(server))
        res, _ = wp.run("contact_form", constants, {
            "to": "owner@example.net", "subject": "Preloaded", "attachment": os.path.join(wp.tmp, "visitor-upload.pdf")},
            php_settings=settings)
        ok(res is not None and res.get("returned") is True, "preloaded: wp_mail() returned true", res)
        ok(res is not None and res.get("library") == "FFI scope MAILPORT (preloaded)"
           and (res.get("binding_file") or "").startswith(os.path.join(binding, "src") + os.sep),
           "preloaded: the plugin used the preloaded classes and FFI scope",
           res and {k: res.get(k) for k in ("library", "binding_file")})
        ok(len(messages(server)) == before + 1, "preloaded: the message reached the server")

    # --- WP-CLI commands (with a stand-in WP_CLI class: wp-cli itself is not needed) ------------
    before = len(messages(server))
    res, _ = wp.run("cli", base, {"to": "cli@example.net"})
    ok(res is not None and res.get("registered") == "Mailport_CLI_Command",
       "WP-CLI: `wp mailport` registered when WP_CLI is defined", res and res.get("registered"))
    runs = (res or {}).get("runs", [])
    if ok(len(runs) == 3, "WP-CLI: test, check and check --format=json ran", runs):
        test, check, check_json = runs
        kinds = [k for k, _ in test["output"]]
        ok(not test["halted"] and "success" in kinds, "WP-CLI: `wp mailport test cli@example.net` succeeds",
           test["output"])
        ok(any("encrypted (TLS" in m for _, m in test["output"]), "WP-CLI: test reports the TLS version",
           test["output"])
        kinds = [k for k, _ in check["output"]]
        ok(not check["halted"] and "success" in kinds, "WP-CLI: `wp mailport check` succeeds", check["output"])
        lines = [m for k, m in check_json["output"] if k == "line"]
        try:
            doc = json.loads(lines[0]) if lines else None
        except ValueError:
            doc = None
        ok(isinstance(doc, dict), "WP-CLI: `wp mailport check --format=json` prints the JSON report", lines)
    msgs = messages(server)
    if ok(len(msgs) == before + 1, "WP-CLI: the test mail reached the server", f"{len(msgs) - before} new"):
        rec, _msg = parse_message(msgs[-1])
        ok(rec["rcpt_tos"] == ["cli@example.net"], "WP-CLI: to the given address", rec["rcpt_tos"])

    # --- the outbox: queued where FFI is off or the server is down, delivered by WP-CLI ---------
    run_outbox_scenarios(wp, server, base, checks, messages, parse_message, leaf_parts)
    run_backup_and_alerts(wp, server, base, checks, messages, parse_message)

    # --- Google sign-in: the worker with the refresh token, rotation, invalid_grant --------------
    from e2e_oauth import run_oauth_delivery
    run_oauth_delivery(wp, checks, procs)

    # --- uninstall removes nothing it did not create ---------------------------------------------
    res, _ = wp.run("uninstall", base)
    ok(res is not None and res.get("uninstallable") is True, "uninstall: WordPress sees uninstall.php", res)
    ok(res is not None and "mailport/mailport.php" not in (res.get("active_plugins") or []),
       "uninstall: the plugin was deactivated", res and res.get("active_plugins"))
    ok(res is not None and res.get("options_after") < res.get("options_after_deactivate")
       and not res.get("mailport_options"),
       "uninstall: its own options removed (mailport_*), nothing else", res)
    ok(res is not None and res.get("outbox_table") is False,
       "uninstall: the outbox table, with nothing pending in it, dropped", res)
    return zip_path


def plugin_version():
    with open(os.path.join(PLUGIN_ROOT, "mailport", "mailport.php")) as f:
        for line in f:
            if line.startswith(" * Version:"):
                return line.split(":", 1)[1].strip()
    raise SetupError("no Version: line in mailport/mailport.php")


def fake_library(path, abi, tmp):
    """A stand-in libmailport that only reports an ABI and a version (all the plugin asks of a
    library before it lets the binding load it)."""
    source = os.path.join(tmp, "fake-libmailport.c")
    with open(source, "w") as f:
        f.write("#include <stdint.h>\n"
                f"uint32_t mailport_abi_version(void) {{ return {abi}; }}\n"
                'const char *mailport_version(void) { return "mailport/9.9.9 stand-in"; }\n')
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", path, source], check=True)


def run_zip_install(wp, server, base, zip_path, checks):
    """The plugin zip installed as a site owner installs it, then the bundled library's checks:
    a good copy sends; a damaged one (wrong SHA-256) and one of another ABI are refused, with a
    dashboard notice for administrators (not for subscribers) and a Site Health result, and
    wp_mail() fails with the same explanation instead of loading them."""
    ok = checks.check
    if not zip_path:
        ok(False, "zip install: no zip to install (package.sh failed above)")
        return
    # No MAILPORT_LIBRARY: the plugin uses what it ships.
    constants = {k: v for k, v in base.items() if k != "MAILPORT_LIBRARY"}
    plugins = os.path.join(wp.tmp, "plugins-zip")
    os.makedirs(plugins)
    res, _ = wp.run("zip_install", {"FS_METHOD": "direct"}, {"zip": zip_path}, plugin_dir=plugins)
    ok(res is not None and res.get("installed") is True and res.get("plugin") == "mailport/mailport.php"
       and res.get("activate") is None,
       "zip install: WordPress's Plugin_Upgrader installed the zip and activate_plugin() activated it", res)
    bundled = os.path.join(plugins, "mailport", "vendor", "mailport", "lib", "linux-x86_64", "libmailport.so.1")
    check = (res or {}).get("check") or {}
    ok(check.get("path") == bundled and check.get("problem") is None and check.get("abi") == 1
       and check.get("actual") and check.get("actual") == check.get("expected"),
       "zip install: activation verified the bundled library (SHA-256 and ABI) and recorded it", check)

    before = len(messages(server))
    res, _ = wp.run("contact_form", constants, {
        "to": "owner@example.net", "subject": "From the zip", "attachment": os.path.join(wp.tmp, "visitor-upload.pdf")},
        plugin_dir=plugins)
    ok(res is not None and res.get("returned") is True and res.get("library") == bundled,
       "zip install: wp_mail() returned true, through the bundled library", res)
    ok(len(messages(server)) == before + 1, "zip install: the message reached the server")

    res, _ = wp.run("library_health", constants, {"mark_record": True}, plugin_dir=plugins)
    health = (res or {}).get("health") or {}
    ok(health.get("status") == "good" and "libmailport.so.1" in health.get("description", ""),
       "zip install: Site Health says the library is good", health)
    ok(res is not None and res.get("admin_notice") == "", "zip install: no dashboard notice", res)
    ok(((res or {}).get("check_after_notice") or {}).get("checked") == 0,
       "zip install: an unchanged library is not hashed again (the stored verdict is used)",
       (res or {}).get("check_after_notice"))
    ok(((res or {}).get("check") or {}).get("checked", 0) > 0,
       "zip install: Site Health verifies it in full", (res or {}).get("check"))

    def refused(name, plugin_dir, words):
        res, _ = wp.run("library_health", constants, plugin_dir=plugin_dir)
        res = res or {}
        notice = html.unescape(res.get("admin_notice") or "")
        health = res.get("health") or {}
        description = html.unescape(health.get("description", ""))
        ok("notice-error" in notice and "refused its bundled libmailport" in notice and words in notice,
           f"{name}: administrators see a dashboard notice saying so", notice)
        ok(res.get("subscriber_notice") == "", f"{name}: subscribers see no notice", res.get("subscriber_notice"))
        ok(health.get("status") == "critical" and "refused" in health.get("label", "")
           and words in description and "reinstall the plugin" in description,
           f"{name}: Site Health reports it as critical, with what to do", health)
        before = len(messages(server))
        res, _ = wp.run("plain_send", constants, {"to": "owner@example.net"}, plugin_dir=plugin_dir)
        events = (res or {}).get("events", [])
        err = events[0]["arg"] if [e["hook"] for e in events] == ["wp_mail_failed"] else {}
        ok(res is not None and res.get("returned") is False and words in str(err.get("message"))
           and (err.get("data") or {}).get("mailport_code") == "MAILPORT_LIBRARY_UNAVAILABLE",
           f"{name}: wp_mail() fails with the same explanation", res)
        ok(len(messages(server)) == before, f"{name}: nothing was sent")

    # The installed library damaged in place: one byte more than what lib/SHA256SUMS was made
    # from; the stored verdict is for the old file, and the stat() check notices. Then repaired.
    size = os.path.getsize(bundled)
    with open(bundled, "ab") as f:
        f.write(b"\0")
    refused("wrong checksum", plugins, "does not match its checksum")
    os.truncate(bundled, size)
    res, _ = wp.run("library_health", constants, plugin_dir=plugins)
    ok(((res or {}).get("health") or {}).get("status") == "good" and (res or {}).get("admin_notice") == "",
       "wrong checksum: once the file is repaired, the plugin uses it again", res)

    # A library of another ABI, with a checksum that matches it (a package assembled from
    # mismatched parts).
    other = os.path.join(wp.tmp, "plugins-other-abi")
    shutil.copytree(plugins, other, symlinks=True)
    lib = os.path.join(other, os.path.relpath(bundled, plugins))
    fake_library(lib, 999, wp.tmp)
    r = subprocess.run(["sha256sum", "lib/linux-x86_64/libmailport.so.1"], cwd=os.path.dirname(os.path.dirname(os.path.dirname(lib))),
                       stdout=subprocess.PIPE, text=True, check=True)
    with open(os.path.join(os.path.dirname(os.path.dirname(lib)), "SHA256SUMS"), "w") as f:
        f.write(r.stdout)
    refused("wrong ABI", other, "has ABI 999, but the plugin's PHP binding was written for ABI 1")

    # The good copy again: verified afresh (the record was another file's), and sending.
    res, _ = wp.run("library_health", constants, plugin_dir=plugins)
    ok(((res or {}).get("health") or {}).get("status") == "good" and (res or {}).get("admin_notice") == "",
       "zip install: back on the good copy, Site Health is good again", res)

    res, _ = wp.run("uninstall", constants, plugin_dir=plugins)
    ok(res is not None and not res.get("mailport_options"),
       "zip install: uninstall deletes the plugin's option (mailport_library_check)", res)


def check_php_log(tmp, checks):
    log = os.path.join(tmp, "php-errors.log")
    lines = []
    if os.path.exists(log):
        with open(log, errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
    marks = (os.path.join(REPO, "bindings") + os.sep, os.path.join(tmp, "wp-content", "plugins", "mailport"),
             os.path.join(tmp, "plugins-"),
             "Mailport\\", "mailport_")
    ours = [l for l in lines if any(m in l for m in marks)]
    checks.check(not ours, "no PHP error, warning, notice or deprecation from the plugin or the binding "
                 "(WP_DEBUG log)", "\n" + "\n".join(ours[:20]))
    others = len(lines) - len(ours)
    if others:
        print(f"# note: {others} line(s) in the WP_DEBUG log from WordPress itself"
              + (f", e.g. {lines[0][:200]}" if lines else ""), flush=True)


def library_path():
    if os.environ.get("MAILPORT_E2E_LIBRARY"):
        return os.path.abspath(os.environ["MAILPORT_E2E_LIBRARY"])
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    if not os.path.isabs(target):
        target = os.path.join(REPO, target)
    return os.path.join(target, "debug", "libmailport.so")


def run_test(prefix, body):
    """The frame of an end-to-end test: a private temporary directory, the library, WordPress,
    MariaDB and the SMTP server (STARTTLS, AUTH) started, then body(tmp, procs, checks, library,
    sock, server); every process stopped and the directory removed (kept with
    MAILPORT_E2E_KEEP=1) whatever happens, and one PASS/FAIL line. Returns the exit status."""
    started = time.monotonic()
    checks = Checks()
    procs = Processes()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    keep = os.environ.get("MAILPORT_E2E_KEEP") == "1"
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(tmp, 0o700)
    code = 0
    try:
        library = library_path()
        if not os.path.isfile(library):
            raise SetupError(f"{library} not found: build it with `cargo build -p mailport`")
        check_wordpress()

        t = time.monotonic()
        sock = start_mariadb(tmp, procs)
        print(f"# MariaDB ready on {sock} ({time.monotonic() - t:.1f} s)", flush=True)
        server = start_smtp(tmp, procs, "smtp", [
            "--mode", "starttls", "--auth", f"{SMTP_USER}:{SMTP_PASS}", "--hostname", "localhost",
            "--require-starttls", "--reject-rcpt-once", "refused-once@"])
        print(f"# SMTP server (STARTTLS, AUTH {SMTP_USER}) on 127.0.0.1:{server['port']}", flush=True)
        body(tmp, procs, checks, library, sock, server)
        check_php_log(tmp, checks)
        if checks.failed:
            code = 1
    except SetupError as e:
        print(f"FAIL setup: {e}", flush=True)
        code = 2
    except KeyboardInterrupt as e:
        print(f"FAIL interrupted ({e or 'SIGINT'})", flush=True)
        code = 130
    finally:
        procs.stop_all()
        if keep:
            print(f"# kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    took = time.monotonic() - started
    verdict = "PASS" if code == 0 else "FAIL"
    print(f"{verdict}: {checks.passed} passed, {checks.failed} failed in {took:.1f} s", flush=True)
    return code


def main():
    def body(tmp, procs, checks, library, sock, server):
        implicit = start_smtp(tmp, procs, "smtp-tls", [
            "--mode", "tls", "--auth", f"{SMTP_USER}:{SMTP_PASS}", "--hostname", "localhost"])
        untrusted = start_smtp(tmp, procs, "smtp-untrusted", [
            "--mode", "starttls", "--auth", f"{SMTP_USER}:{SMTP_PASS}", "--hostname", "localhost",
            "--untrusted"])
        wp = WordPress(tmp, sock, library)
        run_scenarios(wp, server, implicit, untrusted, checks, tmp, procs)

    return run_test("mailport-wp-e2e.", body)


if __name__ == "__main__":
    sys.exit(main())
