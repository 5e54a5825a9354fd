//! Slow, dropped and orphaned subscribers: a subscriber that never reads holds at most
//! its capacity plus one `Lagged` item, then reads exactly its capacity of events, one
//! `Lagged` counting every event it missed, and new events after that; a dropped
//! subscription leaves the others whole; dropping the table ends the streams after
//! their queued events.

use futures::StreamExt;
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind, Lagged, Subscription, Watch};

use super::{Account, account, assert_contiguous, drain};
use crate::concurrent::bounded;

/// Rows 0..100, balance 0.
async fn hundred() -> WorkTable<Account> {
    let table = WorkTable::new();
    for id in 0..100 {
        table
            .insert(account(id, &format!("c{id}"), 0, 0))
            .await
            .unwrap();
    }
    table
}

/// Write `n` (from 0) of the lagging test: row `n % 100` gets balance `n`.
async fn write(table: &WorkTable<Account>, n: u64) {
    let pk = (n % 100) as u32;
    table
        .update_with(&pk, |row| row.balance = n as i64)
        .await
        .unwrap();
}

fn assert_write(event: &ChangeEvent<Account>, n: u64) {
    assert_eq!(event.kind(), ChangeKind::Update);
    assert_eq!(*event.pk(), (n % 100) as u32);
    assert_eq!(
        event.after().unwrap().archived().balance.to_native(),
        n as i64
    );
}

#[tokio::test]
async fn a_subscriber_that_never_reads_keeps_its_capacity_and_counts_what_it_missed() {
    const CAPACITY: usize = 500;
    const WRITES: u64 = 100_000;
    let table = hundred().await;
    let first = table.last_seq() + 1;
    let mut slow = table.subscribe_to(Watch::all().capacity(CAPACITY));
    // A capacity of 0 means 1.
    let mut slowest = table.subscribe_to(Watch::all().capacity(0));
    // A filtered queue fills with, and counts, only the events its watch selects.
    let mut row_5 = table.subscribe_to(Watch::key(5).capacity(2));
    for n in 0..WRITES {
        write(&table, n).await;
        if n % 10_000 == 0 {
            assert!(slow.queued() <= CAPACITY + 1, "{} queued", slow.queued());
            assert!(slowest.queued() <= 2, "{} queued", slowest.queued());
        }
    }
    assert_eq!(slow.queued(), CAPACITY + 1);
    assert_eq!(slowest.queued(), 2);

    for n in 0..CAPACITY as u64 {
        let event = slow.try_next().unwrap().unwrap();
        assert_eq!(event.seq(), first + n);
        assert_write(&event, n);
    }
    let missed = WRITES - CAPACITY as u64;
    assert_eq!(slow.try_next().unwrap().unwrap_err(), Lagged { missed });
    assert!(slow.try_next().is_none());
    assert_write(&slowest.try_next().unwrap().unwrap(), 0);
    assert_eq!(
        slowest.try_next().unwrap().unwrap_err(),
        Lagged { missed: WRITES - 1 }
    );
    assert!(slowest.try_next().is_none());
    assert_eq!(row_5.queued(), 3);
    assert_write(&row_5.try_next().unwrap().unwrap(), 5);
    assert_write(&row_5.try_next().unwrap().unwrap(), 105);
    assert_eq!(
        row_5.try_next().unwrap().unwrap_err(),
        Lagged {
            missed: WRITES / 100 - 2
        }
    );
    assert!(row_5.try_next().is_none());

    // With room again, new events come.
    for n in WRITES..WRITES + 5 {
        write(&table, n).await;
    }
    let events: Vec<_> = (0..5).map(|_| slow.try_next().unwrap().unwrap()).collect();
    assert_contiguous(&events);
    assert_eq!(events[0].seq(), first + WRITES);
    for (event, n) in events.iter().zip(WRITES..) {
        assert_write(event, n);
    }
    assert!(slow.try_next().is_none());
    assert_eq!(table.last_seq(), first + WRITES + 4);
}

/// Reads everything queued for `sub`, events as their sequence number and a lag as its
/// negated count.
fn read_all(sub: &mut Subscription<Account>) -> Vec<i64> {
    std::iter::from_fn(|| sub.try_next())
        .map(|item| match item {
            Ok(event) => event.seq() as i64,
            Err(Lagged { missed }) => -(missed as i64),
        })
        .collect()
}

#[tokio::test]
async fn a_lag_sits_where_the_gap_is_and_counts_exactly_the_missing_events() {
    let table = hundred().await;
    let s = table.last_seq() as i64;
    let mut sub = table.subscribe_to(Watch::all().capacity(4));
    for n in 0..6 {
        write(&table, n).await;
    }
    // Full: 4 events, then 2 missed.
    assert_eq!(sub.queued(), 5);
    assert_eq!(sub.try_next().unwrap().unwrap().seq() as i64, s + 1);
    // One item read: still no room for an event, so it is missed too.
    write(&table, 6).await;
    assert_eq!(sub.queued(), 4);
    assert_eq!(sub.try_next().unwrap().unwrap().seq() as i64, s + 2);
    // Room for one event after the lag.
    write(&table, 7).await;
    write(&table, 8).await;
    assert_eq!(read_all(&mut sub), [s + 3, s + 4, -3, s + 8, -1]);
    write(&table, 9).await;
    assert_eq!(read_all(&mut sub), [s + 10]);
}

#[tokio::test]
async fn dropping_a_subscription_leaves_the_others_whole() {
    let table = hundred().await;
    let mut subs: Vec<Subscription<Account>> = (0..4).map(|_| table.subscribe()).collect();
    let mut n = 0;
    // Drop subscriptions at different places of the table's list, writing in between;
    // the ones left have every event.
    for (round, drop_at) in [0, 2, 0].into_iter().enumerate() {
        for _ in 0..10 {
            write(&table, n).await;
            n += 1;
        }
        for sub in &subs {
            assert_eq!(sub.queued(), 10 * (round + 1));
        }
        // Dropped with events queued.
        drop(subs.remove(drop_at));
    }
    for _ in 0..10 {
        write(&table, n).await;
        n += 1;
    }
    let mut last = subs.pop().unwrap();
    assert!(subs.is_empty());
    let events = drain(&mut last);
    assert_eq!(events.len(), 40);
    assert_contiguous(&events);
    for (event, n) in events.iter().zip(0..) {
        assert_write(event, n);
    }
    drop(last);

    // With nobody left, writes go on; a new subscriber starts at the next number.
    write(&table, n).await;
    let mut fresh = table.subscribe();
    write(&table, n + 1).await;
    let events = drain(&mut fresh);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].seq(), table.last_seq());
    assert_write(&events[0], n + 1);

    // A task waiting on a stream is cancelled: its subscription goes, the table goes on.
    let waiting = {
        let mut sub = table.subscribe();
        tokio::spawn(async move { sub.next().await.map(|item| item.unwrap().seq()) })
    };
    tokio::task::yield_now().await;
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    write(&table, n + 2).await;
    assert_eq!(drain(&mut fresh).len(), 1);
}

#[tokio::test]
async fn dropping_the_table_ends_the_streams_after_their_queued_events() {
    let table = hundred().await;
    let mut full = table.subscribe();
    let mut one_key = table.subscribe_to(Watch::key(1));
    for n in 0..3 {
        write(&table, n).await;
    }
    drop(table);
    let seqs: Vec<u64> = bounded(full.by_ref().map(|item| item.unwrap().seq()).collect()).await;
    assert_eq!(seqs, [101, 102, 103]);
    assert!(full.next().await.is_none());
    assert_eq!(one_key.next().await.unwrap().unwrap().seq(), 102);
    assert!(bounded(one_key.next()).await.is_none());
    assert!(one_key.try_next().is_none());

    // A reader waiting on an empty stream wakes up to its end.
    let table = hundred().await;
    let mut sub = table.subscribe();
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while let Some(item) = sub.next().await {
            item.unwrap();
            seen += 1;
        }
        seen
    });
    write(&table, 0).await;
    tokio::task::yield_now().await;
    drop(table);
    assert_eq!(bounded(reader).await.unwrap(), 1);
}
