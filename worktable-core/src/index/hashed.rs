//! Hash-only unique indexes (`#[index(unique, hash)]`): key → primary key
//! in one concurrent hash map, for indexes that are only ever looked up by
//! a whole key.
//!
//! An ordered unique index ([`UniqueStore`](super::UniqueStore)) keeps two
//! structures per key — the hash map that reserves keys and answers
//! look-ups, and the ordered entries ranges and prefixes read — and a write
//! changes both. A hash index keeps the first only, holding the key itself,
//! so a write that adds or removes a key changes one map: what a
//! hand-kept `HashMap<Key, Pk>` beside a table costs. It has no order, so
//! `range_by`, `prefix_by` and the query sources that read keys in order
//! do not accept it (they need [`OrderedIndex`](super::OrderedIndex), a
//! compile error otherwise).

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

use dashmap::mapref::entry::Entry;

use super::lookup::{BorrowedVisit, LookupKey};
use super::traits::{Index, IndexStore, UniqueLookup};
use crate::hash::{HashMap, hash_bytes, hash_map};
use crate::row::{DuplicateKey, IndexMaintenance, LoadPart, Row};

/// Storage of a hash-only unique index: key → primary key.
///
/// Protocol: a key's entry is added and removed only by a writer holding
/// the row lock of the row it leads to (see `table/write.rs`), under the
/// map's lock for the key. An insert that finds the key taken is refused,
/// so two inserts of one value race to exactly one winner; a removal takes
/// the entry out only if it still leads to the removing row, so a row that
/// gives up a key never takes away the entry of a row that took the key
/// since. An update that changes the key adds the new entry before it
/// removes the old one, as for every index.
pub struct HashUniqueStore<R: Row, I: Index<R>> {
    map: HashMap<I::Key, R::Pk>,
    _index: PhantomData<fn() -> I>,
}

impl<R: Row, I: Index<R>> Default for HashUniqueStore<R, I> {
    fn default() -> Self {
        Self {
            map: hash_map(),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: Index<R>> fmt::Debug for HashUniqueStore<R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashUniqueStore")
            .field("index", &I::NAME)
            .field("entries", &self.map.len())
            .finish()
    }
}

impl<R: Row, I: Index<R>> HashUniqueStore<R, I> {
    fn duplicate(key: &I::Key) -> DuplicateKey {
        DuplicateKey {
            index: I::NAME,
            key: format!("{key:?}"),
        }
    }
}

impl<R: Row, I: Index<R>> IndexMaintenance<R> for HashUniqueStore<R, I> {
    fn name(&self) -> &'static str {
        I::NAME
    }

    fn is_unique(&self) -> bool {
        true
    }

    fn insert(&self, row: &R) -> Result<(), DuplicateKey> {
        match self.map.entry(I::key(row)) {
            Entry::Occupied(taken) => Err(Self::duplicate(taken.key())),
            Entry::Vacant(slot) => {
                slot.insert(row.pk());
                Ok(())
            }
        }
    }

    fn remove(&self, row: &R) {
        let pk = row.pk();
        self.map.remove_if(&I::key(row), |_, held| *held == pk);
    }

    fn load_parts(&self) -> &'static [LoadPart] {
        &[LoadPart::Hash]
    }

    fn load(&self, rows: &[(&R::Archived, &R::Pk)], _part: LoadPart) -> Result<(), DuplicateKey> {
        for &(archived, pk) in rows {
            match self.map.entry(I::key_of_archived(archived)) {
                Entry::Occupied(taken) => return Err(Self::duplicate(taken.key())),
                Entry::Vacant(slot) => {
                    slot.insert(pk.clone());
                }
            }
        }
        Ok(())
    }

    fn key_changed(&self, old: &R, new: &R) -> bool {
        !I::same_key(old, new)
    }

    fn entry_count(&self) -> usize {
        self.map.len()
    }

    fn approx_bytes(&self) -> usize {
        hash_bytes(&self.map)
    }

    fn verify(&self, read: &dyn Fn(&R::Pk) -> Option<R>) -> Result<usize, String> {
        for entry in self.map.iter() {
            let (key, pk) = entry.pair();
            super::verify_entry::<R, I>(key, pk, read)?;
        }
        Ok(self.map.len())
    }
}

impl<R: Row, I: Index<R>> IndexStore<R, I> for HashUniqueStore<R, I> {
    fn ordered(&self) -> Option<&super::OrderedMap<I::Key, R::Pk>> {
        None
    }

    fn hashed<Q>(&self, key: &Q) -> Option<R::Pk>
    where
        Q: LookupKey<I::Key> + ?Sized,
    {
        key.with_borrowed(Get {
            map: &self.map,
            then: |pk: Option<&R::Pk>| pk.cloned(),
        })
    }
}

impl<R: Row, I: Index<R>> UniqueLookup<R, I> for HashUniqueStore<R, I> {
    fn find<Q, T>(&self, key: &Q, mut f: impl FnMut(&R::Pk, bool) -> Option<T>) -> Option<T>
    where
        Q: LookupKey<I::Key> + ?Sized,
    {
        // The map holds the key itself: the entry found is the key's.
        key.with_borrowed(Get {
            map: &self.map,
            then: |pk: Option<&R::Pk>| f(pk?, true),
        })
    }
}

/// A look-up of the map by a form its keys borrow as; `then` gets the
/// primary key found while the map's lock for the key is held.
struct Get<'m, K, P, F> {
    map: &'m HashMap<K, P>,
    then: F,
}

impl<K: Hash + Eq, P, F: FnOnce(Option<&P>) -> T, T> BorrowedVisit<K> for Get<'_, K, P, F> {
    type Output = T;

    fn visit<B: Hash + Eq + ?Sized>(self, borrowed: &B) -> T
    where
        K: Borrow<B>,
    {
        let found = self.map.get(borrowed);
        (self.then)(found.as_ref().map(|entry| entry.value()))
    }
}

#[cfg(test)]
mod tests {
    use crate::Table;
    use crate::rkyv::{Archive, Deserialize, Serialize};

    use super::*;

    #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    #[rkyv(crate = crate::rkyv)]
    #[table(crate = "crate")]
    struct Account {
        #[pk]
        id: u32,
        #[index(unique, hash)]
        name: String,
    }

    fn account(id: u32, name: &str) -> Account {
        Account {
            id,
            name: name.into(),
        }
    }

    fn store<I: Index<Account>>(_: I) -> HashUniqueStore<Account, I> {
        HashUniqueStore::default()
    }

    #[test]
    fn a_taken_key_is_refused_and_a_removal_keeps_another_rows_entry() {
        let names = store(Account::NAME);
        let (ann, bob) = (account(1, "ann"), account(2, "bob"));
        names.insert(&ann).unwrap();
        names.insert(&bob).unwrap();
        assert_eq!(names.insert(&account(3, "ann")).unwrap_err().key, "\"ann\"");
        assert_eq!(names.hashed("ann"), Some(1));

        // A row that no longer holds the key does not remove it.
        names.remove(&account(3, "ann"));
        assert_eq!(names.hashed("ann"), Some(1));
        names.remove(&ann);
        assert_eq!(names.hashed("ann"), None);
        let rows = [bob.clone()];
        let read = |pk: &u32| rows.iter().find(|row| row.id == *pk).cloned();
        assert_eq!(names.verify(&read), Ok(1));
        assert!(names.verify(&|_| Some(account(2, "other"))).is_err());
    }
}
