#!/usr/bin/env bash
# The cluster's game nodes: pid and log files, the environment each node gets,
# launching, health, stopping. Sourced by scripts/cluster.sh, whose settings and
# helpers they use.

# ---------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------

node_pid_file() { printf '%s/node-%s.pid\n' "$RUN_DIR" "$1"; }
node_log_file() { printf '%s/node-%s.log\n' "$LOG_DIR" "$1"; }
node_port() { printf '%s\n' "${NODE_PORT_LIST[$(($1 - 1))]}"; }

# node_pid I prints the pid of live node I. The pidfile may be stale (the
# node was killed), so the process must exist and run `... serve`.
node_pid() {
  local pid
  pid=$(cat "$(node_pid_file "$1")" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  [[ "$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 2p)" == serve ]] || return 1
  printf '%s\n' "$pid"
}

# valid_node I [MAX] dies unless I is a node number between 1 and MAX
# (default: the node count).
valid_node() {
  local max=${2:-$NODE_COUNT}
  if ! [[ "$1" =~ ^[1-9][0-9]*$ ]] || (($1 > max)); then
    die "node must be a number from 1 to $max, got '$1'"
  fi
}

# export_line NAME VALUE prints `export NAME='VALUE'`, single-quoted so that
# both `eval` and a simple line parser read the value back unchanged.
export_line() {
  local q="'\\''"
  printf "export %s='%s'\n" "$1" "${2//\'/$q}"
}

# common_env_lines prints `export` lines shared by every node and by CLI
# processes. Redis is the current primary when the Sentinels answer (a node
# without Sentinel support then still reaches a writable Redis after a
# failover), the initial one otherwise.
common_env_lines() {
  local redis_port name value
  redis_port=$(current_redis_primary) || redis_port=$REDIS_PORT
  while read -r name value; do
    export_line "$name" "$value"
  done <<EOF
APP_ENV $NODE_APP_ENV
APP__DATABASE__HOST $LOOPBACK
APP__DATABASE__PORT $PG_PORT
APP__DATABASE__USERNAME postgres
APP__DATABASE__PASSWORD $PG_PASSWORD
APP__DATABASE__DATABASE_NAME $DB_NAME
APP__DATABASE__REPLICA_HOST $LOOPBACK
APP__DATABASE__REPLICA_PORT $PG_REPLICA_PORT
APP__REDIS__HOST $LOOPBACK
APP__REDIS__PORT $redis_port
APP__REDIS__SENTINELS $(sentinel_list)
APP__REDIS__SERVICE_NAME $SERVICE_NAME
APP__CLUSTER__SECRET $CLUSTER_SECRET
APP__AUTH__JWT_SECRET $JWT_SECRET
APP__ADMIN__USERNAME $ADMIN_USERNAME
APP__ADMIN__PASSWORD $ADMIN_PASSWORD
EOF
}

# sentinel_list prints the Sentinels as "127.0.0.1:p1,127.0.0.1:p2,...".
sentinel_list() {
  local port out=""
  for port in "${SENTINEL_PORT_LIST[@]}"; do out+="${out:+,}$LOOPBACK:$port"; done
  printf '%s\n' "$out"
}

# node_env_lines I prints the complete environment of node I: the shared
# settings, its identity, then the recorded APP__ overrides.
node_env_lines() {
  local port
  port=$(node_port "$1")
  common_env_lines
  export_line APP__APPLICATION__HOST "$LOOPBACK"
  export_line APP__APPLICATION__PORT "$port"
  export_line APP__APPLICATION__NODE_ID "node-$1"
  export_line APP__CLUSTER__ADVERTISE_URL "http://$LOOPBACK:$port"
  if [[ -f "$OVERRIDES_FILE" ]]; then cat "$OVERRIDES_FILE"; fi
}

# caller_overrides prints the caller's APP__ variables as `export` lines,
# leaving out (with a warning) the per-node identity keys.
caller_overrides() {
  local name
  for name in $(compgen -e); do
    [[ "$name" == APP__* ]] || continue
    if [[ "$IDENTITY_KEYS" == *" $name "* ]]; then
      warn "ignoring $name from the environment: it must differ per node"
      continue
    fi
    export_line "$name" "${!name}"
  done
}

# record_overrides MODE writes the overrides file: "replace" keeps only the
# caller's APP__ variables (start), "merge" lays them over the recorded ones
# (scale, start-node), so every node of a cluster gets the same overrides.
record_overrides() {
  local -A lines=()
  local line name
  if [[ "$1" == merge && -f "$OVERRIDES_FILE" ]]; then
    while IFS= read -r line; do
      name=${line#export }
      lines[${name%%=*}]=$line
    done <"$OVERRIDES_FILE"
  fi
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    name=${line#export }
    lines[${name%%=*}]=$line
  done < <(caller_overrides)
  : >"$OVERRIDES_FILE"
  chmod 600 "$OVERRIDES_FILE"
  for name in "${!lines[@]}"; do printf '%s\n' "${lines[$name]}"; done | sort >>"$OVERRIDES_FILE"
  if [[ -s "$OVERRIDES_FILE" ]]; then
    log "node overrides: $(sed 's/^export //; s/=.*//' "$OVERRIDES_FILE" | tr '\n' ' ')"
  fi
}

# node_launch I starts node I in the background. It runs in its own session
# (setsid) with nohup and stdin from /dev/null, so neither Ctrl-C in the
# calling terminal nor closing it reaches the node; with
# CLUSTER_NODE_SESSION=caller it stays in the caller's session (and so in the
# caller's scheduling autogroup).
node_launch() {
  local i=$1 port log_file
  port=$(node_port "$i")
  log_file=$(node_log_file "$i")
  check_port "$port" "node-$i"
  log "starting node-$i on $LOOPBACK:$port (log: $log_file)"
  printf '=== %s starting node-%s on port %s ===\n' "$(date '+%F %T')" "$i" "$port" >>"$log_file"
  (
    clear_app_env
    eval "$(node_env_lines "$i")"
    cd "$NODE_WORKDIR"
    # The log is a file, so colour escape codes would only clutter it. glibc gives each thread that
    # allocates its own malloc arena (up to 8 per core); freed per-socket memory then stays spread over
    # them. Two arenas hold about 2 KiB less per WebSocket (docs/BENCHMARKS.md, issue 18).
    local session=(setsid)
    [[ "${CLUSTER_NODE_SESSION:-own}" == caller ]] && session=()
    NO_COLOR=1 MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} nohup "${session[@]}" "$NODE_BIN" serve </dev/null >>"$log_file" 2>&1 &
    printf '%s\n' "$!" >"$(node_pid_file "$i")"
  )
}

# node_health_code I prints the HTTP status of node I's /health.
node_health_code() {
  http_status "http://$LOOPBACK:$(node_port "$1")/health"
}

# wait_nodes_healthy I... waits until every listed node answers /health with
# 200. It fails as soon as one exits, or after HEALTH_TIMEOUT_S, showing the
# end of the failing node's log.
wait_nodes_healthy() {
  local pending=("$@") still i deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  while ((${#pending[@]} > 0)); do
    still=()
    for i in "${pending[@]}"; do
      if [[ "$(node_health_code "$i")" == 200 ]]; then
        log "node-$i is healthy"
      elif ! node_pid "$i" >/dev/null; then
        node_failed "$i" "node-$i exited during start-up"
      else
        still+=("$i")
      fi
    done
    pending=("${still[@]}")
    ((${#pending[@]} == 0)) && break
    ((SECONDS < deadline)) ||
      node_failed "${pending[0]}" "node-${pending[0]} is not healthy after ${HEALTH_TIMEOUT_S}s (still waiting: ${pending[*]})"
    sleep 0.5
  done
}

node_failed() {
  log "$2; last lines of $(node_log_file "$1"):"
  tail -n 40 "$(node_log_file "$1")" >&2 || true
  die "$2"
}

# start_nodes I... starts the listed nodes that are not running and waits
# until they are healthy. When no node runs yet, the first one starts alone
# so that it applies the migrations before the others connect.
start_nodes() {
  local missing=() i
  for i in "$@"; do node_pid "$i" >/dev/null || missing+=("$i"); done
  ((${#missing[@]} > 0)) || return 0
  if ! any_node_running; then
    node_launch "${missing[0]}"
    wait_nodes_healthy "${missing[0]}"
    missing=("${missing[@]:1}")
  fi
  for i in "${missing[@]}"; do node_launch "$i"; done
  wait_nodes_healthy "${missing[@]}"
}

any_node_running() {
  local i
  for ((i = 1; i <= ${#NODE_PORT_LIST[@]}; i++)); do
    node_pid "$i" >/dev/null && return 0
  done
  return 1
}

# stop_nodes_wait TIMEOUT_S I... sends SIGTERM to the listed nodes at once
# (each drains its sockets and wallet shards), then waits for each, killing
# one that is still alive after TIMEOUT_S.
stop_nodes_wait() {
  local timeout=$1 i pid pids=()
  shift
  for i in "$@"; do
    if pid=$(node_pid "$i"); then
      log "stopping node-$i (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do stop_pid_wait "$pid" "$timeout"; done
  for i in "$@"; do rm -f "$(node_pid_file "$i")"; done
}

# pidfile_nodes lists every node with a pidfile, including nodes above the
# current count left by an interrupted scale.
pidfile_nodes() {
  local f n
  for f in "$RUN_DIR"/node-*.pid; do
    [[ -e "$f" ]] || continue
    n=${f##*/node-}
    printf '%s\n' "${n%.pid}"
  done | sort -n
}
