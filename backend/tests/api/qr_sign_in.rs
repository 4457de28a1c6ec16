//! Desktop sign-in by QR code, end to end.

use std::time::{Duration, Instant};

use crate::helpers::{BOT_USERNAME, SignedIn, TestApp, assert_json_error, spawn_app};

const FIREFOX_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

struct Request {
    id: String,
    secret: String,
    /// The number the desktop shows.
    match_code: u64,
}

async fn start(app: &TestApp) -> Request {
    let response = app
        .client
        .post(app.url("/api/auth/qr"))
        .header("user-agent", FIREFOX_ON_LINUX)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert_eq!(
        body["deep_link"],
        format!("https://max.ru/{BOT_USERNAME}?startapp=login_{id}")
    );
    let match_code = body["match_code"].as_u64().unwrap();
    assert!((10..=99).contains(&match_code), "two digits: {match_code}");
    Request {
        id,
        secret: body["poll_secret"].as_str().unwrap().to_owned(),
        match_code,
    }
}

async fn poll(app: &TestApp, request: &Request, wait: u64) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/auth/qr/{}?wait={wait}", request.id)))
        .header("X-Poll-Secret", &request.secret)
        .send()
        .await
        .unwrap()
}

/// Approves, picking the number the desktop shows.
async fn approve(app: &TestApp, request: &Request, phone: &SignedIn) -> reqwest::Response {
    approve_picking(app, request, phone, request.match_code).await
}

async fn approve_picking(
    app: &TestApp,
    request: &Request,
    phone: &SignedIn,
    match_code: u64,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/auth/qr/{}/approve", request.id)))
        .bearer_auth(&phone.access_token)
        .json(&serde_json::json!({ "match_code": match_code }))
        .send()
        .await
        .unwrap()
}

async fn describe(app: &TestApp, request: &Request, phone: &SignedIn) -> reqwest::Response {
    app.get_as(
        &format!("/api/auth/qr/{}/request", request.id),
        &phone.access_token,
    )
    .await
}

async fn decline(app: &TestApp, request: &Request, phone: &SignedIn) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/auth/qr/{}/decline", request.id)))
        .bearer_auth(&phone.access_token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_desktop_is_signed_in_once_by_a_phone_that_approves() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    assert_eq!(
        poll(&app, &desktop, 0).await.status(),
        202,
        "pending until approved"
    );

    let phone = app.sign_in(5001, "Ann", None).await;
    let seen: serde_json::Value = app
        .get_as(
            &format!("/api/auth/qr/{}/request", desktop.id),
            &phone.access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["device"], "Firefox on Linux");
    assert_eq!(seen["ip"], "127.0.0.1");

    // The desktop is already waiting when the phone approves: it answers at once.
    let waiting = {
        let client = app.client.clone();
        let url = app.url(&format!("/api/auth/qr/{}?wait=25", desktop.id));
        let secret = desktop.secret.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = client
                .get(url)
                .header("X-Poll-Secret", secret)
                .send()
                .await
                .unwrap();
            (response, started)
        })
    };
    assert_eq!(approve(&app, &desktop, &phone).await.status(), 204);
    let approved_at = Instant::now();
    let (response, _) = waiting.await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        approved_at.elapsed() < Duration::from_secs(5),
        "the wait ends with the approval"
    );
    let signed_in: SignedIn = response.json().await.unwrap();
    assert_eq!(signed_in.user_id(), phone.user_id());
    assert_eq!(
        app.get_as("/api/me", &signed_in.access_token)
            .await
            .status(),
        200
    );

    let sessions: Vec<serde_json::Value> = app
        .get_as("/api/me/sessions", &phone.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        sessions
            .iter()
            .any(|s| s["method"] == "qr" && s["device"] == "Firefox on Linux")
    );

    // Single use.
    assert_json_error(poll(&app, &desktop, 0).await, 410, "qr_login_gone").await;
    assert_json_error(approve(&app, &desktop, &phone).await, 410, "qr_login_gone").await;
}

#[tokio::test]
async fn a_wrong_poll_secret_learns_nothing() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    let phone = app.sign_in(5002, "Ann", None).await;
    assert_eq!(approve(&app, &desktop, &phone).await.status(), 204);
    let thief = Request {
        id: desktop.id.clone(),
        secret: "guessed".into(),
        match_code: desktop.match_code,
    };
    assert_json_error(poll(&app, &thief, 0).await, 404, "not_found").await;
    assert_eq!(
        poll(&app, &desktop, 0).await.status(),
        200,
        "the real desktop still can"
    );
}

#[tokio::test]
async fn an_expired_request_can_be_neither_approved_nor_collected() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    let phone = app.sign_in(5003, "Ann", None).await;
    assert_eq!(approve(&app, &desktop, &phone).await.status(), 204);
    // Two minutes pass.
    admin_execute_in(
        &app,
        &format!(
            "update qr_logins set expires_at = now() - interval '1 second' where id = '{}'",
            desktop.id
        ),
    )
    .await;
    assert_json_error(poll(&app, &desktop, 0).await, 410, "qr_login_gone").await;

    let late = start(&app).await;
    admin_execute_in(
        &app,
        &format!(
            "update qr_logins set expires_at = now() - interval '1 second' where id = '{}'",
            late.id
        ),
    )
    .await;
    assert_json_error(approve(&app, &late, &phone).await, 410, "qr_login_gone").await;
}

#[tokio::test]
async fn approving_twice_is_a_conflict_and_unknown_requests_are_404() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    let phone = app.sign_in(5004, "Ann", None).await;
    assert_eq!(approve(&app, &desktop, &phone).await.status(), 204);
    assert_json_error(
        approve(&app, &desktop, &phone).await,
        409,
        "qr_login_already_approved",
    )
    .await;

    let unknown = Request {
        id: "nope".into(),
        secret: "x".into(),
        match_code: 10,
    };
    assert_json_error(approve(&app, &unknown, &phone).await, 404, "not_found").await;
    let anonymous = app
        .client
        .post(app.url(&format!("/api/auth/qr/{}/approve", desktop.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// Runs SQL in the test app's own database.
async fn admin_execute_in(app: &TestApp, sql: &str) {
    use sqlx::{Connection, Executor};
    let mut connection =
        sqlx::PgConnection::connect(crate::helpers::database_url(&app.database).as_str())
            .await
            .unwrap();
    connection
        .execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_declined_request_is_over() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    let phone = app.sign_in(5005, "Ann", None).await;
    assert_eq!(decline(&app, &desktop, &phone).await.status(), 204);
    assert_json_error(poll(&app, &desktop, 0).await, 410, "qr_login_gone").await;
    assert_json_error(approve(&app, &desktop, &phone).await, 410, "qr_login_gone").await;
}

#[tokio::test]
async fn the_phone_must_pick_the_number_the_desktop_shows() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    let phone = app.sign_in(5101, "Ann", None).await;
    let info: serde_json::Value = describe(&app, &desktop, &phone).await.json().await.unwrap();
    let choices: Vec<u64> = info["match_choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|choice| choice.as_u64().unwrap())
        .collect();
    assert_eq!(choices.len(), 3, "{info}");
    assert!(choices.contains(&desktop.match_code), "{info}");
    let mut distinct = choices.clone();
    distinct.dedup();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{info}");
    // The same choices every time the phone looks: looking again teaches nothing.
    let again: serde_json::Value = describe(&app, &desktop, &phone).await.json().await.unwrap();
    assert_eq!(again["match_choices"], info["match_choices"]);

    // A wrong pick (a forwarded link, approved blindly) cancels the request for good.
    let wrong = choices
        .iter()
        .copied()
        .find(|choice| *choice != desktop.match_code)
        .unwrap();
    assert_json_error(
        approve_picking(&app, &desktop, &phone, wrong).await,
        403,
        "qr_login_mismatch",
    )
    .await;
    assert_json_error(poll(&app, &desktop, 0).await, 410, "qr_login_gone").await;
    assert_json_error(approve(&app, &desktop, &phone).await, 410, "qr_login_gone").await;
}

#[tokio::test]
async fn only_the_first_user_to_open_a_request_may_see_approve_or_decline_it() {
    let app = spawn_app().await;
    let desktop = start(&app).await;
    let owner = app.sign_in(5102, "Ann", None).await;
    let stranger = app.sign_in(5103, "Eve", None).await;
    assert_eq!(describe(&app, &desktop, &owner).await.status(), 200);
    assert_json_error(describe(&app, &desktop, &stranger).await, 404, "not_found").await;
    assert_json_error(approve(&app, &desktop, &stranger).await, 404, "not_found").await;
    assert_json_error(decline(&app, &desktop, &stranger).await, 404, "not_found").await;
    assert_eq!(approve(&app, &desktop, &owner).await.status(), 204);
    let signed_in: serde_json::Value = poll(&app, &desktop, 0).await.json().await.unwrap();
    assert_eq!(
        signed_in["user"]["display_name"], "Ann",
        "the desktop learns who approved"
    );
}
