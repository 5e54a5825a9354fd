//! Each query source selects the documented rows, in the documented order.

use std::ops::Bound;

use worktable_core::WorkTable;

use super::{ITEMS, Item, fixture, ids, item, items};

#[tokio::test]
async fn the_default_source_is_the_whole_table_in_pk_order() {
    let table = items().await;
    let all = table.query().to_vec();
    assert_eq!(ids(all.clone()), (1..=12).collect::<Vec<_>>());
    assert_eq!(all, fixture());
    assert_eq!(table.query().count(), ITEMS);
}

#[tokio::test]
async fn range_selects_a_pk_range_in_pk_order() {
    let table = items().await;
    assert_eq!(ids(table.query().range(4..8).to_vec()), [4, 5, 6, 7]);
    assert_eq!(ids(table.query().range(..=3).to_vec()), [1, 2, 3]);
    assert_eq!(ids(table.query().range(10..).to_vec()), [10, 11, 12]);
    assert_eq!(ids(table.query().range(11..=40).to_vec()), [11, 12]);
    let open = (Bound::Excluded(3), Bound::Included(5));
    assert_eq!(ids(table.query().range(open).to_vec()), [4, 5]);
    // Empty and inverted ranges select nothing.
    assert_eq!(table.query().range(5..5).to_vec(), []);
    let inverted = (Bound::Included(8), Bound::Excluded(4));
    assert_eq!(table.query().range(inverted).to_vec(), []);
    assert_eq!(table.query().range(inverted).count(), 0);
    let touching = (Bound::Excluded(5), Bound::Excluded(5));
    assert!(!table.query().range(touching).exists());
    assert_eq!(table.query().range(13..).first(), None);
}

#[tokio::test]
async fn by_selects_the_rows_of_one_key_in_pk_order() {
    let table = items().await;
    assert_eq!(ids(table.query().by(Item::CODE, "e").to_vec()), [7]);
    assert_eq!(table.query().by(Item::CODE, "zz").to_vec(), []);
    assert_eq!(
        ids(table.query().by(Item::GROUP, &1).to_vec()),
        [2, 5, 8, 11]
    );
    assert_eq!(table.query().by(Item::GROUP, &9).count(), 0);
    assert_eq!(
        ids(table.query().by(Item::BY_GROUP_RANK, &(2, 1)).to_vec()),
        [1, 6]
    );
    assert_eq!(
        ids(table.query().by(Item::BY_GROUP_RANK, &(0, 0)).to_vec()),
        [7]
    );
}

#[tokio::test]
async fn range_by_selects_a_key_range_in_key_then_pk_order() {
    let table = items().await;
    // Group 1, then group 2; each group in id order.
    assert_eq!(
        ids(table.query().range_by(Item::GROUP, 1..=2).to_vec()),
        [2, 5, 8, 11, 1, 3, 6, 9, 12]
    );
    // Codes b, c, d.
    let codes = "b".to_owned().."e".to_owned();
    assert_eq!(
        ids(table.query().range_by(Item::CODE, codes).to_vec()),
        [5, 2, 9]
    );
    // (1, 1), (1, 2), (2, 0).
    assert_eq!(
        ids(table
            .query()
            .range_by(Item::BY_GROUP_RANK, (1, 1)..(2, 1))
            .to_vec()),
        [5, 11, 3, 12]
    );
    assert_eq!(table.query().range_by(Item::GROUP, 3..).to_vec(), []);
    let inverted = (Bound::Included(2), Bound::Included(1));
    assert_eq!(table.query().range_by(Item::GROUP, inverted).count(), 0);
}

#[tokio::test]
async fn prefix_by_selects_a_key_prefix_in_key_then_pk_order() {
    let table = items().await;
    // (2, 0), (2, 1), (2, 2).
    assert_eq!(
        ids(table.query().prefix_by(Item::BY_GROUP_RANK, 2u8).to_vec()),
        [3, 12, 1, 6, 9]
    );
    assert_eq!(
        ids(table.query().prefix_by(Item::BY_GROUP_RANK, 0u8).to_vec()),
        [7, 10, 4]
    );
    assert!(!table.query().prefix_by(Item::BY_GROUP_RANK, 9u8).exists());
}

/// A whole-table query reads the pages front to back after sorting the rows'
/// locations; large tables (here past 16,384 rows and spread over many
/// pages) take the radix-sort path. Every row must come back exactly once,
/// filtered and ordered as asked.
#[tokio::test]
async fn a_large_whole_table_scan_returns_every_row_once() {
    const ROWS: u32 = 20_000;
    let table = WorkTable::<Item>::new();
    // Scrambled insert order, so rows' page order differs from key order.
    for n in 0..ROWS {
        let id = (n * 7_919) % ROWS + 1;
        let price = i64::from(id % 97);
        table
            .insert(item(
                id,
                &format!("c{id}"),
                (id % 3) as u8,
                (id % 5) as i16,
                price,
            ))
            .await
            .unwrap();
    }
    // Some versions move to other slots.
    for id in (1..=ROWS).step_by(11) {
        table
            .update_with(&id, |row| row.code.push_str("-moved"))
            .await
            .unwrap();
    }
    assert!(table.stats().pages > 4, "{}", table.stats());

    let all = table.query().to_vec();
    assert_eq!(ids(all.clone()), (1..=ROWS).collect::<Vec<_>>());
    assert_eq!(table.query().count(), ROWS as usize);
    let cheap = table
        .query()
        .filter_archived(|row| row.price.to_native() < 3)
        .to_vec();
    let expected: Vec<u32> = (1..=ROWS).filter(|id| id % 97 < 3).collect();
    assert_eq!(ids(cheap), expected);
    let top = table.query().order_by_desc(Item::PRICE).limit(3).to_vec();
    // Price 96 (id % 97 == 96) is the largest; ties by id ascending.
    assert_eq!(ids(top), [96, 193, 290]);
}
