//! Multi-row writes and `lock_all` over overlapping rows in opposite orders never deadlock,
//! and their counts are exact.

use std::sync::Arc;

use worktable_core::prelude::*;

use super::{Rng, bounded, settle};

/// 64 rows; `up` groups them by eights in key order, `down` by eights in reverse key
/// order and shifted by four, so every `down` group straddles two `up` groups.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "grid")]
struct Square {
    #[pk]
    id: u32,
    #[index]
    up: u32,
    #[index]
    down: u32,
    hits: u64,
}

const SQUARES: u32 = 64;

async fn grid() -> Arc<WorkTable<Square>> {
    let table = WorkTable::new();
    for id in 0..SQUARES {
        let square = Square {
            id,
            up: id / 8,
            down: (SQUARES + 3 - id) / 8,
            hits: 0,
        };
        table.insert(square).await.unwrap();
    }
    Arc::new(table)
}

type Tally = Vec<u64>;

fn add(into: &mut Tally, from: Tally) {
    for (sum, n) in into.iter_mut().zip(from) {
        *sum += n;
    }
}

fn assert_tallied(table: &WorkTable<Square>, tally: &Tally) {
    for id in 0..SQUARES {
        assert_eq!(table.get(&id).unwrap().hits, tally[id as usize], "row {id}");
    }
    // Nothing moved between groups.
    for id in 0..SQUARES {
        let square = table.get(&id).unwrap();
        assert_eq!((square.up, square.down), (id / 8, (SQUARES + 3 - id) / 8));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_row_writes_over_overlapping_rows_in_opposite_orders_finish() {
    const ROUNDS: u32 = 500;
    let table = grid().await;

    let tally = bounded(async {
        // Selects by `up`, lowest group first, and by key ranges.
        let ascending = tokio::spawn({
            let table = Arc::clone(&table);
            async move {
                let mut tally = vec![0; SQUARES as usize];
                for round in 0..ROUNDS {
                    let group = round % 8;
                    let changed = table
                        .update_all_by(Square::UP, &group, |s| {
                            s.hits += 1;
                            tally[s.id as usize] += 1;
                        })
                        .await
                        .unwrap();
                    assert_eq!(changed, 8);
                    let start = (round * 5) % SQUARES;
                    let changed = table
                        .update_range(start..start + 12, |s| {
                            s.hits += 1;
                            tally[s.id as usize] += 1;
                        })
                        .await
                        .unwrap();
                    assert_eq!(changed as u32, (start + 12).min(SQUARES) - start);
                }
                tally
            }
        });
        // Selects by `down`, highest group (lowest keys) last.
        let descending = tokio::spawn({
            let table = Arc::clone(&table);
            async move {
                let mut tally = vec![0; SQUARES as usize];
                for round in 0..ROUNDS {
                    let group = 8 - round % 9;
                    let changed = table
                        .update_all_by(Square::DOWN, &group, |s| {
                            s.hits += 1;
                            tally[s.id as usize] += 1;
                        })
                        .await
                        .unwrap();
                    assert_eq!(changed, table.find_by(Square::DOWN, &group).len());
                    let end = SQUARES - (round * 7) % SQUARES;
                    let changed = table
                        .update_range(end.saturating_sub(12)..end, |s| {
                            s.hits += 1;
                            tally[s.id as usize] += 1;
                        })
                        .await
                        .unwrap();
                    assert_eq!(changed as u32, end - end.saturating_sub(12));
                }
                tally
            }
        });
        // Single-row writes in between.
        let single = tokio::spawn({
            let table = Arc::clone(&table);
            async move {
                let mut rng = Rng::new(500);
                let mut tally = vec![0; SQUARES as usize];
                for _ in 0..ROUNDS * 8 {
                    let id = rng.below(SQUARES);
                    table.update_with(&id, |s| s.hits += 1).await.unwrap();
                    tally[id as usize] += 1;
                }
                tally
            }
        });
        let mut tally = ascending.await.unwrap();
        add(&mut tally, descending.await.unwrap());
        add(&mut tally, single.await.unwrap());
        tally
    })
    .await;

    assert_tallied(&table, &tally);
    settle(&table);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lock_all_guards_and_multi_row_writes_in_opposite_orders_finish() {
    const ROUNDS: u32 = 500;
    let table = grid().await;

    /// Locks `pks` (in the order given; `lock_all` sorts them) and adds one to each,
    /// holding every lock across awaits.
    async fn with_guards(table: &WorkTable<Square>, pks: Vec<u32>, tally: &mut Tally) {
        let mut guards = table.lock_all(pks).await.unwrap();
        tokio::task::yield_now().await;
        for guard in guards.iter_mut().rev() {
            guard.update_with(|s| s.hits += 1).await.unwrap();
            tally[*guard.pk() as usize] += 1;
            tokio::task::yield_now().await;
        }
    }

    let tally = bounded(async {
        let forward = tokio::spawn({
            let table = Arc::clone(&table);
            async move {
                let mut tally = vec![0; SQUARES as usize];
                for round in 0..ROUNDS {
                    let start = (round * 3) % 48;
                    with_guards(&table, (start..start + 16).collect(), &mut tally).await;
                }
                tally
            }
        });
        let backward = tokio::spawn({
            let table = Arc::clone(&table);
            async move {
                let mut tally = vec![0; SQUARES as usize];
                for round in 0..ROUNDS {
                    let end = SQUARES - (round * 5) % 48;
                    with_guards(&table, (end - 16..end).rev().collect(), &mut tally).await;
                }
                tally
            }
        });
        let multi_row = tokio::spawn({
            let table = Arc::clone(&table);
            async move {
                let mut tally = vec![0; SQUARES as usize];
                for round in 0..ROUNDS {
                    let group = 8 - round % 9;
                    table
                        .update_all_by(Square::DOWN, &group, |s| {
                            s.hits += 1;
                            tally[s.id as usize] += 1;
                        })
                        .await
                        .unwrap();
                    let start = (round * 11) % SQUARES;
                    table
                        .update_range(start..start + 20, |s| {
                            s.hits += 1;
                            tally[s.id as usize] += 1;
                        })
                        .await
                        .unwrap();
                }
                tally
            }
        });
        let mut tally = forward.await.unwrap();
        add(&mut tally, backward.await.unwrap());
        add(&mut tally, multi_row.await.unwrap());
        tally
    })
    .await;

    assert_tallied(&table, &tally);
    settle(&table);
}
