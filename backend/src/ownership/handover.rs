//! One object changing hands, with everything that goes with it.

use gallery_types::{Event, HistoryKind, ObjectTransferred, OfferChanged};
use sqlx::PgConnection;

use super::{history, offers};
use crate::{
    db::{DbError, During},
    events::{Audience, Outbox},
    users::access,
};

/// An object leaving `from`: to `to`, or (`to` = `None`) out of the gallery when deleted.
#[derive(Debug, Clone, Copy)]
pub struct Handover {
    pub object_id: i64,
    pub photo_id: i64,
    pub from: i64,
    pub to: Option<i64>,
    pub kind: HistoryKind,
}

/// Moves the object: owner, history entry, its open claim links voided, the other open offers
/// holding it invalidated, and the events for all of it put in `outbox`.
///
/// The caller holds the object's row lock (`for update`) and has checked that `from` owns it
/// and that it is not deleted. Objects of one transaction are handed over in ascending id
/// order, the order every transaction locks them in.
pub async fn change_hands(
    connection: &mut PgConnection,
    handover: Handover,
    outbox: &mut Outbox,
) -> Result<(), DbError> {
    if let Some(to) = handover.to {
        sqlx::query!(
            "update art_objects set owner_id = $2 where id = $1",
            handover.object_id,
            to
        )
        .execute(&mut *connection)
        .await
        .during("change an object's owner")?;
    }
    history::append(
        connection,
        handover.object_id,
        handover.kind,
        Some(handover.from),
        handover.to,
    )
    .await?;
    sqlx::query!(
        r#"
        update claim_links set revoked_at = now()
        where object_id = $1 and claimed_at is null and revoked_at is null and expires_at > now()
        "#,
        handover.object_id
    )
    .execute(&mut *connection)
    .await
    .during("void an object's claim links")?;
    let invalidated = offers::invalidate_holding(connection, handover.object_id).await?;
    for offer in offers::load(connection, &invalidated).await? {
        let parties = Audience::Users(vec![offer.proposer.id, offer.recipient.id]);
        outbox.push(
            parties,
            Event::OfferChanged(OfferChanged {
                offer: Box::new(offer),
            }),
        );
    }
    if let Some(to) = handover.to {
        // The new owner; those who may see their collection, and the previous owner.
        let (owner, audience) = access::collection_owner(&mut *connection, to).await?;
        let audience = match audience {
            Audience::Everyone => Audience::Everyone,
            Audience::Users(mut users) => {
                users.push(handover.from);
                Audience::Users(users)
            }
        };
        let transferred = ObjectTransferred {
            object_id: handover.object_id,
            photo_id: handover.photo_id,
            via: handover.kind,
            previous_owner_id: handover.from,
            owner,
        };
        outbox.push(audience, Event::ObjectTransferred(transferred));
    }
    Ok(())
}
