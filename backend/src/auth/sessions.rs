//! Sessions: one per signed-in device, each a family of rotating refresh tokens.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use gallery_types::{ErrorCode, Event, SessionInfo, SessionsRevoked, SignInMethod};
use ipnet::IpNet;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{AuthState, device, tokens};
use crate::{
    db::{DbError, During},
    error::ApiError,
    events::{self, Audience},
    users::{self, UserRow},
};

/// Why a session ended (the `revoked_reason` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EndReason {
    Logout,
    LogoutAll,
    Ended,
    PasswordChanged,
    TokenReuse,
}

/// The device a session is started from.
#[derive(Debug, Clone)]
pub struct Device {
    pub user_agent: String,
    pub ip: Option<IpAddr>,
}

/// A new pair of tokens.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: Uuid,
}

/// Never prints the tokens.
impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// Why a refresh token was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the refresh token is unknown, expired or its session has ended; sign in again")]
    Invalid,
    #[error("this refresh token was already used; the session has been ended, sign in again")]
    Reused,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Database(error) => error.into(),
            RefreshError::Invalid => {
                ApiError::new(ErrorCode::InvalidRefreshToken, error.to_string())
            }
            RefreshError::Reused => ApiError::new(ErrorCode::RefreshTokenReused, error.to_string()),
        }
    }
}

/// Starts a session for `user_id` and issues its first tokens.
pub async fn start(
    connection: &mut PgConnection,
    auth: &AuthState,
    user_id: i64,
    method: SignInMethod,
    device: &Device,
) -> Result<Issued, DbError> {
    let session_id = Uuid::new_v4();
    let refresh_token = tokens::new_refresh_token();
    sqlx::query!(
        r#"
        insert into sessions (id, user_id, method, user_agent, ip, expires_at)
        values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
        "#,
        session_id,
        user_id,
        method as _,
        device.user_agent,
        device.ip.map(IpNet::from),
        auth.refresh_ttl.as_secs_f64(),
    )
    .execute(&mut *connection)
    .await
    .during("start a session")?;
    sqlx::query!(
        "insert into refresh_tokens (token_hash, session_id) values ($1, $2)",
        tokens::token_hash(&refresh_token),
        session_id,
    )
    .execute(&mut *connection)
    .await
    .during("store a session's first refresh token")?;
    Ok(Issued {
        access_token: auth.tokens.issue(user_id, session_id),
        refresh_token,
        session_id,
    })
}

/// Trades a refresh token for new tokens in the same session.
///
/// Marking the token used is a conditional update (`where used_at is null`), so of two
/// concurrent uses exactly one wins; the other, like any later use, finds the token used.
/// A used token presented again is evidence of theft (one of its two holders is not the
/// user): the whole session ends.
pub async fn rotate(
    pool: &PgPool,
    auth: &AuthState,
    refresh_token: &str,
) -> Result<(Issued, UserRow), RefreshError> {
    let hash = tokens::token_hash(refresh_token);
    let mut transaction = pool.begin().await.during("start a token refresh")?;
    let session = sqlx::query!(
        r#"
        select s.id, s.user_id, (s.revoked_at is null and s.expires_at > now()) as "active!"
        from refresh_tokens t join sessions s on s.id = t.session_id
        where t.token_hash = $1
        "#,
        hash,
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("find a refresh token's session")?;
    let Some(session) = session.filter(|session| session.active) else {
        return Err(RefreshError::Invalid);
    };
    let claimed = sqlx::query!(
        "update refresh_tokens set used_at = now() where token_hash = $1 and used_at is null",
        hash,
    )
    .execute(&mut *transaction)
    .await
    .during("mark a refresh token used")?
    .rows_affected()
        == 1;
    if !claimed {
        end_session(&mut transaction, session.id, EndReason::TokenReuse).await?;
        transaction
            .commit()
            .await
            .during("commit ending a session whose refresh token was reused")?;
        tracing::warn!(session = %session.id, user = session.user_id, "refresh token reused; session ended");
        return Err(RefreshError::Reused);
    }

    let successor = tokens::new_refresh_token();
    sqlx::query!(
        "insert into refresh_tokens (token_hash, session_id) values ($1, $2)",
        tokens::token_hash(&successor),
        session.id,
    )
    .execute(&mut *transaction)
    .await
    .during("store the next refresh token")?;
    // Conditional too: a concurrent sign-out between the read and here wins.
    let extended = sqlx::query!(
        r#"
        update sessions set last_used_at = now(), expires_at = now() + make_interval(secs => $2)
        where id = $1 and revoked_at is null
        "#,
        session.id,
        auth.refresh_ttl.as_secs_f64(),
    )
    .execute(&mut *transaction)
    .await
    .during("extend a session")?
    .rows_affected();
    if extended == 0 {
        return Err(RefreshError::Invalid);
    }
    let user = users::by_id(&mut *transaction, session.user_id)
        .await?
        .ok_or(RefreshError::Invalid)?;
    transaction
        .commit()
        .await
        .during("commit a token refresh")?;
    Ok((
        Issued {
            access_token: auth.tokens.issue(session.user_id, session.id),
            refresh_token: successor,
            session_id: session.id,
        },
        user,
    ))
}

/// Deletes sessions that ended or expired more than `days` ago (with their tokens), and
/// used refresh tokens of live sessions older than that.
pub async fn delete_old(pool: &PgPool, days: f64) -> Result<u64, DbError> {
    let sessions = sqlx::query!(
        r#"
        delete from sessions
        where coalesce(revoked_at, expires_at) < now() - make_interval(days => $1::float8::int)
        "#,
        days,
    )
    .execute(pool)
    .await
    .during("delete old sessions")?
    .rows_affected();
    let tokens = sqlx::query!(
        "delete from refresh_tokens where used_at < now() - make_interval(days => $1::float8::int)",
        days,
    )
    .execute(pool)
    .await
    .during("delete old refresh tokens")?
    .rows_affected();
    Ok(sessions + tokens)
}

/// The session a refresh token (used or not) belongs to.
pub async fn of_refresh_token(pool: &PgPool, refresh_token: &str) -> Result<Option<Uuid>, DbError> {
    sqlx::query_scalar!(
        "select session_id from refresh_tokens where token_hash = $1",
        tokens::token_hash(refresh_token),
    )
    .fetch_optional(pool)
    .await
    .during("find a refresh token's session")
}

/// Ends one session (no-op if it already ended). Returns whether it was active.
///
/// Like every function here that ends sessions, it announces the end (an event that also
/// closes the session's sockets), so call it inside the transaction that should commit both.
pub async fn end_session(
    connection: &mut PgConnection,
    session_id: Uuid,
    reason: EndReason,
) -> Result<bool, DbError> {
    let ended = sqlx::query_scalar!(
        r#"
        update sessions set revoked_at = now(), revoked_reason = $2
        where id = $1 and revoked_at is null
        returning user_id
        "#,
        session_id,
        reason as _,
    )
    .fetch_optional(&mut *connection)
    .await
    .during("end a session")?;
    let Some(user_id) = ended else {
        return Ok(false);
    };
    announce_ended(connection, user_id, vec![session_id]).await?;
    Ok(true)
}

/// Ends one of `user_id`'s sessions; false if they have no such active session.
pub async fn end_own_session(
    pool: &PgPool,
    user_id: i64,
    session_id: Uuid,
) -> Result<bool, DbError> {
    let mut transaction = pool.begin().await.during("start ending a session")?;
    let ended = sqlx::query_scalar!(
        r#"
        update sessions set revoked_at = now(), revoked_reason = $3
        where id = $1 and user_id = $2 and revoked_at is null
        returning id
        "#,
        session_id,
        user_id,
        EndReason::Ended as _,
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("end one of a user's sessions")?;
    let Some(session_id) = ended else {
        return Ok(false);
    };
    announce_ended(&mut transaction, user_id, vec![session_id]).await?;
    transaction
        .commit()
        .await
        .during("commit ending a session")?;
    Ok(true)
}

/// Ends every active session of `user_id` except `keep`.
pub async fn end_all_sessions(
    connection: &mut PgConnection,
    user_id: i64,
    keep: Option<Uuid>,
    reason: EndReason,
) -> Result<u64, DbError> {
    let ended = sqlx::query_scalar!(
        r#"
        update sessions set revoked_at = now(), revoked_reason = $3
        where user_id = $1 and revoked_at is null and id is distinct from $2
        returning id
        "#,
        user_id,
        keep,
        reason as _,
    )
    .fetch_all(&mut *connection)
    .await
    .during("end a user's sessions")?;
    let count = ended.len() as u64;
    announce_ended(connection, user_id, ended).await?;
    Ok(count)
}

/// Tells the user's clients (and closes the sockets) of sessions that just ended.
async fn announce_ended(
    connection: &mut PgConnection,
    user_id: i64,
    session_ids: Vec<Uuid>,
) -> Result<(), DbError> {
    if session_ids.is_empty() {
        return Ok(());
    }
    let event = Event::SessionsRevoked(SessionsRevoked { session_ids });
    events::publish(connection, &Audience::user(user_id), &event).await?;
    Ok(())
}

/// When session `id` ends unless extended, if it has not ended already.
pub async fn active_until(pool: &PgPool, id: Uuid) -> Result<Option<DateTime<Utc>>, DbError> {
    sqlx::query_scalar!(
        "select expires_at from sessions where id = $1 and revoked_at is null and expires_at > now()",
        id,
    )
    .fetch_optional(pool)
    .await
    .during("check a session's expiry")
}

/// The sessions among `session_ids` that have not ended, each with its user.
pub async fn active_users(
    pool: &PgPool,
    session_ids: &[Uuid],
) -> Result<Vec<(Uuid, UserRow)>, DbError> {
    let rows = sqlx::query!(
        r#"
        select s.id as session_id, u.id, u.max_user_id, u.handle, u.display_name, u.bio,
               u.language as "language: gallery_types::Language", u.is_private, u.photo_url,
               u.password_hash, u.created_at
        from sessions s join users u on u.id = s.user_id
        where s.id = any($1) and s.revoked_at is null and s.expires_at > now()
        "#,
        session_ids,
    )
    .fetch_all(pool)
    .await
    .during("check access tokens' sessions")?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let user = UserRow {
                id: row.id,
                max_user_id: row.max_user_id,
                handle: row.handle,
                display_name: row.display_name,
                bio: row.bio,
                language: row.language,
                is_private: row.is_private,
                photo_url: row.photo_url,
                password_hash: row.password_hash,
                created_at: row.created_at,
            };
            (row.session_id, user)
        })
        .collect())
}

/// `user_id`'s active sessions, most recently used first.
pub async fn list(pool: &PgPool, user_id: i64, current: Uuid) -> Result<Vec<SessionInfo>, DbError> {
    struct Row {
        id: Uuid,
        method: SignInMethod,
        user_agent: String,
        ip: Option<IpNet>,
        created_at: DateTime<Utc>,
        last_used_at: DateTime<Utc>,
    }
    let rows = sqlx::query_as!(
        Row,
        r#"
        select id, method as "method: SignInMethod", user_agent, ip, created_at, last_used_at
        from sessions
        where user_id = $1 and revoked_at is null and expires_at > now()
        order by last_used_at desc
        "#,
        user_id,
    )
    .fetch_all(pool)
    .await
    .during("list a user's sessions")?;
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            id: row.id,
            method: row.method,
            device: device::describe(&row.user_agent),
            ip: row.ip.map(|ip| ip.addr().to_string()),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            current: row.id == current,
        })
        .collect())
}
