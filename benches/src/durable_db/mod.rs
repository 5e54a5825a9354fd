//! Durable databases, the workload of `benches/durable_db.rs`: transfers
//! between accounts (two balance updates and a ledger insert, one durable
//! transaction each) from W concurrent writers, and the time to reopen a
//! database of three tables.
//!
//! - [`TransferSystem`] is what a system must do (open a directory holding
//!   [`ACCOUNTS`] accounts, run one transfer durably, close); [`Transfers`]
//!   keeps one system open and times rounds of transfers against it.
//!   Systems: [`worktable`] (a `DurableDatabase` of [`Bank`],
//!   `Durability::Sync`) and [`sqlite`] (WAL, `synchronous=FULL`).
//! - [`store`] builds and reopens the database of the reopen benchmarks.
//! - [`summary`] turns criterion's output into transfers per second and
//!   ratios.
//!
//! The disk, the directories (`$WORKTABLE_BENCH_DIR`, tmpfs refused) and
//! the tokio runtime are the durable benchmark's [`Runner`]'s.

pub mod bulk;
pub mod sqlite;
pub mod store;
pub mod summary;
pub mod worktable;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use worktable_core::prelude::*;

use crate::durable::{Runner, Writers};
use crate::now;

/// Accounts in the bank; writer `w` moves money between accounts `2w` and
/// `2w + 1`, so writers never touch each other's accounts.
pub const ACCOUNTS: u32 = 1_000;

/// Balance of every account when the bank is opened.
pub const INITIAL_BALANCE: i64 = 1_000_000;

/// Transfers per measured iteration, split evenly among the writers
/// (divisible by every count in [`WRITER_COUNTS`]).
pub const TRANSFERS_PER_ITERATION: usize = 512;

/// The concurrent writer counts measured (at most [`ACCOUNTS`] / 2).
pub const WRITER_COUNTS: [usize; 3] = [1, 4, 16];

/// An account.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct Account {
    /// Primary key.
    #[pk]
    pub id: u32,
    /// Unique: `owner-<id>`.
    #[index(unique)]
    pub owner: String,
    /// Changed by every transfer.
    pub balance: i64,
}

/// A ledger row: one per transfer.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct Entry {
    /// Generated key.
    #[pk(autoincrement)]
    pub id: u64,
    /// The account debited; non-unique index.
    #[index]
    pub account: u32,
    /// What was taken from it (negative).
    pub amount: i64,
}

/// The tables of the transfer benchmark.
#[derive(Database, Debug)]
pub struct Bank {
    /// [`ACCOUNTS`] accounts.
    pub accounts: WorkTable<Account>,
    /// One row per transfer.
    pub ledger: WorkTable<Entry>,
}

/// The account row every system starts with.
pub fn account(id: u32) -> Account {
    Account {
        id,
        owner: owner(id),
        balance: INITIAL_BALANCE,
    }
}

/// The unique owner name of account `id`.
pub fn owner(id: u32) -> String {
    format!("owner-{id:06}")
}

/// One transfer: `amount` from account `from` to account `to`, and a
/// ledger row (`account: from`, `amount: -amount`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Debited.
    pub from: u32,
    /// Credited.
    pub to: u32,
    /// Moved.
    pub amount: i64,
}

/// What a store holds: every account's balance by id, and the ledger's
/// rows as `(account, amount)` in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// `(id, balance)`, by id.
    pub balances: Vec<(u32, i64)>,
    /// `(account, amount)`, in the ledger's key order.
    pub ledger: Vec<(u32, i64)>,
}

/// A store of accounts and a ledger in a directory, with the same schema
/// and indexes everywhere, whose transfer returns once it is durable.
///
/// As in [`DurableSystem`](crate::durable::DurableSystem), systems whose
/// writers are [`Threads`](Writers::Threads) do all the work in the first
/// poll of [`transfer`](Self::transfer).
pub trait TransferSystem: Send + Sync + Sized + 'static {
    /// Name in benchmark IDs and the summary.
    const NAME: &'static str;

    /// How concurrent writers run.
    const WRITERS: Writers;

    /// Opens (creating) the store kept in `dir`, an empty directory, for
    /// up to `writers` concurrent writers, and gives it [`ACCOUNTS`]
    /// accounts ([`account`]) durably.
    fn open(dir: &Path, writers: usize) -> Self;

    /// Runs `transfer` in one transaction from writer `writer` (below the
    /// count given to [`open`](Self::open)); completes once it is durable.
    ///
    /// # Panics
    ///
    /// If the transfer fails.
    fn transfer(&self, writer: usize, transfer: Transfer) -> impl Future<Output = ()> + Send;

    /// Makes everything durable and closes the store.
    fn close(self);

    /// What a fresh open of `dir` finds.
    fn stored(dir: &Path) -> Stored;
}

/// Something done once per transfer system, generic over its type:
/// [`visit_all`] calls [`TransferVisitor::visit`] for each.
pub trait TransferVisitor {
    /// Does the work for system `S`.
    fn visit<S: TransferSystem>(&mut self);
}

/// Names of the systems, in the order [`visit_all`] visits them.
pub const NAMES: [&str; 2] = [worktable::WorktableBank::NAME, sqlite::SqliteBank::NAME];

/// Calls `visitor` for each system, in the order of [`NAMES`].
pub fn visit_all(visitor: &mut impl TransferVisitor) {
    visitor.visit::<worktable::WorktableBank>();
    visitor.visit::<sqlite::SqliteBank>();
}

/// `transfers` transfers dealt to `writers` writers: writer `w` moves 1
/// back and forth between accounts `2w` and `2w + 1`.
///
/// # Panics
///
/// If there are not enough accounts for `writers` pairs.
pub fn split_among(transfers: usize, writers: usize) -> Vec<Vec<Transfer>> {
    assert!(
        writers <= ACCOUNTS as usize / 2,
        "{writers} writers: too few accounts"
    );
    (0..writers)
        .map(|w| {
            let count = transfers / writers + usize::from(w < transfers % writers);
            let pair = [2 * w as u32, 2 * w as u32 + 1];
            (0..count)
                .map(|k| Transfer {
                    from: pair[k % 2],
                    to: pair[1 - k % 2],
                    amount: 1,
                })
                .collect()
        })
        .collect()
}

/// One system open in a fresh directory for a benchmark: each
/// [`run`](Self::run) has its writers do their transfers against it, and
/// times them. The directory is removed when it is dropped, after the
/// system is closed ([`close`](Self::close)).
#[derive(Debug)]
pub struct Transfers<'r, S: TransferSystem> {
    runner: &'r Runner,
    system: Arc<S>,
    dir: TempDir,
}

impl<'r, S: TransferSystem> Transfers<'r, S> {
    /// Opens `S` in a fresh directory of `runner` for `writers` writers
    /// (not timed).
    pub fn open(runner: &'r Runner, writers: usize) -> Self {
        let dir = runner.fresh_dir();
        let system = Arc::new(S::open(dir.path(), writers));
        Self {
            runner,
            system,
            dir,
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `work[w]` from writer `w`, all writers at once, and returns
    /// the time from the start of the writers until every transfer was
    /// acknowledged.
    ///
    /// # Panics
    ///
    /// If a transfer fails.
    pub fn run(&self, work: &[Vec<Transfer>]) -> Duration {
        match S::WRITERS {
            Writers::Threads => self.on_threads(work),
            Writers::Tasks => self.on_tasks(work),
        }
    }

    fn on_threads(&self, work: &[Vec<Transfer>]) -> Duration {
        let system = self.system.as_ref();
        let start = Instant::now();
        thread::scope(|scope| {
            for (writer, transfers) in work.iter().enumerate() {
                scope.spawn(move || {
                    for &transfer in transfers {
                        now(system.transfer(writer, transfer));
                    }
                });
            }
        });
        start.elapsed()
    }

    fn on_tasks(&self, work: &[Vec<Transfer>]) -> Duration {
        let work = work.to_vec();
        self.runner.runtime().block_on(async {
            let start = Instant::now();
            let writers: Vec<_> = work
                .into_iter()
                .enumerate()
                .map(|(writer, transfers)| {
                    let system = Arc::clone(&self.system);
                    tokio::spawn(async move {
                        for transfer in transfers {
                            system.transfer(writer, transfer).await;
                        }
                    })
                })
                .collect();
            for writer in writers {
                writer.await.expect("a writer task panicked");
            }
            start.elapsed()
        })
    }

    /// Closes the system and returns its directory (removed when dropped).
    pub fn close(self) -> TempDir {
        Arc::into_inner(self.system)
            .expect("the writers are done with the system")
            .close();
        self.dir
    }
}
