//! The log writer of a durable database: its [`DatabaseHook`] encodes each
//! commit — a single write's one change or a whole transaction's — into the
//! shared log buffer as consecutive records, all but the last marked as
//! continued, so that recovery applies the commit whole or not at all; a
//! `Sync` commit waits for its last record's sync.

use std::sync::{Arc, Mutex, PoisonError};

use worktable_core::events::{CommitBatch, CommitChange, DatabaseHook, Durable, Refusal};
use worktable_core::{ChangeKind, Row};

use crate::log::{Place, RecordKind};
use crate::table::Durability;
use crate::table::writer::{Pending, Shared, generates_keys};

/// The key generator's state of one table, whatever its row type: the
/// largest key of a row deleted so far, for a table whose keys come from a
/// generator (see `PersistentTable`'s hook, which keeps the same).
pub(crate) trait SlotKeys: Send + Sync {
    /// Remembers the key of `change`, a delete the log took.
    fn note_deleted(&self, change: &CommitChange);
    /// The state for the table's metadata: the largest deleted key as rkyv
    /// bytes; empty when there is none.
    fn key_state(&self) -> Result<Vec<u8>, worktable_core::rkyv::rancor::Error>;
}

/// [`SlotKeys`] of a table of rows `R`.
pub(crate) struct Keys<R: Row>(Mutex<Option<R::Pk>>);

impl<R: Row> Keys<R> {
    pub(crate) fn new(deleted_max: Option<R::Pk>) -> Self {
        Self(Mutex::new(deleted_max))
    }
}

impl<R: Row> SlotKeys for Keys<R> {
    fn note_deleted(&self, change: &CommitChange) {
        if !generates_keys::<R>() {
            return;
        }
        let Some(event) = change.event::<R>() else {
            return;
        };
        let mut max = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if max.as_ref().is_none_or(|max| max < event.pk()) {
            *max = Some(event.pk().clone());
        }
    }

    fn key_state(&self) -> Result<Vec<u8>, worktable_core::rkyv::rancor::Error> {
        let max = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        max.as_ref().map_or(Ok(Vec::new()), |pk| R::encode_pk(pk))
    }
}

/// The commit hook of a durable database.
pub(crate) struct DbHook {
    /// The log buffer, shared with the flusher.
    pub(crate) shared: Arc<Shared>,
    /// Each table's key state, by slot.
    pub(crate) keys: Vec<Box<dyn SlotKeys>>,
    /// A bulk load runs: its own commits (on its thread) get numbers
    /// without a record, every other commit is refused.
    pub(crate) loading: std::sync::atomic::AtomicBool,
    /// The database directory, for errors.
    pub(crate) dir: std::path::PathBuf,
}

impl DatabaseHook for DbHook {
    fn on_commit(&self, batch: &CommitBatch) -> Result<Option<Durable>, Refusal> {
        let changes = batch.changes();
        let Some(first) = changes.first() else {
            return Ok(None);
        };
        if self.loading.load(std::sync::atomic::Ordering::SeqCst) {
            if !super::bulk::on_load_thread() {
                return Err(Box::new(super::bulk::refused(&self.dir)));
            }
            // The load's checkpoint writes these rows.
            self.shared.skip(first.seq(), batch.number())?;
            for change in changes {
                if change.kind() == ChangeKind::Delete
                    && let Some(keys) = self.keys.get(change.table())
                {
                    keys.note_deleted(change);
                }
            }
            return Ok(None);
        }
        let records = changes.iter().map(|change| {
            let (kind, before, after) = record_parts(change);
            Pending {
                // At most 65,535 tables (checked at open).
                place: Place {
                    table: change.table() as u16,
                    continues: false,
                },
                kind,
                before,
                after,
            }
        });
        let last = self.shared.append(first.seq(), records)?;
        // Only deletes the log took: a refused commit deleted nothing.
        for change in changes {
            if change.kind() == ChangeKind::Delete
                && let Some(keys) = self.keys.get(change.table())
            {
                keys.note_deleted(change);
            }
        }
        match self.shared.durability() {
            Durability::Sync => Ok(Some(self.shared.synced(last))),
            Durability::Periodic(_) | Durability::None => Ok(None),
        }
    }
}

/// The record kind of a committed change and the images its record
/// carries (before, after; empty where the kind has none).
fn record_parts(change: &CommitChange) -> (RecordKind, &[u8], &[u8]) {
    let before = change.before_bytes().unwrap_or_default();
    let after = change.after_bytes().unwrap_or_default();
    match change.kind() {
        ChangeKind::Insert => (RecordKind::Insert, &[], after),
        ChangeKind::Update => (RecordKind::Update, before, after),
        ChangeKind::Delete => (RecordKind::Delete, before, &[]),
    }
}
