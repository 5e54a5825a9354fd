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
/// [`Durability::None`], and closes it, which takes a checkpoint: the log
/// after it is empty.
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

/// After [`fill`]: changes the balance of `changes` rows (ids from
/// `ids`, cycled) and drops the table without closing it, so that the log
/// after the checkpoint holds exactly `changes` records.
///
/// # Panics
///
/// If the table cannot be opened or written, or `ids` is empty.
pub fn log_changes(dir: &Path, ids: &[u64], changes: usize) {
    let table = open(dir, Durability::None);
    for &id in ids.iter().cycle().take(changes) {
        now(table.update_with(&id, |user| user.balance += 1)).expect("the row exists");
    }
    // Dropped, not closed: `close` would take a checkpoint.
    drop(table);
}

/// Opens the table kept in `dir` (its checkpoint, then the log after it):
/// what the `reopen` benchmarks time. The caller drops the table (outside
/// the timing), without a checkpoint, leaving the directory as it was.
///
/// # Panics
///
/// If the table cannot be opened.
pub fn reopen(dir: &Path) -> PersistentTable<User> {
    open(dir, Durability::Sync)
}
