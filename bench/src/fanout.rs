//! Fan-out: many idle sockets, then events at a steady rate, each timed from just before the
//! request that causes it to every client that receives it.
//!
//! Whatever the server, an event is recognised by a marker in its frame: `fanout-<n>` for the
//! measured ones, `warmup-<n>` for those sent until every client has shown it is subscribed.
//! The gallery carries the marker in a photo's title (`PATCH /api/photos/<id>` by its owner);
//! the reference broadcast server carries whatever is posted to it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use reqwest::{Client, Method, header::HeaderMap};
use serde::Serialize;
use tokio::{
    sync::{Semaphore, watch},
    task::JoinSet,
};
use tokio_tungstenite::tungstenite::Message;

use crate::stats::{Percentiles, Process};

/// How each event is caused.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    /// The body, with `{marker}` where the event's marker goes.
    pub body_template: String,
}

/// What a fan-out run measured.
#[derive(Debug, Serialize)]
pub struct FanOut {
    pub clients: usize,
    pub events: usize,
    pub rate_per_second: f64,
    /// Server memory per idle socket: its RSS with every client connected and subscribed,
    /// less its RSS before the first connected, over the clients.
    pub rss_per_connection_bytes: f64,
    pub rss_before_bytes: u64,
    pub rss_connected_bytes: u64,
    pub deliveries: u64,
    pub deliveries_per_second: f64,
    /// Every delivery, from just before its trigger was sent.
    pub delivery: Percentiles,
    /// Each event to the last client that received it.
    pub to_last_client: Percentiles,
    /// Server CPU (user and system) while the events went out, over the deliveries.
    pub cpu_per_delivery_us: f64,
    pub server_cpu_seconds: f64,
    /// Deliveries that did not arrive (each event should reach every client).
    pub missing: u64,
}

/// Per event: when its trigger was sent, how many clients received it, and the latest arrival.
struct EventTimes {
    sent_ns: AtomicU64,
    received: AtomicU64,
    last_ns: AtomicU64,
}

struct Shared {
    start: Instant,
    events: Vec<EventTimes>,
    /// Clients that have received a warmup event.
    ready: AtomicUsize,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// Finds `<prefix><digits>` in `text`.
fn marker(text: &str, prefix: &str) -> Option<usize> {
    let at = text.find(prefix)? + prefix.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}

pub async fn run(
    socket_url: &str,
    clients: usize,
    events: usize,
    rate_per_second: f64,
    trigger: &Trigger,
    server: Process,
) -> anyhow::Result<FanOut> {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        events: (0..=events)
            .map(|_| EventTimes {
                sent_ns: AtomicU64::new(0),
                received: AtomicU64::new(0),
                last_ns: AtomicU64::new(0),
            })
            .collect(),
        ready: AtomicUsize::new(0),
    });
    // Readers stop when they have every measured event, or when this turns true.
    let (stop, stopped) = watch::channel(false);
    let rss_before = server.rss()?;

    // Connect, a few hundred handshakes at a time.
    let handshakes = Arc::new(Semaphore::new(256));
    let mut readers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let permit = handshakes.clone().acquire_owned().await?;
        let (socket, _) = tokio_tungstenite::connect_async(socket_url)
            .await
            .with_context(|| format!("cannot open a socket to {socket_url}"))?;
        drop(permit);
        let shared = shared.clone();
        let mut stopped = stopped.clone();
        readers.push(tokio::spawn(async move {
            let (_, mut incoming) = socket.split();
            let mut latencies = Vec::new();
            let mut ready = false;
            while latencies.len() < events {
                let message = tokio::select! {
                    message = incoming.next() => message,
                    _ = stopped.changed() => break,
                };
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                };
                let now = shared.now_ns();
                if let Some(n) = marker(&text, "fanout-") {
                    let Some(times) = shared.events.get(n) else {
                        continue;
                    };
                    times.received.fetch_add(1, Ordering::Relaxed);
                    times.last_ns.fetch_max(now, Ordering::Relaxed);
                    let sent = times.sent_ns.load(Ordering::Relaxed);
                    latencies.push(Duration::from_nanos(now.saturating_sub(sent)));
                } else if !ready && marker(&text, "warmup-").is_some() {
                    ready = true;
                    shared.ready.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }

    let client = Client::builder().http1_only().build()?;
    let send = |marker: String| {
        let request = client
            .request(trigger.method.clone(), &trigger.url)
            .headers(trigger.headers.clone())
            .body(trigger.body_template.replace("{marker}", &marker));
        async move {
            let response = request.send().await?;
            let status = response.status();
            if !status.is_success() {
                bail!(
                    "the trigger answered {status}: {}",
                    response.text().await.unwrap_or_default()
                );
            }
            anyhow::Ok(())
        }
    };

    // Warm up until every client has shown it hears events.
    let warmup_until = Instant::now() + Duration::from_secs(60);
    let mut warmup = 0;
    while shared.ready.load(Ordering::Relaxed) < clients {
        if Instant::now() > warmup_until {
            bail!(
                "only {} of {clients} clients heard a warmup event",
                shared.ready.load(Ordering::Relaxed)
            );
        }
        warmup += 1;
        send(format!("warmup-{warmup}")).await?;
        let wait_until = Instant::now() + Duration::from_secs(2);
        while shared.ready.load(Ordering::Relaxed) < clients && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let rss_connected = server.rss()?;

    // The events, at a steady rate whatever the server's answers take: each trigger is sent on
    // time, without waiting for the answer to the one before (a server that answers only once
    // it has sent an event everywhere would otherwise be sent fewer of them).
    let cpu_before = server.cpu_time()?;
    let began = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate_per_second));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut triggers = JoinSet::new();
    for n in 1..=events {
        ticker.tick().await;
        shared.events[n]
            .sent_ns
            .store(shared.now_ns(), Ordering::Relaxed);
        triggers.spawn(send(format!("fanout-{n}")));
    }
    while let Some(sent) = triggers.join_next().await {
        sent??;
    }
    // Until every delivery has arrived, or ten seconds after the last trigger.
    let expected = (clients * events) as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    let received = || -> u64 {
        shared.events[1..]
            .iter()
            .map(|times| times.received.load(Ordering::Relaxed))
            .sum()
    };
    while received() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = began.elapsed();
    let cpu = server.cpu_time()? - cpu_before;
    let deliveries = received();
    stop.send_replace(true);
    let mut latencies = Vec::with_capacity(deliveries as usize);
    for reader in readers {
        latencies.append(&mut reader.await?);
    }
    let mut to_last: Vec<Duration> = shared.events[1..]
        .iter()
        .filter(|times| times.received.load(Ordering::Relaxed) > 0)
        .map(|times| {
            Duration::from_nanos(
                times.last_ns.load(Ordering::Relaxed) - times.sent_ns.load(Ordering::Relaxed),
            )
        })
        .collect();
    Ok(FanOut {
        clients,
        events,
        rate_per_second,
        rss_per_connection_bytes: (rss_connected as f64 - rss_before as f64) / clients as f64,
        rss_before_bytes: rss_before,
        rss_connected_bytes: rss_connected,
        deliveries,
        deliveries_per_second: deliveries as f64 / elapsed.as_secs_f64(),
        delivery: Percentiles::of(&mut latencies),
        to_last_client: Percentiles::of(&mut to_last),
        cpu_per_delivery_us: cpu.as_secs_f64() * 1e6 / deliveries.max(1) as f64,
        server_cpu_seconds: cpu.as_secs_f64(),
        missing: expected - deliveries,
    })
}

#[cfg(test)]
mod tests {
    use super::marker;

    #[test]
    fn markers_are_found_inside_frames() {
        let frame = r#"{"type":"event","seq":9,"event":{"title":"fanout-42"}}"#;
        assert_eq!(marker(frame, "fanout-"), Some(42));
        assert_eq!(marker(frame, "warmup-"), None);
        assert_eq!(marker("fanout-", "fanout-"), None);
    }
}
