//! Where a query's rows come from: the whole table or a primary-key range,
//! or an index key, range or prefix.

use std::cmp::Ordering;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use crate::index::entry::{Exact, IndexEntry, KeyOrder, SeekRange, owned_bounds};
use crate::index::{Index, IndexPrefix, IndexStore, OrderedIndex, OrderedStore};
use crate::row::{PkPrefix, Row};
use crate::table::WorkTable;

/// A source of query rows. Implemented by the source types of this module;
/// not meant to be implemented elsewhere.
pub trait Source<R: Row> {
    /// One entry of the scan.
    #[doc(hidden)]
    type Entry<'a>
    where
        Self: 'a,
        R: 'a;

    /// The entries, in the source's order or reversed.
    #[doc(hidden)]
    fn entries<'a>(
        &'a self,
        table: &'a WorkTable<R>,
        reverse: bool,
    ) -> impl Iterator<Item = Self::Entry<'a>> + 'a;

    /// The primary key an entry leads to.
    #[doc(hidden)]
    fn pk<'e, 'a: 'e>(entry: &'e Self::Entry<'a>) -> &'e R::Pk
    where
        Self: 'a;

    /// Whether the row an entry leads to still has the entry's key (a row
    /// whose key is changing is skipped where it no longer belongs).
    #[doc(hidden)]
    fn fits<'a>(&'a self, entry: &Self::Entry<'a>, row: &R::Archived) -> bool;

    /// Whether a row (read again under its lock) is still selected.
    #[doc(hidden)]
    fn selects(&self, row: &R::Archived) -> bool;

    /// Whether the source is every row of the table.
    #[doc(hidden)]
    fn whole_table(&self) -> bool {
        false
    }

    /// The order of two rows in the source.
    #[doc(hidden)]
    fn cmp_rows(&self, a: &R, b: &R) -> Ordering;

    /// The fields the scan's order follows, once the fields the source fixes
    /// are left out; rows with equal values in them come in primary-key
    /// order.
    #[doc(hidden)]
    fn order_fields(&self) -> &'static [&'static str];
}

/// An iterator run forward or backward.
enum Directed<I> {
    Forward(I),
    Backward(std::iter::Rev<I>),
}

impl<I: DoubleEndedIterator> Directed<I> {
    fn new(iter: I, reverse: bool) -> Self {
        if reverse {
            Self::Backward(iter.rev())
        } else {
            Self::Forward(iter)
        }
    }
}

impl<I: DoubleEndedIterator> Iterator for Directed<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        match self {
            Self::Forward(iter) => iter.next(),
            Self::Backward(iter) => iter.next(),
        }
    }
}

/// Rows whose primary key is in a range (the whole table by default), in
/// primary-key order.
#[derive(Debug)]
pub struct PkRange<R: Row> {
    start: Bound<R::Pk>,
    end: Bound<R::Pk>,
}

impl<R: Row> PkRange<R> {
    pub(crate) fn new(range: &impl RangeBounds<R::Pk>) -> Self {
        Self {
            start: range.start_bound().cloned(),
            end: range.end_bound().cloned(),
        }
    }

    pub(crate) fn all() -> Self {
        Self {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }
}

impl<R: Row> Source<R> for PkRange<R> {
    type Entry<'a>
        = IndexEntry<R::Pk, ()>
    where
        Self: 'a;

    fn entries<'a>(
        &'a self,
        table: &'a WorkTable<R>,
        reverse: bool,
    ) -> impl Iterator<Item = Self::Entry<'a>> + 'a {
        let keys = table.pk_keys(&(self.start.clone(), self.end.clone()));
        Directed::new(keys.map(|key| IndexEntry { key, pk: () }), reverse)
    }

    fn pk<'e, 'a: 'e>(entry: &'e Self::Entry<'a>) -> &'e R::Pk
    where
        Self: 'a,
    {
        &entry.key
    }

    fn fits<'a>(&'a self, _entry: &Self::Entry<'a>, _row: &R::Archived) -> bool {
        true // a row's primary key never changes
    }

    fn selects(&self, row: &R::Archived) -> bool {
        (self.start.as_ref(), self.end.as_ref()).contains(&R::pk_of_archived(row))
    }

    fn order_fields(&self) -> &'static [&'static str] {
        R::PK_FIELDS
    }

    fn cmp_rows(&self, a: &R, b: &R) -> Ordering {
        a.pk().cmp(&b.pk())
    }

    fn whole_table(&self) -> bool {
        matches!(
            (&self.start, &self.end),
            (Bound::Unbounded, Bound::Unbounded)
        )
    }
}

/// Rows whose composite primary key starts with a prefix, in primary-key
/// order.
#[derive(Debug)]
pub struct PkPrefixRows<R: Row, X> {
    prefix: X,
    _row: PhantomData<fn() -> R>,
}

impl<R: Row, X> PkPrefixRows<R, X> {
    pub(crate) fn new(prefix: X) -> Self {
        Self {
            prefix,
            _row: PhantomData,
        }
    }
}

impl<R: PkPrefix<X>, X: Clone> Source<R> for PkPrefixRows<R, X> {
    type Entry<'a>
        = IndexEntry<R::Pk, ()>
    where
        Self: 'a;

    fn entries<'a>(
        &'a self,
        table: &'a WorkTable<R>,
        reverse: bool,
    ) -> impl Iterator<Item = Self::Entry<'a>> + 'a {
        let keys = table.pk_keys_with_prefix(self.prefix.clone());
        Directed::new(keys.map(|key| IndexEntry { key, pk: () }), reverse)
    }

    fn pk<'e, 'a: 'e>(entry: &'e Self::Entry<'a>) -> &'e R::Pk
    where
        Self: 'a,
    {
        &entry.key
    }

    fn fits<'a>(&'a self, _entry: &Self::Entry<'a>, _row: &R::Archived) -> bool {
        true // a row's primary key never changes
    }

    fn selects(&self, row: &R::Archived) -> bool {
        R::cmp_prefix(&self.prefix, &R::pk_of_archived(row)).is_eq()
    }

    fn order_fields(&self) -> &'static [&'static str] {
        // The prefix fixes the leading key fields; the rest order the rows.
        &R::PK_FIELDS[<R as PkPrefix<X>>::LEN..]
    }

    fn cmp_rows(&self, a: &R, b: &R) -> Ordering {
        a.pk().cmp(&b.pk())
    }
}

/// The ordered entries of index `I` between two probes.
fn index_entries<'a, R: Row, I: OrderedIndex<R>, T: KeyOrder<I::Key> + 'a>(
    table: &'a WorkTable<R>,
    range: SeekRange<crate::index::entry::Edge<T>>,
    reverse: bool,
) -> impl Iterator<Item = IndexEntry<I::Key, R::Pk>> + 'a {
    Directed::new(I::store(table.indexes()).entries().range(range), reverse)
}

/// Rows whose key in index `I` is one key, in primary-key order.
#[derive(Debug)]
pub struct IndexKey<R: Row, I: Index<R>> {
    key: I::Key,
    _index: PhantomData<fn() -> I>,
}

impl<R: Row, I: Index<R>> IndexKey<R, I> {
    pub(crate) fn new(key: I::Key) -> Self {
        Self {
            key,
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: Index<R>> Source<R> for IndexKey<R, I> {
    type Entry<'a>
        = IndexEntry<I::Key, R::Pk>
    where
        Self: 'a;

    fn entries<'a>(
        &'a self,
        table: &'a WorkTable<R>,
        reverse: bool,
    ) -> impl Iterator<Item = Self::Entry<'a>> + 'a {
        // An ordered index's entries of the key, or a hash index's one.
        let store = I::store(table.indexes());
        let ordered = store.ordered().map(|ordered| {
            Directed::new(
                ordered.range(SeekRange::only(Exact(self.key.clone()))),
                reverse,
            )
        });
        let hashed = store.hashed(&self.key).map(|pk| IndexEntry {
            key: self.key.clone(),
            pk,
        });
        ordered.into_iter().flatten().chain(hashed)
    }

    fn pk<'e, 'a: 'e>(entry: &'e Self::Entry<'a>) -> &'e R::Pk
    where
        Self: 'a,
    {
        &entry.pk
    }

    fn fits<'a>(&'a self, entry: &Self::Entry<'a>, row: &R::Archived) -> bool {
        I::archived_has(row, &entry.key)
    }

    fn selects(&self, row: &R::Archived) -> bool {
        I::archived_has(row, &self.key)
    }

    fn order_fields(&self) -> &'static [&'static str] {
        &[] // one key: rows come in primary-key order
    }

    fn cmp_rows(&self, a: &R, b: &R) -> Ordering {
        a.pk().cmp(&b.pk())
    }
}

/// Rows whose key in index `I` is in a range, in key order.
#[derive(Debug)]
pub struct IndexRange<R: Row, I: OrderedIndex<R>> {
    start: Bound<I::Key>,
    end: Bound<I::Key>,
    _index: PhantomData<fn() -> (R, I)>,
}

impl<R: Row, I: OrderedIndex<R>> IndexRange<R, I> {
    pub(crate) fn new(range: &impl RangeBounds<I::Key>) -> Self {
        Self {
            start: range.start_bound().cloned(),
            end: range.end_bound().cloned(),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: OrderedIndex<R>> Source<R> for IndexRange<R, I> {
    type Entry<'a>
        = IndexEntry<I::Key, R::Pk>
    where
        Self: 'a;

    fn entries<'a>(
        &'a self,
        table: &'a WorkTable<R>,
        reverse: bool,
    ) -> impl Iterator<Item = Self::Entry<'a>> + 'a {
        let (start, end) = owned_bounds(&(self.start.clone(), self.end.clone()));
        index_entries::<R, I, _>(table, SeekRange::new(start, end), reverse)
    }

    fn pk<'e, 'a: 'e>(entry: &'e Self::Entry<'a>) -> &'e R::Pk
    where
        Self: 'a,
    {
        &entry.pk
    }

    fn fits<'a>(&'a self, entry: &Self::Entry<'a>, row: &R::Archived) -> bool {
        I::key_of_archived(row) == entry.key
    }

    fn selects(&self, row: &R::Archived) -> bool {
        (self.start.as_ref(), self.end.as_ref()).contains(&I::key_of_archived(row))
    }

    fn order_fields(&self) -> &'static [&'static str] {
        I::FIELDS
    }

    fn cmp_rows(&self, a: &R, b: &R) -> Ordering {
        (I::key(a), a.pk()).cmp(&(I::key(b), b.pk()))
    }
}

/// Rows whose key in composite index `I` starts with a prefix, in key order.
#[derive(Debug)]
pub struct IndexPrefixOf<R: Row, I: IndexPrefix<R, X>, X> {
    prefix: X,
    _index: PhantomData<fn() -> (R, I)>,
}

impl<R: Row, I: IndexPrefix<R, X>, X> IndexPrefixOf<R, I, X> {
    pub(crate) fn new(prefix: X) -> Self {
        Self {
            prefix,
            _index: PhantomData,
        }
    }
}

/// Probe target for the keys that start with a prefix.
struct PrefixTarget<'p, R, I, X> {
    prefix: &'p X,
    _index: PhantomData<fn() -> (R, I)>,
}

impl<R, I, X> Clone for PrefixTarget<'_, R, I, X> {
    fn clone(&self) -> Self {
        Self {
            prefix: self.prefix,
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: IndexPrefix<R, X>, X> KeyOrder<I::Key> for PrefixTarget<'_, R, I, X> {
    fn cmp_key(&self, key: &I::Key) -> Ordering {
        I::cmp_prefix(self.prefix, key)
    }
}

impl<R: Row, I: IndexPrefix<R, X>, X> Source<R> for IndexPrefixOf<R, I, X> {
    type Entry<'a>
        = IndexEntry<I::Key, R::Pk>
    where
        Self: 'a;

    fn entries<'a>(
        &'a self,
        table: &'a WorkTable<R>,
        reverse: bool,
    ) -> impl Iterator<Item = Self::Entry<'a>> + 'a {
        let target = PrefixTarget::<R, I, X> {
            prefix: &self.prefix,
            _index: PhantomData,
        };
        index_entries::<R, I, _>(table, SeekRange::only(target), reverse)
    }

    fn pk<'e, 'a: 'e>(entry: &'e Self::Entry<'a>) -> &'e R::Pk
    where
        Self: 'a,
    {
        &entry.pk
    }

    fn fits<'a>(&'a self, entry: &Self::Entry<'a>, row: &R::Archived) -> bool {
        I::key_of_archived(row) == entry.key
    }

    fn selects(&self, row: &R::Archived) -> bool {
        I::cmp_prefix(&self.prefix, &I::key_of_archived(row)) == Ordering::Equal
    }

    fn order_fields(&self) -> &'static [&'static str] {
        // The prefix fixes the leading fields; the rest order the rows.
        &I::FIELDS[I::LEN..]
    }

    fn cmp_rows(&self, a: &R, b: &R) -> Ordering {
        (I::key(a), a.pk()).cmp(&(I::key(b), b.pk()))
    }
}
