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

/// Events a subscriber may have waiting before it lags.
pub const DEFAULT_CAPACITY: usize = 4096;

/// Which rows a subscription watches.
type RowFilter<R> =
    Box<dyn Fn(&<R as Row>::Pk, &<R as rkyv::Archive>::Archived) -> bool + Send + Sync>;

/// What a subscription receives: which rows, and how many events it may
/// have waiting before it lags. See [`WorkTable::subscribe_to`](crate::WorkTable::subscribe_to).
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

    /// The rows whose key in `index` is `key` (e.g. `account == 7`).
    pub fn index<I: Index<R>>(index: I, key: I::Key) -> Self {
        let _ = index;
        Self::rows(move |_, row| I::key_of_archived(row) == key)
    }

    fn rows(keep: impl Fn(&R::Pk, &R::Archived) -> bool + Send + Sync + 'static) -> Self {
        Self {
            rows: Some(Box::new(keep)),
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// At most `capacity` events (at least 1) wait for the subscriber; more
    /// are dropped and reported as [`Lagged`](super::Lagged).
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
