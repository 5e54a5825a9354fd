// A key of one field has no prefix: `prefix` needs a composite primary key.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Order {
    #[pk]
    id: u64,
    price: i64,
}

fn main() {
    let orders = WorkTable::<Order>::new();
    let _ = orders.prefix(7u64);
}
