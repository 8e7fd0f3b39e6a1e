use super::*;
use crate::providers::model::PlayerInfo;
use uuid::Uuid;

const TEST_PRIVATE_KEY: &str = include_str!("../../../tests/fixtures/hub88_test_private.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../../../tests/fixtures/hub88_test_public.pem");
const OTHER_PRIVATE_KEY: &str = include_str!("../../../tests/fixtures/hub88_other_private.pem");

fn provider(public_key: Option<&str>) -> ProviderRecord {
    ProviderRecord {
        id: "hubstudio".into(),
        name: "Hub88 studio".into(),
        protocol: Protocol::Hub88,
        secret: None,
        public_key: public_key.map(str::to_owned),
        launch_url: String::new(),
        currencies: vec!["USD".into()],
        active: true,
    }
}

fn signed(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER.parse().unwrap(), signature.parse().unwrap());
    headers
}

fn authenticate(provider: &ProviderRecord, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthFailure> {
    Hub88Protocol.authenticate(provider, headers, body, Utc::now(), Duration::from_secs(300))
}

#[test]
fn a_body_signed_with_the_providers_key_passes_and_nothing_else_does() {
    let body = br#"{"user":"p","transaction_uuid":"t","amount":100}"#;
    let signer = Hub88Signer::from_pem(TEST_PRIVATE_KEY).unwrap();
    let good = signed(&signer.sign(body));
    let provider = provider(Some(TEST_PUBLIC_KEY));
    assert_eq!(authenticate(&provider, &good, body), Ok(()));

    let tampered = br#"{"user":"p","transaction_uuid":"t","amount":900}"#;
    assert_eq!(authenticate(&provider, &good, tampered), Err(AuthFailure::BadSignature));

    let other = Hub88Signer::from_pem(OTHER_PRIVATE_KEY).unwrap();
    let foreign = signed(&other.sign(body));
    assert_eq!(authenticate(&provider, &foreign, body), Err(AuthFailure::BadSignature));

    assert_eq!(
        authenticate(&provider, &HeaderMap::new(), body),
        Err(AuthFailure::MissingSignature)
    );
    assert_eq!(
        authenticate(&provider, &signed(" "), body),
        Err(AuthFailure::MissingSignature)
    );
    let too_long = "A".repeat(SIGNATURE_LENGTH_MAX + 4);
    for garbage in ["not base64!", "AAAA", too_long.as_str()] {
        assert_eq!(
            authenticate(&provider, &signed(garbage), body),
            Err(AuthFailure::BadSignature)
        );
    }
}

#[test]
fn a_provider_without_a_usable_key_authenticates_nothing() {
    let body = b"{}";
    let signature = Hub88Signer::from_pem(TEST_PRIVATE_KEY).unwrap().sign(body);
    for key in [None, Some("not a key"), Some(TEST_PRIVATE_KEY)] {
        assert_eq!(
            authenticate(&provider(key), &signed(&signature), body),
            Err(AuthFailure::NoKey),
            "{key:?}"
        );
    }
}

#[test]
fn the_paths_are_hub88s_own() {
    let protocol = Hub88Protocol;
    assert_eq!(protocol.operation("user/info"), Some(Operation::UserInfo));
    assert_eq!(protocol.operation("user/balance"), Some(Operation::Balance));
    assert_eq!(protocol.operation("transaction/bet"), Some(Operation::Bet));
    assert_eq!(protocol.operation("transaction/win"), Some(Operation::Win));
    assert_eq!(protocol.operation("/transaction/rollback/"), Some(Operation::Rollback));
    for unknown in ["bet", "transaction/end_round", "user", ""] {
        assert_eq!(protocol.operation(unknown), None, "{unknown}");
    }
}

fn bet(amount: &str) -> Result<WalletCall, BadCall> {
    let body = format!(
        r#"{{"user":"p","transaction_uuid":"t","token":"k","round":"r","request_uuid":"q","game_code":"g",
            "currency":"USD","amount":{amount},"is_free":false,"round_closed":false,"bet":"zero","meta":{{}}}}"#
    );
    Hub88Protocol.parse(Operation::Bet, body.as_bytes())
}

fn win(amount: &str) -> Result<WalletCall, BadCall> {
    let body = format!(
        r#"{{"user":"p","transaction_uuid":"w","reference_transaction_uuid":"t","round":"r","request_uuid":"q",
            "currency":"USD","amount":{amount}}}"#
    );
    Hub88Protocol.parse(Operation::Win, body.as_bytes())
}

#[test]
fn amounts_are_hub88_units_times_ten_and_never_fractional_negative_or_too_large() {
    assert_eq!(bet("100000").unwrap().amount_micros, Some(1_000_000));
    assert_eq!(bet("1").unwrap().amount_micros, Some(10));
    assert_eq!(
        bet(&HUB88_AMOUNT_MAX.to_string()).unwrap().amount_micros,
        Some(AMOUNT_MAX_MICROS)
    );
    let too_large = (HUB88_AMOUNT_MAX + 1).to_string();
    for refused in ["0", "-1", "1.5", "100.0", "1e30", "\"100\"", "true", too_large.as_str()] {
        assert_eq!(bet(refused).unwrap_err().status, Status::WrongTypes, "bet {refused}");
    }
    assert_eq!(win("0").unwrap().amount_micros, Some(0));
    for refused in ["-5", "0.5", "\"0\""] {
        assert_eq!(win(refused).unwrap_err().status, Status::WrongTypes, "win {refused}");
    }
    assert_eq!(bet("null").unwrap_err().status, Status::WrongSyntax);
}

#[test]
fn balances_are_rendered_in_hub88_units_rounded_down() {
    assert_eq!(hub88_from_micros(1_000_000), 100_000);
    assert_eq!(hub88_from_micros(19), 1);
    assert_eq!(hub88_from_micros(9), 0);
    assert_eq!(hub88_from_micros(0), 0);
    assert_eq!(micros_from_hub88(5, true), Some(50));
    assert_eq!(micros_from_hub88(0, true), None);
    assert_eq!(micros_from_hub88(0, false), Some(0));
}

#[test]
fn a_bet_maps_every_field_the_rules_need() {
    let call = bet("250").unwrap();
    assert_eq!(call.operation, Operation::Bet);
    assert_eq!(call.player, "p");
    assert_eq!(call.token.as_deref(), Some("k"));
    assert_eq!(call.game_code.as_deref(), Some("g"));
    assert_eq!(call.round_id.as_deref(), Some("r"));
    assert_eq!(call.transaction_id.as_deref(), Some("t"));
    assert_eq!(call.reference_id, None);
    assert_eq!(call.currency.as_deref(), Some("USD"));
    assert_eq!(call.request_id.as_deref(), Some("q"));
    assert!(!call.free && !call.round_closed);

    let rollback = br#"{"user":"p","transaction_uuid":"rb","reference_transaction_uuid":"t","request_uuid":"q",
        "round":"r","round_closed":true,"game_code":"g","token":"old"}"#;
    let call = Hub88Protocol.parse(Operation::Rollback, rollback).unwrap();
    assert_eq!(call.reference_id.as_deref(), Some("t"));
    assert_eq!((call.amount_micros, call.currency.as_deref()), (None, None));
    assert!(call.round_closed);
}

#[test]
fn required_fields_types_lengths_and_free_bets_are_checked() {
    let protocol = Hub88Protocol;
    let no_reference = br#"{"user":"p","transaction_uuid":"w","request_uuid":"q","currency":"USD","amount":1}"#;
    assert_eq!(
        protocol.parse(Operation::Win, no_reference).unwrap_err().status,
        Status::WrongSyntax
    );
    let no_request = br#"{"user":"p"}"#;
    assert_eq!(
        protocol.parse(Operation::Balance, no_request).unwrap_err().status,
        Status::WrongSyntax
    );
    let long = format!(r#"{{"user":"{}","request_uuid":"q"}}"#, "x".repeat(129));
    assert_eq!(
        protocol.parse(Operation::Balance, long.as_bytes()).unwrap_err().status,
        Status::WrongTypes
    );
    let unicode = r#"{"user":"игрок-🎰","request_uuid":"q"}"#;
    assert_eq!(
        protocol.parse(Operation::UserInfo, unicode.as_bytes()).unwrap().player,
        "игрок-🎰"
    );
    let numeric_user = br#"{"user":12345,"request_uuid":"q"}"#;
    assert_eq!(
        protocol.parse(Operation::Balance, numeric_user).unwrap_err().status,
        Status::WrongTypes
    );
    for body in [&b"[1]"[..], b"{", b""] {
        assert_eq!(
            protocol.parse(Operation::Balance, body).unwrap_err().status,
            Status::WrongSyntax
        );
    }
    let free_bet = br#"{"user":"p","transaction_uuid":"t","token":"k","round":"r","request_uuid":"q",
        "game_code":"g","currency":"USD","amount":1,"is_free":true}"#;
    assert_eq!(
        protocol.parse(Operation::Bet, free_bet).unwrap_err().status,
        Status::WrongTypes
    );
    let free_win = br#"{"user":"p","transaction_uuid":"w","reference_transaction_uuid":"x","request_uuid":"q",
        "currency":"USD","amount":5,"is_free":true}"#;
    assert!(protocol.parse(Operation::Win, free_win).unwrap().free);
    for currency in ["\"usd\"", "\"US\"", "\"SCHMECKLES\"", "5"] {
        let body = format!(
            r#"{{"user":"p","transaction_uuid":"w","reference_transaction_uuid":"x","request_uuid":"q",
                "currency":{currency},"amount":5}}"#
        );
        assert_eq!(
            protocol.parse(Operation::Win, body.as_bytes()).unwrap_err().status,
            Status::WrongTypes,
            "{currency}"
        );
    }
}

fn answer(status: Status) -> Answer {
    Answer {
        status,
        player: "p".into(),
        currency: Some("USD".into()),
        balance_micros: Some(1_234_567),
        transaction_id: Some("t".into()),
        ledger_transfer_id: None,
        replayed: false,
        message: "why".into(),
        info: None,
    }
}

#[test]
fn every_status_renders_as_an_rs_code_with_http_200() {
    let known = [
        "RS_OK",
        "RS_ERROR_UNKNOWN",
        "RS_ERROR_INVALID_PARTNER",
        "RS_ERROR_INVALID_TOKEN",
        "RS_ERROR_INVALID_GAME",
        "RS_ERROR_WRONG_CURRENCY",
        "RS_ERROR_NOT_ENOUGH_MONEY",
        "RS_ERROR_USER_DISABLED",
        "RS_ERROR_INVALID_SIGNATURE",
        "RS_ERROR_TOKEN_EXPIRED",
        "RS_ERROR_WRONG_SYNTAX",
        "RS_ERROR_WRONG_TYPES",
        "RS_ERROR_DUPLICATE_TRANSACTION",
        "RS_ERROR_TRANSACTION_DOES_NOT_EXIST",
        "RS_ERROR_TRANSACTION_ROLLED_BACK",
        "RS_ERROR_BET_LIMIT_EXCEEDED",
    ];
    let call = bet("1").unwrap();
    for status in Status::ALL {
        let rendered = Hub88Protocol.render(Operation::Bet, Some(&call), &answer(status));
        assert_eq!(rendered.http_status, 200, "{status:?}");
        let code = rendered.body["status"].as_str().unwrap();
        assert!(known.contains(&code), "{status:?} renders {code}");
        assert_eq!(rendered.body["user"], "p");
        assert_eq!(rendered.body["request_uuid"], "q");
        assert_eq!(rendered.body["currency"], "USD");
        assert_eq!(rendered.body["balance"], 123_456);
    }
    assert_eq!(rs_code(Status::NotEnoughMoney), "RS_ERROR_NOT_ENOUGH_MONEY");
    assert_eq!(
        rs_code(Status::TransactionRolledBack),
        "RS_ERROR_TRANSACTION_ROLLED_BACK"
    );
    assert_eq!(rs_code(Status::UnknownPlayer), "RS_ERROR_INVALID_TOKEN");
}

#[test]
fn user_info_answers_who_the_player_is_and_refusals_without_a_call_still_render() {
    let call = Hub88Protocol
        .parse(Operation::UserInfo, br#"{"user":"p","request_uuid":"q"}"#)
        .unwrap();
    let mut info = answer(Status::Ok);
    info.info = Some(PlayerInfo {
        player_id: Uuid::nil(),
        username: "someone".into(),
        registered_at: "2026-11-02T10:00:00Z".parse().unwrap(),
    });
    let body = Hub88Protocol.render(Operation::UserInfo, Some(&call), &info).body;
    assert_eq!(
        body,
        json!({"user": "p", "status": "RS_OK", "request_uuid": "q", "registration_date": "2026-11-02"})
    );
    let refused = Answer::refused(Status::InvalidSignature, None, "bad signature");
    let body = Hub88Protocol.render(Operation::Balance, None, &refused).body;
    assert_eq!(body, json!({"status": "RS_ERROR_INVALID_SIGNATURE"}));
}
