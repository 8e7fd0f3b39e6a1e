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

# ensure_packages installs PostgreSQL, Redis, nginx and curl, but only when
# their binaries are missing, so that repeated runs do not hit the network.
ensure_packages() {
  local missing=()
  pg_bin_dir >/dev/null || missing+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
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

# pg_write_conf DATA_DIR PORT writes the per-start settings. The Unix socket
# is disabled when its path would exceed the kernel's 107-byte limit (deep
# checkouts); TCP on loopback is all the scripts and the tests use anyway.
pg_write_conf() {
  local data=$1 port=$2 run sockdir
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
EOF
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

# pg_start DATA_DIR PORT initialises the cluster if the directory is empty
# and starts it in the background, returning once it accepts connections.
pg_start() {
  local data port=$2 bin
  data=$(realpath -m "$1")
  bin=$(pg_bin_dir) || die "PostgreSQL is not installed (run ensure_packages)"
  pg_prepare_dirs "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    [[ -z "$(ls -A "$data")" ]] || die "$data is neither empty nor a Postgres data directory"
    pg_initdb "$data"
  fi
  pg_write_conf "$data" "$port"
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

# redis_start DIR PORT [persist] starts a daemonized Redis bound to loopback
# with its pidfile, log and data in DIR. Throwaway instances keep nothing on
# disk; pass "persist" (the local cluster does) to enable the append-only
# file so that state survives restarts.
redis_start() {
  local dir=$1 port=$2 persist=${3:-}
  local appendonly=no
  [[ "$persist" == persist ]] && appendonly=yes
  mkdir -p "$dir"
  # An old pidfile or log lines would confuse the readiness checks below, so
  # each start gets a fresh log (the previous one is kept as .prev).
  rm -f "$dir/redis.pid"
  if [[ -f "$dir/redis.log" ]]; then mv -f "$dir/redis.log" "$dir/redis.log.prev"; fi
  redis-server --bind "$LOOPBACK" --port "$port" --protected-mode yes \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    --dir "$dir" --save '' --appendonly "$appendonly" >/dev/null
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

# build_release builds the release binary unless SKIP_BUILD=1.
build_release() {
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    log "building release binary"
    (cd "$REPO_ROOT" && cargo build --release)
  fi
  [[ -x "$GAME_BIN" ]] || die "$GAME_BIN does not exist or is not executable"
}

# ---------------------------------------------------------------------------
# Local cluster (used by up.sh, down.sh, status.sh, env.sh and audit.sh)
# ---------------------------------------------------------------------------

CLUSTER_DIR="$LOCAL_DIR/cluster"
CLUSTER_PG_DIR="$CLUSTER_DIR/pg"
CLUSTER_REDIS_DIR="$CLUSTER_DIR/redis"
CLUSTER_SECRETS="$CLUSTER_DIR/secrets.env"
CLUSTER_STATE="$CLUSTER_DIR/state.env"
CLUSTER_DB_NAME="${PG_DATABASE:-game_cluster}"
# GAME_BIN can point at a prebuilt binary; SKIP_BUILD=1 then skips cargo.
GAME_BIN="${GAME_BIN:-$REPO_ROOT/target/release/game-cluster}"

# cluster_ensure_secrets generates the cluster's secrets once and keeps them,
# because the Postgres password is baked into the data directory and the JWT
# secret must stay stable for issued tokens to remain valid.
cluster_ensure_secrets() {
  mkdir -p "$CLUSTER_DIR"
  [[ -f "$CLUSTER_SECRETS" ]] && return 0
  if [[ -f "$CLUSTER_PG_DIR/PG_VERSION" ]]; then
    die "$CLUSTER_SECRETS is missing but $CLUSTER_PG_DIR exists; its password is lost, so remove $CLUSTER_DIR (after 'make down') to start afresh"
  fi
  (
    umask 077
    cat >"$CLUSTER_SECRETS.tmp" <<EOF
# Generated by scripts/up.sh; keep private. Deleting it requires deleting
# .local/cluster/pg too, since the Postgres password is stored there.
PG_PASSWORD=$(random_hex 24)
JWT_SECRET=$(random_hex 32)
ADMIN_USERNAME=admin
ADMIN_PASSWORD=$(random_hex 12)
EOF
  )
  mv "$CLUSTER_SECRETS.tmp" "$CLUSTER_SECRETS"
}

# cluster_load loads secrets and the ports recorded by the last `up`.
# Recorded ports win over the defaults so that down/status/audit talk to
# what is actually running; PG_PORT etc. only matter for a fresh start.
cluster_load() {
  [[ -f "$CLUSTER_SECRETS" ]] || die "no local cluster yet; run 'make up' first"
  # shellcheck source=/dev/null
  source "$CLUSTER_SECRETS"
  PG_PORT=${PG_PORT:-55432}
  REDIS_PORT=${REDIS_PORT:-56379}
  PUBLIC_PORT=${PUBLIC_PORT:-8080}
  if [[ -f "$CLUSTER_STATE" ]]; then
    # shellcheck source=/dev/null
    source "$CLUSTER_STATE"
  fi
}

# cluster_save_state records the ports in use for the other scripts.
cluster_save_state() {
  cat >"$CLUSTER_STATE" <<EOF
# Written by scripts/up.sh: the ports the local cluster runs on.
PG_PORT=$PG_PORT
REDIS_PORT=$REDIS_PORT
PUBLIC_PORT=$PUBLIC_PORT
EOF
}

# cluster_env_lines [NODE_ID PORT] prints `export` lines with the local
# cluster's configuration, shell-quoted so they can be eval'ed or sourced.
cluster_env_lines() {
  local node_id=${1:-node-1} port=${2:-$PUBLIC_PORT}
  local name value
  while read -r name value; do
    printf 'export %s=%q\n' "$name" "$value"
  done <<EOF
APP_ENV local
APP__APPLICATION__HOST $LOOPBACK
APP__APPLICATION__PORT $port
APP__APPLICATION__NODE_ID $node_id
APP__DATABASE__HOST $LOOPBACK
APP__DATABASE__PORT $PG_PORT
APP__DATABASE__USERNAME postgres
APP__DATABASE__PASSWORD $PG_PASSWORD
APP__DATABASE__DATABASE_NAME $CLUSTER_DB_NAME
APP__REDIS__HOST $LOOPBACK
APP__REDIS__PORT $REDIS_PORT
APP__AUTH__JWT_SECRET $JWT_SECRET
APP__ADMIN__USERNAME $ADMIN_USERNAME
APP__ADMIN__PASSWORD $ADMIN_PASSWORD
EOF
}

node_pid_file() { printf '%s/%s.pid\n' "$CLUSTER_DIR" "$1"; }
node_log_file() { printf '%s/%s.log\n' "$CLUSTER_DIR" "$1"; }

# node_pid NODE_ID prints the pid of a live node, failing when the pidfile
# is missing or stale (the cmdline check guards against pid reuse).
node_pid() {
  local pid
  pid=$(cat "$(node_pid_file "$1")" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" &&
    grep -q game-cluster "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# node_stop NODE_ID stops a node gracefully and removes its pidfile.
node_stop() {
  local id=$1 pid
  if pid=$(node_pid "$id"); then
    log "stopping $id (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    stop_pid_wait "$pid" 20
  fi
  rm -f "$(node_pid_file "$id")"
}

# cluster_node_ids lists the nodes that have a pidfile, in name order.
cluster_node_ids() {
  local f
  for f in "$CLUSTER_DIR"/node-*.pid; do
    [[ -e "$f" ]] || continue
    basename "$f" .pid
  done
}

# ---------------------------------------------------------------------------
# Throwaway servers for tests and benchmarks
# ---------------------------------------------------------------------------

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
