//! Dice, Plinko and Mines over HTTP: bets move money exactly once through the ledger, bad input is a
//! clear 4xx that moves nothing, Mines games survive a change of node and racing moves, and every bet can
//! be verified from the revealed seeds.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, TestPlayer};
use game_cluster::fair::seeds::SeedInput;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const DICE: &str = "/api/v1/dice/roll";
const PLINKO: &str = "/api/v1/plinko/drop";
const MINES: &str = "/api/v1/mines/bet";

/// 100 units.
const FUNDS: i64 = 100_000_000;
/// 1 unit.
const STAKE: i64 = 1_000_000;

async fn funded_player(app: &TestApp, name: &str) -> TestPlayer {
    let player = app.signup(name).await;
    let admin = app.admin_token().await;
    let response = app.deposit(&admin, player.id, FUNDS, &format!("fund-{name}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    player
}

/// Posts a game request and returns its status and body.
async fn call(app: &TestApp, player: &TestPlayer, path: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let response = app.post_json(path, Some(&player.token), key, &body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path} answers JSON: {text}"));
    (status, body)
}

async fn ok(app: &TestApp, player: &TestPlayer, path: &str, key: Option<&str>, body: Value) -> Value {
    let (status, body) = call(app, player, path, key, body).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The player's active server seed, read from the database as only the server can.
async fn secret_server_seed(app: &TestApp, player: &TestPlayer) -> String {
    sqlx::query_scalar("SELECT server_seed FROM player_seeds WHERE player_id = $1 AND revealed_at IS NULL")
        .bind(player.id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Where the mines of an open game lie, computed from the secret seed like the server does.
async fn mines_of(app: &TestApp, player: &TestPlayer, bet: &Value) -> Vec<u32> {
    let server_seed = secret_server_seed(app, player).await;
    let fairness = &bet["fairness"];
    let input = SeedInput {
        server_seed: &server_seed,
        client_seed: fairness["client_seed"].as_str().unwrap(),
        nonce: fairness["nonce"].as_u64().unwrap(),
    };
    game_cluster::fair::mines::mine_positions(input, bet["options"]["mines"].as_u64().unwrap() as u32)
}

fn safe_tiles(mines: &[u32]) -> Vec<u32> {
    (0..25).filter(|tile| !mines.contains(tile)).collect()
}

async fn ledger_transfer_count(app: &TestApp, player: &TestPlayer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM transfers WHERE player_account_id = $1")
        .bind(player.account)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[actix_web::test]
async fn every_game_moves_money_once_appears_in_history_and_verifies_after_rotation() {
    let app = spawn_app().await;
    let player = funded_player(&app, "fairplayer").await;
    let seeds = app.get("/api/v1/fair/seeds", Some(&player.token)).await;
    assert_eq!(seeds.status(), StatusCode::OK);
    let seeds: Value = seeds.json().await.unwrap();
    assert_eq!(seeds["next_nonce"], 0);
    let committed_hash = seeds["server_seed_hash"].as_str().unwrap().to_owned();
    let secret = secret_server_seed(&app, &player).await;
    let mut answers = vec![seeds.to_string()];

    let dice = ok(
        &app,
        &player,
        "/api/v1/dice/roll",
        Some("d1"),
        json!({"amount": STAKE, "target": 50, "direction": "over"}),
    )
    .await;
    let bet = &dice["bet"];
    assert_eq!(bet["status"], "settled");
    assert_eq!(bet["fairness"]["nonce"], 0);
    assert_eq!(bet["fairness"]["server_seed_hash"], committed_hash.as_str());
    assert!(bet["fairness"]["server_seed"].is_null(), "the seed stays secret: {bet}");
    let dice_payout = bet["payout"].as_i64().unwrap();
    assert_eq!(
        dice_payout == 1_980_000,
        bet["result"]["won"] == true,
        "a win pays 1.98x: {bet}"
    );
    assert_eq!(dice["balance"], FUNDS - STAKE + dice_payout);
    answers.push(dice.to_string());

    let replay = ok(
        &app,
        &player,
        "/api/v1/dice/roll",
        Some("d1"),
        json!({"amount": STAKE, "target": 50, "direction": "over"}),
    )
    .await;
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["bet"]["id"], dice["bet"]["id"]);
    assert_eq!(replay["balance"], dice["balance"], "a retry moves nothing");
    let (status, conflict) = call(
        &app,
        &player,
        "/api/v1/dice/roll",
        Some("d1"),
        json!({"amount": STAKE * 2, "target": 50, "direction": "over"}),
    )
    .await;
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_conflict"))
    );

    let plinko = ok(
        &app,
        &player,
        "/api/v1/plinko/drop",
        Some("p1"),
        json!({"amount": STAKE, "rows": 8, "risk": "low"}),
    )
    .await;
    let path = plinko["bet"]["result"]["path"].as_array().unwrap().clone();
    assert_eq!(path.len(), 8);
    let rights = path.iter().filter(|step| **step == 1).count();
    assert_eq!(plinko["bet"]["result"]["slot"], rights);
    answers.push(plinko.to_string());

    let mines = ok(
        &app,
        &player,
        "/api/v1/mines/bet",
        Some("m1"),
        json!({"amount": STAKE, "mines": 3}),
    )
    .await;
    assert_eq!(mines["bet"]["status"], "open");
    assert!(
        mines["bet"]["result"].get("mines").is_none(),
        "mines stay hidden: {mines}"
    );
    let game_id = mines["bet"]["id"].as_str().unwrap().to_owned();
    let safe = safe_tiles(&mines_of(&app, &player, &mines["bet"]).await);
    for tile in &safe[..2] {
        let click = ok(
            &app,
            &player,
            "/api/v1/mines/click",
            None,
            json!({"game_id": game_id, "tile": tile}),
        )
        .await;
        assert_eq!(click["bet"]["status"], "open");
        answers.push(click.to_string());
    }
    let cashout = ok(
        &app,
        &player,
        "/api/v1/mines/cashout",
        None,
        json!({"game_id": game_id}),
    )
    .await;
    assert_eq!(cashout["bet"]["status"], "settled");
    // 2 safe reveals with 3 mines: 0.99 * C(25,2) / C(22,2) = 0.99 * 300 / 231.
    assert_eq!(cashout["bet"]["payout"], 1_285_714);
    assert_eq!(
        cashout["bet"]["result"]["mines"].as_array().unwrap().len(),
        3,
        "the board is revealed"
    );
    answers.push(cashout.to_string());

    let (status, body) = call(&app, &player, "/api/v1/fair/verify", None, json!({"bet_id": game_id})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("seed_not_revealed"))
    );
    for answer in &answers {
        assert!(
            !answer.contains(&secret),
            "an unrevealed server seed left the server: {answer}"
        );
    }

    let rotation = ok(
        &app,
        &player,
        "/api/v1/fair/seeds/rotate",
        None,
        json!({"client_seed": "my own seed"}),
    )
    .await;
    assert_eq!(rotation["revealed"]["server_seed"], secret.as_str());
    assert_eq!(rotation["revealed"]["server_seed_hash"], committed_hash.as_str());
    assert_eq!(rotation["revealed"]["nonces_used"], 3);
    assert_eq!(rotation["active"]["client_seed"], "my own seed");
    assert_eq!(rotation["active"]["next_nonce"], 0);
    assert_ne!(rotation["active"]["server_seed_hash"], committed_hash.as_str());

    for game in ["dice", "plinko", "mines"] {
        let history = app
            .get(&format!("/api/v1/history?game={game}"), Some(&player.token))
            .await;
        assert_eq!(history.status(), StatusCode::OK);
        let history: Value = history.json().await.unwrap();
        let bets = history["bets"].as_array().unwrap();
        assert_eq!(bets.len(), 1, "{game}: {history}");
        assert_eq!(bets[0]["fairness"]["server_seed"], secret.as_str());
        let verdict = ok(
            &app,
            &player,
            "/api/v1/fair/verify",
            None,
            json!({"bet_id": bets[0]["id"]}),
        )
        .await;
        assert_eq!(verdict["verified"], true, "{game}: {verdict}");
        let recomputed = ok(
            &app,
            &player,
            "/api/v1/fair/verify",
            None,
            json!({"game": game, "server_seed": secret, "client_seed": bets[0]["fairness"]["client_seed"], "nonce": bets[0]["fairness"]["nonce"], "options": original_options(game)}),
        )
        .await;
        assert_eq!(recomputed["outcome"], verdict["outcome"], "{game}");
    }
    let balance = FUNDS - 3 * STAKE + dice_payout + plinko["bet"]["payout"].as_i64().unwrap() + 1_285_714;
    assert_eq!(app.balance(&player).await, balance);
    assert!(app.audit_ok().await);
}

/// The options of each game's bet in the test above, as a request writes them.
fn original_options(game: &str) -> Value {
    match game {
        "dice" => json!({"target": 50, "direction": "over"}),
        "plinko" => json!({"rows": 8, "risk": "low"}),
        _ => json!({"mines": 3}),
    }
}

#[actix_web::test]
async fn mines_refuses_bad_and_late_moves_and_reveals_the_board_at_the_end() {
    let app = spawn_app().await;
    let player = funded_player(&app, "sapper").await;
    let bet = ok(
        &app,
        &player,
        "/api/v1/mines/bet",
        Some("g1"),
        json!({"amount": STAKE, "mines": 5}),
    )
    .await;
    let game_id = bet["bet"]["id"].as_str().unwrap().to_owned();
    let mines = mines_of(&app, &player, &bet["bet"]).await;
    let safe = safe_tiles(&mines);
    let balance = app.balance(&player).await;
    assert_eq!(balance, FUNDS - STAKE);

    let click = |tile: Value| json!({"game_id": game_id, "tile": tile});
    let (status, body) = call(
        &app,
        &player,
        "/api/v1/mines/cashout",
        None,
        json!({"game_id": game_id}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("nothing_revealed"))
    );
    for (tile, status, code) in [
        (json!(25), StatusCode::BAD_REQUEST, "invalid_tile"),
        (json!(-1), StatusCode::BAD_REQUEST, "invalid_tile"),
        (json!(2.5), StatusCode::BAD_REQUEST, "invalid_tile"),
        (json!("3"), StatusCode::BAD_REQUEST, "invalid_request"),
    ] {
        let (actual, body) = call(&app, &player, "/api/v1/mines/click", None, click(tile.clone())).await;
        assert_eq!(
            (actual, body["error"]["code"].as_str()),
            (status, Some(code)),
            "tile {tile}"
        );
    }
    ok(&app, &player, "/api/v1/mines/click", None, click(json!(safe[0]))).await;
    let (status, body) = call(&app, &player, "/api/v1/mines/click", None, click(json!(safe[0]))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("tile_already_revealed"))
    );
    let (status, body) = call(
        &app,
        &player,
        "/api/v1/mines/bet",
        Some("g2"),
        json!({"amount": STAKE, "mines": 5}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("game_in_progress"))
    );
    // An empty body rotates to a random client seed; here it is refused because a game is open.
    let rotate = app
        .client
        .post(app.url("/api/v1/fair/seeds/rotate"))
        .bearer_auth(&player.token)
        .send()
        .await
        .unwrap();
    assert_error(rotate, StatusCode::CONFLICT, "game_in_progress").await;
    let (status, body) = call(
        &app,
        &player,
        "/api/v1/mines/click",
        None,
        json!({"game_id": Uuid::now_v7(), "tile": 1}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("game_not_found"))
    );
    let (status, body) = call(
        &app,
        &player,
        "/api/v1/mines/click",
        None,
        json!({"game_id": "nope", "tile": 1}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_game_id"))
    );
    let active = app.get("/api/v1/mines/active", Some(&player.token)).await;
    let active: Value = active.json().await.unwrap();
    assert_eq!(active["bet"]["id"], game_id.as_str());
    assert_eq!(active["bet"]["result"]["revealed"], json!([safe[0]]));
    assert_eq!(app.balance(&player).await, balance, "refused moves moved nothing");

    let boom = ok(&app, &player, "/api/v1/mines/click", None, click(json!(mines[0]))).await;
    assert_eq!(boom["bet"]["status"], "settled");
    assert_eq!(boom["bet"]["payout"], 0);
    assert_eq!(boom["bet"]["result"]["mine_hit"], mines[0]);
    assert_eq!(
        boom["bet"]["result"]["mines"],
        json!(mines),
        "the full board is revealed"
    );
    for late in [click(json!(safe[1])), json!({"game_id": game_id})] {
        let path = if late.get("tile").is_some() {
            "/api/v1/mines/click"
        } else {
            "/api/v1/mines/cashout"
        };
        let (status, body) = call(&app, &player, path, None, late).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("game_finished"))
        );
    }
    assert_eq!(app.balance(&player).await, FUNDS - STAKE);

    // With 24 mines the one safe tile ends the game and cashes out on its own: 0.99 * 25.
    let last = ok(
        &app,
        &player,
        "/api/v1/mines/bet",
        Some("g3"),
        json!({"amount": STAKE, "mines": 24}),
    )
    .await;
    let mines = mines_of(&app, &player, &last["bet"]).await;
    let game_id = last["bet"]["id"].as_str().unwrap();
    let won = ok(
        &app,
        &player,
        "/api/v1/mines/click",
        None,
        json!({"game_id": game_id, "tile": safe_tiles(&mines)[0]}),
    )
    .await;
    assert_eq!(won["bet"]["status"], "settled");
    assert_eq!(won["bet"]["payout"], 24_750_000);
    assert_eq!(won["balance"], FUNDS - 2 * STAKE + 24_750_000);
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn racing_click_and_cashout_on_two_nodes_have_exactly_one_winner() {
    let app = spawn_app().await;
    let other_node = spawn_app_with(app.settings.clone()).await;
    let player = funded_player(&app, "racer").await;
    let mut expected_balance = FUNDS;
    for round in 0..6 {
        let bet = ok(
            &app,
            &player,
            "/api/v1/mines/bet",
            Some(&format!("race-{round}")),
            json!({"amount": STAKE, "mines": 3}),
        )
        .await;
        let game_id = bet["bet"]["id"].as_str().unwrap().to_owned();
        let mines = mines_of(&app, &player, &bet["bet"]).await;
        let safe = safe_tiles(&mines);
        ok(
            &app,
            &player,
            "/api/v1/mines/click",
            None,
            json!({"game_id": game_id, "tile": safe[0]}),
        )
        .await;
        // A click on a mine and a cashout, sent at once to different nodes: whichever is judged first
        // ends the game, and the other is refused.
        let click = json!({"game_id": game_id, "tile": mines[0]});
        let cashout = json!({"game_id": game_id});
        let (clicked, cashed) = futures_util::join!(
            call(&app, &player, "/api/v1/mines/click", None, click),
            call(&other_node, &player, "/api/v1/mines/cashout", None, cashout),
        );
        let winners = [&clicked, &cashed]
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .count();
        assert_eq!(winners, 1, "round {round}: {clicked:?} {cashed:?}");
        let loser = if clicked.0 == StatusCode::OK { &cashed } else { &clicked };
        assert_eq!(
            (loser.0, loser.1["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("game_finished"))
        );
        // 1 safe reveal with 3 mines: 0.99 * 25 / 22.
        let paid = if cashed.0 == StatusCode::OK { 1_125_000 } else { 0 };
        expected_balance += paid - STAKE;
        assert_eq!(app.balance(&player).await, expected_balance, "round {round}");
    }
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn out_of_range_and_malformed_bets_are_refused_without_moving_money() {
    let app = spawn_app().await;
    let player = funded_player(&app, "fumbler").await;
    let transfers_before = ledger_transfer_count(&app, &player).await;
    // Every case is a 400 with its code; none may move money or leave a record.
    let cases = [
        (
            DICE,
            json!({"amount": STAKE, "target": 1.5, "direction": "over"}),
            "invalid_target",
        ),
        (
            DICE,
            json!({"amount": STAKE, "target": 98.5, "direction": "under"}),
            "invalid_target",
        ),
        (
            DICE,
            json!({"amount": STAKE, "target": 100.01, "direction": "under"}),
            "invalid_target",
        ),
        (
            DICE,
            json!({"amount": STAKE, "target": 50, "direction": "sideways"}),
            "invalid_direction",
        ),
        (DICE, json!({"amount": STAKE, "target": 50}), "invalid_request"),
        (
            DICE,
            json!({"amount": 0, "target": 50, "direction": "over"}),
            "invalid_amount",
        ),
        (
            DICE,
            json!({"amount": -5, "target": 50, "direction": "over"}),
            "invalid_amount",
        ),
        (
            DICE,
            json!({"amount": 1.5, "target": 50, "direction": "over"}),
            "invalid_amount",
        ),
        (
            DICE,
            json!({"amount": "100", "target": 50, "direction": "over"}),
            "invalid_amount",
        ),
        (
            DICE,
            json!({"amount": 99_999, "target": 50, "direction": "over"}),
            "invalid_amount",
        ),
        (
            DICE,
            json!({"amount": 1_000_000_001, "target": 50, "direction": "over"}),
            "invalid_amount",
        ),
        (
            DICE,
            json!({"amount": 1_000_000_000, "target": 99.99, "direction": "over"}),
            "payout_limit_exceeded",
        ),
        (
            PLINKO,
            json!({"amount": STAKE, "rows": 7, "risk": "low"}),
            "invalid_rows",
        ),
        (
            PLINKO,
            json!({"amount": STAKE, "rows": 17, "risk": "low"}),
            "invalid_rows",
        ),
        (
            PLINKO,
            json!({"amount": STAKE, "rows": 12, "risk": "extreme"}),
            "invalid_risk",
        ),
        (
            PLINKO,
            json!({"amount": STAKE, "rows": 12, "risk": "low", "extra": true}),
            "invalid_request",
        ),
        (MINES, json!({"amount": STAKE, "mines": 0}), "invalid_mines"),
        (MINES, json!({"amount": STAKE, "mines": 25}), "invalid_mines"),
    ];
    for (index, (path, body, code)) in cases.into_iter().enumerate() {
        let response = app
            .post_json(path, Some(&player.token), Some(&format!("bad-{index}")), &body)
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    let unkeyed = app
        .post_json(
            "/api/v1/dice/roll",
            Some(&player.token),
            None,
            &json!({"amount": STAKE, "target": 50, "direction": "over"}),
        )
        .await;
    assert_error(unkeyed, StatusCode::BAD_REQUEST, "missing_idempotency_key").await;
    let anonymous = app
        .post_json(
            "/api/v1/dice/roll",
            None,
            Some("anon"),
            &json!({"amount": STAKE, "target": 50, "direction": "over"}),
        )
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let history = app.get("/api/v1/history?game=roulette", Some(&player.token)).await;
    assert_error(history, StatusCode::BAD_REQUEST, "invalid_game").await;

    assert_eq!(app.balance(&player).await, FUNDS);
    assert_eq!(ledger_transfer_count(&app, &player).await, transfers_before);
    let bets: i64 = sqlx::query_scalar("SELECT count(*) FROM instant_bets")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(bets, 0, "a refused bet leaves no record");
}

#[actix_web::test]
async fn a_bet_the_wallet_refuses_stays_refused_and_moves_nothing() {
    let app = spawn_app().await;
    let broke = app.signup("broke").await;
    let body = json!({"amount": STAKE, "rows": 10, "risk": "medium"});
    for _ in 0..2 {
        let response = app
            .post_json("/api/v1/plinko/drop", Some(&broke.token), Some("hopeful"), &body)
            .await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
    }
    let status: String = sqlx::query_scalar("SELECT status FROM instant_bets WHERE player_id = $1")
        .bind(broke.id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "void");
    assert_eq!(app.balance(&broke).await, 0);
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn the_recovery_sweep_finishes_a_bet_left_pending_exactly_once() {
    use game_cluster::games::instant::{recovery, seeds, store};
    use game_cluster::games::registry::Registry;
    let app = spawn_app().await;
    let player = funded_player(&app, "interrupted").await;
    // A node that recorded a Dice bet and died before taking its stake leaves exactly this behind.
    let registry = Registry::from_settings(&app.settings);
    let dice = registry.per_player("dice").unwrap();
    let options = dice.game.options(json!({"target": 5, "direction": "over"})).unwrap();
    let mut transaction = app.pool.begin().await.unwrap();
    let seed = seeds::lock_active(&mut transaction, player.id).await.unwrap();
    let state = dice.game.start(&options, seed.input()).unwrap();
    let terms = game_cluster::games::contract::BetTerms {
        amount: STAKE,
        payout_max: i64::MAX,
    };
    let payout = dice.game.payout(terms, &options, &state).unwrap();
    let id = Uuid::now_v7();
    let bet = store::NewBet {
        id,
        player_id: player.id,
        account_id: player.account,
        game: "dice",
        stepwise: false,
        client_bet_id: "lost-answer",
        seed_id: seed.id,
        nonce: seed.next_nonce,
        amount: STAKE,
        payout_max: dice.limits.payout_max_micros,
        options: &options,
        state: &state,
        payout: Some(payout),
        created_at: chrono::Utc::now(),
    };
    store::insert(&mut transaction, &bet).await.unwrap();
    seeds::take_nonce(&mut transaction, &seed).await.unwrap();
    transaction.commit().await.unwrap();

    let settings = recovery::RecoverySettings {
        interval: std::time::Duration::from_secs(1),
        age: std::time::Duration::ZERO,
        batch_max: 10,
    };
    for _ in 0..2 {
        recovery::recover_once(&app.pool, &app.wallet, settings).await.unwrap();
    }
    let status: String = sqlx::query_scalar("SELECT status FROM instant_bets WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "settled");
    assert_eq!(
        app.balance(&player).await,
        FUNDS - STAKE + payout,
        "stake and payout, once each"
    );
    // The player's retry with the same key returns the recovered bet.
    let retry = ok(
        &app,
        &player,
        "/api/v1/dice/roll",
        Some("lost-answer"),
        json!({"amount": STAKE, "target": 5, "direction": "over"}),
    )
    .await;
    assert_eq!(retry["bet"]["id"], id.to_string());
    assert_eq!(retry["replayed"], true);
    assert_eq!(app.balance(&player).await, FUNDS - STAKE + payout);
    assert!(app.audit_ok().await);
}

#[actix_web::test]
async fn the_games_list_shows_every_game_with_its_limits() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/games/registry", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let names: Vec<&str> = body["games"]
        .as_array()
        .unwrap()
        .iter()
        .map(|game| game["game"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dice", "mines", "plinko", "crash"]);
    assert_eq!(body["games"][1]["mode"], "stepwise");
    assert_eq!(body["games"][3]["mode"], "real_time");

    // The crash game verifies through the same endpoint (the reference vector: 2.08x).
    let crash = json!({
        "game": "crash",
        "salt": "0000000000000000000301e2801a9a9598bfb114e574a91a887f2132f33047e6",
        "hash": "4f2db4ab02306aec0ed87dfffae25d5f4fcad1b9b425ba3d075f58d3dccec29a",
    });
    let response = app.post_json("/api/v1/fair/verify", None, None, &crash).await;
    assert_eq!(response.status(), StatusCode::OK);
    let verdict: Value = response.json().await.unwrap();
    assert_eq!(verdict["crash_point"], 2.08);
    // Anyone may compute a result from inputs; the reference vector of Dice: 74.67.
    let dice = json!({"game": "dice", "server_seed": "server seed", "client_seed": "client seed", "nonce": 1, "options": {"target": 50, "direction": "over"}});
    let response = app.post_json("/api/v1/fair/verify", None, None, &dice).await;
    assert_eq!(response.status(), StatusCode::OK);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["outcome"]["roll"], 74.67);
}
