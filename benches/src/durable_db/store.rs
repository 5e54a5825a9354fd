//! The database the reopen benchmarks open: three tables ([`User`]s,
//! [`Account`]s and ledger [`Entry`]s) holding a given number of rows
//! between them, all in the checkpoint, and optionally a tenth as many
//! changes logged after it.

use std::path::Path;

use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options};

use super::{Account, Entry, owner};
use crate::durable::SEED;
use crate::{Mode, User, block_on, users};

/// Rows per transaction while the database is filled.
const FILL_BATCH: usize = 10_000;

/// The three tables.
#[derive(Database, Debug)]
pub struct Store {
    /// About a third of the rows ([`users`]).
    pub users: WorkTable<User>,
    /// About a third: accounts `0..n`.
    pub accounts: WorkTable<Account>,
    /// About a third: keys `1..=n`.
    pub ledger: WorkTable<Entry>,
}

impl Store {
    /// Rows in all three tables.
    pub fn rows(&self) -> usize {
        self.users.len() + self.accounts.len() + self.ledger.len()
    }
}

/// Rows of the databases the reopen benchmarks open: 1,000,000, or
/// 100,000 in quick mode.
pub fn reopen_rows(mode: Mode) -> Vec<usize> {
    match mode {
        Mode::Quick => vec![100_000],
        Mode::Default | Mode::Large => vec![1_000_000],
    }
}

/// Rows of each table when `rows` are spread over the three:
/// `(users, accounts, ledger)`.
pub fn split(rows: usize) -> (usize, usize, usize) {
    let third = rows / 3;
    (rows - 2 * third, third, third)
}

/// Options of every open here: no background checkpoint (the
/// directories must stay as they were built; `close` still takes one).
fn options(durability: Durability) -> Options {
    Options::durability(durability)
        .checkpoint_interval(None)
        .checkpoint_after_log_bytes(u64::MAX)
}

/// Opens the store kept in `dir`.
///
/// # Panics
///
/// If it cannot be opened.
pub fn open(dir: &Path, durability: Durability) -> DurableDatabase<Store> {
    DurableDatabase::open(dir, options(durability)).expect("the database opens")
}

/// Fills the (new) store in `dir` with `rows` rows spread over its three
/// tables ([`split`]), inserted in transactions of 10,000 rows with
/// [`Durability::None`], and closes it, which takes a checkpoint: the log
/// after it is empty.
///
/// # Panics
///
/// If the store cannot be opened, written or closed.
pub fn fill(dir: &Path, rows: usize) {
    let (users_n, accounts_n, ledger_n) = split(rows);
    let db = open(dir, Durability::None);
    let mut users = users(users_n, SEED).into_iter().peekable();
    while users.peek().is_some() {
        let batch: Vec<User> = users.by_ref().take(FILL_BATCH).collect();
        block_on(db.transaction(|tx| {
            let batch = batch.clone();
            async move {
                for user in batch {
                    tx.users.insert(user)?;
                }
                Ok::<_, TableError>(())
            }
        }))
        .expect("generated users are distinct");
    }
    for start in (0..accounts_n).step_by(FILL_BATCH) {
        let end = (start + FILL_BATCH).min(accounts_n);
        block_on(db.transaction(|tx| async move {
            for id in start..end {
                let id = id as u32;
                tx.accounts.insert(Account {
                    id,
                    owner: owner(id),
                    balance: i64::from(id % 1_000),
                })?;
            }
            Ok::<_, TableError>(())
        }))
        .expect("accounts are distinct");
    }
    for start in (0..ledger_n).step_by(FILL_BATCH) {
        let end = (start + FILL_BATCH).min(ledger_n);
        block_on(db.transaction(|tx| async move {
            for i in start..end {
                tx.ledger.insert(Entry {
                    id: 0,
                    account: (i % accounts_n.max(1)) as u32,
                    amount: (i % 997) as i64 - 498,
                })?;
            }
            Ok::<_, TableError>(())
        }))
        .expect("ledger rows get fresh keys");
    }
    assert_eq!(db.rows(), rows, "every row is in the store");
    block_on(db.close()).expect("the database closes");
}

/// After [`fill`] of `rows` rows: `changes` single-row updates, one commit
/// each, dealt round-robin to the three tables (a user's, an account's or
/// a ledger row's balance or amount), then drops the database without
/// closing it, so that they stay in the log after the checkpoint. Returns
/// the database's last commit number.
///
/// # Panics
///
/// If the store cannot be opened or written.
pub fn log_changes(dir: &Path, rows: usize, changes: usize) -> u64 {
    let (users_n, accounts_n, ledger_n) = split(rows);
    let user_ids: Vec<u64> = users(users_n, SEED).iter().map(|user| user.id).collect();
    let db = open(dir, Durability::None);
    for change in 0..changes {
        let k = change / 3;
        let updated = match change % 3 {
            0 => block_on(
                db.users
                    .update_with(&user_ids[k % users_n], |user| user.balance += 1),
            ),
            1 => block_on(
                db.accounts
                    .update_with(&((k % accounts_n) as u32), |account| account.balance += 1),
            ),
            _ => block_on(
                db.ledger
                    .update_with(&((k % ledger_n) as u64 + 1), |entry| entry.amount += 1),
            ),
        };
        updated.expect("the row exists");
    }
    let last = db.last_commit();
    // Dropped, not closed: `close` would take a checkpoint.
    drop(db);
    last
}
