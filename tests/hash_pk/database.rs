//! A `#[derive(Database)]` of the twins in transactions, and durable tables.

use std::ops::Bound;

use worktable_core::TxTable;
use worktable_core::prelude::*;
use worktable_persist::{Options, PersistentTable};

use super::generated_keys::{Ticket, ids, ticket};
use super::reads::{CheckSpec, answers, check_table, model_answers, same_answers};
use super::snapshots::check_snapshot;
use super::writes::{agree, apply, codes_unique, model_apply, random_op, random_tx_op, tx_apply};
use super::{Bounds, Hashed, Item, Keyed, Model, Variant, items, model_range};
use crate::concurrent::Rng;

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

#[derive(Database)]
struct Shop {
    keyed: WorkTable<Keyed>,
    hashed: WorkTable<Hashed>,
}

/// Every read of a transaction's table agrees with `model`.
fn check_tx<T: Variant>(table: &TxTable<'_, T>, model: &Model, spec: &CheckSpec) {
    let name = std::any::type_name::<T>();
    let all: Vec<Item> = model.values().cloned().collect();
    assert_eq!(items(table.iter()), all, "{name} in a transaction: iter");
    let std_ranges: [Bounds; 4] = [
        (Bound::Included(spec.a), Bound::Excluded(spec.b)),
        (Bound::Excluded(spec.a), Bound::Included(spec.b)),
        (Bound::Unbounded, Bound::Included(spec.a)),
        (Bound::Included(spec.b), Bound::Excluded(spec.a)),
    ];
    for bounds in spec.bounds.iter().chain(&std_ranges) {
        assert_eq!(
            items(table.range(*bounds)),
            model_range(model, bounds),
            "{name} in a transaction: range({bounds:?})"
        );
    }
    for pk in &spec.probes {
        assert_eq!(table.get(pk).map(|row| row.item()).as_ref(), model.get(pk));
    }
    same_answers(
        &format!("{name} in a transaction"),
        &answers(|| table.query(), &spec.query),
        &model_answers(model, &spec.query),
    );
}

#[tokio::test]
async fn transactions_on_a_hash_keyed_table_answer_like_an_ordered_one() {
    let shop = Shop::new();
    let mut model = Model::new();
    let mut rng = Rng::new(0x7e);
    let (mut committed, mut refused, mut dropped) = (0, 0, 0);
    for round in 0..80 {
        // A few writes outside transactions, ranges included.
        for _ in 0..if round == 0 { 150 } else { 3 } {
            let op = random_op(&mut rng);
            let k = apply(&shop.keyed, &op).await;
            let h = apply(&shop.hashed, &op).await;
            let m = model_apply(&mut model, &op, true);
            agree(&(round, &op), k, h, m);
        }
        // The same writes in one transaction on each table, with reads between.
        let (before, then) = (shop.snapshot(), model.clone());
        let (tx_keyed, tx_hashed) = (shop.begin(), shop.begin());
        let mut pending = model.clone();
        for _ in 0..1 + rng.below(6) {
            let op = random_tx_op(&mut rng);
            let k = tx_apply(&tx_keyed.keyed, &op).await;
            let h = tx_apply(&tx_hashed.hashed, &op).await;
            let m = model_apply(&mut pending, &op, false);
            agree(&(round, "in a transaction", &op), k, h, m);
            if rng.below(3) == 0 {
                let spec = CheckSpec::random(&mut rng);
                check_tx(&tx_keyed.keyed, &pending, &spec);
                check_tx(&tx_hashed.hashed, &pending, &spec);
            }
        }
        let spec = CheckSpec::random(&mut rng);
        check_tx(&tx_hashed.hashed, &pending, &spec);
        // Nothing is visible before the commit.
        assert_eq!(
            items(shop.hashed.iter()),
            items(then.values().map(Hashed::from_item))
        );
        if rng.below(5) == 0 {
            drop((tx_keyed, tx_hashed));
            dropped += 1;
        } else {
            let k = tx_keyed
                .commit()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
            let h = tx_hashed
                .commit()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
            assert_eq!(h, k, "round {round}: commits differ");
            if codes_unique(&pending) {
                assert!(h.is_ok(), "round {round}: {h:?}");
                model = pending;
                committed += 1;
            } else {
                assert!(
                    h.as_ref().is_err_and(|e| e.starts_with("DuplicateKey")),
                    "round {round}: {h:?}"
                );
                refused += 1;
            }
        }
        // The snapshot taken before still sees the rows of then.
        check_snapshot(&before.hashed, &then, &mut rng);
        assert_eq!(items(before.keyed.iter()), items(before.hashed.iter()));
        drop(before);
        // The tables of the database read at a point, outside transactions.
        let spec = CheckSpec::random(&mut rng);
        check_table(&shop.hashed, &model, &spec);
        if round % 10 == 0 {
            check_table(&shop.keyed, &model, &spec);
        }
    }
    assert!(
        committed > 30 && dropped > 5,
        "{committed} committed, {dropped} dropped"
    );
    assert!(refused > 0, "no commit met a duplicate code");
}

// ---------------------------------------------------------------------------
// Durable tables
// ---------------------------------------------------------------------------

/// `count` random writes on a durable table and the model.
async fn durable_writes<T: Variant>(
    table: &PersistentTable<T>,
    model: &mut Model,
    rng: &mut Rng,
    count: usize,
) {
    for step in 0..count {
        let op = random_op(rng);
        let got = apply(table, &op).await;
        let want = model_apply(model, &op, true);
        match (&got, &want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{step}: {op:?}"),
            (Err(got), Err(kind)) => assert!(got.starts_with(kind), "{step}: {op:?}: {got}"),
            _ => panic!("{step}: {op:?}: table {got:?}, model {want:?}"),
        }
    }
}

#[tokio::test]
async fn a_durable_hash_keyed_table_comes_back_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let mut rng = Rng::new(0xd15c);
    let mut model = Model::new();

    let table = PersistentTable::<Hashed>::open(dir.path(), options).unwrap();
    durable_writes(&table, &mut model, &mut rng, 400).await;
    table.checkpoint().await.unwrap();
    // After the checkpoint: in the log only; a vacuum on the way.
    durable_writes(&table, &mut model, &mut rng, 200).await;
    table.vacuum();
    durable_writes(&table, &mut model, &mut rng, 50).await;
    check_table(table.table(), &model, &CheckSpec::random(&mut rng));
    assert!(model.len() >= 30, "{} rows", model.len());
    // Dropped without close: the last writes come back from the log.
    drop(table);

    let table = PersistentTable::<Hashed>::open(dir.path(), options).unwrap();
    for _ in 0..3 {
        check_table(table.table(), &model, &CheckSpec::random(&mut rng));
    }
    durable_writes(&table, &mut model, &mut rng, 100).await;
    table.close().await.unwrap();
    drop(table);

    // From the checkpoint `close` took alone.
    let table = PersistentTable::<Hashed>::open(dir.path(), options).unwrap();
    for _ in 0..3 {
        check_table(table.table(), &model, &CheckSpec::random(&mut rng));
    }
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_durable_autoincrement_hash_table_goes_on_after_its_largest_key() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let table = PersistentTable::<Ticket>::open(dir.path(), options).unwrap();
    for n in 0..60u8 {
        assert_eq!(table.insert(ticket(n % 4)).await.unwrap(), u64::from(n) + 1);
    }
    table.checkpoint().await.unwrap();
    assert_eq!(
        ids(table.delete_range(51..).await.unwrap()),
        (51..=60).collect::<Vec<_>>()
    );
    table.delete(&7).await.unwrap();
    drop(table);

    let table = PersistentTable::<Ticket>::open(dir.path(), options).unwrap();
    let kept: Vec<u64> = (1..=50).filter(|&id| id != 7).collect();
    assert_eq!(ids(table.iter()), kept);
    assert_eq!(ids(table.range(5..10).rev()), [9, 8, 6, 5]);
    assert_eq!(
        table.insert(ticket(0)).await.unwrap(),
        61,
        "no key is given twice"
    );
    table.check_integrity().unwrap();
    table.close().await.unwrap();
    drop(table);

    let table = PersistentTable::<Ticket>::open(dir.path(), options).unwrap();
    assert_eq!(ids(table.range(49..)), [49, 50, 61]);
    assert_eq!(table.insert(ticket(0)).await.unwrap(), 62);
    table.close().await.unwrap();
}
