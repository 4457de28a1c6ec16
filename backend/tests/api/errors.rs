use crate::helpers::{assert_json_error, spawn_app};

#[tokio::test]
async fn an_unknown_api_route_is_a_json_404() {
    let app = spawn_app().await;
    assert_json_error(app.get("/api/no-such-thing").await, 404, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("/api/status"))
        .send()
        .await
        .unwrap();
    assert_json_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn a_post_to_a_client_route_is_a_json_405() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/settings")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_json_error(response, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn every_response_forbids_content_sniffing() {
    let app = spawn_app().await;
    for path in ["/health", "/api/status", "/api/no-such-thing", "/"] {
        let response = app.get(path).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}
