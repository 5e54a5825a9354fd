//! Checkpoints: the changed pages written to the page file, a new manifest,
//! the metadata file moved to them, and the log before them removed.
//!
//! # The steps, and why a crash at any point loses nothing
//!
//! 1. **Rotate the log** at `S`, the last sequence number logged so far
//!    (exactly between two records: see `writer`), and wait until the
//!    flusher has created segment `S + 1` and synced the directory.
//! 2. Wait for the table's commit lock (a change is handed to the log just
//!    before it is applied, so the change numbered `S` may still be marking
//!    its pages), then **capture** the pages whose rows changed since the
//!    last checkpoint (every change up to `S` has marked its pages) and
//!    copy their rows, each at its offset, into frames of the page file
//!    that the *current* manifest does not use (shadow paging: the
//!    checkpoint the metadata file names stays intact). Sync the page file.
//! 3. Write the **manifest** of the new generation (the frames of the
//!    unchanged pages, plus the new ones), sync it and the directory.
//! 4. Wait until the log holds, synced, every change the frames may hold
//!    (they may hold changes after `S`; a change the log refused must not
//!    come back through a checkpoint: a refused change is never applied,
//!    and an applied one was logged first). Then replace the **metadata
//!    file** (atomically: temporary file, sync, rename, directory sync)
//!    with checkpoint sequence `S`, the new generation and the sequence
//!    number the log is synced through. This is the moment
//!    the checkpoint takes effect. If the replacement fails, the rename
//!    may still have happened: the frames of every manifest the metadata
//!    file may name stay reserved, and the next checkpoint takes a
//!    generation above all of them.
//! 5. Remove the old manifest and the segments before `S + 1`, and cut the
//!    page file after the last frame the new manifest uses. With
//!    [`Options::secure_delete`](super::Options::secure_delete), first
//!    overwrite with zeros (and sync) every frame of the page file that the
//!    new manifest does not use and that may hold old bytes, and every log
//!    segment before it is removed.
//!
//! # What a checkpoint leaves of deleted rows
//!
//! A frame a checkpoint writes holds the live rows of its page and zeros in
//! every other byte (free space, and the slots of deleted and replaced
//! versions): its body is built from zeros and only the live rows are
//! copied in. A frame the new manifest no longer uses keeps whatever it
//! held until a later checkpoint reuses it (writing a whole new body) or
//! the file is cut below it — unless `secure_delete` zeroes it here. The
//! metadata file and the manifests hold no row bytes.
//!
//! A crash before step 4 completes leaves the old metadata file, whose
//! manifest and frames were not touched, and every segment after its
//! checkpoint (the new segment continues the old one without a gap). A
//! crash after it leaves the new checkpoint, complete and synced, and
//! segment `S + 1` onwards; leftovers of step 5 are removed at the next
//! open. The captured rows may be newer than `S` (the capture is *fuzzy*):
//! replaying the log from `S + 1` over them gives the right rows, because
//! a put replaces a row and a delete removes it if present, and the
//! indexes are built only after the replay (see
//! `worktable_core::storage::TableRestore`).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use worktable_core::storage;
use worktable_core::{Row, WorkTable};

mod page_file;

use page_file::cut_page_file;

use super::error::{CheckpointError, OpenError};
use super::files::parse_segment_name;
use super::recover::write_meta;
use super::writer::{Hook, Shared};
use crate::format::ArchiveFormat;
use crate::meta::Meta;
use crate::pages::{self, FRAME_LEN, HEADER_LEN, Manifest, PAGE_FILE_NAME, manifest_name};
use crate::vfs::{Vfs, VfsFile};

/// Pages whose rows are copied per walk of the table: bounds the memory a
/// checkpoint holds at once to this many frames (16 MiB).
const PAGES_PER_PASS: usize = 256;

/// What a checkpoint did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointReport {
    /// Every change up to this sequence number is in the page file.
    pub seq: u64,
    /// Pages written (changed since the previous checkpoint).
    pub pages_written: usize,
    /// Pages the checkpoint holds.
    pub pages: usize,
    /// Rows the checkpoint holds.
    pub rows: u64,
    /// Frames the page file has room for after the checkpoint.
    pub frames: u32,
}

/// What step 2 wrote for one table: the new manifest (not numbered yet)
/// and the pages whose marks it took.
pub(crate) struct Prepared {
    pub(crate) manifest: Manifest,
    pub(crate) changed: Vec<storage::PageId>,
}

/// The checkpoint the metadata file names, and the page file.
pub(crate) struct State {
    pub(crate) meta: Meta,
    pub(crate) manifest: Manifest,
    /// The manifests of checkpoints whose metadata file replacement failed:
    /// the rename may or may not have happened, so until a later
    /// checkpoint succeeds any of them may be the one on disk, and the
    /// frames of all of them are kept.
    pub(crate) unsettled: Vec<Manifest>,
    pub(crate) page_file: Option<Box<dyn VfsFile>>,
    /// Frames the page file holds now (its length), which may be more than
    /// the manifest uses.
    pub(crate) file_frames: u32,
    /// Frames below `file_frames` that no manifest in use refers to and
    /// that may still hold the bytes of an earlier checkpoint (or of one
    /// that never took effect). A frame leaves the set when a checkpoint
    /// writes it whole, when `secure_delete` zeroes it, or when the file is
    /// cut below it.
    pub(crate) stale: BTreeSet<u32>,
}

/// Checkpoints held back, from [`Checkpointer::hold`].
pub(crate) struct Held<'a>(std::sync::MutexGuard<'a, State>);

impl Held<'_> {
    /// The current checkpoint's sequence number: the log holds every change
    /// after it.
    pub(crate) fn checkpoint_seq(&self) -> u64 {
        self.0.meta.checkpoint_seq
    }
}

/// Runs checkpoints of one table, one at a time.
pub(crate) struct Checkpointer {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    /// Zero released frames and removed log segments (see the module docs).
    secure_delete: bool,
    state: Mutex<State>,
}

impl Checkpointer {
    /// A checkpointer for the directory whose metadata file is `meta` and
    /// whose current manifest (if any) is `manifest`. With `fresh_pages`,
    /// the table in memory is not the one the manifest describes (a
    /// migration rebuilt it): the next checkpoint writes a manifest of the
    /// table's pages alone, none of the old manifest's kept, while the old
    /// one's frames stay reserved until then (as those of a checkpoint
    /// whose metadata file may be the one on disk).
    pub(crate) fn new(
        vfs: Arc<dyn Vfs>,
        dir: PathBuf,
        secure_delete: bool,
        meta: Meta,
        manifest: Option<Manifest>,
        fresh_pages: bool,
    ) -> Result<Self, OpenError> {
        let empty = Manifest {
            schema_fingerprint: meta.schema_fingerprint,
            generation: 0,
            checkpoint_seq: meta.checkpoint_seq,
            frame_count: 0,
            pages: Vec::new(),
        };
        let (manifest, unsettled) = match manifest {
            Some(old) if fresh_pages => (empty, vec![old]),
            Some(current) => (current, Vec::new()),
            None => (empty, Vec::new()),
        };
        let path = dir.join(PAGE_FILE_NAME);
        let (page_file, file_frames) = if meta.page_file_generation == 0 {
            (None, 0)
        } else {
            let file = vfs
                .open(&path, false)
                .map_err(|source| OpenError::io(&path, source))?;
            let len = file.len().map_err(|source| OpenError::io(&path, source))?;
            let frames = len.saturating_sub(HEADER_LEN as u64) / FRAME_LEN as u64;
            (Some(file), u32::try_from(frames).unwrap_or(u32::MAX))
        };
        // What the frames no manifest uses hold is not known: treat them all
        // as holding old bytes.
        let used: HashSet<u32> = manifest
            .pages
            .iter()
            .chain(unsettled.iter().flat_map(|old| &old.pages))
            .map(|page| page.frame)
            .collect();
        let stale = (0..file_frames)
            .filter(|frame| !used.contains(frame))
            .collect();
        Ok(Self {
            vfs,
            dir,
            secure_delete,
            state: Mutex::new(State {
                meta,
                manifest,
                unsettled,
                page_file,
                file_frames,
                stale,
            }),
        })
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records in the metadata file that every log record up to `synced` is
    /// synced (a table closing without a checkpoint: its log was just
    /// synced), so that recovery refuses a log cut short below it.
    pub(crate) fn record_synced(&self, synced: u64) -> Result<(), CheckpointError> {
        let mut state = self.lock();
        if synced <= state.meta.log_synced_through {
            return Ok(());
        }
        let meta = Meta {
            log_synced_through: synced,
            ..state.meta.clone()
        };
        write_meta(&*self.vfs, &self.dir, &meta)?;
        state.meta = meta;
        Ok(())
    }

    /// Holds checkpoints back (and with them the removal of log segments)
    /// until the returned guard is dropped.
    pub(crate) fn hold(&self) -> Held<'_> {
        Held(self.lock())
    }

    /// Runs one checkpoint (blocking). See the module documentation.
    /// Without `force`, does nothing when nothing changed since the last.
    pub(crate) fn run<R: Row>(
        &self,
        table: &WorkTable<R>,
        hook: &Hook<R>,
        shared: &Shared,
        force: bool,
    ) -> Result<CheckpointReport, CheckpointError> {
        let mut state = self.lock();
        let seq = shared.rotate(R::SCHEMA_FINGERPRINT);
        shared.wait_for_segment(seq + 1)?;
        // The change numbered `seq` was handed to the hook before it was
        // applied: let it (and any before it) finish marking its pages.
        storage::wait_for_commits(table);
        let Some(prepared) = self.prepare(&mut state, table, seq, force)? else {
            return Ok(report(&state.manifest, 0));
        };
        // The frames may hold changes numbered after `seq`: they may only
        // become the checkpoint once the log holds them durably (a write
        // the log refused must not come back through a checkpoint). Every
        // row the capture copied was applied after its record was handed
        // to the log, so syncing everything logged by now covers them.
        let outcome = shared
            .sync_logged()
            .map_err(CheckpointError::from)
            .and_then(|synced| {
                let manifest = self.write_manifest(&state, prepared.manifest, seq)?;
                let meta = self.next_meta(
                    &state,
                    &manifest,
                    synced,
                    hook.largest_deleted_key(),
                    &R::SCHEMA,
                )?;
                if let Err(error) = write_meta(&*self.vfs, &self.dir, &meta) {
                    // The new metadata file may be in place nonetheless.
                    state.unsettled.push(manifest);
                    return Err(error.into());
                }
                // The checkpoint is in effect. What follows only frees space
                // (and, with `secure_delete`, clears it); a failure leaves
                // files the next open removes.
                let cleared = self.settle(&mut state, meta, manifest);
                // A segment that could not be zeroed stays, for the next
                // checkpoint (or open) to zero and remove.
                let cleared = cleared.and_then(|()| self.drop_log_through(&self.dir, seq));
                Ok(cleared)
            });
        match outcome {
            Ok(cleared) => cleared.map(|()| report(&state.manifest, prepared.changed.len())),
            Err(error) => {
                // The marks were taken: give them back for the next try.
                storage::mark_pages_changed(table, &prepared.changed);
                Err(error)
            }
        }
    }

    /// Step 2 for one table, whose commits up to `seq` are done: captures
    /// the pages changed since the last checkpoint and writes them into
    /// free frames of the page file, synced. `None` when nothing changed
    /// and the log has nothing after the checkpoint (and `force` is off).
    pub(crate) fn prepare<R: Row>(
        &self,
        state: &mut State,
        table: &WorkTable<R>,
        seq: u64,
        force: bool,
    ) -> Result<Option<Prepared>, CheckpointError> {
        let capture = storage::capture_changed_pages(table);
        let changed = capture.pages().to_vec();
        if !force && changed.is_empty() && seq == state.meta.checkpoint_seq {
            if self.secure_delete {
                self.zero_stale_frames(state)?;
            }
            return Ok(None);
        }
        match self.write_pages(state, &capture, &changed) {
            Ok(manifest) => Ok(Some(Prepared { manifest, changed })),
            Err(error) => {
                drop(capture);
                storage::mark_pages_changed(table, &changed);
                Err(error)
            }
        }
    }

    /// The metadata of the checkpoint `manifest` describes, the log being
    /// synced through `synced`.
    pub(crate) fn next_meta(
        &self,
        state: &State,
        manifest: &Manifest,
        synced: u64,
        key_state: Result<Vec<u8>, worktable_core::rkyv::rancor::Error>,
        schema: &worktable_core::schema::Schema,
    ) -> Result<Meta, CheckpointError> {
        Ok(Meta {
            archive_format: ArchiveFormat::current(),
            checkpoint_seq: manifest.checkpoint_seq,
            page_file_generation: manifest.generation,
            // The log was synced through every change the frames may hold,
            // `seq` among them, before this point: recovery refuses a log
            // that ends before it.
            log_synced_through: synced.max(state.meta.log_synced_through),
            largest_deleted_key: key_state.map_err(|source| CheckpointError::KeyState {
                path: self.dir.join(crate::meta::FILE_NAME),
                source,
            })?,
            schema: super::schema::stored(schema),
            ..state.meta.clone()
        })
    }

    /// Removes (with `secure_delete`, zeroes first) the log segments of
    /// `log_dir` whose records are all numbered up to `seq`, and cuts the
    /// page file after its last frame in use: once a checkpoint at `seq`
    /// is in effect.
    pub(crate) fn drop_log_through(&self, log_dir: &Path, seq: u64) -> Result<(), CheckpointError> {
        if self.secure_delete {
            zero_segments_through(&*self.vfs, log_dir, seq)?;
        }
        remove_segments_through(&*self.vfs, log_dir, seq);
        Ok(())
    }

    /// Step 3: numbers `manifest` (the generation after every one the
    /// metadata may name; the checkpoint `seq`) and writes it to its file,
    /// synced, directory synced.
    pub(crate) fn write_manifest(
        &self,
        state: &State,
        mut manifest: Manifest,
        seq: u64,
    ) -> Result<Manifest, CheckpointError> {
        manifest.generation = state
            .unsettled
            .iter()
            .map(|unsettled| unsettled.generation)
            .fold(state.meta.page_file_generation, u64::max)
            + 1;
        manifest.checkpoint_seq = seq;
        let path = self.dir.join(manifest_name(manifest.generation));
        let bytes = pages::encode_manifest(&manifest).map_err(|source| {
            CheckpointError::ManifestEncode {
                path: path.clone(),
                detail: format!("cannot be encoded: {source}"),
            }
        })?;
        write_new_file(&*self.vfs, &self.dir, &path, &bytes)?;
        Ok(manifest)
    }

    /// Makes the checkpoint of `meta` and `manifest`, now in the metadata
    /// file, the current one: the frames the earlier manifests used and
    /// the new one does not become stale, the earlier manifests' files
    /// are removed (best effort), the stale frames zeroed with
    /// `secure_delete`, and the page file cut after its last frame in use.
    pub(crate) fn settle(
        &self,
        state: &mut State,
        meta: Meta,
        manifest: Manifest,
    ) -> Result<(), CheckpointError> {
        self.settle_files(state, meta, manifest);
        let cleared = if self.secure_delete {
            self.zero_stale_frames(state)
        } else {
            Ok(())
        };
        cut_page_file(state);
        cleared
    }

    /// The first part of [`settle`](Self::settle).
    fn settle_files(&self, state: &mut State, meta: Meta, manifest: Manifest) {
        let released: Vec<u32> = std::iter::once(&state.manifest)
            .chain(&state.unsettled)
            .flat_map(|old| &old.pages)
            .map(|page| page.frame)
            .collect();
        let old_generations: Vec<u64> = std::iter::once(state.meta.page_file_generation)
            .chain(
                state
                    .unsettled
                    .drain(..)
                    .map(|unsettled| unsettled.generation),
            )
            .collect();
        state.meta = meta;
        state.manifest = manifest;
        let used: HashSet<u32> = state.manifest.pages.iter().map(|page| page.frame).collect();
        state.stale.extend(
            released
                .into_iter()
                .filter(|frame| !used.contains(frame) && *frame < state.file_frames),
        );
        for old in old_generations.into_iter().filter(|&old| old > 0) {
            let _ = self.vfs.remove_file(&self.dir.join(manifest_name(old)));
        }
    }
}

/// Overwrites with zeros, and syncs, the log segments whose records all have
/// sequence numbers up to `seq` (before they are removed).
fn zero_segments_through(vfs: &dyn Vfs, dir: &Path, seq: u64) -> Result<(), CheckpointError> {
    let names = vfs
        .list(dir)
        .map_err(|source| CheckpointError::io(dir, source))?;
    for name in names {
        if parse_segment_name(&name).is_none_or(|first| first > seq) {
            continue;
        }
        zero_file(vfs, &dir.join(&name))?;
    }
    Ok(())
}

/// Overwrites the file at `path` with zeros, whole, and syncs it.
pub(crate) fn zero_file(vfs: &dyn Vfs, path: &Path) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::io(path, source);
    let file = vfs.open(path, false).map_err(io)?;
    let len = file.len().map_err(io)?;
    let zeros = vec![0u8; 1 << 20];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(zeros.len() as u64);
        file.write_at(at, &zeros[..n as usize]).map_err(io)?;
        at += n;
    }
    file.sync_data().map_err(io)
}

/// The report of the checkpoint `manifest` describes.
fn report(manifest: &Manifest, pages_written: usize) -> CheckpointReport {
    CheckpointReport {
        seq: manifest.checkpoint_seq,
        pages_written,
        pages: manifest.pages.len(),
        rows: manifest.row_count(),
        frames: manifest.frame_count,
    }
}

/// Creates `path` holding `bytes`, synced, with the directory synced.
fn write_new_file(
    vfs: &dyn Vfs,
    dir: &Path,
    path: &Path,
    bytes: &[u8],
) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::io(path, source);
    let file = vfs.open(path, true).map_err(io)?;
    file.set_len(0).map_err(io)?;
    file.write_at(0, bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    vfs.sync_dir(dir).map_err(io)
}

/// Removes the log segments whose records all have sequence numbers up to
/// `seq` (best effort: the next open removes what is left).
pub(crate) fn remove_segments_through(vfs: &dyn Vfs, dir: &Path, seq: u64) {
    let Ok(names) = vfs.list(dir) else { return };
    for name in names {
        if parse_segment_name(&name).is_some_and(|first| first <= seq) {
            let _ = vfs.remove_file(&dir.join(name));
        }
    }
}
