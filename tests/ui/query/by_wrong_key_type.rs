// The key of a query's `by` source must be the index's key type (or borrowed
// from it).
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
    let _ = orders.query().by(Order::ACCOUNT, "7").count();
}
