// A table row is a struct; an enum can only be a column.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
enum Shape {
    Circle { radius: u32 },
    Square { side: u32 },
}

fn main() {}
