//! The event stream without a writers' lock: event-writing transactions do not wait for each
//! other, and still every reader sees every event it may see once, in order — numbered only
//! once no older transaction is still running.

use std::{sync::Arc, time::Duration};

use gallery_types::Event;
use rand::{Rng, SeedableRng, rngs::StdRng};
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

use crate::{
    helpers::{TestApp, database_url, spawn_app_with},
    profiles::set_private,
    sockets::Open,
    trading::call,
};

/// An app whose requests may all wait for a connection as long as a test runs.
async fn roomy_app(database: Option<&str>) -> TestApp {
    spawn_app_with(|config| {
        config.database.max_connections = 20;
        config.database.timeout_seconds = 60;
        if let Some(database) = database {
            config.database.url = Some(database_url(database).to_string().into());
        }
    })
    .await
}

#[tokio::test]
async fn an_open_transaction_holds_back_later_events_but_not_their_writers() {
    let app = roomy_app(None).await;
    let user = app.sign_in(9801, "Irene", None).await;
    let (mut socket, _) = app.open(Open::default()).await;

    // A transaction appends an event and stays open.
    let mut held = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    let mut transaction = held.begin().await.unwrap();
    let payload = json!({ "kind": "profile_visibility", "user_id": 1, "is_private": true });
    sqlx::query("select publish_event('profile_visibility', null, $1::json, null, null)")
        .bind(payload.to_string())
        .execute(&mut *transaction)
        .await
        .unwrap();

    // Another change commits at once: writers do not wait for each other.
    tokio::time::timeout(Duration::from_secs(10), set_private(&app, &user, true))
        .await
        .expect("an event-writing change commits while another is open");

    // The later change committed first, but is not delivered before the open one ends:
    // once it commits, the older transaction's event comes first.
    transaction.commit().await.unwrap();
    let (first_seq, first) = socket.event().await;
    let (second_seq, second) = socket.event().await;
    match (&first, &second) {
        (Event::ProfileVisibility(held), Event::ProfileVisibility(later)) => {
            assert_eq!((held.user_id, later.user_id), (1, user.user_id()));
        }
        other => panic!("expected the two visibility changes, got {other:?}"),
    }
    assert_eq!(second_seq, first_seq + 1);

    // Replayed over HTTP in the same order.
    let page = call(
        &app,
        Method::GET,
        &format!("/api/events?after={}", first_seq - 1),
        None,
        None,
    )
    .await
    .expect(200);
    let seqs: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [first_seq, second_seq]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_writers_on_two_instances_reach_readers_resuming_at_random() {
    const WRITERS: usize = 200;
    const CHANGES: usize = 2;
    const READERS: u64 = 4;
    let first = Arc::new(roomy_app(None).await);
    let second = Arc::new(roomy_app(Some(&first.database)).await);
    let mut writers = Vec::new();
    for index in 0..WRITERS {
        let instance = if index % 2 == 0 { &first } else { &second };
        writers.push(
            instance
                .sign_in(20_000 + index as i64, "Writer", None)
                .await,
        );
    }
    let (_, hello) = first.open(Open::default()).await;
    let start = hello.seq;

    // Readers, each dropping its socket at random moments and resuming on either instance.
    let mut readers = Vec::new();
    for reader in 0..READERS {
        let instances = [first.clone(), second.clone()];
        readers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(reader);
            let mut last = start;
            let mut received = Vec::new();
            while received.len() < WRITERS * CHANGES {
                let instance = &instances[rng.gen_range(0..2)];
                let (mut socket, hello) = instance
                    .open(Open {
                        after: Some(last),
                        ..Open::default()
                    })
                    .await;
                assert!(!hello.reload, "reader {reader} told to reload");
                let stay_for = rng.gen_range(1..40);
                for _ in 0..stay_for {
                    if received.len() == WRITERS * CHANGES {
                        break;
                    }
                    let (seq, event) = socket.event().await;
                    assert!(
                        matches!(event, Event::ProfileVisibility(_)),
                        "reader {reader}: {event:?}"
                    );
                    assert!(seq > last, "reader {reader}: {seq} after {last}");
                    last = seq;
                    received.push(seq);
                }
            }
            received
        }));
    }

    // Every writer changes its own profile twice, through either instance, all at once.
    let mut tasks = Vec::new();
    for (index, writer) in writers.into_iter().enumerate() {
        let instance = if index % 3 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            for change in 0..CHANGES {
                set_private(&instance, &writer, change % 2 == 0).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let mut all_received = Vec::new();
    for reader in readers {
        all_received.push(reader.await.unwrap());
    }
    // Every reader has all of them, so every one is numbered by now.
    let mut connection = sqlx::PgConnection::connect(database_url(&first.database).as_str())
        .await
        .unwrap();
    let stored: Vec<i64> =
        sqlx::query_scalar("select seq from events_between($1, 9223372036854775807) order by seq")
            .bind(start)
            .fetch_all(&mut connection)
            .await
            .unwrap();
    for received in all_received {
        assert_eq!(received, stored, "every event once, in order");
    }
    assert_eq!(stored.len(), WRITERS * CHANGES);
    assert_eq!(
        *stored.last().unwrap() - start,
        (WRITERS * CHANGES) as i64,
        "numbers without gaps"
    );
}
