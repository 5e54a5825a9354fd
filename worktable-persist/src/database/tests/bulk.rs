//! Bulk load into an open database: rows written as a checkpoint, other
//! commits refused meanwhile, a failed row loading a prefix in whole
//! chunks.

use std::sync::Arc;

use futures::StreamExt;
use worktable_core::Database;
use worktable_core::prelude::*;

use super::{Entry, account, check, contents, open, transfer};
use crate::database::LoadError;
use crate::table::{ResumeError, WriteError};

fn entries(ids: std::ops::Range<u64>) -> impl Iterator<Item = Entry> {
    ids.map(|id| Entry {
        id,
        account: (id % 50) as u32,
        amount: 1,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_load_is_checkpointed_and_refuses_other_commits_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let bank = Arc::new(open(dir.path()));
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 100)).await.unwrap();
    let before = bank.last_commit();
    let mut confirmed = bank.subscribe_confirmed(before).unwrap();
    // A writer that keeps trying during the load.
    let writer = {
        let bank = bank.clone();
        tokio::spawn(async move {
            let mut refused = 0;
            for n in 0..400u32 {
                match bank.accounts.insert(account(1_000 + n, 0)).await {
                    Ok(_) => {}
                    Err(TableError::WriteRefused { source, .. }) => {
                        assert!(matches!(
                            source.downcast_ref::<WriteError>(),
                            Some(WriteError::BulkLoad { .. })
                        ));
                        refused += 1;
                    }
                    Err(other) => panic!("{other}"),
                }
                tokio::task::yield_now().await;
            }
            refused
        })
    };
    let report = bank
        .bulk_load(|load| {
            load.rows(|b| &b.ledger, entries(1..70_001))?;
            Ok(())
        })
        .await
        .unwrap();
    let refused = writer.await.unwrap();
    assert_eq!(report.rows, 70_000);
    assert_eq!(bank.ledger.len(), 70_000);
    assert_eq!(bank.ledger.find_by(Entry::ACCOUNT, &7).len(), 1_400);
    eprintln!("{refused} commits refused during the load");
    // Commits resume after it.
    transfer(&bank, 1, 2, 5).await;
    let expected = contents(&bank);
    // The load's numbers have no log record: a confirmed stream that
    // reaches them is told to re-read from a copy.
    let ended = loop {
        match confirmed.next().await.unwrap() {
            Ok(commit) => assert!(commit.number <= report.commit),
            Err(error) => break error,
        }
    };
    assert!(matches!(ended, ResumeError::TooOld { .. }), "{ended}");
    let bank = Arc::into_inner(bank).unwrap();
    drop(bank);

    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    check(&bank);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_row_refused_part_way_loads_the_whole_chunks_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(70_000, 0)).await.unwrap();
    let failed = bank
        .bulk_load(|load| {
            load.rows(|b| &b.accounts, (0..100_000).map(|id| account(id, 1)))?;
            Ok(())
        })
        .await;
    assert!(
        matches!(
            failed,
            Err(LoadError::Table(TableError::DuplicatePk { .. }))
        ),
        "{failed:?}"
    );
    // The first chunk (65,536 rows) was committed and is checkpointed;
    // the second, which held the taken key, is not.
    assert_eq!(bank.accounts.len(), 65_537);
    let expected = contents(&bank);
    drop(bank);
    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    check(&bank);
    // And the database takes commits again.
    bank.accounts.insert(account(200_000, 9)).await.unwrap();
    bank.close().await.unwrap();
}
