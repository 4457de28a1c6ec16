//! Claim links (QR hand-over): the owner makes a one-time link to an object — shown as a QR
//! code, or sent in a chat — and whoever claims it first becomes the owner. A link expires,
//! can be revoked, and is void once the object changes hands another way. Its owner cannot
//! claim it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use gallery_types::{
    ClaimCompleted, ClaimLink, ClaimLinkState, ClaimPreview, CreateClaimLinkRequest, Event,
    HistoryKind, Transfer, UserSummary,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path},
    payload::Json,
};
use sqlx::{PgExecutor, PgPool};

use super::{TradingError, lock_objects, lock_own_object, retrying};
use crate::{
    api::{ApiTag, NoContent},
    auth::{AuthState, BearerAuth, Viewer, tokens},
    db::{self, DbError, During},
    error_responses,
    events::{Audience, Outbox},
    idempotency,
    ownership::{self, Handover},
    photos::read,
    rate_limit::limit_writes,
    users::{self, UserRow},
};

/// How long a link lives unless asked otherwise.
const DEFAULT_LIFETIME_MINUTES: u32 = 24 * 60;

/// The most links `GET /api/claim-links` lists (newest first).
const MAX_LISTED: i64 = 100;

/// The deep-link parameter that opens a claim in the mini-app: `claim_<token>`.
pub const START_PARAM_PREFIX: &str = "claim_";

error_responses! {
    /// Errors of `POST /api/claim-links`.
    pub enum CreateClaimLinkError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_owner`: the object is somebody else's.",
        404 NotFound "No such object (or it is deleted, or in somebody's private collection).",
        409 Conflict "`idempotency_key_in_use`: the first request with this key is still running.",
        422 Unprocessable "`idempotency_key_reused`: the key came with another request.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/claim-links`.
    pub enum ListClaimLinksError {
        401 Unauthorized "No valid access token.",
    }
}

error_responses! {
    /// Errors of `DELETE /api/claim-links/{id}`.
    pub enum RevokeClaimLinkError {
        401 Unauthorized "No valid access token.",
        404 NotFound "You have no link with this id.",
        410 Gone "`claim_link_gone`: the link was used, revoked or has expired already.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/claims/{token}`.
    pub enum PreviewClaimError {
        404 NotFound "No link with this token.",
        410 Gone "`claim_link_gone`: the link was used, revoked or has expired.",
    }
}

error_responses! {
    /// Errors of `POST /api/claims/{token}`.
    pub enum ClaimError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`cannot_claim_own_link`: it is your own link.",
        404 NotFound "No link with this token.",
        409 Conflict "`idempotency_key_in_use`: the first request with this key is still running.",
        410 Gone "`claim_link_gone`: the link was used, revoked or has expired, or the object changed hands another way.",
        422 Unprocessable "`idempotency_key_reused`: the key came with another request.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// A created link.
#[derive(ApiResponse)]
pub enum LinkCreated {
    /// The link: show `deep_link` as a QR code, or share it.
    #[oai(status = 201)]
    Created(Json<ClaimLink>),
}

/// Claim links and claiming.
#[derive(Debug, Default)]
pub struct ClaimsApi;

#[OpenApi(tag = "ApiTag::Ownership")]
impl ClaimsApi {
    /// Make a claim link
    ///
    /// A one-time link handing one of your objects to whoever claims it first: encode
    /// `deep_link` in a QR code (it opens the claim in the Max mini-app) or send it in a chat.
    #[oai(
        path = "/claim-links",
        method = "post",
        operation_id = "create_claim_link",
        transform = "limit_writes"
    )]
    async fn create(
        &self,
        pool: Data<&PgPool>,
        auth: Data<&Arc<AuthState>>,
        caller: BearerAuth,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
        body: Json<CreateClaimLinkRequest>,
    ) -> Result<LinkCreated, CreateClaimLinkError> {
        let owner = caller.0.user.id;
        let bot = &auth.config.bot_username;
        let fingerprint = idempotency::fingerprint("create_claim_link", "", &body.0);
        let link = idempotency::once(
            &pool,
            owner,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(retrying(|| make_link(&pool, owner, &body.0, bot)).await?) },
        )
        .await?;
        Ok(LinkCreated::Created(Json(link)))
    }

    /// My claim links
    ///
    /// Newest first (at most 100), in every state.
    #[oai(
        path = "/claim-links",
        method = "get",
        operation_id = "list_claim_links"
    )]
    async fn list(
        &self,
        pool: Data<&PgPool>,
        auth: Data<&Arc<AuthState>>,
        caller: BearerAuth,
    ) -> Result<Json<Vec<ClaimLink>>, ListClaimLinksError> {
        let links = links_of(*pool, caller.0.user.id, None, &auth.config.bot_username).await?;
        Ok(Json(links))
    }

    /// Revoke a claim link
    #[oai(
        path = "/claim-links/:id",
        method = "delete",
        operation_id = "revoke_claim_link",
        transform = "limit_writes"
    )]
    async fn revoke(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<NoContent, RevokeClaimLinkError> {
        let owner = caller.0.user.id;
        let revoked = sqlx::query_scalar!(
            r#"
            update claim_links set revoked_at = now()
            where id = $1 and owner_id = $2 and claimed_at is null and revoked_at is null
              and expires_at > now()
            returning id
            "#,
            id.0,
            owner
        )
        .fetch_optional(*pool)
        .await
        .during("revoke a claim link")?;
        if revoked.is_some() {
            return Ok(NoContent::Done);
        }
        let exists = sqlx::query_scalar!(
            "select id from claim_links where id = $1 and owner_id = $2",
            id.0,
            owner
        )
        .fetch_optional(*pool)
        .await
        .during("look a claim link up")?;
        Err(match exists {
            Some(_) => TradingError::ClaimLinkGone,
            None => TradingError::NotFound("you have no claim link with this id"),
        }
        .into())
    }

    /// See what a claim link gives
    ///
    /// Anyone holding the token may look, signed in or not.
    #[oai(
        path = "/claims/:token",
        method = "get",
        operation_id = "preview_claim"
    )]
    async fn preview(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] token: Path<String>,
    ) -> Result<Json<ClaimPreview>, PreviewClaimError> {
        let link = link_by_token(*pool, &token.0)
            .await?
            .ok_or(TradingError::NotFound("no claim link with this token"))?;
        if link.state() != ClaimLinkState::Active {
            return Err(TradingError::ClaimLinkGone.into());
        }
        // The token is the holder's right to see what it gives, private collection or not.
        let photo = read::by_id_regardless_of_privacy(*pool, link.photo_id, viewer.0)
            .await?
            .ok_or(TradingError::ClaimLinkGone)?;
        Ok(Json(ClaimPreview {
            photo,
            expires_at: link.expires_at,
        }))
    }

    /// Claim
    ///
    /// Takes the object the link gives: you become its owner, and the link's owner is told
    /// (`claim_completed`).
    #[oai(
        path = "/claims/:token",
        method = "post",
        operation_id = "claim",
        transform = "limit_writes"
    )]
    async fn claim(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] token: Path<String>,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
    ) -> Result<Json<Transfer>, ClaimError> {
        let claimer = &caller.0.user;
        let fingerprint = idempotency::fingerprint("claim", &token.0, &());
        let transfer = idempotency::once(
            &pool,
            claimer.id,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(retrying(|| claim(&pool, claimer, &token.0)).await?) },
        )
        .await?;
        Ok(Json(transfer))
    }
}

/// A `claim_links` row, with what lists show of it.
struct LinkRow {
    id: i64,
    token: String,
    object_id: i64,
    photo_id: i64,
    owner_id: i64,
    title: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    claimed_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    claimer_id: Option<i64>,
    claimer_handle: Option<String>,
    claimer_name: Option<String>,
}

impl LinkRow {
    fn state(&self) -> ClaimLinkState {
        if self.claimed_at.is_some() {
            ClaimLinkState::Claimed
        } else if self.revoked_at.is_some() {
            ClaimLinkState::Revoked
        } else if self.expires_at <= Utc::now() {
            ClaimLinkState::Expired
        } else {
            ClaimLinkState::Active
        }
    }

    fn into_link(self, bot_username: &str) -> ClaimLink {
        let state = self.state();
        let claimed_by = match (self.claimer_id, self.claimer_name) {
            (Some(id), Some(display_name)) => Some(UserSummary {
                id,
                handle: self.claimer_handle,
                display_name,
            }),
            _ => None,
        };
        ClaimLink {
            id: self.id,
            path: format!("/claim/{}", self.token),
            deep_link: format!(
                "https://max.ru/{bot_username}?startapp={START_PARAM_PREFIX}{}",
                self.token
            ),
            token: self.token,
            object_id: self.object_id,
            photo_id: self.photo_id,
            title: self.title,
            state,
            created_at: self.created_at,
            expires_at: self.expires_at,
            claimed_by,
            claimed_at: self.claimed_at,
        }
    }
}

/// Every claim link read: the link, its object's photo and title, and who claimed it. The
/// rest of the query follows (`l` is the link).
macro_rules! select_links {
    ($rest:literal $(, $argument:expr)* $(,)?) => {
        sqlx::query_as!(
            LinkRow,
            r#"
            select l.id, l.token, l.object_id, o.photo_id, l.owner_id, p.title, l.created_at,
                   l.expires_at, l.claimed_at, l.revoked_at,
                   c.id as "claimer_id?", c.handle as claimer_handle,
                   c.display_name as "claimer_name?"
            from claim_links l
            join art_objects o on o.id = l.object_id
            join photos p on p.id = o.photo_id
            left join users c on c.id = l.claimed_by
            "# + $rest,
            $($argument),*
        )
    };
}

/// `owner`'s links (only `id`, when given), newest first.
async fn links_of(
    executor: impl PgExecutor<'_>,
    owner: i64,
    id: Option<i64>,
    bot_username: &str,
) -> Result<Vec<ClaimLink>, DbError> {
    let rows = select_links!(
        "where l.owner_id = $1 and ($2::bigint is null or l.id = $2) order by l.id desc limit $3",
        owner,
        id,
        MAX_LISTED,
    )
    .fetch_all(executor)
    .await
    .during("list claim links")?;
    Ok(rows
        .into_iter()
        .map(|row| row.into_link(bot_username))
        .collect())
}

async fn link_by_token(
    executor: impl PgExecutor<'_>,
    token: &str,
) -> Result<Option<LinkRow>, DbError> {
    select_links!("where l.token = $1", token)
        .fetch_optional(executor)
        .await
        .during("look a claim link up")
}

/// `claimer` claims the link with `token`.
pub async fn claim(
    pool: &PgPool,
    claimer: &UserRow,
    token: &str,
) -> Result<Transfer, TradingError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start a claim")?;
    let link = link_by_token(&mut *transaction, token)
        .await?
        .ok_or(TradingError::NotFound("no claim link with this token"))?;
    if link.owner_id == claimer.id {
        return Err(TradingError::CannotClaimOwnLink);
    }
    // The object first, then the link: the order every change of hands locks in.
    let object = lock_objects(&mut transaction, &[link.object_id], claimer.id)
        .await?
        .pop()
        .ok_or(TradingError::ClaimLinkGone)?;
    let still_open = sqlx::query_scalar!(
        r#"
        select id from claim_links
        where id = $1 and claimed_at is null and revoked_at is null and expires_at > now()
        for update
        "#,
        link.id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("lock a claim link")?;
    if still_open.is_none() || object.deleted || object.owner_id != link.owner_id {
        return Err(TradingError::ClaimLinkGone);
    }
    sqlx::query!(
        "update claim_links set claimed_at = now(), claimed_by = $2 where id = $1",
        link.id,
        claimer.id
    )
    .execute(&mut *transaction)
    .await
    .during("mark a claim link claimed")?;
    let giver = users::by_id(&mut *transaction, link.owner_id)
        .await?
        .ok_or(TradingError::ClaimLinkGone)?;
    let mut outbox = Outbox::default();
    let handover = Handover {
        object_id: object.id,
        photo_id: object.photo_id,
        from: giver.id,
        to: Some(claimer.id),
        kind: HistoryKind::Claim,
    };
    ownership::change_hands(&mut transaction, &[handover], &mut outbox).await?;
    let transfer = Transfer {
        object_id: object.id,
        photo_id: object.photo_id,
        kind: HistoryKind::Claim,
        from: giver.summary(),
        to: claimer.summary(),
        message: String::new(),
        at: Utc::now(),
    };
    outbox.push(
        Audience::user(giver.id),
        Event::ClaimCompleted(ClaimCompleted {
            link_id: link.id,
            transfer: transfer.clone(),
        }),
    );
    outbox.publish(&mut transaction).await?;
    transaction.commit().await.during("commit a claim")?;
    Ok(transfer)
}

/// `owner` makes a claim link for their object `request.object_id`.
async fn make_link(
    pool: &PgPool,
    owner: i64,
    request: &CreateClaimLinkRequest,
    bot_username: &str,
) -> Result<ClaimLink, TradingError> {
    let minutes = request
        .expires_in_minutes
        .unwrap_or(DEFAULT_LIFETIME_MINUTES);
    let mut transaction = pool.begin().await.during("start making a claim link")?;
    let object = lock_own_object(&mut transaction, request.object_id, owner).await?;

    let token = tokens::random_urlsafe(16);
    let id = sqlx::query_scalar!(
        r#"
            insert into claim_links (token, object_id, owner_id, expires_at)
            values ($1, $2, $3, now() + make_interval(mins => $4))
            returning id
            "#,
        token,
        object.id,
        owner,
        i32::try_from(minutes).unwrap_or(i32::MAX),
    )
    .fetch_one(&mut *transaction)
    .await
    .during("make a claim link")?;
    let link = links_of(&mut *transaction, owner, Some(id), bot_username)
        .await?
        .pop()
        .expect("the link was just made");
    transaction.commit().await.during("commit a claim link")?;
    Ok(link)
}
