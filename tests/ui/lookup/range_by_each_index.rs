// An `each` index is looked up by one element; it offers no ranges.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Article {
    #[pk]
    id: u64,
    #[index(each)]
    tags: Vec<String>,
}

fn main() {
    let articles = WorkTable::<Article>::new();
    let _ = articles.range_by(Article::TAGS, "a".to_string().."b".to_string());
}
