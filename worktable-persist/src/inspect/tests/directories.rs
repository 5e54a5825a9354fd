//! Whole directories: the generic view gives the rows their typed
//! recovery gives, `verify` finds damage, `backup` copies, and none of it
//! writes to the directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use worktable_core::prelude::*;

use super::super::{Directory, DirectoryKind, InspectError, SegmentEnd, Value};
use crate::{
    Durability, DurableDatabase, Options, PersistentTable, ReadOnlyDatabase, ReadOnlyTable,
};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Item {
    #[pk]
    id: u32,
    #[index]
    tag: Option<String>,
    sizes: Vec<u16>,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Move {
    #[pk(autoincrement)]
    id: u64,
    item: u32,
    delta: i64,
}

#[derive(Database)]
struct Store {
    items: WorkTable<Item>,
    moves: WorkTable<Move>,
}

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Place {
    shelf: u8,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Stored {
    #[pk]
    id: u32,
    place: Place,
}

fn run<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

fn item(id: u32, tag: Option<&str>, sizes: &[u16]) -> Item {
    Item {
        id,
        tag: tag.map(str::to_owned),
        sizes: sizes.to_vec(),
    }
}

fn item_values(item: &Item) -> Vec<Value> {
    vec![
        Value::UInt(item.id.into()),
        item.tag.clone().map_or(Value::Null, Value::Text),
        Value::List(item.sizes.iter().map(|&s| Value::UInt(s.into())).collect()),
    ]
}

/// A table with a checkpoint and changes in the log after it (the handle
/// is dropped without `close`, so no last checkpoint is taken).
fn table_with_log(dir: &Path) {
    run(async {
        let options = Options::durability(Durability::Sync);
        let items = PersistentTable::<Item>::open(dir, options).expect("opens");
        for id in 0..40u32 {
            let tag = id.is_multiple_of(3).then_some("red");
            items
                .insert(item(id, tag, &[id as u16; 3]))
                .await
                .expect("inserts");
        }
        items.checkpoint().await.expect("checkpoints");
        items
            .insert(item(100, Some("new"), &[]))
            .await
            .expect("inserts");
        items.upsert(item(3, None, &[9])).await.expect("updates");
        items.delete(&4).await.expect("deletes");
        drop(items);
    });
}

/// Every file's name and bytes, to show that nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("lists") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            for (inner, bytes) in snapshot(&path) {
                files.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            files.insert(name, fs::read(&path).expect("reads"));
        }
    }
    files
}

#[test]
fn a_tables_rows_are_the_ones_its_recovery_gives_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    table_with_log(dir.path());
    let before = snapshot(dir.path());

    let found = Directory::open(dir.path()).unwrap();
    assert_eq!(found.kind(), DirectoryKind::Table);
    assert_eq!(found.tables()[0].schema.pk, ["id"]);
    let log = found.log().unwrap();
    assert!(log.iter().map(|s| s.records).sum::<u64>() >= 3);
    let manifest = found.manifest(0).unwrap().expect("a checkpoint");
    assert_eq!(manifest.row_count(), 40);
    let rows = found.rows(0).unwrap();
    let report = found.verify(|_| {});
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.frames >= 1 && report.records >= 3 && report.rows >= 43);

    let typed = ReadOnlyTable::<Item>::open(dir.path()).unwrap();
    let mut expected: Vec<Item> = typed.iter().collect();
    expected.sort_by_key(|item| item.id);
    assert_eq!(
        rows.rows,
        expected.iter().map(item_values).collect::<Vec<_>>()
    );
    assert_eq!(rows.rows.len(), 40, "40 inserted, 1 added, 1 deleted");
    assert_eq!(snapshot(dir.path()), before, "looking wrote nothing");
}

#[test]
fn a_databases_tables_are_read_commit_by_commit() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let options = Options::durability(Durability::Sync);
        let store = DurableDatabase::<Store>::open(dir.path(), options).unwrap();
        store.items.insert(item(1, Some("a"), &[1])).await.unwrap();
        store.checkpoint().await.unwrap();
        store
            .transaction(|tx| async move {
                tx.items.insert(item(2, None, &[2, 2]))?;
                tx.moves.insert(Move {
                    id: 0,
                    item: 2,
                    delta: -5,
                })?;
                Ok::<_, TableError>(())
            })
            .await
            .unwrap();
        drop(store);
    });
    let found = Directory::open(dir.path()).unwrap();
    assert!(matches!(found.kind(), DirectoryKind::Database { .. }));
    let names: Vec<_> = found.tables().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["items", "moves"]);
    let typed = ReadOnlyDatabase::<Store>::open(dir.path()).unwrap();
    let mut items: Vec<Item> = typed.items.iter().collect();
    items.sort_by_key(|item| item.id);
    assert_eq!(
        found.rows(0).unwrap().rows,
        items.iter().map(item_values).collect::<Vec<_>>()
    );
    let moves = found.rows(1).unwrap().rows;
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0][1..], [Value::UInt(2), Value::Int(-5)]);
    assert!(found.verify(|_| {}).problems.is_empty());
}

#[test]
fn verify_names_a_damaged_frame_and_damaged_synced_records() {
    let dir = tempfile::tempdir().unwrap();
    table_with_log(dir.path());
    let found = Directory::open(dir.path()).unwrap();
    let pages = found.tables()[0].page_file_path();
    let mut bytes = fs::read(&pages).unwrap();
    bytes[4096 + 100] ^= 0x40;
    fs::write(&pages, bytes).unwrap();
    let segment = found.segments().last().unwrap().path.clone();
    let mut log = fs::read(&segment).unwrap();
    // Inside the first record after the header: records after it were
    // written once it was synced, so this is damage, not a torn tail.
    log[48 + 20] ^= 0x01;
    fs::write(&segment, log).unwrap();

    let report = Directory::open(dir.path()).unwrap().verify(|_| {});
    let text: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(report.problems.len(), 2, "{text:?}");
    assert!(
        text[0].contains("pages") && text[0].contains("checksum"),
        "{text:?}"
    );
    assert!(text[1].contains("log-"), "{text:?}");
}

#[test]
fn a_torn_tail_is_a_problem_only_when_it_cut_synced_records() {
    let dir = tempfile::tempdir().unwrap();
    table_with_log(dir.path());
    let segment = Directory::open(dir.path())
        .unwrap()
        .segments()
        .last()
        .unwrap()
        .path
        .clone();
    let whole = fs::read(&segment).unwrap();

    // Bytes of a write a crash cut short, after the last synced record:
    // what recovery drops, and not a problem.
    let mut torn = whole.clone();
    torn.extend_from_slice(&[0x2a, 0, 0, 0, 7, 7, 7]);
    fs::write(&segment, &torn).unwrap();
    let found = Directory::open(dir.path()).unwrap();
    let last = found.log().unwrap().pop().unwrap();
    assert!(matches!(last.end, SegmentEnd::TornTail { .. }), "{last:?}");
    let report = found.verify(|_| {});
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // Cutting into the last record, which the metadata says was synced:
    // the log lost an acknowledged change.
    fs::write(&segment, &whole[..whole.len() - 3]).unwrap();
    let report = Directory::open(dir.path()).unwrap().verify(|_| {});
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].detail.contains("synced through"));
}

#[test]
fn rows_of_a_type_the_program_declares_need_that_type() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let table = PersistentTable::<Stored>::open(dir.path(), Options::default()).unwrap();
        table
            .insert(Stored {
                id: 1,
                place: Place { shelf: 2 },
            })
            .await
            .unwrap();
        table.close().await.unwrap();
    });
    let found = Directory::open(dir.path()).unwrap();
    let error = found.rows(0).unwrap_err();
    assert!(
        matches!(&error, InspectError::UnknownType { field, ty, .. } if field == "place" && ty == "Place"),
        "{error}"
    );
    let report = found.verify(|_| {});
    assert!(report.problems.is_empty());
    assert_eq!(report.unread_tables.len(), 1);
    assert!(report.frames >= 1);
}

#[test]
fn a_backup_opens_with_the_same_rows_and_an_open_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    table_with_log(dir.path());
    let copy = tempfile::tempdir().unwrap();
    let target = copy.path().join("copy");
    let summary = Directory::backup(dir.path(), &target).unwrap();
    assert!(summary.files >= 3 && summary.checked.problems.is_empty());
    let original = Directory::open(dir.path()).unwrap().rows(0).unwrap();
    assert_eq!(Directory::open(&target).unwrap().rows(0).unwrap(), original);
    assert_eq!(ReadOnlyTable::<Item>::open(&target).unwrap().len(), 40);

    assert!(matches!(
        Directory::backup(dir.path(), &target),
        Err(InspectError::DestinationNotEmpty { .. })
    ));
    let open = PersistentTable::<Item>::open(dir.path(), Options::default()).unwrap();
    assert!(matches!(
        Directory::backup(dir.path(), copy.path().join("other")),
        Err(InspectError::Busy { .. })
    ));
    drop(open);
}

#[test]
fn a_directory_that_is_not_durable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Directory::open(dir.path()),
        Err(InspectError::NotDurable { .. })
    ));
    assert!(matches!(
        Directory::open(dir.path().join("missing")),
        Err(InspectError::Io { .. })
    ));
}
