//! Building a table from many rows at once: [`WorkTable::from_rows`] and
//! [`WorkTable::from_rows_keeping_keys`].
//!
//! A table nobody can see yet needs none of the write protocol's steps for
//! each row (row locks, change events, keeping the indexes in step one row
//! at a time). The rows are written to pages one after the other, sorted by
//! primary key, and each index is then built from its sorted keys, on a
//! thread of its own — the path a durable table's recovery takes too.

use std::sync::atomic::Ordering;

use super::WorkTable;
use super::restore::build_indexes;
use super::write::{duplicate_key, stage_error};
use crate::error::{Result, TableError};
use crate::page::Link;
use crate::row::PkSource;
use crate::row::Row;

impl<R: Row> WorkTable<R> {
    /// A table holding `rows`: the fast way to load many rows into a new
    /// table. Keys are assigned as [`insert`](Self::insert) assigns them
    /// (a generated key replaces the row's own; to keep the rows' own keys
    /// on such a table, see
    /// [`from_rows_keeping_keys`](Self::from_rows_keeping_keys)). The rows are written to
    /// pages in the order given, then each index is built from its sorted
    /// keys, each on a thread of its own for more than a few thousand rows:
    /// several times faster than inserting the rows one by one.
    ///
    /// It is CPU-bound and returns when the table is complete; in async
    /// code, call it through `spawn_blocking` for big inputs. No change
    /// events are emitted: nobody can have subscribed to a table that does
    /// not exist yet, and [`last_seq`](Self::last_seq) is 0.
    ///
    /// # Errors
    ///
    /// [`DuplicatePk`](TableError::DuplicatePk) if two rows share a primary
    /// key, [`DuplicateKey`](TableError::DuplicateKey) if two share the key
    /// of a unique index, [`KeysExhausted`](TableError::KeysExhausted),
    /// [`RowTooLarge`](TableError::RowTooLarge),
    /// [`Serialize`](TableError::Serialize),
    /// [`TableFull`](TableError::TableFull). Nothing is kept on error.
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
    ///     #[index]
    ///     account: u32,
    /// }
    ///
    /// let orders = WorkTable::from_rows((1..=1000).map(|id| Order {
    ///     id,
    ///     client_ref: format!("R-{id}"),
    ///     account: (id % 10) as u32,
    /// }))?;
    /// assert_eq!(orders.len(), 1000);
    /// assert_eq!(orders.get_by(Order::CLIENT_REF, "R-42").unwrap().id, 42);
    /// assert_eq!(orders.find_by(Order::ACCOUNT, &3).len(), 100);
    ///
    /// // Two rows with one unique key: no table.
    /// let clash = WorkTable::from_rows([
    ///     Order { id: 1, client_ref: "A".into(), account: 1 },
    ///     Order { id: 2, client_ref: "A".into(), account: 1 },
    /// ]);
    /// assert!(matches!(clash, Err(TableError::DuplicateKey { index: "client_ref", .. })));
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn from_rows(rows: impl IntoIterator<Item = R>) -> Result<Self> {
        Self::load(rows, Keys::Assigned)
    }

    /// A table holding `rows` under their own primary keys, also on a table
    /// whose keys are generated (`#[pk(autoincrement)]`,
    /// `#[pk(generator = ...)]`): for reloading rows that already have
    /// keys — an export, another table's rows, rows other rows refer to by
    /// key. The generator is shown every loaded key
    /// ([`PkGenerator::observe`](crate::PkGenerator::observe)): an
    /// autoincrement table's next [`insert`](Self::insert) gets the largest
    /// loaded key + 1; a generator of your own skips what its `observe`
    /// makes it skip (the default skips nothing). Otherwise as
    /// [`from_rows`](Self::from_rows).
    ///
    /// Which to pick: `from_rows` for new rows the table should number
    /// (their own key fields are ignored, as by `insert`);
    /// `from_rows_keeping_keys` for rows whose keys must survive. On a
    /// table without a generator the two are the same.
    ///
    /// # Errors
    ///
    /// [`DuplicatePk`](TableError::DuplicatePk) naming a key two rows
    /// share; then as [`from_rows`](Self::from_rows). Nothing is kept on
    /// error.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Invoice {
    ///     #[pk(autoincrement)]
    ///     id: u64,
    ///     total: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let exported = [Invoice { id: 10, total: 5 }, Invoice { id: 42, total: 7 }];
    ///     let invoices = WorkTable::from_rows_keeping_keys(exported.clone())?;
    ///     assert_eq!(invoices.get(&42).unwrap().total, 7);
    ///     assert_eq!(invoices.insert(Invoice { id: 0, total: 1 }).await?, 43);
    ///
    ///     // `from_rows` numbers the rows itself, as `insert` does.
    ///     let renumbered = WorkTable::from_rows(exported)?;
    ///     assert_eq!(renumbered.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
    ///
    ///     // Two rows with one key: no table.
    ///     let clash = WorkTable::from_rows_keeping_keys([
    ///         Invoice { id: 3, total: 1 },
    ///         Invoice { id: 3, total: 2 },
    ///     ]);
    ///     assert!(matches!(clash, Err(TableError::DuplicatePk { .. })));
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn from_rows_keeping_keys(rows: impl IntoIterator<Item = R>) -> Result<Self> {
        Self::load(rows, Keys::Kept)
    }

    /// [`from_rows`](Self::from_rows) with the rows' keys as `keys` says.
    fn load(rows: impl IntoIterator<Item = R>, keys: Keys) -> Result<Self> {
        let mut table = Self::new();
        let rows = rows.into_iter();
        let mut loaded: Vec<(R::Pk, Link)> = Vec::with_capacity(rows.size_hint().0);
        for mut row in rows {
            let pk = match keys {
                Keys::Assigned => table.assign_pk(&mut row)?,
                Keys::Kept => {
                    let pk = row.pk();
                    table.pk_source.observe(&pk);
                    pk
                }
            };
            let link = table.store.load_row(&row).map_err(stage_error::<R>)?;
            loaded.push((pk, link));
        }
        loaded.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = loaded.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(TableError::DuplicatePk {
                table: R::TABLE_NAME,
                pk: format!("{:?}", pair[0].0),
            });
        }
        table.primary =
            crate::index::PrimaryIndex::with_capacity(loaded.len(), R::pk_prefix(), R::ORDERED_PK);
        build_indexes(&table, &loaded).map_err(duplicate_key::<R>)?;
        if let Some((last, _)) = loaded.last() {
            table.pk_source.observe(last);
        }
        table.len.store(loaded.len(), Ordering::Release);
        Ok(table)
    }
}

/// Where the primary keys of loaded rows come from.
#[derive(Clone, Copy, Debug)]
enum Keys {
    /// As [`insert`](WorkTable::insert) assigns them: a generator's, or
    /// the row's own on a table without one.
    Assigned,
    /// The rows' own, shown to the generator if any.
    Kept,
}
