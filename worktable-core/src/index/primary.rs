//! The primary index: a hash map from primary key to the row's cell, for
//! point look-ups and as the one place a row's committed version is
//! recorded, and the keys in order ([`OrderedMap`]) for ranges and
//! iteration — unless the key is declared `#[pk(hash)]`, when ranges and
//! iteration sort the hash map's keys instead.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::ops::RangeBounds;

use super::entry::{Edge, Exact, IndexEntry, KeyOrder, Seek, SeekRange};
use super::ordered::{OrderedMap, Range};
use crate::hash::{HashMap, HashState, hash_bytes};
use crate::page::RowCell;
use crate::row::{Key, KeyPrefix};

/// A row exists exactly when its key is in `cells`: putting the cell in is
/// the moment an insert takes effect, taking it out the moment a delete
/// does. `ordered` (absent for a `#[pk(hash)]` key) holds the same keys,
/// except while the writer holding a key's row lock is between the two
/// updates (inserts add to `cells` first, deletes remove from it first), so
/// a scan may meet a key whose row is gone and skips it.
///
/// Guards of `cells` are held only for a single read or swap of a cell,
/// never across another map operation.
pub(crate) struct PrimaryIndex<K> {
    cells: HashMap<K, RowCell>,
    ordered: Option<OrderedMap<K, ()>>,
}

/// Primary keys in order: read from the ordered keys between two probes
/// (`S`), or collected from the hash map and sorted (a `#[pk(hash)]` key).
pub(crate) enum PkKeys<'a, K, S = Edge<Exact<K>>> {
    Ordered(Range<'a, K, (), S>),
    Sorted(std::vec::IntoIter<K>),
}

impl<K: Key, S: Seek<K, ()>> Iterator for PkKeys<'_, K, S> {
    type Item = K;

    fn next(&mut self) -> Option<K> {
        match self {
            Self::Ordered(range) => range.next().map(|entry| entry.key),
            Self::Sorted(keys) => keys.next(),
        }
    }
}

impl<K: Key, S: Seek<K, ()>> DoubleEndedIterator for PkKeys<'_, K, S> {
    fn next_back(&mut self) -> Option<K> {
        match self {
            Self::Ordered(range) => range.next_back().map(|entry| entry.key),
            Self::Sorted(keys) => keys.next_back(),
        }
    }
}

impl<K: Key> fmt::Debug for PrimaryIndex<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrimaryIndex")
            .field("rows", &self.cells.len())
            .finish()
    }
}

impl<K: Key> PrimaryIndex<K> {
    /// An empty index with room for `rows` rows without growing; the
    /// ordered keys, unless `ordered` is false (a `#[pk(hash)]` key), keep
    /// `prefix` beside each key.
    pub(crate) fn with_capacity(rows: usize, prefix: Option<KeyPrefix<K>>, ordered: bool) -> Self {
        Self {
            cells: HashMap::with_capacity_and_hasher(rows, HashState::default()),
            ordered: ordered.then(|| OrderedMap::new(prefix)),
        }
    }

    pub(crate) fn contains<Q>(&self, pk: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.cells.contains_key(pk)
    }

    /// Calls `f` with the cell of `pk`'s row while its hash shard is
    /// read-locked: keep `f` short, and do not touch this map inside it.
    #[inline]
    pub(crate) fn with_cell<Q, T>(&self, pk: &Q, f: impl FnOnce(&RowCell) -> T) -> Option<T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.cells.get(pk).map(|cell| f(cell.value()))
    }

    /// Makes a new row visible; the caller holds `pk`'s lock and has checked
    /// that `pk` is absent.
    pub(crate) fn insert(&self, pk: K, cell: RowCell) {
        match &self.ordered {
            Some(ordered) => {
                self.cells.insert(pk.clone(), cell);
                ordered.insert(pk, ());
            }
            None => {
                self.cells.insert(pk, cell);
            }
        }
    }

    /// Fills an empty index with `rows` (distinct keys, in key order) for a
    /// table being restored: the hash map and the ordered keys on two
    /// threads.
    pub(crate) fn load(&self, rows: impl Iterator<Item = (K, RowCell)>) {
        let Some(ordered) = &self.ordered else {
            for (pk, cell) in rows {
                self.cells.insert(pk, cell);
            }
            return;
        };
        std::thread::scope(|scope| {
            let (keys, cells): (Vec<K>, Vec<(K, RowCell)>) =
                rows.map(|(pk, cell)| (pk.clone(), (pk, cell))).unzip();
            scope.spawn(move || ordered.load_sorted(keys.into_iter().map(|key| (key, ()))));
            for (pk, cell) in cells {
                self.cells.insert(pk, cell);
            }
        });
    }

    /// [`load`](Self::load) on this thread only, for a few rows.
    pub(crate) fn load_here(&self, rows: impl Iterator<Item = (K, RowCell)>) {
        let mut keys = Vec::new();
        for (pk, cell) in rows {
            if self.ordered.is_some() {
                keys.push((pk.clone(), ()));
            }
            self.cells.insert(pk, cell);
        }
        if let Some(ordered) = &self.ordered {
            ordered.load_sorted(keys);
        }
    }

    /// Takes a row out; the caller holds `pk`'s lock.
    pub(crate) fn remove(&self, pk: &K) -> Option<RowCell> {
        let (key, cell) = self.cells.remove(pk)?;
        if let Some(ordered) = &self.ordered {
            ordered.remove(&IndexEntry { key, pk: () });
        }
        Some(cell)
    }

    /// Calls `f` with every row's cell, shard by shard; each shard stays
    /// read-locked while its cells are visited, so keep `f` short.
    pub(crate) fn for_each_cell(&self, mut f: impl FnMut(&RowCell)) {
        for entry in self.cells.iter() {
            f(entry.value());
        }
    }

    /// Approximate bytes of both maps (see [`hash_bytes`]).
    pub(crate) fn approx_bytes(&self) -> usize {
        hash_bytes(&self.cells) + self.ordered.as_ref().map_or(0, OrderedMap::approx_bytes)
    }

    /// Calls `f` with every row's key and cell, shard by shard; each shard
    /// stays read-locked while its cells are visited, so keep `f` short.
    pub(crate) fn for_each_row(&self, mut f: impl FnMut(&K, &RowCell)) {
        for entry in self.cells.iter() {
            f(entry.key(), entry.value());
        }
    }

    /// The keys in `range`, in order. For a `#[pk(hash)]` key this reads
    /// every key of the hash map and sorts those in the range.
    pub(crate) fn keys(&self, range: &impl RangeBounds<K>) -> PkKeys<'_, K> {
        match &self.ordered {
            Some(ordered) => {
                let start = range.start_bound().cloned().map(Exact);
                let end = range.end_bound().cloned().map(Exact);
                PkKeys::Ordered(ordered.range(SeekRange::new(start, end)))
            }
            None => {
                let bounds = (range.start_bound(), range.end_bound());
                let mut keys: Vec<K> = self
                    .cells
                    .iter()
                    .map(|entry| entry.key().clone())
                    .filter(|key| bounds.contains(key))
                    .collect();
                keys.sort_unstable();
                PkKeys::Sorted(keys.into_iter())
            }
        }
    }

    /// The keys `target` stands for (say, every key with a prefix), in
    /// order. For a `#[pk(hash)]` key this reads every key of the hash map
    /// and sorts those it stands for.
    pub(crate) fn keys_where<T: KeyOrder<K> + Clone>(&self, target: T) -> PkKeys<'_, K, Edge<T>> {
        match &self.ordered {
            Some(ordered) => PkKeys::Ordered(ordered.range(SeekRange::only(target))),
            None => {
                let mut keys: Vec<K> = self
                    .cells
                    .iter()
                    .map(|entry| entry.key().clone())
                    .filter(|key| target.cmp_key(key).is_eq())
                    .collect();
                keys.sort_unstable();
                PkKeys::Sorted(keys.into_iter())
            }
        }
    }

    /// Checks that both maps hold the same keys; returns their number.
    pub(crate) fn verify(&self) -> Result<usize, String> {
        let Some(ordered) = &self.ordered else {
            return Ok(self.cells.len());
        };
        if self.cells.len() != ordered.len() {
            return Err(format!(
                "primary index: {} rows but {} ordered keys",
                self.cells.len(),
                ordered.len()
            ));
        }
        for entry in ordered.iter() {
            let pk = &entry.key;
            if !self.cells.contains_key(pk) {
                return Err(format!(
                    "primary index: key {pk:?} is ordered but has no row"
                ));
            }
        }
        Ok(self.cells.len())
    }
}
