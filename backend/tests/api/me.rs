//! The signed-in user's profile.

use serde_json::json;

use crate::helpers::{SignedIn, TestApp, assert_json_error, spawn_app};

async fn patch_me(app: &TestApp, session: &SignedIn, body: serde_json::Value) -> reqwest::Response {
    app.client
        .patch(app.url("/api/me"))
        .bearer_auth(&session.access_token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_edits_their_profile() {
    let app = spawn_app().await;
    let session = app.sign_in(4001, "Ann", None).await;
    assert!(session.user["handle"].is_null());
    assert_eq!(session.user["language"], "en");

    let response = patch_me(
        &app,
        &session,
        json!({ "handle": "Anna_Art", "display_name": "  Anna  ", "bio": "photos", "language": "ru", "is_private": true }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["handle"], "Anna_Art");
    assert_eq!(me["display_name"], "Anna");
    assert_eq!(me["language"], "ru");
    assert_eq!(me["is_private"], true);

    // Absent fields stay; a later Max sign-in does not overwrite the user's choices.
    let response = patch_me(&app, &session, json!({ "bio": "more photos" })).await;
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["handle"], "Anna_Art");
    let again = app.sign_in(4001, "Ann", None).await;
    assert_eq!(again.user["display_name"], "Anna");
    assert_eq!(again.user["bio"], "more photos");
}

#[tokio::test]
async fn a_taken_handle_is_a_409_whatever_its_case() {
    let app = spawn_app().await;
    let first = app.sign_in(4002, "Ann", Some("photo_fan")).await;
    assert_eq!(first.user["handle"], "photo_fan");
    // The Max username is taken: the second user starts without a handle.
    let second = app.sign_in(4003, "Bob", Some("Photo_Fan")).await;
    assert!(second.user["handle"].is_null());

    assert_json_error(
        patch_me(&app, &second, json!({ "handle": "PHOTO_FAN" })).await,
        409,
        "handle_taken",
    )
    .await;
    assert_eq!(
        patch_me(&app, &second, json!({ "handle": "bob_photos" }))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn invalid_profile_fields_are_422() {
    let app = spawn_app().await;
    let session = app.sign_in(4004, "Ann", None).await;
    for handle in ["ab", "1abc", "has space", "кириллица", &"a".repeat(33)] {
        assert_json_error(
            patch_me(&app, &session, json!({ "handle": handle })).await,
            422,
            "invalid_handle",
        )
        .await;
    }
    assert_json_error(
        patch_me(&app, &session, json!({ "display_name": "   " })).await,
        422,
        "invalid_profile",
    )
    .await;
    assert_json_error(
        patch_me(&app, &session, json!({ "bio": "x".repeat(501) })).await,
        422,
        "invalid_profile",
    )
    .await;
    assert_json_error(
        patch_me(&app, &session, json!({ "language": "de" })).await,
        400,
        "bad_request",
    )
    .await;
}
