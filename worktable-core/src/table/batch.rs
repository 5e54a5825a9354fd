//! Multi-row writes: every row of an index key, or of a primary-key range.
//!
//! Each one selects its rows, locks all of them in primary-key order (so two
//! multi-row writes never deadlock, whatever order their selections come
//! in), then checks each row is still selected and changes it. While it runs,
//! no other writer changes a selected row; readers see the rows change one by
//! one. It is not atomic: it stops at the first row whose change fails and
//! returns that error, and the rows changed before stay changed. A row that
//! joins the selection after it was taken is left alone. Each selected row
//! holds a lock entry until the write returns.
//!
//! A selected row locked by a [`RowGuard`](crate::RowGuard) of the calling
//! task would make the write wait forever: it fails with
//! [`LockedBySameTask`](crate::TableError::LockedBySameTask) instead, before
//! changing any row (see [`WorkTable::lock`]).

use std::ops::RangeBounds;

use super::WorkTable;
use crate::error::Result;
use crate::events::Pending;
use crate::index::{Index, LookupKey};
use crate::lock::Locker;
use crate::row::Row;

impl<R: Row> WorkTable<R> {
    /// Changes every row whose key in `index` is `key` with `f` (as
    /// [`update_with`](Self::update_with)), in primary-key order; returns how
    /// many rows changed. `f` may change the indexed key itself.
    ///
    /// # Errors
    ///
    /// The first failing row's error, as for `update_with`; rows changed
    /// before it stay changed.
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) when a
    /// guard of this task holds a selected row, before any row is changed.
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
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, account: 7, price: 100 }).await?;
    ///     orders.insert(Order { id: 2, account: 8, price: 100 }).await?;
    ///     orders.insert(Order { id: 3, account: 7, price: 100 }).await?;
    ///     let changed = orders.update_all_by(Order::ACCOUNT, &7, |order| order.price += 1).await?;
    ///     assert_eq!(changed, 2);
    ///     assert_eq!(orders.get(&3).unwrap().price, 101);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn update_all_by<I, Q>(
        &self,
        index: I,
        key: &Q,
        mut f: impl FnMut(&mut R),
    ) -> Result<usize>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let _ = index;
        let changed = self
            .for_each_locked(
                self.pks_by::<I, Q>(key),
                |row| I::key_is(row, key),
                |pk, old, pending| self.apply_locked(pk, &old, self.current(pk), &mut f, pending),
            )
            .await?;
        Ok(changed.len())
    }

    /// Changes every row whose primary key is in `range` with `f`, in
    /// primary-key order; returns how many rows changed.
    ///
    /// # Errors
    ///
    /// The first failing row's error, as for
    /// [`update_with`](Self::update_with); rows changed before it stay
    /// changed.
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) when a
    /// guard of this task holds a selected row, before any row is changed.
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
    ///     assert_eq!(orders.update_range(2.., |order| order.day += 1).await?, 2);
    ///     assert_eq!(orders.get(&3).unwrap().day, 3);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn update_range(
        &self,
        range: impl RangeBounds<R::Pk>,
        mut f: impl FnMut(&mut R),
    ) -> Result<usize> {
        let changed = self
            .for_each_locked(
                self.pks_in(&range),
                |_| true,
                |pk, old, pending| self.apply_locked(pk, &old, self.current(pk), &mut f, pending),
            )
            .await?;
        Ok(changed.len())
    }

    /// Deletes every row whose key in `index` is `key`; returns them in
    /// primary-key order.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) when a
    /// guard of this task holds a selected row; nothing is deleted then.
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
    ///     let gone = orders.delete_all_by(Order::ACCOUNT, &7).await?;
    ///     assert_eq!(gone.len(), 2);
    ///     assert_eq!(orders.len(), 1);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn delete_all_by<I, Q>(&self, index: I, key: &Q) -> Result<Vec<R>>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let _ = index;
        self.for_each_locked(
            self.pks_by::<I, Q>(key),
            |row| I::key_is(row, key),
            |pk, row, pending| {
                self.delete_current_locked(pk, &row, pending)?;
                Ok(row)
            },
        )
        .await
    }

    /// Deletes every row whose primary key is in `range`; returns them in
    /// primary-key order.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) when a
    /// guard of this task holds a selected row; nothing is deleted then.
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
    ///     let gone = orders.delete_range(..3).await?;
    ///     assert_eq!(gone.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 2]);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn delete_range(&self, range: impl RangeBounds<R::Pk>) -> Result<Vec<R>> {
        self.for_each_locked(
            self.pks_in(&range),
            |_| true,
            |pk, row, pending| {
                self.delete_current_locked(pk, &row, pending)?;
                Ok(row)
            },
        )
        .await
    }

    /// The current version of the row `pk`, which the caller has locked and
    /// seen alive.
    pub(crate) fn current(&self, pk: &R::Pk) -> R {
        self.get(pk).expect("a locked row stays in the table")
    }

    /// Locks the rows of `pks` in primary-key order, then applies `change` to
    /// each row that still exists and is still `selected`, in that order.
    /// Then waits until the commit hook, if any, reports the changes durable
    /// (also those made before a failing row).
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) before any
    /// change when a guard of this task holds one of the rows; else the
    /// first error of `change` or the commit hook.
    pub(crate) async fn for_each_locked<T>(
        &self,
        pks: Vec<R::Pk>,
        selected: impl Fn(&R) -> bool,
        mut change: impl FnMut(&R::Pk, R, &mut Pending) -> Result<T>,
    ) -> Result<Vec<T>> {
        let locks = self.lock_in_order(pks, Locker::Write).await?;
        self.durably(|pending| {
            let mut results = Vec::with_capacity(locks.len());
            for pk in locks.iter().map(|lock| lock.key()) {
                if let Some(row) = self.get(pk)
                    && selected(&row)
                {
                    results.push(change(pk, row, pending)?);
                }
            }
            Ok(results)
        })
        .await
    }
}
