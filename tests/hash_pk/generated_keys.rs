//! Generated keys: `hash` with `autoincrement` and with a generator.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use worktable_core::PkGenerator;
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "tickets")]
pub(super) struct Ticket {
    #[pk(hash, autoincrement)]
    id: u64,
    #[index]
    owner: u8,
    body: String,
}

const _: () = assert!(!Ticket::ORDERED_PK);

pub(super) fn ticket(owner: u8) -> Ticket {
    Ticket {
        id: 0,
        owner,
        body: format!("ticket of {owner}"),
    }
}

pub(super) fn ids(rows: impl IntoIterator<Item = Ticket>) -> Vec<u64> {
    rows.into_iter().map(|t| t.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autoincrement_with_hash_hands_out_keys_that_iterate_in_order() {
    let table = Arc::new(WorkTable::<Ticket>::new());
    let tasks: Vec<_> = (0..4u8)
        .map(|owner| {
            let table = Arc::clone(&table);
            tokio::spawn(async move {
                let mut pks = Vec::new();
                for _ in 0..200 {
                    pks.push(table.insert(ticket(owner)).await.unwrap());
                }
                pks
            })
        })
        .collect();
    let mut pks = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        assert!(mine.is_sorted(), "one task's keys increase");
        pks.extend(mine);
    }
    pks.sort_unstable();
    let every: Vec<u64> = (1..=800).collect();
    assert_eq!(pks, every);
    assert_eq!(ids(table.iter()), every);
    assert_eq!(
        ids(table.iter().rev()),
        every.iter().rev().copied().collect::<Vec<_>>()
    );
    table.check_integrity().unwrap();

    assert_eq!(
        ids(table.delete_range(100..=700).await.unwrap()),
        (100..=700).collect::<Vec<_>>()
    );
    assert!(
        table
            .upsert(Ticket {
                id: 5000,
                ..ticket(9)
            })
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(table.insert(ticket(1)).await.unwrap(), 5001);
    table.delete(&5001).await.unwrap();
    assert_eq!(
        table.insert(ticket(1)).await.unwrap(),
        5002,
        "a used key is not given again"
    );
    let tail: Vec<u64> = (701..=800).chain([5000, 5002]).collect();
    assert_eq!(ids(table.range(701..)), tail);
    assert_eq!(ids(table.range(..=5001).rev().take(2)), [5000, 800]);
    assert_eq!(ids(table.range(99..=100)), [99]);
    assert!(table.range(100..=700).next().is_none());
    assert_eq!(
        ids(table.query().order_by_desc(Ticket::ID).limit(2).to_vec()),
        [5002, 5000]
    );
    assert_eq!(table.query().range(50..150).count(), 50);
    assert_eq!(
        table.update_range(..=10, |t| t.owner = 9).await.unwrap(),
        10
    );
    let nines: Vec<u64> = (1..=10).chain([5000]).collect();
    assert_eq!(ids(table.find_by(Ticket::OWNER, &9)), nines);
    assert_eq!(ids(table.query().by(Ticket::OWNER, &9).to_vec()), nines);
    assert_eq!(table.len(), 99 + 100 + 2);
    table.check_integrity().unwrap();

    // `from_rows` assigns keys in the rows' order, then goes on from there.
    let loaded = WorkTable::from_rows((0..50).map(|n| ticket(n % 3))).unwrap();
    assert_eq!(ids(loaded.iter()), (1..=50).collect::<Vec<_>>());
    assert_eq!(loaded.insert(ticket(0)).await.unwrap(), 51);
    assert_eq!(ids(loaded.range(49..)), [49, 50, 51]);
    loaded.check_integrity().unwrap();
}

/// Hands out 1,000,000, 999,993, 999,986, ...: every key below the last.
#[derive(Debug, Default)]
struct Countdown(AtomicU64);

impl PkGenerator<u64> for Countdown {
    fn next_pk(&self) -> Option<u64> {
        let drawn = self.0.fetch_add(1, Ordering::Relaxed);
        1_000_000u64.checked_sub(drawn.checked_mul(7)?)
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "launches")]
struct Launch {
    #[pk(generator = self::Countdown, hash)]
    id: u64,
    #[index(unique)]
    label: String,
}

const _: () = assert!(!Launch::ORDERED_PK);

#[tokio::test]
async fn a_generator_with_hash_iterates_in_key_order_not_insertion_order() {
    let table = WorkTable::<Launch>::new();
    let mut inserted = Vec::new();
    for n in 0..300 {
        let label = format!("launch {n}");
        let pk = table.insert(Launch { id: 0, label }).await.unwrap();
        inserted.push(pk);
    }
    assert_eq!(inserted[..3], [1_000_000, 999_993, 999_986]);
    let mut sorted = inserted.clone();
    sorted.reverse();
    let got: Vec<u64> = table.iter().map(|l| l.id).collect();
    assert_eq!(got, sorted, "key order is the reverse of insertion order");
    let newest = *inserted.last().unwrap();
    assert_eq!(table.iter().next().unwrap().label, "launch 299");
    assert_eq!(table.iter().next_back().unwrap().label, "launch 0");
    let range: Vec<u64> = table.range(999_000..=999_500).map(|l| l.id).collect();
    let want: Vec<u64> = sorted
        .iter()
        .copied()
        .filter(|id| (999_000..=999_500).contains(id))
        .collect();
    assert_eq!(range, want);
    assert!(!want.is_empty());
    let smallest: Vec<u64> = table
        .query()
        .order_by(Launch::ID)
        .limit(3)
        .to_vec()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(smallest, [newest, newest + 7, newest + 14]);
    assert_eq!(
        table.get_by(Launch::LABEL, "launch 5").unwrap().id,
        1_000_000 - 35
    );
    let gone: Vec<u64> = table
        .delete_range(..newest + 70)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(gone, sorted[..10]);
    assert_eq!(table.len(), 290);
    table.check_integrity().unwrap();
}
