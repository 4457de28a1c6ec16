//! The HTTP side of realtime: socket tickets, and catching up on events without a socket.

use std::sync::Arc;

use gallery_types::{ErrorCode, EventPage, WsTicket};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Query, payload::Json};
use sqlx::PgPool;

use super::{Realtime, tickets};
use crate::{
    api::ApiTag,
    auth::{BearerAuth, Viewer},
    error::ApiError,
    error_responses,
    events::{self, Resume},
    rate_limit::limit_writes,
};

/// Most events one `GET /api/events` answers with.
const MAX_EVENTS_PAGE: i64 = 500;

error_responses! {
    /// Errors of `POST /api/ws/ticket`.
    pub enum TicketError {
        401 Unauthorized "No valid access token.",
    }
    rate_limited "Too many requests in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/events`.
    pub enum EventsError {
        400 BadRequest "`after` is negative, or `limit` is outside 1–500.",
    }
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
        after: Query<Option<i64>>,
        limit: Query<Option<i64>>,
    ) -> Result<Json<EventPage>, EventsError> {
        let limit = limit.0.unwrap_or(MAX_EVENTS_PAGE);
        if !(1..=MAX_EVENTS_PAGE).contains(&limit) || after.0.is_some_and(|after| after < 0) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("after is 0 or more; limit is 1 to {MAX_EVENTS_PAGE}"),
            )
            .into());
        }
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
