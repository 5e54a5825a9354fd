//! Read-modify-write of one row: `update_with`, and row guards that hold a
//! row's lock across `.await` points.

use std::fmt;

use super::WorkTable;
use crate::error::{Result, TableError};
use crate::events::Pending;
use crate::lock::TableRowLock;
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
    /// [`TableFull`](TableError::TableFull). On error the row and every index
    /// are unchanged.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/support.rs")); }
    /// # use support::*;
    /// # block_on(async {
    /// let orders = sample_orders().await;
    /// let doubled = orders.update_with(&1, |order| { order.price *= 2; order.price }).await?;
    /// assert_eq!(doubled, 200);
    /// let moved = orders.update_with(&1, |order| order.account = 8).await;
    /// assert_eq!(orders.find_by(Order::ACCOUNT, &8).len(), 2);
    /// # moved?;
    /// # Ok::<(), TableError>(())
    /// # }).unwrap();
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
    /// row without other writers interleaving. Do not call the table's own
    /// write methods for a row whose guard this task holds (they would wait
    /// for the guard forever); use the guard's methods. A task that holds
    /// several guards must take them in primary-key order, as
    /// [`lock_all`](Self::lock_all) does, or it can deadlock with another.
    ///
    /// Cancel-safe: dropping the future while it waits leaves nothing
    /// behind.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/support.rs")); }
    /// # use support::*;
    /// # block_on(async {
    /// let orders = sample_orders().await;
    /// let mut guard = orders.lock(&2).await;
    /// let price = guard.get().unwrap().price;
    /// let quote = async { price + 5 }.await; // other writers of row 2 wait meanwhile
    /// guard.update_with(|order| order.price = quote).await?;
    /// drop(guard);
    /// assert_eq!(orders.get(&2).unwrap().price, 105);
    /// # Ok::<(), TableError>(())
    /// # }).unwrap();
    /// ```
    pub async fn lock(&self, pk: &R::Pk) -> RowGuard<'_, R> {
        RowGuard {
            table: self,
            lock: self.locks.lock(pk).await,
            pk: pk.clone(),
        }
    }

    /// Locks the rows of every key in `pks` (duplicates count once), in
    /// primary-key order, and returns their guards in that order. Two
    /// `lock_all` calls, or a `lock_all` and a multi-row write, can never
    /// deadlock.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/support.rs")); }
    /// # use support::*;
    /// # block_on(async {
    /// let orders = sample_orders().await;
    /// // Move 30 cents from order 3 to order 1, with no writer in between.
    /// let mut guards = orders.lock_all([3, 1]).await;
    /// guards[1].update_with(|order| order.price -= 30).await?;
    /// guards[0].update_with(|order| order.price += 30).await?;
    /// drop(guards);
    /// assert_eq!((orders.get(&1).unwrap().price, orders.get(&3).unwrap().price), (130, 70));
    /// # Ok::<(), TableError>(())
    /// # }).unwrap();
    /// ```
    pub async fn lock_all(&self, pks: impl IntoIterator<Item = R::Pk>) -> Vec<RowGuard<'_, R>> {
        let mut pks: Vec<R::Pk> = pks.into_iter().collect();
        pks.sort();
        pks.dedup();
        let mut guards = Vec::with_capacity(pks.len());
        for pk in pks {
            guards.push(RowGuard {
                table: self,
                lock: self.locks.lock(&pk).await,
                pk,
            });
        }
        guards
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
        self.update_locked(pk, old, &new, pending)?;
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

    fn check_same_pk(&self, pk: &R::Pk, row: &R) -> Result<()> {
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
pub struct RowGuard<'a, R: Row> {
    table: &'a WorkTable<R>,
    lock: TableRowLock<'a, R::Pk>,
    pk: R::Pk,
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
        &self.pk
    }

    /// The row, if it exists. No other writer can change it while the guard
    /// lives.
    pub fn get(&self) -> Option<R> {
        self.table.get(&self.pk)
    }

    /// Runs `f` on the archived row, in place.
    pub fn read<T>(&self, f: impl FnOnce(&R::Archived) -> T) -> Option<T> {
        self.table.read(&self.pk, f)
    }

    /// Changes the row in place, as [`WorkTable::update_with`].
    ///
    /// # Errors
    ///
    /// As [`WorkTable::update_with`].
    pub async fn update_with<T>(&mut self, f: impl FnOnce(&mut R) -> T) -> Result<T> {
        let (table, pk) = (self.table, &self.pk);
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
        let (table, pk) = (self.table, &self.pk);
        table.check_same_pk(pk, &row)?;
        table
            .durably(|pending| table.replace_locked(pk, &row, pending))
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
        let (table, pk) = (self.table, &self.pk);
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
        let (table, pk) = (self.table, &self.pk);
        table
            .durably(|pending| table.remove_locked(pk, pending))
            .await
    }
}
