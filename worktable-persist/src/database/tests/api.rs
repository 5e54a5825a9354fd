//! The rest of a durable database's API: the read-only open and the
//! background vacuum of one of its tables.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use worktable_core::VacuumPolicy;
use worktable_core::prelude::*;

use super::{Bank, account, as_if_killed, check, contents, open, transfer};
use crate::database::ReadOnlyDatabase;
use crate::table::{OpenError, WriteError};

/// Every file under `dir` with its bytes.
fn snapshot_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            for (name, bytes) in snapshot_files(&entry.path()) {
                files.insert(
                    format!("{}/{name}", entry.file_name().to_string_lossy()),
                    bytes,
                );
            }
        } else {
            files.insert(
                entry.file_name().to_string_lossy().into_owned(),
                fs::read(entry.path()).unwrap(),
            );
        }
    }
    files
}

#[tokio::test]
async fn a_read_only_open_reads_checkpoint_and_log_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 100)).await.unwrap();
    bank.checkpoint().await.unwrap();
    transfer(&bank, 1, 2, 5).await;
    let expected = contents(&bank);
    drop(bank);
    as_if_killed(dir.path());
    // A torn tail the writable open would cut.
    let log = super::log_path(dir.path(), 3);
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(&[7; 30]);
    fs::write(&log, &bytes).unwrap();
    fs::remove_file(dir.path().join("LOCK")).unwrap();
    let before = snapshot_files(dir.path());

    let copy = ReadOnlyDatabase::<Bank>::open(dir.path()).unwrap();
    assert_eq!(contents(&copy), expected);
    check(&copy);
    match copy.accounts.insert(account(3, 0)).await {
        Err(TableError::WriteRefused { source, .. }) => {
            assert!(matches!(
                source.downcast_ref::<WriteError>(),
                Some(WriteError::ReadOnly { .. })
            ));
        }
        other => panic!("expected a refused write, got {other:?}"),
    }
    let refused = copy
        .transaction(|tx| async move {
            tx.accounts.update_with(&1, |a| a.balance = 0)?;
            Ok::<_, TableError>(())
        })
        .await;
    assert!(refused.is_err());
    drop(copy);
    assert_eq!(snapshot_files(dir.path()), before, "nothing written");
}

#[tokio::test]
async fn a_read_only_open_of_an_empty_directory_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        ReadOnlyDatabase::<Bank>::open(dir.path()),
        Err(OpenError::NoTable { .. })
    ));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vacuum_of_one_table_compacts_it_and_the_database_reopens_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.transaction(|tx| async move {
        for id in 0..4_000 {
            tx.accounts.insert(account(id, i64::from(id)))?;
        }
        Ok::<_, TableError>(())
    })
    .await
    .unwrap();
    bank.transaction(|tx| async move {
        for id in (0..4_000).filter(|id| id % 5 != 0) {
            tx.accounts.delete(&id)?;
        }
        Ok::<_, TableError>(())
    })
    .await
    .unwrap();
    let expected = contents(&bank);
    let pages_before = bank.accounts.stats().pages;
    let vacuum = bank.spawn_vacuum(
        |bank| &bank.accounts,
        VacuumPolicy::default()
            .min_fragmentation(0.0)
            .min_reclaimable_pages(1)
            .interval(Duration::from_millis(1)),
    );
    // Bounded: the vacuum needs a few steps; ten seconds is far beyond.
    let deadline = Instant::now() + Duration::from_secs(10);
    while vacuum.progress().rows_moved == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bank.checkpoint().await.unwrap();
    let report = vacuum.stop();
    assert!(report.rows_moved > 0, "the vacuum moved no row: {report:?}");
    assert!(bank.accounts.stats().pages < pages_before);
    assert_eq!(contents(&bank), expected);
    bank.close().await.unwrap();

    let bank = open(dir.path());
    assert_eq!(contents(&bank), expected);
    check(&bank);
    bank.close().await.unwrap();
}

/// A checkpoint after a vacuum and no logged change writes the moved rows'
/// pages (the vacuumed table's, while the other table gets a manifest at
/// the same number): a row updated after the move reopens as updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_after_a_vacuum_alone_keeps_the_moved_rows() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.transaction(|tx| async move {
        for id in 0..4_000 {
            tx.accounts.insert(account(id, 1))?;
        }
        Ok::<_, TableError>(())
    })
    .await
    .unwrap();
    bank.transaction(|tx| async move {
        for id in (0..4_000).filter(|id| id % 5 != 0) {
            tx.accounts.delete(&id)?;
        }
        Ok::<_, TableError>(())
    })
    .await
    .unwrap();
    bank.checkpoint().await.unwrap();
    let vacuum = bank.spawn_vacuum(
        |bank| &bank.accounts,
        VacuumPolicy::default()
            .min_fragmentation(0.0)
            .min_reclaimable_pages(1)
            .interval(Duration::from_millis(1)),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while vacuum.progress().rows_moved < 100 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let moved = vacuum.stop();
    assert!(moved.rows_moved > 0);
    // Nothing logged since the last checkpoint: only the moves.
    bank.checkpoint().await.unwrap();
    for id in (0..4_000).step_by(5) {
        bank.accounts
            .update_with(&id, |a| a.balance = 777)
            .await
            .unwrap();
    }
    bank.checkpoint().await.unwrap();
    let expected = contents(&bank);
    drop(bank);

    let bank = open(dir.path());
    let reopened = contents(&bank);
    let updated = |rows: &[super::Account]| rows.iter().filter(|a| a.balance == 777).count();
    assert_eq!(updated(&reopened.0), 800, "every update reopens");
    assert_eq!(reopened, expected);
    check(&bank);
    bank.close().await.unwrap();
}
