#!/usr/bin/env bash
# Measures wallet transfer throughput against a pgbench baseline on the same
# throwaway, fsync-on Postgres, and prints a Markdown table.
#
# pgbench's TPC-B run shows what this machine's Postgres can commit per
# second with durable commits; the ratio column shows how much batching
# wallet transfers into fewer commits buys on top of that.
#
# Environment:
#   BENCH_SECONDS       duration of each run (default 20)
#   BENCH_CONCURRENCY   concurrent transfer tasks (default 1024)
#   BENCH_BATCH_SIZES   values for APP__WALLET__BATCH_SIZE_MAX (default "1 16 64 256 1024")
#   BENCH_PLAYERS       players to spread transfers over (default 2000)
#   BENCH_APP_ENV       APP_ENV for the binary (default local)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-20}
BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-1024}
BENCH_BATCH_SIZES=${BENCH_BATCH_SIZES:-1 16 64 256 1024}
BENCH_PLAYERS=${BENCH_PLAYERS:-2000}
PGBENCH_DB=pgbench
WALLET_DB=wallet_bench
WORK_DIR=""

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_throwaway_services "$WORK_DIR"
  exit "$rc"
}

# run_pgbench prints the TPS of pgbench's built-in TPC-B script.
run_pgbench() {
  local bin out
  bin=$(pg_bin_dir)
  pg_ensure_db "$PG_PORT" "$PGBENCH_DB"
  log "pgbench: initialising scale 8"
  PGPASSWORD=$PG_PASSWORD "$bin/pgbench" -i -s 8 -q \
    -h "$LOOPBACK" -p "$PG_PORT" -U postgres "$PGBENCH_DB" >"$WORK_DIR/pgbench-init.log" 2>&1 ||
    { cat "$WORK_DIR/pgbench-init.log" >&2; die "pgbench -i failed"; }
  log "pgbench: TPC-B, 8 clients, ${BENCH_SECONDS}s"
  out=$(PGPASSWORD=$PG_PASSWORD "$bin/pgbench" -c 8 -j 2 -T "$BENCH_SECONDS" -M prepared \
    -h "$LOOPBACK" -p "$PG_PORT" -U postgres "$PGBENCH_DB" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "pgbench failed"; }
  # pgbench prints "tps = 1234.5 (without initial connection time)".
  printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n 1
}

# bench_env exports the configuration the binary needs; the JWT secret and
# admin credentials are random because the benchmark never uses them.
bench_env() {
  clear_app_env
  export APP_ENV="${BENCH_APP_ENV:-local}"
  export APP__APPLICATION__HOST=$LOOPBACK
  APP__APPLICATION__PORT=$(free_port)
  export APP__APPLICATION__PORT
  export APP__APPLICATION__NODE_ID=bench-1
  export APP__DATABASE__HOST=$LOOPBACK
  export APP__DATABASE__PORT=$PG_PORT
  export APP__DATABASE__USERNAME=postgres
  export APP__DATABASE__PASSWORD=$PG_PASSWORD
  export APP__DATABASE__DATABASE_NAME=$WALLET_DB
  export APP__REDIS__HOST=$LOOPBACK
  export APP__REDIS__PORT=$REDIS_PORT
  APP__AUTH__JWT_SECRET=$(random_hex 32)
  APP__ADMIN__PASSWORD=$(random_hex 12)
  export APP__AUTH__JWT_SECRET APP__ADMIN__PASSWORD
  export APP__ADMIN__USERNAME=admin
}

# json_field JSON KEY extracts a scalar from the flat JSON line that
# bench-wallet prints; no JSON tool is needed for that shape.
json_field() {
  printf '%s\n' "$1" | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

# run_wallet BATCH prints the JSON result line of one bench-wallet run. Its
# logs go to a file so that only the result reaches the table.
run_wallet() {
  local batch=$1 log_file="$WORK_DIR/bench-wallet-$1.log" out
  log "bench-wallet: batch_size_max=$batch, concurrency=$BENCH_CONCURRENCY, ${BENCH_SECONDS}s"
  if ! out=$(APP__WALLET__BATCH_SIZE_MAX=$batch "$GAME_BIN" bench-wallet \
    --players "$BENCH_PLAYERS" --duration-s "$BENCH_SECONDS" \
    --concurrency "$BENCH_CONCURRENCY" 2>"$log_file"); then
    tail -n 30 "$log_file" >&2 || true
    die "bench-wallet failed for batch size $batch"
  fi
  printf '%s\n' "$out" | tail -n 1
}

machine_info() {
  local cpu mem_kb
  # sed quits at the first match itself; piping into head could SIGPIPE it.
  cpu=$(sed -n '/^model name/{s/^model name[[:space:]]*:[[:space:]]*//p;q}' /proc/cpuinfo)
  mem_kb=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo)
  echo "Machine: $(nproc) CPUs, ${cpu:-unknown CPU model}, $((mem_kb / 1024 / 1024)) GiB RAM"
  echo "Postgres: $("$(pg_bin_dir)/postgres" --version) (fsync=on, synchronous_commit=on)"
  echo "Runs: ${BENCH_SECONDS}s each, ${BENCH_PLAYERS} players, concurrency ${BENCH_CONCURRENCY}"
}

main() {
  ensure_packages
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  build_release

  WORK_DIR=$(scratch_dir bench)
  PG_PASSWORD=$(random_hex 16)
  start_throwaway_services "$WORK_DIR"

  local tps
  tps=$(run_pgbench)
  [[ -n "$tps" ]] || die "could not read pgbench's TPS"
  tps=$(awk -v t="$tps" 'BEGIN { printf "%.1f", t }')
  log "pgbench TPS: $tps"

  pg_ensure_db "$PG_PORT" "$WALLET_DB"
  bench_env
  cd "$REPO_ROOT"
  "$GAME_BIN" migrate >"$WORK_DIR/migrate.log" 2>&1 ||
    { cat "$WORK_DIR/migrate.log" >&2; die "game-cluster migrate failed"; }

  local rows=() batch json
  for batch in $BENCH_BATCH_SIZES; do
    json=$(run_wallet "$batch")
    rows+=("$(awk -v b="$batch" -v t="$(json_field "$json" transfers_per_s)" \
      -v p50="$(json_field "$json" p50_ms)" -v p99="$(json_field "$json" p99_ms)" \
      -v base="$tps" 'BEGIN { printf "| %s | %.1f | %.2f | %.2f | %.2f |", b, t, p50, p99, (base > 0 ? t / base : 0) }')")
  done

  local report="$LOCAL_DIR/bench-wallet-last.md"
  {
    echo
    machine_info
    echo "pgbench TPC-B (8 clients, -M prepared): $tps TPS"
    echo
    echo "| batch_size_max | transfers/s | p50 ms | p99 ms | ratio to pgbench TPS |"
    echo "|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
  } | tee "$report"
  log "report saved to $report"
}

main "$@"
