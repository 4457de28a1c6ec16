//! An art object, its ownership history and the verification of the history's hash chain,
//! for whoever may see the object (the provenance page a QR code opens).

use std::collections::HashMap;

use gallery_types::{
    HistoryEntry, HistoryParty, HistoryVerification, ObjectHistory, Photo, UserSummary,
};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Path, payload::Json};
use sqlx::PgPool;

use super::TradingError;
use crate::{
    api::ApiTag,
    auth::Viewer,
    db::During,
    error_responses,
    ownership::history::{self, StoredEntry},
    photos::read,
};

error_responses! {
    /// Errors of reading an object and its history.
    pub enum ObjectError {
        404 NotFound "No such object, or it is deleted, or in somebody's private collection.",
    }
}

/// Objects and their provenance.
#[derive(Debug, Default)]
pub struct ObjectsApi;

#[OpenApi(tag = "ApiTag::Ownership")]
impl ObjectsApi {
    /// One object
    ///
    /// The photo the art object is, with its current owner.
    #[oai(path = "/objects/:id", method = "get", operation_id = "get_object")]
    async fn get(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<Photo>, ObjectError> {
        Ok(Json(visible_object(&pool, id.0, viewer.0).await?))
    }

    /// An object's ownership history
    ///
    /// Every change of hands, oldest first, each entry with its hash and the previous one's.
    /// Collectors who keep their profile private appear without a name.
    #[oai(
        path = "/objects/:id/history",
        method = "get",
        operation_id = "get_object_history"
    )]
    async fn history(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<ObjectHistory>, ObjectError> {
        let photo = visible_object(&pool, id.0, viewer.0).await?;
        let entries = history::entries(*pool, id.0).await?;
        let people = people_in(&pool, &entries, viewer.0).await?;
        let party = |user: Option<i64>| {
            user.map(|id| HistoryParty {
                user: people.get(&id).cloned().flatten(),
            })
        };
        let entries = entries
            .iter()
            .map(|entry| HistoryEntry {
                position: entry.position,
                kind: entry.kind,
                from: party(entry.from_user_id),
                to: party(entry.to_user_id),
                at: entry.created_at,
                previous_hash: hex::encode(&entry.previous_hash),
                hash: hex::encode(&entry.hash),
            })
            .collect();
        Ok(Json(ObjectHistory {
            object_id: id.0,
            photo_id: photo.id,
            entries,
        }))
    }

    /// Verify an object's history
    ///
    /// Recomputes every entry's hash from its stored fields and the entry before it: any
    /// change to a stored entry shows as `valid: false` at the first position it breaks.
    #[oai(
        path = "/objects/:id/history/verify",
        method = "get",
        operation_id = "verify_object_history"
    )]
    async fn verify(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<HistoryVerification>, ObjectError> {
        visible_object(&pool, id.0, viewer.0).await?;
        let entries = history::entries(*pool, id.0).await?;
        let broken_at = history::first_broken(id.0, &entries);
        Ok(Json(HistoryVerification {
            object_id: id.0,
            valid: broken_at.is_none(),
            entries: i32::try_from(entries.len()).unwrap_or(i32::MAX),
            broken_at,
        }))
    }
}

async fn visible_object(
    pool: &PgPool,
    object_id: i64,
    viewer: Option<i64>,
) -> Result<Photo, TradingError> {
    read::by_object(pool, object_id, viewer)
        .await?
        .ok_or(TradingError::NotFound("no such object"))
}

/// Everyone named in `entries`, as `viewer` may see them: `None` for a private collector
/// (whose collection the viewer may not see).
async fn people_in(
    pool: &PgPool,
    entries: &[StoredEntry],
    viewer: Option<i64>,
) -> Result<HashMap<i64, Option<UserSummary>>, TradingError> {
    let ids: Vec<i64> = entries
        .iter()
        .flat_map(|entry| [entry.from_user_id, entry.to_user_id])
        .flatten()
        .collect();
    let rows = sqlx::query!(
        r#"
        select id, handle, display_name,
               collection_visible_to(id, is_private, $2) as "shown!"
        from users where id = any($1)
        "#,
        &ids,
        viewer,
    )
    .fetch_all(pool)
    .await
    .during("read the people of a history")?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let summary = row.shown.then_some(UserSummary {
                id: row.id,
                handle: row.handle,
                display_name: row.display_name,
            });
            (row.id, summary)
        })
        .collect())
}
