// A field handle is not an index handle unless the field has #[index].
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
    let _ = orders.find_by(Order::PRICE, &5);
}
