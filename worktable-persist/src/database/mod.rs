//! [`DurableDatabase`]: the tables of a `#[derive(Database)]` struct kept in
//! one directory, with one lock, one write-ahead log, one group-commit
//! flusher and one checkpoint covering every table at one commit number.
//!
//! # The directory
//!
//! - `LOCK`: held while the database is open.
//! - `db`: the database file — its id, its tables by field name (each
//!   with its table name, schema and key state, as a table's `meta`
//!   holds them), the checkpoint's commit number and how far the log was
//!   synced. Replaced atomically; its rename is a checkpoint's commit
//!   point.
//! - `t<slot>/pages`, `t<slot>/manifest-<generation>`: each table's
//!   checkpoint, as a table directory holds its own.
//! - `log-<first sequence number>`: the one log, every table's records; a
//!   transaction's records are consecutive, the last one marked, and
//!   recovery applies a commit only once it has read its last record.
//!
//! Byte layouts are in `docs/format.md`.

mod backup;
mod bulk;
mod checkpoint;
mod confirmed;
pub(crate) mod file;
mod hook;
mod load;
mod migrate;
pub(crate) mod read_only;
pub(crate) mod recover;
mod vacuum;

#[cfg(test)]
mod tests;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::storage::{CommitOrder, DatabaseTables};

#[cfg(feature = "object-store")]
pub use backup::restore_from_store;
pub use backup::{BackupError, BackupReport};
pub use bulk::{BulkLoad, BulkReport};
pub(crate) use bulk::{LoadThread, on_load_thread};
pub use confirmed::{ConfirmedChange, ConfirmedCommit, ConfirmedCommits};
pub use file::DatabaseFault;
pub use load::{LoadError, Loader};
pub use migrate::Migrations;
pub use read_only::ReadOnlyDatabase;
pub use vacuum::DatabaseVacuum;

use checkpoint::DbCheckpointer;
use hook::DbHook;
use recover::{Build, Recovered, SlotType};

use crate::format::ArchiveFormat;
use crate::log::SegmentHeader;
use crate::observe::{self, Store};
use crate::table::background::{self, Background, Checkpoints};
use crate::table::blocking;
use crate::table::checkpoint::Checkpointer;
use crate::table::lifecycle::{self, OpenState};
use crate::table::recover::{open_last_segment, remove_obsolete};
use crate::table::writer::{Shared, spawn_flusher};
use crate::table::{
    CheckpointError, CheckpointReport, Durability, Health, OpenError, Options, ResumeError,
    WriteError,
};
use crate::vfs::{RealFs, Vfs};

/// The tables of a `#[derive(Database)]` struct `D`, kept in a directory:
/// every commit — a single write, or a whole transaction — is appended to
/// one write-ahead log as one unit, checkpoints copy every table's changed
/// pages at one commit number, and [`open`](Self::open) rebuilds them all.
///
/// It dereferences to `D`, so every table, `transaction`, `begin` and
/// `snapshot` are the in-memory database's; each commit returns once it
/// is as durable as the [`Durability`] says (under
/// [`Durability::Sync`], once the log holds the whole commit, synced).
/// After a crash, recovery applies each commit entirely or not at all.
///
/// # Example
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{DurableDatabase, Durability, Options};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Account {
///     #[pk]
///     id: u32,
///     balance: i64,
/// }
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Entry {
///     #[pk(autoincrement)]
///     id: u64,
///     account: u32,
///     amount: i64,
/// }
///
/// #[derive(Database)]
/// struct Bank {
///     accounts: WorkTable<Account>,
///     ledger: WorkTable<Entry>,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// rt.block_on(async {
///     let options = Options::durability(Durability::Sync);
///     let bank = DurableDatabase::<Bank>::open(dir.path(), options)?;
///     bank.accounts.insert(Account { id: 1, balance: 100 }).await?;
///     // Both tables in one log record group: all of it or none after a crash.
///     bank.transaction(|tx| async move {
///         tx.accounts.update_with(&1, |account| account.balance -= 30)?;
///         tx.ledger.insert(Entry { id: 0, account: 1, amount: -30 })?;
///         Ok::<_, TableError>(())
///     })
///     .await?;
///     bank.close().await?;
///
///     let bank = DurableDatabase::<Bank>::open(dir.path(), options)?;
///     assert_eq!(bank.accounts.get(&1).map(|a| a.balance), Some(70));
///     assert_eq!(bank.ledger.len(), 1);
///     bank.close().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DurableDatabase<D: DatabaseTables> {
    /// What the background threads share with the handle.
    inner: Arc<Inner<D>>,
    /// The background threads and the directory lock, until closed.
    open: OpenState,
}

/// The database and its persistence state.
struct Inner<D: DatabaseTables> {
    db: D,
    hook: Arc<DbHook>,
    shared: Arc<Shared>,
    checkpointer: DbCheckpointer,
    background: Background,
    dir: PathBuf,
    vfs: Arc<dyn Vfs>,
    options: Options,
}

impl<D: DatabaseTables> std::fmt::Debug for DurableDatabase<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableDatabase")
            .field("dir", &self.inner.dir)
            .field("durability", &self.durability())
            .finish_non_exhaustive()
    }
}

impl<D: DatabaseTables> Deref for DurableDatabase<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.inner.db
    }
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// Opens the database kept in `dir`, creating the directory and an
    /// empty database if there is none, and rebuilds every table from the
    /// last checkpoint and the log after it.
    ///
    /// **Blocking**: it reads the checkpoint and the log and may sync
    /// files. From async code, call it in `tokio::task::spawn_blocking` if
    /// the database may be large.
    ///
    /// # Errors
    ///
    /// An [`OpenError`]: those of [`PersistentTable::open`](crate::PersistentTable::open)
    /// for each table's files, and [`OpenError::Database`] (the database
    /// file cannot be read), [`OpenError::DatabaseTables`] (the directory
    /// holds other tables than `D` declares), [`OpenError::LogCommit`] (a
    /// segment ends inside a commit with later segments after it, or names
    /// a table `D` does not have). After an error the lock is released.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        Self::open_on(Arc::new(RealFs), dir.as_ref(), options)
    }

    /// [`open`](Self::open) on the file system `vfs`. With the `testing`
    /// feature only, for tests: see [`testing`](crate::testing).
    #[cfg(feature = "testing")]
    pub fn open_in(vfs: Arc<dyn Vfs>, dir: &Path, options: Options) -> Result<Self, OpenError> {
        Self::open_on(vfs, dir, options)
    }

    fn open_on(vfs: Arc<dyn Vfs>, dir: &Path, options: Options) -> Result<Self, OpenError> {
        let store = Store::database::<D>();
        let started = observe::Stopwatch::start();
        let _span = observe::open_span(store, dir);
        let opened = Self::recover_and_start(vfs, dir, options);
        match &opened {
            Ok((db, checkpoint_seq)) => {
                let last_seq = db.inner.shared.last_logged();
                observe::database_opened(&db.inner.db, *checkpoint_seq, last_seq, started);
            }
            Err(error) => observe::open_failed(store, error),
        }
        opened.map(|(db, _)| db)
    }

    /// The steps of [`open_on`](Self::open_on); also returns the commit
    /// number of the checkpoint it loaded.
    fn recover_and_start(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
    ) -> Result<(Self, u64), OpenError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir)?;
        let types = recover::describe::<D>();
        let recovered = recover::recover(&*vfs, dir, &types, true)?;
        let checkpoint_seq = recovered.file.checkpoint_seq;
        Ok((
            Self::start(vfs, dir, options, lock, types, recovered, false)?,
            checkpoint_seq,
        ))
    }

    /// Builds the tables from what recovery found and starts the log
    /// writer and the checkpoint thread; with `force_checkpoint`, takes a
    /// checkpoint of every table first (a bulk load).
    fn start(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        lock: Box<dyn std::any::Any + Send + Sync>,
        types: Vec<SlotType>,
        recovered: Recovered,
        force_checkpoint: bool,
    ) -> Result<Self, OpenError> {
        let Recovered {
            file,
            tables,
            last_segment,
            last_seq,
            obsolete,
            migrated,
        } = recovered;
        let force_checkpoint = force_checkpoint || migrated;
        let fingerprint = recover::fingerprint(&types);
        let header = SegmentHeader {
            schema_fingerprint: fingerprint,
            first_seq: last_segment.map_or(last_seq + 1, |(header, _, _)| header.first_seq),
            archive_format: ArchiveFormat::current(),
            database: true,
        };
        let segment = open_last_segment(&*vfs, dir, last_segment, &header, options.secure_delete)?;
        let shared = Shared::new(
            Store::database::<D>(),
            dir.to_owned(),
            header,
            options.durability,
            last_seq,
        );
        let mut restores = Vec::with_capacity(tables.len());
        let mut checkpointers = Vec::with_capacity(tables.len());
        let mut keys = Vec::with_capacity(tables.len());
        for (slot, (loaded, ty)) in tables.into_iter().zip(&types).enumerate() {
            keys.push((ty.keys)(loaded.slot.key_state()));
            restores.push(Some(loaded.slot));
            let meta = file.tables[slot].meta.clone();
            checkpointers.push(Checkpointer::new(
                Arc::clone(&vfs),
                recover::table_dir(dir, slot),
                options.secure_delete,
                meta,
                loaded.manifest,
                loaded.fresh_pages,
            )?);
        }
        let hook = Arc::new(DbHook {
            shared: Arc::clone(&shared),
            keys,
            loading: std::sync::atomic::AtomicBool::new(false),
            dir: dir.to_owned(),
        });
        let order = CommitOrder::restored(last_seq, Arc::clone(&hook) as _);
        let db = D::build(&mut Build {
            tables: restores,
            order: &order,
            dir,
        })?;
        remove_obsolete(&*vfs, obsolete, options.secure_delete);
        let flusher =
            spawn_flusher(&shared, &vfs, segment).map_err(|source| OpenError::io(dir, source))?;
        let inner = Arc::new(Inner {
            db,
            hook,
            shared,
            checkpointer: DbCheckpointer::new(file, checkpointers, types, fingerprint),
            background: Background::default(),
            dir: dir.to_owned(),
            vfs,
            options,
        });
        let opened = Self {
            inner,
            open: OpenState::new(flusher, lock),
        };
        if force_checkpoint {
            opened
                .inner
                .checkpoint(true)
                .map_err(OpenError::Checkpoint)?;
        }
        let checkpoints = background::spawn_checkpointer("database", &opened.inner)
            .map_err(|source| OpenError::io(dir, source))?;
        opened.open.held().checkpoints = Some(checkpoints);
        Ok(opened)
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The durability the database was opened with.
    pub fn durability(&self) -> Durability {
        self.inner.shared.durability()
    }

    /// The database's id: 128 random bits chosen when it was created and
    /// kept for its life (a backup keeps it too).
    pub fn id(&self) -> u128 {
        u128::from_le_bytes(self.inner.checkpointer.id())
    }

    /// Whether the database still takes writes: [`Health::Failed`] once
    /// its log could not be written or synced (every commit is then
    /// refused; reads keep working).
    pub fn health(&self) -> Health {
        match self.inner.shared.failure() {
            None => Health::Healthy,
            Some(error) => Health::Failed(error),
        }
    }

    /// Why the last background checkpoint failed, if it did; `None` once
    /// a later one succeeds.
    pub fn background_checkpoint_error(&self) -> Option<Arc<CheckpointError>> {
        self.inner.background.last_error()
    }

    /// Waits until every commit numbered up to `seq` is durable (the log
    /// is synced through it), in every durability mode: under
    /// [`Durability::Periodic`] or [`Durability::None`] it asks the
    /// flusher to sync now.
    ///
    /// # Errors
    ///
    /// [`WriteError::LogWrite`] if the log fails first, or
    /// [`WriteError::Closed`] once the database is closed.
    pub async fn wait_durable(&self, seq: u64) -> Result<(), WriteError> {
        if self.inner.shared.synced_through() >= seq {
            return Ok(());
        }
        if self.closed() {
            return Err(WriteError::Closed {
                path: self.inner.dir.clone(),
            });
        }
        let shared = Arc::clone(&self.inner.shared);
        blocking::on_thread("wait-durable", move || shared.sync_logged().map(drop))
            .await
            .unwrap_or_else(|source| Err(self.inner.shared.write_error(Arc::new(source))))?;
        Ok(())
    }

    /// A stream of every commit numbered after `after` — whole (every
    /// change of a transaction, across tables, in one [`ConfirmedCommit`]),
    /// in commit order — each delivered only once it is durable: what an
    /// external consumer or a replica must read, so that it never acts on
    /// a commit a crash takes back. It reads the log, so it resumes from a
    /// saved number across reopens (numbers continue), as long as the log
    /// still holds the commits after it.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{DurableDatabase, Durability, Options};
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
    ///     let db = DurableDatabase::<Notes>::open(dir.path(), Options::durability(Durability::Sync))?;
    ///     let mut confirmed = db.subscribe_confirmed(db.last_commit())?;
    ///     db.notes.insert(Note { id: 7, text: "kept".into() }).await?;
    ///     let commit = confirmed.next().await.unwrap()?;
    ///     assert_eq!(commit.number, 1);
    ///     let change = commit.changes[0].event::<Note>()?;
    ///     assert_eq!(change.after().unwrap().get().text, "kept");
    ///     db.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResumeError::TooOld`] when a checkpoint removed the log after
    /// `after` (re-read the database and resume from its commit);
    /// [`ResumeError::Ahead`] past the last commit. The stream itself ends
    /// with [`ResumeError::TooOld`] if it falls behind a checkpoint, and
    /// with [`ResumeError::LogFailed`] if the log fails or the database
    /// closes first.
    pub fn subscribe_confirmed(&self, after: u64) -> Result<ConfirmedCommits, ResumeError> {
        ConfirmedCommits::new(
            Arc::clone(&self.inner.vfs),
            self.inner.dir.clone(),
            self.inner.shared.watch(),
            &self.inner.checkpointer,
            after,
            self.inner.shared.last_logged(),
        )
    }

    /// Takes a checkpoint of every table now, at one commit number. Runs
    /// on a thread of its own.
    ///
    /// # Errors
    ///
    /// As [`PersistentTable::checkpoint`](crate::PersistentTable::checkpoint):
    /// the previous checkpoint stays whole and nothing is lost.
    pub async fn checkpoint(&self) -> Result<CheckpointReport, CheckpointError> {
        if self.closed() {
            return Err(CheckpointError::Closed {
                path: self.inner.dir.clone(),
            });
        }
        self.checkpoint_on_thread().await
    }

    async fn checkpoint_on_thread(&self) -> Result<CheckpointReport, CheckpointError> {
        let inner = Arc::clone(&self.inner);
        blocking::on_thread("checkpoint-now", move || inner.checkpoint(false))
            .await
            .unwrap_or_else(|source| Err(CheckpointError::io(&self.inner.dir, source)))
    }

    /// Writes and syncs every logged commit, takes a last checkpoint, stops
    /// the background threads and releases the directory. Takes `&self`:
    /// a database shared through an `Arc` closes too; from then on every
    /// commit is refused ([`WriteError::Closed`]). Closing twice does
    /// nothing.
    ///
    /// # Errors
    ///
    /// As [`PersistentTable::close`](crate::PersistentTable::close).
    pub async fn close(&self) -> Result<(), CheckpointError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let checkpoint = self.checkpoint_on_thread();
        lifecycle::close(&self.inner, &self.inner.shared, open, checkpoint).await
    }

    /// Whether the database was closed.
    fn closed(&self) -> bool {
        self.open.closed()
    }
}

impl<D: DatabaseTables> Drop for DurableDatabase<D> {
    /// Stops the background checkpoints, writes and syncs what is buffered
    /// (best effort), records how far the log is synced and releases the
    /// directory. Blocks for that last write and sync; [`close`](Self::close)
    /// also checkpoints and reports errors.
    fn drop(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let inner = &self.inner;
        lifecycle::drop_open(&inner.background, &inner.shared, open, |synced| {
            // Best effort: the mark only adds a check.
            let _ = inner
                .checkpointer
                .record_synced(&*inner.vfs, &inner.dir, synced);
        });
    }
}

impl<D: DatabaseTables> Inner<D> {
    fn checkpoint(&self, force: bool) -> Result<CheckpointReport, CheckpointError> {
        let started = observe::Stopwatch::start();
        let _span = observe::checkpoint_span(self.shared.store());
        let outcome = self.checkpointer.run(
            &self.db,
            &self.hook,
            &self.shared,
            &*self.vfs,
            &self.dir,
            force,
        );
        observe::checkpointed(self.shared.store(), &outcome, started);
        outcome
    }
}

impl<D: DatabaseTables> Checkpoints for Inner<D> {
    fn background(&self) -> &Background {
        &self.background
    }

    fn logged_since_rotation(&self) -> u64 {
        self.shared.logged_since_rotation()
    }

    fn options(&self) -> &Options {
        &self.options
    }

    fn checkpoint_now(&self) -> Result<CheckpointReport, CheckpointError> {
        self.checkpoint(false)
    }
}
