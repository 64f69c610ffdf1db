#!/usr/bin/env bash
# Fuzz every target for SECONDS (default 300) one after another, then print each one's figures:
# executions, executions per second, coverage (libFuzzer's cov: edges and ft: features), the
# corpus size, and whether it found a crash. docs/hardening/fuzzing.md explains the figures
# and records them.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#   fuzz/run.sh --smoke [TARGET...]
#
# --smoke is CI's run: a fixed number of executions (SMOKE_RUNS, default 30000) from a fixed
# seed over the committed corpus and regressions only, so a given commit always fuzzes the
# same inputs and CI cannot fail on a crash that a random seed happened upon. Finding new
# crashes is the long run's job.
#
# Runs on the stable toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc take the -Z flags
# cargo-fuzz passes (-Zsanitizer=address and friends). New corpus inputs go to
# target/fuzz-corpus/<target>/ (the committed fuzz/corpus/<target>/ is read, never written), a
# crashing input to fuzz/artifacts/<target>/, logs to target/fuzz-logs/<target>.log.
# Exits non-zero when any target crashed or broke a property.
set -euo pipefail
cd "$(dirname "$0")"
smoke=0
if [ "${1:-}" = --smoke ]; then
  smoke=1
  shift
  runs="${SMOKE_RUNS:-30000}"
  seconds=
else
  seconds="${1:-300}"
  shift || true
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
export RUSTC_BOOTSTRAP=1
# One build for all targets, in release with debug assertions (cargo fuzz's default -O).
cargo fuzz build -O >/dev/null

mkdir -p ../target/fuzz-logs
rows=()
failed=0
for target in "${targets[@]}"; do
  work="../target/fuzz-corpus/$target"
  log="../target/fuzz-logs/$target.log"
  inputs=("corpus/$target")
  [ -d "regressions/$target" ] && inputs+=("regressions/$target")
  if [ "$smoke" = 1 ]; then
    # New inputs go to a fresh directory that is thrown away: the next smoke starts alike.
    work="../target/fuzz-smoke/$target"
    rm -rf "$work"
    limits=(-seed=1 -runs="$runs")
  else
    limits=(-max_total_time="$seconds")
  fi
  mkdir -p "$work" "corpus/$target"
  started=$SECONDS
  # -timeout: an input that takes 10 s is a hang, reported like a crash.
  if cargo fuzz run -O "$target" "$work" "${inputs[@]}" -- \
      "${limits[@]}" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    outcome=ok
  else
    outcome="CRASH (see $log and fuzz/artifacts/$target/)"
    failed=1
  fi
  elapsed=$((SECONDS - started))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
  rows+=("$(printf '%-20s %8s s %12s %8s %7s %7s %12s  %s' "$target" "$elapsed" "${execs:-?}" \
    "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$outcome")")
done

printf '\n%-20s %10s %12s %8s %7s %7s %12s  %s\n' target time executions exec/s cov ft corpus outcome
printf '%s\n' "${rows[@]}"
exit "$failed"
