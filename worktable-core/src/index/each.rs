//! Element indexes (`#[index(each)]` on a `Vec<T>` field): one ordered
//! entry `(element, primary key)` per distinct element of a row's field, so
//! that `find_by(Row::TAGS, &"x")` finds the rows whose field holds `"x"`.
//!
//! A row has zero or more keys here ([`Index::keys`]), so an update whose
//! field changes adds the elements it gains and removes those it loses,
//! leaving the entries of the elements it keeps in place: an entry is never
//! missing while the row holds its element (see
//! [`insert_changed`](IndexMaintenance::insert_changed)). Elements are not
//! unique across rows, and the entries are not offered for ranges or
//! prefixes (an element index is not an
//! [`OrderedIndex`](super::OrderedIndex)): a range would meet a row once
//! per element in it.

use std::fmt;
use std::marker::PhantomData;

use super::entry::IndexEntry;
use super::ordered::OrderedMap;
use super::traits::{Index, IndexStore};
use super::verify_entry;
use crate::row::{DuplicateKey, IndexMaintenance, LoadPart, Row};

/// Storage of an element index: ordered entries `(element, primary key)`,
/// one per distinct element of each row.
pub struct EachStore<R: Row, I: Index<R>> {
    ordered: OrderedMap<I::Key, R::Pk>,
    _index: PhantomData<fn() -> I>,
}

impl<R: Row, I: Index<R>> Default for EachStore<R, I> {
    fn default() -> Self {
        Self {
            ordered: OrderedMap::new(I::key_prefix()),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: Index<R>> fmt::Debug for EachStore<R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EachStore")
            .field("index", &I::NAME)
            .field("entries", &self.ordered.len())
            .finish()
    }
}

/// The keys of `of` that `other` does not have (`other` sorted).
fn only_in<K: Ord>(of: Vec<K>, other: &[K]) -> impl Iterator<Item = K> {
    of.into_iter()
        .filter(move |key| other.binary_search(key).is_err())
}

impl<R: Row, I: Index<R>> EachStore<R, I> {
    fn add(&self, keys: impl Iterator<Item = I::Key>, pk: &R::Pk) {
        for key in keys {
            self.ordered.insert(key, pk.clone());
        }
    }

    fn take_out(&self, keys: impl Iterator<Item = I::Key>, pk: &R::Pk) {
        for key in keys {
            self.ordered.remove(&IndexEntry {
                key,
                pk: pk.clone(),
            });
        }
    }
}

impl<R: Row, I: Index<R>> IndexMaintenance<R> for EachStore<R, I> {
    fn name(&self) -> &'static str {
        I::NAME
    }

    fn is_unique(&self) -> bool {
        false
    }

    fn insert(&self, row: &R) -> Result<(), DuplicateKey> {
        self.add(I::keys(row).into_iter(), &row.pk());
        Ok(())
    }

    fn remove(&self, row: &R) {
        self.take_out(I::keys(row).into_iter(), &row.pk());
    }

    fn insert_changed(&self, old: &R, new: &R) -> Result<(), DuplicateKey> {
        self.add(only_in(I::keys(new), &I::keys(old)), &new.pk());
        Ok(())
    }

    fn remove_changed(&self, gone: &R, kept: &R) {
        self.take_out(only_in(I::keys(gone), &I::keys(kept)), &gone.pk());
    }

    fn entries_for(&self, row: &R) -> usize {
        I::keys(row).len()
    }

    fn load_parts(&self) -> &'static [LoadPart] {
        &[LoadPart::Ordered]
    }

    fn load(&self, rows: &[(&R::Archived, &R::Pk)], _part: LoadPart) -> Result<(), DuplicateKey> {
        let mut entries: Vec<(I::Key, R::Pk)> = rows
            .iter()
            .flat_map(|&(archived, pk)| {
                I::keys_of_archived(archived)
                    .into_iter()
                    .map(move |key| (key, pk.clone()))
            })
            .collect();
        entries.sort_unstable();
        self.ordered.load_sorted(entries);
        Ok(())
    }

    fn key_changed(&self, old: &R, new: &R) -> bool {
        !I::same_key(old, new)
    }

    fn entry_count(&self) -> usize {
        self.ordered.len()
    }

    fn approx_bytes(&self) -> usize {
        self.ordered.approx_bytes()
    }

    fn verify(&self, read: &dyn Fn(&R::Pk) -> Option<R>) -> Result<usize, String> {
        let mut entries = 0;
        for entry in self.ordered.iter() {
            verify_entry::<R, I>(&entry.key, &entry.pk, read)?;
            entries += 1;
        }
        Ok(entries)
    }
}

impl<R: Row, I: Index<R>> IndexStore<R, I> for EachStore<R, I> {
    fn ordered(&self) -> Option<&OrderedMap<I::Key, R::Pk>> {
        Some(&self.ordered)
    }
}
