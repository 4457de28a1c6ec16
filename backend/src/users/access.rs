//! Who may see a collection. A private user's objects are seen by the user, by whoever holds
//! an approved profile request, and by nobody else. The rule itself is the SQL function
//! `collection_visible_to` (migrations 0009 and 0012), which every read of photos, objects, history,
//! events and media applies; this module asks it from Rust, and names who receives the live
//! events of a collection.

use std::collections::HashSet;

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
    Ok(collection_owner(connection, owner_id).await?.1)
}

/// The owner as events name them, and who receives the events about their objects (see
/// [`collection_audience`], whose lock this takes too), read together.
pub async fn collection_owner(
    connection: &mut PgConnection,
    owner_id: i64,
) -> Result<(UserSummary, Audience), DbError> {
    let owner = sqlx::query!(
        "select is_private, handle, display_name from users where id = $1 for share",
        owner_id
    )
    .fetch_one(&mut *connection)
    .await
    .during("read a collection's owner")?;
    let summary = UserSummary {
        id: owner_id,
        handle: owner.handle,
        display_name: owner.display_name,
    };
    if !owner.is_private {
        return Ok((summary, Audience::Everyone));
    }
    let mut users = sqlx::query_scalar!(
        "select requester_id from profile_requests where owner_id = $1 and state = 'approved'",
        owner_id
    )
    .fetch_all(&mut *connection)
    .await
    .during("read who may see a private collection")?;
    users.push(owner_id);
    Ok((summary, Audience::Users(users)))
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
