// `#[index(each)]` on `Vec` fields of several element types, with names that
// shadow the prelude's (the generated code names everything by full path).
use worktable_core::prelude::*;

#[allow(dead_code, reason = "shadows the prelude's names in the generated code's scope")]
type Result = ();
#[allow(dead_code, reason = "shadows the prelude's names in the generated code's scope")]
struct Vec;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Article {
    #[pk]
    id: u64,
    #[index(each)]
    tags: std::vec::Vec<String>,
    #[index(each)]
    readers: std::vec::Vec<(u32, u8)>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let articles = WorkTable::<Article>::new();
    articles
        .insert(Article {
            id: 1,
            tags: vec!["a".into(), "b".into(), "a".into()],
            readers: vec![(7, 1)],
        })
        .await?;
    assert_eq!(articles.find_by(Article::TAGS, "a").len(), 1);
    assert_eq!(articles.find_by(Article::READERS, &(7, 1)).len(), 1);
    assert_eq!(articles.stats().indexes[0].entries, 2);
    articles.check_integrity().unwrap();
    Ok(())
}
