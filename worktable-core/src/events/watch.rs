//! Which changes a subscription receives: a filter on the rows, applied at
//! the source, and the capacity of the subscriber's queue.
//!
//! Depends on: `events::event`, `index` (the `Index` trait of
//! [`Watch::index`]), `page` (row images), `row`.

use std::fmt;
use std::ops::{Bound, RangeBounds};

use super::event::{ChangeEvent, ChangeKind};
use crate::index::Index;
use crate::row::Row;

/// Events a subscriber may have waiting before it lags, unless its
/// [`Watch::capacity`] says otherwise: 65,536.
///
/// A burst of at most this many changes between two reads of a
/// subscriber never makes it lag, however slowly it reads: the queue holds
/// them all. (A reader draining concurrently does not change that bound —
/// a writer can commit faster than a reader takes events out — so size the
/// capacity for the largest burst, not for the reader's speed: a
/// `update_all_by` of 10,000 rows is a burst of 10,000 events.)
///
/// What it costs: the queue grows only as events wait in it, and gives its
/// memory back once drained, so a subscriber that keeps up holds a few
/// slots. One that falls behind holds up to `capacity` events: about
/// 100–140 bytes each for the event, its slot and their allocations, plus
/// the row images it alone keeps alive (an insert's new row, an update's
/// old and new). A full default queue of inserts held 8.5 MiB for rows of
/// 32 archived bytes and 23 MiB for rows of 232 bytes (resident memory,
/// measured by the ignored test
/// `change_events::queue_capacity::resident_memory_of_a_full_queue` in
/// `tests/`); the 4,096 events this default replaced held a sixteenth of
/// that, and lagged a reader under bursts larger than that. Lower the
/// capacity for many subscribers or large rows; raise it for larger
/// bursts.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Which rows a subscription watches.
type RowFilter<R> =
    Box<dyn Fn(&<R as Row>::Pk, &<R as rkyv::Archive>::Archived) -> bool + Send + Sync>;

/// What a subscription receives: which rows, and how many events it may
/// have waiting before it lags ([`capacity`](Self::capacity), by default
/// [`DEFAULT_CAPACITY`]). See [`WorkTable::subscribe_to`](crate::WorkTable::subscribe_to).
///
/// A filtered subscription sees an update that moves a row into the watched
/// rows as an insert, and one that moves it out as a delete
/// ([`ChangeEvent::moved`] tells).
pub struct Watch<R: Row> {
    rows: Option<RowFilter<R>>,
    /// At most this many events wait in the subscriber's queue (then one
    /// `Lagged` counts the ones dropped).
    pub(super) capacity: usize,
}

impl<R: Row> fmt::Debug for Watch<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("filtered", &self.rows.is_some())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<R: Row> Watch<R> {
    /// Every row.
    pub fn all() -> Self {
        Self {
            rows: None,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// The row with primary key `pk`.
    pub fn key(pk: R::Pk) -> Self {
        Self::rows(move |row_pk, _| *row_pk == pk)
    }

    /// The rows whose primary key is in `range`.
    pub fn range(range: impl RangeBounds<R::Pk>) -> Self {
        let bounds: (Bound<R::Pk>, Bound<R::Pk>) =
            (range.start_bound().cloned(), range.end_bound().cloned());
        Self::rows(move |row_pk, _| bounds.contains(row_pk))
    }

    /// The rows whose key in `index` is `key` (e.g. `account == 7`; for an
    /// `#[index(each)]` index, the rows whose field holds the element `key`).
    pub fn index<I: Index<R>>(index: I, key: I::Key) -> Self {
        let _ = index;
        Self::rows(move |_, row| I::archived_has(row, &key))
    }

    fn rows(keep: impl Fn(&R::Pk, &R::Archived) -> bool + Send + Sync + 'static) -> Self {
        Self {
            rows: Some(Box::new(keep)),
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// At most `capacity` events (at least 1) wait for the subscriber; more
    /// are dropped and reported as [`Lagged`](super::Lagged). The default
    /// is [`DEFAULT_CAPACITY`] (65,536), which says how to choose: a burst
    /// of at most `capacity` changes between two reads never lags.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_core::Watch;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Reading {
    ///     #[pk]
    ///     id: u64,
    ///     value: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let readings = WorkTable::<Reading>::new();
    ///     // Loads of up to 1,000,000 rows arrive in one burst.
    ///     let mut feed = readings.subscribe_to(Watch::all().capacity(1_000_000));
    ///     readings.insert(Reading { id: 1, value: 7 }).await?;
    ///     assert_eq!(feed.try_next().unwrap().unwrap().seq(), 1);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How this watch sees `event`, if it sees it at all.
    pub(super) fn view(&self, event: &ChangeEvent<R>) -> Option<ChangeEvent<R>> {
        let Some(keep) = &self.rows else {
            return Some(event.clone());
        };
        let (before, after) = event.images();
        let watched = |image: Option<&crate::page::RowImage<R>>| {
            image.is_some_and(|image| keep(event.pk(), image.archived()))
        };
        let kind = match (watched(before), watched(after)) {
            (true, true) => ChangeKind::Update,
            (false, true) => ChangeKind::Insert,
            (true, false) => ChangeKind::Delete,
            (false, false) => return None,
        };
        Some(event.seen_as(kind))
    }
}
