// The table the documentation examples share. Each example includes it in a
// module (`mod support { include!(concat!(env!("CARGO_MANIFEST_DIR"),
// "/doc/support.rs")); }`), so it is compiled into the doc tests only, never
// into the library.

pub use futures::executor::block_on;
pub use worktable_core::TableError;
use worktable_core::{Archive, Deserialize, Serialize, Table, WorkTable};

/// The row type of the examples.
#[allow(dead_code)]
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields(account, day)))]
pub struct Order {
    /// Primary key.
    #[pk]
    pub id: u64,
    /// A unique reference.
    #[index(unique)]
    pub client_ref: String,
    /// The account the order belongs to.
    #[index]
    pub account: u32,
    /// Day number.
    pub day: u16,
    /// Price in cents.
    pub price: i64,
}

/// An order with a price of 100.
#[allow(dead_code)]
pub fn order(id: u64, client_ref: &str, account: u32, day: u16) -> Order {
    Order {
        id,
        client_ref: client_ref.to_owned(),
        account,
        day,
        price: 100,
    }
}

/// Orders 1 (`A-1`, account 7, day 1), 2 (`B-2`, account 8, day 1) and 3
/// (`C-3`, account 7, day 2).
#[allow(dead_code)]
pub async fn sample_orders() -> WorkTable<Order> {
    let orders = WorkTable::new();
    for row in [
        order(1, "A-1", 7, 1),
        order(2, "B-2", 8, 1),
        order(3, "C-3", 7, 2),
    ] {
        orders.insert(row).await.expect("sample rows are valid");
    }
    orders
}
