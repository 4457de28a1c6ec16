//! Trade offers as clients see them: one projection ([`load`]) for every read of an offer,
//! lists by box, and expiry.
//!
//! A pending offer past its expiry reads as `expired` even before the expiry task has closed
//! it, so nobody is ever shown an offer they can no longer accept.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use gallery_types::{OfferBox, OfferItem, OfferState, TradeOffer, UserSummary};
use sqlx::{PgConnection, PgExecutor, PgPool};

use crate::db::{DbError, During};

/// The offers with these ids (those that exist), in the order of `ids`.
pub async fn load(connection: &mut PgConnection, ids: &[i64]) -> Result<Vec<TradeOffer>, DbError> {
    if ids.is_empty() {
        // Nothing to ask for (most changes of hands invalidate no offer): two statements spared.
        return Ok(Vec::new());
    }
    let rows = sqlx::query!(
        r#"
        select t.id, t.message,
               (case when t.state = 'pending' and t.expires_at <= now() then 'expired'
                     else t.state end) as "state!: OfferState",
               t.created_at, t.expires_at,
               coalesce(t.closed_at,
                        case when t.state = 'pending' and t.expires_at <= now()
                             then t.expires_at end) as closed_at,
               t.counter_of, t.countered_by,
               p.id as proposer_id, p.handle as proposer_handle, p.display_name as proposer_name,
               r.id as recipient_id, r.handle as recipient_handle,
               r.display_name as recipient_name
        from trade_offers t
        join users p on p.id = t.proposer_id
        join users r on r.id = t.recipient_id
        where t.id = any($1)
        "#,
        ids
    )
    .fetch_all(&mut *connection)
    .await
    .during("read trade offers")?;
    let items = sqlx::query!(
        r#"
        select i.offer_id, i.side, o.id as object_id, ph.id as photo_id, ph.title,
               ph.thumbnail_file, ph.placeholder
        from trade_offer_items i
        join art_objects o on o.id = i.object_id
        join photos ph on ph.id = o.photo_id
        where i.offer_id = any($1)
        order by i.offer_id, i.object_id
        "#,
        ids
    )
    .fetch_all(&mut *connection)
    .await
    .during("read the objects of trade offers")?;

    let mut sides: HashMap<i64, (Vec<OfferItem>, Vec<OfferItem>)> = HashMap::new();
    for item in items {
        let (give, ask) = sides.entry(item.offer_id).or_default();
        let side = if item.side == "give" { give } else { ask };
        side.push(OfferItem {
            object_id: item.object_id,
            photo_id: item.photo_id,
            title: item.title,
            thumbnail: item.thumbnail_file.map(|file| format!("/media/{file}")),
            placeholder: item.placeholder,
        });
    }
    let mut offers: HashMap<i64, TradeOffer> = rows
        .into_iter()
        .map(|row| {
            let (give, ask) = sides.remove(&row.id).unwrap_or_default();
            let offer = TradeOffer {
                id: row.id,
                proposer: UserSummary {
                    id: row.proposer_id,
                    handle: row.proposer_handle,
                    display_name: row.proposer_name,
                },
                recipient: UserSummary {
                    id: row.recipient_id,
                    handle: row.recipient_handle,
                    display_name: row.recipient_name,
                },
                give,
                ask,
                message: row.message,
                state: row.state,
                created_at: row.created_at,
                expires_at: row.expires_at,
                closed_at: row.closed_at,
                counter_of: row.counter_of,
                countered_by: row.countered_by,
            };
            (row.id, offer)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| offers.remove(id)).collect())
}

/// One offer, if `viewer` is one of its parties.
pub async fn load_for(pool: &PgPool, id: i64, viewer: i64) -> Result<Option<TradeOffer>, DbError> {
    let mut connection = pool.acquire().await.during("read a trade offer")?;
    let offer = load(&mut connection, &[id]).await?.pop();
    Ok(offer.filter(|offer| offer.proposer.id == viewer || offer.recipient.id == viewer))
}

/// The ids of `user_id`'s offers in `box_`, newest first, below `before`.
pub async fn ids_in_box(
    executor: impl PgExecutor<'_>,
    user_id: i64,
    box_: OfferBox,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<i64>, DbError> {
    let (incoming, outgoing, closed) = match box_ {
        OfferBox::Incoming => (true, false, false),
        OfferBox::Outgoing => (false, true, false),
        OfferBox::History => (true, true, true),
    };
    sqlx::query_scalar!(
        r#"
        select id from trade_offers
        where (($2 and recipient_id = $1) or ($3 and proposer_id = $1))
          and ($4 = (state <> 'pending' or expires_at <= now()))
          and ($5::bigint is null or id < $5)
        order by id desc
        limit $6
        "#,
        user_id,
        incoming,
        outgoing,
        closed,
        before,
        limit,
    )
    .fetch_all(executor)
    .await
    .during("list trade offers")
}

/// Closes pending offers whose expiry has passed; returns their ids.
pub async fn expire_due(connection: &mut PgConnection) -> Result<Vec<i64>, DbError> {
    sqlx::query_scalar!(
        r#"
        with due as (
            select id from trade_offers
            where state = 'pending' and expires_at <= now()
            order by id
            for update
        )
        update trade_offers set state = 'expired', closed_at = expires_at
        where id in (select id from due)
        returning id
        "#,
    )
    .fetch_all(connection)
    .await
    .during("expire trade offers")
}

/// Whether an offer row's state lets it be acted on now.
pub fn is_open(state: OfferState, expires_at: DateTime<Utc>) -> bool {
    state == OfferState::Pending && expires_at > Utc::now()
}
