//! Access tokens are checked strictly; refresh tokens rotate, and a reused one ends its
//! session.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{JWT_SECRET, TestApp, assert_json_error, spawn_app};

/// Claims as the server issues them, for `user_id` in the session of `valid_token`.
fn claims_like(valid_token: &str) -> serde_json::Value {
    let payload = valid_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn forge(claims: &serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = app.get_as("/api/me", token).await;
    assert_eq!(response.status(), 401, "{what}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_token", "{what}");
}

#[tokio::test]
async fn forged_and_mistyped_access_tokens_are_refused() {
    let app = spawn_app().await;
    let session = app.sign_in(2001, "Ann", None).await;
    let valid = claims_like(&session.access_token);

    // The untouched claims re-signed with the right key are accepted: the cases below fail
    // only for the one thing each changes.
    assert_eq!(
        app.get_as("/api/me", &forge(&valid, JWT_SECRET))
            .await
            .status(),
        200
    );

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(valid.to_string())
    );
    assert_refused(&app, &unsigned, "alg none").await;
    assert_refused(
        &app,
        &forge(&valid, "another-secret-another-secret-0000"),
        "wrong key",
    )
    .await;

    let now = chrono::Utc::now().timestamp();
    let mut expired = valid.clone();
    expired["iat"] = json!(now - 3600);
    // Past the 5 s leeway, by a second.
    expired["exp"] = json!(now - 6);
    assert_refused(&app, &forge(&expired, JWT_SECRET), "expired").await;

    let mut from_the_future = valid.clone();
    from_the_future["iat"] = json!(now + 60);
    assert_refused(
        &app,
        &forge(&from_the_future, JWT_SECRET),
        "issued in the future",
    )
    .await;

    let mut untyped = valid.clone();
    untyped.as_object_mut().unwrap().remove("typ");
    assert_refused(&app, &forge(&untyped, JWT_SECRET), "no typ").await;

    let mut wrong_issuer = valid.clone();
    wrong_issuer["iss"] = json!("someone-else");
    assert_refused(&app, &forge(&wrong_issuer, JWT_SECRET), "wrong iss").await;

    let mut wrong_audience = valid.clone();
    wrong_audience["aud"] = json!("another-api");
    assert_refused(&app, &forge(&wrong_audience, JWT_SECRET), "wrong aud").await;

    let mut wrong_type = valid.clone();
    wrong_type["typ"] = json!("refresh");
    assert_refused(&app, &forge(&wrong_type, JWT_SECRET), "wrong typ").await;

    let mut other_user = valid.clone();
    other_user["sub"] = json!("999999");
    assert_refused(
        &app,
        &forge(&other_user, JWT_SECRET),
        "sub outside its session",
    )
    .await;

    assert_refused(
        &app,
        session.refresh_token(),
        "a refresh token as access token",
    )
    .await;
    assert_eq!(
        app.client
            .get(app.url("/api/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let app = spawn_app().await;
    let session = app.sign_in(2002, "Ann", None).await;
    let response = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": session.access_token }),
        )
        .await;
    assert_json_error(response, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn a_refresh_token_rotates_and_works_once() {
    let app = spawn_app().await;
    let first = app.sign_in(2003, "Ann", None).await;
    let response = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": first.refresh_token() }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let second: crate::helpers::SignedIn = response.json().await.unwrap();
    assert_ne!(second.refresh_token(), first.refresh_token());
    assert_eq!(second.user_id(), first.user_id());
    assert_eq!(
        app.get_as("/api/me", &second.access_token).await.status(),
        200
    );

    let third = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": second.refresh_token() }),
        )
        .await;
    assert_eq!(third.status(), 200, "the successor works too");
}

#[tokio::test]
async fn a_reused_refresh_token_ends_its_whole_family() {
    let app = spawn_app().await;
    let stolen = app.sign_in(2004, "Ann", None).await;
    let other_device = app.sign_in(2004, "Ann", None).await;
    let rotated: crate::helpers::SignedIn = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": stolen.refresh_token() }),
        )
        .await
        .json()
        .await
        .unwrap();

    let reuse = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": stolen.refresh_token() }),
        )
        .await;
    assert_json_error(reuse, 401, "refresh_token_reused").await;

    // Every token of that session is dead now.
    let successor = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": rotated.refresh_token() }),
        )
        .await;
    assert_json_error(successor, 401, "invalid_refresh_token").await;
    assert_refused(
        &app,
        &rotated.access_token,
        "access token of the ended family",
    )
    .await;

    // Other sessions of the same user are not affected.
    assert_eq!(
        app.get_as("/api/me", &other_device.access_token)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn logging_out_kills_the_refresh_and_access_tokens() {
    let app = spawn_app().await;
    let session = app.sign_in(2005, "Ann", None).await;
    let response = app
        .post_json(
            "/api/auth/logout",
            &json!({ "refresh_token": session.refresh_token() }),
        )
        .await;
    assert_eq!(response.status(), 204);

    let refresh = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": session.refresh_token() }),
        )
        .await;
    assert_json_error(refresh, 401, "invalid_refresh_token").await;
    assert_refused(&app, &session.access_token, "access token after logout").await;

    // Without a token there is nothing left to end.
    let missing = app.post_json("/api/auth/logout", &json!({})).await;
    assert_eq!(missing.status(), 204);
    let missing = app.post_json("/api/auth/refresh", &json!({})).await;
    assert_json_error(missing, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let app = spawn_app().await;
    let phone = app.sign_in(2006, "Ann", None).await;
    let laptop = app.sign_in(2006, "Ann", None).await;
    let response = app
        .client
        .post(app.url("/api/auth/logout-all"))
        .bearer_auth(&phone.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let ended: serde_json::Value = response.json().await.unwrap();
    assert_eq!(ended["sessions_ended"], 2, "{ended}");
    for session in [&phone, &laptop] {
        assert_refused(&app, &session.access_token, "after logout-all").await;
        let refresh = app
            .post_json(
                "/api/auth/refresh",
                &json!({ "refresh_token": session.refresh_token() }),
            )
            .await;
        assert_eq!(refresh.status(), 401);
    }
}

#[tokio::test]
async fn the_session_list_shows_each_device_and_one_can_be_ended() {
    let app = spawn_app().await;
    let phone = app.sign_in(2007, "Ann", None).await;
    let laptop = app.sign_in(2007, "Ann", None).await;

    let sessions: Vec<serde_json::Value> = app
        .get_as("/api/me/sessions", &phone.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        sessions
            .iter()
            .all(|s| s["method"] == "max" && s["ip"] == "127.0.0.1")
    );
    let laptop_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ended = app
        .client
        .delete(app.url(&format!("/api/me/sessions/{laptop_id}")))
        .bearer_auth(&phone.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    assert_refused(&app, &laptop.access_token, "the ended session").await;
    assert_eq!(
        app.get_as("/api/me", &phone.access_token).await.status(),
        200
    );

    let again = app
        .client
        .delete(app.url(&format!("/api/me/sessions/{laptop_id}")))
        .bearer_auth(&phone.access_token)
        .send()
        .await
        .unwrap();
    assert_json_error(again, 404, "not_found").await;
}

#[tokio::test]
async fn browsers_keep_the_refresh_token_in_an_http_only_cookie() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = app.sign_in_by_cookie(&browser, 2008).await;
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let refresh = cookies
        .iter()
        .find(|cookie| cookie.starts_with("gallery_refresh="))
        .expect("the refresh cookie");
    for attribute in [
        "gallery_refresh=rt_",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/auth",
    ] {
        assert!(refresh.contains(attribute), "{attribute} in {refresh}");
    }
    let hint = cookies
        .iter()
        .find(|cookie| cookie.starts_with("gallery_session="))
        .expect("the hint cookie");
    assert!(
        !hint.contains("rt_") && !hint.contains("HttpOnly"),
        "the hint holds no secret: {hint}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["refresh_token"].is_null(), "not exposed to scripts");

    let refreshed = browser
        .post(app.url("/api/auth/refresh"))
        .header("X-Token-Delivery", "cookie")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200, "the cookie refreshes");

    let logout = browser
        .post(app.url("/api/auth/logout"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers().get_all("set-cookie");
    assert_eq!(cleared.iter().count(), 2, "both cookies are cleared");
    assert!(
        cleared
            .iter()
            .all(|value| value.to_str().unwrap().contains("Max-Age=0"))
    );
    let after = browser
        .post(app.url("/api/auth/refresh"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_json_error(after, 401, "invalid_refresh_token").await;
}

#[tokio::test]
async fn of_two_simultaneous_refreshes_with_one_token_only_one_can_win() {
    let app = spawn_app().await;
    let session = app.sign_in(2009, "Ann", None).await;
    let body = json!({ "refresh_token": session.refresh_token() });
    let (first, second) = tokio::join!(
        app.post_json("/api/auth/refresh", &body),
        app.post_json("/api/auth/refresh", &body)
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 401],
        "exactly one rotation; the other is a reuse"
    );
    // The reuse ended the family, the winner's new tokens included.
    let winner: crate::helpers::SignedIn = if first.status() == 200 {
        first.json().await.unwrap()
    } else {
        second.json().await.unwrap()
    };
    let after = app
        .post_json(
            "/api/auth/refresh",
            &json!({ "refresh_token": winner.refresh_token() }),
        )
        .await;
    assert_eq!(after.status(), 401);
}

#[tokio::test]
async fn a_token_from_the_cookie_is_never_handed_to_a_script() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signed_in = app.sign_in_by_cookie(&browser, 2010).await;
    assert_eq!(signed_in.status(), 200);
    // A script (XSS) asks without the delivery header, hoping for the token in the body.
    let refreshed: serde_json::Value = browser
        .post(app.url("/api/auth/refresh"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(refreshed["access_token"].is_string());
    assert!(
        refreshed["refresh_token"].is_null(),
        "the successor stays in the cookie"
    );
}

/// Many signed-in requests at once are checked together: each still gets its own user, a
/// session that ended is refused even among live ones, and a token whose session is live but
/// names another user is refused.
#[tokio::test]
async fn sessions_checked_together_each_get_their_own_answer() {
    let app = spawn_app().await;
    let mut live = Vec::new();
    for n in 0..4 {
        live.push(app.sign_in(2300 + n, "Many", None).await);
    }
    let ended = app.sign_in(2310, "Ended", None).await;
    let response = app
        .post_json(
            "/api/auth/logout",
            &json!({ "refresh_token": ended.refresh_token() }),
        )
        .await;
    assert_eq!(response.status(), 204);
    // Another user's id in a token of a live session.
    let mut claims = claims_like(&live[0].access_token);
    claims["sub"] = json!(live[1].user_id().to_string());
    let mismatched = forge(&claims, crate::helpers::JWT_SECRET);

    let requests = (0..40).map(|n| {
        let (token, expected) = match n % 6 {
            4 => (ended.access_token.clone(), None),
            5 => (mismatched.clone(), None),
            k => (live[k].access_token.clone(), Some(live[k].user_id())),
        };
        let app = &app;
        async move {
            let response = app.get_as("/api/me", &token).await;
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (expected, status, body)
        }
    });
    for (expected, status, body) in futures_util::future::join_all(requests).await {
        match expected {
            Some(user_id) => {
                assert_eq!(status, 200, "{body}");
                assert_eq!(body["id"], user_id, "{body}");
            }
            None => {
                assert_eq!(status, 401, "{body}");
                assert_eq!(body["code"], "invalid_token", "{body}");
            }
        }
    }
}
