//! Bulk load: a new database created holding many rows, written as its
//! first checkpoint; typed errors for duplicates and for an existing
//! database.

use super::{Account, Bank, Entry, account, check, contents, open, sync};
use crate::database::{DurableDatabase, LoadError};
use crate::table::OpenError;

fn entries(n: u64) -> impl Iterator<Item = Entry> {
    (1..=n).map(|id| Entry {
        id,
        account: (id % 100) as u32,
        amount: id as i64,
    })
}

#[tokio::test]
async fn a_loaded_database_holds_every_row_and_reopens_without_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let bank = DurableDatabase::<Bank>::create_loaded(dir.path(), sync(), |load| {
        assert_eq!(
            load.rows(|b| &b.accounts, (0..10_000).map(|id| account(id, 5)))?,
            10_000
        );
        load.rows(|b| &b.ledger, entries(15_000))?;
        load.rows(|b| &b.ledger, entries(20_000).skip(15_000))?;
        Ok(())
    })
    .unwrap();
    assert_eq!((bank.accounts.len(), bank.ledger.len()), (10_000, 20_000));
    check(&bank);
    assert_eq!(bank.ledger.find_by(Entry::ACCOUNT, &7).len(), 200);
    assert_eq!(
        bank.accounts.get_by(Account::OWNER, "owner-9").unwrap().id,
        9
    );
    // Generated keys go on above the loaded ones.
    let next = bank
        .ledger
        .insert(Entry {
            id: 0,
            account: 1,
            amount: 1,
        })
        .await
        .unwrap();
    assert_eq!(next, 20_001);
    let expected = contents(&bank);
    drop(bank);
    // Everything loaded is in the checkpoint: the log holds one insert.
    let log: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("log-"))
        .collect();
    assert_eq!(log.len(), 1);
    let bytes = std::fs::read(log[0].path()).unwrap();
    assert_eq!(crate::log::scan(&bytes).unwrap().records.len(), 1);

    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    check(&bank);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_duplicate_fails_the_whole_load() {
    let dir = tempfile::tempdir().unwrap();
    let duplicate_pk = DurableDatabase::<Bank>::create_loaded(dir.path(), sync(), |load| {
        load.rows(
            |b| &b.accounts,
            [account(1, 1), account(2, 2), account(1, 3)],
        )?;
        Ok(())
    });
    assert!(matches!(
        duplicate_pk,
        Err(LoadError::Rejected {
            table: "accounts",
            ..
        })
    ));
    // Nothing was loaded: an empty database.
    let bank = open(dir.path());
    assert!(bank.accounts.is_empty());
    bank.close().await.unwrap();

    let other = tempfile::tempdir().unwrap();
    let duplicate_unique = DurableDatabase::<Bank>::create_loaded(other.path(), sync(), |load| {
        let mut twin = account(2, 2);
        twin.owner = "owner-1".into();
        load.rows(|b| &b.accounts, [account(1, 1), twin])?;
        Ok(())
    });
    assert!(matches!(
        duplicate_unique,
        Err(LoadError::Open(OpenError::Restore { .. }))
    ));
    let bank = open(other.path());
    assert!(bank.accounts.is_empty());
    bank.close().await.unwrap();

    // A database is there now: a load creates, it does not add.
    assert!(matches!(
        DurableDatabase::<Bank>::create_loaded(other.path(), sync(), |_| Ok(())),
        Err(LoadError::Exists { .. })
    ));
}
