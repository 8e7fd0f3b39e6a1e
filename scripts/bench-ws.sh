#!/usr/bin/env bash
# Measures tick delivery to many WebSocket clients on ONE node (no nginx): for each client count, the
# swarm client holds that many sockets for BENCH_SECONDS and reports tick delivery latency (receipt time
# minus the server timestamp in each tick) and the node's memory per connection. Loopback only; every
# run is bounded in time.
#
# Environment:
#   BENCH_CLIENTS   client counts to run (default "1000 5000 10000")
#   BENCH_SECONDS   measured seconds per count (default 20)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_CLIENTS=${BENCH_CLIENTS:-1000 5000 10000}
BENCH_SECONDS=${BENCH_SECONDS:-20}
WORK_DIR=""
NODE_PID=""

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [[ -n "$NODE_PID" ]]; then
    kill -TERM "$NODE_PID" 2>/dev/null
    stop_pid_wait "$NODE_PID" 15
  fi
  stop_throwaway_services "$WORK_DIR"
  exit "$rc"
}

start_node() {
  clear_app_env
  export APP_ENV=local NO_COLOR=1
  lift_rate_limits
  export APP__APPLICATION__HOST=$LOOPBACK APP__APPLICATION__PORT=$NODE_PORT APP__APPLICATION__NODE_ID=bench-ws
  export APP__DATABASE__HOST=$LOOPBACK APP__DATABASE__PORT=$PG_PORT APP__DATABASE__USERNAME=postgres
  export APP__DATABASE__PASSWORD=$PG_PASSWORD APP__DATABASE__DATABASE_NAME=game_cluster
  export APP__REDIS__HOST=$LOOPBACK APP__REDIS__PORT=$REDIS_PORT
  APP__AUTH__JWT_SECRET=$(random_hex 32)
  APP__ADMIN__PASSWORD=$(random_hex 12)
  export APP__AUTH__JWT_SECRET APP__ADMIN__PASSWORD
  # Each socket needs a descriptor in the node and in the swarm.
  ulimit -n "$(ulimit -Hn)"
  target/release/game-cluster serve >"$WORK_DIR/node.log" 2>&1 &
  NODE_PID=$!
  wait_http "http://$LOOPBACK:$NODE_PORT/health" 60 || { tail -n 30 "$WORK_DIR/node.log" >&2; die "the node did not become healthy"; }
}

signup_token() {
  curl -sf -X POST "http://$LOOPBACK:$NODE_PORT/api/v1/auth/signup" -H 'Content-Type: application/json' \
    -d "{\"username\":\"swarm$(random_hex 4)\",\"password\":\"swarm-password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

main() {
  trap cleanup EXIT INT TERM
  ensure_packages
  cargo build --release --bin game-cluster --bin swarm >&2
  WORK_DIR=$(scratch_dir bench-ws)
  export PG_PASSWORD
  PG_PASSWORD=$(random_hex 16)
  start_throwaway_services "$WORK_DIR"
  pg_ensure_db "$PG_PORT" game_cluster
  NODE_PORT=$(free_port)
  start_node
  local token
  token=$(signup_token)
  printf '\nMachine: %s CPUs, %s, %s RAM\n' "$(nproc)" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(free -h | awk '/^Mem:/ {print $2}')"
  # The room's own setting: an APP__ override, else config/default.toml's.
  local tick_ms=${APP__CRASH__ROOMS__AVIATOR__TICK_INTERVAL_MS:-$(sed -n '/^\[crash.rooms.aviator\]/,/^\[/s/^tick_interval_ms = //p' "$REPO_ROOT/config/default.toml")}
  printf 'One node, tick_interval_ms=%s, %ss per run, swarm and node on the same machine\n\n' "$tick_ms" "$BENCH_SECONDS"
  printf '| clients | connected | ticks received | p50 ms | p99 ms | max ms | node KiB/conn |\n|---:|---:|---:|---:|---:|---:|---:|\n'
  local clients out
  for clients in $BENCH_CLIENTS; do
    ulimit -n "$(ulimit -Hn)"
    out=$(target/release/swarm --url "ws://$LOOPBACK:$NODE_PORT/ws" --token "$token" --clients "$clients" \
      --duration-s "$BENCH_SECONDS" --server-pid "$NODE_PID")
    printf '%s\n' "$out" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
per = d["server_bytes_per_connection"]
print("| %d | %d | %d | %.2f | %.2f | %.2f | %s |" % (d["clients"], d["connected"], d["ticks_received"],
      d["tick_latency_p50_ms"], d["tick_latency_p99_ms"], d["tick_latency_max_ms"],
      "%.1f" % (per / 1024) if per is not None else "n/a"))'
    # Let closed sockets drain before the next count.
    sleep 3
  done
}

main "$@"
