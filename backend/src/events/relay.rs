//! The relay: gives appended events their place in the stream ([`super::settle`]) a few
//! milliseconds after they commit, which wakes every instance's hub with one `NOTIFY` per
//! batch rather than one per commit.
//!
//! Every instance runs [`run`], and one at a time relays: whichever holds the database's relay
//! lock (a session advisory lock on a connection of its own). Should that instance stop or
//! lose its connection, the lock goes with it and another instance takes over within
//! [`TAKE_OVER_EVERY`].

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection, PgPool};

use crate::db::{DbError, During};

/// The advisory lock key of the relay (advisory locks are per database).
const RELAY_LOCK: i64 = 7_412_063_002;

/// How long the relay waits before looking again while events keep coming (one was numbered
/// within [`BUSY_FOR`]): the most an event then waits for its number once its transaction and
/// every older one have ended.
const POLL_BUSY: Duration = Duration::from_millis(2);

/// The same when nothing has come for a while: a quiet database is asked less often.
const POLL_QUIET: Duration = Duration::from_millis(10);

/// How long after the last numbered event the relay keeps polling at [`POLL_BUSY`].
const BUSY_FOR: Duration = Duration::from_secs(1);

/// How often an instance that does not relay checks whether the relay is gone.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(1);

/// Relays whenever this instance holds the relay lock, until the pool closes.
pub async fn run(pool: PgPool) {
    loop {
        if pool.is_closed() {
            return;
        }
        match relay_while_leading(&pool).await {
            Ok(()) => {}
            Err(error) => tracing::warn!(%error, "the event relay stopped; trying again"),
        }
        tokio::time::sleep(TAKE_OVER_EVERY).await;
    }
}

/// Takes the relay lock if it is free and relays for as long as the connection lives; returns
/// at once if another instance relays.
async fn relay_while_leading(pool: &PgPool) -> Result<(), DbError> {
    let mut connection = PgConnection::connect_with(&pool.connect_options())
        .await
        .during("open the event relay's connection")?;
    let leading = sqlx::query_scalar!(
        r#"select pg_try_advisory_lock($1) as "leading!""#,
        RELAY_LOCK
    )
    .fetch_one(&mut connection)
    .await
    .during("take the event relay lock")?;
    if !leading {
        return Ok(());
    }
    tracing::info!("relaying events");
    let mut last_numbered = Instant::now();
    loop {
        // Even right after a batch the relay pauses: under load, each batch then gathers the
        // commits of a few milliseconds (and costs one NOTIFY) instead of one commit each.
        if super::settle(&mut connection).await?.is_some() {
            last_numbered = Instant::now();
        }
        let quiet = last_numbered.elapsed() > BUSY_FOR;
        tokio::time::sleep(if quiet { POLL_QUIET } else { POLL_BUSY }).await;
    }
}
