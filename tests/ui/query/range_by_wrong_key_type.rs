// The bounds of a query's `range_by` source must be of the index's key type.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Order {
    #[pk]
    id: u64,
    #[index]
    account: u32,
}

fn main() {
    let orders = WorkTable::<Order>::new();
    let _ = orders.query().range_by(Order::ACCOUNT, 1i64..5).count();
}
