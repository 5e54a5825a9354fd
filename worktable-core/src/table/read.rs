//! Reads: point look-ups, index look-ups, ranges and iteration. None of
//! them takes a lock or waits for a writer.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::Hash;
use std::marker::PhantomData;
use std::ops::RangeBounds;

use crossbeam_epoch as epoch;

use super::WorkTable;
use crate::events::ChangeEvent;
use crate::index::entry::{Borrowed, IndexEntry, KeyOrder, SeekRange, owned_bounds};
use crate::index::{
    Index, IndexPrefix, IndexStore, LookupKey, OrderedIndex, OrderedStore, UniqueIndex,
    UniqueLookup, pks_with_key,
};
use crate::page::{Version, deserialize};
use crate::row::Row;

impl<R: Row> WorkTable<R> {
    /// The row with primary key `pk`.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     client_ref: String,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, client_ref: "A-1".into() }).await?;
    ///     assert_eq!(orders.get(&1).unwrap().client_ref, "A-1");
    ///     assert_eq!(orders.get(&99), None);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn get<Q>(&self, pk: &Q) -> Option<R>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.read(pk, deserialize::<R>)
    }

    /// Runs `f` on the archived row with primary key `pk`, in place, without
    /// deserializing it: the cheapest way to read a few fields.
    ///
    /// The reference cannot escape `f`. While `f` runs, the slot it reads is
    /// kept from reuse, so keep `f` short.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, price: 100 }).await?;
    ///     let price = orders.read(&1, |order| order.price.to_native());
    ///     assert_eq!(price, Some(100));
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn read<Q, T>(&self, pk: &Q, f: impl FnOnce(&R::Archived) -> T) -> Option<T>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = epoch::pin();
        let version = self.version(pk, &guard);
        if let Some(change) = self.publishing(pk) {
            return change.images().0.map(|before| f(before.archived()));
        }
        Some(f(self.store.archived(version?)))
    }

    /// The change to row `pk` of a transaction that was still publishing
    /// its changes when the row was read: until it has published them
    /// all, readers without a read point see the row as it was before
    /// (the change's "before"), so that they see all of the transaction or
    /// none of it. Called after reading the row; one atomic load when no
    /// read point is registered. A table on its own commits one change at
    /// a time (it has no transactions), so nothing is ever partly
    /// published there.
    #[inline]
    fn publishing<Q>(&self, pk: &Q) -> Option<ChangeEvent<R>>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.in_database() {
            return None;
        }
        let history = self.events.history();
        if !history.changed_after(0) {
            return None;
        }
        let published = self.events.published();
        if !history.changed_after(published) {
            return None;
        }
        history.first_after(pk, published)
    }

    /// Whether a transaction was publishing its changes (see
    /// [`publishing`](Self::publishing)).
    #[inline]
    fn publication_in_progress(&self) -> bool {
        if !self.in_database() {
            return false;
        }
        let history = self.events.history();
        history.changed_after(0) && history.changed_after(self.events.published())
    }

    /// The committed version of row `pk`, readable while `guard` stays
    /// pinned.
    #[inline]
    fn version<'g, Q>(&'g self, pk: &Q, guard: &'g epoch::Guard) -> Option<Version<'g>>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.primary
            .with_cell(pk, |cell| self.store.version(cell, guard))
    }

    /// Calls `f` with the archived row `pk` as it was at commit `at`, a
    /// registered read point (see `events::history` for why reading the
    /// current version first, then the history, is sound).
    pub(crate) fn read_at<Q, T>(
        &self,
        pk: &Q,
        at: u64,
        f: impl FnOnce(&R::Archived) -> T,
    ) -> Option<T>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = epoch::pin();
        let current = self.version(pk, &guard);
        let history = self.events.history();
        if history.changed_after(at)
            && let Some(change) = history.first_after(pk, at)
        {
            return change.images().0.map(|before| f(before.archived()));
        }
        current.map(|version| f(self.store.archived(version)))
    }

    /// The archived row `pk`, valid while `guard` stays pinned.
    #[inline]
    pub(crate) fn archived<'g, Q>(
        &'g self,
        pk: &Q,
        guard: &'g epoch::Guard,
    ) -> Option<&'g R::Archived>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let version = self.version(pk, guard)?;
        Some(self.store.archived(version))
    }

    /// Every row, archived, in the order the rows lie in the pages, for full
    /// scans: reading pages front to back is several times faster than
    /// following an index (the hardware prefetcher then hides the memory
    /// latency). The rows' locations are taken from the primary index under
    /// `guard`, which keeps them readable.
    pub(crate) fn archived_rows<'g>(
        &'g self,
        guard: &'g epoch::Guard,
    ) -> impl Iterator<Item = &'g R::Archived> + 'g {
        let mut versions = self.store.page_order(self.len(), guard);
        self.primary.for_each_cell(|cell| versions.push(cell));
        versions
            .into_ordered()
            .map(|version| self.store.archived(version))
    }

    /// Whether a row with primary key `pk` exists.
    pub fn contains<Q>(&self, pk: &Q) -> bool
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let contains = self.primary.contains(pk);
        if self.publication_in_progress() {
            return self.read(pk, |_| ()).is_some();
        }
        contains
    }

    /// The row whose key in the unique index `index` is `key`.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     #[index(unique)]
    ///     client_ref: String,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, client_ref: "A-1".into() }).await?;
    ///     orders.insert(Order { id: 2, client_ref: "B-2".into() }).await?;
    ///     assert_eq!(orders.get_by(Order::CLIENT_REF, "B-2").unwrap().id, 2);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn get_by<I, Q>(&self, index: I, key: &Q) -> Option<R>
    where
        I: UniqueIndex<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let _ = index;
        let guard = epoch::pin();
        // Reading the primary index while holding the unique index's shard
        // guard is safe: no writer holds a guard of the primary index while
        // waiting for another map's.
        let found = I::store(&self.indexes).find(key, |pk, alone| {
            let version = self.version(pk, &guard)?;
            // Of rows whose keys share a hash (rare), only one has the key.
            (alone || key.eq_key(&I::key_of_archived(self.store.archived(version))))
                .then_some(version)
        });
        if self.publication_in_progress() {
            return self.get_by_slowly::<I, Q>(key);
        }
        let row = deserialize::<R>(self.store.archived(found?));
        // The row found may have another key with the same hash, or be one
        // whose key a write in progress is changing (see `write`).
        I::key_is(&row, key).then_some(row)
    }

    /// [`get_by`](Self::get_by) while a transaction publishes: every row
    /// the index leads to, read as readers without a read point see it.
    fn get_by_slowly<I, Q>(&self, key: &Q) -> Option<R>
    where
        I: UniqueIndex<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let mut pks = Vec::new();
        I::store(&self.indexes).find(key, |pk, _| {
            pks.push(pk.clone());
            None::<()>
        });
        pks.iter()
            .filter_map(|pk| self.get(pk))
            .find(|row| I::key_is(row, key))
    }

    /// Every row whose key in `index` is `key`, in primary-key order. Works
    /// for unique indexes too (zero or one row).
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     #[index]
    ///     account: u32,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, account: 7 }).await?;
    ///     orders.insert(Order { id: 2, account: 8 }).await?;
    ///     orders.insert(Order { id: 3, account: 7 }).await?;
    ///     let ids: Vec<u64> = orders.find_by(Order::ACCOUNT, &7).iter().map(|o| o.id).collect();
    ///     assert_eq!(ids, [1, 3]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn find_by<I, Q>(&self, index: I, key: &Q) -> Vec<R>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        if self.in_database() {
            return self.snapshot().find_by(index, key);
        }
        // One guard for the whole call: the versions found first stay
        // readable until they are deserialized.
        let guard = epoch::pin();
        let store = I::store(&self.indexes);
        let versions: Vec<Version<'_>> = match store.ordered() {
            Some(ordered) => ordered
                .range(SeekRange::only(Borrowed(key)))
                .filter_map(|entry| self.version(&entry.pk, &guard))
                .collect(),
            None => store
                .hashed(key)
                .and_then(|pk| self.version(&pk, &guard))
                .into_iter()
                .collect(),
        };
        self.store.fetch(&versions);
        versions
            .into_iter()
            .map(|version| deserialize::<R>(self.store.archived(version)))
            // An entry may lead to a row whose key a write in progress is
            // changing: see `rows_of`.
            .filter(|row| I::key_is(row, key))
            .collect()
    }

    /// The rows whose key in `index` falls in `range`, in key order (rows of
    /// one key in primary-key order). Reverse it with `.rev()`.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     #[index]
    ///     account: u32,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, account: 7 }).await?;
    ///     orders.insert(Order { id: 2, account: 8 }).await?;
    ///     orders.insert(Order { id: 3, account: 7 }).await?;
    ///     let accounts: Vec<u32> = orders.range_by(Order::ACCOUNT, 5..=8).rev().map(|o| o.account).collect();
    ///     assert_eq!(accounts, [8, 7, 7]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn range_by<I, B>(&self, index: I, range: B) -> impl DoubleEndedIterator<Item = R> + '_
    where
        I: OrderedIndex<R>,
        B: RangeBounds<I::Key>,
    {
        if self.in_database() {
            return Rows::Collected(self.snapshot().range_by(index, range));
        }
        let (start, end) = owned_bounds(&range);
        let entries = I::store(&self.indexes)
            .entries()
            .range(SeekRange::new(start, end));
        Rows::Lazy(self.rows_of(entries, |row, key| I::key_is(row, key)))
    }

    /// The rows whose key in the composite index `index` starts with
    /// `prefix`, in key order. The prefix is the first field's value (or a
    /// reference to a borrowed form of it, like `&str` for a `String`), or a
    /// tuple of the first fields' values.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// #[table(index(name = "by_account_day", fields(account, day)))]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     account: u32,
    ///     day: u16,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, account: 7, day: 1 }).await?;
    ///     orders.insert(Order { id: 2, account: 8, day: 1 }).await?;
    ///     orders.insert(Order { id: 3, account: 7, day: 2 }).await?;
    ///     let days: Vec<u16> = orders.prefix_by(Order::BY_ACCOUNT_DAY, 7).map(|o| o.day).collect();
    ///     assert_eq!(days, [1, 2]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn prefix_by<'a, I, X>(
        &'a self,
        index: I,
        prefix: X,
    ) -> impl DoubleEndedIterator<Item = R> + 'a
    where
        I: IndexPrefix<R, X>,
        X: Clone + 'a,
    {
        if self.in_database() {
            return Rows::Collected(self.snapshot().prefix_by(index, prefix));
        }
        let target = PrefixOf::<R, I, X>::new(prefix);
        let entries = I::store(&self.indexes)
            .entries()
            .range(SeekRange::only(target));
        Rows::Lazy(self.rows_of(entries, |row, key| I::key_is(row, key)))
    }

    /// The rows whose primary key falls in `range`, in primary-key order.
    /// Reverse it with `.rev()`.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1 }).await?;
    ///     orders.insert(Order { id: 2 }).await?;
    ///     orders.insert(Order { id: 3 }).await?;
    ///     let ids: Vec<u64> = orders.range(2..).map(|o| o.id).collect();
    ///     assert_eq!(ids, [2, 3]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn range<B>(&self, range: B) -> impl DoubleEndedIterator<Item = R> + '_
    where
        B: RangeBounds<R::Pk>,
    {
        if self.in_database() {
            return Rows::Collected(self.snapshot().range(range));
        }
        Rows::Lazy(self.rows_by_pk(self.primary.keys(&range)))
    }

    /// Every row, in primary-key order. Reverse it with `.rev()`.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1 }).await?;
    ///     orders.insert(Order { id: 2 }).await?;
    ///     orders.insert(Order { id: 3 }).await?;
    ///     assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 2, 3]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = R> + '_ {
        if self.in_database() {
            return Rows::Collected(self.snapshot().iter());
        }
        Rows::Lazy(self.rows_by_pk(self.primary.keys(&..)))
    }

    /// Whether the table belongs to a database, where transactions change
    /// several rows at once: its reads of several rows then read at one
    /// commit point, through a snapshot, to see every transaction whole.
    #[inline]
    pub(crate) fn in_database(&self) -> bool {
        self.events.database_order().is_some()
    }

    /// Primary keys of the entries of `index` with key `key`, in
    /// primary-key order, without reading the rows.
    pub(super) fn pks_by<I, Q>(&self, key: &Q) -> Vec<R::Pk>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        pks_with_key::<R, I, Q>(&self.indexes, key)
    }

    /// Primary keys in `range`, in order, without reading the rows.
    pub(super) fn pks_in(&self, range: &impl RangeBounds<R::Pk>) -> Vec<R::Pk> {
        self.primary.keys(range).collect()
    }

    /// The live rows behind secondary-index `entries` whose key passes
    /// `check(row, entry key)`.
    ///
    /// An entry may lead to a row that is being inserted or deleted, or whose
    /// key is being changed; the row is then skipped, so every row returned
    /// was committed and matched its entry when it was read.
    fn rows_of<'a, K: 'a>(
        &'a self,
        entries: impl DoubleEndedIterator<Item = IndexEntry<K, R::Pk>> + 'a,
        check: impl Fn(&R, &K) -> bool + 'a,
    ) -> impl DoubleEndedIterator<Item = R> + 'a {
        entries.filter_map(move |entry| {
            let row = self.get(&entry.pk)?;
            check(&row, &entry.key).then_some(row)
        })
    }

    /// The live rows behind primary-index `entries`.
    pub(super) fn rows_by_pk<'a>(
        &'a self,
        keys: impl DoubleEndedIterator<Item = R::Pk> + 'a,
    ) -> impl DoubleEndedIterator<Item = R> + 'a {
        keys.filter_map(move |pk| self.get(&pk))
    }
}

/// Rows read lazily from the table, or collected at one commit point.
pub(super) enum Rows<L, R> {
    Lazy(L),
    Collected(std::vec::IntoIter<R>),
}

impl<R, L: Iterator<Item = R>> Iterator for Rows<L, R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        match self {
            Self::Lazy(rows) => rows.next(),
            Self::Collected(rows) => rows.next(),
        }
    }
}

impl<R, L: DoubleEndedIterator<Item = R>> DoubleEndedIterator for Rows<L, R> {
    fn next_back(&mut self) -> Option<R> {
        match self {
            Self::Lazy(rows) => rows.next_back(),
            Self::Collected(rows) => rows.next_back(),
        }
    }
}

/// Probe target standing for every key of index `I` that starts with a
/// prefix.
pub(super) struct PrefixOf<R, I, X> {
    prefix: X,
    _index: PhantomData<fn() -> (R, I)>,
}

impl<R, I, X> PrefixOf<R, I, X> {
    pub(super) fn new(prefix: X) -> Self {
        Self {
            prefix,
            _index: PhantomData,
        }
    }
}

impl<R, I, X: Clone> Clone for PrefixOf<R, I, X> {
    fn clone(&self) -> Self {
        Self {
            prefix: self.prefix.clone(),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: IndexPrefix<R, X>, X> KeyOrder<I::Key> for PrefixOf<R, I, X> {
    fn cmp_key(&self, key: &I::Key) -> Ordering {
        I::cmp_prefix(&self.prefix, key)
    }
}
