//! The photo operations: upload, the feed, one photo, editing and deleting. Each is a thin
//! edge: it reads the request, calls the domain function, and answers.

use std::sync::Arc;

use gallery_types::{DuplicatePhoto, ErrorCode, Photo, PhotoPage, PhotoSort, UpdatePhotoRequest};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use sqlx::PgPool;

use super::{
    PhotoError, PhotosState, changes,
    hot_pages::{HotPage, PageKey},
    read::{self, FeedFilter},
    upload::{self, Uploaded},
    upload_form::PhotoUploadForm,
};
use crate::{
    api::{ApiTag, JsonBytes, NoContent},
    auth::{BearerAuth, Viewer},
    error_responses,
    rate_limit::limit_writes,
    realtime::Realtime,
};

error_responses! {
    /// Errors of `POST /api/photos`.
    pub enum UploadPhotoError {
        401 Unauthorized "No valid access token.",
        408 Timeout "`upload_timeout`: the form did not arrive within the time allowed.",
        413 TooLarge "`file_too_large`: the file is over the size limit; `quota_exceeded`: your photos would take more than your storage quota.",
        415 Unsupported "`unsupported_image`: not a JPEG, PNG, GIF or WebP image (judged by its bytes).",
        422 Unprocessable "`invalid_image`: too many pixels, too long a side, too many frames, or undecodable; `invalid_photo`: a field is too long.",
    }
    rate_limited "Too many changes in a short time, or too many of your uploads under way at once; see `Retry-After`."
}

/// The answer to an upload.
#[derive(ApiResponse)]
pub enum UploadResponse {
    /// The photo is in the gallery, minted as an art object owned by the uploader.
    #[oai(status = 201)]
    Created(Json<Box<Photo>>),
    /// `duplicate_photo`: these bytes are already in the gallery, as `photo`.
    #[oai(status = 409)]
    Duplicate(Json<Box<DuplicatePhoto>>),
}

/// A page of the feed.
#[derive(ApiResponse)]
pub enum FeedResponse {
    /// The photos. `X-Event-Seq` is the sequence number of the newest event the page reflects:
    /// open the socket with `after` set to it (or poll `GET /api/events` from it), and no
    /// change after the page is missed.
    #[oai(status = 200)]
    Page(JsonBytes<PhotoPage>, #[oai(header = "X-Event-Seq")] i64),
}

error_responses! {
    /// Errors of reading photos.
    pub enum ReadError {
        404 NotFound "No such photo, or it is not visible to you.",
    }
}

error_responses! {
    /// Errors of changing a photo.
    pub enum ChangeError {
        401 Unauthorized "No valid access token.",
        403 Forbidden "`not_owner`: only the current owner may do this.",
        404 NotFound "No such photo.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        422 Unprocessable "`invalid_photo`: a field is too long, or too many tags.",
    }
    rate_limited "Too many changes in a short time; see `Retry-After`."
}

/// Photos and their art objects.
#[derive(Debug, Default)]
pub struct PhotosApi;

#[OpenApi(tag = "ApiTag::Photos")]
impl PhotosApi {
    /// Upload a photo
    ///
    /// Streams the file (`multipart/form-data`: `file`, optional `title`, `description`,
    /// comma-separated `tags`), checks it, strips its metadata, makes a preview and a
    /// thumbnail, and mints it as an art object owned by the uploader.
    #[oai(
        path = "/photos",
        method = "post",
        operation_id = "upload_photo",
        transform = "limit_writes"
    )]
    async fn upload(
        &self,
        pool: Data<&PgPool>,
        photos: Data<&Arc<PhotosState>>,
        caller: BearerAuth,
        form: PhotoUploadForm,
    ) -> Result<UploadResponse, UploadPhotoError> {
        match upload::upload(&pool, &photos, caller.0.user.id, form).await? {
            Uploaded::Created(photo) => Ok(UploadResponse::Created(Json(photo))),
            Uploaded::Duplicate(photo) => {
                Ok(UploadResponse::Duplicate(Json(Box::new(DuplicatePhoto {
                    code: ErrorCode::DuplicatePhoto,
                    message: "these bytes are already in the gallery".into(),
                    photo: photo.map(|photo| *photo),
                }))))
            }
        }
    }

    /// The gallery feed
    ///
    /// Newest first (`sort=new`) or most favorited first (`sort=popular`), optionally only
    /// one owner's, one creator's or one tag's photos. Pages are keyset-paginated: pass the
    /// `next_cursor` of a page as `cursor` for the next one. A valid bearer token marks the
    /// viewer's favorites.
    #[oai(path = "/photos", method = "get", operation_id = "list_photos")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        pool: Data<&PgPool>,
        photos: Data<&Arc<PhotosState>>,
        realtime: Data<&Arc<Realtime>>,
        viewer: Viewer,
        #[oai(default)] sort: Query<PhotoSort>,
        /// Only photos this user owns.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))]
        owner: Query<Option<i64>>,
        /// Only photos this user made.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))]
        creator: Query<Option<i64>>,
        /// Only photos with this tag (as shown, case included).
        #[oai(validator(max_length = 40, pattern = r"^[^,\u0000]*$"))]
        tag: Query<Option<String>>,
        /// 1 to 100 (default 30).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<i64>>,
        /// The `next_cursor` of the page before.
        #[oai(validator(pattern = r"^[0-9]{1,9}_[0-9]{1,15}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<FeedResponse, ReadError> {
        let key = PageKey {
            viewer: viewer.0,
            popular: sort.0 == PhotoSort::Popular,
            filter: FeedFilter {
                owner: owner.0,
                creator: creator.0,
                tag: tag.0,
            },
            limit: limit.0,
            cursor: cursor.0,
        };
        // Taken before reading the database: the page reflects at least this.
        let freshness = photos.hot_pages.freshness(realtime.hub.watermark());
        if let Some(page) = photos.hot_pages.get(&key, freshness) {
            return Ok(FeedResponse::Page(
                JsonBytes::from_serialized(page.json),
                page.freshness.seq,
            ));
        }
        let page = read::feed(
            *pool,
            key.viewer,
            sort.0,
            &key.filter,
            key.limit,
            key.cursor.as_deref(),
        )
        .await?;
        let page = HotPage {
            json: JsonBytes::serialize(&page),
            freshness,
        };
        photos.hot_pages.put(key, &page);
        Ok(FeedResponse::Page(
            JsonBytes::from_serialized(page.json),
            page.freshness.seq,
        ))
    }

    /// One photo
    #[oai(path = "/photos/:id", method = "get", operation_id = "get_photo")]
    async fn get(
        &self,
        pool: Data<&PgPool>,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<Json<Photo>, ReadError> {
        let photo = read::by_id(*pool, id.0, viewer.0)
            .await?
            .ok_or(PhotoError::NotFound)?;
        Ok(Json(photo))
    }

    /// Edit a photo
    ///
    /// Title, description and tags; only the current owner may.
    #[oai(
        path = "/photos/:id",
        method = "patch",
        operation_id = "update_photo",
        transform = "limit_writes"
    )]
    async fn update(
        &self,
        pool: Data<&PgPool>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
        body: Json<UpdatePhotoRequest>,
    ) -> Result<Json<Photo>, ChangeError> {
        Ok(Json(
            changes::update(&pool, caller.0.user.id, id.0, body.0).await?,
        ))
    }

    /// Delete a photo
    ///
    /// Only the current owner may. The art object's history records the deletion and keeps
    /// every earlier entry; the files are removed.
    #[oai(
        path = "/photos/:id",
        method = "delete",
        operation_id = "delete_photo",
        transform = "limit_writes"
    )]
    async fn delete(
        &self,
        pool: Data<&PgPool>,
        photos: Data<&Arc<PhotosState>>,
        caller: BearerAuth,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000000000000")))] id: Path<i64>,
    ) -> Result<NoContent, ChangeError> {
        changes::delete(&pool, &photos, caller.0.user.id, id.0).await?;
        Ok(NoContent::Done)
    }
}
