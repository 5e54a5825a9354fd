// `each` indexes the elements of a `Vec<T>` field; a `String` is not one.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Article {
    #[pk]
    id: u64,
    #[index(each)]
    tags: String,
}

fn main() {}
