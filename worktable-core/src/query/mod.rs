//! Typed queries: a source (the table, a primary-key range, an index key,
//! range or prefix), filters on the row or on the archived row, ordering by
//! typed field handles, offset and limit.
//!
//! ```
//! use worktable_core::prelude::*;
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! struct Order {
//!     #[pk]
//!     id: u64,
//!     #[index]
//!     account: u32,
//!     day: u16,
//!     price: i64,
//! }
//!
//! futures::executor::block_on(async {
//!     let orders = WorkTable::<Order>::new();
//!     orders.insert(Order { id: 1, account: 7, day: 1, price: 100 }).await?;
//!     orders.insert(Order { id: 2, account: 8, day: 1, price: 50 }).await?;
//!     orders.insert(Order { id: 3, account: 7, day: 2, price: 250 }).await?;
//!     let cheapest_of_account_7 = orders
//!         .query()
//!         .by(Order::ACCOUNT, &7)
//!         .filter(|order| order.day >= 1)
//!         .order_by(Order::PRICE)
//!         .limit(1)
//!         .to_vec();
//!     assert_eq!(cheapest_of_account_7[0].id, 1);
//!     Ok::<(), TableError>(())
//! })?;
//! # Ok::<(), TableError>(())
//! ```
//!
//! # Order
//!
//! Without `order_by`, rows come in the source's order: primary-key order
//! for the table and primary-key ranges, key order for index ranges and
//! prefixes (rows of one key in primary-key order). With `order_by`, rows
//! come in the order of the given fields; rows equal on every field come in
//! primary-key order, ascending, whatever the fields' directions.
//!
//! When the requested order is the source's own order (e.g. a range of an
//! index ordered by that index's field), no sort is done: rows stream from
//! the index and `limit` stops the scan early. Otherwise the matching rows
//! are ranked; with a `limit`, only the best `offset + limit` rows are kept
//! (a bounded heap), never a full sort.
//!
//! # Queries and concurrent writers
//!
//! A query is not a snapshot: it walks the live indexes while writers run.
//! Every row it returns was a committed version when it was read, has the
//! source's key (a row whose key is changing is skipped where it no longer
//! belongs) and passes every filter. A row inserted, deleted or re-keyed
//! during the query may or may not be seen, and one re-keyed within the
//! source's range may be seen twice. [`count`](Query::count) and
//! [`exists`](Query::exists) follow the same rules.
//!
//! Depends on: `table`, `index`, `page`, `row`, `error`, `__private` (field deserialization).

mod order;
mod select;
mod source;

pub use source::{IndexKey, IndexPrefixOf, IndexRange, PkPrefixRows, PkRange, Source};

use self::order::{
    OrderTerm, Ranked, RankedArchived, TiesAscending, compare_rows, scan_direction, smallest,
};
use crossbeam_epoch as epoch;

use crate::error::Result;
use crate::page::{RowImage, deserialize};
use crate::row::{Field, Row};
use crate::table::{ReadPoint, WorkTable};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A filter on the archived row.
type ArchivedFilter<'t, R> =
    Box<dyn Fn(&<R as rkyv::Archive>::Archived) -> bool + Send + Sync + 't>;
/// A filter on the deserialized row.
type RowFilter<'t, R> = Box<dyn Fn(&R) -> bool + Send + Sync + 't>;

/// A query over a [`WorkTable`], built with [`WorkTable::query`].
///
/// Set the source first ([`range`](Self::range), [`by`](Self::by),
/// [`range_by`](Self::range_by), [`prefix_by`](Self::prefix_by); the whole
/// table by default), then filters, order, offset and limit, then run it with
/// [`to_vec`](Self::to_vec), [`iter`](Self::iter), [`first`](Self::first),
/// [`count`](Self::count) or [`exists`](Self::exists), or change every
/// matching row with [`update_with`](Self::update_with) or
/// [`delete`](Self::delete).
#[must_use = "a query does nothing until it is run"]
pub struct Query<'t, R: Row, S = PkRange<R>> {
    table: &'t WorkTable<R>,
    /// The read point of the snapshot the query reads through, if any.
    point: Option<Arc<ReadPoint<'t>>>,
    /// The transaction the query runs in, if any: its writes overlay the
    /// rows read, and the query's own writes go to it.
    overlay: Option<Arc<dyn Overlay<R> + 't>>,
    source: S,
    archived_filters: Vec<ArchivedFilter<'t, R>>,
    row_filters: Vec<RowFilter<'t, R>>,
    order: Vec<OrderTerm<R>>,
    offset: usize,
    limit: Option<usize>,
}

impl<R: Row, S> std::fmt::Debug for Query<'_, R, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("table", &R::TABLE_NAME)
            .field("source", &std::any::type_name::<S>())
            .field("archived_filters", &self.archived_filters.len())
            .field("row_filters", &self.row_filters.len())
            .field("order", &self.order)
            .field("offset", &self.offset)
            .field("limit", &self.limit)
            .finish()
    }
}

impl<R: Row> WorkTable<R> {
    /// A query over every row of the table, in primary-key order until a
    /// source or an order is set. See [`Query`].
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     day: u16,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, day: 1 }).await?;
    ///     orders.insert(Order { id: 2, day: 1 }).await?;
    ///     orders.insert(Order { id: 3, day: 2 }).await?;
    ///     assert_eq!(orders.query().count(), 3);
    ///     let newest = orders.query().order_by_desc(Order::DAY).first().unwrap();
    ///     assert_eq!(newest.id, 3);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn query(&self) -> Query<'_, R> {
        Query::over(self, None)
    }
}

/// A transaction's writes to one table, as a query in it sees them.
pub(crate) trait Overlay<R: Row>: Send + Sync {
    /// The rows the transaction wrote: the new version, `None` if deleted.
    fn written(&self) -> Vec<(R::Pk, Option<RowImage<R>>)>;
    /// Buffers a write of the transaction (`None`: delete).
    fn write(&self, pk: R::Pk, row: Option<R>) -> Result<()>;
}

impl<'t, R: Row> Query<'t, R> {
    /// A query in a transaction: reads at its read point, sees its writes
    /// and writes through it.
    pub(crate) fn in_transaction(
        table: &'t WorkTable<R>,
        point: Arc<ReadPoint<'t>>,
        overlay: Arc<dyn Overlay<R> + 't>,
    ) -> Self {
        let mut query = Self::over(table, Some(point));
        query.overlay = Some(overlay);
        query
    }

    /// A query over every row of `table`, read at `point` if given.
    pub(crate) fn over(table: &'t WorkTable<R>, point: Option<Arc<ReadPoint<'t>>>) -> Self {
        Query {
            table,
            point,
            overlay: None,
            source: PkRange::all(),
            archived_filters: Vec::new(),
            row_filters: Vec::new(),
            order: Vec::new(),
            offset: 0,
            limit: None,
        }
    }
}

impl<'t, R: Row, S: Source<R>> Query<'t, R, S> {
    /// Keeps the rows for which `keep` returns true. Every matching row is
    /// deserialized to be tested; see [`filter_archived`](Self::filter_archived).
    pub fn filter(mut self, keep: impl Fn(&R) -> bool + Send + Sync + 't) -> Self {
        self.row_filters.push(Box::new(keep));
        self
    }

    /// Keeps the rows for which `keep`, looking at the archived row in place,
    /// returns true. Rows it rejects are never deserialized, and
    /// [`count`](Self::count) and [`exists`](Self::exists) deserialize no
    /// row at all when every filter is of this kind.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     day: u16,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, day: 1 }).await?;
    ///     orders.insert(Order { id: 2, day: 2 }).await?;
    ///     let day_2 = orders.query().filter_archived(|order| order.day == 2).count();
    ///     assert_eq!(day_2, 1);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn filter_archived(
        mut self,
        keep: impl Fn(&R::Archived) -> bool + Send + Sync + 't,
    ) -> Self {
        self.archived_filters.push(Box::new(keep));
        self
    }

    /// Orders by `field`, ascending; a later call orders rows this one ties.
    /// Ties on every field are broken by primary key, ascending.
    pub fn order_by<F: Field<R>>(mut self, field: F) -> Self
    where
        F::Value: Ord,
    {
        let _ = field;
        self.order.push(OrderTerm::new::<F>(false));
        self
    }

    /// Orders by `field`, descending; see [`order_by`](Self::order_by).
    pub fn order_by_desc<F: Field<R>>(mut self, field: F) -> Self
    where
        F::Value: Ord,
    {
        let _ = field;
        self.order.push(OrderTerm::new::<F>(true));
        self
    }

    /// Skips the first `count` rows of the result.
    pub fn offset(mut self, count: usize) -> Self {
        self.offset = count;
        self
    }

    /// Returns at most `count` rows.
    pub fn limit(mut self, count: usize) -> Self {
        self.limit = Some(count);
        self
    }

    /// The rows, in order.
    pub fn to_vec(&self) -> Vec<R> {
        self.iter().collect()
    }

    /// The read point the query reads at: its snapshot's; for a table of a
    /// database, one taken now, held while the rows are collected (so that
    /// the query sees every transaction whole); none for a table on its
    /// own.
    fn read_point(&self) -> Option<Arc<ReadPoint<'t>>> {
        if !self.reads_at_point() {
            return None;
        }
        Some(match &self.point {
            Some(point) => Arc::clone(point),
            None => ReadPoint::register(self.table.read_points()),
        })
    }

    /// Whether the query reads at one commit point (see
    /// [`read_point`](Self::read_point)), collecting its rows first.
    fn reads_at_point(&self) -> bool {
        self.point.is_some() || self.table.in_database()
    }

    /// Every row the query selects at `point`, in its order, before offset
    /// and limit: the source's rows as at the point, then the rows changed
    /// after it that the source selected then (as a snapshot reads, see
    /// `table::snapshot`).
    fn rows_at(&self, point: &ReadPoint<'_>) -> Vec<R> {
        let at = point.commit();
        let keep = |archived: &R::Archived| {
            (self.source.selects(archived)
                && self.archived_filters.iter().all(|keep| keep(archived)))
            .then(|| deserialize::<R>(archived))
        };
        let mut rows: Vec<R> = self
            .source
            .entries(self.table, false)
            .filter_map(|entry| self.table.read_at(S::pk(&entry), at, keep)?)
            .collect();
        self.table
            .rows_changed_after(at, |_, before| rows.extend(keep(before)));
        if let Some(overlay) = &self.overlay {
            let written: BTreeMap<R::Pk, Option<RowImage<R>>> =
                overlay.written().into_iter().collect();
            rows.retain(|row| !written.contains_key(&row.pk()));
            rows.extend(
                written
                    .values()
                    .flatten()
                    .filter_map(|image| keep(image.archived())),
            );
        }
        rows.retain(|row| self.row_filters.iter().all(|keep| keep(row)));
        rows.sort_by(|a, b| self.source.cmp_rows(a, b));
        rows.dedup_by(|a, b| a.pk() == b.pk());
        if !self.order.is_empty() {
            rows.sort_by(|a, b| compare_rows(&self.order, a, b));
        }
        rows
    }

    /// The rows, in order. Streams from the source (stopping at the limit)
    /// when the source's order is the one asked for and the query has a limit
    /// or a narrower source than the whole table; otherwise collects and
    /// orders the matching rows first.
    pub fn iter(&self) -> impl Iterator<Item = R> + '_ {
        if let Some(point) = self.read_point() {
            let rows = self.rows_at(&point);
            let rows: Box<dyn Iterator<Item = R> + '_> = Box::new(rows.into_iter());
            return rows
                .skip(self.offset)
                .take(self.limit.unwrap_or(usize::MAX));
        }
        let direction = scan_direction(&self.order, self.source.order_fields());
        let stream = self.limit.is_some() || !self.source.whole_table();
        let rows: Box<dyn Iterator<Item = R> + '_> = match direction {
            Some(false) if stream => Box::new(self.rows(false)),
            Some(true) if stream => Box::new(TiesAscending::new(self.rows(true), &self.order)),
            _ => Box::new(self.ordered().into_iter()),
        };
        rows.skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
    }

    /// The first row, in order.
    pub fn first(&self) -> Option<R> {
        self.iter().next()
    }

    /// How many rows the query returns (after offset and limit), without
    /// deserializing rows unless a [`filter`](Self::filter) needs them.
    pub fn count(&self) -> usize {
        if self.reads_at_point() {
            return self.iter().count();
        }
        let wanted = self
            .limit
            .map_or(usize::MAX, |limit| self.offset.saturating_add(limit));
        let found = if self.source.whole_table() {
            let guard = epoch::pin();
            self.matching_archived(&guard)
                .filter(|row| self.row_filters.is_empty() || self.passes_row_filters(row).is_some())
                .take(wanted)
                .count()
        } else {
            self.matching().take(wanted).count()
        };
        found.saturating_sub(self.offset)
    }

    /// Whether the query returns any row, stopping at the first.
    pub fn exists(&self) -> bool {
        if self.reads_at_point() {
            return self.iter().next().is_some();
        }
        self.limit != Some(0) && self.matching().nth(self.offset).is_some()
    }

    /// Changes every row the query returns with `f`, as
    /// [`WorkTable::update_with`]: the rows are selected, locked in
    /// primary-key order, checked again (still in the source, still passing
    /// the filters) and changed one by one. Returns how many rows changed.
    ///
    /// # Errors
    ///
    /// As [`WorkTable::update_all_by`]: the first failing row's error; rows
    /// changed before it stay changed.
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) when a
    /// [`RowGuard`](crate::RowGuard) of this task holds a selected row,
    /// before any row is changed.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     account: u32,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, account: 7, price: 100 }).await?;
    ///     orders.insert(Order { id: 2, account: 8, price: 100 }).await?;
    ///     orders.insert(Order { id: 3, account: 7, price: 100 }).await?;
    ///     let changed = orders.query().filter(|o| o.account == 7).update_with(|o| o.price = 0).await?;
    ///     assert_eq!(changed, 2);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn update_with(&self, mut f: impl FnMut(&mut R)) -> Result<usize> {
        if let Some(overlay) = &self.overlay {
            // In a transaction: every change is buffered in it, checked
            // first so that none is buffered if one fails.
            let mut changed = Vec::new();
            for mut row in self.to_vec() {
                let pk = row.pk();
                f(&mut row);
                self.table.check_same_pk(&pk, &row)?;
                changed.push((pk, row));
            }
            let count = changed.len();
            for (pk, row) in changed {
                overlay.write(pk, Some(row))?;
            }
            return Ok(count);
        }
        let pks = self.iter().map(|row| row.pk()).collect();
        let changed = self
            .table
            .for_each_locked(
                pks,
                |row| self.still_selected(row),
                |pk, old, pending| {
                    self.table
                        .apply_locked(pk, &old, self.table.current(pk), &mut f, pending)
                },
            )
            .await?;
        Ok(changed.len())
    }

    /// Deletes every row the query returns, locked in primary-key order and
    /// checked again as for [`update_with`](Self::update_with); returns them
    /// in primary-key order.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) when a
    /// [`RowGuard`](crate::RowGuard) of this task holds a selected row;
    /// nothing is deleted then.
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
    ///     let gone = orders.query().order_by_desc(Order::ID).limit(2).delete().await?;
    ///     assert_eq!(gone.iter().map(|o| o.id).collect::<Vec<_>>(), [2, 3]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn delete(&self) -> Result<Vec<R>> {
        if let Some(overlay) = &self.overlay {
            let mut rows = self.to_vec();
            for row in &rows {
                overlay.write(row.pk(), None)?;
            }
            rows.sort_by_key(Row::pk);
            return Ok(rows);
        }
        let pks = self.iter().map(|row| row.pk()).collect();
        self.table
            .for_each_locked(
                pks,
                |row| self.still_selected(row),
                |pk, row, pending| {
                    self.table.delete_current_locked(pk, &row, pending)?;
                    Ok(row)
                },
            )
            .await
    }

    /// Whether a row, read again under its lock, is still in the source and
    /// passes every filter.
    fn still_selected(&self, row: &R) -> bool {
        self.table
            .read(&row.pk(), |archived| {
                self.source.selects(archived)
                    && self.archived_filters.iter().all(|keep| keep(archived))
            })
            .unwrap_or(false)
            && self.row_filters.iter().all(|keep| keep(row))
    }

    /// Every matching row, in the query's order, for the paths that do not
    /// stream: with a limit, only the first `offset + limit` (kept in a
    /// bounded heap; without row filters they are ranked on their archived
    /// order fields, and only the kept rows are deserialized); without, all
    /// of them, sorted. One epoch guard for the whole call keeps every
    /// archived row it looks at readable until the end.
    fn ordered(&self) -> Vec<R> {
        let guard = epoch::pin();
        let terms = &self.order[..];
        let keep = self.limit.map(|limit| self.offset.saturating_add(limit));
        match keep {
            Some(keep) if self.row_filters.is_empty() => {
                let ranked = self
                    .matching_archived(&guard)
                    .map(|row| RankedArchived { row, terms });
                smallest(ranked, keep)
                    .into_iter()
                    .map(|ranked| deserialize::<R>(ranked.row))
                    .collect()
            }
            Some(keep) => {
                let rows = self
                    .matching_archived(&guard)
                    .filter_map(|row| self.passes_row_filters(row));
                smallest(rows.map(|row| Ranked { row, terms }), keep)
                    .into_iter()
                    .map(|ranked| ranked.row)
                    .collect()
            }
            None => {
                let mut rows: Vec<R> = self
                    .matching_archived(&guard)
                    .filter_map(|row| self.passes_row_filters(row))
                    .collect();
                rows.sort_by(|a, b| compare_rows(terms, a, b));
                rows
            }
        }
    }

    /// The archived rows that fit their source entry and pass every archived
    /// filter, in no particular order; readable while `guard` is pinned. A
    /// whole-table source reads the pages front to back.
    fn matching_archived<'g>(
        &'g self,
        guard: &'g epoch::Guard,
    ) -> Box<dyn Iterator<Item = &'g R::Archived> + 'g> {
        let passes = move |row: &&R::Archived| self.archived_filters.iter().all(|keep| keep(row));
        if self.source.whole_table() {
            Box::new(self.table.archived_rows(guard).filter(passes))
        } else {
            Box::new(
                self.source
                    .entries(self.table, false)
                    .filter_map(move |entry| {
                        let row = self.table.archived(S::pk(&entry), guard)?;
                        self.source.fits(&entry, row).then_some(row)
                    })
                    .filter(passes),
            )
        }
    }

    /// The row, deserialized, if it passes every row filter.
    fn passes_row_filters(&self, row: &R::Archived) -> Option<R> {
        let row = deserialize::<R>(row);
        self.row_filters
            .iter()
            .all(|keep| keep(&row))
            .then_some(row)
    }

    /// The rows that fit their source entry and pass every filter, in the
    /// source's order (or reversed), deserialized.
    fn rows(&self, reverse: bool) -> impl Iterator<Item = R> + '_ {
        self.source
            .entries(self.table, reverse)
            .filter_map(|entry| {
                let row = self.table.read(S::pk(&entry), |archived| {
                    (self.source.fits(&entry, archived)
                        && self.archived_filters.iter().all(|keep| keep(archived)))
                    .then(|| deserialize::<R>(archived))
                })??;
                self.row_filters
                    .iter()
                    .all(|keep| keep(&row))
                    .then_some(row)
            })
    }

    /// One `()` per matching row, in the source's order, deserializing rows
    /// only for the row filters.
    fn matching(&self) -> impl Iterator<Item = ()> + '_ {
        self.source.entries(self.table, false).filter_map(|entry| {
            self.table
                .read(S::pk(&entry), |archived| {
                    self.source.fits(&entry, archived)
                        && self.archived_filters.iter().all(|keep| keep(archived))
                        && (self.row_filters.is_empty() || {
                            let row = deserialize::<R>(archived);
                            self.row_filters.iter().all(|keep| keep(&row))
                        })
                })
                .and_then(|matches| matches.then_some(()))
        })
    }
}
