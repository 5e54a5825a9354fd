// A hash index keeps no order: `range_by` needs an ordered index.
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
    let _ = users.range_by(User::EMAIL, ..).count();
}
