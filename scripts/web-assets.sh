#!/usr/bin/env bash
# Refreshes the pages' third-party files in static/vendor/ from the npm
# package pinned in web/package.json (uPlot): installs it in web/ with
# `npm ci` (or `npm install` when web/package-lock.json does not exist yet,
# which creates the lock file) and copies the files the pages load. The
# copies are committed, so building the node never needs npm; run this only
# to change the pinned version.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WEB_DIR="$REPO_ROOT/web"
VENDOR_DIR="$REPO_ROOT/static/vendor"
# Files of the uplot package (under its dist/) that static/vendor/ holds.
UPLOT_FILES=(uPlot.iife.min.js uPlot.min.css)

main() {
  command -v npm >/dev/null 2>&1 || die "npm is missing (Debian: apt-get install npm)"
  cd "$WEB_DIR"
  if [[ -f package-lock.json ]]; then
    log "installing web/ dependencies from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error
  else
    log "creating web/package-lock.json"
    npm install --no-audit --no-fund --loglevel=error
  fi
  mkdir -p "$VENDOR_DIR"
  local file
  for file in "${UPLOT_FILES[@]}"; do
    [[ -f "node_modules/uplot/dist/$file" ]] || die "node_modules/uplot/dist/$file is missing"
    cp "node_modules/uplot/dist/$file" "$VENDOR_DIR/$file"
  done
  log "copied uPlot $(node -p 'require("./node_modules/uplot/package.json").version') into static/vendor/"
}

main "$@"
