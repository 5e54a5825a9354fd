//! Vacuum racing writers and readers: while four writers insert, delete and resize rows
//! of their own keys and two readers read every way there is, vacuums keep moving rows
//! between pages. No reader ever sees a torn row, a version older than one it saw before,
//! a version nobody wrote, or misses a row that always exists; and once everyone stops,
//! the table is exactly what the writers' models say and every byte is accounted for.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use worktable_core::prelude::*;
use worktable_core::{VacuumHandle, VacuumPolicy, VacuumReport};

use super::{
    Doc, SHELVES, assert_accounts_for, assert_intact, checksum, contents, doc, reclaim, vacuum_now,
};
use crate::concurrent::{Rng, bounded, settle};

const WRITERS: u32 = 4;
/// Each writer owns the keys `w * KEYS..(w + 1) * KEYS`.
const KEYS: u32 = 600;
const ALL_KEYS: u32 = WRITERS * KEYS;
/// Number of [`pinned`] keys.
const PINNED: usize = (ALL_KEYS / 10) as usize;
/// Writes per writer at least; writers go on until readers and vacuums have had their
/// share of the race, up to `MAX_WRITES`.
const WRITES: usize = 2_000;
const MAX_WRITES: usize = 100 * WRITES;
const READERS: u64 = 2;
const MIN_READER_ROUNDS: usize = 20;
const MIN_VACUUM_STEPS: usize = 20;
const MAX_PAYLOAD: u32 = 2_048;

/// Every tenth key is pinned: updated, never deleted, so always found.
fn pinned(id: u32) -> bool {
    id.is_multiple_of(10)
}

/// What writers publish for readers: per key, the highest version a writer has begun to
/// write (stored before the write starts).
struct Published {
    started: Vec<AtomicU64>,
}

impl Published {
    fn started(&self, id: u32) -> u64 {
        self.started[id as usize].load(Ordering::Acquire)
    }
}

/// What each side of the race counts, to decide when it has raced enough.
struct Progress {
    writers_running: AtomicUsize,
    reader_rounds: AtomicUsize,
    /// The background vacuums racing the writers.
    vacuums: Vec<VacuumHandle>,
}

impl Progress {
    /// What the vacuums' finished runs did, added up.
    fn vacuumed(&self) -> VacuumReport {
        let mut total = VacuumReport::default();
        for vacuum in &self.vacuums {
            let progress = vacuum.progress();
            total.rows_moved += progress.rows_moved;
            total.steps += progress.steps;
        }
        total
    }

    fn raced_enough(&self) -> bool {
        let vacuumed = self.vacuumed();
        self.reader_rounds.load(Ordering::Acquire) >= MIN_READER_ROUNDS
            && vacuumed.steps >= MIN_VACUUM_STEPS
            && vacuumed.rows_moved > 0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vacuum_racing_writers_and_readers_changes_nothing_anyone_can_see() {
    let table = Arc::new(WorkTable::<Doc>::new());
    let published = Arc::new(Published {
        started: (0..ALL_KEYS).map(|_| AtomicU64::new(0)).collect(),
    });

    // Every key at version 0, then seven keys in ten deleted: sparse pages everywhere.
    let mut rng = Rng::new(7);
    let mut models: Vec<BTreeMap<u32, Doc>> = vec![BTreeMap::new(); WRITERS as usize];
    for id in 0..ALL_KEYS {
        let row = doc(id, 0, rng.below(MAX_PAYLOAD + 1) as usize);
        table.insert(row.clone()).await.unwrap();
        models[(id / KEYS) as usize].insert(id, row);
    }
    for id in (0..ALL_KEYS).filter(|id| (1..=7).contains(&(id % 10))) {
        let deleted = table.delete(&id).await.unwrap();
        assert_eq!(models[(id / KEYS) as usize].remove(&id), Some(deleted));
    }
    let sparse = reclaim(&table);
    assert!(sparse.fragmentation > 0.5, "{sparse}");

    // Two vacuums at once, looking at the table every millisecond with thresholds every
    // table meets: one by the default page choice, one emptying fuller pages a few at a
    // time. (Background vacuums: `stop` ends a run between two steps, so no run outlives
    // the race.)
    let eager = VacuumPolicy::default()
        .min_fragmentation(0.0)
        .min_reclaimable_pages(0)
        .pause(Duration::ZERO)
        .interval(Duration::from_millis(1));
    let progress = Arc::new(Progress {
        writers_running: AtomicUsize::new(WRITERS as usize),
        reader_rounds: AtomicUsize::new(0),
        vacuums: vec![
            table.spawn_vacuum(eager.clone()),
            table.spawn_vacuum(eager.max_page_fill(0.7).pages_per_step(4)),
        ],
    });

    let (models, reads) = bounded(async {
        let writers: Vec<_> = models
            .into_iter()
            .enumerate()
            .map(|(writer, model)| {
                let table = Arc::clone(&table);
                let published = Arc::clone(&published);
                let progress = Arc::clone(&progress);
                tokio::spawn(async move {
                    let model = write(&table, &published, &progress, writer as u32, model).await;
                    progress.writers_running.fetch_sub(1, Ordering::AcqRel);
                    model
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|reader| {
                let table = Arc::clone(&table);
                let published = Arc::clone(&published);
                let progress = Arc::clone(&progress);
                tokio::spawn(async move {
                    let mut seen = HashMap::new();
                    let mut rng = Rng::new(100 + reader);
                    let mut reads = 0;
                    while progress.writers_running.load(Ordering::Acquire) > 0 {
                        reads += read_round(&table, &published, &mut seen, &mut rng);
                        progress.reader_rounds.fetch_add(1, Ordering::AcqRel);
                        tokio::task::yield_now().await;
                    }
                    reads
                })
            })
            .collect();
        let mut models = BTreeMap::new();
        for writer in writers {
            models.append(&mut writer.await.unwrap());
        }
        let mut reads = 0;
        for reader in readers {
            reads += reader.await.unwrap();
        }
        (models, reads)
    })
    .await;
    let raced_enough = progress.raced_enough();
    let rounds = progress.reader_rounds.load(Ordering::Acquire);
    let vacuums = Arc::into_inner(progress).expect("every task ended").vacuums;
    let vacuumed: Vec<VacuumReport> = vacuums.into_iter().map(VacuumHandle::stop).collect();
    assert!(
        raced_enough,
        "the writers stopped after {MAX_WRITES} writes each before the race was run: \
         {rounds} reader rounds, vacuums {vacuumed:?}"
    );
    assert!(vacuumed.iter().all(|total| total.steps > 0), "{vacuumed:?}");
    assert!(reads > MIN_READER_ROUNDS * PINNED, "{reads} rows read");

    // The table is exactly the union of the writers' models...
    assert_eq!(contents(&table), models);
    settle(&table);
    // ...and with nobody writing, every byte of page memory is a current row's slot,
    // free, or (before the reclaim) dead.
    let stats = table.stats();
    assert_eq!(
        stats.used_bytes + stats.free_bytes + stats.dead_bytes,
        stats.page_bytes,
        "{stats}"
    );
    // A last vacuum with nobody writing leaves no page half-emptied.
    let last = vacuum_now(&table);
    let stats = reclaim(&table);
    assert_eq!(stats.evacuating_pages, 0, "{stats}");
    assert!(stats.pages <= last.pages_after, "{last:?}\n{stats}");
    assert_accounts_for(&stats, models.values());
    assert_eq!(contents(&table), models);
    table.check_integrity().unwrap();
    println!("{reads} rows read; vacuums while writing: {vacuumed:?}\n{stats}");
}

/// One writer's part: inserts, deletes and size-changing updates of its own keys, each
/// checked against its model; every write takes the key's next version. Returns the model.
async fn write(
    table: &WorkTable<Doc>,
    published: &Published,
    progress: &Progress,
    writer: u32,
    mut model: BTreeMap<u32, Doc>,
) -> BTreeMap<u32, Doc> {
    let mut rng = Rng::new(u64::from(writer) + 1);
    let first = writer * KEYS;
    let mut writes = 0;
    while writes < MAX_WRITES && (writes < WRITES || !progress.raced_enough()) {
        writes += 1;
        if writes % 8 == 0 {
            // Writes of one's own keys never wait: make room for the readers' tasks.
            tokio::task::yield_now().await;
        }
        let id = first + rng.below(KEYS);
        let version = published.started(id) + 1;
        published.started[id as usize].store(version, Ordering::Release);
        let next = doc(id, version, rng.below(MAX_PAYLOAD + 1) as usize);
        let Some(current) = model.get(&id).cloned() else {
            if rng.below(2) == 0 {
                assert_eq!(table.insert(next.clone()).await.unwrap(), id);
            } else {
                assert_eq!(table.upsert(next.clone()).await.unwrap(), None);
            }
            model.insert(id, next);
            continue;
        };
        match rng.below(8) {
            0..=2 => assert_eq!(table.update(next.clone()).await.unwrap(), current),
            3..=4 => {
                let written = next.clone();
                table
                    .update_with(&id, |row| {
                        assert_eq!(*row, current, "update_with was given another row");
                        *row = written;
                    })
                    .await
                    .unwrap();
            }
            5 => assert_eq!(table.upsert(next.clone()).await.unwrap(), Some(current)),
            _ if pinned(id) => assert_eq!(table.update(next.clone()).await.unwrap(), current),
            _ => {
                assert_eq!(table.delete(&id).await.unwrap(), current);
                model.remove(&id);
                continue;
            }
        }
        model.insert(id, next);
    }
    model
}

/// Checks one row a reader saw: intact, exactly the version it claims to be, written by
/// its writer, and not older than what this reader saw of it before.
fn check_seen(row: &Doc, published: &Published, seen: &mut HashMap<u32, u64>) {
    assert_intact(row);
    assert_eq!(*row, doc(row.id, row.version, row.payload.len()));
    check_version(row.id, row.version, published, seen);
}

fn check_version(id: u32, version: u64, published: &Published, seen: &mut HashMap<u32, u64>) {
    assert!(
        version <= published.started(id),
        "row {id}: version {version} was never written"
    );
    let last = seen.entry(id).or_insert(version);
    assert!(
        version >= *last,
        "row {id}: version {version} read after version {last}"
    );
    *last = version;
}

/// One reader round over every kind of read; returns how many rows it checked.
fn read_round(
    table: &WorkTable<Doc>,
    published: &Published,
    seen: &mut HashMap<u32, u64>,
    rng: &mut Rng,
) -> usize {
    let mut reads = 0;
    for _ in 0..16 {
        let id = rng.below(ALL_KEYS);
        match table.get(&id) {
            Some(row) => {
                assert_eq!(row.id, id);
                check_seen(&row, published, seen);
                reads += 1;
            }
            None => assert!(!pinned(id), "pinned row {id} not found"),
        }
        // In place, without deserializing.
        let archived = table.read(&id, |row| {
            let (shelf, version) = (row.shelf.to_native(), row.version.to_native());
            let intact = row.checksum.to_native()
                == checksum(row.id.to_native(), shelf, version, &row.payload);
            (row.id.to_native(), version, intact)
        });
        match archived {
            Some((seen_id, version, intact)) => {
                assert_eq!(seen_id, id);
                assert!(intact, "torn archived row {id}");
                check_version(id, version, published, seen);
            }
            None => assert!(!pinned(id), "pinned row {id} not read"),
        }
    }

    // The whole table: keys strictly increasing, every pinned row exactly once.
    let mut previous = None;
    let mut pinned_seen = 0;
    for row in table.iter() {
        assert!(previous < Some(row.id), "{previous:?} then {}", row.id);
        previous = Some(row.id);
        check_seen(&row, published, seen);
        pinned_seen += usize::from(pinned(row.id));
        reads += 1;
    }
    assert_eq!(pinned_seen, PINNED);

    // A key range, backwards.
    let start = rng.below(ALL_KEYS);
    let end = start + 100;
    let mut previous = None;
    let mut pinned_seen = 0;
    for row in table.range(start..end).rev() {
        assert!((start..end).contains(&row.id));
        assert!(previous.is_none_or(|previous| row.id < previous));
        previous = Some(row.id);
        check_seen(&row, published, seen);
        pinned_seen += usize::from(pinned(row.id));
        reads += 1;
    }
    let pinned_in_range = (start..end.min(ALL_KEYS)).filter(|&id| pinned(id)).count();
    assert_eq!(pinned_seen, pinned_in_range, "range {start}..{end}");

    // Two shelves by index: (shelf, key) strictly increasing, each row on its shelf.
    let low = rng.below(u32::from(SHELVES) - 1) as u16;
    let mut previous = None;
    for row in table.range_by(Doc::SHELF, low..=low + 1) {
        assert!((low..=low + 1).contains(&row.shelf));
        let at = (row.shelf, row.id);
        assert!(previous < Some(at), "{previous:?} then {at:?}");
        previous = Some(at);
        check_seen(&row, published, seen);
        reads += 1;
    }

    // A query scanning the archived rows in page order: the pinned rows, each once.
    let pinned_rows = table
        .query()
        .filter_archived(|row| pinned(row.id.to_native()))
        .count();
    assert_eq!(pinned_rows, PINNED);
    reads
}
