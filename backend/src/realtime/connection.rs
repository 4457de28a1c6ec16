//! One socket, from its hello to its close.
//!
//! A connection subscribes to the hub before it reads the hub's watermark, replays from the
//! database what the client missed up to that watermark, then forwards live events above it:
//! every event the client may see arrives once, in sequence order. Its queue is its place in
//! the hub's bounded broadcast; falling further behind than that closes it as too slow.

use std::{num::NonZeroU32, pin::pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt, stream::BoxStream};
use gallery_types::{ClientMessage, ErrorCode, ServerMessage, close_code};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use poem::Upgraded;
use sqlx::PgPool;
use tokio::{
    sync::broadcast::{
        self,
        error::{RecvError, TryRecvError},
    },
    time::{Instant, MissedTickBehavior},
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Error as WsError, Message,
        protocol::{CloseFrame, frame::coding::CloseCode},
    },
};

use super::{Realtime, tickets::Holder};
use crate::{
    auth::sessions,
    events::{self, Resume, SharedEvent, Subscription},
    telemetry,
};

type Socket = WebSocketStream<Upgraded>;

/// Events replayed per database read.
const REPLAY_BATCH: i64 = 500;

/// Live events sent before one flush.
const SEND_BATCH: usize = 64;

/// How long closing politely may take before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How a connection ends.
#[derive(Debug)]
enum Ending {
    /// Send a close frame with this code and reason.
    Close(u16, &'static str),
    /// The peer is gone, or stuck so that nothing more can be written: just drop it.
    Drop,
}

/// Serves one socket until it ends, then closes it.
pub async fn serve(
    mut socket: Socket,
    realtime: &Realtime,
    pool: &PgPool,
    holder: Option<Holder>,
    after: Option<i64>,
    mut subscription: Subscription,
) {
    let _open = telemetry::metrics::OpenSocket::count();
    let ending = Connection::new(realtime, pool, holder)
        .run(&mut socket, after, &mut subscription)
        .await;
    if let Ending::Close(close_code::TOO_SLOW, _) = ending {
        metrics::counter!(telemetry::metrics::SOCKETS_TOO_SLOW).increment(1);
    }
    if let Ending::Close(code, reason) = ending {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        // Send the close frame, then wait for the client's reply (the end of the stream).
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            if socket.close(Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = socket.next().await {}
            }
        })
        .await;
    }
}

struct Connection<'a> {
    realtime: &'a Realtime,
    pool: &'a PgPool,
    holder: Option<Holder>,
    inbound: DefaultDirectRateLimiter,
    send_timeout: Duration,
    delivered: metrics::Counter,
}

impl<'a> Connection<'a> {
    fn new(realtime: &'a Realtime, pool: &'a PgPool, holder: Option<Holder>) -> Self {
        let config = &realtime.config;
        let per_second = NonZeroU32::new(config.messages_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = per_second.saturating_mul(NonZeroU32::new(5).expect("5 is not zero"));
        Self {
            realtime,
            pool,
            holder,
            inbound: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            send_timeout: config.send_timeout(),
            delivered: metrics::counter!(telemetry::metrics::EVENTS_DELIVERED),
        }
    }

    fn viewer(&self) -> Option<i64> {
        self.holder.map(|holder| holder.user_id)
    }

    async fn run(
        &self,
        socket: &mut Socket,
        after: Option<i64>,
        subscription: &mut Subscription,
    ) -> Ending {
        let realtime = self.realtime;
        let watermark = subscription.watermark;
        let Subscription {
            events: live,
            stopping,
            ..
        } = subscription;
        if *stopping.borrow_and_update() {
            return Ending::Close(close_code::GOING_AWAY, "the server is restarting");
        }
        // One wait for the whole connection, rather than a new one going on and off the waiter
        // list every connection shares each time round the loop.
        let mut stopped = pin!(stopping.changed());

        // A client that saw events this instance has not read yet (from another instance)
        // is ahead of the watermark but not beyond the database's head.
        let head = match after {
            Some(after) if after > watermark => match events::head(self.pool).await {
                Ok(head) => head.max(watermark),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the newest event");
                    return Ending::Close(close_code::INTERNAL_ERROR, "try again");
                }
            },
            _ => watermark,
        };
        let resume = events::resume_point(after, head, realtime.config.events_window);
        let (start, reload) = match resume {
            Resume::From(start) => (start, false),
            Resume::Reload => (watermark, true),
        };
        let hello = ServerMessage::Hello {
            seq: start,
            reload,
            user_id: self.viewer(),
        };
        if let Err(ending) = self.send(socket, message(&hello)).await {
            return ending;
        }
        if let Err(ending) = self.replay(socket, start, watermark).await {
            return ending;
        }
        let mut last_sent = start.max(watermark);

        let config = &realtime.config;
        let mut ping =
            tokio::time::interval_at(Instant::now() + config.ping_every(), config.ping_every());
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut session_ends_at = self.holder.map(|holder| holder.session_expires_at);
        // The replies to the client's latest request, while they last.
        let mut replies: Option<BoxStream<'static, ServerMessage>> = None;

        loop {
            // In this order: an event wakes every socket at once, and then only its queue is
            // looked at, not the socket's read side, timers and replies. (The client's messages
            // wait only while events keep coming faster than they go out, and then the
            // connection soon falls too far behind and closes anyway.)
            tokio::select! {
                biased;
                received = live.recv() => {
                    let first = match received {
                        Ok(event) => event,
                        Err(RecvError::Lagged(_)) => {
                            return Ending::Close(close_code::TOO_SLOW, "too far behind; resume");
                        }
                        Err(RecvError::Closed) => {
                            return Ending::Close(close_code::GOING_AWAY, "the server is stopping");
                        }
                    };
                    if let Err(ending) = self.forward(socket, live, first, &mut last_sent).await {
                        return ending;
                    }
                }
                _ = &mut stopped => {
                    return Ending::Close(close_code::GOING_AWAY, "the server is restarting");
                }
                incoming = socket.next() => {
                    last_heard = Instant::now();
                    // Every frame counts, control frames included: answering pings is work too.
                    if matches!(incoming, Some(Ok(_))) && self.inbound.check().is_err() {
                        return Ending::Close(close_code::POLICY_VIOLATION, "too many messages");
                    }
                    match incoming {
                        None => return Ending::Drop,
                        Some(Ok(Message::Text(text))) => {
                            if let Err(ending) = self.handle(socket, &text, &mut replies).await {
                                return ending;
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            return Ending::Close(close_code::UNSUPPORTED_DATA, "send JSON text");
                        }
                        // Pongs (and pings, which the library answers) only show the peer lives;
                        // after a close frame the stream ends with the library's reply.
                        Some(Ok(_)) => {}
                        Some(Err(WsError::Capacity(_))) => {
                            return Ending::Close(close_code::MESSAGE_TOO_BIG, "messages are at most 64 KiB");
                        }
                        Some(Err(_)) => return Ending::Drop,
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= config.idle_after() {
                        return Ending::Close(close_code::IDLE, "nothing heard for too long");
                    }
                    if let Err(ending) = self.check_session(&mut session_ends_at).await {
                        return ending;
                    }
                    if let Err(ending) = self.send(socket, Message::Ping(Default::default())).await {
                        return ending;
                    }
                }
                reply = async { replies.as_mut().expect("guarded").next().await }, if replies.is_some() => {
                    match reply {
                        Some(reply) => {
                            if let Err(ending) = self.send(socket, message(&reply)).await {
                                return ending;
                            }
                        }
                        None => replies = None,
                    }
                }
            }
        }
    }

    /// Sends the events after `after` up to `until` that this client may see, from the
    /// database.
    async fn replay(&self, socket: &mut Socket, mut after: i64, until: i64) -> Result<(), Ending> {
        while after < until {
            let batch =
                events::visible_between(self.pool, self.viewer(), after, until, REPLAY_BATCH)
                    .await
                    .map_err(|error| {
                        tracing::warn!(%error, "cannot replay events");
                        Ending::Close(close_code::INTERNAL_ERROR, "try again")
                    })?;
            let complete = (batch.len() as i64) < REPLAY_BATCH;
            after = if complete {
                until
            } else {
                batch.last().map_or(until, |last| last.seq)
            };
            for stored in batch {
                let event = SharedEvent::new(stored);
                self.feed(socket, &event).await?;
            }
            self.flush(socket).await?;
        }
        Ok(())
    }

    /// Sends `first` and whatever else is already queued (up to a batch), then flushes once.
    async fn forward(
        &self,
        socket: &mut Socket,
        live: &mut broadcast::Receiver<Arc<SharedEvent>>,
        first: Arc<SharedEvent>,
        last_sent: &mut i64,
    ) -> Result<(), Ending> {
        let mut next = Some(first);
        let mut taken = 1;
        while let Some(event) = next.take() {
            if event.seq > *last_sent {
                *last_sent = event.seq;
                self.feed(socket, &event).await?;
            } else if self.ends_this_session(&event) {
                // Replayed already, or before the position the client resumed from; either
                // way its session has ended since the ticket was checked.
                self.flush(socket).await?;
                return Err(session_ended());
            }
            if taken < SEND_BATCH {
                taken += 1;
                next = match live.try_recv() {
                    Ok(event) => Some(event),
                    Err(TryRecvError::Lagged(_)) => {
                        return Err(Ending::Close(
                            close_code::TOO_SLOW,
                            "too far behind; resume",
                        ));
                    }
                    Err(_) => None,
                };
            }
        }
        self.flush(socket).await
    }

    /// Queues one event for sending; closes the socket after an event that ends its session.
    async fn feed(&self, socket: &mut Socket, event: &SharedEvent) -> Result<(), Ending> {
        if !event.visible_to(self.viewer()) {
            return Ok(());
        }
        self.within_timeout(socket.feed(Message::Text(event.frame.clone())))
            .await?;
        self.delivered.increment(1);
        if self.ends_this_session(event) {
            self.flush(socket).await?;
            return Err(session_ended());
        }
        Ok(())
    }

    /// A session that simply runs out publishes no event. So at each ping, once the end the
    /// socket knows of has passed, it asks whether a refresh has moved it on, and closes if
    /// not. (A failed check is tried again at the next ping.)
    async fn check_session(&self, ends_at: &mut Option<DateTime<Utc>>) -> Result<(), Ending> {
        let (Some(holder), Some(end)) = (self.holder, *ends_at) else {
            return Ok(());
        };
        if Utc::now() < end {
            return Ok(());
        }
        match sessions::active_until(self.pool, holder.session_id).await {
            Ok(Some(later)) => {
                *ends_at = Some(later);
                Ok(())
            }
            Ok(None) => Err(session_ended()),
            Err(error) => {
                tracing::warn!(%error, "cannot check a socket's session");
                Ok(())
            }
        }
    }

    fn ends_this_session(&self, event: &SharedEvent) -> bool {
        self.holder
            .is_some_and(|holder| event.ends_sessions.contains(&holder.session_id))
    }

    async fn flush(&self, socket: &mut Socket) -> Result<(), Ending> {
        self.within_timeout(socket.flush()).await
    }

    async fn send(&self, socket: &mut Socket, message: Message) -> Result<(), Ending> {
        self.within_timeout(socket.send(message)).await
    }

    /// A write that fails means the peer is gone; one that does not finish in time means it
    /// stopped reading and the buffers are full: either way nothing more can be sent.
    async fn within_timeout(
        &self,
        write: impl Future<Output = Result<(), WsError>>,
    ) -> Result<(), Ending> {
        match tokio::time::timeout(self.send_timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Ending::Drop),
        }
    }

    /// Answers one message from the client: the first feature that takes it supplies the
    /// replies, which replace those of an earlier request.
    async fn handle(
        &self,
        socket: &mut Socket,
        text: &str,
        replies: &mut Option<BoxStream<'static, ServerMessage>>,
    ) -> Result<(), Ending> {
        let refused = |message: String| ServerMessage::Error {
            code: ErrorCode::InvalidMessage,
            message,
        };
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(request) => {
                let answered = self
                    .realtime
                    .client_requests
                    .iter()
                    .find_map(|answer| answer(&request));
                match answered {
                    Some(stream) => {
                        *replies = Some(stream);
                        Ok(())
                    }
                    None => {
                        let refused = refused("this server does not answer that message".into());
                        self.send(socket, message(&refused)).await
                    }
                }
            }
            Err(error) => {
                let refused = refused(format!("not a known message: {error}"));
                self.send(socket, message(&refused)).await
            }
        }
    }
}

fn session_ended() -> Ending {
    Ending::Close(close_code::SESSION_ENDED, "the session has ended")
}

fn message(message: &ServerMessage) -> Message {
    Message::Text(
        serde_json::to_string(message)
            .expect("server messages always serialize")
            .into(),
    )
}
