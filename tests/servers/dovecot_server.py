#!/usr/bin/env python3
"""A private Dovecot for mailport's tests: SASL authentication only, checking OAuth tokens.

Postfix (tests/servers/postfix_server.py --dovecot-auth SOCKET) hands each AUTH XOAUTH2 or
AUTH OAUTHBEARER to this Dovecot, whose `oauth2` passdb asks the test's OAuth server
(tests/servers/oauth_server.py) whether the bearer token is active, by token introspection
(RFC 7662, a form POST of token=...). So a token mailport sends is checked by real servers we
did not write, as Gmail's or Exchange Online's would be.

Needs the Debian package `dovecot-core` (2.3) and root: Dovecot's master starts as root and its
auth process runs as `dovecot`. Nothing of the system's Dovecot (/etc/dovecot, /run/dovecot,
/var/lib/dovecot) is used or changed:

  --dir DIR                working directory (created): dovecot.conf, oauth2.conf.ext (the
                           passdb's args file), oauth-ca.pem, run/ (base_dir, with the auth
                           socket for Postfix), state/ (state_dir), dovecot.log
  --introspection-url URL  required: the OAuth server's introspection endpoint, e.g.
                           https://127.0.0.1:N/introspect (an IP literal: no DNS look-up)
  --ca-file PEM            required: the CA that issued the OAuth server's certificate; the
                           passdb verifies the endpoint against it alone
  --mechanisms LIST        the SASL mechanisms offered, space- or comma-separated, among xoauth2
                           and oauthbearer (default both)
  --socket-user USER       the owner of the auth socket, who alone may connect (default postfix)
  --debug                  auth_debug = yes, for diagnosing only: Dovecot 2.3 then logs its
                           reply to Postfix, which carries the access token ("client passdb
                           out: OK ... token=..."), whatever auth_debug_passwords says.
                           Without it (the default) no token is logged: auth_verbose names the
                           user and the reason only, auth_debug_passwords and
                           auth_verbose_passwords are off
  --max-lifetime S         stop Dovecot after S seconds whatever happens (default 300)
  --keep                   do not remove DIR at exit

No protocol is served (protocols is empty): no IMAP, POP3 or LMTP listener, only the auth
process, the socket Postfix connects to (smtpd_sasl_type = dovecot) and Dovecot's internal
sockets in DIR/run. The log (auth_verbose = yes) names the user and why a token was refused.

Prints exactly one line on stdout once the auth socket answers the Dovecot auth protocol's
handshake:

    READY {"socket": "DIR/run/auth-postfix", "dir": "...", "log": "DIR/dovecot.log",
           "mechanisms": ["XOAUTH2", "OAUTHBEARER"], "version": "2.3.19.1"}

("mechanisms" as the auth process announced them), then serves until stdin reaches EOF (the test
dropped its handle or died), SIGTERM/SIGINT, or --max-lifetime; then stops Dovecot (SIGTERM to
its master, SIGKILL to the master's process group if it lingers), and removes DIR unless --keep.

Failures are reported on stderr and with the exit status: 2 for bad arguments, 4 with
"DOVECOT-MISSING" when Dovecot is not installed, 5 with "NOT-ROOT" when not run as root, 6 when
Dovecot does not start (its output and log follow), 7 when DIR is not reachable by the users
`dovecot` and the socket's owner.
"""

import argparse
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from _launcher import Lifetime

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
KNOWN_MECHANISMS = ("xoauth2", "oauthbearer")
START_DEADLINE = 30.0

DOVECOT_CONF = """\
# Written by tests/servers/dovecot_server.py: a private instance that only authenticates.
protocols =
base_dir = {base_dir}
state_dir = {state_dir}
instance_name = {instance}
log_path = {log}
info_log_path = {log}
debug_log_path = {log}
ssl = no
# Postfix decides when AUTH may be used (smtpd_tls_auth_only with STARTTLS): Dovecot must not
# refuse a bearer token because Postfix's request is not marked as secured.
disable_plaintext_auth = no
# A refused token is answered at once: the tests wait for no penalty.
auth_failure_delay = 0
# Each AUTH is introspected afresh, so a revoked token is refused the next time.
auth_cache_size = 0
auth_mechanisms = {mechanisms}
auth_verbose = yes
auth_debug = {debug}
auth_debug_passwords = no
auth_verbose_passwords = no

passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {args_file}
}}

# An account exists for any user the token introspection vouched for.
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home} allow_all_users=yes
}}

service auth {{
  # Relative to base_dir (Dovecot warns about an absolute path inside it).
  unix_listener {socket_name} {{
    mode = 0600
    user = {socket_user}
  }}
}}
"""

# The passdb's args file (Dovecot 2.3, db-oauth2.c): introspection only, as RFC 7662 describes
# it: POST token=..., then {{"active": true, "username": ...}} or {{"active": false}}.
OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}
# Without a tokeninfo_url every lookup is an introspection; kept explicit.
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = {ca}
timeout_msecs = 10000
"""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True)
    p.add_argument("--introspection-url", required=True)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--mechanisms", default="xoauth2 oauthbearer")
    p.add_argument("--socket-user", default="postfix")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--max-lifetime", type=float, default=300.0)
    p.add_argument("--keep", action="store_true", help="do not remove --dir at exit")
    args = p.parse_args(argv)
    mechanisms = [m.lower() for m in re.split(r"[\s,]+", args.mechanisms.strip()) if m]
    unknown = [m for m in mechanisms if m not in KNOWN_MECHANISMS]
    if not mechanisms or unknown:
        p.error(f"--mechanisms {args.mechanisms!r}: give one or both of "
                f"{', '.join(KNOWN_MECHANISMS)} (unknown: {', '.join(unknown) or 'none given'})")
    args.mechanisms = mechanisms
    if not args.introspection_url.startswith("https://"):
        p.error(f"--introspection-url {args.introspection_url!r}: an https:// URL is needed "
                "(the token travels in it; the passdb verifies the server with --ca-file)")
    if not os.path.isfile(args.ca_file):
        p.error(f"--ca-file {args.ca_file!r} is not a file: give the oauth server's ca.pem")
    return args


def fail(status, text):
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(status)


def find_program(name):
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN_DIRS:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    return None


def write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def check_reachable(directory, users):
    """Dovecot's auth process (user dovecot) and Postfix's smtpd (the socket's owner) must be
    able to walk down to DIR/run: every parent must be searchable by others."""
    parent = os.path.dirname(directory)
    while parent and parent != "/":
        if not os.stat(parent).st_mode & 0o001:
            fail(7, f"{parent} is not searchable by others, so {' and '.join(users)} cannot "
                    f"reach {directory}; use another TMPDIR")
        parent = os.path.dirname(parent)


def configure(args, directory):
    base_dir = os.path.join(directory, "run")
    state_dir = os.path.join(directory, "state")
    for d in (base_dir, state_dir):
        os.makedirs(d, mode=0o755, exist_ok=True)
        os.chmod(d, 0o755)
    # The auth process reads the CA after dropping to user dovecot: a copy it can read, whatever
    # the permissions of the OAuth server's directory.
    ca = os.path.join(directory, "oauth-ca.pem")
    shutil.copyfile(args.ca_file, ca)
    os.chmod(ca, 0o644)
    args_file = os.path.join(directory, "oauth2.conf.ext")
    write(args_file, OAUTH2_CONF.format(url=args.introspection_url, ca=ca))
    nobody = pwd.getpwnam("nobody")
    socket_path = os.path.join(base_dir, "auth-postfix")
    conf = os.path.join(directory, "dovecot.conf")
    write(conf, DOVECOT_CONF.format(
        base_dir=base_dir,
        state_dir=state_dir,
        # Distinct from the system's "dovecot", so doveadm and log prefixes never mix them up.
        instance=f"mailport-test-{os.getpid()}",
        log=os.path.join(directory, "dovecot.log"),
        mechanisms=" ".join(args.mechanisms),
        debug="yes" if args.debug else "no",
        args_file=args_file,
        uid=nobody.pw_uid,
        gid=nobody.pw_gid,
        home="/nonexistent",
        socket_name=os.path.basename(socket_path),
        socket_user=args.socket_user,
    ))
    return conf, socket_path


def read_log(directory):
    try:
        with open(os.path.join(directory, "dovecot.log"), encoding="utf-8",
                  errors="replace") as f:
            return f.read()
    except OSError:
        return "(no dovecot.log)\n"


def handshake(socket_path):
    """The Dovecot auth protocol's client handshake (VERSION, CPID; the server lists its MECHs
    and ends with DONE): the mechanisms offered, or None while the socket does not answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(socket_path)
            s.sendall(f"VERSION\t1\t2\nCPID\t{os.getpid()}\n".encode())
            data = b""
            while not re.search(rb"(^|\n)DONE\n", data):
                chunk = s.recv(4096)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    return [line.split("\t")[1] for line in data.decode("utf-8", "replace").splitlines()
            if line.startswith("MECH\t")]


def stop(master):
    if master.poll() is not None:
        return
    try:
        master.send_signal(signal.SIGTERM)
    except OSError:
        pass
    try:
        master.wait(timeout=10)
    except subprocess.TimeoutExpired:
        # Dovecot's master leads its own process group (start_new_session): its children too.
        try:
            os.killpg(master.pid, signal.SIGKILL)
        except OSError:
            pass
        master.wait(timeout=10)


def main(argv):
    args = parse_args(argv)
    dovecot = find_program("dovecot")
    if dovecot is None:
        fail(4, "DOVECOT-MISSING: Dovecot is not installed; install the Debian package "
                "`dovecot-core` (apt-get install dovecot-core)")
    if os.geteuid() != 0:
        fail(5, "NOT-ROOT: a private Dovecot instance must be started as root "
                "(its master starts as root and its auth process runs as `dovecot`)")
    try:
        pwd.getpwnam(args.socket_user)
    except KeyError:
        fail(2, f"--socket-user {args.socket_user!r}: no such user (the auth socket's owner is "
                "the user Postfix's smtpd runs as, `postfix`)")
    version = subprocess.run([dovecot, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode().split()[0]

    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    check_reachable(directory, ["dovecot", args.socket_user])

    lifetime = Lifetime()

    master = None
    try:
        conf, socket_path = configure(args, directory)
        # -F: in the foreground, our child, so that it is ours to stop and nothing else's.
        master = subprocess.Popen([dovecot, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        deadline = time.monotonic() + START_DEADLINE
        mechanisms = None
        while mechanisms is None:
            if master.poll() is not None:
                output = master.stdout.read().decode("utf-8", "replace")
                fail(6, f"Dovecot exited with status {master.returncode} before its auth socket "
                        f"answered\n--- dovecot -F -c {conf} ---\n{output}"
                        f"--- dovecot.log ---\n{read_log(directory)}")
            if time.monotonic() > deadline:
                fail(6, f"Dovecot started but {socket_path} did not answer within "
                        f"{START_DEADLINE:.0f} s\n--- dovecot.log ---\n{read_log(directory)}")
            if os.path.exists(socket_path):
                mechanisms = handshake(socket_path)
            if mechanisms is None:
                time.sleep(0.05)
        # Whatever Dovecot prints later goes to its log; keep its pipe from filling up.
        threading.Thread(target=master.stdout.read, daemon=True).start()

        ready = {
            "socket": socket_path,
            "dir": directory,
            "log": os.path.join(directory, "dovecot.log"),
            "mechanisms": mechanisms,
            "version": version,
        }
        lifetime.ready(ready)
        lifetime.wait(args.max_lifetime)
    finally:
        if master is not None:
            stop(master)
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
