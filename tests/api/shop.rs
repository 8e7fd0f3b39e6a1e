//! The shop: the item catalog admins manage, purchases (idempotent, never overdrawing, limited per
//! player), inventories, and funding the treasury pools.

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, TestPlayer};
use futures_util::future::join_all;
use game_cluster::money::{AMOUNT_MAX_MICROS, MICROS_PER_UNIT};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

async fn json_of(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn create_item(app: &TestApp, admin: &str, body: Value) -> Response {
    app.post_json("/api/v1/admin/items", Some(admin), None, &body).await
}

/// Adds an active item priced `price_micros`, with an optional per-player limit.
async fn add_item(app: &TestApp, admin: &str, code: &str, price_micros: i64, limit: Option<i64>) {
    let body =
        json!({"code": code, "name": code.to_uppercase(), "price_micros": price_micros, "per_player_limit": limit});
    json_of(create_item(app, admin, body).await, StatusCode::CREATED).await;
}

async fn patch_item(app: &TestApp, admin: &str, code: &str, body: Value) -> Response {
    app.client
        .patch(app.url(&format!("/api/v1/admin/items/{code}")))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn buy(app: &TestApp, player: &TestPlayer, item: &str, quantity: Value, key: &str) -> Response {
    let body = json!({"item": item, "quantity": quantity});
    app.post_json("/api/v1/purchase", Some(&player.token), Some(key), &body)
        .await
}

async fn inventory(app: &TestApp, player: &TestPlayer) -> Value {
    json_of(app.get("/api/v1/inventory", Some(&player.token)).await, StatusCode::OK).await["items"].clone()
}

async fn held(app: &TestApp, player: &TestPlayer, item: &str) -> i64 {
    let lines = inventory(app, player).await;
    let line = lines.as_array().unwrap().iter().find(|line| line["item"] == item);
    line.map_or(0, |line| line["quantity"].as_i64().unwrap())
}

async fn pool_balance_of(app: &TestApp, player: &TestPlayer) -> i64 {
    let pool = app
        .wallet
        .treasury_pool_for(game_cluster::wallet::ledger::AccountId(player.account));
    sqlx::query_scalar("SELECT balance FROM accounts WHERE id = $1")
        .bind(pool.0)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn fund(app: &TestApp, admin: &str, key: &str, amount: Value) -> Response {
    let body = json!({"amount_micros": amount});
    app.post_json("/api/v1/admin/treasury/fund", Some(admin), Some(key), &body)
        .await
}

async fn assert_audit_clean(app: &TestApp) {
    let report = game_cluster::wallet::audit::run(&app.pool).await.unwrap();
    assert!(report.ok, "audit breaches: {:?}", report.breaches);
}

#[actix_web::test]
async fn admins_manage_the_catalog_and_bad_items_are_refused() {
    // Proves: an admin creates and changes items, every bad field is a typed 400, each change is recorded.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"code": "gem", "name": "Gem", "price_micros": 2 * MICROS_PER_UNIT, "per_player_limit": 5});
    let created = json_of(create_item(&app, &admin, body.clone()).await, StatusCode::CREATED).await;
    assert_eq!(
        (
            &created["code"],
            &created["price_micros"],
            &created["active"],
            &created["per_player_limit"]
        ),
        (&json!("gem"), &json!(2 * MICROS_PER_UNIT), &json!(true), &json!(5))
    );
    assert_eq!(created["currency"], app.settings.wallet.currency.as_str());
    assert_error(
        create_item(&app, &admin, body).await,
        StatusCode::CONFLICT,
        "item_exists",
    )
    .await;

    let bad = |field: &str, value: Value| {
        let mut body = json!({"code": "ok", "name": "Ok", "price_micros": 1});
        body[field] = value;
        body
    };
    let cases = [
        (bad("code", json!("Gem")), "invalid_item_code"),
        (bad("code", json!("")), "invalid_item_code"),
        (bad("code", json!("a".repeat(65))), "invalid_item_code"),
        (bad("name", json!("")), "invalid_item_name"),
        (bad("price_micros", json!(0)), "invalid_price"),
        (bad("price_micros", json!(-1)), "invalid_price"),
        (bad("price_micros", json!(1.5)), "invalid_price"),
        (bad("price_micros", json!(AMOUNT_MAX_MICROS + 1)), "invalid_price"),
        (bad("price_micros", json!(1e40)), "invalid_price"),
        (bad("per_player_limit", json!(0)), "invalid_per_player_limit"),
        (bad("per_player_limit", json!(-3)), "invalid_per_player_limit"),
        (bad("currency", json!("XXX")), "unsupported_currency"),
        (bad("price_micros", json!("1")), "invalid_request"),
    ];
    for (body, code) in cases {
        assert_error(create_item(&app, &admin, body).await, StatusCode::BAD_REQUEST, code).await;
    }

    let changed = patch_item(
        &app,
        &admin,
        "gem",
        json!({"price_micros": 3, "active": false, "per_player_limit": null}),
    )
    .await;
    let changed = json_of(changed, StatusCode::OK).await;
    assert_eq!(
        (
            &changed["price_micros"],
            &changed["active"],
            &changed["per_player_limit"]
        ),
        (&json!(3), &json!(false), &Value::Null)
    );
    let renamed = json_of(
        patch_item(&app, &admin, "gem", json!({"name": "Big gem"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&renamed["name"], &renamed["price_micros"]),
        (&json!("Big gem"), &json!(3))
    );
    assert_error(
        patch_item(&app, &admin, "gem", json!({})).await,
        StatusCode::BAD_REQUEST,
        "empty_change",
    )
    .await;
    let zero = patch_item(&app, &admin, "gem", json!({"price_micros": 0})).await;
    assert_error(zero, StatusCode::BAD_REQUEST, "invalid_price").await;
    let unknown = patch_item(&app, &admin, "nothing", json!({"active": true})).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "unknown_item").await;
    let code_change = patch_item(&app, &admin, "gem", json!({"code": "other"})).await;
    assert_error(code_change, StatusCode::BAD_REQUEST, "invalid_request").await;

    let player = app.signup("shopper").await;
    let as_player = create_item(
        &app,
        &player.token,
        json!({"code": "x", "name": "X", "price_micros": 1}),
    )
    .await;
    assert_error(as_player, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app.post_json("/api/v1/admin/items", None, None, &json!({})).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let listed = json_of(app.get("/api/v1/admin/items", Some(&admin)).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let recorded: Vec<String> = sqlx::query_scalar("SELECT action FROM admin_actions WHERE target = 'gem' ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(recorded, ["create_item", "update_item", "update_item"]);
}

#[actix_web::test]
async fn players_see_only_active_items() {
    // Proves: the player's list hides inactive items and needs a player token.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "sword", 5, None).await;
    add_item(&app, &admin, "shield", 7, Some(2)).await;
    json_of(
        patch_item(&app, &admin, "sword", json!({"active": false})).await,
        StatusCode::OK,
    )
    .await;
    let player = app.signup("browser").await;
    let listed = json_of(app.get("/api/v1/items", Some(&player.token)).await, StatusCode::OK).await;
    assert_eq!(
        listed["items"],
        json!([{"code": "shield", "name": "SHIELD", "price_micros": 7, "currency": app.settings.wallet.currency, "per_player_limit": 2}])
    );
    assert_error(
        app.get("/api/v1/items", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_error(
        app.get("/api/v1/inventory", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[actix_web::test]
async fn a_purchase_moves_money_and_items_once() {
    // Proves: a purchase debits the price, credits the player's treasury pool and fills the inventory; a
    // retry of its key replays it and changes nothing; the same key with another body is a conflict.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", 2 * MICROS_PER_UNIT, None).await;
    add_item(&app, &admin, "coin", MICROS_PER_UNIT, None).await;
    let player = app.signup_funded("buyer", 10 * MICROS_PER_UNIT).await;
    let pool_before = pool_balance_of(&app, &player).await;

    let first = json_of(buy(&app, &player, "gem", json!(3), "p1").await, StatusCode::CREATED).await;
    assert_eq!(first["replayed"], false);
    assert_eq!(first["balance_micros"], 4 * MICROS_PER_UNIT);
    let purchase = &first["purchase"];
    assert_eq!(
        (
            &purchase["item"],
            &purchase["quantity"],
            &purchase["unit_price_micros"],
            &purchase["total_micros"]
        ),
        (
            &json!("gem"),
            &json!(3),
            &json!(2 * MICROS_PER_UNIT),
            &json!(6 * MICROS_PER_UNIT)
        )
    );
    assert_eq!(app.balance(&player).await, 4 * MICROS_PER_UNIT);
    assert_eq!(
        inventory(&app, &player).await,
        json!([{"item": "gem", "name": "GEM", "quantity": 3}])
    );
    assert_eq!(pool_balance_of(&app, &player).await, pool_before + 6 * MICROS_PER_UNIT);

    let again = json_of(buy(&app, &player, "gem", json!(3), "p1").await, StatusCode::CREATED).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(
        (&again["purchase"], &again["balance_micros"]),
        (purchase, &first["balance_micros"])
    );
    assert_eq!(app.balance(&player).await, 4 * MICROS_PER_UNIT);
    assert_eq!(held(&app, &player, "gem").await, 3);
    let other_quantity = buy(&app, &player, "gem", json!(1), "p1").await;
    assert_error(other_quantity, StatusCode::CONFLICT, "idempotency_conflict").await;
    let other_item = buy(&app, &player, "coin", json!(3), "p1").await;
    assert_error(other_item, StatusCode::CONFLICT, "idempotency_conflict").await;

    // Keys are the player's own: another player's "p1" is a purchase of its own.
    let other = app.signup_funded("other-buyer", 5 * MICROS_PER_UNIT).await;
    let theirs = json_of(buy(&app, &other, "coin", json!(1), "p1").await, StatusCode::CREATED).await;
    assert_eq!(theirs["replayed"], false);
    assert_eq!(held(&app, &player, "gem").await, 3);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn concurrent_retries_of_one_key_make_one_purchase() {
    // Proves: 20 simultaneous requests with one key buy once; every answer is that purchase.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", MICROS_PER_UNIT, None).await;
    let player = app.signup_funded("racer", 10 * MICROS_PER_UNIT).await;
    let answers = join_all((0..20).map(|_| buy(&app, &player, "gem", json!(2), "same"))).await;
    let mut fresh = 0;
    let mut ids = std::collections::BTreeSet::new();
    for answer in answers {
        let body = json_of(answer, StatusCode::CREATED).await;
        fresh += i32::from(body["replayed"] == false);
        ids.insert(body["purchase"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!((fresh, ids.len()), (1, 1));
    assert_eq!(app.balance(&player).await, 8 * MICROS_PER_UNIT);
    assert_eq!(held(&app, &player, "gem").await, 2);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM purchases")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn concurrent_purchases_on_two_nodes_never_overdraw() {
    // Proves: a player funded for exactly 5 purchases who fires 15 at once on two nodes gets exactly 5;
    // the rest are refused with insufficient_funds, and money, inventory and the audit agree.
    let app = spawn_app().await;
    let second = spawn_app_with(app.settings.clone()).await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", MICROS_PER_UNIT, None).await;
    let player = &app.signup_funded("spender", 5 * MICROS_PER_UNIT).await;
    let purchases = (0..15).map(|index| {
        let node = if index % 2 == 0 { &app } else { &second };
        let key = format!("k{index}");
        async move { buy(node, player, "gem", json!(1), &key).await }
    });
    let answers = join_all(purchases).await;
    let (mut posted, mut refused) = (0, 0);
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => posted += 1,
            _ => {
                assert_error(answer, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
                refused += 1;
            }
        }
    }
    assert_eq!((posted, refused), (5, 10));
    assert_eq!(app.balance(player).await, 0);
    assert_eq!(held(&app, player, "gem").await, 5);
    // A refused key stays refused, even once the player can pay.
    let refused_key: String = sqlx::query_scalar(
        "SELECT split_part(idempotency_key, ':', 3) FROM purchases WHERE status = 'refused' LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    app.post_json(
        "/api/v1/wallet/top-up",
        Some(&player.token),
        Some("more"),
        &json!({"amount": MICROS_PER_UNIT}),
    )
    .await;
    let retried = buy(&app, player, "gem", json!(1), &refused_key).await;
    assert_error(retried, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
    assert_eq!(held(&app, player, "gem").await, 5);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn the_per_player_limit_allows_reaching_it_exactly() {
    // Proves: buying up to the limit is allowed, one more is refused (and stays refused for its key).
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "ring", 10, Some(3)).await;
    let player = app.signup_funded("collector", MICROS_PER_UNIT).await;
    json_of(buy(&app, &player, "ring", json!(2), "a").await, StatusCode::CREATED).await;
    let over = buy(&app, &player, "ring", json!(2), "b").await;
    assert_error(over, StatusCode::CONFLICT, "item_limit_reached").await;
    json_of(buy(&app, &player, "ring", json!(1), "c").await, StatusCode::CREATED).await;
    let one_more = buy(&app, &player, "ring", json!(1), "d").await;
    assert_error(one_more, StatusCode::CONFLICT, "item_limit_reached").await;
    assert_eq!(held(&app, &player, "ring").await, 3);
    assert_eq!(app.balance(&player).await, MICROS_PER_UNIT - 30);

    json_of(
        patch_item(&app, &admin, "ring", json!({"per_player_limit": 4})).await,
        StatusCode::OK,
    )
    .await;
    let same_key = buy(&app, &player, "ring", json!(1), "d").await;
    assert_error(same_key, StatusCode::CONFLICT, "item_limit_reached").await;
    json_of(buy(&app, &player, "ring", json!(1), "e").await, StatusCode::CREATED).await;
    assert_eq!(held(&app, &player, "ring").await, 4);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn bad_purchases_are_refused_and_move_nothing() {
    // Proves: every bad purchase is a typed 4xx and leaves the balance and the inventory as they were.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", MICROS_PER_UNIT, None).await;
    add_item(&app, &admin, "old", 1, None).await;
    add_item(&app, &admin, "crown", AMOUNT_MAX_MICROS, None).await;
    json_of(
        patch_item(&app, &admin, "old", json!({"active": false})).await,
        StatusCode::OK,
    )
    .await;
    let player = app.signup_funded("careful", 2 * MICROS_PER_UNIT).await;

    assert_error(
        buy(&app, &player, "old", json!(1), "inactive").await,
        StatusCode::CONFLICT,
        "item_inactive",
    )
    .await;
    let overflow = buy(&app, &player, "crown", json!(2), "overflow").await;
    assert_error(overflow, StatusCode::UNPROCESSABLE_ENTITY, "amount_overflow").await;
    let too_dear = buy(&app, &player, "crown", json!(1), "dear").await;
    assert_error(too_dear, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
    let unaffordable = buy(&app, &player, "gem", json!(3), "three").await;
    assert_error(unaffordable, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_funds").await;
    for quantity in [
        json!(0),
        json!(-1),
        json!(101),
        json!(1.5),
        json!("1"),
        json!(null),
        json!(u64::MAX),
    ] {
        let answer = buy(&app, &player, "gem", quantity, "quantity").await;
        assert_error(answer, StatusCode::BAD_REQUEST, "invalid_quantity").await;
    }
    assert_error(
        buy(&app, &player, "nothing", json!(1), "u").await,
        StatusCode::NOT_FOUND,
        "unknown_item",
    )
    .await;
    let long_code = "x".repeat(500);
    assert_error(
        buy(&app, &player, &long_code, json!(1), "u2").await,
        StatusCode::NOT_FOUND,
        "unknown_item",
    )
    .await;
    let body = json!({"item": "gem", "quantity": 1});
    let no_key = app
        .post_json("/api/v1/purchase", Some(&player.token), None, &body)
        .await;
    assert_error(no_key, StatusCode::BAD_REQUEST, "missing_idempotency_key").await;
    let long_key = "k".repeat(65);
    let bad_key = app
        .post_json("/api/v1/purchase", Some(&player.token), Some(&long_key), &body)
        .await;
    assert_error(bad_key, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
    let anonymous = app.post_json("/api/v1/purchase", None, Some("anon"), &body).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let no_quantity = app
        .post_json(
            "/api/v1/purchase",
            Some(&player.token),
            Some("nq"),
            &json!({"item": "gem"}),
        )
        .await;
    assert_error(no_quantity, StatusCode::BAD_REQUEST, "invalid_request").await;
    let admin_buys = app
        .post_json("/api/v1/purchase", Some(&admin), Some("adm"), &body)
        .await;
    assert_error(admin_buys, StatusCode::FORBIDDEN, "forbidden").await;

    assert_eq!(app.balance(&player).await, 2 * MICROS_PER_UNIT);
    assert_eq!(inventory(&app, &player).await, json!([]));
    let posted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM transfers WHERE kind = 'purchase' AND status = 'posted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(posted, 0);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn blocked_and_self_excluded_players_cannot_buy() {
    // Proves: a blocked player and a self-excluded one are refused with 403 and buy nothing.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", 1, None).await;
    let player = app.signup_funded("restricted", MICROS_PER_UNIT).await;
    let blocked_status = "blocked".to_owned();
    let set = |status: String, until: Option<chrono::DateTime<chrono::Utc>>| {
        sqlx::query("UPDATE players SET status = $2, self_excluded_until = $3 WHERE id = $1")
            .bind(player.id)
            .bind(status)
            .bind(until)
            .execute(&app.pool)
    };
    set(blocked_status, None).await.unwrap();
    assert_error(
        buy(&app, &player, "gem", json!(1), "b").await,
        StatusCode::FORBIDDEN,
        "player_blocked",
    )
    .await;
    let week = chrono::Utc::now() + chrono::Duration::days(7);
    set("active".into(), Some(week)).await.unwrap();
    assert_error(
        buy(&app, &player, "gem", json!(1), "s").await,
        StatusCode::FORBIDDEN,
        "self_excluded",
    )
    .await;
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    set("active".into(), Some(yesterday)).await.unwrap();
    json_of(buy(&app, &player, "gem", json!(1), "ok").await, StatusCode::CREATED).await;
    assert_eq!(held(&app, &player, "gem").await, 1);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn funding_spreads_over_the_pools_once_per_key() {
    // Proves: funding moves the amount from the root treasury to the pools evenly (remainder to pool 0),
    // a retry of its key moves nothing, another amount under the key is refused, bad amounts are 400s.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let view = json_of(app.get("/api/v1/admin/treasury", Some(&admin)).await, StatusCode::OK).await;
    let pools = view["pools"].as_array().unwrap().len() as i64;
    assert_eq!(pools, i64::from(app.settings.wallet.shard_count));
    assert_eq!(
        (&view["root_micros"], &view["pools_total_micros"]),
        (&json!(0), &json!(0))
    );

    let amount = 100 * MICROS_PER_UNIT + 3;
    let fund = |key: &'static str, amount: Value| fund(&app, &admin, key, amount);
    let funded = json_of(fund("f1", json!(amount)).await, StatusCode::OK).await;
    assert_eq!(funded["replayed"], false);
    let treasury = &funded["treasury"];
    assert_eq!(
        (&treasury["root_micros"], &treasury["pools_total_micros"]),
        (&json!(-amount), &json!(amount))
    );
    let share = amount / pools;
    for pool in treasury["pools"].as_array().unwrap() {
        let expected = if pool["shard"] == 0 {
            share + amount % pools
        } else {
            share
        };
        assert_eq!(pool["balance_micros"], expected, "{pool}");
    }

    let again = json_of(fund("f1", json!(amount)).await, StatusCode::OK).await;
    assert_eq!(again["replayed"], true);
    assert_eq!(again["treasury"]["pools_total_micros"], amount);
    assert_error(
        fund("f1", json!(amount + 1)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_conflict",
    )
    .await;
    for bad in [json!(0), json!(-5), json!(1.5), json!(AMOUNT_MAX_MICROS + 1)] {
        assert_error(fund("bad", bad).await, StatusCode::BAD_REQUEST, "invalid_amount").await;
    }
    let no_key = app
        .post_json(
            "/api/v1/admin/treasury/fund",
            Some(&admin),
            None,
            &json!({"amount_micros": 5}),
        )
        .await;
    assert_error(no_key, StatusCode::BAD_REQUEST, "missing_idempotency_key").await;
    let player = app.signup("not-admin").await;
    let as_player = app.get("/api/v1/admin/treasury", Some(&player.token)).await;
    assert_error(as_player, StatusCode::FORBIDDEN, "forbidden").await;

    let small = json_of(fund("tiny", json!(1)).await, StatusCode::OK).await;
    assert_eq!(
        small["transfers"].as_array().unwrap().len(),
        1,
        "only pool 0 gets a share of 1: {small}"
    );
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_actions WHERE action = 'fund_treasury'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 2);
    assert_audit_clean(&app).await;
}

#[actix_web::test]
async fn a_purchase_pushes_the_new_balance_to_the_players_sockets() {
    // Proves: the balance a purchase leaves reaches the player's socket on another node.
    let app = spawn_app().await;
    let second = spawn_app_with(app.settings.clone()).await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", 3, None).await;
    let player = app.signup_funded("watcher", MICROS_PER_UNIT).await;
    let mut socket = crate::ws::WsClient::connect_player(&app, &player.token).await;
    socket.wait_for("initial_state", |_| true).await;
    json_of(
        buy(&second, &player, "gem", json!(2), "watched").await,
        StatusCode::CREATED,
    )
    .await;
    socket
        .wait_for("balance_updated", |message| message["balance"] == MICROS_PER_UNIT - 6)
        .await;
}

#[actix_web::test]
async fn the_audit_catches_inventory_and_purchase_tampering() {
    // Proves: items no purchase explains, and purchase money without its purchase, are audit breaches.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    add_item(&app, &admin, "gem", 1, None).await;
    let player = app.signup_funded("audited", MICROS_PER_UNIT).await;
    json_of(buy(&app, &player, "gem", json!(2), "a").await, StatusCode::CREATED).await;
    let breached = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(sql).execute(&pool).await.unwrap();
            let report = game_cluster::wallet::audit::run(&pool).await.unwrap();
            let mut checks: Vec<&str> = report.breaches.iter().map(|breach| breach.check).collect();
            checks.dedup();
            checks
        }
    };
    let extra = breached("UPDATE inventory SET quantity = quantity + 1").await;
    assert_eq!(extra, ["inventory_matches_purchases"]);
    assert!(breached("UPDATE inventory SET quantity = quantity - 1")
        .await
        .is_empty());
    let unexplained = breached("DELETE FROM purchases").await;
    assert_eq!(
        unexplained,
        ["inventory_matches_purchases", "purchase_transfer_has_purchase"]
    );
}
