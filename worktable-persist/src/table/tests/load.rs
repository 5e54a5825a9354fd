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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_load_into_an_open_table_is_one_skip_record_and_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let table = std::sync::Arc::new(open(dir.path(), sync()));
    for i in 0..3 {
        table
            .insert(order(&format!("before-{i}"), 1, 1, 1))
            .await
            .unwrap();
    }
    let writer = {
        let table = table.clone();
        tokio::spawn(async move {
            let mut refused = 0;
            for i in 0..200 {
                match table.insert(order(&format!("during-{i}"), 2, 2, 2)).await {
                    Ok(_) => {}
                    Err(worktable_core::TableError::WriteRefused { source, .. }) => {
                        assert!(matches!(
                            source.downcast_ref::<crate::WriteError>(),
                            Some(crate::WriteError::BulkLoad { .. })
                        ));
                        refused += 1;
                    }
                    Err(other) => panic!("{other}"),
                }
                tokio::task::yield_now().await;
            }
            refused
        })
    };
    let report = table
        .bulk_load((0..20_000u32).map(|i| order(&format!("loaded-{i}"), i % 9, 3, 3)))
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(report.rows, 20_000);
    assert!(table.find_by(Order::ACCOUNT, &4).len() >= 2_222);
    let expected = rows(&table);
    let table = std::sync::Arc::into_inner(table).unwrap();
    drop(table);
    let table = open(dir.path(), sync());
    assert_eq!(rows(&table), expected);
    table.check_integrity().unwrap();
    // Keys go on above the loaded ones.
    let next = table.insert(order("after", 1, 1, 1)).await.unwrap();
    assert!(next > 20_003);
    table.close().await.unwrap();
}
