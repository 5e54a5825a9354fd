//! The corners: vacuuming an empty table; rows of the largest size, which fill a page
//! each; a reader in the middle of reading a row while a vacuum moves it (the row stays
//! readable as it was, and its page goes once the reader is done); iterators open across
//! a vacuum; rows whose locks are held, which move without waiting; and the policy's
//! page choice — how full a page may be and how many pages a step takes — with no row
//! moved when moving frees no page.

use std::collections::BTreeMap;
use std::sync::Arc;

use worktable_core::prelude::*;
use worktable_core::rkyv::rancor;
use worktable_core::{PAGE_SIZE, VacuumPolicy};

use super::{
    Doc, assert_accounts_for, contents, doc, payload_for_slot, reclaim, vacuum_now, vacuum_with,
};
use crate::row_sizes::{largest_fitting, slot_size};

#[tokio::test]
async fn vacuuming_an_empty_table_does_nothing() {
    let table = Arc::new(WorkTable::<Doc>::new());
    let report = vacuum_now(&table);
    assert_eq!(report.rows_moved, 0, "{report:?}");
    assert_eq!(
        (report.pages_before, report.pages_after),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(report.pages_freed(), 0);
    let stats = table.stats();
    assert_accounts_for(&stats, []);
    assert_eq!(stats.pages, 0);
    assert_eq!(table.vacuum().rows_moved, 0);
}

#[tokio::test]
async fn rows_of_the_largest_size_stay_intact_and_small_rows_pack_around_them() {
    let largest = largest_fitting(|len| doc(0, 0, len));
    assert_eq!(slot_size(&doc(0, 0, largest)), PAGE_SIZE);
    let small = payload_for_slot(512);
    let table = Arc::new(WorkTable::<Doc>::new());
    // Four largest rows, each followed by 256 small ones: a page per large row, two per
    // run of small rows.
    let mut id = 0;
    for _ in 0..4 {
        table.insert(doc(id, 0, largest)).await.unwrap();
        id += 1;
        for _ in 0..256 {
            table.insert(doc(id, 0, small)).await.unwrap();
            id += 1;
        }
    }
    assert_eq!(table.stats().pages, 4 + 8);
    // Only largest rows: their pages are full, nothing moves.
    let report = vacuum_now(&table);
    assert_eq!(report.rows_moved, 0, "{report:?}");

    // Three small rows in four deleted: the small rows' pages are a quarter full.
    for id in (0..id).filter(|id| id % 257 != 0 && id % 4 != 0) {
        table.delete(&id).await.unwrap();
    }
    let rows = contents(&table);
    let sparse = reclaim(&table);
    assert_accounts_for(&sparse, rows.values());
    let report = vacuum_now(&table);
    let packed = reclaim(&table);
    let large_rows = rows
        .values()
        .filter(|row| row.payload.len() == largest)
        .count();
    assert_eq!(large_rows, 4);
    assert!(report.rows_moved <= rows.len() - large_rows, "{report:?}");
    assert_accounts_for(&packed, rows.values());
    // Four full pages and the small rows packed: at most the last page partly filled.
    assert!(packed.reclaimable_pages() <= 1, "{packed}");
    assert!(packed.pages < sparse.pages, "{packed}");
    assert_eq!(contents(&table), rows);

    // A largest row shrinks and a small one grows to the largest size; the vacuum still
    // keeps every row as it is.
    table.update(doc(0, 1, small)).await.unwrap();
    table.update(doc(4, 1, largest)).await.unwrap();
    vacuum_now(&table);
    let after = reclaim(&table);
    let mut rows = rows;
    rows.insert(0, doc(0, 1, small));
    rows.insert(4, doc(4, 1, largest));
    assert_accounts_for(&after, rows.values());
    assert_eq!(contents(&table), rows);
    table.check_integrity().unwrap();
}

/// 16 pages of 512-byte rows with three rows in four deleted.
async fn sparse_table() -> (Arc<WorkTable<Doc>>, BTreeMap<u32, Doc>) {
    let payload = payload_for_slot(512);
    let table = Arc::new(WorkTable::<Doc>::new());
    for id in 0..16 * 128 {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    for id in (0..16 * 128).filter(|id| id % 4 != 0) {
        table.delete(&id).await.unwrap();
    }
    let stats = reclaim(&table);
    assert_eq!(stats.pages, 16, "{stats}");
    let rows = contents(&table);
    (table, rows)
}

#[tokio::test]
async fn a_row_being_read_in_place_stays_readable_while_a_vacuum_moves_it() {
    let (table, rows) = sparse_table().await;
    let sparse = table.stats();
    let id = 16 * 128 - 4;
    let (report, during) = table
        .read(&id, |archived| {
            // A vacuum elsewhere moves every row while this reader is in the middle of
            // reading one.
            let report = vacuum_now(&table);
            // The version being read is still there, unchanged...
            let row = worktable_core::rkyv::deserialize::<Doc, rancor::Error>(archived).unwrap();
            assert_eq!(row, rows[&id]);
            // ...every row reads the same from its new place...
            assert_eq!(contents(&table), rows);
            // ...and the pages it left wait for this reader.
            (report, table.stats())
        })
        .unwrap();
    assert!(report.rows_moved > 0, "{report:?}");
    assert!(during.evacuating_pages > 0, "{report:?} {during}");
    assert!(
        during.to_string().contains(" pages being vacuumed"),
        "{during}"
    );
    assert!(during.pages > sparse.pages / 2, "{during}");

    // The reader is done: the next reclaim gives the pages back.
    let after = reclaim(&table);
    assert_eq!(after.evacuating_pages, 0, "{after}");
    assert!(after.pages * 2 <= sparse.pages, "{after}");
    assert_accounts_for(&after, rows.values());
    assert_eq!(contents(&table), rows);
    assert_eq!(vacuum_now(&table).rows_moved, 0);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn iterators_open_across_a_vacuum_see_every_row_once_as_it_was() {
    let (table, rows) = sparse_table().await;
    let expected: Vec<Doc> = rows.values().cloned().collect();
    let on_shelf: Vec<Doc> = {
        let mut on_shelf: Vec<_> = expected
            .iter()
            .filter(|row| row.shelf <= 3)
            .cloned()
            .collect();
        on_shelf.sort_by_key(|row| (row.shelf, row.id));
        on_shelf
    };

    let mut forward = table.iter();
    let mut backward = table.iter().rev();
    let mut by_shelf = table.range_by(Doc::SHELF, ..=3);
    let mut seen_forward: Vec<Doc> = forward.by_ref().take(100).collect();
    let mut seen_backward: Vec<Doc> = backward.by_ref().take(100).collect();
    let mut seen_by_shelf: Vec<Doc> = by_shelf.by_ref().take(100).collect();

    let report = vacuum_now(&table);
    assert!(report.rows_moved > 0, "{report:?}");

    seen_forward.extend(forward);
    seen_backward.extend(backward);
    seen_by_shelf.extend(by_shelf);
    seen_backward.reverse();
    assert_eq!(seen_forward, expected);
    assert_eq!(seen_backward, expected);
    assert_eq!(seen_by_shelf, on_shelf);
    let after = reclaim(&table);
    assert!(after.pages * 2 <= 16, "{after}");
    assert_accounts_for(&after, rows.values());
}

#[tokio::test]
async fn vacuum_moves_rows_whose_locks_are_held_without_waiting_for_them() {
    let (table, mut rows) = sparse_table().await;
    let mut guards = table.lock_all(rows.keys().copied()).await.unwrap();
    assert_eq!(table.stats().locked_rows, rows.len());
    // Every row is locked; a vacuum elsewhere still moves them, and ends.
    let report = vacuum_now(&table);
    assert!(report.rows_moved > 0, "{report:?}");
    // The lock holders see their rows as they were, and write them as usual.
    for guard in &mut guards {
        let id = *guard.pk();
        assert_eq!(guard.get().as_ref(), Some(&rows[&id]));
        if id % 8 == 0 {
            let next = doc(id, 1, 10);
            assert_eq!(guard.update(next.clone()).await.unwrap(), rows[&id]);
            rows.insert(id, next);
        }
    }
    drop(guards);
    let after = reclaim(&table);
    assert!(after.pages * 2 <= 16, "{after}");
    assert_accounts_for(&after, rows.values());
    assert_eq!(contents(&table), rows);
    table.check_integrity().unwrap();
}

/// Four pages of 1 KiB rows: the first holds 3 rows (5% full), the second 26 (41%), the
/// last two are full.
async fn four_pages() -> (Arc<WorkTable<Doc>>, BTreeMap<u32, Doc>) {
    let payload = payload_for_slot(1024);
    let table = Arc::new(WorkTable::<Doc>::new());
    for id in 0..256 {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    for id in (3..64).chain(90..128) {
        table.delete(&id).await.unwrap();
    }
    let stats = reclaim(&table);
    assert_eq!((stats.pages, stats.rows), (4, 3 + 26 + 128), "{stats}");
    let rows = contents(&table);
    (table, rows)
}

fn quick() -> VacuumPolicy {
    VacuumPolicy::default().pause(std::time::Duration::ZERO)
}

#[tokio::test]
async fn the_policy_chooses_which_pages_are_emptied_and_rows_move_only_to_free_a_page() {
    let (table, rows) = four_pages().await;

    // No page is empty: with a fill of 0, none qualifies.
    let report = vacuum_with(&table, &quick().max_page_fill(0.0));
    assert_eq!(report.rows_moved, 0, "{report:?}");
    assert_eq!(reclaim(&table).pages, 4);

    // Up to 10% full: only the first page, whose three rows fit in the second's free space.
    let report = vacuum_with(&table, &quick().max_page_fill(0.1));
    assert_eq!(report.rows_moved, 3, "{report:?}");
    assert_eq!(report.pages_before, 4, "{report:?}");
    // (The emptied page may wait for a reader of another test; the reclaim sees it go.)
    assert!(report.pages_after <= 4, "{report:?}");
    let three = reclaim(&table);
    assert_eq!(three.pages, 3, "{three}");
    assert_accounts_for(&three, rows.values());

    // The second page is 45% full now, but its rows would need a page of their own:
    // moving them frees nothing, so nothing moves.
    let report = vacuum_with(&table, &quick());
    assert_eq!(report.rows_moved, 0, "{report:?}");
    assert_eq!(reclaim(&table), three);
    assert_eq!(contents(&table), rows);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn each_step_empties_at_most_its_share_of_pages() {
    let (table, rows) = sparse_table().await;
    let report = vacuum_with(&table, &quick().pages_per_step(1));
    assert!(report.rows_moved > 0, "{report:?}");
    // A page is given back only after it was chosen, and each step chooses one. (Pages
    // chosen may also wait for a reader of another test, and go with the reclaim.)
    assert!(report.pages_freed() <= report.steps, "{report:?}");
    let after = reclaim(&table);
    assert!(after.pages * 2 <= 16, "{report:?} {after}");
    assert_accounts_for(&after, rows.values());
    assert_eq!(contents(&table), rows);
}
