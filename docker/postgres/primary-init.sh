#!/bin/bash
# Runs once, when the postgres image initialises the primary's empty data directory
# (/docker-entrypoint-initdb.d): creates the role the replica streams WAL with and lets it connect for
# replication with a password, as scripts/lib.sh does for the local cluster.
set -euo pipefail

# The password goes in as a psql variable, so it is quoted by psql and never part of the SQL text.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH LOGIN REPLICATION PASSWORD :'password';
SQL
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
