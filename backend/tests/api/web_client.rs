use crate::helpers::{
    HASHED_ASSET, HASHED_ASSET_BODY, INDEX_HTML, assert_json_error, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn the_root_serves_the_index_revalidated_on_every_load() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(response.text().await.unwrap(), INDEX_HTML);
}

#[tokio::test]
async fn client_routes_fall_back_to_the_index() {
    let app = spawn_app().await;
    for path in [
        "/settings",
        "/photos/42",
        "/users/ivan.petrov",
        "/no/such/page",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.unwrap(), INDEX_HTML, "{path}");
    }
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year() {
    let app = spawn_app().await;
    let response = app.get(HASHED_ASSET).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(response.text().await.unwrap(), HASHED_ASSET_BODY);
}

#[tokio::test]
async fn a_missing_asset_is_a_json_404_not_the_index() {
    let app = spawn_app().await;
    assert_json_error(
        app.get("/gallery-web-fedcba9876543210.js").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn an_unchanged_asset_is_a_304() {
    let app = spawn_app().await;
    let etag = app.get(HASHED_ASSET).await.headers()["etag"].clone();
    let response = app
        .client
        .get(app.url(HASHED_ASSET))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let response = app.client.head(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn paths_cannot_escape_the_web_directory() {
    let app = spawn_app().await;
    std::fs::write(app.web_dir.parent().unwrap().join("secret.txt"), "secret").unwrap();
    let response = app.get("/..%2Fsecret.txt").await;
    assert_ne!(response.status(), 200);
    assert_ne!(response.text().await.unwrap(), "secret");
}

#[tokio::test]
async fn without_a_built_client_the_api_still_runs_and_the_root_says_why() {
    let app = spawn_app_with(|config| config.web_dir = config.web_dir.join("missing")).await;
    assert_json_error(app.get("/").await, 503, "service_unavailable").await;
    assert_eq!(app.get("/api/status").await.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_content_security_policy_that_lets_max_frame_the_app() {
    let app = spawn_app().await;
    for path in ["/", "/settings", "/api/status", HASHED_ASSET] {
        let response = app.get(path).await;
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval' https://st.max.ru"),
            "{path}: {policy}"
        );
        assert!(policy.contains("object-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'self' https://web.max.ru"),
            "{path}: {policy}"
        );
        assert!(
            !policy.contains("script-src 'unsafe-inline'") && !policy.contains("'unsafe-eval'"),
            "{path}: {policy}"
        );
    }
}

#[tokio::test]
async fn hashed_assets_are_sent_precompressed_to_clients_that_accept_it() {
    let app = spawn_app().await;
    let name = HASHED_ASSET.trim_start_matches('/');
    std::fs::write(app.web_dir.join(format!("{name}.br")), b"brotli bytes").unwrap();
    std::fs::write(app.web_dir.join(format!("{name}.gz")), b"gzip bytes").unwrap();
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "brotli bytes"),
        (Some("gzip"), Some("gzip"), "gzip bytes"),
        (Some("br;q=0, gzip"), Some("gzip"), "gzip bytes"),
        (None, None, HASHED_ASSET_BODY),
    ] {
        let mut request = app.client.get(app.url(HASHED_ASSET));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{accept:?}");
        let headers = response.headers().clone();
        assert_eq!(
            headers
                .get("content-encoding")
                .map(|value| value.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
                || headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/javascript"),
            "the asset's own type: {:?}",
            headers["content-type"]
        );
        assert_eq!(headers["vary"], "accept-encoding");
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.text().await.unwrap(), body, "{accept:?}");
    }
}
