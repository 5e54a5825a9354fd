//! Model-based test of `#[index(each)]`: random inserts, updates, upserts, deletes and
//! multi-row writes by an element are applied to a table and to a `BTreeMap` model;
//! after every step, `find_by` of every element of the pools gives exactly the rows
//! whose field holds it (in primary-key order), each index has one entry per distinct
//! element of each row, and `check_integrity` passes. Elements repeat within rows and
//! across them; keys come from a small pool, so writes hit, miss and fail often.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Post {
    #[pk]
    id: u8,
    #[index(each)]
    tags: Vec<u8>,
    #[index(each)]
    labels: Vec<String>,
    note: u16,
}

const IDS: u8 = 12;
const TAGS: u8 = 6;
const LABELS: [&str; 4] = ["", "a", "ab", "b"];

#[derive(Clone, Debug)]
enum Op {
    Insert(Post),
    Update(Post),
    Upsert(Post),
    Delete(u8),
    /// Adds a tag to every row with a label, and bumps the note.
    TagAllBy(String, u8),
    /// Deletes every row with a tag.
    DeleteAllBy(u8),
}

fn post() -> impl Strategy<Value = Post> {
    (
        0..IDS,
        prop::collection::vec(0..TAGS, 0..5),
        prop::collection::vec(select(&LABELS[..]).prop_map(str::to_owned), 0..4),
        any::<u16>(),
    )
        .prop_map(|(id, tags, labels, note)| Post {
            id,
            tags,
            labels,
            note,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => post().prop_map(Op::Insert),
        3 => post().prop_map(Op::Update),
        2 => post().prop_map(Op::Upsert),
        2 => (0..IDS).prop_map(Op::Delete),
        1 => (select(&LABELS[..]).prop_map(str::to_owned), 0..TAGS)
            .prop_map(|(label, tag)| Op::TagAllBy(label, tag)),
        1 => (0..TAGS).prop_map(Op::DeleteAllBy),
    ]
}

type Model = BTreeMap<u8, Post>;

/// Applies `op` to the table and the model; the table's answer must be the model's.
async fn apply(table: &WorkTable<Post>, model: &mut Model, op: &Op) -> TestCaseResult {
    match op {
        Op::Insert(row) => {
            let done = table.insert(row.clone()).await.is_ok();
            prop_assert_eq!(done, !model.contains_key(&row.id));
            model.entry(row.id).or_insert_with(|| row.clone());
        }
        Op::Update(row) => {
            let done = table.update(row.clone()).await.is_ok();
            prop_assert_eq!(done, model.contains_key(&row.id));
            if done {
                model.insert(row.id, row.clone());
            }
        }
        Op::Upsert(row) => {
            table.upsert(row.clone()).await.unwrap();
            model.insert(row.id, row.clone());
        }
        Op::Delete(id) => {
            let gone = table.delete(id).await.ok();
            prop_assert_eq!(gone, model.remove(id));
        }
        Op::TagAllBy(label, tag) => {
            let retag = |post: &mut Post| {
                post.tags.push(*tag);
                post.note = post.note.wrapping_add(1);
            };
            let changed = table
                .update_all_by(Post::LABELS, label.as_str(), retag)
                .await
                .unwrap();
            let selected: Vec<&mut Post> = model
                .values_mut()
                .filter(|post| post.labels.contains(label))
                .collect();
            prop_assert_eq!(changed, selected.len());
            selected.into_iter().for_each(retag);
        }
        Op::DeleteAllBy(tag) => {
            let gone = table.delete_all_by(Post::TAGS, tag).await.unwrap();
            let expected: Vec<Post> = model
                .values()
                .filter(|post| post.tags.contains(tag))
                .cloned()
                .collect();
            prop_assert_eq!(gone, expected);
            model.retain(|_, post| !post.tags.contains(tag));
        }
    }
    Ok(())
}

/// Compares every look-up by an element, and the entry counts, with the model.
fn check(table: &WorkTable<Post>, model: &Model) -> TestCaseResult {
    let ids = |rows: Vec<Post>| rows.into_iter().map(|post| post.id).collect::<Vec<_>>();
    for tag in 0..TAGS {
        let expected: Vec<u8> = model
            .values()
            .filter(|post| post.tags.contains(&tag))
            .map(|post| post.id)
            .collect();
        prop_assert_eq!(
            ids(table.find_by(Post::TAGS, &tag)),
            expected,
            "tag {}",
            tag
        );
    }
    for label in LABELS {
        let expected: Vec<u8> = model
            .values()
            .filter(|post| post.labels.iter().any(|l| l == label))
            .map(|post| post.id)
            .collect();
        prop_assert_eq!(
            ids(table.find_by(Post::LABELS, label)),
            expected,
            "label {:?}",
            label
        );
    }
    let distinct = |keys: fn(&Post) -> BTreeSet<String>| -> usize {
        model.values().map(|post| keys(post).len()).sum()
    };
    let stats = table.stats();
    let entries: Vec<usize> = stats.indexes.iter().map(|index| index.entries).collect();
    let tags = distinct(|post| post.tags.iter().map(u8::to_string).collect());
    let labels = distinct(|post| post.labels.iter().cloned().collect());
    prop_assert_eq!(entries, vec![tags, labels]);
    prop_assert!(table.check_integrity().is_ok());
    Ok(())
}

fn case(ops: &[Op]) -> TestCaseResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let table = WorkTable::<Post>::new();
    let mut model = Model::new();
    for op in ops {
        rt.block_on(apply(&table, &mut model, op))?;
        check(&table, &model)?;
    }
    Ok(())
}

#[test]
fn element_indexes_match_a_model() {
    let mut runner = TestRunner::new(Config {
        cases: 64,
        // Failing sequences are printed shrunk; no regression files are written
        // into the source tree.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..=120), |ops| case(&ops));
    if let Err(error) = result {
        panic!("{error}");
    }
}
