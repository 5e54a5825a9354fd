//! Filtered subscriptions see exactly the events their watch selects: recomputed from a
//! full subscription over a random concurrent workload, every filtered stream holds the
//! same sequence numbers, kinds, keys and images — an update moving a row into the
//! watched rows as an insert, out of them as a delete (both `moved()`), within them as
//! an update.

use std::sync::Arc;

use worktable_core::ChangeKind::{Delete, Insert, Update};
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind, RowImage, Subscription, Watch};

use super::{Account, account, assert_image, drain, random_writes};
use crate::concurrent::{bounded, settle};

/// Writer tasks and writes per task.
const WRITERS: u64 = 4;
const OPS: usize = 1_500;
/// Enough that no subscriber lags.
const ROOMY: usize = 1 << 20;

/// A filtered subscription and the rows its watch selects, as a plain predicate.
struct Filtered {
    name: &'static str,
    sub: Subscription<Account>,
    selects: fn(&Account) -> bool,
}

fn bytes(image: Option<&RowImage<Account>>) -> Option<&[u8]> {
    image.map(RowImage::bytes)
}

/// The events a watch selecting `selects` must deliver, from the full stream.
fn expected(
    full: &[ChangeEvent<Account>],
    selects: fn(&Account) -> bool,
) -> Vec<(u64, ChangeKind, &ChangeEvent<Account>)> {
    full.iter()
        .filter_map(|event| {
            let was = event.before().is_some_and(|image| selects(&image.get()));
            let is = event.after().is_some_and(|image| selects(&image.get()));
            let kind = match (was, is) {
                (true, true) => Update,
                (false, true) => Insert,
                (true, false) => Delete,
                (false, false) => return None,
            };
            Some((event.seq(), kind, event))
        })
        .collect()
}

/// Per kind seen, and how many of them were moves.
#[derive(Default, Debug)]
struct Seen {
    inserts: usize,
    updates: usize,
    deletes: usize,
    moved_in: usize,
    moved_out: usize,
}

/// Compares a filtered stream with what the full stream says it must hold.
fn assert_filtered(
    name: &str,
    got: &[ChangeEvent<Account>],
    full: &[ChangeEvent<Account>],
    selects: fn(&Account) -> bool,
    seen: &mut Seen,
) {
    let want = expected(full, selects);
    assert_eq!(
        got.iter().map(ChangeEvent::seq).collect::<Vec<_>>(),
        want.iter().map(|(seq, ..)| *seq).collect::<Vec<_>>(),
        "{name}: the events selected"
    );
    for (event, (_, kind, committed)) in got.iter().zip(&want) {
        let what = format!("{name}: {event:?} for {committed:?}");
        assert_eq!(event.kind(), *kind, "{what}");
        assert_eq!(event.committed_kind(), committed.kind(), "{what}");
        assert_eq!(event.moved(), *kind != committed.kind(), "{what}");
        assert_eq!(event.pk(), committed.pk(), "{what}");
        let (before, after) = match kind {
            Insert => (None, committed.after()),
            Update => (committed.before(), committed.after()),
            Delete => (committed.before(), None),
        };
        assert_eq!(bytes(event.before()), bytes(before), "{what}");
        assert_eq!(bytes(event.after()), bytes(after), "{what}");
        match (kind, event.moved()) {
            (Insert, false) => seen.inserts += 1,
            (Insert, true) => seen.moved_in += 1,
            (Update, _) => seen.updates += 1,
            (Delete, false) => seen.deletes += 1,
            (Delete, true) => seen.moved_out += 1,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filtered_subscriptions_see_exactly_what_their_watch_selects() {
    let names = ["key 7", "keys 10..20", "keys ..=5", "team 2", "code c5"];
    let mut seen: Vec<Seen> = names.iter().map(|_| Seen::default()).collect();
    for seed in 11..=13 {
        let table = Arc::new(WorkTable::<Account>::new());
        let mut full = table.subscribe_to(Watch::all().capacity(ROOMY));
        let mut filtered = [
            Filtered {
                name: names[0],
                sub: table.subscribe_to(Watch::key(7).capacity(ROOMY)),
                selects: |row| row.id == 7,
            },
            Filtered {
                name: names[1],
                sub: table.subscribe_to(Watch::range(10..20).capacity(ROOMY)),
                selects: |row| (10..20).contains(&row.id),
            },
            Filtered {
                name: names[2],
                sub: table.subscribe_to(Watch::range(..=5).capacity(ROOMY)),
                selects: |row| row.id <= 5,
            },
            Filtered {
                name: names[3],
                sub: table.subscribe_to(Watch::index(Account::TEAM, 2).capacity(ROOMY)),
                selects: |row| row.team == 2,
            },
            Filtered {
                name: names[4],
                sub: table
                    .subscribe_to(Watch::index(Account::CODE, "c5".to_owned()).capacity(ROOMY)),
                selects: |row| row.code == "c5",
            },
        ];
        bounded(async {
            let writers: Vec<_> = (0..WRITERS)
                .map(|task| {
                    let table = Arc::clone(&table);
                    tokio::spawn(async move { random_writes(&table, seed * 100 + task, OPS).await })
                })
                .collect();
            for writer in writers {
                writer.await.unwrap();
            }
        })
        .await;
        settle(&table);
        let full = drain(&mut full);
        assert_eq!(full.last().unwrap().seq(), table.last_seq());
        for (filtered, seen) in filtered.iter_mut().zip(&mut seen) {
            let got = drain(&mut filtered.sub);
            assert_filtered(filtered.name, &got, &full, filtered.selects, seen);
        }
    }
    // The workload exercised every case; keys never move.
    for (name, seen) in names.iter().zip(&seen) {
        let what = format!("{name}: {seen:?}");
        assert!(
            seen.inserts > 0 && seen.updates > 0 && seen.deletes > 0,
            "{what}"
        );
        if name.starts_with("key") {
            assert_eq!((seen.moved_in, seen.moved_out), (0, 0), "{what}");
        } else {
            assert!(seen.moved_in > 0 && seen.moved_out > 0, "{what}");
        }
    }
}

#[tokio::test]
async fn moves_into_and_out_of_an_index_key_come_as_inserts_and_deletes() {
    let table = WorkTable::<Account>::new();
    table.insert(account(1, "a", 1, 0)).await.unwrap();
    table.insert(account(2, "b", 2, 0)).await.unwrap();
    let mut team_2 = table.subscribe_to(Watch::index(Account::TEAM, 2));
    let mut code_x = table.subscribe_to(Watch::index(Account::CODE, "x".to_owned()));

    table.update_with(&1, |row| row.team = 2).await.unwrap();
    table.update_with(&1, |row| row.balance = 5).await.unwrap();
    table
        .update_with(&1, |row| row.code = "x".into())
        .await
        .unwrap();
    table.update_with(&1, |row| row.team = 0).await.unwrap();
    table.update_with(&1, |row| row.balance = 6).await.unwrap();
    table.update_with(&2, |row| row.team = 3).await.unwrap();
    table.insert(account(3, "c", 2, 0)).await.unwrap();
    table.update(account(3, "x2", 2, 0)).await.unwrap();
    table.delete(&1).await.unwrap();
    table.delete(&3).await.unwrap();

    let check = |event: &ChangeEvent<Account>,
                 (seq, kind, moved, pk): (u64, ChangeKind, bool, u32),
                 before: Option<&Account>,
                 after: Option<&Account>| {
        let what = format!("{event:?}");
        assert_eq!(
            (event.seq(), event.kind(), event.moved(), *event.pk()),
            (seq, kind, moved, pk),
            "{what}"
        );
        assert_eq!(event.before().is_some(), before.is_some(), "{what}");
        assert_eq!(event.after().is_some(), after.is_some(), "{what}");
        if let Some((image, row)) = event.before().zip(before) {
            assert_image(image, row);
        }
        if let Some((image, row)) = event.after().zip(after) {
            assert_image(image, row);
        }
    };
    let events = drain(&mut team_2);
    assert_eq!(events.len(), 8, "{events:?}");
    let a2 = account(1, "a", 2, 0);
    let a2_5 = account(1, "a", 2, 5);
    let x2_5 = account(1, "x", 2, 5);
    check(&events[0], (3, Insert, true, 1), None, Some(&a2));
    check(&events[1], (4, Update, false, 1), Some(&a2), Some(&a2_5));
    check(&events[2], (5, Update, false, 1), Some(&a2_5), Some(&x2_5));
    check(&events[3], (6, Delete, true, 1), Some(&x2_5), None);
    check(
        &events[4],
        (8, Delete, true, 2),
        Some(&account(2, "b", 2, 0)),
        None,
    );
    let c = account(3, "c", 2, 0);
    let x2 = account(3, "x2", 2, 0);
    check(&events[5], (9, Insert, false, 3), None, Some(&c));
    check(&events[6], (10, Update, false, 3), Some(&c), Some(&x2));
    check(&events[7], (12, Delete, false, 3), Some(&x2), None);

    let events = drain(&mut code_x);
    assert_eq!(events.len(), 4, "{events:?}");
    let x0_5 = account(1, "x", 0, 5);
    let x0_6 = account(1, "x", 0, 6);
    check(&events[0], (5, Insert, true, 1), None, Some(&x2_5));
    check(&events[1], (6, Update, false, 1), Some(&x2_5), Some(&x0_5));
    check(&events[2], (7, Update, false, 1), Some(&x0_5), Some(&x0_6));
    check(&events[3], (11, Delete, false, 1), Some(&x0_6), None);
}
