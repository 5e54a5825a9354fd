// Index names become constants and type names: they must be snake_case.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "ByAccountDay", fields(account, day)))]
struct Order {
    #[pk]
    id: u64,
    account: u32,
    day: u16,
}

fn main() {}
