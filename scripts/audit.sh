#!/usr/bin/env bash
# Checks the ledger invariants of the local cluster's database and exits
# with the audit's status (non-zero on a breach), so it can gate scripts.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  cluster_load
  [[ -x "$GAME_BIN" ]] || die "$GAME_BIN is missing; run 'make up' (or cargo build --release)"
  pg_running "$CLUSTER_PG_DIR" || die "the local Postgres is not running; run 'make up'"
  eval "$(cluster_env_lines node-1 "$PUBLIC_PORT")"
  cd "$REPO_ROOT"
  # exec hands the audit's exit code straight to our caller.
  exec "$GAME_BIN" audit "$@"
}

main "$@"
