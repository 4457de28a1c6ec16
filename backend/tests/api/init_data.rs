//! Max sign-in: every recorded vector, and fresh ones from an independent signer.

use gallery::{
    auth::init_data::{InitDataError, validate},
    config::InitDataClock,
};
use serde::Deserialize;

use crate::helpers::{
    BOT_TOKEN, assert_json_error, max_user_json, sign_init_data, spawn_app, spawn_app_with,
};

#[derive(Deserialize)]
struct Vectors {
    bot_token: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    init_data: String,
    now_unix: i64,
    max_age_seconds: i64,
    expect: String,
    user_id: Option<i64>,
}

fn vectors() -> Vectors {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/max_init_data.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_recorded_vector_gets_its_expected_answer_from_the_validator() {
    let vectors = vectors();
    assert!(vectors.cases.len() >= 18);
    for case in &vectors.cases {
        let result = validate(
            &case.init_data,
            &vectors.bot_token,
            case.now_unix,
            case.max_age_seconds,
        );
        match (case.expect.as_str(), &result) {
            ("ok", Ok(valid)) => assert_eq!(Some(valid.user.id), case.user_id, "{}", case.name),
            ("bad_signature", Err(InitDataError::BadSignature))
            | ("expired", Err(InitDataError::Expired))
            | ("malformed", Err(InitDataError::Malformed(_))) => {}
            (expected, got) => panic!("{}: expected {expected}, got {got:?}", case.name),
        }
    }
}

#[tokio::test]
async fn every_recorded_vector_gets_its_expected_answer_over_http() {
    let vectors = vectors();
    assert_eq!(vectors.bot_token, BOT_TOKEN);
    let now = vectors.cases[0].now_unix;
    assert!(
        vectors
            .cases
            .iter()
            .all(|case| case.now_unix == now && case.max_age_seconds == 86_400)
    );
    // The vectors were recorded at `now_unix`: judge them by that clock.
    let app =
        spawn_app_with(|config| config.auth.init_data_clock = InitDataClock::Fixed(now)).await;

    for case in &vectors.cases {
        let response = app
            .post_json(
                "/api/auth/max",
                &serde_json::json!({ "init_data": case.init_data }),
            )
            .await;
        let (status, code) = match case.expect.as_str() {
            "ok" => (200, None),
            "bad_signature" => (401, Some("init_data_invalid")),
            "expired" => (401, Some("init_data_expired")),
            "malformed" => (401, Some("init_data_malformed")),
            other => panic!("unknown expectation {other}"),
        };
        assert_eq!(response.status().as_u16(), status, "{}", case.name);
        let body: serde_json::Value = response.json().await.unwrap();
        match code {
            Some(code) => assert_eq!(body["code"], code, "{}", case.name),
            None => {
                assert!(body["access_token"].is_string(), "{}", case.name);
                assert!(body["refresh_token"].is_string(), "{}", case.name);
            }
        }
    }
}

#[tokio::test]
async fn a_fresh_vector_signs_in_creates_the_user_and_returns_the_start_param() {
    let app = spawn_app().await;
    let user = max_user_json(1001, "Вася", Some("vasya"));
    let init_data = sign_init_data(
        BOT_TOKEN,
        &[
            ("user", &user),
            ("start_param", "login_abc"),
            ("query_id", "q1"),
        ],
        chrono::Utc::now().timestamp(),
    );
    let response = app
        .post_json(
            "/api/auth/max",
            &serde_json::json!({ "init_data": init_data }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["start_param"], "login_abc");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["display_name"], "Вася");
    assert_eq!(body["user"]["handle"], "vasya");

    // The same Max account signs in again as the same user.
    let again = app.sign_in(1001, "Вася", Some("vasya")).await;
    assert_eq!(again.user["id"], body["user"]["id"]);

    let me = app
        .get_as("/api/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["id"], body["user"]["id"]);
}

#[tokio::test]
async fn fresh_vectors_in_milliseconds_and_doubly_encoded_are_accepted() {
    let app = spawn_app().await;
    let user = max_user_json(1002, "Anna", None);
    let millis = chrono::Utc::now().timestamp_millis();
    let init_data = sign_init_data(BOT_TOKEN, &[("user", &user)], millis);
    let response = app
        .post_json(
            "/api/auth/max",
            &serde_json::json!({ "init_data": init_data }),
        )
        .await;
    assert_eq!(response.status(), 200, "milliseconds");

    let seconds = sign_init_data(
        BOT_TOKEN,
        &[("user", &user)],
        chrono::Utc::now().timestamp(),
    );
    let doubly_encoded: String = reqwest::Url::parse("http://x/")
        .map(|mut url| {
            url.query_pairs_mut().append_pair("v", &seconds);
            url.query().unwrap().trim_start_matches("v=").to_owned()
        })
        .unwrap();
    assert!(!doubly_encoded.contains('='));
    let response = app
        .post_json(
            "/api/auth/max",
            &serde_json::json!({ "init_data": doubly_encoded }),
        )
        .await;
    assert_eq!(response.status(), 200, "doubly encoded");
}

#[tokio::test]
async fn fresh_vectors_that_are_tampered_stale_or_from_the_future_are_refused() {
    let app = spawn_app().await;
    let user = max_user_json(1003, "Eve", None);
    let now = chrono::Utc::now().timestamp();

    let signed = sign_init_data(BOT_TOKEN, &[("user", &user)], now);
    let tampered = signed.replace("Eve", "Bob");
    let response = app
        .post_json(
            "/api/auth/max",
            &serde_json::json!({ "init_data": tampered }),
        )
        .await;
    assert_json_error(response, 401, "init_data_invalid").await;

    let other_bot = sign_init_data("1:other", &[("user", &user)], now);
    let response = app
        .post_json(
            "/api/auth/max",
            &serde_json::json!({ "init_data": other_bot }),
        )
        .await;
    assert_json_error(response, 401, "init_data_invalid").await;

    let stale = sign_init_data(BOT_TOKEN, &[("user", &user)], now - 86_400 - 60);
    let response = app
        .post_json("/api/auth/max", &serde_json::json!({ "init_data": stale }))
        .await;
    assert_json_error(response, 401, "init_data_expired").await;

    let future = sign_init_data(BOT_TOKEN, &[("user", &user)], now + 3600);
    let response = app
        .post_json("/api/auth/max", &serde_json::json!({ "init_data": future }))
        .await;
    assert_json_error(response, 401, "init_data_expired").await;

    let response = app
        .post_json("/api/auth/max", &serde_json::json!({ "init_data": "" }))
        .await;
    assert_json_error(response, 401, "init_data_malformed").await;

    let response = app
        .post_json("/api/auth/max", &serde_json::json!({ "nothing": 1 }))
        .await;
    assert_json_error(response, 400, "bad_request").await;
}

#[tokio::test]
async fn without_a_bot_token_max_sign_in_is_unavailable() {
    let app = spawn_app_with(|config| config.auth.bot_token = None).await;
    let response = app
        .post_json("/api/auth/max", &serde_json::json!({ "init_data": "a=b" }))
        .await;
    assert_json_error(response, 503, "service_unavailable").await;
}
