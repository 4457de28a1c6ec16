//! Favorites: favoriting and unfavoriting (idempotent, exact counts announced live), and the
//! viewer's own list.

use gallery_types::{Event, FavoriteCount, Photo};
use poem::web::Data;
use poem_openapi::{OpenApi, param::Path, payload::Json};
use sqlx::PgPool;

use super::{
    PhotoError, changes,
    read::{self, PhotoRow, select_photos},
};
use crate::{
    api::ApiTag,
    auth::BearerAuth,
    db::{DbError, During},
    error_responses,
    rate_limit::limit_writes,
};

/// The longest list of favorites answered (newest first).
const MAX_LISTED: i64 = 500;

error_responses! {
    /// Errors of favoriting and unfavoriting.
    pub enum FavoriteError {
        401 Unauthorized "No valid access token.",
        404 NotFound "No such photo, or it is not visible to you.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

error_responses! {
    /// Errors of `GET /api/me/favorites`.
    pub enum ListFavoritesError {
        401 Unauthorized "No valid access token.",
    }
}

/// Favorites.
#[derive(Debug, Default)]
pub struct FavoritesApi;

#[OpenApi(tag = "ApiTag::Photos")]
impl FavoritesApi {
    /// Favorite a photo
    ///
    /// Idempotent: favoriting twice counts once.
    #[oai(
        path = "/photos/:id/favorite",
        method = "put",
        operation_id = "favorite_photo",
        transform = "limit_writes"
    )]
    async fn favorite(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<Photo>, FavoriteError> {
        Ok(Json(set(&pool, caller.0.user.id, id.0, true).await?))
    }

    /// Unfavorite a photo
    #[oai(
        path = "/photos/:id/favorite",
        method = "delete",
        operation_id = "unfavorite_photo",
        transform = "limit_writes"
    )]
    async fn unfavorite(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<Photo>, FavoriteError> {
        Ok(Json(set(&pool, caller.0.user.id, id.0, false).await?))
    }

    /// My favorites
    ///
    /// The photos I favorited, most recently favorited first.
    #[oai(
        path = "/me/favorites",
        method = "get",
        operation_id = "list_my_favorites"
    )]
    async fn mine(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
    ) -> Result<Json<Vec<Photo>>, ListFavoritesError> {
        Ok(Json(of_user(&pool, caller.0.user.id).await?))
    }
}

/// Favorites (or unfavorites) photo `photo_id` for `user_id`, and returns it as they see it.
/// The count moves only when the favorite row really appears or goes, so concurrent repeats
/// cannot skew it; every change is announced with the exact count.
pub async fn set(
    pool: &PgPool,
    user_id: i64,
    photo_id: i64,
    favorite: bool,
) -> Result<Photo, PhotoError> {
    let mut transaction = pool.begin().await.during("start a favorite")?;
    let object = sqlx::query!(
        r#"
        select o.id from photos p
        join art_objects o on o.photo_id = p.id
        join users w on w.id = o.owner_id
        where p.id = $1 and p.deleted_at is null and collection_visible_to(w.id, w.is_private, $2)
        "#,
        photo_id,
        user_id,
    )
    .fetch_optional(&mut *transaction)
    .await
    .during("find the object to favorite")?
    .ok_or(PhotoError::NotFound)?;
    let changed = if favorite {
        sqlx::query!(
            "insert into favorites (user_id, object_id) values ($1, $2) on conflict do nothing",
            user_id,
            object.id
        )
        .execute(&mut *transaction)
        .await
        .during("add a favorite")?
        .rows_affected()
    } else {
        sqlx::query!(
            "delete from favorites where user_id = $1 and object_id = $2",
            user_id,
            object.id
        )
        .execute(&mut *transaction)
        .await
        .during("remove a favorite")?
        .rows_affected()
    };
    if changed == 1 {
        let delta: i32 = if favorite { 1 } else { -1 };
        // The owner as of this update, which waits for a change of hands under way: the
        // count goes to those who may see the object now.
        let counted = sqlx::query!(
            r#"
            update art_objects set favorite_count = favorite_count + $2 where id = $1
            returning favorite_count, owner_id
            "#,
            object.id,
            delta
        )
        .fetch_one(&mut *transaction)
        .await
        .during("count a favorite")?;
        let event = Event::FavoriteCount(FavoriteCount {
            photo_id,
            favorite_count: counted.favorite_count,
        });
        changes::publish(&mut transaction, counted.owner_id, &event).await?;
    }
    let photo = read::by_id(&mut *transaction, photo_id, Some(user_id))
        .await?
        .ok_or(PhotoError::NotFound)?;
    transaction.commit().await.during("commit a favorite")?;
    Ok(photo)
}

/// The photos `user_id` favorited (and may still see), most recently favorited first.
pub async fn of_user(pool: &PgPool, user_id: i64) -> Result<Vec<Photo>, DbError> {
    let rows = select_photos!(
        r#"
        join favorites mine on mine.object_id = o.id and mine.user_id = $1
        where p.deleted_at is null and collection_visible_to(w.id, w.is_private, $1)
        order by mine.created_at desc, o.id desc
        limit $2
        "#,
        Some(user_id),
        MAX_LISTED,
    )
    .fetch_all(pool)
    .await
    .during("list a user's favorites")?;
    Ok(rows.into_iter().map(PhotoRow::into_photo).collect())
}
