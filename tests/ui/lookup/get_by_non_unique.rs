// get_by returns one row, so it takes a unique index only.
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
    let _ = orders.get_by(Order::ACCOUNT, &7);
}
