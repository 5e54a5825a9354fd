//! The main promise: the events of concurrent writers, applied in sequence
//! order to an empty map, rebuild exactly the final table, and their sequence numbers
//! run without a gap — for a subscriber reading while the writers run, and for a commit
//! hook.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use worktable_core::events::{CommitHook, Durable, Refusal};
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, Watch};

use super::{Account, account, assert_contiguous, contents, random_writes, replay};
use crate::concurrent::{bounded, settle};

/// Concurrent writer tasks.
const WRITERS: u64 = 6;
/// Writes per task.
const OPS: usize = 1_500;
/// A key no random write uses: the last write of a run, after every writer finished.
const LAST: u32 = 1_000_000;

/// Runs the writers on `table` and returns how many row changes they made; then
/// inserts row [`LAST`].
async fn run_writers(table: &Arc<WorkTable<Account>>, seed: u64) -> usize {
    let writers: Vec<_> = (0..WRITERS)
        .map(|task| {
            let table = Arc::clone(table);
            tokio::spawn(async move { random_writes(&table, seed * 100 + task, OPS).await })
        })
        .collect();
    let mut changed = 0;
    for writer in writers {
        changed += writer.await.unwrap();
    }
    table.insert(account(LAST, "last", 0, 0)).await.unwrap();
    changed + 1
}

/// Checks a complete event history: numbered `1..=last_seq()` without a gap, one event
/// per row change, and replaying it gives the table.
fn assert_history_rebuilds(
    table: &WorkTable<Account>,
    events: &[ChangeEvent<Account>],
    changed: usize,
) {
    assert_eq!(events.len(), changed, "one event per row change");
    assert_eq!(events.first().unwrap().seq(), 1);
    assert_eq!(events.last().unwrap().seq(), table.last_seq());
    assert_eq!(*events.last().unwrap().pk(), LAST);
    assert_contiguous(events);
    assert_eq!(replay(events), contents(table));
    settle(table);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_reading_while_writers_run_can_replay_the_table() {
    for seed in 1..=3 {
        let table = Arc::new(WorkTable::<Account>::new());
        let mut changes = table.subscribe_to(Watch::all().capacity(1 << 20));
        let reader = tokio::spawn(async move {
            let mut events = Vec::new();
            while let Some(item) = changes.next().await {
                let event = item.expect("the capacity is never reached");
                let last = *event.pk() == LAST;
                events.push(event);
                if last {
                    break;
                }
            }
            events
        });
        let (changed, events) = bounded(async {
            let changed = run_writers(&table, seed).await;
            (changed, reader.await.unwrap())
        })
        .await;
        assert_history_rebuilds(&table, &events, changed);
    }
}

/// Records every event it is handed; asks for no durability wait.
#[derive(Default)]
struct Recorder(Mutex<Vec<ChangeEvent<Account>>>);

impl CommitHook<Account> for Recorder {
    fn on_commit(&self, event: &ChangeEvent<Account>) -> Result<Option<Durable>, Refusal> {
        self.0.lock().unwrap().push(event.clone());
        Ok(None)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_hook_receives_every_change_in_order() {
    for seed in 4..=6 {
        let hook = Arc::new(Recorder::default());
        let table = Arc::new(WorkTable::<Account>::with_commit_hook(hook.clone()));
        // A subscriber beside the hook sees the same history.
        let mut changes = table.subscribe_to(Watch::all().capacity(1 << 20));
        let changed = bounded(run_writers(&table, seed)).await;
        let events = std::mem::take(&mut *hook.0.lock().unwrap());
        assert_history_rebuilds(&table, &events, changed);
        let seen: Vec<ChangeEvent<Account>> = std::iter::from_fn(|| changes.try_next())
            .map(|item| item.expect("the capacity is never reached"))
            .collect();
        assert_eq!(seen.len(), events.len());
        for (seen, hooked) in seen.iter().zip(&events) {
            assert_eq!(
                (seen.seq(), seen.kind(), seen.pk()),
                (hooked.seq(), hooked.kind(), hooked.pk())
            );
            assert_eq!(
                seen.before().map(|image| image.bytes()),
                hooked.before().map(|image| image.bytes())
            );
            assert_eq!(
                seen.after().map(|image| image.bytes()),
                hooked.after().map(|image| image.bytes())
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_arrives_only_once_its_change_is_visible() {
    const ROWS: u32 = 16;
    const WRITERS: u32 = 4;
    const OPS: u32 = 2_000;
    let table = Arc::new(WorkTable::<Account>::new());
    for id in 0..ROWS {
        table
            .insert(account(id, &format!("c{id}"), 0, 0))
            .await
            .unwrap();
    }
    let mut changes = table.subscribe_to(Watch::all().capacity(1 << 20));
    // Balances only grow: a reader that gets an event must see that balance or a
    // larger one.
    let reader = {
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            for _ in 0..WRITERS * OPS {
                let event = changes.next().await.unwrap().unwrap();
                let balance = event.after().unwrap().archived().balance.to_native();
                let now = table
                    .read(event.pk(), |row| row.balance.to_native())
                    .unwrap();
                assert!(now >= balance, "{event:?} delivered before it was visible");
                assert!(table.last_seq() >= event.seq());
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let table = Arc::clone(&table);
            tokio::spawn(async move {
                for op in 0..OPS {
                    let pk = (op * 7 + writer) % ROWS;
                    table
                        .update_with(&pk, |row| row.balance += 1)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    bounded(async {
        for writer in writers {
            writer.await.unwrap();
        }
        reader.await.unwrap();
    })
    .await;
    let total: i64 = table.iter().map(|row| row.balance).sum();
    assert_eq!(total, i64::from(WRITERS * OPS));
}
