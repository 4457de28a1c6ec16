//! Gifts: the owner hands an object to another user at once.

use chrono::Utc;
use gallery_types::{Event, GiftReceived, GiftRequest, HistoryKind, Transfer};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Header, payload::Json};
use sqlx::PgPool;

use super::{TradingError, lock_own_object, retrying};
use crate::{
    api::ApiTag,
    auth::BearerAuth,
    db::{self, During},
    error_responses,
    events::{Audience, Outbox},
    idempotency,
    ownership::{self, Handover},
    rate_limit::limit_writes,
    users::{self, UserRow},
};

error_responses! {
    /// Errors of `POST /api/transfers`.
    pub enum GiftError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_owner`: the object is somebody else's.",
        404 NotFound "No such object (or it is deleted, or in somebody's private collection), or no such recipient.",
        409 Conflict "`idempotency_key_in_use`: the first request with this key is still running.",
        422 Unprocessable "`invalid_recipient`: the object is yours already; `idempotency_key_reused`: the key came with another request.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// Gifts.
#[derive(Debug, Default)]
pub struct GiftsApi;

#[OpenApi(tag = "ApiTag::Ownership")]
impl GiftsApi {
    /// Give an object
    ///
    /// Hands one of your objects to another user at once. The recipient is told
    /// (`gift_received`), everybody who may see the object sees it change hands
    /// (`object_transferred`), and every open offer holding it is invalidated.
    #[oai(
        path = "/transfers",
        method = "post",
        operation_id = "give_object",
        transform = "limit_writes"
    )]
    async fn give(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
        body: Json<GiftRequest>,
    ) -> Result<Json<Transfer>, GiftError> {
        let giver = &caller.0.user;
        let fingerprint = idempotency::fingerprint("give_object", "", &body.0);
        let transfer = idempotency::once(
            &pool,
            giver.id,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(retrying(|| give(&pool, giver, &body.0)).await?) },
        )
        .await?;
        Ok(Json(transfer))
    }
}

/// `giver` gives `gift.object_id` to `gift.to_user_id`.
pub async fn give(
    pool: &PgPool,
    giver: &UserRow,
    gift: &GiftRequest,
) -> Result<Transfer, TradingError> {
    if gift.to_user_id == giver.id {
        return Err(TradingError::InvalidRecipient(
            "this object is yours already: choose somebody else",
        ));
    }
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start a gift")?;
    let object = lock_own_object(&mut transaction, gift.object_id, giver.id).await?;
    let recipient = users::by_id(&mut *transaction, gift.to_user_id)
        .await?
        .ok_or(TradingError::NotFound("no such recipient"))?;
    let mut outbox = Outbox::default();
    let handover = Handover {
        object_id: object.id,
        photo_id: object.photo_id,
        from: giver.id,
        to: Some(recipient.id),
        kind: HistoryKind::Gift,
    };
    ownership::change_hands(&mut transaction, &[handover], &mut outbox).await?;
    let transfer = Transfer {
        object_id: object.id,
        photo_id: object.photo_id,
        kind: HistoryKind::Gift,
        from: giver.summary(),
        to: recipient.summary(),
        message: gift
            .message
            .as_ref()
            .map(|message| message.trim().to_owned())
            .unwrap_or_default(),
        at: Utc::now(),
    };
    outbox.push(
        Audience::user(recipient.id),
        Event::GiftReceived(GiftReceived {
            transfer: transfer.clone(),
        }),
    );
    outbox.publish(&mut transaction).await?;
    transaction.commit().await.during("commit a gift")?;
    Ok(transfer)
}
