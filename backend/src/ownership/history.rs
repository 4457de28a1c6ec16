//! The ownership history: every change of hands of an art object, append-only in the
//! database (a trigger refuses updates and deletes) and chained by hashes so that any
//! tampering with a stored entry shows.
//!
//! `hash = SHA-256(previous_hash ‖ object_id ‖ position ‖ kind ‖ from ‖ to ‖ created_at)`,
//! integers as 8-byte big-endian (`position` 4 bytes; an absent user is 0), `kind` as its
//! UTF-8 bytes after a 1-byte length, `created_at` as microseconds since the epoch. The
//! first entry's previous hash is 32 zero bytes.

use std::collections::HashMap;

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

/// A change of hands to record in an object's history.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry {
    pub object_id: i64,
    pub kind: HistoryKind,
    pub from_user_id: Option<i64>,
    pub to_user_id: Option<i64>,
}

/// Appends one entry to each object's history, whatever their number, in two statements. The
/// objects are distinct, and the caller holds their row locks (or has just created them), so
/// positions cannot race.
pub async fn append(connection: &mut PgConnection, entries: &[NewEntry]) -> Result<(), DbError> {
    let object_ids: Vec<i64> = entries.iter().map(|entry| entry.object_id).collect();
    let last: HashMap<i64, (i32, Vec<u8>)> = sqlx::query!(
        r#"
        select v.object_id as "object_id!", last.position, last.hash
        from unnest($1::int8[]) as v (object_id)
        cross join lateral (
            select position, hash from ownership_history
            where object_id = v.object_id order by position desc limit 1
        ) as last
        "#,
        &object_ids
    )
    .fetch_all(&mut *connection)
    .await
    .during("read objects' last history entries")?
    .into_iter()
    .map(|row| (row.object_id, (row.position, row.hash)))
    .collect();

    // PostgreSQL keeps microseconds: hash exactly what will be stored.
    let created_at = Utc::now().trunc_subsecs(6);
    let mut positions = Vec::with_capacity(entries.len());
    let mut previous_hashes = Vec::with_capacity(entries.len());
    let mut hashes = Vec::with_capacity(entries.len());
    for entry in entries {
        let (position, previous_hash) = match last.get(&entry.object_id) {
            Some((position, hash)) => (position + 1, hash.clone()),
            None => (1, GENESIS.to_vec()),
        };
        hashes.push(entry_hash(
            &previous_hash,
            entry.object_id,
            position,
            entry.kind.as_str(),
            entry.from_user_id,
            entry.to_user_id,
            created_at,
        ));
        positions.push(position);
        previous_hashes.push(previous_hash);
    }
    let kinds: Vec<&str> = entries.iter().map(|entry| entry.kind.as_str()).collect();
    let from_user_ids: Vec<Option<i64>> = entries.iter().map(|entry| entry.from_user_id).collect();
    let to_user_ids: Vec<Option<i64>> = entries.iter().map(|entry| entry.to_user_id).collect();
    sqlx::query!(
        r#"
        insert into ownership_history
            (object_id, position, kind, from_user_id, to_user_id, created_at, previous_hash, hash)
        select v.object_id, v.position, v.kind, v.from_user_id, v.to_user_id, $6, v.previous_hash,
               v.hash
        from unnest($1::int8[], $2::int4[], $3::text[], $4::int8[], $5::int8[], $7::bytea[],
                    $8::bytea[])
            as v (object_id, position, kind, from_user_id, to_user_id, previous_hash, hash)
        "#,
        &object_ids,
        &positions,
        &kinds as &[&str],
        &from_user_ids as &[Option<i64>],
        &to_user_ids as &[Option<i64>],
        created_at,
        &previous_hashes,
        &hashes,
    )
    .execute(connection)
    .await
    .during("append to objects' histories")?;
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
