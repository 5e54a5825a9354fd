//! What a transaction reads, writes and delivers.

use worktable_core::prelude::*;
use worktable_core::{TxError, Watch};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(super) struct Account {
    #[pk]
    pub(super) id: u32,
    #[index(unique)]
    pub(super) owner: String,
    #[index]
    pub(super) branch: u32,
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

pub(super) fn account(id: u32, balance: i64) -> Account {
    Account {
        id,
        owner: format!("owner-{id}"),
        branch: id % 3,
        balance,
    }
}

pub(super) async fn bank_of(accounts: u32) -> Bank {
    let bank = Bank::new();
    for id in 0..accounts {
        bank.accounts.insert(account(id, 100)).await.unwrap();
    }
    bank
}

/// Moves `amount` from `from` to `to` and books it, in one transaction.
async fn transfer(bank: &Bank, from: u32, to: u32, amount: i64) -> Result<(), TxError<TableError>> {
    bank.transaction(|tx| async move {
        tx.accounts.update_with(&from, |a| a.balance -= amount)?;
        tx.accounts.update_with(&to, |a| a.balance += amount)?;
        tx.ledger.insert(Entry {
            id: 0,
            account: from,
            amount: -amount,
        })?;
        tx.ledger.insert(Entry {
            id: 0,
            account: to,
            amount,
        })?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_transaction_changes_several_tables_at_one_commit() {
    let bank = bank_of(3).await;
    let mut accounts = bank.accounts.subscribe_to(Watch::all());
    let mut ledger = bank.ledger.subscribe_to(Watch::all());
    let before = bank.snapshot();
    transfer(&bank, 0, 1, 30).await.unwrap();
    assert_eq!(bank.accounts.get(&0).unwrap().balance, 70);
    assert_eq!(bank.accounts.get(&1).unwrap().balance, 130);
    assert_eq!(bank.ledger.len(), 2);
    // Four changes, numbered 4 to 7, all of commit 7.
    assert_eq!(bank.last_commit(), 7);
    let summary = |seq: u64, commit: u64, last: bool| (seq, commit, last);
    let events: Vec<_> = (0..2)
        .map(|_| {
            let e = accounts.try_next().unwrap().unwrap();
            summary(e.seq(), e.commit(), e.last_in_commit())
        })
        .chain((0..2).map(|_| {
            let e = ledger.try_next().unwrap().unwrap();
            summary(e.seq(), e.commit(), e.last_in_commit())
        }))
        .collect();
    assert_eq!(
        events,
        [(4, 7, false), (5, 7, true), (6, 7, false), (7, 7, true)]
    );
    assert!(accounts.try_next().is_none() && ledger.try_next().is_none());
    // A snapshot from before sees none of it.
    assert_eq!(before.accounts.get(&0).unwrap().balance, 100);
    assert!(before.ledger.is_empty());
    bank.accounts.check_integrity().unwrap();
    bank.ledger.check_integrity().unwrap();
}

#[tokio::test]
async fn reads_see_the_transactions_own_writes() {
    let bank = bank_of(3).await;
    let tx = bank.begin();
    assert_eq!(tx.read_point(), 3);
    tx.accounts
        .insert(Account {
            branch: 1,
            ..account(10, 5)
        })
        .unwrap();
    tx.accounts.delete(&1).unwrap();
    tx.accounts.update_with(&2, |a| a.branch = 0).unwrap();
    assert_eq!(tx.accounts.get(&10).unwrap().balance, 5);
    assert!(tx.accounts.get(&1).is_none() && !tx.accounts.contains(&1));
    let ids = |rows: Vec<Account>| rows.iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(ids(tx.accounts.iter()), [0, 2, 10]);
    assert_eq!(ids(tx.accounts.find_by(Account::BRANCH, &1)), [10]);
    assert_eq!(ids(tx.accounts.find_by(Account::BRANCH, &0)), [0, 2]);
    assert_eq!(
        ids(tx.accounts.range_by(Account::BRANCH, 0..=1)),
        [0, 2, 10]
    );
    assert_eq!(ids(tx.accounts.range(1..)), [2, 10]);
    assert_eq!(
        tx.accounts.get_by(Account::OWNER, "owner-10").unwrap().id,
        10
    );
    assert!(tx.accounts.get_by(Account::OWNER, "owner-1").is_none());
    assert!(matches!(
        tx.accounts.insert(account(0, 1)),
        Err(TableError::DuplicatePk { .. })
    ));
    assert!(matches!(
        tx.accounts.delete(&1),
        Err(TableError::NotFound { .. })
    ));
    // Nothing is visible before the commit.
    assert!(bank.accounts.get(&10).is_none() && bank.accounts.get(&1).is_some());
    let commit = tx.clone().commit().await.unwrap();
    assert_eq!(commit, 6);
    assert_eq!(
        bank.accounts.iter().map(|a| a.id).collect::<Vec<_>>(),
        [0, 2, 10]
    );
    assert_eq!(bank.accounts.find_by(Account::BRANCH, &0).len(), 2);
    // The transaction is over.
    assert!(matches!(
        tx.accounts.delete(&0),
        Err(TableError::TransactionEnded)
    ));
    assert!(matches!(
        tx.commit().await,
        Err(TableError::TransactionEnded)
    ));
    assert_eq!(bank.accounts.stats().versions_held, 0);
    bank.accounts.check_integrity().unwrap();
}

#[tokio::test]
async fn set_field_upsert_and_no_op_writes() {
    let bank = bank_of(2).await;
    let tx = bank.begin();
    assert_eq!(tx.accounts.set_field(&0, Account::BALANCE, 7).unwrap(), 100);
    assert!(tx.accounts.upsert(account(5, 1)).unwrap().is_none());
    assert_eq!(
        tx.accounts.upsert(account(5, 2)).unwrap().unwrap().balance,
        1
    );
    // Inserted and deleted again: no change at all.
    tx.accounts.insert(account(9, 0)).unwrap();
    tx.accounts.delete(&9).unwrap();
    assert!(matches!(
        tx.accounts.update_with(&0, |a| a.id = 1),
        Err(TableError::PkChanged { .. })
    ));
    let commit = tx.commit().await.unwrap();
    assert_eq!(commit, 4, "two changes after the two inserts");
    assert_eq!(bank.accounts.get(&0).unwrap().balance, 7);
    assert_eq!(bank.accounts.get(&5).unwrap().balance, 2);
    assert!(!bank.accounts.contains(&9));
}

#[tokio::test]
async fn a_read_only_transaction_commits_at_its_read_point() {
    let bank = bank_of(2).await;
    let tx = bank.begin();
    assert_eq!(tx.accounts.get(&0).unwrap().balance, 100);
    bank.accounts
        .update_with(&0, |a| a.balance = 1)
        .await
        .unwrap();
    // It read one consistent state, at commit 2; nothing to validate.
    assert_eq!(tx.accounts.get(&0).unwrap().balance, 100);
    assert_eq!(tx.commit().await.unwrap(), 2);
}

#[tokio::test]
async fn queries_in_a_transaction_see_and_make_its_writes() {
    let bank = bank_of(6).await;
    let tx = bank.begin();
    tx.accounts.update_with(&0, |a| a.balance = 5).unwrap();
    tx.accounts.delete(&3).unwrap();
    let ids = |rows: Vec<Account>| rows.iter().map(|a| a.id).collect::<Vec<_>>();
    // Branch 0 holds accounts 0 and 3; 3 is deleted, 0 now the poorest.
    let branch = tx.accounts.query().by(Account::BRANCH, &0);
    assert_eq!(ids(branch.to_vec()), [0]);
    let poorest = tx
        .accounts
        .query()
        .order_by(Account::BALANCE)
        .first()
        .unwrap();
    assert_eq!(poorest.id, 0);
    assert_eq!(tx.accounts.query().filter(|a| a.balance >= 100).count(), 4);
    // Writes through a query go to the transaction.
    let changed = tx
        .accounts
        .query()
        .range(1..=2)
        .update_with(|a| a.balance += 1)
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let gone = tx
        .accounts
        .query()
        .by(Account::BRANCH, &2)
        .delete()
        .await
        .unwrap();
    assert_eq!(ids(gone), [2, 5]);
    assert_eq!(
        bank.accounts.get(&1).unwrap().balance,
        100,
        "nothing visible yet"
    );
    assert_eq!(ids(tx.accounts.iter()), [0, 1, 4]);
    tx.commit().await.unwrap();
    let balances: Vec<(u32, i64)> = bank.accounts.iter().map(|a| (a.id, a.balance)).collect();
    assert_eq!(balances, [(0, 5), (1, 101), (4, 100)]);
    // A query reads the whole table: any commit to it is a conflict.
    let tx = bank.begin();
    assert_eq!(tx.accounts.query().by(Account::BRANCH, &1).count(), 2);
    tx.ledger
        .insert(Entry {
            id: 0,
            account: 1,
            amount: 0,
        })
        .unwrap();
    bank.accounts
        .update_with(&0, |a| a.balance = 6)
        .await
        .unwrap();
    assert!(matches!(
        tx.commit().await,
        Err(TableError::Conflict { .. })
    ));
}
