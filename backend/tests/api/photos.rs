//! Uploading, serving, listing, editing, deleting, favoriting and searching photos.

use std::collections::HashSet;

use image::{DynamicImage, GenericImageView, RgbaImage};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::{
    helpers::{SignedIn, TestApp, assert_json_error, database_url, spawn_app, spawn_app_with},
    images,
};

/// Uploads `bytes` as `file_name` with `content_type`.
pub async fn upload_as(
    app: &TestApp,
    user: &SignedIn,
    bytes: Vec<u8>,
    file_name: &str,
    content_type: &str,
    title: &str,
) -> reqwest::Response {
    let form = Form::new()
        .part(
            "file",
            Part::bytes(bytes)
                .file_name(file_name.to_owned())
                .mime_str(content_type)
                .unwrap(),
        )
        .text("title", title.to_owned())
        .text("description", "made in a test")
        .text("tags", "test, Nature ,test");
    app.client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access_token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

pub async fn upload(app: &TestApp, user: &SignedIn, bytes: Vec<u8>, title: &str) -> Value {
    let response = upload_as(app, user, bytes, "photo.jpg", "image/jpeg", title).await;
    assert_eq!(response.status(), 201, "upload of {title}");
    response.json().await.unwrap()
}

async fn fetch(app: &TestApp, url: &str) -> Vec<u8> {
    let response = app.get(url).await;
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

/// Rows and stored files, to check that a refused upload leaves nothing behind.
async fn leftovers(app: &TestApp) -> (i64, usize) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar(
        "select (select count(*) from photos) + (select count(*) from art_objects)",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    let uploads = app.web_dir.parent().unwrap().join("data/uploads");
    assert!(
        uploads.join("tmp").is_dir(),
        "the uploads directory is where the test looks"
    );
    let files = walk(&uploads);
    (rows, files)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| {
                    if entry.path().is_dir() {
                        walk(&entry.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn an_upright_jpeg_is_stored_with_its_own_image_data_and_no_metadata() {
    let app = spawn_app().await;
    let user = app.sign_in(8001, "Ann", None).await;
    let image = images::two_tone(200, 100, 2);
    // Orientation 1: already upright, so nothing needs re-encoding.
    let bytes = images::jpeg_with_exif(&image, 1);
    let photo = upload(&app, &user, bytes, "Upright").await;
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(200), Some(100))
    );

    let original = fetch(&app, photo["urls"]["original"].as_str().unwrap()).await;
    assert!(!original.windows(4).any(|w| w == b"Exif"), "EXIF is gone");
    assert!(
        !original
            .windows(images::GPS_LATITUDE.len())
            .any(|w| w == images::GPS_LATITUDE),
        "GPS is gone"
    );
    // No second lossy encoding: exactly the encoder's file, without the EXIF segment.
    assert!(
        original == images::jpeg(&image),
        "the stored original is not the upload without its EXIF segment"
    );
}

#[tokio::test]
async fn a_jpeg_with_gps_exif_is_served_without_any_metadata_and_upright() {
    let app = spawn_app().await;
    let user = app.sign_in(8001, "Ann", None).await;
    // 200×100, red on the left; orientation 6 means "rotate 90° clockwise to view".
    let bytes = images::jpeg_with_exif(&images::two_tone(200, 100, 1), 6);
    assert!(
        bytes
            .windows(images::GPS_LATITUDE.len())
            .any(|w| w == images::GPS_LATITUDE)
    );

    let photo = upload(&app, &user, bytes, "Sideways").await;
    assert_eq!(photo["format"], "jpeg");
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(100), Some(200)),
        "upright dimensions"
    );
    assert!(
        photo["placeholder"]
            .as_str()
            .is_some_and(|hash| hash.len() >= 6)
    );
    assert_eq!(photo["tags"], json!(["test", "Nature"]));
    assert_eq!(photo["owner"]["id"], photo["creator"]["id"]);

    for kind in ["original", "preview", "thumbnail"] {
        let served = fetch(&app, photo["urls"][kind].as_str().unwrap()).await;
        assert!(
            !served.windows(4).any(|w| w == b"Exif"),
            "{kind} carries EXIF"
        );
        assert!(
            !served
                .windows(images::GPS_LATITUDE.len())
                .any(|w| w == images::GPS_LATITUDE),
            "{kind} carries GPS"
        );
        let decoded = image::load_from_memory(&served).unwrap();
        assert!(decoded.height() > decoded.width(), "{kind} is upright");
        let top = decoded.get_pixel(decoded.width() / 2, 2);
        let bottom = decoded.get_pixel(decoded.width() / 2, decoded.height() - 3);
        assert!(
            top[0] > 150 && top[2] < 100,
            "{kind}: red on top, got {top:?}"
        );
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "{kind}: blue at the bottom, got {bottom:?}"
        );
    }
}

#[tokio::test]
async fn png_animated_gif_and_webp_are_accepted() {
    let app = spawn_app().await;
    let user = app.sign_in(8002, "Ann", None).await;

    let png = images::png(&DynamicImage::ImageRgb8(images::two_tone(640, 480, 2)));
    let photo = upload(&app, &user, png, "A PNG").await;
    assert_eq!(photo["format"], "png");
    let thumbnail =
        image::load_from_memory(&fetch(&app, photo["urls"]["thumbnail"].as_str().unwrap()).await)
            .unwrap();
    assert_eq!(
        thumbnail.dimensions(),
        (400, 300),
        "thumbnails are about 400 px"
    );

    let gif = upload(&app, &user, images::animated_gif(3, 7), "A GIF").await;
    assert_eq!(gif["format"], "gif");
    assert_eq!(gif["frame_count"], 3);
    let served = fetch(&app, gif["urls"]["original"].as_str().unwrap()).await;
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(served)).unwrap();
    assert_eq!(
        image::AnimationDecoder::into_frames(decoder).count(),
        3,
        "the animation survives"
    );

    let webp = upload(
        &app,
        &user,
        images::webp(&RgbaImage::from_pixel(50, 40, image::Rgba([1, 2, 3, 128]))),
        "A WebP",
    )
    .await;
    assert_eq!(webp["format"], "webp");
    assert_eq!(
        (webp["width"].as_i64(), webp["height"].as_i64()),
        (Some(50), Some(40))
    );
}

#[tokio::test]
async fn the_format_comes_from_the_bytes_not_the_name_or_type() {
    let app = spawn_app().await;
    let user = app.sign_in(8003, "Ann", None).await;
    let png = images::png(&DynamicImage::ImageRgb8(images::two_tone(20, 20, 3)));
    let response = upload_as(&app, &user, png, "holiday.jpg", "image/jpeg", "misnamed").await;
    assert_eq!(response.status(), 201);
    let photo: Value = response.json().await.unwrap();
    assert_eq!(photo["format"], "png");
}

#[tokio::test]
async fn hostile_uploads_are_refused_and_leave_nothing_behind() {
    let app = spawn_app_with(|config| {
        config.photos.max_upload_mib = 1;
        config.photos.max_frames = 2;
    })
    .await;
    let user = app.sign_in(8004, "Eve", None).await;
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let jpeg = images::jpeg(&images::two_tone(300, 200, 4));
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "text as .jpg",
            b"just some text, not an image".to_vec(),
            "photo.jpg",
            415,
            "unsupported_image",
        ),
        (
            "SVG renamed .png",
            svg,
            "photo.png",
            415,
            "unsupported_image",
        ),
        (
            "one byte",
            vec![0xFF],
            "photo.jpg",
            415,
            "unsupported_image",
        ),
        (
            "truncated JPEG",
            jpeg[..jpeg.len() / 2].to_vec(),
            "photo.jpg",
            422,
            "invalid_image",
        ),
        (
            "PNG claiming 65535×65535",
            images::png_claiming(65_535, 65_535),
            "photo.png",
            422,
            "invalid_image",
        ),
        (
            "GIF bomb",
            images::gif_bomb(),
            "photo.gif",
            422,
            "invalid_image",
        ),
        (
            "too many frames",
            images::animated_gif(3, 1),
            "photo.gif",
            422,
            "invalid_image",
        ),
        (
            "limit + 1 bytes",
            vec![0xFF; 1024 * 1024 + 1],
            "photo.jpg",
            413,
            "file_too_large",
        ),
    ];
    for (name, bytes, file_name, status, code) in cases {
        let response = upload_as(&app, &user, bytes, file_name, "image/jpeg", name).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_json_error(response, status, code).await;
        assert_eq!(
            leftovers(&app).await,
            (0, 0),
            "{name} left rows or files behind"
        );
    }
}

#[tokio::test]
async fn the_same_bytes_twice_answer_409_with_the_existing_photo() {
    let app = spawn_app().await;
    let ann = app.sign_in(8005, "Ann", None).await;
    let bob = app.sign_in(8006, "Bob", None).await;
    let bytes = images::jpeg(&images::two_tone(64, 64, 5));
    let first = upload(&app, &ann, bytes.clone(), "First").await;
    let response = upload_as(&app, &bob, bytes, "copy.jpg", "image/jpeg", "Copy").await;
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "duplicate_photo");
    assert_eq!(body["photo"]["id"], first["id"]);
    assert_eq!(body["photo"]["owner"]["id"], ann.user_id());

    // An owner who keeps their profile private is not given away by the answer.
    let private = app
        .client
        .patch(app.url("/api/me"))
        .bearer_auth(&ann.access_token)
        .json(&json!({ "is_private": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    let again = upload_as(
        &app,
        &bob,
        images::jpeg(&images::two_tone(64, 64, 5)),
        "copy.jpg",
        "image/jpeg",
        "Copy",
    )
    .await;
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["code"], "duplicate_photo");
    assert!(body["photo"].is_null());
}

#[tokio::test]
async fn a_form_with_unknown_fields_or_two_files_is_refused() {
    let app = spawn_app().await;
    let user = app.sign_in(8017, "Ann", None).await;
    let image = || {
        Part::bytes(images::jpeg(&images::two_tone(16, 16, 950)))
            .file_name("a.jpg")
            .mime_str("image/jpeg")
            .unwrap()
    };
    for (name, form) in [
        (
            "unknown field",
            Form::new().part("file", image()).text("owner_id", "1"),
        ),
        (
            "two files",
            Form::new().part("file", image()).part("file", image()),
        ),
        ("no file", Form::new().text("title", "nothing")),
    ] {
        let response = app
            .client
            .post(app.url("/api/photos"))
            .bearer_auth(&user.access_token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_json_error(response, 400, "bad_request").await;
        assert_eq!(leftovers(&app).await, (0, 0), "{name}");
    }
    let not_multipart = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access_token)
        .json(&json!({ "file": "x" }))
        .send()
        .await
        .unwrap();
    assert_json_error(not_multipart, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn twenty_concurrent_uploads_all_succeed() {
    let app = spawn_app().await;
    // Ten users, two uploads each at once: as many as each may have under way.
    let mut users = Vec::new();
    for id in 0..10 {
        users.push(app.sign_in(8070 + id, "Ann", None).await);
    }
    let uploads = (0..20).map(|seed| {
        let (app, user) = (&app, &users[seed as usize / 2]);
        async move {
            upload_as(
                app,
                user,
                images::jpeg(&images::two_tone(320, 240, 100 + seed)),
                "p.jpg",
                "image/jpeg",
                "x",
            )
            .await
            .status()
        }
    });
    let statuses = futures_util::future::join_all(uploads).await;
    assert!(statuses.iter().all(|status| *status == 201), "{statuses:?}");
    let page: Value = app.get("/api/photos?limit=100").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn feed_pages_have_no_duplicates_or_gaps_while_photos_arrive() {
    let app = spawn_app().await;
    let user = app.sign_in(8008, "Ann", None).await;
    let mut before = Vec::new();
    for seed in 0..9 {
        before.push(
            upload(
                &app,
                &user,
                images::jpeg(&images::two_tone(32, 32, 200 + seed)),
                "old",
            )
            .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seed = 300;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("/api/photos?limit=2&cursor={cursor}"),
            None => "/api/photos?limit=2".to_owned(),
        };
        let page: Value = app.get(&url).await.json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_i64().unwrap()),
        );
        // A new photo arrives between every two pages.
        upload(
            &app,
            &user,
            images::jpeg(&images::two_tone(32, 32, seed)),
            "new",
        )
        .await;
        seed += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a photo appeared twice: {seen:?}");
    before.reverse();
    assert_eq!(
        seen, before,
        "every photo older than the first page, newest first, none skipped"
    );
}

#[tokio::test]
async fn the_feed_filters_by_owner_creator_and_tag_and_sorts_by_popularity() {
    let app = spawn_app().await;
    let ann = app.sign_in(8009, "Ann", None).await;
    let bob = app.sign_in(8010, "Bob", None).await;
    let a = upload(
        &app,
        &ann,
        images::jpeg(&images::two_tone(32, 32, 400)),
        "a",
    )
    .await;
    let b = upload(
        &app,
        &bob,
        images::jpeg(&images::two_tone(32, 32, 401)),
        "b",
    )
    .await;
    let ids = |page: Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect()
    };

    let by_owner = ids(app
        .get(&format!("/api/photos?owner={}", ann.user_id()))
        .await
        .json()
        .await
        .unwrap());
    assert_eq!(by_owner, vec![a["id"].as_i64().unwrap()]);
    let by_creator = ids(app
        .get(&format!("/api/photos?creator={}", bob.user_id()))
        .await
        .json()
        .await
        .unwrap());
    assert_eq!(by_creator, vec![b["id"].as_i64().unwrap()]);
    assert_eq!(
        ids(app
            .get("/api/photos?tag=Nature")
            .await
            .json()
            .await
            .unwrap())
        .len(),
        2
    );
    assert!(ids(app.get("/api/photos?tag=none").await.json().await.unwrap()).is_empty());

    let favorite = app
        .client
        .put(app.url(&format!("/api/photos/{}/favorite", a["id"])))
        .bearer_auth(&bob.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(favorite.status(), 200);
    let popular = ids(app
        .get("/api/photos?sort=popular")
        .await
        .json()
        .await
        .unwrap());
    assert_eq!(
        popular,
        vec![a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap()]
    );
    let newest = ids(app.get("/api/photos?sort=new").await.json().await.unwrap());
    assert_eq!(
        newest,
        vec![b["id"].as_i64().unwrap(), a["id"].as_i64().unwrap()]
    );

    assert_json_error(app.get("/api/photos?limit=101").await, 400, "bad_request").await;
    assert_json_error(
        app.get("/api/photos?cursor=garbage").await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn favorite_counts_stay_exact_under_concurrent_favoriting() {
    let app = spawn_app().await;
    let owner = app.sign_in(8011, "Ann", None).await;
    let photo = upload(
        &app,
        &owner,
        images::jpeg(&images::two_tone(32, 32, 500)),
        "liked",
    )
    .await;
    let mut fans = Vec::new();
    for id in 0..10 {
        fans.push(app.sign_in(8100 + id, "Fan", None).await);
    }
    let url = app.url(&format!("/api/photos/{}/favorite", photo["id"]));
    // Everyone favorites twice at once: each counts once.
    let favorites = fans
        .iter()
        .flat_map(|fan| [fan, fan])
        .map(|fan| app.client.put(&url).bearer_auth(&fan.access_token).send());
    assert!(
        futures_util::future::join_all(favorites)
            .await
            .into_iter()
            .all(|r| r.unwrap().status() == 200)
    );
    let now: Value = app
        .get(&format!("/api/photos/{}", photo["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["favorite_count"], 10);

    let unfavorites = fans.iter().take(4).flat_map(|fan| [fan, fan]).map(|fan| {
        app.client
            .delete(&url)
            .bearer_auth(&fan.access_token)
            .send()
    });
    assert!(
        futures_util::future::join_all(unfavorites)
            .await
            .into_iter()
            .all(|r| r.unwrap().status() == 200)
    );
    let now: Value = app
        .get_as(
            &format!("/api/photos/{}", photo["id"]),
            &fans[9].access_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["favorite_count"], 6);
    assert_eq!(now["favorited"], true);

    let mine: Vec<Value> = app
        .get_as("/api/me/favorites", &fans[9].access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    let theirs: Vec<Value> = app
        .get_as("/api/me/favorites", &fans[0].access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs.is_empty());
}

#[tokio::test]
async fn media_is_cached_forever_with_a_strong_etag_and_answers_ranges() {
    let app = spawn_app().await;
    let user = app.sign_in(8012, "Ann", None).await;
    let photo = upload(
        &app,
        &user,
        images::jpeg(&images::two_tone(128, 128, 600)),
        "cached",
    )
    .await;
    let url = photo["urls"]["original"].as_str().unwrap().to_owned();
    let response = app.get(&url).await;
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    let full = response.bytes().await.unwrap();

    let not_modified = app
        .client
        .get(app.url(&url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    let partial = app
        .client
        .get(app.url(&url))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), 206);
    assert_eq!(
        partial.headers()["content-range"],
        format!("bytes 10-19/{}", full.len())
    );
    assert_eq!(partial.bytes().await.unwrap(), full[10..20]);

    let unsatisfiable = app
        .client
        .get(app.url(&url))
        .header("range", format!("bytes={}-", full.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(unsatisfiable.status(), 416);
    assert_json_error(
        app.get("/media/..%2F..%2Fetc%2Fpasswd").await,
        404,
        "not_found",
    )
    .await;
    assert_json_error(
        app.get(&format!("/media/{}.jpg", "0".repeat(64))).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn only_the_owner_edits_or_deletes_and_the_history_keeps_both_entries() {
    let app = spawn_app().await;
    let owner = app.sign_in(8013, "Ann", None).await;
    let other = app.sign_in(8014, "Bob", None).await;
    let photo = upload(
        &app,
        &owner,
        images::jpeg(&images::two_tone(64, 48, 700)),
        "Mine",
    )
    .await;
    let url = app.url(&format!("/api/photos/{}", photo["id"]));

    let edit = json!({ "title": "Renamed", "tags": ["a", "b"] });
    let refused = app
        .client
        .patch(&url)
        .bearer_auth(&other.access_token)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_json_error(refused, 403, "not_owner").await;
    let edited: Value = app
        .client
        .patch(&url)
        .bearer_auth(&owner.access_token)
        .json(&edit)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(edited["title"], "Renamed");
    assert_eq!(edited["tags"], json!(["a", "b"]));
    assert_eq!(edited["description"], "made in a test");
    let too_long = app
        .client
        .patch(&url)
        .bearer_auth(&owner.access_token)
        .json(&json!({ "title": "x".repeat(201) }))
        .send()
        .await
        .unwrap();
    assert_json_error(too_long, 422, "invalid_photo").await;

    assert_json_error(
        app.client
            .delete(&url)
            .bearer_auth(&other.access_token)
            .send()
            .await
            .unwrap(),
        403,
        "not_owner",
    )
    .await;
    assert_eq!(
        app.client
            .delete(&url)
            .bearer_auth(&owner.access_token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_json_error(
        app.get(&format!("/api/photos/{}", photo["id"])).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.get(photo["urls"]["original"].as_str().unwrap())
            .await
            .status(),
        404
    );
    assert_eq!(leftovers(&app).await.1, 0, "the files are gone");

    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from ownership_history where object_id = $1 order by position",
    )
    .bind(photo["object_id"].as_i64().unwrap())
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert_eq!(kinds, ["mint", "delete"]);
    let tamper = sqlx::query("update ownership_history set to_user_id = $1")
        .bind(other.user_id())
        .execute(&mut connection)
        .await;
    assert!(tamper.unwrap_err().to_string().contains("append-only"));
    assert!(
        sqlx::query("delete from ownership_history")
            .execute(&mut connection)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn search_finds_photos_by_russian_and_english_word_forms_and_people_by_name() {
    let app = spawn_app().await;
    let user = app.sign_in(8015, "Вероника", Some("veronika_foto")).await;
    let sunset_ru = upload(
        &app,
        &user,
        images::jpeg(&images::two_tone(32, 32, 800)),
        "Закаты над морем",
    )
    .await;
    let sunset_en = upload(
        &app,
        &user,
        images::jpeg(&images::two_tone(32, 32, 801)),
        "Sunsets over the sea",
    )
    .await;
    upload(
        &app,
        &user,
        images::jpeg(&images::two_tone(32, 32, 802)),
        "A cat",
    )
    .await;
    let ids = |results: &Value| -> Vec<i64> {
        results["photos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };

    let results: Value = app.get("/api/search?q=закат").await.json().await.unwrap();
    assert_eq!(ids(&results), vec![sunset_ru["id"].as_i64().unwrap()]);
    let results: Value = app.get("/api/search?q=sunset").await.json().await.unwrap();
    assert_eq!(ids(&results), vec![sunset_en["id"].as_i64().unwrap()]);
    let results: Value = app
        .get("/api/search?q=nothing%20like%20it")
        .await
        .json()
        .await
        .unwrap();
    assert!(ids(&results).is_empty());

    let results: Value = app
        .get("/api/search?q=veronika_fot")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(results["users"][0]["id"], user.user_id());
    let results: Value = app.get("/api/search?q=Вероник").await.json().await.unwrap();
    assert_eq!(results["users"][0]["display_name"], "Вероника");
}

#[tokio::test]
async fn nginx_may_serve_a_file_only_when_the_backend_says_so() {
    let app = spawn_app().await;
    let user = app.sign_in(8016, "Ann", None).await;
    let photo = upload(
        &app,
        &user,
        images::jpeg(&images::two_tone(32, 32, 900)),
        "visible",
    )
    .await;
    let ask = |uri: String, token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app
                .client
                .get(app.url("/api/media-access"))
                .header("X-Original-URI", uri);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    let original = photo["urls"]["original"].as_str().unwrap().to_owned();
    assert_eq!(ask(original.clone(), None).await, 204);
    assert_eq!(ask("/media/unknown.jpg".into(), None).await, 403);

    // A private profile's files: only its owner.
    let private = app
        .client
        .patch(app.url("/api/me"))
        .bearer_auth(&user.access_token)
        .json(&json!({ "is_private": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    assert_eq!(ask(original.clone(), None).await, 403);
    assert_eq!(
        ask(original.clone(), Some(user.access_token.clone())).await,
        204
    );
    assert_eq!(app.get(&original).await.status(), 404);
}
