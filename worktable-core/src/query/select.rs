//! Choosing where a query's rows come from: the sources of [`Query`], by
//! primary key (a range, a prefix of a composite key) or by index (a key, a
//! range, a prefix).

use std::ops::RangeBounds;

use super::Query;
use super::source::{IndexKey, IndexPrefixOf, IndexRange, PkPrefixRows, PkRange, Source};
use crate::index::{Index, IndexPrefix, LookupKey, OrderedIndex};
use crate::row::{PkPrefix, Row};

impl<'t, R: Row, S: Source<R>> Query<'t, R, S> {
    fn with_source<T: Source<R>>(self, source: T) -> Query<'t, R, T> {
        Query {
            table: self.table,
            point: self.point,
            overlay: self.overlay,
            source,
            archived_filters: self.archived_filters,
            row_filters: self.row_filters,
            order: self.order,
            offset: self.offset,
            limit: self.limit,
        }
    }

    /// Rows whose primary key is in `range`.
    pub fn range(self, range: impl RangeBounds<R::Pk>) -> Query<'t, R, PkRange<R>> {
        self.with_source(PkRange::new(&range))
    }

    /// Rows whose composite primary key starts with `prefix` (see
    /// [`WorkTable::prefix`](crate::WorkTable::prefix)), in primary-key order.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Line {
    ///     #[pk]
    ///     order: u32,
    ///     #[pk]
    ///     line: u16,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let lines = WorkTable::<Line>::new();
    ///     for (order, line, price) in [(1, 1, 30), (1, 2, 10), (2, 1, 20)] {
    ///         lines.insert(Line { order, line, price }).await?;
    ///     }
    ///     let cheapest = lines.query().prefix(1u32).order_by(Line::PRICE).first().unwrap();
    ///     assert_eq!(cheapest.line, 2);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn prefix<X>(self, prefix: X) -> Query<'t, R, PkPrefixRows<R, X>>
    where
        R: PkPrefix<X>,
        X: Clone,
    {
        self.with_source(PkPrefixRows::new(prefix))
    }

    /// Rows whose key in `index` is `key`, given like the key of
    /// [`WorkTable::find_by`](crate::WorkTable::find_by) (e.g. `&7`, or `"B-2"` for a `String` key), in
    /// primary-key order.
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
    ///     assert!(orders.query().by(Order::CLIENT_REF, "B-2").exists());
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn by<I, Q>(self, index: I, key: &Q) -> Query<'t, R, IndexKey<R, I>>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let _ = index;
        self.with_source(IndexKey::new(key.to_key()))
    }

    /// Rows whose key in `index` is in `range`, in key order.
    pub fn range_by<I: OrderedIndex<R>>(
        self,
        index: I,
        range: impl RangeBounds<I::Key>,
    ) -> Query<'t, R, IndexRange<R, I>> {
        let _ = index;
        self.with_source(IndexRange::new(&range))
    }

    /// Rows whose key in the composite index `index` starts with `prefix`
    /// (see [`WorkTable::prefix_by`](crate::WorkTable::prefix_by)), in key order.
    pub fn prefix_by<I: IndexPrefix<R, X>, X>(
        self,
        index: I,
        prefix: X,
    ) -> Query<'t, R, IndexPrefixOf<R, I, X>> {
        let _ = index;
        self.with_source(IndexPrefixOf::new(prefix))
    }
}
