//! Reads: the queries of a [`QuerySpec`] on a table and on the model, and the
//! full comparison of a table with the model.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use worktable_core::Query;
use worktable_core::prelude::*;

use super::{
    Bounds, GROUPS, Item, Model, PKS, Variant, items, model_range, random_bounds, reversed, zigzag,
};
use crate::concurrent::Rng;

/// One random set of queries (see [`answers`]).
#[derive(Debug)]
pub(super) struct QuerySpec {
    range: Bounds,
    group: u8,
    offset: usize,
    limit: usize,
    min_score: i64,
}

impl QuerySpec {
    pub(super) fn random(rng: &mut Rng) -> Self {
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
pub(super) struct Answers {
    lists: Vec<(&'static str, Vec<Item>)>,
    counts: Vec<(&'static str, usize)>,
}

/// Runs the queries of `q` on the queries `query` makes (of a table, a
/// snapshot or a transaction): each source (whole table, primary-key range,
/// index key, index range) with orders that stream from the source forward or
/// backward, orders that rank, filters, offsets and limits.
pub(super) fn answers<'t, T: Variant>(query: impl Fn() -> Query<'t, T>, q: &QuerySpec) -> Answers {
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
pub(super) fn model_answers(model: &Model, q: &QuerySpec) -> Answers {
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

pub(super) fn same_answers(what: &str, got: &Answers, want: &Answers) {
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
pub(super) struct CheckSpec {
    /// Ends of the ranges of each std range type (`a <= b`).
    pub(super) a: u32,
    pub(super) b: u32,
    pub(super) bounds: Vec<Bounds>,
    pub(super) query: QuerySpec,
    pub(super) probes: Vec<u32>,
}

impl CheckSpec {
    pub(super) fn random(rng: &mut Rng) -> Self {
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
pub(super) fn check_table<T: Variant>(table: &WorkTable<T>, model: &Model, spec: &CheckSpec) {
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
