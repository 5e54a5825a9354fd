//! Indexes: the primary index (hash + ordered), unique and non-unique
//! secondary indexes, and the traits `#[derive(Table)]` implements.
//!
//! Every index entry leads to the [`RowCell`] of its row, never to a row
//! version, so an update that leaves an index's key alone leaves the index
//! alone.

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

use crate::page::RowCell;
use crate::row::Row;

/// Checks that every entry of `ordered` leads to a live row whose key in
/// index `I` is the entry's key; returns the number of entries.
fn verify_ordered<R: Row, I: Index<R>, P: Ord + Send + 'static>(
    ordered: &OrderedMap<I::Key, P>,
    read: &dyn Fn(&RowCell) -> Option<R>,
) -> Result<usize, String> {
    let mut entries = 0;
    for entry in ordered.iter() {
        let key = &entry.key().key;
        let Some(row) = read(entry.value()) else {
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
