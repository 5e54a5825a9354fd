// #[pk] written twice on one field.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk]
    #[pk]
    id: u64,
    name: String,
}

fn main() {}
