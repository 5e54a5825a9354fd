//! Resuming a change feed with `subscribe_from(seq)`: the changes after
//! `seq` still in the log come first, in order and whole (kind, key, both
//! images), then the live ones, with no gap or duplicate at the seam, also
//! while writers run; a number the log no longer holds, or one past the
//! table's history, is a typed error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind, Subscription, Watch};
use worktable_persist::{Durability, Options, PersistentTable, ResumeError};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
    #[index]
    branch: u16,
    balance: i64,
}

fn account(id: u32, branch: u16, balance: i64) -> Account {
    Account {
        id,
        branch,
        balance,
    }
}

fn manual(durability: Durability) -> Options {
    Options::durability(durability)
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

/// What an event says, comparably: number, kind, key, images.
type Seen = (u64, ChangeKind, u32, Option<Account>, Option<Account>);

fn seen(event: &ChangeEvent<Account>) -> Seen {
    (
        event.seq(),
        event.kind(),
        *event.pk(),
        event.before().map(|image| image.get()),
        event.after().map(|image| image.get()),
    )
}

/// The next `n` events of `feed`, failing on a lag or a stall.
async fn take(feed: &mut Subscription<Account>, n: usize) -> Vec<Seen> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), feed.next())
            .await
            .expect("the feed stalled")
            .expect("the feed ended")
            .expect("the feed lagged");
        out.push(seen(&next));
    }
    out
}

/// Ten changes of every kind: inserts, updates (one moving a row to
/// branch 2), deletes.
async fn history(accounts: &PersistentTable<Account>) {
    for id in 1..=5 {
        accounts.insert(account(id, 1, 100)).await.unwrap();
    }
    accounts.update_with(&1, |a| a.balance -= 30).await.unwrap();
    accounts.update_with(&2, |a| a.branch = 2).await.unwrap();
    accounts.set_field(&3, Account::BALANCE, 7).await.unwrap();
    accounts.delete(&4).await.unwrap();
    accounts.upsert(account(6, 2, 1)).await.unwrap();
    assert_eq!(accounts.last_seq(), 10);
}

#[tokio::test]
async fn a_resumed_feed_replays_the_log_whole_then_continues_live() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = PersistentTable::<Account>::open(dir.path(), manual(Durability::Sync)).unwrap();
    let mut everything = accounts.subscribe();
    history(&accounts).await;
    let live = take(&mut everything, 10).await;

    // Within the process: the log gives back exactly what subscribers saw.
    let mut resumed = accounts.subscribe_from(3).await.unwrap();
    accounts.insert(account(7, 1, 0)).await.unwrap();
    let got = take(&mut resumed, 8).await;
    assert_eq!(got[..7], live[3..]);
    assert_eq!(got[7].0, 11);
    assert_eq!(got[7].1, ChangeKind::Insert);
    assert_eq!(got[6].1, ChangeKind::Insert, "the upsert of a new row");
    assert_eq!(got[5].1, ChangeKind::Delete);
    assert_eq!(
        got[5].3,
        Some(account(4, 1, 100)),
        "a delete carries the row"
    );
    drop(accounts);

    // After a reopen (a drop without close: the log holds everything).
    let accounts = PersistentTable::<Account>::open(dir.path(), manual(Durability::Sync)).unwrap();
    let mut resumed = accounts.subscribe_from(0).await.unwrap();
    let all = take(&mut resumed, 11).await;
    assert_eq!(all[..10], live[..]);
    let update = &all[5];
    assert_eq!(
        (
            update.1,
            update.3.as_ref().unwrap().balance,
            update.4.as_ref().unwrap().balance
        ),
        (ChangeKind::Update, 100, 70)
    );
    accounts.delete(&7).await.unwrap();
    assert_eq!(take(&mut resumed, 1).await[0].0, 12);

    // Resuming at the last change is a live subscription.
    let mut at_end = accounts.subscribe_from(12).await.unwrap();
    assert!(at_end.try_next().is_none());
    accounts.insert(account(8, 1, 0)).await.unwrap();
    assert_eq!(take(&mut at_end, 1).await[0].0, 13);
    accounts.close().await.unwrap();
}

#[tokio::test]
async fn a_filtered_resumed_feed_sees_the_history_as_a_live_filter_would() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = PersistentTable::<Account>::open(dir.path(), manual(Durability::Sync)).unwrap();
    history(&accounts).await;
    let mut branch_2 = accounts
        .subscribe_to_from(Watch::index(Account::BRANCH, 2), 0)
        .await
        .unwrap();
    let got = take(&mut branch_2, 2).await;
    // Row 2 moved into branch 2 (an insert for this watch), row 6 was
    // inserted there.
    assert_eq!((got[0].0, got[0].1, got[0].2), (7, ChangeKind::Insert, 2));
    assert_eq!((got[1].0, got[1].1, got[1].2), (10, ChangeKind::Insert, 6));
    assert!(branch_2.try_next().is_none());
    accounts.close().await.unwrap();
}

#[tokio::test]
async fn resuming_before_the_log_or_past_the_history_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = PersistentTable::<Account>::open(dir.path(), manual(Durability::Sync)).unwrap();
    history(&accounts).await;
    accounts.checkpoint().await.unwrap();
    accounts.insert(account(9, 1, 0)).await.unwrap();

    match accounts.subscribe_from(4).await {
        Err(ResumeError::TooOld { after, oldest, .. }) => {
            assert_eq!((after, oldest), (4, 11));
        }
        other => panic!("expected ResumeTooOld, got {other:?}"),
    }
    // The checkpoint holds everything up to 10: resuming there works.
    let mut resumed = accounts.subscribe_from(10).await.unwrap();
    assert_eq!(take(&mut resumed, 1).await[0].0, 11);
    match accounts.subscribe_from(12).await {
        Err(error @ ResumeError::Ahead { .. }) => {
            let ResumeError::Ahead { after, last, .. } = &error else {
                unreachable!()
            };
            assert_eq!((*after, *last), (12, 11));
            assert!(error.to_string().contains("last change is 11"), "{error}");
        }
        other => panic!("expected ResumeAhead, got {other:?}"),
    }
    accounts.close().await.unwrap();
}

/// Writers run while feeds resume: each feed's numbers follow `after`
/// without a gap or a duplicate, and agree with a subscriber that saw
/// every change live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seam_has_no_gap_and_no_duplicate_under_concurrent_writers() {
    for durability in [Durability::Sync, Durability::None] {
        let dir = tempfile::tempdir().unwrap();
        let accounts =
            Arc::new(PersistentTable::<Account>::open(dir.path(), manual(durability)).unwrap());
        let mut reference = accounts.subscribe_to(Watch::all().capacity(1 << 20));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3u32)
            .map(|w| {
                let (accounts, stop) = (Arc::clone(&accounts), Arc::clone(&stop));
                tokio::spawn(async move {
                    let mut i = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let id = w * 1000 + i % 50;
                        accounts
                            .upsert(account(id, (i % 3) as u16, i64::from(i)))
                            .await
                            .unwrap();
                        if i.is_multiple_of(7) {
                            let _ = accounts.delete(&(w * 1000 + (i * 3) % 50)).await;
                        }
                        i += 1;
                        // Without a sync to wait for (`None`), a write never
                        // yields: let the runtime's timers and the test run.
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut feeds = Vec::new();
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            let after = accounts.last_seq().saturating_sub(5);
            let feed = accounts
                .subscribe_to_from(Watch::all().capacity(1 << 20), after)
                .await
                .unwrap();
            feeds.push((after, feed));
        }
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.await.unwrap();
        }
        let last = accounts.last_seq();
        let all = take(&mut reference, last as usize).await;
        for (after, mut feed) in feeds {
            let got = take(&mut feed, (last - after) as usize).await;
            assert_eq!(
                got[..],
                all[after as usize..],
                "{durability:?}: the feed resumed after {after}"
            );
            assert!(feed.try_next().is_none());
        }
        Arc::into_inner(accounts).unwrap().close().await.unwrap();
    }
}
