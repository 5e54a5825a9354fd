//! Serializability checker: concurrent transactions of 2 to 6 operations
//! over two tables — reads by key, by a unique and a non-unique index, key
//! ranges, whole-table reads, queries, inserts (often of a duplicate unique code),
//! updates and deletes — each recording what every operation returned and
//! the commit number it got. Replaying the committed transactions one by
//! one, in commit order, on a `BTreeMap` model must reproduce every result
//! they recorded and, at the end, the tables exactly.
//!
//! 48 cases of 4 concurrent tasks × 10–30 transactions each run in about
//! 2 s (`WORKTABLE_CAMPAIGN=1`: 2,000 cases). Mutation check, run by hand
//! when the protocol changes: each of these planted bugs makes the first
//! case fail — skipping validation (`Part::conflicts` returning `false`),
//! validating point reads only (predicates ignored), and not recording a
//! transaction's changes in the history (`EventHub::publish_in`).

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Item {
    #[pk]
    id: u8,
    #[index(unique)]
    code: u8,
    #[index]
    group: u8,
    value: i32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Note {
    #[pk]
    id: u8,
    #[index]
    item: u8,
}

#[derive(Database)]
struct Store {
    items: WorkTable<Item>,
    notes: WorkTable<Note>,
}

/// Small pools: collisions, hits and misses are frequent.
const IDS: u8 = 8;
const CODES: u8 = 6;
const GROUPS: u8 = 3;

#[derive(Clone, Debug)]
enum Op {
    Get(u8),
    ByCode(u8),
    ByGroup(u8),
    Range(u8, u8),
    All,
    NotesOf(u8),
    Query(u8),
    Insert(Item),
    SetValue(u8, i32),
    Move(u8, u8, u8),
    Delete(u8),
    AddNote(u8, u8),
    DropNote(u8),
}

/// What an operation returned, comparable with the model's answer.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Rows(Vec<Item>),
    Notes(Vec<Note>),
    Done(Result<(), String>),
}

fn op() -> impl Strategy<Value = Op> {
    let item = (0..IDS, 0..CODES, 0..GROUPS, 0..100i32).prop_map(|(id, code, group, value)| Item {
        id,
        code,
        group,
        value,
    });
    prop_oneof![
        (0..IDS).prop_map(Op::Get),
        (0..CODES).prop_map(Op::ByCode),
        (0..GROUPS).prop_map(Op::ByGroup),
        (0..IDS, 0..IDS).prop_map(|(a, b)| Op::Range(a.min(b), a.max(b))),
        Just(Op::All),
        (0..IDS).prop_map(Op::NotesOf),
        (0..GROUPS).prop_map(Op::Query),
        item.prop_map(Op::Insert),
        (0..IDS, 0..100i32).prop_map(|(id, v)| Op::SetValue(id, v)),
        (0..IDS, 0..CODES, 0..GROUPS).prop_map(|(id, c, g)| Op::Move(id, c, g)),
        (0..IDS).prop_map(Op::Delete),
        (0..IDS, 0..IDS).prop_map(|(id, item)| Op::AddNote(id, item)),
        (0..IDS).prop_map(Op::DropNote),
    ]
}

fn kind(error: &TableError) -> String {
    match error {
        TableError::NotFound { .. } => "not found".into(),
        TableError::DuplicatePk { .. } => "duplicate pk".into(),
        other => format!("{other}"),
    }
}

fn done(result: worktable_core::Result<impl Sized>) -> Seen {
    Seen::Done(result.map(|_| ()).map_err(|e| kind(&e)))
}

/// Runs `op` in `tx`.
fn run(tx: &StoreTx<'_>, op: &Op) -> Seen {
    match op {
        Op::Get(id) => Seen::Rows(tx.items.get(id).into_iter().collect()),
        // `find_by`, not `get_by`: the transaction's own writes may hold
        // one code twice until its commit refuses them.
        Op::ByCode(code) => Seen::Rows(tx.items.find_by(Item::CODE, code)),
        Op::ByGroup(group) => Seen::Rows(tx.items.find_by(Item::GROUP, group)),
        Op::Range(lo, hi) => Seen::Rows(tx.items.range(lo..=hi)),
        Op::All => Seen::Rows(tx.items.iter()),
        Op::NotesOf(item) => Seen::Notes(tx.notes.find_by(Note::ITEM, item)),
        Op::Query(group) => Seen::Rows(
            tx.items
                .query()
                .by(Item::GROUP, group)
                .filter(|i| i.value >= 50)
                .order_by_desc(Item::VALUE)
                .to_vec(),
        ),
        Op::Insert(item) => done(tx.items.insert(item.clone())),
        Op::SetValue(id, value) => done(tx.items.update_with(id, |i| i.value = *value)),
        Op::Move(id, code, group) => done(tx.items.update_with(id, |i| {
            i.code = *code;
            i.group = *group;
        })),
        Op::Delete(id) => done(tx.items.delete(id)),
        Op::AddNote(id, item) => done(tx.notes.insert(Note {
            id: *id,
            item: *item,
        })),
        Op::DropNote(id) => done(tx.notes.delete(id)),
    }
}

/// The model: both tables as ordered maps.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    items: BTreeMap<u8, Item>,
    notes: BTreeMap<u8, Note>,
}

impl Model {
    /// What `op` returns on the model, applying its write.
    fn apply(&mut self, op: &Op) -> Seen {
        let missing = || Seen::Done(Err("not found".into()));
        match op {
            Op::Get(id) => Seen::Rows(self.items.get(id).cloned().into_iter().collect()),
            Op::ByCode(code) => Seen::Rows(
                self.items
                    .values()
                    .filter(|i| i.code == *code)
                    .cloned()
                    .collect(),
            ),
            Op::ByGroup(group) => Seen::Rows(
                self.items
                    .values()
                    .filter(|i| i.group == *group)
                    .cloned()
                    .collect(),
            ),
            Op::Query(group) => {
                let mut rows: Vec<Item> = self
                    .items
                    .values()
                    .filter(|i| i.group == *group && i.value >= 50)
                    .cloned()
                    .collect();
                rows.sort_by(|a, b| b.value.cmp(&a.value).then(a.id.cmp(&b.id)));
                Seen::Rows(rows)
            }
            Op::Range(lo, hi) => {
                Seen::Rows(self.items.range(lo..=hi).map(|(_, i)| i.clone()).collect())
            }
            Op::All => Seen::Rows(self.items.values().cloned().collect()),
            Op::NotesOf(item) => Seen::Notes(
                self.notes
                    .values()
                    .filter(|n| n.item == *item)
                    .cloned()
                    .collect(),
            ),
            Op::Insert(item) => {
                if self.items.contains_key(&item.id) {
                    return Seen::Done(Err("duplicate pk".into()));
                }
                self.items.insert(item.id, item.clone());
                Seen::Done(Ok(()))
            }
            Op::SetValue(id, value) => match self.items.get_mut(id) {
                Some(item) => {
                    item.value = *value;
                    Seen::Done(Ok(()))
                }
                None => missing(),
            },
            Op::Move(id, code, group) => match self.items.get_mut(id) {
                Some(item) => {
                    item.code = *code;
                    item.group = *group;
                    Seen::Done(Ok(()))
                }
                None => missing(),
            },
            Op::Delete(id) => match self.items.remove(id) {
                Some(_) => Seen::Done(Ok(())),
                None => missing(),
            },
            Op::AddNote(id, item) => {
                if self.notes.contains_key(id) {
                    return Seen::Done(Err("duplicate pk".into()));
                }
                self.notes.insert(
                    *id,
                    Note {
                        id: *id,
                        item: *item,
                    },
                );
                Seen::Done(Ok(()))
            }
            Op::DropNote(id) => match self.notes.remove(id) {
                Some(_) => Seen::Done(Ok(())),
                None => missing(),
            },
        }
    }

    /// Whether the unique codes are still unique.
    fn codes_unique(&self) -> bool {
        let mut codes: Vec<u8> = self.items.values().map(|i| i.code).collect();
        codes.sort_unstable();
        codes.windows(2).all(|w| w[0] != w[1])
    }
}

/// A committed transaction: its commit number, whether it wrote, and what
/// each of its operations returned.
#[derive(Debug)]
struct Committed {
    commit: u64,
    wrote: bool,
    ops: Vec<(Op, Seen)>,
}

async fn worker(store: Arc<Store>, script: Vec<Vec<Op>>) -> Vec<Committed> {
    let mut committed = Vec::new();
    for ops in script {
        let tx = store.begin();
        let seen: Vec<(Op, Seen)> = ops.iter().map(|op| (op.clone(), run(&tx, op))).collect();
        let read_point = tx.read_point();
        tokio::task::yield_now().await;
        match tx.commit().await {
            // A transaction that changed nothing gets its read point.
            Ok(commit) => committed.push(Committed {
                commit,
                wrote: commit > read_point,
                ops: seen,
            }),
            Err(TableError::Conflict { .. } | TableError::DuplicateKey { .. }) => {}
            Err(other) => panic!("unexpected commit error: {other}"),
        }
    }
    committed
}

fn check(scripts: Vec<Vec<Vec<Op>>>) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let store = Arc::new(Store::new());
    let mut committed: Vec<Committed> = runtime.block_on(async {
        let tasks: Vec<_> = scripts
            .into_iter()
            .map(|script| tokio::spawn(worker(Arc::clone(&store), script)))
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    // A read-only transaction is serialized at its read point: after the
    // commit with that number, before the next.
    committed.sort_by_key(|c| (c.commit, !c.wrote));
    let mut model = Model::default();
    for tx in &committed {
        for (op, seen) in &tx.ops {
            let expected = model.apply(op);
            prop_assert_eq!(
                seen,
                &expected,
                "{:?} in the transaction committed at {}",
                op,
                tx.commit
            );
        }
        prop_assert!(
            model.codes_unique(),
            "commit {} broke a unique code",
            tx.commit
        );
    }
    let items: BTreeMap<u8, Item> = store.items.iter().map(|i| (i.id, i)).collect();
    let notes: BTreeMap<u8, Note> = store.notes.iter().map(|n| (n.id, n)).collect();
    prop_assert_eq!(&items, &model.items);
    prop_assert_eq!(&notes, &model.notes);
    store.items.check_integrity().unwrap();
    store.notes.check_integrity().unwrap();
    prop_assert_eq!(store.items.stats().versions_held, 0);
    Ok(())
}

#[test]
fn committed_transactions_replay_in_commit_order() {
    let transaction = prop::collection::vec(op(), 2..=6);
    let script = prop::collection::vec(transaction, 10..30);
    let scripts = prop::collection::vec(script, 4);
    let cases = if std::env::var_os("WORKTABLE_CAMPAIGN").is_some() {
        2_000
    } else {
        48
    };
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    runner.run(&scripts, check).unwrap();
}
