#!/usr/bin/env bash
# Refreshes the pages' third-party files in static/vendor/ from the npm
# packages pinned in web/package.json (uPlot for the charts, swagger-ui-dist
# for the API reference at /docs): installs them in web/ with
# `npm ci` (or `npm install` when web/package-lock.json does not exist yet,
# which creates the lock file) and copies the files the pages load. The
# copies are committed, so building the node never needs npm; run this only
# to change the pinned version.
set -euo pipefail
# shellcheck source=scripts/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WEB_DIR="$REPO_ROOT/web"
VENDOR_DIR="$REPO_ROOT/static/vendor"
# Files of each package that static/vendor/ holds: "package:path inside it".
VENDORED_FILES=(
  uplot:dist/uPlot.iife.min.js
  uplot:dist/uPlot.min.css
  swagger-ui-dist:swagger-ui-bundle.js
  swagger-ui-dist:swagger-ui.css
)

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
  local entry package file
  for entry in "${VENDORED_FILES[@]}"; do
    package="${entry%%:*}"
    file="node_modules/$package/${entry#*:}"
    [[ -f "$file" ]] || die "$file is missing"
    cp "$file" "$VENDOR_DIR/$(basename "$file")"
  done
  for package in uplot swagger-ui-dist; do
    log "copied $package $(node -p "require('./node_modules/$package/package.json').version") into static/vendor/"
  done
}

main "$@"
