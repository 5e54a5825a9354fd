//! Deleting nine rows in ten of 100,000 gives no page back by itself (every page still
//! holds rows); a vacuum then packs the survivors into at most half the pages, leaves
//! every survivor as it was, reports what the statistics show, and a second vacuum finds
//! nothing left to do.

use std::collections::BTreeMap;
use std::sync::Arc;

use worktable_core::PAGE_SIZE;
use worktable_core::prelude::*;

use super::{Doc, assert_accounts_for, contents, doc, payload_for_slot, reclaim, vacuum_now};

#[tokio::test]
async fn deleting_nine_rows_in_ten_of_100_000_and_vacuuming_gives_most_pages_back() {
    const ROWS: u32 = 100_000;
    const SLOT: usize = 144;
    let payload = payload_for_slot(SLOT);
    let per_page = PAGE_SIZE / SLOT;
    let table = Arc::new(WorkTable::<Doc>::new());
    for id in 0..ROWS {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    let full = reclaim(&table);
    // Inserts fill the pages front to back.
    assert_eq!(full.pages, (ROWS as usize).div_ceil(per_page), "{full}");

    for id in (0..ROWS).filter(|id| id % 10 != 0) {
        table.delete(&id).await.unwrap();
    }
    let survivors: BTreeMap<u32, Doc> = (0..ROWS)
        .step_by(10)
        .map(|id| (id, doc(id, 0, payload)))
        .collect();
    let sparse = reclaim(&table);
    assert_eq!(sparse.pages, full.pages, "{sparse}");
    assert_accounts_for(&sparse, survivors.values());
    // 10,000 rows of 144 bytes need 22 pages; the rest could go.
    assert_eq!(
        sparse.reclaimable_pages(),
        sparse.pages - (survivors.len() * SLOT).div_ceil(PAGE_SIZE)
    );
    assert!(sparse.fragmentation > 0.85, "{sparse}");

    let report = vacuum_now(&table);
    let packed = reclaim(&table);
    assert_eq!(report.pages_before, sparse.pages, "{report:?}");
    // Pages waiting for a reader of another test go with the reclaim.
    assert!(packed.pages <= report.pages_after, "{report:?} {packed}");
    assert_eq!(packed.evacuating_pages, 0, "{packed}");
    assert!(packed.pages * 2 <= sparse.pages, "{report:?} {packed}");
    assert!(packed.page_bytes * 2 <= sparse.page_bytes, "{packed}");
    assert_eq!(report.pages_freed(), sparse.pages - report.pages_after);
    // Rows that never moved are in pages that were kept, at most one in ten of a page's
    // rows each: every other survivor was moved.
    let unmoved_at_most = report.pages_after * per_page.div_ceil(10);
    assert!(
        report.rows_moved >= survivors.len() - unmoved_at_most,
        "{report:?}: {unmoved_at_most} rows may have stayed"
    );
    assert!(report.steps >= 1, "{report:?}");

    assert_accounts_for(&packed, survivors.values());
    // Rows of one size pack perfectly: at most the last page is partly filled.
    assert!(packed.reclaimable_pages() <= 1, "{packed}");
    assert!(packed.fragmentation < sparse.fragmentation, "{packed}");
    assert!(packed.reclaimable_pages() < sparse.reclaimable_pages());
    assert_eq!(contents(&table), survivors);
    for (id, row) in &survivors {
        assert_eq!(table.get(id).as_ref(), Some(row));
        assert_eq!(table.get(&(id + 1)), None);
    }
    let shelf = survivors.values().filter(|row| row.shelf == 3).count();
    assert_eq!(table.find_by(Doc::SHELF, &3).len(), shelf);
    table.check_integrity().unwrap();

    let again = vacuum_now(&table);
    assert_eq!(again.rows_moved, 0, "{again:?}");
    assert_eq!(
        (again.pages_before, again.pages_after),
        (packed.pages, packed.pages),
        "{again:?}"
    );
    let after = reclaim(&table);
    assert_eq!(after, packed, "{after}");
    println!("{report:?}\n{sparse}{packed}");
}
