//! Objects changing hands by the owners' choice, over HTTP:
//!
//! - [`gifts`]: `POST /api/transfers`, an object to another user at once.
//! - [`claims`]: claim links (QR hand-over): one-time, expiring, revocable.
//! - [`offers`]: trade offers (Steam's model) and their atomic exchange.
//! - [`objects`]: an object, its ownership history and the history's verification.
//!
//! Every change of hands goes through [`crate::ownership::change_hands`]. Objects are locked
//! before anything else (claim links, offers), always in ascending id order
//! ([`lock_objects`]), so transactions cannot wait on each other in a circle; a serialization
//! failure or deadlock the database reports anyway is retried ([`retrying`]).

pub mod claims;
pub mod gifts;
pub mod objects;
pub mod offers;

use std::future::Future;

use gallery_types::{ErrorCode, OfferState};
use sqlx::PgConnection;

use crate::{
    db::{DbError, During},
    error::ApiError,
};

/// How often a transaction that lost a race the database detected is run again.
const ATTEMPTS: u32 = 5;

/// Why a change of hands is refused.
#[derive(Debug, thiserror::Error)]
pub enum TradingError {
    #[error("{0}")]
    NotFound(&'static str),
    #[error("only the current owner may do this")]
    NotOwner,
    #[error("{0}")]
    InvalidRecipient(&'static str),
    #[error("{0}")]
    InvalidOffer(&'static str),
    #[error("object {0} is not owned by the side that would give it")]
    ObjectNotOwned(i64),
    #[error("something in this offer changed hands meanwhile: the offer is now invalidated")]
    OfferInvalidated,
    #[error("this offer is {}, no longer pending", .0.as_str())]
    OfferClosed(OfferState),
    #[error("{0}")]
    NotOfferParty(&'static str),
    #[error("this claim link was used, revoked or has expired")]
    ClaimLinkGone,
    #[error("this is your own link: send it to the person who should get the object")]
    CannotClaimOwnLink,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl TradingError {
    fn code(&self) -> ErrorCode {
        match self {
            TradingError::NotFound(_) => ErrorCode::NotFound,
            TradingError::NotOwner => ErrorCode::NotOwner,
            TradingError::InvalidRecipient(_) => ErrorCode::InvalidRecipient,
            TradingError::InvalidOffer(_) => ErrorCode::InvalidOffer,
            TradingError::ObjectNotOwned(_) => ErrorCode::ObjectNotOwned,
            TradingError::OfferInvalidated => ErrorCode::OfferInvalidated,
            TradingError::OfferClosed(_) => ErrorCode::OfferClosed,
            TradingError::NotOfferParty(_) => ErrorCode::NotOfferParty,
            TradingError::ClaimLinkGone => ErrorCode::ClaimLinkGone,
            TradingError::CannotClaimOwnLink => ErrorCode::CannotClaimOwnLink,
            TradingError::Database(_) => ErrorCode::Internal,
        }
    }
}

impl From<TradingError> for ApiError {
    fn from(error: TradingError) -> Self {
        match error {
            TradingError::Database(error) => error.into(),
            refused => ApiError::new(refused.code(), refused.to_string()),
        }
    }
}

/// An art object as a change of hands sees it, locked for the transaction.
#[derive(Debug, Clone)]
pub struct LockedObject {
    pub id: i64,
    pub photo_id: i64,
    pub owner_id: i64,
    /// Whether the one who acts may see the owner's collection.
    pub visible: bool,
    pub deleted: bool,
}

/// Locks the objects with these ids (`for update`), in ascending id order; returns those that
/// exist, in that order, as `viewer` may see them.
pub async fn lock_objects(
    connection: &mut PgConnection,
    ids: &[i64],
    viewer: i64,
) -> Result<Vec<LockedObject>, DbError> {
    sqlx::query_as!(
        LockedObject,
        r#"
        select o.id, o.photo_id, o.owner_id,
               collection_visible_to(w.id, w.is_private, $2) as "visible!",
               o.deleted_at is not null as "deleted!"
        from art_objects o join users w on w.id = o.owner_id
        where o.id = any($1)
        order by o.id
        for update of o
        "#,
        ids,
        viewer,
    )
    .fetch_all(connection)
    .await
    .during("lock art objects")
}

/// The one object `user_id` means to hand on: it must exist, be theirs and not be deleted.
/// An object in a private collection the user may not see is "not found", not "not yours".
pub async fn lock_own_object(
    connection: &mut PgConnection,
    object_id: i64,
    user_id: i64,
) -> Result<LockedObject, TradingError> {
    let object = lock_objects(connection, &[object_id], user_id)
        .await?
        .pop()
        .filter(|object| !object.deleted && object.visible)
        .ok_or(TradingError::NotFound("no such object"))?;
    if object.owner_id != user_id {
        return Err(TradingError::NotOwner);
    }
    Ok(object)
}

/// Runs `attempt` again (up to [`ATTEMPTS`] times) while it fails with a serialization
/// failure or a deadlock: each attempt is a whole transaction, so it starts afresh.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, TradingError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TradingError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(TradingError::Database(error)) if error.is_retryable() && tries < ATTEMPTS => {
                tracing::debug!(%error, tries, "a transaction lost a race; running it again");
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}
