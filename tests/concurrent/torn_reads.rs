//! Readers racing writers only ever see whole committed rows (a checksum over each row's
//! fields), by every kind of read.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use worktable_core::prelude::*;

use super::{Rng, bounded, scaled, settle};

/// A row that carries a checksum of its other fields, so a torn or mixed read shows.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "checked")]
struct Checked {
    #[pk]
    id: u32,
    #[index]
    a: u32,
    b: u64,
    s: String,
    check: u64,
}

/// FNV-1a over every field but `check`.
fn checksum(id: u32, a: u32, b: u64, s: &str) -> u64 {
    let mut hash = 0xCBF2_9CE4_8422_2325_u64;
    let bytes = id
        .to_le_bytes()
        .into_iter()
        .chain(a.to_le_bytes())
        .chain(b.to_le_bytes())
        .chain((s.len() as u64).to_le_bytes())
        .chain(s.bytes());
    for byte in bytes {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
    }
    hash
}

/// A string whose content depends on `b` and whose length is `len`.
fn filler(b: u64, len: usize) -> String {
    let first = b'a' + (b % 26) as u8;
    (0..len)
        .map(|i| char::from(first + (i % 7) as u8))
        .collect()
}

fn checked(id: u32, a: u32, b: u64, len: usize) -> Checked {
    let s = filler(b, len);
    Checked {
        id,
        a,
        b,
        check: checksum(id, a, b, &s),
        s,
    }
}

fn assert_intact(row: &Checked) {
    assert_eq!(
        row.check,
        checksum(row.id, row.a, row.b, &row.s),
        "torn row {} (a {}, b {}, {} bytes)",
        row.id,
        row.a,
        row.b,
        row.s.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_racing_writers_only_see_whole_committed_rows() {
    const ROWS: u32 = 24;
    const KEYS: u32 = 6;
    const WRITERS: u64 = 3;
    const WRITES_PER_WRITER: usize = scaled(3_000);
    const READERS: u64 = 2;
    const MIN_READER_ROUNDS: usize = scaled(200);
    let table = Arc::new(WorkTable::<Checked>::new());
    for id in 0..ROWS {
        table.insert(checked(id, id % KEYS, 0, 10)).await.unwrap();
    }
    let writers_running = Arc::new(AtomicUsize::new(WRITERS as usize));
    let rounds_during_writes = Arc::new(AtomicUsize::new(0));

    let (writes, reads) = bounded(async {
        let writers: Vec<_> = (0..WRITERS)
            .map(|task| {
                let table = Arc::clone(&table);
                let running = Arc::clone(&writers_running);
                let rounds = Arc::clone(&rounds_during_writes);
                tokio::spawn(async move {
                    let mut rng = Rng::new(100 + task);
                    let mut writes = 0_usize;
                    // Keep writing until the readers have had their rounds meanwhile.
                    while writes < WRITES_PER_WRITER
                        || rounds.load(Ordering::Acquire) < MIN_READER_ROUNDS
                    {
                        let id = rng.below(ROWS);
                        let a = rng.below(KEYS);
                        let b = rng.next();
                        // From a few bytes to a few KiB: versions change slot size.
                        let len = [0, 5, 40, 300, 3_000][rng.below(5) as usize];
                        match rng.below(4) {
                            0 => drop(table.update(checked(id, a, b, len)).await.unwrap()),
                            1 => {
                                let previous = table.upsert(checked(id, a, b, len)).await;
                                assert!(previous.unwrap().is_some());
                            }
                            2 => {
                                table
                                    .update_with(&id, |row| *row = checked(id, a, b, len))
                                    .await
                                    .unwrap();
                            }
                            _ => {
                                // Read-modify-write that keeps `a` and checks the row
                                // it was given.
                                table
                                    .update_with(&id, |row| {
                                        assert_intact(row);
                                        *row = checked(id, row.a, row.b.wrapping_add(b), len);
                                    })
                                    .await
                                    .unwrap();
                            }
                        }
                        writes += 1;
                        if writes.is_multiple_of(64) {
                            // Make retired slots reusable while readers may still
                            // look at them.
                            table.reclaim_retired();
                        }
                    }
                    running.fetch_sub(1, Ordering::AcqRel);
                    writes
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|task| {
                let table = Arc::clone(&table);
                let running = Arc::clone(&writers_running);
                let rounds = Arc::clone(&rounds_during_writes);
                tokio::spawn(async move {
                    let mut rng = Rng::new(200 + task);
                    let mut reads = 0_usize;
                    while running.load(Ordering::Acquire) > 0 {
                        reads += read_round(&table, &mut rng, ROWS, KEYS);
                        rounds.fetch_add(1, Ordering::AcqRel);
                        tokio::task::yield_now().await;
                    }
                    reads
                })
            })
            .collect();
        let mut writes = 0;
        for writer in writers {
            writes += writer.await.unwrap();
        }
        let mut reads = 0;
        for reader in readers {
            reads += reader.await.unwrap();
        }
        (writes, reads)
    })
    .await;

    assert!(writes >= WRITERS as usize * WRITES_PER_WRITER);
    assert!(rounds_during_writes.load(Ordering::Acquire) >= MIN_READER_ROUNDS);
    // Every round reads at least two rows by key and one range.
    assert!(reads >= MIN_READER_ROUNDS * 3, "{reads} reads");
    for row in table.iter() {
        assert_intact(&row);
    }
    assert_eq!(table.len(), ROWS as usize);
    settle(&table);
}

/// One reader round over every kind of read; returns how many rows it checked.
fn read_round(table: &WorkTable<Checked>, rng: &mut Rng, rows: u32, keys: u32) -> usize {
    let mut reads = 0;
    let id = rng.below(rows);
    let row = table.get(&id).expect("rows are never deleted");
    assert_eq!(row.id, id);
    assert_intact(&row);
    reads += 1;

    let (seen_id, intact) = table
        .read(&id, |row| {
            let (id, a, b) = (row.id.to_native(), row.a.to_native(), row.b.to_native());
            (
                id,
                row.check.to_native() == checksum(id, a, b, row.s.as_str()),
            )
        })
        .expect("rows are never deleted");
    assert_eq!(seen_id, id);
    assert!(intact, "torn archived row {id}");
    reads += 1;

    let start = rng.below(rows);
    let range: Vec<Checked> = table.range(start..start + 5).collect();
    let expected: Vec<u32> = (start..(start + 5).min(rows)).collect();
    assert_eq!(range.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    range.iter().for_each(assert_intact);
    reads += range.len();

    let key = rng.below(keys);
    let found = table.find_by(Checked::A, &key);
    for pair in found.windows(2) {
        assert!(pair[0].id < pair[1].id);
    }
    for row in &found {
        assert_eq!(row.a, key);
        assert_intact(row);
    }
    reads += found.len();

    let (low, high) = (key.saturating_sub(1), key + 1);
    let ranged: Vec<Checked> = if rng.below(2) == 0 {
        table.range_by(Checked::A, low..=high).collect()
    } else {
        let mut rows: Vec<Checked> = table.range_by(Checked::A, low..=high).rev().collect();
        rows.reverse();
        rows
    };
    for pair in ranged.windows(2) {
        assert!((pair[0].a, pair[0].id) < (pair[1].a, pair[1].id));
    }
    for row in &ranged {
        assert!((low..=high).contains(&row.a));
        assert_intact(row);
    }
    reads += ranged.len();

    if rng.below(8) == 0 {
        // No row is inserted, deleted or re-keyed: a walk sees each exactly once.
        let all: Vec<u32> = if rng.below(2) == 0 {
            table.iter().inspect(assert_intact).map(|r| r.id).collect()
        } else {
            let mut ids: Vec<u32> = table
                .iter()
                .rev()
                .inspect(assert_intact)
                .map(|r| r.id)
                .collect();
            ids.reverse();
            ids
        };
        assert_eq!(all, (0..rows).collect::<Vec<_>>());
        reads += all.len();
    }
    reads
}
