// A misspelled key inside #[table(...)].
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(nmae = "users")]
struct User {
    #[pk]
    id: u64,
    name: String,
}

fn main() {}
