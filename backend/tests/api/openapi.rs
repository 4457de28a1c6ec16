use crate::helpers::spawn_app;

#[tokio::test]
async fn the_spec_is_valid_openapi_3_and_lists_the_operations() {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    let raw: serde_json::Value = response.json().await.unwrap();
    assert!(
        raw["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "openapi version in {}",
        raw["openapi"]
    );

    // A full structural parse: every object has the fields OpenAPI 3 requires.
    let spec: openapiv3::OpenAPI = serde_json::from_value(raw).expect("a valid OpenAPI 3 document");
    assert_eq!(spec.servers[0].url, "/api");
    let status = spec.paths.paths["/status"]
        .as_item()
        .and_then(|item| item.get.as_ref())
        .expect("GET /status is documented");
    assert!(
        status
            .responses
            .responses
            .contains_key(&openapiv3::StatusCode::Code(200))
    );
}

#[tokio::test]
async fn swagger_ui_is_served() {
    let app = spawn_app().await;
    let response = app.get("/api/docs/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
}
