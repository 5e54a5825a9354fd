//! Writing the page file for a checkpoint: the frames a checkpoint may
//! use, the bodies of the changed pages copied into them, the page file
//! created and cut, and (with `secure_delete`) its stale frames zeroed.
//!
//! Shadow paging: a checkpoint never writes a frame that a manifest the
//! metadata file may name still uses, so the checkpoint in effect stays
//! whole until the metadata file moves to the new one.

use std::collections::{BTreeMap, HashMap, HashSet};

use worktable_core::Row;
use worktable_core::storage::{self, PageId};

use super::super::error::CheckpointError;
use super::{Checkpointer, PAGES_PER_PASS, State};
use crate::format::ArchiveFormat;
use crate::pages::{self, FRAME_LEN, Manifest, PAGE_FILE_NAME, PageEntry, RowSlot};

impl Checkpointer {
    /// Writes the rows of `changed` pages into free frames and syncs the
    /// page file; returns the new manifest (generation and sequence number
    /// not set yet).
    pub(super) fn write_pages<R: Row>(
        &self,
        state: &mut State,
        capture: &storage::PageCapture<'_, R>,
        changed: &[PageId],
    ) -> Result<Manifest, CheckpointError> {
        let path = self.dir.join(PAGE_FILE_NAME);
        let io = |source| CheckpointError::io(&path, source);
        self.create_page_file(state)?;
        // The unchanged pages keep their frames.
        let mut entries: BTreeMap<u32, PageEntry> = state
            .manifest
            .pages
            .iter()
            .filter(|page| changed.binary_search(&PageId::new(page.page_id)).is_err())
            .map(|page| (page.page_id, page.clone()))
            .collect();
        let mut frames = FreeFrames::new(state, entries.values());
        let file = state
            .page_file
            .as_ref()
            .expect("the page file was just opened");
        for pass in changed.chunks(PAGES_PER_PASS) {
            let mut bodies = copy_rows(capture, pass);
            for &page in pass {
                let Some((body, mut rows)) = bodies.remove(&page) else {
                    // No row lives there any more: the page leaves the
                    // checkpoint.
                    continue;
                };
                rows.sort_unstable_by_key(|row| row.offset);
                let frame = frames.take();
                file.write_at(pages::frame_offset(frame), &body)
                    .map_err(io)?;
                state.stale.remove(&frame);
                let body_crc = pages::frame_crc(&body);
                entries.insert(
                    page.get(),
                    PageEntry {
                        page_id: page.get(),
                        frame,
                        body_crc,
                        rows,
                    },
                );
            }
        }
        file.sync_data().map_err(io)?;
        let frame_count = entries
            .values()
            .map(|page| page.frame + 1)
            .max()
            .unwrap_or(0);
        state.file_frames = state.file_frames.max(frame_count);
        Ok(Manifest {
            schema_fingerprint: state.meta.schema_fingerprint,
            generation: 0,
            checkpoint_seq: 0,
            frame_count,
            pages: entries.into_values().collect(),
        })
    }

    /// Creates the page file, holding only its header (synced, directory
    /// synced), if the table has none yet.
    fn create_page_file(&self, state: &mut State) -> Result<(), CheckpointError> {
        if state.page_file.is_some() {
            return Ok(());
        }
        let path = self.dir.join(PAGE_FILE_NAME);
        let io = |source| CheckpointError::io(&path, source);
        let file = self.vfs.open(&path, true).map_err(io)?;
        file.set_len(0).map_err(io)?;
        let header = pages::encode_header(state.meta.schema_fingerprint, ArchiveFormat::current());
        file.write_at(0, &header).map_err(io)?;
        file.sync_all().map_err(io)?;
        self.vfs.sync_dir(&self.dir).map_err(io)?;
        state.page_file = Some(file);
        state.file_frames = 0;
        Ok(())
    }

    /// Overwrites every stale frame with zeros and syncs the page file.
    pub(super) fn zero_stale_frames(&self, state: &mut State) -> Result<(), CheckpointError> {
        let Some(file) = &state.page_file else {
            return Ok(());
        };
        if state.stale.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(PAGE_FILE_NAME);
        let io = |source| CheckpointError::io(&path, source);
        let zeros = vec![0u8; FRAME_LEN];
        for &frame in &state.stale {
            file.write_at(pages::frame_offset(frame), &zeros)
                .map_err(io)?;
        }
        file.sync_data().map_err(io)?;
        state.stale.clear();
        Ok(())
    }
}

/// The frames a checkpoint may write: those no manifest the metadata
/// file may name uses, and that no page of the new manifest took yet.
struct FreeFrames {
    /// Frames of the current manifest and of the unsettled ones.
    in_use: HashSet<u32>,
    /// Frames the new manifest uses so far.
    taken: HashSet<u32>,
    /// No frame below this one is free.
    next_candidate: u32,
}

impl FreeFrames {
    /// The free frames of `state`, for a new manifest whose pages are
    /// `kept` so far.
    fn new<'a>(state: &State, kept: impl Iterator<Item = &'a PageEntry>) -> Self {
        let in_use = state
            .manifest
            .pages
            .iter()
            .chain(
                state
                    .unsettled
                    .iter()
                    .flat_map(|unsettled| &unsettled.pages),
            )
            .map(|page| page.frame)
            .collect();
        Self {
            in_use,
            taken: kept.map(|page| page.frame).collect(),
            next_candidate: 0,
        }
    }

    /// The lowest free frame, taken for the new manifest.
    fn take(&mut self) -> u32 {
        while self.in_use.contains(&self.next_candidate)
            || self.taken.contains(&self.next_candidate)
        {
            self.next_candidate += 1;
        }
        self.taken.insert(self.next_candidate);
        self.next_candidate
    }
}

/// The frame bodies of the pages of `pass` that still hold rows: zeros but
/// for each live row copied at its offset, with the rows' slots.
fn copy_rows<R: Row>(
    capture: &storage::PageCapture<'_, R>,
    pass: &[PageId],
) -> HashMap<PageId, (Vec<u8>, Vec<RowSlot>)> {
    let mut frames: HashMap<PageId, (Vec<u8>, Vec<RowSlot>)> = HashMap::new();
    capture.rows_in(pass, |page, offset, bytes| {
        let (body, rows) = frames
            .entry(page)
            .or_insert_with(|| (vec![0; FRAME_LEN], Vec::new()));
        let start = usize::from(offset);
        body[start..start + bytes.len()].copy_from_slice(bytes);
        rows.push(RowSlot {
            offset,
            len: bytes.len() as u16,
        });
    });
    frames
}

/// Cuts the page file after the last frame the current manifest uses
/// (best effort: a file that cannot be cut keeps its stale frames).
pub(super) fn cut_page_file(state: &mut State) {
    if let Some(file) = &state.page_file
        && state.file_frames > state.manifest.frame_count
        && file
            .set_len(pages::frame_offset(state.manifest.frame_count))
            .is_ok()
    {
        state.file_frames = state.manifest.frame_count;
        let end = state.file_frames;
        state.stale.retain(|&frame| frame < end);
    }
}
