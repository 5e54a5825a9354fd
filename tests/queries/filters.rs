//! `filter` and `filter_archived` select the same rows, and `filter_archived` never
//! deserializes the rows it rejects.

use std::cell::Cell;

use worktable_core::prelude::*;
use worktable_core::rkyv::rancor::Fallible;

use super::{Item, fixture_ids, ids, items};

#[tokio::test]
async fn filter_and_filter_archived_select_the_same_rows() {
    let table = items().await;
    let cheap = |price: i64| price <= 10;
    let by_row = table.query().filter(move |row| cheap(row.price)).to_vec();
    let by_archived = table
        .query()
        .filter_archived(move |row| cheap(row.price.to_native()))
        .to_vec();
    assert_eq!(ids(by_row.clone()), fixture_ids(|row| cheap(row.price)));
    assert_eq!(by_row, by_archived);

    // The same on an index source, with an order and a limit.
    let by_row = table
        .query()
        .range_by(Item::GROUP, 1..)
        .filter(move |row| cheap(row.price))
        .order_by_desc(Item::RANK)
        .limit(3)
        .to_vec();
    let by_archived = table
        .query()
        .range_by(Item::GROUP, 1..)
        .filter_archived(move |row| cheap(row.price.to_native()))
        .order_by_desc(Item::RANK)
        .limit(3)
        .to_vec();
    // Rank 2: 9, 11; rank 1: 5 (rank 0: 2, 12 are cut).
    assert_eq!(ids(by_row.clone()), [9, 11, 5]);
    assert_eq!(by_row, by_archived);

    // Filters of both kinds, and several of one kind, all apply.
    let both = table
        .query()
        .filter(|row| row.group != 0)
        .filter_archived(move |row| cheap(row.price.to_native()))
        .filter_archived(|row| row.rank.to_native() > 0)
        .to_vec();
    assert_eq!(
        ids(both),
        fixture_ids(|row| row.group != 0 && cheap(row.price) && row.rank > 0)
    );
}

/// A column whose every deserialization is counted (per thread), to see
/// which rows a query deserializes.
#[derive(Archive, Serialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Probe(u32);

thread_local! {
    static PROBES_DESERIALIZED: Cell<usize> = const { Cell::new(0) };
}

impl<D: Fallible + ?Sized> worktable_core::Deserialize<Probe, D> for ArchivedProbe {
    fn deserialize(&self, _: &mut D) -> Result<Probe, D::Error> {
        PROBES_DESERIALIZED.set(PROBES_DESERIALIZED.get() + 1);
        Ok(Probe(self.0.to_native()))
    }
}

/// How many rows of [`Probed`] `f` deserializes (on this thread).
fn deserializations<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = PROBES_DESERIALIZED.get();
    let output = f();
    (output, PROBES_DESERIALIZED.get() - before)
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "probed")]
struct Probed {
    #[pk]
    id: u32,
    #[index]
    group: u8,
    price: i64,
    probe: Probe,
}

#[tokio::test]
async fn filter_archived_never_deserializes_the_rows_it_rejects() {
    let table = WorkTable::new();
    for id in 1..=10 {
        let row = Probed {
            id,
            group: (id % 3) as u8,
            price: i64::from(id) * 10,
            probe: Probe(id),
        };
        table.insert(row).await.unwrap();
    }
    let cheap = || {
        table
            .query()
            .filter_archived(|row| row.price.to_native() < 30)
    };

    // The two rows it keeps are deserialized, once each; the eight it
    // rejects are not.
    let (rows, deserialized) = deserializations(|| cheap().to_vec());
    assert_eq!(rows.iter().map(|row| row.id).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(deserialized, 2);

    // Counting and testing for existence deserialize nothing when every
    // filter is archived, with an offset and a limit too.
    assert_eq!(deserializations(|| cheap().count()), (2, 0));
    assert_eq!(deserializations(|| cheap().exists()), (true, 0));
    assert_eq!(
        deserializations(|| cheap().offset(1).limit(5).count()),
        (1, 0)
    );
    assert_eq!(deserializations(|| cheap().offset(2).exists()), (false, 0));

    // Ranked with a limit: of the rows the filter rejects, none is
    // deserialized either (the order field is read in place).
    let (rows, deserialized) = deserializations(|| {
        table
            .query()
            .range_by(Probed::GROUP, ..)
            .filter_archived(|row| row.price.to_native() >= 50)
            .order_by_desc(Probed::PRICE)
            .limit(2)
            .to_vec()
    });
    assert_eq!(rows.iter().map(|row| row.id).collect::<Vec<_>>(), [10, 9]);
    assert!(
        deserialized <= 6,
        "only the 6 rows the filter keeps may be deserialized, not {deserialized}"
    );

    // With a row filter after the archived one, the rows the archived
    // filter rejects are still never deserialized.
    let (count, deserialized) = deserializations(|| {
        table
            .query()
            .filter_archived(|row| row.price.to_native() <= 40)
            .filter(|row| row.group == 1)
            .count()
    });
    assert_eq!(count, 2); // ids 1 and 4
    assert!(
        deserialized <= 4,
        "only the 4 rows the archived filter keeps may be deserialized, not {deserialized}"
    );

    // The probe works: a row filter needs every row of the source.
    let (count, deserialized) =
        deserializations(|| table.query().filter(|row| row.price < 30).count());
    assert_eq!(count, 2);
    assert!(deserialized >= 10, "only {deserialized} rows deserialized");
}
