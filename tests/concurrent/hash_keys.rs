//! Concurrent writes of the keys of a hash index (`#[index(unique, hash)]`): of concurrent
//! inserts of one key exactly one wins, of concurrent deletes by one key exactly one
//! deletes; rows trading keys never leave a key held by two rows, readers never see
//! two rows under one key, and at the end the index and the rows agree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use worktable_core::prelude::*;

use super::{Rng, bounded, scaled, settle};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "handles")]
struct Handle {
    #[pk]
    id: u32,
    #[index(unique, hash)]
    name: String,
    #[index]
    owner: u8,
}

fn name(n: u32) -> String {
    format!("name-{n}")
}

/// Each task inserts a row of its own (distinct primary keys) for every name, half of
/// them in reverse order so that the races are spread over all names; then each tries
/// to delete every name by the hash index.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_inserts_or_deletes_of_one_key_exactly_one_wins() {
    const TASKS: u32 = 4;
    let names = scaled(1_500) as u32;
    let table = Arc::new(WorkTable::<Handle>::new());

    let inserted: Vec<Vec<u32>> = bounded(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let table = Arc::clone(&table);
                tokio::spawn(async move {
                    let mut won = Vec::new();
                    for i in 0..names {
                        let n = if task % 2 == 0 { i } else { names - 1 - i };
                        let row = Handle {
                            id: task * names + n,
                            name: name(n),
                            owner: task as u8,
                        };
                        match table.insert(row).await {
                            Ok(_) => won.push(n),
                            Err(TableError::DuplicateKey { index: "name", .. }) => {}
                            Err(error) => panic!("insert: {error}"),
                        }
                    }
                    won
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        all
    })
    .await;

    let mut winner = BTreeMap::new();
    for (task, won) in inserted.iter().enumerate() {
        for &n in won {
            assert!(
                winner.insert(n, task as u32).is_none(),
                "name {n} inserted twice"
            );
        }
    }
    assert_eq!(winner.len(), names as usize, "every name inserted once");
    // Every task lost some races, or there was no race at all.
    assert!(
        inserted.iter().all(|won| won.len() < names as usize),
        "{:?}",
        inserted.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(table.len(), names as usize);
    settle(&table);
    for (&n, &task) in &winner {
        let row = table.get_by(Handle::NAME, name(n).as_str()).unwrap();
        assert_eq!((row.id, row.owner), (task * names + n, task as u8));
    }

    let deleted: Vec<Vec<Handle>> = bounded(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let table = Arc::clone(&table);
                tokio::spawn(async move {
                    let mut deleted = Vec::new();
                    for i in 0..names {
                        let n = if task % 2 == 0 { i } else { names - 1 - i };
                        match table.delete_by(Handle::NAME, name(n).as_str()).await {
                            Ok(row) => deleted.push(row),
                            Err(TableError::NotFound { .. }) => {}
                            Err(error) => panic!("delete_by: {error}"),
                        }
                    }
                    deleted
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.unwrap());
        }
        all
    })
    .await;
    let mut gone: Vec<u32> = deleted.iter().flatten().map(|row| row.id).collect();
    gone.sort_unstable();
    let mut expected: Vec<u32> = winner.iter().map(|(&n, &task)| task * names + n).collect();
    expected.sort_unstable();
    assert_eq!(gone, expected, "every row deleted exactly once");
    assert!(table.is_empty());
    settle(&table);
}

/// Writers move names between a few rows — single moves, upserts, and three-step swaps
/// through a name of their own — while a reader checks that no key ever leads to two
/// rows and no snapshot holds a name twice. At the end every name leads to the row
/// holding it and the index matches the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rows_trading_names_never_hold_one_twice() {
    const TASKS: u64 = 3;
    const ROWS: u32 = 8;
    const NAMES: u32 = 12;
    let ops = scaled(1_500);
    let table = Arc::new(WorkTable::<Handle>::new());
    for id in 0..ROWS {
        table
            .insert(Handle {
                id,
                name: name(id),
                owner: 0,
            })
            .await
            .unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));

    let (counts, reads) = bounded(async {
        let reader = {
            let (table, done) = (Arc::clone(&table), Arc::clone(&done));
            tokio::spawn(async move {
                let mut reads = 0_usize;
                while !done.load(Ordering::Acquire) {
                    for n in 0..NAMES {
                        let key = name(n);
                        if let Some(row) = table.get_by(Handle::NAME, key.as_str()) {
                            assert_eq!(row.name, key);
                        }
                        let found = table.find_by(Handle::NAME, key.as_str());
                        assert!(found.len() <= 1, "{key} leads to {found:?}");
                        assert!(found.iter().all(|row| row.name == key));
                        assert!(table.query().by(Handle::NAME, key.as_str()).count() <= 1);
                    }
                    let rows: Vec<Handle> = table.snapshot().iter().collect();
                    assert_eq!(rows.len(), ROWS as usize);
                    let held: BTreeSet<&str> = rows.iter().map(|row| row.name.as_str()).collect();
                    assert_eq!(held.len(), rows.len(), "a name held twice: {rows:?}");
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        };
        let writers: Vec<_> = (0..TASKS)
            .map(|task| {
                let table = Arc::clone(&table);
                tokio::spawn(async move {
                    let mut rng = Rng::new(700 + task);
                    // Moves done, moves refused, swaps completed.
                    let mut counts = [0_usize; 3];
                    let mut record = |result: Result<(), TableError>| match result {
                        Ok(()) => {
                            counts[0] += 1;
                            true
                        }
                        Err(TableError::DuplicateKey { index: "name", .. }) => {
                            counts[1] += 1;
                            false
                        }
                        Err(error) => panic!("write: {error}"),
                    };
                    let mut swaps = 0;
                    for op in 0..ops {
                        let id = rng.below(ROWS);
                        let to = name(rng.below(NAMES));
                        match rng.below(4) {
                            0 | 1 => {
                                let to = to.clone();
                                record(table.update_with(&id, |row| row.name = to).await);
                            }
                            2 => {
                                let row = Handle {
                                    id,
                                    name: to,
                                    owner: task as u8,
                                };
                                record(table.upsert(row).await.map(|old| assert!(old.is_some())));
                            }
                            _ => {
                                // Swap the names of two rows, through a name no other
                                // task uses; any step can lose a race.
                                let other = (id + 1 + rng.below(ROWS - 1)) % ROWS;
                                let (Some(a), Some(b)) = (table.get(&id), table.get(&other)) else {
                                    panic!("rows are never deleted");
                                };
                                let parked = format!("parked-{task}-{op}");
                                let steps = [(id, parked), (other, a.name), (id, b.name)];
                                let mut completed = true;
                                for (pk, to) in steps {
                                    completed &=
                                        record(table.update_with(&pk, |row| row.name = to).await);
                                }
                                swaps += usize::from(completed);
                            }
                        }
                    }
                    counts[2] = swaps;
                    counts
                })
            })
            .collect();
        let mut counts = [0_usize; 3];
        for writer in writers {
            for (sum, count) in counts.iter_mut().zip(writer.await.unwrap()) {
                *sum += count;
            }
        }
        done.store(true, Ordering::Release);
        (counts, reader.await.unwrap())
    })
    .await;
    // Moves, refusals and whole swaps all happened, and the reader ran meanwhile.
    assert!(counts.iter().all(|&count| count >= 20), "{counts:?}");
    assert!(reads >= 2, "{reads} reads");

    settle(&table);
    let rows: Vec<Handle> = table.iter().collect();
    assert_eq!(rows.len(), ROWS as usize);
    let held: BTreeSet<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(held.len(), rows.len(), "a name held twice: {rows:?}");
    for row in &rows {
        assert_eq!(
            table.get_by(Handle::NAME, row.name.as_str()).as_ref(),
            Some(row)
        );
    }
    for n in 0..NAMES {
        let key = name(n);
        let expected = rows.iter().find(|row| row.name == key);
        assert_eq!(table.get_by(Handle::NAME, key.as_str()).as_ref(), expected);
    }
}
