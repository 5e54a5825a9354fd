//! Row versions in pages: a row is serialized into a staged slot, published
//! in a [`RowCell`], read in place, and retired through the epoch collector
//! when a newer version or a delete replaces it.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crossbeam_epoch::{self as epoch, Guard};
use rkyv::rancor;
use rkyv::ser::allocator::SubAllocator;
use rkyv::util::AlignedVec;

use super::alloc::{PoolFigures, SlotPool};
use super::image::RowImage;
use super::link::{Link, MAX_ROW_BYTES, PAGE_SIZE, PageId};
use super::memory::PageDirectory;
use crate::plain::Plain;
use crate::row::Row;
use crate::stripe::Striped;

/// Once this many slots wait for the epoch collector, an allocation that
/// finds no free slot first nudges the collector.
const NUDGE_COLLECTOR_AT: usize = 64;

/// Retired slots are handed to the epoch collector in batches of this many,
/// so that the cost of a collector hand-over (an allocation and a flush to
/// the global queue) is shared.
const RETIRE_BATCH: usize = 32;

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// The location of the committed version of one row.
///
/// Cells live inline in the primary index's hash map, one per row; every
/// other index leads to the row's primary key and from there to its cell.
/// An update swaps the cell's word and touches no index whose key it leaves
/// alone.
///
/// Invariant: the word changes only through [`RowStore::replace`], while the
/// row's lock is held (so writers of one row never race on it), and through
/// [`RowStore::relocate`], which vacuum uses to move a version to another
/// page: a compare-exchange from the exact word it copied, so it only ever
/// swaps a version for an identical copy and loses to any writer. Readers
/// load the word with `Acquire`, inside an epoch guard.
pub(crate) struct RowCell {
    /// A packed [`Link`].
    word: AtomicU64,
    /// Id of the [`RowStore`] whose pages the link points into.
    store: u64,
}

impl fmt::Debug for RowCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowCell({:?})", self.link())
    }
}

impl RowCell {
    /// The committed version's location.
    fn link(&self) -> Link {
        Link::unpack(self.packed())
    }

    /// The committed version's location, packed (see [`Link::pack`]).
    pub(super) fn packed(&self) -> u64 {
        self.word.load(Ordering::Acquire)
    }
}

/// A row serialized into a slot that no reader can see yet. Either put in a
/// [new cell](RowStore::new_cell), used to [replace](RowStore::replace) a
/// version, or [discarded](RowStore::discard).
#[must_use = "a staged row holds a slot until it is published or discarded"]
#[derive(Debug)]
pub(crate) struct Staged {
    link: Link,
}

/// A version just replaced in its cell: readers may still be reading it, so
/// it must be [retired](RowStore::retire), not freed.
#[must_use = "a replaced version holds its slot until it is retired"]
#[derive(Debug)]
pub(crate) struct Replaced {
    link: Link,
}

/// Why a row could not be written into a page.
#[derive(Debug)]
pub(crate) enum StageError {
    /// The archived row is larger than a slot can be.
    TooLarge { size: usize },
    /// The row's `Serialize` implementation failed.
    Serialize(rancor::Error),
    /// The table has used every page id.
    OutOfPages,
}

/// A committed row version located under an epoch guard; its bytes stay
/// valid while the guard `'g` is pinned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Version<'g> {
    link: Link,
    store: u64,
    _guard: PhantomData<&'g Guard>,
}

impl Version<'_> {
    /// The version at packed link `pack` of store `store`. Only for a word
    /// loaded from a cell of that store under the guard `'g` is pinned
    /// on, as [`RowStore::version`] does: [`RowStore::bytes`]' safety
    /// argument rests on it (its one caller, `PageOrder::into_ordered`,
    /// passes words that `PageOrder::push` loaded that way).
    pub(super) fn from_parts(pack: u64, store: u64) -> Self {
        Self {
            link: Link::unpack(pack),
            store,
            _guard: PhantomData,
        }
    }

    /// The page and the byte offset in it.
    pub(crate) fn page_offset(&self) -> (PageId, u16) {
        (self.link.page, self.link.offset)
    }
}

/// The keys and links of rows that rkyv accepted, or the first row it
/// refused and why.
pub(crate) type CheckedRows<R> = Result<Vec<(<R as Row>::Pk, Link)>, (Link, rancor::Error)>;

/// Deserializes an archived row.
///
/// # Panics
///
/// If the row type's rkyv `Deserialize` fails on bytes its own `Serialize`
/// produced (only custom `rkyv` wrappers can do that).
#[inline]
pub(crate) fn deserialize<R: Row>(archived: &R::Archived) -> R {
    rkyv::deserialize::<R, rancor::Error>(archived)
        .unwrap_or_else(|error| panic!("a stored row failed to deserialize: {error}"))
}

thread_local! {
    /// Reused serialization buffer, so that staging a row does not allocate.
    static SCRATCH: Cell<AlignedVec> = Cell::new(AlignedVec::new());
}

/// The pages of one table and the versions of its rows.
pub(crate) struct RowStore<R> {
    /// The allocator and the pages. Shared with the epoch collector's
    /// deferred frees, which may run after the store is gone.
    pool: Arc<SlotPool>,
    /// Slots unlinked from their cells and not yet handed to the collector,
    /// batched per thread stripe: writers on different threads do not share
    /// a batch's lock.
    unhanded: Striped<Mutex<Vec<Link>>>,
    id: u64,
    _rows: PhantomData<fn(&R)>,
}

impl<R> fmt::Debug for RowStore<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStore")
            .field("pages", &self.pool.page_count())
            .field("retired", &self.pool.retired())
            .finish()
    }
}

impl<R: Row> RowStore<R> {
    pub(crate) fn new() -> Self {
        Self {
            pool: Arc::default(),
            unhanded: Striped::default(),
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            _rows: PhantomData,
        }
    }

    /// A cell whose committed version is `staged`. The row becomes visible
    /// when the cell is put in the primary index.
    pub(crate) fn new_cell(&self, staged: Staged) -> RowCell {
        RowCell {
            word: AtomicU64::new(staged.link.pack()),
            store: self.id,
        }
    }

    /// Serializes `row` into a fresh slot.
    pub(crate) fn stage(&self, row: &R) -> Result<Staged, StageError> {
        let mut buffer = SCRATCH.take();
        buffer.clear();
        let buffer = rkyv::api::high::to_bytes_in::<_, rancor::Error>(row, buffer)
            .map_err(StageError::Serialize)?;
        let staged = self.stage_bytes(&buffer);
        if buffer.capacity() <= 2 * PAGE_SIZE {
            SCRATCH.set(buffer);
        }
        staged
    }

    /// Stages a copy of `version` in which `field`, a field of that
    /// version's row, holds `value` instead: the rest of the row is copied
    /// as bytes, not deserialized and serialized again, then checked by
    /// rkyv's validator. `None` (nothing staged) if `field` does not lie
    /// inside the row's bytes, `value` does not archive to exactly one
    /// `V::Archived`, or the check fails — the caller then takes the
    /// general path.
    pub(crate) fn stage_with_field<V>(
        &self,
        version: Version<'_>,
        field: &V::Archived,
        value: &V,
    ) -> Result<Option<Staged>, StageError>
    where
        V: Plain,
    {
        let row = self.bytes(version);
        let size = std::mem::size_of::<V::Archived>();
        let offset = (field as *const V::Archived as usize).wrapping_sub(row.as_ptr() as usize);
        if offset.checked_add(size).is_none_or(|end| end > row.len()) {
            return Ok(None);
        }
        let mut buffer = SCRATCH.take();
        buffer.clear();
        let mut buffer = rkyv::api::low::to_bytes_in_with_alloc::<_, _, rancor::Error>(
            value,
            buffer,
            SubAllocator::empty(),
        )
        .map_err(StageError::Serialize)?;
        // The copy starts at 16, aligned like a slot, so that rkyv can check
        // it in place: `field` comes from `Field::get_archived`, a safe
        // trait method, so nothing but the check proves that the patched
        // bytes are an `R::Archived`.
        let start = 16;
        let staged = if buffer.len() == size && size <= start {
            buffer.resize(start, 0);
            buffer.extend_from_slice(row);
            buffer.copy_within(0..size, start + offset);
            let patched = &buffer[start..];
            match rkyv::access::<R::Archived, rancor::Error>(patched) {
                Ok(_) => self.stage_bytes(patched).map(Some),
                Err(_) => Ok(None),
            }
        } else {
            Ok(None)
        };
        if buffer.capacity() <= 2 * PAGE_SIZE {
            SCRATCH.set(buffer);
        }
        staged
    }

    pub(crate) fn stage_bytes(&self, bytes: &[u8]) -> Result<Staged, StageError> {
        if bytes.len() > MAX_ROW_BYTES {
            return Err(StageError::TooLarge { size: bytes.len() });
        }
        let link = match self.pool.reuse(bytes.len()) {
            Some(link) => link,
            None => {
                if self.pool.retired() >= NUDGE_COLLECTOR_AT {
                    epoch::pin().flush();
                }
                self.pool
                    .allocate(bytes.len())
                    .ok_or(StageError::OutOfPages)?
            }
        };
        self.pages().mark_dirty(link.page);
        // SAFETY: the pool just handed this slot to us and nobody else, and
        // its length is `bytes.len()`.
        unsafe { self.pages().write(link, bytes) };
        Ok(Staged { link })
    }

    /// Frees a staged slot that was never published.
    pub(crate) fn discard(&self, staged: Staged) {
        self.pool.free(staged.link);
    }

    /// Frees the slot of a cell that was never put in the primary index (an
    /// insert refused at its commit point): no reader has seen it.
    pub(crate) fn discard_cell(&self, cell: RowCell) {
        self.check_owner(&cell);
        self.pool.free(cell.link());
    }

    /// Makes `staged` the version of `cell`. The old version must then be
    /// [retired](Self::retire) — outside any map guard, since retiring may
    /// run the epoch collector.
    pub(crate) fn replace(&self, cell: &RowCell, staged: Staged) -> Replaced {
        self.check_owner(cell);
        let previous = Link::unpack(cell.word.swap(staged.link.pack(), Ordering::AcqRel));
        // Both pages, at the moment of the change (see `publishing`).
        self.pages().mark_dirty(previous.page);
        self.pages().mark_dirty(staged.link.page);
        Replaced { link: previous }
    }

    /// Notes that the version in `cell` is being published (an insert):
    /// call it at the moment the cell enters the primary index, inside the
    /// commit step. Its page was marked when the row was staged, but a
    /// checkpoint may have taken that mark before the change was numbered,
    /// copying the page without the row; this mark makes the next
    /// checkpoint copy it again.
    pub(crate) fn publishing(&self, cell: &RowCell) {
        self.check_owner(cell);
        self.pages().mark_dirty(cell.link().page);
    }

    /// Notes that the row in `cell` is being deleted: call it at the moment
    /// the cell leaves the primary index, inside the commit step, so that a
    /// checkpoint taken after the change's number sees the page as changed.
    pub(crate) fn unlinking(&self, cell: &RowCell) {
        self.check_owner(cell);
        self.pages().mark_dirty(cell.link().page);
    }

    /// Marks `pages` dirty again (a checkpoint that failed).
    pub(crate) fn mark_pages_dirty(&self, pages: &[PageId]) {
        for &page in pages {
            self.pages().mark_dirty(page);
        }
    }

    /// The pages whose set of rows changed since the last call, in id
    /// order (see [`PageDirectory::take_dirty`]).
    pub(crate) fn take_dirty_pages(&self) -> Vec<PageId> {
        self.pages().take_dirty()
    }

    /// Retires the version of a cell that has been taken out of the primary
    /// index (the row was deleted).
    pub(crate) fn retire_cell(&self, cell: RowCell) {
        self.check_owner(&cell);
        self.retire(Replaced { link: cell.link() });
    }

    /// Retires a slot that readers may still be reading: it joins the batch
    /// of slots waiting to be handed to the epoch collector, which frees them
    /// once every thread pinned at the hand-over has unpinned. Handing over
    /// later than the unlink only waits for more readers, never fewer, so a
    /// reader that loaded the link before the unlink is always waited for.
    pub(crate) fn retire(&self, replaced: Replaced) {
        let link = replaced.link;
        self.pool.note_retired(link);
        let batch = {
            let mut unhanded = self
                .unhanded
                .local()
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            unhanded.push(link);
            if unhanded.len() < RETIRE_BATCH {
                return;
            }
            std::mem::take(&mut *unhanded)
        };
        self.hand_over(batch);
    }

    /// Gives a batch of retired slots to the epoch collector and pushes it
    /// to the global queue at once, so that any thread's collection can free
    /// it (a batch left in this thread's local bag would wait for this thread).
    fn hand_over(&self, batch: Vec<Link>) {
        let pool = Arc::clone(&self.pool);
        let guard = epoch::pin();
        guard.defer(move || pool.free_retired(&batch));
        guard.flush();
    }

    /// The committed version of the row in `cell`, valid for as long as
    /// `guard` stays pinned.
    pub(crate) fn version<'g>(&self, cell: &RowCell, _guard: &'g Guard) -> Version<'g> {
        self.check_owner(cell);
        Version {
            link: cell.link(),
            store: self.id,
            _guard: PhantomData,
        }
    }

    /// The archived bytes of `version`, read in place.
    pub(crate) fn bytes<'g>(&'g self, version: Version<'g>) -> &'g [u8] {
        assert_eq!(
            version.store, self.id,
            "a row version was read from another table"
        );
        // SAFETY: `version.link` was loaded from a cell of this store while
        // the guard `'g` borrows was pinned (see `version`, and
        // `Version::from_parts`, whose words `PageOrder::push` loads from
        // cells of this store under that guard), so its slot is
        // published or retired, and a retired slot is only freed (and later
        // rewritten) after every guard pinned before its retirement has been
        // dropped (see `retire`). The slice lives for `'g`, which ends before
        // the guard does.
        unsafe { self.pages().read(version.link) }
    }

    /// Has the processor fetch the bytes of all `versions` at once, before
    /// they are read one after the other: rows at scattered places in the
    /// pages, read in turn, each wait for their own fetch from memory. This
    /// reads the first and the last byte of each (a row often spans two
    /// cache lines) in a loop short enough for the fetches to overlap.
    pub(crate) fn fetch(&self, versions: &[Version<'_>]) {
        let mut sum = 0u8;
        for &version in versions {
            let bytes = self.bytes(version);
            let (first, last) = (bytes.first(), bytes.last());
            sum ^= first.copied().unwrap_or(0) ^ last.copied().unwrap_or(0);
        }
        std::hint::black_box(sum);
    }

    /// The archived row of `version`, read in place.
    pub(crate) fn archived<'g>(&'g self, version: Version<'g>) -> &'g R::Archived {
        let bytes = self.bytes(version);
        // SAFETY: the slot holds, unchanged, the bytes `rkyv::to_bytes_in`
        // produced for an `R` in `stage`, copied to a 16-aligned address
        // like the 16-aligned buffer they were produced in, so an
        // `R::Archived` is at the root position — or, for a table restored
        // from a checkpoint, bytes that rkyv's validator accepted as an
        // `R::Archived` at that same address (`restored_row`) before the
        // cell got the link; or bytes `stage_with_field` made (a copy of
        // such bytes with one field's bytes replaced) and rkyv's validator
        // accepted at a 16-aligned address before they were staged. Cells
        // of this store only get links from one of those three paths.
        unsafe { rkyv::access_unchecked::<R::Archived>(bytes) }
    }

    /// A copy of the committed version of the row in `cell`.
    pub(crate) fn image(&self, cell: &RowCell) -> RowImage<R> {
        let guard = epoch::pin();
        RowImage::from_slot(self.bytes(self.version(cell, &guard)))
    }

    /// A copy of a staged version, before it is published.
    pub(crate) fn staged_image(&self, staged: &Staged) -> RowImage<R> {
        // SAFETY: a staged slot belongs to the caller alone, who holds the
        // `Staged`; `stage_bytes` finished writing it before handing it out,
        // and nobody writes it until the caller publishes or discards it,
        // which needs the `Staged` by value — so not while this borrow lives.
        let bytes = unsafe { self.pages().read(staged.link) };
        RowImage::from_slot(bytes)
    }

    /// Hands every retired slot to the epoch collector and helps it return
    /// them to the free lists. Slots that a running reader may still see stay
    /// retired, and so may slots whose hand-over waits on a collection
    /// somebody else is running.
    pub(crate) fn collect_retired(&self) {
        for unhanded in self.unhanded.iter() {
            let batch =
                std::mem::take(&mut *unhanded.lock().unwrap_or_else(PoisonError::into_inner));
            if !batch.is_empty() {
                self.hand_over(batch);
            }
        }
        for _ in 0..64 {
            if self.pool.retired() == 0 {
                return;
            }
            epoch::pin().flush();
        }
    }

    pub(crate) fn page_count(&self) -> usize {
        self.pool.page_count()
    }

    /// The allocator's figures, for statistics.
    pub(crate) fn figures(&self) -> PoolFigures {
        self.pool.figures()
    }

    /// Bytes the committed version in `cell` occupies in its page.
    pub(crate) fn slot_bytes(&self, cell: &RowCell) -> usize {
        self.check_owner(cell);
        cell.link().slot_size()
    }

    /// The page the committed version in `cell` lives in.
    pub(crate) fn page_of(&self, cell: &RowCell) -> PageId {
        self.check_owner(cell);
        cell.link().page
    }

    /// Marks pages for vacuum to empty (see [`SlotPool::begin_evacuation`]);
    /// returns every evacuating page, sorted.
    pub(crate) fn begin_evacuation(&self, max_fill: f64, max_new: usize) -> Vec<PageId> {
        self.pool.begin_evacuation(max_fill, max_new)
    }

    /// Moves the committed version of `cell` to a new slot if it lives in
    /// one of `evacuating` (sorted), leaving the row's bytes unchanged. The
    /// caller must [retire](Self::retire) the returned old version outside
    /// any map guard. Returns `Ok(None)` when the version stays: it is not in
    /// an evacuating page, or a writer replaced it meanwhile (the writer's
    /// version lives outside evacuating pages, which take no new slots).
    pub(crate) fn relocate(
        &self,
        cell: &RowCell,
        evacuating: &[PageId],
    ) -> Result<Option<Replaced>, StageError> {
        self.check_owner(cell);
        let guard = epoch::pin();
        let word = cell.word.load(Ordering::Acquire);
        let old = Link::unpack(word);
        if evacuating.binary_search(&old.page).is_err() {
            return Ok(None);
        }
        let copy = self
            .pool
            .allocate(usize::from(old.len))
            .ok_or(StageError::OutOfPages)?;
        self.pages().mark_dirty(old.page);
        self.pages().mark_dirty(copy.page);
        // SAFETY: `old` was loaded from a cell of this store under `guard`,
        // so it stays readable until the guard is dropped (see `bytes`), and
        // the pool just handed `copy` to us alone, with `old`'s length; the
        // two slots are distinct, so the bytes do not overlap.
        unsafe { self.pages().write(copy, self.pages().read(old)) };
        // Still pinned: had a writer replaced the version since, its slot
        // could not be freed yet, so its page not released and given the
        // same link again — the exchange cannot mistake a newer version
        // for the one copied.
        let moved =
            match cell
                .word
                .compare_exchange(word, copy.pack(), Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => Some(Replaced { link: old }),
                Err(_) => {
                    self.pool.free(copy);
                    None
                }
            };
        drop(guard);
        Ok(moved)
    }

    fn pages(&self) -> &PageDirectory {
        self.pool.pages()
    }

    /// Restores page `page` from a checkpoint: `body` is the whole page,
    /// `rows` the slots of its rows (see [`SlotPool::restore_page`]).
    /// Returns the links of the rows. `&mut`: the store is not shared yet.
    pub(crate) fn restore_page(
        &mut self,
        page: PageId,
        body: &[u8],
        rows: &[(u16, u16)],
    ) -> Vec<Link> {
        let links: Vec<Link> = rows
            .iter()
            .map(|&(offset, len)| Link { page, offset, len })
            .collect();
        self.pool.restore_page(page, body, &links);
        links
    }

    /// Copies `bytes` (an archived row) into a fresh slot of a store being
    /// restored; `None` when it is too large or the table is full.
    pub(crate) fn restore_bytes(&mut self, bytes: &[u8]) -> Result<Link, StageError> {
        self.stage_bytes(bytes).map(|staged| staged.link)
    }

    /// Serializes `row` into a fresh slot of a store nobody shares yet (a
    /// table being built), where it needs no cell until the table is done.
    pub(crate) fn load_row(&mut self, row: &R) -> Result<Link, StageError> {
        self.stage(row).map(|staged| staged.link)
    }

    /// The bytes at `link` in a store being restored, checked by rkyv.
    pub(crate) fn restored_row(&mut self, link: Link) -> Result<&R::Archived, rancor::Error> {
        // SAFETY: the store is not shared (`&mut self`), so nothing writes
        // the slot while the returned reference borrows `self`; `link` was
        // handed out by this store, so it lies inside a page with memory.
        let bytes = unsafe { self.pages().read(link) };
        rkyv::access::<R::Archived, rancor::Error>(bytes)
    }

    /// Checks the rows at `links` of a store being restored with rkyv, on
    /// up to `threads` threads, and returns each row's key with its link
    /// (in no particular order), or the first row refused.
    pub(crate) fn check_restored_rows(&mut self, links: &[Link], threads: usize) -> CheckedRows<R> {
        let this = &*self;
        let check = |links: &[Link]| -> CheckedRows<R> {
            links
                .iter()
                .map(|&link| {
                    // SAFETY: `&mut self` is held for the whole call, so no
                    // thread but the ones spawned here, which only read,
                    // touches the store; `link` was handed out by this
                    // store, so it lies inside a page with memory.
                    let bytes = unsafe { this.pages().read(link) };
                    rkyv::access::<R::Archived, rancor::Error>(bytes)
                        .map(|archived| (R::pk_of_archived(archived), link))
                        .map_err(|error| (link, error))
                })
                .collect()
        };
        let chunk = links.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            let parts: Vec<_> = links
                .chunks(chunk)
                .map(|part| scope.spawn(move || check(part)))
                .collect();
            let mut rows = Vec::with_capacity(links.len());
            for part in parts {
                rows.extend(
                    part.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                );
            }
            Ok(rows)
        })
    }

    /// Frees a slot of a store being restored (a row replaced or deleted
    /// while the log is replayed): nobody can read it.
    pub(crate) fn restore_free(&mut self, link: Link) {
        // Its page lost a row: the next checkpoint must rewrite it.
        self.pages().mark_dirty(link.page);
        self.pool.free(link);
    }

    /// The archived row at `link` in a store being restored (checked by
    /// rkyv when it was restored) or loaded (serialized by
    /// [`load_row`](Self::load_row)), valid while `guard` is pinned.
    pub(crate) fn restored_archived<'g>(
        &'g self,
        link: Link,
        _guard: &'g Guard,
    ) -> &'g R::Archived {
        self.archived(Version {
            link,
            store: self.id,
            _guard: PhantomData,
        })
    }

    /// A cell for a restored or loaded row at `link`.
    pub(crate) fn restored_cell(&self, link: Link) -> RowCell {
        RowCell {
            word: AtomicU64::new(link.pack()),
            store: self.id,
        }
    }

    /// Id of this store, which its cells carry.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn check_owner(&self, cell: &RowCell) {
        assert_eq!(
            cell.store, self.id,
            "a row cell was used with a table it does not belong to"
        );
    }
}
