// A three-field primary key (a tuple in field order) and a three-field
// composite index, both searched by prefixes of one and two fields.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_region_store_day", fields(region, store, day)))]
struct Sale {
    #[pk]
    region: String,
    #[pk]
    store: u32,
    #[pk]
    receipt: u64,
    day: u16,
    amount: i64,
}

fn sale(region: &str, store: u32, receipt: u64, day: u16) -> Sale {
    Sale {
        region: region.into(),
        store,
        receipt,
        day,
        amount: 100,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let sales = WorkTable::<Sale>::new();
    let pk: (String, u32, u64) = sales.insert(sale("eu", 1, 10, 3)).await?;
    assert_eq!(pk, ("eu".to_string(), 1, 10));
    sales.insert(sale("eu", 1, 11, 2)).await?;
    sales.insert(sale("eu", 2, 12, 1)).await?;
    sales.insert(sale("us", 1, 13, 1)).await?;

    assert_eq!(sales.get(&("eu".to_string(), 1, 11)).unwrap().day, 2);
    assert!(sales.get(&("eu".to_string(), 2, 11)).is_none());

    let receipts = |rows: Vec<Sale>| rows.iter().map(|s| s.receipt).collect::<Vec<_>>();
    let one: Vec<Sale> = sales
        .prefix_by(Sale::BY_REGION_STORE_DAY, "eu".to_string())
        .collect();
    assert_eq!(receipts(one), [11, 10, 12]);
    let two: Vec<Sale> = sales
        .prefix_by(Sale::BY_REGION_STORE_DAY, ("eu".to_string(), 1))
        .rev()
        .collect();
    assert_eq!(receipts(two), [10, 11]);
    let full = sales.find_by(Sale::BY_REGION_STORE_DAY, &("us".to_string(), 1, 1));
    assert_eq!(receipts(full), [13]);

    // The primary key searched by its prefixes, in key order.
    assert_eq!(receipts(sales.prefix("eu").collect()), [10, 11, 12]);
    let store_1: Vec<Sale> = sales.prefix(("eu".to_string(), 1)).rev().collect();
    assert_eq!(receipts(store_1), [11, 10]);
    sales.check_integrity().unwrap();
    Ok(())
}
