// A `#[pk(hash)]` key keeps no order: it cannot be searched by a prefix.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Cell {
    #[pk(hash)]
    sheet: u16,
    #[pk]
    name: String,
    value: i64,
}

fn main() {
    let cells = WorkTable::<Cell>::new();
    let _ = cells.prefix(7u16);
}
