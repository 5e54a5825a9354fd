//! The ordered half of every index: a lock-free skiplist from entries to row
//! cells.

use std::fmt;
use std::sync::Arc;

use crossbeam_skiplist::SkipMap;
use crossbeam_skiplist::map::Entry;

use super::entry::{EntryRef, IndexEntry, Seek, SeekRange};
use crate::page::RowCell;

/// One skiplist entry: an index entry and the cell of its row.
pub(crate) type OrderedEntry<'a, K, P> = Entry<'a, IndexEntry<K, P>, Arc<RowCell>>;

/// An ordered index: entries sorted by `(key, pk)`, each leading to the
/// [`RowCell`] of its row.
///
/// Invariant: entry `(k, p)` is inserted and removed only by a writer holding
/// the row lock of the row it leads to (for unique indexes, also holding the
/// key's reservation in the index's hash map), so no two writers touch one
/// entry at the same time. Readers never wait.
pub struct OrderedMap<K, P> {
    map: SkipMap<IndexEntry<K, P>, Arc<RowCell>>,
}

impl<K, P> Default for OrderedMap<K, P> {
    fn default() -> Self {
        Self {
            map: SkipMap::new(),
        }
    }
}

impl<K, P> fmt::Debug for OrderedMap<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderedMap")
            .field("entries", &self.map.len())
            .finish()
    }
}

impl<K, P> OrderedMap<K, P>
where
    K: Ord + Send + 'static,
    P: Ord + Send + 'static,
{
    /// Adds entry `(key, pk)` leading to `cell`.
    pub(crate) fn insert(&self, key: K, pk: P, cell: Arc<RowCell>) {
        self.map.insert(IndexEntry { key, pk }, cell);
    }

    /// Removes entry `(key, pk)` if it leads to `cell`.
    pub(crate) fn remove(&self, key: &K, pk: &P, cell: &Arc<RowCell>) -> bool {
        let probe = EntryRef { key, pk };
        match self.map.get::<dyn Seek<K, P> + '_>(&probe) {
            Some(entry) if Arc::ptr_eq(entry.value(), cell) => entry.remove(),
            _ => false,
        }
    }

    /// The entries between the probes of `range`, in order; reversible.
    pub(crate) fn range<'a, S>(
        &'a self,
        range: SeekRange<S>,
    ) -> impl DoubleEndedIterator<Item = OrderedEntry<'a, K, P>> + 'a
    where
        S: Seek<K, P> + 'a,
    {
        self.map.range::<dyn Seek<K, P> + 'a, _>(range)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// All entries in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = OrderedEntry<'_, K, P>> + '_ {
        self.map.iter()
    }
}
