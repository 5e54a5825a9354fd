//! The ordered half of every index: a lock-free skiplist of entries.

use std::fmt;

use crossbeam_skiplist::SkipMap;
use crossbeam_skiplist::map::Entry;

use super::entry::{IndexEntry, Seek, SeekRange};

/// One skiplist entry.
pub(crate) type OrderedEntry<'a, K, P> = Entry<'a, IndexEntry<K, P>, ()>;

/// An ordered index: entries `(key, pk)` in order. `pk` is the row's primary
/// key for secondary indexes and `()` for the primary index itself.
///
/// Invariant: entry `(k, p)` is inserted and removed only by a writer holding
/// the row lock of the row it leads to (for unique indexes, also holding the
/// key's reservation in the index's hash map), so no two writers touch one
/// entry at the same time. Readers never wait.
pub struct OrderedMap<K, P> {
    map: SkipMap<IndexEntry<K, P>, ()>,
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
    /// Adds entry `(key, pk)`.
    pub(crate) fn insert(&self, key: K, pk: P) {
        self.map.insert(IndexEntry { key, pk }, ());
    }

    /// Removes `entry`. It takes a whole entry, not a `dyn Seek` probe, so
    /// that the skiplist compares entries directly: a probe costs three
    /// dynamic calls per comparison, on both of a removal's descents.
    pub(crate) fn remove(&self, entry: &IndexEntry<K, P>) {
        self.map.remove(entry);
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

    /// Approximate bytes of the skiplist: per entry, a node holding the
    /// entry, a reference count and height, and a tower of two links on
    /// average (node heights are geometric with ratio 1/2), rounded to the
    /// allocator's 16 bytes. Heap memory owned by keys is not counted.
    pub(crate) fn approx_bytes(&self) -> usize {
        let node = std::mem::size_of::<IndexEntry<K, P>>() + 3 * std::mem::size_of::<usize>();
        self.map.len() * node.next_multiple_of(16)
    }

    /// All entries in order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = OrderedEntry<'_, K, P>> + '_ {
        self.map.iter()
    }
}
