//! Non-unique indexes: ordered entries `(key, primary key)`.

use std::fmt;
use std::marker::PhantomData;

use super::entry::IndexEntry;
use super::ordered::OrderedMap;
use super::traits::{Index, IndexStore, OrderedStore};
use super::verify_ordered;
use crate::row::{DuplicateKey, IndexMaintenance, LoadPart, Row};

/// Storage of a non-unique index. The primary key in each entry keeps
/// entries distinct and sorts the rows of one key in primary-key order.
pub struct MultiStore<R: Row, I: Index<R>> {
    ordered: OrderedMap<I::Key, R::Pk>,
    _index: PhantomData<fn() -> I>,
}

impl<R: Row, I: Index<R>> Default for MultiStore<R, I> {
    fn default() -> Self {
        Self {
            ordered: OrderedMap::new(I::key_prefix()),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: Index<R>> fmt::Debug for MultiStore<R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiStore")
            .field("index", &I::NAME)
            .field("entries", &self.ordered.len())
            .finish()
    }
}

impl<R: Row, I: Index<R>> IndexMaintenance<R> for MultiStore<R, I> {
    fn name(&self) -> &'static str {
        I::NAME
    }

    fn is_unique(&self) -> bool {
        false
    }

    fn insert(&self, row: &R) -> Result<(), DuplicateKey> {
        self.ordered.insert(I::key(row), row.pk());
        Ok(())
    }

    fn remove(&self, row: &R) {
        self.ordered.remove(&IndexEntry {
            key: I::key(row),
            pk: row.pk(),
        });
    }

    fn load_parts(&self) -> &'static [LoadPart] {
        &[LoadPart::Ordered]
    }

    fn load(&self, rows: &[(&R::Archived, &R::Pk)], _part: LoadPart) -> Result<(), DuplicateKey> {
        self.ordered.load_sorted(super::sorted_keys::<R, I>(rows));
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
        verify_ordered::<R, I>(&self.ordered, read)
    }
}

impl<R: Row, I: Index<R>> IndexStore<R, I> for MultiStore<R, I> {
    fn ordered(&self) -> Option<&OrderedMap<I::Key, R::Pk>> {
        Some(&self.ordered)
    }
}

impl<R: Row, I: Index<R>> OrderedStore<R, I> for MultiStore<R, I> {
    fn entries(&self) -> &OrderedMap<I::Key, R::Pk> {
        &self.ordered
    }
}
