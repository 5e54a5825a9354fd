// A composite hash index keeps no order: it cannot be searched by a prefix.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields(account, day), unique, hash))]
struct Balance {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {
    let balances = WorkTable::<Balance>::new();
    let _ = balances.prefix_by(Balance::BY_ACCOUNT_DAY, 7).count();
}
