#!/usr/bin/env python3
"""A throwaway MariaDB for mailport's tests: Debian's mariadbd (a server we did not write).

Started by tests/common/mariadb.rs. Creates a data directory in --dir with mariadb-install-db,
starts mariadbd on a unix socket there with networking off, creates the database and a user with
a password, and prints exactly one line

    READY {"socket": "/dir/mysqld.sock", "database": "mailport", "user": "mailport",
           "password": "...", "dir": "/dir"}

on stdout once that user can log in. Then it reads commands, one a line, from stdin:

    stop    stop mariadbd (SIGTERM, then wait); prints STOPPED
    start   start it again on the same data; prints READY ... again

With --tls NAME it also listens on 127.0.0.1 (a free port) with TLS, presenting a certificate for
NAME issued by a throwaway CA (trustme), and the READY line adds "port" and "ca" (the CA's PEM
file). Over TCP the user must use TLS (REQUIRE SSL), so a connection without it is refused.

and at EOF on stdin (the test process exited or dropped its handle), or on SIGTERM/SIGINT, it
stops mariadbd and removes --dir. mariadbd's own log is --dir/mariadb.log.

Only loopback: the socket in --dir, and with --tls 127.0.0.1 only.
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

DATABASE = "mailport"
USER = "mailport"
PASSWORD = "db-Pa55-w0rd"


def find_tool(*names):
    for name in names:
        for directory in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/usr/bin"]:
            path = os.path.join(directory, name)
            if os.access(path, os.X_OK):
                return path
    sys.stderr.write(f"none of {names} found: install mariadb-server (apt-get install mariadb-server)\n")
    sys.exit(2)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, directory, tls_name=None):
        self.tls_name = tls_name
        self.port = None
        self.dir = os.path.abspath(directory)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "mysqld.sock")
        self.log = os.path.join(self.dir, "mariadb.log")
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.proc = None
        if len(self.socket.encode()) > 100:
            sys.stderr.write(f"socket path too long for a unix socket: {self.socket} (set TMPDIR shorter)\n")
            sys.exit(2)

    def install(self):
        os.makedirs(self.dir, exist_ok=True)
        r = subprocess.run(
            [find_tool("mariadb-install-db", "mysql_install_db"), "--no-defaults",
             f"--datadir={self.datadir}", f"--user={self.user}",
             "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            sys.stderr.write(f"mariadb-install-db failed ({r.returncode}):\n{r.stdout}\n")
            sys.exit(2)
        with open(os.path.join(self.dir, "init.sql"), "w") as f:
            f.write(f"CREATE DATABASE IF NOT EXISTS `{DATABASE}` CHARACTER SET utf8mb4;\n"
                    f"CREATE USER IF NOT EXISTS '{USER}'@'localhost' IDENTIFIED BY '{PASSWORD}';\n"
                    f"GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{USER}'@'localhost';\n")
            if self.tls_name:
                f.write(f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}' "
                        f"REQUIRE SSL;\n"
                        f"GRANT ALL PRIVILEGES ON `{DATABASE}`.* TO '{USER}'@'127.0.0.1';\n")
        if self.tls_name:
            import trustme
            ca = trustme.CA()
            leaf = ca.issue_cert(self.tls_name)
            ca.cert_pem.write_to_path(os.path.join(self.dir, "ca.pem"))
            leaf.cert_chain_pems[0].write_to_path(os.path.join(self.dir, "server-cert.pem"))
            leaf.private_key_pem.write_to_path(os.path.join(self.dir, "server-key.pem"))
            self.port = free_port()

    def start(self):
        if self.tls_name:
            network = ["--bind-address=127.0.0.1", f"--port={self.port}",
                       f"--ssl-ca={os.path.join(self.dir, 'ca.pem')}",
                       f"--ssl-cert={os.path.join(self.dir, 'server-cert.pem')}",
                       f"--ssl-key={os.path.join(self.dir, 'server-key.pem')}"]
        else:
            network = ["--skip-networking"]
        argv = [find_tool("mariadbd", "mysqld"), "--no-defaults", f"--datadir={self.datadir}",
                f"--socket={self.socket}", *network,
                f"--pid-file={os.path.join(self.dir, 'mysqld.pid')}", f"--log-error={self.log}",
                f"--user={self.user}", f"--init-file={os.path.join(self.dir, 'init.sql')}",
                "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=32M",
                "--max-connections=300", "--skip-name-resolve", f"--tmpdir={self.dir}"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        client = find_tool("mariadb", "mysql")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.stderr.write(f"mariadbd exited ({self.proc.returncode}):\n{self.read_log()}\n")
                sys.exit(2)
            if os.path.exists(self.socket):
                r = subprocess.run(
                    [client, "--no-defaults", f"--socket={self.socket}", f"--user={USER}",
                     f"--password={PASSWORD}", "-e", "SELECT 1", DATABASE],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if r.returncode == 0:
                    ready = {"socket": self.socket, "database": DATABASE, "user": USER,
                             "password": PASSWORD, "dir": self.dir}
                    if self.tls_name:
                        ready["port"] = self.port
                        ready["ca"] = os.path.join(self.dir, "ca.pem")
                    print("READY " + json.dumps(ready), flush=True)
                    return
            time.sleep(0.1)
        sys.stderr.write(f"mariadbd did not accept the test user within 60 s:\n{self.read_log()}\n")
        self.stop()
        sys.exit(2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()[-4000:]
        except OSError:
            return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", metavar="NAME", help="also listen on 127.0.0.1 with TLS, as NAME")
    args = parser.parse_args()
    server = Server(args.dir, args.tls)

    def finish(*_):
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    server.install()
    server.start()
    for line in sys.stdin:
        command = line.strip()
        if command == "stop":
            server.stop()
            print("STOPPED", flush=True)
        elif command == "start":
            server.start()
        elif command:
            sys.stderr.write(f"unknown command {command!r}\n")
    finish()


if __name__ == "__main__":
    main()
