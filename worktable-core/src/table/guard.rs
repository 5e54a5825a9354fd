//! Read-modify-write of one row: `update_with`, and row guards that hold a
//! row's lock across `.await` points.

use std::fmt;

use super::WorkTable;
use crate::error::{Result, TableError};
use crate::events::Pending;
use crate::lock::{HeldBySameTask, Locker, TableRowLock, TaskId};
use crate::page::deserialize;
use crate::row::Row;

impl<R: Row> WorkTable<R> {
    /// Changes the row with primary key `pk` in place: `f` gets the current
    /// row and may change any field but the primary key; the new version is
    /// stored and the indexes whose key changed are updated. Returns what
    /// `f` returns.
    ///
    /// Runs under the row's lock, so concurrent `update_with` calls on one
    /// row never lose an update.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`PkChanged`](TableError::PkChanged) (`f` changed the key),
    /// [`DuplicateKey`](TableError::DuplicateKey),
    /// [`RowTooLarge`](TableError::RowTooLarge),
    /// [`Serialize`](TableError::Serialize),
    /// [`TableFull`](TableError::TableFull),
    /// [`LockedBySameTask`](TableError::LockedBySameTask) (a
    /// [`RowGuard`] of this task holds the row; see
    /// [`lock`](Self::lock)). On error the row and every index are
    /// unchanged.
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
    ///     let doubled = orders.update_with(&1, |order| { order.price *= 2; order.price }).await?;
    ///     assert_eq!(doubled, 200);
    ///     orders.update_with(&1, |order| order.account = 8).await?;
    ///     assert_eq!(orders.find_by(Order::ACCOUNT, &8).len(), 2);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn update_with<T>(&self, pk: &R::Pk, f: impl FnOnce(&mut R) -> T) -> Result<T> {
        self.locked_write(pk, |pending| self.modify_locked(pk, f, pending))
            .await
    }

    /// Waits for the lock of the row with primary key `pk` and returns a
    /// guard holding it. While the guard lives, other writers of that row
    /// (and `lock` calls for it) wait; readers do not. The row need not
    /// exist: the guard can insert it.
    ///
    /// Hold the guard across `.await` points to read, compute and write one
    /// row without other writers interleaving, and write through the guard's
    /// own methods. A task that holds several guards must take them in
    /// primary-key order, as [`lock_all`](Self::lock_all) does, or it can
    /// deadlock with another.
    ///
    /// Cancel-safe: dropping the future while it waits leaves nothing
    /// behind.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](TableError::LockedBySameTask), at once, when a
    /// guard that this task took holds the row already; nothing is locked.
    ///
    /// # Writing a row whose guard this task holds
    ///
    /// The guard's own task cannot wait for the guard: a table write of the
    /// row from that task — [`insert`](Self::insert), [`update`](Self::update),
    /// [`upsert`](Self::upsert), [`delete`](Self::delete),
    /// [`delete_by`](Self::delete_by), [`update_with`](Self::update_with),
    /// [`set_field`](Self::set_field), a multi-row write or a query's
    /// `update_with` / `delete` that selects the row, another `lock` or
    /// `lock_all` of it — would wait forever. The table detects this and the
    /// call fails at once with
    /// [`LockedBySameTask`](TableError::LockedBySameTask), changing nothing:
    /// write through the guard ([`RowGuard::update`],
    /// [`update_with`](RowGuard::update_with), [`upsert`](RowGuard::upsert),
    /// [`delete`](RowGuard::delete)) or drop it first. "Task" here is a
    /// tokio task, or the future that a tokio runtime's `block_on` drives on
    /// one thread (the body of `#[tokio::main]` or `#[tokio::test]`); the
    /// check runs only when the write has to wait for the row, so a write
    /// nobody contends pays nothing for it.
    ///
    /// What the check cannot tell:
    ///
    /// * Outside a tokio runtime (e.g. under `futures::executor::block_on`
    ///   alone) there is no task to compare: the write waits forever.
    /// * Deadlocks between tasks: task A holds row 1's guard and waits for
    ///   row 2 while task B holds row 2's and waits for row 1. Lock several
    ///   rows with one [`lock_all`](Self::lock_all) call, which takes them
    ///   in primary-key order as every multi-row write does, and such a cycle
    ///   cannot form.
    /// * A guard keeps the task that took it, also when it is moved to
    ///   another task (sent through a channel, moved into `tokio::spawn`).
    ///   The taking task's writes of the row are then refused with
    ///   `LockedBySameTask` although the other task might drop the guard
    ///   (as are those of a later task that tokio gives the same id once
    ///   the taking task has ended), and the new holder's own writes of the
    ///   row wait forever.
    /// * A task that drives several futures at once (`join!`, `select!`)
    ///   is one task: a write in one branch of a row whose guard another
    ///   branch holds is refused even if that branch would drop the guard,
    ///   and a write already waiting when a guard takes the row is not
    ///   checked again.
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
    ///     let mut guard = orders.lock(&1).await?;
    ///     let price = guard.get().unwrap().price;
    ///     let quote = async { price + 5 }.await; // other writers of row 1 wait meanwhile
    ///     guard.update_with(|order| order.price = quote).await?;
    ///     drop(guard);
    ///     assert_eq!(orders.get(&1).unwrap().price, 105);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    ///
    /// A write of the row by the guard's own task fails instead of waiting:
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
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// rt.block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, price: 100 }).await?;
    ///     let guard = orders.lock(&1).await?;
    ///     let refused = orders.update_with(&1, |order| order.price = 0).await;
    ///     assert!(matches!(refused, Err(TableError::LockedBySameTask { .. })));
    ///     drop(guard);
    ///     orders.update_with(&1, |order| order.price = 0).await?;
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn lock(&self, pk: &R::Pk) -> Result<RowGuard<'_, R>> {
        let lock = self.lock_row(pk, Locker::Guard(TaskId::current())).await?;
        Ok(RowGuard { table: self, lock })
    }

    /// Locks the rows of every key in `pks` (duplicates count once), in
    /// primary-key order, and returns their guards in that order. Two
    /// `lock_all` calls, or a `lock_all` and a multi-row write, can never
    /// deadlock.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](TableError::LockedBySameTask), at once, when a
    /// guard that this task took holds one of the rows (see
    /// [`lock`](Self::lock)); the rows it had locked are unlocked again.
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
    ///     orders.insert(Order { id: 3, price: 100 }).await?;
    ///     // Move 30 cents from order 3 to order 1, with no writer in between.
    ///     let mut guards = orders.lock_all([3, 1]).await?;
    ///     guards[1].update_with(|order| order.price -= 30).await?;
    ///     guards[0].update_with(|order| order.price += 30).await?;
    ///     drop(guards);
    ///     assert_eq!((orders.get(&1).unwrap().price, orders.get(&3).unwrap().price), (130, 70));
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn lock_all(
        &self,
        pks: impl IntoIterator<Item = R::Pk>,
    ) -> Result<Vec<RowGuard<'_, R>>> {
        let locks = self
            .lock_in_order(pks, Locker::Guard(TaskId::current()))
            .await?;
        Ok(locks
            .into_iter()
            .map(|lock| RowGuard { table: self, lock })
            .collect())
    }

    /// Waits for the lock of `pk` for `locker`.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](TableError::LockedBySameTask) at once when a
    /// guard of this task holds it; nothing is locked then.
    pub(super) async fn lock_row(
        &self,
        pk: &R::Pk,
        locker: Locker<TaskId>,
    ) -> Result<TableRowLock<'_, R::Pk>> {
        self.locks
            .lock(pk, locker)
            .await
            .map_err(|HeldBySameTask| TableError::LockedBySameTask {
                table: R::TABLE_NAME,
                pk: format!("{pk:?}"),
            })
    }

    /// Locks the rows of every key in `pks` once, in primary-key order, for
    /// `locker`; returns the locks in that order.
    ///
    /// # Errors
    ///
    /// As [`lock_row`](Self::lock_row); the locks taken before are
    /// released.
    pub(super) async fn lock_in_order(
        &self,
        pks: impl IntoIterator<Item = R::Pk>,
        locker: Locker<TaskId>,
    ) -> Result<Vec<TableRowLock<'_, R::Pk>>> {
        let mut pks: Vec<R::Pk> = pks.into_iter().collect();
        pks.sort();
        pks.dedup();
        let mut locks = Vec::with_capacity(pks.len());
        for pk in &pks {
            locks.push(self.lock_row(pk, locker).await?);
        }
        Ok(locks)
    }

    /// Read-modify-write of the row `pk`; the caller holds its lock.
    pub(super) fn modify_locked<T>(
        &self,
        pk: &R::Pk,
        f: impl FnOnce(&mut R) -> T,
        pending: &mut Pending,
    ) -> Result<T> {
        let (old, new) = self
            .read(pk, |archived| {
                (deserialize::<R>(archived), deserialize::<R>(archived))
            })
            .ok_or_else(|| super::write::not_found_pk::<R>(pk))?;
        self.apply_locked(pk, &old, new, f, pending)
    }

    /// Applies `f` to `new`, a copy of `old` (the current version of the row
    /// `pk`), and stores the result; the caller holds `pk`'s lock.
    pub(crate) fn apply_locked<T>(
        &self,
        pk: &R::Pk,
        old: &R,
        mut new: R,
        f: impl FnOnce(&mut R) -> T,
        pending: &mut Pending,
    ) -> Result<T> {
        let output = f(&mut new);
        self.check_same_pk(pk, &new)?;
        self.update_current_locked(pk, old, &new, pending)?;
        Ok(output)
    }

    /// Runs `write` (under locks the caller holds), then waits until the
    /// commit hook, if any, reports the changes it made durable.
    pub(crate) async fn durably<T>(
        &self,
        write: impl FnOnce(&mut Pending) -> Result<T>,
    ) -> Result<T> {
        let mut pending = Pending::default();
        let output = write(&mut pending);
        // Changes committed before a failure are waited for too.
        let durable = pending.wait::<R>().await;
        let output = output?;
        durable?;
        Ok(output)
    }

    /// [`PkChanged`](TableError::PkChanged) unless `row`'s key is `pk`
    /// (an update closure must not change the key).
    pub(crate) fn check_same_pk(&self, pk: &R::Pk, row: &R) -> Result<()> {
        let new_pk = row.pk();
        if new_pk == *pk {
            Ok(())
        } else {
            Err(TableError::PkChanged {
                table: R::TABLE_NAME,
                pk: format!("{pk:?}"),
                new_pk: format!("{new_pk:?}"),
            })
        }
    }
}

/// The lock of one row, held: from [`WorkTable::lock`] or
/// [`WorkTable::lock_all`]. Other writers of the row wait until it is
/// dropped; readers do not.
///
/// Its methods read and write the row without taking the lock again. Every
/// write is checked to keep the row's primary key.
///
/// The guard records the task that took it: while it lives, that task's
/// table writes of the row fail with
/// [`LockedBySameTask`](TableError::LockedBySameTask) instead of waiting for
/// it forever. Moved to another task, it still names the task that took it
/// (see [`WorkTable::lock`] for what that means).
pub struct RowGuard<'a, R: Row> {
    table: &'a WorkTable<R>,
    /// Held from creation to drop; its key is the row's primary key.
    lock: TableRowLock<'a, R::Pk>,
}

impl<R: Row> fmt::Debug for RowGuard<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowGuard")
            .field("table", &R::TABLE_NAME)
            .field("lock", &self.lock)
            .finish()
    }
}

impl<R: Row> RowGuard<'_, R> {
    /// The primary key of the locked row.
    pub fn pk(&self) -> &R::Pk {
        self.lock.key()
    }

    /// The row, if it exists. No other writer can change it while the guard
    /// lives.
    pub fn get(&self) -> Option<R> {
        self.table.get(self.pk())
    }

    /// Runs `f` on the archived row, in place.
    pub fn read<T>(&self, f: impl FnOnce(&R::Archived) -> T) -> Option<T> {
        self.table.read(self.pk(), f)
    }

    /// Changes the row in place, as [`WorkTable::update_with`].
    ///
    /// # Errors
    ///
    /// As [`WorkTable::update_with`].
    pub async fn update_with<T>(&mut self, f: impl FnOnce(&mut R) -> T) -> Result<T> {
        let (table, pk) = (self.table, self.lock.key());
        table
            .durably(|pending| table.modify_locked(pk, f, pending))
            .await
    }

    /// Replaces the row with `row`, which must have the guard's key; returns
    /// the previous version.
    ///
    /// # Errors
    ///
    /// [`PkChanged`](TableError::PkChanged), then as [`WorkTable::update`].
    pub async fn update(&mut self, row: R) -> Result<R> {
        let (table, pk) = (self.table, self.lock.key());
        table.check_same_pk(pk, &row)?;
        table
            .durably(|pending| table.find_and_update_locked(pk, &row, pending))
            .await
    }

    /// Inserts `row`, which must have the guard's key, or replaces the row;
    /// returns the replaced version. The key generator, if any, is told about
    /// the key.
    ///
    /// # Errors
    ///
    /// [`PkChanged`](TableError::PkChanged), then as [`WorkTable::upsert`].
    pub async fn upsert(&mut self, row: R) -> Result<Option<R>> {
        let (table, pk) = (self.table, self.lock.key());
        table.check_same_pk(pk, &row)?;
        table
            .durably(|pending| table.upsert_locked(pk, &row, pending))
            .await
    }

    /// Deletes the row and returns it.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound).
    pub async fn delete(&mut self) -> Result<R> {
        let (table, pk) = (self.table, self.lock.key());
        table
            .durably(|pending| table.find_and_delete_locked(pk, pending))
            .await
    }
}
