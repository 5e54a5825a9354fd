//! This project: a [`DurableDatabase`] of [`Bank`] with
//! [`Durability::Sync`]; a transfer is one `transaction` over both tables
//! (one unit in the log), and writers are tokio tasks.

use std::path::Path;

use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options};

use super::{ACCOUNTS, Bank, Entry, Stored, Transfer, TransferSystem, account};
use crate::block_on;
use crate::durable::Writers;

/// A [`DurableDatabase`] of [`Bank`] opened with [`Durability::Sync`]: a
/// transaction returns once its commit is synced, and concurrent commits
/// share a sync (group commit).
#[derive(Debug)]
pub struct WorktableBank {
    db: DurableDatabase<Bank>,
}

/// Opens the bank kept in `dir`.
///
/// # Panics
///
/// If it cannot be opened.
fn open(dir: &Path, durability: Durability) -> DurableDatabase<Bank> {
    DurableDatabase::open(dir, Options::durability(durability)).expect("the database opens")
}

impl TransferSystem for WorktableBank {
    const NAME: &'static str = "worktable";
    const WRITERS: Writers = Writers::Tasks;

    fn open(dir: &Path, _writers: usize) -> Self {
        let db = open(dir, Durability::Sync);
        block_on(db.transaction(|tx| async move {
            for id in 0..ACCOUNTS {
                tx.accounts.insert(account(id))?;
            }
            Ok::<_, TableError>(())
        }))
        .expect("the accounts are inserted");
        Self { db }
    }

    async fn transfer(&self, _writer: usize, transfer: Transfer) {
        let Transfer { from, to, amount } = transfer;
        self.db
            .transaction(|tx| async move {
                tx.accounts.update_with(&from, |a| a.balance -= amount)?;
                tx.accounts.update_with(&to, |a| a.balance += amount)?;
                tx.ledger.insert(Entry {
                    id: 0,
                    account: from,
                    amount: -amount,
                })?;
                Ok::<_, TableError>(())
            })
            .await
            .expect("a durable transfer");
    }

    fn close(self) {
        block_on(self.db.close()).expect("the database closes");
    }

    fn stored(dir: &Path) -> Stored {
        let db = open(dir, Durability::None);
        let mut balances: Vec<(u32, i64)> = db.accounts.iter().map(|a| (a.id, a.balance)).collect();
        balances.sort_unstable();
        let mut ledger: Vec<(u64, u32, i64)> = db
            .ledger
            .iter()
            .map(|e| (e.id, e.account, e.amount))
            .collect();
        ledger.sort_unstable();
        block_on(db.close()).expect("the database closes");
        Stored {
            balances,
            ledger: ledger.into_iter().map(|(_, a, m)| (a, m)).collect(),
        }
    }
}
