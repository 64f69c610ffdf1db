#!/usr/bin/env python3
"""A private Postfix instance for mailport's tests: a real SMTP server we did not write.

Started by tests/postfix.rs. Needs the Debian package `postfix` (3.4 or later: BDAT/CHUNKING)
and root, since Postfix's master daemon starts as root and its daemons run as `mail_owner`.
Nothing of the system's own Postfix (/etc/postfix, /var/spool/postfix) is used or changed:

  --dir DIR            working directory (created): conf/ (main.cf, master.cf, the recipient
                       access map, TLS files), queue/, data/, maillog, ca.pem (with --starttls)
  --port N             the smtpd port on 127.0.0.1 (default 0: pick a free one, retrying a few
                       times when another process takes it between the pick and Postfix's bind)
  --relay-port N       required: every accepted message is relayed to [127.0.0.1]:N (the test's
                       aiosmtpd, which records what arrives); no DNS, no other address
  --message-size-limit N   Postfix's message_size_limit (default 10240000, Postfix's own)
  --discard-ehlo KW    leave the keyword KW (e.g. size, pipelining, chunking) out of the EHLO
                       reply (smtpd_discard_ehlo_keywords); repeatable. The feature stays on:
                       without SIZE the limit is still enforced, only not announced
  --reject-rcpt ADDR   RCPT TO:<ADDR> gets "550 5.1.1 ..." (check_recipient_access); repeatable
  --starttls           offer STARTTLS with a leaf certificate for 127.0.0.1, ::1 and localhost
                       issued by a throwaway trustme CA (written to DIR/ca.pem)
  --dovecot-auth SOCKET  offer SMTP AUTH through Dovecot's auth socket SOCKET (the "socket" of
                       tests/servers/dovecot_server.py's READY line; smtpd_sasl_type = dovecot)
                       and act as a submission service: relaying needs a successful AUTH
                       (permit_sasl_authenticated), the client's loopback address no longer
                       suffices, so an unauthenticated MAIL/RCPT is refused with 554 5.7.1.
                       With --starttls, AUTH is only offered after STARTTLS
                       (smtpd_tls_auth_only = yes)
  --max-lifetime S     stop Postfix after S seconds whatever happens (default 300)

Prints exactly one line on stdout once Postfix accepts connections:

    READY {"port": N, "dir": "...", "queue_dir": "...", "maillog": "...", "ca": "..."|null,
           "version": "3.7.11"}

then serves until stdin reaches EOF (the test dropped its handle or died), SIGTERM/SIGINT, or
--max-lifetime; then stops Postfix (SIGTERM to its master, as `postfix stop` does, then
`postfix stop` and SIGKILL to the master's process group if it lingers), waits until the master
is gone, and removes DIR unless --keep is given.

Configuration files are dated a minute back: Postfix otherwise waits (300 ms at a time) until
main.cf and texthash maps are over a second old, which made each start take 2 s.

Failures are reported on stderr and with the exit status: 4 with "POSTFIX-MISSING" when Postfix
is not installed, 5 with "NOT-ROOT" when not run as root, 6 when Postfix does not start (the
output of `postfix start` and the maillog follow), 7 when --dir is not reachable by the user
`postfix`.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from _launcher import Lifetime

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/lib/postfix/sbin")

MAIN_CF = """\
# Written by tests/servers/postfix_server.py: a private, loopback-only instance.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = postfix.test
myorigin = $myhostname
mydestination =
relay_domains =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks_style = host
mynetworks = 127.0.0.0/8
maillog_file = {maillog}
maillog_file_prefixes = {directory}

# Everything goes to the test's aiosmtpd: an IP literal in brackets, so no MX or A look-up.
relayhost = [127.0.0.1]:{relay_port}
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tls_security_level = none
smtp_bind_address = 127.0.0.1
smtpd_peername_lookup = no
lmtp_host_lookup = native

# Nothing local: no aliases, no local delivery, no NIS.
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:local delivery is disabled
biff = no

# Do not touch what clients send: no rewriting, no added headers (only Received:).
local_header_rewrite_clients =
remote_header_rewrite_domain =
append_dot_mydomain = no
always_add_missing_headers = no

smtpd_banner = $myhostname ESMTP Postfix
smtpd_relay_restrictions = {permit}, reject
smtpd_recipient_restrictions = check_recipient_access texthash:{access}, {permit}, reject
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_client_connection_rate_limit = 0
smtpd_discard_ehlo_keywords = {discard}
smtputf8_enable = yes
message_size_limit = {size_limit}
mailbox_size_limit = 0
in_flow_delay = 0

# Fast retries and no long waits: a test never waits minutes for a queue run.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
delay_warning_time = 0
smtp_connect_timeout = 5s
"""

MAIN_CF_TLS = """\
smtpd_tls_security_level = may
smtpd_tls_chain_files = {key}, {cert}
smtpd_tls_session_cache_database =
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
"""

# SMTP AUTH by the test's private Dovecot. smtpd is not chrooted, so the socket's absolute path
# works as smtpd_sasl_path.
MAIN_CF_SASL = """\
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {socket}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = no
broken_sasl_auth_clients = no
"""

# Debian's master.cf, with chroot off (the queue is in a temp dir) and only what is needed.
MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{port} inet n   -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--relay-port", type=int, required=True)
    p.add_argument("--message-size-limit", type=int, default=10240000)
    p.add_argument("--discard-ehlo", action="append", default=[])
    p.add_argument("--reject-rcpt", action="append", default=[])
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--dovecot-auth", metavar="SOCKET")
    p.add_argument("--max-lifetime", type=float, default=300.0)
    p.add_argument("--keep", action="store_true", help="do not remove --dir at exit")
    args = p.parse_args(argv)
    if args.dovecot_auth is not None and not os.path.exists(args.dovecot_auth):
        p.error(f"--dovecot-auth {args.dovecot_auth!r} does not exist: start "
                "tests/servers/dovecot_server.py first and give the socket of its READY line")
    return args


def find_program(name):
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN_DIRS:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    return None


def fail(status, text):
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.exit(status)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    backdate(path)


def backdate(path):
    """Postfix waits (in 300 ms steps) until a configuration file or texthash map it reads is
    more than a second old, in case an editor is still writing it: date ours in the past."""
    past = time.time() - 60
    os.utime(path, (past, past))


def make_tls(conf, directory):
    import trustme  # only needed with --starttls

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1")
    key = os.path.join(conf, "key.pem")
    cert = os.path.join(conf, "cert.pem")
    leaf.private_key_pem.write_to_path(key)
    with open(cert, "wb") as f:
        for blob in leaf.cert_chain_pems:
            f.write(blob.bytes())
    os.chmod(key, 0o600)
    backdate(key)
    backdate(cert)
    ca_path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    return key, cert, ca_path


def configure(args, directory, port):
    conf = os.path.join(directory, "conf")
    os.makedirs(conf, exist_ok=True)
    # Postfix chdirs into the queue before `post-install create-missing` fills it.
    os.makedirs(os.path.join(directory, "queue"), mode=0o755, exist_ok=True)
    access = os.path.join(conf, "recipient_access")
    write(access, "".join(
        f"{addr} 550 5.1.1 <{addr}>: mailbox unavailable (refused by the test's access map)\n"
        for addr in args.reject_rcpt))
    main = MAIN_CF.format(
        queue=os.path.join(directory, "queue"),
        data=os.path.join(directory, "data"),
        maillog=os.path.join(directory, "maillog"),
        directory=directory,
        relay_port=args.relay_port,
        access=access,
        discard=", ".join(args.discard_ehlo),
        size_limit=args.message_size_limit,
        # Submission: with AUTH on, only an authenticated client may relay.
        permit="permit_sasl_authenticated" if args.dovecot_auth else "permit_mynetworks",
    )
    ca_path = None
    if args.starttls:
        key, cert, ca_path = make_tls(conf, directory)
        main += MAIN_CF_TLS.format(key=key, cert=cert)
    if args.dovecot_auth:
        main += MAIN_CF_SASL.format(socket=os.path.abspath(args.dovecot_auth))
        if args.starttls:
            main += "smtpd_tls_auth_only = yes\n"
    write(os.path.join(conf, "main.cf"), main)
    write(os.path.join(conf, "master.cf"), MASTER_CF.format(port=port))
    return conf, ca_path


def run(cmd, timeout=30):
    try:
        out = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=timeout)
        return out.returncode, out.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return -1, f"{' '.join(cmd)}: timed out after {timeout} s\n" + (
            (e.stdout or b"").decode("utf-8", "replace"))


def master_pid(directory):
    try:
        with open(os.path.join(directory, "queue", "pid", "master.pid")) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purposes; /proc tells.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def read_log(directory):
    try:
        with open(os.path.join(directory, "maillog"), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return "(no maillog)\n"


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(5)
            return s.recv(4).startswith(b"220")
    except OSError:
        return False


def stop(postfix, conf, directory):
    pid = master_pid(directory)
    if pid is not None and alive(pid):
        # What `postfix stop` does first (SIGTERM to the master, which ends its daemons), but
        # polled every 50 ms instead of its 1 s sleeps.
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    if pid is None or alive(pid):
        # `postfix stop` waits 5 s and then kills the master's process group.
        run([postfix, "-c", conf, "stop"], timeout=20)
    if pid is not None:
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def main(argv):
    args = parse_args(argv)
    postfix = find_program("postfix")
    postconf = find_program("postconf")
    if postfix is None or postconf is None:
        fail(4, "POSTFIX-MISSING: Postfix is not installed; install the Debian package "
                "`postfix` (apt-get install postfix)")
    if os.geteuid() != 0:
        fail(5, "NOT-ROOT: a private Postfix instance must be started as root "
                "(its master daemon starts as root and its daemons run as `postfix`)")
    code, version = run([postconf, "-dh", "mail_version"])
    version = version.strip()

    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)  # the daemons (user postfix) must reach queue/ and data/
    parent = os.path.dirname(directory)
    while parent and parent != "/":
        if not os.stat(parent).st_mode & 0o001:
            fail(7, f"{parent} is not searchable by others, so Postfix's daemons (user postfix) "
                    f"cannot reach {directory}; use another TMPDIR")
        parent = os.path.dirname(parent)
    lifetime = Lifetime()

    conf = None
    started = False
    try:
        attempts = []
        for _attempt in range(5):
            port = args.port or free_port()
            conf, ca_path = configure(args, directory, port)
            code, out = run([postfix, "-c", conf, "start"], timeout=60)
            if code == 0:
                started = True
                break
            attempts.append(f"--- postfix -c {conf} start (port {port}): exit {code}\n{out}")
            # The port was taken after we picked it: pick another; anything else is fatal.
            if args.port or "Address already in use" not in out + read_log(directory):
                break
            stop(postfix, conf, directory)
        if not started:
            fail(6, "Postfix did not start\n" + "".join(attempts)
                 + "--- maillog ---\n" + read_log(directory))

        deadline = time.monotonic() + 20
        while not listening(port):
            if time.monotonic() > deadline:
                fail(6, f"Postfix started but 127.0.0.1:{port} does not greet\n--- maillog ---\n"
                     + read_log(directory))
            time.sleep(0.05)

        ready = {
            "port": port,
            "dir": directory,
            "queue_dir": os.path.join(directory, "queue"),
            "maillog": os.path.join(directory, "maillog"),
            "ca": ca_path,
            "version": version,
        }
        lifetime.ready(ready)
        lifetime.wait(args.max_lifetime)
    finally:
        if conf is not None and (started or master_pid(directory) is not None):
            stop(postfix, conf, directory)
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
