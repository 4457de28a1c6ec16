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

#[tokio::test]
async fn signed_in_operations_use_the_bearer_scheme_and_document_their_errors() {
    let app = spawn_app().await;
    let spec: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let schemes = spec["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let bearer = schemes.values().next().expect("one scheme");
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");

    let me = &spec["paths"]["/me"]["get"];
    assert!(
        me["security"].as_array().is_some_and(|s| !s.is_empty()),
        "GET /me needs the bearer token"
    );
    let responses = |path: &str, method: &str| -> Vec<String> {
        spec["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    for status in ["200", "400", "401", "429", "500", "503"] {
        assert!(
            responses("/auth/max", "post").contains(&status.to_owned()),
            "POST /auth/max documents {status}"
        );
    }
    for status in ["200", "202", "400", "404", "410"] {
        assert!(
            responses("/auth/qr/{id}", "get").contains(&status.to_owned()),
            "GET /auth/qr/{{id}} documents {status}"
        );
    }
    assert!(responses("/me", "patch").contains(&"409".to_owned()));
}

#[tokio::test]
async fn every_operation_documents_the_errors_its_shape_implies() {
    let app = spawn_app().await;
    let spec: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses: Vec<&str> = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            // Any request can break the spec (400); a body can be too large or of another type.
            let mut implied = vec!["400"];
            if operation.get("requestBody").is_some() {
                implied.extend(["413", "415"]);
            }
            if operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                implied.push("401");
                if method != "get" {
                    implied.push("429");
                }
            }
            for status in implied {
                assert!(
                    responses.contains(&status),
                    "{method} {path} does not document {status}: {responses:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} operations");
}
