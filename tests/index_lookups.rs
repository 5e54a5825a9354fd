//! Every read of a table (`get`, `read`, `contains`, `len`, `get_by`, `find_by`, `range_by`,
//! `prefix_by`, `range`, `iter`) returns exactly the rows an ordered model predicts, in the
//! documented order, forward and reversed; updates move rows between index keys, and the
//! deleting look-ups (`delete_by`, `delete_all_by`) return what they removed.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use worktable_core::prelude::*;

/// A product with one index of every shape: unique `String`, unique integer, non-unique,
/// a composite over two fields and a composite over three.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
// Two composite indexes sharing fields, listed as arrays: `fields(shop, aisle)` beside
// `fields(region, shop, aisle)` would make clippy's `duplicated_attributes` lint fire (CI
// runs clippy with `-D warnings` on this file).
#[table(
    name = "products",
    index(name = "by_shop_aisle", fields = [shop, aisle]),
    index(name = "by_region_shop_aisle", fields = [region, shop, aisle])
)]
struct Product {
    #[pk]
    id: u32,
    #[index(unique)]
    sku: String,
    #[index(unique)]
    code: i32,
    #[index]
    shop: u16,
    aisle: u8,
    region: u8,
    price: i64,
    name: String,
}

/// Number of products in the fixture.
const PRODUCTS: u32 = 20;

/// Product `id`: the SKU and code are unique but not monotonic in `id`, so key order
/// differs from primary-key order; `shop`, `aisle` and `region` repeat.
fn product(id: u32) -> Product {
    Product {
        id,
        // 37 and 7 are coprime with 101 and 23, so both are distinct for ids below 23.
        sku: format!("SKU-{:03}", (id * 37) % 101),
        code: ((id * 7) % 23) as i32 - 11,
        shop: (id % 3) as u16,
        aisle: (id % 4) as u8,
        region: (id % 2) as u8,
        price: i64::from(id) * 100 - 550,
        name: format!("product {id}"),
    }
}

/// Every fixture product, by id.
fn all_products() -> Vec<Product> {
    (1..=PRODUCTS).map(product).collect()
}

/// A table holding every fixture product, inserted in a scrambled order so that no
/// result can come out right just because of insertion order.
async fn products() -> WorkTable<Product> {
    let table = WorkTable::new();
    for i in 0..PRODUCTS {
        // 7 is coprime with 20: a permutation of 1..=20.
        let id = (i * 7) % PRODUCTS + 1;
        assert_eq!(table.insert(product(id)).await.unwrap(), id);
    }
    table.check_integrity().unwrap();
    table
}

fn ids(rows: impl IntoIterator<Item = Product>) -> Vec<u32> {
    rows.into_iter().map(|row| row.id).collect()
}

/// The ids of the rows whose key in `I` falls in `range`, in key order then id order:
/// what `range_by` must return.
fn model_range<I, B>(_index: I, rows: &[Product], range: &B) -> Vec<u32>
where
    I: Index<Product>,
    B: RangeBounds<I::Key>,
{
    let mut hits: Vec<(I::Key, u32)> = rows
        .iter()
        .map(|row| (I::key(row), row.id))
        .filter(|(key, _)| range.contains(key))
        .collect();
    hits.sort();
    hits.into_iter().map(|(_, id)| id).collect()
}

/// Checks `range_by(index, range)` forward and reversed against the model; returns the
/// forward ids so that callers can also check them literally.
fn check_range<I, B>(table: &WorkTable<Product>, index: I, range: B) -> Vec<u32>
where
    I: OrderedIndex<Product>,
    B: RangeBounds<I::Key> + Clone + Debug,
{
    let expected = model_range(index, &all_products(), &range);
    let forward = ids(table.range_by(index, range.clone()));
    assert_eq!(forward, expected, "range_by({}, {range:?})", I::NAME);
    let mut reversed = ids(table.range_by(index, range.clone()).rev());
    reversed.reverse();
    assert_eq!(reversed, expected, "range_by({}, {range:?}).rev()", I::NAME);
    forward
}

#[tokio::test]
async fn get_returns_the_stored_row_or_none() {
    let table = products().await;
    for id in 1..=PRODUCTS {
        assert_eq!(table.get(&id), Some(product(id)));
    }
    assert_eq!(table.get(&0), None);
    assert_eq!(table.get(&(PRODUCTS + 1)), None);
}

#[tokio::test]
async fn read_runs_a_closure_on_the_archived_row_in_place() {
    let table = products().await;
    let (price, name, sku_len) = table
        .read(&7, |row| {
            (
                row.price.to_native(),
                row.name.as_str().to_owned(),
                row.sku.len(),
            )
        })
        .unwrap();
    assert_eq!(price, 150);
    assert_eq!(name, "product 7");
    assert_eq!(sku_len, product(7).sku.len());
    assert_eq!(table.read(&7, |row| row.shop.to_native()), Some(1));
    assert_eq!(table.read(&7, |row| row.aisle), Some(3));
    assert_eq!(table.read(&99, |row| row.price.to_native()), None);

    // The closure sees the current version after an update.
    let before = table
        .update(Product {
            price: -1,
            ..product(7)
        })
        .await
        .unwrap();
    assert_eq!(before, product(7));
    assert_eq!(table.read(&7, |row| row.price.to_native()), Some(-1));
}

#[tokio::test]
async fn contains_len_and_is_empty_follow_inserts_and_deletes() {
    let table = WorkTable::<Product>::new();
    assert!(table.is_empty());
    assert_eq!(table.len(), 0);
    assert!(!table.contains(&1));

    table.insert(product(1)).await.unwrap();
    table.insert(product(2)).await.unwrap();
    assert!(!table.is_empty());
    assert_eq!(table.len(), 2);
    assert!(table.contains(&1) && table.contains(&2) && !table.contains(&3));

    table.delete(&1).await.unwrap();
    assert!(!table.contains(&1));
    assert_eq!(table.len(), 1);
    table.delete(&2).await.unwrap();
    assert!(table.is_empty());
    assert_eq!(table.iter().count(), 0);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn get_by_a_unique_index_takes_borrowed_or_owned_keys() {
    let table = products().await;
    for row in all_products() {
        // `&str` for a `String` key, no allocation needed.
        assert_eq!(
            table.get_by(Product::SKU, row.sku.as_str()),
            Some(row.clone())
        );
        assert_eq!(table.get_by(Product::SKU, &row.sku), Some(row.clone()));
        assert_eq!(table.get_by(Product::CODE, &row.code), Some(row));
    }
    assert_eq!(table.get_by(Product::SKU, "SKU-999"), None);
    assert_eq!(table.get_by(Product::SKU, ""), None);
    assert_eq!(table.get_by(Product::CODE, &1000), None);
}

#[tokio::test]
async fn find_by_a_non_unique_index_returns_every_match_in_pk_order() {
    let table = products().await;
    assert_eq!(ids(table.find_by(Product::SHOP, &0)), [3, 6, 9, 12, 15, 18]);
    assert_eq!(
        ids(table.find_by(Product::SHOP, &1)),
        [1, 4, 7, 10, 13, 16, 19]
    );
    assert_eq!(
        ids(table.find_by(Product::SHOP, &2)),
        [2, 5, 8, 11, 14, 17, 20]
    );
    assert!(table.find_by(Product::SHOP, &3).is_empty());

    let rows = table.find_by(Product::SHOP, &2);
    assert!(rows.iter().all(|row| *row == product(row.id)));

    // Composite index, full key.
    assert_eq!(ids(table.find_by(Product::BY_SHOP_AISLE, &(1, 3))), [7, 19]);
    assert_eq!(ids(table.find_by(Product::BY_SHOP_AISLE, &(1, 2))), [10]);
    assert!(table.find_by(Product::BY_SHOP_AISLE, &(3, 0)).is_empty());
    assert_eq!(
        ids(table.find_by(Product::BY_REGION_SHOP_AISLE, &(0, 2, 0))),
        [8, 20]
    );
}

#[tokio::test]
async fn find_by_a_unique_index_returns_zero_or_one_row() {
    let table = products().await;
    assert_eq!(table.find_by(Product::SKU, "SKU-037"), vec![product(1)]);
    assert_eq!(
        table.find_by(Product::CODE, &product(9).code),
        vec![product(9)]
    );
    assert!(table.find_by(Product::SKU, "SKU-000").is_empty());
    assert!(table.find_by(Product::CODE, &-12).is_empty());
}

#[tokio::test]
async fn range_by_a_unique_index_honours_every_bound_kind() {
    let table = products().await;
    // Codes by id (1..=20): -4 3 10 -6 1 8 -8 -1 6 -10 -3 4 11 -5 2 9 -7 0 7 -9
    // (-2 and 5 are not used).
    let all = check_range(&table, Product::CODE, ..);
    assert_eq!(all.len(), PRODUCTS as usize);
    assert_eq!((all[0], all[19]), (10, 13));

    assert_eq!(check_range(&table, Product::CODE, -3..2), [11, 8, 18, 5]);
    assert_eq!(
        check_range(&table, Product::CODE, -3..=2),
        [11, 8, 18, 5, 15]
    );
    assert_eq!(
        check_range(&table, Product::CODE, 4..),
        [12, 9, 19, 6, 16, 3, 13]
    );
    assert_eq!(check_range(&table, Product::CODE, ..-5), [10, 20, 7, 17, 4]);
    assert_eq!(
        check_range(&table, Product::CODE, ..=-5),
        [10, 20, 7, 17, 4, 14]
    );
    assert_eq!(
        check_range(
            &table,
            Product::CODE,
            (Bound::Excluded(-10), Bound::Included(-8))
        ),
        [20, 7]
    );
    // Bounds on keys nobody has.
    assert_eq!(
        check_range(&table, Product::CODE, -2..=5),
        [8, 18, 5, 15, 2, 12]
    );
    assert_eq!(
        check_range(
            &table,
            Product::CODE,
            (Bound::Excluded(-2), Bound::Excluded(5))
        ),
        [8, 18, 5, 15, 2, 12]
    );

    // String keys: SKUs by id are 037 074 010 047 084 020 057 094 030 067 003 040 077 013
    // 050 087 023 060 097 033.
    assert_eq!(
        check_range(
            &table,
            Product::SKU,
            "SKU-010".to_owned().."SKU-050".to_owned()
        ),
        [3, 14, 6, 17, 9, 20, 1, 12, 4]
    );
    assert_eq!(
        check_range(&table, Product::SKU, "SKU-090".to_owned()..),
        [8, 19]
    );
    assert_eq!(
        check_range(&table, Product::SKU, ..="SKU-013".to_owned()),
        [11, 3, 14]
    );

    // Empty ranges.
    assert_eq!(check_range(&table, Product::CODE, 3..3), Vec::<u32>::new());
    assert_eq!(check_range(&table, Product::CODE, 12..), Vec::<u32>::new());
    assert_eq!(check_range(&table, Product::CODE, ..-10), Vec::<u32>::new());
    assert_eq!(
        check_range(
            &table,
            Product::CODE,
            (Bound::Excluded(3), Bound::Excluded(4))
        ),
        Vec::<u32>::new()
    );
}

#[tokio::test]
async fn range_by_a_non_unique_index_orders_rows_of_one_key_by_pk() {
    let table = products().await;
    assert_eq!(
        check_range(&table, Product::SHOP, 1..=2),
        [1, 4, 7, 10, 13, 16, 19, 2, 5, 8, 11, 14, 17, 20]
    );
    assert_eq!(
        ids(table.range_by(Product::SHOP, 1..=2).rev()),
        [20, 17, 14, 11, 8, 5, 2, 19, 16, 13, 10, 7, 4, 1]
    );
    assert_eq!(check_range(&table, Product::SHOP, ..).len(), 20);
    assert_eq!(
        check_range(&table, Product::SHOP, 0..1),
        [3, 6, 9, 12, 15, 18]
    );
    assert_eq!(check_range(&table, Product::SHOP, 2..).len(), 7);
    assert_eq!(check_range(&table, Product::SHOP, ..1).len(), 6);
    assert_eq!(check_range(&table, Product::SHOP, ..=1).len(), 13);
    assert_eq!(
        check_range(
            &table,
            Product::SHOP,
            (Bound::Excluded(0), Bound::Included(1))
        ),
        [1, 4, 7, 10, 13, 16, 19]
    );
    assert_eq!(
        check_range(
            &table,
            Product::SHOP,
            (Bound::Excluded(1), Bound::Excluded(2))
        ),
        Vec::<u32>::new()
    );
}

#[tokio::test]
async fn range_by_a_composite_index_orders_by_fields_then_pk() {
    let table = products().await;
    let all = check_range(&table, Product::BY_SHOP_AISLE, ..);
    assert_eq!(all.len(), PRODUCTS as usize);
    // (shop, aisle) of the first rows: (0, 0) ids 12; (0, 1) ids 9; (0, 2) ids 6, 18; ...
    assert_eq!(&all[..4], &[12, 9, 6, 18]);

    assert_eq!(
        check_range(&table, Product::BY_SHOP_AISLE, (0, 2)..(1, 1)),
        [6, 18, 3, 15, 4, 16]
    );
    assert_eq!(
        check_range(&table, Product::BY_SHOP_AISLE, (0, 2)..=(1, 1)),
        [6, 18, 3, 15, 4, 16, 1, 13]
    );
    // shop 2: (2, 0) → 8, 20; (2, 1) → 5, 17; (2, 2) → 2, 14; (2, 3) → 11.
    assert_eq!(
        check_range(&table, Product::BY_SHOP_AISLE, (2, 2)..),
        [2, 14, 11]
    );
    assert_eq!(
        check_range(&table, Product::BY_SHOP_AISLE, ..(0, 2)),
        [12, 9]
    );
    assert_eq!(
        check_range(
            &table,
            Product::BY_SHOP_AISLE,
            (Bound::Excluded((0, 3)), Bound::Included((1, 0)))
        ),
        // (0, 3) is ids 3 and 15 (excluded); (1, 0) is ids 4 and 16.
        [4, 16]
    );
    check_range(&table, Product::BY_REGION_SHOP_AISLE, (0, 1, 0)..(1, 0, 0));
    check_range(&table, Product::BY_REGION_SHOP_AISLE, (1, 1, 1)..=(1, 2, 3));
    check_range(&table, Product::BY_REGION_SHOP_AISLE, ..=(0, 0, 0));
}

#[tokio::test]
async fn prefix_by_a_two_field_index_takes_the_first_field() {
    let table = products().await;
    // shop 1, ordered by aisle then id: aisle 0 → 4, 16; 1 → 1, 13; 2 → 10; 3 → 7, 19.
    let forward = ids(table.prefix_by(Product::BY_SHOP_AISLE, 1u16));
    assert_eq!(forward, [4, 16, 1, 13, 10, 7, 19]);
    assert_eq!(
        forward,
        model_range(
            Product::BY_SHOP_AISLE,
            &all_products(),
            &((1, 0)..=(1, u8::MAX))
        )
    );
    let reversed = ids(table.prefix_by(Product::BY_SHOP_AISLE, 1u16).rev());
    assert_eq!(reversed, [19, 7, 10, 13, 1, 16, 4]);

    assert_eq!(table.prefix_by(Product::BY_SHOP_AISLE, 2u16).count(), 7);
    assert_eq!(table.prefix_by(Product::BY_SHOP_AISLE, 9u16).count(), 0);
}

#[tokio::test]
async fn prefix_by_a_three_field_index_takes_one_or_two_fields() {
    let table = products().await;
    let rows = all_products();
    let model = |keep: &dyn Fn(&Product) -> bool| -> Vec<u32> {
        let mut hits: Vec<((u8, u16, u8), u32)> = rows
            .iter()
            .filter(|row| keep(row))
            .map(|row| ((row.region, row.shop, row.aisle), row.id))
            .collect();
        hits.sort();
        hits.into_iter().map(|(_, id)| id).collect()
    };

    for region in 0..=2u8 {
        let expected = model(&|row| row.region == region);
        let forward = ids(table.prefix_by(Product::BY_REGION_SHOP_AISLE, region));
        assert_eq!(forward, expected, "region {region}");
        let mut reversed = ids(table.prefix_by(Product::BY_REGION_SHOP_AISLE, region).rev());
        reversed.reverse();
        assert_eq!(reversed, expected, "region {region} reversed");
        for shop in 0..=3u16 {
            let expected = model(&|row| row.region == region && row.shop == shop);
            let forward = ids(table.prefix_by(Product::BY_REGION_SHOP_AISLE, (region, shop)));
            assert_eq!(forward, expected, "({region}, {shop})");
            let mut reversed = ids(table
                .prefix_by(Product::BY_REGION_SHOP_AISLE, (region, shop))
                .rev());
            reversed.reverse();
            assert_eq!(reversed, expected, "({region}, {shop}) reversed");
        }
    }
    // Literal spot checks: region 1 (odd ids), shop 1 → ids 1, 7, 13, 19 with aisles
    // 1, 3, 1, 3 → ordered (1, 1): 1, 13; (1, 3): 7, 19.
    assert_eq!(
        ids(table.prefix_by(Product::BY_REGION_SHOP_AISLE, (1u8, 1u16))),
        [1, 13, 7, 19]
    );
    assert_eq!(
        table.prefix_by(Product::BY_REGION_SHOP_AISLE, 0u8).count(),
        10
    );
    assert_eq!(
        table.prefix_by(Product::BY_REGION_SHOP_AISLE, 2u8).count(),
        0
    );
}

#[tokio::test]
async fn range_over_the_primary_key_forward_and_reverse() {
    let table = products().await;
    assert_eq!(ids(table.range(5..9)), [5, 6, 7, 8]);
    assert_eq!(ids(table.range(5..9).rev()), [8, 7, 6, 5]);
    assert_eq!(ids(table.range(5..=9)), [5, 6, 7, 8, 9]);
    assert_eq!(ids(table.range(18..)), [18, 19, 20]);
    assert_eq!(ids(table.range(..3)), [1, 2]);
    assert_eq!(ids(table.range(..=3).rev()), [3, 2, 1]);
    assert_eq!(
        ids(table.range((Bound::Excluded(10), Bound::Included(12)))),
        [11, 12]
    );
    assert_eq!(ids(table.range(..)).len(), 20);
    assert_eq!(table.range(21..).count(), 0);
    assert_eq!(table.range(7..7).count(), 0);
    // An inverted range is empty (it does not panic, unlike `BTreeMap::range`).
    #[allow(clippy::reversed_empty_ranges)] // the point of the check
    let inverted = table.range(9..3);
    assert_eq!(inverted.rev().count(), 0);
    assert_eq!(
        table
            .range((Bound::Excluded(4), Bound::Excluded(4)))
            .count(),
        0
    );
    #[allow(clippy::reversed_empty_ranges)] // the point of the check
    let inverted = table.range_by(Product::CODE, 5..3);
    assert_eq!(inverted.count(), 0);
    // Rows come back whole.
    assert_eq!(table.range(4..5).collect::<Vec<_>>(), vec![product(4)]);
}

#[tokio::test]
async fn iter_walks_rows_in_pk_order_whatever_the_insert_order() {
    let table = products().await;
    assert_eq!(ids(table.iter()), (1..=PRODUCTS).collect::<Vec<_>>());
    assert_eq!(
        ids(table.iter().rev()),
        (1..=PRODUCTS).rev().collect::<Vec<_>>()
    );
    assert_eq!(table.iter().collect::<Vec<_>>(), all_products());
    // Double-ended: both ends of one iterator meet in the middle.
    let mut iter = table.iter();
    assert_eq!(iter.next().map(|p| p.id), Some(1));
    assert_eq!(iter.next_back().map(|p| p.id), Some(20));
    assert_eq!(iter.count(), 18);
}

/// A line of an order: the primary key is `(order, line)`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct OrderLine {
    #[pk]
    order: u32,
    #[pk]
    line: u16,
    #[index]
    item: String,
    quantity: u32,
}

fn line(order: u32, line: u16, item: &str) -> OrderLine {
    OrderLine {
        order,
        line,
        item: item.to_owned(),
        quantity: order * 10 + u32::from(line),
    }
}

#[tokio::test]
async fn a_composite_primary_key_is_a_tuple() {
    let table = WorkTable::<OrderLine>::new();
    for (order, no, item) in [
        (2, 1, "pen"),
        (1, 2, "ink"),
        (1, 1, "pen"),
        (3, 1, "pad"),
        (2, 2, "ink"),
        (1, 3, "pad"),
    ] {
        assert_eq!(
            table.insert(line(order, no, item)).await.unwrap(),
            (order, no)
        );
    }
    assert_eq!(table.get(&(1, 2)), Some(line(1, 2, "ink")));
    assert_eq!(table.get(&(2, 3)), None);
    assert!(table.contains(&(3, 1)));
    assert_eq!(
        table.read(&(2, 2), |row| row.quantity.to_native()),
        Some(22)
    );

    let keys = |rows: Vec<OrderLine>| -> Vec<(u32, u16)> {
        rows.into_iter().map(|row| (row.order, row.line)).collect()
    };
    assert_eq!(
        keys(table.iter().collect()),
        [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1)]
    );
    assert_eq!(
        keys(table.range((1, 2)..(2, 2)).collect()),
        [(1, 2), (1, 3), (2, 1)]
    );
    assert_eq!(
        keys(table.range((2, 0)..).rev().collect()),
        [(3, 1), (2, 2), (2, 1)]
    );
    // The non-unique index orders rows of one key by the tuple key.
    assert_eq!(
        keys(table.find_by(OrderLine::ITEM, "pen")),
        [(1, 1), (2, 1)]
    );

    let removed = table.delete(&(1, 2)).await.unwrap();
    assert_eq!(removed, line(1, 2, "ink"));
    assert_eq!(keys(table.find_by(OrderLine::ITEM, "ink")), [(2, 2)]);
    assert!(
        table
            .insert(line(1, 1, "dup"))
            .await
            .is_err_and(|e| matches!(e, TableError::DuplicatePk { .. }))
    );
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn an_update_that_changes_indexed_keys_moves_the_row_between_keys() {
    let table = products().await;
    let old = product(4);
    let moved = Product {
        sku: "SKU-NEW".to_owned(),
        code: 500,
        shop: 2,
        aisle: 3,
        region: 1,
        ..old.clone()
    };
    assert_eq!(table.update(moved.clone()).await.unwrap(), old);
    assert_eq!(table.get(&4), Some(moved.clone()));

    // Old keys find nothing.
    assert_eq!(table.get_by(Product::SKU, old.sku.as_str()), None);
    assert_eq!(table.get_by(Product::CODE, &old.code), None);
    assert!(!ids(table.find_by(Product::SHOP, &old.shop)).contains(&4));
    assert!(!ids(table.find_by(Product::BY_SHOP_AISLE, &(old.shop, old.aisle))).contains(&4));
    assert!(
        !ids(table.prefix_by(Product::BY_REGION_SHOP_AISLE, (old.region, old.shop))).contains(&4)
    );

    // New keys find it, in its PK place among the rows of the key.
    assert_eq!(table.get_by(Product::SKU, "SKU-NEW"), Some(moved.clone()));
    assert_eq!(table.get_by(Product::CODE, &500), Some(moved.clone()));
    assert_eq!(
        ids(table.find_by(Product::SHOP, &2)),
        [2, 4, 5, 8, 11, 14, 17, 20]
    );
    assert_eq!(ids(table.find_by(Product::BY_SHOP_AISLE, &(2, 3))), [4, 11]);
    assert_eq!(ids(table.range_by(Product::CODE, 400..)), [4]);
    assert_eq!(
        table.range_by(Product::CODE, ..).last(),
        Some(moved.clone())
    );
    assert!(ids(table.prefix_by(Product::BY_REGION_SHOP_AISLE, (1u8, 2u16))).contains(&4));

    // Every index still has one entry per row.
    table.check_integrity().unwrap();
    let stats = table.stats();
    assert_eq!(stats.rows, 20);
    assert!(stats.indexes.iter().all(|index| index.entries == 20));

    // Moving it back restores the original look-ups.
    assert_eq!(table.update(old.clone()).await.unwrap(), moved);
    assert_eq!(table.get_by(Product::SKU, old.sku.as_str()), Some(old));
    assert_eq!(table.get_by(Product::SKU, "SKU-NEW"), None);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn an_update_that_changes_only_plain_fields_keeps_every_look_up() {
    let table = products().await;
    let changed = Product {
        price: 123_456,
        name: "renamed".to_owned(),
        ..product(9)
    };
    table.update(changed.clone()).await.unwrap();
    assert_eq!(
        table.get_by(Product::SKU, changed.sku.as_str()),
        Some(changed.clone())
    );
    assert_eq!(table.find_by(Product::SHOP, &0)[2], changed);
    assert_eq!(
        table
            .prefix_by(Product::BY_SHOP_AISLE, 0u16)
            .find(|row| row.id == 9),
        Some(changed)
    );
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn delete_by_a_unique_key_returns_the_row_and_removes_all_its_entries() {
    let table = products().await;
    let target = product(11);
    let removed = table
        .delete_by(Product::SKU, target.sku.as_str())
        .await
        .unwrap();
    assert_eq!(removed, target);
    assert_eq!(table.get(&11), None);
    assert_eq!(table.get_by(Product::CODE, &target.code), None);
    assert!(!ids(table.find_by(Product::SHOP, &target.shop)).contains(&11));
    assert_eq!(table.len(), 19);

    let by_code = table
        .delete_by(Product::CODE, &product(12).code)
        .await
        .unwrap();
    assert_eq!(by_code, product(12));

    let again = table.delete_by(Product::SKU, target.sku.as_str()).await;
    assert!(matches!(again, Err(TableError::NotFound { .. })));
    assert_eq!(table.len(), 18);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn delete_all_by_returns_the_deleted_rows_in_pk_order() {
    let table = products().await;
    let removed = table.delete_all_by(Product::SHOP, &1).await.unwrap();
    assert_eq!(ids(removed.clone()), [1, 4, 7, 10, 13, 16, 19]);
    assert!(removed.iter().all(|row| *row == product(row.id)));
    assert_eq!(table.len(), 13);
    assert!(table.find_by(Product::SHOP, &1).is_empty());
    assert_eq!(table.get_by(Product::SKU, product(4).sku.as_str()), None);

    // No match: nothing deleted, not an error.
    assert!(
        table
            .delete_all_by(Product::SHOP, &1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(table.len(), 13);

    // Through a composite index and a unique one.
    let removed = table
        .delete_all_by(Product::BY_SHOP_AISLE, &(2, 1))
        .await
        .unwrap();
    assert_eq!(ids(removed), [5, 17]);
    let removed = table.delete_all_by(Product::SKU, "SKU-074").await.unwrap();
    assert_eq!(removed, vec![product(2)]);
    assert_eq!(table.len(), 10);
    assert_eq!(ids(table.iter()), [3, 6, 8, 9, 11, 12, 14, 15, 18, 20]);
    table.check_integrity().unwrap();
}

/// A reading of a sensor, indexed by site name then time.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_site_stamp", fields(site, stamp)))]
struct Reading {
    #[pk]
    id: u32,
    site: String,
    stamp: u64,
}

#[tokio::test]
async fn prefix_by_a_string_field_takes_a_str_or_a_string() {
    let readings = WorkTable::<Reading>::new();
    for (id, site, stamp) in [(1, "b", 5), (2, "a", 9), (3, "b", 1), (4, "ab", 2)] {
        let site = site.to_owned();
        readings.insert(Reading { id, site, stamp }).await.unwrap();
    }
    let borrowed: Vec<u32> = readings
        .prefix_by(Reading::BY_SITE_STAMP, "b")
        .map(|r| r.id)
        .collect();
    assert_eq!(borrowed, [3, 1], "rows of site `b` in stamp order");
    let owned: Vec<u32> = readings
        .prefix_by(Reading::BY_SITE_STAMP, "a".to_owned())
        .rev()
        .map(|r| r.id)
        .collect();
    assert_eq!(owned, [2], "`a` is not a prefix of `ab` at the field level");
    assert_eq!(readings.prefix_by(Reading::BY_SITE_STAMP, "c").count(), 0);
}
