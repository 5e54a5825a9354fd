//! The twins under one random sequence, and the ranges of the smallest tables.

use worktable_core::prelude::*;

use super::reads::{CheckSpec, check_table};
use super::writes::{agree, apply, model_apply, random_op};
use super::{Hashed, Item, Keyed, Model, Variant, items, random_item};
use crate::concurrent::Rng;

/// Writes of the random sequence.
const STEPS: usize = 3_000;
/// Full comparisons every this many steps.
const CHECK_EVERY: usize = 20;
/// Vacuum both tables every this many steps.
const VACUUM_EVERY: usize = 500;

#[tokio::test]
async fn a_hash_primary_key_answers_like_an_ordered_one() {
    let keyed = WorkTable::<Keyed>::new();
    let hashed = WorkTable::<Hashed>::new();
    let mut model = Model::new();
    let mut rng = Rng::new(0x4a5b);
    let (mut largest, mut failed) = (0, 0);
    for step in 0..STEPS {
        let op = random_op(&mut rng);
        let k = apply(&keyed, &op).await;
        let h = apply(&hashed, &op).await;
        failed += usize::from(h.is_err());
        let m = model_apply(&mut model, &op, true);
        agree(&(step, &op), k, h, m);
        assert_eq!(hashed.len(), model.len(), "step {step}: len");
        largest = largest.max(model.len());
        if step % CHECK_EVERY == 0 {
            let spec = CheckSpec::random(&mut rng);
            check_table(&keyed, &model, &spec);
            check_table(&hashed, &model, &spec);
        }
        if step % VACUUM_EVERY == VACUUM_EVERY - 1 {
            keyed.vacuum();
            hashed.vacuum();
            let spec = CheckSpec::random(&mut rng);
            check_table(&keyed, &model, &spec);
            check_table(&hashed, &model, &spec);
        }
    }
    // The sequence was not trivial: the table grew and writes failed too.
    assert!(largest >= 60, "largest table: {largest} rows");
    assert!(failed >= STEPS / 10, "{failed} failed writes");

    // The final rows, loaded at once in scrambled order.
    let mut rows: Vec<Item> = model.values().cloned().collect();
    rows.sort_by_key(|item| item.id.wrapping_mul(2_654_435_761));
    let loaded = WorkTable::<Hashed>::from_rows(rows.iter().map(Hashed::from_item)).unwrap();
    let spec = CheckSpec::random(&mut rng);
    check_table(&loaded, &model, &spec);
    // A duplicate key refuses the load, as for `#[pk]`.
    let twice = |row: &Item| {
        [
            row.clone(),
            Item {
                code: "other".into(),
                ..row.clone()
            },
        ]
    };
    let keyed_error = WorkTable::<Keyed>::from_rows(twice(&rows[0]).iter().map(Keyed::from_item))
        .err()
        .map(|error| format!("{error:?}"));
    let hashed_error =
        WorkTable::<Hashed>::from_rows(twice(&rows[0]).iter().map(Hashed::from_item))
            .err()
            .map(|error| format!("{error:?}"));
    assert!(
        hashed_error
            .as_deref()
            .is_some_and(|error| error.starts_with("DuplicatePk")),
        "{hashed_error:?}"
    );
    assert_eq!(hashed_error, keyed_error);
}

/// Bounds of every kind on an empty table, and on a table of one row.
#[tokio::test]
async fn ranges_of_an_empty_and_a_one_row_table() {
    let table = WorkTable::<Hashed>::new();
    let mut model = Model::new();
    let mut rng = Rng::new(11);
    for _ in 0..3 {
        check_table(&table, &model, &CheckSpec::random(&mut rng));
    }
    assert!(table.delete_range(..).await.unwrap().is_empty());
    assert_eq!(table.update_range(.., Hashed::bump).await.unwrap(), 0);
    let item = random_item(&mut rng, 7);
    table.insert(Hashed::from_item(&item)).await.unwrap();
    model.insert(7, item);
    for a in [0, 6, 7, 8] {
        let spec = CheckSpec {
            a,
            b: a + 1,
            ..CheckSpec::random(&mut rng)
        };
        check_table(&table, &model, &spec);
    }
    assert_eq!(table.update_range(7..=7, Hashed::bump).await.unwrap(), 1);
    assert!(table.delete_range(8..).await.unwrap().is_empty());
    assert_eq!(items(table.delete_range(..=7).await.unwrap()).len(), 1);
    assert!(table.is_empty() && table.iter().next().is_none());
    table.check_integrity().unwrap();
}
