// #[index] written twice on one field.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk]
    id: u64,
    #[index]
    #[index(unique)]
    email: String,
}

fn main() {}
