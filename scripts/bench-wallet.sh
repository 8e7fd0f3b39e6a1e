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
#   GAME_BIN_BASELINE   a second build to run alternately with GAME_BIN, so that a regression shows as a
#                       ratio measured in one invocation: a release binary, or a git revision, which is
#                       then built from a temporary worktree of it (its own config/ goes with it)
#   GAME_BIN_DIR        the checkout GAME_BIN runs from (its config/; default this repository), so that
#                       two old builds can be compared
#   GAME_BASELINE_DIR   the checkout a baseline *binary* runs from (its config/ must match it; default
#                       this repository)
#   BENCH_ROUNDS        how many times each build runs per batch size, alternating (default 1, or 2
#                       with a baseline)
#   BENCH_POSTGRES      "plain" (default): one throwaway Postgres; "patroni": the local cluster's
#                       Patroni topology (scripts/patroni.sh: synchronous replication to a standby,
#                       through HAProxy's writer port), started in a scratch directory with one idle node,
#                       so both pgbench and the wallet pay for the synchronous standby
#
# Every wallet run gets a fresh database on the same Postgres, so no run inherits another's tables.
# pgbench runs before the first and after the last wallet run; the ratios use the mean of the two.
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
BASELINE_WORKTREE=""
RUN_NUMBER=0

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [[ "${BENCH_POSTGRES:-plain}" == patroni ]]; then
    CLUSTER_DIR="$WORK_DIR/cluster" "$REPO_ROOT/scripts/cluster.sh" stop >/dev/null 2>&1
  else
    stop_throwaway_services "$WORK_DIR"
  fi
  if [[ -n "$BASELINE_WORKTREE" ]]; then
    git -C "$REPO_ROOT" worktree remove --force "$BASELINE_WORKTREE" >/dev/null 2>&1
  fi
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
  # A checkpoint first, so the run does not pay for the initialisation's dirty pages.
  pg_psql "$PG_PORT" "$PGBENCH_DB" -c "CHECKPOINT" >/dev/null
  log "pgbench: TPC-B, 8 clients, ${BENCH_SECONDS}s"
  out=$(PGPASSWORD=$PG_PASSWORD "$bin/pgbench" -c 8 -j 2 -T "$BENCH_SECONDS" -M prepared \
    -h "$LOOPBACK" -p "$PG_PORT" -U postgres "$PGBENCH_DB" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "pgbench failed"; }
  # pgbench prints "tps = 1234.5 (without initial connection time)".
  printf '%s\n' "$out" | sed -n 's/^tps = \([0-9]*\)\(\.[0-9]\)\{0,1\}.*/\1\2/p' | tail -n 1
}

# bench_env exports the configuration the binary needs; the JWT secret and
# admin credentials are random because the benchmark never uses them.
bench_env() {
  clear_app_env
  export APP_ENV="${BENCH_APP_ENV:-local}"
  lift_rate_limits
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

# run_wallet BIN DIR BATCH prints the JSON result line of one bench-wallet run of binary BIN, run from
# checkout DIR (its config/), on a database of its own. Its logs go to a file so that only the result
# reaches the table.
run_wallet() {
  local bin=$1 dir=$2 batch=$3 log_file out database
  RUN_NUMBER=$((RUN_NUMBER + 1))
  database="${WALLET_DB}_$RUN_NUMBER"
  log_file="$WORK_DIR/bench-wallet-$RUN_NUMBER.log"
  pg_ensure_db "$PG_PORT" "$database"
  log "bench-wallet run $RUN_NUMBER: $bin, batch_size_max=$batch, concurrency=$BENCH_CONCURRENCY, ${BENCH_SECONDS}s"
  if ! out=$(cd "$dir" && APP__DATABASE__DATABASE_NAME=$database "$bin" migrate >"$log_file" 2>&1 &&
    APP__DATABASE__DATABASE_NAME=$database APP__WALLET__BATCH_SIZE_MAX=$batch "$bin" bench-wallet \
      --players "$BENCH_PLAYERS" --duration-s "$BENCH_SECONDS" \
      --concurrency "$BENCH_CONCURRENCY" 2>>"$log_file"); then
    tail -n 30 "$log_file" >&2 || true
    die "bench-wallet failed for $bin, batch size $batch"
  fi
  # The database is dropped at once: a later run should not share the disk's cache with it.
  pg_psql "$PG_PORT" postgres -c "DROP DATABASE \"$database\"" >/dev/null
  printf '%s\n' "$out" | tail -n 1
}

# prepare_baseline sets BASELINE_BIN and BASELINE_DIR from GAME_BIN_BASELINE: a binary as it is, or a git
# revision built in a temporary worktree. It has a target directory of its own (target/baseline, kept
# between invocations): cargo names a path package's artifacts without its absolute path and judges
# them fresh by the sources' times, so two checkouts sharing one target directory can link one's
# library into the other's binary.
prepare_baseline() {
  BASELINE_BIN="" BASELINE_DIR=""
  [[ -n "${GAME_BIN_BASELINE:-}" ]] || return 0
  if [[ -f "$GAME_BIN_BASELINE" ]]; then
    BASELINE_BIN=$GAME_BIN_BASELINE
    BASELINE_DIR=${GAME_BASELINE_DIR:-$REPO_ROOT}
    return 0
  fi
  local revision
  revision=$(git -C "$REPO_ROOT" rev-parse --verify --short "$GAME_BIN_BASELINE^{commit}" 2>/dev/null) ||
    die "GAME_BIN_BASELINE is neither a file nor a git revision: $GAME_BIN_BASELINE"
  BASELINE_WORKTREE="$WORK_DIR/baseline-$revision"
  git -C "$REPO_ROOT" worktree add --detach "$BASELINE_WORKTREE" "$revision" >/dev/null 2>&1 ||
    die "could not check out $revision"
  log "building the baseline $revision"
  (cd "$BASELINE_WORKTREE" && CARGO_TARGET_DIR="$REPO_ROOT/target/baseline" cargo build --release --bin game-cluster) >&2
  BASELINE_BIN="$WORK_DIR/game-cluster-$revision"
  cp "$REPO_ROOT/target/baseline/release/game-cluster" "$BASELINE_BIN"
  BASELINE_DIR=$BASELINE_WORKTREE
}

# table_row LABEL BATCH JSON PGBENCH_TPS prints one Markdown row.
table_row() {
  awk -v label="$1" -v b="$2" -v t="$(json_field "$3" transfers_per_s)" \
    -v p50="$(json_field "$3" p50_ms)" -v p99="$(json_field "$3" p99_ms)" -v base="$4" \
    'BEGIN { printf "| %s | %s | %.1f | %.2f | %.2f | %.2f |\n", label, b, t, p50, p99, (base > 0 ? t / base : 0) }'
}

machine_info() {
  local cpu mem_kb
  # sed quits at the first match itself; piping into head could SIGPIPE it.
  cpu=$(sed -n '/^model name/{s/^model name[[:space:]]*:[[:space:]]*//p;q}' /proc/cpuinfo)
  mem_kb=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo)
  echo "Machine: $(nproc) CPUs, ${cpu:-unknown CPU model}, $((mem_kb / 1024 / 1024)) GiB RAM"
  echo "Postgres: $("$(pg_bin_dir)/postgres" --version) (fsync=on, synchronous_commit=on, ${BENCH_POSTGRES:-plain})"
  echo "Runs: ${BENCH_SECONDS}s each, ${BENCH_PLAYERS} players, concurrency ${BENCH_CONCURRENCY}"
}

# start_postgres starts the Postgres (and Redis) the runs use and sets PG_PORT, PG_PASSWORD and
# REDIS_PORT: a throwaway server, or a Patroni cluster of the local cluster's topology.
start_postgres() {
  if [[ "${BENCH_POSTGRES:-plain}" != patroni ]]; then
    start_throwaway_services "$WORK_DIR"
    return 0
  fi
  log "starting a Patroni cluster (synchronous replication) in $WORK_DIR/cluster"
  (clear_app_env && CLUSTER_DIR="$WORK_DIR/cluster" CLUSTER_PORTS=auto CLUSTER_NODES=1 CLUSTER_POSTGRES=patroni \
    GAME_BIN=$GAME_BIN "$REPO_ROOT/scripts/cluster.sh" start >"$WORK_DIR/cluster-start.log" 2>&1) ||
    { tail -n 30 "$WORK_DIR/cluster-start.log" >&2; die "the Patroni cluster did not start"; }
  # shellcheck source=/dev/null
  source "$WORK_DIR/cluster/cluster.env"
}

main() {
  ensure_packages
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  build_release

  WORK_DIR=$(scratch_dir bench)
  PG_PASSWORD=$(random_hex 16)
  start_postgres

  # A copy, so that a rebuild while the benchmark runs cannot change the candidate between its runs.
  CANDIDATE_BIN="$WORK_DIR/game-cluster-candidate"
  cp "$GAME_BIN" "$CANDIDATE_BIN"
  prepare_baseline
  local rounds=${BENCH_ROUNDS:-$([[ -n "$BASELINE_BIN" ]] && echo 2 || echo 1)}
  local tps_before tps_after tps
  tps_before=$(run_pgbench)
  [[ -n "$tps_before" ]] || die "could not read pgbench's TPS"
  log "pgbench TPS: $tps_before"

  bench_env
  local results=() batch round json
  for batch in $BENCH_BATCH_SIZES; do
    for ((round = 1; round <= rounds; round++)); do
      if [[ -n "$BASELINE_BIN" ]]; then
        json=$(run_wallet "$BASELINE_BIN" "$BASELINE_DIR" "$batch")
        results+=("baseline	$batch	$json")
      fi
      json=$(run_wallet "$CANDIDATE_BIN" "${GAME_BIN_DIR:-$REPO_ROOT}" "$batch")
      results+=("candidate	$batch	$json")
    done
  done

  tps_after=$(run_pgbench)
  [[ -n "$tps_after" ]] || die "could not read pgbench's TPS"
  tps=$(awk -v a="$tps_before" -v b="$tps_after" 'BEGIN { printf "%.1f", (a + b) / 2 }')
  log "pgbench TPS: $tps_after (mean $tps)"

  local report="$LOCAL_DIR/bench-wallet-last.md" line label
  {
    echo
    machine_info
    echo "pgbench TPC-B (8 clients, -M prepared): $tps_before TPS before, $tps_after after, mean $tps"
    echo "candidate: $GAME_BIN (run from ${GAME_BIN_DIR:-$REPO_ROOT})"
    [[ -n "$BASELINE_BIN" ]] && echo "baseline: $BASELINE_BIN (run from $BASELINE_DIR)"
    echo
    echo "| build | batch_size_max | transfers/s | p50 ms | p99 ms | ratio to pgbench TPS |"
    echo "|---|---:|---:|---:|---:|---:|"
    for line in "${results[@]}"; do
      IFS=$'\t' read -r label batch json <<<"$line"
      table_row "$label" "$batch" "$json" "$tps"
    done
    if [[ -n "$BASELINE_BIN" ]]; then
      echo
      echo "Candidate / baseline, mean transfers/s per batch size:"
      printf '%s\n' "${results[@]}" | awk -F'\t' '{
          match($3, /"transfers_per_s"[ ]*:[ ]*[0-9.]+/); v = substr($3, RSTART, RLENGTH); sub(/.*:[ ]*/, "", v)
          sum[$1 FS $2] += v; n[$1 FS $2]++; batches[$2] = 1
        } END { for (b in batches) printf "  batch %s: %.3f\n", b,
          (sum["candidate" FS b] / n["candidate" FS b]) / (sum["baseline" FS b] / n["baseline" FS b]) }'
    fi
  } | tee "$report"
  log "report saved to $report"
}

main "$@"
