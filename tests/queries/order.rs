//! `order_by` orders by fields in either direction and breaks ties by primary key,
//! ascending, also when rows stream backward from an index.

use super::{BY_PRICE, BY_PRICE_DESC, ITEMS, Item, ids, items};

#[tokio::test]
async fn order_by_breaks_ties_by_pk_ascending_in_both_directions() {
    let table = items().await;
    assert_eq!(ids(table.query().order_by(Item::PRICE).to_vec()), BY_PRICE);
    assert_eq!(
        ids(table.query().order_by_desc(Item::PRICE).to_vec()),
        BY_PRICE_DESC
    );
    // With every limit (the best rows kept in a bounded heap), with an
    // archived filter, a row filter, or none (each ranks differently), the
    // result is the same prefix.
    for limit in 0..=ITEMS + 1 {
        let expected = &BY_PRICE_DESC[..limit.min(ITEMS)];
        let plain = table.query().order_by_desc(Item::PRICE).limit(limit);
        let archived = table
            .query()
            .filter_archived(|_| true)
            .order_by_desc(Item::PRICE)
            .limit(limit);
        let row = table
            .query()
            .filter(|_| true)
            .order_by_desc(Item::PRICE)
            .limit(limit);
        assert_eq!(ids(plain.to_vec()), expected, "limit {limit}");
        assert_eq!(ids(archived.to_vec()), expected, "limit {limit}, archived");
        assert_eq!(ids(row.to_vec()), expected, "limit {limit}, row filter");
        // An offset cuts the same order.
        let expected: Vec<u32> = BY_PRICE_DESC.iter().copied().skip(3).take(limit).collect();
        let offset = table
            .query()
            .order_by_desc(Item::PRICE)
            .offset(3)
            .limit(limit);
        assert_eq!(ids(offset.to_vec()), expected, "offset 3, limit {limit}");
    }
}

#[tokio::test]
async fn order_by_desc_of_a_non_unique_index_keeps_ties_in_pk_order() {
    let table = items().await;
    // Rows stream backward from the `group` index; each group's rows come in
    // id order.
    let groups_desc = [1, 3, 6, 9, 12, 2, 5, 8, 11, 4, 7, 10];
    let query = || {
        table
            .query()
            .range_by(Item::GROUP, ..)
            .order_by_desc(Item::GROUP)
    };
    assert_eq!(ids(query().to_vec()), groups_desc);
    assert_eq!(ids(query().iter()), groups_desc);
    // An offset and a limit cutting through the runs of ties.
    assert_eq!(ids(query().offset(3).limit(4).to_vec()), [9, 12, 2, 5]);
    assert_eq!(ids(query().offset(8).to_vec()), [11, 4, 7, 10]);
    assert_eq!(query().offset(3).limit(4).count(), 4);
    assert_eq!(query().first().map(|row| row.id), Some(1));
    // The same over part of the index, and over the whole table (sorted).
    assert_eq!(
        ids(table
            .query()
            .range_by(Item::GROUP, ..2)
            .order_by_desc(Item::GROUP)
            .to_vec()),
        [2, 5, 8, 11, 4, 7, 10]
    );
    assert_eq!(
        ids(table.query().order_by_desc(Item::GROUP).to_vec()),
        groups_desc
    );
    // Over the composite index, both fields descending: (2, 2): 9; (2, 1):
    // 1, 6; (2, 0): 3, 12; (1, 2): 11; (1, 1): 5; (1, 0): 2, 8; (0, 2): 4;
    // (0, 1): 10; (0, 0): 7.
    assert_eq!(
        ids(table
            .query()
            .range_by(Item::BY_GROUP_RANK, ..)
            .order_by_desc(Item::GROUP)
            .order_by_desc(Item::RANK)
            .to_vec()),
        [9, 1, 6, 3, 12, 11, 5, 2, 8, 4, 10, 7]
    );
    // A prefix, by the remaining field descending.
    assert_eq!(
        ids(table
            .query()
            .prefix_by(Item::BY_GROUP_RANK, 2u8)
            .order_by_desc(Item::RANK)
            .to_vec()),
        [9, 1, 6, 3, 12]
    );
}

#[tokio::test]
async fn order_by_terms_may_mix_directions() {
    let table = items().await;
    // Group ascending, price descending, ties by id: group 0: 10 (25), 4, 7
    // (5); group 1: 8 (40), 2, 5, 11 (10); group 2: 1, 3 (30), 6 (20), 9
    // (10), 12 (5).
    let expected = [10, 4, 7, 8, 2, 5, 11, 1, 3, 6, 9, 12];
    let mixed = || {
        table
            .query()
            .order_by(Item::GROUP)
            .order_by_desc(Item::PRICE)
    };
    assert_eq!(ids(mixed().to_vec()), expected);
    assert_eq!(ids(mixed().limit(5).to_vec()), expected[..5]);
    assert_eq!(ids(mixed().offset(5).limit(2).to_vec()), expected[5..7]);

    // The composite index's fields in mixed directions: sorted, not streamed.
    // (2, 0): 3, 12; (2, 1): 1, 6; (2, 2): 9; (1, 0): 2, 8; (1, 1): 5;
    // (1, 2): 11; (0, 0): 7; (0, 1): 10; (0, 2): 4.
    assert_eq!(
        ids(table
            .query()
            .range_by(Item::BY_GROUP_RANK, ..)
            .order_by_desc(Item::GROUP)
            .order_by(Item::RANK)
            .to_vec()),
        [3, 12, 1, 6, 9, 2, 8, 5, 11, 7, 10, 4]
    );
    // Price descending, then rank ascending, then id.
    assert_eq!(
        ids(table
            .query()
            .order_by_desc(Item::PRICE)
            .order_by(Item::RANK)
            .to_vec()),
        [8, 3, 1, 10, 6, 2, 5, 9, 11, 7, 12, 4]
    );
}
