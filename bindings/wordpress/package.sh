#!/usr/bin/env bash
# Make a self-contained copy of the Mailport SMTP plugin for installing on a site: the plugin
# directory with the PHP binding copied into vendor/mailport (autoload.php, preload.php, src/,
# and include/mailport_ffi.h, the declarations PHP's FFI reads), so it no longer needs the
# mailport checkout. libmailport itself is not included (it is built per platform): install it
# where the system linker finds it, or define MAILPORT_LIBRARY in wp-config.php.
#
# Usage: bindings/wordpress/package.sh OUT_DIR [--zip]
#   creates OUT_DIR/mailport/ (replacing an earlier one), and with --zip also
#   OUT_DIR/mailport-<version>.zip, ready for Plugins > Add New > Upload Plugin.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
binding="$repo/bindings/php"

[[ $# -ge 1 ]] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
out="$1"; shift
zip=0
for arg in "$@"; do
    case "$arg" in
        --zip) zip=1 ;;
        *) echo "package.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

for f in "$binding/autoload.php" "$binding/src/Client.php" "$repo/include/mailport_ffi.h"; do
    [[ -f "$f" ]] || { echo "package.sh: $f is missing" >&2; exit 1; }
done

mkdir -p "$out"
dest="$(cd "$out" && pwd)/mailport"
rm -rf "$dest"
mkdir -p "$dest"
cp -R "$here/mailport/." "$dest/"
rm -rf "$dest/vendor/mailport"  # a stale copy inside the source tree must not win
mkdir -p "$dest/vendor/mailport/include"
[[ -f "$here/README.md" ]] && cp "$here/README.md" "$dest/README.md"
cp -R "$binding/src" "$dest/vendor/mailport/src"
cp "$binding/autoload.php" "$binding/preload.php" "$dest/vendor/mailport/"
[[ -f "$binding/composer.json" ]] && cp "$binding/composer.json" "$dest/vendor/mailport/"
cp "$repo/include/mailport_ffi.h" "$dest/vendor/mailport/include/"
for license in "$repo"/LICENSE*; do
    [[ -f "$license" ]] && cp "$license" "$dest/"
done

if [[ $zip == 1 ]]; then
    version="$(sed -n 's/^ \* Version: *//p' "$dest/mailport.php" | head -1)"
    command -v zip >/dev/null || { echo "package.sh: zip is not installed" >&2; exit 1; }
    (cd "$(dirname "$dest")" && rm -f "mailport-$version.zip" && zip -qr "mailport-$version.zip" mailport)
    echo "$(dirname "$dest")/mailport-$version.zip"
fi
echo "$dest"
