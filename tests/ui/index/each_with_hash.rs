// An `each` index keeps its entries in order: it cannot be a hash index.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Article {
    #[pk]
    id: u64,
    #[index(each, hash)]
    tags: Vec<String>,
}

fn main() {}
