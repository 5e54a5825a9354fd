// `hash` needs `unique` on a composite index too.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields(account, day), hash))]
struct Order {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {}
