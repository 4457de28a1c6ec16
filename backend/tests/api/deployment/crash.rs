//! Stopping and crashing: SIGTERM drains (uploads under way finish, sockets are told "going
//! away"), SIGKILL mid-storm loses nothing that committed and leaves nothing the sweep does
//! not clear.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use reqwest::{
    Body,
    multipart::{Form, Part},
};
use sqlx::Connection;

use super::{Deployment, assert_files_whole, staged_files, stored_files};
use crate::{
    helpers::{SignedIn, TestApp, database_url, wait_until},
    images,
    sockets::Open,
};

/// An upload whose body arrives in two halves: the second only when the test says so.
struct HeldUpload {
    rest: tokio::sync::oneshot::Sender<()>,
    response: tokio::task::JoinHandle<reqwest::StatusCode>,
}

fn start_held_upload(app: &TestApp, user: &SignedIn, bytes: Vec<u8>) -> HeldUpload {
    let (rest, release) = tokio::sync::oneshot::channel::<()>();
    let half = bytes.len() / 2;
    let (head, tail) = (bytes[..half].to_vec(), bytes[half..].to_vec());
    let chunks = futures_util::stream::unfold(
        (Some(head), Some((release, tail))),
        |(head, tail)| async move {
            if let Some(head) = head {
                return Some((Ok::<_, std::io::Error>(head), (None, tail)));
            }
            let (release, tail) = tail?;
            release.await.ok()?;
            Some((Ok(tail), (None, None)))
        },
    );
    let form = Form::new()
        .part(
            "file",
            Part::stream(Body::wrap_stream(chunks))
                .file_name("held.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        .text("title", "Held");
    let request = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access_token)
        .multipart(form);
    let response = tokio::spawn(async move {
        request
            .send()
            .await
            .expect("the upload gets an answer")
            .status()
    });
    HeldUpload { rest, response }
}

/// The stored file names rows of `database` reference (of live and deleted photos alike).
async fn referenced_files(database: &str) -> BTreeSet<String> {
    let mut connection = sqlx::PgConnection::connect(database_url(database).as_str())
        .await
        .unwrap();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select original_file, preview_file, thumbnail_file from photos")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    rows.into_iter()
        .flat_map(|(original, preview, thumbnail)| [original, preview, thumbnail])
        .collect()
}

#[tokio::test]
async fn sigterm_lets_uploads_finish_and_closes_sockets_going_away() {
    let mut deployment = Deployment::start(1, &[("GALLERY_UPLOADS_PER_USER", "4")]).await;
    let instance = deployment.instance_handle(0);
    let user = instance.sign_in(46_001, "Patient", None).await;
    let (mut signed_in, _) = instance.open_as(&user).await;
    let (mut anonymous, _) = instance.open(Open::default()).await;

    // Two uploads, half arrived.
    let held: Vec<HeldUpload> = (0..2)
        .map(|seed| {
            let bytes = images::jpeg(&images::noise(320, 240, 101 + 2 * seed));
            start_held_upload(&instance, &user, bytes)
        })
        .collect();
    let uploads = deployment.uploads();
    let arriving = wait_until(Duration::from_secs(15), || async {
        staged_files(&uploads) == 2
    })
    .await;
    assert!(arriving.is_some(), "both uploads are streaming in");

    deployment.terminate(0);

    // Sockets are told the server is going away (1001), at once.
    for socket in [&mut signed_in, &mut anonymous] {
        let (code, _) = socket.until_closed().await;
        assert_eq!(code, Some(1001));
    }
    // The uploads under way finish.
    for upload in held {
        upload.rest.send(()).expect("the upload is still sending");
        assert_eq!(upload.response.await.unwrap(), 201);
    }
    let (status, log) = deployment.exited(0).await;
    assert!(status.success(), "a clean exit after draining:\n{log}");

    // Whole files only, every one a photo's, nothing staged left behind.
    assert_files_whole(&uploads);
    let referenced = referenced_files(&deployment.database).await;
    let stored: BTreeSet<String> = stored_files(&uploads)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(stored, referenced);
    assert_eq!(staged_files(&uploads), 0);
}

#[tokio::test]
async fn sigkill_mid_upload_storm_leaves_every_row_with_its_files_and_orphans_swept() {
    const USERS: i64 = 4;
    const PER_USER: u32 = 4;
    let mut deployment = Deployment::start(
        1,
        &[
            ("GALLERY_UPLOADS_PER_USER", "8"),
            ("GALLERY_SWEEP_GRACE_SECONDS", "1"),
        ],
    )
    .await;
    let instance = Arc::new(deployment.instance_handle(0));
    let mut users = Vec::new();
    for index in 0..USERS {
        users.push(instance.sign_in(47_000 + index, "Stormy", None).await);
    }

    // The storm: every upload at once; the crash comes once a few have committed.
    let finished = Arc::new(AtomicUsize::new(0));
    let mut storm = Vec::new();
    for (index, user) in users.iter().enumerate() {
        for photo in 0..PER_USER {
            let (instance, user, finished) = (instance.clone(), user.clone(), finished.clone());
            let seed = index as u32 * PER_USER + photo;
            storm.push(tokio::spawn(async move {
                let bytes = images::jpeg(&images::noise(480, 360, 201 + 2 * seed));
                let form = Form::new()
                    .part(
                        "file",
                        Part::bytes(bytes)
                            .file_name("storm.jpg")
                            .mime_str("image/jpeg")
                            .unwrap(),
                    )
                    .text("title", "Storm");
                // Uploads under way when the server dies get no answer.
                let created = instance
                    .client
                    .post(instance.url("/api/photos"))
                    .bearer_auth(&user.access_token)
                    .multipart(form)
                    .send()
                    .await
                    .is_ok_and(|response| response.status() == 201);
                finished.fetch_add(1, Ordering::SeqCst);
                created
            }));
        }
    }
    let some_done = wait_until(Duration::from_secs(60), || async {
        finished.load(Ordering::SeqCst) >= 3
    })
    .await;
    assert!(some_done.is_some(), "uploads complete before the crash");
    deployment.kill(0).await;
    let mut created = 0;
    for upload in storm {
        created += usize::from(upload.await.unwrap());
    }
    assert!(created >= 3, "uploads answered 201 before the crash");

    // What a crash can leave, made certain: a stored file no row references, a staging file.
    let uploads = deployment.uploads();
    let orphan = "ab".repeat(32) + ".jpg";
    std::fs::create_dir_all(uploads.join("ab")).unwrap();
    std::fs::write(uploads.join("ab").join(&orphan), b"left by a crash").unwrap();
    std::fs::write(
        uploads.join("tmp").join("upload.partial"),
        b"half an upload",
    )
    .unwrap();

    // Every committed photo has its files, whole, right after the crash.
    let mut connection = sqlx::PgConnection::connect(database_url(&deployment.database).as_str())
        .await
        .unwrap();
    let (photos,): (i64,) = sqlx::query_as("select count(*) from photos")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(photos >= created as i64, "every answered upload is a row");
    let referenced = referenced_files(&deployment.database).await;
    let stored: BTreeSet<String> = stored_files(&uploads)
        .into_iter()
        .filter(|(name, hash)| name.starts_with(hash))
        .map(|(name, _)| name)
        .collect();
    let missing: Vec<_> = referenced.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "rows without (whole) files: {missing:?}"
    );

    // Once the leftovers are older than the sweep's grace, a restart sweeps them.
    let aged = wait_until(Duration::from_secs(10), || async {
        newest_file_age(&uploads) > Duration::from_millis(1500)
    })
    .await;
    assert!(aged.is_some());
    deployment.restart(0).await;
    let swept = wait_until(Duration::from_secs(30), || async {
        let stored: BTreeSet<String> = stored_files(&uploads)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        stored == referenced && staged_files(&uploads) == 0
    })
    .await;
    assert!(swept.is_some(), "orphans and staging files are swept");
    assert_files_whole(&uploads);

    // Every object's history chain verifies.
    let objects: Vec<(i64,)> = sqlx::query_as("select id from art_objects")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_eq!(objects.len() as i64, photos, "one object per photo");
    for (object_id,) in objects {
        let verification = instance
            .get_as(
                &format!("/api/objects/{object_id}/history/verify"),
                &users[0].access_token,
            )
            .await;
        assert_eq!(verification.status(), 200);
        let verification: serde_json::Value = verification.json().await.unwrap();
        assert_eq!(verification["valid"], true, "{verification}");
    }
}

/// How long ago the newest file under `dir` (any depth) was written.
fn newest_file_age(dir: &std::path::Path) -> Duration {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                newest = newest.max(metadata.modified().unwrap());
            }
        }
    }
    newest.elapsed().unwrap_or_default()
}
