//! A read-only open reads what a durable table wrote and writes nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use worktable_core::prelude::*;

use super::{Order, insert_n, open, order, rows, sync};
use crate::{OpenError, ReadOnlyTable, WriteError};

/// Every file of `dir` (sorted by name) with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// Makes `dir` and its files read-only, or writable again.
fn set_read_only(dir: &Path, read_only: bool) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(read_only);
        fs::set_permissions(&path, permissions).unwrap();
    }
    let mut permissions = fs::metadata(dir).unwrap().permissions();
    permissions.set_readonly(read_only);
    fs::set_permissions(dir, permissions).unwrap();
}

#[tokio::test]
async fn a_read_only_open_sees_the_checkpoint_and_the_log_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 20).await;
    table.checkpoint().await.unwrap();
    // After the checkpoint: changes only the log holds.
    table.update_with(&3, |o| o.price = 7).await.unwrap();
    table.delete(&4).await.unwrap();
    table.insert(order("late", 9, 2, 1)).await.unwrap();
    let expected = rows(&table);
    drop(table);
    // Garbage after the last record: a torn tail, which a writer would cut.
    let segment = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("log-")
        })
        .max()
        .unwrap();
    let mut bytes = fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[0xAB; 21]);
    fs::write(&segment, &bytes).unwrap();

    let before = files(dir.path());
    set_read_only(dir.path(), true);
    let read = ReadOnlyTable::<Order>::open(dir.path());
    set_read_only(dir.path(), false);
    let read = read.unwrap();
    assert_eq!(rows(&read), expected);
    assert_eq!(read.get(&3).unwrap().price, 7);
    assert!(read.get(&4).is_none());
    assert_eq!(read.get_by(Order::CLIENT_REF, "late").unwrap().account, 9);
    read.check_integrity().unwrap();

    let error = read.insert(order("no", 1, 1, 1)).await.unwrap_err();
    let TableError::WriteRefused { source, .. } = &error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert!(
        matches!(
            source.downcast_ref::<WriteError>(),
            Some(WriteError::ReadOnly { .. })
        ),
        "{source}"
    );
    assert!(read.update_with(&3, |o| o.price = 8).await.is_err());
    assert_eq!(read.get(&3).unwrap().price, 7);
    assert_eq!(files(dir.path()), before, "the directory changed");

    // A writer opened afterwards cuts the tail and goes on.
    drop(read);
    let table = open(dir.path(), sync());
    assert_eq!(rows(&table), expected);
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_read_only_open_of_a_directory_without_a_table_creates_none() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        ReadOnlyTable::<Order>::open(dir.path()),
        Err(OpenError::NoTable { .. })
    ));
    assert!(files(dir.path()).is_empty(), "something was written");
    fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    assert!(matches!(
        ReadOnlyTable::<Order>::open(dir.path()),
        Err(OpenError::NotATableDirectory { .. })
    ));
    let missing = dir.path().join("missing");
    assert!(matches!(
        ReadOnlyTable::<Order>::open(&missing),
        Err(OpenError::Io { .. })
    ));
    assert!(!missing.exists());
}

#[tokio::test]
async fn a_read_only_open_beside_a_writer_reads_what_was_synced() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    // No lock is taken: it reads the directory as it is.
    let read = ReadOnlyTable::<Order>::open(dir.path()).unwrap();
    assert_eq!(rows(&read), rows(&table));
    table.close().await.unwrap();
}
