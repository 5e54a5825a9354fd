//! The write path: the commit hook that encodes records into an in-memory
//! buffer, and the one flusher thread that writes and syncs them.
//!
//! The hook runs under the table's commit lock, in sequence order, so the
//! log's sequence numbers are taken there (`next_seq`), independent of the
//! table's own event numbers (which restart at 1 in every process). The
//! flusher is a dedicated OS thread, never a runtime worker: it takes the
//! whole buffer, writes it, syncs once (group commit) and publishes the new
//! durable mark on a `watch` channel that the writers' [`Durable`] futures
//! wait on.

use std::fs::File;
use std::io::{self, Write};
use std::mem;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use worktable_core::events::{CommitHook, Durable};
use worktable_core::{ChangeEvent, ChangeKind, Row};

use super::Durability;
use super::error::PersistError;
use crate::log::{RecordKind, SegmentHeader, encode_record};

/// How often `Durability::None` hands buffered records to the operating
/// system.
pub(crate) const NONE_WRITE_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest interval `Durability::Periodic` syncs at.
pub(crate) const MIN_PERIOD: Duration = Duration::from_millis(1);

/// A buffer this large is written out at once, whatever the mode, so memory
/// stays bounded between periodic flushes.
const WRITE_THRESHOLD: usize = 1 << 20;

/// What the flusher has achieved, as the writers' futures see it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Progress {
    /// Every record with a sequence number up to this one is synced.
    pub(crate) synced_through: u64,
    /// Writing or syncing failed; nothing after `synced_through` is
    /// durable and the log takes no more records.
    pub(crate) failed: Option<Arc<io::Error>>,
    /// The flusher has stopped (after its last write and sync).
    pub(crate) stopped: bool,
}

/// The state the hook and the flusher share, under one mutex.
struct Buffer {
    /// Encoded records not yet handed to the flusher.
    bytes: Vec<u8>,
    /// The sequence number the next record gets.
    next_seq: u64,
    /// Every record up to this one has been synced (the durable mark is
    /// one more).
    synced_through: u64,
    /// A write or sync failed: refuse every further record.
    failed: Option<Arc<io::Error>>,
    /// The table is closing: flush everything and stop.
    stop: bool,
}

/// Counters for tests and diagnostics.
#[derive(Debug, Default)]
struct Counters {
    /// `sync_data` calls on the log segment.
    syncs: AtomicU64,
    /// `write_all` calls of a batch.
    writes: AtomicU64,
    /// Records appended to the buffer.
    records: AtomicU64,
}

/// What the hook and the flusher share.
pub(crate) struct Shared {
    /// The segment header (its checksum seeds every record's).
    header: SegmentHeader,
    /// The segment's path, for errors.
    path: PathBuf,
    /// How writes wait.
    durability: Durability,
    /// While set, the hook logs nothing (replay of the log itself).
    replaying: AtomicBool,
    /// The buffer and marks.
    buffer: Mutex<Buffer>,
    /// Wakes the flusher.
    wake: Condvar,
    /// The flusher's progress, watched by `Sync` writes and `close`.
    progress: watch::Sender<Progress>,
    /// Counters.
    counters: Counters,
}

/// Snapshot of the log counters; see
/// [`PersistentTable::log_stats`](super::PersistentTable::log_stats).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// `sync_data` calls on the log segment since open.
    pub syncs: u64,
    /// Batches written since open.
    pub writes: u64,
    /// Records logged since open (replay excluded).
    pub records: u64,
}

impl Shared {
    /// The shared state of a segment whose last record has `last_seq` (all
    /// of them synced).
    pub(crate) fn new(
        header: SegmentHeader,
        path: PathBuf,
        durability: Durability,
        last_seq: u64,
    ) -> Arc<Self> {
        let (progress, _) = watch::channel(Progress {
            synced_through: last_seq,
            failed: None,
            stopped: false,
        });
        Arc::new(Self {
            header,
            path,
            durability,
            replaying: AtomicBool::new(true),
            buffer: Mutex::new(Buffer {
                bytes: Vec::new(),
                next_seq: last_seq.saturating_add(1),
                synced_through: last_seq,
                failed: None,
                stop: false,
            }),
            wake: Condvar::new(),
            progress,
            counters: Counters::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The durability mode.
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// Ends replay: from now on every change is logged.
    pub(crate) fn finish_replay(&self) {
        self.replaying.store(false, Ordering::Release);
    }

    /// The counters.
    pub(crate) fn stats(&self) -> LogStats {
        LogStats {
            syncs: self.counters.syncs.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            records: self.counters.records.load(Ordering::Relaxed),
        }
    }

    /// Asks the flusher to write and sync everything and stop.
    pub(crate) fn request_stop(&self) {
        self.lock().stop = true;
        self.wake.notify_all();
    }

    /// A receiver of the flusher's progress.
    pub(crate) fn watch(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The error a write gets once the log has failed.
    pub(crate) fn write_error(&self, source: Arc<io::Error>) -> PersistError {
        PersistError::LogWrite {
            path: self.path.clone(),
            source,
        }
    }
}

/// A future already failed with `error`.
fn failed(error: PersistError) -> Durable {
    Box::pin(async move { Err(error.into()) })
}

/// The commit hook of a durable table.
pub(crate) struct Hook {
    /// State shared with the flusher.
    pub(crate) shared: Arc<Shared>,
}

impl<R: Row> CommitHook<R> for Hook {
    fn committed(&self, event: &ChangeEvent<R>) -> Option<Durable> {
        let shared = &self.shared;
        if shared.replaying.load(Ordering::Acquire) {
            return None;
        }
        let (kind, image) = match event.committed_kind() {
            ChangeKind::Delete => (RecordKind::Delete, event.before()),
            _ => (RecordKind::Put, event.after()),
        };
        let image = image.expect("a committed change has the image its kind needs");
        let mut buffer = shared.lock();
        if let Some(source) = &buffer.failed {
            return Some(failed(shared.write_error(Arc::clone(source))));
        }
        let seq = buffer.next_seq;
        let Some(next) = seq.checked_add(1) else {
            return Some(failed(PersistError::SeqExhausted {
                path: shared.path.clone(),
            }));
        };
        let durable_below = buffer.synced_through + 1;
        if let Err(error) = encode_record(
            &mut buffer.bytes,
            &shared.header,
            seq,
            durable_below,
            kind,
            image.bytes(),
        ) {
            // Rows are at most MAX_ROW_BYTES (65,535), what a record
            // carries, so this does not happen. Were it to, the change is
            // not in the log: refuse every later write, as after an I/O
            // error, rather than let the log silently miss a change.
            let source = Arc::new(io::Error::new(io::ErrorKind::InvalidInput, error));
            buffer.failed = Some(Arc::clone(&source));
            return Some(failed(shared.write_error(source)));
        }
        buffer.next_seq = next;
        shared.counters.records.fetch_add(1, Ordering::Relaxed);
        let wake_now =
            matches!(shared.durability, Durability::Sync) || buffer.bytes.len() >= WRITE_THRESHOLD;
        drop(buffer);
        if wake_now {
            shared.wake.notify_one();
        }
        match shared.durability {
            Durability::Sync => {
                let mut progress = shared.watch();
                let path = shared.path.clone();
                Some(Box::pin(async move {
                    let outcome = progress
                        .wait_for(|p| p.synced_through >= seq || p.failed.is_some() || p.stopped)
                        .await
                        .map(|p| (p.synced_through >= seq, p.failed.clone()));
                    match outcome {
                        Ok((true, _)) => Ok(()),
                        Ok((false, Some(source))) => {
                            Err(PersistError::LogWrite { path, source }.into())
                        }
                        Ok((false, None)) | Err(_) => {
                            let source = Arc::new(io::Error::other(
                                "the log's flusher stopped before the record was synced",
                            ));
                            Err(PersistError::LogWrite { path, source }.into())
                        }
                    }
                }))
            }
            Durability::Periodic(_) | Durability::None => None,
        }
    }
}

/// The flusher thread's body: writes and syncs `file` (opened for
/// appending) until asked to stop.
pub(crate) fn run_flusher(shared: Arc<Shared>, file: File) {
    let stopped = MarkStopped(Arc::clone(&shared));
    flush_until_stopped(&stopped.0, file);
}

/// Publishes `stopped` when the flusher ends, even by a panic, so `close`
/// and waiting writes never wait for a thread that is gone.
struct MarkStopped(Arc<Shared>);

impl Drop for MarkStopped {
    fn drop(&mut self) {
        self.0.progress.send_modify(|p| p.stopped = true);
    }
}

/// The flusher's loop; returns after the last write and sync once a stop
/// is requested.
fn flush_until_stopped(shared: &Shared, mut file: File) {
    let tick = match shared.durability {
        Durability::Sync => None,
        Durability::Periodic(period) => Some(period.max(MIN_PERIOD)),
        Durability::None => Some(NONE_WRITE_INTERVAL),
    };
    // A period too long to represent is never due: only `close` syncs.
    let mut next_tick = tick.and_then(|tick| Instant::now().checked_add(tick));
    // Last sequence number handed to the file (synced or not).
    let mut written_through = shared.lock().synced_through;
    let mut spare = Vec::new();
    loop {
        let mut buffer = shared.lock();
        loop {
            let sync_mode_has_work =
                matches!(shared.durability, Durability::Sync) && !buffer.bytes.is_empty();
            if buffer.stop || sync_mode_has_work || buffer.bytes.len() >= WRITE_THRESHOLD {
                break;
            }
            match next_tick {
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        break;
                    }
                    buffer = shared
                        .wake
                        .wait_timeout(buffer, at - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                None => {
                    buffer = shared
                        .wake
                        .wait(buffer)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        let stop = buffer.stop;
        let already_failed = buffer.failed.is_some();
        let mut batch = mem::replace(&mut buffer.bytes, mem::take(&mut spare));
        let last_seq = buffer.next_seq - 1;
        drop(buffer);

        let now = Instant::now();
        let tick_due = next_tick.is_some_and(|at| now >= at);
        if tick_due {
            next_tick = tick.and_then(|tick| now.checked_add(tick));
        }
        let sync = stop
            || match shared.durability {
                Durability::Sync => true,
                Durability::Periodic(_) => tick_due,
                Durability::None => false,
            };

        let mut outcome = Ok(false);
        if !already_failed {
            if !batch.is_empty() {
                outcome = file.write_all(&batch).map(|()| false);
                shared.counters.writes.fetch_add(1, Ordering::Relaxed);
                written_through = last_seq;
            }
            if sync && outcome.is_ok() {
                let synced_through = shared.progress.borrow().synced_through;
                if written_through > synced_through {
                    outcome = file.sync_data().map(|()| true);
                    shared.counters.syncs.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        batch.clear();
        spare = batch;

        match outcome {
            Ok(true) => {
                shared.lock().synced_through = written_through;
                shared
                    .progress
                    .send_modify(|p| p.synced_through = written_through);
            }
            Ok(false) => {}
            Err(error) => {
                let error = Arc::new(error);
                shared.lock().failed = Some(Arc::clone(&error));
                shared.progress.send_modify(|p| p.failed = Some(error));
            }
        }
        if stop {
            return;
        }
    }
}
