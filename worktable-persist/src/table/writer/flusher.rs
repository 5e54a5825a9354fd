//! The flusher: one OS thread per table that writes the buffered records,
//! starts new segments where a checkpoint rotated the log, and syncs
//! (group commit for `Sync`).

use std::io;
use std::mem;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::super::files::segment_name;
use super::{Buffer, Chunk, Durability, MIN_PERIOD, NONE_WRITE_INTERVAL, Shared, WRITE_THRESHOLD};
use crate::log::{HEADER_LEN, SegmentHeader, encode_header};
use crate::vfs::{Vfs, VfsFile};

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
