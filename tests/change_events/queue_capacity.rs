//! The default queue capacity as documented: a burst of `DEFAULT_CAPACITY` changes from
//! several writers never lags a subscriber that reads at the same time (nor one that reads
//! only afterwards), one more change than that lags it by exactly one; and, measured by an
//! ignored test, what a full default queue holds in memory.

use std::sync::Arc;

use futures::StreamExt;
use worktable_core::events::DEFAULT_CAPACITY;
use worktable_core::prelude::*;
use worktable_core::{Lagged, Watch};

use super::{Account, account, assert_contiguous};
use crate::concurrent::bounded;

const WRITERS: usize = 4;

/// Inserts rows `from..from + count` from `WRITERS` tasks at once.
async fn burst(table: &Arc<WorkTable<Account>>, from: usize, count: usize) {
    burst_of(table, from, count, 0).await;
}

/// [`burst`] of rows whose note has `note` bytes.
async fn burst_of(table: &Arc<WorkTable<Account>>, from: usize, count: usize, note: usize) {
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let table = Arc::clone(table);
            tokio::spawn(async move {
                for id in (from + w..from + count).step_by(WRITERS) {
                    let mut row = account(id as u32, &format!("c{id}"), (id % 7) as u8, 0);
                    row.note = "n".repeat(note);
                    table.insert(row).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_the_default_capacity_never_lags_a_reader_draining_meanwhile() {
    let table = Arc::new(WorkTable::<Account>::new());
    let mut feed = table.subscribe();
    // The reader takes events out while the writers run, at whatever pace the
    // scheduler gives it: no interleaving can make it lag, since the queue holds the
    // whole burst.
    let reader = tokio::spawn(async move {
        let mut events = Vec::with_capacity(DEFAULT_CAPACITY);
        while events.len() < DEFAULT_CAPACITY {
            match feed.next().await {
                Some(Ok(event)) => events.push(event),
                Some(Err(lagged)) => panic!("lagged after {} events: {lagged}", events.len()),
                None => panic!("the stream ended"),
            }
        }
        (events, feed)
    });
    burst(&table, 0, DEFAULT_CAPACITY).await;
    let (events, mut feed) = bounded(reader).await.unwrap();
    assert_eq!(events.first().map(|e| e.seq()), Some(1));
    assert_contiguous(&events);
    assert!(feed.try_next().is_none());
    assert_eq!(table.len(), DEFAULT_CAPACITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_change_past_the_default_capacity_lags_an_idle_reader_by_one() {
    let table = Arc::new(WorkTable::<Account>::new());
    let mut feed = table.subscribe();
    burst(&table, 0, DEFAULT_CAPACITY).await;
    assert_eq!(feed.queued(), DEFAULT_CAPACITY);
    burst(&table, DEFAULT_CAPACITY, 1).await;
    assert_eq!(feed.queued(), DEFAULT_CAPACITY + 1);
    let events: Vec<_> = (0..DEFAULT_CAPACITY)
        .map(|_| feed.try_next().unwrap().unwrap())
        .collect();
    assert_contiguous(&events);
    assert_eq!(feed.try_next().unwrap().unwrap_err(), Lagged { missed: 1 });
    assert!(feed.try_next().is_none());
}

/// This process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

/// A table and, if any, its unread subscription, kept alive while others are measured.
type Kept = (
    Arc<WorkTable<Account>>,
    Option<worktable_core::Subscription<Account>>,
);

/// What a full queue of `capacity` insert events of rows with `note`-byte notes holds:
/// the resident memory a table of `capacity` rows grows by with an unread subscriber, less what it grows by without
/// one, per event. Everything measured stays in `kept`, so that no measurement reuses
/// memory an earlier one freed.
async fn queued_bytes_per_event(capacity: usize, note: usize, kept: &mut Vec<Kept>) -> f64 {
    let mut growth = [0u64; 2];
    for (listening, growth) in [false, true].into_iter().zip(&mut growth) {
        let before = resident_bytes();
        let table = Arc::new(WorkTable::<Account>::new());
        let feed = listening.then(|| table.subscribe_to(Watch::all().capacity(capacity)));
        burst_of(&table, 0, capacity, note).await;
        *growth = resident_bytes().saturating_sub(before);
        let queued = feed.as_ref().map_or(0, |feed| feed.queued());
        assert_eq!(queued, usize::from(listening) * capacity);
        kept.push((table, feed));
    }
    growth[1].saturating_sub(growth[0]) as f64 / capacity as f64
}

/// Prints the memory a full queue holds, per event, for `Account` rows. Run it alone, in
/// a fresh process, so that memory freed by other tests does not hide growth:
/// `cargo test --release -p worktable-tests --test integration resident_memory_of_a_full_queue -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run alone, see the doc comment"]
async fn resident_memory_of_a_full_queue() {
    let mut kept = Vec::new();
    // A first round pays the process's one-time costs (runtime threads, allocator
    // arenas); it is not reported.
    queued_bytes_per_event(DEFAULT_CAPACITY, 0, &mut kept).await;
    for note in [0, 100, 200] {
        let mut image = account(1, "c1", 1, 0);
        image.note = "n".repeat(note);
        let image_bytes =
            worktable_core::rkyv::to_bytes::<worktable_core::rkyv::rancor::Error>(&image)
                .unwrap()
                .len();
        let per_event = queued_bytes_per_event(DEFAULT_CAPACITY, note, &mut kept).await;
        println!(
            "rows of {image_bytes} archived bytes: {per_event:.0} bytes per queued insert event, \
             {:.1} MiB for a full queue of {DEFAULT_CAPACITY}",
            per_event * DEFAULT_CAPACITY as f64 / (1024.0 * 1024.0)
        );
    }
}
