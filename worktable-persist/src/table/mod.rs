//! [`PersistentTable`]: a [`WorkTable`] whose every change is written to a
//! write-ahead log and, by checkpoints, to a page file, and which is
//! rebuilt from them when it is opened.
//!
//! See the [crate documentation](crate) for what each [`Durability`] mode
//! promises.

pub(crate) mod background;
pub(crate) mod blocking;
pub(crate) mod checkpoint;
mod confirmed;
pub(crate) mod error;
pub(crate) mod files;
mod health;
mod history;
pub(crate) mod lifecycle;
mod load;
pub(crate) mod migrate;
mod options;
mod read_only;
pub(crate) mod recover;
pub(crate) mod schema;
pub(crate) mod writer;

#[cfg(test)]
mod tests;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use worktable_core::{Row, VacuumHandle, VacuumPolicy, WorkTable};

pub use checkpoint::CheckpointReport;
pub use confirmed::{Confirmed, ConfirmedError};
pub use error::{CheckpointError, OpenError, PersistError, ResumeError, WriteError};
#[cfg(test)]
pub(crate) use files::segment_name;
pub use health::Health;
pub use options::{Durability, Options};
pub use read_only::ReadOnlyTable;
pub use schema::SchemaDifference;
#[cfg(any(test, feature = "testing"))]
pub use writer::LogStats;

use background::Background;
use checkpoint::Checkpointer;
use lifecycle::OpenState;
use recover::Recovered;
use writer::{Hook, Shared, spawn_flusher};

use crate::observe::{self, Store};
use crate::vfs::{RealFs, Vfs};

/// A [`WorkTable`] kept in a directory: every committed change is appended
/// to a write-ahead log, checkpoints copy the changed pages into a page
/// file in the background, and [`open`](Self::open) rebuilds the table
/// from the last checkpoint and the log after it.
///
/// It dereferences to the [`WorkTable`], so the whole read and write API is
/// available; each write returns once its change is as durable as the
/// table's [`Durability`] says. [`close`](Self::close) writes and syncs
/// the log, takes a last checkpoint and releases the directory.
///
/// # Example
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::{Options, PersistentTable};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk(autoincrement)]
///     id: u64,
///     text: String,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// rt.block_on(async {
///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
///     let id = notes.insert(Note { id: 0, text: "hello".into() }).await?;
///     notes.close().await?;
///
///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
///     assert_eq!(notes.get(&id).map(|n| n.text), Some("hello".to_owned()));
///     notes.close().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PersistentTable<R: Row> {
    /// What the background threads share with the handle.
    inner: Arc<Inner<R>>,
    /// The background threads and the directory lock, until the table is
    /// closed or dropped.
    open: OpenState,
}

/// The table and its persistence state.
struct Inner<R: Row> {
    /// The table (dropped before `hook`'s other owners matter: the hook only
    /// holds `shared`).
    table: WorkTable<R>,
    /// The commit hook (also installed in the table).
    hook: Arc<Hook<R>>,
    /// State shared with the hook and the flusher.
    shared: Arc<Shared>,
    /// Runs checkpoints.
    checkpointer: Checkpointer,
    /// What the background checkpoint thread and the handle tell each
    /// other.
    background: Background,
    /// The table directory.
    dir: PathBuf,
    /// The file system it is on.
    vfs: Arc<dyn Vfs>,
    /// The options the table was opened with.
    options: Options,
}

impl<R: Row> std::fmt::Debug for PersistentTable<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentTable")
            .field("dir", &self.inner.dir)
            .field("durability", &self.durability())
            .field("table", &self.inner.table)
            .finish()
    }
}

impl<R: Row> Deref for PersistentTable<R> {
    type Target = WorkTable<R>;

    fn deref(&self) -> &WorkTable<R> {
        &self.inner.table
    }
}

impl<R: Row> PersistentTable<R> {
    /// Opens the table kept in `dir`, creating the directory and an empty
    /// table if there is none, and rebuilds it from its last checkpoint and
    /// the log after it.
    ///
    /// **Blocking**: it reads the checkpoint and the log and may sync
    /// files. From async code, call it in `tokio::task::spawn_blocking` (or
    /// before the runtime starts) if the table may be large. Nothing else on
    /// the write path blocks: the log is written and synced by a dedicated
    /// thread, and checkpoints run on another.
    ///
    /// The steps: create `dir` if missing; lock it; read the metadata file
    /// (a new table writes one) and check this build's rkyv archive format,
    /// then the row type's table name and schema fingerprint against it;
    /// read the checkpoint it names (manifest, then the page file's header,
    /// whose archive format is checked too, then every page-file frame,
    /// checked against the manifest's checksums, every row validated);
    /// replay the log segments after the checkpoint, in order, each one's
    /// archive format checked before its records are read; build the
    /// indexes; cut a torn tail off the last segment (and sync) before
    /// anything is appended; remove files earlier runs left behind.
    ///
    /// # Errors
    ///
    /// An [`OpenError`]:
    ///
    /// - [`OpenError::AlreadyOpen`]: the directory is open elsewhere.
    /// - [`OpenError::NotATableDirectory`]: the directory holds no table
    ///   but other files; a new table is only created in an empty or new
    ///   directory.
    /// - [`OpenError::Meta`] (a file of an older format version
    ///   included), [`OpenError::MetaMissing`],
    ///   [`OpenError::TableNameMismatch`] (checked first),
    ///   [`OpenError::SchemaMismatch`] (listing what differs): the
    ///   metadata file cannot be read or is not this table's.
    /// - [`OpenError::ArchiveFormat`]: the metadata file, a log segment
    ///   or the page file records an rkyv archive format other than this
    ///   build's
    ///   ([`ArchiveFormat::current`](crate::format::ArchiveFormat::current)):
    ///   the rows were written by a build whose rkyv was compiled with other
    ///   features.
    /// - [`OpenError::Manifest`], [`OpenError::ManifestMismatch`],
    ///   [`OpenError::PageFile`], [`OpenError::PageFrame`]: the
    ///   checkpoint is damaged.
    /// - [`OpenError::Log`], [`OpenError::LogStart`],
    ///   [`OpenError::LogMissing`], [`OpenError::LogGap`],
    ///   [`OpenError::LogTruncated`]: the log is damaged (not merely torn)
    ///   or incomplete (see the [crate documentation](crate#a-damaged-log)).
    /// - [`OpenError::Restore`]: a row is not valid, or the rows break a
    ///   unique index.
    /// - [`OpenError::Io`], [`OpenError::Lock`]: a file operation
    ///   failed (permissions included).
    ///
    /// After an error nothing was written (except a new table's metadata
    /// file) and the lock is released.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        Self::open_on(Arc::new(RealFs), dir.as_ref(), options)
    }

    /// [`open`](Self::open) on the file system `vfs`: in tests, a simulated
    /// disk that can lose unsynced writes and fail on demand. With the
    /// `testing` feature only, for tests: see
    /// [`testing`](crate::testing).
    #[cfg(feature = "testing")]
    pub fn open_in(vfs: Arc<dyn Vfs>, dir: &Path, options: Options) -> Result<Self, OpenError> {
        Self::open_on(vfs, dir, options)
    }

    /// [`open`](Self::open) on the file system `vfs`.
    fn open_on(vfs: Arc<dyn Vfs>, dir: &Path, options: Options) -> Result<Self, OpenError> {
        let store = Store::Table(R::TABLE_NAME);
        let started = observe::Stopwatch::start();
        let _span = observe::open_span(store, dir);
        let opened = Self::recover_and_start(vfs, dir, options);
        match &opened {
            Ok((table, checkpoint_seq)) => {
                observe::opened(
                    store,
                    *checkpoint_seq,
                    table.last_seq(),
                    table.len(),
                    started,
                );
            }
            Err(error) => observe::open_failed(store, error),
        }
        opened.map(|(table, _)| table)
    }

    /// The steps of [`open_on`](Self::open_on); also returns the sequence
    /// number of the checkpoint it loaded.
    fn recover_and_start(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
    ) -> Result<(Self, u64), OpenError> {
        vfs.create_dir_all(dir)
            .map_err(|source| OpenError::io(dir, source))?;
        let lock = vfs.lock_dir(dir)?;
        let recovered = recover::recover::<R>(&*vfs, dir, true)?;
        let checkpoint_seq = recovered.meta.checkpoint_seq;
        Ok((
            Self::start(vfs, dir, options, lock, recovered, false)?,
            checkpoint_seq,
        ))
    }

    /// Builds the table from what recovery found and starts the log writer
    /// and the checkpoint thread. `force_checkpoint`: take a checkpoint
    /// before returning even if nothing changed (a migration).
    fn start(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        options: Options,
        lock: Box<dyn std::any::Any + Send + Sync>,
        recovered: Recovered<R>,
        force_checkpoint: bool,
    ) -> Result<Self, OpenError> {
        let Recovered {
            restore,
            meta,
            manifest,
            last_segment,
            last_seq,
            deleted_max,
            obsolete,
        } = recovered;
        let (header, segment) =
            recover::open_log::<R>(&*vfs, dir, last_segment, last_seq, options.secure_delete)?;
        let shared = Shared::new(
            Store::Table(R::TABLE_NAME),
            dir.to_owned(),
            header,
            options.durability,
            last_seq,
        );
        let hook = Arc::new(Hook::<R>::new(Arc::clone(&shared), deleted_max));
        let table = recover::build_table(restore, dir, last_seq, Arc::clone(&hook) as _)?;
        let checkpointer = Checkpointer::new(
            Arc::clone(&vfs),
            dir.to_owned(),
            options.secure_delete,
            meta,
            manifest,
            // A migration rebuilt the table: none of the old pages stay.
            force_checkpoint,
        )?;
        recover::remove_obsolete(&*vfs, obsolete, options.secure_delete);
        let flusher =
            spawn_flusher(&shared, &vfs, segment).map_err(|source| OpenError::io(dir, source))?;
        let inner = Arc::new(Inner {
            table,
            hook,
            shared,
            checkpointer,
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
                .checkpoint_now(true)
                .map_err(OpenError::Checkpoint)?;
        }
        let checkpoints = background::spawn_checkpointer(R::TABLE_NAME, &opened.inner)
            .map_err(|source| OpenError::io(dir, source))?;
        opened.open.held().checkpoints = Some(checkpoints);
        Ok(opened)
    }

    /// The table directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The durability the table was opened with.
    pub fn durability(&self) -> Durability {
        self.inner.shared.durability()
    }

    /// The options the table was opened with.
    pub fn options(&self) -> Options {
        self.inner.options
    }

    /// Starts a background vacuum of the table (see
    /// [`WorkTable::spawn_vacuum`]): it moves rows out of sparse pages
    /// while writers and checkpoints go on, pausing while a checkpoint
    /// reads the changed pages. It ends when the handle is stopped or
    /// dropped, or when the table is dropped.
    ///
    /// ```
    /// use worktable_core::VacuumPolicy;
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Options, PersistentTable};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
    /// let vacuum = notes.spawn_vacuum(VacuumPolicy::default());
    /// // ... the application runs ...
    /// let report = vacuum.stop();
    /// assert_eq!(report.rows_moved, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_vacuum(&self, policy: VacuumPolicy) -> VacuumHandle {
        WorkTable::spawn_vacuum_in(&self.inner, policy)
    }

    /// The in-memory table (also reachable through `Deref`).
    pub fn table(&self) -> &WorkTable<R> {
        &self.inner.table
    }

    /// Why the last background checkpoint failed, if it did; `None` once a
    /// later one succeeds. A failed checkpoint loses nothing (the log keeps
    /// every change and the previous checkpoint stays whole); the thread
    /// tries again at its next trigger, and [`close`](Self::close) takes
    /// one more and reports its error.
    pub fn background_checkpoint_error(&self) -> Option<Arc<CheckpointError>> {
        self.inner.background.last_error()
    }

    /// Whether the table still takes writes: [`Health::Failed`] once its
    /// log could not be written or synced. A failed table refuses every
    /// write before changing anything, with
    /// [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused)
    /// whose source is the [`WriteError::LogWrite`] given here; reads
    /// keep working; close it and open it again to write.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Health, Options, PersistentTable};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
    /// assert!(matches!(notes.health(), Health::Healthy));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn health(&self) -> Health {
        match self.inner.shared.failure() {
            None => Health::Healthy,
            Some(error) => Health::Failed(error),
        }
    }

    /// Counters of the log writer since open (syncs, batches, records), for
    /// tests. With the `testing` feature only: see
    /// [`testing`](crate::testing).
    #[cfg(any(test, feature = "testing"))]
    pub fn log_stats(&self) -> LogStats {
        self.inner.shared.stats()
    }

    /// Takes a checkpoint now: the pages changed since the last one are
    /// written to the page file and synced, the metadata file moves to the
    /// new checkpoint, and the log before it is removed. Runs on a thread
    /// of its own; waits for a background checkpoint in progress first.
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
    ///     notes.insert(Note { id: 7, text: "kept".into() }).await?;
    ///     let report = notes.checkpoint().await?;
    ///     assert_eq!((report.seq, report.rows), (1, 1));
    ///     notes.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] (or [`CheckpointError::LogFailed`] when the
    /// log has failed) when a file cannot be written or synced; see
    /// [`CheckpointError`] for the others. The checkpoint in the metadata
    /// file stays the previous one, complete, and nothing is lost: the
    /// pages it did not write are written by the next checkpoint.
    pub async fn checkpoint(&self) -> Result<CheckpointReport, CheckpointError> {
        if self.open.closed() {
            return Err(CheckpointError::Closed {
                path: self.inner.dir.clone(),
            });
        }
        self.checkpoint_on_thread().await
    }

    /// A checkpoint on a thread of its own.
    async fn checkpoint_on_thread(&self) -> Result<CheckpointReport, CheckpointError> {
        let inner = Arc::clone(&self.inner);
        self.on_thread("checkpoint-now", move || inner.checkpoint_now(false))
            .await
            .unwrap_or_else(|source| Err(CheckpointError::io(&self.inner.dir, source)))
    }

    /// Writes and syncs every logged change, takes a last checkpoint (so
    /// that the next open has no log to replay), stops the background
    /// threads and releases the directory. Takes `&self`, so a table
    /// shared through an `Arc` closes too: from then on every write is
    /// refused ([`TableError::WriteRefused`](worktable_core::TableError::WriteRefused)
    /// from [`WriteError::Closed`]) and so is a checkpoint
    /// ([`CheckpointError::Closed`]); reads keep working on the rows in
    /// memory, and another handle may open the directory. Closing a closed
    /// table does nothing.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::LogFailed`] if the log could not be written or
    /// synced (now or earlier): changes after the last successful sync may
    /// be missing after a reopen. Another checkpoint error (such as
    /// [`CheckpointError::Io`])
    /// loses nothing: the log still holds every change. The directory is
    /// released in every case.
    pub async fn close(&self) -> Result<(), CheckpointError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let checkpoint = self.checkpoint_on_thread();
        lifecycle::close(&self.inner, &self.inner.shared, open, checkpoint).await
    }
}

impl<R: Row> Drop for PersistentTable<R> {
    /// Stops the background checkpoints, writes and syncs what is buffered
    /// (best effort: an error cannot be reported), stops the log writer,
    /// records in the metadata file how far the log is synced and releases
    /// the directory. Blocks for that last write and sync;
    /// [`close`](Self::close) does the same, also checkpoints, and reports
    /// errors.
    fn drop(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let inner = &self.inner;
        lifecycle::drop_open(&inner.background, &inner.shared, open, |synced| {
            // Best effort: an error cannot be reported, and the mark only
            // adds a check.
            let _ = inner.checkpointer.record_synced(synced);
        });
    }
}

impl<R: Row> AsRef<WorkTable<R>> for Inner<R> {
    fn as_ref(&self) -> &WorkTable<R> {
        &self.table
    }
}

impl<R: Row> background::Checkpoints for Inner<R> {
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
        Inner::checkpoint_now(self, false)
    }
}

impl<R: Row> Inner<R> {
    /// One checkpoint, on this thread.
    fn checkpoint_now(&self, force: bool) -> Result<CheckpointReport, CheckpointError> {
        let started = observe::Stopwatch::start();
        let _span = observe::checkpoint_span(self.shared.store());
        let outcome = self
            .checkpointer
            .run(&self.table, &self.hook, &self.shared, force);
        observe::checkpointed(self.shared.store(), &outcome, started);
        outcome
    }
}
