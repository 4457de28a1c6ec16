//! Which stored files photos reference, and removing the ones nothing references.
//!
//! Files are shared (identical bytes are one file: the same thumbnail can serve two photos),
//! so storing and removing coordinate through a PostgreSQL advisory lock per file name. An
//! upload takes the *shared* lock on its files' names in the transaction that records them
//! ([`lock_shared`]) and, under it, makes sure the files exist; a removal takes the
//! *exclusive* lock, checks that no photo references the file, and deletes it. So a file is
//! never removed from under a photo being recorded, and a photo never commits without its
//! files.

use sqlx::{PgConnection, PgPool};

/// The advisory lock `scripts/backup.sh` holds (exclusively, for its whole run): no file is
/// removed while it is held, so every file the backup's database dump references is still
/// there when the uploads are copied. Removals skip and leave the file to a later sweep.
const BACKUP_LOCK: i64 = 7_412_063_004;

use super::storage::MediaStore;
use crate::db::{DbError, During};

/// Takes the shared lock on each of `names` until the transaction ends.
pub async fn lock_shared(connection: &mut PgConnection, names: &[String]) -> Result<(), DbError> {
    let mut names = names.to_vec();
    // One order for every locker: two uploads sharing files cannot deadlock.
    names.sort();
    sqlx::query!(
        r#"
        select true as "locked!"
        from unnest($1::text[]) as name, pg_advisory_xact_lock_shared(hashtextextended(name, 0))
        "#,
        &names
    )
    .fetch_all(connection)
    .await
    .during("lock files being recorded")?;
    Ok(())
}

/// Deletes those of `names` that no photo references. Failures are logged: the sweep will
/// find what is left.
pub async fn remove_unreferenced(pool: &PgPool, store: &MediaStore, names: &[String]) {
    for name in names {
        if let Err(error) = remove_if_unreferenced(pool, store, name).await {
            tracing::warn!(%error, file = %name, "cannot remove a file; the sweep will retry");
        }
    }
}

/// Deletes the stored file `name` if no photo references it, under the file's exclusive
/// lock. Returns whether it was deleted.
async fn remove_if_unreferenced(
    pool: &PgPool,
    store: &MediaStore,
    name: &str,
) -> Result<bool, DbError> {
    let mut transaction = pool.begin().await.during("start removing a file")?;
    let no_backup = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock_shared($1) as "free!""#,
        BACKUP_LOCK
    )
    .fetch_one(&mut *transaction)
    .await
    .during("check that no backup is running")?;
    if !no_backup {
        tracing::debug!(file = %name, "a backup is running: the file is left for a later sweep");
        return Ok(false);
    }
    sqlx::query!(
        r#"select true as "locked!" from pg_advisory_xact_lock(hashtextextended($1, 0))"#,
        name
    )
    .fetch_one(&mut *transaction)
    .await
    .during("lock a file to remove")?;
    let referenced = referenced(&mut transaction, &[name.to_owned()]).await?;
    let unreferenced = referenced.is_empty();
    if unreferenced {
        store.remove(name).await;
    }
    transaction
        .commit()
        .await
        .during("release a removed file's lock")?;
    Ok(unreferenced)
}

/// Which of `names` some photo references.
async fn referenced(
    connection: &mut PgConnection,
    names: &[String],
) -> Result<Vec<String>, DbError> {
    sqlx::query_scalar!(
        r#"
        select name as "name!" from unnest($1::text[]) as name
        where exists (
            select 1 from photos
            where original_file = name or preview_file = name or thumbnail_file = name
        )
        "#,
        names
    )
    .fetch_all(connection)
    .await
    .during("check which files photos reference")
}

/// Removes stored files no photo references, and abandoned staging files; returns how many.
pub async fn sweep(pool: &PgPool, store: &MediaStore) -> anyhow::Result<usize> {
    let (stored, staging) = store.sweepable().await?;
    let mut connection = pool.acquire().await.during("start a sweep")?;
    let referenced = referenced(&mut connection, &stored).await?;
    drop(connection);
    let mut removed = 0;
    for name in stored.iter().filter(|name| !referenced.contains(name)) {
        // Checked again under the file's lock: an upload may have claimed it meanwhile.
        if remove_if_unreferenced(pool, store, name).await? {
            removed += 1;
        }
    }
    removed += store.remove_staging(staging).await;
    Ok(removed)
}
