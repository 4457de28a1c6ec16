//! An instance dies: nginx sends requests to the other, sockets reconnect through nginx and
//! resume where they left off; `/metrics` moves with the traffic.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use gallery_types::{Event, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use super::{Deployment, metric, scrape};
use crate::{
    helpers::TestApp,
    images,
    photos::upload,
    sockets::{MESSAGE_TIMEOUT, Open, Socket},
};

/// The ids of the photos in `events`.
fn created(events: &[(i64, Event)]) -> BTreeSet<i64> {
    events
        .iter()
        .filter_map(|(_, event)| match event {
            Event::PhotoCreated(created) => Some(created.photo.id),
            _ => None,
        })
        .collect()
}

/// Reads events until the photos `expected` have all arrived; asserts sequence numbers
/// follow each other without a gap from `after`.
async fn read_until_created(
    socket: &mut Socket,
    mut after: i64,
    expected: &BTreeSet<i64>,
) -> Vec<(i64, Event)> {
    let mut events = Vec::new();
    while !expected.is_subset(&created(&events)) {
        let (seq, event) = socket.event().await;
        assert_eq!(seq, after + 1, "events arrive in order, none missing");
        after = seq;
        events.push((seq, event));
    }
    events
}

/// The next event, or None when the connection ends (its instance died, or it was closed).
async fn next_event_or_end(socket: &mut Socket) -> Option<(i64, Event)> {
    loop {
        let frame = tokio::time::timeout(MESSAGE_TIMEOUT, socket.stream.next())
            .await
            .expect("an event or the end in time");
        match frame {
            Some(Ok(Message::Text(text))) => match serde_json::from_str(&text).unwrap() {
                ServerMessage::Event { seq, event } => return Some((seq, event)),
                other => panic!("expected an event, got {other:?}"),
            },
            Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn one_instance_killed_requests_go_on_and_sockets_resume_without_a_loss() {
    let mut deployment = Deployment::start(2, &[]).await;
    let front = deployment.front_handle();
    let user = front.sign_in(44_001, "Steady", None).await;

    // A socket on the instance that will die, and one through nginx.
    let (mut doomed, hello) = deployment.instances[0].app.open(Open::default()).await;
    let (mut steady, steady_hello) = front.open(Open::default()).await;
    let first = upload(
        &front,
        &user,
        images::jpeg(&images::noise(40, 30, 1)),
        "Before",
    )
    .await;
    let before = BTreeSet::from([first["id"].as_i64().unwrap()]);
    let seen = read_until_created(&mut doomed, hello.seq, &before).await;
    let last_seen = seen.last().unwrap().0;

    deployment.kill(0).await;

    // Every request through nginx still succeeds: reads and writes, on the survivor.
    let mut during = BTreeSet::new();
    for seed in 2..8 {
        let photo = upload(
            &front,
            &user,
            images::jpeg(&images::noise(40, 30, 2 * seed + 1)),
            "During",
        )
        .await;
        during.insert(photo["id"].as_i64().unwrap());
        let page = front.get("/api/photos").await;
        assert_eq!(page.status(), 200, "reads go on");
    }

    // The dropped socket's client reconnects through nginx and resumes after the last event
    // it saw: everything since arrives, in order, once.
    let (mut resumed, resumed_hello) = front
        .open(Open {
            after: Some(last_seen),
            ..Open::default()
        })
        .await;
    assert!(!resumed_hello.reload, "resumed, not told to reload");
    let replayed = read_until_created(&mut resumed, last_seen, &during).await;
    assert_eq!(created(&replayed), during);

    // The socket behind nginx saw everything too, whichever instance it was on (if it was on
    // the dead one, it reconnects and resumes likewise).
    let all: BTreeSet<i64> = before.union(&during).copied().collect();
    let mut steady_seen = Vec::new();
    let mut after = steady_hello.seq;
    loop {
        match next_event_or_end(&mut steady).await {
            Some((seq, event)) => {
                assert_eq!(seq, after + 1, "in order, none missing");
                after = seq;
                steady_seen.push((seq, event));
                if all.is_subset(&created(&steady_seen)) {
                    break;
                }
            }
            None => {
                let (socket, hello) = front
                    .open(Open {
                        after: Some(after),
                        ..Open::default()
                    })
                    .await;
                assert!(!hello.reload);
                steady = socket;
            }
        }
    }

    // The instance comes back and serves again.
    deployment.restart(0).await;
    let back = deployment.instances[0].app.get("/ready").await;
    assert_eq!(back.status(), 200);
}

#[tokio::test]
async fn metrics_parse_and_move_with_the_traffic() {
    let deployment = Deployment::start(1, &[]).await;
    let instance: &TestApp = &deployment.instances[0].app;
    let before = scrape(instance).await;
    for name in [
        "gallery_db_pool_connections",
        "gallery_db_pool_max_connections",
        "gallery_websocket_connections",
    ] {
        assert!(
            before.iter().any(|sample| sample.name == name),
            "{name} is reported"
        );
    }

    let user = instance.sign_in(45_001, "Counted", None).await;
    let (mut socket, _) = instance.open_as(&user).await;
    let bytes = images::jpeg(&images::noise(120, 90, 5));
    let size = bytes.len() as f64;
    upload(instance, &user, bytes, "Counted").await;
    let _ = socket.event().await;
    let during = scrape(instance).await;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        metric(&during, name, labels) - metric(&before, name, labels)
    };
    assert_eq!(
        delta(
            "gallery_http_requests_total",
            &[("operation", "upload_photo"), ("status", "201")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "gallery_http_request_duration_seconds_count",
            &[("operation", "sign_in_with_max"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(delta("gallery_upload_bytes_total", &[]), size);
    assert_eq!(
        delta(
            "gallery_image_decode_seconds_count",
            &[("outcome", "processed")]
        ),
        1.0
    );
    assert!(delta("gallery_events_published_total", &[]) >= 1.0);
    assert!(delta("gallery_events_delivered_total", &[]) >= 1.0);
    assert_eq!(metric(&during, "gallery_websocket_connections", &[]), 1.0);
    assert!(metric(&during, "gallery_db_pool_max_connections", &[]) >= 1.0);

    drop(socket);
    let closed = crate::helpers::wait_until(std::time::Duration::from_secs(10), || async {
        metric(
            &scrape(instance).await,
            "gallery_websocket_connections",
            &[],
        ) == 0.0
    })
    .await;
    assert!(closed.is_some(), "a closed socket is no longer counted");
}
