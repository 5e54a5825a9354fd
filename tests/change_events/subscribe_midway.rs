//! Subscribing while writers run: a subscription sees every change numbered after the
//! moment it was made and none numbered before it started, so its events run without a
//! gap from its first to its last, and subscriptions that overlap agree on the events
//! they share. Between rounds nobody listens, so the writers keep switching between
//! committing without the commit lock and with it — the handshake under test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, RowImage, Watch};

use super::{Account, assert_contiguous, drain, random_writes};
use crate::concurrent::{bounded, settle};
use crate::row_locks::sleep;

/// Writer tasks; each writes in batches of [`BATCH`] until told to stop, at most
/// [`MAX_BATCHES`] times.
const WRITERS: u64 = 4;
const BATCH: usize = 50;
const MAX_BATCHES: usize = 2_000;
/// Rounds of subscriptions, and subscriptions per round.
const ROUNDS: usize = 150;
const PER_ROUND: usize = 3;

/// A subscription's events, with the last sequence number just before and just after it
/// subscribed.
struct Run {
    before: u64,
    after: u64,
    events: Vec<ChangeEvent<Account>>,
}

fn same_change(a: &ChangeEvent<Account>, b: &ChangeEvent<Account>) -> bool {
    let bytes = |image: Option<&RowImage<Account>>| image.map(|image| image.bytes().to_vec());
    (
        a.seq(),
        a.kind(),
        a.pk(),
        bytes(a.before()),
        bytes(a.after()),
    ) == (
        b.seq(),
        b.kind(),
        b.pk(),
        bytes(b.before()),
        bytes(b.after()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribers_that_start_while_writers_run_see_an_unbroken_run() {
    let table = Arc::new(WorkTable::<Account>::new());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|task| {
            let (table, stop) = (Arc::clone(&table), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut batches = 0;
                while !stop.load(Ordering::Acquire) && batches < MAX_BATCHES {
                    random_writes(&table, 500 + task * 10_000 + batches as u64, BATCH).await;
                    batches += 1;
                }
                batches
            })
        })
        .collect();

    let (mut seen, mut empty) = (0, 0);
    bounded(async {
        for _ in 0..ROUNDS {
            let mut subs = Vec::new();
            for _ in 0..PER_ROUND {
                let before = table.last_seq();
                let sub = table.subscribe_to(Watch::all().capacity(1 << 20));
                let after = table.last_seq();
                subs.push((before, after, sub));
                tokio::task::yield_now().await;
            }
            sleep(Duration::from_millis(1)).await;
            let runs: Vec<Run> = subs
                .into_iter()
                .map(|(before, after, mut sub)| Run {
                    before,
                    after,
                    events: drain(&mut sub),
                })
                .collect();
            for (i, run) in runs.iter().enumerate() {
                assert_contiguous(&run.events);
                let Some(first) = run.events.first() else {
                    empty += 1;
                    continue;
                };
                seen += run.events.len();
                // Nothing committed before it subscribed; everything after.
                assert!(first.seq() > run.before, "{first:?} before {}", run.before);
                assert!(
                    first.seq() <= run.after + 1,
                    "{first:?} after {}",
                    run.after
                );
                // An earlier subscription of the round holds the same changes.
                for earlier in &runs[..i] {
                    let shared = run.events.iter().filter(|event| {
                        earlier
                            .events
                            .last()
                            .is_some_and(|last| event.seq() <= last.seq())
                    });
                    for event in shared {
                        let first_earlier = earlier.events[0].seq();
                        assert!(event.seq() >= first_earlier);
                        let same = &earlier.events[(event.seq() - first_earlier) as usize];
                        assert!(same_change(event, same), "{event:?} vs {same:?}");
                    }
                }
            }
            // The subscriptions are dropped: nobody listens until the next round.
            sleep(Duration::from_millis(1)).await;
        }
        stop.store(true, Ordering::Release);
        let mut batches = 0;
        for writer in writers {
            batches += writer.await.unwrap();
        }
        assert!(batches > 0);
    })
    .await;
    assert!(seen > 0, "no subscription saw an event ({empty} empty)");
    settle(&table);
}
