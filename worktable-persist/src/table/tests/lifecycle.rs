//! Who holds a table directory and what it may hold: one open at a time,
//! a close that works through an `Arc`, and no table created among
//! unrelated files.

use std::fs;
use std::sync::Arc;

use worktable_core::prelude::*;

use super::{Order, insert_n, open, order, sync};
use crate::{CheckpointError, OpenError, PersistentTable, WriteError};

#[tokio::test]
async fn a_second_open_is_refused_while_the_table_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    assert!(matches!(
        PersistentTable::<Order>::open(dir.path(), sync()),
        Err(OpenError::AlreadyOpen { .. })
    ));
    table.close().await.unwrap();
    open(dir.path(), sync()).close().await.unwrap();
}

#[tokio::test]
async fn a_table_shared_through_an_arc_closes_and_then_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let table = Arc::new(open(dir.path(), sync()));
    insert_n(&table, 3).await;
    let writer = Arc::clone(&table);
    table.close().await.unwrap();

    let error = writer.insert(order("late", 1, 1, 1)).await.unwrap_err();
    let TableError::WriteRefused { source, .. } = &error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert!(
        matches!(
            source.downcast_ref::<WriteError>(),
            Some(WriteError::Closed { .. })
        ),
        "{source}"
    );
    assert_eq!(writer.len(), 3, "reads keep working");
    assert!(matches!(
        writer.checkpoint().await,
        Err(CheckpointError::Closed { .. })
    ));
    writer.close().await.unwrap();

    // The directory is free while the handles live, and holds the rows.
    let reopened = open(dir.path(), sync());
    assert_eq!(reopened.len(), 3);
    drop((table, writer));
    reopened.insert(order("after", 1, 1, 1)).await.unwrap();
    reopened.close().await.unwrap();
    assert_eq!(open(dir.path(), sync()).len(), 4);
}

#[tokio::test]
async fn a_new_table_is_only_created_where_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    match PersistentTable::<Order>::open(dir.path(), sync()) {
        Err(error @ OpenError::NotATableDirectory { .. }) => {
            let OpenError::NotATableDirectory {
                dir: reported,
                found,
            } = &error
            else {
                unreachable!()
            };
            assert_eq!(
                (reported.as_path(), found.as_str()),
                (dir.path(), "notes.txt")
            );
            assert!(
                error.to_string().contains("not a table directory"),
                "{error}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Nothing was written beside the file, and the lock was released.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "LOCK")
        .collect();
    names.sort();
    assert_eq!(names, ["notes.txt"]);

    // What an interrupted creation leaves is no obstacle.
    fs::remove_file(dir.path().join("notes.txt")).unwrap();
    fs::write(dir.path().join("meta.tmp"), b"half").unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 1).await;
    table.close().await.unwrap();
    assert_eq!(open(dir.path(), sync()).len(), 1);
}
