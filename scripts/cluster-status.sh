#!/usr/bin/env bash
# `scripts/cluster.sh status` (`make status`): one row per process with pid,
# port and role, exit 1 when anything is down or unhealthy. Sourced by
# scripts/cluster.sh, whose settings and helpers it uses.

# ---------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------

ALL_OK=1
BAD_MARK='[!]'

# row NAME PID PORT STATE prints one line of the status table. A state built
# with `bad` carries BAD_MARK, which makes status exit 1: the states are
# computed in command substitutions, which cannot set ALL_OK themselves.
row() {
  [[ "$4" != *"$BAD_MARK"* ]] || ALL_OK=0
  printf '%-12s %-8s %-6s %s\n' "$@"
}

# bad prints a state that counts as a failure.
bad() { printf '%s %s\n' "$BAD_MARK" "$*"; }

status_postgres() {
  local pid state
  if pg_running "$PG_DIR"; then
    pid=$(sed -n 1p "$PG_DIR/postmaster.pid")
    state=$(pg_query "$PG_PORT" "SELECT CASE WHEN pg_is_in_recovery() THEN 'in recovery (not a primary!)' ELSE 'primary' END")
    [[ "$state" == primary ]] || state=$(bad "${state:-not answering}")
    row pg-primary "$pid" "$PG_PORT" "$state"
  else
    row pg-primary - "$PG_PORT" "$(bad down)"
  fi
  if pg_running "$PG_REPLICA_DIR"; then
    pid=$(sed -n 1p "$PG_REPLICA_DIR/postmaster.pid")
    row pg-replica "$pid" "$PG_REPLICA_PORT" "$(replica_state)"
  else
    row pg-replica - "$PG_REPLICA_PORT" "$(bad down)"
  fi
}

# REPLICA_LAG_SQL asks the primary for the replica's state, the WAL bytes it
# has not replayed yet, and replay_lag in ms (null, shown as 0, when idle).
REPLICA_LAG_SQL="SELECT r.state, pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint, COALESCE(round(EXTRACT(epoch FROM r.replay_lag) * 1000)::bigint, 0) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '$REPL_SLOT'"

# replica_state describes the replica and its lag as the primary sees it
# (bytes of WAL not yet replayed, and replay_lag, which is null when idle),
# or, with the primary down, as the replica sees itself.
replica_state() {
  local out state bytes ms recovering receiver
  out=$(pg_query "$PG_PORT" "$REPLICA_LAG_SQL")
  if [[ -n "$out" ]]; then
    read -r state bytes ms <<<"$out"
    if [[ "$state" == streaming ]]; then
      printf 'replica, streaming, lag %s bytes / %s ms\n' "$bytes" "$ms"
    else
      bad "replica, $state, lag $bytes bytes / $ms ms"
    fi
    return 0
  fi
  out=$(pg_query "$PG_REPLICA_PORT" "SELECT pg_is_in_recovery(), COALESCE((SELECT status FROM pg_stat_wal_receiver), 'none'), COALESCE(round(EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, -1)")
  if [[ -z "$out" ]]; then
    bad "replica, not answering"
  else
    read -r recovering receiver ms <<<"$out"
    bad "replica (in recovery: $recovering), not streaming from the primary (wal receiver: $receiver), last replay ${ms} ms ago"
  fi
}

status_redis() {
  local i port dir pid role
  for i in 1 2; do
    port=$REDIS_PORT
    ((i == 1)) || port=$REDIS_REPLICA_PORT
    dir=$(redis_dir "$i")
    if ! redis_running "$dir"; then
      row "redis-$i" - "$port" "$(bad down)"
      continue
    fi
    pid=$(redis_pid "$dir")
    role=$(redis_info_field "$port" role || true)
    case "$role" in
      master) row "redis-$i" "$pid" "$port" "master, $(redis_info_field "$port" connected_slaves) replica(s)" ;;
      slave) row "redis-$i" "$pid" "$port" "$(replica_text "$port")" ;;
      *) row "redis-$i" "$pid" "$port" "$(bad "not answering")" ;;
    esac
  done
}

replica_text() {
  local link
  link=$(redis_info_field "$1" master_link_status)
  if [[ "$link" == up ]]; then
    echo "replica of $(redis_info_field "$1" master_port), link up"
  else
    bad "replica of $(redis_info_field "$1" master_port), link ${link:-unknown}"
  fi
}

status_sentinels() {
  local i=0 port dir primary quorum
  for port in "${SENTINEL_PORT_LIST[@]}"; do
    i=$((i + 1))
    dir=$(sentinel_dir "$i")
    if ! redis_running "$dir"; then
      row "sentinel-$i" - "$port" "$(bad down)"
      continue
    fi
    primary=$(sentinel_primary_port "$port" "$SERVICE_NAME" || echo "?")
    # ckquorum answers "OK 3 usable Sentinels. ..." or an error explaining why not.
    quorum=$(redis_cmd "$port" sentinel ckquorum "$SERVICE_NAME" | head -n 1 || true)
    if [[ "$quorum" == OK* ]]; then
      quorum="quorum ok ($(awk '{print $2}' <<<"$quorum") usable)"
    else
      quorum=$(bad "quorum: ${quorum:-no answer}")
    fi
    row "sentinel-$i" "$(redis_pid "$dir")" "$port" "sentinel, primary $primary, $quorum"
  done
}

# status_nodes shows nodes 1..NODE_COUNT, then any live node above the
# count (left behind by an interrupted scale).
status_nodes() {
  local i pid count=${#NODE_PORT_LIST[@]}
  for ((i = 1; i <= count; i++)); do
    if pid=$(node_pid "$i"); then
      row "node-$i" "$pid" "$(node_port "$i")" "$(node_state "$i")"
    else
      row "node-$i" - "$(node_port "$i")" "$(bad down)"
    fi
  done
  for i in $(pidfile_nodes); do
    if ((i > count)) && pid=$(node_pid "$i"); then
      row "node-$i" "$pid" "?" "$(bad "running but above the node count $count")"
    fi
  done
}

# node_state describes a live node from its /health report: the status, and
# the rooms it leads when the report has `leader_of` (older binaries do not).
node_state() {
  local body code summary
  body=$(curl -s --max-time 2 -w '\n%{http_code}' "http://$LOOPBACK:$(node_port "$1")/health" 2>/dev/null || true)
  code=${body##*$'\n'}
  summary=$(printf '%s' "${body%$'\n'*}" | python3 -c '
import json, sys
try:
    h = json.load(sys.stdin)
except Exception:
    print("no JSON health report")
    sys.exit()
parts = [h.get("status", "?")]
leads = h.get("leader_of")
if isinstance(leads, list):
    parts.append("leader of: " + (" ".join(map(str, leads)) if leads else "-"))
else:
    parts.append("leadership: n/a")
failed = [k for k, v in (h.get("checks") or {}).items() if isinstance(v, dict) and v.get("ok") is False]
if failed:
    parts.append("failing: " + " ".join(failed))
lag = ((h.get("checks") or {}).get("replica") or {}).get("lag_ms")
if lag is not None:
    parts.append("replica lag %s ms" % lag)
print(", ".join(parts))
' 2>/dev/null || echo "unreadable health report")
  if [[ "$code" == 200 ]]; then
    echo "node, $summary"
  else
    bad "node, HTTP $code, $summary"
  fi
}

status_nginx() {
  local pid servers code
  servers=$(grep -c '^server .*max_fails' "$UPSTREAM_FILE" 2>/dev/null || true)
  if pid=$(nginx_pid "$NGINX_DIR"); then
    code=$(http_status "http://$LOOPBACK:$NGINX_PORT/health")
    if [[ "$code" == 200 ]]; then
      row nginx "$pid" "$NGINX_PORT" "upstream ${servers:-0} node(s), /health through nginx: 200"
    else
      row nginx "$pid" "$NGINX_PORT" "$(bad "upstream ${servers:-0} node(s), /health through nginx: $code")"
    fi
  else
    row nginx - "$NGINX_PORT" "$(bad down)"
  fi
}

# status_nodes_brief prints the node and nginx rows (after a scale).
status_nodes_brief() {
  row PROCESS PID PORT "ROLE / STATE"
  status_nodes
  status_nginx
}

cmd_status() {
  load_settings
  echo "cluster in $CLUSTER_DIR"
  row PROCESS PID PORT "ROLE / STATE"
  if [[ "$PG_MODE" == patroni ]]; then status_patroni; else status_postgres; fi
  status_redis
  status_sentinels
  status_nodes
  status_nginx
  if [[ "$PG_MODE" == patroni ]]; then
    echo
    patronictl_run list 2>&1 || true
  fi
  [[ $ALL_OK -eq 1 ]]
}
