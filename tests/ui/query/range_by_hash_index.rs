// A query's `range_by` source reads an index in key order: a hash index has none.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk]
    id: u64,
    #[index(unique, hash)]
    email: String,
}

fn main() {
    let users = WorkTable::<User>::new();
    let _ = users.query().range_by(User::EMAIL, ..).count();
}
