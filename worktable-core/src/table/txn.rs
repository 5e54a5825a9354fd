//! A transaction's changes to one table, applied in three phases so that
//! they become visible together (the protocol is argued in `crate::txn`):
//!
//! 1. [`prepare_changes`](WorkTable::prepare_changes), under the rows'
//!    locks: stage each new version in a
//!    fresh slot and add its index entries, as a single write does before
//!    its commit point. A duplicate unique key undoes everything prepared;
//!    nothing was visible.
//! 2. Under the commit lock: [`number_changes`](WorkTable::number_changes)
//!    builds each change's event, numbered, for the database's commit hook
//!    (which may still refuse the whole transaction: then phase 1 is
//!    undone); [`publish_changes`](WorkTable::publish_changes) is each
//!    change's commit point (numbered, recorded for read points, made
//!    visible, offered to subscribers). Nothing can fail there.
//! 3. [`finish_changes`](WorkTable::finish_changes), after the commit lock:
//!    remove the entries the changes freed and retire the replaced
//!    versions, as a single write does after its commit point.
//!
//! Depends on: `events` (the commit step under a held lock), `index`,
//! `page`.

use std::sync::atomic::Ordering;

use super::WorkTable;
use super::write::{duplicate_key, stage_error};
use crate::error::Result;
use crate::events::order::{CommitLock, Tables};
use crate::events::{ChangeEvent, ChangeKind, Commit, CommitChange};
use crate::index::{IndexChanges, insert_all, insert_changed, remove_all, remove_changed};
use crate::lock::{Locker, TableRowLock, TaskId};
use crate::page::{Replaced, RowCell, RowImage, Staged};
use crate::row::Row;

/// A row a transaction wrote: the row, and its archived bytes (serialized
/// once, when it was written).
pub(crate) struct Written<R: Row> {
    pub(crate) row: R,
    pub(crate) image: RowImage<R>,
}

impl<R: Row> Written<R> {
    /// `row`, serialized.
    ///
    /// # Errors
    ///
    /// [`Serialize`](crate::TableError::Serialize).
    pub(crate) fn new(row: R) -> Result<Self> {
        let image = RowImage::of(&row).map_err(|source| crate::TableError::Serialize {
            table: R::TABLE_NAME,
            source,
        })?;
        Ok(Self { row, image })
    }
}

/// One change of a transaction to a row, through its phases.
pub(crate) struct Prepared<R: Row> {
    pk: R::Pk,
    step: Step<R>,
    /// Its change event, once numbered (phase 2a).
    event: Option<ChangeEvent<R>>,
}

enum Step<R: Row> {
    /// An insert: the new version, staged, its entries added, and its
    /// image for the change event.
    Insert {
        new: R,
        staged: Option<Staged>,
        image: Option<RowImage<R>>,
    },
    /// An update: the version read under the lock, the new one staged,
    /// the entries of the changed keys added; then what it replaced.
    Update {
        old: R,
        new: R,
        staged: Option<Staged>,
        image: Option<RowImage<R>>,
        changes: IndexChanges,
        replaced: Option<Replaced>,
    },
    /// A delete: the version read under the lock; then its cell.
    Delete { old: R, cell: Option<RowCell> },
}

impl<R: Row> WorkTable<R> {
    /// Locks the rows of `pks` for a transaction, in primary-key order.
    pub(crate) async fn lock_for_commit(
        &self,
        pks: Vec<R::Pk>,
    ) -> Result<Vec<TableRowLock<'_, R::Pk>>> {
        self.lock_in_order(pks, Locker::Guard(TaskId::current()))
            .await
    }

    /// Phase 1: stages `writes` (the new version of each row, `None` to
    /// delete it) against the rows' current versions. The caller holds
    /// the rows' locks, not the commit lock.
    ///
    /// # Errors
    ///
    /// [`DuplicateKey`](crate::TableError::DuplicateKey),
    /// [`RowTooLarge`](crate::TableError::RowTooLarge),
    /// [`Serialize`](crate::TableError::Serialize),
    /// [`TableFull`](crate::TableError::TableFull): everything prepared is
    /// undone first.
    pub(crate) fn prepare_changes(
        &self,
        writes: impl IntoIterator<Item = (R::Pk, Option<Written<R>>)>,
    ) -> Result<Vec<Prepared<R>>> {
        let mut prepared = Vec::new();
        for (pk, new) in writes {
            let step = match (self.get(&pk), new) {
                (None, None) => continue,
                (None, Some(new)) => self.prepare_insert(new),
                (Some(old), Some(new)) => self.prepare_update(old, new),
                (Some(old), None) => Ok(Step::Delete { old, cell: None }),
            };
            match step {
                Ok(step) => prepared.push(Prepared {
                    pk,
                    step,
                    event: None,
                }),
                Err(error) => {
                    self.unprepare(prepared);
                    return Err(error);
                }
            }
        }
        Ok(prepared)
    }

    fn prepare_insert(&self, Written { row: new, image }: Written<R>) -> Result<Step<R>> {
        let staged = self
            .store
            .stage_bytes(image.bytes())
            .map_err(stage_error::<R>)?;
        if let Err(duplicate) = insert_all(&self.indexes, &new) {
            self.store.discard(staged);
            return Err(duplicate_key::<R>(duplicate));
        }
        Ok(Step::Insert {
            new,
            staged: Some(staged),
            image: Some(image),
        })
    }

    fn prepare_update(&self, old: R, Written { row: new, image }: Written<R>) -> Result<Step<R>> {
        let staged = self
            .store
            .stage_bytes(image.bytes())
            .map_err(stage_error::<R>)?;
        match insert_changed(&self.indexes, &old, &new) {
            Ok(changes) => Ok(Step::Update {
                old,
                new,
                staged: Some(staged),
                image: Some(image),
                changes,
                replaced: None,
            }),
            Err(duplicate) => {
                self.store.discard(staged);
                Err(duplicate_key::<R>(duplicate))
            }
        }
    }

    /// Undoes phase 1: takes the added entries out, frees the staged
    /// slots. Nothing prepared was visible.
    pub(crate) fn unprepare(&self, prepared: Vec<Prepared<R>>) {
        for change in prepared.into_iter().rev() {
            match change.step {
                Step::Insert { new, staged, .. } => {
                    remove_all(&self.indexes, &new);
                    self.store.discard(staged.expect("not published"));
                }
                Step::Update {
                    old,
                    new,
                    staged,
                    changes,
                    ..
                } => {
                    remove_changed(&self.indexes, &new, &old, changes);
                    self.store.discard(staged.expect("not published"));
                }
                Step::Delete { .. } => {}
            }
        }
    }

    /// Phase 2a: builds the change event of every prepared change, numbered
    /// from `first` on, as changes of the commit numbered `commit` (the
    /// last one of the table's is marked); returns the next number. The
    /// caller holds the commit lock.
    pub(crate) fn number_changes(
        &self,
        prepared: &mut [Prepared<R>],
        first: u64,
        commit: u64,
    ) -> u64 {
        let count = prepared.len();
        let mut seq = first;
        for (i, change) in prepared.iter_mut().enumerate() {
            let commit = Commit {
                number: commit,
                last_in_table: i + 1 == count,
            };
            let pk = &change.pk;
            let before = || self.primary.with_cell(pk, |cell| self.store.image(cell));
            let (kind, images) = match &mut change.step {
                Step::Insert { image, .. } => (ChangeKind::Insert, (None, image.take())),
                Step::Update { image, .. } => (ChangeKind::Update, (before(), image.take())),
                Step::Delete { .. } => (ChangeKind::Delete, (before(), None)),
            };
            let (old, new) = images;
            change.event = Some(ChangeEvent::in_commit(
                seq,
                commit,
                pk.clone(),
                kind,
                old,
                new,
            ));
            seq += 1;
        }
        seq
    }

    /// The numbered changes, for the database's commit hook.
    pub(crate) fn batch_changes(&self, prepared: &[Prepared<R>], out: &mut Vec<CommitChange>) {
        let slot = self
            .events
            .slot()
            .expect("a transaction's table is in a database");
        out.extend(
            prepared
                .iter()
                .map(|change| CommitChange::new(slot, change.event.clone().expect("numbered"))),
        );
    }

    /// Phase 2b: makes every numbered change visible, in order. The caller
    /// holds the commit lock as `lock`.
    pub(crate) fn publish_changes(
        &self,
        lock: &mut CommitLock<'_, Tables>,
        prepared: &mut [Prepared<R>],
    ) {
        for change in prepared {
            self.publish_one(lock, change);
        }
    }

    fn publish_one(&self, lock: &mut CommitLock<'_, Tables>, change: &mut Prepared<R>) {
        let pk = &change.pk;
        let event = change
            .event
            .take()
            .expect("numbered before it is published");
        match &mut change.step {
            Step::Insert { staged, .. } => {
                let cell = self.store.new_cell(staged.take().expect("published once"));
                self.events.publish_in(lock, &event, || {
                    self.store.publishing(&cell);
                    self.primary.insert(pk.clone(), cell);
                });
                self.len.fetch_add(1, Ordering::AcqRel);
            }
            Step::Update {
                staged, replaced, ..
            } => {
                let staged = staged.take().expect("published once");
                *replaced = self.events.publish_in(lock, &event, || {
                    self.primary
                        .with_cell(pk, |cell| self.store.replace(cell, staged))
                });
            }
            Step::Delete { cell, .. } => {
                *cell = self.events.publish_in(lock, &event, || {
                    let cell = self.primary.remove(pk);
                    if let Some(cell) = &cell {
                        self.store.unlinking(cell);
                    }
                    cell
                });
                self.len.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Phase 3: removes the entries the published changes freed and
    /// retires the versions they replaced.
    pub(crate) fn finish_changes(&self, prepared: Vec<Prepared<R>>) {
        for change in prepared {
            match change.step {
                Step::Insert { .. } => {}
                Step::Update {
                    old,
                    new,
                    changes,
                    replaced,
                    ..
                } => {
                    remove_changed(&self.indexes, &old, &new, changes);
                    self.store
                        .retire(replaced.expect("a locked row stays in the primary index"));
                }
                Step::Delete { old, cell } => {
                    remove_all(&self.indexes, &old);
                    self.store
                        .retire_cell(cell.expect("a locked row stays in the primary index"));
                }
            }
        }
    }
}
