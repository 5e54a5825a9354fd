//! `update_with` and `delete` through queries change exactly the rows the query returns,
//! each once, in primary-key order.

use worktable_core::prelude::*;

use super::{ITEMS, Item, fixture, fixture_ids, ids, items};
use crate::concurrent::settle;

#[tokio::test]
async fn update_with_changes_exactly_the_rows_the_query_returns() {
    let table = items().await;
    // Group 1 by price descending: 8 (40), then 2, 5, 11 (10, tied): the
    // first two are 8 and 2.
    let changed = table
        .query()
        .by(Item::GROUP, &1)
        .order_by_desc(Item::PRICE)
        .limit(2)
        .update_with(|row| row.price += 1000)
        .await
        .unwrap();
    assert_eq!(changed, 2);
    for row in fixture() {
        let expected_price = row.price + if [2, 8].contains(&row.id) { 1000 } else { 0 };
        assert_eq!(
            table.get(&row.id).unwrap().price,
            expected_price,
            "id {}",
            row.id
        );
    }
    // A query that matches nothing changes nothing.
    let changed = table
        .query()
        .by(Item::CODE, "zz")
        .update_with(|row| row.price = 0)
        .await
        .unwrap();
    assert_eq!(changed, 0);
    assert_eq!(
        table
            .query()
            .offset(ITEMS)
            .update_with(|row| row.price = 0)
            .await
            .unwrap(),
        0
    );
    settle(&table);
}

#[tokio::test]
async fn update_with_changes_each_selected_row_once_even_when_it_leaves_the_query() {
    let table = items().await;
    // Groups 0 and 1 with a price below 11: 2, 4, 5, 7, 11. The change
    // moves each row out of the filter, and to the next group: rows of group
    // 0 stay in the source's range (but further on), rows of group 1 leave it.
    let selected = [2, 4, 5, 7, 11];
    let seen = std::sync::Mutex::new(Vec::new());
    let changed = table
        .query()
        .range_by(Item::GROUP, 0..=1)
        .filter_archived(|row| row.price.to_native() < 11)
        .update_with(|row| {
            seen.lock().unwrap().push(row.id);
            row.price += 100;
            row.group += 1;
        })
        .await
        .unwrap();
    assert_eq!(changed, selected.len());
    assert_eq!(
        *seen.lock().unwrap(),
        selected,
        "each row once, in pk order"
    );
    for row in fixture() {
        let now = table.get(&row.id).unwrap();
        if selected.contains(&row.id) {
            assert_eq!((now.price, now.group), (row.price + 100, row.group + 1));
        } else {
            assert_eq!(now, row);
        }
    }
    assert_eq!(ids(table.query().by(Item::GROUP, &1).to_vec()), [4, 7, 8]);
    assert_eq!(
        ids(table.query().by(Item::GROUP, &2).to_vec()),
        [1, 2, 3, 5, 6, 9, 11, 12]
    );

    // The same with a row filter, whose rows leave the filter too.
    seen.lock().unwrap().clear();
    let changed = table
        .query()
        .filter(|row| row.rank == 0)
        .update_with(|row| {
            seen.lock().unwrap().push(row.id);
            row.rank += 1;
        })
        .await
        .unwrap();
    let rank_0 = fixture_ids(|row| row.rank == 0);
    assert_eq!(changed, rank_0.len());
    assert_eq!(*seen.lock().unwrap(), rank_0);
    assert_eq!(table.query().filter(|row| row.rank == 0).count(), 0);
    settle(&table);
}

#[tokio::test]
async fn delete_removes_the_query_rows_and_returns_them_in_pk_order() {
    let table = items().await;
    // Price descending: 8, 1, 3, 10 first.
    let deleted = table
        .query()
        .order_by_desc(Item::PRICE)
        .limit(4)
        .delete()
        .await
        .unwrap();
    assert_eq!(ids(deleted.clone()), [1, 3, 8, 10]);
    let fixture = fixture();
    for row in &deleted {
        assert_eq!(Some(row), fixture.iter().find(|r| r.id == row.id));
        assert_eq!(table.get(&row.id), None);
    }
    assert_eq!(ids(table.query().to_vec()), [2, 4, 5, 6, 7, 9, 11, 12]);

    // Through an index source and a filter.
    let deleted = table
        .query()
        .prefix_by(Item::BY_GROUP_RANK, 2u8)
        .filter(|row| row.price < 20)
        .delete()
        .await
        .unwrap();
    assert_eq!(ids(deleted), [9, 12]);
    assert_eq!(ids(table.query().to_vec()), [2, 4, 5, 6, 7, 11]);
    assert_eq!(table.query().limit(0).delete().await.unwrap(), []);
    assert_eq!(table.len(), 6);
    settle(&table);
}

#[tokio::test]
async fn update_with_stops_at_the_first_failing_row() {
    let table = items().await;
    // Codes x1, x0, then x1 again for row 3: a duplicate. Rows 1 and 2 stay
    // changed; 3 and 4 are untouched.
    let error = table
        .query()
        .range(1..=4)
        .update_with(|row| row.code = format!("x{}", row.id % 2))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TableError::DuplicateKey { index: "code", .. }),
        "{error:?}"
    );
    let codes: Vec<String> = table
        .query()
        .range(1..=4)
        .iter()
        .map(|row| row.code)
        .collect();
    assert_eq!(codes, ["x1", "x0", "a", "j"]);

    // A change of primary key fails on the first row and changes nothing.
    let before = table.query().to_vec();
    let error = table
        .query()
        .by(Item::GROUP, &2)
        .update_with(|row| row.id += 100)
        .await
        .unwrap_err();
    assert!(matches!(error, TableError::PkChanged { .. }), "{error:?}");
    assert_eq!(table.query().to_vec(), before);
    settle(&table);
}
