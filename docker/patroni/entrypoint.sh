#!/bin/bash
# Entry point of the high-availability image: `etcd`, `patroni` or `haproxy`.
#   etcd     one member of the three-member etcd (ETCD_NAME, ETCD_INITIAL_CLUSTER); data in /var/lib/etcd
#   patroni  one Patroni member (PATRONI_NAME; the passwords PG_PASSWORD and REPLICATION_PASSWORD), which
#            runs its Postgres as the postgres user with data in /var/lib/postgresql/data
#   haproxy  the writer (5432, the member answering /primary) and reader (5433, members answering
#            /replica, else the primary) addresses of the nodes
# The settings are those of the local cluster (scripts/patroni.sh); keep the two in step.
set -euo pipefail

run_etcd() {
  local me="http://${ETCD_NAME:?set ETCD_NAME}"
  exec etcd --name "$ETCD_NAME" --data-dir /var/lib/etcd \
    --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls "$me:2379" \
    --listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls "$me:2380" \
    --initial-cluster "${ETCD_INITIAL_CLUSTER:?set ETCD_INITIAL_CLUSTER}" \
    --initial-cluster-token game-cluster-etcd --initial-cluster-state new \
    --logger zap --log-outputs stderr
}

# run_patroni writes the member's configuration from the template (identity and passwords through
# sed, which only ever sees hex or plain names) and starts Patroni as the postgres user.
run_patroni() {
  local config=/var/lib/postgresql/patroni.yml
  : "${PATRONI_NAME:?set PATRONI_NAME}" "${PG_PASSWORD:?set PG_PASSWORD}" "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
  mkdir -p /var/lib/postgresql/data
  chown -R postgres:postgres /var/lib/postgresql
  chmod 700 /var/lib/postgresql/data
  (umask 077 && sed -e "s|@NAME@|$PATRONI_NAME|g" -e "s|@PG_PASSWORD@|$PG_PASSWORD|g" \
    -e "s|@REPLICATION_PASSWORD@|$REPLICATION_PASSWORD|g" /etc/patroni/patroni.yml.template >"$config")
  chown postgres:postgres "$config"
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- patroni "$config"
}

case "${1:-}" in
  etcd) run_etcd ;;
  patroni) run_patroni ;;
  haproxy) exec haproxy -W -db -f /etc/haproxy/haproxy.cfg ;;
  *)
    echo "usage: etcd | patroni | haproxy" >&2
    exit 2
    ;;
esac
