#!/usr/bin/env bash
# Fuzzes the running cluster against its own contract: Schemathesis reads the OpenAPI document the nodes
# generate from their code (GET /api/openapi.json, through nginx) and sends generated valid and invalid
# requests to every operation (a bounded number of examples each), checking that no answer is a 5xx,
# that every answer matches its documented schema (so every error of our API is the envelope) and
# content type. Player and public operations run with a fresh player's token (topped up, so bets
# succeed), the admin operations in a second run with an admin token. The ledger audit must pass after.
# Runs last in scripts/smoke-load.sh (CONTRACT_FUZZ=0 skips it); against `make up`:
# `scripts/contract-fuzz.sh`.
#
# Environment:
#   CLUSTER_DIR                the cluster to fuzz (default: .local/cluster, the one of `make up`)
#   CONTRACT_FUZZ_EXAMPLES     examples per operation and phase (default 8)
#   CONTRACT_FUZZ_SEED         Schemathesis's seed (default: fixed, so a run can be repeated)
#   CONTRACT_FUZZ_REPORT_DIR   where the HAR files of every request and answer go (default: a scratch dir)
#   SCHEMATHESIS_VERSION       installed from PyPI into .local/schemathesis-venv (default 4.32.5)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
VENV_DIR="$LOCAL_DIR/schemathesis-venv"
EXAMPLES=${CONTRACT_FUZZ_EXAMPLES:-8}
SEED=${CONTRACT_FUZZ_SEED:-19}
# What each run checks (Schemathesis's names); the issue's three properties plus the content type.
CHECKS=not_a_server_error,response_schema_conformance,content_type_conformance
# One worker: with two, Hypothesis's lambda descriptions (ast.parse from two threads) failed once on
# Python 3.11 with "AST constructor recursion depth mismatch", a runtime error of the tool, not a finding.
# /metrics is not served through nginx (Prometheus scrapes each node directly), so it is not fuzzed here.
EXCLUDED_PATH=/metrics

# ensure_schemathesis installs the pinned version into its own virtual environment under .local/.
ensure_schemathesis() {
  local installed=""
  if [[ -x "$VENV_DIR/bin/schemathesis" ]]; then
    installed=$("$VENV_DIR/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')
  fi
  [[ "$installed" == "$SCHEMATHESIS_VERSION" ]] && return 0
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    log "installing python3-venv"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >&2
  fi
  log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV_DIR"
  rm -rf "$VENV_DIR"
  python3 -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
}

# json_field FIELD reads one top-level string field of the JSON on stdin.
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# player_token BASE_URL signs a fresh player up, tops them up and prints their token.
player_token() {
  local base_url=$1 username token
  username="fuzz_$(random_hex 6)"
  token=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"username\":\"$username\",\"password\":\"fuzz-password-$(random_hex 8)\"}" \
    "$base_url/api/v1/auth/signup" | json_field token)
  curl -fsS --max-time 10 -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    -H "Idempotency-Key: fuzz-top-up-$username" -d '{"amount":1000000000}' "$base_url/api/v1/wallet/top-up"
  printf '%s' "$token"
}

admin_token() {
  local base_url=$1
  python3 -c 'import json, sys; print(json.dumps({"username": sys.argv[1], "password": sys.argv[2]}))' \
    "$ADMIN_USERNAME" "$ADMIN_PASSWORD" |
    curl -fsS --max-time 10 -H 'Content-Type: application/json' -d @- "$base_url/api/v1/admin/login" |
    json_field token
}

# fuzz NAME TOKEN FILTER... runs Schemathesis once; its HAR file (every request and answer) is NAME.har.
fuzz() {
  local name=$1 token=$2
  shift 2
  log "fuzzing the $name operations ($EXAMPLES examples per operation and phase)"
  # From the report directory: Schemathesis keeps its cache of found failures in the working directory.
  (cd "$REPORT_DIR" && "$VENV_DIR/bin/schemathesis" run "$BASE_URL/api/openapi.json" \
    --checks "$CHECKS" --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
    --header "Authorization: Bearer $token" --request-timeout 10 --no-color \
    --exclude-path "$EXCLUDED_PATH" --suppress-health-check all \
    --report har --report-har-path "$REPORT_DIR/$name.har" "$@")
}

# requests_sent HAR... prints how many requests the HAR files hold.
requests_sent() {
  python3 -c 'import json, sys; print(sum(len(json.load(open(p))["log"]["entries"]) for p in sys.argv[1:]))' "$@"
}

main() {
  cluster_load
  BASE_URL="http://$LOOPBACK:$NGINX_PORT"
  REPORT_DIR=${CONTRACT_FUZZ_REPORT_DIR:-$(scratch_dir contract-fuzz)}
  mkdir -p "$REPORT_DIR"
  ensure_schemathesis
  local started status=0 player admin
  started=$(date +%s)
  player=$(player_token "$BASE_URL")
  admin=$(admin_token "$BASE_URL")
  # Logging out would revoke the very token the rest of the run plays with (every later call a 401).
  fuzz public-and-player "$player" --exclude-tag admin --exclude-path /api/v1/auth/logout || status=$?
  fuzz admin "$admin" --include-tag admin || status=$?
  log "Schemathesis sent $(requests_sent "$REPORT_DIR"/*.har) requests in $(($(date +%s) - started)) s" \
    "(HAR files in $REPORT_DIR)"
  log "checking the ledger after the fuzzing"
  "$REPO_ROOT/scripts/audit.sh" >&2 || status=$?
  return "$status"
}

main "$@"
