//! Through nginx: the page and its assets (compressed, cached, with the app's headers), the
//! API and sockets, events across instances, media behind `auth_request`, the body limit,
//! client addresses, and `/metrics` kept inside.

use gallery_types::Event;
use reqwest::header;
use serde_json::json;

use super::Deployment;
use crate::{images, photos::upload, profiles::set_private, sockets::Open};

/// The content-hashed script and wasm `index.html` loads.
fn hashed_assets(index: &str) -> Vec<String> {
    let mut assets: Vec<String> = index
        .split(['"', '\''])
        .filter(|part| {
            part.starts_with('/')
                && (part.ends_with(".js") || part.ends_with(".wasm"))
                && part.contains("gallery-web-")
        })
        .map(str::to_owned)
        .collect();
    assets.sort();
    assets.dedup();
    assets
}

fn header_of<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_app_loads_through_nginx_compressed_cached_and_with_its_headers() {
    let deployment = Deployment::start(2, &[]).await;
    let front = &deployment.front;

    // The page: from the backend (its policy names the build's inline script), revalidated.
    let page = front.get("/").await;
    assert_eq!(page.status(), 200);
    let policy = header_of(&page, "content-security-policy").to_owned();
    assert!(
        policy.contains("default-src 'self'") && policy.contains("frame-ancestors"),
        "the app's policy on the page: {policy:?}"
    );
    assert_eq!(header_of(&page, "x-content-type-options"), "nosniff");
    assert_eq!(
        header_of(&page, "referrer-policy"),
        "strict-origin-when-cross-origin"
    );
    assert_eq!(header_of(&page, "cache-control"), "no-cache");
    assert_eq!(
        page.headers()
            .get_all("x-content-type-options")
            .iter()
            .count(),
        1,
        "one nosniff header, not the backend's and nginx's"
    );
    let index = page.text().await.unwrap();

    // A client-side route is the page too.
    let route = front.get("/photos/1").await;
    assert_eq!(route.status(), 200);
    assert!(header_of(&route, "content-type").starts_with("text/html"));

    // The hashed assets: nginx's precompressed copies, cached for a year.
    let assets = hashed_assets(&index);
    assert!(
        assets.iter().any(|asset| asset.ends_with(".wasm")),
        "index.html loads the wasm: {assets:?}"
    );
    for asset in &assets {
        for (accept, encoding, suffix) in [("br", "br", "br"), ("gzip", "gzip", "gz")] {
            let response = front
                .client
                .get(front.url(asset))
                .header(header::ACCEPT_ENCODING, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{asset}");
            assert_eq!(
                header_of(&response, "content-encoding"),
                encoding,
                "{asset}"
            );
            assert_eq!(
                header_of(&response, "cache-control"),
                "public, max-age=31536000, immutable",
                "{asset}"
            );
            assert_eq!(header_of(&response, "x-content-type-options"), "nosniff");
            let expected_type = if asset.ends_with(".wasm") {
                "application/wasm"
            } else {
                "text/javascript"
            };
            assert_eq!(
                header_of(&response, "content-type"),
                expected_type,
                "{asset}"
            );
            let on_disk = std::fs::read(
                front
                    .web_dir
                    .join(format!("{}.{suffix}", asset.trim_start_matches('/'))),
            )
            .unwrap();
            let body = response.bytes().await.unwrap();
            assert_eq!(body.len(), on_disk.len(), "{asset} as {encoding}");
        }
    }

    // API answers are compressed on the fly.
    let spec = front
        .client
        .get(front.url("/api/openapi.json"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(spec.status(), 200);
    assert_eq!(header_of(&spec, "content-encoding"), "gzip");

    // Prometheus reaches an instance directly; nginx does not pass /metrics on.
    assert_eq!(front.get("/metrics").await.status(), 404);
    let direct = deployment.instances[0].app.get("/metrics").await;
    assert_eq!(direct.status(), 200);
}

#[tokio::test]
async fn api_sockets_and_events_work_through_nginx_and_across_instances() {
    let deployment = Deployment::start(2, &[]).await;
    let front = &deployment.front;
    let (first, second) = (&deployment.instances[0].app, &deployment.instances[1].app);
    let alice = front.sign_in(41_001, "Alice", None).await;

    // A browser's socket names the page's origin, port and all: nginx passes on the Host the
    // backend compares it with.
    let (_, hello) = front
        .open(Open {
            origin: Some(&front.address),
            ..Open::default()
        })
        .await;
    assert_eq!(hello.user_id, None);

    // A socket through nginx, and one on each instance directly.
    let (mut through_nginx, _) = front.open_as(&alice).await;
    let (mut on_first, _) = first.open_as(&alice).await;
    let (mut on_second, _) = second.open_as(&alice).await;

    // A change through one instance reaches the sockets of both, and the one behind nginx.
    for (instance, seed) in [(first, 1), (second, 3)] {
        let photo = upload(
            instance,
            &alice,
            images::jpeg(&images::noise(64, 48, seed)),
            "Both",
        )
        .await;
        let id = photo["id"].as_i64().unwrap();
        for socket in [&mut through_nginx, &mut on_first, &mut on_second] {
            match socket.event().await {
                (_, Event::PhotoCreated(created)) => assert_eq!(created.photo.id, id),
                (_, other) => panic!("expected the new photo, got {other:?}"),
            }
        }
    }

    // Writes through nginx work too.
    let photo = upload(
        front,
        &alice,
        images::jpeg(&images::noise(64, 48, 5)),
        "Front",
    )
    .await;
    match through_nginx.event().await {
        (_, Event::PhotoCreated(created)) => assert_eq!(created.photo.id, photo["id"]),
        (_, other) => panic!("expected the new photo, got {other:?}"),
    }
}

#[tokio::test]
async fn nginx_serves_media_only_where_the_backend_allows() {
    let deployment = Deployment::start(2, &[]).await;
    let front = &deployment.front;
    let owner = front.sign_in(42_001, "Owner", None).await;
    let stranger = front.sign_in(42_002, "Stranger", None).await;
    let photo = upload(
        front,
        &owner,
        images::jpeg(&images::noise(80, 60, 7)),
        "Mine",
    )
    .await;
    let url = photo["urls"]["thumbnail"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/media/"), "{url}");

    // Public: anyone, cached for a year.
    let public = front.get(&url).await;
    assert_eq!(public.status(), 200);
    assert_eq!(
        header_of(&public, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header_of(&public, "content-type").starts_with("image/"));
    assert!(!header_of(&public, "content-security-policy").is_empty());
    assert_eq!(header_of(&public, "x-content-type-options"), "nosniff");
    let served = public.bytes().await.unwrap();
    let on_disk = std::fs::read(
        deployment
            .uploads()
            .join(&url["/media/".len()..][..2])
            .join(&url["/media/".len()..]),
    )
    .unwrap();
    assert_eq!(
        served.as_ref(),
        on_disk.as_slice(),
        "nginx serves the stored file"
    );

    // Private: refused to the anonymous and to strangers, served to the owner (by token or by
    // the media cookie an <img> sends), kept out of shared caches.
    set_private(front, &owner, true).await;
    assert_eq!(front.get(&url).await.status(), 403);
    assert_eq!(
        front.get_as(&url, &stranger.access_token).await.status(),
        403
    );
    let by_token = front.get_as(&url, &owner.access_token).await;
    assert_eq!(by_token.status(), 200);
    assert_eq!(header_of(&by_token, "cache-control"), "private, no-cache");
    let by_cookie = front
        .client
        .get(front.url(&url))
        .header(
            header::COOKIE,
            format!("gallery_media={}", owner.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    // Names that are not stored files never reach the disk.
    assert!(
        front
            .get("/media/..%2f..%2fetc%2fpasswd")
            .await
            .status()
            .is_client_error()
    );
    assert_eq!(
        front.get("/media/not-a-stored-file.jpg").await.status(),
        404
    );
    assert_eq!(front.get(&format!("{url}x")).await.status(), 404);
}

#[tokio::test]
async fn nginx_limits_bodies_and_ignores_the_clients_own_forwarding_headers() {
    // One instance: its sign-in limit is the whole deployment's.
    let deployment = Deployment::start(
        1,
        &[
            ("GALLERY_MAX_UPLOAD_MIB", "1"),
            ("GALLERY_RATE_SIGN_IN_PER_MINUTE", "3"),
        ],
    )
    .await;
    let front = &deployment.front;
    let user = front.sign_in(43_001, "Uploader", None).await;

    // Past the upload limit (plus the form's room): nginx answers 413 before the backend.
    let too_big = vec![0u8; 3 * 1024 * 1024];
    let response = front
        .client
        .post(front.url("/api/photos"))
        .bearer_auth(&user.access_token)
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Every sign-in comes from 127.0.0.1, whatever the client claims: the limit of 3 a minute
    // holds although each claims another address.
    let mut statuses = Vec::new();
    for attempt in 0..4 {
        let spoofed = format!("198.51.100.{attempt}");
        let response = front
            .client
            .post(front.url("/api/auth/max"))
            .header("X-Forwarded-For", &spoofed)
            .header("X-Real-IP", &spoofed)
            .json(&json!({ "init_data": crate::helpers::fresh_init_data(43_002) }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    // One sign-in above, three here fill the minute's quota; the fourth is refused.
    assert_eq!(statuses, [200, 200, 429, 429]);

    // The refusal shows in the metrics, which move with the traffic.
    let samples = super::scrape(&deployment.instances[0].app).await;
    let refused = super::metric(
        &samples,
        "gallery_rate_limited_total",
        &[("operation", "sign_in_with_max")],
    );
    assert_eq!(refused, 2.0, "rate-limited sign-ins counted");
}
