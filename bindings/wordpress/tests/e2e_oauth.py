"""The Google / Microsoft 365 sign-in of the WordPress plugin against the local OAuth server
(tests/servers/oauth_server.py: HTTPS on 127.0.0.1 with a certificate of a CA made at start).

OAuthServer starts it and talks to it (/control, /state). run_consent (e2e_web.py, in Chromium on
php-fpm + nginx): Google chosen on Settings > Mailport with its client id and secret, "Connect with
Google" followed through the server's /authorize back to admin-post.php, "Connected as …", the
refresh token stored encrypted; a forged state, a replayed callback, the actions without their
nonce or as a subscriber refused; a refused consent explained; Site Health; Disconnect.

The plugin's wp_remote_post() trusts the server's CA through the test's must-use plugin
(web-mu-plugin.php, MAILPORT_E2E_OAUTH_CA / MAILPORT_E2E_OAUTH_URL), never the plugin itself;
Chromium accepts the server's certificate by its public key (Browser(ignore_spki=...)).
"""

import base64
import time
import hashlib
import json
import os
import re
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request

from wpenv import REPO, SetupError

OAUTH_SERVER = os.path.join(REPO, "tests", "servers", "oauth_server.py")
CLIENT_ID = "mailport-wp.apps.example"
CLIENT_SECRET = "wp-client-secret-e2e"
ACCOUNT = "owner@example.test"


class OAuthServer:
    """tests/servers/oauth_server.py in tmp/oauth: url, ca, control(), state()."""

    def __init__(self, tmp, procs, extra=()):
        d = os.path.join(tmp, "oauth")
        log = os.path.join(tmp, "oauth.stderr")
        with open(log, "w") as errf:
            proc = procs.start("oauth", [sys.executable, OAUTH_SERVER, "--dir", d, "--max-lifetime", "3600",
                                         "--client", f"{CLIENT_ID}:{CLIENT_SECRET}", *extra],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf, text=True)
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            proc.wait(timeout=5)
            with open(log, errors="replace") as f:
                raise SetupError(f"the OAuth server did not start: {line!r}\n{f.read()}")
        ready = json.loads(line[len("READY "):])
        self.url, self.ca, self.dir = ready["url"], ready["ca"], ready["dir"]
        self.context = ssl.create_default_context(cafile=self.ca)

    def _call(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.context, timeout=30) as r:
            return json.loads(r.read())

    def control(self, **orders):
        return self._call("POST", "/control", orders)

    def state(self):
        return self._call("GET", "/state")

    def get(self, url):
        """GET a URL of this server without following its redirect: (status, Location)."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=self.context))
        try:
            with opener.open(url, timeout=30) as r:
                return r.status, r.headers.get("Location")
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location")

    def spki(self):
        """base64(SHA-256(SubjectPublicKeyInfo)) of the server's certificate, for Chromium's
        --ignore-certificate-errors-spki-list (that certificate only, not every one)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        pem = open(os.path.join(self.dir, "cert.pem"), "rb").read()
        start = pem.index(b"-----BEGIN CERTIFICATE-----")
        cert = x509.load_pem_x509_certificate(pem[start:])
        der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(der).digest()).decode()

    @property
    def php_url(self):
        """The server as PHP reaches it: by name, since WordPress's HTTP API (Requests over
        fsockopen where php-curl is missing) matches a certificate's DNS names only, not its IP
        addresses (the certificate has both)."""
        return self.url.replace("https://127.0.0.1:", "https://localhost:")

    def env(self):
        """What the test's PHP (the mu-plugin's http_request_args filter) needs to trust it."""
        return {"MAILPORT_E2E_OAUTH_CA": self.ca, "MAILPORT_E2E_OAUTH_URL": self.php_url}

    def constants(self):
        """The plugin's endpoints pointed at this server, as a site reaches a sovereign cloud:
        the browser goes to /authorize, PHP posts to /token."""
        return {"MAILPORT_OAUTH_AUTHORIZE_URL": self.url + "/authorize",
                "MAILPORT_OAUTH_TOKEN_URL": self.php_url + "/token"}


def run_consent(run, browser, cli_step, admin, subscriber, oauth, smtp):
    """run: e2e_web's Run; admin, subscriber: (user, password); oauth: an OAuthServer; smtp: the
    aiosmtpd that checks tokens at it (the connection's host and port are constants)."""
    from e2e import messages, parse_message
    from e2e_screens import fill, submit
    ok = run.ok
    site = run.site
    url = site.url
    page = url + "/wp-admin/options-general.php?page=mailport"
    name = "oauth"
    browser.log_in(url, *admin)

    def result_text():
        browser.wait_for("#mailport-result")
        return browser.driver.execute_script("return document.getElementById('mailport-result').innerText")

    def stored():
        return (cli_step(run.wp, "option", {"name": "mailport_oauth"}) or {}).get("value")

    # --- Google chosen, the app's client id and secret saved ---------------------------------------
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-settings-form")
    fill(browser, {"mailport-oauth_provider": "google", "mailport-user": ACCOUNT,
                   "mailport-oauth_client_id": CLIENT_ID, "mailport-oauth_client_secret": CLIENT_SECRET})
    submit(browser, "mailport-save")
    browser.wait_for("#setting-error-settings_updated")
    browser.wait_for("#mailport-oauth")
    shot = browser.screenshot("oauth-settings-google")
    shown = browser.driver.execute_script("""
        const visible = id => { const e = document.getElementById(id); return !!e && e.closest('tr').style.display !== 'none'; };
        return {status: document.getElementById('mailport-oauth-status').innerText,
                redirect: document.getElementById('mailport-oauth-redirect-uri').value,
                button: document.getElementById('mailport-oauth-connect').innerText,
                password_row: visible('mailport-password'), client_row: visible('mailport-oauth_client_id'),
                tenant_row: visible('mailport-oauth_tenant'),
                steps: document.querySelector('.mailport-oauth-steps').innerText};
    """)
    redirect_uri = url + "/wp-admin/admin-post.php?action=mailport_oauth_callback"
    ok(shown["redirect"] == redirect_uri and "Not connected" in shown["status"]
       and shown["button"] == "Connect with Google" and "https://mail.google.com/" in shown["steps"],
       f"{name}: Google chosen: not connected yet, the redirect URI to register, Google's steps, the Connect button",
       {"shown": shown, "screenshot": shot})
    ok(not shown["password_row"] and shown["client_row"] and not shown["tenant_row"],
       f"{name}: the password row is hidden, the client id shown, the tenant (Microsoft only) hidden", shown)
    settings = (cli_step(run.wp, "option", {"name": "mailport_settings"}) or {}).get("value") or {}
    secret = str(settings.get("oauth_client_secret", ""))
    ok(settings.get("oauth_provider") == "google" and secret.startswith("v1:") and CLIENT_SECRET not in secret,
       f"{name}: the client secret is stored encrypted (v1:…)", {"provider": settings.get("oauth_provider"),
                                                                 "secret": secret[:6] + "…"})

    # --- Connect: through the server's /authorize and back to admin-post.php ----------------------
    grants = oauth.state()["grants"]["authorization_code"]
    submit(browser, "mailport-oauth-connect")
    text = result_text()
    shot = browser.screenshot("oauth-connected")
    status = browser.driver.execute_script("return document.getElementById('mailport-oauth-status').innerText")
    ok(f"Connected as {ACCOUNT}" in text and f"Connected as {ACCOUNT}" in status
       and browser.url.startswith(page),
       f"{name}: Connect went to the provider and back: \"Connected as {ACCOUNT}\" on the settings",
       {"result": text, "status": status, "url": browser.url, "screenshot": shot})
    state = oauth.state()
    form = state["last_form"]
    ok(state["grants"]["authorization_code"] == grants + 1 and form.get("grant_type") == "authorization_code"
       and form.get("code_verifier") == "<43 chars>" and form.get("redirect_uri") == redirect_uri
       and form.get("client_id") == CLIENT_ID,
       f"{name}: the code was exchanged once, with the PKCE verifier and the registered redirect URI", form)
    saved = stored() or {}
    live = [t for t, user in state["refresh_tokens"].items() if user == ACCOUNT]
    blob = json.dumps(saved)
    ok(saved.get("account") == ACCOUNT and str(saved.get("refresh_token", "")).startswith("v1:")
       and live and not any(t in blob for t in live),
       f"{name}: the refresh token is stored encrypted in wp_options (never in clear), with the account",
       {k: (v if k != "refresh_token" else str(v)[:6] + "…") for k, v in saved.items()})
    plain = (cli_step(run.wp, "oauth_refresh_token", {}) or {}).get("value")
    ok(plain in live, f"{name}: it decrypts to the refresh token the server issued", plain in live)

    # --- refusals: nonce, capability, a forged state, a replayed callback --------------------------
    cookie = browser.cookie_header()
    callback = "/wp-admin/admin-post.php?" + urllib.parse.urlencode(
        {"action": "mailport_oauth_callback", "code": "ac-forged", "state": "forged-state-e2e"})
    code, _h, body = site.request("GET", callback, headers={"Cookie": cookie})
    ok(code == 403 and "Sign-in not recognised" in body,
       f"{name}: a callback with a forged state is refused (403), nothing exchanged", f"{code}: {body[:300]}")
    code, _h, body = site.request("POST", "/wp-admin/admin-post.php", body="action=mailport_oauth_connect",
                                  headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    ok(code == 403, f"{name}: Connect without its nonce is refused (403)", f"{code}: {body[:200]}")
    code, _h, body = site.request("POST", "/wp-admin/admin-post.php", body="action=mailport_oauth_disconnect",
                                  headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    ok(code == 403 and stored(), f"{name}: Disconnect without its nonce is refused (403), the token kept",
       f"{code}: {body[:200]}")
    # A real flow outside the browser: its callback used once, then replayed.
    nonce = browser.driver.execute_script(
        "return document.querySelector('form.mailport-oauth-connect input[name=_wpnonce]').value")
    code, headers, _b = site.request("POST", "/wp-admin/admin-post.php",
                                     body=urllib.parse.urlencode({"action": "mailport_oauth_connect", "_wpnonce": nonce}),
                                     headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
                                              "Referer": page})
    authorize = headers.get("Location", "")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    ok(code == 302 and authorize.startswith(oauth.url + "/authorize?") and query.get("code_challenge_method") == "S256"
       and query.get("access_type") == "offline" and query.get("prompt") == "consent"
       and query.get("scope") == "https://mail.google.com/" and query.get("login_hint") == ACCOUNT
       and len(query.get("state", "")) >= 32,
       f"{name}: Connect redirects to the authorization endpoint with PKCE S256, a state, offline access and Google's scope",
       {"status": code, "location": authorize})
    status, back = oauth.get(authorize)
    target = back[len(url):] if back and back.startswith(url) else back
    code, headers, body = site.request("GET", target, headers={"Cookie": cookie}) if target else (0, {}, "")
    ok(code == 302 and "tab=settings" in headers.get("Location", ""),
       f"{name}: the callback, used once, connects", f"{code}: {headers.get('Location')} {body[:200]}")
    exchanged = oauth.state()["grants"]["authorization_code"]
    code, _h, body = site.request("GET", target, headers={"Cookie": cookie}) if target else (0, {}, "")
    ok(code == 403 and "Sign-in not recognised" in body and oauth.state()["grants"]["authorization_code"] == exchanged,
       f"{name}: the same callback replayed is refused (403) and exchanges nothing", f"{code}: {body[:300]}")

    # --- Site Health: connected, good ----------------------------------------------------------
    def health():
        browser.go(url + "/wp-admin/site-health.php")
        browser.wait_for("#wpbody-content")
        tests = browser.driver.execute_script("""
            if (typeof SiteHealth === 'undefined') { return null; }
            return SiteHealth.site_status.direct.filter(t => t.test === 'mailport_oauth')
                .map(t => [t.status, t.label, t.description]);
        """) or []
        return tests[0] if tests else None
    result = health()
    ok(result is not None and result[0] == "good" and ACCOUNT in result[1],
       f"{name}: Site Health: the Google account is connected (good)", result)

    # --- a test email signed in with the connection ------------------------------------------------
    before = len(messages(smtp))
    browser.go(page + "&tab=test")
    browser.wait_for("#mailport-test-form")
    fill(browser, {"mailport-test-to": "oauth@example.net"})
    submit(browser, "mailport-test-send")
    text = result_text()
    shot = browser.screenshot("oauth-test-email")
    arrived = [parse_message(p)[0] for p in messages(smtp)[before:]]
    ok("accepted by the server" in text and len(arrived) == 1 and arrived[0]["auth_user"] == ACCOUNT
       and arrived[0]["rcpt_tos"] == ["oauth@example.net"],
       f"{name}: a test email goes out signed in as {ACCOUNT} with a token the SMTP server checked",
       {"result": text, "arrived": [(r["auth_user"], r["rcpt_tos"]) for r in arrived], "screenshot": shot})

    # --- a refused consent ---------------------------------------------------------------------
    oauth.control(mode="deny")
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-oauth-connect")
    submit(browser, "mailport-oauth-connect")
    text = result_text()
    shot = browser.screenshot("oauth-denied")
    oauth.control(mode="normal")
    ok("did not let the site send mail" in text and "Allow" in text and "access_denied" in text
       and (stored() or {}).get("account") == ACCOUNT,
       f"{name}: a refused consent says so and what to do; the existing connection stays",
       {"result": text, "screenshot": shot})

    # --- the token endpoint refusing the client, or failing ------------------------------------
    for mode, expect, what in (
            ("invalid_client", ["refused the app's client id or client secret", "Google Cloud Console"],
             "a refused client secret says which console to copy it from"),
            ("error500", ["is not working right now (HTTP 500)", "Wait a few minutes"],
             "a token endpoint answering 500 says to try again later")):
        oauth.control(mode=mode)
        browser.go(page + "&tab=settings")
        browser.wait_for("#mailport-oauth-connect")
        submit(browser, "mailport-oauth-connect")
        text = result_text()
        shot = browser.screenshot(f"oauth-{mode}")
        oauth.control(mode="normal")
        ok(all(e in text for e in expect) and CLIENT_SECRET not in text and (stored() or {}).get("account") == ACCOUNT,
           f"{name}: {what}; the connection stays", {"result": text, "screenshot": shot})

    # --- the refresh token refused: the error, the notice on every screen, Reconnect from it ------
    # php-fpm's workers keep the access token until shortly before it expires: the server voids
    # it too, so the SMTP server refuses it and the library's one refresh meets invalid_grant.
    oauth.control(mode="invalid_grant", expire_access="all")
    browser.go(page + "&tab=test")
    browser.wait_for("#mailport-test-form")
    fill(browser, {"mailport-test-to": "refused@example.net"})
    submit(browser, "mailport-test-send")
    text = result_text()
    shot = browser.screenshot("oauth-test-email-invalid-grant")
    ok("was not sent" in text and "MAILPORT_ERR_OAUTH_INVALID_GRANT" in text and "Connect with Google" in text
       and not any(t in text for t in oauth.state()["refresh_tokens"]),
       f"{name}: a test email with the refresh token refused: invalid_grant, and the hint to connect again (no token shown)",
       {"result": text, "screenshot": shot})
    browser.go(url + "/wp-admin/")
    browser.wait_for("#wpbody-content")
    notice = browser.driver.execute_script(
        "const n = document.getElementById('mailport-oauth-notice'); return n ? n.innerText : null;")
    shot = browser.screenshot("oauth-reconnect-notice")
    ok(notice is not None and "invalid_grant" in notice and "Reconnect with Google" in notice,
       f"{name}: the dashboard shows the notice to reconnect, with its button", {"notice": notice, "screenshot": shot})
    result = health()
    ok(result is not None and result[0] == "critical" and "invalid_grant" in result[2],
       f"{name}: Site Health: the refused refresh token is critical", result)
    oauth.control(mode="normal")
    browser.go(url + "/wp-admin/")
    browser.wait_for("#mailport-oauth-reconnect-notice")
    submit(browser, "mailport-oauth-reconnect-notice")
    text = result_text()
    browser.go(url + "/wp-admin/")
    browser.wait_for("#wpbody-content")
    gone = browser.driver.execute_script("return document.getElementById('mailport-oauth-notice') === null")
    ok(f"Connected as {ACCOUNT}" in text and gone,
       f"{name}: Reconnect from the notice goes through the provider again; the notice is gone", {"result": text})

    # --- the subscriber ------------------------------------------------------------------------
    browser.log_in(url, *subscriber)
    sub_cookie = browser.cookie_header()
    for action in ("mailport_oauth_connect", "mailport_oauth_disconnect"):
        code, _h, body = site.request("POST", "/wp-admin/admin-post.php",
                                      body=urllib.parse.urlencode({"action": action, "_wpnonce": nonce}),
                                      headers={"Cookie": sub_cookie, "Content-Type": "application/x-www-form-urlencoded"})
        ok(code == 403, f"{name}: {action} is refused (403) to a subscriber", f"{code}: {body[:200]}")
    code, _h, body = site.request("GET", callback, headers={"Cookie": sub_cookie})
    ok(code == 403, f"{name}: the callback is refused (403) to a subscriber", f"{code}: {body[:200]}")
    browser.log_in(url, *admin)

    # --- Microsoft 365: the tenant, its own consent ----------------------------------------------
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-settings-form")
    # Chosen as a user does: the select's change event shows the tenant's row.
    tenant_shown = browser.driver.execute_script(
        "const s = document.getElementById('mailport-oauth_provider'); s.value = 'microsoft';"
        " s.dispatchEvent(new Event('change'));"
        " return document.getElementById('mailport-oauth_tenant').closest('tr').style.display !== 'none'")
    fill(browser, {"mailport-oauth_tenant": "contoso.onmicrosoft.com"})
    submit(browser, "mailport-save")
    browser.wait_for("#setting-error-settings_updated")
    status = browser.driver.execute_script("return document.getElementById('mailport-oauth-status').innerText")
    ok(tenant_shown and "Not connected" in status,
       f"{name}: Microsoft chosen: the tenant row shows; Google's connection does not apply to it", status)
    submit(browser, "mailport-oauth-connect")
    text = result_text()
    shot = browser.screenshot("oauth-connected-microsoft")
    scopes = {v["scope"] for v in oauth.state()["access_tokens"].values()}
    ok(f"Connected as {ACCOUNT} with Microsoft" in text and "https://outlook.office.com/SMTP.Send offline_access" in scopes
       and (stored() or {}).get("provider") == "microsoft",
       f"{name}: Connect with Microsoft: consented for SMTP.Send with offline_access, connected",
       {"result": text, "scopes": sorted(scopes), "screenshot": shot})

    # --- Disconnect ----------------------------------------------------------------------------
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-oauth")
    there = browser.driver.execute_script("return !!document.getElementById('mailport-oauth-disconnect')")
    if ok(there, f"{name}: connected, the settings offer Disconnect"):
        submit(browser, "mailport-oauth-disconnect")
        text = result_text()
    else:
        text = ""
    shot = browser.screenshot("oauth-disconnected")
    ok("Disconnected" in text and stored() is None and browser.driver.execute_script(
        "return document.getElementById('mailport-oauth-disconnect') === null"),
       f"{name}: Disconnect forgets the refresh token", {"result": text, "screenshot": shot})
    # (No screenshot: on this offline site the Status tab's scripts never finish drawing.)
    result = health()
    ok(result is not None and result[0] == "critical" and "Connect with Microsoft" in re.sub("<[^>]+>", "", result[2]),
       f"{name}: Site Health: Microsoft chosen but no account connected (critical, says to connect)", result)

    # Back to the password, for what runs after.
    browser.go(page + "&tab=settings")
    browser.wait_for("#mailport-settings-form")
    fill(browser, {"mailport-oauth_provider": ""})
    submit(browser, "mailport-save")
    browser.wait_for("#setting-error-settings_updated")
    browser.log_out()


def run_oauth_delivery(wp, checks, procs):
    """e2e.py (the CLI steps): mail queued and sent by the worker with the Google connection's
    refresh token, against aiosmtpd that checks each token through the OAuth server's
    introspection; the rotated refresh token stored encrypted; the worker's daily refresh on a
    quiet site; invalid_grant holding the mail with the notice, the log's hint and Site Health
    critical; reconnecting and Retry sending it."""
    from e2e import messages, parse_message, start_smtp
    ok = checks.check
    name = "oauth worker"
    first = "rt-wp-cli-first"
    oauth = OAuthServer(wp.tmp, procs, ["--rotate", "--refresh-token", f"{ACCOUNT}:{first}"])
    smtp = start_smtp(wp.tmp, procs, "smtp-oauth", [
        "--mode", "starttls", "--hostname", "localhost",
        "--oauth-introspect", oauth.url + "/introspect", "--oauth-ca", oauth.ca])
    constants = {
        "MAILPORT_HOST": "localhost", "MAILPORT_PORT": smtp["port"], "MAILPORT_SECURITY": "starttls",
        "MAILPORT_USER": ACCOUNT, "MAILPORT_TIMEOUT": 20, "MAILPORT_LIBRARY": wp.library,
        # The CA files apply to the token endpoint as to SMTP.
        "MAILPORT_CA_FILE": [smtp["ca"], oauth.ca],
        "MAILPORT_OAUTH_PROVIDER": "google", "MAILPORT_OAUTH_CLIENT_ID": CLIENT_ID,
        "MAILPORT_OAUTH_CLIENT_SECRET": CLIENT_SECRET, "MAILPORT_OAUTH_TOKEN_URL": oauth.url + "/token",
        "MAILPORT_DELIVERY": "queue",
    }

    def worker():
        res, _ = wp.run("outbox_cli", constants, {"runs": [["run", [], {}]]})
        runs = (res or {}).get("runs", [])
        return res or {}, [m for _k, m in runs[0]["output"]] if runs else []

    def queue(subject):
        res, _ = wp.run("outbox_queue", constants, {"form": "plain", "to": "owner@example.net", "subject": subject})
        ids = [r["id"] for r in (res or {}).get("rows", []) if r["state"] == "queued"]
        ok(res is not None and res.get("returned") is True and len(ids) == 1,
           f"{name}: \"{subject}\" queued", res and {"returned": res.get("returned"), "queued": ids})
        return ids[0] if ids else None

    def state():
        res, _ = wp.run("oauth_state", constants)
        return res or {}

    def row_state(res, entry):
        return {r["id"]: r["state"] for r in res.get("rows", [])}.get(entry)

    # Microsoft's endpoints are the tenant's; the scope is SMTP.Send with offline_access.
    res, _ = wp.run("oauth_urls", {"MAILPORT_HOST": "localhost", "MAILPORT_OAUTH_PROVIDER": "microsoft",
                                   "MAILPORT_OAUTH_TENANT": "contoso.onmicrosoft.com"})
    ok(res is not None and res.get("authorize") == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
       and res.get("token") == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
       and res.get("scope") == "https://outlook.office.com/SMTP.Send offline_access" and res.get("label") == "Microsoft"
       and res.get("redirect_uri", "").endswith("/wp-admin/admin-post.php?action=mailport_oauth_callback"),
       f"{name}: Microsoft: the tenant's endpoints, SMTP.Send with offline_access, the redirect URI", res)
    res, _ = wp.run("oauth_urls", {"MAILPORT_HOST": "localhost", "MAILPORT_OAUTH_PROVIDER": "google"})
    ok(res is not None and res.get("authorize") == "https://accounts.google.com/o/oauth2/v2/auth"
       and res.get("token") == "https://oauth2.googleapis.com/token" and res.get("scope") == "https://mail.google.com/",
       f"{name}: Google: its endpoints and the Gmail scope", res)

    # Mail earlier scenarios left waiting would go out through this connection: none may be left.
    res, _ = wp.run("outbox_state", constants)
    waiting = [r["id"] for r in (res or {}).get("rows", []) if r["state"] in ("queued", "deferred", "held")]
    if waiting:
        wp.run("outbox_cli", constants, {"runs": [["cancel", waiting, {}]]})

    res, _ = wp.run("oauth_connect", constants, {"provider": "google", "client_id": CLIENT_ID,
                                                 "account": ACCOUNT, "refresh_token": first})
    ok(res is not None and str(res["stored"].get("refresh_token", "")).startswith("v1:"),
       f"{name}: a Google connection stored (as the consent flow leaves it)", res)

    # --- sent by the worker with the refresh token; the rotated one stored -----------------------
    before = len(messages(smtp))
    entry = queue("OAuth through the worker")
    res, output = worker()
    msgs = messages(smtp)[before:]
    ok(row_state(res, entry) == "sent" and len(msgs) == 1 and parse_message(msgs[0])[0]["auth_user"] == ACCOUNT,
       f"{name}: the worker sent it, signed in as {ACCOUNT} with a token the server checked",
       {"output": output, "state": row_state(res, entry), "new": len(msgs)})
    server = oauth.state()
    live = [t for t, user in server["refresh_tokens"].items() if user == ACCOUNT]
    st = state()
    blob = json.dumps(st.get("stored"))
    ok(server["grants"]["refresh_token"] == 1 and len(live) == 1 and live[0] != first
       and st.get("refresh_token") == live[0],
       f"{name}: the endpoint rotated the refresh token and the plugin stored the new one at once",
       {"grants": server["grants"], "stored is live": st.get("refresh_token") in live})
    ok(str((st.get("stored") or {}).get("refresh_token", "")).startswith("v1:") and live and live[0] not in blob
       and not any(t in blob for t in server["access_tokens"]),
       f"{name}: stored encrypted: no refresh or access token in clear in wp_options", blob[:300])
    health = st.get("health") or {}
    ok(health.get("status") == "good" and "mailport-oauth-notice" not in st.get("notices", ""),
       f"{name}: Site Health good, no notice", {"health": health.get("label"), "notices": st.get("notices", "")[:300]})

    # --- a quiet site: the worker refreshes once a day without sending ----------------------------
    wp.run("oauth_age", constants, {"days": 3})
    res, output = worker()
    server = oauth.state()
    st = state()
    stored = st.get("stored") or {}
    live = [t for t, user in server["refresh_tokens"].items() if user == ACCOUNT]
    ok(server["grants"]["refresh_token"] == 2 and len(messages(smtp)) == before + 1
       and time.time() - int(stored.get("last_refresh", 0)) < 600 and int(stored.get("last_check", 0)) > 0
       and st.get("refresh_token") in live,
       f"{name}: with nothing to send and the token unused for 3 days, the worker refreshed it (nothing sent) and kept the rotated one",
       {"grants": server["grants"], "last_refresh_age": time.time() - int(stored.get("last_refresh", 0)),
        "output": output})
    res, output = worker()
    ok(oauth.state()["grants"]["refresh_token"] == 2,
       f"{name}: not again on the next run the same day", oauth.state()["grants"])

    # --- Site Health before an unused refresh token lapses (Google: 180 days) ----------------------
    for days, status, words in ((170, "recommended", "lapses in 10 days"), (200, "critical", "probably expired")):
        wp.run("oauth_age", constants, {"days": days})
        health = state().get("health") or {}
        ok(health.get("status") == status and words in health.get("label", ""),
           f"{name}: unused for {days} days: Site Health {status} (\"{words}\")", health.get("label"))
    wp.run("oauth_age", constants, {"days": 0})

    # --- invalid_grant: held, the notice, the log's hint, Site Health critical ---------------------
    oauth.control(mode="invalid_grant")
    entry = queue("OAuth refused")
    res, output = worker()
    st = state()
    stored = st.get("stored") or {}
    ok(row_state(res, entry) == "held" and (stored.get("last_error") or {}).get("kind") == "oauth_invalid_grant",
       f"{name}: invalid_grant holds the mail and is recorded", {"output": output, "state": row_state(res, entry),
                                                                 "last_error": stored.get("last_error")})
    notices = st.get("notices", "")
    ok('id="mailport-oauth-notice"' in notices and "Reconnect with Google" in notices
       and 'value="mailport_oauth_connect"' in notices and "_wpnonce" in notices,
       f"{name}: the admin notice says to reconnect, with the button (nonce included)", notices[:600])
    health = st.get("health") or {}
    ok(health.get("status") == "critical" and "invalid_grant" in health.get("description", ""),
       f"{name}: Site Health critical: the refresh token was refused", health)
    log = st.get("log", "")
    ok("Reconnect with Google" in log and not any(t in log for t in live),
       f"{name}: the Email log shows the held mail with the hint to reconnect (and no token)",
       re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", log))[:600])

    # --- reconnected (a new consent), Retry: sent ------------------------------------------------
    oauth.control(mode="normal")
    live = [t for t, user in oauth.state()["refresh_tokens"].items() if user == ACCOUNT]
    wp.run("oauth_connect", constants, {"provider": "google", "client_id": CLIENT_ID,
                                        "account": ACCOUNT, "refresh_token": live[0] if live else "?"})
    wp.run("outbox_cli", constants, {"runs": [["retry", [entry], {}]]})
    before = len(messages(smtp))
    res, output = worker()
    st = state()
    # Besides it, the worker's "works again" alert to the admin may arrive (the connection had failed).
    subjects = [str(parse_message(p)[1]["Subject"]) for p in messages(smtp)[before:]]
    ok(row_state(res, entry) == "sent" and "OAuth refused" in subjects
       and "mailport-oauth-notice" not in st.get("notices", "") and (st.get("health") or {}).get("status") == "good",
       f"{name}: reconnected and retried, the held mail is sent; the notice is gone, Site Health good",
       {"output": output, "state": row_state(res, entry), "subjects": subjects,
        "health": (st.get("health") or {}).get("label"), "notices": st.get("notices", "")[:400]})
