//! Ordering query results: order terms, the tie-break by primary key, and
//! keeping only the best `k` rows without sorting them all.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::row::{Field, Row};

/// One `order_by` term: a field, compared through its handle, and a
/// direction.
#[derive(Clone, Copy)]
pub(crate) struct OrderTerm<R> {
    pub(crate) field: &'static str,
    pub(crate) descending: bool,
    compare: fn(&R, &R) -> Ordering,
}

impl<R> std::fmt::Debug for OrderTerm<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.field,
            if self.descending { "desc" } else { "asc" }
        )
    }
}

fn compare_field<R: Row, F: Field<R>>(a: &R, b: &R) -> Ordering
where
    F::Value: Ord,
{
    F::get(a).cmp(F::get(b))
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
        }
    }
}

/// Compares rows by the terms, in order, each in its direction; rows equal on
/// every term compare by primary key, ascending.
pub(crate) fn compare_rows<R: Row>(terms: &[OrderTerm<R>], a: &R, b: &R) -> Ordering {
    terms
        .iter()
        .map(|term| {
            let ordering = (term.compare)(a, b);
            if term.descending {
                ordering.reverse()
            } else {
                ordering
            }
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or_else(|| a.pk().cmp(&b.pk()))
}

/// Compares rows by the terms only (equal rows are ties).
pub(crate) fn same_rank<R: Row>(terms: &[OrderTerm<R>], a: &R, b: &R) -> bool {
    terms.iter().all(|term| (term.compare)(a, b).is_eq())
}

/// Whether a scan whose order follows `fields` (then primary key) already
/// yields rows in the order `terms` ask for, forward (`Some(false)`) or
/// backward (`Some(true)`).
pub(crate) fn scan_direction<R>(terms: &[OrderTerm<R>], fields: &[&str]) -> Option<bool> {
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

/// A row ranked by the query's order, for the top-k heap.
struct Ranked<'o, R: Row> {
    row: R,
    terms: &'o [OrderTerm<R>],
}

impl<R: Row> Ord for Ranked<'_, R> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_rows(self.terms, &self.row, &other.row)
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

/// The first `keep` rows of `rows` in the order of `terms` (all of them,
/// sorted, when `keep` is `None`). With a bound, a heap of at most `keep`
/// rows replaces the full sort: O(n log k).
pub(crate) fn best<R: Row>(
    rows: impl Iterator<Item = R>,
    terms: &[OrderTerm<R>],
    keep: Option<usize>,
) -> Vec<R> {
    match keep {
        None => {
            let mut all: Vec<R> = rows.collect();
            all.sort_by(|a, b| compare_rows(terms, a, b));
            all
        }
        Some(0) => Vec::new(),
        Some(keep) => {
            let mut heap = BinaryHeap::with_capacity(keep + 1);
            for row in rows {
                let candidate = Ranked { row, terms };
                if heap.len() < keep {
                    heap.push(candidate);
                } else if heap.peek().is_some_and(|worst| candidate < *worst) {
                    heap.pop();
                    heap.push(candidate);
                }
            }
            heap.into_sorted_vec()
                .into_iter()
                .map(|ranked| ranked.row)
                .collect()
        }
    }
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
