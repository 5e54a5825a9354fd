//! The versions a table's changes replaced while read points were
//! registered: what a snapshot reads instead of a row's current version
//! when the row changed after the snapshot's commit point.
//!
//! # Protocol
//!
//! While at least one read point is registered with the commit order, every
//! commit takes the commit lock (a read point sets the order's listening
//! flag) and, under it, *before* the change becomes visible, records the
//! change's event here: its commit number and the row as it was before
//! (`None` for an insert). A row's records are kept in commit order.
//!
//! A reader at read point `R` reads a row's current version, then the first
//! record of that row numbered above `R`: if there is one, its "before" is
//! the row at `R` (the change that replaced it came after `R`); if there is
//! none, the current version read first is the row at `R`. That is sound
//! because a change records before it changes the row: a reader that saw a
//! change's new version then finds its record (the record happened before
//! the new version was published, which happened before the reader read
//! it), and a change with no record yet has not replaced the version read.
//! Every change numbered above `R` is recorded: the read point was
//! registered under the commit lock after every lock-free commit in flight
//! had finished (see `events::order`), so each later change took the lock
//! and saw it.
//!
//! Records numbered at or below the oldest registered read point are seen by
//! nobody: the commit order prunes them when a read point is released.
//!
//! `newest` lets a reader skip the lock when nothing changed after its read
//! point: it is stored (release) before the change is published, so a
//! reader that saw the new version loads it at least as large.
//!
//! Depends on: `events::event`, `events::order` (the [`Prune`] trait),
//! `hash`, `row`.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use super::event::ChangeEvent;
use super::order::Prune;
use crate::hash::HashState;
use crate::row::Row;

/// Records an emptied history keeps room for, instead of freeing it.
const RECORDS_KEPT_ROOM: usize = 256;

/// The changes of one table kept for registered read points.
pub(crate) struct History<R: Row> {
    /// Number of the newest change recorded (0: none), so that a reader at
    /// or above it skips the lock.
    newest: AtomicU64,
    kept: RwLock<Kept<R>>,
}

/// The recorded changes, by row and in commit order.
struct Kept<R: Row> {
    /// The number of each row's newest record.
    by_pk: HashMap<R::Pk, u64, HashState>,
    /// Every record, oldest first, each with the number of the record of
    /// the same row before it (0: none kept): a row's records form a chain
    /// from its newest back, found in `order` by binary search.
    order: VecDeque<Record<R>>,
    /// Bytes of the "before" images held.
    bytes: usize,
}

/// One recorded change, and the number of the previous record of its row.
struct Record<R: Row> {
    event: ChangeEvent<R>,
    previous: u64,
}

impl<R: Row> Kept<R> {
    /// Where the first record numbered above `at` is in `order`.
    fn first_above(&self, at: u64) -> usize {
        self.order
            .partition_point(|record| record.event.seq() <= at)
    }

    /// The record numbered `seq`.
    fn numbered(&self, seq: u64) -> &Record<R> {
        &self.order[self.first_above(seq - 1)]
    }
}

/// Versions and bytes a history holds, for `stats()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) versions: usize,
    pub(crate) bytes: usize,
}

impl<R: Row> Default for History<R> {
    fn default() -> Self {
        Self {
            newest: AtomicU64::new(0),
            kept: RwLock::new(Kept {
                by_pk: HashMap::default(),
                order: VecDeque::new(),
                bytes: 0,
            }),
        }
    }
}

fn image_bytes<R: Row>(event: &ChangeEvent<R>) -> usize {
    event.images().0.map_or(0, |image| image.bytes().len())
}

impl<R: Row> History<R> {
    /// Records `event` (numbered above every record so far); called under
    /// the commit lock, before the change is made visible.
    pub(crate) fn record(&self, event: &ChangeEvent<R>) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        kept.bytes += image_bytes(event);
        let previous = kept
            .by_pk
            .insert(event.pk().clone(), event.seq())
            .unwrap_or(0);
        kept.order.push_back(Record {
            event: event.clone(),
            previous,
        });
        self.newest.store(event.seq(), Ordering::Release);
    }

    /// Whether a change numbered above `at` may be recorded: `false` means
    /// every row's current version is its version at `at`.
    #[inline]
    pub(crate) fn changed_after(&self, at: u64) -> bool {
        self.newest.load(Ordering::Acquire) > at
    }

    /// The first recorded change of row `pk` numbered above `at`: its
    /// "before" image is the row at `at`. `None`: the row has not changed
    /// since `at` (as far as a version read before this call goes).
    pub(crate) fn first_after<Q>(&self, pk: &Q, at: u64) -> Option<ChangeEvent<R>>
    where
        R::Pk: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let mut seq = *kept.by_pk.get(pk)?;
        if seq <= at {
            return None;
        }
        // Back along the row's chain to its first record above `at`.
        loop {
            let record = kept.numbered(seq);
            if record.previous <= at || record.previous < kept.order.front()?.event.seq() {
                return Some(record.event.clone());
            }
            seq = record.previous;
        }
    }

    /// For every row changed after `at`, its first change numbered above
    /// `at` (whose "before" is the row at `at`), in commit order.
    pub(crate) fn changes_after(&self, at: u64) -> Vec<ChangeEvent<R>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let from = kept.first_above(at);
        kept.order
            .range(from..)
            .filter(|record| {
                record.previous <= at || record.previous < kept.order[from].event.seq()
            })
            .map(|record| record.event.clone())
            .collect()
    }

    /// Whether `f` holds for a change numbered above `at` (every one is
    /// recorded while the read point `at` is registered).
    pub(crate) fn any_after(&self, at: u64, f: impl FnMut(&ChangeEvent<R>) -> bool) -> bool {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let from = kept.first_above(at);
        kept.order.range(from..).map(|record| &record.event).any(f)
    }

    /// The versions held and their bytes.
    pub(crate) fn held(&self) -> Held {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        Held {
            versions: kept.order.len(),
            bytes: kept.bytes,
        }
    }
}

impl<R: Row> Prune for History<R> {
    fn prune(&self, through: u64) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        let kept = &mut *kept;
        while kept
            .order
            .front()
            .is_some_and(|record| record.event.seq() <= through)
        {
            let record = kept.order.pop_front().expect("checked above");
            let event = record.event;
            kept.bytes -= image_bytes(&event);
            if kept.by_pk.get(event.pk()) == Some(&event.seq()) {
                kept.by_pk.remove(event.pk());
            }
        }
        if kept.order.is_empty() {
            // Keep the room of a few commits' records for the next ones.
            if kept.order.capacity() > RECORDS_KEPT_ROOM {
                kept.order = VecDeque::new();
                kept.by_pk = HashMap::default();
            }
            self.newest.store(0, Ordering::Release);
        }
    }
}
