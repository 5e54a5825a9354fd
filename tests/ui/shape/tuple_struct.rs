// A tuple struct has no field names for #[pk] and #[index] to refer to.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Point(u64, i32, i32);

fn main() {}
