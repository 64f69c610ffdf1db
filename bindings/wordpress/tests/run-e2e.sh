#!/usr/bin/env bash
# End-to-end test of the mailport WordPress plugin (see tests/e2e.py for what it does).
#
# Usage (from anywhere, e.g. the repository root):  bindings/wordpress/tests/run-e2e.sh
#
# Needs: php-cli (with FFI, mysqli), mariadb-server, wordpress (Debian's, in /usr/share/wordpress),
# python3 with aiosmtpd and trustme, cargo, and for the plugin zip: zip, gcc, and cargo-zigbuild
# with zig (packaging/portable-lib.sh builds the bundled library; .ci/run installs them). Works as root or not; changes no system configuration:
# everything (database, WordPress content directory, SMTP spool) lives in one temporary directory
# that is removed at the end along with every process the test started.
#
# Environment: MAILPORT_E2E_SKIP_BUILD=1 skips `cargo build -p mailport`; MAILPORT_E2E_LIBRARY,
# MAILPORT_E2E_KEEP, MAILPORT_E2E_VERBOSE, MAILPORT_E2E_ABSPATH: see tests/e2e.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

for tool in php python3; do
    command -v "$tool" >/dev/null || { echo "FAIL setup: $tool not found" >&2; exit 2; }
done

if [[ "${MAILPORT_E2E_SKIP_BUILD:-}" != 1 && -z "${MAILPORT_E2E_LIBRARY:-}" ]]; then
    echo "# cargo build -p mailport"
    (cd "$repo" && cargo build -p mailport --quiet)
fi

exec python3 "$here/e2e.py" "$@"
