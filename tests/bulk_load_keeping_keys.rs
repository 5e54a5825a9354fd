//! `WorkTable::from_rows_keeping_keys` loads rows under their own primary keys on tables
//! whose keys are generated, shows the generator every key so that later inserts never
//! reuse one, refuses two rows with one key with a typed error, and builds the same table
//! as `from_rows` on a table without a generator.

use std::sync::atomic::{AtomicU64, Ordering};

use worktable_core::PkGenerator;
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Invoice {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    number: String,
    #[index]
    customer: u32,
}

fn invoice(id: u64) -> Invoice {
    Invoice {
        id,
        number: format!("INV-{id}"),
        customer: (id % 7) as u32,
    }
}

#[tokio::test]
async fn autoincrement_tables_keep_the_rows_keys_and_number_after_the_largest() {
    // Out of order and sparse, as an export often is.
    let ids = [900, 3, 17, 5_000, 42, 1];
    let invoices = WorkTable::from_rows_keeping_keys(ids.map(invoice)).unwrap();
    assert_eq!(invoices.len(), ids.len());
    for id in ids {
        assert_eq!(invoices.get(&id), Some(invoice(id)));
        assert_eq!(
            invoices.get_by(Invoice::NUMBER, format!("INV-{id}").as_str()),
            Some(invoice(id))
        );
    }
    let mut sorted = ids;
    sorted.sort();
    assert_eq!(invoices.iter().map(|i| i.id).collect::<Vec<_>>(), sorted);
    assert_eq!(invoices.find_by(Invoice::CUSTOMER, &3).len(), 2); // 3 and 17
    let next = invoices.insert(invoice(0)).await.unwrap();
    assert_eq!(next, 5_001);
    invoices.check_integrity().unwrap();

    // `from_rows` numbers the same rows from 1, in the order given.
    let numbered = WorkTable::from_rows(ids.map(invoice).map(|mut i| {
        i.number.push('#');
        i
    }))
    .unwrap();
    assert_eq!(
        numbered.iter().map(|i| i.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(numbered.get(&1).unwrap().number, "INV-900#");
}

#[test]
fn two_rows_with_one_key_are_refused_naming_the_key() {
    let rows = [
        invoice(4),
        invoice(9),
        Invoice {
            number: "other".into(),
            ..invoice(4)
        },
    ];
    match WorkTable::from_rows_keeping_keys(rows) {
        Err(TableError::DuplicatePk { table, pk }) => {
            assert_eq!((table, pk.as_str()), ("invoice", "4"));
        }
        other => panic!("expected DuplicatePk, got {other:?}"),
    }
    // A unique index still refuses its duplicates.
    let rows = [
        invoice(4),
        Invoice {
            id: 5,
            ..invoice(4)
        },
    ];
    assert!(matches!(
        WorkTable::from_rows_keeping_keys(rows),
        Err(TableError::DuplicateKey {
            index: "number",
            ..
        })
    ));
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Small {
    #[pk(autoincrement)]
    id: i8,
    note: String,
}

#[tokio::test]
async fn the_largest_key_of_the_type_leaves_no_key_to_generate() {
    let rows = [-5, 127].map(|id| Small {
        id,
        note: String::new(),
    });
    let small = WorkTable::from_rows_keeping_keys(rows).unwrap();
    assert!(matches!(
        small
            .insert(Small {
                id: 0,
                note: "n".into()
            })
            .await,
        Err(TableError::KeysExhausted { .. })
    ));
    // Only negative keys: generated keys start at 1 as on an empty table.
    let rows = [-5, -1].map(|id| Small {
        id,
        note: String::new(),
    });
    let small = WorkTable::from_rows_keeping_keys(rows).unwrap();
    assert_eq!(
        small
            .insert(Small {
                id: 0,
                note: "n".into()
            })
            .await
            .unwrap(),
        1
    );
}

/// Hands out 100, 200, 300, … and skips past every key it is shown.
#[derive(Default)]
struct Hundreds(AtomicU64);

impl PkGenerator<u64> for Hundreds {
    fn next_pk(&self) -> Option<u64> {
        let last = self.0.fetch_add(100, Ordering::AcqRel);
        Some(last / 100 * 100 + 100)
    }

    fn observe(&self, pk: &u64) {
        self.0.fetch_max(*pk, Ordering::AcqRel);
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Parcel {
    #[pk(generator = Hundreds)]
    id: u64,
    weight: u32,
}

#[tokio::test]
async fn a_generator_of_ones_own_is_shown_every_loaded_key() {
    let parcels =
        WorkTable::from_rows_keeping_keys([450, 120].map(|id| Parcel { id, weight: 1 })).unwrap();
    assert_eq!(
        parcels.insert(Parcel { id: 0, weight: 2 }).await.unwrap(),
        500
    );
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Reading {
    #[pk]
    sensor: u32,
    #[pk]
    at: u64,
    value: i64,
}

#[test]
fn without_a_generator_both_loads_build_the_same_table() {
    let rows: Vec<Reading> = (0..500)
        .map(|i| Reading {
            sensor: i % 7,
            at: u64::from(i),
            value: i64::from(i) * 3,
        })
        .collect();
    let kept = WorkTable::from_rows_keeping_keys(rows.clone()).unwrap();
    let assigned = WorkTable::from_rows(rows).unwrap();
    assert!(kept.iter().eq(assigned.iter()));
    kept.check_integrity().unwrap();
}
