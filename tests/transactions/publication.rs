//! The publication of a commit, checked at each step: one task commits
//! transactions that set every row of a table to the next value, while
//! readers on other threads, outside any transaction, read the first row
//! written and then the last: once the first shows a transaction's value,
//! the last must too (a reader that saw part of a commit fails). They also
//! read every row at once (`iter`), which must show one value throughout.
//! Planting a bug in the publication (readers without a read point
//! ignoring the history while a transaction publishes) fails this test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Cell {
    #[pk]
    id: u32,
    value: u64,
}

#[derive(Database)]
struct Grid {
    cells: WorkTable<Cell>,
}

const CELLS: u32 = 64;

#[test]
fn no_reader_sees_part_of_a_commit() {
    let commits = if std::env::var_os("WORKTABLE_CAMPAIGN").is_some() {
        20_000
    } else {
        1_500
    };
    let grid = Arc::new(Grid::new());
    futures::executor::block_on(async {
        for id in 0..CELLS {
            grid.cells.insert(Cell { id, value: 0 }).await.unwrap();
        }
    });
    let done = Arc::new(AtomicBool::new(false));
    let (pairs, scans) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let readers: Vec<_> = (0..2)
        .map(|reader| {
            let (grid, done, pairs, scans) = (
                Arc::clone(&grid),
                Arc::clone(&done),
                Arc::clone(&pairs),
                Arc::clone(&scans),
            );
            std::thread::spawn(move || {
                let mut round = 0_u64;
                while !done.load(Ordering::Acquire) {
                    round += 1;
                    if reader == 1 && round.is_multiple_of(16) {
                        let values: Vec<u64> = grid.cells.iter().map(|c| c.value).collect();
                        assert!(
                            values.windows(2).all(|w| w[0] == w[1]),
                            "a scan saw part of a commit: {values:?}"
                        );
                        scans.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let first = grid.cells.get(&0).unwrap().value;
                    let last = grid.cells.get(&(CELLS - 1)).unwrap().value;
                    assert!(
                        last >= first,
                        "row 0 shows commit value {first}, row {} only {last}",
                        CELLS - 1
                    );
                    pairs.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    futures::executor::block_on(async {
        for value in 1..=commits {
            grid.transaction(|tx| async move {
                for id in 0..CELLS {
                    tx.cells.update(Cell { id, value })?;
                }
                Ok::<_, TableError>(())
            })
            .await
            .unwrap();
        }
    });
    done.store(true, Ordering::Release);
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(grid.cells.iter().all(|c| c.value == commits));
    assert!(pairs.load(Ordering::Relaxed) > 0 && scans.load(Ordering::Relaxed) > 0);
    grid.cells.check_integrity().unwrap();
    assert_eq!(grid.cells.stats().versions_held, 0);
}
