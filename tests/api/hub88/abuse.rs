//! Hub88 calls that must move nothing (forged, malformed, for nobody) or move money exactly once (retried,
//! concurrent, repeated promotions).

use super::studio::{Studio, GAME, PROVIDER, UNIT, UNIT_MICROS};
use futures_util::future::join_all;
use game_cluster::providers::hub88::HUB88_AMOUNT_MAX;
use serde_json::{json, Value};
use uuid::Uuid;

#[actix_web::test]
async fn tampered_foreign_or_missing_signatures_move_nothing_and_a_replay_moves_once() {
    // A body changed after signing, a body signed with another key and an unsigned body are all
    // RS_ERROR_INVALID_SIGNATURE (HTTP 200) with nothing journaled; a captured call sent again is an
    // exact retry: it succeeds and the money moves once.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_forged", 100).await;
    let url = format!("/hub88/{PROVIDER}/transaction/bet");
    let body = serde_json::to_vec(&studio.bet(&gamer, "bet-1", "round-1", 10 * UNIT)).unwrap();
    let signature = studio.sign(&body);
    let tampered = serde_json::to_vec(&studio.bet(&gamer, "bet-1", "round-1", 90 * UNIT)).unwrap();
    let forged = [
        (tampered, Some(signature.clone())),
        (body.clone(), Some(studio.sign_with_another_key(&body))),
        (body.clone(), None),
        (body.clone(), Some("bm90IGEgc2lnbmF0dXJl".to_owned())),
    ];
    for (bytes, signature) in forged {
        let answer = studio.send(&url, bytes, signature).await;
        assert_eq!(answer["status"], "RS_ERROR_INVALID_SIGNATURE", "{answer}");
    }
    assert_eq!(studio.journal_rows(&gamer).await, 0);
    assert_eq!(studio.micros(&gamer).await, 100 * UNIT_MICROS);

    for _ in 0..2 {
        let answer = studio.send(&url, body.clone(), Some(signature.clone())).await;
        assert_eq!(answer["status"], "RS_OK", "{answer}");
        assert_eq!(answer["balance"], 90 * UNIT);
    }
    assert_eq!(studio.micros(&gamer).await, 90 * UNIT_MICROS);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn unknown_players_providers_and_paths_are_refused() {
    // A user we do not know, a token of another player, a provider we do not know or that is disabled,
    // and a path Hub88 does not have: each gets its RS_* code and nothing moves.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_known", 100).await;
    let other = studio.gamer("hub_other", 100).await;
    let nobody = Uuid::new_v4().to_string();
    for (path, user) in [("user/balance", nobody.as_str()), ("user/info", "nobody")] {
        let body = json!({"user": user, "request_uuid": "q", "token": gamer.token});
        let answer = studio.refused(path, &body, "RS_ERROR_INVALID_TOKEN").await;
        assert_eq!(answer["request_uuid"], "q");
    }
    let mut ghost_bet = studio.bet(&gamer, "ghost-bet", "round-1", UNIT);
    ghost_bet["user"] = json!(nobody);
    studio
        .refused("transaction/bet", &ghost_bet, "RS_ERROR_INVALID_TOKEN")
        .await;
    let mut borrowed = studio.bet(&gamer, "borrowed", "round-1", UNIT);
    borrowed["token"] = json!(other.token);
    studio
        .refused("transaction/bet", &borrowed, "RS_ERROR_INVALID_TOKEN")
        .await;
    let mut unknown_game = studio.bet(&gamer, "unknown-game", "round-1", UNIT);
    unknown_game["game_code"] = json!("no_such_game");
    studio
        .refused("transaction/bet", &unknown_game, "RS_ERROR_INVALID_GAME")
        .await;

    sqlx::query(
        "INSERT INTO providers (id, name, protocol, public_key, currencies, active)
         SELECT 'hubgone', 'Gone', 'hub88', public_key, currencies, false FROM providers WHERE id = $1",
    )
    .bind(PROVIDER)
    .execute(&studio.app.pool)
    .await
    .unwrap();
    let body = serde_json::to_vec(&studio.bet(&gamer, "elsewhere", "round-1", UNIT)).unwrap();
    let no_such_path = format!("/hub88/{PROVIDER}/transaction/end");
    for (url, status) in [
        ("/hub88/hubgone/transaction/bet", "RS_ERROR_INVALID_PARTNER"),
        ("/hub88/nostudio/transaction/bet", "RS_ERROR_INVALID_PARTNER"),
        (no_such_path.as_str(), "RS_ERROR_WRONG_SYNTAX"),
    ] {
        let answer = studio.send(url, body.clone(), Some(studio.sign(&body))).await;
        assert_eq!(answer["status"], status, "{url}: {answer}");
    }
    assert_eq!(studio.micros(&gamer).await, 100 * UNIT_MICROS);
    // The bets with another player's token and an unknown game reached the rules: journaled as refused.
    assert_eq!(studio.journal_rows(&gamer).await, 2);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn amounts_and_strings_out_of_shape_are_refused_and_unicode_is_kept() {
    // Negative, zero, fractional, textual and oversized amounts, missing fields and ids over 128
    // characters are refused before anything is decided; Unicode ids and the smallest amount work.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_shapes", 100).await;
    let bad_amounts = [
        json!(-1),
        json!(0),
        json!(1.5),
        json!("100"),
        json!(1e30),
        json!(HUB88_AMOUNT_MAX + 1),
    ];
    for amount in bad_amounts {
        let mut bet = studio.bet(&gamer, "bad-bet", "round-1", UNIT);
        bet["amount"] = amount.clone();
        studio.refused("transaction/bet", &bet, "RS_ERROR_WRONG_TYPES").await;
    }
    let mut negative_win = studio.win(&gamer, "bad-win", "bad-bet", "round-1", UNIT);
    negative_win["amount"] = json!(-5);
    studio
        .refused("transaction/win", &negative_win, "RS_ERROR_WRONG_TYPES")
        .await;
    let mut no_amount = studio.bet(&gamer, "bad-bet", "round-1", UNIT);
    no_amount.as_object_mut().unwrap().remove("amount");
    studio
        .refused("transaction/bet", &no_amount, "RS_ERROR_WRONG_SYNTAX")
        .await;
    let long_id = studio.bet(&gamer, &"x".repeat(129), "round-1", UNIT);
    studio
        .refused("transaction/bet", &long_id, "RS_ERROR_WRONG_TYPES")
        .await;
    let url = format!("/hub88/{PROVIDER}/transaction/bet");
    let answer = studio
        .send(&url, b"{not json".to_vec(), Some(studio.sign(b"{not json")))
        .await;
    assert_eq!(answer["status"], "RS_ERROR_WRONG_SYNTAX");
    assert_eq!(studio.journal_rows(&gamer).await, 0);

    let unicode_round: String = "раунд-🎰-".repeat(16).chars().take(128).collect();
    let unicode_bet = studio.bet(&gamer, "ставка-🎰-1", &unicode_round, 1);
    assert_eq!(studio.ok("transaction/bet", &unicode_bet).await, 100 * UNIT - 1);
    let unicode_win = studio.win(&gamer, "выигрыш-🎰-1", "ставка-🎰-1", &unicode_round, 3);
    assert_eq!(studio.ok("transaction/win", &unicode_win).await, 100 * UNIT + 2);
    assert_eq!(studio.micros(&gamer).await, 100 * UNIT_MICROS + 20);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn concurrent_calls_for_one_player_end_in_one_sequential_balance() {
    // Ten bets of one player at once all land; two copies of one win at once credit it once.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_concurrent", 100).await;
    let bets: Vec<Value> = (0..10)
        .map(|index| studio.bet(&gamer, &format!("c-bet-{index}"), &format!("c-round-{index}"), 3 * UNIT))
        .collect();
    let answers = join_all(bets.iter().map(|bet| studio.call("transaction/bet", bet))).await;
    for answer in &answers {
        assert_eq!(answer["status"], "RS_OK", "{answer}");
    }
    assert_eq!(studio.micros(&gamer).await, 70 * UNIT_MICROS);

    let win = studio.win(&gamer, "c-win", "c-bet-0", "c-round-0", 25 * UNIT);
    let copies = join_all([
        studio.call("transaction/win", &win),
        studio.call("transaction/win", &win),
    ])
    .await;
    for answer in &copies {
        assert_eq!(answer["status"], "RS_OK", "{answer}");
        assert_eq!(answer["balance"], 95 * UNIT, "{answer}");
    }
    assert_eq!(studio.micros(&gamer).await, 95 * UNIT_MICROS);
    assert_eq!(studio.journal_rows(&gamer).await, 11);
    assert!(studio.app.audit_ok().await);
}

#[actix_web::test]
async fn a_repeated_promotion_payout_is_counted_once_and_free_bets_are_refused() {
    // An is_free win (a free round or promotion) needs no bet and is paid once however often it comes;
    // an is_free bet (a Hub88 reward paying the stake) is not supported and moves nothing.
    let studio = Studio::start().await;
    let gamer = studio.gamer("hub_promo", 100).await;
    let mut promotion = studio.win(&gamer, "promo-1", "promo-ref", "promo-round", 7 * UNIT);
    promotion["is_free"] = json!(true);
    assert_eq!(studio.ok("transaction/win", &promotion).await, 107 * UNIT);
    promotion["request_uuid"] = json!("retried");
    assert_eq!(studio.ok("transaction/win", &promotion).await, 107 * UNIT);
    let mut free_bet = studio.bet(&gamer, "free-bet", "free-round", UNIT);
    free_bet["is_free"] = json!(true);
    studio
        .refused("transaction/bet", &free_bet, "RS_ERROR_WRONG_TYPES")
        .await;
    assert_eq!(studio.micros(&gamer).await, 107 * UNIT_MICROS);
    assert_eq!(studio.journal_rows(&gamer).await, 1);
    let balance = json!({"user": gamer.id(), "request_uuid": "b", "game_code": GAME});
    assert_eq!(studio.ok("user/balance", &balance).await, 107 * UNIT);
    assert!(studio.app.audit_ok().await);
}
