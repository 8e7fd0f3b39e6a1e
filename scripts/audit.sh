#!/usr/bin/env bash
# Checks the ledger invariants of the local cluster's database (the Postgres
# primary) and exits with the audit's status (non-zero on a breach), so it
# can gate scripts. Extra arguments go to `game-cluster audit`.
set -euo pipefail
# A GAME_BIN given by the caller wins over the binary the cluster runs.
CALLER_GAME_BIN=${GAME_BIN:-}
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
  local bin
  cluster_load
  bin=${CALLER_GAME_BIN:-$NODE_BIN}
  [[ -x "$bin" ]] || die "$bin is missing; run 'make up' (or cargo build --release)"
  cluster_primary_answers || die "the cluster's Postgres primary does not answer on port $PG_PORT; run 'make up' (or see 'make status')"
  clear_app_env
  eval "$("$REPO_ROOT/scripts/cluster.sh" env)"
  # The binary reads config/ from its working directory.
  cd "$NODE_WORKDIR"
  # exec hands the audit's exit code straight to our caller.
  exec "$bin" audit "$@"
}

main "$@"
