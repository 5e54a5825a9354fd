// A composite index listed as an array naming a field the struct does not
// have: the same error as the list spelling, at the name.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields = [account, acount]))]
struct Order {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {}
