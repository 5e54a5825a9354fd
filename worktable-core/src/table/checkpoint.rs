//! What `worktable-persist` needs to checkpoint a table: the pages whose
//! rows changed since the last checkpoint, and the bytes of the rows now in
//! them. Offered to it through [`crate::storage`], whose docs state what it
//! may rely on.
//!
//! # Why a capture sees a consistent set of pages
//!
//! A write marks the pages whose set of rows it changes inside its commit
//! step — the step that, when a commit hook is installed, numbers the
//! change, hands it to the hook and makes it visible, all under the commit
//! lock (see [`write`](super::write)): the pages of the version it
//! publishes and of the version it replaces or deletes. So a checkpoint
//! that notes the last sequence number `S` (through the commit hook, in
//! sequence order), then [waits for the commit lock](wait_for_commits)
//! — the hook is handed a change before the change is applied, so the one
//! numbered `S` may still be marking its pages — and only then
//! [captures](capture_changed_pages) finds every page changed
//! by a change up to `S` marked — and a change numbered
//! after `S` marks its pages again even if an earlier mark (staging marks
//! the new version's page too) was taken by this capture before the row
//! was visible. Vacuum moves rows without a change number; the capture
//! holds vacuum's relocation gate from taking the marks until it is
//! dropped, so no row moves between pages while their rows are read, and
//! every move before it marked both pages.
//!
//! What a capture reads of a row is its version at the time of reading,
//! which may be newer than `S`: replaying the log from `S + 1` on top of
//! the captured pages (puts as upserts, deletes as "delete if present")
//! reaches the same state whatever mix of older and newer versions was
//! captured, as long as replay rebuilds the secondary indexes only at the
//! end ([`TableRestore`](super::restore::TableRestore) does).

use std::sync::RwLockWriteGuard;

use crossbeam_epoch as epoch;

use super::WorkTable;
use crate::page::PageId;
use crate::row::Row;

/// The changed pages of a table, taken by [`capture_changed_pages`]. While
/// it lives, vacuum moves no row.
#[must_use = "a capture holds vacuum back until it is dropped"]
pub struct PageCapture<'t, R: Row> {
    table: &'t WorkTable<R>,
    pages: Vec<PageId>,
    _no_moves: RwLockWriteGuard<'t, ()>,
}

impl<R: Row> std::fmt::Debug for PageCapture<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCapture")
            .field("pages", &self.pages.len())
            .finish()
    }
}

impl<R: Row> PageCapture<'_, R> {
    /// The pages whose set of rows changed since the previous capture, in
    /// id order: pages that gained or lost a row, and pages given back
    /// (which now hold none).
    pub fn pages(&self) -> &[PageId] {
        &self.pages
    }

    /// Calls `row(page, offset, bytes)` for every row whose current version
    /// lives in one of `pages` (sorted; normally a part of
    /// [`pages`](Self::pages)), in no particular order. `bytes` is the
    /// archived row. Walks every row of the table once per call.
    pub fn rows_in(&self, pages: &[PageId], mut row: impl FnMut(PageId, u16, &[u8])) {
        let table = self.table;
        let guard = epoch::pin();
        table.primary.for_each_cell(|cell| {
            let version = table.store.version(cell, &guard);
            let (page, offset) = version.page_offset();
            if pages.binary_search(&page).is_ok() {
                row(page, offset, table.store.bytes(version));
            }
        });
    }
}

/// Takes the marks of the pages of `table` whose rows changed since the
/// last call and holds vacuum's moves back until the returned capture is
/// dropped. For `worktable-persist`'s checkpoints; see the module
/// documentation.
pub fn capture_changed_pages<R: Row>(table: &WorkTable<R>) -> PageCapture<'_, R> {
    let no_moves = table
        .relocations
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    PageCapture {
        table,
        pages: table.store.take_dirty_pages(),
        _no_moves: no_moves,
    }
}

/// Returns once every change of `table` that entered its commit step
/// before this call has left it: handed to the commit hook, applied, its
/// pages marked. For `worktable-persist`'s checkpoints (between noting the
/// last sequence number and capturing, see the module docs).
pub fn wait_for_commits<R: Row>(table: &WorkTable<R>) {
    table.events.barrier();
}

/// Marks `pages` of `table` as changed again: a checkpoint that took their
/// marks and then failed gives them back, so the next one rewrites them.
pub fn mark_pages_changed<R: Row>(table: &WorkTable<R>, pages: &[PageId]) {
    table.store.mark_pages_dirty(pages);
}
