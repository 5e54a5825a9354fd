//! Failed writes produce no event and take no sequence number: the next successful
//! write is numbered right after the last one a subscriber saw. A multi-row write that
//! fails midway produces the events of the rows it changed before failing, and only
//! those.

use worktable_core::ChangeKind::{Insert, Update};
use worktable_core::prelude::*;

use super::{Account, Observer, account, contents};

/// A note that makes a row larger than a row may be.
fn too_long() -> String {
    "x".repeat(worktable_core::MAX_ROW_BYTES + 1)
}

/// Accounts 1..=3 with codes `a1`..`a3`, team 1.
async fn three() -> WorkTable<Account> {
    let table = WorkTable::new();
    for id in 1..=3 {
        table
            .insert(account(id, &format!("a{id}"), 1, 0))
            .await
            .unwrap();
    }
    table
}

#[tokio::test]
async fn failed_writes_produce_no_event_and_take_no_number() {
    let table = three().await;
    let mut seen = Observer::new(&table);
    let rows = contents(&table);
    let big = Account {
        note: too_long(),
        ..account(1, "a1", 1, 0)
    };
    let mut successes = 0;

    macro_rules! fails {
        ($write:expr, $error:pat) => {{
            let result = $write.await;
            assert!(matches!(result, Err($error)), "{result:?}");
            seen.nothing(&table);
            assert_eq!(contents(&table), rows);
            // The next write that succeeds is numbered right after the last event.
            successes += 1;
            let row = account(100 + successes, "fresh", 0, 0);
            table.insert(row.clone()).await.unwrap();
            seen.one(&table, Insert, None, Some(&row));
            table.delete(&row.id).await.unwrap();
            seen.events(&table, 1);
        }};
    }

    fails!(
        table.insert(account(1, "new", 1, 0)),
        TableError::DuplicatePk { .. }
    );
    fails!(
        table.insert(account(9, "a2", 1, 0)),
        TableError::DuplicateKey { .. }
    );
    fails!(
        table.insert(Account {
            id: 9,
            ..big.clone()
        }),
        TableError::RowTooLarge { .. }
    );
    fails!(
        table.update(account(9, "new", 1, 0)),
        TableError::NotFound { .. }
    );
    fails!(
        table.update(account(1, "a3", 1, 0)),
        TableError::DuplicateKey { .. }
    );
    fails!(table.update(big.clone()), TableError::RowTooLarge { .. });
    fails!(
        table.update_with(&9, |row| row.balance = 1),
        TableError::NotFound { .. }
    );
    fails!(
        table.update_with(&1, |row| row.id = 9),
        TableError::PkChanged { .. }
    );
    fails!(
        table.update_with(&1, |row| row.code = "a2".into()),
        TableError::DuplicateKey { .. }
    );
    fails!(
        table.update_with(&1, |row| row.note = too_long()),
        TableError::RowTooLarge { .. }
    );
    fails!(
        table.upsert(account(9, "a3", 1, 0)),
        TableError::DuplicateKey { .. }
    );
    fails!(
        table.upsert(account(1, "a3", 1, 0)),
        TableError::DuplicateKey { .. }
    );
    fails!(table.upsert(big.clone()), TableError::RowTooLarge { .. });
    fails!(table.delete(&9), TableError::NotFound { .. });
    fails!(
        table.delete_by(Account::CODE, "zz"),
        TableError::NotFound { .. }
    );
    fails!(
        table.update_all_by(Account::TEAM, &1, |row| row.id += 10),
        TableError::PkChanged { .. }
    );
    fails!(
        table.update_range(.., |row| row.note = too_long()),
        TableError::RowTooLarge { .. }
    );
    fails!(
        table.query().update_with(|row| row.code = "a3".into()),
        TableError::DuplicateKey { .. }
    );

    // Through a guard, on a live row and on an absent one.
    let mut guard = table.lock(&1).await.unwrap();
    let result = guard.update(account(2, "a1", 1, 0)).await;
    assert!(
        matches!(result, Err(TableError::PkChanged { .. })),
        "{result:?}"
    );
    let result = guard.upsert(account(2, "a1", 1, 0)).await;
    assert!(
        matches!(result, Err(TableError::PkChanged { .. })),
        "{result:?}"
    );
    let result = guard.update_with(|row| row.id = 2).await;
    assert!(
        matches!(result, Err(TableError::PkChanged { .. })),
        "{result:?}"
    );
    let result = guard.update_with(|row| row.code = "a2".into()).await;
    assert!(
        matches!(result, Err(TableError::DuplicateKey { .. })),
        "{result:?}"
    );
    drop(guard);
    let mut guard = table.lock(&9).await.unwrap();
    let result = guard.delete().await;
    assert!(
        matches!(result, Err(TableError::NotFound { .. })),
        "{result:?}"
    );
    let result = guard.update(account(9, "x", 1, 0)).await;
    assert!(
        matches!(result, Err(TableError::NotFound { .. })),
        "{result:?}"
    );
    let result = guard.update_with(|row| row.balance = 1).await;
    assert!(
        matches!(result, Err(TableError::NotFound { .. })),
        "{result:?}"
    );
    drop(guard);
    seen.nothing(&table);
    assert_eq!(contents(&table), rows);

    let last = account(3, "a3", 1, 7);
    table.update(last.clone()).await.unwrap();
    seen.one(&table, Update, Some(&account(3, "a3", 1, 0)), Some(&last));
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn a_multi_row_write_failing_midway_produces_the_events_of_the_rows_it_changed() {
    let table = three().await;
    let mut seen = Observer::new(&table);
    // Row 1 takes the code "same"; row 2 cannot, and the write stops there.
    let result = table
        .update_all_by(Account::TEAM, &1, |row| row.code = "same".into())
        .await;
    assert!(
        matches!(result, Err(TableError::DuplicateKey { .. })),
        "{result:?}"
    );
    seen.one(
        &table,
        Update,
        Some(&account(1, "a1", 1, 0)),
        Some(&account(1, "same", 1, 0)),
    );
    let result = table
        .update_range(2.., |row| {
            if row.id == 3 {
                row.note = too_long();
            }
            row.balance = 5;
        })
        .await;
    assert!(
        matches!(result, Err(TableError::RowTooLarge { .. })),
        "{result:?}"
    );
    seen.one(
        &table,
        Update,
        Some(&account(2, "a2", 1, 0)),
        Some(&account(2, "a2", 1, 5)),
    );
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn failed_writes_nobody_observes_take_no_number_either() {
    let table = three().await;
    assert_eq!(table.last_seq(), 3);
    assert!(table.insert(account(1, "x", 0, 0)).await.is_err());
    assert!(table.update(account(9, "x", 0, 0)).await.is_err());
    assert!(table.update_with(&1, |row| row.id = 5).await.is_err());
    assert!(table.delete(&9).await.is_err());
    assert_eq!(table.last_seq(), 3);
    // Each changed row takes one number.
    table
        .update_all_by(Account::TEAM, &1, |row| row.balance = 1)
        .await
        .unwrap();
    assert_eq!(table.last_seq(), 6);
    let mut seen = Observer::new(&table);
    table.delete(&2).await.unwrap();
    let events = seen.events(&table, 1);
    assert_eq!(events[0].seq(), 7);
}
