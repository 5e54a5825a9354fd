//! The primary index: a hash map for point look-ups and an ordered skiplist
//! for ranges and iteration, both from the primary key to the row's cell.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use dashmap::DashMap;

use super::ordered::OrderedMap;
use crate::page::RowCell;
use crate::row::Key;

/// Invariant: both maps hold the same keys, each leading to the same cell,
/// except while the writer holding that key's row lock is between the two
/// updates. Writers insert into `hash` first and remove from it last, so
/// `hash` answers "does this key exist" for writers holding the lock.
pub(crate) struct PrimaryIndex<K> {
    hash: DashMap<K, Arc<RowCell>>,
    ordered: OrderedMap<K, ()>,
}

impl<K: Key> Default for PrimaryIndex<K> {
    fn default() -> Self {
        Self {
            hash: DashMap::new(),
            ordered: OrderedMap::default(),
        }
    }
}

impl<K: Key> fmt::Debug for PrimaryIndex<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrimaryIndex")
            .field("entries", &self.hash.len())
            .finish()
    }
}

impl<K: Key> PrimaryIndex<K> {
    pub(crate) fn contains<Q>(&self, pk: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.hash.contains_key(pk)
    }

    /// The cell of `pk`'s row, cloned out of the map.
    pub(crate) fn cell<Q>(&self, pk: &Q) -> Option<Arc<RowCell>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.hash.get(pk).map(|entry| Arc::clone(entry.value()))
    }

    /// Calls `f` with the cell of `pk`'s row while its hash shard is
    /// read-locked: keep `f` short.
    pub(crate) fn with_cell<Q, T>(&self, pk: &Q, f: impl FnOnce(&Arc<RowCell>) -> T) -> Option<T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.hash.get(pk).map(|entry| f(entry.value()))
    }

    pub(crate) fn insert(&self, pk: K, cell: &Arc<RowCell>) {
        self.hash.insert(pk.clone(), Arc::clone(cell));
        self.ordered.insert(pk, (), Arc::clone(cell));
    }

    pub(crate) fn remove(&self, pk: &K, cell: &Arc<RowCell>) {
        self.ordered.remove(pk, &(), cell);
        self.hash
            .remove_if(pk, |_, holder| Arc::ptr_eq(holder, cell));
    }

    pub(crate) fn ordered(&self) -> &OrderedMap<K, ()> {
        &self.ordered
    }

    /// Checks that both maps hold the same keys leading to the same cells;
    /// returns the number of keys.
    pub(crate) fn verify(&self) -> Result<usize, String> {
        if self.hash.len() != self.ordered.len() {
            return Err(format!(
                "primary index: {} hash entries but {} ordered entries",
                self.hash.len(),
                self.ordered.len()
            ));
        }
        for entry in self.ordered.iter() {
            let pk = &entry.key().key;
            match self.hash.get(pk) {
                Some(cell) if Arc::ptr_eq(cell.value(), entry.value()) => {}
                _ => {
                    return Err(format!(
                        "primary index: key {pk:?} is ordered but its hash entry is missing or differs"
                    ));
                }
            }
        }
        Ok(self.hash.len())
    }
}
