//! Cancelled and aborted lock waiters leave no lock behind, and waiters cancelled as the
//! lock is handed to them pass it on.

use std::sync::Arc;
use std::time::Duration;

use worktable_core::prelude::*;

use super::lost_updates::Counter;
use super::{bounded, settle};
use crate::row_locks::{sleep, timeout};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_and_aborted_lock_waiters_leave_no_lock_behind() {
    const WAITERS: u32 = 48;
    let table = Arc::new(WorkTable::<Counter>::new());
    for id in 0..3 {
        let row = Counter {
            id,
            shard: 0,
            hits: 0,
        };
        table.insert(row).await.unwrap();
    }

    bounded(async {
        let guard = table.lock(&1).await.unwrap();
        let (cancel, cancelled) = tokio::sync::watch::channel(false);
        let waiters: Vec<_> = (0..WAITERS)
            .map(|n| {
                let table = Arc::clone(&table);
                let mut cancelled = cancelled.clone();
                tokio::spawn(async move {
                    match n % 4 {
                        // Gives up after a while.
                        0 => {
                            let waited = Duration::from_millis(1 + u64::from(n % 7));
                            assert!(timeout(waited, table.lock(&1)).await.is_err());
                        }
                        // Waits until aborted.
                        1 => drop(table.update_with(&1, |c| c.hits += 1).await),
                        // Holds row 0, waits for row 1 until aborted.
                        2 => drop(table.lock_all([2, 1, 0]).await.unwrap()),
                        // Waits until told to stop.
                        _ => {
                            tokio::select! {
                                _ = table.update_with(&1, |c| c.hits += 1) => {
                                    panic!("the write ran while the row was locked");
                                }
                                _ = cancelled.changed() => {}
                            }
                        }
                    }
                })
            })
            .collect();
        // Give every waiter time to start waiting.
        sleep(Duration::from_millis(30)).await;
        cancel.send(true).unwrap();
        for (n, waiter) in (0..WAITERS).zip(waiters) {
            if n % 4 == 1 || n % 4 == 2 {
                waiter.abort();
                assert!(waiter.await.unwrap_err().is_cancelled());
            } else {
                waiter.await.unwrap();
            }
        }
        assert_eq!(table.stats().locked_rows, 1, "only the holder is left");
        drop(guard);
        assert_eq!(table.stats().locked_rows, 0);
        assert!(table.iter().all(|c| c.hits == 0), "no cancelled write ran");
        let guards = table.lock_all([0, 1, 2]).await.unwrap();
        assert_eq!(table.stats().locked_rows, 3);
        drop(guards);
        table.update_with(&1, |c| c.hits += 1).await.unwrap();
    })
    .await;
    assert_eq!(table.get(&1).unwrap().hits, 1);
    settle(&table);
}

/// Waiters are cancelled (or aborted) just as the lock is released, so some are
/// cancelled after the lock was handed to them: they must pass it on. Every write that
/// reported success ran exactly once, and no other did.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiters_cancelled_as_the_lock_is_released_pass_it_on() {
    const ROUNDS: u32 = 500;
    const SELECTED: u32 = 4;
    const ABORTED: u32 = 2;
    let table = Arc::new(WorkTable::<Counter>::new());
    let row = Counter {
        id: 0,
        shard: 0,
        hits: 0,
    };
    table.insert(row).await.unwrap();

    let applied = bounded(async {
        let mut applied = 0_u64;
        for round in 0..ROUNDS {
            let guard = table.lock(&0).await.unwrap();
            let (cancel, cancelled) = tokio::sync::watch::channel(false);
            let selected: Vec<_> = (0..SELECTED)
                .map(|_| {
                    let table = Arc::clone(&table);
                    let mut cancelled = cancelled.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            written = table.update_with(&0, |c| c.hits += 1) => {
                                written.unwrap();
                                true
                            }
                            _ = cancelled.changed() => false,
                        }
                    })
                })
                .collect();
            let aborted: Vec<_> = (0..ABORTED)
                .map(|_| {
                    let table = Arc::clone(&table);
                    tokio::spawn(async move { table.update_with(&0, |c| c.hits += 1).await })
                })
                .collect();
            for _ in 0..round % 4 {
                tokio::task::yield_now().await;
            }
            drop(guard);
            if round.is_multiple_of(2) {
                cancel.send(true).unwrap();
                aborted.iter().for_each(|waiter| waiter.abort());
            } else {
                aborted.iter().for_each(|waiter| waiter.abort());
                cancel.send(true).unwrap();
            }
            for waiter in selected {
                applied += u64::from(waiter.await.unwrap());
            }
            for waiter in aborted {
                match waiter.await {
                    Ok(written) => {
                        written.unwrap();
                        applied += 1;
                    }
                    Err(error) => assert!(error.is_cancelled()),
                }
            }
            assert_eq!(table.stats().locked_rows, 0, "round {round}");
            assert_eq!(table.get(&0).unwrap().hits, applied, "round {round}");
        }
        applied
    })
    .await;
    // Not an assertion about timing: some writes won and some were cancelled overall,
    // or the test exercised nothing.
    assert!(applied > 0);
    assert!(applied < u64::from(ROUNDS * (SELECTED + ABORTED)));
    settle(&table);
}
