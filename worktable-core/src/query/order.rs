//! Ordering query results: order terms, the tie-break by primary key, and
//! keeping only the best `k` rows without sorting them all.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::__private::deserialize_field;
use crate::row::{Field, Row};

/// One `order_by` term: a field, compared through its handle (on rows, or
/// on archived rows by reading just that field), and a direction.
pub(crate) struct OrderTerm<R: Row> {
    pub(crate) field: &'static str,
    pub(crate) descending: bool,
    compare: fn(&R, &R) -> Ordering,
    compare_archived: fn(&R::Archived, &R::Archived) -> Ordering,
}

impl<R: Row> std::fmt::Debug for OrderTerm<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let direction = if self.descending { "desc" } else { "asc" };
        write!(f, "{} {direction}", self.field)
    }
}

fn compare_field<R: Row, F: Field<R>>(a: &R, b: &R) -> Ordering
where
    F::Value: Ord,
{
    F::get(a).cmp(F::get(b))
}

fn compare_archived_field<R: Row, F: Field<R>>(a: &R::Archived, b: &R::Archived) -> Ordering
where
    F::Value: Ord,
{
    let a: F::Value = deserialize_field(F::get_archived(a));
    a.cmp(&deserialize_field(F::get_archived(b)))
}

impl<R: Row> OrderTerm<R> {
    pub(crate) fn new<F: Field<R>>(descending: bool) -> Self
    where
        F::Value: Ord,
    {
        Self {
            field: F::NAME,
            descending,
            compare: compare_field::<R, F>,
            compare_archived: compare_archived_field::<R, F>,
        }
    }

    fn directed(&self, ordering: Ordering) -> Ordering {
        if self.descending {
            ordering.reverse()
        } else {
            ordering
        }
    }
}

/// Compares by the terms, in order, each in its direction (`by_term` compares
/// two items on one term); `tie` decides when every term is equal.
fn compare_by<R: Row>(
    terms: &[OrderTerm<R>],
    by_term: impl Fn(&OrderTerm<R>) -> Ordering,
    tie: impl FnOnce() -> Ordering,
) -> Ordering {
    terms
        .iter()
        .map(|term| term.directed(by_term(term)))
        .find(|ordering| ordering.is_ne())
        .unwrap_or_else(tie)
}

/// Compares rows by the terms; rows equal on every term compare by primary
/// key, ascending.
pub(crate) fn compare_rows<R: Row>(terms: &[OrderTerm<R>], a: &R, b: &R) -> Ordering {
    compare_by(terms, |term| (term.compare)(a, b), || a.pk().cmp(&b.pk()))
}

/// Whether two rows are equal on every term (ties).
pub(crate) fn same_rank<R: Row>(terms: &[OrderTerm<R>], a: &R, b: &R) -> bool {
    terms.iter().all(|term| (term.compare)(a, b).is_eq())
}

/// Whether a scan whose order follows `fields` (then primary key) already
/// yields rows in the order `terms` ask for, forward (`Some(false)`) or
/// backward (`Some(true)`).
pub(crate) fn scan_direction<R: Row>(terms: &[OrderTerm<R>], fields: &[&str]) -> Option<bool> {
    let Some(first) = terms.first() else {
        return Some(false);
    };
    let same_fields = terms.len() == fields.len()
        && terms
            .iter()
            .zip(fields)
            .all(|(term, field)| term.field == *field);
    let one_direction = terms.iter().all(|term| term.descending == first.descending);
    (same_fields && one_direction).then_some(first.descending)
}

/// A row ranked by the query's order.
pub(crate) struct Ranked<'o, R: Row> {
    pub(crate) row: R,
    pub(crate) terms: &'o [OrderTerm<R>],
}

impl<R: Row> Ord for Ranked<'_, R> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_rows(self.terms, &self.row, &other.row)
    }
}

/// An archived row ranked by the query's order; ranking reads only the order
/// fields, so rows that do not make the cut are never deserialized.
pub(crate) struct RankedArchived<'g, 'o, R: Row> {
    pub(crate) row: &'g R::Archived,
    pub(crate) terms: &'o [OrderTerm<R>],
}

impl<R: Row> Ord for RankedArchived<'_, '_, R> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_by(
            self.terms,
            |term| (term.compare_archived)(self.row, other.row),
            || R::pk_of_archived(self.row).cmp(&R::pk_of_archived(other.row)),
        )
    }
}

impl<R: Row> PartialOrd for Ranked<'_, R> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<R: Row> PartialEq for Ranked<'_, R> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl<R: Row> Eq for Ranked<'_, R> {}

impl<R: Row> PartialOrd for RankedArchived<'_, '_, R> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<R: Row> PartialEq for RankedArchived<'_, '_, R> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl<R: Row> Eq for RankedArchived<'_, '_, R> {}

/// The `keep` smallest items, sorted: a bounded max-heap, O(n log keep),
/// never a full sort.
pub(crate) fn smallest<T: Ord>(items: impl Iterator<Item = T>, keep: usize) -> Vec<T> {
    if keep == 0 {
        return Vec::new();
    }
    // `keep` comes from the caller's offset and limit and may be huge; the
    // heap grows with the rows actually seen.
    let mut heap = BinaryHeap::with_capacity(keep.min(1024));
    for item in items {
        if heap.len() < keep {
            heap.push(item);
        } else if heap.peek().is_some_and(|worst| item < *worst) {
            heap.pop();
            heap.push(item);
        }
    }
    heap.into_sorted_vec()
}

/// Rows of a backward scan, with each run of ties put back in primary-key
/// order (a backward scan yields them in descending primary-key order).
pub(crate) struct TiesAscending<'o, R: Row, I: Iterator<Item = R>> {
    rows: std::iter::Peekable<I>,
    terms: &'o [OrderTerm<R>],
    run: Vec<R>,
}

impl<'o, R: Row, I: Iterator<Item = R>> TiesAscending<'o, R, I> {
    pub(crate) fn new(rows: I, terms: &'o [OrderTerm<R>]) -> Self {
        Self {
            rows: rows.peekable(),
            terms,
            run: Vec::new(),
        }
    }
}

impl<R: Row, I: Iterator<Item = R>> Iterator for TiesAscending<'_, R, I> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        if let Some(row) = self.run.pop() {
            return Some(row);
        }
        let first = self.rows.next()?;
        self.run.push(first);
        while let Some(next) = self
            .rows
            .next_if(|next| same_rank(self.terms, next, &self.run[0]))
        {
            self.run.push(next);
        }
        // `run` holds the ties in descending key order; popping from the end
        // yields them ascending.
        self.run.pop()
    }
}
