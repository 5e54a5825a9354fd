//! Building a table from a checkpoint and a log: [`TableRestore`], for
//! `worktable-persist`, which reaches it through [`crate::storage`] (whose
//! docs state what it may rely on).
//!
//! A restore takes the pages of a checkpoint as they were in memory (each
//! row at its old place, so page ids and links come back unchanged), then
//! the log's changes after the checkpoint as raw row images, and builds the
//! indexes once at the end. Until [`finish`](TableRestore::finish) nothing
//! checks uniqueness: a checkpoint is fuzzy (see [`super::checkpoint`]) and
//! may hold two versions of a row, or two rows with one unique key, that the
//! log's later changes put right. Every row is checked by rkyv's validator
//! before its key is read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use crossbeam_epoch as epoch;
use rkyv::rancor;

use super::WorkTable;
use crate::events::order::CommitOrder;
use crate::events::{CommitHook, MAX_SEQ};
use crate::page::{Link, PageId, RowCell, RowStore, StageError};
use crate::row::PkSource;
use crate::row::{DuplicateKey, IndexSet, Row};

/// Why a table could not be restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A row's bytes failed rkyv's validation.
    #[error("row at offset {offset} of page {page}: not a valid archived row: {source}")]
    BadPageRow {
        /// The page.
        page: PageId,
        /// The row's offset in it.
        offset: u16,
        /// What the validator found.
        source: rancor::Error,
    },
    /// A row image of the log failed rkyv's validation.
    #[error("not a valid archived row: {source}")]
    BadImage {
        /// What the validator found.
        source: rancor::Error,
    },
    /// A row image of the log is larger than a row can be.
    #[error("a row image of {size} bytes is larger than a row can be")]
    ImageTooLarge {
        /// Its size.
        size: usize,
    },
    /// Every page id is taken.
    #[error("the table is full: every page id is taken")]
    TableFull,
    /// Two rows of the result share a key of a unique index.
    #[error(
        "two rows share the key {} of the unique index `{index}`",
        crate::error::Shortened(.key)
    )]
    DuplicateKey {
        /// The index.
        index: &'static str,
        /// The whole key, printed with `Debug` (the message shortens it).
        key: String,
    },
    /// The sequence number to continue from is larger than a table can
    /// count to.
    #[error("sequence number {seq} is beyond the largest a table numbers changes with ({max})")]
    SeqTooLarge {
        /// The number given.
        seq: u64,
        /// The largest sequence number.
        max: u64,
    },
    /// Pages were not given in increasing id order, or one's rows are not
    /// sorted, apart and inside it.
    #[error("page {page}: {detail}")]
    BadLayout {
        /// The page.
        page: PageId,
        /// What is wrong.
        detail: &'static str,
    },
}

impl From<DuplicateKey> for RestoreError {
    fn from(duplicate: DuplicateKey) -> Self {
        Self::DuplicateKey {
            index: duplicate.index,
            key: duplicate.key,
        }
    }
}

/// A table under construction from a checkpoint and a log.
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_core::storage::{RestoreError, TableRestore};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Pair {
///     #[pk]
///     id: u32,
///     #[index(unique)]
///     name: String,
/// }
///
/// let image = |row: &Pair| worktable_core::rkyv::to_bytes::<worktable_core::rkyv::rancor::Error>(row).unwrap();
/// let mut restore = TableRestore::<Pair>::new();
/// restore.put(&image(&Pair { id: 1, name: "a".into() }))?;
/// restore.put(&image(&Pair { id: 2, name: "a".into() }))?; // unique keys are checked at the end
/// restore.put(&image(&Pair { id: 2, name: "b".into() }))?;
/// let table = restore.finish(None)?;
/// assert_eq!(table.get_by(Pair::NAME, "b").map(|p| p.id), Some(2));
///
/// // A clash still there at the end fails the restore.
/// let mut clash = TableRestore::<Pair>::new();
/// clash.put(&image(&Pair { id: 1, name: "a".into() }))?;
/// clash.put(&image(&Pair { id: 2, name: "a".into() }))?;
/// assert!(matches!(clash.finish(None), Err(RestoreError::DuplicateKey { index: "name", .. })));
/// # Ok::<(), worktable_core::storage::RestoreError>(())
/// ```
pub struct TableRestore<R: Row> {
    store: RowStore<R>,
    /// Rows of the checkpoint's pages not checked by rkyv yet.
    unchecked: Vec<Link>,
    /// Rows of the checkpoint's pages, checked, in page order; a key may
    /// come twice.
    paged: Vec<(R::Pk, Link)>,
    /// Rows put (`Some`) or deleted (`None`) by the log, over `paged`.
    replayed: HashMap<R::Pk, Option<Link>>,
    /// The largest key any generated key must stay above.
    key_floor: Option<R::Pk>,
    /// The last page restored, for the order check.
    last_page: Option<PageId>,
    /// The sequence number of the last change the restored table had.
    last_seq: u64,
}

impl<R: Row> std::fmt::Debug for TableRestore<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRestore")
            .field("paged", &self.paged.len())
            .field("replayed", &self.replayed.len())
            .finish()
    }
}

impl<R: Row> Default for TableRestore<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Row> TableRestore<R> {
    /// An empty restore.
    pub fn new() -> Self {
        Self {
            store: RowStore::new(),
            unchecked: Vec::new(),
            paged: Vec::new(),
            replayed: HashMap::new(),
            key_floor: None,
            last_page: None,
            last_seq: 0,
        }
    }

    /// Makes the finished table number its first change `seq + 1`, so that
    /// its numbering continues the restored history's (the last change a
    /// log holds). 0 by default.
    ///
    /// # Errors
    ///
    /// [`RestoreError::SeqTooLarge`] above the largest sequence number a
    /// table counts to (2⁵¹ − 1).
    pub fn continue_after(&mut self, seq: u64) -> Result<(), RestoreError> {
        if seq > MAX_SEQ {
            return Err(RestoreError::SeqTooLarge { seq, max: MAX_SEQ });
        }
        self.last_seq = seq;
        Ok(())
    }

    /// Restores page `page` (ids increasing from call to call) from `body`,
    /// the page's bytes, holding rows at `rows` (`(offset, len)`, sorted by
    /// offset, apart, inside the page). Its rows are validated by
    /// [`check_pages`](Self::check_pages); of two rows with one key, the one
    /// restored first is kept (the log after a fuzzy checkpoint decides
    /// which is current).
    ///
    /// # Errors
    ///
    /// [`RestoreError::BadLayout`] for pages out of order, a body that is
    /// not one page, or rows not sorted, apart and inside the page.
    pub fn page(
        &mut self,
        page: PageId,
        body: &[u8],
        rows: &[(u16, u16)],
    ) -> Result<(), RestoreError> {
        let layout = |detail| RestoreError::BadLayout { page, detail };
        if self.last_page.is_some_and(|last| last >= page) || page.get() == u32::MAX {
            return Err(layout("pages are not in increasing id order"));
        }
        if body.len() != crate::PAGE_SIZE {
            return Err(layout("the body is not one page long"));
        }
        let mut free_from = 0usize;
        for &(offset, len) in rows {
            let offset = usize::from(offset);
            if len == 0 || offset < free_from || !offset.is_multiple_of(16) {
                return Err(layout("rows are not sorted, aligned and apart"));
            }
            free_from = offset + crate::page::slot_size(usize::from(len));
        }
        if free_from > crate::PAGE_SIZE {
            return Err(layout("a row ends past the page"));
        }
        self.last_page = Some(page);
        let links = self.store.restore_page(page, body, rows);
        self.unchecked.extend(links);
        Ok(())
    }

    /// Checks every row of the pages restored so far with rkyv's validator,
    /// on as many threads as the machine has cores. [`finish`](Self::finish)
    /// does it too if it was not done; calling it first lets the caller
    /// tell a bad page row from a bad log image.
    ///
    /// # Errors
    ///
    /// [`RestoreError::BadPageRow`] for a row rkyv refuses.
    pub fn check_pages(&mut self) -> Result<(), RestoreError> {
        let unchecked = std::mem::take(&mut self.unchecked);
        let threads = thread::available_parallelism().map_or(1, usize::from);
        let rows = self
            .store
            .check_restored_rows(&unchecked, threads)
            .map_err(|(link, source)| RestoreError::BadPageRow {
                page: link.page,
                offset: link.offset,
                source,
            })?;
        self.paged.extend(rows);
        Ok(())
    }

    /// Stores the archived row `image` under its key, replacing any row
    /// with that key (a put of the log).
    ///
    /// # Errors
    ///
    /// [`RestoreError::BadImage`], [`RestoreError::ImageTooLarge`],
    /// [`RestoreError::TableFull`].
    pub fn put(&mut self, image: &[u8]) -> Result<(), RestoreError> {
        let (pk, link) = self.stage(image)?;
        if let Some(Some(old)) = self.replayed.insert(pk, Some(link)) {
            self.store.restore_free(old);
        }
        Ok(())
    }

    /// Copies `image` into the pages and validates it: its key and place.
    fn stage(&mut self, image: &[u8]) -> Result<(R::Pk, Link), RestoreError> {
        let link = self
            .store
            .restore_bytes(image)
            .map_err(|error| match error {
                StageError::TooLarge { size } => RestoreError::ImageTooLarge { size },
                StageError::OutOfPages | StageError::Serialize(_) => RestoreError::TableFull,
            })?;
        match self.store.restored_row(link) {
            Ok(archived) => Ok((R::pk_of_archived(archived), link)),
            Err(source) => {
                self.store.restore_free(link);
                Err(RestoreError::BadImage { source })
            }
        }
    }

    /// Stores the archived row `image` as a new row (a bulk load): like
    /// [`put`](Self::put), but a row with its key already restored is
    /// kept and the new one refused.
    ///
    /// # Errors
    ///
    /// Those of [`put`](Self::put), and [`RestoreError::DuplicateKey`]
    /// (index `"primary key"`) when the key is taken.
    pub fn put_new(&mut self, image: &[u8]) -> Result<(), RestoreError> {
        let (pk, link) = self.stage(image)?;
        match self.replayed.entry(pk) {
            std::collections::hash_map::Entry::Occupied(taken) if taken.get().is_some() => {
                let key = format!("{:?}", taken.key());
                self.store.restore_free(link);
                Err(RestoreError::DuplicateKey {
                    index: "primary key",
                    key,
                })
            }
            std::collections::hash_map::Entry::Occupied(mut deleted) => {
                deleted.insert(Some(link));
                Ok(())
            }
            std::collections::hash_map::Entry::Vacant(free) => {
                free.insert(Some(link));
                Ok(())
            }
        }
    }

    /// Removes the row with the key of the archived row `image`, if there
    /// is one (a delete of the log); returns that key.
    ///
    /// # Errors
    ///
    /// [`RestoreError::BadImage`].
    pub fn delete(&mut self, image: &[u8]) -> Result<R::Pk, RestoreError> {
        let pk = pk_of_image::<R>(image)?;
        if let Some(Some(old)) = self.replayed.insert(pk.clone(), None) {
            self.store.restore_free(old);
        }
        Ok(pk)
    }

    /// Makes the key generator of the finished table stay above `pk` (the
    /// key of a row inserted and deleted since: it must not come back).
    pub fn keep_keys_above(&mut self, pk: &R::Pk) {
        if self.key_floor.as_ref().is_none_or(|floor| floor < pk) {
            self.key_floor = Some(pk.clone());
        }
    }

    /// Builds the table: the rows of the pages, replaced or removed by the
    /// log's; then the primary index in key order and every secondary
    /// index from its sorted keys, each on a thread of its own; `hook` sees
    /// the changes made from then on.
    ///
    /// # Errors
    ///
    /// [`RestoreError::BadPageRow`] (see [`check_pages`](Self::check_pages));
    /// [`RestoreError::DuplicateKey`] when two rows share a unique key.
    pub fn finish(
        self,
        hook: Option<Arc<dyn CommitHook<R>>>,
    ) -> Result<WorkTable<R>, RestoreError> {
        let last_seq = self.last_seq;
        self.finish_into(WorkTable::with_hook_option(hook, last_seq))
    }

    /// [`finish`](Self::finish) for a table of a database: the table joins
    /// `order`, which numbers the changes of every table of the database
    /// (built with [`CommitOrder::restored`] from the number the restore
    /// continues after; [`continue_after`](Self::continue_after) is not
    /// used).
    ///
    /// # Errors
    ///
    /// As [`finish`](Self::finish).
    pub fn finish_in(self, order: &Arc<CommitOrder>) -> Result<WorkTable<R>, RestoreError> {
        self.finish_into(WorkTable::in_order(order))
    }

    /// Fills `table`, empty, with the restored rows and their indexes.
    fn finish_into(mut self, mut table: WorkTable<R>) -> Result<WorkTable<R>, RestoreError> {
        if !self.unchecked.is_empty() {
            self.check_pages()?;
        }
        let Self {
            mut store,
            unchecked: _,
            mut paged,
            replayed,
            key_floor,
            last_page: _,
            last_seq: _,
        } = self;
        // Key order (stable: of two page rows with one key, the first
        // restored comes first and is kept).
        paged.sort_by(|a, b| a.0.cmp(&b.0));
        let mut replayed: Vec<(R::Pk, Option<Link>)> = replayed.into_iter().collect();
        replayed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut rows: Vec<(R::Pk, Link)> = Vec::with_capacity(paged.len() + replayed.len());
        let mut replayed = replayed.into_iter().peekable();
        let mut paged = paged.into_iter().peekable();
        while let Some((pk, link)) = paged.next() {
            while let Some((_, duplicate)) = paged.next_if(|(next, _)| *next == pk) {
                store.restore_free(duplicate);
            }
            while let Some((earlier, put)) = replayed.next_if(|(key, _)| *key < pk) {
                rows.extend(put.map(|put| (earlier, put)));
            }
            match replayed.next_if(|(key, _)| *key == pk) {
                Some((_, replacement)) => {
                    store.restore_free(link);
                    rows.extend(replacement.map(|put| (pk, put)));
                }
                None => rows.push((pk, link)),
            }
        }
        rows.extend(replayed.filter_map(|(pk, put)| put.map(|put| (pk, put))));

        let floor = match (rows.last().map(|(pk, _)| pk), key_floor.as_ref()) {
            (Some(last), Some(floor)) => Some(last.max(floor).clone()),
            (last, floor) => last.or(floor).cloned(),
        };
        table.store = store;
        table.primary =
            crate::index::PrimaryIndex::with_capacity(rows.len(), R::pk_prefix(), R::ORDERED_PK);
        build_indexes(&table, &rows)?;
        if let Some(floor) = floor {
            table.pk_source.observe(&floor);
        }
        table.len.store(rows.len(), Ordering::Release);
        Ok(table)
    }
}

/// Fewest rows worth building the indexes on threads of their own.
const BUILD_ON_THREADS_FROM: usize = 4096;

/// Fills the empty indexes of `table` with `rows` (sorted by key, distinct):
/// the primary index and each part of each secondary index on a thread of
/// its own (on this thread for fewer than [`BUILD_ON_THREADS_FROM`] rows).
pub(super) fn build_indexes<R: Row>(
    table: &WorkTable<R>,
    rows: &[(R::Pk, Link)],
) -> Result<(), DuplicateKey> {
    if rows.len() < BUILD_ON_THREADS_FROM {
        table.primary.load_here(cells_of(table, rows));
        let guard = epoch::pin();
        let archived = archived_of(table, rows, &guard);
        for i in 0..<R::Indexes as IndexSet<R>>::COUNT {
            let index = table.indexes.index(i);
            for &part in index.load_parts() {
                index.load(&archived, part)?;
            }
        }
        return Ok(());
    }
    thread::scope(|scope| {
        let primary = scope.spawn(|| table.primary.load(cells_of(table, rows)));
        let secondary: Vec<_> = (0..<R::Indexes as IndexSet<R>>::COUNT)
            .flat_map(|i| {
                let index = table.indexes.index(i);
                index.load_parts().iter().map(move |&part| (index, part))
            })
            .map(|(index, part)| {
                scope.spawn(move || {
                    let guard = epoch::pin();
                    index.load(&archived_of(table, rows, &guard), part)
                })
            })
            .collect();
        let mut outcome = Ok(());
        for index in secondary {
            let loaded = index
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let (Ok(()), Err(duplicate)) = (&outcome, loaded) {
                outcome = Err(duplicate);
            }
        }
        primary
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        outcome
    })
}

/// The primary index's entries for `rows`: each key with a cell of its link.
fn cells_of<'a, R: Row>(
    table: &'a WorkTable<R>,
    rows: &'a [(R::Pk, Link)],
) -> impl Iterator<Item = (R::Pk, RowCell)> + 'a {
    rows.iter()
        .map(|(pk, link)| (pk.clone(), table.store.restored_cell(*link)))
}

/// Each of `rows` as its archived row and key, what the secondary indexes
/// load from; valid while `guard` is pinned.
fn archived_of<'g, R: Row>(
    table: &'g WorkTable<R>,
    rows: &'g [(R::Pk, Link)],
    guard: &'g epoch::Guard,
) -> Vec<(&'g R::Archived, &'g R::Pk)> {
    rows.iter()
        .map(|(pk, link)| (table.store.restored_archived(*link, guard), pk))
        .collect()
}

/// The key of an archived row given as bytes, validated.
fn pk_of_image<R: Row>(image: &[u8]) -> Result<R::Pk, RestoreError> {
    let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(image.len());
    aligned.extend_from_slice(image);
    rkyv::access::<R::Archived, rancor::Error>(&aligned)
        .map(R::pk_of_archived)
        .map_err(|source| RestoreError::BadImage { source })
}
