//! The game catalog over HTTP: house games synced at start-up, the public lobby (filters, pages, only
//! active games of active providers), launching a game session and each reason a launch is refused, and
//! the admin API of providers, games, imports and player status.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, TestPlayer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const FUNDS: i64 = 50_000_000;
const SECRET: &str = "a-generic-secret-of-32-characters";
const LAUNCH_TEMPLATE: &str = "https://studio.test/play?token={token}&game={game_code}&cur={currency}&s={session}";

async fn patch_json(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("the request is sent")
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn lobby(app: &TestApp, query: &str) -> Value {
    json_of(app.get(&format!("/api/v1/games{query}"), None).await, StatusCode::OK).await
}

fn codes(page: &Value) -> Vec<String> {
    page["games"]
        .as_array()
        .unwrap()
        .iter()
        .map(|game| game["code"].as_str().unwrap().to_owned())
        .collect()
}

/// A generic-protocol provider taking USD, created through the admin API.
async fn create_provider(app: &TestApp, admin: &str, id: &str) -> Value {
    let body = json!({
        "id": id, "name": format!("Studio {id}"), "protocol": "generic", "secret": SECRET,
        "launch_url": LAUNCH_TEMPLATE, "currencies": ["USD", "EUR"],
    });
    json_of(
        app.post_json("/api/v1/admin/providers", Some(admin), None, &body).await,
        StatusCode::CREATED,
    )
    .await
}

fn listing(code: &str, name: &str, category: &str, bet_min_micros: i64) -> Value {
    json!({
        "code": code, "name": name, "category": category, "rtp_bps": 9_600, "volatility": "high",
        "bet_min_micros": bet_min_micros, "bet_max_micros": 100_000_000, "metadata": {"lines": 20},
    })
}

/// Five games of two categories for `provider`.
fn game_list() -> Value {
    json!({ "games": [
        listing("sweet-bonanza", "Sweet Bonanza", "slots", 200_000),
        listing("gates", "Gates of Olympus", "slots", 200_000),
        listing("big-bass", "Big Bass Bonanza", "slots", 100_000),
        listing("roulette-1", "Mega Roulette", "live", 1_000_000),
        listing("blackjack-1", "Speed Blackjack", "live", 5_000_000),
    ]})
}

async fn import(app: &TestApp, admin: &str, provider: &str, list: &Value) -> reqwest::Response {
    let path = format!("/api/v1/admin/providers/{provider}/games/import");
    app.post_json(&path, Some(admin), None, list).await
}

/// The catalog id of one game, from the database.
async fn game_id(app: &TestApp, provider: &str, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM games WHERE provider_id = $1 AND code = $2")
        .bind(provider)
        .bind(code)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn launch(app: &TestApp, player: Option<&TestPlayer>, game_id: i64) -> reqwest::Response {
    let path = format!("/api/v1/games/{game_id}/launch");
    app.post_json(&path, player.map(|player| player.token.as_str()), None, &json!({}))
        .await
}

#[actix_web::test]
async fn house_games_are_in_the_lobby_after_start_up_and_keep_an_operators_switch() {
    // Every crash room, Dice, Plinko, Mines and each slot is a house game with its configured RTP; a
    // second node starting on the same database changes nothing, not even a game an operator disabled.
    let app = spawn_app().await;
    let page = lobby(&app, "?limit=200").await;
    let games = page["games"].as_array().unwrap();
    let category_of = |code: &str| {
        let game = games.iter().find(|game| game["code"] == code);
        game.unwrap_or_else(|| panic!("{code} is in the lobby: {page}"))["category"].clone()
    };
    for (room, room_settings) in &app.settings.crash.rooms {
        assert_eq!(category_of(room), "crash");
        let game = games.iter().find(|game| game["code"] == room.as_str()).unwrap();
        assert_eq!(game["rtp_bps"], 10_000 - room_settings.house_edge_bps as i64);
        assert_eq!(game["bet_min_micros"], room_settings.bet_min_micros);
    }
    for original in ["dice", "plinko", "mines"] {
        assert_eq!(category_of(original), "originals");
    }
    for slot in ["fortune-lines", "gem-cascade"] {
        assert_eq!(category_of(slot), "slots");
    }
    let dice = games.iter().find(|game| game["code"] == "dice").unwrap();
    assert_eq!(dice["rtp_bps"], 10_000 - app.settings.games.dice.house_edge_bps as i64);
    let fortune = games.iter().find(|game| game["code"] == "fortune-lines").unwrap();
    assert_eq!(
        (fortune["rtp_bps"].clone(), fortune["volatility"].clone()),
        (json!(9_600), json!("high"))
    );
    assert!(games
        .iter()
        .all(|game| game["provider"] == "house" && game["provider_name"] == "House games"));
    let order: Vec<(String, String)> = games
        .iter()
        .map(|game| {
            (
                game["category"].as_str().unwrap().into(),
                game["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "ordered by category, then name");
    assert_eq!(page["categories"], json!(["crash", "originals", "slots"]));
    assert_eq!(page["providers"], json!([{"id": "house", "name": "House games"}]));
    let house_total = page["total"].as_i64().unwrap();
    assert_eq!(house_total, games.len() as i64);

    let admin = app.admin_token().await;
    let mines = game_id(&app, "house", "mines").await;
    let answer = patch_json(
        &app,
        &format!("/api/v1/admin/games/{mines}"),
        &admin,
        &json!({"active": false}),
    )
    .await;
    assert_eq!(json_of(answer, StatusCode::OK).await["active"], false);
    let renamed = patch_json(
        &app,
        &format!("/api/v1/admin/games/{mines}"),
        &admin,
        &json!({"name": "M"}),
    )
    .await;
    assert_error(renamed, StatusCode::BAD_REQUEST, "house_game_fixed").await;

    let _second_node = spawn_app_with(app.settings.clone()).await;
    let after = lobby(&app, "?limit=200").await;
    assert_eq!(after["total"], house_total - 1, "mines stays disabled: {after}");
    assert!(!codes(&after).contains(&"mines".to_owned()));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM games WHERE provider_id = 'house'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, house_total);
}

#[actix_web::test]
async fn the_lobby_filters_by_category_provider_and_name_and_pages() {
    // Category, provider and a case-insensitive part of the name narrow the list; limit and offset page
    // through it with the same total; bad paging is a typed error.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create_provider(&app, &admin, "studio").await;
    json_of(import(&app, &admin, "studio", &game_list()).await, StatusCode::OK).await;

    let live = lobby(&app, "?category=live").await;
    assert_eq!(codes(&live), ["roulette-1", "blackjack-1"]);
    assert_eq!(live["total"], 2);
    assert_eq!(live["games"][0]["provider_name"], "Studio studio");
    assert_eq!(live["games"][0]["metadata"], json!({"lines": 20}));
    let studio = lobby(&app, "?provider=studio").await;
    assert_eq!(studio["total"], 5);
    assert_eq!(codes(&lobby(&app, "?q=BONANZA").await), ["big-bass", "sweet-bonanza"]);
    assert_eq!(
        codes(&lobby(&app, "?q=bonanza&provider=house").await),
        Vec::<String>::new()
    );
    assert_eq!(
        codes(&lobby(&app, "?q=%25").await),
        Vec::<String>::new(),
        "% is searched literally"
    );

    let first = lobby(&app, "?provider=studio&limit=2").await;
    let second = lobby(&app, "?provider=studio&limit=2&offset=2").await;
    let third = lobby(&app, "?provider=studio&limit=2&offset=4").await;
    assert_eq!((first["limit"].clone(), second["offset"].clone()), (json!(2), json!(2)));
    let mut all = [codes(&first), codes(&second), codes(&third)].concat();
    assert_eq!(all.len(), 5);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5, "pages do not overlap");
    assert_eq!(third["total"], 5);
    assert_eq!(lobby(&app, "").await["limit"], 50);
    let categories = lobby(&app, "?category=live").await["categories"].clone();
    assert_eq!(categories, json!(["crash", "live", "originals", "slots"]));

    for query in ["?limit=0", "?limit=201", "?offset=-1", "?limit=abc", "?colour=red"] {
        let response = app.get(&format!("/api/v1/games{query}"), None).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    let long = format!("?q={}", "a".repeat(101));
    assert_error(
        app.get(&format!("/api/v1/games{long}"), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

#[actix_web::test]
async fn a_disabled_game_or_provider_leaves_the_lobby() {
    // Only active games of active providers are shown; switching either back brings the game back.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create_provider(&app, &admin, "studio").await;
    json_of(import(&app, &admin, "studio", &game_list()).await, StatusCode::OK).await;
    let gates = game_id(&app, "studio", "gates").await;

    let off = patch_json(
        &app,
        &format!("/api/v1/admin/games/{gates}"),
        &admin,
        &json!({"active": false}),
    )
    .await;
    json_of(off, StatusCode::OK).await;
    let studio = lobby(&app, "?provider=studio").await;
    assert_eq!(studio["total"], 4);
    assert!(!codes(&studio).contains(&"gates".to_owned()));

    let provider_off = patch_json(
        &app,
        "/api/v1/admin/providers/studio",
        &admin,
        &json!({"active": false}),
    )
    .await;
    assert_eq!(json_of(provider_off, StatusCode::OK).await["active"], false);
    let page = lobby(&app, "?limit=200").await;
    assert!(page["games"]
        .as_array()
        .unwrap()
        .iter()
        .all(|game| game["provider"] == "house"));
    assert_eq!(page["providers"], json!([{"id": "house", "name": "House games"}]));
    assert_eq!(lobby(&app, "?category=live").await["total"], 0);

    json_of(
        patch_json(&app, "/api/v1/admin/providers/studio", &admin, &json!({"active": true})).await,
        StatusCode::OK,
    )
    .await;
    json_of(
        patch_json(
            &app,
            &format!("/api/v1/admin/games/{gates}"),
            &admin,
            &json!({"active": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(lobby(&app, "?provider=studio").await["total"], 5);
}

#[actix_web::test]
async fn launching_a_house_game_opens_a_session_on_our_page() {
    // A funded player launching Dice gets our URL with the session id, a fresh token and an expiry
    // `providers.session_ttl_s` ahead, and the session row holds the same.
    let app = spawn_app().await;
    let player = app.signup_funded("launcher", FUNDS).await;
    let dice = game_id(&app, "house", "dice").await;
    let started = chrono::Utc::now();
    let session = json_of(launch(&app, Some(&player), dice).await, StatusCode::CREATED).await;

    let session_id: Uuid = session["session_id"].as_str().unwrap().parse().unwrap();
    let base = &app.settings.providers.public_base_url;
    assert_eq!(session["url"], format!("{base}/#/play/dice?session={session_id}"));
    assert_eq!(
        (session["game_id"].clone(), session["provider"].clone()),
        (json!(dice), json!("house"))
    );
    assert_eq!(
        (session["code"].clone(), session["currency"].clone()),
        (json!("dice"), json!("USD"))
    );
    let token = session["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|byte| byte.is_ascii_hexdigit()));
    let expires_at: chrono::DateTime<chrono::Utc> = session["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = chrono::Duration::seconds(app.settings.providers.session_ttl_s as i64);
    let drift = (expires_at - (started + ttl)).num_seconds().abs();
    assert!(drift < 30, "expires about session_ttl_s from now: {expires_at}");

    let row: (Uuid, i64, String, String, String, String, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT player_id, game_id, provider_id, token, url, status, expires_at FROM game_sessions WHERE id = $1",
    )
    .bind(session_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.0, player.id);
    assert_eq!((row.1, row.2.as_str(), row.3.as_str()), (dice, "house", token));
    assert_eq!(
        (row.4.as_str(), row.5.as_str()),
        (session["url"].as_str().unwrap(), "open")
    );
    assert_eq!(row.6, expires_at);

    let again = json_of(launch(&app, Some(&player), dice).await, StatusCode::CREATED).await;
    assert_ne!(again["token"], session["token"], "each launch has its own token");
}

#[actix_web::test]
async fn launching_an_outside_game_uses_the_providers_url_template() {
    // The generic adapter fills the provider's template with the session's token, code and currency.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create_provider(&app, &admin, "studio").await;
    json_of(import(&app, &admin, "studio", &game_list()).await, StatusCode::OK).await;
    let player = app.signup_funded("outsider", FUNDS).await;
    let gates = game_id(&app, "studio", "gates").await;
    let session = json_of(launch(&app, Some(&player), gates).await, StatusCode::CREATED).await;
    let token = session["token"].as_str().unwrap();
    let session_id = session["session_id"].as_str().unwrap();
    let expected = format!("https://studio.test/play?token={token}&game=gates&cur=USD&s={session_id}");
    assert_eq!(session["url"], expected);
    assert_eq!(session["provider"], "studio");
    let stored: String = sqlx::query_scalar("SELECT url FROM game_sessions WHERE token = $1")
        .bind(token)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, expected);
}

#[actix_web::test]
async fn a_launch_is_refused_for_each_reason_and_opens_nothing() {
    // Unknown game 404, no token 401, inactive game or provider 403, disabled or self-excluded player
    // 403, balance under the minimum bet 422, a currency the provider does not take 422; none of them
    // writes a session.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create_provider(&app, &admin, "studio").await;
    json_of(import(&app, &admin, "studio", &game_list()).await, StatusCode::OK).await;
    let player = app.signup_funded("refused", 3_000_000).await;
    let gates = game_id(&app, "studio", "gates").await;
    let blackjack = game_id(&app, "studio", "blackjack-1").await;

    assert_error(
        launch(&app, Some(&player), 999_999_999).await,
        StatusCode::NOT_FOUND,
        "unknown_game",
    )
    .await;
    assert_error(
        launch(&app, None, gates).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        launch(&app, Some(&player), blackjack).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "insufficient_balance",
    )
    .await;

    let path = format!("/api/v1/admin/games/{gates}");
    json_of(
        patch_json(&app, &path, &admin, &json!({"active": false})).await,
        StatusCode::OK,
    )
    .await;
    assert_error(
        launch(&app, Some(&player), gates).await,
        StatusCode::FORBIDDEN,
        "game_disabled",
    )
    .await;
    json_of(
        patch_json(&app, &path, &admin, &json!({"active": true})).await,
        StatusCode::OK,
    )
    .await;
    let provider = "/api/v1/admin/providers/studio";
    json_of(
        patch_json(&app, provider, &admin, &json!({"active": false})).await,
        StatusCode::OK,
    )
    .await;
    assert_error(
        launch(&app, Some(&player), gates).await,
        StatusCode::FORBIDDEN,
        "game_disabled",
    )
    .await;
    json_of(
        patch_json(&app, provider, &admin, &json!({"currencies": ["EUR"], "active": true})).await,
        StatusCode::OK,
    )
    .await;
    assert_error(
        launch(&app, Some(&player), gates).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "currency_not_supported",
    )
    .await;
    json_of(
        patch_json(&app, provider, &admin, &json!({"currencies": ["USD"]})).await,
        StatusCode::OK,
    )
    .await;

    let status = format!("/api/v1/admin/players/{}/status", player.id);
    let blocked = app
        .post_json(&status, Some(&admin), None, &json!({"status": "blocked"}))
        .await;
    assert_eq!(json_of(blocked, StatusCode::OK).await["status"], "blocked");
    assert_error(
        launch(&app, Some(&player), gates).await,
        StatusCode::FORBIDDEN,
        "player_blocked",
    )
    .await;
    let unblocked = app
        .post_json(&status, Some(&admin), None, &json!({"status": "active"}))
        .await;
    assert_eq!(json_of(unblocked, StatusCode::OK).await["status"], "active");
    let excluded = app
        .post_json(
            "/api/v1/self-exclusion",
            Some(&player.token),
            None,
            &json!({"days": 30}),
        )
        .await;
    json_of(excluded, StatusCode::OK).await;
    assert_error(
        launch(&app, Some(&player), gates).await,
        StatusCode::FORBIDDEN,
        "self_excluded",
    )
    .await;
    // The operator cannot lift a self-exclusion: the route takes a status and nothing else.
    let lift = json!({"status": "active", "self_excluded_until": null});
    assert_eq!(
        app.post_json(&status, Some(&admin), None, &lift).await.status(),
        StatusCode::BAD_REQUEST
    );
    let answer = json_of(
        app.post_json(&status, Some(&admin), None, &json!({"status": "active"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["status"], "self_excluded");
    assert!(answer["self_excluded_until"].is_string(), "{answer}");

    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM game_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);

    // The exclusion ends (moved into the past here): the player launches again.
    sqlx::query("UPDATE players SET self_excluded_until = now() - interval '1 second' WHERE id = $1")
        .bind(player.id)
        .execute(&app.pool)
        .await
        .unwrap();
    json_of(launch(&app, Some(&player), gates).await, StatusCode::CREATED).await;
}

#[actix_web::test]
async fn the_admin_creates_and_changes_providers_without_ever_returning_a_secret() {
    // A created provider answers has_secret but never the secret (nor does the list or the audit);
    // every bad field is a 400 with its code, a taken id a 409, and only the admin may call.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = create_provider(&app, &admin, "studio").await;
    assert_eq!(
        (created["has_secret"].clone(), created["has_public_key"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(created["currencies"], json!(["USD", "EUR"]));
    assert!(created.get("secret").is_none());
    let list = app
        .get("/api/v1/admin/providers", Some(&admin))
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(SECRET), "the secret never leaves: {list}");
    let listed: Value = serde_json::from_str(&list).unwrap();
    let ids: Vec<&str> = listed["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["house", "studio"]);

    let rotated = patch_json(
        &app,
        "/api/v1/admin/providers/studio",
        &admin,
        &json!({"secret": "b".repeat(20)}),
    )
    .await;
    let rotated = rotated.text().await.unwrap();
    assert!(!rotated.contains(&"b".repeat(20)));
    let stored: String = sqlx::query_scalar("SELECT secret FROM providers WHERE id = 'studio'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "b".repeat(20));
    let audit: Vec<String> = sqlx::query_scalar("SELECT details::text FROM admin_actions ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        audit.len() >= 2
            && audit
                .iter()
                .all(|details| !details.contains(SECRET) && !details.contains("bbbb"))
    );

    let taken = app
        .post_json(
            "/api/v1/admin/providers",
            Some(&admin),
            None,
            &json!({
                "id": "studio", "name": "Again", "protocol": "generic", "secret": SECRET, "currencies": ["USD"],
            }),
        )
        .await;
    assert_error(taken, StatusCode::CONFLICT, "provider_exists").await;

    let valid = json!({"id": "other", "name": "Other", "protocol": "generic", "secret": SECRET, "currencies": ["USD"]});
    let cases: [(&str, Value, &str); 9] = [
        ("id", json!("Bad Id"), "invalid_provider_id"),
        ("id", json!("house"), "invalid_provider_id"),
        ("protocol", json!("house"), "invalid_protocol"),
        ("protocol", json!("soap"), "invalid_protocol"),
        ("secret", json!("short"), "invalid_secret"),
        ("currencies", json!(["usd"]), "invalid_currencies"),
        ("currencies", json!([]), "invalid_currencies"),
        ("launch_url", json!("javascript:alert(1)"), "invalid_launch_url"),
        ("name", json!(""), "invalid_provider_name"),
    ];
    for (field, value, code) in cases {
        let mut body = valid.clone();
        body[field] = value;
        let response = app
            .post_json("/api/v1/admin/providers", Some(&admin), None, &body)
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    let hub88 =
        json!({"id": "hub", "name": "Hub", "protocol": "hub88", "public_key": "not a key", "currencies": ["USD"]});
    let response = app
        .post_json("/api/v1/admin/providers", Some(&admin), None, &hub88)
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_public_key").await;
    let house = patch_json(
        &app,
        "/api/v1/admin/providers/house",
        &admin,
        &json!({"currencies": ["USD"]}),
    )
    .await;
    assert_error(house, StatusCode::BAD_REQUEST, "house_provider_fixed").await;
    let unknown = patch_json(
        &app,
        "/api/v1/admin/providers/nobody",
        &admin,
        &json!({"active": false}),
    )
    .await;
    assert_error(unknown, StatusCode::NOT_FOUND, "unknown_provider").await;
    let protocol = patch_json(
        &app,
        "/api/v1/admin/providers/studio",
        &admin,
        &json!({"protocol": "hub88"}),
    )
    .await;
    assert_error(protocol, StatusCode::BAD_REQUEST, "invalid_request").await;

    let player = app.signup("not-an-admin").await;
    let as_player = app.get("/api/v1/admin/providers", Some(&player.token)).await;
    assert_error(as_player, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app.post_json("/api/v1/admin/providers", None, None, &valid).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[actix_web::test]
async fn importing_a_generic_game_list_counts_and_is_idempotent() {
    // The first import inserts every game; the same list again changes nothing; a changed game is one
    // update; a bad game, a duplicate code or too many games refuse the whole list; a Hub88 provider's
    // list is read by its adapter. Each import is audited.
    let mut settings = crate::helpers::test_settings();
    crate::helpers::create_database(&mut settings).await;
    settings.providers.import_games_max = 5;
    let app = spawn_app_with(settings).await;
    let admin = app.admin_token().await;
    create_provider(&app, &admin, "studio").await;

    let first = json_of(import(&app, &admin, "studio", &game_list()).await, StatusCode::OK).await;
    assert_eq!(
        first,
        json!({"provider": "studio", "games": 5, "inserted": 5, "updated": 0, "unchanged": 0})
    );
    let again = json_of(import(&app, &admin, "studio", &game_list()).await, StatusCode::OK).await;
    assert_eq!(
        (
            again["inserted"].clone(),
            again["updated"].clone(),
            again["unchanged"].clone()
        ),
        (json!(0), json!(0), json!(5))
    );

    let gates = game_id(&app, "studio", "gates").await;
    json_of(
        patch_json(
            &app,
            &format!("/api/v1/admin/games/{gates}"),
            &admin,
            &json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut changed = game_list();
    changed["games"][1]["rtp_bps"] = json!(9_450);
    let third = json_of(import(&app, &admin, "studio", &changed).await, StatusCode::OK).await;
    assert_eq!(
        (third["inserted"].clone(), third["updated"].clone()),
        (json!(0), json!(1))
    );
    let (rtp, active): (i32, bool) = sqlx::query_as("SELECT rtp_bps, active FROM games WHERE id = $1")
        .bind(gates)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((rtp, active), (9_450, false), "an import never switches a game back on");

    let bad_games: [(Value, &str); 6] = [
        (json!({"rtp_bps": 0}), "invalid_rtp"),
        (json!({"rtp_bps": 10_001}), "invalid_rtp"),
        (json!({"code": "no spaces"}), "invalid_game_code"),
        (json!({"bet_min_micros": 0}), "invalid_limits"),
        (json!({"bet_max_micros": 1}), "invalid_limits"),
        (json!({"volatility": "extreme"}), "invalid_volatility"),
    ];
    for (change, code) in bad_games {
        let mut list = json!({"games": [listing("new-game", "New", "slots", 100_000)]});
        for (field, value) in change.as_object().unwrap() {
            list["games"][0][field] = value.clone();
        }
        assert_error(
            import(&app, &admin, "studio", &list).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
    let twice =
        json!({"games": [listing("twin", "Twin", "slots", 100_000), listing("twin", "Twin", "slots", 100_000)]});
    assert_error(
        import(&app, &admin, "studio", &twice).await,
        StatusCode::BAD_REQUEST,
        "duplicate_game_code",
    )
    .await;
    let mut six = game_list();
    six["games"]
        .as_array_mut()
        .unwrap()
        .push(listing("sixth", "Sixth", "slots", 100_000));
    assert_error(
        import(&app, &admin, "studio", &six).await,
        StatusCode::BAD_REQUEST,
        "too_many_games",
    )
    .await;
    let shapeless = json!({"titles": []});
    assert_error(
        import(&app, &admin, "studio", &shapeless).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_game_list",
    )
    .await;
    assert_error(
        import(&app, &admin, "nobody", &game_list()).await,
        StatusCode::NOT_FOUND,
        "unknown_provider",
    )
    .await;
    assert_error(
        import(&app, &admin, "house", &game_list()).await,
        StatusCode::BAD_REQUEST,
        "house_games_fixed",
    )
    .await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM games WHERE provider_id = 'studio'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(total, 5, "a refused list writes nothing");

    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_actions WHERE action = 'import_games'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(imports, 3);
}

#[actix_web::test]
async fn the_admin_lists_adds_and_changes_games() {
    // Games are listed with inactive ones and filters; a game added by hand starts as asked; a change is
    // validated as a whole (a minimum above the maximum is refused) and audited.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    create_provider(&app, &admin, "studio").await;
    let mut body = listing("hand-made", "Hand Made", "table", 100_000);
    body["provider"] = json!("studio");
    body["active"] = json!(false);
    let created = json_of(
        app.post_json("/api/v1/admin/games", Some(&admin), None, &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (created["active"].clone(), created["provider"].clone()),
        (json!(false), json!("studio"))
    );
    let again = app.post_json("/api/v1/admin/games", Some(&admin), None, &body).await;
    assert_error(again, StatusCode::CONFLICT, "game_exists").await;
    body["provider"] = json!("house");
    body["code"] = json!("roulette");
    let house = app.post_json("/api/v1/admin/games", Some(&admin), None, &body).await;
    assert_error(house, StatusCode::BAD_REQUEST, "house_games_fixed").await;

    let listed = json_of(
        app.get("/api/v1/admin/games?provider=studio", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (listed["total"].clone(), listed["games"][0]["code"].clone()),
        (json!(1), json!("hand-made"))
    );
    let inactive = json_of(
        app.get("/api/v1/admin/games?active=false", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inactive["total"], 1);
    let crash = json_of(
        app.get("/api/v1/admin/games?category=crash&limit=1", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(crash["total"], app.settings.crash.rooms.len() as i64);
    assert_eq!(crash["games"].as_array().unwrap().len(), 1);
    let bad = app.get("/api/v1/admin/games?limit=0", Some(&admin)).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_query").await;

    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/admin/games/{id}");
    let change = json!({"active": true, "rtp_bps": 9_700, "volatility": null, "metadata": {"tables": 3}});
    let changed = json_of(patch_json(&app, &path, &admin, &change).await, StatusCode::OK).await;
    assert_eq!(
        (changed["active"].clone(), changed["rtp_bps"].clone()),
        (json!(true), json!(9_700))
    );
    assert_eq!(
        (changed["volatility"].clone(), changed["metadata"].clone()),
        (Value::Null, json!({"tables": 3}))
    );
    let inverted = patch_json(&app, &path, &admin, &json!({"bet_min_micros": 200_000_000})).await;
    assert_error(inverted, StatusCode::BAD_REQUEST, "invalid_limits").await;
    let unknown = patch_json(&app, "/api/v1/admin/games/999999999", &admin, &json!({"active": true})).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "unknown_game").await;
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM admin_actions ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(actions, ["create_provider", "create_game", "update_game"]);

    let nobody = format!("/api/v1/admin/players/{}/status", Uuid::new_v4());
    let missing = app
        .post_json(&nobody, Some(&admin), None, &json!({"status": "active"}))
        .await;
    assert_error(missing, StatusCode::NOT_FOUND, "player_not_found").await;
    let player = app.signup("status-player").await;
    let status = format!("/api/v1/admin/players/{}/status", player.id);
    let wrong = app
        .post_json(&status, Some(&admin), None, &json!({"status": "banned"}))
        .await;
    assert_error(wrong, StatusCode::BAD_REQUEST, "invalid_status").await;
}
