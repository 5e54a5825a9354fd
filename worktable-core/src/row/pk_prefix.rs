//! Prefix searches on a composite primary key: [`PkPrefix`].

use std::cmp::Ordering;

use super::traits::Row;

/// A row type whose composite primary key can be searched by a leading
/// part: `#[pk]` on `account` and on `day` (key `(u32, u16)`) implements
/// `PkPrefix<u32>` (the `account` part); a prefix of two or more fields is
/// a tuple, and a `String` first field can also be given as `&str`.
/// `#[derive(Table)]` implements it for every proper prefix of a key of
/// two or more fields, except on `#[pk(hash)]` tables, whose keys keep no
/// order. Enables [`WorkTable::prefix`](crate::WorkTable::prefix) and the
/// same on snapshots, in transactions and as a query source.
///
/// ```
/// use worktable_core::{PkPrefix, Row, WorkTable};
///
/// /// How many rows have a primary key starting with `prefix`.
/// fn count_under<R: PkPrefix<X>, X: Clone>(table: &WorkTable<R>, prefix: X) -> usize {
///     table.prefix(prefix).count()
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "the primary key of `{Self}` cannot be searched by a prefix of type `{X}`",
    label = "not a prefix of this table's primary key",
    note = "a prefix is the value of the first `#[pk]` field, or a tuple of the values of the first ones (not all of them: use `get` for a whole key); a key of one field has no prefix, and a `#[pk(hash)]` key keeps no order and has no prefix searches"
)]
pub trait PkPrefix<X>: Row {
    /// How many leading key fields the prefix covers.
    const LEN: usize;

    /// Where `prefix` sorts relative to `pk`: `Equal` when `pk` starts
    /// with `prefix`.
    fn cmp_prefix(prefix: &X, pk: &Self::Pk) -> Ordering;
}
