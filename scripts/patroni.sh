#!/usr/bin/env bash
# Variables defined here are used by scripts/cluster.sh, which sources this file.
# shellcheck disable=SC2034
# Postgres high availability for the local cluster (issue 20): three etcd
# members, three Patroni members (each runs and supervises one Postgres) and
# HAProxy in front of them with a writer port (the member whose Patroni
# answers /primary) and a reader port (the members answering /replica, or the
# primary when no replica answers). The nodes only ever see the two HAProxy
# ports, which cluster.env records as PG_PORT and PG_REPLICA_PORT, so every
# script that talks to "the primary" keeps working across failovers.
#
# Sourced by scripts/cluster.sh after lib.sh; it uses cluster.sh's
# CLUSTER_DIR, LOG_DIR, RUN_DIR, the secrets (PG_PASSWORD, REPL_PASSWORD) and
# the port lists PATRONI_PG_PORT_LIST, PATRONI_API_PORT_LIST,
# ETCD_CLIENT_PORT_LIST, ETCD_PEER_PORT_LIST.
#
# Timing (how a primary's death becomes a new primary in under 15 s):
#   ttl 8 s          the leader key's lease; a dead leader stops renewing it,
#                    so it expires 7-8 s after the death (renewed every loop)
#   loop_wait 1 s    Patroni's loop; the replicas also watch the leader key,
#                    so the sync standby races for it as soon as it expires
#   retry_timeout 3 s how long Patroni retries etcd or Postgres before giving
#                    up on an operation (loop_wait + 2 * retry_timeout <= ttl)
#   HAProxy inter 500 ms, fall 2, rise 1: a dead or demoted member leaves the
#                    writer port within about 1 s (and its sessions are cut,
#                    on-marked-down shutdown-sessions); the promoted one joins
#                    it at its first passing check (<= 0.5 s).
# Expected: 8 s (lease) + ~1 s (promotion) + <= 0.5 s (HAProxy) ~ 10 s.

PATRONI_SCOPE=game-cluster
PATRONI_TTL_S=${PATRONI_TTL_S:-8}
PATRONI_LOOP_WAIT_S=${PATRONI_LOOP_WAIT_S:-1}
PATRONI_RETRY_TIMEOUT_S=${PATRONI_RETRY_TIMEOUT_S:-3}
HAPROXY_CHECK_INTER_MS=${HAPROXY_CHECK_INTER_MS:-500}
PATRONI_MEMBERS=3
ETCD_TOKEN=game-cluster-etcd

patroni_dir() { printf '%s/patroni-%s\n' "$CLUSTER_DIR" "$1"; }
patroni_data() { printf '%s/data\n' "$(patroni_dir "$1")"; }
patroni_conf() { printf '%s/patroni.yml\n' "$(patroni_dir "$1")"; }
patroni_log() { printf '%s/patroni-%s.log\n' "$LOG_DIR" "$1"; }
patroni_pid_file() { printf '%s/patroni-%s.pid\n' "$RUN_DIR" "$1"; }
patroni_pg_port() { printf '%s\n' "${PATRONI_PG_PORT_LIST[$(($1 - 1))]}"; }
patroni_api_port() { printf '%s\n' "${PATRONI_API_PORT_LIST[$(($1 - 1))]}"; }
etcd_dir() { printf '%s/etcd-%s\n' "$CLUSTER_DIR" "$1"; }
etcd_pid_file() { printf '%s/etcd-%s.pid\n' "$RUN_DIR" "$1"; }
etcd_client_port() { printf '%s\n' "${ETCD_CLIENT_PORT_LIST[$(($1 - 1))]}"; }
etcd_peer_port() { printf '%s\n' "${ETCD_PEER_PORT_LIST[$(($1 - 1))]}"; }
haproxy_dir() { printf '%s/haproxy\n' "$CLUSTER_DIR"; }

# ensure_ha_packages installs Patroni (with the etcd client library it talks
# to etcd through), etcd and HAProxy from Debian when one is missing.
ensure_ha_packages() {
  local missing=()
  command -v patroni >/dev/null 2>&1 || missing+=(patroni python3-etcd)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
  command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
  ((${#missing[@]} > 0)) || return 0
  log "installing missing packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

haproxy_bin() { command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy; }

# live_pid PIDFILE WORD prints the pid in PIDFILE when that process is alive
# and its command line mentions WORD (a stale pidfile names another process).
live_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  printf '%s\n' "$pid"
}

# AS_POSTGRES is the command prefix that runs Patroni as the postgres OS user
# when we are root (Postgres refuses root, and Patroni runs Postgres as
# itself). setpriv execs, so a background launch's $! is Patroni's own pid.
AS_POSTGRES=()
if [[ $EUID -eq 0 ]]; then AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups --); fi

# ---------------------------------------------------------------------------
# etcd
# ---------------------------------------------------------------------------

etcd_pid() { live_pid "$(etcd_pid_file "$1")" etcd; }

etcd_endpoints() {
  local i out=""
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do out+="${out:+,}http://$LOOPBACK:$(etcd_client_port "$i")"; done
  printf '%s\n' "$out"
}

etcd_initial_cluster() {
  local i out=""
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do out+="${out:+,}etcd-$i=http://$LOOPBACK:$(etcd_peer_port "$i")"; done
  printf '%s\n' "$out"
}

# start_etcd_member I starts etcd member I unless it runs. The same command
# line serves the first start and every restart: with a data directory in
# place, etcd ignores the --initial-* flags and rejoins with its own state.
start_etcd_member() {
  local i=$1 dir client peer
  etcd_pid "$i" >/dev/null && return 0
  dir=$(etcd_dir "$i")
  client=$(etcd_client_port "$i")
  peer=$(etcd_peer_port "$i")
  mkdir -p "$dir"
  chmod 700 "$dir"
  check_port "$client" "etcd member $i"
  check_port "$peer" "etcd member $i (peer port)"
  log "starting etcd member $i on $LOOPBACK:$client (peers $peer)"
  (
    nohup setsid etcd --name "etcd-$i" --data-dir "$dir/data" \
      --listen-client-urls "http://$LOOPBACK:$client" --advertise-client-urls "http://$LOOPBACK:$client" \
      --listen-peer-urls "http://$LOOPBACK:$peer" --initial-advertise-peer-urls "http://$LOOPBACK:$peer" \
      --initial-cluster "$(etcd_initial_cluster)" --initial-cluster-token "$ETCD_TOKEN" \
      --initial-cluster-state new --logger zap --log-outputs stderr \
      </dev/null >>"$LOG_DIR/etcd-$i.log" 2>&1 &
    printf '%s\n' "$!" >"$(etcd_pid_file "$i")"
  )
}

# etcd_member_healthy I succeeds when member I answers and the cluster it sees
# has a quorum (a lone member answers "unhealthy").
etcd_member_healthy() {
  ETCDCTL_API=3 timeout 5 etcdctl --endpoints "http://$LOOPBACK:$(etcd_client_port "$1")" \
    --command-timeout=2s endpoint health >/dev/null 2>&1
}

start_etcd() {
  local i deadline=$((SECONDS + 30)) pending
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do start_etcd_member "$i"; done
  while ((SECONDS < deadline)); do
    pending=""
    for ((i = 1; i <= PATRONI_MEMBERS; i++)); do etcd_member_healthy "$i" || pending+=" $i"; done
    [[ -n "$pending" ]] || return 0
    sleep 0.3
  done
  die "etcd member(s)$pending not healthy after 30s; see $LOG_DIR/etcd-*.log"
}

# ---------------------------------------------------------------------------
# Patroni
# ---------------------------------------------------------------------------

patroni_pid() { live_pid "$(patroni_pid_file "$1")" patroni; }

# patroni_postmaster_pid I prints the pid of member I's Postgres.
patroni_postmaster_pid() {
  local pid
  pid=$(sed -n 1p "$(patroni_data "$1")/postmaster.pid" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  printf '%s\n' "$pid"
}

# patroni_pg_parameters prints, as YAML mapping lines indented by $1 spaces,
# the server settings that Patroni must keep equal on every member (it takes
# them from etcd): the same as the plain primary's (lib.sh pg_write_conf),
# plus what replication and pg_rewind need.
patroni_pg_parameters() {
  local pad
  pad=$(printf '%*s' "$1" '')
  sed "s/^/$pad/" <<'EOF'
max_connections: 300
shared_buffers: 256MB
fsync: 'on'
synchronous_commit: 'on'
wal_buffers: 16MB
max_wal_size: 4GB
checkpoint_timeout: 15min
wal_level: replica
wal_log_hints: 'on'
hot_standby: 'on'
hot_standby_feedback: 'on'
max_wal_senders: 10
max_replication_slots: 10
max_slot_wal_keep_size: 4GB
wal_receiver_status_interval: 1s
wal_retrieve_retry_interval: 1s
tcp_keepalives_idle: 5
tcp_keepalives_interval: 2
tcp_keepalives_count: 3
EOF
}

# write_patroni_conf I writes member I's configuration. The bootstrap.dcs
# section only counts when the cluster is first created; afterwards etcd
# holds it (patronictl edit-config changes it).
#
# synchronous_mode: a commit returns once the synchronous standby has it, and
# Patroni only promotes a member listed as synchronous, so an acknowledged
# transfer survives the primary's death. synchronous_mode_strict: with two
# standbys, one may die and Patroni makes the other synchronous; strict mode
# only matters when both are down, and then it stops commits (they wait)
# rather than acknowledging money that is on one disk only.
# failsafe_mode: without etcd's quorum the primary keeps serving as long as
# it reaches every member's REST API (none can have been promoted).
patroni_conf_text() {
  local i=$1 dir
  dir=$(patroni_dir "$i")
  cat <<EOF
# Written by scripts/patroni.sh on every start of this member; edits are overwritten.
scope: $PATRONI_SCOPE
namespace: /game-cluster/
name: pg-$i
log:
  level: INFO
restapi:
  listen: $LOOPBACK:$(patroni_api_port "$i")
  connect_address: $LOOPBACK:$(patroni_api_port "$i")
etcd3:
  hosts: $(etcd_endpoints | sed 's#http://##g')
bootstrap:
  dcs:
    ttl: $PATRONI_TTL_S
    loop_wait: $PATRONI_LOOP_WAIT_S
    retry_timeout: $PATRONI_RETRY_TIMEOUT_S
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    synchronous_node_count: 1
    failsafe_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      remove_data_directory_on_rewind_failure: true
      remove_data_directory_on_diverged_timelines: true
      parameters:
$(patroni_pg_parameters 8)
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - auth-host: scram-sha-256
    - auth-local: scram-sha-256
postgresql:
  listen: $LOOPBACK:$(patroni_pg_port "$i")
  connect_address: $LOOPBACK:$(patroni_pg_port "$i")
  data_dir: $(patroni_data "$i")
  bin_dir: $(pg_bin_dir)
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: '$PG_PASSWORD'
    replication:
      username: $REPL_ROLE
      password: '$REPL_PASSWORD'
  parameters:
    unix_socket_directories: ''
  pg_hba:
    - host replication $REPL_ROLE $LOOPBACK/32 scram-sha-256
    - host all all $LOOPBACK/32 scram-sha-256
    - local all all scram-sha-256
  pg_ctl_timeout: 60
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
}

write_patroni_conf() {
  local i=$1 dir conf
  dir=$(patroni_dir "$i")
  conf=$(patroni_conf "$i")
  mkdir -p "$dir"
  chmod 700 "$dir"
  (umask 077 && patroni_conf_text "$i" >"$conf.tmp")
  mv -f "$conf.tmp" "$conf"
  if [[ $EUID -eq 0 ]]; then chown -R postgres:postgres "$dir"; fi
  pg_check_access "$dir"
}

# start_patroni_member I starts member I's Patroni, which starts (or, on the
# first start, creates or clones) its Postgres. A member that was the primary
# before it died finds another leader in etcd and rejoins as its replica,
# rewinding its data directory with pg_rewind first when it diverged.
start_patroni_member() {
  local i=$1
  patroni_pid "$i" >/dev/null && return 0
  write_patroni_conf "$i"
  check_port "$(patroni_pg_port "$i")" "Postgres member pg-$i"
  check_port "$(patroni_api_port "$i")" "Patroni pg-$i's REST API"
  log "starting Patroni pg-$i (Postgres $LOOPBACK:$(patroni_pg_port "$i"), REST $LOOPBACK:$(patroni_api_port "$i"))"
  printf '=== %s starting Patroni pg-%s ===\n' "$(date '+%F %T')" "$i" >>"$(patroni_log "$i")"
  (
    cd /
    nohup setsid "${AS_POSTGRES[@]}" patroni "$(patroni_conf "$i")" </dev/null >>"$(patroni_log "$i")" 2>&1 &
    printf '%s\n' "$!" >"$(patroni_pid_file "$i")"
  )
}

# patroni_member_json I prints member I's own state (REST GET /patroni).
patroni_member_json() {
  curl -s --max-time 2 "http://$LOOPBACK:$(patroni_api_port "$1")/patroni" 2>/dev/null
}

# patroni_role I prints "primary", "replica" or nothing, for a member whose
# Postgres is running.
patroni_role() {
  patroni_member_json "$1" | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except Exception:
    sys.exit(1)
if s.get("state") != "running":
    sys.exit(1)
print("primary" if s.get("role") in ("master", "primary") else "replica")' 2>/dev/null
}

# patroni_cluster_json prints the cluster as the first member that answers
# sees it (REST GET /cluster: every member's role, state, timeline and lag).
patroni_cluster_json() {
  local i body
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do
    body=$(curl -sf --max-time 2 "http://$LOOPBACK:$(patroni_api_port "$i")/cluster" 2>/dev/null) || continue
    printf '%s\n' "$body"
    return 0
  done
  return 1
}

# patroni_leader prints the member number of the current primary.
patroni_leader() {
  local i
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do
    [[ "$(http_status "http://$LOOPBACK:$(patroni_api_port "$i")/primary")" == 200 ]] && {
      printf '%s\n' "$i"
      return 0
    }
  done
  return 1
}

# patroni_ready MIN_MEMBERS succeeds when the cluster has a running leader, a
# synchronous standby, and at least MIN_MEMBERS running members that are
# streaming on the leader's timeline.
patroni_ready() {
  patroni_cluster_json | python3 -c '
import json, sys
want = int(sys.argv[1])
c = json.load(sys.stdin)
members = c.get("members", [])
leaders = [m for m in members if m.get("role") in ("leader", "master", "primary") and m.get("state") == "running"]
if len(leaders) != 1:
    sys.exit(1)
timeline = leaders[0].get("timeline")
ok = [m for m in members if m.get("state") in ("running", "streaming") and m.get("timeline") == timeline]
sync = [m for m in ok if m.get("role") == "sync_standby"]
sys.exit(0 if len(ok) >= want and sync else 1)' "$1" 2>/dev/null
}

# wait_patroni_ready MIN_MEMBERS TIMEOUT_S
wait_patroni_ready() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    patroni_ready "$1" && return 0
    sleep 0.5
  done
  return 1
}

# start_patroni starts every member that is not running. A new cluster's
# first member starts alone and initialises the database (so it is the first
# primary); the others then clone it with pg_basebackup.
start_patroni() {
  local i deadline
  if [[ ! -f "$(patroni_data 1)/PG_VERSION" ]] && ! patroni_pid 1 >/dev/null; then
    start_patroni_member 1
    deadline=$((SECONDS + 90))
    until [[ "$(patroni_role 1)" == primary ]]; do
      patroni_pid 1 >/dev/null || { tail -n 40 "$(patroni_log 1)" >&2; die "Patroni pg-1 exited during bootstrap"; }
      ((SECONDS < deadline)) || { tail -n 40 "$(patroni_log 1)" >&2; die "pg-1 is not a running primary after 90s"; }
      sleep 0.5
    done
  fi
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do start_patroni_member "$i"; done
  if ! wait_patroni_ready "$PATRONI_MEMBERS" 120; then
    patronictl_run list >&2 || true
    die "the Patroni cluster has no leader with a synchronous standby and $PATRONI_MEMBERS running members after 120s; see $LOG_DIR/patroni-*.log"
  fi
}

# patronictl_run ARGS... runs patronictl against this cluster (any member's
# configuration names the scope and etcd).
patronictl_run() {
  timeout 60 patronictl -c "$(patroni_conf 1)" "$@"
}

# stop_patroni stops the replicas' Patroni first and the leader's last, so
# that stopping does not hand leadership around; each stops its Postgres
# with a fast shutdown. A Postgres left behind (its Patroni was killed) is
# stopped directly.
stop_patroni() {
  local leader i order=() pid
  leader=$(patroni_leader || true)
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do [[ "$i" == "$leader" ]] || order+=("$i"); done
  [[ -z "$leader" ]] || order+=("$leader")
  for i in "${order[@]}"; do
    if pid=$(patroni_pid "$i"); then
      log "stopping Patroni pg-$i (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      stop_pid_wait "$pid" 60
    fi
    if [[ -f "$(patroni_data "$i")/postmaster.pid" ]] && pg_running "$(patroni_data "$i")"; then
      log "stopping the Postgres of pg-$i"
      pg_stop "$(patroni_data "$i")"
    fi
    rm -f "$(patroni_pid_file "$i")"
  done
}

stop_etcd() {
  local i pid
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do
    pid=$(etcd_pid "$i") || continue
    log "stopping etcd member $i (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    stop_pid_wait "$pid" 15
    rm -f "$(etcd_pid_file "$i")"
  done
}

# kill_patroni_member I kills member I as if its machine died: SIGKILL to
# its Patroni, its Postgres and every Postgres process, all at once (a
# Postgres left running without its Patroni would be a primary nobody
# supervises).
kill_patroni_member() {
  local i=$1 pids=() pid postmaster
  pid=$(patroni_pid "$i") && pids+=("$pid")
  if postmaster=$(patroni_postmaster_pid "$i"); then
    pids+=("$postmaster")
    mapfile -t -O "${#pids[@]}" pids < <(ps -o pid= --ppid "$postmaster" | tr -d ' ')
  fi
  ((${#pids[@]} > 0)) || die "pg-$i is not running"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do stop_pid_wait "$pid" 5; done
  rm -f "$(patroni_pid_file "$i")"
}

# ---------------------------------------------------------------------------
# HAProxy
# ---------------------------------------------------------------------------

haproxy_pid() { live_pid "$(haproxy_dir)/haproxy.pid" haproxy; }

# haproxy_servers CHECK_URI prints one server line per member, checked on its
# Patroni REST port.
haproxy_servers() {
  local i
  printf '  option httpchk\n  http-check send meth GET uri %s\n  http-check expect status 200\n' "$1"
  printf '  default-server inter %s fastinter %s downinter %s fall 2 rise 1 on-marked-down shutdown-sessions\n' \
    "$HAPROXY_CHECK_INTER_MS" "$HAPROXY_CHECK_INTER_MS" "$HAPROXY_CHECK_INTER_MS"
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do
    printf '  server pg-%s %s:%s check port %s\n' "$i" "$LOOPBACK" "$(patroni_pg_port "$i")" "$(patroni_api_port "$i")"
  done
}

# write_haproxy_conf: the writer port reaches the member answering /primary;
# the reader port the members answering /replica (least connections), or the
# primary while no replica answers (during a failover, or with both replicas
# down). The client and server timeouts are idle limits above the nodes' pool
# idle timeout (database.idle_timeout_ms, 60 s), so HAProxy never cuts a
# pooled connection the pool still counts on; tcpka keeps both sides probed.
write_haproxy_conf() {
  local dir
  dir=$(haproxy_dir)
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<EOF
# Written by scripts/patroni.sh on every start; edits are overwritten.
global
  maxconn 4000

defaults
  mode tcp
  option tcpka
  timeout connect 2s
  timeout client 10m
  timeout server 10m
  timeout check 1s

listen pg_writer
  bind $LOOPBACK:$PG_PORT
$(haproxy_servers /primary)

frontend pg_reader
  bind $LOOPBACK:$PG_REPLICA_PORT
  use_backend pg_replicas if { nbsrv(pg_replicas) gt 0 }
  default_backend pg_reader_primary

backend pg_replicas
  balance leastconn
$(haproxy_servers /replica)

backend pg_reader_primary
$(haproxy_servers /primary)
EOF
}

start_haproxy() {
  local dir
  dir=$(haproxy_dir)
  haproxy_pid >/dev/null && return 0
  write_haproxy_conf
  check_port "$PG_PORT" "HAProxy's writer port"
  check_port "$PG_REPLICA_PORT" "HAProxy's reader port"
  "$(haproxy_bin)" -c -q -f "$dir/haproxy.cfg" || die "HAProxy rejected $dir/haproxy.cfg"
  log "starting HAProxy: writer $LOOPBACK:$PG_PORT, reader $LOOPBACK:$PG_REPLICA_PORT"
  "$(haproxy_bin)" -D -q -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" || die "HAProxy did not start"
}

stop_haproxy() {
  local pid
  pid=$(haproxy_pid) || return 0
  log "stopping HAProxy (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  stop_pid_wait "$pid" 10
}

# ---------------------------------------------------------------------------
# The whole HA topology
# ---------------------------------------------------------------------------

start_postgres_ha() {
  ensure_ha_packages
  start_etcd
  start_patroni
  start_haproxy
  wait_writer_is_primary 30 || die "no primary answers on HAProxy's writer port $PG_PORT after 30s"
  pg_ensure_db "$PG_PORT" "$DB_NAME"
}

# wait_writer_is_primary TIMEOUT_S waits until every connection to HAProxy's
# writer port reaches the primary. HAProxy counts every server as up until
# its checks failed `fall` (2) times, 1 s after it starts, and spreads new
# connections over the servers it counts up; so the writer must have answered
# "not in recovery" on every try for WRITER_STEADY_S (3 s) in a row.
WRITER_STEADY_S=3
wait_writer_is_primary() {
  local deadline=$((SECONDS + $1)) answer steady_since=""
  while ((SECONDS < deadline)); do
    answer=$(PGCONNECT_TIMEOUT=2 pg_psql "$PG_PORT" postgres -tAc "SELECT pg_is_in_recovery()" 2>/dev/null || true)
    if [[ "$answer" != f ]]; then
      steady_since=""
    elif [[ -z "$steady_since" ]]; then
      steady_since=$SECONDS
    elif ((SECONDS - steady_since >= WRITER_STEADY_S)); then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

stop_postgres_ha() {
  stop_haproxy
  stop_patroni
  stop_etcd
}
