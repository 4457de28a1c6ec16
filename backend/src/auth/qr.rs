//! Desktop sign-in by QR code: the desktop shows a Max deep link as a QR code, the user scans
//! it with the phone and approves in the mini-app, and the desktop, waiting on the request,
//! receives its tokens. A request lives two minutes and signs in once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gallery_types::{ErrorCode, QrLoginCreated, QrLoginRequestInfo};
use ipnet::IpNet;
use poem::http::StatusCode;
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use super::{
    AuthState, device,
    sessions::{self, Device, Issued},
    tokens,
};
use crate::{error::ApiError, users::UserRow};

/// How long a request can be approved and collected.
const LIFETIME: Duration = Duration::from_secs(120);

/// Longest a desktop may wait on one `GET /api/auth/qr/{id}`: below proxies' read timeouts.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// The `NOTIFY` channel approvals and declines are announced on (payload: the request id), so
/// the desktop waiting on any instance learns of them at once.
pub const QR_CHANNEL: &str = "gallery_qr";

/// What waiting on a request came to.
pub enum PollOutcome {
    SignedIn(Box<(Issued, UserRow)>),
    Pending { expires_at: DateTime<Utc> },
}

/// Creates a sign-in request for the desktop at `device`.
pub async fn create(
    pool: &PgPool,
    auth: &AuthState,
    device: &Device,
) -> Result<QrLoginCreated, ApiError> {
    // 12 random bytes: 16 URL-safe characters, fine inside a Max start parameter.
    let id = tokens::random_urlsafe(12);
    let poll_secret = tokens::random_urlsafe(32);
    let expires_at = sqlx::query_scalar!(
        r#"
        insert into qr_logins (id, poll_secret_hash, user_agent, ip, expires_at)
        values ($1, $2, $3, $4, now() + make_interval(secs => $5))
        returning expires_at
        "#,
        id,
        tokens::token_hash(&poll_secret),
        device.user_agent,
        device.ip.map(IpNet::from),
        LIFETIME.as_secs_f64(),
    )
    .fetch_one(pool)
    .await?;
    Ok(QrLoginCreated {
        deep_link: format!(
            "https://max.ru/{}?startapp=login_{id}",
            auth.config.bot_username
        ),
        id,
        poll_secret,
        expires_at,
    })
}

/// What the approving user is shown: which browser, from where.
pub async fn describe(pool: &PgPool, id: &str) -> Result<QrLoginRequestInfo, ApiError> {
    let row = sqlx::query!(
        r#"
        select id, user_agent, ip, created_at, expires_at,
               (consumed_at is null and expires_at > now()) as "open!"
        from qr_logins where id = $1
        "#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(not_found)?;
    if !row.open {
        return Err(gone());
    }
    Ok(QrLoginRequestInfo {
        id: row.id,
        device: device::describe(&row.user_agent),
        ip: row.ip.map(|ip| ip.addr().to_string()),
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

/// The signed-in `user_id` approves request `id`.
pub async fn approve(pool: &PgPool, id: &str, user_id: i64) -> Result<(), ApiError> {
    let mut transaction = pool.begin().await?;
    let row = sqlx::query!(
        r#"
        select approved_by, (consumed_at is null and expires_at > now()) as "open!"
        from qr_logins where id = $1 for update
        "#,
        id
    )
    .fetch_optional(&mut *transaction)
    .await?
    .ok_or_else(not_found)?;
    if !row.open {
        return Err(gone());
    }
    if row.approved_by.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::QrLoginAlreadyApproved,
            "this sign-in request was already approved",
        ));
    }
    sqlx::query!(
        "update qr_logins set approved_by = $2, approved_at = now() where id = $1",
        id,
        user_id
    )
    .execute(&mut *transaction)
    .await?;
    announce(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(())
}

/// Tells every instance that request `id` changed, when the transaction commits.
async fn announce(connection: &mut sqlx::PgConnection, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(QR_CHANNEL)
        .bind(id)
        .execute(connection)
        .await?;
    Ok(())
}

/// Waits up to `wait` for request `id` to be approved; when it is, signs the desktop in (once).
pub async fn poll(
    pool: &PgPool,
    auth: &AuthState,
    id: &str,
    poll_secret: &str,
    wait: Duration,
) -> Result<PollOutcome, ApiError> {
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    loop {
        // Registered before reading, so an approval between the read and the wait still wakes us.
        let approved = auth.qr_changed.notified();
        if let Some(outcome) = try_collect(pool, auth, id, poll_secret).await? {
            return Ok(outcome);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            let expires_at =
                sqlx::query_scalar!("select expires_at from qr_logins where id = $1", id)
                    .fetch_one(pool)
                    .await?;
            return Ok(PollOutcome::Pending { expires_at });
        }
        tokio::select! {
            () = approved => {}
            () = tokio::time::sleep(deadline - now) => {}
        }
    }
}

/// Signs the desktop in if the request is approved; `None` while it is still pending.
///
/// Waiting costs one plain read per check; only an approved request is claimed, by a
/// conditional update that exactly one poll can win.
async fn try_collect(
    pool: &PgPool,
    auth: &AuthState,
    id: &str,
    poll_secret: &str,
) -> Result<Option<PollOutcome>, ApiError> {
    let row = sqlx::query!(
        r#"
        select poll_secret_hash, approved_by is not null as "approved!",
               consumed_at is not null as "consumed!", expires_at <= now() as "expired!"
        from qr_logins where id = $1
        "#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(not_found)?;
    // A wrong secret looks exactly like an unknown request.
    let secret_matches: bool = row
        .poll_secret_hash
        .ct_eq(&tokens::token_hash(poll_secret))
        .into();
    if !secret_matches {
        return Err(not_found());
    }
    if row.consumed || row.expired {
        return Err(gone());
    }
    if !row.approved {
        return Ok(None);
    }

    let mut transaction = pool.begin().await?;
    let claimed = sqlx::query!(
        r#"
        update qr_logins set consumed_at = now()
        where id = $1 and consumed_at is null and expires_at > now() and approved_by is not null
        returning approved_by as "user_id!", user_agent, ip
        "#,
        id
    )
    .fetch_optional(&mut *transaction)
    .await?
    .ok_or_else(gone)?;
    let user = crate::users::by_id(&mut transaction, claimed.user_id)
        .await?
        .ok_or_else(not_found)?;
    let device = Device {
        user_agent: claimed.user_agent,
        ip: claimed.ip.map(|ip| ip.addr()),
    };
    let issued = sessions::start(
        &mut transaction,
        auth,
        claimed.user_id,
        gallery_types::SignInMethod::Qr,
        &device,
    )
    .await?;
    transaction.commit().await?;
    Ok(Some(PollOutcome::SignedIn(Box::new((issued, user)))))
}

/// Ends request `id` unused: it can be neither approved nor collected any more.
pub async fn decline(pool: &PgPool, id: &str) -> Result<(), ApiError> {
    let mut transaction = pool.begin().await?;
    let row = sqlx::query!(
        r#"
        update qr_logins set expires_at = least(expires_at, now())
        where id = $1
        returning (consumed_at is null) as "was_open!"
        "#,
        id
    )
    .fetch_optional(&mut *transaction)
    .await?
    .ok_or_else(not_found)?;
    if !row.was_open {
        return Err(gone());
    }
    announce(&mut transaction, id).await?;
    transaction.commit().await?;
    Ok(())
}

/// Deletes requests that ended more than a day ago.
pub async fn delete_old(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("delete from qr_logins where expires_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such sign-in request",
    )
}

fn gone() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        ErrorCode::QrLoginGone,
        "this sign-in request expired or was already used; start a new one",
    )
}
