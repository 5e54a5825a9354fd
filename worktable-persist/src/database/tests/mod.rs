//! Tests of the durable database: round trips of single writes and
//! transactions over two tables through the one log, checkpoints at one
//! commit number, a commit cut by a crash dropped whole, and typed errors
//! for a directory of other tables.

mod api;
mod backup;
mod bulk;
mod confirmed;
mod load;
mod migrate;
mod recovery;

use std::fs;
use std::path::{Path, PathBuf};

use worktable_core::prelude::*;

use super::DurableDatabase;
use crate::table::files::segment_name;
use crate::table::{Durability, OpenError, Options};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(super) struct Account {
    #[pk]
    pub(super) id: u32,
    #[index(unique)]
    pub(super) owner: String,
    pub(super) balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(super) struct Entry {
    #[pk(autoincrement)]
    pub(super) id: u64,
    #[index]
    pub(super) account: u32,
    pub(super) amount: i64,
}

#[derive(Database)]
pub(super) struct Bank {
    pub(super) accounts: WorkTable<Account>,
    pub(super) ledger: WorkTable<Entry>,
}

/// The same tables in the other order: another database.
#[derive(Database)]
struct Swapped {
    ledger: WorkTable<Entry>,
    accounts: WorkTable<Account>,
}

pub(super) fn sync() -> Options {
    Options::durability(Durability::Sync)
}

pub(super) fn open(dir: &Path) -> DurableDatabase<Bank> {
    DurableDatabase::<Bank>::open(dir, sync()).expect("open")
}

pub(super) fn account(id: u32, balance: i64) -> Account {
    Account {
        id,
        owner: format!("owner-{id}"),
        balance,
    }
}

/// Moves `amount` from `from` to `to` and records it in the ledger, in one
/// transaction.
pub(super) async fn transfer(bank: &Bank, from: u32, to: u32, amount: i64) {
    bank.transaction(|tx| async move {
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
    .expect("transfer");
}

/// Every row of both tables.
pub(super) fn contents(bank: &Bank) -> (Vec<Account>, Vec<Entry>) {
    (bank.accounts.iter().collect(), bank.ledger.iter().collect())
}

/// Checks that both tables' indexes agree with their rows.
pub(super) fn check(bank: &Bank) {
    bank.accounts.check_integrity().unwrap();
    bank.ledger.check_integrity().unwrap();
}

/// Puts the database file back as a killed process leaves it: a drop
/// records how far the log was synced, a kill does not.
pub(super) fn as_if_killed(dir: &Path) {
    let vfs = crate::vfs::RealFs;
    let mut stored = super::file::read(&vfs, dir).unwrap().unwrap();
    stored.log_synced_through = stored.checkpoint_seq;
    super::file::write(&vfs, dir, &stored).unwrap();
}

pub(super) fn log_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(segment_name(first))
}

#[tokio::test]
async fn writes_and_transactions_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 50)).await.unwrap();
    transfer(&bank, 1, 2, 30).await;
    transfer(&bank, 2, 1, 5).await;
    bank.accounts.delete(&2).await.unwrap();
    let expected = contents(&bank);
    let last = bank.last_commit();
    bank.close().await.unwrap();

    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    assert_eq!(bank.last_commit(), last);
    check(&bank);
    assert_eq!(
        bank.accounts
            .get_by(Account::OWNER, "owner-1")
            .unwrap()
            .balance,
        75
    );
    assert_eq!(bank.ledger.find_by(Entry::ACCOUNT, &1).len(), 1);
    // Numbering and keys go on where they were.
    let id = bank
        .ledger
        .insert(Entry {
            id: 0,
            account: 1,
            amount: 1,
        })
        .await
        .unwrap();
    assert_eq!(id, 3);
    assert_eq!(bank.last_commit(), last + 1);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_dropped_database_replays_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 0)).await.unwrap();
    for _ in 0..10 {
        transfer(&bank, 1, 2, 1).await;
    }
    let expected = contents(&bank);
    // No checkpoint: everything is in the log.
    drop(bank);
    assert!(!dir.path().join("t0/pages").exists());

    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    check(&bank);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn checkpoints_cover_every_table_at_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 0)).await.unwrap();
    transfer(&bank, 1, 2, 10).await;
    let report = bank.checkpoint().await.unwrap();
    assert_eq!(report.seq, bank.last_commit());
    assert_eq!(report.rows, 3);
    // Only the accounts change after it: the ledger's checkpoint moves too.
    bank.accounts
        .update_with(&1, |a| a.balance = 1)
        .await
        .unwrap();
    let report = bank.checkpoint().await.unwrap();
    assert_eq!(report.seq, bank.last_commit());
    // After it, more log.
    transfer(&bank, 2, 1, 3).await;
    let expected = contents(&bank);
    drop(bank);
    // The log before the checkpoint is gone.
    assert!(!log_path(dir.path(), 1).exists());

    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    check(&bank);
    let id = bank
        .ledger
        .insert(Entry {
            id: 0,
            account: 2,
            amount: 0,
        })
        .await
        .unwrap();
    assert_eq!(id, 3);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_deleted_generated_key_is_not_reused_after_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    for amount in 0..3 {
        bank.ledger
            .insert(Entry {
                id: 0,
                account: 1,
                amount,
            })
            .await
            .unwrap();
    }
    bank.ledger.delete(&3).await.unwrap();
    bank.close().await.unwrap(); // checkpoints: the key lives only in `db`

    let bank = open(dir.path());
    let id = bank
        .ledger
        .insert(Entry {
            id: 0,
            account: 1,
            amount: 9,
        })
        .await
        .unwrap();
    assert_eq!(id, 4);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_directory_of_other_tables_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().await.unwrap();
    match DurableDatabase::<Swapped>::open(dir.path(), sync()) {
        Err(OpenError::DatabaseTables {
            stored, expected, ..
        }) => {
            assert_eq!(stored, ["accounts", "ledger"]);
            assert_eq!(expected, ["ledger", "accounts"]);
        }
        other => panic!("expected DatabaseTables, got {other:?}"),
    }
    // A table directory is not a database directory, nor the other way.
    let table_dir = tempfile::tempdir().unwrap();
    crate::PersistentTable::<Account>::open(table_dir.path(), sync())
        .unwrap()
        .close()
        .await
        .unwrap();
    assert!(matches!(
        DurableDatabase::<Bank>::open(table_dir.path(), sync()),
        Err(OpenError::NotATableDirectory { .. })
    ));
    assert!(matches!(
        crate::PersistentTable::<Account>::open(dir.path(), sync()),
        Err(OpenError::NotATableDirectory { .. })
    ));
}

#[tokio::test]
async fn a_second_open_is_refused_and_close_releases() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    assert!(matches!(
        DurableDatabase::<Bank>::open(dir.path(), sync()),
        Err(OpenError::AlreadyOpen { .. })
    ));
    bank.close().await.unwrap();
    // Closed: writes are refused, reads go on, and the directory reopens.
    assert!(bank.accounts.insert(account(1, 1)).await.is_err());
    assert!(bank.accounts.is_empty());
    let again = open(dir.path());
    again.close().await.unwrap();
}

#[tokio::test]
async fn a_damaged_database_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().await.unwrap();
    let path = dir.path().join("db");
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    fs::write(&path, bytes).unwrap();
    match DurableDatabase::<Bank>::open(dir.path(), sync()) {
        Err(OpenError::Database { path: found, .. }) => assert_eq!(found, path),
        other => panic!("expected a damaged database file, got {other:?}"),
    }
}

#[tokio::test]
async fn wait_durable_syncs_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let bank = DurableDatabase::<Bank>::open(
        dir.path(),
        Options::durability(Durability::Periodic(std::time::Duration::from_secs(3600))),
    )
    .unwrap();
    bank.accounts.insert(account(1, 1)).await.unwrap();
    let seq = bank.last_commit();
    bank.wait_durable(seq).await.unwrap();
    let bytes = fs::read(log_path(dir.path(), 1)).unwrap();
    assert_eq!(crate::log::scan(&bytes).unwrap().records.len(), 1);
    bank.close().await.unwrap();
}
