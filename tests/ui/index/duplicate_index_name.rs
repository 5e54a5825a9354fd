// A composite index named like a field index: both would be `Order::ACCOUNT`.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "account", fields(account, day)))]
struct Order {
    #[pk]
    id: u64,
    #[index]
    account: u32,
    day: u16,
}

fn main() {}
