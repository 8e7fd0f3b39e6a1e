//! Postgres high availability (issue 20): Patroni with etcd and HAProxy under players betting on crash
//! and a depositor moving money through the admin API. The depositor keeps its own list of acknowledged
//! deposits (their idempotency keys); after each fault every one of them must be posted, exactly once.

use super::deposits::Depositor;
use super::harness::Cluster;
use super::players::Swarm;
use super::{check_after_fault, cluster_turn, playing_cluster};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Deposits acknowledged before a fault, so that there is something to lose.
const DEPOSITS_BEFORE: usize = 20;

/// The Patroni cluster as the first member that answers sees it (REST `GET /cluster`).
async fn pg_members(cluster: &Cluster) -> Option<Value> {
    for port in cluster.env["PATRONI_API_PORTS"].split_whitespace() {
        let url = format!("http://127.0.0.1:{port}/cluster");
        if let Ok(response) = cluster.http().get(url).send().await {
            if let Ok(view) = response.json::<Value>().await {
                return Some(view);
            }
        }
    }
    None
}

/// The name of the running member with `role` ("leader", "sync_standby" or "replica").
fn member_with_role(view: &Value, role: &str) -> Option<String> {
    view["members"]
        .as_array()?
        .iter()
        .find(|member| member["role"] == role && member["state"] == "running")
        .and_then(|member| member["name"].as_str())
        .map(str::to_owned)
}

/// Waits until the running leader is a member `accept` takes; its name.
async fn wait_pg_leader(cluster: &Cluster, limit: Duration, accept: impl Fn(&str) -> bool) -> Option<String> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(leader) = pg_members(cluster)
            .await
            .and_then(|view| member_with_role(&view, "leader"))
        {
            if accept(&leader) {
                return Some(leader);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// The REST state of member `name` (`GET /patroni`: role, timeline, and failsafe_mode_is_active).
async fn pg_member_state(cluster: &Cluster, name: &str) -> Option<Value> {
    let index: usize = name.trim_start_matches("pg-").parse().ok()?;
    let port = cluster.env["PATRONI_API_PORTS"].split_whitespace().nth(index - 1)?;
    let response = cluster
        .http()
        .get(format!("http://127.0.0.1:{port}/patroni"))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// Polls node 1's `/health` in the background and collects the statuses it reported.
struct HealthWatch {
    seen: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HealthWatch {
    fn start(cluster: &Cluster) -> HealthWatch {
        let url = format!("http://127.0.0.1:{}/health", cluster.node_port(1));
        let client = cluster.http().clone();
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok(response) = client.get(&url).send().await {
                    if let Ok(health) = response.json::<Value>().await {
                        let status = format!("{}/database {}", health["status"], health["database"]);
                        record.lock().expect("never poisoned").insert(status.replace('"', ""));
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        HealthWatch { seen, task }
    }

    fn stop(self) -> BTreeSet<String> {
        self.task.abort();
        let seen = self.seen.lock().expect("never poisoned").clone();
        seen
    }
}

/// A playing cluster (in the middle of a round) with a depositor whose first deposits are acknowledged,
/// so that a fault has something to lose.
async fn depositing_cluster(name: &str) -> (Cluster, Swarm, Depositor) {
    let (cluster, swarm) = playing_cluster(name, &[], true).await;
    let depositor = Depositor::start(&cluster).await;
    depositor
        .wait_acknowledged(DEPOSITS_BEFORE, Duration::from_secs(30))
        .await;
    (cluster, swarm, depositor)
}

/// After a fault: no deposit was given up, every acknowledged one is posted exactly once, and the checks
/// of every fault test hold (play resumed, bets settled once, the audit).
async fn check_deposits_and_play(cluster: &Cluster, swarm: &Swarm, depositor: &mut Depositor, fault_at: Instant) {
    let acknowledged = depositor.stop().await;
    println!("deposit attempts retried: {:?}", depositor.retried());
    assert!(
        depositor.abandoned().is_empty(),
        "no deposit was given up: {:?}",
        depositor.abandoned()
    );
    cluster.assert_transfers_posted(&acknowledged).await;
    check_after_fault(cluster, swarm, fault_at).await;
}

/// Faults 1 and 4: SIGKILL the primary member (its Patroni and its Postgres, as if its machine died).
/// Patroni promotes the synchronous standby, money moves again and a new round plays; every deposit
/// acknowledged before, during and after is posted, the audit passes, every bet is settled once; `/health`
/// said `degraded` meanwhile. Then the old primary's Patroni starts again and it rejoins as a replica of
/// the new primary on its timeline (pg_rewind when it diverged), with no step by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_postgres_primary_promotes_the_sync_standby_and_the_old_primary_rejoins() {
    let _turn = cluster_turn().await;
    let (cluster, swarm, mut depositor) = depositing_cluster("pg-primary").await;
    let view = pg_members(&cluster).await.expect("Patroni answers");
    let sync_standby = member_with_role(&view, "sync_standby").expect("a synchronous standby");
    let health = HealthWatch::start(&cluster);

    // Measured from the moment the kill command returns (the member's processes are gone), as in the
    // other failover figures; deposits sent while the command ran may still have reached the old primary.
    let killed = cluster.run_script(&["kill-pg-primary"]);
    let fault_at = Instant::now();
    let first_transfer = depositor
        .wait_acknowledged_sent_after(fault_at, Duration::from_secs(45))
        .await
        .expect("money moves again");
    let new_round = swarm
        .wait_round_start_after(fault_at, Duration::from_secs(60))
        .await
        .expect("a new round starts");
    let first_tick = swarm
        .wait_first_tick_after(fault_at + new_round, Duration::from_secs(45))
        .await
        .expect("the new round ticks");
    // A round in the air at the kill plays on to its committed crash point; the next round opens only
    // after it (and after its settlement reaches the new primary).
    let in_flight_crash = swarm
        .first_crash_after(fault_at)
        .map_or_else(|| "-".to_owned(), |crash| crash.as_millis().to_string());
    println!(
        "BENCH pg_primary_death: killed {killed}; first acknowledged transfer {} ms, new crash round {} ms, \
         its first tick {} ms after the kill; the round in the air crashed at {in_flight_crash} ms",
        first_transfer.as_millis(),
        new_round.as_millis(),
        (new_round + first_tick).as_millis()
    );
    let leader = wait_pg_leader(&cluster, Duration::from_secs(10), |leader| leader != killed)
        .await
        .expect("a new primary");
    assert_eq!(leader, sync_standby, "Patroni promoted the synchronous standby");
    let statuses = health.stop();
    println!("node-1 /health said: {statuses:?}");
    assert!(
        statuses.contains("degraded/database degraded"),
        "/health reported the database degraded during the failover: {statuses:?}"
    );

    let rejoin_started = Instant::now();
    cluster.run_script(&["start-pg-member", &killed]);
    let state = pg_member_state(&cluster, &killed)
        .await
        .expect("the old primary answers");
    let leader_state = pg_member_state(&cluster, &leader)
        .await
        .expect("the new primary answers");
    assert_eq!(state["role"], "replica", "the old primary is a replica now: {state}");
    assert_eq!(
        state["timeline"], leader_state["timeline"],
        "on the new primary's timeline"
    );
    println!(
        "{killed} rejoined as a replica on timeline {} in {} ms",
        state["timeline"],
        rejoin_started.elapsed().as_millis()
    );

    check_deposits_and_play(&cluster, &swarm, &mut depositor, fault_at).await;
    cluster.stop();
}

/// Fault 2: a planned switchover (`patronictl switchover`) under load: the clients see nothing but retries
/// (no player error; deposits may be retried with their keys, none is given up) and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_switchover_under_load_loses_nothing() {
    let _turn = cluster_turn().await;
    let (cluster, swarm, mut depositor) = depositing_cluster("pg-switchover").await;
    let errors_before = swarm.errors().len();
    let old = wait_pg_leader(&cluster, Duration::from_secs(5), |_| true)
        .await
        .expect("a primary");

    let fault_at = Instant::now();
    let new = cluster.run_script(&["switchover"]);
    let switched_in = fault_at.elapsed();
    assert_ne!(new, old, "another member is the primary");
    depositor
        .wait_acknowledged_sent_after(Instant::now(), Duration::from_secs(30))
        .await
        .expect("money moves after the switchover");
    println!(
        "BENCH pg_switchover: {old} -> {new} in {} ms; money stood still for {} ms at most",
        switched_in.as_millis(),
        depositor.longest_pause_since(fault_at).as_millis()
    );

    check_deposits_and_play(&cluster, &swarm, &mut depositor, fault_at).await;
    let errors = swarm.errors();
    assert_eq!(errors.len(), errors_before, "no player saw an error: {errors:?}");
    cluster.stop();
}

/// Fault 3: killing one etcd member changes nothing. Killing a second one (no quorum left) leaves the
/// primary serving: Patroni's failsafe mode keeps it primary while it reaches every member's REST API, so
/// money keeps moving. When the two members come back, etcd has its quorum again and failsafe ends, with
/// the same primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_etcd_members_even_the_quorum_leaves_the_primary_serving() {
    let _turn = cluster_turn().await;
    let (cluster, swarm, mut depositor) = depositing_cluster("etcd").await;
    let leader = wait_pg_leader(&cluster, Duration::from_secs(5), |_| true)
        .await
        .expect("a primary");

    let fault_at = Instant::now();
    cluster.run_script(&["kill-etcd-member", "1"]);
    let after_one = Instant::now();
    depositor
        .wait_acknowledged_sent_after(after_one, Duration::from_secs(15))
        .await
        .expect("money moves with one etcd member down");
    assert_eq!(pg_leader_now(&cluster).await.as_deref(), Some(leader.as_str()));

    cluster.run_script(&["kill-etcd-member", "2"]);
    let failsafe = wait_failsafe(&cluster, &leader, true, Duration::from_secs(30)).await;
    assert!(failsafe, "{leader} went into failsafe mode when etcd lost its quorum");
    let in_failsafe = Instant::now();
    let resumed = depositor
        .wait_acknowledged_sent_after(in_failsafe, Duration::from_secs(15))
        .await
        .expect("money moves without etcd's quorum");
    println!(
        "without etcd's quorum, {leader} stayed primary (failsafe); a deposit was acknowledged {} ms later",
        resumed.as_millis()
    );

    cluster.run_script(&["start-etcd-member", "1"]);
    cluster.run_script(&["start-etcd-member", "2"]);
    let recovered = wait_failsafe(&cluster, &leader, false, Duration::from_secs(30)).await;
    assert!(recovered, "failsafe mode ended once etcd had its quorum again");
    assert_eq!(pg_leader_now(&cluster).await.as_deref(), Some(leader.as_str()));
    depositor
        .wait_acknowledged_sent_after(Instant::now(), Duration::from_secs(15))
        .await
        .expect("money moves after etcd is back");

    check_deposits_and_play(&cluster, &swarm, &mut depositor, fault_at).await;
    cluster.stop();
}

async fn pg_leader_now(cluster: &Cluster) -> Option<String> {
    wait_pg_leader(cluster, Duration::from_secs(5), |_| true).await
}

/// Waits until member `name` reports failsafe mode active (`active`) or not.
async fn wait_failsafe(cluster: &Cluster, name: &str, active: bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(state) = pg_member_state(cluster, name).await {
            if state["failsafe_mode_is_active"].as_bool().unwrap_or(false) == active {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}
