//! Password sign-in for desktop browsers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    BOT_TOKEN, SignedIn, TestApp, assert_json_error, fresh_init_data, max_user_json,
    sign_init_data, spawn_app, spawn_app_with,
};

/// `PUT /api/me/password` with `body`.
async fn put_password(app: &TestApp, session: &SignedIn, body: Value) -> reqwest::Response {
    app.client
        .put(app.url("/api/me/password"))
        .bearer_auth(&session.access_token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Sets a password as the mini-app does: with fresh initData of Max user `max_user_id`.
async fn set_password(
    app: &TestApp,
    session: &SignedIn,
    max_user_id: i64,
    new: &str,
) -> reqwest::Response {
    put_password(
        app,
        session,
        json!({ "init_data": fresh_init_data(max_user_id), "new_password": new }),
    )
    .await
}

/// Replaces the password with the current one as proof (a desktop can).
async fn change_password(
    app: &TestApp,
    session: &SignedIn,
    current: Option<&str>,
    new: &str,
) -> reqwest::Response {
    put_password(
        app,
        session,
        json!({ "current_password": current, "new_password": new }),
    )
    .await
}

async fn login(app: &TestApp, handle: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/login",
        &json!({ "handle": handle, "password": password }),
    )
    .await
}

#[tokio::test]
async fn a_password_set_in_the_mini_app_signs_in_on_a_desktop() {
    let app = spawn_app().await;
    let phone = app.sign_in(3001, "Ann", Some("anna_k")).await;
    assert_eq!(
        set_password(&app, &phone, 3001, "correct horse battery")
            .await
            .status(),
        204
    );

    let response = login(&app, "ANNA_K", "correct horse battery").await;
    assert_eq!(response.status(), 200, "handles compare case-insensitively");
    let desktop: SignedIn = response.json().await.unwrap();
    assert_eq!(desktop.user_id(), phone.user_id());
    assert_eq!(desktop.user["has_password"], true);

    assert_json_error(
        login(&app, "anna_k", "wrong horse battery").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_json_error(
        login(&app, "nobody_here", "correct horse battery").await,
        401,
        "invalid_credentials",
    )
    .await;
}

#[tokio::test]
async fn password_rules_and_the_handle_requirement_are_enforced() {
    let app = spawn_app().await;
    let without_handle = app.sign_in(3002, "Bob", None).await;
    assert_json_error(
        set_password(&app, &without_handle, 3002, "long enough pass").await,
        409,
        "handle_required",
    )
    .await;

    let user = app.sign_in(3003, "Cat", Some("cat_3003")).await;
    assert_json_error(
        set_password(&app, &user, 3003, "short").await,
        422,
        "weak_password",
    )
    .await;
    assert_json_error(
        set_password(&app, &user, 3003, &"x".repeat(129)).await,
        422,
        "weak_password",
    )
    .await;
    assert_eq!(
        set_password(&app, &user, 3003, &"x".repeat(128))
            .await
            .status(),
        204
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let phone = app.sign_in(3004, "Dan", Some("dan_3004")).await;
    assert_eq!(
        set_password(&app, &phone, 3004, "first password")
            .await
            .status(),
        204
    );
    let desktop: SignedIn = login(&app, "dan_3004", "first password")
        .await
        .json()
        .await
        .unwrap();

    assert_json_error(
        change_password(&app, &phone, None, "second password").await,
        403,
        "wrong_password",
    )
    .await;
    assert_json_error(
        change_password(&app, &phone, Some("not it at all"), "second password").await,
        403,
        "wrong_password",
    )
    .await;
    assert_eq!(
        change_password(&app, &phone, Some("first password"), "second password")
            .await
            .status(),
        204
    );

    assert_eq!(
        app.get_as("/api/me", &phone.access_token).await.status(),
        200,
        "this session stays"
    );
    assert_eq!(
        app.get_as("/api/me", &desktop.access_token).await.status(),
        401,
        "others end"
    );
    assert_eq!(
        login(&app, "dan_3004", "first password").await.status(),
        401
    );
    assert_eq!(
        login(&app, "dan_3004", "second password").await.status(),
        200
    );
}

#[tokio::test]
async fn an_unknown_handle_costs_a_password_hash_like_a_known_one() {
    let app = spawn_app().await;
    let user = app.sign_in(3005, "Eve", Some("eve_3005")).await;
    assert_eq!(
        set_password(&app, &user, 3005, "the real password")
            .await
            .status(),
        204
    );

    // A refused sign-in must cost a password hash whether or not the handle exists, or its
    // answer time would tell an attacker which handles do. The two are timed in turns, so
    // that both see the same load, and the fastest of each compared with room for noise:
    // skipping the hash for unknown handles makes their answer about a hundred times faster.
    let (mut known, mut unknown) = (Duration::MAX, Duration::MAX);
    for _ in 0..4 {
        for (handle, fastest) in [("eve_3005", &mut known), ("nobody_3005", &mut unknown)] {
            let started = Instant::now();
            assert_eq!(login(&app, handle, "a wrong password").await.status(), 401);
            *fastest = (*fastest).min(started.elapsed());
        }
    }
    assert!(
        unknown >= known / 3,
        "an unknown handle was refused in {unknown:?}, a known one in {known:?}"
    );
    assert!(
        known > Duration::from_millis(5),
        "a refusal with a hash took only {known:?}: the comparison would mean nothing"
    );
}

#[tokio::test]
async fn a_stolen_access_token_cannot_set_a_first_password() {
    let app = spawn_app().await;
    let victim = app.sign_in(3101, "Vera", Some("vera_3101")).await;
    let eleven_minutes_ago = chrono::Utc::now().timestamp() - 11 * 60;
    let stale = sign_init_data(
        BOT_TOKEN,
        &[("user", &max_user_json(3101, "Vera", None))],
        eleven_minutes_ago,
    );
    let attempts = [
        // What a thief holding only the token can send.
        (json!({}), 403, "fresh_sign_in_required"),
        (
            json!({ "current_password": "a guess" }),
            403,
            "fresh_sign_in_required",
        ),
        // Max proof of another account, or too old a proof, is no proof.
        (
            json!({ "init_data": fresh_init_data(3102) }),
            403,
            "fresh_sign_in_required",
        ),
        (json!({ "init_data": stale }), 403, "fresh_sign_in_required"),
        (json!({ "init_data": "forged" }), 401, "init_data_malformed"),
    ];
    for (mut body, status, code) in attempts {
        body["new_password"] = json!("thief's own");
        assert_json_error(put_password(&app, &victim, body).await, status, code).await;
    }
    assert_eq!(login(&app, "vera_3101", "thief's own").await.status(), 401);

    // The mini-app has fresh proof.
    assert_eq!(
        set_password(&app, &victim, 3101, "vera's own one")
            .await
            .status(),
        204
    );
    // And with it the password can be replaced without the current one (a forgotten password).
    assert_eq!(
        set_password(&app, &victim, 3101, "vera's new one")
            .await
            .status(),
        204
    );
    assert_eq!(
        login(&app, "vera_3101", "vera's new one").await.status(),
        200
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_like_sign_ins() {
    let app = spawn_app_with(|config| config.rate_limits.login_per_handle_per_minute = 2).await;
    let user = app.sign_in(3103, "Gleb", Some("gleb_3103")).await;
    assert_eq!(
        set_password(&app, &user, 3103, "the real one")
            .await
            .status(),
        204
    );
    for _ in 0..2 {
        assert_json_error(
            change_password(&app, &user, Some("a guess"), "another one").await,
            403,
            "wrong_password",
        )
        .await;
    }
    let refused = change_password(&app, &user, Some("the real one"), "another one").await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_json_error(refused, 429, "rate_limited").await;
}

#[tokio::test]
async fn the_password_can_be_removed_and_signing_out_everywhere_says_if_one_remains() {
    let app = spawn_app().await;
    let phone = app.sign_in(3104, "Ira", Some("ira_3104")).await;
    assert_eq!(
        set_password(&app, &phone, 3104, "ira's password")
            .await
            .status(),
        204
    );
    let logout_all = |session: SignedIn| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/api/auth/logout-all"))
                .bearer_auth(&session.access_token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let desktop: SignedIn = login(&app, "ira_3104", "ira's password")
        .await
        .json()
        .await
        .unwrap();
    let answer = logout_all(desktop).await;
    assert_eq!(answer["password_set"], true, "{answer}");
    assert_eq!(answer["sessions_ended"], 2, "{answer}");

    let phone = app.sign_in(3104, "Ira", None).await;
    let laptop: SignedIn = login(&app, "ira_3104", "ira's password")
        .await
        .json()
        .await
        .unwrap();
    let remove = |body: Value| {
        let (app, token) = (&app, phone.access_token.clone());
        async move {
            app.client
                .delete(app.url("/api/me/password"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_json_error(remove(json!({})).await, 403, "wrong_password").await;
    assert_eq!(
        remove(json!({ "current_password": "ira's password" }))
            .await
            .status(),
        204
    );
    assert_json_error(
        login(&app, "ira_3104", "ira's password").await,
        401,
        "invalid_credentials",
    )
    .await;
    let me: Value = app
        .get_as("/api/me", &phone.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["has_password"], false);
    assert_eq!(
        app.get_as("/api/me", &laptop.access_token).await.status(),
        401,
        "the session the password started ended with it"
    );
    assert_eq!(logout_all(phone).await["password_set"], false);
}
