//! This project: a [`PersistentTable`] of [`User`]s with
//! [`Durability::Sync`]; writers are tokio tasks, as its users run them.

use std::path::Path;

use worktable_persist::{Durability, Options, PersistentTable};

use super::{DurableSystem, Writers};
use crate::{User, block_on, now};

/// A [`PersistentTable`] opened with [`Durability::Sync`]: an insert
/// returns once its log record is synced, and concurrent inserts share a
/// sync (group commit).
#[derive(Debug)]
pub struct Worktable {
    table: PersistentTable<User>,
}

impl DurableSystem for Worktable {
    const NAME: &'static str = "worktable";
    const WRITERS: Writers = Writers::Tasks;

    fn open(dir: &Path) -> Self {
        Self {
            table: open(dir, Durability::Sync),
        }
    }

    async fn insert(&self, user: User) {
        self.table.insert(user).await.expect("durable insert");
    }

    fn close(self) {
        block_on(self.table.close()).expect("the table closes");
    }

    fn stored_rows(dir: &Path) -> usize {
        let table = open(dir, Durability::None);
        let rows = table.len();
        block_on(table.close()).expect("the table closes");
        rows
    }
}

/// Opens the table in `dir`.
///
/// # Panics
///
/// If it cannot be opened.
pub fn open(dir: &Path, durability: Durability) -> PersistentTable<User> {
    PersistentTable::open(dir, Options::durability(durability)).expect("the table opens")
}

/// Fills the table kept in `dir` with `rows`, inserted one by one with
/// [`Durability::None`] (so its log has one record per row), and closes it
/// (which syncs the log): the table the `reopen` benchmarks open.
///
/// # Panics
///
/// If the table cannot be opened, written or closed.
pub fn fill(dir: &Path, rows: impl IntoIterator<Item = User>) {
    let table = open(dir, Durability::None);
    for user in rows {
        // With `Durability::None` an insert never waits for the log.
        now(table.insert(user)).expect("generated rows are distinct");
    }
    block_on(table.close()).expect("the table closes");
}

/// Opens the table kept in `dir` (replaying its log) and closes it again:
/// what the `reopen` benchmarks time. Returns the rows it held.
///
/// # Panics
///
/// If the table cannot be opened or closed.
pub fn reopen(dir: &Path) -> usize {
    let table = open(dir, Durability::Sync);
    let rows = table.len();
    block_on(table.close()).expect("the table closes");
    rows
}
