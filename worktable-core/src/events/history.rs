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

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use super::event::ChangeEvent;
use super::order::Prune;
use crate::hash::HashState;
use crate::row::Row;

/// The changes of one table kept for registered read points.
pub(crate) struct History<R: Row> {
    /// Number of the newest change recorded (0: none), so that a reader at
    /// or above it skips the lock.
    newest: AtomicU64,
    kept: RwLock<Kept<R>>,
}

/// The recorded changes, by row and in commit order.
struct Kept<R: Row> {
    /// Each row's records, oldest first.
    by_pk: HashMap<R::Pk, VecDeque<ChangeEvent<R>>, HashState>,
    /// Every record, oldest first.
    order: VecDeque<ChangeEvent<R>>,
    /// Bytes of the "before" images held.
    bytes: usize,
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
        kept.by_pk
            .entry(event.pk().clone())
            .or_default()
            .push_back(event.clone());
        kept.order.push_back(event.clone());
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
        kept.by_pk
            .get(pk)?
            .iter()
            .find(|event| event.seq() > at)
            .cloned()
    }

    /// For every row changed after `at`, its first change numbered above
    /// `at` (whose "before" is the row at `at`), in commit order.
    pub(crate) fn changes_after(&self, at: u64) -> Vec<ChangeEvent<R>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let from = kept.order.partition_point(|event| event.seq() <= at);
        let mut seen = HashSet::with_hasher(HashState::default());
        kept.order
            .range(from..)
            .filter(|event| seen.insert(event.pk().clone()))
            .cloned()
            .collect()
    }

    /// Whether `f` holds for a change numbered above `at` (every one is
    /// recorded while the read point `at` is registered).
    pub(crate) fn any_after(&self, at: u64, f: impl FnMut(&ChangeEvent<R>) -> bool) -> bool {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let from = kept.order.partition_point(|event| event.seq() <= at);
        kept.order.range(from..).any(f)
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
            .is_some_and(|event| event.seq() <= through)
        {
            let event = kept.order.pop_front().expect("checked above");
            kept.bytes -= image_bytes(&event);
            let row = kept
                .by_pk
                .get_mut(event.pk())
                .expect("every record is kept by row too");
            row.pop_front();
            if row.is_empty() {
                kept.by_pk.remove(event.pk());
            }
        }
        if kept.order.is_empty() {
            kept.by_pk = HashMap::default();
            kept.order = VecDeque::new();
            self.newest.store(0, Ordering::Release);
        }
    }
}
