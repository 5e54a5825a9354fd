//! Writes: the random operations, and applying them to a table, to a
//! transaction and to the model.

use std::fmt::Debug;
use std::ops::RangeBounds;

use worktable_core::prelude::*;
use worktable_core::{Query, TxTable};

use super::{
    Bounds, GROUPS, Item, Model, PKS, Variant, items, narrow_bounds, random_bounds, random_item,
};
use crate::concurrent::Rng;

#[derive(Clone, Debug)]
pub(super) enum Op {
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
pub(super) enum Done {
    Pk(u32),
    Row(Item),
    MaybeRow(Option<Item>),
    Unit,
    Count(usize),
    Rows(Vec<Item>),
}

pub(super) fn random_op(rng: &mut Rng) -> Op {
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
pub(super) fn random_tx_op(rng: &mut Rng) -> Op {
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

pub(super) async fn apply<T: Variant>(table: &WorkTable<T>, op: &Op) -> Result<Done, String> {
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
        Op::QueryUpdate(..) | Op::QueryDeleteTop(_) => query_write(table.query(), op).await,
    };
    done.map_err(|error| format!("{error:?}"))
}

/// `op`, a query write (`QueryUpdate` or `QueryDeleteTop`), through `query`
/// (a table's or a transaction's).
async fn query_write<T: Variant>(query: Query<'_, T>, op: &Op) -> Result<Done, TableError> {
    match op {
        Op::QueryUpdate(bounds, group) => {
            let group = *group;
            query
                .range(*bounds)
                .filter(move |row| row.group_of() == group)
                .update_with(T::bump)
                .await
                .map(Done::Count)
        }
        Op::QueryDeleteTop(count) => query
            .order_by_desc(T::id())
            .limit(*count)
            .delete()
            .await
            .map(|rows| Done::Rows(items(rows))),
        _ => unreachable!("not a query write: {op:?}"),
    }
}

/// `op` in a transaction (single-row writes and query writes only).
pub(super) async fn tx_apply<T: Variant>(table: &TxTable<'_, T>, op: &Op) -> Result<Done, String> {
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
        Op::QueryUpdate(..) | Op::QueryDeleteTop(_) => query_write(table.query(), op).await,
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
pub(super) fn model_apply(model: &mut Model, op: &Op, unique: bool) -> Result<Done, &'static str> {
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
pub(super) fn agree(
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
pub(super) fn codes_unique(model: &Model) -> bool {
    let mut codes: Vec<&str> = model.values().map(|item| item.code.as_str()).collect();
    codes.sort_unstable();
    codes.windows(2).all(|pair| pair[0] != pair[1])
}
