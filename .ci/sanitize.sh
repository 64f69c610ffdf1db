#!/usr/bin/env bash
# The C tests under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer: the library is
# built with each sanitizer into its own target directory (target/asan, target/tsan: normal
# builds are untouched), and the Rust tests that build tests/c/*.c (c_abi, c_null_arguments,
# c_stress) compile the C programs with the same -fsanitize and link that library instead of
# running them under valgrind (tests/common/c_program.rs). docs/hardening/sanitizers.md has the
# figures and the reasons.
#
#   .ci/sanitize.sh [address|thread]...     (default: both)
#
# Sanitizers are unstable rustc flags (-Zsanitizer); this stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1. --target is given so that only the library and its dependencies are
# instrumented, not build scripts or proc-macros (which would then need the runtime themselves).
# ThreadSanitizer also rebuilds the standard library instrumented (-Zbuild-std, from the rust-src
# component): an uninstrumented std hides the synchronisation inside Arc, Mutex and channels, and
# every object passed through them would be reported as a race. The C programs use gcc's own
# runtimes (libasan, libtsan), with tests/c/tsan_shims.c for the three entry points gcc 12's
# libtsan lacks.
set -euo pipefail
cd "$(dirname "$0")/.."

target="$(rustc -vV | sed -n 's/^host: //p')"
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)

for sanitizer in "${sanitizers[@]}"; do
  case "$sanitizer" in
    address) dir=target/asan; extra=(); tests=(--test c_abi --test c_null_arguments --test c_stress) ;;
    thread)
      dir=target/tsan; extra=(-Zbuild-std)
      tests=(--test c_abi --test c_null_arguments --test c_stress)
      rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
        rustup component add rust-src
      ;;
    *) echo "unknown sanitizer $sanitizer: use address or thread" >&2; exit 2 ;;
  esac
  echo "--- libmailport.so with -Zsanitizer=$sanitizer (into $dir)"
  started=$SECONDS
  # Line tables are all a sanitizer's stack traces need; full debug info would double the
  # build time of these libraries (the ThreadSanitizer one with its std is over 100 MB).
  RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=$sanitizer" CARGO_PROFILE_DEV_DEBUG=line-tables-only \
    cargo build --quiet --lib --target "$target" --target-dir "$dir" "${extra[@]}"
  echo "built in $((SECONDS - started)) s"
  library="$dir/$target/debug/libmailport.so"
  started=$SECONDS
  status=0
  MAILPORT_C_SANITIZER="$sanitizer" MAILPORT_C_LIBRARY="$PWD/$library" \
    cargo test "${tests[@]}" -- --nocapture \
    >"$dir/tests.log" 2>&1 || status=$?
  grep -E '^(test [a-z_]+ \.\.\. |STRESS |NULL_CALLS |test result|FAIL)' "$dir/tests.log" || true
  echo "tests under ${sanitizer} sanitizer: $((SECONDS - started)) s (full output: $dir/tests.log)"
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$dir/tests.log" >&2
    echo "C tests failed under -fsanitize=$sanitizer" >&2
    exit 1
  fi
done
