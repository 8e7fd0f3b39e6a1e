#!/usr/bin/env bash
# The Patroni topology's status rows and its faults and operations: the
# subcommands kill-pg-primary, start-pg-member, switchover, kill-etcd-member,
# start-etcd-member and the Patroni path of restart-postgres. Sourced by
# scripts/cluster.sh after scripts/patroni.sh, whose helpers it uses.

# ---------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------

# status_patroni prints one row per member (role, state, timeline, lag, from
# the cluster view of /cluster), then etcd's members and HAProxy.
status_patroni() {
  local i pid cluster state
  cluster=$(patroni_cluster_json || true)
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do
    pid=$(patroni_pid "$i" || echo -)
    state=$(printf '%s' "$cluster" | python3 -c '
import json, sys
name = sys.argv[1]
try:
    c = json.load(sys.stdin)
except Exception:
    print("BAD no member answers /cluster"); sys.exit()
m = next((m for m in c.get("members", []) if m.get("name") == name), None)
if m is None:
    print("BAD not in the cluster"); sys.exit()
role = {"leader": "primary", "master": "primary", "sync_standby": "sync standby", "replica": "async replica"}.get(m.get("role"), m.get("role"))
lag = m.get("lag", 0)
ok = m.get("state") in ("running", "streaming")
print(("" if ok else "BAD ") + "%s, %s, timeline %s, lag %s" % (role, m.get("state"), m.get("timeline", "?"), "-" if role == "primary" else "%s bytes" % lag))
' "pg-$i" 2>/dev/null || echo "BAD unreadable")
    if [[ "$pid" == - ]]; then
      state=$(bad "${state#BAD }; its Patroni is down")
    elif [[ "$state" == BAD* ]]; then
      state=$(bad "${state#BAD }")
    fi
    row "pg-$i" "$pid" "$(patroni_pg_port "$i")" "$state"
  done
  for ((i = 1; i <= PATRONI_MEMBERS; i++)); do
    if ! pid=$(etcd_pid "$i"); then
      row "etcd-$i" - "$(etcd_client_port "$i")" "$(bad down)"
    elif etcd_member_healthy "$i"; then
      row "etcd-$i" "$pid" "$(etcd_client_port "$i")" "etcd, healthy$(etcd_leader_mark "$i")"
    else
      row "etcd-$i" "$pid" "$(etcd_client_port "$i")" "$(bad "etcd, unhealthy (no quorum?)")"
    fi
  done
  if pid=$(haproxy_pid); then
    row haproxy "$pid" "$PG_PORT" "writer $PG_PORT -> pg-$(patroni_leader || echo '?'), reader $PG_REPLICA_PORT"
  else
    row haproxy - "$PG_PORT" "$(bad down)"
  fi
}

# etcd_leader_mark I prints ", leader" when member I leads etcd's raft.
etcd_leader_mark() {
  ETCDCTL_API=3 timeout 5 etcdctl --endpoints "http://$LOOPBACK:$(etcd_client_port "$1")" \
    --command-timeout=2s endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
print(", raft leader" if s["leader"] == s["header"]["member_id"] else "")' 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Faults and operations (cluster.sh subcommands)
# ---------------------------------------------------------------------------

require_patroni() {
  load_settings
  # The members' configurations hold the replication password.
  # shellcheck source=/dev/null
  source "$SECRETS_FILE"
  [[ "$PG_MODE" == patroni ]] || die "this cluster runs plain Postgres (PG_MODE=$PG_MODE); this needs CLUSTER_POSTGRES=patroni"
}

valid_member() {
  [[ "$1" =~ ^[1-3]$ ]] || die "member must be 1, 2 or 3, got '$1'"
}

# cmd_kill_pg_primary kills the primary member (Patroni and Postgres) and
# prints its name; the synchronous standby takes over once the leader key's
# lease (ttl) expires.
cmd_kill_pg_primary() {
  local leader
  require_patroni
  leader=$(patroni_leader) || die "no member answers /primary; is there a primary?"
  kill_patroni_member "$leader"
  log "killed pg-$leader (Patroni and Postgres) with SIGKILL"
  printf 'pg-%s\n' "$leader"
}

# cmd_start_pg_member I starts member I again and waits (<= 120 s) until it
# runs on the leader's timeline: as a replica (a former primary is rewound),
# or as the primary when it came back before a failover happened.
cmd_start_pg_member() {
  local i=${1#pg-} deadline
  require_patroni
  valid_member "$i"
  start_patroni_member "$i"
  deadline=$((SECONDS + 120))
  until patroni_member_on_timeline "$i"; do
    patroni_pid "$i" >/dev/null || { tail -n 40 "$(patroni_log "$i")" >&2; die "Patroni pg-$i exited"; }
    ((SECONDS < deadline)) || { tail -n 40 "$(patroni_log "$i")" >&2; die "pg-$i is not a streaming replica after 120s"; }
    sleep 0.5
  done
  log "pg-$i runs on the leader's timeline as $(patroni_role "$i" || echo '?')"
}

# patroni_member_on_timeline I succeeds when member I runs on the leader's
# timeline: a replica streaming from it, or the leader itself (a member that
# comes back before its leader key expired simply resumes as the primary).
patroni_member_on_timeline() {
  patroni_cluster_json | python3 -c '
import json, sys
c = json.load(sys.stdin)
ms = c.get("members", [])
leader = next((m for m in ms if m.get("role") in ("leader", "master", "primary")), None)
me = next((m for m in ms if m.get("name") == sys.argv[1]), None)
ok = leader and me and me.get("state") in ("running", "streaming") \
    and me.get("timeline") == leader.get("timeline")
sys.exit(0 if ok else 1)' "pg-$1" 2>/dev/null
}

# cmd_switchover hands the primary role to the synchronous standby (the only
# candidate Patroni accepts in synchronous mode), waits until the cluster is
# whole again (<= 60 s) and prints the new primary.
cmd_switchover() {
  local leader deadline
  require_patroni
  leader=$(patroni_leader) || die "no primary to switch over from"
  log "switching over from pg-$leader"
  patronictl_run switchover "$PATRONI_SCOPE" --leader "pg-$leader" --force >&2 ||
    die "patronictl switchover failed"
  deadline=$((SECONDS + 60))
  until [[ "$(patroni_leader || true)" =~ ^[1-3]$ && "$(patroni_leader)" != "$leader" ]] && patroni_ready "$PATRONI_MEMBERS"; do
    ((SECONDS < deadline)) || die "the cluster did not settle within 60s after the switchover"
    sleep 0.3
  done
  log "pg-$(patroni_leader) is the primary; pg-$leader follows it"
  printf 'pg-%s\n' "$(patroni_leader)"
}

cmd_kill_etcd_member() {
  local i=${1:-} pid
  require_patroni
  valid_member "$i"
  pid=$(etcd_pid "$i") || die "etcd member $i is not running"
  sigkill_wait "$pid" "etcd member $i"
  rm -f "$(etcd_pid_file "$i")"
}

cmd_start_etcd_member() {
  local i=${1:-} deadline=$((SECONDS + 30))
  require_patroni
  valid_member "$i"
  start_etcd_member "$i"
  until etcd_member_healthy "$i"; do
    ((SECONDS < deadline)) || die "etcd member $i is not healthy after 30s (is a quorum up?)"
    sleep 0.3
  done
  log "etcd member $i is back and healthy"
}

# restart_patroni_primary restarts the primary's Postgres through Patroni
# (the same member stays primary) and waits until the cluster is whole.
restart_patroni_primary() {
  local leader started=$SECONDS
  leader=$(patroni_leader) || die "no primary to restart"
  log "restarting pg-$leader's Postgres (patronictl restart)"
  patronictl_run restart "$PATRONI_SCOPE" "pg-$leader" --force >&2 || die "patronictl restart failed"
  wait_pg "$PG_PORT" 30 || die "no primary answers on $PG_PORT after the restart"
  wait_patroni_ready "$PATRONI_MEMBERS" 30 || warn "the cluster is not whole 30s after the restart"
  log "pg-$leader back after $((SECONDS - started))s"
}
