//! Events: every change, written in the same transaction as the change it describes, given
//! its global sequence number by the [`relay`] once it can no longer be preceded, and fanned
//! out to every instance's WebSocket clients by the [`hub`].
//!
//! The ordering guarantee lives in the database (`settle_events`, migration 0010): an event is
//! numbered only once every transaction older than its own has ended, after everything
//! numbered before, so whoever has seen event N has seen every earlier event that will ever
//! exist, and resuming "after N" never skips one that committed late. Writers take no lock
//! and send no `NOTIFY`: they commit as freely as any other transaction.

pub mod hub;
pub mod relay;

use std::time::{Duration, Instant};

use gallery_types::{Event, SequencedEvent};
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, QueryBuilder};

pub use hub::{EventHub, SharedEvent, Subscription};

use crate::db::{DbError, During};

/// The `NOTIFY` channel the relay announces numbered events on (payload: the newest number).
pub const EVENTS_CHANNEL: &str = "gallery_events";

/// Who may see an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// Exactly these users (never empty).
    Users(Vec<i64>),
}

impl Audience {
    pub fn user(user_id: i64) -> Self {
        Audience::Users(vec![user_id])
    }

    fn as_column(&self) -> Option<&[i64]> {
        match self {
            Audience::Everyone => None,
            Audience::Users(users) => Some(users),
        }
    }
}

/// Appends `event` for `audience`; it is numbered and announced soon after the surrounding
/// transaction commits (see the module documentation).
pub async fn publish(
    connection: &mut PgConnection,
    audience: &Audience,
    event: &Event,
) -> Result<(), DbError> {
    append(connection, &[(audience, event, event.parties().as_slice())]).await
}

/// Events a transaction will publish, gathered while it works and published together at its
/// end, in the order they were gathered.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Each with its audience and the users it concerns (see [`Event::parties`]).
    events: Vec<(Audience, Event, Vec<i64>)>,
}

impl Outbox {
    pub fn push(&mut self, audience: Audience, event: Event) {
        let parties = event.parties();
        self.events.push((audience, event, parties));
    }

    /// Like [`Outbox::push`], naming the users the event concerns: an event may leave one of
    /// them unnamed to others, who must still see it once the photo is hidden from them.
    pub fn push_concerning(&mut self, audience: Audience, event: Event, parties: Vec<i64>) {
        self.events.push((audience, event, parties));
    }

    /// Publishes everything gathered, in the order it was gathered.
    pub async fn publish(self, connection: &mut PgConnection) -> Result<(), DbError> {
        let events: Vec<(&Audience, &Event, &[i64])> = self
            .events
            .iter()
            .map(|(audience, event, parties)| (audience, event, parties.as_slice()))
            .collect();
        append(connection, &events).await
    }
}

/// Appends `events` in this order, in one statement however many (a round trip to the
/// database per event was a tenth of a trade's).
async fn append(
    connection: &mut PgConnection,
    events: &[(&Audience, &Event, &[i64])],
) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    // `publish_event` is volatile: PostgreSQL calls it after the sort, row by row, so the
    // entries follow the order given.
    let mut statement = QueryBuilder::<Postgres>::new(
        "select publish_event(kind, audience, payload::json, photo_id, parties) from (",
    );
    statement.push_values(
        events.iter().enumerate(),
        |mut row, (n, (audience, event, parties))| {
            row.push_bind(n as i32)
                .push_bind(event.kind())
                .push_bind(audience.as_column().map(<[i64]>::to_vec))
                .push_bind(serde_json::to_string(event).expect("events always serialize"))
                .push_bind(event.photo_id())
                .push_bind((!parties.is_empty()).then_some(parties.to_vec()));
        },
    );
    statement.push(") as gathered (n, kind, audience, payload, photo_id, parties) order by n");
    statement
        .build()
        .execute(connection)
        .await
        .during("publish events")
        .map(drop)
}

/// Numbers the events that can be numbered now — those no running
/// transaction can precede any more — and announces them; returns the newest number given
/// (None: nothing was ready). The [`relay`] calls it every few milliseconds; a read of the
/// event log calls it first, so that the log includes what committed just before.
pub async fn settle(executor: impl PgExecutor<'_>) -> Result<Option<i64>, DbError> {
    sqlx::query_scalar!("select settle_events()")
        .fetch_one(executor)
        .await
        .during("number settled events")
}

/// Numbers what committed before this call, waiting (at most `patience`) while an older
/// transaction still running holds it back: a read of the event log right after a change
/// includes the change. (Should patience run out, the read shows what is numbered, and the
/// rest follows on the next read.)
pub async fn settle_what_committed(pool: &PgPool, patience: Duration) -> Result<(), DbError> {
    let started = Instant::now();
    let now =
        sqlx::query_scalar!(r#"select pg_snapshot_xmax(pg_current_snapshot())::text as "now!""#)
            .fetch_one(pool)
            .await
            .during("read the current transaction id")?;
    loop {
        settle(pool).await?;
        let waiting = sqlx::query_scalar!(
            r#"
            select exists (
                select 1 from events e
                where e.xid < $1::text::xid8
                  and e.xid >= coalesce(
                      (select horizon from event_batches order by last_seq desc limit 1), '0'
                  )
            ) as "waiting!"
            "#,
            now
        )
        .fetch_one(pool)
        .await
        .during("look for events not numbered yet")?;
        if !waiting || started.elapsed() >= patience {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One stored event, as read back for delivery.
pub struct StoredEvent {
    pub seq: i64,
    pub kind: String,
    pub audience: Option<Vec<i64>>,
    /// The event's JSON, exactly as published.
    pub payload: String,
}

/// Events with `after < seq <= until` that `viewer` may see *now*, oldest first, at most
/// `limit`: their audience admits the viewer, and an event about a photo is left out once the
/// viewer may no longer see that photo, unless they took part in it (`event_visible_to`,
/// migrations 0005 and 0008).
pub async fn visible_between(
    pool: &PgPool,
    viewer: Option<i64>,
    after: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, DbError> {
    sqlx::query_as!(
        StoredEvent,
        r#"
        select seq as "seq!", kind as "kind!", audience, payload::text as "payload!"
        from events_between($1, $2)
        where event_visible_to(audience, kind, photo_id, parties, $3::bigint)
        order by seq
        limit $4
        "#,
        after,
        until,
        viewer,
        limit,
    )
    .fetch_all(pool)
    .await
    .during("read events to replay")
}

/// The newest sequence number (0 before the first event).
pub async fn head(pool: &PgPool) -> Result<i64, DbError> {
    sqlx::query_scalar!(r#"select coalesce(max(last_seq), 0) as "seq!" from event_batches"#)
        .fetch_one(pool)
        .await
        .during("read the newest event's number")
}

/// Where a client that last saw `after` continues from, given the newest event `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Replay what followed `after`.
    From(i64),
    /// Too far behind, or `after` is not a sequence number this database produced: reload
    /// everything and follow from `head`.
    Reload,
}

/// Decides how a client resumes; `window` is how many events are kept for replay.
pub fn resume_point(after: Option<i64>, head: i64, window: i64) -> Resume {
    match after {
        None => Resume::From(head),
        Some(after) if after < 0 || after > head || head - after > window => Resume::Reload,
        Some(after) => Resume::From(after),
    }
}

/// Deletes events well out of the replay window: it keeps twice the window, so that a resume
/// judged against a watermark that trails the newest event, or a replay that takes a while
/// as new events arrive, never reaches for an event already deleted.
pub async fn delete_old(pool: &PgPool, window: i64) -> Result<u64, DbError> {
    Ok(sqlx::query!(
        r#"
        with old as (
            delete from event_batches
            where last_seq <= (select max(last_seq) from event_batches) - 2 * $1::bigint
            returning entries
        )
        delete from events where entry in (select unnest(entries) from old)
        "#,
        window
    )
    .execute(pool)
    .await
    .during("delete old events")?
    .rows_affected())
}

/// A stored event as the API returns it (`GET /api/events`); `None` for a kind this build does
/// not know (written by a newer instance during a rolling upgrade).
pub fn decode(stored: &StoredEvent) -> Option<SequencedEvent> {
    match serde_json::from_str::<Event>(&stored.payload) {
        Ok(event) => Some(SequencedEvent {
            seq: stored.seq,
            event,
        }),
        Err(error) => {
            tracing::warn!(seq = stored.seq, %error, "cannot read a stored event; skipping it");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_within_the_window_replays_from_the_last_seen_event() {
        assert_eq!(resume_point(Some(90), 100, 50), Resume::From(90));
        assert_eq!(resume_point(Some(50), 100, 50), Resume::From(50));
        assert_eq!(resume_point(Some(100), 100, 50), Resume::From(100));
    }

    #[test]
    fn a_fresh_client_starts_at_the_head() {
        assert_eq!(resume_point(None, 100, 50), Resume::From(100));
    }

    #[test]
    fn too_far_behind_or_unknown_positions_reload() {
        assert_eq!(resume_point(Some(49), 100, 50), Resume::Reload);
        assert_eq!(resume_point(Some(101), 100, 50), Resume::Reload);
        assert_eq!(resume_point(Some(-1), 100, 50), Resume::Reload);
    }
}
