//! Who may see a collection. A private user's objects are seen by the user, by whoever holds
//! an approved profile request, and by nobody else. The rule itself is the SQL function
//! `collection_visible_to` (migrations 0009 and 0012), which every read of photos, objects, history,
//! events and media applies; this module asks it from Rust, and names who receives the live
//! events of a collection.

use std::collections::{HashMap, HashSet};

use gallery_types::UserSummary;
use sqlx::{PgConnection, PgExecutor};

use crate::{
    db::{DbError, During},
    events::Audience,
};

/// Of the users `owners`, those whose collections `viewer` may see.
pub async fn visible_collections(
    executor: impl PgExecutor<'_>,
    owners: &[i64],
    viewer: Option<i64>,
) -> Result<HashSet<i64>, DbError> {
    let visible = sqlx::query_scalar!(
        "select id from users where id = any($1) and collection_visible_to(id, is_private, $2)",
        owners,
        viewer,
    )
    .fetch_all(executor)
    .await
    .during("decide whose collections a viewer sees")?;
    Ok(visible.into_iter().collect())
}

/// Who receives the events about `owner_id`'s objects: everyone while the profile is public;
/// else the owner and those with an approved request.
///
/// The owner's row is share-locked, and a privacy change, an approval and a revocation lock
/// it for update: whichever commits first is read here, so an event never reaches somebody
/// who may no longer see the collection when it commits.
pub async fn collection_audience(
    connection: &mut PgConnection,
    owner_id: i64,
) -> Result<Audience, DbError> {
    let mut owners = collection_owners(connection, &[owner_id]).await?;
    let (_, audience) = owners
        .remove(&owner_id)
        .ok_or(sqlx::Error::RowNotFound)
        .during("read a collection's owner")?;
    Ok(audience)
}

/// The owners as events name them, and who receives the events about each one's objects (see
/// [`collection_audience`], whose lock this takes too), by owner id; in at most two statements
/// however many owners.
pub async fn collection_owners(
    connection: &mut PgConnection,
    owner_ids: &[i64],
) -> Result<HashMap<i64, (UserSummary, Audience)>, DbError> {
    // Locked in id order, as every statement locking several users does.
    let owners = sqlx::query!(
        r#"
        select id, is_private, handle, display_name from users
        where id = any($1) order by id for share
        "#,
        owner_ids
    )
    .fetch_all(&mut *connection)
    .await
    .during("read collections' owners")?;
    let private: Vec<i64> = owners
        .iter()
        .filter(|owner| owner.is_private)
        .map(|owner| owner.id)
        .collect();
    let mut approved: HashMap<i64, Vec<i64>> = HashMap::new();
    if !private.is_empty() {
        let requests = sqlx::query!(
            r#"
            select owner_id, requester_id from profile_requests
            where owner_id = any($1) and state = 'approved'
            "#,
            &private
        )
        .fetch_all(&mut *connection)
        .await
        .during("read who may see private collections")?;
        for request in requests {
            approved
                .entry(request.owner_id)
                .or_default()
                .push(request.requester_id);
        }
    }
    Ok(owners
        .into_iter()
        .map(|owner| {
            let audience = if owner.is_private {
                let mut users = approved.remove(&owner.id).unwrap_or_default();
                users.push(owner.id);
                Audience::Users(users)
            } else {
                Audience::Everyone
            };
            let summary = UserSummary {
                id: owner.id,
                handle: owner.handle,
                display_name: owner.display_name,
            };
            (owner.id, (summary, audience))
        })
        .collect())
}

/// Locks `owner_id`'s row for update: taken by every change of who may see the collection
/// (see [`collection_audience`]).
pub async fn lock_collection(connection: &mut PgConnection, owner_id: i64) -> Result<(), DbError> {
    sqlx::query!("select id from users where id = $1 for update", owner_id)
        .fetch_one(connection)
        .await
        .during("lock a collection's owner")?;
    Ok(())
}
