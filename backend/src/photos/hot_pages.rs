//! The feed pages people ask for most, kept in memory as the bytes of their answers.
//!
//! A page is stored with the event sequence number it reflects (the hub's watermark, read
//! before the database was), and served only while that is still the watermark: the first
//! event this instance hands to its sockets after it makes every stored page old, so a page
//! from memory is never older than an event its sockets have seen. Names and handles change
//! without an event; for them a page is at most [`MAX_AGE`] old.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use bytes::Bytes;

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

/// A page's answer and the event it reflects.
#[derive(Debug, Clone)]
pub struct HotPage {
    pub json: Bytes,
    pub seq: i64,
}

/// At most `capacity` pages, all of them reflecting the same event.
#[derive(Debug)]
pub struct HotPages {
    capacity: usize,
    pages: RwLock<Pages>,
}

#[derive(Debug, Default)]
struct Pages {
    seq: i64,
    answers: HashMap<PageKey, (Bytes, Instant)>,
}

impl HotPages {
    /// Keeps up to `capacity` pages (0: none; every read goes to the database).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            pages: RwLock::default(),
        }
    }

    /// The page for `key`, if it is stored and still reflects `head`, the newest event this
    /// instance has handed to its sockets.
    pub fn get(&self, key: &PageKey, head: i64) -> Option<HotPage> {
        let pages = self
            .pages
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pages.seq != head {
            return None;
        }
        let (json, stored) = pages.answers.get(key)?;
        (stored.elapsed() < MAX_AGE).then(|| HotPage {
            json: json.clone(),
            seq: pages.seq,
        })
    }

    /// Stores `page`, read from the database after the watermark was `page.seq`. A page older
    /// than those stored is dropped; a newer one replaces them all.
    pub fn put(&self, key: PageKey, page: &HotPage) {
        if self.capacity == 0 {
            return;
        }
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if page.seq < pages.seq {
            return;
        }
        if page.seq > pages.seq {
            pages.answers.clear();
            pages.seq = page.seq;
        }
        if pages.answers.len() >= self.capacity && !pages.answers.contains_key(&key) {
            // Full: one page makes room (whichever the map yields first; all are equally old
            // in events).
            if let Some(evicted) = pages.answers.keys().next().cloned() {
                pages.answers.remove(&evicted);
            }
        }
        pages
            .answers
            .insert(key, (page.json.clone(), Instant::now()));
    }
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

    fn page(seq: i64, json: &'static str) -> HotPage {
        HotPage {
            json: Bytes::from_static(json.as_bytes()),
            seq,
        }
    }

    #[test]
    fn a_page_is_served_only_while_it_reflects_the_newest_event() {
        let pages = HotPages::new(8);
        pages.put(key(None), &page(7, "a"));
        assert_eq!(pages.get(&key(None), 7).unwrap().json, "a");
        assert_eq!(pages.get(&key(None), 7).unwrap().seq, 7);
        assert!(
            pages.get(&key(None), 8).is_none(),
            "an event came: the page is old"
        );
        assert!(
            pages.get(&key(Some(1)), 7).is_none(),
            "another viewer's page"
        );
    }

    #[test]
    fn older_pages_are_dropped_and_newer_ones_replace_all() {
        let pages = HotPages::new(8);
        pages.put(key(None), &page(7, "a"));
        pages.put(key(Some(1)), &page(6, "late"));
        assert!(pages.get(&key(Some(1)), 6).is_none());
        assert!(pages.get(&key(Some(1)), 7).is_none());
        pages.put(key(Some(1)), &page(8, "b"));
        assert!(
            pages.get(&key(None), 8).is_none(),
            "the page of event 7 is gone"
        );
        assert_eq!(pages.get(&key(Some(1)), 8).unwrap().json, "b");
    }

    #[test]
    fn it_holds_at_most_its_capacity_and_nothing_at_zero() {
        let pages = HotPages::new(2);
        for viewer in 1..=5 {
            pages.put(key(Some(viewer)), &page(1, "x"));
        }
        let kept = (1..=5)
            .filter(|viewer| pages.get(&key(Some(*viewer)), 1).is_some())
            .count();
        assert_eq!(kept, 2);
        assert!(pages.get(&key(Some(5)), 1).is_some(), "the newest is kept");

        let none = HotPages::new(0);
        none.put(key(None), &page(1, "x"));
        assert!(none.get(&key(None), 1).is_none());
    }
}
