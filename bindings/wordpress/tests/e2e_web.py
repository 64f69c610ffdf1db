#!/usr/bin/env python3
"""End-to-end test of the WordPress plugin as a site runs it: php-fpm behind nginx, and the
admin screens in a real browser. Run through tests/run-e2e-web.sh (from anywhere).

In one temporary directory, removed at the end with every process it started (tests/wpenv.py:
MariaDB, WordPress; tests/web.py: php-fpm8.2 + nginx on 127.0.0.1; tests/browser.py: headless
Chromium through Selenium), with tests/web-mu-plugin.php as a must-use plugin that plays a
contact form (a POST with a file upload calls wp_mail() with it attached):

  1. PHP's default ffi.enable=preload and nothing preloaded: a web request may not call FFI, so
     wp_mail() queues (returns true, a row in wp_mailport_outbox, the upload copied, nothing at
     the SMTP server); the worker (`wp mailport outbox run`, scenario.php's outbox_cli step)
     delivers it, attachment intact;
  2. the preload set-up (opcache.preload of the binding, ffi.preload of its header), the SMTP
     server down (a closed port): the direct send fails, wp_mail() queues and returns true; the
     worker, with the server back, delivers it;
  3. the preload set-up, the server up: the request sends at once, no row;
  4. in Chromium, in both set-ups: the administrator (admin / admin-password-e2e) sees
     /wp-admin/, Settings -> General and every mailport screen of the admin menu and its tabs
     without PHP error output (each screenshotted); every form and action link on those screens,
     replayed without its nonce, is refused to the administrator; a subscriber is refused each
     screen and each action (403), and none of them sends mail;
  5. Google as the sign-in (tests/e2e_oauth.py, against tests/servers/oauth_server.py): Connect
     through the server's /authorize back to admin-post.php, "Connected as …", the refresh token
     stored encrypted; forged state, replayed callback, no nonce, a subscriber: refused; a refused
     consent explained; Site Health; Disconnect.

Prints one PASS/FAIL line per check, the screenshots saved, and exits 1 if a check failed (2 when
the setup itself failed).

Environment: MAILPORT_E2E_LIBRARY, MAILPORT_E2E_KEEP, MAILPORT_E2E_VERBOSE, MAILPORT_E2E_ABSPATH
as for tests/e2e.py; MAILPORT_E2E_ARTIFACTS=DIR where the screenshots go (default
<repo>/target/wordpress-screens).
"""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse

from browser import Browser, artifacts_dir
from e2e import leaf_parts, messages, parse_message, run_test, start_smtp
from e2e_outbox import closed_port
from e2e_oauth import OAuthServer, run_consent
from e2e_screens import run_held_and_retry, run_resend, run_screens
from web import STOCK, WebSite, preload_settings, query
from wpenv import HERE, PHP_TIMEOUT, SetupError, WordPress

MU_PLUGIN = os.path.join(HERE, "web-mu-plugin.php")
SCENARIO_WEB = os.path.join(HERE, "scenario-web.php")

SMTP_USER = "user"
SMTP_PASS = "pass"
ADMIN = ("admin", "admin-password-e2e")            # what scenario.php's install step creates
SUBSCRIBER = ("subscriber", "subscriber-password-e2e")

# The screenshots' name prefixes: the PHP set-up the screens were served with.
LABELS = ("stock", "preloaded")

PAYLOAD = b"%PDF-1.4\n% uploaded through nginx + php-fpm\n" + bytes(range(256)) * 16 + b"\n%%EOF\n"


def cli_step(wp, step, args):
    """`php tests/scenario-web.php STEP` with WordPress's environment: the RESULT or None."""
    env = dict(wp.env, MAILPORT_E2E_CONSTANTS="{}")
    r = subprocess.run(["php", "-d", "display_errors=stderr", SCENARIO_WEB, step, json.dumps(args)],
                       env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=PHP_TIMEOUT)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT ") and r.returncode == 0:
            return json.loads(line[len("RESULT "):])
    print(f"--- php scenario-web.php {step}: exit {r.returncode}\n{r.stdout}{r.stderr}", file=sys.stderr)
    return None


class Run:
    def __init__(self, site, wp, server, checks):
        self.site = site
        self.wp = wp
        self.server = server
        self.checks = checks
        self.token = secrets.token_hex(16)
        site.extra_env["MAILPORT_E2E_WEB_TOKEN"] = self.token
        self.base = {
            "MAILPORT_HOST": "localhost",
            "MAILPORT_PORT": server["port"],
            "MAILPORT_SECURITY": "starttls",
            "MAILPORT_USER": SMTP_USER,
            "MAILPORT_PASSWORD": SMTP_PASS,
            "MAILPORT_CA_FILE": server["ca"],
            "MAILPORT_TIMEOUT": 10,
            "MAILPORT_LIBRARY": wp.library,
        }
        # The preload set-up chooses the library at server start: no MAILPORT_LIBRARY constant.
        self.preloaded_base = {k: v for k, v in self.base.items() if k != "MAILPORT_LIBRARY"}
        self.failed_before_logs = 0
        self.smtp_user, self.smtp_password = SMTP_USER, SMTP_PASS
        # (name, path) of the plugin's screens the administrator saw, for the subscriber's turn.
        self.screen_paths = set()

    def ok(self, cond, what, detail=None):
        return self.checks.check(cond, what, detail)

    def show_logs_if_failed(self):
        """After a scenario: php-fpm's and nginx's logs when one of its checks failed."""
        if self.checks.failed > self.failed_before_logs:
            self.failed_before_logs = self.checks.failed
            print(self.site.logs(), flush=True)

    def send(self, name, subject):
        """The contact form's POST: (the JSON answer or None)."""
        status, _headers, body = self.site.post_multipart(
            "/" + query(mailport_e2e_send=self.token),
            {"to": "owner@example.net", "subject": subject},
            {"attachment": ("web-upload.pdf", PAYLOAD, "application/pdf")})
        try:
            res = json.loads(body)
        except ValueError:
            res = None
        self.ok(status == 200 and isinstance(res, dict),
                f"{name}: the request through nginx + php-fpm answered 200 with JSON",
                f"{status}: {body[:2000]}")
        return res if isinstance(res, dict) else {}

    def arrived(self, name, before, subject):
        """The one new message at the SMTP server, checked: it has the attachment, intact."""
        msgs = messages(self.server)[before:]
        if not self.ok(len(msgs) == 1, f"{name}: one message reached the SMTP server", f"{len(msgs)} new"):
            return
        rec, msg = parse_message(msgs[0])
        self.ok(str(msg["Subject"]) == subject and rec["rcpt_tos"] == ["owner@example.net"] and rec["tls"] is True,
                f"{name}: it is the form's mail, to owner@example.net, over TLS",
                {"subject": str(msg["Subject"]), "rcpt": rec["rcpt_tos"], "tls": rec["tls"]})
        att = [p for p in leaf_parts(msg) if p.get_filename() == "web-upload.pdf"]
        self.ok(len(att) == 1 and att[0].get_payload(decode=True) == PAYLOAD,
                f"{name}: the uploaded attachment arrived intact (the upload itself was deleted)",
                [p.get_filename() for p in leaf_parts(msg)])

    def worker(self, name, constants, expect_sent):
        res, _ = self.wp.run("outbox_cli", constants, {"runs": [["run", [], {}]]})
        runs = (res or {}).get("runs", [])
        output = runs[0]["output"] if runs else None
        self.ok(bool(runs) and not runs[0]["halted"]
                and any(k == "success" and m.startswith(f"outbox run: {expect_sent} sent") for k, m in output),
                f"{name}: `wp mailport outbox run` sent {expect_sent}", output)
        rows = (res or {}).get("rows", [])
        self.ok(rows and all(r["state"] == "sent" for r in rows), f"{name}: every outbox row is sent now",
                [(r["id"], r["state"]) for r in rows])

    # --- 1. stock ffi.enable=preload, nothing preloaded ---------------------------------------

    def queued_without_ffi(self):
        name = "php-fpm, ffi.enable=preload, no preload"
        before = len(messages(self.server))
        res = self.send(name, "Web form, FFI off")
        self.ok(res.get("sapi") == "fpm-fcgi" and res.get("ffi_enable") == "preload" and res.get("preloaded") is False,
                f"{name}: served by php-fpm with PHP's default ffi.enable=preload, nothing preloaded",
                {k: res.get(k) for k in ("sapi", "ffi_enable", "preloaded")})
        self.ok(res.get("ffi_usable") is False and res.get("mode") == "queue",
                f"{name}: the plugin knows FFI is unusable in this request and queues",
                {k: res.get(k) for k in ("ffi_usable", "mode")})
        hooks = [e["hook"] for e in res.get("events", [])]
        self.ok(res.get("returned") is True and hooks == ["wp_mail_succeeded"],
                f"{name}: wp_mail() returned true, wp_mail_succeeded fired",
                {"returned": res.get("returned"), "hooks": hooks})
        queued = res.get("queued", [])
        rows = res.get("rows", [])
        qid = queued[0]["id"] if len(queued) == 1 else None
        self.ok(qid is not None and [(r["id"], r["state"]) for r in rows] == [(qid, "queued")],
                f"{name}: mailport_queued fired once, one queued row in wp_mailport_outbox",
                {"queued": queued, "rows": rows})
        if rows:
            files = json.loads(rows[0]["description"]).get("wp_mail", {}).get("attachments", [])
            copy = files[0].get("path", "") if len(files) == 1 else ""
            folder = os.path.join(self.wp.tmp, "wp-content", "uploads", "mailport-outbox", qid or "?")
            data = open(copy, "rb").read() if os.path.isfile(copy) else None
            self.ok(copy.startswith(folder + os.sep) and data == PAYLOAD and res.get("upload_removed") is True,
                    f"{name}: the upload was copied into uploads/mailport-outbox/<id>/ before the form deleted it",
                    {"attachments": files, "same bytes": data == PAYLOAD, "upload_removed": res.get("upload_removed")})
        self.ok(len(messages(self.server)) == before, f"{name}: nothing reached the SMTP server yet")
        self.worker(f"{name}: worker", self.base, 1)
        self.arrived(f"{name}: worker", before, "Web form, FFI off")
        self.show_logs_if_failed()

    # --- 2. preloaded, the SMTP server down ---------------------------------------------------

    def queued_while_down(self):
        name = "php-fpm preloaded, SMTP server down"
        before = len(messages(self.server))
        res = self.send(name, "Web form, server down")
        self.ok(res.get("preloaded") is True and res.get("ffi_usable") is True
                and res.get("mode") == "direct-then-queue" and res.get("library") == "FFI scope MAILPORT (preloaded)",
                f"{name}: the binding and the FFI scope were preloaded by php-fpm's master",
                {k: res.get(k) for k in ("preloaded", "ffi_usable", "mode", "library", "ffi_enable")})
        queued = res.get("queued", [])
        hooks = [e["hook"] for e in res.get("events", [])]
        self.ok(res.get("returned") is True and hooks == ["wp_mail_succeeded"] and len(queued) == 1,
                f"{name}: wp_mail() returned true: the failed direct send was queued",
                {"returned": res.get("returned"), "hooks": hooks, "queued": queued})
        self.ok(len(queued) == 1 and bool(queued[0].get("because")),
                f"{name}: mailport_queued got the direct send's failure", queued)
        rows = {r["id"]: r["state"] for r in res.get("rows", [])}
        self.ok(len(queued) == 1 and rows.get(queued[0]["id"]) == "queued",
                f"{name}: a queued row in wp_mailport_outbox", rows)
        self.ok(len(messages(self.server)) == before, f"{name}: nothing reached the SMTP server")
        self.worker(f"{name}: server back, worker", self.base, 1)
        self.arrived(f"{name}: server back, worker", before, "Web form, server down")
        self.show_logs_if_failed()

    # --- 3. preloaded, the SMTP server up -----------------------------------------------------

    def direct(self):
        name = "php-fpm preloaded, SMTP server up"
        before = len(messages(self.server))
        rows_before, _ = self.wp.run("outbox_state")
        res = self.send(name, "Web form, direct")
        hooks = [e["hook"] for e in res.get("events", [])]
        self.ok(res.get("returned") is True and hooks == ["wp_mail_succeeded"] and not res.get("queued"),
                f"{name}: wp_mail() returned true, sent directly (not queued)",
                {"returned": res.get("returned"), "hooks": hooks, "queued": res.get("queued"),
                 "events": res.get("events")})
        # A mail sent at once is logged as a finished row (for the Email log), never queued.
        new = [r for r in res.get("rows", []) if r["id"] not in {x["id"] for x in (rows_before or {}).get("rows", [])}]
        self.ok(len(new) == 1 and new[0]["state"] == "sent" and new[0]["description"] is None,
                f"{name}: nothing queued; the mail is logged as sent", new)
        self.arrived(name, before, "Web form, direct")
        self.show_logs_if_failed()

    # --- 4. the screens in Chromium -----------------------------------------------------------

    def screens(self, browser, label):
        """As the administrator: each screen shown, styled, without PHP error output, and
        screenshotted; each of the plugin's actions refused without its nonce. As a subscriber:
        each screen and action refused (403)."""
        name = f"browser ({label})"
        url = self.site.url
        try:
            browser.log_in(url, *ADMIN)
        except SetupError as e:
            self.ok(False, f"{name}: the administrator logs in at /wp-login.php", e)
            return
        self.ok(True, f"{name}: the administrator logs in at /wp-login.php")
        pages = [("dashboard", "/wp-admin/", "#wpbody-content"),
                 ("options-general", "/wp-admin/options-general.php", "#blogname")]
        browser.go(url + "/wp-admin/")
        browser.wait_for("#adminmenu")
        queue = browser.admin_menu_links("mailport")
        if not queue:
            print(f"# note: no mailport screen in the admin menu yet ({name})", flush=True)
        actions = {}
        visited = set()
        while pages or queue:
            if pages:
                page, path, css = pages.pop(0)
            else:
                href = queue.pop(0)
                path = href[len(url):] if href.startswith(url) else href
                page = screen_name(path)
                css = "#wpbody-content"
            if path in visited:
                continue
            visited.add(path)
            browser.go(url + path)
            try:
                browser.wait_for(css)
                shown = True
            except Exception:  # noqa: BLE001 - a TimeoutException: the check below says what is missing
                shown = False
            shot = browser.screenshot(f"{label}-admin-{page}")
            errors = browser.php_errors()
            self.ok(shown and not errors and "/wp-login.php" not in browser.url and browser.styled(),
                    f"{name}: the administrator sees {path} ({css}), styled, without PHP error output",
                    {"url": browser.url, "title": browser.title, "errors": errors, "styled": browser.styled(),
                     "screenshot": shot})
            notices = browser.notices()
            if notices:
                print(f"# {path}: admin notices: " + json.dumps(notices)[:1000], flush=True)
            # Nothing is broken in either set-up (without FFI in web requests mail is queued):
            # no error notice.
            self.ok(not [n for n in notices if "notice-error" in n["classes"]],
                    f"{name}: no error notice on {path}", notices)
            if "mailport" in path:
                self.screen_paths.add((page, path))
                queue += [h for h in browser.tab_links("mailport") if h not in queue]
                for action in browser.actions():
                    actions.setdefault(action_key(url, action), action)

        # WordPress's own forms check their nonce (check_admin_referer), as the plugin's must.
        cookie = browser.cookie_header()
        status, _h, body = self.site.request(
            "POST", "/wp-admin/options.php", body="option_page=general&action=update&blogname=Changed",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        self.ok(status == 403 and "The link you followed has expired" in body,
                f"{name}: Settings -> General saved without its nonce is refused (403) even to the administrator",
                f"{status}: {body[:300]}")
        before = len(messages(self.server))
        for key, action in sorted(actions.items()):
            status, body = self.act(action, cookie, keep_nonce=False)
            self.ok(status == 403, f"{name}: {key} without its nonce is refused (403) to the administrator",
                    f"{status}: {body[:300]}")

        try:
            browser.log_in(url, *SUBSCRIBER)
        except SetupError as e:
            self.ok(False, f"{name}: the subscriber logs in at /wp-login.php", e)
            return
        cookie = browser.cookie_header()
        for page, path in [("options-general", "/wp-admin/options-general.php")] + sorted(self.screen_paths):
            browser.go(url + path)
            shot = browser.screenshot(f"{label}-subscriber-{page}")
            text = browser.text()
            status, _h, _body = self.site.request("GET", path, headers={"Cookie": cookie})
            self.ok("Sorry, you are not allowed" in text and status == 403 and not browser.php_errors(),
                    f"{name}: a subscriber (no manage_options) is refused {path} (403, \"Sorry, you are not allowed\")",
                    {"url": browser.url, "status": status, "text": text[:300], "screenshot": shot})
        for key, action in sorted(actions.items()):
            # With the administrator's nonce, as a forged request would carry one.
            status, body = self.act(action, cookie, keep_nonce=True)
            self.ok(status == 403, f"{name}: {key} is refused (403) to a subscriber", f"{status}: {body[:300]}")
        self.ok(len(messages(self.server)) == before, f"{name}: no refused action sent mail",
                f"{len(messages(self.server)) - before} new")
        browser.log_out()

    def act(self, action, cookie, keep_nonce):
        """Replay one of a screen's actions (browser.actions()) outside the browser, with or
        without its nonce: (status, body)."""
        parts = urllib.parse.urlsplit(action["url"])
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                 if keep_nonce or "nonce" not in k.lower()]
        target = parts.path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Cookie": cookie, "Referer": action["url"]}
        body = None
        if action["method"] == "POST":
            fields = [(k, v) for k, v in action["fields"] if keep_nonce or "nonce" not in k.lower()]
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, _h, text = self.site.request(action["method"], target, body=body, headers=headers)
        return status, text


def screen_name(path):
    """mailport-TAB for options-general.php?page=mailport&tab=TAB, the page's name otherwise."""
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    return "-".join(x for x in (q.get("page"), q.get("tab")) if x) or "screen"


def action_key(base, action):
    """A readable name for an action: METHOD path (action=NAME, option_page=NAME)."""
    parts = urllib.parse.urlsplit(action["url"])
    fields = dict(urllib.parse.parse_qsl(parts.query))
    fields.update({k: v for k, v in action["fields"]})
    what = ", ".join(f"{k}={fields[k]}" for k in ("action", "option_page", "tab") if k in fields)
    return f"{action['method']} {parts.path}" + (f" ({what})" if what else "")


def run(wp, server, checks, procs):
    ok = checks.check
    # First: it points the CLI steps (install included) at the tree the web server serves.
    site = WebSite(wp, procs)
    res = wp.install()
    if not ok(res is not None and res.get("ok"), "WordPress installed and the plugin activated", res):
        return
    user = cli_step(wp, "add_user", {"login": SUBSCRIBER[0], "password": SUBSCRIBER[1],
                                     "email": "subscriber@example.com", "role": "subscriber"})
    ok(user is not None and user.get("roles") == ["subscriber"] and user.get("manage_options") is False,
       "a subscriber user exists (no manage_options)", user)

    oauth = OAuthServer(wp.tmp, procs)
    site.extra_env.update(oauth.env())
    # The mailbox signed in with OAuth: aiosmtpd checking each bearer token at the OAuth server.
    oauth_smtp = start_smtp(wp.tmp, procs, "smtp-oauth", [
        "--mode", "starttls", "--hostname", "localhost",
        "--oauth-introspect", oauth.url + "/introspect", "--oauth-ca", oauth.ca])
    print(f"# OAuth server on {oauth.url}, its SMTP server on 127.0.0.1:{oauth_smtp['port']}", flush=True)

    t = time.monotonic()
    run_ = Run(site, wp, server, checks)
    site.start(STOCK, run_.base)
    print(f"# nginx + php-fpm on {site.url} (WordPress tree: {site.copied_with}; {time.monotonic() - t:.1f} s)",
          flush=True)
    shots = []
    try:
        stale = [f"{label}-*.png" for label in LABELS] + ["oauth-*.png"]
        with Browser(artifacts_dir(stale=stale), ignore_spki=[oauth.spki()]) as browser:
            run_.queued_without_ffi()
            run_.screens(browser, LABELS[0])
            run_.show_logs_if_failed()

            site.restart(preload_settings(wp.tmp, wp.library), dict(run_.preloaded_base, MAILPORT_PORT=closed_port()))
            run_.queued_while_down()
            site.restart(constants=run_.preloaded_base)
            run_.direct()
            run_.screens(browser, LABELS[1])
            run_.show_logs_if_failed()

            # The screens used: settings saved from the form rather than constants.
            site.restart(constants={"MAILPORT_CA_FILE": server["ca"], "MAILPORT_TIMEOUT": 10})
            run_screens(run_, browser, cli_step, ADMIN)
            run_held_and_retry(run_, browser)
            run_resend(run_, browser)
            run_.show_logs_if_failed()

            # Google as the sign-in: the consent flow through the local OAuth server.
            # The CA files apply to the library's token requests as to SMTP.
            site.restart(constants=dict({
                "MAILPORT_HOST": "localhost", "MAILPORT_PORT": oauth_smtp["port"], "MAILPORT_SECURITY": "starttls",
                "MAILPORT_CA_FILE": [oauth_smtp["ca"], oauth.ca], "MAILPORT_TIMEOUT": 10,
            }, **oauth.constants()))
            run_consent(run_, browser, cli_step, ADMIN, SUBSCRIBER, oauth, oauth_smtp)
            run_.show_logs_if_failed()
            shots = browser.saved
    finally:
        site.stop()
    if shots:
        print(f"# screenshots ({len(shots)}) in {os.path.dirname(shots[0])}:", flush=True)
        for path in shots:
            print(f"#   {os.path.basename(path)}", flush=True)


def main():
    def body(tmp, procs, checks, library, sock, server):
        wp = WordPress(tmp, sock, library, mu_plugins=[MU_PLUGIN])
        run(wp, server, checks, procs)

    return run_test("mailport-wp-web.", body)


if __name__ == "__main__":
    sys.exit(main())
