//! RTP tracking against the real services: the rollups our own games write as their bets settle equal a
//! recomputation from the bet tables per game and hour, the admin route and the dashboard's stats answer
//! them for every catalog game, and a game measured far outside its band is flagged, in the answer and in
//! the gauges an alert reads.

use crate::helpers::{create_database, spawn_app, spawn_app_with, test_settings, TestApp, TestPlayer};
use crate::ws::{install_chain, WsClient};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const UNIT: i64 = 1_000_000;
const FUNDS: i64 = 1_000 * UNIT;
const SLOT: &str = "fortune-lines";
/// The smallest slot bet level: 0.10.
const SLOT_BET: i64 = 100_000;

/// Creates the catalog rows of our own games the tests play, as the start-up sync does (a no-op for the
/// rows it already created).
pub async fn insert_house_games(app: &TestApp) {
    let games = [
        ("aviator", "crash", 9_900),
        ("jetx", "crash", 9_900),
        ("dice", "originals", 9_900),
        ("plinko", "originals", 9_900),
        ("mines", "originals", 9_900),
        ("fortune-lines", "slots", 9_552),
        ("gem-cascade", "slots", 9_766),
    ];
    for (code, category, rtp_bps) in games {
        sqlx::query(
            "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros)
             VALUES ('house', $1, $1, $2, $3, CASE WHEN $2 = 'slots' THEN 'high' END, 100000, 1000000000)
             ON CONFLICT (provider_id, code) DO NOTHING",
        )
        .bind(code)
        .bind(category)
        .bind(rtp_bps)
        .execute(&app.pool)
        .await
        .expect("a house game row");
    }
}

/// One rollup sum: (game id, hour) → (staked, won, rounds).
type Sums = BTreeMap<(i64, DateTime<Utc>), (i64, i64, i64)>;

async fn rollups(app: &TestApp) -> Sums {
    let rows: Vec<(i64, DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT game_id, hour, sum(staked_micros)::int8, sum(won_micros)::int8, sum(rounds)::int8
         FROM rtp_tracking GROUP BY 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(game, hour, s, w, r)| ((game, hour), (s, w, r)))
        .collect()
}

/// What the rollups must hold, computed from the bets themselves: every settled bet of a house game in
/// the catalog, in the hour it settled (crash bets once their round is settled).
async fn recomputed(app: &TestApp) -> Sums {
    let rows: Vec<(i64, DateTime<Utc>, i64, i64, i64)> = sqlx::query_as(
        "SELECT g.id, date_trunc('hour', b.settled_at, 'UTC'), sum(b.staked)::int8, sum(b.won)::int8, count(*)
         FROM (
             SELECT r.room AS code, c.settled_at, c.amount AS staked, COALESCE(c.payout, 0) AS won
               FROM crash_bets c JOIN crash_rounds r ON r.id = c.round_id
              WHERE r.settled AND c.status IN ('cashed_out', 'lost')
             UNION ALL
             SELECT game, settled_at, amount, COALESCE(payout, 0) FROM instant_bets WHERE status = 'settled'
             UNION ALL
             SELECT game_id, settled_at, stake_micros, payout_micros FROM slot_rounds WHERE status = 'settled'
         ) AS b JOIN games g ON g.provider_id = 'house' AND g.code = b.code
         GROUP BY 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(game, hour, s, w, r)| ((game, hour), (s, w, r)))
        .collect()
}

async fn game_id(app: &TestApp, provider: &str, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM games WHERE provider_id = $1 AND code = $2")
        .bind(provider)
        .bind(code)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn post_ok(app: &TestApp, player: &TestPlayer, path: &str, key: Option<&str>, body: Value) -> Value {
    let response = app.post_json(path, Some(&player.token), key, &body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn admin_get(app: &TestApp, path: &str) -> Value {
    let token = app.admin_token().await;
    let response = app.get(path, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The entry of one game in a list of games.
fn entry<'a>(games: &'a Value, provider: &str, code: &str) -> &'a Value {
    games
        .as_array()
        .unwrap()
        .iter()
        .find(|game| game["provider"] == provider && game["code"] == code)
        .unwrap_or_else(|| panic!("{provider}:{code} is listed: {games:#}"))
}

/// Dice, Plinko and Mines bets (Mines both lost on a click and cashed out), all settled.
async fn play_instant_games(app: &TestApp, player: &TestPlayer) {
    for n in 0..3 {
        let roll = json!({"amount": UNIT, "target": 50, "direction": "over"});
        post_ok(app, player, "/api/v1/dice/roll", Some(&format!("dice-{n}")), roll).await;
    }
    for (n, risk) in ["low", "high"].into_iter().enumerate() {
        let drop = json!({"amount": 2 * UNIT, "rows": 8, "risk": risk});
        post_ok(app, player, "/api/v1/plinko/drop", Some(&format!("plinko-{n}")), drop).await;
    }
    for n in 0..2 {
        let key = format!("mines-{n}");
        let bet = post_ok(
            app,
            player,
            "/api/v1/mines/bet",
            Some(&key),
            json!({"amount": UNIT, "mines": 3}),
        )
        .await;
        let game = bet["bet"]["id"].as_str().unwrap().to_owned();
        let click = json!({"game_id": game, "tile": 12});
        let clicked = post_ok(app, player, "/api/v1/mines/click", None, click).await;
        if clicked["bet"]["status"] == "open" {
            let cashout = post_ok(app, player, "/api/v1/mines/cashout", None, json!({"game_id": game})).await;
            assert_eq!(cashout["bet"]["status"], "settled", "{cashout}");
        } else {
            assert_eq!(clicked["bet"]["status"], "settled", "a mine ends the game: {clicked}");
        }
    }
}

/// Slot spins, each played to its end (free spins revealed one by one).
async fn play_slot(app: &TestApp, player: &TestPlayer) {
    let init = json!({ "game_id": SLOT, "platform": "desktop", "locale": "en", "client_version": "1.0.0" });
    let session = post_ok(app, player, "/api/v1/game/init", None, init).await["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..4 {
        let spin = json!({ "session_id": session, "game_id": SLOT, "bet": { "amount": SLOT_BET } });
        let mut answer = post_ok(app, player, "/api/v1/spin", Some(&format!("spin-{n}")), spin).await;
        let round = answer["spin_id"].as_str().unwrap().to_owned();
        let mut steps = 0;
        while answer["next_state"] == "free_spins" {
            steps += 1;
            assert!(steps <= 1_000, "a round has at most 1,000 steps");
            let reveal = json!({ "session_id": session, "game_id": SLOT, "action": "spin", "bonus_round_id": round });
            let key = format!("reveal-{round}-{steps}");
            answer = post_ok(app, player, "/api/v1/bonus/trigger", Some(&key), reveal).await;
        }
    }
}

/// One crash round: a bet cashed out automatically at 1.2x and one aiming too high, lost. Answers once
/// the round is settled.
async fn play_crash_round(app: &TestApp, winner: &TestPlayer, loser: &TestPlayer) {
    let mut a = WsClient::connect_player(app, &winner.token).await;
    let mut b = WsClient::connect_player(app, &loser.token).await;
    a.wait_for("initial_state", |_| true).await;
    b.wait_for("initial_state", |_| true).await;
    install_chain(app, "aviator", 160..220).await;
    let round = a.wait_for("round_start", |_| true).await["round_id"].as_i64().unwrap();
    b.wait_for("round_start", |_| true).await;
    let bet = |amount: i64, auto: f64, id: &str| json!({ "type": "place_bet", "room": "aviator", "amount": amount, "auto_cashout": auto, "client_bet_id": id });
    a.send(bet(3 * UNIT, 1.2, "crash-win")).await;
    b.send(bet(2 * UNIT, 50.0, "crash-loss")).await;
    a.wait_for("bet_placed", |_| true).await;
    b.wait_for("bet_placed", |_| true).await;
    a.wait_for("cashed_out", |_| true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let settled: bool = sqlx::query_scalar("SELECT settled FROM crash_rounds WHERE id = $1")
            .bind(round)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if settled {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "round {round} settles");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every house game's rollups equal, per game and hour, what its settled bets add up to, and the admin
/// route and the dashboard's stats answer exactly those sums.
#[actix_web::test]
async fn rollups_equal_a_recomputation_from_the_bets() {
    let app = spawn_app().await;
    insert_house_games(&app).await;
    let player = app.signup_funded("rtp-player", FUNDS).await;
    let loser = app.signup_funded("rtp-loser", FUNDS).await;
    play_instant_games(&app, &player).await;
    play_slot(&app, &player).await;
    play_crash_round(&app, &player, &loser).await;

    let rollups = rollups(&app).await;
    assert_eq!(rollups, recomputed(&app).await, "rollups = the bets, per game and hour");
    let per_game = |code: &str, id: i64| {
        let (staked, won, rounds) = rollups
            .iter()
            .filter(|((game, _), _)| *game == id)
            .fold((0, 0, 0), |sum, (_, (s, w, r))| (sum.0 + s, sum.1 + w, sum.2 + r));
        assert!(rounds > 0, "{code} was counted");
        (staked, won, rounds)
    };
    let dice = game_id(&app, "house", "dice").await;
    assert_eq!(per_game("dice", dice).2, 3);
    assert_eq!(per_game("dice", dice).0, 3 * UNIT);
    let mines = game_id(&app, "house", "mines").await;
    assert_eq!(per_game("mines", mines).2, 2, "a lost and a cashed-out game both count");
    let plinko = game_id(&app, "house", "plinko").await;
    assert_eq!(per_game("plinko", plinko).0, 4 * UNIT);
    let slot = game_id(&app, "house", SLOT).await;
    assert_eq!(per_game(SLOT, slot).2, 4);
    let aviator = game_id(&app, "house", "aviator").await;
    assert_eq!(
        per_game("aviator", aviator),
        (5 * UNIT, 3_600_000, 2),
        "1.2x on 3 units, 2 units lost"
    );

    let report = admin_get(&app, "/api/v1/admin/rtp").await;
    let stats = admin_get(&app, "/api/v1/admin/stats").await;
    for (code, id) in [
        ("dice", dice),
        ("mines", mines),
        ("plinko", plinko),
        (SLOT, slot),
        ("aviator", aviator),
    ] {
        let (staked, won, rounds) = per_game(code, id);
        for answer in [&report["games"], &stats["games"]] {
            let game = entry(answer, "house", code);
            assert_eq!(game["game_id"], id);
            for window in ["hour", "day", "days_30"] {
                let figures = &game[window];
                assert_eq!(figures["staked_micros"], staked, "{code} {window}: {game:#}");
                assert_eq!(figures["won_micros"], won, "{code} {window}");
                assert_eq!(figures["rounds"], rounds, "{code} {window}");
                assert_eq!(figures["measured_rtp_bps"], won * 10_000 / staked, "{code} {window}");
                assert_eq!(figures["house_profit_micros"], staked - won);
                assert!(figures["band"]["low_bps"].as_i64().unwrap() <= game["declared_rtp_bps"].as_i64().unwrap());
                assert_eq!(figures["flagged"], false, "a few rounds never flag: {game:#}");
            }
        }
    }
    assert_eq!(entry(&report["games"], "house", "dice")["sigma"]["source"], "rules");
    let slot_sigma = &entry(&report["games"], "house", SLOT)["sigma"];
    assert!(
        slot_sigma["source"] == "volatility" || slot_sigma["source"] == "default",
        "slots use their volatility class: {slot_sigma}"
    );
    assert_eq!(entry(&stats["games"], "house", SLOT)["rounds_per_minute"], 4.0 / 5.0);
    let all_rounds: i64 = rollups.values().map(|(_, _, rounds)| rounds).sum();
    assert_eq!(stats["totals"]["day"]["rounds"], all_rounds);
    assert!(app.audit_ok().await);
}

/// A settled bet of a house game the catalog does not hold yet is paid as ever and simply not counted.
#[actix_web::test]
async fn bets_of_a_game_missing_from_the_catalog_settle_uncounted() {
    let app = spawn_app().await;
    sqlx::query("DELETE FROM games WHERE provider_id = 'house' AND code = 'dice'")
        .execute(&app.pool)
        .await
        .unwrap();
    let player = app.signup_funded("rtp-uncounted", FUNDS).await;
    let roll = json!({"amount": UNIT, "target": 50, "direction": "over"});
    let answer = post_ok(&app, &player, "/api/v1/dice/roll", Some("uncounted"), roll).await;
    assert_eq!(answer["bet"]["status"], "settled");
    assert!(rollups(&app).await.is_empty());
}

/// Inserts a provider's game and its rollups of `rounds` rounds staking 1 unit each and winning
/// `won_bps` of it, `hours_ago` hours before the current one.
async fn insert_played_game(
    app: &TestApp,
    code: &str,
    metadata: Value,
    rounds: i64,
    won_bps: i64,
    hours_ago: i32,
) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO games (provider_id, code, name, category, rtp_bps, volatility, bet_min_micros, bet_max_micros, metadata)
         VALUES ('studio', $1, $1, 'slots', 9600, 'medium', 100000, 100000000, $2)
         ON CONFLICT (provider_id, code) DO UPDATE SET metadata = EXCLUDED.metadata RETURNING id",
    )
    .bind(code)
    .bind(&metadata)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // Two shards, as two writers would leave them: readers add them up.
    for shard in 0..2 {
        sqlx::query(
            "INSERT INTO rtp_tracking (hour, game_id, shard, staked_micros, won_micros, rounds)
             VALUES (date_trunc('hour', now(), 'UTC') - make_interval(hours => $2), $1, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(hours_ago)
        .bind(shard)
        .bind(rounds / 2 * UNIT)
        .bind(rounds / 2 * UNIT * won_bps / 10_000)
        .bind(rounds / 2)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    id
}

/// A game with enough rounds and a measured RTP far outside its band is flagged, in the window it is
/// outside; too few rounds are never flagged, a published σ is used, old rows leave the short windows,
/// and the gauges say so (1) for an alert to fire.
#[actix_web::test]
async fn a_game_far_outside_its_band_is_flagged_in_the_answer_and_the_gauges() {
    let mut settings = test_settings();
    create_database(&mut settings).await;
    settings.rtp.refresh_interval_ms = 100;
    let app = spawn_app_with(settings).await;
    sqlx::query(
        "INSERT INTO providers (id, name, protocol, secret, currencies) VALUES ('studio', 'Studio', 'generic', $1, '{}')",
    )
    .bind("a-secret-of-sixteen-bytes-or-more")
    .execute(&app.pool)
    .await
    .unwrap();
    // Unique codes: the gauges live in one registry shared by every test of the process.
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let far_off = format!("far-off-{suffix}");
    let few = format!("few-{suffix}");
    let published = format!("published-{suffix}");
    let earlier = format!("earlier-{suffix}");
    // 300% over 10,000 rounds: medium σ (10x) allows 96% ± 3 · 10 / 100 = ±30 points.
    insert_played_game(&app, &far_off, json!({}), 10_000, 30_000, 0).await;
    // As far off, but 998 rounds (fewer than flag_rounds_min) say nothing.
    insert_played_game(&app, &few, json!({}), 998, 30_000, 0).await;
    // 90% over 10,000 rounds with a published σ of 1x: 96% ± 3 points, so 90% is out.
    insert_played_game(&app, &published, json!({"rtp_sigma_bps": 10_000}), 10_000, 9_000, 0).await;
    // Out of band three hours ago: the day and 30 days, not the hour.
    insert_played_game(&app, &earlier, json!({"rtp_sigma_bps": 10_000}), 10_000, 9_000, 3).await;

    let report = admin_get(&app, "/api/v1/admin/rtp").await;
    assert_eq!(report["band_sigma_hundredths"], 300);
    let games = &report["games"];
    let far = entry(games, "studio", &far_off);
    assert_eq!(far["hour"]["rounds"], 10_000);
    assert_eq!(far["hour"]["staked_micros"], 10_000 * UNIT);
    assert_eq!(far["hour"]["measured_rtp_bps"], 30_000);
    assert_eq!(far["sigma"], json!({"bps": 100_000, "source": "volatility"}));
    assert_eq!(far["hour"]["band"], json!({"low_bps": 6_600, "high_bps": 12_600}));
    assert_eq!(
        (far["hour"]["flagged"].clone(), far["flagged"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(entry(games, "studio", &few)["flagged"], false);
    let published_game = entry(games, "studio", &published);
    assert_eq!(published_game["sigma"]["source"], "metadata");
    assert_eq!(
        published_game["day"]["band"],
        json!({"low_bps": 9_300, "high_bps": 9_900})
    );
    assert_eq!(published_game["day"]["flagged"], true);
    let earlier_game = entry(games, "studio", &earlier);
    assert_eq!(earlier_game["hour"]["rounds"], 0);
    assert_eq!(earlier_game["hour"]["measured_rtp_bps"], Value::Null);
    assert_eq!(earlier_game["hour"]["flagged"], false);
    assert_eq!(earlier_game["day"]["flagged"], true);
    assert_eq!(earlier_game["days_30"]["rounds"], 10_000);

    let dashboard = admin_get(&app, "/api/v1/admin/stats").await;
    assert_eq!(entry(&dashboard["games"], "studio", &far_off)["flagged"], true);

    let gauge = |name: &str, code: &str, window: &str, value: &str, metrics: &str| {
        let game = format!("game=\"studio:{code}\"");
        let window = format!("window=\"{window}\"");
        metrics.lines().any(|line| {
            line.starts_with(&format!("{name}{{"))
                && line.contains(&game)
                && line.contains(&window)
                && line.ends_with(&format!(" {value}"))
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        let ready = gauge("rtp_out_of_band", &far_off, "hour", "1", &metrics)
            && gauge("rtp_out_of_band", &few, "hour", "0", &metrics)
            && gauge("rtp_measured_bps", &far_off, "day", "30000", &metrics)
            && gauge("rtp_out_of_band", &earlier, "hour", "0", &metrics)
            && gauge("rtp_out_of_band", &earlier, "days_30", "1", &metrics);
        if ready {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gauges show the flags:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
