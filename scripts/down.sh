#!/usr/bin/env bash
# `make down`: stops the local cluster (nginx, nodes, Sentinels, Redis,
# Postgres). Data stays in CLUSTER_DIR (.local/cluster) for the next
# `make up`; pass --purge (`make clean-cluster`) to delete it as well.
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" stop "$@"
