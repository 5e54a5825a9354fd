//! Slot allocation inside pages: a bump pointer into the newest page and
//! best-fit free lists of slots returned by deletes and updates.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::link::{Link, PAGE_SIZE, PageId, SLOT_ALIGN, slot_size};
use super::memory::PageDirectory;

/// A free region of a page: `size` bytes at `offset`.
#[derive(Clone, Copy, Debug)]
struct FreeSlot {
    page: PageId,
    offset: u16,
}

/// The allocator's state. Guarded by the mutex in [`SlotPool`]; every method
/// runs in a few hundred nanoseconds at most (a page allocation), which is
/// the only table-wide serialization on the write path.
#[derive(Debug, Default)]
struct Slots {
    /// The page the bump pointer allocates from, and its first unused byte.
    current: Option<(PageId, usize)>,
    /// Free slots by size in bytes (a multiple of [`SLOT_ALIGN`]).
    free: BTreeMap<usize, Vec<FreeSlot>>,
    /// Sum of the sizes in `free`.
    free_bytes: usize,
}

impl Slots {
    fn push_free(&mut self, page: PageId, offset: usize, size: usize) {
        debug_assert!(size > 0 && size.is_multiple_of(SLOT_ALIGN) && offset + size <= PAGE_SIZE);
        self.free.entry(size).or_default().push(FreeSlot {
            page,
            offset: offset as u16,
        });
        self.free_bytes += size;
    }

    /// Best fit: the smallest free slot of at least `size` bytes, split if
    /// larger.
    fn take_free(&mut self, size: usize) -> Option<(PageId, usize)> {
        let (&found, slots) = self.free.range_mut(size..).next()?;
        let slot = slots.pop().expect("free lists are never left empty");
        if slots.is_empty() {
            self.free.remove(&found);
        }
        self.free_bytes -= found;
        if found > size {
            self.push_free(slot.page, usize::from(slot.offset) + size, found - size);
        }
        Some((slot.page, usize::from(slot.offset)))
    }

    fn take_bump(&mut self, size: usize, pages: &PageDirectory) -> Option<(PageId, usize)> {
        if let Some((page, used)) = self.current
            && used + size <= PAGE_SIZE
        {
            self.current = Some((page, used + size));
            return Some((page, used));
        }
        let page = pages.new_page()?;
        if let Some((old, used)) = self.current.replace((page, size))
            && used < PAGE_SIZE
        {
            self.push_free(old, used, PAGE_SIZE - used);
        }
        Some((page, 0))
    }
}

/// Hands out slots for new row versions and takes back slots whose versions
/// no reader can see any more.
#[derive(Debug, Default)]
pub(crate) struct SlotPool {
    slots: Mutex<Slots>,
    /// Slots retired but not yet returned (waiting for the epoch collector).
    retired: AtomicUsize,
}

impl SlotPool {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // The critical sections never panic halfway through an update of
        // `Slots` except on allocation failure, which aborts; a poisoned lock
        // therefore still guards consistent state.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for `len` bytes from the free lists, if one fits.
    pub(crate) fn reuse(&self, len: usize) -> Option<Link> {
        let (page, offset) = self.slots().take_free(slot_size(len))?;
        Some(link(page, offset, len))
    }

    /// A slot for `len` bytes from the free lists or, failing that, fresh
    /// page space. `None` when the table has used every page id.
    pub(crate) fn allocate(&self, len: usize, pages: &PageDirectory) -> Option<Link> {
        let size = slot_size(len);
        let mut slots = self.slots();
        let (page, offset) = match slots.take_free(size) {
            Some(found) => found,
            None => slots.take_bump(size, pages)?,
        };
        Some(link(page, offset, len))
    }

    /// Returns a slot to the free lists. The slot must be free or staged:
    /// nobody may read it any more.
    pub(crate) fn free(&self, link: Link) {
        self.slots()
            .push_free(link.page, usize::from(link.offset), link.slot_size());
    }

    /// Notes that a slot has been handed to the epoch collector.
    pub(crate) fn note_retired(&self) {
        self.retired.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns slots retired earlier, now that no reader can see them.
    pub(crate) fn free_retired(&self, links: &[Link]) {
        let mut slots = self.slots();
        for link in links {
            slots.push_free(link.page, usize::from(link.offset), link.slot_size());
        }
        drop(slots);
        self.retired.fetch_sub(links.len(), Ordering::Relaxed);
    }

    /// Number of slots retired and not yet returned.
    pub(crate) fn retired(&self) -> usize {
        self.retired.load(Ordering::Relaxed)
    }

    /// Bytes in free slots, including unused tails of earlier pages.
    pub(crate) fn free_bytes(&self) -> usize {
        self.slots().free_bytes
    }
}

fn link(page: PageId, offset: usize, len: usize) -> Link {
    Link {
        page,
        offset: offset as u16,
        len: len as u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slot_is_reused_before_new_space() {
        let pages = PageDirectory::new();
        let pool = SlotPool::default();
        let a = pool.allocate(100, &pages).unwrap();
        let b = pool.allocate(100, &pages).unwrap();
        assert_eq!((a.page, a.offset, b.offset), (0, 0, 112));
        pool.free(a);
        let c = pool.allocate(90, &pages).unwrap();
        assert_eq!((c.page, c.offset, c.len), (0, 0, 90));
        assert_eq!(pages.page_count(), 1);
    }

    #[test]
    fn larger_free_slot_is_split() {
        let pages = PageDirectory::new();
        let pool = SlotPool::default();
        let big = pool.allocate(1000, &pages).unwrap();
        pool.free(big);
        let small = pool.allocate(10, &pages).unwrap();
        assert_eq!(small.offset, 0);
        assert_eq!(pool.free_bytes(), slot_size(1000) - 16);
        let next = pool.reuse(10).unwrap();
        assert_eq!(next.offset, 16);
    }

    #[test]
    fn page_tail_goes_to_free_list_when_a_new_page_is_taken() {
        let pages = PageDirectory::new();
        let pool = SlotPool::default();
        pool.allocate(PAGE_SIZE - 64, &pages).unwrap();
        let second = pool.allocate(100, &pages).unwrap();
        assert_eq!(second.page, 1);
        assert_eq!(pool.free_bytes(), 64);
        assert_eq!(pool.reuse(50).unwrap().page, 0);
    }
}
