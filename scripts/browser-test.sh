#!/usr/bin/env bash
# Runs the browser tests (Playwright, tests/browser/) of the player page and
# the admin dashboard against a cluster that is already running; it starts
# nothing itself (`make up`, or scripts/cluster.sh start, first). Debian's
# Chromium is installed when /usr/bin/chromium is missing; Playwright never
# downloads a browser. Extra arguments go to `npx playwright test` (a spec
# file, --grep ...). The exit code is the tests' result.
#
# Environment:
#   BASE_URL        the cluster's public address (default: the nginx port in
#                   CLUSTER_DIR/cluster.env, else http://127.0.0.1:8080);
#                   only loopback hosts (127.x.x.x, localhost) unless
#                   ALLOW_REMOTE=1
#   ADMIN_USERNAME, ADMIN_PASSWORD
#                   the admin credential (default: the one the local cluster
#                   generated, from CLUSTER_DIR/cluster.env)
#   CLUSTER_DIR     the local cluster to read those defaults from
#                   (.local/cluster)
#   EXPECTED_NODES  node ids the dashboard must list as healthy, comma-
#                   separated (default: the nodes the admin API reports)
#   ARTIFACTS_DIR   screenshots and failure reports (tests/browser/artifacts)
#   REALITY_CHECK_INTERVAL_S
#                   the reality-check interval the cluster was started with,
#                   when short (1 to 30 s: for example
#                   APP__RESPONSIBLE_GAMING__REALITY_CHECK_INTERVAL_S=5 make up);
#                   economy.spec.js then waits for a real reminder, and skips
#                   that test without it. Run only economy.spec.js against
#                   such a cluster: in the other specs the reminder's dialog
#                   would cover the buttons they click
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TESTS_DIR="$REPO_ROOT/tests/browser"
CHROMIUM=/usr/bin/chromium

# cluster_value KEY prints KEY from the local cluster's cluster.env, or
# nothing when there is no such file or key. The file is read in a subshell
# so that none of its other settings leak into this script.
cluster_value() {
  [[ -f "$CLUSTER_ENV_FILE" ]] || return 0
  (
    # shellcheck source=/dev/null
    source "$CLUSTER_ENV_FILE"
    printf '%s' "${!1:-}"
  )
}

# url_host URL prints the host part of an http(s) URL.
url_host() {
  local rest=${1#*://}
  rest=${rest%%/*}
  rest=${rest##*@}
  if [[ "$rest" == \[* ]]; then
    rest=${rest%%]*}
    printf '%s]\n' "$rest"
  else
    printf '%s\n' "${rest%%:*}"
  fi
}

check_loopback() {
  local host
  [[ "$1" =~ ^https?:// ]] || die "BASE_URL must start with http:// or https://: $1"
  host=$(url_host "$1")
  if [[ "$host" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ || "$host" == localhost ]]; then
    return 0
  fi
  [[ "${ALLOW_REMOTE:-0}" == 1 ]] ||
    die "BASE_URL $1 is not on loopback (127.x.x.x or localhost); set ALLOW_REMOTE=1 to test a remote cluster"
  warn "testing a remote cluster at $1 (ALLOW_REMOTE=1)"
}

ensure_browser_tools() {
  local missing=()
  [[ -x "$CHROMIUM" ]] || missing+=(chromium)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  [[ ${#missing[@]} -gt 0 ]] || return 0
  log "installing ${missing[*]} (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  [[ -x "$CHROMIUM" ]] || die "$CHROMIUM is still missing after installing chromium"
}

main() {
  local base_url nginx_port
  nginx_port=$(cluster_value NGINX_PORT)
  base_url=${BASE_URL:-http://127.0.0.1:${nginx_port:-8080}}
  check_loopback "$base_url"

  ADMIN_USERNAME=${ADMIN_USERNAME:-$(cluster_value ADMIN_USERNAME)}
  ADMIN_PASSWORD=${ADMIN_PASSWORD:-$(cluster_value ADMIN_PASSWORD)}
  [[ -n "$ADMIN_USERNAME" && -n "$ADMIN_PASSWORD" ]] ||
    die "set ADMIN_USERNAME and ADMIN_PASSWORD (no local cluster credential in $CLUSTER_ENV_FILE)"
  ARTIFACTS_DIR=$(realpath -m "${ARTIFACTS_DIR:-$TESTS_DIR/artifacts}")
  mkdir -p "$ARTIFACTS_DIR"

  ensure_browser_tools
  curl -fsS -o /dev/null --max-time 5 "$base_url/health" ||
    die "no healthy cluster answers at $base_url/health; start one first (make up)"

  cd "$TESTS_DIR"
  log "installing the test dependencies (npm ci)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null

  log "running the browser tests against $base_url (screenshots in $ARTIFACTS_DIR)"
  local status=0
  BASE_URL=$base_url ADMIN_USERNAME=$ADMIN_USERNAME ADMIN_PASSWORD=$ADMIN_PASSWORD \
    ARTIFACTS_DIR=$ARTIFACTS_DIR PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npx --no-install playwright test "$@" || status=$?
  if [[ $status -eq 0 ]]; then
    log "browser tests passed"
  else
    log "browser tests failed (exit $status); see $ARTIFACTS_DIR"
  fi
  return "$status"
}

main "$@"
