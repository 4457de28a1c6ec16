//! Trade offers (Steam's model): the proposer gives some objects and asks for some of the
//! recipient's. The recipient accepts or declines, the proposer cancels, either counters
//! (closing the offer as `countered` and opening theirs), and an offer left alone expires.
//!
//! Accepting is the atomic exchange: the offer's objects are locked (ascending ids), each must
//! still belong to the side that gives it, and then every object changes hands, the history
//! grows, and every other open offer holding any of them is invalidated — one transaction.
//! If anything changed hands meanwhile the offer is invalidated instead, and the caller gets
//! 409.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use gallery_types::{
    CreateOfferRequest, Event, HistoryKind, OfferBox, OfferChanged, OfferPage, OfferState,
    TradeOffer,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use sqlx::{PgConnection, PgPool};

use super::{TradingError, lock_objects, retrying};
use crate::{
    api::ApiTag,
    auth::BearerAuth,
    db::{self, DbError, During},
    error::ApiError,
    error_responses,
    events::{Audience, Outbox},
    idempotency,
    ownership::{self, Handover, offers},
    rate_limit::limit_writes,
    users::{self, UserRow},
};

/// How long an offer stays open unless asked otherwise.
const DEFAULT_LIFETIME_HOURS: u32 = 7 * 24;

/// Page sizes of `GET /api/offers`.
const DEFAULT_PAGE: i64 = 50;

error_responses! {
    /// Errors of making an offer or a counter-offer.
    pub enum MakeOfferError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_offer_party`: a counter-offer answers an offer you are a party of.",
        404 NotFound "No such recipient, object or offer.",
        409 Conflict "`object_not_owned`: an object is not owned by the side that would give it; `offer_closed`: the offer to counter is no longer pending; `idempotency_key_in_use`.",
        422 Unprocessable "`invalid_offer`: nothing given or asked, or an object on both sides; `invalid_recipient`: an offer to yourself; `idempotency_key_reused`.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of reading offers.
    pub enum ReadOfferError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such offer, or you are not a party of it.",
    }
}

error_responses! {
    /// Errors of accepting, declining or cancelling an offer.
    pub enum ActOnOfferError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_offer_party`: only the recipient accepts or declines, only the proposer cancels.",
        404 NotFound "No such offer, or you are not a party of it.",
        409 Conflict "`offer_invalidated`: something in it changed hands meanwhile (it is now invalidated); `offer_closed`: it is no longer pending; `idempotency_key_in_use`.",
        422 Unprocessable "`idempotency_key_reused`: the key came with another request.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// A new offer.
#[derive(ApiResponse)]
pub enum OfferMade {
    /// The offer, pending.
    #[oai(status = 201)]
    Created(Json<TradeOffer>),
}

/// Trade offers.
#[derive(Debug, Default)]
pub struct OffersApi;

#[OpenApi(tag = "ApiTag::Ownership")]
impl OffersApi {
    /// Make a trade offer
    ///
    /// Objects of yours you give (`give`) and objects of the recipient's you ask for (`ask`);
    /// either may be empty, not both. Both sides are told (`offer_changed`).
    #[oai(
        path = "/offers",
        method = "post",
        operation_id = "make_offer",
        transform = "limit_writes"
    )]
    async fn make(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        /// Makes retrying safe: a repeat with the same key (kept 24 h) gets the first answer.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[\x21-\x7E]+$")
        )]
        idempotency_key: Header<Option<String>>,
        body: Json<CreateOfferRequest>,
    ) -> Result<OfferMade, MakeOfferError> {
        let proposer = &caller.0.user;
        let fingerprint = idempotency::fingerprint("make_offer", "", &body.0);
        let offer = idempotency::once(
            &pool,
            proposer.id,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(retrying(|| make(&pool, proposer, &body.0)).await?) },
        )
        .await?;
        Ok(OfferMade::Created(Json(offer)))
    }

    /// My trade offers
    ///
    /// `incoming`: pending offers made to you; `outgoing`: pending offers you made;
    /// `history`: closed ones either way. Newest first; pass `next_before` as `before` for
    /// the next page.
    #[oai(path = "/offers", method = "get", operation_id = "list_offers")]
    async fn list(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(name = "box", default)] box_: Query<OfferBox>,
        /// An offer id: list older ones.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))]
        before: Query<Option<i64>>,
        /// 1 to 100 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
    ) -> Result<Json<OfferPage>, ReadOfferError> {
        let limit = limit.0.unwrap_or(DEFAULT_PAGE);
        let mut connection = pool.acquire().await.during("list trade offers")?;
        let mut ids = offers::ids_in_box(
            &mut *connection,
            caller.0.user.id,
            box_.0,
            before.0,
            limit + 1,
        )
        .await?;
        let more = ids.len() as i64 > limit;
        ids.truncate(limit as usize);
        let items = offers::load(&mut connection, &ids).await?;
        let next_before = if more { ids.last().copied() } else { None };
        Ok(Json(OfferPage { items, next_before }))
    }

    /// One trade offer
    #[oai(path = "/offers/:id", method = "get", operation_id = "get_offer")]
    async fn get(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<TradeOffer>, ReadOfferError> {
        let offer = offers::load_for(&pool, id.0, caller.0.user.id)
            .await?
            .ok_or(TradingError::NotFound("no such offer"))?;
        Ok(Json(offer))
    }

    /// Accept a trade offer
    ///
    /// The exchange happens at once, whole or not at all: if anything in the offer changed
    /// hands meanwhile, the offer is invalidated instead (409 `offer_invalidated`).
    #[oai(
        path = "/offers/:id/accept",
        method = "post",
        operation_id = "accept_offer",
        transform = "limit_writes"
    )]
    async fn accept(
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
    ) -> Result<Json<TradeOffer>, ActOnOfferError> {
        let recipient = caller.0.user.id;
        let fingerprint = idempotency::fingerprint("accept_offer", &id.0.to_string(), &());
        let offer = idempotency::once(
            &pool,
            recipient,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(retrying(|| accept(&pool, recipient, id.0)).await?) },
        )
        .await?;
        Ok(Json(offer))
    }

    /// Decline a trade offer
    #[oai(
        path = "/offers/:id/decline",
        method = "post",
        operation_id = "decline_offer",
        transform = "limit_writes"
    )]
    async fn decline(
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
    ) -> Result<Json<TradeOffer>, ActOnOfferError> {
        let key = idempotency_key.0.as_deref();
        let offer = close_once(&pool, caller.0.user.id, id.0, key, Closing::Decline).await?;
        Ok(Json(offer))
    }

    /// Cancel a trade offer
    #[oai(
        path = "/offers/:id/cancel",
        method = "post",
        operation_id = "cancel_offer",
        transform = "limit_writes"
    )]
    async fn cancel(
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
    ) -> Result<Json<TradeOffer>, ActOnOfferError> {
        let key = idempotency_key.0.as_deref();
        let offer = close_once(&pool, caller.0.user.id, id.0, key, Closing::Cancel).await?;
        Ok(Json(offer))
    }

    /// Counter a trade offer
    ///
    /// Either party answers a pending offer with their own: the original closes as
    /// `countered` and the new one goes to the other party (`recipient_id` is not read).
    /// `give` is what you give, `ask` what you ask for.
    #[oai(
        path = "/offers/:id/counter",
        method = "post",
        operation_id = "counter_offer",
        transform = "limit_writes"
    )]
    async fn counter(
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
        body: Json<CreateOfferRequest>,
    ) -> Result<OfferMade, MakeOfferError> {
        let user = &caller.0.user;
        let fingerprint = idempotency::fingerprint("counter_offer", &id.0.to_string(), &body.0);
        let offer = idempotency::once(
            &pool,
            user.id,
            idempotency_key.0.as_deref(),
            fingerprint,
            || async { Ok(retrying(|| counter(&pool, user, id.0, &body.0)).await?) },
        )
        .await?;
        Ok(OfferMade::Created(Json(offer)))
    }
}

/// `proposer` makes the offer `request`.
pub async fn make(
    pool: &PgPool,
    proposer: &UserRow,
    request: &CreateOfferRequest,
) -> Result<TradeOffer, TradingError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start a trade offer")?;
    let mut outbox = Outbox::default();
    let id = open(
        &mut transaction,
        proposer,
        request.recipient_id,
        request,
        None,
    )
    .await?;
    let offer = announce(&mut transaction, id, &mut outbox).await?;
    outbox.publish(&mut transaction).await?;
    transaction.commit().await.during("commit a trade offer")?;
    Ok(offer)
}

/// Opens an offer from `proposer` to `recipient_id` (answering `counter_of`); returns its id.
async fn open(
    connection: &mut PgConnection,
    proposer: &UserRow,
    recipient_id: i64,
    request: &CreateOfferRequest,
    counter_of: Option<i64>,
) -> Result<i64, TradingError> {
    if recipient_id == proposer.id {
        return Err(TradingError::InvalidRecipient(
            "an offer goes to somebody else",
        ));
    }
    if request.give.is_empty() && request.ask.is_empty() {
        return Err(TradingError::InvalidOffer(
            "an offer gives or asks for at least one object",
        ));
    }
    let given: HashSet<i64> = request.give.iter().copied().collect();
    if request.ask.iter().any(|id| given.contains(id)) {
        return Err(TradingError::InvalidOffer(
            "an object cannot be on both sides of an offer",
        ));
    }
    let recipient = users::by_id(&mut *connection, recipient_id)
        .await?
        .ok_or(TradingError::NotFound("no such recipient"))?;
    let ids: Vec<i64> = request.give.iter().chain(&request.ask).copied().collect();
    // Objects in a collection the proposer may not see are not found: asking for them would
    // tell what the collection holds. Locked (shared, in id order, as every transaction locks
    // objects) until the offer commits: an object changing hands meanwhile waits for the
    // offer, and then invalidates it with the other open offers holding it.
    let objects = sqlx::query!(
        r#"
        select o.id, o.owner_id from art_objects o join users w on w.id = o.owner_id
        where o.id = any($1) and o.deleted_at is null
          and collection_visible_to(w.id, w.is_private, $2)
        order by o.id
        for share of o
        "#,
        &ids,
        proposer.id,
    )
    .fetch_all(&mut *connection)
    .await
    .during("read the objects of an offer")?;
    for (side, owner) in [(&request.give, proposer.id), (&request.ask, recipient.id)] {
        for id in side {
            match objects.iter().find(|object| object.id == *id) {
                None => return Err(TradingError::NotFound("no such object")),
                Some(object) if object.owner_id != owner => {
                    return Err(TradingError::ObjectNotOwned(*id));
                }
                Some(_) => {}
            }
        }
    }
    let lifetime = request.expires_in_hours.unwrap_or(DEFAULT_LIFETIME_HOURS);
    let message = request
        .message
        .as_ref()
        .map(|message| message.trim().to_owned())
        .unwrap_or_default();
    let id = sqlx::query_scalar!(
        r#"
        insert into trade_offers (proposer_id, recipient_id, message, expires_at, counter_of)
        values ($1, $2, $3, now() + make_interval(hours => $4), $5)
        returning id
        "#,
        proposer.id,
        recipient.id,
        message,
        i32::try_from(lifetime).unwrap_or(i32::MAX),
        counter_of,
    )
    .fetch_one(&mut *connection)
    .await
    .during("record a trade offer")?;
    let sides: Vec<&str> = request
        .give
        .iter()
        .map(|_| "give")
        .chain(request.ask.iter().map(|_| "ask"))
        .collect();
    sqlx::query!(
        r#"
        insert into trade_offer_items (offer_id, object_id, side)
        select $1, object_id, side from unnest($2::bigint[], $3::text[]) as item(object_id, side)
        "#,
        id,
        &ids,
        &sides as &[&str],
    )
    .execute(&mut *connection)
    .await
    .during("record the objects of a trade offer")?;
    Ok(id)
}

/// Reads offer `id` as it is now and tells both parties.
async fn announce(
    connection: &mut PgConnection,
    id: i64,
    outbox: &mut Outbox,
) -> Result<TradeOffer, DbError> {
    let offer = offers::load(connection, &[id])
        .await?
        .pop()
        .expect("the offer exists in this transaction");
    let parties = Audience::Users(vec![offer.proposer.id, offer.recipient.id]);
    outbox.push(
        parties,
        Event::OfferChanged(OfferChanged {
            offer: Box::new(offer.clone()),
        }),
    );
    Ok(offer)
}

/// An offer row, locked for the transaction.
struct LockedOffer {
    proposer_id: i64,
    recipient_id: i64,
    state: OfferState,
    expires_at: DateTime<Utc>,
}

/// Locks offer `id` for `user`, one of its parties.
async fn lock_offer(
    connection: &mut PgConnection,
    id: i64,
    user: i64,
) -> Result<LockedOffer, TradingError> {
    let offer = sqlx::query_as!(
        LockedOffer,
        r#"
        select proposer_id, recipient_id, state as "state: OfferState", expires_at
        from trade_offers where id = $1 for update
        "#,
        id
    )
    .fetch_optional(connection)
    .await
    .during("lock a trade offer")?
    .filter(|offer| offer.proposer_id == user || offer.recipient_id == user)
    .ok_or(TradingError::NotFound("no such offer"))?;
    Ok(offer)
}

/// Refuses an offer that is no longer open.
fn ensure_open(offer: &LockedOffer) -> Result<(), TradingError> {
    if offers::is_open(offer.state, offer.expires_at) {
        Ok(())
    } else if offer.state == OfferState::Pending {
        Err(TradingError::OfferClosed(OfferState::Expired))
    } else {
        Err(TradingError::OfferClosed(offer.state))
    }
}

/// `recipient` accepts offer `id`: the atomic exchange.
pub async fn accept(pool: &PgPool, recipient: i64, id: i64) -> Result<TradeOffer, TradingError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start accepting an offer")?;
    // The items never change: they are read first, to lock the objects before the offer.
    let items = sqlx::query!(
        "select object_id, side from trade_offer_items where offer_id = $1 order by object_id",
        id
    )
    .fetch_all(&mut *transaction)
    .await
    .during("read the objects of an offer")?;
    let ids: Vec<i64> = items.iter().map(|item| item.object_id).collect();
    let objects = lock_objects(&mut transaction, &ids, recipient).await?;
    let offer = lock_offer(&mut transaction, id, recipient).await?;
    if offer.recipient_id != recipient {
        return Err(TradingError::NotOfferParty(
            "only the offer's recipient accepts it",
        ));
    }
    ensure_open(&offer)?;

    let mut handovers = Vec::with_capacity(items.len());
    for item in &items {
        let (from, to) = if item.side == "give" {
            (offer.proposer_id, offer.recipient_id)
        } else {
            (offer.recipient_id, offer.proposer_id)
        };
        match objects.iter().find(|object| object.id == item.object_id) {
            Some(object) if !object.deleted && object.owner_id == from => {
                handovers.push(Handover {
                    object_id: object.id,
                    photo_id: object.photo_id,
                    from,
                    to: Some(to),
                    kind: HistoryKind::Trade,
                });
            }
            _ => {
                // Something changed hands since the offer was made: it can never be accepted.
                sqlx::query!(
                    "update trade_offers set state = 'invalidated', closed_at = now() where id = $1",
                    id
                )
                .execute(&mut *transaction)
                .await
                .during("invalidate an offer")?;
                let mut outbox = Outbox::default();
                announce(&mut transaction, id, &mut outbox).await?;
                outbox.publish(&mut transaction).await?;
                transaction
                    .commit()
                    .await
                    .during("commit an invalidated offer")?;
                return Err(TradingError::OfferInvalidated);
            }
        }
    }

    sqlx::query!(
        "update trade_offers set state = 'accepted', closed_at = now() where id = $1",
        id
    )
    .execute(&mut *transaction)
    .await
    .during("accept an offer")?;
    let mut outbox = Outbox::default();
    // In ascending object order, like the locks.
    ownership::change_hands(&mut transaction, &handovers, &mut outbox).await?;
    let accepted = announce(&mut transaction, id, &mut outbox).await?;
    outbox.publish(&mut transaction).await?;
    transaction
        .commit()
        .await
        .during("commit an accepted offer")?;
    Ok(accepted)
}

/// How a party closes an offer without an exchange.
#[derive(Debug, Clone, Copy)]
enum Closing {
    /// The recipient says no.
    Decline,
    /// The proposer withdraws it.
    Cancel,
}

/// [`close`] once for the user's `Idempotency-Key`.
async fn close_once(
    pool: &PgPool,
    user: i64,
    id: i64,
    idempotency_key: Option<&str>,
    closing: Closing,
) -> Result<TradeOffer, ApiError> {
    let operation = match closing {
        Closing::Decline => "decline_offer",
        Closing::Cancel => "cancel_offer",
    };
    let fingerprint = idempotency::fingerprint(operation, &id.to_string(), &());
    idempotency::once(pool, user, idempotency_key, fingerprint, || async {
        Ok(retrying(|| close(pool, user, id, closing)).await?)
    })
    .await
}

async fn close(
    pool: &PgPool,
    user: i64,
    id: i64,
    closing: Closing,
) -> Result<TradeOffer, TradingError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start closing an offer")?;
    let offer = lock_offer(&mut transaction, id, user).await?;
    let (allowed, state) = match closing {
        Closing::Decline => (offer.recipient_id == user, OfferState::Declined),
        Closing::Cancel => (offer.proposer_id == user, OfferState::Cancelled),
    };
    if !allowed {
        return Err(TradingError::NotOfferParty(match closing {
            Closing::Decline => "only the offer's recipient declines it",
            Closing::Cancel => "only the offer's proposer cancels it",
        }));
    }
    ensure_open(&offer)?;
    sqlx::query!(
        "update trade_offers set state = $2, closed_at = now() where id = $1",
        id,
        state as _
    )
    .execute(&mut *transaction)
    .await
    .during("close an offer")?;
    let mut outbox = Outbox::default();
    let closed = announce(&mut transaction, id, &mut outbox).await?;
    outbox.publish(&mut transaction).await?;
    transaction.commit().await.during("commit a closed offer")?;
    Ok(closed)
}

/// `user`, a party of offer `id`, answers it with `request`.
async fn counter(
    pool: &PgPool,
    user: &UserRow,
    id: i64,
    request: &CreateOfferRequest,
) -> Result<TradeOffer, TradingError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start a counter-offer")?;
    let original = lock_offer(&mut transaction, id, user.id).await?;
    ensure_open(&original)?;
    let other_party = if original.proposer_id == user.id {
        original.recipient_id
    } else {
        original.proposer_id
    };
    let new_id = open(&mut transaction, user, other_party, request, Some(id)).await?;
    sqlx::query!(
        r#"
        update trade_offers set state = 'countered', closed_at = now(), countered_by = $2
        where id = $1
        "#,
        id,
        new_id
    )
    .execute(&mut *transaction)
    .await
    .during("close a countered offer")?;
    let mut outbox = Outbox::default();
    announce(&mut transaction, id, &mut outbox).await?;
    let countered = announce(&mut transaction, new_id, &mut outbox).await?;
    outbox.publish(&mut transaction).await?;
    transaction
        .commit()
        .await
        .during("commit a counter-offer")?;
    Ok(countered)
}

/// Closes the offers whose time has run out and tells their parties; for the background task.
pub async fn expire_due(pool: &PgPool) -> Result<usize, DbError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start expiring offers")?;
    let expired = offers::expire_due(&mut transaction).await?;
    let mut outbox = Outbox::default();
    for id in &expired {
        announce(&mut transaction, *id, &mut outbox).await?;
    }
    outbox.publish(&mut transaction).await?;
    transaction.commit().await.during("commit expired offers")?;
    Ok(expired.len())
}
