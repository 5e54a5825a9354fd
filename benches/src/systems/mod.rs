//! The compared systems, one module each, all implementing [`System`].

pub mod dashmap_maps;
pub mod multi_index;
pub mod rwlock_hashmap;
pub mod sqlite;
pub mod worktable;
pub mod worktable_1_13;

#[cfg(test)]
mod agreement_tests;

use crate::{System, SystemVisitor};

/// Names of the systems, in the order [`visit_all`] visits them (the order
/// of the report's columns).
pub const NAMES: [&str; 6] = [
    worktable::Worktable::NAME,
    rwlock_hashmap::RwLockHashMap::NAME,
    dashmap_maps::DashMapMaps::NAME,
    worktable_1_13::Worktable113::NAME,
    sqlite::Sqlite::NAME,
    multi_index::MultiIndex::NAME,
];

/// Calls `visitor` for each system, in the order of [`NAMES`].
pub fn visit_all(visitor: &mut impl SystemVisitor) {
    visitor.visit::<worktable::Worktable>();
    visitor.visit::<rwlock_hashmap::RwLockHashMap>();
    visitor.visit::<dashmap_maps::DashMapMaps>();
    visitor.visit::<worktable_1_13::Worktable113>();
    visitor.visit::<sqlite::Sqlite>();
    visitor.visit::<multi_index::MultiIndex>();
}
