#!/bin/bash
# Patroni's post_bootstrap hook: runs once, on the member that initialises the cluster, with a connection
# string as its argument (Patroni supplies the superuser's password through PGPASSFILE). The nodes migrate
# the database themselves, but sqlx cannot create the database it connects to.
set -euo pipefail
psql -v ON_ERROR_STOP=1 "$1" -c 'CREATE DATABASE game_cluster'
