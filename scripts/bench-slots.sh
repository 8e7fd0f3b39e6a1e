#!/usr/bin/env bash
# Slot simulator speed: rounds per second of every mode of the test fixtures and the shipped games, on
# one thread and on all cores, from the release binary (`game-cluster slots sim --json`). Figures are
# measured, never asserted; see docs/BENCHMARKS.md for the method and the latest run.
#
# Usage: scripts/bench-slots.sh
# Environment: BENCH_SLOTS_ROUNDS (default 2000000 a run), BENCH_SLOTS_THREADS (default: nproc),
# SKIP_BUILD=1 to use the release binary as it is.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${BENCH_SLOTS_ROUNDS:-2000000}
THREADS=${BENCH_SLOTS_THREADS:-$(nproc)}

# rate GAME MODE THREADS prints the run's rounds per second.
rate() {
  "$BIN" slots sim --game "$1" --mode "$2" --rounds "$ROUNDS" --threads "$3" --seed 1 --json |
    python3 -c 'import json, sys; print(round(json.load(sys.stdin)["rounds_per_second"]))'
}

main() {
  cd "$REPO_ROOT"
  BIN=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/game-cluster
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building the release binary"
    cargo build --release --bin game-cluster >&2
  fi
  local games=(src/games/slots/testdata/lines20 src/games/slots/testdata/ways6x4)
  local id
  while IFS=$'\t' read -r id _; do
    games+=("$id")
  done < <("$BIN" slots list 2>/dev/null)
  log "$ROUNDS rounds a run; all cores = $THREADS threads; $(nproc) cores"
  printf '| game | mode | rounds/s, 1 thread | rounds/s, %s threads | per core, %s threads |\n' "$THREADS" "$THREADS"
  printf '|---|---|---:|---:|---:|\n'
  local game mode one all modes
  for game in "${games[@]}"; do
    # A game's modes: the error for a mode it does not have lists them (works for paths and ids alike).
    modes=$("$BIN" slots sim --game "$game" --mode '?' --rounds 1 2>&1 | sed -n 's/.*its modes: \(.*\))$/\1/p' || true)
    for mode in ${modes//,/ }; do
      one=$(rate "$game" "$mode" 1)
      all=$(rate "$game" "$mode" "$THREADS")
      printf '| %s | %s | %s | %s | %s |\n' "$(basename "$game")" "$mode" "$one" "$all" "$((all / THREADS))"
    done
  done
}

main "$@"
