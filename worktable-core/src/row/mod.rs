//! What a row type provides to a table: the [`Row`] trait that
//! `#[derive(Table)]` implements, the bounds every key satisfies and where
//! keys come from, the typed field handles, and the interface of a row
//! type's secondary indexes ([`IndexSet`], [`IndexMaintenance`]).
//!
//! Depends on: `schema` only. Everything else in core builds on it; `index`
//! implements [`IndexMaintenance`] for each index kind.

mod index_set;
mod key;
mod pk_prefix;
mod traits;

pub use index_set::{DuplicateKey, IndexMaintenance, IndexSet, LoadPart};
pub use key::{AutoIncrement, CallerPk, Generated, Key, KeyPrefix, PkGenerator, PkSource};
pub use pk_prefix::PkPrefix;
pub use traits::{Field, Row};
