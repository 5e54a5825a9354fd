//! Checkpoints: what they write, recovery from them with and without a log
//! after them, checkpoints racing writers and vacuum, a bounded page file,
//! key generators, damaged checkpoint files, and migration.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use worktable_core::VacuumPolicy;
use worktable_core::prelude::*;

use super::{Order, assert_survives_reopen, insert_n, open, order, rows, sync};
use crate::pages::{self, PAGE_FILE_NAME, manifest_name};
use crate::table::files::{parse_manifest_name, parse_segment_name};
use crate::{OpenError, Options, PersistentTable};

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn segments(dir: &Path) -> Vec<u64> {
    file_names(dir)
        .iter()
        .filter_map(|n| parse_segment_name(n))
        .collect()
}

fn manifests(dir: &Path) -> Vec<u64> {
    file_names(dir)
        .iter()
        .filter_map(|n| parse_manifest_name(n))
        .collect()
}

/// No background checkpoints: the tests choose when.
fn manual() -> Options {
    sync()
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

#[tokio::test]
async fn a_checkpoint_moves_the_table_into_the_page_file_and_drops_the_old_log() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    let keys = insert_n(&table, 300).await;
    table.delete(&keys[10]).await.unwrap();
    let report = table.checkpoint().await.unwrap();
    assert_eq!(report.seq, 301);
    assert_eq!(report.rows, 299);
    assert!(report.pages_written >= 1);
    assert_eq!(manifests(dir.path()), [1]);
    assert_eq!(segments(dir.path()), [302]);
    assert!(dir.path().join(PAGE_FILE_NAME).exists());

    // A second checkpoint with nothing changed writes nothing.
    let again = table.checkpoint().await.unwrap();
    assert_eq!((again.seq, again.pages_written), (301, 0));
    assert_eq!(manifests(dir.path()), [1]);

    // Changes after the checkpoint come back from the log.
    table.update_with(&keys[0], |o| o.price = 7).await.unwrap();
    table.delete(&keys[1]).await.unwrap();
    let late = table.insert(order("late", 9, 9, 9)).await.unwrap();
    let expected = rows(&table);
    drop(table);

    let table = open(dir.path(), manual());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    assert_eq!(table.get(&keys[0]).unwrap().price, 7);
    assert_eq!(table.get_by(Order::CLIENT_REF, "late").unwrap().id, late);
    assert_eq!(table.find_by(Order::ACCOUNT, &9).len(), 1);
    assert_survives_reopen(table, dir.path()).await;
}

#[tokio::test]
async fn close_checkpoints_so_the_next_open_replays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    insert_n(&table, 50).await;
    table.close().await.unwrap();
    let segments = segments(dir.path());
    assert_eq!(segments, [51]);
    let bytes = fs::read(dir.path().join(crate::table::files::segment_name(51))).unwrap();
    assert!(crate::log::scan(&bytes).unwrap().records.is_empty());
    let table = open(dir.path(), manual());
    assert_eq!(table.len(), 50);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}

#[tokio::test]
async fn generated_keys_of_deleted_rows_are_not_reused_across_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    let keys = insert_n(&table, 10).await;
    for key in &keys[5..] {
        table.delete(key).await.unwrap();
    }
    // The log holding the inserts of keys 6..=10 is gone after this.
    table.close().await.unwrap();
    let table = open(dir.path(), manual());
    assert_eq!(table.insert(order("next", 0, 0, 0)).await.unwrap(), 11);
    table.delete(&11).await.unwrap();
    table.checkpoint().await.unwrap();
    drop(table);
    let table = open(dir.path(), manual());
    assert_eq!(table.insert(order("after", 0, 0, 0)).await.unwrap(), 12);
    table.close().await.unwrap();
}

/// A tiny deterministic generator for the workloads below.
struct Mix(u64);

impl Mix {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Random inserts, size-changing updates and deletes on the keys
/// `base..base + 200`, applied to `model` too.
async fn churn(table: &WorkTable<Order>, base: u64, seed: u64, ops: usize) -> BTreeMap<u64, Order> {
    let mut mix = Mix(seed);
    let mut model = BTreeMap::new();
    for _ in 0..ops {
        let id = base + mix.next(200);
        let row = Order {
            id,
            client_ref: format!("c{id}-{}", "x".repeat(mix.next(300) as usize)),
            account: mix.next(5) as u32,
            day: mix.next(3) as u16,
            price: mix.next(1000) as i64,
        };
        if mix.next(4) == 0 {
            if table.delete(&id).await.is_ok() {
                model.remove(&id);
            }
        } else {
            table.upsert(row.clone()).await.unwrap();
            model.insert(id, row);
        }
    }
    model
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_vacuum_compacts_a_durable_table_that_reopens_whole() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    let ids = insert_n(&table, 4000).await;
    for id in ids.iter().filter(|id| *id % 5 != 0) {
        table.delete(id).await.unwrap();
    }
    let expected = rows(&table);
    let pages_before = table.stats().pages;
    let vacuum = table.spawn_vacuum(
        VacuumPolicy::default()
            .min_fragmentation(0.0)
            .min_reclaimable_pages(1)
            .interval(std::time::Duration::from_millis(1)),
    );
    // Bounded: the vacuum needs a few steps; ten seconds is far beyond.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while vacuum.progress().rows_moved == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    table.checkpoint().await.unwrap();
    let report = vacuum.stop();
    assert!(report.rows_moved > 0, "the vacuum moved no row: {report:?}");
    assert!(table.stats().pages < pages_before);
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    assert_survives_reopen(table, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_racing_writers_and_vacuum_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = Arc::new(open(dir.path(), manual()));
    // The table's own background vacuum, throughout.
    let vacuum = table.spawn_vacuum(
        VacuumPolicy::default()
            .min_fragmentation(0.0)
            .min_reclaimable_pages(1)
            .max_page_fill(0.7)
            .interval(std::time::Duration::from_millis(2)),
    );
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let table = Arc::clone(&table);
            tokio::spawn(async move { churn(&table, w * 1000 + 1, w + 7, 1500).await })
        })
        .collect();
    let checkpointer = {
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            let mut taken = 0;
            for _ in 0..12 {
                table.checkpoint().await.unwrap();
                taken += 1;
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            taken
        })
    };
    let mut model = BTreeMap::new();
    for writer in writers {
        model.extend(writer.await.unwrap());
    }
    assert_eq!(checkpointer.await.unwrap(), 12);
    vacuum.stop();
    let expected: Vec<Order> = model.into_values().collect();
    assert_eq!(rows(&table), expected);

    // Recover from the last checkpoint plus the log after it (no close).
    let table = Arc::into_inner(table).expect("every task is done");
    drop(table);
    let table = open(dir.path(), manual());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    // And from a checkpoint alone.
    table.close().await.unwrap();
    let table = open(dir.path(), manual());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}

#[tokio::test]
async fn the_page_file_stays_bounded_under_steady_deletes_and_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    let mut mix = Mix(3);
    let mut live: Vec<u64> = insert_n(&table, 2000).await;
    let page_file = dir.path().join(PAGE_FILE_NAME);
    let mut sizes = Vec::new();
    for round in 0..30 {
        for _ in 0..300 {
            let victim = live.swap_remove(mix.next(live.len() as u64) as usize);
            table.delete(&victim).await.unwrap();
            let id = table
                .insert(order(&format!("n{round}-{victim}"), 1, 2, 3))
                .await
                .unwrap();
            live.push(id);
        }
        table.checkpoint().await.unwrap();
        sizes.push(fs::metadata(&page_file).unwrap().len());
    }
    // Never more than twice the table's pages (shadow frames) plus a page.
    let pages = table.stats().pages as u64;
    let bound = pages::frame_offset(2 * pages as u32 + 1);
    assert!(
        sizes.iter().all(|&size| size <= bound),
        "page file sizes {sizes:?} above {bound} for {pages} pages"
    );
    assert_survives_reopen(table, dir.path()).await;
}

#[tokio::test]
async fn damaged_checkpoint_files_are_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    insert_n(&table, 100).await;
    table.close().await.unwrap();
    let manifest = dir.path().join(manifest_name(1));
    let page_file = dir.path().join(PAGE_FILE_NAME);
    let good_manifest = fs::read(&manifest).unwrap();
    let good_pages = fs::read(&page_file).unwrap();

    // A flipped byte in a frame: its checksum fails.
    let mut damaged = good_pages.clone();
    damaged[pages::HEADER_LEN + 100] ^= 1;
    fs::write(&page_file, &damaged).unwrap();
    match PersistentTable::<Order>::open(dir.path(), manual()) {
        Err(OpenError::PageFrame { path, frame: 0, .. }) => assert_eq!(path, page_file),
        other => panic!("expected a bad frame, got {other:?}"),
    }
    // A page file cut short.
    fs::write(&page_file, &good_pages[..good_pages.len() - 10]).unwrap();
    assert!(matches!(
        PersistentTable::<Order>::open(dir.path(), manual()),
        Err(OpenError::PageFrame { .. })
    ));
    fs::write(&page_file, &good_pages).unwrap();

    // A flipped byte in the manifest.
    let mut damaged = good_manifest.clone();
    damaged[20] ^= 0x10;
    fs::write(&manifest, &damaged).unwrap();
    match PersistentTable::<Order>::open(dir.path(), manual()) {
        Err(OpenError::Manifest { path, .. }) => assert_eq!(path, manifest),
        other => panic!("expected a bad manifest, got {other:?}"),
    }
    // A missing manifest, then a missing log segment.
    fs::remove_file(&manifest).unwrap();
    assert!(matches!(
        PersistentTable::<Order>::open(dir.path(), manual()),
        Err(OpenError::ManifestMismatch { .. })
    ));
    fs::write(&manifest, &good_manifest).unwrap();
    let segment = dir.path().join(crate::table::files::segment_name(101));
    let segment_bytes = fs::read(&segment).unwrap();
    fs::remove_file(&segment).unwrap();
    match PersistentTable::<Order>::open(dir.path(), manual()) {
        Err(OpenError::LogMissing { path }) => assert_eq!(path, segment),
        other => panic!("expected a missing segment, got {other:?}"),
    }
    fs::write(&segment, &segment_bytes).unwrap();
    // A deleted metadata file next to the table's files.
    let meta = dir.path().join(crate::meta::FILE_NAME);
    let meta_bytes = fs::read(&meta).unwrap();
    fs::remove_file(&meta).unwrap();
    assert!(matches!(
        PersistentTable::<Order>::open(dir.path(), manual()),
        Err(OpenError::MetaMissing { .. })
    ));
    fs::write(&meta, &meta_bytes).unwrap();

    // Every refused open changed nothing: the table is whole.
    let table = open(dir.path(), manual());
    assert_eq!(table.len(), 100);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "orders")]
struct OrderV3 {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    client_ref: String,
    total: i64,
    note: Option<String>,
}

#[tokio::test]
async fn migration_converts_every_row_once_and_keeps_keys_above_deleted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), manual());
    let keys = insert_n(&table, 40).await;
    table.checkpoint().await.unwrap();
    table.delete(&keys[39]).await.unwrap();
    table.update_with(&keys[0], |o| o.price = 5).await.unwrap();
    // Dropped: the migration reads a checkpoint and a log after it.
    drop(table);

    let mut calls = 0;
    let migrated =
        PersistentTable::<OrderV3>::open_migrating::<Order>(dir.path(), manual(), |old| {
            calls += 1;
            OrderV3 {
                id: old.id,
                client_ref: old.client_ref,
                total: old.price * 2,
                note: None,
            }
        })
        .unwrap();
    // The 39 rows; the deleted key carries over as a key (same key type),
    // no deleted row is converted.
    assert_eq!(calls, 39);
    assert_eq!(migrated.len(), 39);
    assert_eq!(migrated.get(&keys[0]).unwrap().total, 10);
    assert_eq!(
        migrated
            .insert(OrderV3 {
                id: 0,
                client_ref: "new".into(),
                total: 1,
                note: None
            })
            .await
            .unwrap(),
        41
    );
    migrated.check_integrity().unwrap();
    drop(migrated);

    // The old type is refused now; a second migration is a plain open.
    assert!(matches!(
        PersistentTable::<Order>::open(dir.path(), manual()),
        Err(OpenError::SchemaMismatch { .. })
    ));
    let again = PersistentTable::<OrderV3>::open_migrating::<Order>(dir.path(), manual(), |_| {
        panic!("an already migrated table is not converted again")
    })
    .unwrap();
    assert_eq!(again.len(), 40);
    assert_eq!(again.get_by(OrderV3::CLIENT_REF, "new").unwrap().id, 41);
    again.close().await.unwrap();
}

/// A row type with the same key and a long field, migrated to `Order`:
/// rows that shrink.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "orders")]
struct WideOrder {
    #[pk]
    id: u64,
    padding: String,
}

#[tokio::test]
async fn a_migration_to_smaller_rows_keeps_no_old_page_and_deletes_stay_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let wide = (1..=2_000).map(|id| WideOrder {
        id,
        padding: "x".repeat(400),
    });
    let table = PersistentTable::create_loaded(dir.path(), manual(), wide).unwrap();
    let old_pages = table.stats().pages;
    table.close().await.unwrap();
    let migrated =
        PersistentTable::<Order>::open_migrating::<WideOrder>(dir.path(), manual(), |old| Order {
            id: old.id,
            ..order(&format!("r{}", old.id), 1, 1, 1)
        })
        .unwrap();
    let pages = migrated.stats().pages;
    assert!(pages < old_pages);
    // A row deleted after the migration must not come back from a page of
    // the old type.
    migrated.delete(&1_999).await.unwrap();
    migrated.close().await.unwrap();
    let reopened = open(dir.path(), manual());
    assert_eq!(reopened.stats().pages, pages, "no old page reloaded");
    assert_eq!(reopened.len(), 1_999);
    assert!(reopened.get(&1_999).is_none());
    reopened.check_integrity().unwrap();
    reopened.close().await.unwrap();
}

#[tokio::test]
async fn the_background_checkpoint_starts_when_the_log_has_grown() {
    let dir = tempfile::tempdir().unwrap();
    let options = sync()
        .checkpoint_after_log_bytes(4096)
        .checkpoint_interval(None);
    let table = open(dir.path(), options);
    insert_n(&table, 200).await;
    // The thread polls every 50 ms; wait until a checkpoint has completed,
    // which removes the first segment (the bound only keeps a broken
    // trigger from hanging the suite).
    let done = |dir: &Path| !manifests(dir).is_empty() && !segments(dir).contains(&1);
    for _ in 0..400 {
        if done(dir.path()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(done(dir.path()), "no background checkpoint");
    assert!(table.background_checkpoint_error().is_none());
    drop(table);
    let table = open(dir.path(), options);
    assert_eq!(table.len(), 200);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}
