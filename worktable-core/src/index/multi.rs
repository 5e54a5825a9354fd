//! Non-unique indexes: ordered entries `(key, primary key)`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::ordered::OrderedMap;
use super::traits::{DuplicateKey, Index, IndexMaintenance, IndexStore};
use super::verify_ordered;
use crate::page::RowCell;
use crate::row::Row;

/// Storage of a non-unique index. The primary key in each entry keeps
/// entries distinct and sorts the rows of one key in primary-key order.
pub struct MultiStore<R: Row, I: Index<R>> {
    ordered: OrderedMap<I::Key, R::Pk>,
    _index: PhantomData<fn() -> I>,
}

impl<R: Row, I: Index<R>> Default for MultiStore<R, I> {
    fn default() -> Self {
        Self {
            ordered: OrderedMap::default(),
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

    fn insert(&self, row: &R, cell: &Arc<RowCell>) -> Result<(), DuplicateKey> {
        self.ordered.insert(I::key(row), row.pk(), Arc::clone(cell));
        Ok(())
    }

    fn remove(&self, row: &R, cell: &Arc<RowCell>) {
        self.ordered.remove(&I::key(row), &row.pk(), cell);
    }

    fn key_changed(&self, old: &R, new: &R) -> bool {
        !I::same_key(old, new)
    }

    fn entry_count(&self) -> usize {
        self.ordered.len()
    }

    fn verify(&self, read: &dyn Fn(&RowCell) -> Option<R>) -> Result<usize, String> {
        let entries = verify_ordered::<R, I, R::Pk>(&self.ordered, read)?;
        for entry in self.ordered.iter() {
            let pk = &entry.key().pk;
            let row = read(entry.value()).expect("checked by verify_ordered");
            if row.pk() != *pk {
                return Err(format!(
                    "index `{}`: entry for primary key {pk:?} leads to the row with primary key {:?}",
                    I::NAME,
                    row.pk()
                ));
            }
        }
        Ok(entries)
    }
}

impl<R: Row, I: Index<R>> IndexStore<R, I> for MultiStore<R, I> {
    type EntryPk = R::Pk;

    fn ordered(&self) -> &OrderedMap<I::Key, R::Pk> {
        &self.ordered
    }
}
