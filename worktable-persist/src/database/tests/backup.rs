//! Online backups: a copy taken while writers go on opens as the database
//! was at the backup's commit (checked against the confirmed commits up to
//! it), to a directory and through an object store; a damaged or
//! incomplete backup is a typed error.

use std::collections::BTreeMap;
use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use worktable_core::prelude::*;

use super::{Account, Bank, Entry, account, check, open, sync, transfer};
use crate::database::{BackupError, ConfirmedCommit, DurableDatabase, restore_from_store};
use crate::table::OpenError;

/// Both tables' rows, keyed.
type State = (BTreeMap<u32, Account>, BTreeMap<u64, Entry>);

fn state_of(bank: &Bank) -> State {
    (
        bank.accounts.iter().map(|a| (a.id, a)).collect(),
        bank.ledger.iter().map(|e| (e.id, e)).collect(),
    )
}

/// The state after applying `commits` up to `through` to an empty
/// database.
fn replay(commits: &[ConfirmedCommit], through: u64) -> State {
    let mut state = State::default();
    for commit in commits.iter().filter(|c| c.number <= through) {
        for change in &commit.changes {
            if change.table == 0 {
                let event = change.event::<Account>().unwrap();
                match event.after() {
                    Some(row) => state.0.insert(*event.pk(), row.get()),
                    None => state.0.remove(event.pk()),
                };
            } else {
                let event = change.event::<Entry>().unwrap();
                match event.after() {
                    Some(row) => state.1.insert(*event.pk(), row.get()),
                    None => state.1.remove(event.pk()),
                };
            }
        }
    }
    state
}

/// Runs transfers on 2 tasks while `backup` runs once the load is under
/// way; returns the backup's commit and every confirmed commit.
async fn under_load<F, Fut>(
    bank: Arc<DurableDatabase<Bank>>,
    backup: F,
) -> (u64, Vec<ConfirmedCommit>)
where
    F: FnOnce(Arc<DurableDatabase<Bank>>) -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    let mut confirmed = bank.subscribe_confirmed(0).unwrap();
    for id in 0..4 {
        bank.accounts.insert(account(id, 1_000)).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u32)
        .map(|w| {
            let (bank, stop) = (bank.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    transfer(&bank, w, w + 2, 1 + n % 7).await;
                    n += 1;
                    if n % 16 == 0 {
                        bank.checkpoint().await.unwrap();
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let commit = backup(bank.clone()).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let last = bank.last_commit();
    assert!(last > commit, "writers went on after the backup");
    let mut commits = Vec::new();
    while commits
        .last()
        .is_none_or(|c: &ConfirmedCommit| c.number < last)
    {
        commits.push(confirmed.next().await.unwrap().unwrap());
    }
    (commit, commits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_opens_as_the_database_at_its_commit() {
    let (dir, copy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bank = Arc::new(open(dir.path()));
    let dest = copy.path().join("backup");
    let (commit, commits) = under_load(bank.clone(), |bank| async move {
        bank.backup_to(&dest).await.unwrap().commit
    })
    .await;
    bank.close().await.unwrap();

    let restored = DurableDatabase::<Bank>::open(copy.path().join("backup"), sync()).unwrap();
    assert_eq!(restored.last_commit(), commit);
    check(&restored);
    assert_eq!(state_of(&restored), replay(&commits, commit));
    assert_eq!(restored.id(), bank.id());
    // The copy is a database of its own: it takes writes.
    restored
        .ledger
        .insert(Entry {
            id: u64::MAX,
            account: 0,
            amount: 0,
        })
        .await
        .unwrap();
    restored.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_to_an_object_store_restores_as_the_database_at_its_commit() {
    let (dir, bucket, target) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let store = Arc::new(LocalFileSystem::new_with_prefix(bucket.path()).unwrap());
    let prefix = StorePath::from("backups/one");
    let bank = Arc::new(open(dir.path()));
    let (commit, commits) = under_load(bank.clone(), |bank| {
        let (store, prefix) = (store.clone(), prefix.clone());
        async move { bank.backup_to_store(&*store, &prefix).await.unwrap().commit }
    })
    .await;
    bank.close().await.unwrap();

    let restored_dir = target.path().join("restored");
    let report = restore_from_store(&*store, &prefix, &restored_dir)
        .await
        .unwrap();
    assert_eq!(report.commit, commit);
    let restored = DurableDatabase::<Bank>::open(&restored_dir, sync()).unwrap();
    assert_eq!(restored.last_commit(), commit);
    check(&restored);
    assert_eq!(state_of(&restored), replay(&commits, commit));
    restored.close().await.unwrap();
}

/// A small backup in an object store under `prefix`; returns its files.
async fn small_store_backup(store: &LocalFileSystem, prefix: &StorePath) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 10)).await.unwrap();
    bank.accounts.insert(account(2, 10)).await.unwrap();
    bank.checkpoint().await.unwrap();
    transfer(&bank, 1, 2, 3).await;
    bank.backup_to_store(store, prefix).await.unwrap();
    bank.close().await.unwrap();
    let mut names = Vec::new();
    let mut listing = store.list(Some(prefix));
    while let Some(meta) = listing.next().await {
        let location = meta.unwrap().location.to_string();
        names.push(
            location
                .trim_start_matches(&format!("{prefix}/"))
                .to_owned(),
        );
    }
    names.sort();
    names
}

#[tokio::test]
async fn a_damaged_or_incomplete_store_backup_is_refused() {
    let bucket = tempfile::tempdir().unwrap();
    let store = LocalFileSystem::new_with_prefix(bucket.path()).unwrap();
    let prefix = StorePath::from("b");
    let names = small_store_backup(&store, &prefix).await;
    assert_eq!(
        names,
        [
            "backup",
            "db",
            "log-00000000000000000003",
            "t0/manifest-00000000000000000001",
            "t0/pages",
            "t1/manifest-00000000000000000001",
            "t1/pages"
        ]
    );
    let object = |name: &str| bucket.path().join("b").join(name);
    for name in &names {
        let original = fs::read(object(name)).unwrap();
        // One byte flipped in the middle of the file.
        let mut damaged = original.clone();
        let at = damaged.len() / 2;
        damaged[at] ^= 0x20;
        fs::write(object(name), &damaged).unwrap();
        let target = tempfile::tempdir().unwrap();
        match restore_from_store(&store, &prefix, target.path()).await {
            Err(BackupError::Damaged { file, .. }) => assert_eq!(&file, name),
            other => panic!("{name} damaged: {other:?}"),
        }
        assert!(
            !target.path().join("db").exists(),
            "{name}: no database file"
        );
        // Missing.
        fs::remove_file(object(name)).unwrap();
        let target = tempfile::tempdir().unwrap();
        match restore_from_store(&store, &prefix, target.path()).await {
            Err(BackupError::Missing { file }) => assert!(file.ends_with(name.as_str()), "{file}"),
            other => panic!("{name} missing: {other:?}"),
        }
        fs::write(object(name), &original).unwrap();
    }
    // Whole again, it restores.
    let target = tempfile::tempdir().unwrap();
    restore_from_store(&store, &prefix, target.path())
        .await
        .unwrap();
    let bank = DurableDatabase::<Bank>::open(target.path(), sync()).unwrap();
    assert_eq!(bank.ledger.len(), 1);
    bank.close().await.unwrap();
}

#[tokio::test]
async fn a_directory_backup_needs_an_empty_destination_and_its_database_file() {
    let (dir, copy) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 10)).await.unwrap();
    fs::write(copy.path().join("other"), b"x").unwrap();
    assert!(matches!(
        bank.backup_to(copy.path()).await,
        Err(BackupError::NotEmpty { .. })
    ));
    let dest = copy.path().join("b");
    bank.backup_to(&dest).await.unwrap();
    bank.close().await.unwrap();
    assert!(matches!(
        bank.backup_to(copy.path().join("c")).await,
        Err(BackupError::Closed { .. })
    ));
    // Without its database file (a copy cut short), it does not open.
    fs::remove_file(dest.join("db")).unwrap();
    assert!(matches!(
        DurableDatabase::<Bank>::open(&dest, sync()),
        Err(OpenError::MetaMissing { .. })
    ));
}
