#!/usr/bin/env bash
# The cluster's Redis primary and replica and its three Sentinels: where they
# live, how they start, which one is primary now. Sourced by scripts/cluster.sh,
# whose settings (ports, directories) it reads.

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
