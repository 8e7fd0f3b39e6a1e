use crate::helpers::{assert_sqlstate, spawn_app, spawn_app_with, TestApp};
use futures_util::future::join_all;
use game_cluster::money::Amount;
use game_cluster::wallet::ledger::{
    AccountId, IdempotencyKey, RejectionCode, TransferError, TransferKind, TransferReceipt, TransferRequest,
};
use game_cluster::wallet::observer::{BalanceChange, BalanceFeed};
use game_cluster::wallet::Wallet;

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

fn bet(wallet: &Wallet, player: AccountId, micros: i64, key_text: &str) -> TransferRequest {
    TransferRequest {
        key: key(key_text),
        debit: player,
        credit: wallet.house_for(player),
        amount: Amount::parse(micros).unwrap(),
        kind: TransferKind::Bet,
        reference: "test".into(),
        settles: None,
    }
}

async fn funded_player(app: &TestApp, name: &str, micros: i64) -> AccountId {
    let player = app.signup(name).await;
    let account = AccountId(player.account);
    let amount = Amount::parse(micros).unwrap();
    app.wallet
        .credit_from_treasury(
            account,
            amount,
            TransferKind::Deposit,
            key(&format!("fund-{name}")),
            "fund".into(),
        )
        .await
        .unwrap();
    account
}

async fn balance_of(app: &TestApp, account: AccountId) -> i64 {
    sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(account.0)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn count_posted(outcomes: &[Result<TransferReceipt, TransferError>]) -> usize {
    for outcome in outcomes {
        assert!(
            matches!(
                outcome,
                Ok(_) | Err(TransferError::Rejected(RejectionCode::InsufficientFunds))
            ),
            "every debit either posts or fails for lack of funds: {outcome:?}"
        );
    }
    outcomes.iter().filter(|outcome| outcome.is_ok()).count()
}

/// 1,000 concurrent debits of one amount against one balance: exactly floor(balance / amount) post,
/// the rest fail with insufficient funds, and the balance ends at the remainder, never below zero.
#[actix_web::test]
async fn concurrent_debits_never_overdraw() {
    let app = spawn_app().await;
    let (balance, amount) = (1_234_567_i64, 3_000_i64);
    let player = funded_player(&app, "ivan", balance).await;
    let debits = (0..1_000).map(|index| {
        app.wallet
            .transfer(bet(&app.wallet, player, amount, &format!("debit-{index}")))
    });
    let outcomes = join_all(debits).await;
    assert_eq!(count_posted(&outcomes) as i64, balance / amount);
    assert_eq!(balance_of(&app, player).await, balance % amount);
    assert!(app.audit_ok().await);
}

/// Two nodes (two wallets with their own shard actors) debiting the same player at once: the database
/// decides, and together they never overdraw.
#[actix_web::test]
async fn two_nodes_debiting_one_player_never_overdraw() {
    let first = spawn_app().await;
    let second = spawn_app_with(first.settings.clone()).await;
    let (balance, amount) = (1_000_000_i64, 7_000_i64);
    let player = funded_player(&first, "judy", balance).await;
    let debits = (0..600).map(|index| {
        let app = if index % 2 == 0 { &first } else { &second };
        app.wallet
            .transfer(bet(&app.wallet, player, amount, &format!("two-nodes-{index}")))
    });
    let outcomes = join_all(debits).await;
    assert_eq!(count_posted(&outcomes) as i64, balance / amount);
    assert_eq!(balance_of(&first, player).await, balance % amount);
    assert!(first.audit_ok().await);
}

/// A retry with the same key and fields returns the first result, even from a second node; the same key
/// with other fields is a conflict; a key that failed stays failed after the balance would allow it.
#[actix_web::test]
async fn idempotent_retry_conflict_and_failed_stays_failed() {
    let app = spawn_app().await;
    let other_node = spawn_app_with(app.settings.clone()).await;
    let player = funded_player(&app, "mallory", 10_000).await;
    let first = app
        .wallet
        .transfer(bet(&app.wallet, player, 4_000, "bet-1"))
        .await
        .unwrap();
    let retry = other_node
        .wallet
        .transfer(bet(&other_node.wallet, player, 4_000, "bet-1"))
        .await
        .unwrap();
    assert_eq!((retry.transfer_id, retry.replayed), (first.transfer_id, true));
    let conflict = app.wallet.transfer(bet(&app.wallet, player, 5_000, "bet-1")).await;
    assert_eq!(conflict, Err(TransferError::IdempotencyConflict));

    let too_big = bet(&app.wallet, player, 50_000, "bet-2");
    let insufficient = Err(TransferError::Rejected(RejectionCode::InsufficientFunds));
    assert_eq!(app.wallet.transfer(too_big.clone()).await, insufficient);
    app.wallet
        .credit_from_treasury(
            player,
            Amount::parse(100_000).unwrap(),
            TransferKind::Deposit,
            key("top"),
            "t".into(),
        )
        .await
        .unwrap();
    assert_eq!(
        app.wallet.transfer(too_big).await,
        insufficient,
        "a failed key stays failed"
    );
    assert_eq!(balance_of(&app, player).await, 106_000);
    assert!(app.audit_ok().await);
}

/// A batch holding one operation the database refuses (a reference longer than the schema allows)
/// commits every other operation of the batch; only the bad one fails.
#[actix_web::test]
async fn one_failing_operation_does_not_abort_its_batch() {
    let mut settings = crate::helpers::test_settings();
    // One shard and a generous delay put all the operations below into one batch.
    settings.wallet.shard_count = 1;
    settings.wallet.batch_delay_ms = 50;
    crate::helpers::create_database(&mut settings).await;
    let app = spawn_app_with(settings).await;
    let player = funded_player(&app, "oscar", 1_000_000).await;
    let mut requests: Vec<_> = (0..20)
        .map(|index| bet(&app.wallet, player, 1_000, &format!("ok-{index}")))
        .collect();
    requests[7].reference = "x".repeat(500);
    let outcomes = join_all(requests.into_iter().map(|request| app.wallet.transfer(request))).await;
    for (index, outcome) in outcomes.iter().enumerate() {
        if index == 7 {
            assert!(
                matches!(outcome, Err(TransferError::Unavailable(_))),
                "the poisoned operation fails: {outcome:?}"
            );
        } else {
            assert!(outcome.is_ok(), "operation {index} posts: {outcome:?}");
        }
    }
    assert_eq!(balance_of(&app, player).await, 1_000_000 - 19 * 1_000);
    assert!(app.audit_ok().await);
}

/// Within one batch, an insufficient-funds rejection between two successful debits leaves both posted.
#[actix_web::test]
async fn a_rejection_inside_a_batch_leaves_the_rest_posted() {
    let mut settings = crate::helpers::test_settings();
    settings.wallet.shard_count = 1;
    settings.wallet.batch_delay_ms = 50;
    crate::helpers::create_database(&mut settings).await;
    let app = spawn_app_with(settings).await;
    let player = funded_player(&app, "peggy", 10_000).await;
    let requests = [
        bet(&app.wallet, player, 4_000, "p-1"),
        bet(&app.wallet, player, 7_000, "p-2"),
        bet(&app.wallet, player, 6_000, "p-3"),
    ];
    let outcomes = join_all(requests.into_iter().map(|request| app.wallet.transfer(request))).await;
    assert!(outcomes[0].is_ok());
    assert_eq!(
        outcomes[1],
        Err(TransferError::Rejected(RejectionCode::InsufficientFunds))
    );
    assert_eq!(outcomes[2].as_ref().unwrap().debit_balance_after.micros(), 0);
}

/// The wallet reports the player's new balance once for each transfer it posts (a stake or a credit),
/// and nothing for a replay of the same key or a refused transfer.
#[actix_web::test]
async fn posted_transfers_report_the_players_new_balance_once() {
    let app = spawn_app().await;
    let database = game_cluster::db::Database::connect_lazy(&app.settings.database);
    let wallet = Wallet::start(&database, &app.settings.wallet, app.settings.currency())
        .await
        .unwrap();
    let (feed, mut changes) = BalanceFeed::channel(16);
    assert!(wallet.report_balances_to(feed.clone()));
    assert!(!wallet.report_balances_to(feed), "the feed is set once");
    let player = funded_player(&app, "observed", 10_000_000).await;
    wallet
        .transfer(bet(&wallet, player, 3_000_000, "observed-1"))
        .await
        .unwrap();
    let change = next_change(&mut changes).await;
    assert_eq!((change.account, change.balance.micros()), (player, 7_000_000));

    let replay = wallet
        .transfer(bet(&wallet, player, 3_000_000, "observed-1"))
        .await
        .unwrap();
    assert!(replay.replayed);
    let refused = wallet.transfer(bet(&wallet, player, 50_000_000, "observed-2")).await;
    assert_eq!(refused, Err(TransferError::Rejected(RejectionCode::InsufficientFunds)));
    let amount = Amount::parse(1_000_000).unwrap();
    wallet
        .credit_from_treasury(player, amount, TransferKind::TopUp, key("observed-3"), "test".into())
        .await
        .unwrap();
    let change = next_change(&mut changes).await;
    assert_eq!(
        (change.account, change.balance.micros()),
        (player, 8_000_000),
        "neither the replay nor the refusal reported a change"
    );
}

async fn next_change(changes: &mut tokio::sync::mpsc::Receiver<BalanceChange>) -> BalanceChange {
    tokio::time::timeout(std::time::Duration::from_secs(10), changes.recv())
        .await
        .expect("a change in time")
        .expect("the feed is open")
}

/// The balance update of a batch finds its rows through the primary key's index over the sorted ids, so
/// it locks them in id order (as every other writer of accounts does) and batches of several nodes
/// cannot deadlock; a sequential or bitmap scan would lock them in the table's physical order. This small
/// test table is where the planner would prefer a sequential scan.
#[actix_web::test]
async fn wallet_update_locks_accounts_in_id_order() {
    use game_cluster::wallet::store::{BEGIN_BATCH_SQL, WRITE_PLAN_SQL};
    let app = spawn_app().await;
    let mut ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    ids.truncate(8);
    let none: Vec<i64> = Vec::new();
    let mut transaction = app.pool.begin_with(BEGIN_BATCH_SQL).await.unwrap();
    let explain = format!("EXPLAIN (FORMAT JSON) {WRITE_PLAN_SQL}");
    let (plan,): (serde_json::Value,) = sqlx::query_as(&explain)
        .bind(&ids)
        .bind(&ids)
        .bind(&ids)
        .bind(Vec::<uuid::Uuid>::new())
        .bind(Vec::<String>::new())
        .bind(&none)
        .bind(&none)
        .bind(&none)
        .bind(Vec::<String>::new())
        .bind(Vec::<String>::new())
        .bind(Vec::<String>::new())
        .bind(Vec::<String>::new())
        .bind(Vec::<Option<String>>::new())
        .bind(Vec::<Option<i64>>::new())
        .bind(Vec::<Option<i64>>::new())
        .bind(Vec::<Option<i64>>::new())
        .bind(Vec::<chrono::DateTime<chrono::Utc>>::new())
        .bind(&ids)
        .fetch_one(&mut *transaction)
        .await
        .unwrap();
    transaction.rollback().await.unwrap();
    let mut scans = Vec::new();
    collect_scans_of(&plan[0]["Plan"], "accounts", &mut scans);
    assert!(!scans.is_empty(), "the plan reads accounts: {plan}");
    for scan in &scans {
        assert_eq!(
            scan, "Index Scan using accounts_pkey",
            "accounts read in id order: {plan}"
        );
    }
}

/// A balance writer's row lock leaves foreign key checks alone: a new transfer naming a locked account
/// (its check takes `FOR KEY SHARE`) goes on without waiting, so it cannot close a lock cycle with the
/// batch holding the lock; two balance writers still exclude each other.
#[actix_web::test]
async fn account_row_lock_lets_foreign_key_checks_pass() {
    use game_cluster::wallet::store::ACCOUNT_ROW_LOCK;
    let app = spawn_app().await;
    let account: i64 = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query(&format!("SELECT id FROM accounts WHERE id = $1 {ACCOUNT_ROW_LOCK}"))
        .bind(account)
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut other = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE NOWAIT")
        .bind(account)
        .execute(&mut *other)
        .await
        .expect("a foreign key check does not wait for a balance writer");
    let refused = sqlx::query(&format!(
        "SELECT id FROM accounts WHERE id = $1 {ACCOUNT_ROW_LOCK} NOWAIT"
    ))
    .bind(account)
    .execute(&mut *other)
    .await
    .expect_err("a second balance writer must wait");
    let code = refused
        .as_database_error()
        .and_then(|error| error.code())
        .map(|code| code.into_owned());
    assert_eq!(code.as_deref(), Some("55P03"), "lock_not_available: {refused}");
    other.rollback().await.unwrap();
    holder.rollback().await.unwrap();
}

/// A transfer's accounts must exist, although no foreign key locks them any more: the statement's
/// check refuses a row naming a missing account, and no account can be deleted, renumbered or truncated
/// out from under the transfers that name it.
#[actix_web::test]
async fn transfers_name_only_existing_accounts_and_accounts_are_permanent() {
    let app = spawn_app().await;
    let account: i64 = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let missing = account + 1_000_000;
    let insert = sqlx::query(
        "INSERT INTO transfers (id, idempotency_key, debit_account_id, credit_account_id, amount, currency, kind,
                                reference, status, rejection_code)
         VALUES ($1, $2, $3, $4, 1, 'USD', 'deposit', 'test', 'rejected', 'insufficient_funds')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind("missing-account")
    .bind(account)
    .bind(missing)
    .execute(&app.pool)
    .await
    .expect_err("a transfer naming a missing account is refused");
    assert_sqlstate(&insert, "23503", "foreign_key_violation");
    for statement in [
        "DELETE FROM accounts WHERE id = $1",
        "UPDATE accounts SET id = DEFAULT WHERE id = $1",
    ] {
        let refused = sqlx::query(statement)
            .bind(account)
            .execute(&app.pool)
            .await
            .expect_err(statement);
        assert_sqlstate(&refused, "23001", "restrict_violation");
    }
    let refused = sqlx::query("TRUNCATE accounts CASCADE")
        .execute(&app.pool)
        .await
        .expect_err("accounts are never truncated");
    assert_sqlstate(&refused, "23001", "restrict_violation");
}

/// Every scan of `relation` in an EXPLAIN (FORMAT JSON) plan, as "<node type> using <index>".
fn collect_scans_of(node: &serde_json::Value, relation: &str, scans: &mut Vec<String>) {
    let node_type = node["Node Type"].as_str().unwrap_or("?");
    if node["Relation Name"] == relation && node_type.contains("Scan") {
        let index = node["Index Name"].as_str().unwrap_or("-");
        scans.push(format!("{node_type} using {index}"));
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        collect_scans_of(child, relation, scans);
    }
}

/// Two nodes moving money for the same players through the same house accounts at once: every transfer
/// is answered, the balances add up, and Postgres saw no deadlock (the cross-node deadlock the wallet once
/// had on its shared house rows, now prevented by locking in id order).
#[actix_web::test]
async fn two_nodes_moving_money_for_the_same_players_never_deadlock() {
    let first = spawn_app().await;
    let second = spawn_app_with(first.settings.clone()).await;
    let mut players = Vec::new();
    for index in 0..40 {
        players.push(funded_player(&first, &format!("dl{index}"), 1_000_000_000).await);
    }
    let deadlocks_before = deadlocks(&first).await;
    let transfers = (0..4_000).map(|index| {
        let app = if index % 2 == 0 { &first } else { &second };
        // Each node walks the players in the opposite order, so its batches hold them in another order.
        let position = if index % 2 == 0 { index / 2 } else { 1_999 - index / 2 };
        let player = players[position % players.len()];
        let key_text = format!("deadlock-{index}");
        let request = if index % 4 < 2 {
            bet(&app.wallet, player, 1_000, &key_text)
        } else {
            app.wallet.payout_request(
                player,
                Amount::parse(1_000).unwrap(),
                TransferKind::Win,
                key(&key_text),
                "test".into(),
                None,
            )
        };
        app.wallet.transfer(request)
    });
    let outcomes = join_all(transfers).await;
    assert!(outcomes.iter().all(Result::is_ok), "every transfer posted");
    assert_eq!(deadlocks(&first).await, deadlocks_before, "Postgres broke no deadlock");
    assert!(first.audit_ok().await);
}

async fn deadlocks(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
