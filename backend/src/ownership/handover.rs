//! Objects changing hands, with everything that goes with it.

use gallery_types::{Event, HistoryKind, ObjectTransferred, OfferChanged, PhotoHidden};
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

/// Moves the objects: owners, history entries, their open claim links voided, the other open
/// offers holding them invalidated, and the events for all of it put in `outbox` (the offers
/// first, then each object in turn); in the same few statements however many objects: four,
/// up to seven when other offers held them or a new owner's collection is private.
///
/// The caller holds the objects' row locks (`for update`) and has checked that each `from`
/// owns its object and that none is deleted. The objects are distinct and in ascending id
/// order, the order every transaction locks them in.
pub async fn change_hands(
    connection: &mut PgConnection,
    handovers: &[Handover],
    outbox: &mut Outbox,
) -> Result<(), DbError> {
    let entries: Vec<history::NewEntry> = handovers
        .iter()
        .map(|handover| history::NewEntry {
            object_id: handover.object_id,
            kind: handover.kind,
            from_user_id: Some(handover.from),
            to_user_id: handover.to,
        })
        .collect();
    history::append(connection, &entries).await?;

    let object_ids: Vec<i64> = handovers
        .iter()
        .map(|handover| handover.object_id)
        .collect();
    let new_owners: Vec<Option<i64>> = handovers.iter().map(|handover| handover.to).collect();
    // The pending offers holding the objects are locked in id order first, as every statement
    // locking several offers does: two changes of hands invalidating overlapping offers cannot
    // wait on each other in a circle.
    let invalidated = sqlx::query_scalar!(
        r#"
        with moved as (
            update art_objects set owner_id = v.new_owner
            from unnest($1::int8[], $2::int8[]) as v (object_id, new_owner)
            where art_objects.id = v.object_id and v.new_owner is not null
        ),
        voided as (
            update claim_links set revoked_at = now()
            where object_id = any($1)
              and claimed_at is null and revoked_at is null and expires_at > now()
        ),
        holding as (
            select id from trade_offers
            where state = 'pending'
              and id in (select offer_id from trade_offer_items where object_id = any($1))
            order by id
            for update
        )
        update trade_offers set state = 'invalidated', closed_at = now()
        where id in (select id from holding)
        returning id
        "#,
        &object_ids,
        &new_owners as &[Option<i64>],
    )
    .fetch_all(&mut *connection)
    .await
    .during("move objects to their new owners")?;
    for offer in offers::load(connection, &invalidated).await? {
        let parties = Audience::Users(vec![offer.proposer.id, offer.recipient.id]);
        outbox.push(
            parties,
            Event::OfferChanged(OfferChanged {
                offer: Box::new(offer),
            }),
        );
    }

    if new_owners.iter().all(Option::is_none) {
        return Ok(());
    }
    // The new owners and the previous ones: those who may see each one's collection.
    let mut owner_ids: Vec<i64> = handovers
        .iter()
        .flat_map(|handover| [Some(handover.from), handover.to])
        .flatten()
        .collect();
    owner_ids.sort_unstable();
    owner_ids.dedup();
    let owners = access::collection_owners(connection, &owner_ids).await?;
    let owner = |id: i64| {
        owners
            .get(&id)
            .ok_or(sqlx::Error::RowNotFound)
            .during("read an object's owners")
    };
    for handover in handovers {
        let Some(to) = handover.to else { continue };
        let (new_owner, audience) = owner(to)?.clone();
        // Both sides always hear of it, the previous owner even when the object went into a
        // collection they may not see.
        let audience = match audience {
            Audience::Everyone => Audience::Everyone,
            Audience::Users(mut users) => {
                users.push(handover.from);
                Audience::Users(users)
            }
        };
        // Who had an object is told only of collections everybody may see: a private
        // collector stays unnamed, as in the object's history.
        let (_, previous_owners_audience) = owner(handover.from)?;
        // Those who saw the photo in its previous collection and may not in the new one are
        // told to stop showing it (without being told where it went).
        if let Some(lost_sight) = losing_sight(previous_owners_audience, &audience) {
            outbox.push(
                lost_sight,
                Event::PhotoHidden(PhotoHidden {
                    photo_id: handover.photo_id,
                }),
            );
        }
        let previous_owner_id =
            (*previous_owners_audience == Audience::Everyone).then_some(handover.from);
        let transferred = ObjectTransferred {
            object_id: handover.object_id,
            photo_id: handover.photo_id,
            via: handover.kind,
            previous_owner_id,
            owner: new_owner,
        };
        outbox.push_concerning(
            audience,
            Event::ObjectTransferred(transferred),
            vec![handover.from, to],
        );
    }
    Ok(())
}

/// Who may see an object's photo in the collection it leaves (`before`) and not in the one it
/// joins (`after`), if anybody.
fn losing_sight(before: &Audience, after: &Audience) -> Option<Audience> {
    match (before, after) {
        (_, Audience::Everyone) => None,
        (Audience::Everyone, Audience::Users(_)) => Some(Audience::Everyone),
        (Audience::Users(before), Audience::Users(after)) => {
            let lost: Vec<i64> = before
                .iter()
                .copied()
                .filter(|user| !after.contains(user))
                .collect();
            (!lost.is_empty()).then_some(Audience::Users(lost))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_those_who_may_no_longer_see_a_photo_lose_sight_of_it() {
        let users = |ids: &[i64]| Audience::Users(ids.to_vec());
        for (before, after, lost) in [
            (Audience::Everyone, Audience::Everyone, None),
            (users(&[1]), Audience::Everyone, None),
            (Audience::Everyone, users(&[1, 2]), Some(Audience::Everyone)),
            (users(&[1, 2, 3]), users(&[2, 4]), Some(users(&[1, 3]))),
            (users(&[1, 2]), users(&[2, 1, 5]), None),
        ] {
            assert_eq!(
                losing_sight(&before, &after),
                lost,
                "{before:?} to {after:?}"
            );
        }
    }
}
