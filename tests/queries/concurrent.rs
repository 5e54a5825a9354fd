//! Queries running while writers run return only rows that belong to their source, pass
//! their filters and come in order.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use worktable_core::prelude::*;

use super::Item;
use crate::concurrent::{Rng, bounded, scaled, settle};

/// Primary keys of the concurrent test are drawn below this.
const KEYS: u32 = 96;

/// A row every writer writes: its code and rank follow from its id and price,
/// so a row mixing two versions shows.
fn consistent(id: u32, group: u8, price: i64) -> Item {
    Item {
        id,
        code: format!("{id:03}-{price}"),
        group,
        rank: (price % 5) as i16,
        price,
    }
}

fn is_consistent(row: &Item) -> bool {
    *row == consistent(row.id, row.group, row.price)
}

/// One writer: inserts, updates (moving rows between groups), deletes,
/// changes rows through queries, and reclaims old versions' slots.
async fn write(table: Arc<WorkTable<Item>>, seed: u64, ops: usize) {
    let mut rng = Rng::new(seed);
    for _ in 0..ops {
        let id = rng.below(KEYS);
        let group = rng.below(4) as u8;
        let price = i64::from(rng.below(100));
        match rng.below(10) {
            0..=2 => {
                let _ = table.insert(consistent(id, group, price)).await;
            }
            3..=5 => {
                let _ = table
                    .update_with(&id, |row| *row = consistent(row.id, group, price))
                    .await;
            }
            6 => {
                let _ = table.upsert(consistent(id, group, price)).await;
            }
            7 => {
                let _ = table.delete(&id).await;
            }
            8 => {
                // Re-key a few rows of one group through a query.
                table
                    .query()
                    .by(Item::GROUP, &group)
                    .limit(3)
                    .update_with(|row| *row = consistent(row.id, (row.group + 1) % 4, price))
                    .await
                    .unwrap();
            }
            _ => {
                table
                    .query()
                    .range(id..id + 4)
                    .filter_archived(|row| row.price.to_native() > 80)
                    .delete()
                    .await
                    .unwrap();
            }
        }
        if rng.below(64) == 0 {
            // Slots of old versions are reused as soon as no reader sees them.
            table.reclaim_retired();
        }
        if rng.below(8) == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Checks that `rows` are sorted by `key` (ties allowed).
fn assert_sorted<K: Ord + std::fmt::Debug>(rows: &[Item], key: impl Fn(&Item) -> K, what: &str) {
    for pair in rows.windows(2) {
        assert!(
            key(&pair[0]) <= key(&pair[1]),
            "{what}: {:?} before {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// One reader: runs queries over the live table until `done`, checking each
/// returned row against the query's source, filters and order. Returns how
/// many queries it ran and how many rows they returned.
fn read(table: &WorkTable<Item>, done: &AtomicBool) -> (usize, usize) {
    let (mut queries, mut rows_seen) = (0, 0);
    let mut check = |rows: Vec<Item>| {
        queries += 1;
        rows_seen += rows.len();
        for row in &rows {
            assert!(is_consistent(row), "torn row {row:?}");
        }
        rows
    };
    let mut rounds = 0;
    while !done.load(Ordering::Relaxed) || rounds < 10 {
        rounds += 1;
        // An index range with a row filter, sorted by price.
        let rows = check(
            table
                .query()
                .range_by(Item::GROUP, 1..=2)
                .filter(|row| row.price % 2 == 0)
                .order_by(Item::PRICE)
                .to_vec(),
        );
        for row in &rows {
            assert!(
                (1..=2).contains(&row.group) && row.price % 2 == 0,
                "{row:?}"
            );
        }
        assert_sorted(&rows, |row| (row.price, row.id), "order_by(price)");

        // The same range streamed backward, with an archived filter and a limit.
        let rows = check(
            table
                .query()
                .range_by(Item::GROUP, 1..=2)
                .filter_archived(|row| row.price.to_native() < 50)
                .order_by_desc(Item::GROUP)
                .limit(20)
                .to_vec(),
        );
        assert!(rows.len() <= 20);
        for row in &rows {
            assert!((1..=2).contains(&row.group) && row.price < 50, "{row:?}");
        }
        assert_sorted(
            &rows,
            |row| (std::cmp::Reverse(row.group), row.id),
            "desc group",
        );

        // A primary-key range backward: keys never change, so strictly
        // descending.
        let rows = check(
            table
                .query()
                .range(20..70)
                .filter_archived(|row| row.group != 3)
                .order_by_desc(Item::ID)
                .limit(25)
                .to_vec(),
        );
        for row in &rows {
            assert!((20..70).contains(&row.id) && row.group != 3, "{row:?}");
        }
        for pair in rows.windows(2) {
            assert!(
                pair[0].id > pair[1].id,
                "{:?} before {:?}",
                pair[0],
                pair[1]
            );
        }

        // The whole table (read page by page, then sorted): every key at most
        // once, in order.
        let rows = check(
            table
                .query()
                .filter_archived(|row| row.group == 1)
                .order_by(Item::ID)
                .to_vec(),
        );
        for row in &rows {
            assert_eq!(row.group, 1, "{row:?}");
        }
        for pair in rows.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{:?} before {:?}",
                pair[0],
                pair[1]
            );
        }
        let rows = check(
            table
                .query()
                .filter(|row| row.price >= 50)
                .order_by_desc(Item::PRICE)
                .to_vec(),
        );
        for row in &rows {
            assert!(row.price >= 50, "{row:?}");
        }
        assert_sorted(
            &rows,
            |row| (std::cmp::Reverse(row.price), row.id),
            "whole table by price desc",
        );

        // A prefix in its own order, and a random order with an offset.
        let rows = check(
            table
                .query()
                .prefix_by(Item::BY_GROUP_RANK, 2u8)
                .order_by(Item::RANK)
                .to_vec(),
        );
        for row in &rows {
            assert_eq!(row.group, 2, "{row:?}");
        }
        assert_sorted(&rows, |row| (row.rank, row.id), "prefix by rank");
        let rows = check(
            table
                .query()
                .by(Item::GROUP, &0)
                .order_by_desc(Item::PRICE)
                .order_by(Item::RANK)
                .offset(2)
                .limit(10)
                .to_vec(),
        );
        for row in &rows {
            assert_eq!(row.group, 0, "{row:?}");
        }
        assert_sorted(
            &rows,
            |row| (std::cmp::Reverse(row.price), row.rank, row.id),
            "mixed",
        );

        // count, exists and first run too; only their bounds are certain.
        assert!(table.query().range_by(Item::GROUP, 1..=2).limit(30).count() <= 30);
        assert!(table.query().filter_archived(|row| row.group == 3).count() <= KEYS as usize);
        let _ = table.query().by(Item::GROUP, &3).offset(1).exists();
        if let Some(row) = table
            .query()
            .by(Item::GROUP, &1)
            .order_by(Item::PRICE)
            .first()
        {
            assert_eq!(row.group, 1);
            assert!(is_consistent(&row));
        }
    }
    (queries, rows_seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queries_return_only_matching_rows_in_order_while_writers_run() {
    bounded(async {
        let table = Arc::new(WorkTable::new());
        for id in 0..KEYS {
            table
                .insert(consistent(id, (id % 4) as u8, i64::from(id)))
                .await
                .unwrap();
        }
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (table, done) = (Arc::clone(&table), Arc::clone(&done));
            tokio::task::spawn_blocking(move || read(&table, &done))
        };
        let writers: Vec<_> = (0..3)
            .map(|seed| tokio::spawn(write(Arc::clone(&table), seed, scaled(10_000))))
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let (queries, rows_seen) = reader.await.unwrap();
        println!("queries while writers run: {queries} queries, {rows_seen} rows");
        assert!(
            queries >= 50 && rows_seen > 0,
            "{queries} queries, {rows_seen} rows"
        );
        settle(&table);
        // Every row left is one some writer wrote whole.
        let ids: BTreeSet<u32> = table.iter().map(|row| row.id).collect();
        assert!(ids.iter().all(|&id| id < KEYS));
        assert!(table.iter().all(|row| is_consistent(&row)));
    })
    .await;
}
