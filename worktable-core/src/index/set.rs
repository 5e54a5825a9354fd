//! Keeping all secondary indexes of a row in step, all-or-nothing.

use crate::row::{DuplicateKey, IndexMaintenance, IndexSet, Row};

/// Which indexes an update changed: bit `i` for index `i`.
/// `#[derive(Table)]` allows at most 64 indexes per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexChanges(u64);

impl IndexChanges {
    fn contains(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }
}

fn indexes<R: Row>(
    set: &R::Indexes,
) -> impl DoubleEndedIterator<Item = &dyn IndexMaintenance<R>> + ExactSizeIterator {
    (0..<R::Indexes as IndexSet<R>>::COUNT).map(move |i| set.index(i))
}

/// Adds every entry of a new row. On a duplicate, removes the entries added
/// so far and reports it: the indexes are as before.
pub(crate) fn insert_all<R: Row>(set: &R::Indexes, row: &R) -> Result<(), DuplicateKey> {
    for (i, index) in indexes::<R>(set).enumerate() {
        if let Err(duplicate) = index.insert(row) {
            for added in indexes::<R>(set).take(i).rev() {
                added.remove(row);
            }
            return Err(duplicate);
        }
    }
    Ok(())
}

/// First half of an update: adds the new entries of every index whose key
/// differs between `old` and `new`, leaving the old entries in place (the
/// row's cell still holds `old`; readers that reach it through a new entry
/// see a key mismatch and skip it). On a duplicate, removes the new entries
/// added so far and reports it: the indexes are as before.
#[inline]
pub(crate) fn insert_changed<R: Row>(
    set: &R::Indexes,
    old: &R,
    new: &R,
) -> Result<IndexChanges, DuplicateKey> {
    let mut changes = IndexChanges::default();
    for (i, index) in indexes::<R>(set).enumerate() {
        if !index.key_changed(old, new) {
            continue;
        }
        if let Err(duplicate) = index.insert_changed(old, new) {
            for (j, added) in indexes::<R>(set).enumerate().take(i).rev() {
                if changes.contains(j) {
                    added.remove_changed(new, old);
                }
            }
            return Err(duplicate);
        }
        changes.0 |= 1 << i;
    }
    Ok(changes)
}

/// Second half of an update, once the cell holds `new`: removes the
/// entries of `gone` (the old row) that `kept` (the new one) has not, in
/// the indexes that changed. With the rows swapped, undoes the first half.
pub(crate) fn remove_changed<R: Row>(set: &R::Indexes, gone: &R, kept: &R, changes: IndexChanges) {
    for (i, index) in indexes::<R>(set).enumerate() {
        if changes.contains(i) {
            index.remove_changed(gone, kept);
        }
    }
}

/// Removes every entry of a deleted row.
pub(crate) fn remove_all<R: Row>(set: &R::Indexes, row: &R) {
    for index in indexes::<R>(set) {
        index.remove(row);
    }
}
