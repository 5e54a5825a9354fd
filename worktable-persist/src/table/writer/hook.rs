//! The commit hook: encodes each committed change into the buffer, in
//! sequence order, and hands `Sync` writes a future for their sync.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use worktable_core::events::{CommitHook, Durable, Refusal};
use worktable_core::{ChangeEvent, ChangeKind, Row, RowImage};

use super::{Buffer, Durability, Shared, WRITE_THRESHOLD, WriteError};
use crate::log::{RecordKind, encode_record};

/// The bytes of an image a committed change of its kind has.
fn image<R: Row>(image: Option<&RowImage<R>>) -> &[u8] {
    image
        .expect("a committed change has the images its kind needs")
        .bytes()
}

/// The commit hook of a durable table.
pub(crate) struct Hook<R: Row> {
    /// State shared with the flusher.
    pub(crate) shared: Arc<Shared>,
    /// The largest key of a row deleted so far, for a table whose keys come
    /// from a generator (`None` otherwise): a checkpoint keeps it as the
    /// generator's state, so that a key of a row deleted before the
    /// checkpoint is never handed out again. Only the key: no other field
    /// of a deleted row is kept.
    pub(crate) deleted_max: Mutex<Option<R::Pk>>,
}

impl<R: Row> Hook<R> {
    pub(crate) fn new(shared: Arc<Shared>, deleted_max: Option<R::Pk>) -> Self {
        Self {
            shared,
            deleted_max: Mutex::new(deleted_max),
        }
    }

    /// The key generator's state for the metadata file: the largest
    /// deleted key, as rkyv bytes; empty when there is none.
    pub(crate) fn largest_deleted_key(
        &self,
    ) -> Result<Vec<u8>, worktable_core::rkyv::rancor::Error> {
        let deleted = self
            .deleted_max
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        deleted
            .as_ref()
            .map_or(Ok(Vec::new()), |pk| R::encode_pk(pk))
    }
}

/// Whether `R`'s keys come from a generator, which must stay above every
/// deleted key.
pub(crate) fn generates_keys<R: Row>() -> bool {
    worktable_core::storage::generates_keys::<R>()
}

impl<R: Row> CommitHook<R> for Hook<R> {
    fn on_commit(&self, event: &ChangeEvent<R>) -> Result<Option<Durable>, Refusal> {
        let (kind, before, after) = record_parts(event);
        let seq = self.append(event.seq(), kind, before, after)?;
        // Only a delete the log took: a refused one deleted nothing.
        if kind == RecordKind::Delete {
            self.note_deleted(event.pk());
        }
        match self.shared.durability {
            Durability::Sync => Ok(Some(self.synced(seq))),
            Durability::Periodic(_) | Durability::None => Ok(None),
        }
    }
}

/// The record kind of a committed change, and the images its record
/// carries (before, after; empty where the kind has none).
fn record_parts<R: Row>(event: &ChangeEvent<R>) -> (RecordKind, &[u8], &[u8]) {
    match event.committed_kind() {
        ChangeKind::Insert => (RecordKind::Insert, &[], image(event.after())),
        ChangeKind::Update => (
            RecordKind::Update,
            image(event.before()),
            image(event.after()),
        ),
        ChangeKind::Delete => (RecordKind::Delete, image(event.before()), &[]),
    }
}

impl<R: Row> Hook<R> {
    /// Encodes the change numbered `event_seq` into the buffer as the next
    /// record, and wakes the flusher if it must write now; returns the
    /// record's sequence number.
    ///
    /// # Errors
    ///
    /// Refuses the change, before anything is logged, when the log has
    /// failed, numbers it otherwise, or has no sequence number left; and
    /// when the record cannot be encoded (the log then fails).
    fn append(
        &self,
        event_seq: u64,
        kind: RecordKind,
        before: &[u8],
        after: &[u8],
    ) -> Result<u64, Refusal> {
        let shared = &*self.shared;
        let mut buffer = shared.lock();
        if let Some(source) = &buffer.failed {
            return Err(shared.write_error(Arc::clone(source)).into());
        }
        if buffer.stop {
            // Closed: the flusher writes nothing more.
            return Err(WriteError::Closed {
                path: shared.dir.clone(),
            }
            .into());
        }
        let seq = buffer.next_seq;
        if event_seq != seq {
            // The table continues the log's numbering (see
            // `PersistentTable::start`); a change numbered otherwise would
            // break it.
            return Err(shared
                .write_error(Arc::new(io::Error::other(format!(
                    "change numbered {event_seq} where the log expects {seq}"
                ))))
                .into());
        }
        let Some(next) = seq.checked_add(1) else {
            return Err(WriteError::SeqExhausted {
                path: shared.dir.clone(),
            }
            .into());
        };
        if let Err(error) = encode_into(&mut buffer, seq, kind, before, after) {
            // Rows are at most MAX_ROW_BYTES (65,535), what a record
            // carries per image, and each kind of change has the images its
            // record kind needs (an archived row is never empty), so this
            // does not happen. Were it to, the change is not in the log:
            // refuse every later write, as after an I/O error, rather than
            // let the log silently miss a change.
            let source = Arc::new(error);
            buffer.failed = Some(Arc::clone(&source));
            return Err(shared.write_error(source).into());
        }
        buffer.next_seq = next;
        shared.counters.records.fetch_add(1, Ordering::Relaxed);
        let wake_now =
            matches!(shared.durability, Durability::Sync) || buffer.pending >= WRITE_THRESHOLD;
        drop(buffer);
        if wake_now {
            shared.wake.notify_one();
        }
        Ok(seq)
    }

    /// Remembers `pk`, the key of a row whose delete the log took, if it is
    /// the largest deleted so far (for a table whose keys come from a
    /// generator).
    fn note_deleted(&self, pk: &R::Pk) {
        if !generates_keys::<R>() {
            return;
        }
        let mut deleted = self
            .deleted_max
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if deleted.as_ref().is_none_or(|max| max < pk) {
            *deleted = Some(pk.clone());
        }
    }

    /// The future a `Sync` write waits on: ready once the log is synced
    /// through `seq`, failed with the log's error if it fails or its
    /// flusher stops first.
    fn synced(&self, seq: u64) -> Durable {
        let mut progress = self.shared.watch();
        let path = self.shared.dir.clone();
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
}

/// Encodes the record numbered `seq` at the end of the buffer's last chunk
/// and counts its bytes.
fn encode_into(
    buffer: &mut Buffer,
    seq: u64,
    kind: RecordKind,
    before: &[u8],
    after: &[u8],
) -> io::Result<()> {
    let durable_below = buffer.synced_through + 1;
    let header = buffer.header;
    let len_before = buffer.tail().bytes.len();
    encode_record(
        &mut buffer.tail().bytes,
        &header,
        seq,
        durable_below,
        kind,
        before,
        after,
    )
    .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    let added = buffer.tail().bytes.len() - len_before;
    buffer.tail().last_seq = seq;
    buffer.pending += added;
    buffer.since_rotation += added as u64;
    Ok(())
}
