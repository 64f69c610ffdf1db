#!/usr/bin/env python3
"""Test SMTP server for mailport's integration tests: aiosmtpd (a server we did not write).

Started by tests/common/mod.rs. Listens on 127.0.0.1 (::1 with --ipv6, both with --dual),
prints exactly one line

    READY {"port": N, "ca": "/path/ca.pem", "dir": "/path", "host": "127.0.0.1",
           "hosts": ["127.0.0.1"]}

on stdout once it accepts connections ("host" is the first of "hosts", every address listened
on, all on the same port N), and serves until stdin reaches EOF (the test process exited or
dropped its handle) or SIGTERM/SIGINT arrives.

Why not aiosmtpd's `Controller`: it cannot listen on port 0 (it connects to its own configured
port to "trigger" the lazy SMTP factory, which fails for port 0 and also adds a bogus session).
So the launcher runs its own asyncio loop with `loop.create_server(lambda: SMTP(...))` — the same
`aiosmtpd.smtp.SMTP` protocol class the Controller instantiates, with the same keyword arguments
(`hostname=`, `tls_context=`, `require_starttls=`, `authenticator=`, `auth_require_tls=`,
`auth_exclude_mechanism=`, `data_size_limit=`, `enable_SMTPUTF8=`, `decode_data=`, `timeout=`),
and `ssl=` on the listening socket for implicit TLS exactly like `Controller(ssl_context=...)`.

Files written to --dir:
  ca.pem         the CA a client must trust (a different, unrelated CA with --untrusted; with
                 --cert-self-signed a CA that did not sign the self-signed leaf)
  cert.pem       the leaf certificate the server presents (starttls and tls modes)
  msg-<n>.json   one per accepted message (n = 1, 2, ... in acceptance order), written
                 atomically (temp file + rename). ASCII-only JSON (json.dumps, ensure_ascii):
                 {"n", "conn", "mail_from", "rcpt_tos", "data_b64", "mail_options",
                  "rcpt_options", "tls", "tls_version", "tls_resumed", "auth_user",
                  "queue_id", "helo"}
  events.log     one line per event, appended and flushed as it happens:
                 "<conn> CONNECT", "<conn> <VERB> [arg]" for every SMTP command line received
                 (AUTH shows only the mechanism, never credentials), "<conn> TLS <version>"
                 after a STARTTLS handshake, "<conn> CLOSE" when the server drops a session.

What aiosmtpd 1.4.6 advertises in EHLO (as configured here):
  plain:     SIZE <n>, 8BITMIME, SMTPUTF8, HELP  [+ AUTH LOGIN PLAIN with --auth --auth-plaintext]
  starttls:  before TLS: SIZE, 8BITMIME, SMTPUTF8, STARTTLS, HELP
             after TLS:  SIZE, 8BITMIME, SMTPUTF8, HELP [+ AUTH LOGIN PLAIN with --auth]
  tls:       SIZE, 8BITMIME, SMTPUTF8, HELP [+ AUTH LOGIN PLAIN with --auth]
  It never advertises PIPELINING (though it processes pipelined commands in order, since it reads
  one line at a time from a buffered stream); --pipelining adds the keyword. aiosmtpd itself
  advertises AUTH whenever TLS is active even without an authenticator (every login then fails);
  this launcher removes the AUTH line unless --auth is given.

Situations for connection checks (each server plays one):
  --drop-after-accept     accept TCP and close at once: no greeting, no TLS handshake (in every
                          --mode); the client reads EOF (or ECONNRESET if it already sent bytes,
                          e.g. a TLS ClientHello, before the close arrived).
  --hang greeting         accept TCP and never send a byte (tests/common also has a Rust-only
                          silent_listener() for this).
  --greeting-host NAME    the name in the 220 greeting and in the first EHLO (and HELO) reply
                          line (same option as --hostname; default aiosmtpd.test).
  --cert-expired          the leaf (signed by the trusted CA) expired: notBefore now-30d,
                          notAfter now-1d.
  --cert-not-yet-valid    the leaf (signed by the trusted CA) is valid from now+1d to now+30d.
  --cert-self-signed      the leaf signs itself (issuer == subject, basicConstraints CA:FALSE);
                          ca.pem holds a trustme CA, unrelated to the leaf. Combines with
                          --cert-expired / --cert-not-yet-valid.
  --cert-name NAME        the leaf's subjectAltNames instead of the default DNS:localhost,
                          IP:127.0.0.1, IP:::1 (a name mismatch when the client uses another).
  --untrusted             ca.pem is a CA other than the leaf's issuer (unknown issuer).
  --auth-before-tls-only  (--mode starttls --auth U:P) a misconfigured server: AUTH is advertised
                          (and accepted) in plaintext before STARTTLS and missing from the EHLO
                          reply after it (an AUTH command sent after TLS still works).
  --hostile-text          refused recipients' replies carry a bare CR, ESC sequences and BEL,
                          as a hostile server would send to forge log lines or drive a terminal.
  --ipv6 / --dual         listen on ::1 only / on 127.0.0.1 and ::1 with the same port number.
  --mode tls              on a port the client treats as STARTTLS: the server waits silently
                          for a ClientHello; plaintext bytes fail the handshake (the server
                          closes). --mode plain/starttls on a port the client treats as implicit
                          TLS: the server sends "220 ..." in plaintext at once.

aiosmtpd quirks worth knowing: it refuses the null reverse path (MAIL FROM:<> gets 501); it
upper-cases MAIL/RCPT parameters; on implicit TLS it would refuse AUTH with 538 unless
auth_require_tls=False (it only counts STARTTLS as encryption), so tls mode sets that;
it checks SIZE=n in MAIL FROM against data_size_limit (552) and counts received DATA bytes.
"""

import argparse
import asyncio
import base64
import datetime
import errno
import ipaddress
import itertools
import json
import logging
import os
import signal
import socket
import ssl
import sys
import threading
import uuid

try:
    import trustme
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as error:  # pragma: no cover - reported to the Rust harness
    sys.stderr.write(
        f"IMPORT-ERROR: {error}\n"
        "aiosmtpd is required: pip install aiosmtpd trustme (cryptography comes with it)\n"
    )
    sys.stderr.flush()
    sys.exit(3)


HANG_PHASES = ("greeting", "ehlo", "mail", "rcpt", "data")
BUILTIN_MECHS = ("PLAIN", "LOGIN")
# Bearer-token mechanisms the Handler implements (auth_XOAUTH2, auth_OAUTHBEARER), on with --oauth.
OAUTH_MECHS = ("XOAUTH2", "OAUTHBEARER")


def parse_args(argv):
    situations = __doc__[__doc__.index("Situations for"):__doc__.index("aiosmtpd quirks")]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=situations.rstrip(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=("plain", "starttls", "tls"), default="plain",
                   help="plain: no TLS; starttls: offer STARTTLS; tls: implicit TLS")
    p.add_argument("--dir", required=True, help="working directory (created if missing)")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on (0 = any free port)")
    family = p.add_mutually_exclusive_group()
    family.add_argument("--ipv6", action="store_true",
                        help="listen on ::1 instead of 127.0.0.1")
    family.add_argument("--dual", action="store_true",
                        help="listen on 127.0.0.1 and on ::1, same port number on both")
    p.add_argument("--hostname", "--greeting-host", dest="hostname", default="aiosmtpd.test",
                   metavar="NAME",
                   help="name announced in the 220 greeting and the EHLO/HELO reply "
                        "(never looked up); default aiosmtpd.test")
    p.add_argument("--drop-after-accept", action="store_true",
                   help="accept TCP connections and close them at once: no greeting, "
                        "no TLS handshake (whatever --mode says)")
    p.add_argument("--cert-name", action="append", default=None,
                   help="DNS name (or IP) in the server certificate; repeatable. "
                        "Default: localhost, 127.0.0.1 and ::1")
    p.add_argument("--untrusted", action="store_true",
                   help="write a different CA to ca.pem than the one that signed the cert")
    validity = p.add_mutually_exclusive_group()
    validity.add_argument("--cert-expired", action="store_true",
                          help="the leaf expired: valid from now-30d to now-1d")
    validity.add_argument("--cert-not-yet-valid", action="store_true",
                          help="the leaf is valid from now+1d to now+30d")
    p.add_argument("--cert-self-signed", action="store_true",
                   help="present a self-signed leaf (not issued by any CA); ca.pem holds "
                        "a CA that did not sign it")
    p.add_argument("--tls-max", choices=("1.2", "1.3"), default=None,
                   help="highest TLS version the server accepts")
    p.add_argument("--require-starttls", action="store_true",
                   help="starttls mode: refuse commands other than EHLO/NOOP/QUIT before TLS")
    p.add_argument("--no-starttls-offer", action="store_true",
                   help="do not offer STARTTLS (only meaningful, and implied, in plain mode)")
    p.add_argument("--auth", default=None, metavar="USER:PASS", help="enable AUTH")
    p.add_argument("--auth-plaintext", action="store_true",
                   help="allow AUTH without TLS (aiosmtpd auth_require_tls=False)")
    p.add_argument("--auth-before-tls-only", action="store_true",
                   help="with --mode starttls --auth: advertise (and accept) AUTH before "
                        "STARTTLS, leave it out of the EHLO reply after STARTTLS")
    p.add_argument("--auth-mechs", default=None, metavar="MECH[,MECH]",
                   help="advertise only these of PLAIN, LOGIN (default both)")
    p.add_argument("--oauth", default=None, metavar="USER:TOKEN",
                   help="accept this bearer token for USER with XOAUTH2 and OAUTHBEARER; another "
                        "token gets the mechanism's error challenge (base64 JSON), then 535")
    p.add_argument("--oauth-introspect", default=None, metavar="URL",
                   help="accept the bearer tokens this RFC 7662 introspection endpoint "
                        "(tests/servers/oauth_server.py's /introspect) says are active for the "
                        "user logging in, instead of (or besides) --oauth's one token")
    p.add_argument("--oauth-ca", default=None, metavar="FILE",
                   help="with --oauth-introspect: the CA (PEM) that signed the endpoint's "
                        "certificate")
    p.add_argument("--oauth-require-scope", default=None, metavar="SCOPE",
                   help="with --oauth-introspect: refuse an active token whose scope lacks SCOPE "
                        "(as Gmail refuses a token without https://mail.google.com/)")
    p.add_argument("--oauth-mechs", default=None, metavar="MECH[,MECH]",
                   help="offer only these of XOAUTH2, OAUTHBEARER (default both)")
    p.add_argument("--reject-rcpt", action="append", default=[], metavar="SUBSTR",
                   help="550 5.1.1 for RCPT TO addresses containing SUBSTR; repeatable")
    p.add_argument("--reject-rcpt-once", action="append", default=[], metavar="SUBSTR",
                   help="550 5.1.1 for the first RCPT TO address containing SUBSTR, then accept it "
                        "(a mailbox made after a first attempt failed); repeatable")
    p.add_argument("--hostile-text", action="store_true",
                   help="--reject-rcpt and --tempfail-rcpt replies carry a bare CR and terminal "
                        "escape sequences, as a hostile server would send to forge log lines")
    p.add_argument("--tempfail-rcpt", action="append", default=[], metavar="SUBSTR",
                   help="450 4.2.0 for RCPT TO addresses containing SUBSTR; repeatable")
    p.add_argument("--hang", choices=HANG_PHASES, default=None,
                   help="never answer at this phase: greeting = accept TCP and stay silent; "
                        "ehlo/mail/rcpt = no reply to that command; data = the whole "
                        "message is received, the final reply never comes")
    p.add_argument("--size", type=int, default=None,
                   help="advertise and enforce SIZE N (0 = no SIZE at all; "
                        "default aiosmtpd's 33554432)")
    p.add_argument("--queue-id", action="store_true",
                   help='DATA reply "250 2.0.0 Ok: queued as <id>" with a unique id')
    p.add_argument("--close-after", type=int, default=None, metavar="N",
                   help="close a connection 0.1 s after replying to its N-th message")
    p.add_argument("--idle-timeout", type=float, default=None, metavar="SECONDS",
                   help="aiosmtpd's own idle timeout: close sessions silent that long")
    p.add_argument("--hide", dest="hide_extension", action="append", default=[],
                   type=str.upper, metavar="KEYWORD",
                   help="leave this keyword out of the EHLO reply (e.g. SMTPUTF8, 8BITMIME)")
    p.add_argument("--pipelining", action="store_true",
                   help="also advertise PIPELINING (aiosmtpd does not by default)")
    args = p.parse_args(argv)
    if args.no_starttls_offer and args.mode != "plain":
        p.error("--no-starttls-offer only makes sense with --mode plain")
    if args.require_starttls and args.mode != "starttls":
        p.error("--require-starttls needs --mode starttls")
    if args.auth is not None and ":" not in args.auth:
        p.error("--auth wants USER:PASS")
    if args.auth_mechs is not None:
        mechs = [m.strip().upper() for m in args.auth_mechs.split(",") if m.strip()]
        unknown = [m for m in mechs if m not in BUILTIN_MECHS]
        if unknown or not mechs:
            p.error(f"--auth-mechs: choose from {', '.join(BUILTIN_MECHS)}")
        args.auth_mechs = mechs
    if args.close_after is not None and args.close_after < 1:
        p.error("--close-after wants N >= 1")
    if args.oauth is not None and ":" not in args.oauth:
        p.error("--oauth wants USER:TOKEN")
    if args.oauth_require_scope is not None and args.oauth_introspect is None:
        p.error("--oauth-require-scope goes with --oauth-introspect URL")
    if args.oauth_ca is not None and args.oauth_introspect is None:
        p.error("--oauth-ca goes with --oauth-introspect URL")
    # Bearer mechanisms are on with a fixed token, an introspection endpoint, or both.
    args.oauth_on = args.oauth is not None or args.oauth_introspect is not None
    if args.oauth_mechs is not None:
        mechs = [m.strip().upper() for m in args.oauth_mechs.split(",") if m.strip()]
        if not mechs or [m for m in mechs if m not in OAUTH_MECHS]:
            p.error(f"--oauth-mechs: choose from {', '.join(OAUTH_MECHS)}")
        args.oauth_mechs = mechs
    if args.auth_before_tls_only and (args.mode != "starttls" or args.auth is None):
        p.error("--auth-before-tls-only needs --mode starttls and --auth USER:PASS")
    if args.drop_after_accept and args.hang is not None:
        p.error("--drop-after-accept and --hang exclude each other")
    if args.mode == "plain":
        for flag in ("cert_expired", "cert_not_yet_valid", "cert_self_signed"):
            if getattr(args, flag):
                p.error(f"--{flag.replace('_', '-')} needs --mode starttls or tls")
    return args


class Recorder:
    """Writes messages and events into the working directory."""

    def __init__(self, directory):
        self.dir = directory
        self.msg_counter = itertools.count(1)
        self.conn_counter = itertools.count(1)
        self.events_path = os.path.join(directory, "events.log")

    def event(self, conn, text):
        with open(self.events_path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"{conn} {text}\n")
            f.flush()

    def message(self, record):
        n = next(self.msg_counter)
        record = dict(record, n=n)
        final = os.path.join(self.dir, f"msg-{n}.json")
        tmp = os.path.join(self.dir, f".msg-{n}.json.tmp")
        with open(tmp, "w", encoding="ascii") as f:
            f.write(json.dumps(record, ensure_ascii=True, sort_keys=True))
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        return n


def _text(value):
    """aiosmtpd hands arguments over as str with surrogate escapes, or bytes (logins)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogateescape").decode(
            "utf-8", errors="backslashreplace")
    return value


def _tls_version(server):
    transport = server.transport
    if transport is None:
        return None
    obj = transport.get_extra_info("ssl_object")
    if obj is None:
        return None
    return obj.version()


def _tls_resumed(server):
    """Whether the TLS session was resumed from an earlier one (a session ticket or id)."""
    transport = server.transport
    obj = transport.get_extra_info("ssl_object") if transport is not None else None
    return bool(obj is not None and obj.session_reused)


class Handler:
    """aiosmtpd handler hooks (handle_EHLO / handle_RCPT / handle_DATA / ...)."""

    def __init__(self, args, recorder):
        self.args = args
        self.rec = recorder

    async def _hang(self, phase):
        if self.args.hang == phase:
            await asyncio.sleep(3600)

    # Bearer tokens (--oauth, --oauth-introspect). aiosmtpd finds these by name; main() excludes
    # them without either.
    async def _bearer(self, user, token):
        if self.args.oauth is not None:
            want_user, _, want_token = self.args.oauth.partition(":")
            if user == want_user and token == want_token:
                return True
        if self.args.oauth_introspect is not None:
            # A blocking HTTPS request: off the event loop, so other sessions go on meanwhile.
            return await asyncio.get_running_loop().run_in_executor(
                None, self._introspect, user, token)
        return False

    def _introspect(self, user, token):
        """RFC 7662: the endpoint says whether the token is active, and for whom."""
        import urllib.parse
        import urllib.request
        context = ssl.create_default_context(cafile=self.args.oauth_ca)
        body = urllib.parse.urlencode({"token": token}).encode()
        request = urllib.request.Request(self.args.oauth_introspect, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                answer = json.load(response)
        except (OSError, ValueError) as e:
            sys.stderr.write(f"introspection failed: {e}\n")
            return False
        scopes = str(answer.get("scope") or "").split()
        scoped = self.args.oauth_require_scope is None or self.args.oauth_require_scope in scopes
        return bool(answer.get("active")) and answer.get("username") == user and scoped

    async def _oauth_failure(self, server, mechanism):
        # RFC 7628 §3.2.2 (and Google's XOAUTH2): a JSON error as a 334 challenge; the client's
        # answer (empty for XOAUTH2, a lone 0x01 for OAUTHBEARER) is read, then 535.
        status = "401" if mechanism == "XOAUTH2" else "invalid_token"
        await server.challenge_auth(
            '{"status":"%s","schemes":"bearer","scope":"https://mail.example/"}' % status)
        return AuthResult(success=False, handled=False)

    async def _initial(self, server, args):
        """The client's first message, decoded: with AUTH, or in answer to an empty 334."""
        if len(args) > 1:
            return base64.b64decode(args[1]).decode()
        response = await server.challenge_auth("", encode_to_b64=False)
        return response.decode() if isinstance(response, bytes) else ""

    async def auth_XOAUTH2(self, server, args):
        try:
            raw = await self._initial(server, args)
            fields = raw
            user = fields.split("user=", 1)[1].split("\x01", 1)[0]
            token = fields.split("auth=Bearer ", 1)[1].split("\x01", 1)[0]
        except (ValueError, IndexError, UnicodeDecodeError):
            return AuthResult(success=False, handled=False)
        if await self._bearer(user, token):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        return await self._oauth_failure(server, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        try:
            raw = await self._initial(server, args)
            message = raw
            gs2, rest = message.split("\x01", 1)
            # "n,a=<saslname>," with =3D and =2C for '=' and ','.
            user = gs2.split("a=", 1)[1].rsplit(",", 1)[0].replace("=2C", ",").replace("=3D", "=")
            token = rest.split("auth=Bearer ", 1)[1].split("\x01", 1)[0]
        except (ValueError, IndexError, UnicodeDecodeError):
            return AuthResult(success=False, handled=False)
        if await self._bearer(user, token):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        return await self._oauth_failure(server, "OAUTHBEARER")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await self._hang("ehlo")
        # The 5-argument hook must record the name itself (aiosmtpd checks it before MAIL).
        session.host_name = hostname
        # The first line is "250-<hostname>": never filtered, whatever the name.
        out = responses[:1]
        after_starttls = getattr(server, "_tls_protocol", None) is not None
        for line in responses[1:]:
            keyword = line[4:].split(" ", 1)[0].upper()
            if keyword == "AUTH" and self.args.auth is None and not self.args.oauth_on:
                continue  # aiosmtpd advertises AUTH on TLS even with no authenticator
            if keyword == "AUTH" and self.args.auth_before_tls_only and after_starttls:
                continue
            if keyword in self.args.hide_extension:
                continue
            out.append(line)
        if self.args.pipelining:
            out.insert(1, "250-PIPELINING")
        # Keep the continuation markers right: every line but the last is "250-".
        return [("250 " if i == len(out) - 1 else "250-") + line[4:] for i, line in enumerate(out)]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self._hang("mail")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._hang("rcpt")
        # aiosmtpd writes the reply as given plus CRLF: a bare CR and ESC go out raw.
        hostile = "\r* forged: delivered\x1b[2J\x1b]0;owned\x07" if self.args.hostile_text else ""
        if any(s in address for s in self.args.reject_rcpt):
            return f"550 5.1.1 <{address}>: Recipient address rejected{hostile}"
        once = [s for s in self.args.reject_rcpt_once if s in address]
        if once:
            for s in once:
                self.args.reject_rcpt_once.remove(s)
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox (yet)"
        if any(s in address for s in self.args.tempfail_rcpt):
            return f"450 4.2.0 <{address}>: Recipient address rejected: try again later{hostile}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await self._hang("data")
        queue_id = uuid.uuid4().hex[:12].upper() if self.args.queue_id else None
        auth_user = None
        if session.authenticated and session.auth_data is not None:
            auth_user = _text(getattr(session.auth_data, "login", None))
        tls_version = _tls_version(server)
        conn = getattr(server, "conn_id", 0)
        self.rec.message({
            "conn": conn,
            "helo": _text(session.host_name),
            "mail_from": _text(envelope.mail_from),
            "rcpt_tos": [_text(r) for r in envelope.rcpt_tos],
            "data_b64": base64.b64encode(envelope.original_content or b"").decode("ascii"),
            "mail_options": [_text(o) for o in envelope.mail_options],
            "rcpt_options": [_text(o) for o in envelope.rcpt_options],
            "tls": tls_version is not None,
            "tls_version": tls_version,
            "tls_resumed": _tls_resumed(server),
            "auth_user": auth_user,
            "queue_id": queue_id,
        })
        server.messages_on_connection = getattr(server, "messages_on_connection", 0) + 1
        if self.args.close_after and server.messages_on_connection >= self.args.close_after:
            # Close once the reply below has been written and the session is idle: the client
            # sees a dropped connection on its next command, as with a server's idle timeout.
            transport = server.transport

            def drop():
                if server.transport is not None:
                    self.rec.event(conn, "CLOSE")
                    transport.close()

            server.loop.call_later(0.1, drop)
        if queue_id is not None:
            return f"250 2.0.0 Ok: queued as {queue_id}"
        return "250 2.0.0 Ok"


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP protocol, logging each command verb to events.log."""

    def __init__(self, handler, recorder, conn_id, **kwargs):
        super().__init__(handler, **kwargs)
        self.conn_id = conn_id
        self._recorder = recorder
        recorder.event(conn_id, "CONNECT")
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._logged(verb, method)

    def _logged(self, verb, method):
        async def wrapper(arg):
            shown = ""
            if arg:
                # Never log AUTH's initial response (credentials): only the mechanism.
                shown = " " + (arg.split()[0] if verb == "AUTH" else _text(arg))
            self._recorder.event(self.conn_id, verb + shown)
            await method(arg)
            if verb == "STARTTLS" and self._tls_protocol is not None:
                self._recorder.event(self.conn_id, f"TLS {_tls_version(self)}")

        return wrapper


class SilentProtocol(asyncio.Protocol):
    """--hang greeting: accept the connection and never say anything."""

    def __init__(self, recorder, conn_id):
        self.rec = recorder
        self.conn_id = conn_id

    def connection_made(self, transport):
        self.rec.event(self.conn_id, "CONNECT")
        self.transport = transport

    def data_received(self, data):
        pass


class DropProtocol(asyncio.Protocol):
    """--drop-after-accept: close every connection as soon as it is accepted."""

    def __init__(self, recorder, conn_id):
        self.rec = recorder
        self.conn_id = conn_id

    def connection_made(self, transport):
        self.rec.event(self.conn_id, "CONNECT")
        transport.close()
        self.rec.event(self.conn_id, "CLOSE")


def _utcnow():
    # Naive UTC, as trustme's own defaults are.
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _validity(args):
    """(not_before, not_after) for the leaf; None = the issuer's default."""
    now = _utcnow()
    day = datetime.timedelta(days=1)
    if args.cert_expired:
        return now - 30 * day, now - day
    if args.cert_not_yet_valid:
        return now + day, now + 30 * day
    return None, None


def _general_name(identity):
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        return x509.DNSName(identity)


def self_signed_leaf(names, not_before, not_after):
    """A server certificate that is its own issuer: (cert PEM, key PEM), EC P-256, SHA-256."""
    key = ec.generate_private_key(ec.SECP256R1())
    dns = [n for n in names if isinstance(_general_name(n), x509.DNSName)]
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailport self-signed test leaf"),
        x509.NameAttribute(NameOID.COMMON_NAME, dns[0] if dns else names[0]),
    ])
    now = _utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(days=1))
        .not_valid_after(not_after or now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def make_tls(args, directory):
    ca = trustme.CA()
    names = args.cert_name or ["localhost", "127.0.0.1", "::1"]
    not_before, not_after = _validity(args)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    cert_path = os.path.join(directory, "cert.pem")
    if args.cert_self_signed:
        cert_pem, key_pem = self_signed_leaf(names, not_before, not_after)
        key_path = os.path.join(directory, "key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert_pem)
        with open(key_path, "wb") as f:
            f.write(key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    else:
        leaf = ca.issue_cert(*names, not_before=not_before, not_after=not_after)
        leaf.configure_cert(ctx)
        leaf.cert_chain_pems[0].write_to_path(cert_path)
    ca_path = os.path.join(directory, "ca.pem")
    published = trustme.CA() if args.untrusted else ca
    published.cert_pem.write_to_path(ca_path)
    return ctx, ca_path


def bind_one(host, port):
    """A listening TCP socket on host:port (SO_REUSEADDR; IPV6_V6ONLY for ::1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def bind_all(args):
    """The listening sockets: one (127.0.0.1 or ::1), or two on the same port (--dual)."""
    if not args.dual:
        return [bind_one("::1" if args.ipv6 else "127.0.0.1", args.port)]
    for _attempt in range(20):
        v4 = bind_one("127.0.0.1", args.port)
        port = v4.getsockname()[1]
        try:
            return [v4, bind_one("::1", port)]
        except OSError as error:
            v4.close()
            # Someone holds ::1 at the port 127.0.0.1 got: try another (unless one was asked).
            if error.errno != errno.EADDRINUSE or args.port:
                raise
    raise OSError(errno.EADDRINUSE, "--dual: no port free on both 127.0.0.1 and ::1")


def authenticator_for(args):
    user, _, password = args.auth.partition(":")
    user_b, pass_b = user.encode(), password.encode()

    def authenticate(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == user_b and auth_data.password == pass_b):
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False makes aiosmtpd send "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)

    return authenticate


async def serve(args):
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    recorder = Recorder(directory)
    tls_ctx, ca_path = make_tls(args, directory)

    kwargs = {
        "hostname": args.hostname,
        "decode_data": False,
        "enable_SMTPUTF8": True,
    }
    if args.size is not None:
        kwargs["data_size_limit"] = args.size or None
    if args.idle_timeout is not None:
        kwargs["timeout"] = args.idle_timeout
    if args.mode == "starttls":
        kwargs["tls_context"] = tls_ctx
        kwargs["require_starttls"] = args.require_starttls
    excluded = [m for m in OAUTH_MECHS if not args.oauth_on or m not in (args.oauth_mechs or OAUTH_MECHS)]
    if args.auth is not None:
        kwargs["authenticator"] = authenticator_for(args)
        if args.auth_mechs:
            excluded += [m for m in BUILTIN_MECHS if m not in args.auth_mechs]
    elif args.oauth_on:
        excluded += list(BUILTIN_MECHS)  # only the bearer mechanisms
    if args.auth is not None or args.oauth_on:
        # Implicit TLS is encrypted from the start, but aiosmtpd only counts STARTTLS.
        kwargs["auth_require_tls"] = not (args.auth_plaintext or args.mode == "tls"
                                          or args.auth_before_tls_only)
    kwargs["auth_exclude_mechanism"] = excluded

    handler = Handler(args, recorder)
    loop = asyncio.get_running_loop()

    if args.drop_after_accept:
        def factory():
            return DropProtocol(recorder, next(recorder.conn_counter))
    elif args.hang == "greeting":
        def factory():
            return SilentProtocol(recorder, next(recorder.conn_counter))
    else:
        def factory():
            return RecordingSMTP(handler, recorder, next(recorder.conn_counter),
                                 loop=loop, **kwargs)

    implicit_tls = args.mode == "tls" and not args.drop_after_accept
    sockets = bind_all(args)
    servers = [await loop.create_server(factory, sock=sock,
                                        ssl=tls_ctx if implicit_tls else None)
               for sock in sockets]
    port = sockets[0].getsockname()[1]
    hosts = [sock.getsockname()[0] for sock in sockets]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()

    ready = {"port": port, "ca": ca_path, "dir": directory, "host": hosts[0], "hosts": hosts}
    sys.stdout.write("READY " + json.dumps(ready) + "\n")
    sys.stdout.flush()

    await stop.wait()
    for server in servers:
        server.close()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # aiosmtpd warns about its own deprecated attribute when a login succeeds: noise.
    logging.getLogger("mail.log").addFilter(
        lambda record: "login_data is deprecated" not in record.getMessage())
    try:
        asyncio.run(serve(args))
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    # Connections still open (hanging handlers) must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
