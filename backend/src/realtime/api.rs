//! The HTTP side of realtime: socket tickets, and catching up on events without a socket.

use std::{sync::Arc, time::Duration};

use gallery_types::{EventPage, WsTicket};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use sqlx::PgPool;

use super::{Realtime, tickets};
use crate::{
    api::ApiTag,
    auth::{BearerAuth, Viewer},
    error_responses,
    events::{self, Resume},
    rate_limit::limit_writes,
};

/// Most events one `GET /api/events` answers with.
const MAX_EVENTS_PAGE: i64 = 500;

/// How long a read of the event log waits for what committed before it to be numbered.
const SETTLE_PATIENCE: Duration = Duration::from_secs(2);

error_responses! {
    /// Errors of `POST /api/ws/ticket`.
    pub enum TicketError {
        401 Unauthorized "No valid access token.",
    }
    rate_limited "Too many requests in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/events`.
    pub enum EventsError {}
}

/// Socket tickets and the event log.
#[derive(Debug, Default)]
pub struct RealtimeApi;

#[OpenApi(tag = "ApiTag::Realtime")]
impl RealtimeApi {
    /// Get a socket ticket
    ///
    /// A single-use pass, valid 30 seconds, for opening one signed-in WebSocket:
    /// `GET /ws?ticket=<ticket>&after=<last seq seen>`. Without a ticket the socket carries
    /// public events only. The socket protocol (messages, close codes) is described with the
    /// `Event` schema and in the README.
    #[oai(
        path = "/ws/ticket",
        method = "post",
        operation_id = "create_ws_ticket",
        transform = "limit_writes"
    )]
    async fn ticket(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
    ) -> Result<Json<WsTicket>, TicketError> {
        Ok(Json(tickets::issue(&pool, caller.0.session_id).await?))
    }

    /// Events since a point
    ///
    /// The events after sequence number `after` that the caller may see (public ones, plus the
    /// signed-in user's own), oldest first: the same stream the WebSocket carries, for clients
    /// that poll. Without `after`, the answer is empty and `next_after` is the newest sequence
    /// number. When `reload` is true, `after` is older than the events kept: reload everything
    /// and continue from `next_after`.
    #[oai(path = "/events", method = "get", operation_id = "list_events")]
    async fn events(
        &self,
        realtime: Data<&Arc<Realtime>>,
        pool: Data<&PgPool>,
        viewer: Viewer,
        /// The last `seq` seen (`next_after` of the page before); none for the newest events.
        #[oai(validator(minimum(value = "0"), maximum(value = "1000000000000000")))]
        after: Query<Option<i64>>,
        /// 1 to 500 (default 500).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<EventPage>, EventsError> {
        let limit = limit.0.unwrap_or(MAX_EVENTS_PAGE);
        // What committed before this read is in it.
        events::settle_what_committed(&pool, SETTLE_PATIENCE).await?;
        let head = events::head(&pool).await?;
        let after = match events::resume_point(after.0, head, realtime.config.events_window) {
            Resume::From(after) => after,
            Resume::Reload => {
                return Ok(Json(EventPage {
                    events: Vec::new(),
                    next_after: head,
                    more: false,
                    reload: true,
                }));
            }
        };
        // One more than asked shows whether more are waiting.
        let mut stored = events::visible_between(&pool, viewer.0, after, head, limit + 1).await?;
        let more = stored.len() as i64 > limit;
        stored.truncate(limit as usize);
        let next_after = match stored.last() {
            Some(last) if more => last.seq,
            _ => head,
        };
        Ok(Json(EventPage {
            events: stored.iter().filter_map(events::decode).collect(),
            next_after,
            more,
            reload: false,
        }))
    }
}
