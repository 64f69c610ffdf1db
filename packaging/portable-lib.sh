#!/usr/bin/env bash
# Build libmailport.so for the oldest glibc the shipped packages support, and print its path.
#
#   packaging/portable-lib.sh        the library's absolute path is the last line of stdout
#
# A library built on this machine needs the glibc it was built with (2.34 or later here), so it
# would not load on EL8/CentOS-era hosts that still run many WordPress sites. The wheel, the
# Composer package and the WordPress plugin ship this build instead: linux x86_64 against glibc
# 2.17 (the manylinux2014 baseline), linked by zig's cc through cargo-zigbuild, the way maturin
# builds manylinux wheels without a container. .ci/run installs both tools at the versions below.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
GLIBC=2.17
ZIGBUILD_VERSION=0.19.8
ZIGLANG_VERSION=0.13.0

fail() { echo "portable-lib: $*" >&2; exit 1; }

command -v cargo-zigbuild >/dev/null 2>&1 ||
  fail "cargo-zigbuild is not installed: cargo install cargo-zigbuild --version $ZIGBUILD_VERSION --locked"
python3 -c 'import ziglang' 2>/dev/null ||
  fail "zig is not installed: python3 -m pip install ziglang==$ZIGLANG_VERSION"
command -v objdump >/dev/null 2>&1 || fail "objdump is not installed: apt-get install binutils"

# Its own target directory: a development build in target/ stays as it is.
cargo zigbuild --release -p mailport --target "$TARGET.$GLIBC" --target-dir target/portable >&2
lib="$PWD/target/portable/$TARGET/release/libmailport.so"
[ -f "$lib" ] || fail "the build wrote no $lib"

# Check what the build promises rather than trust it: no symbol from a glibc newer than the
# baseline, and the SONAME of this ABI generation.
newest=$(objdump -T "$lib" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tail -n 1)
if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC" | sort -V | tail -n 1)" != "$GLIBC" ]; then
  fail "$lib needs glibc $newest, newer than the $GLIBC baseline"
fi
abi=$(sed -n 's/^#define MAILPORT_ABI_VERSION \([0-9][0-9]*\)$/\1/p' include/mailport.h)
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = "libmailport.so.$abi" ] ||
  fail "$lib has SONAME '$soname', not libmailport.so.$abi (MAILPORT_ABI_VERSION in include/mailport.h)"

echo "portable-lib: $lib (x86_64, glibc >= $newest, SONAME $soname)" >&2
echo "$lib"
