//! `game-cluster bench-wallet`: drives bets and wins through the shard actors against the configured
//! Postgres with durable commits, then reports transfers/s and latency percentiles as one JSON line
//! and checks that the audit still passes.

use super::audit;
use super::ledger::{AccountId, IdempotencyKey, TransferKind};
use super::Wallet;
use crate::configuration::Settings;
use crate::db::Database;
use crate::money::{Amount, MICROS_PER_UNIT};
use anyhow::Context;
use hdrhistogram::Histogram;
use rand::Rng;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchOptions {
    /// Player accounts to spread the load over.
    #[arg(long, default_value_t = 2000)]
    pub players: u32,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20)]
    pub duration_s: u64,
    /// Transfers in flight at once (one loop each).
    #[arg(long, default_value_t = 1024)]
    pub concurrency: u32,
}

#[derive(Default)]
struct Tally {
    posted: u64,
    rejected: u64,
    failed: u64,
}

pub async fn run(settings: &Settings, options: BenchOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=1_000_000).contains(&options.players),
        "--players must be 1 to 1,000,000"
    );
    anyhow::ensure!(
        (1..=100_000).contains(&options.concurrency),
        "--concurrency must be 1 to 100,000"
    );
    let database = Database::connect_lazy(&settings.database);
    database.migrate().await?;
    let wallet = Wallet::start(&database, &settings.wallet, settings.currency()).await?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let players = create_players(&database, &run_id, options.players, settings.currency().as_str()).await?;
    fund_players(&wallet, &players, &run_id).await?;

    let histogram = Rc::new(RefCell::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let tally = Rc::new(RefCell::new(Tally::default()));
    let deadline = Instant::now() + Duration::from_secs(options.duration_s);
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency)
        .map(|worker| {
            let context = WorkerContext {
                wallet: wallet.clone(),
                players: players.clone(),
                run_id: run_id.clone(),
                worker,
                deadline,
                histogram: histogram.clone(),
                tally: tally.clone(),
            };
            actix_web::rt::spawn(drive(context))
        })
        .collect();
    for worker in workers {
        worker.await.context("a benchmark worker failed")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    wallet.drain().await;
    let report = audit::run(&database.writer).await?;
    let histogram = histogram.borrow();
    let tally = tally.borrow();
    let summary = serde_json::json!({
        "transfers_per_s": (tally.posted + tally.rejected) as f64 / elapsed,
        "posted": tally.posted,
        "rejected": tally.rejected,
        "failed": tally.failed,
        "p50_ms": histogram.value_at_quantile(0.50) as f64 / 1000.0,
        "p99_ms": histogram.value_at_quantile(0.99) as f64 / 1000.0,
        "max_ms": histogram.max() as f64 / 1000.0,
        "seconds": elapsed,
        "players": options.players,
        "concurrency": options.concurrency,
        "shard_count": settings.wallet.shard_count,
        "batch_size_max": settings.wallet.batch_size_max,
        "batch_delay_ms": settings.wallet.batch_delay_ms,
        "audit_ok": report.ok,
    });
    println!("{summary}");
    anyhow::ensure!(report.ok, "the audit failed after the benchmark: {:?}", report.breaches);
    Ok(())
}

async fn create_players(
    database: &Database,
    run_id: &str,
    count: u32,
    currency: &str,
) -> anyhow::Result<Rc<Vec<AccountId>>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO accounts (code, kind, currency)
         SELECT 'bench:' || $1 || ':' || n, 'player', $2 FROM generate_series(1, $3) AS n RETURNING id",
    )
    .bind(run_id)
    .bind(currency)
    .bind(i64::from(count))
    .fetch_all(&database.writer)
    .await
    .context("failed to create benchmark players")?;
    Ok(Rc::new(ids.into_iter().map(AccountId).collect()))
}

async fn fund_players(wallet: &Wallet, players: &[AccountId], run_id: &str) -> anyhow::Result<()> {
    let funding = Amount::parse(1_000 * MICROS_PER_UNIT)?;
    let deposits = players.iter().map(|player| {
        let key = IdempotencyKey::parse(&format!("bench:{run_id}:fund:{player}")).expect("a valid key");
        wallet.credit_from_treasury(*player, funding, TransferKind::Deposit, key, "benchmark funding".into())
    });
    for result in futures_util::future::join_all(deposits).await {
        result.context("failed to fund a benchmark player")?;
    }
    Ok(())
}

struct WorkerContext {
    wallet: Wallet,
    players: Rc<Vec<AccountId>>,
    run_id: String,
    worker: u32,
    deadline: Instant,
    histogram: Rc<RefCell<Histogram<u64>>>,
    tally: Rc<RefCell<Tally>>,
}

/// One benchmark loop: alternate a bet and a win of a random player until the deadline.
async fn drive(context: WorkerContext) {
    let stake = Amount::parse(1_000).expect("a valid amount");
    let mut sequence = 0u64;
    while Instant::now() < context.deadline {
        let player = context.players[rand::thread_rng().gen_range(0..context.players.len())];
        let key = IdempotencyKey::parse(&format!("bench:{}:{}:{sequence}", context.run_id, context.worker))
            .expect("a valid key");
        let request = if sequence.is_multiple_of(2) {
            context.wallet.stake_request(player, stake, key, "benchmark".into())
        } else {
            context
                .wallet
                .payout_request(player, stake, TransferKind::Win, key, "benchmark".into(), None)
        };
        let started = Instant::now();
        let outcome = context.wallet.transfer(request).await;
        let micros = started.elapsed().as_micros().min(60_000_000) as u64;
        let _ = context.histogram.borrow_mut().record(micros.max(1));
        let mut tally = context.tally.borrow_mut();
        match outcome {
            Ok(_) => tally.posted += 1,
            Err(super::ledger::TransferError::Rejected(_)) => tally.rejected += 1,
            Err(_) => tally.failed += 1,
        }
        sequence += 1;
    }
}
