// Every table needs a primary key.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    id: u64,
    #[index(unique)]
    email: String,
}

fn main() {}
