// A pointer-sized integer nested in a column type is refused too.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Series {
    #[pk]
    id: u64,
    deltas: Vec<isize>,
}

fn main() {}
