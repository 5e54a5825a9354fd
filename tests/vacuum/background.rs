//! The background vacuum: it empties sparse pages without being asked once the table
//! passes its thresholds, stops moving rows when retuned to thresholds the table cannot
//! meet and starts again when retuned back, picks up a new interval at once, does nothing
//! while the thresholds are not met, and ends when stopped, when its handle is dropped,
//! or when its table is.
//!
//! Waits are liveness checks with a generous deadline, never timing assertions; "stays
//! idle" checks watch the vacuum over many of its intervals.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use worktable_core::prelude::*;
use worktable_core::{VacuumPolicy, VacuumReport};

use super::{Doc, contents, doc, payload_for_slot, reclaim};

/// The background vacuum's interval in these tests.
const INTERVAL: Duration = Duration::from_millis(5);
/// How long a liveness check waits before failing.
const PATIENCE: Duration = Duration::from_secs(10);

/// Waits until `done` holds; fails, saying `what` did not happen, after [`PATIENCE`].
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Lets the background vacuum look at the table `intervals` times or so.
async fn idle(intervals: u32) {
    tokio::time::sleep(INTERVAL * intervals).await;
}

/// 40 pages of 512-byte rows, three rows in four deleted: 75% fragmented, 30 pages to
/// gain. Returns the table and its rows.
async fn sparse_table() -> (Arc<WorkTable<Doc>>, BTreeMap<u32, Doc>) {
    let payload = payload_for_slot(512);
    let table = Arc::new(WorkTable::<Doc>::new());
    for id in 0..40 * 128 {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    for id in (0..40 * 128).filter(|id| id % 4 != 0) {
        table.delete(&id).await.unwrap();
    }
    let stats = reclaim(&table);
    assert_eq!(
        (stats.pages, stats.reclaimable_pages()),
        (40, 30),
        "{stats}"
    );
    let rows = contents(&table);
    (table, rows)
}

#[tokio::test]
async fn background_vacuum_runs_by_its_policy_until_stopped_and_ends_with_its_table() {
    let (table, mut rows) = sparse_table().await;
    let sparse = table.stats();
    // The default thresholds, which the table exceeds.
    let policy = VacuumPolicy::default().interval(INTERVAL);
    assert!(sparse.fragmentation >= policy.min_fragmentation, "{sparse}");
    assert!(sparse.reclaimable_pages() >= policy.min_reclaimable_pages);
    let vacuum = table.spawn_vacuum(policy.clone());
    assert_eq!(vacuum.policy(), policy);

    wait_until("the background vacuum gives half the pages back", || {
        let stats = table.stats();
        vacuum.progress().rows_moved > 0 && stats.pages * 2 <= sparse.pages
    })
    .await;
    let first = vacuum.progress();
    assert_eq!(first.pages_before, sparse.pages, "{first:?}");
    assert!(first.steps >= 1, "{first:?}");
    assert_eq!(contents(&table), rows);
    table.check_integrity().unwrap();
    // It ran until the table was under its thresholds (so it does not run again).
    let packed = reclaim(&table);
    assert!(
        packed.fragmentation < policy.min_fragmentation
            || packed.reclaimable_pages() < policy.min_reclaimable_pages,
        "{packed}"
    );

    // Retuned to a share of free memory no table reaches, it stops, even once the table
    // is sparse again.
    let never = policy.clone().min_fragmentation(1.1);
    vacuum.set_policy(never.clone());
    assert_eq!(vacuum.policy(), never);
    idle(4).await;
    let stopped = vacuum.progress();
    let half: Vec<u32> = rows.keys().copied().step_by(2).collect();
    for id in &half {
        table.delete(id).await.unwrap();
        rows.remove(id);
    }
    let sparse_again = reclaim(&table);
    assert!(
        sparse_again.fragmentation >= policy.min_fragmentation,
        "{sparse_again}"
    );
    assert!(sparse_again.reclaimable_pages() >= policy.min_reclaimable_pages);
    idle(40).await;
    assert_eq!(vacuum.progress(), stopped);
    assert_eq!(table.stats(), sparse_again);

    // Retuned back, it runs again.
    vacuum.set_policy(policy.clone());
    wait_until("the retuned background vacuum gives pages back", || {
        vacuum.progress().rows_moved > stopped.rows_moved
            && table.stats().pages < sparse_again.pages
    })
    .await;
    assert_eq!(contents(&table), rows);
    table.check_integrity().unwrap();

    // The vacuum thread holds the table only while it works on it: dropping the last
    // handle to the table frees it, the thread ends, and `stop` reports the total.
    let weak = Arc::downgrade(&table);
    drop(table);
    wait_until("the table is freed", || weak.strong_count() == 0).await;
    let total = vacuum.stop();
    assert_eq!(total.pages_before, sparse.pages, "{total:?}");
    assert!(total.rows_moved > stopped.rows_moved, "{total:?}");
    assert!(total.steps > stopped.steps, "{total:?}");
}

#[tokio::test]
async fn background_vacuum_waits_for_its_thresholds_and_picks_up_a_new_interval_at_once() {
    let (table, rows) = sparse_table().await;
    let sparse = table.stats();

    // One more page to gain than the table offers: it never runs.
    let picky = VacuumPolicy::default()
        .interval(INTERVAL)
        .min_reclaimable_pages(sparse.reclaimable_pages() + 1);
    let vacuum = table.spawn_vacuum(picky);
    idle(40).await;
    assert_eq!(vacuum.stop(), VacuumReport::default());
    assert_eq!(table.stats(), sparse);

    // A vacuum that would first look in an hour: dropping its handle ends it now, and so
    // does retuning it to a short interval wake it.
    let hourly = VacuumPolicy::default().interval(Duration::from_secs(3600));
    let dropped = table.spawn_vacuum(hourly.clone());
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(dropped);
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(PATIENCE)
        .expect("dropping the handle of an idle vacuum ends it at once");
    assert_eq!(table.stats(), sparse);

    let vacuum = table.spawn_vacuum(hourly);
    vacuum.set_policy(VacuumPolicy::default().interval(INTERVAL));
    wait_until("the retuned vacuum runs", || {
        table.stats().pages * 2 <= sparse.pages
    })
    .await;
    let total = vacuum.stop();
    assert!(total.rows_moved > 0, "{total:?}");
    assert_eq!(contents(&table), rows);
    table.check_integrity().unwrap();
}
