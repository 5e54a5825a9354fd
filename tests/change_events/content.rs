//! What each write produces: one event per changed row, of the write's kind, with the
//! row's key and its images (the new row for an insert, old and new for an update, the
//! old row for a delete), numbered one after the other — for single-row writes,
//! multi-row writes, query writes and row-guard writes.

use worktable_core::ChangeKind::{Delete, Insert, Update};
use worktable_core::prelude::*;

use super::{Account, Observer, account, assert_event};

/// Accounts 1..=8, team `id % 3`: team 0 is [3, 6], team 1 is [1, 4, 7], team 2 is
/// [2, 5, 8]; code `a<id>`, balance `10 * id`.
async fn accounts() -> WorkTable<Account> {
    let table = WorkTable::new();
    for id in 1..=8 {
        table.insert(fixture(id)).await.unwrap();
    }
    table
}

fn fixture(id: u32) -> Account {
    account(id, &format!("a{id}"), (id % 3) as u8, i64::from(id) * 10)
}

#[tokio::test]
async fn single_row_writes_produce_one_event_each() {
    let table = WorkTable::<Account>::new();
    assert_eq!(table.last_seq(), 0);
    // Writes nobody observes are numbered too.
    table.insert(account(1, "a", 0, 10)).await.unwrap();
    table.insert(account(2, "b", 1, 20)).await.unwrap();
    assert_eq!(table.last_seq(), 2);
    let mut seen = Observer::new(&table);
    seen.nothing(&table);

    let inserted = account(3, "c", 2, 30);
    assert_eq!(table.insert(inserted.clone()).await.unwrap(), 3);
    seen.one(&table, Insert, None, Some(&inserted));

    let updated = account(3, "c2", 0, 31);
    table.update(updated.clone()).await.unwrap();
    seen.one(&table, Update, Some(&inserted), Some(&updated));

    table.update_with(&3, |row| row.balance += 9).await.unwrap();
    let modified = account(3, "c2", 0, 40);
    seen.one(&table, Update, Some(&updated), Some(&modified));
    assert_eq!(table.get(&3), Some(modified.clone()));

    // A change of nothing is still a committed update.
    table.update_with(&3, |_| ()).await.unwrap();
    seen.one(&table, Update, Some(&modified), Some(&modified));

    let upserted = account(4, "d", 1, 40);
    assert_eq!(table.upsert(upserted.clone()).await.unwrap(), None);
    seen.one(&table, Insert, None, Some(&upserted));
    let replacing = account(4, "d2", 2, 41);
    assert_eq!(
        table.upsert(replacing.clone()).await.unwrap(),
        Some(upserted.clone())
    );
    seen.one(&table, Update, Some(&upserted), Some(&replacing));

    assert_eq!(table.delete(&3).await.unwrap(), modified);
    seen.one(&table, Delete, Some(&modified), None);

    let by_code = table.delete_by(Account::CODE, "d2").await.unwrap();
    assert_eq!(by_code, replacing);
    seen.one(&table, Delete, Some(&replacing), None);

    assert_eq!(table.len(), 2);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn multi_row_writes_produce_one_event_per_row_in_key_order() {
    let table = accounts().await;
    let mut seen = Observer::new(&table);

    // update_all_by: team 1 is [1, 4, 7]; the change moves them to team 2.
    let changed = table
        .update_all_by(Account::TEAM, &1, |row| {
            row.team = 2;
            row.balance += 1;
        })
        .await
        .unwrap();
    assert_eq!(changed, 3);
    let events = seen.events(&table, 3);
    for (event, id) in events.iter().zip([1, 4, 7]) {
        let after = Account {
            team: 2,
            balance: fixture(id).balance + 1,
            ..fixture(id)
        };
        assert_event(
            event,
            event.seq(),
            Update,
            id,
            Some(&fixture(id)),
            Some(&after),
        );
        assert_eq!(table.get(&id), Some(after));
    }

    // update_range: 2 and 3.
    let changed = table
        .update_range(2..=3, |row| row.note = format!("n{}", row.id))
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let events = seen.events(&table, 2);
    for (event, id) in events.iter().zip([2, 3]) {
        let after = Account {
            note: format!("n{id}"),
            ..fixture(id)
        };
        assert_event(
            event,
            event.seq(),
            Update,
            id,
            Some(&fixture(id)),
            Some(&after),
        );
    }

    // delete_all_by: team 0 is [3, 6] (3 with its note).
    let gone = table.delete_all_by(Account::TEAM, &0).await.unwrap();
    assert_eq!(gone.iter().map(|row| row.id).collect::<Vec<_>>(), [3, 6]);
    let events = seen.events(&table, 2);
    for (event, row) in events.iter().zip(&gone) {
        assert_event(event, event.seq(), Delete, row.id, Some(row), None);
    }

    // delete_range: 1 (team 2 now) and 2.
    let gone = table.delete_range(..=2).await.unwrap();
    assert_eq!(gone.iter().map(|row| row.id).collect::<Vec<_>>(), [1, 2]);
    let events = seen.events(&table, 2);
    for (event, row) in events.iter().zip(&gone) {
        assert_event(event, event.seq(), Delete, row.id, Some(row), None);
    }

    // Selections that match nothing change nothing.
    assert_eq!(
        table
            .update_all_by(Account::TEAM, &0, |_| ())
            .await
            .unwrap(),
        0
    );
    assert_eq!(table.update_range(100.., |_| ()).await.unwrap(), 0);
    assert!(
        table
            .delete_all_by(Account::CODE, "zz")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(table.delete_range(9..).await.unwrap().is_empty());
    seen.nothing(&table);

    // Left: 4, 5, 7, 8.
    assert_eq!(
        table.iter().map(|row| row.id).collect::<Vec<_>>(),
        [4, 5, 7, 8]
    );
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn query_writes_produce_one_event_per_row_in_key_order() {
    let table = accounts().await;
    let mut seen = Observer::new(&table);

    // Balances above 45: 5, 6, 7, 8.
    let before: Vec<Account> = table.query().filter(|row| row.balance > 45).to_vec();
    let changed = table
        .query()
        .filter(|row| row.balance > 45)
        .update_with(|row| row.balance = -row.balance)
        .await
        .unwrap();
    assert_eq!(changed, 4);
    let events = seen.events(&table, 4);
    for (event, old) in events.iter().zip(&before) {
        let new = Account {
            balance: -old.balance,
            ..old.clone()
        };
        assert_event(event, event.seq(), Update, old.id, Some(old), Some(&new));
    }

    // Team 2 is [2, 5, 8].
    let gone = table.query().by(Account::TEAM, &2).delete().await.unwrap();
    assert_eq!(gone.iter().map(|row| row.id).collect::<Vec<_>>(), [2, 5, 8]);
    let events = seen.events(&table, 3);
    for (event, row) in events.iter().zip(&gone) {
        assert_event(event, event.seq(), Delete, row.id, Some(row), None);
    }

    assert_eq!(
        table.query().by(Account::TEAM, &2).delete().await.unwrap(),
        []
    );
    seen.nothing(&table);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn row_guard_writes_produce_one_event_each_while_the_guard_is_held() {
    let table = accounts().await;
    let mut seen = Observer::new(&table);

    let mut guard = table.lock(&2).await.unwrap();
    guard.update_with(|row| row.balance = 1).await.unwrap();
    let one = Account {
        balance: 1,
        ..fixture(2)
    };
    seen.one(&table, Update, Some(&fixture(2)), Some(&one));

    let replaced = account(2, "z", 0, 2);
    assert_eq!(guard.update(replaced.clone()).await.unwrap(), one);
    seen.one(&table, Update, Some(&one), Some(&replaced));

    assert_eq!(guard.delete().await.unwrap(), replaced);
    seen.one(&table, Delete, Some(&replaced), None);

    let again = account(2, "y", 1, 3);
    assert_eq!(guard.upsert(again.clone()).await.unwrap(), None);
    seen.one(&table, Insert, None, Some(&again));
    let last = account(2, "y", 1, 4);
    assert_eq!(
        guard.upsert(last.clone()).await.unwrap(),
        Some(again.clone())
    );
    seen.one(&table, Update, Some(&again), Some(&last));
    drop(guard);

    // Guards from lock_all write their own rows, one event each.
    let mut guards = table.lock_all([7, 1]).await.unwrap();
    guards[1].delete().await.unwrap();
    seen.one(&table, Delete, Some(&fixture(7)), None);
    guards[0].update_with(|row| row.team = 9).await.unwrap();
    let moved = Account {
        team: 9,
        ..fixture(1)
    };
    seen.one(&table, Update, Some(&fixture(1)), Some(&moved));
    drop(guards);

    assert_eq!(table.get(&2), Some(last));
    table.check_integrity().unwrap();
}
