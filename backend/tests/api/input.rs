//! Input that a database or a person cannot use is refused at the edge with a clear 4xx:
//! NUL characters anywhere, over-long searches, searching too often.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{assert_json_error, spawn_app, spawn_app_with},
    images,
    photos::{upload, upload_as},
};

#[tokio::test]
async fn a_nul_character_anywhere_is_400_invalid_text() {
    let app = spawn_app().await;
    let ann = app.sign_in(7301, "Ann", Some("ann_7301")).await;
    let photo = upload(
        &app,
        &ann,
        images::jpeg(&images::two_tone(32, 32, 7301)),
        "plain",
    )
    .await;
    let photo_id = photo["id"].as_i64().unwrap();

    // In the query and the path.
    for path in [
        "/api/search?q=sun%00set",
        "/api/photos?tag=a%00b",
        "/api/auth/qr/abc%00/request",
    ] {
        assert_json_error(app.get(path).await, 400, "invalid_text").await;
    }
    // In every kind of JSON body: sign-in, profile, photo.
    let nul = "a\u{0}b";
    let requests = [
        app.client
            .post(app.url("/api/auth/login"))
            .json(&json!({ "handle": nul, "password": "whatever it is" })),
        app.client
            .post(app.url("/api/auth/max"))
            .json(&json!({ "init_data": nul })),
        app.client
            .patch(app.url("/api/me"))
            .bearer_auth(&ann.access_token)
            .json(&json!({ "bio": nul })),
        app.client
            .patch(app.url("/api/me"))
            .bearer_auth(&ann.access_token)
            .json(&json!({ "display_name": nul })),
        app.client
            .patch(app.url(&format!("/api/photos/{photo_id}")))
            .bearer_auth(&ann.access_token)
            .json(&json!({ "tags": ["ok", nul] })),
        app.client
            .put(app.url("/api/me/password"))
            .bearer_auth(&ann.access_token)
            .json(&json!({ "new_password": format!("long enough {nul}") })),
    ];
    for request in requests {
        assert_json_error(request.send().await.unwrap(), 400, "invalid_text").await;
    }
    // In an upload's text fields.
    let refused = upload_as(
        &app,
        &ann,
        images::jpeg(&images::two_tone(32, 32, 7302)),
        "photo.jpg",
        "image/jpeg",
        nul,
    )
    .await;
    assert_json_error(refused, 400, "invalid_text").await;

    // Nothing stored changed.
    let me: serde_json::Value = app
        .get_as("/api/me", &ann.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["bio"].as_str(), me["display_name"].as_str()),
        (Some(""), Some("Ann"))
    );
    let unchanged: serde_json::Value = app
        .get(&format!("/api/photos/{photo_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["tags"], photo["tags"]);
}

#[tokio::test]
async fn a_backslash_u0000_written_out_is_ordinary_text() {
    let app = spawn_app().await;
    let ann = app.sign_in(7303, "Ann", None).await;
    let response = app
        .client
        .patch(app.url("/api/me"))
        .bearer_auth(&ann.access_token)
        .json(&json!({ "bio": "JSON writes NUL as \\u0000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["bio"], "JSON writes NUL as \\u0000");
}

#[tokio::test]
async fn a_search_is_at_most_200_characters() {
    let app = spawn_app().await;
    let at_most = "я".repeat(200);
    let response = app.get(&format!("/api/search?q={at_most}")).await;
    assert_eq!(response.status(), 200);
    let too_long = "я".repeat(201);
    assert_json_error(
        app.get(&format!("/api/search?q={too_long}")).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn searching_is_limited_per_client() {
    let app = spawn_app_with(|config| config.rate_limits.searches_per_minute = 2).await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/search?q=sea").await.status(), 200);
    }
    let refused = app.get("/api/search?q=sea").await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_json_error(refused, 429, "rate_limited").await;
}
