#!/usr/bin/env bash
# Stops the local cluster started by scripts/up.sh: nodes first (so they do
# not log connection errors while their backends go away), then Redis, then
# Postgres. Data in .local/cluster/ is kept for the next `make up`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_nodes() {
  local id
  for id in $(cluster_node_ids); do
    node_stop "$id"
  done
}

stop_redis() {
  if redis_running "$CLUSTER_REDIS_DIR"; then
    log "stopping Redis"
    redis_stop "$CLUSTER_REDIS_DIR"
  fi
}

stop_postgres() {
  if pg_running "$CLUSTER_PG_DIR"; then
    log "stopping Postgres"
    pg_stop "$CLUSTER_PG_DIR"
  fi
}

main() {
  if [[ ! -d "$CLUSTER_DIR" ]]; then
    log "no local cluster in $CLUSTER_DIR; nothing to stop"
    return 0
  fi
  stop_nodes
  stop_redis
  stop_postgres
  log "local cluster stopped (data kept in $CLUSTER_DIR)"
}

main "$@"
