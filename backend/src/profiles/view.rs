//! Anybody's profile (`GET /api/users/{user}`, by id or handle) and their collection, as the
//! viewer may see them: all of it for the owner, for everyone while the profile is public,
//! and for those whose request the owner approved; only who it is for everybody else.

use chrono::Duration;
use gallery_types::{CollectionTab, PhotoPage, PhotoSort, Profile, ProfileAccess, ProfileCounts};
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};
use sqlx::PgPool;

use super::requests;
use crate::{
    api::ApiTag,
    auth::Viewer,
    config::ProfileConfig,
    db::{DbError, During},
    error::ApiError,
    error_responses,
    photos::read::{self, FeedFilter},
    users::{self, UserRow},
};
use gallery_types::ErrorCode;

error_responses! {
    /// Errors of reading a profile.
    pub enum ReadProfileError {
        401 Unauthorized "The access token presented is not valid (send none to read anonymously).",
        404 NotFound "No such user.",
    }
}

error_responses! {
    /// Errors of reading a profile's collection.
    pub enum ReadCollectionError {
        401 Unauthorized "The access token presented is not valid (send none to read anonymously).",
        403 Forbidden "`profile_private`: the profile is private and you have no approved request.",
        404 NotFound "No such user.",
    }
}

/// People's profiles.
#[derive(Debug, Default)]
pub struct UsersApi;

#[OpenApi(tag = "ApiTag::Profiles")]
impl UsersApi {
    /// A profile
    ///
    /// `user` is an id or a handle. Of a private profile, those without an approved request
    /// see who it is (id, name, handle, avatar) and their own request to it, not its bio,
    /// counts or collection.
    #[oai(path = "/users/:user", method = "get", operation_id = "get_profile")]
    async fn get(
        &self,
        pool: Data<&PgPool>,
        config: Data<&ProfileConfig>,
        viewer: Viewer,
        /// A user id, or a handle.
        #[oai(validator(pattern = r"^([1-9][0-9]{0,14}|[A-Za-z][A-Za-z0-9_]{2,31})$"))]
        user: Path<String>,
    ) -> Result<Json<Profile>, ReadProfileError> {
        let owner = find(&pool, &user.0).await?;
        let cooling_off = Duration::seconds(config.request_cooling_off_seconds as i64);
        Ok(Json(profile(&pool, &owner, viewer.0, cooling_off).await?))
    }

    /// A profile's collection
    ///
    /// `owned`: the objects the user owns now; `created`: the photos they uploaded, whoever
    /// owns them now (those in private collections you may not see left out). Newest first;
    /// pass `next_cursor` as `cursor` for the next page.
    #[oai(
        path = "/users/:user/photos",
        method = "get",
        operation_id = "list_profile_photos"
    )]
    async fn photos(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        /// A user id, or a handle.
        #[oai(validator(pattern = r"^([1-9][0-9]{0,14}|[A-Za-z][A-Za-z0-9_]{2,31})$"))]
        user: Path<String>,
        #[oai(default)] tab: Query<CollectionTab>,
        /// 1 to 100 (default 30).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the page before.
        #[oai(validator(pattern = r"^[0-9]{1,9}_[0-9]{1,15}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<PhotoPage>, ReadCollectionError> {
        let owner = find(&pool, &user.0).await?;
        if !access_of(&pool, &owner, viewer.0).await?.sees_collection() {
            return Err(ApiError::new(
                ErrorCode::ProfilePrivate,
                "this profile is private: ask its owner to let you see it",
            )
            .into());
        }
        let filter = match tab.0 {
            CollectionTab::Owned => FeedFilter {
                owner: Some(owner.id),
                ..FeedFilter::default()
            },
            CollectionTab::Created => FeedFilter {
                creator: Some(owner.id),
                ..FeedFilter::default()
            },
        };
        let page = read::feed(
            *pool,
            viewer.0,
            PhotoSort::New,
            &filter,
            limit.0,
            cursor.0.as_deref(),
        )
        .await?;
        Ok(Json(page))
    }
}

/// The user an id or a handle names.
async fn find(pool: &PgPool, key: &str) -> Result<UserRow, ApiError> {
    let found = match key.parse::<i64>() {
        Ok(id) => users::by_id(pool, id).await?,
        Err(_) => users::by_handle(pool, key).await?,
    };
    found.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such user"))
}

/// What `viewer` may see of `owner`'s profile.
async fn access_of(
    pool: &PgPool,
    owner: &UserRow,
    viewer: Option<i64>,
) -> Result<ProfileAccess, DbError> {
    Ok(if viewer == Some(owner.id) {
        ProfileAccess::Own
    } else if !owner.is_private {
        ProfileAccess::Public
    } else if users::access::visible_collections(pool, &[owner.id], viewer)
        .await?
        .contains(&owner.id)
    {
        ProfileAccess::Granted
    } else {
        ProfileAccess::Restricted
    })
}

/// `owner`'s profile as `viewer` may see it.
async fn profile(
    pool: &PgPool,
    owner: &UserRow,
    viewer: Option<i64>,
    cooling_off: Duration,
) -> Result<Profile, DbError> {
    let access = access_of(pool, owner, viewer).await?;
    let counts = if access.sees_collection() {
        Some(counts(pool, owner.id).await?)
    } else {
        None
    };
    let request = match viewer.filter(|viewer| *viewer != owner.id) {
        Some(viewer) => {
            let mut connection = pool.acquire().await.during("read a profile request")?;
            requests::latest_between(&mut connection, owner.id, viewer).await?
        }
        None => None,
    };
    let may_request_at = request
        .as_ref()
        .and_then(|request| requests::cooling_off_until(request, cooling_off))
        .filter(|until| *until > chrono::Utc::now());
    let shown = access.sees_collection();
    Ok(Profile {
        id: owner.id,
        display_name: owner.display_name.clone(),
        photo_url: owner.photo_url.clone(),
        is_private: owner.is_private,
        access,
        handle: owner.handle.clone(),
        bio: shown.then(|| owner.bio.clone()),
        counts,
        request,
        may_request_at,
    })
}

/// What `owner` holds and made.
async fn counts(pool: &PgPool, owner: i64) -> Result<ProfileCounts, DbError> {
    let counts = sqlx::query!(
        r#"
        select
            (select count(*) from art_objects where owner_id = $1 and deleted_at is null)
                as "owned!",
            (select count(*) from photos where creator_id = $1 and deleted_at is null)
                as "created!",
            (select coalesce(sum(favorite_count), 0) from art_objects
             where owner_id = $1 and deleted_at is null)::bigint as "favorites_received!"
        "#,
        owner
    )
    .fetch_one(pool)
    .await
    .during("count a profile's objects")?;
    Ok(ProfileCounts {
        owned: counts.owned,
        created: counts.created,
        favorites_received: counts.favorites_received,
    })
}
