// `each` belongs on one `Vec<T>` field, not on a composite index.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_author_tags", fields(author, tags), each))]
struct Article {
    #[pk]
    id: u64,
    author: u32,
    tags: Vec<String>,
}

fn main() {}
