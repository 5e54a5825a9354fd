//! `#[index(each)]` on a `Vec<T>` field: one entry per distinct element, so that
//! `find_by(Row::TAGS, "x")` returns the rows whose field holds `"x"`; kept in step by
//! inserts, updates that gain, keep and lose elements, upserts, deletes, multi-row writes,
//! transactions, vacuum, a bulk load and a durable table's reopen (from its page file and
//! from its log); looked up through queries, snapshots, watches and transactions.

use futures::StreamExt;
use worktable_core::prelude::*;
use worktable_core::{ChangeKind, Watch};
use worktable_persist::{Options, PersistentTable};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(crate) struct Article {
    #[pk]
    pub(crate) id: u32,
    #[index(each)]
    pub(crate) tags: Vec<String>,
    #[index(each)]
    pub(crate) readers: Vec<u16>,
    #[index]
    pub(crate) author: u8,
    #[index(unique)]
    pub(crate) slug: String,
    pub(crate) body: String,
}

#[derive(Database)]
struct Newsroom {
    articles: WorkTable<Article>,
}

pub(crate) fn article(id: u32, tags: &[&str], readers: &[u16]) -> Article {
    Article {
        id,
        tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        readers: readers.to_vec(),
        author: (id % 3) as u8,
        slug: format!("s{id}"),
        body: "b".repeat(id as usize % 50),
    }
}

fn ids(rows: &[Article]) -> Vec<u32> {
    rows.iter().map(|a| a.id).collect()
}

async fn filled(articles: &WorkTable<Article>) {
    articles
        .insert(article(1, &["rust", "db"], &[7]))
        .await
        .unwrap();
    // Repeats in one row make one entry.
    articles
        .insert(article(2, &["db", "db", "go"], &[7, 7, 8]))
        .await
        .unwrap();
    articles.insert(article(3, &[], &[])).await.unwrap();
    articles.insert(article(4, &["rust"], &[9])).await.unwrap();
}

#[tokio::test]
async fn rows_are_found_by_each_element_of_their_field() {
    let articles = WorkTable::<Article>::new();
    filled(&articles).await;
    assert_eq!(ids(&articles.find_by(Article::TAGS, "rust")), [1, 4]);
    assert_eq!(ids(&articles.find_by(Article::TAGS, &"db")), [1, 2]);
    assert_eq!(ids(&articles.find_by(Article::TAGS, &"go".to_owned())), [2]);
    assert!(articles.find_by(Article::TAGS, "java").is_empty());
    assert_eq!(ids(&articles.find_by(Article::READERS, &7)), [1, 2]);
    // Entries: distinct elements per row.
    let stats = articles.stats();
    let entries = |name: &str| {
        stats
            .indexes
            .iter()
            .find(|i| i.name == name)
            .unwrap()
            .entries
    };
    assert_eq!((entries("tags"), entries("readers")), (5, 4));
    articles.check_integrity().unwrap();

    // A query by an element, with the usual filters and order.
    let by_query = articles
        .query()
        .by(Article::TAGS, "rust")
        .order_by_desc(Article::ID)
        .to_vec();
    assert_eq!(ids(&by_query), [4, 1]);
    assert_eq!(articles.query().by(Article::READERS, &7).count(), 2);
    // `Index::keys` lists a row's keys, sorted, without repeats.
    let row = articles.get(&2).unwrap();
    assert_eq!(keys_of(Article::TAGS, &row), ["db", "go"]);
    assert_eq!(keys_of(Article::READERS, &row), [7, 8]);
    assert_eq!(keys_of(Article::AUTHOR, &row), [2]);
}

/// The keys of `row` in `index`, as generic code reads them.
fn keys_of<I: Index<Article>>(index: I, row: &Article) -> Vec<I::Key> {
    let _ = index;
    I::keys(row)
}

#[tokio::test]
async fn writes_keep_the_entries_in_step() {
    let articles = WorkTable::<Article>::new();
    filled(&articles).await;
    // Gains "go", keeps "rust", loses "db".
    articles
        .update(article(1, &["go", "rust"], &[7]))
        .await
        .unwrap();
    assert_eq!(ids(&articles.find_by(Article::TAGS, "db")), [2]);
    assert_eq!(ids(&articles.find_by(Article::TAGS, "go")), [1, 2]);
    assert_eq!(ids(&articles.find_by(Article::TAGS, "rust")), [1, 4]);
    // An update that leaves the field alone, then `update_with` on the field.
    articles
        .update_with(&4, |a| a.body.push_str("edited"))
        .await
        .unwrap();
    articles
        .update_with(&3, |a| a.tags.push("db".into()))
        .await
        .unwrap();
    assert_eq!(ids(&articles.find_by(Article::TAGS, "db")), [2, 3]);
    // Upserts: a new row and a replaced one.
    articles.upsert(article(5, &["db"], &[])).await.unwrap();
    articles.upsert(article(2, &["go"], &[8])).await.unwrap();
    assert_eq!(ids(&articles.find_by(Article::TAGS, "db")), [3, 5]);
    // Multi-row writes by an element.
    let changed = articles
        .update_all_by(Article::TAGS, "go", |a| a.tags.retain(|t| t != "go"))
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert!(articles.find_by(Article::TAGS, "go").is_empty());
    let gone = articles.delete_all_by(Article::TAGS, "db").await.unwrap();
    assert_eq!(ids(&gone), [3, 5]);
    articles.delete(&4).await.unwrap();
    assert_eq!(ids(&articles.find_by(Article::TAGS, "rust")), [1]);
    articles.check_integrity().unwrap();

    // Vacuum moves rows and changes no entry.
    for id in 10..400 {
        articles
            .insert(article(id, &["bulk", "db"], &[1]))
            .await
            .unwrap();
    }
    for id in (10..400).filter(|id| id % 4 != 0) {
        articles.delete(&id).await.unwrap();
    }
    articles.reclaim_retired();
    articles.vacuum();
    assert_eq!(articles.find_by(Article::TAGS, "bulk").len(), 97);
    articles.check_integrity().unwrap();
}

#[tokio::test]
async fn transactions_snapshots_and_watches_see_elements() {
    let newsroom = Newsroom::new();
    let articles = &newsroom.articles;
    filled(articles).await;
    let mut rust_feed = articles.subscribe_to(Watch::index(Article::TAGS, "rust".to_owned()));
    let before = articles.snapshot();

    let tx = newsroom.begin();
    tx.articles
        .update_with(&2, |a| a.tags.push("rust".into()))
        .unwrap();
    tx.articles.insert(article(6, &["rust"], &[])).unwrap();
    assert_eq!(
        ids(&tx.articles.find_by(Article::TAGS, "rust")),
        [1, 2, 4, 6]
    );
    tx.commit().await.unwrap();

    assert_eq!(ids(&articles.find_by(Article::TAGS, "rust")), [1, 2, 4, 6]);
    assert_eq!(ids(&before.find_by(Article::TAGS, "rust")), [1, 4]);
    let first = rust_feed.next().await.unwrap().unwrap();
    assert_eq!((*first.pk(), first.kind()), (2, ChangeKind::Insert)); // moved in
    assert!(first.moved());
    let second = rust_feed.next().await.unwrap().unwrap();
    assert_eq!((*second.pk(), second.kind()), (6, ChangeKind::Insert));

    // A transaction that fails while its changes are prepared takes out the entries
    // its update added, and only those.
    let tx = newsroom.begin();
    tx.articles
        .update_with(&1, |a| a.tags = vec!["new".into(), "rust".into()])
        .unwrap();
    let taken_slug = Article {
        slug: "s4".into(),
        ..article(7, &["new"], &[])
    };
    tx.articles.insert(taken_slug).unwrap();
    assert!(tx.commit().await.is_err());
    assert!(articles.find_by(Article::TAGS, "new").is_empty());
    assert_eq!(ids(&articles.find_by(Article::TAGS, "rust")), [1, 2, 4, 6]);
    assert_eq!(ids(&articles.find_by(Article::TAGS, "db")), [1, 2]);
    articles.check_integrity().unwrap();
}

#[tokio::test]
async fn bulk_loads_and_durable_reopens_rebuild_the_entries() {
    let rows: Vec<Article> = (0..5_000)
        .map(|id| {
            let tags = [
                ["a", "b", "c"][id as usize % 3],
                ["x", "y"][id as usize % 2],
            ];
            article(id, &tags, &[(id % 10) as u16, 1])
        })
        .collect();
    let loaded = WorkTable::from_rows(rows.clone()).unwrap();
    assert_eq!(loaded.find_by(Article::TAGS, "a").len(), 1_667);
    assert_eq!(loaded.find_by(Article::READERS, &1).len(), 5_000);
    loaded.check_integrity().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let table = PersistentTable::<Article>::open(dir.path(), Options::default()).unwrap();
    for row in rows.iter().take(3_000) {
        table.insert(row.clone()).await.unwrap();
    }
    table.checkpoint().await.unwrap();
    // After the checkpoint, in the log only.
    for row in &rows[3_000..] {
        table.insert(row.clone()).await.unwrap();
    }
    table.update(article(0, &["fresh"], &[])).await.unwrap();
    table.delete(&1).await.unwrap();
    let expect = |table: &WorkTable<Article>| {
        assert_eq!(ids(&table.find_by(Article::TAGS, "fresh")), [0]);
        assert_eq!(table.find_by(Article::TAGS, "a").len(), 1_666);
        assert_eq!(table.find_by(Article::TAGS, "b").len(), 1_666);
        assert_eq!(table.find_by(Article::READERS, &1).len(), 4_998);
        table.check_integrity().unwrap();
    };
    expect(&table);
    drop(table);
    let table = PersistentTable::<Article>::open(dir.path(), Options::default()).unwrap();
    expect(&table);
    table.close().await.unwrap();
    let table = PersistentTable::<Article>::open(dir.path(), Options::default()).unwrap();
    expect(&table);
    table.close().await.unwrap();
}
