#!/usr/bin/env bash
# `make bench-slots-server`: slot spins per second through nginx on a local cluster of its own, with
# the wallet's own transfers per second (and pgbench's TPC-B) measured on the same Postgres in the same
# run as the baseline, since a spin is one Postgres transaction plus a ledger debit and, when it wins,
# a ledger credit. Prints a Markdown report and saves it to .local/bench-slots-server-last.md.
#
# Method: scripts/cluster.sh starts NODES release nodes, nginx, Postgres primary + streaming replica
# (durable commits: fsync and synchronous_commit on) and Redis + Sentinels on free loopback ports,
# with cheap password hashing (sign-ups are not what is measured) and no crash chain (the crash rooms
# wait idle). Then scripts/loadtest.sh runs loadtest/slots.js with BENCH=1: VUS players with no think
# time, each spinning (and revealing the free spins it triggers) as fast as its answers come, for
# WARMUP + the measured window; spins answered 200 inside the window give spins/s and the latency
# quantiles. loadtest.sh then checks that every slot round settled and runs the ledger audit. CPU per
# process group (k6, nginx, nodes, Postgres, Redis, and the whole machine from /proc/stat) is sampled
# over the middle of the window. Last, on the same Postgres: pgbench TPC-B, then `game-cluster
# bench-wallet` (transfers through the real shard actors, default batch settings) at each concurrency.
#
# Environment (defaults in brackets):
#   BENCH_VUS               k6 players spinning at once [256]
#   BENCH_SECONDS           the measured window of the spin run, and each baseline run [30]
#   BENCH_WARMUP_S          spins before the window (sign-ups, sessions, pools warming) [15]
#   BENCH_NODES             game nodes behind nginx [3]
#   BENCH_WALLET_CONCURRENCY  bench-wallet concurrencies, one run each ["256 1024"]
#   BENCH_PGBENCH           0 skips pgbench [1]
#   BENCH_GAME_BIN          the node binary (default: target/release/game-cluster, built here first)
#   BENCH_KEEP              1 keeps the cluster's directory (logs) instead of deleting it [0]
#   SLOT_GAMES, SLOT_BET_MICROS, BUY_PROBABILITY  reach loadtest/slots.js (BUY_PROBABILITY defaults to 0 here:
#                           spins are measured, not bought bonuses)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_VUS=${BENCH_VUS:-256}
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_WARMUP_S=${BENCH_WARMUP_S:-15}
BENCH_NODES=${BENCH_NODES:-3}
BENCH_WALLET_CONCURRENCY=${BENCH_WALLET_CONCURRENCY:-256 1024}
BENCH_PGBENCH=${BENCH_PGBENCH:-1}
export GAME_BIN=${BENCH_GAME_BIN:-$REPO_ROOT/target/release/game-cluster}
export CLUSTER_PORTS=auto CLUSTER_NODES=$BENCH_NODES CLUSTER_APP_ENV=local
# The plain Postgres (primary + streaming replica), as the method above says and the CPU table reads;
# the Patroni topology's cost is measured on its own (docs/BENCHMARKS.md, issue 20).
export CLUSTER_POSTGRES=plain
CLUSTER_DIR=""
WORK_DIR=""
# Clock ticks per second of /proc's CPU times.
CLK_TCK=$(getconf CLK_TCK)

# Only reached through the trap set in main.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [[ -n "$CLUSTER_DIR" ]]; then
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
      "$REPO_ROOT/scripts/cluster.sh" stop >/dev/null 2>&1
      log "kept the cluster's directory $CLUSTER_DIR"
    else
      "$REPO_ROOT/scripts/cluster.sh" stop --purge >/dev/null 2>&1
    fi
  fi
  [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
  exit "$rc"
}

# root_pids LOADTEST_PID prints "group pid..." lines: the processes whose trees make up each group of
# this run (k6 below loadtest.sh; the nodes; nginx's master; both Postgres postmasters; Redis and the
# Sentinels).
root_pids() {
  local file redis=()
  echo "k6 $1"
  echo "nodes $(cat "$CLUSTER_DIR"/run/node-*.pid 2>/dev/null | tr '\n' ' ')"
  echo "nginx $(cat "$CLUSTER_DIR/nginx/nginx.pid" 2>/dev/null)"
  echo "postgres $(head -q -n 1 "$CLUSTER_DIR/pg/postmaster.pid" "$CLUSTER_DIR/pg-replica/postmaster.pid" 2>/dev/null | tr '\n' ' ')"
  for file in "$CLUSTER_DIR"/redis-*/redis.pid "$CLUSTER_DIR"/sentinel-*/redis.pid; do
    [[ -f "$file" ]] && redis+=("$(cat "$file")")
  done
  echo "redis ${redis[*]}"
}

# cpu_snapshot ROOTS_FILE prints a timestamp, then "group ticks" for each group of ROOTS_FILE (the CPU
# time, user + system, of every process in the trees of its roots, reaped children included), then
# "machine busy total" from /proc/stat, all read in one quick pass.
cpu_snapshot() {
  python3 - "$1" <<'PY'
import os, sys, time
stamp = time.time()
stats = {}
for name in os.listdir("/proc"):
    if name.isdigit():
        try:
            text = open(f"/proc/{name}/stat").read()
        except OSError:
            continue
        # After the command name (which may hold spaces): state, ppid, ..., utime is the 12th field.
        fields = text[text.rindex(")") + 2:].split()
        stats[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
children = {}
for pid, (ppid, _) in stats.items():
    children.setdefault(ppid, []).append(pid)
def tree(pid):
    todo, seen = [pid], []
    while todo:
        current = todo.pop()
        if current in stats:
            seen.append(current)
            todo.extend(children.get(current, []))
    return seen
print(f"time {stamp}")
for line in open(sys.argv[1]):
    group, *roots = line.split()
    print(group, sum(stats[pid][1] for root in roots for pid in tree(int(root))))
cpu = open("/proc/stat").readline().split()[1:9]
user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in cpu)
busy = user + nice + system + irq + softirq + steal
print("machine", busy, busy + idle + iowait)
PY
}

# sample_cpu LOADTEST_PID writes two snapshots around the middle of the measured window to WORK_DIR.
sample_cpu() {
  local pid=$1 quarter=$((BENCH_SECONDS / 4))
  # The window opens about WARMUP (plus setup) after k6 starts; sample its middle half.
  sleep $((BENCH_WARMUP_S + 2 + quarter))
  root_pids "$pid" >"$WORK_DIR/cpu-roots"
  cpu_snapshot "$WORK_DIR/cpu-roots" >"$WORK_DIR/cpu-before"
  sleep $((BENCH_SECONDS - 2 * quarter))
  cpu_snapshot "$WORK_DIR/cpu-roots" >"$WORK_DIR/cpu-after"
}

# cpu_table prints the CPU use of each group between the two snapshots (100% = one core).
cpu_table() {
  [[ -s "$WORK_DIR/cpu-after" ]] || { echo "(no CPU sample: the run ended before the window's middle)"; return 0; }
  python3 - "$WORK_DIR" "$CLK_TCK" "$(nproc)" <<'PY'
import sys
work, tck, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def read(name):
    rows = {}
    for line in open(f"{work}/{name}"):
        parts = line.split()
        rows[parts[0]] = [float(x) for x in parts[1:]]
    return rows
before, after = read("cpu-before"), read("cpu-after")
seconds = after["time"][0] - before["time"][0]
print(f"CPU over {seconds:.1f} s in the middle of the window (100% = one core; {cores} cores):")
print()
print("| k6 | nginx | nodes | Postgres | Redis | whole machine busy | of which outside this run |")
print("|---:|---:|---:|---:|---:|---:|---:|")
ours = 0.0
cells = []
for group in ["k6", "nginx", "nodes", "postgres", "redis"]:
    share = 100.0 * (after[group][0] - before[group][0]) / tck / seconds
    ours += share
    cells.append(f"{share:.0f}%")
busy = after["machine"][0] - before["machine"][0]
total = after["machine"][1] - before["machine"][1]
machine = 100.0 * cores * busy / total if total > 0 else 0.0
cells.append(f"{machine:.0f}%")
cells.append(f"{max(machine - ours, 0.0):.0f}%")
print("| " + " | ".join(cells) + " |")
PY
}

# db_counters prints "transactions rollbacks wal_syncs wal_bytes rounds" of the cluster's primary:
# committed transactions of its database (read-only ones included), rolled back ones (the wallet's
# fast path rolls back when a balance it read moved meanwhile), WAL flushes to disk (the durable commits'
# fsyncs, several commits sharing one when they come together), the WAL position in bytes and the slot
# rounds stored.
db_counters() {
  pg_psql "$PG_PORT" "$DB_NAME" -tA -F ' ' -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
    (SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()),
    (SELECT wal_sync FROM pg_stat_wal), pg_current_wal_lsn() - '0/0'::pg_lsn, (SELECT count(*) FROM slot_rounds)"
}

# db_line BEFORE AFTER prints the commits and WAL per slot round over the whole spin run (warm-up,
# sign-ups and reveals included).
db_line() {
  local commits0 rollbacks0 syncs0 wal0 rounds0 commits1 rollbacks1 syncs1 wal1 rounds1
  read -r commits0 rollbacks0 syncs0 wal0 rounds0 <<<"$1"
  read -r commits1 rollbacks1 syncs1 wal1 rounds1 <<<"$2"
  awk -v c=$((commits1 - commits0)) -v b=$((rollbacks1 - rollbacks0)) -v s=$((syncs1 - syncs0)) \
    -v w=$((wal1 - wal0)) -v r=$((rounds1 - rounds0)) 'BEGIN {
    d = (r > 0 ? r : 1)
    printf "Whole spin run: %d slot rounds stored; per round %.2f transactions committed, %.2f rolled back, %.2f WAL flushes, %.1f KiB of WAL\n",
      r, c / d, b / d, s / d, w / d / 1024 }'
}

# spin_figures SUMMARY prints the spin run's figures from k6's summary export as Markdown.
spin_figures() {
  python3 - "$1" "$BENCH_SECONDS" <<'PY'
import json, sys
metrics = json.load(open(sys.argv[1]))["metrics"]
window = float(sys.argv[2])
def get(name, field, default=0):
    return metrics.get(name, {}).get(field, default)
spins = get("bench_spins", "count")
print("| spins in window | spins/s | p50 ms | p90 ms | p99 ms | max ms | reveals (whole run) | failed requests | checks passed |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| {spins} | {spins / window:,.0f} | {get('bench_spin_ms', 'med'):.1f} | {get('bench_spin_ms', 'p(90)'):.1f} "
      f"| {get('bench_spin_ms', 'p(99)'):.1f} | {get('bench_spin_ms', 'max'):.1f} | {get('slot_reveals', 'count')} "
      f"| {100 * get('http_req_failed', 'value'):.2f}% | {100 * get('checks', 'value'):.2f}% |")
PY
}

# run_pgbench prints the TPS of pgbench's TPC-B on the cluster's primary (database pgbench).
run_pgbench() {
  local bin out
  bin=$(pg_bin_dir)
  pg_ensure_db "$PG_PORT" pgbench >/dev/null
  log "pgbench: initialising scale 8"
  PGPASSWORD=$PG_PASSWORD "$bin/pgbench" -i -s 8 -q -h "$LOOPBACK" -p "$PG_PORT" -U postgres pgbench \
    >"$WORK_DIR/pgbench-init.log" 2>&1 || { cat "$WORK_DIR/pgbench-init.log" >&2; die "pgbench -i failed"; }
  log "pgbench: TPC-B, 8 clients, ${BENCH_SECONDS}s"
  out=$(PGPASSWORD=$PG_PASSWORD "$bin/pgbench" -c 8 -j 2 -T "$BENCH_SECONDS" -M prepared \
    -h "$LOOPBACK" -p "$PG_PORT" -U postgres pgbench 2>&1) || { printf '%s\n' "$out" >&2; die "pgbench failed"; }
  printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1
}

# run_wallet CONCURRENCY prints bench-wallet's JSON line, run against database wallet_bench of the
# cluster's primary with the cluster's settings.
run_wallet() {
  local concurrency=$1
  log "bench-wallet: concurrency $concurrency, ${BENCH_SECONDS}s, on the cluster's Postgres"
  pg_ensure_db "$PG_PORT" wallet_bench >/dev/null
  (
    clear_app_env
    eval "$("$REPO_ROOT/scripts/cluster.sh" env)"
    export APP__DATABASE__DATABASE_NAME=wallet_bench APP__APPLICATION__NODE_ID=bench-wallet
    "$GAME_BIN" bench-wallet --players 2000 --duration-s "$BENCH_SECONDS" --concurrency "$concurrency" \
      2>"$WORK_DIR/bench-wallet-$concurrency.log" | tail -n 1
  ) || { tail -n 30 "$WORK_DIR/bench-wallet-$concurrency.log" >&2; die "bench-wallet failed"; }
}

wallet_row() {
  python3 - "$1" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['concurrency']} | {r['shard_count']} | {r['batch_size_max']} | {r['transfers_per_s']:,.0f} "
      f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {'passed' if r['audit_ok'] else 'FAILED'} |")
PY
}

machine_line() {
  local cpu load
  cpu=$(sed -n '/^model name/{s/^model name[[:space:]]*:[[:space:]]*//p;q}' /proc/cpuinfo)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "Machine: $(nproc) CPUs (${cpu:-unknown model}); load average before the run: $load"
  echo "Postgres: $("$(pg_bin_dir)/postgres" --version) (fsync=on, synchronous_commit=on)"
  echo "Cluster: $BENCH_NODES nodes behind nginx, Postgres primary + replica, Redis + Sentinels, k6 on the same machine"
  echo "Spin run: $BENCH_VUS VUs, no think time, ${BENCH_WARMUP_S}s warm-up + ${BENCH_SECONDS}s measured, games ${SLOT_GAMES:-fortune-lines,gem-cascade}, bet ${SLOT_BET_MICROS:-100000} micro-units"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [[ -z "${BENCH_GAME_BIN:-}" ]]; then
    log "building the release node binary"
    (cd "$REPO_ROOT" && cargo build --release --bin game-cluster) >&2
  fi
  [[ -x "$GAME_BIN" ]] || die "no node binary at $GAME_BIN (build it first)"
  local machine
  machine=$(machine_line)
  WORK_DIR=$(mktemp -d)
  CLUSTER_DIR=$(scratch_dir bench-slots)
  CLUSTER_ENV_FILE="$CLUSTER_DIR/cluster.env"
  export CLUSTER_DIR
  clear_app_env
  # Sign-ups are not what is measured: hash passwords at the test configuration's cost.
  export APP__AUTH__PASSWORD_HASH_MEMORY_KIB=1024 APP__AUTH__PASSWORD_HASH_ITERATIONS=1
  # No crash chain: the rooms wait idle instead of ticking beside the spins.
  export APP__CRASH__CHAIN_AUTO_GENERATE_LENGTH=0
  lift_rate_limits
  log "starting a cluster for the benchmark in $CLUSTER_DIR"
  "$REPO_ROOT/scripts/cluster.sh" start >&2
  cluster_load

  local summary="$WORK_DIR/summary.json" loadtest_pid sampler_pid loadtest_rc=0 db_before db_after
  db_before=$(db_counters)
  log "spin run: $BENCH_VUS VUs, ${BENCH_WARMUP_S}s warm-up, ${BENCH_SECONDS}s measured"
  SCRIPT=slots.js SUMMARY_EXPORT=$summary BUY_PROBABILITY=${BUY_PROBABILITY:-0} \
    "$REPO_ROOT/scripts/loadtest.sh" --quiet -e BENCH=1 -e VUS="$BENCH_VUS" \
    -e WARMUP="${BENCH_WARMUP_S}s" -e DURATION="${BENCH_SECONDS}s" >"$WORK_DIR/loadtest.log" 2>&1 &
  loadtest_pid=$!
  sample_cpu "$loadtest_pid" &
  sampler_pid=$!
  wait "$loadtest_pid" || loadtest_rc=$?
  wait "$sampler_pid" || true
  db_after=$(db_counters)
  tail -n 60 "$WORK_DIR/loadtest.log" >&2
  [[ -s "$summary" ]] || die "k6 left no summary (loadtest.sh exited $loadtest_rc)"

  local tps="" wallet_rows=() concurrency
  if [[ "$BENCH_PGBENCH" != 0 ]]; then
    tps=$(awk -v t="$(run_pgbench)" 'BEGIN { printf "%.0f", t }')
  fi
  for concurrency in $BENCH_WALLET_CONCURRENCY; do
    wallet_rows+=("$(wallet_row "$(run_wallet "$concurrency")")")
  done

  local report="$LOCAL_DIR/bench-slots-server-last.md"
  {
    echo
    echo "$machine"
    echo
    spin_figures "$summary"
    echo
    cpu_table
    echo
    db_line "$db_before" "$db_after"
    echo "loadtest.sh (k6 thresholds, settlement, audit) exit: $loadtest_rc"
    echo
    echo "Baseline on the same Postgres after the spin run:${tps:+ pgbench TPC-B (8 clients, -M prepared) $tps TPS;} bench-wallet:"
    echo
    echo "| concurrency | shards | batch_size_max | transfers/s | p50 ms | p99 ms | audit |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${wallet_rows[@]}"
  } | tee "$report"
  log "report saved to $report"
  ((loadtest_rc == 0)) || die "the spin run failed its thresholds or checks (see above)"
}

main "$@"
