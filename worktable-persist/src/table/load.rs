//! Bulk load of a durable table: [`PersistentTable::create_loaded`], the
//! table counterpart of [`DurableDatabase::create_loaded`](crate::DurableDatabase::create_loaded).

use std::path::Path;
use std::sync::Arc;

use worktable_core::Row;
use worktable_core::rkyv::{self, rancor};

use super::error::{CheckpointError, OpenError};
use super::{Inner, Options, PersistentTable, blocking, recover};
use crate::database::{BulkReport, LoadError, LoadThread};
use crate::meta;
use crate::vfs::{RealFs, Vfs};

impl<R: Row> PersistentTable<R> {
    /// Creates a table in `dir` (new or empty) holding `rows`, written as
    /// its first checkpoint — one step, all rows or none after a crash —
    /// and opens it: no log record per row, indexes built once. Rows keep
    /// their own keys (a key generator goes on above the largest).
    /// **Blocking**, like [`open`](Self::open).
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Options, PersistentTable};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    ///     text: String,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let notes = PersistentTable::<Note>::create_loaded(
    ///     dir.path(),
    ///     Options::default(),
    ///     (0..1_000).map(|id| Note { id, text: format!("note {id}") }),
    /// )?;
    /// assert_eq!(notes.len(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LoadError::Exists`] when `dir` holds a table;
    /// [`LoadError::Rejected`] (a primary key given twice, a row too large
    /// for a page); [`LoadError::Row`]; [`LoadError::Open`] (a unique key
    /// given twice is found as the indexes are built); and
    /// [`LoadError::Checkpoint`]. After an error `dir` holds an empty table
    /// or none.
    pub fn create_loaded(
        dir: impl AsRef<Path>,
        options: Options,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self, LoadError> {
        Self::create_loaded_on(Arc::new(RealFs), dir.as_ref(), options, rows)
    }

    fn create_loaded_on(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Self, LoadError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir).map_err(OpenError::from)?;
        if !matches!(
            meta::read(&*vfs, dir, meta::FILE_NAME),
            Err(meta::MetaError::Missing { .. })
        ) {
            return Err(LoadError::Exists {
                dir: dir.to_owned(),
            });
        }
        let mut recovered = recover::recover::<R>(&*vfs, dir, true)?;
        let mut arena = rkyv::ser::allocator::Arena::new();
        for row in rows {
            let bytes = rkyv::api::high::to_bytes_in_with_alloc::<_, _, rancor::Error>(
                &row,
                rkyv::util::AlignedVec::<16>::new(),
                arena.acquire(),
            )
            .map_err(|source| LoadError::Row {
                table: R::TABLE_NAME,
                source,
            })?;
            recovered
                .restore
                .put_new(&bytes)
                .map_err(|source| LoadError::Rejected {
                    table: R::TABLE_NAME,
                    source,
                })?;
        }
        Ok(Self::start(vfs, dir, options, lock, recovered, true)?)
    }
}

impl<R: Row> PersistentTable<R> {
    /// Loads many rows into this open table in one step, written as a
    /// checkpoint rather than one log record per row: while it runs every
    /// other write is refused with
    /// [`WriteError::BulkLoad`](crate::WriteError::BulkLoad) and reads go
    /// on (they see the rows arrive one by one). The log gets one skip
    /// record for the load's numbers, then a checkpoint writes the rows:
    /// after a crash the table holds the whole load or none of it. Returns
    /// once the rows are durable. Runs on a thread of its own.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Options, PersistentTable};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    ///     text: String,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
    ///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
    ///     notes.insert(Note { id: 0, text: "first".into() }).await?;
    ///     let rows = (1..=10_000).map(|id| Note { id, text: format!("{id}") });
    ///     let report = notes.bulk_load(rows).await?;
    ///     assert_eq!((report.rows, notes.len()), (10_000, 10_001));
    ///     notes.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`LoadError::Table`]: a row was refused (a key taken); the rows
    /// before it are loaded (and checkpointed). [`LoadError::Checkpoint`]:
    /// the rows could not be written; the log is then failed (reopen the
    /// table, which comes back as before the load).
    pub async fn bulk_load<I>(&self, rows: I) -> Result<BulkReport, LoadError>
    where
        I: IntoIterator<Item = R> + Send + 'static,
    {
        if self.open.closed() {
            return Err(LoadError::Checkpoint(CheckpointError::Closed {
                path: self.inner.dir.clone(),
            }));
        }
        let inner = Arc::clone(&self.inner);
        blocking::on_thread("bulk-load", move || bulk_load(&inner, rows))
            .await
            .unwrap_or_else(|source| {
                Err(LoadError::Checkpoint(CheckpointError::io(
                    &self.inner.dir,
                    source,
                )))
            })
    }
}

/// The bulk load of `rows` into `inner`'s table, on this (its own) thread.
fn bulk_load<R: Row>(
    inner: &Inner<R>,
    rows: impl IntoIterator<Item = R>,
) -> Result<BulkReport, LoadError> {
    use std::sync::atomic::Ordering;
    // Other writes are refused from here on; once the commit lock is free,
    // every change the log took before is made.
    inner.hook.loading.store(true, Ordering::SeqCst);
    struct Reopen<'h>(&'h std::sync::atomic::AtomicBool);
    impl Drop for Reopen<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }
    let _reopen = Reopen(&inner.hook.loading);
    worktable_core::storage::wait_for_commits(&inner.table);
    let first = inner.shared.last_logged() + 1;
    let mut count = 0;
    // No checkpoint may take part of the load: the background one waits
    // until every row is in.
    let held = inner.checkpointer.hold();
    let thread = LoadThread::enter();
    let mut inserted = Ok(());
    for row in rows {
        if let Err(error) = blocking::block_on(inner.table.insert(row)) {
            inserted = Err(LoadError::Table(error));
            break;
        }
        count += 1;
    }
    drop(thread);
    let last = inner.table.last_seq();
    // The skip record goes in while checkpoints still wait, so that any
    // checkpoint holding the rows is numbered after the load.
    let logged = if last >= first {
        inner
            .shared
            .skip(first, last)
            .map_err(|refusal| std::io::Error::other(refusal.to_string()))
    } else {
        Ok(())
    };
    drop(held);
    // Whatever was inserted is checkpointed, a refused row or not.
    let checkpoint = logged
        .map_err(|source| CheckpointError::io(&inner.dir, source))
        .and_then(|()| inner.checkpoint_now(true))
        .map_err(|error| {
            inner.shared.fail(std::io::Error::other(format!(
                "a bulk load's rows could not be checkpointed: {error}"
            )));
            LoadError::Checkpoint(error)
        })?;
    inserted?;
    Ok(BulkReport {
        rows: count,
        commit: checkpoint.seq,
    })
}
