//! The commit hook's durability future: a write does not return before the future its
//! changes produced completes (its change is visible meanwhile, and its row lock is
//! free); a multi-row write waits for every row's; a future that fails fails the write
//! with `TableError::Durability` and leaves the change in place; failed writes never
//! reach the hook.

use std::error::Error;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::{mpsc, oneshot};
use futures::{StreamExt, poll};
use worktable_core::events::{CommitHook, Durable, Refusal};
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind};

use super::{Account, account, contents};
use crate::concurrent::{bounded, settle};

type Flushed = Result<(), Box<dyn Error + Send + Sync>>;

/// Makes every change wait for the test: each change's durability completes when the
/// test fires its sender (or fails when the sender is dropped).
#[derive(Default)]
struct Gate {
    events: Mutex<Vec<ChangeEvent<Account>>>,
    flushes: Mutex<Vec<Option<oneshot::Sender<()>>>>,
}

impl Gate {
    /// Completes the durability of the change numbered `seq`.
    fn flush(&self, seq: u64) {
        let sender = self.flushes.lock().unwrap()[seq as usize - 1].take();
        sender.expect("flushed once").send(()).unwrap();
    }

    fn seen(&self) -> Vec<(u64, ChangeKind, u32)> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .map(|event| (event.seq(), event.kind(), *event.pk()))
            .collect()
    }
}

impl CommitHook<Account> for Gate {
    fn on_commit(&self, event: &ChangeEvent<Account>) -> Result<Option<Durable>, Refusal> {
        let (flushed, done) = oneshot::channel();
        self.events.lock().unwrap().push(event.clone());
        self.flushes.lock().unwrap().push(Some(flushed));
        Ok(Some(Box::pin(async move {
            done.await.map_err(|_| "the flush was abandoned".into())
        })))
    }
}

#[tokio::test]
async fn a_write_returns_only_once_its_change_is_durable() {
    let gate = Arc::new(Gate::default());
    let table = WorkTable::<Account>::with_commit_hook(gate.clone());
    let row = account(1, "a", 0, 0);
    let mut insert = pin!(table.insert(row.clone()));
    assert!(poll!(&mut insert).is_pending());
    // Committed and visible, handed to the hook, but not durable yet.
    assert_eq!(table.get(&1), Some(row));
    assert_eq!(gate.seen(), [(1, ChangeKind::Insert, 1)]);
    assert!(poll!(&mut insert).is_pending());

    // The waiting write holds no row lock: another write of the row commits.
    let mut update = pin!(table.update_with(&1, |row| row.balance = 5));
    assert!(poll!(&mut update).is_pending());
    assert_eq!(table.get(&1).unwrap().balance, 5);
    assert_eq!(table.stats().locked_rows, 0);

    gate.flush(1);
    assert_eq!(insert.await.unwrap(), 1);
    assert!(poll!(&mut update).is_pending());
    gate.flush(2);
    update.await.unwrap();

    // A guard's write waits too.
    let mut guard = table.lock(&1).await.unwrap();
    {
        let mut delete = pin!(guard.delete());
        assert!(poll!(&mut delete).is_pending());
        assert!(table.get(&1).is_none());
        gate.flush(3);
        assert_eq!(delete.await.unwrap().balance, 5);
    }
    drop(guard);
    assert_eq!(table.last_seq(), 3);
    settle(&table);
}

#[tokio::test]
async fn a_multi_row_write_waits_for_every_row() {
    let gate = Arc::new(Gate::default());
    let table = WorkTable::<Account>::with_commit_hook(gate.clone());
    for id in 1..=3 {
        let mut insert = pin!(table.insert(account(id, &format!("a{id}"), 0, 0)));
        assert!(poll!(&mut insert).is_pending());
        gate.flush(u64::from(id));
        insert.await.unwrap();
    }
    let mut update = pin!(table.update_range(.., |row| row.balance = 1));
    assert!(poll!(&mut update).is_pending());
    assert!(table.iter().all(|row| row.balance == 1));
    gate.flush(6);
    gate.flush(4);
    assert!(poll!(&mut update).is_pending());
    gate.flush(5);
    assert_eq!(update.await.unwrap(), 3);
    settle(&table);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_complete_when_another_task_flushes_them() {
    const WRITERS: u32 = 4;
    const ROWS: u32 = 200;
    let (flushes, mut to_flush) = mpsc::unbounded::<(u32, oneshot::Sender<()>)>();

    /// Sends each change's flush to the flusher task.
    struct Log(mpsc::UnboundedSender<(u32, oneshot::Sender<()>)>);
    impl CommitHook<Account> for Log {
        fn on_commit(&self, event: &ChangeEvent<Account>) -> Result<Option<Durable>, Refusal> {
            let (flushed, done) = oneshot::channel();
            self.0.unbounded_send((*event.pk(), flushed)).unwrap();
            Ok(Some(Box::pin(async move {
                done.await.map_err(|_| "the flush was abandoned".into())
            })))
        }
    }

    let table = Arc::new(WorkTable::<Account>::with_commit_hook(Arc::new(Log(
        flushes,
    ))));
    let returned: Arc<Vec<AtomicBool>> = Arc::new(
        (0..WRITERS * ROWS)
            .map(|_| AtomicBool::new(false))
            .collect(),
    );
    let flusher = {
        let returned = Arc::clone(&returned);
        tokio::spawn(async move {
            let mut flushed = 0;
            while let Some((pk, done)) = to_flush.next().await {
                // The write is still waiting for this flush (the hook is handed
                // the change just before it becomes visible, so it may not be yet).
                assert!(
                    !returned[pk as usize].load(Ordering::Acquire),
                    "row {pk} returned before its flush"
                );
                done.send(()).unwrap();
                flushed += 1;
                if flushed == WRITERS * ROWS {
                    break;
                }
            }
            flushed
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (table, returned) = (Arc::clone(&table), Arc::clone(&returned));
            tokio::spawn(async move {
                for i in 0..ROWS {
                    let pk = writer * ROWS + i;
                    table
                        .insert(account(pk, &format!("c{pk}"), 0, 0))
                        .await
                        .unwrap();
                    returned[pk as usize].store(true, Ordering::Release);
                }
            })
        })
        .collect();
    bounded(async {
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(flusher.await.unwrap(), WRITERS * ROWS);
    })
    .await;
    assert_eq!(table.len(), (WRITERS * ROWS) as usize);
    settle(&table);
}

/// Fails every durability wait and counts the changes it is handed.
#[derive(Default)]
struct DiskFull(Mutex<u64>);

impl CommitHook<Account> for DiskFull {
    fn on_commit(&self, _: &ChangeEvent<Account>) -> Result<Option<Durable>, Refusal> {
        *self.0.lock().unwrap() += 1;
        Ok(Some(Box::pin(async { Flushed::Err("disk full".into()) })))
    }
}

fn assert_durability(result: Result<impl std::fmt::Debug, TableError>) {
    match result {
        Err(TableError::Durability { table, source }) => {
            assert_eq!(table, "accounts");
            assert_eq!(source.to_string(), "disk full");
        }
        other => panic!("expected a durability error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_flush_fails_the_write_and_the_change_stays() {
    let hook = Arc::new(DiskFull::default());
    let table = WorkTable::<Account>::with_commit_hook(hook.clone());
    let handed = || *hook.0.lock().unwrap();

    assert_durability(table.insert(account(1, "a", 0, 0)).await);
    assert_durability(table.insert(account(2, "b", 0, 0)).await);
    assert_eq!(table.get(&1), Some(account(1, "a", 0, 0)));
    assert_durability(table.update_with(&1, |row| row.balance = 3).await);
    assert_eq!(table.get(&1).unwrap().balance, 3);
    assert_durability(table.upsert(account(3, "c", 0, 0)).await);
    assert!(table.contains(&3));
    assert_durability(table.delete(&3).await);
    assert!(!table.contains(&3));
    assert_eq!(handed(), 5);

    // Every row of a multi-row write is changed, then the write reports the failure.
    assert_durability(table.update_range(.., |row| row.team = 7).await);
    assert_eq!(table.find_by(Account::TEAM, &7).len(), 2);
    assert_eq!(handed(), 7);
    let mut guard = table.lock(&2).await.unwrap();
    assert_durability(guard.update_with(|row| row.balance = 9).await);
    drop(guard);
    assert_eq!(table.get(&2).unwrap().balance, 9);

    // A write that fails on its own never reaches the hook.
    let rows = contents(&table);
    let duplicate = table.insert(account(1, "z", 0, 0)).await;
    assert!(
        matches!(duplicate, Err(TableError::DuplicatePk { .. })),
        "{duplicate:?}"
    );
    let missing = table.delete(&9).await;
    assert!(
        matches!(missing, Err(TableError::NotFound { .. })),
        "{missing:?}"
    );
    assert_eq!(handed(), 8);
    assert_eq!(table.last_seq(), 8);
    assert_eq!(contents(&table), rows);
    settle(&table);
}
