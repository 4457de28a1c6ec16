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

/// The kind whose events close sockets.
const SESSIONS_REVOKED: &str = "sessions_revoked";
use crate::auth::{AuthState, QR_CHANNEL};

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
}

impl EventHub {
    /// Starts listening and learns the current head, in that order, so no event falls between.
    /// `queue` is how many events a connection may fall behind.
    pub async fn connect(pool: &PgPool, queue: u64) -> anyhow::Result<(Arc<Self>, PgListener)> {
        let listener = listen(pool).await?;
        let head = super::head(pool)
            .await
            .context("cannot read the newest event")?;
        let (sender, _) = broadcast::channel(usize::try_from(queue.max(1))?);
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
        let events = self.sender.subscribe();
        Subscription {
            events,
            watermark: self.watermark.load(Ordering::Acquire),
            stopping: self.stopping.subscribe(),
        }
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
                        tokio::time::sleep(RETRY_BACKOFF).await;
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
    async fn catch_up(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        loop {
            let after = self.watermark.load(Ordering::Acquire);
            let batch = sqlx::query_as!(
                StoredEvent,
                r#"
                select seq, kind, audience, payload::text as "payload!" from events
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
