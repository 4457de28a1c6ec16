//! Accounts: the `users` table, its rules (handles, names, bios) and its queries. Everything
//! else reads and changes users through these functions; signing in (`auth`) creates them,
//! `profiles` serves them over HTTP. [`access`] decides who may see a private user's
//! collection.

pub mod access;

use chrono::{DateTime, Utc};
use gallery_types::{
    Bio, DisplayName, ErrorCode, Event, Handle, Language, Me, ProfileVisibility, UpdateMeRequest,
    UserSummary,
};
use sqlx::{Connection, PgConnection, PgExecutor, PgPool};

use crate::{
    db::{DbError, During},
    error::ApiError,
    events::{self, Audience},
};

/// The unique index on `lower(handle)`: losing a race for a handle violates it.
const HANDLE_CONSTRAINT: &str = "users_handle_key";

/// A `users` row. Its `Debug` leaves out the password hash.
#[derive(Clone)]
pub struct UserRow {
    pub id: i64,
    pub max_user_id: i64,
    pub handle: Option<String>,
    pub display_name: String,
    pub bio: String,
    pub language: Language,
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
    /// The user as lists show them to others.
    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id,
            handle: self.handle.clone(),
            display_name: self.display_name.clone(),
        }
    }

    /// The user as they see themselves.
    pub fn to_me(&self) -> Me {
        Me {
            id: self.id,
            handle: self.handle.clone(),
            display_name: self.display_name.clone(),
            bio: self.bio.clone(),
            language: self.language,
            is_private: self.is_private,
            photo_url: self.photo_url.clone(),
            has_password: self.password_hash.is_some(),
            created_at: self.created_at,
        }
    }
}

/// Why a change to an account is refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(
        "a handle is {} to {} letters (a-z), digits or '_', starting with a letter",
        Handle::MIN_CHARS,
        Handle::MAX_CHARS
    )]
    InvalidHandle,
    #[error("this handle is taken; choose another")]
    HandleTaken,
    #[error(
        "a display name is {} to {} characters, not all blank",
        DisplayName::MIN_CHARS,
        DisplayName::MAX_CHARS
    )]
    InvalidDisplayName,
    #[error("a bio is at most {} characters", Bio::MAX_CHARS)]
    BioTooLong,
    #[error(transparent)]
    Database(#[from] DbError),
}

impl UserError {
    fn code(&self) -> ErrorCode {
        match self {
            UserError::InvalidHandle => ErrorCode::InvalidHandle,
            UserError::HandleTaken => ErrorCode::HandleTaken,
            UserError::InvalidDisplayName | UserError::BioTooLong => ErrorCode::InvalidProfile,
            UserError::Database(_) => ErrorCode::Internal,
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Database(error) => error.into(),
            error => ApiError::new(error.code(), error.to_string()),
        }
    }
}

/// Handles: 3–32 ASCII letters, digits or `_`, starting with a letter, so they read well in
/// URLs (`/users/<handle>`) and cannot pose as each other with look-alike letters. Matches the
/// `users_handle_format` constraint.
pub fn check_handle(handle: &str) -> Result<(), UserError> {
    let mut chars = handle.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let length_ok = (Handle::MIN_CHARS..=Handle::MAX_CHARS).contains(&handle.len());
    if starts_with_letter && rest_ok && length_ok {
        Ok(())
    } else {
        Err(UserError::InvalidHandle)
    }
}

/// A handle as sign-in looks it up: surrounding white space ignored, case folded.
pub fn handle_key(handle: &str) -> String {
    handle.trim().to_lowercase()
}

/// An account as its sign-in service describes it, for [`upsert_signed_in`].
#[derive(Debug, Clone)]
pub struct SignedInAccount<'a> {
    /// The account's id at Max.
    pub max_user_id: i64,
    pub display_name: &'a str,
    /// Taken as the handle of a new user when it is a valid handle nobody has.
    pub preferred_handle: Option<&'a str>,
    pub language: Language,
    pub photo_url: Option<&'a str>,
}

/// Creates the user of an account signing in, or refreshes its service-provided fields (the
/// avatar). A new user gets the preferred handle when it is valid and free; later sign-ins
/// never overwrite what the user has chosen.
pub async fn upsert_signed_in(
    connection: &mut PgConnection,
    account: &SignedInAccount<'_>,
) -> Result<UserRow, DbError> {
    let display_name: String = account
        .display_name
        .trim()
        .chars()
        .take(DisplayName::MAX_CHARS)
        .collect();
    let display_name = if display_name.is_empty() {
        format!("user{}", account.max_user_id)
    } else {
        display_name
    };
    let handle = account
        .preferred_handle
        .filter(|handle| check_handle(handle).is_ok());
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
            returning id, max_user_id, handle, display_name, bio, language as "language: Language",
                      is_private, photo_url, password_hash, created_at
            "#,
            account.max_user_id,
            handle,
            display_name,
            account.language as _,
            account.photo_url,
        )
    };
    // In a savepoint, so that losing the race for the handle does not abort the caller's
    // transaction.
    let mut attempt = connection
        .begin()
        .await
        .during("start a savepoint for a sign-in")?;
    match upsert(handle)
        .fetch_one(&mut *attempt)
        .await
        .during("create or refresh a signing-in user")
    {
        Ok(user) => {
            attempt.commit().await.during("commit a signing-in user")?;
            Ok(user)
        }
        // Someone took the handle between the check and the insert: start without one.
        Err(error) if error.constraint() == Some(HANDLE_CONSTRAINT) => {
            attempt
                .rollback()
                .await
                .during("roll back a lost handle race")?;
            upsert(None)
                .fetch_one(&mut *connection)
                .await
                .during("create a signing-in user without a handle")
        }
        Err(error) => Err(error),
    }
}

/// The user with this handle, compared case-insensitively.
pub async fn by_handle(pool: &PgPool, handle: &str) -> Result<Option<UserRow>, DbError> {
    sqlx::query_as!(
        UserRow,
        r#"
        select id, max_user_id, handle, display_name, bio, language as "language: Language",
               is_private, photo_url, password_hash, created_at
        from users where lower(handle) = $1
        "#,
        handle_key(handle)
    )
    .fetch_optional(pool)
    .await
    .during("look a user up by handle")
}

/// The user with this id.
pub async fn by_id(executor: impl PgExecutor<'_>, id: i64) -> Result<Option<UserRow>, DbError> {
    sqlx::query_as!(
        UserRow,
        r#"
        select id, max_user_id, handle, display_name, bio, language as "language: Language",
               is_private, photo_url, password_hash, created_at
        from users where id = $1
        "#,
        id
    )
    .fetch_optional(executor)
    .await
    .during("look a user up by id")
}

/// Sets, replaces or (with `None`) removes a user's password hash.
pub async fn set_password_hash(
    connection: &mut PgConnection,
    user_id: i64,
    hash: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query!(
        "update users set password_hash = $2, updated_at = now() where id = $1",
        user_id,
        hash
    )
    .execute(connection)
    .await
    .during("store a password hash")?;
    Ok(())
}

/// Changes a user's own profile (absent fields stay as they are). Going private or public
/// is announced to everybody in the same transaction: their photos vanish or appear.
pub async fn update_profile(
    pool: &PgPool,
    user_id: i64,
    change: UpdateMeRequest,
) -> Result<UserRow, UserError> {
    if let Some(handle) = &change.handle {
        check_handle(handle)?;
    }
    // Lengths count the text as sent; a display name is stored trimmed.
    if let Some(name) = &change.display_name
        && (name.trim().is_empty() || !name.has_allowed_length())
    {
        return Err(UserError::InvalidDisplayName);
    }
    if change
        .bio
        .as_ref()
        .is_some_and(|bio| !bio.has_allowed_length())
    {
        return Err(UserError::BioTooLong);
    }
    let display_name = change.display_name.as_deref().map(str::trim);
    let mut transaction = pool.begin().await.during("start a profile change")?;
    let was_private = sqlx::query_scalar!(
        "select is_private from users where id = $1 for update",
        user_id
    )
    .fetch_one(&mut *transaction)
    .await
    .during("lock a user for a profile change")?;
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
        returning id, max_user_id, handle, display_name, bio, language as "language: Language",
                  is_private, photo_url, password_hash, created_at
        "#,
        user_id,
        change.handle.as_deref(),
        display_name,
        change.bio.as_deref(),
        change.language as _,
        change.is_private,
    )
    .fetch_one(&mut *transaction)
    .await
    .during("change a profile");
    let user = match updated {
        Ok(user) => user,
        Err(error) if error.constraint() == Some(HANDLE_CONSTRAINT) => {
            return Err(UserError::HandleTaken);
        }
        Err(error) => return Err(error.into()),
    };
    if user.is_private != was_private {
        let event = Event::ProfileVisibility(ProfileVisibility {
            user_id,
            is_private: user.is_private,
        });
        events::publish(&mut transaction, &Audience::Everyone, &event).await?;
    }
    transaction
        .commit()
        .await
        .during("commit a profile change")?;
    Ok(user)
}
