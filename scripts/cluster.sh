#!/usr/bin/env bash
# Runs the whole game cluster on loopback: Postgres primary + streaming
# replica, Redis primary + replica + 3 Sentinels, N game nodes and nginx in
# front of them. Everything lives in CLUSTER_DIR, and every subcommand reads
# what it needs back from CLUSTER_DIR/cluster.env and the pid files, so tests
# can drive a cluster of their own in a scratch directory.
#
# Usage: scripts/cluster.sh SUBCOMMAND [ARGS]
#   start               start whatever is not running, wait until every node
#                       is healthy, write cluster.env, print the URLs
#   stop [--purge]      stop everything (--purge also deletes CLUSTER_DIR)
#   status              every process with pid, port and role (exit 1 if
#                       something is down or unhealthy)
#   scale N             start or drain nodes until N run, updating nginx
#   start-node I        start node I (I <= node count + 1) and add it to nginx
#   kill-node I         SIGKILL node I, nothing else (for fault tests)
#   drain-node I        take node I out of nginx, then SIGTERM it (<= DRAIN_TIMEOUT_S, 50 s)
#   kill-redis-primary  SIGKILL the Redis that the Sentinels call primary and
#                       print its port
#   restart-redis PORT  start the (killed) Redis on PORT again with its config,
#                       as a replica of the current primary; returns in sync
#   restart-postgres    restart the Postgres primary (pg_ctl -m fast; with
#                       Patroni: patronictl restart of the primary)
#   kill-pg-primary     Patroni only: SIGKILL the primary member's Patroni and
#                       Postgres (its machine dies); prints the member (pg-I)
#   start-pg-member I   Patroni only: start member pg-I again (a former primary
#                       rejoins as a replica, pg_rewind as needed)
#   switchover          Patroni only: planned switchover to the sync standby
#                       (patronictl switchover); prints the new primary (pg-I)
#   kill-etcd-member I  Patroni only: SIGKILL etcd member I
#   start-etcd-member I Patroni only: start etcd member I again
#   env [I]             print `export` lines for node I, or without I for a
#                       CLI process such as `game-cluster audit`
#   short-chains [GAMES] [MAX]
#                       tests only: store chains of GAMES games (default 500)
#                       per room whose every game crashes at or below MAX
#                       (default 5.00, rounds of at most 27 s), so that no
#                       wait of a test depends on a long round; start the
#                       cluster with APP__CRASH__CHAIN_AUTO_GENERATE_LENGTH=0
#                       so that no random chain is played first
#
# Environment:
#   CLUSTER_DIR             data, logs, pids, cluster.env (.local/cluster)
#   CLUSTER_PORTS           "auto": every port chosen free; otherwise nginx
#                           8080, node I 8080+I, Postgres 55432/55433, Redis
#                           56379/56380, Sentinels 56381-56383
#   CLUSTER_POSTGRES        "patroni" (default for a new cluster): three
#                           Patroni members with etcd and HAProxy (see
#                           scripts/patroni.sh); "plain": a primary and a
#                           streaming replica started by hand (cheaper)
#   CLUSTER_NODES           node count for start (default: the recorded
#                           count, else 3)
#   CLUSTER_APP_ENV         APP_ENV of the nodes (default local)
#   CLUSTER_HEALTH_TIMEOUT_S  how long start waits for /health (default 90)
#   GAME_BIN                the node binary (target/release/game-cluster)
#   GAME_WORKDIR            the nodes' working directory, which must hold
#                           config/ (default: the repository root)
#   SENTINEL_DOWN_AFTER_MS  Sentinel down-after-milliseconds (default 2000;
#                           used when the Sentinel configs are created)
#   APP__*                  passed to the nodes after the cluster's own
#                           settings (start, scale, start-node), so they win;
#                           they are recorded and reused by later scale and
#                           start-node calls until the next start
# GAME_BIN, GAME_WORKDIR and CLUSTER_APP_ENV are recorded by start and reused
# by later subcommands unless given again.
#
# CLUSTER_DIR/cluster.env (mode 600; KEY=value, lists in double quotes):
#   NGINX_PORT, NODE_COUNT, NODE_PORTS (node I is the I-th), PG_PORT,
#   PG_REPLICA_PORT (with Patroni: HAProxy's writer and reader ports), PG_MODE,
#   PATRONI_PG_PORTS, PATRONI_API_PORTS, ETCD_CLIENT_PORTS, ETCD_PEER_PORTS
#   (member I is the I-th; empty when plain), REDIS_PORT (the initial primary), REDIS_REPLICA_PORT,
#   SENTINEL_PORTS, REDIS_SERVICE_NAME, DB_NAME, PG_PASSWORD, JWT_SECRET,
#   ADMIN_USERNAME, ADMIN_PASSWORD, CLUSTER_SECRET, CLUSTER_DIR, PORTS_MODE,
#   NODE_BIN, NODE_WORKDIR, NODE_APP_ENV
set -euo pipefail

# The caller's choices are captured before lib.sh fills in defaults and
# before cluster.env (which records the previous choices) is read.
CALLER_GAME_BIN=${GAME_BIN:-}
CALLER_GAME_WORKDIR=${GAME_WORKDIR:-}
CALLER_APP_ENV=${CLUSTER_APP_ENV:-}
CALLER_NODES=${CLUSTER_NODES:-}
CALLER_PORTS_MODE=${CLUSTER_PORTS:-}
CALLER_PG_MODE=${CLUSTER_POSTGRES:-}

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/patroni.sh
source "$(dirname "${BASH_SOURCE[0]}")/patroni.sh"
# shellcheck source=scripts/patroni-ops.sh
source "$(dirname "${BASH_SOURCE[0]}")/patroni-ops.sh"

SERVICE_NAME=gamecluster
REPL_ROLE=replicator
REPL_SLOT=replica_1
HEALTH_TIMEOUT_S=${CLUSTER_HEALTH_TIMEOUT_S:-90}
# How long a draining node may take to hand its rooms over (application.handover_timeout_s, 30 s),
# finish its requests and drain its wallet before it is killed (env DRAIN_TIMEOUT_S).
DRAIN_TIMEOUT_S=${DRAIN_TIMEOUT_S:-50}
SENTINEL_DOWN_AFTER_MS=${SENTINEL_DOWN_AFTER_MS:-2000}

PG_DIR="$CLUSTER_DIR/pg"
PG_REPLICA_DIR="$CLUSTER_DIR/pg-replica"
NGINX_DIR="$CLUSTER_DIR/nginx"
UPSTREAM_FILE="$NGINX_DIR/upstream.conf"
LOG_DIR="$CLUSTER_DIR/logs"
RUN_DIR="$CLUSTER_DIR/run"
SECRETS_FILE="$CLUSTER_DIR/secrets.env"
OVERRIDES_FILE="$CLUSTER_DIR/node-overrides.env"
MARKER_FILE="$CLUSTER_DIR/.game-cluster"
LOCK_DIR="$CLUSTER_DIR/.lock"

# Per-node settings that must differ between nodes; an APP__ override of one
# of them would give every node the same value, so such overrides are
# ignored (the caller has probably eval'ed `cluster.sh env 1`).
IDENTITY_KEYS=" APP__APPLICATION__HOST APP__APPLICATION__PORT APP__APPLICATION__NODE_ID APP__CLUSTER__ADVERTISE_URL "

# ---------------------------------------------------------------------------
# Lock
# ---------------------------------------------------------------------------
#
# Subcommands that change the cluster hold a lock, so that `scale` cannot
# interleave with a `start` still in progress. It is a directory (mkdir is
# atomic) rather than flock, because an flock descriptor would be inherited
# by the daemons started under it and keep the lock held forever.

LOCK_HELD=0

lock_acquire() {
  local deadline=$((SECONDS + 300)) owner
  until mkdir "$LOCK_DIR" 2>/dev/null; do
    owner=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
    # A lock whose owner died (SIGKILL, power loss) is taken over.
    if [[ -n "$owner" ]] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf "$LOCK_DIR"
      continue
    fi
    ((SECONDS < deadline)) || die "another cluster.sh (pid ${owner:-?}) holds $LOCK_DIR"
    sleep 0.5
  done
  echo $$ >"$LOCK_DIR/pid"
  LOCK_HELD=1
  trap lock_release EXIT
  # Signals become exits, so the EXIT trap releases the lock on Ctrl-C too.
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

lock_release() {
  if [[ $LOCK_HELD -eq 1 ]]; then rm -rf "$LOCK_DIR"; fi
  LOCK_HELD=0
}

# ---------------------------------------------------------------------------
# Settings: secrets, ports, cluster.env
# ---------------------------------------------------------------------------

# prepare_dirs creates the cluster's directories. They are world-traversable
# (not readable) because Postgres and nginx's workers run as other users when
# we are root; the secrets files themselves are private.
prepare_dirs() {
  mkdir -p "$CLUSTER_DIR" "$LOG_DIR" "$RUN_DIR" "$NGINX_DIR"
  chmod 711 "$CLUSTER_DIR"
  touch "$MARKER_FILE"
}

# ensure_secrets generates the cluster's secrets once and keeps them: the
# Postgres passwords are baked into the data directory, and the JWT secret
# must stay stable for issued tokens to remain valid. A secrets file from an
# older layout gets the keys it lacks.
ensure_secrets() {
  if [[ ! -f "$SECRETS_FILE" && -f "$PG_DIR/PG_VERSION" ]]; then
    die "$SECRETS_FILE is missing but $PG_DIR exists; its password is lost, so run 'scripts/cluster.sh stop --purge' to start afresh"
  fi
  touch "$SECRETS_FILE"
  chmod 600 "$SECRETS_FILE"
  secret_default PG_PASSWORD "$(random_hex 24)"
  secret_default REPL_PASSWORD "$(random_hex 24)"
  secret_default JWT_SECRET "$(random_hex 32)"
  secret_default ADMIN_USERNAME admin
  secret_default ADMIN_PASSWORD "$(random_hex 12)"
  secret_default CLUSTER_SECRET "$(random_hex 32)"
  # shellcheck source=/dev/null
  source "$SECRETS_FILE"
}

# secret_default KEY VALUE appends KEY=VALUE unless the secrets file has KEY.
secret_default() {
  grep -q "^$1=" "$SECRETS_FILE" || printf '%s=%s\n' "$1" "$2" >>"$SECRETS_FILE"
}

# env_value VALUE prints VALUE for a KEY=value line that both `source` and a
# naive parser (split at the first '=', strip surrounding double quotes) read
# the same way: quoted only when it contains spaces.
env_value() {
  [[ "$1" != *[\"\$\`\\]* ]] || die "cannot record a value containing quotes, \$, \` or \\: $1"
  if [[ "$1" == *[[:space:]]* ]]; then printf '"%s"' "$1"; else printf '%s' "$1"; fi
}

# write_env_file records everything the other subcommands (and tests) need.
# It holds secrets, hence the private mode.
write_env_file() {
  local key
  {
    echo "# Written by scripts/cluster.sh; sourceable KEY=value lines. Private: holds secrets."
    for key in CLUSTER_DIR NGINX_PORT NODE_COUNT NODE_PORTS PG_PORT PG_REPLICA_PORT PG_MODE \
      PATRONI_PG_PORTS PATRONI_API_PORTS ETCD_CLIENT_PORTS ETCD_PEER_PORTS \
      REDIS_PORT REDIS_REPLICA_PORT SENTINEL_PORTS REDIS_SERVICE_NAME DB_NAME \
      PG_PASSWORD JWT_SECRET ADMIN_USERNAME ADMIN_PASSWORD CLUSTER_SECRET \
      PORTS_MODE NODE_BIN NODE_WORKDIR NODE_APP_ENV; do
      printf '%s=%s\n' "$key" "$(env_value "${!key}")"
    done
  } >"$CLUSTER_ENV_FILE.tmp"
  chmod 600 "$CLUSTER_ENV_FILE.tmp"
  mv -f "$CLUSTER_ENV_FILE.tmp" "$CLUSTER_ENV_FILE"
}

# load_settings reads cluster.env and applies the caller's explicit choices
# of binary, working directory and APP_ENV over the recorded ones.
load_settings() {
  cluster_load
  NODE_BIN=${CALLER_GAME_BIN:-${NODE_BIN:-$GAME_BIN}}
  NODE_WORKDIR=${CALLER_GAME_WORKDIR:-${NODE_WORKDIR:-$REPO_ROOT}}
  NODE_APP_ENV=${CALLER_APP_ENV:-${NODE_APP_ENV:-local}}
  PORTS_MODE=${CALLER_PORTS_MODE:-${PORTS_MODE:-fixed}}
  read -r -a NODE_PORT_LIST <<<"$NODE_PORTS"
  read -r -a SENTINEL_PORT_LIST <<<"$SENTINEL_PORTS"
  # A cluster recorded before PG_MODE existed runs the plain topology.
  PG_MODE=${PG_MODE:-plain}
  read -r -a PATRONI_PG_PORT_LIST <<<"${PATRONI_PG_PORTS:-}"
  read -r -a PATRONI_API_PORT_LIST <<<"${PATRONI_API_PORTS:-}"
  read -r -a ETCD_CLIENT_PORT_LIST <<<"${ETCD_CLIENT_PORTS:-}"
  read -r -a ETCD_PEER_PORT_LIST <<<"${ETCD_PEER_PORTS:-}"
}

# pick_port DEFAULT prints DEFAULT, or a free port not used by this cluster
# yet when CLUSTER_PORTS=auto. The kernel may hand out the same free port
# twice in a row, hence the comparison with the ports chosen so far.
pick_port() {
  local port i
  if [[ "$PORTS_MODE" != auto ]]; then
    printf '%s\n' "$1"
    return 0
  fi
  for ((i = 0; i < 50; i++)); do
    port=$(free_port)
    if [[ " $(taken_ports) " != *" $port "* ]]; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "could not find a free port"
}

# taken_ports lists the ports this cluster already uses.
taken_ports() {
  printf '%s ' "${NGINX_PORT:-}" "${PG_PORT:-}" "${PG_REPLICA_PORT:-}" "${REDIS_PORT:-}" \
    "${REDIS_REPLICA_PORT:-}" "${SENTINEL_PORT_LIST[@]}" "${NODE_PORT_LIST[@]}" \
    "${PATRONI_PG_PORT_LIST[@]}" "${PATRONI_API_PORT_LIST[@]}" "${ETCD_CLIENT_PORT_LIST[@]}" "${ETCD_PEER_PORT_LIST[@]}"
}

# init_settings chooses the ports of a new cluster (nothing recorded yet).
# Each is assigned before the next is picked, so pick_port sees them all.
init_settings() {
  local i
  PORTS_MODE=${CALLER_PORTS_MODE:-fixed}
  PG_MODE=${CALLER_PG_MODE:-patroni}
  [[ "$PG_MODE" == patroni || "$PG_MODE" == plain ]] || die "CLUSTER_POSTGRES must be patroni or plain, got '$PG_MODE'"
  NODE_PORT_LIST=() SENTINEL_PORT_LIST=()
  PATRONI_PG_PORT_LIST=() PATRONI_API_PORT_LIST=() ETCD_CLIENT_PORT_LIST=() ETCD_PEER_PORT_LIST=()
  NGINX_PORT=$(pick_port 8080)
  PG_PORT=$(pick_port 55432)
  PG_REPLICA_PORT=$(pick_port 55433)
  REDIS_PORT=$(pick_port 56379)
  REDIS_REPLICA_PORT=$(pick_port 56380)
  for i in 1 2 3; do SENTINEL_PORT_LIST+=("$(pick_port $((56380 + i)))"); done
  if [[ "$PG_MODE" == patroni ]]; then
    for i in 1 2 3; do
      PATRONI_PG_PORT_LIST+=("$(pick_port $((55440 + i)))")
      PATRONI_API_PORT_LIST+=("$(pick_port $((58440 + i)))")
      ETCD_CLIENT_PORT_LIST+=("$(pick_port $((52380 + i)))")
      ETCD_PEER_PORT_LIST+=("$(pick_port $((52390 + i)))")
    done
  fi
  NODE_BIN=${CALLER_GAME_BIN:-$GAME_BIN}
  NODE_WORKDIR=${CALLER_GAME_WORKDIR:-$REPO_ROOT}
  NODE_APP_ENV=${CALLER_APP_ENV:-local}
}

# sync_lists copies the port arrays into the variables written to
# cluster.env.
sync_lists() {
  NODE_COUNT=${#NODE_PORT_LIST[@]}
  NODE_PORTS="${NODE_PORT_LIST[*]}"
  SENTINEL_PORTS="${SENTINEL_PORT_LIST[*]}"
  PATRONI_PG_PORTS="${PATRONI_PG_PORT_LIST[*]}"
  PATRONI_API_PORTS="${PATRONI_API_PORT_LIST[*]}"
  ETCD_CLIENT_PORTS="${ETCD_CLIENT_PORT_LIST[*]}"
  ETCD_PEER_PORTS="${ETCD_PEER_PORT_LIST[*]}"
  # Read through ${!key} by write_env_file.
  # shellcheck disable=SC2034
  REDIS_SERVICE_NAME=$SERVICE_NAME
  DB_NAME=${DB_NAME:-${PG_DATABASE:-game_cluster}}
}

# set_node_count N grows the node port list to N entries (new nodes get
# 8080+I, or a free port in auto mode) or shrinks it to N.
set_node_count() {
  local n=$1 i
  for ((i = ${#NODE_PORT_LIST[@]} + 1; i <= n; i++)); do
    NODE_PORT_LIST+=("$(pick_port $((8080 + i)))")
  done
  NODE_PORT_LIST=("${NODE_PORT_LIST[@]:0:n}")
  sync_lists
}

# check_port PORT WHAT dies with a clear message when a component that is
# not running finds its port taken by some other process.
check_port() {
  if port_in_use "$1"; then
    die "port $1 for $2 is taken by another process; free it, or use CLUSTER_PORTS=auto with a new CLUSTER_DIR"
  fi
}

# ---------------------------------------------------------------------------
# Postgres
# ---------------------------------------------------------------------------

start_pg_primary() {
  if ! pg_running "$PG_DIR"; then
    check_port "$PG_PORT" "the Postgres primary"
    log "starting the Postgres primary on $LOOPBACK:$PG_PORT"
    pg_start "$PG_DIR" "$PG_PORT" "$(pg_replication_settings)" ||
      die "the Postgres primary did not start; see $(pg_log_file "$PG_DIR")"
  fi
  pg_allow_replication "$PG_DIR" "$REPL_ROLE"
  pg_reload "$PG_PORT"
  pg_ensure_replication_role "$PG_PORT" "$REPL_ROLE" "$REPL_PASSWORD"
  # The nodes migrate the database themselves, but sqlx cannot create the
  # database it connects to.
  pg_ensure_db "$PG_PORT" "$DB_NAME"
}

# start_pg_replica clones the primary on first start, then runs the copy as
# a hot standby on its own port.
start_pg_replica() {
  pg_running "$PG_REPLICA_DIR" && return 0
  if [[ ! -f "$PG_REPLICA_DIR/PG_VERSION" ]]; then
    log "cloning the primary into the replica (pg_basebackup -R)"
    pg_create_replica "$PG_PORT" "$PG_REPLICA_DIR" "$REPL_ROLE" "$REPL_PASSWORD" "$REPL_SLOT" ||
      die "pg_basebackup failed"
  fi
  check_port "$PG_REPLICA_PORT" "the Postgres replica"
  log "starting the Postgres replica on $LOOPBACK:$PG_REPLICA_PORT"
  pg_start "$PG_REPLICA_DIR" "$PG_REPLICA_PORT" "$(pg_replication_settings)" ||
    die "the Postgres replica did not start; see $(pg_log_file "$PG_REPLICA_DIR")"
}

# pg_query PORT SQL prints one unaligned row, or nothing when the server does
# not answer within a few seconds (connecting and running are both bounded).
pg_query() {
  PGCONNECT_TIMEOUT=3 PGOPTIONS='-c statement_timeout=3000' \
    pg_psql "$1" postgres -tAF ' ' -c "$2" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Redis and Sentinel
# ---------------------------------------------------------------------------

redis_dir() { printf '%s/redis-%s\n' "$CLUSTER_DIR" "$1"; }
sentinel_dir() { printf '%s/sentinel-%s\n' "$CLUSTER_DIR" "$1"; }

# redis_dir_for_port PORT prints the directory of the cluster's Redis on
# PORT (instance 1 started as the primary, instance 2 as its replica).
redis_dir_for_port() {
  case "$1" in
    "$REDIS_PORT") redis_dir 1 ;;
    "$REDIS_REPLICA_PORT") redis_dir 2 ;;
    *) die "port $1 is not one of this cluster's Redis servers ($REDIS_PORT, $REDIS_REPLICA_PORT)" ;;
  esac
}

# start_redis_instance I PORT [PRIMARY_PORT] starts Redis I unless it runs.
# Its config file is created on first start only; afterwards it records the
# role Sentinel last gave the instance.
start_redis_instance() {
  local dir
  dir=$(redis_dir "$1")
  redis_running "$dir" && return 0
  redis_write_conf "$dir" "$2" "${3:-}"
  check_port "$2" "Redis $1"
  log "starting Redis $1 on $LOOPBACK:$2"
  launch_redis "$dir" "$2"
}

# launch_redis DIR PORT starts a cluster Redis from its config. When the
# Sentinels already run and name another primary (this instance was killed
# and missed a failover), it starts straight as that primary's replica and
# records the role in its config: left alone it would come back as a second
# primary for the ~15 s Sentinel takes to demote it, and accept writes that
# would then be lost.
launch_redis() {
  local dir=$1 port=$2 primary args=()
  if primary=$(current_redis_primary) && [[ "$primary" != "$port" ]]; then
    args=(--replicaof "$LOOPBACK" "$primary")
  fi
  redis_start_conf "$dir" "$port" "${args[@]}" || die "Redis did not start; see $dir/redis.log"
  if ((${#args[@]} > 0)); then
    log "Redis on $port joined the current primary $primary as a replica"
    redis_cmd "$port" config rewrite >/dev/null || warn "could not record the role in $dir/redis.conf"
  fi
}

# wait_redis_replica PORT waits up to 30 seconds until the Redis on PORT is
# a replica whose link to the primary is up.
wait_redis_replica() {
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if [[ "$(redis_info_field "$1" role)" == slave && "$(redis_info_field "$1" master_link_status)" == up ]]; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

start_sentinels() {
  local i=0 port dir
  for port in "${SENTINEL_PORT_LIST[@]}"; do
    i=$((i + 1))
    dir=$(sentinel_dir "$i")
    redis_running "$dir" && continue
    sentinel_write_conf "$dir" "$port" "$SERVICE_NAME" "$REDIS_PORT" "$SENTINEL_DOWN_AFTER_MS"
    check_port "$port" "Sentinel $i"
    log "starting Sentinel $i on $LOOPBACK:$port"
    redis_start_conf "$dir" "$port" || die "Sentinel $i did not start; see $dir/redis.log"
  done
}

# sentinel_ready PORT succeeds when the Sentinel on PORT knows a replica of
# the primary and the two other Sentinels, i.e. when it could take part in a
# failover. Sentinels find each other through hello messages every 2 s, so
# this takes a few seconds after they start.
sentinel_ready() {
  local info
  info=$(redis_cmd "$1" sentinel master "$SERVICE_NAME") || return 1
  # The answer alternates field names and values, one per line.
  printf '%s\n' "$info" | paste - - | awk -F '\t' '
    $1 == "num-slaves" { slaves = $2 }
    $1 == "num-other-sentinels" { others = $2 }
    END { exit !(slaves >= 1 && others >= 2) }'
}

# wait_sentinels_ready waits up to 20 seconds until every Sentinel is ready,
# so that a fault test may kill the primary as soon as start returns.
wait_sentinels_ready() {
  local deadline=$((SECONDS + 20)) port pending
  while ((SECONDS < deadline)); do
    pending=""
    for port in "${SENTINEL_PORT_LIST[@]}"; do
      sentinel_ready "$port" || pending+=" $port"
    done
    [[ -n "$pending" ]] || return 0
    sleep 0.3
  done
  warn "Sentinels on${pending} do not see the replica and both other Sentinels yet; a failover may not happen"
}

# current_redis_primary prints the primary's port as the first Sentinel
# that answers reports it, failing when none answers.
current_redis_primary() {
  local port
  for port in "${SENTINEL_PORT_LIST[@]}"; do
    sentinel_primary_port "$port" "$SERVICE_NAME" && return 0
  done
  return 1
}

# ---------------------------------------------------------------------------
# Nodes
# ---------------------------------------------------------------------------

node_pid_file() { printf '%s/node-%s.pid\n' "$RUN_DIR" "$1"; }
node_log_file() { printf '%s/node-%s.log\n' "$LOG_DIR" "$1"; }
node_port() { printf '%s\n' "${NODE_PORT_LIST[$(($1 - 1))]}"; }

# node_pid I prints the pid of live node I. The pidfile may be stale (the
# node was killed), so the process must exist and run `... serve`.
node_pid() {
  local pid
  pid=$(cat "$(node_pid_file "$1")" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  [[ "$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 2p)" == serve ]] || return 1
  printf '%s\n' "$pid"
}

# valid_node I [MAX] dies unless I is a node number between 1 and MAX
# (default: the node count).
valid_node() {
  local max=${2:-$NODE_COUNT}
  if ! [[ "$1" =~ ^[1-9][0-9]*$ ]] || (($1 > max)); then
    die "node must be a number from 1 to $max, got '$1'"
  fi
}

# export_line NAME VALUE prints `export NAME='VALUE'`, single-quoted so that
# both `eval` and a simple line parser read the value back unchanged.
export_line() {
  local q="'\\''"
  printf "export %s='%s'\n" "$1" "${2//\'/$q}"
}

# common_env_lines prints `export` lines shared by every node and by CLI
# processes. Redis is the current primary when the Sentinels answer (a node
# without Sentinel support then still reaches a writable Redis after a
# failover), the initial one otherwise.
common_env_lines() {
  local redis_port name value
  redis_port=$(current_redis_primary) || redis_port=$REDIS_PORT
  while read -r name value; do
    export_line "$name" "$value"
  done <<EOF
APP_ENV $NODE_APP_ENV
APP__DATABASE__HOST $LOOPBACK
APP__DATABASE__PORT $PG_PORT
APP__DATABASE__USERNAME postgres
APP__DATABASE__PASSWORD $PG_PASSWORD
APP__DATABASE__DATABASE_NAME $DB_NAME
APP__DATABASE__REPLICA_HOST $LOOPBACK
APP__DATABASE__REPLICA_PORT $PG_REPLICA_PORT
APP__REDIS__HOST $LOOPBACK
APP__REDIS__PORT $redis_port
APP__REDIS__SENTINELS $(sentinel_list)
APP__REDIS__SERVICE_NAME $SERVICE_NAME
APP__CLUSTER__SECRET $CLUSTER_SECRET
APP__AUTH__JWT_SECRET $JWT_SECRET
APP__ADMIN__USERNAME $ADMIN_USERNAME
APP__ADMIN__PASSWORD $ADMIN_PASSWORD
EOF
}

# sentinel_list prints the Sentinels as "127.0.0.1:p1,127.0.0.1:p2,...".
sentinel_list() {
  local port out=""
  for port in "${SENTINEL_PORT_LIST[@]}"; do out+="${out:+,}$LOOPBACK:$port"; done
  printf '%s\n' "$out"
}

# node_env_lines I prints the complete environment of node I: the shared
# settings, its identity, then the recorded APP__ overrides.
node_env_lines() {
  local port
  port=$(node_port "$1")
  common_env_lines
  export_line APP__APPLICATION__HOST "$LOOPBACK"
  export_line APP__APPLICATION__PORT "$port"
  export_line APP__APPLICATION__NODE_ID "node-$1"
  export_line APP__CLUSTER__ADVERTISE_URL "http://$LOOPBACK:$port"
  if [[ -f "$OVERRIDES_FILE" ]]; then cat "$OVERRIDES_FILE"; fi
}

# caller_overrides prints the caller's APP__ variables as `export` lines,
# leaving out (with a warning) the per-node identity keys.
caller_overrides() {
  local name
  for name in $(compgen -e); do
    [[ "$name" == APP__* ]] || continue
    if [[ "$IDENTITY_KEYS" == *" $name "* ]]; then
      warn "ignoring $name from the environment: it must differ per node"
      continue
    fi
    export_line "$name" "${!name}"
  done
}

# record_overrides MODE writes the overrides file: "replace" keeps only the
# caller's APP__ variables (start), "merge" lays them over the recorded ones
# (scale, start-node), so every node of a cluster gets the same overrides.
record_overrides() {
  local -A lines=()
  local line name
  if [[ "$1" == merge && -f "$OVERRIDES_FILE" ]]; then
    while IFS= read -r line; do
      name=${line#export }
      lines[${name%%=*}]=$line
    done <"$OVERRIDES_FILE"
  fi
  while IFS= read -r line; do
    [[ -n "$line" ]] || continue
    name=${line#export }
    lines[${name%%=*}]=$line
  done < <(caller_overrides)
  : >"$OVERRIDES_FILE"
  chmod 600 "$OVERRIDES_FILE"
  for name in "${!lines[@]}"; do printf '%s\n' "${lines[$name]}"; done | sort >>"$OVERRIDES_FILE"
  if [[ -s "$OVERRIDES_FILE" ]]; then
    log "node overrides: $(sed 's/^export //; s/=.*//' "$OVERRIDES_FILE" | tr '\n' ' ')"
  fi
}

# node_launch I starts node I in the background. It runs in its own session
# (setsid) with nohup and stdin from /dev/null, so neither Ctrl-C in the
# calling terminal nor closing it reaches the node.
node_launch() {
  local i=$1 port log_file
  port=$(node_port "$i")
  log_file=$(node_log_file "$i")
  check_port "$port" "node-$i"
  log "starting node-$i on $LOOPBACK:$port (log: $log_file)"
  printf '=== %s starting node-%s on port %s ===\n' "$(date '+%F %T')" "$i" "$port" >>"$log_file"
  (
    clear_app_env
    eval "$(node_env_lines "$i")"
    cd "$NODE_WORKDIR"
    # The log is a file, so colour escape codes would only clutter it.
    NO_COLOR=1 nohup setsid "$NODE_BIN" serve </dev/null >>"$log_file" 2>&1 &
    printf '%s\n' "$!" >"$(node_pid_file "$i")"
  )
}

# node_health_code I prints the HTTP status of node I's /health.
node_health_code() {
  http_status "http://$LOOPBACK:$(node_port "$1")/health"
}

# wait_nodes_healthy I... waits until every listed node answers /health with
# 200. It fails as soon as one exits, or after HEALTH_TIMEOUT_S, showing the
# end of the failing node's log.
wait_nodes_healthy() {
  local pending=("$@") still i deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  while ((${#pending[@]} > 0)); do
    still=()
    for i in "${pending[@]}"; do
      if [[ "$(node_health_code "$i")" == 200 ]]; then
        log "node-$i is healthy"
      elif ! node_pid "$i" >/dev/null; then
        node_failed "$i" "node-$i exited during start-up"
      else
        still+=("$i")
      fi
    done
    pending=("${still[@]}")
    ((${#pending[@]} == 0)) && break
    ((SECONDS < deadline)) ||
      node_failed "${pending[0]}" "node-${pending[0]} is not healthy after ${HEALTH_TIMEOUT_S}s (still waiting: ${pending[*]})"
    sleep 0.5
  done
}

node_failed() {
  log "$2; last lines of $(node_log_file "$1"):"
  tail -n 40 "$(node_log_file "$1")" >&2 || true
  die "$2"
}

# start_nodes I... starts the listed nodes that are not running and waits
# until they are healthy. When no node runs yet, the first one starts alone
# so that it applies the migrations before the others connect.
start_nodes() {
  local missing=() i
  for i in "$@"; do node_pid "$i" >/dev/null || missing+=("$i"); done
  ((${#missing[@]} > 0)) || return 0
  if ! any_node_running; then
    node_launch "${missing[0]}"
    wait_nodes_healthy "${missing[0]}"
    missing=("${missing[@]:1}")
  fi
  for i in "${missing[@]}"; do node_launch "$i"; done
  wait_nodes_healthy "${missing[@]}"
}

any_node_running() {
  local i
  for ((i = 1; i <= ${#NODE_PORT_LIST[@]}; i++)); do
    node_pid "$i" >/dev/null && return 0
  done
  return 1
}

# stop_nodes_wait TIMEOUT_S I... sends SIGTERM to the listed nodes at once
# (each drains its sockets and wallet shards), then waits for each, killing
# one that is still alive after TIMEOUT_S.
stop_nodes_wait() {
  local timeout=$1 i pid pids=()
  shift
  for i in "$@"; do
    if pid=$(node_pid "$i"); then
      log "stopping node-$i (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do stop_pid_wait "$pid" "$timeout"; done
  for i in "$@"; do rm -f "$(node_pid_file "$i")"; done
}

# pidfile_nodes lists every node with a pidfile, including nodes above the
# current count left by an interrupted scale.
pidfile_nodes() {
  local f n
  for f in "$RUN_DIR"/node-*.pid; do
    [[ -e "$f" ]] || continue
    n=${f##*/node-}
    printf '%s\n' "${n%.pid}"
  done | sort -n
}

# ---------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------

# write_upstream [SKIP...] writes one server line per live node, leaving out
# the nodes listed (those about to be drained). An upstream block needs at
# least one server, so with no live node a placeholder marked `down` makes
# nginx answer 502 at once.
write_upstream() {
  local skip=" $* " i servers=""
  for ((i = 1; i <= ${#NODE_PORT_LIST[@]}; i++)); do
    [[ "$skip" == *" $i "* ]] && continue
    node_pid "$i" >/dev/null || continue
    servers+="server $LOOPBACK:$(node_port "$i") max_fails=1 fail_timeout=2s; # node-$i"$'\n'
  done
  if [[ -z "$servers" ]]; then
    servers="server $LOOPBACK:1 down; # placeholder: no live node"$'\n'
  fi
  printf '# Written by scripts/cluster.sh: the live nodes.\n%s' "$servers" >"$UPSTREAM_FILE.tmp"
  mv -f "$UPSTREAM_FILE.tmp" "$UPSTREAM_FILE"
}

# sync_nginx [SKIP...] rewrites the upstream list and reloads nginx, or
# starts it when it is not running.
sync_nginx() {
  write_upstream "$@"
  nginx_render "$NGINX_DIR" "$LOOPBACK:$NGINX_PORT" "$UPSTREAM_FILE"
  if nginx_pid "$NGINX_DIR" >/dev/null; then
    nginx_reload "$NGINX_DIR" || die "nginx rejected the new configuration; see $NGINX_DIR/logs/error.log"
  else
    check_port "$NGINX_PORT" nginx
    log "starting nginx on $LOOPBACK:$NGINX_PORT"
    nginx_start "$NGINX_DIR" "$NGINX_PORT" || die "nginx did not start; see $NGINX_DIR/logs/error.log"
  fi
}

# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------

cmd_start() {
  ensure_packages
  ensure_secrets
  if [[ -f "$CLUSTER_ENV_FILE" ]]; then load_settings; else init_settings; fi
  if [[ -n "$CALLER_PG_MODE" && "$CALLER_PG_MODE" != "$PG_MODE" ]]; then
    die "the cluster in $CLUSTER_DIR runs Postgres '$PG_MODE', not '$CALLER_PG_MODE'; 'scripts/cluster.sh stop --purge' (make clean-cluster) starts afresh"
  fi
  [[ "${CALLER_NODES:-1}" =~ ^[1-9][0-9]*$ ]] || die "CLUSTER_NODES must be a number >= 1"
  set_node_count "${CALLER_NODES:-${NODE_COUNT:-3}}"
  [[ -x "$NODE_BIN" ]] || die "$NODE_BIN does not exist or is not executable (build it, or set GAME_BIN)"
  [[ -d "$NODE_WORKDIR/config" ]] || die "$NODE_WORKDIR has no config/ directory (set GAME_WORKDIR)"
  # Recorded first, so that stop and status find a half-started cluster.
  write_env_file
  if [[ "$PG_MODE" == patroni ]]; then
    start_postgres_ha
  else
    start_pg_primary
    start_pg_replica
  fi
  start_redis_instance 1 "$REDIS_PORT"
  start_redis_instance 2 "$REDIS_REPLICA_PORT" "$REDIS_PORT"
  start_sentinels
  record_overrides replace
  reconcile_nodes "$NODE_COUNT"
  wait_sentinels_ready
  print_urls
}

# reconcile_nodes N starts nodes 1..N that are not running and waits until
# they are healthy, then puts exactly the live nodes up to N into nginx; the
# nodes above N are drained only after nginx stopped sending them traffic.
reconcile_nodes() {
  local n=$1 extra=() ids=() i
  for i in $(pidfile_nodes); do ((i <= n)) || extra+=("$i"); done
  mapfile -t ids < <(seq 1 "$n")
  start_nodes "${ids[@]}"
  sync_nginx "${extra[@]}"
  if ((${#extra[@]} > 0)); then
    stop_nodes_wait "$DRAIN_TIMEOUT_S" "${extra[@]}"
  fi
  write_env_file
}

cmd_scale() {
  local n=${1:-}
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "usage: scale N (N >= 1)"
  load_settings
  record_overrides merge
  log "scaling from $NODE_COUNT to $n node(s)"
  set_node_count "$n"
  write_env_file
  reconcile_nodes "$n"
  status_nodes_brief
}

cmd_start_node() {
  local i=${1:-}
  load_settings
  valid_node "$i" $((NODE_COUNT + 1))
  record_overrides merge
  ((i <= NODE_COUNT)) || set_node_count "$i"
  write_env_file
  start_nodes "$i"
  sync_nginx
}

cmd_kill_node() {
  local i=${1:-} pid
  load_settings
  valid_node "$i"
  pid=$(node_pid "$i") || die "node-$i is not running"
  sigkill_wait "$pid" "node-$i"
}

cmd_drain_node() {
  local i=${1:-}
  load_settings
  valid_node "$i"
  node_pid "$i" >/dev/null || die "node-$i is not running"
  log "taking node-$i out of nginx"
  sync_nginx "$i"
  stop_nodes_wait "$DRAIN_TIMEOUT_S" "$i"
  log "node-$i drained"
}

cmd_kill_redis_primary() {
  local port dir pid
  load_settings
  port=$(current_redis_primary) || die "no Sentinel answered; is the cluster running?"
  dir=$(redis_dir_for_port "$port")
  redis_running "$dir" || die "the primary the Sentinels report (port $port) is not running"
  pid=$(redis_pid "$dir")
  sigkill_wait "$pid" "the Redis primary on port $port"
  printf '%s\n' "$port"
}

cmd_restart_redis() {
  local port=${1:-} dir
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: restart-redis PORT"
  load_settings
  dir=$(redis_dir_for_port "$port")
  if redis_running "$dir"; then
    log "Redis on port $port is already running"
    return 0
  fi
  check_port "$port" "Redis"
  log "starting Redis on port $port again"
  launch_redis "$dir" "$port"
  # With every Sentinel down there is no primary to follow; otherwise the
  # caller gets a replica that is in sync.
  if current_redis_primary >/dev/null; then
    wait_redis_replica "$port" || die "Redis on $port did not become a replica in sync within 30s"
    log "Redis on $port is a replica of $(redis_info_field "$port" master_port), link up"
  fi
}

cmd_restart_postgres() {
  local started=$SECONDS
  load_settings
  if [[ "$PG_MODE" == patroni ]]; then
    restart_patroni_primary
    return 0
  fi
  pg_running "$PG_DIR" || die "the Postgres primary is not running"
  log "restarting the Postgres primary (fast shutdown)"
  pg_restart "$PG_DIR" || die "the restart failed; see $(pg_log_file "$PG_DIR")"
  wait_pg "$PG_PORT" 30 || die "the Postgres primary does not accept connections after the restart"
  log "Postgres primary back after $((SECONDS - started))s"
  if pg_running "$PG_REPLICA_DIR"; then
    wait_replica_streaming 15 || warn "the replica is not streaming again after 15s; see $(pg_log_file "$PG_REPLICA_DIR")"
  fi
}

# wait_replica_streaming TIMEOUT_S waits until the primary sees the replica
# streaming.
wait_replica_streaming() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    [[ "$(pg_query "$PG_PORT" "$REPLICA_LAG_SQL")" == streaming* ]] && return 0
    sleep 0.3
  done
  return 1
}

cmd_env() {
  local i=${1:-}
  load_settings
  printf '# The game-cluster binary reads config/ from its working directory: cd %q\n' "$NODE_WORKDIR"
  if [[ -z "$i" ]]; then
    common_env_lines
  else
    # "node-2" is accepted as well as "2".
    i=${i#node-}
    valid_node "$i"
    node_env_lines "$i"
  fi
}

cmd_short_chains() {
  local games=${1:-500} crash_point_max=${2:-5.00}
  load_settings
  (
    eval "$(common_env_lines)"
    cd "$NODE_WORKDIR"
    "$NODE_BIN" chain generate-short --games "$games" --crash-point-max "$crash_point_max"
  ) >/dev/null || die "could not store short chains"
  log "every room has chains of $games games, none crashing above ${crash_point_max}x"
}

cmd_stop() {
  local purge=0
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) die "usage: stop [--purge]" ;;
  esac
  stop_all
  if ((purge)); then purge_dir; else log "cluster stopped (data kept in $CLUSTER_DIR)"; fi
}

# stop_all stops every process. nginx is asked to quit first, which closes
# its listening socket at once; the nodes then close their WebSockets with
# 1001, which lets nginx's workers finish. The Sentinels stop before Redis so
# that they do not fail over while the primary goes down, and the Postgres
# replica stops before its primary.
stop_all() {
  local i dir
  local nodes=()
  nginx_quit "$NGINX_DIR"
  mapfile -t nodes < <(pidfile_nodes)
  stop_nodes_wait "$DRAIN_TIMEOUT_S" "${nodes[@]}"
  stop_legacy
  nginx_stop "$NGINX_DIR" 10
  for i in 1 2 3; do stop_logged "Sentinel $i" "$(sentinel_dir "$i")"; done
  for i in 2 1; do stop_logged "Redis $i" "$(redis_dir "$i")"; done
  # The Patroni topology's ports come from cluster.env; its processes are
  # found by their pidfiles even when start died before writing it.
  if [[ -f "$CLUSTER_ENV_FILE" ]]; then load_settings; fi
  if [[ "${PG_MODE:-plain}" == patroni ]] || compgen -G "$RUN_DIR/patroni-*.pid" >/dev/null ||
    compgen -G "$RUN_DIR/etcd-*.pid" >/dev/null; then
    stop_postgres_ha
  fi
  for dir in "$PG_REPLICA_DIR" "$PG_DIR"; do
    if pg_running "$dir"; then
      log "stopping Postgres in $dir"
      pg_stop "$dir"
    fi
  done
}

# stop_legacy stops what the former single-node up.sh left running in the
# same directory (one node, one Redis), so that an upgrade needs no manual
# cleanup before the new layout can take the ports.
stop_legacy() {
  local pid
  pid=$(cat "$CLUSTER_DIR/node-1.pid" 2>/dev/null || true)
  if [[ -n "$pid" ]] && pid_alive "$pid" && grep -q game-cluster "/proc/$pid/cmdline" 2>/dev/null; then
    log "stopping the node of the former single-node layout (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    stop_pid_wait "$pid" "$DRAIN_TIMEOUT_S"
  fi
  rm -f "$CLUSTER_DIR/node-1.pid"
  stop_logged "Redis of the former single-node layout" "$CLUSTER_DIR/redis"
}

stop_logged() {
  redis_running "$2" || return 0
  log "stopping $1"
  redis_stop "$2"
}

# is_cluster_dir succeeds for a directory this script created (or the older
# single-node up.sh did), so that a mistyped CLUSTER_DIR is never stopped or
# wiped.
is_cluster_dir() {
  [[ -f "$MARKER_FILE" || -f "$SECRETS_FILE" ]] &&
    [[ "$CLUSTER_DIR" != / && "$CLUSTER_DIR" != "$REPO_ROOT" && "$CLUSTER_DIR" != "${HOME:-/}" ]]
}

# purge_dir deletes CLUSTER_DIR (main checked is_cluster_dir already).
purge_dir() {
  lock_release
  rm -rf "$CLUSTER_DIR"
  log "cluster stopped and $CLUSTER_DIR deleted"
}

# ---------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------

ALL_OK=1
BAD_MARK='[!]'

# row NAME PID PORT STATE prints one line of the status table. A state built
# with `bad` carries BAD_MARK, which makes status exit 1: the states are
# computed in command substitutions, which cannot set ALL_OK themselves.
row() {
  [[ "$4" != *"$BAD_MARK"* ]] || ALL_OK=0
  printf '%-12s %-8s %-6s %s\n' "$@"
}

# bad prints a state that counts as a failure.
bad() { printf '%s %s\n' "$BAD_MARK" "$*"; }

status_postgres() {
  local pid state
  if pg_running "$PG_DIR"; then
    pid=$(sed -n 1p "$PG_DIR/postmaster.pid")
    state=$(pg_query "$PG_PORT" "SELECT CASE WHEN pg_is_in_recovery() THEN 'in recovery (not a primary!)' ELSE 'primary' END")
    [[ "$state" == primary ]] || state=$(bad "${state:-not answering}")
    row pg-primary "$pid" "$PG_PORT" "$state"
  else
    row pg-primary - "$PG_PORT" "$(bad down)"
  fi
  if pg_running "$PG_REPLICA_DIR"; then
    pid=$(sed -n 1p "$PG_REPLICA_DIR/postmaster.pid")
    row pg-replica "$pid" "$PG_REPLICA_PORT" "$(replica_state)"
  else
    row pg-replica - "$PG_REPLICA_PORT" "$(bad down)"
  fi
}

# REPLICA_LAG_SQL asks the primary for the replica's state, the WAL bytes it
# has not replayed yet, and replay_lag in ms (null, shown as 0, when idle).
REPLICA_LAG_SQL="SELECT r.state, pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint, COALESCE(round(EXTRACT(epoch FROM r.replay_lag) * 1000)::bigint, 0) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '$REPL_SLOT'"

# replica_state describes the replica and its lag as the primary sees it
# (bytes of WAL not yet replayed, and replay_lag, which is null when idle),
# or, with the primary down, as the replica sees itself.
replica_state() {
  local out state bytes ms recovering receiver
  out=$(pg_query "$PG_PORT" "$REPLICA_LAG_SQL")
  if [[ -n "$out" ]]; then
    read -r state bytes ms <<<"$out"
    if [[ "$state" == streaming ]]; then
      printf 'replica, streaming, lag %s bytes / %s ms\n' "$bytes" "$ms"
    else
      bad "replica, $state, lag $bytes bytes / $ms ms"
    fi
    return 0
  fi
  out=$(pg_query "$PG_REPLICA_PORT" "SELECT pg_is_in_recovery(), COALESCE((SELECT status FROM pg_stat_wal_receiver), 'none'), COALESCE(round(EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, -1)")
  if [[ -z "$out" ]]; then
    bad "replica, not answering"
  else
    read -r recovering receiver ms <<<"$out"
    bad "replica (in recovery: $recovering), not streaming from the primary (wal receiver: $receiver), last replay ${ms} ms ago"
  fi
}

status_redis() {
  local i port dir pid role
  for i in 1 2; do
    port=$REDIS_PORT
    ((i == 1)) || port=$REDIS_REPLICA_PORT
    dir=$(redis_dir "$i")
    if ! redis_running "$dir"; then
      row "redis-$i" - "$port" "$(bad down)"
      continue
    fi
    pid=$(redis_pid "$dir")
    role=$(redis_info_field "$port" role || true)
    case "$role" in
      master) row "redis-$i" "$pid" "$port" "master, $(redis_info_field "$port" connected_slaves) replica(s)" ;;
      slave) row "redis-$i" "$pid" "$port" "$(replica_text "$port")" ;;
      *) row "redis-$i" "$pid" "$port" "$(bad "not answering")" ;;
    esac
  done
}

replica_text() {
  local link
  link=$(redis_info_field "$1" master_link_status)
  if [[ "$link" == up ]]; then
    echo "replica of $(redis_info_field "$1" master_port), link up"
  else
    bad "replica of $(redis_info_field "$1" master_port), link ${link:-unknown}"
  fi
}

status_sentinels() {
  local i=0 port dir primary quorum
  for port in "${SENTINEL_PORT_LIST[@]}"; do
    i=$((i + 1))
    dir=$(sentinel_dir "$i")
    if ! redis_running "$dir"; then
      row "sentinel-$i" - "$port" "$(bad down)"
      continue
    fi
    primary=$(sentinel_primary_port "$port" "$SERVICE_NAME" || echo "?")
    # ckquorum answers "OK 3 usable Sentinels. ..." or an error explaining why not.
    quorum=$(redis_cmd "$port" sentinel ckquorum "$SERVICE_NAME" | head -n 1 || true)
    if [[ "$quorum" == OK* ]]; then
      quorum="quorum ok ($(awk '{print $2}' <<<"$quorum") usable)"
    else
      quorum=$(bad "quorum: ${quorum:-no answer}")
    fi
    row "sentinel-$i" "$(redis_pid "$dir")" "$port" "sentinel, primary $primary, $quorum"
  done
}

# status_nodes shows nodes 1..NODE_COUNT, then any live node above the
# count (left behind by an interrupted scale).
status_nodes() {
  local i pid count=${#NODE_PORT_LIST[@]}
  for ((i = 1; i <= count; i++)); do
    if pid=$(node_pid "$i"); then
      row "node-$i" "$pid" "$(node_port "$i")" "$(node_state "$i")"
    else
      row "node-$i" - "$(node_port "$i")" "$(bad down)"
    fi
  done
  for i in $(pidfile_nodes); do
    if ((i > count)) && pid=$(node_pid "$i"); then
      row "node-$i" "$pid" "?" "$(bad "running but above the node count $count")"
    fi
  done
}

# node_state describes a live node from its /health report: the status, and
# the rooms it leads when the report has `leader_of` (older binaries do not).
node_state() {
  local body code summary
  body=$(curl -s --max-time 2 -w '\n%{http_code}' "http://$LOOPBACK:$(node_port "$1")/health" 2>/dev/null || true)
  code=${body##*$'\n'}
  summary=$(printf '%s' "${body%$'\n'*}" | python3 -c '
import json, sys
try:
    h = json.load(sys.stdin)
except Exception:
    print("no JSON health report")
    sys.exit()
parts = [h.get("status", "?")]
leads = h.get("leader_of")
if isinstance(leads, list):
    parts.append("leader of: " + (" ".join(map(str, leads)) if leads else "-"))
else:
    parts.append("leadership: n/a")
failed = [k for k, v in (h.get("checks") or {}).items() if isinstance(v, dict) and v.get("ok") is False]
if failed:
    parts.append("failing: " + " ".join(failed))
lag = ((h.get("checks") or {}).get("replica") or {}).get("lag_ms")
if lag is not None:
    parts.append("replica lag %s ms" % lag)
print(", ".join(parts))
' 2>/dev/null || echo "unreadable health report")
  if [[ "$code" == 200 ]]; then
    echo "node, $summary"
  else
    bad "node, HTTP $code, $summary"
  fi
}

status_nginx() {
  local pid servers code
  servers=$(grep -c '^server .*max_fails' "$UPSTREAM_FILE" 2>/dev/null || true)
  if pid=$(nginx_pid "$NGINX_DIR"); then
    code=$(http_status "http://$LOOPBACK:$NGINX_PORT/health")
    if [[ "$code" == 200 ]]; then
      row nginx "$pid" "$NGINX_PORT" "upstream ${servers:-0} node(s), /health through nginx: 200"
    else
      row nginx "$pid" "$NGINX_PORT" "$(bad "upstream ${servers:-0} node(s), /health through nginx: $code")"
    fi
  else
    row nginx - "$NGINX_PORT" "$(bad down)"
  fi
}

# status_nodes_brief prints the node and nginx rows (after a scale).
status_nodes_brief() {
  row PROCESS PID PORT "ROLE / STATE"
  status_nodes
  status_nginx
}

cmd_status() {
  load_settings
  echo "cluster in $CLUSTER_DIR"
  row PROCESS PID PORT "ROLE / STATE"
  if [[ "$PG_MODE" == patroni ]]; then status_patroni; else status_postgres; fi
  status_redis
  status_sentinels
  status_nodes
  status_nginx
  if [[ "$PG_MODE" == patroni ]]; then
    echo
    patronictl_run list 2>&1 || true
  fi
  [[ $ALL_OK -eq 1 ]]
}

postgres_urls() {
  if [[ "$PG_MODE" == patroni ]]; then
    echo "HAProxy writer $LOOPBACK:$PG_PORT, reader $LOOPBACK:$PG_REPLICA_PORT (Patroni members on ${PATRONI_PG_PORTS// /,}, etcd on ${ETCD_CLIENT_PORTS// /,})"
  else
    echo "primary $LOOPBACK:$PG_PORT, replica $LOOPBACK:$PG_REPLICA_PORT"
  fi
}

print_urls() {
  local i node_urls=""
  for ((i = 1; i <= NODE_COUNT; i++)); do node_urls+="node-$i http://$LOOPBACK:$(node_port "$i")  "; done
  cat <<EOF

game-cluster is up: $NODE_COUNT node(s) behind nginx.
  Public URL:  http://$LOOPBACK:$NGINX_PORT  (nginx, least_conn over the nodes)
  Play:        http://$LOOPBACK:$NGINX_PORT/  (the player demo page)
  Dashboard:   http://$LOOPBACK:$NGINX_PORT/admin  (log in with the admin credential below)
  Metrics:     http://$LOOPBACK:$(node_port 1)/metrics  (each node on its own port)
  WebSocket:   ws://$LOOPBACK:$NGINX_PORT/ws?token=JWT&room=aviator
  Health:      http://$LOOPBACK:$NGINX_PORT/health
  Nodes:       $node_urls
  Admin:       $ADMIN_USERNAME / $ADMIN_PASSWORD
  Postgres:    $(postgres_urls), db $DB_NAME, user postgres
  Redis:       $LOOPBACK:$REDIS_PORT (initial primary), $LOOPBACK:$REDIS_REPLICA_PORT (replica), Sentinels $(sentinel_list) ($SERVICE_NAME)
  Files:       $CLUSTER_ENV_FILE (ports and secrets), logs in $LOG_DIR

Next: $(next_hint)
EOF
}

# next_hint names the follow-up commands: the make targets for the default
# directory, cluster.sh with CLUSTER_DIR for any other.
next_hint() {
  if [[ "$CLUSTER_DIR" == "$LOCAL_DIR/cluster" ]]; then
    # The $(...) is printed for the reader to run, not expanded here.
    # shellcheck disable=SC2016
    echo 'make status | make scale NODES=5 | make down | eval "$(scripts/env.sh)"'
  else
    echo "CLUSTER_DIR=$CLUSTER_DIR scripts/cluster.sh status | scale N | stop [--purge] | env [I]"
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}
  [[ $# -eq 0 ]] || shift
  case "$cmd" in
    start)
      prepare_dirs
      lock_acquire
      ;;
    stop)
      if [[ ! -d "$CLUSTER_DIR" ]]; then
        log "no cluster in $CLUSTER_DIR; nothing to stop"
        return 0
      fi
      is_cluster_dir || die "$CLUSTER_DIR does not look like a cluster directory; leaving it alone"
      lock_acquire
      ;;
    scale | start-node | drain-node | restart-redis | restart-postgres | start-pg-member | switchover)
      [[ -f "$CLUSTER_ENV_FILE" ]] || cluster_load
      lock_acquire
      ;;
  esac
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    scale) cmd_scale "$@" ;;
    start-node) cmd_start_node "$@" ;;
    kill-node) cmd_kill_node "$@" ;;
    drain-node) cmd_drain_node "$@" ;;
    kill-redis-primary) cmd_kill_redis_primary "$@" ;;
    restart-redis) cmd_restart_redis "$@" ;;
    restart-postgres) cmd_restart_postgres "$@" ;;
    kill-pg-primary) cmd_kill_pg_primary "$@" ;;
    start-pg-member) cmd_start_pg_member "$@" ;;
    switchover) cmd_switchover "$@" ;;
    kill-etcd-member) cmd_kill_etcd_member "$@" ;;
    start-etcd-member) cmd_start_etcd_member "$@" ;;
    env) cmd_env "$@" ;;
    short-chains) cmd_short_chains "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
