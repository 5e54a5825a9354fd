//! Every column type and every kind of index survive a durable table: rows
//! written before a checkpoint come back from the page file, rows written
//! after it from the log, and both after a clean close.

use worktable_core::prelude::*;
use worktable_persist::{Options, PersistentTable};

use crate::column_types::{Everything, ROWS, Status, everything};

/// Checks every row against `expected`, every index against the rows, and
/// the unique look-ups of each row.
fn check(table: &WorkTable<Everything>, expected: &[Everything]) {
    assert_eq!(table.iter().collect::<Vec<_>>(), expected);
    table.check_integrity().unwrap();
    for row in expected {
        assert_eq!(
            table.get_by(Everything::EXTERNAL, &row.external).as_ref(),
            Some(row)
        );
        assert_eq!(
            table.get_by(Everything::NAME, row.name.as_str()).as_ref(),
            Some(row)
        );
        assert!(table.find_by(Everything::STATUS, &row.status).contains(row));
        assert!(table.find_by(Everything::SCORE, &row.score).contains(row));
        assert!(table.find_by(Everything::MAYBE, &row.maybe).contains(row));
        assert!(table.find_by(Everything::A_U128, &row.a_u128).contains(row));
        assert!(
            table
                .find_by(Everything::AN_I128, &row.an_i128)
                .contains(row)
        );
        assert!(table.find_by(Everything::LETTER, &row.letter).contains(row));
        assert!(table.find_by(Everything::DIGEST, &row.digest).contains(row));
        assert!(
            table
                .find_by(Everything::SCORE32, &row.score32)
                .contains(row)
        );
        assert!(table.find_by(Everything::PATH, &row.path).contains(row));
    }
}

#[tokio::test]
async fn every_column_type_survives_checkpoint_log_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let table = PersistentTable::<Everything>::open(dir.path(), options).unwrap();
    for n in 0..ROWS - 1 {
        table.insert(everything(n)).await.unwrap();
    }
    table.checkpoint().await.unwrap();
    // After the checkpoint: an insert, an update of indexed columns, a
    // delete and a re-insert with other values.
    table.insert(everything(ROWS - 1)).await.unwrap();
    let mut changed = everything(2);
    changed.name = "renamed".into();
    changed.maybe = None;
    changed.status = Status::Closed("after the checkpoint".into());
    table.update(changed).await.unwrap();
    let gone = everything(3);
    table.delete(&gone.id).await.unwrap();
    let mut back = gone.clone();
    back.path = vec![9, 9, 9];
    back.list = (0..500).collect();
    table.insert(back).await.unwrap();
    let expected: Vec<Everything> = table.iter().collect();
    assert_eq!(expected.len(), usize::from(ROWS));
    // Dropped without close: the last changes come back from the log.
    drop(table);

    let table = PersistentTable::<Everything>::open(dir.path(), options).unwrap();
    check(&table, &expected);
    table.close().await.unwrap();

    // From the checkpoint `close` took alone.
    let table = PersistentTable::<Everything>::open(dir.path(), options).unwrap();
    check(&table, &expected);
    table.close().await.unwrap();
}
