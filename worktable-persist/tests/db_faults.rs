//! Write failures under a durable database on a simulated disk
//! ([`SimFs`]): the one log failing to sync, and each kind of file of the
//! multi-table checkpoint failing to be written.
//!
//! - A failed sync of the log fails the transfer waiting for it
//!   (`TableError::Durability`, source `WriteError::LogWrite`), refuses
//!   every later commit before it changes anything (`WriteRefused`), and
//!   `health()` says the database failed; the disk a killed process leaves
//!   reopens with every acknowledged transfer, whole, never a refused one,
//!   and the failed one whole or not at all.
//! - A checkpoint whose manifests, page files or database file cannot be
//!   written returns a typed error naming the file, loses nothing, and the
//!   next checkpoint succeeds; the database then reopens equal.
//!
//! Normal run: 4 seeds of the log failure; campaign
//! (`WORKTABLE_CAMPAIGN=1`): 40.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::{Rng, SeedGuard, is_refused, is_unlogged, seeds};
use worktable_core::TxError;
use worktable_core::prelude::*;
use worktable_persist::testing::vfs::{Fault, SimFs};
use worktable_persist::{CheckpointError, Durability, DurableDatabase, Health, Options};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
    balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk]
    id: u64,
    #[index]
    account: u32,
    amount: i64,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    ledger: WorkTable<Entry>,
}

const ACCOUNTS: u32 = 4;
const START: i64 = 1_000;

fn dir() -> &'static Path {
    Path::new("/disk/bank")
}

fn options() -> Options {
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Opens the bank on `disk` and seeds its accounts (once).
async fn open_seeded(disk: &SimFs) -> DurableDatabase<Bank> {
    let bank = DurableDatabase::<Bank>::open_in(Arc::new(disk.clone()), dir(), options()).unwrap();
    if bank.accounts.is_empty() {
        bank.transaction(|tx| async move {
            for id in 0..ACCOUNTS {
                tx.accounts.insert(Account { id, balance: START })?;
            }
            Ok::<_, TableError>(())
        })
        .await
        .unwrap();
    }
    bank
}

/// One transfer as a transaction: (ledger id, from, to, amount).
async fn transfer(
    bank: &Bank,
    (n, from, to, amount): (u64, u32, u32, i64),
) -> Result<(), TableError> {
    bank.transaction(|tx| async move {
        tx.accounts.update_with(&from, |a| a.balance -= amount)?;
        tx.accounts.update_with(&to, |a| a.balance += amount)?;
        tx.ledger.insert(Entry {
            id: n,
            account: from,
            amount: -amount,
        })?;
        Ok::<_, TableError>(())
    })
    .await
    .map(drop)
    .map_err(|error| match error {
        TxError::Table(error) => error,
        other => panic!("a transfer fails only on the table: {other:?}"),
    })
}

/// Balances the present ledger entries make, and whether the accounts
/// hold them.
fn balances_agree(bank: &Bank, known: &BTreeMap<u64, (u64, u32, u32, i64)>) -> Result<(), String> {
    let mut expected: BTreeMap<u32, i64> = (0..ACCOUNTS).map(|id| (id, START)).collect();
    for entry in bank.ledger.iter() {
        let Some(&(_, from, to, amount)) = known.get(&entry.id) else {
            return Err(format!("transfer {} was never begun", entry.id));
        };
        *expected.get_mut(&from).unwrap() -= amount;
        *expected.get_mut(&to).unwrap() += amount;
    }
    for account in bank.accounts.iter() {
        if expected[&account.id] != account.balance {
            return Err(format!(
                "account {} holds {}, the present transfers make {}: a transfer in part",
                account.id, account.balance, expected[&account.id]
            ));
        }
    }
    bank.accounts.check_integrity().map_err(|e| e.to_string())?;
    bank.ledger.check_integrity().map_err(|e| e.to_string())
}

#[test]
fn a_failed_log_sync_stops_commits_and_loses_nothing_acknowledged() {
    let count = if common::campaign() { 40 } else { 4 };
    for seed in seeds(0xdbfa, count, count) {
        let _guard = SeedGuard {
            seed,
            test: "a_failed_log_sync_stops_commits_and_loses_nothing_acknowledged",
            file: "db_faults",
        };
        let mut rng = Rng::new(seed);
        let disk = SimFs::new();
        let mut known = BTreeMap::new();
        let mut acked = Vec::new();
        let mut failed = None;
        runtime().block_on(async {
            let bank = open_seeded(&disk).await;
            // The 1st to 12th sync from now fails: one of the transfers'.
            disk.fail(Fault::Sync {
                nth: 1 + rng.below(12),
            });
            for n in 0..16u64 {
                let from = rng.below(u64::from(ACCOUNTS)) as u32;
                let to = (from + 1) % ACCOUNTS;
                let step = (n, from, to, 1 + rng.below(97) as i64);
                known.insert(n, step);
                match transfer(&bank, step).await {
                    Ok(()) => {
                        assert!(failed.is_none(), "a commit after the failure was taken");
                        acked.push(n);
                    }
                    Err(error) if failed.is_none() => {
                        assert!(is_unlogged(&error), "the first failure: {error}");
                        assert!(matches!(bank.health(), Health::Failed(_)));
                        failed = Some(n);
                    }
                    Err(error) => assert!(is_refused(&error), "after the failure: {error}"),
                }
            }
            assert!(failed.is_some(), "the injected sync failure was not hit");
            drop(bank);
        });
        let image = disk.kill_process();
        runtime().block_on(async {
            let bank = DurableDatabase::<Bank>::open_in(Arc::new(image), dir(), options()).unwrap();
            for n in &acked {
                assert!(
                    bank.ledger.get(n).is_some(),
                    "acknowledged transfer {n} lost"
                );
            }
            for entry in bank.ledger.iter() {
                assert!(
                    acked.contains(&entry.id) || Some(entry.id) == failed,
                    "refused transfer {} is present",
                    entry.id
                );
            }
            balances_agree(&bank, &known).unwrap();
            bank.close().await.unwrap();
        });
    }
}

#[test]
fn a_checkpoint_that_cannot_write_a_file_loses_nothing() {
    for prefix in ["manifest-", "pages", "db"] {
        let disk = SimFs::new();
        runtime().block_on(async {
            let bank = open_seeded(&disk).await;
            let mut known = BTreeMap::new();
            for n in 0..6u64 {
                let step = (n, (n % 4) as u32, ((n + 1) % 4) as u32, 1 + n as i64);
                known.insert(n, step);
                transfer(&bank, step).await.unwrap();
            }
            disk.fail(Fault::Path {
                prefix: prefix.to_owned(),
            });
            match bank.checkpoint().await {
                Err(
                    error @ (CheckpointError::Io { .. } | CheckpointError::ManifestEncode { .. }),
                ) => {
                    assert!(error.to_string().contains(prefix), "{prefix}: {error}");
                }
                other => panic!("{prefix}: expected a typed I/O error, got {other:?}"),
            }
            disk.clear_faults();
            // Writes go on, and the next checkpoint takes everything.
            let step = (6, 0, 1, 9);
            known.insert(6, step);
            transfer(&bank, step).await.unwrap();
            bank.checkpoint().await.unwrap();
            let expected: Vec<Entry> = bank.ledger.iter().collect();
            drop(bank);

            let bank =
                DurableDatabase::<Bank>::open_in(Arc::new(disk.kill_process()), dir(), options())
                    .unwrap();
            assert_eq!(bank.ledger.iter().collect::<Vec<_>>(), expected, "{prefix}");
            balances_agree(&bank, &known).unwrap();
            bank.close().await.unwrap();
        });
    }
}
