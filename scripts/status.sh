#!/usr/bin/env bash
# `make status`: every process of the local cluster with its pid, port and
# role. Exits 1 when something is down or unhealthy, so scripts can use it as
# a check.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" status
