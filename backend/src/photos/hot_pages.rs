//! The feed pages people ask for most, kept in memory as the bytes of their answers.
//!
//! A page is stored with the event sequence number it reflects (the hub's watermark, read
//! before the database was), and served only while that is still the watermark: the first
//! event this instance hands to its sockets after it makes every stored page old, so a page
//! from memory is never older than an event its sockets have seen. A write through this
//! instance makes them old at once (its event takes a few milliseconds to come back, and
//! whoever wrote expects to read it): [`retire_on_writes`]. Names and handles change without an
//! event; for them a page is at most [`MAX_AGE`] old.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use poem::{Endpoint, IntoResponse, Request, Response, http::Method};

use super::read::FeedFilter;

/// How long a page may be served from memory even while no event comes.
const MAX_AGE: Duration = Duration::from_secs(1);

/// Which page: everything a request says that changes the answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub viewer: Option<i64>,
    pub popular: bool,
    pub filter: FeedFilter,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// What a page read now reflects: the newest event, and the writes through this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub seq: i64,
    writes: u64,
}

/// A page's answer and what it reflects.
#[derive(Debug, Clone)]
pub struct HotPage {
    pub json: Bytes,
    pub freshness: Freshness,
}

/// At most `capacity` pages, all of them equally fresh.
#[derive(Debug)]
pub struct HotPages {
    capacity: usize,
    /// Successful writes through this instance so far.
    writes: AtomicU64,
    pages: RwLock<Pages>,
}

#[derive(Debug, Default)]
struct Pages {
    freshness: Option<Freshness>,
    answers: HashMap<PageKey, (Bytes, Instant)>,
}

impl HotPages {
    /// Keeps up to `capacity` pages (0: none; every read goes to the database).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            writes: AtomicU64::new(0),
            pages: RwLock::default(),
        }
    }

    /// What a read starting now reflects, given `watermark`, the newest event this instance
    /// has handed to its sockets. Take it before reading the database.
    pub fn freshness(&self, watermark: i64) -> Freshness {
        Freshness {
            seq: watermark,
            writes: self.writes.load(Ordering::Acquire),
        }
    }

    /// Every stored page is old: a write went through this instance.
    pub fn retire_all(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }

    /// The page for `key`, if it is stored and as fresh as a read starting now (`now`).
    pub fn get(&self, key: &PageKey, now: Freshness) -> Option<HotPage> {
        let pages = self
            .pages
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pages.freshness != Some(now) {
            return None;
        }
        let (json, stored) = pages.answers.get(key)?;
        (stored.elapsed() < MAX_AGE).then(|| HotPage {
            json: json.clone(),
            freshness: now,
        })
    }

    /// Stores `page`, read from the database after [`HotPages::freshness`] gave
    /// `page.freshness`. A page older than those stored is dropped; a newer one replaces
    /// them all.
    pub fn put(&self, key: PageKey, page: &HotPage) {
        if self.capacity == 0 {
            return;
        }
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pages.freshness.is_some_and(|stored| {
            page.freshness.seq < stored.seq || page.freshness.writes < stored.writes
        }) {
            return;
        }
        if pages.freshness != Some(page.freshness) {
            pages.answers.clear();
            pages.freshness = Some(page.freshness);
        }
        if pages.answers.len() >= self.capacity && !pages.answers.contains_key(&key) {
            // Full: one page makes room (whichever the map yields first; all are equally
            // fresh).
            if let Some(evicted) = pages.answers.keys().next().cloned() {
                pages.answers.remove(&evicted);
            }
        }
        pages
            .answers
            .insert(key, (page.json.clone(), Instant::now()));
    }
}

/// Writes that cannot change what a feed page shows: signing in and out, sessions, passwords,
/// socket tickets (`/api` paths starting so). Every other write may.
const WRITES_THAT_KEEP_PAGES: [&str; 4] = ["/auth/", "/ws/ticket", "/me/sessions", "/me/password"];

/// Middleware for the `/api` routes: every successful write that may change a feed page
/// retires the stored pages. (A sign-in storm thus never sends the feed to the database.)
pub async fn retire_on_writes<E: Endpoint>(
    next: Arc<E>,
    request: Request,
    pages: &HotPages,
) -> poem::Result<Response> {
    let path = request.original_uri().path();
    let path = path.strip_prefix("/api").unwrap_or(path);
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) && !WRITES_THAT_KEEP_PAGES
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    if writes && response.status().is_success() {
        pages.retire_all();
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(viewer: Option<i64>) -> PageKey {
        PageKey {
            viewer,
            popular: false,
            filter: FeedFilter::default(),
            limit: Some(50),
            cursor: None,
        }
    }

    fn page(pages: &HotPages, seq: i64, json: &'static str) -> HotPage {
        HotPage {
            json: Bytes::from_static(json.as_bytes()),
            freshness: pages.freshness(seq),
        }
    }

    #[test]
    fn a_page_is_served_only_while_it_reflects_the_newest_event() {
        let pages = HotPages::new(8);
        pages.put(key(None), &page(&pages, 7, "a"));
        let served = pages.get(&key(None), pages.freshness(7)).unwrap();
        assert_eq!((served.json.as_ref(), served.freshness.seq), (&b"a"[..], 7));
        assert!(
            pages.get(&key(None), pages.freshness(8)).is_none(),
            "an event came: the page is old"
        );
        assert!(
            pages.get(&key(Some(1)), pages.freshness(7)).is_none(),
            "another viewer's page"
        );
    }

    #[test]
    fn a_write_through_this_instance_retires_every_page_at_once() {
        let pages = HotPages::new(8);
        let before = page(&pages, 7, "a");
        pages.put(key(None), &before);
        pages.retire_all();
        assert!(pages.get(&key(None), pages.freshness(7)).is_none());
        // A read that began before the write cannot store its page any more.
        pages.put(key(None), &page(&pages, 7, "b"));
        pages.put(key(Some(1)), &before);
        assert!(pages.get(&key(Some(1)), pages.freshness(7)).is_none());
        assert_eq!(pages.get(&key(None), pages.freshness(7)).unwrap().json, "b");
    }

    #[test]
    fn older_pages_are_dropped_and_newer_ones_replace_all() {
        let pages = HotPages::new(8);
        pages.put(key(None), &page(&pages, 7, "a"));
        pages.put(key(Some(1)), &page(&pages, 6, "late"));
        assert!(pages.get(&key(Some(1)), pages.freshness(6)).is_none());
        assert!(pages.get(&key(Some(1)), pages.freshness(7)).is_none());
        pages.put(key(Some(1)), &page(&pages, 8, "b"));
        assert!(
            pages.get(&key(None), pages.freshness(8)).is_none(),
            "the page of event 7 is gone"
        );
        assert_eq!(
            pages.get(&key(Some(1)), pages.freshness(8)).unwrap().json,
            "b"
        );
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_nothing_at_zero() {
        let pages = HotPages::new(2);
        for viewer in 1..=5 {
            pages.put(key(Some(viewer)), &page(&pages, 1, "x"));
        }
        let kept = (1..=5)
            .filter(|viewer| pages.get(&key(Some(*viewer)), pages.freshness(1)).is_some())
            .count();
        assert_eq!(kept, 2);
        assert!(
            pages.get(&key(Some(5)), pages.freshness(1)).is_some(),
            "the newest is kept"
        );

        let none = HotPages::new(0);
        none.put(key(None), &page(&none, 1, "x"));
        assert!(none.get(&key(None), none.freshness(1)).is_none());
    }
}
