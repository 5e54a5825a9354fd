// `usize` is archived by rkyv as 32 bits; values above `u32::MAX` would be
// cut silently, so the derive refuses the column.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Blob {
    #[pk]
    id: u64,
    size: usize,
}

fn main() {}
