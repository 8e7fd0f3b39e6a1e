//! Hub88's operator wallet API against the real services: the certification checks of
//! `../shared/reference/seamless-wallet.md` through `/hub88/{provider}/...`, signed with RSA-SHA256 as
//! Hub88 signs, amounts in Hub88's 1/100,000 units. Balances are checked through the wallet's own API,
//! the journal through SQL, and the ledger audit after each test.

mod abuse;
mod studio;

use studio::{Studio, GAME, GAME_BET_MAX_UNITS, UNIT, UNIT_MICROS};

use serde_json::json;

#[actix_web::test]
async fn a_bet_then_a_win_moves_money_and_every_answer_echoes_user_and_request() {
    // The player-facing calls answer who the player is and what they hold, then a bet and its win move
    // exactly their amounts (x10 into micro-units) and are journaled.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_alice", 100).await;
    let info = studio
        .call("user/info", &json!({"user": gamer.id(), "request_uuid": "req-info"}))
        .await;
    assert_eq!(info["status"], "RS_OK", "{info}");
    assert_eq!(info["user"], gamer.id());
    assert_eq!(info["request_uuid"], "req-info");
    assert!(
        info["registration_date"].as_str().is_some_and(|date| date.len() == 10),
        "{info}"
    );
    let balance = json!({"user": gamer.id(), "request_uuid": "req-bal", "token": gamer.token, "game_code": GAME});
    assert_eq!(studio.ok("user/balance", &balance).await, 100 * UNIT);

    let bet = studio.bet(&gamer, "bet-1", "round-1", 10 * UNIT);
    assert_eq!(studio.ok("transaction/bet", &bet).await, 90 * UNIT);
    let win = studio.win(&gamer, "win-1", "bet-1", "round-1", 25 * UNIT);
    assert_eq!(studio.ok("transaction/win", &win).await, 115 * UNIT);

    assert_eq!(studio.micros(&gamer).await, 115 * UNIT_MICROS);
    let journaled = |status: &str, amount: i64| Some((status.to_owned(), "ok".to_owned(), Some(amount)));
    assert_eq!(studio.journal("bet-1").await, journaled("ok", 10 * UNIT_MICROS));
    assert_eq!(studio.journal("win-1").await, journaled("ok", 25 * UNIT_MICROS));
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn retries_get_the_first_answer_and_changed_duplicates_are_refused() {
    // An exact retry (even with a new request_uuid) answers as the first call did and moves nothing; the
    // same transaction_uuid with another amount or for another kind of call is a duplicate.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_retry", 100).await;
    let mut bet = studio.bet(&gamer, "bet-1", "round-1", 10 * UNIT);
    assert_eq!(studio.ok("transaction/bet", &bet).await, 90 * UNIT);
    bet["request_uuid"] = json!("a-new-request");
    assert_eq!(studio.ok("transaction/bet", &bet).await, 90 * UNIT);
    bet["amount"] = json!(11 * UNIT);
    let duplicate = studio
        .refused("transaction/bet", &bet, "RS_ERROR_DUPLICATE_TRANSACTION")
        .await;
    assert_eq!(duplicate["balance"], 90 * UNIT);

    let mut win = studio.win(&gamer, "win-1", "bet-1", "round-1", 5 * UNIT);
    assert_eq!(studio.ok("transaction/win", &win).await, 95 * UNIT);
    assert_eq!(studio.ok("transaction/win", &win).await, 95 * UNIT);
    win["amount"] = json!(50 * UNIT);
    studio
        .refused("transaction/win", &win, "RS_ERROR_DUPLICATE_TRANSACTION")
        .await;
    let bet_reusing_the_win = studio.bet(&gamer, "win-1", "round-2", UNIT);
    studio
        .refused(
            "transaction/bet",
            &bet_reusing_the_win,
            "RS_ERROR_DUPLICATE_TRANSACTION",
        )
        .await;

    assert_eq!(studio.micros(&gamer).await, 95 * UNIT_MICROS);
    assert_eq!(studio.journal_rows(&gamer).await, 2);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_win_without_a_bet_of_its_player_is_refused() {
    // A win naming a bet nobody placed, in a round without bets, or another player's bet, pays nothing.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_winner", 100).await;
    let rival = studio.gamer("hub_rival", 100).await;
    let orphan = studio.win(&gamer, "win-orphan", "no-such-bet", "empty-round", 5 * UNIT);
    let answer = studio
        .refused("transaction/win", &orphan, "RS_ERROR_TRANSACTION_DOES_NOT_EXIST")
        .await;
    assert_eq!(answer["balance"], 100 * UNIT);
    let rival_bet = studio.bet(&rival, "rival-bet", "rival-round", 10 * UNIT);
    studio.ok("transaction/bet", &rival_bet).await;
    let stolen = studio.win(&gamer, "win-stolen", "rival-bet", "rival-round", 50 * UNIT);
    studio
        .refused("transaction/win", &stolen, "RS_ERROR_TRANSACTION_DOES_NOT_EXIST")
        .await;
    assert_eq!(studio.micros(&gamer).await, 100 * UNIT_MICROS);
    assert_eq!(studio.micros(&rival).await, 90 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_win_naming_an_unknown_bet_is_refused_even_in_a_round_with_bets() {
    // Hub88's win always names its bet (`reference_transaction_uuid`); one naming a bet that was never
    // placed is refused even when the same round holds another bet.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_unknown_ref", 100).await;
    studio
        .ok("transaction/bet", &studio.bet(&gamer, "bet-1", "round-1", 10 * UNIT))
        .await;
    let win = studio.win(&gamer, "win-1", "no-such-bet", "round-1", 30 * UNIT);
    studio
        .refused("transaction/win", &win, "RS_ERROR_TRANSACTION_DOES_NOT_EXIST")
        .await;
    assert_eq!(studio.micros(&gamer).await, 90 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn rollbacks_return_a_bet_once_and_are_remembered_when_they_come_first() {
    // Rolled back once, twice (retry) or by a second rollback id, a bet comes back once; a rollback of a
    // bet never seen succeeds and the bet arriving later is refused, never debited.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_rollback", 100).await;
    studio
        .ok("transaction/bet", &studio.bet(&gamer, "bet-1", "round-1", 10 * UNIT))
        .await;
    let rollback = studio.rollback(&gamer, "rb-1", "bet-1", "round-1");
    assert_eq!(studio.ok("transaction/rollback", &rollback).await, 100 * UNIT);
    assert_eq!(studio.ok("transaction/rollback", &rollback).await, 100 * UNIT);
    let again = studio.rollback(&gamer, "rb-2", "bet-1", "round-1");
    assert_eq!(studio.ok("transaction/rollback", &again).await, 100 * UNIT);
    assert_eq!(studio.journal("bet-1").await.unwrap().0, "rolled_back");

    let early = studio.rollback(&gamer, "rb-3", "late-bet", "round-2");
    assert_eq!(studio.ok("transaction/rollback", &early).await, 100 * UNIT);
    assert_eq!(studio.journal("late-bet").await.unwrap().0, "rolled_back_unseen");
    let late = studio.bet(&gamer, "late-bet", "round-2", 10 * UNIT);
    let answer = studio
        .refused("transaction/bet", &late, "RS_ERROR_TRANSACTION_ROLLED_BACK")
        .await;
    assert_eq!(answer["balance"], 100 * UNIT);

    assert_eq!(studio.micros(&gamer).await, 100 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_settled_bet_is_not_rolled_back_and_a_rolled_back_bet_does_not_win() {
    // A zero win settles a lost bet (success, nothing paid), after which its rollback is refused; a win
    // for a rolled-back bet is refused with RS_ERROR_TRANSACTION_ROLLED_BACK.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_settled", 100).await;
    studio
        .ok("transaction/bet", &studio.bet(&gamer, "bet-a", "round-a", 10 * UNIT))
        .await;
    let zero = studio.win(&gamer, "win-a", "bet-a", "round-a", 0);
    assert_eq!(studio.ok("transaction/win", &zero).await, 90 * UNIT);
    assert_eq!(studio.journal("win-a").await, Some(("ok".into(), "ok".into(), Some(0))));
    let late_rollback = studio.rollback(&gamer, "rb-a", "bet-a", "round-a");
    studio
        .refused("transaction/rollback", &late_rollback, "RS_ERROR_UNKNOWN")
        .await;

    studio
        .ok("transaction/bet", &studio.bet(&gamer, "bet-b", "round-b", 10 * UNIT))
        .await;
    let rollback = studio.rollback(&gamer, "rb-b", "bet-b", "round-b");
    assert_eq!(studio.ok("transaction/rollback", &rollback).await, 90 * UNIT);
    let win = studio.win(&gamer, "win-b", "bet-b", "round-b", 30 * UNIT);
    studio
        .refused("transaction/win", &win, "RS_ERROR_TRANSACTION_ROLLED_BACK")
        .await;

    assert_eq!(studio.micros(&gamer).await, 90 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn large_payouts_limits_and_the_real_balance_when_money_is_short() {
    // Not enough money is answered with the real balance and moves nothing; a bet over the game's limit
    // is refused; a very large payout is credited exactly.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_big", 5).await;
    let too_much = studio.bet(&gamer, "bet-big", "round-1", 10 * UNIT);
    let answer = studio
        .refused("transaction/bet", &too_much, "RS_ERROR_NOT_ENOUGH_MONEY")
        .await;
    assert_eq!(answer["balance"], 5 * UNIT);
    assert_eq!(answer["currency"], "USD");
    assert_eq!(studio.journal("bet-big").await.unwrap().0, "refused");

    studio
        .ok("transaction/bet", &studio.bet(&gamer, "bet-1", "round-1", UNIT))
        .await;
    let jackpot = studio.win(&gamer, "win-1", "bet-1", "round-1", 900_000 * UNIT);
    assert_eq!(studio.ok("transaction/win", &jackpot).await, 900_004 * UNIT);
    let over_limit = studio.bet(&gamer, "bet-limit", "round-2", (GAME_BET_MAX_UNITS + 1) * UNIT);
    studio
        .refused("transaction/bet", &over_limit, "RS_ERROR_BET_LIMIT_EXCEEDED")
        .await;

    assert_eq!(studio.micros(&gamer).await, 900_004 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn rounds_with_several_players_many_bets_and_mixed_outcomes_settle_exactly() {
    // Two players in one round, one player in parallel rounds, 100 bets in one round, and a round whose
    // bets are partly rolled back and partly settled: every balance is the sum of what was accepted.
    let studio = Studio::start().await;
    let alice = studio.gamer("hub_table_a", 100).await;
    let bob = studio.gamer("hub_table_b", 100).await;
    studio
        .ok("transaction/bet", &studio.bet(&alice, "a-bet", "table-1", 10 * UNIT))
        .await;
    studio
        .ok("transaction/bet", &studio.bet(&bob, "b-bet", "table-1", 20 * UNIT))
        .await;
    let alice_win = studio.win(&alice, "a-win", "a-bet", "table-1", 30 * UNIT);
    assert_eq!(studio.ok("transaction/win", &alice_win).await, 120 * UNIT);
    let bob_rollback = studio.rollback(&bob, "b-rb", "b-bet", "table-1");
    assert_eq!(studio.ok("transaction/rollback", &bob_rollback).await, 100 * UNIT);

    for (bet, round) in [("r1-bet", "r1"), ("r2-bet", "r2")] {
        studio
            .ok("transaction/bet", &studio.bet(&alice, bet, round, 5 * UNIT))
            .await;
    }
    let r2_win = studio.win(&alice, "r2-win", "r2-bet", "r2", 12 * UNIT);
    studio.ok("transaction/win", &r2_win).await;
    let r1_loss = studio.win(&alice, "r1-win", "r1-bet", "r1", 0);
    assert_eq!(studio.ok("transaction/win", &r1_loss).await, 122 * UNIT);

    let carol = studio.gamer("hub_many", 200).await;
    for index in 0..100 {
        let bet = studio.bet(&carol, &format!("many-{index}"), "many", UNIT);
        studio.ok("transaction/bet", &bet).await;
    }
    let many_win = studio.win(&carol, "many-win", "many-99", "many", 150 * UNIT);
    assert_eq!(studio.ok("transaction/win", &many_win).await, 250 * UNIT);
    assert_eq!(studio.journal_rows(&carol).await, 101);

    let dave = studio.gamer("hub_mix", 100).await;
    for bet in ["m1", "m2", "m3"] {
        studio
            .ok("transaction/bet", &studio.bet(&dave, bet, "mix", 10 * UNIT))
            .await;
    }
    studio
        .ok("transaction/rollback", &studio.rollback(&dave, "m2-rb", "m2", "mix"))
        .await;
    let mix_win = studio.win(&dave, "mix-win", "m1", "mix", 40 * UNIT);
    assert_eq!(studio.ok("transaction/win", &mix_win).await, 120 * UNIT);
    let settled = studio.rollback(&dave, "m3-rb", "m3", "mix");
    studio
        .refused("transaction/rollback", &settled, "RS_ERROR_UNKNOWN")
        .await;

    assert_eq!(studio.micros(&alice).await, 122 * UNIT_MICROS);
    assert_eq!(studio.micros(&bob).await, 100 * UNIT_MICROS);
    assert_eq!(studio.micros(&carol).await, 250 * UNIT_MICROS);
    assert_eq!(studio.micros(&dave).await, 120 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn expired_sessions_and_disabled_players_take_no_bets_but_are_still_paid() {
    // Token expiry and a disabled player stop bets only: wins and rollbacks of earlier bets are paid.
    let studio = Studio::start().await;
    let expired = studio.gamer("hub_expired", 100).await;
    let disabled = studio.gamer("hub_disabled", 100).await;
    for gamer in [&expired, &disabled] {
        for (bet, round) in [("1", "ra"), ("2", "rb")] {
            let bet = studio.bet(gamer, &format!("{}-{bet}", gamer.player.id), round, 10 * UNIT);
            studio.ok("transaction/bet", &bet).await;
        }
    }
    studio
        .execute(
            "UPDATE game_sessions SET created_at = now() - interval '2 hours',
             expires_at = now() - interval '1 hour' WHERE player_id = $1",
            &expired,
        )
        .await;
    studio
        .execute("UPDATE players SET status = 'blocked' WHERE id = $1", &disabled)
        .await;
    for (gamer, refusal) in [
        (&expired, "RS_ERROR_TOKEN_EXPIRED"),
        (&disabled, "RS_ERROR_USER_DISABLED"),
    ] {
        let id = gamer.player.id;
        let bet = studio.bet(gamer, &format!("{id}-3"), "rc", UNIT);
        studio.refused("transaction/bet", &bet, refusal).await;
        let win = studio.win(gamer, &format!("{id}-win"), &format!("{id}-1"), "ra", 5 * UNIT);
        assert_eq!(studio.ok("transaction/win", &win).await, 85 * UNIT);
        let rollback = studio.rollback(gamer, &format!("{id}-rb"), &format!("{id}-2"), "rb");
        assert_eq!(studio.ok("transaction/rollback", &rollback).await, 95 * UNIT);
        assert_eq!(studio.micros(gamer).await, 95 * UNIT_MICROS);
    }
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_currency_other_than_the_wallets_is_refused_for_bets_and_wins() {
    // The wallet holds USD: a bet or a win in EUR is refused with the real balance; a currency that is
    // not a code at all is a wrong type.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_currency", 100).await;
    let mut bet = studio.bet(&gamer, "bet-eur", "round-1", 10 * UNIT);
    bet["currency"] = json!("EUR");
    let answer = studio.refused("transaction/bet", &bet, "RS_ERROR_WRONG_CURRENCY").await;
    assert_eq!(answer["balance"], 100 * UNIT);
    studio
        .ok("transaction/bet", &studio.bet(&gamer, "bet-usd", "round-1", 10 * UNIT))
        .await;
    let mut win = studio.win(&gamer, "win-eur", "bet-usd", "round-1", 20 * UNIT);
    win["currency"] = json!("EUR");
    studio.refused("transaction/win", &win, "RS_ERROR_WRONG_CURRENCY").await;
    win["currency"] = json!("usd");
    win["transaction_uuid"] = json!("win-lower");
    studio.refused("transaction/win", &win, "RS_ERROR_WRONG_TYPES").await;
    assert_eq!(studio.micros(&gamer).await, 90 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_hub88_game_list_imports_into_the_catalog() {
    // The admin import reads Hub88's own list format: enabled games enter the catalog with Hub88's RTP,
    // volatility and category mapped to ours (and our defaults where Hub88 is silent), a disabled one is
    // left out, and the same list again changes nothing.
    let studio = Studio::start().await;
    let admin = studio.app.admin_token().await;
    let list = json!([
        {"game_code": "clt_dragonrising", "name": "Dragon Rising", "category": "Video Slots", "enabled": true,
         "rtp": "96.5", "volatility": 5, "product": "Caleta", "platforms": ["GPL_DESKTOP", "GPL_MOBILE"],
         "freebet_support": true, "blocked_countries": ["US"], "url_thumb": "https://cdn.test/t.png"},
        {"game_code": "evo_crazytime", "name": "Crazy Time", "category": "Live Game Shows", "enabled": true,
         "rtp": null, "volatility": null},
        {"game_code": "old_game", "name": "Old", "category": "Video Slots", "enabled": false}
    ]);
    let path = format!("/api/v1/admin/providers/{}/games/import", studio::PROVIDER);
    let first: serde_json::Value = studio
        .app
        .post_json(&path, Some(&admin), None, &list)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (first["games"].as_i64(), first["inserted"].as_i64()),
        (Some(2), Some(2)),
        "{first}"
    );
    let imported: Vec<(String, String, i32, Option<String>, i64)> = sqlx::query_as(
        "SELECT code, category, rtp_bps, volatility, bet_min_micros FROM games
         WHERE provider_id = $1 AND code <> $2 ORDER BY code",
    )
    .bind(studio::PROVIDER)
    .bind(GAME)
    .fetch_all(&studio.app.pool)
    .await
    .unwrap();
    assert_eq!(
        imported,
        vec![
            (
                "clt_dragonrising".into(),
                "slots".into(),
                9650,
                Some("very_high".into()),
                10
            ),
            ("evo_crazytime".into(), "live_game_shows".into(), 9600, None, 10),
        ]
    );
    let again: serde_json::Value = studio
        .app
        .post_json(&path, Some(&admin), None, &list)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["unchanged"], 2, "{again}");
}
