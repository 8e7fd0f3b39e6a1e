#!/usr/bin/env bash
# Starts the local development cluster: a persistent Postgres and Redis plus
# one game-cluster node, all on loopback. Running it again while everything
# is up only prints the connection details.
#
# Environment:
#   PG_PORT      Postgres port on first start (default 55432)
#   REDIS_PORT   Redis port on first start (default 56379)
#   PUBLIC_PORT  HTTP/WebSocket port of the node (default 8080)
#
# Data lives in .local/cluster/ and survives `make down`; delete that
# directory to start from scratch.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HEALTH_TIMEOUT_S=60

# start_postgres starts the cluster's Postgres unless it already runs, and
# makes sure the application database exists (the node migrates it, but
# sqlx cannot create the database it connects to).
start_postgres() {
  if pg_running "$CLUSTER_PG_DIR"; then
    local actual
    actual=$(pg_port "$CLUSTER_PG_DIR")
    [[ "$actual" == "$PG_PORT" ]] ||
      warn "Postgres already runs on port $actual, not $PG_PORT; keeping $actual"
    PG_PORT=$actual
  else
    port_in_use "$PG_PORT" && die "port $PG_PORT is taken; set PG_PORT to a free port"
    log "starting Postgres on $LOOPBACK:$PG_PORT"
    pg_start "$CLUSTER_PG_DIR" "$PG_PORT" ||
      die "Postgres did not start; see $(pg_log_file "$CLUSTER_PG_DIR")"
  fi
  pg_ensure_db "$PG_PORT" "$CLUSTER_DB_NAME"
}

# start_redis starts the cluster's Redis with an append-only file unless it
# already runs, in which case the port it was started with is kept.
start_redis() {
  if redis_running "$CLUSTER_REDIS_DIR"; then
    return 0
  fi
  port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is taken; set REDIS_PORT to a free port"
  log "starting Redis on $LOOPBACK:$REDIS_PORT"
  redis_start "$CLUSTER_REDIS_DIR" "$REDIS_PORT" persist ||
    die "Redis did not start; see $CLUSTER_REDIS_DIR/redis.log"
}

# start_node ID PORT starts one node in the background unless it already
# runs. The node applies migrations itself on start.
start_node() {
  local id=$1 port=$2 log_file
  log_file=$(node_log_file "$id")
  if node_pid "$id" >/dev/null; then
    return 0
  fi
  port_in_use "$port" && die "port $port is taken; set PUBLIC_PORT to a free port"
  log "starting $id on $LOOPBACK:$port (log: $log_file)"
  (
    cd "$REPO_ROOT"
    eval "$(cluster_env_lines "$id" "$port")"
    # nohup plus a detached stdin keeps the node alive after this script
    # and its terminal are gone.
    echo "=== $(date '+%F %T') starting $id on port $port ===" >>"$log_file"
    # The log is a file, so colour escape codes would only clutter it.
    NO_COLOR=1 nohup "$GAME_BIN" serve </dev/null >>"$log_file" 2>&1 &
    echo $! >"$(node_pid_file "$id")"
  )
}

# wait_node ID PORT waits until the node reports healthy. It gives up early
# if the process dies, and on failure shows the end of its log so the cause
# is visible without digging.
wait_node() {
  local id=$1 port=$2 reason=""
  local deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  while true; do
    if [[ "$(http_status "http://$LOOPBACK:$port/health")" == 200 ]]; then
      return 0
    elif ! node_pid "$id" >/dev/null; then
      reason="$id exited during startup"
      break
    elif ((SECONDS >= deadline)); then
      reason="$id is not healthy after ${HEALTH_TIMEOUT_S}s"
      break
    fi
    sleep 0.5
  done
  log "$reason; last lines of $(node_log_file "$id"):"
  tail -n 40 "$(node_log_file "$id")" >&2 || true
  exit 1
}

print_info() {
  cat <<EOF

game-cluster is up.
  Base URL:   http://$LOOPBACK:$PUBLIC_PORT
  WebSocket:  ws://$LOOPBACK:$PUBLIC_PORT/ws
  Health:     http://$LOOPBACK:$PUBLIC_PORT/health
  Admin:      $ADMIN_USERNAME / $ADMIN_PASSWORD
  Postgres:   $LOOPBACK:$PG_PORT db=$CLUSTER_DB_NAME user=postgres (password in .local/cluster/secrets.env)
  Redis:      $LOOPBACK:$REDIS_PORT
  Node log:   $(node_log_file node-1)

Environment for tools: eval "\$(scripts/env.sh)"   Stop with: make down
EOF
}

main() {
  ensure_packages
  build_release
  cluster_ensure_secrets
  cluster_load
  # A fresh start honours the caller's ports; a running cluster keeps the
  # ports it was started with (cluster_load read them from state.env).
  if ! pg_running "$CLUSTER_PG_DIR" && ! redis_running "$CLUSTER_REDIS_DIR" &&
    ! node_pid node-1 >/dev/null; then
    PG_PORT=${UP_PG_PORT:-55432}
    REDIS_PORT=${UP_REDIS_PORT:-56379}
    PUBLIC_PORT=${UP_PUBLIC_PORT:-8080}
  fi
  start_postgres
  start_redis
  cluster_save_state
  start_node node-1 "$PUBLIC_PORT"
  wait_node node-1 "$PUBLIC_PORT"
  print_info
}

# The caller's port choices are captured before cluster_load overwrites
# PG_PORT etc. with the values recorded by the previous run.
UP_PG_PORT=${PG_PORT:-}
UP_REDIS_PORT=${REDIS_PORT:-}
UP_PUBLIC_PORT=${PUBLIC_PORT:-}
main "$@"
