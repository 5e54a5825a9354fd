//! Table statistics: an empty table has no pages and no fragmentation; page memory is
//! always used, free or dead, to the byte, with fragmentation and reclaimable pages
//! derived from those figures, through inserts, deletes, reclaims and vacuums; index
//! sizes grow with their entries; and `Display` shows it all in a readable form.

use std::sync::Arc;

use worktable_core::prelude::*;
use worktable_core::{PAGE_SIZE, TableStats};

use super::{Doc, assert_accounts_for, contents, doc, payload_for_slot, reclaim, vacuum_now};

/// A row with a unique and a non-unique index.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "tags")]
struct Tag {
    #[pk]
    id: u32,
    #[index(unique)]
    code: String,
    #[index]
    group: u8,
}

fn tag(id: u32) -> Tag {
    Tag {
        id,
        code: format!("T-{id:06}"),
        group: (id % 5) as u8,
    }
}

/// How `Display` writes a size.
fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn assert_fragmentation_in_range(stats: &TableStats) {
    assert!((0.0..=1.0).contains(&stats.fragmentation), "{stats}");
}

#[tokio::test]
async fn an_empty_table_has_no_pages_no_fragmentation_and_empty_indexes() {
    let table = WorkTable::<Tag>::new();
    let stats = table.stats();
    assert_eq!(stats.name, "tags");
    assert_eq!(
        (stats.rows, stats.pages, stats.page_bytes, stats.used_bytes),
        (0, 0, 0, 0)
    );
    assert_eq!(
        (stats.free_bytes, stats.dead_bytes, stats.retired_slots),
        (0, 0, 0)
    );
    assert_eq!((stats.evacuating_pages, stats.locked_rows), (0, 0));
    assert_eq!(stats.fragmentation, 0.0);
    assert_eq!(stats.reclaimable_pages(), 0);
    let indexes: Vec<_> = stats
        .indexes
        .iter()
        .map(|index| (index.name, index.unique, index.entries))
        .collect();
    assert_eq!(indexes, [("code", true, 0), ("group", false, 0)]);
}

#[tokio::test]
async fn index_sizes_grow_with_their_entries() {
    let table = WorkTable::<Tag>::new();
    for id in 0..100 {
        table.insert(tag(id)).await.unwrap();
    }
    let small = table.stats();
    for id in 100..2_000 {
        table.insert(tag(id)).await.unwrap();
    }
    let large = table.stats();
    assert!(small.primary_index_bytes > 0, "{small}");
    assert!(
        large.primary_index_bytes > small.primary_index_bytes,
        "{large}"
    );
    for (before, after) in small.indexes.iter().zip(&large.indexes) {
        assert_eq!((before.entries, after.entries), (100, 2_000));
        assert!(before.approx_bytes > 0, "{small}");
        assert!(after.approx_bytes > before.approx_bytes, "{large}");
        // Each of the 1,900 new entries takes at least its key and primary key.
        assert!(
            after.approx_bytes - before.approx_bytes >= 1_900 * std::mem::size_of::<u32>(),
            "{large}"
        );
    }
    // Deleting rows takes their entries out.
    for id in 0..1_000 {
        table.delete(&id).await.unwrap();
    }
    let fewer = table.stats();
    for (after, now) in large.indexes.iter().zip(&fewer.indexes) {
        assert_eq!(now.entries, 1_000);
        assert!(now.approx_bytes < after.approx_bytes, "{fewer}");
    }
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn page_memory_is_accounted_for_to_the_byte_through_a_tables_life() {
    let payload = payload_for_slot(256);
    let table = Arc::new(WorkTable::<Doc>::new());
    let check = |table: &WorkTable<Doc>| {
        let stats = table.stats();
        assert_accounts_for(&stats, contents(table).values());
        assert_fragmentation_in_range(&stats);
        stats
    };
    assert_eq!(check(&table).pages, 0);

    for id in 0..1_000 {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    // 1,000 rows of 256 bytes: 3 full pages and 232 rows on a fourth.
    let full = check(&table);
    assert_eq!((full.pages, full.used_bytes), (4, 256_000), "{full}");
    assert_eq!(full.free_bytes, 4 * PAGE_SIZE - 256_000, "{full}");
    assert_eq!(full.reclaimable_pages(), 0);

    // Deleted versions are dead until reclaimed, then free.
    for id in (0..1_000).filter(|id| id % 2 == 1) {
        table.delete(&id).await.unwrap();
    }
    let holes = check(&table);
    assert_eq!(holes.used_bytes, 128_000, "{holes}");
    assert_eq!(
        holes.free_bytes + holes.dead_bytes,
        full.free_bytes + 128_000
    );
    assert_eq!(holes.dead_bytes, holes.retired_slots * 256, "{holes}");
    let reclaimed = reclaim(&table);
    assert_accounts_for(&reclaimed, contents(&table).values());
    assert_eq!(reclaimed.free_bytes, full.free_bytes + 128_000);
    assert_eq!(reclaimed.reclaimable_pages(), 4 - 2, "{reclaimed}");

    // Updates to larger rows: the replaced versions are dead, then free.
    let larger = payload_for_slot(512);
    for id in (0..1_000).step_by(4) {
        table.update(doc(id, 1, larger)).await.unwrap();
    }
    check(&table);
    let grown = reclaim(&table);
    assert_eq!(grown.used_bytes, 250 * 256 + 250 * 512, "{grown}");
    assert_accounts_for(&grown, contents(&table).values());

    let report = vacuum_now(&table);
    let packed = reclaim(&table);
    assert_accounts_for(&packed, contents(&table).values());
    assert!(packed.pages <= report.pages_after, "{report:?} {packed}");
    assert!(packed.reclaimable_pages() <= grown.reclaimable_pages());
    assert_fragmentation_in_range(&packed);

    // Everything deleted: every byte is free (fragmentation 1), and a vacuum gives all
    // pages back (fragmentation 0 again: there is no page).
    let keys: Vec<u32> = contents(&table).into_keys().collect();
    for id in keys {
        table.delete(&id).await.unwrap();
    }
    let emptied = reclaim(&table);
    assert_accounts_for(&emptied, []);
    assert_eq!(emptied.fragmentation, 1.0, "{emptied}");
    assert_eq!(emptied.reclaimable_pages(), emptied.pages);
    let report = vacuum_now(&table);
    assert_eq!(report.rows_moved, 0, "{report:?}");
    let gone = reclaim(&table);
    assert_eq!(
        (gone.pages, gone.page_bytes, gone.free_bytes),
        (0, 0, 0),
        "{gone}"
    );
    assert_eq!(gone.fragmentation, 0.0);
    assert_eq!(report.pages_after, 0, "{report:?}");
    assert_eq!(report.pages_freed(), emptied.pages, "{report:?}");

    // The table takes rows again.
    table.insert(doc(7, 9, payload)).await.unwrap();
    assert_eq!(table.get(&7), Some(doc(7, 9, payload)));
    assert_eq!(check(&table).pages, 1);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn display_shows_rows_pages_space_and_indexes() {
    let payload = payload_for_slot(1024);
    let table = WorkTable::<Doc>::new();
    for id in 0..4 {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    let four = reclaim(&table);
    // One deleted row, not reclaimed yet: its slot is dead.
    table.delete(&3).await.unwrap();
    let stats = table.stats();
    let index = &stats.indexes[0];
    let expected = format!(
        "table `docs`: 3 rows, 0 locked\n\
         \x20 pages: 1 (64.0 KiB): 3.0 KiB used, 60.0 KiB free, 1.0 KiB dead in 1 retired \
         versions; fragmentation 95.3%\n\
         \x20 primary index: 3 keys, ~{}\n\
         \x20 index `shelf` (non-unique): 3 entries, ~{}\n",
        kib(stats.primary_index_bytes),
        kib(index.approx_bytes),
    );
    assert_eq!(stats.to_string(), expected, "{four}");
    assert_eq!(stats.retired_slots, 1, "{stats}");
    assert!(!stats.to_string().contains("vacuumed"));
}
