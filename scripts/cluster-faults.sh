#!/usr/bin/env bash
# The cluster's faults and repairs on purpose: kill-node, drain-node,
# kill-redis-primary, restart-redis, restart-postgres (the Patroni faults are
# in scripts/patroni-ops.sh). Sourced by scripts/cluster.sh, whose settings and
# helpers they use.

# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

cmd_kill_node() {
  local i=${1:-} pid
  load_settings
  valid_node "$i"
  pid=$(node_pid "$i") || die "node-$i is not running"
  sigkill_wait "$pid" "node-$i"
}

cmd_drain_node() {
  local i=${1:-}
  load_settings
  valid_node "$i"
  node_pid "$i" >/dev/null || die "node-$i is not running"
  log "taking node-$i out of nginx"
  sync_nginx "$i"
  stop_nodes_wait "$DRAIN_TIMEOUT_S" "$i"
  log "node-$i drained"
}

cmd_kill_redis_primary() {
  local port dir pid
  load_settings
  port=$(current_redis_primary) || die "no Sentinel answered; is the cluster running?"
  dir=$(redis_dir_for_port "$port")
  redis_running "$dir" || die "the primary the Sentinels report (port $port) is not running"
  pid=$(redis_pid "$dir")
  sigkill_wait "$pid" "the Redis primary on port $port"
  printf '%s\n' "$port"
}

cmd_restart_redis() {
  local port=${1:-} dir
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: restart-redis PORT"
  load_settings
  dir=$(redis_dir_for_port "$port")
  if redis_running "$dir"; then
    log "Redis on port $port is already running"
    return 0
  fi
  check_port "$port" "Redis"
  log "starting Redis on port $port again"
  launch_redis "$dir" "$port"
  # With every Sentinel down there is no primary to follow; otherwise the
  # caller gets a replica that is in sync.
  if current_redis_primary >/dev/null; then
    wait_redis_replica "$port" || die "Redis on $port did not become a replica in sync within 30s"
    log "Redis on $port is a replica of $(redis_info_field "$port" master_port), link up"
  fi
}

cmd_restart_postgres() {
  local started=$SECONDS
  load_settings
  if [[ "$PG_MODE" == patroni ]]; then
    restart_patroni_primary
    return 0
  fi
  pg_running "$PG_DIR" || die "the Postgres primary is not running"
  log "restarting the Postgres primary (fast shutdown)"
  pg_restart "$PG_DIR" || die "the restart failed; see $(pg_log_file "$PG_DIR")"
  wait_pg "$PG_PORT" 30 || die "the Postgres primary does not accept connections after the restart"
  log "Postgres primary back after $((SECONDS - started))s"
  if pg_running "$PG_REPLICA_DIR"; then
    wait_replica_streaming 15 || warn "the replica is not streaming again after 15s; see $(pg_log_file "$PG_REPLICA_DIR")"
  fi
}

# wait_replica_streaming TIMEOUT_S waits until the primary sees the replica
# streaming.
wait_replica_streaming() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    [[ "$(pg_query "$PG_PORT" "$REPLICA_LAG_SQL")" == streaming* ]] && return 0
    sleep 0.3
  done
  return 1
}
