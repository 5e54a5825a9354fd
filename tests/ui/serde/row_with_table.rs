// `#[row]` adds `#[derive(Table)]` itself: deriving it by hand as well is
// refused with one error.
use serde::{Deserialize, Serialize};
use worktable_core::prelude::*;

#[row]
#[derive(Table, Serialize, Deserialize, Clone, Debug)]
struct Order {
    #[pk]
    id: u64,
}

fn main() {}
