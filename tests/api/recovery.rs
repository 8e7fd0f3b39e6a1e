//! Start-up recovery resolves every state a bet can be left in by a failure, from the ledger, once.

use crate::helpers::{assert_sqlstate, spawn_app};
use game_cluster::fair::crash as fair;
use game_cluster::games::crash::bet_writer::{BetWriter, PendingBet};
use game_cluster::games::crash::store;
use game_cluster::games::crash::{recovery, BetStatus};
use game_cluster::money::Amount;
use game_cluster::wallet::ledger::{AccountId, TransferKind, TransferRequest};
use uuid::Uuid;

/// A room name no actor runs, so the test alone drives its rounds.
const ROOM: &str = "recovery_test";

/// A recorded cashout decision is paid exactly its payout; a staked bet still open in a crashed round
/// (a stake that landed late) is refunded; a pending bet whose stake never moved has its stake replayed:
/// refunded when it posts, void when the ledger refuses it (so a late debit by a deposed leader can never
/// land unrefunded); running recovery again changes nothing; the audit passes.
#[actix_web::test]
async fn recovery_pays_decisions_refunds_open_stakes_and_voids_the_rest() {
    let app = spawn_app().await;
    let player = app.signup("victim").await;
    let account = AccountId(player.account);
    let fund = Amount::parse(10_000_000).unwrap();
    let key = |text: &str| game_cluster::wallet::ledger::IdempotencyKey::parse(text).unwrap();
    app.wallet
        .credit_from_treasury(account, fund, TransferKind::Deposit, key("fund"), "fund".into())
        .await
        .unwrap();

    store::insert_chain(&app.pool, ROOM, "salt", &fair::generate_chain(3))
        .await
        .unwrap();
    let fence = store::take_fence(&app.pool, ROOM, "test-node").await.unwrap();
    let round = store::start_round(&app.pool, &fence, 100).await.unwrap().unwrap().id;
    let mut bets = Vec::new();
    let writer = BetWriter::start(app.pool.clone(), fence.clone());
    // (staked, amount): the last pending stake is more than the player has.
    let plan = [
        (true, 1_000_000),
        (true, 1_000_000),
        (false, 1_000_000),
        (false, 100_000_000),
    ];
    for (index, (staked, amount)) in plan.into_iter().enumerate() {
        let id = Uuid::now_v7();
        let client_bet_id = format!("bet-{index}");
        let new_bet = PendingBet {
            id,
            round,
            player: player.id,
            account,
            client_bet_id,
            amount,
            auto_cashout: None,
        };
        assert!(writer.insert(new_bet).await.unwrap().is_none());
        if staked {
            let stake = TransferRequest {
                key: store::stake_key(id),
                debit: account,
                credit: app.wallet.house_for(account),
                amount: Amount::parse(1_000_000).unwrap(),
                kind: TransferKind::Bet,
                reference: format!("crash:{round}"),
                settles: None,
            };
            app.wallet.transfer(stake).await.unwrap();
        }
        bets.push(id);
    }
    store::set_bet_status(
        &app.pool,
        &fence,
        bets[0],
        BetStatus::CashingOut,
        Some((250, 2_500_000)),
    )
    .await
    .unwrap();
    store::set_bet_status(&app.pool, &fence, bets[1], BetStatus::Open, None)
        .await
        .unwrap();
    store::mark_crashed(&app.pool, &fence, round, &[]).await.unwrap();

    // A new leader takes over: the old fence no longer writes.
    let successor = store::take_fence(&app.pool, ROOM, "successor").await.unwrap();
    assert!(successor.token > fence.token);
    let stale = store::set_bet_status(&app.pool, &fence, bets[1], BetStatus::Lost, None).await;
    assert!(matches!(stale, Err(store::StoreError::Fenced { .. })), "{stale:?}");
    let stale = recovery::recover_room(&app.pool, &app.wallet, &fence).await;
    assert!(stale.is_err(), "a deposed leader cannot recover the room");

    let report = recovery::recover_room(&app.pool, &app.wallet, &successor)
        .await
        .unwrap();
    assert_eq!(
        (report.rounds, report.cashed_out, report.refunded, report.voided),
        (1, 1, 2, 1)
    );
    let again = recovery::recover_room(&app.pool, &app.wallet, &successor)
        .await
        .unwrap();
    assert_eq!(again.rounds, 0, "a settled round is not recovered twice");

    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM crash_bets WHERE id = ANY($1) ORDER BY id")
        .bind(&bets)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["cashed_out", "refunded", "refunded", "void"]);
    // 10.0 - two stakes of 1.0 + a win of 2.5 + a refund of 1.0
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(account.0)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(balance, 11_500_000);
    assert!(app.audit_ok().await);
}

/// A bet names only a round, player and account that exist, and keeps them; rounds and players, which
/// bets refer to without foreign keys (their per-row locks slowed a burst's inserts), are never deleted,
/// renumbered or truncated.
#[actix_web::test]
async fn crash_bets_name_only_existing_rows_and_rounds_and_players_are_permanent() {
    let app = spawn_app().await;
    let player = app.signup("integrity").await;
    store::insert_chain(&app.pool, "integrity_test", "salt", &fair::generate_chain(2))
        .await
        .unwrap();
    let fence = store::take_fence(&app.pool, "integrity_test", "test-node")
        .await
        .unwrap();
    let round = store::start_round(&app.pool, &fence, 100).await.unwrap().unwrap().id;
    let insert = |round: i64, player_id: Uuid, account: i64| {
        sqlx::query(
            "INSERT INTO crash_bets (id, round_id, player_id, account_id, client_bet_id, amount, status)
             VALUES ($1, $2, $3, $4, $5, 1000000, 'pending')",
        )
        .bind(Uuid::now_v7())
        .bind(round)
        .bind(player_id)
        .bind(account)
        .bind(Uuid::now_v7().to_string())
    };
    for (what, statement) in [
        ("round", insert(round + 1_000_000, player.id, player.account)),
        ("player", insert(round, Uuid::now_v7(), player.account)),
        ("account", insert(round, player.id, player.account + 1_000_000)),
    ] {
        let refused = statement.execute(&app.pool).await.expect_err(what);
        assert_sqlstate(&refused, "23503", what);
    }
    insert(round, player.id, player.account)
        .execute(&app.pool)
        .await
        .unwrap();
    let statements = [
        "UPDATE crash_bets SET round_id = round_id WHERE player_id = $1::uuid",
        "UPDATE crash_bets SET account_id = account_id WHERE player_id = $1::uuid",
        "DELETE FROM players WHERE id = $1::uuid",
        "UPDATE players SET id = gen_random_uuid() WHERE id = $1::uuid",
    ];
    for statement in statements {
        let refused = sqlx::query(statement)
            .bind(player.id)
            .execute(&app.pool)
            .await
            .expect_err(statement);
        assert_sqlstate(&refused, "23001", statement);
    }
    for statement in [
        "DELETE FROM crash_rounds WHERE id = $1",
        "UPDATE crash_rounds SET id = DEFAULT WHERE id = $1",
    ] {
        let refused = sqlx::query(statement)
            .bind(round)
            .execute(&app.pool)
            .await
            .expect_err(statement);
        assert_sqlstate(&refused, "23001", statement);
    }
    for statement in ["TRUNCATE crash_rounds CASCADE", "TRUNCATE players CASCADE"] {
        let refused = sqlx::query(statement).execute(&app.pool).await.expect_err(statement);
        assert_sqlstate(&refused, "23001", statement);
    }
}
