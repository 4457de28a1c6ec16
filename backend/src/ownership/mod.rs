//! The ownership history: every change of hands of an art object, append-only in the
//! database (a trigger refuses updates and deletes) and chained by hashes so that any
//! tampering with a stored entry shows.
//!
//! `hash = SHA-256(previous_hash ‖ object_id ‖ position ‖ kind ‖ from ‖ to ‖ created_at)`,
//! integers as 8-byte big-endian (`position` 4 bytes; an absent user is 0), `kind` as its
//! UTF-8 bytes after a 1-byte length, `created_at` as microseconds since the epoch. The
//! first entry's previous hash is 32 zero bytes.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::db::{DbError, During};

/// What happened to the object (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EntryKind {
    Mint,
    Gift,
    Claim,
    Trade,
    Delete,
}

impl EntryKind {
    /// The name hashed into the chain (and stored in `kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Mint => "mint",
            EntryKind::Gift => "gift",
            EntryKind::Claim => "claim",
            EntryKind::Trade => "trade",
            EntryKind::Delete => "delete",
        }
    }
}

/// The hash of an entry.
pub fn entry_hash(
    previous_hash: &[u8],
    object_id: i64,
    position: i32,
    kind: &str,
    from_user_id: Option<i64>,
    to_user_id: Option<i64>,
    created_at: DateTime<Utc>,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(previous_hash);
    hasher.update(object_id.to_be_bytes());
    hasher.update(position.to_be_bytes());
    hasher.update([u8::try_from(kind.len()).expect("kinds are short")]);
    hasher.update(kind.as_bytes());
    hasher.update(from_user_id.unwrap_or(0).to_be_bytes());
    hasher.update(to_user_id.unwrap_or(0).to_be_bytes());
    hasher.update(created_at.timestamp_micros().to_be_bytes());
    hasher.finalize().to_vec()
}

/// Appends an entry to `object_id`'s history. The caller holds the object's row lock (or
/// has just created it), so positions cannot race.
pub async fn append(
    connection: &mut PgConnection,
    object_id: i64,
    kind: EntryKind,
    from_user_id: Option<i64>,
    to_user_id: Option<i64>,
) -> Result<(), DbError> {
    let last = sqlx::query!(
        r#"
        select position, hash from ownership_history
        where object_id = $1 order by position desc limit 1
        "#,
        object_id
    )
    .fetch_optional(&mut *connection)
    .await
    .during("read an object's last history entry")?;
    let (position, previous_hash) = match last {
        Some(last) => (last.position + 1, last.hash),
        None => (1, vec![0u8; 32]),
    };
    // PostgreSQL keeps microseconds: hash exactly what will be stored.
    let created_at = Utc::now().trunc_subsecs(6);
    let hash = entry_hash(
        &previous_hash,
        object_id,
        position,
        kind.as_str(),
        from_user_id,
        to_user_id,
        created_at,
    );
    sqlx::query!(
        r#"
        insert into ownership_history
            (object_id, position, kind, from_user_id, to_user_id, created_at, previous_hash, hash)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        "#,
        object_id,
        position,
        kind as _,
        from_user_id,
        to_user_id,
        created_at,
        previous_hash,
        hash,
    )
    .execute(connection)
    .await
    .during("append to an object's history")?;
    Ok(())
}
