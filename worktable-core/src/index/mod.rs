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
mod prefix;
mod primary;
mod set;
mod traits;
mod unique;

pub use multi::MultiStore;
pub use ordered::OrderedMap;
pub use prefix::{KeyPrefix, PrefixProbe, SortPrefix, WithPrefix, WithoutPrefix};
pub(crate) use primary::PrimaryIndex;
pub(crate) use set::{insert_all, insert_changed, remove_all, remove_changed};
pub use traits::{
    DuplicateKey, Index, IndexMaintenance, IndexPrefix, IndexSet, IndexStore, LoadPart, UniqueIndex,
};
pub use unique::UniqueStore;

use dashmap::DashMap;

use crate::row::Row;

/// The hasher of the indexes' hash maps: foldhash (hashbrown's default),
/// seeded at random per map. SipHash, `std`'s default, took a fifth of the
/// time of rebuilding a table's indexes; foldhash is several times faster
/// on short keys, and its per-map random seed keeps the keys an attacker
/// would need for collisions out of reach in practice (it does not claim
/// SipHash's strength against an attacker who can observe timings).
pub(crate) type HashState = foldhash::fast::RandomState;

/// A concurrent hash map with the indexes' hasher.
pub(crate) type HashMap<K, V> = DashMap<K, V, HashState>;

/// An empty map with a fresh random seed.
pub(crate) fn hash_map<K: Eq + std::hash::Hash, V>() -> HashMap<K, V> {
    DashMap::with_hasher(HashState::default())
}

/// Approximate bytes of a hash map's table: its capacity times an entry and
/// its control byte. Heap memory owned by keys or values (a `String`'s
/// characters) is not counted.
pub(crate) fn hash_bytes<K: Eq + std::hash::Hash, V>(map: &HashMap<K, V>) -> usize {
    map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
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
        let key = &entry.key;
        let Some(row) = read(&entry.pk) else {
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
