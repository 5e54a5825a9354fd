//! Bulk load into an open database ([`DurableDatabase::bulk_load`]):
//! many rows written as a checkpoint rather than one log record per row.
//!
//! The load takes the database for itself: from its start to its end
//! every other commit is refused ([`WriteError::BulkLoad`]; reads go on),
//! and checkpoints wait. It inserts the rows in transactions of
//! [`CHUNK_ROWS`] (65,536) rows, made on the load's own thread, which the log
//! writer recognises: it gives them their numbers without writing a
//! record. Then one checkpoint of every table writes them, and the
//! database file's rename is the moment the load takes effect. A crash
//! before it leaves the database as it was before the load (nothing of it
//! reached the log); after it, the whole load. If that checkpoint fails,
//! the rows are in memory only: the log is failed (every later commit
//! refused, `health()` says why) and a reopen shows the database without
//! the load.
//!
//! Readers see the chunks appear one by one while the load runs (each
//! whole); a snapshot taken before the load keeps seeing none of it. The
//! load's numbers have no log record, so a confirmed stream that reaches
//! them ends with `ResumeError::TooOld` (re-read from a copy taken after
//! the load).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use worktable_core::storage::DatabaseTables;
use worktable_core::{Row, Transaction, TxTable, WorkTable};

use super::load::{Empty, LoadError, slot_of};
use super::{DurableDatabase, Inner};
use crate::table::{WriteError, blocking};

/// Rows per transaction of a bulk load.
pub(crate) const CHUNK_ROWS: usize = 65_536;

thread_local! {
    /// This thread runs a bulk load: its commits are not logged.
    static LOADING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread runs a bulk load.
pub(crate) fn on_load_thread() -> bool {
    LOADING.with(Cell::get)
}

/// Marks the calling thread as running a bulk load until dropped.
pub(crate) struct LoadThread(());

impl LoadThread {
    pub(crate) fn enter() -> Self {
        LOADING.with(|loading| loading.set(true));
        Self(())
    }
}

impl Drop for LoadThread {
    fn drop(&mut self) {
        LOADING.with(|loading| loading.set(false));
    }
}

/// What a bulk load did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkReport {
    /// Rows loaded.
    pub rows: u64,
    /// The checkpoint holding them: every commit up to this number.
    pub commit: u64,
}

/// Loads rows into the tables of an open database, in
/// [`DurableDatabase::bulk_load`].
pub struct BulkLoad<'a, D: DatabaseTables> {
    db: &'a D,
    /// Empty tables, to tell which one a picker names.
    shape: D,
    /// Rows committed so far.
    rows: u64,
}

impl<D: DatabaseTables> std::fmt::Debug for BulkLoad<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkLoad")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<'a, D: DatabaseTables> BulkLoad<'a, D> {
    /// Inserts `rows` into the table `table` picks (`|db| &db.accounts`);
    /// returns how many. As `insert`: a key generator hands out keys, a
    /// key or unique key taken fails.
    ///
    /// # Errors
    ///
    /// [`LoadError::Table`]: a row was refused (a duplicate key), and its
    /// chunk with it. The chunks committed before stay, and the load's
    /// checkpoint writes them: a load that fails part way loads a prefix
    /// of its rows, in whole chunks.
    pub fn rows<R: Row>(
        &mut self,
        table: fn(&D) -> &WorkTable<R>,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64, LoadError> {
        // Checks the picker names one of the database's tables.
        slot_of(&self.shape, table(&self.shape));
        let target = table(self.db);
        let mut rows = rows.into_iter().peekable();
        let mut count = 0;
        while rows.peek().is_some() {
            let tx = Transaction::begin(target);
            let view = TxTable::new(target, &tx);
            let mut chunk = 0;
            for row in rows.by_ref().take(CHUNK_ROWS) {
                view.insert(row).map_err(LoadError::Table)?;
                chunk += 1;
            }
            drop(view);
            blocking::block_on(tx.commit()).map_err(LoadError::Table)?;
            self.rows += chunk;
            count += chunk;
        }
        Ok(count)
    }
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// Loads many rows into this open database in one step, written as a
    /// checkpoint rather than one log record per row: while it runs every
    /// other commit is refused with [`WriteError::BulkLoad`] and reads go
    /// on; the rows are inserted in transactions of 65,536 rows (readers
    /// see them appear chunk by chunk), then one checkpoint writes them.
    /// After a crash the database holds the whole load or none of it.
    /// Returns once the rows are durable. Runs on a thread of its own.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{DurableDatabase, Options};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    ///     text: String,
    /// }
    ///
    /// #[derive(Database)]
    /// struct Notes {
    ///     notes: WorkTable<Note>,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
    ///     let db = DurableDatabase::<Notes>::open(dir.path(), Options::default())?;
    ///     db.notes.insert(Note { id: 0, text: "first".into() }).await?;
    ///     let report = db
    ///         .bulk_load(|load| {
    ///             load.rows(|db| &db.notes, (1..=10_000).map(|id| Note { id, text: format!("{id}") }))?;
    ///             Ok(())
    ///         })
    ///         .await?;
    ///     assert_eq!((report.rows, db.notes.len()), (10_000, 10_001));
    ///     db.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The error `fill` returns (the chunks committed before it are
    /// checkpointed all the same); [`LoadError::Checkpoint`] (the log is
    /// then failed: reopen the database, which comes back as before the
    /// load); [`LoadError::Open`] when the database is closed.
    pub async fn bulk_load<F>(&self, fill: F) -> Result<BulkReport, LoadError>
    where
        F: FnOnce(&mut BulkLoad<'_, D>) -> Result<(), LoadError> + Send + 'static,
    {
        if self.closed() {
            return Err(LoadError::Checkpoint(crate::CheckpointError::Closed {
                path: self.inner.dir.clone(),
            }));
        }
        let inner = Arc::clone(&self.inner);
        blocking::on_thread("bulk-load", move || inner.bulk_load(fill))
            .await
            .unwrap_or_else(|source| {
                Err(LoadError::Checkpoint(crate::CheckpointError::io(
                    &self.inner.dir,
                    source,
                )))
            })
    }
}

impl<D: DatabaseTables> Inner<D> {
    /// The bulk load, on this (its own) thread.
    fn bulk_load(
        &self,
        fill: impl FnOnce(&mut BulkLoad<'_, D>) -> Result<(), LoadError>,
    ) -> Result<BulkReport, LoadError> {
        // Other commits are refused from here on; the load's own are
        // recognised by their thread.
        self.hook.loading.store(true, Ordering::SeqCst);
        struct Reopen<'h>(&'h super::hook::DbHook);
        impl Drop for Reopen<'_> {
            fn drop(&mut self) {
                self.0.loading.store(false, Ordering::SeqCst);
            }
        }
        let _reopen = Reopen(&self.hook);
        // No checkpoint may take part of the load: the background one
        // waits until every chunk is in.
        let (_, paused) = self.checkpointer.pause();
        let thread = LoadThread::enter();
        let mut load = BulkLoad {
            db: &self.db,
            shape: match D::build(&mut Empty) {
                Ok(shape) => shape,
                Err(never) => match never {},
            },
            rows: 0,
        };
        let filled = fill(&mut load);
        let rows = load.rows;
        drop(load);
        drop(thread);
        drop(paused);
        // Whatever was committed is checkpointed, the load's error or not.
        let checkpoint = self.checkpoint(true).map_err(|error| {
            self.shared.fail(std::io::Error::other(format!(
                "a bulk load's rows could not be checkpointed: {error}"
            )));
            LoadError::Checkpoint(error)
        });
        let report = checkpoint?;
        filled?;
        Ok(BulkReport {
            rows,
            commit: report.seq,
        })
    }
}

/// The error a commit gets while a bulk load runs.
pub(crate) fn refused(dir: &std::path::Path) -> WriteError {
    WriteError::BulkLoad {
        path: dir.to_owned(),
    }
}
