//! Photos and the art objects they become.
//!
//! - [`api`]: the photo operations (upload, feed, one photo, edit, delete);
//!   [`favorites`] and [`search`] have their own.
//! - [`read`]: every photo read, through one projection; [`hot_pages`] keeps the feed pages
//!   asked for most in memory.
//! - [`upload`]: from a streamed form ([`upload_form`], admitted by [`admission`]: a slot
//!   per user and the storage quota) through the image [`pipeline`] to stored files
//!   ([`storage`]) and one transaction of rows and event.
//! - [`changes`]: editing and deleting, and who hears of changes.
//! - [`files`]: which stored files are referenced, and removing those that are not (with the
//!   lock protocol that keeps a file from going while a photo is being recorded).
//! - [`media`]: serving the files.

pub mod admission;
pub mod api;
pub mod changes;
pub mod favorites;
pub mod fields;
pub mod files;
pub mod hot_pages;
pub mod media;
pub mod pipeline;
pub mod read;
pub mod search;
pub mod storage;
pub mod upload;
pub mod upload_form;

use std::{sync::Arc, time::Duration};

use gallery_types::ErrorCode;
use tokio::sync::Semaphore;

use self::{
    admission::UploadSlots, hot_pages::HotPages, pipeline::UploadLimits, storage::MediaStore,
};
use crate::{config::PhotoConfig, db::DbError, error::ApiError};

/// What the photo routes share.
pub struct PhotosState {
    pub store: MediaStore,
    pub limits: UploadLimits,
    pub max_upload_bytes: u64,
    /// Decoding takes a core and up to hundreds of megabytes: a few at a time.
    pub decoders: Arc<Semaphore>,
    /// Uploads under way, per user.
    pub slots: UploadSlots,
    /// Bytes of uploads each user may keep.
    pub quota_bytes: u64,
    /// How long an upload may take to arrive, and to go through the pipeline.
    pub read_deadline: Duration,
    pub decode_deadline: Duration,
    /// The feed pages asked for most, from memory.
    pub hot_pages: HotPages,
}

impl PhotosState {
    pub fn new(config: &PhotoConfig, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self {
            store: MediaStore::open(data_dir, Duration::from_secs(config.sweep_grace_seconds))?,
            limits: UploadLimits {
                max_pixels: config.max_megapixels * 1_000_000,
                max_side: config.max_side,
                max_frames: config.max_frames,
            },
            max_upload_bytes: config.max_upload_mib * 1024 * 1024,
            decoders: Arc::new(Semaphore::new(config.decode_concurrency.max(1))),
            slots: UploadSlots::new(usize::try_from(config.uploads_per_user).unwrap_or(1)),
            quota_bytes: config.storage_quota_mib * 1024 * 1024,
            read_deadline: Duration::from_secs(config.upload_read_seconds.max(1)),
            decode_deadline: Duration::from_secs(config.decode_seconds.max(1)),
            hot_pages: HotPages::new(config.feed_cache_pages),
        })
    }
}

/// Why a photo operation is refused.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("no such photo")]
    NotFound,
    #[error("only the current owner may do this")]
    NotOwner,
    #[error("{0}")]
    InvalidField(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<PhotoError> for ApiError {
    fn from(error: PhotoError) -> Self {
        match error {
            PhotoError::Database(error) => error.into(),
            PhotoError::NotFound => ApiError::new(ErrorCode::NotFound, error.to_string()),
            PhotoError::NotOwner => ApiError::new(ErrorCode::NotOwner, error.to_string()),
            PhotoError::InvalidField(message) => ApiError::new(ErrorCode::InvalidPhoto, message),
        }
    }
}
