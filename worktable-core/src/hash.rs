//! The hasher of every concurrent hash map in core: the indexes' hash paths
//! and the row-lock map.
//!
//! Depends on nothing else in core.

use dashmap::DashMap;

/// The hasher of the hash maps: foldhash (hashbrown's default), seeded at
/// random per map. SipHash, `std`'s default, took a fifth of the time of
/// rebuilding a table's indexes; foldhash is several times faster on short
/// keys, and its per-map random seed keeps the keys an attacker would need
/// for collisions out of reach in practice (it does not claim SipHash's
/// strength against an attacker who can observe timings).
pub(crate) type HashState = foldhash::fast::RandomState;

/// A concurrent hash map with core's hasher.
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
