//! Password sign-in for desktop browsers.

use std::time::{Duration, Instant};

use gallery::auth::passwords::PasswordHasherPool;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{SignedIn, TestApp, assert_json_error, spawn_app};

async fn set_password(
    app: &TestApp,
    session: &SignedIn,
    current: Option<&str>,
    new: &str,
) -> reqwest::Response {
    app.client
        .put(app.url("/api/me/password"))
        .bearer_auth(&session.access_token)
        .json(&json!({ "current_password": current, "new_password": new }))
        .send()
        .await
        .unwrap()
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
        set_password(&app, &phone, None, "correct horse battery")
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
        set_password(&app, &without_handle, None, "long enough pass").await,
        422,
        "invalid_handle",
    )
    .await;

    let user = app.sign_in(3003, "Cat", Some("cat_3003")).await;
    assert_json_error(
        set_password(&app, &user, None, "short").await,
        422,
        "weak_password",
    )
    .await;
    assert_json_error(
        set_password(&app, &user, None, &"x".repeat(129)).await,
        422,
        "weak_password",
    )
    .await;
    assert_eq!(
        set_password(&app, &user, None, &"x".repeat(128))
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
        set_password(&app, &phone, None, "first password")
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
        set_password(&app, &phone, None, "second password").await,
        403,
        "wrong_password",
    )
    .await;
    assert_json_error(
        set_password(&app, &phone, Some("not it at all"), "second password").await,
        403,
        "wrong_password",
    )
    .await;
    assert_eq!(
        set_password(&app, &phone, Some("first password"), "second password")
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
        set_password(&app, &user, None, "the real password")
            .await
            .status(),
        204
    );

    // What one verification with the server's parameters costs on this machine, at the
    // least: anything else running can only make it slower, never faster.
    let hasher = PasswordHasherPool::new(1);
    let hash = hasher
        .hash(SecretString::from("a reference"))
        .await
        .unwrap();
    let mut one_hash = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        hasher
            .verify(SecretString::from("a wrong password"), Some(hash.clone()))
            .await
            .unwrap();
        one_hash = one_hash.min(started.elapsed());
    }

    // A refused sign-in must cost at least that much whether or not the handle exists, or
    // its answer time would tell an attacker which handles do. The bound is one-sided (load
    // only adds time) and halved, so it holds on a busy machine; skipping the hash for
    // unknown handles (about a millisecond instead) fails it.
    for handle in ["eve_3005", "nobody_3005"] {
        let mut fastest = Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            assert_eq!(login(&app, handle, "a wrong password").await.status(), 401);
            fastest = fastest.min(started.elapsed());
        }
        assert!(
            fastest >= one_hash / 2,
            "signing in as {handle} took {fastest:?}, one hash {one_hash:?}"
        );
    }
    assert!(
        one_hash > Duration::from_millis(5),
        "a hash took only {one_hash:?}: the comparison would mean nothing"
    );
}
