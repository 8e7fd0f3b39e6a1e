#!/usr/bin/env bash
# Prints `export APP__...` lines configuring a process against the local
# cluster (the Postgres primary, the replica, Redis through its Sentinels):
#
#   eval "$(scripts/env.sh)"     # a CLI process, e.g. game-cluster audit
#   eval "$(scripts/env.sh 2)"   # node-2's complete settings ("node-2" works too)
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" env "$@"
