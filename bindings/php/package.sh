#!/usr/bin/env bash
# Assemble the Composer package mailport/mailport with libmailport bundled for linux x86_64.
#
# Usage: bindings/php/package.sh OUT_DIR [--library=PATH]
#   writes OUT_DIR/mailport-php/ (replacing an earlier one) and prints its path as the last line.
#   Install it in a project with a path repository:
#     composer config repositories.mailport path OUT_DIR/mailport-php
#     composer require mailport/mailport
#
# The package holds the binding (src/, autoload.php, preload.php, bin/, examples/), the FFI
# declarations (include/mailport_ffi.h), and lib/linux-x86_64/libmailport.so.1: the library
# packaging/portable-lib.sh builds for glibc 2.17 (manylinux2014), so it loads on EL7/EL8-era
# hosts too. Mailport\Native loads that copy when MAILPORT_LIBRARY is not set, so the package
# works after `composer require` with no configuration; on other platforms it looks for the
# system's libmailport.so.1. lib/SHA256SUMS lets anyone (and the WordPress plugin, which ships
# this package in vendor/mailport) check the library: `cd mailport-php && sha256sum -c lib/SHA256SUMS`.
#
# --library=PATH bundles that libmailport.so instead of building one (it must have the SONAME
# libmailport.so.<ABI> of include/mailport.h).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() { echo "package.sh: $*" >&2; exit 1; }
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

out=""
library=""
for arg in "$@"; do
    case "$arg" in
        --library=*) library="${arg#--library=}" ;;
        -h|--help) usage ;;
        -*) echo "package.sh: unknown option $arg" >&2; usage ;;
        *) [[ -z "$out" ]] || { echo "package.sh: more than one OUT_DIR ($out, $arg)" >&2; usage; }
           out="$arg" ;;
    esac
done
[[ -n "$out" ]] || usage

for f in "$here/composer.json" "$here/autoload.php" "$here/preload.php" "$repo/include/mailport_ffi.h" "$repo/include/mailport.h"; do
    [[ -f "$f" ]] || fail "$f is missing"
done
command -v php >/dev/null || fail "php is not installed (it writes the package's composer.json)"
command -v sha256sum >/dev/null || fail "sha256sum is not installed (coreutils)"
command -v objdump >/dev/null || fail "objdump is not installed: apt-get install binutils"

abi="$(sed -n 's/^#define MAILPORT_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$repo/include/mailport.h")"
[[ -n "$abi" ]] || fail "no MAILPORT_ABI_VERSION in include/mailport.h"
version="$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$repo/Cargo.toml" | head -n 1)"
[[ -n "$version" ]] || fail "no [package] version in Cargo.toml"

if [[ -z "$library" ]]; then
    # Its logs go to stderr; the library's path is the last line of stdout.
    library="$("$repo/packaging/portable-lib.sh" | tail -n 1)"
fi
[[ -f "$library" ]] || fail "library $library does not exist"
soname="$(objdump -p "$library" | awk '$1 == "SONAME" { print $2 }')"
[[ "$soname" == "libmailport.so.$abi" ]] ||
    fail "$library has SONAME '$soname', not libmailport.so.$abi: it is not a libmailport of this release's ABI"
machine="$(objdump -f "$library" | sed -n 's/.*file format \(.*\)$/\1/p')"
[[ "$machine" == "elf64-x86-64" ]] || fail "$library is $machine, not an x86_64 ELF library"

mkdir -p "$out"
dest="$(cd "$out" && pwd)/mailport-php"
rm -rf "$dest"
mkdir -p "$dest/include" "$dest/lib/linux-x86_64"
cp -R "$here/src" "$here/bin" "$here/examples" "$dest/"
cp "$here/autoload.php" "$here/preload.php" "$here/README.md" "$dest/"
cp "$repo/include/mailport_ffi.h" "$dest/include/"
cp "$library" "$dest/lib/linux-x86_64/libmailport.so.$abi"
chmod 0644 "$dest/lib/linux-x86_64/libmailport.so.$abi"
(cd "$dest" && sha256sum "lib/linux-x86_64/libmailport.so.$abi" > lib/SHA256SUMS)

# The checkout's composer.json, with the release's version (a path repository has no tag to
# take it from) and without what only the checkout has (the tests).
php -r '
    $json = json_decode(file_get_contents($argv[1]), true, 32, JSON_THROW_ON_ERROR);
    $json = ["name" => $json["name"], "version" => $argv[2]] + $json;
    unset($json["autoload-dev"]);
    file_put_contents($argv[3], json_encode($json, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
' "$here/composer.json" "$version" "$dest/composer.json"

echo "package.sh: mailport/mailport $version (ABI $abi) with $(basename "$library") for linux-x86_64 in $dest" >&2
echo "$dest"
