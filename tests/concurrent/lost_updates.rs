//! No update is lost: concurrent `update_with` increments of a few rows all land.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use worktable_core::prelude::*;

use super::{Rng, bounded, scaled, settle};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "counters")]
pub(super) struct Counter {
    #[pk]
    pub(super) id: u32,
    #[index]
    pub(super) shard: u8,
    pub(super) hits: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_update_with_increments_are_never_lost() {
    const TASKS: u64 = 8;
    const PER_TASK: usize = scaled(2_000);
    const ROWS: u32 = 16;
    let table = Arc::new(WorkTable::<Counter>::new());
    for id in 0..ROWS {
        let row = Counter {
            id,
            shard: (id % 4) as u8,
            hits: 0,
        };
        table.insert(row).await.unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));

    bounded(async {
        // A reader's successive reads of one row never go back in time.
        let reader = tokio::spawn({
            let (table, done) = (Arc::clone(&table), Arc::clone(&done));
            async move {
                let mut last = [0; ROWS as usize];
                let mut reads = 0_usize;
                while !done.load(Ordering::Acquire) {
                    for id in 0..ROWS {
                        let hits = table.read(&id, |c| c.hits.to_native()).unwrap();
                        assert!(hits >= last[id as usize], "row {id} went back in time");
                        last[id as usize] = hits;
                        reads += 1;
                    }
                    tokio::task::yield_now().await;
                }
                reads
            }
        });
        let writers: Vec<_> = (0..TASKS)
            .map(|task| {
                let table = Arc::clone(&table);
                tokio::spawn(async move {
                    let mut rng = Rng::new(task);
                    let mut applied = [0_u64; ROWS as usize];
                    let mut last_seen = [0_u64; ROWS as usize];
                    for _ in 0..PER_TASK {
                        let id = rng.below(ROWS);
                        let hits = table
                            .update_with(&id, |c| {
                                c.hits += 1;
                                c.hits
                            })
                            .await
                            .unwrap();
                        // Writes to one row are linearizable: each of this task's
                        // increments lands after its previous one.
                        assert!(hits > last_seen[id as usize]);
                        last_seen[id as usize] = hits;
                        applied[id as usize] += 1;
                    }
                    applied
                })
            })
            .collect();
        let mut expected = [0_u64; ROWS as usize];
        for writer in writers {
            for (sum, applied) in expected.iter_mut().zip(writer.await.unwrap()) {
                *sum += applied;
            }
        }
        done.store(true, Ordering::Release);
        assert!(reader.await.unwrap() > 0);

        for id in 0..ROWS {
            assert_eq!(
                table.get(&id).unwrap().hits,
                expected[id as usize],
                "row {id}"
            );
        }
        let total: u64 = table.iter().map(|c| c.hits).sum();
        assert_eq!(total, TASKS * PER_TASK as u64);
        assert_eq!(expected.iter().sum::<u64>(), 16_000);
    })
    .await;
    settle(&table);
}
