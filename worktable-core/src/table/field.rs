//! Writing one field: [`WorkTable::set_field`].

use crossbeam_epoch as epoch;
use rkyv::rancor;

use super::WorkTable;
use super::write::{not_found_pk, stage_error};
use crate::error::Result;
use crate::events::{ChangeKind, Pending};
use crate::page::{RowCell, Staged};
use crate::plain::Plain;
use crate::row::{Field, Row};

impl<R: Row> WorkTable<R> {
    /// Sets the field `field` of the row `pk` to `value` and returns the
    /// field's previous value: the cheapest update, for a field of a
    /// [`Plain`] type (a number, `bool`, `char`, an ordered float).
    ///
    /// When the field is in no index and not in the primary key, the new
    /// version of the row is a copy of the current one's bytes with the
    /// field's bytes replaced: nothing is deserialized, no index is touched.
    /// Otherwise it works as [`update_with`](Self::update_with) setting the
    /// field. Readers, change events and the commit hook see an update like
    /// any other.
    ///
    /// # Errors
    ///
    /// [`NotFound`](crate::TableError::NotFound); for an indexed field as
    /// for `update_with` ([`DuplicateKey`](crate::TableError::DuplicateKey),
    /// and [`PkChanged`](crate::TableError::PkChanged) for a key field);
    /// [`TableFull`](crate::TableError::TableFull);
    /// [`LockedBySameTask`](crate::TableError::LockedBySameTask) (a
    /// [`RowGuard`](crate::RowGuard) of this task holds the row; see
    /// [`lock`](Self::lock)). On error the row is unchanged.
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
    ///     let old = orders.set_field(&1, Order::PRICE, 250).await?;
    ///     assert_eq!((old, orders.get(&1).unwrap().price), (100, 250));
    ///
    ///     // An indexed field is re-indexed.
    ///     orders.set_field(&1, Order::ACCOUNT, 9).await?;
    ///     assert_eq!(orders.find_by(Order::ACCOUNT, &9).len(), 1);
    ///     assert!(orders.set_field(&99, Order::PRICE, 1).await.is_err());
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub async fn set_field<F>(&self, pk: &R::Pk, field: F, value: F::Value) -> Result<F::Value>
    where
        F: Field<R>,
        F::Value: Plain,
    {
        let _ = field;
        self.locked_write(pk, |pending| self.set_field_locked::<F>(pk, value, pending))
            .await
    }

    /// [`set_field`](Self::set_field) under `pk`'s lock.
    fn set_field_locked<F>(
        &self,
        pk: &R::Pk,
        value: F::Value,
        pending: &mut Pending,
    ) -> Result<F::Value>
    where
        F: Field<R>,
        F::Value: Plain,
    {
        let replace = |row: &mut R| std::mem::replace(F::get_mut(row), value);
        if F::KEYED {
            return self.modify_locked(pk, replace, pending);
        }
        let ticket = self.events.begin();
        let updated = if ticket.observed() {
            // Building the event's images reads the cell again, and an
            // observed commit takes the commit lock: neither may run under
            // the cell's guard.
            drop(ticket);
            let staged = {
                let guard = epoch::pin();
                self.primary
                    .with_cell(pk, |cell| self.stage_field::<F>(cell, &value, &guard))
                    .ok_or_else(|| not_found_pk::<R>(pk))??
            };
            staged
                .map(|(staged, old)| Ok((self.publish_update(pk, staged, pending)?, old)))
                .transpose()?
        } else {
            let guard = epoch::pin();
            // Nobody listens: stage and swap under one look-up of the cell.
            // The commit takes no lock, so holding the cell's guard across
            // it waits for nothing.
            self.primary
                .with_cell(pk, |cell| {
                    let staged = self.stage_field::<F>(cell, &value, &guard)?;
                    staged
                        .map(|(staged, old)| {
                            let apply = || self.store.replace(cell, staged);
                            // Nobody listens, so no hook can refuse.
                            let replaced =
                                ticket.commit(ChangeKind::Update, pk, None, apply, pending)?;
                            Ok((replaced, old))
                        })
                        .transpose()
                })
                .ok_or_else(|| not_found_pk::<R>(pk))??
        };
        match updated {
            Some((replaced, old)) => {
                self.store.retire(replaced);
                Ok(old)
            }
            None => self.modify_locked(pk, replace, pending),
        }
    }

    /// Stages the row in `cell` with field `F` set to `value`, as a copy of
    /// its bytes; returns the staged version and the field's old value, or
    /// `None` when the new value does not fit the old bytes.
    fn stage_field<F>(
        &self,
        cell: &RowCell,
        value: &F::Value,
        guard: &epoch::Guard,
    ) -> Result<Option<(Staged, F::Value)>>
    where
        F: Field<R>,
        F::Value: Plain,
    {
        let version = self.store.version(cell, guard);
        let field = F::get_archived(self.store.archived(version));
        let old = rkyv::deserialize::<F::Value, rancor::Error>(field)
            .expect("a plain value deserializes");
        let staged = self
            .store
            .stage_with_field(version, field, value)
            .map_err(stage_error::<R>)?;
        Ok(staged.map(|staged| (staged, old)))
    }
}
