//! The upload form of `POST /api/photos`, parsed as it streams in: the file goes to a
//! temporary file while its bytes are counted and hashed, so an upload is never held whole in
//! memory and one past the limit is refused (413) as soon as it crosses it.
//!
//! Before a byte is read the upload is admitted (a slot of the user's, room in their quota,
//! a declared length within the limits); then the whole form must arrive within the read
//! deadline, each field at most once.

use std::sync::Arc;

use gallery_types::{ErrorCode, PhotoDescription, PhotoTitle, TagsField};
use poem::{
    FromRequest, Request, RequestBody,
    web::{Field, Multipart},
};
use poem_openapi::{
    payload::{ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
    types::multipart::Upload,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use poem::web::headers::{ContentLength, HeaderMapExt};
use sqlx::PgPool;

use super::{
    PhotosState,
    admission::{self, UploadSlot},
    fields,
};
use crate::{caller::Caller, error::ApiError};

/// Text fields longer than this are refused before they are read on.
const MAX_TEXT_FIELD_BYTES: usize = 16 * 1024;

/// Room in a form besides the file: the text fields (each at most [`MAX_TEXT_FIELD_BYTES`])
/// and the multipart framing.
const FORM_OVERHEAD_BYTES: u64 = 64 * 1024;

/// An uploaded file in the staging directory; deleted when dropped unless stored.
#[derive(Debug)]
pub struct StagedFile {
    pub file: tempfile::NamedTempFile,
    pub sha256: [u8; 32],
    pub size: u64,
}

/// The parsed form.
#[derive(Debug)]
pub struct PhotoUploadForm {
    /// The uploader's slot, held until the form (and with it the upload) is done.
    pub slot: UploadSlot,
    pub file: StagedFile,
    /// The describing fields, checked and tidied ([`fields::accept`]).
    pub title: String,
    pub description: String,
    /// From the comma-separated `tags` field.
    pub tags: Vec<String>,
}

/// The form as the OpenAPI spec documents it (parsing streams instead; see
/// [`PhotoUploadForm`]).
#[derive(Debug, poem_openapi::Multipart)]
#[allow(dead_code)]
struct PhotoUploadSchema {
    /// The image: JPEG, PNG, GIF or WebP.
    file: Upload,
    title: Option<PhotoTitle>,
    description: Option<PhotoDescription>,
    tags: Option<TagsField>,
}

impl Payload for PhotoUploadForm {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        <PhotoUploadSchema as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        <PhotoUploadSchema as Payload>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <PhotoUploadSchema as Payload>::register(registry);
    }
}

/// As an operation parameter: the request body, checked for its content type like poem-openapi's
/// own payloads.
impl<'a> poem_openapi::ApiExtractor<'a> for PhotoUploadForm {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![poem_openapi::registry::MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let multipart = request
            .content_type()
            .is_some_and(<Self as Payload>::check_content_type);
        if !multipart {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "upload the photo as multipart/form-data",
            )
            .into());
        }
        <Self as ParsePayload>::from_request(request, body).await
    }
}

impl ParsePayload for PhotoUploadForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let photos = request
            .data::<Arc<PhotosState>>()
            .expect("the photos state is attached to every request");
        let pool = request
            .data::<PgPool>()
            .expect("the pool is attached to every request");
        // The operation's bearer check has run: only signed-in callers get here.
        let user_id = Caller::of(request)
            .user_id()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "sign in to upload"))?;
        let declared = request
            .headers()
            .typed_get::<ContentLength>()
            .map(|length| length.0);
        if declared.is_some_and(|length| length > photos.max_upload_bytes + FORM_OVERHEAD_BYTES) {
            return Err(ApiError::new(
                ErrorCode::FileTooLarge,
                format!("the file is larger than {} bytes", photos.max_upload_bytes),
            )
            .into());
        }
        let slot = photos.slots.take(user_id)?;
        let stored = admission::stored_bytes(pool, user_id)
            .await
            .map_err(ApiError::from)?;
        admission::check_quota(stored, declared.unwrap_or(0), photos.quota_bytes)?;
        let read = read_form(request, body, photos);
        let (file, title, description, tags) = tokio::time::timeout(photos.read_deadline, read)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::UploadTimeout,
                    format!(
                        "the upload did not arrive within {} seconds",
                        photos.read_deadline.as_secs()
                    ),
                )
            })??;
        admission::check_quota(stored, file.size, photos.quota_bytes)?;
        let tags = tags.unwrap_or_default();
        let fields = fields::accept(
            Some(title.as_deref().unwrap_or_default()),
            Some(description.as_deref().unwrap_or_default()),
            Some(&fields::split_tags(&tags)),
        )
        .map_err(ApiError::from)?;
        Ok(Self {
            slot,
            file,
            title: fields.title.unwrap_or_default(),
            description: fields.description.unwrap_or_default(),
            tags: fields.tags.unwrap_or_default(),
        })
    }
}

/// The form's fields: the staged file, and the text of title, description and tags.
pub type FormFields = (StagedFile, Option<String>, Option<String>, Option<String>);

/// Reads the whole form: each field at most once, the file staged as it streams. (Public for
/// the fuzz target `fuzz/fuzz_targets/multipart.rs`.)
pub async fn read_form(
    request: &Request,
    body: &mut RequestBody,
    photos: &PhotosState,
) -> poem::Result<FormFields> {
    let mut multipart = Multipart::from_request(request, body).await?;
    let (mut file, mut title, mut description, mut tags) = (None, None, None, None);
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().map(str::to_owned);
        let slot = match name.as_deref() {
            Some("file") => None,
            Some("title") => Some(&mut title),
            Some("description") => Some(&mut description),
            Some("tags") => Some(&mut tags),
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    format!("unknown form field `{other}`; the form takes file, title, description and tags"),
                )
                .into());
            }
            None => {
                return Err(
                    ApiError::new(ErrorCode::BadRequest, "a form field without a name").into(),
                );
            }
        };
        let once = |name: &str| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("`{name}` appears more than once; each field is sent once"),
            )
        };
        match slot {
            None if file.is_some() => return Err(once("file").into()),
            None => {
                file = Some(stage(field, photos.store.temp_dir(), photos.max_upload_bytes).await?);
            }
            Some(Some(_)) => return Err(once(name.as_deref().unwrap_or_default()).into()),
            Some(slot) => *slot = Some(text(field).await?),
        }
    }
    let file =
        file.ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "the form has no `file` field"))?;
    Ok((file, title, description, tags))
}

/// Streams the file field to a staging file, hashing and counting as it goes.
async fn stage(
    field: Field,
    directory: std::path::PathBuf,
    limit: u64,
) -> poem::Result<StagedFile> {
    let staged = tempfile::NamedTempFile::new_in(directory).map_err(internal)?;
    let mut writer = tokio::fs::File::from_std(staged.reopen().map_err(internal)?);
    let mut reader = field.into_async_read();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer).await.map_err(|error| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("the upload broke off: {error}"),
            )
        })?;
        if read == 0 {
            break;
        }
        size += read as u64;
        if size > limit {
            return Err(ApiError::new(
                ErrorCode::FileTooLarge,
                format!("the file is larger than {limit} bytes"),
            )
            .into());
        }
        hasher.update(&buffer[..read]);
        writer.write_all(&buffer[..read]).await.map_err(internal)?;
    }
    writer.flush().await.map_err(internal)?;
    Ok(StagedFile {
        file: staged,
        sha256: hasher.finalize().into(),
        size,
    })
}

async fn text(field: Field) -> poem::Result<String> {
    let mut reader = field
        .into_async_read()
        .take(MAX_TEXT_FIELD_BYTES as u64 + 1);
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).await.map_err(|error| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("the upload broke off: {error}"),
        )
    })?;
    if bytes.len() > MAX_TEXT_FIELD_BYTES {
        return Err(invalid("a text field is too long").into());
    }
    if bytes.contains(&0) {
        return Err(ApiError::new(
            ErrorCode::InvalidText,
            "text may not contain NUL characters (U+0000)",
        )
        .into());
    }
    String::from_utf8(bytes).map_err(|_| invalid("a text field is not UTF-8").into())
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidPhoto, message)
}

fn internal(error: std::io::Error) -> poem::Error {
    ApiError::from(anyhow::Error::from(error).context("cannot stage an upload")).into()
}
