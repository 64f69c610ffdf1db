#!/usr/bin/env python3
"""A local OAuth 2.0 authorization server for mailport's tests, over TLS, on 127.0.0.1.

It plays the token endpoints of Google and Microsoft so that nothing in a test reaches the
internet: it issues short-lived access tokens for refresh tokens (RFC 6749 §6), rotates refresh
tokens when asked, runs the device authorization grant (RFC 8628) and the authorization code
grant with PKCE (RFC 7636) that a first login uses, and answers token introspection (RFC 7662)
so that a real SMTP server (Dovecot's oauth2 passdb) or the aiosmtpd test server can check the
tokens it issued. It can also misbehave: invalid_grant, invalid_client, invalid_scope, a 500,
a stall, a refused consent.

    oauth_server.py --dir DIR [--port 0] [--access-lifetime S] [--rotate]
                    [--client ID:SECRET]... [--refresh-token USER:TOKEN]... [--scope SCOPE]
                    [--device-interval S] [--max-lifetime S]

  --dir DIR              created if missing; ca.pem (the CA to trust), cert.pem/key.pem (the
                         server's, for 127.0.0.1, ::1 and localhost), requests.log (one line per
                         request: method, path, grant type, outcome; never a token or secret)
  --access-lifetime S    expires_in of issued access tokens (default 3600)
  --rotate               each refresh answers a new refresh token and retires the old one, as
                         Microsoft does (Google keeps it)
  --client ID:SECRET     a registered client; ID: (empty secret) is a public client, which must
                         not send a secret. Repeatable. Default: one public client "mailport-test"
  --refresh-token U:T    a valid refresh token T for the account U. Repeatable
  --scope SCOPE          the scope granted when a request names none (default
                         "https://mail.google.com/"); a request's own scope is granted as asked
  --device-interval S    the device grant's polling interval (default 1)
  --max-lifetime S       stop after S seconds whatever happens (default 600)

Once it accepts connections it prints exactly one line on stdout:

    READY {"port": N, "url": "https://127.0.0.1:N", "ca": "DIR/ca.pem", "dir": "DIR"}

and serves until stdin reaches EOF (the test dropped its handle or died), SIGTERM/SIGINT, or
--max-lifetime.

Endpoints (form bodies are application/x-www-form-urlencoded; answers are JSON):
  POST /token        grant_type=refresh_token (refresh_token, client_id, client_secret unless
                     public — also accepted as HTTP Basic —, scope optional),
                     grant_type=authorization_code (code, redirect_uri, client_id, code_verifier:
                     S256 checked against the challenge), grant_type=
                     urn:ietf:params:oauth:grant-type:device_code (device_code, client_id).
                     200 {"access_token", "token_type": "Bearer", "expires_in", "scope",
                     ["refresh_token"]}; errors per RFC 6749 §5.2 (400, 401 for invalid_client)
                     and RFC 8628 §3.5 (authorization_pending, slow_down, expired_token,
                     access_denied).
  POST /devicecode   client_id, scope: {"device_code", "user_code", "verification_uri",
                     "verification_uri_complete", "expires_in": 300, "interval"}
  GET  /device?user_code=C&approve=1|0&user=U   what the user does in the browser: approve (for the
                     account U, default "user@example.test") or deny the device code C
  GET  /authorize?response_type=code&client_id&redirect_uri&state&code_challenge
                     &code_challenge_method=S256&scope[&login_hint=U]
                     consents at once: 302 to redirect_uri?code=…&state=… (error=access_denied
                     in deny mode). The account is login_hint, else "user@example.test".
  POST /introspect   token=T (or GET /introspect?token=T, or "Authorization: Bearer T"):
                     {"active": true, "username": U, "email": U, "scope", "exp", "client_id"}
                     or {"active": false}
  POST /control      JSON, any of: {"mode": M} with M one of normal, invalid_grant,
                     invalid_client, invalid_scope, error500, stall (the token endpoint
                     answers nothing for 120 s), deny (consent refused); {"revoke_refresh": T};
                     {"revoke_access": T}; {"expire_access": "all"}; {"expire_devices": "all"}
                     (pending device codes expire); {"access_lifetime": S};
                     {"rotate": true|false}. Answers the state.
  GET  /state        {"mode", "grants": {"refresh_token": n, "authorization_code": n,
                     "device_code": n}, "refresh_tokens": {T: U}, "access_tokens": {T: {"user",
                     "exp", "scope"}}, "last_form": {field: value, secrets as "<N chars>"}}

Failures: exit status 4 with "TRUSTME-MISSING" when trustme is not installed.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from _launcher import Lifetime

try:
    import trustme
except ImportError:  # pragma: no cover - reported to the test
    sys.stderr.write("TRUSTME-MISSING: pip install trustme\n")
    sys.exit(4)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_ACCOUNT = "user@example.test"
SECRET_FIELDS = ("client_secret", "refresh_token", "code", "code_verifier", "device_code", "token")
STALL_SECONDS = 120


class State:
    """Everything the server knows, behind one lock (the server is threaded)."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.mode = "normal"
        self.rotate = args.rotate
        self.access_lifetime = args.access_lifetime
        self.default_scope = args.scope
        self.device_interval = args.device_interval
        self.clients = {}
        for entry in args.client or ["mailport-test:"]:
            client_id, _, secret = entry.partition(":")
            self.clients[client_id] = secret
        self.refresh_tokens = {}  # token -> {"user", "scope"}
        for entry in args.refresh_token:
            user, _, token = entry.partition(":")
            self.refresh_tokens[token] = {"user": user, "scope": None}
        self.access_tokens = {}  # token -> {"user", "exp", "scope", "client_id"}
        self.codes = {}  # code -> {"user", "client_id", "redirect_uri", "challenge", "scope"}
        self.devices = {}  # device_code -> {"user_code", "client_id", "scope", "status", "user", ...}
        self.grants = {"refresh_token": 0, "authorization_code": 0, "device_code": 0}
        self.last_form = {}

    def snapshot(self):
        now = time.time()
        return {
            "mode": self.mode,
            "rotate": self.rotate,
            "grants": dict(self.grants),
            "refresh_tokens": {t: v["user"] for t, v in self.refresh_tokens.items()},
            "access_tokens": {
                t: {"user": v["user"], "exp": v["exp"], "scope": v["scope"],
                    "expired": v["exp"] <= now}
                for t, v in self.access_tokens.items()
            },
            "last_form": dict(self.last_form),
        }

    def issue(self, user, scope, client_id, with_refresh, old_refresh=None):
        """An access token (and a refresh token when due) for `user`: the token response."""
        access = "at-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = {
            "user": user,
            "exp": time.time() + self.access_lifetime,
            "scope": scope,
            "client_id": client_id,
        }
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime,
            "scope": scope,
        }
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = {"user": user, "scope": scope}
            if old_refresh is not None:
                self.refresh_tokens.pop(old_refresh, None)
            answer["refresh_token"] = refresh
        return answer


def redact(form):
    return {k: (f"<{len(v)} chars>" if k in SECRET_FIELDS else v) for k, v in form.items()}


class Handler(BaseHTTPRequestHandler):
    server_version = "mailport-test-oauth/1"
    protocol_version = "HTTP/1.1"

    # -- plumbing ---------------------------------------------------------------------------

    def log_message(self, fmt, *args):  # the request log is ours, without secrets
        pass

    def note(self, outcome, grant=""):
        line = f"{self.command} {urlsplit(self.path).path} {grant} {outcome}".rstrip()
        with open(os.path.join(self.server.dir, "requests.log"), "a") as log:
            log.write(line + "\n")

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form(self):
        body = self.read_body().decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, description, grant=""):
        self.note(code, grant)
        headers = [("WWW-Authenticate", 'Basic realm="token"')] if status == 401 else []
        self.answer(status, {"error": code, "error_description": description}, headers)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- routing ----------------------------------------------------------------------------

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/state":
            with self.server.state.lock:
                self.answer(200, self.server.state.snapshot())
        elif url.path == "/authorize":
            self.authorize(query)
        elif url.path == "/device":
            self.device_approval(query)
        elif url.path == "/introspect":
            self.introspect(query.get("token", ""))
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/token":
            self.token()
        elif path == "/devicecode":
            self.device_code()
        elif path == "/introspect":
            form = self.form()
            token = form.get("token", "")
            bearer = self.headers.get("Authorization", "")
            if not token and bearer.lower().startswith("bearer "):
                token = bearer[7:].strip()
            self.introspect(token)
        elif path == "/control":
            self.control()
        else:
            self.read_body()
            self.answer(404, {"error": "not_found"})

    # -- endpoints --------------------------------------------------------------------------

    def client_credentials(self, form):
        """(client_id, secret or None) from the form or HTTP Basic (RFC 6749 §2.3.1)."""
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip()).decode()
                client_id, _, secret = decoded.partition(":")
                return client_id, secret
            except ValueError:
                return None, None
        return form.get("client_id"), form.get("client_secret")

    def check_client(self, form, grant):
        """True when the client is registered and authenticated as registered; else answered."""
        state = self.server.state
        client_id, secret = self.client_credentials(form)
        if state.mode == "invalid_client" or client_id not in state.clients:
            self.error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.", grant)
            return None
        registered = state.clients[client_id]
        if registered and secret != registered:
            self.error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.", grant)
            return None
        if not registered and secret:
            self.error(401, "invalid_client", "a public client must not send a client secret", grant)
            return None
        return client_id

    def token(self):
        state = self.server.state
        form = self.form()
        grant = form.get("grant_type", "")
        short = "device_code" if grant == DEVICE_GRANT else grant
        with state.lock:
            state.last_form = redact(form)
            mode = state.mode
        if mode == "stall":
            self.note("stall", short)
            time.sleep(STALL_SECONDS)
            return
        if mode == "error500":
            self.note("500", short)
            data = b"<html><body>Internal Server Error</body></html>"
            self.send_response(500)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        with state.lock:
            client_id = self.check_client(form, short)
            if client_id is None:
                return
            if mode == "invalid_scope":
                self.error(400, "invalid_scope",
                           "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
                           short)
                return
            if grant == "refresh_token":
                self.refresh_grant(form, client_id, mode)
            elif grant == "authorization_code":
                self.code_grant(form, client_id)
            elif grant == DEVICE_GRANT:
                self.device_grant(form, client_id)
            else:
                self.error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported", short)

    def refresh_grant(self, form, client_id, mode):
        state = self.server.state
        token = form.get("refresh_token", "")
        known = state.refresh_tokens.get(token)
        if mode == "invalid_grant" or known is None:
            self.error(400, "invalid_grant",
                       "AADSTS70008: The provided authorization code or refresh token has expired "
                       "due to inactivity.", "refresh_token")
            return
        state.grants["refresh_token"] += 1
        scope = form.get("scope") or known["scope"] or state.default_scope
        answer = state.issue(known["user"], scope, client_id, state.rotate, old_refresh=token)
        self.note("ok", "refresh_token")
        self.answer(200, answer)

    def code_grant(self, form, client_id):
        state = self.server.state
        code = state.codes.pop(form.get("code", ""), None)
        if code is None or code["client_id"] != client_id:
            self.error(400, "invalid_grant", "the authorization code is unknown or was used", "authorization_code")
            return
        if form.get("redirect_uri") != code["redirect_uri"]:
            self.error(400, "invalid_grant", "redirect_uri does not match the authorization request",
                       "authorization_code")
            return
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != code["challenge"]:
            self.error(400, "invalid_grant", "PKCE verification failed (code_verifier)", "authorization_code")
            return
        state.grants["authorization_code"] += 1
        self.note("ok", "authorization_code")
        self.answer(200, state.issue(code["user"], code["scope"], client_id, True))

    def device_grant(self, form, client_id):
        state = self.server.state
        device = state.devices.get(form.get("device_code", ""))
        if device is None or device["client_id"] != client_id:
            self.error(400, "invalid_grant", "the device code is unknown", "device_code")
            return
        now = time.time()
        if now > device["expires"]:
            self.error(400, "expired_token", "the device code expired", "device_code")
            return
        if device["status"] == "denied":
            self.error(400, "access_denied", "the user refused", "device_code")
            return
        if device["status"] == "pending":
            # RFC 8628 §3.5: polling faster than the interval earns slow_down.
            too_soon = now - device["last_poll"] < device["interval"] * 0.8
            device["last_poll"] = now
            if too_soon:
                device["interval"] += 5
                self.error(400, "slow_down", "polling too fast", "device_code")
            else:
                self.error(400, "authorization_pending", "the user has not yet approved", "device_code")
            return
        del state.devices[form["device_code"]]
        state.grants["device_code"] += 1
        self.note("ok", "device_code")
        self.answer(200, state.issue(device["user"], device["scope"], client_id, True))

    def device_code(self):
        state = self.server.state
        form = self.form()
        with state.lock:
            state.last_form = redact(form)
            client_id = self.check_client(form, "devicecode")
            if client_id is None:
                return
            device_code = "dc-" + secrets.token_urlsafe(24)
            user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
            state.devices[device_code] = {
                "user_code": user_code,
                "client_id": client_id,
                "scope": form.get("scope") or state.default_scope,
                "status": "pending",
                "user": None,
                "expires": time.time() + 300,
                "interval": state.device_interval,
                "last_poll": 0.0,
            }
            base = self.server.url
            self.note("ok")
            self.answer(200, {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": f"{base}/device",
                "verification_uri_complete": f"{base}/device?user_code={user_code}",
                "expires_in": 300,
                "interval": state.device_interval,
                "message": f"To sign in, open {base}/device and enter the code {user_code}.",
            })

    def device_approval(self, query):
        state = self.server.state
        with state.lock:
            for device in state.devices.values():
                if device["user_code"] == query.get("user_code"):
                    approve = query.get("approve", "1") == "1" and state.mode != "deny"
                    device["status"] = "approved" if approve else "denied"
                    device["user"] = query.get("user") or DEFAULT_ACCOUNT
                    self.note(device["status"])
                    self.answer(200, {"status": device["status"]})
                    return
        self.answer(404, {"error": "unknown user_code"})

    def authorize(self, query):
        state = self.server.state
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:", "https://")):
            self.answer(400, {"error": "invalid_request", "error_description": "redirect_uri"})
            return
        separator = "&" if "?" in redirect_uri else "?"
        with state.lock:
            if query.get("client_id") not in state.clients:
                self.note("invalid_client")
                self.redirect(redirect_uri + separator + urlencode(
                    {"error": "unauthorized_client", "state": query.get("state", "")}))
                return
            if state.mode == "deny":
                self.note("access_denied")
                self.redirect(redirect_uri + separator + urlencode(
                    {"error": "access_denied", "error_description": "The user refused consent",
                     "state": query.get("state", "")}))
                return
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                self.redirect(redirect_uri + separator + urlencode(
                    {"error": "invalid_request", "error_description": "PKCE with S256 is required",
                     "state": query.get("state", "")}))
                return
            code = "ac-" + secrets.token_urlsafe(24)
            state.codes[code] = {
                "user": query.get("login_hint") or DEFAULT_ACCOUNT,
                "client_id": query["client_id"],
                "redirect_uri": redirect_uri,
                "challenge": query["code_challenge"],
                "scope": query.get("scope") or state.default_scope,
            }
            self.note("consented")
        self.redirect(redirect_uri + separator + urlencode({"code": code, "state": query.get("state", "")}))

    def introspect(self, token):
        state = self.server.state
        with state.lock:
            known = state.access_tokens.get(token)
            if known is None or known["exp"] <= time.time():
                self.note("inactive")
                self.answer(200, {"active": False})
                return
            self.note("active")
            self.answer(200, {
                "active": True,
                "username": known["user"],
                "email": known["user"],
                "scope": known["scope"],
                "exp": int(known["exp"]),
                "client_id": known["client_id"],
                "token_type": "Bearer",
            })

    def control(self):
        state = self.server.state
        try:
            orders = json.loads(self.read_body() or b"{}")
        except ValueError:
            self.answer(400, {"error": "control: not JSON"})
            return
        with state.lock:
            if "mode" in orders:
                state.mode = orders["mode"]
            if "revoke_refresh" in orders:
                state.refresh_tokens.pop(orders["revoke_refresh"], None)
            if "revoke_access" in orders:
                state.access_tokens.pop(orders["revoke_access"], None)
            if orders.get("expire_access") == "all":
                for token in state.access_tokens.values():
                    token["exp"] = 0
            if "access_lifetime" in orders:
                state.access_lifetime = int(orders["access_lifetime"])
            if "rotate" in orders:
                state.rotate = bool(orders["rotate"])
            if orders.get("expire_devices") == "all":
                # A device code the user never finished with: its next poll is expired_token.
                for device in state.devices.values():
                    device["expires"] = 0
            self.note("ok")
            self.answer(200, state.snapshot())


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--access-lifetime", type=int, default=3600)
    p.add_argument("--rotate", action="store_true")
    p.add_argument("--client", action="append", default=[])
    p.add_argument("--refresh-token", action="append", default=[])
    p.add_argument("--scope", default="https://mail.google.com/")
    p.add_argument("--device-interval", type=int, default=1)
    p.add_argument("--max-lifetime", type=float, default=600.0)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    lifetime = Lifetime()
    os.makedirs(args.dir, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "::1", "localhost")
    ca_path = os.path.join(args.dir, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    leaf.private_key_and_cert_chain_pem.write_to_path(os.path.join(args.dir, "cert.pem"))

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    server.url = f"https://127.0.0.1:{port}"
    server.dir = args.dir
    server.state = State(args)

    # The requests are served on a daemon thread: the main thread keeps the lifetime (signals
    # are delivered to it), and a stalled handler cannot hold the process at the end.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     daemon=True).start()
    lifetime.ready({"port": port, "url": server.url, "ca": ca_path, "dir": args.dir})
    lifetime.wait(args.max_lifetime)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
