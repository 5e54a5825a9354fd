//! Slot allocation inside pages: best-fit free extents that merge with their
//! free neighbours, per-page accounting, and the evacuation of sparse pages
//! for vacuum.
//!
//! # Page states
//!
//! * **active** — slots are handed out from its free extents.
//! * **evacuating** — chosen by vacuum: its free extents are withdrawn, so no
//!   new version lands in it, and the versions still in it are being moved
//!   out. When its last slot comes back, its memory is released.
//! * **absent** — no memory; its id is reused by the next new page.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::link::{Link, PAGE_SIZE, PageId, SLOT_ALIGN, slot_size};
use super::memory::PageDirectory;
use crate::stripe::Striped;

/// Where a free extent starts: page in the high bits, offset in the low 16,
/// so that the extents of one page sort together, by offset.
fn place(page: PageId, offset: usize) -> u64 {
    (u64::from(page.get()) << 16) | offset as u64
}

/// A free extent keyed for best fit: size (in [`SLOT_ALIGN`] units, at most
/// 4,096, so 13 bits) above its place (48 bits).
fn size_key(size: usize, place: u64) -> u64 {
    ((size / SLOT_ALIGN) as u64) << 48 | place
}

/// The place bits of a [`size_key`].
const PLACE_MASK: u64 = (1 << 48) - 1;

/// Slot sizes up to this many [`SLOT_ALIGN`] units (1 KiB) come back to
/// quick lists, one per size, without merging: the next version of that size
/// takes one back at the cost of a `Vec` pop. The lists are merged into the
/// extents when an allocation finds no extent that fits, and before pages
/// are evacuated.
const QUICK_CLASSES: usize = 64;

fn unplace(place: u64) -> (PageId, usize) {
    (PageId::new((place >> 16) as u32), (place & 0xffff) as usize)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PageState {
    #[default]
    Absent,
    Active,
    Evacuating,
}

#[derive(Clone, Copy, Debug, Default)]
struct PageMeta {
    state: PageState,
    /// Bytes of slots handed out and not returned: staged, published and
    /// retired versions.
    allocated: usize,
}

/// The allocator's state. Guarded by the mutex in [`SlotPool`]; every method
/// runs a handful of B-tree operations (or one page allocation), which is the
/// only table-wide serialization on the write path.
#[derive(Debug, Default)]
struct Slots {
    /// Free extents by place, with their size in bytes. Extents are maximal:
    /// two free extents are never adjacent.
    by_place: BTreeMap<u64, usize>,
    /// The same extents by size, then place: best fit is the first key at or
    /// above the wanted size.
    by_size: BTreeSet<u64>,
    /// Sum of the sizes in `by_place`.
    free_bytes: usize,
    /// Freed slots of up to [`QUICK_CLASSES`] units, by size (`quick[u - 1]`
    /// holds slots of `u` units), not yet merged into the extents. Empty
    /// until the first such slot comes back.
    quick: Vec<Vec<u64>>,
    /// Sum of the sizes in `quick`.
    quick_bytes: usize,
    /// Every page id handed out so far, by id.
    pages: Vec<PageMeta>,
    /// Ids of absent pages, for reuse.
    unused_ids: Vec<PageId>,
    /// Pages holding memory (active or evacuating).
    live_pages: usize,
}

impl Slots {
    fn add_extent(&mut self, place: u64, size: usize) {
        self.by_place.insert(place, size);
        self.by_size.insert(size_key(size, place));
        self.free_bytes += size;
    }

    fn remove_extent(&mut self, place: u64, size: usize) {
        self.by_place.remove(&place);
        self.by_size.remove(&size_key(size, place));
        self.free_bytes -= size;
    }

    /// Returns `size` bytes at `offset` of an active page to the free
    /// extents, merged with free neighbours.
    fn free_extent(&mut self, page: PageId, mut offset: usize, mut size: usize) {
        debug_assert!(size > 0 && size.is_multiple_of(SLOT_ALIGN) && offset + size <= PAGE_SIZE);
        let end = offset + size;
        if end < PAGE_SIZE
            && let Some(&next) = self.by_place.get(&place(page, end))
        {
            self.remove_extent(place(page, end), next);
            size += next;
        }
        if let Some((&before, &before_size)) =
            self.by_place.range(..place(page, offset)).next_back()
            && unplace(before).0 == page
            && unplace(before).1 + before_size == offset
        {
            self.remove_extent(before, before_size);
            offset -= before_size;
            size += before_size;
        }
        self.add_extent(place(page, offset), size);
    }

    /// A free slot of `size` bytes: a freed slot of exactly that size from
    /// the quick lists, else the best-fitting extent, else — after merging
    /// the quick lists into the extents — the best-fitting extent then.
    fn take_free(&mut self, size: usize) -> Option<(PageId, usize)> {
        let units = size / SLOT_ALIGN;
        if let Some(at) = self.quick.get_mut(units - 1).and_then(Vec::pop) {
            self.quick_bytes -= size;
            let (page, offset) = unplace(at);
            self.pages[page.index()].allocated += size;
            return Some((page, offset));
        }
        if let Some(found) = self.take_extent(size) {
            return Some(found);
        }
        if self.quick_bytes == 0 {
            return None;
        }
        self.merge_quick();
        self.take_extent(size)
    }

    /// Best fit: the smallest free extent of at least `size` bytes (the
    /// lowest page and offset among equals), cut from its end so that the
    /// rest keeps its place.
    fn take_extent(&mut self, size: usize) -> Option<(PageId, usize)> {
        let key = *self.by_size.range(size_key(size, 0)..).next()?;
        let at = key & PLACE_MASK;
        let found = (key >> 48) as usize * SLOT_ALIGN;
        self.by_size.remove(&key);
        if found == size {
            self.by_place.remove(&at);
        } else {
            // The rest keeps its neighbours: the extent was maximal.
            *self
                .by_place
                .get_mut(&at)
                .expect("both maps hold every extent") = found - size;
            self.by_size.insert(size_key(found - size, at));
        }
        self.free_bytes -= size;
        let (page, offset) = unplace(at);
        self.pages[page.index()].allocated += size;
        Some((page, offset + found - size))
    }

    /// Merges every slot of the quick lists into the extents.
    fn merge_quick(&mut self) {
        let mut quick = std::mem::take(&mut self.quick);
        for (class, list) in quick.iter_mut().enumerate() {
            for at in list.drain(..) {
                let (page, offset) = unplace(at);
                self.free_extent(page, offset, (class + 1) * SLOT_ALIGN);
            }
        }
        self.quick = quick;
        self.quick_bytes = 0;
    }

    /// A new page (a reused id if there is one), all of it free.
    fn add_page(&mut self, directory: &PageDirectory) -> Option<PageId> {
        let page = match self.unused_ids.pop() {
            Some(page) => {
                directory.install(page);
                page
            }
            None => {
                let page = directory.new_page()?;
                debug_assert_eq!(page.index(), self.pages.len());
                self.pages.push(PageMeta::default());
                page
            }
        };
        self.pages[page.index()] = PageMeta {
            state: PageState::Active,
            allocated: 0,
        };
        self.live_pages += 1;
        self.add_extent(place(page, 0), PAGE_SIZE);
        Some(page)
    }

    /// Takes a returned slot back.
    fn give_back(&mut self, link: Link, directory: &PageDirectory) {
        let size = link.slot_size();
        let meta = &mut self.pages[link.page.index()];
        meta.allocated -= size;
        match meta.state {
            PageState::Active if size <= QUICK_CLASSES * SLOT_ALIGN => {
                if self.quick.is_empty() {
                    self.quick.resize_with(QUICK_CLASSES, Vec::new);
                }
                self.quick[size / SLOT_ALIGN - 1].push(place(link.page, usize::from(link.offset)));
                self.quick_bytes += size;
            }
            PageState::Active => self.free_extent(link.page, usize::from(link.offset), size),
            PageState::Evacuating if meta.allocated == 0 => self.release(link.page, directory),
            PageState::Evacuating => {}
            PageState::Absent => unreachable!("a slot came back to a page without memory"),
        }
    }

    /// Releases the memory of an evacuating page whose every slot came back.
    fn release(&mut self, page: PageId, directory: &PageDirectory) {
        let meta = &mut self.pages[page.index()];
        debug_assert!(meta.state == PageState::Evacuating && meta.allocated == 0);
        meta.state = PageState::Absent;
        // SAFETY: the page is evacuating with no slot handed out: none of its
        // slots is staged, published or retired, and none is free in the
        // extents (withdrawn when evacuation began), so no thread holds or can
        // obtain a link into it.
        unsafe { directory.release(page) };
        self.unused_ids.push(page);
        self.live_pages -= 1;
    }

    /// Withdraws the free extents of `page` and marks it evacuating.
    fn evacuate(&mut self, page: PageId, directory: &PageDirectory) {
        self.merge_quick();
        let extents: Vec<(u64, usize)> = self
            .by_place
            .range(place(page, 0)..=place(page, PAGE_SIZE - SLOT_ALIGN))
            .map(|(&at, &size)| (at, size))
            .collect();
        for (at, size) in extents {
            self.remove_extent(at, size);
        }
        let meta = &mut self.pages[page.index()];
        meta.state = PageState::Evacuating;
        if meta.allocated == 0 {
            self.release(page, directory);
        }
    }
}

/// What the allocator holds, for statistics.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PoolFigures {
    /// Pages holding memory.
    pub(crate) pages: usize,
    /// Bytes of pages not handed out as slots: free extents, plus the unused
    /// space of evacuating pages.
    pub(crate) free_bytes: usize,
    /// Bytes of retired slots not yet returned.
    pub(crate) retired_bytes: usize,
    /// Retired slots not yet returned.
    pub(crate) retired_slots: usize,
    /// Pages being evacuated.
    pub(crate) evacuating_pages: usize,
}

/// Hands out slots for new row versions, takes back slots whose versions no
/// reader can see any more, and owns the pages they live in.
#[derive(Debug)]
pub(crate) struct SlotPool {
    pages: PageDirectory,
    slots: Mutex<Slots>,
    /// Slots retired but not yet returned (waiting for the epoch collector),
    /// counted per thread stripe: a stripe's counts may wrap below zero
    /// (one thread retires, another returns), their sums do not.
    retired: Striped<RetiredCount>,
}

/// Retired slots not yet returned, and their bytes: one stripe's share.
#[derive(Debug, Default)]
struct RetiredCount {
    slots: AtomicUsize,
    bytes: AtomicUsize,
}

impl Default for SlotPool {
    fn default() -> Self {
        Self {
            pages: PageDirectory::new(),
            slots: Mutex::default(),
            retired: Striped::default(),
        }
    }
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

    /// The pages slots are cut from.
    pub(crate) fn pages(&self) -> &PageDirectory {
        &self.pages
    }

    /// A slot for `len` bytes from the free extents, if one fits.
    pub(crate) fn reuse(&self, len: usize) -> Option<Link> {
        let (page, offset) = self.slots().take_free(slot_size(len))?;
        Some(link(page, offset, len))
    }

    /// A slot for `len` bytes from the free extents or, failing that, a new
    /// page. `None` when the table has used every page id.
    pub(crate) fn allocate(&self, len: usize) -> Option<Link> {
        let size = slot_size(len);
        let mut slots = self.slots();
        let (page, offset) = match slots.take_free(size) {
            Some(found) => found,
            None => {
                slots.add_page(&self.pages)?;
                slots.take_free(size).expect("a slot fits in an empty page")
            }
        };
        Some(link(page, offset, len))
    }

    /// Gives page `page` memory holding `body` (a whole page) with `rows`
    /// (sorted by offset, not overlapping, inside the page) handed out and
    /// the space between them free: a table being restored from a
    /// checkpoint, before it is shared. Pages come in increasing id order;
    /// ids skipped are absent and reused later.
    ///
    /// # Panics
    ///
    /// If `page` is not above every page restored so far, or `rows` break
    /// the rules above (the caller checked them).
    pub(crate) fn restore_page(&self, page: PageId, body: &[u8], rows: &[Link]) {
        let mut slots = self.slots();
        assert!(
            page.index() >= slots.pages.len(),
            "pages are restored in increasing id order"
        );
        while slots.pages.len() < page.index() {
            let absent = PageId::from_index(slots.pages.len());
            slots.pages.push(PageMeta::default());
            slots.unused_ids.push(absent);
        }
        slots.pages.push(PageMeta {
            state: PageState::Active,
            allocated: rows.iter().map(|row| row.slot_size()).sum(),
        });
        slots.live_pages += 1;
        self.pages.take_ids(page.get() + 1);
        self.pages.install(page);
        // SAFETY: the page was given memory just now and the table being
        // restored is not shared yet, so nobody else can touch it.
        unsafe { self.pages.fill(page, body) };
        let mut free_from = 0;
        for row in rows {
            let offset = usize::from(row.offset);
            assert!(
                row.page == page && offset >= free_from,
                "restored rows are sorted and apart"
            );
            if offset > free_from {
                slots.add_extent(place(page, free_from), offset - free_from);
            }
            free_from = offset + row.slot_size();
        }
        assert!(free_from <= PAGE_SIZE, "restored rows fit in their page");
        if free_from < PAGE_SIZE {
            slots.add_extent(place(page, free_from), PAGE_SIZE - free_from);
        }
    }

    /// Returns a slot. The slot must be staged and never published: nobody
    /// may read it any more.
    pub(crate) fn free(&self, link: Link) {
        self.slots().give_back(link, &self.pages);
    }

    /// Notes that a slot has been handed to the epoch collector.
    pub(crate) fn note_retired(&self, link: Link) {
        let count = self.retired.local();
        count.slots.fetch_add(1, Ordering::Relaxed);
        count.bytes.fetch_add(link.slot_size(), Ordering::Relaxed);
    }

    /// Returns slots retired earlier, now that no reader can see them.
    pub(crate) fn free_retired(&self, links: &[Link]) {
        let mut slots = self.slots();
        let mut bytes = 0;
        for &link in links {
            bytes += link.slot_size();
            slots.give_back(link, &self.pages);
        }
        drop(slots);
        let count = self.retired.local();
        count.slots.fetch_sub(links.len(), Ordering::Relaxed);
        count.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Number of slots retired and not yet returned.
    pub(crate) fn retired(&self) -> usize {
        self.retired_sum(|count| &count.slots)
    }

    /// The sum over the stripes of one retired count. Each stripe is read
    /// on its own, so the sum may be off by writes running meanwhile; it is
    /// clamped at zero for a return counted before its retirement.
    fn retired_sum(&self, field: impl Fn(&RetiredCount) -> &AtomicUsize) -> usize {
        let sum = self.retired.iter().fold(0usize, |sum, count| {
            sum.wrapping_add(field(count).load(Ordering::Relaxed))
        });
        if sum > isize::MAX as usize { 0 } else { sum }
    }

    /// Chooses pages for vacuum to empty: every page already evacuating, and
    /// up to `max_new` more active pages at most `max_fill` full (a fraction
    /// of [`PAGE_SIZE`]), emptiest first — only as many as free a page
    /// overall once their rows have moved. Returns the evacuating pages,
    /// sorted.
    pub(crate) fn begin_evacuation(&self, max_fill: f64, max_new: usize) -> Vec<PageId> {
        let mut slots = self.slots();
        let limit = (max_fill.clamp(0.0, 1.0) * PAGE_SIZE as f64) as usize;
        // Free space is judged from the extents alone.
        slots.merge_quick();
        let mut candidates: Vec<(usize, PageId)> = slots
            .pages
            .iter()
            .enumerate()
            .filter(|(_, meta)| meta.state == PageState::Active && meta.allocated <= limit)
            .map(|(page, meta)| (meta.allocated, PageId::from_index(page)))
            .collect();
        candidates.sort_unstable();
        candidates.truncate(max_new);
        // Moving `moved` bytes out of `k` pages frees pages only if the rows
        // fit in fewer pages than they leave, counting the free space of the
        // pages that stay.
        while !candidates.is_empty() {
            let moved: usize = candidates.iter().map(|&(allocated, _)| allocated).sum();
            let leaving: usize = candidates
                .iter()
                .map(|&(allocated, _)| PAGE_SIZE - allocated)
                .sum();
            let room_elsewhere = slots.free_bytes.saturating_sub(leaving);
            let new_pages = moved.saturating_sub(room_elsewhere).div_ceil(PAGE_SIZE);
            if new_pages < candidates.len() {
                break;
            }
            candidates.pop();
        }
        for &(_, page) in &candidates {
            slots.evacuate(page, &self.pages);
        }
        slots
            .pages
            .iter()
            .enumerate()
            .filter(|(_, meta)| meta.state == PageState::Evacuating)
            .map(|(page, _)| PageId::from_index(page))
            .collect()
    }

    /// Current figures, read under the allocator's lock (retired counts are
    /// read just after it).
    pub(crate) fn figures(&self) -> PoolFigures {
        let slots = self.slots();
        let (evacuating_pages, evacuating_unused) = slots
            .pages
            .iter()
            .filter(|meta| meta.state == PageState::Evacuating)
            .fold((0, 0), |(n, unused), meta| {
                (n + 1, unused + PAGE_SIZE - meta.allocated)
            });
        let figures = PoolFigures {
            pages: slots.live_pages,
            free_bytes: slots.free_bytes + slots.quick_bytes + evacuating_unused,
            retired_bytes: 0,
            retired_slots: 0,
            evacuating_pages,
        };
        drop(slots);
        PoolFigures {
            retired_bytes: self.retired_sum(|count| &count.bytes),
            retired_slots: self.retired(),
            ..figures
        }
    }

    /// Pages holding memory.
    pub(crate) fn page_count(&self) -> usize {
        self.slots().live_pages
    }

    /// Free bytes in extents and quick lists (excluding evacuating pages).
    #[cfg(test)]
    fn free_bytes(&self) -> usize {
        let slots = self.slots();
        slots.free_bytes + slots.quick_bytes
    }
}

/// Per page id: `None` for an absent page, else whether it is evacuating
/// and which of its 16-byte units are free.
#[cfg(test)]
pub(super) type PageAudit = Vec<Option<(bool, Vec<bool>)>>;

#[cfg(test)]
impl SlotPool {
    /// Marks every 16-byte unit of each page as free (extent or quick list)
    /// and checks the allocator's own bookkeeping; returns, per page id,
    /// `None` for an absent page or the page's state (evacuating or not) and
    /// which units are free.
    pub(super) fn audit(&self) -> Result<PageAudit, String> {
        const UNITS: usize = PAGE_SIZE / SLOT_ALIGN;
        let slots = self.slots();
        let mut map: PageAudit = slots
            .pages
            .iter()
            .map(|meta| match meta.state {
                PageState::Absent => None,
                state => Some((state == PageState::Evacuating, vec![false; UNITS])),
            })
            .collect();
        let mut mark = |page: PageId, offset: usize, size: usize, what: &str| {
            let Some(Some((evacuating, units))) = map.get_mut(page.index()) else {
                return Err(format!("{what} in absent page {page}"));
            };
            if *evacuating {
                return Err(format!("{what} in evacuating page {page}"));
            }
            if !offset.is_multiple_of(SLOT_ALIGN) || size == 0 || offset + size > PAGE_SIZE {
                return Err(format!("{what} {page}:{offset}+{size} is malformed"));
            }
            for unit in &mut units[offset / SLOT_ALIGN..(offset + size) / SLOT_ALIGN] {
                if *unit {
                    return Err(format!("{what} {page}:{offset}+{size} overlaps free space"));
                }
                *unit = true;
            }
            Ok(())
        };
        let mut extent_bytes = 0;
        let mut previous: Option<(PageId, usize)> = None;
        for (&at, &size) in &slots.by_place {
            let (page, offset) = unplace(at);
            if !slots.by_size.contains(&size_key(size, at)) {
                return Err(format!("extent {page}:{offset} missing by size"));
            }
            if previous == Some((page, offset)) {
                return Err(format!("extents {page}:{offset} not merged"));
            }
            mark(page, offset, size, "extent")?;
            previous = Some((page, offset + size));
            extent_bytes += size;
        }
        if slots.by_size.len() != slots.by_place.len() || extent_bytes != slots.free_bytes {
            return Err("extent maps or byte count disagree".into());
        }
        let mut quick_bytes = 0;
        for (class, list) in slots.quick.iter().enumerate() {
            for &at in list {
                let (page, offset) = unplace(at);
                mark(page, offset, (class + 1) * SLOT_ALIGN, "quick slot")?;
                quick_bytes += (class + 1) * SLOT_ALIGN;
            }
        }
        if quick_bytes != slots.quick_bytes {
            return Err("quick byte count disagrees".into());
        }
        for (page, meta) in slots.pages.iter().enumerate() {
            if let Some((false, units)) = &map[page] {
                let free = units.iter().filter(|&&unit| unit).count() * SLOT_ALIGN;
                if free + meta.allocated != PAGE_SIZE {
                    return Err(format!(
                        "page {page}: {free} free + {} allocated bytes",
                        meta.allocated
                    ));
                }
            }
        }
        if map.iter().filter(|page| page.is_some()).count() != slots.live_pages {
            return Err("live page count disagrees".into());
        }
        Ok(map)
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
    use crate::page::MAX_ROW_BYTES;

    #[test]
    fn a_freed_slot_goes_to_the_next_row_of_its_size() {
        let pool = SlotPool::default();
        let a = pool.allocate(100).unwrap();
        let _b = pool.allocate(100).unwrap();
        pool.free(a);
        let c = pool.allocate(97).unwrap();
        assert_eq!((c.page, c.offset, c.len), (a.page, a.offset, 97));
        assert_eq!(pool.page_count(), 1);
    }

    #[test]
    fn the_smallest_fitting_extent_is_cut_from_its_end() {
        let pool = SlotPool::default();
        let big = pool.allocate(2000).unwrap();
        let _fence = pool.allocate(16).unwrap();
        pool.free(big);
        assert_eq!(pool.free_bytes(), PAGE_SIZE - 16);
        let small = pool.allocate(10).unwrap();
        assert_eq!(
            (small.page, usize::from(small.offset)),
            (big.page, usize::from(big.offset) + 2000 - 16)
        );
        assert_eq!(pool.free_bytes(), PAGE_SIZE - 32);
    }

    #[test]
    fn neighbouring_free_extents_merge() {
        let pool = SlotPool::default();
        let slots: Vec<_> = (0..4).map(|_| pool.allocate(2000).unwrap()).collect();
        let _fence = pool.allocate(16).unwrap();
        // Free three neighbours, the middle one last: one extent, which a
        // row of their joint size fits exactly.
        pool.free(slots[0]);
        pool.free(slots[2]);
        pool.free(slots[1]);
        let joint = pool.reuse(6000).unwrap();
        assert_eq!((joint.page.get(), joint.offset), (0, slots[2].offset));
    }

    #[test]
    fn quick_slots_merge_when_a_larger_row_finds_no_room() {
        let pool = SlotPool::default();
        let slots: Vec<_> = (0..64).map(|_| pool.allocate(1024).unwrap()).collect();
        assert_eq!(pool.page_count(), 1);
        for slot in &slots[10..14] {
            pool.free(*slot);
        }
        let large = pool.allocate(4096).unwrap();
        assert_eq!((large.page.get(), large.offset), (0, slots[13].offset));
        assert_eq!((pool.page_count(), pool.free_bytes()), (1, 0));
    }

    #[test]
    fn full_page_sends_the_next_slot_to_a_new_page() {
        let pool = SlotPool::default();
        pool.allocate(PAGE_SIZE - 64).unwrap();
        let second = pool.allocate(100).unwrap();
        assert_eq!(second.page.get(), 1);
        assert_eq!(pool.reuse(50).unwrap().page.get(), 0);
    }

    #[test]
    fn an_evacuated_page_is_released_when_its_last_slot_returns_and_its_id_reused() {
        let pool = SlotPool::default();
        let full = pool.allocate(MAX_ROW_BYTES).unwrap();
        let emptied = pool.allocate(MAX_ROW_BYTES).unwrap();
        let sparse = pool.allocate(100).unwrap();
        assert_eq!(
            (full.page.get(), emptied.page.get(), sparse.page.get()),
            (0, 1, 2)
        );
        pool.free(emptied);
        // Page 1 holds nothing and goes at once; page 2 waits for its slot.
        assert_eq!(pool.begin_evacuation(0.5, 8), vec![PageId::new(2)]);
        assert_eq!(pool.page_count(), 2);
        // Nothing lands in an evacuating page.
        assert_eq!(pool.reuse(16), None);
        pool.free(sparse);
        let figures = pool.figures();
        assert_eq!((figures.pages, figures.evacuating_pages), (1, 0));
        assert_eq!(figures.free_bytes, 0);
        let again = pool.allocate(100).unwrap();
        assert_eq!(again.page.get(), 2);
        assert_eq!(pool.page_count(), 2);
    }

    #[test]
    fn evacuation_is_skipped_when_it_frees_nothing() {
        let pool = SlotPool::default();
        // One page, 60% full: its rows would need a new page of their own.
        pool.allocate(PAGE_SIZE * 6 / 10).unwrap();
        assert!(pool.begin_evacuation(0.9, 8).is_empty());
        assert_eq!(pool.page_count(), 1);
    }
}
