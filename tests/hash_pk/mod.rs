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

mod composite;
mod database;
mod generated_keys;
mod random_writes;
mod reads;
mod snapshots;
mod writes;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use worktable_core::prelude::*;

use crate::concurrent::Rng;

/// Primary keys of the random sequences are drawn from `0..PKS`.
pub(super) const PKS: u32 = 200;
/// Values of the non-unique `group` index.
pub(super) const GROUPS: u32 = 5;
/// Values of the unique `code` index: collisions are frequent.
const CODES: u32 = 500;

// ---------------------------------------------------------------------------
// Twin tables and their model
// ---------------------------------------------------------------------------

/// The reference: a plain `#[pk]`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
pub(super) struct Keyed {
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
pub(super) struct Hashed {
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
pub(super) struct Item {
    pub(super) id: u32,
    pub(super) group: u8,
    pub(super) code: String,
    pub(super) score: i64,
    pub(super) note: String,
}

impl Item {
    /// The change of `update_with` and of query updates: a new score, and a
    /// note that grows or empties (the row changes size).
    pub(super) fn bump(&mut self) {
        self.score += 7;
        if self.note.len() >= 120 {
            self.note.clear();
        } else {
            self.note.push_str("0123456789");
        }
    }

    /// The change of `update_range`: an indexed field, the score and the size.
    pub(super) fn shift(&mut self) {
        self.group = (self.group + 1) % GROUPS as u8;
        self.score -= 1;
        self.note.push('~');
    }
}

/// What the generic checks need of either twin.
pub(super) trait Variant: Row<Pk = u32> + Clone + Debug + PartialEq {
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

pub(super) type Model = BTreeMap<u32, Item>;
pub(super) type Bounds = (Bound<u32>, Bound<u32>);

pub(super) fn items<T: Variant>(rows: impl IntoIterator<Item = T>) -> Vec<Item> {
    rows.into_iter().map(|row| row.item()).collect()
}

pub(super) fn reversed(mut items: Vec<Item>) -> Vec<Item> {
    items.reverse();
    items
}

/// The model's rows in `range`, in key order.
pub(super) fn model_range(model: &Model, range: &impl RangeBounds<u32>) -> Vec<Item> {
    model
        .values()
        .filter(|item| range.contains(&item.id))
        .cloned()
        .collect()
}

/// Reads `rows` alternately from the front and the back, and puts the two
/// halves together again.
pub(super) fn zigzag<T: Variant>(mut rows: impl DoubleEndedIterator<Item = T>) -> Vec<Item> {
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

pub(super) fn random_item(rng: &mut Rng, id: u32) -> Item {
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
pub(super) fn random_bounds(rng: &mut Rng) -> Bounds {
    let start = rng.below(PKS + 4);
    let end = if rng.below(4) == 0 {
        start
    } else {
        rng.below(PKS + 4)
    };
    (random_bound(rng, start), random_bound(rng, end))
}

/// Bounds of at most a dozen keys (sometimes reversed or empty).
pub(super) fn narrow_bounds(rng: &mut Rng) -> Bounds {
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
