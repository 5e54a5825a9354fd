//! The flusher: one OS thread per table that writes the buffered records,
//! starts new segments where a checkpoint rotated the log, and syncs
//! (group commit for `Sync`).

use std::io;
use std::mem;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::super::files::segment_name;
use super::{Buffer, Chunk, Durability, MIN_PERIOD, NONE_WRITE_INTERVAL, Shared, WRITE_THRESHOLD};
use crate::log::{HEADER_LEN, SegmentHeader, encode_header};
use crate::observe;
use crate::vfs::{Vfs, VfsFile};

/// The segment the flusher appends to.
pub(crate) struct Segment {
    pub(crate) file: Box<dyn VfsFile>,
    /// Bytes in the file (where the next record goes).
    pub(crate) len: u64,
    /// Whether bytes were written since the last sync.
    pub(crate) unsynced: bool,
}

/// Starts the flusher thread of the log `shared`, appending to `segment`.
pub(crate) fn spawn_flusher(
    shared: &Arc<Shared>,
    vfs: &Arc<dyn Vfs>,
    segment: Segment,
) -> io::Result<JoinHandle<()>> {
    let name = format!("worktable-log-{}", shared.store().thread_name());
    let shared = Arc::clone(shared);
    let vfs = Arc::clone(vfs);
    thread::Builder::new()
        .name(name)
        .spawn(move || run_flusher(shared, vfs, segment))
}

/// The flusher thread's body: writes and syncs the log until asked to
/// stop, starting with `segment`.
fn run_flusher(shared: Arc<Shared>, vfs: Arc<dyn Vfs>, segment: Segment) {
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
                let started = observe::Stopwatch::start();
                segment.file.sync_data()?;
                shared.counters.syncs.fetch_add(1, Ordering::Relaxed);
                segment.unsynced = false;
                let records = *written_through - shared.progress.borrow().synced_through;
                observe::log_synced(shared.store, records, started.seconds());
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
fn flush_until_stopped(shared: &Shared, vfs: &dyn Vfs, segment: Segment) {
    let mut flusher = Flusher::new(shared, vfs, segment);
    loop {
        let batch = flusher.next_batch();
        let stop = batch.stop;
        flusher.flush(batch);
        if stop {
            return;
        }
    }
}

/// The flusher's state from one batch to the next.
struct Flusher<'a> {
    shared: &'a Shared,
    vfs: &'a dyn Vfs,
    /// The segment records are appended to.
    segment: Segment,
    /// How often buffered records are written (and, for `Periodic`,
    /// synced) when nothing asks sooner; `None` for `Sync`.
    tick: Option<Duration>,
    /// When the next tick is due; `None`: never (`Sync`, or a period too
    /// long to represent: then only `close` syncs).
    next_tick: Option<Instant>,
    /// Last sequence number handed to the file (synced or not).
    written_through: u64,
    /// The chunks of the last batch, emptied, kept for their allocation.
    spare: Vec<Chunk>,
    /// Group commit: records in the last synced batch.
    last_batch: u64,
    /// Group commit: how long the last sync took.
    last_sync: Duration,
}

/// What the flusher took from the buffer in one go.
struct Batch {
    /// The records, oldest chunk first.
    chunks: Vec<Chunk>,
    /// The table is closing: this is the last batch.
    stop: bool,
    /// Somebody waits for everything logged to be synced.
    sync_requested: bool,
    /// The log had failed before: nothing more is written.
    already_failed: bool,
}

impl<'a> Flusher<'a> {
    fn new(shared: &'a Shared, vfs: &'a dyn Vfs, segment: Segment) -> Self {
        let tick = match shared.durability {
            Durability::Sync => None,
            Durability::Periodic(period) => Some(period.max(MIN_PERIOD)),
            Durability::None => Some(NONE_WRITE_INTERVAL),
        };
        Self {
            shared,
            vfs,
            segment,
            tick,
            next_tick: tick.and_then(|tick| Instant::now().checked_add(tick)),
            written_through: shared.lock().synced_through,
            spare: Vec::new(),
            last_batch: 0,
            last_sync: Duration::ZERO,
        }
    }

    /// Waits until there is something to do, then takes every buffered
    /// record, leaving an empty chunk for the current segment.
    fn next_batch(&mut self) -> Batch {
        let mut buffer = self.wait_for_work();
        if matches!(self.shared.durability, Durability::Sync) {
            buffer = gather(
                self.shared,
                buffer,
                self.written_through,
                self.last_batch,
                self.last_sync,
            );
        }
        let stop = buffer.stop;
        let sync_requested = mem::take(&mut buffer.sync_requested);
        let already_failed = buffer.failed.is_some();
        let last_seq = buffer.next_seq - 1;
        let mut chunks = mem::take(&mut self.spare);
        chunks.append(&mut buffer.chunks);
        buffer.chunks.push(Chunk {
            starts: None,
            bytes: Vec::new(),
            last_seq,
        });
        buffer.pending = 0;
        Batch {
            chunks,
            stop,
            sync_requested,
            already_failed,
        }
    }

    /// Locks the buffer once it must be flushed, or the tick is due.
    fn wait_for_work(&self) -> MutexGuard<'a, Buffer> {
        let shared = self.shared;
        let mut buffer = shared.lock();
        while !self.must_flush(&buffer) {
            buffer = match self.next_tick {
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        break;
                    }
                    shared
                        .wake
                        .wait_timeout(buffer, at - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => shared
                    .wake
                    .wait(buffer)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        buffer
    }

    /// Whether `buffer` must be flushed now, whatever the tick: the table
    /// closes, a sync is requested, a `Sync` write waits, the log rotates,
    /// or the buffer is full.
    fn must_flush(&self, buffer: &Buffer) -> bool {
        let rotating = buffer.chunks.len() > 1;
        let has_work = buffer.pending > 0 || rotating;
        let sync_mode_has_work = matches!(self.shared.durability, Durability::Sync) && has_work;
        buffer.stop
            || buffer.sync_requested
            || sync_mode_has_work
            || rotating
            || buffer.pending >= WRITE_THRESHOLD
    }

    /// Whether the tick is due; if it is, schedules the next one.
    fn tick_due(&mut self) -> bool {
        let now = Instant::now();
        let due = self.next_tick.is_some_and(|at| now >= at);
        if due {
            self.next_tick = self.tick.and_then(|tick| now.checked_add(tick));
        }
        due
    }

    /// Writes `batch` (unless the log has failed), syncs if its mode or a
    /// request says so, and publishes the outcome.
    fn flush(&mut self, mut batch: Batch) {
        let tick_due = self.tick_due();
        let sync = batch.stop
            || batch.sync_requested
            || match self.shared.durability {
                Durability::Sync => true,
                Durability::Periodic(_) => tick_due,
                Durability::None => false,
            };
        let outcome = if batch.already_failed {
            Ok(false)
        } else {
            self.write(&mut batch.chunks, sync)
        };
        batch.chunks.clear();
        self.spare = batch.chunks;
        self.publish(outcome);
    }

    /// Writes `chunks` and, if `sync`, syncs the segment; `Ok(true)` when a
    /// sync made the records written so far durable.
    fn write(&mut self, chunks: &mut Vec<Chunk>, sync: bool) -> io::Result<bool> {
        let shared = self.shared;
        write_chunks(
            shared,
            self.vfs,
            &mut self.segment,
            chunks,
            &mut self.written_through,
        )?;
        if !(sync && self.segment.unsynced) {
            return Ok(false);
        }
        let started = Instant::now();
        let outcome = self.segment.file.sync_data().map(|()| true);
        self.last_sync = started.elapsed();
        self.segment.unsynced = false;
        shared.counters.syncs.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    /// Publishes what a flush achieved: the new durable mark after a sync,
    /// or the log's failure.
    fn publish(&mut self, outcome: io::Result<bool>) {
        let shared = self.shared;
        match outcome {
            Ok(true) => {
                let written_through = self.written_through;
                self.last_batch = written_through - shared.progress.borrow().synced_through;
                shared.lock().synced_through = written_through;
                shared
                    .progress
                    .send_modify(|p| p.synced_through = written_through);
                observe::log_synced(shared.store, self.last_batch, self.last_sync.as_secs_f64());
            }
            Ok(false) => {}
            Err(error) => {
                observe::log_failed(shared.store, &error);
                let error = Arc::new(error);
                shared.lock().failed = Some(Arc::clone(&error));
                shared.progress.send_modify(|p| p.failed = Some(error));
            }
        }
    }
}
