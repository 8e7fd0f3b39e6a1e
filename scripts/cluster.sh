#!/usr/bin/env bash
# Runs the whole game cluster on loopback: Postgres as three Patroni members
# with etcd and HAProxy (or, with CLUSTER_POSTGRES=plain, a primary and a
# streaming replica), Redis primary + replica + 3 Sentinels, N game nodes and
# nginx in front of them. The parts live in scripts/cluster-*.sh and
# scripts/patroni*.sh, sourced below. Everything lives in CLUSTER_DIR, and every subcommand reads
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
#   CLUSTER_NODE_SESSION    "own" (default): every node runs in a session of
#                           its own (setsid), out of reach of the caller's
#                           terminal; "caller": in the caller's session, so
#                           the kernel schedules the nodes in the caller's
#                           autogroup, next to the load it starts (the
#                           capacity run: see scripts/capacity.sh)
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

# The parts of this script by concern, after the settings above (which they read).
# shellcheck source=scripts/cluster-redis.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-redis.sh"
# shellcheck source=scripts/cluster-nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-nodes.sh"
# shellcheck source=scripts/cluster-faults.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-faults.sh"
# shellcheck source=scripts/cluster-status.sh
source "$(dirname "${BASH_SOURCE[0]}")/cluster-status.sh"

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
