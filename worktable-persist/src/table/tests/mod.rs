//! Tests of the durable table: round trips through the log, recovery from a
//! torn tail, typed errors for damaged or foreign files, group commit; and
//! in [`checkpoints`], checkpoints, recovery from them and migration.

mod checkpoints;
mod confirmed;
mod lifecycle;
mod load;
mod read_only;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use worktable_core::prelude::*;

use super::{Durability, OpenError, Options, PersistentTable, SchemaDifference, segment_name};
use crate::file_error::{FileError, LogFault};
use crate::format::ArchiveFormat;
use crate::log::{self, RecordKind, encode_record};
use crate::meta::{self, Meta, StoredSchema};
use crate::vfs::RealFs;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "orders", index(name = "by_account_day", fields(account, day)))]
pub(super) struct Order {
    #[pk(autoincrement)]
    pub(super) id: u64,
    #[index(unique)]
    pub(super) client_ref: String,
    #[index]
    pub(super) account: u32,
    pub(super) day: u16,
    pub(super) price: i64,
}

/// The same table name with one more field: another schema.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "orders")]
struct OrderV2 {
    #[pk(autoincrement)]
    id: u64,
    client_ref: String,
    account: u32,
    day: u32,
    price: i64,
    note: String,
}

pub(super) fn order(client_ref: &str, account: u32, day: u16, price: i64) -> Order {
    Order {
        id: 0,
        client_ref: client_ref.to_owned(),
        account,
        day,
        price,
    }
}

pub(super) fn sync() -> Options {
    Options::durability(Durability::Sync)
}

pub(super) fn open(dir: &Path, options: Options) -> PersistentTable<Order> {
    PersistentTable::<Order>::open(dir, options).expect("open")
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join(segment_name(1))
}

/// Cuts the last `by` bytes off the first log segment (tearing its last
/// record); returns the segment's path and its new length.
fn cut_log_end(dir: &Path, by: u64) -> (PathBuf, u64) {
    let path = log_path(dir);
    let len = fs::metadata(&path).unwrap().len() - by;
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len).unwrap();
    (path, len)
}

/// Puts the metadata file back as a killed process leaves it: a drop
/// records how far the log was synced, a kill does not.
fn as_if_killed(dir: &Path) {
    let mut stored = meta::read(&crate::vfs::RealFs, dir, meta::FILE_NAME).unwrap();
    stored.log_synced_through = stored.checkpoint_seq;
    let bytes = meta::encode(&stored).unwrap();
    meta::write_atomically(&crate::vfs::RealFs, dir, meta::FILE_NAME, &bytes).unwrap();
}

pub(super) fn rows(table: &WorkTable<Order>) -> Vec<Order> {
    table.iter().collect()
}

/// Closes `table`, reopens its directory and checks that it holds the same
/// rows, with consistent indexes.
pub(super) async fn assert_survives_reopen(table: PersistentTable<Order>, dir: &Path) {
    let expected = rows(&table);
    table.close().await.unwrap();
    let table = open(dir, sync());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}

/// Inserts `n` orders `r0..` under `table`, returning their keys.
pub(super) async fn insert_n(table: &WorkTable<Order>, n: u32) -> Vec<u64> {
    let mut keys = Vec::new();
    for i in 0..n {
        let pk = table
            .insert(order(&format!("r{i}"), i % 3, 1, 100))
            .await
            .expect("insert");
        keys.push(pk);
    }
    keys
}

#[tokio::test]
async fn every_write_survives_close_and_reopen_with_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    let a = table.insert(order("a", 1, 10, 100)).await.unwrap();
    let b = table.insert(order("b", 1, 11, 200)).await.unwrap();
    let c = table.insert(order("c", 2, 10, 300)).await.unwrap();
    let mut changed = table.get(&b).unwrap();
    changed.account = 2;
    changed.client_ref = "b2".to_owned();
    table.update(changed).await.unwrap();
    let mut replaced = table.get(&a).unwrap();
    replaced.price = 111;
    assert!(table.upsert(replaced).await.unwrap().is_some());
    let fresh = Order {
        id: 40,
        ..order("d", 3, 12, 400)
    };
    assert!(table.upsert(fresh).await.unwrap().is_none());
    table.delete(&c).await.unwrap();
    table
        .update_with(&40, |row| {
            row.account = 1;
            row.day = 13;
        })
        .await
        .unwrap();
    let expected = rows(&table);
    assert_eq!(expected.len(), 3);
    table.close().await.unwrap();

    let table = open(dir.path(), sync());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    assert_eq!(table.get_by(Order::CLIENT_REF, "b2").unwrap().id, b);
    assert!(table.get_by(Order::CLIENT_REF, "b").is_none());
    assert!(table.get_by(Order::CLIENT_REF, "c").is_none());
    let account_1: Vec<u64> = table
        .find_by(Order::ACCOUNT, &1)
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(account_1, [a, 40]);
    let by_day: Vec<u64> = table
        .prefix_by(Order::BY_ACCOUNT_DAY, 1u32)
        .map(|r| r.id)
        .collect();
    assert_eq!(by_day, [a, 40]);
    assert_eq!(table.get(&a).unwrap().price, 111);

    // Writes after a reopen are logged too.
    table.delete(&a).await.unwrap();
    assert_survives_reopen(table, dir.path()).await;
}

#[tokio::test]
async fn autoincrement_keys_are_not_reused_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    let keys = insert_n(&table, 3).await;
    assert_eq!(keys, [1, 2, 3]);
    // The highest key is deleted: only the log remembers it was used.
    table.delete(&3).await.unwrap();
    table.close().await.unwrap();

    let table = open(dir.path(), sync());
    let next = table.insert(order("new", 0, 1, 1)).await.unwrap();
    assert_eq!(next, 4);
    table.close().await.unwrap();
}

/// 8 tasks write their own rows concurrently under `Sync`; returns the
/// model of what the table must hold and the table's log counters.
async fn concurrent_writers(dir: &Path) -> (BTreeMap<u64, Order>, super::LogStats) {
    const TASKS: u32 = 8;
    const ROUNDS: u32 = 20;
    let table = Arc::new(open(dir, sync()));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let table = Arc::clone(&table);
        tasks.push(tokio::spawn(async move {
            let mut model = BTreeMap::new();
            for round in 0..ROUNDS {
                let row = order(&format!("t{task}-{round}"), task, round as u16, 1);
                let pk = table.insert(row.clone()).await.unwrap();
                model.insert(pk, Order { id: pk, ..row });
                if round % 4 == 3 {
                    let price = table
                        .update_with(&pk, |row| {
                            row.price += 10;
                            row.price
                        })
                        .await
                        .unwrap();
                    model.get_mut(&pk).unwrap().price = price;
                }
                if round % 5 == 4 {
                    table.delete(&pk).await.unwrap();
                    model.remove(&pk);
                }
            }
            model
        }));
    }
    let mut model = BTreeMap::new();
    for task in tasks {
        model.extend(task.await.unwrap());
    }
    let table = Arc::into_inner(table).expect("every task is done");
    let in_memory: BTreeMap<u64, Order> = table.iter().map(|r| (r.id, r)).collect();
    assert_eq!(in_memory, model);
    let stats = table.log_stats();
    table.close().await.unwrap();
    (model, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sync_writers_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (model, stats) = concurrent_writers(dir.path()).await;
    // 8 × 20 inserts, 8 × 5 updates, 8 × 4 deletes.
    assert_eq!(stats.records, 160 + 40 + 32);

    let table = open(dir.path(), sync());
    let reopened: BTreeMap<u64, Order> = table.iter().map(|r| (r.id, r)).collect();
    assert_eq!(reopened, model);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sync_writers_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stats) = concurrent_writers(dir.path()).await;
    // Group commit: every write waited for a sync, and syncs were shared.
    assert!(
        stats.syncs < stats.records,
        "{} syncs for {} records",
        stats.syncs,
        stats.records
    );
}

#[tokio::test]
async fn acknowledged_sync_writes_are_in_the_file_before_drop() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    table.delete(&2).await.unwrap();
    let expected = rows(&table);
    // Every acknowledged write is already in the file (and synced).
    let bytes = fs::read(log_path(dir.path())).unwrap();
    assert_eq!(log::scan(&bytes).unwrap().records.len(), 6);
    drop(table);

    let table = open(dir.path(), sync());
    assert_eq!(rows(&table), expected);
    table.close().await.unwrap();
}

#[tokio::test]
async fn periodic_and_none_write_at_flush_and_drop_flushes_the_buffer() {
    for durability in [
        Durability::Periodic(Duration::from_secs(3600)),
        Durability::Periodic(Duration::MAX),
        Durability::None,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let table = open(dir.path(), Options::durability(durability));
        insert_n(&table, 4).await;
        let expected = rows(&table);
        if durability != Durability::None {
            // Nothing reaches the file before the first flush, an hour or
            // more away.
            let bytes = fs::read(log_path(dir.path())).unwrap();
            assert_eq!(bytes.len(), log::HEADER_LEN);
        }
        drop(table);

        let table = open(dir.path(), Options::durability(durability));
        assert_eq!(rows(&table), expected, "{durability:?}");
        table.close().await.unwrap();
    }
}

#[tokio::test]
async fn periodic_durability_syncs_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(
        dir.path(),
        Options::durability(Durability::Periodic(Duration::from_millis(5))),
    );
    insert_n(&table, 3).await;
    // Wait (without a deadline on the outcome) until a periodic flush ran.
    while table.log_stats().syncs == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bytes = fs::read(log_path(dir.path())).unwrap();
    assert_eq!(log::scan(&bytes).unwrap().records.len(), 3);
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_torn_tail_is_cut_off_and_writing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    // Killed: no checkpoint, the log keeps every record.
    drop(table);
    as_if_killed(dir.path());

    let (path, _) = cut_log_end(dir.path(), 3);

    let table = open(dir.path(), sync());
    let ids: Vec<u64> = rows(&table).iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    // The torn record is gone from the file, not only from memory.
    let bytes = fs::read(&path).unwrap();
    let scanned = log::scan(&bytes).unwrap();
    assert_eq!(scanned.tail.end, log::End::Clean);
    assert_eq!(scanned.records.len(), 4);

    // Key 5's record was torn off, so the key is free again.
    assert_eq!(table.insert(order("again", 0, 1, 1)).await.unwrap(), 5);
    table.insert(order("more", 0, 1, 1)).await.unwrap();
    assert_survives_reopen(table, dir.path()).await;
}

#[tokio::test]
async fn a_log_cut_short_below_its_recorded_sync_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    // Dropped: the metadata file records that the log was synced through 5.
    drop(table);
    let (path, len) = cut_log_end(dir.path(), 3);

    match PersistentTable::<Order>::open(dir.path(), sync()) {
        Err(
            error @ OpenError::LogTruncated {
                ends_at: 4,
                synced_through: 5,
                ..
            },
        ) => assert!(
            error.to_string().contains("synced records were lost"),
            "{error}"
        ),
        other => panic!("expected LogTruncated, got {other:?}"),
    }
    // Refused, nothing was cut: the file is as the test left it.
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
}

/// The documented limit: after a kill, nothing records that the records
/// appended since the last checkpoint were synced, so a log cut cleanly
/// between two of them looks like a torn tail and loses the rest silently.
#[tokio::test]
async fn after_a_kill_a_log_cut_between_records_loses_its_end_without_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    drop(table);
    as_if_killed(dir.path());
    let path = log_path(dir.path());
    let bytes = fs::read(&path).unwrap();
    let fifth = log::scan(&bytes).unwrap().records[4].offset;
    fs::write(&path, &bytes[..fifth]).unwrap();

    let table = open(dir.path(), sync());
    assert_eq!(table.len(), 4);
    assert_eq!(table.last_seq(), 4);
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_damaged_synced_record_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    // Dropped, not closed: no checkpoint, the log keeps every record.
    drop(table);

    let path = log_path(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    let offset = log::scan(&bytes).unwrap().records[1].offset;
    bytes[offset + log::FRAME_LEN + log::BODY_HEADER_LEN + 2] ^= 0x40;
    fs::write(&path, &bytes).unwrap();

    match PersistentTable::<Order>::open(dir.path(), sync()) {
        Err(OpenError::Log {
            path: reported,
            source: FileError::Log(LogFault::Corrupt { offset: at, .. }),
        }) => {
            assert_eq!(reported, path);
            assert_eq!(at, offset);
        }
        other => panic!("expected a corrupt log, got {other:?}"),
    }
    // Nothing was changed by the failed open.
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn a_record_whose_image_is_not_a_row_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 2).await;
    // Dropped, not closed: no checkpoint, the log keeps every record.
    drop(table);

    let path = log_path(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    let scanned = log::scan(&bytes).unwrap();
    let (header, next) = (scanned.header, scanned.tail.next_seq.unwrap());
    encode_record(
        &mut bytes,
        &header,
        next,
        next,
        RecordKind::Insert,
        &[],
        &[0xff; 3],
    )
    .unwrap();
    fs::write(&path, &bytes).unwrap();

    match PersistentTable::<Order>::open(dir.path(), sync()) {
        Err(OpenError::Restore {
            path: reported,
            source: worktable_core::storage::RestoreError::BadImage { .. },
        }) => assert_eq!(reported, path),
        other => panic!("expected a bad row, got {other:?}"),
    }
}

#[tokio::test]
async fn another_row_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 1).await;
    table.close().await.unwrap();

    match PersistentTable::<OrderV2>::open(dir.path(), sync()) {
        Err(error) => {
            let message = error.to_string();
            let OpenError::SchemaMismatch {
                path,
                table,
                differences,
                stored,
                expected,
            } = error
            else {
                panic!("expected a schema mismatch, got {error:?}");
            };
            assert_eq!(path, dir.path().join(meta::FILE_NAME));
            assert_eq!(table, "orders");
            assert_eq!(stored, Order::SCHEMA_FINGERPRINT);
            assert_eq!(expected, OrderV2::SCHEMA_FINGERPRINT);
            // What differs, from the schema the metadata file describes:
            // a changed type, an added field, and (for information) the
            // indexes the new type dropped.
            assert_eq!(
                differences[..],
                [
                    SchemaDifference::FieldType {
                        name: "day".into(),
                        stored: "u16".into(),
                        current: "u32".into(),
                    },
                    SchemaDifference::FieldAdded {
                        name: "note".into(),
                        ty: "String".into(),
                    },
                    SchemaDifference::IndexRemoved {
                        name: "client_ref".into(),
                    },
                    SchemaDifference::IndexRemoved {
                        name: "account".into(),
                    },
                    SchemaDifference::IndexRemoved {
                        name: "by_account_day".into(),
                    },
                ]
            );
            for expected in [
                "table `orders`",
                "field `day` changed type from `u16` to `u32`",
                "field `note: String` added",
                "open_migrating",
            ] {
                assert!(message.contains(expected), "{expected:?} in {message}");
            }
        }
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
    // The refused open changed nothing.
    let table = open(dir.path(), sync());
    assert_eq!(table.len(), 1);
    table.close().await.unwrap();
}

#[tokio::test]
async fn metadata_naming_another_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let stored = Meta {
        archive_format: ArchiveFormat::current(),
        schema_fingerprint: Order::SCHEMA_FINGERPRINT,
        table_name: "invoices".to_owned(),
        checkpoint_seq: 0,
        page_file_generation: 0,
        log_synced_through: 0,
        largest_deleted_key: Vec::new(),
        schema: StoredSchema::default(),
    };
    meta::write_atomically(
        &RealFs,
        dir.path(),
        meta::FILE_NAME,
        &meta::encode(&stored).unwrap(),
    )
    .unwrap();
    match PersistentTable::<Order>::open(dir.path(), sync()) {
        Err(OpenError::TableNameMismatch {
            stored, expected, ..
        }) => {
            assert_eq!(stored, "invoices");
            assert_eq!(expected, "orders");
        }
        other => panic!("expected a table name mismatch, got {other:?}"),
    }
}
