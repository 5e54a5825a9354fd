//! Unique indexes: a hash map for point look-ups and for reserving keys
//! atomically, plus the ordered entries for ranges.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

use dashmap::mapref::entry::Entry;

use super::entry::IndexEntry;
use super::ordered::OrderedMap;
use super::traits::{DuplicateKey, Index, IndexMaintenance, IndexStore, LoadPart};
use super::verify_ordered;
use crate::row::Row;

/// Storage of a unique index: key → primary key.
///
/// Protocol: a writer first *reserves* the key in `hash` (the `DashMap`
/// entry API makes "absent → mine" atomic, which is what makes two inserts of
/// one value race to exactly one winner), then adds the ordered entry. It
/// removes in the opposite order — ordered entry, then reservation — so a
/// key has at most one ordered entry, owned by the current holder of its
/// reservation.
pub struct UniqueStore<R: Row, I: Index<R>> {
    hash: super::HashMap<I::Key, R::Pk>,
    ordered: OrderedMap<I::Key, R::Pk>,
    _index: PhantomData<fn() -> I>,
}

impl<R: Row, I: Index<R>> Default for UniqueStore<R, I> {
    fn default() -> Self {
        Self {
            hash: super::hash_map(),
            ordered: OrderedMap::new(I::key_prefix()),
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
    /// Calls `f` with the primary key of the row holding `key`, while the
    /// key's hash shard is read-locked: keep `f` short.
    pub(crate) fn with_pk<Q, T>(&self, key: &Q, f: impl FnOnce(&R::Pk) -> T) -> Option<T>
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

    fn insert(&self, row: &R) -> Result<(), DuplicateKey> {
        let key = I::key(row);
        let pk = row.pk();
        match self.hash.entry(key.clone()) {
            Entry::Occupied(_) => {
                return Err(DuplicateKey {
                    index: I::NAME,
                    key: format!("{key:?}"),
                });
            }
            Entry::Vacant(slot) => {
                slot.insert(pk.clone());
            }
        }
        self.ordered.insert(key, pk);
        Ok(())
    }

    fn remove(&self, row: &R) {
        let entry = IndexEntry {
            key: I::key(row),
            pk: row.pk(),
        };
        self.ordered.remove(&entry);
        self.hash
            .remove_if(&entry.key, |_, holder| *holder == entry.pk);
    }

    fn load_parts(&self) -> &'static [LoadPart] {
        &[LoadPart::Hash, LoadPart::Ordered]
    }

    fn load(&self, rows: &[(&R::Archived, &R::Pk)], part: LoadPart) -> Result<(), DuplicateKey> {
        match part {
            LoadPart::Hash => {
                for &(archived, pk) in rows {
                    match self.hash.entry(I::key_of_archived(archived)) {
                        Entry::Occupied(taken) => {
                            return Err(DuplicateKey {
                                index: I::NAME,
                                key: format!("{:?}", taken.key()),
                            });
                        }
                        Entry::Vacant(slot) => {
                            slot.insert(pk.clone());
                        }
                    }
                }
            }
            LoadPart::Ordered => {
                self.ordered.load_sorted(super::sorted_keys::<R, I>(rows));
            }
        }
        Ok(())
    }

    fn key_changed(&self, old: &R, new: &R) -> bool {
        !I::same_key(old, new)
    }

    fn entry_count(&self) -> usize {
        self.ordered.len()
    }

    fn approx_bytes(&self) -> usize {
        super::hash_bytes(&self.hash) + self.ordered.approx_bytes()
    }

    fn verify(&self, read: &dyn Fn(&R::Pk) -> Option<R>) -> Result<usize, String> {
        let entries = verify_ordered::<R, I>(&self.ordered, read)?;
        if self.hash.len() != entries {
            return Err(format!(
                "index `{}`: {} reserved keys but {entries} ordered entries",
                I::NAME,
                self.hash.len()
            ));
        }
        for entry in self.ordered.iter() {
            let (key, pk) = (&entry.key, &entry.pk);
            if self.hash.get(key).as_deref() != Some(pk) {
                return Err(format!(
                    "index `{}`: ordered entry {key:?} → {pk:?} is not the key's reservation",
                    I::NAME
                ));
            }
        }
        Ok(entries)
    }
}

impl<R: Row, I: Index<R>> IndexStore<R, I> for UniqueStore<R, I> {
    fn ordered(&self) -> &OrderedMap<I::Key, R::Pk> {
        &self.ordered
    }
}
