//! The traits `#[derive(Table)]` implements for each index, and the typed
//! handles users pass to look-ups.

use std::cmp::Ordering;

use super::LookupKey;
use super::ordered::OrderedMap;
use crate::row::{IndexMaintenance, Key, KeyPrefix, Row};

/// A secondary index of rows of type `R`, as a typed handle.
///
/// `#[derive(Table)]` generates one zero-sized handle per index and exposes
/// it as an associated constant of the row type, named after the index in
/// upper case (`#[index] account` → `Order::ACCOUNT`; a composite index named
/// `by_account_day` → `Order::BY_ACCOUNT_DAY`). Handles are values, so
/// generic code can take them as parameters:
///
/// ```
/// use worktable_core::{Index, Row, WorkTable};
///
/// /// How many rows have `key` in `index`.
/// fn count_by<R: Row, I: Index<R>>(table: &WorkTable<R>, index: I, key: &I::Key) -> usize {
///     table.find_by(index, key).len()
/// }
/// ```
///
/// Look-ups take the key, or a form of it that [`LookupKey`] lists
/// (`"x"` for a `String` key, `&Some("x")` for an `Option<String>` key).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an index of `{R}`",
    label = "not an index of `{R}`",
    note = "index handles are the constants `#[derive(Table)]` adds to the row type for each field with `#[index]` and each composite index, named in upper case (e.g. `Order::CLIENT_REF`); a field without `#[index]` has a field handle only"
)]
pub trait Index<R: Row>: Copy + Send + Sync + 'static {
    /// The indexed key: the field's type, or a tuple of the fields' types.
    type Key: Key;

    /// Where the index keeps its entries.
    #[doc(hidden)]
    type Store: IndexStore<R, Self>;

    /// The index's name: the field name, or the `name` of a composite index.
    const NAME: &'static str;

    /// Whether two rows may not share a key.
    const UNIQUE: bool;

    /// Names of the key's fields, in key order.
    const FIELDS: &'static [&'static str];

    /// The key of `row` in this index.
    ///
    /// # Panics
    ///
    /// On an `#[index(each)]` index, where a row has one key per distinct
    /// element of its field (and none for an empty one): read
    /// [`keys`](Self::keys) there, which works on every index.
    fn key(row: &R) -> Self::Key;

    /// The keys of `row` in this index, in order, without repeats: its one
    /// [`key`](Self::key), or for an `#[index(each)]` index one per distinct
    /// element of the field.
    fn keys(row: &R) -> Vec<Self::Key> {
        vec![Self::key(row)]
    }

    /// The key of an archived row, without deserializing the rest of it
    /// (panics as [`key`](Self::key) does).
    #[doc(hidden)]
    fn key_of_archived(archived: &R::Archived) -> Self::Key;

    /// [`keys`](Self::keys) of an archived row.
    #[doc(hidden)]
    fn keys_of_archived(archived: &R::Archived) -> Vec<Self::Key> {
        vec![Self::key_of_archived(archived)]
    }

    /// Whether `key` is one of the archived row's keys.
    #[doc(hidden)]
    fn archived_has<Q>(archived: &R::Archived, key: &Q) -> bool
    where
        Q: LookupKey<Self::Key> + ?Sized,
    {
        key.eq_key(&Self::key_of_archived(archived))
    }

    /// Whether `a` and `b` have the same key, without building the keys.
    #[doc(hidden)]
    fn same_key(a: &R, b: &R) -> bool;

    /// Whether `key` is one of `row`'s keys.
    #[doc(hidden)]
    fn key_is<Q>(row: &R, key: &Q) -> bool
    where
        Q: LookupKey<Self::Key> + ?Sized;

    /// The index's storage inside the table's index set.
    #[doc(hidden)]
    fn store(indexes: &R::Indexes) -> &Self::Store;

    /// The key type's order-preserving prefix, which the ordered entries
    /// keep beside each key (`#[derive(Table)]` gives it for `String` keys
    /// and composite keys that start with one).
    #[doc(hidden)]
    fn key_prefix() -> Option<KeyPrefix<Self::Key>> {
        None
    }
}

/// A secondary index whose keys are unique: `#[index(unique)]` or a
/// composite index with `unique` (ordered or `hash`). Enables
/// [`get_by`](crate::WorkTable::get_by) and
/// [`delete_by`](crate::WorkTable::delete_by).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a unique index of `{R}`",
    label = "needs a unique index of `{R}`",
    note = "`get_by` and `delete_by` need an index declared with `#[index(unique)]` or a composite index with `unique`; `find_by` and `delete_all_by` work with any index"
)]
pub trait UniqueIndex<R: Row>: Index<R, Store: UniqueLookup<R, Self>> {}

/// A secondary index that keeps its keys in order: every index except
/// `#[index(unique, hash)]` and `#[index(each)]`. Enables [`range_by`](crate::WorkTable::range_by),
/// [`prefix_by`](crate::WorkTable::prefix_by) and the query sources that
/// read an index in key order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an ordered index of `{R}`",
    label = "needs an ordered index of `{R}`",
    note = "ranges, prefixes and ordered query sources need an index that keeps its keys in order; an index declared with `hash` answers look-ups by a whole key only (`get_by`, `find_by`, `delete_by`): declare it without `hash` to range over it (in generic code, bound the handle with `OrderedIndex<R>`); an `each` index answers look-ups by one element only"
)]
pub trait OrderedIndex<R: Row>: Index<R, Store: OrderedStore<R, Self>> {}

/// A composite index that can be searched by a leading part of its key:
/// `#[table(index(name = "by_account_day", fields(account, day)))]`
/// implements `IndexPrefix<Order, u32>` (the `account` part).
/// A prefix of two or more fields is a tuple.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be searched by a prefix of type `{X}`",
    label = "not a prefix of this index's key",
    note = "a prefix is the value of the first field of a composite index, or a tuple of the values of its first fields (not all of them: use `find_by` for a whole key); an index declared with `hash` keeps no order and has no prefix searches"
)]
pub trait IndexPrefix<R: Row, X>: OrderedIndex<R> {
    /// How many leading key fields the prefix covers.
    const LEN: usize;

    /// Where `prefix` sorts relative to `key`: `Equal` when `key` starts
    /// with `prefix`.
    fn cmp_prefix(prefix: &X, key: &Self::Key) -> Ordering;
}

/// The storage of one index kind: ordered entries `(key, primary key)`, or
/// a hash map from key to primary key.
pub trait IndexStore<R: Row, I: Index<R>>: IndexMaintenance<R> + Default + 'static {
    /// The ordered entries; `None` for a hash index.
    fn ordered(&self) -> Option<&OrderedMap<I::Key, R::Pk>>;

    /// The primary key the entry of `key` leads to, in a hash index;
    /// `None` when no entry has `key`, and always in an ordered index
    /// (read its [`ordered`](Self::ordered) entries instead).
    fn hashed<Q>(&self, key: &Q) -> Option<R::Pk>
    where
        Q: LookupKey<I::Key> + ?Sized,
    {
        let _ = key;
        None
    }
}

/// The storage of an ordered index.
pub trait OrderedStore<R: Row, I: Index<R>>: IndexStore<R, I> {
    /// The ordered entries.
    fn entries(&self) -> &OrderedMap<I::Key, R::Pk>;
}

/// The storage of a unique index: look-ups by the key's hash.
pub trait UniqueLookup<R: Row, I: Index<R>>: IndexStore<R, I> {
    /// Calls `f` with the primary key of each row whose key may be `key`
    /// until `f` returns `Some`, while the map's lock for the key is held
    /// for reading: keep `f` short. `f` gets `alone == false` when several
    /// rows share the key's hash; either way the row it is led to may have
    /// another key by now, so the caller checks.
    fn find<Q, T>(&self, key: &Q, f: impl FnMut(&R::Pk, bool) -> Option<T>) -> Option<T>
    where
        Q: LookupKey<I::Key> + ?Sized;
}
