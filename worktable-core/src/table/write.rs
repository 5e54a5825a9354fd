//! Writes, and the protocol that keeps rows and indexes in step.
//!
//! # Write protocol
//!
//! Every write holds the row lock of each row it changes, so writers of one
//! row are serialized while writers of different rows run in parallel. A
//! row's committed version is the one its [`RowCell`] in the primary index
//! holds; secondary index entries lead to primary keys. Each write takes
//! effect for readers at one moment:
//!
//! * **insert** — write the row to a fresh slot, add every secondary entry
//!   (readers that find one see no row yet, since the primary key is absent;
//!   a duplicate unique key undoes the entries added so far), then put the
//!   cell in the primary index: *the row is visible from this moment*.
//! * **update** — write the new version to a fresh slot, add entries for the
//!   index keys that change (readers reaching the row through a new entry
//!   see the old version, whose key does not match, and skip it), swap the
//!   cell to the new version (*the moment*), remove the old entries, retire
//!   the old slot. An update that changes no indexed field touches no index.
//!   An `#[index(each)]` index, where a row has one key per element, adds
//!   only the elements the row gains and removes only those it loses: the
//!   entries of elements both versions hold stay, so a reader looking one
//!   up finds the row throughout (`index/each.rs`).
//! * **delete** — take the cell out of the primary index (*the moment*),
//!   remove every entry, retire the slot.
//!
//! A unique key stays reserved until the write that frees it has finished, so
//! a concurrent insert of that key during the write is refused. Retired slots
//! are reused only after every reader that could still see them has finished
//! (epoch-based reclamation).

use std::sync::atomic::Ordering;

use super::WorkTable;
use crate::error::{Result, TableError};
use crate::events::{ChangeKind, Pending};
use crate::index::{
    LookupKey, UniqueIndex, insert_all, insert_changed, remove_all, remove_changed,
};
use crate::lock::Locker;
use crate::page::{MAX_ROW_BYTES, Replaced, StageError, Staged};
use crate::row::PkSource;
use crate::row::{DuplicateKey, Row};

impl<R: Row> WorkTable<R> {
    /// Inserts `row` and returns its primary key.
    ///
    /// With `#[pk(autoincrement)]` or `#[pk(generator = ...)]` the table
    /// assigns the key and the key fields of `row` are ignored; otherwise the
    /// row's own key is used.
    ///
    /// # Errors
    ///
    /// [`DuplicatePk`](TableError::DuplicatePk),
    /// [`DuplicateKey`](TableError::DuplicateKey) (a unique index),
    /// [`RowTooLarge`](TableError::RowTooLarge),
    /// [`Serialize`](TableError::Serialize),
    /// [`KeysExhausted`](TableError::KeysExhausted),
    /// [`TableFull`](TableError::TableFull),
    /// [`LockedBySameTask`](TableError::LockedBySameTask) (a
    /// [`RowGuard`](crate::RowGuard) of this task holds the key; see
    /// [`lock`](Self::lock)). On error the table is unchanged (a generated
    /// key that was drawn is not handed out again).
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
    ///
    ///     let pk = orders.insert(Order { id: 1, client_ref: "A-1".into() }).await?;
    ///     assert_eq!(pk, 1);
    ///     let again = orders.insert(Order { id: 2, client_ref: "A-1".into() }).await;
    ///     assert!(matches!(again, Err(TableError::DuplicateKey { index: "client_ref", .. })));
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn insert(&self, mut row: R) -> Result<R::Pk> {
        let pk = self.assign_pk(&mut row)?;
        self.locked_write(&pk.clone(), |pending| self.insert_locked(&row, pk, pending))
            .await
    }

    /// Replaces the row that has `row`'s primary key with `row`, and returns
    /// the previous version. Only the indexes whose key changed are touched.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`DuplicateKey`](TableError::DuplicateKey),
    /// [`RowTooLarge`](TableError::RowTooLarge),
    /// [`Serialize`](TableError::Serialize),
    /// [`TableFull`](TableError::TableFull),
    /// [`LockedBySameTask`](TableError::LockedBySameTask) (a
    /// [`RowGuard`](crate::RowGuard) of this task holds the row; see
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
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, price: 100 }).await?;
    ///     let old = orders.update(Order { price: 250, ..orders.get(&1).unwrap() }).await?;
    ///     assert_eq!((old.price, orders.get(&1).unwrap().price), (100, 250));
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn update(&self, row: R) -> Result<R> {
        let pk = row.pk();
        self.locked_write(&pk, |pending| {
            self.find_and_update_locked(&pk, &row, pending)
        })
        .await
    }

    /// Inserts `row`, or replaces the row with its primary key if there is
    /// one; returns the replaced row.
    ///
    /// The row's own primary key is always used, even with a key generator;
    /// the generator is told about the key so it does not hand it out later.
    ///
    /// # Errors
    ///
    /// As [`insert`](Self::insert) and [`update`](Self::update), except
    /// `DuplicatePk` and `NotFound`. On error the table is unchanged.
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
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///
    ///     assert!(orders.upsert(Order { id: 1, account: 1 }).await?.is_none());
    ///     let replaced = orders.upsert(Order { id: 1, account: 2 }).await?;
    ///     assert_eq!(replaced.unwrap().account, 1);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn upsert(&self, row: R) -> Result<Option<R>> {
        let pk = row.pk();
        self.locked_write(&pk, |pending| self.upsert_locked(&pk, &row, pending))
            .await
    }

    /// Deletes the row with primary key `pk` and returns it.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`LockedBySameTask`](TableError::LockedBySameTask) (a
    /// [`RowGuard`](crate::RowGuard) of this task holds the row; see
    /// [`lock`](Self::lock)); the table is then unchanged.
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
    ///     assert_eq!(orders.delete(&2).await?.client_ref, "B-2");
    ///     assert!(orders.get_by(Order::CLIENT_REF, "B-2").is_none());
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn delete(&self, pk: &R::Pk) -> Result<R> {
        self.locked_write(pk, |pending| self.find_and_delete_locked(pk, pending))
            .await
    }

    /// Deletes the row whose key in the unique index `index` is `key`, and
    /// returns it.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`LockedBySameTask`](TableError::LockedBySameTask) (a
    /// [`RowGuard`](crate::RowGuard) of this task holds the row; see
    /// [`lock`](Self::lock)); the table is then unchanged.
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
    ///     assert_eq!(orders.delete_by(Order::CLIENT_REF, "B-2").await?.id, 2);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn delete_by<I, Q>(&self, index: I, key: &Q) -> Result<R>
    where
        I: UniqueIndex<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        loop {
            let Some(found) = self.get_by(index, key) else {
                return Err(TableError::NotFound {
                    table: R::TABLE_NAME,
                    key: format!("{} = {key:?}", I::NAME),
                });
            };
            let pk = found.pk();
            let deleted = self
                .locked_write(&pk, |pending| {
                    let Some(row) = self.get(&pk).filter(|row| I::key_is(row, key)) else {
                        return Ok(None);
                    };
                    self.delete_current_locked(&pk, &row, pending)?;
                    Ok(Some(row))
                })
                .await?;
            if let Some(row) = deleted {
                return Ok(row);
            }
            // The row changed its key or went away between the look-up and
            // the lock: look again.
        }
    }

    /// Makes the slots of replaced and deleted row versions reusable as soon
    /// as no running reader can see them. Writes do this on their own over
    /// time; call it to reclaim promptly, e.g. before reading
    /// [`stats`](Self::stats).
    pub fn reclaim_retired(&self) {
        self.store.collect_retired();
    }

    /// Runs `write` under `pk`'s row lock, then — outside the lock, so that
    /// concurrent writes can share a flush — waits until the commit hook, if
    /// any, reports the changes it made durable.
    ///
    /// # Errors
    ///
    /// [`LockedBySameTask`](TableError::LockedBySameTask), without running
    /// `write`, when a guard of this task holds `pk`; else what `write` or
    /// the commit hook returns.
    pub(super) async fn locked_write<T>(
        &self,
        pk: &R::Pk,
        write: impl FnOnce(&mut Pending) -> Result<T>,
    ) -> Result<T> {
        let mut pending = Pending::default();
        let output = {
            let _lock = self.lock_row(pk, Locker::Write).await?;
            write(&mut pending)?
        };
        pending.wait::<R>().await?;
        Ok(output)
    }

    /// Reads the current version of the row `pk`, replaces it with `row`
    /// (same key) and returns it: [`update`](Self::update) once the lock is
    /// taken. The caller holds `pk`'s lock.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound) when no row has `pk`; else as
    /// [`update_current_locked`](Self::update_current_locked). The row is
    /// unchanged on error.
    pub(super) fn find_and_update_locked(
        &self,
        pk: &R::Pk,
        row: &R,
        pending: &mut Pending,
    ) -> Result<R> {
        let old = self.get(pk).ok_or_else(|| not_found_pk::<R>(pk))?;
        self.update_current_locked(pk, &old, row, pending)?;
        Ok(old)
    }

    /// Inserts or replaces the row `pk` with `row` (same key); returns the
    /// replaced version. The caller holds `pk`'s lock.
    pub(super) fn upsert_locked(
        &self,
        pk: &R::Pk,
        row: &R,
        pending: &mut Pending,
    ) -> Result<Option<R>> {
        match self.get(pk) {
            Some(old) => {
                self.update_current_locked(pk, &old, row, pending)?;
                Ok(Some(old))
            }
            None => {
                self.insert_locked(row, pk.clone(), pending)?;
                self.pk_source.observe(pk);
                Ok(None)
            }
        }
    }

    /// Reads the current version of the row `pk`, deletes it and returns
    /// it: [`delete`](Self::delete) once the lock is taken. The caller holds
    /// `pk`'s lock.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound) when no row has `pk`; else as
    /// [`delete_current_locked`](Self::delete_current_locked). The row is
    /// unchanged on error.
    pub(super) fn find_and_delete_locked(&self, pk: &R::Pk, pending: &mut Pending) -> Result<R> {
        let row = self.get(pk).ok_or_else(|| not_found_pk::<R>(pk))?;
        self.delete_current_locked(pk, &row, pending)?;
        Ok(row)
    }

    /// Gives `row` the key an insert stores it under (a generated key
    /// replaces the row's own) and returns it.
    pub(crate) fn assign_pk(&self, row: &mut R) -> Result<R::Pk> {
        let pk = self
            .pk_source
            .assign(row.pk())
            .ok_or(TableError::KeysExhausted {
                table: R::TABLE_NAME,
            })?;
        row.set_pk(pk.clone());
        Ok(pk)
    }

    /// Tells the key generator, if any, that `pk` is taken.
    pub(crate) fn observe_pk(&self, pk: &R::Pk) {
        self.pk_source.observe(pk);
    }

    /// Inserts `row` under `pk`; the caller holds `pk`'s lock.
    fn insert_locked(&self, row: &R, pk: R::Pk, pending: &mut Pending) -> Result<R::Pk> {
        if self.primary.contains(&pk) {
            return Err(TableError::DuplicatePk {
                table: R::TABLE_NAME,
                pk: format!("{pk:?}"),
            });
        }
        let staged = self.stage(row)?;
        if let Err(duplicate) = insert_all(&self.indexes, row) {
            self.store.discard(staged);
            return Err(duplicate_key::<R>(duplicate));
        }
        let mut cell = Some(self.store.new_cell(staged));
        let ticket = self.events.begin();
        let images = ticket.observed().then(|| {
            let cell = cell.as_ref().expect("the cell is not published yet");
            (None, Some(self.store.image(cell)))
        });
        let committed = ticket.commit(
            ChangeKind::Insert,
            &pk,
            images,
            || {
                let cell = cell.take().expect("a change is applied once");
                // Marked again now that it is numbered: a checkpoint may
                // have taken the mark of staging meanwhile.
                self.store.publishing(&cell);
                self.primary.insert(pk.clone(), cell);
            },
            pending,
        );
        if let Err(refused) = committed {
            remove_all(&self.indexes, row);
            self.store
                .discard_cell(cell.expect("a refused change is not applied"));
            return Err(refused);
        }
        self.len.fetch_add(1, Ordering::AcqRel);
        Ok(pk)
    }

    /// Replaces `old` with `new` (same key): the step every update takes
    /// once it has the row. The caller holds `pk`'s lock and read `old`, the
    /// row's current version, under it; the row is not read again.
    ///
    /// # Errors
    ///
    /// [`DuplicateKey`](TableError::DuplicateKey),
    /// [`RowTooLarge`](TableError::RowTooLarge),
    /// [`Serialize`](TableError::Serialize),
    /// [`TableFull`](TableError::TableFull),
    /// [`WriteRefused`](TableError::WriteRefused); the row and every index
    /// are then unchanged.
    pub(crate) fn update_current_locked(
        &self,
        pk: &R::Pk,
        old: &R,
        new: &R,
        pending: &mut Pending,
    ) -> Result<()> {
        let staged = self.stage(new)?;
        let changes = match insert_changed(&self.indexes, old, new) {
            Ok(changes) => changes,
            Err(duplicate) => {
                self.store.discard(staged);
                return Err(duplicate_key::<R>(duplicate));
            }
        };
        let replaced = match self.publish_update(pk, staged, pending) {
            Ok(replaced) => replaced,
            Err(refused) => {
                // The new entries lead to a version that never became the
                // row's: take them out again.
                remove_changed(&self.indexes, new, old, changes);
                return Err(refused);
            }
        };
        remove_changed(&self.indexes, old, new, changes);
        self.store.retire(replaced);
        Ok(())
    }

    /// Makes `staged`, with its index entries in place, the committed
    /// version of the row `pk` (numbered, announced, logged); returns the
    /// replaced version, to be retired once no index leads to it. The
    /// caller holds `pk`'s lock.
    ///
    /// # Errors
    ///
    /// [`TableError::WriteRefused`] when the commit hook refuses the
    /// change: `staged` is discarded and the row is unchanged (the caller
    /// removes the index entries it added).
    pub(super) fn publish_update(
        &self,
        pk: &R::Pk,
        staged: Staged,
        pending: &mut Pending,
    ) -> Result<Replaced> {
        let ticket = self.events.begin();
        let images = ticket.observed().then(|| {
            let before = self.primary.with_cell(pk, |cell| self.store.image(cell));
            (before, Some(self.store.staged_image(&staged)))
        });
        let mut staged = Some(staged);
        let committed = ticket.commit(
            ChangeKind::Update,
            pk,
            images,
            || {
                let staged = staged.take().expect("a change is applied once");
                self.primary
                    .with_cell(pk, |cell| self.store.replace(cell, staged))
            },
            pending,
        );
        match committed {
            Ok(replaced) => Ok(replaced.expect("a locked row stays in the primary index")),
            Err(refused) => {
                self.store
                    .discard(staged.expect("a refused change is not applied"));
                Err(refused)
            }
        }
    }

    /// Deletes the row `pk` whose current version is `row`: the step every
    /// delete takes once it has the row. The caller holds `pk`'s lock and
    /// read `row` under it; the row is not read again (its index entries are
    /// found from `row`).
    ///
    /// # Errors
    ///
    /// [`TableError::WriteRefused`] when the commit hook refuses the
    /// change; the row is then unchanged.
    pub(crate) fn delete_current_locked(
        &self,
        pk: &R::Pk,
        row: &R,
        pending: &mut Pending,
    ) -> Result<()> {
        let ticket = self.events.begin();
        let images = ticket.observed().then(|| {
            let before = self.primary.with_cell(pk, |cell| self.store.image(cell));
            (before, None)
        });
        let cell = ticket
            .commit(
                ChangeKind::Delete,
                pk,
                images,
                || {
                    let cell = self.primary.remove(pk);
                    if let Some(cell) = &cell {
                        self.store.unlinking(cell);
                    }
                    cell
                },
                pending,
            )?
            .expect("a locked row stays in the primary index");
        self.len.fetch_sub(1, Ordering::AcqRel);
        remove_all(&self.indexes, row);
        self.store.retire_cell(cell);
        Ok(())
    }

    fn stage(&self, row: &R) -> Result<Staged> {
        self.store.stage(row).map_err(stage_error::<R>)
    }
}

/// The error of a row that could not be written to a slot.
pub(super) fn stage_error<R: Row>(error: StageError) -> TableError {
    match error {
        StageError::TooLarge { size } => TableError::RowTooLarge {
            table: R::TABLE_NAME,
            size,
            max: MAX_ROW_BYTES,
        },
        StageError::Serialize(source) => TableError::Serialize {
            table: R::TABLE_NAME,
            source,
        },
        StageError::OutOfPages => TableError::TableFull {
            table: R::TABLE_NAME,
        },
    }
}

pub(crate) fn not_found_pk<R: Row>(pk: &R::Pk) -> TableError {
    TableError::NotFound {
        table: R::TABLE_NAME,
        key: format!("primary key {pk:?}"),
    }
}

pub(super) fn duplicate_key<R: Row>(duplicate: DuplicateKey) -> TableError {
    TableError::DuplicateKey {
        table: R::TABLE_NAME,
        index: duplicate.index,
        key: duplicate.key,
    }
}
