"""The frame shared by the test launchers that run a server for a test (dovecot_server.py,
postfix_server.py, oauth_server.py), as tests/common's launch() and the bindings' fixtures
drive them: the launcher prints one READY line of JSON on stdout once its server answers, then
serves until its stdin reaches EOF (the test dropped its handle or died), SIGTERM/SIGINT, or
its --max-lifetime, whichever comes first; then it stops its server.

    lifetime = Lifetime()          # early, so that a signal during the start is not lost
    ... start the server ...
    lifetime.ready({"port": ...})  # the READY line; from now on stdin is watched
    lifetime.wait(args.max_lifetime)
    ... stop the server ...
"""

import json
import os
import signal
import sys
import threading


class Lifetime:
    """When the launcher's server should stop. Create it in the main thread (it installs the
    SIGTERM and SIGINT handlers)."""

    def __init__(self):
        self._stop = threading.Event()

        def on_signal(_sig, _frame):
            self._stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def ready(self, fields):
        """Print the READY line with `fields` (JSON), then watch stdin for its end."""
        sys.stdout.write("READY " + json.dumps(fields) + "\n")
        sys.stdout.flush()
        threading.Thread(target=self._watch_stdin, daemon=True).start()

    def _watch_stdin(self):
        # os.read on the descriptor, not sys.stdin.buffer: a daemon thread blocked in the
        # buffered reader holds its lock, and the interpreter aborts at exit on it.
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        self._stop.set()

    def wait(self, max_lifetime):
        """Block until stdin ends, a signal comes, or `max_lifetime` seconds have passed (said
        on stderr, since a test that needs that long has lost its server)."""
        if not self._stop.wait(max_lifetime):
            sys.stderr.write(f"max lifetime of {max_lifetime} s reached; stopping\n")
