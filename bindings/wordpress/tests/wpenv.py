"""A throwaway WordPress with a throwaway MariaDB, in one temporary directory.

Shared by the plugin's end-to-end test (tests/e2e.py) and the WordPress benchmark's server
(benches/wordpress/serve.py): both import this module. Nothing here touches root-owned
configuration; it works as root or as any other user:

  - start_mariadb(): mariadb-install-db into <tmp>/mysql, mariadbd on <tmp>/mysqld.sock with
    --skip-networking; an --init-file creates the database and its user;
  - WordPress(): Debian's WordPress (/usr/share/wordpress, or MAILPORT_E2E_ABSPATH) loaded by
    tests/wp-bootstrap.php in place of wp-config.php, WP_CONTENT_DIR in <tmp>/wp-content with the
    plugin symlinked into its plugins directory; WordPress.run("install", installing=True) runs
    tests/scenario.php's install step (wp_install() and activate_plugin());
  - Processes: every process started, stopped by its pid at the end (and, should the Python
    process die without stopping them, sent SIGTERM by the kernel: PR_SET_PDEATHSIG on Linux).
"""

import ctypes
import json
import os
import pwd
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))        # bindings/wordpress/tests
PLUGIN_ROOT = os.path.dirname(HERE)                      # bindings/wordpress
REPO = os.path.dirname(os.path.dirname(PLUGIN_ROOT))     # the mailport checkout
PLUGIN_DIR = os.path.join(PLUGIN_ROOT, "mailport")
BOOTSTRAP = os.path.join(HERE, "wp-bootstrap.php")
SCENARIO = os.path.join(HERE, "scenario.php")

DB_NAME = "wordpress_e2e"
DB_USER = "wp_e2e"
DB_PASS = "wp-e2e-password"

VERBOSE = os.environ.get("MAILPORT_E2E_VERBOSE") == "1"
PHP_TIMEOUT = 30   # seconds one step (one PHP process) may take; each takes well under 1 s


class SetupError(Exception):
    pass


def abspath():
    """The WordPress tree: MAILPORT_E2E_ABSPATH or Debian's /usr/share/wordpress/."""
    return os.environ.get("MAILPORT_E2E_ABSPATH") or "/usr/share/wordpress/"


def check_wordpress():
    """Raise SetupError unless WordPress and the plugin are where they should be."""
    if not os.path.isfile(os.path.join(PLUGIN_DIR, "mailport.php")):
        raise SetupError(f"{PLUGIN_DIR}/mailport.php not found")
    if not os.path.isfile(os.path.join(abspath(), "wp-settings.php")):
        raise SetupError(f"WordPress not found in {abspath()} (apt-get install wordpress)")


def find_tool(*names):
    for name in names:
        for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/usr/bin", "/sbin"]:
            p = os.path.join(d, name)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    raise SetupError(f"none of {', '.join(names)} found (install mariadb-server)")


def wait_for(predicate, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            tail = ""
            if log and os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = "".join(f.readlines()[-20:])
            raise SetupError(f"{what}: the process exited with {proc.returncode}\n{tail}")
        time.sleep(0.05)
    raise SetupError(f"{what}: not ready after {timeout} s")


try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """In the child, before exec: SIGTERM when the process that started it dies (Linux)."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


class Processes:
    """Every process this script starts, stopped (by its pid) at the end."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, **kw):
        proc = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
        self.procs.append((name, proc))
        return proc

    def stop_all(self, timeout=15):
        for name, proc in reversed(self.procs):
            if proc.poll() is not None:
                continue
            try:
                if proc.stdin:
                    proc.stdin.close()
            except OSError:
                pass
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"note: {name} (pid {proc.pid}) ignored SIGTERM, killing it", file=sys.stderr)
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()


def start_mariadb(tmp, procs):
    """A throwaway mariadbd for DB_NAME/DB_USER on a unix socket in tmp; returns the socket path."""
    user = pwd.getpwuid(os.getuid()).pw_name
    datadir = os.path.join(tmp, "mysql")
    sock = os.path.join(tmp, "mysqld.sock")
    if len(sock.encode()) > 100:
        raise SetupError(f"socket path too long for a unix socket: {sock} (set TMPDIR to a shorter directory)")
    log = os.path.join(tmp, "mariadb.log")
    install_db = find_tool("mariadb-install-db", "mysql_install_db")
    mariadbd = find_tool("mariadbd", "mysqld")

    # --no-defaults: none of /etc/mysql's settings (log paths, sockets, the mysql user) apply.
    r = subprocess.run(
        [install_db, "--no-defaults", f"--datadir={datadir}", f"--user={user}",
         "--auth-root-authentication-method=socket", "--skip-test-db",
         "--skip-name-resolve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise SetupError(f"mariadb-install-db failed ({r.returncode}):\n{r.stdout}")

    init = os.path.join(tmp, "init.sql")
    with open(init, "w") as f:
        f.write(f"CREATE DATABASE IF NOT EXISTS `{DB_NAME}` CHARACTER SET utf8mb4;\n"
                f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASS}';\n"
                f"GRANT ALL PRIVILEGES ON `{DB_NAME}`.* TO '{DB_USER}'@'localhost';\n")
    argv = [mariadbd, "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
            "--skip-networking", f"--pid-file={os.path.join(tmp, 'mysqld.pid')}",
            f"--log-error={log}", f"--user={user}", f"--init-file={init}",
            "--skip-log-bin", "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M",
            "--skip-name-resolve", f"--tmpdir={tmp}"]
    proc = procs.start("mariadbd", argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def can_log_in():
        if not os.path.exists(sock):
            return False
        r = subprocess.run(
            ["php", "-r",
             "mysqli_report(MYSQLI_REPORT_OFF);"
             "$c=@mysqli_connect('localhost',$argv[1],$argv[2],$argv[3],0,$argv[4]);"
             "exit($c?0:1);", DB_USER, DB_PASS, DB_NAME, sock],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    wait_for(can_log_in, 30, "mariadbd", proc, log)
    return sock


class WordPress:
    """WordPress in tmp: content directory, environment for wp-bootstrap.php, and run(STEP).

    mu_plugins: files to symlink into <tmp>/wp-content/mu-plugins; themes: a themes directory to
    symlink as <tmp>/wp-content/themes (none by default: WordPress then loads no theme)."""

    def __init__(self, tmp, sock, library, mu_plugins=(), themes=None):
        self.tmp = tmp
        self.library = library
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("MAILPORT_"):
                del self.env[k]                 # only wp-config constants configure the plugin
        self.env.update({
            "MAILPORT_E2E_DIR": tmp,
            "MAILPORT_E2E_DB_SOCKET": sock,
            "MAILPORT_E2E_DB_NAME": DB_NAME,
            "MAILPORT_E2E_DB_USER": DB_USER,
            "MAILPORT_E2E_DB_PASSWORD": DB_PASS,
        })
        if os.environ.get("MAILPORT_E2E_ABSPATH"):
            self.env["MAILPORT_E2E_ABSPATH"] = os.environ["MAILPORT_E2E_ABSPATH"]
        content = os.path.join(tmp, "wp-content")
        plugins = os.path.join(content, "plugins")
        os.makedirs(plugins)
        os.makedirs(os.path.join(content, "uploads"))
        os.symlink(PLUGIN_DIR, os.path.join(plugins, "mailport"))
        if mu_plugins:
            mu = os.path.join(content, "mu-plugins")
            os.makedirs(mu)
            for path in mu_plugins:
                os.symlink(os.path.abspath(path), os.path.join(mu, os.path.basename(path)))
        if themes:
            os.symlink(themes, os.path.join(content, "themes"))

    def run(self, step, constants=None, args=None, installing=False, plugin_dir=None, php_settings=()):
        """`php tests/scenario.php STEP` with these wp-config constants: (RESULT json or None, the
        CompletedProcess or None)."""
        env = dict(self.env)
        if plugin_dir:
            env["MAILPORT_E2E_PLUGIN_DIR"] = plugin_dir
        env["MAILPORT_E2E_CONSTANTS"] = json.dumps(constants or {})
        if installing:
            env["MAILPORT_E2E_INSTALLING"] = "1"
        argv = ["php", "-d", "display_errors=stderr", "-d", "error_reporting=E_ALL & ~E_DEPRECATED",
                "-d", "ffi.enable=preload", *php_settings,
                SCENARIO, step, json.dumps(args or {})]
        started = time.monotonic()
        try:
            r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=PHP_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            print(f"--- php scenario.php {step}: killed after {PHP_TIMEOUT} s", file=sys.stderr)
            for name, out in (("stdout", e.stdout), ("stderr", e.stderr)):
                if out:
                    out = out.decode(errors="replace") if isinstance(out, bytes) else out
                    print(f"{name}:\n" + out.rstrip(), file=sys.stderr)
            return None, None
        took = time.monotonic() - started
        result = None
        for line in r.stdout.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
        if result is None or r.returncode != 0 or VERBOSE:
            print(f"--- php scenario.php {step}: exit {r.returncode}, {took:.2f} s", file=sys.stderr)
            if r.stdout.strip():
                print("stdout:\n" + r.stdout.rstrip(), file=sys.stderr)
            if r.stderr.strip():
                print("stderr:\n" + r.stderr.rstrip(), file=sys.stderr)
        return result, r

    def install(self):
        """wp_install() and activate_plugin('mailport/mailport.php'); the RESULT (None on failure)."""
        res, _ = self.run("install", installing=True)
        return res
