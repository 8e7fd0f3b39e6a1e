#!/usr/bin/env bash
# Runs the whole test suite against a throwaway Postgres and Redis.
#
# Usage: scripts/test.sh [extra cargo test args...]
#   e.g. scripts/test.sh wallet      (only tests whose name contains "wallet")
#
# The full run (no arguments) ends with the k6 load smoke (scripts/smoke-load.sh) and the check of the
# Docker image's build context (scripts/check-image.sh); LOAD_SMOKE=0 skips both, LOAD_SMOKE=1 runs them
# after a filtered run too. A full run then checks the shipped slot games against their baselines
# (scripts/slots-baseline.sh, with the smoke's release binary, built there if the smoke was skipped);
# SLOTS_BASELINE=0 skips it, SLOTS_BASELINE=1 runs it after a filtered run too.
#
# Each run gets its own servers on free loopback ports and its own directory
# under .local/, so runs never share state and two can run concurrently. The
# servers and the directory are removed on every exit path, including test
# failures and Ctrl-C.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK_DIR=""
CARGO_PID=""

# Only reached through the traps set in main, which shellcheck 0.9 does not follow.
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  # Cleanup must run to the end even if one step fails, so errexit is off.
  set +e
  trap - EXIT INT TERM
  stop_cargo
  stop_throwaway_services "$WORK_DIR"
  exit "$rc"
}

# run_cargo_test ARGS... passes ARGS to `cargo test`. Arguments after a `--`
# go to the test harness, next to our default thread count, which a caller
# can override with its own --test-threads.
run_cargo_test() {
  local cargo_args=() harness_args=() seen_sep=0 arg
  for arg in "$@"; do
    if [[ $seen_sep -eq 0 && "$arg" == -- ]]; then
      seen_sep=1
    elif [[ $seen_sep -eq 0 ]]; then
      cargo_args+=("$arg")
    else
      harness_args+=("$arg")
    fi
  done
  if [[ " ${harness_args[*]-} " != *" --test-threads"* ]]; then
    harness_args=(--test-threads=4 "${harness_args[@]}")
  fi
  # cargo runs in its own session so that, on Ctrl-C or SIGTERM, cleanup can
  # stop it together with the test binaries it spawned (see stop_cargo);
  # waiting on a background job also lets our signal traps run at once.
  setsid --wait cargo test --all-targets "${cargo_args[@]}" -- "${harness_args[@]}" &
  CARGO_PID=$!
  wait "$CARGO_PID"
}

# stop_cargo terminates a still-running cargo and its test processes before
# the servers they use go away. It runs from cleanup, hence the directive.
# shellcheck disable=SC2317
stop_cargo() {
  [[ -n "$CARGO_PID" ]] && kill -0 "$CARGO_PID" 2>/dev/null || return 0
  log "stopping cargo test (process group $CARGO_PID)"
  kill -TERM -- "-$CARGO_PID" 2>/dev/null
  stop_pid_wait "$CARGO_PID" 10
}

main() {
  ensure_packages
  trap cleanup EXIT
  # Turning signals into exits makes the EXIT trap do the cleanup once.
  trap 'exit 130' INT
  trap 'exit 143' TERM

  WORK_DIR=$(scratch_dir test)
  PG_PASSWORD=$(random_hex 16)
  start_throwaway_services "$WORK_DIR"
  log "test Postgres on $LOOPBACK:$PG_PORT, Redis on $LOOPBACK:$REDIS_PORT (dir $WORK_DIR)"

  clear_app_env
  export APP_ENV=test
  export APP__DATABASE__HOST=$LOOPBACK
  export APP__DATABASE__PORT=$PG_PORT
  export APP__DATABASE__USERNAME=postgres
  export APP__DATABASE__PASSWORD=$PG_PASSWORD
  export APP__DATABASE__DATABASE_NAME=postgres
  export APP__REDIS__HOST=$LOOPBACK
  export APP__REDIS__PORT=$REDIS_PORT

  cd "$REPO_ROOT"
  local rc=0
  run_cargo_test "$@" || rc=$?
  log "cargo test exited with $rc (Postgres port $PG_PORT, Redis port $REDIS_PORT)"
  # The full suite ends with the k6 load smoke against a cluster of its own; a filtered run skips it
  # unless LOAD_SMOKE=1, and LOAD_SMOKE=0 always skips it.
  if ((rc == 0)) && [[ "${LOAD_SMOKE:-}" != 0 ]] && [[ $# -eq 0 || "${LOAD_SMOKE:-}" == 1 ]]; then
    log "running the load smoke (scripts/smoke-load.sh)"
    "$REPO_ROOT/scripts/smoke-load.sh" || rc=$?
    log "the load smoke exited with $rc"
    # After the smoke's release build, so that only the crate itself compiles again.
    if ((rc == 0)); then
      log "checking the Docker image's build context (scripts/check-image.sh)"
      "$REPO_ROOT/scripts/check-image.sh" || rc=$?
    fi
  fi
  # After the smoke's release build when there was one; it builds the binary itself otherwise, and only
  # when a shipped game exists.
  if ((rc == 0)) && [[ "${SLOTS_BASELINE:-}" != 0 ]] && [[ $# -eq 0 || "${SLOTS_BASELINE:-}" == 1 ]]; then
    log "checking the slot games against their baselines (scripts/slots-baseline.sh)"
    "$REPO_ROOT/scripts/slots-baseline.sh" || rc=$?
    log "the slot baseline check exited with $rc"
  fi
  exit "$rc"
}

main "$@"
