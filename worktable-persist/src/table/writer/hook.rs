//! The commit hook: encodes each committed change into the buffer, in
//! sequence order, and hands `Sync` writes a future for their sync.

use std::sync::{Arc, Mutex, PoisonError};

use worktable_core::events::{CommitHook, Durable, Refusal};
use worktable_core::{ChangeEvent, ChangeKind, Row, RowImage};

use super::{Durability, Pending, Shared};
use crate::log::{Place, RecordKind};

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
    /// A bulk load runs: its own inserts (on its thread) are not logged
    /// (its checkpoint writes them), every other change is refused.
    pub(crate) loading: std::sync::atomic::AtomicBool,
}

impl<R: Row> Hook<R> {
    pub(crate) fn new(shared: Arc<Shared>, deleted_max: Option<R::Pk>) -> Self {
        Self {
            shared,
            deleted_max: Mutex::new(deleted_max),
            loading: std::sync::atomic::AtomicBool::new(false),
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
        if self.loading.load(std::sync::atomic::Ordering::SeqCst) {
            return if crate::database::on_load_thread() {
                // The load logs one skip record for all its numbers when
                // it ends, and its checkpoint writes the rows.
                Ok(None)
            } else {
                Err(Box::new(super::WriteError::BulkLoad {
                    path: self.shared.dir.clone(),
                }))
            };
        }
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
    /// record; returns the record's sequence number.
    fn append(
        &self,
        event_seq: u64,
        kind: RecordKind,
        before: &[u8],
        after: &[u8],
    ) -> Result<u64, Refusal> {
        let record = Pending {
            place: Place::default(),
            kind,
            before,
            after,
        };
        self.shared.append(event_seq, std::iter::once(record))
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

    /// The future a `Sync` write waits on.
    fn synced(&self, seq: u64) -> Durable {
        self.shared.synced(seq)
    }
}
