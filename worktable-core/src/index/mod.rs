//! Indexes: the primary index (hash + ordered), unique and non-unique
//! secondary indexes, and the traits `#[derive(Table)]` implements.
//!
//! Secondary index entries lead to the row's primary key, never to a row
//! version: the primary index alone records where each row's committed
//! version is, so an update that leaves an index's key alone leaves the
//! index alone.

pub(crate) mod entry;
mod multi;
mod ordered;
mod primary;
mod set;
mod traits;
mod unique;

pub use multi::MultiStore;
pub(crate) use ordered::OrderedEntry;
pub use ordered::OrderedMap;
pub(crate) use primary::PrimaryIndex;
pub(crate) use set::{insert_all, insert_changed, remove_all, remove_changed};
pub use traits::{
    DuplicateKey, Index, IndexMaintenance, IndexPrefix, IndexSet, IndexStore, UniqueIndex,
};
pub use unique::UniqueStore;

use dashmap::DashMap;

use crate::row::Row;

/// Approximate bytes of a hash map's table: its capacity times an entry and
/// its control byte. Heap memory owned by keys or values (a `String`'s
/// characters) is not counted.
pub(crate) fn hash_bytes<K: Eq + std::hash::Hash, V>(map: &DashMap<K, V>) -> usize {
    map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
}

/// Checks that every entry of `ordered` leads to a live row whose key in
/// index `I` is the entry's key; returns the number of entries.
fn verify_ordered<R: Row, I: Index<R>>(
    ordered: &OrderedMap<I::Key, R::Pk>,
    read: &dyn Fn(&R::Pk) -> Option<R>,
) -> Result<usize, String> {
    let mut entries = 0;
    for entry in ordered.iter() {
        let key = &entry.key().key;
        let Some(row) = read(&entry.key().pk) else {
            return Err(format!(
                "index `{}`: entry {key:?} leads to a row that is not live",
                I::NAME
            ));
        };
        if !I::key_is(&row, key) {
            return Err(format!(
                "index `{}`: entry {key:?} leads to a row whose key is {:?}",
                I::NAME,
                I::key(&row)
            ));
        }
        entries += 1;
    }
    Ok(entries)
}
