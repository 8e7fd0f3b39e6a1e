#!/bin/sh
# Entry point of the Redis and Sentinel containers: `entrypoint.sh redis` or `entrypoint.sh sentinel`.
# Each runs from a config file in its /data volume, created on first start only, because Sentinel
# rewrites these files as roles change (CONFIG REWRITE on the servers, its own state in sentinel.conf)
# and that must survive restarts; scripts/lib.sh follows the same rule for the local cluster.
#
# Environment: ANNOUNCE_HOST (this container's service name, announced instead of its changing IP),
# REPLICA_OF (redis: the initial primary's host, empty for the primary), PRIMARY_HOST (sentinel).
set -eu

conf="/data/$1.conf"
if [ ! -f "$conf" ]; then
  case "$1" in
    redis)
      {
        echo "appendonly yes"
        echo 'save ""'
        echo "repl-diskless-sync-delay 0"
        echo "replica-announce-ip $ANNOUNCE_HOST"
        if [ -n "${REPLICA_OF:-}" ]; then echo "replicaof $REPLICA_OF 6379"; fi
      } >"$conf.tmp"
      ;;
    sentinel)
      # Hostnames instead of IPs: container addresses change when a container is recreated.
      cat >"$conf.tmp" <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $ANNOUNCE_HOST
sentinel monitor gamecluster $PRIMARY_HOST 6379 2
sentinel down-after-milliseconds gamecluster ${SENTINEL_DOWN_AFTER_MS:-5000}
sentinel failover-timeout gamecluster 10000
sentinel parallel-syncs gamecluster 1
CONF
      ;;
    *)
      echo "usage: $0 redis|sentinel" >&2
      exit 2
      ;;
  esac
  mv "$conf.tmp" "$conf"
fi

# The image's entry point chowns /data and drops to the redis user before running the server.
if [ "$1" = sentinel ]; then
  exec docker-entrypoint.sh redis-server "$conf" --sentinel
fi
exec docker-entrypoint.sh redis-server "$conf"
