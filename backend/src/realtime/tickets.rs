//! Single-use tickets for opening a signed-in socket: a short-lived random value in the URL
//! instead of a long-lived token (URLs end up in logs). Stored hashed, redeemed by deleting.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gallery_types::WsTicket;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::tokens,
    db::{DbError, During},
};

/// How long a ticket can be redeemed.
pub const LIFETIME: Duration = Duration::from_secs(30);

/// Whose socket a redeemed ticket opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub user_id: i64,
    pub session_id: Uuid,
    /// When the session ends unless it is extended (a refresh moves this on).
    pub session_expires_at: DateTime<Utc>,
}

/// Issues a ticket for `session_id`.
pub async fn issue(pool: &PgPool, session_id: Uuid) -> Result<WsTicket, DbError> {
    let ticket = tokens::random_urlsafe(32);
    let expires_at = sqlx::query_scalar!(
        r#"
        insert into ws_tickets (ticket_hash, session_id, expires_at)
        values ($1, $2, now() + make_interval(secs => $3))
        returning expires_at
        "#,
        tokens::token_hash(&ticket),
        session_id,
        LIFETIME.as_secs_f64(),
    )
    .fetch_one(pool)
    .await
    .during("issue a socket ticket")?;
    Ok(WsTicket { ticket, expires_at })
}

/// Uses `ticket` up: whose it was, if it was valid (unexpired, unused, its session active).
pub async fn redeem(pool: &PgPool, ticket: &str) -> Result<Option<Holder>, DbError> {
    let row = sqlx::query!(
        r#"
        delete from ws_tickets t using sessions s
        where t.ticket_hash = $1 and s.id = t.session_id
        returning s.user_id, s.id as session_id, s.expires_at as session_expires_at,
                  (t.expires_at > now() and s.revoked_at is null and s.expires_at > now()) as "valid!"
        "#,
        tokens::token_hash(ticket),
    )
    .fetch_optional(pool)
    .await
    .during("redeem a socket ticket")?;
    Ok(row.filter(|row| row.valid).map(|row| Holder {
        user_id: row.user_id,
        session_id: row.session_id,
        session_expires_at: row.session_expires_at,
    }))
}

/// Deletes tickets nobody redeemed in time.
pub async fn delete_expired(pool: &PgPool) -> Result<u64, DbError> {
    Ok(
        sqlx::query!("delete from ws_tickets where expires_at < now()")
            .execute(pool)
            .await
            .during("delete expired socket tickets")?
            .rows_affected(),
    )
}
