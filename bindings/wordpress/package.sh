#!/usr/bin/env bash
# Make the Mailport SMTP plugin zip, ready for Plugins > Add New > Upload Plugin or
# `wp plugin install mailport-<version>.zip --activate`.
#
# Usage: bindings/wordpress/package.sh OUT_DIR [--library=PATH]
#   creates OUT_DIR/mailport/ (replacing an earlier one) and OUT_DIR/mailport-<version>.zip, and
#   prints the zip's path as the last line.
#
# The plugin gets the Composer package that bindings/php/package.sh assembles, in
# vendor/mailport: the PHP binding, include/mailport_ffi.h, and libmailport for linux x86_64
# built for glibc 2.17 (packaging/portable-lib.sh) with its SHA-256 in lib/SHA256SUMS. The
# plugin checks that checksum and the library's ABI at activation, and whenever the file changes,
# before it lets the binding load the library (includes/library.php). On other platforms, install
# libmailport.so.1 where the system linker finds it, or define MAILPORT_LIBRARY in wp-config.php.
#
# --library=PATH bundles that libmailport.so instead of building one (see bindings/php/package.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

out=""
php_args=()
for arg in "$@"; do
    case "$arg" in
        --library=*) php_args+=("$arg") ;;
        -h|--help) usage ;;
        -*) echo "package.sh: unknown option $arg" >&2; usage ;;
        *) [[ -z "$out" ]] || { echo "package.sh: more than one OUT_DIR ($out, $arg)" >&2; usage; }
           out="$arg" ;;
    esac
done
[[ -n "$out" ]] || usage
command -v zip >/dev/null || { echo "package.sh: zip is not installed (apt-get install zip)" >&2; exit 1; }

mkdir -p "$out"
out="$(cd "$out" && pwd)"
dest="$out/mailport"
version="$(sed -n 's/^ \* Version: *//p' "$here/mailport/mailport.php" | head -n 1)"
[[ -n "$version" ]] || { echo "package.sh: no Version: line in mailport/mailport.php" >&2; exit 1; }

# The Composer package, assembled in a scratch directory and moved into the plugin.
scratch="$(mktemp -d "$out/.package.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
package="$("$repo/bindings/php/package.sh" "$scratch" "${php_args[@]}" | tail -n 1)"
[[ -f "$package/lib/SHA256SUMS" ]] || { echo "package.sh: $package has no lib/SHA256SUMS" >&2; exit 1; }

rm -rf "$dest"
mkdir -p "$dest"
cp -R "$here/mailport/." "$dest/"
rm -rf "$dest/vendor"  # a stale copy inside the source tree must not win
mkdir -p "$dest/vendor"
mv "$package" "$dest/vendor/mailport"
[[ -f "$here/README.md" ]] && cp "$here/README.md" "$dest/README.md"
for license in "$repo"/LICENSE*; do
    [[ -f "$license" ]] && cp "$license" "$dest/"
done
# What the plugin checks at activation must hold in what is shipped.
(cd "$dest/vendor/mailport" && sha256sum --quiet -c lib/SHA256SUMS) ||
    { echo "package.sh: the bundled library does not match lib/SHA256SUMS" >&2; exit 1; }

zipfile="$out/mailport-$version.zip"
rm -f "$zipfile"
(cd "$out" && zip -qr -X "$zipfile" mailport)
echo "package.sh: $dest and $zipfile (Mailport SMTP $version, libmailport for linux-x86_64 bundled)" >&2
echo "$zipfile"
