//! Indexes: the primary index (hash + ordered), unique and non-unique
//! secondary indexes, and the traits `#[derive(Table)]` implements.
//!
//! Secondary index entries lead to the row's primary key, never to a row
//! version: the primary index alone records where each row's committed
//! version is, so an update that leaves an index's key alone leaves the
//! index alone.
//!
//! Depends on: `row`, `hash`, `page` (the primary index holds row cells).

mod each;
pub(crate) mod entry;
mod hashed;
mod lookup;
mod multi;
mod ordered;
mod prefix;
mod primary;
mod set;
mod traits;
mod unique;

pub use each::EachStore;
pub use hashed::HashUniqueStore;
pub use lookup::LookupKey;
pub use multi::MultiStore;
pub use ordered::OrderedMap;
pub use prefix::{PrefixProbe, SortPrefix, WithPrefix, WithoutPrefix};
pub(crate) use primary::{PkKeys, PrimaryIndex};
pub(crate) use set::{IndexChanges, insert_all, insert_changed, remove_all, remove_changed};
pub use traits::{
    Index, IndexPrefix, IndexStore, OrderedIndex, OrderedStore, UniqueIndex, UniqueLookup,
};
pub use unique::UniqueStore;

use entry::{Borrowed, SeekRange};

use crate::row::Row;

/// The primary keys of the entries of index `I` whose key is `key`, in
/// primary-key order: read from its ordered entries, or from its hash map
/// (a hash index, at most one).
pub(crate) fn pks_with_key<R: Row, I: Index<R>, Q>(indexes: &R::Indexes, key: &Q) -> Vec<R::Pk>
where
    Q: LookupKey<I::Key> + ?Sized,
{
    let store = I::store(indexes);
    match store.ordered() {
        Some(ordered) => ordered
            .range(SeekRange::only(Borrowed(key)))
            .map(|entry| entry.pk)
            .collect(),
        None => store.hashed(key).into_iter().collect(),
    }
}

/// The `(key, primary key)` entries of `rows` in index `I`, sorted: what an
/// ordered index is built from in one pass
/// ([`OrderedMap::load_sorted`]).
fn sorted_keys<R: Row, I: Index<R>>(rows: &[(&R::Archived, &R::Pk)]) -> Vec<(I::Key, R::Pk)> {
    let mut entries: Vec<(I::Key, R::Pk)> = rows
        .iter()
        .map(|&(archived, pk)| (I::key_of_archived(archived), pk.clone()))
        .collect();
    entries.sort_unstable();
    entries
}

/// Checks that every entry of `ordered` leads to a live row whose key in
/// index `I` is the entry's key; returns the number of entries.
fn verify_ordered<R: Row, I: Index<R>>(
    ordered: &OrderedMap<I::Key, R::Pk>,
    read: &dyn Fn(&R::Pk) -> Option<R>,
) -> Result<usize, String> {
    let mut entries = 0;
    for entry in ordered.iter() {
        verify_entry::<R, I>(&entry.key, &entry.pk, read)?;
        entries += 1;
    }
    Ok(entries)
}

/// Checks that the entry `key` → `pk` of index `I` leads to a live row
/// whose key is `key`.
fn verify_entry<R: Row, I: Index<R>>(
    key: &I::Key,
    pk: &R::Pk,
    read: &dyn Fn(&R::Pk) -> Option<R>,
) -> Result<(), String> {
    let Some(row) = read(pk) else {
        return Err(format!(
            "index `{}`: entry {key:?} leads to a row that is not live",
            I::NAME
        ));
    };
    if !I::key_is(&row, key) {
        let keys = I::keys(&row);
        return Err(match keys.as_slice() {
            [one] => format!(
                "index `{}`: entry {key:?} leads to a row whose key is {one:?}",
                I::NAME
            ),
            many => format!(
                "index `{}`: entry {key:?} leads to a row whose keys are {many:?}",
                I::NAME
            ),
        });
    }
    Ok(())
}
