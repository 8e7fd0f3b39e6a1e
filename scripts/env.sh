#!/usr/bin/env bash
# Prints `export APP__...` lines for the local cluster started by up.sh, so
# that tools and ad-hoc commands can talk to it:
#
#   eval "$(scripts/env.sh)"            # node-1's settings
#   eval "$(scripts/env.sh node-2 8081)" # another node's identity and port
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cluster_load
cluster_env_lines "${1:-node-1}" "${2:-$PUBLIC_PORT}"
