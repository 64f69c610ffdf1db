#!/usr/bin/env python3
"""Serve a throwaway WordPress with the mailport plugin for the S5 benchmark.

    python3 benches/wordpress/serve.py --library /path/to/libmailport.so --ca /path/to/ca.pem \\
        [--user bench] [--password secret] [--ffi preload|cdef] [--ignore-stdin]

In one temporary directory (removed at the end): a throwaway MariaDB on a unix socket and
Debian's WordPress (/usr/share/wordpress), set up exactly as the plugin's end-to-end test does it
(bindings/wordpress/tests/wpenv.py, shared with tests/e2e.py), WordPress installed and the
mailport plugin activated; benches/wordpress/mu-plugin.php as a must-use plugin; and
benches/wordpress/mailport-bench.php served by PHP's built-in server (`php -S`) on a free
loopback port: one long-lived PHP process handling one request at a time, like one php-fpm
worker, with opcache on as on a production site.

The binding reaches libmailport as the plugin's README recommends for php-fpm (--ffi preload, the
default): opcache.preload of bindings/php/preload.php with ffi.preload of a header naming the
library, so no MAILPORT_LIBRARY constant. --ffi cdef instead sets ffi.enable=1 and the
MAILPORT_LIBRARY constant (the binding then runs FFI::cdef() on every request).

Prints one line on stdout when ready:

    READY url=http://127.0.0.1:PORT/mailport-bench.php errors=<tmp>/php-errors.log

(or `FAIL <reason>` and exits 2 when it cannot: WordPress, MariaDB, PHP's FFI or mysqli
missing, ...), then runs until SIGTERM, SIGINT or SIGHUP, or until its standard input closes
(the parent died; --ignore-stdin turns that off), and then stops PHP and MariaDB, says on stderr
how many lines PHP logged, and removes the temporary directory.

Arguments may also come from the environment: MAILPORT_LIBRARY, MAILPORT_WP_BENCH_CA,
MAILPORT_WP_BENCH_USER, MAILPORT_WP_BENCH_PASSWORD. MAILPORT_WP_BENCH_KEEP=1 keeps the temporary
directory (its path is printed on stderr).
"""

import argparse
import http.client
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bindings", "wordpress", "tests"))

from wpenv import Processes, SetupError, WordPress, abspath, check_wordpress, start_mariadb  # noqa: E402

ENDPOINT = os.path.join(HERE, "mailport-bench.php")
MU_PLUGIN = os.path.join(HERE, "mu-plugin.php")
BINDING = os.path.join(REPO, "bindings", "php")


class Stop(Exception):
    pass


def log(message):
    print(f"serve.py: {message}", file=sys.stderr, flush=True)


def check_php():
    """The PHP extensions the bench needs, or SetupError."""
    try:
        r = subprocess.run(["php", "-m"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError as e:
        raise SetupError(f"php not found ({e}): apt-get install php-cli")
    modules = {line.strip().lower() for line in r.stdout.splitlines()}
    missing = [name for name, key in (("FFI", "ffi"), ("mysqli (php-mysql)", "mysqli"),
                                      ("Zend OPcache (php8.2-opcache)", "zend opcache"),
                                      ("openssl", "openssl"))
               if key not in modules]
    if missing:
        raise SetupError("PHP lacks " + ", ".join(missing))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def php_settings(tmp, library, ffi):
    errors = os.path.join(tmp, "php-errors.log")
    settings = {
        "opcache.enable": "1",
        "opcache.enable_cli": "1",
        # Warnings and errors (and, before WordPress sets its own level, everything) go to the log.
        "display_errors": "0",
        "display_startup_errors": "1",
        "log_errors": "1",
        "error_log": errors,
        "error_reporting": "E_ALL & ~E_DEPRECATED",
        "memory_limit": "256M",
    }
    if ffi == "preload":
        header = os.path.join(tmp, "mailport-ffi-preload.h")
        r = subprocess.run(["php", os.path.join(BINDING, "bin", "mailport-ffi-header.php"), header,
                            f"--library={library}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise SetupError(f"bin/mailport-ffi-header.php failed: {r.stdout.strip()}")
        settings.update({
            "ffi.enable": "preload",
            "opcache.preload": os.path.join(BINDING, "preload.php"),
            "ffi.preload": header,
        })
        if os.getuid() == 0:
            # PHP refuses to preload as root without it (for the built-in server too).
            settings["opcache.preload_user"] = "root"
    else:
        settings["ffi.enable"] = "1"
    argv = []
    for key, value in settings.items():
        argv += ["-d", f"{key}={value}"]
    return argv


def get(port, target, timeout=30):
    """(status, body) of one GET to 127.0.0.1:port (directly: no HTTP proxy from the environment)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target, headers={"Connection": "close"})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def start_php(tmp, procs, env, settings):
    """php -S on a free loopback port with tmp/www as the document root; returns the URL."""
    docroot = os.path.join(tmp, "www")
    os.makedirs(docroot, exist_ok=True)
    link = os.path.join(docroot, "mailport-bench.php")
    if not os.path.lexists(link):
        os.symlink(ENDPOINT, link)
    for _attempt in range(5):
        port = free_port()
        logfile = os.path.join(tmp, "php-server.log")
        with open(logfile, "a") as out:
            proc = procs.start("php -S", ["php", *settings, "-S", f"127.0.0.1:{port}", "-t", docroot],
                               env=env, cwd=docroot, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            url = f"http://127.0.0.1:{port}/mailport-bench.php"
            status, body = get(port, "/mailport-bench.php?mode=none&n=0")
            if status != 200 or body != "loaded":
                raise SetupError(f"{url}?mode=none answered {status}: {body.strip()[:2000]}")
            return url
        with open(logfile, errors="replace") as f:
            text = f.read()
        if "Address already in use" not in text:
            raise SetupError(f"php -S exited with {proc.returncode}:\n{text[-3000:]}")
    raise SetupError("php -S found no free port")


def report_php_log(tmp):
    path = os.path.join(tmp, "php-errors.log")
    if not os.path.exists(path):
        return
    with open(path, errors="replace") as f:
        lines = [line.rstrip() for line in f if line.strip()]
    if lines:
        log(f"PHP logged {len(lines)} line(s) in php-errors.log, e.g.:")
        for line in lines[:5]:
            print("    " + line[:300], file=sys.stderr)


def wait_until_told_to_stop(php, watch_stdin):
    fds = [sys.stdin.fileno()] if watch_stdin else []
    while True:
        if php.poll() is not None:
            raise SetupError(f"php -S exited with {php.returncode}")
        ready, _, _ = select.select(fds, [], [], 0.5)
        if ready:
            try:
                data = os.read(fds[0], 4096)
            except OSError:
                data = b""
            if not data:
                return                          # stdin closed: the parent is gone


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", default=os.environ.get("MAILPORT_LIBRARY"),
                        help="libmailport.so (default: $MAILPORT_LIBRARY)")
    parser.add_argument("--ca", default=os.environ.get("MAILPORT_WP_BENCH_CA"),
                        help="PEM file of the SMTP sink's CA")
    parser.add_argument("--user", default=os.environ.get("MAILPORT_WP_BENCH_USER", "bench"))
    parser.add_argument("--password", default=os.environ.get("MAILPORT_WP_BENCH_PASSWORD", "secret"))
    parser.add_argument("--ffi", choices=("preload", "cdef"), default="preload")
    parser.add_argument("--ignore-stdin", action="store_true",
                        help="keep running when standard input closes")
    args = parser.parse_args()

    def on_signal(signum, _frame):
        raise Stop(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    procs = Processes()
    tmp = None
    keep = os.environ.get("MAILPORT_WP_BENCH_KEEP") == "1"
    code = 0
    try:
        try:
            if not args.library or not os.path.isfile(args.library):
                raise SetupError(f"libmailport not found: {args.library!r} (--library or MAILPORT_LIBRARY)")
            if not args.ca or not os.path.isfile(args.ca):
                raise SetupError(f"CA file not found: {args.ca!r} (--ca)")
            library = os.path.abspath(args.library)
            check_wordpress()
            check_php()
            tmp = tempfile.mkdtemp(prefix="mailport-wp-bench.")
            os.chmod(tmp, 0o700)
            sock = start_mariadb(tmp, procs)
            themes = os.path.join(abspath(), "wp-content", "themes")
            wp = WordPress(tmp, sock, library, mu_plugins=[MU_PLUGIN],
                           themes=themes if os.path.isdir(themes) else None)
            res = wp.install()
            if not (res and res.get("ok")):
                raise SetupError(f"installing WordPress or activating the plugin failed: {res}")
            # The install step's WP_DEBUG log (WordPress's own deprecations under PHP 8.2) is kept
            # apart: php-errors.log is then what the server's requests logged.
            if os.path.exists(os.path.join(tmp, "php-errors.log")):
                os.rename(os.path.join(tmp, "php-errors.log"), os.path.join(tmp, "install-errors.log"))
            env = dict(wp.env)
            env.pop("PHP_CLI_SERVER_WORKERS", None)    # one worker process
            env.update({
                "MAILPORT_WP_BENCH_USER": args.user,
                "MAILPORT_WP_BENCH_PASSWORD": args.password,
                "MAILPORT_WP_BENCH_CA": os.path.abspath(args.ca),
            })
            if args.ffi == "cdef":
                env["MAILPORT_WP_BENCH_LIBRARY"] = library
            url = start_php(tmp, procs, env, php_settings(tmp, library, args.ffi))
        except (SetupError, OSError, http.client.HTTPException) as e:
            print(f"FAIL {e}".replace("\n", " | "), flush=True)
            code = 2
            return code
        errors = os.path.join(tmp, "php-errors.log")
        print(f"READY url={url} errors={errors}", flush=True)
        php = [p for name, p in procs.procs if name == "php -S"][-1]
        try:
            wait_until_told_to_stop(php, not args.ignore_stdin)
        except SetupError as e:
            log(str(e))
            code = 1
    except Stop:
        pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        procs.stop_all()
        if tmp:
            report_php_log(tmp)
            if keep:
                log(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
