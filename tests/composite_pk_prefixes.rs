//! Prefix searches on a composite primary key (`prefix`), on a table, a snapshot, a
//! table of a database, in a transaction and as a query source, give exactly the rows an
//! ordered model gives for every prefix of one and two fields (a `String` first field
//! also as `&str`), forward and reversed, while rows come and go; whole-key ranges over
//! the same key agree with the model too.

use std::collections::BTreeMap;

use worktable_core::prelude::*;

use crate::concurrent::Rng;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Visit {
    #[pk]
    site: String,
    #[pk]
    day: u16,
    #[pk]
    visitor: u32,
    seconds: u32,
}

type Pk = (String, u16, u32);

#[derive(Database)]
struct Analytics {
    visits: WorkTable<Visit>,
}

const SITES: [&str; 5] = ["", "a", "ab", "shared-prefix:1", "shared-prefix:2"];

fn visit(rng: &mut Rng) -> Visit {
    Visit {
        site: SITES[rng.below(5) as usize].to_owned(),
        day: rng.below(6) as u16,
        visitor: rng.below(40),
        seconds: rng.below(1_000),
    }
}

fn pks(rows: impl IntoIterator<Item = Visit>) -> Vec<Pk> {
    rows.into_iter().map(|v| v.pk()).collect()
}

/// Checks every prefix of one and two fields, and a few whole-key ranges, against the
/// model.
fn check(visits: &WorkTable<Visit>, model: &BTreeMap<Pk, Visit>) {
    for site in SITES {
        let expected: Vec<Pk> = model.keys().filter(|pk| pk.0 == site).cloned().collect();
        assert_eq!(pks(visits.prefix(site)), expected, "prefix {site:?}");
        assert_eq!(pks(visits.prefix(site.to_owned())), expected);
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(pks(visits.prefix(site).rev()), reversed);
        for day in 0..6u16 {
            let expected: Vec<Pk> = model
                .keys()
                .filter(|pk| pk.0 == site && pk.1 == day)
                .cloned()
                .collect();
            assert_eq!(pks(visits.prefix((site.to_owned(), day))), expected);
        }
        let from: Pk = (site.to_owned(), 2, 10);
        let expected: Vec<Pk> = model
            .range(from.clone()..)
            .map(|(pk, _)| pk.clone())
            .collect();
        assert_eq!(pks(visits.range(from..)), expected);
    }
}

#[tokio::test]
async fn prefixes_agree_with_an_ordered_model_while_rows_come_and_go() {
    let visits = WorkTable::<Visit>::new();
    let mut model = BTreeMap::new();
    let mut rng = Rng::new(7);
    for step in 0..1_500 {
        let row = visit(&mut rng);
        if rng.below(3) == 0 {
            let gone = visits.delete(&row.pk()).await.ok();
            assert_eq!(gone, model.remove(&row.pk()));
        } else {
            visits.upsert(row.clone()).await.unwrap();
            model.insert(row.pk(), row);
        }
        if step % 250 == 0 {
            check(&visits, &model);
        }
    }
    check(&visits, &model);
    visits.check_integrity().unwrap();
}

async fn filled(visits: &WorkTable<Visit>) {
    for (site, day, visitor) in [("a", 1, 7), ("a", 2, 7), ("a", 2, 9), ("b", 1, 7)] {
        let row = Visit {
            site: site.into(),
            day,
            visitor,
            seconds: visitor * 10,
        };
        visits.insert(row).await.unwrap();
    }
}

fn visitors(rows: impl IntoIterator<Item = Visit>) -> Vec<u32> {
    rows.into_iter().map(|v| v.visitor).collect()
}

#[tokio::test]
async fn snapshots_transactions_and_queries_search_by_prefix() {
    let db = Analytics::new();
    filled(&db.visits).await;
    let before = db.visits.snapshot();
    db.visits.delete(&("a".to_owned(), 2, 7)).await.unwrap();
    // The snapshot still has the deleted row; the table (read at one commit) has not.
    assert_eq!(visitors(before.prefix(("a".to_owned(), 2))), [7, 9]);
    assert_eq!(visitors(db.visits.prefix(("a".to_owned(), 2))), [9]);

    let tx = db.begin();
    tx.visits
        .insert(Visit {
            site: "a".into(),
            day: 0,
            visitor: 3,
            seconds: 1,
        })
        .unwrap();
    tx.visits.delete(&("a".to_owned(), 1, 7)).unwrap();
    assert_eq!(visitors(tx.visits.prefix("a")), [3, 9]);
    tx.commit().await.unwrap();
    assert_eq!(visitors(db.visits.prefix("a")), [3, 9]);

    // A query: the prefix fixes the site; order and limit apply to the rest.
    let longest = db
        .visits
        .query()
        .prefix("a")
        .order_by_desc(Visit::SECONDS)
        .limit(1)
        .to_vec();
    assert_eq!(visitors(longest), [9]);
    assert_eq!(db.visits.query().prefix(("b".to_owned(), 1)).count(), 1);
    assert_eq!(db.visits.query().prefix("c").count(), 0);
}
