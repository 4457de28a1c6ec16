//! The ownership history: every change of hands of an art object, append-only in the
//! database (a trigger refuses updates and deletes) and chained by hashes so that any
//! tampering with a stored entry shows.
//!
//! `hash = SHA-256(previous_hash ‖ object_id ‖ position ‖ kind ‖ from ‖ to ‖ created_at)`,
//! integers as 8-byte big-endian (`position` 4 bytes; an absent user is 0), `kind` as its
//! UTF-8 bytes after a 1-byte length, `created_at` as microseconds since the epoch. The
//! first entry's previous hash is 32 zero bytes.

use chrono::{DateTime, SubsecRound, Utc};
use gallery_types::HistoryKind;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor};

use crate::db::{DbError, During};

/// The previous hash of an object's first entry.
const GENESIS: [u8; 32] = [0; 32];

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
    kind: HistoryKind,
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
        None => (1, GENESIS.to_vec()),
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

/// An entry as stored.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub position: i32,
    pub kind: HistoryKind,
    pub from_user_id: Option<i64>,
    pub to_user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub previous_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// `object_id`'s entries, oldest first.
pub async fn entries(
    executor: impl PgExecutor<'_>,
    object_id: i64,
) -> Result<Vec<StoredEntry>, DbError> {
    sqlx::query_as!(
        StoredEntry,
        r#"
        select position, kind as "kind: HistoryKind", from_user_id, to_user_id, created_at,
               previous_hash, hash
        from ownership_history where object_id = $1 order by position
        "#,
        object_id
    )
    .fetch_all(executor)
    .await
    .during("read an object's history")
}

/// The first position at which `entries` (oldest first) stop being the unbroken chain of
/// `object_id`: a position out of sequence, a previous hash that is not the entry before's
/// hash, or a hash that does not match the entry's fields. `None` when the chain is intact.
pub fn first_broken(object_id: i64, entries: &[StoredEntry]) -> Option<i32> {
    let mut previous_hash: &[u8] = &GENESIS;
    for (index, entry) in entries.iter().enumerate() {
        let expected = entry_hash(
            previous_hash,
            object_id,
            entry.position,
            entry.kind.as_str(),
            entry.from_user_id,
            entry.to_user_id,
            entry.created_at,
        );
        let in_sequence = usize::try_from(entry.position).ok() == Some(index + 1);
        if !in_sequence || entry.previous_hash != previous_hash || entry.hash != expected {
            return Some(entry.position);
        }
        previous_hash = &entry.hash;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(length: i32) -> Vec<StoredEntry> {
        let mut entries: Vec<StoredEntry> = Vec::new();
        for position in 1..=length {
            let previous_hash = entries
                .last()
                .map_or(GENESIS.to_vec(), |entry| entry.hash.clone());
            let (kind, from, to) = if position == 1 {
                (HistoryKind::Mint, None, Some(1))
            } else {
                (
                    HistoryKind::Gift,
                    Some(i64::from(position) - 1),
                    Some(i64::from(position)),
                )
            };
            let created_at =
                DateTime::from_timestamp(1_700_000_000 + i64::from(position), 0).unwrap();
            let hash = entry_hash(
                &previous_hash,
                7,
                position,
                kind.as_str(),
                from,
                to,
                created_at,
            );
            entries.push(StoredEntry {
                position,
                kind,
                from_user_id: from,
                to_user_id: to,
                created_at,
                previous_hash,
                hash,
            });
        }
        entries
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(first_broken(7, &chain(4)), None);
        assert_eq!(first_broken(7, &[]), None);
    }

    #[test]
    fn a_changed_field_a_dropped_entry_or_another_object_breaks_it() {
        let mut changed = chain(4);
        changed[2].to_user_id = Some(99);
        assert_eq!(first_broken(7, &changed), Some(3));

        let mut dropped = chain(4);
        dropped.remove(1);
        assert_eq!(first_broken(7, &dropped), Some(3));

        assert_eq!(first_broken(8, &chain(2)), Some(1));
    }
}
