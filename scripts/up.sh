#!/usr/bin/env bash
# `make up`: builds the release binary (skipped with SKIP_BUILD=1) and starts
# the local cluster on loopback with scripts/cluster.sh start: Postgres
# primary + replica, Redis primary + replica + 3 Sentinels, CLUSTER_NODES
# game nodes (default 3) and nginx on http://127.0.0.1:8080. Running it again
# starts only what is not running. See scripts/cluster.sh for the settings.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_release
exec "$REPO_ROOT/scripts/cluster.sh" start
