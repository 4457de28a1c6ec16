//! Users: created from their Max account at first sign-in; their own profile (`/api/me`).

use chrono::{DateTime, Utc};
use gallery_types::{ErrorCode, Event, Language, Me, ProfileVisibility, UpdateMeRequest};
use poem::http::StatusCode;
use poem_openapi::{OpenApi, payload::Json};
use sqlx::{Connection, PgConnection, PgPool};

use crate::{
    auth::{BearerAuth, init_data::MaxUser},
    error::{ApiError, violated_constraint},
    error_responses,
    events::{self, Audience},
    startup::{ApiTag, AppState},
};

/// A `users` row. Its `Debug` leaves out the password hash.
#[derive(Clone)]
pub struct UserRow {
    pub id: i64,
    pub max_user_id: i64,
    pub handle: Option<String>,
    pub display_name: String,
    pub bio: String,
    pub language: String,
    pub is_private: bool,
    pub photo_url: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    /// The user as they see themselves.
    pub fn to_me(&self) -> Me {
        Me {
            id: self.id,
            handle: self.handle.clone(),
            display_name: self.display_name.clone(),
            bio: self.bio.clone(),
            language: Language::from_code(&self.language),
            is_private: self.is_private,
            photo_url: self.photo_url.clone(),
            has_password: self.password_hash.is_some(),
            created_at: self.created_at,
        }
    }
}

/// The most characters of a display name and a bio.
const MAX_DISPLAY_NAME_CHARS: usize = 64;
const MAX_BIO_CHARS: usize = 500;

/// Handles: 3–32 ASCII letters, digits or `_`, starting with a letter, so they read well in
/// URLs (`/users/<handle>`) and cannot pose as each other with look-alike letters. Matches the
/// `users_handle_format` constraint.
pub fn check_handle(handle: &str) -> Result<(), ApiError> {
    let mut chars = handle.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if starts_with_letter && rest_ok && (3..=32).contains(&handle.len()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidHandle,
            "a handle is 3 to 32 letters (a-z), digits or '_', starting with a letter",
        ))
    }
}

/// A handle as sign-in looks it up: surrounding white space ignored, case folded.
pub fn handle_key(handle: &str) -> String {
    handle.trim().to_lowercase()
}

/// Creates the user for a Max account, or refreshes the Max-provided fields of an existing
/// one. A new user gets their Max username as handle when it is valid and free, and their
/// Max name and language as display name and language; later sign-ins never overwrite what
/// the user has chosen.
pub async fn upsert_from_max(
    connection: &mut PgConnection,
    max: &MaxUser,
) -> Result<UserRow, ApiError> {
    let display_name = max_display_name(max);
    let language = Language::from_code(max.language_code.as_deref().unwrap_or("ru")).code();
    let handle = max
        .username
        .as_deref()
        .filter(|username| check_handle(username).is_ok());
    let upsert = |handle: Option<&str>| {
        sqlx::query_as!(
            UserRow,
            r#"
            insert into users (max_user_id, handle, display_name, language, photo_url)
            values (
                $1,
                case when exists (select 1 from users where lower(handle) = lower($2)) then null else $2 end,
                $3, $4, $5
            )
            on conflict (max_user_id) do update set photo_url = excluded.photo_url, updated_at = now()
            returning id, max_user_id, handle, display_name, bio, language, is_private, photo_url,
                      password_hash, created_at
            "#,
            max.id,
            handle,
            display_name,
            language,
            max.photo_url,
        )
    };
    // In a savepoint, so that losing the race for the handle does not abort the caller's
    // transaction.
    let mut attempt = connection.begin().await?;
    match upsert(handle).fetch_one(&mut *attempt).await {
        Ok(user) => {
            attempt.commit().await?;
            Ok(user)
        }
        // Someone took the handle between the check and the insert: start without one.
        Err(error) if violated_constraint(&error) == Some("users_handle_key") => {
            attempt.rollback().await?;
            Ok(upsert(None).fetch_one(&mut *connection).await?)
        }
        Err(error) => Err(error.into()),
    }
}

/// "First Last" from Max, cut to what the profile allows.
fn max_display_name(max: &MaxUser) -> String {
    let full = match max.last_name.as_deref().map(str::trim) {
        Some(last) if !last.is_empty() => format!("{} {last}", max.first_name.trim()),
        _ => max.first_name.trim().to_owned(),
    };
    let name: String = full.chars().take(MAX_DISPLAY_NAME_CHARS).collect();
    if name.is_empty() {
        format!("user{}", max.id)
    } else {
        name
    }
}

/// The user with this handle, compared case-insensitively.
pub async fn by_handle(pool: &PgPool, handle: &str) -> Result<Option<UserRow>, ApiError> {
    Ok(sqlx::query_as!(
        UserRow,
        r#"
        select id, max_user_id, handle, display_name, bio, language, is_private, photo_url,
               password_hash, created_at
        from users where lower(handle) = $1
        "#,
        handle_key(handle)
    )
    .fetch_optional(pool)
    .await?)
}

/// The user with this id.
pub async fn by_id(connection: &mut PgConnection, id: i64) -> Result<Option<UserRow>, ApiError> {
    Ok(sqlx::query_as!(
        UserRow,
        r#"
        select id, max_user_id, handle, display_name, bio, language, is_private, photo_url,
               password_hash, created_at
        from users where id = $1
        "#,
        id
    )
    .fetch_optional(connection)
    .await?)
}

error_responses! {
    /// Errors of `GET /api/me`.
    pub enum GetMeError {
        401 Unauthorized "No valid access token.",
    }
}

error_responses! {
    /// Errors of `PATCH /api/me`.
    pub enum UpdateMeError {
        400 BadRequest "The body is not valid JSON of the documented shape.",
        401 Unauthorized "No valid access token.",
        409 Conflict "`handle_taken`: somebody already has this handle.",
        415 UnsupportedMediaType "The body is not `application/json`.",
        422 Unprocessable "`invalid_handle` or `invalid_profile`: a field breaks its rules.",
        429 TooManyRequests "Too many changes in a short time; see `Retry-After`.",
    }
}

/// The signed-in user's own profile.
pub struct MeApi;

#[OpenApi(tag = "ApiTag::Me")]
impl MeApi {
    /// My profile
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn get_me(&self, auth: BearerAuth) -> Result<Json<Me>, GetMeError> {
        Ok(Json(auth.0.user.to_me()))
    }

    /// Change my profile
    ///
    /// Handle, display name, bio, language and privacy; absent fields stay as they are.
    #[oai(path = "/me", method = "patch", operation_id = "update_me")]
    async fn update_me(
        &self,
        auth: BearerAuth,
        state: poem::web::Data<&AppState>,
        body: Json<UpdateMeRequest>,
    ) -> Result<Json<Me>, UpdateMeError> {
        Ok(Json(update_me(&state.pool, auth.0.user.id, body.0).await?))
    }
}

async fn update_me(pool: &PgPool, user_id: i64, change: UpdateMeRequest) -> Result<Me, ApiError> {
    if let Some(handle) = &change.handle {
        check_handle(handle)?;
    }
    let display_name = change.display_name.as_deref().map(str::trim);
    if let Some(name) = display_name
        && (name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS)
    {
        return Err(invalid_profile("a display name is 1 to 64 characters"));
    }
    if let Some(bio) = &change.bio
        && bio.chars().count() > MAX_BIO_CHARS
    {
        return Err(invalid_profile("a bio is at most 500 characters"));
    }
    let mut transaction = pool.begin().await?;
    let was_private = sqlx::query_scalar!(
        "select is_private from users where id = $1 for update",
        user_id
    )
    .fetch_one(&mut *transaction)
    .await?;
    let updated = sqlx::query_as!(
        UserRow,
        r#"
        update users set
            handle = coalesce($2, handle),
            display_name = coalesce($3, display_name),
            bio = coalesce($4, bio),
            language = coalesce($5, language),
            is_private = coalesce($6, is_private),
            updated_at = now()
        where id = $1
        returning id, max_user_id, handle, display_name, bio, language, is_private, photo_url,
                  password_hash, created_at
        "#,
        user_id,
        change.handle,
        display_name,
        change.bio,
        change.language.map(Language::code),
        change.is_private,
    )
    .fetch_one(&mut *transaction)
    .await;
    let user = match updated {
        Ok(user) => user,
        Err(error) if violated_constraint(&error) == Some("users_handle_key") => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::HandleTaken,
                "this handle is taken; choose another",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    if user.is_private != was_private {
        // Their photos appear to, or vanish for, everybody else.
        let event = Event::ProfileVisibility(ProfileVisibility {
            user_id,
            is_private: user.is_private,
        });
        events::publish(&mut transaction, &Audience::Everyone, &event).await?;
    }
    transaction.commit().await?;
    Ok(user.to_me())
}

fn invalid_profile(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidProfile,
        message,
    )
}
