//! Composite keys: `hash` on either field of a two-field key keeps tuple order.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use worktable_core::prelude::*;

use crate::concurrent::Rng;

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
