#!/usr/bin/env bash
# The capacity run: starts a local cluster of its own (3 nodes behind nginx, Postgres primary + replica,
# Redis + Sentinels) and ramps WebSocket players up in steps with the swarm client, recording per step:
# connected players, tick delivery p50/p99/max, bet acknowledgement p99, messages delivered per second,
# and CPU and memory of every process group (nodes, nginx, Redis, Postgres, the swarm). It stops at the
# first step that misses a target and prints the last step that held. Every run ends with the ledger
# audit and a check that no bet was left unsettled: a load run that loses money fails. The rooms play
# short chains (no game above 5.00x, see `scripts/cluster.sh short-chains`), so that no step and no burst
# waits on a long round; rounds are then a little shorter on average than in production.
#
# Loopback only; every step is bounded in time.
#
# Environment:
#   CAPACITY_STEPS        players per step (default "2000 5000 10000 15000 20000")
#   CAPACITY_STEP_S       measured seconds per step (default 30)
#   CAPACITY_BETTORS      players that bet in every step (default 1000); the others watch
#   CAPACITY_NODES        game nodes (default 3)
#   CAPACITY_SWARMS_MAX_PLAYERS  players per swarm process (default 9000: a process may hold at most
#                         `ulimit -Hn` descriptors, 20,000 in this container)
#   CAPACITY_SOURCES      loopback source addresses per swarm (default 8)
#   CAPACITY_TICK_P99_MS  target tick delivery p99 (default 100)
#   CAPACITY_BET_P99_MS   target bet acknowledgement p99 (default 250)
#   CAPACITY_KEEP=1       leave the cluster running afterwards (stop it with
#                         CLUSTER_DIR=.local/capacity scripts/cluster.sh stop)
#   CAPACITY_OUT          where the per-step JSON lines go (default .local/capacity-last.jsonl)
#   CAPACITY_BURST_BETS   after the steps, this many players (each with a funded account) all bet in the
#                         same betting window (default 10000; 0 skips the burst)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STEPS=${CAPACITY_STEPS:-2000 5000 10000 15000 20000}
STEP_S=${CAPACITY_STEP_S:-30}
BETTORS=${CAPACITY_BETTORS:-1000}
NODES=${CAPACITY_NODES:-3}
SWARM_MAX=${CAPACITY_SWARMS_MAX_PLAYERS:-9000}
SOURCES=${CAPACITY_SOURCES:-8}
TICK_P99_MS=${CAPACITY_TICK_P99_MS:-100}
BET_P99_MS=${CAPACITY_BET_P99_MS:-250}
OUT=${CAPACITY_OUT:-$LOCAL_DIR/capacity-last.jsonl}
export CLUSTER_DIR=${CLUSTER_DIR_CAPACITY:-$LOCAL_DIR/capacity}
export CLUSTER_PORTS=auto CLUSTER_NODES=$NODES
# Rooms play short chains (no game above 5.00x), so a step or the burst never waits on a long round.
export APP__CRASH__CHAIN_AUTO_GENERATE_LENGTH=0
CLUSTER=$REPO_ROOT/scripts/cluster.sh
WORK_DIR=""
BASELINE=""
BURST_BETS=${CAPACITY_BURST_BETS:-10000}

# Only reached through the trap set in main.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  pkill -P $$ swarm 2>/dev/null
  if [[ "${CAPACITY_KEEP:-0}" != 1 ]]; then
    "$CLUSTER" stop --purge >/dev/null 2>&1
  fi
  [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
  exit "$rc"
}

# group_pids GROUP prints the pids of one process group of the cluster.
group_pids() {
  local pid
  case $1 in
    nodes) cat "$CLUSTER_DIR"/run/node-*.pid 2>/dev/null ;;
    nginx)
      pid=$(cat "$CLUSTER_DIR/nginx/nginx.pid" 2>/dev/null) || return 0
      printf '%s\n' "$pid"
      pgrep -P "$pid" || true
      ;;
    redis) find "$CLUSTER_DIR" -name '*.pid' -path '*redis*' -exec cat {} + 2>/dev/null ;;
    postgres)
      local file
      for file in "$CLUSTER_DIR"/pg/postmaster.pid "$CLUSTER_DIR"/pg-replica/postmaster.pid; do
        pid=$(head -n 1 "$file" 2>/dev/null) || continue
        printf '%s\n' "$pid"
        pgrep -P "$pid" || true
      done
      ;;
    # The swarms run in run_step's subshell, so they are found by name (only this run starts them).
    swarm) pgrep -x swarm || true ;;
  esac
}

# snapshot prints "group cpu_ticks pss_kib" for every group, from /proc. Memory is the proportional set
# size, so memory the processes of a group share (Postgres's shared buffers, nginx's workers' pages) is
# counted once.
snapshot() {
  local group pid ticks rss stat
  for group in nodes nginx redis postgres swarm; do
    ticks=0 rss=0
    for pid in $(group_pids "$group"); do
      stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
      # Fields 14 and 15 (utime, stime) counted after the command name, which may hold spaces.
      stat=${stat##*) }
      read -r -a fields <<<"$stat"
      ticks=$((ticks + fields[11] + fields[12]))
      rss=$((rss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
    done
    printf '%s %s %s\n' "$group" "$ticks" "$rss"
  done
}

# fixture_tokens COUNT writes COUNT funded players' tokens to $WORK_DIR/tokens.txt.
fixture_tokens() {
  (
    eval "$("$CLUSTER" env)"
    "$REPO_ROOT/target/release/game-cluster" loadtest-players --count "$1" --prefix "cap$(random_hex 3)" \
      --funds-micros 1000000000 >"$WORK_DIR/tokens.txt"
  )
}

# swarm_tokens I SWARMS writes swarm I's tokens file: its own share of the bettors' tokens first, then
# the spectators' tokens (the last 100 lines, shared by every swarm).
swarm_tokens() {
  local i=$1 swarms=$2 share=$((BETTORS / $2)) first
  first=$((i * share + 1))
  {
    sed -n "${first},$((first + share - 1))p" "$WORK_DIR/tokens.txt"
    tail -n 100 "$WORK_DIR/tokens.txt"
  } >"$WORK_DIR/tokens-$i.txt"
}

# source_addresses I prints swarm I's loopback source addresses, distinct from every other swarm's.
source_addresses() {
  local i=$1 k addresses=()
  for ((k = 1; k <= SOURCES; k++)); do addresses+=("127.0.$((i + 1)).$k"); done
  (IFS=,; printf '%s\n' "${addresses[*]}")
}

# run_step PLAYERS runs the swarm processes of one step and prints the step's JSON line.
run_step() {
  local players=$1 swarms share i pids=() nodes_pids before after
  swarms=$(((players + SWARM_MAX - 1) / SWARM_MAX))
  share=$((players / swarms))
  nodes_pids=$(group_pids nodes | paste -sd, -)
  rm -f "$WORK_DIR"/swarm-*.json
  for ((i = 0; i < swarms; i++)); do
    local count=$share
    ((i == swarms - 1)) && count=$((players - share * (swarms - 1)))
    swarm_tokens "$i" "$swarms"
    "$REPO_ROOT/target/release/swarm" --url "ws://$LOOPBACK:$NGINX_PORT/ws" \
      --tokens-file "$WORK_DIR/tokens-$i.txt" --players "$count" --bettors "$((BETTORS / swarms))" \
      --duration-s "$STEP_S" --ramp-per-s "$((2000 / swarms))" --source-addresses "$(source_addresses "$i")" \
      ${nodes_pids:+--server-pids "$nodes_pids"} >"$WORK_DIR/swarm-$i.json" 2>"$WORK_DIR/swarm-$i.log" &
    pids+=("$!")
  done
  # CPU and memory are sampled over the measured middle of the step, after the ramp.
  sleep $((players / 2000 + 3))
  before=$(snapshot)
  sleep $((STEP_S * 2 / 3))
  after=$(snapshot)
  for i in "${pids[@]}"; do wait "$i" || true; done
  python3 "$REPO_ROOT/scripts/capacity_report.py" step "$players" "$((STEP_S * 2 / 3))" "$TICK_P99_MS" "$BET_P99_MS" \
    "$BASELINE" "$before" "$after" "$WORK_DIR"/swarm-*.json
}

main() {
  trap cleanup EXIT INT TERM
  ensure_packages
  cargo build --release --bin game-cluster --bin swarm >&2
  WORK_DIR=$(mktemp -d)
  "$CLUSTER" start >&2
  "$CLUSTER" short-chains 2000 5.00
  eval "$(grep -E '^(NGINX_PORT)=' "$CLUSTER_DIR/cluster.env")"
  fixture_tokens "$((BETTORS + 100))"
  # The nodes' memory before any player connects: a node keeps what it allocated for earlier steps, so
  # each step's memory per connection is measured against this, not against the step's own start.
  BASELINE=$(snapshot)
  mkdir -p "$(dirname "$OUT")"
  : >"$OUT"
  printf '\nMachine: %s CPUs, %s, %s RAM; %s nodes behind nginx; %ss per step, %s bettors\n\n' "$(nproc)" \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(free -h | awk '/^Mem:/ {print $2}')" \
    "$NODES" "$STEP_S" "$BETTORS"
  python3 "$REPO_ROOT/scripts/capacity_report.py" header
  local players line held=""
  for players in $STEPS; do
    line=$(run_step "$players")
    printf '%s\n' "$line" >>"$OUT"
    python3 "$REPO_ROOT/scripts/capacity_report.py" row "$line"
    if python3 "$REPO_ROOT/scripts/capacity_report.py" held "$line"; then
      held=$players
    else
      printf '\nStep %s missed a target: %s\n' "$players" "$(python3 "$REPO_ROOT/scripts/capacity_report.py" why "$line")"
      break
    fi
    # Sockets of the last step close and the rounds settle before the next step starts.
    sleep 5
  done
  printf '\nLast step that held: %s players\n' "${held:-none}"
  ((BURST_BETS > 0)) && run_burst
  settle_and_audit
}

# run_burst has BURST_BETS players, each with its own funded account, bet in the same betting window
# (the swarm's --burst mode) and prints how many were acknowledged, how fast, and the errors.
run_burst() {
  log "burst: creating $BURST_BETS funded players"
  fixture_tokens "$BURST_BETS"
  "$REPO_ROOT/target/release/swarm" --url "ws://$LOOPBACK:$NGINX_PORT/ws" --tokens-file "$WORK_DIR/tokens.txt" \
    --players "$BURST_BETS" --bettors "$BURST_BETS" --burst --duration-s 10 --ramp-per-s 2000 \
    --source-addresses "$(source_addresses 9)" >"$WORK_DIR/burst.json" 2>"$WORK_DIR/burst.log" || true
  python3 - "$WORK_DIR/burst.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read().strip()
report = json.loads(text.splitlines()[-1]) if text else {}
burst = report.get("burst") or {}
print("\nBurst: %s players connected of %s; bets sent %s, acknowledged %s (%s within the betting window), "
      "unanswered %s, errors %s; ack p50 %s ms, p99 %s ms, max %s ms; first send to last answer %s ms"
      % (report.get("connected"), report.get("players"), burst.get("bets_sent"), burst.get("bets_acked"),
         burst.get("bets_acked_within_window"), burst.get("bets_unanswered"), burst.get("bet_errors"),
         burst.get("bet_ack_p50_ms"), burst.get("bet_ack_p99_ms"), burst.get("bet_ack_max_ms"),
         burst.get("first_send_to_last_answer_ms")))
PY
}

# settle_and_audit waits for open bets to settle, then runs the ledger audit: a load run that loses or
# duplicates money fails.
settle_and_audit() {
  local open i
  for ((i = 0; i < 60; i++)); do
    open=$(
      eval "$("$CLUSTER" env)"
      PGPASSWORD=$APP__DATABASE__PASSWORD psql -qtA -h "$LOOPBACK" -p "$APP__DATABASE__PORT" -U postgres \
        -d "$APP__DATABASE__DATABASE_NAME" -c "SELECT (SELECT count(*) FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
           WHERE r.phase IN ('crashed', 'aborted') AND b.status IN ('pending', 'open', 'cashing_out'))
         + (SELECT count(*) FROM instant_bets WHERE status IN ('pending', 'paying'))"
    )
    [[ "$open" == 0 ]] && break
    sleep 1
  done
  [[ "$open" == 0 ]] || die "$open bets of finished rounds are still open"
  (
    eval "$("$CLUSTER" env)"
    "$REPO_ROOT/target/release/game-cluster" audit >"$WORK_DIR/audit.json"
  ) || die "the ledger audit failed: $(cat "$WORK_DIR/audit.json")"
  log "every bet settled and the ledger audit passed"
}

main "$@"
