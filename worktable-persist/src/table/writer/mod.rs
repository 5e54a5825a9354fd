//! The write path: the commit hook that encodes records into an in-memory
//! buffer, and the one flusher thread that writes and syncs them.
//!
//! The hook runs under the table's commit lock, in sequence order, and
//! checks that each change carries the number the log expects next
//! (`next_seq`): the table continues the log's numbering, so an event's
//! number and its record's are one. The flusher is a dedicated OS thread,
//! never a runtime worker: it takes the whole buffer, writes it, syncs once
//! (group commit) and publishes the new durable mark on a `watch` channel
//! that the writers' `Durable` futures wait on.
//!
//! # Segments
//!
//! A checkpoint [rotates](Shared::rotate) the log: under the buffer's
//! mutex, so exactly between two records, it starts a new chunk whose
//! records go to a new segment `log-<first seq>`. The flusher syncs the old
//! segment, creates the new one (header written and synced, directory
//! synced) and only then writes the chunk's records there, so every segment
//! but the last ends cleanly at the record before the next one's first.

mod flusher;
mod hook;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::Durability;
use super::error::WriteError;
use crate::format::ArchiveFormat;
use crate::log::{Place, RecordKind, SegmentHeader, Stamp, encode_placed};
use crate::observe::Store;
use worktable_core::events::{Durable, Refusal};

pub(crate) use flusher::{Segment, create_segment, spawn_flusher};
pub(crate) use hook::{Hook, generates_keys};

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
    /// The table, or database, whose log this is: names the flusher's
    /// thread, and its traces and metrics.
    store: Store,
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
#[cfg(any(test, feature = "testing"))]
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
    /// The shared state of the log of `store` whose last segment has
    /// `header` and whose last record has `last_seq` (all of them synced).
    pub(crate) fn new(
        store: Store,
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
            store,
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

    /// The table, or database, whose log this is.
    pub(crate) fn store(&self) -> Store {
        self.store
    }

    /// The durability mode.
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// The counters.
    #[cfg(any(test, feature = "testing"))]
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
            archive_format: ArchiveFormat::current(),
            database: buffer.header.database,
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
    pub(crate) fn wait_for_segment(&self, first_seq: u64) -> Result<(), WriteError> {
        self.wait_until(
            |seen| seen.segment >= first_seq,
            "the log's flusher stopped before starting a new segment",
        )
    }

    /// Waits (blocking) until every record logged so far is synced, in
    /// every durability mode; returns the sequence number of the last of
    /// them (every record up to it is synced).
    ///
    /// # Errors
    ///
    /// [`WriteError::LogWrite`] if the log has failed (now or before).
    pub(crate) fn sync_logged(&self) -> Result<u64, WriteError> {
        let target = {
            let mut buffer = self.lock();
            if let Some(source) = &buffer.failed {
                return Err(self.write_error(Arc::clone(source)));
            }
            buffer.sync_requested = true;
            buffer.next_seq - 1
        };
        self.wake.notify_one();
        self.wait_until(
            |seen| seen.synced_through >= target,
            "the log's flusher stopped before syncing",
        )?;
        Ok(target)
    }

    /// The number of the last record logged (0 before any).
    pub(crate) fn last_logged(&self) -> u64 {
        self.lock().next_seq - 1
    }

    /// Every record up to this sequence number is synced (as the flusher
    /// last published).
    pub(crate) fn synced_through(&self) -> u64 {
        self.progress.borrow().synced_through
    }

    /// Waits (blocking) until the flusher's progress satisfies `done`.
    ///
    /// # Errors
    ///
    /// [`WriteError::LogWrite`] if the log has failed (checked first), or
    /// the flusher stopped (`stopped` says what it left undone).
    fn wait_until(
        &self,
        done: impl Fn(&Progress) -> bool,
        stopped: &str,
    ) -> Result<(), WriteError> {
        let mut progress = self.watch();
        loop {
            {
                let seen = progress.borrow_and_update();
                if let Some(source) = &seen.failed {
                    return Err(self.write_error(Arc::clone(source)));
                }
                if done(&seen) {
                    return Ok(());
                }
                if seen.stopped {
                    return Err(self.write_error(Arc::new(io::Error::other(stopped.to_owned()))));
                }
            }
            if super::blocking::block_on(progress.changed()).is_err() {
                return Err(
                    self.write_error(Arc::new(io::Error::other("the log's flusher is gone")))
                );
            }
        }
    }

    /// The error every write gets once the log has failed, if it has.
    pub(crate) fn failure(&self) -> Option<WriteError> {
        let source = self.lock().failed.clone()?;
        Some(self.write_error(source))
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

    /// Encodes `records`, one commit numbered consecutively from
    /// `first_seq`, into the buffer as the next records (all but the last
    /// marked as continued in a database's log), and wakes the flusher if
    /// it must write now; returns the last record's sequence number.
    ///
    /// # Errors
    ///
    /// Refuses the commit, before anything is logged, when the log has
    /// failed or is closed, numbers it otherwise, or has no sequence number
    /// left; and when a record cannot be encoded (the log then fails, and
    /// the commit's records encoded so far are taken back).
    pub(crate) fn append<'a>(
        &self,
        first_seq: u64,
        records: impl ExactSizeIterator<Item = Pending<'a>>,
    ) -> Result<u64, Refusal> {
        let last = first_seq
            .checked_add(records.len() as u64)
            .and_then(|end| end.checked_sub(1))
            .unwrap_or(u64::MAX);
        self.append_numbered(first_seq, last, records)
    }

    /// [`append`](Self::append) of records that take the numbers
    /// `first_seq..=last` (a skip record takes a range of its own).
    fn append_numbered<'a>(
        &self,
        first_seq: u64,
        last: u64,
        records: impl ExactSizeIterator<Item = Pending<'a>>,
    ) -> Result<u64, Refusal> {
        let mut buffer = self.lock();
        if let Some(source) = &buffer.failed {
            return Err(self.write_error(Arc::clone(source)).into());
        }
        if buffer.stop {
            // Closed: the flusher writes nothing more.
            return Err(WriteError::Closed {
                path: self.dir.clone(),
            }
            .into());
        }
        if first_seq != buffer.next_seq {
            // The tables continue the log's numbering (see
            // `PersistentTable::start`); a change numbered otherwise would
            // break it.
            let expected = buffer.next_seq;
            return Err(self
                .write_error(Arc::new(io::Error::other(format!(
                    "change numbered {first_seq} where the log expects {expected}"
                ))))
                .into());
        }
        let count = records.len() as u64;
        if count == 0 || last < first_seq || last == u64::MAX {
            return Err(WriteError::SeqExhausted {
                path: self.dir.clone(),
            }
            .into());
        }
        let mark = (
            buffer.chunks.len(),
            buffer.tail().bytes.len(),
            buffer.pending,
        );
        for (i, record) in (0..count).zip(records) {
            let seq = first_seq + i;
            let place = Place {
                continues: buffer.header.database && i + 1 < count,
                ..record.place
            };
            if let Err(error) = encode_into(&mut buffer, seq, place, &record) {
                // Rows are at most MAX_ROW_BYTES (65,535), what a record
                // carries per image, and each kind of change has the
                // images its record kind needs (an archived row is never
                // empty), so this does not happen. Were it to, the change
                // is not in the log: refuse every later write, as after an
                // I/O error, rather than let the log silently miss a change.
                debug_assert_eq!(buffer.chunks.len(), mark.0);
                buffer.tail().bytes.truncate(mark.1);
                buffer.pending = mark.2;
                let source = Arc::new(error);
                buffer.failed = Some(Arc::clone(&source));
                return Err(self.write_error(source).into());
            }
        }
        buffer.tail().last_seq = last;
        buffer.next_seq = last + 1;
        self.counters.records.fetch_add(count, Ordering::Relaxed);
        let wake_now =
            matches!(self.durability, Durability::Sync) || buffer.pending >= WRITE_THRESHOLD;
        drop(buffer);
        if wake_now {
            self.wake.notify_one();
        }
        Ok(last)
    }

    /// Gives the numbers `first..=last` to a commit the log does not hold
    /// (a bulk load, which a checkpoint writes instead): appends one skip
    /// record (numbered `first`, holding `last`), after which the next
    /// record is numbered `last + 1`.
    ///
    /// # Errors
    ///
    /// Refuses, as [`append`](Self::append) does, a log that failed or is
    /// closed, or numbers that are not the next ones.
    pub(crate) fn skip(&self, first: u64, last: u64) -> Result<(), Refusal> {
        let range = last.to_le_bytes();
        let record = Pending {
            place: Place::default(),
            kind: RecordKind::Skip,
            before: &[],
            after: &range,
        };
        let appended = self.append_numbered(first, last, std::iter::once(record))?;
        debug_assert_eq!(appended, last);
        Ok(())
    }

    /// Fails the log with `error`: every later write is refused (a bulk
    /// load whose checkpoint failed left rows the log does not hold).
    pub(crate) fn fail(&self, error: io::Error) {
        self.lock().failed.get_or_insert_with(|| Arc::new(error));
    }

    /// The future a `Sync` write waits on: ready once the log is synced
    /// through `seq`, failed with the log's error if it fails or its
    /// flusher stops first.
    pub(crate) fn synced(&self, seq: u64) -> Durable {
        let mut progress = self.watch();
        let path = self.dir.clone();
        Box::pin(async move {
            let outcome = progress
                .wait_for(|p| p.synced_through >= seq || p.failed.is_some() || p.stopped)
                .await
                .map(|p| (p.synced_through >= seq, p.failed.clone()));
            let source = match outcome {
                Ok((true, _)) => return Ok(()),
                Ok((false, Some(source))) => source,
                Ok((false, None)) | Err(_) => Arc::new(io::Error::other(
                    "the log's flusher stopped before the record was synced",
                )),
            };
            Err(WriteError::LogWrite { path, source }.into())
        })
    }

    /// The error a write gets once the log has failed.
    pub(crate) fn write_error(&self, source: Arc<io::Error>) -> WriteError {
        WriteError::LogWrite {
            path: self.dir.clone(),
            source,
        }
    }
}

/// One record of a commit, before it is encoded.
pub(crate) struct Pending<'a> {
    /// Its table (the commit's flag is set by [`Shared::append`]).
    pub(crate) place: Place,
    pub(crate) kind: RecordKind,
    pub(crate) before: &'a [u8],
    pub(crate) after: &'a [u8],
}

/// Encodes the record numbered `seq` at the end of the buffer's last chunk
/// and counts its bytes.
fn encode_into(
    buffer: &mut Buffer,
    seq: u64,
    place: Place,
    record: &Pending<'_>,
) -> io::Result<()> {
    let stamp = Stamp {
        seq,
        durable_below: buffer.synced_through + 1,
        place,
    };
    let header = buffer.header;
    let len_before = buffer.tail().bytes.len();
    encode_placed(
        &mut buffer.tail().bytes,
        &header,
        stamp,
        record.kind,
        record.before,
        record.after,
    )
    .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let added = buffer.tail().bytes.len() - len_before;
    buffer.pending += added;
    buffer.since_rotation += added as u64;
    Ok(())
}
