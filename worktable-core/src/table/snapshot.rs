//! Snapshots: read-only views of a table, or of every table of a database,
//! at one commit point.
//!
//! Taking one registers a *read point* with the commit order (O(1): one
//! lock, one map entry). While any read point is registered, every commit
//! takes the commit lock and keeps the version it replaces in its table's
//! history (`events::history`), where the snapshot finds the rows that
//! changed after its point. The versions are dropped when the last read
//! point that could see them is released.
//!
//! A look-up of several rows (an index key, a range, every row) through a
//! snapshot reads the current index, keeping the rows whose version at the
//! read point is selected, and *then* the rows the history says changed
//! after the point, keeping those whose version at the point is selected.
//! The history is read after the index so that a row whose entry a later
//! change removed before the scan reached it is still found: the change
//! recorded itself before it touched the index. A row found both ways is
//! the same version, kept once.
//!
//! Depends on: `events` (read points, history), `index`, `row`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::Hash;
use std::ops::RangeBounds;
use std::sync::Arc;

use super::WorkTable;
use super::read::PrefixOf;
use crate::events::order::ReadPoints;
use crate::index::entry::{SeekRange, owned_bounds};
use crate::index::{
    Index, IndexPrefix, LookupKey, OrderedIndex, OrderedStore, UniqueIndex, pks_with_key,
};
use crate::page::deserialize;
use crate::row::Row;

/// A registered read point, shared by the table snapshots of one database
/// snapshot; released when the last is dropped. Used by the code
/// `#[derive(Database)]` generates; not a stable API.
pub struct ReadPoint<'a> {
    points: &'a dyn ReadPoints,
    at: u64,
}

impl<'a> ReadPoint<'a> {
    /// Registers a read point at the last published commit of `points`.
    pub(crate) fn register(points: &'a dyn ReadPoints) -> Arc<Self> {
        Arc::new(Self {
            at: points.register(),
            points,
        })
    }

    /// The commit number it reads at.
    pub fn commit(&self) -> u64 {
        self.at
    }
}

impl fmt::Debug for ReadPoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadPoint").field(&self.at).finish()
    }
}

impl Drop for ReadPoint<'_> {
    fn drop(&mut self) {
        self.points.release(self.at);
    }
}

/// A read-only view of one table at one commit point, from
/// [`WorkTable::snapshot`] or a database's `snapshot()`.
///
/// Every read through it sees the table as it was when the snapshot was
/// taken — exactly the changes numbered up to [`commit`](Self::commit) —
/// however long it is held and whatever is written meanwhile. The
/// snapshots of a database's tables taken by one `snapshot()` call share
/// that point, so reads across them see one state of the database.
///
/// While a snapshot is held, writes to its table (and, in a database, to
/// every table) keep the versions they replace, and take the commit lock;
/// [`WorkTable::stats`] shows the versions kept
/// ([`TableStats::versions_held`](crate::TableStats::versions_held)). They
/// are dropped when the last snapshot that can see them is dropped.
///
/// Look-ups of one row cost a plain read's, plus one atomic load when no
/// row changed since the snapshot was taken; look-ups of several rows
/// collect them before returning the first.
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
///     orders.insert(Order { id: 2, price: 100 }).await?;
///     orders.insert(Order { id: 3, price: 100 }).await?;
///     let before = orders.snapshot();
///     orders.update_with(&1, |order| order.price = 1).await?;
///     orders.delete(&2).await?;
///     assert_eq!(before.get(&1).unwrap().price, 100);
///     assert_eq!(before.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 2, 3]);
///     assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 3]);
///     Ok::<(), TableError>(())
/// })?;
/// # Ok::<(), TableError>(())
/// ```
pub struct TableSnapshot<'a, R: Row> {
    table: &'a WorkTable<R>,
    point: Arc<ReadPoint<'a>>,
}

impl<R: Row> Clone for TableSnapshot<'_, R> {
    fn clone(&self) -> Self {
        Self {
            table: self.table,
            point: Arc::clone(&self.point),
        }
    }
}

impl<R: Row> fmt::Debug for TableSnapshot<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableSnapshot")
            .field("table", &R::TABLE_NAME)
            .field("commit", &self.commit())
            .finish()
    }
}

impl<R: Row> WorkTable<R> {
    /// A read-only view of the table as it is now, however long it is
    /// held: see [`TableSnapshot`]. Taking one is O(1). A table of a
    /// database gets a view of itself alone; the database's `snapshot()`
    /// gives all its tables at one point.
    pub fn snapshot(&self) -> TableSnapshot<'_, R> {
        TableSnapshot::at(self, &ReadPoint::register(self.events.read_points()))
    }

    /// The commit order of the table's database; `None` for a table on its
    /// own.
    pub(crate) fn database_order(&self) -> Option<&crate::events::order::CommitOrder> {
        self.events.database_order().map(|order| &**order)
    }

    /// The versions this table's changes replaced while read points were
    /// registered.
    pub(crate) fn history(&self) -> &crate::events::history::History<R> {
        self.events.history()
    }

    /// Calls `found` with every row changed after the read point `at`, as
    /// it was at `at` (a row inserted since has no version then). A look-up
    /// at `at` reads the current index first, then this: see the module
    /// docs for why in that order.
    pub(crate) fn rows_changed_after(&self, at: u64, mut found: impl FnMut(&R::Pk, &R::Archived)) {
        let history = self.events.history();
        if !history.changed_after(at) {
            return;
        }
        for change in history.changes_after(at) {
            if let Some(before) = change.images().0 {
                found(change.pk(), before.archived());
            }
        }
    }

    /// The read points of the table's commit order, for a database's
    /// snapshot.
    pub(crate) fn read_points(&self) -> &dyn ReadPoints {
        self.events.read_points()
    }
}

impl<'a, R: Row> TableSnapshot<'a, R> {
    /// A view of `table` at `point`, registered with the table's commit
    /// order.
    pub(crate) fn at(table: &'a WorkTable<R>, point: &Arc<ReadPoint<'a>>) -> Self {
        Self {
            table,
            point: Arc::clone(point),
        }
    }

    /// The read point the snapshot holds.
    pub(crate) fn point(&self) -> Arc<ReadPoint<'a>> {
        Arc::clone(&self.point)
    }

    /// The commit point: the number of the last change the snapshot sees.
    pub fn commit(&self) -> u64 {
        self.point.at
    }

    /// The table the snapshot views.
    pub fn table(&self) -> &'a WorkTable<R> {
        self.table
    }

    /// The row with primary key `pk`, as at the snapshot's point.
    pub fn get<Q>(&self, pk: &Q) -> Option<R>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.read(pk, deserialize::<R>)
    }

    /// Runs `f` on the archived row with primary key `pk`, as at the
    /// snapshot's point, in place (see [`WorkTable::read`]).
    pub fn read<Q, T>(&self, pk: &Q, f: impl FnOnce(&R::Archived) -> T) -> Option<T>
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.table.read_at(pk, self.point.at, f)
    }

    /// Whether a row with primary key `pk` existed at the snapshot's point.
    pub fn contains<Q>(&self, pk: &Q) -> bool
    where
        R::Pk: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.read(pk, |_| ()).is_some()
    }

    /// Number of rows at the snapshot's point. Takes time in proportion to
    /// the number of rows.
    pub fn len(&self) -> usize {
        let pks = self.table.primary.keys(&..);
        self.collect(pks, |archived| Some((R::pk_of_archived(archived), ())))
            .len()
    }

    /// Whether the table had no rows at the snapshot's point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The row whose key in the unique index `index` was `key`.
    pub fn get_by<I, Q>(&self, index: I, key: &Q) -> Option<R>
    where
        I: UniqueIndex<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        self.find_by(index, key).pop()
    }

    /// Every row whose key in `index` was `key`, in primary-key order.
    pub fn find_by<I, Q>(&self, index: I, key: &Q) -> Vec<R>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let _ = index;
        let pks = pks_with_key::<R, I, Q>(&self.table.indexes, key).into_iter();
        self.rows(pks, |archived| I::archived_has(archived, key).then_some(()))
    }

    /// The rows whose key in `index` fell in `range`, in key order (rows
    /// of one key in primary-key order). Reverse it with `.rev()`.
    pub fn range_by<I, B>(&self, index: I, range: B) -> std::vec::IntoIter<R>
    where
        I: OrderedIndex<R>,
        B: RangeBounds<I::Key>,
    {
        let _ = index;
        let (start, end) = owned_bounds(&range);
        let pks = I::store(&self.table.indexes)
            .entries()
            .range(SeekRange::new(start, end))
            .map(|entry| entry.pk);
        self.rows(pks, |archived| {
            let found = I::key_of_archived(archived);
            range.contains(&found).then_some(found)
        })
        .into_iter()
    }

    /// The rows whose key in the composite index `index` started with
    /// `prefix`, in key order (see [`WorkTable::prefix_by`]).
    pub fn prefix_by<I, X>(&self, index: I, prefix: X) -> std::vec::IntoIter<R>
    where
        I: IndexPrefix<R, X>,
        X: Clone,
    {
        let _ = index;
        let pks = I::store(&self.table.indexes)
            .entries()
            .range(SeekRange::only(PrefixOf::<R, I, X>::new(prefix.clone())))
            .map(|entry| entry.pk);
        self.rows(pks, |archived| {
            let found = I::key_of_archived(archived);
            (I::cmp_prefix(&prefix, &found) == Ordering::Equal).then_some(found)
        })
        .into_iter()
    }

    /// The rows whose primary key falls in `range`, in primary-key order.
    /// Reverse it with `.rev()`.
    pub fn range<B>(&self, range: B) -> std::vec::IntoIter<R>
    where
        B: RangeBounds<R::Pk>,
    {
        let pks = self.table.primary.keys(&range);
        self.rows(pks, |archived| {
            let pk = R::pk_of_archived(archived);
            range.contains(&pk).then_some(())
        })
        .into_iter()
    }

    /// A query over the table as at the snapshot's point (see
    /// [`Query`](crate::Query)): its rows are collected when it runs.
    /// [`Query::update_with`](crate::Query::update_with) and
    /// [`Query::delete`](crate::Query::delete) on it select the rows at the
    /// snapshot's point, then change those still selected in the table now.
    pub fn query(&self) -> crate::Query<'a, R> {
        crate::Query::over(self.table, Some(Arc::clone(&self.point)))
    }

    /// Every row at the snapshot's point, in primary-key order. Reverse it
    /// with `.rev()`.
    pub fn iter(&self) -> std::vec::IntoIter<R> {
        let pks = self.table.primary.keys(&..);
        self.rows(pks, |_| Some(())).into_iter()
    }

    /// The rows at the snapshot's point that `select` keeps, sorted by the
    /// key it gives and then by primary key: the current index's
    /// candidates `pks`, then the rows changed after the point.
    pub(super) fn rows<K: Ord>(
        &self,
        pks: impl Iterator<Item = R::Pk>,
        select: impl Fn(&R::Archived) -> Option<K>,
    ) -> Vec<R> {
        let with_rows =
            |archived: &R::Archived| select(archived).map(|key| (key, deserialize::<R>(archived)));
        self.collect(pks, with_rows)
            .into_iter()
            .map(|(_, _, row)| row)
            .collect()
    }

    /// `(key, pk, value)` of every row at the snapshot's point that
    /// `select` maps, sorted by key and primary key, each row once (see the
    /// module docs for why the history is read after the index).
    fn collect<K: Ord, T>(
        &self,
        pks: impl Iterator<Item = R::Pk>,
        select: impl Fn(&R::Archived) -> Option<(K, T)>,
    ) -> Vec<(K, R::Pk, T)> {
        let at = self.point.at;
        let mut found: Vec<(K, R::Pk, T)> = pks
            .filter_map(|pk| {
                let (key, value) = self.table.read_at(&pk, at, &select)??;
                Some((key, pk, value))
            })
            .collect();
        self.table.rows_changed_after(at, |pk, before| {
            if let Some((key, value)) = select(before) {
                found.push((key, pk.clone(), value));
            }
        });
        // A row can come twice: from the history, or from two entries while
        // a write moves it from one key to another. Stable sort: the scan's
        // rows are almost always in order already, and the pass is linear.
        found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        found.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        found
    }
}
