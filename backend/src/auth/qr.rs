//! Desktop sign-in by QR code: the desktop shows a Max deep link as a QR code and a number,
//! the user scans it with the phone, picks the same number among decoys and approves in the
//! mini-app, and the desktop, waiting on the request (by long-polling, or on its WebSocket
//! through [`QrSocketRequests`]), receives its tokens. A request lives two minutes and signs
//! in once.
//!
//! Against phishing and fixation: a link forwarded in a chat cannot be approved without the
//! number on the victim's screen (a wrong pick cancels the request); the first signed-in user
//! to open a request is the only one who may see, approve or decline it; and the desktop is
//! shown whose account approved before it continues (the web client asks).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream::BoxStream};
use gallery_types::{
    ClientMessage, ErrorCode, QrLoginCreated, QrLoginRequestInfo, ServerMessage, SignInMethod,
};
use ipnet::IpNet;
use sqlx::{PgConnection, PgPool};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::{
    AuthState, delivery, device,
    sessions::{self, Device, Issued},
    tokens,
};
use crate::{
    db::{DbError, During},
    error::ApiError,
    users::{self, UserRow},
};

/// How long a request can be approved and collected.
const LIFETIME: Duration = Duration::from_secs(120);

/// Longest a desktop may wait on one `GET /api/auth/qr/{id}`: below proxies' read timeouts.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// The `NOTIFY` channel approvals and declines are announced on (payload: the request id), so
/// the desktop waiting on any instance learns of them at once.
pub const QR_CHANNEL: &str = "gallery_qr";

/// Why a sign-in request cannot be looked at, approved or collected.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// Unknown, or (for the desktop) the poll secret is wrong: the two look alike.
    #[error("no such sign-in request")]
    NotFound,
    #[error("this sign-in request expired or was already used; start a new one")]
    Gone,
    #[error("this sign-in request was already approved")]
    AlreadyApproved,
    #[error("that is not the number on the computer; the sign-in request is cancelled")]
    Mismatch,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<QrError> for ApiError {
    fn from(error: QrError) -> Self {
        match error {
            QrError::Database(error) => error.into(),
            QrError::NotFound => ApiError::new(ErrorCode::NotFound, error.to_string()),
            QrError::Gone => ApiError::new(ErrorCode::QrLoginGone, error.to_string()),
            QrError::AlreadyApproved => {
                ApiError::new(ErrorCode::QrLoginAlreadyApproved, error.to_string())
            }
            QrError::Mismatch => ApiError::new(ErrorCode::QrLoginMismatch, error.to_string()),
        }
    }
}

/// What waiting on a request came to.
pub enum PollOutcome {
    SignedIn(Box<(Issued, UserRow)>),
    Pending { expires_at: DateTime<Utc> },
}

/// How many numbers the phone offers (the right one among decoys).
const MATCH_CHOICES: usize = 3;

/// Two-digit numbers, easy to read off a screen and compare.
const MATCH_RANGE: std::ops::RangeInclusive<i16> = 10..=99;

/// Creates a sign-in request for the desktop at `device`.
pub async fn create(
    pool: &PgPool,
    auth: &AuthState,
    device: &Device,
) -> Result<QrLoginCreated, DbError> {
    // 12 random bytes: 16 URL-safe characters, fine inside a Max start parameter.
    let id = tokens::random_urlsafe(12);
    let poll_secret = tokens::random_urlsafe(32);
    let (match_code, match_choices) = match_numbers();
    let expires_at = sqlx::query_scalar!(
        r#"
        insert into qr_logins (id, poll_secret_hash, user_agent, ip, expires_at, match_code,
                               match_choices)
        values ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)
        returning expires_at
        "#,
        id,
        tokens::token_hash(&poll_secret),
        device.user_agent,
        device.ip.map(IpNet::from),
        LIFETIME.as_secs_f64(),
        match_code,
        &match_choices,
    )
    .fetch_one(pool)
    .await
    .during("create a QR sign-in request")?;
    Ok(QrLoginCreated {
        deep_link: format!(
            "https://max.ru/{}?startapp=login_{id}",
            auth.config.bot_username
        ),
        id,
        poll_secret,
        match_code: two_digits(match_code),
        expires_at,
    })
}

/// The number to match and the numbers to offer: it and distinct decoys, shuffled. Kept with
/// the request, so the phone offers the same ones however often it looks.
fn match_numbers() -> (i16, Vec<i16>) {
    use rand::{Rng, seq::SliceRandom};
    let mut rng = rand::thread_rng();
    let mut choices: Vec<i16> = Vec::with_capacity(MATCH_CHOICES);
    while choices.len() < MATCH_CHOICES {
        let candidate = rng.gen_range(MATCH_RANGE);
        if !choices.contains(&candidate) {
            choices.push(candidate);
        }
    }
    let code = choices[0];
    choices.shuffle(&mut rng);
    (code, choices)
}

fn two_digits(number: i16) -> u8 {
    u8::try_from(number).expect("match numbers are two digits")
}

/// What the approving user is shown: which browser, from where, and the numbers to pick
/// from. The first signed-in user to look at a request is the only one who may from then on.
pub async fn describe(
    pool: &PgPool,
    id: &str,
    user_id: i64,
) -> Result<QrLoginRequestInfo, QrError> {
    let row = sqlx::query!(
        r#"
        update qr_logins set viewed_by = coalesce(viewed_by, $2)
        where id = $1
        returning id, user_agent, ip, created_at, expires_at, match_choices,
                  viewed_by as "viewed_by!",
                  (consumed_at is null and expires_at > now()) as "open!"
        "#,
        id,
        user_id,
    )
    .fetch_optional(pool)
    .await
    .during("look at a QR sign-in request")?
    .filter(|row| row.viewed_by == user_id)
    .ok_or(QrError::NotFound)?;
    if !row.open {
        return Err(QrError::Gone);
    }
    Ok(QrLoginRequestInfo {
        id: row.id,
        device: device::describe(&row.user_agent),
        ip: row.ip.map(|ip| ip.addr().to_string()),
        match_choices: row.match_choices.into_iter().map(two_digits).collect(),
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

/// The signed-in `user_id` approves request `id`, having picked `match_code`. A wrong pick
/// cancels the request: someone may be trying to sign in as them with a forwarded link.
pub async fn approve(pool: &PgPool, id: &str, user_id: i64, match_code: u8) -> Result<(), QrError> {
    let mut transaction = pool.begin().await.during("start a QR approval")?;
    let row = sqlx::query!(
        r#"
        select approved_by, viewed_by, match_code,
               (consumed_at is null and expires_at > now()) as "open!"
        from qr_logins where id = $1 for update
        "#,
        id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("lock a QR sign-in request")?
    .filter(|row| row.viewed_by.is_none_or(|viewer| viewer == user_id))
    .ok_or(QrError::NotFound)?;
    if !row.open {
        return Err(QrError::Gone);
    }
    if row.approved_by.is_some() {
        return Err(QrError::AlreadyApproved);
    }
    if i16::from(match_code) != row.match_code {
        end(&mut transaction, id).await?;
        transaction
            .commit()
            .await
            .during("commit cancelling a mismatched QR request")?;
        return Err(QrError::Mismatch);
    }
    sqlx::query!(
        r#"
        update qr_logins set approved_by = $2, approved_at = now(), viewed_by = $2
        where id = $1
        "#,
        id,
        user_id
    )
    .execute(&mut *transaction)
    .await
    .during("approve a QR sign-in request")?;
    announce(&mut transaction, id).await?;
    transaction.commit().await.during("commit a QR approval")?;
    Ok(())
}

/// Ends request `id` unused, for `user_id` (who must be the one who looked at it, if anyone
/// did): it can be neither approved nor collected any more.
pub async fn decline(pool: &PgPool, id: &str, user_id: i64) -> Result<(), QrError> {
    let mut transaction = pool.begin().await.during("start declining a QR request")?;
    let row = sqlx::query!(
        r#"
        select (consumed_at is null and expires_at > now()) as "open!", viewed_by
        from qr_logins where id = $1 for update
        "#,
        id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("lock a QR sign-in request to decline")?
    .filter(|row| row.viewed_by.is_none_or(|viewer| viewer == user_id))
    .ok_or(QrError::NotFound)?;
    if !row.open {
        return Err(QrError::Gone);
    }
    end(&mut transaction, id).await?;
    transaction
        .commit()
        .await
        .during("commit declining a QR request")?;
    Ok(())
}

/// Ends request `id` now and tells the waiting desktop.
async fn end(connection: &mut PgConnection, id: &str) -> Result<(), DbError> {
    sqlx::query!(
        "update qr_logins set expires_at = least(expires_at, now()) where id = $1",
        id
    )
    .execute(&mut *connection)
    .await
    .during("end a QR sign-in request")?;
    announce(connection, id).await
}

/// Tells every instance that request `id` changed, when the transaction commits.
async fn announce(connection: &mut PgConnection, id: &str) -> Result<(), DbError> {
    sqlx::query!("select pg_notify($1, $2)", QR_CHANNEL, id)
        .execute(connection)
        .await
        .during("announce a QR sign-in change")?;
    Ok(())
}

/// Waits up to `wait` for request `id` to be approved; when it is, signs the desktop in (once).
pub async fn poll(
    pool: &PgPool,
    auth: &AuthState,
    id: &str,
    poll_secret: &str,
    wait: Duration,
) -> Result<PollOutcome, QrError> {
    let deadline = Instant::now() + wait.min(MAX_WAIT);
    loop {
        // Armed before reading, so an approval between the read and the wait still wakes us.
        let changed = auth.qr_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match try_collect(pool, auth, id, poll_secret).await? {
            PollOutcome::Pending { expires_at } if Instant::now() < deadline => {
                tokio::select! {
                    () = changed => {}
                    () = tokio::time::sleep_until(deadline.min(instant_of(expires_at))) => {}
                }
            }
            outcome => return Ok(outcome),
        }
    }
}

/// Signs the desktop in if the request is approved; pending (with its expiry) otherwise.
///
/// Waiting costs one plain read per check; only an approved request is claimed, by a
/// conditional update that exactly one poll can win.
async fn try_collect(
    pool: &PgPool,
    auth: &AuthState,
    id: &str,
    poll_secret: &str,
) -> Result<PollOutcome, QrError> {
    // The HTTP route checks the id's shape; a socket's `watch_qr_login` arrives unchecked.
    if !is_request_id(id) {
        return Err(QrError::NotFound);
    }
    let row = sqlx::query!(
        r#"
        select poll_secret_hash, expires_at, approved_by is not null as "approved!",
               consumed_at is not null as "consumed!", expires_at <= now() as "expired!"
        from qr_logins where id = $1
        "#,
        id
    )
    .fetch_optional(pool)
    .await
    .during("read a QR sign-in request")?
    .ok_or(QrError::NotFound)?;
    // A wrong secret looks exactly like an unknown request.
    let secret_matches: bool = row
        .poll_secret_hash
        .ct_eq(&tokens::token_hash(poll_secret))
        .into();
    if !secret_matches {
        return Err(QrError::NotFound);
    }
    if row.consumed || row.expired {
        return Err(QrError::Gone);
    }
    if !row.approved {
        return Ok(PollOutcome::Pending {
            expires_at: row.expires_at,
        });
    }

    let mut transaction = pool.begin().await.during("start collecting a QR sign-in")?;
    let claimed = sqlx::query!(
        r#"
        update qr_logins set consumed_at = now()
        where id = $1 and consumed_at is null and expires_at > now() and approved_by is not null
        returning approved_by as "user_id!", user_agent, ip
        "#,
        id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("claim an approved QR sign-in")?
    .ok_or(QrError::Gone)?;
    let user = users::by_id(&mut *transaction, claimed.user_id)
        .await?
        .ok_or(QrError::NotFound)?;
    let device = Device {
        user_agent: claimed.user_agent,
        ip: claimed.ip.map(|ip| ip.addr()),
    };
    let issued = sessions::start(
        &mut transaction,
        auth,
        claimed.user_id,
        SignInMethod::Qr,
        &device,
    )
    .await?;
    transaction
        .commit()
        .await
        .during("commit collecting a QR sign-in")?;
    Ok(PollOutcome::SignedIn(Box::new((issued, user))))
}

/// Deletes requests that ended more than a day ago.
pub async fn delete_old(pool: &PgPool) -> Result<u64, DbError> {
    Ok(
        sqlx::query!("delete from qr_logins where expires_at < now() - interval '1 day'")
            .execute(pool)
            .await
            .during("delete old QR sign-in requests")?
            .rows_affected(),
    )
}

/// Whether `id` has the shape of a request id (as `POST /api/auth/qr` makes them, at most 64
/// URL-safe characters), so that anything else is never looked up.
fn is_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// QR sign-in over the WebSocket: a desktop sends `watch_qr_login` and its socket delivers
/// the tokens (`qr_login_signed_in`) the moment the phone approves, on whichever instance.
#[derive(Clone)]
pub struct QrSocketRequests {
    pool: PgPool,
    auth: Arc<AuthState>,
}

impl QrSocketRequests {
    pub fn new(pool: PgPool, auth: Arc<AuthState>) -> Self {
        Self { pool, auth }
    }

    /// The replies to `message`, if it is a QR sign-in's: first `qr_login_pending`, then the
    /// tokens, or that the request is gone.
    pub fn answer(&self, message: &ClientMessage) -> Option<BoxStream<'static, ServerMessage>> {
        let ClientMessage::WatchQrLogin { id, poll_secret } = message;
        let watch = Watch {
            requests: self.clone(),
            id: id.clone(),
            poll_secret: poll_secret.clone(),
            said_pending: false,
        };
        Some(futures_util::stream::unfold(Some(watch), Watch::next).boxed())
    }
}

/// One socket's wait on one request.
struct Watch {
    requests: QrSocketRequests,
    id: String,
    poll_secret: String,
    /// Whether `qr_login_pending` went out already.
    said_pending: bool,
}

impl Watch {
    /// The next reply, and what is left to watch (nothing after a final answer).
    async fn next(watch: Option<Watch>) -> Option<(ServerMessage, Option<Watch>)> {
        let mut watch = watch?;
        let requests = watch.requests.clone();
        let (pool, auth) = (&requests.pool, &requests.auth);
        loop {
            // Armed before the look, so a change in between still wakes the watch.
            let changed = auth.qr_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let outcome = try_collect(pool, auth, &watch.id, &watch.poll_secret).await;
            let id = watch.id.clone();
            let reply = match outcome {
                Ok(PollOutcome::Pending { expires_at }) if !watch.said_pending => {
                    watch.said_pending = true;
                    return Some((
                        ServerMessage::QrLoginPending { id, expires_at },
                        Some(watch),
                    ));
                }
                Ok(PollOutcome::Pending { expires_at }) => {
                    tokio::select! {
                        () = changed => continue,
                        () = tokio::time::sleep_until(instant_of(expires_at)) => {
                            ServerMessage::QrLoginGone { id }
                        }
                    }
                }
                Ok(PollOutcome::SignedIn(signed_in)) => {
                    let (issued, user) = *signed_in;
                    let tokens = delivery::tokens_in_body(auth, issued, &user);
                    ServerMessage::QrLoginSignedIn { id, tokens }
                }
                Err(QrError::Gone) => ServerMessage::QrLoginGone { id },
                Err(error) => {
                    let error = ApiError::from(error);
                    ServerMessage::Error {
                        code: error.body.code,
                        message: error.body.message,
                    }
                }
            };
            return Some((reply, None));
        }
    }
}

/// The monotonic instant of a wall-clock time (now, if it has passed).
fn instant_of(time: DateTime<Utc>) -> Instant {
    Instant::now() + (time - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}
