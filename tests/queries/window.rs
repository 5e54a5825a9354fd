//! `offset` and `limit` at their edges, also for `count()` and `exists()`; ordering by
//! the source's own order streams and stops early.

use std::sync::atomic::{AtomicUsize, Ordering};

use worktable_core::prelude::*;
use worktable_core::query::{Query, Source};

use super::{BY_PRICE, ITEMS, Item, ids, items};

#[tokio::test]
async fn offset_and_limit_at_their_edges() {
    let table = items().await;
    let by_pk = || table.query();
    let by_price = || table.query().order_by(Item::PRICE);
    let streamed = || {
        table
            .query()
            .range_by(Item::GROUP, ..)
            .order_by(Item::GROUP)
    };

    // limit(0): nothing, whatever the path.
    assert_eq!(by_pk().limit(0).to_vec(), []);
    assert_eq!(by_price().limit(0).to_vec(), []);
    assert_eq!(streamed().limit(0).iter().count(), 0);
    assert_eq!(by_price().limit(0).first(), None);
    assert_eq!(by_pk().limit(0).count(), 0);
    assert!(!by_pk().limit(0).exists());
    assert!(!by_price().offset(2).limit(0).exists());

    // An offset without a limit skips rows and returns the rest.
    assert_eq!(ids(by_pk().offset(10).to_vec()), [11, 12]);
    assert_eq!(ids(by_price().offset(10).to_vec()), BY_PRICE[10..]);
    assert_eq!(ids(streamed().offset(9).to_vec()), [6, 9, 12]);

    // An offset at or beyond the end returns nothing.
    for offset in [ITEMS, ITEMS + 1, 1000] {
        assert_eq!(by_pk().offset(offset).to_vec(), [], "offset {offset}");
        assert_eq!(by_price().offset(offset).to_vec(), [], "offset {offset}");
        assert_eq!(
            by_price().offset(offset).limit(3).to_vec(),
            [],
            "offset {offset}"
        );
        assert_eq!(by_pk().offset(offset).first(), None);
        assert_eq!(by_pk().offset(offset).count(), 0);
        assert!(!by_price().offset(offset).limit(3).exists());
    }

    // Without a sort, `usize::MAX` is "past the end" or "no limit" (sorted
    // queries: see the next test).
    assert_eq!(by_pk().offset(usize::MAX).to_vec(), []);
    assert_eq!(streamed().offset(usize::MAX).limit(usize::MAX).to_vec(), []);
    assert_eq!(ids(streamed().limit(usize::MAX).to_vec()).len(), ITEMS);
    assert_eq!(by_pk().offset(2).limit(usize::MAX).count(), ITEMS - 2);
    assert_eq!(by_price().offset(usize::MAX).limit(usize::MAX).count(), 0);
    assert!(by_price().limit(usize::MAX).exists());
    assert!(!by_price().offset(usize::MAX).exists());

    // A limit beyond the end returns every row.
    assert_eq!(by_pk().limit(ITEMS + 1).count(), ITEMS);
    assert_eq!(ids(by_price().limit(ITEMS + 1).to_vec()), BY_PRICE);

    // Offset and limit together.
    assert_eq!(ids(by_pk().offset(3).limit(2).to_vec()), [4, 5]);
    assert_eq!(ids(by_price().offset(3).limit(4).to_vec()), BY_PRICE[3..7]);
    assert_eq!(ids(by_price().offset(10).limit(4).to_vec()), BY_PRICE[10..]);
    assert_eq!(
        by_price().offset(3).limit(4).first().map(|row| row.id),
        Some(2)
    );
}

/// A sorted query keeps at most `offset + limit` rows in its heap, and that
/// bound can be anything up to `usize::MAX`: the heap grows with the rows it
/// sees, not with the bound.
#[tokio::test]
async fn a_limit_or_offset_near_usize_max_on_a_sorted_query() {
    let table = items().await;
    let by_price = || table.query().order_by(Item::PRICE);
    assert_eq!(ids(by_price().limit(usize::MAX).to_vec()), BY_PRICE);
    assert_eq!(by_price().offset(usize::MAX).limit(1).to_vec(), []);
    assert_eq!(by_price().offset(2).limit(usize::MAX).count(), ITEMS - 2);
    assert_eq!(by_price().offset(1 << 40).limit(3).to_vec(), []);
}

#[tokio::test]
async fn count_and_exists_honour_offset_and_limit() {
    let table = items().await;
    let group_1 = || table.query().by(Item::GROUP, &1); // 4 rows
    assert_eq!(group_1().count(), 4);
    assert_eq!(group_1().limit(3).count(), 3);
    assert_eq!(group_1().limit(9).count(), 4);
    assert_eq!(group_1().offset(1).count(), 3);
    assert_eq!(group_1().offset(3).limit(5).count(), 1);
    assert_eq!(group_1().offset(4).count(), 0);
    assert!(group_1().offset(3).exists());
    assert!(!group_1().offset(4).exists());
    assert!(group_1().offset(3).limit(1).exists());
    assert!(!group_1().offset(1).limit(0).exists());

    // With filters: the count is what `to_vec` would return.
    let cheap = || {
        table
            .query()
            .filter(|row| row.price <= 10)
            .filter_archived(|row| row.group != 0)
    };
    for offset in 0..6 {
        for limit in [None, Some(0), Some(1), Some(3)] {
            let query = || {
                let query = cheap().order_by(Item::RANK).offset(offset);
                match limit {
                    Some(limit) => query.limit(limit),
                    None => query,
                }
            };
            let rows = query().to_vec();
            assert_eq!(
                query().count(),
                rows.len(),
                "offset {offset} limit {limit:?}"
            );
            assert_eq!(query().exists(), !rows.is_empty());
        }
    }
}

/// A query over `table` that counts, in `read`, the rows it tests.
fn counted<'t>(table: &'t WorkTable<Item>, read: &'t AtomicUsize) -> Query<'t, Item> {
    table.query().filter_archived(move |_| {
        read.fetch_add(1, Ordering::Relaxed);
        true
    })
}

/// The ids `query` returns, and how many rows it tested (counted in `read`
/// by [`counted`]).
fn scanned<S: Source<Item>>(query: Query<'_, Item, S>, read: &AtomicUsize) -> (Vec<u32>, usize) {
    read.store(0, Ordering::Relaxed);
    let rows = ids(query.to_vec());
    (rows, read.load(Ordering::Relaxed))
}

#[tokio::test]
async fn ordering_by_the_source_order_streams_and_stops_early() {
    let table = items().await;
    let read = AtomicUsize::new(0);

    // The whole table ordered by its primary key, both ways, with a limit
    // (without one, the whole table is read page by page and sorted).
    let (rows, tested) = scanned(counted(&table, &read).order_by(Item::ID).limit(3), &read);
    assert_eq!(rows, [1, 2, 3]);
    assert!(tested < ITEMS, "the scan read {tested} rows for 3");
    let (rows, tested) = scanned(
        counted(&table, &read).order_by_desc(Item::ID).limit(3),
        &read,
    );
    assert_eq!(rows, [12, 11, 10]);
    assert!(tested < ITEMS, "the scan read {tested} rows for 3");
    let (rows, _) = scanned(
        counted(&table, &read).range(3..9).order_by_desc(Item::ID),
        &read,
    );
    assert_eq!(rows, [8, 7, 6, 5, 4, 3]);

    // An index range ordered by its field, both ways.
    let (rows, tested) = scanned(
        counted(&table, &read)
            .range_by(Item::GROUP, ..)
            .order_by(Item::GROUP)
            .limit(2),
        &read,
    );
    assert_eq!(rows, [4, 7]);
    assert!(tested < ITEMS, "the scan read {tested} rows for 2");
    let (rows, tested) = scanned(
        counted(&table, &read)
            .range_by(Item::GROUP, ..)
            .order_by_desc(Item::GROUP)
            .limit(2),
        &read,
    );
    assert_eq!(rows, [1, 3]);
    assert!(tested < ITEMS, "the scan read {tested} rows for 2");

    // A different order reads every row of the source.
    let (rows, tested) = scanned(counted(&table, &read).order_by(Item::PRICE).limit(2), &read);
    assert_eq!(rows, [4, 7]);
    assert_eq!(tested, ITEMS);
}
