//! Unique indexes: a hash map for point look-ups and for reserving keys
//! atomically, plus the ordered entries for ranges.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use super::entry::Exact;
use super::ordered::OrderedMap;
use super::traits::{DuplicateKey, Index, IndexMaintenance, IndexStore};
use super::verify_ordered;
use crate::page::RowCell;
use crate::row::Row;

/// Storage of a unique index.
///
/// Protocol: a writer first *reserves* the key in `hash` (the `DashMap`
/// entry API makes "absent → mine" atomic, which is what makes two inserts of
/// one value race to exactly one winner), then adds the ordered entry. It
/// removes in the opposite order — ordered entry, then reservation — so a
/// key's ordered entry only ever belongs to the current holder of its
/// reservation.
pub struct UniqueStore<R: Row, I: Index<R>> {
    hash: DashMap<I::Key, Arc<RowCell>>,
    ordered: OrderedMap<I::Key, ()>,
    _index: PhantomData<fn() -> (R, I)>,
}

impl<R: Row, I: Index<R>> Default for UniqueStore<R, I> {
    fn default() -> Self {
        Self {
            hash: DashMap::new(),
            ordered: OrderedMap::default(),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: Index<R>> fmt::Debug for UniqueStore<R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UniqueStore")
            .field("index", &I::NAME)
            .field("entries", &self.ordered.len())
            .finish()
    }
}

impl<R: Row, I: Index<R>> UniqueStore<R, I> {
    /// Calls `f` with the cell of the row holding `key`, while the key's hash
    /// shard is read-locked: keep `f` short.
    pub(crate) fn with_cell<Q, T>(&self, key: &Q, f: impl FnOnce(&Arc<RowCell>) -> T) -> Option<T>
    where
        I::Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.hash.get(key).map(|entry| f(entry.value()))
    }
}

impl<R: Row, I: Index<R>> IndexMaintenance<R> for UniqueStore<R, I> {
    fn name(&self) -> &'static str {
        I::NAME
    }

    fn is_unique(&self) -> bool {
        true
    }

    fn insert(&self, row: &R, cell: &Arc<RowCell>) -> Result<(), DuplicateKey> {
        let key = I::key(row);
        match self.hash.entry(key.clone()) {
            Entry::Occupied(_) => {
                return Err(DuplicateKey {
                    index: I::NAME,
                    key: format!("{key:?}"),
                });
            }
            Entry::Vacant(slot) => {
                slot.insert(Arc::clone(cell));
            }
        }
        self.ordered.insert(key, (), Arc::clone(cell));
        Ok(())
    }

    fn remove(&self, row: &R, cell: &Arc<RowCell>) {
        let key = I::key(row);
        self.ordered.remove(&key, &(), cell);
        self.hash
            .remove_if(&key, |_, holder| Arc::ptr_eq(holder, cell));
    }

    fn key_changed(&self, old: &R, new: &R) -> bool {
        !I::same_key(old, new)
    }

    fn entry_count(&self) -> usize {
        self.ordered.len()
    }

    fn verify(&self, read: &dyn Fn(&RowCell) -> Option<R>) -> Result<usize, String> {
        let entries = verify_ordered::<R, I, ()>(&self.ordered, read)?;
        if self.hash.len() != entries {
            return Err(format!(
                "index `{}`: {} hash entries but {entries} ordered entries",
                I::NAME,
                self.hash.len()
            ));
        }
        for item in self.hash.iter() {
            let found = self
                .ordered
                .range(super::entry::SeekRange::only(Exact(item.key().clone())))
                .any(|entry| Arc::ptr_eq(entry.value(), item.value()));
            if !found {
                return Err(format!(
                    "index `{}`: key {:?} is in the hash map but not in the ordered entries",
                    I::NAME,
                    item.key()
                ));
            }
        }
        Ok(entries)
    }
}

impl<R: Row, I: Index<R>> IndexStore<R, I> for UniqueStore<R, I> {
    type EntryPk = ();

    fn ordered(&self) -> &OrderedMap<I::Key, ()> {
        &self.ordered
    }
}
