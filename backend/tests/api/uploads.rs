//! What one account may do to the server with uploads: how many at once, how much in all,
//! how slowly, and with what form.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::oneshot,
};

use crate::{
    helpers::{SignedIn, TestApp, assert_json_error, spawn_app_with},
    images,
    photos::upload,
};

const BOUNDARY: &str = "gallery-test-boundary";

/// A multipart form with `fields` (name, text) and then the file, split in two halves: the
/// first is sent at once, the second when `release` fires (or never, if it is dropped
/// unsent... then the upload stalls until the server gives up).
fn stalling_form(fields: &[(&str, &str)], file: Vec<u8>) -> (reqwest::Body, oneshot::Sender<()>) {
    let mut head = String::new();
    for (name, text) in fields {
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{text}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    ));
    let half = file.len() / 2;
    let mut first = head.into_bytes();
    first.extend_from_slice(&file[..half]);
    let mut second = file[half..].to_vec();
    second.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let (release, released) = oneshot::channel::<()>();
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) });
    let second = futures_util::stream::once(async move {
        // Dropped unsent: the rest never comes.
        if released.await.is_err() {
            std::future::pending::<()>().await;
        }
        Ok(second)
    });
    (reqwest::Body::wrap_stream(first.chain(second)), release)
}

async fn post_form(app: &TestApp, user: &SignedIn, body: reqwest::Body) -> reqwest::Response {
    app.client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access_token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

fn a_jpeg(seed: u32) -> Vec<u8> {
    images::jpeg(&images::two_tone(64, 48, seed))
}

#[tokio::test]
async fn each_field_is_sent_once() {
    let app = spawn_app_with(|_| {}).await;
    let ann = app.sign_in(7401, "Ann", None).await;
    let (body, release) = stalling_form(&[("title", "one"), ("title", "two")], a_jpeg(1));
    release.send(()).unwrap();
    assert_json_error(post_form(&app, &ann, body).await, 400, "bad_request").await;
}

#[tokio::test]
async fn a_user_has_at_most_the_configured_uploads_under_way() {
    let app = spawn_app_with(|config| config.photos.uploads_per_user = 1).await;
    let ann = app.sign_in(7402, "Ann", None).await;
    let bob = app.sign_in(7403, "Bob", None).await;
    let start_stalled_upload = || {
        let (body, release) = stalling_form(&[("title", "slow")], a_jpeg(2));
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/photos"),
            ann.access_token.clone(),
        );
        let upload = tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(body)
                .send()
                .await
                .unwrap()
        });
        (upload, release)
    };
    // Wait until the stalled upload holds Ann's slot: another one of hers is refused then.
    // (If it arrives while a probe holds the slot, it is the one refused: start it again.)
    // Before each probe, a request of Ann's that needs her session checked: sessions checked
    // at the same moment are answered together, and the stalled upload, answered with it or
    // before it, then has had its turn at the slot.
    let (mut stalled, mut release) = start_stalled_upload();
    let mut refused = None;
    for attempt in 0..100 {
        if stalled.is_finished() {
            let turned_away = stalled.await.unwrap();
            assert_json_error(turned_away, 429, "rate_limited").await;
            (stalled, release) = start_stalled_upload();
        }
        assert_eq!(app.get_as("/api/me", &ann.access_token).await.status(), 200);
        let response = upload_small(&app, &ann, 100 + attempt).await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 201, "before the stalled one started");
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("an upload is refused while another is under way");
    assert!(refused.headers().contains_key("retry-after"));
    assert_json_error(refused, 429, "rate_limited").await;
    // Somebody else is not held up.
    assert_eq!(upload_small(&app, &bob, 4).await.status(), 201);
    // The stalled one finishes, and gives its slot back.
    release.send(()).unwrap();
    assert_eq!(stalled.await.unwrap().status(), 201);
    assert_eq!(upload_small(&app, &ann, 5).await.status(), 201);
}

async fn upload_small(app: &TestApp, user: &SignedIn, seed: u32) -> reqwest::Response {
    crate::photos::upload_as(app, user, a_jpeg(seed), "a.jpg", "image/jpeg", "small").await
}

#[tokio::test]
async fn an_upload_that_does_not_arrive_in_time_is_refused() {
    let app = spawn_app_with(|config| config.photos.upload_read_seconds = 1).await;
    let ann = app.sign_in(7404, "Ann", None).await;
    let (body, _never) = stalling_form(&[("title", "stuck")], a_jpeg(6));
    let response = tokio::time::timeout(Duration::from_secs(10), post_form(&app, &ann, body))
        .await
        .expect("the server answers on its own");
    assert_json_error(response, 408, "upload_timeout").await;
    // The slot came back.
    assert_eq!(upload_small(&app, &ann, 7).await.status(), 201);
}

#[tokio::test]
async fn the_storage_quota_is_kept() {
    let app = spawn_app_with(|config| config.photos.storage_quota_mib = 1).await;
    let ann = app.sign_in(7405, "Ann", None).await;
    let small = upload(&app, &ann, a_jpeg(8), "small").await;
    // Noise does not compress: well over a megabyte.
    let big = images::png(&image::DynamicImage::ImageRgb8(images::noise(700, 700, 9)));
    assert!(big.len() > 1024 * 1024, "{} bytes", big.len());
    let refused =
        crate::photos::upload_as(&app, &ann, big.clone(), "big.png", "image/png", "big").await;
    assert_json_error(refused, 413, "quota_exceeded").await;
    // Deleting makes room.
    let id = small["id"].as_i64().unwrap();
    let deleted = app
        .client
        .delete(app.url(&format!("/api/photos/{id}")))
        .bearer_auth(&ann.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let still_too_big =
        crate::photos::upload_as(&app, &ann, big, "big.png", "image/png", "big").await;
    assert_json_error(still_too_big, 413, "quota_exceeded").await;
    let mine: Value = app
        .get(&format!("/api/photos?owner={}", ann.user_id()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"], serde_json::json!([]), "nothing half-stored");
}

#[tokio::test]
async fn a_declared_length_past_the_limit_is_refused_before_reading() {
    let app = spawn_app_with(|config| config.photos.max_upload_mib = 1).await;
    let ann = app.sign_in(7406, "Ann", None).await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/photos HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: 104857600\r\nConnection: close\r\n\r\n--{BOUNDARY}\r\n",
        ann.access_token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered without waiting for 100 MB")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("file_too_large"), "{answer}");
}
