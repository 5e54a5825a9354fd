//! Table statistics.

use std::fmt;

use super::WorkTable;
use crate::page::PAGE_SIZE;
use crate::row::{IndexSet, Row};

/// A snapshot of a table's size and space use, from [`WorkTable::stats`].
///
/// Page memory is split three ways: `used_bytes` (slots of the rows' current
/// versions), `dead_bytes` (slots of replaced or deleted versions that a
/// running reader may still see; they become free once no reader can) and
/// `free_bytes` (everything else). On a table nobody writes to,
/// `used_bytes + dead_bytes + free_bytes == page_bytes` exactly. Each figure
/// is read separately while writers may run, so under concurrent writes
/// they need not add up: a write in progress holds a slot that is in none
/// of them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TableStats {
    /// The table's name.
    pub name: &'static str,
    /// Number of rows.
    pub rows: usize,
    /// Number of pages holding memory.
    pub pages: usize,
    /// Bytes of page memory (`pages × PAGE_SIZE`).
    pub page_bytes: usize,
    /// Bytes of the slots holding the rows' current versions (each row's
    /// archived size rounded up to 16 bytes).
    pub used_bytes: usize,
    /// Bytes of page memory ready for new row versions (and, in pages that
    /// [`vacuum`](WorkTable::vacuum) is emptying, not yet given back).
    pub free_bytes: usize,
    /// Bytes of replaced or deleted versions waiting until no reader can see
    /// them.
    pub dead_bytes: usize,
    /// Number of those versions.
    pub retired_slots: usize,
    /// Pages vacuum is emptying; their memory is given back once the last
    /// version in them is no longer visible.
    pub evacuating_pages: usize,
    /// Share of page memory not holding current versions:
    /// `(page_bytes - used_bytes) / page_bytes`, 0 for a table without pages.
    /// What [`vacuum`](WorkTable::vacuum) can give back, at best, is this
    /// share minus the last, partly filled page.
    pub fragmentation: f64,
    /// Rows whose lock has a holder or a waiter right now.
    pub locked_rows: usize,
    /// Approximate memory of the primary index: its hash map and ordered
    /// keys (heap memory owned by keys, such as a `String`'s characters, is
    /// not counted).
    pub primary_index_bytes: usize,
    /// One entry per secondary index, in declaration order.
    pub indexes: Vec<IndexStats>,
    /// Row versions that changes replaced while a snapshot was held, kept
    /// for the snapshots that can still see them (see
    /// [`TableSnapshot`](crate::TableSnapshot)); 0 once the last one is
    /// dropped.
    pub versions_held: usize,
    /// Bytes of those versions (archived bytes; each is an owned copy).
    pub versions_held_bytes: usize,
}

/// Size of one secondary index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexStats {
    /// The index's name.
    pub name: &'static str,
    /// Whether the index is unique.
    pub unique: bool,
    /// Number of entries (one per row; one per distinct element of each
    /// row for an `#[index(each)]` index).
    pub entries: usize,
    /// Approximate memory of the index's structures: the ordered entries,
    /// and for a unique index its hash map (heap memory owned by keys is not
    /// counted).
    pub approx_bytes: usize,
}

impl TableStats {
    /// Pages that vacuum could give back if it packed the rows perfectly:
    /// `pages` minus the pages the used bytes need.
    pub fn reclaimable_pages(&self) -> usize {
        reclaimable_pages(self.pages, self.used_bytes)
    }
}

/// Share of `page_bytes` not holding `used` bytes; 0 without pages.
pub(super) fn fragmentation(page_bytes: usize, used: usize) -> f64 {
    if page_bytes == 0 {
        0.0
    } else {
        page_bytes.saturating_sub(used) as f64 / page_bytes as f64
    }
}

/// Pages beyond those `used` bytes need when packed perfectly.
pub(super) fn reclaimable_pages(pages: usize, used: usize) -> usize {
    pages.saturating_sub(used.div_ceil(PAGE_SIZE))
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

impl fmt::Display for TableStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "table `{}`: {} rows, {} locked",
            self.name, self.rows, self.locked_rows
        )?;
        writeln!(
            f,
            "  pages: {} ({}): {} used, {} free, {} dead in {} retired versions; \
             fragmentation {:.1}%{}",
            self.pages,
            kib(self.page_bytes),
            kib(self.used_bytes),
            kib(self.free_bytes),
            kib(self.dead_bytes),
            self.retired_slots,
            self.fragmentation * 100.0,
            if self.evacuating_pages > 0 {
                format!(", {} pages being vacuumed", self.evacuating_pages)
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  primary index: {} keys, ~{}",
            self.rows,
            kib(self.primary_index_bytes)
        )?;
        if self.versions_held > 0 {
            writeln!(
                f,
                "  versions held for snapshots: {} ({})",
                self.versions_held,
                kib(self.versions_held_bytes)
            )?;
        }
        for index in &self.indexes {
            writeln!(
                f,
                "  index `{}` ({}): {} entries, ~{}",
                index.name,
                if index.unique { "unique" } else { "non-unique" },
                index.entries,
                kib(index.approx_bytes)
            )?;
        }
        Ok(())
    }
}

impl<R: Row> WorkTable<R> {
    /// Row, page, space and index figures.
    ///
    /// Takes time in proportion to the number of rows: `used_bytes` is
    /// summed over the rows' current versions.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     #[index(unique)]
    ///     client_ref: String,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, client_ref: "A-1".into() }).await?;
    ///     orders.insert(Order { id: 2, client_ref: "B-2".into() }).await?;
    ///     orders.insert(Order { id: 3, client_ref: "C-3".into() }).await?;
    ///     let stats = orders.stats();
    ///     assert_eq!((stats.rows, stats.pages), (3, 1));
    ///     assert_eq!(stats.used_bytes + stats.free_bytes + stats.dead_bytes, stats.page_bytes);
    ///     assert_eq!(stats.indexes[0].name, "client_ref");
    ///     println!("{stats}");
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn stats(&self) -> TableStats {
        let mut used_bytes = 0;
        self.primary
            .for_each_cell(|cell| used_bytes += self.store.slot_bytes(cell));
        let pool = self.store.figures();
        let page_bytes = pool.pages * PAGE_SIZE;
        let held = self.events.history().held();
        TableStats {
            name: R::TABLE_NAME,
            rows: self.len(),
            pages: pool.pages,
            page_bytes,
            used_bytes,
            free_bytes: pool.free_bytes,
            dead_bytes: pool.retired_bytes,
            retired_slots: pool.retired_slots,
            evacuating_pages: pool.evacuating_pages,
            fragmentation: fragmentation(page_bytes, used_bytes),
            locked_rows: self.locks.len(),
            primary_index_bytes: self.primary.approx_bytes(),
            indexes: (0..<R::Indexes as IndexSet<R>>::COUNT)
                .map(|i| {
                    let index = self.indexes.index(i);
                    IndexStats {
                        name: index.name(),
                        unique: index.is_unique(),
                        entries: index.entry_count(),
                        approx_bytes: index.approx_bytes(),
                    }
                })
                .collect(),
            versions_held: held.versions,
            versions_held_bytes: held.bytes,
        }
    }
}
