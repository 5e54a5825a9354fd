// Rows may share elements: an `each` index cannot be unique.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Article {
    #[pk]
    id: u64,
    #[index(each, unique)]
    tags: Vec<String>,
}

fn main() {}
