//! Vacuum, and snapshots that stand still while a writer runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use worktable_core::TableSnapshot;
use worktable_core::prelude::*;

use super::reads::{CheckSpec, QuerySpec, answers, check_table, model_answers, same_answers};
use super::{
    GROUPS, Hashed, Item, Model, PKS, Variant, items, model_range, random_bounds, random_item,
    reversed,
};
use crate::concurrent::Rng;

// ---------------------------------------------------------------------------
// Vacuum
// ---------------------------------------------------------------------------

#[tokio::test]
async fn vacuum_moves_the_rows_of_a_hash_keyed_table_and_keeps_their_order() {
    const ROWS: u32 = 3_000;
    let table = WorkTable::<Hashed>::new();
    let mut model = Model::new();
    for i in 0..ROWS {
        // 7919 is coprime with ROWS: every key once, scrambled.
        let id = i * 7919 % ROWS;
        let item = Item {
            id,
            group: (id % GROUPS) as u8,
            code: format!("v{id}"),
            score: i64::from(id % 17),
            note: "y".repeat(300),
        };
        table.insert(Hashed::from_item(&item)).await.unwrap();
        model.insert(id, item);
    }
    // Keep one row in ten, by ranges and by single deletes.
    for start in (0..ROWS).step_by(100) {
        let gone = table.delete_range(start + 1..start + 50).await.unwrap();
        assert_eq!(gone.len(), 49);
        for id in (start + 50..start + 100).filter(|id| id % 10 != 0) {
            table.delete(&id).await.unwrap();
        }
    }
    model.retain(|id, _| id % 100 == 0 || (id % 100 >= 50 && id % 10 == 0));
    let before = table.stats().pages;
    let report = table.vacuum();
    assert!(
        report.rows_moved > 0 && report.pages_after < before,
        "{report:?}"
    );
    let mut rng = Rng::new(3);
    // Keys now reach past PKS: spread the checks over them.
    for _ in 0..3 {
        let a = rng.below(ROWS);
        let spec = CheckSpec {
            a,
            b: a + rng.below(400),
            ..CheckSpec::random(&mut rng)
        };
        check_table(&table, &model, &spec);
    }
    // Writes after the vacuum.
    for id in (ROWS..ROWS + 50).rev() {
        let item = Item {
            id,
            group: 0,
            code: format!("v{id}"),
            score: 0,
            note: String::new(),
        };
        table.insert(Hashed::from_item(&item)).await.unwrap();
        model.insert(id, item);
    }
    assert_eq!(
        table
            .update_range(ROWS - 500.., Hashed::shift)
            .await
            .unwrap(),
        model.range(ROWS - 500..).count()
    );
    for (_, item) in model.range_mut(ROWS - 500..) {
        item.shift();
    }
    check_table(&table, &model, &CheckSpec::random(&mut rng));
}

// ---------------------------------------------------------------------------
// Snapshots while a writer runs
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Write {
    Insert(Item),
    Update(Item),
    Delete(u32),
}

/// An item with a code never used before.
fn fresh_item(rng: &mut Rng, id: u32, serial: &mut u32) -> Item {
    *serial += 1;
    Item {
        code: format!("u{serial}"),
        ..random_item(rng, id)
    }
}

fn replay(model: &mut Model, write: &Write) {
    match write {
        Write::Insert(item) | Write::Update(item) => {
            model.insert(item.id, item.clone());
        }
        Write::Delete(pk) => {
            model.remove(pk);
        }
    }
}

/// `count` writes that each succeed on a table holding `initial`.
fn planned_writes(rng: &mut Rng, initial: &Model, count: usize) -> Vec<Write> {
    let mut state = initial.clone();
    let mut serial = 0;
    (0..count)
        .map(|_| {
            let pk = rng.below(PKS);
            let write = match (state.contains_key(&pk), rng.below(3)) {
                (false, _) => Write::Insert(fresh_item(rng, pk, &mut serial)),
                (true, 0) => Write::Update(fresh_item(rng, pk, &mut serial)),
                (true, _) => Write::Delete(pk),
            };
            replay(&mut state, &write);
            write
        })
        .collect()
}

/// Every read of `snap` agrees with `model`.
pub(super) fn check_snapshot(snap: &TableSnapshot<'_, Hashed>, model: &Model, rng: &mut Rng) {
    let at = snap.commit();
    let all: Vec<Item> = model.values().cloned().collect();
    assert_eq!(snap.len(), all.len(), "snapshot at {at}: len");
    assert_eq!(items(snap.iter()), all, "snapshot at {at}: iter");
    assert_eq!(
        items(snap.iter().rev()),
        reversed(all),
        "snapshot at {at}: iter().rev()"
    );
    for _ in 0..4 {
        let bounds = random_bounds(rng);
        let want = model_range(model, &bounds);
        assert_eq!(
            items(snap.range(bounds)),
            want,
            "snapshot at {at}: range({bounds:?})"
        );
        assert_eq!(
            items(snap.range(bounds).rev()),
            reversed(want),
            "snapshot at {at}: range({bounds:?}).rev()"
        );
        let pk = rng.below(PKS);
        assert_eq!(snap.get(&pk).map(|row| row.item()).as_ref(), model.get(&pk));
    }
    let q = QuerySpec::random(rng);
    same_answers(
        &format!("snapshot at {at}"),
        &answers(|| snap.query(), &q),
        &model_answers(model, &q),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_a_hash_keyed_table_stand_still_while_a_writer_runs() {
    const WRITES: usize = 1_500;
    /// The writer waits for a new snapshot after each block of writes.
    const BLOCK: usize = 150;
    let mut rng = Rng::new(0x5a);
    let mut serial = 1_000_000;
    let initial: Model = (0..PKS)
        .filter(|id| id % 3 != 0)
        .map(|id| (id, fresh_item(&mut rng, id, &mut serial)))
        .collect();
    let table = Arc::new(
        WorkTable::<Hashed>::from_rows(initial.values().rev().map(Hashed::from_item)).unwrap(),
    );
    let writes = Arc::new(planned_writes(&mut rng, &initial, WRITES));
    let base = table.last_seq();
    let first = table.snapshot();
    assert_eq!(first.commit(), base);

    let taken = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn({
        let (table, writes, taken) = (Arc::clone(&table), Arc::clone(&writes), Arc::clone(&taken));
        async move {
            for (i, write) in writes.iter().enumerate() {
                if i % BLOCK == 0 {
                    while taken.load(Ordering::Acquire) <= i / BLOCK {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                match write {
                    Write::Insert(item) => {
                        table.insert(Hashed::from_item(item)).await.unwrap();
                    }
                    Write::Update(item) => {
                        table.update(Hashed::from_item(item)).await.unwrap();
                    }
                    Write::Delete(pk) => {
                        table.delete(pk).await.unwrap();
                    }
                }
            }
        }
    });
    let mut points = Vec::new();
    loop {
        let done = writer.is_finished();
        // One snapshot between two blocks of writes (the writer waits for it),
        // and one some writes into the next block (or after a while).
        let gate = table.snapshot();
        taken.fetch_add(1, Ordering::Release);
        let target = gate.commit() + 1 + u64::from(rng.below(BLOCK as u32 - 1));
        let since = Instant::now();
        while table.last_seq() < target
            && !writer.is_finished()
            && since.elapsed() < Duration::from_millis(50)
        {
            std::thread::yield_now();
        }
        let inside = table.snapshot();
        // Read both while the writer goes on.
        for snap in [&gate, &inside] {
            let at = snap.commit();
            let mut expected = initial.clone();
            for write in &writes[..(at - base) as usize] {
                replay(&mut expected, write);
            }
            check_snapshot(snap, &expected, &mut rng);
            points.push(at);
        }
        if points.len() % 3 == 0 {
            check_snapshot(&first, &initial, &mut rng);
        }
        if done {
            break;
        }
    }
    writer.await.unwrap();
    assert_eq!(
        table.last_seq(),
        base + WRITES as u64,
        "one commit per write"
    );
    assert!(points.len() > 2 * WRITES / BLOCK, "{points:?}");
    assert!(points.is_sorted());

    // The first snapshot survives a vacuum of the rows it still sees.
    table.vacuum();
    check_snapshot(&first, &initial, &mut rng);
    drop(first);
    let mut last = initial.clone();
    for write in writes.iter() {
        replay(&mut last, write);
    }
    check_table(&*table, &last, &CheckSpec::random(&mut rng));
}
