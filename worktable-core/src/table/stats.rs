//! Table statistics.

use std::fmt;

use super::WorkTable;
use crate::index::IndexSet;
use crate::page::PAGE_SIZE;
use crate::row::Row;

/// A snapshot of a table's size, from [`WorkTable::stats`].
///
/// Each figure is read separately while writers may run, so under
/// concurrent writes they need not add up exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableStats {
    /// The table's name.
    pub name: &'static str,
    /// Number of rows.
    pub rows: usize,
    /// Number of pages taken.
    pub pages: usize,
    /// Bytes of page memory (`pages × PAGE_SIZE`).
    pub page_bytes: usize,
    /// Bytes of page memory in free slots, ready for new row versions.
    pub free_bytes: usize,
    /// Slots of replaced or deleted versions that readers might still see;
    /// they become free once no reader can.
    pub retired_slots: usize,
    /// Rows whose lock has a holder or a waiter right now.
    pub locked_rows: usize,
    /// One entry per secondary index, in declaration order.
    pub indexes: Vec<IndexStats>,
}

/// Size of one secondary index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexStats {
    /// The index's name.
    pub name: &'static str,
    /// Whether the index is unique.
    pub unique: bool,
    /// Number of entries (one per row).
    pub entries: usize,
}

impl fmt::Display for TableStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "table `{}`: {} rows in {} pages ({} KiB, {} KiB free, {} retired slots)",
            self.name,
            self.rows,
            self.pages,
            self.page_bytes / 1024,
            self.free_bytes / 1024,
            self.retired_slots
        )?;
        for index in &self.indexes {
            writeln!(
                f,
                "  index `{}` ({}): {} entries",
                index.name,
                if index.unique { "unique" } else { "non-unique" },
                index.entries
            )?;
        }
        Ok(())
    }
}

impl<R: Row> WorkTable<R> {
    /// Row, page and index counts.
    ///
    /// ```
    /// # mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/support.rs")); }
    /// # use support::*;
    /// # block_on(async {
    /// let orders = sample_orders().await;
    /// let stats = orders.stats();
    /// assert_eq!((stats.rows, stats.pages), (3, 1));
    /// assert_eq!(stats.indexes[0].name, "client_ref");
    /// println!("{stats}");
    /// # });
    /// ```
    pub fn stats(&self) -> TableStats {
        let pages = self.store.page_count();
        TableStats {
            name: R::TABLE_NAME,
            rows: self.len(),
            pages,
            page_bytes: pages * PAGE_SIZE,
            free_bytes: self.store.free_bytes(),
            retired_slots: self.store.retired_slots(),
            locked_rows: self.locks.len(),
            indexes: (0..<R::Indexes as IndexSet<R>>::COUNT)
                .map(|i| {
                    let index = self.indexes.index(i);
                    IndexStats {
                        name: index.name(),
                        unique: index.is_unique(),
                        entries: index.entry_count(),
                    }
                })
                .collect(),
        }
    }
}
