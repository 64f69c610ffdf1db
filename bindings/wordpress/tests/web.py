"""A throwaway WordPress served the way production sites serve it: php-fpm behind nginx.

tests/wpenv.py gives the database and the content directory; this module puts a web server in
front of them, on 127.0.0.1:<free port>, with every configuration file, socket, pid file, log and
temporary path inside the test's temporary directory (nothing under /etc is written), as root or
not:

  - <tmp>/web/wordpress: a copy of the WordPress tree (hard links, `cp -al`, or a plain copy
    across file systems). Debian's own wp-config.php there reads /etc/wordpress, so the copy gets
    its own wp-config.php, which sets WP_HOME, WP_SITEURL and WP_CONTENT_URL to this server's
    address and loads tests/wp-bootstrap.php (ABSPATH = the copy, through MAILPORT_E2E_ABSPATH);
  - php-fpm8.2 -F -y <tmp>/web/php-fpm.conf (-R and workers as root when run as root): one pool
    on a unix socket, clear_env=no so that the pool's workers see what wp-bootstrap.php reads
    (MAILPORT_E2E_CONSTANTS: the wp-config constants), and the PHP settings given per start as
    `-d` on the master's command line, because preloading (opcache.preload, ffi.preload) happens
    in the master before any pool starts and a pool's php_admin_value comes too late for it;
  - nginx -p <tmp>/web/nginx: PHP to php-fpm, /wp-content/ from the content directory, the rest
    from the copy.

WebSite.restart() starts php-fpm again with other settings or constants; nginx, and so the
address, stays. On a failure, WebSite.logs() returns the tails of php-fpm's and nginx's logs.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

from wpenv import BOOTSTRAP, REPO, SetupError, find_tool, wait_for

BINDING = os.path.join(REPO, "bindings", "php")

# PHP's own default for ffi.enable: FFI only in the CLI and in preloaded code.
STOCK = {}


def preload_settings(tmp, library):
    """The preload set-up the plugin's README recommends for php-fpm: opcache.preload of the
    binding's preload.php and ffi.preload of a header naming the library (so the FFI scope, and
    the library, are chosen at server start and no MAILPORT_LIBRARY constant is needed)."""
    header = os.path.join(tmp, "mailport-ffi-preload.h")
    r = subprocess.run(["php", os.path.join(BINDING, "bin", "mailport-ffi-header.php"), header,
                        f"--library={library}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise SetupError(f"bin/mailport-ffi-header.php failed ({r.returncode}): {r.stdout.strip()}")
    settings = {
        "opcache.enable": "1",
        "opcache.preload": os.path.join(BINDING, "preload.php"),
        "ffi.preload": header,
    }
    if os.getuid() == 0:
        # PHP refuses to preload as root unless told which user to preload as.
        settings["opcache.preload_user"] = "root"
    return settings


def copy_tree(src, dst):
    """Hard links where src and dst share a file system (fast, no space), a copy otherwise.
    Nothing may ever be written through these links: files are replaced by unlinking first."""
    r = subprocess.run(["cp", "-al", src, dst], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode == 0:
        return "hard links"
    shutil.rmtree(dst, ignore_errors=True)
    r2 = subprocess.run(["cp", "-a", src, dst], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r2.returncode != 0:
        raise SetupError(f"cannot copy {src} to {dst}: cp -al said {r.stdout.strip()}; cp -a said {r2.stdout.strip()}")
    return "a copy"


def replace_file(path, text):
    """Write path without writing through a hard link to the original tree."""
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w") as f:
        f.write(text)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def php_quote(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


WP_CONFIG = """<?php
// Written by bindings/wordpress/tests/web.py: WordPress as served by nginx + php-fpm on this
// test's own address; the rest of the configuration is tests/wp-bootstrap.php's.
$mailport_wp_constants = [
    'WP_HOME' => {home},
    'WP_SITEURL' => {home},
    'WP_CONTENT_URL' => {content_url},
];
require {bootstrap};
"""

FPM_CONF = """[global]
pid = {dir}/php-fpm.pid
error_log = {dir}/php-fpm.log
log_level = notice
daemonize = no

[mailport-e2e]
{user}listen = {dir}/php-fpm.sock
pm = static
; Two workers: a request may be served by either, so nothing may depend on one worker's state.
pm.max_children = 2
; The environment of php-fpm itself (wp-bootstrap.php's MAILPORT_E2E_*) reaches the workers.
clear_env = no
catch_workers_output = yes
decorate_workers_output = no
request_terminate_timeout = 60s
php_admin_value[error_log] = {tmp}/php-errors.log
php_admin_flag[log_errors] = on
php_admin_flag[display_errors] = off
php_admin_value[upload_tmp_dir] = {dir}/uploads-tmp
php_admin_value[sys_temp_dir] = {dir}/php-tmp
php_admin_value[session.save_path] = {dir}/php-tmp
"""

NGINX_CONF = """# Written by bindings/wordpress/tests/web.py.
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log notice;
daemon off;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/client-body;
    fastcgi_temp_path {dir}/fastcgi;
    proxy_temp_path {dir}/proxy;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 32m;
    server {{
        listen 127.0.0.1:{port};
        server_name 127.0.0.1;
        root {root};
        index index.php;
        location /wp-content/ {{
            alias {content}/;
            # Plugin files are included by WordPress, never requested directly.
            location ~ \\.php$ {{ return 403; }}
        }}
        location / {{
            try_files $uri $uri/ /index.php?$args;
        }}
        location ~ \\.php$ {{
            try_files $uri =404;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass unix:{fpm_socket};
            fastcgi_read_timeout 90s;
        }}
    }}
}}
"""


class WebSite:
    """WordPress (a wpenv.WordPress) served by php-fpm + nginx on 127.0.0.1:PORT.

    start(settings, constants): php-fpm with these PHP settings (a dict, `-d` on the master:
    STOCK for PHP's defaults, or preload_settings()) and these wp-config constants (a dict, as
    wp.run takes them); restart(...) the same with others. stop() ends both servers."""

    def __init__(self, wp, procs):
        self.wp = wp
        self.procs = procs
        self.dir = os.path.join(wp.tmp, "web")
        self.root = os.path.join(self.dir, "wordpress")
        self.content = os.path.join(wp.tmp, "wp-content")
        self.fpm_bin = find_tool("php-fpm8.2", "php-fpm")
        self.nginx_bin = find_tool("nginx")
        self.fpm = None
        self.nginx = None
        self.port = None
        self.settings = {}
        self.constants = {}
        # Environment for php-fpm only (not for the CLI steps), e.g. MAILPORT_E2E_WEB_TOKEN.
        self.extra_env = {}
        for sub in ("", "uploads-tmp", "php-tmp", "nginx"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.copied_with = copy_tree(abspath_of(wp), self.root)
        # The CLI steps (scenario.php) load the same tree as the web requests.
        wp.env["MAILPORT_E2E_ABSPATH"] = self.root + "/"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, settings=None, constants=None):
        self.settings = dict(settings or {})
        self.constants = dict(constants or {})
        for attempt in range(5):
            self.port = free_port()
            self._write_wp_config()
            self._start_fpm()
            try:
                self._start_nginx()
                return self
            except PortTaken:
                self._stop_fpm()
                continue
        raise SetupError("nginx found no free port in 5 attempts")

    def restart(self, settings=None, constants=None):
        """php-fpm again with other settings and constants; nginx (and the address) stays."""
        self._stop_fpm()
        self.settings = dict(settings if settings is not None else self.settings)
        self.constants = dict(constants if constants is not None else self.constants)
        self._start_fpm()
        self._wait_for_php()
        return self

    def stop(self):
        for name in ("nginx", "fpm"):
            proc = getattr(self, name)
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            setattr(self, name, None)

    # --- php-fpm ------------------------------------------------------------------------------

    def _write_wp_config(self):
        replace_file(os.path.join(self.root, "wp-config.php"), WP_CONFIG.format(
            home=php_quote(self.url), content_url=php_quote(self.url + "/wp-content"),
            bootstrap=php_quote(BOOTSTRAP)))

    def _start_fpm(self):
        conf = os.path.join(self.dir, "php-fpm.conf")
        root = os.getuid() == 0
        with open(conf, "w") as f:
            f.write(FPM_CONF.format(dir=self.dir, tmp=self.wp.tmp,
                                    user="user = root\ngroup = root\n" if root else ""))
        sock = os.path.join(self.dir, "php-fpm.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        env = dict(self.wp.env, **self.extra_env)
        env["MAILPORT_E2E_CONSTANTS"] = json.dumps(self.constants)
        argv = [self.fpm_bin, "-F", "-O", "-y", conf, "-p", self.dir]
        if root:
            argv.append("-R")
        for key, value in self.settings.items():
            argv += ["-d", f"{key}={value}"]
        log = os.path.join(self.dir, "php-fpm.stderr")
        with open(log, "a") as out:
            out.write(f"--- {' '.join(argv)}\n")
            out.flush()
            self.fpm = self.procs.start("php-fpm", argv, env=env, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=out)
        wait_for(lambda: os.path.exists(sock), 30, "php-fpm", self.fpm, log)

    def _stop_fpm(self):
        if self.fpm is not None and self.fpm.poll() is None:
            self.fpm.terminate()
            try:
                self.fpm.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.fpm.kill()
                self.fpm.wait(timeout=5)
        self.fpm = None

    # --- nginx --------------------------------------------------------------------------------

    def _start_nginx(self):
        ndir = os.path.join(self.dir, "nginx")
        conf = os.path.join(ndir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=ndir, fpm_socket=os.path.join(self.dir, "php-fpm.sock"),
                                      port=self.port, root=self.root, content=self.content,
                                      user="user root root;\n" if os.getuid() == 0 else ""))
        log = os.path.join(ndir, "nginx-error.log")
        # -e: the error log before the configuration is read (the default is /var/log/nginx).
        argv = [self.nginx_bin, "-p", ndir + "/", "-c", conf, "-e", log]
        with open(os.path.join(ndir, "nginx.stderr"), "a") as out:
            self.nginx = self.procs.start("nginx", argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)

        def listening():
            # Not while nginx is exiting: the port may be someone else's (see PortTaken).
            if self.nginx.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        try:
            wait_for(listening, 30, "nginx", self.nginx, log)
        except SetupError as e:
            if "Address already in use" in str(e):
                raise PortTaken() from e
            raise
        self._wait_for_php()

    def _wait_for_php(self):
        """Until a request through nginx reaches WordPress (/wp-login.php answers 200)."""
        deadline = time.monotonic() + 30
        last = None
        while time.monotonic() < deadline:
            try:
                status, _headers, body = self.request("GET", "/wp-login.php")
                if status == 200 and "user_login" in body:
                    return
                last = f"{status}: {body[:500]}"
            except OSError as e:
                last = str(e)
            time.sleep(0.2)
        raise SetupError(f"WordPress did not answer through nginx + php-fpm at {self.url}/wp-login.php: "
                         f"{last}\n{self.logs()}")

    # --- requests and logs --------------------------------------------------------------------

    def request(self, method, target, body=None, headers=None, timeout=90):
        """(status, headers, text) of one request to this server (directly: no proxy)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, target, body=body, headers=dict({"Connection": "close"}, **(headers or {})))
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode(errors="replace")
        finally:
            conn.close()

    def post_multipart(self, target, fields, files):
        """POST fields ({name: text}) and files ({name: (filename, bytes, type)}) as a browser's
        form does (multipart/form-data)."""
        boundary = "mailport-e2e-" + os.urandom(8).hex()
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                         + str(value).encode() + b"\r\n")
        for name, (filename, data, ctype) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", target, body=body,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def logs(self, lines=15):
        """The tails of php-fpm's and nginx's logs (and PHP's error log), for a failure report."""
        out = []
        for path in (os.path.join(self.dir, "php-fpm.log"), os.path.join(self.dir, "php-fpm.stderr"),
                     os.path.join(self.dir, "nginx", "nginx-error.log"),
                     os.path.join(self.dir, "nginx", "nginx.stderr"),
                     os.path.join(self.wp.tmp, "php-errors.log")):
            if os.path.exists(path) and os.path.getsize(path):
                with open(path, errors="replace") as f:
                    tail = f.readlines()[-lines:]
                out.append(f"--- {path} (last {len(tail)} lines)\n" + "".join(tail).rstrip())
        return "\n".join(out) or "(php-fpm and nginx logged nothing)"


class PortTaken(Exception):
    """nginx could not bind the free port found a moment before: another process took it."""


def abspath_of(wp):
    return (wp.env.get("MAILPORT_E2E_ABSPATH") or os.environ.get("MAILPORT_E2E_ABSPATH")
            or "/usr/share/wordpress/").rstrip("/")


def query(**params):
    return "?" + urllib.parse.urlencode(params)
