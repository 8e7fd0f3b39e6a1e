#!/usr/bin/env bash
# The capacity run: how many WebSocket players the cluster holds at tick p99 under the target, against
# the machine's own limit measured in the same run. It starts a local cluster of its own (3 nodes behind
# nginx, Postgres primary + replica, Redis + Sentinels) and, next to it, the baseline broadcaster
# (src/bin/broadcast-baseline/: the smallest server that writes one tick-sized frame to every socket per
# tick, nothing else) behind an nginx of its own rendered from the same template. For every tick interval
# and topology ("nginx": the swarm goes through nginx; "direct": the swarm connects straight to the
# server processes, spread over them) it searches each server's largest player count that holds: coarse
# steps until one misses, then a bisection between the last step that held and the first that missed.
# Every step records connected players, tick delivery p50/p99/max, bet acknowledgement p99, messages per
# second, memory per connection, CPU and memory of every process group, and how long the server's and
# the swarm's threads waited for a core. The summary table gives, per tick interval and topology, both
# servers' largest counts and their ratio, and memory per connection two ways: the growth over the
# search's start per connection, and per connection added between its steps (without what a node
# allocates once). Then the betting burst, and
# every run ends with the ledger audit and a check that no bet was left unsettled: a load run that loses
# money fails. The rooms play short chains (no game above 5.00x, see `scripts/cluster.sh short-chains`),
# so that no step and no burst waits on a long round.
#
# Fairness: the baseline runs as many processes as the cluster has nodes (one runtime thread each), on
# the same loopback, behind an nginx with the same configuration and the same number of workers, driven
# by the same swarm processes; only the server program differs. A single multi-threaded baseline process
# was the alternative; three processes keep the kernel's work per process (accept queues, descriptors)
# and nginx's upstream spread the same as the cluster's.
# The cluster's tick intervals are its two rooms': `aviator` ticks at the first interval, `jetx` (given
# aviator's betting and pause timings) at the second, so no restart is needed between them. A room ticks
# only while a round runs; the baseline ticks without pause, so its load is the steadier one.
#
# Loopback only; every step is bounded in time (at most CAPACITY_STEPS plus CAPACITY_BISECT_ROUNDS steps
# per search, 2 servers x topologies x tick intervals searches).
#
# Environment:
#   CAPACITY_STEPS        coarse player counts per search (default "2000 4000 6000 8000 10000 13000 16000
#                         20000"); a search stops at the first that misses
#   CAPACITY_BISECT_ROUNDS  steps that bisect between the last count that held and the first that missed
#                         (default 2; rounded to CAPACITY_BISECT_GRAIN, default 250 players)
#   CAPACITY_STEP_S       measured seconds per baseline step (default 20)
#   CAPACITY_CLUSTER_STEP_S  measured seconds per cluster step (default twice CAPACITY_STEP_S): the cluster's
#                         rooms tick only while a round runs, half to three quarters of the time with the
#                         capacity chains, and a window of one or two rounds passes or fails by which rounds
#                         fell in it; a longer step measures about as many ticks as the baseline's
#   CAPACITY_TICKS_MS     tick intervals, at most two (default "100 150")
#   CAPACITY_TOPOLOGIES   "nginx", "direct" or both (default "nginx direct")
#   CAPACITY_SERVERS      "cluster", "baseline" or both (default "cluster baseline")
#   CAPACITY_TICK_BYTES   the baseline's frame payload: "match" (default) sends the mean payload of the ticks the
#                         swarms received from the cluster in the same tick interval and topology's search (ticks
#                         carry the cashouts since the previous one, so the bettors lengthen them: 249 bytes at
#                         100 ms with 1,000 bettors, against 138 without), or 138 when the cluster did not run
#                         it; a number fixes it
#   CAPACITY_BASELINE_PHASE  "aligned" (default): the baseline processes tick at the same instants, as the
#                         cluster's nodes all relay one tick at once; "free": each ticks from its own start,
#                         which spreads their writes over the interval (an easier job than the cluster's)
#   CAPACITY_BETTORS      cluster players that bet in every step (default 1000); the others watch
#   CAPACITY_NODES        game nodes, and baseline processes (default 3)
#   CAPACITY_SWARMS_MAX_PLAYERS  players per swarm process (default 9000: a process may hold at most
#                         `ulimit -Hn` descriptors, 20,000 in this container); at least one swarm per node
#   CAPACITY_SOURCES      loopback source addresses per swarm (default 8)
#   CAPACITY_TICK_P99_MS  target tick delivery p99 (default 100): a step holds when every player
#                         connected, none was closed and the tick p99 is under it
#   CAPACITY_BET_P99_MS   bet acknowledgement p99 flagged in the step rows (default 250)
#   CAPACITY_NGINX_TEMPLATE  an nginx template to use instead of nginx/nginx.conf.template (to measure
#                         a configuration against another)
#   CAPACITY_KEEP=1       leave the cluster running afterwards (stop it with
#                         CLUSTER_DIR=.local/capacity scripts/cluster.sh stop)
#   CAPACITY_OUT          where the per-step and summary JSON lines go (default .local/capacity-last.jsonl)
#   CAPACITY_BURST_BETS   after the searches, this many players (each with a funded account) all bet in the
#                         same betting window (default 10000; 0 skips the burst)
#   CAPACITY_BURST_SPREADS_MS  one burst per value: each player sends its bet at a random moment within that
#                         many ms of the round's start (default "0 3000": all at once, then spread over the
#                         first 3 s of the 5 s window, as players click)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STEPS=${CAPACITY_STEPS:-2000 4000 6000 8000 10000 13000 16000 20000}
BISECT_ROUNDS=${CAPACITY_BISECT_ROUNDS:-2}
BISECT_GRAIN=${CAPACITY_BISECT_GRAIN:-250}
STEP_S=${CAPACITY_STEP_S:-20}
CLUSTER_STEP_S=${CAPACITY_CLUSTER_STEP_S:-$((STEP_S * 2))}
# How often a step that saw no tick in its measured window, or during which the machine stopped, is run
# again (see measure_step).
STEP_REPEATS_MAX=2
read -r -a TICKS_MS <<<"${CAPACITY_TICKS_MS:-100 150}"
TOPOLOGIES=${CAPACITY_TOPOLOGIES:-nginx direct}
SERVERS=${CAPACITY_SERVERS:-cluster baseline}
TICK_BYTES_SETTING=${CAPACITY_TICK_BYTES:-match}
# A tick's payload without cashouts: the baseline's frame when there is no cluster search to match.
TICK_BYTES_PLAIN=138
TICK_BYTES=$TICK_BYTES_PLAIN
BASELINE_PHASE=${CAPACITY_BASELINE_PHASE:-aligned}
BETTORS=${CAPACITY_BETTORS:-1000}
NODES=${CAPACITY_NODES:-3}
SWARM_MAX=${CAPACITY_SWARMS_MAX_PLAYERS:-9000}
SOURCES=${CAPACITY_SOURCES:-8}
TICK_P99_MS=${CAPACITY_TICK_P99_MS:-100}
BET_P99_MS=${CAPACITY_BET_P99_MS:-250}
OUT=${CAPACITY_OUT:-$LOCAL_DIR/capacity-last.jsonl}
NGINX_TEMPLATE=${CAPACITY_NGINX_TEMPLATE:-$NGINX_TEMPLATE}
export NGINX_TEMPLATE
export CLUSTER_DIR=${CLUSTER_DIR_CAPACITY:-$LOCAL_DIR/capacity}
export CLUSTER_PORTS=auto CLUSTER_NODES=$NODES
# The plain Postgres (a primary and a replica): the capacity figures measure the nodes and nginx, and the
# per-process CPU table below reads the plain servers' pids; Patroni's three members, etcd and HAProxy
# would only take CPU from the nodes on this 2-core machine.
export CLUSTER_POSTGRES=plain
# The nodes run in this script's session, as the baseline processes and the swarms do. Linux groups the
# tasks of one session for scheduling (autogroups, /proc/sys/kernel/sched_autogroup_enabled): nodes in
# sessions of their own (cluster.sh's default) shared the cores with the swarm group by group, in slices of
# milliseconds, where the baseline, in the swarms' group, hands each frame to its reader at once. That
# difference of launch alone cost the cluster about a quarter of its tick latency (docs/BENCHMARKS.md, ninth
# session); only the server program may differ between the two.
export CLUSTER_NODE_SESSION=${CAPACITY_NODE_SESSION:-caller}
# Rooms play short chains (no game above 5.00x), so a step or the burst never waits on a long round.
export APP__CRASH__CHAIN_AUTO_GENERATE_LENGTH=0
lift_rate_limits
# The room that ticks at each interval of TICKS_MS, in order.
ROOMS=(aviator jetx)
CLUSTER=$REPO_ROOT/scripts/cluster.sh
WORK_DIR=""
BURST_BETS=${CAPACITY_BURST_BETS:-10000}
BURST_SPREADS_MS=${CAPACITY_BURST_SPREADS_MS:-0 3000}
BASELINE_BIN=$REPO_ROOT/target/release/broadcast-baseline
BASELINE_NGINX_DIR=""
BASELINE_NGINX_PORT=""
BASELINE_PORTS=()
BASELINE_PIDS=()
# What the current search drives: the server's pids, the nginx in front (empty when direct), the ports the
# swarms connect to, the room and whether its players bet.
SERVER_PIDS=()
# The swarm processes of the current step (set in run_step's subshell, where its snapshots run).
SWARM_PIDS=()
ACTIVE_NGINX_DIR=""
TARGET_PORTS=()
ROOM=aviator
STEP_BETTORS=0
# The "before" of memory per connection: the current search's snapshot, with the server's and nginx's
# lines replaced by their first snapshot in this run (FIRST_SAMPLES), since a node or an nginx keeps what
# it allocated for earlier steps and searches. The baseline restarts for every search. A node or nginx
# reuses that memory, so only the first search of each (the first tick interval's nginx search for the
# nodes and for each nginx) gives a true figure; later searches show less.
SEARCH_START=""
declare -A FIRST_SAMPLES=()
SEARCH_HELD=0
SERVER_KIND=cluster
TOPOLOGY=nginx
TICK_MS=100

# Only reached through the trap set in main.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  pkill -P $$ swarm 2>/dev/null
  stop_baseline
  [[ -n "$BASELINE_NGINX_DIR" ]] && nginx_stop "$BASELINE_NGINX_DIR" 10 && rm -rf "$BASELINE_NGINX_DIR"
  if [[ "${CAPACITY_KEEP:-0}" != 1 ]]; then
    "$CLUSTER" stop --purge >/dev/null 2>&1
  fi
  # A baseline-only run made the directory for its nginx and started no cluster in it.
  rmdir "$CLUSTER_DIR" 2>/dev/null
  [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
  exit "$rc"
}

# group_pids GROUP prints the pids of one process group: the server of the current search (the nodes or
# the baseline processes), the nginx in front of it (none when direct), Redis, Postgres, the swarms.
group_pids() {
  local pid
  case $1 in
    server) printf '%s\n' "${SERVER_PIDS[@]}" ;;
    nginx)
      [[ -n "$ACTIVE_NGINX_DIR" ]] || return 0
      pid=$(cat "$ACTIVE_NGINX_DIR/nginx.pid" 2>/dev/null) || return 0
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
    # This step's own swarms: other runs on the machine may have swarms of their own.
    swarm) printf '%s\n' "${SWARM_PIDS[@]}" ;;
  esac
}

# snapshot prints "group cpu_ticks pss_kib wait_ms" for every group, from /proc. Memory is the
# proportional set size, so memory the processes of a group share (Postgres's shared buffers, nginx's
# workers' pages) is counted once. wait_ms is the time the group's threads were runnable but waited for a
# core (the second field of each thread's schedstat): latency that CPU figures alone do not show.
snapshot() {
  local group pid ticks rss stat wait
  for group in server nginx redis postgres swarm; do
    ticks=0 rss=0 wait=0
    for pid in $(group_pids "$group"); do
      stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
      # Fields 14 and 15 (utime, stime) counted after the command name, which may hold spaces.
      stat=${stat##*) }
      read -r -a fields <<<"$stat"
      ticks=$((ticks + fields[11] + fields[12]))
      rss=$((rss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
      wait=$((wait + $(cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ns += $2} END {printf "%d", ns / 1000000}')))
    done
    printf '%s %s %s %s\n' "$group" "$ticks" "$rss" "$wait"
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

# run_step PLAYERS runs the swarm processes of one step against TARGET_PORTS (at least one swarm per
# port, so that direct players spread over every server process) and prints the step's JSON line.
run_step() {
  local players=$1 swarms share i before after watch ports=${#TARGET_PORTS[@]} step_s=$STEP_S
  [[ "$SERVER_KIND" == cluster ]] && step_s=$CLUSTER_STEP_S
  swarms=$(((players + SWARM_MAX - 1) / SWARM_MAX))
  ((swarms < NODES)) && swarms=$NODES
  share=$((players / swarms))
  rm -f "$WORK_DIR"/swarm-*.json "$WORK_DIR/stall-ms"
  python3 "$REPO_ROOT/scripts/stall_watch.py" "$WORK_DIR/stall-ms" &
  watch=$!
  for ((i = 0; i < swarms; i++)); do
    local count=$share
    ((i == swarms - 1)) && count=$((players - share * (swarms - 1)))
    swarm_tokens "$i" "$swarms"
    "$REPO_ROOT/target/release/swarm" --url "ws://$LOOPBACK:${TARGET_PORTS[i % ports]}/ws" --room "$ROOM" \
      --tokens-file "$WORK_DIR/tokens-$i.txt" --players "$count" --bettors "$((STEP_BETTORS / swarms))" \
      --duration-s "$step_s" --ramp-per-s "$((2000 / swarms))" --source-addresses "$(source_addresses "$i")" \
      >"$WORK_DIR/swarm-$i.json" 2>"$WORK_DIR/swarm-$i.log" &
    SWARM_PIDS+=("$!")
  done
  # CPU and memory are sampled over the measured middle of the step, after the ramp.
  sleep $((players / 2000 + 3))
  before=$(snapshot)
  sleep $((step_s * 2 / 3))
  after=$(snapshot)
  for i in "${SWARM_PIDS[@]}"; do wait "$i" || true; done
  kill -TERM "$watch" 2>/dev/null || true
  wait "$watch" || true
  MACHINE_STALL_MS=$(cat "$WORK_DIR/stall-ms" 2>/dev/null || echo 0) \
    python3 "$REPO_ROOT/scripts/capacity_report.py" step "$SERVER_KIND" "$TOPOLOGY" "$TICK_MS" "$players" \
    "$((step_s * 2 / 3))" "$TICK_P99_MS" "$BET_P99_MS" "$SEARCH_START" "$before" "$after" "$WORK_DIR"/swarm-*.json
}

# measure_step PLAYERS runs one step, records and prints it, and succeeds when it held. Two kinds of step
# say nothing about fan-out, so they are recorded and run again, up to STEP_REPEATS_MAX times, and only
# then count as they came out: one whose measured window saw no tick at all (the cluster's rounds there all
# crashed at 1.00x, or the window fell between rounds), and one during which the machine itself stopped
# (scripts/stall_watch.py overslept by a second or more: every process frozen at once, ticks late, a
# lease expired; the host paused or snapshotted the virtual machine).
measure_step() {
  local line repeat stall
  for ((repeat = 0; repeat <= STEP_REPEATS_MAX; repeat++)); do
    line=$(run_step "$1")
    printf '%s\n' "$line" >>"$OUT"
    python3 "$REPO_ROOT/scripts/capacity_report.py" row "$line"
    # Sockets of the step close and the rounds settle before the next step starts.
    sleep 5
    if stall=$(python3 "$REPO_ROOT/scripts/capacity_report.py" stalled "$line"); then
      ((repeat < STEP_REPEATS_MAX)) && log "the machine stopped for $stall ms during the step; the step runs again"
      continue
    fi
    python3 "$REPO_ROOT/scripts/capacity_report.py" ticked "$line" && break
    ((repeat < STEP_REPEATS_MAX)) && log "no tick reached the players in the measured window; the step runs again"
  done
  python3 "$REPO_ROOT/scripts/capacity_report.py" held "$line"
}

# search sets SEARCH_HELD to the largest player count that held: the coarse steps until one misses, then
# BISECT_ROUNDS steps between the last that held and the first that missed.
search() {
  local players low=0 high="" middle round
  SEARCH_START=$(first_samples "$(snapshot)")
  for players in $STEPS; do
    if measure_step "$players"; then low=$players; else high=$players && break; fi
  done
  for ((round = 0; round < BISECT_ROUNDS && ${#high} > 0; round++)); do
    middle=$(((low + high) / 2 / BISECT_GRAIN * BISECT_GRAIN))
    ((middle > low && middle < high)) || break
    if measure_step "$middle"; then low=$middle; else high=$middle; fi
  done
  SEARCH_HELD=$low
}

# first_samples SNAPSHOT prints SNAPSHOT with its server and nginx lines replaced by the first ones seen for
# the same server kind and nginx instance (the baseline's server line is always its own, fresh one).
first_samples() {
  local group ticks pss wait key
  while read -r group ticks pss wait; do
    case $group in
      server) key=server:$SERVER_KIND ;;
      nginx) key=nginx:$ACTIVE_NGINX_DIR ;;
      *) key="" ;;
    esac
    if [[ -n "$key" && "$key" != server:baseline ]]; then
      [[ -n "${FIRST_SAMPLES[$key]:-}" ]] || FIRST_SAMPLES[$key]="$ticks $pss $wait"
      printf '%s %s\n' "$group" "${FIRST_SAMPLES[$key]}"
    else
      printf '%s %s %s %s\n' "$group" "$ticks" "$pss" "$wait"
    fi
  done <<<"$1"
}

# baseline_frame_bytes TOPOLOGY sets TICK_BYTES, the baseline's frame payload for this search (see
# CAPACITY_TICK_BYTES), and logs it.
baseline_frame_bytes() {
  if [[ "$TICK_BYTES_SETTING" =~ ^[0-9]+$ ]]; then
    TICK_BYTES=$TICK_BYTES_SETTING
  else
    [[ "$TICK_BYTES_SETTING" == match ]] || die "CAPACITY_TICK_BYTES is \"match\" or a byte count"
    TICK_BYTES=$(python3 "$REPO_ROOT/scripts/capacity_report.py" tick_bytes "$OUT" "$1" "$TICK_MS")
    TICK_BYTES=${TICK_BYTES:-$TICK_BYTES_PLAIN}
  fi
  log "baseline: frames of $TICK_BYTES payload bytes ($TICK_BYTES_SETTING)"
}

# start_baseline TICK_MS starts one baseline process per port of BASELINE_PORTS and waits until each
# listens (at most 10 s).
start_baseline() {
  local port deadline
  BASELINE_PIDS=()
  for port in "${BASELINE_PORTS[@]}"; do
    "$BASELINE_BIN" --listen "$LOOPBACK:$port" --tick-interval-ms "$1" --frame-bytes "$TICK_BYTES" \
      --tick-phase "$BASELINE_PHASE" >>"$WORK_DIR/baseline-$port.log" 2>&1 &
    BASELINE_PIDS+=("$!")
  done
  for port in "${BASELINE_PORTS[@]}"; do
    deadline=$((SECONDS + 10))
    until port_in_use "$port"; do
      ((SECONDS < deadline)) || die "the baseline did not listen on $port; see $WORK_DIR/baseline-$port.log"
      sleep 0.1
    done
  done
}

# stop_baseline stops the baseline processes this run started.
stop_baseline() {
  local pid
  for pid in "${BASELINE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BASELINE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BASELINE_PIDS=()
}

# start_baseline_nginx picks the baseline's ports and starts an nginx of its own in front of them, rendered
# from the same template as the cluster's (the upstream servers may be down while no search runs).
start_baseline_nginx() {
  local i
  for ((i = 0; i < NODES; i++)); do BASELINE_PORTS+=("$(free_port)"); done
  # Inside the cluster directory, which nginx's workers may traverse (see scripts/cluster.sh).
  BASELINE_NGINX_DIR=$CLUSTER_DIR/nginx-baseline
  BASELINE_NGINX_PORT=$(free_port)
  mkdir -p "$BASELINE_NGINX_DIR"
  for i in "${BASELINE_PORTS[@]}"; do
    printf 'server %s:%s max_fails=1 fail_timeout=2s;\n' "$LOOPBACK" "$i"
  done >"$BASELINE_NGINX_DIR/upstream.conf"
  nginx_render "$BASELINE_NGINX_DIR" "$LOOPBACK:$BASELINE_NGINX_PORT" "$BASELINE_NGINX_DIR/upstream.conf"
  nginx_start "$BASELINE_NGINX_DIR" "$BASELINE_NGINX_PORT" || die "the baseline's nginx did not start"
}

# use_server KIND TOPOLOGY points the next search at the cluster or the baseline, through nginx or direct.
use_server() {
  SERVER_KIND=$1 TOPOLOGY=$2
  if [[ "$1" == cluster ]]; then
    mapfile -t SERVER_PIDS < <(cat "$CLUSTER_DIR"/run/node-*.pid 2>/dev/null)
    STEP_BETTORS=$BETTORS
    if [[ "$2" == nginx ]]; then
      ACTIVE_NGINX_DIR=$CLUSTER_DIR/nginx TARGET_PORTS=("$NGINX_PORT")
    else
      ACTIVE_NGINX_DIR="" && read -r -a TARGET_PORTS <<<"$NODE_PORTS"
    fi
  else
    SERVER_PIDS=("${BASELINE_PIDS[@]}")
    STEP_BETTORS=0
    if [[ "$2" == nginx ]]; then
      ACTIVE_NGINX_DIR=$BASELINE_NGINX_DIR TARGET_PORTS=("$BASELINE_NGINX_PORT")
    else
      ACTIVE_NGINX_DIR="" TARGET_PORTS=("${BASELINE_PORTS[@]}")
    fi
  fi
}

# configure_rooms gives each tick interval its room: aviator ticks at the first, jetx, with aviator's
# betting and pause timings, at the second.
configure_rooms() {
  ((${#TICKS_MS[@]} >= 1 && ${#TICKS_MS[@]} <= ${#ROOMS[@]})) || die "CAPACITY_TICKS_MS takes one or two intervals"
  export APP__CRASH__ROOMS__AVIATOR__TICK_INTERVAL_MS=${TICKS_MS[0]}
  if ((${#TICKS_MS[@]} == 2)); then
    export APP__CRASH__ROOMS__JETX__TICK_INTERVAL_MS=${TICKS_MS[1]}
    export APP__CRASH__ROOMS__JETX__BETTING_MS=5000 APP__CRASH__ROOMS__JETX__CRASHED_PAUSE_MS=3000
  fi
}

# search_all runs every search, alternating cluster and baseline within each tick interval and topology so
# that both see the machine in the same minutes.
search_all() {
  local index topology server
  for index in "${!TICKS_MS[@]}"; do
    TICK_MS=${TICKS_MS[$index]} ROOM=${ROOMS[$index]}
    for topology in $TOPOLOGIES; do
      for server in $SERVERS; do
        [[ "$server" == baseline ]] && baseline_frame_bytes "$topology" && start_baseline "$TICK_MS"
        use_server "$server" "$topology"
        log "search: $server, $topology, ${TICK_MS} ms ticks"
        search
        [[ "$server" == baseline ]] && stop_baseline
        printf '%s\n' "{\"kind\": \"held\", \"server\": \"$server\", \"topology\": \"$topology\", \"tick_interval_ms\": $TICK_MS, \"players\": $SEARCH_HELD}" >>"$OUT"
        printf '\n%s, %s, %s ms ticks: %s players held\n\n' "$server" "$topology" "$TICK_MS" "$SEARCH_HELD"
      done
    done
  done
}

main() {
  trap cleanup EXIT INT TERM
  ensure_packages
  cargo build --release --bin game-cluster --bin swarm --bin broadcast-baseline >&2
  WORK_DIR=$(mktemp -d)
  configure_rooms
  if cluster_needed; then
    "$CLUSTER" start >&2
    "$CLUSTER" short-chains 2000 5.00
    eval "$(grep -E '^(NGINX_PORT|NODE_PORTS)=' "$CLUSTER_DIR/cluster.env")"
    fixture_tokens "$((BETTORS + 100))"
  else
    # The baseline alone ignores tokens; the swarm still wants one per line.
    mkdir -p "$CLUSTER_DIR" && chmod 755 "$CLUSTER_DIR"
    printf 'baseline\n%.0s' {1..100} >"$WORK_DIR/tokens.txt"
  fi
  start_baseline_nginx
  mkdir -p "$(dirname "$OUT")"
  : >"$OUT"
  printf '\nMachine: %s CPUs, %s, %s RAM; %s nodes (and %s baseline processes); %ss per cluster step, %ss per baseline step, %s bettors\n\n' \
    "$(nproc)" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" "$(free -h | awk '/^Mem:/ {print $2}')" \
    "$NODES" "$NODES" "$CLUSTER_STEP_S" "$STEP_S" "$BETTORS"
  python3 "$REPO_ROOT/scripts/capacity_report.py" header
  search_all
  python3 "$REPO_ROOT/scripts/capacity_report.py" summary "$OUT"
  ((BURST_BETS > 0)) && run_burst
  if cluster_needed; then settle_and_audit; fi
}

# cluster_needed succeeds unless the run measures the baseline alone, without the burst (a quick way to
# compare nginx configurations: CAPACITY_SERVERS=baseline CAPACITY_BURST_BETS=0).
cluster_needed() {
  [[ " $SERVERS " == *" cluster "* ]] || ((BURST_BETS > 0))
}

# run_burst has BURST_BETS players, each with its own funded account, bet in the same betting window
# (the swarm's --burst mode), once per BURST_SPREADS_MS value, and prints how many were acknowledged, how
# fast, and the errors.
run_burst() {
  local spread
  log "burst: creating $BURST_BETS funded players"
  fixture_tokens "$BURST_BETS"
  for spread in $BURST_SPREADS_MS; do
    log "burst: $BURST_BETS bets, each sent within $spread ms of the round's start"
    wal_before=$(wal_counters)
    burst_started=$(date -u +%s.%N)
    # The same players bet again in a later round: a bet's client id names its round.
    "$REPO_ROOT/target/release/swarm" --url "ws://$LOOPBACK:$NGINX_PORT/ws" --tokens-file "$WORK_DIR/tokens.txt" \
      --players "$BURST_BETS" --bettors "$BURST_BETS" --burst --burst-spread-ms "$spread" --duration-s 10 \
      --ramp-per-s 2000 --source-addresses "$(source_addresses 9)" >"$WORK_DIR/burst.json" 2>"$WORK_DIR/burst.log" || true
    python3 - "$WORK_DIR/burst.json" "$spread" <<'PY'
import json, sys
text = open(sys.argv[1]).read().strip()
report = json.loads(text.splitlines()[-1]) if text else {}
burst = report.get("burst") or {}
print("\nBurst, bets sent within %s ms of the round's start: %s players connected of %s; bets sent %s, "
      "acknowledged %s (%s within the betting window), unanswered %s, errors %s; ack p50 %s ms, p99 %s ms, "
      "max %s ms; first send to last answer %s ms"
      % (sys.argv[2], report.get("connected"), report.get("players"), burst.get("bets_sent"),
         burst.get("bets_acked"), burst.get("bets_acked_within_window"), burst.get("bets_unanswered"),
         burst.get("bet_errors"), burst.get("bet_ack_p50_ms"), burst.get("bet_ack_p99_ms"),
         burst.get("bet_ack_max_ms"), burst.get("first_send_to_last_answer_ms")))
PY
    burst_wal_and_checkpoints "$wal_before" "$(wal_counters)" "$burst_started" "$(date -u +%s.%N)"
    sleep 5
  done
}

# wal_counters prints the primary's WAL totals "bytes full_page_images buffers_full" (pg_stat_wal).
wal_counters() {
  (
    eval "$("$CLUSTER" env)"
    PG_PASSWORD=$APP__DATABASE__PASSWORD pg_psql "$APP__DATABASE__PORT" postgres -tAF ' ' \
      -c "SELECT wal_bytes, wal_fpi, wal_buffers_full FROM pg_stat_wal"
  ) 2>/dev/null || echo "0 0 0"
}

# burst_wal_and_checkpoints BEFORE AFTER START END prints the WAL one burst wrote (BEFORE and AFTER from
# wal_counters) and every checkpoint of the primary that ran during it (START and END in epoch seconds),
# from the primary's log: a checkpoint makes the first change of each page write the whole page to the
# WAL, which is the suspect for the burst's slow runs (docs/BENCHMARKS.md, issue 18).
burst_wal_and_checkpoints() {
  python3 - "$1" "$2" "$3" "$4" "$(pg_log_file "$CLUSTER_DIR/pg")" <<'PY'
import datetime, re, sys
before, after = [int(float(x)) for x in sys.argv[1].split()], [int(float(x)) for x in sys.argv[2].split()]
start, end, log_path = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) UTC .*checkpoint (starting|complete): ?(.*)$")
checkpoints, current = [], None
try:
    lines = open(log_path, errors="replace").read().splitlines()
except OSError:
    lines = []
for line in lines:
    match = stamp.match(line)
    if not match:
        continue
    at = datetime.datetime.fromisoformat(match.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
    if match.group(2) == "starting":
        current = {"start": at, "why": match.group(3).strip(), "end": None, "detail": ""}
        checkpoints.append(current)
    elif current is not None:
        current["end"], current["detail"] = at, match.group(3).split(";")[0]
        current = None
during = [c for c in checkpoints if c["start"] <= end and (c["end"] is None or c["end"] >= start)]
clock = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S")
described = ["%s from %s to %s (%s)" % (c["why"], clock(c["start"]), clock(c["end"]) if c["end"] else "still running",
                                        c["detail"] or "not complete") for c in during]
print("The burst's swarm run, %s to %s (its players connecting included): WAL %.1f MB, %d full-page "
      "images, %d writes because the WAL buffers were full; checkpoints during it: %s"
      % (clock(start), clock(end), (after[0] - before[0]) / 1e6, after[1] - before[1], after[2] - before[2],
         "; ".join(described) if described else "none"))
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
