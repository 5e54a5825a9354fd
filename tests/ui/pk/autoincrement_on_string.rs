// autoincrement counts 1, 2, 3, ...: it needs an integer key.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk(autoincrement)]
    id: String,
    name: String,
}

fn main() {}
