// `hash` keeps one row per key: a non-unique index cannot be a hash index.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Order {
    #[pk]
    id: u64,
    #[index(hash)]
    account: u32,
}

fn main() {}
