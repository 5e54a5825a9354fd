// `unique` given twice in one #[index(...)].
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk]
    id: u64,
    #[index(unique, unique)]
    email: String,
}

fn main() {}
