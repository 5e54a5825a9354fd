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
//!
//! # Segments
//!
//! A checkpoint [rotates](Shared::rotate) the log: under the buffer's
//! mutex, so exactly between two records, it starts a new chunk whose
//! records go to a new segment `log-<first seq>`. The flusher syncs the old
//! segment, creates the new one (header written and synced, directory
//! synced) and only then writes the chunk's records there, so every segment
//! but the last ends cleanly at the record before the next one's first.

use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use worktable_core::events::{CommitHook, Durable};
use worktable_core::{ChangeEvent, ChangeKind, Row};

use super::Durability;
use super::error::PersistError;
use super::files::segment_name;
use crate::log::{HEADER_LEN, RecordKind, SegmentHeader, encode_header, encode_record};
use crate::vfs::{Vfs, VfsFile};

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
    /// The first sequence number of the segment the flusher writes to: it
    /// exists, and its directory entry is synced.
    pub(crate) segment: u64,
    /// Writing or syncing failed; nothing after `synced_through` is
    /// durable and the log takes no more records.
    pub(crate) failed: Option<Arc<io::Error>>,
    /// The flusher has stopped (after its last write and sync).
    pub(crate) stopped: bool,
}

/// Encoded records bound for one segment.
#[derive(Debug)]
struct Chunk {
    /// The segment to create before writing these records; `None` for the
    /// segment the flusher already writes to.
    starts: Option<SegmentHeader>,
    bytes: Vec<u8>,
    /// The last sequence number encoded in `bytes` (or before them).
    last_seq: u64,
}

/// The state the hook and the flusher share, under one mutex.
struct Buffer {
    /// Records not yet handed to the flusher, oldest chunk first; never
    /// empty.
    chunks: Vec<Chunk>,
    /// Bytes in `chunks`.
    pending: usize,
    /// The header of the segment new records go to (its checksum seeds
    /// theirs).
    header: SegmentHeader,
    /// The sequence number the next record gets.
    next_seq: u64,
    /// Every record up to this one has been synced (the durable mark is
    /// one more).
    synced_through: u64,
    /// Bytes logged since the last rotation, for the checkpoint trigger.
    since_rotation: u64,
    /// A write or sync failed: refuse every further record.
    failed: Option<Arc<io::Error>>,
    /// Somebody waits for everything logged to be synced, whatever the
    /// durability mode (a checkpoint).
    sync_requested: bool,
    /// The table is closing: flush everything and stop.
    stop: bool,
}

impl Buffer {
    fn tail(&mut self) -> &mut Chunk {
        self.chunks
            .last_mut()
            .expect("the buffer always has a chunk")
    }
}

/// Counters for tests and diagnostics.
#[derive(Debug, Default)]
struct Counters {
    /// `sync_data` calls on log segments.
    syncs: AtomicU64,
    /// Batches written.
    writes: AtomicU64,
    /// Records appended to the buffer.
    records: AtomicU64,
}

/// What the hook, the flusher and the checkpointer share.
pub(crate) struct Shared {
    /// The table directory.
    dir: PathBuf,
    /// How writes wait.
    durability: Durability,
    /// The buffer and marks.
    buffer: Mutex<Buffer>,
    /// Wakes the flusher.
    wake: Condvar,
    /// The flusher's progress, watched by `Sync` writes, the checkpointer
    /// and `close`.
    progress: watch::Sender<Progress>,
    /// Counters.
    counters: Counters,
}

/// Snapshot of the log counters; see
/// [`PersistentTable::log_stats`](super::PersistentTable::log_stats).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// `sync_data` calls on log segments since open.
    pub syncs: u64,
    /// Batches written since open.
    pub writes: u64,
    /// Records logged since open (replay excluded).
    pub records: u64,
}

impl Shared {
    /// The shared state of a log whose last segment has `header` and whose
    /// last record has `last_seq` (all of them synced).
    pub(crate) fn new(
        dir: PathBuf,
        header: SegmentHeader,
        durability: Durability,
        last_seq: u64,
    ) -> Arc<Self> {
        let (progress, _) = watch::channel(Progress {
            synced_through: last_seq,
            segment: header.first_seq,
            failed: None,
            stopped: false,
        });
        Arc::new(Self {
            dir,
            durability,
            buffer: Mutex::new(Buffer {
                chunks: vec![Chunk {
                    starts: None,
                    bytes: Vec::new(),
                    last_seq,
                }],
                pending: 0,
                header,
                next_seq: last_seq.saturating_add(1),
                synced_through: last_seq,
                since_rotation: 0,
                failed: None,
                sync_requested: false,
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

    /// The counters.
    pub(crate) fn stats(&self) -> LogStats {
        LogStats {
            syncs: self.counters.syncs.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            records: self.counters.records.load(Ordering::Relaxed),
        }
    }

    /// Bytes logged since the last rotation.
    pub(crate) fn logged_since_rotation(&self) -> u64 {
        self.lock().since_rotation
    }

    /// Ends the current segment after the last record logged so far and
    /// sends every later record to a new segment; returns the last sequence
    /// number of the old one (`S`: the new segment's first is `S + 1`).
    /// When nothing was logged since the current segment began, the segment
    /// stays and `S` is one before its first.
    pub(crate) fn rotate(&self, schema_fingerprint: u64) -> u64 {
        let mut buffer = self.lock();
        let last = buffer.next_seq - 1;
        if buffer.header.first_seq > last {
            return last;
        }
        let header = SegmentHeader {
            schema_fingerprint,
            first_seq: last + 1,
        };
        buffer.header = header;
        buffer.since_rotation = 0;
        buffer.chunks.push(Chunk {
            starts: Some(header),
            bytes: Vec::new(),
            last_seq: last,
        });
        drop(buffer);
        self.wake.notify_one();
        last
    }

    /// Waits (blocking) until the flusher writes to the segment starting at
    /// `first_seq` or a later one: it exists and is synced into the
    /// directory.
    pub(crate) fn wait_for_segment(&self, first_seq: u64) -> Result<(), PersistError> {
        let mut progress = self.watch();
        loop {
            {
                let seen = progress.borrow_and_update();
                if seen.segment >= first_seq {
                    return Ok(());
                }
                if let Some(source) = &seen.failed {
                    return Err(self.write_error(Arc::clone(source)));
                }
                if seen.stopped {
                    return Err(self.write_error(Arc::new(io::Error::other(
                        "the log's flusher stopped before starting a new segment",
                    ))));
                }
            }
            if block_on_changed(&mut progress).is_err() {
                return Err(
                    self.write_error(Arc::new(io::Error::other("the log's flusher is gone")))
                );
            }
        }
    }

    /// Waits (blocking) until every record logged so far is synced, in
    /// every durability mode.
    ///
    /// # Errors
    ///
    /// [`PersistError::LogWrite`] if the log has failed (now or before).
    pub(crate) fn sync_logged(&self) -> Result<(), PersistError> {
        let target = {
            let mut buffer = self.lock();
            if let Some(source) = &buffer.failed {
                return Err(self.write_error(Arc::clone(source)));
            }
            buffer.sync_requested = true;
            buffer.next_seq - 1
        };
        self.wake.notify_one();
        let mut progress = self.watch();
        loop {
            {
                let seen = progress.borrow_and_update();
                if let Some(source) = &seen.failed {
                    return Err(self.write_error(Arc::clone(source)));
                }
                if seen.synced_through >= target {
                    return Ok(());
                }
                if seen.stopped {
                    return Err(self.write_error(Arc::new(io::Error::other(
                        "the log's flusher stopped before syncing",
                    ))));
                }
            }
            if block_on_changed(&mut progress).is_err() {
                return Err(
                    self.write_error(Arc::new(io::Error::other("the log's flusher is gone")))
                );
            }
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
            path: self.dir.clone(),
            source,
        }
    }
}

/// Waits on this thread for the next change of a watch.
fn block_on_changed(
    progress: &mut watch::Receiver<Progress>,
) -> Result<(), watch::error::RecvError> {
    super::block_on(progress.changed())
}

/// A future already failed with `error`.
fn failed(error: PersistError) -> Durable {
    Box::pin(async move { Err(error.into()) })
}

/// The commit hook of a durable table.
pub(crate) struct Hook<R: Row> {
    /// State shared with the flusher.
    pub(crate) shared: Arc<Shared>,
    /// The image of the deleted row with the largest key, if it is larger
    /// than every key deleted before: a checkpoint keeps it so that a key
    /// generator never hands out a key of a row deleted before the
    /// checkpoint.
    pub(crate) deleted_max: Mutex<Option<(R::Pk, Vec<u8>)>>,
}

impl<R: Row> Hook<R> {
    pub(crate) fn new(shared: Arc<Shared>, deleted_max: Option<(R::Pk, Vec<u8>)>) -> Self {
        Self {
            shared,
            deleted_max: Mutex::new(deleted_max),
        }
    }

    /// The image of the deleted row with the largest key so far.
    pub(crate) fn deleted_max_image(&self) -> Vec<u8> {
        let deleted = self
            .deleted_max
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        deleted
            .as_ref()
            .map(|(_, image)| image.clone())
            .unwrap_or_default()
    }
}

impl<R: Row> CommitHook<R> for Hook<R> {
    fn committed(&self, event: &ChangeEvent<R>) -> Option<Durable> {
        let shared = &self.shared;
        let (kind, image) = match event.committed_kind() {
            ChangeKind::Delete => (RecordKind::Delete, event.before()),
            _ => (RecordKind::Put, event.after()),
        };
        let image = image.expect("a committed change has the image its kind needs");
        if kind == RecordKind::Delete {
            let mut deleted = self
                .deleted_max
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if deleted.as_ref().is_none_or(|(pk, _)| pk < event.pk()) {
                *deleted = Some((event.pk().clone(), image.bytes().to_vec()));
            }
        }
        let mut buffer = shared.lock();
        if let Some(source) = &buffer.failed {
            return Some(failed(shared.write_error(Arc::clone(source))));
        }
        let seq = buffer.next_seq;
        let Some(next) = seq.checked_add(1) else {
            return Some(failed(PersistError::SeqExhausted {
                path: shared.dir.clone(),
            }));
        };
        let durable_below = buffer.synced_through + 1;
        let header = buffer.header;
        let before = buffer.tail().bytes.len();
        if let Err(error) = encode_record(
            &mut buffer.tail().bytes,
            &header,
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
        let added = buffer.tail().bytes.len() - before;
        buffer.tail().last_seq = seq;
        buffer.pending += added;
        buffer.since_rotation += added as u64;
        buffer.next_seq = next;
        shared.counters.records.fetch_add(1, Ordering::Relaxed);
        let wake_now =
            matches!(shared.durability, Durability::Sync) || buffer.pending >= WRITE_THRESHOLD;
        drop(buffer);
        if wake_now {
            shared.wake.notify_one();
        }
        match shared.durability {
            Durability::Sync => {
                let mut progress = shared.watch();
                let path = shared.dir.clone();
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

/// The segment the flusher appends to.
pub(crate) struct Segment {
    pub(crate) file: Box<dyn VfsFile>,
    /// Bytes in the file (where the next record goes).
    pub(crate) len: u64,
    /// Whether bytes were written since the last sync.
    pub(crate) unsynced: bool,
}

/// The flusher thread's body: writes and syncs the log until asked to
/// stop, starting with `segment`.
pub(crate) fn run_flusher(shared: Arc<Shared>, vfs: Arc<dyn Vfs>, segment: Segment) {
    let stopped = MarkStopped(Arc::clone(&shared));
    flush_until_stopped(&stopped.0, &*vfs, segment);
}

/// Publishes `stopped` when the flusher ends, even by a panic, so `close`
/// and waiting writes never wait for a thread that is gone.
struct MarkStopped(Arc<Shared>);

impl Drop for MarkStopped {
    fn drop(&mut self) {
        self.0.progress.send_modify(|p| p.stopped = true);
    }
}

/// Creates the segment that `header` starts, atomically (a file of that
/// name, such as an empty segment a migration replaces, is either kept or
/// replaced whole): header written and synced, directory synced.
pub(crate) fn create_segment(
    vfs: &dyn Vfs,
    dir: &Path,
    header: &SegmentHeader,
) -> io::Result<Segment> {
    let name = segment_name(header.first_seq);
    crate::meta::write_atomically(vfs, dir, &name, &encode_header(header))?;
    let file = vfs.open(&dir.join(name), false)?;
    Ok(Segment {
        file,
        len: HEADER_LEN as u64,
        unsynced: false,
    })
}

/// Writes `chunks` in order, starting new segments where they say, and
/// advances `written_through` to the last sequence number written.
fn write_chunks(
    shared: &Shared,
    vfs: &dyn Vfs,
    segment: &mut Segment,
    chunks: &mut Vec<Chunk>,
    written_through: &mut u64,
) -> io::Result<()> {
    for chunk in chunks.drain(..) {
        if let Some(header) = chunk.starts {
            if segment.unsynced {
                segment.file.sync_data()?;
                shared.counters.syncs.fetch_add(1, Ordering::Relaxed);
                segment.unsynced = false;
            }
            // Everything before the new segment is synced now.
            let synced = *written_through;
            shared.lock().synced_through = synced;
            *segment = create_segment(vfs, &shared.dir, &header)?;
            shared.progress.send_modify(|p| {
                p.synced_through = p.synced_through.max(synced);
                p.segment = header.first_seq;
            });
        }
        if !chunk.bytes.is_empty() {
            segment.file.write_at(segment.len, &chunk.bytes)?;
            segment.len += chunk.bytes.len() as u64;
            segment.unsynced = true;
            shared.counters.writes.fetch_add(1, Ordering::Relaxed);
            *written_through = chunk.last_seq;
        }
    }
    Ok(())
}

/// The longest a `Sync` flusher waits for more records before a sync.
const MAX_GATHER: Duration = Duration::from_micros(200);

/// Group commit for `Sync`: when the last sync covered several writers and
/// fewer records than that are waiting, the writers just acknowledged are
/// about to send their next ones — wait for them a little (at most half the
/// last sync's time, and [`MAX_GATHER`]) so that one sync covers them all,
/// instead of two halves taking turns. A lone writer never waits.
fn gather<'a>(
    shared: &'a Shared,
    mut buffer: MutexGuard<'a, Buffer>,
    written_through: u64,
    last_batch: u64,
    last_sync: Duration,
) -> MutexGuard<'a, Buffer> {
    if last_batch < 2 {
        return buffer;
    }
    let deadline = Instant::now() + (last_sync / 2).min(MAX_GATHER);
    loop {
        let waiting = buffer.next_seq - 1 - written_through;
        let now = Instant::now();
        if waiting >= last_batch
            || now >= deadline
            || buffer.stop
            || buffer.sync_requested
            || buffer.chunks.len() > 1
        {
            return buffer;
        }
        buffer = shared
            .wake
            .wait_timeout(buffer, deadline - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// The flusher's loop; returns after the last write and sync once a stop
/// is requested.
fn flush_until_stopped(shared: &Shared, vfs: &dyn Vfs, mut segment: Segment) {
    let tick = match shared.durability {
        Durability::Sync => None,
        Durability::Periodic(period) => Some(period.max(MIN_PERIOD)),
        Durability::None => Some(NONE_WRITE_INTERVAL),
    };
    // A period too long to represent is never due: only `close` syncs.
    let mut next_tick = tick.and_then(|tick| Instant::now().checked_add(tick));
    // Last sequence number handed to the file (synced or not).
    let mut written_through = shared.lock().synced_through;
    let mut spare: Vec<Chunk> = Vec::new();
    // Group commit: records in the last synced batch, and how long its sync
    // took.
    let mut last_batch = 0u64;
    let mut last_sync = Duration::ZERO;
    loop {
        let mut buffer = shared.lock();
        loop {
            let has_work = buffer.pending > 0 || buffer.chunks.len() > 1;
            let rotating = buffer.chunks.len() > 1;
            let sync_mode_has_work = matches!(shared.durability, Durability::Sync) && has_work;
            if buffer.stop
                || buffer.sync_requested
                || sync_mode_has_work
                || rotating
                || buffer.pending >= WRITE_THRESHOLD
            {
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
        if matches!(shared.durability, Durability::Sync) {
            buffer = gather(shared, buffer, written_through, last_batch, last_sync);
        }
        let stop = buffer.stop;
        let sync_requested = mem::take(&mut buffer.sync_requested);
        let already_failed = buffer.failed.is_some();
        // Keep an empty chunk for the current segment in the buffer.
        let last_seq = buffer.next_seq - 1;
        let mut batch = mem::take(&mut spare);
        batch.append(&mut buffer.chunks);
        buffer.chunks.push(Chunk {
            starts: None,
            bytes: Vec::new(),
            last_seq,
        });
        buffer.pending = 0;
        drop(buffer);

        let now = Instant::now();
        let tick_due = next_tick.is_some_and(|at| now >= at);
        if tick_due {
            next_tick = tick.and_then(|tick| now.checked_add(tick));
        }
        let sync = stop
            || sync_requested
            || match shared.durability {
                Durability::Sync => true,
                Durability::Periodic(_) => tick_due,
                Durability::None => false,
            };

        let mut outcome = Ok(false);
        if !already_failed {
            if let Err(error) =
                write_chunks(shared, vfs, &mut segment, &mut batch, &mut written_through)
            {
                outcome = Err(error);
            }
            if sync && outcome.is_ok() && segment.unsynced {
                let started = Instant::now();
                outcome = segment.file.sync_data().map(|()| true);
                last_sync = started.elapsed();
                segment.unsynced = false;
                shared.counters.syncs.fetch_add(1, Ordering::Relaxed);
            }
        }
        batch.clear();
        spare = batch;

        match outcome {
            Ok(true) => {
                last_batch = written_through - shared.progress.borrow().synced_through;
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
