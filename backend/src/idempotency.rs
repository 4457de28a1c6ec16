//! `Idempotency-Key`: a client unsure whether a request went through (a timeout, a dropped
//! connection) sends it again with the same key and gets the first answer instead of a
//! second effect.
//!
//! The first request with a key claims it (one row per user and key), runs, and stores its
//! answer; a repeat of the same request replays that answer; the same key on another request
//! is refused (422 `idempotency_key_reused`), and a repeat while the first still runs is
//! told so (409 `idempotency_key_in_use`). A failure of the server's own (5xx) or a refused
//! rate limit stores nothing, so the request may be sent again. Keys are kept 24 hours.

use std::future::Future;

use gallery_types::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{
    db::{DbError, During},
    error::ApiError,
};

/// How long a key is remembered.
pub const KEPT_HOURS: i32 = 24;

/// A first request that has not answered within this long is taken to have died with its
/// server: the key goes to the next request that brings it.
const ABANDONED_AFTER_SECONDS: i32 = 300;

/// The OpenAPI description of the header, for the operations that take it.
pub const HEADER_DESCRIPTION: &str = "Makes retrying safe: a repeat of this request with the same key (kept 24 h) gets the first answer, with no second effect.";

/// What a request is, for telling a repeat from another request under the same key: the
/// operation, its target (path parameters) and its body.
pub fn fingerprint(operation: &str, target: &str, body: &impl Serialize) -> Vec<u8> {
    let body = serde_json::to_vec(body).expect("request bodies serialize");
    let mut hasher = Sha256::new();
    for part in [operation.as_bytes(), target.as_bytes(), &body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

/// A stored answer.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stored<T> {
    Ok(T),
    Error(ErrorBody),
}

/// Runs `work` once for `user_id`'s `key` (every time without a key), answering repeats
/// with the first answer.
pub async fn once<T, F, Fut>(
    pool: &PgPool,
    user_id: i64,
    key: Option<&str>,
    fingerprint: Vec<u8>,
    work: F,
) -> Result<T, ApiError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let Some(key) = key else {
        return work().await;
    };
    if let Some(earlier) = claim(pool, user_id, key, &fingerprint).await? {
        return earlier;
    }
    let outcome = work().await;
    let stored = match &outcome {
        Ok(value) => Some(Stored::Ok(value)),
        Err(error) if error.status().is_server_error() || error.retry_after.is_some() => None,
        Err(error) => Some(Stored::Error(error.body.clone())),
    };
    match stored {
        Some(stored) => {
            let response = serde_json::to_value(&stored).expect("answers serialize");
            sqlx::query!(
                "update idempotency_keys set response = $3 where user_id = $1 and key = $2",
                user_id,
                key,
                response
            )
            .execute(pool)
            .await
            .during("store an idempotent answer")?;
        }
        None => {
            sqlx::query!(
                "delete from idempotency_keys where user_id = $1 and key = $2",
                user_id,
                key
            )
            .execute(pool)
            .await
            .during("release an idempotency key")?;
        }
    }
    outcome
}

/// Claims the key for this request (`None`: go ahead), or answers as the key's first
/// request did.
async fn claim<T: DeserializeOwned>(
    pool: &PgPool,
    user_id: i64,
    key: &str,
    fingerprint: &[u8],
) -> Result<Option<Result<T, ApiError>>, DbError> {
    // Forgotten keys make room; a first request that died leaves its key to a repeat.
    let claimed = sqlx::query_scalar!(
        r#"
        insert into idempotency_keys (user_id, key, fingerprint) values ($1, $2, $3)
        on conflict (user_id, key) do update set fingerprint = $3, response = null, created_at = now()
        where idempotency_keys.created_at < now() - make_interval(hours => $4)
           or (idempotency_keys.response is null
               and idempotency_keys.fingerprint = $3
               and idempotency_keys.created_at < now() - make_interval(secs => $5))
        returning true as "claimed!"
        "#,
        user_id,
        key,
        fingerprint,
        KEPT_HOURS,
        f64::from(ABANDONED_AFTER_SECONDS),
    )
    .fetch_optional(pool)
    .await
    .during("claim an idempotency key")?;
    if claimed.is_some() {
        return Ok(None);
    }
    let earlier = sqlx::query!(
        "select fingerprint, response from idempotency_keys where user_id = $1 and key = $2",
        user_id,
        key
    )
    .fetch_optional(pool)
    .await
    .during("read an idempotency key")?;
    let Some(earlier) = earlier else {
        // Released by a failed first request between the two statements: like a key in use,
        // the client may simply try again.
        return Ok(Some(Err(in_use())));
    };
    if earlier.fingerprint != fingerprint {
        return Ok(Some(Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request; use a new key",
        ))));
    }
    let Some(response) = earlier.response else {
        return Ok(Some(Err(in_use())));
    };
    let answer = match serde_json::from_value::<Stored<T>>(response) {
        Ok(Stored::Ok(value)) => Ok(value),
        Ok(Stored::Error(body)) => Err(ApiError::new(body.code, body.message)),
        Err(error) => {
            tracing::error!(%error, "cannot read a stored idempotent answer");
            Err(ApiError::internal())
        }
    };
    Ok(Some(answer))
}

fn in_use() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyInUse,
        "a request with this Idempotency-Key is still being processed; try again shortly",
    )
}

/// Forgets keys older than [`KEPT_HOURS`].
pub async fn delete_old(pool: &PgPool) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        "delete from idempotency_keys where created_at < now() - make_interval(hours => $1)",
        KEPT_HOURS
    )
    .execute(pool)
    .await
    .during("delete old idempotency keys")?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_operations_targets_and_bodies_apart() {
        let gift = fingerprint("gift", "", &serde_json::json!({ "object_id": 1 }));
        assert_eq!(
            gift,
            fingerprint("gift", "", &serde_json::json!({ "object_id": 1 }))
        );
        assert_ne!(
            gift,
            fingerprint("gift", "", &serde_json::json!({ "object_id": 2 }))
        );
        assert_ne!(
            gift,
            fingerprint("accept", "", &serde_json::json!({ "object_id": 1 }))
        );
        // The parts are length-prefixed: moving a byte from one to the next is a new request.
        assert_ne!(fingerprint("ab", "c", &1), fingerprint("a", "bc", &1));
    }
}
