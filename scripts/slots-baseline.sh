#!/usr/bin/env bash
# Checks every shipped slot game (games/slots/<id>/ with a game.toml) in every mode against its
# baseline.json: `game-cluster slots sim --check-baseline` fails on a math version other than the
# recorded one or on RTP, hit frequency or volatility outside their tolerance, and on a golden round that
# plays differently. With no shipped game it says so and passes.
#
# Usage: scripts/slots-baseline.sh [--write]
#   --write  records the baselines instead (after a reviewed change of maths), with the same settings.
# Environment: SLOTS_BASELINE_ROUNDS (default 1000000), SLOTS_BASELINE_SEED (1), SLOTS_BASELINE_THREADS
# (2), SKIP_BUILD=1 to use the release binary as it is, SLOTS_BIN to use another binary.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${SLOTS_BASELINE_ROUNDS:-1000000}
SEED=${SLOTS_BASELINE_SEED:-1}
THREADS=${SLOTS_BASELINE_THREADS:-2}

main() {
  local action=--check-baseline
  if [[ "${1:-}" == --write ]]; then
    action=--write-baseline
  elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--write]" >&2
    exit 2
  fi
  cd "$REPO_ROOT"
  if ! compgen -G "games/slots/*/game.toml" >/dev/null; then
    log "no shipped slot games under games/slots/: no baseline to check"
    return 0
  fi
  local bin=${SLOTS_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/game-cluster}
  if [[ "${SKIP_BUILD:-0}" != 1 && -z "${SLOTS_BIN:-}" ]]; then
    log "building the release binary for the slot baselines"
    cargo build --release --bin game-cluster >&2
  fi
  local rc=0 id version modes entry mode
  local -a mode_list
  # `slots list` prints one game a line: id, math version, modes as name:cost, tab-separated.
  while IFS=$'\t' read -r id version modes; do
    IFS=, read -ra mode_list <<<"$modes"
    for entry in "${mode_list[@]}"; do
      mode=${entry%%:*}
      log "slots baseline $action: $id mode $mode (math version ${version:0:12}, $ROUNDS rounds)"
      "$bin" slots sim --game "$id" --mode "$mode" --rounds "$ROUNDS" --seed "$SEED" \
        --threads "$THREADS" "$action" >/dev/null || rc=1
    done
  done < <("$bin" slots list)
  return "$rc"
}

main "$@"
