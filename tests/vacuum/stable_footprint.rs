//! Slot reuse alone, without vacuum, keeps a table's memory bounded: updates that grow
//! and shrink rows between 0 and 2 KiB reach a stable page count.

use worktable_core::PAGE_SIZE;
use worktable_core::prelude::*;

use super::{Doc, assert_accounts_for, doc, reclaim};
use crate::concurrent::Rng;
use crate::row_sizes::slot_size;

const ROWS: u32 = 10_000;
const MAX_PAYLOAD: u32 = 2_048;
/// Updates between two samples; each sample first returns every retired slot.
const SAMPLE_EVERY: usize = 1_000;

/// Updates in the normal run: about 3 s in a debug build, and past the point where the
/// page count levels off (within the first 300,000 updates, a few pages above the start).
const UPDATES: usize = 100_000;
/// Updates with `WORKTABLE_SOAK=1`: the full million (about 25 s in a debug build).
const SOAK_UPDATES: usize = 1_000_000;

fn updates() -> usize {
    if std::env::var_os("WORKTABLE_SOAK").is_some_and(|value| value == "1") {
        SOAK_UPDATES
    } else {
        UPDATES
    }
}

#[tokio::test]
async fn size_changing_updates_reach_a_stable_page_count_by_slot_reuse_alone() {
    let updates = updates();
    let mut rng = Rng::new(0x5EED);
    let table = WorkTable::<Doc>::new();
    // The model: each row's version and payload length.
    let mut model: Vec<(u64, usize)> = Vec::with_capacity(ROWS as usize);
    for id in 0..ROWS {
        let len = rng.below(MAX_PAYLOAD + 1) as usize;
        table.insert(doc(id, 0, len)).await.unwrap();
        model.push((0, len));
    }

    // The bound. A row's slot is at most `max_slot` (its archived size with a 2 KiB
    // payload, rounded up to 16), so live rows take at most ROWS × max_slot bytes. Each
    // update retires one version, whose slot returns to the free extents once the epoch
    // collector has seen every reader move on; `reclaim` at each sample returns all of
    // them, so at most SAMPLE_EVERY retired slots wait at any moment. Together that is
    // (10,000 + 1,000) × 2,080 bytes = 350 pages, reached only if every row held 2 KiB at
    // once. Payloads are uniform in 0..=2 KiB, so live rows take about half of that
    // (ROWS × max_slot / 2 ≈ 159 pages): the other half is the room we allow best fit for
    // external fragmentation — extents too small for the row at hand. Best fit with
    // coalescing keeps that small: a free extent takes any row no larger than it, and
    // merges with its neighbours when they are freed. Pages are never given back without
    // vacuum, so the page count is the run's high-water mark and checking it at the end
    // checks the whole run. Without reuse every update would take a new slot: about
    // 16 pages per 1,000 updates.
    let max_slot = slot_size(&doc(0, 0, MAX_PAYLOAD as usize));
    let bound = ((ROWS as usize + SAMPLE_EVERY) * max_slot).div_ceil(PAGE_SIZE);
    assert_eq!(bound, 350);

    let start = reclaim(&table);
    let mut samples = vec![(0, start.pages)];
    for n in 1..=updates {
        let id = rng.below(ROWS);
        let len = rng.below(MAX_PAYLOAD + 1) as usize;
        let (version, _) = &mut model[id as usize];
        *version += 1;
        let next = doc(id, *version, len);
        if n % 2 == 0 {
            let previous = table.update(next).await.unwrap();
            assert_eq!(previous.version, *version - 1);
        } else {
            table.update_with(&id, |row| *row = next).await.unwrap();
        }
        model[id as usize].1 = len;
        if n % SAMPLE_EVERY == 0 {
            let stats = reclaim(&table);
            assert!(stats.pages <= bound, "after {n} updates: {stats}");
            samples.push((n, stats.pages));
        }
    }

    let end = reclaim(&table);
    let rows: Vec<Doc> = model
        .iter()
        .enumerate()
        .map(|(id, &(version, len))| doc(id as u32, version, len))
        .collect();
    assert_accounts_for(&end, &rows);
    assert!(end.pages <= bound, "{end}");
    // Settled: the second half of the run added at most a few pages to what the first
    // half reached (a page holds about 60 rows of average size).
    let (_, halfway) = samples[samples.len() / 2];
    assert!(end.pages <= halfway + 4, "{samples:?}");
    for row in &rows {
        assert_eq!(table.get(&row.id).as_ref(), Some(row));
    }
    table.check_integrity().unwrap();
    let trace: Vec<_> = samples
        .iter()
        .step_by((samples.len() / 20).max(1))
        .chain(samples.last())
        .collect();
    println!("{updates} updates, pages: {trace:?}\n{end}");
}
