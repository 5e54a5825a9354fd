//! The primary index: a hash map from primary key to the row's cell, for
//! point look-ups and as the one place a row's committed version is
//! recorded, and the keys in order ([`OrderedMap`]) for ranges and
//! iteration.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;

use super::entry::IndexEntry;
use super::ordered::OrderedMap;
use crate::hash::{HashMap, HashState, hash_bytes};
use crate::page::RowCell;
use crate::row::{Key, KeyPrefix};

/// A row exists exactly when its key is in `cells`: putting the cell in is
/// the moment an insert takes effect, taking it out the moment a delete
/// does. `ordered` holds the same keys, except while the writer holding a
/// key's row lock is between the two updates (inserts add to `cells` first,
/// deletes remove from it first), so a scan may meet a key whose row is
/// gone and skips it.
///
/// Guards of `cells` are held only for a single read or swap of a cell,
/// never across another map operation.
pub(crate) struct PrimaryIndex<K> {
    cells: HashMap<K, RowCell>,
    ordered: OrderedMap<K, ()>,
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
    /// ordered keys keep `prefix` beside each key.
    pub(crate) fn with_capacity(rows: usize, prefix: Option<KeyPrefix<K>>) -> Self {
        Self {
            cells: HashMap::with_capacity_and_hasher(rows, HashState::default()),
            ordered: OrderedMap::new(prefix),
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
        self.cells.insert(pk.clone(), cell);
        self.ordered.insert(pk, ());
    }

    /// Fills an empty index with `rows` (distinct keys, in key order) for a
    /// table being restored: the hash map and the ordered keys on two
    /// threads.
    pub(crate) fn load(&self, rows: impl Iterator<Item = (K, RowCell)>) {
        std::thread::scope(|scope| {
            let (keys, cells): (Vec<K>, Vec<(K, RowCell)>) =
                rows.map(|(pk, cell)| (pk.clone(), (pk, cell))).unzip();
            scope.spawn(move || {
                self.ordered
                    .load_sorted(keys.into_iter().map(|key| (key, ())))
            });
            for (pk, cell) in cells {
                self.cells.insert(pk, cell);
            }
        });
    }

    /// [`load`](Self::load) on this thread only, for a few rows.
    pub(crate) fn load_here(&self, rows: impl Iterator<Item = (K, RowCell)>) {
        let mut keys = Vec::new();
        for (pk, cell) in rows {
            keys.push((pk.clone(), ()));
            self.cells.insert(pk, cell);
        }
        self.ordered.load_sorted(keys);
    }

    /// Takes a row out; the caller holds `pk`'s lock.
    pub(crate) fn remove(&self, pk: &K) -> Option<RowCell> {
        let (key, cell) = self.cells.remove(pk)?;
        self.ordered.remove(&IndexEntry { key, pk: () });
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
        hash_bytes(&self.cells) + self.ordered.approx_bytes()
    }

    /// Calls `f` with every row's key and cell, shard by shard; each shard
    /// stays read-locked while its cells are visited, so keep `f` short.
    pub(crate) fn for_each_row(&self, mut f: impl FnMut(&K, &RowCell)) {
        for entry in self.cells.iter() {
            f(entry.key(), entry.value());
        }
    }

    pub(crate) fn ordered(&self) -> &OrderedMap<K, ()> {
        &self.ordered
    }

    /// Checks that both maps hold the same keys; returns their number.
    pub(crate) fn verify(&self) -> Result<usize, String> {
        if self.cells.len() != self.ordered.len() {
            return Err(format!(
                "primary index: {} rows but {} ordered keys",
                self.cells.len(),
                self.ordered.len()
            ));
        }
        for entry in self.ordered.iter() {
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
