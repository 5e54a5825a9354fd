//! Model-based test of `WorkTable`: random sequences of operations are applied
//! both to a table and to a reference model made of `BTreeMap`s, and the two
//! are compared after every step: the result or error of the operation,
//! `len()`, `check_integrity()`, the entry count of every index in `stats()`,
//! and the full contents of the primary index (`iter()`) and of every
//! secondary index (`range_by(handle, ..)`, in `(key, pk)` order).
//!
//! Two tables, one property each:
//! * [`Account`]: composite primary key `(tenant, seq)`, a unique `String`
//!   index, a non-unique `Option<u8>` index and a unique two-field composite
//!   index (also searched by its one-field prefix);
//! * [`Ticket`]: autoincrement key (the model predicts every assigned key,
//!   including the keys used up by failed inserts and the jumps after an
//!   upsert with a larger key), a unique `Option<String>` index, a non-unique
//!   `Option<u8>` index and a non-unique three-field composite index (searched
//!   by both prefixes).
//!
//! Keys come from small pools, so duplicate keys, hits and misses are frequent
//! (a quarter to a third of the writes fail) and tables grow to 30-50 rows. Each
//! property runs 64 cases of 1 to 300 operations: about 19,000 operations per
//! `cargo test` run in all. Each property counts the operations it applies and
//! prints the count with the row sizes and errors seen (run with
//! `--nocapture`); measured: 10,323 + 9,898 = 20,221 operations, 4.6 s for
//! both properties in debug mode on 2 cores.
//!
//! Operations are plain data applied in a loop, so a failure shrinks to a
//! short sequence of operations.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug};
use std::ops::{Bound, RangeBounds};

use proptest::prelude::*;
use proptest::sample::{Index as Pick, select};
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use worktable_core::{
    Archive, Deserialize, MAX_ROW_BYTES, Row, Serialize, Table, TableError, WorkTable,
};

/// Cases per property.
const CASES: u32 = 64;
/// Longest operation sequence of a case.
const MAX_OPS: usize = 300;
/// A note this long makes any row too large for a page slot.
const HUGE_NOTE: usize = MAX_ROW_BYTES + 500;

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(
    name = "accounts",
    index(name = "by_place", fields(region, slot), unique)
)]
struct Account {
    #[pk]
    tenant: u16,
    #[pk]
    seq: u32,
    #[index(unique)]
    email: String,
    #[index]
    status: Option<u8>,
    region: u8,
    slot: u8,
    note: Option<String>,
    amount: i64,
}

type AccountPk = (u16, u32);
type Place = (u8, u8);

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(
    name = "tickets",
    index(name = "by_status_amount_note", fields(status, amount, note))
)]
struct Ticket {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    code: Option<String>,
    #[index]
    status: Option<u8>,
    amount: i64,
    note: Option<String>,
    hits: u32,
}

type TicketKey = (Option<u8>, i64, Option<String>);

// Index keys, written by hand for the model (independent of the derive).

fn account_email(row: &Account) -> String {
    row.email.clone()
}

fn account_status(row: &Account) -> Option<u8> {
    row.status
}

fn account_place(row: &Account) -> Place {
    (row.region, row.slot)
}

fn ticket_code(row: &Ticket) -> Option<String> {
    row.code.clone()
}

fn ticket_status(row: &Ticket) -> Option<u8> {
    row.status
}

fn ticket_composite(row: &Ticket) -> TicketKey {
    (row.status, row.amount, row.note.clone())
}

/// A row type the model can stand for.
trait ModelRow: Row + Clone + Debug + PartialEq {
    /// Whether the table must refuse the row with `RowTooLarge`.
    fn oversized(&self) -> bool;
}

fn oversized_note(note: &Option<String>) -> bool {
    note.as_ref().is_some_and(|note| note.len() > MAX_ROW_BYTES)
}

impl ModelRow for Account {
    fn oversized(&self) -> bool {
        oversized_note(&self.note)
    }
}

impl ModelRow for Ticket {
    fn oversized(&self) -> bool {
        oversized_note(&self.note)
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// A `TableError` reduced to what the model predicts.
#[derive(Debug, PartialEq)]
enum Fail {
    DuplicatePk {
        table: &'static str,
        pk: String,
    },
    DuplicateKey {
        table: &'static str,
        index: &'static str,
        key: String,
    },
    NotFound {
        table: &'static str,
        key: String,
    },
    /// `size > max` is checked when converting; the exact size is not modelled.
    RowTooLarge {
        table: &'static str,
        max: usize,
    },
    KeysExhausted {
        table: &'static str,
    },
    Unexpected(String),
}

impl From<TableError> for Fail {
    fn from(error: TableError) -> Self {
        match error {
            TableError::DuplicatePk { table, pk } => Fail::DuplicatePk { table, pk },
            TableError::DuplicateKey { table, index, key } => {
                Fail::DuplicateKey { table, index, key }
            }
            TableError::NotFound { table, key } => Fail::NotFound { table, key },
            TableError::RowTooLarge { table, size, max } if size > max => {
                Fail::RowTooLarge { table, max }
            }
            TableError::KeysExhausted { table } => Fail::KeysExhausted { table },
            other => Fail::Unexpected(format!("{other:?}")),
        }
    }
}

/// One secondary index of the model: every key with the primary keys of the
/// rows that have it, both in order, so iterating gives `(key, pk)` order.
struct ModelIndex<R: Row, K> {
    name: &'static str,
    unique: bool,
    key: fn(&R) -> K,
    entries: BTreeMap<K, BTreeSet<R::Pk>>,
}

impl<R: Row, K> ModelIndex<R, K> {
    fn boxed(name: &'static str, unique: bool, key: fn(&R) -> K) -> Box<Self> {
        Box::new(Self {
            name,
            unique,
            key,
            entries: BTreeMap::new(),
        })
    }
}

/// The operations of [`ModelIndex`] that do not depend on the key type.
trait AnyIndex<R: Row> {
    fn name(&self) -> &'static str;
    fn unique(&self) -> bool;
    /// The duplicate key that storing `new` (replacing `old`, if any) would
    /// cause in this index.
    fn conflict(&self, new: &R, old: Option<&R>) -> Option<Fail>;
    fn add(&mut self, row: &R);
    fn remove(&mut self, row: &R);
    fn entry_count(&self) -> usize;
    /// Primary keys of all entries, in `(key, pk)` order.
    fn pks(&self) -> Vec<R::Pk>;
}

impl<R: Row, K: Ord + Debug> AnyIndex<R> for ModelIndex<R, K> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn unique(&self) -> bool {
        self.unique
    }

    fn conflict(&self, new: &R, old: Option<&R>) -> Option<Fail> {
        let key = (self.key)(new);
        // An update leaves the index alone when the key does not change.
        let unchanged = old.is_some_and(|old| (self.key)(old) == key);
        (self.unique && !unchanged && self.entries.contains_key(&key)).then(|| Fail::DuplicateKey {
            table: R::TABLE_NAME,
            index: self.name,
            key: format!("{key:?}"),
        })
    }

    fn add(&mut self, row: &R) {
        let pks = self.entries.entry((self.key)(row)).or_default();
        assert!(pks.insert(row.pk()), "model: entry added twice");
        assert!(!self.unique || pks.len() == 1, "model: duplicate key");
    }

    fn remove(&mut self, row: &R) {
        let key = (self.key)(row);
        let pks = self.entries.get_mut(&key).expect("model: no such key");
        assert!(pks.remove(&row.pk()), "model: no such entry");
        if pks.is_empty() {
            self.entries.remove(&key);
        }
    }

    fn entry_count(&self) -> usize {
        self.entries.values().map(BTreeSet::len).sum()
    }

    fn pks(&self) -> Vec<R::Pk> {
        self.entries.values().flatten().cloned().collect()
    }
}

/// The reference model: rows by primary key and the secondary indexes in
/// declaration order (the order in which the table checks unique keys).
struct Model<R: ModelRow> {
    rows: BTreeMap<R::Pk, R>,
    indexes: Vec<Box<dyn AnyIndex<R>>>,
}

impl<R: ModelRow> Model<R> {
    fn new(indexes: Vec<Box<dyn AnyIndex<R>>>) -> Self {
        Self {
            rows: BTreeMap::new(),
            indexes,
        }
    }

    /// `insert` once the key is known. Checks in the table's order: primary
    /// key, row size, then unique indexes in declaration order.
    fn insert_at(&mut self, pk: R::Pk, mut row: R) -> Result<R::Pk, Fail> {
        row.set_pk(pk.clone());
        if self.rows.contains_key(&pk) {
            return Err(Fail::DuplicatePk {
                table: R::TABLE_NAME,
                pk: format!("{pk:?}"),
            });
        }
        if row.oversized() {
            return Err(too_large::<R>());
        }
        if let Some(fail) = self.indexes.iter().find_map(|i| i.conflict(&row, None)) {
            return Err(fail);
        }
        for index in &mut self.indexes {
            index.add(&row);
        }
        self.rows.insert(pk.clone(), row);
        Ok(pk)
    }

    fn update(&mut self, row: R) -> Result<R, Fail> {
        let pk = row.pk();
        match self.rows.get(&pk) {
            Some(old) => self.replace(old.clone(), row),
            None => Err(not_found_pk::<R>(&pk)),
        }
    }

    fn upsert(&mut self, row: R) -> Result<Option<R>, Fail> {
        let pk = row.pk();
        match self.rows.get(&pk) {
            Some(old) => self.replace(old.clone(), row).map(Some),
            None => self.insert_at(pk, row).map(|_| None),
        }
    }

    /// Replaces `old` by `row` (same primary key): row size, then the unique
    /// indexes whose key changes, in declaration order.
    fn replace(&mut self, old: R, row: R) -> Result<R, Fail> {
        if row.oversized() {
            return Err(too_large::<R>());
        }
        if let Some(fail) = self
            .indexes
            .iter()
            .find_map(|i| i.conflict(&row, Some(&old)))
        {
            return Err(fail);
        }
        for index in &mut self.indexes {
            index.remove(&old);
            index.add(&row);
        }
        self.rows.insert(row.pk(), row);
        Ok(old)
    }

    fn delete(&mut self, pk: &R::Pk) -> Result<R, Fail> {
        let row = self.rows.remove(pk).ok_or_else(|| not_found_pk::<R>(pk))?;
        for index in &mut self.indexes {
            index.remove(&row);
        }
        Ok(row)
    }

    /// `delete_by` on the unique index `name`.
    fn delete_by<K: Ord + Debug>(
        &mut self,
        name: &str,
        key: fn(&R) -> K,
        value: &K,
    ) -> Result<R, Fail> {
        match self.by_key(key, |k| k == value).first() {
            Some(row) => self.delete(&row.pk()),
            None => Err(Fail::NotFound {
                table: R::TABLE_NAME,
                key: format!("{name} = {value:?}"),
            }),
        }
    }

    /// `delete_all_by`: the deleted rows in primary-key order.
    fn delete_all_by<K: Ord>(&mut self, key: fn(&R) -> K, value: &K) -> Vec<R> {
        let doomed: Vec<R> = self
            .rows
            .values()
            .filter(|r| key(r) == *value)
            .cloned()
            .collect();
        for row in &doomed {
            self.delete(&row.pk()).expect("the row is in the model");
        }
        doomed
    }

    fn get(&self, pk: &R::Pk) -> Option<R> {
        self.rows.get(pk).cloned()
    }

    /// Rows whose primary key is in `bounds`, in primary-key order.
    fn pk_range(&self, bounds: &Bounds<R::Pk>) -> Vec<R> {
        self.rows
            .iter()
            .filter(|(pk, _)| bounds.contains(*pk))
            .map(|(_, row)| row.clone())
            .collect()
    }

    /// Rows whose index key passes `keep`, in `(key, pk)` order. Computed
    /// from the rows, independently of the model's index maps.
    fn by_key<K: Ord>(&self, key: fn(&R) -> K, keep: impl Fn(&K) -> bool) -> Vec<R> {
        let mut rows: Vec<(K, &R)> = self
            .rows
            .values()
            .map(|row| (key(row), row))
            .filter(|(k, _)| keep(k))
            .collect();
        // Stable: rows of one key stay in primary-key order.
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter().map(|(_, row)| row.clone()).collect()
    }

    fn in_range<K: Ord>(&self, key: fn(&R) -> K, bounds: &Bounds<K>) -> Vec<R> {
        self.by_key(key, |k| bounds.contains(k))
    }
}

fn not_found_pk<R: Row>(pk: &R::Pk) -> Fail {
    Fail::NotFound {
        table: R::TABLE_NAME,
        key: format!("primary key {pk:?}"),
    }
}

fn too_large<R: Row>() -> Fail {
    Fail::RowTooLarge {
        table: R::TABLE_NAME,
        max: MAX_ROW_BYTES,
    }
}

/// The model of `AutoIncrement<u64>`: the largest key handed out or observed.
#[derive(Debug, Default)]
struct KeyModel {
    last: u64,
}

impl KeyModel {
    fn next(&mut self) -> Option<u64> {
        self.last = self.last.checked_add(1)?;
        Some(self.last)
    }

    fn observe(&mut self, pk: u64) {
        self.last = self.last.max(pk);
    }
}

// ---------------------------------------------------------------------------
// Operations as data
// ---------------------------------------------------------------------------

type Bounds<K> = (Bound<K>, Bound<K>);

/// How a double-ended iterator is consumed.
#[derive(Clone, Copy, Debug)]
enum Walk {
    Forward,
    Reverse,
    /// `next()` on a 1 bit, `next_back()` on a 0 bit, cycling through the bits.
    Zigzag(u32),
}

fn walk<T>(mut items: impl DoubleEndedIterator<Item = T>, walk: Walk) -> Vec<T> {
    match walk {
        Walk::Forward => items.collect(),
        Walk::Reverse => items.rev().collect(),
        Walk::Zigzag(bits) => {
            let mut out = Vec::new();
            for step in 0.. {
                let item = if bits >> (step % 32) & 1 == 1 {
                    items.next()
                } else {
                    items.next_back()
                };
                match item {
                    Some(item) => out.push(item),
                    None => break,
                }
            }
            out
        }
    }
}

/// A primary key: one of the model's rows (`Existing`, resolved against the
/// model when applied; the default key if there are none) or a given one.
#[derive(Clone, Debug)]
enum PkRef<P> {
    Existing(Pick),
    Given(P),
}

impl<P: Ord + Clone + Default> PkRef<P> {
    fn resolve<R>(&self, rows: &BTreeMap<P, R>) -> P {
        match self {
            PkRef::Existing(pick) if !rows.is_empty() => rows
                .keys()
                .nth(pick.index(rows.len()))
                .expect("in range")
                .clone(),
            PkRef::Existing(_) => P::default(),
            PkRef::Given(pk) => pk.clone(),
        }
    }
}

/// A field of a row being written: the current row's value (its default when
/// there is no current row) or a new one.
#[derive(Clone, Debug)]
enum Field<T> {
    Keep,
    Set(T),
}

impl<T: Clone + Default> Field<T> {
    fn pick(&self, current: Option<T>) -> T {
        match self {
            Field::Keep => current.unwrap_or_default(),
            Field::Set(value) => value.clone(),
        }
    }
}

/// The `note` of a row being written; `Huge` makes the row too large.
#[derive(Clone, Debug)]
enum NoteDraft {
    Keep,
    Set(Option<String>),
    Huge,
}

impl NoteDraft {
    fn pick(&self, current: Option<&Option<String>>) -> Option<String> {
        match self {
            NoteDraft::Keep => current.cloned().flatten(),
            NoteDraft::Set(note) => note.clone(),
            NoteDraft::Huge => Some("x".repeat(HUGE_NOTE)),
        }
    }
}

#[derive(Clone, Debug)]
struct AccountDraft {
    email: Field<String>,
    status: Field<Option<u8>>,
    place: Field<Place>,
    note: NoteDraft,
    amount: i64,
}

impl AccountDraft {
    fn build(&self, (tenant, seq): AccountPk, current: Option<&Account>) -> Account {
        let (region, slot) = self.place.pick(current.map(account_place));
        Account {
            tenant,
            seq,
            email: self.email.pick(current.map(account_email)),
            status: self.status.pick(current.map(account_status)),
            region,
            slot,
            note: self.note.pick(current.map(|row| &row.note)),
            amount: self.amount,
        }
    }
}

#[derive(Clone, Debug)]
enum AccountOp {
    Insert(PkRef<AccountPk>, AccountDraft),
    Update(PkRef<AccountPk>, AccountDraft),
    Upsert(PkRef<AccountPk>, AccountDraft),
    Delete(PkRef<AccountPk>),
    DeleteByEmail(String),
    DeleteAllByStatus(Option<u8>),
    DeleteAllByPlace(Place),
    Get(PkRef<AccountPk>),
    Contains(PkRef<AccountPk>),
    GetByEmail(String),
    GetByPlace(Place),
    FindByEmail(String),
    FindByStatus(Option<u8>),
    FindByPlace(Place),
    Range(Bounds<AccountPk>, Walk),
    RangeByEmail(Bounds<String>, Walk),
    RangeByStatus(Bounds<Option<u8>>, Walk),
    RangeByPlace(Bounds<Place>, Walk),
    PrefixByRegion(u8, Walk),
    Iter(Walk),
    Len,
}

#[derive(Clone, Debug)]
struct TicketDraft {
    code: Field<Option<String>>,
    status: Field<Option<u8>>,
    amount: Field<i64>,
    note: NoteDraft,
    hits: u32,
}

impl TicketDraft {
    fn build(&self, id: u64, current: Option<&Ticket>) -> Ticket {
        Ticket {
            id,
            code: self.code.pick(current.map(ticket_code)),
            status: self.status.pick(current.map(ticket_status)),
            amount: self.amount.pick(current.map(|row| row.amount)),
            note: self.note.pick(current.map(|row| &row.note)),
            hits: self.hits,
        }
    }
}

#[derive(Clone, Debug)]
enum TicketOp {
    /// The row's own id (ignored by the table) and its fields.
    Insert(u64, TicketDraft),
    Update(PkRef<u64>, TicketDraft),
    Upsert(PkRef<u64>, TicketDraft),
    Delete(PkRef<u64>),
    DeleteByCode(Option<String>),
    DeleteAllByCode(Option<String>),
    DeleteAllByStatus(Option<u8>),
    DeleteAllByComposite(TicketKey),
    Get(PkRef<u64>),
    Contains(PkRef<u64>),
    GetByCode(Option<String>),
    FindByCode(Option<String>),
    FindByStatus(Option<u8>),
    FindByComposite(TicketKey),
    Range(Bounds<u64>, Walk),
    RangeByCode(Bounds<Option<String>>, Walk),
    RangeByStatus(Bounds<Option<u8>>, Walk),
    RangeByComposite(Bounds<TicketKey>, Walk),
    PrefixByStatus(Option<u8>, Walk),
    PrefixByStatusAmount((Option<u8>, i64), Walk),
    Iter(Walk),
    Len,
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// `""` and every string of one to three letters from `a` to `d`: 85 words,
/// many of them prefixes of others.
fn words() -> Vec<String> {
    let mut words = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..3 {
        last = last
            .iter()
            .flat_map(|word| ["a", "b", "c", "d"].map(|letter| format!("{word}{letter}")))
            .collect();
        words.extend(last.iter().cloned());
    }
    words
}

fn word() -> BoxedStrategy<String> {
    select(words()).boxed()
}

fn code() -> BoxedStrategy<Option<String>> {
    prop_oneof![1 => Just(None), 12 => word().prop_map(Some)].boxed()
}

fn status() -> BoxedStrategy<Option<u8>> {
    prop_oneof![1 => Just(None), 6 => (0u8..6).prop_map(Some)].boxed()
}

fn amount() -> BoxedStrategy<i64> {
    prop_oneof![10 => -2i64..=2, 1 => Just(i64::MIN), 1 => Just(i64::MAX)].boxed()
}

fn short_note() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        1 => Just(None),
        3 => select(vec!["", "a", "ab", "b"]).prop_map(|note| Some(note.to_owned())),
    ]
    .boxed()
}

fn place() -> BoxedStrategy<Place> {
    (0u8..8, 0u8..10).boxed()
}

fn account_pk() -> BoxedStrategy<AccountPk> {
    (0u16..4, 0u32..24).boxed()
}

/// Range bounds over keys from `key`: any of included, excluded, unbounded;
/// four times out of five the two values are put in order (both orders
/// must work: an inverted range is empty).
fn bounds<K: Clone + Debug + Ord + 'static>(key: BoxedStrategy<K>) -> BoxedStrategy<Bounds<K>> {
    let bound = || {
        prop_oneof![
            2 => key.clone().prop_map(Bound::Included),
            2 => key.clone().prop_map(Bound::Excluded),
            1 => Just(Bound::Unbounded),
        ]
    };
    (bound(), bound(), prop::bool::weighted(0.8))
        .prop_map(|(start, end, ordered)| match (start, end) {
            (Bound::Included(a), Bound::Included(b)) if ordered && a > b => {
                (Bound::Included(b), Bound::Included(a))
            }
            (Bound::Included(a), Bound::Excluded(b)) if ordered && a > b => {
                (Bound::Included(b), Bound::Excluded(a))
            }
            (Bound::Excluded(a), Bound::Included(b)) if ordered && a > b => {
                (Bound::Excluded(b), Bound::Included(a))
            }
            (Bound::Excluded(a), Bound::Excluded(b)) if ordered && a > b => {
                (Bound::Excluded(b), Bound::Excluded(a))
            }
            other => other,
        })
        .boxed()
}

fn walk_strategy() -> BoxedStrategy<Walk> {
    prop_oneof![
        2 => Just(Walk::Forward),
        2 => Just(Walk::Reverse),
        1 => any::<u32>().prop_map(Walk::Zigzag),
    ]
    .boxed()
}

fn pk_ref<P: Clone + Debug + 'static>(
    given: BoxedStrategy<P>,
    existing_weight: u32,
    given_weight: u32,
) -> BoxedStrategy<PkRef<P>> {
    prop_oneof![
        existing_weight => any::<Pick>().prop_map(PkRef::Existing),
        given_weight => given.prop_map(PkRef::Given),
    ]
    .boxed()
}

/// A field: always set on insert; kept half of the time on update/upsert.
fn field<T: Clone + Debug + 'static>(
    value: BoxedStrategy<T>,
    may_keep: bool,
) -> BoxedStrategy<Field<T>> {
    if may_keep {
        prop_oneof![1 => Just(Field::Keep), 1 => value.prop_map(Field::Set)].boxed()
    } else {
        value.prop_map(Field::Set).boxed()
    }
}

/// A note: rarely one that makes the row too large; on update/upsert kept a
/// third of the time.
fn note_draft(may_keep: bool) -> BoxedStrategy<NoteDraft> {
    let set = prop_oneof![
        40 => short_note().prop_map(NoteDraft::Set),
        1 => Just(NoteDraft::Huge),
    ];
    if may_keep {
        prop_oneof![1 => Just(NoteDraft::Keep), 2 => set].boxed()
    } else {
        set.boxed()
    }
}

fn account_draft(may_keep: bool) -> BoxedStrategy<AccountDraft> {
    (
        field(word(), may_keep),
        field(status(), may_keep),
        field(place(), may_keep),
        note_draft(may_keep),
        amount(),
    )
        .prop_map(|(email, status, place, note, amount)| AccountDraft {
            email,
            status,
            place,
            note,
            amount,
        })
        .boxed()
}

fn account_op() -> impl Strategy<Value = AccountOp> {
    use AccountOp as Op;
    let range_pk = (0u16..5, 0u32..25).boxed();
    let place_bound = (0u8..9, 0u8..11).boxed();
    prop_oneof![
        32 => (pk_ref(account_pk(), 1, 6), account_draft(false))
            .prop_map(|(pk, draft)| Op::Insert(pk, draft)),
        10 => (pk_ref(account_pk(), 4, 1), account_draft(true))
            .prop_map(|(pk, draft)| Op::Update(pk, draft)),
        10 => (pk_ref(account_pk(), 1, 1), account_draft(true))
            .prop_map(|(pk, draft)| Op::Upsert(pk, draft)),
        4 => pk_ref(account_pk(), 3, 1).prop_map(Op::Delete),
        3 => word().prop_map(Op::DeleteByEmail),
        1 => status().prop_map(Op::DeleteAllByStatus),
        1 => place().prop_map(Op::DeleteAllByPlace),
        4 => pk_ref(account_pk(), 1, 1).prop_map(Op::Get),
        2 => pk_ref(account_pk(), 1, 1).prop_map(Op::Contains),
        3 => word().prop_map(Op::GetByEmail),
        2 => place().prop_map(Op::GetByPlace),
        1 => word().prop_map(Op::FindByEmail),
        3 => status().prop_map(Op::FindByStatus),
        1 => place().prop_map(Op::FindByPlace),
        4 => (bounds(range_pk), walk_strategy()).prop_map(|(b, w)| Op::Range(b, w)),
        3 => (bounds(word()), walk_strategy()).prop_map(|(b, w)| Op::RangeByEmail(b, w)),
        3 => (bounds(status()), walk_strategy()).prop_map(|(b, w)| Op::RangeByStatus(b, w)),
        3 => (bounds(place_bound), walk_strategy()).prop_map(|(b, w)| Op::RangeByPlace(b, w)),
        3 => (0u8..9, walk_strategy()).prop_map(|(r, w)| Op::PrefixByRegion(r, w)),
        2 => walk_strategy().prop_map(Op::Iter),
        1 => Just(Op::Len),
    ]
}

/// Ticket ids: mostly small, sometimes beyond the generated keys, rarely
/// at the very top (an upsert there exhausts the generator).
fn ticket_id() -> BoxedStrategy<u64> {
    prop_oneof![
        16 => 0u64..64,
        4 => 0u64..256,
        1 => (u64::MAX - 3)..=u64::MAX,
    ]
    .boxed()
}

fn ticket_draft(may_keep: bool) -> BoxedStrategy<TicketDraft> {
    (
        field(code(), may_keep),
        field(status(), may_keep),
        field(amount(), may_keep),
        note_draft(may_keep),
        0u32..4,
    )
        .prop_map(|(code, status, amount, note, hits)| TicketDraft {
            code,
            status,
            amount,
            note,
            hits,
        })
        .boxed()
}

fn ticket_key() -> BoxedStrategy<TicketKey> {
    (status(), amount(), short_note()).boxed()
}

fn ticket_op() -> impl Strategy<Value = TicketOp> {
    use TicketOp as Op;
    prop_oneof![
        30 => (ticket_id(), ticket_draft(false)).prop_map(|(id, draft)| Op::Insert(id, draft)),
        10 => (pk_ref(ticket_id(), 4, 1), ticket_draft(true))
            .prop_map(|(pk, draft)| Op::Update(pk, draft)),
        8 => (pk_ref(ticket_id(), 1, 1), ticket_draft(true))
            .prop_map(|(pk, draft)| Op::Upsert(pk, draft)),
        4 => pk_ref(ticket_id(), 3, 1).prop_map(Op::Delete),
        3 => code().prop_map(Op::DeleteByCode),
        1 => code().prop_map(Op::DeleteAllByCode),
        1 => status().prop_map(Op::DeleteAllByStatus),
        1 => ticket_key().prop_map(Op::DeleteAllByComposite),
        4 => pk_ref(ticket_id(), 1, 1).prop_map(Op::Get),
        2 => pk_ref(ticket_id(), 1, 1).prop_map(Op::Contains),
        3 => code().prop_map(Op::GetByCode),
        1 => code().prop_map(Op::FindByCode),
        2 => status().prop_map(Op::FindByStatus),
        2 => ticket_key().prop_map(Op::FindByComposite),
        4 => (bounds(ticket_id()), walk_strategy()).prop_map(|(b, w)| Op::Range(b, w)),
        3 => (bounds(code()), walk_strategy()).prop_map(|(b, w)| Op::RangeByCode(b, w)),
        3 => (bounds(status()), walk_strategy()).prop_map(|(b, w)| Op::RangeByStatus(b, w)),
        3 => (bounds(ticket_key()), walk_strategy())
            .prop_map(|(b, w)| Op::RangeByComposite(b, w)),
        3 => (status(), walk_strategy()).prop_map(|(s, w)| Op::PrefixByStatus(s, w)),
        3 => ((status(), amount()), walk_strategy())
            .prop_map(|(p, w)| Op::PrefixByStatusAmount(p, w)),
        2 => walk_strategy().prop_map(Op::Iter),
        1 => Just(Op::Len),
    ]
}

// ---------------------------------------------------------------------------
// Applying operations
// ---------------------------------------------------------------------------

/// What a property did, printed at its end.
#[derive(Debug, Default)]
struct Summary {
    cases: usize,
    ops: usize,
    /// Sum over steps of the row count after the step.
    rows: usize,
    max_rows: usize,
    duplicate_pk: usize,
    duplicate_key: usize,
    not_found: usize,
    too_large: usize,
    keys_exhausted: usize,
}

impl Summary {
    fn step(&mut self, rows: usize) {
        self.ops += 1;
        self.rows += rows;
        self.max_rows = self.max_rows.max(rows);
    }

    fn outcome<T>(&mut self, result: &Result<T, Fail>) {
        match result {
            Ok(_) | Err(Fail::Unexpected(_)) => {}
            Err(Fail::DuplicatePk { .. }) => self.duplicate_pk += 1,
            Err(Fail::DuplicateKey { .. }) => self.duplicate_key += 1,
            Err(Fail::NotFound { .. }) => self.not_found += 1,
            Err(Fail::RowTooLarge { .. }) => self.too_large += 1,
            Err(Fail::KeysExhausted { .. }) => self.keys_exhausted += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ops in {} cases; rows after a step: mean {:.1}, max {}; errors: \
             {} duplicate pk, {} duplicate key, {} not found, {} too large, {} keys exhausted",
            self.ops,
            self.cases,
            self.rows as f64 / self.ops.max(1) as f64,
            self.max_rows,
            self.duplicate_pk,
            self.duplicate_key,
            self.not_found,
            self.too_large,
            self.keys_exhausted,
        )
    }
}

/// Compares the outcome of a write and counts its error, if any.
fn same_outcome<T: PartialEq + Debug>(
    summary: &mut Summary,
    actual: Result<T, TableError>,
    expected: Result<T, Fail>,
) -> TestCaseResult {
    let actual = actual.map_err(Fail::from);
    summary.outcome(&actual);
    prop_assert_eq!(actual, expected);
    Ok(())
}

async fn apply_account(
    table: &WorkTable<Account>,
    model: &mut Model<Account>,
    op: &AccountOp,
    summary: &mut Summary,
) -> TestCaseResult {
    use AccountOp as Op;
    match op {
        Op::Insert(pk, draft) => {
            let pk = pk.resolve(&model.rows);
            let row = draft.build(pk, model.rows.get(&pk));
            let expected = model.insert_at(pk, row.clone());
            same_outcome(summary, table.insert(row).await, expected)?;
        }
        Op::Update(pk, draft) => {
            let pk = pk.resolve(&model.rows);
            let row = draft.build(pk, model.rows.get(&pk));
            let expected = model.update(row.clone());
            same_outcome(summary, table.update(row).await, expected)?;
        }
        Op::Upsert(pk, draft) => {
            let pk = pk.resolve(&model.rows);
            let row = draft.build(pk, model.rows.get(&pk));
            let expected = model.upsert(row.clone());
            same_outcome(summary, table.upsert(row).await, expected)?;
        }
        Op::Delete(pk) => {
            let pk = pk.resolve(&model.rows);
            let expected = model.delete(&pk);
            same_outcome(summary, table.delete(&pk).await, expected)?;
        }
        Op::DeleteByEmail(email) => {
            let expected = model.delete_by("email", account_email, email);
            let actual = table.delete_by(Account::EMAIL, email.as_str()).await;
            same_outcome(summary, actual, expected)?;
        }
        Op::DeleteAllByStatus(status) => {
            let expected = model.delete_all_by(account_status, status);
            let actual = table.delete_all_by(Account::STATUS, status).await;
            same_outcome(summary, actual, Ok(expected))?;
        }
        Op::DeleteAllByPlace(place) => {
            let expected = model.delete_all_by(account_place, place);
            let actual = table.delete_all_by(Account::BY_PLACE, place).await;
            same_outcome(summary, actual, Ok(expected))?;
        }
        Op::Get(pk) => {
            let pk = pk.resolve(&model.rows);
            prop_assert_eq!(table.get(&pk), model.get(&pk));
        }
        Op::Contains(pk) => {
            let pk = pk.resolve(&model.rows);
            prop_assert_eq!(table.contains(&pk), model.rows.contains_key(&pk));
        }
        Op::GetByEmail(email) => {
            let expected = model.by_key(account_email, |k| k == email).pop();
            prop_assert_eq!(table.get_by(Account::EMAIL, email.as_str()), expected);
        }
        Op::GetByPlace(place) => {
            let expected = model.by_key(account_place, |k| k == place).pop();
            prop_assert_eq!(table.get_by(Account::BY_PLACE, place), expected);
        }
        Op::FindByEmail(email) => {
            let expected = model.by_key(account_email, |k| k == email);
            prop_assert_eq!(table.find_by(Account::EMAIL, email.as_str()), expected);
        }
        Op::FindByStatus(status) => {
            let expected = model.by_key(account_status, |k| k == status);
            prop_assert_eq!(table.find_by(Account::STATUS, status), expected);
        }
        Op::FindByPlace(place) => {
            let expected = model.by_key(account_place, |k| k == place);
            prop_assert_eq!(table.find_by(Account::BY_PLACE, place), expected);
        }
        Op::Range(bounds, how) => {
            let expected = walk(model.pk_range(bounds).into_iter(), *how);
            prop_assert_eq!(walk(table.range(*bounds), *how), expected);
        }
        Op::RangeByEmail(bounds, how) => {
            let expected = walk(model.in_range(account_email, bounds).into_iter(), *how);
            let actual = walk(table.range_by(Account::EMAIL, bounds.clone()), *how);
            prop_assert_eq!(actual, expected);
        }
        Op::RangeByStatus(bounds, how) => {
            let expected = walk(model.in_range(account_status, bounds).into_iter(), *how);
            let actual = walk(table.range_by(Account::STATUS, *bounds), *how);
            prop_assert_eq!(actual, expected);
        }
        Op::RangeByPlace(bounds, how) => {
            let expected = walk(model.in_range(account_place, bounds).into_iter(), *how);
            let actual = walk(table.range_by(Account::BY_PLACE, *bounds), *how);
            prop_assert_eq!(actual, expected);
        }
        Op::PrefixByRegion(region, how) => {
            let expected = model.by_key(account_place, |(r, _)| r == region);
            let actual = walk(table.prefix_by(Account::BY_PLACE, *region), *how);
            prop_assert_eq!(actual, walk(expected.into_iter(), *how));
        }
        Op::Iter(how) => {
            let expected = walk(model.rows.values().cloned(), *how);
            prop_assert_eq!(walk(table.iter(), *how), expected);
        }
        Op::Len => prop_assert_eq!(table.len(), model.rows.len()),
    }
    Ok(())
}

async fn apply_ticket(
    table: &WorkTable<Ticket>,
    model: &mut Model<Ticket>,
    keys: &mut KeyModel,
    op: &TicketOp,
    summary: &mut Summary,
) -> TestCaseResult {
    use TicketOp as Op;
    match op {
        Op::Insert(id, draft) => {
            let row = draft.build(*id, None);
            // A drawn key is used up even when the insert then fails.
            let expected = match keys.next() {
                Some(pk) => model.insert_at(pk, row.clone()),
                None => Err(Fail::KeysExhausted { table: "tickets" }),
            };
            same_outcome(summary, table.insert(row).await, expected)?;
        }
        Op::Update(pk, draft) => {
            let pk = pk.resolve(&model.rows);
            let row = draft.build(pk, model.rows.get(&pk));
            let expected = model.update(row.clone());
            same_outcome(summary, table.update(row).await, expected)?;
        }
        Op::Upsert(pk, draft) => {
            let pk = pk.resolve(&model.rows);
            let row = draft.build(pk, model.rows.get(&pk));
            let expected = model.upsert(row.clone());
            // Only a row stored under a new key is reported to the generator.
            if matches!(expected, Ok(None)) {
                keys.observe(pk);
            }
            same_outcome(summary, table.upsert(row).await, expected)?;
        }
        Op::Delete(pk) => {
            let pk = pk.resolve(&model.rows);
            let expected = model.delete(&pk);
            same_outcome(summary, table.delete(&pk).await, expected)?;
        }
        Op::DeleteByCode(code) => {
            let expected = model.delete_by("code", ticket_code, code);
            same_outcome(summary, table.delete_by(Ticket::CODE, code).await, expected)?;
        }
        Op::DeleteAllByCode(code) => {
            let expected = model.delete_all_by(ticket_code, code);
            let actual = table.delete_all_by(Ticket::CODE, code).await;
            same_outcome(summary, actual, Ok(expected))?;
        }
        Op::DeleteAllByStatus(status) => {
            let expected = model.delete_all_by(ticket_status, status);
            let actual = table.delete_all_by(Ticket::STATUS, status).await;
            same_outcome(summary, actual, Ok(expected))?;
        }
        Op::DeleteAllByComposite(key) => {
            let expected = model.delete_all_by(ticket_composite, key);
            let actual = table
                .delete_all_by(Ticket::BY_STATUS_AMOUNT_NOTE, key)
                .await;
            same_outcome(summary, actual, Ok(expected))?;
        }
        Op::Get(pk) => {
            let pk = pk.resolve(&model.rows);
            prop_assert_eq!(table.get(&pk), model.get(&pk));
        }
        Op::Contains(pk) => {
            let pk = pk.resolve(&model.rows);
            prop_assert_eq!(table.contains(&pk), model.rows.contains_key(&pk));
        }
        Op::GetByCode(code) => {
            let expected = model.by_key(ticket_code, |k| k == code).pop();
            prop_assert_eq!(table.get_by(Ticket::CODE, code), expected);
        }
        Op::FindByCode(code) => {
            let expected = model.by_key(ticket_code, |k| k == code);
            prop_assert_eq!(table.find_by(Ticket::CODE, code), expected);
        }
        Op::FindByStatus(status) => {
            let expected = model.by_key(ticket_status, |k| k == status);
            prop_assert_eq!(table.find_by(Ticket::STATUS, status), expected);
        }
        Op::FindByComposite(key) => {
            let expected = model.by_key(ticket_composite, |k| k == key);
            let actual = table.find_by(Ticket::BY_STATUS_AMOUNT_NOTE, key);
            prop_assert_eq!(actual, expected);
        }
        Op::Range(bounds, how) => {
            let expected = walk(model.pk_range(bounds).into_iter(), *how);
            prop_assert_eq!(walk(table.range(*bounds), *how), expected);
        }
        Op::RangeByCode(bounds, how) => {
            let expected = walk(model.in_range(ticket_code, bounds).into_iter(), *how);
            let actual = walk(table.range_by(Ticket::CODE, bounds.clone()), *how);
            prop_assert_eq!(actual, expected);
        }
        Op::RangeByStatus(bounds, how) => {
            let expected = walk(model.in_range(ticket_status, bounds).into_iter(), *how);
            let actual = walk(table.range_by(Ticket::STATUS, *bounds), *how);
            prop_assert_eq!(actual, expected);
        }
        Op::RangeByComposite(bounds, how) => {
            let expected = walk(model.in_range(ticket_composite, bounds).into_iter(), *how);
            let actual = walk(
                table.range_by(Ticket::BY_STATUS_AMOUNT_NOTE, bounds.clone()),
                *how,
            );
            prop_assert_eq!(actual, expected);
        }
        Op::PrefixByStatus(status, how) => {
            let expected = model.by_key(ticket_composite, |(s, _, _)| s == status);
            let actual = walk(
                table.prefix_by(Ticket::BY_STATUS_AMOUNT_NOTE, *status),
                *how,
            );
            prop_assert_eq!(actual, walk(expected.into_iter(), *how));
        }
        Op::PrefixByStatusAmount(prefix, how) => {
            let expected = model.by_key(ticket_composite, |(s, a, _)| (*s, *a) == *prefix);
            let actual = walk(
                table.prefix_by(Ticket::BY_STATUS_AMOUNT_NOTE, *prefix),
                *how,
            );
            prop_assert_eq!(actual, walk(expected.into_iter(), *how));
        }
        Op::Iter(how) => {
            let expected = walk(model.rows.values().cloned(), *how);
            prop_assert_eq!(walk(table.iter(), *how), expected);
        }
        Op::Len => prop_assert_eq!(table.len(), model.rows.len()),
    }
    Ok(())
}

/// The checks after every step. `scans` is the full range of every
/// secondary index of the table, in declaration order.
fn check_state<R: ModelRow>(
    table: &WorkTable<R>,
    model: &Model<R>,
    scans: [Vec<R>; 3],
) -> TestCaseResult {
    let rows: Vec<R> = model.rows.values().cloned().collect();
    prop_assert_eq!(table.len(), rows.len(), "len()");
    prop_assert_eq!(table.is_empty(), rows.is_empty(), "is_empty()");
    table
        .check_integrity()
        .map_err(|error| TestCaseError::fail(format!("check_integrity: {error}")))?;
    let stats = table.stats();
    prop_assert_eq!(stats.rows, rows.len(), "stats().rows");
    prop_assert_eq!(stats.indexes.len(), model.indexes.len(), "stats().indexes");
    for ((stats, index), scan) in stats.indexes.iter().zip(&model.indexes).zip(scans) {
        prop_assert_eq!(stats.name, index.name());
        prop_assert_eq!(stats.unique, index.unique(), "index `{}`", stats.name);
        prop_assert_eq!(
            stats.entries,
            rows.len(),
            "entries of index `{}`",
            stats.name
        );
        prop_assert_eq!(
            index.entry_count(),
            rows.len(),
            "model index `{}`",
            stats.name
        );
        let expected: Vec<R> = index
            .pks()
            .iter()
            .map(|pk| model.rows[pk].clone())
            .collect();
        prop_assert_eq!(scan, expected, "full range of index `{}`", stats.name);
    }
    prop_assert_eq!(table.iter().collect::<Vec<R>>(), rows, "iter()");
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

fn account_case(ops: &[AccountOp], summary: &mut Summary) -> TestCaseResult {
    let rt = runtime();
    let table = WorkTable::<Account>::new();
    let mut model = Model::new(vec![
        ModelIndex::boxed("email", true, account_email),
        ModelIndex::boxed("status", false, account_status),
        ModelIndex::boxed("by_place", true, account_place),
    ]);
    summary.cases += 1;
    for op in ops {
        rt.block_on(apply_account(&table, &mut model, op, summary))?;
        let scans = [
            table.range_by(Account::EMAIL, ..).collect(),
            table.range_by(Account::STATUS, ..).collect(),
            table.range_by(Account::BY_PLACE, ..).collect(),
        ];
        check_state(&table, &model, scans)?;
        summary.step(model.rows.len());
    }
    Ok(())
}

fn ticket_case(ops: &[TicketOp], summary: &mut Summary) -> TestCaseResult {
    let rt = runtime();
    let table = WorkTable::<Ticket>::new();
    let mut model = Model::new(vec![
        ModelIndex::boxed("code", true, ticket_code),
        ModelIndex::boxed("status", false, ticket_status),
        ModelIndex::boxed("by_status_amount_note", false, ticket_composite),
    ]);
    let mut keys = KeyModel::default();
    summary.cases += 1;
    for op in ops {
        rt.block_on(apply_ticket(&table, &mut model, &mut keys, op, summary))?;
        let scans = [
            table.range_by(Ticket::CODE, ..).collect(),
            table.range_by(Ticket::STATUS, ..).collect(),
            table.range_by(Ticket::BY_STATUS_AMOUNT_NOTE, ..).collect(),
        ];
        check_state(&table, &model, scans)?;
        summary.step(model.rows.len());
    }
    Ok(())
}

/// Runs `case` on `CASES` random operation sequences, prints what was done,
/// and panics with the shrunk failing sequence if a case fails.
fn run_property<Op: Clone + Debug>(
    name: &str,
    op: impl Strategy<Value = Op>,
    case: impl Fn(&[Op], &mut Summary) -> TestCaseResult,
) {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        // Failing sequences are printed shrunk; no regression files are
        // written into the source tree.
        failure_persistence: None,
        ..Config::default()
    });
    let summary = RefCell::new(Summary::default());
    let result = runner.run(&prop::collection::vec(op, 1..=MAX_OPS), |ops| {
        case(&ops, &mut summary.borrow_mut())
    });
    println!("model_based {name}: {}", summary.borrow());
    if let Err(error) = result {
        panic!("{name}: {error}");
    }
}

#[test]
fn composite_pk_table_matches_model() {
    run_property("accounts", account_op(), account_case);
}

#[test]
fn autoincrement_table_matches_model() {
    run_property("tickets", ticket_op(), ticket_case);
}
