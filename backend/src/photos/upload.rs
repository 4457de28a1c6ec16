//! An upload, from the streamed form to the photo, in a straight line:
//!
//! 1. the form was staged as it streamed in ([`super::upload_form`]), hashed on the way;
//! 2. bytes already in the gallery are answered with the existing photo;
//! 3. the image pipeline runs on a blocking thread, within a decoder permit, and returns the
//!    files to serve with their store names;
//! 4. the files are written (temp → fsync → rename) on a blocking thread, holding nothing;
//! 5. one transaction records the photo, its art object, the `mint` history entry and the
//!    `photo_created` event (under the files' shared locks, see [`super::files`]).
//!
//! If the transaction fails, the files it would have referenced are removed again.

use std::time::{Duration, Instant};

use gallery_types::{ErrorCode, Event, HistoryKind, Photo, PhotoCreated};
use sqlx::PgPool;

use super::{
    PhotoError, PhotosState, changes, files,
    pipeline::{self, PipelineError, Processed},
    read,
    upload_form::PhotoUploadForm,
};
use crate::{
    db::{DbError, During},
    error::ApiError,
    ownership::history,
};

/// An upload waits at most this long for a decoder before the server says it is busy.
const DECODE_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// The unique index on a photo's content hash: the same bytes minted twice violate it.
const CONTENT_CONSTRAINT: &str = "photos_content_key";

/// How an upload ended.
#[derive(Debug)]
pub enum Uploaded {
    /// The photo, as its owner sees it.
    Created(Box<Photo>),
    /// These bytes are already in the gallery: that photo, unless its owner keeps it private.
    Duplicate(Option<Box<Photo>>),
}

/// Why an upload is refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Fields(#[from] PhotoError),
    #[error(transparent)]
    Image(#[from] PipelineError),
    #[error("the image cannot be decoded")]
    DecoderPanicked,
    #[error("too many uploads are being processed; try again shortly")]
    Busy,
    #[error("the image took too long to process; try again later, or a smaller image")]
    TooSlow,
    #[error("cannot store an upload's files: {0}")]
    Storage(std::io::Error),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<UploadError> for ApiError {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::Fields(error) => error.into(),
            UploadError::Database(error) => error.into(),
            UploadError::Image(PipelineError::Io(io)) | UploadError::Storage(io) => {
                anyhow::Error::from(io)
                    .context("cannot process an upload's files")
                    .into()
            }
            UploadError::Image(error @ PipelineError::Unsupported) => {
                ApiError::new(ErrorCode::UnsupportedImage, error.to_string())
            }
            UploadError::Image(error) => ApiError::new(ErrorCode::InvalidImage, error.to_string()),
            UploadError::DecoderPanicked => {
                ApiError::new(ErrorCode::InvalidImage, error.to_string())
            }
            UploadError::Busy | UploadError::TooSlow => ApiError::unavailable(error.to_string()),
        }
    }
}

/// Turns the staged form of `user_id` into a photo.
pub async fn upload(
    pool: &PgPool,
    photos: &PhotosState,
    user_id: i64,
    form: PhotoUploadForm,
) -> Result<Uploaded, UploadError> {
    metrics::counter!(crate::telemetry::metrics::UPLOAD_BYTES).increment(form.file.size);
    if let Some(existing) = existing_photo(pool, &form.file.sha256, user_id).await? {
        return Ok(Uploaded::Duplicate(existing.map(Box::new)));
    }
    let processed = process(photos, &form).await?;
    let processed = store(photos, processed).await?;
    match record(pool, photos, user_id, &form, &processed).await {
        Ok(photo) => Ok(Uploaded::Created(Box::new(photo))),
        Err(error) => {
            let names = processed.files().map(|file| file.name.clone());
            files::remove_unreferenced(pool, &photos.store, &names).await;
            match error {
                // Someone minted the same bytes while this upload was being processed.
                error if error.constraint() == Some(CONTENT_CONSTRAINT) => {
                    let existing = existing_photo(pool, &form.file.sha256, user_id).await?;
                    Ok(Uploaded::Duplicate(existing.flatten().map(Box::new)))
                }
                error => Err(error.into()),
            }
        }
    }
}

/// Runs the image pipeline on a blocking thread, once a decoder is free.
async fn process(photos: &PhotosState, form: &PhotoUploadForm) -> Result<Processed, UploadError> {
    let permit = tokio::time::timeout(DECODE_QUEUE_WAIT, photos.decoders.clone().acquire_owned())
        .await
        .map_err(|_| UploadError::Busy)?
        .map_err(|_| UploadError::Busy)?;
    let path = form.file.file.path().to_owned();
    let limits = photos.limits;
    // The permit lives as long as the decoding does, even if the client goes away (or the
    // deadline passes) meanwhile: the decoder is busy until it is done either way.
    let processing = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| pipeline::process(&path, limits));
        let outcome = match &result {
            Ok(Ok(_)) => "processed",
            Ok(Err(_)) => "refused",
            Err(_) => "panicked",
        };
        metrics::histogram!(crate::telemetry::metrics::DECODE_SECONDS, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    });
    let outcome = tokio::time::timeout(photos.decode_deadline, processing)
        .await
        .map_err(|_| UploadError::TooSlow)?
        .map_err(|_| UploadError::DecoderPanicked)?;
    match outcome {
        Ok(result) => Ok(result?),
        Err(_) => {
            tracing::error!("the image pipeline panicked on an upload");
            Err(UploadError::DecoderPanicked)
        }
    }
}

/// Writes the processed files into the store on a blocking thread (and hands them back).
async fn store(photos: &PhotosState, processed: Processed) -> Result<Processed, UploadError> {
    let store = photos.store.clone();
    tokio::task::spawn_blocking(move || {
        for file in processed.files() {
            store.put(&file.name, &file.bytes)?;
        }
        Ok(processed)
    })
    .await
    .map_err(|error| UploadError::Storage(std::io::Error::other(error)))?
    .map_err(UploadError::Storage)
}

/// Records the photo, its art object, the mint and the event in one transaction; returns the
/// photo as its owner sees it.
async fn record(
    pool: &PgPool,
    photos: &PhotosState,
    user_id: i64,
    form: &PhotoUploadForm,
    processed: &Processed,
) -> Result<Photo, DbError> {
    let names = processed.files().map(|file| file.name.clone());
    let mut transaction = pool.begin().await.during("start recording an upload")?;
    files::lock_shared(&mut transaction, &names).await?;
    // A removal may have taken an identical file between the write and the lock (it saw no
    // reference yet). Under the lock nothing can remove it: put back what is missing.
    for file in processed.files() {
        let present = photos.store.contains(&file.name).await.unwrap_or(false);
        if !present {
            let (store, name, bytes) =
                (photos.store.clone(), file.name.clone(), file.bytes.clone());
            let rewritten = tokio::task::spawn_blocking(move || store.put(&name, &bytes)).await;
            if !matches!(rewritten, Ok(Ok(()))) {
                tracing::error!(file = %file.name, "cannot put back a file an upload needs");
            }
        }
    }
    let photo_id = sqlx::query_scalar!(
        r#"
        insert into photos (creator_id, content_sha256, original_file, preview_file, thumbnail_file,
                            format, width, height, frame_count, byte_size, placeholder,
                            title, description, tags)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        returning id
        "#,
        user_id,
        &form.file.sha256[..],
        processed.original.name,
        processed.preview.name,
        processed.thumbnail.name,
        processed.format.name(),
        processed.width as i32,
        processed.height as i32,
        processed.frames as i32,
        form.file.size as i64,
        processed.placeholder,
        form.title,
        form.description,
        &form.tags,
    )
    .fetch_one(&mut *transaction)
    .await
    .during("record a photo")?;
    let object_id = sqlx::query_scalar!(
        "insert into art_objects (photo_id, owner_id) values ($1, $2) returning id",
        photo_id,
        user_id
    )
    .fetch_one(&mut *transaction)
    .await
    .during("mint an art object")?;
    let mint = history::NewEntry {
        object_id,
        kind: HistoryKind::Mint,
        from_user_id: None,
        to_user_id: Some(user_id),
    };
    history::append(&mut transaction, &[mint]).await?;
    let photo = read::by_id(&mut *transaction, photo_id, Some(user_id))
        .await?
        .expect("the photo was just recorded");
    let created = Event::PhotoCreated(PhotoCreated {
        photo: Box::new(photo.clone()),
    });
    changes::publish(&mut transaction, user_id, &created).await?;
    transaction.commit().await.during("commit an upload")?;
    Ok(photo)
}

/// Whether these bytes are already minted, and if so the photo as `viewer` may see it
/// (`Some(None)` when its owner keeps it private).
async fn existing_photo(
    pool: &PgPool,
    sha256: &[u8; 32],
    viewer: i64,
) -> Result<Option<Option<Photo>>, DbError> {
    let id = sqlx::query_scalar!(
        "select id from photos where content_sha256 = $1 and deleted_at is null",
        &sha256[..]
    )
    .fetch_optional(pool)
    .await
    .during("look for a photo with the same bytes")?;
    match id {
        Some(id) => Ok(Some(read::by_id(pool, id, Some(viewer)).await?)),
        None => Ok(None),
    }
}
