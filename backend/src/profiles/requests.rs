//! Profile requests: asking to see a private profile. The requester asks (with an optional
//! message) and may withdraw while the request is pending; the owner approves or rejects it,
//! and may revoke an approval later. After a rejection or a revocation the requester waits
//! out a cooling-off time before asking the same person again. Every change reaches both
//! sides as `profile_request_changed`.
//!
//! An approval or a revocation changes who may see the owner's collection: it locks the
//! owner's row for update first ([`access::lock_collection`]), so that no event about the
//! collection is addressed by a rule that is changing under it.

use chrono::{DateTime, Duration, Utc};
use gallery_types::{
    CreateProfileRequest, ErrorCode, Event, ProfileRequest, ProfileRequestBox,
    ProfileRequestChanged, ProfileRequestPage, ProfileRequestState, UserSummary,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::{
    api::ApiTag,
    auth::BearerAuth,
    config::ProfileConfig,
    db::{DbError, During},
    error::ApiError,
    error_responses,
    events::{self, Audience},
    idempotency,
    rate_limit::{limit_profile_requests, limit_writes},
    users::{UserRow, access},
};

/// Page sizes of `GET /api/profile-requests`.
const DEFAULT_PAGE: i64 = 50;

/// Why a profile request cannot be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    NotFound(&'static str),
    #[error("this is your own profile")]
    OwnProfile,
    #[error("this profile is public: everyone sees it already")]
    ProfilePublic,
    #[error("you asked already: your request is {}", .0.as_str())]
    Exists(ProfileRequestState),
    #[error("this request is {}; that cannot be done now", .0.as_str())]
    Closed(ProfileRequestState),
    #[error("{0}")]
    NotParty(&'static str),
    #[error("you may ask this person again after {until}")]
    CoolingOff { until: DateTime<Utc> },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        let code = match &error {
            RequestError::NotFound(_) => ErrorCode::NotFound,
            RequestError::OwnProfile => ErrorCode::OwnProfile,
            RequestError::ProfilePublic => ErrorCode::ProfilePublic,
            RequestError::Exists(_) => ErrorCode::RequestExists,
            RequestError::Closed(_) => ErrorCode::RequestClosed,
            RequestError::NotParty(_) => ErrorCode::NotRequestParty,
            RequestError::CoolingOff { until } => {
                let seconds = (*until - Utc::now()).num_seconds().max(1) as u64;
                return ApiError {
                    retry_after: Some(seconds),
                    ..ApiError::new(ErrorCode::RequestCoolingOff, error.to_string())
                };
            }
            RequestError::Database(_) => ErrorCode::Internal,
        };
        if let RequestError::Database(error) = error {
            return error.into();
        }
        ApiError::new(code, error.to_string())
    }
}

error_responses! {
    /// Errors of asking to see a profile.
    pub enum CreateRequestError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such user.",
        409 Conflict "`profile_public`: the profile is public; `request_exists`: a request of yours is pending or approved; `idempotency_key_in_use`: the first request with this key is still running.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        422 Unprocessable "`own_profile`: nobody asks to see their own profile; `idempotency_key_reused`: the key came with another request.",
    }
    rate_limited "`rate_limited`: too many requests in a short time; `request_cooling_off`: your last request to this person was rejected or revoked recently. See `Retry-After`."
}

error_responses! {
    /// Errors of reading profile requests.
    pub enum ReadRequestError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such request, or you are not a side of it.",
    }
}

error_responses! {
    /// Errors of approving, rejecting, withdrawing or revoking a request.
    pub enum ActOnRequestError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_request_party`: only the profile's owner approves, rejects and revokes; only the requester withdraws.",
        404 NotFound "No such request, or you are not a side of it.",
        409 Conflict "`request_closed`: only a pending request is approved, rejected or withdrawn, only an approved one revoked; `idempotency_key_in_use`: the first request with this key is still running.",
        422 Unprocessable "`idempotency_key_reused`: the key came with another request.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// A new request.
#[derive(ApiResponse)]
pub enum RequestMade {
    /// The request, pending.
    #[oai(status = 201)]
    Created(Json<ProfileRequest>),
}

/// Profile requests.
#[derive(Debug, Default)]
pub struct ProfileRequestsApi;

#[OpenApi(tag = "ApiTag::Profiles")]
impl ProfileRequestsApi {
    /// Ask to see a private profile
    ///
    /// The owner is told at once (`profile_request_changed`) and approves or rejects it.
    #[oai(
        path = "/profile-requests",
        method = "post",
        operation_id = "create_profile_request",
        transform = "limit_profile_requests"
    )]
    async fn create(
        &self,
        pool: Data<&PgPool>,
        config: Data<&ProfileConfig>,
        caller: BearerAuth,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
        body: Json<CreateProfileRequest>,
    ) -> Result<RequestMade, CreateRequestError> {
        let cooling_off = Duration::seconds(config.request_cooling_off_seconds as i64);
        let requester = &caller.0.user;
        let fingerprint = idempotency::fingerprint("create_profile_request", "", &body.0);
        let request = idempotency::once(
            &pool,
            requester.id,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(create(&pool, requester, &body.0, cooling_off).await?) },
        )
        .await?;
        Ok(RequestMade::Created(Json(request)))
    }

    /// My profile requests
    ///
    /// `incoming`: requests to see my profile (those `approved` are who has access now);
    /// `outgoing`: mine to see others'. Newest first, optionally in one state; pass
    /// `next_before` as `before` for the next page.
    #[oai(
        path = "/profile-requests",
        method = "get",
        operation_id = "list_profile_requests"
    )]
    async fn list(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(name = "box", default)] box_: Query<ProfileRequestBox>,
        /// Only requests in this state.
        state: Query<Option<ProfileRequestState>>,
        /// A request id: list older ones.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))]
        before: Query<Option<i64>>,
        /// 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<ProfileRequestPage>, ReadRequestError> {
        let page = list(
            &pool,
            caller.0.user.id,
            box_.0,
            state.0,
            before.0,
            limit.0.unwrap_or(DEFAULT_PAGE),
        )
        .await?;
        Ok(Json(page))
    }

    /// One profile request
    #[oai(
        path = "/profile-requests/:id",
        method = "get",
        operation_id = "get_profile_request"
    )]
    async fn get(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<ProfileRequest>, ReadRequestError> {
        let request = load(*pool, &[id.0])
            .await?
            .pop()
            .filter(|request| is_side(request, caller.0.user.id))
            .ok_or(RequestError::NotFound("no such request"))?;
        Ok(Json(request))
    }

    /// Approve a profile request
    ///
    /// The requester sees your profile and collection from now on, until you revoke it.
    #[oai(
        path = "/profile-requests/:id/approve",
        method = "post",
        operation_id = "approve_profile_request",
        transform = "limit_writes"
    )]
    async fn approve(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
    ) -> Result<Json<ProfileRequest>, ActOnRequestError> {
        let key = idempotency_key.0.as_deref();
        Ok(Json(
            act_once(&pool, caller.0.user.id, id.0, key, Action::Approve).await?,
        ))
    }

    /// Reject a profile request
    #[oai(
        path = "/profile-requests/:id/reject",
        method = "post",
        operation_id = "reject_profile_request",
        transform = "limit_writes"
    )]
    async fn reject(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
    ) -> Result<Json<ProfileRequest>, ActOnRequestError> {
        let key = idempotency_key.0.as_deref();
        Ok(Json(
            act_once(&pool, caller.0.user.id, id.0, key, Action::Reject).await?,
        ))
    }

    /// Withdraw my profile request
    #[oai(
        path = "/profile-requests/:id/withdraw",
        method = "post",
        operation_id = "withdraw_profile_request",
        transform = "limit_writes"
    )]
    async fn withdraw(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
    ) -> Result<Json<ProfileRequest>, ActOnRequestError> {
        let key = idempotency_key.0.as_deref();
        Ok(Json(
            act_once(&pool, caller.0.user.id, id.0, key, Action::Withdraw).await?,
        ))
    }

    /// Revoke access
    ///
    /// Takes an approval back: the requester sees only your name again, at once.
    #[oai(
        path = "/profile-requests/:id/revoke",
        method = "post",
        operation_id = "revoke_profile_request",
        transform = "limit_writes"
    )]
    async fn revoke(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
    ) -> Result<Json<ProfileRequest>, ActOnRequestError> {
        let key = idempotency_key.0.as_deref();
        Ok(Json(
            act_once(&pool, caller.0.user.id, id.0, key, Action::Revoke).await?,
        ))
    }
}

/// `requester` asks to see the profile `request.owner_id`.
pub async fn create(
    pool: &PgPool,
    requester: &UserRow,
    request: &CreateProfileRequest,
    cooling_off: Duration,
) -> Result<ProfileRequest, RequestError> {
    if request.owner_id == requester.id {
        return Err(RequestError::OwnProfile);
    }
    let mut transaction = pool.begin().await.during("start a profile request")?;
    // The owner's row, locked: one request at a time between two people, and none while the
    // owner changes their privacy.
    let owner_is_private = sqlx::query_scalar!(
        "select is_private from users where id = $1 for update",
        request.owner_id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("lock a profile for a request")?
    .ok_or(RequestError::NotFound("no such user"))?;
    if !owner_is_private {
        return Err(RequestError::ProfilePublic);
    }
    if let Some(latest) = latest_between(&mut transaction, request.owner_id, requester.id).await? {
        match latest.state {
            state @ (ProfileRequestState::Pending | ProfileRequestState::Approved) => {
                return Err(RequestError::Exists(state));
            }
            _ => {
                if let Some(until) = cooling_off_until(&latest, cooling_off)
                    && until > Utc::now()
                {
                    return Err(RequestError::CoolingOff { until });
                }
            }
        }
    }
    let message = request
        .message
        .as_ref()
        .map(|message| message.trim().to_owned())
        .unwrap_or_default();
    let id = sqlx::query_scalar!(
        r#"
        insert into profile_requests (owner_id, requester_id, message)
        values ($1, $2, $3)
        returning id
        "#,
        request.owner_id,
        requester.id,
        message,
    )
    .fetch_one(&mut *transaction)
    .await
    .during("record a profile request")?;
    let made = announce(&mut transaction, id).await?;
    transaction
        .commit()
        .await
        .during("commit a profile request")?;
    Ok(made)
}

/// Until when a closed request keeps its requester from asking again: a rejection and a
/// revocation cool off, a withdrawal does not.
pub fn cooling_off_until(request: &ProfileRequest, cooling_off: Duration) -> Option<DateTime<Utc>> {
    match request.state {
        ProfileRequestState::Rejected => request.decided_at.map(|at| at + cooling_off),
        ProfileRequestState::Revoked => request.revoked_at.map(|at| at + cooling_off),
        _ => None,
    }
}

/// What a side of a request does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Approve,
    Reject,
    Withdraw,
    Revoke,
}

impl Action {
    /// The state the request must be in, and the state it goes to.
    fn transition(self) -> (ProfileRequestState, ProfileRequestState) {
        use ProfileRequestState::*;
        match self {
            Action::Approve => (Pending, Approved),
            Action::Reject => (Pending, Rejected),
            Action::Withdraw => (Pending, Withdrawn),
            Action::Revoke => (Approved, Revoked),
        }
    }

    /// Whether the owner of the profile does this (else the requester does).
    fn by_owner(self) -> bool {
        self != Action::Withdraw
    }
}

/// [`act`] once for the user's `Idempotency-Key`.
async fn act_once(
    pool: &PgPool,
    user: i64,
    id: i64,
    idempotency_key: Option<&str>,
    action: Action,
) -> Result<ProfileRequest, ApiError> {
    let operation = match action {
        Action::Approve => "approve_profile_request",
        Action::Reject => "reject_profile_request",
        Action::Withdraw => "withdraw_profile_request",
        Action::Revoke => "revoke_profile_request",
    };
    let fingerprint = idempotency::fingerprint(operation, &id.to_string(), &());
    idempotency::once(pool, user, idempotency_key, fingerprint, || async {
        Ok(act(pool, user, id, action).await?)
    })
    .await
}

/// `user` does `action` to request `id`.
async fn act(
    pool: &PgPool,
    user: i64,
    id: i64,
    action: Action,
) -> Result<ProfileRequest, RequestError> {
    let mut transaction = pool
        .begin()
        .await
        .during("start a profile request change")?;
    let sides = sqlx::query!(
        "select owner_id, requester_id from profile_requests where id = $1",
        id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("read a profile request")?
    .filter(|sides| sides.owner_id == user || sides.requester_id == user)
    .ok_or(RequestError::NotFound("no such request"))?;
    if action.by_owner() != (sides.owner_id == user) {
        return Err(RequestError::NotParty(if action.by_owner() {
            "only the profile's owner decides on a request"
        } else {
            "only the requester withdraws a request"
        }));
    }
    // The owner's row before the request's: the order every change of access locks in.
    access::lock_collection(&mut transaction, sides.owner_id).await?;
    let state = sqlx::query_scalar!(
        r#"select state as "state: ProfileRequestState" from profile_requests where id = $1 for update"#,
        id
    )
    .fetch_one(&mut *transaction)
    .await
    .during("lock a profile request")?;
    let (from, to) = action.transition();
    if state != from {
        return Err(RequestError::Closed(state));
    }
    sqlx::query!(
        r#"
        update profile_requests
        set state = $2,
            decided_at = case when $2 = 'revoked' then decided_at else now() end,
            revoked_at = case when $2 = 'revoked' then now() end
        where id = $1
        "#,
        id,
        to.as_str(),
    )
    .execute(&mut *transaction)
    .await
    .during("change a profile request")?;
    let changed = announce(&mut transaction, id).await?;
    transaction
        .commit()
        .await
        .during("commit a profile request change")?;
    Ok(changed)
}

/// Reads request `id` as it is now and tells both sides.
async fn announce(connection: &mut PgConnection, id: i64) -> Result<ProfileRequest, DbError> {
    let request = load(&mut *connection, &[id])
        .await?
        .pop()
        .expect("the request exists in this transaction");
    let sides = Audience::Users(vec![request.owner.id, request.requester.id]);
    let event = Event::ProfileRequestChanged(ProfileRequestChanged {
        request: Box::new(request.clone()),
    });
    events::publish(connection, &sides, &event).await?;
    Ok(request)
}

fn is_side(request: &ProfileRequest, user: i64) -> bool {
    request.owner.id == user || request.requester.id == user
}

/// One page of `user`'s requests.
async fn list(
    pool: &PgPool,
    user: i64,
    box_: ProfileRequestBox,
    state: Option<ProfileRequestState>,
    before: Option<i64>,
    limit: i64,
) -> Result<ProfileRequestPage, DbError> {
    let incoming = box_ == ProfileRequestBox::Incoming;
    let mut ids = sqlx::query_scalar!(
        r#"
        select id from profile_requests
        where (case when $2 then owner_id else requester_id end) = $1
          and ($3::text is null or state = $3)
          and ($4::bigint is null or id < $4)
        order by id desc
        limit $5
        "#,
        user,
        incoming,
        state.map(ProfileRequestState::as_str),
        before,
        limit + 1,
    )
    .fetch_all(pool)
    .await
    .during("list profile requests")?;
    let more = ids.len() as i64 > limit;
    ids.truncate(limit as usize);
    let next_before = if more { ids.last().copied() } else { None };
    Ok(ProfileRequestPage {
        items: load(pool, &ids).await?,
        next_before,
    })
}

/// `requester`'s newest request to see `owner`'s profile, in any state.
pub async fn latest_between(
    connection: &mut PgConnection,
    owner: i64,
    requester: i64,
) -> Result<Option<ProfileRequest>, DbError> {
    let id = sqlx::query_scalar!(
        r#"
        select id from profile_requests where owner_id = $1 and requester_id = $2
        order by id desc limit 1
        "#,
        owner,
        requester,
    )
    .fetch_optional(&mut *connection)
    .await
    .during("find the latest profile request")?;
    Ok(match id {
        Some(id) => load(connection, &[id]).await?.pop(),
        None => None,
    })
}

/// The requests with these ids, in the order given (missing ones left out).
pub async fn load(
    executor: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<Vec<ProfileRequest>, DbError> {
    let rows = sqlx::query!(
        r#"
        select r.id, r.message, r.state as "state: ProfileRequestState", r.created_at,
               r.decided_at, r.revoked_at,
               o.id as owner_id, o.handle as owner_handle, o.display_name as owner_name,
               q.id as requester_id, q.handle as requester_handle,
               q.display_name as requester_name
        from profile_requests r
        join users o on o.id = r.owner_id
        join users q on q.id = r.requester_id
        where r.id = any($1)
        order by array_position($1, r.id)
        "#,
        ids,
    )
    .fetch_all(executor)
    .await
    .during("read profile requests")?;
    Ok(rows
        .into_iter()
        .map(|row| ProfileRequest {
            id: row.id,
            owner: UserSummary {
                id: row.owner_id,
                handle: row.owner_handle,
                display_name: row.owner_name,
            },
            requester: UserSummary {
                id: row.requester_id,
                handle: row.requester_handle,
                display_name: row.requester_name,
            },
            message: row.message,
            state: row.state,
            created_at: row.created_at,
            decided_at: row.decided_at,
            revoked_at: row.revoked_at,
        })
        .collect())
}
