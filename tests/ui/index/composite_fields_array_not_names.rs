// A composite index's fields as an array, with something other than a field
// name in it, and as a string.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields = [account, 1]))]
struct Order {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields = "account, day"))]
struct Invoice {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {}
