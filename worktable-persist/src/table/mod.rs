//! [`PersistentTable`]: a [`WorkTable`] whose every change is written to a
//! write-ahead log and, by checkpoints, to a page file, and which is
//! rebuilt from them when it is opened.
//!
//! See the [crate documentation](crate) for what each [`Durability`] mode
//! promises.

mod checkpoint;
mod error;
mod files;
mod health;
mod history;
mod migrate;
mod options;
mod recover;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use worktable_core::events::CommitHook;
use worktable_core::{Row, WorkTable};

pub use checkpoint::CheckpointReport;
pub use error::PersistError;
#[cfg(test)]
pub(crate) use files::segment_name;
pub use health::Health;
pub use options::{Durability, Options};
pub use schema::SchemaDifference;
#[cfg(any(test, feature = "testing"))]
pub use writer::LogStats;

use checkpoint::Checkpointer;
use recover::Recovered;
use writer::{Hook, Segment, Shared, create_segment, run_flusher};

use crate::format::ArchiveFormat;
use crate::log::{HEADER_LEN, SegmentHeader};
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
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// let dir = tempfile::tempdir()?;
/// block_on(async {
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
    /// The flusher thread, until it is stopped.
    flusher: Option<JoinHandle<()>>,
    /// The background checkpoint thread, until it is stopped.
    checkpoints: Option<JoinHandle<()>>,
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
    /// The background checkpoint thread's control.
    control: Mutex<Control>,
    /// Wakes the background checkpoint thread.
    wake: Condvar,
    /// The table directory.
    dir: PathBuf,
    /// The file system it is on.
    vfs: Arc<dyn Vfs>,
    /// The options the table was opened with.
    options: Options,
    /// The directory lock, released when the last owner goes.
    _lock: Box<dyn std::any::Any + Send + Sync>,
}

/// What the background checkpoint thread is told and tells.
#[derive(Debug, Default)]
struct Control {
    stop: bool,
    /// The last background checkpoint failed: its error (the thread tries
    /// again at the next trigger).
    failed: Option<Arc<PersistError>>,
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
    /// - [`PersistError::AlreadyOpen`]: the directory is open elsewhere.
    /// - [`PersistError::Meta`] (a file of an older format version
    ///   included), [`PersistError::MetaMissing`],
    ///   [`PersistError::TableNameMismatch`] (checked first),
    ///   [`PersistError::SchemaMismatch`] (listing what differs): the
    ///   metadata file cannot be read or is not this table's.
    /// - [`PersistError::ArchiveFormat`]: the metadata file, a log segment
    ///   or the page file records an rkyv archive format other than this
    ///   build's ([`ArchiveFormat::current`]): the rows were written by a
    ///   build whose rkyv was compiled with other features.
    /// - [`PersistError::Manifest`], [`PersistError::ManifestMismatch`],
    ///   [`PersistError::PageFile`], [`PersistError::PageFrame`]: the
    ///   checkpoint is damaged.
    /// - [`PersistError::Log`], [`PersistError::LogStart`],
    ///   [`PersistError::LogMissing`], [`PersistError::LogGap`],
    ///   [`PersistError::LogTruncated`]: the log is damaged (not merely torn)
    ///   or incomplete (see the [crate documentation](crate#a-damaged-log)).
    /// - [`PersistError::Restore`]: a row is not valid, or the rows break a
    ///   unique index.
    /// - [`PersistError::Io`], [`PersistError::Lock`]: a file operation
    ///   failed (permissions included).
    ///
    /// After an error nothing was written (except a new table's metadata
    /// file) and the lock is released.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, PersistError> {
        Self::open_on(Arc::new(RealFs), dir.as_ref(), options)
    }

    /// [`open`](Self::open) on the file system `vfs`: in tests, a simulated
    /// disk that can lose unsynced writes and fail on demand. With the
    /// `testing` feature only, for tests: see
    /// [`testing`](crate::testing).
    #[cfg(feature = "testing")]
    pub fn open_in(vfs: Arc<dyn Vfs>, dir: &Path, options: Options) -> Result<Self, PersistError> {
        Self::open_on(vfs, dir, options)
    }

    /// [`open`](Self::open) on the file system `vfs`.
    fn open_on(vfs: Arc<dyn Vfs>, dir: &Path, options: Options) -> Result<Self, PersistError> {
        vfs.create_dir_all(dir)
            .map_err(|source| PersistError::io(dir, source))?;
        let lock = vfs.lock_dir(dir)?;
        let recovered = recover::recover::<R>(&*vfs, dir)?;
        Self::start(vfs, dir, options, lock, recovered, false)
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
    ) -> Result<Self, PersistError> {
        let Recovered {
            mut restore,
            meta,
            manifest,
            last_segment,
            last_seq,
            deleted_max,
            obsolete,
        } = recovered;
        let header = SegmentHeader {
            schema_fingerprint: R::SCHEMA_FINGERPRINT,
            first_seq: last_segment.map_or(last_seq + 1, |(header, _, _)| header.first_seq),
            archive_format: ArchiveFormat::current(),
        };
        let segment =
            open_last_segment::<R>(&*vfs, dir, last_segment, &header, options.secure_delete)?;
        let shared = Shared::new(dir.to_owned(), header, options.durability, last_seq);
        let hook = Arc::new(Hook::<R>::new(Arc::clone(&shared), deleted_max));
        // The table numbers its changes on from the log's last record, so
        // that event numbers and log numbers are one numbering.
        restore
            .continue_after(last_seq)
            .map_err(|source| PersistError::Restore {
                path: dir.to_owned(),
                source,
            })?;
        let table = restore
            .finish(Some(Arc::clone(&hook) as Arc<dyn CommitHook<R>>))
            .map_err(|source| PersistError::Restore {
                path: dir.to_owned(),
                source,
            })?;
        let checkpointer = Checkpointer::new(
            Arc::clone(&vfs),
            dir.to_owned(),
            options.secure_delete,
            meta,
            manifest,
        )?;
        for path in obsolete {
            // A log segment or a `.tmp` file may hold rows: cleared first
            // when deleted data must not stay (a file that cannot be
            // cleared stays, for the next open).
            if options.secure_delete && checkpoint::zero_file(&*vfs, &path).is_err() {
                continue;
            }
            let _ = vfs.remove_file(&path);
        }

        let flusher = thread::Builder::new()
            .name(format!("worktable-log-{}", R::TABLE_NAME))
            .spawn({
                let shared = Arc::clone(&shared);
                let vfs = Arc::clone(&vfs);
                move || run_flusher(shared, vfs, segment)
            })
            .map_err(|source| PersistError::io(dir, source))?;
        let inner = Arc::new(Inner {
            table,
            hook,
            shared,
            checkpointer,
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
            dir: dir.to_owned(),
            vfs: Arc::clone(&vfs),
            options,
            _lock: lock,
        });
        let mut opened = Self {
            inner,
            flusher: Some(flusher),
            checkpoints: None,
        };
        if force_checkpoint {
            opened.inner.checkpoint_now(true)?;
        }
        let checkpoints = thread::Builder::new()
            .name(format!("worktable-checkpoint-{}", R::TABLE_NAME))
            .spawn({
                let inner = Arc::clone(&opened.inner);
                move || inner.run_background()
            })
            .map_err(|source| PersistError::io(dir, source))?;
        opened.checkpoints = Some(checkpoints);
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

    /// The in-memory table (also reachable through `Deref`).
    pub fn table(&self) -> &WorkTable<R> {
        &self.inner.table
    }

    /// Why the last background checkpoint failed, if it did; `None` once a
    /// later one succeeds. A failed checkpoint loses nothing (the log keeps
    /// every change and the previous checkpoint stays whole); the thread
    /// tries again at its next trigger, and [`close`](Self::close) takes
    /// one more and reports its error.
    pub fn background_checkpoint_error(&self) -> Option<Arc<PersistError>> {
        self.inner.lock_control().failed.clone()
    }

    /// Whether the table still takes writes: [`Health::Failed`] once its
    /// log could not be written or synced. A failed table refuses every
    /// write before changing anything, with
    /// [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused)
    /// whose source is the [`PersistError::LogWrite`] given here; reads
    /// keep working; close it and open it again to write.
    ///
    /// ```
    /// # use worktable_core::prelude::*;
    /// # use worktable_persist::{Health, Options, PersistentTable};
    /// # #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// # #[rkyv(crate = worktable_core::rkyv)]
    /// # struct Note { #[pk] id: u64, text: String }
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
    /// # use worktable_core::prelude::*;
    /// # use worktable_persist::{Options, PersistentTable};
    /// # #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// # #[rkyv(crate = worktable_core::rkyv)]
    /// # struct Note { #[pk] id: u64, text: String }
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// let dir = tempfile::tempdir()?;
    /// block_on(async {
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
    /// [`PersistError::Io`] (and the log's [`PersistError::LogWrite`]) when
    /// a file cannot be written or synced. The checkpoint in the metadata
    /// file stays the previous one, complete, and nothing is lost: the
    /// pages it did not write are written by the next checkpoint.
    pub async fn checkpoint(&self) -> Result<CheckpointReport, PersistError> {
        let inner = Arc::clone(&self.inner);
        self.on_thread("checkpoint-now", move || inner.checkpoint_now(false))
            .await
    }

    /// Runs `work` on a thread of its own (it blocks: file I/O, waiting for
    /// the log) and waits for its result without blocking the caller's
    /// runtime. `work` must let go of the table before it returns: once
    /// `close` has its answer, the directory lock must be released with the
    /// handle.
    async fn on_thread<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce() -> Result<T, PersistError> + Send + 'static,
    ) -> Result<T, PersistError> {
        let (sender, receiver) = oneshot::channel();
        thread::Builder::new()
            .name(format!("worktable-{what}-{}", R::TABLE_NAME))
            .spawn(move || {
                let _ = sender.send(work());
            })
            .map_err(|source| PersistError::io(&self.inner.dir, source))?;
        receiver.await.unwrap_or_else(|_| {
            Err(PersistError::io(
                &self.inner.dir,
                std::io::Error::other(format!("the {what} thread ended without a result")),
            ))
        })
    }

    /// Writes and syncs every logged change, takes a last checkpoint (so
    /// that the next open has no log to replay), stops the background
    /// threads and releases the directory.
    ///
    /// # Errors
    ///
    /// [`PersistError::LogWrite`] if the log could not be written or synced
    /// (now or earlier): changes after the last successful sync may be
    /// missing after a reopen. A checkpoint error ([`PersistError::Io`])
    /// loses nothing: the log still holds every change. The directory is
    /// released in every case.
    pub async fn close(mut self) -> Result<(), PersistError> {
        self.stop_checkpoints();
        let checkpointed = self.checkpoint().await;
        let mut progress = self.inner.shared.watch();
        self.inner.shared.request_stop();
        let failed = progress
            .wait_for(|p| p.stopped)
            .await
            .ok()
            .and_then(|p| p.failed.clone());
        self.join_flusher();
        match failed {
            Some(source) => Err(self.inner.shared.write_error(source)),
            None => checkpointed.map(drop),
        }
    }

    /// Stops the background checkpoint thread (after a checkpoint in
    /// progress) and waits for it.
    fn stop_checkpoints(&mut self) {
        if let Some(thread) = self.checkpoints.take() {
            self.inner.lock_control().stop = true;
            self.inner.wake.notify_all();
            let _ = thread.join();
        }
    }

    /// Stops the flusher (after its last write and sync) and waits for its
    /// thread.
    fn join_flusher(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            self.inner.shared.request_stop();
            // The flusher does not panic; if it did, there is nothing more
            // to flush.
            let _ = flusher.join();
        }
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
        self.stop_checkpoints();
        if self.flusher.is_some() {
            self.join_flusher();
            // The flusher synced the whole log as it stopped: record how far,
            // so that a later open refuses the log cut short below it (best
            // effort: an error cannot be reported, and the mark only adds a
            // check).
            let synced = self.inner.shared.synced_through();
            let _ = self.inner.checkpointer.record_synced(synced);
        }
    }
}

impl<R: Row> Inner<R> {
    fn lock_control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One checkpoint, on this thread.
    fn checkpoint_now(&self, force: bool) -> Result<CheckpointReport, PersistError> {
        self.checkpointer
            .run(&self.table, &self.hook, &self.shared, force)
    }

    /// The background checkpoint thread: checkpoints when the log has grown
    /// by `checkpoint_log_bytes`, or `checkpoint_interval` after the last
    /// checkpoint if anything was logged, until stopped.
    fn run_background(&self) {
        let poll = Duration::from_millis(50);
        let mut last = Instant::now();
        let mut control = self.lock_control();
        loop {
            // Checked before waiting too: a stop asked for before this
            // thread first waited sent its wake-up to nobody.
            if control.stop {
                return;
            }
            control = self
                .wake
                .wait_timeout(control, poll)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if control.stop {
                return;
            }
            let logged = self.shared.logged_since_rotation();
            let by_size = logged >= self.options.checkpoint_log_bytes;
            let by_time = logged > 0
                && self
                    .options
                    .checkpoint_interval
                    .is_some_and(|interval| last.elapsed() >= interval);
            if !(by_size || by_time) {
                continue;
            }
            drop(control);
            let outcome = self.checkpoint_now(false);
            last = Instant::now();
            control = self.lock_control();
            control.failed = outcome.err().map(Arc::new);
        }
    }
}

/// Opens the last segment for appending after cutting its torn tail (and
/// syncing), or creates it; an empty segment written for another row type
/// (left by a migration) is created anew.
fn open_last_segment<R: Row>(
    vfs: &dyn Vfs,
    dir: &Path,
    last: Option<(SegmentHeader, u64, u64)>,
    header: &SegmentHeader,
    secure_delete: bool,
) -> Result<Segment, PersistError> {
    let path = dir.join(files::segment_name(header.first_seq));
    let io = |source| PersistError::io(&path, source);
    match last {
        Some((found, valid_len, len))
            if found.schema_fingerprint == R::SCHEMA_FINGERPRINT
                || valid_len > HEADER_LEN as u64 =>
        {
            // Writer obligation: nothing of an earlier attempt may follow
            // the records appended from now on; and the durable mark stamped
            // on them may only claim what is synced, so sync what the scan
            // kept.
            let file = vfs.open(&path, false).map_err(io)?;
            if valid_len < len {
                if secure_delete {
                    // The cut tail may hold row images of unacknowledged
                    // writes.
                    let zeros = vec![0u8; usize::try_from(len - valid_len).unwrap_or(usize::MAX)];
                    file.write_at(valid_len, &zeros).map_err(io)?;
                    file.sync_data().map_err(io)?;
                }
                file.set_len(valid_len).map_err(io)?;
            }
            file.sync_all().map_err(io)?;
            Ok(Segment {
                file,
                len: valid_len,
                unsynced: false,
            })
        }
        _ => create_segment(vfs, dir, header).map_err(io),
    }
}

/// Wakes the thread that polls a future.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread (a background thread waiting
/// for the flusher's progress).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        thread::park();
    }
}
