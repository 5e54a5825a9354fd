//! Page memory: fixed-size, aligned blocks holding archived rows, and the
//! lock-free directory that maps a [`PageId`] to its block.
//!
//! # Who may touch which bytes
//!
//! Every thread that reads or writes a table shares its pages. A page is cut
//! into slots (see [`super::alloc`]); at any moment each slot is in exactly
//! one state, and the state says who may touch its bytes:
//!
//! * **free** — owned by the slot allocator; nobody reads or writes it.
//! * **staged** — handed by the allocator to one writer, which alone writes
//!   it (through [`PageDirectory::write`]) and may read it back once written
//!   (to copy it into a change event); nobody else touches it.
//! * **published** — its [`Link`] sits in a `RowCell`; anyone may read it,
//!   nobody writes it. Publication is a `Release` store of the link that
//!   readers `Acquire`, so a reader sees every byte the writer copied.
//! * **retired** — unlinked from its cell; still read-only, until the epoch
//!   collector has proven that no reader pinned before the unlink is still
//!   running. Only then does the slot go back to **free**.
//!
//! Slots never overlap, so a writer filling a staged slot and readers of
//! published slots in the same page touch disjoint bytes.
//!
//! A page's memory is deallocated either when the directory is dropped
//! (which needs `&mut`) or by [`PageDirectory::release`], which the
//! allocator calls only for a page that vacuum has evacuated and whose every
//! slot has come back free: no thread holds a link into it then, and no
//! thread can obtain one (see [`super::alloc`]). Its id may later be given
//! fresh memory by [`PageDirectory::install`].

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use super::link::{Link, PAGE_SIZE, PageId};

/// Alignment of page memory: a whole OS page, so that the persistence crate
/// can copy pages to and from a mapped file without re-aligning.
const PAGE_ALIGN: usize = 4096;

/// The first bucket holds `FIRST_BUCKET` pages, each next bucket twice as many.
const FIRST_BUCKET_SHIFT: u32 = 3;
const FIRST_BUCKET: u64 = 1 << FIRST_BUCKET_SHIFT;
/// Enough buckets to address every `PageId` below `u32::MAX`.
const BUCKETS: usize = 30;

/// The largest page id handed out: the number of pages taken is a `u32`.
const MAX_PAGE_ID: u32 = u32::MAX - 1;

fn page_layout() -> Layout {
    // PAGE_SIZE and PAGE_ALIGN are non-zero powers of two and PAGE_SIZE is a
    // multiple of PAGE_ALIGN, so this cannot fail.
    Layout::from_size_align(PAGE_SIZE, PAGE_ALIGN).expect("page layout is valid")
}

/// Position of a page id in the bucketed directory.
#[inline]
fn locate(id: PageId) -> (usize, usize) {
    let n = u64::from(id.get()) + FIRST_BUCKET;
    let msb = 63 - n.leading_zeros();
    let bucket = (msb - FIRST_BUCKET_SHIFT) as usize;
    let index = (n - (1u64 << msb)) as usize;
    (bucket, index)
}

fn bucket_len(bucket: usize) -> usize {
    (FIRST_BUCKET as usize) << bucket
}

/// One page id's entry in the directory: its memory, and whether the set of
/// rows it holds has changed since a checkpoint last asked.
struct PageSlot {
    /// The page's memory, or null while the id has none.
    memory: AtomicPtr<u8>,
    /// Set when a version in the page is published or unlinked, when a row
    /// is moved into or out of it and when the page is released; cleared by
    /// [`PageDirectory::take_dirty`].
    dirty: AtomicBool,
}

impl PageSlot {
    fn empty() -> Self {
        Self {
            memory: AtomicPtr::new(ptr::null_mut()),
            dirty: AtomicBool::new(false),
        }
    }
}

/// A growable set of pages addressed by [`PageId`].
///
/// Looking a page up is two `Acquire` loads and never blocks; taking a new
/// page is one `fetch_add` plus, once per bucket, one allocation raced with a
/// compare-exchange. Buckets double in size, so there are at most
/// [`BUCKETS`] of them and existing pages never move.
pub(crate) struct PageDirectory {
    /// `buckets[b]` points at the first of `bucket_len(b)` page slots, or
    /// is null until a page in that bucket is first taken.
    buckets: [AtomicPtr<PageSlot>; BUCKETS],
    /// Number of page ids handed out so far.
    next: AtomicU32,
}

impl std::fmt::Debug for PageDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageDirectory")
            .field("ids", &self.next.load(Ordering::Relaxed))
            .finish()
    }
}

impl PageDirectory {
    pub(crate) fn new() -> Self {
        Self {
            buckets: [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS],
            next: AtomicU32::new(0),
        }
    }

    /// Number of page ids taken so far.
    #[cfg(test)]
    fn ids_taken(&self) -> usize {
        self.next.load(Ordering::Acquire) as usize
    }

    /// Allocates a zeroed page and returns its id, or `None` when the table
    /// has used every page id.
    pub(crate) fn new_page(&self) -> Option<PageId> {
        let id = self
            .next
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n <= MAX_PAGE_ID).then_some(n + 1)
            })
            .ok()
            .map(PageId::new)?;
        self.install(id);
        Some(id)
    }

    /// Gives fresh zeroed memory to page `id`: a new id, or one taken
    /// earlier and released since. The caller (the allocator) hands out no
    /// slot of it before this returns.
    pub(crate) fn install(&self, id: PageId) {
        let layout = page_layout();
        // SAFETY: the layout has a non-zero size.
        let memory = unsafe { alloc_zeroed(layout) };
        if memory.is_null() {
            handle_alloc_error(layout);
        }
        let previous = self.slot(id).memory.swap(memory, Ordering::AcqRel);
        assert!(previous.is_null(), "page {id} was given memory twice");
    }

    /// Takes ids up to `count` (exclusive) without giving them memory, for
    /// a table being restored: the caller installs the pages it has and
    /// keeps the others for reuse.
    pub(crate) fn take_ids(&self, count: u32) {
        self.next.fetch_max(count, Ordering::AcqRel);
    }

    /// Notes that the set of rows in `page` changed.
    pub(crate) fn mark_dirty(&self, page: PageId) {
        self.slot(page).dirty.store(true, Ordering::Release);
    }

    /// The pages marked dirty since the last call, in id order, each
    /// cleared. A mark made before this call began is seen by it.
    pub(crate) fn take_dirty(&self) -> Vec<PageId> {
        let taken = self.next.load(Ordering::Acquire);
        (0..taken)
            .map(PageId::new)
            .filter(|&id| self.slot(id).dirty.swap(false, Ordering::AcqRel))
            .collect()
    }

    /// Deallocates the memory of page `id`.
    ///
    /// # Safety
    ///
    /// No slot of the page may be staged, published or retired, and the
    /// allocator must hand out none of its slots until [`install`] gives it
    /// memory again: then no thread reads or writes the page, nor can it
    /// obtain a link to do so.
    ///
    /// [`install`]: Self::install
    pub(crate) unsafe fn release(&self, id: PageId) {
        let slot = self.slot(id);
        let memory = slot.memory.swap(ptr::null_mut(), Ordering::AcqRel);
        assert!(!memory.is_null(), "page {id} released twice");
        slot.dirty.store(true, Ordering::Release);
        // SAFETY: page memory comes from `alloc_zeroed` with `page_layout()`
        // (in `new_page` or `install`); the swap above made this call its
        // only owner, and the caller guarantees nobody touches it any more.
        unsafe { dealloc(memory, page_layout()) };
    }

    /// The entry of page `id`, allocating its bucket if needed. Inlined
    /// (with [`read`](Self::read)): every row read goes through it.
    #[inline]
    fn slot(&self, id: PageId) -> &PageSlot {
        let (bucket, index) = locate(id);
        let mut first = self.buckets[bucket].load(Ordering::Acquire);
        if first.is_null() {
            first = self.new_bucket(bucket);
        }
        // SAFETY: `first` is non-null, points at `bucket_len(bucket)` elements
        // that live until the directory is dropped, and `index` is below that
        // length by construction of `locate`.
        unsafe { &*first.add(index) }
    }

    /// Allocates bucket `bucket`, or returns the one another thread
    /// installed first.
    #[cold]
    fn new_bucket(&self, bucket: usize) -> *mut PageSlot {
        let fresh: Box<[PageSlot]> = (0..bucket_len(bucket)).map(|_| PageSlot::empty()).collect();
        let fresh = Box::into_raw(fresh).cast::<PageSlot>();
        match self.buckets[bucket].compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` of a slice of
                // `bucket_len(bucket)` elements just above and was never
                // shared: the exchange failed.
                drop(unsafe {
                    Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, bucket_len(bucket)))
                });
                winner
            }
        }
    }

    /// Start of the memory of a page that has been taken.
    #[inline]
    fn page_ptr(&self, page: PageId) -> NonNull<u8> {
        let memory = self.slot(page).memory.load(Ordering::Acquire);
        NonNull::new(memory).expect("link points at a page that was never taken")
    }

    /// Copies `bytes` into the slot at `link`.
    ///
    /// # Safety
    ///
    /// `link` must address a staged slot of a page taken from this directory
    /// that the caller owns exclusively (no other thread reads or writes those
    /// bytes until the caller publishes the link), and `bytes.len()` must equal
    /// `link.len`.
    pub(crate) unsafe fn write(&self, link: Link, bytes: &[u8]) {
        debug_assert_eq!(bytes.len(), usize::from(link.len));
        debug_assert!(usize::from(link.offset) + bytes.len() <= PAGE_SIZE);
        let page = self.page_ptr(link.page);
        // SAFETY: offset + len is inside the page (the allocator only hands
        // out in-page slots), the slot does not overlap `bytes` (a heap buffer
        // of the caller), and the caller owns the slot exclusively.
        unsafe {
            ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                page.as_ptr().add(usize::from(link.offset)),
                bytes.len(),
            );
        }
    }

    /// Copies `body` (a whole page) over the memory of page `page`.
    ///
    /// # Safety
    ///
    /// The page must have memory, and no other thread may read or write it
    /// or hold a link into it: a table being restored, before it is shared.
    pub(crate) unsafe fn fill(&self, page: PageId, body: &[u8]) {
        assert_eq!(body.len(), PAGE_SIZE, "a page body is one page long");
        let memory = self.page_ptr(page);
        // SAFETY: the page's memory is `PAGE_SIZE` bytes, `body` is a
        // distinct allocation of that length, and the caller guarantees
        // nobody else touches the page.
        unsafe { ptr::copy_nonoverlapping(body.as_ptr(), memory.as_ptr(), PAGE_SIZE) };
    }

    /// The bytes of the slot at `link`.
    ///
    /// # Safety
    ///
    /// `link` must address a slot of a page taken from this directory whose
    /// bytes nobody writes while the returned slice is alive: a published or
    /// retired slot, read under an epoch guard pinned before the link was
    /// loaded from its cell, with the slice dropped before the guard.
    #[inline]
    pub(crate) unsafe fn read(&self, link: Link) -> &[u8] {
        debug_assert!(usize::from(link.offset) + usize::from(link.len) <= PAGE_SIZE);
        let page = self.page_ptr(link.page);
        // SAFETY: the range is inside the page, which lives as long as `self`;
        // the caller guarantees nobody writes it while the slice is alive.
        unsafe {
            std::slice::from_raw_parts(
                page.as_ptr().add(usize::from(link.offset)),
                usize::from(link.len),
            )
        }
    }
}

impl Drop for PageDirectory {
    fn drop(&mut self) {
        let layout = page_layout();
        for (bucket, cell) in self.buckets.iter_mut().enumerate() {
            let first = *cell.get_mut();
            if first.is_null() {
                continue;
            }
            // SAFETY: a non-null bucket pointer came from `Box::into_raw` of a
            // slice of `bucket_len(bucket)` elements in `slot`, and `&mut self`
            // proves nobody else uses it any more.
            let pages =
                unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(first, bucket_len(bucket))) };
            for page in pages.iter() {
                let memory = page.memory.load(Ordering::Relaxed);
                if !memory.is_null() {
                    // SAFETY: non-null page pointers come from `alloc_zeroed`
                    // with `page_layout()` in `new_page`, and each is freed
                    // once, here.
                    unsafe { dealloc(memory, layout) };
                }
            }
        }
    }
}

// SAFETY: the directory only holds pointers to memory it owns; every access
// to page bytes goes through `write`/`read`, whose contracts rule out data
// races (see the module docs), and the pointer cells are atomics.
unsafe impl Send for PageDirectory {}
// SAFETY: as for `Send`.
unsafe impl Sync for PageDirectory {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_covers_ids_without_gaps() {
        let mut expected = (0, 0);
        for id in 0..10_000u32 {
            assert_eq!(locate(PageId::new(id)), expected, "id {id}");
            expected.1 += 1;
            if expected.1 == bucket_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        assert!(locate(PageId::new(MAX_PAGE_ID)).0 < BUCKETS);
    }

    #[test]
    fn written_bytes_read_back() {
        let dir = PageDirectory::new();
        let ids: Vec<_> = (0..20).map(|_| dir.new_page().unwrap()).collect();
        assert_eq!(ids, (0..20).map(PageId::new).collect::<Vec<_>>());
        let link = Link {
            page: PageId::new(17),
            offset: 32,
            len: 5,
        };
        // SAFETY: the slot is in a taken page and used by this thread only.
        unsafe {
            dir.write(link, b"hello");
            assert_eq!(dir.read(link), b"hello");
        }
        assert_eq!(dir.ids_taken(), 20);
        // SAFETY: nothing of page 3 is in use.
        unsafe { dir.release(PageId::new(3)) };
        dir.install(PageId::new(3));
        let start = Link {
            page: PageId::new(3),
            offset: 0,
            len: 4,
        };
        // SAFETY: the reinstalled page is used by this thread only.
        let zeroed = unsafe { dir.read(start) };
        assert_eq!(zeroed, [0; 4]);
    }
}
