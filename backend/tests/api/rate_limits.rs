//! Quotas: per client IP on sign-in, per handle on password sign-in, per user on writes.

use serde_json::json;

use crate::helpers::{TestApp, assert_json_error, spawn_app_with};

async fn sign_in_attempt(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/max"))
        .header("X-Forwarded-For", forwarded_for)
        .header("X-Real-IP", forwarded_for)
        .json(&json!({ "init_data": "garbage" }))
        .send()
        .await
        .unwrap()
}

async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_json_error(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_burst_over_the_sign_in_quota_gets_429_and_spoofed_headers_change_nothing() {
    let app = spawn_app_with(|config| config.rate_limits.sign_in_per_minute = 3).await;
    for attempt in 0..3 {
        // Each claims another address; the server only believes the socket.
        let response = sign_in_attempt(&app, &format!("198.51.100.{attempt}")).await;
        assert_eq!(response.status(), 401, "attempt {attempt} is within quota");
    }
    assert_rate_limited(sign_in_attempt(&app, "198.51.100.99").await).await;
    // Other routes are not sign-in routes.
    assert_eq!(app.get("/api/status").await.status(), 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_quota() {
    let app = spawn_app_with(|config| {
        config.rate_limits.sign_in_per_minute = 2;
        config.rate_limits.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(sign_in_attempt(&app, "198.51.100.1").await.status(), 401);
    }
    assert_rate_limited(sign_in_attempt(&app, "198.51.100.1").await).await;
    assert_eq!(
        sign_in_attempt(&app, "198.51.100.2").await.status(),
        401,
        "another client"
    );
}

#[tokio::test]
async fn password_attempts_are_limited_per_handle_and_client() {
    let app = spawn_app_with(|config| {
        config.rate_limits.login_per_handle_per_minute = 2;
        config.rate_limits.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let attempt = |handle: &'static str, from: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/auth/login"))
                .header("X-Forwarded-For", from)
                .json(&json!({ "handle": handle, "password": "wrong password" }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(attempt("victim", "198.51.100.1").await.status(), 401);
    // Spellings that reach the same account share its bucket.
    assert_eq!(
        attempt(" VICTIM\u{3000}", "198.51.100.1").await.status(),
        401
    );
    assert_rate_limited(attempt("victim", "198.51.100.1").await).await;
    // That client is out of attempts for this handle, not for others, and the handle's owner
    // elsewhere is not locked out by it.
    assert_eq!(attempt("someone_else", "198.51.100.1").await.status(), 401);
    assert_eq!(attempt("victim", "198.51.100.2").await.status(), 401);
}

#[tokio::test]
async fn signing_in_elsewhere_behind_the_same_address_does_not_stop_refreshing() {
    let app = spawn_app_with(|config| config.rate_limits.sign_in_per_minute = 1).await;
    let ann = app.sign_in(6101, "Ann", None).await;
    // The address's sign-ins are spent (one user behind the NAT signing in again and again).
    assert_rate_limited(sign_in_attempt(&app, "198.51.100.1").await).await;
    // Ann's session still refreshes, and she can still sign out.
    let refreshed = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": ann.refresh_token() }),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: serde_json::Value = refreshed.json().await.unwrap();
    let logout = app
        .post_json(
            "/api/auth/logout",
            &json!({ "refresh_token": refreshed["refresh_token"] }),
        )
        .await;
    assert_eq!(logout.status(), 204);
}

#[tokio::test]
async fn one_session_cannot_refresh_without_end() {
    let app = spawn_app_with(|config| config.rate_limits.refresh_per_session_per_minute = 2).await;
    let ann = app.sign_in(6102, "Ann", None).await;
    let mut token = ann.refresh_token().to_owned();
    for _ in 0..2 {
        let response = app
            .post_json("/api/auth/refresh", &json!({ "refresh_token": token }))
            .await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    assert_rate_limited(
        app.post_json("/api/auth/refresh", &json!({ "refresh_token": token }))
            .await,
    )
    .await;
    // Another session is not affected.
    let bob = app.sign_in(6103, "Bob", None).await;
    let response = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": bob.refresh_token() }),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn writes_are_limited_per_user() {
    let app = spawn_app_with(|config| config.rate_limits.writes_per_minute = 2).await;
    let ann = app.sign_in(6001, "Ann", None).await;
    let bob = app.sign_in(6002, "Bob", None).await;
    let patch = |token: String| {
        let app = &app;
        async move {
            app.client
                .patch(app.url("/api/me"))
                .bearer_auth(token)
                .json(&json!({ "bio": "hi" }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(patch(ann.access_token.clone()).await.status(), 200);
    assert_eq!(patch(ann.access_token.clone()).await.status(), 200);
    assert_rate_limited(patch(ann.access_token.clone()).await).await;
    assert_eq!(
        patch(bob.access_token.clone()).await.status(),
        200,
        "another user"
    );
    // Reads are not writes.
    assert_eq!(app.get_as("/api/me", &ann.access_token).await.status(), 200);
}

#[tokio::test]
async fn a_padded_sign_in_body_cannot_skip_the_handle_limit() {
    let app = spawn_app_with(|config| config.rate_limits.login_per_handle_per_minute = 1).await;
    let attempt = |body: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/auth/login"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let plain = r#"{"handle":"victim","password":"first guess"}"#.to_owned();
    assert_eq!(
        attempt(plain).await.status(),
        401,
        "the one attempt allowed"
    );
    // White space a JSON parser skips, and a spelling of the handle the lookup folds: the
    // handle is still the victim's, and so is the bucket.
    let padded = format!(
        r#"{{"handle":" VICTIM ",{}"password":"second guess"}}{}"#,
        " ".repeat(5000),
        "\n".repeat(5000)
    );
    assert_rate_limited(attempt(padded).await).await;
}

#[tokio::test]
async fn api_bodies_are_capped() {
    let app = spawn_app_with(|_| {}).await;
    let huge = json!({ "init_data": "x".repeat(100 * 1024) });
    assert_json_error(
        app.post_json("/api/auth/max", &huge).await,
        413,
        "payload_too_large",
    )
    .await;
}
