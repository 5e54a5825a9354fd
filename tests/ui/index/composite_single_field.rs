// A composite index of one field is a plain #[index].
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account", fields(account)))]
struct Order {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {}
