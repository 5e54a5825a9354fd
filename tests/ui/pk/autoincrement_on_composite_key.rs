// autoincrement cannot fill one part of a composite key.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Line {
    #[pk]
    order: u64,
    #[pk(autoincrement)]
    line: u32,
    quantity: u32,
}

fn main() {}
