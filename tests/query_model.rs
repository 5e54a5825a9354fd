//! Model-based test of queries: random queries over a table that random writes
//! keep changing are compared with the same query computed over a reference
//! model (a `BTreeMap` of the rows).
//!
//! A query is a source (the whole table, a primary-key range, `by` on the
//! unique, non-unique and composite index, `range_by` on each index,
//! `prefix_by` on the composite index), no filter, a row filter, an archived
//! filter or both, no order, the source's own order (so that rows stream from
//! the index, forward or backward) or one or two random order terms in random
//! directions, and an optional offset and limit. For each one, `to_vec()`,
//! `iter()`, `first()`, `count()` and `exists()` must give exactly what the
//! model predicts: the model's rows in the source, filtered, sorted by the
//! order terms with ties broken by primary key ascending (or in the source's
//! order without terms: `(index key, pk)` for index ranges and prefixes, pk
//! for the table, primary-key ranges and `by`), then offset and limit.
//!
//! Random queries also run `update_with` (changes that move rows between
//! index keys, out of the filters, or that fail on a duplicate code or a
//! changed primary key) and `delete`: the changed or deleted rows must be
//! exactly the query's result set (changed in primary-key order, stopping at
//! the first failing row; deleted rows returned in primary-key order), and
//! the table must equal the model and pass `check_integrity()` afterwards.
//!
//! Between queries, single-row inserts, updates, upserts, deletes and
//! `reclaim_retired()` churn slots and index entries. Each of the 128 cases
//! starts from 20 to 50 random rows and runs up to 150 steps; pools are small
//! (64 ids, 128 codes, 4 groups, 5 ranks) so that ties, hits and misses are
//! frequent. The test prints what it ran (`--nocapture`); measured: about
//! 5,500 queries per run (4,600 reads, 600 `update_with`, 300 `delete`), with
//! tables of 23 rows on average and 55% of the reads non-empty, 3.3 s in
//! debug mode on 2 cores.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Bound, RangeBounds};

use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use worktable_core::query::Source;
use worktable_core::{Archive, Deserialize, Query, Serialize, Table, TableError, WorkTable};

/// Cases of the property.
const CASES: u32 = 128;
/// Most rows a case starts with.
const MAX_INITIAL_ROWS: usize = 50;
/// Most steps of a case.
const MAX_STEPS: usize = 150;
/// Ids are drawn below this.
const IDS: u32 = 64;
/// Codes are drawn from this many values.
const CODES: u32 = 128;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "listings", index(name = "by_group_rank", fields(group, rank)))]
struct Listing {
    #[pk]
    id: u32,
    #[index(unique)]
    code: String,
    #[index]
    group: u8,
    rank: i16,
    price: i64,
    tag: Option<u8>,
}

fn code(n: u32) -> String {
    format!("c{n:03}")
}

// ---------------------------------------------------------------------------
// Query specifications: plain data, so that failures shrink and print.
// ---------------------------------------------------------------------------

type Bounds<T> = (Bound<T>, Bound<T>);

/// Where a query's rows come from.
#[derive(Clone, Debug)]
enum SourceSpec {
    All,
    Pk(Bounds<u32>),
    ByCode(String),
    ByGroup(u8),
    ByGroupRank((u8, i16)),
    RangeCode(Bounds<String>),
    RangeGroup(Bounds<u8>),
    RangeGroupRank(Bounds<(u8, i16)>),
    PrefixGroup(u8),
}

/// A field the query can order by.
#[derive(Clone, Copy, Debug, PartialEq)]
enum FieldName {
    Id,
    Code,
    Group,
    Rank,
    Price,
    Tag,
}

/// A filter on the deserialized row.
#[derive(Clone, Copy, Debug)]
enum RowFilter {
    RankAtLeast(i16),
    TagIs(Option<u8>),
    IdRemainder(u32, u32),
}

/// A filter on the archived row.
#[derive(Clone, Copy, Debug)]
enum ArchivedFilter {
    PriceBelow(i64),
    PriceAtLeast(i64),
    GroupIsNot(u8),
}

/// The order of a query.
#[derive(Clone, Debug)]
enum OrderSpec {
    /// No `order_by`.
    None,
    /// The source's own order (its remaining index fields, or the primary
    /// key), all ascending (`false`) or all descending (`true`).
    Native(bool),
    /// Random terms: a field and whether it is descending.
    Terms(Vec<(FieldName, bool)>),
}

#[derive(Clone, Debug)]
struct QuerySpec {
    source: SourceSpec,
    row_filter: Option<RowFilter>,
    archived_filter: Option<ArchivedFilter>,
    order: OrderSpec,
    offset: Option<usize>,
    limit: Option<usize>,
}

/// What `update_with` does to each row.
#[derive(Clone, Copy, Debug)]
enum Change {
    AddPrice(i64),
    SetRank(i16),
    SetGroup(u8),
    SetTag(Option<u8>),
    /// A new code derived from the id: distinct between changed rows, but it
    /// may be taken by another row (a `DuplicateKey` error).
    Recode(u32),
    /// Changes the primary key: `PkChanged` on the first selected row.
    ShiftId,
}

#[derive(Clone, Debug)]
enum Step {
    Insert(Listing),
    Update(Listing),
    Upsert(Listing),
    Delete(u32),
    Reclaim,
    Read(QuerySpec),
    Change(QuerySpec, Change),
    Remove(QuerySpec),
}

impl SourceSpec {
    /// Whether the source holds `row`.
    fn holds(&self, row: &Listing) -> bool {
        match self {
            Self::All => true,
            Self::Pk(bounds) => bounds.contains(&row.id),
            Self::ByCode(code) => row.code == *code,
            Self::ByGroup(group) => row.group == *group,
            Self::ByGroupRank(key) => (row.group, row.rank) == *key,
            Self::RangeCode(bounds) => bounds.contains(&row.code),
            Self::RangeGroup(bounds) => bounds.contains(&row.group),
            Self::RangeGroupRank(bounds) => bounds.contains(&(row.group, row.rank)),
            Self::PrefixGroup(group) => row.group == *group,
        }
    }

    /// The source's order, before the primary key: `(index key, pk)` for
    /// index ranges and prefixes, pk alone for everything else.
    fn compare(&self, a: &Listing, b: &Listing) -> Ordering {
        let by_key = match self {
            Self::All | Self::Pk(_) | Self::ByCode(_) | Self::ByGroup(_) | Self::ByGroupRank(_) => {
                Ordering::Equal
            }
            Self::RangeCode(_) => a.code.cmp(&b.code),
            Self::RangeGroup(_) => a.group.cmp(&b.group),
            Self::RangeGroupRank(_) | Self::PrefixGroup(_) => {
                (a.group, a.rank).cmp(&(b.group, b.rank))
            }
        };
        by_key.then(a.id.cmp(&b.id))
    }

    /// The fields the source's rows are ordered by (before the primary key),
    /// leaving out those the source fixes.
    fn native_fields(&self) -> &'static [FieldName] {
        match self {
            Self::All | Self::Pk(_) => &[FieldName::Id],
            Self::ByCode(_) | Self::ByGroup(_) | Self::ByGroupRank(_) => &[],
            Self::RangeCode(_) => &[FieldName::Code],
            Self::RangeGroup(_) => &[FieldName::Group],
            Self::RangeGroupRank(_) => &[FieldName::Group, FieldName::Rank],
            Self::PrefixGroup(_) => &[FieldName::Rank],
        }
    }
}

impl FieldName {
    fn compare(self, a: &Listing, b: &Listing) -> Ordering {
        match self {
            Self::Id => a.id.cmp(&b.id),
            Self::Code => a.code.cmp(&b.code),
            Self::Group => a.group.cmp(&b.group),
            Self::Rank => a.rank.cmp(&b.rank),
            Self::Price => a.price.cmp(&b.price),
            Self::Tag => a.tag.cmp(&b.tag),
        }
    }
}

impl RowFilter {
    fn keeps(self, row: &Listing) -> bool {
        match self {
            Self::RankAtLeast(rank) => row.rank >= rank,
            Self::TagIs(tag) => row.tag == tag,
            Self::IdRemainder(modulus, remainder) => row.id % modulus == remainder,
        }
    }
}

impl ArchivedFilter {
    fn keeps(self, row: &Listing) -> bool {
        match self {
            Self::PriceBelow(price) => row.price < price,
            Self::PriceAtLeast(price) => row.price >= price,
            Self::GroupIsNot(group) => row.group != group,
        }
    }

    fn keeps_archived(self, row: &ArchivedListing) -> bool {
        match self {
            Self::PriceBelow(price) => row.price.to_native() < price,
            Self::PriceAtLeast(price) => row.price.to_native() >= price,
            Self::GroupIsNot(group) => row.group != group,
        }
    }
}

impl QuerySpec {
    /// The order terms the query is built with.
    fn terms(&self) -> Vec<(FieldName, bool)> {
        match &self.order {
            OrderSpec::None => Vec::new(),
            OrderSpec::Native(descending) => self
                .source
                .native_fields()
                .iter()
                .map(|&field| (field, *descending))
                .collect(),
            OrderSpec::Terms(terms) => terms.clone(),
        }
    }

    fn keeps(&self, row: &Listing) -> bool {
        self.row_filter.is_none_or(|filter| filter.keeps(row))
            && self.archived_filter.is_none_or(|filter| filter.keeps(row))
    }

    /// The query computed over the model's rows.
    fn expected(&self, model: &BTreeMap<u32, Listing>) -> Vec<Listing> {
        // Primary-key order, then (stable) the source's order.
        let mut rows: Vec<Listing> = model
            .values()
            .filter(|row| self.source.holds(row) && self.keeps(row))
            .cloned()
            .collect();
        rows.sort_by(|a, b| self.source.compare(a, b));
        let terms = self.terms();
        if !terms.is_empty() {
            rows.sort_by(|a, b| {
                terms
                    .iter()
                    .map(|&(field, descending)| {
                        let ordering = field.compare(a, b);
                        if descending {
                            ordering.reverse()
                        } else {
                            ordering
                        }
                    })
                    .find(|ordering| ordering.is_ne())
                    .unwrap_or_else(|| a.id.cmp(&b.id))
            });
        }
        rows.into_iter()
            .skip(self.offset.unwrap_or(0))
            .take(self.limit.unwrap_or(usize::MAX))
            .collect()
    }

    /// Whether the query's order is the source's own (rows stream).
    fn streams(&self) -> bool {
        matches!(self.order, OrderSpec::None | OrderSpec::Native(_))
    }
}

impl Change {
    fn apply(self, row: &mut Listing) {
        match self {
            Self::AddPrice(delta) => row.price += delta,
            Self::SetRank(rank) => row.rank = rank,
            Self::SetGroup(group) => row.group = group,
            Self::SetTag(tag) => row.tag = tag,
            Self::Recode(shift) => row.code = code((row.id + shift) % CODES),
            Self::ShiftId => row.id += IDS,
        }
    }
}

// ---------------------------------------------------------------------------
// Running a specification against the table
// ---------------------------------------------------------------------------

/// Something done with a query, whatever its source type.
trait Visit {
    type Out;
    fn visit<S: Source<Listing>>(self, query: Query<'_, Listing, S>) -> Self::Out;
}

/// Builds the query of `spec` (source first, then filters, order, offset and
/// limit) and hands it to `visit`.
fn run<V: Visit>(table: &WorkTable<Listing>, spec: &QuerySpec, visit: V) -> V::Out {
    let query = table.query();
    match &spec.source {
        SourceSpec::All => visit.visit(finish(query, spec)),
        SourceSpec::Pk(bounds) => visit.visit(finish(query.range(*bounds), spec)),
        SourceSpec::ByCode(code) => {
            visit.visit(finish(query.by(Listing::CODE, code.as_str()), spec))
        }
        SourceSpec::ByGroup(group) => visit.visit(finish(query.by(Listing::GROUP, group), spec)),
        SourceSpec::ByGroupRank(key) => {
            visit.visit(finish(query.by(Listing::BY_GROUP_RANK, key), spec))
        }
        SourceSpec::RangeCode(bounds) => {
            visit.visit(finish(query.range_by(Listing::CODE, bounds.clone()), spec))
        }
        SourceSpec::RangeGroup(bounds) => {
            visit.visit(finish(query.range_by(Listing::GROUP, *bounds), spec))
        }
        SourceSpec::RangeGroupRank(bounds) => visit.visit(finish(
            query.range_by(Listing::BY_GROUP_RANK, *bounds),
            spec,
        )),
        SourceSpec::PrefixGroup(group) => visit.visit(finish(
            query.prefix_by(Listing::BY_GROUP_RANK, *group),
            spec,
        )),
    }
}

fn finish<'t, S: Source<Listing>>(
    mut query: Query<'t, Listing, S>,
    spec: &QuerySpec,
) -> Query<'t, Listing, S> {
    if let Some(filter) = spec.row_filter {
        query = query.filter(move |row| filter.keeps(row));
    }
    if let Some(filter) = spec.archived_filter {
        query = query.filter_archived(move |row| filter.keeps_archived(row));
    }
    for (field, descending) in spec.terms() {
        query = match (field, descending) {
            (FieldName::Id, false) => query.order_by(Listing::ID),
            (FieldName::Id, true) => query.order_by_desc(Listing::ID),
            (FieldName::Code, false) => query.order_by(Listing::CODE),
            (FieldName::Code, true) => query.order_by_desc(Listing::CODE),
            (FieldName::Group, false) => query.order_by(Listing::GROUP),
            (FieldName::Group, true) => query.order_by_desc(Listing::GROUP),
            (FieldName::Rank, false) => query.order_by(Listing::RANK),
            (FieldName::Rank, true) => query.order_by_desc(Listing::RANK),
            (FieldName::Price, false) => query.order_by(Listing::PRICE),
            (FieldName::Price, true) => query.order_by_desc(Listing::PRICE),
            (FieldName::Tag, false) => query.order_by(Listing::TAG),
            (FieldName::Tag, true) => query.order_by_desc(Listing::TAG),
        };
    }
    if let Some(offset) = spec.offset {
        query = query.offset(offset);
    }
    if let Some(limit) = spec.limit {
        query = query.limit(limit);
    }
    query
}

/// Everything a read query can answer.
#[derive(Debug, PartialEq)]
struct Answers {
    to_vec: Vec<Listing>,
    iter: Vec<Listing>,
    first: Option<Listing>,
    count: usize,
    exists: bool,
}

impl Answers {
    fn expected(rows: Vec<Listing>) -> Self {
        Self {
            first: rows.first().cloned(),
            count: rows.len(),
            exists: !rows.is_empty(),
            iter: rows.clone(),
            to_vec: rows,
        }
    }
}

struct ReadAll;

impl Visit for ReadAll {
    type Out = Answers;
    fn visit<S: Source<Listing>>(self, query: Query<'_, Listing, S>) -> Answers {
        Answers {
            to_vec: query.to_vec(),
            iter: query.iter().collect(),
            first: query.first(),
            count: query.count(),
            exists: query.exists(),
        }
    }
}

struct UpdateWith<'r> {
    change: Change,
    rt: &'r tokio::runtime::Runtime,
}

impl Visit for UpdateWith<'_> {
    type Out = worktable_core::Result<usize>;
    fn visit<S: Source<Listing>>(self, query: Query<'_, Listing, S>) -> Self::Out {
        self.rt
            .block_on(query.update_with(|row| self.change.apply(row)))
    }
}

struct Delete<'r> {
    rt: &'r tokio::runtime::Runtime,
}

impl Visit for Delete<'_> {
    type Out = worktable_core::Result<Vec<Listing>>;
    fn visit<S: Source<Listing>>(self, query: Query<'_, Listing, S>) -> Self::Out {
        self.rt.block_on(query.delete())
    }
}

// ---------------------------------------------------------------------------
// The model's writes
// ---------------------------------------------------------------------------

/// A write's outcome, reduced to what the model predicts.
#[derive(Debug, PartialEq)]
enum Outcome<T> {
    Ok(T),
    DuplicatePk,
    DuplicateKey(String),
    NotFound,
    PkChanged,
    Other(String),
}

impl<T> From<worktable_core::Result<T>> for Outcome<T> {
    fn from(result: worktable_core::Result<T>) -> Self {
        match result {
            Ok(value) => Self::Ok(value),
            Err(TableError::DuplicatePk { .. }) => Self::DuplicatePk,
            Err(TableError::DuplicateKey {
                index: "code", key, ..
            }) => Self::DuplicateKey(key),
            Err(TableError::NotFound { .. }) => Self::NotFound,
            Err(TableError::PkChanged { .. }) => Self::PkChanged,
            Err(other) => Self::Other(other.to_string()),
        }
    }
}

struct Model {
    rows: BTreeMap<u32, Listing>,
}

impl Model {
    /// Whether a row other than `except` has `code`.
    fn code_taken(&self, code: &str, except: Option<u32>) -> bool {
        self.rows
            .values()
            .any(|row| row.code == code && Some(row.id) != except)
    }

    fn insert(&mut self, row: Listing) -> Outcome<u32> {
        if self.rows.contains_key(&row.id) {
            Outcome::DuplicatePk
        } else if self.code_taken(&row.code, None) {
            Outcome::DuplicateKey(format!("{:?}", row.code))
        } else {
            self.rows.insert(row.id, row.clone());
            Outcome::Ok(row.id)
        }
    }

    fn update(&mut self, row: Listing) -> Outcome<Listing> {
        if !self.rows.contains_key(&row.id) {
            Outcome::NotFound
        } else if self.code_taken(&row.code, Some(row.id)) {
            Outcome::DuplicateKey(format!("{:?}", row.code))
        } else {
            Outcome::Ok(self.rows.insert(row.id, row).expect("present"))
        }
    }

    fn upsert(&mut self, row: Listing) -> Outcome<Option<Listing>> {
        if self.rows.contains_key(&row.id) {
            match self.update(row) {
                Outcome::Ok(old) => Outcome::Ok(Some(old)),
                Outcome::DuplicateKey(key) => Outcome::DuplicateKey(key),
                other => Outcome::Other(format!("model: {other:?}")),
            }
        } else {
            match self.insert(row) {
                Outcome::Ok(_) => Outcome::Ok(None),
                Outcome::DuplicateKey(key) => Outcome::DuplicateKey(key),
                other => Outcome::Other(format!("model: {other:?}")),
            }
        }
    }

    fn delete(&mut self, id: u32) -> Outcome<Listing> {
        self.rows.remove(&id).map_or(Outcome::NotFound, Outcome::Ok)
    }

    /// `update_with` through a query: the selected rows change one by one in
    /// primary-key order, stopping at the first failing row.
    fn update_selected(&mut self, selected: &[Listing], change: Change) -> Outcome<usize> {
        let mut ids: Vec<u32> = selected.iter().map(|row| row.id).collect();
        ids.sort_unstable();
        let mut changed = 0;
        for id in ids {
            let mut row = self.rows[&id].clone();
            change.apply(&mut row);
            if row.id != id {
                return Outcome::PkChanged;
            }
            if self.code_taken(&row.code, Some(id)) {
                return Outcome::DuplicateKey(format!("{:?}", row.code));
            }
            self.rows.insert(id, row);
            changed += 1;
        }
        Outcome::Ok(changed)
    }

    /// `delete` through a query: the selected rows, in primary-key order.
    fn delete_selected(&mut self, selected: &[Listing]) -> Outcome<Vec<Listing>> {
        let mut ids: Vec<u32> = selected.iter().map(|row| row.id).collect();
        ids.sort_unstable();
        Outcome::Ok(
            ids.into_iter()
                .map(|id| {
                    self.rows
                        .remove(&id)
                        .expect("selected rows are in the model")
                })
                .collect(),
        )
    }
}

// ---------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------

/// What the property did, printed at the end.
#[derive(Default)]
struct Summary {
    cases: usize,
    reads: usize,
    streamed: usize,
    nonempty: usize,
    rows_returned: usize,
    rows_in_table: usize,
    updates: usize,
    failed_updates: usize,
    deletes: usize,
    rows_deleted: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases, {} queries: {} reads ({} in the source's order, {} non-empty, {} rows \
             returned, {} rows in the table on average), {} update_with ({} failing on a row), \
             {} delete ({} rows)",
            self.cases,
            self.reads + self.updates + self.deletes,
            self.reads,
            self.streamed,
            self.nonempty,
            self.rows_returned,
            self.rows_in_table / self.reads.max(1),
            self.updates,
            self.failed_updates,
            self.deletes,
            self.rows_deleted,
        )
    }
}

/// The table holds exactly the model's rows and its indexes agree with them.
fn check_table(table: &WorkTable<Listing>, model: &Model) -> TestCaseResult {
    prop_assert_eq!(
        table.iter().collect::<Vec<_>>(),
        model.rows.values().cloned().collect::<Vec<_>>()
    );
    prop_assert_eq!(table.len(), model.rows.len());
    if let Err(error) = table.check_integrity() {
        return Err(TestCaseError::fail(format!("check_integrity: {error}")));
    }
    Ok(())
}

fn case(initial: &[Listing], steps: &[Step], summary: &mut Summary) -> TestCaseResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let table = WorkTable::<Listing>::new();
    let mut model = Model {
        rows: BTreeMap::new(),
    };
    summary.cases += 1;
    for row in initial {
        let outcome = Outcome::from(rt.block_on(table.insert(row.clone())));
        prop_assert_eq!(outcome, model.insert(row.clone()), "insert {:?}", row);
    }
    for step in steps {
        match step {
            Step::Insert(row) => {
                let outcome = Outcome::from(rt.block_on(table.insert(row.clone())));
                prop_assert_eq!(outcome, model.insert(row.clone()), "insert {:?}", row);
            }
            Step::Update(row) => {
                let outcome = Outcome::from(rt.block_on(table.update(row.clone())));
                prop_assert_eq!(outcome, model.update(row.clone()), "update {:?}", row);
            }
            Step::Upsert(row) => {
                let outcome = Outcome::from(rt.block_on(table.upsert(row.clone())));
                prop_assert_eq!(outcome, model.upsert(row.clone()), "upsert {:?}", row);
            }
            Step::Delete(id) => {
                let outcome = Outcome::from(rt.block_on(table.delete(id)));
                prop_assert_eq!(outcome, model.delete(*id), "delete {}", id);
            }
            Step::Reclaim => table.reclaim_retired(),
            Step::Read(spec) => {
                let expected = spec.expected(&model.rows);
                summary.reads += 1;
                summary.streamed += usize::from(spec.streams());
                summary.nonempty += usize::from(!expected.is_empty());
                summary.rows_returned += expected.len();
                summary.rows_in_table += model.rows.len();
                let answers = run(&table, spec, ReadAll);
                prop_assert_eq!(answers, Answers::expected(expected), "query {:?}", spec);
            }
            Step::Change(spec, change) => {
                let selected = spec.expected(&model.rows);
                summary.updates += 1;
                let outcome = Outcome::from(run(
                    &table,
                    spec,
                    UpdateWith {
                        change: *change,
                        rt: &rt,
                    },
                ));
                let predicted = model.update_selected(&selected, *change);
                summary.failed_updates += usize::from(!matches!(predicted, Outcome::Ok(_)));
                prop_assert_eq!(outcome, predicted, "update_with {:?} on {:?}", change, spec);
                check_table(&table, &model)?;
            }
            Step::Remove(spec) => {
                let selected = spec.expected(&model.rows);
                summary.deletes += 1;
                summary.rows_deleted += selected.len();
                let outcome = Outcome::from(run(&table, spec, Delete { rt: &rt }));
                prop_assert_eq!(
                    outcome,
                    model.delete_selected(&selected),
                    "delete {:?}",
                    spec
                );
                check_table(&table, &model)?;
            }
        }
        prop_assert_eq!(table.len(), model.rows.len());
    }
    check_table(&table, &model)
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn listing() -> impl Strategy<Value = Listing> {
    (
        0..IDS,
        0..CODES,
        0..4u8,
        -2..=2i16,
        -30..30i64,
        option::of(0..3u8),
    )
        .prop_map(|(id, n, group, rank, price, tag)| Listing {
            id,
            code: code(n),
            group,
            rank,
            price,
            tag,
        })
}

/// Bounds over values from `value`: unbounded, included or excluded ends,
/// mostly in order; one time in five in any order (a start after the end
/// selects nothing).
fn bounds<T: fmt::Debug + Clone + Ord + 'static>(
    value: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Bounds<T>> {
    let bound = move || {
        prop_oneof![
            1 => Just(Bound::Unbounded),
            2 => value.clone().prop_map(Bound::Included),
            2 => value.clone().prop_map(Bound::Excluded),
        ]
    };
    (bound(), bound(), 0..5u8).prop_map(|(start, end, any_order)| {
        let inverted = match (&start, &end) {
            (
                Bound::Included(start) | Bound::Excluded(start),
                Bound::Included(end) | Bound::Excluded(end),
            ) => start > end,
            _ => false,
        };
        if inverted && any_order > 0 {
            (end, start)
        } else {
            (start, end)
        }
    })
}

fn source() -> impl Strategy<Value = SourceSpec> {
    // Bounds go a little beyond the values rows have.
    let code_bound = (0..CODES + 4).prop_map(code);
    let group_rank = (0..5u8, -3..=3i16);
    prop_oneof![
        2 => Just(SourceSpec::All),
        3 => bounds(0..IDS + 2).prop_map(SourceSpec::Pk),
        2 => (0..CODES).prop_map(|n| SourceSpec::ByCode(code(n))),
        2 => (0..5u8).prop_map(SourceSpec::ByGroup),
        2 => (0..4u8, -2..=2i16).prop_map(SourceSpec::ByGroupRank),
        3 => bounds(code_bound).prop_map(SourceSpec::RangeCode),
        3 => bounds(0..5u8).prop_map(SourceSpec::RangeGroup),
        3 => bounds(group_rank).prop_map(SourceSpec::RangeGroupRank),
        3 => (0..5u8).prop_map(SourceSpec::PrefixGroup),
    ]
}

fn field() -> impl Strategy<Value = FieldName> {
    prop_oneof![
        Just(FieldName::Id),
        Just(FieldName::Code),
        Just(FieldName::Group),
        Just(FieldName::Rank),
        Just(FieldName::Price),
        Just(FieldName::Tag),
    ]
}

fn order() -> impl Strategy<Value = OrderSpec> {
    prop_oneof![
        2 => Just(OrderSpec::None),
        3 => any::<bool>().prop_map(OrderSpec::Native),
        4 => prop::collection::vec((field(), any::<bool>()), 1..=2).prop_map(OrderSpec::Terms),
    ]
}

fn query() -> impl Strategy<Value = QuerySpec> {
    let row_filter = prop_oneof![
        (-2..=2i16).prop_map(RowFilter::RankAtLeast),
        option::of(0..3u8).prop_map(RowFilter::TagIs),
        (2..4u32)
            .prop_flat_map(|modulus| (Just(modulus), 0..modulus))
            .prop_map(|(modulus, remainder)| RowFilter::IdRemainder(modulus, remainder)),
    ];
    let archived_filter = prop_oneof![
        (-30..30i64).prop_map(ArchivedFilter::PriceBelow),
        (-30..30i64).prop_map(ArchivedFilter::PriceAtLeast),
        (0..4u8).prop_map(ArchivedFilter::GroupIsNot),
    ];
    (
        source(),
        option::weighted(0.4, row_filter),
        option::weighted(0.4, archived_filter),
        order(),
        option::weighted(0.3, 0..8usize),
        option::weighted(0.5, 0..8usize),
    )
        .prop_map(
            |(source, row_filter, archived_filter, order, offset, limit)| QuerySpec {
                source,
                row_filter,
                archived_filter,
                order,
                offset,
                limit,
            },
        )
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (-40..40i64).prop_map(Change::AddPrice),
        2 => (-2..=2i16).prop_map(Change::SetRank),
        2 => (0..4u8).prop_map(Change::SetGroup),
        1 => option::of(0..3u8).prop_map(Change::SetTag),
        2 => (0..CODES).prop_map(Change::Recode),
        1 => Just(Change::ShiftId),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => listing().prop_map(Step::Insert),
        3 => listing().prop_map(Step::Update),
        1 => listing().prop_map(Step::Upsert),
        2 => (0..IDS).prop_map(Step::Delete),
        1 => Just(Step::Reclaim),
        16 => query().prop_map(Step::Read),
        2 => (query(), change()).prop_map(|(spec, change)| Step::Change(spec, change)),
        1 => query().prop_map(Step::Remove),
    ]
}

#[test]
fn queries_match_model() {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        // Failing cases are printed shrunk; no regression files are written
        // into the source tree.
        failure_persistence: None,
        ..Config::default()
    });
    let summary = RefCell::new(Summary::default());
    let strategy = (
        prop::collection::vec(listing(), 20..=MAX_INITIAL_ROWS),
        prop::collection::vec(step(), 1..=MAX_STEPS),
    );
    let result = runner.run(&strategy, |(initial, steps)| {
        case(&initial, &steps, &mut summary.borrow_mut())
    });
    println!("query_model: {}", summary.borrow());
    if let Err(error) = result {
        panic!("{error}");
    }
}
