//! Slots freed by deletes and updates are reused: a delete followed by an insert of the
//! same size does not grow the table, many same-size updates keep the page count bounded,
//! and a row that grows out of a full page moves to a new slot intact.
//! Slots retired by writes on other threads (a multi-threaded runtime) are reclaimed too.

use worktable_core::PAGE_SIZE;
use worktable_core::prelude::*;

use crate::row_sizes::{largest_fitting, slot_size};
use crate::vacuum::reclaim;

/// A row whose archived size depends only on `body`'s length.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "cells")]
struct Cell {
    #[pk]
    id: u32,
    #[index]
    bucket: u16,
    #[index(unique)]
    tag: u32,
    generation: u32,
    body: String,
}

fn cell(id: u32, generation: u32, body_len: usize) -> Cell {
    // The body's content changes with the generation, its length does not.
    let fill = char::from(b'a' + (generation % 26) as u8);
    Cell {
        id,
        bucket: (id % 7) as u16,
        tag: id,
        generation,
        body: std::iter::repeat_n(fill, body_len).collect(),
    }
}

/// The body length that makes a row take exactly `slot` bytes of page space.
fn body_len_for_slot(slot: usize) -> usize {
    let len = (0..slot)
        .find(|&len| slot_size(&cell(0, 0, len)) == slot)
        .expect("some body length gives this slot size");
    // The size must not depend on the id, generation or bucket.
    assert_eq!(slot_size(&cell(u32::MAX, 25, len)), slot);
    len
}

#[tokio::test]
async fn deleted_slots_take_new_rows_of_the_same_size_without_new_pages() {
    let slot = 1024;
    let body = body_len_for_slot(slot);
    let per_page = PAGE_SIZE / slot;
    let table = WorkTable::<Cell>::new();
    let rows = (3 * per_page + per_page / 2) as u32;
    for id in 0..rows {
        table.insert(cell(id, 0, body)).await.unwrap();
    }
    let full = reclaim(&table);
    // 1024-byte slots pack pages exactly: 3 full pages and a half-full fourth,
    // whose other half is free.
    assert_eq!(full.pages, 4);
    assert_eq!(full.rows, rows as usize);
    assert_eq!(full.used_bytes, rows as usize * slot);
    assert_eq!(full.free_bytes, PAGE_SIZE / 2);

    // Delete rows spread over every page.
    let deleted: Vec<u32> = (0..rows).step_by(5).collect();
    for id in &deleted {
        table.delete(id).await.unwrap();
    }
    let holes = reclaim(&table);
    assert_eq!(holes.pages, full.pages);
    assert_eq!(holes.free_bytes, full.free_bytes + deleted.len() * slot);
    assert_eq!(holes.used_bytes + holes.free_bytes, holes.page_bytes);

    // As many new rows of the same size: they fill the holes, no page is added.
    for i in 0..deleted.len() as u32 {
        table.insert(cell(10_000 + i, 1, body)).await.unwrap();
    }
    let refilled = reclaim(&table);
    assert_eq!(refilled.pages, full.pages);
    assert_eq!(refilled.free_bytes, full.free_bytes);
    assert_eq!(refilled.rows, rows as usize);
    table.check_integrity().unwrap();
    for i in 0..deleted.len() as u32 {
        assert_eq!(table.get(&(10_000 + i)), Some(cell(10_000 + i, 1, body)));
    }
    for id in (0..rows).filter(|id| id % 5 != 0) {
        assert_eq!(table.get(&id), Some(cell(id, 0, body)));
    }
}

#[tokio::test]
async fn smaller_rows_fill_the_slots_of_larger_deleted_ones() {
    let body = body_len_for_slot(2048);
    let table = WorkTable::<Cell>::new();
    for id in 0..64 {
        table.insert(cell(id, 0, body)).await.unwrap();
    }
    let before = reclaim(&table);
    assert_eq!(before.pages, 2);
    for id in 0..8 {
        table.delete(&id).await.unwrap();
    }
    assert_eq!(reclaim(&table).free_bytes, 8 * 2048);
    // Each freed 2048-byte slot takes two 1024-byte rows (best fit splits the slot).
    let small = body_len_for_slot(1024);
    for id in 100..116 {
        table.insert(cell(id, 0, small)).await.unwrap();
    }
    let after = reclaim(&table);
    assert_eq!(after.pages, before.pages);
    assert_eq!(after.free_bytes, 0);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn many_same_size_updates_keep_the_page_count_bounded() {
    const ROWS: u32 = 100;
    const UPDATES: u32 = 20_000;
    const RECLAIM_EVERY: u32 = 100;
    let slot = 1024;
    let body = body_len_for_slot(slot);
    let table = WorkTable::<Cell>::new();
    for id in 0..ROWS {
        table.insert(cell(id, 0, body)).await.unwrap();
    }
    let start = reclaim(&table);
    // 100 rows of 1024 bytes, 64 to a page.
    assert_eq!(start.pages, 2);

    // Bound: between two reclaims at most RECLAIM_EVERY versions are retired and not yet
    // reusable, so at most ROWS + RECLAIM_EVERY slots are ever taken at once, i.e.
    // (100 + 100) × 1024 bytes = 3.125 pages, rounded up: 4. Writes may also reclaim on
    // their own, which only lowers the need. Without reuse, 20,000 updates would take
    // 20,000 / 64 ≈ 313 more pages.
    let bound = ((ROWS + RECLAIM_EVERY) as usize * slot).div_ceil(PAGE_SIZE);
    assert_eq!(bound, 4);

    for n in 0..UPDATES {
        let id = n % ROWS;
        let generation = n / ROWS + 1;
        let mut row = cell(id, generation, body);
        // Every third update also moves the row to another bucket (same size).
        if n % 3 == 0 {
            row.bucket = ((id + generation) % 7) as u16;
        }
        table.update(row).await.unwrap();
        if n % RECLAIM_EVERY == RECLAIM_EVERY - 1 {
            let stats = reclaim(&table);
            assert!(stats.pages <= bound, "after {n} updates: {stats}");
        }
    }
    let end = reclaim(&table);
    assert!(end.pages <= bound, "{end}");
    assert_eq!(end.rows, ROWS as usize);
    // Every byte of page memory is a live row, a free slot or the unused tail of the
    // page being filled.
    let live = ROWS as usize * slot;
    assert!(end.free_bytes <= end.page_bytes - live, "{end}");
    assert!(end.free_bytes + PAGE_SIZE >= end.page_bytes - live, "{end}");

    let last_generation = UPDATES / ROWS;
    for id in 0..ROWS {
        let row = table.get(&id).unwrap();
        assert_eq!(row.generation, last_generation);
        assert_eq!(row.body, cell(id, last_generation, body).body);
    }
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn a_row_that_grows_out_of_a_full_page_moves_intact() {
    let slot = 1024;
    let small = body_len_for_slot(slot);
    let table = WorkTable::<Cell>::new();
    let per_page = (PAGE_SIZE / slot) as u32;
    for id in 0..per_page {
        table.insert(cell(id, 0, small)).await.unwrap();
    }
    let full = reclaim(&table);
    assert_eq!((full.pages, full.free_bytes), (1, 0));

    // Grow one row to 10 KB: no room in its page, so it lands on a new one.
    let grown = cell(10, 1, 10_000);
    assert_eq!(
        table.update(grown.clone()).await.unwrap(),
        cell(10, 0, small)
    );
    assert_eq!(table.get(&10), Some(grown.clone()));
    let after_grow = reclaim(&table);
    assert_eq!(after_grow.pages, 2);
    // Its old slot is free again.
    assert!(after_grow.free_bytes >= slot);

    // Grow another to the largest row a table takes: it needs a page of its own.
    let largest_body = largest_fitting(|len| cell(0, 0, len));
    let huge = cell(20, 1, largest_body);
    table.update(huge.clone()).await.unwrap();
    assert_eq!(table.get(&20), Some(huge));
    assert_eq!(reclaim(&table).pages, 3);

    // The freed 1024-byte slots take rows of that size again.
    table.insert(cell(1000, 0, small)).await.unwrap();
    table.insert(cell(1001, 0, small)).await.unwrap();
    assert_eq!(reclaim(&table).pages, 3);

    // Every other row is untouched, and every index agrees.
    for id in (0..per_page).filter(|id| *id != 10 && *id != 20) {
        assert_eq!(table.get(&id), Some(cell(id, 0, small)));
    }
    assert_eq!(table.get(&10), Some(grown));
    table.check_integrity().unwrap();

    // Shrinking back frees the big slots for reuse.
    table.update(cell(20, 2, small)).await.unwrap();
    let shrunk = reclaim(&table);
    assert!(shrunk.free_bytes >= PAGE_SIZE - slot, "{shrunk}");
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn failed_writes_give_their_staged_slot_back() {
    let slot = 1024;
    let body = body_len_for_slot(slot);
    let table = WorkTable::<Cell>::new();
    for id in 0..10 {
        table.insert(cell(id, 0, body)).await.unwrap();
    }
    let before = reclaim(&table);
    // A duplicate unique key is found after the row was written to a slot; the slot must
    // go back to the free lists each time. Duplicate primary keys and too-large rows fail
    // before a slot is taken.
    let duplicate_tag = Cell {
        tag: 3,
        ..cell(100, 9, body)
    };
    let update_to_duplicate_tag = Cell {
        tag: 5,
        ..cell(4, 9, body)
    };
    let duplicate_pk = cell(3, 9, body);
    let too_large = cell(4, 9, PAGE_SIZE);
    for _ in 0..300 {
        assert!(matches!(
            table.insert(duplicate_tag.clone()).await,
            Err(TableError::DuplicateKey { .. })
        ));
        assert!(matches!(
            table.update(update_to_duplicate_tag.clone()).await,
            Err(TableError::DuplicateKey { .. })
        ));
        assert!(matches!(
            table.insert(duplicate_pk.clone()).await,
            Err(TableError::DuplicatePk { .. })
        ));
        assert!(matches!(
            table.update(too_large.clone()).await,
            Err(TableError::RowTooLarge { .. })
        ));
    }
    let after = reclaim(&table);
    assert_eq!(after.pages, before.pages);
    assert_eq!(after.rows, 10);
    // Every failure took a slot and gave it back, where it merged with the free
    // space around it again.
    assert_eq!(after.free_bytes, before.free_bytes, "{after}");
    assert_eq!(after.used_bytes, before.used_bytes, "{after}");
    for id in 0..10 {
        assert_eq!(table.get(&id), Some(cell(id, 0, body)));
    }
    table.check_integrity().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_retired_by_writes_on_worker_threads_are_reclaimed() {
    let table = std::sync::Arc::new(WorkTable::<Cell>::new());
    let body = body_len_for_slot(256);
    for id in 0..200 {
        table.insert(cell(id, 0, body)).await.unwrap();
    }
    // Deletes and updates run on the runtime's worker threads; the retired slots
    // must not stay parked in those threads' epoch bags.
    let mut tasks = Vec::new();
    for worker in 0..4u32 {
        let table = std::sync::Arc::clone(&table);
        tasks.push(tokio::spawn(async move {
            for id in (worker * 50)..(worker * 50 + 50) {
                if id % 2 == 0 {
                    table.delete(&id).await.unwrap();
                } else {
                    table.update(cell(id, 1, body)).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stats = reclaim(&table);
    assert_eq!(stats.rows, 100);
    // 200 slots were given up (100 deletes, 100 replaced versions); the 100 new
    // versions took at most 100 of them, so at least 100 are free again, and
    // new rows of the same size fill them without a new page.
    let free_slots = stats.free_bytes / 256;
    assert!(free_slots >= 100, "{stats}");
    for id in 200..200 + free_slots as u32 {
        table.insert(cell(id, 0, body)).await.unwrap();
    }
    assert_eq!(table.stats().pages, stats.pages, "{}", table.stats());
    table.check_integrity().unwrap();
}
