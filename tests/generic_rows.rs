//! Code generic over the row type needs nothing but `R: Row`: bulk inserts, copying a
//! table, look-ups through index handles passed as values, moving old rows to an archive
//! table — each written once and run on two unrelated row types.

use std::ops::RangeBounds;

use worktable_core::Result;
use worktable_core::prelude::*;

// ---------------------------------------------------------------------------------------
// Generic functions under test: each bounded by `R: Row` (and index traits) only.
// ---------------------------------------------------------------------------------------

/// Inserts every row, in order; returns the keys the table assigned.
async fn bulk_insert<R: Row>(table: &WorkTable<R>, rows: Vec<R>) -> Result<Vec<R::Pk>> {
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        keys.push(table.insert(row).await?);
    }
    Ok(keys)
}

/// Copies every row of `from` into `to`, keeping primary keys; returns how many.
async fn copy_all<R: Row>(from: &WorkTable<R>, to: &WorkTable<R>) -> Result<usize> {
    let mut copied = 0;
    for row in from.iter() {
        to.upsert(row).await?;
        copied += 1;
    }
    Ok(copied)
}

/// The row with `key` in a unique index chosen by the caller.
fn lookup<R: Row, I: UniqueIndex<R>>(table: &WorkTable<R>, index: I, key: &I::Key) -> Option<R> {
    table.get_by(index, key)
}

/// The rows with `key` in any index chosen by the caller.
fn lookup_all<R: Row, I: Index<R>>(table: &WorkTable<R>, index: I, key: &I::Key) -> Vec<R> {
    table.find_by(index, key)
}

/// The primary keys of the rows whose key in `index` falls in `range`, in key order.
fn keys_in<R: Row, I: OrderedIndex<R>>(
    table: &WorkTable<R>,
    index: I,
    range: impl RangeBounds<I::Key>,
) -> Vec<R::Pk> {
    table.range_by(index, range).map(|row| row.pk()).collect()
}

/// The primary keys of the rows whose composite key starts with `prefix`.
fn keys_with_prefix<R: Row, I: IndexPrefix<R, X>, X: Clone + 'static>(
    table: &WorkTable<R>,
    index: I,
    prefix: X,
) -> Vec<R::Pk> {
    table.prefix_by(index, prefix).map(|row| row.pk()).collect()
}

/// Moves every row of `live` that `is_old` picks into `archive` (keeping its key), and
/// returns the moved keys in primary-key order. A row is written to the archive before
/// it is deleted from `live`, so an error never loses it.
async fn archive_old<R: Row>(
    live: &WorkTable<R>,
    archive: &WorkTable<R>,
    is_old: impl Fn(&R) -> bool,
) -> Result<Vec<R::Pk>> {
    let old: Vec<R> = live.iter().filter(|row| is_old(row)).collect();
    let mut moved = Vec::with_capacity(old.len());
    for row in old {
        let pk = row.pk();
        archive.upsert(row).await?;
        live.delete(&pk).await?;
        moved.push(pk);
    }
    Ok(moved)
}

/// Deletes the row with `key` in a unique index chosen by the caller; returns its key.
async fn remove_by<R: Row, I: UniqueIndex<R>>(
    table: &WorkTable<R>,
    index: I,
    key: &I::Key,
) -> Result<R::Pk> {
    Ok(table.delete_by(index, key).await?.pk())
}

/// One line per index: name, uniqueness and entry count.
fn describe<R: Row>(table: &WorkTable<R>) -> Vec<String> {
    table
        .stats()
        .indexes
        .iter()
        .map(|index| format!("{}:{}:{}", index.name, index.unique, index.entries))
        .collect()
}

/// The primary keys of every row, in order.
fn pks<R: Row>(table: &WorkTable<R>) -> Vec<R::Pk> {
    table.iter().map(|row| row.pk()).collect()
}

/// A scenario run on any row type: fill a table, look up through the given handles,
/// copy it, archive part of it. `unique` and `grouped` are indexes of `R`, `is_old` picks
/// the rows to archive. Checks are made on primary keys, which need only `R: Row`.
async fn scenario<R: Row, U: UniqueIndex<R> + OrderedIndex<R>, G: Index<R>>(
    rows: Vec<R>,
    unique: U,
    grouped: G,
    is_old: impl Fn(&R) -> bool,
) {
    let row_count = rows.len();
    let expected_keys: Vec<U::Key> = rows.iter().map(U::key).collect();
    let groups: Vec<G::Key> = rows.iter().map(G::key).collect();
    let is_old_keys: Vec<bool> = rows.iter().map(&is_old).collect();

    let live = WorkTable::<R>::new();
    let assigned = bulk_insert(&live, rows).await.unwrap();
    assert_eq!(live.len(), row_count);
    live.check_integrity().unwrap();

    // Unique look-up through the handle value: each key leads to the row inserted with it.
    for (key, pk) in expected_keys.iter().zip(&assigned) {
        let found = lookup(&live, unique, key).expect("every inserted key is found");
        assert_eq!(&found.pk(), pk);
        assert_eq!(&U::key(&found), key);
    }
    // Non-unique look-up: each group has exactly its rows, in primary-key order.
    for group in &groups {
        let mut expected: Vec<R::Pk> = groups
            .iter()
            .zip(&assigned)
            .filter(|(g, _)| *g == group)
            .map(|(_, pk)| pk.clone())
            .collect();
        expected.sort();
        let found: Vec<R::Pk> = lookup_all(&live, grouped, group)
            .iter()
            .map(Row::pk)
            .collect();
        assert_eq!(found, expected);
    }
    // A full range over the unique index visits every row once, in key order.
    let mut by_key: Vec<(U::Key, R::Pk)> = expected_keys
        .iter()
        .cloned()
        .zip(assigned.iter().cloned())
        .collect();
    by_key.sort();
    assert_eq!(
        keys_in(&live, unique, ..),
        by_key.into_iter().map(|(_, pk)| pk).collect::<Vec<_>>()
    );

    // Copy: same keys, same index sizes, independent afterwards.
    let copy = WorkTable::<R>::new();
    assert_eq!(copy_all(&live, &copy).await.unwrap(), row_count);
    assert_eq!(pks(&copy), pks(&live));
    assert_eq!(describe(&copy), describe(&live));
    copy.check_integrity().unwrap();

    // Archive: the old rows move, the rest stay, nothing is lost or duplicated.
    let archive = WorkTable::<R>::new();
    let mut old_keys: Vec<R::Pk> = assigned
        .iter()
        .zip(&is_old_keys)
        .filter(|(_, old)| **old)
        .map(|(pk, _)| pk.clone())
        .collect();
    old_keys.sort();
    assert!(!old_keys.is_empty() && old_keys.len() < row_count);
    let moved = archive_old(&live, &archive, &is_old).await.unwrap();
    assert_eq!(moved, old_keys);
    assert_eq!(pks(&archive), old_keys);
    assert_eq!(live.len() + archive.len(), row_count);
    assert!(live.iter().all(|row| !is_old(&row)));
    assert!(archive.iter().all(|row| is_old(&row)));
    for pk in &old_keys {
        assert!(!live.contains(pk) && archive.contains(pk));
    }
    live.check_integrity().unwrap();
    archive.check_integrity().unwrap();

    // The copy did not change.
    assert_eq!(copy.len(), row_count);

    // Deleting through a unique handle passed as a value.
    let first_key = expected_keys[0].clone();
    let holder = if live.iter().any(|row| U::key(&row) == first_key) {
        &live
    } else {
        &archive
    };
    assert_eq!(
        remove_by(holder, unique, &first_key).await.unwrap(),
        assigned[0]
    );
    assert!(lookup(holder, unique, &first_key).is_none());
}

// ---------------------------------------------------------------------------------------
// Two unrelated row types.
// ---------------------------------------------------------------------------------------

/// Table-assigned key, `String` unique key, integer group.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Customer {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    email: String,
    #[index]
    tier: u8,
    joined_year: u16,
}

fn customers() -> Vec<Customer> {
    (0..40u16)
        .map(|i| Customer {
            id: 0,
            email: format!("c{:02}@example.com", (i * 13) % 40),
            tier: (i % 4) as u8,
            joined_year: 2000 + i % 25,
        })
        .collect()
}

/// Caller-chosen composite key, composite unique index, enum group.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_site_stamp", fields(site, stamp), unique))]
struct Sample {
    #[pk]
    device: u32,
    #[pk]
    seq: u32,
    site: String,
    stamp: i64,
    #[index]
    level: Level,
    reading: i32,
}

#[derive(
    Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(crate = worktable_core::rkyv)]
enum Level {
    Low,
    Normal,
    High,
}

fn samples() -> Vec<Sample> {
    let mut rows = Vec::new();
    for device in [30u32, 10, 20] {
        for seq in 0..12u32 {
            rows.push(Sample {
                device,
                seq,
                site: format!("site-{}", device / 10),
                stamp: i64::from(seq) * 60 - 300 + i64::from(device),
                level: [Level::Low, Level::Normal, Level::High][(seq % 3) as usize],
                reading: seq as i32 - 6,
            });
        }
    }
    rows
}

#[tokio::test]
async fn the_generic_scenario_runs_on_a_table_with_generated_keys() {
    scenario(
        customers(),
        Customer::EMAIL,
        Customer::TIER,
        |c: &Customer| c.joined_year < 2010,
    )
    .await;
}

#[tokio::test]
async fn the_generic_scenario_runs_on_a_table_with_composite_keys() {
    scenario(
        samples(),
        Sample::BY_SITE_STAMP,
        Sample::LEVEL,
        |s: &Sample| s.stamp < 0,
    )
    .await;
}

#[tokio::test]
async fn bulk_insert_returns_the_assigned_or_given_keys() {
    let table = WorkTable::<Customer>::new();
    let keys = bulk_insert(&table, customers()).await.unwrap();
    assert_eq!(keys, (1..=40).collect::<Vec<u64>>());
    assert_eq!(table.get(&1).unwrap().email, "c00@example.com");

    let table = WorkTable::<Sample>::new();
    let keys = bulk_insert(&table, samples()).await.unwrap();
    assert_eq!(keys.len(), 36);
    assert_eq!(keys[0], (30, 0));
    assert_eq!(pks(&table)[0], (10, 0));

    // A failing row stops the bulk insert with its error; earlier rows stay.
    let table = WorkTable::<Customer>::new();
    let mut rows = customers();
    rows[5].email = rows[2].email.clone();
    let error = bulk_insert(&table, rows).await.unwrap_err();
    assert!(matches!(
        error,
        TableError::DuplicateKey { index: "email", .. }
    ));
    assert_eq!(table.len(), 5);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn a_copied_table_has_equal_rows_and_its_own_key_generator_state() {
    let source = WorkTable::<Customer>::new();
    bulk_insert(&source, customers()).await.unwrap();
    let copy = WorkTable::<Customer>::new();
    copy_all(&source, &copy).await.unwrap();
    assert_eq!(
        copy.iter().collect::<Vec<_>>(),
        source.iter().collect::<Vec<_>>()
    );
    // The copy's generator was told about the copied keys.
    let next = copy
        .insert(Customer {
            id: 0,
            email: "new@example.com".to_owned(),
            tier: 0,
            joined_year: 2024,
        })
        .await
        .unwrap();
    assert_eq!(next, 41);

    let source = WorkTable::<Sample>::new();
    bulk_insert(&source, samples()).await.unwrap();
    let copy = WorkTable::<Sample>::new();
    copy_all(&source, &copy).await.unwrap();
    assert_eq!(
        copy.iter().collect::<Vec<_>>(),
        source.iter().collect::<Vec<_>>()
    );
    // Copying again replaces rows in place: nothing doubles.
    assert_eq!(copy_all(&source, &copy).await.unwrap(), 36);
    assert_eq!(copy.len(), 36);
    copy.check_integrity().unwrap();
}

#[tokio::test]
async fn index_handles_are_values_that_generic_code_can_take() {
    let customers_table = WorkTable::<Customer>::new();
    bulk_insert(&customers_table, customers()).await.unwrap();
    let found = lookup(
        &customers_table,
        Customer::EMAIL,
        &"c13@example.com".to_owned(),
    )
    .unwrap();
    assert_eq!(found.id, 2);
    assert_eq!(
        lookup_all(&customers_table, Customer::TIER, &3)
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]
    );
    assert!(lookup(&customers_table, Customer::EMAIL, &"nobody".to_owned()).is_none());
    assert_eq!(keys_in(&customers_table, Customer::TIER, 1..3).len(), 20);

    let samples_table = WorkTable::<Sample>::new();
    bulk_insert(&samples_table, samples()).await.unwrap();
    let found = lookup(
        &samples_table,
        Sample::BY_SITE_STAMP,
        &("site-2".to_owned(), -280 + 60),
    )
    .unwrap();
    assert_eq!((found.device, found.seq), (20, 1));
    assert_eq!(
        lookup_all(&samples_table, Sample::LEVEL, &Level::High).len(),
        12
    );
    // The unique index works as a non-unique one too (`Index` is its supertrait).
    assert_eq!(
        lookup_all(
            &samples_table,
            Sample::BY_SITE_STAMP,
            &("site-1".to_owned(), -290)
        )
        .len(),
        1
    );
    // Prefix look-ups through a handle and a prefix type chosen by the caller.
    let site3 = keys_with_prefix(&samples_table, Sample::BY_SITE_STAMP, "site-3".to_owned());
    assert_eq!(site3, (0..12).map(|seq| (30, seq)).collect::<Vec<_>>());
    // Key order first (Normal, then High), primary-key order within a key.
    let mut expected = Vec::new();
    for level in [1, 2] {
        for device in [10, 20, 30] {
            for seq in (0..12).filter(|seq| seq % 3 == level) {
                expected.push((device, seq));
            }
        }
    }
    assert_eq!(expected.len(), 24);
    assert_eq!(
        keys_in(&samples_table, Sample::LEVEL, Level::Normal..),
        expected
    );
}
