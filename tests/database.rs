//! `#[derive(Database)]`: tables of different row types that share one
//! commit order.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt;
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, Watch};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
    #[index(unique)]
    owner: String,
    balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk(autoincrement)]
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

fn account(id: u32) -> Account {
    Account {
        id,
        owner: format!("owner-{id}"),
        balance: 100,
    }
}

fn entry(account: u32) -> Entry {
    Entry {
        id: 0,
        account,
        amount: 1,
    }
}

#[tokio::test]
async fn changes_to_every_table_share_one_numbering() {
    let bank = Bank::new();
    assert_eq!(bank.last_commit(), 0);
    bank.accounts.insert(account(1)).await.unwrap();
    bank.ledger.insert(entry(1)).await.unwrap();
    bank.accounts
        .update_with(&1, |a| a.balance = 99)
        .await
        .unwrap();
    assert_eq!(bank.last_commit(), 3);
    assert_eq!(bank.accounts.last_seq(), 3);
    assert_eq!(bank.ledger.last_seq(), 3);

    let mut accounts = bank.accounts.subscribe();
    let mut ledger = bank.ledger.subscribe();
    bank.ledger.insert(entry(1)).await.unwrap();
    bank.accounts.delete(&1).await.unwrap();
    let first: ChangeEvent<Entry> = ledger.next().await.unwrap().unwrap();
    let second: ChangeEvent<Account> = accounts.next().await.unwrap().unwrap();
    // A table's own events skip the numbers of the other table's changes.
    assert_eq!((first.seq(), second.seq()), (4, 5));
}

#[tokio::test]
async fn a_table_on_its_own_keeps_its_own_numbering() {
    let bank = Bank::default();
    let alone = WorkTable::<Account>::new();
    bank.accounts.insert(account(1)).await.unwrap();
    bank.ledger.insert(entry(1)).await.unwrap();
    alone.insert(account(1)).await.unwrap();
    assert_eq!((bank.last_commit(), alone.last_seq()), (2, 1));
    // Two databases do not share an order either.
    let other = Bank::new();
    other.ledger.insert(entry(1)).await.unwrap();
    assert_eq!((bank.last_commit(), other.last_commit()), (2, 1));
}

/// Inserts `WRITES` rows into each table from two tasks.
async fn write_both(bank: &Arc<Bank>, base: u32) {
    const WRITES: u32 = 300;
    let mut writers = Vec::new();
    for table in 0..2u32 {
        let bank = Arc::clone(bank);
        writers.push(tokio::spawn(async move {
            for i in base..base + WRITES {
                if table == 0 {
                    bank.accounts.insert(account(i)).await.unwrap();
                } else {
                    bank.ledger.insert(entry(i)).await.unwrap();
                }
                if i % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

/// Writers on both tables while a subscriber comes and goes on one of
/// them (so the other table's writes switch between lock-free and locked
/// commits): each subscription sees increasing numbers after its start,
/// and every write takes exactly one number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbering_holds_while_a_subscriber_comes_and_goes() {
    let bank = Arc::new(Bank::new());
    let writing = {
        let bank = Arc::clone(&bank);
        tokio::spawn(async move { write_both(&bank, 0).await })
    };
    while !writing.is_finished() {
        let (mut feed, since) = bank.accounts.subscribe_to_with_seq(Watch::all());
        tokio::task::yield_now().await;
        let mut last = since;
        while let Some(Ok(event)) = feed.now_or_never_owned() {
            assert!(event.seq() > last, "an account event out of order");
            last = event.seq();
        }
    }
    writing.await.unwrap();
    assert_eq!(bank.last_commit(), 600);
}

/// With both tables subscribed, the numbers of their changes together
/// are exactly the next ones, each given once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_changes_together_take_each_number_once() {
    let bank = Arc::new(Bank::new());
    bank.ledger.insert(entry(0)).await.unwrap();
    let mut accounts = bank.accounts.subscribe();
    let mut ledger = bank.ledger.subscribe();
    write_both(&bank, 1).await;
    let mut seqs = Vec::new();
    while let Some(Ok(event)) = accounts.now_or_never_owned() {
        seqs.push(event.seq());
    }
    let accounts_seen = seqs.len();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    while let Some(Ok(event)) = ledger.now_or_never_owned() {
        seqs.push(event.seq());
    }
    assert!(seqs[accounts_seen..].windows(2).all(|w| w[0] < w[1]));
    let numbers: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(numbers.len(), seqs.len(), "a number given twice");
    assert_eq!(numbers, (2..=601).collect::<BTreeSet<u64>>());
}

/// `now_or_never` on a borrowed stream's next item.
trait NowOrNever {
    type Item;
    fn now_or_never_owned(&mut self) -> Option<Self::Item>;
}

impl<S: futures::Stream + Unpin> NowOrNever for S {
    type Item = S::Item;
    fn now_or_never_owned(&mut self) -> Option<S::Item> {
        futures::FutureExt::now_or_never(self.next()).flatten()
    }
}
