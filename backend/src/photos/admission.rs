//! What an upload must get before its bytes are read: a slot (each user has at most a
//! configured number of uploads under way, so one account cannot hold every decoder or fill
//! the staging directory) and room in the user's storage quota.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use gallery_types::ErrorCode;
use sqlx::PgPool;

use crate::{
    db::{DbError, During},
    error::ApiError,
};

/// Uploads under way, by user.
#[derive(Debug)]
pub struct UploadSlots {
    per_user: usize,
    taken: Arc<Mutex<HashMap<i64, usize>>>,
}

/// One upload's slot; given back when dropped (the upload ended, however it ended).
#[derive(Debug)]
pub struct UploadSlot {
    user_id: i64,
    taken: Arc<Mutex<HashMap<i64, usize>>>,
}

impl UploadSlots {
    pub fn new(per_user: usize) -> Self {
        Self {
            per_user: per_user.max(1),
            taken: Arc::default(),
        }
    }

    /// A slot for one more upload of `user_id`, if they have fewer than allowed under way.
    pub fn take(&self, user_id: i64) -> Result<UploadSlot, ApiError> {
        let mut taken = self.taken.lock().expect("the slot table is never poisoned");
        let count = taken.entry(user_id).or_default();
        if *count >= self.per_user {
            return Err(ApiError::rate_limited(
                format!(
                    "{} of your uploads are already under way; send this one when one is done",
                    self.per_user
                ),
                1,
            ));
        }
        *count += 1;
        Ok(UploadSlot {
            user_id,
            taken: self.taken.clone(),
        })
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut taken = self.taken.lock().expect("the slot table is never poisoned");
        if let Some(count) = taken.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                taken.remove(&self.user_id);
            }
        }
    }
}

/// Bytes of `user_id`'s uploads in the gallery (the photos they created that are not
/// deleted): what their storage quota counts.
pub async fn stored_bytes(pool: &PgPool, user_id: i64) -> Result<i64, DbError> {
    sqlx::query_scalar!(
        r#"
        select coalesce(sum(byte_size), 0)::bigint as "bytes!" from photos
        where creator_id = $1 and deleted_at is null
        "#,
        user_id
    )
    .fetch_one(pool)
    .await
    .during("sum a user's stored bytes")
}

/// Refuses an upload of `incoming` more bytes by a user who stores `stored` of `quota`.
pub fn check_quota(stored: i64, incoming: u64, quota: u64) -> Result<(), ApiError> {
    let stored = u64::try_from(stored).unwrap_or(0);
    if stored.saturating_add(incoming) > quota {
        return Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "your photos take {} MiB of your {} MiB: delete some to upload more",
                stored / (1024 * 1024),
                quota / (1024 * 1024)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_user_and_come_back() {
        let slots = UploadSlots::new(2);
        let first = slots.take(1).unwrap();
        let _second = slots.take(1).unwrap();
        assert_eq!(slots.take(1).unwrap_err().code(), ErrorCode::RateLimited);
        let _other_user = slots.take(2).unwrap();
        drop(first);
        assert!(slots.take(1).is_ok());
    }

    #[test]
    fn the_quota_counts_what_is_stored_and_what_comes() {
        assert!(check_quota(900, 100, 1000).is_ok());
        assert_eq!(
            check_quota(900, 101, 1000).unwrap_err().code(),
            ErrorCode::QuotaExceeded
        );
        assert!(check_quota(1000, 0, 1000).is_ok());
    }
}
