//! The per-instance fan-out: one `LISTEN` connection hears every committed event (from any
//! instance), reads it once, serializes its frame once, and hands the same bytes to every
//! WebSocket connection of this instance through a bounded broadcast queue.
//!
//! The same connection listens on the *signal* channels other features ask for when the hub
//! is built (QR sign-in uses one): a notification there only wakes whoever waits on that
//! channel's [`Notify`], on this instance.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use gallery_types::Event;
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::{Notify, broadcast, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use uuid::Uuid;

use super::{EVENTS_CHANNEL, StoredEvent};
use crate::db::{DbError, During};

/// The kind whose events close sockets.
const SESSIONS_REVOKED: &str = "sessions_revoked";

/// Events read per query when catching up: well below any connection's queue, so that a
/// backlog is handed out in steps connections can keep up with.
const FETCH_BATCH: i64 = 100;

/// Wait between attempts to re-open a lost listener connection, or to read new events again.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// An event ready to send: decoded once (for the server's own decisions) and framed once.
#[derive(Debug)]
pub struct SharedEvent {
    pub seq: i64,
    /// Null: everyone; otherwise only these users.
    pub audience: Option<Box<[i64]>>,
    /// The sessions this event ends (their sockets close after it).
    pub ends_sessions: Box<[Uuid]>,
    /// `{"type":"event","seq":…,"event":…}`, shared by every connection that sends it.
    pub frame: Utf8Bytes,
}

impl SharedEvent {
    pub fn new(stored: StoredEvent) -> Self {
        // Only session ends matter to the server itself; every other payload is passed on
        // as it is (even a kind this build does not know, written by a newer instance).
        let ends_sessions = if stored.kind == SESSIONS_REVOKED {
            match serde_json::from_str::<Event>(&stored.payload) {
                Ok(Event::SessionsRevoked(revoked)) => revoked.session_ids.into_boxed_slice(),
                _ => {
                    tracing::error!(seq = stored.seq, "cannot read a sessions_revoked event");
                    Box::default()
                }
            }
        } else {
            Box::default()
        };
        // The payload is passed on as stored: `ServerMessage::Event`'s shape, without decoding
        // (and re-encoding) the event.
        let frame = serde_json::from_str::<&RawValue>(&stored.payload)
            .and_then(|event| {
                serde_json::to_string(&EventFrame {
                    seq: stored.seq,
                    event,
                })
            })
            .unwrap_or_else(|error| {
                // The column is `json`: PostgreSQL checked it when it was written.
                unreachable!("a stored event payload is JSON: {error}")
            });
        Self {
            seq: stored.seq,
            audience: stored.audience.map(Vec::into_boxed_slice),
            ends_sessions,
            frame: frame.into(),
        }
    }

    /// Whether `viewer` (None: anonymous) may receive it.
    pub fn visible_to(&self, viewer: Option<i64>) -> bool {
        match (&self.audience, viewer) {
            (None, _) => true,
            (Some(users), Some(viewer)) => users.contains(&viewer),
            (Some(_), None) => false,
        }
    }
}

/// `{"type":"event","seq":…,"event":…}`, as [`gallery_types::ServerMessage::Event`] reads it.
#[derive(Serialize)]
#[serde(tag = "type", rename = "event")]
struct EventFrame<'a> {
    seq: i64,
    event: &'a RawValue,
}

/// What a connection holds from the hub for as long as it lives (the hub counts these to know
/// when every socket has closed).
pub struct Subscription {
    /// Live events, in sequence order: the connection's bounded queue.
    pub events: broadcast::Receiver<Arc<SharedEvent>>,
    /// Every event up to this one was broadcast before the queue existed.
    pub watermark: i64,
    /// Turns true when the server starts stopping.
    pub stopping: watch::Receiver<bool>,
}

/// This instance's end of the event stream.
pub struct EventHub {
    sender: broadcast::Sender<Arc<SharedEvent>>,
    /// The highest sequence number broadcast so far: every event up to it has been handed to
    /// the queue (or was before this instance started).
    watermark: AtomicI64,
    /// Flipped to true when the server stops; every connection holds a receiver.
    stopping: watch::Sender<bool>,
    /// The signal channels and who waits on each.
    signals: Vec<(&'static str, Arc<Notify>)>,
}

impl EventHub {
    /// Starts listening and learns the current head, in that order, so no event falls between.
    /// `queue` is how many events a connection may fall behind; `signal_channels` are the
    /// signal channels to listen on as well (see [`EventHub::signal`]).
    pub async fn connect(
        pool: &PgPool,
        queue: u64,
        signal_channels: &[&'static str],
    ) -> anyhow::Result<(Arc<Self>, PgListener)> {
        let signals = signal_channels
            .iter()
            .map(|channel| (*channel, Arc::new(Notify::new())))
            .collect::<Vec<_>>();
        let listener = listen(pool, signal_channels).await?;
        let head = super::head(pool)
            .await
            .context("cannot read the newest event")?;
        let (sender, _) = broadcast::channel(usize::try_from(queue.max(1))?);
        let (stopping, _) = watch::channel(false);
        let hub = Arc::new(Self {
            sender,
            watermark: AtomicI64::new(head),
            stopping,
            signals,
        });
        Ok((hub, listener))
    }

    /// What wakes (with `notify_waiters`) whenever `channel` is notified on any instance, and
    /// whenever the listener reconnects (a notification may have been missed meanwhile).
    ///
    /// # Panics
    /// If `channel` was not among the signal channels the hub was built with.
    pub fn signal(&self, channel: &str) -> Arc<Notify> {
        self.signals
            .iter()
            .find(|(name, _)| *name == channel)
            .map(|(_, notify)| notify.clone())
            .unwrap_or_else(|| panic!("the event hub does not listen on {channel}"))
    }

    fn wake_every_signal(&self) {
        for (_, notify) in &self.signals {
            notify.notify_waiters();
        }
    }

    /// A new connection's view: its queue first, then the watermark. Events after the
    /// watermark are broadcast after this call, so they are all in the queue.
    pub fn subscribe(&self) -> Subscription {
        let events = self.sender.subscribe();
        Subscription {
            events,
            watermark: self.watermark(),
            stopping: self.stopping.subscribe(),
        }
    }

    /// The newest event this instance has handed to its sockets (every earlier one too). A read
    /// of the database that starts after this call reflects at least that event.
    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// Open sockets on this instance (and upgrades under way).
    pub fn connections(&self) -> usize {
        self.stopping.receiver_count()
    }

    /// Tells every connection to close with "going away", and waits up to `grace` for them.
    pub async fn stop(&self, grace: Duration) {
        self.stopping.send_replace(true);
        if tokio::time::timeout(grace, self.stopping.closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.connections(),
                "sockets still open after the grace period"
            );
        }
    }

    /// Follows the notifications until the pool closes: each announced event is read and
    /// broadcast; a signal wakes its waiters.
    pub async fn run(self: Arc<Self>, pool: PgPool, mut listener: PgListener) {
        let signal_channels = self
            .signals
            .iter()
            .map(|(channel, _)| *channel)
            .collect::<Vec<_>>();
        self.catch_up_logged(&pool).await;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.channel() == EVENTS_CHANNEL => {
                    let announced = notification.payload().parse::<i64>().unwrap_or(i64::MAX);
                    if announced > self.watermark.load(Ordering::Acquire) {
                        self.catch_up_logged(&pool).await;
                    }
                }
                Ok(Some(notification)) => {
                    if let Some((_, notify)) = self
                        .signals
                        .iter()
                        .find(|(channel, _)| *channel == notification.channel())
                    {
                        notify.notify_waiters();
                    }
                }
                Ok(None) => {
                    // Lost and re-established: notifications in between are gone, so look.
                    tracing::warn!("event listener reconnected");
                    self.catch_up_logged(&pool).await;
                    self.wake_every_signal();
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    tracing::warn!(%error, "event listener failed; listening again");
                    listener = loop {
                        if pool.is_closed() {
                            return;
                        }
                        tokio::time::sleep(RETRY_BACKOFF).await;
                        match listen(&pool, &signal_channels).await {
                            Ok(listener) => break listener,
                            Err(error) => tracing::warn!(
                                error = format!("{error:#}"),
                                "cannot listen for events"
                            ),
                        }
                    };
                    self.catch_up_logged(&pool).await;
                    self.wake_every_signal();
                }
            }
        }
    }

    /// Catches up, retrying until it succeeds: an announced event is never left waiting for
    /// the next notification, which may not come. Notifications queue up meanwhile.
    async fn catch_up_logged(&self, pool: &PgPool) {
        while let Err(error) = self.catch_up(pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(%error, "cannot read new events; trying again");
            tokio::time::sleep(RETRY_BACKOFF).await;
        }
    }

    /// Reads and broadcasts every event after the watermark. Only the [`run`](Self::run) task
    /// calls this, so the watermark has one writer.
    async fn catch_up(&self, pool: &PgPool) -> Result<(), DbError> {
        loop {
            let after = self.watermark.load(Ordering::Acquire);
            let batch = sqlx::query_as!(
                StoredEvent,
                r#"
                select seq as "seq!", kind as "kind!", audience, payload::text as "payload!"
                from events_between($1, 9223372036854775807)
                order by seq limit $2
                "#,
                after,
                FETCH_BATCH,
            )
            .fetch_all(pool)
            .await
            .during("read new events")?;
            let complete = (batch.len() as i64) < FETCH_BATCH;
            metrics::counter!(crate::telemetry::metrics::EVENTS_PUBLISHED)
                .increment(batch.len() as u64);
            for stored in batch {
                let event = Arc::new(SharedEvent::new(stored));
                // The watermark moves first. A connection subscribing in between either reads
                // the new watermark (it replays this event from the database and skips the
                // queued copy) or the old one (the event reaches it through the queue).
                self.watermark.store(event.seq, Ordering::Release);
                // No receivers is fine: nobody is connected.
                let _ = self.sender.send(event);
            }
            if complete {
                return Ok(());
            }
        }
    }
}

async fn listen(pool: &PgPool, signal_channels: &[&str]) -> anyhow::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .context("cannot open the event listener connection")?;
    listener
        .listen_all(std::iter::once(EVENTS_CHANNEL).chain(signal_channels.iter().copied()))
        .await
        .context("cannot LISTEN for events")?;
    Ok(listener)
}
