use std::time::Duration;

use crate::helpers::{admin_execute, assert_json_error, spawn_app, wait_until};

#[tokio::test]
async fn health_answers_200() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn ready_answers_200_while_the_database_answers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/ready").await.status(), 200);
}

#[tokio::test]
async fn ready_turns_503_within_5_s_when_the_database_goes_and_200_when_it_is_back() {
    let app = spawn_app().await;
    assert_eq!(app.get("/ready").await.status(), 200);

    // The database disappears under the running server (its connections are cut too).
    admin_execute(&format!(r#"drop database "{}" with (force)"#, app.database)).await;
    let went_unready = wait_until(Duration::from_secs(5), || async {
        app.get("/ready").await.status() == 503
    })
    .await;
    assert!(went_unready.is_some(), "/ready did not turn 503 within 5 s");
    assert_json_error(app.get("/ready").await, 503, "service_unavailable").await;
    assert_eq!(
        app.get("/health").await.status(),
        200,
        "the process is still alive"
    );
    let status: serde_json::Value = app.get("/api/status").await.json().await.unwrap();
    assert_eq!(status["database"], "unavailable");

    // It comes back: the same server recovers without a restart.
    admin_execute(&format!(r#"create database "{}""#, app.database)).await;
    let recovered = wait_until(Duration::from_secs(10), || async {
        app.get("/ready").await.status() == 200
    })
    .await;
    assert!(recovered.is_some(), "/ready did not recover");
}

#[tokio::test]
async fn status_reports_the_version_and_the_database() {
    let app = spawn_app().await;
    let response = app.get("/api/status").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["database"], "ok");
    assert_eq!(body["max_upload_bytes"], 20 * 1024 * 1024);
}
