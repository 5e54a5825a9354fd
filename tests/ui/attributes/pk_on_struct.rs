// #[pk] belongs on a field, not on the struct.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[pk]
struct User {
    #[pk]
    id: u64,
    name: String,
}

fn main() {}
