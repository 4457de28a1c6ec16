//! One socket, from its hello to its close.
//!
//! A connection subscribes to the hub before it reads the hub's watermark, replays from the
//! database what the client missed up to that watermark, then forwards live events above it:
//! every event the client may see arrives once, in sequence order. Its queue is its place in
//! the hub's bounded broadcast; falling further behind than that closes it as too slow.

use std::{num::NonZeroU32, pin::Pin, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use gallery_types::{ClientMessage, ErrorCode, ServerMessage, close_code};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use poem::Upgraded;
use tokio::{
    sync::{
        broadcast::{
            self,
            error::{RecvError, TryRecvError},
        },
        futures::Notified,
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

use super::tickets::Holder;
use crate::{
    auth::{self, qr},
    events::{self, Resume, SharedEvent, Subscription},
    startup::AppState,
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

/// A QR sign-in request this (desktop) socket waits on.
struct QrWatch<'a> {
    id: String,
    poll_secret: String,
    expires_at: DateTime<Utc>,
    /// Wakes when any QR sign-in request changes (then the request is looked at again).
    changed: Pin<Box<Notified<'a>>>,
}

/// Serves one socket until it ends, then closes it.
pub async fn serve(
    mut socket: Socket,
    state: AppState,
    holder: Option<Holder>,
    after: Option<i64>,
    mut subscription: Subscription,
) {
    let ending = Connection::new(&state, holder)
        .run(&mut socket, after, &mut subscription)
        .await;
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
    state: &'a AppState,
    holder: Option<Holder>,
    inbound: DefaultDirectRateLimiter,
    send_timeout: Duration,
}

impl<'a> Connection<'a> {
    fn new(state: &'a AppState, holder: Option<Holder>) -> Self {
        let config = &state.realtime.config;
        let per_second = NonZeroU32::new(config.messages_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = per_second.saturating_mul(NonZeroU32::new(5).expect("5 is not zero"));
        Self {
            state,
            holder,
            inbound: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            send_timeout: config.send_timeout(),
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
        let realtime = &self.state.realtime;
        let watermark = subscription.watermark;
        let Subscription {
            events: live,
            stopping,
            ..
        } = subscription;
        if *stopping.borrow_and_update() {
            return Ending::Close(close_code::GOING_AWAY, "the server is restarting");
        }

        // A client that saw events this instance has not read yet (from another instance)
        // is ahead of the watermark but not beyond the database's head.
        let head = match after {
            Some(after) if after > watermark => match events::head(&self.state.pool).await {
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
        let mut qr_watch: Option<QrWatch<'_>> = None;

        loop {
            let qr_expiry = qr_watch
                .as_ref()
                .map(|watch| instant_of(watch.expires_at))
                .unwrap_or_else(far_future);
            tokio::select! {
                _ = stopping.changed() => {
                    return Ending::Close(close_code::GOING_AWAY, "the server is restarting");
                }
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
                incoming = socket.next() => {
                    last_heard = Instant::now();
                    // Every frame counts, control frames included: answering pings is work too.
                    if matches!(incoming, Some(Ok(_))) && self.inbound.check().is_err() {
                        return Ending::Close(close_code::POLICY_VIOLATION, "too many messages");
                    }
                    match incoming {
                        None => return Ending::Drop,
                        Some(Ok(Message::Text(text))) => {
                            if let Err(ending) = self.handle(socket, &text, &mut qr_watch).await {
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
                    if let Err(ending) = self.send(socket, Message::Ping(Default::default())).await {
                        return ending;
                    }
                }
                () = async { qr_watch.as_mut().expect("guarded").changed.as_mut().await }, if qr_watch.is_some() => {
                    let watch = qr_watch.take().expect("guarded");
                    match self.check_qr(socket, watch.id, watch.poll_secret).await {
                        Ok(still_waiting) => qr_watch = still_waiting,
                        Err(ending) => return ending,
                    }
                }
                () = tokio::time::sleep_until(qr_expiry), if qr_watch.is_some() => {
                    let watch = qr_watch.take().expect("guarded");
                    let gone = ServerMessage::QrLoginGone { id: watch.id };
                    if let Err(ending) = self.send(socket, message(&gone)).await {
                        return ending;
                    }
                }
            }
        }
    }

    /// Sends the events after `after` up to `until` that this client may see, from the
    /// database.
    async fn replay(&self, socket: &mut Socket, mut after: i64, until: i64) -> Result<(), Ending> {
        while after < until {
            let batch = events::visible_between(
                &self.state.pool,
                self.viewer(),
                after,
                until,
                REPLAY_BATCH,
            )
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
        if self.ends_this_session(event) {
            self.flush(socket).await?;
            return Err(session_ended());
        }
        Ok(())
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

    /// Answers one message from the client.
    async fn handle(
        &self,
        socket: &mut Socket,
        text: &str,
        qr_watch: &mut Option<QrWatch<'a>>,
    ) -> Result<(), Ending> {
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(ClientMessage::WatchQrLogin { id, poll_secret }) => {
                *qr_watch = self.check_qr(socket, id, poll_secret).await?;
                Ok(())
            }
            Err(error) => {
                let refused = ServerMessage::Error {
                    code: ErrorCode::InvalidMessage,
                    message: format!("not a known message: {error}"),
                };
                self.send(socket, message(&refused)).await
            }
        }
    }

    /// Looks at a watched QR sign-in request: sends its tokens if it was approved, or that it
    /// is gone; keeps watching (re-armed) while it waits.
    async fn check_qr(
        &self,
        socket: &mut Socket,
        id: String,
        poll_secret: String,
    ) -> Result<Option<QrWatch<'a>>, Ending> {
        let state = self.state;
        // Armed before the look, so a change in between still wakes the watch.
        let mut changed = Box::pin(state.auth.qr_changed.notified());
        changed.as_mut().enable();
        let outcome = qr::poll(&state.pool, &state.auth, &id, &poll_secret, Duration::ZERO).await;
        let (reply, still_waiting) = match outcome {
            Ok(qr::PollOutcome::Pending { expires_at }) => {
                let reply = ServerMessage::QrLoginPending {
                    id: id.clone(),
                    expires_at,
                };
                let watch = QrWatch {
                    id,
                    poll_secret,
                    expires_at,
                    changed,
                };
                (reply, Some(watch))
            }
            Ok(qr::PollOutcome::SignedIn(signed_in)) => {
                let (issued, user) = *signed_in;
                let tokens = auth::tokens_in_body(&state.auth, issued, &user);
                (ServerMessage::QrLoginSignedIn { id, tokens }, None)
            }
            Err(error) if error.body.code == ErrorCode::QrLoginGone => {
                (ServerMessage::QrLoginGone { id }, None)
            }
            Err(error) => (
                ServerMessage::Error {
                    code: error.body.code,
                    message: error.body.message,
                },
                None,
            ),
        };
        self.send(socket, message(&reply)).await?;
        Ok(still_waiting)
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

/// The monotonic instant of a wall-clock time (now, if it has passed).
fn instant_of(time: DateTime<Utc>) -> Instant {
    let remaining = (time - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    Instant::now() + remaining
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(365 * 24 * 60 * 60)
}
