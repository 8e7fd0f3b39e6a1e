#!/usr/bin/env bash
# Measures failover: the time from a leader node's death to the new leader's first event and first tick,
# and from the Redis primary's death to resumed ticks; or, with the "postgres" mode, from the Postgres
# primary's death (Patroni) to the first acknowledged transfer on the new primary and to the first tick
# of a new crash round. Each run is one fault test of tests/cluster (a real cluster on loopback ports,
# started and stopped by the test), repeated RUNS times (default 5); prints every run and the median and
# worst of each figure.
#
# Usage: scripts/bench-failover.sh [RUNS] [nodes|postgres]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${1:-5}
MODE=${2:-nodes}
OUT=$(scratch_dir bench-failover)/runs.log

# run_once TEST runs one fault test, appends its BENCH line to the runs log and keeps its whole output;
# a failed run is reported and skipped, not fatal.
run_once() {
  local test=$1 output
  output="$(dirname "$OUT")/$test-$(date +%s).log"
  if (cd "$REPO_ROOT" && cargo test --quiet --test cluster "$test" -- --nocapture >"$output" 2>&1); then
    grep '^BENCH' "$output" | tee -a "$OUT"
  else
    warn "$test failed; see $output"
  fi
}

# summarize PATTERN LABEL prints the median and worst of the numbers that follow PATTERN in the runs.
summarize() {
  local pattern=$1 label=$2
  grep -o "$pattern [0-9]*" "$OUT" | awk '{print $NF}' | sort -n | awk -v label="$label" '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print label ": no runs"; exit }
      median = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s: median %d ms, worst %d ms over %d runs\n", label, median, v[NR], NR
    }'
}

main() {
  ensure_packages
  clear_app_env
  (cd "$REPO_ROOT" && cargo test --quiet --test cluster --no-run)
  local run
  if [[ "$MODE" == postgres ]]; then
    for run in $(seq 1 "$RUNS"); do
      log "run $run of $RUNS"
      run_once killing_the_postgres_primary_promotes_the_sync_standby_and_the_old_primary_rejoins
    done
    summarize 'first acknowledged transfer' 'Postgres primary death -> first acknowledged transfer'
    summarize 'new crash round' 'Postgres primary death -> a new crash round opens'
    summarize 'its first tick' 'Postgres primary death -> first tick of the new round'
    log "raw lines in $OUT"
    return 0
  fi
  [[ "$MODE" == nodes ]] || die "usage: bench-failover.sh [RUNS] [nodes|postgres]"
  for run in $(seq 1 "$RUNS"); do
    log "run $run of $RUNS"
    run_once killing_the_leader_moves_leadership_within_the_lease_ttl
    run_once killing_the_redis_primary_fails_over_and_ticks_resume
  done
  summarize 'leads after' 'leader death -> new leader'
  summarize 'first event reached players' 'leader death -> first event of the new leader'
  summarize 'first tick' 'leader death -> first tick of the new leader'
  summarize 'ticks resumed' 'Redis primary death -> ticks resume'
  log "raw lines in $OUT"
}

main "$@"
