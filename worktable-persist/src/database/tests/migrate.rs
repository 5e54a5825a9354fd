//! Migrating a table of a durable database to a changed row type.

use worktable_core::prelude::*;

use super::{Account, Entry, sync};
use crate::database::{DurableDatabase, Migrations};
use crate::table::OpenError;

/// The ledger's next row type: a note added, the amount's type kept.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "entry")]
struct EntryV2 {
    #[pk(autoincrement)]
    id: u64,
    #[index]
    account: u32,
    amount: i64,
    note: String,
}

#[derive(Database)]
struct BankV2 {
    accounts: WorkTable<Account>,
    ledger: WorkTable<EntryV2>,
}

fn migrations() -> Migrations<BankV2> {
    Migrations::new().table(
        |db| &db.ledger,
        |old: Entry| EntryV2 {
            id: old.id,
            account: old.account,
            amount: old.amount,
            note: String::new(),
        },
    )
}

#[tokio::test]
async fn a_table_migrates_once_with_its_log_and_the_others_stay() {
    let dir = tempfile::tempdir().unwrap();
    let bank = super::open(dir.path());
    bank.accounts.insert(super::account(1, 10)).await.unwrap();
    // Long-lived rows in many pages, then the checkpoint, then log.
    for n in 0..2_000 {
        bank.ledger
            .insert(Entry {
                id: 0,
                account: n % 7,
                amount: i64::from(n),
            })
            .await
            .unwrap();
    }
    bank.checkpoint().await.unwrap();
    bank.ledger.delete(&2_000).await.unwrap();
    bank.ledger
        .update_with(&5, |e| e.amount = -5)
        .await
        .unwrap();
    drop(bank); // the last changes only in the log

    assert!(matches!(
        DurableDatabase::<BankV2>::open(dir.path(), sync()),
        Err(OpenError::SchemaMismatch { .. })
    ));
    let v2 = DurableDatabase::open_migrating(dir.path(), sync(), migrations()).unwrap();
    assert_eq!(v2.ledger.len(), 1_999);
    assert_eq!(v2.ledger.get(&5).unwrap().amount, -5);
    assert_eq!(v2.ledger.find_by(EntryV2::ACCOUNT, &3).len(), 286);
    assert_eq!(v2.accounts.get(&1).unwrap().balance, 10);
    // The deleted key stays retired across the migration.
    let next = v2
        .ledger
        .insert(EntryV2 {
            id: 0,
            account: 1,
            amount: 1,
            note: "new".into(),
        })
        .await
        .unwrap();
    assert_eq!(next, 2_001);
    let expected: Vec<EntryV2> = v2.ledger.iter().collect();
    drop(v2);

    // Migrated for good: a plain open reads it, a second migration does
    // nothing.
    let v2 = DurableDatabase::<BankV2>::open(dir.path(), sync()).unwrap();
    assert_eq!(v2.ledger.iter().collect::<Vec<_>>(), expected);
    v2.ledger.check_integrity().unwrap();
    v2.close().await.unwrap();
    let again = DurableDatabase::open_migrating(dir.path(), sync(), migrations()).unwrap();
    assert_eq!(again.ledger.iter().collect::<Vec<_>>(), expected);
    again.close().await.unwrap();
}

/// Rows that shrink: the migrated table uses fewer pages than the old one
/// did, and none of the old pages may stay in its checkpoint.
#[tokio::test]
async fn a_migration_to_smaller_rows_leaves_no_old_page_behind() {
    #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    #[rkyv(crate = worktable_core::rkyv)]
    #[table(name = "entry")]
    struct Wide {
        #[pk]
        id: u64,
        #[index]
        account: u32,
        amount: i64,
        padding: String,
    }
    #[derive(Database)]
    struct Before {
        accounts: WorkTable<Account>,
        ledger: WorkTable<Wide>,
    }
    let dir = tempfile::tempdir().unwrap();
    let before = DurableDatabase::<Before>::create_loaded(dir.path(), sync(), |load| {
        load.rows(
            |db| &db.ledger,
            (0..3_000).map(|id| Wide {
                id,
                account: 1,
                amount: 1,
                padding: "x".repeat(400),
            }),
        )?;
        Ok(())
    })
    .unwrap();
    let old_pages = before.ledger.stats().pages;
    before.close().await.unwrap();

    let migrations = Migrations::<super::Bank>::new().table(
        |db| &db.ledger,
        |old: Wide| Entry {
            id: old.id,
            account: old.account,
            amount: old.amount,
        },
    );
    let after = DurableDatabase::open_migrating(dir.path(), sync(), migrations).unwrap();
    let new_pages = after.ledger.stats().pages;
    assert!(new_pages < old_pages);
    after.close().await.unwrap();
    let after = DurableDatabase::<super::Bank>::open(dir.path(), sync()).unwrap();
    assert_eq!(after.ledger.len(), 3_000);
    assert_eq!(
        after.ledger.stats().pages,
        new_pages,
        "no old page reloaded"
    );
    after.ledger.check_integrity().unwrap();
    after.close().await.unwrap();
}
