//! [`PersistentTable`]: a [`WorkTable`] whose every change is written to a
//! write-ahead log, and which is rebuilt from that log when it is opened.
//!
//! See the [crate documentation](crate) for what each [`Durability`] mode
//! promises.

mod error;
mod writer;

#[cfg(test)]
mod tests;

use std::fs::{self, OpenOptions};
use std::future::Future;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use worktable_core::events::CommitHook;
use worktable_core::{Row, RowImage, TableError, WorkTable};

pub use error::PersistError;
#[doc(hidden)]
pub use writer::LogStats;
use writer::{Hook, Shared, run_flusher};

use crate::dir_lock::DirLock;
use crate::log::{self, RecordKind, SegmentHeader, encode_header};
use crate::meta::{self, Meta, MetaError};

/// The sequence number the first log segment starts at.
const FIRST_SEQ: u64 = 1;

/// The file name of the log segment whose first record is `first_seq`.
fn segment_name(first_seq: u64) -> String {
    format!("log-{first_seq:020}")
}

/// When a write's change is on disk, relative to when the write returns.
///
/// See the [crate documentation](crate#durability) for what each mode
/// promises after a process kill and after a power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// A write returns once its log record is written and synced
    /// (`fdatasync`). Concurrent writes share one sync (group commit).
    Sync,
    /// Writes return at once; the log is written and synced every interval
    /// (at least 1 ms) and when the table closes.
    Periodic(Duration),
    /// Writes return at once; the log is handed to the operating system
    /// every 100 ms, without syncing, and synced only when the table
    /// closes.
    None,
}

/// How a [`PersistentTable`] is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// When writes are on disk. Default: [`Durability::Sync`].
    pub durability: Durability,
}

impl Options {
    /// Options with the given durability.
    pub fn durability(durability: Durability) -> Self {
        Self { durability }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::durability(Durability::Sync)
    }
}

/// A [`WorkTable`] kept in a directory: every committed change is appended
/// to a write-ahead log, and [`open`](Self::open) rebuilds the table from
/// it.
///
/// It dereferences to the [`WorkTable`], so the whole read and write API is
/// available; each write returns once its change is as durable as the
/// table's [`Durability`] says. [`close`](Self::close) writes and syncs
/// everything and releases the directory.
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
    /// The table (dropped first: its hook holds `shared`).
    table: WorkTable<R>,
    /// State shared with the hook and the flusher.
    shared: Arc<Shared>,
    /// The flusher thread, until it is stopped.
    flusher: Option<JoinHandle<()>>,
    /// The table directory.
    dir: PathBuf,
    /// The directory lock, released last.
    _lock: DirLock,
}

impl<R: Row> std::fmt::Debug for PersistentTable<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistentTable")
            .field("dir", &self.dir)
            .field("durability", &self.durability())
            .field("table", &self.table)
            .finish()
    }
}

impl<R: Row> Deref for PersistentTable<R> {
    type Target = WorkTable<R>;

    fn deref(&self) -> &WorkTable<R> {
        &self.table
    }
}

impl<R: Row> PersistentTable<R> {
    /// Opens the table kept in `dir`, creating the directory and an empty
    /// table if there is none, and rebuilds it from its log.
    ///
    /// **Blocking**: it reads the whole log and replays it, and may sync
    /// files. From async code, call it in `tokio::task::spawn_blocking` (or
    /// before the runtime starts) if the log may be large. Nothing else on
    /// the write path blocks: the log is written and synced by a dedicated
    /// thread.
    ///
    /// The steps: create `dir` if missing; lock it
    /// ([`DirLock`]); read the metadata file (a new table writes one); check
    /// the row type's schema fingerprint and table name against it; read
    /// the log segment, check it, and replay its records in order; cut a
    /// torn tail off the segment (and sync) before anything is appended.
    ///
    /// # Errors
    ///
    /// - [`PersistError::AlreadyOpen`]: the directory is open elsewhere.
    /// - [`PersistError::Meta`], [`PersistError::SchemaMismatch`],
    ///   [`PersistError::TableNameMismatch`],
    ///   [`PersistError::CheckpointUnsupported`]: the metadata file cannot
    ///   be read or is not this table's.
    /// - [`PersistError::Log`], [`PersistError::LogStart`],
    ///   [`PersistError::BadRow`], [`PersistError::Replay`]: the log is
    ///   damaged (not merely torn) or malformed.
    /// - [`PersistError::Io`], [`PersistError::Lock`]: a file operation
    ///   failed.
    ///
    /// After an error nothing was written to the log and the lock is
    /// released.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self, PersistError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(|source| PersistError::io(&dir, source))?;
        let lock = DirLock::acquire(&dir)?;
        check_meta::<R>(&dir)?;

        let name = segment_name(FIRST_SEQ);
        let path = dir.join(&name);
        let header = SegmentHeader {
            schema_fingerprint: R::SCHEMA_FINGERPRINT,
            first_seq: FIRST_SEQ,
        };
        let bytes = match fs::File::open(&path) {
            Ok(mut file) => {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)
                    .map_err(|source| PersistError::io(&path, source))?;
                bytes
            }
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
                // A new table (or a crash between writing the metadata and
                // the segment): an empty segment, created atomically.
                let bytes = encode_header(&header).to_vec();
                meta::write_atomically(&dir, &name, &bytes)
                    .map_err(|source| PersistError::io(&path, source))?;
                bytes
            }
            Err(source) => return Err(PersistError::io(&path, source)),
        };

        let scanned = log::scan(&bytes).map_err(|source| PersistError::Log {
            path: path.clone(),
            source,
        })?;
        if scanned.header.schema_fingerprint != R::SCHEMA_FINGERPRINT {
            return Err(PersistError::SchemaMismatch {
                path,
                stored: scanned.header.schema_fingerprint,
                expected: R::SCHEMA_FINGERPRINT,
            });
        }
        if scanned.header.first_seq != FIRST_SEQ {
            return Err(PersistError::LogStart {
                path,
                first_seq: scanned.header.first_seq,
                expected: FIRST_SEQ,
            });
        }
        let last_seq = scanned.records.last().map_or(FIRST_SEQ - 1, |r| r.seq);

        let shared = Shared::new(header, path.clone(), options.durability, last_seq);
        let hook: Arc<dyn CommitHook<R>> = Arc::new(Hook {
            shared: Arc::clone(&shared),
        });
        let table = WorkTable::with_commit_hook(hook);
        for record in &scanned.records {
            replay(&table, &path, record)?;
        }
        shared.finish_replay();

        // Writer obligation: nothing of an earlier attempt may follow the
        // records appended from now on; and the durable mark stamped on them
        // may only claim what is synced, so sync what the scan kept.
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|source| PersistError::io(&path, source))?;
        if scanned.tail.valid_len < bytes.len() {
            file.set_len(scanned.tail.valid_len as u64)
                .map_err(|source| PersistError::io(&path, source))?;
        }
        file.sync_all()
            .map_err(|source| PersistError::io(&path, source))?;

        let flusher = thread::Builder::new()
            .name(format!("worktable-log-{}", R::TABLE_NAME))
            .spawn({
                let shared = Arc::clone(&shared);
                move || run_flusher(shared, file)
            })
            .map_err(|source| PersistError::io(&path, source))?;
        Ok(Self {
            table,
            shared,
            flusher: Some(flusher),
            dir,
            _lock: lock,
        })
    }

    /// The table directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The durability the table was opened with.
    pub fn durability(&self) -> Durability {
        self.shared.durability()
    }

    /// The in-memory table (also reachable through `Deref`).
    pub fn table(&self) -> &WorkTable<R> {
        &self.table
    }

    /// Counters of the log writer since open (syncs, batches, records), for
    /// tests and diagnostics. Not a stable API.
    #[doc(hidden)]
    pub fn log_stats(&self) -> LogStats {
        self.shared.stats()
    }

    /// Writes and syncs every logged change, stops the log writer and
    /// releases the directory.
    ///
    /// Waits for one last write and sync, on the log writer's thread.
    ///
    /// # Errors
    ///
    /// [`PersistError::LogWrite`] if the log could not be written or synced
    /// (now or earlier): changes after the last successful sync may be
    /// missing after a reopen. The directory is released in every case.
    pub async fn close(mut self) -> Result<(), PersistError> {
        let mut progress = self.shared.watch();
        self.shared.request_stop();
        let failed = progress
            .wait_for(|p| p.stopped)
            .await
            .ok()
            .and_then(|p| p.failed.clone());
        self.join_flusher();
        match failed {
            Some(source) => Err(self.shared.write_error(source)),
            None => Ok(()),
        }
    }

    /// Stops the flusher (after its last write and sync) and waits for its
    /// thread.
    fn join_flusher(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            self.shared.request_stop();
            // The flusher does not panic; if it did, there is nothing more
            // to flush.
            let _ = flusher.join();
        }
    }
}

impl<R: Row> Drop for PersistentTable<R> {
    /// Writes and syncs what is buffered (best effort: an error cannot be
    /// reported), stops the log writer and releases the directory. Blocks
    /// for that last write and sync; [`close`](Self::close) does the same
    /// and reports errors.
    fn drop(&mut self) {
        self.join_flusher();
    }
}

/// Reads the metadata file of `dir` and checks it belongs to `R`; writes it
/// for a new table.
fn check_meta<R: Row>(dir: &Path) -> Result<(), PersistError> {
    let path = dir.join(meta::FILE_NAME);
    let stored = match meta::read(dir, meta::FILE_NAME) {
        Ok(stored) => stored,
        Err(MetaError::Missing { .. }) => {
            let fresh = Meta {
                schema_fingerprint: R::SCHEMA_FINGERPRINT,
                table_name: R::TABLE_NAME.to_owned(),
                checkpoint_seq: 0,
                page_file_generation: 0,
                next_key: Vec::new(),
            };
            let bytes = meta::encode(&fresh).map_err(|source| PersistError::MetaEncode {
                path: path.clone(),
                source,
            })?;
            meta::write_atomically(dir, meta::FILE_NAME, &bytes)
                .map_err(|source| PersistError::io(&path, source))?;
            return Ok(());
        }
        Err(other) => return Err(PersistError::Meta(other)),
    };
    if stored.schema_fingerprint != R::SCHEMA_FINGERPRINT {
        return Err(PersistError::SchemaMismatch {
            path,
            stored: stored.schema_fingerprint,
            expected: R::SCHEMA_FINGERPRINT,
        });
    }
    if stored.table_name != R::TABLE_NAME {
        return Err(PersistError::TableNameMismatch {
            path,
            stored: stored.table_name,
            expected: R::TABLE_NAME,
        });
    }
    if stored.checkpoint_seq != 0 {
        return Err(PersistError::CheckpointUnsupported {
            path,
            checkpoint_seq: stored.checkpoint_seq,
        });
    }
    Ok(())
}

/// Applies one log record to `table` (whose hook logs nothing yet): a put
/// is an upsert of the image, a delete removes the image's key if present.
fn replay<R: Row>(
    table: &WorkTable<R>,
    path: &Path,
    record: &log::Record<'_>,
) -> Result<(), PersistError> {
    let image = RowImage::<R>::from_bytes(record.image).map_err(|source| PersistError::BadRow {
        path: path.to_owned(),
        offset: record.offset,
        source,
    })?;
    let outcome = match record.kind {
        RecordKind::Put => block_on(table.upsert(image.get())).map(drop),
        RecordKind::Delete => {
            let pk = R::pk_of_archived(image.archived());
            match block_on(table.delete(&pk)) {
                Err(TableError::NotFound { .. }) => Ok(()),
                other => other.map(drop),
            }
        }
    };
    outcome.map_err(|source| PersistError::Replay {
        path: path.to_owned(),
        offset: record.offset,
        source,
    })
}

/// Wakes the thread that polls a future.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread. Used for replay, where no
/// other task holds a row lock and the hook returns no durability future,
/// so the writes complete without waiting.
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
