// f64 has no total order, so it cannot be an index key.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Quote {
    #[pk]
    id: u64,
    #[index]
    price: f64,
}

fn main() {}
