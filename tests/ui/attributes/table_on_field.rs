// #[table(...)] belongs on the struct, not on a field.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk]
    #[table(name = "users")]
    id: u64,
    name: String,
}

fn main() {}
