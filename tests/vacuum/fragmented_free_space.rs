//! A vacuum ends even when the free space elsewhere adds up to enough for the rows of a
//! sparse page but lies in holes too small to take any of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use worktable_core::prelude::*;
use worktable_core::{PAGE_SIZE, VacuumPolicy};

use super::{Doc, contents, doc, payload_for_slot, reclaim};

#[tokio::test]
async fn vacuum_ends_when_free_space_is_in_holes_too_small_for_the_rows_to_move() {
    let tiny = payload_for_slot(32);
    let per_page = (PAGE_SIZE / 32) as u32;
    let table = Arc::new(WorkTable::<Doc>::new());
    for id in 0..3 * per_page {
        table.insert(doc(id, 0, tiny)).await.unwrap();
    }
    table.insert(doc(u32::MAX, 0, 20_000)).await.unwrap();
    for id in (0..3 * per_page).step_by(3) {
        table.delete(&id).await.unwrap();
    }
    let rows = contents(&table);
    assert_eq!(reclaim(&table).pages, 4);
    let vacuum = table.spawn_vacuum(
        VacuumPolicy::default()
            .min_fragmentation(0.0)
            .min_reclaimable_pages(0)
            .interval(Duration::from_millis(5)),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while vacuum.progress().steps == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ended = vacuum.progress();
    let total = vacuum.stop();
    assert!(
        ended.steps > 0,
        "no vacuum run ended within 10 s; stopped after {total:?}\n{}",
        table.stats()
    );
    assert_eq!(reclaim(&table).pages, 4);
    assert_eq!(contents(&table), rows);
}
