//! Queries, one promise at a time: each source selects the documented rows in
//! the documented order; `filter` and `filter_archived` select the same rows
//! and `filter_archived` never deserializes the rows it rejects; `order_by`
//! breaks ties by primary key, ascending, whatever the directions (also when
//! the rows stream backward from an index); `offset` and `limit` at their
//! edges, also for `count()` and `exists()`; ordering by the source's own
//! order streams and stops early; `update_with` and `delete` change exactly
//! the query's rows; and queries running while writers run return only rows
//! that belong to their source, pass their filters and come in order.

mod concurrent;
mod filters;
mod order;
mod sources;
mod window;
mod writes;

use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items", index(name = "by_group_rank", fields(group, rank)))]
pub(super) struct Item {
    #[pk]
    pub(super) id: u32,
    #[index(unique)]
    pub(super) code: String,
    #[index]
    pub(super) group: u8,
    pub(super) rank: i16,
    pub(super) price: i64,
}

pub(super) fn item(id: u32, code: &str, group: u8, rank: i16, price: i64) -> Item {
    Item {
        id,
        code: code.to_owned(),
        group,
        rank,
        price,
    }
}

/// The fixture, by id. Codes are not in id order; groups, ranks and prices
/// repeat, so every order has ties:
///
/// | id | code | group | rank | price |
/// |----|------|-------|------|-------|
/// |  1 | k    | 2     | 1    | 30    |
/// |  2 | c    | 1     | 0    | 10    |
/// |  3 | a    | 2     | 0    | 30    |
/// |  4 | j    | 0     | 2    | 5     |
/// |  5 | b    | 1     | 1    | 10    |
/// |  6 | f    | 2     | 1    | 20    |
/// |  7 | e    | 0     | 0    | 5     |
/// |  8 | i    | 1     | 0    | 40    |
/// |  9 | d    | 2     | 2    | 10    |
/// | 10 | h    | 0     | 1    | 25    |
/// | 11 | g    | 1     | 2    | 10    |
/// | 12 | l    | 2     | 0    | 5     |
pub(super) fn fixture() -> Vec<Item> {
    vec![
        item(1, "k", 2, 1, 30),
        item(2, "c", 1, 0, 10),
        item(3, "a", 2, 0, 30),
        item(4, "j", 0, 2, 5),
        item(5, "b", 1, 1, 10),
        item(6, "f", 2, 1, 20),
        item(7, "e", 0, 0, 5),
        item(8, "i", 1, 0, 40),
        item(9, "d", 2, 2, 10),
        item(10, "h", 0, 1, 25),
        item(11, "g", 1, 2, 10),
        item(12, "l", 2, 0, 5),
    ]
}

/// Number of fixture rows.
pub(super) const ITEMS: usize = 12;

/// A table holding the fixture, inserted in a scrambled order so that no
/// result comes out right because of insertion order.
pub(super) async fn items() -> WorkTable<Item> {
    let table = WorkTable::new();
    let rows = fixture();
    for i in 0..ITEMS {
        // 5 is coprime with 12: a permutation.
        let row = rows[(i * 5) % ITEMS].clone();
        table.insert(row).await.unwrap();
    }
    table.check_integrity().unwrap();
    table
}

pub(super) fn ids(rows: impl IntoIterator<Item = Item>) -> Vec<u32> {
    rows.into_iter().map(|row| row.id).collect()
}

/// The ids of the fixture rows for which `keep` holds, in id order.
pub(super) fn fixture_ids(keep: impl Fn(&Item) -> bool) -> Vec<u32> {
    ids(fixture().into_iter().filter(keep))
}

/// Fixture ids by price ascending, ties by id: 5: 4, 7, 12; 10: 2, 5, 9, 11;
/// 20: 6; 25: 10; 30: 1, 3; 40: 8.
pub(super) const BY_PRICE: [u32; 12] = [4, 7, 12, 2, 5, 9, 11, 6, 10, 1, 3, 8];
/// By price descending, ties still by id ascending.
pub(super) const BY_PRICE_DESC: [u32; 12] = [8, 1, 3, 10, 6, 2, 5, 9, 11, 4, 7, 12];
