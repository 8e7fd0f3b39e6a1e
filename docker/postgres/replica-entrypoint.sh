#!/bin/bash
# Entry point of the Postgres replica container. On first start (empty volume) it clones the primary
# with `pg_basebackup -R`, which also writes standby.signal and primary_conninfo, so the copy starts as
# a streaming replica; then it hands over to the image's own entry point, which skips initdb for an
# existing data directory and runs postgres as the postgres user.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-postgres-primary}
SLOT=replica_1

clone_primary() {
  local i
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  # depends_on waits for the primary's health check already; this bounded wait covers restarts.
  for ((i = 0; i < 60; i++)); do
    pg_isready -q -h "$PRIMARY_HOST" -p 5432 && break
    sleep 1
  done
  # A slot left by an earlier replica volume would make -C fail, so an unused one is dropped first.
  PGPASSWORD=$POSTGRES_PASSWORD psql -h "$PRIMARY_HOST" -U postgres -d postgres -tAc \
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null
  PGPASSWORD=$REPLICATION_PASSWORD gosu postgres pg_basebackup -h "$PRIMARY_HOST" -p 5432 \
    -U replicator -D "$PGDATA" -R -X stream -C -S "$SLOT" -c fast -w
}

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  clone_primary
fi
exec docker-entrypoint.sh "$@"
