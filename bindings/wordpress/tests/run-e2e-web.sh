#!/usr/bin/env bash
# End-to-end test of the mailport WordPress plugin on php-fpm + nginx, with the admin screens in
# headless Chromium (see tests/e2e_web.py for what it does).
#
# Usage (from anywhere, e.g. the repository root):  bindings/wordpress/tests/run-e2e-web.sh
#
# Needs what run-e2e.sh needs (php-cli with FFI and mysqli, mariadb-server, wordpress, python3
# with aiosmtpd and trustme, cargo) and: php8.2-fpm, nginx, chromium, chromium-driver (Debian's)
# and selenium (PyPI). Nothing is downloaded and no system configuration is changed: every
# configuration file, socket and log is in one temporary directory, removed at the end with
# every process the test started. Screenshots go to $MAILPORT_E2E_ARTIFACTS or
# <repo>/target/wordpress-screens.
#
# Environment: MAILPORT_E2E_SKIP_BUILD=1 skips `cargo build -p mailport`; MAILPORT_E2E_LIBRARY,
# MAILPORT_E2E_KEEP, MAILPORT_E2E_VERBOSE, MAILPORT_E2E_ABSPATH, MAILPORT_E2E_ARTIFACTS: see
# tests/e2e_web.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

for tool in php python3 php-fpm8.2 nginx chromium chromedriver; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
        { echo "FAIL setup: $tool not found" >&2; exit 2; }
done

if [[ "${MAILPORT_E2E_SKIP_BUILD:-}" != 1 && -z "${MAILPORT_E2E_LIBRARY:-}" ]]; then
    echo "# cargo build -p mailport"
    (cd "$repo" && cargo build -p mailport --quiet)
fi

exec python3 "$here/e2e_web.py" "$@"
