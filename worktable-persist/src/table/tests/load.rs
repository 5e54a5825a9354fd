//! Bulk load of a durable table: `create_loaded`.

use super::{Order, open, order, rows, sync};
use crate::database::LoadError;
use crate::table::PersistentTable;

fn loaded(n: u64) -> impl Iterator<Item = Order> {
    (1..=n).map(|id| Order {
        id,
        ..order(
            &format!("ref-{id}"),
            (id % 9) as u32,
            (id % 30) as u16,
            id as i64,
        )
    })
}

#[tokio::test]
async fn a_loaded_table_reopens_whole_and_generates_keys_above_it() {
    let dir = tempfile::tempdir().unwrap();
    let table = PersistentTable::create_loaded(dir.path(), sync(), loaded(5_000)).unwrap();
    assert_eq!(table.len(), 5_000);
    table.check_integrity().unwrap();
    let next = table.insert(order("new", 1, 1, 1)).await.unwrap();
    assert_eq!(next, 5_001);
    let expected = rows(&table);
    drop(table);
    let table = open(dir.path(), sync());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    table.close().await.unwrap();
    assert!(matches!(
        PersistentTable::create_loaded(dir.path(), sync(), loaded(1)),
        Err(LoadError::Exists { .. })
    ));
}

#[tokio::test]
async fn a_duplicate_key_fails_the_load_and_leaves_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let twice = loaded(10).chain(loaded(1));
    assert!(matches!(
        PersistentTable::create_loaded(dir.path(), sync(), twice),
        Err(LoadError::Rejected {
            table: "orders",
            ..
        })
    ));
    let table = open(dir.path(), sync());
    assert!(table.is_empty());
    table.close().await.unwrap();
}
