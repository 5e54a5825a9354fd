// A prefix of `by_account_day` starts with the account (a u32), not a string.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields(account, day)))]
struct Order {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {
    let orders = WorkTable::<Order>::new();
    let _ = orders.prefix_by(Order::BY_ACCOUNT_DAY, "7").count();
}
