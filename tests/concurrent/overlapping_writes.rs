//! Inserts, deletes and upserts of overlapping keys and unique values: unique values are
//! never held twice, exactly one of concurrent inserts of one value wins, and every index
//! matches the rows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use worktable_core::prelude::*;

use super::{Rng, bounded, settle};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "claims")]
struct Claim {
    #[pk]
    id: u32,
    #[index(unique)]
    code: u32,
    #[index]
    group: u8,
    note: String,
}

fn claim(id: u32, code: u32, group: u8, note_len: usize) -> Claim {
    Claim {
        id,
        code,
        group,
        note: "n".repeat(note_len),
    }
}

/// Compares every index with a recomputation from `iter()`, and checks that no unique
/// value is held by two rows.
fn assert_indexes_match_rows(table: &WorkTable<Claim>, codes: u32, groups: u8) {
    let rows: Vec<Claim> = table.iter().collect();
    let distinct: BTreeSet<u32> = rows.iter().map(|c| c.code).collect();
    assert_eq!(distinct.len(), rows.len(), "a unique code is held twice");

    let mut by_code = rows.clone();
    by_code.sort_by_key(|c| (c.code, c.id));
    assert_eq!(table.range_by(Claim::CODE, ..).collect::<Vec<_>>(), by_code);
    let mut by_group = rows.clone();
    by_group.sort_by_key(|c| (c.group, c.id));
    assert_eq!(
        table.range_by(Claim::GROUP, ..).collect::<Vec<_>>(),
        by_group
    );
    by_group.reverse();
    assert_eq!(
        table.range_by(Claim::GROUP, ..).rev().collect::<Vec<_>>(),
        by_group
    );

    for code in 0..codes {
        let expected = rows.iter().find(|c| c.code == code);
        assert_eq!(table.get_by(Claim::CODE, &code).as_ref(), expected);
        assert_eq!(table.find_by(Claim::CODE, &code).first(), expected);
    }
    for group in 0..groups {
        let expected: Vec<&Claim> = rows.iter().filter(|c| c.group == group).collect();
        let found = table.find_by(Claim::GROUP, &group);
        assert_eq!(found.iter().collect::<Vec<_>>(), expected);
    }
}

/// Per-code count of live rows holding it, as the tasks of
/// `a_unique_value_is_never_held_by_two_live_rows` know it.
struct Holders(Vec<AtomicU32>);

impl Holders {
    fn new(codes: u32) -> Self {
        Self((0..codes).map(|_| AtomicU32::new(0)).collect())
    }

    /// Called after a write that gave `code` to a row returned.
    fn claim(&self, code: u32) {
        let before = self.0[code as usize].fetch_add(1, Ordering::AcqRel);
        assert_eq!(before, 0, "code {code} is held by two live rows");
    }

    /// Called before a write that may free `code`.
    fn release(&self, code: u32) {
        let before = self.0[code as usize].fetch_sub(1, Ordering::AcqRel);
        assert_eq!(before, 1, "code {code} released but not held");
    }
}

/// Each task owns the rows it inserted until it deletes them, so it alone writes them;
/// the unique code is claimed in a ledger after a write that takes it returns, and
/// released before a write that frees it starts. If the table ever let two live rows
/// hold one code, the ledger would count two holders.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unique_value_is_never_held_by_two_live_rows() {
    const TASKS: u64 = 6;
    const OPS: usize = 3_000;
    const PKS: u32 = 64;
    const CODES: u32 = 16;
    const GROUPS: u8 = 4;
    let table = Arc::new(WorkTable::<Claim>::new());
    let holders = Arc::new(Holders::new(CODES));

    let owned = bounded(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (table, holders) = (Arc::clone(&table), Arc::clone(&holders));
                tokio::spawn(async move {
                    let mut rng = Rng::new(300 + task);
                    let mut mine = BTreeMap::<u32, Claim>::new();
                    let mut counts = [0_usize; 4];
                    for op in 0..OPS {
                        let code = rng.below(CODES);
                        let group = rng.below(u32::from(GROUPS)) as u8;
                        let note = rng.below(200) as usize;
                        let my_pk = (!mine.is_empty()).then(|| {
                            *mine
                                .keys()
                                .nth(rng.below(mine.len() as u32) as usize)
                                .unwrap()
                        });
                        match (rng.below(8), my_pk) {
                            (0..4, _) | (_, None) => {
                                let row = claim(rng.below(PKS), code, group, note);
                                match table.insert(row.clone()).await {
                                    Ok(pk) => {
                                        holders.claim(code);
                                        mine.insert(pk, row);
                                        counts[0] += 1;
                                    }
                                    Err(TableError::DuplicatePk { .. }) => {}
                                    Err(TableError::DuplicateKey { index: "code", .. }) => {}
                                    Err(error) => panic!("insert: {error}"),
                                }
                            }
                            (4..6, Some(pk)) => {
                                let row = mine.remove(&pk).unwrap();
                                holders.release(row.code);
                                let deleted = if op.is_multiple_of(2) {
                                    table.delete(&pk).await
                                } else {
                                    table.delete_by(Claim::CODE, &row.code).await
                                };
                                assert_eq!(deleted.unwrap(), row, "only its owner writes a row");
                                counts[1] += 1;
                            }
                            (_, Some(pk)) => {
                                let old = mine[&pk].clone();
                                let new = claim(pk, code, group, note);
                                holders.release(old.code);
                                let written = if op.is_multiple_of(2) {
                                    table.update_with(&pk, |row| *row = new.clone()).await
                                } else {
                                    table.upsert(new.clone()).await.map(|replaced| {
                                        assert_eq!(replaced.as_ref(), Some(&old));
                                    })
                                };
                                match written {
                                    Ok(()) => {
                                        holders.claim(new.code);
                                        mine.insert(pk, new);
                                        counts[2] += 1;
                                    }
                                    Err(TableError::DuplicateKey { index: "code", .. }) => {
                                        // The row kept its code all along.
                                        holders.claim(old.code);
                                        counts[3] += 1;
                                    }
                                    Err(error) => panic!("update: {error}"),
                                }
                            }
                        }
                    }
                    (mine, counts)
                })
            })
            .collect();
        let mut owned = BTreeMap::new();
        let mut counts = [0_usize; 4];
        for task in tasks {
            let (mine, task_counts) = task.await.unwrap();
            owned.extend(mine);
            for (sum, count) in counts.iter_mut().zip(task_counts) {
                *sum += count;
            }
        }
        // Inserts, deletes, code changes and refused code changes all happened.
        assert!(counts.iter().all(|&count| count >= 50), "{counts:?}");
        owned
    })
    .await;

    let rows: Vec<Claim> = table.iter().collect();
    assert_eq!(rows, owned.into_values().collect::<Vec<_>>());
    for code in 0..CODES {
        let held = rows.iter().filter(|c| c.code == code).count() as u32;
        assert_eq!(holders.0[code as usize].load(Ordering::Acquire), held);
    }
    settle(&table);
    assert_indexes_match_rows(&table, CODES, GROUPS);
}

/// Every task writes any row: inserts, upserts, deletes (by key, by unique code, of a
/// whole group), single- and multi-row updates, writes through guards. Each write
/// either succeeds or fails with an error its inputs explain; at the end every index
/// matches the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_inserts_deletes_and_upserts_keep_every_index_exact() {
    const TASKS: u64 = 6;
    const OPS: usize = 3_000;
    const PKS: u32 = 64;
    const CODES: u32 = 24;
    const GROUPS: u8 = 4;
    let table = Arc::new(WorkTable::<Claim>::new());

    let counts = bounded(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let table = Arc::clone(&table);
                tokio::spawn(async move {
                    let mut rng = Rng::new(400 + task);
                    let mut succeeded = 0_usize;
                    for _ in 0..OPS {
                        let pk = rng.below(PKS);
                        let code = rng.below(CODES);
                        let group = rng.below(u32::from(GROUPS)) as u8;
                        let row = claim(pk, code, group, rng.below(300) as usize);
                        let op = rng.below(16);
                        let result: Result<(), TableError> = match op {
                            0..=3 => table.insert(row).await.map(drop),
                            4..=6 => table.upsert(row).await.map(drop),
                            7..=8 => table.delete(&pk).await.map(drop),
                            9 => table.delete_by(Claim::CODE, &code).await.map(drop),
                            10..=11 => {
                                table
                                    .update_with(&pk, |r| {
                                        r.code = code;
                                        r.group = group;
                                    })
                                    .await
                            }
                            12 => table.update(row).await.map(drop),
                            13 => {
                                // Move a whole group; codes are untouched.
                                let to = (group + 1) % GROUPS;
                                table
                                    .update_all_by(Claim::GROUP, &group, |r| r.group = to)
                                    .await
                                    .map(drop)
                            }
                            14 => {
                                let gone = table.delete_all_by(Claim::GROUP, &group).await;
                                assert!(gone.unwrap().iter().all(|c| c.group == group));
                                Ok(())
                            }
                            _ => {
                                let mut guard = table.lock(&pk).await.unwrap();
                                let result = match guard.get() {
                                    Some(_) if code.is_multiple_of(2) => {
                                        guard.delete().await.map(drop)
                                    }
                                    _ => guard.upsert(row).await.map(drop),
                                };
                                // Hold the lock across an await.
                                tokio::task::yield_now().await;
                                result
                            }
                        };
                        match result {
                            Ok(()) => succeeded += 1,
                            Err(TableError::DuplicatePk { .. }) => assert!(op <= 3),
                            Err(TableError::DuplicateKey { index: "code", .. }) => {
                                assert!(![7, 8, 9, 13, 14].contains(&op));
                            }
                            Err(TableError::NotFound { .. }) => {
                                assert!([7, 8, 9, 10, 11, 12].contains(&op));
                            }
                            Err(error) => panic!("op {op}: {error}"),
                        }
                    }
                    succeeded
                })
            })
            .collect();
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        total
    })
    .await;
    assert!(counts >= 1_000, "only {counts} writes succeeded");
    settle(&table);
    assert_indexes_match_rows(&table, CODES, GROUPS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_inserts_of_one_unique_value_exactly_one_succeeds() {
    const TASKS: u32 = 8;
    const ROUNDS: u32 = 1_000;
    let table = Arc::new(WorkTable::<Claim>::new());
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));

    let outcomes = bounded(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (table, barrier) = (Arc::clone(&table), Arc::clone(&barrier));
                tokio::spawn(async move {
                    let mut won = Vec::new();
                    for round in 0..ROUNDS {
                        barrier.wait().await;
                        let row = claim(round * TASKS + task, round, task as u8, 16);
                        match table.insert(row).await {
                            Ok(_) => won.push(round),
                            Err(TableError::DuplicateKey { index: "code", .. }) => {}
                            Err(error) => panic!("{error}"),
                        }
                    }
                    won
                })
            })
            .collect();
        let mut winners = BTreeMap::<u32, Vec<u32>>::new();
        for (task, handle) in (0..TASKS).zip(tasks) {
            for round in handle.await.unwrap() {
                winners.entry(round).or_default().push(task);
            }
        }
        winners
    })
    .await;

    assert_eq!(outcomes.len(), ROUNDS as usize);
    for (round, tasks) in &outcomes {
        assert_eq!(tasks.len(), 1, "round {round}: winners {tasks:?}");
        let winner = round * TASKS + tasks[0];
        assert_eq!(table.get_by(Claim::CODE, round).unwrap().id, winner);
        for pk in round * TASKS..(round + 1) * TASKS {
            assert_eq!(table.contains(&pk), pk == winner, "pk {pk}");
        }
    }
    assert_eq!(table.len(), ROUNDS as usize);
    settle(&table);
    assert_indexes_match_rows(&table, ROUNDS, TASKS as u8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_of_one_key_leave_one_row_and_replace_each_version_once() {
    const TASKS: u32 = 8;
    const ROUNDS: u32 = 1_000;
    let table = Arc::new(WorkTable::<Claim>::new());
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));

    let replaced = bounded(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (table, barrier) = (Arc::clone(&table), Arc::clone(&barrier));
                tokio::spawn(async move {
                    let mut replaced = Vec::new();
                    for round in 0..ROUNDS {
                        barrier.wait().await;
                        // Each task's version differs in group and size.
                        let row = claim(round, round, task as u8, task as usize * 50);
                        replaced.push((round, table.upsert(row).await.unwrap()));
                    }
                    replaced
                })
            })
            .collect();
        let mut replaced = BTreeMap::<u32, Vec<Option<Claim>>>::new();
        for handle in tasks {
            for (round, previous) in handle.await.unwrap() {
                replaced.entry(round).or_default().push(previous);
            }
        }
        replaced
    })
    .await;

    assert_eq!(table.len(), ROUNDS as usize);
    for (round, previous) in replaced {
        // One upsert inserted; each other one replaced a distinct version, and the
        // versions replaced plus the final one are all versions written.
        assert_eq!(previous.iter().filter(|p| p.is_none()).count(), 1);
        let mut groups: Vec<u8> = previous.into_iter().flatten().map(|c| c.group).collect();
        groups.push(table.get(&round).unwrap().group);
        groups.sort_unstable();
        assert_eq!(
            groups,
            (0..TASKS as u8).collect::<Vec<_>>(),
            "round {round}"
        );
    }
    settle(&table);
    assert_indexes_match_rows(&table, ROUNDS, TASKS as u8);
}
