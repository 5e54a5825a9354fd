//! `#[pk(hash)]`: a primary index kept in its hash map only, with no ordered copy
//! of the keys. Every API must answer exactly as for a plain `#[pk]` table: `iter`
//! and `range` (forward, backward, and from both ends at once) in key order with
//! every kind of bound, whole-table and primary-key-range queries with filters,
//! orders, offsets and limits, `update_range`, `delete_range`, `len`,
//! `check_integrity`, `from_rows` and `vacuum`; snapshots taken while a writer
//! runs; transactions of a `#[derive(Database)]`; and a durable table after a
//! checkpoint, a reopen from the log and a clean close.
//!
//! The main test runs one seeded random sequence of writes on a `#[pk]` table and
//! its `#[pk(hash)]` twin (same fields, same name, so even error messages must be
//! equal) and a `BTreeMap` model, and compares all three every few steps. Other
//! tests cover a composite key with `hash` on either field, `hash` with
//! `autoincrement` and with a generator, snapshots under a concurrent writer,
//! transactions, vacuum and persistence.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use worktable_core::prelude::*;
use worktable_core::{PkGenerator, Query, TableSnapshot, TxTable};
use worktable_persist::{Options, PersistentTable};

use crate::concurrent::Rng;

/// Primary keys of the random sequences are drawn from `0..PKS`.
const PKS: u32 = 200;
/// Values of the non-unique `group` index.
const GROUPS: u32 = 5;
/// Values of the unique `code` index: collisions are frequent.
const CODES: u32 = 500;

// ---------------------------------------------------------------------------
// Twin tables and their model
// ---------------------------------------------------------------------------

/// The reference: a plain `#[pk]`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct Keyed {
    #[pk]
    id: u32,
    #[index]
    group: u8,
    #[index(unique)]
    code: String,
    score: i64,
    note: String,
}

/// The same fields and name with `#[pk(hash)]`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct Hashed {
    #[pk(hash)]
    id: u32,
    #[index]
    group: u8,
    #[index(unique)]
    code: String,
    score: i64,
    note: String,
}

/// A row of either twin, as the model keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Item {
    id: u32,
    group: u8,
    code: String,
    score: i64,
    note: String,
}

impl Item {
    /// The change of `update_with` and of query updates: a new score, and a
    /// note that grows or empties (the row changes size).
    fn bump(&mut self) {
        self.score += 7;
        if self.note.len() >= 120 {
            self.note.clear();
        } else {
            self.note.push_str("0123456789");
        }
    }

    /// The change of `update_range`: an indexed field, the score and the size.
    fn shift(&mut self) {
        self.group = (self.group + 1) % GROUPS as u8;
        self.score -= 1;
        self.note.push('~');
    }
}

/// What the generic checks need of either twin.
trait Variant: Row<Pk = u32> + Clone + Debug + PartialEq {
    fn from_item(item: &Item) -> Self;
    fn item(&self) -> Item;
    fn id() -> impl Field<Self, Value = u32>;
    fn group() -> impl Field<Self, Value = u8> + OrderedIndex<Self, Key = u8>;
    fn score() -> impl Field<Self, Value = i64>;
    fn group_of(&self) -> u8;
    fn score_of(&self) -> i64;

    fn bump(&mut self) {
        let mut item = self.item();
        item.bump();
        *self = Self::from_item(&item);
    }

    fn shift(&mut self) {
        let mut item = self.item();
        item.shift();
        *self = Self::from_item(&item);
    }
}

macro_rules! variant {
    ($row:ident) => {
        impl Variant for $row {
            fn from_item(item: &Item) -> Self {
                Self {
                    id: item.id,
                    group: item.group,
                    code: item.code.clone(),
                    score: item.score,
                    note: item.note.clone(),
                }
            }

            fn item(&self) -> Item {
                Item {
                    id: self.id,
                    group: self.group,
                    code: self.code.clone(),
                    score: self.score,
                    note: self.note.clone(),
                }
            }

            fn id() -> impl Field<Self, Value = u32> {
                Self::ID
            }

            fn group() -> impl Field<Self, Value = u8> + OrderedIndex<Self, Key = u8> {
                Self::GROUP
            }

            fn score() -> impl Field<Self, Value = i64> {
                Self::SCORE
            }

            fn group_of(&self) -> u8 {
                self.group
            }

            fn score_of(&self) -> i64 {
                self.score
            }
        }
    };
}

variant!(Keyed);
variant!(Hashed);

const _: () = assert!(Keyed::ORDERED_PK && !Hashed::ORDERED_PK);

type Model = BTreeMap<u32, Item>;
type Bounds = (Bound<u32>, Bound<u32>);

fn items<T: Variant>(rows: impl IntoIterator<Item = T>) -> Vec<Item> {
    rows.into_iter().map(|row| row.item()).collect()
}

fn reversed(mut items: Vec<Item>) -> Vec<Item> {
    items.reverse();
    items
}

/// The model's rows in `range`, in key order.
fn model_range(model: &Model, range: &impl RangeBounds<u32>) -> Vec<Item> {
    model
        .values()
        .filter(|item| range.contains(&item.id))
        .cloned()
        .collect()
}

/// Reads `rows` alternately from the front and the back, and puts the two
/// halves together again.
fn zigzag<T: Variant>(mut rows: impl DoubleEndedIterator<Item = T>) -> Vec<Item> {
    let (mut front, mut back) = (Vec::new(), Vec::new());
    loop {
        let Some(row) = rows.next() else { break };
        front.push(row.item());
        let Some(row) = rows.next_back() else { break };
        back.push(row.item());
    }
    front.extend(back.into_iter().rev());
    front
}

fn random_item(rng: &mut Rng, id: u32) -> Item {
    Item {
        id,
        group: rng.below(GROUPS) as u8,
        code: format!("c{}", rng.below(CODES)),
        // Few scores: orders by score have many ties.
        score: i64::from(rng.below(40)) - 20,
        note: "x".repeat(rng.below(5) as usize * 25),
    }
}

fn random_bound(rng: &mut Rng, key: u32) -> Bound<u32> {
    match rng.below(5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(key),
        _ => Bound::Excluded(key),
    }
}

/// Any bounds: unbounded, empty (one key, excluded), reversed, past the keys.
fn random_bounds(rng: &mut Rng) -> Bounds {
    let start = rng.below(PKS + 4);
    let end = if rng.below(4) == 0 {
        start
    } else {
        rng.below(PKS + 4)
    };
    (random_bound(rng, start), random_bound(rng, end))
}

/// Bounds of at most a dozen keys (sometimes reversed or empty).
fn narrow_bounds(rng: &mut Rng) -> Bounds {
    let start = rng.below(PKS);
    let end = start + rng.below(12);
    let kind = |rng: &mut Rng, key| {
        if rng.below(2) == 0 {
            Bound::Included(key)
        } else {
            Bound::Excluded(key)
        }
    };
    if rng.below(8) == 0 {
        (kind(rng, end), kind(rng, start))
    } else {
        (kind(rng, start), kind(rng, end))
    }
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Insert(Item),
    Update(Item),
    Upsert(Item),
    Delete(u32),
    /// `update_with(pk, bump)`.
    Bump(u32),
    UpdateRange(Bounds),
    DeleteRange(Bounds),
    /// `delete_all_by(GROUP, g)`.
    DeleteGroup(u8),
    /// `query().range(b).filter(group == g).update_with(bump)`.
    QueryUpdate(Bounds, u8),
    /// `query().order_by_desc(ID).limit(k).delete()`.
    QueryDeleteTop(usize),
}

/// What a write returned, rows as model items.
#[derive(Debug, PartialEq)]
enum Done {
    Pk(u32),
    Row(Item),
    MaybeRow(Option<Item>),
    Unit,
    Count(usize),
    Rows(Vec<Item>),
}

fn random_op(rng: &mut Rng) -> Op {
    let pk = rng.below(PKS);
    match rng.below(100) {
        0..=31 => Op::Insert(random_item(rng, pk)),
        32..=45 => Op::Update(random_item(rng, pk)),
        46..=55 => Op::Upsert(random_item(rng, pk)),
        56..=73 => Op::Delete(pk),
        74..=83 => Op::Bump(pk),
        84..=88 => Op::UpdateRange(random_bounds(rng)),
        89..=90 => Op::DeleteRange(narrow_bounds(rng)),
        91 => Op::DeleteGroup(rng.below(GROUPS) as u8),
        92..=96 => Op::QueryUpdate(random_bounds(rng), rng.below(GROUPS) as u8),
        _ => Op::QueryDeleteTop(rng.below(4) as usize),
    }
}

/// A write a transaction can buffer.
fn random_tx_op(rng: &mut Rng) -> Op {
    loop {
        let op = random_op(rng);
        if !matches!(
            op,
            Op::UpdateRange(_) | Op::DeleteRange(_) | Op::DeleteGroup(_)
        ) {
            return op;
        }
    }
}

async fn apply<T: Variant>(table: &WorkTable<T>, op: &Op) -> Result<Done, String> {
    let rows = |rows: Vec<T>| Done::Rows(items(rows));
    let done = match op {
        Op::Insert(item) => table.insert(T::from_item(item)).await.map(Done::Pk),
        Op::Update(item) => table
            .update(T::from_item(item))
            .await
            .map(|old| Done::Row(old.item())),
        Op::Upsert(item) => table
            .upsert(T::from_item(item))
            .await
            .map(|old| Done::MaybeRow(old.map(|old| old.item()))),
        Op::Delete(pk) => table.delete(pk).await.map(|old| Done::Row(old.item())),
        Op::Bump(pk) => table.update_with(pk, T::bump).await.map(|()| Done::Unit),
        Op::UpdateRange(bounds) => table.update_range(*bounds, T::shift).await.map(Done::Count),
        Op::DeleteRange(bounds) => table.delete_range(*bounds).await.map(rows),
        Op::DeleteGroup(group) => table.delete_all_by(T::group(), group).await.map(rows),
        Op::QueryUpdate(bounds, group) => {
            let group = *group;
            table
                .query()
                .range(*bounds)
                .filter(move |row| row.group_of() == group)
                .update_with(T::bump)
                .await
                .map(Done::Count)
        }
        Op::QueryDeleteTop(count) => table
            .query()
            .order_by_desc(T::id())
            .limit(*count)
            .delete()
            .await
            .map(rows),
    };
    done.map_err(|error| format!("{error:?}"))
}

/// `op` in a transaction (single-row writes and query writes only).
async fn tx_apply<T: Variant>(table: &TxTable<'_, T>, op: &Op) -> Result<Done, String> {
    let rows = |rows: Vec<T>| Done::Rows(items(rows));
    let done = match op {
        Op::Insert(item) => table.insert(T::from_item(item)).map(Done::Pk),
        Op::Update(item) => table
            .update(T::from_item(item))
            .map(|old| Done::Row(old.item())),
        Op::Upsert(item) => table
            .upsert(T::from_item(item))
            .map(|old| Done::MaybeRow(old.map(|old| old.item()))),
        Op::Delete(pk) => table.delete(pk).map(|old| Done::Row(old.item())),
        Op::Bump(pk) => table.update_with(pk, T::bump).map(|()| Done::Unit),
        Op::QueryUpdate(bounds, group) => {
            let group = *group;
            table
                .query()
                .range(*bounds)
                .filter(move |row| row.group_of() == group)
                .update_with(T::bump)
                .await
                .map(Done::Count)
        }
        Op::QueryDeleteTop(count) => table
            .query()
            .order_by_desc(T::id())
            .limit(*count)
            .delete()
            .await
            .map(rows),
        Op::UpdateRange(_) | Op::DeleteRange(_) | Op::DeleteGroup(_) => {
            unreachable!("not a transaction write: {op:?}")
        }
    };
    done.map_err(|error| format!("{error:?}"))
}

/// Whether a row other than `pk` holds `code`.
fn code_held_by_other(model: &Model, code: &str, pk: u32) -> bool {
    model
        .values()
        .any(|item| item.code == code && item.id != pk)
}

/// `op` on the model; an error is the name of the `TableError` variant. Unique
/// keys are checked when `unique` (outside transactions; a transaction checks
/// them at commit).
fn model_apply(model: &mut Model, op: &Op, unique: bool) -> Result<Done, &'static str> {
    let clash =
        |model: &Model, item: &Item| unique && code_held_by_other(model, &item.code, item.id);
    let remove_all = |model: &mut Model, keys: Vec<u32>| {
        Done::Rows(keys.iter().map(|key| model.remove(key).unwrap()).collect())
    };
    match op {
        Op::Insert(item) => {
            if model.contains_key(&item.id) {
                Err("DuplicatePk")
            } else if clash(model, item) {
                Err("DuplicateKey")
            } else {
                model.insert(item.id, item.clone());
                Ok(Done::Pk(item.id))
            }
        }
        Op::Update(item) => {
            if !model.contains_key(&item.id) {
                Err("NotFound")
            } else if clash(model, item) {
                Err("DuplicateKey")
            } else {
                Ok(Done::Row(model.insert(item.id, item.clone()).unwrap()))
            }
        }
        Op::Upsert(item) => {
            if clash(model, item) {
                Err("DuplicateKey")
            } else {
                Ok(Done::MaybeRow(model.insert(item.id, item.clone())))
            }
        }
        Op::Delete(pk) => model.remove(pk).map(Done::Row).ok_or("NotFound"),
        Op::Bump(pk) => {
            model.get_mut(pk).ok_or("NotFound")?.bump();
            Ok(Done::Unit)
        }
        Op::UpdateRange(bounds) => {
            let mut changed = 0;
            for item in model.values_mut().filter(|item| bounds.contains(&item.id)) {
                item.shift();
                changed += 1;
            }
            Ok(Done::Count(changed))
        }
        Op::DeleteRange(bounds) => {
            let keys = model
                .keys()
                .filter(|k| bounds.contains(k))
                .copied()
                .collect();
            Ok(remove_all(model, keys))
        }
        Op::DeleteGroup(group) => {
            let keys = model
                .values()
                .filter(|item| item.group == *group)
                .map(|item| item.id)
                .collect();
            Ok(remove_all(model, keys))
        }
        Op::QueryUpdate(bounds, group) => {
            let mut changed = 0;
            for item in model
                .values_mut()
                .filter(|item| bounds.contains(&item.id) && item.group == *group)
            {
                item.bump();
                changed += 1;
            }
            Ok(Done::Count(changed))
        }
        Op::QueryDeleteTop(count) => {
            let mut keys: Vec<u32> = model.keys().rev().take(*count).copied().collect();
            keys.reverse();
            Ok(remove_all(model, keys))
        }
    }
}

/// The twins answered alike, and as the model.
fn agree(
    what: &dyn Debug,
    keyed: Result<Done, String>,
    hashed: Result<Done, String>,
    model: Result<Done, &str>,
) {
    assert_eq!(
        hashed, keyed,
        "{what:?}: #[pk(hash)] (left) and #[pk] (right) differ"
    );
    match (&hashed, &model) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{what:?}: table (left), model (right)"),
        (Err(got), Err(kind)) => {
            assert!(
                got.starts_with(kind),
                "{what:?}: got {got}, model says {kind}"
            );
        }
        _ => panic!("{what:?}: table {hashed:?}, model {model:?}"),
    }
}

/// Whether no two rows of `model` share a code.
fn codes_unique(model: &Model) -> bool {
    let mut codes: Vec<&str> = model.values().map(|item| item.code.as_str()).collect();
    codes.sort_unstable();
    codes.windows(2).all(|pair| pair[0] != pair[1])
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

/// One random set of queries (see [`answers`]).
#[derive(Debug)]
struct QuerySpec {
    range: Bounds,
    group: u8,
    offset: usize,
    limit: usize,
    min_score: i64,
}

impl QuerySpec {
    fn random(rng: &mut Rng) -> Self {
        Self {
            range: random_bounds(rng),
            group: rng.below(GROUPS) as u8,
            offset: rng.below(6) as usize,
            limit: rng.below(9) as usize,
            min_score: i64::from(rng.below(40)) - 20,
        }
    }
}

/// The results of every query of a [`QuerySpec`], labelled.
struct Answers {
    lists: Vec<(&'static str, Vec<Item>)>,
    counts: Vec<(&'static str, usize)>,
}

/// Runs the queries of `q` on the queries `query` makes (of a table, a
/// snapshot or a transaction): each source (whole table, primary-key range,
/// index key, index range) with orders that stream from the source forward or
/// backward, orders that rank, filters, offsets and limits.
fn answers<'t, T: Variant>(query: impl Fn() -> Query<'t, T>, q: &QuerySpec) -> Answers {
    let (group, min_score) = (q.group, q.min_score);
    let (offset, limit, range) = (q.offset, q.limit, q.range);
    let lists = vec![
        ("whole table", items(query().to_vec())),
        (
            "whole table, offset",
            items(query().offset(offset).to_vec()),
        ),
        (
            "whole table by id, window",
            items(
                query()
                    .order_by(T::id())
                    .offset(offset)
                    .limit(limit)
                    .to_vec(),
            ),
        ),
        (
            "whole table by id descending",
            items(query().order_by_desc(T::id()).to_vec()),
        ),
        (
            "whole table by id descending, window",
            items(
                query()
                    .order_by_desc(T::id())
                    .offset(offset)
                    .limit(limit)
                    .to_vec(),
            ),
        ),
        ("range", items(query().range(range).to_vec())),
        (
            "range, limit",
            items(query().range(range).limit(limit).to_vec()),
        ),
        (
            "range by id descending, window",
            items(
                query()
                    .range(range)
                    .order_by_desc(T::id())
                    .offset(offset)
                    .limit(limit)
                    .to_vec(),
            ),
        ),
        (
            "range by id, offset",
            items(
                query()
                    .range(range)
                    .order_by(T::id())
                    .offset(offset)
                    .to_vec(),
            ),
        ),
        (
            "range by score descending then group, limit",
            items(
                query()
                    .range(range)
                    .order_by_desc(T::score())
                    .order_by(T::group())
                    .limit(limit)
                    .to_vec(),
            ),
        ),
        (
            "range, score filter, offset",
            items(
                query()
                    .range(range)
                    .filter(move |row| row.score_of() >= min_score)
                    .offset(offset)
                    .to_vec(),
            ),
        ),
        (
            "group filter by score, window",
            items(
                query()
                    .filter(move |row| row.group_of() == group)
                    .order_by(T::score())
                    .offset(offset)
                    .limit(limit)
                    .to_vec(),
            ),
        ),
        (
            "index key by id descending",
            items(
                query()
                    .by(T::group(), &group)
                    .order_by_desc(T::id())
                    .to_vec(),
            ),
        ),
        (
            "index range",
            items(query().range_by(T::group(), group..).to_vec()),
        ),
        ("range, first", items(query().range(range).first())),
    ];
    let counts = vec![
        ("whole table count", query().count()),
        ("range count", query().range(range).count()),
        (
            "range, score filter, count",
            query()
                .range(range)
                .filter(move |row| row.score_of() >= min_score)
                .count(),
        ),
        (
            "range window count",
            query().range(range).offset(offset).limit(limit).count(),
        ),
        ("range exists", usize::from(query().range(range).exists())),
        (
            "range window exists",
            usize::from(query().range(range).offset(offset).limit(limit).exists()),
        ),
    ];
    Answers { lists, counts }
}

/// [`answers`] computed from the model.
fn model_answers(model: &Model, q: &QuerySpec) -> Answers {
    let window =
        |rows: Vec<Item>| -> Vec<Item> { rows.into_iter().skip(q.offset).take(q.limit).collect() };
    let all: Vec<Item> = model.values().cloned().collect();
    let ranged = model_range(model, &q.range);
    // Stable sorts of rows in key order: ties stay in key order, ascending.
    let mut by_score_desc_group = ranged.clone();
    by_score_desc_group.sort_by(|a, b| b.score.cmp(&a.score).then(a.group.cmp(&b.group)));
    let mut group_by_score: Vec<Item> = all
        .iter()
        .filter(|item| item.group == q.group)
        .cloned()
        .collect();
    group_by_score.sort_by_key(|item| item.score);
    let mut index_range: Vec<Item> = all
        .iter()
        .filter(|item| item.group >= q.group)
        .cloned()
        .collect();
    index_range.sort_by_key(|item| (item.group, item.id));
    let scored: Vec<Item> = ranged
        .iter()
        .filter(|item| item.score >= q.min_score)
        .cloned()
        .collect();
    let lists = vec![
        ("whole table", all.clone()),
        (
            "whole table, offset",
            all.iter().skip(q.offset).cloned().collect(),
        ),
        ("whole table by id, window", window(all.clone())),
        ("whole table by id descending", reversed(all.clone())),
        (
            "whole table by id descending, window",
            window(reversed(all.clone())),
        ),
        ("range", ranged.clone()),
        (
            "range, limit",
            ranged.iter().take(q.limit).cloned().collect(),
        ),
        (
            "range by id descending, window",
            window(reversed(ranged.clone())),
        ),
        (
            "range by id, offset",
            ranged.iter().skip(q.offset).cloned().collect(),
        ),
        (
            "range by score descending then group, limit",
            by_score_desc_group.into_iter().take(q.limit).collect(),
        ),
        (
            "range, score filter, offset",
            scored.iter().skip(q.offset).cloned().collect(),
        ),
        ("group filter by score, window", window(group_by_score)),
        (
            "index key by id descending",
            reversed(
                all.iter()
                    .filter(|item| item.group == q.group)
                    .cloned()
                    .collect(),
            ),
        ),
        ("index range", index_range),
        (
            "range, first",
            ranged.first().cloned().into_iter().collect(),
        ),
    ];
    let counts = vec![
        ("whole table count", all.len()),
        ("range count", ranged.len()),
        ("range, score filter, count", scored.len()),
        ("range window count", window(ranged.clone()).len()),
        ("range exists", usize::from(!ranged.is_empty())),
        (
            "range window exists",
            usize::from(!window(ranged).is_empty()),
        ),
    ];
    Answers { lists, counts }
}

fn same_answers(what: &str, got: &Answers, want: &Answers) {
    assert_eq!(got.lists.len(), want.lists.len());
    for ((label, got), (_, want)) in got.lists.iter().zip(&want.lists) {
        assert_eq!(
            got, want,
            "{what}: query {label}: table (left), model (right)"
        );
    }
    for ((label, got), (_, want)) in got.counts.iter().zip(&want.counts) {
        assert_eq!(
            got, want,
            "{what}: query {label}: table (left), model (right)"
        );
    }
}

/// The random parts of one full comparison.
#[derive(Debug)]
struct CheckSpec {
    /// Ends of the ranges of each std range type (`a <= b`).
    a: u32,
    b: u32,
    bounds: Vec<Bounds>,
    query: QuerySpec,
    probes: Vec<u32>,
}

impl CheckSpec {
    fn random(rng: &mut Rng) -> Self {
        let a = rng.below(PKS);
        Self {
            a,
            b: a + rng.below(50),
            bounds: (0..5).map(|_| random_bounds(rng)).collect(),
            query: QuerySpec::random(rng),
            probes: (0..4).map(|_| rng.below(PKS)).collect(),
        }
    }
}

/// `table.range(range)` forward and backward is the model's.
fn same_range<T: Variant, B: RangeBounds<u32> + Clone + Debug>(
    table: &WorkTable<T>,
    model: &Model,
    range: B,
) {
    let name = std::any::type_name::<T>();
    let want = model_range(model, &range);
    assert_eq!(
        items(table.range(range.clone())),
        want,
        "{name}: range({range:?})"
    );
    assert_eq!(
        items(table.range(range.clone()).rev()),
        reversed(want),
        "{name}: range({range:?}).rev()"
    );
}

/// Every read of `table` agrees with the model.
fn check_table<T: Variant>(table: &WorkTable<T>, model: &Model, spec: &CheckSpec) {
    let name = std::any::type_name::<T>();
    let all: Vec<Item> = model.values().cloned().collect();
    assert_eq!(table.len(), all.len(), "{name}: len");
    assert_eq!(table.is_empty(), all.is_empty(), "{name}: is_empty");
    assert_eq!(items(table.iter()), all, "{name}: iter");
    assert_eq!(
        items(table.iter().rev()),
        reversed(all.clone()),
        "{name}: iter().rev()"
    );
    assert_eq!(zigzag(table.iter()), all, "{name}: iter() from both ends");
    assert_eq!(
        zigzag(table.range(spec.a..=spec.b)),
        model_range(model, &(spec.a..=spec.b)),
        "{name}: range from both ends"
    );
    for pk in &spec.probes {
        assert_eq!(table.get(pk).map(|row| row.item()).as_ref(), model.get(pk));
    }
    let (a, b) = (spec.a, spec.b);
    same_range(table, model, a..b);
    same_range(table, model, a..=b);
    same_range(table, model, ..b);
    same_range(table, model, ..=b);
    same_range(table, model, a..);
    same_range(table, model, ..);
    same_range(table, model, a..a);
    same_range(table, model, a..=a);
    same_range(table, model, (Bound::Included(b + 1), Bound::Excluded(a)));
    same_range(table, model, (Bound::Included(b + 1), Bound::Included(a)));
    same_range(table, model, (Bound::Excluded(a), Bound::Included(b)));
    same_range(table, model, (Bound::Excluded(a), Bound::Excluded(a)));
    same_range(table, model, (Bound::Excluded(a), Bound::Included(a)));
    same_range(table, model, (Bound::Excluded(b), Bound::Unbounded));
    same_range(table, model, (Bound::Unbounded, Bound::Excluded(a)));
    same_range(table, model, (Bound::Excluded(b), Bound::Excluded(a)));
    for bounds in &spec.bounds {
        same_range(table, model, *bounds);
    }
    same_answers(
        name,
        &answers(|| table.query(), &spec.query),
        &model_answers(model, &spec.query),
    );
    table
        .check_integrity()
        .unwrap_or_else(|error| panic!("{name}: {error:?}"));
}

// ---------------------------------------------------------------------------
// The twins under one random sequence
// ---------------------------------------------------------------------------

/// Writes of the random sequence.
const STEPS: usize = 3_000;
/// Full comparisons every this many steps.
const CHECK_EVERY: usize = 20;
/// Vacuum both tables every this many steps.
const VACUUM_EVERY: usize = 500;

#[tokio::test]
async fn a_hash_primary_key_answers_like_an_ordered_one() {
    let keyed = WorkTable::<Keyed>::new();
    let hashed = WorkTable::<Hashed>::new();
    let mut model = Model::new();
    let mut rng = Rng::new(0x4a5b);
    let (mut largest, mut failed) = (0, 0);
    for step in 0..STEPS {
        let op = random_op(&mut rng);
        let k = apply(&keyed, &op).await;
        let h = apply(&hashed, &op).await;
        failed += usize::from(h.is_err());
        let m = model_apply(&mut model, &op, true);
        agree(&(step, &op), k, h, m);
        assert_eq!(hashed.len(), model.len(), "step {step}: len");
        largest = largest.max(model.len());
        if step % CHECK_EVERY == 0 {
            let spec = CheckSpec::random(&mut rng);
            check_table(&keyed, &model, &spec);
            check_table(&hashed, &model, &spec);
        }
        if step % VACUUM_EVERY == VACUUM_EVERY - 1 {
            keyed.vacuum();
            hashed.vacuum();
            let spec = CheckSpec::random(&mut rng);
            check_table(&keyed, &model, &spec);
            check_table(&hashed, &model, &spec);
        }
    }
    // The sequence was not trivial: the table grew and writes failed too.
    assert!(largest >= 60, "largest table: {largest} rows");
    assert!(failed >= STEPS / 10, "{failed} failed writes");

    // The final rows, loaded at once in scrambled order.
    let mut rows: Vec<Item> = model.values().cloned().collect();
    rows.sort_by_key(|item| item.id.wrapping_mul(2_654_435_761));
    let loaded = WorkTable::<Hashed>::from_rows(rows.iter().map(Hashed::from_item)).unwrap();
    let spec = CheckSpec::random(&mut rng);
    check_table(&loaded, &model, &spec);
    // A duplicate key refuses the load, as for `#[pk]`.
    let twice = |row: &Item| {
        [
            row.clone(),
            Item {
                code: "other".into(),
                ..row.clone()
            },
        ]
    };
    let keyed_error = WorkTable::<Keyed>::from_rows(twice(&rows[0]).iter().map(Keyed::from_item))
        .err()
        .map(|error| format!("{error:?}"));
    let hashed_error =
        WorkTable::<Hashed>::from_rows(twice(&rows[0]).iter().map(Hashed::from_item))
            .err()
            .map(|error| format!("{error:?}"));
    assert!(
        hashed_error
            .as_deref()
            .is_some_and(|error| error.starts_with("DuplicatePk")),
        "{hashed_error:?}"
    );
    assert_eq!(hashed_error, keyed_error);
}

/// Bounds of every kind on an empty table, and on a table of one row.
#[tokio::test]
async fn ranges_of_an_empty_and_a_one_row_table() {
    let table = WorkTable::<Hashed>::new();
    let mut model = Model::new();
    let mut rng = Rng::new(11);
    for _ in 0..3 {
        check_table(&table, &model, &CheckSpec::random(&mut rng));
    }
    assert!(table.delete_range(..).await.unwrap().is_empty());
    assert_eq!(table.update_range(.., Hashed::bump).await.unwrap(), 0);
    let item = random_item(&mut rng, 7);
    table.insert(Hashed::from_item(&item)).await.unwrap();
    model.insert(7, item);
    for a in [0, 6, 7, 8] {
        let spec = CheckSpec {
            a,
            b: a + 1,
            ..CheckSpec::random(&mut rng)
        };
        check_table(&table, &model, &spec);
    }
    assert_eq!(table.update_range(7..=7, Hashed::bump).await.unwrap(), 1);
    assert!(table.delete_range(8..).await.unwrap().is_empty());
    assert_eq!(items(table.delete_range(..=7).await.unwrap()).len(), 1);
    assert!(table.is_empty() && table.iter().next().is_none());
    table.check_integrity().unwrap();
}

// ---------------------------------------------------------------------------
// Composite keys
// ---------------------------------------------------------------------------

/// `(sheet, name)` with both fields ordered.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "cells")]
struct OrderedCell {
    #[pk]
    sheet: u16,
    #[pk]
    name: String,
    value: i64,
}

/// `hash` on the first key field.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "cells")]
struct HashedCell {
    #[pk(hash)]
    sheet: u16,
    #[pk]
    name: String,
    value: i64,
}

/// `hash` on the second key field.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "cells")]
struct HashedName {
    #[pk]
    sheet: u16,
    #[pk(hash)]
    name: String,
    value: i64,
}

const _: () =
    assert!(OrderedCell::ORDERED_PK && !HashedCell::ORDERED_PK && !HashedName::ORDERED_PK);

type CellKey = (u16, String);
type CellBounds = (Bound<CellKey>, Bound<CellKey>);

trait CellRow: Row<Pk = CellKey> + Clone + Debug {
    fn cell(sheet: u16, name: &str, value: i64) -> Self;
    fn parts(&self) -> (CellKey, i64);
    fn add(&mut self, delta: i64);
}

macro_rules! cell_row {
    ($row:ident) => {
        impl CellRow for $row {
            fn cell(sheet: u16, name: &str, value: i64) -> Self {
                Self {
                    sheet,
                    name: name.to_owned(),
                    value,
                }
            }

            fn parts(&self) -> (CellKey, i64) {
                ((self.sheet, self.name.clone()), self.value)
            }

            fn add(&mut self, delta: i64) {
                self.value += delta;
            }
        }
    };
}

cell_row!(OrderedCell);
cell_row!(HashedCell);
cell_row!(HashedName);

type CellModel = BTreeMap<CellKey, i64>;

const SHEETS: u32 = 5;
const NAMES: u32 = 24;

fn cell_key(sheet: u32, name: u32) -> CellKey {
    // "n10" sorts before "n2": string order, not number order.
    (sheet as u16, format!("n{name}"))
}

fn random_cell_bound(rng: &mut Rng) -> Bound<CellKey> {
    let sheet = rng.below(SHEETS + 1);
    let key = match rng.below(4) {
        0 => (sheet as u16, String::new()),
        1 => (sheet as u16, "z".to_owned()),
        _ => cell_key(sheet, rng.below(NAMES)),
    };
    match rng.below(5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(key),
        _ => Bound::Excluded(key),
    }
}

/// Fixed tuple ranges around `sheet`, and random ones.
fn cell_ranges(rng: &mut Rng) -> Vec<CellBounds> {
    let sheet = rng.below(SHEETS);
    let s = sheet as u16;
    let key = cell_key(sheet, rng.below(NAMES));
    let mut ranges = vec![
        // One whole sheet.
        (
            Bound::Included((s, String::new())),
            Bound::Excluded((s + 1, String::new())),
        ),
        // "n1" to "n2" takes "n1", "n10".."n19" and "n2".
        (
            Bound::Included((s, "n1".to_owned())),
            Bound::Included((s, "n2".to_owned())),
        ),
        (Bound::Unbounded, Bound::Excluded(key.clone())),
        (Bound::Excluded(key.clone()), Bound::Unbounded),
        (Bound::Included(key.clone()), Bound::Included(key.clone())),
        (Bound::Excluded(key.clone()), Bound::Excluded(key.clone())),
        // Reversed.
        (
            Bound::Included((s + 1, String::new())),
            Bound::Included((s, "z".to_owned())),
        ),
        (Bound::Unbounded, Bound::Unbounded),
    ];
    ranges.extend((0..4).map(|_| (random_cell_bound(rng), random_cell_bound(rng))));
    ranges
}

fn cells<T: CellRow>(rows: impl IntoIterator<Item = T>) -> Vec<(CellKey, i64)> {
    rows.into_iter().map(|row| row.parts()).collect()
}

fn model_cells(model: &CellModel, range: &CellBounds) -> Vec<(CellKey, i64)> {
    model
        .iter()
        .filter(|(key, _)| range.contains(*key))
        .map(|(key, value)| (key.clone(), *value))
        .collect()
}

fn check_cells<T: CellRow>(table: &WorkTable<T>, model: &CellModel, ranges: &[CellBounds]) {
    let name = std::any::type_name::<T>();
    let all = model_cells(model, &(Bound::Unbounded, Bound::Unbounded));
    assert_eq!(table.len(), model.len(), "{name}: len");
    assert_eq!(cells(table.iter()), all, "{name}: iter");
    let mut back = cells(table.iter().rev());
    back.reverse();
    assert_eq!(back, all, "{name}: iter().rev()");
    for range in ranges {
        let want = model_cells(model, range);
        assert_eq!(
            cells(table.range(range.clone())),
            want,
            "{name}: range({range:?})"
        );
        let mut back = cells(table.range(range.clone()).rev());
        back.reverse();
        assert_eq!(back, want, "{name}: range({range:?}).rev()");
        assert_eq!(
            cells(table.query().range(range.clone()).limit(3).to_vec()),
            want.iter().take(3).cloned().collect::<Vec<_>>(),
            "{name}: query().range({range:?}).limit(3)"
        );
        assert_eq!(table.query().range(range.clone()).count(), want.len());
        assert_eq!(
            cells(table.snapshot().range(range.clone()).rev()),
            want.iter().rev().cloned().collect::<Vec<_>>(),
            "{name}: snapshot().range({range:?}).rev()"
        );
    }
    table
        .check_integrity()
        .unwrap_or_else(|error| panic!("{name}: {error:?}"));
}

async fn cell_write<T: CellRow>(
    table: &WorkTable<T>,
    op: u32,
    key: &CellKey,
    value: i64,
    range: &CellBounds,
) -> Result<Vec<(CellKey, i64)>, String> {
    let row = T::cell(key.0, &key.1, value);
    let done = match op {
        0..=4 => table.insert(row).await.map(|pk| vec![(pk, value)]),
        5 | 6 => table.upsert(row).await.map(cells),
        7 | 8 => table.delete(key).await.map(|old| cells([old])),
        9 => table
            .update_range(range.clone(), |row| row.add(1))
            .await
            .map(|n| vec![((0, String::new()), n as i64)]),
        _ => table.delete_range(range.clone()).await.map(cells),
    };
    done.map_err(|error| format!("{error:?}"))
}

#[tokio::test]
async fn a_composite_key_with_hash_on_either_field_keeps_tuple_order() {
    let ordered = WorkTable::<OrderedCell>::new();
    let first = WorkTable::<HashedCell>::new();
    let second = WorkTable::<HashedName>::new();
    let mut model = CellModel::new();
    let mut rng = Rng::new(0xce11);
    for step in 0..800 {
        let key = cell_key(rng.below(SHEETS), rng.below(NAMES));
        let value = i64::from(rng.below(1000));
        let op = rng.below(11);
        // Narrow ranges for `update_range` and `delete_range`: one name's cells
        // of a sheet and its neighbours in string order.
        let range = (
            Bound::Included(key.clone()),
            Bound::Excluded((key.0, format!("{}~", key.1))),
        );
        let a = cell_write(&ordered, op, &key, value, &range).await;
        let b = cell_write(&first, op, &key, value, &range).await;
        let c = cell_write(&second, op, &key, value, &range).await;
        assert_eq!(b, a, "step {step}: hash on the first field");
        assert_eq!(c, a, "step {step}: hash on the second field");
        // The model.
        let want: Result<Vec<(CellKey, i64)>, &str> = match op {
            0..=4 if model.contains_key(&key) => Err("DuplicatePk"),
            0..=4 => {
                model.insert(key.clone(), value);
                Ok(vec![(key.clone(), value)])
            }
            5 | 6 => Ok(model
                .insert(key.clone(), value)
                .map(|old| (key.clone(), old))
                .into_iter()
                .collect()),
            7 | 8 => model
                .remove(&key)
                .map(|old| vec![(key.clone(), old)])
                .ok_or("NotFound"),
            9 => {
                let mut changed = 0;
                for (_, value) in model.iter_mut().filter(|(k, _)| range.contains(*k)) {
                    *value += 1;
                    changed += 1;
                }
                Ok(vec![((0, String::new()), changed)])
            }
            _ => {
                let gone = model_cells(&model, &range);
                for (key, _) in &gone {
                    model.remove(key);
                }
                Ok(gone)
            }
        };
        match (&a, &want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "step {step}"),
            (Err(got), Err(kind)) => assert!(got.starts_with(kind), "step {step}: {got}"),
            _ => panic!("step {step}: table {a:?}, model {want:?}"),
        }
        if step % 40 == 0 {
            let ranges = cell_ranges(&mut rng);
            check_cells(&ordered, &model, &ranges);
            check_cells(&first, &model, &ranges);
            check_cells(&second, &model, &ranges);
        }
    }
    assert!(model.len() >= 30, "{} cells", model.len());
    // Loaded at once, in reverse order.
    let rows = || model.iter().rev().map(|(key, value)| (key.clone(), *value));
    let first = WorkTable::from_rows(rows().map(|(k, v)| HashedCell::cell(k.0, &k.1, v))).unwrap();
    let second = WorkTable::from_rows(rows().map(|(k, v)| HashedName::cell(k.0, &k.1, v))).unwrap();
    let ranges = cell_ranges(&mut rng);
    check_cells(&first, &model, &ranges);
    check_cells(&second, &model, &ranges);
}

// ---------------------------------------------------------------------------
// Generated keys
// ---------------------------------------------------------------------------

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "tickets")]
struct Ticket {
    #[pk(hash, autoincrement)]
    id: u64,
    #[index]
    owner: u8,
    body: String,
}

const _: () = assert!(!Ticket::ORDERED_PK);

fn ticket(owner: u8) -> Ticket {
    Ticket {
        id: 0,
        owner,
        body: format!("ticket of {owner}"),
    }
}

fn ids(rows: impl IntoIterator<Item = Ticket>) -> Vec<u64> {
    rows.into_iter().map(|t| t.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autoincrement_with_hash_hands_out_keys_that_iterate_in_order() {
    let table = Arc::new(WorkTable::<Ticket>::new());
    let tasks: Vec<_> = (0..4u8)
        .map(|owner| {
            let table = Arc::clone(&table);
            tokio::spawn(async move {
                let mut pks = Vec::new();
                for _ in 0..200 {
                    pks.push(table.insert(ticket(owner)).await.unwrap());
                }
                pks
            })
        })
        .collect();
    let mut pks = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        assert!(mine.is_sorted(), "one task's keys increase");
        pks.extend(mine);
    }
    pks.sort_unstable();
    let every: Vec<u64> = (1..=800).collect();
    assert_eq!(pks, every);
    assert_eq!(ids(table.iter()), every);
    assert_eq!(
        ids(table.iter().rev()),
        every.iter().rev().copied().collect::<Vec<_>>()
    );
    table.check_integrity().unwrap();

    assert_eq!(
        ids(table.delete_range(100..=700).await.unwrap()),
        (100..=700).collect::<Vec<_>>()
    );
    assert!(
        table
            .upsert(Ticket {
                id: 5000,
                ..ticket(9)
            })
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(table.insert(ticket(1)).await.unwrap(), 5001);
    table.delete(&5001).await.unwrap();
    assert_eq!(
        table.insert(ticket(1)).await.unwrap(),
        5002,
        "a used key is not given again"
    );
    let tail: Vec<u64> = (701..=800).chain([5000, 5002]).collect();
    assert_eq!(ids(table.range(701..)), tail);
    assert_eq!(ids(table.range(..=5001).rev().take(2)), [5000, 800]);
    assert_eq!(ids(table.range(99..=100)), [99]);
    assert!(table.range(100..=700).next().is_none());
    assert_eq!(
        ids(table.query().order_by_desc(Ticket::ID).limit(2).to_vec()),
        [5002, 5000]
    );
    assert_eq!(table.query().range(50..150).count(), 50);
    assert_eq!(
        table.update_range(..=10, |t| t.owner = 9).await.unwrap(),
        10
    );
    let nines: Vec<u64> = (1..=10).chain([5000]).collect();
    assert_eq!(ids(table.find_by(Ticket::OWNER, &9)), nines);
    assert_eq!(ids(table.query().by(Ticket::OWNER, &9).to_vec()), nines);
    assert_eq!(table.len(), 99 + 100 + 2);
    table.check_integrity().unwrap();

    // `from_rows` assigns keys in the rows' order, then goes on from there.
    let loaded = WorkTable::from_rows((0..50).map(|n| ticket(n % 3))).unwrap();
    assert_eq!(ids(loaded.iter()), (1..=50).collect::<Vec<_>>());
    assert_eq!(loaded.insert(ticket(0)).await.unwrap(), 51);
    assert_eq!(ids(loaded.range(49..)), [49, 50, 51]);
    loaded.check_integrity().unwrap();
}

/// Hands out 1,000,000, 999,993, 999,986, ...: every key below the last.
#[derive(Debug, Default)]
struct Countdown(AtomicU64);

impl PkGenerator<u64> for Countdown {
    fn next_pk(&self) -> Option<u64> {
        let drawn = self.0.fetch_add(1, Ordering::Relaxed);
        1_000_000u64.checked_sub(drawn.checked_mul(7)?)
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "launches")]
struct Launch {
    #[pk(generator = self::Countdown, hash)]
    id: u64,
    #[index(unique)]
    label: String,
}

const _: () = assert!(!Launch::ORDERED_PK);

#[tokio::test]
async fn a_generator_with_hash_iterates_in_key_order_not_insertion_order() {
    let table = WorkTable::<Launch>::new();
    let mut inserted = Vec::new();
    for n in 0..300 {
        let label = format!("launch {n}");
        let pk = table.insert(Launch { id: 0, label }).await.unwrap();
        inserted.push(pk);
    }
    assert_eq!(inserted[..3], [1_000_000, 999_993, 999_986]);
    let mut sorted = inserted.clone();
    sorted.reverse();
    let got: Vec<u64> = table.iter().map(|l| l.id).collect();
    assert_eq!(got, sorted, "key order is the reverse of insertion order");
    let newest = *inserted.last().unwrap();
    assert_eq!(table.iter().next().unwrap().label, "launch 299");
    assert_eq!(table.iter().next_back().unwrap().label, "launch 0");
    let range: Vec<u64> = table.range(999_000..=999_500).map(|l| l.id).collect();
    let want: Vec<u64> = sorted
        .iter()
        .copied()
        .filter(|id| (999_000..=999_500).contains(id))
        .collect();
    assert_eq!(range, want);
    assert!(!want.is_empty());
    let smallest: Vec<u64> = table
        .query()
        .order_by(Launch::ID)
        .limit(3)
        .to_vec()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(smallest, [newest, newest + 7, newest + 14]);
    assert_eq!(
        table.get_by(Launch::LABEL, "launch 5").unwrap().id,
        1_000_000 - 35
    );
    let gone: Vec<u64> = table
        .delete_range(..newest + 70)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(gone, sorted[..10]);
    assert_eq!(table.len(), 290);
    table.check_integrity().unwrap();
}

// ---------------------------------------------------------------------------
// Vacuum
// ---------------------------------------------------------------------------

#[tokio::test]
async fn vacuum_moves_the_rows_of_a_hash_keyed_table_and_keeps_their_order() {
    const ROWS: u32 = 3_000;
    let table = WorkTable::<Hashed>::new();
    let mut model = Model::new();
    for i in 0..ROWS {
        // 7919 is coprime with ROWS: every key once, scrambled.
        let id = i * 7919 % ROWS;
        let item = Item {
            id,
            group: (id % GROUPS) as u8,
            code: format!("v{id}"),
            score: i64::from(id % 17),
            note: "y".repeat(300),
        };
        table.insert(Hashed::from_item(&item)).await.unwrap();
        model.insert(id, item);
    }
    // Keep one row in ten, by ranges and by single deletes.
    for start in (0..ROWS).step_by(100) {
        let gone = table.delete_range(start + 1..start + 50).await.unwrap();
        assert_eq!(gone.len(), 49);
        for id in (start + 50..start + 100).filter(|id| id % 10 != 0) {
            table.delete(&id).await.unwrap();
        }
    }
    model.retain(|id, _| id % 100 == 0 || (id % 100 >= 50 && id % 10 == 0));
    let before = table.stats().pages;
    let report = table.vacuum();
    assert!(
        report.rows_moved > 0 && report.pages_after < before,
        "{report:?}"
    );
    let mut rng = Rng::new(3);
    // Keys now reach past PKS: spread the checks over them.
    for _ in 0..3 {
        let a = rng.below(ROWS);
        let spec = CheckSpec {
            a,
            b: a + rng.below(400),
            ..CheckSpec::random(&mut rng)
        };
        check_table(&table, &model, &spec);
    }
    // Writes after the vacuum.
    for id in (ROWS..ROWS + 50).rev() {
        let item = Item {
            id,
            group: 0,
            code: format!("v{id}"),
            score: 0,
            note: String::new(),
        };
        table.insert(Hashed::from_item(&item)).await.unwrap();
        model.insert(id, item);
    }
    assert_eq!(
        table
            .update_range(ROWS - 500.., Hashed::shift)
            .await
            .unwrap(),
        model.range(ROWS - 500..).count()
    );
    for (_, item) in model.range_mut(ROWS - 500..) {
        item.shift();
    }
    check_table(&table, &model, &CheckSpec::random(&mut rng));
}

// ---------------------------------------------------------------------------
// Snapshots while a writer runs
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Write {
    Insert(Item),
    Update(Item),
    Delete(u32),
}

/// An item with a code never used before.
fn fresh_item(rng: &mut Rng, id: u32, serial: &mut u32) -> Item {
    *serial += 1;
    Item {
        code: format!("u{serial}"),
        ..random_item(rng, id)
    }
}

fn replay(model: &mut Model, write: &Write) {
    match write {
        Write::Insert(item) | Write::Update(item) => {
            model.insert(item.id, item.clone());
        }
        Write::Delete(pk) => {
            model.remove(pk);
        }
    }
}

/// `count` writes that each succeed on a table holding `initial`.
fn planned_writes(rng: &mut Rng, initial: &Model, count: usize) -> Vec<Write> {
    let mut state = initial.clone();
    let mut serial = 0;
    (0..count)
        .map(|_| {
            let pk = rng.below(PKS);
            let write = match (state.contains_key(&pk), rng.below(3)) {
                (false, _) => Write::Insert(fresh_item(rng, pk, &mut serial)),
                (true, 0) => Write::Update(fresh_item(rng, pk, &mut serial)),
                (true, _) => Write::Delete(pk),
            };
            replay(&mut state, &write);
            write
        })
        .collect()
}

/// Every read of `snap` agrees with `model`.
fn check_snapshot(snap: &TableSnapshot<'_, Hashed>, model: &Model, rng: &mut Rng) {
    let at = snap.commit();
    let all: Vec<Item> = model.values().cloned().collect();
    assert_eq!(snap.len(), all.len(), "snapshot at {at}: len");
    assert_eq!(items(snap.iter()), all, "snapshot at {at}: iter");
    assert_eq!(
        items(snap.iter().rev()),
        reversed(all),
        "snapshot at {at}: iter().rev()"
    );
    for _ in 0..4 {
        let bounds = random_bounds(rng);
        let want = model_range(model, &bounds);
        assert_eq!(
            items(snap.range(bounds)),
            want,
            "snapshot at {at}: range({bounds:?})"
        );
        assert_eq!(
            items(snap.range(bounds).rev()),
            reversed(want),
            "snapshot at {at}: range({bounds:?}).rev()"
        );
        let pk = rng.below(PKS);
        assert_eq!(snap.get(&pk).map(|row| row.item()).as_ref(), model.get(&pk));
    }
    let q = QuerySpec::random(rng);
    same_answers(
        &format!("snapshot at {at}"),
        &answers(|| snap.query(), &q),
        &model_answers(model, &q),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_a_hash_keyed_table_stand_still_while_a_writer_runs() {
    const WRITES: usize = 1_500;
    /// The writer waits for a new snapshot after each block of writes.
    const BLOCK: usize = 150;
    let mut rng = Rng::new(0x5a);
    let mut serial = 1_000_000;
    let initial: Model = (0..PKS)
        .filter(|id| id % 3 != 0)
        .map(|id| (id, fresh_item(&mut rng, id, &mut serial)))
        .collect();
    let table = Arc::new(
        WorkTable::<Hashed>::from_rows(initial.values().rev().map(Hashed::from_item)).unwrap(),
    );
    let writes = Arc::new(planned_writes(&mut rng, &initial, WRITES));
    let base = table.last_seq();
    let first = table.snapshot();
    assert_eq!(first.commit(), base);

    let taken = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn({
        let (table, writes, taken) = (Arc::clone(&table), Arc::clone(&writes), Arc::clone(&taken));
        async move {
            for (i, write) in writes.iter().enumerate() {
                if i % BLOCK == 0 {
                    while taken.load(Ordering::Acquire) <= i / BLOCK {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                match write {
                    Write::Insert(item) => {
                        table.insert(Hashed::from_item(item)).await.unwrap();
                    }
                    Write::Update(item) => {
                        table.update(Hashed::from_item(item)).await.unwrap();
                    }
                    Write::Delete(pk) => {
                        table.delete(pk).await.unwrap();
                    }
                }
            }
        }
    });
    let mut points = Vec::new();
    loop {
        let done = writer.is_finished();
        // One snapshot between two blocks of writes (the writer waits for it),
        // and one some writes into the next block (or after a while).
        let gate = table.snapshot();
        taken.fetch_add(1, Ordering::Release);
        let target = gate.commit() + 1 + u64::from(rng.below(BLOCK as u32 - 1));
        let since = Instant::now();
        while table.last_seq() < target
            && !writer.is_finished()
            && since.elapsed() < Duration::from_millis(50)
        {
            std::thread::yield_now();
        }
        let inside = table.snapshot();
        // Read both while the writer goes on.
        for snap in [&gate, &inside] {
            let at = snap.commit();
            let mut expected = initial.clone();
            for write in &writes[..(at - base) as usize] {
                replay(&mut expected, write);
            }
            check_snapshot(snap, &expected, &mut rng);
            points.push(at);
        }
        if points.len() % 3 == 0 {
            check_snapshot(&first, &initial, &mut rng);
        }
        if done {
            break;
        }
    }
    writer.await.unwrap();
    assert_eq!(
        table.last_seq(),
        base + WRITES as u64,
        "one commit per write"
    );
    assert!(points.len() > 2 * WRITES / BLOCK, "{points:?}");
    assert!(points.is_sorted());

    // The first snapshot survives a vacuum of the rows it still sees.
    table.vacuum();
    check_snapshot(&first, &initial, &mut rng);
    drop(first);
    let mut last = initial.clone();
    for write in writes.iter() {
        replay(&mut last, write);
    }
    check_table(&*table, &last, &CheckSpec::random(&mut rng));
}

// ---------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------

#[derive(Database)]
struct Shop {
    keyed: WorkTable<Keyed>,
    hashed: WorkTable<Hashed>,
}

/// Every read of a transaction's table agrees with `model`.
fn check_tx<T: Variant>(table: &TxTable<'_, T>, model: &Model, spec: &CheckSpec) {
    let name = std::any::type_name::<T>();
    let all: Vec<Item> = model.values().cloned().collect();
    assert_eq!(items(table.iter()), all, "{name} in a transaction: iter");
    let std_ranges: [Bounds; 4] = [
        (Bound::Included(spec.a), Bound::Excluded(spec.b)),
        (Bound::Excluded(spec.a), Bound::Included(spec.b)),
        (Bound::Unbounded, Bound::Included(spec.a)),
        (Bound::Included(spec.b), Bound::Excluded(spec.a)),
    ];
    for bounds in spec.bounds.iter().chain(&std_ranges) {
        assert_eq!(
            items(table.range(*bounds)),
            model_range(model, bounds),
            "{name} in a transaction: range({bounds:?})"
        );
    }
    for pk in &spec.probes {
        assert_eq!(table.get(pk).map(|row| row.item()).as_ref(), model.get(pk));
    }
    same_answers(
        &format!("{name} in a transaction"),
        &answers(|| table.query(), &spec.query),
        &model_answers(model, &spec.query),
    );
}

#[tokio::test]
async fn transactions_on_a_hash_keyed_table_answer_like_an_ordered_one() {
    let shop = Shop::new();
    let mut model = Model::new();
    let mut rng = Rng::new(0x7e);
    let (mut committed, mut refused, mut dropped) = (0, 0, 0);
    for round in 0..80 {
        // A few writes outside transactions, ranges included.
        for _ in 0..if round == 0 { 150 } else { 3 } {
            let op = random_op(&mut rng);
            let k = apply(&shop.keyed, &op).await;
            let h = apply(&shop.hashed, &op).await;
            let m = model_apply(&mut model, &op, true);
            agree(&(round, &op), k, h, m);
        }
        // The same writes in one transaction on each table, with reads between.
        let (before, then) = (shop.snapshot(), model.clone());
        let (tx_keyed, tx_hashed) = (shop.begin(), shop.begin());
        let mut pending = model.clone();
        for _ in 0..1 + rng.below(6) {
            let op = random_tx_op(&mut rng);
            let k = tx_apply(&tx_keyed.keyed, &op).await;
            let h = tx_apply(&tx_hashed.hashed, &op).await;
            let m = model_apply(&mut pending, &op, false);
            agree(&(round, "in a transaction", &op), k, h, m);
            if rng.below(3) == 0 {
                let spec = CheckSpec::random(&mut rng);
                check_tx(&tx_keyed.keyed, &pending, &spec);
                check_tx(&tx_hashed.hashed, &pending, &spec);
            }
        }
        let spec = CheckSpec::random(&mut rng);
        check_tx(&tx_hashed.hashed, &pending, &spec);
        // Nothing is visible before the commit.
        assert_eq!(
            items(shop.hashed.iter()),
            items(then.values().map(Hashed::from_item))
        );
        if rng.below(5) == 0 {
            drop((tx_keyed, tx_hashed));
            dropped += 1;
        } else {
            let k = tx_keyed
                .commit()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
            let h = tx_hashed
                .commit()
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
            assert_eq!(h, k, "round {round}: commits differ");
            if codes_unique(&pending) {
                assert!(h.is_ok(), "round {round}: {h:?}");
                model = pending;
                committed += 1;
            } else {
                assert!(
                    h.as_ref().is_err_and(|e| e.starts_with("DuplicateKey")),
                    "round {round}: {h:?}"
                );
                refused += 1;
            }
        }
        // The snapshot taken before still sees the rows of then.
        check_snapshot(&before.hashed, &then, &mut rng);
        assert_eq!(items(before.keyed.iter()), items(before.hashed.iter()));
        drop(before);
        // The tables of the database read at a point, outside transactions.
        let spec = CheckSpec::random(&mut rng);
        check_table(&shop.hashed, &model, &spec);
        if round % 10 == 0 {
            check_table(&shop.keyed, &model, &spec);
        }
    }
    assert!(
        committed > 30 && dropped > 5,
        "{committed} committed, {dropped} dropped"
    );
    assert!(refused > 0, "no commit met a duplicate code");
}

// ---------------------------------------------------------------------------
// Durable tables
// ---------------------------------------------------------------------------

/// `count` random writes on a durable table and the model.
async fn durable_writes<T: Variant>(
    table: &PersistentTable<T>,
    model: &mut Model,
    rng: &mut Rng,
    count: usize,
) {
    for step in 0..count {
        let op = random_op(rng);
        let got = apply(table, &op).await;
        let want = model_apply(model, &op, true);
        match (&got, &want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{step}: {op:?}"),
            (Err(got), Err(kind)) => assert!(got.starts_with(kind), "{step}: {op:?}: {got}"),
            _ => panic!("{step}: {op:?}: table {got:?}, model {want:?}"),
        }
    }
}

#[tokio::test]
async fn a_durable_hash_keyed_table_comes_back_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let mut rng = Rng::new(0xd15c);
    let mut model = Model::new();

    let table = PersistentTable::<Hashed>::open(dir.path(), options).unwrap();
    durable_writes(&table, &mut model, &mut rng, 400).await;
    table.checkpoint().await.unwrap();
    // After the checkpoint: in the log only; a vacuum on the way.
    durable_writes(&table, &mut model, &mut rng, 200).await;
    table.vacuum();
    durable_writes(&table, &mut model, &mut rng, 50).await;
    check_table(table.table(), &model, &CheckSpec::random(&mut rng));
    assert!(model.len() >= 30, "{} rows", model.len());
    // Dropped without close: the last writes come back from the log.
    drop(table);

    let table = PersistentTable::<Hashed>::open(dir.path(), options).unwrap();
    for _ in 0..3 {
        check_table(table.table(), &model, &CheckSpec::random(&mut rng));
    }
    durable_writes(&table, &mut model, &mut rng, 100).await;
    table.close().await.unwrap();
    drop(table);

    // From the checkpoint `close` took alone.
    let table = PersistentTable::<Hashed>::open(dir.path(), options).unwrap();
    for _ in 0..3 {
        check_table(table.table(), &model, &CheckSpec::random(&mut rng));
    }
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_durable_autoincrement_hash_table_goes_on_after_its_largest_key() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let table = PersistentTable::<Ticket>::open(dir.path(), options).unwrap();
    for n in 0..60u8 {
        assert_eq!(table.insert(ticket(n % 4)).await.unwrap(), u64::from(n) + 1);
    }
    table.checkpoint().await.unwrap();
    assert_eq!(
        ids(table.delete_range(51..).await.unwrap()),
        (51..=60).collect::<Vec<_>>()
    );
    table.delete(&7).await.unwrap();
    drop(table);

    let table = PersistentTable::<Ticket>::open(dir.path(), options).unwrap();
    let kept: Vec<u64> = (1..=50).filter(|&id| id != 7).collect();
    assert_eq!(ids(table.iter()), kept);
    assert_eq!(ids(table.range(5..10).rev()), [9, 8, 6, 5]);
    assert_eq!(
        table.insert(ticket(0)).await.unwrap(),
        61,
        "no key is given twice"
    );
    table.check_integrity().unwrap();
    table.close().await.unwrap();
    drop(table);

    let table = PersistentTable::<Ticket>::open(dir.path(), options).unwrap();
    assert_eq!(ids(table.range(49..)), [49, 50, 61]);
    assert_eq!(table.insert(ticket(0)).await.unwrap(), 62);
    table.close().await.unwrap();
}
