//! The crash game over a real WebSocket against real Postgres and Redis.

use crate::helpers::{assert_error, spawn_app, TestApp, TestPlayer};
use crate::ws::{hundredths, install_chain, Ended, WsClient};
use futures_util::future::join_all;
use futures_util::SinkExt;
use game_cluster::fair::crash as fair;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const UNIT: i64 = 1_000_000;

async fn funded(app: &TestApp, name: &str, micros: i64) -> TestPlayer {
    app.signup_funded(name, micros).await
}

fn place_bet(amount: i64, auto: Option<f64>, client_bet_id: &str) -> Value {
    json!({ "type": "place_bet", "room": "aviator", "amount": amount, "auto_cashout": auto, "client_bet_id": client_bet_id })
}

/// Waits for the betting phase of round `round` (or any round when None) and returns its id.
async fn next_betting_round(client: &mut WsClient) -> i64 {
    let start = client.wait_for("round_start", |_| true).await;
    start["round_id"].as_i64().unwrap()
}

async fn open_bets(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM crash_bets b JOIN crash_rounds r ON r.id = b.round_id
         WHERE r.settled AND b.status IN ('pending', 'open')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// A full round: an auto-cashout pays exactly its target, a manual cashout pays the multiplier at its
/// arrival (below the crash), a bet aiming too high loses, and every balance matches the ledger.
#[actix_web::test]
async fn a_full_round_with_auto_and_manual_cashouts_and_a_loss() {
    let app = spawn_app().await;
    let (alice, bob, carol) = (
        funded(&app, "alice", 10 * UNIT).await,
        funded(&app, "bob", 10 * UNIT).await,
        funded(&app, "carol", 10 * UNIT).await,
    );
    let mut a = WsClient::connect_player(&app, &alice.token).await;
    let mut b = WsClient::connect_player(&app, &bob.token).await;
    let mut c = WsClient::connect_player(&app, &carol.token).await;
    let initial = a.wait_for("initial_state", |_| true).await;
    assert_eq!(initial["balance"], 10 * UNIT);
    let [crash, _] = install_chain(&app, "aviator", 160..220).await;
    let round = next_betting_round(&mut a).await;
    next_betting_round(&mut b).await;
    next_betting_round(&mut c).await;

    a.send(place_bet(UNIT, Some(1.2), "a-1")).await;
    b.send(place_bet(2 * UNIT, None, "b-1")).await;
    c.send(place_bet(UNIT, Some(50.0), "c-1")).await;
    let placed = a.wait_for("bet_placed", |_| true).await;
    assert_eq!(placed["bet"]["round_id"], round);
    assert_eq!(placed["balance"], 9 * UNIT);
    let bob_bet = b.wait_for("bet_placed", |_| true).await["bet"]["bet_id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.wait_for("bet_placed", |_| true).await;

    let auto = a.wait_for("cashed_out", |_| true).await;
    assert_eq!(auto["auto"], true);
    assert_eq!(
        hundredths(&auto["multiplier"]),
        120,
        "an auto-cashout pays exactly its target"
    );
    assert_eq!(auto["payout"], 1_200_000);

    b.wait_for("tick", |tick| hundredths(&tick["multiplier"]) >= 130).await;
    b.send(json!({ "type": "cashout", "bet_id": bob_bet, "request_id": "r1" }))
        .await;
    let manual = b.wait_for("cashed_out", |_| true).await;
    let multiplier = hundredths(&manual["multiplier"]);
    assert!(
        (130..crash).contains(&multiplier),
        "manual cashout at {multiplier}, crash {crash}"
    );
    assert_eq!(manual["payout"], fair::payout(2 * UNIT, multiplier));
    assert_eq!(manual["request_id"], "r1");

    let crashed = c.wait_for("crash", |_| true).await;
    assert_eq!(hundredths(&crashed["crash_point"]), crash);
    let hash = crashed["hash"].as_str().unwrap().to_owned();

    assert_eq!(app.balance(&alice).await, 9 * UNIT + 1_200_000);
    assert_eq!(app.balance(&bob).await, 8 * UNIT + fair::payout(2 * UNIT, multiplier));
    assert_eq!(app.balance(&carol).await, 9 * UNIT);
    a.wait_for("round_start", |start| start["previous_round"]["hash"] == hash.as_str())
        .await;

    let rounds: Value = app
        .get("/api/v1/game/rounds?room=aviator", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rounds["rounds"][0]["round_id"], round);
    assert_eq!(rounds["rounds"][0]["hash"], hash.as_str());
    let verdict: Value = app
        .post_json("/api/v1/game/verify", None, None, &json!({ "round_id": round }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["crash_point_matches"], true);
    assert_eq!(
        verdict["previous_hash_matches"], true,
        "hashing forward reaches the terminating hash"
    );
    assert!(app.audit_ok().await);
    assert_eq!(open_bets(&app).await, 0);
}

/// Many clients aim their cashouts at the crash point: every acknowledged cashout is below it and was
/// paid; every other request is refused as `round_crashed`; the ledger agrees with every answer.
#[actix_web::test]
async fn cashouts_racing_the_crash_never_pay_past_it() {
    let app = spawn_app().await;
    let mut connected = Vec::new();
    for index in 0..16 {
        let player = funded(&app, &format!("racer{index}"), 10 * UNIT).await;
        let client = WsClient::connect_player(&app, &player.token).await;
        connected.push((player, client));
    }
    let [crash, _] = install_chain(&app, "aviator", 130..160).await;
    let crash_ms = fair::elapsed_for(crash);
    let bets = connected.iter_mut().map(|(_, client)| async move {
        next_betting_round(client).await;
        client.send(place_bet(UNIT, None, "race")).await;
        client.wait_for("bet_placed", |_| true).await["bet"]["bet_id"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    let bet_ids = join_all(bets).await;
    let mut players: Vec<_> = connected
        .into_iter()
        .zip(bet_ids)
        .map(|((player, client), bet)| (player, client, bet))
        .collect();
    let races = players
        .iter_mut()
        .enumerate()
        .map(|(index, (_, client, bet_id))| async move {
            client.wait_for("round_running", |_| true).await;
            // Spread the attempts from 80 ms before to 40 ms after the crash.
            let offset = crash_ms as i64 - 80 + index as i64 * 8;
            tokio::time::sleep(Duration::from_millis(offset.max(0) as u64)).await;
            client.send(json!({ "type": "cashout", "bet_id": bet_id })).await;
            loop {
                let message = client.next_json().await;
                if message["type"] == "cashed_out" || message["type"] == "error" {
                    return message;
                }
            }
        });
    let answers = join_all(races).await;
    let mut paid = 0;
    for ((player, _, _), answer) in players.iter().zip(&answers) {
        if answer["type"] == "cashed_out" {
            let multiplier = hundredths(&answer["multiplier"]);
            assert!(multiplier < crash, "paid {multiplier} at or past the crash {crash}");
            assert_eq!(app.balance(player).await, 9 * UNIT + fair::payout(UNIT, multiplier));
            paid += 1;
        } else {
            assert_eq!(answer["code"], "round_crashed", "{answer}");
            assert_eq!(app.balance(player).await, 9 * UNIT);
        }
    }
    assert!(
        paid > 0 && paid < answers.len(),
        "the attempts straddle the crash ({paid} paid)"
    );
    assert!(app.audit_ok().await);
}

/// Someone else's bet id cannot be cashed out, over the socket or REST; the bet stays its owner's.
#[actix_web::test]
async fn another_players_bet_cannot_be_cashed_out() {
    let app = spawn_app().await;
    let (owner, thief) = (
        funded(&app, "owner", 10 * UNIT).await,
        funded(&app, "thief", 10 * UNIT).await,
    );
    let mut owner_socket = WsClient::connect_player(&app, &owner.token).await;
    let mut thief_socket = WsClient::connect_player(&app, &thief.token).await;
    install_chain(&app, "aviator", 150..400).await;
    next_betting_round(&mut owner_socket).await;
    owner_socket.send(place_bet(UNIT, None, "mine")).await;
    let bet_id = owner_socket.wait_for("bet_placed", |_| true).await["bet"]["bet_id"]
        .as_str()
        .unwrap()
        .to_owned();
    thief_socket.wait_for("round_running", |_| true).await;
    thief_socket.send(json!({ "type": "cashout", "bet_id": bet_id })).await;
    let refused = thief_socket.wait_for("error", |_| true).await;
    assert_eq!(refused["code"], "bet_not_found");
    let body = json!({ "room": "aviator", "bet_id": bet_id });
    let response = app
        .post_json("/api/v1/game/cashout", Some(&thief.token), None, &body)
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "bet_not_found").await;
    owner_socket.send(json!({ "type": "cashout", "bet_id": bet_id })).await;
    let cashed = owner_socket.wait_for("cashed_out", |_| true).await;
    assert!(cashed["payout"].as_i64().unwrap() >= UNIT);
    assert_eq!(app.balance(&thief).await, 10 * UNIT);
}

/// The same `client_bet_id` debits once, whether repeated over the socket or REST.
#[actix_web::test]
async fn a_duplicated_client_bet_id_debits_once() {
    let app = spawn_app().await;
    let player = funded(&app, "dup", 10 * UNIT).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    install_chain(&app, "aviator", 150..400).await;
    next_betting_round(&mut socket).await;
    socket.send(place_bet(UNIT, None, "same")).await;
    socket.send(place_bet(UNIT, None, "same")).await;
    let first = socket.next_json_of(&["bet_placed", "error"]).await;
    let second = socket.next_json_of(&["bet_placed", "error"]).await;
    let kinds: Vec<_> = [&first, &second]
        .iter()
        .map(|m| (m["type"].clone(), m["replayed"].clone(), m["code"].clone()))
        .collect();
    let fresh = kinds
        .iter()
        .filter(|(kind, replayed, _)| kind == "bet_placed" && replayed == false)
        .count();
    assert_eq!(fresh, 1, "exactly one placement debits: {kinds:?}");
    let body = json!({ "room": "aviator", "amount": UNIT, "client_bet_id": "same" });
    let response = app
        .post_json("/api/v1/game/bet", Some(&player.token), None, &body)
        .await;
    let replay: Value = response.json().await.unwrap();
    assert_eq!(replay["replayed"], true, "{replay}");
    assert_eq!(app.balance(&player).await, 9 * UNIT);

    // A reconnecting client gets its open bet back in `initial_state`.
    drop(socket);
    let mut again = WsClient::connect_player(&app, &player.token).await;
    let initial = again.wait_for("initial_state", |_| true).await;
    let bets = initial["my_bets"].as_array().unwrap();
    assert_eq!(bets.len(), 1, "{initial}");
    assert_eq!(bets[0]["client_bet_id"], "same");
    assert_eq!(initial["balance"], 9 * UNIT);
}

/// A bet sent while the round runs is refused at once and never carried into the next round.
#[actix_web::test]
async fn a_bet_while_running_is_rejected_not_queued() {
    let app = spawn_app().await;
    let player = funded(&app, "late", 10 * UNIT).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    install_chain(&app, "aviator", 130..200).await;
    socket.wait_for("round_running", |_| true).await;
    socket.send(place_bet(UNIT, None, "late-bet")).await;
    let refused = socket.wait_for("error", |_| true).await;
    assert_eq!(refused["code"], "betting_closed");
    socket.wait_for("round_start", |_| true).await;
    let state: Value = app
        .get("/api/v1/game/state?room=aviator", Some(&player.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["my_bets"], json!([]), "nothing was carried over");
    assert_eq!(app.balance(&player).await, 10 * UNIT);
}

/// Bad input on every message type gets a typed error and the socket stays usable; oversized and binary
/// frames close it with a policy violation; a bad token is refused before the upgrade.
#[actix_web::test]
async fn bad_messages_get_typed_errors() {
    let app = spawn_app().await;
    let player = funded(&app, "fuzzy", 10 * UNIT).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    let cases = [
        (json!("not an object"), "invalid_message"),
        (json!({ "type": "dance" }), "invalid_message"),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": -1, "client_bet_id": "x" }),
            "invalid_amount",
        ),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": 1.5, "client_bet_id": "x" }),
            "invalid_amount",
        ),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": "10", "client_bet_id": "x" }),
            "invalid_message",
        ),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": UNIT }),
            "invalid_message",
        ),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": UNIT, "client_bet_id": "" }),
            "invalid_client_bet_id",
        ),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": UNIT, "auto_cashout": 0.5, "client_bet_id": "x" }),
            "invalid_auto_cashout",
        ),
        (
            json!({ "type": "place_bet", "room": "nowhere", "amount": UNIT, "client_bet_id": "x" }),
            "unknown_room",
        ),
        (
            json!({ "type": "place_bet", "room": "aviator", "amount": UNIT, "client_bet_id": "x", "extra": 1 }),
            "invalid_message",
        ),
        (json!({ "type": "cashout", "bet_id": "not-a-uuid" }), "bet_not_found"),
        (
            json!({ "type": "cashout", "bet_id": uuid::Uuid::new_v4().to_string() }),
            "round_not_running",
        ),
        (json!({ "type": "cashout" }), "invalid_message"),
        (json!({ "type": "auth", "token": "x" }), "already_authenticated"),
    ];
    for (message, code) in cases {
        socket.send(message.clone()).await;
        let answer = socket.next_json_of(&["error"]).await;
        let expected = if code == "round_not_running" {
            // Which refusal depends on the room's phase; before its leader is ready (no chain is installed
            // here, and a busy machine delays leadership) it is room_unavailable.
            [
                "round_not_running",
                "bet_not_found",
                "round_crashed",
                "room_unavailable",
            ]
            .contains(&answer["code"].as_str().unwrap())
        } else {
            answer["code"] == code
        };
        assert!(expected, "{message} answered {answer}, expected {code}");
    }
    socket.send_raw(Message::Text("{not json".into())).await;
    assert_eq!(socket.next_json_of(&["error"]).await["code"], "invalid_json");
    socket.send(json!({ "type": "ping", "request_id": "p" })).await;
    assert_eq!(socket.next_json_of(&["pong"]).await["request_id"], "p");
    socket.send_raw(Message::Text("x".repeat(10_000))).await;
    assert_eq!(
        socket.wait_for_close(Duration::from_secs(5)).await,
        Ended::Closed(Some(1008))
    );

    let mut binary = WsClient::connect_player(&app, &player.token).await;
    binary.send_raw(Message::Binary(vec![1, 2, 3])).await;
    assert_eq!(
        binary.wait_for_close(Duration::from_secs(5)).await,
        Ended::Closed(Some(1008))
    );

    let url = format!("{}/ws?token=garbage", app.address.replace("http://", "ws://"));
    assert!(
        tokio_tungstenite::connect_async(url).await.is_err(),
        "a bad token is refused at the upgrade"
    );
    assert_eq!(app.balance(&player).await, 10 * UNIT);
}

/// A socket opened without a token authenticates with its first message; before that it may not bet.
#[actix_web::test]
async fn first_message_authentication() {
    let app = spawn_app().await;
    let player = funded(&app, "later", 10 * UNIT).await;
    let mut socket = WsClient::connect(&app, "room=aviator").await;
    socket.send(place_bet(UNIT, None, "x")).await;
    assert_eq!(socket.next_json_of(&["error"]).await["code"], "unauthorized");
    socket.send(json!({ "type": "auth", "token": player.token })).await;
    let initial = socket.wait_for("initial_state", |_| true).await;
    assert_eq!(initial["balance"], 10 * UNIT);
}

/// A client that stops reading (its TCP window closes) is disconnected as a slow consumer, with close
/// code 4008 once it reads again, while another client keeps receiving every tick in sequence.
#[actix_web::test]
async fn a_client_that_stops_reading_is_disconnected_and_others_keep_every_tick() {
    let app = spawn_app().await;
    let (slow, steady) = (funded(&app, "slow", UNIT).await, funded(&app, "steady", UNIT).await);
    let mut steady_socket = WsClient::connect_player(&app, &steady.token).await;
    steady_socket.wait_for("initial_state", |_| true).await;
    install_chain(&app, "aviator", 250..400).await;
    let first_tick = steady_socket.wait_for("tick", |_| true).await;
    let mut slow_socket = WsClient::connect_with_small_window(&app, &slow.token).await;
    // The slow client asks for large pongs and reads nothing: they pile up behind its closed window.
    let ping = json!({ "type": "ping", "request_id": "p".repeat(200) }).to_string();
    let flood = async {
        for _ in 0..20_000 {
            if slow_socket.socket.send(Message::Text(ping.clone())).await.is_err() {
                break;
            }
        }
    };
    let mut last_seq = first_tick["seq"].as_u64().unwrap();
    let follow = async {
        for _ in 0..100 {
            let tick = steady_socket.wait_for("tick", |_| true).await;
            let seq = tick["seq"].as_u64().unwrap();
            assert_eq!(seq, last_seq + 1, "the steady client misses no tick");
            last_seq = seq;
        }
    };
    tokio::join!(flood, follow);
    assert_eq!(
        slow_socket.wait_for_close(Duration::from_secs(20)).await,
        Ended::Closed(Some(4008))
    );
}

impl WsClient {
    /// The next message whose type is one of `kinds`, skipping broadcasts.
    pub async fn next_json_of(&mut self, kinds: &[&str]) -> Value {
        let kinds: Vec<String> = kinds.iter().map(|kind| kind.to_string()).collect();
        self.wait_for_any(&kinds).await
    }
}

/// The room's limits: below the minimum or above the maximum stake is `invalid_amount`, and a third bet
/// in one round is `too_many_bets`; none of the refused bets moves money.
#[actix_web::test]
async fn bet_limits_are_enforced() {
    let app = spawn_app().await;
    let room = app.settings.crash.rooms["aviator"].clone();
    let player = funded(&app, "limits", 1_000 * UNIT).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    install_chain(&app, "aviator", 150..400).await;
    next_betting_round(&mut socket).await;
    socket.send(place_bet(room.bet_min_micros - 1, None, "low")).await;
    assert_eq!(socket.next_json_of(&["error"]).await["code"], "invalid_amount");
    socket.send(place_bet(room.bet_max_micros + 1, None, "high")).await;
    assert_eq!(socket.next_json_of(&["error"]).await["code"], "invalid_amount");
    for index in 0..room.bets_per_player_max {
        socket.send(place_bet(UNIT, None, &format!("ok-{index}"))).await;
        socket.next_json_of(&["bet_placed"]).await;
    }
    socket.send(place_bet(UNIT, None, "one-too-many")).await;
    assert_eq!(socket.next_json_of(&["error"]).await["code"], "too_many_bets");
    let staked = i64::from(room.bets_per_player_max) * UNIT;
    assert_eq!(app.balance(&player).await, 1_000 * UNIT - staked);
}

/// A second room is one more configuration entry: `jetx` runs its own rounds from its own chain.
#[actix_web::test]
async fn the_jetx_room_runs_its_own_rounds() {
    let app = spawn_app().await;
    let player = funded(&app, "jetter", 10 * UNIT).await;
    let mut socket = WsClient::connect(&app, &format!("token={}&room=jetx", player.token)).await;
    let initial = socket.wait_for("initial_state", |_| true).await;
    assert_eq!(initial["room"], "jetx");
    install_chain(&app, "jetx", 110..400).await;
    let start = socket.wait_for("round_start", |_| true).await;
    assert_eq!(start["room"], "jetx");
    let state: Value = app
        .get("/api/v1/game/state?room=aviator", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        state["phase"], "starting",
        "aviator has no chain in this test and waits"
    );
}

/// A cashout that arrived before the crash but reaches the room after it is still judged by its arrival
/// (and paid below the crash point); one that arrived after the crash is refused.
#[actix_web::test]
async fn a_cashout_that_arrived_before_the_crash_is_judged_by_its_arrival() {
    use game_cluster::games::crash::room::Cashout;
    use std::time::Instant;
    let app = spawn_app().await;
    let player = funded(&app, "boundary", 10 * UNIT).await;
    let mut socket = WsClient::connect_player(&app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    let [crash, _] = install_chain(&app, "aviator", 120..160).await;
    next_betting_round(&mut socket).await;
    socket.send(place_bet(UNIT, None, "edge")).await;
    let bet_id: uuid::Uuid = socket.wait_for("bet_placed", |_| true).await["bet"]["bet_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    socket.wait_for("round_running", |_| true).await;
    // The client saw the round start a little after the server did, so this moment is a little before
    // the server's crash time, by at most that delay.
    let just_before_crash =
        Instant::now() + Duration::from_millis(fair::elapsed_for(crash)) - Duration::from_millis(80);
    socket.wait_for("crash", |_| true).await;
    let room = app.rooms.get("aviator").unwrap();
    let late = room
        .send(Cashout {
            player_id: player.id,
            bet_id,
            received_at: Instant::now(),
        })
        .await
        .unwrap();
    assert_eq!(late.unwrap_err().code(), "round_crashed");
    let early = room
        .send(Cashout {
            player_id: player.id,
            bet_id,
            received_at: just_before_crash,
        })
        .await
        .unwrap();
    let cashed = early.expect("a request that arrived before the crash is honoured");
    let multiplier = cashed.bet.cashout_multiplier.unwrap();
    assert!(multiplier < crash, "paid {multiplier} below the crash {crash}");
    assert_eq!(app.balance(&player).await, 9 * UNIT + fair::payout(UNIT, multiplier));
    assert!(app.audit_ok().await);
}
