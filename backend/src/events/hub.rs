//! The per-instance fan-out: one `LISTEN` connection hears every committed event (from any
//! instance), reads it once, serializes its frame once, and hands the same bytes to every
//! WebSocket connection of this instance through a bounded broadcast queue.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use gallery_types::Event;
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use uuid::Uuid;

use super::{EVENTS_CHANNEL, StoredEvent};
use crate::auth::{AuthState, QR_CHANNEL};

/// Events read per query when catching up.
const FETCH_BATCH: i64 = 500;

/// Wait between attempts to re-open a lost listener connection.
const RELISTEN_BACKOFF: Duration = Duration::from_secs(1);

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
        let ends_sessions = match serde_json::from_str::<Event>(&stored.payload) {
            Ok(Event::SessionsRevoked(revoked)) => revoked.session_ids.into_boxed_slice(),
            Ok(_) => Box::default(),
            Err(error) => {
                // A kind this build does not know (a newer instance wrote it): pass it on.
                tracing::warn!(seq = stored.seq, %error, "cannot decode an event");
                Box::default()
            }
        };
        let frame = format!(
            r#"{{"type":"event","seq":{},"event":{}}}"#,
            stored.seq, stored.payload
        );
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

/// A connection's queue of live events, and the watermark it starts above.
pub type Subscription = (broadcast::Receiver<Arc<SharedEvent>>, i64);

/// This instance's end of the event stream.
pub struct EventHub {
    sender: broadcast::Sender<Arc<SharedEvent>>,
    /// The highest sequence number broadcast so far: every event up to it has been handed to
    /// the queue (or was before this instance started).
    watermark: AtomicI64,
    /// Flipped to true when the server stops; every connection holds a receiver.
    stopping: watch::Sender<bool>,
}

impl EventHub {
    /// Starts listening and learns the current head, in that order, so no event falls between.
    /// `queue` is how many events a connection may fall behind.
    pub async fn connect(pool: &PgPool, queue: usize) -> anyhow::Result<(Arc<Self>, PgListener)> {
        let listener = listen(pool).await?;
        let head = super::head(pool)
            .await
            .context("cannot read the newest event")?;
        let (sender, _) = broadcast::channel(queue.max(1));
        let (stopping, _) = watch::channel(false);
        let hub = Arc::new(Self {
            sender,
            watermark: AtomicI64::new(head),
            stopping,
        });
        Ok((hub, listener))
    }

    /// A new connection's view: its queue first, then the watermark. Events after the
    /// watermark are broadcast after this call, so they are all in the queue.
    pub fn subscribe(&self) -> Subscription {
        let receiver = self.sender.subscribe();
        (receiver, self.watermark.load(Ordering::Acquire))
    }

    /// Resolves when the server starts stopping.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Open sockets on this instance.
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
    /// broadcast; QR sign-in changes wake the waiting desktops.
    pub async fn run(
        self: Arc<Self>,
        pool: PgPool,
        mut listener: PgListener,
        auth: Arc<AuthState>,
    ) {
        let qr_changed = &auth.qr_changed;
        self.catch_up_logged(&pool).await;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.channel() == QR_CHANNEL => {
                    qr_changed.notify_waiters();
                }
                Ok(Some(notification)) => {
                    let announced = notification.payload().parse::<i64>().unwrap_or(i64::MAX);
                    if announced > self.watermark.load(Ordering::Acquire) {
                        self.catch_up_logged(&pool).await;
                    }
                }
                Ok(None) => {
                    // Lost and re-established: notifications in between are gone, so look.
                    tracing::warn!("event listener reconnected");
                    self.catch_up_logged(&pool).await;
                    qr_changed.notify_waiters();
                }
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    tracing::warn!(%error, "event listener failed; listening again");
                    listener = loop {
                        if pool.is_closed() {
                            return;
                        }
                        tokio::time::sleep(RELISTEN_BACKOFF).await;
                        match listen(&pool).await {
                            Ok(listener) => break listener,
                            Err(error) => tracing::warn!(
                                error = format!("{error:#}"),
                                "cannot listen for events"
                            ),
                        }
                    };
                    self.catch_up_logged(&pool).await;
                    qr_changed.notify_waiters();
                }
            }
        }
    }

    async fn catch_up_logged(&self, pool: &PgPool) {
        if let Err(error) = self.catch_up(pool).await {
            // The next notification (or reconnection) tries again from the same watermark.
            tracing::warn!(%error, "cannot read new events");
        }
    }

    /// Reads and broadcasts every event after the watermark. Only the [`run`](Self::run) task
    /// calls this, so the watermark has one writer.
    async fn catch_up(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        loop {
            let after = self.watermark.load(Ordering::Acquire);
            let batch = sqlx::query_as!(
                StoredEvent,
                r#"
                select seq, audience, payload::text as "payload!" from events
                where seq > $1 order by seq limit $2
                "#,
                after,
                FETCH_BATCH,
            )
            .fetch_all(pool)
            .await?;
            let complete = (batch.len() as i64) < FETCH_BATCH;
            for stored in batch {
                let event = Arc::new(SharedEvent::new(stored));
                // The watermark moves first: a connection that subscribes in between reads the
                // new watermark and skips this event, or the old one and receives it.
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

async fn listen(pool: &PgPool) -> anyhow::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .context("cannot open the event listener connection")?;
    listener
        .listen_all([EVENTS_CHANNEL, QR_CHANNEL])
        .await
        .context("cannot LISTEN for events")?;
    Ok(listener)
}
