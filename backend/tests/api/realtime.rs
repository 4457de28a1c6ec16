//! Realtime: events over WebSockets, resume, fan-out across instances, backpressure, tickets.

use std::{sync::Arc, time::Duration};

use futures_util::SinkExt;
use gallery::{
    config::ServeConfig,
    events::{self, Audience},
    startup::Application,
};
use gallery_types::{ClientMessage, ErrorCode, Event, PhotoUpdated, ServerMessage, close_code};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::{
        SignedIn, TestApp, assert_json_error, database_url, spawn_app, spawn_app_with, test_config,
    },
    images,
    photos::upload,
    sockets::{Open, refusal},
};

/// Every sequence number in the test's database, in order, once everything committed has
/// been numbered.
async fn stored_sequence(app: &TestApp) -> Vec<i64> {
    let mut connection = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    sqlx::query("select settle_events()")
        .execute(&mut connection)
        .await
        .unwrap();
    sqlx::query_scalar("select seq from events_between(0, 9223372036854775807) order by seq")
        .fetch_all(&mut connection)
        .await
        .unwrap()
}

async fn photo_of(app: &TestApp, user: &SignedIn, seed: u32) -> i64 {
    let image = images::two_tone(64, 48, seed);
    let photo = upload(app, user, images::jpeg(&image), &format!("photo {seed}")).await;
    photo["id"].as_i64().unwrap()
}

/// Favorites (or unfavorites) a photo: one `favorite_count` event each time.
async fn toggle_favorite(app: &TestApp, user: &SignedIn, photo_id: i64, on: bool) {
    let request = if on {
        app.client
            .put(app.url(&format!("/api/photos/{photo_id}/favorite")))
    } else {
        app.client
            .delete(app.url(&format!("/api/photos/{photo_id}/favorite")))
    };
    let response = request
        .bearer_auth(&user.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "favorite {on}");
}

async fn patch_photo(app: &TestApp, user: &SignedIn, photo_id: i64, body: &Value) {
    let response = app
        .client
        .patch(app.url(&format!("/api/photos/{photo_id}")))
        .bearer_auth(&user.access_token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "patch");
}

#[tokio::test]
async fn every_photo_change_reaches_an_anonymous_socket_in_order() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", Some("ann")).await;
    let (mut socket, hello) = app.open(Open::default()).await;
    assert_eq!(hello.user_id, None);
    assert!(!hello.reload);

    let photo_id = photo_of(&app, &ann, 1).await;
    let (created_seq, created) = socket.event().await;
    assert!(created_seq > hello.seq);
    let Event::PhotoCreated(created) = created else {
        panic!("expected photo_created, got {created:?}");
    };
    assert_eq!(created.photo.id, photo_id);
    assert_eq!(created.photo.owner.id, ann.user_id());
    assert!(
        !created.photo.favorited,
        "events are the same for every viewer"
    );

    patch_photo(
        &app,
        &ann,
        photo_id,
        &json!({"title": "Renamed", "tags": ["sea"]}),
    )
    .await;
    toggle_favorite(&app, &ann, photo_id, true).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/photos/{photo_id}")))
        .bearer_auth(&ann.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let (updated_seq, updated) = socket.event().await;
    let Event::PhotoUpdated(updated) = updated else {
        panic!("expected photo_updated, got {updated:?}");
    };
    assert_eq!(
        (updated.photo_id, updated.title.as_str(), updated.tags),
        (photo_id, "Renamed", vec!["sea".to_owned()])
    );
    let (favorite_seq, favorite) = socket.event().await;
    let Event::FavoriteCount(favorite) = favorite else {
        panic!("expected favorite_count, got {favorite:?}");
    };
    assert_eq!((favorite.photo_id, favorite.favorite_count), (photo_id, 1));
    let (deleted_seq, deleted) = socket.event().await;
    assert!(
        matches!(deleted, Event::PhotoDeleted(ref d) if d.photo_id == photo_id),
        "{deleted:?}"
    );
    assert!(created_seq < updated_seq && updated_seq < favorite_seq && favorite_seq < deleted_seq);
}

#[tokio::test]
async fn a_thousand_reconnects_with_events_in_the_gaps_lose_and_repeat_nothing() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let (mut socket, _) = app.open(Open::default()).await;
    let photo_id = photo_of(&app, &ann, 2).await;
    let (created, _) = socket.event().await;
    let mut last = created;
    let mut received = Vec::new();
    let mut favorited = false;
    let mut toggle = async || {
        favorited = !favorited;
        toggle_favorite(&app, &ann, photo_id, favorited).await;
    };

    for cycle in 0..1000usize {
        drop(socket);
        // While disconnected: 0, 1 or 2 events.
        let missed = cycle % 3;
        for _ in 0..missed {
            toggle().await;
        }
        let (resumed, hello) = app
            .open(Open {
                after: Some(last),
                ..Open::default()
            })
            .await;
        socket = resumed;
        assert_eq!((hello.seq, hello.reload), (last, false), "cycle {cycle}");
        // Right after the hello, while the missed ones are being replayed: one more.
        toggle().await;
        for _ in 0..missed + 1 {
            let (seq, event) = socket.event().await;
            assert!(matches!(event, Event::FavoriteCount(_)), "{event:?}");
            assert!(seq > last, "cycle {cycle}: {seq} after {last}");
            last = seq;
            received.push(seq);
        }
    }
    // Nothing more is queued behind the last one: the next event is a new one.
    toggle().await;
    let (seq, _) = socket.event().await;
    received.push(seq);

    let stored = stored_sequence(&app).await;
    let after_start: Vec<i64> = stored.into_iter().filter(|seq| *seq > created).collect();
    assert_eq!(received.len(), 1000 + 999 + 1, "events received");
    assert_eq!(received, after_start, "every event, once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_writers_are_each_delivered_once_to_a_listener() {
    const WRITERS: usize = 50;
    const TOGGLES: usize = 10;
    let app = Arc::new(spawn_app_with(|config| config.database.max_connections = 20).await);
    let owner = app.sign_in(9001, "Owner", None).await;
    let (mut listener, _) = app.open(Open::default()).await;
    // One photo per writer: no row is shared, so nothing but the event log's own ordering
    // lines the writers' commits up.
    let mut photos = Vec::new();
    let mut start = 0;
    for seed in 0..WRITERS {
        photos.push(photo_of(&app, &owner, 100 + seed as u32).await);
        start = listener.event().await.0;
    }
    let mut writers = Vec::new();
    for index in 0..WRITERS {
        writers.push(app.sign_in(10_000 + index as i64, "Writer", None).await);
    }

    let mut tasks = Vec::new();
    for (writer, photo_id) in writers.into_iter().zip(photos) {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for toggle in 0..TOGGLES {
                toggle_favorite(&app, &writer, photo_id, toggle % 2 == 0).await;
            }
        }));
    }
    let mut received = Vec::new();
    for _ in 0..WRITERS * TOGGLES {
        let (seq, event) = listener.event().await;
        assert!(matches!(event, Event::FavoriteCount(_)), "{event:?}");
        received.push(seq);
    }
    for task in tasks {
        task.await.unwrap();
    }

    let stored: Vec<i64> = stored_sequence(&app)
        .await
        .into_iter()
        .filter(|seq| *seq > start)
        .collect();
    assert_eq!(
        received, stored,
        "every sequence number exactly once, in order"
    );
}

/// A desktop's new QR sign-in request: its id, poll secret and number to match.
async fn start_qr_sign_in(app: &TestApp) -> (String, String, u64) {
    let request: Value = app
        .client
        .post(app.url("/api/auth/qr"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let field = |name: &str| request[name].as_str().unwrap().to_owned();
    (
        field("id"),
        field("poll_secret"),
        request["match_code"].as_u64().unwrap(),
    )
}

/// A second server on the same database as `app`.
async fn second_instance(app: &TestApp) -> TestApp {
    spawn_app_with(|config| {
        config.database.url = Some(database_url(&app.database).to_string().into());
    })
    .await
}

#[tokio::test]
async fn events_and_qr_approvals_cross_instances() {
    let first = spawn_app().await;
    let second = second_instance(&first).await;
    let ann = first.sign_in(9001, "Ann", None).await;
    let (mut on_second, _) = second.open(Open::default()).await;

    let photo_id = photo_of(&first, &ann, 4).await;
    let (_, event) = on_second.event().await;
    assert!(
        matches!(event, Event::PhotoCreated(ref created) if created.photo.id == photo_id),
        "{event:?}"
    );

    // A desktop waits on the second instance; the phone approves on the first.
    let (id, poll_secret, match_code) = start_qr_sign_in(&second).await;
    on_second
        .send(&ClientMessage::WatchQrLogin {
            id: id.clone(),
            poll_secret: poll_secret.clone(),
        })
        .await;
    assert!(matches!(
        on_second.next().await,
        ServerMessage::QrLoginPending { .. }
    ));
    let approved = first
        .client
        .post(first.url(&format!("/api/auth/qr/{id}/approve")))
        .bearer_auth(&ann.access_token)
        .json(&json!({ "match_code": match_code }))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 204);
    match on_second.next().await {
        ServerMessage::QrLoginSignedIn {
            id: signed_in,
            tokens,
        } => {
            assert_eq!(signed_in, id);
            assert_eq!(tokens.user.id, ann.user_id());
            assert!(tokens.refresh_token.is_some());
            let me = second.get_as("/api/me", &tokens.access_token).await;
            assert_eq!(me.status(), 200);
        }
        other => panic!("expected the tokens, got {other:?}"),
    }
}

#[tokio::test]
async fn the_qr_watch_reports_declines_and_wrong_secrets() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let (mut desktop, _) = app.open(Open::default()).await;
    let (id, poll_secret, _) = start_qr_sign_in(&app).await;

    // A wrong secret looks like an unknown request; an id of another shape (a NUL byte, too
    // long, empty) is unknown too, not an error.
    let unknown = [
        (id.clone(), "not the secret".to_owned()),
        (format!("{id}\u{0}"), poll_secret.clone()),
        ("x".repeat(65), poll_secret.clone()),
        (String::new(), poll_secret.clone()),
    ];
    for (id, poll_secret) in unknown {
        desktop
            .send(&ClientMessage::WatchQrLogin {
                id: id.clone(),
                poll_secret,
            })
            .await;
        assert!(
            matches!(
                desktop.next().await,
                ServerMessage::Error {
                    code: ErrorCode::NotFound,
                    ..
                }
            ),
            "{id:?} is an unknown request"
        );
    }

    desktop
        .send(&ClientMessage::WatchQrLogin {
            id: id.clone(),
            poll_secret: poll_secret.clone(),
        })
        .await;
    assert!(matches!(
        desktop.next().await,
        ServerMessage::QrLoginPending { .. }
    ));
    let declined = app
        .client
        .post(app.url(&format!("/api/auth/qr/{id}/decline")))
        .bearer_auth(&ann.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 204);
    assert_eq!(desktop.next().await, ServerMessage::QrLoginGone { id });
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_while_others_keep_up() {
    // About 8 MB: more than the kernel buffers on both ends of a loopback connection can hold
    // (4 MB each at most), so the server's writes to the stalled client must block.
    const EVENTS: usize = 2_600;
    const PER_TRANSACTION: usize = 25;
    let app = spawn_app_with(|config| {
        config.realtime.queue = 256;
        config.realtime.send_timeout_seconds = 2;
    })
    .await;
    let (mut stalled, _) = app
        .open(Open {
            receive_buffer: Some(4096),
            ..Open::default()
        })
        .await;
    let (mut reader, _) = app.open(Open::default()).await;
    // A client keeping up reads as events come: the writer never gets further ahead of it
    // than half its queue (on a loaded machine it could, and the reader too would be cut off).
    let (read_so_far, mut reader_progress) = tokio::sync::watch::channel(0usize);

    let writer = async {
        let mut connection = sqlx::PgConnection::connect(database_url(&app.database).as_str())
            .await
            .unwrap();
        for batch in 0..EVENTS / PER_TRANSACTION {
            let written = batch * PER_TRANSACTION;
            reader_progress
                .wait_for(|read| read + 128 >= written)
                .await
                .unwrap();
            let mut transaction = connection.begin().await.unwrap();
            for index in 0..PER_TRANSACTION {
                let event = Event::PhotoUpdated(PhotoUpdated {
                    photo_id: 1,
                    title: format!("take {}", batch * PER_TRANSACTION + index),
                    description: "x".repeat(3000),
                    tags: Vec::new(),
                });
                events::publish(&mut transaction, &Audience::Everyone, &event)
                    .await
                    .unwrap();
            }
            transaction.commit().await.unwrap();
        }
    };
    let read = async {
        for index in 0..EVENTS {
            let (_, event) = reader.event().await;
            assert!(
                matches!(event, Event::PhotoUpdated(ref updated) if updated.title == format!("take {index}")),
                "{event:?}"
            );
            read_so_far.send_replace(index + 1);
        }
    };
    tokio::join!(writer, read);

    let (code, events) = stalled.until_closed().await;
    assert!(
        events < EVENTS,
        "the stalled client was cut off ({events} events)"
    );
    assert!(
        code.is_none() || code == Some(close_code::TOO_SLOW),
        "closed as too slow, or dropped when even the close frame could not be sent: {code:?}"
    );
}

#[tokio::test]
async fn foreign_origins_reused_tickets_and_oversize_messages_are_refused() {
    let app = spawn_app_with(|config| {
        config.realtime.allowed_origins = vec!["https://web.max.ru".into()];
    })
    .await;
    let ann = app.sign_in(9001, "Ann", None).await;

    let foreign = app
        .try_open(Open {
            origin: Some("https://evil.example"),
            ..Open::default()
        })
        .await
        .err()
        .expect("refused");
    let (status, body) = refusal(foreign);
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden_origin"))
    );
    let own_origin = app.address.clone();
    for origin in [own_origin.as_str(), "https://web.max.ru"] {
        let (_, hello) = app
            .open(Open {
                origin: Some(origin),
                ..Open::default()
            })
            .await;
        assert!(!hello.reload, "{origin} is allowed");
    }

    let ticket = app.ticket(&ann).await;
    let (_, hello) = app
        .open(Open {
            ticket: Some(&ticket),
            ..Open::default()
        })
        .await;
    assert_eq!(hello.user_id, Some(ann.user_id()));
    let reused = app
        .try_open(Open {
            ticket: Some(&ticket),
            ..Open::default()
        })
        .await
        .err()
        .expect("refused");
    let (status, body) = refusal(reused);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_ticket"))
    );

    // Not a WebSocket request at all.
    assert_json_error(app.get("/ws").await, 400, "bad_request").await;

    let (mut socket, _) = app.open(Open::default()).await;
    socket.send_text("{\"type\":\"no_such_message\"}").await;
    assert!(matches!(
        socket.next().await,
        ServerMessage::Error {
            code: ErrorCode::InvalidMessage,
            ..
        }
    ));
    socket.send_text(&"x".repeat(70 * 1024)).await;
    assert_eq!(
        socket.until_closed().await.0,
        Some(close_code::MESSAGE_TOO_BIG)
    );

    let (mut chatty, _) = app.open(Open::default()).await;
    for _ in 0..100 {
        if chatty.stream.send(Message::text("{}")).await.is_err() {
            break;
        }
    }
    assert_eq!(
        chatty.until_closed().await.0,
        Some(close_code::POLICY_VIOLATION)
    );

    let (mut binary, _) = app.open(Open::default()).await;
    binary
        .stream
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(
        binary.until_closed().await.0,
        Some(close_code::UNSUPPORTED_DATA)
    );
}

#[tokio::test]
async fn private_events_reach_only_their_users() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let ann_on_laptop = app.sign_in(9001, "Ann", None).await;
    let bob = app.sign_in(9002, "Bob", None).await;
    let (mut ann_socket, hello) = app.open_as(&ann).await;
    assert_eq!(hello.user_id, Some(ann.user_id()));
    let (mut laptop_socket, _) = app.open_as(&ann_on_laptop).await;
    let (mut bob_socket, _) = app.open_as(&bob).await;
    let (mut anonymous, _) = app.open(Open::default()).await;

    // Ann goes private: everybody is told (her photos vanish for them).
    let response = app
        .client
        .patch(app.url("/api/me"))
        .bearer_auth(&ann.access_token)
        .json(&json!({"is_private": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for socket in [
        &mut ann_socket,
        &mut laptop_socket,
        &mut bob_socket,
        &mut anonymous,
    ] {
        let (_, event) = socket.event().await;
        assert!(
            matches!(event, Event::ProfileVisibility(ref v) if v.user_id == ann.user_id() && v.is_private),
            "{event:?}"
        );
    }

    // Her new photo is hers alone; Bob's is everyone's.
    let ann_photo = photo_of(&app, &ann, 6).await;
    let bob_photo = photo_of(&app, &bob, 7).await;
    let created = |event: &Event| match event {
        Event::PhotoCreated(created) => created.photo.id,
        other => panic!("expected photo_created, got {other:?}"),
    };
    for socket in [&mut ann_socket, &mut laptop_socket] {
        assert_eq!(created(&socket.event().await.1), ann_photo);
        assert_eq!(created(&socket.event().await.1), bob_photo);
    }
    for socket in [&mut bob_socket, &mut anonymous] {
        assert_eq!(
            created(&socket.event().await.1),
            bob_photo,
            "Ann's photo is not shown"
        );
    }

    // Ann ends her laptop session from her phone: both of her sockets learn it, the laptop's
    // socket closes, and nobody else hears of it.
    let sessions: Vec<Value> = app
        .get_as("/api/me/sessions", &ann.access_token)
        .await
        .json()
        .await
        .unwrap();
    let laptop = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let laptop_ticket = app.ticket(&ann_on_laptop).await;
    let ended = app
        .client
        .delete(app.url(&format!("/api/me/sessions/{laptop}")))
        .bearer_auth(&ann.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    for socket in [&mut ann_socket, &mut laptop_socket] {
        let (_, event) = socket.event().await;
        let Event::SessionsRevoked(revoked) = event else {
            panic!("expected sessions_revoked, got {event:?}");
        };
        assert_eq!(revoked.session_ids.len(), 1);
        assert_eq!(revoked.session_ids[0].to_string(), laptop);
    }
    assert_eq!(
        laptop_socket.until_closed().await.0,
        Some(close_code::SESSION_ENDED)
    );
    toggle_favorite(&app, &bob, bob_photo, true).await;
    for socket in [&mut ann_socket, &mut bob_socket, &mut anonymous] {
        assert!(
            matches!(socket.event().await.1, Event::FavoriteCount(_)),
            "the next event after the private one"
        );
    }

    // A ticket taken before the session ended opens nothing.
    let refused = app
        .try_open(Open {
            ticket: Some(&laptop_ticket),
            ..Open::default()
        })
        .await
        .err()
        .expect("refused");
    let (status, body) = refusal(refused);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_ticket"))
    );
}

#[tokio::test]
async fn signing_out_closes_the_sessions_sockets() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let (mut socket, _) = app.open_as(&ann).await;
    let response = app
        .post_json(
            "/api/auth/logout",
            &json!({"refresh_token": ann.refresh_token()}),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert!(matches!(socket.event().await.1, Event::SessionsRevoked(_)));
    assert_eq!(
        socket.until_closed().await.0,
        Some(close_code::SESSION_ENDED)
    );
}

#[tokio::test]
async fn a_session_that_runs_out_closes_its_sockets_unless_refreshed() {
    let app = spawn_app_with(|config| config.realtime.ping_seconds = 1).await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let bob = app.sign_in(9002, "Bob", None).await;
    // Both sessions run out two seconds from now (they would last for days otherwise).
    let started = tokio::time::Instant::now();
    let mut connection = sqlx::PgConnection::connect(database_url(&app.database).as_str())
        .await
        .unwrap();
    sqlx::query("update sessions set expires_at = now() + interval '2 seconds'")
        .execute(&mut connection)
        .await
        .unwrap();
    let (mut ann_socket, _) = app.open_as(&ann).await;
    let (mut bob_socket, _) = app.open_as(&bob).await;
    // Bob's client refreshes in time, which moves his session's end on by days.
    let refreshed = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": bob.refresh_token()}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);

    // Nobody ended Ann's session: it ran out, and no event says so.
    // (Pings keep the socket talking, so the wait for the close is bounded as a whole.)
    let closed = tokio::time::timeout(Duration::from_secs(10), ann_socket.until_closed())
        .await
        .expect("Ann's socket closes within seconds of her session's end");
    assert_eq!(closed.0, Some(close_code::SESSION_ENDED));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before its end"
    );
    // A ping a second from the socket's start: the third comes after the old end, past the
    // check that found the session extended.
    for _ in 0..3 {
        bob_socket.ping().await;
    }
    assert!(started.elapsed() >= Duration::from_secs(3));
    let (_, hello) = app.open_as(&bob).await;
    assert!(hello.user_id.is_some(), "Bob is still signed in");
    bob_socket.send_text("{}").await;
    assert!(
        matches!(bob_socket.next().await, ServerMessage::Error { .. }),
        "Bob's first socket still answers"
    );
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_to_reload() {
    let app = spawn_app_with(|config| config.realtime.events_window = 5).await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let photo_id = photo_of(&app, &ann, 8).await;
    let (mut live, start) = app
        .open(Open {
            after: Some(0),
            ..Open::default()
        })
        .await;
    live.event().await;
    for on in [true, false, true, false, true, false] {
        toggle_favorite(&app, &ann, photo_id, on).await;
    }
    // This instance has every one of them once a live socket has.
    let mut head = 0;
    for _ in 0..6 {
        head = live.event().await.0;
    }
    assert_eq!(head, *stored_sequence(&app).await.last().unwrap());

    let (_, behind) = app
        .open(Open {
            after: Some(start.seq),
            ..Open::default()
        })
        .await;
    assert_eq!(
        (behind.seq, behind.reload),
        (head, true),
        "six missed, five kept"
    );
    let (_, unknown) = app
        .open(Open {
            after: Some(head + 1000),
            ..Open::default()
        })
        .await;
    assert_eq!(
        (unknown.seq, unknown.reload),
        (head, true),
        "a position from elsewhere"
    );
    let (mut close_behind, within) = app
        .open(Open {
            after: Some(head - 2),
            ..Open::default()
        })
        .await;
    assert_eq!((within.seq, within.reload), (head - 2, false));
    assert_eq!(close_behind.event().await.0, head - 1);
    assert_eq!(close_behind.event().await.0, head);
}

#[tokio::test]
async fn silent_peers_are_dropped_and_stopping_says_going_away() {
    let (mut config, database, _scratch) = test_config().await;
    config.realtime.ping_seconds = 1;
    config.realtime.idle_seconds = 2;
    run_with_stop(config, database, async |app, stop| {
        // A peer that reads bytes but never speaks WebSocket back: no pong ever comes.
        let started = tokio::time::Instant::now();
        let received = silent_peer(app).await;
        assert!(received.starts_with(b"HTTP/1.1 101"), "upgraded");
        assert_eq!(
            close_code_in(&received),
            Some(close_code::IDLE),
            "closed with the idle code"
        );
        assert!(started.elapsed() >= Duration::from_secs(2));

        let (mut listening, _) = app.open(Open::default()).await;
        stop.send(()).unwrap();
        assert_eq!(
            listening.until_closed().await.0,
            Some(close_code::GOING_AWAY)
        );
    })
    .await;
}

/// The code of the close frame among the raw bytes a server sent after its `101` response
/// (server frames are never masked; RFC 6455 §5.2).
fn close_code_in(received: &[u8]) -> Option<u16> {
    let body = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")?
        + 4;
    let mut frames = &received[body..];
    while frames.len() >= 2 {
        let opcode = frames[0] & 0x0f;
        let (length, header) = match frames[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([frames[2], frames[3]])), 4),
            127 => (
                usize::try_from(u64::from_be_bytes(frames[2..10].try_into().ok()?)).ok()?,
                10,
            ),
            short => (usize::from(short), 2),
        };
        let payload = frames.get(header..header + length)?;
        if opcode == 0x8 {
            return Some(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]));
        }
        frames = &frames[header + length..];
    }
    None
}

/// Opens `/ws` by hand and reads whatever the server sends until it hangs up.
async fn silent_peer(app: &TestApp) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(handshake.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut received))
        .await
        .expect("the server hangs up in time")
        .unwrap();
    received
}

/// Runs a server with `config` until `test` sends on its channel, then waits for it to stop.
async fn run_with_stop(
    config: ServeConfig,
    database: String,
    test: impl AsyncFnOnce(&TestApp, tokio::sync::oneshot::Sender<()>),
) {
    let web_dir = config.web_dir.clone();
    let application = Application::build(config).await.unwrap();
    let address = format!("http://{}", application.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    let app = TestApp::for_running(address, database, web_dir);
    test(&app, stop).await;
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn events_can_be_read_over_http_too() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", None).await;
    let start: Value = app.get("/api/events").await.json().await.unwrap();
    assert_eq!(start["events"], json!([]));
    let after = start["next_after"].as_i64().unwrap();
    let photo_id = photo_of(&app, &ann, 9).await;
    toggle_favorite(&app, &ann, photo_id, true).await;
    let response = app
        .client
        .post(app.url("/api/auth/logout-all"))
        .bearer_auth(&ann.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let page: Value = app
        .get(&format!("/api/events?after={after}&limit=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["events"][0]["event"]["kind"], "photo_created");
    assert_eq!(page["more"], true);
    let next = page["next_after"].as_i64().unwrap();
    let rest: Value = app
        .get(&format!("/api/events?after={next}"))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = rest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["favorite_count"],
        "the session event is Ann's alone"
    );
    assert_eq!(rest["more"], false);

    let too_old: Value = app.get("/api/events?after=-1").await.json().await.unwrap();
    assert_eq!(too_old["code"], "bad_request");
}

/// The kinds and titles of every `photo_created` event in `page` (`GET /api/events`).
fn created_titles(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["event"]["kind"] == "photo_created")
        .map(|event| {
            event["event"]["photo"]["title"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Every event kind in `page` that concerns photo `photo_id`.
fn kinds_about(page: &Value, photo_id: i64) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| {
            let event = &event["event"];
            event["photo_id"].as_i64() == Some(photo_id)
                || event["photo"]["id"].as_i64() == Some(photo_id)
        })
        .map(|event| event["event"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_photo_of_an_owner_gone_private_is_never_replayed_to_others() {
    let app = spawn_app().await;
    let ann = app.sign_in(9101, "Ann", None).await;
    let bob = app.sign_in(9102, "Bob", None).await;
    let photo_id = photo_of(&app, &ann, 31).await;
    patch_photo(
        &app,
        &ann,
        photo_id,
        &json!({ "title": "Ann's secret garden" }),
    )
    .await;
    toggle_favorite(&app, &bob, photo_id, true).await;
    let response = app
        .client
        .patch(app.url("/api/me"))
        .bearer_auth(&ann.access_token)
        .json(&json!({ "is_private": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let read = |token: Option<String>| {
        let app = &app;
        async move {
            let mut request = app.client.get(app.url("/api/events?after=0"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    for (who, page) in [
        ("anonymous", read(None).await),
        ("Bob", read(Some(bob.access_token.clone())).await),
    ] {
        assert_eq!(kinds_about(&page, photo_id), Vec::<String>::new(), "{who}");
        assert!(
            !page.to_string().contains("secret garden"),
            "{who} sees nothing of it: {page}"
        );
    }
    let owner = read(Some(ann.access_token.clone())).await;
    assert_eq!(
        kinds_about(&owner, photo_id),
        ["photo_created", "photo_updated", "favorite_count"],
        "Ann still sees her own"
    );

    // The socket's replay follows the same rule.
    let (mut anonymous, hello) = app
        .open(Open {
            after: Some(0),
            ..Open::default()
        })
        .await;
    assert!(!hello.reload);
    let (seq, event) = anonymous.event().await;
    assert!(
        matches!(event, Event::ProfileVisibility(ref change) if change.is_private),
        "the first event it may see is the privacy change: {seq} {event:?}"
    );
}

#[tokio::test]
async fn a_deleted_photo_is_never_replayed_but_its_deletion_is() {
    let app = spawn_app().await;
    let bob = app.sign_in(9103, "Bob", None).await;
    let kept = photo_of(&app, &bob, 32).await;
    let gone = photo_of(&app, &bob, 33).await;
    patch_photo(&app, &bob, gone, &json!({ "title": "soon gone" })).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/photos/{gone}")))
        .bearer_auth(&bob.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let everyone: Value = app.get("/api/events?after=0").await.json().await.unwrap();
    assert_eq!(kinds_about(&everyone, gone), ["photo_deleted"]);
    assert_eq!(
        created_titles(&everyone),
        ["photo 32"],
        "only the photo that still exists"
    );
    assert!(!everyone.to_string().contains("soon gone"));
    let owner: Value = app
        .get_as("/api/events?after=0", &bob.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        kinds_about(&owner, gone),
        ["photo_deleted"],
        "nor to its owner"
    );
    assert_eq!(kinds_about(&owner, kept), ["photo_created"]);
}

/// The feed page and its `X-Event-Seq`.
async fn feed_page(app: &TestApp) -> (i64, Value) {
    let response = app.get("/api/photos?limit=50").await;
    assert_eq!(response.status(), 200);
    let seq = response.headers()["x-event-seq"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (seq, response.json().await.unwrap())
}

fn titles(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|photo| photo["title"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_page_names_the_event_it_reflects_and_a_socket_from_there_misses_nothing() {
    let app = spawn_app().await;
    let ann = app.sign_in(9001, "Ann", Some("ann")).await;
    let photo_id = photo_of(&app, &ann, 1).await;
    // Until the hub has handed the upload's event to sockets, a page may not promise it.
    let (mut watcher, _) = app.open(Open::default()).await;
    let (created_seq, _) = watcher.event().await;

    let (seq, page) = feed_page(&app).await;
    assert!(
        seq >= created_seq,
        "the page reflects the upload ({seq} < {created_seq})"
    );
    assert_eq!(titles(&page), ["photo 1"]);
    // Served again, from memory: the same event, the same page.
    let (again_seq, again) = feed_page(&app).await;
    assert_eq!((again_seq, &again), (seq, &page));

    // A change after the page reaches a socket opened from the page's number, once.
    patch_photo(&app, &ann, photo_id, &json!({"title": "Renamed"})).await;
    let (mut socket, hello) = app
        .open(Open {
            after: Some(seq),
            ..Open::default()
        })
        .await;
    assert!(!hello.reload);
    let (updated_seq, updated) = socket.event().await;
    assert!(updated_seq > seq);
    assert!(matches!(updated, Event::PhotoUpdated(ref u) if u.title == "Renamed"));

    // Once this instance's sockets have the event, no page older than it is served.
    let (watched_seq, _) = watcher.event().await;
    assert_eq!(watched_seq, updated_seq);
    let (seq, page) = feed_page(&app).await;
    assert!(
        seq >= updated_seq,
        "the page is older than a delivered event"
    );
    assert_eq!(titles(&page), ["Renamed"]);
}
