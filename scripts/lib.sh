#!/usr/bin/env bash
# Variables defined here are used by the scripts that source this file.
# shellcheck disable=SC2034
# Shared helpers for the game-cluster scripts. This file is meant to be
# sourced by scripts that already run under `set -euo pipefail`, so every
# function here avoids unguarded failing commands and unset variables.

# The repository root is derived from this file's location so that the
# scripts behave the same whatever the caller's working directory is.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$REPO_ROOT/.local"

# All services bind to loopback only; nothing here is meant to be reachable
# from another machine.
LOOPBACK=127.0.0.1

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { log "WARNING: $*"; }
die() {
  log "ERROR: $*"
  exit 1
}

# random_hex N prints N random bytes as hex. od is used instead of
# `tr </dev/urandom | head`, because head closing the pipe early makes tr die
# of SIGPIPE, which pipefail would turn into a script failure.
random_hex() {
  od -An -tx1 -N"${1:-16}" /dev/urandom | tr -d ' \n'
}

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------

# pg_bin_dir prints the bin directory of the newest installed PostgreSQL.
# Debian keeps the server binaries out of PATH, so the directory is looked up
# instead of relying on PATH, and the version is not hard-coded.
pg_bin_dir() {
  local dir best=""
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" && -x "$dir/postgres" ]] || continue
    if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n 1)" == "$dir" ]]; then
      best="$dir"
    fi
  done
  [[ -n "$best" ]] || return 1
  printf '%s\n' "$best"
}

# as_root runs a command as root, using sudo when the caller is not root.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (install sudo or run as root)"
  fi
}

# ensure_packages installs PostgreSQL, Redis, nginx, curl, envsubst and
# python3, but only when their binaries are missing, so that repeated runs
# do not hit the network.
ensure_packages() {
  local missing=()
  pg_bin_dir >/dev/null || missing+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # The local cluster renders its nginx configuration with envsubst and reads
  # the nodes' JSON health reports with python3.
  command -v envsubst >/dev/null 2>&1 || missing+=(gettext-base)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  log "installing missing packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Debian's packages start system-wide services on install; they are left
  # alone because every script here runs its own private instances instead.
  pg_bin_dir >/dev/null || die "PostgreSQL binaries not found after install"
}

# scratch_dir PREFIX creates and prints a fresh directory for throwaway
# servers, normally .local/PREFIX-<random> (git-ignored). When running as
# root in a checkout the postgres OS user cannot traverse (say, under
# /root), it falls back to the system temp directory so tests still run.
scratch_dir() {
  local dir
  mkdir -p "$LOCAL_DIR"
  dir=$(mktemp -d "$LOCAL_DIR/$1-XXXXXXXX")
  chmod 711 "$dir"
  if [[ $EUID -eq 0 ]] && id postgres >/dev/null 2>&1 &&
    ! runuser -u postgres -- test -x "$dir"; then
    rmdir "$dir"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/game-cluster-$1-XXXXXXXX")
    chmod 711 "$dir"
  fi
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------
# Ports and waiting
# ---------------------------------------------------------------------------

# port_in_use PORT succeeds when something accepts TCP connections on it.
port_in_use() {
  (exec 3<>"/dev/tcp/$LOOPBACK/$1") 2>/dev/null
}

# free_port prints a loopback TCP port that is free right now. The kernel
# picks it (bind to port 0), which makes collisions between concurrent runs
# unlikely; callers still retry when a server fails to bind.
free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 - <<'EOF' 2>/dev/null; then
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
    return 0
  fi
  # Without python3, fall back to probing random ports above the privileged
  # range; this is a bounded loop so it cannot spin forever.
  local i port
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 12000))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "could not find a free TCP port"
}

# wait_http URL TIMEOUT_S waits until URL answers 2xx, failing after the
# timeout. Each probe is itself bounded so a hung server cannot stall it.
wait_http() {
  local url=$1 timeout=${2:-60}
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

# http_status URL prints the HTTP status code of URL (000 when unreachable).
http_status() {
  curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------
#
# A data directory D gets a sibling runtime directory "D.run" holding the
# Unix socket and the server log, so that the data directory itself stays a
# pristine PGDATA and its parent does not have to be writable by the
# postgres OS user.

pg_run_dir() { printf '%s.run\n' "${1%/}"; }
pg_log_file() { printf '%s/postgres.log\n' "$(pg_run_dir "$1")"; }

# pg_as_owner runs a Postgres binary as the user that owns the cluster:
# initdb and postgres refuse to run as root, so root delegates to the
# `postgres` OS user, while anyone else runs the server as themselves.
#
# It runs from / because the caller's directory may be closed to the
# postgres user, which makes pg_ctl complain; data paths are therefore made
# absolute by the functions below before they get here.
pg_as_owner() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# pg_check_access DIR fails with a clear message when the postgres OS user
# cannot reach DIR (for instance a checkout under root's private home).
pg_check_access() {
  [[ $EUID -eq 0 ]] || return 0
  id postgres >/dev/null 2>&1 || die "the 'postgres' OS user does not exist; install postgresql"
  if ! runuser -u postgres -- test -x "$1"; then
    die "the postgres OS user cannot access $1; make its parent directories world-executable (chmod o+x) or move the checkout"
  fi
}

# pg_prepare_dirs DATA_DIR creates the data and runtime directories with
# owner and mode that Postgres accepts (0700, owned by the server user).
pg_prepare_dirs() {
  local data=$1 run
  run=$(pg_run_dir "$data")
  mkdir -p "$data" "$run"
  # The parent must be traversable by the server user when we are root.
  chmod o+x "$(dirname "$data")"
  pg_check_access "$(dirname "$data")"
  if [[ $EUID -eq 0 ]]; then
    chown -R postgres:postgres "$data" "$run"
  fi
  chmod 700 "$data"
  chmod 755 "$run"
}

# pg_initdb DATA_DIR creates a cluster whose superuser is `postgres` with the
# password in $PG_PASSWORD. All connections, even over the Unix socket, need
# that password, so the cluster is equally safe whoever runs the scripts.
pg_initdb() {
  local data=$1 bin pwfile
  bin=$(pg_bin_dir) || die "PostgreSQL is not installed (run ensure_packages)"
  pwfile="$(pg_run_dir "$data")/pwfile"
  # The password file is written with a private mode, handed to the server
  # user, and deleted as soon as initdb has read it.
  (umask 077 && printf '%s\n' "${PG_PASSWORD:?PG_PASSWORD must be set}" >"$pwfile")
  [[ $EUID -ne 0 ]] || chown postgres:postgres "$pwfile"
  if ! pg_as_owner "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$(pg_run_dir "$data")/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$(pg_run_dir "$data")/initdb.log" >&2
    die "initdb failed for $data"
  fi
  rm -f "$pwfile"
  # Settings live in an included file so they can be rewritten on every
  # start (the port may change) without editing postgresql.conf by hand.
  printf "\ninclude_if_exists = 'game-cluster.conf'\n" >>"$data/postgresql.conf"
}

# pg_write_conf DATA_DIR PORT [EXTRA] writes the per-start settings, followed
# by the optional EXTRA lines (the local cluster adds its replication
# settings there). The Unix socket is disabled when its path would exceed the
# kernel's 107-byte limit (deep checkouts); TCP on loopback is all the
# scripts and the tests use anyway.
pg_write_conf() {
  local data=$1 port=$2 extra=${3:-} run sockdir
  run=$(pg_run_dir "$data")
  sockdir=$run
  if ((${#run} + 20 > 107)); then
    warn "socket path under $run is too long; Postgres will listen on TCP only"
    sockdir=""
  fi
  cat >"$data/game-cluster.conf" <<EOF
# Written by scripts/lib.sh on every start; edits here are overwritten.
listen_addresses = '$LOOPBACK'
port = $port
unix_socket_directories = '$sockdir'
fsync = on
synchronous_commit = on
max_connections = 300
shared_buffers = 256MB
# Write-heavy tuning used in production too: fewer checkpoints mean fewer full-page images in the WAL.
# It applies to everything on this server alike (the wallet and the pgbench baseline).
wal_buffers = 16MB
max_wal_size = 4GB
checkpoint_timeout = 15min
# A lock wait longer than deadlock_timeout (1 s) is logged with its holders: the slow statements a
# load run reports can then be told apart (a deadlock broken, a long transaction) from the log.
log_lock_waits = on
EOF
  if [[ -n "$extra" ]]; then printf '%s\n' "$extra" >>"$data/game-cluster.conf"; fi
  [[ $EUID -ne 0 ]] || chown postgres:postgres "$data/game-cluster.conf"
}

# pg_running DATA_DIR succeeds when a server is running on that directory.
pg_running() {
  local data bin
  data=$(realpath -m "$1")
  [[ -f "$data/postmaster.pid" ]] || return 1
  bin=$(pg_bin_dir) || return 1
  pg_as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# pg_port DATA_DIR prints the port of the running server, read from the
# fourth line of postmaster.pid.
pg_port() {
  sed -n 4p "$1/postmaster.pid" 2>/dev/null
}

# pg_start DATA_DIR PORT [EXTRA] initialises the cluster if the directory is
# empty and starts it in the background, returning once it accepts
# connections. EXTRA is passed on to pg_write_conf.
pg_start() {
  local data port=$2 extra=${3:-} bin
  data=$(realpath -m "$1")
  bin=$(pg_bin_dir) || die "PostgreSQL is not installed (run ensure_packages)"
  pg_prepare_dirs "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    [[ -z "$(ls -A "$data")" ]] || die "$data is neither empty nor a Postgres data directory"
    pg_initdb "$data"
  fi
  pg_write_conf "$data" "$port" "$extra"
  # pg_ctl -w waits until the server accepts connections, bounded by -t.
  if ! pg_as_owner "$bin/pg_ctl" -D "$data" -l "$(pg_log_file "$data")" \
    -w -t 60 start >/dev/null; then
    tail -n 20 "$(pg_log_file "$data")" >&2 || true
    return 1
  fi
  wait_pg "$port" 30
}

# pg_stop DATA_DIR stops the server with a fast shutdown (clients are
# disconnected, committed data is kept) and succeeds if none was running.
pg_stop() {
  local data bin
  data=$(realpath -m "$1")
  pg_running "$data" || return 0
  bin=$(pg_bin_dir) || return 1
  if ! pg_as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null; then
    # A wedged server must not survive a cleanup, so escalate.
    pg_as_owner "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null
  fi
}

# wait_pg PORT [TIMEOUT_S] waits until the server on PORT accepts
# connections; pg_isready needs no password, so it works before login.
wait_pg() {
  local port=$1 timeout=${2:-30} bin
  local deadline=$((SECONDS + timeout))
  bin=$(pg_bin_dir) || return 1
  while ((SECONDS < deadline)); do
    if "$bin/pg_isready" -q -h "$LOOPBACK" -p "$port" -t 2; then
      return 0
    fi
    sleep 0.3
  done
  return 1
}

# pg_psql PORT DB ARGS... runs psql as the postgres superuser over TCP with
# the password from $PG_PASSWORD, failing on the first SQL error.
pg_psql() {
  local port=$1 db=$2 bin
  shift 2
  bin=$(pg_bin_dir) || return 1
  PGPASSWORD="${PG_PASSWORD:?}" "$bin/psql" -X -q -v ON_ERROR_STOP=1 \
    -h "$LOOPBACK" -p "$port" -U postgres -d "$db" "$@"
}

# pg_ensure_db PORT NAME creates database NAME unless it exists already.
pg_ensure_db() {
  local port=$1 name=$2
  if [[ "$(pg_psql "$port" postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]]; then
    pg_psql "$port" postgres -c "CREATE DATABASE \"$name\""
  fi
}

# pg_reload PORT makes the server on PORT re-read its configuration files,
# for instance after pg_hba.conf changed.
pg_reload() {
  pg_psql "$1" postgres -tAc "SELECT pg_reload_conf()" >/dev/null
}

# pg_restart DATA_DIR restarts a running server with a fast shutdown (clients
# are disconnected, committed data is kept) and returns once it accepts
# connections again.
pg_restart() {
  local data bin
  data=$(realpath -m "$1")
  bin=$(pg_bin_dir) || return 1
  pg_as_owner "$bin/pg_ctl" -D "$data" -l "$(pg_log_file "$data")" \
    -m fast -w -t 60 restart >/dev/null
}

# pg_allow_replication DATA_DIR ROLE lets ROLE stream WAL over loopback with
# a password (scram), unless pg_hba.conf already has that line. The caller
# reloads the server afterwards.
pg_allow_replication() {
  local data role=$2 hba
  data=$(realpath -m "$1")
  hba="$data/pg_hba.conf"
  if ! grep -qE "^host[[:space:]]+replication[[:space:]]+${role}[[:space:]]+${LOOPBACK}/32[[:space:]]" "$hba"; then
    printf '# Added by scripts/lib.sh: the streaming replica connects as %s.\nhost    replication     %s      %s/32            scram-sha-256\n' \
      "$role" "$role" "$LOOPBACK" >>"$hba"
  fi
}

# pg_ensure_replication_role PORT ROLE PASSWORD creates a login role that may
# only stream WAL, so the replica never needs the superuser's password. The
# password is set on every call so that it always matches the secrets file.
# The SQL goes through stdin, which keeps the password out of `ps`.
pg_ensure_replication_role() {
  local port=$1 role=$2 password=$3
  pg_psql "$port" postgres <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE "$role" WITH LOGIN REPLICATION;
  END IF;
END
\$\$;
ALTER ROLE "$role" WITH LOGIN REPLICATION PASSWORD '$password';
EOF
}

# pg_create_replica PRIMARY_PORT DATA_DIR ROLE PASSWORD SLOT clones the
# primary into the empty DATA_DIR with `pg_basebackup -R`, which also writes
# standby.signal and primary_conninfo, so the copy starts as a streaming
# replica. The physical slot SLOT makes the primary keep the WAL that the
# replica has not received yet, even while the replica is down.
pg_create_replica() {
  local port=$1 data role=$3 password=$4 slot=$5 bin run
  data=$(realpath -m "$2")
  bin=$(pg_bin_dir) || die "PostgreSQL is not installed (run ensure_packages)"
  pg_prepare_dirs "$data"
  [[ -z "$(ls -A "$data")" ]] || die "$data is not empty; remove it to clone the primary again"
  run=$(pg_run_dir "$data")
  # A slot left behind by a deleted replica would make -C fail, so an
  # unused one is dropped first.
  pg_psql "$port" postgres -tAc "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot' AND NOT active" >/dev/null
  # The copy is bounded (10 minutes) so a wedged primary cannot hang the caller.
  if ! PGPASSWORD=$password pg_as_owner timeout 600 "$bin/pg_basebackup" -h "$LOOPBACK" -p "$port" \
    -U "$role" -D "$data" -R -X stream -C -S "$slot" -c fast -w >"$run/basebackup.log" 2>&1; then
    cat "$run/basebackup.log" >&2
    return 1
  fi
}

# pg_replication_settings prints the settings that make a server usable both
# as a primary with one streaming replica and as that hot-standby replica.
# max_slot_wal_keep_size bounds the WAL a slot may pin, so a replica that
# stays down cannot fill the disk; the short intervals make the replica
# report its position every second and reconnect within a second after the
# primary restarts.
pg_replication_settings() {
  cat <<'EOF'
# Streaming replication (scripts/lib.sh, pg_replication_settings).
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
max_slot_wal_keep_size = 4GB
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 1s
EOF
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

redis_pid() { cat "$1/redis.pid" 2>/dev/null; }

# redis_running DIR succeeds when the Redis recorded in DIR is alive.
redis_running() {
  local pid
  pid=$(redis_pid "$1") || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" &&
    grep -q redis "/proc/$pid/cmdline" 2>/dev/null
}

# redis_ping PORT succeeds when Redis on PORT answers PONG.
# redis-cli has no reply timeout, so `timeout` bounds it in case something
# that is not Redis accepted the connection.
redis_ping() {
  [[ "$(timeout 3 redis-cli -h "$LOOPBACK" -p "$1" ping 2>/dev/null)" == PONG ]]
}

# redis_rotate_log DIR gives each start a fresh log, keeping the previous
# one as .prev, because old lines would confuse the readiness check below.
redis_rotate_log() {
  rm -f "$1/redis.pid"
  if [[ -f "$1/redis.log" ]]; then mv -f "$1/redis.log" "$1/redis.log.prev"; fi
}

# redis_wait_started DIR PORT waits up to 20 seconds until the Redis (or
# Sentinel) whose pidfile and log are in DIR answers on PORT.
redis_wait_started() {
  local dir=$1 port=$2
  local deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    # A failed bind is checked first: the port then belongs to someone else,
    # and pinging it would talk to that other process.
    if grep -qs 'Failed listening on port' "$dir/redis.log"; then
      break
    elif redis_ping "$port"; then
      # The pidfile is written just after the socket opens; wait for it so
      # that redis_stop can always find the process.
      [[ -s "$dir/redis.pid" ]] && redis_running "$dir" && return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
  return 1
}

# redis_start DIR PORT [persist] starts a daemonized Redis bound to loopback
# with its pidfile, log and data in DIR. Throwaway instances keep nothing on
# disk; pass "persist" to enable the append-only file so that state survives
# restarts.
redis_start() {
  local dir=$1 port=$2 persist=${3:-}
  local appendonly=no
  [[ "$persist" == persist ]] && appendonly=yes
  mkdir -p "$dir"
  redis_rotate_log "$dir"
  redis-server --bind "$LOOPBACK" --port "$port" --protected-mode yes \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --dir "$dir" --save '' --appendonly "$appendonly" >/dev/null
  redis_wait_started "$dir" "$port"
}

# redis_conf_header DIR PORT prints the settings shared by the local
# cluster's Redis and Sentinel configuration files (paths are quoted because
# the checkout may live under a path with spaces).
redis_conf_header() {
  cat <<EOF
bind $LOOPBACK
port $2
protected-mode yes
daemonize yes
pidfile "$1/redis.pid"
logfile "$1/redis.log"
dir "$1"
EOF
}

# redis_write_conf DIR PORT [PRIMARY_PORT] creates DIR/redis.conf for a
# persistent Redis (append-only file), a replica of PRIMARY_PORT when given.
# An existing file is left alone: Sentinel rewrites it after a failover to
# record the instance's new role, and that must survive restarts.
redis_write_conf() {
  local dir=$1 port=$2 primary=${3:-}
  [[ -f "$dir/redis.conf" ]] && return 0
  mkdir -p "$dir"
  {
    echo "# Created by scripts/lib.sh; Sentinel rewrites it when this instance changes role."
    redis_conf_header "$dir" "$port"
    printf 'appendonly yes\nsave ""\n'
    # A replica (re)joining gets its full copy at once instead of after the
    # default 5 s wait for more replicas to share the transfer.
    printf 'repl-diskless-sync-delay 0\n'
    if [[ -n "$primary" ]]; then printf 'replicaof %s %s\n' "$LOOPBACK" "$primary"; fi
  } >"$dir/redis.conf.tmp"
  mv -f "$dir/redis.conf.tmp" "$dir/redis.conf"
}

# sentinel_write_conf DIR PORT SERVICE PRIMARY_PORT DOWN_AFTER_MS creates
# DIR/sentinel.conf for a Sentinel watching PRIMARY_PORT as SERVICE with a
# quorum of 2. Like redis_write_conf it is written once, because Sentinel
# keeps its view of the topology (current primary, known replicas and
# Sentinels, epochs) in that file.
sentinel_write_conf() {
  local dir=$1 port=$2 service=$3 primary=$4 down_after=$5
  [[ -f "$dir/sentinel.conf" ]] && return 0
  mkdir -p "$dir"
  {
    echo "# Created by scripts/lib.sh; Sentinel rewrites it as the topology changes."
    redis_conf_header "$dir" "$port"
    cat <<EOF
sentinel monitor $service $LOOPBACK $primary 2
sentinel down-after-milliseconds $service $down_after
sentinel failover-timeout $service 5000
sentinel parallel-syncs $service 1
EOF
  } >"$dir/sentinel.conf.tmp"
  mv -f "$dir/sentinel.conf.tmp" "$dir/sentinel.conf"
}

# redis_start_conf DIR PORT [OPTION...] starts the Redis configured by
# DIR/redis.conf, or the Sentinel configured by DIR/sentinel.conf when that
# file exists; OPTIONs (such as --replicaof HOST PORT) override the file.
# `redis-server --sentinel` is used rather than the redis-sentinel command,
# which Debian ships in a separate package with its own system service.
redis_start_conf() {
  local dir=$1 port=$2
  shift 2
  redis_rotate_log "$dir"
  if [[ -f "$dir/sentinel.conf" ]]; then
    redis-server "$dir/sentinel.conf" --sentinel "$@" >/dev/null
  else
    redis-server "$dir/redis.conf" "$@" >/dev/null
  fi
  redis_wait_started "$dir" "$port"
}

# redis_cmd PORT ARGS... runs one redis-cli command against PORT. redis-cli
# has no reply timeout, so `timeout` bounds it.
redis_cmd() {
  local port=$1
  shift
  timeout 3 redis-cli -h "$LOOPBACK" -p "$port" "$@" 2>/dev/null
}

# redis_info_field PORT FIELD prints one field of INFO replication (role,
# master_port, master_link_status, connected_slaves, ...).
redis_info_field() {
  local out
  out=$(redis_cmd "$1" info replication) || return 1
  printf '%s\n' "$out" | tr -d '\r' | sed -n "s/^$2://p"
}

# sentinel_primary_port SENTINEL_PORT SERVICE prints the port of the primary
# this Sentinel currently reports for SERVICE.
sentinel_primary_port() {
  local out
  out=$(redis_cmd "$1" sentinel get-master-addr-by-name "$2") || return 1
  # The answer is two lines, the host and then the port.
  out=$(printf '%s\n' "$out" | sed -n 2p)
  [[ "$out" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$out"
}

# redis_stop DIR stops the Redis recorded in DIR, escalating to SIGKILL if
# it has not exited within 15 seconds.
redis_stop() {
  local dir=$1 pid
  redis_running "$dir" || return 0
  pid=$(redis_pid "$dir")
  kill -TERM "$pid" 2>/dev/null || true
  stop_pid_wait "$pid" 15
  rm -f "$dir/redis.pid"
}

# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

# pid_alive PID succeeds while PID runs. A zombie counts as gone: daemons
# are reparented to PID 1, which may take a while to reap them, and an exited
# process must not look alive meanwhile.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# stop_pid_wait PID TIMEOUT_S waits for PID to exit after it was signalled,
# and kills it when the timeout passes.
stop_pid_wait() {
  local pid=$1 timeout=$2
  local deadline=$((SECONDS + timeout))
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if pid_alive "$pid"; then
    warn "process $pid did not exit in ${timeout}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# sigkill_wait PID WHAT kills PID with SIGKILL, as a machine's death would,
# waits until it is gone (SIGKILL is not instant; callers of a fault expect the
# process gone on return) and logs "killed WHAT (pid PID) with SIGKILL".
sigkill_wait() {
  kill -KILL "$1" 2>/dev/null || true
  stop_pid_wait "$1" 5
  log "killed $2 (pid $1) with SIGKILL"
}

# clear_app_env unsets every APP_* variable inherited from the caller (for
# instance after `eval "$(scripts/env.sh)"`), so throwaway runs are configured
# only by what the script sets, never by the local cluster's settings.
clear_app_env() {
  local name
  for name in $(compgen -e); do
    if [[ "$name" == APP_* ]]; then
      unset "$name"
    fi
  done
}

# lift_rate_limits exports rate limits no measurement reaches: benchmarks and the capacity run play
# thousands of players from one address, which is what the per-address limits exist to stop.
lift_rate_limits() {
  local name
  for name in LOGIN_PER_IP_PER_MIN LOGIN_PER_ACCOUNT_PER_MIN SIGNUP_PER_IP_PER_MIN \
    PLAYER_WRITES_PER_PLAYER_PER_MIN UNAUTHENTICATED_PER_IP_PER_MIN WS_CONNECTS_PER_IP_PER_MIN \
    WS_MESSAGES_PER_SOCKET_PER_S ADMIN_PER_IP_PER_MIN PROVIDER_CALLS_PER_PROVIDER_PER_MIN \
    STAKE_RGS_PER_IP_PER_MIN; do
    export "APP__RATE_LIMITS__$name=10000000"
  done
}

# The kernel's autogroups (sched_autogroup_enabled = 1) make every session one scheduling group, and
# Postgres puts each backend in a session of its own, as Redis, nginx, HAProxy and every setsid'd node
# are. A latency run on one machine then shares the cores group by group: a node's or k6's threads
# together get what one Postgres backend gets, and the figures measure that split, not the code
# (docs/BENCHMARKS.md, "The load smoke and the scheduler's groups").
AUTOGROUP_SYSCTL=/proc/sys/kernel/sched_autogroup_enabled
AUTOGROUP_RESTORE=""

# autogroups_off turns the autogroups off for a latency run when they are on and this process may
# (root), and remembers to turn them on again in autogroups_restore; else it says why it cannot.
autogroups_off() {
  [[ -r "$AUTOGROUP_SYSCTL" && "$(cat "$AUTOGROUP_SYSCTL")" == 1 ]] || return 0
  if [[ -w "$AUTOGROUP_SYSCTL" ]] && echo 0 >"$AUTOGROUP_SYSCTL" 2>/dev/null; then
    AUTOGROUP_RESTORE=1
    log "scheduler autogroups off for this run (restored at its end)"
  else
    warn "scheduler autogroups are on and cannot be turned off here (not root?): latencies include the per-session CPU split"
  fi
}

# autogroups_restore undoes autogroups_off.
autogroups_restore() {
  [[ -n "$AUTOGROUP_RESTORE" ]] || return 0
  echo 1 >"$AUTOGROUP_SYSCTL" 2>/dev/null && log "scheduler autogroups on again"
  AUTOGROUP_RESTORE=""
}
# GAME_BIN can point at a prebuilt binary; SKIP_BUILD=1 then skips cargo.
GAME_BIN="${GAME_BIN:-$REPO_ROOT/target/release/game-cluster}"

# build_release builds the release binary unless SKIP_BUILD=1.
build_release() {
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binary"
    (cd "$REPO_ROOT" && cargo build --release)
  fi
  [[ -x "$GAME_BIN" ]] || die "$GAME_BIN does not exist or is not executable"
}

# ---------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------
#
# A private nginx lives in one prefix directory P: P/nginx.conf (rendered from
# the repository's template), P/nginx.pid, P/logs/ and P/tmp/. Nothing is
# read from or written to /etc/nginx or /var, so it runs the same as root and
# as a normal user; as root its workers drop to nginx's default unprivileged
# user, which is why the directories are made traversable.

# NGINX_TEMPLATE from the environment wins, so that scripts/capacity.sh can measure one configuration
# against another (CAPACITY_NGINX_TEMPLATE) on the cluster's nginx too.
NGINX_TEMPLATE=${NGINX_TEMPLATE:-$REPO_ROOT/nginx/nginx.conf.template}

# The variables envsubst may replace in the template. Listing them keeps
# nginx's own variables ($host, $http_upgrade, ...) intact.
# shellcheck disable=SC2016
NGINX_TEMPLATE_VARS='${NGINX_PREFIX} ${NGINX_LISTEN} ${NGINX_UPSTREAM_FILE} ${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG} ${NGINX_WORKER_RLIMIT_NOFILE} ${NGINX_WORKER_PROCESSES}'

# nginx_bin prints the nginx binary; Debian installs it in /usr/sbin, which
# is not on a normal user's PATH.
nginx_bin() {
  if command -v nginx 2>/dev/null; then
    return 0
  elif [[ -x /usr/sbin/nginx ]]; then
    echo /usr/sbin/nginx
  else
    return 1
  fi
}

# nginx_rlimit_nofile prints the descriptor limit for the workers. Root may
# raise it as far as it likes; anyone else is capped by the hard limit, and
# asking for more only produces an alert in the error log.
nginx_rlimit_nofile() {
  local want=131072 hard
  hard=$(ulimit -Hn)
  # Even root cannot raise the hard limit inside a container without CAP_SYS_RESOURCE; ask for what a
  # subshell can actually set.
  if [[ "$hard" != unlimited ]] && ((hard < want)) && ! (ulimit -Hn "$want") 2>/dev/null; then
    want=$hard
  fi
  echo "$want"
}

# nginx_worker_processes prints how many nginx workers to run: one per CPU, but enough that 40,000
# proxied sockets (two descriptors each) fit under the per-worker descriptor limit NOFILE
# (NGINX_WORKER_PROCESSES overrides it).
nginx_worker_processes() {
  local nofile=$1 cpus needed
  if [[ -n "${NGINX_WORKER_PROCESSES:-}" ]]; then
    echo "$NGINX_WORKER_PROCESSES"
    return
  fi
  cpus=$(nproc)
  needed=$(((80000 + nofile - 1) / nofile))
  echo $((needed > cpus ? needed : cpus))
}

# nginx_render PREFIX LISTEN UPSTREAM_FILE renders the template into
# PREFIX/nginx.conf, listening on LISTEN and including the upstream servers
# from UPSTREAM_FILE.
nginx_render() {
  local prefix=$1 listen=$2 upstream=$3 nofile
  mkdir -p "$prefix/logs" "$prefix/tmp"
  chmod 755 "$prefix" "$prefix/tmp"
  nofile=$(nginx_rlimit_nofile)
  NGINX_PREFIX=$prefix NGINX_LISTEN=$listen NGINX_UPSTREAM_FILE=$upstream \
    NGINX_ERROR_LOG="$prefix/logs/error.log" NGINX_ACCESS_LOG="$prefix/logs/access.log" \
    NGINX_WORKER_RLIMIT_NOFILE=$nofile NGINX_WORKER_PROCESSES=$(nginx_worker_processes "$nofile") \
    envsubst "$NGINX_TEMPLATE_VARS" <"$NGINX_TEMPLATE" >"$prefix/nginx.conf.tmp"
  mv -f "$prefix/nginx.conf.tmp" "$prefix/nginx.conf"
}

# nginx_run PREFIX ARGS... runs nginx on the instance in PREFIX. -e sends
# the errors nginx reports before reading its configuration to our log
# instead of the packaged default location.
nginx_run() {
  local prefix=$1 bin
  shift
  bin=$(nginx_bin) || die "nginx is not installed (run ensure_packages)"
  "$bin" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" "$@"
}

# nginx_test PREFIX checks the rendered configuration (`nginx -t`) and shows
# nginx's complaint when it is invalid.
nginx_test() {
  local out
  if ! out=$(nginx_run "$1" -t 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# nginx_pid PREFIX prints the master's pid while it runs.
nginx_pid() {
  local pid
  pid=$(cat "$1/nginx.pid" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" &&
    grep -q nginx "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# nginx_workers MASTER_PID prints the pids of the master's children.
nginx_workers() {
  ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}

# nginx_start PREFIX PORT starts the instance in PREFIX in daemon mode and
# waits up to 10 seconds until it accepts connections on PORT.
nginx_start() {
  local prefix=$1 port=$2 deadline
  nginx_test "$prefix" || return 1
  nginx_run "$prefix" || return 1
  deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    if nginx_pid "$prefix" >/dev/null && port_in_use "$port"; then
      return 0
    fi
    sleep 0.2
  done
  tail -n 20 "$prefix/logs/error.log" >&2 2>/dev/null || true
  return 1
}

# nginx_reload PREFIX checks the configuration, asks the master to reload it
# (SIGHUP) and waits up to 5 seconds for the new workers, so that once it
# returns, new requests are routed by the new configuration. Old workers
# finish their open connections (WebSockets included) in the background.
nginx_reload() {
  local prefix=$1 master old new pid deadline
  master=$(nginx_pid "$prefix") || return 1
  nginx_test "$prefix" || return 1
  old=" $(nginx_workers "$master" | tr '\n' ' ') "
  kill -HUP "$master"
  deadline=$((SECONDS + 5))
  while ((SECONDS < deadline)); do
    new=$(nginx_workers "$master")
    for pid in $new; do
      [[ "$old" == *" $pid "* ]] || return 0
    done
    sleep 0.1
  done
  warn "nginx did not start new workers within 5s after the reload"
}

# nginx_quit PREFIX asks nginx for a graceful stop: it closes its listening
# socket at once and exits when the open connections are done.
nginx_quit() {
  local pid
  pid=$(nginx_pid "$1") || return 0
  kill -QUIT "$pid" 2>/dev/null || true
}

# nginx_stop PREFIX [TIMEOUT_S] stops nginx gracefully, killing it when it
# has not exited in time (default 15 seconds).
nginx_stop() {
  local pid
  pid=$(nginx_pid "$1") || return 0
  kill -QUIT "$pid" 2>/dev/null || true
  stop_pid_wait "$pid" "${2:-15}"
  rm -f "$1/nginx.pid"
}

# ---------------------------------------------------------------------------
# Local cluster (scripts/cluster.sh; up.sh, down.sh, status.sh, env.sh and
# audit.sh are thin wrappers around it)
# ---------------------------------------------------------------------------

# CLUSTER_DIR holds one cluster's data, logs, pid files and cluster.env; a
# scratch directory gives a test a cluster of its own. It is made absolute
# because the servers are started from other working directories.
CLUSTER_DIR=$(realpath -m "${CLUSTER_DIR:-$LOCAL_DIR/cluster}")
CLUSTER_ENV_FILE="$CLUSTER_DIR/cluster.env"

# cluster_load reads the ports, secrets and settings recorded by
# `scripts/cluster.sh start` (see that script for the keys).
cluster_load() {
  [[ -f "$CLUSTER_ENV_FILE" ]] ||
    die "no cluster in $CLUSTER_DIR yet; run 'make up' (scripts/cluster.sh start) first"
  # shellcheck source=/dev/null
  source "$CLUSTER_ENV_FILE"
}

# ---------------------------------------------------------------------------
# Throwaway servers for tests and benchmarks
# ---------------------------------------------------------------------------

# cluster_primary_answers succeeds when the cluster's write address (PG_PORT:
# the primary itself, or HAProxy's writer port in front of Patroni) reaches a
# Postgres that takes writes, within a few seconds. Call after cluster_load.
cluster_primary_answers() {
  [[ "$(PGCONNECT_TIMEOUT=3 pg_psql "$PG_PORT" postgres -tAc "SELECT NOT pg_is_in_recovery()" 2>/dev/null)" == t ]]
}

# start_throwaway_services DIR starts Postgres and Redis on free loopback
# ports under DIR and sets PG_PORT and REDIS_PORT. A port reported as free can
# be taken by a concurrent run before our server binds it, so each server gets
# a few attempts with a new port.
start_throwaway_services() {
  local dir=$1 attempt
  for attempt in 1 2 3; do
    PG_PORT=$(free_port)
    pg_start "$dir/pg" "$PG_PORT" && break
    [[ $attempt -lt 3 ]] || die "Postgres did not start; see $(pg_log_file "$dir/pg")"
    warn "Postgres failed to start on port $PG_PORT; retrying on another port"
  done
  for attempt in 1 2 3; do
    REDIS_PORT=$(free_port)
    redis_start "$dir/redis" "$REDIS_PORT" && break
    redis_stop "$dir/redis"
    [[ $attempt -lt 3 ]] || die "Redis did not start; see $dir/redis/redis.log"
    warn "Redis failed to start on port $REDIS_PORT; retrying on another port"
  done
}

# stop_throwaway_services DIR stops what start_throwaway_services started and
# removes DIR. Safe to call when DIR is empty or half set up.
stop_throwaway_services() {
  local dir=$1
  [[ -n "$dir" && -d "$dir" ]] || return 0
  redis_stop "$dir/redis"
  pg_stop "$dir/pg"
  rm -rf "$dir"
}
