//! `scripts/backup.sh` and `scripts/restore.sh`: backup, wipe, restore gives back every row
//! and every file; a damaged backup is refused before anything is restored.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

use super::{Deployment, repository, stored_files};
use crate::{
    helpers::{admin_execute, database_url},
    trading::{call, gift, mint, object_of, offer},
};

/// Every table's rows, as JSON in a stable order.
async fn contents(database: &str) -> BTreeMap<String, String> {
    let mut connection = sqlx::PgConnection::connect(database_url(database).as_str())
        .await
        .unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "select tablename::text from pg_tables where schemaname = 'public' order by 1",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    let mut contents = BTreeMap::new();
    for (table,) in tables {
        // The names come from the catalog just read.
        let (rows,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            r#"select coalesce(json_agg(row_json order by row_json::text), '[]')::text
               from (select to_jsonb(t) as row_json from "{table}" t) rows"#
        )))
        .fetch_one(&mut connection)
        .await
        .unwrap();
        contents.insert(table, rows);
    }
    contents
}

fn script(name: &str, database: &str, data_dir: &Path, target: &Path) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(repository().join("scripts").join(name))
        .arg("--database-url")
        .arg(database_url(database).as_str())
        .arg("--data-dir")
        .arg(data_dir)
        .arg(target)
        .output()
        .unwrap_or_else(|error| panic!("{name} runs: {error}"))
}

fn succeeded(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn backup_wipe_restore_gives_back_everything_and_a_damaged_backup_is_refused() {
    let mut deployment = Deployment::start(1, &[]).await;
    let app = deployment.instance_handle(0);

    // Some of everything: users (one private), photos and objects, favorites, a gift (history),
    // a pending offer, a claim link, a profile request.
    let ann = app.sign_in(48_001, "Ann", Some("ann")).await;
    let bob = app.sign_in(48_002, "Bob", Some("bob")).await;
    let cat = app.sign_in(48_003, "Cat", None).await;
    let anns = mint(&app, &ann, 1).await;
    let bobs = mint(&app, &bob, 2).await;
    let cats = mint(&app, &cat, 3).await;
    gift(&app, &ann, object_of(&anns), &cat).await.expect(200);
    offer(&app, &bob, &cat, &[object_of(&bobs)], &[object_of(&cats)])
        .await
        .expect(201);
    call(
        &app,
        Method::PUT,
        &format!("/api/photos/{}/favorite", bobs["id"]),
        Some(&ann),
        None,
    )
    .await
    .expect(200);
    call(
        &app,
        Method::POST,
        "/api/claim-links",
        Some(&bob),
        Some(json!({ "object_id": object_of(&bobs) })),
    )
    .await
    .expect(201);
    call(
        &app,
        Method::PATCH,
        "/api/me",
        Some(&cat),
        Some(json!({ "is_private": true })),
    )
    .await
    .expect(200);
    call(
        &app,
        Method::POST,
        "/api/profile-requests",
        Some(&ann),
        Some(json!({ "owner_id": cat.user_id() })),
    )
    .await
    .expect(201);

    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("backup");
    succeeded(
        &script(
            "backup.sh",
            &deployment.database,
            &deployment.data_dir,
            &backup,
        ),
        "backup",
    );
    let rows = contents(&deployment.database).await;
    let files = stored_files(&deployment.uploads());
    for table in [
        "users",
        "photos",
        "art_objects",
        "ownership_history",
        "trade_offers",
    ] {
        assert!(rows.contains_key(table), "{table} is backed up: {rows:?}");
    }
    assert!(files.len() >= 3, "the photos' files: {files:?}");

    // Wipe: the server stops, the database and the data folder go.
    deployment.kill(0).await;
    admin_execute(&format!(
        r#"drop database "{}" with (force)"#,
        deployment.database
    ))
    .await;
    std::fs::remove_dir_all(&deployment.data_dir).unwrap();

    // A flipped byte anywhere is refused, and nothing is restored.
    let damaged = backups.path().join("damaged");
    copy_dir(&backup, &damaged);
    let dump = damaged.join("database.dump");
    let mut bytes = std::fs::read(&dump).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&dump, bytes).unwrap();
    admin_execute(&format!(r#"create database "{}""#, deployment.database)).await;
    let refused = script(
        "restore.sh",
        &deployment.database,
        &deployment.data_dir,
        &damaged,
    );
    assert!(!refused.status.success(), "a damaged backup is refused");
    assert!(
        contents(&deployment.database).await.is_empty(),
        "nothing was restored from it"
    );
    assert!(stored_files(&deployment.data_dir.join("uploads")).is_empty());

    // The intact one restores every row and every file.
    succeeded(
        &script(
            "restore.sh",
            &deployment.database,
            &deployment.data_dir,
            &backup,
        ),
        "restore",
    );
    assert_eq!(contents(&deployment.database).await, rows);
    assert_eq!(stored_files(&deployment.uploads()), files);

    // And the server runs on it: the same people, objects and verified histories.
    deployment.restart(0).await;
    let app = deployment.instance_handle(0);
    let again = app.sign_in(48_003, "Cat", None).await;
    assert_eq!(again.user_id(), cat.user_id());
    let verification = call(
        &app,
        Method::GET,
        &format!("/api/objects/{}/history/verify", object_of(&anns)),
        Some(&again),
        None,
    )
    .await
    .expect(200);
    assert_eq!(verification["valid"], true, "{verification}");
    assert_eq!(verification["entries"], 2, "minted, then given to Cat");
    let thumbnail = anns["urls"]["thumbnail"].as_str().unwrap();
    assert_eq!(
        app.get_as(thumbnail, &again.access_token).await.status(),
        200
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
