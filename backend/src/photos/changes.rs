//! Changing photos: editing and deleting by the current owner, and announcing every change
//! of a photo to whoever may see it.

use gallery_types::{Event, HistoryKind, Photo, PhotoDeleted, PhotoUpdated, UpdatePhotoRequest};
use sqlx::{PgConnection, PgPool};

use super::{PhotoError, PhotosState, fields, files, read};
use crate::{
    db::{self, DbError, During},
    events::{self, Outbox},
    ownership::{self, Handover},
    users::access,
};

/// Publishes `event` about one of `owner_id`'s photos to whoever may see them
/// ([`access::collection_audience`]).
pub async fn publish(
    connection: &mut PgConnection,
    owner_id: i64,
    event: &Event,
) -> Result<(), DbError> {
    let audience = access::collection_audience(connection, owner_id).await?;
    events::publish(connection, &audience, event).await?;
    Ok(())
}

/// Edits title, description and tags of `photo_id` (absent fields stay); only its owner
/// `user_id` may. Returns the photo as they see it now.
pub async fn update(
    pool: &PgPool,
    user_id: i64,
    photo_id: i64,
    change: UpdatePhotoRequest,
) -> Result<Photo, PhotoError> {
    let tags: Option<Vec<&str>> = change
        .tags
        .as_ref()
        .map(|tags| tags.0.iter().map(|tag| tag.as_str()).collect());
    let fields = fields::accept(
        change.title.as_deref(),
        change.description.as_deref(),
        tags.as_deref(),
    )?;
    let mut transaction = pool.begin().await.during("start a photo edit")?;
    let owner = owner_of(&mut transaction, photo_id).await?;
    if owner != user_id {
        return Err(PhotoError::NotOwner);
    }
    let updated = sqlx::query_as!(
        PhotoUpdated,
        r#"
        update photos set title = coalesce($2, title), description = coalesce($3, description),
                          tags = coalesce($4, tags), updated_at = now()
        where id = $1
        returning id as photo_id, title, description, tags
        "#,
        photo_id,
        fields.title,
        fields.description,
        fields.tags.as_deref(),
    )
    .fetch_one(&mut *transaction)
    .await
    .during("edit a photo")?;
    publish(&mut transaction, user_id, &Event::PhotoUpdated(updated)).await?;
    let photo = read::by_id(&mut *transaction, photo_id, Some(user_id))
        .await?
        .ok_or(PhotoError::NotFound)?;
    transaction.commit().await.during("commit a photo edit")?;
    Ok(photo)
}

/// Deletes `photo_id`; only its owner `user_id` may. The art object's history records the
/// deletion and keeps every earlier entry; the files go once nothing else references them.
pub async fn delete(
    pool: &PgPool,
    photos: &PhotosState,
    user_id: i64,
    photo_id: i64,
) -> Result<(), PhotoError> {
    // A change of hands may lose a race the database detects (a deadlock with another
    // change of hands, a serialization failure): the whole transaction is run again.
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match delete_once(pool, photos, user_id, photo_id).await {
            Err(PhotoError::Database(error)) if error.is_retryable() && attempt < ATTEMPTS => {
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

async fn delete_once(
    pool: &PgPool,
    photos: &PhotosState,
    user_id: i64,
    photo_id: i64,
) -> Result<(), PhotoError> {
    let mut transaction = db::begin_with_generic_plans(pool)
        .await
        .during("start a photo deletion")?;
    let found = sqlx::query!(
        r#"
        select o.id as object_id, o.owner_id, p.original_file, p.preview_file, p.thumbnail_file
        from photos p join art_objects o on o.photo_id = p.id
        where p.id = $1 and p.deleted_at is null
        for update of o, p
        "#,
        photo_id
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("lock a photo to delete")?
    .ok_or(PhotoError::NotFound)?;
    if found.owner_id != user_id {
        return Err(PhotoError::NotOwner);
    }
    sqlx::query!(
        r#"
        update photos set deleted_at = now(), original_file = null, preview_file = null, thumbnail_file = null
        where id = $1
        "#,
        photo_id
    )
    .execute(&mut *transaction)
    .await
    .during("delete a photo")?;
    sqlx::query!(
        "update art_objects set deleted_at = now() where id = $1",
        found.object_id
    )
    .execute(&mut *transaction)
    .await
    .during("delete an art object")?;
    // Leaving the gallery is a change of hands too: it voids the object's claim links and
    // invalidates the offers holding it.
    let mut outbox = Outbox::default();
    let handover = Handover {
        object_id: found.object_id,
        photo_id,
        from: user_id,
        to: None,
        kind: HistoryKind::Delete,
    };
    ownership::change_hands(&mut transaction, &[handover], &mut outbox).await?;
    // After the offers it invalidated, in the same statement.
    let audience = access::collection_audience(&mut transaction, user_id).await?;
    outbox.push(audience, Event::PhotoDeleted(PhotoDeleted { photo_id }));
    outbox.publish(&mut transaction).await?;
    transaction
        .commit()
        .await
        .during("commit a photo deletion")?;
    let names = [
        found.original_file,
        found.preview_file,
        found.thumbnail_file,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>();
    files::remove_unreferenced(pool, &photos.store, &names).await;
    Ok(())
}

/// The current owner of photo `photo_id`, with the object locked against concurrent changes
/// of hands until the transaction ends.
async fn owner_of(connection: &mut PgConnection, photo_id: i64) -> Result<i64, PhotoError> {
    sqlx::query_scalar!(
        r#"
        select o.owner_id from photos p join art_objects o on o.photo_id = p.id
        where p.id = $1 and p.deleted_at is null
        for update of o
        "#,
        photo_id
    )
    .fetch_optional(connection)
    .await
    .during("find a photo's owner")?
    .ok_or(PhotoError::NotFound)
}
