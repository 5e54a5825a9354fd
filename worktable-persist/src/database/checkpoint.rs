//! Checkpoints of a durable database: every table at one commit number.
//!
//! The steps of a table's checkpoint (see `table::checkpoint`), taken for
//! all tables at once: rotate the one log at `S`; wait for the commit lock
//! the tables share (the commit numbered `S` may still be marking pages);
//! capture and write each table's changed pages into its own page file
//! (`t<slot>/pages`); sync the log through every change the frames may
//! hold; write each table's new manifest (every table gets one, changed
//! or not, since a manifest names its checkpoint's number); then replace
//! the database file naming all of them at `S` — the one moment the
//! checkpoint takes effect for every table — and only then free the old
//! manifests' frames and the log before `S + 1`. A crash before the
//! rename leaves the previous checkpoint whole and every segment after
//! it; after it, the new one.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use worktable_core::storage::{self, DatabaseTables, PageId, VisitTables};
use worktable_core::{Row, WorkTable};

use super::file::{self, DbFile};
use super::hook::DbHook;
use super::recover::SlotType;
use crate::meta::Meta;
use crate::table::CheckpointReport;
use crate::table::checkpoint::{Checkpointer, Prepared, State};
use crate::table::error::CheckpointError;
use crate::table::writer::Shared;
use crate::vfs::Vfs;

/// Runs the checkpoints of a database, one at a time.
pub(crate) struct DbCheckpointer {
    /// The database file as last written.
    file: Mutex<DbFile>,
    /// Each table's page file and manifests, by slot.
    tables: Vec<Checkpointer>,
    /// The tables' types, by slot.
    types: Vec<SlotType>,
    /// The log's fingerprint.
    fingerprint: u64,
    /// Backups in progress: no checkpoint runs while one copies the files
    /// of the current checkpoint.
    pauses: Arc<Pauses>,
    /// The log segments confirmed streams still read.
    holds: Arc<LogHolds>,
}

/// Where each confirmed stream reads the log: a checkpoint keeps every
/// segment from the oldest of them on, so that a stream behind a
/// checkpoint goes on reading instead of losing its place.
#[derive(Debug, Default)]
pub(crate) struct LogHolds {
    /// By stream: the first number of the segment it reads.
    readers: Mutex<std::collections::HashMap<u64, u64>>,
    next_id: std::sync::atomic::AtomicU64,
}

/// A stream's place in [`LogHolds`], released when dropped.
#[derive(Debug)]
pub(crate) struct LogHold {
    holds: Arc<LogHolds>,
    id: u64,
}

impl LogHolds {
    fn readers(&self) -> MutexGuard<'_, std::collections::HashMap<u64, u64>> {
        self.readers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first number of the oldest segment a stream reads.
    fn oldest(&self) -> Option<u64> {
        self.readers().values().copied().min()
    }
}

impl LogHold {
    /// The stream now reads the segment starting at `first`.
    pub(crate) fn move_to(&self, first: u64) {
        self.holds.readers().insert(self.id, first);
    }
}

impl Drop for LogHold {
    fn drop(&mut self) {
        self.holds.readers().remove(&self.id);
    }
}

/// How many backups pause checkpoints, and the wake-up when none does.
#[derive(Debug, Default)]
struct Pauses {
    count: Mutex<usize>,
    resumed: Condvar,
}

impl Pauses {
    fn count(&self) -> MutexGuard<'_, usize> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checkpoints paused by a backup, until dropped.
#[derive(Debug)]
pub(crate) struct Paused(Arc<Pauses>);

impl Drop for Paused {
    fn drop(&mut self) {
        let mut count = self.0.count();
        *count -= 1;
        if *count == 0 {
            self.0.resumed.notify_all();
        }
    }
}

impl DbCheckpointer {
    pub(crate) fn new(
        file: DbFile,
        tables: Vec<Checkpointer>,
        types: Vec<SlotType>,
        fingerprint: u64,
    ) -> Self {
        Self {
            file: Mutex::new(file),
            tables,
            types,
            fingerprint,
            pauses: Arc::default(),
            holds: Arc::default(),
        }
    }

    /// Pauses checkpoints (after one in progress) until the guard drops;
    /// returns the database file of the checkpoint in effect, whose files
    /// stay as they are meanwhile.
    pub(crate) fn pause(&self) -> (DbFile, Paused) {
        let file = self.lock();
        *self.pauses.count() += 1;
        (file.clone(), Paused(Arc::clone(&self.pauses)))
    }

    /// The database file, once no backup is in progress (held: no backup
    /// starts until it is released).
    fn lock_unpaused(&self) -> MutexGuard<'_, DbFile> {
        loop {
            let file = self.lock();
            if *self.pauses.count() == 0 {
                return file;
            }
            drop(file);
            let mut count = self.pauses.count();
            while *count > 0 {
                count = self
                    .pauses
                    .resumed
                    .wait(count)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, DbFile> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `find` (which looks for the segment a stream starts at) under
    /// the checkpoint lock, so that no checkpoint removes what it finds,
    /// and registers the stream there; the log from that segment on is
    /// kept until the hold moves or drops.
    pub(crate) fn with_log<E>(
        &self,
        find: impl FnOnce() -> Result<u64, E>,
    ) -> Result<(u64, LogHold), E> {
        let _file = self.lock();
        let first = find()?;
        let id = self
            .holds
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.holds.readers().insert(id, first);
        Ok((
            first,
            LogHold {
                holds: Arc::clone(&self.holds),
                id,
            },
        ))
    }

    /// The database's id.
    pub(crate) fn id(&self) -> [u8; 16] {
        self.lock().id
    }

    /// Records in the database file that the log is synced through
    /// `synced` (a database closing without a checkpoint).
    pub(crate) fn record_synced(
        &self,
        vfs: &dyn Vfs,
        dir: &std::path::Path,
        synced: u64,
    ) -> Result<(), CheckpointError> {
        let mut file = self.lock();
        if synced <= file.log_synced_through {
            return Ok(());
        }
        let next = DbFile {
            log_synced_through: synced,
            ..file.clone()
        };
        file::write(vfs, dir, &next).map_err(|source| CheckpointError::io(dir, source))?;
        *file = next;
        Ok(())
    }

    /// Runs one checkpoint of `db` (blocking). Without `force`, does
    /// nothing when nothing changed since the last.
    pub(crate) fn run<D: DatabaseTables>(
        &self,
        db: &D,
        hook: &DbHook,
        shared: &Shared,
        vfs: &dyn Vfs,
        dir: &std::path::Path,
        force: bool,
    ) -> Result<CheckpointReport, CheckpointError> {
        let mut file = self.lock_unpaused();
        let mut states: Vec<MutexGuard<'_, State>> =
            self.tables.iter().map(Checkpointer::lock).collect();
        let seq = shared.rotate(self.fingerprint);
        shared.wait_for_segment(seq + 1)?;
        let force = force || seq != file.checkpoint_seq;
        let mut prepare = Prepare {
            tables: &self.tables,
            states: &mut states,
            seq,
            force,
            prepared: Vec::new(),
            error: None,
        };
        db.visit(&mut prepare);
        if prepare.prepared.iter().any(Option::is_some) && !force {
            // A table changed (a vacuum moved rows, with nothing logged):
            // every other table gets a manifest at `seq` too. The tables
            // prepared already keep what they wrote (their page marks are
            // taken).
            prepare.force = true;
            db.visit(&mut prepare);
        }
        let Prepare {
            prepared, error, ..
        } = prepare;
        if let Some(error) = error {
            give_back(db, prepared);
            return Err(error);
        }
        if prepared.iter().all(Option::is_none) {
            return Ok(report(&states, file.checkpoint_seq, 0));
        }
        let prepared: Vec<Prepared> = prepared.into_iter().flatten().collect();
        let written: usize = prepared.iter().map(|table| table.changed.len()).sum();
        let changed: Vec<Vec<PageId>> =
            prepared.iter().map(|table| table.changed.clone()).collect();
        match self.commit(
            &mut file,
            &mut states,
            prepared,
            hook,
            shared,
            vfs,
            dir,
            seq,
        ) {
            Ok(()) => Ok(report(&states, seq, written)),
            Err(error) => {
                give_back(db, changed.into_iter().map(Some).collect());
                Err(error)
            }
        }
    }

    /// Syncs the log, writes the manifests and the database file, and
    /// frees what the previous checkpoint held.
    #[allow(clippy::too_many_arguments)] // one call site, each a distinct part
    fn commit(
        &self,
        file: &mut DbFile,
        states: &mut [MutexGuard<'_, State>],
        prepared: Vec<Prepared>,
        hook: &DbHook,
        shared: &Shared,
        vfs: &dyn Vfs,
        dir: &std::path::Path,
        seq: u64,
    ) -> Result<(), CheckpointError> {
        // The frames may hold changes after `seq`: they become the
        // checkpoint only once the log holds them durably.
        let synced = shared.sync_logged()?;
        let mut manifests = Vec::with_capacity(prepared.len());
        let mut metas: Vec<Meta> = Vec::with_capacity(prepared.len());
        for (slot, table) in prepared.into_iter().enumerate() {
            let checkpointer = &self.tables[slot];
            let manifest = checkpointer.write_manifest(&states[slot], table.manifest, seq)?;
            let meta = checkpointer.next_meta(
                &states[slot],
                &manifest,
                synced,
                hook.keys[slot].key_state(),
                self.types[slot].schema,
            )?;
            manifests.push(manifest);
            metas.push(meta);
        }
        let mut next = DbFile {
            checkpoint_seq: seq,
            log_synced_through: synced.max(file.log_synced_through),
            ..file.clone()
        };
        for (table, meta) in next.tables.iter_mut().zip(&metas) {
            table.meta = meta.clone();
        }
        if let Err(source) = file::write(vfs, dir, &next) {
            // The new file may be in place nonetheless: keep every frame
            // either checkpoint uses.
            for (state, manifest) in states.iter_mut().zip(manifests) {
                state.unsettled.push(manifest);
            }
            return Err(CheckpointError::io(&dir.join(file::FILE_NAME), source));
        }
        // In effect. What follows only frees space; a failure leaves files
        // the next open (old manifests) or checkpoint (old segments)
        // removes.
        *file = next;
        let mut cleared = Ok(());
        for ((checkpointer, state), (meta, manifest)) in self
            .tables
            .iter()
            .zip(states.iter_mut())
            .zip(metas.into_iter().zip(manifests))
        {
            let settled = checkpointer.settle(state, meta, manifest);
            cleared = cleared.and(settled);
        }
        // Segments a confirmed stream still reads stay (the next checkpoint
        // after it moves on removes them).
        let through = self
            .holds
            .oldest()
            .map_or(seq, |first| seq.min(first.saturating_sub(1)));
        cleared.and_then(|()| self.tables[0].drop_log_through(dir, through))
    }
}

/// Step 2 for every table, through the database's visitor.
struct Prepare<'a, 's> {
    tables: &'a [Checkpointer],
    states: &'a mut [MutexGuard<'s, State>],
    seq: u64,
    force: bool,
    /// By slot: what each table wrote (`None`: nothing changed).
    prepared: Vec<Option<Prepared>>,
    /// The first error; later tables are not prepared.
    error: Option<CheckpointError>,
}

impl VisitTables<'_> for Prepare<'_, '_> {
    fn table<R: Row>(&mut self, slot: usize, _field: &'static str, table: &WorkTable<R>) {
        if self.error.is_some() {
            return;
        }
        if slot == 0 {
            // The tables share one commit lock: the change numbered `seq`
            // has finished marking its pages once it is free.
            storage::wait_for_commits(table);
        }
        if self.prepared.get(slot).is_some_and(Option::is_some) {
            return;
        }
        match self.tables[slot].prepare(&mut self.states[slot], table, self.seq, self.force) {
            Ok(prepared) if slot < self.prepared.len() => self.prepared[slot] = prepared,
            Ok(prepared) => self.prepared.push(prepared),
            Err(error) => self.error = Some(error),
        }
    }
}

/// Gives back the page marks a failed checkpoint took, so that the next
/// one writes those pages.
fn give_back<D: DatabaseTables>(db: &D, prepared: Vec<Option<impl Into<Vec<PageId>>>>) {
    struct Remark(Vec<Vec<PageId>>);
    impl VisitTables<'_> for Remark {
        fn table<R: Row>(&mut self, slot: usize, _field: &'static str, table: &WorkTable<R>) {
            if let Some(pages) = self.0.get(slot) {
                storage::mark_pages_changed(table, pages);
            }
        }
    }
    let pages = prepared
        .into_iter()
        .map(|table| table.map(Into::into).unwrap_or_default())
        .collect();
    db.visit(&mut Remark(pages));
}

impl From<Prepared> for Vec<PageId> {
    fn from(prepared: Prepared) -> Self {
        prepared.changed
    }
}

/// The report of the database's checkpoint at `seq`, whose tables' states
/// are `states`.
fn report(states: &[MutexGuard<'_, State>], seq: u64, pages_written: usize) -> CheckpointReport {
    let mut report = CheckpointReport {
        seq,
        pages_written,
        ..CheckpointReport::default()
    };
    for state in states {
        report.pages += state.manifest.pages.len();
        report.rows += state.manifest.row_count();
        report.frames += state.manifest.frame_count;
    }
    report
}
