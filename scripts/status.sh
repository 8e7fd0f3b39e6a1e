#!/usr/bin/env bash
# Shows each process of the local cluster with its pid, port and state.
# Exits 0 when everything is up and healthy, 1 otherwise, so it can be used
# as a check in other scripts.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_OK=1

row() {
  printf '%-10s %-8s %-7s %s\n' "$@"
}

status_postgres() {
  local pid state=down
  pid=$(sed -n 1p "$CLUSTER_PG_DIR/postmaster.pid" 2>/dev/null || true)
  if pg_running "$CLUSTER_PG_DIR"; then
    state="alive"
    if wait_pg "$PG_PORT" 3; then state="healthy"; else ALL_OK=0; fi
  else
    pid="-"
    ALL_OK=0
  fi
  row postgres "${pid:--}" "$PG_PORT" "$state"
}

status_redis() {
  local pid="-" state=down
  if redis_running "$CLUSTER_REDIS_DIR"; then
    pid=$(redis_pid "$CLUSTER_REDIS_DIR")
    state="alive"
    if redis_ping "$REDIS_PORT"; then state="healthy"; else ALL_OK=0; fi
  else
    ALL_OK=0
  fi
  row redis "$pid" "$REDIS_PORT" "$state"
}

# status_node ID PORT reports a node; "alive" means the process exists,
# "healthy" that /health answered 200 (the node, Postgres and Redis are up).
status_node() {
  local id=$1 port=$2 pid="-" state=down code
  if pid=$(node_pid "$id"); then
    code=$(http_status "http://$LOOPBACK:$port/health")
    if [[ "$code" == 200 ]]; then
      state="healthy"
    else
      state="alive (health: HTTP $code)"
      ALL_OK=0
    fi
  else
    pid="-"
    ALL_OK=0
  fi
  row "$id" "$pid" "$port" "$state"
}

main() {
  if [[ ! -f "$CLUSTER_SECRETS" ]]; then
    echo "no local cluster yet; run 'make up'"
    exit 1
  fi
  cluster_load
  row PROCESS PID PORT STATE
  status_postgres
  status_redis
  # Only node-1 exists today; with more nodes each gets its own port.
  status_node node-1 "$PUBLIC_PORT"
  [[ $ALL_OK -eq 1 ]]
}

main "$@"
