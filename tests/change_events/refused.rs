//! A commit hook may refuse a change at its commit point: the write fails with
//! `TableError::WriteRefused`, nothing of it stays in the table (rows, every index, the
//! slot it staged), no subscriber hears of it, and its sequence number goes to the next
//! change the hook accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use worktable_core::events::{CommitHook, Durable, Refusal};
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind};

use super::{Account, Observer, account, contents};

/// Accepts changes until told to refuse them; counts what it accepted.
#[derive(Default)]
struct Switch {
    refuse: AtomicBool,
    accepted: AtomicU64,
}

impl CommitHook<Account> for Switch {
    fn on_commit(&self, _: &ChangeEvent<Account>) -> Result<Option<Durable>, Refusal> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err("the log is closed".into());
        }
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Ok(None)
    }
}

fn assert_refused<T: std::fmt::Debug>(result: Result<T, TableError>) {
    match result {
        Err(TableError::WriteRefused { table, source }) => {
            assert_eq!(table, "accounts");
            assert_eq!(source.to_string(), "the log is closed");
        }
        other => panic!("expected a refused write, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refused_change_leaves_no_trace_and_takes_no_number() {
    let hook = Arc::new(Switch::default());
    let table = WorkTable::<Account>::with_commit_hook(hook.clone());
    for id in 1..=3 {
        table
            .insert(account(id, &format!("a{id}"), 1, 10))
            .await
            .unwrap();
    }
    let mut seen = Observer::new(&table);
    let rows = contents(&table);
    let pages = table.stats().pages;
    hook.refuse.store(true, Ordering::SeqCst);

    // Every kind of write, through every path that reaches the commit point.
    assert_refused(table.insert(account(4, "a4", 2, 0)).await);
    assert_refused(table.update(account(1, "moved", 3, 0)).await);
    assert_refused(table.upsert(account(2, "b2", 2, 0)).await);
    assert_refused(table.upsert(account(5, "a5", 2, 0)).await);
    assert_refused(table.update_with(&3, |row| row.team = 9).await);
    assert_refused(table.set_field(&1, Account::BALANCE, 99).await);
    assert_refused(table.set_field(&1, Account::TEAM, 7).await);
    assert_refused(table.delete(&2).await);
    assert_refused(table.delete_by(Account::CODE, "a3").await);
    assert_refused(
        table
            .update_all_by(Account::TEAM, &1, |row| row.balance += 1)
            .await,
    );
    assert_refused(table.delete_range(..).await);
    assert_refused(table.query().delete().await);
    {
        let mut guard = table.lock(&1).await.unwrap();
        assert_refused(guard.update_with(|row| row.code = "g1".into()).await);
        assert_refused(guard.delete().await);
    }

    assert_eq!(contents(&table), rows);
    assert_eq!(table.last_seq(), 3);
    table.check_integrity().unwrap();
    // No residue in any index: the refused keys are free, the old ones still lead to
    // their rows.
    assert!(table.get_by(Account::CODE, "a4").is_none());
    assert!(table.get_by(Account::CODE, "moved").is_none());
    assert!(table.get_by(Account::CODE, "g1").is_none());
    assert_eq!(table.find_by(Account::TEAM, &1).len(), 3);
    assert!(table.find_by(Account::TEAM, &9).is_empty());
    assert_eq!(table.get_by(Account::CODE, "a1").unwrap().id, 1);
    table.reclaim_retired();
    assert_eq!(table.stats().pages, pages);
    seen.nothing(&table);

    // Once the hook accepts again, the next change takes the next number and the
    // refused keys can be used.
    hook.refuse.store(false, Ordering::SeqCst);
    table.insert(account(4, "a4", 2, 0)).await.unwrap();
    table.update(account(1, "moved", 3, 10)).await.unwrap();
    let events = seen.events(&table, 2);
    assert_eq!(
        events
            .iter()
            .map(|event| (event.seq(), event.kind(), *event.pk()))
            .collect::<Vec<_>>(),
        [(4, ChangeKind::Insert, 4), (5, ChangeKind::Update, 1)]
    );
    assert_eq!(hook.accepted.load(Ordering::SeqCst), 5);
    table.check_integrity().unwrap();
}
