#!/usr/bin/env bash
# `make bench-providers`: seamless-wallet calls per second through nginx, from `game-cluster
# provider-sim` at increasing concurrency, on a local cluster of its own, with the wallet's own transfers
# per second measured on the same Postgres in the same run as the baseline. Prints a Markdown report and
# saves it to .local/bench-providers-last.md.
#
# Method: scripts/cluster.sh starts NODES release nodes, nginx, Postgres primary + streaming replica
# (durable commits) and Redis + Sentinels on free loopback ports, with no crash chain (the rooms wait
# idle). For each concurrency C, provider-sim makes C funded players, launches a session of its game for
# each through the public API, then plays rounds as fast as the answers come for BENCH_SECONDS: each
# player is one sequential stream of calls (bets, wins, rollbacks, ends of round, duplicates, rollbacks
# before their bet, retries after timeouts), so C is the number of calls in flight. Every answer's balance
# is checked against the simulator's own record, and every player's balance is read back at the end.
# calls/s counts every HTTP call answered (balance and end-of-round calls included); latency is per
# call, client side. Then the ledger audit, and `game-cluster bench-wallet` on the same Postgres.
#
# Environment (defaults in brackets):
#   BENCH_CONCURRENCY        provider-sim players, one run each ["16 64 256"]
#   BENCH_SECONDS            each run's duration, and the wallet baseline's [20]
#   BENCH_NODES              game nodes behind nginx [3]
#   BENCH_WALLET_CONCURRENCY bench-wallet concurrencies ["256"]
#   BENCH_GAME_BIN           the node binary (default: target/release/game-cluster, built here first)
#   BENCH_KEEP               1 keeps the cluster's directory (logs) [0]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-16 64 256}
BENCH_SECONDS=${BENCH_SECONDS:-20}
BENCH_NODES=${BENCH_NODES:-3}
BENCH_WALLET_CONCURRENCY=${BENCH_WALLET_CONCURRENCY:-256}
export GAME_BIN=${BENCH_GAME_BIN:-$REPO_ROOT/target/release/game-cluster}
export CLUSTER_PORTS=auto CLUSTER_NODES=$BENCH_NODES CLUSTER_APP_ENV=local
# The plain Postgres (primary + streaming replica), as the method above says and the CPU table reads;
# the Patroni topology's cost is measured on its own (docs/BENCHMARKS.md, issue 20).
export CLUSTER_POSTGRES=plain
CLUSTER_DIR=""
WORK_DIR=""

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

# with_cluster_env DATABASE CMD... runs a game-cluster command configured for the cluster's primary and
# the database DATABASE there (empty: the cluster's own).
with_cluster_env() {
  local database=$1
  shift
  (
    clear_app_env
    eval "$("$REPO_ROOT/scripts/cluster.sh" env)"
    export APP__APPLICATION__NODE_ID=bench-providers
    [[ -n "$database" ]] && export APP__DATABASE__DATABASE_NAME=$database
    cd "$REPO_ROOT"
    "$@"
  )
}

# run_sim CONCURRENCY SEED prints provider-sim's JSON summary.
run_sim() {
  local concurrency=$1 seed=$2
  log "provider-sim: $concurrency players, ${BENCH_SECONDS}s, through nginx on port $NGINX_PORT"
  with_cluster_env "" "$GAME_BIN" provider-sim --players "$concurrency" --duration-s "$BENCH_SECONDS" \
    --url "http://$LOOPBACK:$NGINX_PORT" --seed "$seed" --player-prefix "bp${concurrency}s" \
    2>"$WORK_DIR/sim-$concurrency.log" || {
    tail -n 30 "$WORK_DIR/sim-$concurrency.log" >&2
    die "provider-sim failed at concurrency $concurrency"
  }
}

sim_row() {
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.loads(sys.argv[2])
l = r["latency_ms"]
print(f"| {sys.argv[1]} | {r['calls']:,} | {r['calls_per_s']:,.0f} | {l['p50']:.1f} | {l['p95']:.1f} | {l['p99']:.1f} "
      f"| {l['max']:.0f} | {r['rounds']:,} | {r['retries']} | {r['duplicates_sent']} | {r['rollbacks_before_their_bet']} "
      f"| {r['mismatches']} |")
PY
}

run_wallet() {
  local concurrency=$1
  log "bench-wallet: concurrency $concurrency, ${BENCH_SECONDS}s, on the cluster's Postgres"
  pg_ensure_db "$PG_PORT" wallet_bench >/dev/null
  with_cluster_env wallet_bench "$GAME_BIN" bench-wallet --players 2000 \
    --duration-s "$BENCH_SECONDS" --concurrency "$concurrency" 2>"$WORK_DIR/bench-wallet.log" | tail -n 1
}

wallet_row() {
  python3 - "$1" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['concurrency']} | {r['shard_count']} | {r['batch_size_max']} | {r['transfers_per_s']:,.0f} "
      f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {'passed' if r['audit_ok'] else 'FAILED'} |")
PY
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
  local machine load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  machine="Machine: $(nproc) CPUs ($(sed -n '/^model name/{s/^model name[[:space:]]*:[[:space:]]*//p;q}' /proc/cpuinfo)); load average before the run: $load"
  WORK_DIR=$(mktemp -d)
  CLUSTER_DIR=$(scratch_dir bench-providers)
  CLUSTER_ENV_FILE="$CLUSTER_DIR/cluster.env"
  export CLUSTER_DIR
  clear_app_env
  export APP__CRASH__CHAIN_AUTO_GENERATE_LENGTH=0
  lift_rate_limits
  log "starting a cluster for the benchmark in $CLUSTER_DIR"
  "$REPO_ROOT/scripts/cluster.sh" start >&2
  cluster_load

  local rows=() concurrency seed=1 failed=0 row
  for concurrency in $BENCH_CONCURRENCY; do
    row=$(sim_row "$concurrency" "$(run_sim "$concurrency" "$seed")")
    rows+=("$row")
    [[ "$row" == *"| 0 |" ]] || failed=1
    seed=$((seed + 1))
  done
  local audit_rc=0
  with_cluster_env "" "$GAME_BIN" audit >"$WORK_DIR/audit.log" 2>&1 || audit_rc=$?
  local wallet_rows=()
  for concurrency in $BENCH_WALLET_CONCURRENCY; do
    wallet_rows+=("$(wallet_row "$(run_wallet "$concurrency")")")
  done

  local report="$LOCAL_DIR/bench-providers-last.md"
  {
    echo
    echo "$machine"
    echo "Postgres: $("$(pg_bin_dir)/postgres" --version) (fsync=on, synchronous_commit=on)"
    echo "Cluster: $BENCH_NODES nodes behind nginx, Postgres primary + replica, Redis + Sentinels, provider-sim on the same machine"
    echo
    echo "| players (calls in flight) | calls | calls/s | p50 ms | p95 ms | p99 ms | max ms | rounds | retries | duplicates | rollbacks before bet | mismatches |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Ledger audit after the runs: $([[ $audit_rc == 0 ]] && echo passed || echo FAILED)"
    echo
    echo "Baseline on the same Postgres after the runs, bench-wallet:"
    echo
    echo "| concurrency | shards | batch_size_max | transfers/s | p50 ms | p99 ms | audit |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${wallet_rows[@]}"
  } | tee "$report"
  log "report saved to $report"
  if ((audit_rc != 0)); then
    tail -n 40 "$WORK_DIR/audit.log" >&2
    die "the ledger audit failed after the provider runs"
  fi
  ((failed == 0)) || die "provider-sim found balance mismatches"
}

main "$@"
