//! The confirmed commit stream: whole commits, in order, only once durable;
//! resumed from a saved number across a reopen; typed errors for numbers
//! the log no longer holds or never had.

use std::time::Duration;

use futures::StreamExt;
use worktable_core::Database;
use worktable_core::prelude::*;

use super::{Account, Bank, Entry, account, open, transfer};
use crate::database::DurableDatabase;
use crate::table::{Durability, Options, ResumeError};

#[tokio::test]
async fn commits_arrive_whole_in_order_with_typed_changes() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    let mut confirmed = bank.subscribe_confirmed(0).unwrap();
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 0)).await.unwrap();
    transfer(&bank, 1, 2, 7).await;

    let first = confirmed.next().await.unwrap().unwrap();
    assert_eq!((first.number, first.changes.len()), (1, 1));
    let second = confirmed.next().await.unwrap().unwrap();
    assert_eq!(second.number, 2);
    let third = confirmed.next().await.unwrap().unwrap();
    assert_eq!(third.number, 5);
    let tables: Vec<u16> = third.changes.iter().map(|c| c.table).collect();
    assert_eq!(tables, [0, 0, 1]);
    let seqs: Vec<u64> = third.changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [3, 4, 5]);
    let debit = third.changes[0].event::<Account>().unwrap();
    assert_eq!(debit.after().unwrap().get().balance, 93);
    let entry = third.changes[2].event::<Entry>().unwrap();
    assert_eq!(entry.after().unwrap().get().amount, -7);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_commit_waits_until_it_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let bank = DurableDatabase::<Bank>::open(
        dir.path(),
        Options::durability(Durability::Periodic(Duration::from_secs(3600))),
    )
    .unwrap();
    let mut confirmed = bank.subscribe_confirmed(0).unwrap();
    bank.accounts.insert(account(1, 1)).await.unwrap();
    // Visible, but not synced: nothing is delivered.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), confirmed.next())
            .await
            .is_err()
    );
    bank.wait_durable(bank.last_commit()).await.unwrap();
    let commit = confirmed.next().await.unwrap().unwrap();
    assert_eq!(commit.number, 1);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_saved_number_resumes_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 100)).await.unwrap();
    let saved = bank.last_commit();
    transfer(&bank, 1, 2, 1).await;
    transfer(&bank, 2, 1, 2).await;
    drop(bank); // no checkpoint: the log keeps every commit

    let bank = open(dir.path());
    let mut confirmed = bank.subscribe_confirmed(saved).unwrap();
    let numbers: Vec<u64> = [
        confirmed.next().await.unwrap().unwrap().number,
        confirmed.next().await.unwrap().unwrap().number,
    ]
    .into();
    assert_eq!(numbers, [5, 8]);
    // Live commits follow the logged ones.
    transfer(&bank, 1, 2, 3).await;
    assert_eq!(confirmed.next().await.unwrap().unwrap().number, 11);
    // A number inside a commit starts at that commit, whole.
    let mut inside = bank.subscribe_confirmed(6).unwrap();
    let commit = inside.next().await.unwrap().unwrap();
    assert_eq!((commit.number, commit.changes.len()), (8, 3));
    bank.close().await.unwrap();
}

#[tokio::test]
async fn numbers_the_log_does_not_hold_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 100)).await.unwrap();
    bank.checkpoint().await.unwrap();
    transfer(&bank, 1, 2, 1).await;
    assert!(matches!(
        bank.subscribe_confirmed(0),
        Err(ResumeError::TooOld { oldest: 3, .. })
    ));
    assert!(matches!(
        bank.subscribe_confirmed(99),
        Err(ResumeError::Ahead { last: 5, .. })
    ));
    let mut from_checkpoint = bank.subscribe_confirmed(2).unwrap();
    assert_eq!(from_checkpoint.next().await.unwrap().unwrap().number, 5);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_commit_larger_than_a_read_is_delivered_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    let mut confirmed = bank.subscribe_confirmed(0).unwrap();
    // ~2.5 MiB of ledger entries with long owners in one transaction.
    bank.transaction(|tx| async move {
        for id in 0..3_000u32 {
            tx.accounts.insert(Account {
                id,
                owner: format!("{id:0>800}"),
                balance: 0,
            })?;
        }
        Ok::<_, TableError>(())
    })
    .await
    .unwrap();
    let commit = confirmed.next().await.unwrap().unwrap();
    assert_eq!((commit.number, commit.changes.len()), (3_000, 3_000));
    bank.close().await.unwrap();
}

#[tokio::test]
async fn the_stream_ends_when_the_database_closes() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    let mut confirmed = bank.subscribe_confirmed(0).unwrap();
    bank.close().await.unwrap();
    assert!(matches!(
        confirmed.next().await,
        Some(Err(ResumeError::LogFailed(_)))
    ));
    assert!(confirmed.next().await.is_none());
}

#[tokio::test]
async fn a_stream_behind_checkpoints_keeps_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 100)).await.unwrap();
    let mut slow = bank.subscribe_confirmed(0).unwrap();
    for _ in 0..3 {
        transfer(&bank, 1, 2, 1).await;
        bank.checkpoint().await.unwrap();
    }
    // The segments it has not read are kept...
    assert!(super::log_path(dir.path(), 1).exists());
    let mut numbers = Vec::new();
    while numbers.last() != Some(&bank.last_commit()) {
        numbers.push(slow.next().await.unwrap().unwrap().number);
    }
    assert_eq!(numbers, [1, 2, 5, 8, 11]);
    // ...until it moves on or goes.
    drop(slow);
    transfer(&bank, 1, 2, 1).await;
    bank.checkpoint().await.unwrap();
    assert!(!super::log_path(dir.path(), 1).exists());
    bank.close().await.unwrap();
}

#[tokio::test]
async fn segments_a_stream_held_at_close_survive_the_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 100)).await.unwrap();
    // A consumer (a publisher whose server is away) behind at commit 2.
    let behind = bank.subscribe_confirmed(2).unwrap();
    transfer(&bank, 1, 2, 1).await;
    transfer(&bank, 2, 1, 1).await;
    bank.close().await.unwrap(); // a checkpoint at 8, the held log kept
    drop(behind);
    drop(bank);

    // Reopened, the consumer resumes where it was, from the log.
    let bank = open(dir.path());
    let mut resumed = bank.subscribe_confirmed(2).unwrap();
    assert_eq!(resumed.next().await.unwrap().unwrap().number, 5);
    assert_eq!(resumed.next().await.unwrap().unwrap().number, 8);
    drop(resumed);
    // A checkpoint no stream holds back removes the old segments.
    transfer(&bank, 1, 2, 1).await;
    bank.checkpoint().await.unwrap();
    assert!(matches!(
        bank.subscribe_confirmed(2),
        Err(ResumeError::TooOld { .. })
    ));
    bank.close().await.unwrap();
}
